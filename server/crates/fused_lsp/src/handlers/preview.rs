//! `workspace/executeCommand` `fused.preview {uri, open?, allowHost?}`: the live map of a UDF. The first
//! call starts the service of `fused-ls serve` inside this server, on the document's workspace
//! folder (a loopback port, a per-start token), with the server's own warm worker as the first of
//! its workers: the tiles run on the interpreter the editor's runs already warmed. Later calls
//! reuse it while it lives. The reply is `{url, base, udf}`; unless `open` is false the client is
//! asked to open the URL in a browser (`window/showDocument` with `external: true`) when it can.
//!
//! In this process, not a child: a run's crash is its forked process's (the worker survives it),
//! and the service ends with the server however the server ends (no orphan to reap).

use crate::server::Backend;
use crate::session::uri_path;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

pub const PREVIEW_COMMAND: &str = "fused.preview";

/// The result cache of the editor's map (least recently used results go first).
const CACHE_BYTES: usize = 256 << 20;

#[derive(Deserialize)]
struct PreviewArgs {
    uri: Uri,
    /// Ask the client to open the map in a browser (default). An extension that shows the map
    /// itself (a webview) passes `false`.
    #[serde(default = "yes")]
    open: bool,
    /// A `Host` the service must also accept (as `serve --allow-host`): the authority of the URL
    /// the editor reaches it through, e.g. code-server's `/proxy/PORT/` on the editor's own host
    /// (`asExternalUri`). Added to the running service: same URL, same token.
    #[serde(default, rename = "allowHost")]
    allow_host: Option<String>,
}

fn yes() -> bool {
    true
}

/// What the language server borrows from the binary for the map: the CLI's discovery of the
/// UDFs under a folder and its check (a UDF the SDK would refuse is not run), so the map in the
/// editor serves exactly what `fused-ls serve` would.
#[derive(Clone, Default)]
pub struct PreviewHooks {
    pub discover: Option<Arc<dyn Fn(PathBuf) -> fused_serve::Discover + Send + Sync>>,
    pub check: Option<fused_serve::Checker>,
}

/// A running preview service.
pub struct Preview {
    pub service: fused_serve::Service,
    /// The folder it serves.
    pub root: PathBuf,
    pub python: PathBuf,
}

/// The name `fused-ls serve` gives the UDF of `file`: its package's (`fused_run::package_name`),
/// a loose file's stem.
fn udf_name(file: &Path) -> Option<String> {
    let dir = file.parent()?;
    if dir.join("meta.json").is_file() {
        return Some(fused_run::package_name(dir));
    }
    file.file_stem().map(|s| s.to_string_lossy().into_owned())
}

fn internal(message: String) -> Error {
    Error {
        code: tower_lsp_server::jsonrpc::ErrorCode::InternalError,
        message: message.into(),
        data: None,
    }
}

impl Backend {
    pub(crate) async fn preview_command(&self, args: Vec<Value>) -> Result<Option<Value>> {
        let invalid = |m: String| Error::invalid_params(m);
        let arg = args.into_iter().next().ok_or_else(|| {
            invalid("fused.preview takes one argument: {uri, open?, allowHost?}".into())
        })?;
        let args: PreviewArgs =
            serde_json::from_value(arg).map_err(|e| invalid(format!("fused.preview: {e}")))?;
        let file =
            uri_path(&args.uri).ok_or_else(|| invalid("fused.preview needs a file: URI".into()))?;
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let name = udf_name(&file).ok_or_else(|| invalid("fused.preview: no UDF there".into()))?;
        if let Some(h) = args
            .allow_host
            .as_deref()
            .filter(|h| !fused_serve::valid_host(h))
        {
            return Err(invalid(format!(
                "fused.preview: allowHost {h:?} is not a Host header value (NAME[:PORT])"
            )));
        }
        let (root, python, timeout, can_show) = {
            let st = self.lock();
            (
                st.search_root(&dir),
                // An explicit action: the interpreter a run would use.
                st.python_for(&dir),
                st.run_timeout(&dir).unwrap_or(Duration::from_secs(120)),
                st.can_show_document,
            )
        };
        // Held across the start: two quick calls start one service.
        let mut slot = self.preview.lock().await;
        let reuse = slot
            .as_ref()
            .filter(|p| p.service.is_running() && dir.starts_with(&p.root) && p.python == python)
            .map(|p| p.service.base.clone());
        let base = match reuse {
            Some(base) => base,
            None => {
                let hooks = self.preview_hooks.clone();
                let discover = hooks
                    .discover
                    .clone()
                    .ok_or_else(|| internal("this build of fused-ls has no map service".into()))?;
                let served = root.clone();
                let (catalog, _notes) = tokio::task::spawn_blocking(move || {
                    fused_serve::Catalog::new(discover(served))
                })
                .await
                .map_err(|e| internal(e.to_string()))?;
                let workers = std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1);
                let config = fused_serve::Config {
                    host: std::net::Ipv4Addr::LOCALHOST.into(),
                    port: 0,
                    workers,
                    python: python.clone(),
                    timeout,
                    cache_bytes: CACHE_BYTES,
                    memory_limit: fused_run::memory_limit_mib(None),
                    check: hooks.check.clone(),
                    allow_hosts: Vec::new(),
                    reuse_children: true,
                };
                let pool =
                    fused_serve::pool::Pool::sharing(python.clone(), workers, self.worker.clone());
                let service = fused_serve::start(config, catalog, pool)
                    .await
                    .map_err(|e| internal(format!("the map service did not start: {e}")))?;
                let base = service.base.clone();
                // A service for another folder or interpreter is replaced (dropping it stops it).
                *slot = Some(Preview {
                    service,
                    root: root.clone(),
                    python,
                });
                base
            }
        };
        if let (Some(h), Some(p)) = (args.allow_host.as_deref(), slot.as_ref()) {
            p.service.allow_host(h);
        }
        drop(slot);
        let url = format!("{base}{}/", fused_run::url_segment(&name));
        if args.open && can_show {
            let client = self.client().clone();
            let target = url.clone();
            tokio::spawn(async move {
                if let Ok(uri) = target.parse::<Uri>() {
                    let _ = client
                        .show_document(ShowDocumentParams {
                            uri,
                            external: Some(true),
                            take_focus: Some(true),
                            selection: None,
                        })
                        .await;
                }
            });
        }
        Ok(Some(json!({"url": url, "base": base, "udf": name})))
    }
}
