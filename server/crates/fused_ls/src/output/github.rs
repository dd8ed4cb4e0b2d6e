//! `--format github`: GitHub Actions workflow commands, one annotation per diagnostic.

use super::Record;
use fused_core::Severity;
use std::io::Write;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn write(out: &mut impl Write, records: &[Record]) -> std::io::Result<()> {
    for r in records {
        let level = match r.rule.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info | Severity::Hint => "notice",
        };
        writeln!(
            out,
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&r.path),
            r.start.line + 1,
            r.start.col + 1,
            r.end.line + 1,
            r.end.col + 1,
            escape_property(&format!("{} {}", r.rule.code(), r.rule.name())),
            escape_data(&r.message)
        )?;
    }
    Ok(())
}
