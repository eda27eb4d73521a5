#!/usr/bin/env bash
# Set-up: install the exact dependency tree from package-lock.json.
# better-sqlite3 compiles from source where its prebuilt binary cannot be downloaded; point node-gyp
# at this Node's own headers so it never tries to download them either.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${npm_config_nodedir:-}" ]; then
  prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
  if [ -f "$prefix/include/node/node.h" ]; then
    export npm_config_nodedir="$prefix"
  fi
fi
npm ci --no-audit --no-fund
