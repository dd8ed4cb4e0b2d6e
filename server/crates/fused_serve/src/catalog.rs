//! The UDFs served: found by the front end's discovery (the CLI's, handed over as a
//! [`Discover`]), looked for again when a request names a UDF not known yet and when the list is
//! asked for (at most every few seconds), and each read again on every request, so an edited
//! file is what runs and what the cache key hashes. Re-reading instead of watching (`notify`): a
//! package is a few small files, and a hash of what is on disk cannot miss an event (saves by
//! rename, network file systems, inotify's limits).

use fused_core::coercion::{future_treatment, treatment, Treatment};
use fused_core::model::{ParamKind, Udf};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Finds the UDFs to serve, now: the entries, and notes on what was skipped and why.
pub type Discover = Arc<dyn Fn() -> (Vec<Entry>, Vec<String>) + Send + Sync>;

/// The UDFs served, found again when they may have changed.
pub struct Catalog {
    discover: Discover,
    found: Mutex<(Arc<Vec<Arc<Entry>>>, Instant)>,
    /// Held while discovering (one walk at a time), so `found` is not: the list is read on the
    /// async runtime's threads (the language server's own, for its map), which a walk of a large
    /// workspace must not hold.
    walking: Mutex<()>,
}

impl Catalog {
    /// Discovers once; the notes are for the caller to print.
    pub fn new(discover: Discover) -> (Catalog, Vec<String>) {
        let (entries, notes) = discover();
        let entries = Arc::new(entries.into_iter().map(Arc::new).collect());
        let c = Catalog {
            discover,
            found: Mutex::new((entries, Instant::now())),
            walking: Mutex::new(()),
        };
        (c, notes)
    }

    /// The UDFs as last found.
    pub fn entries(&self) -> Arc<Vec<Arc<Entry>>> {
        self.found
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone()
    }

    /// Discovers again unless the last discovery is younger than `max_age` (blocking: it walks
    /// the folders). A UDF found before keeps its entry (a zip's unpacked files with it); one
    /// gone from disk is no longer served.
    pub fn refresh(&self, max_age: Duration) -> Arc<Vec<Arc<Entry>>> {
        let _walk = self.walking.lock().unwrap_or_else(|p| p.into_inner());
        let old = {
            let found = self.found.lock().unwrap_or_else(|p| p.into_inner());
            if found.1.elapsed() < max_age {
                return found.0.clone();
            }
            found.0.clone()
        };
        let (fresh, _) = (self.discover)();
        let merged: Vec<Arc<Entry>> = fresh
            .into_iter()
            .map(|e| {
                old.iter()
                    .find(|o| o.name == e.name && o.origin.path() == e.origin.path())
                    .cloned()
                    .unwrap_or_else(|| Arc::new(e))
            })
            .collect();
        let merged = Arc::new(merged);
        *self.found.lock().unwrap_or_else(|p| p.into_inner()) = (merged.clone(), Instant::now());
        merged
    }
}

/// Where a UDF comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A package folder (holding meta.json).
    Package(PathBuf),
    /// A zipped package, unpacked to a temp folder whenever its bytes change.
    Zip(PathBuf),
    /// A loose `.py` file; its folder is the working directory.
    Loose(PathBuf),
}

impl Origin {
    pub fn path(&self) -> &Path {
        match self {
            Origin::Package(p) | Origin::Zip(p) | Origin::Loose(p) => p,
        }
    }
}

pub struct Entry {
    pub name: String,
    pub origin: Origin,
    /// A zip's unpacked files, with the hash of the bytes they came from. Shared with the runs
    /// in flight, so a re-unpack never pulls files from under one.
    unpacked: Mutex<Option<(String, Arc<tempfile::TempDir>)>>,
}

/// A UDF's files as they are now: what a run uses and what the cache key hashes.
pub struct Snapshot {
    /// SHA-256 (hex) over every file of the package: `.py` files and meta.json by content, other
    /// files (data) by name, size and modification time, so a large data file is not read on
    /// every request.
    pub hash: String,
    pub source: PathBuf,
    pub entrypoint: Option<String>,
    pub dir: PathBuf,
    pub headers: Vec<(String, PathBuf)>,
    pub text: String,
    pub meta: Option<Value>,
    pub modified: SystemTime,
    /// Keeps a zip's temp folder alive for the run.
    pub _keep: Option<Arc<tempfile::TempDir>>,
}

impl Entry {
    pub fn new(name: String, origin: Origin) -> Entry {
        Entry {
            name,
            origin,
            unpacked: Mutex::new(None),
        }
    }

    /// Reads the UDF's files now.
    pub fn snapshot(&self) -> Result<Snapshot, String> {
        let mut hasher = Sha256::new();
        let mut modified = SystemTime::UNIX_EPOCH;
        let (dir, keep, loose) = match &self.origin {
            Origin::Package(d) => (d.clone(), None, None),
            Origin::Loose(f) => (
                f.parent().map(Path::to_path_buf).unwrap_or_default(),
                None,
                Some(f.clone()),
            ),
            Origin::Zip(z) => {
                let (dir, keep, t) = self.unpack(z, &mut hasher)?;
                modified = t;
                (dir, Some(keep), None)
            }
        };
        if let Some(file) = &loose {
            let bytes = fused_fs::read::read_regular_capped(file, fused_fs::MAX_FILE)
                .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
            hasher.update(&bytes);
            modified = mtime(file);
        } else if keep.is_none() {
            modified = hash_dir(&dir, &mut hasher)?;
        }
        let meta_text = (loose.is_none())
            .then(|| std::fs::read_to_string(dir.join("meta.json")).ok())
            .flatten();
        let meta = meta_text
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok());
        let meta_udf = loose
            .is_none()
            .then(|| fused_run::package_meta(&dir))
            .flatten();
        let source = match (&loose, meta_udf.as_ref().and_then(|m| m.source.as_ref())) {
            (Some(f), _) => f.clone(),
            (None, Some(src)) => dir.join(&src.value),
            (None, None) => {
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                dir.join(format!("{name}.py"))
            }
        };
        let text = fused_fs::read::read_text_capped(&source, fused_fs::MAX_FILE)
            .map_err(|e| format!("cannot read `{}`: {e}", source.display()))?;
        let entrypoint = meta_udf
            .as_ref()
            .and_then(|m| m.entrypoint.as_ref())
            .map(|e| e.value.clone());
        let headers = fused_run::header_modules(&dir, meta_udf.as_ref());
        Ok(Snapshot {
            hash: hex(&hasher.finalize()),
            source,
            entrypoint,
            dir,
            headers,
            text,
            meta,
            modified,
            _keep: keep,
        })
    }

    fn unpack(
        &self,
        zip: &Path,
        hasher: &mut Sha256,
    ) -> Result<(PathBuf, Arc<tempfile::TempDir>, SystemTime), String> {
        let bytes = fused_fs::read::read_regular_capped(zip, fused_fs::MAX_ZIP)
            .map_err(|e| format!("cannot read `{}`: {e}", zip.display()))?;
        let digest = hex(&Sha256::digest(&bytes));
        hasher.update(digest.as_bytes());
        let mut slot = self.unpacked.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((h, dir)) = slot.as_ref() {
            if *h == digest {
                return Ok((dir.path().to_path_buf(), dir.clone(), mtime(zip)));
            }
        }
        let tmp = fused_run::unpack_zip(&bytes, zip)?;
        let tmp = Arc::new(tmp);
        *slot = Some((digest, tmp.clone()));
        Ok((tmp.path().to_path_buf(), tmp, mtime(zip)))
    }
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Hashes a package folder's top-level files (sorted by name); returns the latest modification.
fn hash_dir(dir: &Path, hasher: &mut Sha256) -> Result<SystemTime, String> {
    let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(n, _)| !fused_fs::atomic::is_temp_name(n))
        .collect();
    names.sort();
    let mut latest = SystemTime::UNIX_EPOCH;
    for (name, path) in names {
        let Ok(m) = std::fs::metadata(&path) else {
            continue;
        };
        if !m.is_file() {
            continue;
        }
        let t = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        latest = latest.max(t);
        hasher.update(name.as_bytes());
        hasher.update([0]);
        if name.ends_with(".py") || name == "meta.json" {
            let bytes = fused_fs::read::read_regular_capped(&path, fused_fs::MAX_FILE)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        } else {
            let ns = t
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            hasher.update(m.len().to_le_bytes());
            hasher.update(ns.to_le_bytes());
        }
    }
    Ok(latest)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The function a run calls: the entrypoint meta.json names, else the first `@fused.udf`.
pub fn target(snap: &Snapshot) -> Option<Udf> {
    let model = fused_core::python::model(&snap.text);
    match snap.entrypoint.as_deref() {
        Some(e) => model.function(e).cloned(),
        None => model.udfs.first().cloned(),
    }
}

/// Whether the file holds a UDF at all (a loose helper module does not).
pub fn has_udf(text: &str) -> bool {
    !fused_core::python::model(text).udfs.is_empty()
}

/// Tile when the UDF takes `bounds` or `bbox` (what Workbench shows on the map), else File.
pub fn mode(udf: &Udf) -> &'static str {
    if udf.param("bounds").or_else(|| udf.param("bbox")).is_some() {
        "tile"
    } else {
        "file"
    }
}

/// The names a caller may pass (normal parameters), and whether `**kwargs` takes any name.
pub fn param_names(udf: &Udf) -> (Vec<String>, bool) {
    let names = udf
        .params
        .iter()
        .filter(|p| p.kind == ParamKind::Normal)
        .map(|p| p.name.clone())
        .collect();
    (names, udf.has_kwargs())
}

/// How the SDK treats a string for `p` (fused_core's coercion table); `future`: the file has
/// `from __future__ import annotations`.
fn treatment_of(p: &fused_core::model::Param, future: bool) -> Treatment {
    let Some(ann) = &p.annotation else {
        return Treatment::Unannotated;
    };
    if future {
        future_treatment(&ann.text).unwrap_or(Treatment::NotCoerced {
            why: "under `from __future__ import annotations` the SDK does not coerce it".into(),
        })
    } else {
        treatment(&ann.expr)
    }
}

/// What a string argument becomes, from fused_core's coercion table (as hovers say it).
fn receives(p: &fused_core::model::Param, future: bool) -> String {
    match treatment_of(p, future) {
        Treatment::Unannotated => "the string as it is (no annotation)".into(),
        Treatment::Coerced { coercion, optional } => format!(
            "{}{}",
            coercion.describe(),
            if optional {
                "; `None` stays `None`"
            } else {
                ""
            }
        ),
        Treatment::Passthrough => "the string as it is".into(),
        Treatment::Iterable => "the string as it is: fused 2.9.5 does not coerce `Iterable`".into(),
        Treatment::NotCoerced { why } => format!("the string as it is: {why}"),
    }
}

/// What the string `value` becomes for the parameter `name` of the UDF in `snap` (the
/// `<udf>/coerce` endpoint): `{"ok": true, "repr", "type"}` (Python's `repr` of what the UDF
/// receives), `{"ok": false, "error": {class, message}}` (the conversion raises: a run with it
/// fails), or `{"ok": true, "repr": null, "at_run"}` (decided when the UDF runs). A name the
/// UDF only takes through `**kwargs` is passed as it is. `None` when the UDF has no such name.
pub fn coerced(snap: &Snapshot, udf: &Udf, name: &str, value: &str) -> Option<Value> {
    use fused_core::coerced::{coerce, Coerced};
    let future = fused_core::python::model(&snap.text)
        .future_annotations
        .is_some();
    let t = match udf
        .params
        .iter()
        .find(|p| p.kind == ParamKind::Normal && p.name == name)
    {
        Some(p) => treatment_of(p, future),
        None if udf.has_kwargs() => Treatment::Unannotated,
        None => return None,
    };
    Some(match coerce(&t, value) {
        Coerced::Value { repr, type_name } => json!({"ok": true, "repr": repr, "type": type_name}),
        Coerced::Error { class, message } => {
            json!({"ok": false, "error": {"class": class, "message": message}})
        }
        Coerced::AtRun { what } => json!({"ok": true, "repr": null, "at_run": what}),
    })
}

/// The `metadata` object of the package's first UDF step.
fn metadata(meta: Option<&Value>) -> Option<&Value> {
    meta?["job_config"]["steps"]
        .as_array()?
        .iter()
        .find(|s| s["udf"].is_object())
        .map(|s| &s["udf"]["metadata"])
}

/// One entry of `udfs`.
pub fn describe(entry: &Entry, snap: &Snapshot) -> Value {
    let udf = target(snap);
    let future = fused_core::python::model(&snap.text)
        .future_annotations
        .is_some();
    let receiver = udf
        .as_ref()
        .and_then(|u| u.tile_receiver())
        .map(|p| p.name.clone());
    let params: Vec<Value> = udf
        .as_ref()
        .map(|u| {
            u.params
                .iter()
                .filter(|p| p.kind == ParamKind::Normal)
                .map(|p| {
                    json!({
                        "name": p.name,
                        "annotation": p.annotation.as_ref().map(|a| a.text.clone()),
                        "default": p.default.as_ref().map(|d| d.text.clone()),
                        "receives": receives(p, future),
                        "tile": receiver.as_deref() == Some(p.name.as_str()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let md = metadata(snap.meta.as_ref());
    let name = &entry.name;
    json!({
        "name": name,
        "mode": udf.as_ref().map(mode),
        "function": udf.as_ref().map(|u| u.name.clone()),
        "path": entry.origin.path(),
        "parameters": params,
        "fused:defaultViewState": md.map(|m| m["fused:defaultViewState"].clone()).unwrap_or(Value::Null),
        "fused:vizConfig": md.map(|m| m["fused:vizConfig"].clone()).unwrap_or(Value::Null),
        "last_modified": rfc3339(snap.modified),
        // Changes whenever any file of the package does (the map reloads on it).
        "version": snap.hash,
        "endpoints": {
            "tiles": format!("{name}/run/tiles/{{z}}/{{x}}/{{y}}"),
            "file": format!("{name}/run/file"),
        },
    })
}

/// A UTC time as `2026-12-02T15:53:09Z` (civil date from days, Howard Hinnant's algorithm).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_list_is_read_while_a_refresh_walks_the_folders() {
        // The language server's map reads the list on its runtime's threads (`find`): a walk
        // of a large workspace must not hold them.
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::mpsc;
        let (started, walking) = mpsc::channel::<()>();
        let (go, wait) = mpsc::channel::<()>();
        let wait = Mutex::new(wait);
        let calls = AtomicUsize::new(0);
        let discover: Discover = Arc::new(move || {
            if calls.fetch_add(1, Ordering::SeqCst) > 0 {
                let _ = started.send(());
                let _ = wait.lock().unwrap().recv_timeout(Duration::from_secs(10));
            }
            (Vec::new(), Vec::new())
        });
        let catalog = Arc::new(Catalog::new(discover).0);
        let c = catalog.clone();
        let walker = std::thread::spawn(move || c.refresh(Duration::ZERO).len());
        walking.recv_timeout(Duration::from_secs(10)).unwrap();
        let (sent, read) = mpsc::channel();
        let c = catalog.clone();
        std::thread::spawn(move || sent.send(c.entries().len()));
        let got = read.recv_timeout(Duration::from_secs(2));
        go.send(()).unwrap();
        assert_eq!(walker.join().unwrap(), 0);
        assert_eq!(got, Ok(0), "entries() waited for the walk");
    }

    #[test]
    fn rfc3339_dates() {
        let at = |s| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_219_589), "2026-12-02T13:53:09Z");
    }
}
