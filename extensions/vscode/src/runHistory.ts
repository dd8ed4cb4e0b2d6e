// The "Fused Runs" tree view: this window's runs, newest first (name, mode, ok/error, time); a
// click runs the same UDF again with the same arguments (tile, bounds, params).
import * as vscode from "vscode";
import * as path from "node:path";
import type { RunArgs } from "./runArgs";
import type { RunResult } from "./resultText";

export type PastRun = { args: RunArgs; name: string; ok: boolean; ms?: number; when: string; detail: string };

const MAX = 50;

export class RunHistory implements vscode.TreeDataProvider<PastRun> {
  private runs: PastRun[] = [];
  private changed = new vscode.EventEmitter<PastRun | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  add(args: RunArgs, r: RunResult, when: string): void {
    const name = path.basename(vscode.Uri.parse(args.uri).fsPath, ".py");
    const detail = r.ok ? (r.result?.type ?? "ok") : `${r.error?.class ?? "Error"}: ${r.error?.message ?? ""}`;
    this.runs.unshift({ args, name, ok: r.ok, ms: r.elapsed_ms, when, detail });
    this.runs.length = Math.min(this.runs.length, MAX);
    this.changed.fire(undefined);
  }

  getChildren(el?: PastRun): PastRun[] {
    return el ? [] : this.runs;
  }

  getTreeItem(run: PastRun): vscode.TreeItem {
    const item = new vscode.TreeItem(run.name, vscode.TreeItemCollapsibleState.None);
    const where = run.args.mode === "tile" ? `tile${run.args.tile ? ` ${run.args.tile}` : ""}` : "file";
    const ms = run.ms !== undefined ? ` · ${Math.round(run.ms)} ms` : "";
    item.description = `${where} · ${run.ok ? "ok" : "error"}${ms}`;
    item.iconPath = new vscode.ThemeIcon(run.ok ? "pass" : "error");
    const params = run.args.params && Object.keys(run.args.params).length ? `\nparams: ${JSON.stringify(run.args.params)}` : "";
    item.tooltip = `${run.name} (${where}) at ${run.when}\n${run.detail}${params}\nClick to run it again with the same arguments.`;
    item.command = { command: "fused.rerunFromHistory", title: "Run Again", arguments: [run.args] };
    return item;
  }
}
