//! Parsing Python: Ruff's parser for the exact syntax errors of the Python 3.11 grammar and,
//! when the file is clean, the AST the UDF model is read from; tree-sitter for the
//! error-tolerant tree the model is read from when it is not.
//!
//! Two parsers because they answer different questions. Ruff's parser is exact about what
//! CPython accepts, knows which syntax is newer than the target version, and is fast (≈3 ms for
//! 5,000 lines). tree-sitter recovers locally from errors, so a half-typed line does not hide the
//! rest of the file from the rules, and it reparses incrementally while typing (from scratch it
//! is ≈8x slower than Ruff, so it is built only when needed).

use crate::diagnostic::Diagnostic;
use crate::model::{self, PyModel};
use crate::registry::Rule;
use ruff_python_ast::{Mod, PythonVersion};
use ruff_python_parser::{Mode, ParseOptions};
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use tree_sitter::{Parser, Tree};

thread_local! {
    static TS_PARSER: RefCell<Parser> = RefCell::new({
        let mut p = Parser::new();
        p.set_language(&tree_sitter_python::LANGUAGE.into())
            .expect("tree-sitter-python matches the tree-sitter ABI");
        p
    });
}

/// Parses `text` with tree-sitter. Pass the previous tree, already `edit`ed, to reparse
/// incrementally.
pub fn parse_tree(text: &str, old: Option<&Tree>) -> Tree {
    let masked = mask_comment_lines(text);
    TS_PARSER.with(|p| {
        p.borrow_mut()
            .parse(masked.as_ref(), old)
            .expect("no timeout or cancellation is set")
    })
}

/// [`parse_tree`] from scratch that gives up, returning `None`, soon after `cancelled` is set
/// (tree-sitter checks it every few hundred steps): a background parse whose document was
/// closed or replaced meanwhile stops instead of finishing a tree nobody will read (for a
/// 10 MB one-line literal, seconds of work and over a GB of nodes).
pub fn parse_tree_unless(text: &str, cancelled: &AtomicBool) -> Option<Tree> {
    let masked = mask_comment_lines(text);
    let bytes = masked.as_bytes();
    let mut stop = |_: &tree_sitter::ParseState| {
        if cancelled.load(Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    TS_PARSER.with(|p| {
        let mut p = p.borrow_mut();
        let tree = p.parse_with_options(
            &mut |i, _| bytes.get(i..).unwrap_or_default(),
            None,
            Some(tree_sitter::ParseOptions::new().progress_callback(&mut stop)),
        );
        if tree.is_none() {
            // A cancelled parse is kept for resuming; the next parse on this thread is of
            // another text and must start afresh (and the partial parse's memory is freed).
            p.reset();
        }
        tree
    })
}

/// Blanks the text of lines that hold only a comment, byte for byte, so every offset stays the
/// same. tree-sitter-python's external scanner looks ahead over every following comment line at
/// each newline, which is quadratic in a run of comment lines (8,000 of them took 10 s);
/// blank lines cost it nothing, and no rule reads comments from the tree. A line inside a
/// string (a docstring line starting with `#`) is not a comment and is left alone.
///
/// A lone `\r` becomes a `\n` (one byte for one): CPython ends a line there, tree-sitter's
/// grammar only at `\n`, and the server's tree positions count lines as CPython and LSP do.
pub fn mask_comment_lines(text: &str) -> std::borrow::Cow<'_, str> {
    let raw = text.as_bytes();
    let lone_cr = |i: usize| raw[i] == b'\r' && raw.get(i + 1) != Some(&b'\n');
    let normalized: Option<Vec<u8>> =
        (raw.contains(&b'\r') && (0..raw.len()).any(lone_cr)).then(|| {
            let mut v = raw.to_vec();
            for (i, b) in v.iter_mut().enumerate() {
                if lone_cr(i) {
                    *b = b'\n';
                }
            }
            v
        });
    let bytes = normalized.as_deref().unwrap_or(raw);
    let mut out: Option<Vec<u8>> = None;
    let mut line_start = 0;
    let mut open = Open::Code;
    while line_start < bytes.len() {
        let line_end = bytes[line_start..]
            .iter()
            .position(|&c| c == b'\n')
            .map(|i| line_start + i)
            .unwrap_or(bytes.len());
        let line = &bytes[line_start..line_end];
        if open == Open::Code {
            let i = line_start
                + line
                    .iter()
                    .take_while(|&&c| c == b' ' || c == b'\t')
                    .count();
            if i < line_end && bytes[i] == b'#' {
                let buf = out.get_or_insert_with(|| bytes.to_vec());
                let mut end = line_end;
                if end > i && buf[end - 1] == b'\r' {
                    end -= 1;
                }
                buf[i..end].fill(b' ');
            }
        }
        open = string_state_after(line, open);
        line_start = line_end + 1;
    }
    match out.or(normalized) {
        // Only whole comments (from an ASCII `#` to the line end) became ASCII spaces, and
        // lone `\r`s `\n`s.
        Some(buf) => std::borrow::Cow::Owned(String::from_utf8(buf).expect("masking keeps UTF-8")),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// What is open at a line break: code, a triple-quoted string, or a one-line string continued
/// with a `\\` (each with its quote byte).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Code,
    Triple(u8),
    Single(u8),
}

/// Scans one line (a rough tokenizer: quotes, backslash escapes, comments) and returns what is
/// open at its end, given what was open at its start.
fn string_state_after(line: &[u8], mut open: Open) -> Open {
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        match open {
            Open::Code => match c {
                b'#' => return Open::Code,
                b'\'' | b'"' if line[i..].starts_with(&[c, c, c]) => {
                    open = Open::Triple(c);
                    i += 3;
                    continue;
                }
                b'\'' | b'"' => open = Open::Single(c),
                _ => {}
            },
            Open::Triple(_) | Open::Single(_) if c == b'\\' => {
                // An escape; at the line end, a continuation of the string.
                i += 2;
                if i > line.len() || (i == line.len() && line.last() == Some(&b'\r')) {
                    return open;
                }
                continue;
            }
            Open::Triple(q) if line[i..].starts_with(&[q, q, q]) => {
                open = Open::Code;
                i += 3;
                continue;
            }
            Open::Single(q) if c == q => open = Open::Code,
            _ => {}
        }
        i += 1;
    }
    // A one-line string not continued with `\\` ends with its line (an error tree-sitter sees).
    match open {
        Open::Single(_) => Open::Code,
        other => other,
    }
}

/// A Python file read for the rules: its syntax diagnostics, its UDF model and, when one was
/// built, its tree-sitter tree.
pub struct Parsed {
    pub syntax: Vec<Diagnostic>,
    pub model: PyModel,
    /// Built when the file has syntax errors (the model is then read from it) or when the
    /// caller passed a previous tree to keep up to date; `None` otherwise.
    pub tree: Option<Tree>,
    /// Ruff's AST when the file parsed cleanly: the rules that read more than the model
    /// (`fused.cache` calls, every annotation, imports) read it.
    pub module: Option<ruff_python_parser::Parsed<ruff_python_ast::ModModule>>,
}

/// Parses `text` once with Ruff (syntax errors; the model when the file is clean) and, only
/// where needed, with tree-sitter. Pass `old_tree` (already `edit`ed to match `text`) to have
/// the tree kept up to date incrementally, whatever the file's state: the language server does,
/// so the tree is at hand the moment a keystroke breaks the syntax.
pub fn parse(text: &str, old_tree: Option<&Tree>) -> Parsed {
    let parsed = ruff_parse(text);
    let syntax = syntax_diagnostics(text, &parsed);
    let mut tree = old_tree.map(|old| parse_tree(text, Some(old)));
    let module = clean_module(parsed);
    let model = match &module {
        Some(m) => model::from_ast(m.syntax(), m.tokens(), text),
        None => model::build(tree.get_or_insert_with(|| parse_tree(text, None)), text),
    };
    Parsed {
        syntax,
        model,
        tree,
        module,
    }
}

/// Ruff's parse of `text` as a module, under the Python 3.11 grammar.
fn ruff_parse(text: &str) -> ruff_python_parser::Parsed<Mod> {
    let options = ParseOptions::from(Mode::Module).with_target_version(PythonVersion::PY311);
    ruff_python_parser::parse_unchecked(text, options)
}

/// The module, when it parsed with no error and no syntax newer than 3.11: the AST the model
/// is read from.
fn clean_module(
    parsed: ruff_python_parser::Parsed<Mod>,
) -> Option<ruff_python_parser::Parsed<ruff_python_ast::ModModule>> {
    let clean = parsed.errors().is_empty() && parsed.unsupported_syntax_errors().is_empty();
    clean.then(|| parsed.try_into_module()).flatten()
}

/// The UDF model of `text`, by the fastest reliable route (see [`parse`]).
pub fn model(text: &str) -> PyModel {
    parse(text, None).model
}

/// The syntax errors under the Python 3.11 grammar (FUSED001) and the uses of newer syntax
/// (FUSED002), with exact byte ranges.
fn syntax_diagnostics(text: &str, parsed: &ruff_python_parser::Parsed<Mod>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Only the first error: after it the parser's recovery reports consequences, not causes,
    // and Python itself stops at the first one.
    if let Some(err) = parsed.errors().first() {
        let range = err.location.start().to_usize()..err.location.end().to_usize();
        out.push(Diagnostic::new(
            Rule::SyntaxError,
            range.clone(),
            syntax_message(text, range, &err.error.to_string()),
        ));
    }
    for err in parsed.unsupported_syntax_errors() {
        let range = err.range.start().to_usize()..err.range.end().to_usize();
        let msg = err.to_string();
        out.push(Diagnostic::new(
            Rule::NewerSyntax,
            range,
            format!("{msg}; the Fused SDK runs Python <3.12, rewrite it with 3.11 syntax"),
        ));
    }
    out
}

fn syntax_message(text: &str, range: std::ops::Range<usize>, base: &str) -> String {
    // The most common pasted-in trap gets named explicitly.
    let start = range.start.min(text.len());
    let around = &text[floor_char(text, start.saturating_sub(4))
        ..ceil_char(text, (range.end + 4).min(text.len()))];
    if around.contains('\u{a0}') || text[start..].starts_with('\u{a0}') {
        return format!("Syntax error: {base}; a non-breaking space (U+00A0) is in the code, replace it with a plain space");
    }
    format!("Syntax error: {base}")
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// For tests: whether the two model readers agree on `text`. `Ok(false)`: not comparable, the
/// file has syntax errors (only the tree-sitter reader applies) or is valid Python that
/// tree-sitter-python cannot parse (a comment line at column 0 inside brackets, `@\` before a
/// decorator): such a file is read from Ruff's AST while it is valid, so the gap shows only
/// while it also has a syntax error. `Err`: the first field where the readers differ.
///
/// Known differences left as they are (Ruff's reading is Python's): `\N{NAME}` escapes (no
/// Unicode name table on the tree-sitter side), identifiers Python NFKC-normalises (`ﬁ`), and
/// a lone `\r` as a line break.
#[doc(hidden)]
pub fn readers_agree(text: &str) -> Result<bool, String> {
    let Some(module) = clean_module(ruff_parse(text)) else {
        return Ok(false);
    };
    let tree = parse_tree(text, None);
    if tree.root_node().has_error() {
        return Ok(false);
    }
    let ast = model::from_ast(module.syntax(), module.tokens(), text);
    let tree = model::build(&tree, text);
    let differ = |what: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
        Err(format!(
            "{what} differ:\n  Ruff AST:    {a:?}\n  tree-sitter: {b:?}"
        ))
    };
    if ast.future_annotations != tree.future_annotations {
        return differ(
            "future_annotations",
            &ast.future_annotations,
            &tree.future_annotations,
        );
    }
    if ast.udfs.len() != tree.udfs.len() {
        return differ("UDF names", &names(&ast), &names(&tree));
    }
    for (a, b) in ast.udfs.iter().zip(&tree.udfs) {
        if a.params != b.params {
            for (pa, pb) in a.params.iter().zip(&b.params) {
                if pa != pb {
                    return differ(&format!("params of `{}`", a.name), pa, pb);
                }
            }
            return differ(&format!("params of `{}`", a.name), &a.params, &b.params);
        }
        if a != b {
            return differ(&format!("UDF `{}`", a.name), a, b);
        }
    }
    if ast.functions != tree.functions {
        let fnames = |m: &PyModel| {
            m.functions
                .iter()
                .map(|u| u.name.clone())
                .collect::<Vec<_>>()
        };
        if fnames(&ast) != fnames(&tree) {
            return differ("undecorated function names", &fnames(&ast), &fnames(&tree));
        }
        for (a, b) in ast.functions.iter().zip(&tree.functions) {
            if a != b {
                return differ(&format!("function `{}`", a.name), a, b);
            }
        }
    }
    if ast.tile_runs != tree.tile_runs {
        return differ("tile runs", &ast.tile_runs, &tree.tile_runs);
    }
    if ast.loads != tree.loads {
        return differ("fused.load calls", &ast.loads, &tree.loads);
    }
    if ast.imported_modules != tree.imported_modules {
        return differ(
            "imported modules",
            &ast.imported_modules,
            &tree.imported_modules,
        );
    }
    Ok(true)
}

fn names(m: &PyModel) -> Vec<&str> {
    m.udfs.iter().map(|u| u.name.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_comment_lines_outside_strings_are_masked() {
        let masked = |t: &str| mask_comment_lines(t).into_owned();
        assert_eq!(
            masked("# a\nx = 1  # b\n  # c\r\n"),
            "   \nx = 1  # b\n     \r\n"
        );
        // Inside a docstring, even where it closes, a `#` line is text.
        let doc = "def f():\n    \"\"\"Doc.\n# Title\n    # note\"\"\"\n# after\n";
        assert_eq!(masked(doc), doc.replace("\n# after", "\n       "));
        // A one-line string continued with a backslash, and a triple-quoted one on one line.
        let single = "s = '''a # b''' ; t = \"x\\\n# still a string\"\n# c\n";
        assert_eq!(masked(single), single.replace("\n# c", "\n   "));
        // Quotes in comments and escaped quotes do not open strings.
        let tricky = "x = 1  # it's\n# y\ns = 'a\\'b'\n# z\n";
        assert_eq!(masked(tricky), "x = 1  # it's\n   \ns = 'a\\'b'\n   \n");
        for t in [doc, single, tricky] {
            assert_eq!(masked(t).len(), t.len(), "same bytes, same length");
        }
    }

    #[test]
    fn a_cancelled_parse_stops_and_the_next_one_starts_afresh() {
        let big = format!("DATA = [{}]\n", "1, ".repeat(200_000));
        let set = AtomicBool::new(true);
        assert!(parse_tree_unless(&big, &set).is_none());
        // The same thread's parser, on another text: a whole tree of that text, not a
        // resumption of the cancelled one.
        let small = "x = 1\n";
        let tree = parse_tree_unless(small, &AtomicBool::new(false)).unwrap();
        assert_eq!(
            tree.root_node().to_sexp(),
            parse_tree(small, None).root_node().to_sexp()
        );
        assert_eq!(tree.root_node().end_byte(), small.len());
    }

    #[test]
    fn tree_sitter_only_when_needed() {
        let clean = "import fused\n@fused.udf\ndef udf(n: int = 1):\n    return n\n";
        let p = parse(clean, None);
        assert!(p.tree.is_none() && p.syntax.is_empty());
        assert_eq!(p.model.udfs[0].name, "udf");

        // A half-typed line: the model still comes, from the error-tolerant tree.
        let broken = "import fused\n@fused.udf\ndef udf(n: int = 1):\n    return (n\n";
        let p = parse(broken, None);
        assert!(p.tree.is_some());
        assert_eq!(p.syntax[0].rule, Rule::SyntaxError);
        assert_eq!(p.model.udfs[0].params[0].name, "n");

        // A caller keeping a tree gets it back up to date, clean file or not.
        let old = parse_tree(clean, None);
        let p = parse(clean, Some(&old));
        assert_eq!(
            p.tree.unwrap().root_node().to_sexp(),
            old.root_node().to_sexp()
        );
    }
}
