#!/usr/bin/env bash
# Installs Debian's chromium (apt, once per machine) when /usr/bin/chromium is missing: the map
# test and the VS Code test drive it with playwright-core.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium (once per machine)" >&2
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  $as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends chromium >&2
fi
