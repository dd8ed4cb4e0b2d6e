//! `--statistics`: how many diagnostics of each rule, instead of the diagnostics, as ruff
//! prints them: count, code, `[*]` when `--fix` would fix them, name. With `--format json`, an
//! array of `{"code","name","count","fixable"}`.

use super::Record;
use fused_core::Rule;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct Stat {
    code: &'static str,
    name: &'static str,
    count: usize,
    fixable: bool,
}

fn stats(records: &[Record], unsafe_fixes: bool) -> Vec<Stat> {
    let mut by_rule: std::collections::BTreeMap<Rule, (usize, bool)> = Default::default();
    for r in records {
        let e = by_rule.entry(r.rule).or_default();
        e.0 += 1;
        e.1 |= r.fix_applies(unsafe_fixes);
    }
    let mut out: Vec<Stat> = by_rule
        .into_iter()
        .map(|(rule, (count, fixable))| Stat {
            code: rule.code(),
            name: rule.name(),
            count,
            fixable,
        })
        .collect();
    // Most frequent first; ties by code.
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(b.code)));
    out
}

pub fn write(
    out: &mut impl Write,
    records: &[Record],
    json: bool,
    unsafe_fixes: bool,
    color: bool,
) -> std::io::Result<()> {
    let stats = stats(records, unsafe_fixes);
    if json {
        serde_json::to_writer_pretty(&mut *out, &stats)?;
        return writeln!(out);
    }
    let width = stats.iter().map(|s| s.count.to_string().len()).max();
    let any_fixable = stats.iter().any(|s| s.fixable);
    for s in &stats {
        let marker = match (any_fixable, s.fixable) {
            (false, _) => "",
            (true, true) if color => "[\x1b[36m*\x1b[0m] ",
            (true, true) => "[*] ",
            (true, false) => "[ ] ",
        };
        writeln!(
            out,
            "{:>w$}\t{}\t{marker}{}",
            s.count,
            s.code,
            s.name,
            w = width.unwrap_or(1)
        )?;
    }
    Ok(())
}
