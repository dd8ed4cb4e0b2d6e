//! Running a UDF: the bundled `runner.py` (embedded in the binary, never fetched) in a separate
//! process under the user's interpreter, with a timeout, cancellation that kills the whole
//! process group, and captured output capped. Whatever the UDF does (loop forever, `os._exit`,
//! segfault, print a gigabyte), the caller gets a result JSON and goes on.
//!
//! Nothing a run starts outlives it, or fused-ls: the runner holds the read end of a pipe from
//! fused-ls (its stdin) and, on end of file (a timeout, a cancel, fused-ls gone even by
//! `kill -9`), kills the UDF and every process below it; it is a subreaper, so daemons that
//! escape into their own session are found and killed when the run ends too.

pub mod h3;
pub mod raster;

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
    /// Where to write every row of the result, in EPSG:4326, for `fused-ls serve`'s GeoJSON and
    /// vector tiles: `<path>.feat`, geometries, property columns and ids in one binary file (see
    /// the runner's `_write_features`). Nothing is written when the result is not a GeoDataFrame.
    pub features_path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub python: PathBuf,
    pub timeout: Duration,
    /// Bytes of stdout and of stderr kept; the rest is read and dropped.
    pub output_cap: usize,
    /// The run's address-space limit in bytes (`RLIMIT_AS`): a runaway allocation becomes a
    /// `MemoryError` result. `None`: no limit. See [`default_memory_limit`].
    pub memory_limit: Option<u64>,
    /// Runs of a warm worker with the same key may share a forked child (one after the other,
    /// each with a fresh UDF namespace), saving the fork and the fresh process's page faults:
    /// `fused-ls serve` sets it to the package version's hash for its tiles. `None`: a fresh
    /// child per run. A run that leaves a thread or a process behind is never followed.
    pub reuse: Option<String>,
}

/// Half of the machine's memory: generous for any UDF, yet a runaway allocation fails in the
/// run instead of taking the machine down.
pub fn default_memory_limit() -> Option<u64> {
    // SAFETY: sysconf only reads system values.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGE_SIZE),
        )
    };
    (pages > 0 && size > 0).then(|| (pages as u64).saturating_mul(size as u64) / 2)
}

/// The limit for a `--memory-mib`/`runMemoryMiB` value: the default when unset, none for 0.
pub fn memory_limit_mib(mib: Option<u64>) -> Option<u64> {
    match mib {
        Some(0) => None,
        Some(mib) => Some(mib.saturating_mul(1 << 20)),
        None => default_memory_limit(),
    }
}

/// The prefix of the temp folders of this process (`fused-ls-run-<pid>-`): the pid tells a
/// later session whether the folder's owner is still alive (see [`clean_stale_temp_dirs`]).
pub fn temp_prefix(kind: &str) -> String {
    format!("fused-ls-{kind}-{}-", std::process::id())
}

/// Removes the temp folders (`fused-ls-{run,worker,zip}-<pid>-*`) a crashed session left:
/// only ours (this user's, our naming) and only when their owner pid is gone. Once per process.
pub fn clean_stale_temp_dirs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::os::unix::fs::MetadataExt;
        let tmp = std::env::temp_dir();
        let Ok(entries) = std::fs::read_dir(&tmp) else {
            return;
        };
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = ["run", "worker", "zip"]
                .iter()
                .find_map(|k| name.strip_prefix(&format!("fused-ls-{k}-")))
            else {
                continue;
            };
            let Some(pid) = rest
                .split_once('-')
                .and_then(|(p, _)| p.parse::<u32>().ok())
            else {
                continue;
            };
            let ours = entry
                .path()
                .symlink_metadata()
                .is_ok_and(|m| m.is_dir() && m.uid() == uid);
            if ours && !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
}

/// The `udf` object of the package's meta.json in `dir`, if it reads.
pub fn package_meta(dir: &Path) -> Option<fused_core::meta::MetaUdf> {
    let text = fused_fs::read::read_text_capped(&dir.join("meta.json"), fused_fs::MAX_FILE).ok()?;
    match fused_core::meta::parse(&text) {
        fused_core::meta::MetaParse::Parsed(m) => m.udf,
        fused_core::meta::MetaParse::Invalid { .. } => None,
    }
}

/// The name a package is served and previewed under: meta.json's `name` (when it is a usable
/// path segment), else the folder's.
pub fn package_name(dir: &Path) -> String {
    package_meta(dir)
        .and_then(|m| m.name.map(|n| n.value))
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

/// A UDF's name as one URL path segment (percent-encoded beyond the unreserved characters), as
/// `serve`'s URLs and the editor's preview link name it.
pub fn url_segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A zipped package (`bytes`, read from `zip`) checked and written out to a fresh temp folder,
/// to be run from there. Only what the zip reader accepted is written: no separators, no `..`.
pub fn unpack_zip(bytes: &[u8], zip: &Path) -> Result<tempfile::TempDir, String> {
    let stem = zip
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let zp = fused_core::zip_package::read_zip(bytes, &stem, Default::default())
        .map_err(|e| format!("`{}` is not a usable package zip: {e}", zip.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(&temp_prefix("zip"))
        .tempdir()
        .map_err(|e| e.to_string())?;
    for f in &zp.package.files {
        if let Some(text) = f.content.text() {
            std::fs::write(tmp.path().join(&f.name), text).map_err(|e| e.to_string())?;
        }
    }
    Ok(tmp)
}

/// The helper modules meta.json declares whose files exist: `(module name, file)`.
pub fn header_modules(
    dir: &Path,
    meta: Option<&fused_core::meta::MetaUdf>,
) -> Vec<(String, PathBuf)> {
    let Some(meta) = meta else { return Vec::new() };
    meta.headers
        .iter()
        .filter_map(|h| {
            Some((
                h.module_name.as_ref()?.value.clone(),
                dir.join(&h.source_file.as_ref()?.value),
            ))
        })
        .filter(|(_, p)| p.is_file())
        .collect()
}

/// The interpreter: the explicit one, else a `.venv`/`venv` in `start` or a folder above it up
/// to `root` (included), else `python3` on PATH. Discovery never looks above `root`: a `.venv`
/// planted in a shared parent (`/tmp`, a home folder holding a cloned repository) is never
/// found. When `start` is not inside `root`, only `start` itself is searched.
pub fn find_python(explicit: Option<&Path>, start: &Path, root: &Path) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    discover_python(start, root).unwrap_or_else(|| PathBuf::from("python3"))
}

/// The `.venv`/`venv` interpreter [`find_python`] finds in the tree, if any.
pub fn discover_python(start: &Path, root: &Path) -> Option<PathBuf> {
    let inside = start.starts_with(root);
    let mut dir = Some(start);
    while let Some(d) = dir {
        for venv in [".venv", "venv"] {
            let py = d.join(venv).join("bin/python");
            if py.is_file() {
                return Some(py);
            }
        }
        if !inside || d == root {
            break;
        }
        dir = d.parent();
    }
    None
}

/// Where the CLI's interpreter discovery stops for a package in `package_dir`: the repository
/// holding it (the nearest folder above it with `.git`), else the current folder `cwd` when the
/// package is inside it, else the package folder itself. Both paths absolute.
pub fn cli_search_root(package_dir: &Path, cwd: &Path) -> PathBuf {
    if let Some(repo) = package_dir.ancestors().find(|d| d.join(".git").exists()) {
        return repo.to_path_buf();
    }
    if package_dir.starts_with(cwd) {
        return cwd.to_path_buf();
    }
    package_dir.to_path_buf()
}

/// The longest run timeout: larger ones (`1e20`, `u64::MAX` seconds) are clamped to it, so no
/// deadline computation can overflow.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// A run timeout from a number of seconds: positive, clamped to [`MAX_TIMEOUT`]; an error for
/// zero, a negative number or NaN.
pub fn timeout_from_secs(secs: f64) -> Result<Duration, String> {
    if secs.is_nan() || secs <= 0.0 {
        return Err(format!(
            "the run timeout must be a positive number of seconds, not {secs}"
        ));
    }
    Ok(Duration::from_secs_f64(secs.min(MAX_TIMEOUT.as_secs_f64())))
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

/// When `module` is a name the package itself provides (a header's `module_name`, or a `.py`
/// file meta.json names), what is missing: never `pip install` of an unrelated PyPI package.
fn local_module_hint(req: &RunRequest, module: &str) -> Option<String> {
    let dir = req.package_dir.as_deref()?;
    let meta = package_meta(dir);
    let headers = meta
        .as_ref()
        .map(|m| m.headers.as_slice())
        .unwrap_or_default();
    for h in headers {
        let file = h.source_file.as_ref().map(|f| f.value.as_str());
        let named = h.module_name.as_ref().map(|m| m.value.as_str());
        let stem = file.map(|f| f.strip_suffix(".py").unwrap_or(f));
        if named != Some(module) && stem != Some(module) {
            continue;
        }
        return Some(match (named, file) {
            (Some(m), Some(f)) if m != module => format!(
                "meta.json declares `{f}` as the header module `{m}`, not `{module}`: import `{m}`, or rename the header's module_name"
            ),
            (_, Some(f)) if !dir.join(f).is_file() => format!(
                "meta.json declares the header module `{module}` in `{f}`, which is missing from the package: add `{f}`, or remove the header"
            ),
            (_, Some(f)) => format!(
                "the header module `{module}` (`{f}`) is in the package but could not be imported as `{module}`"
            ),
            (_, None) => format!(
                "meta.json declares the header module `{module}` with no source_file: add the file and name it in the header"
            ),
        });
    }
    let file = format!("{module}.py");
    let main = meta
        .as_ref()
        .and_then(|m| m.source.as_ref())
        .map(|s| s.value.as_str());
    if main == Some(file.as_str()) && !dir.join(&file).is_file() {
        return Some(format!(
            "`{file}` is named by meta.json but missing from the package"
        ));
    }
    None
}

/// One of the run's output pipes, read by a thread that keeps the first `cap` bytes.
struct Capture {
    got: std::sync::Arc<std::sync::Mutex<(Vec<u8>, u64)>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Capture {
    fn start(mut r: impl Read + Send + 'static, cap: usize) -> Capture {
        let got = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), 0u64)));
        let (tx, done) = std::sync::mpsc::channel();
        let shared = got.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
                        g.1 += n as u64;
                        let room = cap.saturating_sub(g.0.len());
                        g.0.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            }
            let _ = tx.send(());
        });
        Capture { got, done }
    }

    /// What was read, once the pipe ends or `grace` passes (a process that escaped the run
    /// could hold it open: the run's end is its process's exit, never that end of file).
    fn finish(self, grace: Duration) -> String {
        let ended = self.done.recv_timeout(grace).is_ok();
        let g = self.got.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = captured(g.0.clone(), g.1);
        if !ended {
            s.push_str("\n[fused-ls: a process left by the run still holds this output open]");
        }
        s
    }
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

/// Sets the run's memory limit in the child before the interpreter starts.
fn limit_memory(cmd: &mut Command, limit: Option<u64>) {
    if let Some(bytes) = limit {
        // SAFETY: setrlimit is async-signal-safe; the closure allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                let r = libc::rlimit {
                    rlim_cur: bytes as libc::rlim_t,
                    rlim_max: bytes as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

/// Waits up to `grace` for `child` to end by itself.
fn wait_for(child: &mut std::process::Child, grace: Duration) -> bool {
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn kill_group(pid: u32) {
    // SAFETY: killpg on the group this process created for the child; no memory is involved.
    unsafe {
        libc::killpg(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// The request file's JSON body.
fn request_body(req: &RunRequest) -> Value {
    let mode = match req.mode {
        Mode::File => "file",
        Mode::Tile => "tile",
    };
    json!({
        "source_path": req.source_path,
        "entrypoint": req.entrypoint,
        "package_dir": req.package_dir,
        "headers": req.headers.iter().map(|(m, p)| (m.clone(), json!(p))).collect::<serde_json::Map<_, _>>(),
        "mode": mode,
        "bounds": req.bounds,
        "tile": req.tile.map(|t| json!({"x": t.x, "y": t.y, "z": t.z})),
        "params": req.params,
        "output_path": req.output_path,
        "features_path": req.features_path,
    })
}

/// How the run ended, as far as the caller saw it.
enum Ending {
    Exited(Option<std::process::ExitStatus>),
    /// `waitpid` status from the warm worker.
    Status(i32),
    Stopped(Value),
}

/// Builds the result JSON from what the runner wrote and how the process ended.
fn finish(
    req: &RunRequest,
    opts: &RunOptions,
    result_path: &Path,
    ending: Ending,
    out: (String, String),
    wall_ms: f64,
) -> Value {
    let mode = match req.mode {
        Mode::File => "file",
        Mode::Tile => "tile",
    };
    let stopped = match &ending {
        Ending::Stopped(v) => Some(v.clone()),
        _ => None,
    };
    // The result file as the runner wrote it; an empty or missing one means it never did.
    let written = match fused_fs::read::read_text_capped(result_path, RESULT_LIMIT) {
        Ok(t) if t.trim().is_empty() => None,
        Ok(t) => Some(match serde_json::from_str::<Value>(&t) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err("it is not a JSON object".to_string()),
            Err(e) => Err(e.to_string()),
        }),
        Err(fused_fs::read::ReadError::Io(_)) => None,
        // Replaced by a FIFO, a device or something huge: never read.
        Err(e) => Some(Err(e.to_string())),
    };
    let mut result: Value = match written {
        Some(Ok(v)) => Some(v),
        Some(Err(e)) if stopped.is_none() => Some(json!({"ok": false, "result": null, "error": {
            "class": "BadResult",
            "message": format!("the runner's result file cannot be read ({e}); did the UDF write to it?"),
            "line": null, "traceback": ""}})),
        _ => None,
    }
    .unwrap_or_else(|| {
            let why = stopped.clone().unwrap_or_else(|| {
                let how = match ending {
                    Ending::Exited(Some(s)) if s.signal().is_some() => format!("was killed by signal {}", s.signal().unwrap_or(0)),
                    Ending::Exited(Some(s)) => format!("exited with code {}", s.code().unwrap_or(-1)),
                    Ending::Status(st) if libc::WIFSIGNALED(st) => format!("was killed by signal {}", libc::WTERMSIG(st)),
                    Ending::Status(st) if libc::WIFEXITED(st) => format!("exited with code {}", libc::WEXITSTATUS(st)),
                    _ => "ended".to_string(),
                };
                json!({"class": "ProcessDied", "message": format!("the UDF's process {how} before returning a result"), "line": null, "traceback": ""})
            });
            json!({"ok": false, "result": null, "error": why})
        });
    if let Some(stop) = stopped {
        result["ok"] = json!(false);
        result["error"] = stop;
    } else if result["ok"] == json!(true) {
        if let Err(e) = images(req, result_path, &mut result["result"]) {
            result["ok"] = json!(false);
            result["error"] = e;
        }
    }
    let obj = result.as_object_mut().expect("the result is an object");
    obj.insert("mode".into(), json!(mode));
    obj.insert("bounds".into(), json!(req.bounds));
    obj.insert(
        "tile".into(),
        json!(req.tile.map(|t| json!({"x": t.x, "y": t.y, "z": t.z}))),
    );
    obj.insert("params".into(), json!(req.params));
    obj.entry("elapsed_ms").or_insert(json!(wall_ms));
    obj.insert("wall_ms".into(), json!(wall_ms));
    obj.insert("stdout".into(), json!(out.0));
    obj.insert("stderr".into(), json!(out.1));
    obj.insert("python".into(), json!(opts.python));
    if let Some(err) = obj.get_mut("error").and_then(|e| e.as_object_mut()) {
        if err.get("class").and_then(|c| c.as_str()) == Some("ModuleNotFoundError") {
            let msg = err.get("message").and_then(|m| m.as_str()).unwrap_or("");
            if let Some(module) = msg.split('\'').nth(1) {
                let top = module.split('.').next().unwrap_or(module);
                let hint = local_module_hint(req, top).unwrap_or_else(|| {
                    format!("{} -m pip install {}", opts.python.display(), pip_name(top))
                });
                err.insert("hint".into(), json!(hint));
            }
        }
    }
    result
}

/// The GeoJSON a run result carries for a map: at most this many features (the runner's cap)...
const GEOJSON_MAX_FEATURES: usize = 1000;
/// ...and this many bytes.
const GEOJSON_MAX_BYTES: usize = 256 << 10;
/// The largest RGBA image the runner hands over (4096 × 4096, its cap).
const RGBA_LIMIT: u64 = 4096 * 4096 * 4;

fn bad_result(message: String) -> Value {
    json!({"class": "BadResult", "message": message, "line": null, "traceback": ""})
}

/// Writes an output of the run (`-o`), as the runner would have.
fn write_output(path: &Path, bytes: &[u8]) -> Result<(), Value> {
    fused_fs::atomic::write(path, bytes).map_err(|e| {
        json!({"class": "OSError", "message": format!("cannot write `{}`: {e}", path.display()),
               "line": null, "traceback": ""})
    })
}

/// A raster or H3 result: the runner wrote its pixels (`result.rgba`) or rows
/// (`result.h3.jsonl`) beside the result file; the PNG (`raster.png_base64`) and the hexagons
/// (`geojson`) are made here, and written to `-o` when it names a `.png` or (H3) a `.geojson`.
fn images(req: &RunRequest, result_path: &Path, described: &mut Value) -> Result<(), Value> {
    let output = req.output_path.as_deref();
    let ext = output.and_then(|o| o.extension()).and_then(|e| e.to_str());
    if let Some(r) = described.get_mut("raster").and_then(Value::as_object_mut) {
        let handed = r.remove("rgba").unwrap_or_default();
        let dim = |k: &str| handed[k].as_u64().filter(|n| (1..=4096).contains(n));
        let (Some(w), Some(h)) = (dim("width"), dim("height")) else {
            return Err(bad_result(format!(
                "the runner handed over an image of an unusable size: {handed}"
            )));
        };
        let want = w * h * 4;
        let path = result_path.with_extension("rgba");
        let rgba = fused_fs::read::read_regular_capped(&path, want.min(RGBA_LIMIT))
            .map_err(|e| e.to_string())
            .and_then(|b| {
                if b.len() as u64 == want {
                    Ok(b)
                } else {
                    Err(format!("{} bytes, not {want}", b.len()))
                }
            })
            .map_err(|e| {
                bad_result(format!(
                    "the raster's pixels cannot be read back ({e}); did the UDF write to them?"
                ))
            })?;
        let (w, h) = (w as u32, h as u32);
        let (pw, ph, small) = raster::fit(w, h, &rgba, raster::JSON_MAX_SIDE);
        let png = raster::encode_png(pw, ph, &small).map_err(bad_result)?;
        if let (Some(out), Some("png")) = (output, ext) {
            if (pw, ph) == (w, h) {
                write_output(out, &png)?;
            } else {
                write_output(out, &raster::encode_png(w, h, &rgba).map_err(bad_result)?)?;
            }
        }
        r.insert("png_width".into(), json!(pw));
        r.insert("png_height".into(), json!(ph));
        r.insert("png_base64".into(), json!(raster::to_base64(&png)));
    }
    if described.get("h3").is_some_and(Value::is_object) {
        let path = result_path.with_extension("h3.jsonl");
        let text = match fused_fs::read::read_text_capped(&path, OUTPUT_LIMIT) {
            Ok(t) => t,
            // No rows handed over: the runner could not write them (it says why in
            // `geojson_error`); only `-o` needed them.
            Err(fused_fs::read::ReadError::Io(_)) => {
                return match (output, ext) {
                    (Some(_), Some("geojson" | "json")) => Err(bad_result(format!(
                        "the H3 rows could not be handed over: {}",
                        described["geojson_error"]
                            .as_str()
                            .unwrap_or("no rows file")
                    ))),
                    _ => Ok(()),
                }
            }
            Err(e) => return Err(bad_result(format!("the H3 rows cannot be read back ({e})"))),
        };
        let rows: Vec<_> = text.lines().filter_map(h3::parse_row).collect();
        let (fc, written, skipped) = h3::feature_collection(
            rows.iter().cloned(),
            GEOJSON_MAX_FEATURES,
            GEOJSON_MAX_BYTES,
        );
        let total = described["rows"].as_u64().unwrap_or(0);
        described["geojson"] = serde_json::from_str(&fc).unwrap_or_default();
        described["geojson_truncated"] = json!(((written + skipped) as u64) < total);
        let invalid = rows
            .iter()
            .filter(|(c, _)| h3::parse_cell(c).is_err())
            .count();
        if invalid > 0 {
            described["h3"]["invalid"] = json!(invalid);
        }
        if let (Some(out), Some("geojson" | "json")) = (output, ext) {
            let (all, _, _) = h3::feature_collection(rows, usize::MAX, usize::MAX);
            write_output(out, all.as_bytes())?;
        }
    }
    Ok(())
}

/// The result of a run that did not start because `check` found errors (the SDK would fail at
/// load or run): the usual contract, `ok` false, `error.class` `"CheckFailed"` and
/// `error.diagnostics` the records `fused-ls check --format json` prints.
pub fn check_failed_result(req: &RunRequest, python: &Path, diagnostics: Value) -> Value {
    let n = diagnostics.as_array().map_or(0, Vec::len);
    let message = format!(
        "`fused-ls check` found {n} error{} the SDK would fail on; fix {}, or pass --no-check to run anyway",
        if n == 1 { "" } else { "s" },
        if n == 1 { "it" } else { "them" },
    );
    let mode = match req.mode {
        Mode::File => "file",
        Mode::Tile => "tile",
    };
    json!({
        "ok": false, "mode": mode, "bounds": req.bounds,
        "tile": req.tile.map(|t| json!({"x": t.x, "y": t.y, "z": t.z})),
        "params": req.params, "elapsed_ms": 0.0, "wall_ms": 0.0, "stdout": "", "stderr": "",
        "python": python, "result": null,
        "error": {"class": "CheckFailed", "message": message, "line": null, "traceback": "",
                  "diagnostics": diagnostics},
    })
}

fn stop_reason(cancel: &AtomicBool, started: Instant, timeout: Duration) -> Option<Value> {
    if cancel.load(Ordering::SeqCst) {
        Some(
            json!({"class": "Cancelled", "message": "the run was cancelled", "line": null, "traceback": ""}),
        )
    } else if started.elapsed() > timeout {
        Some(
            json!({"class": "Timeout", "message": format!("the UDF ran longer than the {} s timeout and was stopped", timeout.as_secs_f64()), "line": null, "traceback": ""}),
        )
    } else {
        None
    }
}

/// Runs the UDF in a fresh process and returns the result JSON `{ok, mode, bounds, params,
/// elapsed_ms, stdout, stderr, result, error}` (plus `python`, `tile`, `wall_ms`). `Err` only
/// when the run could not start.
pub fn run(req: &RunRequest, opts: &RunOptions, cancel: &AtomicBool) -> Result<Value, String> {
    clean_stale_temp_dirs();
    let dir = tempfile::Builder::new()
        .prefix(&temp_prefix("run"))
        .tempdir()
        .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
    let runner = dir.path().join("fused_ls_runner.py");
    let request = dir.path().join("request.json");
    let result_path = dir.path().join("result.json");
    std::fs::write(&runner, RUNNER_PY).map_err(|e| format!("cannot write the runner: {e}"))?;
    std::fs::write(&request, request_body(req).to_string())
        .map_err(|e| format!("cannot write the request: {e}"))?;

    let started = Instant::now();
    let mut cmd = Command::new(&opts.python);
    cmd.arg("-u")
        .arg(&runner)
        .arg(&request)
        .arg(&result_path)
        .current_dir(req.package_dir.as_deref().unwrap_or(dir.path()))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // The runner's lifeline: never written; its end of file stops the run (see the top).
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    limit_memory(&mut cmd, opts.memory_limit);
    let mut child = cmd.spawn().map_err(|e| spawn_error(e, &opts.python))?;
    let mut lifeline = child.stdin.take();
    let pid = child.id();
    let out = Capture::start(child.stdout.take().expect("piped"), opts.output_cap);
    let err = Capture::start(child.stderr.take().expect("piped"), opts.output_cap);
    let ending = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ending::Exited(Some(status)),
            Ok(None) => {}
            Err(_) => break Ending::Exited(None),
        }
        if let Some(stop) = stop_reason(cancel, started, opts.timeout) {
            // The runner kills the UDF and all it started when its lifeline closes; a runner
            // that does not answer is killed with its group.
            drop(lifeline.take());
            if !wait_for(&mut child, Duration::from_secs(2)) {
                kill_group(pid);
                let _ = child.wait();
            }
            break Ending::Stopped(stop);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(lifeline);
    // The group may hold grandchildren still writing: make sure nothing outlives the run.
    kill_group(pid);
    let grace = Duration::from_secs(1);
    let output = (out.finish(grace), err.finish(grace));
    let wall = started.elapsed().as_secs_f64() * 1000.0;
    Ok(finish(req, opts, &result_path, ending, output, wall))
}

fn spawn_error(e: std::io::Error, python: &Path) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "the Python interpreter `{}` was not found; pass --python (or the `python` setting), or create a .venv in the package",
            python.display()
        ),
        _ => format!("cannot start `{}`: {e}", python.display()),
    }
}

/// Reads at most `cap` bytes of a file the UDF wrote to, noting the rest (counted up to the
/// output size limit: the UDF may have replaced the file with anything).
fn read_capped(path: &Path, cap: usize) -> String {
    match fused_fs::read::read_head(path, cap, OUTPUT_LIMIT) {
        Ok((kept, total)) => captured(kept, total),
        Err(e) => format!("[fused-ls: the output cannot be read: {e}]"),
    }
}

/// The largest output file a warm run writes (RLIMIT_FSIZE in the child).
const OUTPUT_LIMIT: u64 = 256 << 20;
/// The largest result file read back: the runner caps what it describes far below this.
const RESULT_LIMIT: u64 = 64 << 20;

/// A warm worker: one interpreter that imported the heavy libraries once and forks a fresh child
/// per run (its own session, so a timeout or cancel kills it and what it started). The child is
/// forked ahead of its job and waits for it, so fork() is off the run's path. The second run of
/// a geopandas UDF skips the seconds of imports. Results are never shared between runs.
pub struct Worker {
    child: std::process::Child,
    /// Jobs, one JSON line each; also the worker's lifeline: its end of file (this dropped, or
    /// fused-ls gone) stops the run in progress, everything below the worker, and the worker.
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    python: PathBuf,
    dir: tempfile::TempDir,
    runs: u64,
}

impl Worker {
    /// Starts a worker under `python` and waits until its imports are done.
    pub fn start(python: &Path, ready_timeout: Duration) -> Result<Worker, String> {
        clean_stale_temp_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&temp_prefix("worker"))
            .tempdir()
            .map_err(|e| e.to_string())?;
        let runner = dir.path().join("fused_ls_runner.py");
        std::fs::write(&runner, RUNNER_PY).map_err(|e| e.to_string())?;
        let mut child = Command::new(python)
            .arg("-u")
            .arg(&runner)
            .arg("--worker")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| spawn_error(e, python))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut w = Worker {
            child,
            stdin,
            lines: rx,
            python: python.to_path_buf(),
            dir,
            runs: 0,
        };
        match w.lines.recv_timeout(ready_timeout) {
            Ok(l) if l.contains("\"ready\"") => Ok(w),
            _ => {
                w.stop();
                Err(format!(
                    "the warm worker under `{}` did not start",
                    python.display()
                ))
            }
        }
    }

    pub fn python(&self) -> &Path {
        &self.python
    }

    /// The worker process's id (runs are its children, each in its own session).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Ends the worker: closing its input makes it kill the run in progress and everything
    /// below it, and exit; a worker that does not is killed with its group.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        if !wait_for(&mut self.child, Duration::from_secs(2)) {
            kill_group(self.child.id());
        }
        let _ = self.child.wait();
    }

    /// Runs one UDF in a forked child. `Err` when the worker itself is gone (start a new one, or
    /// fall back to [`run`]).
    pub fn run(
        &mut self,
        req: &RunRequest,
        opts: &RunOptions,
        cancel: &AtomicBool,
    ) -> Result<Value, String> {
        use std::io::Write;
        self.runs += 1;
        let base = self.dir.path().join(format!("run-{}", self.runs));
        std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
        let (request, result_path, out, err) = (
            base.join("request.json"),
            base.join("result.json"),
            base.join("stdout"),
            base.join("stderr"),
        );
        std::fs::write(&request, request_body(req).to_string()).map_err(|e| e.to_string())?;
        let job = json!({"request": request, "result": result_path, "stdout": out, "stderr": err,
            "output_limit": OUTPUT_LIMIT, "memory_limit": opts.memory_limit, "reuse": opts.reuse});
        let started = Instant::now();
        let stdin = self.stdin.as_mut().ok_or("the warm worker is stopped")?;
        writeln!(stdin, "{job}")
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("the warm worker is gone: {e}"))?;
        let pid: i32 = loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(l) => {
                    // (Only a real child's pid: killpg(0) would signal our own group.)
                    if let Some(pid) = serde_json::from_str::<Value>(&l)
                        .ok()
                        .and_then(|v| v["pid"].as_i64())
                        .filter(|p| *p > 1 && *p <= i32::MAX as i64)
                    {
                        break pid as i32;
                    }
                }
                Err(_) => return Err("the warm worker did not answer".into()),
            }
        };
        // Processes the run left running that the worker stopped (daemons, see `runner.py`).
        let mut stopped = 0;
        // The child stays for the next run with the same `reuse` key (it left nothing running).
        let mut kept = false;
        let ending = loop {
            match self.lines.recv_timeout(Duration::from_millis(10)) {
                Ok(l) => {
                    let v = serde_json::from_str::<Value>(&l).unwrap_or_default();
                    if let Some(status) = v["status"].as_i64() {
                        stopped = v["stopped"].as_u64().unwrap_or(0);
                        kept = v["kept"].as_bool() == Some(true);
                        break Ending::Status(status as i32);
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    // The run's child has its own session and would outlive the worker with no
                    // timeout; the caller retries the run fresh, so it must not go on.
                    // SAFETY: signals to the forked child's session and the child itself.
                    unsafe {
                        libc::killpg(pid, libc::SIGKILL);
                        libc::kill(pid, libc::SIGKILL);
                    }
                    return Err("the warm worker died".into());
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Some(stop) = stop_reason(cancel, started, opts.timeout) {
                // SAFETY: signals to the forked child's session and the child itself.
                unsafe {
                    libc::killpg(pid, libc::SIGKILL);
                    libc::kill(pid, libc::SIGKILL);
                }
                // The worker reaps it and reports; wait for that line so the next job starts clean.
                let _ = self.lines.recv_timeout(Duration::from_secs(5));
                break Ending::Stopped(stop);
            }
        };
        if !kept {
            // SAFETY: as above; the child's session may hold grandchildren.
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
        let wall = started.elapsed().as_secs_f64() * 1000.0;
        let mut output = (
            read_capped(&out, opts.output_cap),
            read_capped(&err, opts.output_cap),
        );
        if stopped > 0 {
            // (The same note the runner writes for a fresh run.)
            output.1.push_str(&format!(
                "\n[fused-ls: stopped {stopped} process{} the UDF left running]\n",
                if stopped > 1 { "es" } else { "" }
            ));
        }
        let result = finish(req, opts, &result_path, ending, output, wall);
        let _ = std::fs::remove_dir_all(&base);
        Ok(result)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod discovery_tests {
    use super::*;

    fn venv(dir: &Path) -> PathBuf {
        let bin = dir.join(".venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("python"), "").unwrap();
        bin.join("python")
    }

    #[test]
    fn discovery_stops_at_the_root() {
        let t = tempfile::tempdir().unwrap();
        let outer = venv(t.path());
        let root = t.path().join("ws");
        let pkg = root.join("a/Pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        // The .venv above the root is never found.
        assert_eq!(find_python(None, &pkg, &root), PathBuf::from("python3"));
        assert_eq!(find_python(None, &pkg, t.path()), outer);
        let inner = venv(&root);
        assert_eq!(find_python(None, &pkg, &root), inner);
        // Outside the root: only the folder itself.
        let elsewhere = t.path().join("other/Pkg");
        std::fs::create_dir_all(&elsewhere).unwrap();
        assert_eq!(discover_python(&elsewhere, &root), None);
        assert_eq!(
            find_python(Some(Path::new("/x/py")), &pkg, &root),
            PathBuf::from("/x/py")
        );
    }

    #[test]
    fn the_cli_stops_at_the_repository_else_the_current_folder_else_the_package() {
        let t = tempfile::tempdir().unwrap();
        let pkg = t.path().join("repo/udfs/Pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        assert_eq!(cli_search_root(&pkg, t.path()), t.path());
        assert_eq!(cli_search_root(&pkg, Path::new("/elsewhere")), pkg);
        std::fs::create_dir_all(t.path().join("repo/.git")).unwrap();
        assert_eq!(cli_search_root(&pkg, t.path()), t.path().join("repo"));
    }

    #[test]
    fn timeouts_are_positive_and_clamped() {
        assert_eq!(timeout_from_secs(2.5), Ok(Duration::from_millis(2500)));
        assert_eq!(timeout_from_secs(1e20), Ok(MAX_TIMEOUT));
        assert_eq!(timeout_from_secs(f64::INFINITY), Ok(MAX_TIMEOUT));
        assert_eq!(timeout_from_secs(u64::MAX as f64), Ok(MAX_TIMEOUT));
        assert!(timeout_from_secs(-1.0).is_err());
        assert!(timeout_from_secs(0.0).is_err());
        assert!(timeout_from_secs(f64::NAN).is_err());
    }
}
