#!/usr/bin/env bash
# Installs real Locust with its OpenTelemetry extra into a project-local virtual environment,
# .cache/locust-venv/ (git-ignored), for the Locust interop test and the peers benchmark.
#
# Idempotent: an existing venv whose Locust has the wanted version and imports the OTel SDK is left
# alone. Without python3 or its venv module it says so and exits 0, so the tests skip with a reason.
#
# The version is pinned (newest on PyPI when this was written) and must be >= 2.42.6, the first
# release that honours OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (docs/locust.md).
# Override with LOCUST_VERSION=… ; the venv location with FIRSTSPAN_LOCUST_VENV=… .
#
# The two instrumentations are pinned too: left to itself pip's resolver backtracks (the newest
# opentelemetry-instrumentation-requests has no matching urllib3 instrumentation release) and gives
# up with ResolutionImpossible. Pinning both to the same contrib release resolves at once.
set -uo pipefail
cd "$(dirname "$0")/.."

version="${LOCUST_VERSION:-2.47.0}"
contrib="${LOCUST_OTEL_CONTRIB_VERSION:-0.66b1}"
venv="${FIRSTSPAN_LOCUST_VENV:-.cache/locust-venv}"
python="${PYTHON:-python3}"

have_working_locust() {
  [ -x "$venv/bin/locust" ] || return 1
  "$venv/bin/python" - "$version" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
import opentelemetry.sdk  # noqa: F401  (the [otel] extra)
import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
import opentelemetry.instrumentation.requests  # noqa: F401
sys.exit(0 if version("locust") == sys.argv[1] else 1)
PY
}

if have_working_locust; then
  echo "install-locust: locust $version already in $venv"
  exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
  echo "install-locust: no $python on this machine; the Locust tests will skip"
  exit 0
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "install-locust: $python has no venv/ensurepip module (Debian: apt-get install python3-venv); the Locust tests will skip"
  exit 0
fi

echo "install-locust: installing locust[otel]==$version into $venv"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv" || { echo "install-locust: could not create $venv"; exit 1; }
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "locust[otel]==$version" \
  "opentelemetry-instrumentation-requests==$contrib" "opentelemetry-instrumentation-urllib3==$contrib" \
  || { echo "install-locust: pip install locust[otel]==$version failed"; rm -rf "$venv"; exit 1; }

if have_working_locust; then
  echo "install-locust: $("$venv/bin/locust" --version 2>&1 | head -n 1)"
else
  echo "install-locust: locust installed but its OTel extra does not import; removing $venv"
  rm -rf "$venv"
  exit 1
fi
