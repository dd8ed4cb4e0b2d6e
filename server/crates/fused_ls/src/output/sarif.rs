//! `--format sarif`: SARIF 2.1.0, one run, the full rule list in the driver.

use super::Record;
use fused_core::{Rule, Severity};
use serde_json::json;
use std::io::Write;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Hint => "note",
    }
}

pub fn write(out: &mut impl Write, records: &[Record]) -> std::io::Result<()> {
    let rules: Vec<_> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.code(),
                "name": r.name(),
                "helpUri": r.doc_url(),
                "shortDescription": { "text": r.summary() },
                "fullDescription": { "text": r.rationale() },
                "help": { "text": r.rationale(), "markdown": r.doc_markdown() },
                "defaultConfiguration": { "level": level(r.severity()) },
            })
        })
        .collect();
    let results: Vec<_> = records
        .iter()
        .map(|r| {
            let index = Rule::ALL.iter().position(|x| *x == r.rule).unwrap_or(0);
            json!({
                "ruleId": r.rule.code(),
                "ruleIndex": index,
                "level": level(r.rule.severity()),
                "message": { "text": r.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": r.path.replace('\\', "/") },
                        "region": {
                            "startLine": r.start.line + 1,
                            "startColumn": r.start.col + 1,
                            "endLine": r.end.line + 1,
                            "endColumn": r.end.col + 1,
                        }
                    }
                }],
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "fused-ls",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/fusedio/udfs",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
