//! The editor's settings (`initializationOptions`, `workspace/didChangeConfiguration` or pulled
//! with `workspace/configuration`), read key by key so one bad value costs that key only.

use fused_core::Selection;
use std::time::Duration;

/// Settings from `initializationOptions` or `workspace/didChangeConfiguration` (`{"fused": {...}}`
/// or the object itself). Read key by key (see [`Settings::parse`]); unknown keys are ignored.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Empty: not set (a configuration file's `select`, else every rule, applies).
    pub select: Vec<String>,
    /// Added to a configuration file's `ignore`.
    pub ignore: Vec<String>,
    /// Which wins where both the editor and a configuration file set a key.
    pub preference: Preference,
    /// The interpreter the user named for runs (and the pre-warmed worker).
    pub python: Option<String>,
    /// Run timeout, clamped to `fused_run::MAX_TIMEOUT` (default 120 s).
    pub run_timeout: Option<Duration>,
    /// A run's memory limit in MiB (default: half the machine's memory; 0: none).
    pub run_memory_mib: Option<u64>,
}

/// `configurationPreference`, as ruff's server names it: which of the editor's settings and a
/// configuration file (`[tool.fused-ls]`, `fused-ls.toml`) wins where both set a key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Preference {
    /// The editor's settings win where the user set them (the default).
    #[default]
    EditorFirst,
    /// The configuration file wins; the editor's settings fill in what it leaves unset.
    FilesystemFirst,
    /// Configuration files are not read.
    EditorOnly,
}

impl Settings {
    /// Reads the settings one key at a time, so one mistyped value costs that key only: valid
    /// keys are kept, unambiguous values coerced (`"30"` → 30 s, a single code string → a list,
    /// `""` or `null` → the default), and each bad key is left at its default and described in
    /// the returned problems. `None` when `v` holds no settings (`null`: a hint to pull them).
    pub fn parse(v: &serde_json::Value) -> Option<(Settings, Vec<String>)> {
        use serde_json::Value;
        let v = v.get("fused").unwrap_or(v);
        let obj = match v {
            Value::Null => return None,
            Value::Object(o) => o,
            other => {
                return Some((
                    Settings::default(),
                    vec![format!(
                        "the `fused` settings must be an object, not {other}"
                    )],
                ))
            }
        };
        let mut s = Settings::default();
        let mut problems = Vec::new();
        for key in ["select", "ignore"] {
            let codes: Vec<String> = match obj.get(key) {
                None | Some(Value::Null) => continue,
                // `"FUSED023"` or `"FUSED023,FUSED001"`, as on the command line.
                Some(Value::String(t)) => t.split(',').map(str::to_string).collect(),
                Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                    .iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect(),
                Some(other) => {
                    problems.push(format!(
                        "`{key}` must be a list of rule codes such as [\"FUSED023\"], not {other}; it is ignored"
                    ));
                    continue;
                }
            };
            let mut kept = Vec::new();
            for code in codes.into_iter().filter(|c| !c.trim().is_empty()) {
                match Selection::new(vec![code.clone()], Vec::new()) {
                    Ok(_) => kept.push(code),
                    Err(e) => problems.push(format!("`{key}`: {e}")),
                }
            }
            if key == "select" {
                s.select = kept;
            } else {
                s.ignore = kept;
            }
        }
        match obj.get("python") {
            None | Some(Value::Null) => {}
            Some(Value::String(p)) if p.trim().is_empty() => {}
            Some(Value::String(p)) => s.python = Some(p.clone()),
            Some(other) => problems.push(format!(
                "`python` must be the path of an interpreter, not {other}; it is ignored"
            )),
        }
        let seconds = match obj.get("runTimeout") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.as_f64()),
            Some(Value::String(t)) if t.trim().is_empty() => None,
            Some(Value::String(t)) => Some(t.trim().parse::<f64>().ok()),
            Some(_) => Some(None),
        };
        match seconds {
            None => {}
            Some(Some(secs)) if fused_run::timeout_from_secs(secs).is_ok() => {
                s.run_timeout = fused_run::timeout_from_secs(secs).ok();
            }
            Some(_) => problems.push(format!(
                "`runTimeout` must be a positive number of seconds, not {}; the default (120) applies",
                obj["runTimeout"]
            )),
        }
        match obj.get("configurationPreference") {
            None | Some(Value::Null) => {}
            Some(Value::String(p)) if p == "editorFirst" => s.preference = Preference::EditorFirst,
            Some(Value::String(p)) if p == "filesystemFirst" => {
                s.preference = Preference::FilesystemFirst
            }
            Some(Value::String(p)) if p == "editorOnly" => s.preference = Preference::EditorOnly,
            Some(other) => problems.push(format!(
                "`configurationPreference` must be \"editorFirst\", \"filesystemFirst\" or \"editorOnly\", not {other}; \"editorFirst\" applies"
            )),
        }
        match obj.get("runMemoryMiB") {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_u64().is_some() => s.run_memory_mib = n.as_u64(),
            Some(Value::String(t)) if t.trim().parse::<u64>().is_ok() => {
                s.run_memory_mib = t.trim().parse().ok()
            }
            Some(other) => problems.push(format!(
                "`runMemoryMiB` must be a whole number of MiB (0: no limit), not {other}; the default (half the machine's memory) applies"
            )),
        }
        Some((s, problems))
    }
}
