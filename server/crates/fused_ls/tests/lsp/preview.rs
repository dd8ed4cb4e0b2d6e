//! `fused.preview` (issue 11): the server starts the live map's service (`fused-ls serve` on the
//! workspace folder, loopback, with a token) once, answers `{url}`, asks the client to open it,
//! and the service dies with the server, even under `kill -9`.

use super::faults::start_in;
use super::*;
use std::io::Read as _;
use std::net::TcpStream;

/// `GET url` over plain HTTP/1.1: (status, body).
fn get(url: &str) -> (u16, String) {
    get_as(url, None)
}

/// `GET url` with the `Host` header `host` (else the URL's authority).
fn get_as(url: &str, host: Option<&str>) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = TcpStream::connect(authority).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        host.unwrap_or(authority)
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    (status, body)
}

/// The pids of `fused-ls serve` processes serving `root`.
fn services(root: &Path) -> Vec<u32> {
    let want = root.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmd
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.iter().any(|a| a == "serve") && args.contains(&want)
        })
        .filter(|pid| {
            !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
        })
        .collect()
}

fn wait_gone(root: &Path) -> bool {
    for _ in 0..100 {
        if services(root).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn workspace() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    copy_dir(
        &repo_root().join("fixtures/serve/Points_Tile"),
        &ws.join("Points_Tile"),
    );
    (t, ws)
}

fn caps_with_show_document() -> Value {
    let mut caps = vscode_caps();
    caps["window"] = json!({"showDocument": {"support": true}, "workDoneProgress": true});
    caps
}

#[test]
fn preview_starts_the_map_service_once_opens_it_and_it_dies_with_the_server() {
    let (_t, ws) = workspace();
    let (mut lsp, init) = Lsp::start_with(
        json!({"processId": null, "rootUri": uri_of(&ws), "capabilities": caps_with_show_document(),
            "initializationOptions": {"python": sdk_python()}}),
        &[],
        Stdio::null(),
    );
    assert!(init["capabilities"]["executeCommandProvider"]["commands"]
        .as_array()
        .unwrap()
        .contains(&json!("fused.preview")));
    let file = ws.join("Points_Tile/Points_Tile.py");
    let uri = lsp.open(&file, &std::fs::read_to_string(&file).unwrap());
    let r = lsp.request(
        "workspace/executeCommand",
        json!({"command": "fused.preview", "arguments": [{"uri": uri}]}),
    );
    let url = r["url"].as_str().unwrap().to_string();
    let base = r["base"].as_str().unwrap().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/Points_Tile/"),
        "{url}"
    );
    assert!(url.starts_with(&base));
    // A token of 128 bits in the path: without it, nothing.
    let token = base.trim_end_matches('/').rsplit('/').next().unwrap();
    assert!(token.len() >= 32, "{token}");
    let (status, page) = get(&url);
    assert_eq!(status, 200);
    assert!(
        page.contains("<html") || page.contains("<!doctype"),
        "{page}"
    );
    let (status, udfs) = get(&format!("{base}udfs"));
    assert_eq!(status, 200);
    assert!(udfs.contains("\"Points_Tile\""), "{udfs}");
    let no_token = base.replace(token, "");
    assert_eq!(get(&format!("{no_token}udfs")).0, 404);
    // The client was asked to open it in a browser.
    let shown = lsp.server_request("window/showDocument");
    assert_eq!(shown["params"]["uri"], url.as_str());
    assert_eq!(shown["params"]["external"], true);
    // Once per session: a second preview reuses the service.
    let again = lsp.request(
        "workspace/executeCommand",
        json!({"command": "fused.preview", "arguments": [{"uri": uri, "open": false}]}),
    );
    assert_eq!(again["base"], base.as_str());
    assert_eq!(services(&ws).len(), 1);
    // A tile through the service the editor started.
    let (status, tile) = get(&format!("{url}run/tiles/13/2411/3079?format=geojson"));
    assert_eq!(status, 200, "{tile}");
    assert!(tile.contains("FeatureCollection"));
    assert_eq!(lsp.stop(), Some(0));
    assert!(wait_gone(&ws), "the map service outlived the server");
}

#[test]
fn a_killed_server_leaves_no_map_service() {
    let (_t, ws) = workspace();
    let mut lsp = start_in(&ws, json!({"python": sdk_python()}), &[]);
    let file = ws.join("Points_Tile/Points_Tile.py");
    let uri = lsp.open(&file, &std::fs::read_to_string(&file).unwrap());
    let r = lsp.request(
        "workspace/executeCommand",
        json!({"command": "fused.preview", "arguments": [{"uri": uri, "open": false}]}),
    );
    assert!(r["url"].is_string(), "{r}");
    assert_eq!(services(&ws).len(), 1);
    lsp.child.kill().unwrap();
    let _ = lsp.child.wait();
    assert!(wait_gone(&ws), "the map service outlived a killed server");
}

#[test]
fn preview_with_allow_host_restarts_the_service_on_its_port_accepting_that_host_only() {
    // An editor behind a proxy (code-server's /proxy/PORT/) passes the Host it forwards under.
    let (_t, ws) = workspace();
    let mut lsp = start_in(&ws, json!({"python": sdk_python()}), &[]);
    let file = ws.join("Points_Tile/Points_Tile.py");
    let uri = lsp.open(&file, &std::fs::read_to_string(&file).unwrap());
    let preview = |lsp: &mut Lsp, args: Value| {
        lsp.request(
            "workspace/executeCommand",
            json!({"command": "fused.preview", "arguments": [args]}),
        )
    };
    let first = preview(&mut lsp, json!({"uri": uri, "open": false}));
    let base = first["base"].as_str().unwrap().to_string();
    let host = "editor.example:8443";
    assert_eq!(get_as(&format!("{base}udfs"), Some(host)).0, 403);
    let r = preview(
        &mut lsp,
        json!({"uri": uri, "open": false, "allowHost": host}),
    );
    let proxied = r["base"].as_str().unwrap().to_string();
    assert_ne!(proxied, base, "a new start, a new token");
    let port = |u: &str| u.split('/').nth(2).unwrap().to_string();
    assert_eq!(
        port(&proxied),
        port(&base),
        "the same port: the proxy's URL holds"
    );
    assert_eq!(services(&ws).len(), 1, "the old service is gone");
    assert_eq!(get_as(&format!("{proxied}udfs"), Some(host)).0, 200);
    assert_eq!(get(&format!("{proxied}udfs")).0, 200);
    assert_eq!(
        get_as(&format!("{proxied}udfs"), Some("evil.example:8443")).0,
        403
    );
    // Asked again with the same host (or none): reused.
    let again = preview(
        &mut lsp,
        json!({"uri": uri, "open": false, "allowHost": host}),
    );
    assert_eq!(again["base"], proxied.as_str());
    let plain = preview(&mut lsp, json!({"uri": uri, "open": false}));
    assert_eq!(plain["base"], proxied.as_str());
    assert_eq!(lsp.stop(), Some(0));
    assert!(wait_gone(&ws), "the map service outlived the server");
}
