// The VS Code side of fused-ls: starts `fused-ls server` with vscode-languageclient (diagnostics,
// quick fixes, hover, completion, inlay hints and code lenses come from the server as they are),
// and adds what the server cannot do alone: commands that run a UDF and show the result (the
// result panel, the Runs view, the "Fused Run Output" channel), the map
// preview panel, a status bar item, workspace-trust gating, logs and debug info.
import * as vscode from "vscode";
import * as fs from "node:fs";
import * as path from "node:path";
import { execFile } from "node:child_process";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import { EXE, resolveServerPath } from "./serverPath";
import { describeSpec, parseTileSpec, runArgs, RunArgs, specText, TileSpec } from "./runArgs";
import { formatRunResult, RunResult } from "./resultText";
import { previewHtml } from "./previewHtml";
import { resultHtml } from "./resultHtml";
import { RunHistory } from "./runHistory";
import { packageUdfFile, packageVizConfig } from "./packageFiles";
import { activeInterpreter, choosePython, PythonApi, PythonChoice } from "./pythonChoice";
import { describeWorker, WorkerStatus } from "./workerStatus";

let client: LanguageClient | undefined;
let serverPath: { path: string; source: string } | undefined;
let log: vscode.OutputChannel;
let runs: vscode.OutputChannel;
let status: vscode.StatusBarItem;
/** The server's last `fused/workerStatus` (its warm worker). */
let worker: WorkerStatus | undefined;
let context: vscode.ExtensionContext;
let lastRun: RunArgs | undefined;
let mapPanel: vscode.WebviewPanel | undefined;
let resultPanel: vscode.WebviewPanel | undefined;
/** The UDF the result panel shows a run of: where its line links go. */
let resultUri: vscode.Uri | undefined;
let history: RunHistory;
/** The arguments of the last run asked for, per UDF: the result notification carries the URI,
 * not how the run was asked for, and the Runs view re-runs with these. */
const askedArgs = new Map<string, RunArgs>();
let activeRuns = 0;
let serverState = "stopped";

const LAST_TILE_KEY = "fused.lastTileSpec";
const FIX_ALL = vscode.CodeActionKind.SourceFixAll.append("fused");
/** Server commands that execute code: refused in an untrusted workspace, from a lens too. */
const EXECUTING = new Set(["fused.run", "fused.preview"]);

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  context = ctx;
  history = new RunHistory(ctx.workspaceState);
  log = vscode.window.createOutputChannel("Fused Language Server");
  runs = vscode.window.createOutputChannel("Fused Run Output");
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 0);
  status.command = "fused.showLogs";
  status.name = "fused-ls";
  ctx.subscriptions.push(log, runs, status);
  setStatus("starting");
  status.show();

  const register = (id: string, fn: (...args: unknown[]) => unknown) =>
    ctx.subscriptions.push(vscode.commands.registerCommand(id, fn));
  // Commands from a menu get the resource they were started on (an Explorer folder or file, the
  // editor's file); from the palette, nothing: then the active UDF.
  register("fused.runUdf", (arg) => runActive(arg, undefined));
  register("fused.runTile", (arg) => runTileCommand(arg));
  register("fused.rerun", () => rerun());
  register("fused.rerunFromHistory", (args) => runWith(args as RunArgs));
  ctx.subscriptions.push(vscode.window.registerTreeDataProvider("fused.runs", history));
  register("fused.previewMap", (arg) => previewMap(arg));
  register("fused.syncMeta", (arg) => syncMeta(arg));
  register("fused.pack", (arg) => pack(arg));
  register("fused.newPackage", () => newPackage());
  register("fused.restartServer", () => restart());
  register("fused.showLogs", () => log.show(true));
  register("fused.copyDebugInfo", () => copyDebugInfo());

  ctx.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("fused.path")) void restart();
    }),
    // The server learns trust only at initialize (a workspace's settings cannot vouch for it).
    vscode.workspace.onDidGrantWorkspaceTrust(() => void restart()),
    vscode.workspace.onWillSaveTextDocument((e) => fixAllOnSave(e)),
  );
  void trackPackageFolders(ctx);
  await start();
}

/** The `fused.packageFolders` context key: every folder of the workspace holding a meta.json, as
 * paths and as URIs (what `resourcePath`/`resourceDirname` and `resource` compare with), for the
 * menus' `when` clauses (package.json: Explorer on a package folder, the editor title of a
 * package's UDF). Kept up to date as meta.json files come and go. */
async function trackPackageFolders(ctx: vscode.ExtensionContext): Promise<void> {
  const metas = new Set<string>();
  const publish = () => {
    const keys: string[] = [];
    for (const m of metas) {
      const dir = vscode.Uri.joinPath(vscode.Uri.parse(m), "..");
      keys.push(dir.fsPath, dir.toString());
    }
    void vscode.commands.executeCommand("setContext", "fused.packageFolders", keys);
  };
  const watcher = vscode.workspace.createFileSystemWatcher("**/meta.json");
  ctx.subscriptions.push(
    watcher,
    watcher.onDidCreate((u) => (metas.add(u.toString()), publish())),
    watcher.onDidDelete((u) => (metas.delete(u.toString()), publish())),
  );
  const found = await vscode.workspace.findFiles("**/meta.json", "**/{node_modules,.git,.venv,venv}/**", 5000);
  for (const u of found) metas.add(u.toString());
  publish();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}

async function start(): Promise<void> {
  const setting = vscode.workspace.getConfiguration("fused").get<string>("path", "");
  const bundled = context.asAbsolutePath(path.join("bundled", EXE));
  try {
    // An unzip that dropped the executable bit would otherwise hide the bundled binary.
    if (fs.existsSync(bundled)) fs.chmodSync(bundled, 0o755);
  } catch {
    // A read-only extensions folder: the lookup below reports what it finds.
  }
  const resolved = resolveServerPath(setting, bundled, {
    isExecutable: (p) => {
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return fs.statSync(p).isFile();
      } catch {
        return false;
      }
    },
    pathEntries: (process.env.PATH ?? "").split(path.delimiter),
  });
  if (!resolved.ok) {
    serverPath = undefined;
    setStatus("missing");
    log.appendLine(resolved.message);
    // Not awaited: activation must not wait for the user to dismiss the message.
    void vscode.window.showErrorMessage(resolved.message, "Open Settings", "Show Logs").then((pick) => {
      if (pick === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "fused.path");
      if (pick === "Show Logs") log.show();
    });
    return;
  }
  serverPath = { path: resolved.path, source: resolved.source };
  log.appendLine(`starting ${resolved.path} server (${resolved.source}); workspace trusted: ${vscode.workspace.isTrusted}`);

  const serverOptions: ServerOptions = { command: resolved.path, args: ["server"] };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "file", pattern: "**/meta.json" },
    ],
    // The server pulls the `fused` section (workspace/configuration) at start and again on each
    // change: settings such as fused.ignore apply without a restart.
    synchronize: { configurationSection: "fused" },
    initializationOptions: { trustedWorkspace: vscode.workspace.isTrusted },
    outputChannel: log,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    middleware: {
      workspace: {
        // The server pulls the `fused` section; with `fused.python` empty the Python extension's
        // selected interpreter goes in its place (src/pythonChoice.ts has the order).
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          if (!Array.isArray(result)) return result;
          return Promise.all(
            result.map(async (value, i) => {
              const item = params.items[i];
              if (item?.section !== "fused" || !value || typeof value !== "object") return value;
              const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
              const choice = await interpreter(scope);
              return choice.source === "Python extension" ? { ...value, python: choice.python } : value;
            }),
          );
        },
        // With `synchronize.configurationSection` the client pushes the section's values, where
        // the Python extension's interpreter cannot be added: send `null` instead, which makes the
        // server pull them through `configuration` above (and it applies them as before).
        didChangeConfiguration: (_sections, next) => next(undefined),
      },
      // The server's code lenses ("▶ Run") call fused.run through the client: gate them here too.
      executeCommand: async (command, args, next) => {
        if (EXECUTING.has(command) && !trustedFor(command === "fused.run" ? "run a UDF" : "preview a UDF on the map")) {
          return undefined;
        }
        if (command === "fused.run") {
          const a = args[0] as RunArgs | undefined;
          if (a?.uri) askedArgs.set(a.uri, a);
          return withRunning(() => next(command, args));
        }
        return next(command, args);
      },
    },
  };
  const c = new LanguageClient("fused", "Fused Language Server", serverOptions, clientOptions);
  client = c;
  c.onDidChangeState((e) => {
    if (client !== c) return;
    if (e.newState === State.Starting) setStatus("starting");
    else if (e.newState === State.Running) setStatus("ready");
    else setStatus("stopped");
  });
  // Registered before the start: the server sends the first status right after `initialized`.
  c.onNotification("fused/workerStatus", (w: WorkerStatus) => {
    if (client !== c) return;
    worker = w;
    setStatus(serverState);
  });
  try {
    await c.start();
  } catch (err) {
    setStatus("crashed");
    log.appendLine(`fused-ls did not start: ${err}`);
    void vscode.window.showErrorMessage(`fused-ls did not start (${resolved.path}): ${err}`, "Show Logs").then((p) => {
      if (p) log.show();
    });
    return;
  }
  c.onNotification("fused/runResult", (msg: { uri: string; result: RunResult }) => showResult(msg));
  void vscode.commands.executeCommand("setContext", "fused.active", true);
}

async function restart(): Promise<void> {
  const old = client;
  client = undefined;
  worker = undefined;
  mapPanel?.dispose();
  if (old) {
    setStatus("restarting");
    try {
      await old.stop();
    } catch (err) {
      log.appendLine(`stopping the server: ${err}`);
    }
  }
  await start();
}

function setStatus(state: string): void {
  serverState = state;
  const icon: Record<string, string> = {
    starting: "$(sync~spin)",
    restarting: "$(sync~spin)",
    ready: "$(check)",
    stopped: "$(circle-slash)",
    crashed: "$(error)",
    missing: "$(error)",
  };
  const running = activeRuns > 0 ? " $(play) running" : "";
  // The worker's state only while the server runs (a stopped server's worker is gone).
  const w = describeWorker(state === "ready" ? worker : undefined);
  status.text = `${icon[state] ?? ""} fused-ls${running || w.suffix}`;
  status.tooltip = `fused-ls: ${state === "missing" ? "binary not found" : state}${serverPath ? `\n${serverPath.path} (${serverPath.source})` : ""}${state === "ready" ? `\n${w.line}` : ""}\nClick for the logs.`;
  status.backgroundColor =
    state === "crashed" || state === "missing" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
}

async function withRunning<T>(fn: () => Promise<T> | T): Promise<T> {
  activeRuns++;
  setStatus(serverState);
  try {
    return await fn();
  } finally {
    activeRuns--;
    setStatus(serverState);
  }
}

function trustedFor(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(
      `Fused: this workspace is not trusted, so fused-ls will not ${what} (running a UDF executes its code). Diagnostics, hover and fixes still work.`,
      "Manage Workspace Trust",
    )
    .then((p) => {
      if (p) void vscode.commands.executeCommand("workbench.trust.manage");
    });
  return false;
}

let pythonApiPromise: Promise<PythonApi | undefined> | undefined;

/** ms-python.python's API when that extension is installed (activated on first use); its
 * interpreter changes make the server pull the settings again. */
function pythonApi(): Promise<PythonApi | undefined> {
  pythonApiPromise ??= (async () => {
    const ext = vscode.extensions.getExtension<PythonApi>("ms-python.python");
    if (!ext) return undefined;
    try {
      const api = ext.isActive ? ext.exports : await ext.activate();
      const sub = api?.environments?.onDidChangeActiveEnvironmentPath?.(() => {
        log.appendLine("the Python extension's interpreter changed: the server pulls the settings again");
        if (client?.isRunning()) void client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      });
      if (sub) context.subscriptions.push(sub);
      return api;
    } catch (err) {
      log.appendLine(`the Python extension did not activate: ${err}`);
      return undefined;
    }
  })();
  return pythonApiPromise;
}

/** The interpreter for runs and where it comes from: fused.python > the Python extension > the
 * server's discovery. */
function interpreter(resource?: vscode.Uri): Promise<PythonChoice> {
  const setting = vscode.workspace.getConfiguration("fused", resource).get<string>("python", "");
  return choosePython(setting, vscode.workspace.isTrusted, async () => activeInterpreter(await pythonApi(), resource));
}

/** `fused.fixAllOnSave`: a manual save of a UDF or meta.json applies the server's
 * `source.fixAll.fused` first (every safe fix). A boolean cannot switch `editor.codeActionsOnSave`
 * (a `configurationDefaults` entry is static), so the extension asks for the action itself before
 * the save, as ESLint's `eslint.autoFixOnSave` did; `editor.codeActionsOnSave` with
 * `source.fixAll.fused` (what ruff's extension documents) works too. Manual saves only, as
 * codeActionsOnSave's "explicit": an auto-save after a delay must not rewrite the text being typed. */
function fixAllOnSave(e: vscode.TextDocumentWillSaveEvent): void {
  const doc = e.document;
  if (e.reason !== vscode.TextDocumentSaveReason.Manual || doc.uri.scheme !== "file") return;
  if (doc.languageId !== "python" && path.basename(doc.uri.fsPath) !== "meta.json") return;
  if (!vscode.workspace.getConfiguration("fused", doc.uri).get<boolean>("fixAllOnSave", false)) return;
  if (!client?.isRunning()) return;
  e.waitUntil(fixAllEdits(doc));
}

async function fixAllEdits(doc: vscode.TextDocument): Promise<vscode.TextEdit[]> {
  const whole = new vscode.Range(0, 0, doc.lineCount, 0);
  const actions =
    (await vscode.commands.executeCommand<vscode.CodeAction[]>("vscode.executeCodeActionProvider", doc.uri, whole, FIX_ALL.value)) ?? [];
  const fix = actions.find((a) => a.kind && FIX_ALL.contains(a.kind) && a.edit);
  return fix?.edit?.get(doc.uri) ?? [];
}

/** The UDF a command acts on: the resource a menu started it on (a `.py`; a package folder or its
 * meta.json: the package's UDF file, see packageFiles.ts), else the active UDF's editor's. */
async function targetUdf(arg: unknown): Promise<vscode.Uri | undefined> {
  if (!(arg instanceof vscode.Uri) || arg.scheme !== "file") return udfEditor()?.document.uri;
  if (arg.path.endsWith(".py")) return arg;
  const folder = (await isFolder(arg)) ? arg : vscode.Uri.joinPath(arg, "..");
  let files: string[] = [];
  let meta: string | undefined;
  try {
    files = (await vscode.workspace.fs.readDirectory(folder)).filter(([, t]) => t === vscode.FileType.File).map(([n]) => n);
    if (files.includes("meta.json")) meta = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, "meta.json")));
  } catch (err) {
    log.appendLine(`reading ${folder.fsPath}: ${err}`);
  }
  const name = packageUdfFile(meta, path.basename(folder.fsPath), files);
  if (!name) {
    void vscode.window.showWarningMessage(`Fused: no UDF file found in ${folder.fsPath} (meta.json's source, ${path.basename(folder.fsPath)}.py, or a single .py).`);
    return undefined;
  }
  return vscode.Uri.joinPath(folder, name);
}

async function isFolder(uri: vscode.Uri): Promise<boolean> {
  try {
    return ((await vscode.workspace.fs.stat(uri)).type & vscode.FileType.Directory) !== 0;
  } catch {
    return false;
  }
}

/** The editor of the UDF to act on: the active editor when it holds a Python file, else a visible
 * one that does (focus may be in the Output panel or a webview beside the code); else a message. */
function udfEditor(): vscode.TextEditor | undefined {
  const isUdf = (e: vscode.TextEditor | undefined) =>
    !!e && e.document.languageId === "python" && e.document.uri.scheme === "file";
  const active = vscode.window.activeTextEditor;
  const editor = isUdf(active) ? active : vscode.window.visibleTextEditors.find(isUdf);
  if (!editor) {
    void vscode.window.showWarningMessage("Fused: open a UDF's .py file first.");
    return undefined;
  }
  return editor;
}

function serverCommand(command: string, arg: unknown): Promise<unknown> {
  if (!client || !client.isRunning()) {
    void vscode.window.showErrorMessage("Fused: the language server is not running.", "Show Logs").then((p) => {
      if (p) log.show();
    });
    return Promise.resolve(undefined);
  }
  return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [arg] });
}

async function runWith(args: RunArgs): Promise<void> {
  if (!trustedFor("run a UDF")) return;
  lastRun = args;
  askedArgs.set(args.uri, args);
  // The server runs the file on disk (after checking it), as `fused-ls run` does.
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === args.uri);
  if (doc?.isDirty) await doc.save();
  try {
    await withRunning(() => serverCommand("fused.run", args));
  } catch (err) {
    void vscode.window.showErrorMessage(`Fused: run failed: ${err instanceof Error ? err.message : err}`);
  }
}

async function runActive(arg: unknown, spec: TileSpec | undefined): Promise<void> {
  const udf = await targetUdf(arg);
  if (!udf) return;
  await runWith(runArgs(udf.toString(), spec));
}

async function runTileCommand(arg: unknown): Promise<void> {
  const udf = await targetUdf(arg);
  if (!udf) return;
  if (!trustedFor("run a UDF")) return;
  const last = context.workspaceState.get<TileSpec>(LAST_TILE_KEY);
  const text = await vscode.window.showInputBox({
    title: "Fused: Run as Tile",
    prompt: "z/x/y (13/2411/3079), lat lng z (40.7 -74.0 13), a bbox (minx miny maxx maxy), or empty for the default tile",
    placeHolder: "13/2411/3079",
    value: last ? specText(last) : "",
    validateInput: (v) => {
      const r = parseTileSpec(v);
      return "error" in r ? r.error : undefined;
    },
  });
  if (text === undefined) return;
  const spec = parseTileSpec(text);
  if ("error" in spec) return;
  await context.workspaceState.update(LAST_TILE_KEY, spec);
  log.appendLine(`run as tile: ${describeSpec(spec)}`);
  await runWith(runArgs(udf.toString(), spec));
}

async function rerun(): Promise<void> {
  // After a reload: the newest run of the Runs view, kept in the workspace's state.
  lastRun ??= history.newest();
  if (!lastRun) {
    void vscode.window.showInformationMessage("Fused: nothing has run yet in this workspace.");
    return;
  }
  await runWith(lastRun);
}

function showResult(msg: { uri: string; result: RunResult }): void {
  const file = (() => {
    try {
      return vscode.workspace.asRelativePath(vscode.Uri.parse(msg.uri));
    } catch {
      return msg.uri;
    }
  })();
  const when = new Date().toLocaleTimeString();
  runs.appendLine(`[${when}] ${formatRunResult(file, msg.result)}`);
  runs.appendLine("");
  runs.show(true);
  history.add(askedArgs.get(msg.uri) ?? { uri: msg.uri, mode: msg.result.mode === "tile" ? "tile" : "file" }, msg.result);
  showResultPanel(msg, file, when);
}

/** The result panel beside the code (one, reused): summary, rows, raster, output, error. */
function showResultPanel(msg: { uri: string; result: RunResult }, file: string, when: string): void {
  let uri: vscode.Uri;
  try {
    uri = vscode.Uri.parse(msg.uri);
  } catch {
    return;
  }
  resultUri = uri;
  const title = `Result: ${path.basename(uri.fsPath, ".py")}`;
  if (!resultPanel) {
    resultPanel = vscode.window.createWebviewPanel(
      "fused.result",
      title,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      // Two nonce'd scripts: the page's own (a click on a line link becomes a message) and the
      // map (media/result-map.js, web/map's static bundle), the one file it may load.
      { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, "media")] },
    );
    resultPanel.onDidDispose(() => (resultPanel = undefined));
    resultPanel.webview.onDidReceiveMessage((m: { type?: string; line?: unknown }) => {
      if (m?.type === "open" && typeof m.line === "number" && resultUri) void openAtLine(resultUri, m.line);
    });
  }
  resultPanel.title = title;
  const mapFile = vscode.Uri.joinPath(context.extensionUri, "media", "result-map.js");
  // A development build (node build.mjs, no package.sh) has no map bundle: the panel goes without.
  const mapScript = fs.existsSync(mapFile.fsPath) ? resultPanel.webview.asWebviewUri(mapFile).toString() : undefined;
  resultPanel.webview.html = resultHtml(file, uri.fsPath, msg.result, nonce(), when, mapScript, vizConfigBeside(uri));
  if (!resultPanel.visible) resultPanel.reveal(vscode.ViewColumn.Beside, true);
}

/** The `fused:vizConfig` of the package the UDF is in (its folder's meta.json), for the map. */
function vizConfigBeside(udf: vscode.Uri): object | undefined {
  if (udf.scheme !== "file") return undefined;
  try {
    return packageVizConfig(fs.readFileSync(path.join(path.dirname(udf.fsPath), "meta.json"), "utf8"));
  } catch {
    return undefined; // no meta.json: a loose file
  }
}

/** Open the UDF at a 1-based line, in the editor group that shows it already, else the first. */
async function openAtLine(uri: vscode.Uri, line: number): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const at = Math.max(0, Math.min(line - 1, doc.lineCount - 1));
  const text = doc.lineAt(at);
  const range = new vscode.Range(at, text.firstNonWhitespaceCharacterIndex, at, text.firstNonWhitespaceCharacterIndex);
  const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  await vscode.window.showTextDocument(doc, {
    viewColumn: shown?.viewColumn ?? vscode.ViewColumn.One,
    selection: range,
    preserveFocus: false,
  });
}

async function previewMap(arg: unknown): Promise<void> {
  const udf = await targetUdf(arg);
  if (!udf) return;
  if (!trustedFor("preview a UDF on the map")) return;
  const uri = udf.toString();
  type Reply = { url: string; base: string; udf: string } | undefined;
  let reply = (await serverCommand("fused.preview", { uri, open: false })) as Reply;
  if (!reply?.url) return;
  // Remote editors (code-server, SSH, Codespaces) reach the loopback service through a port
  // forward or a proxy that asExternalUri sets up (code-server: `https://HOST/proxy/PORT/...`,
  // its Host header passed on). The service refuses any Host but its own (DNS rebinding), so
  // the proxy's is named explicitly (`allowHost`): the running service accepts it from then on
  // (same URL). The map page's URLs are relative, so the proxy's path prefix is fine.
  let external = await vscode.env.asExternalUri(vscode.Uri.parse(reply.url));
  let direct = vscode.Uri.parse(reply.url);
  const proxied = () => external.authority !== direct.authority || external.scheme !== direct.scheme;
  if (proxied()) {
    const again = (await serverCommand("fused.preview", { uri, open: false, allowHost: external.authority })) as Reply;
    if (!again?.url) return;
    reply = again;
    direct = vscode.Uri.parse(reply.url);
    external = await vscode.env.asExternalUri(direct);
  }
  // (Encoded: a UDF name with a space keeps its `%20`.)
  const url = proxied() ? external.toString() : reply.url;
  log.appendLine(`map preview of ${reply.udf}: ${reply.url}${proxied() ? ` through ${url} (Host ${external.authority} allowed)` : ""}`);
  const title = `Map: ${reply.udf}`;
  if (!mapPanel) {
    mapPanel = vscode.window.createWebviewPanel(
      "fused.map",
      title,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      // Scripts must be allowed for the framed map to run its own; this page has none (its CSP
      // allows no script source), and retaining the context keeps the map's view when hidden.
      { enableScripts: true, retainContextWhenHidden: true },
    );
    mapPanel.onDidDispose(() => (mapPanel = undefined));
  }
  mapPanel.title = title;
  mapPanel.webview.html = previewHtml(url, nonce(), title);
  mapPanel.reveal(vscode.ViewColumn.Beside, true);
}

/** The server's "Sync meta.json with the source" source action (a WorkspaceEdit on meta.json),
 * applied, then meta.json saved (as `fused-ls sync` writes it) unless it already held unsaved
 * edits of the user's. Asked for and applied here rather than through
 * `editor.action.sourceAction`, whose promise settles before the edit lands. */
async function syncMeta(arg: unknown): Promise<void> {
  const udf = await targetUdf(arg);
  if (!udf) return;
  // Opened (not shown) when started from the Explorer: the server answers for open documents.
  const doc = await vscode.workspace.openTextDocument(udf);
  const actions =
    (await vscode.commands.executeCommand<vscode.CodeAction[]>(
      "vscode.executeCodeActionProvider",
      doc.uri,
      new vscode.Range(0, 0, 0, 0),
      "source.fused.syncMeta",
    )) ?? [];
  const action = actions.find((a) => a.kind && vscode.CodeActionKind.Source.append("fused.syncMeta").contains(a.kind));
  if (!action?.edit) {
    void vscode.window.showInformationMessage(`Fused: meta.json of ${path.basename(path.dirname(doc.uri.fsPath))} is in sync.`);
    return;
  }
  const metaUri = vscode.Uri.joinPath(doc.uri, "..", "meta.json");
  const wasDirty = vscode.workspace.textDocuments.find((d) => d.uri.toString() === metaUri.toString())?.isDirty ?? false;
  if (!(await vscode.workspace.applyEdit(action.edit))) {
    void vscode.window.showErrorMessage("Fused: the meta.json edit could not be applied.");
    return;
  }
  const meta = vscode.workspace.textDocuments.find((d) => d.uri.toString() === metaUri.toString());
  if (meta?.isDirty && !wasDirty) await meta.save();
  void vscode.window.showInformationMessage(`Fused: ${action.title}: done.`);
}

/** `fused-ls new`: a package (name, File or Tile, utils.py or not) in the folder of the active
 * UDF's package, else the first workspace folder; its `.py` opened. Writes files only. */
async function newPackage(): Promise<void> {
  if (!serverPath) return;
  const active = vscode.window.activeTextEditor?.document;
  const parent =
    active?.uri.scheme === "file" && active.languageId === "python"
      ? path.dirname(path.dirname(active.uri.fsPath))
      : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!parent) {
    void vscode.window.showWarningMessage("Fused: open a folder first.");
    return;
  }
  const name = await vscode.window.showInputBox({
    title: "Fused: New UDF Package",
    prompt: `The package's name (its folder and <name>.py), created in ${parent}`,
    validateInput: (v) =>
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(v.trim()) ? undefined : "a Python identifier: letters, digits, _",
  });
  if (!name) return;
  const kind = await vscode.window.showQuickPick(
    [
      { label: "File", description: "returns a table or a value", args: [] as string[] },
      { label: "Tile", description: "receives `bounds: fused.types.Bounds`", args: ["--tile"] },
      { label: "Tile with utils.py", description: "and a utils.py header module", args: ["--tile", "--utils"] },
      { label: "File with utils.py", description: "and a utils.py header module", args: ["--utils"] },
    ],
    { title: "Fused: New UDF Package", placeHolder: "The UDF's mode" },
  );
  if (!kind) return;
  const args = ["new", name.trim(), parent, ...kind.args];
  const result = await new Promise<{ ok: boolean; text: string }>((resolve) =>
    execFile(serverPath!.path, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, text: (stderr || stdout || (err ? err.message : "")).trim() }),
    ),
  );
  log.appendLine(`fused-ls ${args.join(" ")}\n${result.text}`);
  if (!result.ok) {
    void vscode.window.showErrorMessage(`Fused: new package failed: ${result.text.split("\n")[0]}`);
    return;
  }
  const py = vscode.Uri.file(path.join(parent, name.trim(), `${name.trim()}.py`));
  await vscode.window.showTextDocument(py);
}

/** `fused-ls pack` on the active UDF's package: `<name>.zip` beside the package folder. Reads
 * files only (no code runs), so it works in an untrusted workspace too. */
async function pack(arg: unknown, force = false): Promise<void> {
  if (!serverPath) return;
  // The Explorer's folder as it is (a package with no single UDF file packs too).
  const folder = arg instanceof vscode.Uri && (await isFolder(arg)) ? arg : undefined;
  const udf = folder ? undefined : await targetUdf(arg);
  if (!folder && !udf) return;
  const pkg = folder ? folder.fsPath : path.dirname(udf!.fsPath);
  const out = path.join(path.dirname(pkg), `${path.basename(pkg)}.zip`);
  const args = ["pack", pkg, "-o", out, ...(force ? ["--force"] : [])];
  const result = await new Promise<{ ok: boolean; text: string }>((resolve) =>
    execFile(serverPath!.path, args, { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, text: (stderr || stdout || (err ? err.message : "")).trim() }),
    ),
  );
  log.appendLine(`fused-ls ${args.join(" ")}\n${result.text}`);
  if (result.ok) {
    void vscode.window.showInformationMessage(`Fused: packed ${path.basename(pkg)} into ${out}`);
    return;
  }
  const pick = await vscode.window.showErrorMessage(
    `Fused: pack failed: ${result.text.split("\n").slice(0, 3).join(" ")}`,
    ...(force ? [] : ["Pack Anyway"]),
    "Show Logs",
  );
  if (pick === "Pack Anyway") await pack(folder ?? udf, true);
  if (pick === "Show Logs") log.show();
}

function nonce(): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

async function copyDebugInfo(): Promise<void> {
  const version = await new Promise<string>((resolve) => {
    if (!serverPath) return resolve("(no binary)");
    execFile(serverPath.path, ["--version"], { timeout: 5000 }, (err, stdout) =>
      resolve(err ? `(--version failed: ${err.message})` : stdout.trim()),
    );
  });
  const cfg = vscode.workspace.getConfiguration("fused");
  const py = await interpreter(vscode.window.activeTextEditor?.document.uri);
  const settings = Object.fromEntries(
    ["path", "python", "select", "ignore", "runTimeout", "runMemoryMiB", "fixAllOnSave", "configurationPreference", "trace.server"].map(
      (k) => [k, cfg.get(k)],
    ),
  );
  const info = [
    `fused-ls extension: ${context.extension.packageJSON.version}`,
    `server: ${version}`,
    `binary: ${serverPath ? `${serverPath.path} (${serverPath.source})` : "not found"}`,
    `server state: ${serverState}`,
    describeWorker(worker).line,
    `editor: ${vscode.env.appName} ${vscode.version} (${vscode.env.appHost}, remote: ${vscode.env.remoteName ?? "none"}, ui: ${vscode.env.uiKind === vscode.UIKind.Web ? "web" : "desktop"})`,
    `platform: ${process.platform} ${process.arch}, node ${process.versions.node}`,
    `workspace trusted: ${vscode.workspace.isTrusted}`,
    `python: ${py.python ?? "(the server's discovery: a configuration file's python, a .venv/venv, python3)"} (${py.source})`,
    `workspace folders: ${(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath).join(", ") || "none"}`,
    `settings: ${JSON.stringify(settings)}`,
  ].join("\n");
  await vscode.env.clipboard.writeText(info);
  log.appendLine("debug info (copied to the clipboard):\n" + info);
  void vscode.window.showInformationMessage("Fused: debug info copied to the clipboard.");
}
