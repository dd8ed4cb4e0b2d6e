//! `fused-ls check --watch`: check, then check again whenever a file under the paths or a
//! configuration file above them changes; the screen is cleared before each report (on a
//! terminal), as `ruff check --watch` does.
//!
//! Changes are found by polling modification times and sizes every 300 ms rather than with the
//! OS's notification APIs: a UDF repository has at most a few thousand files, a poll of them
//! costs a few milliseconds, and polling works the same on every platform and on network and
//! container mounts where inotify events do not arrive, with no extra dependency.

use crate::check::{check_once, roots};
use crate::CheckArgs;
use fused_core::config::ConfigKind;
use fused_fs::config::{Overrides, Resolver};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const POLL: Duration = Duration::from_millis(300);

type Snapshot = BTreeMap<PathBuf, Option<(SystemTime, u64)>>;

pub fn run(args: &CheckArgs, over: &Overrides) -> ExitCode {
    let paths = roots(args);
    let clear = std::io::stdout().is_terminal();
    let mut first = true;
    loop {
        {
            let mut out = std::io::stdout().lock();
            if clear {
                // Clear the screen and the scrollback, cursor home.
                let _ = write!(out, "\x1b[2J\x1b[3J\x1b[H");
            }
            let _ = writeln!(
                out,
                "{}",
                if first {
                    "Checking in watch mode (Ctrl-C to stop)..."
                } else {
                    "A file changed: checking again..."
                }
            );
            let _ = out.flush();
        }
        first = false;
        // Taken before the check, so a change made while it runs is seen; with `--fix`, again
        // after it, so the files it just wrote do not count as a change.
        let mut last = snapshot(&paths);
        // A fresh resolver per round: a configuration file may be what changed.
        let _ = check_once(args, over, &Arc::new(Resolver::new()));
        let _ = std::io::stdout().flush();
        if args.fix {
            last = snapshot(&paths);
        }
        loop {
            std::thread::sleep(POLL);
            let now = snapshot(&paths);
            if now != last {
                // An editor saving writes in several steps: wait for the files to settle.
                last = now;
                loop {
                    std::thread::sleep(POLL);
                    let again = snapshot(&paths);
                    if again == last {
                        break;
                    }
                    last = again;
                }
                break;
            }
        }
    }
}

fn stamp(p: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(p).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The files a check reads and the configuration files that may apply, with their stamps.
fn snapshot(paths: &[PathBuf]) -> Snapshot {
    let mut snap = Snapshot::new();
    for root in paths {
        // Configuration files above the path apply to it too.
        let abs = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        for dir in abs.ancestors().skip(1) {
            for (name, _) in ConfigKind::FILE_NAMES {
                let p = dir.join(name);
                snap.insert(p.clone(), stamp(&p));
            }
        }
        // The same walk as discovery (hidden folders and .gitignore'd paths skipped), plus the
        // hidden `.fused-ls.toml`.
        let walker = ignore::WalkBuilder::new(root)
            .follow_links(true)
            .require_git(false)
            .hidden(false)
            .filter_entry(|e| {
                e.depth() == 0
                    || !e.file_name().to_string_lossy().starts_with('.')
                    || e.file_name() == ".fused-ls.toml"
                    || e.file_name() == ".gitignore"
            })
            .build();
        for entry in walker.flatten() {
            if entry.file_type().is_some_and(|t| t.is_file()) {
                snap.insert(entry.path().to_path_buf(), stamp(entry.path()));
            }
        }
        snap.insert(root.clone(), stamp(root).filter(|_| root.is_file()));
    }
    snap
}
