//! `fused-ls new NAME [--tile] [--utils] [DIR]`: scaffold a package that passes `check`.
//!
//! The files are written into a temp folder beside the target, which is renamed into place
//! only when every file is there: a failure half-way (a name too long for the file system, a
//! full disk) leaves nothing behind, not a half-made package.

use fused_core::package::{invalid_name, scaffold};
use std::path::Path;
use std::process::ExitCode;

pub fn run(name: &str, tile: bool, utils: bool, dir: &Path) -> ExitCode {
    if let Some(why) = invalid_name(name) {
        eprintln!("error: cannot name a package `{name}`: {why}");
        return ExitCode::from(2);
    }
    let target = dir.join(name);
    if std::fs::symlink_metadata(&target).is_ok() {
        eprintln!(
            "error: `{}` already exists; refusing to overwrite it (pick another name or folder)",
            target.display()
        );
        return ExitCode::from(2);
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create `{}`: {e}", dir.display());
        return ExitCode::from(2);
    }
    let tmp = match fused_fs::atomic::TempDir::beside(&target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot create `{}`: {e}", target.display());
            return ExitCode::from(2);
        }
    };
    let files = scaffold::new_package(name, tile, utils).files;
    for (file, content) in &files {
        if let Err(e) = fused_fs::atomic::write(&tmp.path().join(file), content.as_bytes()) {
            // Dropping `tmp` removes what was written.
            eprintln!(
                "error: cannot write `{}`: {e}; nothing was created",
                target.join(file).display()
            );
            return ExitCode::from(2);
        }
    }
    if let Err(e) = tmp.persist(&target) {
        eprintln!(
            "error: cannot create `{}`: {e}; nothing was created",
            target.display()
        );
        return ExitCode::from(2);
    }
    for (file, _) in &files {
        println!("created {}", target.join(file).display());
    }
    println!("Next: `fused-ls check {}`", target.display());
    ExitCode::SUCCESS
}
