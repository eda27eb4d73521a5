#!/usr/bin/env bash
# Installs the real peers the test suite runs against, when this machine can have them:
#   - Debian's chromium (HTML report test, driven by playwright-core; never a downloaded browser)
#   - an OpenTelemetry Collector built with the official builder from the Go module proxy
#   - Locust with its otel extra, in a project-local virtual environment
#   - iptables and iproute2 (the kernel handshake-hold test runs in a network namespace it creates)
# Each is optional: a peer that cannot be installed is reported here, and its tests skip saying why.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

# Debian packages: chromium for the HTML report test, docker-compose to validate docker-compose.yml,
# iptables and ip (iproute2) for the handshake-hold test, zstd and lz4 to compress the receiver's codec tests' bodies.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v lz4 >/dev/null 2>&1 || missing+=(lz4)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-test-peers: installing Debian's ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null) \
      || echo "install-test-peers: could not install ${missing[*]}; the tests that need them will skip"
  else
    echo "install-test-peers: missing ${missing[*]} and no root apt-get; the tests that need them will skip"
  fi
fi

for step in scripts/build-collector.sh scripts/install-locust.sh; do
  if [ -x "$step" ]; then
    "$step" || { echo "install-test-peers: $step failed; the tests that need it will skip"; }
  fi
done
exit $status
