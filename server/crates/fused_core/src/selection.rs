//! `--select` / `--ignore`: which rules run. Codes match by prefix, as in ruff (`FUSED02`
//! selects FUSED020–FUSED029; `FUSED` selects all).

use crate::registry::Rule;

#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// When non-empty, only rules matching one of these run.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Selection {
    pub fn new(select: Vec<String>, ignore: Vec<String>) -> Result<Selection, String> {
        for code in select.iter().chain(&ignore) {
            if !Rule::ALL.iter().any(|r| matches(code, *r)) {
                return Err(format!(
                    "`{code}` matches no rule; `fused-ls rules` lists them"
                ));
            }
        }
        Ok(Selection { select, ignore })
    }

    pub fn enabled(&self, rule: Rule) -> bool {
        (self.select.is_empty() || self.select.iter().any(|c| matches(c, rule)))
            && !self.ignore.iter().any(|c| matches(c, rule))
    }
}

fn matches(code: &str, rule: Rule) -> bool {
    let c = code.trim().to_ascii_uppercase();
    !c.is_empty() && (rule.code().starts_with(&c) || rule.name() == code.trim())
}
