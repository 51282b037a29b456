#!/bin/sh
# server_bench.sh TERN TERN_LOAD - `tern server --www` against nginx (Debian
# nginx on OpenSSL 3), side by side in one run on 127.0.0.1: same
# certificate (ECDSA P-256), same suite (TLS_AES_128_GCM_SHA256), same
# group (X25519), same response size, TLS 1.3 only, one worker each, then
# tern with --workers 2 (and nginx with 2 for the record).
#
# What is measured is the SERVER's CPU: the scheduler's run time (user +
# system, ns) of all its processes and threads, /proc/PID/task/*/schedstat,
# read before and after each run, divided by the work done. Both servers
# run side by side and the work comes in interleaved rounds (tern, nginx,
# nginx, tern, ...); each round's nginx/tern ratio is taken from its two
# back-to-back runs, and the median of those ratios is the figure (on a
# machine shared with other work, the CPU cost of the same work drifts by
# half between phases of its load: the median of each server alone can
# fall in different phases). With one worker each, both servers are
# pinned to the last CPU and the load tool to the others. The same load
# client drives both (its CPU is printed, not counted):
#   new      tern_load: 500 connections, 50 at a time, one request each
#            (full TLS 1.3 handshakes; both servers send 2 tickets), x7
#   resumed  tern_load: 500 connections, 50 at a time, each offering a
#            ticket from a run just before against the same server
#            (psk_dhe_ke), x7
#   request  h2load --h1: 50 clients x 200 requests on kept-alive
#            connections (the 50 handshakes included), x5
#   ttfb     tern_load: 2000 clients at once, one request each: p50/p99
#            time from connect() to the first byte of the response, once
#   idle     RSS growth of the server over 1000 established idle
#            connections (opened 20 at a time, held 4 s), per connection,
#            measured first, on a server that served 100 connections
# then, with 2 workers each (not pinned), new and resumed x3.
# SERVER_BENCH_ROUNDS (7) and SERVER_BENCH_NEW (500) change the first.
set -u
TERN=${1:?usage: server_bench.sh TERN TERN_LOAD}
LOAD=${2:?usage: server_bench.sh TERN TERN_LOAD}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
case $LOAD in /*) ;; *) LOAD=$(pwd)/$LOAD ;; esac
for t in nginx h2load openssl; do
  command -v $t >/dev/null 2>&1 || { echo "server_bench: no $t; skipped"; exit 0; }
done
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tern-sbench.XXXXXX") || exit 1
SPID=""
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$DIR" || exit 1
TCK=$(getconf CLK_TCK)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
  -out cert.pem -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  >/dev/null 2>&1 || exit 1

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cpu_ns PID: CPU time (user + system) of PID and its children (nginx's
# master and worker), every thread of each, in ns: the scheduler's run time
# (/proc/P/task/*/schedstat, ns precision); else fields 14 and 15 of
# /proc/P/stat (clock ticks of 10 ms: too coarse for one round)
cpu_ns() {
  for p in $1 $(pgrep -P "$1"); do
    if [ -r "/proc/$p/schedstat" ]; then
      cat /proc/"$p"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f\n", t }'
    else
      awk -v tck="$TCK" '{ printf "%.0f\n", ($14 + $15) * 1e9 / tck }' "/proc/$p/stat" 2>/dev/null
    fi
  done | awk '{ t += $1 } END { printf "%.0f", t }'
}
rss_kb() {
  t=0
  for p in $1 $(pgrep -P "$1"); do
    v=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo $t
}

# PIN: with one worker each, both servers run on CPU $SCPU and the load
# tool on the other(s) (SERVER_BENCH_PIN=0 lets the scheduler place them)
NCPU=$(nproc)
SCPU=$((NCPU - 1))
PINS="" PINL=""
if [ "${SERVER_BENCH_PIN:-1}" = 1 ] && [ "$NCPU" -gt 1 ] && command -v taskset >/dev/null; then
  PINS="taskset -c $SCPU" PINL="taskset -c 0-$((SCPU - 1))"
fi

# start_tern WORKERS: sets tern_PID, tern_PORT
start_tern() {
  pin=$PINS
  [ "$1" -gt 1 ] && pin=""
  $pin "$TERN" server --cert cert.pem --key key.pem --port 0 --www -q --workers "$1" \
    --ciphersuites TLS_AES_128_GCM_SHA256 --groups X25519 --max-conns 20000 >tern.log 2>&1 &
  tern_PID=$!
  i=0
  while [ $i -lt 50 ] && ! grep -q "listening on" tern.log 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  tern_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' tern.log)
}

# start_nginx WORKERS: sets nginx_PID, nginx_PORT
start_nginx() {
  pin=$PINS
  [ "$1" -gt 1 ] && pin=""
  nginx_PORT=$(free_port)
  cat >nginx.conf <<EOF
worker_processes $1;
daemon off;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path $DIR; proxy_temp_path $DIR; fastcgi_temp_path $DIR;
  uwsgi_temp_path $DIR; scgi_temp_path $DIR;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$nginx_PORT ssl;
    ssl_certificate $DIR/cert.pem;
    ssl_certificate_key $DIR/key.pem;
    ssl_protocols TLSv1.3;
    ssl_ecdh_curve X25519;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
    default_type text/html;
    location / { return 200 "$BODY"; }
  }
}
EOF
  $pin nginx -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf" -p "$DIR" &
  nginx_PID=$!
  i=0
  while [ $i -lt 50 ] && ! ss -ltn "( sport = :$nginx_PORT )" | grep -q LISTEN; do
    sleep 0.1
    i=$((i + 1))
  done
  sleep 0.3
}

stop_servers() {
  for p in $SPID; do kill -TERM "$p" 2>/dev/null; done
  for p in $SPID; do wait "$p" 2>/dev/null; done
  SPID=""
}

# run_h2load PORT ARGS... -> H_OK H_FAIL H_RATE H_WALL H_CPU
run_h2load() {
  port=$1
  shift
  $PINL /usr/bin/time -f "%U %S" -o h2.time h2load --h1 -t 1 "$@" "https://127.0.0.1:$port/" >h2.out 2>&1
  H_OK=$(sed -n 's/.* \([0-9]*\) succeeded, \([0-9]*\) failed.*/\1/p' h2.out)
  H_FAIL=$(sed -n 's/.* succeeded, \([0-9]*\) failed.*/\1/p' h2.out)
  H_RATE=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' h2.out)
  H_WALL=$(sed -n 's/^finished in \([0-9.]*\)\(m*s\),.*/\1 \2/p' h2.out |
    awk '{ print ($2 == "ms") ? $1 / 1000 : $1 }')
  H_CPU=$(awk '{ print $1 + $2 }' h2.time)
}

load() { $PINL "$LOAD" "$@"; }
field() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p" "$2"; }

# one_run KIND NAME: one measured run of KIND against server NAME; appends
# "KIND|NAME|round|server ns per unit|units|detail" to rounds
one_run() {
  kind=$1 name=$2
  eval "pid=\$${name}_PID port=\$${name}_PORT"
  case $kind in
  new)
    c0=$(cpu_ns "$pid")
    load --port "$port" --ca cert.pem --connections "$NEW_N" --concurrency "$NEW_C" >run.out
    c1=$(cpu_ns "$pid")
    n=$(field requests_ok run.out)
    detail="tern_load: $n ok of $NEW_N, $(field handshakes run.out) handshakes, $(field rate run.out)/s, client CPU $(field client_cpu_s run.out) s in $(field wall_s run.out) s"
    ;;
  resumed)
    # its tickets: from a run of its own, not measured (2 per connection)
    load --port "$port" --ca cert.pem --connections $(((RES_N + 1) / 2)) --concurrency "$RES_C" \
      --tickets-out tickets.bin >/dev/null
    c0=$(cpu_ns "$pid")
    load --port "$port" --ca cert.pem --connections "$RES_N" --concurrency "$RES_C" \
      --tickets-in tickets.bin >run.out
    c1=$(cpu_ns "$pid")
    n=$(field requests_ok run.out)
    detail="tern_load: $n ok of $RES_N, $(field resumed run.out) resumed, $(field rate run.out)/s, client CPU $(field client_cpu_s run.out) s in $(field wall_s run.out) s"
    ;;
  request)
    c0=$(cpu_ns "$pid")
    run_h2load "$port" -n "$REQ_N" -c "$REQ_C"
    c1=$(cpu_ns "$pid")
    n=$H_OK
    detail="h2load: $H_OK ok, $H_FAIL failed, $H_RATE/s, h2load CPU $H_CPU s in $H_WALL s"
    ;;
  esac
  if [ -z "$n" ] || [ "$n" -le 0 ]; then
    echo "server_bench: $kind against $name did no work"
    exit 1
  fi
  echo "$kind|$name$SUFFIX|$r|$(((c1 - c0) / n))|$n|$detail; server CPU $(awk -v d=$((c1 - c0)) 'BEGIN { printf "%.3f", d / 1e9 }') s" >>rounds
}

# interleaved KIND ROUNDS: ROUNDS rounds of KIND, tern first in odd rounds
# and nginx first in even ones, so that a change in the machine's load
# falls on both
interleaved() {
  r=1
  while [ $r -le "$2" ]; do
    if [ $((r % 2)) = 1 ]; then
      one_run "$1" tern
      one_run "$1" nginx
    else
      one_run "$1" nginx
      one_run "$1" tern
    fi
    r=$((r + 1))
  done
}

# paired KIND W: "median min max" of the rounds' nginx/tern ratios (the two
# runs of a round are back to back, so a slow phase of the machine falls on
# both: this is the figure to judge by)
paired() {
  awk -F'|' -v k="$1" -v w="$2" '$1 == k && $2 == "tern " w { t[$3] = $4 }
    $1 == k && $2 == "nginx " w { g[$3] = $4 }
    END { for (r in t) if (r in g && t[r] > 0) print g[r] / t[r] }' rounds | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "0 0 0"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}

# stats KIND NAME: "median min max" of the rounds' ns per unit
stats() {
  awk -F'|' -v k="$1" -v n="$2" '$1 == k && $2 == n { print $4 }' rounds | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "0 0 0"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.0f %.0f %.0f\n", m, v[1], v[NR] }'
}

ROUNDS=${SERVER_BENCH_ROUNDS:-7}
NEW_N=${SERVER_BENCH_NEW:-500} NEW_C=50
RES_N=500 RES_C=50
REQ_N=10000 REQ_C=50

# the same response size as tern's page
start_tern 1
SPID=$tern_PID
PAGE=$(curl -sk "https://127.0.0.1:$tern_PORT/" | wc -c)
stop_servers
BODY=$(head -c "$((PAGE - 1))" /dev/zero | tr '\0' 'x')

: >rounds
: >details

# --- one worker each, side by side --------------------------------------
start_tern 1
start_nginx 1
SPID="$tern_PID $nginx_PID"
SUFFIX=" x1"
# memory per idle connection, first: on servers warmed by 100 connections
# only (after thousands of handshakes the heap has room to spare)
for name in tern nginx; do
  eval "pid=\$${name}_PID port=\$${name}_PORT"
  load --port "$port" --ca cert.pem --connections 100 --concurrency 20 >/dev/null
  r0=$(rss_kb "$pid")
  load --port "$port" --ca cert.pem --kind idle --connections 1000 --concurrency 20 \
    --hold 4 >idle.out &
  lp=$!
  i=0
  while [ $i -lt 100 ] && ! [ "$(ss -tn state established "( sport = :$port )" | wc -l)" -gt 1000 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  sleep 1
  r1=$(rss_kb "$pid")
  wait $lp
  eval "${name}_IDLE=$(echo "scale=1; ($r1 - $r0) / 1000" | bc)"
  echo "idle|$name x1|RSS $r0 -> $r1 KiB over 1000 idle connections; $(cat idle.out)" >>details
done
# warm-up
for name in tern nginx; do
  eval "port=\$${name}_PORT"
  load --port "$port" --ca cert.pem --connections 500 --concurrency 50 >/dev/null
done
interleaved new "$ROUNDS"
interleaved resumed "$ROUNDS"
interleaved request 5
# time to first byte, 2000 clients at once, once each
for name in tern nginx; do
  eval "port=\$${name}_PORT"
  load --port "$port" --ca cert.pem --connections 2000 --concurrency 2000 >ttfb.out
  eval "${name}_P50=$(field ttfb_p50_ms ttfb.out) ${name}_P99=$(field ttfb_p99_ms ttfb.out)"
  echo "ttfb|$name x1|$(cat ttfb.out)" >>details
done
stop_servers

# --- two workers each (not pinned), fewer rounds ------------------------
start_tern 2
start_nginx 2
SPID="$tern_PID $nginx_PID"
SUFFIX=" x2"
for name in tern nginx; do
  eval "port=\$${name}_PORT"
  load --port "$port" --ca cert.pem --connections 500 --concurrency 50 >/dev/null
done
interleaved new 3
interleaved resumed 3
stop_servers

echo "machine: $NCPU cores (shared with other work), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(uname -r); nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), $(openssl version | cut -d' ' -f1-2)"
echo "response: $PAGE bytes from both; suite TLS_AES_128_GCM_SHA256, group X25519, ECDSA P-256; 2 session tickets per full handshake from both (tern's default; OpenSSL's default, kept by nginx)"
[ -n "$PINS" ] && echo "one worker each: both servers pinned to CPU $SCPU, the load tool (tern_load, h2load) to the other(s)"
echo "server CPU: scheduler run time of all the server's processes and threads (/proc/PID/task/*/schedstat) over each run, divided by the work done; the load tool's CPU is not counted"
echo
echo "rounds (server CPU per connection or request):"
awk -F'|' '{ printf "  %-8s %-9s round %s: %8.1f us  (%s)\n", $1, $2, $3, $4 / 1000, $6 }' rounds
awk -F'|' '{ printf "  %-8s %-9s %s\n", $1, $2, $3 }' details
echo
printf '%-28s %-4s %24s %24s %22s %7s\n' figure wkrs "tern us: median (range)" \
  "nginx us: median (range)" "nginx/tern, per round" target
for w in x1 x2; do
  for kind in new resumed request; do
    set -- $(stats $kind "tern $w") $(stats $kind "nginx $w") $(paired $kind $w)
    [ "$1" = 0 ] && continue
    case $kind in
    new) label="CPU per new connection" tg=">= 1.5" ;;
    resumed) label="CPU per resumed connection" tg=">= 1.5" ;;
    request) label="CPU per kept-alive request" tg=">= 1.0" ;;
    esac
    awk -v l="$label" -v w="$w" -v t="$tg" -v a="$1" -v a0="$2" -v a1="$3" -v b="$4" -v b0="$5" -v b1="$6" \
      -v q="$7" -v q0="$8" -v q1="$9" 'BEGIN {
      printf "%-28s %-4s %8.1f (%6.1f-%6.1f) %8.1f (%6.1f-%6.1f) %6.2fx (%4.2f-%4.2f) %7s\n", l, w,
        a / 1000, a0 / 1000, a1 / 1000, b / 1000, b0 / 1000, b1 / 1000, q, q0, q1, t }'
  done
done
awk -v a="$tern_IDLE" -v b="$nginx_IDLE" 'BEGIN {
  printf "%-28s %-4s %20.1f KiB %20.1f KiB %6.2fx %14s %7s\n", "memory per idle connection", "x1", a, b, (a > 0 ? b / a : 0), "", ">= 2" }'
printf '%-28s %-4s %21s ms %21s ms %22s %7s\n' "ttfb p50 / p99, 2000 at once" x1 "$tern_P50 / $tern_P99" \
  "$nginx_P50 / $nginx_P99" "" "<= nginx"
echo "(nginx/tern: how many times less server CPU tern takes, the median and range of the rounds' ratios, each round's two runs back to back; the medians of each server alone may fall in different phases of a shared machine's load)"
