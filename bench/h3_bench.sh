#!/bin/sh
# h3_bench.sh TERN [CONNECTIONS] [MEGABYTES] - HTTP/3 servers side by side
# in one run on loopback: tern h3-server (ngtcp2 + tern) against
# gtlsserver (ngtcp2 + GnuTLS), both driven by the same client, tern
# h3-client in its load mode.
#
# On 2 cores the client costs as much as the server, so no rate is
# trusted alone: the figure is each server process's own CPU time (user +
# system: the scheduler's run time of its threads, /proc/PID/task/*/schedstat,
# or fields 14 and 15 of /proc/PID/stat) over the run, divided by the work
# done:
#   - per new connection with one small request (CONNECTIONS of them,
#     16 at a time);
#   - per MB of one large download (a MEGABYTES file, fetched 3 times);
# both servers run side by side, the work in 3 rounds alternating between
# them, so that a change in the machine's load falls on both.
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

# make_ca, make_leaf: the P-256 PKI the shell tests use
. "$(dirname "$0")/../tests/lib.sh"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tern-h3bench.XXXXXX") || exit 1
SPID=""
cleanup() {
  [ -n "$SPID" ] && kill $SPID 2>/dev/null && wait $SPID 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$DIR" || exit 1
TCK=$(getconf CLK_TCK)

make_ca ca "bench CA" && make_leaf leaf ca "DNS:localhost, IP:127.0.0.1" ||
  { echo "bench: openssl could not make the certificates"; exit 1; }
mkdir -p www
printf 'small\n' >www/small
head -c $((MB * 1048576)) /dev/urandom >www/big

# cpu_ns PID: CPU time of the process (all its threads), in ns: the
# scheduler's run time (/proc/PID/task/*/schedstat, ns precision) where
# there is one, else utime + stime (fields 14 and 15 of /proc/PID/stat,
# in clock ticks: 10 ms each, a few per cent of a run here)
cpu_ns() {
  if [ -r "/proc/$1/schedstat" ]; then
    cat /proc/"$1"/task/*/schedstat | awk '{ t += $1 } END { printf "%.0f", t }'
  else
    awk -v tck="$TCK" '{ printf "%.0f", ($14 + $15) * 1e9 / tck }' "/proc/$1/stat"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# load NAME PORT N: N new connections (one small GET each, 16 at a time)
# against the server NAME on PORT; adds its CPU time (ns) and the
# client's (us) to NAME_CONN_NS, NAME_CONN_N and NAME_CLIENT_US
load() {
  name=$1 pid=$(eval echo "\$${1}_PID")
  t0=$(cpu_ns "$pid")
  out=$("$TERN" h3-client -q --ca ca.pem --load "$3" --concurrency 16 "https://127.0.0.1:$2/small")
  t1=$(cpu_ns "$pid")
  echo "  $name: $out"
  case $out in *", 0 failed,"*) ;; *) echo "  $name: connections failed"; return 1 ;; esac
  client=$(echo "$out" | sed -n 's/.*client CPU \([0-9.]*\) s.*/\1/p')
  eval "${name}_CONN_NS=\$((${name}_CONN_NS + t1 - t0)) ${name}_CONN_N=\$((${name}_CONN_N + $3))"
  eval "${name}_CLIENT_S=\$(awk -v a=\"\$${name}_CLIENT_S\" -v b=\"$client\" 'BEGIN { print a + b }')"
}

# download NAME PORT: the big file once, compared; adds the server's CPU
# time to NAME_MB_NS
download() {
  name=$1 pid=$(eval echo "\$${1}_PID")
  t0=$(cpu_ns "$pid")
  "$TERN" h3-client -q --ca ca.pem --output big.out "https://127.0.0.1:$2/big" ||
    { echo "$name: download failed"; return 1; }
  t1=$(cpu_ns "$pid")
  cmp -s big.out www/big || { echo "$name: the download differs"; return 1; }
  eval "${name}_MB_NS=\$((${name}_MB_NS + t1 - t0))"
}

ROUNDS=3
echo "HTTP/3 servers, $CONNS new connections (one small GET each, 16 at a time) and $ROUNDS x $MB MB each, in $ROUNDS interleaved rounds:"
# X25519 like gtlsserver (GnuTLS 3.7 has no ML-KEM), though tern h3-client offers the hybrid too
TPORT=$(free_port)
"$TERN" h3-server -q --cert leaf.pem --key leaf.key --port "$TPORT" --dir www --groups x25519 >tern.log 2>&1 &
tern_PID=$!
GPORT=$(free_port)
(cd www && exec "$GTLSSERVER" -q 127.0.0.1 "$GPORT" ../leaf.key ../leaf.pem) >gtls.log 2>&1 &
gtls_PID=$!
SPID="$tern_PID $gtls_PID"
sleep 0.3
tern_CONN_NS=0 tern_CONN_N=0 tern_CLIENT_S=0 tern_MB_NS=0
gtls_CONN_NS=0 gtls_CONN_N=0 gtls_CLIENT_S=0 gtls_MB_NS=0
# warm up (and check both work)
for p in "$TPORT" "$GPORT"; do
  "$TERN" h3-client -q --ca ca.pem "https://127.0.0.1:$p/small" >/dev/null ||
    { echo "the warm-up request to port $p failed"; exit 1; }
done
PER=$(((CONNS + ROUNDS - 1) / ROUNDS))
for r in $(seq 1 $ROUNDS); do
  load tern "$TPORT" "$PER" || exit 1
  load gtls "$GPORT" "$PER" || exit 1
  download tern "$TPORT" || exit 1
  download gtls "$GPORT" || exit 1
done
kill $SPID; wait $SPID 2>/dev/null
SPID=""
for n in tern gtls; do
  eval "ns=\$${n}_CONN_NS c=\$${n}_CONN_N cl=\$${n}_CLIENT_S mb=\$${n}_MB_NS"
  eval "${n}_CONN_US=$(awk -v d="$ns" -v n="$c" 'BEGIN { printf "%.0f", d / 1e3 / n }')"
  eval "${n}_CLIENT_US=$(awk -v d="$cl" -v n="$c" 'BEGIN { printf "%.0f", d * 1e6 / n }')"
  eval "${n}_MB_MS=$(awk -v d="$mb" -v m=$((ROUNDS * MB)) 'BEGIN { printf "%.2f", d / 1e6 / m }')"
done

printf '\n  %-34s %12s %12s %8s  %s\n' "server CPU (user+sys)" "tern" "gtlsserver" "ratio" "target"
awk -v a="$tern_CONN_US" -v b="$gtls_CONN_US" 'BEGIN {
  printf "  %-34s %9s us %9s us %8.2f  <= 0.67\n", "per connection + 1 small request", a, b, a / b }'
awk -v a="$tern_MB_MS" -v b="$gtls_MB_MS" 'BEGIN {
  printf "  %-34s %9s ms %9s ms %8.2f  <= 1.00\n", "per MB downloaded", a, b, a / b }'
printf '  %-34s %9s us %9s us\n' "client CPU per connection (driver)" "$tern_CLIENT_US" "$gtls_CLIENT_US"
