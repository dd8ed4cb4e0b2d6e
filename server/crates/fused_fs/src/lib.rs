//! The disk side that the CLI and the language server share, so both read a package the same
//! way: reading files into [`FileContent`], a package folder into a [`Package`] (with open editor
//! buffers laid over the disk), the [`probe::DiskProbe`] and atomic writes.

pub mod atomic;
pub mod config;
pub mod probe;
pub mod read;

use fused_core::check::{FileContent, Package, PackageFile};
use std::path::Path;

/// Files larger than this are reported, not read.
pub const MAX_FILE: u64 = 32 << 20;
/// Zipped packages larger than this are reported, not read (a package's entries are capped at
/// 64 MiB uncompressed in all, see `ZipLimits`).
pub const MAX_ZIP: u64 = 80 << 20;

pub fn read_content(path: &Path) -> FileContent {
    match read::read_regular_capped(path, MAX_FILE) {
        Ok(bytes) => FileContent::from_bytes(bytes),
        Err(e) => FileContent::Unreadable(e.to_string()),
    }
}

fn wanted(name: &str) -> bool {
    name.ends_with(".py") || name == "meta.json"
}

/// Reads a package folder: every top-level file's name, and the content of the files rules
/// read. `overlay` gives the text of a file open in an editor (it wins over the disk, and a
/// file that exists only there is included).
pub fn read_package(
    dir: &Path,
    overlay: &dyn Fn(&Path) -> Option<String>,
) -> Result<Package, String> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // A temp file of an atomic write (one a killed write left behind) is never package content.
        if atomic::is_temp_name(&name) {
            continue;
        }
        let path = entry.path();
        if let Some(text) = overlay(&path) {
            files.push(PackageFile {
                name,
                content: FileContent::Text(text),
            });
            continue;
        }
        // A FIFO or device under a name rules read is reported (by `read_content`), never
        // opened for reading; under any other name it is not the package's business.
        let content = match std::fs::metadata(&path).map(|m| (m.is_dir(), m.is_file())) {
            Ok((true, _)) => continue,
            Ok(_) if wanted(&name) => read_content(&path),
            Ok((_, true)) => FileContent::Text(String::new()),
            Ok(_) => continue,
            Err(e) if wanted(&name) => FileContent::Unreadable(e.to_string()),
            Err(_) => continue,
        };
        files.push(PackageFile { name, content });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let dir_name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Package {
        dir_name,
        dir: Some(abs),
        files,
    })
}
