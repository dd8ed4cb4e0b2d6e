#!/usr/bin/env bash
# Builds the map page (web/map/dist/map.js) from npm packages with esbuild. The packages are
# installed once per package-lock.json into ~/.cache/fused-ls/web-<hash> (outside the work tree)
# and linked as web/map/node_modules. Offline after the first run. Prints the bundle's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
map="$here/map"
bash "$here/../scripts/npm-cached.sh" "$map" web
node "$map/build.mjs" >&2
echo "$map/dist/map.js"
