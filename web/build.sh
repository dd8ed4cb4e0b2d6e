#!/usr/bin/env bash
# Builds the map page (web/map/dist/map.js) from npm packages with esbuild. The packages are
# installed once per package-lock.json into ~/.cache/fused-ls/web-<hash> (outside the work tree)
# and linked as web/map/node_modules. Offline after the first run. Prints the bundle's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
map="$here/map"
cache_root="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
hash="$(sha256sum "$map/package-lock.json" | cut -c1-16)"
modules="$cache_root/web-$hash"
if [ ! -f "$modules/.complete" ]; then
  echo "web: installing the map's npm packages into $modules (once)" >&2
  rm -rf "$modules.tmp"
  mkdir -p "$modules.tmp"
  cp "$map/package.json" "$map/package-lock.json" "$modules.tmp/"
  (cd "$modules.tmp" && npm ci --no-audit --no-fund --loglevel=error >&2)
  rm -rf "$modules"
  mv "$modules.tmp" "$modules"
  touch "$modules/.complete"
fi
ln -sfn "$modules/node_modules" "$map/node_modules"
node "$map/build.mjs" >&2
echo "$map/dist/map.js"
