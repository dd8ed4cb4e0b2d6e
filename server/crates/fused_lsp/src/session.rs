//! The session: what the server knows between requests (open documents, negotiated encoding,
//! settings, workspace folders, configuration files). Handlers read it; only the server's
//! notification handlers change it. No protocol I/O here.

use crate::document::{DocKind, Document};
use crate::settings::{Preference, Settings};
use fused_core::model::{PyModel, Udf};
use fused_core::{Encoding, Selection};
use fused_fs::config::{ConfigFile, Overrides, Resolver};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tower_lsp_server::ls_types::Uri;

pub struct Session {
    pub docs: HashMap<Uri, Document>,
    /// The failing line of the last run of a document and its message (cleared by an edit).
    pub run_errors: HashMap<Uri, (u32, String)>,
    /// Cancel flags of running runs, by progress token.
    pub progress: HashMap<String, Arc<std::sync::atomic::AtomicBool>>,
    pub runs: u64,
    pub encoding: Encoding,
    pub settings: Settings,
    /// Configuration files (`[tool.fused-ls]`, `fused-ls.toml`, `.fused-ls.toml`), each folder's
    /// answer cached until one of them changes on disk (`Resolver::clear`).
    pub config: Resolver,
    /// The configuration files' problems already shown (each once per session).
    pub config_problems: HashSet<String>,
    /// The client registers file watchers on request (`workspace.didChangeWatchedFiles`).
    pub can_watch: bool,
    /// The client answers `workspace/configuration` (the settings can be pulled).
    pub can_pull_settings: bool,
    /// The client opens URLs for the server (`window/showDocument`).
    pub can_show_document: bool,
    /// Counts the settings changes, so a pulled answer that arrives after newer settings
    /// does not overwrite them.
    pub settings_changes: u64,
    /// The problems of the settings in force, each already shown once.
    pub settings_problems: Vec<String>,
    /// The client vouches for the workspace (`"trustedWorkspace": true` in
    /// `initializationOptions`): an interpreter discovered in it may be started unasked.
    pub trusted: bool,
    /// The workspace folders: interpreter discovery never looks above the one holding a file.
    pub roots: Vec<PathBuf>,
}

impl Session {
    pub fn new() -> Session {
        Session {
            docs: HashMap::new(),
            run_errors: HashMap::new(),
            progress: HashMap::new(),
            runs: 0,
            encoding: Encoding::Utf16,
            settings: Settings::default(),
            config: Resolver::new(),
            config_problems: HashSet::new(),
            can_watch: false,
            can_pull_settings: false,
            can_show_document: false,
            settings_changes: 0,
            settings_problems: Vec::new(),
            trusted: false,
            roots: Vec::new(),
        }
    }

    /// The configuration file in effect for `path` (the closest one, as `fused-ls check` finds
    /// it), unless the editor's settings say to use none. `Err`: the file exists but cannot be
    /// used (`path:line:col: message`); the caller shows it and goes on with the defaults.
    pub fn config_for(&self, path: &Path) -> Result<Option<Arc<ConfigFile>>, String> {
        if self.settings.preference == Preference::EditorOnly {
            return Ok(None);
        }
        self.config.for_file(path)
    }

    /// The rules in effect for `path`: its configuration file and the editor's settings, the one
    /// `configurationPreference` puts first winning where both set a key. The editor's `select`
    /// counts as set when it is not empty; its `ignore` adds to the file's.
    pub fn selection_for(&self, path: &Path, cfg: Option<&ConfigFile>) -> Selection {
        let s = &self.settings;
        let editor_select = (!s.select.is_empty()).then(|| s.select.clone());
        let file_sets_select = cfg.is_some_and(|c| c.config.select.is_some());
        let over = match s.preference {
            Preference::FilesystemFirst if file_sets_select => Overrides {
                select: None,
                ignore: s.ignore.clone(),
                ..Overrides::default()
            },
            _ => Overrides {
                select: editor_select,
                ignore: s.ignore.clone(),
                ..Overrides::default()
            },
        };
        fused_fs::config::selection_for(cfg, &over, path)
    }

    /// The interpreter a run of a UDF in `dir` uses and whether the user named it in the editor:
    /// the `python` setting and the configuration file's `python` (in the order of
    /// `configurationPreference`), else a `.venv`/`venv` in the workspace at or above `dir`,
    /// else `python3`.
    fn run_python(&self, dir: &Path) -> (PathBuf, bool) {
        let editor = self.settings.python.as_deref().map(PathBuf::from);
        let file = match self.config.for_dir(dir) {
            Ok(Some(c)) if self.settings.preference != Preference::EditorOnly => c.python(),
            _ => None,
        };
        let (first, from_editor) = match (self.settings.preference, editor, file) {
            (Preference::FilesystemFirst, _, Some(f)) => (Some(f), false),
            (_, Some(e), _) => (Some(e), true),
            (_, None, f) => (f, false),
        };
        let python = fused_run::find_python(first.as_deref(), dir, &self.search_root(dir));
        (python, from_editor)
    }

    /// The run timeout for a UDF in `dir`: the `runTimeout` setting and the configuration
    /// file's `run-timeout`, in the order of `configurationPreference`.
    pub fn run_timeout(&self, dir: &Path) -> Option<Duration> {
        let file = match self.config.for_dir(dir) {
            Ok(Some(c)) if self.settings.preference != Preference::EditorOnly => c
                .config
                .run_timeout
                .and_then(|s| fused_run::timeout_from_secs(s).ok()),
            _ => None,
        };
        match self.settings.preference {
            Preference::FilesystemFirst => file.or(self.settings.run_timeout),
            _ => self.settings.run_timeout.or(file),
        }
    }

    /// Where interpreter discovery stops for a file in `dir`: the innermost workspace folder
    /// holding it, else `dir` itself (a file outside the workspace searches its own folder only).
    pub fn search_root(&self, dir: &Path) -> PathBuf {
        self.roots
            .iter()
            .filter(|r| dir.starts_with(r))
            .max_by_key(|r| r.components().count())
            .cloned()
            .unwrap_or_else(|| dir.to_path_buf())
    }

    /// The interpreter a run of a UDF in `dir` uses (see `run_python`).
    pub fn python_for(&self, dir: &Path) -> PathBuf {
        self.run_python(dir).0
    }

    /// The interpreter the worker may be started with before any run: one the user named in
    /// the editor, or, in a workspace the client trusts, the one a run would use. `None`: wait
    /// for a run. An interpreter found in an untrusted tree, or named by a configuration file
    /// in it (a cloned repository's `pyproject.toml` is not the user's word), never starts
    /// unasked.
    pub fn prewarm_python(&self, dir: &Path) -> Option<PathBuf> {
        let (python, from_editor) = self.run_python(dir);
        (from_editor || self.trusted).then_some(python)
    }

    /// The texts of the open documents in folder `dir`, which lie over the disk when a package
    /// is read (a sibling being edited counts as it is in the editor).
    pub fn overlay(&self, dir: &Path) -> HashMap<PathBuf, String> {
        self.overlay_shared(dir)
            .into_iter()
            .map(|(p, t)| (p, t.to_string()))
            .collect()
    }

    /// [`Session::overlay`] without copying a text: each is shared with its document.
    pub fn overlay_shared(&self, dir: &Path) -> HashMap<PathBuf, Arc<str>> {
        self.docs
            .values()
            .filter_map(|d| d.path.as_ref().map(|p| (p, d)))
            .filter(|(p, _)| p.parent() == Some(dir))
            .map(|(p, d)| (p.clone(), d.text.clone()))
            .collect()
    }

    /// Whether folder `dir` is a package (a meta.json on disk or open): only then does a
    /// document's analysis read its open siblings.
    pub fn is_package(&self, dir: &Path) -> bool {
        dir.join("meta.json").is_file()
            || self.docs.values().any(|d| {
                d.kind == DocKind::MetaJson && d.path.as_deref().and_then(Path::parent) == Some(dir)
            })
    }

    /// The UDFs of the document at `path` whose model is `model`: its `@fused.udf` functions and,
    /// when it is a package's main file, the function meta.json's `entrypoint` names even
    /// undecorated (fused 2.9.5 runs it as it is: FUSED013, and published packages do this), so
    /// it gets the lenses, hovers and hints a decorated UDF gets. meta.json is read as the
    /// editor holds it, else from disk.
    pub fn udfs_of<'a>(&self, path: Option<&Path>, model: &'a PyModel) -> Vec<&'a Udf> {
        let mut out: Vec<&Udf> = model.udfs.iter().collect();
        let Some((dir, file)) = path.and_then(|p| Some((p.parent()?, p.file_name()?.to_str()?)))
        else {
            return out;
        };
        let meta = dir.join("meta.json");
        let text = match self
            .docs
            .values()
            .find(|d| d.path.as_deref() == Some(&meta))
        {
            Some(d) => Some(d.text.to_string()),
            None => fused_fs::read::read_text_capped(&meta, fused_fs::MAX_FILE).ok(),
        };
        let udf = match text.map(|t| fused_core::meta::parse(&t)) {
            Some(fused_core::meta::MetaParse::Parsed(m)) => m.udf,
            _ => None,
        };
        let Some(udf) = udf else { return out };
        // The main file: `source`, else (no `source`) `<folder>.py`, as `check` finds it.
        let main = match &udf.source {
            Some(s) => s.value == file,
            None => {
                dir.file_name()
                    .and_then(|n| n.to_str())
                    .map(|n| format!("{n}.py"))
                    .as_deref()
                    == Some(file)
            }
        };
        if let (true, Some(ep)) = (main, &udf.entrypoint) {
            if let Some(f) = model.function(&ep.value).filter(|f| !f.decorated) {
                out.push(f);
            }
        }
        out
    }

    /// The open documents of folder `dir` but `except`.
    pub fn siblings(&self, dir: &Path, except: &Uri) -> Vec<Uri> {
        self.docs
            .iter()
            .filter(|(u, d)| *u != except && d.path.as_deref().and_then(Path::parent) == Some(dir))
            .map(|(u, _)| u.clone())
            .collect()
    }
}

pub fn uri_path(uri: &Uri) -> Option<PathBuf> {
    (uri.scheme().as_str() == "file")
        .then(|| uri.to_file_path().map(|p| p.into_owned()))
        .flatten()
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

pub fn kind_of(uri: &Uri) -> DocKind {
    let path = uri.path().as_str();
    if path.ends_with(".py") {
        DocKind::Python
    } else if path.ends_with("meta.json") {
        DocKind::MetaJson
    } else {
        DocKind::Other
    }
}
