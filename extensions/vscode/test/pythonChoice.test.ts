// The interpreter handed to the server (src/pythonChoice.ts): fused.python > the Python
// extension's selection > the server's discovery; never the extension's in an untrusted workspace.
import { test } from "node:test";
import assert from "node:assert/strict";
import { activeInterpreter, choosePython } from "../src/pythonChoice.ts";

test("the setting wins, and the Python extension is then not asked", async () => {
  let asked = 0;
  const ext = async () => (asked++, "/venv/bin/python");
  assert.deepEqual(await choosePython("/opt/py/bin/python3", true, ext), { python: "/opt/py/bin/python3", source: "fused.python" });
  assert.equal(asked, 0);
});

test("no setting: the Python extension's interpreter; none or a failure: the server's discovery", async () => {
  assert.deepEqual(await choosePython("", true, async () => "/venv/bin/python"), { python: "/venv/bin/python", source: "Python extension" });
  assert.deepEqual(await choosePython(undefined, true, async () => undefined), { source: "server discovery" });
  assert.deepEqual(await choosePython("  ", true, async () => { throw new Error("not activated"); }), { source: "server discovery" });
});

test("untrusted: the setting (a user setting: workspace values are restricted) but never the extension's", async () => {
  assert.deepEqual(await choosePython("", false, async () => "/ws/.venv/bin/python"), { source: "server discovery" });
  assert.deepEqual(await choosePython("/usr/bin/python3", false, async () => "x"), { python: "/usr/bin/python3", source: "fused.python" });
});

test("the API's shape: resolved executable, else the active path, else nothing", async () => {
  const api = (resolved: unknown, active: unknown = { id: "e", path: "/envs/e" }) => ({
    environments: { getActiveEnvironmentPath: () => active as { path: string }, resolveEnvironment: async () => resolved as undefined },
  });
  assert.equal(await activeInterpreter(api({ executable: { uri: { fsPath: "/envs/e/bin/python" } } })), "/envs/e/bin/python");
  assert.equal(await activeInterpreter(api(undefined)), "/envs/e");
  assert.equal(await activeInterpreter(api(undefined, null)), undefined);
  assert.equal(await activeInterpreter({}), undefined);
  assert.equal(await activeInterpreter(undefined), undefined);
});
