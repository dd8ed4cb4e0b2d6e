//! What the server shows for one file: exactly what `fused-ls check` reports for it, computed
//! from the package on disk with the open editor buffers laid over it.

use fused_core::check::{check_loose_file, check_package, FileContent};
use fused_core::model::mentions_udf;
use fused_core::{Diagnostic, Selection};
use fused_fs::probe::DiskProbe;
use std::path::Path;

/// Diagnostics for the file at `path` whose current text is `text`. `overlay` gives the text of
/// other open files.
pub fn diagnostics(
    path: &Path,
    text: &str,
    overlay: &dyn Fn(&Path) -> Option<String>,
    sel: &Selection,
) -> Vec<Diagnostic> {
    let Some(dir) = path.parent() else {
        return Vec::new();
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let with_self = |p: &Path| {
        if p == path {
            Some(text.to_string())
        } else {
            overlay(p)
        }
    };
    let meta = dir.join("meta.json");
    if meta.is_file() || with_self(&meta).is_some() {
        let Ok(pkg) = fused_fs::read_package(dir, &with_self) else {
            return Vec::new();
        };
        // A file open in the editor but not yet saved is part of the package too.
        let mut pkg = pkg;
        if !pkg.files.iter().any(|f| f.name == name) {
            pkg.files.push(fused_core::PackageFile {
                name: name.clone(),
                content: FileContent::Text(text.to_string()),
            });
        }
        return check_package(&pkg, &DiskProbe, sel)
            .into_iter()
            .find(|r| r.name == name)
            .map(|r| r.diagnostics)
            .unwrap_or_default();
    }
    if name.ends_with(".py") && mentions_udf(text) {
        let dir = std::fs::canonicalize(dir).ok();
        return check_loose_file(
            &name,
            &FileContent::Text(text.to_string()),
            dir.as_deref(),
            &DiskProbe,
            sel,
        );
    }
    Vec::new()
}
