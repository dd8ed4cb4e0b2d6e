//! The warm workers: `fused_run::Worker`s (one interpreter each, a forked child per run), as
//! many as `--workers`. A request waits for a free worker in arrival order (tokio's semaphore is
//! fair), runs on a blocking thread, and is cancelled when its future is dropped: the client
//! went away, axum dropped the handler, and with it the [`CancelOnDrop`] guard, whose flag the
//! worker's loop polls every 10 ms before killing the run's session. A dead worker is replaced
//! within a second when idle (`watch`), else before the next run on its slot (and a run it
//! failed under is retried once on the new one).

use fused_run::{RunOptions, RunRequest, Worker};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;
use tokio::sync::Semaphore;

pub struct Pool {
    python: PathBuf,
    /// Shared with the caller where it brought a worker of its own (see [`Pool::sharing`]).
    slots: Vec<Arc<Mutex<Option<Worker>>>>,
    free: Mutex<Vec<usize>>,
    permits: Arc<Semaphore>,
    /// Workers started after the first ones (replacements), for `/udfs`'s diagnostics and tests.
    pub replaced: AtomicU64,
}

/// Sets the run's cancel flag when dropped before [`CancelOnDrop::disarm`].
pub struct CancelOnDrop(Arc<AtomicBool>, bool);

impl CancelOnDrop {
    pub fn disarm(mut self) {
        self.1 = false;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

const READY: Duration = Duration::from_secs(120);

impl Pool {
    pub fn new(python: PathBuf, workers: usize) -> Arc<Pool> {
        Pool::sharing(python, workers, Arc::new(Mutex::new(None)))
    }

    /// A pool whose first slot is `first`: the language server's warm worker, so the map's
    /// tiles run on the interpreter the editor's runs already warmed (and no third one starts
    /// on a 2-core laptop). The slot is locked while a tile runs; the server's own runs then
    /// take a fresh process, as they do whenever its worker is busy. First is also picked first.
    pub fn sharing(
        python: PathBuf,
        workers: usize,
        first: Arc<Mutex<Option<Worker>>>,
    ) -> Arc<Pool> {
        let n = workers.max(1);
        let mut slots = vec![first];
        slots.extend((1..n).map(|_| Arc::new(Mutex::new(None))));
        Arc::new(Pool {
            python,
            slots,
            free: Mutex::new((0..n).rev().collect()),
            permits: Arc::new(Semaphore::new(n)),
            replaced: AtomicU64::new(0),
        })
    }

    pub fn size(&self) -> usize {
        self.slots.len()
    }

    /// Starts every worker in the background (the first tiles then skip the imports).
    pub fn prewarm(self: &Arc<Pool>) {
        for i in 0..self.slots.len() {
            let pool = self.clone();
            std::thread::spawn(move || {
                let mut slot = pool.slots[i].lock().unwrap_or_else(|p| p.into_inner());
                if !slot.as_mut().is_some_and(|w| pool.fits(w)) {
                    *slot = Worker::start(&pool.python, READY).ok();
                }
            });
        }
    }

    /// Replaces idle workers that died (killed, out of memory) once a second, so the next
    /// request does not pay for the imports. A busy slot is skipped: its run replaces it.
    pub fn watch(self: &Arc<Pool>) {
        let pool = Arc::downgrade(self);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let Some(pool) = pool.upgrade() else { return };
            for slot in &pool.slots {
                let Ok(mut w) = slot.try_lock() else { continue };
                if w.as_mut().is_some_and(|w| !w.alive()) {
                    pool.replaced.fetch_add(1, Ordering::SeqCst);
                    *w = Worker::start(&pool.python, READY).ok();
                }
            }
        });
    }

    /// The pids of the live workers (tests find them to kill one).
    pub fn pids(&self) -> Vec<u32> {
        self.slots
            .iter()
            .filter_map(|s| s.try_lock().ok().and_then(|w| w.as_ref().map(Worker::pid)))
            .collect()
    }

    /// A live worker under this pool's interpreter (a shared slot may hold another one's).
    fn fits(&self, w: &mut Worker) -> bool {
        w.python() == self.python && w.alive()
    }

    /// Runs `req` on a free worker; dropping the returned future cancels the run.
    pub async fn run(self: &Arc<Pool>, req: RunRequest, opts: RunOptions) -> Result<Value, String> {
        // Owned, and moved into the blocking job: a cancelled request's future is gone at once,
        // but its worker is free only once the run is killed and the job returns.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| "the server is stopping".to_string())?;
        let cancel = Arc::new(AtomicBool::new(false));
        let guard = CancelOnDrop(cancel.clone(), true);
        let pool = self.clone();
        let job = tokio::task::spawn_blocking(move || {
            let (i, slot) = pool.take_slot();
            // (Given back on the way out, even by a panic: a permit must always find a slot.)
            struct Give<'a>(&'a Pool, usize);
            impl Drop for Give<'_> {
                fn drop(&mut self) {
                    let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
                    free.push(self.1);
                }
            }
            let give = Give(&pool, i);
            let out = pool.run_on(slot, &req, &opts, &cancel);
            drop(give);
            drop(permit);
            out
        });
        let out = job.await.map_err(|e| format!("the run panicked: {e}"));
        guard.disarm();
        out?
    }

    /// A free slot, locked: the last one freed whose lock nobody outside the pool's turns holds
    /// (the shared first slot during the language server's own run, a worker being started by
    /// `prewarm` or `watch`), so a run does not wait that out while another worker is free;
    /// when every free slot is held, the last one, waited for.
    fn take_slot(&self) -> (usize, MutexGuard<'_, Option<Worker>>) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        for k in (0..free.len()).rev() {
            let got = match self.slots[free[k]].try_lock() {
                Ok(g) => Some(g),
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(g) = got {
                return (free.remove(k), g);
            }
        }
        let i = free.pop().expect("a permit means a free slot");
        drop(free);
        (i, self.slots[i].lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn run_on(
        &self,
        mut slot: MutexGuard<'_, Option<Worker>>,
        req: &RunRequest,
        opts: &RunOptions,
        cancel: &AtomicBool,
    ) -> Result<Value, String> {
        for attempt in 0..2 {
            if !slot.as_mut().is_some_and(|w| self.fits(w)) {
                if slot.is_some() || attempt > 0 {
                    self.replaced.fetch_add(1, Ordering::SeqCst);
                }
                *slot = Some(Worker::start(&self.python, READY)?);
            }
            let w = slot.as_mut().expect("started above");
            match w.run(req, opts, cancel) {
                Ok(v) => return Ok(v),
                // The worker died under the run (killed, out of memory): replace it and retry.
                Err(e) if attempt == 0 && !cancel.load(Ordering::SeqCst) => {
                    let _ = e;
                    *slot = None;
                }
                Err(e) => {
                    *slot = None;
                    return Err(e);
                }
            }
        }
        Err("the warm worker died twice".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_takes_another_free_slot_than_one_held_outside_the_pool() {
        // The shared first slot held by the language server's own run (`fused.run`): a tile
        // must not wait that whole run out while the pool's other worker is free.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let first = Arc::new(Mutex::new(None));
        let held = first.lock().unwrap();
        // (No interpreter there: the run on the free slot fails at once, which is the point.)
        let python = PathBuf::from("/nonexistent/fused-ls-test/python");
        let pool = Pool::sharing(python.clone(), 2, first.clone());
        let req = RunRequest {
            source_path: PathBuf::from("/nonexistent/udf.py"),
            entrypoint: None,
            package_dir: None,
            headers: vec![],
            mode: fused_run::Mode::File,
            bounds: None,
            tile: None,
            params: Default::default(),
            output_path: None,
            features_path: None,
        };
        let opts = RunOptions {
            python,
            timeout: Duration::from_secs(5),
            output_cap: 1 << 10,
            memory_limit: None,
            reuse: None,
        };
        let got = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(3), pool.run(req, opts)).await
        });
        drop(held);
        rt.shutdown_background();
        assert!(
            matches!(got, Ok(Err(_))),
            "the run waited for the held slot: {got:?}"
        );
    }
}
