//! End-to-end tests of configuration files and the ruff-like flags of `fused-ls check`
//! (issue 15), on the built binary: the closest file wins, exclude, per-file-ignores (with
//! `--fix`), configuration errors, `--show-settings`, and every new flag.

mod common;
use common::*;
use std::path::Path;

/// FUSED020 (a Union without str) on line 3 and FUSED023 (`b=2`, unannotated).
const TWO_FINDINGS: &str =
    "from typing import Union\n@fused.udf\ndef udf(a: Union[int, float] = 1, b=2):\n    pass\n";

/// A package `Pkg` under `root/sub` whose UDF has [`TWO_FINDINGS`].
fn pkg_in(root: &Path, sub: &str) {
    let dir = root.join(sub);
    std::fs::create_dir_all(&dir).unwrap();
    write_package(&dir, &[("Pkg.py", TWO_FINDINGS.as_bytes())]);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `(path, code)` of each diagnostic of `check --format json` with `args`, in `cwd`.
fn found(cwd: &Path, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(cwd, &all);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect()
}

#[test]
fn the_closest_configuration_file_wins() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    write(
        &root.join("pyproject.toml"),
        "[project]\nname = \"udfs\"\n\n[tool.fused-ls]\nignore = [\"FUSED023\"]\n",
    );
    pkg_in(root, "a");
    // A pyproject.toml without [tool.fused-ls] is not a configuration: the root's applies.
    pkg_in(root, "b");
    write(&root.join("b/pyproject.toml"), "[project]\nname = \"b\"\n");
    // fused-ls.toml beats a pyproject.toml in the same folder, and the root's.
    pkg_in(root, "c");
    write(&root.join("c/fused-ls.toml"), "ignore = [\"FUSED020\"]\n");
    write(
        &root.join("c/pyproject.toml"),
        "[tool.fused-ls]\nignore = [\"FUSED023\"]\n",
    );
    // .fused-ls.toml beats fused-ls.toml.
    pkg_in(root, "d");
    write(&root.join("d/fused-ls.toml"), "ignore = [\"FUSED020\"]\n");
    write(&root.join("d/.fused-ls.toml"), "select = [\"FUSED05\"]\n");
    assert_eq!(
        found(root, &["."]),
        pairs(&[
            ("./a/Pkg/Pkg.py", "FUSED020"),
            ("./b/Pkg/Pkg.py", "FUSED020"),
            ("./c/Pkg/Pkg.py", "FUSED023"),
        ])
    );
    // The same settings when checking from inside a folder, or naming a file.
    assert_eq!(
        found(&root.join("c"), &["Pkg/Pkg.py"]),
        pairs(&[("Pkg/Pkg.py", "FUSED023")])
    );
    // The command line's --select starts afresh (the file's ignore no longer counts)...
    assert_eq!(
        found(root, &["--select", "FUSED023", "a"]),
        pairs(&[("a/Pkg/Pkg.py", "FUSED023")])
    );
    // ...its --ignore adds to the file's...
    assert!(found(root, &["--ignore", "FUSED020", "a"]).is_empty());
    // ...and --extend-select adds to the file's select.
    write(&root.join("e/fused-ls.toml"), "select = [\"FUSED020\"]\n");
    pkg_in(root, "e");
    assert_eq!(found(root, &["e"]), pairs(&[("e/Pkg/Pkg.py", "FUSED020")]));
    assert_eq!(
        found(root, &["--extend-select", "FUSED023", "e"]),
        pairs(&[("e/Pkg/Pkg.py", "FUSED020"), ("e/Pkg/Pkg.py", "FUSED023")])
    );
}

#[test]
fn exclude_prunes_discovery_but_named_paths_are_checked_unless_forced() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    write(
        &root.join("fused-ls.toml"),
        "exclude = [\"scratch/**\", \"*_old.py\"]\n",
    );
    pkg_in(root, "keep");
    pkg_in(root, "scratch");
    write(&root.join("loose/tile_old.py"), TWO_FINDINGS);
    let all = found(root, &["."]);
    assert!(
        all.iter().all(|(p, _)| p.starts_with("./keep/")) && all.len() == 2,
        "{all:?}"
    );
    // Named on the command line: checked, as ruff does...
    assert_eq!(found(root, &["scratch/Pkg"]).len(), 2);
    assert_eq!(found(root, &["loose/tile_old.py"]).len(), 2);
    // ...unless --force-exclude (pre-commit names every staged file).
    assert!(found(root, &["--force-exclude", "scratch/Pkg/Pkg.py"]).is_empty());
    assert!(found(root, &["--force-exclude", "loose/tile_old.py"]).is_empty());
    assert_eq!(
        found(root, &["--force-exclude", "keep/Pkg/Pkg.py"]).len(),
        2
    );
}

#[test]
fn per_file_ignores_apply_per_file_and_gate_fix() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let fixture = repo_root().join("fixtures/broken/Bad_Cache_Max_Age");
    copy_dir(&fixture, &root.join("legacy/Bad_Cache_Max_Age"));
    copy_dir(&fixture, &root.join("new/Bad_Cache_Max_Age"));
    write(
        &root.join("pyproject.toml"),
        "[tool.fused-ls]\n[tool.fused-ls.per-file-ignores]\n\"legacy/**\" = [\"FUSED041\"]\n",
    );
    let codes_in = |dir: &str| -> Vec<String> {
        found(root, &[dir])
            .into_iter()
            .map(|(_, c)| c)
            .collect::<Vec<_>>()
    };
    assert!(!codes_in("legacy").contains(&"FUSED041".to_string()));
    assert!(codes_in("new").contains(&"FUSED041".to_string()));
    let file = |d: &str| root.join(d).join("Bad_Cache_Max_Age/Bad_Cache_Max_Age.py");
    let legacy_before = std::fs::read_to_string(file("legacy")).unwrap();
    let out = run(root, &["check", "--fix", "."]);
    assert!(
        stdout(&out).contains("Fixed 1 problem."),
        "{}",
        stdout(&out)
    );
    // The ignored rule's fix was not applied; the other file's was.
    assert_eq!(
        std::fs::read_to_string(file("legacy")).unwrap(),
        legacy_before
    );
    assert!(std::fs::read_to_string(file("new"))
        .unwrap()
        .contains("cache_max_age=\"10m\""));
}

/// `check` in a folder holding `name` with `text`: exit 2, nothing checked, the error on stderr.
fn config_error(name: &str, text: &str) -> String {
    let t = tempfile::tempdir().unwrap();
    write(&t.path().join(name), text);
    pkg_in(t.path(), "x");
    let out = run(t.path(), &["check", "."]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "",
        "nothing is checked with a broken configuration"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_configuration_error_exits_2_naming_file_line_column_and_key() {
    let e = config_error("fused-ls.toml", "select = []\n\nignored = [\"FUSED023\"]\n");
    assert!(
        e.contains("fused-ls.toml:3:1: `ignored`: unknown field"),
        "{e}"
    );
    let e = config_error(
        "pyproject.toml",
        "[project]\nname = \"x\"\n[tool.fused-ls]\nignore = \"FUSED023\"\n",
    );
    assert!(
        e.contains("pyproject.toml:4:") && e.contains("`ignore`"),
        "{e}"
    );
    let e = config_error("fused-ls.toml", "run-timeout = \"30\"\n");
    assert!(
        e.contains("fused-ls.toml:1:") && e.contains("`run-timeout`"),
        "{e}"
    );
    let e = config_error(".fused-ls.toml", "\nignore = [\"FUSED999\"]\n");
    assert!(
        e.contains(".fused-ls.toml:2:1: `ignore`") && e.contains("FUSED999"),
        "{e}"
    );
    let e = config_error("fused-ls.toml", "exclude = [\"a/[\"]\n");
    assert!(
        e.contains("fused-ls.toml:1:12: `exclude`: `a/[` is not a glob"),
        "{e}"
    );
    let e = config_error("fused-ls.toml", "ignore = [\n");
    assert!(e.contains("fused-ls.toml:"), "{e}");
    // --show-settings and run read the same file and fail the same way.
    let t = tempfile::tempdir().unwrap();
    write(&t.path().join("fused-ls.toml"), "selct = []\n");
    pkg_in(t.path(), "x");
    for args in [
        &["check", "--show-settings", "x/Pkg"][..],
        &["run", "x/Pkg", "--python", "/nonexistent/python3"],
    ] {
        let out = run(t.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains("fused-ls.toml:1:1: `selct`"), "{args:?}: {e}");
    }
}

#[test]
fn show_settings_says_where_each_setting_comes_from() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    write(
        &root.join("fused-ls.toml"),
        "select = [\"FUSED02\"]\nignore = [\"FUSED023\"]\nexclude = [\"scratch/**\"]\npython = \".venv/bin/python\"\nrun-timeout = 30\n[per-file-ignores]\n\"legacy/**\" = [\"FUSED020\"]\n",
    );
    pkg_in(root, "legacy");
    let cfg = root.join("fused-ls.toml").canonicalize().unwrap();
    let cfg = cfg.to_str().unwrap();
    let out = run(root, &["check", "--show-settings", "legacy/Pkg/Pkg.py"]);
    assert_eq!(out.status.code(), Some(0));
    let s = stdout(&out);
    for line in [
        format!("# configuration file: {cfg}"),
        format!("select = [\"FUSED02\"]  # {cfg}"),
        format!("ignore = [\"FUSED023\"]  # {cfg}"),
        format!(
            "per-file-ignores = {{ \"legacy/**\" = [\"FUSED020\"] }}  # {cfg}; for this path: [\"FUSED020\"]"
        ),
        format!("exclude = [\"scratch/**\"]  # {cfg}; this path is not excluded"),
        format!(
            "python = \"{}\"",
            root.canonicalize().unwrap().join(".venv/bin/python").display()
        ),
        format!("run-timeout = 30  # {cfg}"),
        // FUSED02x less FUSED020 (this file) and FUSED023.
        "# rules enabled (5 of".to_string(),
    ] {
        assert!(s.contains(&line), "missing {line:?} in:\n{s}");
    }
    // The command line, and the defaults without a file.
    let out = run(
        root,
        &[
            "check",
            "--show-settings",
            "--select",
            "FUSED04",
            "--ignore",
            "FUSED041",
            ".",
        ],
    );
    let s = stdout(&out);
    assert!(
        s.contains("select = [\"FUSED04\"]  # command line (--select)"),
        "{s}"
    );
    assert!(
        s.contains("ignore = [\"FUSED041\"]  # command line (--ignore)"),
        "{s}"
    );
    assert!(
        !s.contains("FUSED023"),
        "the file's ignore no longer counts: {s}"
    );
    let bare = tempfile::tempdir().unwrap();
    let s = stdout(&run(bare.path(), &["check", "--show-settings"]));
    assert!(s.contains("# configuration file: none found"), "{s}");
    assert!(s.contains("select = []  # default: every rule"), "{s}");
    assert!(s.contains("run-timeout = 120  # default"), "{s}");
}

#[test]
fn exit_zero_quiet_statistics_and_the_fix_marker() {
    let root = repo_root();
    let engine = "fixtures/broken/Bad_Engine";
    assert_eq!(run(&root, &["check", engine]).status.code(), Some(1));
    let out = run(&root, &["check", "--exit-zero", engine]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("FUSED042"));
    // --quiet: the diagnostics, no summary.
    let s = stdout(&run(&root, &["check", "--quiet", engine]));
    assert!(s.contains("FUSED042") && !s.contains("Found"), "{s}");
    let s = stdout(&run(&root, &["check", "-q", "fixtures/clean"]));
    assert_eq!(s, "");
    // [*] on what --fix would fix: a safe fix, or an unsafe one with --unsafe-fixes.
    let two = [
        "fixtures/broken/Bad_Cache_Max_Age",
        "fixtures/broken/Bbox_Receiver",
    ];
    let s = stdout(&run(&root, &["check", two[0], two[1]]));
    let line = |code: &str| s.lines().find(|l| l.contains(code)).unwrap().to_string();
    assert!(line("FUSED041").contains("FUSED041 [error] [*] "), "{s}");
    assert!(!line("FUSED030").contains("[*]"), "{s}");
    assert!(
        s.contains("[*] 1 fixable with `fused-ls check --fix`."),
        "{s}"
    );
    assert!(s.contains("1 more fixable with `--unsafe-fixes`"), "{s}");
    let s = stdout(&run(&root, &["check", "--unsafe-fixes", two[0], two[1]]));
    assert!(
        s.lines().any(|l| l.contains("FUSED030 [warning] [*] ")),
        "{s}"
    );
    // --statistics: count, code, [*] when fixable, name; most frequent first.
    let t = tempfile::tempdir().unwrap();
    write_package(
        t.path(),
        &[(
            "Pkg.py",
            b"@fused.udf\ndef udf(a=1, b=2, instance_type=3):\n    pass\n",
        )],
    );
    write_package(
        &t.path().join("more"),
        &[(
            "Pkg.py",
            b"@fused.udf(cache_max_age=\"10 minutes\")\ndef udf(a=1):\n    pass\n",
        )],
    );
    let out = run(t.path(), &["check", "--statistics", "."]);
    let s = stdout(&out);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "4\tFUSED023\t[ ] unannotated-parameter", "{s}");
    assert!(
        lines.contains(&"1\tFUSED041\t[*] invalid-cache-max-age"),
        "{s}"
    );
    assert_eq!(out.status.code(), Some(1), "errors still fail the check");
    let j = json(&run(
        t.path(),
        &["check", "--statistics", "--format", "json", "."],
    ));
    assert_eq!(j[0]["code"], "FUSED023");
    assert_eq!(j[0]["count"], 4);
    assert_eq!(j[0]["fixable"], false);
    assert_eq!(j[0]["name"], "unannotated-parameter");
}

#[test]
fn json_fix_and_url_and_sarif_help_uri() {
    let root = repo_root();
    let out = run(
        &root,
        &[
            "check",
            "--format",
            "json",
            "fixtures/broken/Bad_Cache_Max_Age",
        ],
    );
    let j = json(&out);
    let d = j.iter().find(|d| d["code"] == "FUSED041").unwrap();
    assert_eq!(d["url"], fused_core::Rule::InvalidCacheMaxAge.doc_url());
    assert!(d["url"]
        .as_str()
        .unwrap()
        .ends_with("docs/rules.md#fused041-invalid-cache-max-age"));
    let fix = &d["fix"];
    assert_eq!(fix["applicability"], "safe");
    let e = &fix["edits"][0];
    assert_eq!(e["new_text"], "\"10m\"");
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64()),
        (Some(4), Some(26))
    );
    assert_eq!(e["end_column"], 38);
    // The rules document has the heading the URL's anchor names.
    let doc = std::fs::read_to_string(root.join("docs/rules.md")).unwrap();
    assert!(doc.contains("(#fused041-invalid-cache-max-age)"));
    let sarif: serde_json::Value = serde_json::from_slice(
        &run(
            &root,
            &["check", "--format", "sarif", "fixtures/broken/Bad_Engine"],
        )
        .stdout,
    )
    .unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for (r, rule) in rules.iter().zip(fused_core::Rule::ALL) {
        assert_eq!(r["helpUri"], rule.doc_url());
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&repo_root(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let s = stdout(&out);
        assert!(
            s.contains("fused-ls") && s.contains("show-settings") && s.contains("extend-select"),
            "{shell}: {s}"
        );
    }
    assert_eq!(
        run(&repo_root(), &["completions", "tcsh"]).status.code(),
        Some(2)
    );
}

#[test]
fn watch_checks_again_when_a_file_changes() {
    use std::io::{BufRead, BufReader};
    let t = tempfile::tempdir().unwrap();
    let dir = write_package(t.path(), &[]);
    /// Kills the watcher however the test ends (it never exits by itself).
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Killed(
        bin()
            .args(["check", "--watch", "Pkg"])
            .current_dir(t.path())
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut seen = Vec::new();
        while std::time::Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
                if l.contains(want) {
                    return;
                }
                seen.push(l);
            }
        }
        panic!("no {want:?} in {seen:?}");
    };
    wait_for("All checks passed!");
    // A change makes a second report, with the new finding.
    std::fs::write(
        dir.join("Pkg.py"),
        "@fused.udf(engine=\"gpu\")\ndef udf(n: int = 1):\n    return n\n",
    )
    .unwrap();
    wait_for("A file changed: checking again...");
    wait_for("FUSED042");
    // A configuration file appearing counts as a change too.
    std::fs::write(t.path().join("fused-ls.toml"), "ignore = [\"FUSED042\"]\n").unwrap();
    wait_for("A file changed: checking again...");
    wait_for("All checks passed!");
    drop(child);
}

#[test]
fn run_takes_python_and_run_timeout_from_the_configuration() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    write_package(
        root,
        &[(
            "Pkg.py",
            b"@fused.udf\ndef udf(n: int = 1):\n    import time\n    time.sleep(60)\n    return n\n",
        )],
    );
    // The interpreter itself, not a shim (pyenv's shims dispatch on their own name).
    let real = String::from_utf8(
        std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::fs::create_dir(root.join("bin")).unwrap();
    std::os::unix::fs::symlink(real.trim(), root.join("bin/py")).unwrap();
    write(
        &root.join("fused-ls.toml"),
        "python = \"bin/py\"\nrun-timeout = 1.5\n",
    );
    let started = std::time::Instant::now();
    // From another folder: `python` is relative to the configuration file, not the cwd.
    let out = run(&root.join("Pkg"), &["run", "--format", "json", "."]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(r["error"]["class"], "Timeout", "{r}");
    assert!(started.elapsed().as_secs() < 30);
    let python = r["python"].as_str().unwrap();
    assert!(
        python.ends_with("/bin/py") && Path::new(python).is_absolute(),
        "{python}"
    );
    // The flags win over the file.
    let out = run(root, &["run", "Pkg", "--python", "/nonexistent/python3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`/nonexistent/python3` was not found"));
}
