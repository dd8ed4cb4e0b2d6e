//! Configuration files in the server (issue 15): the closest file applies to each document as
//! `fused-ls check` finds it, a change is seen while the server runs, the editor's settings win
//! only where the user set them (`configurationPreference`), `exclude` and `per-file-ignores`
//! apply, and a broken file is reported once without losing the diagnostics.

use super::faults::{plant_venv, run_udf, start_in, PLAIN};
use super::*;

/// One hint (FUSED023: `a` has no annotation) and nothing else.
const UNANNOTATED: &str = "@fused.udf\ndef udf(a, n: int = 1):\n    return n\n";

fn codes(d: &[Value]) -> Vec<String> {
    d.iter()
        .map(|x| x["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn has_023(d: &[Value]) -> bool {
    codes(d).iter().any(|c| c == "FUSED023")
}

/// A workspace `ws` holding `sub/Pkg/Pkg.py` (the unannotated UDF).
fn workspace() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let sub = ws.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let pkg = write_package(&sub, &[("Pkg.py", UNANNOTATED.as_bytes())]);
    (t, ws, pkg)
}

fn watched_change(lsp: &mut Lsp, path: &Path, kind: u32) {
    lsp.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri_of(path), "type": kind}]}),
    );
}

/// The client is asked to watch the configuration files too.
#[test]
fn configuration_files_are_watched() {
    let (_t, ws, _pkg) = workspace();
    let mut lsp = start_in(&ws, Value::Null, &[]);
    let reg = lsp.server_request("client/registerCapability");
    let globs: Vec<&str> = reg["params"]["registrations"][0]["registerOptions"]["watchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["globPattern"].as_str().unwrap())
        .collect();
    for g in ["**/pyproject.toml", "**/fused-ls.toml", "**/.fused-ls.toml"] {
        assert!(globs.contains(&g), "{g} not watched: {globs:?}");
    }
    assert_eq!(lsp.stop(), Some(0));
}

/// The closest file wins (pyproject.toml at the root, `.fused-ls.toml` nearer), and a file
/// created, changed or deleted while the server runs applies to the open documents at once.
#[test]
fn the_closest_configuration_applies_and_changes_are_seen_live() {
    let (_t, ws, pkg) = workspace();
    let pyproject = ws.join("pyproject.toml");
    std::fs::write(
        &pyproject,
        "[project]\nname = \"x\"\n\n[tool.fused-ls]\nignore = [\"FUSED023\"]\n",
    )
    .unwrap();
    let mut lsp = start_in(&ws, Value::Null, &[]);
    let uri = lsp.open(&pkg.join("Pkg.py"), UNANNOTATED);
    let d = lsp.diagnostics(&uri, Some(1));
    assert!(!has_023(&d), "pyproject.toml ignores FUSED023: {d:?}");

    // A closer file that selects everything: it wins over pyproject.toml.
    let near = ws.join("sub/.fused-ls.toml");
    std::fs::write(&near, "ignore = []\n").unwrap();
    watched_change(&mut lsp, &near, 1);
    let d = lsp.diagnostics_until(&uri, Some(1), 3, has_023);
    assert!(has_023(&d), "the closer .fused-ls.toml applies: {d:?}");

    // Changed to ignore the rule again.
    std::fs::write(&near, "ignore = [\"FUSED023\"]\n").unwrap();
    watched_change(&mut lsp, &near, 2);
    let d = lsp.diagnostics_until(&uri, Some(1), 3, |d| !has_023(d));
    assert!(!has_023(&d), "{d:?}");

    // Deleted: pyproject.toml applies again (it ignores it too); then pyproject.toml loses
    // its section and the hint is back.
    std::fs::remove_file(&near).unwrap();
    watched_change(&mut lsp, &near, 3);
    std::fs::write(&pyproject, "[project]\nname = \"x\"\n").unwrap();
    watched_change(&mut lsp, &pyproject, 2);
    let d = lsp.diagnostics_until(&uri, Some(1), 5, has_023);
    assert!(has_023(&d), "no configuration left: {d:?}");
    assert_eq!(lsp.stop(), Some(0));
}

/// `configurationPreference`: the editor's `select` wins where it is set (editorFirst, the
/// default), the file's wins with filesystemFirst, and editorOnly reads no file.
#[test]
fn editor_settings_override_a_configuration_file_only_as_the_preference_says() {
    let (_t, ws, pkg) = workspace();
    // The file runs only the syntax rule: no FUSED023.
    std::fs::write(ws.join("fused-ls.toml"), "select = [\"FUSED001\"]\n").unwrap();
    let mut lsp = start_in(&ws, Value::Null, &[]);
    let uri = lsp.open(&pkg.join("Pkg.py"), UNANNOTATED);
    assert!(!has_023(&lsp.diagnostics(&uri, Some(1))));

    let settings = |lsp: &mut Lsp, s: Value| {
        lsp.notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"fused": s}}),
        );
    };
    // An empty editor `select` is "not set": the file still applies.
    settings(&mut lsp, json!({"select": []}));
    let d = lsp.diagnostics(&uri, Some(1));
    assert!(!has_023(&d), "{d:?}");
    // The user set `select` in the editor: it wins.
    settings(&mut lsp, json!({"select": ["FUSED023"]}));
    let d = lsp.diagnostics_until(&uri, Some(1), 3, has_023);
    assert!(has_023(&d), "editorFirst: {d:?}");
    // filesystemFirst: the file's `select` wins.
    settings(
        &mut lsp,
        json!({"select": ["FUSED023"], "configurationPreference": "filesystemFirst"}),
    );
    let d = lsp.diagnostics_until(&uri, Some(1), 3, |d| !has_023(d));
    assert!(!has_023(&d), "filesystemFirst: {d:?}");
    // editorOnly: no file is read, every rule runs.
    settings(&mut lsp, json!({"configurationPreference": "editorOnly"}));
    let d = lsp.diagnostics_until(&uri, Some(1), 3, has_023);
    assert!(has_023(&d), "editorOnly: {d:?}");
    assert_eq!(lsp.stop(), Some(0));
}

/// `exclude` leaves a file without diagnostics; `per-file-ignores` hides a rule in the files it
/// names and no fix for it is offered there (as `check --fix` never applies it).
#[test]
fn exclude_and_per_file_ignores_apply_to_diagnostics_and_fixes() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    // Three copies of the package: `kept/Pkg`, `scratch/Pkg`, `skipped/Pkg`.
    let copy = |name: &str| write_package(&ws.join(name), &[("Pkg.py", UNANNOTATED.as_bytes())]);
    let (kept, scratch, skipped) = (copy("kept"), copy("scratch"), copy("skipped"));
    std::fs::write(
        ws.join("fused-ls.toml"),
        "exclude = [\"skipped/**\"]\n\n[per-file-ignores]\n\"scratch/**/*.py\" = [\"FUSED023\"]\n",
    )
    .unwrap();
    let mut lsp = start_in(&ws, Value::Null, &[]);
    let kept_uri = lsp.open(&kept.join("Pkg.py"), UNANNOTATED);
    assert!(has_023(&lsp.diagnostics(&kept_uri, Some(1))));
    let scratch_uri = lsp.open(&scratch.join("Pkg.py"), UNANNOTATED);
    let d = lsp.diagnostics(&scratch_uri, Some(1));
    assert!(!has_023(&d), "per-file-ignores: {d:?}");
    let skipped_uri = lsp.open(&skipped.join("Pkg.py"), UNANNOTATED);
    let d = lsp.diagnostics(&skipped_uri, Some(1));
    assert!(d.is_empty(), "exclude: {d:?}");

    // The code actions on the hint's line: some in Kept.py, none for FUSED023 in Scratch.py.
    let actions = |lsp: &mut Lsp, uri: &str| -> Vec<Value> {
        lsp.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri},
                "range": {"start": {"line": 1, "character": 8}, "end": {"line": 1, "character": 9}},
                "context": {"diagnostics": []}}),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
    };
    let mentions_023 = |a: &[Value]| a.iter().any(|x| x.to_string().contains("FUSED023"));
    assert!(mentions_023(&actions(&mut lsp, &kept_uri)));
    assert!(!mentions_023(&actions(&mut lsp, &scratch_uri)));
    assert!(actions(&mut lsp, &skipped_uri).is_empty());
    assert_eq!(lsp.stop(), Some(0));
}

/// A configuration file with an unknown key is shown once (file, line, key) and the defaults
/// apply meanwhile: the diagnostics do not go away.
#[test]
fn a_broken_configuration_file_is_reported_once_and_the_defaults_apply() {
    let (_t, ws, pkg) = workspace();
    std::fs::write(
        ws.join("fused-ls.toml"),
        "ignore = [\"FUSED023\"]\nselct = [\"FUSED001\"]\n",
    )
    .unwrap();
    let mut lsp = start_in(&ws, Value::Null, &[]);
    let uri = lsp.open(&pkg.join("Pkg.py"), UNANNOTATED);
    let d = lsp.diagnostics(&uri, Some(1));
    assert!(has_023(&d), "the defaults apply: {d:?}");
    let shown = loop {
        let m = lsp.backlog.pop().unwrap_or_else(|| lsp.recv());
        if m["method"] == "window/showMessage" {
            break m;
        }
    };
    let text = shown["params"]["message"].as_str().unwrap();
    assert_eq!(shown["params"]["type"], 2, "a warning: {shown}");
    assert!(
        text.contains("fused-ls.toml:2:") && text.contains("selct"),
        "file, line and key named: {text}"
    );
    // Shown once: an edit re-checks without a second message.
    lsp.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": 2},
        "contentChanges": [{"range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 0}}, "text": "\n"}]}));
    lsp.diagnostics(&uri, Some(2));
    assert!(
        !lsp.backlog
            .iter()
            .any(|m| m["method"] == "window/showMessage"),
        "shown twice"
    );
    assert_eq!(lsp.stop(), Some(0));
}

/// A configuration file's `python` is used by an explicit run, but never pre-warmed in an
/// untrusted workspace: a cloned repository's pyproject.toml is not the user's word. Its
/// `run-timeout` applies to runs.
#[test]
fn a_configured_interpreter_runs_only_when_asked_and_its_timeout_applies() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let marker = t.path().join("configured-python-started");
    let tools = t.path().join("ws/tools");
    std::fs::create_dir_all(&tools).unwrap();
    let py = plant_venv(&tools, &marker);
    std::fs::write(
        ws.join("pyproject.toml"),
        "[tool.fused-ls]\npython = \"tools/.venv/bin/python\"\nrun-timeout = 2\n",
    )
    .unwrap();
    let slow =
        "import time\n\n@fused.udf\ndef udf(n: int = 1):\n    time.sleep(30)\n    return n\n";
    let pkg = write_package(&ws.join("plain"), &[("Pkg.py", PLAIN.as_bytes())]);
    let slow_pkg = write_package(&ws.join("slow"), &[("Pkg.py", slow.as_bytes())]);
    let mut lsp = start_in(&ws, Value::Null, &[]);
    let uri = lsp.open(&pkg.join("Pkg.py"), PLAIN);
    lsp.diagnostics(&uri, Some(1));
    std::thread::sleep(Duration::from_millis(5000));
    assert!(
        !marker.exists(),
        "a configured interpreter was pre-warmed unasked"
    );
    let result = run_udf(&mut lsp, &uri);
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["python"], py.to_str().unwrap(), "{result}");
    assert!(marker.exists());

    let slow_uri = lsp.open(&slow_pkg.join("Pkg.py"), slow);
    let started = std::time::Instant::now();
    let result = run_udf(&mut lsp, &slow_uri);
    assert_eq!(result["ok"], false, "{result}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "run-timeout = 2 applied: {:?}",
        started.elapsed()
    );
    assert_eq!(lsp.stop(), Some(0));
}
