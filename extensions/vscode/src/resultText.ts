// A run's result (the `fused-ls run --format json` contract, as `fused/runResult` carries it) as
// the plain text the "Fused Run Output" channel shows. Pure, unit-tested (test/resultText.test.ts).

export type RunResult = {
  ok: boolean;
  mode?: string;
  tile?: unknown;
  bounds?: unknown;
  params?: Record<string, unknown>;
  elapsed_ms?: number;
  wall_ms?: number;
  stdout?: string;
  stderr?: string;
  python?: string;
  result?: {
    type?: string;
    rows?: number;
    columns?: string[];
    crs?: string | null;
    total_bounds?: number[] | null;
    geojson?: { features?: unknown[] } | null;
    geojson_truncated?: boolean;
    preview?: Record<string, unknown>[] | null;
    raster?: { width?: number; height?: number; bounds?: number[]; png_base64?: string } | null;
    value?: unknown;
  } | null;
  error?: {
    class?: string;
    message?: string;
    line?: number | null;
    traceback?: string;
    diagnostics?: { path?: string; code?: string; message?: string; line?: number; column?: number }[];
  } | null;
};

const MAX_ROWS = 20;
const MAX_CELL = 40;

export function formatRunResult(file: string, r: RunResult): string {
  const out: string[] = [];
  const where = r.mode === "tile" ? `tile run${r.tile ? ` ${tileText(r.tile)}` : ""}` : "file run";
  const time = r.elapsed_ms !== undefined ? ` in ${Math.round(r.elapsed_ms)} ms` : "";
  if (r.ok) {
    out.push(`${file}: ${where} ok${time}`);
    const res = r.result ?? {};
    if (res.type) out.push(`  type: ${res.type}`);
    if (res.rows !== undefined) out.push(`  rows: ${res.rows}`);
    if (res.columns?.length) out.push(`  columns: ${res.columns.join(", ")}`);
    if (res.crs) out.push(`  crs: ${res.crs}`);
    if (res.total_bounds) out.push(`  bounds: [${res.total_bounds.join(", ")}]`);
    if (res.geojson?.features) {
      out.push(`  features: ${res.geojson.features.length}${res.geojson_truncated ? " (truncated)" : ""}`);
    }
    if (res.raster) out.push(`  raster: ${res.raster.width}×${res.raster.height} at [${(res.raster.bounds ?? []).join(", ")}]`);
    if (res.preview?.length) out.push(...table(res.preview));
    else if (res.value !== undefined) out.push(`  value: ${JSON.stringify(res.value)}`);
  } else {
    const e = r.error ?? {};
    out.push(`${file}: ${where} failed${time}: ${e.class ?? "Error"}: ${e.message ?? ""}`);
    if (e.line) out.push(`  at line ${e.line}`);
    for (const d of e.diagnostics ?? []) {
      out.push(`  ${d.path}:${d.line}:${d.column}: ${d.code} ${d.message}`);
    }
    if (e.traceback) out.push(...e.traceback.trimEnd().split("\n").map((l) => `  ${l}`));
  }
  if (r.params && Object.keys(r.params).length) out.push(`  params: ${JSON.stringify(r.params)}`);
  if (r.stdout) out.push("  stdout:", ...r.stdout.trimEnd().split("\n").map((l) => `    ${l}`));
  if (r.stderr) out.push("  stderr:", ...r.stderr.trimEnd().split("\n").map((l) => `    ${l}`));
  if (r.python) out.push(`  python: ${r.python}`);
  return out.join("\n");
}

/** The result's tile (`{x, y, z}` in the run contract) as z/x/y. */
function tileText(t: unknown): string {
  if (typeof t === "string") return t;
  const o = t as { x?: unknown; y?: unknown; z?: unknown };
  if (o && typeof o === "object" && o.z !== undefined) return `${o.z}/${o.x}/${o.y}`;
  return JSON.stringify(t);
}

/** The preview rows as an aligned text table (at most MAX_ROWS rows, cells cut at MAX_CELL). */
function table(rows: Record<string, unknown>[]): string[] {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => {
    const s = typeof v === "string" ? v : JSON.stringify(v) ?? "";
    const flat = s.replace(/\s+/g, " ");
    return flat.length > MAX_CELL ? flat.slice(0, MAX_CELL - 1) + "…" : flat;
  };
  const shown = rows.slice(0, MAX_ROWS);
  const grid = [cols, ...shown.map((r) => cols.map((c) => cell(r[c])))];
  const widths = cols.map((_, i) => Math.max(...grid.map((g) => g[i].length)));
  const lines = grid.map((g) => "  | " + g.map((v, i) => v.padEnd(widths[i])).join(" | ") + " |");
  lines.splice(1, 0, "  |" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  if (rows.length > shown.length) lines.push(`  … ${rows.length - shown.length} more rows`);
  return lines;
}
