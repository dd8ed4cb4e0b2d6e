#!/usr/bin/env bash
# Installs the extension's npm packages (esbuild, TypeScript, vscode-languageclient, vsce,
# playwright-core for the editor test) once per package-lock.json into
# ~/.cache/fused-ls/vscode-ext-<hash> (outside the work tree, as web/build.sh does for the map)
# and links them as extensions/vscode/node_modules. Offline after the first run.
set -euo pipefail
ext="$(cd "$(dirname "$0")/.." && pwd)"
cache_root="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
hash="$(sha256sum "$ext/package-lock.json" | cut -c1-16)"
modules="$cache_root/vscode-ext-$hash"
if [ ! -f "$modules/.complete" ]; then
  echo "vscode: installing the extension's npm packages into $modules (once)" >&2
  rm -rf "$modules.tmp"
  mkdir -p "$modules.tmp"
  cp "$ext/package.json" "$ext/package-lock.json" "$modules.tmp/"
  (cd "$modules.tmp" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts >&2)
  # esbuild's install script only checks its platform binary, which npm ci already placed.
  rm -rf "$modules"
  mv "$modules.tmp" "$modules"
  touch "$modules/.complete"
fi
ln -sfn "$modules/node_modules" "$ext/node_modules"
