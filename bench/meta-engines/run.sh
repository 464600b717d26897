#!/usr/bin/env bash
# Builds and runs the metadata-engine comparison (ADR 0001). Extra arguments go to the benchmark,
# e.g. --runs 1 --keys 100000 --seconds 1 for a smoke test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q maven openjdk-17-jdk-headless
fi
mvn -q -f "$here/pom.xml" package
mkdir -p "$repo/bench/results"
json="$repo/bench/results/meta-engines-$(date -u +%Y%m%dT%H%M%SZ).json"
# The data directory must be on the disk the server would use (not tmpfs): fsync cost is the point.
exec java -Xmx2g -cp "$here/target/classes:$(cat "$here/target/classpath.txt")" \
    io.coffer.bench.meta.MetaEngineBench --dir "${META_BENCH_DIR:-/var/tmp}" --json "$json" "$@"
