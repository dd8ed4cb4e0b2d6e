// The result panel's HTML (src/resultHtml.ts): the summary, rows, raster, error links, and a strict CSP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resultHtml } from "../src/resultHtml.ts";

const csp = (html: string) => /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "";

test("an ok run: summary, rows table, timings; the CSP allows nothing remote", () => {
  const html = resultHtml("P/P.py", "/w/P/P.py", {
    ok: true, mode: "file", elapsed_ms: 12.4, wall_ms: 300.2,
    result: { type: "geopandas.geodataframe.GeoDataFrame", rows: 1, columns: ["name", "geometry"], crs: "EPSG:4326",
      total_bounds: [2.2, 48.8, 2.4, 48.9], preview: [{ name: "paris", geometry: "POLYGON ((...))" }] },
  }, "N0NCE", "12:00:00");
  assert.equal(csp(html), "default-src 'none'; img-src data:; style-src 'nonce-N0NCE'; script-src 'nonce-N0NCE'");
  assert.match(html, /<th>rows<\/th><td>1<\/td>/);
  assert.match(html, /<th>CRS<\/th><td>EPSG:4326<\/td>/);
  assert.match(html, /<th>bounds<\/th><td>\[2\.2, 48\.8, 2\.4, 48\.9\]<\/td>/);
  assert.match(html, /<th>UDF time<\/th><td>12 ms<\/td>/);
  assert.match(html, /<table id="fused-rows"><tr><th>name<\/th><th>geometry<\/th><\/tr><tr><td>paris<\/td>/);
  assert.match(html, /<script nonce="N0NCE">/);
  assert.doesNotMatch(html, /https?:\/\//);
});

test("an error: class, message, and the UDF's traceback frames as line links (not the runner's)", () => {
  const html = resultHtml("E/E.py", "/w/E/E.py", {
    ok: false, mode: "file",
    error: { class: "ValueError", message: "no <data>", line: 13,
      traceback: 'Traceback (most recent call last):\n  File "/tmp/x/fused_ls_runner.py", line 938, in main\n    value = func(**kwargs)\n  File "/w/E/E.py", line 13, in udf\n    raise ValueError("no <data>")\nValueError: no <data>\n' },
  }, "n", "t");
  assert.match(html, /<span class="cls">ValueError<\/span>: no &lt;data&gt;/);
  assert.match(html, /File &quot;\/w\/E\/E\.py&quot;, line <a class="fused-line" href="#" data-line="13"/);
  assert.doesNotMatch(html, /data-line="938"/);
  assert.doesNotMatch(html, /<data>/);
});

test("a raster: its PNG as a data: image; a value without rows as JSON", () => {
  const png = "iVBORw0KGgo=";
  const html = resultHtml("R/R.py", "/w/R/R.py", { ok: true, result: { type: "numpy.ndarray", raster: { width: 2, height: 2, bounds: [0, 0, 1, 1], png_base64: png }, value: "array([[...]])" } }, "n", "t");
  assert.match(html, /<img id="fused-raster" alt="raster" src="data:image\/png;base64,iVBORw0KGgo=">/);
  assert.doesNotMatch(html, /fused-value/, "an array's repr is not shown beside its PNG");
  const v = resultHtml("V/V.py", "/w/V/V.py", { ok: true, result: { type: "dict", value: { a: "<b>" } } }, "n", "t");
  assert.match(v, /<pre id="fused-value">\{\n  &quot;a&quot;: &quot;&lt;b&gt;&quot;\n\}<\/pre>/);
});

test("a png that is not base64 is not put in the page", () => {
  const html = resultHtml("R/R.py", "/w/R/R.py", { ok: true, result: { raster: { png_base64: '"><script>' } } }, "n", "t");
  assert.doesNotMatch(html, /<img/);
});
