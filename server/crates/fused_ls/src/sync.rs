//! `fused-ls sync [PATH...] [--check] [--diff]`: bring meta.json in line with the source.

use fused_core::check::FileContent;
use fused_core::package::sync::{sync, SyncOutcome};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Package folders under `paths`: folders holding meta.json, plus folders given explicitly
/// (which get a meta.json created when they hold a UDF).
fn package_dirs(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut dirs = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let dir = if p.is_file() {
            p.parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."))
        } else {
            p.clone()
        };
        if !dir.is_dir() {
            errors.push(format!("`{}` does not exist", p.display()));
            continue;
        }
        match meta_file(&dir.join("meta.json")) {
            Some(Ok(())) | None => dirs.push(dir.clone()),
            Some(Err(why)) => errors.push(why),
        }
        for entry in ignore::WalkBuilder::new(&dir)
            .follow_links(true)
            .require_git(false)
            .build()
            .flatten()
        {
            if entry.depth() == 0 || !entry.file_type().is_some_and(|t| t.is_dir()) {
                continue;
            }
            match meta_file(&entry.path().join("meta.json")) {
                Some(Ok(())) => dirs.push(entry.path().to_path_buf()),
                Some(Err(why)) => errors.push(why),
                None => {}
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    errors.dedup();
    (dirs, errors)
}

/// `None` when `meta` does not exist, `Some(Ok)` for a regular file (or a link to one), and an
/// error for anything else: a folder, FIFO or dangling link named meta.json is neither "in sync"
/// nor something sync may replace.
fn meta_file(meta: &Path) -> Option<Result<(), String>> {
    match std::fs::metadata(meta) {
        Err(_) if std::fs::symlink_metadata(meta).is_ok() => Some(Err(format!(
            "`{}` is a symlink to nothing; point it at a meta.json or remove it",
            meta.display()
        ))),
        Err(_) => None,
        Ok(m) if m.is_file() => Some(Ok(())),
        Ok(m) => Some(Err(format!(
            "`{}` is {}; rename or remove it so sync can write meta.json",
            meta.display(),
            match fused_fs::read::kind(m.file_type()) {
                Some("a directory") | None => "a folder, not a file".to_string(),
                Some(what) => format!("{what}, not a regular file"),
            }
        ))),
    }
}

pub fn run(paths: Vec<PathBuf>, check: bool, diff: bool) -> ExitCode {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths
    };
    let (dirs, mut errors) = package_dirs(&paths);
    let explicit: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    let mut out_of_sync = 0;
    for dir in dirs {
        let meta_path = dir.join("meta.json");
        let pkg = match fused_fs::read_package(&dir, &|_| None) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        // A source sync cannot read (a FIFO, a device, a file over the size limit) may be the
        // UDF or a helper it imports: refuse rather than write meta.json from part of the
        // package. (A folder only walked into, with no meta.json, is not asked about.)
        if meta_path.exists() || explicit.contains(&dir) {
            let unreadable: Vec<String> = pkg
                .files
                .iter()
                .filter_map(|f| match &f.content {
                    FileContent::Unreadable(why) => Some(format!(
                        "cannot read `{}`: {why}; nothing was written",
                        dir.join(&f.name).display()
                    )),
                    _ => None,
                })
                .collect();
            if !unreadable.is_empty() {
                errors.extend(unreadable);
                continue;
            }
        }
        let outcome = match sync(&pkg) {
            Ok(o) => o,
            Err(e) => {
                // A folder found by walking that holds no UDF is simply not a package.
                if !meta_path.exists() && !explicit.contains(&dir) {
                    continue;
                }
                if !meta_path.exists() && e.starts_with("no meta.json and no") {
                    continue;
                }
                errors.push(format!("{}: {e}", meta_path.display()));
                continue;
            }
        };
        // Only a regular file, capped: a FIFO swapped in since the listing must not block.
        let old = match fused_fs::read::read_text_capped(&meta_path, fused_fs::MAX_FILE) {
            Ok(text) => text,
            Err(_) if !meta_path.exists() => String::new(),
            Err(e) => {
                errors.push(format!("cannot read `{}`: {e}", meta_path.display()));
                continue;
            }
        };
        let (new, summary) = match outcome {
            SyncOutcome::Unchanged => continue,
            SyncOutcome::Changed { text, changes } => (text, changes.join("; ")),
            SyncOutcome::Created { text } => (text, "created".to_string()),
        };
        out_of_sync += 1;
        if diff {
            let name = meta_path.display().to_string();
            print!(
                "{}",
                similar::TextDiff::from_lines(&old, &new)
                    .unified_diff()
                    .context_radius(2)
                    .header(&name, &name)
            );
        }
        if check || diff {
            if check {
                println!("{}: out of sync: {summary}", meta_path.display());
            }
            continue;
        }
        match fused_fs::atomic::write(&meta_path, new.as_bytes()) {
            Ok(()) => println!("{}: {summary}", meta_path.display()),
            Err(e) => errors.push(format!(
                "cannot write `{}`: {e}; it was left as it was",
                meta_path.display()
            )),
        }
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    if !errors.is_empty() {
        ExitCode::from(2)
    } else if (check || diff) && out_of_sync > 0 {
        ExitCode::from(1)
    } else {
        if out_of_sync == 0 {
            println!("meta.json is in sync.");
        }
        ExitCode::SUCCESS
    }
}
