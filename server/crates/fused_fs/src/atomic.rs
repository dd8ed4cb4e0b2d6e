//! Atomic file replacement: write a temporary file beside the target, fsync it, rename it over
//! the target. A kill at any moment leaves the old file or the new one, never a partial one.
//!
//! What a write guarantees (the README's "Robustness" section promises the same):
//! - **Symlinks are written through.** A path that is a symlink (a `meta.json` shared between
//!   packages, a linked `Pkg.py`) gets its *target* replaced, atomically, with the temporary file
//!   beside the target; the link stays a link. A link to nothing is refused.
//! - **Hard links are never broken silently.** Renaming over a file with other names would leave
//!   those names with the old text, and writing in place would not be atomic: a file with more
//!   than one link is refused with a message, and left as it is.
//! - **Modes.** A new file gets `0666 & !umask` (0644 with the usual umask), as any editor would
//!   make it, not the 0600 of a private temp file; a rewritten file keeps its mode and, when the
//!   process may set it, its owner and group. A read-only file is refused.
//! - **No litter.** Temp files are named `.fused-ls-<pid>-<n>.tmp`. A killed write (`kill -9`)
//!   leaves one; the next write in that folder removes those whose process is gone or that are
//!   over a minute old. Package readers and `pack` skip them ([`is_temp_name`]).

use std::fs::{File, OpenOptions};
use std::io::{Error, ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

const TEMP_PREFIX: &str = ".fused-ls-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temp file this old is stale even when a process with its pid is alive (pids are reused;
/// no write of ours takes a minute).
const STALE_AFTER: Duration = Duration::from_secs(60);

/// Whether `name` is one of our temp files (`.fused-ls-*.tmp`, including the older
/// `.fused-ls-XXXXXX.tmp` naming without a pid). They are never package content.
pub fn is_temp_name(name: &str) -> bool {
    name.len() > TEMP_PREFIX.len() + TEMP_SUFFIX.len()
        && name.starts_with(TEMP_PREFIX)
        && name.ends_with(TEMP_SUFFIX)
}

/// Replaces `path`'s content with `contents` atomically (see the module docs for symlinks, hard
/// links, modes and stale temp files). Creates the file when it does not exist.
pub fn write(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let target = resolve(path)?;
    let existing = match std::fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(m) = &existing {
        if !m.is_file() {
            return Err(Error::other(format!(
                "it is {}, not a regular file",
                describe(&m.file_type())
            )));
        }
        // Renaming over a read-only file would succeed: respect the user's "do not change this".
        if m.permissions().readonly() {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                "the file is read-only",
            ));
        }
        if m.nlink() > 1 {
            return Err(Error::other(format!(
                "it has {} hard links (other names for the same file); replacing it would leave \
                 the other names with the old text, so it was not written: make it a single file \
                 first (`cp FILE FILE.new && mv FILE.new FILE`) or edit it by hand",
                m.nlink()
            )));
        }
    }
    let dir = parent_dir(&target);
    clean_stale(dir);
    let mut tmp = TempFile::create(dir)?;
    tmp.file.write_all(contents)?;
    if let Some(m) = &existing {
        // Owner first: chown clears set-id bits, the mode set after restores what was there.
        let own = tmp.file.metadata()?;
        if own.uid() != m.uid() || own.gid() != m.gid() {
            // Only root (or the owner changing to one of its groups) may; otherwise the new file
            // is ours, as with any editor's save.
            let _ = std::os::unix::fs::fchown(&tmp.file, Some(m.uid()), Some(m.gid()));
        }
        tmp.file
            .set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
    }
    tmp.file.sync_all()?;
    std::fs::rename(&tmp.path, &target)?;
    tmp.persisted = true;
    sync_dir(dir);
    Ok(())
}

/// The file a write to `path` must replace: `path` itself, or, when it is a symlink, the file
/// the link names (resolved fully, so the temp file is made beside the real file).
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            let to = std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            if e.kind() == ErrorKind::NotFound {
                Error::new(
                    ErrorKind::NotFound,
                    format!("it is a symlink to `{to}`, which does not exist"),
                )
            } else {
                Error::new(
                    e.kind(),
                    format!("it is a symlink to `{to}`, which cannot be resolved ({e})"),
                )
            }
        }),
        _ => Ok(path.to_path_buf()),
    }
}

fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn describe(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh name `.fused-ls-<pid>-<n><suffix>` in `dir`; the pid lets a later write tell a
/// killed writer's leftover from a write in progress.
fn fresh_name(dir: &Path, suffix: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(
        "{TEMP_PREFIX}{}-{n}{nanos:x}{suffix}",
        std::process::id()
    ))
}

/// A temp file that removes itself unless it was renamed into place.
struct TempFile {
    file: File,
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    fn create(dir: &Path) -> std::io::Result<TempFile> {
        let mut last = None;
        for _ in 0..64 {
            let path = fresh_name(dir, TEMP_SUFFIX);
            // 0666: the kernel applies the umask, so a new file gets the mode any program's
            // would (tempfile's 0600 made every created meta.json and zip private).
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o666)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(TempFile {
                        file,
                        path,
                        persisted: false,
                    })
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::other("no free temp file name")))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes our temp files in `dir` that a killed write left behind: only names of our own
/// making, only regular files (never through a link), only stale ones (their process is gone,
/// or they are over a minute old). Errors are ignored: cleaning is a courtesy, the write is not
/// conditional on it.
pub fn clean_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !is_temp_name(name) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !meta.file_type().is_file() {
            continue;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > STALE_AFTER);
        let owner_dead = temp_pid(name).is_some_and(|pid| pid != std::process::id() && !alive(pid));
        if old || owner_dead {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The pid in `.fused-ls-<pid>-<rest>.tmp`, if the name has one.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence only. EPERM means it exists (another user's process).
    // SAFETY: kill with signal 0 sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A folder made under a temp name beside its destination and renamed into place only when it
/// is complete, so a failure half-way (a name too long for the file system, a full disk)
/// leaves nothing. Removed on drop unless [`TempDir::persist`]ed.
pub struct TempDir {
    path: PathBuf,
    persisted: bool,
}

impl TempDir {
    /// Creates the temp folder beside `target`, with the mode a new folder gets
    /// (`0777 & !umask`).
    pub fn beside(target: &Path) -> std::io::Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = parent_dir(target);
        let mut last = None;
        for _ in 0..64 {
            let path = fresh_name(dir, ".new");
            match std::fs::DirBuilder::new().mode(0o777).create(&path) {
                Ok(()) => {
                    return Ok(TempDir {
                        path,
                        persisted: false,
                    })
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::other("no free temp folder name")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the folder to `target`, which must not exist (an existing one, even empty, is
    /// refused rather than replaced).
    pub fn persist(mut self, target: &Path) -> std::io::Result<()> {
        if std::fs::symlink_metadata(target).is_ok() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                "it appeared while the package was being written",
            ));
        }
        std::fs::rename(&self.path, target)?;
        self.persisted = true;
        sync_dir(parent_dir(target));
        Ok(())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names() {
        assert!(is_temp_name(".fused-ls-123-4af.tmp"));
        assert!(is_temp_name(".fused-ls-Ab12Cd.tmp"));
        assert!(!is_temp_name(".fused-ls-.tmp"));
        assert!(!is_temp_name("fused-ls-1-2.tmp"));
        assert!(!is_temp_name(".fused-ls-notes.txt"));
        assert_eq!(temp_pid(".fused-ls-123-4af.tmp"), Some(123));
        assert_eq!(temp_pid(".fused-ls-Ab12Cd.tmp"), None);
    }

    #[test]
    fn a_failed_temp_dir_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("Pkg");
        {
            let d = TempDir::beside(&target).unwrap();
            std::fs::write(d.path().join("a"), "x").unwrap();
        }
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
        let d = TempDir::beside(&target).unwrap();
        std::fs::create_dir(&target).unwrap();
        assert!(d.persist(&target).is_err(), "an existing target is refused");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_removes_its_temp_file() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("meta.json")).unwrap();
        assert!(write(&t.path().join("meta.json"), b"{}").is_err());
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
