//! `fused-ls`: the command-line front end over `fused_core`.

mod check;
mod discover;
mod output;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fused-ls",
    version,
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
pub struct CheckArgs {
    /// Files, package folders, zips or folders to search (default: the current folder).
    pub paths: Vec<std::path::PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Only these rule codes (prefixes allowed: `FUSED02`), comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rule codes (prefixes allowed), comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Apply safe fixes to the files (atomic writes), then report what is left.
    #[arg(long)]
    pub fix: bool,
    /// With --fix, also apply fixes that may change behaviour (e.g. renaming `bbox`).
    #[arg(long)]
    pub unsafe_fixes: bool,
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
    /// Serve the Language Server Protocol over stdin/stdout.
    Server,
    /// Print one rule's documentation.
    Rule {
        /// A code such as FUSED020, or a rule name.
        code: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Command::Server => ExitCode::from(fused_lsp::run_stdio() as u8),
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
