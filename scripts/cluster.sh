#!/usr/bin/env bash
# A local cluster: three plannr-server replicas on one PostgreSQL, as behind a
# load balancer (README, "Several replicas on PostgreSQL"). Ctrl-C stops it all.
#
#   scripts/cluster.sh [plannr-server flags...]    (make cluster ARGS=...)
#
# Environment: PLANNR_DB, a postgres:// URL to use; without it a throwaway
# PostgreSQL is started (.ci/postgres) and removed at exit. PORT, the first
# replica's port, the others following (PORT=8081: 8081-8083); without it each
# replica listens on a free port the kernel picks (.ci/listening), and the
# script prints them. Flags are passed to every replica, e.g. -rate-limit 20
# -rate-window 10s, or -fixtures FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/listening
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
  if declare -F pg_teardown >/dev/null; then pg_teardown; fi
}
if [ -z "${PLANNR_DB:-}" ]; then
  source .ci/postgres
  PLANNR_DB=$PLANNR_TEST_POSTGRES_URL
fi
trap cleanup EXIT
trap "exit 130" INT TERM

go build -o "$tmp/" ./cmd/plannr-server
urls=()
for i in 0 1 2; do
  port=0
  if [ -n "${PORT:-}" ]; then port=$((PORT + i)); fi
  # Started together, as a deployment would: one migrates, the others wait.
  "$tmp/plannr-server" -addr "127.0.0.1:$port" -db "$PLANNR_DB" "$@" >"$tmp/replica-$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do
  url=$(listening_url "$tmp/replica-$i.log" "${pids[$i]}")
  urls+=("$url")
  for _ in $(seq 100); do
    if curl -fs -o /dev/null "${urls[$i]}/readyz"; then continue 2; fi
    sleep 0.1
  done
  echo "replica $i did not get ready:" >&2
  cat "$tmp/replica-$i.log" >&2
  exit 1
done
echo "three replicas on one PostgreSQL; logs in $tmp (tail -f $tmp/replica-*.log)"
for url in "${urls[@]}"; do echo "  $url"; done
echo "Try: curl -H 'Authorization: Bearer plannr-demo-token' ${urls[1]}/api/v1/oauth/connections"
echo "Ctrl-C stops the replicas (and the throwaway PostgreSQL)."
wait -n "${pids[@]}" || true
echo "a replica exited" >&2
