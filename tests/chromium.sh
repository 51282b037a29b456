#!/bin/sh
# chromium.sh TERN - headless Chromium (Debian chromium) against tern:
#   - over HTTP/3: `tern h3-server` with --cert-compression brotli,zlib;
#     Chromium is forced onto QUIC for the origin
#     (--origin-to-force-quic-on) and trusts the self-made leaf by its
#     SPKI hash (--ignore-certificate-errors-spki-list). The test checks
#     the page Chromium rendered (/tern: HTTP/3, ALPN h3, the certificate
#     went brotli-compressed, which Chromium offers), the server's own
#     record (the handshake with ALPN h3 and brotli, the GET over it), and
#     Chromium's net log (a QUIC session whose crypto handshake completed
#     and HTTP/3 headers decoded, no TCP TLS connection to the origin);
#   - over TCP: `tern server --www` with --cert-compression brotli: the
#     page (TLSv1.3, certificate compression brotli), the server's summary,
#     and the net log's SSL_CONNECT (TLS 1.3 cipher suite, not resumed).
# Skips (77) when chromium is not installed.
set -u

TERN=${1:?usage: chromium.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "SKIP: no chromium (Debian chromium; ./dev installs it)"; exit 77; }

. "$(dirname "$0")/lib.sh"
test_dir chromium

# ---- a P-256 CA and a leaf for localhost -----------------------------------
make_ca ca "tern chromium test CA" || { bad "making the CA"; exit 1; }
make_leaf leaf ca "DNS:localhost, IP:127.0.0.1" || { bad "making the leaf"; exit 1; }
cat leaf.pem ca.pem >chain.pem
# what Chromium is told to accept: the SHA-256 of the leaf's SubjectPublicKeyInfo
SPKI=$(openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)
mkdir -p www && echo "hello from tern" >www/hello.txt

# run_chromium NAME URL [flags]: headless Chromium fetching URL; the DOM in
# NAME.html, the net log in NAME.json, its stderr in NAME.err.
run_chromium() {
  name=$1 url=$2
  shift 2
  timeout 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$DIR/profile-$name" --ignore-certificate-errors-spki-list="$SPKI" \
    --host-resolver-rules="MAP localhost 127.0.0.1" --log-net-log="$DIR/$name.json" \
    "$@" --dump-dom "$url" >"$name.html" 2>"$name.err"
}

# netlog NAME: one line per fact the net log of run NAME holds
netlog() {
  python3 - "$1.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
seen = {}
for e in d["events"]:
    t = names.get(e["type"])
    if t is not None:
        seen.setdefault(t, []).append(e.get("params") or {})
for t in ("QUIC_SESSION", "QUIC_SESSION_CRYPTO_HANDSHAKE_COMPLETE", "HTTP3_HEADERS_DECODED",
          "SSL_CONNECT"):
    print("event %s %d" % (t, len(seen.get(t, []))))
for p in seen.get("HTTP3_HEADERS_DECODED", []):
    for h in p.get("headers", []):
        print("h3 header " + h)
for p in seen.get("SSL_CONNECT", []):
    if "cipher_suite" in p:
        print("ssl cipher_suite %s version %s resumed %s group %s" % (
            p.get("cipher_suite"), p.get("version"), p.get("is_resumed"),
            p.get("key_exchange_group")))
EOF
}

# ---- HTTP/3: tern h3-server ------------------------------------------------
UDP=$(free_port udp)
"$TERN" h3-server --cert chain.pem --key leaf.key --addr 127.0.0.1 --port "$UDP" --dir www \
  --cert-compression brotli,zlib >h3s.log 2>&1 &
H3S=$!
PIDS="$PIDS $H3S"
if wait_line h3s.log "listening"; then
  if run_chromium h3 "https://localhost:$UDP/tern" --enable-quic \
    --origin-to-force-quic-on="localhost:$UDP"; then
    ok "chromium fetched https://localhost:$UDP/tern over QUIC"
  else
    bad "chromium over QUIC (exit $?)"
    show h3.err
  fi
  check "h3: the page says HTTP/3" h3.html 'id="protocol">HTTP/3 over QUIC 0x00000001<'
  check "h3: the page says ALPN h3" h3.html 'id="alpn">h3<'
  check "h3: the page says the certificate went brotli-compressed" h3.html 'id="cert-compression">brotli<'
  check "h3: the server saw the handshake with ALPN h3 and brotli" h3s.log \
    'handshake: QUIC version 0x00000001, .*ALPN h3, .*certificate compressed: brotli'
  check "h3: the server answered GET /tern over HTTP/3" h3s.log 'GET /tern 200'
  netlog h3 >h3.facts 2>&1 || { bad "reading the h3 net log"; show h3.facts; }
  check "h3 net log: a QUIC session" h3.facts '^event QUIC_SESSION [1-9]'
  check "h3 net log: its crypto handshake completed" h3.facts \
    '^event QUIC_SESSION_CRYPTO_HANDSHAKE_COMPLETE [1-9]'
  check "h3 net log: HTTP/3 headers from tern h3-server" h3.facts '^h3 header server: tern h3-server'
  check "h3 net log: no TLS-over-TCP connection" h3.facts '^event SSL_CONNECT 0$'
else
  bad "tern h3-server did not start"
  show h3s.log
fi
kill "$H3S" 2>/dev/null
wait "$H3S" 2>/dev/null
# (not "0 failed": a browser may drop a connection it no longer needs)
check "h3: the server's summary counts the handshake and the requests" h3s.log \
  'connections \([1-9][0-9]* handshakes, [0-9]+ resumed, [0-9]+ failed\), [1-9]'

# ---- TLS over TCP: tern server --www ---------------------------------------
TCP=$(free_port tcp)
"$TERN" server --cert chain.pem --key leaf.key --port "$TCP" --www \
  --cert-compression brotli >tcps.log 2>&1 &
TS=$!
PIDS="$PIDS $TS"
if wait_line tcps.log "listening"; then
  if run_chromium tcp "https://localhost:$TCP/tern"; then
    ok "chromium fetched https://localhost:$TCP/tern over TCP"
  else
    bad "chromium over TCP (exit $?)"
    show tcp.err
  fi
  check "tcp: the page says TLSv1.3" tcp.html 'TLSv1.3'
  check "tcp: the page says the certificate went brotli-compressed" tcp.html \
    'certificate compression</t[dh]><td>brotli<'
  check "tcp: the page says ALPN http/1.1" tcp.html 'ALPN</t[dh]><td>http/1.1<'
  check "tcp: the server's record of the connection (brotli)" tcps.log \
    'cert compression +sent brotli'
  netlog tcp >tcp.facts 2>&1 || { bad "reading the tcp net log"; show tcp.facts; }
  check "tcp net log: a full TLS 1.3 handshake, TLS_AES_128_GCM_SHA256" tcp.facts \
    '^ssl cipher_suite 4865 version TLS 1.3 resumed False'
  check "tcp net log: no QUIC session" tcp.facts '^event QUIC_SESSION 0$'
else
  bad "tern server did not start"
  show tcps.log
fi

finish chromium
