//! `fused-ls serve [PATH...]`: the UDFs under PATH as local HTTP endpoints (`fused_serve`).
//! This side finds them, as `check` does, and reads the options.

use crate::discover::{discover, Item};
use fused_serve::{Config, Entry, Origin};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Package folders, zipped packages, `.py` files, or folders to search (default: `.`).
    pub paths: Vec<PathBuf>,
    /// The port; 0 picks any free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The address to listen on. Anything but loopback lets others on the network run code
    /// on this machine (with the URL's token): a warning is printed.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Warm workers (each an interpreter forking a child per run). Default: the number of cores.
    #[arg(long)]
    pub workers: Option<usize>,
    /// The Python interpreter (default: a .venv/venv in or above the first PATH, up to its
    /// repository, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Seconds before a run is stopped (at most a day).
    #[arg(long, default_value_t = 120.0, allow_negative_numbers = true)]
    pub timeout: f64,
    /// The result cache's size in MiB (least recently used results go first; 0: no cache).
    #[arg(long, default_value_t = 256)]
    pub cache_mib: u64,
    /// Each run's memory limit in MiB (default: half of the machine's memory; 0: no limit).
    #[arg(long, value_name = "MIB")]
    pub memory_mib: Option<u64>,
    /// Also accept requests whose `Host` header is NAME[:PORT] (repeatable): the name a reverse
    /// proxy you trust forwards under, e.g. code-server's `/proxy/PORT/` (the editor's own
    /// address). Any other Host stays refused (DNS rebinding); the URL's token is still needed.
    #[arg(long, value_name = "NAME[:PORT]")]
    pub allow_host: Vec<String>,
    /// Do not open the page in a browser.
    #[arg(long)]
    pub no_open: bool,
    /// Run even when `check` finds errors (by default a UDF the SDK would refuse is not run:
    /// its requests answer 422 with the diagnostics).
    #[arg(long)]
    pub no_check: bool,
    /// Run every request in a fresh forked child. By default the runs of one version of a
    /// package may follow each other in one child (each with a fresh UDF namespace, as the
    /// SDK's own loop runs tiles in one process; never another package's or version's code):
    /// a cold tile costs less than a fork and a fresh process.
    #[arg(long)]
    pub fork_per_run: bool,
}

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What `serve` (and the language server's `fused.preview`) serves under `paths`, found again
/// whenever the service looks (a UDF created after the start is served too).
pub fn discover_entries(paths: Vec<PathBuf>) -> fused_serve::Discover {
    std::sync::Arc::new(move || entries(&paths))
}

/// `check`'s errors for a served path, as the service wants them: a UDF the SDK would refuse
/// is not run.
pub fn checker() -> fused_serve::Checker {
    std::sync::Arc::new(|path: &Path| {
        let records = crate::run::check_errors(path);
        match crate::output::json::to_value(&records) {
            serde_json::Value::Array(v) => v,
            _ => Vec::new(),
        }
    })
}

/// The language server's map (`fused.preview`) serves what `serve` would.
pub fn preview_hooks() -> fused_lsp::handlers::preview::PreviewHooks {
    fused_lsp::handlers::preview::PreviewHooks {
        discover: Some(std::sync::Arc::new(|root| discover_entries(vec![root]))),
        check: Some(checker()),
    }
}

/// The served UDFs: packages by meta.json's name (else the folder's), zips and loose files by
/// their stem; loose `.py` files without a UDF (helpers) are left out.
fn entries(paths: &[PathBuf]) -> (Vec<Entry>, Vec<String>) {
    // Everything named is served: `exclude` is the checker's setting.
    let found = discover(paths, &crate::discover::no_exclude(), false);
    let mut notes: Vec<String> = found.notes.clone();
    notes.extend(
        found
            .missing
            .iter()
            .map(|p| format!("`{}` does not exist", p.display())),
    );
    let mut out: Vec<Entry> = Vec::new();
    for item in found.items {
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let (name, origin) = match item {
            Item::Package(d) => {
                let d = abs(&d);
                (fused_run::package_name(&d), Origin::Package(d))
            }
            Item::Zip(z) => (stem(&z), Origin::Zip(abs(&z))),
            Item::Loose(f) => {
                let text = std::fs::read_to_string(&f).unwrap_or_default();
                if !fused_serve::catalog::has_udf(&text) {
                    continue;
                }
                (stem(&f), Origin::Loose(abs(&f)))
            }
            Item::Broken(p, why) => {
                notes.push(format!("`{}`: {why}", p.display()));
                continue;
            }
        };
        if out.iter().any(|e| e.name == name) {
            notes.push(format!(
                "`{}` is not served: another UDF is already named `{name}`",
                origin.path().display()
            ));
            continue;
        }
        out.push(Entry::new(name, origin));
    }
    (out, notes)
}

fn open_browser(url: &str) {
    let display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if !display {
        return;
    }
    let _ = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

pub fn run(a: ServeArgs) -> ExitCode {
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        a.paths.clone()
    };
    let Ok(timeout) = fused_run::timeout_from_secs(a.timeout) else {
        return usage(format!(
            "--timeout {}: give a positive number of seconds",
            a.timeout
        ));
    };
    if let Some(bad) = a.allow_host.iter().find(|h| !fused_serve::valid_host(h)) {
        return usage(format!(
            "--allow-host {bad:?}: give a host name or address with an optional port (NAME[:PORT]), as the Host header says it"
        ));
    }
    let (catalog, notes) = fused_serve::Catalog::new(discover_entries(paths.clone()));
    for n in &notes {
        eprintln!("note: {}", crate::output::escape_line(n));
    }
    let served = catalog.entries().len();
    if served == 0 {
        return usage(
            "no UDF found to serve (packages, zipped packages or .py files with @fused.udf)",
        );
    }
    if !a.host.is_loopback() {
        eprintln!(
            "warning: listening on {}: anyone who can reach this address and has the URL (its token) can run code on this machine",
            a.host
        );
    }
    let first = &paths[0];
    let start = std::fs::canonicalize(first).unwrap_or_else(|_| first.clone());
    let start = if start.is_file() {
        start.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        start
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let python = fused_run::find_python(
        a.python
            .as_deref()
            .map(|p| {
                if p.components().count() > 1 {
                    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
                } else {
                    p.to_path_buf()
                }
            })
            .as_deref(),
        &start,
        &fused_run::cli_search_root(&start, &cwd),
    );
    let workers = a.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    eprintln!(
        "fused-ls serve: {} UDF{}, {workers} worker{} under {}",
        served,
        if served == 1 { "" } else { "s" },
        if workers == 1 { "" } else { "s" },
        python.display()
    );
    let config = Config {
        host: a.host,
        port: a.port,
        workers: workers.max(1),
        python,
        timeout,
        cache_bytes: (a.cache_mib.saturating_mul(1 << 20)).min(usize::MAX as u64) as usize,
        memory_limit: fused_run::memory_limit_mib(a.memory_mib),
        allow_hosts: a.allow_host.clone(),
        check: (!a.no_check).then(checker),
        reuse_children: !a.fork_per_run,
    };
    let no_open = a.no_open;
    match fused_serve::serve(config, catalog, move |url| {
        if !no_open {
            open_browser(url);
        }
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage(crate::output::escape_line(&e)),
    }
}
