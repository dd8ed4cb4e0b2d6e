#!/usr/bin/env bash
# `fused-ls serve`: 16 tiles (a 4x4 block at z=14) of a geopandas UDF returning 2,000 buffered
# points per tile, requested concurrently from a cold cache as GeoJSON and as MVT, then once more
# (cached), beside the SDK's own warm loop in one process (`fused.run(udf, x=, y=, z=,
# engine="local", cache=False)` then `gdf.to_json()` per tile). Uses the SDK venv of
# tests/sdk/setup.sh (fused 2.9.5 + geopandas), created once and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p fused_ls >&2
python="$(bash tests/sdk/setup.sh)"
exec python3 bench/serve_bench.py "$PWD/target/release/fused-ls" "$python" "$@"
