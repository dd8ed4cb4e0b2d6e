#!/usr/bin/env bash
# Every test of fused-ls, from a fresh checkout: formatting, lints, unit, snapshot and
# end-to-end tests. `.ci/run` calls exactly this. Needs only the Rust toolchain (cargo fetches
# the crates); later suites (runner parity, editors) add their own installs here.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
