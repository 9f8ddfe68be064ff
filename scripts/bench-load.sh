#!/usr/bin/env bash
# Load test on loopback (BENCHMARKS.md), bounded in time, servers killed on exit.
#
# 1. plannr-server (-db :memory: -rate-limit 0) beside the hand-written baseline
#    server, over HTTP with wrk: ROUNDS rounds of DURATION seconds each, the
#    servers taking turns (and which goes first rotating too), PUTting the
#    seed's label with the demo token. Prints each run, the medians of req/s and
#    p99 latency, and the median of the ratios to the baseline's req/s in the
#    same round. BEFORE=<git revision> adds plannr-server as built at that
#    revision to the rotation, and to the durable rounds below.
# 2. The durable path: plannr-server with -db on a file, beside sqlite-floor
#    (the same SQL, pragmas and disk, without HTTP): PUTs a second.
#
#   scripts/bench-load.sh   Environment: ROUNDS (5), DURATION (10, seconds),
#                           CONNS (16), THREADS (1, wrk's), PORT (18180 and up),
#                           DURABLE_ROUNDS (3), BEFORE (unset),
#                           DURABLE_DB (the -db of the durable runs: a file in a
#                           temporary directory; a postgres:// URL measures PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-5}
secs=${DURATION:-10}
conns=${CONNS:-16}
threads=${THREADS:-1}
port=${PORT:-18180}
durable_rounds=${DURABLE_ROUNDS:-3}
token=plannr-demo-token # the demo user that the servers seed on loopback
path=/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe

if ! command -v wrk >/dev/null; then
  echo "installing wrk from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get install -y -qq wrk >/dev/null ||
    { timeout 300 apt-get update -qq && timeout 300 apt-get install -y -qq wrk >/dev/null; }
fi

tmp=$(mktemp -d) # on the same disk as the repository here; the durable runs write there
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -d "$tmp/before-src" ]; then git worktree remove --force "$tmp/before-src" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

go build -o "$tmp/" ./cmd/plannr-server ./internal/baseline/cmd/baseline-server ./internal/baseline/cmd/sqlite-floor
servers=(full baseline)
if [ -n "${BEFORE:-}" ]; then
  git worktree add -q --detach "$tmp/before-src" "$BEFORE"
  (cd "$tmp/before-src" && go build -o "$tmp/plannr-server-before" ./cmd/plannr-server)
  git worktree remove --force "$tmp/before-src"
  servers+=(before)
fi

# start NAME PORT ARGS...: runs a server (its log, one line a request for
# plannr-server, is still written, to /dev/null) and waits until it answers.
start() {
  local name=$1 p=$2
  shift 2
  "$tmp/$name" -addr "127.0.0.1:$p" "$@" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    if curl -fs -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$p/api/v1/oauth/connections"; then
      return
    fi
    sleep 0.1
  done
  echo "$name did not start on port $p" >&2
  exit 1
}

cat >"$tmp/put.lua" <<LUA
wrk.method = "PUT"
wrk.path = "$path"
wrk.body = '{"label":"My Fundment Account 2"}'
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
LUA
# The durable runs send a new label each time: SQLite skips writing a row that
# an UPDATE leaves as it was (the same label within the same second of
# updated_at), and such a commit has nothing to fsync.
cat "$tmp/put.lua" - >"$tmp/put-new-label.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"label":"My Fundment Account ' .. n .. '"}')
end
LUA

# load PORT SCRIPT: one wrk run; prints "req/s p99-in-ms". Any non-2xx answer
# fails it.
load() {
  local out=$tmp/wrk.out
  timeout $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$tmp/$2" "http://127.0.0.1:$1" >"$out"
  if grep -q 'Non-2xx' "$out"; then
    cat "$out" >&2
    exit 1
  fi
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /s$/) return v * 1000
      return v
    }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%.0f %.3f\n", rps, p99 }' "$out"
}

# median: of the numbers on stdin.
median() {
  sort -n | awk '{ v[++n] = $1 } END { print (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }'
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)"
echo "wrk -t$threads -c$conns -d${secs}s, PUT $path, $rounds rounds"
echo

declare -A ports=([full]=$port [baseline]=$((port + 1)) [before]=$((port + 2)))
start plannr-server "${ports[full]}" -db :memory: -rate-limit 0
start baseline-server "${ports[baseline]}"
if [ -n "${BEFORE:-}" ]; then start plannr-server-before "${ports[before]}" -db :memory: -rate-limit 0; fi

for name in "${servers[@]}"; do : >"$tmp/$name" && : >"$tmp/$name.ratio"; done
printf '%-6s %-9s %10s %10s\n' round server req/s p99-ms
for round in $(seq "$rounds"); do
  # Rotate who goes first, so that no server always follows the same one.
  shift_by=$(((round - 1) % ${#servers[@]}))
  order=("${servers[@]:shift_by}" "${servers[@]:0:shift_by}")
  declare -A rps_of=()
  for name in "${order[@]}"; do
    read -r rps p99 < <(load "${ports[$name]}" put.lua)
    printf '%-6s %-9s %10s %10s\n' "$round" "$name" "$rps" "$p99"
    echo "$rps $p99" >>"$tmp/$name"
    rps_of[$name]=$rps
  done
  for name in "${servers[@]}"; do
    awk -v a="${rps_of[$name]}" -v b="${rps_of[baseline]}" 'BEGIN { printf "%.4f\n", a / b }' >>"$tmp/$name.ratio"
  done
done
echo
for name in "${servers[@]}"; do
  printf '%-9s median %8.0f req/s   p99 %6.3f ms   req/s / baseline'"'"'s in the same round: median %.3f [%s, %s]\n' "$name" \
    "$(cut -d' ' -f1 "$tmp/$name" | median)" "$(cut -d' ' -f2 "$tmp/$name" | median)" \
    "$(median <"$tmp/$name.ratio")" "$(sort -n "$tmp/$name.ratio" | head -1)" "$(sort -n "$tmp/$name.ratio" | tail -1)"
done

echo
echo "durable path: -db on a file (WAL, synchronous=FULL: each commit fsyncs the WAL),"
echo "beside sqlite-floor, the same SQL and pragmas with $conns workers and no HTTP; a new label each PUT"
start plannr-server $((port + 3)) -db "${DURABLE_DB:-$tmp/durable.db}" -rate-limit 0
if [ -n "${BEFORE:-}" ]; then start plannr-server-before $((port + 4)) -db "$tmp/durable-before.db" -rate-limit 0; fi
: >"$tmp/server-durable" && : >"$tmp/before-durable" && : >"$tmp/floor"
for round in $(seq "$durable_rounds"); do
  read -r rps p99 < <(load $((port + 3)) put-new-label.lua)
  floor=$(timeout $((secs + 30)) "$tmp/sqlite-floor" -db "$tmp/floor.db" -duration "${secs}s" -workers "$conns" | awk '{ print $(NF - 1) }')
  printf '%-6s server %8s PUT/s (p99 %s ms)   floor %8s PUT/s\n' "$round" "$rps" "$p99" "$floor"
  echo "$rps" >>"$tmp/server-durable"
  echo "$floor" >>"$tmp/floor"
  if [ -n "${BEFORE:-}" ]; then
    read -r rps p99 < <(load $((port + 4)) put-new-label.lua)
    printf '%-6s before %8s PUT/s (p99 %s ms)\n' "$round" "$rps" "$p99"
    echo "$rps" >>"$tmp/before-durable"
  fi
done
server=$(median <"$tmp/server-durable")
floor=$(median <"$tmp/floor")
printf 'median: server %.0f PUT/s, floor %.0f PUT/s, server / floor %.3f\n' "$server" "$floor" "$(awk -v a="$server" -v b="$floor" 'BEGIN { print a / b }')"
if [ -n "${BEFORE:-}" ]; then
  before=$(median <"$tmp/before-durable")
  printf 'median: before %.0f PUT/s, before / floor %.3f\n' "$before" "$(awk -v a="$before" -v b="$floor" 'BEGIN { print a / b }')"
fi
