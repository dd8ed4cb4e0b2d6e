// Which binary the extension starts (src/serverPath.ts): setting, bundled, PATH, else a message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveServerPath } from "../src/serverPath.ts";

const probe = (existing: string[], pathEntries = ["/usr/bin", "/opt/fused/bin/"]) => ({
  isExecutable: (p: string) => existing.includes(p),
  pathEntries,
});

test("the setting wins when it names an executable", () => {
  const r = resolveServerPath("/x/fused-ls", "/ext/bundled/fused-ls", probe(["/x/fused-ls", "/ext/bundled/fused-ls"]));
  assert.deepEqual(r, { ok: true, path: "/x/fused-ls", source: "setting" });
});

test("a setting that names nothing is an error naming it, not a silent fallback", () => {
  const r = resolveServerPath("/nope/fused-ls", "/ext/bundled/fused-ls", probe(["/ext/bundled/fused-ls"]));
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.message : "", /fused\.path is set to "\/nope\/fused-ls"/);
});

test("then the bundled binary, then PATH in order", () => {
  assert.deepEqual(resolveServerPath(" ", "/ext/bundled/fused-ls", probe(["/ext/bundled/fused-ls", "/usr/bin/fused-ls"])), {
    ok: true, path: "/ext/bundled/fused-ls", source: "bundled",
  });
  assert.deepEqual(resolveServerPath("", "/ext/bundled/fused-ls", probe(["/opt/fused/bin/fused-ls"])), {
    ok: true, path: "/opt/fused/bin/fused-ls", source: "PATH",
  });
});

test("nothing found: the message says how to fix it", () => {
  const r = resolveServerPath("", "/ext/bundled/fused-ls", probe([]));
  assert.equal(r.ok, false);
  const message = !r.ok ? r.message : "";
  assert.match(message, /pip install fused-ls/);
  assert.match(message, /fused\.path/);
});
