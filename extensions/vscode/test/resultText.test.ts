// A run result as the "Fused Run Output" channel shows it (src/resultText.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatRunResult } from "../src/resultText.ts";

test("a table result: summary and aligned preview rows", () => {
  const text = formatRunResult("P/P.py", {
    ok: true, mode: "file", elapsed_ms: 36.4, params: {}, stdout: "hello\n", python: "/v/bin/python",
    result: {
      type: "geopandas.geodataframe.GeoDataFrame", rows: 1, columns: ["name", "size", "geometry"], crs: "EPSG:4326",
      total_bounds: [2.34, 48.84, 2.36, 48.86], geojson: { features: [{}] }, geojson_truncated: false,
      preview: [{ name: "paris", size: 0.01 }],
    },
  });
  assert.equal(text, [
    "P/P.py: file run ok in 36 ms",
    "  type: geopandas.geodataframe.GeoDataFrame",
    "  rows: 1",
    "  columns: name, size, geometry",
    "  crs: EPSG:4326",
    "  bounds: [2.34, 48.84, 2.36, 48.86]",
    "  features: 1",
    "  | name  | size |",
    "  |-------|------|",
    "  | paris | 0.01 |",
    "  stdout:",
    "    hello",
    "  python: /v/bin/python",
  ].join("\n"));
});

test("long cells are cut and extra rows counted", () => {
  const rows = Array.from({ length: 25 }, (_, i) => ({ i, text: "x".repeat(100) }));
  const text = formatRunResult("a.py", { ok: true, result: { preview: rows } });
  assert.match(text, /x{39}…/);
  assert.match(text, /… 5 more rows/);
});

test("a failed run: class, message, line, check diagnostics, traceback", () => {
  const text = formatRunResult("F/F.py", {
    ok: false, mode: "tile", tile: { x: 1, y: 2, z: 13 },
    error: {
      class: "CheckFailed", message: "found 1 error", line: null,
      diagnostics: [{ path: "F/F.py", code: "FUSED050", message: "missing", line: 39, column: 27 }],
      traceback: "Traceback...\nValueError: x\n",
    },
  });
  assert.match(text, /^F\/F\.py: tile run 13\/1\/2 failed: CheckFailed: found 1 error/);
  assert.match(text, /F\/F\.py:39:27: FUSED050 missing/);
  assert.match(text, /ValueError: x/);
});
