#!/bin/sh
# demo_tcp.sh TERN - the TCP part of `./dev demo`: over 127.0.0.1, a tern
# server and a tern client (a full handshake, then a resumed one, then a
# KeyUpdate), and `openssl s_client` against the tern server, each
# printing what it negotiated. Certificates are made with openssl into a
# temporary directory; background servers are always stopped.
set -u
TERN=${1:?usage: demo_tcp.sh path/to/tern}
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
start_server() {
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

printf '\n[TCP] tern server <-> tern client over 127.0.0.1 (certificates made with openssl)\n'
start_server
printf '\n  full handshake, then an echo and a KeyUpdate:\n'
"$TERN" client "127.0.0.1:$PORT" --ca ca.pem --servername localhost --resume session.bin \
  --send 'hello over TLS 1.3\n' --key-update > c1.out 2> c1.err
rc1=$?
show c1.err; show c1.out
printf '\n  resumed with the ticket from the first connection:\n'
"$TERN" client "127.0.0.1:$PORT" --ca ca.pem --servername localhost --resume session.bin \
  --send 'hello again\n' > c2.out 2> c2.err
rc2=$?
show c2.err; show c2.out
stop_server
printf '\n  what the tern server printed:\n'
show server.log

printf '\n[TCP] openssl s_client -> tern server --www\n'
start_server --www
printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' |
  openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -CAfile ca.pem -servername localhost \
    -ign_eof > s.out 2>&1
rc3=$?
stop_server
grep -E '^(New|Reused),|^Verify return code|^Server Temp Key|^HTTP/1' s.out | sed 's/^/    /'
sed -n '/<table/,/<\/table>/p' s.out | sed 's/<[^>]*>/ /g; s/  */ /g; /^ *$/d; s/^/    /' | head -12
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 0 ] && grep -q "resumed *yes" c2.err
