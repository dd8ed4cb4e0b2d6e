//! The fault suite of `fused-ls server` (issue 10): a planted interpreter, hostile frames, hostile
//! settings. Each test first reproduced its defect on the built binary.

use super::*;

/// A UDF that needs nothing installed.
pub(crate) const PLAIN: &str = "@fused.udf\ndef udf(n: int = 1):\n    return n\n";

/// The real interpreter, so a planted script can hand over to it.
pub(crate) fn real_python() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A `.venv/bin/python` in `dir` that appends a line to `marker` each time it starts, then
/// runs the real interpreter: what a cloned repository could plant.
pub(crate) fn plant_venv(dir: &Path, marker: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join(".venv/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let py = bin.join("python");
    std::fs::write(
        &py,
        format!(
            "#!/bin/sh\necho started >> '{}'\nexec '{}' \"$@\"\n",
            marker.display(),
            real_python()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&py, std::fs::Permissions::from_mode(0o755)).unwrap();
    py
}

/// `outer/.venv` (above the workspace), `outer/ws/.venv` (in it), and `outer/ws/Pkg`.
struct Planted {
    _t: tempfile::TempDir,
    ws: PathBuf,
    pkg: PathBuf,
    outer_marker: PathBuf,
    ws_marker: PathBuf,
    ws_python: PathBuf,
}

fn planted() -> Planted {
    let t = tempfile::tempdir().unwrap();
    let outer = t.path().join("outer");
    let ws = outer.join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let outer_marker = t.path().join("outer-venv-started");
    let ws_marker = t.path().join("ws-venv-started");
    plant_venv(&outer, &outer_marker);
    let ws_python = plant_venv(&ws, &ws_marker);
    let pkg = write_package(&ws, &[("Pkg.py", PLAIN.as_bytes())]);
    Planted {
        _t: t,
        ws,
        pkg,
        outer_marker,
        ws_marker,
        ws_python,
    }
}

pub(crate) fn start_in(ws: &Path, options: Value, env: &[(&str, &str)]) -> Lsp {
    let (lsp, _) = Lsp::start_with(
        json!({"processId": null, "rootUri": uri_of(ws), "capabilities": vscode_caps(),
            "initializationOptions": options}),
        env,
        Stdio::null(),
    );
    lsp
}

pub(crate) fn run_udf(lsp: &mut Lsp, uri: &str) -> Value {
    let r = lsp.call(
        "workspace/executeCommand",
        json!({"command": "fused.run", "arguments": [{"uri": uri}]}),
    );
    assert!(r.get("error").is_none(), "{r}");
    r["result"].clone()
}

/// Opening a UDF in an untrusted workspace starts no interpreter found in the tree; the first
/// explicit run does (the workspace's own `.venv`, never the one above the workspace).
#[test]
fn opening_a_udf_never_starts_a_planted_interpreter() {
    let p = planted();
    let mut lsp = start_in(&p.ws, Value::Null, &[]);
    let uri = lsp.open(&p.pkg.join("Pkg.py"), PLAIN);
    lsp.diagnostics(&uri, Some(1));
    // Past the pre-warm delay (3 s) with room to spare.
    std::thread::sleep(Duration::from_millis(5000));
    assert!(!p.ws_marker.exists(), "a planted interpreter ran on open");
    assert!(
        !p.outer_marker.exists(),
        "a planted interpreter ran on open"
    );
    let result = run_udf(&mut lsp, &uri);
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["python"], p.ws_python.to_str().unwrap(), "{result}");
    assert!(
        p.ws_marker.exists(),
        "the explicit run used the workspace's .venv"
    );
    assert!(
        !p.outer_marker.exists(),
        "the .venv above the workspace ran"
    );
    assert_eq!(lsp.stop(), Some(0));
}

/// In a workspace the client trusts, the pre-warm uses the discovered `.venv`, searched no
/// higher than the workspace folder.
#[test]
fn a_trusted_workspace_prewarms_with_its_own_interpreter_only() {
    let p = planted();
    let mut lsp = start_in(&p.ws, json!({"trustedWorkspace": true}), &[]);
    let uri = lsp.open(&p.pkg.join("Pkg.py"), PLAIN);
    lsp.diagnostics(&uri, Some(1));
    let started = std::time::Instant::now();
    while !p.ws_marker.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no worker from the trusted workspace's .venv after 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!p.outer_marker.exists());
    assert_eq!(lsp.stop(), Some(0));
}

/// With no `.venv` in the workspace, a `.venv` above it is never used, trusted or not: the
/// pre-warm and runs fall back to `python3`.
#[test]
fn a_venv_above_the_workspace_is_never_used() {
    let p = planted();
    std::fs::remove_dir_all(p.ws.join(".venv")).unwrap();
    let mut lsp = start_in(&p.ws, json!({"trustedWorkspace": true}), &[]);
    let uri = lsp.open(&p.pkg.join("Pkg.py"), PLAIN);
    lsp.diagnostics(&uri, Some(1));
    std::thread::sleep(Duration::from_millis(5000));
    let result = run_udf(&mut lsp, &uri);
    assert_eq!(result["python"], "python3", "{result}");
    assert!(
        !p.outer_marker.exists(),
        "the .venv above the workspace ran"
    );
    assert_eq!(lsp.stop(), Some(0));
}

/// An interpreter the user named (the `python` setting) may be pre-warmed without trust.
#[test]
fn a_named_interpreter_is_prewarmed_without_trust() {
    let p = planted();
    let marker = p.ws.join("named-started");
    let named = plant_venv(&p.ws.join("named"), &marker);
    let mut lsp = start_in(&p.ws, json!({"python": named}), &[]);
    let uri = lsp.open(&p.pkg.join("Pkg.py"), PLAIN);
    lsp.diagnostics(&uri, Some(1));
    let started = std::time::Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no worker with the named interpreter after 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!p.ws_marker.exists() && !p.outer_marker.exists());
    assert_eq!(lsp.stop(), Some(0));
}

fn raw(lsp: &mut Lsp, bytes: &[u8]) {
    lsp.stdin.write_all(bytes).unwrap();
    lsp.stdin.flush().unwrap();
}

/// Half an emoji as `JSON.stringify` writes it (`"\ud83d"`) used to end the server (exit 1,
/// no log): it becomes U+FFFD, as in VS Code's own decoder.
#[test]
fn a_lone_surrogate_in_a_document_becomes_a_replacement_character() {
    let (_t, dir) = scratch_pkg(UDF);
    let (mut lsp, _) = Lsp::start(vscode_caps(), &[]);
    let uri = uri_of(&dir.join("Pkg.py"));
    // The escape is written raw: serde_json would not produce it.
    let text = r#"@fused.udf\ndef udf(n: int = 1):\n    s = \"\ud83d\"\n    return n\n"#;
    let body = format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{uri}","languageId":"python","version":1,"text":"{text}"}}}}}}"#
    );
    raw(&mut lsp, &frame(&body));
    assert_eq!(lsp.diagnostics(&uri, Some(1)), Vec::<Value>::new());
    // The server holds U+FFFD (one UTF-16 unit): typing after it lands where the editor says.
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 2, "character": 10}, "end": {"line": 2, "character": 10}}, "text": "x"}]}),
    );
    let d = lsp.diagnostics(&uri, Some(2));
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(lsp.stop(), Some(0));
}

fn nested(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!([v]);
    }
    v
}

/// Params nested 127 levels or more used to end the server: a request gets an error reply, a
/// notification is dropped, and the session goes on. (The frames are written by hand, any
/// method: the limit is the decoder's, before any handler.)
#[test]
fn deep_nesting_gets_an_error_reply_and_the_server_goes_on() {
    let (_t, dir) = scratch_pkg(UDF);
    let (mut lsp, _) = Lsp::start(vscode_caps(), &[]);
    let deep = |id: Option<i64>, method: &str| {
        let params = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        match id {
            Some(id) => {
                format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#)
            }
            None => format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{params}}}"#),
        }
    };
    for (id, method) in [(70, "textDocument/hover"), (71, "fused/noSuchMethod")] {
        raw(&mut lsp, &frame(&deep(Some(id), method)));
        let r = lsp.response(json!(id));
        assert_eq!(r["error"]["code"], -32600, "{r}");
    }
    raw(&mut lsp, &frame(&deep(None, "textDocument/didOpen")));
    // Just below the limit still decodes (and is refused by the handler, as bad params).
    let r = lsp.call("textDocument/hover", nested(120));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let uri = lsp.open(&dir.join("Pkg.py"), UDF);
    assert!(lsp.diagnostics(&uri, Some(1)).is_empty());
    assert_eq!(lsp.stop(), Some(0));
}

/// `Content-Length: 2x` used to leave the server alive but mute for good: the reader skips to
/// the next `Content-Length:` and logs the bad frame.
#[test]
fn a_bad_content_length_costs_one_frame_and_is_logged() {
    let (_t, dir) = scratch_pkg(UDF);
    let log = dir.join("stderr.log");
    let (mut lsp, _) = Lsp::start_with(
        json!({"processId": null, "rootUri": null, "capabilities": vscode_caps()}),
        &[],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let lost = json!({"jsonrpc": "2.0", "id": 90, "method": "shutdown"}).to_string();
    raw(
        &mut lsp,
        format!("Content-Length: 2x\r\n\r\n{lost}").as_bytes(),
    );
    let uri = lsp.open(&dir.join("Pkg.py"), UDF);
    assert!(lsp.diagnostics(&uri, Some(1)).is_empty());
    let r = lsp.call(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 9}}),
    );
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(lsp.stop(), Some(0));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("Content-Length: 2x"), "{log}");
}

/// Every request gets the protocol's answer: a float or object id an InvalidRequest under id
/// `null` (JSON-RPC: the id could not be read), an unknown `$/` request MethodNotFound (LSP);
/// an unknown `$/` notification nothing.
#[test]
fn every_request_gets_the_protocols_answer() {
    let (mut lsp, _) = Lsp::start(vscode_caps(), &[]);
    for id in [json!(1.5), json!({"a": 1}), json!([2])] {
        lsp.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/hover", "params": {}}),
        );
        let r = lsp.response(Value::Null);
        assert_eq!(r["error"]["code"], -32600, "{r}");
    }
    lsp.notify("$/fused/noSuchNotification", json!({}));
    let r = lsp.call("$/fused/noSuchRequest", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    let r = lsp.call("$/cancelRequest", json!({"id": 1}));
    assert!(r.get("error").is_some(), "{r}");
    // Nothing answered the notification: no stray reply is waiting.
    assert!(lsp
        .backlog
        .iter()
        .all(|m| m.get("id").is_none() || m.get("method").is_some()));
    assert_eq!(lsp.stop(), Some(0));
}

/// `executeCommand` runs under the panic guard like every handler, and a `runTimeout` of
/// u64::MAX seconds (which overflowed a Duration and panicked) is clamped.
#[test]
fn commands_run_under_the_guard_and_huge_timeouts_are_clamped() {
    let (_t, dir) = scratch_pkg(PLAIN);
    let (mut lsp, _) = Lsp::start_with(
        json!({"processId": null, "rootUri": null, "capabilities": vscode_caps(),
            "initializationOptions": {"runTimeout": 18446744073709551615u64}}),
        &[("FUSED_LS_TEST_HOOKS", "1")],
        Stdio::null(),
    );
    let r = lsp.call(
        "workspace/executeCommand",
        json!({"command": "fused.debugPanic", "arguments": []}),
    );
    assert_eq!(r["error"]["code"], -32603, "{r}");
    let uri = lsp.open(&dir.join("Pkg.py"), PLAIN);
    lsp.diagnostics(&uri, Some(1));
    let result = run_udf(&mut lsp, &uri);
    assert_eq!(result["ok"], true, "{result}");
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"fused": {"runTimeout": 1e300}}}),
    );
    let result = run_udf(&mut lsp, &uri);
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(lsp.stop(), Some(0));
}

/// The `window/showMessage` warnings received within `wait`.
fn warnings(lsp: &mut Lsp, wait: Duration) -> Vec<String> {
    let end = std::time::Instant::now() + wait;
    let mut out: Vec<String> = lsp
        .backlog
        .iter()
        .filter(|m| m["method"] == "window/showMessage" && m["params"]["type"] == 2)
        .map(|m| m["params"]["message"].as_str().unwrap().to_string())
        .collect();
    lsp.backlog
        .retain(|m| !(m["method"] == "window/showMessage" && m["params"]["type"] == 2));
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        let Ok(m) = lsp.rx.recv_timeout(left) else {
            break;
        };
        if m["method"] == "window/showMessage" && m["params"]["type"] == 2 {
            out.push(m["params"]["message"].as_str().unwrap().to_string());
        } else {
            lsp.backlog.push(m);
        }
    }
    out
}

/// One mistyped setting used to drop every setting (FUSED023 came back though `ignore` named
/// it): each key is read on its own, unambiguous values coerced, each bad key reported once.
#[test]
fn one_bad_setting_costs_only_that_key_and_is_reported_once() {
    let udf = "@fused.udf\ndef udf(a, n: int = 1):\n    return n\n";
    let (_t, dir) = scratch_pkg(udf);
    let (mut lsp, _) = Lsp::start_with(
        json!({"processId": null, "rootUri": null, "capabilities": neovim_caps(),
            "initializationOptions": {"ignore": ["FUSED023"], "runTimeout": -1}}),
        &[],
        Stdio::null(),
    );
    let uri = lsp.open(&dir.join("Pkg.py"), udf);
    assert!(
        lsp.diagnostics(&uri, Some(1)).is_empty(),
        "ignore was dropped"
    );
    let w = warnings(&mut lsp, Duration::from_millis(1000));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("runTimeout") && w[0].contains("positive number"),
        "{w:?}"
    );
    // Coerced without a word: "30" and 2.5 are seconds, a string of codes is a list.
    for settings in [
        json!({"ignore": "FUSED023", "runTimeout": "30"}),
        json!({"ignore": ["FUSED023"], "runTimeout": 2.5}),
    ] {
        lsp.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"fused": settings}}),
        );
        let d = lsp.diagnostics_until(&uri, Some(1), 3, |d| d.is_empty());
        assert!(d.is_empty(), "{d:?}");
    }
    assert!(warnings(&mut lsp, Duration::from_millis(500)).is_empty());
    // A bad code costs that code: FUSED023 stays ignored. Sent twice, reported once.
    for _ in 0..2 {
        lsp.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"fused": {"ignore": ["FUSED023", "NOPE42"], "select": 7}}}),
        );
    }
    let w = warnings(&mut lsp, Duration::from_millis(1500));
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w.iter()
            .any(|m| m.contains("`ignore`") && m.contains("NOPE42")),
        "{w:?}"
    );
    assert!(w.iter().any(|m| m.contains("`select`")), "{w:?}");
    let d = lsp.diagnostics_until(&uri, Some(1), 3, |d| d.is_empty());
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(lsp.stop(), Some(0));
}
