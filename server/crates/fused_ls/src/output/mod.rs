//! Rendering diagnostics. Every format reads the same [`Record`]s, whose positions are
//! converted once, here, from the core's byte ranges.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;
pub mod statistics;

use crate::ColorChoice;
use fused_core::{Applicability, Diagnostic, Encoding, LineCol, LineIndex, Rule};
use std::io::IsTerminal;

/// One diagnostic, positioned: zero-based lines, columns in Unicode scalar values.
pub struct Record {
    pub path: String,
    pub rule: Rule,
    pub message: String,
    pub start: LineCol,
    pub end: LineCol,
    /// The text of the start line, for the code frame.
    pub line_text: Option<String>,
    /// The fix, positioned like the diagnostic (none when the text is not known).
    pub fix: Option<FixRecord>,
}

/// A diagnostic's fix: how safe, its title and its edits.
pub struct FixRecord {
    pub applicability: Applicability,
    pub title: String,
    pub edits: Vec<EditRecord>,
}

/// One edit of a fix: replace start..end (end exclusive) with `new_text`.
pub struct EditRecord {
    pub start: LineCol,
    pub end: LineCol,
    pub new_text: String,
}

impl Record {
    /// Whether `--fix` applies this diagnostic's fix: a safe one, or any with `--unsafe-fixes`
    /// (ruff's `[*]`).
    pub fn fix_applies(&self, unsafe_fixes: bool) -> bool {
        self.fix
            .as_ref()
            .is_some_and(|f| f.applicability == Applicability::Safe || unsafe_fixes)
    }
}

impl Record {
    pub fn new(path: &str, text: Option<&str>, d: &Diagnostic) -> Record {
        let (start, end, line_text, fix) = match text {
            Some(text) => {
                let index = LineIndex::new(text);
                let at = |offset: usize| index.line_col(offset as u32, text, Encoding::Utf32);
                let (start, end) = (at(d.range.start), at(d.range.end));
                let line = text[index.line_range(start.line, text)].to_string();
                let fix = d.fix.as_ref().map(|f| FixRecord {
                    applicability: f.applicability,
                    title: f.title.clone(),
                    edits: f
                        .edits
                        .iter()
                        .map(|e| EditRecord {
                            start: at(e.range.start),
                            end: at(e.range.end),
                            new_text: e.new_text.clone(),
                        })
                        .collect(),
                });
                (start, end, Some(line), fix)
            }
            None => (
                LineCol { line: 0, col: 0 },
                LineCol { line: 0, col: 0 },
                None,
                None,
            ),
        };
        Record {
            path: path.to_string(),
            rule: d.rule,
            message: d.message.clone(),
            start,
            end,
            line_text,
            fix,
        }
    }

    /// A diagnostic about a file as a whole (it could not be read).
    pub fn whole_file(path: String, rule: Rule, message: String) -> Record {
        let zero = LineCol { line: 0, col: 0 };
        Record {
            path,
            rule,
            message,
            start: zero,
            end: zero,
            line_text: None,
            fix: None,
        }
    }
}

pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    }
}

/// Whether a character must not reach a terminal raw: C0 and C1 controls and DEL (an escape
/// sequence in a file name or a source line can move the cursor, retitle the window or hide
/// text), and the bidirectional overrides and isolates that reorder what a line seems to say.
/// Tab and newline are left to the caller.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every terminal-unsafe character written as `\u{1b}`; other Unicode is kept as is.
/// For human output only: JSON, SARIF and GitHub annotations are escaped by their own encoders.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// [`escape`] for one line of text shown whole: a newline is escaped too.
pub fn escape_line(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\n') {
        return escape(s);
    }
    std::borrow::Cow::Owned(escape(s).replace('\n', "\\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_keeps_unicode() {
        assert_eq!(escape("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("é 🎉 日本\tx\ny"), "é 🎉 日本\tx\ny");
        assert_eq!(
            escape("\u{202e}cod\u{7f}\u{9b}"),
            "\\u{202e}cod\\u{7f}\\u{9b}"
        );
        assert_eq!(escape_line("a\nb\r"), "a\\nb\\u{d}");
    }
}
