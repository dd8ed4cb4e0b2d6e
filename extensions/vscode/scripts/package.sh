#!/usr/bin/env bash
# `npm run package`: builds fused-ls-<version>-<target>.vsix into target/vscode/ with @vscode/vsce,
# the fused-ls binary for this platform inside (bundled/fused-ls, stripped) and the result
# panel's map (media/result-map.js, from web/map). The binary is
# $FUSED_LS_BIN, else target/release/fused-ls, else target/debug/fused-ls (build it after
# web/build.sh so that it embeds the live map). npm packages come from scripts/deps.sh (cached
# outside the work tree); vsce 4 needs Node >= 22 (scripts/node.sh installs Node 24 if needed).
# Prints the .vsix path.
set -euo pipefail
ext="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$ext/../.." && pwd)"
cd "$ext"
bash scripts/deps.sh
node_dir="$(bash scripts/node.sh)"
node="$node_dir/bin/node"

bin="${FUSED_LS_BIN:-}"
if [ -z "$bin" ]; then
  for candidate in "$root/target/release/fused-ls" "$root/target/debug/fused-ls"; do
    if [ -x "$candidate" ]; then bin="$candidate"; break; fi
  done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "vscode: no fused-ls binary: build one (cargo build --release -p fused_ls) or set FUSED_LS_BIN" >&2
  exit 1
fi
rm -rf bundled
mkdir -p bundled
# Stripped: the debug build is ~200 MB with its debug info, ~25 MB without.
strip -o bundled/fused-ls "$bin" 2>/dev/null || cp "$bin" bundled/fused-ls
chmod 755 bundled/fused-ls
bundled/fused-ls --version >&2

"$node" build.mjs >&2
# The result panel's map: web/map's static "result" bundle (deck.gl, no server), built by
# web/build.sh (cached npm packages) and shipped as media/result-map.js, loaded by the webview
# from the extension's folder (no remote origin).
bash "$root/web/build.sh" >/dev/null
rm -rf media
mkdir -p media
cp "$root/web/map/dist/result.js" media/result-map.js
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=linux-x64 ;;
  Linux-aarch64) target=linux-arm64 ;;
  Darwin-arm64) target=darwin-arm64 ;;
  Darwin-x86_64) target=darwin-x64 ;;
  *) echo "vscode: no VS Code target for $(uname -sm)" >&2; exit 1 ;;
esac
version="$("$node" -p 'require("./package.json").version')"
out="$root/target/vscode/fused-ls-$version-$target.vsix"
mkdir -p "$(dirname "$out")"
# Everything is bundled by esbuild: no node_modules in the package.
"$node" node_modules/@vscode/vsce/vsce package --no-dependencies --target "$target" --out "$out" </dev/null >&2
echo "$out"
