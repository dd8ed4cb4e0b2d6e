//! `--format human`: `path:line:col: CODE message`, then a code frame with carets, as ruff and
//! rustc print; coloured on a terminal.

use super::Record;
use fused_core::Severity;
use std::io::Write;

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn sev_color(s: Severity) -> &'static str {
    match s {
        Severity::Error => "1;31",
        Severity::Warning => "1;33",
        Severity::Info => "1;34",
        Severity::Hint => "1;36",
    }
}

/// The char range of a line to show: all of it when short, else ~100 chars around the start.
fn window(start: u32, end: u32, len: u32) -> (u32, u32) {
    const MAX: u32 = 100;
    if len <= MAX {
        return (0, len);
    }
    let from = start.saturating_sub(30);
    let to = (from + MAX).min(len).max(end.min(from + MAX));
    (from, to)
}

/// How the human output is shaped.
pub struct Options {
    /// Fixes written by `--fix`.
    pub fixed: usize,
    pub fix_mode: bool,
    pub color: bool,
    /// False when a path was missing, unreadable or not written: "All checks passed!" would lie.
    pub complete: bool,
    /// `--quiet`: the diagnostics only, no summary.
    pub quiet: bool,
    /// `--unsafe-fixes`: unsafe fixes count as applicable for the `[*]` marker.
    pub unsafe_fixes: bool,
}

pub fn write(out: &mut impl Write, records: &[Record], o: &Options) -> std::io::Result<()> {
    let Options {
        fixed,
        fix_mode,
        color,
        complete,
        ..
    } = *o;
    let p = Paint(color);
    for r in records {
        let sev = r.rule.severity();
        // `[*]`: `--fix` (with the flags given) would fix it, as ruff marks them.
        let marker = if r.fix_applies(o.unsafe_fixes) {
            format!("{} ", p.wrap("1;36", "[*]"))
        } else {
            String::new()
        };
        writeln!(
            out,
            "{}:{}:{}: {} {} {marker}{}",
            p.wrap("1", &super::escape_line(&r.path)),
            r.start.line + 1,
            r.start.col + 1,
            p.wrap(sev_color(sev), r.rule.code()),
            p.wrap(sev_color(sev), &format!("[{}]", sev.as_str())),
            super::escape_line(&r.message)
        )?;
        if let Some(line) = &r.line_text {
            let num = (r.start.line + 1).to_string();
            let pad = " ".repeat(num.len());
            let chars: Vec<char> = line
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            let len = chars.len() as u32;
            let start = r.start.col.min(len);
            let end = if r.end.line == r.start.line {
                r.end.col.min(len)
            } else {
                len
            };
            // Long lines (one-line meta.json) show a window around the diagnostic.
            let (from, to) = window(start, end, len);
            // Control characters are shown escaped (`\u{1b}`), so the carets count shown chars.
            let mut shown = String::new();
            let mut col = 0u32;
            let (mut at_start, mut at_end) = (0u32, 0u32);
            if from > 0 {
                shown.push('…');
                col += 1;
            }
            for (i, c) in chars[from as usize..to as usize].iter().enumerate() {
                let i = from + i as u32;
                if i == start {
                    at_start = col;
                }
                if i == end {
                    at_end = col;
                }
                let mut buf = [0u8; 4];
                let piece = super::escape_line(c.encode_utf8(&mut buf));
                col += piece.chars().count() as u32;
                shown.push_str(&piece);
            }
            if start >= to {
                at_start = col;
            }
            if end >= to {
                at_end = col;
            }
            if to < len {
                shown.push('…');
            }
            let (start, width) = (at_start, at_end.saturating_sub(at_start).max(1) as usize);
            writeln!(out, "{pad} {}", p.wrap("1;34", "|"))?;
            writeln!(
                out,
                "{} {} {shown}",
                p.wrap("1;34", &num),
                p.wrap("1;34", "|")
            )?;
            writeln!(
                out,
                "{pad} {} {}{}",
                p.wrap("1;34", "|"),
                " ".repeat(start as usize),
                p.wrap(sev_color(sev), &"^".repeat(width))
            )?;
        }
        writeln!(out)?;
    }
    if o.quiet {
        return Ok(());
    }
    let count = |s: Severity| records.iter().filter(|r| r.rule.severity() == s).count();
    if fix_mode && fixed > 0 {
        writeln!(
            out,
            "Fixed {fixed} problem{}.",
            if fixed == 1 { "" } else { "s" }
        )?;
    }
    if records.is_empty() && !complete {
        writeln!(
            out,
            "No problems found in what could be read; see the errors above."
        )?;
    } else if records.is_empty() {
        writeln!(out, "{}", p.wrap("1;32", "All checks passed!"))?;
    } else {
        let fixable = records
            .iter()
            .filter(|r| r.fix_applies(o.unsafe_fixes))
            .count();
        let hidden = records.iter().filter(|r| r.fix.is_some()).count() - fixable;
        writeln!(
            out,
            "Found {} problem{} ({} error{}, {} warning{}, {} info, {} hint{}).",
            records.len(),
            if records.len() == 1 { "" } else { "s" },
            count(Severity::Error),
            if count(Severity::Error) == 1 { "" } else { "s" },
            count(Severity::Warning),
            if count(Severity::Warning) == 1 {
                ""
            } else {
                "s"
            },
            count(Severity::Info),
            count(Severity::Hint),
            if count(Severity::Hint) == 1 { "" } else { "s" },
        )?;
        if !fix_mode && fixable > 0 {
            writeln!(
                out,
                "[*] {fixable} fixable with `fused-ls check --fix`{}.",
                if o.unsafe_fixes {
                    " --unsafe-fixes"
                } else {
                    ""
                }
            )?;
        }
        if hidden > 0 {
            writeln!(
                out,
                "{hidden} more fixable with `--unsafe-fixes` (they may change behaviour: review them)."
            )?;
        }
    }
    Ok(())
}
