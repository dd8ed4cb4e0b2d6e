//! Configuration files: `[tool.fused-ls]` in `pyproject.toml`, or `fused-ls.toml` /
//! `.fused-ls.toml` (the same keys at top level), as ruff reads its own.
//!
//! This module only parses and validates one file's text; finding the file (walking up from
//! each checked file, the closest wins) is the front ends' job (`fused_fs::config`). Unknown
//! keys and wrong types are errors naming the file's line and the key, never silently dropped:
//! a typo in `ignore` must not bring back the rule the user meant to turn off.

use crate::line_index::LineIndex;
use crate::selection::Selection;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Which kind of file the text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// `pyproject.toml`: only its `[tool.fused-ls]` table is read; without one the file is not a
    /// fused-ls configuration (and the search goes on upwards, as ruff does).
    Pyproject,
    /// `fused-ls.toml` or `.fused-ls.toml`: the keys at top level.
    FusedLsToml,
}

impl ConfigKind {
    /// The file names searched in each folder, most specific first (ruff's order).
    pub const FILE_NAMES: [(&'static str, ConfigKind); 3] = [
        (".fused-ls.toml", ConfigKind::FusedLsToml),
        ("fused-ls.toml", ConfigKind::FusedLsToml),
        ("pyproject.toml", ConfigKind::Pyproject),
    ];
}

/// The settings one file sets; `None`/empty where it says nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Only these rules (codes or prefixes); replaces the default (all rules).
    pub select: Option<Vec<String>>,
    /// Added to `select` (or to all rules).
    #[serde(default)]
    pub extend_select: Vec<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Globs of paths not to check, relative to the configuration's folder, on top of
    /// `.gitignore`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Glob → codes ignored in the files it matches.
    #[serde(default)]
    pub per_file_ignores: BTreeMap<String, Vec<String>>,
    /// The interpreter for runs, relative to the configuration's folder.
    pub python: Option<String>,
    /// Run timeout in seconds.
    pub run_timeout: Option<f64>,
}

/// A configuration file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// 1-based line and column of the offending key or value (1:1 when unknown).
    pub line: usize,
    pub column: usize,
    /// The key at fault, when there is one (`ignore`, `per-file-ignores`).
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if let Some(k) = &self.key {
            write!(f, "`{k}`: ")?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<Tools>,
}

#[derive(Deserialize)]
struct Tools {
    #[serde(rename = "fused-ls")]
    fused_ls: Option<toml::Spanned<Config>>,
}

/// Parses one configuration file. `Ok(None)`: a `pyproject.toml` without `[tool.fused-ls]`.
pub fn parse(text: &str, kind: ConfigKind) -> Result<Option<Config>, ConfigError> {
    let index = LineIndex::new(text);
    let at = |offset: usize| {
        let lc = index.line_col(offset.min(text.len()) as u32, text, crate::Encoding::Utf32);
        (lc.line as usize + 1, lc.col as usize + 1)
    };
    let from_toml = |e: toml::de::Error| {
        let (line, column) = e.span().map(|s| at(s.start)).unwrap_or((1, 1));
        let message = e.message().trim().to_string();
        ConfigError {
            line,
            column,
            key: key_in(&message).or_else(|| e.span().and_then(|s| key_at(text, s.start))),
            message,
        }
    };
    let (config, start) = match kind {
        ConfigKind::FusedLsToml => (toml::from_str::<Config>(text).map_err(from_toml)?, 0),
        ConfigKind::Pyproject => {
            let p: Pyproject = toml::from_str(text).map_err(from_toml)?;
            match p.tool.and_then(|t| t.fused_ls) {
                Some(s) => {
                    let start = s.span().start;
                    (s.into_inner(), start)
                }
                None => return Ok(None),
            }
        }
    };
    validate(&config).map_err(|(key, message)| {
        // Point at the key's line inside the table when it can be found.
        let (line, column) = find_key(text, start, &key)
            .map(at)
            .unwrap_or_else(|| at(start));
        ConfigError {
            line,
            column,
            key: Some(key),
            message,
        }
    })?;
    Ok(Some(config))
}

/// What serde cannot check: codes that match no rule, a timeout that is not a positive number.
fn validate(c: &Config) -> Result<(), (String, String)> {
    let codes = |key: &str, list: &[String]| {
        Selection::new(list.to_vec(), vec![]).map_err(|e| (key.to_string(), e))
    };
    if let Some(s) = &c.select {
        codes("select", s)?;
    }
    codes("extend-select", &c.extend_select)?;
    codes("ignore", &c.ignore)?;
    for (glob, list) in &c.per_file_ignores {
        codes("per-file-ignores", list)?;
        if glob.trim().is_empty() {
            return Err((
                "per-file-ignores".into(),
                "an empty glob matches nothing".into(),
            ));
        }
    }
    if let Some(t) = c.run_timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err((
                "run-timeout".into(),
                format!("must be a positive number of seconds, not {t}"),
            ));
        }
    }
    if c.python.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return Err(("python".into(), "must be a path to an interpreter".into()));
    }
    Ok(())
}

/// The key a serde message names: "unknown field `selec`, expected ..." → `selec`.
fn key_in(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// The bare key starting at `offset` (`ignore = 3` → `ignore`), when the error points at one.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let key: String = line
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let after = line.trim_start()[key.len()..].trim_start();
    (!key.is_empty() && after.starts_with('=')).then_some(key)
}

/// The offset of `key = ` at the start of a line after `from`.
fn find_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let mut offset = from;
    for line in text[from..].split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix(key) {
            if rest.trim_start().starts_with('=') {
                return Some(offset + (line.len() - t.len()));
            }
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_ls_toml_keys() {
        let c = parse(
            "select = [\"FUSED02\"]\nextend-select = [\"FUSED031\"]\nignore = [\"FUSED023\"]\nexclude = [\"scratch/**\"]\npython = \".venv/bin/python\"\nrun-timeout = 30\n[per-file-ignores]\n\"legacy/*.py\" = [\"FUSED020\"]\n",
            ConfigKind::FusedLsToml,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.select.as_deref(), Some(&["FUSED02".to_string()][..]));
        assert_eq!(c.extend_select, ["FUSED031"]);
        assert_eq!(c.ignore, ["FUSED023"]);
        assert_eq!(c.exclude, ["scratch/**"]);
        assert_eq!(c.python.as_deref(), Some(".venv/bin/python"));
        assert_eq!(c.run_timeout, Some(30.0));
        assert_eq!(c.per_file_ignores["legacy/*.py"], ["FUSED020"]);
    }

    #[test]
    fn pyproject_reads_only_its_table() {
        let text = "[project]\nname = \"x\"\n\n[tool.ruff]\nline-length = 100\n\n[tool.fused-ls]\nignore = [\"FUSED070\"]\n";
        let c = parse(text, ConfigKind::Pyproject).unwrap().unwrap();
        assert_eq!(c.ignore, ["FUSED070"]);
        assert_eq!(
            parse("[project]\nname = \"x\"\n", ConfigKind::Pyproject).unwrap(),
            None
        );
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = parse(
            "[project]\nname = \"x\"\n[tool.fused-ls]\nselect = []\nignored = [\"FUSED023\"]\n",
            ConfigKind::Pyproject,
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("ignored"));
        assert!(e.message.contains("unknown field"), "{e}");
        assert_eq!(e.line, 5, "{e}");
    }

    #[test]
    fn wrong_type_names_line_and_key() {
        let e = parse("ignore = \"FUSED023\"\n", ConfigKind::FusedLsToml).unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (1, Some("ignore")), "{e}");
        let e = parse("run-timeout = \"30\"\n", ConfigKind::FusedLsToml).unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (1, Some("run-timeout")), "{e}");
    }

    #[test]
    fn codes_and_values_are_validated() {
        let e = parse("\n\nignore = [\"FUSED999\"]\n", ConfigKind::FusedLsToml).unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (3, Some("ignore")), "{e}");
        assert!(e.message.contains("FUSED999"), "{e}");
        let e = parse("run-timeout = -1\n", ConfigKind::FusedLsToml).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("run-timeout"), "{e}");
        let e = parse(
            "[tool.fused-ls]\n\nselect = [\"NOPE\"]\n",
            ConfigKind::Pyproject,
        )
        .unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (3, Some("select")), "{e}");
    }

    #[test]
    fn invalid_toml_is_an_error_with_a_position() {
        let e = parse("ignore = [\n", ConfigKind::FusedLsToml).unwrap_err();
        assert!(e.line >= 1 && !e.message.is_empty(), "{e}");
    }
}
