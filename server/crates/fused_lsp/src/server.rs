//! The `LanguageServer` implementation: notifications update the [`Session`], requests are
//! answered by `handlers` (they read the session, ask the core, convert), diagnostics are
//! scheduled and published here.

use crate::convert;
use crate::document::{Change, DocKind, Document};
use crate::handlers;
use crate::session::{kind_of, uri_path, Session};
use crate::settings::Settings;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

/// The files whose changes on disk re-check the open documents of their folder.
/// Configuration files among them clear the cached configuration and re-check every document.
const WATCHED: &[&str] = &[
    "**/meta.json",
    "**/*.py",
    "**/README.md",
    "**/README.MD",
    "**/pyproject.toml",
    "**/fused-ls.toml",
    "**/.fused-ls.toml",
];

/// Whether `path` is a file configuration may come from (see `fused_fs::config`).
fn is_config_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        fused_core::config::ConfigKind::FILE_NAMES
            .iter()
            .any(|(name, _)| n == *name)
    })
}

/// Files up to this size are analysed on the async thread that scheduled them (see `schedule`),
/// unless their last analysis took longer than INLINE_ANALYSIS_SLOW.
const INLINE_ANALYSIS_MAX: usize = 32 << 10;
const INLINE_ANALYSIS_SLOW: Duration = Duration::from_millis(2);

/// The runner's worker does not start before this much of the session has passed (see
/// `initialized`).
const PREWARM_AFTER: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct Backend {
    client: Client,
    pub(crate) state: Arc<Mutex<Session>>,
    /// Set by `shutdown`: `exit` then ends the process with 0, else 1 (the protocol's rule).
    shutdown: Arc<std::sync::atomic::AtomicBool>,
    /// The warm runner (heavy imports paid once, a fork per run); `None` until first needed.
    pub(crate) worker: Arc<Mutex<Option<fused_run::Worker>>>,
    /// The live map's service (`fused.preview`), once started.
    pub(crate) preview: Arc<tokio::sync::Mutex<Option<handlers::preview::Preview>>>,
    /// What the map service borrows from the binary (see `handlers::preview`).
    pub(crate) preview_hooks: handlers::preview::PreviewHooks,
    /// The last `fused/workerStatus` sent, and the last `ready` one (see
    /// `handlers::worker_status`).
    pub(crate) worker_sent: Arc<Mutex<(Option<serde_json::Value>, Option<serde_json::Value>)>>,
}
/// `FUSED_LS_TEST_HOOKS=1`: the robustness tests' hooks (`fused/debugPanic`, the
/// `fused.debugPanic` command) are there.
pub fn test_hooks() -> bool {
    std::env::var_os("FUSED_LS_TEST_HOOKS").is_some_and(|v| v == "1")
}

/// Runs `f`, turning a panic into an error message instead of a dead server.
pub fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        format!("fused-ls: {what} panicked: {msg}")
    })
}

impl Backend {
    pub fn new(
        client: Client,
        shutdown: Arc<std::sync::atomic::AtomicBool>,
        preview_hooks: handlers::preview::PreviewHooks,
    ) -> Self {
        Backend {
            client,
            state: Arc::new(Mutex::new(Session::new())),
            shutdown,
            worker: Arc::new(Mutex::new(None)),
            preview: Arc::new(tokio::sync::Mutex::new(None)),
            preview_hooks,
            worker_sent: Arc::new(Mutex::new((None, None))),
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn register_run(&self, _cancel: Arc<std::sync::atomic::AtomicBool>) -> u64 {
        let mut st = self.lock();
        st.runs += 1;
        st.runs
    }

    fn token_key(t: &ProgressToken) -> String {
        match t {
            ProgressToken::Number(n) => n.to_string(),
            ProgressToken::String(s) => s.clone(),
        }
    }

    pub(crate) fn track_progress(
        &self,
        t: ProgressToken,
        cancel: Arc<std::sync::atomic::AtomicBool>,
    ) {
        self.lock().progress.insert(Self::token_key(&t), cancel);
    }

    pub(crate) fn untrack_progress(&self, t: &ProgressToken) {
        self.lock().progress.remove(&Self::token_key(t));
    }

    /// `window/workDoneProgress/cancel`: the user pressed cancel on a run's progress.
    pub async fn progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        if let Some(flag) = self.lock().progress.get(&Self::token_key(&params.token)) {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Records (or clears) the failing line of the last run and re-publishes the diagnostics.
    pub(crate) fn set_run_error(&self, uri: &Uri, error: Option<(u32, String)>) {
        {
            let mut st = self.lock();
            match error {
                Some(e) => st.run_errors.insert(uri.clone(), e),
                None => st.run_errors.remove(uri),
            };
        }
        self.schedule(uri.clone());
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Session> {
        // A panic while holding the lock must not take the server down with a poisoned mutex.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies settings read by [`Settings::parse`] and shows each problem once (a problem
    /// still there after a re-read was already shown).
    fn apply_settings(&self, (s, problems): (Settings, Vec<String>)) {
        let fresh: Vec<String> = {
            let mut st = self.lock();
            let fresh = problems
                .iter()
                .filter(|p| !st.settings_problems.contains(p))
                .cloned()
                .collect();
            st.settings = s;
            st.settings_changes += 1;
            st.settings_problems = problems;
            fresh
        };
        if !fresh.is_empty() {
            let client = self.client.clone();
            tokio::spawn(async move {
                for p in fresh {
                    client
                        .show_message(MessageType::WARNING, format!("fused-ls settings: {p}"))
                        .await;
                }
            });
        }
    }

    /// Asks the client for the `fused` settings section (`workspace/configuration`), when it
    /// can answer, and applies what it returns; a `null` answer (no such section) keeps the
    /// settings as they are. In the background: handlers never wait for the client.
    fn spawn_pull_settings(&self) {
        // A pull counts as a change: of two pulls, only the later one's answer applies.
        let asked_at = {
            let mut st = self.lock();
            if !st.can_pull_settings {
                return;
            }
            st.settings_changes += 1;
            st.settings_changes
        };
        let backend = self.clone();
        tokio::spawn(async move {
            let item = ConfigurationItem {
                scope_uri: None,
                section: Some("fused".into()),
            };
            match backend.client.configuration(vec![item]).await {
                Ok(values) => {
                    let newer = backend.lock().settings_changes != asked_at;
                    if let Some(s) = values.first().and_then(Settings::parse) {
                        if !newer {
                            backend.apply_settings(s);
                            backend.schedule_all();
                        }
                    }
                }
                Err(e) => {
                    backend
                        .client
                        .log_message(
                            MessageType::WARNING,
                            format!("fused-ls: could not read the `fused` settings: {e}"),
                        )
                        .await
                }
            }
        });
    }

    /// Recomputes and publishes diagnostics for `uri` unless a newer version arrives first.
    fn schedule(&self, uri: Uri) {
        let mut config_problem = None;
        let snapshot = {
            let mut st = self.lock();
            let Some(path) = st.docs.get(&uri).and_then(|d| d.path.clone()) else {
                return;
            };
            // The configuration file in effect for it, as `fused-ls check` finds it. One that
            // cannot be used is shown once and the defaults apply meanwhile.
            let cfg = match st.config_for(&path) {
                Ok(c) => c,
                Err(e) => {
                    if st.config_problems.insert(e.clone()) {
                        config_problem = Some(e);
                    }
                    None
                }
            };
            let selection = st.selection_for(&path, cfg.as_deref());
            let excluded = cfg.is_some_and(|c| c.excludes(&path));
            let Some(doc) = st.docs.get(&uri) else { return };
            let dir = path.parent().map(Path::to_path_buf);
            // Open siblings are laid over the disk when the folder is a package (their texts
            // shared, not copied: a package's check copies only what it reads). A loose file
            // reads no sibling.
            let overlay = match dir.as_deref() {
                Some(d) if st.is_package(d) => st.overlay_shared(d),
                _ => HashMap::new(),
            };
            (
                // Taken with the snapshot, dropped last: a close trims once this work ends.
                crate::memory::InFlight::start(),
                path,
                doc.text.clone(),
                // The document's own line index, for this very text: no rebuild per keystroke.
                doc.index.clone(),
                (doc.id, doc.version),
                doc.turn.clone(),
                // Inline only while it stays cheap: the size of the file, and how long its
                // last analysis took (a package may hold a huge sibling).
                doc.text.len() <= INLINE_ANALYSIS_MAX && !doc.slow_analysis,
                overlay,
                selection,
                st.encoding,
                st.run_errors.get(&uri).cloned(),
                if doc.kind == DocKind::Python {
                    doc.tree.clone()
                } else {
                    None
                },
                excluded,
            )
        };
        if let Some(problem) = config_problem {
            let client = self.client.clone();
            tokio::spawn(async move {
                client
                    .show_message(
                        MessageType::WARNING,
                        format!("fused-ls configuration: {problem} (the defaults apply until it is fixed)"),
                    )
                    .await;
            });
        }
        let state = self.state.clone();
        let client = self.client.clone();
        let backend = self.clone();
        tokio::spawn(async move {
            let (
                _in_flight,
                path,
                text,
                index,
                stamp,
                turn,
                small,
                overlay,
                sel,
                enc,
                run_error,
                old_tree,
                excluded,
            ) = snapshot;
            if excluded {
                // `exclude` in its configuration file: no diagnostics, as `check` skips it.
                client
                    .publish_diagnostics(uri, Vec::new(), Some(stamp.1))
                    .await;
                return;
            }
            let dir = path.parent().map(Path::to_path_buf);
            let current = |state: &Arc<Mutex<Session>>| {
                let st = state.lock().unwrap_or_else(|p| p.into_inner());
                st.docs.get(&uri).map(|d| (d.id, d.version)) == Some(stamp)
            };
            // A burst of changes: only the newest version is analysed. (The stamp is the
            // document's id and version: a reopened document is another one.)
            tokio::task::yield_now().await;
            // One analysis of a document at a time: changes typed during a slow one (a large
            // file) wait here, and only the newest goes on.
            let _turn = turn.lock().await;
            if !current(&state) {
                return;
            }
            let work = move || {
                let started = std::time::Instant::now();
                let out = guarded("diagnostics", || {
                    let analysis = crate::analysis::analyze(
                        &path,
                        &text,
                        // Copied only when a package's check reads it.
                        &|p| overlay.get(p).map(|t| t.to_string()),
                        &sel,
                        old_tree.as_ref(),
                    );
                    let digest = crate::analysis::digest(&analysis.diagnostics);
                    let (diags, tree, package) =
                        (analysis.diagnostics, analysis.tree, analysis.package);
                    let mut diags = diags
                        .iter()
                        .map(|d| convert::diagnostic(&text, &index, d, enc))
                        .collect::<Vec<_>>();
                    if let Some((line, message)) = run_error {
                        // The failing line of the last run, from its own source.
                        let start = index.line_start(line) as usize;
                        let end = index.line_range(line, &text).end;
                        diags.push(Diagnostic {
                            range: convert::range(&text, &index, &(start..end), enc),
                            severity: Some(DiagnosticSeverity::ERROR),
                            source: Some("fused-ls run".into()),
                            message,
                            ..Default::default()
                        });
                    }
                    (diags, tree, digest, package)
                });
                out.map(|(diags, tree, digest, package)| {
                    (
                        diags,
                        tree,
                        digest,
                        package,
                        started.elapsed() > INLINE_ANALYSIS_SLOW,
                    )
                })
            };
            // A small file is analysed right here: a hop to the blocking pool and back costs
            // more than its analysis (well under a millisecond). A large one (or one whose
            // package made it slow) is analysed off the async threads, so it never holds up the
            // other requests.
            let result = if small {
                Ok(work())
            } else {
                tokio::task::spawn_blocking(work).await
            };
            match result {
                Ok(Ok((diags, tree, digest, package, slow))) => {
                    if current(&state) {
                        // Keep the tree for the next incremental parse; if an edit arrived
                        // meanwhile, the old (already edited) tree stays instead.
                        let (job, stale_siblings) = {
                            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                            // Open siblings whose diagnostics this package check found changed
                            // (a sibling with none yet is being analysed already).
                            let stale_siblings: Vec<Uri> = match (&package, &dir) {
                                (Some(package), Some(dir)) => st
                                    .siblings(dir, &uri)
                                    .into_iter()
                                    .filter(|u| {
                                        let Some(d) = st.docs.get(u) else {
                                            return false;
                                        };
                                        let name = d
                                            .path
                                            .as_deref()
                                            .and_then(Path::file_name)
                                            .map(|n| n.to_string_lossy());
                                        let now = name
                                            .and_then(|n| package.get(n.as_ref()).copied())
                                            .unwrap_or(crate::analysis::digest(&[]));
                                        d.published.is_some_and(|p| p != now)
                                    })
                                    .collect(),
                                _ => Vec::new(),
                            };
                            let mut doc =
                                st.docs.get_mut(&uri).filter(|d| (d.id, d.version) == stamp);
                            if let Some(doc) = doc.as_deref_mut() {
                                doc.slow_analysis = slow;
                                doc.published = Some(digest);
                            }
                            let job = match doc {
                                Some(doc) if tree.is_some() => {
                                    doc.tree = tree;
                                    None
                                }
                                Some(doc) => doc.start_parse(),
                                None => None,
                            };
                            (job, stale_siblings)
                        };
                        for sibling in stale_siblings {
                            backend.schedule(sibling);
                        }
                        client
                            .publish_diagnostics(uri.clone(), diags, Some(stamp.1))
                            .await;
                        // Closed between the check and the publish: its `didClose` cleared the
                        // diagnostics first, so clear them again after ours.
                        let closed = !state
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .docs
                            .contains_key(&uri);
                        if closed {
                            client
                                .publish_diagnostics(uri.clone(), Vec::new(), None)
                                .await;
                        }
                        if let Some(job) = job {
                            // A clean file was read from Ruff's AST: build the tree-sitter
                            // tree now, after the publish; edits typed meanwhile are applied
                            // to it when it lands, and later keystrokes re-parse incrementally.
                            // A close cancels it (see `Document::start_parse`).
                            tokio::task::spawn_blocking(move || {
                                if let Some(tree) = job.run() {
                                    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                                    if let Some(doc) = st.docs.get_mut(&uri) {
                                        doc.finish_parse(job.id, tree);
                                    }
                                }
                            });
                        }
                    }
                }
                Ok(Err(msg)) => client.log_message(MessageType::ERROR, msg).await,
                Err(e) => {
                    client
                        .log_message(
                            MessageType::ERROR,
                            format!("fused-ls: diagnostics task failed: {e}"),
                        )
                        .await
                }
            }
        });
    }

    /// Re-publishes every open document of the folder holding `path` (a sibling changed).
    fn schedule_folder(&self, dir: &Path) {
        let uris: Vec<Uri> = {
            let st = self.lock();
            st.docs
                .keys()
                .filter(|u| {
                    uri_path(u)
                        .and_then(|p| p.parent().map(|d| d == dir))
                        .unwrap_or(false)
                })
                .cloned()
                .collect()
        };
        for uri in uris {
            self.schedule(uri);
        }
    }

    /// A configuration file was created, changed or deleted: it is read again, and every open
    /// document re-checked with what it now says (a problem is shown again once).
    fn config_changed(&self) {
        {
            let mut st = self.lock();
            st.config.clear();
            st.config_problems.clear();
        }
        self.schedule_all();
    }

    fn schedule_all(&self) {
        let uris: Vec<Uri> = self.lock().docs.keys().cloned().collect();
        for uri in uris {
            self.schedule(uri);
        }
    }

    /// Runs a request handler on a snapshot, catching panics: the client gets an error reply and
    /// a log line, the server goes on.
    async fn request<T>(&self, what: &str, f: impl FnOnce(&Session) -> T) -> Result<T> {
        let out = {
            let st = self.lock();
            guarded(what, || f(&st))
        };
        match out {
            Ok(v) => Ok(v),
            Err(msg) => {
                self.client.log_message(MessageType::ERROR, &msg).await;
                Err(Error {
                    code: tower_lsp_server::jsonrpc::ErrorCode::InternalError,
                    message: msg.into(),
                    data: None,
                })
            }
        }
    }

    /// `fused/debugPanic`: panics inside a handler, to prove the server survives one. Only
    /// registered when `FUSED_LS_TEST_HOOKS=1`.
    pub async fn debug_panic(&self, _: serde_json::Value) -> Result<serde_json::Value> {
        self.request("fused/debugPanic", |_| -> serde_json::Value {
            panic!("deliberate panic for the robustness test")
        })
        .await
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_deref());
        let enc = convert::negotiate(offered);
        let can_watch = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|w| w.dynamic_registration)
            .unwrap_or(false);
        let can_pull_settings = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.configuration)
            .unwrap_or(false);
        // Trust is the client's word at start-up, never a setting: a workspace's own settings
        // file (pulled or pushed later) cannot declare itself trusted.
        let options = params.initialization_options.as_ref();
        let trusted = options
            .and_then(|o| {
                o.get("trustedWorkspace")
                    .or_else(|| o.get("fused")?.get("trustedWorkspace"))
            })
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        #[allow(deprecated)]
        let roots: Vec<PathBuf> = match &params.workspace_folders {
            Some(folders) => folders.iter().filter_map(|f| uri_path(&f.uri)).collect(),
            None => params
                .root_uri
                .as_ref()
                .and_then(uri_path)
                .or_else(|| params.root_path.as_ref().map(PathBuf::from))
                .into_iter()
                .collect(),
        };
        {
            let mut st = self.lock();
            st.encoding = enc;
            st.can_watch = can_watch;
            st.can_pull_settings = can_pull_settings;
            st.can_show_document = params
                .capabilities
                .window
                .as_ref()
                .and_then(|w| w.show_document.as_ref())
                .is_some_and(|s| s.support);
            st.trusted = trusted;
            st.roots = roots;
        }
        if let Some(s) = options.and_then(Settings::parse) {
            self.apply_settings(s);
        }
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "fused-ls".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: ServerCapabilities {
                position_encoding: Some(convert::encoding_kind(enc)),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                            include_text: Some(false),
                        })),
                        ..Default::default()
                    },
                )),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            handlers::code_action::FIX_ALL.clone(),
                            handlers::package_actions::SYNC_META.clone(),
                            handlers::package_actions::CREATE_PACKAGE.clone(),
                        ]),
                        resolve_provider: Some(false),
                        ..Default::default()
                    },
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(
                        handlers::completion::TRIGGERS
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                    ),
                    ..Default::default()
                }),
                inlay_hint_provider: Some(OneOf::Left(true)),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                // Workspace folders bound interpreter discovery: follow them as they change.
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: vec![
                        handlers::code_lens::RUN_COMMAND.to_string(),
                        handlers::preview::PREVIEW_COMMAND.to_string(),
                    ],
                    work_done_progress_options: WorkDoneProgressOptions {
                        work_done_progress: Some(true),
                    },
                }),
                ..Default::default()
            },
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.spawn_pull_settings();
        // Package rules read sibling files from disk: ask the client to report their changes
        // (a meta.json edited elsewhere, a checkout, a new utils.py), in the background so the
        // first requests do not wait for the client's answer.
        if self.lock().can_watch {
            let client = self.client.clone();
            tokio::spawn(async move {
                let watchers = WATCHED
                    .iter()
                    .map(|glob| FileSystemWatcher {
                        glob_pattern: GlobPattern::String(glob.to_string()),
                        kind: None,
                    })
                    .collect();
                let options = DidChangeWatchedFilesRegistrationOptions { watchers };
                let registration = Registration {
                    id: "fused-ls/watched-files".into(),
                    method: "workspace/didChangeWatchedFiles".into(),
                    register_options: serde_json::to_value(options).ok(),
                };
                if let Err(e) = client.register_capability(vec![registration]).await {
                    client
                        .log_message(
                            MessageType::WARNING,
                            format!("fused-ls: the client did not take the file watchers ({e}); changes made outside the editor are seen when a file is next opened or edited"),
                        )
                        .await;
                }
            });
        }
        // Pre-warm the runner, so the first "Run" is already warm; but not at start-up, where a
        // Python importing geopandas would take a core from the first diagnostics: not before
        // PREWARM_AFTER, then as soon as a UDF is open (looked for every second), and never in
        // a session without one. Only with an interpreter the user named, or one found in a
        // workspace the client trusts (`Session::prewarm_python`): opening a file must never run
        // a `.venv` planted in a cloned repository. Otherwise the first run starts the worker.
        // Failures are silent: a run starts a worker or a fresh process.
        let state = self.state.clone();
        let worker = self.worker.clone();
        let shutdown = self.shutdown.clone();
        let me = self.clone();
        self.settle_worker_status().await;
        tokio::spawn(async move {
            tokio::time::sleep(PREWARM_AFTER).await;
            loop {
                if shutdown.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                // The interpreter a run of an open UDF would use: a worker for another one
                // would be replaced.
                let python = {
                    let st = state.lock().unwrap_or_else(|p| p.into_inner());
                    let may = st.trusted || st.settings.python.is_some();
                    st.docs
                        .iter()
                        .find(|(_, d)| {
                            may && d.kind == DocKind::Python
                                && fused_core::model::mentions_udf(&d.text)
                        })
                        .and_then(|(uri, _)| uri_path(uri))
                        .map(|path| st.prewarm_python(path.parent().unwrap_or(Path::new("."))))
                };
                // Nothing yet (no UDF open, or nothing may start unasked): the settings may
                // still name an interpreter, so keep looking.
                if let Some(Some(python)) = python {
                    let started = {
                        let worker = worker.clone();
                        let python = python.clone();
                        let me = me.clone();
                        tokio::task::spawn_blocking(move || {
                            let Ok(mut slot) = worker.try_lock() else {
                                return None;
                            };
                            if slot.is_some() {
                                return None;
                            }
                            let rt = tokio::runtime::Handle::current();
                            rt.block_on(me.worker_status(
                                serde_json::json!({"state": "starting", "python": python}),
                            ));
                            let w = fused_run::Worker::start(&python, Duration::from_secs(120));
                            let failed = w.as_ref().err().cloned();
                            *slot = w.ok();
                            Some(failed)
                        })
                        .await
                    };
                    match started {
                        Ok(Some(Some(message))) => {
                            me.worker_status(serde_json::json!({"state": "failed", "python": python, "message": message}))
                                .await
                        }
                        Ok(Some(None)) => {
                            me.settle_worker_status().await
                        }
                        _ => {}
                    }
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        self.client
            .log_message(
                MessageType::INFO,
                format!("fused-ls {} ready", env!("CARGO_PKG_VERSION")),
            )
            .await;
    }

    async fn shutdown(&self) -> Result<()> {
        self.shutdown
            .store(true, std::sync::atomic::Ordering::SeqCst);
        // Dropping the map service stops it.
        self.preview.lock().await.take();
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let uri = params.text_document.uri;
        let mut doc = Document::new(
            params.text_document.text,
            params.text_document.version,
            kind_of(&uri),
        );
        doc.path = uri_path(&uri);
        self.lock().docs.insert(uri.clone(), doc);
        // Siblings that depend on it are re-checked when its analysis finds their diagnostics
        // changed (see `schedule`), not all of them on every open.
        self.schedule(uri);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        {
            let mut st = self.lock();
            let enc = st.encoding;
            let Some(doc) = st.docs.get_mut(&uri) else {
                return;
            };
            let changes = params
                .content_changes
                .into_iter()
                .map(|c| Change {
                    range: c
                        .range
                        .map(|r| (convert::line_col(r.start), convert::line_col(r.end))),
                    text: c.text,
                })
                .collect();
            doc.apply(changes, params.text_document.version, enc);
            st.run_errors.remove(&uri);
        }
        // Siblings depend on this file too (the entrypoint, headers): its analysis re-checks
        // those whose diagnostics it changes.
        self.schedule(uri);
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        // A configuration file saved in the editor counts even when the client cannot watch.
        if uri_path(&params.text_document.uri).is_some_and(|p| is_config_file(&p)) {
            self.config_changed();
        }
        self.schedule(params.text_document.uri);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let (closed, stale) = {
            let mut st = self.lock();
            let closed = st.docs.remove(&uri);
            // Its siblings now read it from disk. In a package, one sibling's check finds which
            // others changed (see `schedule`); a closed meta.json may leave no package, whose
            // loose files each need their own check.
            let dir = closed
                .as_ref()
                .and_then(|d| d.path.as_deref())
                .and_then(Path::parent)
                .map(Path::to_path_buf);
            let stale = match dir {
                Some(dir) if closed.as_ref().is_some_and(|d| d.kind == DocKind::MetaJson) => {
                    st.siblings(&dir, &uri)
                }
                Some(dir) if st.is_package(&dir) => {
                    st.siblings(&dir, &uri).into_iter().take(1).collect()
                }
                _ => Vec::new(),
            };
            (closed, stale)
        };
        // Its text, tree and model are freed here, not after the publish below.
        drop(closed);
        crate::memory::after_close();
        self.client
            .publish_diagnostics(uri.clone(), Vec::new(), None)
            .await;
        for sibling in stale {
            self.schedule(sibling);
        }
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let paths: Vec<PathBuf> = params
            .changes
            .iter()
            .filter_map(|c| uri_path(&c.uri))
            .collect();
        // A configuration file applies to a whole tree: forget what was read, re-check all.
        if paths.iter().any(|p| is_config_file(p)) {
            self.config_changed();
            return;
        }
        for path in paths {
            if let Some(dir) = path.parent() {
                self.schedule_folder(dir);
            }
        }
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let mut st = self.lock();
        for f in &params.event.removed {
            if let Some(p) = uri_path(&f.uri) {
                st.roots.retain(|r| *r != p);
            }
        }
        for f in &params.event.added {
            if let Some(p) = uri_path(&f.uri).filter(|p| !st.roots.contains(p)) {
                st.roots.push(p);
            }
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        // Pushed settings, or (VS Code's language client sends `null`) a hint to pull them.
        match Settings::parse(&params.settings) {
            Some(s) => {
                self.apply_settings(s);
                self.schedule_all();
            }
            None => self.spawn_pull_settings(),
        }
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        self.request("textDocument/codeAction", |st| {
            handlers::code_action::code_actions(st, &params)
        })
        .await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        self.request("textDocument/completion", |st| {
            handlers::completion::completion(st, &params)
        })
        .await
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        self.request("textDocument/inlayHint", |st| {
            handlers::inlay_hint::inlay_hints(st, &params)
        })
        .await
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        self.request("textDocument/codeLens", |st| {
            handlers::code_lens::code_lenses(st, &params)
        })
        .await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        if params.command == "fused.debugPanic" && test_hooks() {
            // A command that panics after an await, to prove commands run under the guard.
            tokio::task::yield_now().await;
            panic!("deliberate panic in a command for the robustness test");
        }
        if params.command == handlers::preview::PREVIEW_COMMAND {
            return self.preview_command(params.arguments).await;
        }
        if params.command != handlers::code_lens::RUN_COMMAND {
            return Err(Error::invalid_params(format!(
                "unknown command `{}`; fused-ls offers `fused.run` and `fused.preview`",
                params.command
            )));
        }
        self.run_command(
            params.arguments,
            params.work_done_progress_params.work_done_token,
        )
        .await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        self.request("textDocument/hover", |st| {
            handlers::hover::hover(st, &params)
        })
        .await
    }
}
