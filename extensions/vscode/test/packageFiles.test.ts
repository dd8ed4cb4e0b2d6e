// Which .py of a package the Explorer's commands act on (src/packageFiles.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { packageUdfFile, packageVizConfig } from "../src/packageFiles.ts";

const meta = (source: unknown) => JSON.stringify({ job_config: { steps: [{ type: "udf", udf: { name: "X", source } }] } });

test("meta.json's source, when that file is in the folder", () => {
  assert.equal(packageUdfFile(meta("main.py"), "Pkg", ["main.py", "Pkg.py", "meta.json"]), "main.py");
  assert.equal(packageUdfFile(meta("gone.py"), "Pkg", ["Pkg.py", "meta.json"]), "Pkg.py");
  assert.equal(packageUdfFile(meta("../escape.py"), "Pkg", ["other.py"]), "other.py");
});

test("else <folder>.py, else the only .py that is not utils.py", () => {
  assert.equal(packageUdfFile(undefined, "Pkg", ["utils.py", "Pkg.py"]), "Pkg.py");
  assert.equal(packageUdfFile("{ not json", "Pkg", ["utils.py", "udf.py", "meta.json"]), "udf.py");
  assert.equal(packageUdfFile(undefined, "Pkg", ["a.py", "b.py"]), undefined);
  assert.equal(packageUdfFile(undefined, "Pkg", ["utils.py", "meta.json"]), undefined);
});

test("the package's fused:vizConfig, from its first UDF step's metadata", () => {
  const viz = { vectorLayer: { "@@type": "GeoJsonLayer", getFillColor: "@@=[0, 200, 0]" } };
  const withViz = JSON.stringify({ job_config: { steps: [{ type: "udf", udf: { name: "X", metadata: { "fused:vizConfig": viz } } }] } });
  assert.deepEqual(packageVizConfig(withViz), viz);
  assert.equal(packageVizConfig(meta("X.py")), undefined);
  assert.equal(packageVizConfig("{ not json"), undefined);
  assert.equal(packageVizConfig(undefined), undefined);
  const notObject = JSON.stringify({ job_config: { steps: [{ udf: { metadata: { "fused:vizConfig": [1] } } }] } });
  assert.equal(packageVizConfig(notObject), undefined);
});
