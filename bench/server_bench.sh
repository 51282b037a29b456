#!/bin/sh
# server_bench.sh TERN TERN_LOAD - `tern server --www` against nginx (Debian
# nginx on OpenSSL 3), side by side in one run on 127.0.0.1: same
# certificate (ECDSA P-256), same suite (TLS_AES_128_GCM_SHA256), same
# group (X25519), same response size, TLS 1.3 only, one worker each, then
# tern with --workers 2 (and nginx with 2 for the record).
#
# What is measured is the SERVER's CPU: user + system time of all its
# processes and threads (/proc/PID/stat fields 14 and 15, clock ticks),
# read before and after each run, divided by the work done. The load
# tool's own CPU and rate are printed beside it, so that a reader sees
# which side was saturated (on 2 cores, one load thread is usually the
# bottleneck before either server).
#   new      h2load --h1: 2000 clients at once, one request each (new TLS
#            1.3 connections, full handshakes)
#   resumed  tern_load: 2000 connections, 100 at a time, each offering a
#            ticket saved from an earlier run against the same server
#            (psk_dhe_ke)
#   request  h2load --h1: 100 clients x 1000 requests on kept-alive
#            connections (the 100 handshakes included)
#   ttfb     tern_load: 2000 clients at once, one request each: p50/p99
#            time from connect() to the first byte of the response
#   idle     RSS growth of the server over 1000 established idle
#            connections (opened 20 at a time, held 4 s), per connection,
#            measured first, on a server that served 100 connections
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

# cpu_ticks PID: utime + stime of PID and its children (nginx's workers)
cpu_ticks() {
  t=0
  for p in $1 $(pgrep -P "$1"); do
    v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo $t
}
rss_kb() {
  t=0
  for p in $1 $(pgrep -P "$1"); do
    v=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo $t
}

start_tern() { # workers
  "$TERN" server --cert cert.pem --key key.pem --port 0 --www -q --workers "$1" \
    --ciphersuites TLS_AES_128_GCM_SHA256 --groups X25519 --max-conns 20000 >tern.log 2>&1 &
  SPID=$!
  i=0
  while [ $i -lt 50 ] && ! grep -q "listening on" tern.log 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' tern.log)
}

start_nginx() { # workers
  PORT=$(free_port)
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
    listen 127.0.0.1:$PORT ssl;
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
  nginx -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf" -p "$DIR" &
  SPID=$!
  i=0
  while [ $i -lt 50 ] && ! ss -ltn "( sport = :$PORT )" | grep -q LISTEN; do
    sleep 0.1
    i=$((i + 1))
  done
  sleep 0.3
}

stop_server() {
  kill -TERM "$SPID" 2>/dev/null
  wait "$SPID" 2>/dev/null
  SPID=""
}

# h2load's wall time, rate and CPU: "finished in X, Y req/s", and ours via time
# run_h2load ARGS... -> H_REQ H_FAIL H_RATE H_CPU
run_h2load() {
  /usr/bin/time -f "%U %S" -o h2.time h2load --h1 -t 1 "$@" "https://127.0.0.1:$PORT/" >h2.out 2>&1
  H_OK=$(sed -n 's/.* \([0-9]*\) succeeded, \([0-9]*\) failed.*/\1/p' h2.out)
  H_FAIL=$(sed -n 's/.* succeeded, \([0-9]*\) failed.*/\1/p' h2.out)
  H_RATE=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' h2.out)
  H_WALL=$(sed -n 's/^finished in \([0-9.]*\)\(m*s\),.*/\1 \2/p' h2.out |
    awk '{ print ($2 == "ms") ? $1 / 1000 : $1 }')
  H_CPU=$(awk '{ print $1 + $2 }' h2.time)
}

# measure NAME WORKERS: every figure for one server, one line of results
measure() {
  name=$1 workers=$2
  if [ "$name" = tern ]; then start_tern "$workers"; else start_nginx "$workers"; fi
  # memory per idle connection, first: on a server warmed by 100 connections
  # only (after 2000 handshakes at once the heap has room to spare)
  "$LOAD" --port "$PORT" --ca cert.pem --connections 100 --concurrency 20 >/dev/null
  # memory per idle connection
  r0=$(rss_kb "$SPID")
  "$LOAD" --port "$PORT" --ca cert.pem --kind idle --connections 1000 --concurrency 20 \
    --hold 4 >idle.out &
  lp=$!
  i=0
  while [ $i -lt 100 ] && ! [ "$(ss -tn state established "( sport = :$PORT )" | wc -l)" -gt 1000 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  sleep 1
  r1=$(rss_kb "$SPID")
  wait $lp
  IDLE_KB=$(echo "scale=1; ($r1 - $r0) / 1000" | bc)
  # warm up (and tickets for the resumption run: 1000 connections, 2 each)
  "$LOAD" --port "$PORT" --ca cert.pem --connections 1000 --concurrency 50 \
    --tickets-out tickets.bin >warm.out
  # new connections
  c0=$(cpu_ticks "$SPID")
  run_h2load -n 2000 -c 2000
  c1=$(cpu_ticks "$SPID")
  NEW_US=$(echo "($c1 - $c0) * 1000000 / $TCK / $H_OK" | bc)
  NEW_LINE="h2load: $H_OK ok, $H_FAIL failed, ${H_RATE}/s, h2load CPU ${H_CPU} s in ${H_WALL} s; server CPU $(echo "scale=2; ($c1 - $c0) / $TCK" | bc) s"
  # resumed connections
  c0=$(cpu_ticks "$SPID")
  "$LOAD" --port "$PORT" --ca cert.pem --connections 2000 --concurrency 100 \
    --tickets-in tickets.bin >res.out
  c1=$(cpu_ticks "$SPID")
  RES_N=$(sed -n 's/.* resumed \([0-9]*\) .*/\1/p' res.out)
  RES_OK=$(sed -n 's/.* requests_ok \([0-9]*\) .*/\1/p' res.out)
  RES_US=$(echo "($c1 - $c0) * 1000000 / $TCK / $RES_OK" | bc)
  RES_LINE="tern_load: $RES_OK requests, $RES_N resumed, $(sed -n 's/.* rate \([0-9.]*\).*/\1/p' res.out)/s, client CPU $(sed -n 's/.* client_cpu_s \([0-9.]*\).*/\1/p' res.out) s in $(sed -n 's/.* wall_s \([0-9.]*\).*/\1/p' res.out) s; server CPU $(echo "scale=2; ($c1 - $c0) / $TCK" | bc) s"
  # kept-alive requests
  c0=$(cpu_ticks "$SPID")
  run_h2load -n 100000 -c 100
  c1=$(cpu_ticks "$SPID")
  REQ_US=$(echo "scale=1; ($c1 - $c0) * 1000000 / $TCK / $H_OK" | bc)
  REQ_LINE="h2load: $H_OK ok, $H_FAIL failed, ${H_RATE}/s, h2load CPU ${H_CPU} s in ${H_WALL} s; server CPU $(echo "scale=2; ($c1 - $c0) / $TCK" | bc) s"
  # time to first byte, 2000 at once
  "$LOAD" --port "$PORT" --ca cert.pem --connections 2000 --concurrency 2000 >ttfb.out
  P50=$(sed -n 's/.* ttfb_p50_ms \([0-9.]*\).*/\1/p' ttfb.out)
  P99=$(sed -n 's/.* ttfb_p99_ms \([0-9.]*\).*/\1/p' ttfb.out)
  TTFB_OK=$(sed -n 's/.* requests_ok \([0-9]*\) .*/\1/p' ttfb.out)
  stop_server
  printf '%s|%s|%s|%s|%s|%s|%s|%s\n' "$name x$workers" "$NEW_US" "$RES_US" "$REQ_US" \
    "$P50" "$P99" "$IDLE_KB" "$TTFB_OK" >>results
  {
    echo "$name, $workers worker(s):"
    echo "  new:     $NEW_LINE"
    echo "  resumed: $RES_LINE"
    echo "  request: $REQ_LINE"
    echo "  ttfb:    $(cat ttfb.out)"
    echo "  idle:    RSS $r0 -> $r1 KiB over 1000 idle connections; $(cat idle.out)"
  } >>details
}

# the same response size as tern's page
start_tern 1
PAGE=$(curl -sk "https://127.0.0.1:$PORT/" | wc -c)
stop_server
BODY=$(head -c "$((PAGE - 1))" /dev/zero | tr '\0' 'x')

: >results
: >details
measure tern 1
measure nginx 1
measure tern 2
measure nginx 2

echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(uname -r); nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), $(openssl version | cut -d' ' -f1-2)"
echo "response: $PAGE bytes from both; suite TLS_AES_128_GCM_SHA256, group X25519, ECDSA P-256"
cat details
echo
printf '%-10s %14s %14s %14s %10s %10s %12s\n' server "new conn (us)" "resumed (us)" \
  "request (us)" "ttfb p50" "ttfb p99" "idle KB/conn"
while IFS='|' read -r n a b c d e f g; do
  printf '%-10s %14s %14s %14s %8sms %8sms %12s\n' "$n" "$a" "$b" "$c" "$d" "$e" "$f"
done <results
awk -F'|' '{ v[$1 "|new"] = $2; v[$1 "|res"] = $3; v[$1 "|req"] = $4; v[$1 "|p50"] = $5;
             v[$1 "|p99"] = $6; v[$1 "|idle"] = $7 }
  END {
    printf "server CPU, nginx / tern (higher is better for tern), 1 worker: new %.2fx (target 1.5x), resumed %.2fx (target 1.5x), request %.2fx (target 1.0x); idle memory %.2fx (target 2x); ttfb p50 %s vs %s ms, p99 %s vs %s ms\n",
      v["nginx x1|new"] / v["tern x1|new"], v["nginx x1|res"] / v["tern x1|res"],
      v["nginx x1|req"] / v["tern x1|req"], v["nginx x1|idle"] / v["tern x1|idle"],
      v["tern x1|p50"], v["nginx x1|p50"], v["tern x1|p99"], v["nginx x1|p99"]
    printf "tern --workers 2 against 1: CPU per new connection %.2fx, resumed %.2fx, request %.2fx (1.0 = no rise)\n",
      v["tern x2|new"] / v["tern x1|new"], v["tern x2|res"] / v["tern x1|res"], v["tern x2|req"] / v["tern x1|req"]
  }' results
