//! `--format json`: the stable contract. An array of
//! `{"path","code","severity","message","line","column","end_line","end_column","fix","url"}`,
//! lines and columns 1-based, columns in Unicode scalar values, the end exclusive. `fix` is null
//! or `{"applicability": "safe"|"unsafe", "message", "edits": [{"line","column","end_line",
//! "end_column","new_text"}]}`; `url` is the rule's documentation. Change only additively.

use super::Record;
use fused_core::Applicability;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct Entry<'a> {
    path: &'a str,
    code: &'a str,
    severity: &'a str,
    message: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    fix: Option<FixEntry<'a>>,
    url: String,
}

#[derive(Serialize)]
struct FixEntry<'a> {
    applicability: &'static str,
    message: &'a str,
    edits: Vec<EditEntry<'a>>,
}

#[derive(Serialize)]
struct EditEntry<'a> {
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    new_text: &'a str,
}

fn entries(records: &[Record]) -> Vec<Entry<'_>> {
    records
        .iter()
        .map(|r| Entry {
            path: &r.path,
            code: r.rule.code(),
            severity: r.rule.severity().as_str(),
            message: &r.message,
            line: r.start.line + 1,
            column: r.start.col + 1,
            end_line: r.end.line + 1,
            end_column: r.end.col + 1,
            fix: r.fix.as_ref().map(|f| FixEntry {
                applicability: match f.applicability {
                    Applicability::Safe => "safe",
                    Applicability::Unsafe => "unsafe",
                },
                message: &f.title,
                edits: f
                    .edits
                    .iter()
                    .map(|e| EditEntry {
                        line: e.start.line + 1,
                        column: e.start.col + 1,
                        end_line: e.end.line + 1,
                        end_column: e.end.col + 1,
                        new_text: &e.new_text,
                    })
                    .collect(),
            }),
            url: r.rule.doc_url(),
        })
        .collect()
}

/// The records as `check --format json` prints them (`run` embeds them in a CheckFailed error).
pub fn to_value(records: &[Record]) -> serde_json::Value {
    serde_json::to_value(entries(records)).unwrap_or_default()
}

pub fn write(out: &mut impl Write, records: &[Record]) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &entries(records))?;
    writeln!(out)
}
