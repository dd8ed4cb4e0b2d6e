//! `fused-ls`: the command-line front end over `fused_core`.

mod check;
mod discover;
mod new;
mod output;
mod pack;
mod run;
mod serve;
mod settings;
mod sync;
mod watch;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fused-ls",
    version = env!("FUSED_LS_LONG_VERSION"),
    about = "Check, run and pack Fused UDFs; the Fused UDF language server."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// file:line:col, code, message and a code frame.
    Human,
    /// A JSON array of diagnostics (a stable contract, see the README).
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args)]
#[command(
    after_help = "Settings are read from the closest `.fused-ls.toml`, `fused-ls.toml` or \
`pyproject.toml` ([tool.fused-ls]) in or above each checked file's folder; --select, --extend-select and \
--ignore are applied on top of it. Exit status: 0 no errors found, 1 errors found, 2 a usage, \
configuration or I/O error."
)]
pub struct CheckArgs {
    /// Files, package folders, zips or folders to search (default: the current folder).
    pub paths: Vec<std::path::PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Only these rule codes (prefixes allowed: `FUSED02`), comma-separated or repeated; replaces
    /// the configuration's `select`, `extend-select` and `ignore`.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Also these rule codes, on top of the selection.
    #[arg(long, value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Skip these rule codes (prefixes allowed), on top of the configuration's `ignore`.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Apply safe fixes to the files (atomic writes), then report what is left.
    #[arg(long)]
    pub fix: bool,
    /// With --fix, also apply fixes that may change behaviour (e.g. renaming `bbox`); they are
    /// then marked `[*]` too.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Exit 0 even when errors are found (2 still means the check could not be done).
    #[arg(long)]
    pub exit_zero: bool,
    /// Print how many diagnostics each rule found instead of the diagnostics.
    #[arg(long)]
    pub statistics: bool,
    /// Print the diagnostics only: no summary, no notes.
    #[arg(short, long)]
    pub quiet: bool,
    /// Check again whenever a file under the paths (or a configuration file) changes.
    #[arg(short, long, conflicts_with = "show_settings")]
    pub watch: bool,
    /// Print the settings that apply to each path and where each comes from, then exit.
    #[arg(long)]
    pub show_settings: bool,
    /// Apply `exclude` to paths named on the command line too (pre-commit names every file).
    #[arg(long)]
    pub force_exclude: bool,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Subcommand)]
enum Command {
    /// Check UDF packages, loose UDF files and zipped packages.
    Check(CheckArgs),
    /// List every rule.
    Rules {
        /// Print the full Markdown reference (docs/rules.md).
        #[arg(long)]
        markdown: bool,
    },
    /// Run a UDF locally, in File mode or (with a tile spec) Tile mode, through the bundled runner.
    Run(run::RunArgs),
    /// Serve the Language Server Protocol over stdin/stdout.
    Server,
    /// Serve the UDFs under PATH as local HTTP endpoints (tiles as GeoJSON/MVT, file runs),
    /// on warm workers; prints the base URL (with its token) on the first line.
    Serve(serve::ServeArgs),
    /// Create a new UDF package (README.md, NAME.py, meta.json, utils.py on request).
    New {
        /// The package's name: its folder and `<NAME>.py`.
        name: String,
        /// A Tile-mode UDF (`bounds: fused.types.Bounds`) instead of a File-mode one.
        #[arg(long)]
        tile: bool,
        /// Also create utils.py, declared as a header and used by the UDF.
        #[arg(long)]
        utils: bool,
        /// Where to create the package folder.
        #[arg(default_value = ".")]
        dir: std::path::PathBuf,
    },
    /// Bring meta.json in line with the source (name, entrypoint, source, headers).
    Sync {
        /// Package folders, or folders to search (default: the current folder).
        paths: Vec<std::path::PathBuf>,
        /// Write nothing; exit 1 when a meta.json is out of sync (for CI and pre-commit).
        #[arg(long)]
        check: bool,
        /// Write nothing; print what would change as a unified diff.
        #[arg(long)]
        diff: bool,
    },
    /// Zip a package deterministically (same bytes on every run); refuses packages with errors.
    Pack {
        /// The package folder.
        path: std::path::PathBuf,
        /// The zip to write (default: `<NAME>.zip` in the current folder).
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
        /// Pack even when `check` finds errors.
        #[arg(long)]
        force: bool,
    },
    /// Print one rule's documentation.
    Rule {
        /// A code such as FUSED020, or a rule name.
        code: String,
    },
    /// Print a shell completion script: `fused-ls completions bash > ~/.local/share/bash-completion/completions/fused-ls`.
    Completions { shell: clap_complete::Shell },
}

/// From now on, writing to a closed stdout pipe ends the process quietly (SIGPIPE's default),
/// as for any Unix tool, instead of a panic in `println!`. Only where nothing is left to clean
/// up: a process with children or temp folders must see the error, not die of the signal.
pub fn quiet_on_closed_pipe() {
    // SAFETY: sets the disposition of one signal; no memory is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that only print: a closed pipe (`fused-ls rules | head`) ends them quietly.
    // `run` does the same once its run is over (see `quiet_on_closed_pipe`); `check` handles
    // a broken pipe itself; the servers never.
    if matches!(
        cli.command,
        Command::Rules { .. } | Command::Rule { .. } | Command::Completions { .. }
    ) {
        quiet_on_closed_pipe();
    }
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Rules { markdown } => {
            if markdown {
                print!("{}", fused_core::registry::rules_markdown());
            } else {
                for r in fused_core::Rule::ALL {
                    println!(
                        "{}  {:<8} {:<3} {:<36} {}",
                        r.code(),
                        r.severity().as_str(),
                        if r.fixable() { "fix" } else { "" },
                        r.name(),
                        r.summary()
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Command::New {
            name,
            tile,
            utils,
            dir,
        } => new::run(&name, tile, utils, &dir),
        Command::Sync { paths, check, diff } => sync::run(paths, check, diff),
        Command::Pack {
            path,
            output,
            force,
        } => pack::run(&path, output, force),
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Server => ExitCode::from(fused_lsp::run_stdio(serve::preview_hooks()) as u8),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "fused-ls",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::Rule { code } => match fused_core::Rule::from_code(&code) {
            Some(r) => {
                print!("{}", r.doc_markdown());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("error: no rule `{code}`; `fused-ls rules` lists them");
                ExitCode::from(2)
            }
        },
    }
}
