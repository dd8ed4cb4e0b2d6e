#!/usr/bin/env bash
# Usage: scripts/npm-cached.sh DIR NAME [npm ci options...]
# Installs DIR's npm packages (DIR/package.json + package-lock.json) once per lock file into
# ~/.cache/fused-ls/NAME-<hash of the lock> (outside the work tree) and links them as
# DIR/node_modules. Offline after the first run; an interrupted install is redone, never used.
set -euo pipefail
dir="$(cd "$1" && pwd)"
name="$2"
shift 2
cache_root="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
hash="$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
modules="$cache_root/$name-$hash"
. "$(dirname "$0")/cache-lock.sh"
if [ ! -f "$modules/.complete" ]; then
  cache_lock "$name-$hash"
fi
if [ ! -f "$modules/.complete" ]; then
  echo "$name: installing npm packages into $modules (once)" >&2
  rm -rf "$modules.tmp"
  mkdir -p "$modules.tmp"
  cp "$dir/package.json" "$dir/package-lock.json" "$modules.tmp/"
  (cd "$modules.tmp" && npm ci --no-audit --no-fund --loglevel=error "$@" >&2)
  rm -rf "$modules"
  mv "$modules.tmp" "$modules"
  touch "$modules/.complete"
fi
ln -sfn "$modules/node_modules" "$dir/node_modules"
