//! `fused-ls new NAME [--tile] [--utils] [DIR]`: scaffold a package that passes `check`.

use fused_core::package::{invalid_name, scaffold};
use std::path::Path;
use std::process::ExitCode;

pub fn run(name: &str, tile: bool, utils: bool, dir: &Path) -> ExitCode {
    if let Some(why) = invalid_name(name) {
        eprintln!("error: cannot name a package `{name}`: {why}");
        return ExitCode::from(2);
    }
    let target = dir.join(name);
    if target.exists() {
        eprintln!(
            "error: `{}` already exists; refusing to overwrite it (pick another name or folder)",
            target.display()
        );
        return ExitCode::from(2);
    }
    if let Err(e) = std::fs::create_dir_all(&target) {
        eprintln!("error: cannot create `{}`: {e}", target.display());
        return ExitCode::from(2);
    }
    for (file, content) in scaffold::new_package(name, tile, utils).files {
        let path = target.join(&file);
        if let Err(e) = fused_fs::atomic::write(&path, content.as_bytes()) {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            return ExitCode::from(2);
        }
        println!("created {}", path.display());
    }
    println!("Next: `fused-ls check {}`", target.display());
    ExitCode::SUCCESS
}
