#!/bin/sh
# demo_net.sh TERN - the network part of `./dev demo`: real sockets on
# 127.0.0.1. QUIC over UDP: tern h3-server and tern h3-client (HTTP/3 on
# ngtcp2 with tern as its TLS), a full handshake then a resumed one whose
# request rides in 0-RTT. TCP: a tern server and a tern client (a full
# handshake, then a resumed one, then a KeyUpdate), and `openssl s_client`
# against the tern server. Each prints what it negotiated, with the time
# each connection took. Certificates are made with openssl into a
# temporary directory; background servers are always stopped.
set -u
TERN=${1:?usage: demo_net.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tern-demo.XXXXXX") || exit 1
SPID=""
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; rm -rf "$DIR"' EXIT
cd "$DIR" || exit 1

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
  -out ca.pem -days 2 -subj "/CN=tern demo CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n' > leaf.ext
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
  -out leaf.csr -subj /CN=localhost >/dev/null 2>&1 &&
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile leaf.ext -out leaf.pem >/dev/null 2>&1 || { echo "demo: cannot make certificates"; exit 1; }

# tern server (echo, or --www), in the background, on a free port.
# The old log is removed first: the background shell truncates it only when it
# gets to run, and until then the wait loop would read the last server's port.
start_server() {
  rm -f server.log
  "$TERN" server --cert leaf.pem --key leaf.key --port 0 "$@" > server.log 2>&1 &
  SPID=$!
  i=0
  while ! grep -q "listening on" server.log 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 50 ] && { echo "demo: tern server did not start"; cat server.log; exit 1; }
    sleep 0.1
  done
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' server.log | head -1)
}
stop_server() { kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; SPID=""; }
show() { sed 's/^/    /' "$1"; }
now_ms() { date +%s%3N; }
# timed NAME CMD...: runs CMD, prints how long it took, keeps its status in RC
timed() {
  name=$1; shift
  t0=$(now_ms); "$@"; RC=$?; t1=$(now_ms)
  printf '    (%s: %s ms, process start included)\n' "$name" $((t1 - t0)) >&3
}

exec 3>&1
rc0=0
if "$TERN" h3-server --help >/dev/null 2>&1; then
  printf '\n[QUIC] tern h3-server <-> tern h3-client over UDP 127.0.0.1 (HTTP/3, ngtcp2 with tern as its TLS)\n'
  rm -f h3s.log
  "$TERN" h3-server --cert leaf.pem --key leaf.key --port 0 --early-data > h3s.log 2>&1 &
  SPID=$!
  i=0
  while ! grep -q "listening on" h3s.log 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 50 ] && { echo "demo: tern h3-server did not start"; cat h3s.log; exit 1; }
    sleep 0.1
  done
  QPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' h3s.log | head -1)
  for run in 1 2; do
    if [ $run -eq 1 ]; then printf '\n  full handshake, GET /tern:\n'
    else printf '\n  resumed with a ticket from the first, the request sent as 0-RTT data:\n'; fi
    timed "connection $run" "$TERN" h3-client --ca ca.pem --session-file h3.sess \
      "https://localhost:$QPORT/tern" > h3b$run.out 2> h3c$run.err
    [ $RC -eq 0 ] || rc0=1
    grep -v '^< ' h3c$run.err | sed 's/^/    /'
    sed 's/<[^>]*>/ /g; s/  */ /g; /^ *$/d' h3b$run.out | sed -n '/protocol/,$p' | sed 's/^/      page:/'
  done
  grep -q "0-RTT: accepted" h3c2.err || rc0=1
  stop_server
  printf '\n  what the tern h3-server printed:\n'
  show h3s.log
fi

printf '\n[TCP] tern server <-> tern client over 127.0.0.1 (certificates made with openssl)\n'
start_server
printf '\n  full handshake, then an echo and a KeyUpdate:\n'
timed "connection 1" "$TERN" client "127.0.0.1:$PORT" --ca ca.pem --servername localhost \
  --resume session.bin --send 'hello over TLS 1.3\n' --key-update > c1.out 2> c1.err
rc1=$RC
show c1.err; show c1.out
printf '\n  resumed with the ticket from the first connection:\n'
timed "connection 2" "$TERN" client "127.0.0.1:$PORT" --ca ca.pem --servername localhost \
  --resume session.bin --send 'hello again\n' > c2.out 2> c2.err
rc2=$RC
show c2.err; show c2.out
stop_server
printf '\n  what the tern server printed:\n'
show server.log

printf '\n[TCP] openssl s_client -> tern server --www\n'
start_server --www
printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
  openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -CAfile ca.pem -servername localhost \
    -ign_eof > s.out 2>&1
rc3=$?
stop_server
grep -E '^(New|Reused),|^Verify return code|^Server Temp Key|^HTTP/1' s.out | sed 's/^/    /'
sed -n '/<table/,/<\/table>/p' s.out | sed 's/<[^>]*>/ /g; s/  */ /g; /^ *$/d; s/^/    /' | head -12
[ $rc0 -eq 0 ] && [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 0 ] && grep -q "resumed *yes" c2.err
