//! Putting the rules together: one Python file, a loose UDF file, or a whole package.
//! The CLI and the language server both call these, so they always agree.

use crate::diagnostic::Diagnostic;
use crate::line_index::LineIndex;
use crate::meta::{self, MetaParse};
use crate::model::PyModel;
use crate::probe::PathProbe;
use crate::registry::Rule;
use crate::rules::{self, Entry, PyContext};
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
    /// The file's absolute imports (read from Ruff's AST; empty when it does not parse), for
    /// the package-level FUSED055.
    pub imports: Vec<rules::imports::Import>,
}

/// Runs every file-level rule on Python source. `old_tree`, already edited, keeps the
/// tree-sitter tree up to date incrementally (see [`python::parse`]).
pub fn analyze_python(
    text: &str,
    dir: Option<&Path>,
    probe: &dyn PathProbe,
    old_tree: Option<&Tree>,
) -> PyAnalysis {
    analyze_python_entry(text, dir, probe, old_tree, Entry::default())
}

/// [`analyze_python`] for a package's main file: `entry` is what meta.json says about its UDF
/// (the entrypoint the SDK runs, decorated or not; whether it is File-only).
pub fn analyze_python_entry(
    text: &str,
    dir: Option<&Path>,
    probe: &dyn PathProbe,
    old_tree: Option<&Tree>,
    entry: Entry,
) -> PyAnalysis {
    let python::Parsed {
        syntax: mut diagnostics,
        model,
        tree,
        module,
    } = python::parse(text, old_tree);
    let ctx = PyContext {
        text,
        tree: tree.as_ref(),
        model: &model,
        dir,
        probe,
        entry,
    };
    rules::annotations::check(&ctx, &mut diagnostics);
    rules::tile::check(&ctx, &mut diagnostics);
    rules::decorator::check(&ctx, &mut diagnostics);
    rules::load::check(&ctx, &mut diagnostics);
    let imports = ast_rules(text, module.as_ref(), &model, &mut diagnostics);
    if let Some(module) = &module {
        // Only on a clean parse: after a syntax error there is no exact AST to read scopes from.
        rules::names::check(module.syntax(), &ctx, ctx.entry.name, &mut diagnostics);
    }
    PyAnalysis {
        tree,
        model,
        diagnostics,
        imports,
    }
}

/// The rules that read the raw text (FUSED005/006) and Ruff's AST (FUSED025/046; the imports
/// for FUSED055), which need more than the model. Returns the imports.
fn ast_rules(
    text: &str,
    module: Option<&ruff_python_parser::Parsed<ruff_python_ast::ModModule>>,
    model: &PyModel,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<rules::imports::Import> {
    rules::source::check(text, diagnostics);
    // Nested beyond what CPython compiles: reported once (FUSED006), and not walked further.
    let too_deep = diagnostics.iter().any(|d| d.rule == Rule::TooDeeplyNested);
    let Some(module) = module.filter(|_| !too_deep) else {
        return Vec::new();
    };
    let module = module.syntax();
    let names = rules::cache::FusedNames::of(module);
    rules::cache::check(module, &names, diagnostics);
    let udf_defs: Vec<usize> = model.udfs.iter().map(|u| u.name_range.start).collect();
    let before = diagnostics.len();
    let future = model.future_annotations.is_some();
    rules::fused_types::check(module, &names, future, &udf_defs, diagnostics);
    // An unknown `fused.types.X` is FUSED025, not also FUSED020's "receives a string".
    let unknown: Vec<_> = diagnostics[before..]
        .iter()
        .map(|d| d.range.clone())
        .collect();
    diagnostics.retain(|d| {
        d.rule != Rule::UncoercedAnnotation
            || !unknown
                .iter()
                .any(|u| d.range.start <= u.start && u.end <= d.range.end)
    });
    rules::imports::collect(module)
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
    entry: Entry,
    dir: Option<&Path>,
    probe: &dyn PathProbe,
    sel: &Selection,
    imported: &mut Vec<String>,
) -> Vec<Diagnostic> {
    let analysis = analyze_python_entry(&code.value, dir, probe, None, entry);
    imported.extend(analysis.model.imported_modules.iter().cloned());
    let mut out = Vec::new();
    let model = &analysis.model;
    let mut diags = analysis.diagnostics;
    rules::layout::no_udf(model, entry.name, "the inline `code`", &mut diags);
    let diags = finalize(Some(&code.value), diags, sel);
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
                    rules::duplicates::check(&m, &mut reports[i].diagnostics);
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
    // Inline `code` with a `.py` beside it holding the same code: that file is checked (real
    // positions), the inline copy is not (each diagnostic once).
    let inline_twin: Option<&str> = udf_meta
        .filter(|u| u.source.is_none())
        .and_then(|u| u.code.as_ref())
        .and_then(|code| {
            pkg.files
                .iter()
                .filter(|f| f.name.ends_with(".py"))
                .find(|f| f.content.text().is_some_and(|t| same_code(t, &code.value)))
                .map(|f| f.name.as_str())
        });
    let entry = Entry {
        name: udf_meta
            .and_then(|u| u.entrypoint.as_ref())
            .map(|e| e.value.as_str()),
        file_only: udf_meta
            .and_then(|u| u.udf_type.as_ref())
            .is_some_and(|t| rules::FILE_ONLY_UDF_TYPES.contains(&t.value.as_str())),
    };
    let main: Option<String> = match udf_meta.and_then(|u| u.source.as_ref()) {
        Some(src) => idx(&src.value).map(|_| src.value.clone()),
        None if inline_twin.is_some() => inline_twin.map(str::to_string),
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

    // The modules the UDF's code and the header modules import, for FUSED065.
    let mut imported: Vec<String> = Vec::new();
    if let (Some(i), Some(u)) = (meta_i, udf_meta) {
        let mut diags = Vec::new();
        rules::meta::files(u, &facts, inline_twin, &mut diags);
        if u.source.is_none() && inline_twin.is_none() {
            if let Some(code) = &u.code {
                diags.extend(inline_code_diags(
                    code,
                    entry,
                    dir,
                    probe,
                    sel,
                    &mut imported,
                ));
            }
        }
        rules::layout::readme(&names, &pkg.dir_name, &mut diags);
        // A file named after the folder while `name` differs is FUSED063's case (a renamed
        // folder leaves `name` stale): renaming the file after the stale name would be wrong.
        if let (Some(main), Some(src), Some(name)) = (&main, &u.source, &u.name) {
            if *main != expected || name.value == pkg.dir_name {
                rules::layout::main_file_name(main, &name.value, src.range.clone(), &mut diags);
            }
        }
        reports[i].diagnostics.extend(diags);
    } else if let Some(i) = meta_i {
        rules::layout::readme(&names, &pkg.dir_name, &mut reports[i].diagnostics);
    }

    // Python files.
    let header_files: Vec<&str> = udf_meta
        .map(|u| {
            u.headers
                .iter()
                .filter_map(|h| h.source_file.as_ref().map(|f| f.value.as_str()))
                .collect()
        })
        .unwrap_or_default();
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
        let is_main = main.as_deref() == Some(file.name.as_str());
        let analysis = if is_main {
            analyze_python_entry(text, dir, probe, old_tree, entry)
        } else {
            analyze_python(text, dir, probe, old_tree)
        };
        if is_main || header_files.contains(&file.name.as_str()) {
            imported.extend(analysis.model.imported_modules.iter().cloned());
        }
        if old.as_ref().is_some_and(|o| o.name == file.name) {
            *new_tree = analysis.tree.clone();
        }
        let parses = !analysis
            .diagnostics
            .iter()
            .any(|d| matches!(d.rule, Rule::SyntaxError | Rule::NewerSyntax));
        reports[i].diagnostics.extend(analysis.diagnostics);
        if let Some(u) = udf_meta {
            let is_header = u
                .headers
                .iter()
                .any(|h| h.source_file.as_ref().is_some_and(|f| f.value == file.name));
            if main.as_deref() == Some(file.name.as_str()) || is_header {
                rules::imports::check(&analysis.imports, u, &names, &mut reports[i].diagnostics);
            }
            if is_main {
                rules::imports::check_relative(
                    &analysis.imports,
                    u,
                    text,
                    &mut reports[i].diagnostics,
                );
                rules::imports::check_header_at_top(
                    &analysis.imports,
                    u,
                    &mut reports[i].diagnostics,
                );
            }
        }
        // A file that does not parse may hide its UDF from the tree: then the syntax error is
        // the diagnostic, not "no UDF" or a stale entrypoint.
        if is_main && parses {
            rules::layout::no_udf(
                &analysis.model,
                entry.name,
                &format!("`{}`", file.name),
                &mut reports[i].diagnostics,
            );
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
    if let (Some(m), Some(u)) = (meta_i, udf_meta) {
        let main_name = main.as_deref().unwrap_or("");
        rules::meta::undeclared_modules(
            u,
            meta_text,
            &facts,
            main_name,
            &imported,
            &mut reports[m].diagnostics,
        );
    }
    finish(pkg, reports, sel)
}

/// Whether inline `code` and a file's text are the same code (line endings and trailing
/// blank space aside: an exporter may write either).
fn same_code(file: &str, code: &str) -> bool {
    let norm = |s: &str| s.replace("\r\n", "\n").trim_end().to_string();
    let file = file.strip_prefix('\u{feff}').unwrap_or(file);
    norm(file) == norm(code)
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
