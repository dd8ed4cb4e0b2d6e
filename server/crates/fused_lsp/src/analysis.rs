//! What the server shows for one file: exactly what `fused-ls check` reports for it, computed
//! from the package on disk with the open editor buffers laid over it.

use fused_core::check::{
    check_loose_text_incremental, check_package_incremental, FileContent, OldTree,
};
use fused_core::model::mentions_udf;
use fused_core::{Diagnostic, Selection};
use fused_fs::probe::DiskProbe;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use tree_sitter::Tree;

/// What one analysis found: the file's diagnostics, its new tree, and (for a file of a package)
/// a digest of every file's diagnostics, its own included.
pub struct Analysis {
    pub diagnostics: Vec<Diagnostic>,
    pub tree: Option<Tree>,
    /// By file name, [`digest`] of each file's diagnostics, for a package (files with none are
    /// absent); `None` for a loose file, whose diagnostics depend on no sibling's text.
    ///
    /// A package's check computes every file's report anyway: the server compares them with
    /// what each open sibling last published and re-checks only those that differ, so an edit
    /// re-checks a sibling exactly when its diagnostics change, whatever rule made them.
    pub package: Option<HashMap<String, u64>>,
}

/// A digest of diagnostics (rule, range, message), to tell whether a file's report changed.
pub fn digest(diags: &[Diagnostic]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for d in diags {
        (d.rule.code(), &d.range, &d.message).hash(&mut h);
    }
    diags.len().hash(&mut h);
    h.finish()
}

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
    let a = analyze(path, text, overlay, sel, old_tree);
    (a.diagnostics, a.tree)
}

/// [`diagnostics`], with the digests of the package's other files.
pub fn analyze(
    path: &Path,
    text: &str,
    overlay: &dyn Fn(&Path) -> Option<String>,
    sel: &Selection,
    old_tree: Option<&Tree>,
) -> Analysis {
    let none = Analysis {
        diagnostics: Vec::new(),
        tree: None,
        package: None,
    };
    let Some(dir) = path.parent() else {
        return none;
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
            return none;
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
        let package = reports
            .iter()
            .map(|r| (r.name.clone(), digest(&r.diagnostics)))
            .collect();
        let diagnostics = reports
            .into_iter()
            .find(|r| r.name == name)
            .map(|r| r.diagnostics)
            .unwrap_or_default();
        return Analysis {
            diagnostics,
            tree,
            package: Some(package),
        };
    }
    if name.ends_with(".py") && mentions_udf(text) {
        let dir = std::fs::canonicalize(dir).ok();
        let (diagnostics, tree) =
            check_loose_text_incremental(text, dir.as_deref(), &DiskProbe, sel, old_tree);
        return Analysis {
            diagnostics,
            tree,
            package: None,
        };
    }
    none
}
