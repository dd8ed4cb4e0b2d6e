//! `workspace/executeCommand` `fused.run`: runs a UDF through the bundled runner with work-done
//! progress the user can cancel, then sends the result JSON as the custom notification
//! `fused/runResult`, a one-line `window/showMessage`, the UDF's stdout in `window/logMessage`,
//! and, when the run failed at a line of the UDF, a diagnostic there (cleared by the next run or
//! edit).

use crate::server::Backend;
use crate::session::uri_path;
use fused_core::tile::{self, Tile};
use fused_run::{Mode, RunOptions, RunRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::*;

/// The custom notification carrying a run's result: `{"uri": ..., "result": <run --format json>}`.
pub enum RunResult {}

impl Notification for RunResult {
    type Params = Value;
    const METHOD: &'static str = "fused/runResult";
}

/// The argument of `fused.run`.
#[derive(Debug, Deserialize)]
pub struct RunArgs {
    pub uri: Uri,
    #[serde(default)]
    pub entrypoint: Option<String>,
    /// `"file"` (default) or `"tile"`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `"Z/X/Y"`.
    #[serde(default)]
    pub tile: Option<String>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lng: Option<f64>,
    #[serde(default)]
    pub z: Option<u8>,
    #[serde(default)]
    pub bbox: Option<[f64; 4]>,
    /// Parameters as strings, as a caller would send them.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Run even when the check finds errors (`fused-ls run --no-check`).
    #[serde(default, rename = "noCheck")]
    pub no_check: bool,
}

/// The error-severity diagnostics of the file on disk and its package, checked as `fused-ls
/// check` does (the same core check, the disk's text: that is what runs), as the records of
/// `check --format json`.
fn check_errors(path: &Path, sel: &fused_core::Selection) -> Vec<Value> {
    use fused_core::check::{check_loose_file, check_package};
    use fused_core::{Encoding, LineIndex, Severity};
    use fused_fs::probe::DiskProbe;
    let Some(dir) = path.parent() else {
        return Vec::new();
    };
    let mut found: Vec<(std::path::PathBuf, Option<String>, fused_core::Diagnostic)> = Vec::new();
    if dir.join("meta.json").is_file() {
        if let Ok(pkg) = fused_fs::read_package(dir, &|_| None) {
            for report in check_package(&pkg, &DiskProbe, sel) {
                let text = pkg
                    .files
                    .iter()
                    .find(|f| f.name == report.name)
                    .and_then(|f| f.content.display_text().map(str::to_string));
                for d in report.diagnostics {
                    found.push((dir.join(&report.name), text.clone(), d));
                }
            }
        }
    } else {
        let content = fused_fs::read_content(path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = content.display_text().map(str::to_string);
        for d in check_loose_file(&name, &content, Some(dir), &DiskProbe, sel) {
            found.push((path.to_path_buf(), text.clone(), d));
        }
    }
    found
        .into_iter()
        .filter(|(_, _, d)| d.rule.severity() == Severity::Error)
        .map(|(file, text, d)| {
            let text = text.unwrap_or_default();
            let index = LineIndex::new(&text);
            let at = |o: usize| index.line_col(o.min(text.len()) as u32, &text, Encoding::Utf32);
            let (start, end) = (at(d.range.start), at(d.range.end));
            json!({"path": file.display().to_string(), "code": d.rule.code(),
                   "severity": "error", "message": d.message,
                   "line": start.line + 1, "column": start.col + 1,
                   "end_line": end.line + 1, "end_column": end.col + 1})
        })
        .collect()
}

/// The run timeout when the `runTimeout` setting gives none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Sets the cancel flag when dropped: a cancelled request drops its future, and the run stops.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn request_for(args: &RunArgs, path: &Path) -> Result<RunRequest, String> {
    let dir = path.parent().ok_or("the file has no folder")?.to_path_buf();
    let meta = fused_run::package_meta(&dir);
    let headers = fused_run::header_modules(&dir, meta.as_ref());
    // Run from meta.json (or any file of the package that is not Python): the package's UDF,
    // meta.json's `source`, else `<folder>.py`, as `fused-ls run PKG` resolves it. Never the
    // JSON itself as Python.
    let path = if path.extension().is_some_and(|e| e == "py") {
        path.to_path_buf()
    } else {
        let source = match meta.as_ref().and_then(|m| m.source.as_ref()) {
            Some(src) => dir.join(&src.value),
            None => dir.join(format!(
                "{}.py",
                dir.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            )),
        };
        if !source.is_file() {
            return Err(format!(
                "`{}` is not a UDF file, and its package has no UDF file at `{}`",
                path.display(),
                source.display()
            ));
        }
        source
    };
    let path = path.as_path();
    let tile_mode = args.mode.as_deref() == Some("tile");
    let spec = if !tile_mode {
        None
    } else if let Some(t) = &args.tile {
        let t = Tile::parse(t)?;
        Some((t.bounds(), t))
    } else if let (Some(lat), Some(lng), Some(z)) = (args.lat, args.lng, args.z) {
        let t = Tile::containing(lng, lat, z)?;
        Some((t.bounds(), t))
    } else if let Some(b) = args.bbox {
        Some(tile::with_center_tile(b, args.z.unwrap_or(13))?)
    } else {
        let t = Tile::parse(crate::handlers::code_lens::DEFAULT_TILE)?;
        Some((t.bounds(), t))
    };
    Ok(RunRequest {
        source_path: path.to_path_buf(),
        entrypoint: args.entrypoint.clone(),
        package_dir: Some(dir),
        headers,
        mode: if tile_mode { Mode::Tile } else { Mode::File },
        bounds: spec.map(|s| s.0),
        tile: spec.map(|s| s.1),
        params: args.params.clone(),
        output_path: None,
        features_path: None,
    })
}

/// Ends a run's work-done progress if the request is dropped before it ends it itself.
struct EndProgressOnDrop {
    backend: Backend,
    token: Option<ProgressToken>,
}

impl Drop for EndProgressOnDrop {
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        let backend = self.backend.clone();
        // Dropped inside the runtime (the request's future): a task can still send.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                backend.untrack_progress(&token);
                backend
                    .client()
                    .send_notification::<notification::Progress>(ProgressParams {
                        token,
                        value: ProgressParamsValue::WorkDone(WorkDoneProgress::End(
                            WorkDoneProgressEnd {
                                message: Some("cancelled".into()),
                            },
                        )),
                    })
                    .await;
            });
        }
    }
}

/// Runs on the warm worker when it is free (starting or replacing it as needed), else in a fresh
/// process. A worker that fails is dropped and the run is retried fresh.
fn run_warm(
    worker: &std::sync::Mutex<Option<fused_run::Worker>>,
    req: &RunRequest,
    opts: &RunOptions,
    cancel: &AtomicBool,
) -> Result<Value, String> {
    if let Ok(mut slot) = worker.try_lock() {
        let reusable = slot
            .as_mut()
            .is_some_and(|w| w.python() == opts.python && w.alive());
        if !reusable {
            *slot = fused_run::Worker::start(&opts.python, Duration::from_secs(120)).ok();
        }
        if let Some(w) = slot.as_mut() {
            match w.run(req, opts, cancel) {
                Ok(result) => return Ok(result),
                Err(_) => *slot = None,
            }
        }
    }
    fused_run::run(req, opts, cancel)
}

impl Backend {
    pub(crate) async fn run_command(
        &self,
        args: Vec<Value>,
        token: Option<ProgressToken>,
    ) -> tower_lsp_server::jsonrpc::Result<Option<Value>> {
        let invalid = |m: String| tower_lsp_server::jsonrpc::Error::invalid_params(m);
        let arg = args.into_iter().next().ok_or_else(|| {
            invalid(
                "fused.run takes one argument: {uri, mode, tile | lat/lng/z | bbox, params}".into(),
            )
        })?;
        let args: RunArgs =
            serde_json::from_value(arg).map_err(|e| invalid(format!("fused.run: {e}")))?;
        let path =
            uri_path(&args.uri).ok_or_else(|| invalid("fused.run needs a file: URI".into()))?;
        let req = request_for(&args, &path).map_err(invalid)?;
        // From here on, the UDF's file (meta.json's `source` when the run was asked from it).
        let path = req.source_path.clone();
        let source_uri = if path.extension().is_some_and(|e| e == "py")
            && uri_path(&args.uri).as_deref() != Some(path.as_path())
        {
            Uri::from_file_path(&path).unwrap_or_else(|| args.uri.clone())
        } else {
            args.uri.clone()
        };
        let (python, timeout, memory_mib) = {
            let st = self.lock();
            // An explicit run: an interpreter found in the workspace may start now (discovery
            // still stops at the workspace folder).
            let dir = req.package_dir.as_deref().unwrap_or(Path::new("."));
            let python = st.python_for(dir);
            // Parsed and clamped with the settings and the configuration: no overflow here.
            (
                python,
                st.run_timeout(dir).unwrap_or(DEFAULT_TIMEOUT),
                st.settings.run_memory_mib,
            )
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let guard = CancelOnDrop(cancel.clone());
        let run_id = self.register_run(cancel.clone());
        // Progress: the client's token, or one we create (ignored if the client cannot show it).
        let token = match token {
            Some(t) => Some(t),
            None => {
                let t = ProgressToken::String(format!("fused-ls-run-{run_id}"));
                self.client()
                    .send_request::<request::WorkDoneProgressCreate>(WorkDoneProgressCreateParams {
                        token: t.clone(),
                    })
                    .await
                    .ok()
                    .map(|_| t)
            }
        };
        if let Some(t) = &token {
            self.track_progress(t.clone(), cancel.clone());
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mode = if req.mode == Mode::Tile {
            "tile"
        } else {
            "file"
        };
        let progress = match &token {
            Some(t) => Some(
                self.client()
                    .progress(t.clone(), format!("Running {name} ({mode})"))
                    .with_cancel_button()
                    .begin()
                    .await,
            ),
            None => None,
        };
        // A `$/cancelRequest` drops this future before the code below ends the progress: the
        // guard then ends it (and forgets its token), so no client spins forever.
        let mut progress_guard = EndProgressOnDrop {
            backend: self.clone(),
            token: progress.as_ref().and(token.clone()),
        };
        let opts = RunOptions {
            python,
            timeout,
            output_cap: 1 << 20,
            memory_limit: fused_run::memory_limit_mib(memory_mib),
            reuse: None,
        };
        let worker = self.worker.clone();
        // Check first, as `fused-ls run` does: a UDF the SDK would refuse is not run.
        let sel = (!args.no_check).then(|| {
            let st = self.lock();
            let cfg = st.config_for(&path).ok().flatten();
            st.selection_for(&path, cfg.as_deref())
        });
        let checked = path.clone();
        self.worker_status(json!({"state": "running", "python": opts.python}))
            .await;
        let outcome = tokio::task::spawn_blocking(move || {
            let errors = sel.map(|s| check_errors(&checked, &s)).unwrap_or_default();
            if !errors.is_empty() {
                return Ok(fused_run::check_failed_result(
                    &req,
                    &opts.python,
                    json!(errors),
                ));
            }
            run_warm(&worker, &req, &opts, &cancel)
        })
        .await;
        self.settle_worker_status().await;
        if let Some(p) = progress {
            p.finish().await;
        }
        progress_guard.token = None;
        if let Some(t) = &token {
            self.untrack_progress(t);
        }
        drop(guard);
        let result = match outcome {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.client()
                    .show_message(MessageType::ERROR, format!("fused-ls: {e}"))
                    .await;
                return Err(invalid(e));
            }
            Err(e) => {
                return Err(tower_lsp_server::jsonrpc::Error {
                    code: tower_lsp_server::jsonrpc::ErrorCode::InternalError,
                    message: format!("the run task failed: {e}").into(),
                    data: None,
                })
            }
        };
        let ok = result["ok"].as_bool().unwrap_or(false);
        let summary = if ok {
            let res = &result["result"];
            let rows = res["rows"]
                .as_u64()
                .map(|r| format!(", {r} rows"))
                .unwrap_or_default();
            format!(
                "{name}: {mode} run ok in {:.0} ms, returned {}{rows}",
                result["elapsed_ms"].as_f64().unwrap_or(0.0),
                res["type"].as_str().unwrap_or("?")
            )
        } else {
            let e = &result["error"];
            let at = e["line"]
                .as_u64()
                .map(|l| format!(" at line {l}"))
                .unwrap_or_default();
            format!(
                "{name}: {mode} run failed{at}: {}: {}",
                e["class"].as_str().unwrap_or("Error"),
                e["message"].as_str().unwrap_or("")
            )
        };
        let stdout = result["stdout"].as_str().unwrap_or("").to_string();
        if !stdout.is_empty() {
            self.client()
                .log_message(MessageType::INFO, format!("{name} stdout:\n{stdout}"))
                .await;
        }
        let failed_line = if ok {
            None
        } else {
            result["error"]["line"]
                .as_u64()
                .map(|l| (l.saturating_sub(1) as u32, summary.clone()))
        };
        // The failing line is a line of the UDF's file, wherever the run was asked from.
        self.set_run_error(&source_uri, failed_line);
        self.client()
            .send_notification::<RunResult>(json!({"uri": args.uri, "result": result}))
            .await;
        self.client()
            .show_message(
                if ok {
                    MessageType::INFO
                } else {
                    MessageType::ERROR
                },
                summary,
            )
            .await;
        Ok(Some(result))
    }
}
