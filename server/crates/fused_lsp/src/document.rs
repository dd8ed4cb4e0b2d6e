//! An open document: the client's text, byte for byte, with its version, line index and the
//! tree-sitter tree of its last parse, edited in step with the text so the next parse is
//! incremental.

use crate::memory::InFlight;
use fused_core::model::PyModel;
use fused_core::{Encoding, LineCol, LineIndex};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tree_sitter::{InputEdit, Point, Tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Python,
    MetaJson,
    Other,
}

pub struct Document {
    /// Unique to this opening of the document: a close and reopen at the same version is
    /// another document, which an analysis of the old one must not write into.
    pub id: u64,
    /// Shared, not copied: each analysis (and a sibling's, which lays this buffer over the disk)
    /// takes a reference; an edit makes a new text.
    pub text: Arc<str>,
    /// The file's path (a `file:` URI's), read once.
    pub path: Option<PathBuf>,
    pub version: i32,
    pub index: LineIndex,
    pub kind: DocKind,
    /// The last tree, already `edit`ed for every change since it was built.
    pub tree: Option<Tree>,
    /// A tree being built off the request path (see [`Document::start_parse`]).
    parsing: Option<ParseJob>,
    /// Its last analysis was slow (its package holds large files): analyse it off the async
    /// threads whatever its own size.
    pub slow_analysis: bool,
    /// [`crate::analysis::digest`] of the diagnostics its last analysis published (`None`
    /// before the first): an analysis of a sibling that computes other diagnostics for this file
    /// re-checks it.
    pub published: Option<u64>,
    /// Held by the analysis of this document that is running: one at a time, so changes
    /// typed during a slow one (a 10 MB file: ≈0.5 s each) queue behind it and only the newest
    /// is analysed next, instead of each starting its own (20 keystrokes in a second took
    /// 10.9 s to publish and 4.6 GB at the peak; now 1.9 s and 1.9 GB).
    pub turn: Arc<tokio::sync::Mutex<()>>,
    /// Changed since it was opened (see [`Document::start_parse`]).
    edited: bool,
    /// The UDF model of this version, read once for every request that needs it (hover, inlay
    /// hints and code lenses all come after each change).
    model: std::sync::OnceLock<PyModel>,
}

/// A full parse running in the background, and the edits made to the text since it started,
/// to be applied to its tree when it lands.
struct ParseJob {
    id: u64,
    edits: Vec<InputEdit>,
    /// Set when the job is dropped (the document closed, its whole text replaced): the parse
    /// stops rather than build a tree nobody will read.
    cancel: Arc<AtomicBool>,
}

impl Drop for ParseJob {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// The work of a background parse, to run off the async threads ([`BackgroundParse::run`]) and
/// hand to [`Document::finish_parse`].
pub struct BackgroundParse {
    pub id: u64,
    text: Arc<str>,
    cancel: Arc<AtomicBool>,
    /// Holds the memory of the text (and of the tree, until the caller drops the job).
    _in_flight: InFlight,
}

impl BackgroundParse {
    /// The tree of the text, or `None` when the document closed (or its text was replaced)
    /// meanwhile.
    pub fn run(&self) -> Option<Tree> {
        fused_core::python::parse_tree_unless(&self.text, &self.cancel)
    }
}

/// Ids of documents and of background parses (one sequence: an id is never reused).
static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One change of `textDocument/didChange`: a range in the negotiated encoding (`None`: the
/// whole document) and its replacement.
pub struct Change {
    pub range: Option<(LineCol, LineCol)>,
    pub text: String,
}

impl Document {
    pub fn new(text: String, version: i32, kind: DocKind) -> Self {
        let index = LineIndex::new(&text);
        Document {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            text: text.into(),
            path: None,
            version,
            index,
            kind,
            tree: None,
            parsing: None,
            slow_analysis: false,
            published: None,
            turn: Arc::default(),
            edited: false,
            model: std::sync::OnceLock::new(),
        }
    }

    /// The UDF model of the current text.
    pub fn model(&self) -> &PyModel {
        self.model
            .get_or_init(|| fused_core::python::model(&self.text))
    }

    /// Starts a background parse if the document has no tree and none is on its way: returns
    /// the job (its id and the text to parse). The caller parses it and hands the tree to
    /// [`Document::finish_parse`], whatever edits arrived meanwhile.
    ///
    /// The parse is cancelled when the document is dropped (closed) or its whole text replaced
    /// before it lands: a tree nobody will read is not finished.
    ///
    /// Only once the document has been edited: a tree serves incremental re-parses, and a
    /// document only opened (1,000 files of a folder) would hold one each (most of the memory).
    pub fn start_parse(&mut self) -> Option<BackgroundParse> {
        if self.kind != DocKind::Python
            || !self.edited
            || self.tree.is_some()
            || self.parsing.is_some()
        {
            return None;
        }
        let id = IDS.fetch_add(1, Ordering::Relaxed);
        let cancel = Arc::new(AtomicBool::new(false));
        self.parsing = Some(ParseJob {
            id,
            edits: Vec::new(),
            cancel: cancel.clone(),
        });
        Some(BackgroundParse {
            id,
            text: self.text.clone(),
            cancel,
            _in_flight: InFlight::start(),
        })
    }

    /// Takes the tree of background parse `id`, brought up to date with the edits made since
    /// it started (as if it had been there all along). A stale job (the whole text was
    /// replaced, or the tree came from elsewhere first) is dropped.
    pub fn finish_parse(&mut self, id: u64, mut tree: Tree) {
        match self.parsing.take() {
            Some(job) if job.id == id => {
                if self.tree.is_none() {
                    for edit in &job.edits {
                        tree.edit(edit);
                    }
                    self.tree = Some(tree);
                }
            }
            other => self.parsing = other,
        }
    }

    /// Applies changes in order, as the protocol requires.
    pub fn apply(&mut self, changes: Vec<Change>, version: i32, enc: Encoding) {
        self.model = std::sync::OnceLock::new();
        self.edited = true;
        // Edited as one `String`, shared again once every change is in.
        let mut text = String::from(&*self.text);
        for change in changes {
            match change.range {
                None => {
                    text = change.text;
                    self.tree = None;
                    self.parsing = None;
                    self.index = LineIndex::new(&text);
                }
                Some((start, end)) => {
                    let s = self.index.offset(start, &text, enc) as usize;
                    let e = (self.index.offset(end, &text, enc) as usize).max(s);
                    self.replace(&mut text, s..e, &change.text);
                }
            }
        }
        self.text = text.into();
        self.version = version;
    }

    /// Replaces `range` and edits the tree. The parser sees the text with comment-only lines
    /// masked (see `python::mask_comment_lines`), so when a `#` is involved the edit given to
    /// tree-sitter spans whole lines: typing a `#` changes what the parser sees up to the end of
    /// its line, beyond the edited bytes. Otherwise it spans the edited bytes only, so a
    /// keystroke in a long line re-parses around the keystroke, not the whole line (a 1.2 MB
    /// one-line literal took a full re-parse per keystroke). Either way it starts at the `\r`
    /// just before, if any: the parser is shown a lone `\r` as `\n`, so a `\n` typed after it
    /// changes that byte too.
    fn replace(&mut self, text: &mut String, range: std::ops::Range<usize>, new_text: &str) {
        let line_start = self
            .index
            .line_start(self.index.line_of(range.start as u32)) as usize;
        let line_end = self
            .index
            .line_range(self.index.line_of(range.end as u32), text)
            .end
            .max(range.end);
        let whole_lines =
            text.as_bytes()[line_start..line_end].contains(&b'#') || new_text.contains('#');
        let (mut start, old_end) = if whole_lines {
            (line_start, line_end)
        } else {
            (range.start, range.end)
        };
        if start > 0 && text.as_bytes()[start - 1] == b'\r' {
            start -= 1;
        }
        let start_position = point(&self.index, text, start);
        let old_end_position = point(&self.index, text, old_end);
        text.replace_range(range.clone(), new_text);
        self.index = LineIndex::new(text);
        let new_end = old_end + new_text.len() - (range.end - range.start);
        if self.tree.is_none() && self.parsing.is_none() {
            return;
        }
        let edit = InputEdit {
            start_byte: start,
            old_end_byte: old_end,
            new_end_byte: new_end,
            start_position,
            old_end_position,
            new_end_position: point(&self.index, text, new_end),
        };
        if let Some(tree) = &mut self.tree {
            tree.edit(&edit);
        } else if let Some(job) = &mut self.parsing {
            job.edits.push(edit);
        }
    }
}

fn point(index: &LineIndex, text: &str, offset: usize) -> Point {
    let lc = index.line_col(offset as u32, text, Encoding::Utf8);
    Point {
        row: lc.line as usize,
        column: lc.col as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so a failure reproduces.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const PIECES: &[&str] = &[
        "a",
        "é",
        "😀",
        "漢字",
        "e\u{301}",
        "\n",
        "\r\n",
        "",
        "  ",
        "bounds: int",
        "\t#c\n",
        "ü😀\n",
        // Quotes change which later `#` lines are comments (masked before parsing).
        "\"\"\"",
        "'''",
        "'",
        "\\",
        "# x\n",
        "\n# y",
        // A lone CR ends a line (LSP, CPython); next to a `\n` it makes or breaks a `\r\n`.
        "\r",
        "x\r",
        "\r# z\r",
    ];

    fn char_boundaries(s: &str) -> Vec<usize> {
        s.char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(s.len()))
            .collect()
    }

    /// The client's position of byte `offset`, counted as the LSP specification says (a line
    /// ends at `\n`, `\r\n` or `\r`), independently of `LineIndex`.
    fn client_position(text: &str, offset: usize, enc: Encoding) -> LineCol {
        let (mut line, mut col) = (0, 0);
        for (i, c) in text[..offset].char_indices() {
            // The `\r` of a `\r\n` ends nothing: its `\n` does.
            let crlf = c == '\r' && text[i + 1..].starts_with('\n');
            if c == '\n' || (c == '\r' && !crlf) {
                line += 1;
                col = 0;
            } else if !crlf {
                col += match enc {
                    Encoding::Utf8 => c.len_utf8(),
                    Encoding::Utf16 => c.len_utf16(),
                    Encoding::Utf32 => 1,
                } as u32;
            }
        }
        LineCol { line, col }
    }

    #[test]
    fn thousands_of_random_edits_keep_the_text_identical() {
        for (seed, enc) in [
            (1u64, Encoding::Utf16),
            (2, Encoding::Utf8),
            (3, Encoding::Utf32),
            (4, Encoding::Utf16),
        ] {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut reference =
                String::from("@fused.udf\ndef udf(n: int = 1):\n    return n  # 😀\n");
            let mut doc = Document::new(reference.clone(), 0, DocKind::Python);
            doc.tree = Some(fused_core::python::parse_tree(&doc.text, None));
            for step in 0..2500 {
                let b = char_boundaries(&reference);
                let mut s = b[rng.below(b.len())];
                let mut e = b[rng.below(b.len())];
                if s > e {
                    std::mem::swap(&mut s, &mut e);
                }
                // Never split a "\r\n": the client's own positions cannot point between them.
                if s > 0
                    && reference.as_bytes()[s - 1] == b'\r'
                    && reference.as_bytes().get(s) == Some(&b'\n')
                {
                    s -= 1;
                }
                if e > 0
                    && reference.as_bytes()[e - 1] == b'\r'
                    && reference.as_bytes().get(e) == Some(&b'\n')
                {
                    e += 1;
                }
                let new: String = (0..rng.below(3))
                    .map(|_| PIECES[rng.below(PIECES.len())])
                    .collect();
                let start = client_position(&reference, s, enc);
                let end = client_position(&reference, e, enc);
                reference.replace_range(s..e, &new);
                doc.apply(
                    vec![Change {
                        range: Some((start, end)),
                        text: new,
                    }],
                    step,
                    enc,
                );
                assert_eq!(&*doc.text, reference, "seed {seed} step {step}");
                if step % 50 == 0 {
                    // The edited tree reparses to exactly what a fresh parse gives.
                    let tree = fused_core::python::parse_tree(&doc.text, doc.tree.as_ref());
                    let fresh = fused_core::python::parse_tree(&doc.text, None);
                    assert_eq!(
                        tree.root_node().to_sexp(),
                        fresh.root_node().to_sexp(),
                        "seed {seed} step {step}"
                    );
                    doc.tree = Some(tree);
                }
            }
        }
    }

    #[test]
    fn a_background_parse_catches_up_with_edits_typed_meanwhile() {
        let src = "import fused\n\n@fused.udf\ndef udf(n: int = 1):\n    return n\n";
        let mut doc = Document::new(src.into(), 1, DocKind::Python);
        assert!(
            doc.start_parse().is_none(),
            "no tree for a document only opened"
        );
        doc.edited = true;
        let job = doc.start_parse().expect("no tree yet: a parse starts");
        let (id, text) = (job.id, job.text.clone());
        assert!(
            doc.start_parse().is_none(),
            "one background parse at a time"
        );
        let edits = [
            ((3, 18), (3, 18), ", bounds: fused.types.Bounds = None"),
            ((4, 11), (4, 12), "bounds  # é"),
        ];
        for (i, (s, e, t)) in edits.into_iter().enumerate() {
            let lc = |(line, col)| LineCol { line, col };
            doc.apply(
                vec![Change {
                    range: Some((lc(s), lc(e))),
                    text: t.into(),
                }],
                2 + i as i32,
                Encoding::Utf16,
            );
        }
        // The tree of the old text lands after the edits.
        doc.finish_parse(id, fused_core::python::parse_tree(&text, None));
        let tree = fused_core::python::parse_tree(&doc.text, doc.tree.as_ref());
        let fresh = fused_core::python::parse_tree(&doc.text, None);
        assert_eq!(tree.root_node().to_sexp(), fresh.root_node().to_sexp());
        assert!(doc
            .text
            .contains("bounds: fused.types.Bounds = None):\n    return bounds  # é\n"));

        // A whole-text replacement makes a parse in flight stale.
        let mut doc = Document::new(src.into(), 1, DocKind::Python);
        doc.edited = true;
        let job = doc.start_parse().unwrap();
        let (id, text) = (job.id, job.text.clone());
        doc.apply(
            vec![Change {
                range: None,
                text: "x = 1\n".into(),
            }],
            2,
            Encoding::Utf16,
        );
        doc.finish_parse(id, fused_core::python::parse_tree(&text, None));
        assert!(doc.tree.is_none());
        // ... and the parse itself is told to stop (tree-sitter looks every few hundred steps:
        // this small text would be parsed before it looks).
        assert!(
            job.cancel.load(Ordering::Relaxed),
            "a stale parse is cancelled"
        );
    }

    /// A closed document's background parse stops instead of building a tree nobody reads.
    #[test]
    fn closing_a_document_cancels_its_background_parse() {
        let mut doc = Document::new(
            format!("DATA = [{}]\n", "1, ".repeat(100_000)),
            1,
            DocKind::Python,
        );
        doc.edited = true;
        let job = doc.start_parse().unwrap();
        drop(doc);
        assert!(job.run().is_none());

        // An open one's parse lands.
        let mut doc = Document::new("x = 1\n".into(), 1, DocKind::Python);
        doc.edited = true;
        let job = doc.start_parse().unwrap();
        let id = job.id;
        doc.finish_parse(id, job.run().expect("not cancelled"));
        assert!(doc.tree.is_some());
    }

    /// Opening or closing a triple-quoted string changes which later `#` lines are comments
    /// (masked before parsing) far beyond the edited line: the incremental parse must still
    /// equal a fresh one.
    #[test]
    fn a_quote_that_turns_later_comment_lines_into_text() {
        let src = "x = 1\n# one\ny = 2\n# two \"\"\"\nz = 3\n# three\n";
        for (line, col, insert) in [(0, 0, "s = \"\"\"\n"), (2, 5, "  \"\"\""), (4, 0, "'''")] {
            let mut doc = Document::new(src.into(), 1, DocKind::Python);
            doc.tree = Some(fused_core::python::parse_tree(&doc.text, None));
            let at = LineCol { line, col };
            doc.apply(
                vec![Change {
                    range: Some((at, at)),
                    text: insert.into(),
                }],
                2,
                Encoding::Utf16,
            );
            let tree = fused_core::python::parse_tree(&doc.text, doc.tree.as_ref());
            let fresh = fused_core::python::parse_tree(&doc.text, None);
            assert_eq!(
                tree.root_node().to_sexp(),
                fresh.root_node().to_sexp(),
                "after inserting {insert:?}:\n{}",
                doc.text
            );
        }
    }

    #[test]
    fn the_model_follows_every_change() {
        let mut doc = Document::new(
            "@fused.udf\ndef a(n: int = 1):\n    pass\n".into(),
            1,
            DocKind::Python,
        );
        assert_eq!(doc.model().udfs[0].name, "a");
        let at = LineCol { line: 1, col: 4 };
        let after = LineCol { line: 1, col: 5 };
        doc.apply(
            vec![Change {
                range: Some((at, after)),
                text: "renamed".into(),
            }],
            2,
            Encoding::Utf16,
        );
        assert_eq!(doc.model().udfs[0].name, "renamed");
        assert_eq!(doc.model().udfs[0].params[0].name, "n");
    }

    #[test]
    fn whole_document_replacement() {
        let mut doc = Document::new("abc".into(), 1, DocKind::Python);
        doc.apply(
            vec![Change {
                range: None,
                text: "xyz😀".into(),
            }],
            2,
            Encoding::Utf16,
        );
        assert_eq!(&*doc.text, "xyz😀");
        assert_eq!(doc.version, 2);
    }
}
