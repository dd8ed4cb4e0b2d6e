#!/usr/bin/env bash
# Creates (once) the virtualenv with the real Fused SDK (and what its Tile mode needs:
# geopandas, shapely, mercantile; xarray, pinned, for the runner's raster results) that the SDK
# tests and the runner parity suite use, and prints its python. Cached at
# ${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}/sdk-venv.
set -euo pipefail
. "$(dirname "$0")/../../scripts/cache-lock.sh"
cache="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
venv="$cache/sdk-venv"
xarray=2026.9.0
ready() {
  "$venv/bin/python" -c "import fused, geopandas, shapely, mercantile, xarray, sys; sys.exit(fused.__version__ != '2.9.5' or xarray.__version__ != '$xarray')" >/dev/null 2>&1
}
if ! ready; then
  cache_lock sdk-venv
fi
if ! ready; then
  "$venv/bin/python" -m pip --version >/dev/null 2>&1 || { rm -rf "$venv"; python3 -m venv "$venv" >&2; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "fused==2.9.5" geopandas shapely mercantile "xarray==$xarray" >&2
  ready || { echo "error: the SDK venv at $venv is not usable after install" >&2; exit 1; }
fi
echo "$venv/bin/python"
