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

test("the map: features and the bundle's nonce'd script; the run's JSON cannot close its script element", () => {
  const fc = { type: "FeatureCollection", features: [{ type: "Feature", properties: { name: "</script><b>" }, geometry: { type: "Point", coordinates: [2.35, 48.85] } }] };
  const src = "https://file+.vscode-resource.vscode-cdn.net/ext/media/result-map.js";
  const html = resultHtml("P/P.py", "/w/P/P.py", { ok: true, mode: "tile", bounds: [2, 48, 3, 49], result: { type: "GeoDataFrame", geojson: fc, preview: [{ name: "x" }] } }, "N", "t", src);
  assert.equal(csp(html), "default-src 'none'; img-src data: blob:; style-src 'nonce-N'; script-src 'nonce-N'");
  assert.match(html, /<div id="fused-result-map"><\/div>/);
  assert.match(html, new RegExp(`<script nonce="N" src="${src.replace(/[.+]/g, "\\$&")}"></script>`));
  const json = /<script type="application\/json" id="fused-run">(.*?)<\/script>/.exec(html)?.[1] ?? "";
  assert.doesNotMatch(json, /</);
  const run = JSON.parse(json);
  assert.deepEqual(run.bounds, [2, 48, 3, 49]);
  assert.equal(run.result.geojson.features[0].properties.name, "</script><b>");
  assert.equal(run.result.preview, undefined, "only what the map draws");
  assert.equal(run.viz, undefined);
  // The package's fused:vizConfig travels with the run, for the map to style the features.
  const viz = { vectorLayer: { "@@type": "GeoJsonLayer", getFillColor: "@@=[0, 200, 0]" } };
  const styled = resultHtml("P/P.py", "/w/P/P.py", { ok: true, bounds: [2, 48, 3, 49], result: { geojson: fc } }, "N", "t", src, viz);
  const styledRun = JSON.parse(/<script type="application\/json" id="fused-run">(.*?)<\/script>/.exec(styled)?.[1] ?? "");
  assert.deepEqual(styledRun.viz, viz);
});

test("no map without the bundle, for a failed run, or when nothing is drawable", () => {
  const fc = { type: "FeatureCollection", features: [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [0, 0] } }] };
  const map = /<div id="fused-result-map"/;
  assert.doesNotMatch(resultHtml("P/P.py", "/w/P/P.py", { ok: true, result: { geojson: fc } }, "n", "t"), map);
  assert.doesNotMatch(resultHtml("P/P.py", "/w/P/P.py", { ok: false, result: { geojson: fc }, error: { class: "E" } }, "n", "t", "x.js"), map);
  assert.doesNotMatch(resultHtml("P/P.py", "/w/P/P.py", { ok: true, result: { type: "int", value: 3 } }, "n", "t", "x.js"), map);
  assert.match(resultHtml("R/R.py", "/w/R/R.py", { ok: true, result: { raster: { bounds: [0, 0, 1, 1], png_base64: "iVBO" } } }, "n", "t", "x.js"), map);
});
