//! What a check produces: a rule, a byte range, a message and maybe a fix.

use crate::registry::Rule;
use serde::Serialize;
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
    Hint,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Hint => "hint",
        }
    }
}

/// Replace `range` (bytes) with `new_text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    pub range: Range<usize>,
    pub new_text: String,
}

/// Whether `--fix` may apply a fix without asking (`Safe`) or only on request (`Unsafe`:
/// shown as a quick fix in the editor, applied by the CLI with `--unsafe-fixes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applicability {
    Safe,
    Unsafe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// A short imperative title ("Rename `bbox` to `bounds`").
    pub title: String,
    /// Edits to the file the diagnostic is in, not overlapping.
    pub edits: Vec<TextEdit>,
    pub applicability: Applicability,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: Rule,
    /// Byte range in the file the diagnostic belongs to.
    pub range: Range<usize>,
    pub message: String,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn new(rule: Rule, range: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            range,
            message: message.into(),
            fix: None,
        }
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }
}

/// Applies non-overlapping edits to `text`. Edits that overlap an earlier one are skipped, so a
/// caller can apply whatever fixes fit and re-check for the rest.
pub fn apply_edits(text: &str, edits: &[TextEdit]) -> (String, usize) {
    let mut sorted: Vec<&TextEdit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut applied = 0;
    for edit in sorted {
        if edit.range.start < pos || edit.range.end > text.len() {
            continue;
        }
        out.push_str(&text[pos..edit.range.start]);
        out.push_str(&edit.new_text);
        pos = edit.range.end;
        applied += 1;
    }
    out.push_str(&text[pos..]);
    (out, applied)
}
