// The server's `fused/workerStatus` notification (its warm worker: cold, starting, ready,
// running, failed) as the status bar shows it. Pure: no vscode API, unit-tested.

export interface WorkerStatus {
  state: string;
  python?: string;
  pid?: number;
  message?: string;
}

/** The short suffix of the status bar text, and the tooltip line. */
export function describeWorker(w: WorkerStatus | undefined): { suffix: string; line: string } {
  if (!w) return { suffix: "", line: "worker: (not reported yet)" };
  const where = [w.pid !== undefined ? `pid ${w.pid}` : "", w.python ?? ""].filter(Boolean).join(", ");
  const detail = where ? ` (${where})` : "";
  switch (w.state) {
    case "cold":
      return { suffix: "", line: "worker: cold (the first run starts it)" };
    case "starting":
      return { suffix: " $(loading~spin) warming", line: `worker: starting${detail}` };
    case "ready":
      return { suffix: " $(flame) warm", line: `worker: warm${detail}` };
    case "running":
      return { suffix: "", line: `worker: running${detail}` };
    case "failed":
      return { suffix: " $(warning) worker", line: `worker: failed to start${detail}: ${w.message ?? "no reason given"} (runs use a fresh process)` };
    default:
      return { suffix: "", line: `worker: ${w.state}${detail}` };
  }
}
