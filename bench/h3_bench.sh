#!/bin/sh
# h3_bench.sh TERN [CONNECTIONS] [MEGABYTES] - HTTP/3 servers side by side
# in one run on loopback: tern h3-server (ngtcp2 + tern) against
# gtlsserver (ngtcp2 + GnuTLS), both driven by the same client, tern
# h3-client in its load mode.
#
# On 2 cores the client costs as much as the server, so no rate is
# trusted alone: the figure is each server process's own CPU time (user +
# system, fields 14 and 15 of /proc/PID/stat) over the run, divided by the
# work done:
#   - per new connection with one small request (CONNECTIONS of them,
#     16 at a time);
#   - per MB of one large download (a MEGABYTES file, fetched 3 times).
# The client's CPU time is printed beside it. Targets (issue 20): tern at
# most 1/1.5 of gtlsserver per connection, at most 1.0x per MB.
set -u
TERN=${1:?usage: h3_bench.sh path/to/tern [connections] [megabytes]}
CONNS=${2:-2000}
MB=${3:-64}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
GTLSSERVER=$(command -v gtlsserver || echo /usr/sbin/gtlsserver)
[ -x "$GTLSSERVER" ] || { echo "h3 bench skipped: no gtlsserver (Debian ngtcp2-server)"; exit 0; }
"$TERN" h3-client --help 2>&1 | grep -q -- --load || { echo "h3 bench skipped: tern without HTTP/3"; exit 0; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/tern-h3bench.XXXXXX") || exit 1
SPID=""
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$DIR" || exit 1
TCK=$(getconf CLK_TCK)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
  -out ca.pem -days 2 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
printf '%s\n' 'subjectAltName = DNS:localhost, IP:127.0.0.1' 'basicConstraints = CA:FALSE' \
  'keyUsage = critical, digitalSignature' 'extendedKeyUsage = serverAuth' >leaf.ext
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
  -out leaf.csr -subj /CN=localhost >/dev/null 2>&1
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile leaf.ext -out leaf.pem >/dev/null 2>&1
mkdir -p www
printf 'small\n' >www/small
head -c $((MB * 1048576)) /dev/urandom >www/big

# cpu_ticks PID: utime + stime of the process, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# measure NAME: runs the load and the downloads against the server of
# $SPID on $PORT; prints and records NAME_CONN_US, NAME_MB_MS
measure() {
  name=$1
  url="https://127.0.0.1:$PORT"
  # warm up (and check it works)
  "$TERN" h3-client -q --ca ca.pem "$url/small" >/dev/null ||
    { echo "$name: the warm-up request failed"; return 1; }
  t0=$(cpu_ticks "$SPID")
  out=$("$TERN" h3-client -q --ca ca.pem --load "$CONNS" --concurrency 16 "$url/small")
  t1=$(cpu_ticks "$SPID")
  echo "  $name: $out"
  case $out in *", 0 failed,"*) ;; *) echo "  $name: connections failed"; return 1 ;; esac
  conn_us=$(awk -v d=$((t1 - t0)) -v tck="$TCK" -v n="$CONNS" 'BEGIN { printf "%.0f", d / tck * 1e6 / n }')
  client_us=$(echo "$out" | sed -n 's/.*(\([0-9]*\) us per connection).*/\1/p')
  t0=$(cpu_ticks "$SPID")
  c0=$(awk '{ print $14 + $15 }' /proc/self/stat)
  for _ in 1 2 3; do
    "$TERN" h3-client -q --ca ca.pem --output big.out "$url/big" || { echo "$name: download failed"; return 1; }
    cmp -s big.out www/big || { echo "$name: the download differs"; return 1; }
  done
  t1=$(cpu_ticks "$SPID")
  mb_ms=$(awk -v d=$((t1 - t0)) -v tck="$TCK" -v mb=$((3 * MB)) 'BEGIN { printf "%.2f", d / tck * 1e3 / mb }')
  eval "${name}_CONN_US=$conn_us ${name}_CLIENT_US=$client_us ${name}_MB_MS=$mb_ms"
}

echo "HTTP/3 servers, $CONNS new connections (one small GET each, 16 at a time) and 3 x $MB MB:"
PORT=$(free_port)
# X25519 like gtlsserver (GnuTLS 3.7 has no ML-KEM), though tern h3-client offers the hybrid too
"$TERN" h3-server -q --cert leaf.pem --key leaf.key --port "$PORT" --dir www --groups x25519 >tern.log 2>&1 &
SPID=$!
sleep 0.3
measure tern || exit 1
kill "$SPID"; wait "$SPID" 2>/dev/null
PORT=$(free_port)
(cd www && exec "$GTLSSERVER" -q 127.0.0.1 "$PORT" ../leaf.key ../leaf.pem) >gtls.log 2>&1 &
SPID=$!
sleep 0.3
measure gtls || exit 1
kill "$SPID"; wait "$SPID" 2>/dev/null
SPID=""

printf '\n  %-34s %12s %12s %8s  %s\n' "server CPU (user+sys)" "tern" "gtlsserver" "ratio" "target"
awk -v a="$tern_CONN_US" -v b="$gtls_CONN_US" 'BEGIN {
  printf "  %-34s %9s us %9s us %8.2f  <= 0.67\n", "per connection + 1 small request", a, b, a / b }'
awk -v a="$tern_MB_MS" -v b="$gtls_MB_MS" 'BEGIN {
  printf "  %-34s %9s ms %9s ms %8.2f  <= 1.00\n", "per MB downloaded", a, b, a / b }'
printf '  %-34s %9s us %9s us\n' "client CPU per connection (driver)" "$tern_CLIENT_US" "$gtls_CLIENT_US"
