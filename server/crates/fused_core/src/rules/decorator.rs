//! FUSED040–045: the keywords of `@fused.udf(...)`.

use super::PyContext;
use crate::diagnostic::{Applicability, Diagnostic, Fix, TextEdit};
use crate::model::{Literal, Udf};
use crate::registry::Rule;

pub const KEYWORDS: &[&str] = &[
    "name",
    "cache_max_age",
    "engine",
    "instance_type",
    "disk_size_gb",
    "region",
    "default_parameters",
    "headers",
];

/// `engine=` values fused 2.9.5 accepts (`fused/models/request.py`).
pub const ENGINES: &[&str] = &[
    "local",
    "remote",
    "realtime",
    "m5.large",
    "m5.xlarge",
    "m5.2xlarge",
    "m5.4xlarge",
    "m5.8xlarge",
    "m5.12xlarge",
    "m5.16xlarge",
    "r5.large",
    "r5.xlarge",
    "r5.2xlarge",
    "r5.4xlarge",
    "r5.8xlarge",
    "r5.12xlarge",
    "r5.16xlarge",
    "t3.small",
    "t3.medium",
    "t3.large",
    "t3.xlarge",
    "t3.2xlarge",
    "c2-standard-4",
    "c2-standard-8",
    "c2-standard-16",
    "c2-standard-30",
    "c2-standard-60",
    "m3-ultramem-32",
    "m3-ultramem-64",
    "agent",
    "small",
    "medium",
    "large",
];

pub fn check(ctx: &PyContext, out: &mut Vec<Diagnostic>) {
    for udf in &ctx.model.udfs {
        check_udf(udf, out);
    }
}

fn check_udf(udf: &Udf, out: &mut Vec<Diagnostic>) {
    let has_engine = udf.keywords.iter().any(|k| k.name == "engine");
    // `disk_size_gb` is for batch instances: with no engine or a non-batch one the run raises.
    if let Some(disk) = udf.keywords.iter().find(|k| k.name == "disk_size_gb") {
        let engine = udf
            .keywords
            .iter()
            .find(|k| k.name == "engine" || k.name == "instance_type")
            .map(|k| &k.value);
        let batch = match engine {
            Some(Literal::Str(e)) => !matches!(e.as_str(), "local" | "remote" | "realtime"),
            Some(_) => true,
            None => false,
        };
        if !batch {
            out.push(Diagnostic::new(
                Rule::InvalidEngine,
                disk.name_range.clone(),
                "`disk_size_gb` needs a batch `engine` (an instance type such as \"m5.large\"); with none the run raises",
            ));
        }
    }
    for kw in &udf.keywords {
        match kw.name.as_str() {
            "cache_max_age" => {
                if let Literal::Str(s) = &kw.value {
                    if !valid_max_age(s) {
                        let mut d = Diagnostic::new(
                            Rule::InvalidCacheMaxAge,
                            kw.value_range.clone(),
                            format!("`cache_max_age=\"{s}\"` fails at load; write a number and one unit s, m, h or d, e.g. \"30m\""),
                        );
                        if let Some(fixed) = normalize_max_age(s) {
                            d = d.with_fix(Fix {
                                title: format!("Write `\"{fixed}\"`"),
                                edits: vec![TextEdit {
                                    range: kw.value_range.clone(),
                                    new_text: format!("\"{fixed}\""),
                                }],
                                applicability: Applicability::Safe,
                            });
                        }
                        out.push(d);
                    }
                }
            }
            "engine" => {
                if let Literal::Str(s) = &kw.value {
                    if !ENGINES.contains(&s.as_str()) {
                        let hint = closest(s, ENGINES)
                            .map(|c| format!("did you mean \"{c}\"? "))
                            .unwrap_or_default();
                        out.push(Diagnostic::new(
                            Rule::InvalidEngine,
                            kw.value_range.clone(),
                            format!("`engine=\"{s}\"` raises `Invalid engine specified`; {hint}use \"local\", \"remote\", \"realtime\" or a listed instance type"),
                        ));
                    }
                }
            }
            "instance_type" => {
                let mut d = Diagnostic::new(
                    Rule::InstanceTypeDeprecated,
                    kw.name_range.clone(),
                    "`instance_type` is deprecated; use `engine` instead",
                );
                if !has_engine {
                    d = d.with_fix(Fix {
                        title: "Rename `instance_type` to `engine`".into(),
                        edits: vec![TextEdit {
                            range: kw.name_range.clone(),
                            new_text: "engine".into(),
                        }],
                        applicability: Applicability::Safe,
                    });
                }
                out.push(d);
                if has_engine {
                    out.push(Diagnostic::new(
                        Rule::InvalidEngine,
                        kw.name_range.clone(),
                        "`engine` and `instance_type` together raise \"Cannot specify both\"; keep `engine` only",
                    ));
                } else if let Literal::Str(s) = &kw.value {
                    // `instance_type` takes "realtime" or a batch instance type, not local/remote.
                    if !ENGINES.contains(&s.as_str()) || s == "local" || s == "remote" {
                        out.push(Diagnostic::new(
                            Rule::InvalidEngine,
                            kw.value_range.clone(),
                            format!("`instance_type=\"{s}\"` is not accepted; use \"realtime\" or a listed instance type (or `engine=`)"),
                        ));
                    }
                }
            }
            "default_parameters" => match &kw.value {
                Literal::Dict | Literal::Other | Literal::None => {
                    if udf.has_kwargs() {
                        continue;
                    }
                    for (key, range) in &kw.dict_keys {
                        if udf.param(key).is_none() {
                            out.push(Diagnostic::new(
                                Rule::DefaultParametersUnknown,
                                range.clone(),
                                format!("`default_parameters` names `{key}`, which is not a parameter of `{}`; check the spelling", udf.name),
                            ));
                        }
                    }
                }
                other => out.push(Diagnostic::new(
                    Rule::DefaultParametersInvalid,
                    kw.value_range.clone(),
                    format!(
                        "`default_parameters` must be a dict of parameter names to values, not {}",
                        other.kind_name()
                    ),
                )),
            },
            name if KEYWORDS.contains(&name) => {}
            name => {
                let hint = closest(name, KEYWORDS)
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                out.push(Diagnostic::new(
                    Rule::UnknownDecoratorKeyword,
                    kw.name_range.clone(),
                    format!("`@fused.udf` has no keyword `{name}` (TypeError at load); {hint}accepted: {}", KEYWORDS.join(", ")),
                ));
            }
        }
    }
}

/// `^\d+[smhd]$`, as the SDK's pydantic model checks it.
pub fn valid_max_age(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    let Some(unit) = s.chars().last() else {
        return false;
    };
    let digits = &s[..s.len() - unit.len_utf8()];
    matches!(unit, 's' | 'm' | 'h' | 'd')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// "10 minutes" → "10m", "2 days" → "2d", "1h " → "1h".
pub(crate) fn normalize_max_age(s: &str) -> Option<String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return None;
    }
    let unit = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 's',
        "m" | "min" | "mins" | "minute" | "minutes" => 'm',
        "h" | "hr" | "hrs" | "hour" | "hours" => 'h',
        "d" | "day" | "days" => 'd',
        _ => return None,
    };
    let num = num.trim_start_matches('0');
    Some(format!("{}{unit}", if num.is_empty() { "0" } else { num }))
}

/// The candidate at the smallest edit distance, if close enough to be a typo.
pub fn closest<'a>(s: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(s, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age() {
        assert!(
            valid_max_age("30m")
                && valid_max_age("2d")
                && valid_max_age("0s")
                && valid_max_age(" 2H ")
        );
        assert!(
            !valid_max_age("10 minutes")
                && !valid_max_age("m")
                && !valid_max_age("1.5h")
                && !valid_max_age("")
        );
        assert_eq!(normalize_max_age("10 minutes").as_deref(), Some("10m"));
        assert_eq!(normalize_max_age("2 Days").as_deref(), Some("2d"));
        assert_eq!(normalize_max_age("soon"), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("realtme", ENGINES), Some("realtime"));
        assert_eq!(closest("cache_maxage", KEYWORDS), Some("cache_max_age"));
        assert_eq!(closest("gpu-large", ENGINES), None);
    }
}
