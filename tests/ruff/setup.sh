#!/usr/bin/env bash
# Creates (once) the virtualenv with PyPI ruff that the undefined-name parity test uses as its
# oracle (`ruff check --select F821`), and prints the ruff binary. Cached at
# ${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}/ruff-venv: the same venv, and the same version,
# bench/lsp.sh compares against, so either one installs it for both.
set -euo pipefail
. "$(dirname "$0")/../../scripts/cache-lock.sh"
version="${RUFF_VERSION:-0.17.6}"
cache="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
venv="$cache/ruff-venv"
# `ruff --version` is the readiness test, so a half-finished install is never taken for a
# ready one: it is simply redone.
ready() { [ "$("$venv/bin/ruff" --version 2>/dev/null)" = "ruff $version" ]; }
if ! ready; then
  cache_lock ruff-venv
fi
if ! ready; then
  "$venv/bin/python" -m pip --version >/dev/null 2>&1 || { rm -rf "$venv"; python3 -m venv "$venv" >&2; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "ruff==$version" >&2
  ready || { echo "error: the ruff venv at $venv is not usable after install" >&2; exit 1; }
fi
echo "$venv/bin/ruff"
