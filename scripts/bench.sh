#!/usr/bin/env bash
# The in-process benchmarks of internal/httpapi: the real handler beside the
# hand-written baseline (BENCHMARKS.md). The test binary runs COUNT times, each
# time every benchmark once, so that a slow spell of a shared machine hits both
# sides of a pair alike; benchstat then prints the medians, baseline first, and
# the full stack as a ratio of it.
#
#   scripts/bench.sh [COUNT]      (default 10; BENCH=regexp narrows the run;
#                                  BENCH_OUT=file keeps the raw results)
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${BENCH_OUT:-$tmp/bench.txt}

go test -c -o "$tmp/httpapi.test" ./internal/httpapi
for _ in $(seq "$count"); do
  "$tmp/httpapi.test" -test.run '^$' -test.bench "${BENCH:-.}" -test.benchmem -test.count 1
done | grep -E '^(goos|goarch|pkg|cpu|Benchmark)' >"$out"

# benchstat is run from the module proxy at a pinned version, not added to go.mod.
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da \
  -col '/impl@(baseline full)' "$out"
