//! `fused.preview` (issue 11): the server starts the live map's service (`fused-ls serve`'s, on
//! the workspace folder, loopback, with a token) once, inside itself, on its own warm worker;
//! answers `{url}`, asks the client to open it, and the service ends with the server, even
//! under `kill -9`.

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

/// The pids of `fused-ls serve` processes serving `root` (there should be none: the service runs
/// inside the server).
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
        .collect()
}

/// The warm workers (runner interpreters) whose parent is `server`.
fn workers_of(server: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| ppid(*pid) == Some(server))
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmd).contains("--worker")
        })
        .collect()
}

/// Whether anything still answers on `url`'s port.
fn answers(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap();
    TcpStream::connect(&rest[..rest.find('/').unwrap()]).is_ok()
}

fn wait_closed(url: &str) -> bool {
    for _ in 0..100 {
        if !answers(url) {
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
    // In the server itself: no `fused-ls serve` process.
    assert!(services(&ws).is_empty());
    // A tile through the service the editor started.
    let (status, tile) = get(&format!("{url}run/tiles/13/2411/3079?format=geojson"));
    assert_eq!(status, 200, "{tile}");
    assert!(tile.contains("FeatureCollection"));
    assert_eq!(lsp.stop(), Some(0));
    assert!(wait_closed(&url), "the map service outlived the server");
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
    let url = r["url"].as_str().unwrap().to_string();
    assert!(answers(&url));
    let server = lsp.child.id();
    // Its workers start in the background.
    for _ in 0..600 {
        if !workers_of(server).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let workers = workers_of(server);
    assert!(!workers.is_empty());
    lsp.child.kill().unwrap();
    let _ = lsp.child.wait();
    assert!(
        wait_closed(&url),
        "the map service outlived a killed server"
    );
    // The workers end with their lifeline (the server's end of their stdin).
    for _ in 0..100 {
        if workers.iter().all(|w| ppid(*w).is_none()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        workers.iter().all(|w| ppid(*w).is_none()),
        "workers outlived a killed server"
    );
}

/// The map's tiles run on the server's warm worker (no extra interpreter for the editor's map
/// beyond one per core), and a UDF package created after the map started is served.
#[test]
fn the_map_runs_on_the_servers_warm_worker_and_serves_new_udfs() {
    let (_t, ws) = workspace();
    let mut lsp = start_in(&ws, json!({"python": sdk_python()}), &[]);
    let server = lsp.child.id();
    let file = ws.join("Points_Tile/Points_Tile.py");
    let uri = lsp.open(&file, &std::fs::read_to_string(&file).unwrap());
    // An editor run first: it starts the warm worker.
    let run = super::faults::run_udf(&mut lsp, &uri);
    assert_eq!(run["ok"], true, "{run}");
    let warm = workers_of(server);
    assert_eq!(warm.len(), 1, "{warm:?}");
    let r = lsp.request(
        "workspace/executeCommand",
        json!({"command": "fused.preview", "arguments": [{"uri": uri, "open": false}]}),
    );
    let url = r["url"].as_str().unwrap().to_string();
    // A slow tile: its run (a child of the worker running it) writes its pid, then sleeps.
    let pidfile = ws.join("tile.pid");
    let tile = format!(
        "{url}run/tiles/13/2411/3079?format=geojson&pause=3&pidfile={}",
        pidfile.display()
    );
    let slow = std::thread::spawn(move || get(&tile));
    let mut child = None;
    for _ in 0..300 {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            child = Some(pid);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let child = child.expect("the tile ran");
    assert_eq!(
        ppid(child),
        Some(warm[0]),
        "the tile did not run on the editor's warm worker"
    );
    let (status, body) = slow.join().unwrap();
    assert_eq!(status, 200, "{body}");
    // One interpreter per core in all: the editor's worker is one of the map's.
    let cores = std::thread::available_parallelism().unwrap().get();
    for _ in 0..600 {
        if workers_of(server).len() >= cores {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let all = workers_of(server);
    assert_eq!(all.len(), cores, "{all:?}");
    assert!(all.contains(&warm[0]));

    // A package made while the map runs is served at once.
    let base = r["base"].as_str().unwrap();
    assert_eq!(get(&format!("{base}Later_Tile/")).0, 404);
    copy_dir(
        &repo_root().join("fixtures/serve/Points_Tile"),
        &ws.join("Later_Tile"),
    );
    let meta = ws.join("Later_Tile/meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, text.replace("Points_Tile", "Later_Tile")).unwrap();
    std::fs::rename(
        ws.join("Later_Tile/Points_Tile.py"),
        ws.join("Later_Tile/Later_Tile.py"),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let (status, body) = get(&format!(
        "{base}Later_Tile/run/tiles/13/2411/3079?format=geojson"
    ));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("FeatureCollection"));
    assert_eq!(lsp.stop(), Some(0));
}

#[test]
fn preview_with_allow_host_accepts_that_host_too_and_no_other() {
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
    // The same service (same URL and token), now accepting that Host as well.
    assert_eq!(r["base"], base.as_str());
    assert_eq!(get_as(&format!("{base}udfs"), Some(host)).0, 200);
    assert_eq!(get(&format!("{base}udfs")).0, 200);
    assert_eq!(
        get_as(&format!("{base}udfs"), Some("evil.example:8443")).0,
        403
    );
    // Not a Host header value: refused, nothing added.
    let bad = lsp.call(
        "workspace/executeCommand",
        json!({"command": "fused.preview", "arguments": [{"uri": uri, "open": false, "allowHost": "https://editor.example/"}]}),
    );
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    assert_eq!(lsp.stop(), Some(0));
    assert!(wait_closed(&base), "the map service outlived the server");
}
