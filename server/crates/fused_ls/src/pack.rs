//! `fused-ls pack PATH [-o FILE.zip] [--force]`: a deterministic zip the SDK loads (meta.json
//! at the root, as `fused.load` reads it): entries sorted, timestamps and permissions fixed, so
//! the same package always gives the same bytes.
//!
//! What goes in: the package's top-level regular files, except hidden ones (`.env`, our temp
//! files), `*.pyc` and `*.zip` (earlier packs, the output itself), so packing twice gives the
//! same bytes wherever the output is written. A symlink is read as the file it names when that
//! file is inside the package; a symlink leaving the package refuses the whole pack (see
//! [`collect`]). The output must be a `.zip` and never one of the package's files.

use fused_core::check::check_package;
use fused_core::{Selection, Severity};
use fused_fs::probe::DiskProbe;
use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A file to zip: its name in the zip and the real path it is read from.
struct Input {
    name: String,
    real: PathBuf,
    /// (device, inode) when listed: the file read must be this one.
    id: (u64, u64),
}

/// The files `pack` zips, or why it refuses.
struct Inputs {
    files: Vec<Input>,
    /// (device, inode) of every file of the package but its zips, packed or not, so the output
    /// can never be one of them (whatever path or link names it).
    ids: HashSet<(u64, u64)>,
    /// Symlinks that leave the package (or name a hidden file): the pack is refused.
    escaping: Vec<String>,
    /// Entries skipped with a reason, printed as warnings.
    skipped: Vec<String>,
}

fn excluded(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.') || lower.ends_with(".pyc") || lower.ends_with(".zip")
}

/// Lists the package's top-level files. A symlink leaving the package is refused rather than
/// skipped: a zip silently missing `utils.py` (linked from a shared folder) would load broken,
/// and a zip carrying `notes.txt -> ../secret.txt` would publish the secret; the user decides
/// (copy the file in, or remove the link). `--force` does not override it.
fn collect(dir: &Path) -> Result<Inputs, String> {
    let root =
        std::fs::canonicalize(dir).map_err(|e| format!("cannot open `{}`: {e}", dir.display()))?;
    let mut inputs = Inputs {
        files: Vec::new(),
        ids: HashSet::new(),
        escaping: Vec::new(),
        skipped: Vec::new(),
    };
    let entries =
        std::fs::read_dir(&root).map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        // Earlier zips may be replaced (that is what packing again does); any other file, even
        // one that is not packed (`.env`), may not.
        if !name.to_ascii_lowercase().ends_with(".zip") {
            if let Ok(m) = std::fs::metadata(&path) {
                if m.is_file() {
                    inputs.ids.insert((m.dev(), m.ino()));
                }
            }
        }
        if excluded(&name) {
            continue;
        }
        let Ok(lmeta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let real = if lmeta.file_type().is_symlink() {
            let to = std::fs::read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            let Ok(real) = std::fs::canonicalize(&path) else {
                inputs.skipped.push(format!(
                    "skipped `{name}`: a symlink to `{to}`, which does not exist"
                ));
                continue;
            };
            match real.strip_prefix(&root) {
                Ok(rel)
                    if !rel
                        .components()
                        .any(|c| c.as_os_str().to_string_lossy().starts_with('.')) => {}
                Ok(_) => {
                    inputs.escaping.push(format!(
                        "`{name}` is a symlink to `{to}`, a hidden file pack never ships"
                    ));
                    continue;
                }
                Err(_) => {
                    inputs.escaping.push(format!(
                        "`{name}` is a symlink to `{to}`, outside the package"
                    ));
                    continue;
                }
            }
            real
        } else {
            path.clone()
        };
        match std::fs::metadata(&real) {
            Ok(m) if m.is_file() => inputs.files.push(Input {
                name,
                real,
                id: (m.dev(), m.ino()),
            }),
            Ok(m) if m.is_dir() => {}
            Ok(_) => inputs
                .skipped
                .push(format!("skipped `{name}`: not a regular file")),
            Err(e) => return Err(format!("cannot read `{name}`: {e}")),
        }
    }
    inputs.files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(inputs)
}

/// Reads the file that was listed (a link or file swapped in since is refused), never more
/// than the size limit (counted by bytes read, not by what the file system reports). Opened
/// without blocking: a FIFO swapped in after the listing would block a plain open until a
/// writer came; it is refused here as not being the file listed.
fn read_input(input: &Input) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = &input.name;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&input.real)
        .map_err(|e| format!("cannot read `{name}`: {e}"))?;
    if !file
        .metadata()
        .is_ok_and(|m| m.is_file() && (m.dev(), m.ino()) == input.id)
    {
        return Err(format!("cannot read `{name}`: it changed while packing"));
    }
    fused_fs::read::read_open_capped(file, fused_fs::MAX_FILE).map_err(|e| match e {
        fused_fs::read::ReadError::TooLarge(limit) => format!(
            "`{name}` is over the {} MiB limit of a packed file",
            limit >> 20
        ),
        e => format!("cannot read `{name}`: {e}"),
    })
}

fn zip_inputs(inputs: &Inputs) -> Result<Vec<u8>, String> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        for input in &inputs.files {
            let data = read_input(input)?;
            zip.start_file(input.name.as_str(), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(&data).map_err(|e| e.to_string())?;
        }
        zip.finish().map_err(|e| e.to_string())?;
    }
    Ok(buf.into_inner())
}

/// Why `out` cannot be the output, if it cannot: it is one of the package's files (by identity,
/// so a link or another path to it counts), or not a `.zip`.
fn bad_output(out: &Path, inputs: &Inputs) -> Option<String> {
    if let Ok(m) = std::fs::metadata(out) {
        if inputs.ids.contains(&(m.dev(), m.ino())) {
            return Some(format!(
                "`{}` is a file of the package; pack would replace it with the zip: write the \
                 zip elsewhere (`-o NAME.zip`)",
                out.display()
            ));
        }
    }
    let is_zip = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    (!is_zip).then(|| {
        format!(
            "`{}` does not end in `.zip`; pack writes a zip: name the output `NAME.zip`",
            out.display()
        )
    })
}

pub fn run(path: &Path, output: Option<PathBuf>, force: bool) -> ExitCode {
    // A FIFO or device named meta.json is never opened (a FIFO would block the read).
    let meta = path.join("meta.json");
    match std::fs::metadata(&meta).map(|m| fused_fs::read::kind(m.file_type())) {
        Ok(None) => {}
        Ok(Some(what)) => {
            eprintln!(
                "error: `{}` is {what}, not a regular file; pack reads the package from meta.json",
                meta.display()
            );
            return ExitCode::from(2);
        }
        Err(_) => {
            eprintln!(
                "error: `{}` is not a UDF package (no meta.json); `fused-ls sync {}` creates one",
                path.display(),
                path.display()
            );
            return ExitCode::from(2);
        }
    }
    let inputs = match collect(path) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if !inputs.escaping.is_empty() {
        for e in &inputs.escaping {
            eprintln!("error: {e}");
        }
        eprintln!(
            "error: refusing to pack `{}`: a zip must not carry files from outside the package; \
             copy the file into the package or remove the link (--force does not override this)",
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
    let out = output.unwrap_or_else(|| PathBuf::from(format!("{}.zip", pkg.dir_name)));
    if let Some(why) = bad_output(&out, &inputs) {
        eprintln!("error: {why}");
        return ExitCode::from(2);
    }
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
    for s in &inputs.skipped {
        eprintln!("warning: {s}");
    }
    let bytes = match zip_inputs(&inputs) {
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
