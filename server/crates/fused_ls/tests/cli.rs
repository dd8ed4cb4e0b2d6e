//! End-to-end tests of `fused-ls check`, `rules` and `rule`, running the built binary.

mod common;
use common::*;

/// A scratch copy of one broken fixture package.
fn scratch(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dst = t.path().join(name);
    copy_dir(&repo_root().join("fixtures/broken").join(name), &dst);
    (t, dst)
}

#[test]
fn json_over_every_fixture_snapshot() {
    let out = run(&repo_root(), &["check", "--format", "json", "fixtures"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("fixtures_json", stdout(&out));
}

#[test]
fn clean_fixtures_have_no_diagnostics() {
    let out = run(
        &repo_root(),
        &[
            "check",
            "--format",
            "json",
            "fixtures/clean",
            "fixtures/loose/loose_tile_udf.py",
            "fixtures/loose/not_a_udf.py",
        ],
    );
    assert_eq!(stdout(&out).trim(), "[]");
    assert_eq!(out.status.code(), Some(0));
    let human = run(&repo_root(), &["check", "fixtures/clean"]);
    assert!(stdout(&human).contains("All checks passed!"));
}

#[test]
fn every_rule_has_a_broken_fixture() {
    let out = run(
        &repo_root(),
        &["check", "--format", "json", "fixtures/broken"],
    );
    let seen = codes(&out);
    for rule in fused_core::Rule::ALL {
        assert!(
            seen.iter().any(|c| c == rule.code()),
            "no fixture triggers {}",
            rule.code()
        );
    }
}

#[test]
fn json_contract_shape_order_and_unicode_columns() {
    let t = tempfile::tempdir().unwrap();
    // Two emoji (4 bytes, 2 UTF-16 units each) before the annotation: the column counts them
    // as one scalar value each.
    let udf = "from typing import Union\n@fused.udf\ndef udf(a: str = \"😀😀\", b: Union[int, float] = 1):\n    pass\n";
    write_package(t.path(), &[("Pkg.py", udf.as_bytes())]);
    let out = run(t.path(), &["check", "--format", "json", "Pkg"]);
    let j = json(&out);
    assert_eq!(j.len(), 1);
    let d = j[0].as_object().unwrap();
    let mut keys: Vec<&str> = d.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "code",
            "column",
            "end_column",
            "end_line",
            "fix",
            "line",
            "message",
            "path",
            "severity",
            "url"
        ]
    );
    assert!(d["fix"].is_null());
    assert_eq!(d["url"], fused_core::Rule::UncoercedAnnotation.doc_url());
    assert_eq!(d["path"], "Pkg/Pkg.py");
    assert_eq!(d["code"], "FUSED020");
    assert_eq!(d["severity"], "warning");
    let line3 = udf.lines().nth(2).unwrap();
    let col = line3[..line3.find("Union").unwrap()].chars().count() + 1;
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(3), Some(col as u64))
    );
    assert_eq!(
        d["end_column"].as_u64(),
        Some((col + "Union[int, float]".len()) as u64)
    );
    // Sorted by path, line, column.
    let out = run(
        &repo_root(),
        &["check", "--format", "json", "fixtures/broken"],
    );
    let keys: Vec<(String, u64, u64)> = json(&out)
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn human_output_has_location_and_code_frame() {
    let out = run(&repo_root(), &["check", "fixtures/broken/Bad_Engine"]);
    let s = stdout(&out);
    assert!(
        s.contains("fixtures/broken/Bad_Engine/Bad_Engine.py:4:19: FUSED042 [error]"),
        "{s}"
    );
    assert!(s.contains("4 | @fused.udf(engine=\"gpu-large\")"), "{s}");
    assert!(s.contains("^^^^^^^^^^^"), "{s}");
    assert!(s.contains("Found 1 problem (1 error"), "{s}");
    assert!(!s.contains("\x1b["), "no colour when not a terminal");
    let coloured = bin()
        .args(["check", "--color", "always", "fixtures/broken/Bad_Engine"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(stdout(&coloured).contains("\x1b[1;31m"));
    assert_eq!(out.status.code(), Some(1));
    // Warnings alone exit 0.
    let warn = run(&repo_root(), &["check", "fixtures/broken/Union_Annotation"]);
    assert_eq!(warn.status.code(), Some(0));
}

#[test]
fn sarif_and_github_formats() {
    let root = repo_root();
    let j = json(&run(
        &root,
        &["check", "--format", "json", "fixtures/broken"],
    ));
    let sarif_out = run(&root, &["check", "--format", "sarif", "fixtures/broken"]);
    let sarif: serde_json::Value = serde_json::from_slice(&sarif_out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    assert_eq!(
        run0["tool"]["driver"]["rules"].as_array().unwrap().len(),
        fused_core::Rule::ALL.len()
    );
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), j.len());
    let r0 = &results[0];
    let loc = &r0["locations"][0]["physicalLocation"];
    assert_eq!(r0["ruleId"], j[0]["code"]);
    assert_eq!(loc["artifactLocation"]["uri"], j[0]["path"]);
    assert_eq!(loc["region"]["startLine"], j[0]["line"]);
    assert_eq!(loc["region"]["startColumn"], j[0]["column"]);

    let gh = stdout(&run(
        &root,
        &[
            "check",
            "--format",
            "github",
            "fixtures/broken/Bad_Engine",
            "fixtures/broken/Unannotated_Param",
        ],
    ));
    let lines: Vec<&str> = gh.lines().collect();
    assert_eq!(lines.len(), 2, "{gh}");
    assert!(lines[0].starts_with("::error file=fixtures/broken/Bad_Engine/Bad_Engine.py,line=4,col=19,endLine=4,endColumn=30,title=FUSED042 invalid-engine::"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("::notice file=fixtures/broken/Unannotated_Param/"),
        "{}",
        lines[1]
    );
}

#[test]
fn fix_applies_safe_fixes_atomically_and_is_idempotent() {
    for (pkg, code, file, expect) in [
        (
            "Bad_Cache_Max_Age",
            "FUSED041",
            "Bad_Cache_Max_Age.py",
            "cache_max_age=\"10m\"",
        ),
        (
            "Instance_Type",
            "FUSED043",
            "Instance_Type.py",
            "engine=\"r5.large\"",
        ),
        (
            "Entrypoint_Renamed",
            "FUSED011",
            "meta.json",
            "\"entrypoint\":\"udf_v2\"",
        ),
        (
            "Utils_Not_Declared",
            "FUSED065",
            "meta.json",
            "{\"module_name\":\"utils\",\"source_file\":\"utils.py\"}",
        ),
    ] {
        let (t, dir) = scratch(pkg);
        let before = run(t.path(), &["check", "--format", "json", pkg]);
        assert!(codes(&before).contains(&code.to_string()), "{pkg}");
        let fixed = run(t.path(), &["check", "--fix", "--format", "json", pkg]);
        assert!(
            !codes(&fixed).contains(&code.to_string()),
            "{pkg}: {}",
            stdout(&fixed)
        );
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(text.contains(expect), "{pkg}: {text}");
        // No temporary file is left behind, and a second run changes nothing.
        assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")));
        let again = run(t.path(), &["check", "--fix", pkg]);
        assert!(
            !stdout(&again).contains("Fixed"),
            "{pkg}: {}",
            stdout(&again)
        );
        assert_eq!(std::fs::read_to_string(dir.join(file)).unwrap(), text);
    }
}

#[test]
fn unsafe_fixes_only_on_request() {
    let (t, dir) = scratch("Bbox_Receiver");
    let file = dir.join("Bbox_Receiver.py");
    let original = std::fs::read_to_string(&file).unwrap();
    let out = run(t.path(), &["check", "--fix", "Bbox_Receiver"]);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "{}",
        stdout(&out)
    );
    run(
        t.path(),
        &["check", "--fix", "--unsafe-fixes", "Bbox_Receiver"],
    );
    let fixed = std::fs::read_to_string(&file).unwrap();
    assert!(
        fixed.contains("def udf(bounds") && !fixed.contains("bbox."),
        "{fixed}"
    );
    let after = run(t.path(), &["check", "--format", "json", "Bbox_Receiver"]);
    assert_eq!(stdout(&after).trim(), "[]");
    // FUSED063's fix rewrites `fused:slug`, the UDF's identity on the platform: unsafe too.
    let (t, dir) = scratch("Meta_Name_Mismatch");
    let meta = dir.join("meta.json");
    let original = std::fs::read_to_string(&meta).unwrap();
    run(t.path(), &["check", "--fix", "Meta_Name_Mismatch"]);
    assert_eq!(std::fs::read_to_string(&meta).unwrap(), original);
    run(
        t.path(),
        &["check", "--fix", "--unsafe-fixes", "Meta_Name_Mismatch"],
    );
    // It fixes the metadata names too.
    let fixed = std::fs::read_to_string(&meta).unwrap();
    assert!(
        fixed.contains("\"fused:slug\":\"Meta_Name_Mismatch\"")
            && !fixed.contains("Sydney_Street_Trees\""),
        "{fixed}"
    );
}

#[test]
fn fix_leaves_a_read_only_folder_untouched_and_says_so() {
    let (t, dir) = scratch("Bad_Cache_Max_Age");
    let file = dir.join("Bad_Cache_Max_Age.py");
    let original = std::fs::read_to_string(&file).unwrap();
    // A file where the folder should be makes the temporary file impossible to create even as
    // root: the write fails and the original stays whole.
    let blocked = t.path().join("blocked");
    std::fs::create_dir_all(&blocked).unwrap();
    copy_dir(&dir, &blocked.join("Bad_Cache_Max_Age"));
    let mut perms = std::fs::metadata(blocked.join("Bad_Cache_Max_Age"))
        .unwrap()
        .permissions();
    use std::os::unix::fs::PermissionsExt;
    perms.set_mode(0o555);
    std::fs::set_permissions(blocked.join("Bad_Cache_Max_Age"), perms).unwrap();
    let out = run(&blocked, &["check", "--fix", "Bad_Cache_Max_Age"]);
    let is_root = std::env::var("USER").map(|u| u == "root").unwrap_or(false) || unsafe_is_root();
    if !is_root {
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
}

fn unsafe_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn noqa_select_and_ignore() {
    let t = tempfile::tempdir().unwrap();
    let udf = "from typing import Union\n@fused.udf\ndef udf(a: Union[int, float] = 1,  # noqa: FUSED020\n        b=2, c=3):\n    pass\n";
    write_package(t.path(), &[("Pkg.py", udf.as_bytes())]);
    assert_eq!(
        codes(&run(t.path(), &["check", "--format", "json", "Pkg"])),
        ["FUSED023", "FUSED023"]
    );
    assert!(codes(&run(
        t.path(),
        &["check", "--format", "json", "--ignore", "FUSED023", "Pkg"]
    ))
    .is_empty());
    assert!(codes(&run(
        t.path(),
        &["check", "--format", "json", "--select", "FUSED04", "Pkg"]
    ))
    .is_empty());
}

#[test]
fn pre_commit_style_file_arguments_check_their_package() {
    let root = repo_root();
    let out = run(
        &root,
        &[
            "check",
            "--format",
            "json",
            "fixtures/broken/Bad_Engine/Bad_Engine.py",
            "fixtures/broken/Bad_Engine/meta.json",
        ],
    );
    let j = json(&out);
    assert_eq!(j.len(), 1, "the package is checked once: {j:?}");
    assert_eq!(j[0]["path"], "fixtures/broken/Bad_Engine/Bad_Engine.py");
    let hooks = std::fs::read_to_string(root.join(".pre-commit-hooks.yaml")).unwrap();
    assert!(hooks.contains("entry: fused-ls check") && hooks.contains("id: fused-ls-check"));
}

#[test]
fn rules_and_rule_commands() {
    let root = repo_root();
    let list = stdout(&run(&root, &["rules"]));
    for r in fused_core::Rule::ALL {
        assert!(list.contains(r.code()) && list.contains(r.name()));
    }
    let doc = run(&root, &["rule", "FUSED021"]);
    assert!(stdout(&doc).contains("from __future__ import annotations"));
    assert_eq!(
        run(&root, &["rule", "invalid-engine"]).status.code(),
        Some(0)
    );
    let bad = run(&root, &["rule", "FUSED999"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        stdout(&run(&root, &["rules", "--markdown"])),
        std::fs::read_to_string(root.join("docs/rules.md")).unwrap()
    );
}

/// `fused-ls run ... | head -c 10`: the closed pipe ends the command quietly (no panic
/// message), once the run is over.
#[test]
fn a_closed_stdout_pipe_is_not_a_panic() {
    use std::io::Read;
    // A run whose JSON result is far more than a pipe holds (the runner's stand-in `fused`
    // needs no package: any python3 runs it).
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("big.py"),
        "@fused.udf\ndef udf(n: int = 1):\n    return [\"x\" * 100 for _ in range(5000)]\n",
    )
    .unwrap();
    let mut child = bin()
        .args(["run", "big.py", "--format", "json", "--python", "python3"])
        .current_dir(t.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read a little, then close our end, as `head -c 10` does.
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    // Killed by SIGPIPE (as `cat` is), or done before it noticed.
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.signal() == Some(libc::SIGPIPE) || status.code().is_some(),
        "{status:?}"
    );
}
