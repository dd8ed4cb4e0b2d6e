//! Finding what to check: package folders (holding meta.json), zipped packages and loose `.py`
//! files, under the paths given. Honours `.gitignore` and skips hidden folders (`.venv`, `.git`);
//! follows symlinks but never loops.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A package folder, as displayed (the path given, joined with the relative path).
    Package(PathBuf),
    Zip(PathBuf),
    Loose(PathBuf),
    /// A file that looked relevant but could not be reached.
    Broken(PathBuf, String),
}

#[derive(Default)]
pub struct Discovery {
    pub items: Vec<Item>,
    /// Paths given on the command line that do not exist.
    pub missing: Vec<PathBuf>,
    /// Things skipped with a reason (symlink loops), for a note on stderr.
    pub notes: Vec<String>,
    /// Folders (or files) that could not be read: what was asked was not all checked.
    pub unreadable: Vec<String>,
}

fn is_package_dir(dir: &Path) -> bool {
    dir.join("meta.json").is_file()
}

fn relevant_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("py" | "zip" | "json")
    )
}

/// Whether a path is left out by the `exclude` of the configuration that applies to it.
pub type Exclude = std::sync::Arc<dyn Fn(&Path) -> bool + Send + Sync>;

/// Nothing excluded.
pub fn no_exclude() -> Exclude {
    std::sync::Arc::new(|_| false)
}

/// What is under `paths`. `exclude` prunes what the walk finds (folders are not entered); a path
/// named on the command line is itself checked even when it matches, as ruff does, unless
/// `force_exclude` (ruff's `--force-exclude`, for pre-commit, which names every file).
pub fn discover(paths: &[PathBuf], exclude: &Exclude, force_exclude: bool) -> Discovery {
    let mut d = Discovery::default();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut push = |d: &mut Discovery, item: Item| {
        let key = match &item {
            Item::Package(p) | Item::Zip(p) | Item::Loose(p) | Item::Broken(p, _) => {
                std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())
            }
        };
        let kind = match &item {
            Item::Package(_) => "p",
            _ => "f",
        };
        if seen.insert(key.join(kind)) {
            d.items.push(item);
        }
    };
    for root in paths {
        if force_exclude && exclude(root) {
            continue;
        }
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(_) => {
                if std::fs::symlink_metadata(root).is_ok() {
                    push(
                        &mut d,
                        Item::Broken(root.clone(), "a symlink to nothing".into()),
                    );
                } else {
                    d.missing.push(root.clone());
                }
                continue;
            }
        };
        if meta.is_file() {
            classify_file(root, &mut d, &mut push);
            continue;
        }
        let ex = exclude.clone();
        let walker = ignore::WalkBuilder::new(root)
            .follow_links(true)
            .require_git(false)
            .filter_entry(move |e| e.depth() == 0 || !ex(e.path()))
            .build();
        for entry in walker {
            match entry {
                Ok(entry) => {
                    let path = entry.path();
                    let Some(ft) = entry.file_type() else {
                        continue;
                    };
                    if ft.is_dir() {
                        if is_package_dir(path) {
                            push(&mut d, Item::Package(path.to_path_buf()));
                        }
                    } else if !path.parent().is_some_and(is_package_dir) {
                        match path.extension().and_then(|e| e.to_str()) {
                            Some("py") => push(&mut d, Item::Loose(path.to_path_buf())),
                            Some("zip") => push(&mut d, Item::Zip(path.to_path_buf())),
                            _ => {}
                        }
                    }
                }
                Err(err) => handle_walk_error(err, &mut d, &mut push),
            }
        }
    }
    d
}

fn classify_file(path: &Path, d: &mut Discovery, push: &mut impl FnMut(&mut Discovery, Item)) {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if is_package_dir(parent) && relevant_file(path) {
        let shown = path.parent().map(Path::to_path_buf).unwrap_or_default();
        push(
            d,
            Item::Package(if shown.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                shown
            }),
        );
        return;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("py") => push(d, Item::Loose(path.to_path_buf())),
        Some("zip") => push(d, Item::Zip(path.to_path_buf())),
        _ => {}
    }
}

fn handle_walk_error(
    err: ignore::Error,
    d: &mut Discovery,
    push: &mut impl FnMut(&mut Discovery, Item),
) {
    // Unwrap the error's context to find the path and the kind.
    let mut e = &err;
    let mut path: Option<PathBuf> = None;
    loop {
        match e {
            ignore::Error::WithPath { path: p, err } => {
                path = Some(p.clone());
                e = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                e = err
            }
            ignore::Error::Loop { child, ancestor } => {
                d.notes.push(format!(
                    "skipped `{}`: a symlink loop back to `{}`",
                    child.display(),
                    ancestor.display()
                ));
                return;
            }
            _ => break,
        }
    }
    match path {
        // A package's own files are read (and reported) with the package.
        Some(p) if p.parent().is_some_and(is_package_dir) => {}
        Some(p) if relevant_file(&p) => push(d, Item::Broken(p, err.to_string())),
        // A folder that cannot be listed (permissions) leaves its packages unchecked: an error.
        Some(p) if err.io_error().is_some() => d.unreadable.push(format!(
            "cannot read `{}`: {}",
            p.display(),
            err.io_error().unwrap()
        )),
        Some(p) => d.notes.push(format!("skipped `{}`: {err}", p.display())),
        None if err.io_error().is_some() => d.unreadable.push(format!("cannot read: {err}")),
        None => d.notes.push(format!("skipped: {err}")),
    }
}
