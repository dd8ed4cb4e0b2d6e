//! `fused-ls pack PATH [-o FILE.zip] [--force]`: a deterministic zip the SDK loads (meta.json
//! at the root, as `fused.load` reads it): entries sorted, timestamps and permissions fixed, so
//! the same package always gives the same bytes.

use fused_core::check::check_package;
use fused_core::{Selection, Severity};
use fused_fs::probe::DiskProbe;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn zip_bytes(dir: &Path) -> Result<Vec<u8>, String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?
        .flatten()
        .filter(|e| std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !n.ends_with(".pyc"))
        .collect();
    names.sort();
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        for name in names {
            let data =
                std::fs::read(dir.join(&name)).map_err(|e| format!("cannot read `{name}`: {e}"))?;
            zip.start_file(name.as_str(), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(&data).map_err(|e| e.to_string())?;
        }
        zip.finish().map_err(|e| e.to_string())?;
    }
    Ok(buf.into_inner())
}

pub fn run(path: &Path, output: Option<PathBuf>, force: bool) -> ExitCode {
    if !path.join("meta.json").is_file() {
        eprintln!(
            "error: `{}` is not a UDF package (no meta.json); `fused-ls sync {}` creates one",
            path.display(),
            path.display()
        );
        return ExitCode::from(2);
    }
    let pkg = match fused_fs::read_package(path, &|_| None) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let errors: Vec<String> = check_package(&pkg, &DiskProbe, &Selection::default())
        .iter()
        .flat_map(|r| {
            r.diagnostics
                .iter()
                .filter(|d| d.severity() == Severity::Error)
                .map(move |d| format!("{}: {} {}", r.name, d.rule.code(), d.message))
        })
        .collect();
    if !errors.is_empty() && !force {
        for e in &errors {
            eprintln!("{e}");
        }
        eprintln!(
            "error: the package has {} error(s); fix them (`fused-ls check {}`) or pass --force",
            errors.len(),
            path.display()
        );
        return ExitCode::from(1);
    }
    let out = output.unwrap_or_else(|| PathBuf::from(format!("{}.zip", pkg.dir_name)));
    let bytes = match zip_bytes(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = fused_fs::atomic::write(&out, &bytes) {
        eprintln!("error: cannot write `{}`: {e}", out.display());
        return ExitCode::from(2);
    }
    println!(
        "packed {} into {} ({} bytes)",
        path.display(),
        out.display(),
        bytes.len()
    );
    ExitCode::SUCCESS
}
