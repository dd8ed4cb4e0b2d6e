//! Giving a closed document's memory back to the system.
//!
//! glibc's malloc keeps freed blocks in its arenas (one per thread that allocated them), so the
//! text, tree-sitter tree and analyses of a closed 10 MB document (over a GB: the tree costs
//! more than a hundred bytes per byte of a long literal) still counted in full in the process's
//! RSS; `malloc_trim` returns the free pages of every arena. It is only worth calling once the
//! memory is actually free, and a close does not free all of it: an analysis or background
//! parse still running holds a copy of the tree and the text until it ends. So every such piece
//! of work holds an [`InFlight`] token, and the trim a close asks for ([`after_close`]) happens
//! when the last token is dropped (at once when none is held). And the free top of a thread's
//! arena, which `malloc_trim` leaves alone, is given back as it is freed (see [`init`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Pieces of work (analyses, background parses) holding document memory.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// A document closed while work was in flight: trim when it ends.
static PENDING: AtomicBool = AtomicBool::new(false);

/// Held by a piece of work for as long as it holds a document's text or tree; create it when
/// the snapshot is taken (under the state lock), and drop it after everything else the work
/// holds.
pub struct InFlight(());

impl InFlight {
    pub fn start() -> InFlight {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // Sequentially consistent with `after_close`: of a close and the last drop racing, at
        // least one sees the other's write and trims.
        if IN_FLIGHT.fetch_sub(1, Ordering::SeqCst) == 1 && PENDING.swap(false, Ordering::SeqCst) {
            release_memory();
        }
    }
}

/// A document was closed (and dropped): trim now, or when the work in flight ends.
pub fn after_close() {
    PENDING.store(true, Ordering::SeqCst);
    if IN_FLIGHT.load(Ordering::SeqCst) == 0 && PENDING.swap(false, Ordering::SeqCst) {
        release_memory();
    }
}

/// Fixes glibc's trim threshold at its initial 128 KiB, once at start.
///
/// By default glibc raises the threshold with every large block freed (up to 64 MiB), and
/// `malloc_trim` does not touch the free top of a thread's arena, which only that threshold
/// shrinks: after a 1.2 MB document was typed in and closed, 60 MB stayed resident at the top
/// of two arenas, trimmed or not. A fixed threshold (which also keeps large blocks in their own
/// mappings, unmapped when freed) gives them back as they are freed; a keystroke in a large
/// file costs the same (measured).
pub fn init() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_TRIM_THRESHOLD: std::ffi::c_int = -1;
        extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: mallopt only sets a malloc parameter; called before other threads allocate.
        unsafe {
            mallopt(M_TRIM_THRESHOLD, 128 << 10);
        }
    }
}

/// Returns the free pages of every malloc arena to the system (glibc only; elsewhere nothing).
pub fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim only releases free memory; it takes the arenas' locks.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_during_work_trims_when_the_work_ends() {
        // (The only test touching these statics: the counts are exact.)
        let work = InFlight::start();
        after_close();
        assert!(
            PENDING.load(Ordering::SeqCst),
            "deferred while work holds memory"
        );
        let other = InFlight::start();
        drop(work);
        assert!(
            PENDING.load(Ordering::SeqCst),
            "one piece of work still runs"
        );
        drop(other);
        assert!(!PENDING.load(Ordering::SeqCst), "trimmed by the last one");
        after_close();
        assert!(
            !PENDING.load(Ordering::SeqCst),
            "nothing in flight: trimmed at once"
        );
        assert_eq!(IN_FLIGHT.load(Ordering::SeqCst), 0);
    }
}
