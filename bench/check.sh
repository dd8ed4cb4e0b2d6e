#!/usr/bin/env bash
# Speed benchmark of `fused-ls check`, side by side with the Fused SDK's own
# `fused.load`. See bench/README.md for what the figures mean.
#
#   bash bench/check.sh
#
# Environment (all optional):
#   BENCH_COUNT=1000      packages in the generated corpus
#   BENCH_RUNS=5          timed runs (after one warm-up run)
#   BENCH_SEED=1          corpus seed (gen_corpus.py is deterministic for a seed)
#   BENCH_SDK_SAMPLE=10   packages loaded with the SDK
#   BENCH_SDK=0           skip the SDK column
#   BENCH_KEEP=1          keep the temp dir (corpus and outputs) and print its path
#   BENCH_ENFORCE=1       exit 1 when the goal is not met
#   FUSED_LS_BIN=path     use this binary instead of building target/release/fused-ls
#   FUSED_LS_CACHE=dir    cache dir (default ~/.cache/fused-ls); the SDK venv lives in
#                         $FUSED_LS_CACHE/sdk-venv and is created only if missing
# Exit: 0 benchmark ran (goal met or not, unless BENCH_ENFORCE=1), 1 goal missed with
# BENCH_ENFORCE=1, 2 the benchmark could not run (build failed, fused-ls crashed, ...).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${BENCH_COUNT:-1000}
RUNS=${BENCH_RUNS:-5}
SEED=${BENCH_SEED:-1}
SDK_SAMPLE=${BENCH_SDK_SAMPLE:-10}
CACHE=${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}
VENV=$CACHE/sdk-venv
SDK_VERSION=2.9.5
GOAL=2000
PY=${PYTHON:-python3}

die() { echo "bench: $*" >&2; exit 2; }
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v "$PY" >/dev/null || die "python3 not found (needed to generate the corpus)"

# ---- timing helpers -------------------------------------------------------
# now: wall clock in seconds with microseconds (bash >= 5 has EPOCHREALTIME).
now() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}
# to_seconds "1m2.345s" -> 62.345  (the format of bash `times`)
to_seconds() { awk -v t="$1" 'BEGIN { split(t, a, "m"); sub("s", "", a[2]); printf "%.3f", a[1] * 60 + a[2] }'; }
# children_cpu VAR: sets VAR to the user+sys seconds of all waited-for children so
# far (bash `times`, second line). `times` must run in this shell, not in $(...).
children_cpu() {
  local line u s
  times >"$WORK/times.txt"
  line=$(tail -n 1 "$WORK/times.txt")
  u=${line%% *}; s=${line##* }
  printf -v "$1" '%s' "$(awk -v u="$(to_seconds "$u")" -v s="$(to_seconds "$s")" 'BEGIN { printf "%.3f", u + s }')"
}
HAVE_GNU_TIME=0
if [[ -x /usr/bin/time ]] && /usr/bin/time -f '%U' -o /dev/null true 2>/dev/null; then HAVE_GNU_TIME=1; fi

# timed OUT ERR CMD...: runs CMD with stdout>OUT, stderr>ERR; sets T_WALL, T_CPU
# (user+sys), T_RSS (peak KiB, or "-") and T_RC.
timed() {
  local out=$1 err=$2; shift 2
  local t0 t1 c0 c1 tf
  if [[ $HAVE_GNU_TIME == 1 ]]; then
    tf=$WORK/time.txt
    t0=$(now)
    set +e; /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$out" 2>"$err"; T_RC=$?; set -e
    t1=$(now)
    # a non-zero exit adds a "Command exited with non-zero status N" line first
    read -r _ u s m < <(tail -n 1 "$tf") || die "could not read /usr/bin/time output"
    T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')
    T_RSS=$m
  else
    children_cpu c0
    t0=$(now)
    set +e; "$@" >"$out" 2>"$err"; T_RC=$?; set -e
    t1=$(now)
    children_cpu c1
    T_CPU=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
    T_RSS=-
  fi
  T_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

make_workdir fused-ls-bench

# ---- 1. build ---------------------------------------------------------------
find_binary

# ---- 2. corpus --------------------------------------------------------------
CORPUS=$WORK/corpus
t0=$(now)
"$PY" "$ROOT/bench/gen_corpus.py" "$CORPUS" --count "$COUNT" --seed "$SEED" || die "gen_corpus.py failed"
t1=$(now)
PKGS=$(find "$CORPUS" -name meta.json -type f | wc -l | tr -d ' ')
[[ $PKGS -gt 0 ]] || die "the corpus holds no package"
CORPUS_SIZE=$(du -sh "$CORPUS" | cut -f1)
echo "bench: generated $PKGS packages ($CORPUS_SIZE) in $(calc '%.1f' "$t1 - $t0") s" >&2

# ---- 3. fused-ls check ------------------------------------------------------
run_check() { timed "$WORK/check.json" "$WORK/check.err" "$BIN" check --format json "$CORPUS"; }

echo "bench: warm-up run" >&2
run_check
if [[ $T_RC -ne 0 && $T_RC -ne 1 ]]; then
  echo "bench: fused-ls check exited $T_RC; its stderr:" >&2
  head -n 20 "$WORK/check.err" >&2
  die "fused-ls check failed (exit $T_RC), no figures"
fi
CHECK_RC=$T_RC
# What the warm-up found: a sanity line, so a binary that checks nothing is noticed.
FOUND=$("$PY" - "$WORK/check.json" "$CORPUS" <<'EOF'
import json, os, sys, collections
try:
    data = json.load(open(sys.argv[1], encoding="utf-8"))
except Exception as e:  # not JSON: say so, don't fail the benchmark
    print(f"output is not JSON ({type(e).__name__})")
    sys.exit(0)
sev = collections.Counter()
codes = collections.Counter()
def walk(x):
    if isinstance(x, dict):
        if "code" in x and isinstance(x.get("code"), str):
            codes[x["code"]] += 1
            sev[str(x.get("severity", "?")).lower()] += 1
        for v in x.values():
            walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
walk(data)
n = sum(codes.values())
top = ", ".join(f"{c} {k}" for c, k in sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))[:6])
by_sev = ", ".join(f"{v} {k}" for k, v in sorted(sev.items()))
print(f"{n} diagnostics ({by_sev or 'none'}); most common: {top or '-'}")
# planted problems (gen_corpus.py's manifest) that drew their rule, by package folder
corpus = sys.argv[2]
try:
    manifest = json.load(open(os.path.join(corpus, "corpus.json"), encoding="utf-8"))["packages"]
except Exception:
    sys.exit(0)
seen = collections.defaultdict(set)
def walk2(x):
    if isinstance(x, dict):
        p, c = x.get("path"), x.get("code")
        if isinstance(p, str) and isinstance(c, str):
            rel = os.path.relpath(os.path.join(corpus, p) if not os.path.isabs(p) else p, corpus)
            seen[os.path.dirname(rel)].add(c)
        for v in x.values():
            walk2(v)
    elif isinstance(x, list):
        for v in x:
            walk2(v)
walk2(data)
planted = [p for p in manifest if p.get("expect")]
hit = sum(1 for p in planted if p["expect"] in seen.get(p["path"], ()))
missed = collections.Counter(p["expect"] for p in planted if p["expect"] not in seen.get(p["path"], ()))
print(f"           planted problems found: {hit} of {len(planted)}"
      + (f" (missed: {', '.join(f'{c} x{k}' for c, k in sorted(missed.items()))})" if missed else ""))
EOF
)

# Other work on the machine skews every figure: say so.
machine_state "$BIN"
if [[ $BUSY -gt 0 ]]; then
  echo "bench: warning: $BUSY other process(es) use >20% CPU right now; the figures will be low" >&2
fi

WALLS=(); CPUS=(); UTILS=(); RSS=()
for ((i = 1; i <= RUNS; i++)); do
  run_check
  [[ $T_RC -eq $CHECK_RC ]] || die "run $i exited $T_RC, the warm-up exited $CHECK_RC"
  WALLS+=("$T_WALL"); CPUS+=("$T_CPU"); RSS+=("$T_RSS")
  UTILS+=("$(calc '%.3f' "$T_CPU / ($T_WALL > 0 ? $T_WALL : 1e-9)")")
  echo "bench: run $i: wall ${T_WALL} s, cpu ${T_CPU} s" >&2
done
MED_WALL=$(echo "${WALLS[*]}" | median)
MED_UTIL=$(echo "${UTILS[*]}" | median)
MIN_WALL=$(echo "${WALLS[*]}" | tr ' ' '\n' | sort -g | head -n 1)
MAX_WALL=$(echo "${WALLS[*]}" | tr ' ' '\n' | sort -g | tail -n 1)
PPS=$(calc '%.0f' "$PKGS / $MED_WALL")
MAX_RSS=$(echo "${RSS[*]}" | tr ' ' '\n' | grep -v '^-$' | sort -g | tail -n 1 || true)

# ---- 4. the SDK: fused.load -------------------------------------------------
SDK_OK=0
SDK_SKIP=""
sdk_ready() { [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c "import fused, sys; sys.exit(fused.__version__ != '$SDK_VERSION')" >/dev/null 2>&1; }
if [[ ${BENCH_SDK:-1} == 0 ]]; then
  SDK_SKIP="BENCH_SDK=0"
elif make_venv "$VENV" sdk_ready "fused==$SDK_VERSION"; then
  SDK_OK=1
else
  SDK_SKIP=$VENV_SKIP
fi

if [[ $SDK_OK == 1 ]]; then
  # An even spread over the corpus, in path order (deterministic for a seed).
  mapfile -t ALL < <(find "$CORPUS" -name meta.json -type f -printf '%h\n' | LC_ALL=C sort)
  SAMPLE=()
  n=${#ALL[@]}; k=$(( SDK_SAMPLE < n ? SDK_SAMPLE : n ))
  for ((i = 0; i < k; i++)); do SAMPLE+=("${ALL[$(( i * n / k ))]}"); done

  SDK_PY=$VENV/bin/python
  # the SDK may write config or caches under $HOME: give it a throwaway one
  HOME_SDK=$WORK/sdk-home; mkdir -p "$HOME_SDK"
  echo "bench: SDK warm-up (import fused)" >&2
  HOME=$HOME_SDK "$SDK_PY" -c "import fused" >/dev/null 2>&1 || true

  SDK_TIMES=(); SDK_FAIL=0; IMPORTS=()
  printf '\nSDK: python -c "import fused; fused.load(pkg)", one process per package\n'
  printf '  %-58s %9s  %s\n' package "wall s" result
  for p in "${SAMPLE[@]}"; do
    # `import fused` alone, interleaved with the loads so both see the same noise:
    # how much of a load is interpreter start + import
    timed "$WORK/sdk.out" "$WORK/sdk.err" env HOME="$HOME_SDK" "$SDK_PY" -c "import fused"
    IMPORTS+=("$T_WALL")
    timed "$WORK/sdk.out" "$WORK/sdk.err" env HOME="$HOME_SDK" "$SDK_PY" -c "import sys, fused; fused.load(sys.argv[1])" "$p"
    if [[ $T_RC -eq 0 ]]; then
      res=ok
    else  # the traceback's exception line, else its last line
      why=$(grep -E '^[A-Za-z_][A-Za-z0-9_.]*(Error|Exception)\b' "$WORK/sdk.err" | tail -n 1)
      [[ -n $why ]] || why=$(grep -v '^\s*$' "$WORK/sdk.err" | tail -n 1)
      res="raised ${why:0:80}"; SDK_FAIL=$((SDK_FAIL + 1))
    fi
    SDK_TIMES+=("$T_WALL")
    printf '  %-58s %9.3f  %s\n' "${p#"$CORPUS"/}" "$T_WALL" "$res"
  done
  MED_SDK=$(echo "${SDK_TIMES[*]}" | median)
  MED_IMPORT=$(echo "${IMPORTS[*]}" | median)
  SDK_PPS=$(calc '%.2f' "1 / $MED_SDK")

  # the same sample loaded in one warm process (the SDK's best case: import paid once)
  WARM=$(HOME=$HOME_SDK "$SDK_PY" - "${SAMPLE[@]}" 2>/dev/null <<'EOF' || true
import sys, time, statistics
import fused
ts = []
for p in sys.argv[1:]:
    t = time.perf_counter()
    try:
        fused.load(p)
    except Exception:
        pass
    ts.append(time.perf_counter() - t)
print(f"{statistics.median(ts):.6f}")
EOF
)
fi

# ---- 5. the table -----------------------------------------------------------
VERSION=$("$BIN" --version 2>/dev/null | head -n 1 || true)
echo
echo "fused-ls check benchmark"
echo "  binary   ${BIN#"$ROOT"/}${VERSION:+ ($VERSION)}"
echo "  corpus   $PKGS packages, seed $SEED, $CORPUS_SIZE (bench/gen_corpus.py)"
echo "  machine  $CORES cores; load average $LOAD before the runs$([[ $BUSY -gt 0 ]] && echo ", $BUSY other busy process(es): figures are low"); CPU from $([[ $HAVE_GNU_TIME == 1 ]] && echo '/usr/bin/time' || echo 'bash times')"
printf '  found    exit %s; %s\n' "$CHECK_RC" "$FOUND"
echo
printf '%-34s %8s %5s %12s %12s %10s\n' "" packages runs "median wall" "packages/s" "CPU util"
printf '%-34s %8d %5d %10.3f s %12s %9.2fx\n' "fused-ls check --format json" "$PKGS" "$RUNS" "$MED_WALL" "$PPS" "$MED_UTIL"
printf '  (wall min %.3f s, max %.3f s; CPU util = (user+sys)/wall, %s cores => at most %s.00x%s)\n' \
  "$MIN_WALL" "$MAX_WALL" "$CORES" "$CORES" "${MAX_RSS:+; peak RSS $((MAX_RSS / 1024)) MiB}"
if [[ $SDK_OK == 1 ]]; then
  printf '%-34s %8d %5s %10.3f s %12s %10s\n' "SDK fused.load, python -c each" "${#SAMPLE[@]}" 1 "$MED_SDK" "$SDK_PPS" "-"
  printf '  (median per package; python + `import fused` alone: %.3f s; %d of %d loads failed)\n' "$MED_IMPORT" "$SDK_FAIL" "${#SAMPLE[@]}"
  if [[ -n ${WARM:-} ]]; then
    printf '%-34s %8d %5s %10.4f s %12s %10s\n' "SDK fused.load, one warm process" "${#SAMPLE[@]}" 1 "$WARM" "$(calc '%.0f' "1 / $WARM")" "-"
    echo "  (median per load after import, no interpreter start: the SDK's best case)"
  fi
  echo
  echo "speed ratio: fused-ls is $(calc '%.0f' "$PPS / $SDK_PPS")x the SDK's per-package load$( [[ -n ${WARM:-} ]] && echo ", $(calc '%.1f' "$PPS * $WARM")x its warm load")"
else
  echo
  echo "SDK column skipped: $SDK_SKIP"
fi
echo "goal: >= $GOAL packages/s"
if awk -v p="$PPS" -v g="$GOAL" 'BEGIN { exit !(p >= g) }'; then
  echo "result: $PPS packages/s, goal met"
else
  echo "result: $PPS packages/s, goal NOT met"
  [[ ${BENCH_ENFORCE:-0} == 1 ]] && exit 1
fi
exit 0
