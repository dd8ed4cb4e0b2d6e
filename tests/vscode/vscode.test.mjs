// The VS Code extension in real VS Code: code-server (VS Code served to a browser) with the
// packaged .vsix installed, driven in Debian's Chromium by playwright-core. Run by
// tests/vscode/test.sh, which installs everything and passes, in the environment:
// FUSED_VSIX, FUSED_CODE_SERVER (its package folder), FUSED_NODE (Node 24's bin/node),
// FUSED_LS_SDK_PYTHON (the SDK venv's python, for runs). Screenshots: target/test-artifacts/vscode.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(path.join(root, "extensions/vscode/package.json"));
const { chromium } = require("playwright-core");

const vsix = process.env.FUSED_VSIX;
const codeServer = process.env.FUSED_CODE_SERVER;
const nodeBin = process.env.FUSED_NODE || process.execPath;
const python = process.env.FUSED_LS_SDK_PYTHON || path.join(os.homedir(), ".cache/fused-ls/sdk-venv/bin/python");
const artifacts = path.join(root, "target/test-artifacts/vscode");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fused-vscode-"));
const extensionsDir = path.join(tmp, "extensions");
let browser;

const SETTINGS = {
  "workbench.startupEditor": "none",
  "chat.disableAIFeatures": true,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "files.autoSave": "off",
  // Default true: a quick fix would save the file by itself, and the test saves explicitly.
  "files.refactoring.autoSave": false,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "workbench.tips.enabled": false,
  "fused.python": python,
};

before(async () => {
  assert.ok(vsix && fs.existsSync(vsix), `FUSED_VSIX must name the packaged extension (got ${vsix})`);
  assert.ok(codeServer && fs.existsSync(path.join(codeServer, "out/node/entry.js")), "FUSED_CODE_SERVER");
  fs.mkdirSync(artifacts, { recursive: true });
  // Installed once into an extensions folder that every code-server of this file shares.
  execFileSync(nodeBin, [path.join(codeServer, "out/node/entry.js"), "--user-data-dir", path.join(tmp, "install-data"),
    "--extensions-dir", extensionsDir, "--install-extension", vsix], { stdio: ["ignore", "pipe", "inherit"], env: csEnv("install") });
  const installed = fs.readdirSync(extensionsDir).filter((d) => d.startsWith("fused-ls."));
  assert.equal(installed.length, 1, `installed: ${fs.readdirSync(extensionsDir)}`);
  const bundled = path.join(extensionsDir, installed[0], "bundled/fused-ls");
  assert.ok(fs.statSync(bundled).mode & 0o111, "the bundled binary stays executable after install");
  browser = await chromium.launch({
    executablePath: process.env.FUSED_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
});

after(async () => {
  await browser?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function csEnv(name) {
  const home = path.join(tmp, `xdg-${name}`);
  const env = { ...process.env };
  for (const k of ["CONFIG", "DATA", "CACHE", "STATE"]) env[`XDG_${k}_HOME`] = path.join(home, k.toLowerCase());
  // The extension must find its bundled binary, not one on PATH.
  env.PATH = env.PATH.split(":").filter((d) => !fs.existsSync(path.join(d, "fused-ls"))).join(":");
  return env;
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A fresh code-server on `folder` (one per scenario: a closed page leaves its extension host up). */
async function startCodeServer(name, folder, { trusted = true, settings = {} } = {}) {
  const userData = path.join(tmp, `data-${name}`);
  fs.mkdirSync(path.join(userData, "User"), { recursive: true });
  const all = { ...SETTINGS, ...settings };
  if (!trusted) Object.assign(all, { "security.workspace.trust.enabled": true, "security.workspace.trust.startupPrompt": "never" });
  fs.writeFileSync(path.join(userData, "User/settings.json"), JSON.stringify(all, null, 2));
  const port = await freePort();
  const args = [path.join(codeServer, "out/node/entry.js"), "--user-data-dir", userData, "--extensions-dir", extensionsDir,
    "--auth", "none", "--disable-telemetry", "--disable-update-check", "--bind-addr", `127.0.0.1:${port}`];
  if (trusted) args.push("--disable-workspace-trust");
  const logFile = path.join(artifacts, `code-server-${name}.log`);
  const out = fs.openSync(logFile, "w");
  const child = spawn(nodeBin, args, { detached: true, stdio: ["ignore", out, out], env: csEnv(name) });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`code-server did not answer; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`,
    userData,
    stop() {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    },
  };
}

/** A workspace folder holding copies of these fixture packages. */
function workspace(name, packages) {
  const dir = path.join(tmp, `ws-${name}`);
  for (const p of packages) fs.cpSync(path.join(root, "fixtures", p), path.join(dir, path.basename(p)), { recursive: true });
  return dir;
}

async function openPage(server) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  await page.goto(server.url);
  page.consoleErrors = consoleErrors;
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}

async function quickOpen(page, file) {
  await page.keyboard.press("Control+P");
  await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
  await page.keyboard.type(file);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: file }).first().waitFor();
  await page.keyboard.press("Enter");
  await page.locator(".tab.active", { hasText: file }).waitFor();
  await page.locator(".editor-instance .view-lines").first().click();
}

async function palette(page, title) {
  await page.keyboard.press("Control+Shift+P");
  await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
  await page.keyboard.type(title);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor();
  await page.keyboard.press("Enter");
}

/** The Output panel's visible text (the channel the extension showed). */
async function outputText(page) {
  return page.evaluate(() => {
    const lines = [...document.querySelectorAll(".part.panel .view-lines > .view-line")];
    lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
    return lines.map((l) => l.textContent.replace(/\u00a0/g, " ")).join("\n");
  });
}

async function waitFor(what, fn, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test("diagnostics in the Problems panel, a quick fix, Run UDF, the map preview", async (t) => {
  const dir = workspace("trusted", ["broken/Bad_Cache_Max_Age", "serve/Polygon_File"]);
  const server = await startCodeServer("trusted", dir);
  t.after(() => server.stop());
  const page = await openPage(server);
  const started = Date.now();
  try {
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "Bad_Cache_Max_Age" }).waitFor({ timeout: 60_000 });
    const file = path.join(dir, "Bad_Cache_Max_Age/Bad_Cache_Max_Age.py");
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "Bad_Cache_Max_Age" }).click();
    await quickOpen(page, "Bad_Cache_Max_Age.py");

    // (a) The server's error, squiggled and listed with its code in the Problems panel.
    await page.locator(".editor-instance .squiggly-error").first().waitFor({ timeout: 30_000 });
    const firstSquiggle = Date.now() - started;
    await page.keyboard.press("Control+Shift+M");
    const problem = page.locator(".markers-panel .monaco-list-row", { hasText: "FUSED041" }).first();
    await problem.waitFor();
    const problemText = await problem.textContent();
    assert.match(problemText, /cache_max_age/);
    assert.match(problemText, /fused-ls/);
    assert.match(problemText, /Ln 4, Col 26/);
    await page.locator(".part.statusbar", { hasText: "fused-ls" }).first().waitFor();
    await shot(page, "1-problems");

    // (b) The quick fix rewrites "10 minutes" to "10m" (saved, then read from disk).
    await page.locator(".editor-instance .view-lines").first().click();
    await page.keyboard.press("Control+G");
    await page.keyboard.type("4:30");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Control+.");
    const rows = page.locator(".action-widget .monaco-list-row.action");
    await rows.first().waitFor();
    const titles = await rows.allTextContents();
    const index = titles.findIndex((r) => r.includes('"10m"'));
    assert.ok(index >= 0, `a quick fix to "10m" among ${JSON.stringify(titles)}`);
    await shot(page, "2-quick-fix-menu");
    for (let i = 0; i < 20; i++) {
      if (await rows.nth(index).evaluate((e) => e.classList.contains("focused"))) break;
      await page.keyboard.press("ArrowDown");
    }
    await page.keyboard.press("Enter");
    await page.locator(".action-widget").first().waitFor({ state: "hidden" });
    await page.keyboard.press("Control+S");
    await waitFor("the fix on disk", () => fs.readFileSync(file, "utf8").includes('cache_max_age="10m"'));
    await waitFor("FUSED041 gone from Problems", async () => (await page.locator(".markers-panel .monaco-list-row", { hasText: "FUSED041" }).count()) === 0);
    await shot(page, "3-fixed");

    // (c) Fused: Run UDF on a File UDF: the result in the "Fused Runs" output channel.
    await quickOpen(page, "Polygon_File.py");
    await palette(page, "Fused: Run UDF");
    const out = await waitFor("the run's result in the output", async () => {
      const text = await outputText(page);
      return /file run ok/.test(text) && /paris/.test(text) ? text : null;
    }, 60_000);
    assert.match(out, /type: geopandas\.geodataframe\.GeoDataFrame/);
    assert.match(out, /rows: 1/);
    assert.match(out, /crs: EPSG:4326/);
    await shot(page, "4-run-result");

    // (d) Preview on Map: a webview beside the code framing `fused-ls serve`'s live map.
    await page.locator(".editor-instance .view-lines").first().click();
    await palette(page, "Fused: Preview on Map");
    await page.locator(".tab", { hasText: "Map: Polygon_File" }).waitFor();
    const mapFrame = await waitFor("the map page's frame", async () =>
      page.frames().find((f) => /\/Polygon_File\/$/.test(f.url())), 30_000);
    // The File UDF ran in the map's own service and its result is drawn (the map page's state).
    await mapFrame.waitForFunction(() => window.__fusedMap?.state.fileData, null, { timeout: 60_000 });
    const run = await mapFrame.evaluate(() => window.__fusedMap.state.fileResult);
    assert.equal(run?.result?.rows, 1, `the map's run of the UDF: ${JSON.stringify(run)?.slice(0, 300)}`);
    await page.waitForTimeout(800);
    await shot(page, "5-map-preview");
    console.log(`figures: first squiggle ${firstSquiggle} ms after page load; map frame at ${mapFrame.url()}`);
  } catch (e) {
    await shot(page, "failure-trusted").catch(() => {});
    console.log("console errors:", page.consoleErrors.slice(0, 20));
    throw e;
  } finally {
    await page.context().close();
  }
});

test("untrusted workspace: diagnostics shown, Run UDF refused with a message", async (t) => {
  const dir = workspace("untrusted", ["broken/Bad_Cache_Max_Age"]);
  const server = await startCodeServer("untrusted", dir, { trusted: false });
  t.after(() => server.stop());
  const page = await openPage(server);
  try {
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "Bad_Cache_Max_Age" }).waitFor({ timeout: 60_000 });
    await quickOpen(page, "Bad_Cache_Max_Age.py");
    await page.locator(".editor-instance .squiggly-error").first().waitFor({ timeout: 30_000 });
    await palette(page, "Fused: Run UDF");
    await page.locator(".notifications-toasts", { hasText: "not trusted" }).first().waitFor({ timeout: 15_000 });
    await shot(page, "6-untrusted-refused");
  } catch (e) {
    await shot(page, "failure-untrusted").catch(() => {});
    throw e;
  } finally {
    await page.context().close();
  }
});
