// "Run as Tile" input → `fused.run` arguments (src/runArgs.ts), with Node's test runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeSpec, parseTileSpec, runArgs, specText } from "../src/runArgs.ts";

test("z/x/y in its usual spellings", () => {
  for (const input of ["13/2411/3079", " 13 / 2411 / 3079 ", "13 2411 3079", "13,2411,3079"]) {
    assert.deepEqual(parseTileSpec(input), { kind: "tile", tile: "13/2411/3079" }, input);
  }
});

test("lat lng z when a coordinate has a fraction", () => {
  assert.deepEqual(parseTileSpec("40.73 -74.02 13"), { kind: "latlng", lat: 40.73, lng: -74.02, z: 13 });
  assert.deepEqual(parseTileSpec("40.73, -74.02, 13"), { kind: "latlng", lat: 40.73, lng: -74.02, z: 13 });
});

test("a bbox of four numbers", () => {
  assert.deepEqual(parseTileSpec("-74.05 40.71 -74.0 40.75"), { kind: "bbox", bbox: [-74.05, 40.71, -74.0, 40.75] });
});

test("empty input: the server's default tile", () => {
  assert.deepEqual(parseTileSpec("  "), { kind: "default" });
  assert.deepEqual(runArgs("file:///a/A.py", { kind: "default" }), { uri: "file:///a/A.py", mode: "tile" });
});

test("errors say what is wrong", () => {
  const err = (s: string) => {
    const r = parseTileSpec(s);
    assert.ok("error" in r, `${s} should fail`);
    return r.error;
  };
  assert.match(err("13/abc/1"), /not numbers/);
  assert.match(err("2/5/1"), /0–3/);
  assert.match(err("31/0/0"), /zoom/);
  assert.match(err("13/1.5/2"), /integers/);
  assert.match(err("95.5 10 3"), /latitude/);
  assert.match(err("45.5 190 3"), /longitude/);
  assert.match(err("45.5 10 3.5"), /zoom/);
  assert.match(err("1 1 0 0"), /minx < maxx/);
  assert.match(err("1 2"), /got 2/);
});

test("runArgs: File and Tile runs as the server's fused.run reads them", () => {
  assert.deepEqual(runArgs("file:///p/P.py"), { uri: "file:///p/P.py", mode: "file" });
  assert.deepEqual(runArgs("file:///p/P.py", { kind: "tile", tile: "1/0/1" }), { uri: "file:///p/P.py", mode: "tile", tile: "1/0/1" });
  assert.deepEqual(runArgs("file:///p/P.py", { kind: "latlng", lat: 1.5, lng: 2, z: 3 }), {
    uri: "file:///p/P.py", mode: "tile", lat: 1.5, lng: 2, z: 3,
  });
  assert.deepEqual(runArgs("file:///p/P.py", { kind: "bbox", bbox: [0, 1, 2, 3] }, { year: "2020" }), {
    uri: "file:///p/P.py", mode: "tile", bbox: [0, 1, 2, 3], params: { year: "2020" },
  });
  assert.equal("params" in runArgs("file:///p/P.py", undefined, {}), false);
});

test("specText reads back as the same spec (the remembered last entry)", () => {
  for (const input of ["13/2411/3079", "40.73 -74.02 13", "-74.05 40.71 -74 40.75", ""]) {
    const spec = parseTileSpec(input);
    assert.ok(!("error" in spec));
    assert.deepEqual(parseTileSpec(specText(spec)), spec);
    assert.ok(describeSpec(spec).length > 0);
  }
});
