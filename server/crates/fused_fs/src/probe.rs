//! The real file system behind `fused_core::probe::PathProbe`.

use fused_core::probe::{PathKind, PathProbe};
use fused_core::zip_package::{read_zip, ZipLimits};
use std::path::Path;

pub struct DiskProbe;

impl PathProbe for DiskProbe {
    fn probe(&self, path: &Path) -> PathKind {
        let Ok(meta) = std::fs::metadata(path) else {
            return PathKind::Missing;
        };
        if meta.is_dir() {
            return PathKind::Dir {
                has_meta: path.join("meta.json").is_file(),
            };
        }
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let is_package = match crate::read::read_regular_capped(path, crate::MAX_ZIP) {
                Ok(bytes) => read_zip(&bytes, &stem, ZipLimits::default()).map(|_| ()),
                Err(e) => Err(format!("it cannot be read ({e})")),
            };
            return PathKind::Zip { is_package };
        }
        PathKind::File
    }

    fn home(&self) -> Option<std::path::PathBuf> {
        std::env::var_os("HOME").map(std::path::PathBuf::from)
    }
}
