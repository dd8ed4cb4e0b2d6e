#!/usr/bin/env bash
# Installs the extension's npm packages (esbuild, TypeScript, vscode-languageclient, vsce,
# playwright-core for the editor test) once per package-lock.json into
# ~/.cache/fused-ls/vscode-ext-<hash> (outside the work tree, as web/build.sh does for the map)
# and links them as extensions/vscode/node_modules. Offline after the first run.
set -euo pipefail
ext="$(cd "$(dirname "$0")/.." && pwd)"
# esbuild's install script only checks its platform binary, which npm ci already places.
bash "$ext/../../scripts/npm-cached.sh" "$ext" vscode-ext --ignore-scripts
