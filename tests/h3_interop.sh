#!/bin/sh
# h3_interop.sh TERN - HTTP/3 over real UDP sockets between tern (tern
# h3-client / tern h3-server, ngtcp2 with tern through
# libngtcp2_crypto_tern) and ngtcp2's own example programs over GnuTLS
# (Debian ngtcp2-server: gtlsserver, ngtcp2-client: gtlsclient):
#   tern h3-client -> gtlsserver: handshake, a 10 MB file compared byte
#     for byte with a key update during the transfer, resumption with the
#     request in 0-RTT (accepted, and seen by gtlsserver as 0-RTT
#     packets), Retry, IPv6, an ALPN mismatch (CRYPTO_ERROR 0x178), a
#     server preferring ngtcp2's v2 draft (v1 is used), and a version
#     tern does not speak (refused before anything is sent);
#   gtlsclient -> tern h3-server: the same, and for versions: Version
#     Negotiation for an unknown version and for the v2 draft.
# Skips (77) only when gtlsserver or gtlsclient is not installed.
set -u

TERN=${1:?usage: h3_interop.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
GTLSSERVER=$(command -v gtlsserver || echo /usr/sbin/gtlsserver)
GTLSCLIENT=$(command -v gtlsclient || echo /usr/bin/gtlsclient)
[ -x "$GTLSSERVER" ] || { echo "SKIP: no gtlsserver (Debian ngtcp2-server; ./dev installs it)"; exit 77; }
[ -x "$GTLSCLIENT" ] || { echo "SKIP: no gtlsclient (Debian ngtcp2-client; ./dev installs it)"; exit 77; }
"$TERN" h3-client --help 2>&1 | grep -q session-file ||
  { echo "FAIL: this tern was built without HTTP/3 (ngtcp2/nghttp3 missing at build time)"; exit 1; }

. "$(dirname "$0")/lib.sh"
test_dir h3
TO="timeout 30"

# Waits (5 s at most) until something listens on UDP port $1.
wait_udp() {
  i=0
  while [ $i -lt 50 ]; do
    ss -Huln 2>/dev/null | grep -q ":$1 " && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# ---- a P-256 CA and a leaf for localhost, 127.0.0.1 and ::1 ---------------
make_ca ca "tern h3 CA" || { bad "making the CA"; exit 1; }
make_leaf leaf ca "DNS:localhost, IP:127.0.0.1, IP:::1" || { bad "making the leaf"; exit 1; }

mkdir -p www
head -c 10485760 /dev/urandom >www/big.bin
echo "hello over HTTP/3" >www/hello.txt

# ---- gtlsserver instances --------------------------------------------------
# start_gtlsserver NAME ADDR [options]: a gtlsserver serving www; sets
# NAME_PORT. Its log (with --no-quic-dump --no-http-dump) is NAME.log.
start_gtlsserver() {
  name=$1 addr=$2
  shift 2
  port=$(free_port udp "$addr")
  (cd www && exec "$GTLSSERVER" --no-quic-dump --no-http-dump "$@" "$addr" "$port" \
    ../leaf.key ../leaf.pem) >"$name.log" 2>&1 &
  PIDS="$PIDS $!"
  wait_udp "$port" || { bad "gtlsserver $name did not start"; show "$name.log"; exit 1; }
  eval "${name}_PORT=$port"
}

echo "== tern h3-client -> gtlsserver (ngtcp2 + GnuTLS)"
start_gtlsserver gs 127.0.0.1
start_gtlsserver gsretry 127.0.0.1 -V
start_gtlsserver gsv2 127.0.0.1 --preferred-versions=v2draft,v1
start_gtlsserver gs6 ::1
URL="https://localhost:$gs_PORT"

# 1. handshake and a small file; a session is stored
$TO "$TERN" h3-client --ca ca.pem --session-file c.sess "$URL/hello.txt" >c1.out 2>c1.err
rc=$?
[ $rc -eq 0 ] && cmp -s c1.out www/hello.txt && ok "GET /hello.txt from gtlsserver: exit 0, body equal" ||
  { bad "GET /hello.txt from gtlsserver (exit $rc)"; show c1.err; }
check "negotiated: QUIC v1, TLS 1.3 suite, x25519, h3, full handshake" c1.err \
  'connected to .*QUIC version 0x00000001, TLS_AES_128_GCM_SHA256, x25519, ALPN h3, resumed: no'
check "status and headers printed" c1.err '^< :status: 200$'
check "a session stored" c1.err '[1-9][0-9]* session\(s\) stored in c.sess'

# 2. 10 MB, key update during the transfer
$TO "$TERN" h3-client --ca ca.pem --key-update --output big.out "$URL/big.bin" >c2.out 2>c2.err
rc=$?
[ $rc -eq 0 ] && cmp -s big.out www/big.bin && ok "10 MB from gtlsserver, byte for byte" ||
  { bad "10 MB from gtlsserver (exit $rc)"; show c2.err; }
ku=$(sed -n 's/.*key update initiated after \([0-9]*\) response bytes; update_key called \([0-9]*\) times.*/\1 \2/p' c2.err)
set -- $ku
if [ $# -eq 2 ] && [ "$1" -lt 10485760 ] && [ "$2" -ge 1 ]; then
  ok "key update initiated after $1 of 10485760 bytes, update_key called $2 times, transfer completed"
else
  bad "no key update during the transfer"; show c2.err
fi

# 3. resumption, the request in 0-RTT
$TO "$TERN" h3-client --ca ca.pem --session-file c.sess "$URL/hello.txt" >c3.out 2>c3.err
rc=$?
[ $rc -eq 0 ] && cmp -s c3.out www/hello.txt && ok "resumed GET: exit 0, body equal" ||
  { bad "resumed GET (exit $rc)"; show c3.err; }
check "resumed with 0-RTT accepted" c3.err 'resumed: yes, 0-RTT: accepted'
check "the request went in 0-RTT and was not resent" c3.err 'requests sent in 0-RTT: accepted'
check "gtlsserver received the request (stream 0) in 0-RTT packets" gs.log \
  'frm rx [0-9]+ 0RTT STREAM\(0x0[8-f]\) id=0x0 '

# 4. Retry
$TO "$TERN" h3-client --ca ca.pem "https://127.0.0.1:$gsretry_PORT/hello.txt" >c4.out 2>c4.err
rc=$?
[ $rc -eq 0 ] && cmp -s c4.out www/hello.txt && ok "GET through gtlsserver -V (Retry): exit 0" ||
  { bad "GET with Retry (exit $rc)"; show c4.err; }
check "the client followed a Retry" c4.err 'validated our address with a Retry'

# 5. IPv6
$TO "$TERN" h3-client --ca ca.pem "https://[::1]:$gs6_PORT/hello.txt" >c5.out 2>c5.err
rc=$?
[ $rc -eq 0 ] && cmp -s c5.out www/hello.txt && ok "GET over IPv6 ([::1]): exit 0, body equal" ||
  { bad "GET over IPv6 (exit $rc)"; show c5.err; }
check "IPv6 peer" c5.err 'connected to \[::1\]:'

# 6. ALPN mismatch: the server's no_application_protocol, as CRYPTO_ERROR
$TO "$TERN" h3-client --ca ca.pem --alpn h3-29 "$URL/hello.txt" >c6.out 2>c6.err
rc=$?
[ $rc -ne 0 ] && ok "ALPN h3-29 refused: exit $rc" || bad "ALPN h3-29 was accepted"
check "CONNECTION_CLOSE CRYPTO_ERROR 0x178 (no_application_protocol)" c6.err \
  'CRYPTO_ERROR 0x178 \(TLS alert no_application_protocol\)'

# 7. versions: a server that prefers ngtcp2's v2 draft gets v1 (the only
#    version we offer); a version tern does not speak is refused locally
$TO "$TERN" h3-client --ca ca.pem "https://127.0.0.1:$gsv2_PORT/hello.txt" >c7.out 2>c7.err
rc=$?
[ $rc -eq 0 ] && cmp -s c7.out www/hello.txt && ok "server preferring v2draft: exit 0" ||
  { bad "server preferring v2draft (exit $rc)"; show c7.err; }
check "v1 negotiated with it" c7.err 'QUIC version 0x00000001'
$TO "$TERN" h3-client --ca ca.pem --quic-version 709a50c4 "$URL/hello.txt" >c8.out 2>c8.err
rc=$?
[ $rc -eq 2 ] && grep -q "only 0x00000001 (v1) is spoken here" c8.err &&
  ok "QUIC version 0x709a50c4 refused before sending: exit 2, reason given" ||
  { bad "QUIC version 0x709a50c4 (exit $rc)"; show c8.err; }

echo "== gtlsclient (ngtcp2 + GnuTLS) -> tern h3-server"
# start_tern NAME ADDR [options]: tern h3-server serving www; NAME_PORT
start_tern() {
  name=$1 addr=$2
  shift 2
  "$TERN" h3-server --cert leaf.pem --key leaf.key --addr "$addr" --port 0 --dir www "$@" \
    >"$name.log" 2>&1 &
  pid=$!
  PIDS="$PIDS $pid"
  eval "${name}_PID=$pid"
  i=0
  while [ $i -lt 50 ] && ! grep -q "listening on" "$name.log" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  port=$(sed -n 's/.*listening on .*:\([0-9]*\) (UDP).*/\1/p' "$name.log")
  [ -n "$port" ] || { bad "tern h3-server $name did not start"; show "$name.log"; exit 1; }
  eval "${name}_PORT=$port"
}
# stop_tern NAME: SIGTERM, then its summary line is in NAME.log
stop_tern() {
  eval "pid=\$${1}_PID"
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
start_tern ts 127.0.0.1 --early-data
start_tern tsretry 127.0.0.1 --retry
start_tern tsalpn 127.0.0.1 --alpn hq-interop
start_tern ts6 ::1
GC() { $TO "$GTLSCLIENT" --exit-on-all-streams-close --no-quic-dump --no-http-dump "$@"; }

# 1. handshake, small file, session and transport parameters kept
mkdir -p d1
GC --download=d1 --session-file=g.sess --tp-file=g.tp 127.0.0.1 "$ts_PORT" \
  "https://127.0.0.1:$ts_PORT/hello.txt" >g1.log 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s d1/hello.txt www/hello.txt && ok "gtlsclient GET /hello.txt: exit 0, file equal" ||
  { bad "gtlsclient GET /hello.txt (exit $rc)"; show g1.log; }
[ -s g.sess ] && ok "gtlsclient stored tern's ticket" || bad "gtlsclient stored no session"

# 2. 10 MB with a key update (gtlsclient's, 5 ms in)
mkdir -p d2
GC --download=d2 --key-update=5ms 127.0.0.1 "$ts_PORT" "https://127.0.0.1:$ts_PORT/big.bin" >g2.log 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s d2/big.bin www/big.bin && ok "gtlsclient 10 MB from tern, byte for byte" ||
  { bad "gtlsclient 10 MB (exit $rc)"; show g2.log; }
check "gtlsclient initiated a key update" g2.log 'Initiate key update'

# 3. resumption with the request in 0-RTT
mkdir -p d3
GC --download=d3 --session-file=g.sess --tp-file=g.tp 127.0.0.1 "$ts_PORT" \
  "https://127.0.0.1:$ts_PORT/tern" >g3.log 2>&1
rc=$?
[ $rc -eq 0 ] && [ -s d3/tern ] && ok "gtlsclient resumed GET /tern: exit 0" ||
  { bad "gtlsclient resumed GET (exit $rc)"; show g3.log; }
check "the page says: resumed" d3/tern 'id="resumed">yes<'
check "the page says: 0-RTT accepted" d3/tern 'id="early-data">accepted<'
check "the page says: this request came in 0-RTT" d3/tern 'id="request-early">yes<'
check "the page names the suite" d3/tern 'id="suite">TLS_AES_128_GCM_SHA256<'
check "the page names the group" d3/tern 'id="group">x25519<'
check "the page names ALPN h3" d3/tern 'id="alpn">h3<'

# 4. Retry
mkdir -p d4
GC --download=d4 127.0.0.1 "$tsretry_PORT" "https://127.0.0.1:$tsretry_PORT/hello.txt" >g4.log 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s d4/hello.txt www/hello.txt && ok "gtlsclient through tern's Retry: exit 0" ||
  { bad "gtlsclient with Retry (exit $rc)"; show g4.log; }
check "gtlsclient received a Retry" g4.log 'type=Retry'

# 5. IPv6
mkdir -p d5
GC --download=d5 ::1 "$ts6_PORT" "https://[::1]:$ts6_PORT/hello.txt" >g5.log 2>&1
rc=$?
[ $rc -eq 0 ] && cmp -s d5/hello.txt www/hello.txt && ok "gtlsclient over IPv6: exit 0, file equal" ||
  { bad "gtlsclient over IPv6 (exit $rc)"; show g5.log; }

# 6. ALPN mismatch: tern accepts hq-interop only
GC 127.0.0.1 "$tsalpn_PORT" "https://127.0.0.1:$tsalpn_PORT/hello.txt" >g6.log 2>&1
check "gtlsclient got CONNECTION_CLOSE CRYPTO_ERROR 0x178 from tern" g6.log \
  'frm rx .*CONNECTION_CLOSE\(0x1c\) error_code=CRYPTO_ERROR\(0x178\)'

# 7. versions: unknown, and ngtcp2's v2 draft: Version Negotiation (v1)
GC -v 0x1a2a3a4a 127.0.0.1 "$ts_PORT" "https://127.0.0.1:$ts_PORT/hello.txt" >g7.log 2>&1
check "unknown version 0x1a2a3a4a: gtlsclient got Version Negotiation" g7.log 'RECV_VERSION_NEGOTIATION'
GC -v 0x709a50c4 127.0.0.1 "$ts_PORT" "https://127.0.0.1:$ts_PORT/hello.txt" >g8.log 2>&1
check "v2 draft 0x709a50c4: gtlsclient got Version Negotiation" g8.log 'RECV_VERSION_NEGOTIATION'

# the servers' side of all this
stop_tern ts
stop_tern tsretry
stop_tern tsalpn
stop_tern ts6
check "tern saw gtlsclient's 0-RTT request" ts.log 'GET /tern 200 [0-9]+ bytes \(request in 0-RTT\)'
check "tern resumed with 0-RTT accepted" ts.log 'handshake: .*resumed: yes, 0-RTT: accepted'
check "tern followed gtlsclient's key update during the 10 MB" ts.log 'closed: .*, [1-9][0-9]* key updates'
check "tern sent 2 Version Negotiation packets and stayed up" ts.log 'Retry, 2 Version Negotiation$'
check "tern sent a Retry" tsretry.log '1 Retry'
check "tern's handshake failed with no_application_protocol, the server went on" tsalpn.log \
  'connection failed: TLS handshake failed: alert no_application_protocol \(120\)'
check "tern over IPv6" ts6.log '\[::1\]:[0-9]+ handshake: QUIC version 0x00000001'

# under ASan/UBSan (the sanitizer build), any report in any tern output fails
if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' ./*.log ./*.err ./*.out 2>/dev/null >san.txt; then
  bad "sanitizer reports in $(tr '\n' ' ' <san.txt)"; for f in $(cat san.txt); do show "$f"; done
else
  ok "no sanitizer report in any program's output"
fi
finish h3-interop
