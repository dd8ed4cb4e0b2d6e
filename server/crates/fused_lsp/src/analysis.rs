//! What the server shows for one file: exactly what `fused-ls check` reports for it, computed
//! from the package on disk with the open editor buffers laid over it.

use fused_core::check::{
    check_loose_text_incremental, check_package_incremental, FileContent, OldTree,
};
use fused_core::model::mentions_udf;
use fused_core::{Diagnostic, Selection};
use fused_fs::probe::DiskProbe;
use std::path::Path;
use tree_sitter::Tree;

/// Diagnostics for the file at `path` whose current text is `text`. `overlay` gives the text of
/// other open files; `old_tree` (edited to match `text`) makes the parse incremental. Returns the
/// new tree of a Python file when one was built: always when `old_tree` was given, else only
/// for a file with syntax errors (a clean file is read from Ruff's AST; the caller builds the
/// tree afterwards, off the path to the first publish).
pub fn diagnostics(
    path: &Path,
    text: &str,
    overlay: &dyn Fn(&Path) -> Option<String>,
    sel: &Selection,
    old_tree: Option<&Tree>,
) -> (Vec<Diagnostic>, Option<Tree>) {
    let Some(dir) = path.parent() else {
        return (Vec::new(), None);
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
        let Ok(mut pkg) = fused_fs::read_package(dir, &with_self) else {
            return (Vec::new(), None);
        };
        // A file open in the editor but not yet saved is part of the package too.
        if !pkg.files.iter().any(|f| f.name == name) {
            pkg.files.push(fused_core::PackageFile {
                name: name.clone(),
                content: FileContent::Text(text.to_string()),
            });
        }
        let old = Some(OldTree {
            name: &name,
            tree: old_tree,
        });
        let (reports, tree) = check_package_incremental(&pkg, &DiskProbe, sel, old);
        let diags = reports
            .into_iter()
            .find(|r| r.name == name)
            .map(|r| r.diagnostics)
            .unwrap_or_default();
        return (diags, tree);
    }
    if name.ends_with(".py") && mentions_udf(text) {
        let dir = std::fs::canonicalize(dir).ok();
        let (diags, tree) =
            check_loose_text_incremental(text, dir.as_deref(), &DiskProbe, sel, old_tree);
        return (diags, tree);
    }
    (Vec::new(), None)
}
