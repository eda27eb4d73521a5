#!/usr/bin/env bash
# Installs Artillery, with its publish-metrics plugin (OpenTelemetry tracing), into .cache/artillery
# (git-ignored) for `npm run bench:peers`. Not a dependency of firstspan: it is about 600 MB of
# node_modules (AWS SDKs, Playwright) that only the peers benchmark uses.
#
# The version is pinned to the newest Artillery whose `engines` accepts Node 20 (2.0.22 and later
# ask for Node 22). Playwright's browser download is skipped: the bench drives HTTP only.
# Override with ARTILLERY_VERSION=… ; the location with FIRSTSPAN_ARTILLERY_DIR=… .
# Idempotent: an existing install of the wanted version is left alone.
set -uo pipefail
cd "$(dirname "$0")/.."

version="${ARTILLERY_VERSION:-2.0.21}"
dir="${FIRSTSPAN_ARTILLERY_DIR:-.cache/artillery}"
bin="$dir/node_modules/.bin/artillery"

if [ -x "$bin" ] && [ "$(node -p "require('./$dir/node_modules/artillery/package.json').version" 2>/dev/null)" = "$version" ]; then
  echo "install-artillery: artillery $version already in $dir"
  exit 0
fi

echo "install-artillery: installing artillery@$version into $dir"
rm -rf "$dir"
mkdir -p "$dir"
echo '{ "name": "firstspan-bench-artillery", "private": true }' > "$dir/package.json"
if ! (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error "artillery@$version"); then
  echo "install-artillery: npm install artillery@$version failed"
  rm -rf "$dir"
  exit 1
fi
echo "install-artillery: $("$bin" version 2>/dev/null | grep -i '^artillery' || echo "artillery $version")"
