//! `fused/workerStatus`: what the warm worker is doing, as a status bar shows it: `cold` at
//! start, `starting` then `ready` (its pid, a child of the server, and the interpreter) when it
//! pre-warms, `running` during a run and `ready` again after it, on the same worker.

use super::faults::start_in;
use super::*;

#[test]
fn the_worker_status_follows_prewarm_and_runs() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    copy_dir(
        &repo_root().join("fixtures/serve/Points_Tile"),
        &ws.join("Points_Tile"),
    );
    let python = sdk_python();
    let mut lsp = start_in(&ws, json!({"python": python}), &[]);
    let server = lsp.child.id();
    let status = |lsp: &mut Lsp| lsp.notification("fused/workerStatus")["params"].clone();
    assert_eq!(status(&mut lsp), json!({"state": "cold"}));
    // A UDF open and an interpreter the user named: the worker pre-warms.
    let file = ws.join("Points_Tile/Points_Tile.py");
    let uri = lsp.open(&file, &std::fs::read_to_string(&file).unwrap());
    assert_eq!(
        status(&mut lsp),
        json!({"state": "starting", "python": python})
    );
    let ready = status(&mut lsp);
    assert_eq!(ready["state"], "ready", "{ready}");
    assert_eq!(ready["python"], python.as_str());
    let pid = ready["pid"].as_u64().unwrap() as u32;
    assert_eq!(ppid(pid), Some(server), "the worker is the server's child");
    // A run: running, then ready on the same worker.
    let run = super::faults::run_udf(&mut lsp, &uri);
    assert_eq!(run["ok"], true, "{run}");
    assert_eq!(status(&mut lsp)["state"], "running");
    assert_eq!(status(&mut lsp), ready);
    // The live map running a slow tile on the same worker: an editor run meanwhile (in a fresh
    // process) ends with the worker still reported ready, not stuck on "running".
    let r = lsp.request(
        "workspace/executeCommand",
        json!({"command": "fused.preview", "arguments": [{"uri": uri, "open": false}]}),
    );
    let pidfile = ws.join("tile.pid");
    let tile = format!(
        "{}run/tiles/13/2411/3079?format=geojson&pause=4&pidfile={}",
        r["url"].as_str().unwrap(),
        pidfile.display()
    );
    let slow = std::thread::spawn(move || {
        let rest = tile.strip_prefix("http://").unwrap();
        let (authority, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = std::net::TcpStream::connect(authority).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    });
    let mut tile_pid = None;
    for _ in 0..300 {
        tile_pid = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        if tile_pid.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        ppid(tile_pid.expect("the tile ran")),
        Some(pid),
        "on the editor's worker"
    );
    let run = super::faults::run_udf(&mut lsp, &uri);
    assert_eq!(run["ok"], true, "{run}");
    assert_eq!(status(&mut lsp)["state"], "running");
    assert_eq!(status(&mut lsp), ready);
    assert!(slow.join().unwrap().starts_with("HTTP/1.1 200"));
    assert_eq!(lsp.stop(), Some(0));
}
