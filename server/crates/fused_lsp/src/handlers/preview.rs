//! `workspace/executeCommand` `fused.preview {uri, open?, allowHost?}`: the live map of a UDF. The first
//! call starts `fused-ls serve` on the document's workspace folder (a loopback port, a per-start
//! token, its own warm workers: the service of `fused-ls serve`, in a child process so a crash
//! there never takes the language server with it); later calls reuse it while it lives. The
//! reply is `{url, base}`; unless `open` is false the client is asked to open the URL in a
//! browser (`window/showDocument` with `external: true`) when it can.
//!
//! The child dies with the server: `PR_SET_PDEATHSIG` fires when the thread that spawned it
//! ends, so it is spawned from a thread that lives exactly as long as the child.

use crate::server::Backend;
use crate::session::uri_path;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

pub const PREVIEW_COMMAND: &str = "fused.preview";

/// How long the service may take to print its URL (it discovers the UDFs first).
const START_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
struct PreviewArgs {
    uri: Uri,
    /// Ask the client to open the map in a browser (default). An extension that shows the map
    /// itself (a webview) passes `false`.
    #[serde(default = "yes")]
    open: bool,
    /// A `Host` the service must also accept (`serve --allow-host`): the authority of the URL
    /// the editor reaches it through, e.g. code-server's `/proxy/PORT/` on the editor's own
    /// host (`asExternalUri`). A running service without it is restarted on the same port.
    #[serde(default, rename = "allowHost")]
    allow_host: Option<String>,
}

fn yes() -> bool {
    true
}

/// A running preview service.
pub struct Preview {
    /// `http://127.0.0.1:PORT/<token>/`.
    pub base: String,
    pub pid: u32,
    /// The folder it serves.
    pub root: PathBuf,
    /// The extra `Host` values it accepts (`--allow-host`).
    pub allow_hosts: Vec<String>,
}

impl Preview {
    fn alive(&self) -> bool {
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        let exists = unsafe { libc::kill(self.pid as libc::pid_t, 0) == 0 };
        // (A zombie exists until its thread reaps it: it is not serving.)
        exists
            && std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
    }

    /// Ends the service (the server is shutting down).
    pub fn stop(&self) {
        // SAFETY: a signal to the child this server started.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
    }

    /// The port it listens on (from `http://127.0.0.1:PORT/<token>/`).
    fn port(&self) -> Option<u16> {
        let rest = self.base.strip_prefix("http://")?;
        let authority = rest.split('/').next()?;
        authority.rsplit(':').next()?.parse().ok()
    }

    /// Stops it and waits (up to 5 s) until it is gone, so that its port is free again.
    fn stop_and_wait(&self) {
        self.stop();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
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

/// Starts `fused-ls serve ROOT --port PORT --no-open ...` (0: any free port) and returns its
/// base URL and pid.
fn start(
    root: &Path,
    python: &Path,
    timeout: Duration,
    port: u16,
    allow_hosts: &[String],
) -> std::result::Result<Preview, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find fused-ls itself: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("serve")
        .arg(root)
        .args(["--port", &port.to_string(), "--no-open", "--python"])
        .arg(python)
        .args(["--timeout", &timeout.as_secs_f64().to_string()]);
    for h in allow_hosts {
        cmd.arg("--allow-host").arg(h);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: prctl and getppid are async-signal-safe; nothing is allocated.
    unsafe {
        use std::os::unix::process::CommandExt;
        let parent = libc::getpid();
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            // The server died between fork and prctl: do not outlive it.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let root_owned = root.to_path_buf();
    let hosts_owned = allow_hosts.to_vec();
    std::thread::Builder::new()
        .name("fused-preview".into())
        .spawn(move || {
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(format!("cannot start `fused-ls serve`: {e}")));
                    return;
                }
            };
            let pid = child.id();
            let mut out = BufReader::new(child.stdout.take().expect("piped"));
            let mut first = String::new();
            let _ = out.read_line(&mut first);
            let base = first.trim().to_string();
            if base.starts_with("http://") {
                let _ = tx.send(Ok(Preview {
                    base,
                    pid,
                    root: root_owned,
                    allow_hosts: hosts_owned,
                }));
            } else {
                // It ended (or said something else): its stderr says why.
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                let _ = tx.send(Err(format!(
                    "`fused-ls serve` did not start: {}",
                    err.lines().last().unwrap_or("no message").trim()
                )));
            }
            // Keep both pipes drained (a full pipe would block the service), and this thread
            // alive as long as the child: its end is the child's death signal.
            if let Some(mut e) = child.stderr.take() {
                std::thread::spawn(move || std::io::copy(&mut e, &mut std::io::sink()));
            }
            let _ = std::io::copy(&mut out, &mut std::io::sink());
            let _ = child.wait();
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    rx.recv_timeout(START_TIMEOUT)
        .map_err(|_| "`fused-ls serve` printed no URL within 30 s".to_string())?
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
        let slot = self.preview.clone();
        let allow_host = args.allow_host.clone();
        let started = tokio::task::spawn_blocking(move || {
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            let mut hosts: Vec<String> = Vec::new();
            let mut port = 0;
            // Once per session and folder: a live service for this folder is reused, unless
            // it must accept one more Host: then it restarts on the same port (the address
            // the editor's proxy maps stays valid) with a new token.
            if let Some(p) = slot.as_ref() {
                let same = p.alive() && dir.starts_with(&p.root);
                let accepts = allow_host
                    .as_ref()
                    .is_none_or(|h| p.allow_hosts.iter().any(|a| a.eq_ignore_ascii_case(h)));
                if same && accepts {
                    return Ok(p.base.clone());
                }
                if same {
                    hosts = p.allow_hosts.clone();
                    port = p.port().unwrap_or(0);
                }
                p.stop_and_wait();
            }
            hosts.extend(allow_host);
            // (The old port taken meanwhile: any port; the editor maps the new URL again.)
            let p = start(&root, &python, timeout, port, &hosts).or_else(|e| {
                if port == 0 {
                    Err(e)
                } else {
                    start(&root, &python, timeout, 0, &hosts)
                }
            })?;
            let base = p.base.clone();
            *slot = Some(p);
            Ok::<_, String>(base)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
        .map_err(|message| Error {
            code: tower_lsp_server::jsonrpc::ErrorCode::InternalError,
            message: message.into(),
            data: None,
        })?;
        let base = started;
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
