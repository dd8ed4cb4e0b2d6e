//! The endpoints, relative to `/<token>/`: `udfs`, `<udf>/run/tiles/{z}/{x}/{y}`,
//! `<udf>/run/file`, `<udf>/coerce`, and the page (the base and `<udf>/`). Anything else is 404, and so is
//! every URL without the token.

// A handler's early answers (400, 404...) travel as `Err(Response)`: one per request, so the
// size of the error variant costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

use crate::cache::Cached;
use crate::catalog::{self, Entry};
use crate::{page, App};
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use fused_core::tile::Tile;
use fused_run::{Mode, RunOptions, RunRequest};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub fn router(app: Arc<App>) -> Router {
    let plain = routes(app.clone(), Router::new().fallback(not_found));
    let token = app.token.clone();
    routes(
        app,
        Router::new().fallback(move |req: Request| under_prefix(plain.clone(), token.clone(), req)),
    )
}

/// A reverse proxy that keeps its path prefix (code-server's `/absproxy/PORT/`) forwards
/// `/<prefix>/<token>/...`: routed as `/<token>/...`. The token is still required, and the
/// `Host` check has run on the request already.
async fn under_prefix(plain: Router, token: String, mut req: Request) -> Response {
    use tower::ServiceExt;
    let path = req.uri().path();
    let marker = format!("/{token}");
    let Some(at) = path
        .find(&format!("{marker}/"))
        .or_else(|| path.ends_with(&marker).then(|| path.len() - marker.len()))
    else {
        return not_found().await;
    };
    let rest = match req.uri().query() {
        Some(q) => format!("{}?{q}", &path[at..]),
        None => path[at..].to_string(),
    };
    match rest.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return not_found().await,
    }
    match plain.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn routes(app: Arc<App>, base: Router<Arc<App>>) -> Router {
    let t = &app.token;
    base.route(&format!("/{t}"), get(base_redirect))
        .route(&format!("/{t}/"), get(index))
        .route(&format!("/{t}/udfs"), get(udfs))
        .route(&format!("/{t}/assets/map.js"), get(map_js))
        .route(&format!("/{t}/{{udf}}/"), get(udf_page))
        .route(
            &format!("/{t}/{{udf}}/run/tiles/{{z}}/{{x}}/{{y}}"),
            get(tile),
        )
        .route(&format!("/{t}/{{udf}}/run/file"), get(file))
        .route(&format!("/{t}/{{udf}}/coerce"), get(coerce))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            check_host,
        ))
        .with_state(app)
}

/// DNS rebinding: a page on another site whose name resolves to 127.0.0.1 sends its own name as
/// `Host`. Only the address served (and `localhost` for loopback) is accepted.
async fn check_host(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let accepted = {
        let hosts = app.hosts.read().unwrap_or_else(|p| p.into_inner());
        hosts.is_empty() || hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    };
    if accepted {
        return next.run(req).await;
    }
    (
        StatusCode::FORBIDDEN,
        "fused-ls serve: refused: the Host header does not name the address this server listens on\n",
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Relative, so it holds under any proxy prefix (`/<token>` → `/<token>/`).
async fn base_redirect(State(app): State<Arc<App>>) -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, format!("{}/", app.token))],
    )
        .into_response()
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(v).unwrap_or_default(),
    )
        .into_response()
}

fn error(status: StatusCode, class: &str, message: String, extra: Value) -> Response {
    let mut body =
        json!({"error": {"class": class, "message": message, "line": null, "traceback": ""}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    json_response(status, &body)
}

/// A UDF created after the start is served too: a name not known yet makes the catalog look
/// again (at most once a second, so unknown names cannot keep the disk busy).
const REFIND_UNKNOWN: Duration = Duration::from_secs(1);
/// How old the list may be when the UDFs are listed (the map asks every second).
const REFIND_LIST: Duration = Duration::from_secs(3);

async fn entries(app: &Arc<App>, max_age: Duration) -> Arc<Vec<Arc<Entry>>> {
    let a = app.clone();
    tokio::task::spawn_blocking(move || a.catalog.refresh(max_age))
        .await
        .unwrap_or_else(|_| app.catalog.entries())
}

async fn find(app: &Arc<App>, name: &str) -> Result<Arc<Entry>, Response> {
    let known = |list: &Vec<Arc<Entry>>| list.iter().find(|e| e.name == name).cloned();
    if let Some(e) = known(&app.catalog.entries()) {
        return Ok(e);
    }
    let list = entries(app, REFIND_UNKNOWN).await;
    known(&list).ok_or_else(|| {
        let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
        error(
            StatusCode::NOT_FOUND,
            "UnknownUdf",
            format!("no UDF named `{name}` is served"),
            json!({"udfs": names}),
        )
    })
}

async fn snapshots(app: &Arc<App>) -> Vec<(Arc<Entry>, Result<catalog::Snapshot, String>)> {
    let list = entries(app, REFIND_LIST).await;
    tokio::task::spawn_blocking(move || list.iter().map(|e| (e.clone(), e.snapshot())).collect())
        .await
        .unwrap_or_default()
}

/// `udfs`: every UDF served; `udfs?name=N`: only N (what the map polls to reload on save: one
/// package hashed, no discovery while N is known).
async fn udfs(State(app): State<Arc<App>>, Query(query): Params) -> Response {
    let one = query
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone());
    let found = match one {
        Some(name) => {
            let entry = match find(&app, &name).await {
                Ok(e) => e,
                Err(r) => return r,
            };
            tokio::task::spawn_blocking(move || {
                let s = entry.snapshot();
                vec![(entry, s)]
            })
            .await
            .unwrap_or_default()
        }
        None => snapshots(&app).await,
    };
    let list: Vec<Value> = found
        .into_iter()
        .map(|(e, s)| match s {
            Ok(s) => catalog::describe(&e, &s),
            Err(err) => json!({"name": e.name, "path": e.origin.path(), "error": err}),
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// The map's bundle, when this build has one.
async fn map_js() -> Response {
    match crate::map::MAP_JS {
        Some(js) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            js,
        )
            .into_response(),
        None => not_found().await,
    }
}

async fn index(State(app): State<Arc<App>>) -> Response {
    // The page's URLs are relative to where it is (a proxy may put a prefix before the token).
    if let Some(page) = crate::map::page("./", None) {
        return page::map(page);
    }
    let list: Vec<Value> = snapshots(&app)
        .await
        .into_iter()
        .filter_map(|(e, s)| s.ok().map(|s| catalog::describe(&e, &s)))
        .collect();
    page::html(&page::index(&list))
}

async fn udf_page(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    let entry = match find(&app, &name).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    if let Some(page) = crate::map::page("../", Some(&entry.name)) {
        return page::map(page);
    }
    match snapshot(&entry).await {
        Ok(s) => page::html(&page::udf(&catalog::describe(&entry, &s))),
        Err(r) => r,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    Json,
    GeoJson,
    Mvt,
    Csv,
    Parquet,
    Png,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::GeoJson => "application/geo+json",
            Format::Mvt => "application/vnd.mapbox-vector-tile",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Png => "image/png",
        }
    }
}

type Params = Query<Vec<(String, String)>>;

async fn tile(
    State(app): State<Arc<App>>,
    Path((name, z, x, y)): Path<(String, String, String, String)>,
    Query(query): Params,
    headers: HeaderMap,
) -> Response {
    let t = z
        .parse::<u8>()
        .ok()
        .zip(x.parse::<u32>().ok())
        .zip(y.parse::<u32>().ok())
        .ok_or_else(|| format!("`{z}/{x}/{y}` is not a tile: z, x and y are integers"))
        .and_then(|((z, x), y)| Tile::new(x, y, z));
    match t {
        Ok(t) => execute(app, name, Some(t), query, headers).await,
        Err(e) => {
            let params = match find(&app, &name).await {
                Ok(e) => param_list(&e),
                Err(_) => Vec::new(),
            };
            error(
                StatusCode::BAD_REQUEST,
                "BadTile",
                e,
                json!({"parameters": params}),
            )
        }
    }
}

async fn file(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Query(query): Params,
    headers: HeaderMap,
) -> Response {
    execute(app, name, None, query, headers).await
}

/// `<udf>/coerce?name=value...`: what each string becomes in the UDF, by fused_core's coercion
/// table (what the runner applies), without running anything: the map previews a typed value
/// with it and requests no tile with a value that fails. 400 for a name the UDF does not take.
async fn coerce(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Query(query): Params,
) -> Response {
    let entry = match find(&app, &name).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let snap = match snapshot(&entry).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(udf) = catalog::target(&snap) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "NoUdf",
            format!("`{}` holds no UDF", snap.source.display()),
            json!({}),
        );
    };
    let mut out = serde_json::Map::new();
    for (k, v) in &query {
        match catalog::coerced(&snap, &udf, k, v) {
            Some(c) => {
                out.insert(k.clone(), c);
            }
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadParameter",
                    format!("the UDF `{}` has no parameter `{k}`", udf.name),
                    json!({"parameters": catalog::param_names(&udf).0}),
                )
            }
        }
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

/// The package's files read and hashed off the async threads (a big package takes a while);
/// when they cannot be read, the 500 answer that says so.
async fn snapshot(entry: &Arc<Entry>) -> Result<catalog::Snapshot, Response> {
    let e = entry.clone();
    tokio::task::spawn_blocking(move || e.snapshot())
        .await
        .unwrap_or_else(|e| Err(e.to_string()))
        .map_err(|e| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Unreadable",
                e,
                json!({}),
            )
        })
}

/// The parameter names a caller may pass, for the 400 answers.
fn param_list(entry: &Entry) -> Vec<String> {
    entry
        .snapshot()
        .ok()
        .and_then(|s| catalog::target(&s))
        .map(|u| catalog::param_names(&u).0)
        .unwrap_or_default()
}

fn parse_format(tile: bool, given: Option<&str>) -> Result<Format, Response> {
    let f = given.unwrap_or(if tile { "geojson" } else { "json" });
    let allowed: &[&str] = if tile {
        &["geojson", "mvt", "json", "png"]
    } else {
        &["json", "geojson", "csv", "parquet", "png"]
    };
    match f {
        "png" => Ok(Format::Png),
        "json" => Ok(Format::Json),
        "geojson" => Ok(Format::GeoJson),
        "mvt" if tile => Ok(Format::Mvt),
        "csv" if !tile => Ok(Format::Csv),
        "parquet" if !tile => Ok(Format::Parquet),
        other => Err(error(
            StatusCode::BAD_REQUEST,
            "BadFormat",
            format!(
                "format={other} is not served for a {} run; use one of: {}",
                if tile { "tile" } else { "file" },
                allowed.join(", ")
            ),
            json!({}),
        )),
    }
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""))
}

fn respond(c: &Cached, etag: &str, hit: bool) -> Response {
    let mut r = (
        StatusCode::from_u16(c.status).unwrap_or(StatusCode::OK),
        c.body.clone(),
    )
        .into_response();
    let h = r.headers_mut();
    if c.status != 204 {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(c.content_type),
        );
    }
    h.insert(header::ETAG, header_value(etag));
    // Stored, yet revalidated on every use: an edited file must show at once.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert(
        "x-fused-cache",
        HeaderValue::from_static(if hit { "hit" } else { "miss" }),
    );
    h.insert("x-fused-ms", header_value(&format!("{:.1}", c.run_ms)));
    r
}

async fn execute(
    app: Arc<App>,
    name: String,
    tile: Option<Tile>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let entry = match find(&app, &name).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let mut format = None;
    let mut params = BTreeMap::new();
    for (k, v) in query {
        if k == "format" {
            format = Some(v);
        } else if params.insert(k.clone(), v).is_some() {
            return error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                format!("the parameter `{k}` is given twice"),
                json!({"parameters": param_list(&entry)}),
            );
        }
    }
    let format = match parse_format(tile.is_some(), format.as_deref()) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let snap = match snapshot(&entry).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(udf) = catalog::target(&snap) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "NoUdf",
            format!(
                "`{}` holds no UDF{}",
                snap.source.display(),
                snap.entrypoint
                    .as_deref()
                    .map(|e| format!(" (meta.json's entrypoint `{e}` is not defined)"))
                    .unwrap_or_default()
            ),
            json!({}),
        );
    };
    let (names, kwargs) = catalog::param_names(&udf);
    let receiver = tile.and(udf.tile_receiver()).map(|p| p.name.clone());
    for given in params.keys() {
        let why = if receiver.as_deref() == Some(given.as_str()) {
            format!("`{given}` receives the tile in a tile run: it is not a query parameter")
        } else if !kwargs && !names.contains(given) {
            format!("the UDF `{}` has no parameter `{given}`", udf.name)
        } else {
            continue;
        };
        return error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            why,
            json!({"parameters": names}),
        );
    }
    let key = {
        let mut h = Sha256::new();
        h.update(snap.hash.as_bytes());
        h.update(format!(
            "\0{:?}\0{:?}\0{:?}\0{}",
            snap.entrypoint,
            tile,
            format,
            serde_json::to_string(&params).unwrap_or_default()
        ));
        catalog::hex(&h.finalize())
    };
    let etag = format!("\"{}\"", &key[..32]);
    if let Some(c) = app.cache.get(&key) {
        let matches = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
        if matches {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut().insert(header::ETAG, header_value(&etag));
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            );
            return r;
        }
        return respond(&c, &etag, true);
    }
    // As `fused-ls run`: a UDF the SDK would refuse (errors `check` reports) is not run. Only on
    // a miss: a cached result's files passed already.
    if let Some(check) = app.check.clone() {
        let path = entry.origin.path().to_path_buf();
        let memo = format!("{}\0{}", path.display(), snap.hash);
        let known = lock(&app.checked).get(&memo).cloned();
        let found = match known {
            Some(found) => found,
            None => {
                let found = tokio::task::spawn_blocking(move || check(&path))
                    .await
                    .unwrap_or_default();
                let mut checked = lock(&app.checked);
                if checked.len() >= 1024 {
                    checked.clear(); // (edits pile up one entry each: a bound, not an LRU)
                }
                checked.insert(memo, found.clone());
                found
            }
        };
        if !found.is_empty() {
            return check_failed(&app, &snap, tile, &params, format, found);
        }
    }
    let out = match tempfile::Builder::new()
        .prefix(&fused_run::temp_prefix("run"))
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal",
                e.to_string(),
                json!({}),
            )
        }
    };
    let geo_path = out.path().join("features");
    let file_out = match format {
        Format::Csv => Some(out.path().join("result.csv")),
        Format::Parquet => Some(out.path().join("result.parquet")),
        _ => None,
    };
    let req = RunRequest {
        source_path: snap.source.clone(),
        entrypoint: snap.entrypoint.clone(),
        package_dir: Some(snap.dir.clone()),
        headers: snap.headers.clone(),
        mode: if tile.is_some() {
            Mode::Tile
        } else {
            Mode::File
        },
        bounds: tile.map(Tile::bounds),
        tile,
        params,
        output_path: file_out.clone(),
        features_path: matches!(format, Format::GeoJson | Format::Mvt).then(|| geo_path.clone()),
    };
    let opts = RunOptions {
        python: app.python.clone(),
        timeout: app.timeout,
        output_cap: 1 << 20,
        memory_limit: app.memory_limit,
        // The package version (its files' hash), the UDF file and entrypoint: only runs of the
        // same code share a child.
        reuse: app.reuse_children.then(|| {
            let mut h = Sha256::new();
            h.update(format!(
                "{}\0{}\0{:?}",
                snap.hash,
                snap.source.display(),
                snap.entrypoint
            ));
            catalog::hex(&h.finalize())
        }),
    };
    // Dropping this future (the client went away) cancels the run: see `pool`.
    let result = match app.pool.run(req, opts).await {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "WorkerUnavailable",
                e,
                json!({}),
            )
        }
    };
    drop(snap);
    let run_ms = result["elapsed_ms"].as_f64().unwrap_or(0.0);
    if result["ok"].as_bool() != Some(true) {
        return failed(&result, format, &names);
    }
    let body = tokio::task::spawn_blocking(move || {
        let r = success(&result, format, tile, &geo_path, file_out.as_deref());
        drop(out);
        r
    })
    .await
    .unwrap_or_else(|e| {
        Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            e.to_string(),
            json!({}),
        ))
    });
    let (status, bytes) = match body {
        Ok(b) => b,
        Err(r) => return r,
    };
    let cached = Cached {
        status,
        content_type: format.content_type(),
        body: bytes,
        run_ms,
    };
    app.cache.put(key, cached.clone());
    respond(&cached, &etag, false)
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A UDF with errors `check` reports: 422 with `error.class` `CheckFailed` and
/// `error.diagnostics` (the whole run JSON `fused-ls run` prints, for `format=json`).
fn check_failed(
    app: &App,
    snap: &catalog::Snapshot,
    tile: Option<Tile>,
    params: &BTreeMap<String, String>,
    format: Format,
    diagnostics: Vec<Value>,
) -> Response {
    let req = RunRequest {
        source_path: snap.source.clone(),
        entrypoint: snap.entrypoint.clone(),
        package_dir: Some(snap.dir.clone()),
        headers: vec![],
        mode: if tile.is_some() {
            Mode::Tile
        } else {
            Mode::File
        },
        bounds: tile.map(Tile::bounds),
        tile,
        params: params.clone(),
        output_path: None,
        features_path: None,
    };
    let mut result = fused_run::check_failed_result(&req, &app.python, Value::Array(diagnostics));
    if format != Format::Json {
        result = json!({"error": result["error"], "stdout": "", "stderr": ""});
    }
    json_response(StatusCode::UNPROCESSABLE_ENTITY, &result)
}

/// The answer to a run that did not return: the error JSON (the whole run JSON for
/// `format=json`) with a status saying whose fault it was.
fn failed(result: &Value, format: Format, names: &[String]) -> Response {
    let e = &result["error"];
    let class = e["class"].as_str().unwrap_or("");
    let message = e["message"].as_str().unwrap_or("");
    // The runner's coercion failure: the caller's string did not convert (`parameter 'n' (int)
    // cannot take 'x': ...`); it comes from the runner, so it has no line in the UDF.
    let bad_param = e["line"].is_null()
        && message.starts_with("parameter '")
        && message.contains(" cannot take ");
    // A tile asked of a UDF with no parameter to receive it.
    let no_receiver = e["line"].is_null() && message.starts_with("a Tile run needs a parameter");
    let status = match class {
        _ if bad_param || no_receiver => StatusCode::BAD_REQUEST,
        "Timeout" => StatusCode::GATEWAY_TIMEOUT,
        "Cancelled" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut body = if format == Format::Json {
        result.clone()
    } else {
        json!({"error": e, "stdout": result["stdout"], "stderr": result["stderr"]})
    };
    if bad_param {
        body["parameters"] = json!(names);
    }
    json_response(status, &body)
}

/// The body of a successful run in `format`: `(status, bytes)`.
fn success(
    result: &Value,
    format: Format,
    tile: Option<Tile>,
    geo_path: &std::path::Path,
    file_out: Option<&std::path::Path>,
) -> Result<(u16, Bytes), Response> {
    let res = &result["result"];
    let rtype = res["type"].as_str().unwrap_or("");
    let is_none = rtype == "builtins.NoneType";
    match format {
        Format::Json => Ok((
            200,
            serde_json::to_string_pretty(result)
                .unwrap_or_default()
                .into(),
        )),
        Format::Csv | Format::Parquet => {
            let path = file_out.expect("csv and parquet have an output file");
            std::fs::read(path).map(|b| (200, b.into())).map_err(|e| {
                error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "NotWritten",
                    format!("the result ({rtype}) was not written as a table: {e}"),
                    json!({}),
                )
            })
        }
        Format::Png => {
            if is_none {
                return Ok((204, Bytes::new()));
            }
            // The runner's raster (an array, an xarray, an `(array, bounds)` tuple) as PNG.
            fused_run::raster::png_from_result(result)
                .map(|png| (200, png.into()))
                .ok_or_else(|| {
                    error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "NotRaster",
                        format!(
                            "the UDF returned a `{rtype}`, not a raster: ask for format={}",
                            if tile.is_some() {
                                "geojson, mvt or json"
                            } else {
                                "json or geojson"
                            }
                        ),
                        json!({}),
                    )
                })
        }
        Format::GeoJson | Format::Mvt => {
            if is_none {
                return Ok((204, Bytes::new()));
            }
            // An H3 frame: its hexagons were made by the runner's caller (`result.geojson`,
            // capped as a run's GeoJSON is); a GeoDataFrame's features come from the file.
            if format == Format::GeoJson
                && !geo_path.exists()
                && res["h3"].is_object()
                && res["geojson"].is_object()
            {
                return Ok((
                    200,
                    serde_json::to_vec(&res["geojson"])
                        .unwrap_or_default()
                        .into(),
                ));
            }
            let internal = |e: String| {
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "BadFeatures",
                    e,
                    json!({}),
                )
            };
            let Some(rows) = crate::features::read(geo_path).map_err(internal)? else {
                return Err(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "NotGeoData",
                    format!(
                        "the UDF returned a `{rtype}`, not a GeoDataFrame: ask for format=json"
                    ),
                    json!({}),
                ));
            };
            if rows.len == 0 && tile.is_some() {
                return Ok((204, Bytes::new()));
            }
            match (format, tile) {
                (Format::Mvt, Some(t)) => crate::vector_tile::encode(t, &rows)
                    .map(|b| (200, b.into()))
                    .map_err(|e| {
                        error(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "MvtEncoding",
                            e,
                            json!({}),
                        )
                    }),
                _ => crate::features::geojson(&rows)
                    .map(|text| (200, text.into()))
                    .map_err(internal),
            }
        }
    }
}
