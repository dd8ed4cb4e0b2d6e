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

fn close(v: &Value, want: [f64; 4]) {
    let got: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{got:?} != {want:?}");
    }
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
    close(&r["result"]["value"]["bounds"], nyc);
    close(&r["bounds"], nyc);
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
    close(
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
    close(
        &r["result"]["value"]["bounds"],
        [-77.34375, 38.41055, -77.167968, 38.54816],
    );
    let (_, r) = run_json(&["fixtures/run/Tile_Receivers", "--wkt", "POLYGON((-77.16796 38.54816, -77.16796 38.41055, -77.34375 38.41055, -77.34375 38.54816, -77.16796 38.54816))"]);
    close(
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
    close(
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
        close(
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
