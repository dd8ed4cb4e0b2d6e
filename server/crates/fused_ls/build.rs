//! Stamps `fused-ls --version` with the commit it was built from, as ruff does:
//! `fused-ls 0.1.0 (1a2b3c4d 2026-12-02)`. Outside a git checkout (a wheel built from an
//! sdist) the version alone is printed. `FUSED_LS_COMMIT` overrides the lookup.
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=FUSED_LS_COMMIT");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    // Re-run when HEAD moves (a commit, a checkout); a missing path is fine for cargo.
    for p in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    let commit = std::env::var("FUSED_LS_COMMIT").ok().or_else(|| {
        let out = Command::new("git")
            .args(["log", "-1", "--date=short", "--format=%h %cd", "--abbrev=8"])
            .current_dir(&root)
            .output()
            .ok()?;
        let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !s.is_empty()).then_some(s)
    });
    let version = env!("CARGO_PKG_VERSION");
    let long = match commit {
        Some(c) => format!("{version} ({c})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=FUSED_LS_LONG_VERSION={long}");
}
