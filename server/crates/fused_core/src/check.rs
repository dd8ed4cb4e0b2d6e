//! Putting the rules together: one Python file, a loose UDF file, or a whole package.
//! The CLI and the language server both call these, so they always agree.

use crate::diagnostic::Diagnostic;
use crate::line_index::LineIndex;
use crate::meta::{self, MetaParse};
use crate::model::PyModel;
use crate::probe::PathProbe;
use crate::registry::Rule;
use crate::rules::{self, PyContext};
use crate::{python, selection::Selection};
use std::path::Path;
use tree_sitter::Tree;

/// A file's content as the front end read it.
#[derive(Debug, Clone)]
pub enum FileContent {
    Text(String),
    /// Holds NUL bytes.
    Binary,
    /// Not valid UTF-8: the byte offset of the first bad byte, and the text decoded lossily
    /// (identical up to that byte), so the position can be shown.
    NotUtf8 {
        at: usize,
        lossy: String,
    },
    /// Reading failed; the error.
    Unreadable(String),
}

impl FileContent {
    /// Classifies raw bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> FileContent {
        if bytes.contains(&0) {
            return FileContent::Binary;
        }
        match String::from_utf8(bytes) {
            Ok(s) => FileContent::Text(s),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                FileContent::NotUtf8 {
                    at,
                    lossy: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                }
            }
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            FileContent::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Text to position diagnostics in: the text, or the lossy decoding of a non-UTF-8 file.
    pub fn display_text(&self) -> Option<&str> {
        match self {
            FileContent::Text(t) => Some(t),
            FileContent::NotUtf8 { lossy, .. } => Some(lossy),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PackageFile {
    /// The name inside the package folder (`meta.json`, `utils.py`).
    pub name: String,
    pub content: FileContent,
}

/// A UDF package: a folder (or zip) holding meta.json.
#[derive(Debug, Clone)]
pub struct Package {
    /// The package folder's name (a zip's top folder, or its file stem).
    pub dir_name: String,
    /// Where it is on disk, to resolve relative `fused.load` paths; `None` for a zip's content.
    pub dir: Option<std::path::PathBuf>,
    pub files: Vec<PackageFile>,
}

/// Diagnostics for one file of a package.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub name: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// A parsed Python file with its diagnostics.
pub struct PyAnalysis {
    /// See [`python::Parsed::tree`].
    pub tree: Option<Tree>,
    pub model: PyModel,
    pub diagnostics: Vec<Diagnostic>,
}

/// Runs every file-level rule on Python source. `old_tree`, already edited, keeps the
/// tree-sitter tree up to date incrementally (see [`python::parse`]).
pub fn analyze_python(
    text: &str,
    dir: Option<&Path>,
    probe: &dyn PathProbe,
    old_tree: Option<&Tree>,
) -> PyAnalysis {
    let python::Parsed {
        syntax: mut diagnostics,
        model,
        tree,
        ast,
    } = python::parse(text, old_tree);
    let ctx = PyContext {
        text,
        tree: tree.as_ref(),
        model: &model,
        dir,
        probe,
    };
    rules::annotations::check(&ctx, &mut diagnostics);
    rules::tile::check(&ctx, &mut diagnostics);
    rules::decorator::check(&ctx, &mut diagnostics);
    rules::load::check(&ctx, &mut diagnostics);
    if let Some(ast) = &ast {
        // Only on a clean parse: after a syntax error there is no exact AST to read scopes from.
        rules::names::check(ast.syntax(), &ctx, None, &mut diagnostics);
    }
    PyAnalysis {
        tree,
        model,
        diagnostics,
    }
}

/// Applies `# noqa` comments (Python files only) and the selection, and sorts.
pub fn finalize(
    text: Option<&str>,
    mut diags: Vec<Diagnostic>,
    selection: &Selection,
) -> Vec<Diagnostic> {
    diags.retain(|d| selection.enabled(d.rule));
    if let Some(text) = text {
        let index = LineIndex::new(text);
        diags.retain(|d| {
            let line = index.line_of(d.range.start.min(text.len()) as u32);
            let range = index.line_range(line, text);
            !noqa_suppresses(&text[range], d.rule)
        });
    }
    diags.sort_by(|a, b| {
        (a.range.start, a.range.end, a.rule).cmp(&(b.range.start, b.range.end, b.rule))
    });
    diags.dedup_by(|a, b| a.rule == b.rule && a.range == b.range && a.message == b.message);
    diags
}

/// Whether a `# noqa` comment on `line` suppresses `rule`: bare `# noqa` suppresses all,
/// `# noqa: FUSED001, FUSED020` those codes.
pub fn noqa_suppresses(line: &str, rule: Rule) -> bool {
    // Each `#` may start a comment holding `noqa`; a `#` inside a string is a false start that
    // simply does not match.
    for (i, _) in line.match_indices('#') {
        let comment = line[i + 1..].trim_start();
        if comment.len() < 4 || !comment[..4].eq_ignore_ascii_case("noqa") {
            continue;
        }
        let rest = comment[4..].trim_start();
        let Some(codes) = rest.strip_prefix(':') else {
            return true;
        };
        return codes
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|c| !c.is_empty())
            .any(|c| c.eq_ignore_ascii_case(rule.code()));
    }
    false
}

fn content_problem(file: &PackageFile) -> Option<Diagnostic> {
    match &file.content {
        FileContent::Text(_) => None,
        FileContent::Binary => Some(Diagnostic::new(
            Rule::NotText,
            0..0,
            format!("`{}` is a binary file (it holds NUL bytes), not text; replace it with UTF-8 source", file.name),
        )),
        FileContent::NotUtf8 { at, lossy } => Some(Diagnostic::new(
            Rule::NotText,
            *at..(*at + 1).min(lossy.len()),
            format!("`{}` is not UTF-8 (invalid byte at offset {at}); re-save it as UTF-8", file.name),
        )),
        FileContent::Unreadable(err) => Some(Diagnostic::new(
            Rule::Unreadable,
            0..0,
            format!("`{}` could not be read: {err}", file.name),
        )),
    }
}

/// Checks a loose `.py` file that is not part of a package.
pub fn check_loose_file(
    name: &str,
    content: &FileContent,
    dir: Option<&Path>,
    probe: &dyn PathProbe,
    sel: &Selection,
) -> Vec<Diagnostic> {
    let file = PackageFile {
        name: name.to_string(),
        content: content.clone(),
    };
    if let Some(d) = content_problem(&file) {
        return finalize(None, vec![d], sel);
    }
    let text = content.text().unwrap_or_default();
    let analysis = analyze_python(text, dir, probe, None);
    finalize(Some(text), analysis.diagnostics, sel)
}

/// [`check_loose_file`] for text, re-parsing incrementally from `old_tree`; returns the new tree.
pub fn check_loose_text_incremental(
    text: &str,
    dir: Option<&Path>,
    probe: &dyn PathProbe,
    sel: &Selection,
    old_tree: Option<&Tree>,
) -> (Vec<Diagnostic>, Option<Tree>) {
    let analysis = analyze_python(text, dir, probe, old_tree);
    (
        finalize(Some(text), analysis.diagnostics, sel),
        analysis.tree,
    )
}

/// Maps diagnostics of inline code (a meta.json string) onto that string's range.
fn inline_code_diags(
    code: &meta::Spanned<String>,
    dir: Option<&Path>,
    probe: &dyn PathProbe,
    sel: &Selection,
) -> Vec<Diagnostic> {
    let analysis = analyze_python(&code.value, dir, probe, None);
    let mut out = Vec::new();
    let model = &analysis.model;
    let mut diags = finalize(Some(&code.value), analysis.diagnostics, sel);
    if model.udfs.is_empty() {
        diags.push(Diagnostic::new(Rule::NoUdf, 0..0, "the inline `code` has no `@fused.udf` function; decorate the function the package exposes"));
    }
    let index = LineIndex::new(&code.value);
    for d in diags {
        let line = index.line_of(d.range.start.min(code.value.len()) as u32) + 1;
        out.push(Diagnostic::new(
            d.rule,
            code.range.clone(),
            format!("inline code, line {line}: {}", d.message),
        ));
    }
    out
}

/// Checks every file of a package and the package as a whole.
pub fn check_package(pkg: &Package, probe: &dyn PathProbe, sel: &Selection) -> Vec<FileReport> {
    check_package_incremental(pkg, probe, sel, None).0
}

/// One file of the package whose tree the caller keeps (the language server's open document):
/// its previous tree, already `edit`ed to match its current text, makes the parse incremental,
/// and its new tree is returned.
pub struct OldTree<'a> {
    pub name: &'a str,
    /// `None` on the first parse: the new tree is returned all the same.
    pub tree: Option<&'a Tree>,
}

/// [`check_package`], re-parsing `old`'s file incrementally; returns that file's new tree too.
pub fn check_package_incremental(
    pkg: &Package,
    probe: &dyn PathProbe,
    sel: &Selection,
    old: Option<OldTree>,
) -> (Vec<FileReport>, Option<Tree>) {
    let mut new_tree = None;
    let reports = check_package_inner(pkg, probe, sel, old, &mut new_tree);
    (reports, new_tree)
}

fn check_package_inner(
    pkg: &Package,
    probe: &dyn PathProbe,
    sel: &Selection,
    old: Option<OldTree>,
    new_tree: &mut Option<Tree>,
) -> Vec<FileReport> {
    let names: Vec<&str> = pkg.files.iter().map(|f| f.name.as_str()).collect();
    let mut reports: Vec<FileReport> = pkg
        .files
        .iter()
        .map(|f| FileReport {
            name: f.name.clone(),
            diagnostics: Vec::new(),
        })
        .collect();
    let idx = |name: &str| pkg.files.iter().position(|f| f.name == name);
    let meta_i = idx("meta.json");
    let dir = pkg.dir.as_deref();

    // meta.json
    let mut parsed: Option<meta::Meta> = None;
    let meta_text = meta_i
        .and_then(|i| pkg.files[i].content.text())
        .unwrap_or("");
    if let Some(i) = meta_i {
        let file = &pkg.files[i];
        if let Some(d) = content_problem(file) {
            reports[i].diagnostics.push(d);
        } else {
            match meta::parse(meta_text) {
                MetaParse::Invalid { range, message } => reports[i]
                    .diagnostics
                    .push(Diagnostic::new(Rule::MetaInvalidJson, range, message)),
                MetaParse::Parsed(m) => {
                    rules::meta::shape(&m, &mut reports[i].diagnostics);
                    parsed = Some(m);
                }
            }
        }
    }
    let template = parsed.as_ref().is_some_and(|m| m.is_node_template);
    if template {
        // A canvas node: its `.py` is prose or JSON. Only its meta.json is checked.
        return finish(pkg, reports, sel);
    }
    let udf_meta = parsed.as_ref().and_then(|m| m.udf.as_ref());
    let facts = rules::meta::PackageFacts {
        dir_name: &pkg.dir_name,
        files: &names,
    };

    // Which file is the UDF's.
    let expected = format!("{}.py", pkg.dir_name);
    let main: Option<String> = match udf_meta.and_then(|u| u.source.as_ref()) {
        Some(src) => idx(&src.value).map(|_| src.value.clone()),
        None if udf_meta.is_some_and(|u| u.code.is_some()) => None,
        None => {
            if idx(&expected).is_some() {
                Some(expected.clone())
            } else {
                let candidates: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| n.ends_with(".py") && *n != "utils.py")
                    .collect();
                (candidates.len() == 1).then(|| candidates[0].to_string())
            }
        }
    };

    if let (Some(i), Some(u)) = (meta_i, udf_meta) {
        let mut diags = Vec::new();
        rules::meta::files(u, meta_text, &facts, &mut diags);
        if u.source.is_none() {
            if let Some(code) = &u.code {
                diags.extend(inline_code_diags(code, dir, probe, sel));
            }
        }
        rules::layout::readme(&names, &pkg.dir_name, &mut diags);
        if let (Some(main), Some(src)) = (&main, &u.source) {
            rules::layout::main_file_name(main, &pkg.dir_name, src.range.clone(), &mut diags);
        }
        reports[i].diagnostics.extend(diags);
    } else if let Some(i) = meta_i {
        rules::layout::readme(&names, &pkg.dir_name, &mut reports[i].diagnostics);
    }

    // Python files.
    for (i, file) in pkg.files.iter().enumerate() {
        if !file.name.ends_with(".py") {
            continue;
        }
        if let Some(d) = content_problem(file) {
            reports[i].diagnostics.push(d);
            continue;
        }
        let text = file.content.text().unwrap_or_default();
        let old_tree = old
            .as_ref()
            .filter(|o| o.name == file.name)
            .and_then(|o| o.tree);
        let analysis = analyze_python(text, dir, probe, old_tree);
        if old.as_ref().is_some_and(|o| o.name == file.name) {
            *new_tree = analysis.tree.clone();
        }
        let parses = !analysis
            .diagnostics
            .iter()
            .any(|d| matches!(d.rule, Rule::SyntaxError | Rule::NewerSyntax));
        reports[i].diagnostics.extend(analysis.diagnostics);
        // A file that does not parse may hide its UDF from the tree: then the syntax error is
        // the diagnostic, not "no UDF" or a stale entrypoint.
        if main.as_deref() == Some(file.name.as_str()) && parses {
            rules::layout::no_udf(&analysis.model, &file.name, &mut reports[i].diagnostics);
            if let (Some(m), Some(u)) = (meta_i, udf_meta) {
                rules::meta::entrypoint(u, &analysis.model, &mut reports[m].diagnostics);
            }
            if udf_meta.is_none_or(|u| u.source.is_none()) && meta_i.is_none() {
                rules::layout::main_file_name(
                    &file.name,
                    &pkg.dir_name,
                    0..0,
                    &mut reports[i].diagnostics,
                );
            }
        }
    }
    finish(pkg, reports, sel)
}

fn finish(pkg: &Package, reports: Vec<FileReport>, sel: &Selection) -> Vec<FileReport> {
    reports
        .into_iter()
        .zip(&pkg.files)
        .map(|(r, f)| {
            let text = if f.name.ends_with(".py") {
                f.content.text()
            } else {
                None
            };
            FileReport {
                name: r.name,
                diagnostics: finalize(text, r.diagnostics, sel),
            }
        })
        .filter(|r| !r.diagnostics.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noqa_forms() {
        assert!(noqa_suppresses("x = 1  # noqa", Rule::SyntaxError));
        assert!(noqa_suppresses(
            "x = 1  # noqa: E501, FUSED020",
            Rule::UncoercedAnnotation
        ));
        assert!(noqa_suppresses(
            "x = 1  # noqa: FUSED020",
            Rule::UncoercedAnnotation
        ));
        assert!(noqa_suppresses(
            "x = 1  # NOQA:FUSED001,FUSED020",
            Rule::UncoercedAnnotation
        ));
        assert!(!noqa_suppresses(
            "x = 1  # noqa: FUSED021",
            Rule::UncoercedAnnotation
        ));
        assert!(!noqa_suppresses(
            "x = 1  # nothing",
            Rule::UncoercedAnnotation
        ));
        assert!(!noqa_suppresses("s = 'noqa'", Rule::UncoercedAnnotation));
    }
}
