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

/// One source of rule selection. Sources are layered as ruff layers them: the configuration
/// file, then the command line (or the editor's settings).
#[derive(Debug, Clone, Copy, Default)]
pub struct Layer<'a> {
    /// Replaces what the layers below selected (`None`, or empty: keep it).
    pub select: Option<&'a [String]>,
    pub extend_select: &'a [String],
    pub ignore: &'a [String],
}

impl Selection {
    /// The rules the layers leave on, resolved as ruff resolves its own: starting from every
    /// rule, each layer with a `select` starts afresh from it, otherwise it edits what the
    /// layers below left; within a layer the more specific code wins (`FUSED020` over `FUSED02`,
    /// a rule name over any prefix), and at equal specificity `ignore` wins over `select`.
    /// So `--select` on the command line drops the file's `ignore`, and
    /// `ignore = ["FUSED02"]` with `extend-select = ["FUSED020"]` keeps FUSED020.
    pub fn from_layers(layers: &[Layer]) -> Selection {
        let mut on: Vec<bool> = vec![true; Rule::ALL.len()];
        for layer in layers {
            let select = layer.select.filter(|s| !s.is_empty());
            // rule index -> (specificity, enabled) of the most specific code naming it.
            let mut update: Vec<Option<(usize, bool)>> = vec![None; Rule::ALL.len()];
            let picks = select
                .into_iter()
                .flatten()
                .chain(layer.extend_select)
                .map(|c| (c, true))
                .chain(layer.ignore.iter().map(|c| (c, false)));
            for (code, enable) in picks {
                let spec = specificity(code);
                for (i, r) in Rule::ALL.iter().enumerate() {
                    if matches(code, *r) {
                        let keep = match update[i] {
                            None => true,
                            Some((s, _)) => spec > s || (spec == s && !enable),
                        };
                        if keep {
                            update[i] = Some((spec, enable));
                        }
                    }
                }
            }
            if select.is_some() {
                on = update
                    .iter()
                    .map(|u| matches!(u, Some((_, true))))
                    .collect();
            } else {
                for (o, u) in on.iter_mut().zip(&update) {
                    if let Some((_, e)) = u {
                        *o = *e;
                    }
                }
            }
        }
        let select: Vec<String> = Rule::ALL
            .iter()
            .zip(&on)
            .filter(|(_, on)| **on)
            .map(|(r, _)| r.code().to_string())
            .collect();
        if select.len() == Rule::ALL.len() {
            Selection::default()
        } else if select.is_empty() {
            // An empty `select` means every rule: say "none" with an ignore of them all.
            Selection {
                select: vec![],
                ignore: vec!["FUSED".into()],
            }
        } else {
            Selection {
                select,
                ignore: vec![],
            }
        }
    }

    /// The rules on, in registry order.
    pub fn enabled_rules(&self) -> Vec<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .filter(|r| self.enabled(*r))
            .collect()
    }
}

/// How specific a code is: a rule name beats any prefix, a longer prefix a shorter one.
fn specificity(code: &str) -> usize {
    let c = code.trim();
    if Rule::ALL.iter().any(|r| r.name() == c) {
        usize::MAX
    } else {
        c.len()
    }
}

fn matches(code: &str, rule: Rule) -> bool {
    let c = code.trim().to_ascii_uppercase();
    !c.is_empty() && (rule.code().starts_with(&c) || rule.name() == code.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn layers_resolve_as_ruff() {
        // No layer: every rule.
        assert!(Selection::from_layers(&[]).select.is_empty());
        let file_ignore = v(&["FUSED020"]);
        let file = Layer {
            ignore: &file_ignore,
            ..Layer::default()
        };
        let s = Selection::from_layers(&[file]);
        assert!(!s.enabled(Rule::UncoercedAnnotation) && s.enabled(Rule::Unannotated));
        // The command line's select starts afresh: the file's ignore is gone.
        let cli_select = v(&["FUSED02"]);
        let cli = Layer {
            select: Some(&cli_select),
            ..Layer::default()
        };
        let s = Selection::from_layers(&[file, cli]);
        assert!(s.enabled(Rule::UncoercedAnnotation) && !s.enabled(Rule::InvalidEngine));
        // A command-line ignore edits the file's selection.
        let cli_ignore = v(&["FUSED023"]);
        let cli = Layer {
            ignore: &cli_ignore,
            ..Layer::default()
        };
        let s = Selection::from_layers(&[file, cli]);
        assert!(!s.enabled(Rule::UncoercedAnnotation) && !s.enabled(Rule::Unannotated));
        assert!(s.enabled(Rule::InvalidEngine));
        // Within a layer the more specific code wins, either way.
        let (ig, ex) = (v(&["FUSED02"]), v(&["FUSED020"]));
        let s = Selection::from_layers(&[Layer {
            select: None,
            extend_select: &ex,
            ignore: &ig,
        }]);
        assert!(s.enabled(Rule::UncoercedAnnotation) && !s.enabled(Rule::Unannotated));
        // Equal specificity: ignore wins. Everything ignored: nothing on.
        let all = v(&["FUSED"]);
        let s = Selection::from_layers(&[Layer {
            select: Some(&all),
            extend_select: &[],
            ignore: &all,
        }]);
        assert!(s.enabled_rules().is_empty());
    }
}
