//! The live map page (`web/map`): its HTML with this server's base URL, and the bundle when this
//! build has it (see `build.rs`).

/// The bundled map (`web/map/dist/map.js`), if `web/build.sh` ran before this build.
#[cfg(map_bundle)]
pub const MAP_JS: Option<&[u8]> = Some(include_bytes!(env!("FUSED_MAP_JS")));
#[cfg(not(map_bundle))]
pub const MAP_JS: Option<&[u8]> = None;

/// The page's Content-Security-Policy (also in its `<meta>`): its own script, styles and images,
/// requests to this server only, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:";

const TEMPLATE: &str = include_str!("../../../../web/map/index.html");

/// The map page opened on `udf` (else the first UDF); `base` is the base URL (`/<token>/`)
/// relative to the page (`./` or `../`), so the page works under a proxy's path prefix.
/// `None` when this build has no map bundle.
pub fn page(base: &str, udf: Option<&str>) -> Option<String> {
    MAP_JS?;
    let config = serde_json::json!({"base": base, "udf": udf}).to_string();
    // In a <script> element `</script>` would end it: JSON allows `<` as `\u003c`.
    let config = config.replace('<', "\\u003c");
    let script = format!("<script src=\"{base}assets/map.js\"></script>");
    Some(
        TEMPLATE
            .replace("{{CONFIG}}", &config)
            .replace("{{SCRIPT}}", &script),
    )
}
