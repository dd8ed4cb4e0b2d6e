//! The one way fused-ls reads a file it did not write: only a regular file (a FIFO would block
//! the reader forever, `/dev/zero` never ends), and never more than a limit, counted in bytes
//! actually read rather than the size the file system reports (0 for `/proc` files and devices,
//! and a file may grow while it is read).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

#[derive(Debug)]
pub enum ReadError {
    /// Not a regular file: what it is instead ("a FIFO", "a character device", ...).
    NotRegular(&'static str),
    /// More than the limit (in bytes).
    TooLarge(u64),
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotRegular(what) => write!(f, "not a regular file ({what})"),
            ReadError::TooLarge(limit) if *limit >= 1 << 20 => {
                write!(f, "it is over the {} MiB limit", limit >> 20)
            }
            ReadError::TooLarge(limit) => write!(f, "it is over the {limit}-byte limit"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// What a file that is not a regular one is ("a FIFO", "a directory", ...); `None` for a
/// regular file.
pub fn kind(ft: std::fs::FileType) -> Option<&'static str> {
    if ft.is_file() {
        None
    } else if ft.is_dir() {
        Some("a directory")
    } else if ft.is_fifo() {
        Some("a FIFO")
    } else if ft.is_char_device() {
        Some("a character device")
    } else if ft.is_block_device() {
        Some("a block device")
    } else if ft.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

/// Reads `path` (symlinks followed) when it is a regular file of at most `limit` bytes.
///
/// The type is checked before opening (opening a FIFO for reading blocks until a writer comes)
/// and again on the open file (the path may have been swapped meanwhile); the open itself is
/// non-blocking for that window. The read stops at `limit + 1` bytes whatever the file claims.
pub fn read_regular_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if let Some(what) = kind(meta.file_type()) {
        return Err(ReadError::NotRegular(what));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(ReadError::Io)?;
    read_open_capped(file, limit)
}

/// [`read_regular_capped`] on a file already open (its type is checked here).
pub fn read_open_capped(file: File, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = file.metadata().map_err(ReadError::Io)?;
    if let Some(what) = kind(meta.file_type()) {
        return Err(ReadError::NotRegular(what));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(bytes)
}

/// [`read_regular_capped`] as UTF-8 text.
pub fn read_text_capped(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_regular_capped(path, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is not UTF-8: {e}"),
        ))
    })
}

/// The first `keep` bytes of a regular file and how many bytes it held (read, not reported),
/// reading at most `limit` in all: for output files a process wrote, whose size alone says
/// nothing if it was replaced by something else.
pub fn read_head(path: &Path, keep: usize, limit: u64) -> Result<(Vec<u8>, u64), ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if let Some(what) = kind(meta.file_type()) {
        return Err(ReadError::NotRegular(what));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(ReadError::Io)?;
    if let Some(what) = kind(file.metadata().map_err(ReadError::Io)?.file_type()) {
        return Err(ReadError::NotRegular(what));
    }
    let mut kept = Vec::new();
    let mut r = file.take(limit);
    (&mut r)
        .take(keep as u64)
        .read_to_end(&mut kept)
        .map_err(ReadError::Io)?;
    let rest = std::io::copy(&mut r, &mut std::io::sink()).map_err(ReadError::Io)?;
    let total = kept.len() as u64 + rest;
    Ok((kept, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_fifos_and_devices_and_caps_by_bytes_read() {
        let t = tempfile::tempdir().unwrap();
        let fifo = t.path().join("a.py");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_regular_capped(&fifo, 10).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a FIFO)");
        let zero = t.path().join("x.py");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = read_regular_capped(&zero, 10).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a character device)");
        // /proc files report a size of 0 but hold more.
        let e = read_regular_capped(Path::new("/proc/self/maps"), 4).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge(4)), "{e}");
        let f = t.path().join("ok.txt");
        std::fs::write(&f, "hello").unwrap();
        assert_eq!(read_regular_capped(&f, 5).unwrap(), b"hello");
        assert!(read_regular_capped(&f, 4).is_err());
        assert_eq!(read_head(&f, 2, 100).unwrap(), (b"he".to_vec(), 5));
    }
}
