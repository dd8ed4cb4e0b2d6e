#!/usr/bin/env bash
# `npm test`: type-checks the extension (tsc) and runs its unit tests (test/*.test.ts) with
# Node 24's test runner, which runs TypeScript directly (type stripping; Node 20 cannot).
set -euo pipefail
ext="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ext"
bash scripts/deps.sh
node="$(bash scripts/node.sh --pinned)/bin/node"
"$node" node_modules/typescript/bin/tsc --noEmit -p .
"$node" --disable-warning=MODULE_TYPELESS_PACKAGE_JSON --test "test/*.test.ts"
