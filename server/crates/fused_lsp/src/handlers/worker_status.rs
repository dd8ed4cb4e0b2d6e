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

/// The status of the worker in `slot` now, when it is not starting or running: `ready` with
/// its pid and interpreter, else `cold`. A slot held by someone else (the live map's tile) is
/// `running`.
pub fn settled(slot: &Mutex<Option<fused_run::Worker>>) -> Value {
    match slot.try_lock() {
        Ok(mut w) => match w.as_mut() {
            Some(w) => {
                if w.alive() {
                    json!({"state": "ready", "pid": w.pid(), "python": w.python()})
                } else {
                    json!({"state": "cold"})
                }
            }
            None => json!({"state": "cold"}),
        },
        Err(_) => json!({"state": "running"}),
    }
}

impl Backend {
    /// Sends `status` unless it is what was sent last.
    pub(crate) async fn worker_status(&self, status: Value) {
        {
            let mut last = self.worker_sent.lock().unwrap_or_else(|p| p.into_inner());
            if last.as_ref() == Some(&status) {
                return;
            }
            *last = Some(status.clone());
        }
        self.client()
            .send_notification::<WorkerStatus>(status)
            .await;
    }
}
