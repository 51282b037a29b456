#!/bin/sh
# redis_fleet_bench.sh TERN TERN_LOAD - `tern server` processes and a
# real redis-server (started here on a free port and a Unix socket, and
# stopped), loaded by bench/tern_load with resumed connections (one
# request each, tickets saved from a warm-up):
#   1. server CPU per resumed connection (utime + stime of the process,
#      /proc/PID/stat) with the single-use record in memory, in Redis over
#      TCP, over the Unix socket; redis-server's CPU per connection (INFO);
#   2. two servers sharing one Redis and their ticket keys, each resuming
#      the other's tickets at once: resumed connections per second together,
#      against one server alone.
# One worker per server. Skips (77) without redis-server.
set -u
TERN=${1:?usage: redis_fleet_bench.sh path/to/tern path/to/tern_load}
LOAD=${2:?usage: redis_fleet_bench.sh path/to/tern path/to/tern_load}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
case $LOAD in /*) ;; *) LOAD=$(pwd)/$LOAD ;; esac
command -v redis-server >/dev/null 2>&1 || { echo "SKIP: no redis-server"; exit 77; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tern-fleet-bench.XXXXXX") || exit 1
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$DIR" || exit 1
N=${N:-2000}
TCK=$(getconf CLK_TCK)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
  -out cert.pem -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  >/dev/null 2>&1 || exit 1
RPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
  --unixsocket "$DIR/redis.sock" --dir "$DIR" --logfile redis.log &
PIDS="$PIDS $!"
i=0
until redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "redis-server did not start"; exit 1; }; sleep 0.1
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
redis_cpu() { redis-cli -p "$RPORT" info cpu | awk -F: '/used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'; }
field() { sed -n "s/.* $2 \\([0-9.]*\\).*/\\1/p" "$1"; }

# start NAME ARGS: one-worker tern server; NAME_PORT, NAME_PID
start() {
  name=$1
  shift
  "$TERN" server --cert cert.pem --key key.pem --www --port 0 --workers 1 -q "$@" \
    >"$name.log" 2>&1 &
  pid=$!
  PIDS="$PIDS $pid"
  i=0
  until grep -q "listening on" "$name.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "tern server $name did not start"; cat "$name.log"; exit 1; }; sleep 0.1
  done
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$name.log")
  eval "${name}_PORT=$port ${name}_PID=$pid"
}
stop() { eval "kill -TERM \$${1}_PID; wait \$${1}_PID 2>/dev/null"; }
# tickets NAME PORT: a warm-up that saves tickets (2 per connection)
tickets() {
  "$LOAD" --port "$2" --ca cert.pem --connections $((N / 2 + 50)) --concurrency 50 \
    --tickets-out "$1.tickets" >"$1.warm" 2>&1
}
# resume NAME PORT TICKETS: N resumed connections
resume() {
  "$LOAD" --port "$2" --ca cert.pem --connections "$N" --concurrency 50 --tickets-in "$3" \
    >"$1.out" 2>&1
}

echo "server CPU per resumed connection (tern server, 1 worker, $N connections of one request, tern_load):"
for mode in memory tcp unix; do
  case $mode in
    memory) start S ;;
    tcp) start S --redis "127.0.0.1:$RPORT" ;;
    unix) start S --redis "unix:$DIR/redis.sock" ;;
  esac
  tickets s "$S_PORT"
  c0=$(cpu_ticks "$S_PID")
  r0=$(redis_cpu)
  resume s "$S_PORT" s.tickets
  c1=$(cpu_ticks "$S_PID")
  r1=$(redis_cpu)
  stop S
  ok=$(field s.out requests_ok)
  res=$(field s.out resumed)
  us=$(echo "($c1 - $c0) * 1000000 / $TCK / $ok" | bc)
  rus=$(echo "($r1 - $r0) * 1000000 / $ok" | bc)
  eval "US_$mode=$us"
  printf '  %-7s %5s us server CPU, redis-server %4s us (%s requests, %s resumed, %s/s)\n' \
    "$mode" "$us" "$rus" "$ok" "$res" "$(field s.out rate)"
  [ "$mode" = memory ] || grep "redis:" S.log | sed 's/^/          /'
done
echo "  the Redis check per resumed connection: TCP $(echo "scale=2; $US_tcp / $US_memory" | bc)x, Unix socket $(echo "scale=2; $US_unix / $US_memory" | bc)x the in-memory server's CPU"

echo "two servers, one Redis (TCP), shared ticket keys, each resuming the other's tickets:"
start A --redis "127.0.0.1:$RPORT" --redis-rotate 600
start B --redis "127.0.0.1:$RPORT" --redis-rotate 600
tickets a "$A_PORT"
tickets b "$B_PORT"
resume alone "$A_PORT" b.tickets
tickets b "$B_PORT"
t0=$(date +%s.%N)
resume ab "$A_PORT" b.tickets &
p1=$!
resume ba "$B_PORT" a.tickets &
p2=$!
wait $p1 $p2
t1=$(date +%s.%N)
stop A
stop B
one=$(field alone.out rate)
both=$(echo "($(field ab.out requests_ok) + $(field ba.out requests_ok)) / ($t1 - $t0)" | bc)
echo "  one server alone: $one/s ($(field alone.out resumed) resumed of $(field alone.out requests_ok));" \
  "two together: $both/s ($(field ab.out resumed) + $(field ba.out resumed) resumed of" \
  "$(field ab.out requests_ok) + $(field ba.out requests_ok)), $(getconf _NPROCESSORS_ONLN) CPUs for the servers, the load clients and redis-server"
