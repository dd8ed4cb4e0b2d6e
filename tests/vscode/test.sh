#!/usr/bin/env bash
# The VS Code extension in real VS Code (tests/vscode/vscode.test.mjs): code-server 4.139.1 on
# Node 24 with the packaged .vsix installed, driven in Debian's Chromium by playwright-core.
# Installs what it needs, cached outside the work tree: Chromium (apt, once per machine), Node 24
# and code-server (tests/vscode/setup.sh, ~2 min the first time), the extension's npm packages
# (extensions/vscode/scripts/deps.sh), the SDK venv for runs (tests/sdk/setup.sh). Packages the
# extension with target/debug/fused-ls (FUSED_LS_BIN to change; it must embed the map: build it
# after web/build.sh). Screenshots and code-server logs: target/test-artifacts/vscode.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bash scripts/ensure-chromium.sh
{ read -r node_dir; read -r code_server; } < <(bash tests/vscode/setup.sh)
bash tests/sdk/setup.sh >/dev/null
export FUSED_LS_SDK_PYTHON="${FUSED_LS_SDK_PYTHON:-${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}/sdk-venv/bin/python}"
bin="${FUSED_LS_BIN:-$root/target/debug/fused-ls}"
if [ ! -x "$bin" ]; then
  echo "vscode: no $bin: build it first (cargo build -p fused_ls) or set FUSED_LS_BIN" >&2
  exit 1
fi
vsix="$(FUSED_LS_BIN="$bin" bash extensions/vscode/scripts/package.sh)"
# The extension's types (tsc), then its own logic (argument building, binary lookup, result
# text, the webview's HTML) with Node's test runner.
bash extensions/vscode/scripts/unit.sh
rm -rf target/test-artifacts/vscode
mkdir -p target/test-artifacts/vscode
FUSED_VSIX="$vsix" FUSED_CODE_SERVER="$code_server" FUSED_NODE="$node_dir/bin/node" \
  "$node_dir/bin/node" --test --test-reporter=spec --test-concurrency=1 tests/vscode/vscode.test.mjs
