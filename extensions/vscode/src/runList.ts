// The runs the "Fused Runs" view lists, as plain data: newest first, at most MAX_RUNS, kept in the
// workspace's state between sessions (so what is read back is checked entry by entry: a state
// written by another version, or edited, costs its bad entries only). Pure (no vscode import),
// unit-tested (test/runList.test.ts); src/runHistory.ts shows it as a tree.
import type { RunArgs } from "./runArgs";
import type { RunResult } from "./resultText";

export type PastRun = {
  args: RunArgs;
  /** The UDF's file name without `.py`. */
  name: string;
  ok: boolean;
  /** The UDF's own time. */
  ms?: number;
  /** When it finished, epoch milliseconds. */
  at: number;
  /** The result's type, or the error's class and message. */
  detail: string;
};

export const MAX_RUNS = 50;

/** A finished run as the list keeps it. */
export function pastRun(args: RunArgs, r: RunResult, at: number): PastRun {
  const detail = r.ok ? (r.result?.type ?? "ok") : `${r.error?.class ?? "Error"}: ${r.error?.message ?? ""}`;
  const run: PastRun = { args, name: udfName(args.uri), ok: r.ok, at, detail: detail.slice(0, 500) };
  // Only when known: the state is JSON, where an undefined key would not come back.
  if (typeof r.elapsed_ms === "number") run.ms = r.elapsed_ms;
  return run;
}

/** The list with `run` first, bounded. */
export function addRun(runs: readonly PastRun[], run: PastRun, max = MAX_RUNS): PastRun[] {
  return [run, ...runs].slice(0, max);
}

/** What the workspace state held, kept where it is a run this version can re-run. */
export function restoreRuns(raw: unknown, max = MAX_RUNS): PastRun[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(isPastRun).slice(0, max);
}

function isPastRun(v: unknown): v is PastRun {
  const r = v as PastRun;
  return (
    !!r &&
    typeof r === "object" &&
    !!r.args &&
    typeof r.args.uri === "string" &&
    (r.args.mode === "file" || r.args.mode === "tile") &&
    typeof r.name === "string" &&
    typeof r.ok === "boolean" &&
    typeof r.at === "number" &&
    typeof r.detail === "string" &&
    (r.ms === undefined || typeof r.ms === "number") &&
    (r.args.params === undefined || (typeof r.args.params === "object" && r.args.params !== null))
  );
}

/** The view's row: the UDF's name, then `file` or `tile z/x/y`, ok or error, its time. */
export function runDescription(run: PastRun): string {
  const ms = run.ms !== undefined ? ` · ${Math.round(run.ms)} ms` : "";
  return `${where(run)} · ${run.ok ? "ok" : "error"}${ms}`;
}

/** The row's tooltip: when (the date too when not today), the result or error, the params. */
export function runTooltip(run: PastRun, now = Date.now()): string {
  const d = new Date(run.at);
  const today = new Date(now).toDateString() === d.toDateString();
  const when = today ? d.toLocaleTimeString() : d.toLocaleString();
  const params = run.args.params && Object.keys(run.args.params).length ? `\nparams: ${JSON.stringify(run.args.params)}` : "";
  return `${run.name} (${where(run)}) at ${when}\n${run.detail}${params}\nClick to run it again with the same arguments.`;
}

function where(run: PastRun): string {
  const a = run.args;
  if (a.mode !== "tile") return "file";
  if (a.tile) return `tile ${a.tile}`;
  if (a.bbox) return `tile bbox ${a.bbox.join(" ")}`;
  if (a.lat !== undefined && a.lng !== undefined) return `tile ${a.lat} ${a.lng} z${a.z}`;
  return "tile";
}

function udfName(uri: string): string {
  const last = uri.split(/[\\/]/).pop() ?? uri;
  let name = last;
  try {
    name = decodeURIComponent(last);
  } catch {
    // Not percent-encoded: the segment as it is.
  }
  return name.replace(/\.py$/, "");
}
