#!/usr/bin/env bash
# Creates (once) the virtualenv with the real Fused SDK that the SDK tests load packages with,
# and prints its python. Cached at ${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}/sdk-venv.
set -euo pipefail
cache="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
venv="$cache/sdk-venv"
if ! "$venv/bin/python" -c "import fused, sys; sys.exit(fused.__version__ != '2.9.5')" >/dev/null 2>&1; then
  mkdir -p "$cache"
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "fused==2.9.5" >&2
fi
echo "$venv/bin/python"
