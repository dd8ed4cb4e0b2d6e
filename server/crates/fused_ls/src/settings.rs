//! `fused-ls check --show-settings PATH`: the settings that apply to PATH and where each comes
//! from (a configuration file, the command line, or the default), printed as TOML with the
//! source in a comment, so a user can see why a rule runs or not.

use crate::check::config_for_root;
use crate::output::escape_line;
use fused_fs::config::{selection_for, ConfigFile, Overrides, Resolver};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn list(v: &[String]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(", "))
}

pub fn show(paths: &[PathBuf], over: &Overrides) -> ExitCode {
    let resolver = Resolver::new();
    let mut status = ExitCode::SUCCESS;
    for (i, path) in paths.iter().enumerate() {
        if i > 0 {
            println!();
        }
        if !path.exists() {
            eprintln!(
                "error: `{}` does not exist",
                escape_line(&path.display().to_string())
            );
            status = ExitCode::from(2);
            continue;
        }
        match config_for_root(&resolver, path) {
            Ok(cfg) => print!("{}", render(path, cfg.as_deref(), over)),
            Err(e) => {
                eprintln!("error: {}", escape_line(&e));
                status = ExitCode::from(2);
            }
        }
    }
    status
}

fn render(path: &Path, cfg: Option<&ConfigFile>, over: &Overrides) -> String {
    let mut out = format!(
        "# Settings for `{}`\n",
        escape_line(&path.display().to_string())
    );
    let file = cfg.map(|c| escape_line(&c.path.display().to_string()).into_owned());
    match &file {
        Some(f) => out.push_str(&format!("# configuration file: {f}\n")),
        None => out.push_str(
            "# configuration file: none found (no .fused-ls.toml, fused-ls.toml or pyproject.toml with [tool.fused-ls] at or above it)\n",
        ),
    }
    let from_file = file.as_deref().unwrap_or("default");
    let mut line = |key: &str, value: String, source: &str| {
        out.push_str(&format!("{key} = {value}  # {source}\n"));
    };
    let c = cfg.map(|c| &c.config);
    match (&over.select, c.and_then(|c| c.select.as_ref())) {
        (Some(s), _) => line("select", list(s), "command line (--select)"),
        (None, Some(s)) => line("select", list(s), from_file),
        (None, None) => line("select", "[]".into(), "default: every rule"),
    }
    // A command-line --select starts afresh: the file's extend-select and ignore no longer count.
    let file_layer = over.select.is_none();
    if let Some(c) = c.filter(|_| file_layer) {
        if !c.extend_select.is_empty() {
            line("extend-select", list(&c.extend_select), from_file);
        }
        if !c.ignore.is_empty() {
            line("ignore", list(&c.ignore), from_file);
        }
    }
    if !over.extend_select.is_empty() {
        line(
            "extend-select",
            list(&over.extend_select),
            "command line (--extend-select)",
        );
    }
    if !over.ignore.is_empty() {
        line("ignore", list(&over.ignore), "command line (--ignore)");
    }
    match cfg {
        Some(cfg) if !cfg.config.per_file_ignores.is_empty() => {
            let table: Vec<String> = cfg
                .config
                .per_file_ignores
                .iter()
                .map(|(g, codes)| {
                    format!(
                        "{} = {}",
                        serde_json::to_string(g).unwrap_or_default(),
                        list(codes)
                    )
                })
                .collect();
            line(
                "per-file-ignores",
                format!("{{ {} }}", table.join(", ")),
                &format!(
                    "{from_file}; for this path: {}",
                    list(&cfg.ignores_for(path))
                ),
            );
        }
        _ => line("per-file-ignores", "{}".into(), "default"),
    }
    match cfg {
        Some(cfg) if !cfg.config.exclude.is_empty() => line(
            "exclude",
            list(&cfg.config.exclude),
            &format!(
                "{from_file}; this path is {}",
                if cfg.excludes(path) {
                    "excluded (checked only when named, unless --force-exclude)"
                } else {
                    "not excluded"
                }
            ),
        ),
        _ => line(
            "exclude",
            "[]".into(),
            "default (.gitignore and hidden folders are skipped)",
        ),
    }
    match cfg.and_then(|c| c.python()) {
        Some(p) => line(
            "python",
            serde_json::to_string(&p.display().to_string()).unwrap_or_default(),
            &format!("{from_file} (`fused-ls run --python` overrides)"),
        ),
        None => line(
            "python",
            "\"\"".into(),
            "default: a .venv or venv in or above the package, else python3",
        ),
    }
    match c.and_then(|c| c.run_timeout) {
        Some(t) => line(
            "run-timeout",
            t.to_string(),
            &format!("{from_file} (`fused-ls run --timeout` overrides)"),
        ),
        None => line(
            "run-timeout",
            crate::run::DEFAULT_TIMEOUT_SECS.to_string(),
            "default",
        ),
    }
    let sel = selection_for(cfg, over, path);
    let on: Vec<&str> = sel.enabled_rules().iter().map(|r| r.code()).collect();
    out.push_str(&format!(
        "# rules enabled ({} of {}): {}\n",
        on.len(),
        fused_core::Rule::ALL.len(),
        on.join(", ")
    ));
    out
}
