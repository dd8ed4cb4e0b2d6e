//! Helpers for end-to-end tests that run the built `fused-ls` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fused-ls"))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../..")
        .canonicalize()
        .unwrap()
}

/// Runs `fused-ls` with `args` in `cwd`.
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("fused-ls runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn json(o: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

pub fn codes(o: &Output) -> Vec<String> {
    json(o)
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

pub const META: &str = r#"{"version":"0.0.3","job_config":{"version":"0.0.3","steps":[{"type":"udf","udf":{"type":"geopandas_v2","name":"Pkg","entrypoint":"udf","parameters":{},"metadata":{"fused:udfType":"auto","fused:slug":"Pkg","fused:name":"Pkg"},"headers":[],"source":"Pkg.py"}}]}}"#;

pub const UDF: &str = "@fused.udf\ndef udf(n: int = 1):\n    import pandas as pd\n    return pd.DataFrame({\"n\": [n]})\n";

/// Writes a clean package `Pkg` under `root` (with the given overrides) and returns its path.
pub fn write_package(root: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = root.join("Pkg");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("meta.json"), META).unwrap();
    std::fs::write(dir.join("Pkg.py"), UDF).unwrap();
    std::fs::write(dir.join("README.md"), "# Pkg\n\nReturns a one-row table.\n").unwrap();
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    dir
}

/// Copies a folder tree, symlinks as symlinks.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let ft = entry.file_type().unwrap();
        if ft.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The Python of the SDK virtualenv (created once by tests/sdk/setup.sh).
pub fn sdk_python() -> String {
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("tests/sdk/setup.sh"))
        .output()
        .expect("setup runs");
    assert!(
        out.status.success(),
        "SDK venv setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Asserts that `v` is a list of 4 numbers each within 1e-9 of `want` (bounds).
pub fn assert_bounds(v: &serde_json::Value, want: [f64; 4]) {
    let got: Vec<f64> = v
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), 4, "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{got:?} != {want:?}");
    }
}

/// The parent of a live process (`None` once it is gone).
pub fn ppid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}
