#!/usr/bin/env bash
# Builds the Gatling side of `npm run bench:peers`: Maven resolves Gatling from Maven Central,
# compiles bench/gatling's one simulation and copies its runtime classpath into
# bench/gatling/target/deps (git-ignored), so the bench runs Gatling's own main class with plain
# `java` and measures that JVM alone.
#
# Needs a JDK (17 here) and Maven. Without them it says so and exits 0: the bench then prints the
# reason instead of the Gatling row. Idempotent: Maven skips what is up to date.
set -uo pipefail
cd "$(dirname "$0")/../bench/gatling"

for tool in java javac mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-gatling: no $tool on this machine (Debian: apt-get install openjdk-17-jdk-headless maven); the Gatling row will be missing"
    exit 0
  fi
done

if ! mvn -B -q test-compile; then
  echo "install-gatling: mvn test-compile failed in bench/gatling"
  exit 1
fi
echo "install-gatling: $(ls target/deps | grep -o '^gatling-core-[0-9.]*' | sed 's/\.$//' | head -n 1) built in bench/gatling/target"
