//! The custom notification `fused/workerStatus`: what the warm worker (the interpreter that
//! imported geopandas once and forks a child per run) is doing, for a status bar (VS Code) or
//! `:Fused info` (Neovim). Sent at `initialized` and whenever the state changes:
//! `{"state": "cold" | "starting" | "ready" | "running" | "failed", "python"?, "pid"?,
//! "message"?}`. `cold`: no worker yet (the first run starts one); `running`: a run is going
//! (on the worker, or in a fresh process when the worker is busy); `failed`: the last start
//! failed (`message` says why; a run then uses a fresh process).

use crate::server::Backend;
use serde_json::{json, Value};
use std::sync::Mutex;
use tower_lsp_server::ls_types::notification::Notification;

pub enum WorkerStatus {}

impl Notification for WorkerStatus {
    type Params = Value;
    const METHOD: &'static str = "fused/workerStatus";
}

/// The status of the worker in `slot` now, when it is not starting or running one of the
/// editor's runs: `ready` with its pid and interpreter, else `cold`; `None` when someone else
/// holds the slot (the live map's tile runs on it).
fn settled(slot: &Mutex<Option<fused_run::Worker>>) -> Option<Value> {
    let mut w = slot.try_lock().ok()?;
    Some(match w.as_mut() {
        Some(w) => {
            if w.alive() {
                json!({"state": "ready", "pid": w.pid(), "python": w.python()})
            } else {
                json!({"state": "cold"})
            }
        }
        None => json!({"state": "cold"}),
    })
}

impl Backend {
    /// Sends `status` unless it is what was sent last.
    pub(crate) async fn worker_status(&self, status: Value) {
        {
            let mut last = self.worker_sent.lock().unwrap_or_else(|p| p.into_inner());
            if last.0.as_ref() == Some(&status) {
                return;
            }
            if status["state"] == "ready" {
                last.1 = Some(status.clone());
            }
            last.0 = Some(status.clone());
        }
        self.client()
            .send_notification::<WorkerStatus>(status)
            .await;
    }

    /// After a start or a run: what the worker is now. A worker the live map is using is as
    /// ready as it was (the map's tiles are not the editor's runs: "running" would stay on
    /// after the run that set it, as nothing else settles it).
    pub(crate) async fn settle_worker_status(&self) {
        let now = settled(&self.worker).unwrap_or_else(|| {
            let last = self.worker_sent.lock().unwrap_or_else(|p| p.into_inner());
            last.1.clone().unwrap_or_else(|| json!({"state": "ready"}))
        });
        self.worker_status(now).await;
    }
}
