// The "Fused Runs" tree view: the workspace's runs, newest first (name, mode, ok/error, time),
// kept in the workspace's state so they survive a reload or a new session (src/runList.ts holds
// the list's logic); a click runs the same UDF again with the same arguments (tile, bounds, params).
import * as vscode from "vscode";
import type { RunArgs } from "./runArgs";
import type { RunResult } from "./resultText";
import { addRun, pastRun, PastRun, restoreRuns, runDescription, runTooltip } from "./runList";

const KEY = "fused.runs";

export class RunHistory implements vscode.TreeDataProvider<PastRun> {
  private runs: PastRun[];
  private changed = new vscode.EventEmitter<PastRun | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private store: vscode.Memento) {
    this.runs = restoreRuns(store.get(KEY));
  }

  add(args: RunArgs, r: RunResult): void {
    this.runs = addRun(this.runs, pastRun(args, r, Date.now()));
    void this.store.update(KEY, this.runs);
    this.changed.fire(undefined);
  }

  /** The newest run's arguments (Re-run Last after a reload). */
  newest(): RunArgs | undefined {
    return this.runs[0]?.args;
  }

  getChildren(el?: PastRun): PastRun[] {
    return el ? [] : this.runs;
  }

  getTreeItem(run: PastRun): vscode.TreeItem {
    const item = new vscode.TreeItem(run.name, vscode.TreeItemCollapsibleState.None);
    item.description = runDescription(run);
    item.iconPath = new vscode.ThemeIcon(run.ok ? "pass" : "error");
    item.tooltip = runTooltip(run);
    item.command = { command: "fused.rerunFromHistory", title: "Run Again", arguments: [run.args] };
    return item;
  }
}
