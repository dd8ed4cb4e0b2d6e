#!/usr/bin/env bash
# Creates (once) Debian's Neovim 0.7.2, the oldest release the plugin claims (its fallback start
# through vim.lsp.start_client), without root: `apt-get download` of the package, its runtime and
# the libraries it links, unpacked with `dpkg -x`; prints a wrapper that runs it with those
# libraries and runtime. Cached at ${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}/nvim-0.7 (≈ 1 s to
# make, 31 MB). Needs apt's package lists (Debian bookworm has 0.7.2-7).
set -euo pipefail
cache="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
dir="$cache/nvim-0.7"
wrapper="$dir/nvim"
if ! { [ -x "$wrapper" ] && "$wrapper" --version 2>/dev/null | head -n1 | grep -q '^NVIM v0\.7\.'; }; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # The libraries of `apt-cache depends neovim` that a base image lacks.
  (cd "$tmp" && apt-get download -q neovim neovim-runtime libluajit-5.1-2 libluajit-5.1-common \
    libmsgpackc2 libtermkey1 libtree-sitter0 libunibilium4 libuv1 libvterm0 lua-luv >&2)
  rm -rf "$dir.new"
  mkdir -p "$dir.new/root"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$dir.new/root"; done
  cat >"$dir.new/nvim" <<'WRAP'
#!/bin/sh
root="$(dirname "$0")/root"
LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
VIMRUNTIME="$root/usr/share/nvim/runtime" exec "$root/usr/bin/nvim" "$@"
WRAP
  chmod +x "$dir.new/nvim"
  rm -rf "$dir"
  mv "$dir.new" "$dir"
  "$wrapper" --version | head -n1 | grep -q '^NVIM v0\.7\.' || { echo "error: no usable nvim 0.7 in $dir" >&2; exit 1; }
fi
echo "$wrapper"
