#!/usr/bin/env bash
# The wheel round trip: build the `fused-ls` wheel from this checkout with maturin (offline: cargo
# uses the crates already fetched; maturin itself comes from PyPI into a cached venv), install it
# into a fresh virtualenv, and use it as a user would: `fused-ls --version`, `python -m fused_ls`,
# `check` on fixtures, and an LSP `initialize` over stdio from that install.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
cache="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
tools="$cache/maturin-venv"
. scripts/cache-lock.sh
if ! "$tools/bin/maturin" --version >/dev/null 2>&1; then
  cache_lock maturin-venv
fi
if ! "$tools/bin/maturin" --version >/dev/null 2>&1; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.5,<2.0"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "-- maturin build --release"
"$tools/bin/maturin" build --release --locked --quiet --out "$work/dist" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; echo "FAIL: maturin build"; exit 1; }
wheel=$(ls "$work"/dist/fused_ls-*.whl)
echo "   $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel"
bin="$work/venv/bin/fused-ls"
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$bin" ] || fail "the wheel did not put fused-ls on the venv's PATH"

v=$("$bin" --version); echo "   $v"
[[ "$v" == fused-ls\ [0-9]* ]] || fail "--version printed '$v'"
v2=$("$work/venv/bin/python" -m fused_ls --version)
[ "$v2" = "$v" ] || fail "python -m fused_ls --version printed '$v2', not '$v'"

"$bin" check fixtures/clean >/dev/null || fail "check fixtures/clean did not pass"
set +e
out=$("$bin" check --format json fixtures/broken/Bad_Engine); code=$?
set -e
[ "$code" = 1 ] || fail "check of a broken package exited $code, not 1"
grep -q '"code": *"FUSED042"' <<<"$out" || fail "check did not report FUSED042: $out"

# An LSP initialize through `python -m fused_ls server` (the exec path editors may use).
"$work/venv/bin/python" - "$work/venv/bin/python" <<'PY' || fail "LSP initialize from the installed wheel"
import json, subprocess, sys
p = subprocess.Popen([sys.argv[1], "-m", "fused_ls", "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def send(msg):
    body = json.dumps(msg).encode()
    p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body); p.stdin.flush()
def recv():
    n = None
    while True:
        line = p.stdout.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    return json.loads(p.stdout.read(n))
send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
while True:
    m = recv()
    if m.get("id") == 1:
        break
assert m["result"]["capabilities"]["textDocumentSync"], m
assert m["result"]["serverInfo"]["name"] == "fused-ls", m
send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
while recv().get("id") != 2:
    pass
send({"jsonrpc": "2.0", "method": "exit"})
sys.exit(p.wait(timeout=10))
PY
echo "wheel: ok"
