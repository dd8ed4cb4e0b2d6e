# Shared by the benchmark scripts (sourced, not run). They define ROOT and die() first.

# make_workdir NAME: sets WORK to a new temp dir, removed at exit (kept with BENCH_KEEP=1).
make_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    trap 'echo "bench: kept $WORK" >&2' EXIT
  else
    trap 'rm -rf "$WORK"' EXIT
  fi
}

# find_binary: sets BIN to $FUSED_LS_BIN, else builds target/release/fused-ls.
find_binary() {
  if [[ -n ${FUSED_LS_BIN:-} ]]; then
    BIN=$FUSED_LS_BIN
    [[ -x $BIN ]] || die "FUSED_LS_BIN=$BIN is not an executable"
  else
    echo "bench: cargo build --release -p fused_ls" >&2
    (cd "$ROOT" && cargo build --release -p fused_ls) >&2 || die "cargo build --release -p fused_ls failed"
    BIN=$ROOT/target/release/fused-ls
    [[ -x $BIN ]] || die "build succeeded but $BIN is missing"
  fi
}

# make_venv DIR READY PIP-SPEC...
# Makes the virtualenv DIR holding PIP-SPEC (with $PY), unless the function READY already
# succeeds. Sets VENV_SKIP to why it could not (empty when the venv is ready). Never leaves a
# half-made venv behind: the next run would think it is there. Logs go to $WORK.
make_venv() {
  local dir=$1 ready=$2
  shift 2
  VENV_SKIP=""
  "$ready" && return 0
  echo "bench: creating $dir (python3 -m venv + pip install $*; can take a few minutes)" >&2
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  if ! "$PY" -m venv "$dir" >"$WORK/venv.log" 2>&1; then
    VENV_SKIP="python3 -m venv failed: $(grep -v '^\s*$' "$WORK/venv.log" | tail -n 1)"
  elif ! "$dir/bin/python" -m pip install --disable-pip-version-check -q "$@" >"$WORK/pip.log" 2>&1; then
    VENV_SKIP="pip install $* failed: $(grep -v '^\s*$' "$WORK/pip.log" | grep -i error | tail -n 1)"
    [[ $VENV_SKIP == *": " ]] && VENV_SKIP+=$(grep -v '^\s*$' "$WORK/pip.log" | tail -n 1)
  elif ! "$ready"; then
    VENV_SKIP="$* installed in $dir but it does not work"
  fi
  [[ -z $VENV_SKIP ]] || rm -rf "$dir"
  [[ -z $VENV_SKIP ]]
}

# machine_state [IGNORE]: sets CORES, LOAD (1-minute load average) and BUSY (other processes
# using more than 20% CPU right now, except those whose command line holds IGNORE). Other work
# skews every figure, and not every side alike: the scripts print this beside their figures.
machine_state() {
  local ignore=${1:-}
  CORES=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')
  LOAD=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
  BUSY=$(ps -e -o pcpu=,args= 2>/dev/null |
    awk -v ignore="$ignore" '$1 > 20 && (ignore == "" || index($0, ignore) == 0) { n++ } END { print n + 0 }')
}
