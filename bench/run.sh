#!/usr/bin/env bash
# Warm runs: the second run of a geopandas UDF through fused-ls's warm worker vs the SDK's own
# `python -c "import fused; fused.load(p).run_local()"`, side by side. Uses the SDK venv of
# tests/sdk/setup.sh (fused 2.9.5 + geopandas), created once and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p fused_ls >&2
python="$(bash tests/sdk/setup.sh)"
exec python3 bench/run_bench.py "$PWD/target/release/fused-ls" "$python" "$@"
