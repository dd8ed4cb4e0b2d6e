//! Running a UDF: the bundled `runner.py` (embedded in the binary, never fetched) in a separate
//! process under the user's interpreter, with a timeout, cancellation that kills the whole
//! process group, and captured output capped. Whatever the UDF does (loop forever, `os._exit`,
//! segfault, print a gigabyte), the caller gets a result JSON and goes on.

use fused_core::tile::{Bounds, Tile};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The runner, compiled into the binary.
pub const RUNNER_PY: &str = include_str!("../runner.py");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    File,
    Tile,
}

#[derive(Debug, Clone)]
pub struct RunRequest {
    pub source_path: PathBuf,
    pub entrypoint: Option<String>,
    /// The package folder: the working directory and the first import path.
    pub package_dir: Option<PathBuf>,
    /// Helper modules declared in meta.json: `(module name, file)`.
    pub headers: Vec<(String, PathBuf)>,
    pub mode: Mode,
    /// Tile mode: the bounds and the tile they came from (a bbox's tile is its center's at z).
    pub bounds: Option<Bounds>,
    pub tile: Option<Tile>,
    /// Parameters as the strings a user typed; coerced by the runner as the SDK does.
    pub params: BTreeMap<String, String>,
    pub output_path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub python: PathBuf,
    pub timeout: Duration,
    /// Bytes of stdout and of stderr kept; the rest is read and dropped.
    pub output_cap: usize,
}

/// The interpreter: the explicit one, else a `.venv`/`venv` in the package or a parent folder,
/// else `python3` on PATH.
pub fn find_python(explicit: Option<&Path>, start: &Path) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let mut dir = Some(start);
    while let Some(d) = dir {
        for venv in [".venv", "venv"] {
            let py = d.join(venv).join("bin/python");
            if py.is_file() {
                return py;
            }
        }
        dir = d.parent();
    }
    PathBuf::from("python3")
}

/// Maps an import name to the distribution to `pip install`.
fn pip_name(module: &str) -> &str {
    match module {
        "sklearn" => "scikit-learn",
        "PIL" => "pillow",
        "yaml" => "pyyaml",
        "cv2" => "opencv-python",
        "osgeo" => "gdal",
        "skimage" => "scikit-image",
        m => m,
    }
}

fn reader(
    mut r: impl Read + Send + 'static,
    cap: usize,
) -> std::thread::JoinHandle<(Vec<u8>, u64)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut total = 0u64;
        let mut buf = [0u8; 64 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n as u64;
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        (kept, total)
    })
}

fn captured(bytes: Vec<u8>, total: u64) -> String {
    let mut s = String::from_utf8_lossy(&bytes).into_owned();
    if total > bytes.len() as u64 {
        s.push_str(&format!(
            "\n[fused-ls: output truncated: {} of {} bytes shown]",
            bytes.len(),
            total
        ));
    }
    s
}

fn kill_group(pid: u32) {
    // SAFETY: killpg on the group this process created for the child; no memory is involved.
    unsafe {
        libc::killpg(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// Runs the UDF and returns the result JSON `{ok, mode, bounds, params, elapsed_ms, stdout,
/// stderr, result, error}` (plus `python`, `tile`). `Err` only when the run could not start.
pub fn run(req: &RunRequest, opts: &RunOptions, cancel: &AtomicBool) -> Result<Value, String> {
    let dir = tempfile::Builder::new()
        .prefix("fused-ls-run-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
    let runner = dir.path().join("fused_ls_runner.py");
    let request = dir.path().join("request.json");
    let result_path = dir.path().join("result.json");
    std::fs::write(&runner, RUNNER_PY).map_err(|e| format!("cannot write the runner: {e}"))?;
    let mode = match req.mode {
        Mode::File => "file",
        Mode::Tile => "tile",
    };
    let body = json!({
        "source_path": req.source_path,
        "entrypoint": req.entrypoint,
        "package_dir": req.package_dir,
        "headers": req.headers.iter().map(|(m, p)| (m.clone(), json!(p))).collect::<serde_json::Map<_, _>>(),
        "mode": mode,
        "bounds": req.bounds,
        "tile": req.tile.map(|t| json!({"x": t.x, "y": t.y, "z": t.z})),
        "params": req.params,
        "output_path": req.output_path,
    });
    std::fs::write(&request, body.to_string())
        .map_err(|e| format!("cannot write the request: {e}"))?;

    let started = Instant::now();
    let mut child = Command::new(&opts.python)
        .arg("-u")
        .arg(&runner)
        .arg(&request)
        .arg(&result_path)
        .current_dir(req.package_dir.as_deref().unwrap_or(dir.path()))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "the Python interpreter `{}` was not found; pass --python (or the `python` setting), or create a .venv in the package",
                opts.python.display()
            ),
            _ => format!("cannot start `{}`: {e}", opts.python.display()),
        })?;
    let pid = child.id();
    let out = reader(child.stdout.take().expect("piped"), opts.output_cap);
    let err = reader(child.stderr.take().expect("piped"), opts.output_cap);
    let mut stopped: Option<Value> = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break None,
        }
        if cancel.load(Ordering::SeqCst) {
            kill_group(pid);
            stopped = Some(
                json!({"class": "Cancelled", "message": "the run was cancelled", "line": null, "traceback": ""}),
            );
        } else if started.elapsed() > opts.timeout {
            kill_group(pid);
            stopped = Some(
                json!({"class": "Timeout", "message": format!("the UDF ran longer than the {} s timeout and was stopped", opts.timeout.as_secs_f64()), "line": null, "traceback": ""}),
            );
        }
        if stopped.is_some() {
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The group may hold grandchildren still writing: make sure nothing outlives the run.
    kill_group(pid);
    let (so, so_total) = out.join().unwrap_or_default();
    let (se, se_total) = err.join().unwrap_or_default();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;

    let mut result: Value = std::fs::read_to_string(&result_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| {
            let why = stopped.clone().unwrap_or_else(|| {
                let how = match status {
                    Some(s) if s.signal().is_some() => format!("was killed by signal {}", s.signal().unwrap_or(0)),
                    Some(s) => format!("exited with code {}", s.code().unwrap_or(-1)),
                    None => "ended".to_string(),
                };
                json!({"class": "ProcessDied", "message": format!("the UDF's process {how} before returning a result"), "line": null, "traceback": ""})
            });
            json!({"ok": false, "result": null, "error": why})
        });
    if let Some(stop) = stopped {
        result["ok"] = json!(false);
        result["error"] = stop;
    }
    let obj = result.as_object_mut().expect("the result is an object");
    obj.insert("mode".into(), json!(mode));
    obj.insert("bounds".into(), json!(req.bounds));
    obj.insert(
        "tile".into(),
        json!(req.tile.map(|t| json!({"x": t.x, "y": t.y, "z": t.z}))),
    );
    obj.insert("params".into(), json!(req.params));
    obj.entry("elapsed_ms").or_insert(json!(elapsed_ms));
    obj.insert("wall_ms".into(), json!(elapsed_ms));
    obj.insert("stdout".into(), json!(captured(so, so_total)));
    obj.insert("stderr".into(), json!(captured(se, se_total)));
    obj.insert("python".into(), json!(opts.python));
    if let Some(err) = obj.get_mut("error").and_then(|e| e.as_object_mut()) {
        if err.get("class").and_then(|c| c.as_str()) == Some("ModuleNotFoundError") {
            let msg = err.get("message").and_then(|m| m.as_str()).unwrap_or("");
            if let Some(module) = msg.split('\'').nth(1) {
                let top = module.split('.').next().unwrap_or(module);
                err.insert(
                    "hint".into(),
                    json!(format!(
                        "{} -m pip install {}",
                        opts.python.display(),
                        pip_name(top)
                    )),
                );
            }
        }
    }
    Ok(result)
}
