// The menus package.json contributes: where each command shows and what guards it (the Explorer on
// a package folder or meta.json, the editor's context menu and title on a Python UDF; runs and the
// map only in a trusted workspace).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

type Item = { command: string; when?: string; group?: string };
// scripts/unit.sh runs the tests from the extension's folder (tsc's CommonJS setting forbids import.meta).
const pkg = JSON.parse(fs.readFileSync(path.resolve("package.json"), "utf8"));
const menus: Record<string, Item[]> = pkg.contributes.menus;
const commands = new Map<string, { icon?: string }>(pkg.contributes.commands.map((c: { command: string }) => [c.command, c]));
const entry = (menu: string, command: string) => menus[menu]?.find((i) => i.command === command);

test("every menu entry names a contributed command", () => {
  for (const [menu, items] of Object.entries(menus)) {
    for (const i of items) assert.ok(commands.has(i.command), `${menu}: ${i.command}`);
  }
});

test("Explorer: Sync meta.json, Pack to Zip and Preview on Map on a package folder or its meta.json", () => {
  for (const c of ["fused.syncMeta", "fused.pack", "fused.previewMap"]) {
    const e = entry("explorer/context", c);
    assert.ok(e, c);
    assert.match(e.when!, /resourceFilename == meta\.json/);
    assert.match(e.when!, /explorerResourceIsFolder && resourcePath in fused\.packageFolders/);
    assert.match(e.when!, /^fused\.active && \(/, "the parenthesis keeps fused.active on both branches");
  }
  assert.match(entry("explorer/context", "fused.previewMap")!.when!, /isWorkspaceTrusted/);
  assert.doesNotMatch(entry("explorer/context", "fused.pack")!.when!, /isWorkspaceTrusted/, "packing runs no code");
});

test("editor: Run UDF, Run as Tile, Preview on Map on Python files, trusted only; the title's on a package's UDF, with icons", () => {
  for (const c of ["fused.runUdf", "fused.runTile", "fused.previewMap"]) {
    const e = entry("editor/context", c);
    assert.ok(e, c);
    assert.match(e.when!, /resourceLangId == python/);
    assert.match(e.when!, /isWorkspaceTrusted/);
  }
  for (const c of ["fused.runUdf", "fused.previewMap"]) {
    const e = entry("editor/title", c);
    assert.ok(e, c);
    assert.match(e.when!, /resourceLangId == python && fused\.active && isWorkspaceTrusted && resourceDirname in fused\.packageFolders/);
    assert.match(e.group!, /^navigation/);
    assert.match(commands.get(c)!.icon ?? "", /^\$\(\w+\)$/);
  }
});

test("the palette hides the history's internal command", () => {
  assert.equal(entry("commandPalette", "fused.rerunFromHistory")?.when, "false");
});
