#!/usr/bin/env bash
# The second CI leg: the whole suite (npm test: lint, type check, every test) under Node.js 24 LTS,
# installed from the npm registry by scripts/install-node24.sh.
#
# better-sqlite3 is the one native module that is not Node-API: its binary is tied to one Node ABI.
# This leg builds it for Node 24 (against the headers that came with that Node, never downloaded),
# and on exit — pass, fail or Ctrl-C — puts back the binary the outer Node was using, so the Node 20
# leg and everyday work keep running. Both binaries are kept in .cache/better-sqlite3/ so a second
# run compiles nothing.
#
# With arguments, runs only those test files (`./scripts/test-node24.sh test/analyzer.test.ts`).
#
# Skips are not hidden: every test that cannot run here prints why, as in the Node 20 leg, and the
# summary line vitest prints (passed | skipped) is the leg's result.
set -euo pipefail
cd "$(dirname "$0")/.."

outer_node=$(command -v node)
node24_home=$(./scripts/install-node24.sh)
addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node
bsq_version=$(node -p 'require("./node_modules/better-sqlite3/package.json").version')
cache=.cache/better-sqlite3
mkdir -p "$cache"

loads() { # loads <node> : better-sqlite3 opens a database under this Node
  "$1" -e 'new (require("better-sqlite3"))(":memory:").prepare("select 1").get()' >/dev/null 2>&1
}

outer_abi=$(node -p 'process.versions.modules')
outer_saved="$cache/$bsq_version-abi$outer_abi.node"
if loads "$outer_node"; then
  cp "$addon" "$outer_saved"
fi
restore() {
  if [ -f "$outer_saved" ]; then
    cp "$outer_saved" "$addon"
    loads "$outer_node" || echo "test-node24: could not restore better-sqlite3 for $($outer_node --version); run ./scripts/setup.sh" >&2
  fi
}
trap restore EXIT

export PATH="$node24_home/bin:$PATH"
export npm_config_nodedir="$node24_home"
abi=$(node -p 'process.versions.modules')
saved="$cache/$bsq_version-abi$abi.node"
if [ -f "$saved" ]; then
  cp "$saved" "$addon"
fi
if ! loads node; then
  echo "test-node24: building better-sqlite3 $bsq_version for Node $(node --version) (ABI $abi)"
  npm rebuild better-sqlite3 --no-audit --no-fund
  loads node || { echo "test-node24: better-sqlite3 still does not load under Node $(node --version)" >&2; exit 1; }
  cp "$addon" "$saved"
fi

if [ $# -gt 0 ]; then
  echo "test-node24: vitest run $* under Node $(node --version) ($(command -v node))"
  npx vitest run "$@"
else
  echo "test-node24: npm test under Node $(node --version) ($(command -v node))"
  npm test
fi
