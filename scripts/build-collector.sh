#!/usr/bin/env bash
# Builds an OpenTelemetry Collector distribution with the official collector builder (ocb), from the
# Go module proxy, holding exactly the components collector-config/*.yaml use. The binary is cached
# outside the repository and never committed; a second run with the binary present does nothing.
#
#   scripts/build-collector.sh          build (or reuse) and print the binary's path on the last line
#   FIRSTSPAN_OTELCOL=/path/otelcol     tests use this binary instead of the cached one
#
# Why 0.161.0: it is the newest release for which the proxy serves every module we need — the
# contrib loadbalancingexporter is missing from the proxy for 0.162–0.165. Core and contrib share
# the version number, and the builder must match the core modules it assembles.
set -euo pipefail
cd "$(dirname "$0")/.."

OTELCOL_VERSION="${FIRSTSPAN_OTELCOL_VERSION:-0.161.0}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/firstspan"
OUT_DIR="$CACHE_ROOT/otelcol-$OTELCOL_VERSION"
BINARY="$OUT_DIR/otelcol-firstspan"

if [ -x "$BINARY" ]; then
  echo "build-collector: cached, nothing to build"
  echo "$BINARY"
  exit 0
fi

GO="$(command -v go || true)"
if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; fi
if [ -z "$GO" ]; then
  echo "build-collector: no Go toolchain on this machine; the Collector tests will skip" >&2
  exit 1
fi
export PATH="$(dirname "$GO"):$PATH"
# Only the module proxy is reachable from CI machines; "direct" would try github.com and hang.
export GOPROXY="${GOPROXY_OVERRIDE:-https://proxy.golang.org}"
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN=local

mkdir -p "$OUT_DIR"
BUILDER="$OUT_DIR/bin/builder"
if [ ! -x "$BUILDER" ]; then
  echo "build-collector: installing the collector builder v$OTELCOL_VERSION"
  GOBIN="$OUT_DIR/bin" go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION"
fi

CORE="go.opentelemetry.io/collector"
CONTRIB="github.com/open-telemetry/opentelemetry-collector-contrib"
MANIFEST="$OUT_DIR/manifest.yaml"
# Exactly the components collector-config/ uses: the OTLP receiver (gRPC 4317 + HTTP 4318), the
# batch processor, OTLP/HTTP out to `firstspan receive`, OTLP/gRPC for the load-balancing
# exporter's back-ends, the debug exporter for troubleshooting. Providers are left to the builder's
# defaults (env, file, http, https, yaml), which is what ${env:…} in our configs needs.
cat >"$MANIFEST" <<EOF
dist:
  name: otelcol-firstspan
  description: OpenTelemetry Collector for firstspan (built by scripts/build-collector.sh)
  output_path: $OUT_DIR/build
  version: $OTELCOL_VERSION
receivers:
  - gomod: $CORE/receiver/otlpreceiver v$OTELCOL_VERSION
processors:
  - gomod: $CORE/processor/batchprocessor v$OTELCOL_VERSION
exporters:
  - gomod: $CORE/exporter/otlphttpexporter v$OTELCOL_VERSION
  - gomod: $CORE/exporter/otlpexporter v$OTELCOL_VERSION
  - gomod: $CORE/exporter/debugexporter v$OTELCOL_VERSION
  - gomod: $CONTRIB/exporter/loadbalancingexporter v$OTELCOL_VERSION
# The proxy does not serve the AWS Cloud Map client version the load-balancing exporter asks for
# (only its AWS resolver uses it; our configs use the static resolver): pin one the proxy serves.
replaces:
  - github.com/aws/aws-sdk-go-v2/service/servicediscovery => github.com/aws/aws-sdk-go-v2/service/servicediscovery v1.40.2
EOF

echo "build-collector: building otelcol-firstspan v$OTELCOL_VERSION (several minutes the first time)"
"$BUILDER" --config "$MANIFEST"
# Move into place only once the build succeeded, so a half-built binary is never "cached".
mv "$OUT_DIR/build/otelcol-firstspan" "$BINARY.tmp"
mv "$BINARY.tmp" "$BINARY"
"$BINARY" --version
echo "$BINARY"
