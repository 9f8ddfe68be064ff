#!/usr/bin/env bash
# Lists the hand-written files that one PUT runs code of, from the listener to
# the store and back, in plannr-server as it runs by default (SQLite, the rate
# limit, metrics, the buffered log): issue 17's count. cmd/plannr-server's
# TestPUTFiles runs twice with coverage, with one PUT and with three; the code
# that the two more PUTs ran at least twice more is the PUT's (what a timer
# runs now and then, such as the log's flush, differs by once at most).
# Generated code (gen/) does not count.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pkgs=$(go list ./... | grep -v '/gen$' | paste -sd, -)
for n in 1 3; do
  PUT_FILES_PUTS=$n go test -count=1 -covermode=atomic -coverpkg="$pkgs" -coverprofile="$dir/$n.out" \
    -run '^TestPUTFiles$' ./cmd/plannr-server >/dev/null 2>&1
done
module=$(go list -m)
# A line of a profile: file:start,end statements count; the same blocks in
# the same order in both.
paste -d' ' <(tail -n +2 "$dir/1.out") <(tail -n +2 "$dir/3.out") |
  awk -v m="$module/" '$6 >= $3 + 2 { split($1, f, ":"); sub(m, "", f[1]); print f[1] }' | sort -u >"$dir/files"
cat "$dir/files"
echo "$(wc -l <"$dir/files") hand-written files, $(sed 's#/[^/]*$##; /\.go$/s#.*#.#' "$dir/files" | sort -u | wc -l) packages"
