#!/usr/bin/env bash
# Load test on loopback (BENCHMARKS.md), bounded in time, servers killed on exit.
# Every row of issues 12's and 20's tables, in one run, side by side:
#
# 1. Under wrk, an accepted PUT (200) and a rejected one (a label one
#    character too long: 422): the hand-written bare server (baseline-server),
#    plannr-server logging to /dev/null and to a file, any VARIANTS, and the
#    anchors (ANCHORS: the same PUT served by a hand-written net/http server,
#    ogen and oapi-codegen with nethttp-middleware), in ROUNDS rounds of
#    DURATION seconds, each round running every server once with the order
#    rotating. Each run prints req/s, p99, the server's CPU time per request
#    (from /proc/PID/stat) and the load average beside it; the summary gives
#    medians, the median of the per-round ratios to the bare server's req/s
#    (and to ogen's, with the anchors), and of the per-round differences of
#    CPU µs per request to the bare one's, and each server's peak resident
#    memory (VmHWM).
# 2. In-process: BenchmarkPUT's full stack beside the baseline, IN_PROCESS runs
#    of the test binary; paired ratios as scripts/bench.sh prints them.
# 3. The durable path: plannr-server with -db on a SQLite file, and on
#    PostgreSQL with DURABLE_DB, beside sqlite-floor (the same SQL, pragmas and
#    disk as the file, without HTTP): PUTs a second, each a new label, to one
#    connection (one row, which every write waits for) and to USERS users'
#    connections at random (as a service's traffic is), on PostgreSQL with
#    the shared rate limit too (a database round trip a request).
#
#   scripts/bench-load.sh   Environment:
#     ROUNDS (5), DURATION (3, seconds), CONNS (32), THREADS (2, wrk's),
#     PORT (the first port to try, random if unset), DURABLE_ROUNDS (3),
#     IN_PROCESS (5)
#     VARIANTS  more plannr-servers in the rotation, space-separated, each
#               NAME=REVISION[,VAR=VALUE...]: plannr-server as built at the git
#               REVISION ("." for the working tree), run with those environment
#               variables, logging to a file. E.g.
#               VARIANTS="main=main gogc100=.,GOGC=100"
#     BEFORE    a git revision: short for VARIANTS="before=REVISION", and that
#               server is put beside ours in the durable rounds too
#     ANCHORS   the anchors' module (the shared perf-anchors: ../shared or
#               ../../shared from the repository, the first that exists);
#               "none" leaves them out
#     DURABLE_DB  a postgres:// URL: the durable runs measure PostgreSQL on
#               that (empty) database too
#     USERS     the users, each with a connection, of the durable runs (1000)
#     BENCH_LOAD_SMOKE=1  one round of one second and one of everything else:
#               a test that the script works (CI), not a measurement.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${BENCH_LOAD_SMOKE:-}" ]; then
  : "${ROUNDS:=1}" "${DURATION:=1}" "${DURABLE_ROUNDS:=1}" "${IN_PROCESS:=1}" "${BENCHTIME:=2000x}"
fi
rounds=${ROUNDS:-5}
secs=${DURATION:-3}
conns=${CONNS:-32}
threads=${THREADS:-2}
port=${PORT:-$((20000 + RANDOM % 10000))}
durable_rounds=${DURABLE_ROUNDS:-3}
in_process=${IN_PROCESS:-5}
benchtime=${BENCHTIME:-1s}
users=${USERS:-1000}
token=plannr-demo-token # the demo user that the servers seed on loopback
path=/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe
if [ -z "${ANCHORS:-}" ]; then
  for dir in ../shared/perf-anchors ../../shared/perf-anchors; do
    if [ -d "$dir" ]; then ANCHORS=$(cd "$dir" && pwd) && break; fi
  done
fi
[ "${ANCHORS:-none}" = none ] && ANCHORS=

if ! command -v wrk >/dev/null; then
  echo "installing wrk from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get install -y -qq wrk >/dev/null ||
    { timeout 300 apt-get update -qq && timeout 300 apt-get install -y -qq wrk >/dev/null; }
fi

tmp=$(mktemp -d) # on the same disk as the repository here; the durable runs and the logs write there
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

go build -o "$tmp/" ./cmd/plannr-server ./internal/baseline/cmd/baseline-server ./internal/baseline/cmd/sqlite-floor
go test -c -o "$tmp/httpapi.test" ./internal/httpapi
if [ -n "$ANCHORS" ]; then
  # A module of its own, perhaps read-only: generated and built in a copy, as
  # its side-by-side.sh does.
  cp -r "$ANCHORS" "$tmp/anchors" && chmod -R u+w "$tmp/anchors"
  (cd "$tmp/anchors" && go tool oapi-codegen -config oapigen/cfg.yaml spec/openapi.yaml &&
    go tool ogen -package ogenapi -target ogenapi -clean spec/openapi.yaml >/dev/null 2>&1 &&
    go build -o "$tmp/anchor-bin/" ./cmd/bare ./cmd/ogen ./cmd/oapi-naive)
fi

# The rows under wrk: name, binary, environment (VAR=VALUE,...), log target,
# and the wrk scripts' prefix (the anchors have a token of their own).
names=(bare ours-devnull ours-file)
declare -A bin=([bare]=baseline-server [ours-devnull]=plannr-server [ours-file]=plannr-server)
declare -A envs=() logto=([bare]=/dev/null [ours-devnull]=/dev/null [ours-file]="$tmp/ours-file.log") script=()
for v in ${VARIANTS:-} ${BEFORE:+before=$BEFORE}; do
  name=${v%%=*}
  spec=${v#*=}
  rev=${spec%%,*}
  [[ $spec == *,* ]] && envs[$name]=${spec#*,}
  if [ "$rev" = . ]; then
    bin[$name]=plannr-server
  else
    git worktree add -q --detach "$tmp/src-$name" "$rev"
    (cd "$tmp/src-$name" && go build -o "$tmp/plannr-server-$name" ./cmd/plannr-server)
    git worktree remove --force "$tmp/src-$name"
    bin[$name]=plannr-server-$name
  fi
  logto[$name]=$tmp/$name.log
  names+=("$name")
done
anchors=()
if [ -n "$ANCHORS" ]; then
  for name in bare ogen oapi; do
    bin[anchor-$name]=anchor-bin/$name logto[anchor-$name]=/dev/null script[anchor-$name]=anchor-
    anchors+=("anchor-$name")
  done
  bin[anchor-oapi]=anchor-bin/oapi-naive
  names+=("${anchors[@]}")
fi

declare -A ports=() pid_of=()
# free_port: the next port from $port on that nothing listens on. The ports
# start below Linux's ephemeral range (32768 on), where no outgoing connection
# holds one; a port another program binds between this look and the server's
# own bind is caught by start, which moves on to the next.
free_port() {
  while (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}
# start NAME [ARGS...]: runs a server on a free port (ports[NAME]) and waits
# until it answers; a server that exits first (its port was taken) is started
# again on the next free port, up to five times.
start() {
  local name=$1 p
  shift
  for _ in 1 2 3 4 5; do
    p=$(free_port)
    port=$((p + 1))
    ports[$name]=$p
    if start_on "$name" "$p" "$@"; then return; fi
  done
  echo "$name did not start" >&2
  if [ "${logto[$name]:-/dev/null}" != /dev/null ]; then tail -5 "${logto[$name]}" >&2; fi
  exit 1
}
# start_on NAME PORT ARGS...: one try of start; fails when the server exits
# before it answers, and ends the script when it does not answer within 30 s
# (a slow server is not helped by another port). A plannr-server answers the
# list; an anchor (whose only route is the PUT) is up once it accepts
# connections.
start_on() {
  local name=$1 p=$2
  shift 2
  local -a env_args=()
  if [ -n "${envs[$name]:-}" ]; then IFS=, read -r -a env_args <<<"${envs[$name]}"; fi
  case $name in
    anchor-*) "$tmp/${bin[$name]}" -addr "127.0.0.1:$p" >/dev/null 2>&1 & ;;
    *) env "${env_args[@]}" "$tmp/${bin[$name]}" -addr "127.0.0.1:$p" "$@" >/dev/null 2>>"${logto[$name]}" & ;;
  esac
  local pid=$!
  pids+=("$pid")
  pid_of[$name]=$pid
  for _ in $(seq 300); do
    case $name in
      anchor-*) if (: </dev/tcp/127.0.0.1/"$p") 2>/dev/null; then return 0; fi ;;
      *) if curl -fs -o /dev/null -H "Authorization: Bearer ${probe_token:-$token}" "http://127.0.0.1:$p/api/v1/oauth/connections"; then return 0; fi ;;
    esac
    kill -0 "$pid" 2>/dev/null || { echo "$name exited before it answered on port $p; trying the next port" >&2 && return 1; }
    sleep 0.1
  done
  echo "$name did not answer on port $p within 30 s" >&2
  exit 1
}

# wrk_script PREFIX KIND TOKEN LABEL: the PUT of LABEL, accepted or rejected.
wrk_script() {
  cat >"$tmp/$1$2.lua" <<LUA
wrk.method = "PUT"
wrk.path = "$path"
wrk.body = '{"label":"$4"}'
wrk.headers["Authorization"] = "Bearer $3"
wrk.headers["Content-Type"] = "application/json"
LUA
}
# 256 characters, one over the label's maxLength: 422, or the anchors' 400.
too_long=$(printf 'x%.0s' $(seq 256))
wrk_script "" accepted "$token" "My Fundment Account 2"
wrk_script "" rejected "$token" "$too_long"
wrk_script anchor- accepted secret "My Fundment Account 2" # the anchors' token
wrk_script anchor- rejected secret "$too_long"
# The durable runs send a new label each time: SQLite skips writing a row that
# an UPDATE leaves as it was (the same label within the same second of
# updated_at), and such a commit has nothing to fsync. They PUT to the
# connection of user 1 of durable.json, or of one of its users at random.
# durable_script NAME USERS
durable_script() {
  cat >"$tmp/$1.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local i = math.random($2)
  local headers = {["Authorization"] = "Bearer durable-user-" .. i, ["Content-Type"] = "application/json"}
  return wrk.format("PUT", string.format("/api/v1/oauth/connections/00000000-0000-4000-8000-%012d", i), headers,
    '{"label":"Label ' .. n .. '"}')
end
LUA
}
durable_script one-row 1
durable_script many-rows "$users"
{
  printf '{"users": ['
  for i in $(seq "$users"); do
    [ "$i" = 1 ] || printf ','
    printf '{"token": "durable-user-%d", "connections": [{"uuid": "00000000-0000-4000-8000-%012d", "provider": "fundment", "label": "Label %d", "created_at": "2025-06-25T15:10:48+01:00"}]}' "$i" "$i" "$i"
  done
  printf ']}\n'
} >"$tmp/durable.json"

# cpu_ticks PID: the process's user and system CPU time, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# load PORT SCRIPT [PID]: one wrk run; prints "req/s p99-in-ms CPU-µs-per-request"
# (the last 0 without a PID). Any non-2xx answer fails it, and for a rejected
# PUT any 2xx.
load() {
  local out=$tmp/wrk.out before=0 after=0
  if [ -n "${3:-}" ]; then before=$(cpu_ticks "$3"); fi
  timeout $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$tmp/$2" "http://127.0.0.1:$1" >"$out"
  if [ -n "${3:-}" ]; then after=$(cpu_ticks "$3"); fi
  if [[ $2 == *rejected* ]]; then
    if ! awk '/ requests in / { n = $1 } /Non-2xx/ { bad = $NF } END { exit !(n > 0 && bad == n) }' "$out"; then
      cat "$out" >&2
      exit 1
    fi
  elif grep -q 'Non-2xx' "$out"; then
    cat "$out" >&2
    exit 1
  fi
  awk -v ticks=$((after - before)) -v hz="$hz" '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /s$/) return v * 1000
      return v
    }
    / requests in / { n = $1 }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%.0f %.3f %.1f\n", rps, p99, (n ? ticks / hz * 1e6 / n : 0) }' "$out"
}

# median: of the numbers on stdin; range: "[min, max]" of them.
median() {
  sort -g | awk '{ v[++n] = $1 } END { print (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }'
}
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "[%s, %s]", lo, hi }'; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3), $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo +changes)"
echo "1. under wrk -t$threads -c$conns -d${secs}s: PUT $path, in-memory store, rate limit off, $rounds rounds,"
echo "   accepted ({\"label\":\"My Fundment Account 2\"}: 200) and rejected (a label of 256 characters: 422, the anchors' 400)"
for name in "${names[@]}"; do
  case $name in
    anchor-*) printf '   %-14s the anchors'"'"' %s, logs nothing\n' "$name" "${bin[$name]#anchor-bin/}" ;;
    *) printf '   %-14s %s%s, logs to %s\n' "$name" "${bin[$name]}" "${envs[$name]:+ with ${envs[$name]}}" "$([ "${logto[$name]}" = /dev/null ] && echo /dev/null || echo a file)" ;;
  esac
done
echo

for name in "${names[@]}"; do
  case $name in
    bare | anchor-*) start "$name" ;;
    *) start "$name" -db :memory: -rate-limit 0 ;;
  esac
done

for kind in accepted rejected; do
  for name in "${names[@]}"; do
    : >"$tmp/$name.$kind.runs" && : >"$tmp/$name.$kind.ratio" && : >"$tmp/$name.$kind.ogen" && : >"$tmp/$name.$kind.cpudiff"
  done
  printf '%-6s %-9s %-14s %10s %9s %12s %6s\n' round kind server req/s p99-ms cpu-µs/req load
  for round in $(seq "$rounds"); do
    # Rotate who goes first, so that no server always follows the same one.
    shift_by=$(((round - 1) % ${#names[@]}))
    order=("${names[@]:shift_by}" "${names[@]:0:shift_by}")
    declare -A rps_of=() cpu_of=()
    for name in "${order[@]}"; do
      la=$(loadavg)
      read -r rps p99 cpu < <(load "${ports[$name]}" "${script[$name]:-}$kind.lua" "${pid_of[$name]}")
      printf '%-6s %-9s %-14s %10s %9s %12s %6s\n' "$round" "$kind" "$name" "$rps" "$p99" "$cpu" "$la"
      echo "$rps $p99 $cpu" >>"$tmp/$name.$kind.runs"
      rps_of[$name]=$rps
      cpu_of[$name]=$cpu
    done
    for name in "${names[@]}"; do
      awk -v a="${rps_of[$name]}" -v b="${rps_of[bare]}" 'BEGIN { printf "%.4f\n", a / b }' >>"$tmp/$name.$kind.ratio"
      awk -v a="${cpu_of[$name]}" -v b="${cpu_of[bare]}" 'BEGIN { printf "%.1f\n", a - b }' >>"$tmp/$name.$kind.cpudiff"
      if [ -n "${rps_of[anchor-ogen]:-}" ]; then
        awk -v a="${rps_of[$name]}" -v b="${rps_of[anchor-ogen]}" 'BEGIN { printf "%.4f\n", a / b }' >>"$tmp/$name.$kind.ogen"
      fi
    done
    # The logs to a file grow by megabytes a round; they are opened to append.
    for name in "${names[@]}"; do [ "${logto[$name]}" = /dev/null ] || : >"${logto[$name]}"; done
  done
  echo
  printf '%-9s %-14s %9s %8s %9s %8s   %-28s %-28s %s\n' kind server req/s p99-ms cpu-µs peak-MB "req/s ÷ bare's, same round" "cpu-µs − bare's, same round" \
    "$([ -n "$ANCHORS" ] && echo "req/s ÷ ogen's, same round")"
  for name in "${names[@]}"; do
    printf '%-9s %-14s %9.0f %8.3f %9.1f %8.0f   %-28s %-28s %s\n' "$kind" "$name" \
      "$(cut -d' ' -f1 "$tmp/$name.$kind.runs" | median)" "$(cut -d' ' -f2 "$tmp/$name.$kind.runs" | median)" \
      "$(cut -d' ' -f3 "$tmp/$name.$kind.runs" | median)" \
      "$(awk '/^VmHWM:/ { print $2 / 1024 }' "/proc/${pid_of[$name]}/status")" \
      "$(median <"$tmp/$name.$kind.ratio") $(range <"$tmp/$name.$kind.ratio")" \
      "$(median <"$tmp/$name.$kind.cpudiff") $(range <"$tmp/$name.$kind.cpudiff")" \
      "$([ -s "$tmp/$name.$kind.ogen" ] && echo "$(median <"$tmp/$name.$kind.ogen") $(range <"$tmp/$name.$kind.ogen")")"
  done
  echo
done
for pid in "${pid_of[@]}"; do kill "$pid" 2>/dev/null || true; done

echo
echo "2. in-process, BenchmarkPUT (one P), full ÷ baseline in the same run, $in_process runs (load $(loadavg))"
for _ in $(seq "$in_process"); do
  "$tmp/httpapi.test" -test.run '^$' -test.bench '^BenchmarkPUT$' -test.benchmem -test.count 1 -test.cpu 1 -test.benchtime "$benchtime"
done | awk '
  /^BenchmarkPUT\// {
    impl = $1; sub(/.*impl=/, "", impl); sub(/-[0-9]+$/, "", impl)
    for (i = 3; i < NF; i++) {
      if ($(i + 1) == "ns/op") ns[impl] = $i
      if ($(i + 1) == "cpu-ns/op") cpu[impl] = $i
      if ($(i + 1) == "allocs/op") allocs[impl] = $i
    }
    if (impl == "full") printf "%.3f %.3f %d %d %.0f %.0f\n", ns["full"] / ns["baseline"], cpu["full"] / cpu["baseline"], allocs["full"], allocs["baseline"], ns["full"], ns["baseline"]
  }' >"$tmp/inproc"
printf '   ns/op ÷ baseline %s %s   cpu-ns/op ÷ baseline %s %s\n   allocs/op %s (baseline %s)   full %s ns/op, baseline %s ns/op (medians)\n' \
  "$(cut -d' ' -f1 "$tmp/inproc" | median)" "$(cut -d' ' -f1 "$tmp/inproc" | range)" \
  "$(cut -d' ' -f2 "$tmp/inproc" | median)" "$(cut -d' ' -f2 "$tmp/inproc" | range)" \
  "$(cut -d' ' -f3 "$tmp/inproc" | median)" "$(cut -d' ' -f4 "$tmp/inproc" | median)" \
  "$(cut -d' ' -f5 "$tmp/inproc" | median)" "$(cut -d' ' -f6 "$tmp/inproc" | median)"

echo
echo "3. durable path: a new label each PUT, by $conns connections; -db on a file (SQLite: WAL, synchronous=FULL, each commit"
echo "   fsyncs the WAL)${DURABLE_DB:+ and on PostgreSQL (DURABLE_DB)}, beside sqlite-floor, the same SQL and pragmas with $conns workers"
echo "   and no HTTP. One row: every PUT to one connection; $users rows: to one of $users users' connections at random"
# The durable servers: name, -db, wrk script, more flags. The PostgreSQL ones
# share the database, each on fixtures that the others add nothing to.
durable=(sqlite-one sqlite-many)
declare -A db_of=([sqlite-one]=$tmp/durable-one.db [sqlite-many]=$tmp/durable-many.db) load_of=([sqlite-one]=one-row [sqlite-many]=many-rows) flags_of=()
if [ -n "${DURABLE_DB:-}" ]; then
  durable+=(postgres-one postgres-many postgres-limited)
  db_of[postgres-one]=$DURABLE_DB db_of[postgres-many]=$DURABLE_DB db_of[postgres-limited]=$DURABLE_DB
  load_of[postgres-one]=one-row load_of[postgres-many]=many-rows load_of[postgres-limited]=many-rows
  flags_of[postgres-limited]="-rate-limit $((users * 1000))" # never reached: what counting costs, not refusing
fi
if [ -n "${BEFORE:-}" ]; then
  durable+=(before-one)
  db_of[before-one]=$tmp/durable-before.db load_of[before-one]=one-row
fi
probe_token="durable-user-1"
for name in "${durable[@]}"; do
  logto[$name]=$tmp/$name.log bin[$name]=plannr-server
  [ "$name" = before-one ] && bin[$name]=plannr-server-before
  # shellcheck disable=SC2086 # flags_of holds words
  start "$name" -db "${db_of[$name]}" -fixtures "$tmp/durable.json" ${flags_of[$name]:--rate-limit 0}
  : >"$tmp/$name.durable"
done
: >"$tmp/floor"
printf '%-6s %-18s %10s %9s %12s %6s\n' round server PUT/s p99-ms cpu-µs/PUT load
for round in $(seq "$durable_rounds"); do
  la=$(loadavg)
  floor=$(timeout $((secs + 30)) "$tmp/sqlite-floor" -db "$tmp/floor.db" -duration "${secs}s" -workers "$conns" | awk '{ print $(NF - 1) }')
  printf '%-6s %-18s %10.0f %9s %12s %6s\n' "$round" sqlite-floor "$floor" "" "" "$la"
  echo "$floor" >>"$tmp/floor"
  for name in "${durable[@]}"; do
    la=$(loadavg)
    read -r rps p99 cpu < <(load "${ports[$name]}" "${load_of[$name]}.lua" "${pid_of[$name]}")
    printf '%-6s %-18s %10s %9s %12s %6s\n' "$round" "$name" "$rps" "$p99" "$cpu" "$la"
    echo "$rps $p99 $cpu" >>"$tmp/$name.durable"
  done
done
floor=$(median <"$tmp/floor")
printf '\nmedians: sqlite-floor %.0f PUT/s\n' "$floor"
for name in "${durable[@]}"; do
  rps=$(cut -d' ' -f1 "$tmp/$name.durable" | median)
  printf '%-18s %8.0f PUT/s   p99 %7.3f ms   cpu %6.1f µs/PUT   ÷ floor %.3f\n' "$name" "$rps" \
    "$(cut -d' ' -f2 "$tmp/$name.durable" | median)" "$(cut -d' ' -f3 "$tmp/$name.durable" | median)" \
    "$(awk -v a="$rps" -v b="$floor" 'BEGIN { print a / b }')"
done
if [ -n "${DURABLE_DB:-}" ]; then
  paste -d' ' "$tmp/postgres-limited.durable" "$tmp/postgres-many.durable" |
    awk '{ print $1 / $4 }' | median | awk '{ printf "the shared rate limit on PostgreSQL: %.3f× the PUT/s without it (median of the rounds'"'"' ratios)\n", $1 }'
fi
