//! Rendering diagnostics. Every format reads the same [`Record`]s, whose positions are
//! converted once, here, from the core's byte ranges.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::ColorChoice;
use fused_core::{Diagnostic, Encoding, LineCol, LineIndex, Rule};
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
    pub fixable: bool,
}

impl Record {
    pub fn new(path: &str, text: Option<&str>, d: &Diagnostic) -> Record {
        let (start, end, line_text) = match text {
            Some(text) => {
                let index = LineIndex::new(text);
                let start = index.line_col(d.range.start as u32, text, Encoding::Utf32);
                let end = index.line_col(d.range.end as u32, text, Encoding::Utf32);
                let line = text[index.line_range(start.line, text)].to_string();
                (start, end, Some(line))
            }
            None => (
                LineCol { line: 0, col: 0 },
                LineCol { line: 0, col: 0 },
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
            fixable: d.fix.is_some(),
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
            fixable: false,
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
