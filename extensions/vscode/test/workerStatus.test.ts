// The warm worker's state in the status bar (src/workerStatus.ts), from `fused/workerStatus`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeWorker } from "../src/workerStatus.ts";

test("each state the server sends, as the status bar shows it", () => {
  assert.deepEqual(describeWorker(undefined), { suffix: "", line: "worker: (not reported yet)" });
  assert.deepEqual(describeWorker({ state: "cold" }), { suffix: "", line: "worker: cold (the first run starts it)" });
  assert.deepEqual(describeWorker({ state: "starting", python: "/v/bin/python" }), {
    suffix: " $(loading~spin) warming",
    line: "worker: starting (/v/bin/python)",
  });
  assert.deepEqual(describeWorker({ state: "ready", pid: 42, python: "/v/bin/python" }), {
    suffix: " $(flame) warm",
    line: "worker: warm (pid 42, /v/bin/python)",
  });
  const failed = describeWorker({ state: "failed", python: "/nope", message: "no such file" });
  assert.equal(failed.suffix, " $(warning) worker");
  assert.match(failed.line, /failed to start \(\/nope\): no such file \(runs use a fresh process\)/);
  // A state a newer server may add is shown as it is, never dropped.
  assert.equal(describeWorker({ state: "paused" }).line, "worker: paused");
});
