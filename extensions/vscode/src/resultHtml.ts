// The HTML of the "Fused Result" webview: a run's summary (type, rows, columns, CRS, bounds,
// timings), its preview rows as a table, a raster's PNG, stdout/stderr, and for an error its class,
// message and the traceback with the UDF's lines as links (a click posts `{type: "open", line}` to
// the extension, which opens the UDF there). A strict CSP: nothing remote, images only as data:
// URLs (the raster's PNG), a nonce'd style and script. With `mapScript` (the webview URI of web/map's
// static "result" bundle, shipped in the extension) a run with features or a raster also gets a map:
// the run's geometry as JSON in the page, drawn by that nonce'd script with deck.gl (no fetch, no
// remote origin). Pure, unit-tested (test/resultHtml.test.ts).
import type { RunResult } from "./resultText";

const MAX_ROWS = 200;
const MAX_CELL = 200;

export function resultHtml(file: string, udfPath: string, r: RunResult, nonce: string, when: string, mapScript?: string, viz?: object): string {
  const map = mapScript && r.ok ? mapRun(r, viz) : undefined;
  // The map decodes the raster's data: URL itself; deck.gl reads textures from blob: URLs.
  const csp = ["default-src 'none'", map ? "img-src data: blob:" : "img-src data:", `style-src 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`].join("; ");
  const body: string[] = [];
  const where = r.mode === "tile" ? `tile run${r.tile ? ` ${tileText(r.tile)}` : ""}` : "file run";
  body.push(`<h1 id="fused-title" class="${r.ok ? "ok" : "err"}">${esc(file)}: ${esc(where)} ${r.ok ? "ok" : "failed"}</h1>`);
  const summary: [string, string][] = [];
  const res = r.result ?? {};
  if (r.ok) {
    if (res.type) summary.push(["type", res.type]);
    if (res.rows !== undefined && res.rows !== null) summary.push(["rows", String(res.rows)]);
    if (res.columns?.length) summary.push(["columns", res.columns.join(", ")]);
    if (res.crs) summary.push(["CRS", res.crs]);
    if (res.total_bounds) summary.push(["bounds", `[${res.total_bounds.join(", ")}]`]);
    if (res.raster) summary.push(["raster", `${res.raster.width}×${res.raster.height} at [${(res.raster.bounds ?? []).join(", ")}]`]);
  }
  if (r.params && Object.keys(r.params).length) summary.push(["params", JSON.stringify(r.params)]);
  if (r.elapsed_ms !== undefined) summary.push(["UDF time", `${Math.round(r.elapsed_ms)} ms`]);
  if (r.wall_ms !== undefined) summary.push(["wall time", `${Math.round(r.wall_ms)} ms`]);
  summary.push(["finished", when]);
  if (r.python) summary.push(["python", r.python]);
  if (!r.ok) {
    const e = r.error ?? {};
    body.push(`<div id="fused-error"><span class="cls">${esc(e.class ?? "Error")}</span>: ${esc(e.message ?? "")}</div>`);
    if (e.line) body.push(`<p>at ${lineLink(e.line, `line ${e.line}`)}</p>`);
    if (e.diagnostics?.length) {
      body.push(`<ul id="fused-diagnostics">${e.diagnostics.map((d) => `<li>${esc(`${d.path}:${d.line}:${d.column}: ${d.code} ${d.message}`)}</li>`).join("")}</ul>`);
    }
  }
  // The map first, under the title: what a run drew is what a UDF author looks at first.
  if (map && mapScript) {
    body.push(`<div id="fused-result-map"></div><div id="fused-map-status">loading the map…</div>`);
    // JSON in a script element: only `<` can end it early, and \u003c reads back the same.
    body.push(`<script type="application/json" id="fused-run">${JSON.stringify(map).replace(/</g, "\\u003c")}</script>`);
    body.push(`<script nonce="${nonce}" src="${esc(mapScript)}"></script>`);
  }
  body.push(`<table id="fused-summary">${summary.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`);
  if (r.ok) {
    const png = res.raster?.png_base64;
    if (png && /^[A-Za-z0-9+/=\s]+$/.test(png)) body.push(`<img id="fused-raster" alt="raster" src="data:image/png;base64,${png.replace(/\s/g, "")}">`);
    if (res.preview?.length) body.push(table(res.preview, res.rows ?? undefined));
    // An array's value is its repr: the PNG shows it better.
    else if (res.value !== undefined && !png) body.push(`<pre id="fused-value">${esc(JSON.stringify(res.value, null, 2) ?? "")}</pre>`);
  } else if (r.error?.traceback) {
    body.push(`<h2>Traceback</h2><pre id="fused-traceback">${traceback(r.error.traceback, udfPath)}</pre>`);
  }
  if (r.stdout) body.push(`<h2>stdout</h2><pre id="fused-stdout">${esc(r.stdout)}</pre>`);
  if (r.stderr) body.push(`<h2>stderr</h2><pre id="fused-stderr">${esc(r.stderr)}</pre>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fused Result</title>
<style nonce="${nonce}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 12px; }
  h1 { font-size: 1.2em; } h1.ok { color: var(--vscode-testing-iconPassed, inherit); } h1.err, .cls { color: var(--vscode-errorForeground); }
  h2 { font-size: 1em; margin-top: 1.2em; }
  table { border-collapse: collapse; margin: 6px 0; }
  th, td { text-align: left; padding: 2px 8px; border: 1px solid var(--vscode-panel-border, #8884); vertical-align: top; }
  #fused-summary th { font-weight: normal; opacity: .8; white-space: nowrap; }
  #fused-rows th { background: var(--vscode-editorWidget-background); }
  pre { white-space: pre-wrap; font-family: var(--vscode-editor-font-family); background: var(--vscode-textCodeBlock-background); padding: 6px; }
  a { color: var(--vscode-textLink-foreground); cursor: pointer; }
  img { max-width: 100%; image-rendering: pixelated; border: 1px solid var(--vscode-panel-border, #8884); }
  #fused-result-map { position: relative; width: 100%; height: 320px; background: #f4f4f6; border: 1px solid var(--vscode-panel-border, #8884); }
  #fused-map-status { font-size: .9em; opacity: .8; margin: 2px 0 8px; }
</style>
</head>
<body>
${body.join("\n")}
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest && ev.target.closest("a[data-line]");
    if (!a) return;
    ev.preventDefault();
    vscode.postMessage({ type: "open", line: Number(a.dataset.line) });
  });
</script>
</body>
</html>`;
}

/** What the map needs of a run (web/map/src/result.js reads it): the features (an H3 frame's
 * hexagons are in `geojson` too), the raster and the bounds, and the package's `fused:vizConfig`
 * (`viz`) to style them; undefined when there is nothing to draw. The preview rows and output
 * stay out of the page's JSON. */
function mapRun(r: RunResult, viz?: object): object | undefined {
  const res = r.result ?? {};
  const features = res.geojson?.features?.length ? res.geojson : undefined;
  const raster = res.raster?.png_base64 && res.raster.bounds?.length === 4 ? res.raster : undefined;
  if (!features && !raster) return undefined;
  return { bounds: r.bounds, result: { geojson: features, raster, total_bounds: res.total_bounds }, viz };
}

/** The traceback, escaped, with each frame in the UDF's file turned into a link to its line. */
function traceback(tb: string, udfPath: string): string {
  return tb
    .split("\n")
    .map((l) => {
      const m = /^(\s*File ")(.*)(", line )(\d+)(.*)$/.exec(l);
      if (!m || !sameFile(m[2], udfPath)) return esc(l);
      return `${esc(m[1] + m[2] + m[3])}${lineLink(Number(m[4]), m[4])}${esc(m[5])}`;
    })
    .join("\n");
}

/** A traceback path names the UDF when it is the UDF's path, or (a copy the runner made, or a
 * path from another machine) ends with the UDF's file name. */
function sameFile(p: string, udfPath: string): boolean {
  if (p === udfPath) return true;
  const base = udfPath.split(/[\\/]/).pop() ?? udfPath;
  return p.split(/[\\/]/).pop() === base;
}

function lineLink(line: number, text: string): string {
  return `<a class="fused-line" href="#" data-line="${line}" title="Open the UDF at line ${line}">${esc(text)}</a>`;
}

function table(rows: Record<string, unknown>[], total?: number): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => {
    const s = typeof v === "string" ? v : (JSON.stringify(v) ?? "");
    return esc(s.length > MAX_CELL ? s.slice(0, MAX_CELL - 1) + "…" : s);
  };
  const shown = rows.slice(0, MAX_ROWS);
  const head = `<tr>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const lines = shown.map((r) => `<tr>${cols.map((c) => `<td>${cell(r[c])}</td>`).join("")}</tr>`);
  const count = total !== undefined && total > shown.length ? `<p>${shown.length} of ${total} rows shown.</p>` : "";
  return `<h2>Rows</h2><table id="fused-rows">${head}${lines.join("")}</table>${count}`;
}

function tileText(t: unknown): string {
  if (typeof t === "string") return t;
  const o = t as { x?: unknown; y?: unknown; z?: unknown };
  if (o && typeof o === "object" && o.z !== undefined) return `${o.z}/${o.x}/${o.y}`;
  return JSON.stringify(t);
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
