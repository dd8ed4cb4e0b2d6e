// The live map in a real browser: `fused-ls serve` on the serve fixtures, Debian's Chromium
// driven by playwright-core, every request that is not to the loopback server refused (the map
// must work offline). Pixels are read from screenshots (kept in target/test-artifacts/map: look
// at them). Run by tests/web/test.sh (which installs what it needs).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

const root = path.resolve(import.meta.dirname, "../..");
const bin = process.env.FUSED_LS_BIN || path.join(root, "target/debug/fused-ls");
const python = process.env.FUSED_LS_SDK_PYTHON || path.join(os.homedir(), ".cache/fused-ls/sdk-venv/bin/python");
const artifacts = path.join(root, "target/test-artifacts/map");
fs.mkdirSync(artifacts, { recursive: true });

let server, base, browser, work;

before(async () => {
  // A copy of the fixtures: one test edits a UDF to see the map reload.
  work = fs.mkdtempSync(path.join(os.tmpdir(), "fused-map-"));
  fs.cpSync(path.join(root, "fixtures/serve"), work, { recursive: true });
  server = spawn(bin, ["serve", work, "--port", "0", "--no-open", "--python", python, "--workers", "2"], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  const lines = readline.createInterface({ input: server.stdout });
  base = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("serve printed no URL within 30 s")), 30000);
    lines.once("line", (l) => {
      clearTimeout(t);
      resolve(l.trim());
    });
    server.once("exit", (c) => reject(new Error(`serve exited with ${c}`)));
  });
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{16,}\/$/);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      // WebGL through SwiftShader: deck.gl draws with WebGL2 and there is no GPU here.
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
});

after(async () => {
  await browser?.close();
  if (server) {
    try {
      process.kill(-server.pid, "SIGTERM");
    } catch (_) {}
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

// A page with everything but the loopback server refused; what it requested and what failed.
async function open(url) {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const seen = { tiles: [], refused: [], aborted: [], errors: [] };
  await page.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === "127.0.0.1" || u.protocol === "data:" || u.protocol === "blob:") return route.continue();
    seen.refused.push(u.href);
    return route.abort();
  });
  page.on("request", (r) => {
    if (r.url().includes("/run/tiles/")) seen.tiles.push(r.url());
  });
  page.on("requestfailed", (r) => {
    if (r.url().includes("/run/tiles/")) seen.aborted.push([r.url(), r.failure()?.errorText]);
  });
  page.on("pageerror", (e) => seen.errors.push(e.message));
  await page.goto(url);
  return { page, seen };
}

// Waits until every tile in view has an answer (or `cond` holds).
async function waitTiles(page, cond = "all", timeout = 60000) {
  await page.waitForFunction(
    (cond) => {
      const m = window.__fusedMap;
      if (!m) return false;
      const tiles = [...m.state.tiles.values()];
      if (!tiles.length) return false;
      const done = tiles.filter((t) => t.ms !== null || t.error);
      return cond === "all" ? done.length === tiles.length : done.length > 0;
    },
    cond,
    { timeout, polling: 200 }
  );
  // deck.gl draws on the next animation frames.
  await page.waitForTimeout(500);
}

// The screenshot's pixels, decoded by the browser itself (no PNG package needed).
async function pixels(page, name) {
  const png = await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
  const decoder = await browser.newPage();
  const data = await decoder.evaluate(async (b64) => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    return { w: img.width, h: img.height, px: Array.from(ctx.getImageData(0, 0, img.width, img.height).data) };
  }, png.toString("base64"));
  await decoder.close();
  return {
    at: (x, y) => {
      const i = (Math.round(y) * data.w + Math.round(x)) * 4;
      return data.px.slice(i, i + 3);
    },
    count: (pred) => {
      let n = 0;
      for (let i = 0; i < data.px.length; i += 4) if (pred(data.px[i], data.px[i + 1], data.px[i + 2])) n++;
      return n;
    },
  };
}

// Screen position of a longitude/latitude in the map's current view.
const project = (page, lnglat) =>
  page.evaluate((p) => window.__fusedMap.deck.getViewports()[0].project(p), lnglat);

const orange = ([r, g, b]) => r > 200 && g > 110 && g < 200 && b < 140;
const red = (r, g, b) => r > 180 && g < 80 && b < 80;

test("a Tile UDF: the visible tiles are requested and their features drawn where they are, offline", async () => {
  const { page, seen } = await open(`${base}Points_Tile/`);
  await waitTiles(page);
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.refused, [], "the page asked for something other than the local server");
  const tiles = await page.evaluate(() => [...window.__fusedMap.state.tiles.values()].map((t) => ({ key: t.key, bbox: t.bbox, error: t.error })));
  assert.ok(tiles.length >= 4, `tiles in view: ${tiles.length}`);
  assert.ok(seen.tiles.length >= tiles.length);
  assert.ok(tiles.every((t) => !t.error), JSON.stringify(tiles.filter((t) => t.error)));
  const px = await pixels(page, "points-tile");
  // Each tile holds a polygon over its middle half: the centre of every tile fully in view is
  // orange; a tile's corner (outside the polygon and off the line) is the background.
  let checked = 0;
  for (const t of tiles) {
    const [x0, y0] = await project(page, [t.bbox.west, t.bbox.north]);
    const [x1, y1] = await project(page, [t.bbox.east, t.bbox.south]);
    if (x0 < 320 || y0 < 0 || x1 > 1000 || y1 > 700) continue; // under the panel or cut off
    // Just off the diagonal line, inside the square.
    const inside = px.at((x0 + x1) / 2 + (x1 - x0) * 0.15, (y0 + y1) / 2 - (y1 - y0) * 0.05);
    assert.ok(orange(inside), `${t.key}: polygon pixel ${inside}`);
    const corner = px.at(x0 + (x1 - x0) * 0.12, y0 + (y1 - y0) * 0.3);
    assert.ok(!orange(corner), `${t.key}: corner pixel ${corner} is not the feature colour`);
    checked++;
  }
  assert.ok(checked >= 1, "at least one whole tile in view");
  // The overlay names each tile and its timing.
  await page.close();
});

test("an errored tile is outlined red and clicking it shows the error and its line", async () => {
  const { page } = await open(`${base}Errors_Tile/`);
  await waitTiles(page);
  const tiles = await page.evaluate(() => [...window.__fusedMap.state.tiles.values()].map((t) => ({ key: t.key, bbox: t.bbox, error: t.error })));
  const bad = tiles.filter((t) => t.error);
  const good = tiles.filter((t) => !t.error);
  assert.ok(bad.length > 0 && good.length > 0, JSON.stringify(tiles.map((t) => [t.key, !!t.error])));
  assert.ok(bad.every((t) => t.bbox.west < -74.02), "only tiles west of -74.02 fail");
  assert.equal(bad[0].error.class, "ValueError");
  const px = await pixels(page, "errors-tile");
  assert.ok(px.count(red) > 200, "red outlines drawn");
  // Click the middle of an errored tile's part that is in view, away from the panel.
  let target = null;
  for (const t of bad) {
    const [x0, y0] = await project(page, [t.bbox.west, t.bbox.north]);
    const [x1, y1] = await project(page, [t.bbox.east, t.bbox.south]);
    const [l, r, top, bottom] = [Math.max(x0, 330), Math.min(x1, 990), Math.max(y0, 10), Math.min(y1, 600)];
    if (r - l > 20 && bottom - top > 20) {
      target = { x: (l + r) / 2, y: (top + bottom) / 2, t };
      break;
    }
  }
  assert.ok(target, "an errored tile in view");
  await page.mouse.click(target.x, target.y);
  await page.waitForSelector("#details:not([hidden])", { timeout: 5000 });
  const details = await page.textContent("#details");
  assert.match(details, /ValueError: no data west of -74\.02/);
  assert.match(details, /line 13/);
  await pixels(page, "errors-tile-clicked");
  await page.close();
});

test("a raster Tile UDF is drawn at each tile: the west half blue, the east half clear", async () => {
  const { page, seen } = await open(`${base}Raster_Tile/`);
  await waitTiles(page);
  assert.deepEqual(seen.errors, []);
  const tiles = await page.evaluate(() => [...window.__fusedMap.state.tiles.values()].map((t) => ({ key: t.key, bbox: t.bbox, error: t.error })));
  assert.ok(tiles.every((t) => !t.error), JSON.stringify(tiles.filter((t) => t.error)));
  const px = await pixels(page, "raster-tile");
  const blue = ([r, g, b]) => b > 180 && r < 90 && g < 120;
  let checked = 0;
  for (const t of tiles) {
    const [x0, y0] = await project(page, [t.bbox.west, t.bbox.north]);
    const [x1, y1] = await project(page, [t.bbox.east, t.bbox.south]);
    if (x0 < 320 || y0 < 0 || x1 > 1000 || y1 > 700) continue;
    const west = px.at(x0 + (x1 - x0) * 0.25, y0 + (y1 - y0) * 0.6);
    const east = px.at(x0 + (x1 - x0) * 0.75, y0 + (y1 - y0) * 0.6);
    assert.ok(blue(west), `${t.key}: west half ${west}`);
    assert.ok(!blue(east), `${t.key}: east half ${east}`);
    checked++;
  }
  assert.ok(checked >= 1, "at least one whole tile in view");
  await page.close();
});

// The package's vizConfig `tileLayer` and `rasterLayer`, as Workbench saves them: tiles of at most
// zoom 12 requested (overzoomed past it), the raster at half opacity. A copy of Raster_Tile
// added after the start (the catalog finds it by name).
test("a raster Tile UDF's vizConfig tileLayer maxZoom and rasterLayer opacity are honoured", async () => {
  const dir = path.join(work, "Raster_Viz");
  fs.cpSync(path.join(work, "Raster_Tile"), dir, { recursive: true });
  const metaPath = path.join(dir, "meta.json");
  const meta = JSON.parse(fs.readFileSync(metaPath, "utf8"));
  const udf = meta.job_config.steps[0].udf;
  udf.name = "Raster_Viz";
  udf.metadata["fused:name"] = udf.metadata["fused:slug"] = "Raster_Viz";
  udf.metadata["fused:vizConfig"] = {
    tileLayer: { "@@type": "TileLayer", minZoom: 0, maxZoom: 12, tileSize: 256, pickable: true },
    rasterLayer: { "@@type": "BitmapLayer", opacity: 0.5 },
  };
  fs.writeFileSync(metaPath, JSON.stringify(meta));
  const { page, seen } = await open(`${base}Raster_Viz/`);
  // (A new package: its first tile is checked first; a loaded machine took a minute once.)
  await waitTiles(page, "all", 120000);
  assert.deepEqual(seen.errors, []);
  assert.ok(seen.tiles.length > 0, "no tile requested");
  const zooms = new Set(seen.tiles.map((u) => Number(/\/run\/tiles\/(\d+)\//.exec(u)[1])));
  assert.deepEqual([...zooms], [12], `zooms requested at view zoom 13: ${[...zooms]}`);
  const tiles = await page.evaluate(() => [...window.__fusedMap.state.tiles.values()].map((t) => ({ key: t.key, bbox: t.bbox })));
  const px = await pixels(page, "raster-tile-viz");
  // The tile's blue is 30,60,220 drawn opaque; at opacity 0.5 over the background it reads
  // ≈88,110,228 (deck.gl blends premultiplied colours).
  const opaque = ([r, g, b]) => b > 180 && r < 50 && g < 80;
  const faded = ([r, g, b]) => b > 180 && r >= 60 && r < 200 && g >= 90 && g < 210;
  let checked = 0;
  for (const t of tiles) {
    const [x0, y0] = await project(page, [t.bbox.west, t.bbox.north]);
    const [x1, y1] = await project(page, [t.bbox.east, t.bbox.south]);
    const [wx, wy] = [x0 + (x1 - x0) * 0.25, y0 + (y1 - y0) * 0.6];
    if (wx < 330 || wx > 990 || wy < 10 || wy > 690) continue;
    const west = px.at(wx, wy);
    assert.ok(faded(west) && !opaque(west), `${t.key}: west half at half opacity: ${west}`);
    assert.ok(!faded(px.at(x0 + (x1 - x0) * 0.75, wy)), `${t.key}: east half clear`);
    checked++;
  }
  assert.ok(checked >= 1, "a tile's west half in view");
  await page.close();
});

test("a File UDF is drawn and fitted in view, styled by its fused:vizConfig", async () => {
  const { page, seen } = await open(`${base}Polygon_File/`);
  await page.waitForFunction(() => window.__fusedMap?.state.fileData, null, { timeout: 60000 });
  await page.waitForTimeout(800);
  assert.deepEqual(seen.errors, []);
  const [cx, cy] = await project(page, [2.35, 48.85]);
  assert.ok(Math.abs(cx - 500) < 60 && Math.abs(cy - 350) < 60, `the square's centre at ${cx},${cy}`);
  const px = await pixels(page, "polygon-file");
  // meta.json's vizConfig: `getFillColor: "@@=[0, properties.size * 16000, 80, 220]"`, and the
  // UDF's size is 0.01: green, not the map's default orange.
  const green = ([r, g, b]) => r < 70 && g > 120 && g < 200 && b > 50 && b < 130;
  const centre = px.at(cx + 5, cy + 5);
  assert.ok(green(centre), `centre pixel ${centre}: the vizConfig colour`);
  assert.ok(!green(px.at(980, 680)) && !orange(px.at(980, 680)), "far corner is background");
  // Clicking the feature shows its attributes.
  await page.mouse.click(cx + 5, cy + 5);
  await page.waitForSelector("#details:not([hidden])", { timeout: 5000 });
  const details = await page.textContent("#details");
  assert.match(details, /name\s*"paris"/);
  assert.match(details, /size\s*0\.01/);
  await page.close();
});

test("a parameter change reloads the tiles with the new value; saving the UDF reloads them", async () => {
  const { page, seen } = await open(`${base}Points_Tile/`);
  await waitTiles(page);
  const before = seen.tiles.length;
  await page.fill('input[name="label"]', "changed");
  await page.press('input[name="label"]', "Enter");
  await page.waitForFunction(() => true);
  await page.waitForTimeout(100);
  await waitTiles(page);
  // Every tile in view was asked again with the new value (a request of the old generation
  // still in flight may come later: it does not count).
  const after = seen.tiles.slice(before);
  const keys = await page.evaluate(() => [...window.__fusedMap.state.tiles.keys()]);
  assert.ok(keys.length > 0);
  for (const k of keys) {
    assert.ok(after.some((u) => u.includes(`/run/tiles/${k}?`) && u.includes("label=changed")), `${k}:\n${after.join("\n")}`);
  }
  // Save the UDF (a new version): the page polls `udfs` and asks for every tile again.
  const n = seen.tiles.length;
  const file = path.join(work, "Points_Tile/Points_Tile.py");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('label: str = "p"', 'label: str = "q"'));
  await page.waitForFunction((n) => window.__fusedMap && true, n);
  const deadline = Date.now() + 15000;
  while (seen.tiles.length === n && Date.now() < deadline) await page.waitForTimeout(200);
  assert.ok(seen.tiles.length > n, "no tile requested after the UDF changed");
  await page.close();
});

test("the parameter panel shows what each typed value becomes; a value that fails requests no tile", async () => {
  const { page, seen } = await open(`${base}Points_Tile/`);
  await waitTiles(page);
  const hint = (name, text) => page.locator(`small.coerced[data-param="${name}"]`, { hasText: text }).waitFor({ timeout: 10000 });
  // Empty: the default is used.
  await hint("count", "empty: the default 3 is used");
  // Live, as typed (each keystroke asks the server's coercion table).
  await page.fill('input[name="count"]', "3");
  await hint("count", "→ 3 (int)");
  await page.fill('input[name="pause"]', "1e-3");
  await hint("pause", "→ 0.001 (float)");
  await page.fill('input[name="empty"]', "no");
  await hint("empty", "→ True (bool)");
  await page.fill('input[name="empty"]', "FALSE");
  await hint("empty", "→ False (bool)");
  await page.fill('input[name="label"]', "it's");
  await hint("label", `→ "it's" (str)`);
  // Leaving a field applies its value (a change event): let those tiles finish first.
  await page.press('input[name="label"]', "Tab");
  await page.waitForTimeout(300);
  await waitTiles(page);
  const n = seen.tiles.length;
  await page.fill('input[name="count"]', "3.5");
  await hint("count", "✗ ValueError: invalid literal for int() with base 10: '3.5'");
  const color = await page.locator('small.coerced[data-param="count"]').evaluate((e) => getComputedStyle(e).color);
  assert.equal(color, "rgb(192, 24, 24)", "the error is red");
  // Applying it (Enter) requests nothing and says why.
  await page.press('input[name="count"]', "Enter");
  await page.locator("#status", { hasText: "not applied" }).waitFor({ timeout: 10000 });
  assert.match(await page.locator("#status").textContent(), /count = "3.5" is not applied: ValueError/);
  await page.screenshot({ path: path.join(artifacts, "param-preview-error.png") });
  await page.waitForTimeout(1500);
  assert.equal(seen.tiles.length, n, `no tile requested with a failing value:\n${seen.tiles.slice(n).join("\n")}`);
  assert.ok(!seen.tiles.some((u) => u.includes("count=3.5")));
  // A good value is applied: every tile is asked again with it.
  await page.fill('input[name="count"]', "2");
  await hint("count", "→ 2 (int)");
  await page.press('input[name="count"]', "Enter");
  const deadline = Date.now() + 15000;
  while (!seen.tiles.some((u) => u.includes("count=2")) && Date.now() < deadline) await page.waitForTimeout(200);
  assert.ok(seen.tiles.some((u) => u.includes("count=2")), seen.tiles.slice(n).join("\n"));
  await waitTiles(page);
  await page.screenshot({ path: path.join(artifacts, "param-preview-applied.png") });
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test("tiles that leave the view while loading are aborted", async () => {
  const { page, seen } = await open(`${base}Points_Tile/`);
  await waitTiles(page);
  // Slow tiles: 3 s each.
  await page.fill('input[name="pause"]', "3");
  await page.press('input[name="pause"]', "Enter");
  await page.waitForTimeout(600);
  // Jump far away before they finish.
  await page.evaluate(() => {
    window.__fusedMap.deck.setProps({ initialViewState: { longitude: 100, latitude: -30, zoom: 13, transitionDuration: 0 } });
  });
  const deadline = Date.now() + 10000;
  while (!seen.aborted.some(([u]) => u.includes("pause=3")) && Date.now() < deadline) await page.waitForTimeout(200);
  assert.ok(
    seen.aborted.some(([u, why]) => u.includes("pause=3") && /ABORTED/.test(why || "")),
    JSON.stringify(seen.aborted)
  );
  await page.close();
});

test("under a proxy that keeps its path prefix (code-server's /absproxy/PORT/), its Host allowed", async () => {
  // A stand-in for code-server's /absproxy/PORT/: forwards `/absproxy/PORT/...` unchanged to
  // 127.0.0.1:PORT with the browser's Host header, as http-proxy does without changeOrigin.
  const proxy = http.createServer((req, res) => {
    const m = /^\/absproxy\/(\d+)\//.exec(req.url);
    if (!m) return res.writeHead(404).end();
    const up = http.request({ host: "127.0.0.1", port: Number(m[1]), path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.writeHead(502).end());
    // The browser hung up (a tile left the view): so does the proxy, as code-server's does.
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  const proxyHost = `127.0.0.1:${proxy.address().port}`;
  const srv = spawn(bin, ["serve", work, "--port", "0", "--no-open", "--python", python, "--workers", "1", "--allow-host", proxyHost], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  try {
    const direct = await new Promise((resolve, reject) => {
      readline.createInterface({ input: srv.stdout }).once("line", (l) => resolve(l.trim()));
      srv.once("exit", (c) => reject(new Error(`serve exited with ${c}`)));
    });
    const u = new URL(direct);
    const url = `http://${proxyHost}/absproxy/${u.port}${u.pathname}Points_Tile/`;
    const { page, seen } = await open(url);
    await waitTiles(page);
    assert.ok(seen.tiles.length > 0);
    for (const t of seen.tiles) assert.ok(t.startsWith(`http://${proxyHost}/absproxy/${u.port}${u.pathname}Points_Tile/run/tiles/`), t);
    const tiles = await page.evaluate(() => [...window.__fusedMap.state.tiles.values()].map((t) => [t.key, t.error]));
    assert.ok(tiles.every(([, e]) => !e), JSON.stringify(tiles));
    // The parameter preview goes through the prefix too.
    await page.fill('input[name="count"]', "3.5");
    await page.locator('small.coerced[data-param="count"]', { hasText: "ValueError" }).waitFor({ timeout: 10000 });
    await page.screenshot({ path: path.join(artifacts, "absproxy.png") });
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.refused, []);
    await page.close();
  } finally {
    try {
      process.kill(-srv.pid, "SIGTERM");
    } catch (_) {}
    proxy.closeAllConnections();
    proxy.close();
  }
});

// The result panel's map (dist/result.js, what the VS Code extension ships): a page holding one
// run's JSON, served from loopback, as the panel builds it. With the package's fused:vizConfig in
// `viz`, the features take its colours, as on the live map; without, the map's orange.
test("the result map of one run draws its features styled by the package's fused:vizConfig, CARTO colour helpers included", async () => {
  const script = fs.readFileSync(path.join(root, "web/map/dist/result.js"));
  const square = [[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.9], [2.3, 48.8]];
  const run = (viz) => ({
    ok: true,
    mode: "file",
    bounds: [2.2, 48.7, 2.5, 49.0],
    result: {
      geojson: { type: "FeatureCollection", features: [{ type: "Feature", properties: { size: 0.01 }, geometry: { type: "Polygon", coordinates: [square] } }] },
    },
    viz,
  });
  const viz = JSON.parse(fs.readFileSync(path.join(root, "fixtures/serve/Polygon_File/meta.json"), "utf8")).job_config.steps[0].udf.metadata[
    "fused:vizConfig"
  ];
  // Workbench's own template: CARTO's colorContinuous on an attribute (size 0.01 is the top of
  // the domain: Teal's last colour, #2a5674).
  const carto = { vectorLayer: { "@@type": "GeoJsonLayer", getFillColor: { "@@function": "colorContinuous", attr: "size", domain: [0, 0.01], colors: "Teal" } } };
  const pages = { "/styled": run(viz), "/carto": run(carto), "/plain": run(undefined), "/broken": run({ vectorLayer: { "@@type": "GeoJsonLayer", getFillColor: "@@=[0, properties.size *" } }),
    "/unknown": run({ vectorLayer: { "@@type": "GeoJsonLayer", getFillColor: { "@@function": "noSuchHelper", attr: "size" } } }) };
  const srv = http.createServer((req, res) => {
    if (req.url === "/result.js") return res.end(script);
    const r = pages[req.url];
    if (!r) return res.writeHead(404).end();
    res.setHeader("content-type", "text/html");
    res.end(`<!doctype html><body style="margin:0"><div id="fused-result-map" style="position:relative;width:600px;height:400px"></div>
<div id="fused-map-status"></div><script type="application/json" id="fused-run">${JSON.stringify(r).replace(/</g, "\\u003c")}</script>
<script src="/result.js"></script></body>`);
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const at = `http://127.0.0.1:${srv.address().port}`;
  const green = ([r, g, b]) => r < 70 && g > 120 && g < 200 && b > 50 && b < 130;
  try {
    const teal = ([r, g, b]) => Math.abs(r - 42) < 25 && Math.abs(g - 86) < 25 && Math.abs(b - 116) < 25;
    for (const [name, expect] of [["styled", green], ["carto", teal], ["plain", orange], ["broken", orange], ["unknown", orange]]) {
      const { page, seen } = await open(`${at}/${name}`);
      await page.waitForFunction(() => window.__fusedResultMap && window.__fusedResultMap.drawn() > 0, null, { timeout: 30000 });
      await page.waitForTimeout(500);
      assert.deepEqual(seen.errors, []);
      const [cx, cy] = await page.evaluate(() => window.__fusedResultMap.project([2.35, 48.85]));
      const px = await pixels(page, `result-map-${name}`);
      const centre = px.at(cx, cy);
      assert.ok(expect(centre), `${name}: centre pixel ${centre}`);
      const status = await page.textContent("#fused-map-status");
      if (name === "broken") assert.match(status, /fused:vizConfig\.vectorLayer is not usable/);
      else if (name === "unknown") assert.match(status, /fused:vizConfig\.vectorLayer: getFillColor not usable here \(default used\)/);
      else assert.match(status, /^1 feature on the map/);
      await page.close();
    }
  } finally {
    srv.close();
  }
});
