#!/bin/sh
# cli_interop.sh TERN - `tern server` and `tern client` against the openssl
# command (and curl when installed), over real TCP on 127.0.0.1:
#   1. tern server --www --once, fetched with openssl s_client
#   2. the same, fetched with curl (skipped without curl)
#   3. tern server (echo) with tern client
#   4. openssl s_server -www with tern client, twice with --resume (the
#      second run resumes), with a key log
#   5. tern client against a CA that did not issue the server's
#      certificate: exit 1 and the unknown_ca alert
# Background servers are always killed; the whole test takes seconds.
set -u

TERN=${1:?usage: cli_interop.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl command"; exit 77; }

. "$(dirname "$0")/lib.sh"
test_dir cli

# ---- the PKI: a P-256 CA and a leaf for localhost / 127.0.0.1 ----------
make_ca ca "tern interop CA" && make_ca other "another CA" || { bad "making the CAs"; exit 1; }
make_leaf leaf ca "DNS:localhost, IP:127.0.0.1" "serverAuth, clientAuth" ||
  { bad "making the leaf"; exit 1; }
ok "CA and leaf made with openssl"

# Starts `tern server --once ARGS` in the background; sets PORT and SPID.
start_tern_server() {
  log=$1
  shift
  $TO "$TERN" server --cert leaf.pem --key leaf.key --port 0 --once "$@" >"$log" 2>&1 &
  SPID=$!
  PIDS="$PIDS $SPID"
  if ! wait_for "$log" "listening on" "$SPID"; then
    bad "tern server did not start"
    sed 's/^/     | /' "$log"
    exit 1
  fi
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
}

# ---- 1. tern server --www, openssl s_client --------------------------
start_tern_server server1.log --www --keylog server1.keys
printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
  $TO openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -CAfile ca.pem \
    -servername localhost -ign_eof >sclient.out 2>&1
wait "$SPID"
rc=$?
[ $rc -eq 0 ] && ok "tern server --once exits 0" || bad "tern server --once exited $rc"
expect sclient.out "Verify return code: 0 (ok)" "s_client verifies tern's certificate"
expect sclient.out "New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" "s_client: TLS 1.3"
expect sclient.out "HTTP/1.1 200 OK" "tern server --www answers 200"
expect sclient.out "Connection: close" "... with Connection: close"
expect sclient.out "<tr><th>cipher suite</th><td>TLS_AES_128_GCM_SHA256</td></tr>" \
  "... and a page of the parameters"
expect server1.log "cipher suite        TLS_AES_128_GCM_SHA256" "server prints the suite"
expect server1.log "signature scheme    ecdsa_secp256r1_sha256" "server prints the scheme"
expect server1.log "request: GET / HTTP/1.1" "server prints the request"
expect server1.log "connection 1 closed" "server closes cleanly"
n=$(grep -cE '^[A-Z0-9_]+ [0-9a-f]{64} [0-9a-f]{64,96}$' server1.keys 2>/dev/null)
[ "${n:-0}" -eq 5 ] && ok "server key log: 5 NSS lines" || bad "server key log has ${n:-0} lines"

# ---- 2. tern server --www, curl ----------------------------------------
if command -v curl >/dev/null 2>&1; then
  start_tern_server server2.log --www
  $TO curl -sS --tlsv1.3 --cacert ca.pem "https://localhost:$PORT/" -o curl.out \
    -w '%{http_code}\n' >curl.code 2>curl.err
  rc=$?
  wait "$SPID"
  [ $rc -eq 0 ] && ok "curl exits 0" || { bad "curl exited $rc"; cat curl.err; }
  expect curl.code "200" "curl gets 200"
  expect curl.out "<tr><th>ALPN</th><td>http/1.1</td></tr>" "curl negotiated http/1.1"
  expect curl.out "<tr><th>server name</th><td>localhost</td></tr>" "curl sent SNI"
else
  echo "skip curl is not installed"
fi

# ---- 3. tern server (echo), tern client ----------------------------------
start_tern_server server3.log
$TO "$TERN" client "127.0.0.1:$PORT" --ca ca.pem --key-update --send 'ping\n' \
  >echo.out 2>echo.err
rc=$?
wait "$SPID"
[ $rc -eq 0 ] && ok "tern client -> tern server exits 0" || { bad "tern client exited $rc"; cat echo.err; }
expect echo.out "ping" "tern server echoes"
expect echo.err "sent KeyUpdate" "tern client sent a KeyUpdate"

# ---- 4. openssl s_server -www, tern client ---------------------------------
SSPID=""
for attempt in 1 2 3 4 5; do
  PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000 ))
  openssl s_server -tls1_3 -cert leaf.pem -key leaf.key -accept "$PORT" -www \
    -naccept 3 </dev/null >sserver.log 2>&1 &
  SSPID=$!
  PIDS="$PIDS $SSPID"
  wait_for sserver.log "ACCEPT" "$SSPID" && break
  SSPID=""
done
[ -n "$SSPID" ] || { bad "openssl s_server did not start"; cat sserver.log; exit 1; }
for run in 1 2; do
  $TO "$TERN" client "localhost:$PORT" --ca ca.pem --resume session.bin \
    --keylog client.keys --send 'GET / HTTP/1.0\r\n\r\n' >client$run.out 2>client$run.err
  rc=$?
  [ $rc -eq 0 ] && ok "tern client run $run exits 0" || { bad "tern client run $run exited $rc"; cat client$run.err; }
done
expect client1.err "resumed             no" "first run: full handshake"
expect client1.err "server certificate  CN=localhost" "first run: the server's certificate"
expect client1.err "saved to session.bin" "first run: ticket stored"
expect client1.out "New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" "s_server saw a new session"
expect client2.err "offering the session stored in session.bin" "second run offers it"
expect client2.err "resumed             yes" "second run: resumed"
expect client2.out "Reused, TLSv1.3" "s_server saw it reused"
n=$(grep -c '^CLIENT_TRAFFIC_SECRET_0 ' client.keys 2>/dev/null)
[ "${n:-0}" -eq 2 ] && ok "client key log: one line set per connection" || bad "client key log: ${n:-0} CLIENT_TRAFFIC_SECRET_0 lines"

# ---- 5. a CA that did not issue the certificate ----------------------------
$TO "$TERN" client "localhost:$PORT" --ca other.pem --send x >wrongca.out 2>wrongca.err
rc=$?
[ $rc -eq 1 ] && ok "wrong CA: exit 1" || bad "wrong CA: exit $rc"
expect wrongca.err "alert unknown_ca (48)" "wrong CA: unknown_ca, said why"

finish cli-interop
