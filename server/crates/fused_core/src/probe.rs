//! What the rules may ask about the file system, answered by the front end.
//!
//! The core never touches files. `fused.load("../Other_UDF")` can only be judged by looking at
//! the disk, so the front end passes a [`PathProbe`]: the CLI asks the real file system, the
//! language server the same (plus its open documents), tests a map.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKind {
    Missing,
    /// A folder; `has_meta` when it holds `meta.json` (a UDF package).
    Dir {
        has_meta: bool,
    },
    /// A `.zip`; `is_package` when it holds a UDF package, else why not.
    Zip {
        is_package: Result<(), String>,
    },
    /// Any other file.
    File,
    /// The front end cannot tell (no file system at hand): rules stay silent.
    Unknown,
}

pub trait PathProbe: Sync {
    fn probe(&self, path: &Path) -> PathKind;

    /// The user's home folder, to resolve `~/...` targets; `None` when unknown.
    fn home(&self) -> Option<std::path::PathBuf> {
        None
    }
}

/// A probe that knows nothing; path rules stay silent.
pub struct NoProbe;

impl PathProbe for NoProbe {
    fn probe(&self, _: &Path) -> PathKind {
        PathKind::Unknown
    }
}
