#!/usr/bin/env bash
# The in-process benchmarks of internal/httpapi: the real handler beside the
# hand-written baseline (BENCHMARKS.md). The test binary runs COUNT times, each
# time every benchmark once, so that a slow spell of a shared machine hits both
# sides of a pair alike. benchstat prints the medians, baseline first and the
# full stack as a ratio of it; then come the paired ratios, full over baseline
# within each run (the two ran a second apart), as median and range.
#
#   scripts/bench.sh [COUNT]   COUNT defaults to 10. Environment:
#     BENCH=regexp    the benchmarks to run (default all)
#     BENCH_CPU=n     GOMAXPROCS (default 1: on a small shared machine a second P
#                     lets the collector's work and the neighbours' noise in)
#     BENCH_OUT=file  keep the raw results there
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${BENCH_OUT:-$tmp/bench.txt}

go test -c -o "$tmp/httpapi.test" ./internal/httpapi
for _ in $(seq "$count"); do
  "$tmp/httpapi.test" -test.run '^$' -test.bench "${BENCH:-.}" -test.benchmem \
    -test.count 1 -test.cpu "${BENCH_CPU:-1}"
done | grep -E '^(goos|goarch|pkg|cpu|Benchmark)' >"$out"

# benchstat is run from the module proxy at a pinned version, not added to go.mod.
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da \
  -filter '/impl:(baseline OR full)' -col '/impl@(baseline full)' "$out"

echo
echo "paired ratios, full / baseline in the same run: median [min, max] of $count"
awk '
  /^Benchmark/ {
    split($1, part, "/"); name = substr(part[1], 10); impl = part[2]
    sub(/-[0-9]+$/, "", impl); sub(/^impl=/, "", impl)
    for (i = 3; i < NF; i++) {
      if ($(i + 1) == "ns/op") ns = $i
      if ($(i + 1) == "allocs/op") allocs = $i
    }
    if (impl == "baseline") { base[name] = ns; baseAllocs[name] = allocs }
    if (impl == "full" && name in base) {
      printf "%s %.3f %d %d\n", name, ns / base[name], allocs, baseAllocs[name]
      delete base[name]
    }
  }' "$out" | sort -k1,1 -k2,2n | awk '
  function report() {
    if (n) printf "  %-12s ns/op %.2fx [%.2f, %.2f]   allocs/op %d vs %d\n", name, (n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2), r[1], r[n], allocs, baseAllocs
  }
  $1 != name { report(); name = $1; n = 0 }
  { r[++n] = $2; allocs = $3; baseAllocs = $4 }
  END { report() }'
