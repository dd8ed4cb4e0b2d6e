// The VS Code side of fused-ls: starts `fused-ls server` with vscode-languageclient (diagnostics,
// quick fixes, hover, completion, inlay hints and code lenses come from the server as they are),
// and adds what the server cannot do alone: commands that run a UDF and show the result (the
// result panel, the Runs view, the "Fused Runs" output channel), the map
// preview panel, a status bar item, workspace-trust gating, logs and debug info.
import * as vscode from "vscode";
import * as fs from "node:fs";
import * as path from "node:path";
import { execFile } from "node:child_process";
import {
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

let client: LanguageClient | undefined;
let serverPath: { path: string; source: string } | undefined;
let log: vscode.OutputChannel;
let runs: vscode.OutputChannel;
let status: vscode.StatusBarItem;
let context: vscode.ExtensionContext;
let lastRun: RunArgs | undefined;
let mapPanel: vscode.WebviewPanel | undefined;
let resultPanel: vscode.WebviewPanel | undefined;
/** The UDF the result panel shows a run of: where its line links go. */
let resultUri: vscode.Uri | undefined;
const history = new RunHistory();
/** The arguments of the last run asked for, per UDF: the result notification carries the URI,
 * not how the run was asked for, and the Runs view re-runs with these. */
const askedArgs = new Map<string, RunArgs>();
let activeRuns = 0;
let serverState = "stopped";

const LAST_TILE_KEY = "fused.lastTileSpec";
/** Server commands that execute code: refused in an untrusted workspace, from a lens too. */
const EXECUTING = new Set(["fused.run", "fused.preview"]);

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  context = ctx;
  log = vscode.window.createOutputChannel("Fused Language Server");
  runs = vscode.window.createOutputChannel("Fused Runs");
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 0);
  status.command = "fused.showLogs";
  status.name = "fused-ls";
  ctx.subscriptions.push(log, runs, status);
  setStatus("starting");
  status.show();

  const register = (id: string, fn: (...args: unknown[]) => unknown) =>
    ctx.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register("fused.runUdf", () => runActive(undefined));
  register("fused.runTile", () => runTileCommand());
  register("fused.rerun", () => rerun());
  register("fused.rerunFromHistory", (args) => runWith(args as RunArgs));
  ctx.subscriptions.push(vscode.window.registerTreeDataProvider("fused.runs", history));
  register("fused.previewMap", () => previewMap());
  register("fused.syncMeta", () => syncMeta());
  register("fused.pack", () => pack());
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
  );
  await start();
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
  status.text = `${icon[state] ?? ""} fused-ls${running}`;
  status.tooltip = `fused-ls: ${state === "missing" ? "binary not found" : state}${serverPath ? `\n${serverPath.path} (${serverPath.source})` : ""}\nClick for the logs.`;
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

async function runActive(spec: TileSpec | undefined): Promise<void> {
  const editor = udfEditor();
  if (!editor) return;
  await runWith(runArgs(editor.document.uri.toString(), spec));
}

async function runTileCommand(): Promise<void> {
  const editor = udfEditor();
  if (!editor) return;
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
  await runWith(runArgs(editor.document.uri.toString(), spec));
}

async function rerun(): Promise<void> {
  if (!lastRun) {
    void vscode.window.showInformationMessage("Fused: nothing has run yet in this window.");
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
  history.add(askedArgs.get(msg.uri) ?? { uri: msg.uri, mode: msg.result.mode === "tile" ? "tile" : "file" }, msg.result, when);
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
  resultPanel.webview.html = resultHtml(file, uri.fsPath, msg.result, nonce(), when, mapScript);
  if (!resultPanel.visible) resultPanel.reveal(vscode.ViewColumn.Beside, true);
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

async function previewMap(): Promise<void> {
  const editor = udfEditor();
  if (!editor) return;
  if (!trustedFor("preview a UDF on the map")) return;
  const reply = (await serverCommand("fused.preview", { uri: editor.document.uri.toString(), open: false })) as
    | { url: string; base: string; udf: string }
    | undefined;
  if (!reply?.url) return;
  // Remote editors (code-server, SSH, Codespaces) reach a loopback service through a port
  // forward or a proxy that asExternalUri sets up. The map service refuses those: it checks that
  // the Host header names its own loopback address (a DNS-rebinding guard) and its page uses
  // absolute paths under its token, which a path proxy (code-server's /proxy/PORT/) breaks. So
  // when asExternalUri would change the origin, the panel frames the loopback URL itself: it
  // works when the browser runs on the server's machine (code-server on localhost), not through
  // a remote proxy (see extensions/vscode/README.md).
  const direct = vscode.Uri.parse(reply.url);
  const external = await vscode.env.asExternalUri(direct);
  const proxied = external.authority !== direct.authority || external.scheme !== direct.scheme;
  const url = reply.url;
  const note = proxied
    ? `Map from ${direct.authority} (this browser must run on the machine of the server: the map service does not accept proxied requests, ${external.toString(true)}).`
    : undefined;
  log.appendLine(`map preview of ${reply.udf}: ${reply.url}${proxied ? ` (asExternalUri: ${external.toString(true)}, not used)` : ""}`);
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
  mapPanel.webview.html = previewHtml(url, nonce(), title, note);
  mapPanel.reveal(vscode.ViewColumn.Beside, true);
}

/** The server's "Sync meta.json with the source" source action (a WorkspaceEdit on meta.json),
 * applied, then meta.json saved (as `fused-ls sync` writes it) unless it already held unsaved
 * edits of the user's. Asked for and applied here rather than through
 * `editor.action.sourceAction`, whose promise settles before the edit lands. */
async function syncMeta(): Promise<void> {
  const editor = udfEditor();
  if (!editor) return;
  const doc = editor.document;
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
async function pack(force = false): Promise<void> {
  const editor = udfEditor();
  if (!editor || !serverPath) return;
  const pkg = path.dirname(editor.document.uri.fsPath);
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
  if (pick === "Pack Anyway") await pack(true);
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
  const settings = Object.fromEntries(
    ["path", "python", "select", "ignore", "runTimeout", "runMemoryMiB", "configurationPreference", "trace.server"].map(
      (k) => [k, cfg.get(k)],
    ),
  );
  const info = [
    `fused-ls extension: ${context.extension.packageJSON.version}`,
    `server: ${version}`,
    `binary: ${serverPath ? `${serverPath.path} (${serverPath.source})` : "not found"}`,
    `server state: ${serverState}`,
    `editor: ${vscode.env.appName} ${vscode.version} (${vscode.env.appHost}, remote: ${vscode.env.remoteName ?? "none"}, ui: ${vscode.env.uiKind === vscode.UIKind.Web ? "web" : "desktop"})`,
    `platform: ${process.platform} ${process.arch}, node ${process.versions.node}`,
    `workspace trusted: ${vscode.workspace.isTrusted}`,
    `workspace folders: ${(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath).join(", ") || "none"}`,
    `settings: ${JSON.stringify(settings)}`,
  ].join("\n");
  await vscode.env.clipboard.writeText(info);
  log.appendLine("debug info (copied to the clipboard):\n" + info);
  void vscode.window.showInformationMessage("Fused: debug info copied to the clipboard.");
}
