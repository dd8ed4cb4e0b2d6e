#!/usr/bin/env bash
# LSP benchmark: `fused-ls server` side by side with `ruff server`, one harness
# (bench/lsp_bench.py) over stdio on the same generated UDF files. See bench/README.md.
#
#   bash bench/lsp.sh
#
# Environment (all optional):
#   BENCH_SIZES="300 5000"  lines of the generated UDF files (one package each)
#   BENCH_EDITS=100         single-character edits per session
#   BENCH_RUNS=3            fresh sessions per server and file (servers interleaved)
#   BENCH_INIT_SAMPLES=10   extra start/initialize/shutdown cycles per server and file
#   BENCH_SEED=1            generator seed (the files are a pure function of sizes and seed)
#   BENCH_TIMEOUT=30        seconds to wait for any one answer before giving up on a server
#   BENCH_RUFF=0            skip the ruff column
#   BENCH_KEEP=1            keep the temp dir (files, server logs, figures.json) and print its path
#   BENCH_ENFORCE=1         exit 1 when the goal is not met
#   BENCH_MANY=1000         also open this many 300-line (~10 KB) files in one folder at once:
#                           time to publish them all, peak RSS, edit latency (0: skip)
#   FUSED_LS_BIN=path       use this binary instead of building target/release/fused-ls
#   RUFF_BIN=path           use this ruff instead of the cached venv
#   RUFF_VERSION=0.17.6     the ruff the venv holds
#   FUSED_LS_CACHE=dir      cache dir (default ~/.cache/fused-ls); ruff lives in
#                           $FUSED_LS_CACHE/ruff-venv and is installed only if missing
# Exit: 0 benchmark ran (goal met or not, unless BENCH_ENFORCE=1), 1 goal missed with
# BENCH_ENFORCE=1, 2 the benchmark could not run (build failed, fused-ls gave no figures, ...).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${BENCH_SIZES:-300 5000}
EDITS=${BENCH_EDITS:-100}
RUNS=${BENCH_RUNS:-3}
INIT_SAMPLES=${BENCH_INIT_SAMPLES:-10}
SEED=${BENCH_SEED:-1}
TIMEOUT=${BENCH_TIMEOUT:-30}
CACHE=${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}
VENV=$CACHE/ruff-venv
RUFF_VERSION=${RUFF_VERSION:-0.17.6}
PY=${PYTHON:-python3}

die() { echo "bench: $*" >&2; exit 2; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
command -v "$PY" >/dev/null || die "python3 not found (the harness needs Python 3.11+, stdlib only)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "$PY is older than Python 3.11"

make_workdir fused-ls-lsp-bench

# ---- 1. build ---------------------------------------------------------------
find_binary

# ---- 2. ruff ----------------------------------------------------------------
RUFF=""
RUFF_SKIP=""
ruff_ready() { [[ -x $VENV/bin/ruff ]] && [[ $("$VENV/bin/ruff" --version 2>/dev/null) == "ruff $RUFF_VERSION" ]]; }
if [[ ${BENCH_RUFF:-1} == 0 ]]; then
  RUFF_SKIP="BENCH_RUFF=0"
elif [[ -n ${RUFF_BIN:-} ]]; then
  [[ -x $RUFF_BIN ]] || die "RUFF_BIN=$RUFF_BIN is not an executable"
  RUFF=$RUFF_BIN
elif make_venv "$VENV" ruff_ready "ruff==$RUFF_VERSION"; then
  RUFF=$VENV/bin/ruff
else
  RUFF_SKIP=$VENV_SKIP
fi
[[ -z $RUFF_SKIP ]] || echo "bench: ruff column skipped: $RUFF_SKIP" >&2

# ---- 3. the machine ----------------------------------------------------------
# Other work on the machine skews every figure, and not both servers alike: say so.
machine_state
if [[ $BUSY -gt 0 ]]; then
  echo "bench: warning: $BUSY other process(es) use >20% CPU right now; latencies will be noisy" >&2
fi

# ---- 4. the harness -----------------------------------------------------------
ARGS=("$WORK" --fused-ls "$BIN" --sizes "${SIZES// /,}" --edits "$EDITS" --runs "$RUNS" --init-samples "$INIT_SAMPLES"
      --seed "$SEED" --timeout "$TIMEOUT" --json "$WORK/figures.json" --many "${BENCH_MANY:-1000}")
if [[ -n $RUFF ]]; then ARGS+=(--ruff "$RUFF"); else ARGS+=(--ruff-skip-reason "$RUFF_SKIP"); fi
[[ ${BENCH_ENFORCE:-0} == 1 ]] && ARGS+=(--enforce)

echo
echo "fused-ls LSP benchmark"
VERSION=$(timeout 5 "$BIN" --version 2>/dev/null | head -n 1 || true)
echo "  binary   ${BIN#"$ROOT"/}${VERSION:+ ($VERSION)}"
echo "  ruff     ${RUFF:-skipped: $RUFF_SKIP}"
echo "  machine  $CORES cores; load average $LOAD before the runs$([[ $BUSY -gt 0 ]] && echo ", $BUSY other busy process(es): figures are noisy")"
set +e
"$PY" "$ROOT/bench/lsp_bench.py" "${ARGS[@]}"
RC=$?
set -e
if [[ $RC -eq 2 ]]; then
  echo "bench: the harness could not measure fused-ls; the end of its stderr:" >&2
  [[ -f $WORK/logs/fused-ls.stderr.log ]] && tail -n 20 "$WORK/logs/fused-ls.stderr.log" >&2
fi
exit $RC
