#!/bin/sh
# pq_interop.sh TERN MODE - the post-quantum groups with real peers over TCP
# on 127.0.0.1, tern in its default configuration:
#   MODE chromium: headless Chromium (Debian chromium) fetches a page from
#     `tern server --www`; Chromium's net log (SSL_CONNECT's
#     key_exchange_group) says 4588 (X25519MLKEM768) and tern's page and
#     log name X25519MLKEM768. Then over HTTP/3 from `tern h3-server`
#     (the hybrid ClientHello in two Initial packets): the ServerHello in
#     Chromium's net log carries a 4588 share of 1120 bytes. Skips (77)
#     without chromium.
#   MODE fallback: peers without ML-KEM (OpenSSL 3.0, GnuTLS 3.7) complete
#     with tern on X25519 in both roles, without a HelloRetryRequest:
#     openssl s_client and gnutls-cli -> tern server, tern client ->
#     openssl s_server and gnutls-serv.
# Background processes are always killed.
set -u

TERN=${1:?usage: pq_interop.sh path/to/tern chromium|fallback}
MODE=${2:?usage: pq_interop.sh path/to/tern chromium|fallback}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl command"; exit 77; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ "$MODE" = chromium ] && [ -z "$CHROMIUM" ]; then echo "SKIP: no chromium"; exit 77; fi

. "$(dirname "$0")/lib.sh"
test_dir pq
TO="timeout 20"

# ---- a CA and a leaf for localhost ----------------------------------------
make_ca ca "tern pq CA" && make_leaf leaf ca "DNS:localhost, IP:127.0.0.1" ||
  { bad "making the PKI"; exit 1; }

# start_tern_server LOG ARGS: tern server in the background (PORT, SPID)
start_tern_server() {
  log=$1
  shift
  "$TERN" server --cert leaf.pem --key leaf.key --port 0 "$@" >"$log" 2>&1 &
  SPID=$!
  PIDS="$PIDS $SPID"
  wait_for "$log" "listening on" "$SPID" || { bad "tern server did not start"; show "$log"; exit 1; }
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

if [ "$MODE" = chromium ]; then
  # ---- Chromium -> tern server --www ----------------------------------------
  start_tern_server server.log --www
  SPKI=$(openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform der |
         openssl dgst -sha256 -binary | base64)
  timeout 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --user-data-dir="$DIR/profile" \
    --ignore-certificate-errors-spki-list="$SPKI" \
    --host-resolver-rules="MAP localhost 127.0.0.1" --log-net-log="$DIR/net.json" \
    --dump-dom "https://localhost:$PORT/" >page.html 2>chromium.err
  rc=$?
  stop "$SPID"
  [ $rc -eq 0 ] && ok "chromium exits 0" || { bad "chromium exited $rc"; show chromium.err; }
  python3 - "$DIR/net.json" >netlog.txt 2>&1 <<'PY'
import json, sys
text = open(sys.argv[1]).read().rstrip()
if not text.endswith("}"):            # a log cut short at exit: close it
    text = text.rstrip(",") + "]}"
log = json.loads(text)
names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
for e in log["events"]:
    p = e.get("params", {})
    if names.get(e["type"]) == "SSL_CONNECT" and "key_exchange_group" in p:
        print("SSL_CONNECT key_exchange_group=%s cipher_suite=%s is_resumed=%s" % (
            p["key_exchange_group"], p.get("cipher_suite"), p.get("is_resumed")))
PY
  show netlog.txt
  expect netlog.txt "key_exchange_group=4588" "Chromium's net log: SSL_CONNECT with group 4588 (X25519MLKEM768)"
  expect_not netlog.txt "key_exchange_group=29 " "Chromium never fell back to X25519 (29)"
  expect page.html "<tr><th>group</th><td>X25519MLKEM768</td></tr>" "tern's page reports X25519MLKEM768"
  expect server.log "group               X25519MLKEM768" "tern server's log reports X25519MLKEM768"
  expect_not server.log "(after HelloRetryRequest)" "no HelloRetryRequest"

  # ---- Chromium -> tern h3-server over HTTP/3 (QUIC) -------------------------
  # the hybrid ClientHello spans two Initial packets; the net log holds the
  # CRYPTO frames, so the ServerHello's key_share group is read from them
  mkdir -p www
  "$TERN" h3-server --cert leaf.pem --key leaf.key --port 0 --dir www >h3server.log 2>&1 &
  H3PID=$!
  PIDS="$PIDS $H3PID"
  wait_for h3server.log "listening on" "$H3PID" || { bad "tern h3-server did not start"; show h3server.log; }
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' h3server.log)
  timeout 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --user-data-dir="$DIR/profile3" \
    --ignore-certificate-errors-spki-list="$SPKI" \
    --host-resolver-rules="MAP localhost 127.0.0.1" --enable-quic \
    --origin-to-force-quic-on="localhost:$PORT" --log-net-log="$DIR/net3.json" \
    --dump-dom "https://localhost:$PORT/tern" >page3.html 2>chromium3.err
  rc=$?
  stop "$H3PID"
  [ $rc -eq 0 ] && ok "chromium (HTTP/3) exits 0" || { bad "chromium (HTTP/3) exited $rc"; show chromium3.err; }
  python3 - "$DIR/net3.json" >netlog3.txt 2>&1 <<'PY'
import base64, json, sys
text = open(sys.argv[1]).read().rstrip()
if not text.endswith("}"):
    text = text.rstrip(",") + "]}"
log = json.loads(text)
names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
initial = {}
for e in log["events"]:
    n, p = names.get(e["type"]), e.get("params", {})
    if n == "QUIC_SESSION_CRYPTO_FRAME_RECEIVED" and p.get("encryption_level") == "ENCRYPTION_INITIAL":
        initial[p["offset"]] = base64.b64decode(p["bytes"])
    elif n == "QUIC_SESSION_CRYPTO_HANDSHAKE_COMPLETE":
        print("QUIC_SESSION_CRYPTO_HANDSHAKE_COMPLETE")
    elif n == "HTTP3_HEADERS_DECODED" and any(h.startswith(":status: 200") for h in p.get("headers", [])):
        print("HTTP3_HEADERS_DECODED :status 200")
data, off = b"", 0
while off in initial:
    data += initial[off]
    off += len(initial[off])
# ServerHello: type, length, version, random, session id, suite, compression, extensions
if data[:1] == b"\x02":
    at = 4 + 2 + 32
    at += 1 + data[at] + 2 + 1
    end = at + 2 + int.from_bytes(data[at:at + 2], "big")
    at += 2
    while at + 4 <= end:
        t, l = int.from_bytes(data[at:at + 2], "big"), int.from_bytes(data[at + 2:at + 4], "big")
        if t == 51:
            print("ServerHello key_share group=%d share=%d bytes" % (
                int.from_bytes(data[at + 4:at + 6], "big"), int.from_bytes(data[at + 6:at + 8], "big")))
        at += 4 + l
PY
  show netlog3.txt
  expect netlog3.txt "QUIC_SESSION_CRYPTO_HANDSHAKE_COMPLETE" "HTTP/3: Chromium's QUIC handshake completed"
  expect netlog3.txt "HTTP3_HEADERS_DECODED :status 200" "HTTP/3: the page came over h3"
  expect netlog3.txt "ServerHello key_share group=4588 share=1120 bytes" \
    "HTTP/3: the ServerHello Chromium received has an X25519MLKEM768 share (1120 bytes)"
  expect page3.html 'id="group">X25519MLKEM768' "tern h3-server's page reports X25519MLKEM768"
  expect h3server.log "X25519MLKEM768, ALPN h3" "tern h3-server's log reports X25519MLKEM768"
else
  # ---- openssl s_client (3.0, no ML-KEM) -> tern server ------------------------
  start_tern_server server1.log --www --once
  printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    $TO openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -CAfile ca.pem \
      -servername localhost -ign_eof >sclient.out 2>&1
  wait "$SPID"
  expect sclient.out "Verify return code: 0 (ok)" "openssl s_client completes with tern server"
  expect sclient.out "Server Temp Key: X25519" "... on X25519"
  expect sclient.out "<tr><th>group</th><td>x25519</td></tr>" "tern's page reports x25519"
  expect server1.log "group               x25519" "tern server: x25519, no HelloRetryRequest"
  expect_not server1.log "HelloRetryRequest" "tern server sent no HelloRetryRequest"

  # ---- tern client -> openssl s_server ---------------------------------------
  SSPID=""
  for attempt in 1 2 3 4 5; do
    PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000 ))
    openssl s_server -tls1_3 -cert leaf.pem -key leaf.key -accept "$PORT" -www \
      -naccept 1 </dev/null >sserver.log 2>&1 &
    SSPID=$!
    PIDS="$PIDS $SSPID"
    wait_for sserver.log "ACCEPT" "$SSPID" && break
    SSPID=""
  done
  [ -n "$SSPID" ] || { bad "openssl s_server did not start"; show sserver.log; exit 1; }
  $TO "$TERN" client "localhost:$PORT" --ca ca.pem --send 'GET / HTTP/1.0\r\n\r\n' \
    >client1.out 2>client1.err
  rc=$?
  stop "$SSPID"
  [ $rc -eq 0 ] && ok "tern client completes with openssl s_server" || { bad "tern client exited $rc"; show client1.err; }
  expect client1.err "group               x25519" "tern client: x25519"
  expect_not client1.err "HelloRetryRequest" "... without a HelloRetryRequest"

  if command -v gnutls-cli >/dev/null 2>&1 && command -v gnutls-serv >/dev/null 2>&1; then
    # ---- gnutls-cli (3.7, no ML-KEM) -> tern server ---------------------------
    start_tern_server server2.log --once
    printf 'ping\n' | $TO gnutls-cli --x509cafile ca.pem -p "$PORT" localhost \
      --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3" >gcli.out 2>&1
    wait "$SPID"
    expect gcli.out "(TLS1.3-X.509)-(ECDHE-X25519)" "gnutls-cli completes with tern server on X25519"
    expect server2.log "group               x25519" "tern server: x25519"
    expect_not server2.log "HelloRetryRequest" "... without a HelloRetryRequest"
    # ---- tern client -> gnutls-serv -------------------------------------------
    GSPID=""
    for attempt in 1 2 3 4 5; do
      PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000 ))
      gnutls-serv --echo -p "$PORT" --x509certfile leaf.pem --x509keyfile leaf.key \
        --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3" </dev/null >gserv.log 2>&1 &
      GSPID=$!
      PIDS="$PIDS $GSPID"
      wait_for gserv.log "port $PORT...done" "$GSPID" && break
      stop "$GSPID"
      GSPID=""
    done
    [ -n "$GSPID" ] || { bad "gnutls-serv did not start"; show gserv.log; exit 1; }
    $TO "$TERN" client "127.0.0.1:$PORT" --servername localhost --ca ca.pem --send 'pq\n' \
      >client2.out 2>client2.err
    rc=$?
    stop "$GSPID"
    [ $rc -eq 0 ] && ok "tern client completes with gnutls-serv" || { bad "tern client exited $rc"; show client2.err; }
    expect client2.err "group               x25519" "tern client: x25519"
    expect_not client2.err "HelloRetryRequest" "... without a HelloRetryRequest"
  else
    echo "skip gnutls-cli/gnutls-serv not installed"
  fi
fi
finish "pq-$MODE"
