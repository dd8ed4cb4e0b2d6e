//! Reading a zipped UDF package from bytes, in memory, refusing what could escape or explode.

use crate::check::{FileContent, Package, PackageFile};
use std::io::{Cursor, Read};

/// Limits that stop a zip bomb before it costs memory.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Largest single entry, uncompressed.
    pub max_entry: u64,
    /// Largest total, uncompressed.
    pub max_total: u64,
    pub max_entries: usize,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entry: 16 << 20,
            max_total: 64 << 20,
            max_entries: 1000,
        }
    }
}

/// A package read from a zip; `prefix` is its top folder inside the zip (`Name/`) or empty.
pub struct ZipPackage {
    pub package: Package,
    pub prefix: String,
}

/// Reads the package in a zip: `meta.json` at the root, or in the zip's single top folder.
/// `stem` names the package when the zip has no top folder. Errors say what is wrong.
pub fn read_zip(bytes: &[u8], stem: &str, limits: ZipLimits) -> Result<ZipPackage, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a readable zip ({e})"))?;
    if archive.len() > limits.max_entries {
        return Err(format!(
            "it holds {} entries, more than the limit of {}",
            archive.len(),
            limits.max_entries
        ));
    }
    let mut entries: Vec<(String, FileContent)> = Vec::new();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut file = archive
            .by_index(i)
            .map_err(|e| format!("entry {i} cannot be read ({e})"))?;
        let raw_name = file
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| format!("entry {i}"));
        if file.is_symlink() {
            return Err(format!("entry `{raw_name}` is a symlink; refused"));
        }
        if file.enclosed_name().is_none()
            || raw_name.starts_with('/')
            || raw_name.split(['/', '\\']).any(|p| p == "..")
        {
            return Err(format!(
                "entry `{raw_name}` escapes the package root; refused"
            ));
        }
        if file.is_dir() {
            continue;
        }
        if file.size() > limits.max_entry {
            return Err(format!(
                "entry `{raw_name}` declares {} bytes, over the {} byte limit",
                file.size(),
                limits.max_entry
            ));
        }
        total += file.size();
        if total > limits.max_total {
            return Err(format!(
                "the entries declare more than {} bytes in all; refused",
                limits.max_total
            ));
        }
        // Never trust the declared size: read at most the limit plus one byte.
        let mut buf = Vec::with_capacity(file.size().min(limits.max_entry) as usize);
        (&mut file)
            .take(limits.max_entry + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("entry `{raw_name}` cannot be decompressed ({e})"))?;
        if buf.len() as u64 > limits.max_entry {
            return Err(format!(
                "entry `{raw_name}` inflates past the {} byte limit",
                limits.max_entry
            ));
        }
        entries.push((raw_name, FileContent::from_bytes(buf)));
    }
    let root: Option<String> = if entries.iter().any(|(n, _)| n == "meta.json") {
        None
    } else {
        let tops: std::collections::BTreeSet<&str> = entries
            .iter()
            .filter_map(|(n, _)| n.split_once('/').map(|(t, _)| t))
            .collect();
        match tops.into_iter().collect::<Vec<_>>().as_slice() {
            [one]
                if entries
                    .iter()
                    .any(|(n, _)| *n == format!("{one}/meta.json")) =>
            {
                Some(one.to_string())
            }
            _ => return Err("it holds no meta.json at its root or in a single top folder".into()),
        }
    };
    let prefix = root.as_ref().map(|r| format!("{r}/")).unwrap_or_default();
    let files: Vec<PackageFile> = entries
        .into_iter()
        .filter_map(|(n, c)| {
            let rel = n.strip_prefix(&prefix)?;
            (!rel.contains('/')).then(|| PackageFile {
                name: rel.to_string(),
                content: c,
            })
        })
        .collect();
    // A zip with meta.json at its root (as `pack` and the SDK write it) is named by its
    // meta.json; the zip's own file name is often a version or a download name.
    let meta_name = || {
        files
            .iter()
            .find(|f: &&PackageFile| f.name == "meta.json")
            .and_then(|f| f.content.text())
            .and_then(|t| match crate::meta::parse(t) {
                crate::meta::MetaParse::Parsed(m) => m.udf.and_then(|u| u.name).map(|n| n.value),
                _ => None,
            })
    };
    let dir_name = root
        .clone()
        .or_else(meta_name)
        .unwrap_or_else(|| stem.to_string());
    Ok(ZipPackage {
        package: Package {
            dir_name,
            dir: None,
            files,
        },
        prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8], Option<u32>)]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            for (name, data, mode) in entries {
                match mode {
                    Some(_) => z
                        .add_symlink(
                            *name,
                            "../../etc/passwd",
                            zip::write::SimpleFileOptions::default(),
                        )
                        .unwrap(),
                    None => {
                        z.start_file(*name, zip::write::SimpleFileOptions::default())
                            .unwrap();
                        z.write_all(data).unwrap();
                    }
                }
            }
            z.finish().unwrap();
        }
        buf.into_inner()
    }

    const META: &[u8] = br#"{"job_config":{"steps":[{"type":"udf","udf":{"name":"Pkg","entrypoint":"udf","headers":[],"source":"Pkg.py"}}]}}"#;

    #[test]
    fn refuses_escaping_absolute_and_symlink_entries() {
        for (bad, why) in [
            ("../evil.py", "escapes"),
            ("/etc/evil.py", "escapes"),
            ("a/../../evil.py", "escapes"),
        ] {
            let z = zip_of(&[("meta.json", META, None), (bad, b"x = 1\n", None)]);
            let err = read_zip(&z, "x", ZipLimits::default())
                .err()
                .unwrap_or_default();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let z = zip_of(&[("meta.json", META, None), ("link.py", b"", Some(0o777))]);
        assert!(read_zip(&z, "x", ZipLimits::default())
            .err()
            .unwrap_or_default()
            .contains("symlink"));
    }

    #[test]
    fn reads_root_and_single_folder_layouts_and_stops_at_limits() {
        let root = zip_of(&[("meta.json", META, None), ("Pkg.py", b"x = 1\n", None)]);
        let p = read_zip(&root, "download-3", ZipLimits::default()).unwrap();
        assert_eq!(
            (p.package.dir_name.as_str(), p.prefix.as_str()),
            ("Pkg", "")
        );
        let nested = zip_of(&[
            ("Pkg/meta.json", META, None),
            ("Pkg/Pkg.py", b"x = 1\n", None),
        ]);
        let p = read_zip(&nested, "x", ZipLimits::default()).unwrap();
        assert_eq!(
            (
                p.package.dir_name.as_str(),
                p.prefix.as_str(),
                p.package.files.len()
            ),
            ("Pkg", "Pkg/", 2)
        );
        let big = vec![b'a'; 4096];
        let z = zip_of(&[("meta.json", META, None), ("Pkg.py", &big, None)]);
        let limits = ZipLimits {
            max_entry: 1024,
            max_total: 1 << 20,
            max_entries: 10,
        };
        assert!(read_zip(&z, "x", limits)
            .err()
            .unwrap_or_default()
            .contains("limit"));
        assert!(read_zip(b"not a zip", "x", ZipLimits::default()).is_err());
    }
}
