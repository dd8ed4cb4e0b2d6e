//! The plain page at the base URL and at `<udf>/`: the UDFs, their parameters and endpoints.
//! (The map, built from npm packages, comes with the next slice.)

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The map page (the bundle is in this build) with its own policy: its script and requests to
/// this server, nothing from elsewhere.
pub fn map(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, crate::map::CSP),
        ],
        body,
    )
        .into_response()
}

pub fn html(body: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Nothing from elsewhere: no scripts, styles or images but the page's own.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Shown when this build has no map bundle.
const NO_MAP: &str = "<p>This build of fused-ls has no map: run <code>bash web/build.sh</code> in \
the fused-ls checkout (it bundles the map from npm packages), then build fused-ls again.</p>";

const HEAD: &str = "<!doctype html><meta charset=utf-8><title>fused-ls serve</title>\
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}code{background:#f3f3f3;padding:0 .2em}\
td,th{text-align:left;padding:.2em .6em;vertical-align:top}</style>";

fn endpoints(u: &Value, prefix: &str) -> String {
    let name = fused_run::url_segment(u["name"].as_str().unwrap_or(""));
    let tile = format!("{prefix}{name}/run/tiles/13/2411/3079?format=geojson");
    let file = format!("{prefix}{name}/run/file?format=json");
    format!(
        "<ul><li>tiles: <code>{name}/run/tiles/{{z}}/{{x}}/{{y}}?format=geojson|mvt|json&amp;param=value</code> (e.g. <a href=\"{t}\">{t}</a>)</li>\
<li>file: <code>{name}/run/file?format=json|geojson|csv|parquet&amp;param=value</code> (<a href=\"{f}\">{f}</a>)</li></ul>",
        t = esc(&tile),
        f = esc(&file),
    )
}

fn params(u: &Value) -> String {
    let mut out = String::from("<table><tr><th>parameter</th><th>annotation</th><th>default</th><th>a string becomes</th></tr>");
    for p in u["parameters"].as_array().into_iter().flatten() {
        let cell = |v: &Value| esc(v.as_str().unwrap_or("—"));
        out.push_str(&format!(
            "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            cell(&p["name"]),
            if p["tile"] == true { " (the tile)" } else { "" },
            cell(&p["annotation"]),
            cell(&p["default"]),
            cell(&p["receives"]),
        ));
    }
    out.push_str("</table>");
    out
}

pub fn index(udfs: &[Value]) -> String {
    let mut out = format!(
        "{HEAD}<h1>fused-ls serve</h1><p>{} UDF{} served. \
These are the endpoints (relative to this page). The list as JSON: <a href=\"udfs\">udfs</a>.</p>{}",
        udfs.len(),
        if udfs.len() == 1 { "" } else { "s" },
        NO_MAP
    );
    for u in udfs {
        let name = u["name"].as_str().unwrap_or("");
        out.push_str(&format!(
            "<h2><a href=\"{}/\">{}</a> <small>({} UDF)</small></h2>",
            esc(&fused_run::url_segment(name)),
            esc(name),
            esc(u["mode"].as_str().unwrap_or("?"))
        ));
        out.push_str(&endpoints(u, ""));
    }
    out
}

pub fn udf(u: &Value) -> String {
    let name = u["name"].as_str().unwrap_or("");
    format!(
        "{HEAD}<p><a href=\"../\">all UDFs</a></p><h1>{}</h1><p>{} UDF, <code>{}</code>, modified {}</p>{}{}",
        esc(name),
        esc(u["mode"].as_str().unwrap_or("?")),
        esc(u["path"].as_str().unwrap_or("")),
        esc(u["last_modified"].as_str().unwrap_or("")),
        params(u),
        endpoints(u, "../")
    )
}
