//! `fused-ls run` end to end: the SDK's coercion table, every tile spec, and a UDF doing its
//! worst (raising, looping forever with a child process, `os._exit`, `sys.exit`, a segfault, 64 MB
//! of output, a missing import). The runner needs only the standard library.

mod common;
use common::*;
use serde_json::Value;

fn run_json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(&repo_root(), &all);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

#[test]
fn coercion_follows_the_sdk_table() {
    let (code, r) = run_json(&[
        "fixtures/run/Coercion_Table",
        "-p",
        "count= 7 ",
        "-p",
        "ratio=1e3",
        "-p",
        "enabled=FALSE",
        "-p",
        "ids=[1,2]",
        "-p",
        "options={\"a\":1}",
        "-p",
        "pair=[1,2]",
        "-p",
        "floats=[1.5]",
        "-p",
        "names={\"k\":\"v\"}",
        "-p",
        "stream=[1,2]",
        "-p",
        "token=12345678-1234-5678-1234-567812345678",
        "-p",
        "when=2024-01-31",
        "-p",
        "at=2024-01-31T10:00:00",
        "-p",
        "maybe=5",
        "-p",
        "either=5",
        "-p",
        "mode=slow",
        "-p",
        "label=42",
    ]);
    assert_eq!(code, Some(0), "{r}");
    let v = &r["result"]["value"];
    let row = |k: &str| (v[k][0].as_str().unwrap().to_string(), v[k][1].clone());
    assert_eq!(row("count"), ("int".into(), serde_json::json!(7)));
    assert_eq!(row("ratio"), ("float".into(), serde_json::json!(1000.0)));
    assert_eq!(row("enabled"), ("bool".into(), serde_json::json!(false)));
    assert_eq!(row("ids"), ("list".into(), serde_json::json!([1, 2])));
    assert_eq!(row("options"), ("dict".into(), serde_json::json!({"a": 1})));
    assert_eq!(row("pair").0, "tuple");
    assert_eq!(row("floats"), ("list".into(), serde_json::json!([1.5])));
    assert_eq!(row("names"), ("dict".into(), serde_json::json!({"k": "v"})));
    assert_eq!(
        row("stream"),
        ("str".into(), serde_json::json!("[1,2]")),
        "Iterable: not coerced by fused 2.9.5"
    );
    assert_eq!(row("token").0, "UUID");
    assert_eq!(row("when").0, "date");
    assert_eq!(row("at").0, "datetime");
    assert_eq!(row("maybe"), ("int".into(), serde_json::json!(5)));
    assert_eq!(
        row("either"),
        ("str".into(), serde_json::json!("5")),
        "a Union is left as a string"
    );
    assert_eq!(row("mode"), ("str".into(), serde_json::json!("slow")));
    assert_eq!(
        row("label"),
        ("str".into(), serde_json::json!("42")),
        "unannotated: unchanged"
    );
    assert_eq!(r["params"]["count"], " 7 ");
    // "0" and "no" are True; only "false" (any case) and "" are False.
    for (s, want) in [("0", true), ("no", true), ("False", false), ("", false)] {
        let (_, r) = run_json(&["fixtures/run/Coercion_Table", "-p", &format!("enabled={s}")]);
        assert_eq!(r["result"]["value"]["enabled"][1], want, "{s:?}");
    }
    // int("4.0") raises, naming the parameter.
    let (code, r) = run_json(&["fixtures/run/Coercion_Table", "-p", "count=4.0"]);
    assert_eq!(code, Some(1));
    assert_eq!(r["error"]["class"], "ValueError");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("'count'"),
        "{r}"
    );
}

#[test]
fn every_tile_spec_gives_the_sdk_bounds() {
    let nyc = [
        -74.0478515625,
        40.713955826286046,
        -74.00390625,
        40.74725696280421,
    ];
    let (code, r) = run_json(&["fixtures/run/Tile_Receivers", "--tile", "13/2411/3079"]);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["mode"], "tile");
    assert_bounds(&r["result"]["value"]["bounds"], nyc);
    assert_bounds(&r["bounds"], nyc);
    // The UDF's own x, y, z are not filled by a tile run.
    assert_eq!(
        (
            r["result"]["value"]["x"].as_i64(),
            r["result"]["value"]["z"].as_i64()
        ),
        (Some(-1), Some(-1))
    );
    let (_, r) = run_json(&[
        "fixtures/run/Tile_Receivers",
        "--lat",
        "37.1",
        "--lng",
        "-122.0",
        "--z",
        "13",
    ]);
    assert_bounds(
        &r["result"]["value"]["bounds"],
        [
            -122.0361328125,
            37.09023980307207,
            -121.9921875,
            37.12528628496679,
        ],
    );
    assert_eq!(
        r["tile"],
        serde_json::json!({"x": 1319, "y": 3185, "z": 13})
    );
    let (_, r) = run_json(&[
        "fixtures/run/Tile_Receivers",
        "--bbox",
        "-77.34375,38.41055,-77.167968,38.54816",
    ]);
    assert_bounds(
        &r["result"]["value"]["bounds"],
        [-77.34375, 38.41055, -77.167968, 38.54816],
    );
    let (_, r) = run_json(&["fixtures/run/Tile_Receivers", "--wkt", "POLYGON((-77.16796 38.54816, -77.16796 38.41055, -77.34375 38.41055, -77.34375 38.54816, -77.16796 38.54816))"]);
    assert_bounds(
        &r["result"]["value"]["bounds"],
        [-77.34375, 38.41055, -77.16796, 38.54816],
    );
    let t = tempfile::tempdir().unwrap();
    let gj = t.path().join("area.geojson");
    std::fs::write(&gj, r#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[-77.16796875,38.54816542304658],[-77.16796875,38.410558250946075],[-77.34375,38.410558250946075],[-77.34375,38.54816542304658],[-77.16796875,38.54816542304658]]]}}"#).unwrap();
    let (_, r) = run_json(&[
        "fixtures/run/Tile_Receivers",
        "--geojson",
        gj.to_str().unwrap(),
    ]);
    assert_bounds(
        &r["result"]["value"]["bounds"],
        [
            -77.34375,
            38.410558250946075,
            -77.16796875,
            38.54816542304658,
        ],
    );
    // Bad specs are usage errors.
    let out = run(
        &repo_root(),
        &["run", "fixtures/run/Tile_Receivers", "--tile", "13/99999/1"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_tile_receiver_follows_the_sdk_rule() {
    let t = tempfile::tempdir().unwrap();
    for (sig, receiver) in [
        ("bbox: list = None, n: int = 0", "bbox"),
        ("tile: list = None, n: int = 0", "tile"),
        ("n: int = 0, bounds: list = None", "bounds"),
    ] {
        let f = t.path().join("u.py");
        std::fs::write(
            &f,
            format!("@fused.udf\ndef udf({sig}):\n    return {receiver}\n"),
        )
        .unwrap();
        let (code, r) = run_json(&[f.to_str().unwrap(), "--tile", "0/0/0"]);
        assert_eq!(code, Some(0), "{r}");
        assert_bounds(
            &r["result"]["value"],
            [-180.0, -85.0511287798066, 180.0, 85.0511287798066],
        );
    }
}

#[test]
fn results_that_json_cannot_hold_are_still_reported() {
    let f = "fixtures/run/Failing_Udf";
    // NaN and infinities are null (JSON has none), not a dead process.
    let (code, r) = run_json(&[f, "-p", "how=nan"]);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["ok"], true);
    assert_eq!(
        r["result"]["value"],
        serde_json::json!({"mean": null, "bounds": [0.0, null, null]})
    );
    // A value with no JSON form is shown as text; a result file the UDF wrote over is named.
    let (_, r) = run_json(&[f, "-p", "how=unjsonable"]);
    assert_eq!(r["ok"], true, "{r}");
    assert!(
        r["result"]["value"]
            .as_str()
            .unwrap()
            .contains("('a', 'tuple')"),
        "{r}"
    );
    let (code, r) = run_json(&[f, "-p", "how=clobber_result"]);
    assert_eq!(code, Some(1));
    assert_eq!(r["error"]["class"], "BadResult", "{r}");
}

#[test]
fn failures_are_reported_and_the_cli_survives_them() {
    let f = "fixtures/run/Failing_Udf";
    let (code, r) = run_json(&[f, "-p", "how=raise"]);
    assert_eq!(code, Some(1));
    assert_eq!(r["error"]["class"], "ZeroDivisionError");
    assert_eq!(r["error"]["line"], 14, "the line in the UDF");
    assert!(r["stdout"].as_str().unwrap().contains("about to raise"));

    let started = std::time::Instant::now();
    let (_, r) = run_json(&[f, "-p", "how=loop", "--timeout", "1.5"]);
    assert_eq!(r["error"]["class"], "Timeout", "{r}");
    assert!(started.elapsed().as_secs() < 20);
    // The child `sleep` of the UDF was killed with the group.
    let pid: i32 = r["stdout"]
        .as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("child "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false);
    assert!(!alive, "the UDF's child process outlived the run");

    let (_, r) = run_json(&[f, "-p", "how=exit"]);
    assert_eq!(r["error"]["class"], "ProcessDied");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exited with code 3"),
        "{r}"
    );
    let (_, r) = run_json(&[f, "-p", "how=segfault"]);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("signal 11"),
        "{r}"
    );
    let (_, r) = run_json(&[f, "-p", "how=sys_exit"]);
    assert_eq!(r["error"]["class"], "SystemExit");
    let (code, r) = run_json(&[f, "-p", "how=flood"]);
    assert_eq!(code, Some(0));
    let out = r["stdout"].as_str().unwrap();
    assert!(
        out.len() < 2 << 20 && out.contains("output truncated"),
        "{}",
        out.len()
    );
    let (_, r) = run_json(&[f, "-p", "how=import"]);
    assert_eq!(r["error"]["class"], "ModuleNotFoundError");
    assert!(
        r["error"]["hint"]
            .as_str()
            .unwrap()
            .ends_with("-m pip install a_module_nobody_installed"),
        "{r}"
    );
}

#[test]
fn fused_load_works_offline_for_local_packages_and_says_why_not_for_github() {
    let (code, r) = run_json(&["fixtures/run/Failing_Udf", "-p", "how=load_local"]);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(
        r["result"]["value"]["bounds"],
        serde_json::json!([0, 0, 1, 1])
    );
    let (_, r) = run_json(&["fixtures/run/Failing_Udf", "-p", "how=load_github"]);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("runner is offline"),
        "{r}"
    );
}

#[test]
fn zips_run_and_a_missing_interpreter_is_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let zip = t.path().join("tiles.zip");
    let pack = run(
        &repo_root(),
        &[
            "pack",
            "fixtures/run/Tile_Receivers",
            "-o",
            zip.to_str().unwrap(),
            "--force",
        ],
    );
    assert_eq!(
        pack.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&pack.stderr)
    );
    let (code, r) = run_json(&[zip.to_str().unwrap(), "--tile", "13/2411/3079"]);
    assert_eq!(code, Some(0), "{r}");
    let out = run(
        &repo_root(),
        &[
            "run",
            "fixtures/run/Tile_Receivers",
            "--python",
            "/nonexistent/python3",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`/nonexistent/python3` was not found"));
}

/// A package `Pkg` in a fresh temp folder whose UDF is `src`, plus `extra` files.
fn package(src: &str, extra: &[(&str, &[u8])]) -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let mut files: Vec<(&str, &[u8])> = vec![("Pkg.py", src.as_bytes())];
    files.extend_from_slice(extra);
    let dir = write_package(t.path(), &files);
    (t, dir)
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_udf_the_sdk_would_refuse_is_checked_first_and_not_run() {
    let t = tempfile::tempdir().unwrap();
    let marker = t.path().join("ran");
    let src = format!(
        "@fused.udf(engine=\"gpu\")\ndef udf(n: int = 1):\n    open({:?}, \"w\").write(\"x\")\n    return n\n",
        marker.to_str().unwrap()
    );
    write_package(t.path(), &[("Pkg.py", src.as_bytes())]);

    let out = run(t.path(), &["run", "--format", "json", "Pkg"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"]["class"], "CheckFailed", "{r}");
    assert_eq!(r["result"], Value::Null);
    // The same records `check --format json` prints, its errors only.
    let check = run(t.path(), &["check", "--format", "json", "Pkg"]);
    let errors: Vec<Value> = json(&check)
        .into_iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert!(errors.iter().any(|d| d["code"] == "FUSED042"), "{errors:?}");
    assert_eq!(r["error"]["diagnostics"], Value::Array(errors));
    assert!(!marker.exists(), "the UDF ran");

    let out = run(t.path(), &["run", "Pkg"]);
    assert_eq!(out.status.code(), Some(1));
    let human = stdout(&out);
    assert!(
        human.contains("Pkg/Pkg.py:1:") && human.contains("FUSED042"),
        "{human}"
    );
    assert!(
        human.contains("not run") && human.contains("--no-check"),
        "{human}"
    );
    assert!(!marker.exists(), "the UDF ran");

    // --no-check runs it anyway.
    let out = run(t.path(), &["run", "--format", "json", "--no-check", "Pkg"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert!(marker.exists());
}

#[test]
fn warnings_do_not_block_a_run() {
    let (t, _) = package(
        "@fused.udf(instance_type=\"small\")\ndef udf(n: int = 1):\n    return n * 2\n",
        &[],
    );
    let check = run(t.path(), &["check", "--format", "json", "Pkg"]);
    assert_eq!(check.status.code(), Some(0));
    assert!(codes(&check).contains(&"FUSED043".to_string()), "a warning");
    let out = run(t.path(), &["run", "--format", "json", "Pkg", "-p", "n=4"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_eq!(r["result"]["value"], 8);
}

#[test]
fn a_missing_package_module_is_not_a_pip_install() {
    let meta = common::META.replace(
        "\"headers\":[]",
        "\"headers\":[{\"module_name\":\"utils\",\"source_file\":\"utils.py\"}]",
    );
    let (t, _) = package(
        "@fused.udf\ndef udf():\n    from utils import helper\n    return helper()\n",
        &[("meta.json", meta.as_bytes())],
    );
    let out = run(t.path(), &["run", "--format", "json", "--no-check", "Pkg"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["error"]["class"], "ModuleNotFoundError", "{r}");
    let hint = r["error"]["hint"].as_str().unwrap();
    assert!(!hint.contains("pip install"), "{hint}");
    assert!(
        hint.contains("`utils.py`") && hint.contains("missing"),
        "{hint}"
    );
    // A module that is not the package's still gets the pip hint (see
    // failures_are_reported_and_the_cli_survives_them).
}

#[test]
fn unknown_parameters_are_a_usage_error_before_python_starts() {
    let (t, _) = package(
        "@fused.udf\ndef udf(year: int = 2020, region: str = \"us\"):\n    return year\n",
        &[],
    );
    // A missing interpreter would be reported if Python were started: it must not be.
    let out = run(
        t.path(),
        &[
            "run",
            "Pkg",
            "-p",
            "yaer=2021",
            "--python",
            "/nonexistent/python3",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("no parameter `yaer`"), "{e}");
    assert!(e.contains("did you mean `year`"), "{e}");
    assert!(e.contains("`year`, `region`"), "{e}");
    assert!(!e.contains("not found"), "{e}");

    // **kwargs takes any name.
    let (t, _) = package(
        "@fused.udf\ndef udf(year: int = 2020, **kwargs):\n    return sorted(kwargs)\n",
        &[],
    );
    let out = run(
        t.path(),
        &["run", "--format", "json", "Pkg", "-p", "other=1"],
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_eq!(r["result"]["value"], serde_json::json!(["other"]));
}

#[test]
fn outputs_are_checked_before_the_run_and_never_overwrite_inputs() {
    let (t, dir) = package(
        "@fused.udf\ndef udf():\n    import pandas as pd\n    return pd.DataFrame({\"a\": [1]})\n",
        &[("data.csv", b"a\n5\n")],
    );
    let meta_before = std::fs::read(dir.join("meta.json")).unwrap();
    let bad = "/nonexistent/python3";
    for (o, says) in [
        ("out.txt", "must end in .geojson, .parquet or .csv"),
        ("out.json", "--format json"),
        ("Pkg/meta.json", "--format json"),
        ("Pkg/data.csv", "would overwrite"),
    ] {
        let out = run(t.path(), &["run", "Pkg", "-o", o, "--python", bad]);
        assert_eq!(out.status.code(), Some(2), "{o}");
        assert!(stderr(&out).contains(says), "{o}: {}", stderr(&out));
    }
    // A hard link or a symlink to a package file is the same file.
    std::fs::hard_link(dir.join("data.csv"), t.path().join("linked.csv")).unwrap();
    std::os::unix::fs::symlink(dir.join("data.csv"), t.path().join("sym.csv")).unwrap();
    for o in ["linked.csv", "sym.csv"] {
        let out = run(t.path(), &["run", "Pkg", "-o", o, "--python", bad]);
        assert_eq!(out.status.code(), Some(2), "{o}");
        assert!(stderr(&out).contains("would overwrite"), "{}", stderr(&out));
    }
    // A --geojson input.
    std::fs::write(
        t.path().join("area.geojson"),
        r#"{"type":"Point","coordinates":[1,2]}"#,
    )
    .unwrap();
    let out = run(
        t.path(),
        &[
            "run",
            "Pkg",
            "--geojson",
            "area.geojson",
            "-o",
            "area.geojson",
            "--python",
            bad,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("would overwrite"), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.join("meta.json")).unwrap(), meta_before);
    assert_eq!(std::fs::read(dir.join("data.csv")).unwrap(), b"a\n5\n");
    // A loose file's folder is not a package: an earlier output beside it may be replaced.
    std::fs::write(t.path().join("loose.py"), common::UDF).unwrap();
    std::fs::write(t.path().join("old.csv"), "n\n1\n").unwrap();
    let out = run(
        t.path(),
        &["run", "loose.py", "-o", "old.csv", "--python", bad],
    );
    assert!(
        !stderr(&out).contains("would overwrite"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("was not found"), "{}", stderr(&out));
}

#[test]
fn a_helper_file_without_a_udf_says_so() {
    let (t, _) = package(
        common::UDF,
        &[("utils.py", b"def helper():\n    return 1\n")],
    );
    let out = run(t.path(), &["run", "Pkg/utils.py"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("holds no UDF"), "{e}");
    assert!(
        e.contains("`Pkg.py`") && e.contains("run the package folder"),
        "{e}"
    );
}

#[test]
fn a_relative_python_is_taken_from_the_current_folder() {
    let (t, _) = package("@fused.udf\ndef udf():\n    return 1\n", &[]);
    // The interpreter itself, not a shim (pyenv's shims dispatch on their own name).
    let real = String::from_utf8(
        std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::fs::create_dir(t.path().join("bin")).unwrap();
    std::os::unix::fs::symlink(real.trim(), t.path().join("bin/py")).unwrap();
    let out = run(
        t.path(),
        &["run", "--format", "json", "Pkg", "--python", "bin/py"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["python"].as_str().unwrap(),
        t.path().join("bin/py").to_str().unwrap()
    );
}

#[test]
fn human_run_output_escapes_terminal_controls() {
    let (t, _) = package(
        "@fused.udf\ndef udf():\n    print(\"\\x1b]0;pwned\\x07 é\")\n    raise ValueError(\"\\x1b[2J gone\")\n",
        &[],
    );
    let out = run(t.path(), &["run", "Pkg"]);
    assert_eq!(out.status.code(), Some(1));
    let human = stdout(&out);
    assert!(
        !human.contains('\x1b') && !human.contains('\x07'),
        "{human:?}"
    );
    assert!(
        human.contains("\\u{1b}[2J gone") && human.contains(" é"),
        "{human}"
    );
}

// ------------------------------------------------------------------ runs die with their parent

/// Every process (not a zombie) whose environment holds `marker`.
fn processes_marked(marker: &str) -> Vec<u32> {
    let needle = marker.as_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| {
                    s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(true);
            !zombie
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

/// Waits up to `secs` for no process to carry `marker`; the ones left otherwise.
fn none_left(marker: &str, secs: u64) -> Vec<u32> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = processes_marked(marker);
        if left.is_empty() || std::time::Instant::now() > until {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The fused-ls temp folders in `tmp`.
fn temp_folders(tmp: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(|e| {
            let n = e.ok()?.file_name().to_string_lossy().into_owned();
            n.starts_with("fused-ls-").then_some(n)
        })
        .collect()
}

/// A UDF that starts a child process (in its group), writes `started`, then loops forever.
fn looping_udf(dir: &std::path::Path) -> std::path::PathBuf {
    let f = dir.join("looping.py");
    std::fs::write(
        &f,
        format!(
            "import subprocess, time\n\n@fused.udf\ndef udf():\n    subprocess.Popen(['sleep', '1000'])\n    open({:?}, 'w').write('go')\n    while True:\n        time.sleep(0.01)\n",
            dir.join("started").to_str().unwrap()
        ),
    )
    .unwrap();
    f
}

fn wait_for_file(f: &std::path::Path) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !f.exists() {
        assert!(std::time::Instant::now() < until, "the UDF never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn killing_fused_ls_run_kills_the_run_and_removes_its_folder() {
    for signal in ["KILL", "INT", "TERM", "HUP"] {
        let t = tempfile::tempdir().unwrap();
        let tmp = t.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let udf = looping_udf(t.path());
        let marker = format!("FUSED_LS_TEST_MARK={}-{signal}", std::process::id());
        let (key, value) = marker.split_once('=').unwrap();
        let mut child = bin()
            .args(["run", "--format", "json", udf.to_str().unwrap()])
            .env(key, value)
            .env("TMPDIR", &tmp)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for_file(&t.path().join("started"));
        assert!(
            processes_marked(&marker).len() >= 3,
            "fused-ls, the runner, the UDF, sleep"
        );
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let started = std::time::Instant::now();
        let exit = child.wait().unwrap();
        assert!(
            started.elapsed().as_secs() < 10,
            "SIG{signal}: fused-ls took {:?}",
            started.elapsed()
        );
        if signal != "KILL" {
            assert_eq!(
                exit.code(),
                Some(
                    128 + if signal == "INT" {
                        2
                    } else if signal == "TERM" {
                        15
                    } else {
                        1
                    }
                ),
                "SIG{signal}"
            );
        }
        let left = none_left(&marker, 5);
        assert!(left.is_empty(), "SIG{signal}: left running: {left:?}");
        assert_eq!(temp_folders(&tmp), Vec::<String>::new(), "SIG{signal}");
    }
}

fn frame(v: &Value) -> Vec<u8> {
    let body = v.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// `kill -9` of the language server in the middle of a run on its warm worker: the UDF, the
/// worker and the worker's waiting child all end, and their folders are removed.
#[test]
fn killing_the_server_mid_run_leaves_nothing_running() {
    use std::io::Write;
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let udf = looping_udf(t.path());
    let marker = format!("FUSED_LS_TEST_MARK={}-server", std::process::id());
    let (key, value) = marker.split_once('=').unwrap();
    let mut server = bin()
        .arg("server")
        .env(key, value)
        .env("TMPDIR", &tmp)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut input = server.stdin.take().unwrap();
    let output = server.stdout.take().unwrap();
    // Frames from the server, as bodies (the requests below wait for `initialize`'s reply).
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::{BufRead, Read};
        let mut r = std::io::BufReader::new(output);
        loop {
            let mut len = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                match line.trim_end().strip_prefix("Content-Length: ") {
                    Some(n) => len = n.parse().unwrap(),
                    None if line.trim_end().is_empty() => break,
                    None => {}
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err()
                || tx
                    .send(String::from_utf8_lossy(&body).into_owned())
                    .is_err()
            {
                return;
            }
        }
    });
    let uri = format!("file://{}", udf.to_str().unwrap());
    input
        .write_all(&frame(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": null, "rootUri": null, "capabilities": {}}})))
        .unwrap();
    input.flush().unwrap();
    while !rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap()
        .contains("\"id\":1")
    {}
    for msg in [
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand", "params": {"command": "fused.run", "arguments": [{"uri": uri}], "workDoneToken": "run-1"}}),
    ] {
        input.write_all(&frame(&msg)).unwrap();
    }
    input.flush().unwrap();
    wait_for_file(&t.path().join("started"));
    // The server, the worker, its spare child, the run's child, the UDF's `sleep`.
    let before = processes_marked(&marker);
    assert!(before.len() >= 5, "{before:?}");
    server.kill().unwrap();
    server.wait().unwrap();
    let left = none_left(&marker, 5);
    assert!(left.is_empty(), "left running: {left:?} (of {before:?})");
    assert_eq!(temp_folders(&tmp), Vec::<String>::new());
    drop(input);
}

#[test]
fn stale_temp_folders_of_dead_sessions_are_removed_at_start() {
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    // A pid that cannot be alive (over the kernel's maximum), one that is (ours), and a folder
    // that is not of our naming.
    for name in [
        "fused-ls-run-4194305-abc",
        "fused-ls-worker-4194305-x",
        "fused-ls-zip-4194305-y",
    ] {
        std::fs::create_dir_all(tmp.join(name).join("inner")).unwrap();
    }
    let alive = format!("fused-ls-run-{}-abc", std::process::id());
    for name in [alive.as_str(), "fused-ls-run-notapid", "other-4194305-x"] {
        std::fs::create_dir_all(tmp.join(name)).unwrap();
    }
    let f = t.path().join("u.py");
    std::fs::write(&f, "@fused.udf\ndef udf():\n    return 1\n").unwrap();
    let out = bin()
        .args(["run", f.to_str().unwrap()])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut left = temp_folders(&tmp);
    left.sort();
    assert_eq!(left, vec![alive, "fused-ls-run-notapid".to_string()]);
    assert!(tmp.join("other-4194305-x").exists());
}

// ---------------------------------------------------------------- escaped daemons, caps, memory

const DAEMON_UDF: &str = r#"import os, time

@fused.udf
def udf(pid_file: str):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            open(pid_file, "w").write(str(os.getpid()))
            time.sleep(1000)
        os._exit(0)
    while not os.path.exists(pid_file):
        time.sleep(0.01)
    return "done"
"#;

/// True when `pid` is gone (or a zombie) within 5 s.
fn gone(pid: i32) -> bool {
    for _ in 0..100 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(s)
                if s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z') =>
            {
                return true
            }
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
    false
}

#[test]
fn a_double_forked_daemon_ends_with_the_run_which_says_so() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("daemon.py");
    std::fs::write(&f, DAEMON_UDF).unwrap();
    let pid_file = t.path().join("daemon.pid");
    // The daemon sleeps 1000 s holding the run's output pipes: a run that waited for their end
    // would hit the timeout; one that ends with the UDF's process returns ok well before.
    let started = std::time::Instant::now();
    let (code, r) = run_json(&[
        f.to_str().unwrap(),
        "--timeout",
        "20",
        "-p",
        &format!("pid_file={}", pid_file.to_str().unwrap()),
    ]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "the run took {:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["result"]["value"], "done");
    assert!(
        r["stderr"]
            .as_str()
            .unwrap()
            .contains("stopped 1 process the UDF left running"),
        "{r}"
    );
    let daemon: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(gone(daemon), "the daemon {daemon} outlived the run");
}

const BIG_UDF: &str = r#"@fused.udf
def udf(how: str):
    if how == "string":
        return "x" * (100 << 20)
    if how == "list":
        return list(range(10_000_000))
    if how == "dict":
        return {str(i): "v" * 100 for i in range(100_000)}
    if how == "allocate":
        return len(bytearray(1 << 30))
    if how == "message":
        raise ValueError("m" * (10 << 20))
    return "small"
"#;

#[test]
fn returned_values_are_capped_and_say_so() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("big.py");
    std::fs::write(&f, BIG_UDF).unwrap();
    let f = f.to_str().unwrap();
    let (code, r) = run_json(&[f, "-p", "how=string"]);
    assert_eq!(code, Some(0));
    assert_eq!(r["result"]["value"].as_str().unwrap().len(), 256 << 10);
    assert_eq!(r["result"]["truncated"], true);
    assert!(r.to_string().len() < 1 << 20);
    let (_, r) = run_json(&[f, "-p", "how=list"]);
    let items = r["result"]["value"].as_array().unwrap();
    assert!(
        !items.is_empty() && items.len() < 100_000,
        "{}",
        items.len()
    );
    assert_eq!(items[1], 1, "the leading items, in order");
    assert_eq!(r["result"]["rows"], 10_000_000);
    assert_eq!(r["result"]["truncated"], true);
    let (_, r) = run_json(&[f, "-p", "how=dict"]);
    let obj = r["result"]["value"].as_object().unwrap();
    assert!(!obj.is_empty() && obj.len() < 100_000);
    assert_eq!(r["result"]["truncated"], true);
    let (_, r) = run_json(&[f, "-p", "how=message"]);
    assert_eq!(r["error"]["class"], "ValueError");
    assert!(r.to_string().len() < 1 << 20);
    let (_, r) = run_json(&[f, "-p", "how=small"]);
    assert_eq!(r["result"]["value"], "small");
    assert!(r["result"].get("truncated").is_none(), "{r}");
}

#[test]
fn a_runaway_allocation_is_a_memory_error_under_the_limit() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("big.py");
    std::fs::write(&f, BIG_UDF).unwrap();
    let f = f.to_str().unwrap();
    let (code, r) = run_json(&[f, "-p", "how=allocate", "--memory-mib", "256"]);
    assert_eq!(code, Some(1), "{r}");
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"]["class"], "MemoryError", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("memory limit is 256 MiB"),
        "{r}"
    );
    // The same UDF without the limit allocates its GiB: the limit, not the machine, failed it.
    let (code, r) = run_json(&[f, "-p", "how=allocate", "--memory-mib", "0"]);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["result"]["value"], 1 << 30);
}

/// `--timeout` (issue 10): a huge value is clamped to a day instead of overflowing, a
/// non-positive or NaN one is a usage error (exit 2) that says what to give.
#[test]
fn timeouts_are_clamped_or_refused_with_a_clear_message() {
    let t = tempfile::tempdir().unwrap();
    // A UDF that needs nothing installed.
    let plain = "@fused.udf\ndef udf(n: int = 1):\n    return n\n";
    let pkg = write_package(t.path(), &[("Pkg.py", plain.as_bytes())]);
    let pkg = pkg.to_str().unwrap();
    let out = run(
        t.path(),
        &["run", pkg, "--timeout", "1e20", "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for bad in ["-1", "0", "nan"] {
        let out = run(t.path(), &["run", pkg, "--timeout", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--timeout") && err.contains("positive number of seconds"),
            "{err}"
        );
    }
}

/// Interpreter discovery stops at the repository, else the current folder: a `.venv` planted
/// in a shared parent never runs.
#[test]
fn a_venv_above_the_current_folder_is_never_used() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let marker = t.path().join("planted-ran");
    let bin = t.path().join(".venv/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("python"),
        format!(
            "#!/bin/sh\ntouch '{}'\nexec python3 \"$@\"\n",
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("python"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let work = t.path().join("work");
    let pkg = write_package(&work, &[]);
    let out = run(&work, &["run", pkg.to_str().unwrap(), "--format", "json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["python"], "python3", "{r}");
    assert!(!marker.exists(), "the .venv above the current folder ran");
}

/// An undecorated entrypoint is the UDF of its package (fused 2.9.5 runs it): `-p` names are
/// checked against its parameters too, before Python starts.
#[test]
fn unknown_parameters_of_an_undecorated_entrypoint_are_usage_errors() {
    let t = tempfile::tempdir().unwrap();
    let src = "import fused\n\n\ndef udf(year: int = 2020):\n    return year\n";
    write_package(t.path(), &[("Pkg.py", src.as_bytes())]);
    let out = run(
        t.path(),
        &[
            "run",
            "Pkg",
            "-p",
            "yaer=2021",
            "--python",
            "/nonexistent/python3",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("yaer") && err.contains("`year`"), "{err}");
}
