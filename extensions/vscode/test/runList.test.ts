// The Runs view's list (src/runList.ts): newest first, bounded, restored from the workspace state
// entry by entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addRun, MAX_RUNS, pastRun, restoreRuns, runDescription, runTooltip } from "../src/runList.ts";

const ok = { ok: true, elapsed_ms: 12.6, result: { type: "GeoDataFrame" } };
const failed = { ok: false, error: { class: "ValueError", message: "no data" } };

test("a run as the list keeps it: name from the URI, ok or the error, the UDF's time", () => {
  const r = pastRun({ uri: "file:///w/My%20Udf/My%20Udf.py", mode: "tile", tile: "13/2411/3079" }, ok, 1000);
  assert.deepEqual(r, { args: { uri: "file:///w/My%20Udf/My%20Udf.py", mode: "tile", tile: "13/2411/3079" }, name: "My Udf", ok: true, at: 1000, detail: "GeoDataFrame", ms: 12.6 });
  assert.equal(runDescription(r), "tile 13/2411/3079 · ok · 13 ms");
  const e = pastRun({ uri: "file:///w/E/E.py", mode: "file" }, failed, 2000);
  assert.equal(e.detail, "ValueError: no data");
  assert.equal(runDescription(e), "file · error");
  assert.equal(runDescription(pastRun({ uri: "file:///a.py", mode: "tile", bbox: [0, 1, 2, 3] }, ok, 0)), "tile bbox 0 1 2 3 · ok · 13 ms");
});

test("newest first, at most MAX_RUNS", () => {
  let list = [] as ReturnType<typeof restoreRuns>;
  for (let i = 0; i < MAX_RUNS + 7; i++) list = addRun(list, pastRun({ uri: `file:///w/U${i}.py`, mode: "file" }, ok, i));
  assert.equal(list.length, MAX_RUNS);
  assert.equal(list[0].name, `U${MAX_RUNS + 6}`);
  assert.equal(list.at(-1)!.name, "U7");
});

test("restored from the workspace state as saved (JSON), bad entries dropped, bounded", () => {
  const saved = [pastRun({ uri: "file:///w/A.py", mode: "tile", tile: "1/0/0", params: { n: "3" } }, ok, 5), pastRun({ uri: "file:///w/B.py", mode: "file" }, failed, 4)];
  const back = restoreRuns(JSON.parse(JSON.stringify(saved)));
  assert.deepEqual(back, saved);
  assert.deepEqual(restoreRuns(undefined), []);
  assert.deepEqual(restoreRuns({ runs: saved }), []);
  const mixed = restoreRuns([null, 3, { name: "x" }, { ...saved[0], args: { uri: "file:///c.py", mode: "other" } }, { ...saved[1], at: "yesterday" }, saved[1]]);
  assert.deepEqual(mixed, [saved[1]]);
  assert.equal(restoreRuns(Array(80).fill(saved[0])).length, MAX_RUNS);
});

test("the tooltip: the time today, the date on another day, the params", () => {
  const at = new Date(2026, 0, 2, 15, 4, 5).getTime();
  const r = pastRun({ uri: "file:///w/A.py", mode: "file", params: { n: "3" } }, ok, at);
  const today = runTooltip(r, at + 1000);
  assert.match(today, /^A \(file\) at /);
  assert.ok(today.includes(new Date(at).toLocaleTimeString()));
  assert.match(today, /params: \{"n":"3"\}/);
  assert.ok(runTooltip(r, at + 3 * 86_400_000).includes(new Date(at).toLocaleString()));
});
