#!/usr/bin/env bash
# The live map in a real browser (tests/web/map.test.mjs): Debian's Chromium driven by
# playwright-core against `fused-ls serve` on fixtures/serve. Installs what it needs: Chromium
# (apt, once per machine), the map's npm packages (web/build.sh, cached in ~/.cache/fused-ls),
# the SDK venv (tests/sdk/setup.sh). Uses target/debug/fused-ls (FUSED_LS_BIN to change), which
# must have been built after web/build.sh so that it embeds the map.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if [ ! -x /usr/bin/chromium ]; then
  echo "web: installing Debian's chromium (once per machine)" >&2
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  $as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends chromium >&2
fi
bash web/build.sh >/dev/null
bash tests/sdk/setup.sh >/dev/null
ln -sfn "$(readlink web/map/node_modules)" tests/web/node_modules
bin="${FUSED_LS_BIN:-$root/target/debug/fused-ls}"
if ! grep -q "assets/map.js" "$bin"; then
  echo "web: $bin has no map bundle: build it after web/build.sh (cargo build -p fused_ls)" >&2
  exit 1
fi
FUSED_LS_BIN="$bin" node --test --test-reporter=spec tests/web/map.test.mjs
