//! Finding the configuration that applies to a path: walking up from the file's folder, the
//! closest `.fused-ls.toml`, `fused-ls.toml` or `pyproject.toml` with `[tool.fused-ls]` wins
//! (ruff's rule). The CLI and the language server both resolve through here, so a file gets the
//! same settings in both. Parsing is `fused_core::config`'s.

use fused_core::config::{parse, Config, ConfigKind};
use fused_core::selection::Layer;
use fused_core::Selection;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Larger configuration files are refused (a real pyproject.toml is a few KB).
const CONFIG_MAX_BYTES: u64 = 4 << 20;

/// A configuration file in effect.
#[derive(Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// Its folder: relative globs and paths in it are resolved from here.
    pub dir: PathBuf,
    pub config: Config,
    exclude: GlobSet,
    per_file: Vec<(GlobSet, Vec<String>)>,
}

/// A configuration file that exists but cannot be used: `path:line:col: message`.
pub type Error = String;

impl ConfigFile {
    fn load(path: &Path, kind: ConfigKind) -> Result<Option<ConfigFile>, Error> {
        // Only a regular file, capped: a FIFO named pyproject.toml must not hang the check.
        let text = crate::read::read_text_capped(path, CONFIG_MAX_BYTES)
            .map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
        let config = match parse(&text, kind) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(None),
            Err(e) => return Err(format!("{}:{e}", path.display())),
        };
        let bad_glob = |key: &str, g: &str, e: globset::Error| {
            // Point at the glob's string in the file, as the parser's errors do.
            let at = ['"', '\'']
                .iter()
                .find_map(|q| text.find(&format!("{q}{g}{q}")))
                .map(|o| {
                    let before = &text[..o];
                    let line = before.matches('\n').count() + 1;
                    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
                        .chars()
                        .count()
                        + 1;
                    format!("{line}:{col}")
                })
                .unwrap_or_else(|| "1:1".into());
            let e = e.kind().to_string();
            format!("{}:{at}: `{key}`: `{g}` is not a glob: {e}", path.display())
        };
        let mut ex = GlobSetBuilder::new();
        for g in &config.exclude {
            ex.add(Glob::new(g).map_err(|e| bad_glob("exclude", g, e))?);
        }
        let mut per_file = Vec::new();
        for (g, codes) in &config.per_file_ignores {
            let set = GlobSetBuilder::new()
                .add(Glob::new(g).map_err(|e| bad_glob("per-file-ignores", g, e))?)
                .build()
                .map_err(|e| bad_glob("per-file-ignores", g, e))?;
            per_file.push((set, codes.clone()));
        }
        Ok(Some(ConfigFile {
            path: path.to_path_buf(),
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            exclude: ex.build().map_err(|e| bad_glob("exclude", "", e))?,
            per_file,
            config,
        }))
    }

    /// Whether `path` matches an `exclude` glob (relative to this file's folder, or by name).
    pub fn excludes(&self, path: &Path) -> bool {
        matches(&self.exclude, &self.dir, path)
    }

    /// The codes `per-file-ignores` turns off for `path`.
    pub fn ignores_for(&self, path: &Path) -> Vec<String> {
        self.per_file
            .iter()
            .filter(|(g, _)| matches(g, &self.dir, path))
            .flat_map(|(_, codes)| codes.iter().cloned())
            .collect()
    }

    /// The interpreter for runs, resolved from the configuration's folder.
    pub fn python(&self) -> Option<PathBuf> {
        self.config.python.as_ref().map(|p| {
            let p = Path::new(p);
            if p.is_absolute() || p.components().count() == 1 {
                // A bare name (`python3`) is looked up on PATH, not next to the file.
                p.to_path_buf()
            } else {
                self.dir.join(p)
            }
        })
    }
}

/// A glob matches the path relative to the configuration's folder, or the file's name alone
/// (so `"*_scratch.py"` works anywhere below), as ruff matches its globs.
fn matches(set: &GlobSet, base: &Path, path: &Path) -> bool {
    if set.is_empty() {
        return false;
    }
    let abs = absolute(path);
    let rel = abs.strip_prefix(absolute(base)).unwrap_or(&abs);
    set.is_match(rel) || path.file_name().is_some_and(|n| set.is_match(n))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// What the command line (or the editor) sets on top of the files, as a layer above the file's:
/// `select` starts afresh (the file's `select`, `extend-select` and `ignore` no longer count),
/// `extend-select` and `ignore` edit what the file selected (ruff's semantics,
/// `Selection::from_layers`).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
}

/// The rules in effect for one file: the file's layer, the overrides' layer, then the file's
/// `per-file-ignores` (which nothing overrides, as in ruff).
pub fn selection_for(cfg: Option<&ConfigFile>, over: &Overrides, file: &Path) -> Selection {
    let mut sel = base_selection(cfg, over);
    if let Some(cfg) = cfg {
        sel.ignore.extend(cfg.ignores_for(file));
    }
    sel
}

/// [`selection_for`] before `per-file-ignores`: what a whole package is checked with, each of
/// its files then filtered by its own `per-file-ignores`.
pub fn base_selection(cfg: Option<&ConfigFile>, over: &Overrides) -> Selection {
    let mut layers = Vec::with_capacity(2);
    if let Some(c) = cfg.map(|c| &c.config) {
        layers.push(Layer {
            select: c.select.as_deref(),
            extend_select: &c.extend_select,
            ignore: &c.ignore,
        });
    }
    layers.push(Layer {
        select: over.select.as_deref(),
        extend_select: &over.extend_select,
        ignore: &over.ignore,
    });
    // Every code was validated when its file was read (or by the CLI's parser).
    Selection::from_layers(&layers)
}

/// What a folder's search found: the file in effect, none, or an unusable one.
type Found = Result<Option<Arc<ConfigFile>>, Error>;

/// Finds configuration files, each folder's answer computed once.
#[derive(Default)]
pub struct Resolver {
    by_dir: Mutex<HashMap<PathBuf, Found>>,
}

impl Resolver {
    pub fn new() -> Resolver {
        Resolver::default()
    }

    /// Forgets what was read (a configuration file changed).
    pub fn clear(&self) {
        self.by_dir
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The configuration in effect for files in `dir`: the closest one at or above it.
    pub fn for_dir(&self, dir: &Path) -> Found {
        let dir = absolute(dir);
        if let Some(r) = self
            .by_dir
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&dir)
        {
            return r.clone();
        }
        let r = self.here(&dir).and_then(|found| match found {
            Some(f) => Ok(Some(Arc::new(f))),
            None => match dir.parent() {
                Some(p) => self.for_dir(p),
                None => Ok(None),
            },
        });
        self.by_dir
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir, r.clone());
        r
    }

    /// The configuration for a file (its folder's).
    pub fn for_file(&self, file: &Path) -> Found {
        match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => self.for_dir(p),
            _ => self.for_dir(Path::new(".")),
        }
    }

    fn here(&self, dir: &Path) -> Result<Option<ConfigFile>, Error> {
        for (name, kind) in ConfigKind::FILE_NAMES {
            let p = dir.join(name);
            if p.is_file() {
                if let Some(c) = ConfigFile::load(&p, kind)? {
                    return Ok(Some(c));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_file_wins_and_pyproject_without_table_is_skipped() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::write(
            root.join("pyproject.toml"),
            "[tool.fused-ls]\nignore = [\"FUSED070\"]\n",
        )
        .unwrap();
        let a = root.join("a");
        let b = a.join("b");
        std::fs::create_dir_all(&b).unwrap();
        // a/pyproject.toml has no [tool.fused-ls]: the search goes on to the root's.
        std::fs::write(a.join("pyproject.toml"), "[project]\nname = \"a\"\n").unwrap();
        // b has its own fused-ls.toml, which wins for b.
        std::fs::write(b.join("fused-ls.toml"), "ignore = [\"FUSED023\"]\n").unwrap();
        let r = Resolver::new();
        let for_a = r.for_dir(&a).unwrap().unwrap();
        assert_eq!(for_a.path, absolute(&root.join("pyproject.toml")));
        let for_b = r.for_dir(&b).unwrap().unwrap();
        assert_eq!(for_b.config.ignore, ["FUSED023"]);
        // .fused-ls.toml beats fused-ls.toml and pyproject.toml in the same folder.
        std::fs::write(b.join(".fused-ls.toml"), "ignore = [\"FUSED024\"]\n").unwrap();
        let r = Resolver::new();
        assert_eq!(r.for_dir(&b).unwrap().unwrap().config.ignore, ["FUSED024"]);
    }

    #[test]
    fn a_bad_file_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("fused-ls.toml"), "\nselct = []\n").unwrap();
        let e = Resolver::new().for_dir(t.path()).unwrap_err();
        assert!(e.contains("fused-ls.toml:2:1: `selct`"), "{e}");
    }

    #[test]
    fn a_bad_glob_names_its_line_and_key() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("fused-ls.toml"),
            "ignore = []\nexclude = [\"ok/**\", \"scratch/[\"]\n",
        )
        .unwrap();
        let e = Resolver::new().for_dir(t.path()).unwrap_err();
        assert!(
            e.contains("fused-ls.toml:2:21: `exclude`: `scratch/[`"),
            "{e}"
        );
    }

    #[test]
    fn per_file_ignores_and_exclude_match_relative_paths() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("fused-ls.toml"),
            "exclude = [\"scratch/**\"]\n[per-file-ignores]\n\"legacy/*.py\" = [\"FUSED020\"]\n",
        )
        .unwrap();
        let cfg = Resolver::new().for_dir(t.path()).unwrap().unwrap();
        assert!(cfg.excludes(&t.path().join("scratch/x/Pkg.py")));
        assert!(!cfg.excludes(&t.path().join("udfs/Pkg.py")));
        let over = Overrides::default();
        let legacy = selection_for(Some(&cfg), &over, &t.path().join("legacy/Old.py"));
        assert!(!legacy.enabled(fused_core::Rule::UncoercedAnnotation));
        let other = selection_for(Some(&cfg), &over, &t.path().join("new/New.py"));
        assert!(other.enabled(fused_core::Rule::UncoercedAnnotation));
    }

    #[test]
    fn command_line_select_replaces_and_ignore_adds() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("fused-ls.toml"),
            "select = [\"FUSED02\"]\nignore = [\"FUSED023\"]\n",
        )
        .unwrap();
        let cfg = Resolver::new().for_dir(t.path()).unwrap().unwrap();
        let f = t.path().join("P.py");
        let s = selection_for(Some(&cfg), &Overrides::default(), &f);
        assert!(s.enabled(fused_core::Rule::UncoercedAnnotation));
        assert!(!s.enabled(fused_core::Rule::Unannotated));
        assert!(!s.enabled(fused_core::Rule::InvalidEngine));
        let over = Overrides {
            select: Some(vec!["FUSED04".into()]),
            extend_select: vec![],
            ignore: vec!["FUSED041".into()],
        };
        let s = selection_for(Some(&cfg), &over, &f);
        assert!(s.enabled(fused_core::Rule::InvalidEngine));
        assert!(!s.enabled(fused_core::Rule::InvalidCacheMaxAge));
        assert!(!s.enabled(fused_core::Rule::UncoercedAnnotation));
    }
}
