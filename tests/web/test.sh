#!/usr/bin/env bash
# The live map in a real browser (tests/web/map.test.mjs): Debian's Chromium driven by
# playwright-core against `fused-ls serve` on fixtures/serve. Installs what it needs: Chromium
# (apt, once per machine), the map's npm packages (web/build.sh, cached in ~/.cache/fused-ls),
# the SDK venv (tests/sdk/setup.sh). Uses target/debug/fused-ls (FUSED_LS_BIN to change), which
# must have been built after web/build.sh so that it embeds the map.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bash scripts/ensure-chromium.sh
bash web/build.sh >/dev/null
bash tests/sdk/setup.sh >/dev/null
ln -sfn "$(readlink web/map/node_modules)" tests/web/node_modules
bin="${FUSED_LS_BIN:-$root/target/debug/fused-ls}"
if ! grep -q "assets/map.js" "$bin"; then
  echo "web: $bin has no map bundle: build it after web/build.sh (cargo build -p fused_ls)" >&2
  exit 1
fi
FUSED_LS_BIN="$bin" node --test --test-reporter=spec tests/web/map.test.mjs
