#!/bin/sh
# h3_ab.sh ROUNDS CONNS MB SERVER... - HTTP/3 servers side by side, to
# compare two builds of tern h3-server (and gtlsserver): each SERVER is a
# path to a tern binary or the word gtls. Every round gives each server,
# in turn, CONNS new connections (one small GET each, 16 at a time) and,
# when MB > 0, one download of an MB file; printed per round: each
# server's CPU time (scheduler run time of its threads, ns precision) per
# connection and per MB, then the medians and the medians of the
# per-round ratios to the first server. The client is the first tern
# binary given (or $H3_AB_CLIENT) for every server.
set -u
R=${1:?usage: h3_ab.sh ROUNDS CONNS MB SERVER...} C=$2 MB=$3
shift 3
SERVERS=""
for b in "$@"; do
  case $b in gtls | /*) ;; *) b=$(pwd)/$b ;; esac
  SERVERS="$SERVERS $b"
done
CL=${H3_AB_CLIENT:-}
for b in $SERVERS; do [ -z "$CL" ] && [ "$b" != gtls ] && CL=$b; done
case $CL in /*) ;; *) CL=$(pwd)/$CL ;; esac
# make_ca, make_leaf: the P-256 PKI the shell tests use
. "$(dirname "$0")/../tests/lib.sh"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tern-h3ab.XXXXXX") || exit 1
PIDS=""
cleanup() { [ -n "$PIDS" ] && kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$DIR" || exit 1
make_ca ca "bench CA" && make_leaf leaf ca "DNS:localhost, IP:127.0.0.1" ||
  { echo "bench: openssl could not make the certificates"; exit 1; }
mkdir www && printf 'small\n' >www/small
[ "$MB" -gt 0 ] && head -c $((MB * 1048576)) /dev/urandom >www/big
cpu() { cat /proc/"$1"/task/*/schedstat | awk '{ t += $1 } END { printf "%.0f", t }'; }
port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORTS="" i=0
for b in $SERVERS; do
  i=$((i + 1))
  p=$(port)
  if [ "$b" = gtls ]; then
    (cd www && exec gtlsserver -q 127.0.0.1 "$p" ../leaf.key ../leaf.pem) >server$i.log 2>&1 &
  else
    "$b" h3-server -q --cert leaf.pem --key leaf.key --port "$p" --dir www --groups x25519 \
      >server$i.log 2>&1 &
  fi
  PIDS="$PIDS $!" PORTS="$PORTS $p"
done
sleep 0.5
for r in $(seq 1 "$R"); do
  line="round $r:"
  set -- $PORTS
  for pid in $PIDS; do
    p=$1; shift
    t0=$(cpu "$pid")
    "$CL" h3-client -q --ca ca.pem --load "$C" --concurrency 16 "https://127.0.0.1:$p/small" \
      2>&1 | grep -q ", 0 failed," || { echo "connections to port $p failed"; cat server*.log; exit 1; }
    t1=$(cpu "$pid")
    if [ "$MB" -gt 0 ]; then
      "$CL" h3-client -q --ca ca.pem --output big.out "https://127.0.0.1:$p/big" &&
        cmp -s big.out www/big || { echo "download from port $p failed"; exit 1; }
    fi
    t2=$(cpu "$pid")
    line="$line $(awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$C" -v m="$MB" \
      'BEGIN { printf "%6.0f us %5.2f ms |", (b - a) / 1e3 / n, (m > 0 ? (c - b) / 1e6 / m : 0) }')"
  done
  echo "$line"
done | tee rounds.txt
python3 - rounds.txt <<'PY'
import re, statistics, sys
rows = [l for l in open(sys.argv[1]) if l.startswith("round")]
if not rows:
    sys.exit(1)
us = [[float(x) for x in re.findall(r"([\d.]+) us", l)] for l in rows]
ms = [[float(x) for x in re.findall(r"([\d.]+) ms", l)] for l in rows]
for j in range(len(us[0])):
    line = f"server {j + 1}: median {statistics.median(r[j] for r in us):.0f} us per connection"
    if ms[0][0] > 0:
        line += f", {statistics.median(r[j] for r in ms):.2f} ms per MB"
    if j > 0:
        rc = [r[j] / r[0] for r in us]
        line += f"; / server 1 per round: connection {statistics.median(rc):.3f} ({min(rc):.2f}-{max(rc):.2f})"
        if ms[0][0] > 0:
            rm = [r[j] / r[0] for r in ms]
            line += f", MB {statistics.median(rm):.3f} ({min(rm):.2f}-{max(rm):.2f})"
    print(line)
PY
