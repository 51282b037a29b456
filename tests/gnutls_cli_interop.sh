#!/bin/sh
# gnutls_cli_interop.sh TERN - `tern client` against gnutls-serv and
# gnutls-cli against `tern server`, over real TCP on 127.0.0.1, with a PKI
# made by certtool (all three tools come with gnutls-bin).
#
#   A. tern client -> gnutls-serv --echo (TLS 1.3 only)
#      1. each TLS 1.3 cipher suite, forced by the server's priority
#      2. each group; all but x25519 go through a HelloRetryRequest, as the
#         tern client sends an x25519 share only (secp384r1 is the HRR case)
#      3. a suite tern does not offer by default (AES-128-CCM; the CLI has no
#         option for it yet, test_cmd_interop runs it): a clean failure
#      4. resumption: --resume twice, the second run resumes
#      5. KeyUpdate (--key-update), data echoed under the new keys
#      6. client certificate (--require-client-cert --verify-client-cert),
#         then without one and with one from another CA: refused
#      7. RSA and Ed25519 server certificates, ALPN
#   B. gnutls-cli -> tern server
#      1. each TLS 1.3 cipher suite, forced by the client's priority
#      2. each group
#      3. AES-128-CCM only (not in the tern server's default suites): a clean failure
#      4. resumption (gnutls-cli --resume)
#      5. KeyUpdate from gnutls-cli (inline commands ^rekey^, ^rekey1^)
#      6. client certificate (--verify-client --client-ca), then none / another CA
#      7. tern server --www with a GET and ALPN h2,http/1.1
#      8. RSA and Ed25519 server certificates
# Outputs are checked with grep; every command has a deadline and every
# background server is killed. Skips (77) when gnutls-bin is not installed.
set -u

TERN=${1:?usage: gnutls_cli_interop.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
for tool in gnutls-serv gnutls-cli certtool; do
  command -v $tool >/dev/null 2>&1 || { echo "SKIP: no $tool (gnutls-bin)"; exit 77; }
done

. "$(dirname "$0")/lib.sh"
test_dir gnutls
# rc_is WANT GOT DESCRIPTION FILE... (WANT: 0, or "fail" for any nonzero)
rc_is() {
  want=$1 got=$2 what=$3
  shift 3
  if [ "$want" = fail ] && [ "$got" -ne 0 ] && [ "$got" -ne 124 ]; then ok "$what: exit $got"
  elif [ "$want" = "$got" ]; then ok "$what: exit $got"
  else bad "$what: exit $got (want $want)"; for f in "$@"; do echo "     $f:"; show "$f"; done; fi
}


# ---- the PKI: a P-256 CA; ECDSA, RSA and Ed25519 leaves for localhost; ----
# ---- client certificates; and a self-signed stranger ---------------------
cat > ca.tmpl <<'EOF'
cn = "tern gnutls interop CA"
ca
cert_signing_key
expiration_days = 2
EOF
cat > leaf.tmpl <<'EOF'
cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
tls_www_server
signing_key
expiration_days = 2
EOF
cat > client.tmpl <<'EOF'
cn = "tern client"
tls_www_client
signing_key
expiration_days = 2
EOF
cat > stranger.tmpl <<'EOF'
cn = "stranger"
tls_www_client
signing_key
expiration_days = 2
EOF
certtool_q() { certtool "$@" </dev/null >/dev/null 2>&1; }
# mkkey NAME TYPE-ARGS...
mkkey() {
  n=$1
  shift
  certtool_q --generate-privkey "$@" --outfile "$n.key"
}
# mkcert NAME TEMPLATE: NAME.pem for NAME.key, issued by the CA
mkcert() {
  certtool_q --generate-certificate --load-privkey "$1.key" --load-ca-certificate ca.pem \
    --load-ca-privkey ca.key --template "$2" --outfile "$1.pem"
}
if mkkey ca --key-type ecdsa --curve secp256r1 &&
   certtool_q --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem &&
   mkkey leaf --key-type ecdsa --curve secp256r1 && mkcert leaf leaf.tmpl &&
   mkkey rsa --key-type rsa --bits 2048 && mkcert rsa leaf.tmpl &&
   mkkey ed --key-type ed25519 && mkcert ed leaf.tmpl &&
   mkkey client --key-type ecdsa --curve secp256r1 && mkcert client client.tmpl &&
   mkkey rsaclient --key-type rsa --bits 2048 && mkcert rsaclient client.tmpl &&
   mkkey stranger --key-type ecdsa --curve secp256r1 &&
   certtool_q --generate-self-signed --load-privkey stranger.key --template stranger.tmpl \
     --outfile stranger.pem; then
  ok "CA, server and client certificates made with certtool"
else
  bad "making the PKI with certtool"
  exit 1
fi

TLS13="NORMAL:-VERS-ALL:+VERS-TLS1.3"

# ---- gnutls-serv ---------------------------------------------------------
# start_gserv LOG ARGS...: gnutls-serv --echo on a random free port (PORT),
# pid GSPID. gnutls-serv does not exit when bind() fails, so its log is read.
start_gserv() {
  log=$1
  shift
  for _ in 1 2 3 4 5 6 7 8; do
    PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000 ))
    $TOSERV gnutls-serv --echo -p "$PORT" "$@" </dev/null >"$log" 2>&1 &
    GSPID=$!
    PIDS="$PIDS $GSPID"
    i=0
    while [ $i -lt 50 ]; do
      grep -qF "IPv4 0.0.0.0 port $PORT...done" "$log" 2>/dev/null && return 0
      grep -qF "failed" "$log" 2>/dev/null && break
      kill -0 "$GSPID" 2>/dev/null || break
      sleep 0.1
      i=$((i + 1))
    done
    kill "$GSPID" 2>/dev/null
    wait "$GSPID" 2>/dev/null
  done
  bad "gnutls-serv did not start"
  show "$log"
  exit 1
}
stop_gserv() {
  kill "$GSPID" 2>/dev/null
  wait "$GSPID" 2>/dev/null
}
# tern_client OUT ARGS...: tern client to the gnutls-serv on PORT; stdout
# to OUT.out, stderr to OUT.err, exit status in RC.
tern_client() {
  out=$1
  shift
  $TO "$TERN" client "127.0.0.1:$PORT" --servername localhost --ca ca.pem "$@" \
    >"$out.out" 2>"$out.err"
  RC=$?
}

echo "# A. tern client -> gnutls-serv"

# ---- A1. cipher suites -----------------------------------------------------
for pair in AES-128-GCM:TLS_AES_128_GCM_SHA256 AES-256-GCM:TLS_AES_256_GCM_SHA384 \
            CHACHA20-POLY1305:TLS_CHACHA20_POLY1305_SHA256; do
  g=${pair%%:*} suite=${pair#*:}
  start_gserv "gs-$g.log" --x509certfile leaf.pem --x509keyfile leaf.key \
    --priority "$TLS13:-CIPHER-ALL:+$g"
  tern_client "tc-$g" --send "suite $g\n"
  stop_gserv
  rc_is 0 $RC "A1 $suite: tern client" "tc-$g.err" "gs-$g.log"
  expect "tc-$g.out" "suite $g" "A1 $suite: data echoed"
  expect "tc-$g.err" "cipher suite        $suite" "A1 $suite: tern client negotiated it"
  expect "tc-$g.err" "group               x25519" "A1 $suite: x25519, no HRR"
  expect "tc-$g.err" "signature scheme    ecdsa_secp256r1_sha256" "A1 $suite: ECDSA P-256 signature"
  expect "gs-$g.log" "- Cipher: $g" "A1 $suite: gnutls-serv negotiated it"
  expect "gs-$g.log" "- Given server name[1]: localhost" "A1 $suite: gnutls-serv got SNI"
done

# ---- A2. groups (all but x25519 after a HelloRetryRequest) ------------------
for pair in X25519:x25519 SECP256R1:secp256r1 SECP384R1:secp384r1 SECP521R1:secp521r1 \
            X448:x448; do
  g=${pair%%:*} group=${pair#*:}
  start_gserv "gs-$g.log" --x509certfile leaf.pem --x509keyfile leaf.key \
    --priority "$TLS13:-GROUP-ALL:+GROUP-$g"
  tern_client "tc-$g" --send "group $g\n"
  stop_gserv
  rc_is 0 $RC "A2 $group: tern client" "tc-$g.err" "gs-$g.log"
  expect "tc-$g.out" "group $g" "A2 $group: data echoed"
  if [ "$g" = X25519 ]; then
    expect "tc-$g.err" "group               x25519" "A2 x25519: tern client negotiated it"
    expect_not "tc-$g.err" "HelloRetryRequest" "A2 x25519: no HelloRetryRequest"
  else
    expect "tc-$g.err" "group               $group (after HelloRetryRequest)" \
      "A2 $group: tern client negotiated it after a HelloRetryRequest"
  fi
  expect "gs-$g.log" "- Description: (TLS1.3-X.509)-(ECDHE-$g)" "A2 $group: gnutls-serv used it"
done

# ---- A3. a suite tern does not offer by default ---------------------------
start_gserv gs-ccm.log --x509certfile leaf.pem --x509keyfile leaf.key \
  --priority "$TLS13:-CIPHER-ALL:+AES-128-CCM"
tern_client tc-ccm --send "ccm\n"
stop_gserv
rc_is fail $RC "A3 AES-128-CCM only: tern client fails" tc-ccm.err gs-ccm.log
expect tc-ccm.err "handshake failed: alert handshake_failure (40)" \
  "A3 AES-128-CCM only: handshake_failure from gnutls-serv"

# ---- A4. resumption, A5. KeyUpdate (one server) ----------------------------
start_gserv gs-resume.log --x509certfile leaf.pem --x509keyfile leaf.key --priority "$TLS13"
tern_client tc-resume1 --resume session.bin --send "first\n"
rc1=$RC
tern_client tc-resume2 --resume session.bin --send "second\n"
rc2=$RC
tern_client tc-ku --key-update --send "after the KeyUpdate\n"
rc3=$RC
stop_gserv
rc_is 0 $rc1 "A4 first run" tc-resume1.err
expect tc-resume1.err "resumed             no" "A4 first run: full handshake"
expect tc-resume1.err "saved to session.bin" "A4 first run: ticket from gnutls-serv stored"
expect tc-resume1.out "first" "A4 first run: data echoed"
rc_is 0 $rc2 "A4 second run" tc-resume2.err
expect tc-resume2.err "offering the session stored in session.bin" "A4 second run offers it"
expect tc-resume2.err "resumed             yes" "A4 second run: resumed"
expect tc-resume2.out "second" "A4 second run: data echoed"
n=$(grep -c '^\*\*\* This is a resumed session' gs-resume.log)
if [ "$n" -eq 1 ]; then ok "A4 gnutls-serv saw one resumed session"
else bad "A4 gnutls-serv saw $n resumed sessions"; show gs-resume.log; fi
rc_is 0 $rc3 "A5 KeyUpdate" tc-ku.err
expect tc-ku.err "sent KeyUpdate (update_requested)" "A5 tern client sent a KeyUpdate"
expect tc-ku.out "after the KeyUpdate" "A5 data echoed under the new keys"

# ---- A6. client certificate --------------------------------------------------
start_gserv gs-cauth.log --x509certfile leaf.pem --x509keyfile leaf.key --x509cafile ca.pem \
  --require-client-cert --verify-client-cert --priority "$TLS13"
tern_client tc-cauth --cert client.pem --key client.key --send "with a certificate\n"
rc1=$RC
tern_client tc-nocert --send "no certificate\n"
rc2=$RC
tern_client tc-stranger --cert stranger.pem --key stranger.key --send "stranger\n"
rc3=$RC
stop_gserv
rc_is 0 $rc1 "A6 client certificate" tc-cauth.err gs-cauth.log
expect tc-cauth.out "with a certificate" "A6 client certificate: data echoed"
expect gs-cauth.log "- Status: The certificate is trusted." "A6 gnutls-serv verified it"
expect gs-cauth.log "Subject: CN=tern client" "A6 ... the tern client's certificate"
expect gs-cauth.log "- Client Signature: ECDSA-SECP256R1-SHA256" "A6 ... and its CertificateVerify"
# gnutls-serv closes after its alert; tern reports the alert or, when the
# reset beats it, a failed write. Either way: no data, nonzero exit.
rc_is fail $rc2 "A6 no client certificate: refused" tc-nocert.err
expect_not tc-nocert.out "no certificate" "A6 no client certificate: nothing echoed"
expect gs-cauth.log "Error in handshake: Certificate is required." \
  "A6 gnutls-serv: certificate required"
rc_is fail $rc3 "A6 stranger's certificate: refused" tc-stranger.err
expect_not tc-stranger.out "stranger" "A6 stranger's certificate: nothing echoed"
expect gs-cauth.log "Error in handshake: Error in the certificate." \
  "A6 gnutls-serv: stranger's certificate rejected"

# ---- A7. RSA and Ed25519 server certificates, ALPN ----------------------------
for pair in rsa:rsa_pss_rsae_sha256:RSA-PSS-RSAE-SHA256 ed:ed25519:EdDSA-Ed25519; do
  k=${pair%%:*} rest=${pair#*:}
  scheme=${rest%%:*} gname=${rest#*:}
  start_gserv "gs-$k.log" --x509certfile "$k.pem" --x509keyfile "$k.key" --priority "$TLS13" \
    --alpn http/1.1
  tern_client "tc-$k" --alpn h2,http/1.1 --send "server key $k\n"
  stop_gserv
  rc_is 0 $RC "A7 $scheme: tern client" "tc-$k.err" "gs-$k.log"
  expect_line "tc-$k.out" "server key $k" "A7 $scheme: data echoed"
  expect "tc-$k.err" "signature scheme    $scheme" "A7 $scheme: tern client verified it"
  expect "tc-$k.err" "ALPN                http/1.1" "A7 $scheme: ALPN http/1.1"
  expect "gs-$k.log" "- Server Signature: $gname" "A7 $scheme: gnutls-serv signed with it"
done

# ---- tern server -------------------------------------------------------------
# start_tern_server LOG ARGS...: sets PORT and SPID.
start_tern_server() {
  log=$1
  shift
  $TOSERV "$TERN" server --port 0 "$@" >"$log" 2>&1 &
  SPID=$!
  PIDS="$PIDS $SPID"
  if ! wait_for "$log" "listening on" "$SPID"; then
    bad "tern server did not start"
    show "$log"
    exit 1
  fi
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
}
# gnutls_cli OUT INPUT ARGS...: gnutls-cli to the tern server on PORT with
# INPUT (printf format) on stdin; output to OUT.out / OUT.err, status in RC.
gnutls_cli() {
  out=$1 input=$2
  shift 2
  # shellcheck disable=SC2059
  printf "$input" | $TO gnutls-cli --x509cafile ca.pem -p "$PORT" "$@" localhost \
    >"$out.out" 2>"$out.err"
  RC=$?
}
# tern server --once exits with the connection's result.
wait_tern() {
  wait "$SPID"
  SRC=$?
}

echo "# B. gnutls-cli -> tern server"

# ---- B1. cipher suites ---------------------------------------------------------
for pair in AES-128-GCM:TLS_AES_128_GCM_SHA256 AES-256-GCM:TLS_AES_256_GCM_SHA384 \
            CHACHA20-POLY1305:TLS_CHACHA20_POLY1305_SHA256; do
  g=${pair%%:*} suite=${pair#*:}
  start_tern_server "ts-$g.log" --cert leaf.pem --key leaf.key --once
  gnutls_cli "gc-$g" "suite $g\n" --priority "$TLS13:-CIPHER-ALL:+$g"
  wait_tern
  rc_is 0 $RC "B1 $suite: gnutls-cli" "gc-$g.out" "gc-$g.err" "ts-$g.log"
  rc_is 0 $SRC "B1 $suite: tern server --once" "ts-$g.log"
  expect "gc-$g.out" "- Status: The certificate is trusted." "B1 $suite: gnutls-cli verified tern"
  expect "gc-$g.out" "-(ECDSA-SECP256R1-SHA256)-($g)" "B1 $suite: gnutls-cli negotiated it"
  expect_line "gc-$g.out" "suite $g" "B1 $suite: data echoed"
  expect "ts-$g.log" "cipher suite        $suite" "B1 $suite: tern server negotiated it"
  expect "ts-$g.log" "server name         localhost" "B1 $suite: tern server got SNI"
done

# ---- B2. groups ------------------------------------------------------------------
for pair in X25519:x25519 SECP256R1:secp256r1 SECP384R1:secp384r1 SECP521R1:secp521r1 \
            X448:x448; do
  g=${pair%%:*} group=${pair#*:}
  start_tern_server "ts-$g.log" --cert leaf.pem --key leaf.key --once
  gnutls_cli "gc-$g" "group $g\n" --priority "$TLS13:-GROUP-ALL:+GROUP-$g"
  wait_tern
  rc_is 0 $RC "B2 $group: gnutls-cli" "gc-$g.out" "gc-$g.err" "ts-$g.log"
  rc_is 0 $SRC "B2 $group: tern server --once" "ts-$g.log"
  expect "gc-$g.out" "- Description: (TLS1.3-X.509)-(ECDHE-$g)" "B2 $group: gnutls-cli used it"
  expect_line "gc-$g.out" "group $g" "B2 $group: data echoed"
  expect "ts-$g.log" "group               $group" "B2 $group: tern server negotiated it"
done

# ---- B3. a suite tern does not offer by default ---------------------------------
start_tern_server ts-ccm.log --cert leaf.pem --key leaf.key --once
gnutls_cli gc-ccm "ccm\n" --priority "$TLS13:-CIPHER-ALL:+AES-128-CCM"
wait_tern
rc_is fail $RC "B3 AES-128-CCM only: gnutls-cli fails" gc-ccm.out gc-ccm.err
rc_is fail $SRC "B3 AES-128-CCM only: tern server --once fails" ts-ccm.log
expect ts-ccm.log "handshake failed: alert handshake_failure (40)" \
  "B3 AES-128-CCM only: tern server sends handshake_failure"

# ---- B4. resumption; B5. KeyUpdate from gnutls-cli (one server) -------------------
start_tern_server ts-multi.log --cert leaf.pem --key leaf.key
gnutls_cli gc-resume "echo after resumption\n" --resume --waitresumption
rc1=$RC
gnutls_cli gc-rekey "one\n^rekey^\ntwo\n^rekey1^\nthree\n" --inline-commands
rc2=$RC
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
rc_is 0 $rc1 "B4 gnutls-cli --resume" gc-resume.out gc-resume.err ts-multi.log
expect gc-resume.out "- Resume Handshake was completed" "B4 gnutls-cli resumed"
expect gc-resume.out "*** This is a resumed session" "B4 ... reported as a resumed session"
expect_line gc-resume.out "echo after resumption" "B4 data echoed on the resumed connection"
# connection 1 full, connection 2 resumed (in the tern server's log)
sed -n '/^connection 2 from/,/^connection 2 closed/p' ts-multi.log >ts-conn2.log
sed -n '/^connection 1 from/,/^connection 1 closed/p' ts-multi.log >ts-conn1.log
expect ts-conn1.log "resumed             no" "B4 tern server: first connection full"
expect ts-conn2.log "resumed             yes" "B4 tern server: second connection resumed"
rc_is 0 $rc2 "B5 gnutls-cli with KeyUpdates" gc-rekey.out gc-rekey.err ts-multi.log
n=$(grep -c '^- Rekey was completed' gc-rekey.out)
if [ "$n" -eq 2 ]; then ok "B5 gnutls-cli completed two KeyUpdates"
else bad "B5 gnutls-cli completed $n KeyUpdates"; show gc-rekey.out; fi
expect_line gc-rekey.out "one" "B5 data before the KeyUpdates echoed"
expect_line gc-rekey.out "two" "B5 data between them echoed"
expect_line gc-rekey.out "three" "B5 data after them echoed"
expect ts-multi.log "connection 3 closed: 14 bytes received, 14 sent" \
  "B5 tern server received and echoed all of it"

# ---- B6. client certificate ---------------------------------------------------------
start_tern_server ts-cauth.log --cert leaf.pem --key leaf.key --once --verify-client --client-ca ca.pem
gnutls_cli gc-cauth "with a certificate\n" --x509certfile rsaclient.pem --x509keyfile rsaclient.key
wait_tern
rc_is 0 $RC "B6 client certificate: gnutls-cli" gc-cauth.out gc-cauth.err ts-cauth.log
rc_is 0 $SRC "B6 client certificate: tern server" ts-cauth.log
expect_line gc-cauth.out "with a certificate" "B6 client certificate: data echoed"
expect ts-cauth.log "client certificate  CN=tern client" "B6 tern server verified it"
expect ts-cauth.log "issued by         CN=tern gnutls interop CA" "B6 ... issued by the CA"

start_tern_server ts-nocert.log --cert leaf.pem --key leaf.key --once --verify-client --client-ca ca.pem
gnutls_cli gc-nocert "no certificate\n"
wait_tern
rc_is fail $RC "B6 no client certificate: gnutls-cli fails" gc-nocert.out
rc_is fail $SRC "B6 no client certificate: tern server fails" ts-nocert.log
expect ts-nocert.log "alert certificate_required (116)" "B6 tern server: certificate_required"
expect gc-nocert.out "*** Received alert [116]" "B6 gnutls-cli got alert 116"

start_tern_server ts-stranger.log --cert leaf.pem --key leaf.key --once --verify-client --client-ca ca.pem
gnutls_cli gc-stranger "stranger\n" --x509certfile stranger.pem --x509keyfile stranger.key
wait_tern
rc_is fail $RC "B6 stranger's certificate: gnutls-cli fails" gc-stranger.out
rc_is fail $SRC "B6 stranger's certificate: tern server fails" ts-stranger.log
expect ts-stranger.log "alert unknown_ca (48)" "B6 tern server: unknown_ca"
expect gc-stranger.out "*** Received alert [48]" "B6 gnutls-cli got alert 48"

# ---- B7. tern server --www, GET, ALPN ---------------------------------------------
start_tern_server ts-www.log --cert leaf.pem --key leaf.key --once --www
gnutls_cli gc-www 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' --alpn h2 --alpn http/1.1
wait_tern
rc_is 0 $RC "B7 --www: gnutls-cli" gc-www.out gc-www.err ts-www.log
rc_is 0 $SRC "B7 --www: tern server" ts-www.log
expect gc-www.out "- Application protocol: http/1.1" "B7 gnutls-cli: ALPN http/1.1"
expect gc-www.out "HTTP/1.1 200 OK" "B7 tern server answers 200"
expect gc-www.out "<tr><th>cipher suite</th><td>TLS_AES_128_GCM_SHA256</td></tr>" \
  "B7 ... with a page of the parameters"
expect gc-www.out "<tr><th>ALPN</th><td>http/1.1</td></tr>" "B7 ... including ALPN"
expect ts-www.log "request: GET / HTTP/1.1" "B7 tern server prints the request"

# ---- B8. RSA and Ed25519 server certificates -------------------------------------
for pair in rsa:rsa_pss_rsae_sha256:RSA-PSS-RSAE-SHA256 ed:ed25519:EdDSA-Ed25519; do
  k=${pair%%:*} rest=${pair#*:}
  scheme=${rest%%:*} gname=${rest#*:}
  start_tern_server "ts-$k.log" --cert "$k.pem" --key "$k.key" --once
  gnutls_cli "gc-$k" "server key $k\n"
  wait_tern
  rc_is 0 $RC "B8 $scheme: gnutls-cli" "gc-$k.out" "gc-$k.err" "ts-$k.log"
  rc_is 0 $SRC "B8 $scheme: tern server" "ts-$k.log"
  expect "gc-$k.out" "- Status: The certificate is trusted." "B8 $scheme: gnutls-cli verified it"
  expect "gc-$k.out" "-($gname)-" "B8 $scheme: gnutls-cli negotiated it"
  expect_line "gc-$k.out" "server key $k" "B8 $scheme: data echoed"
  expect "ts-$k.log" "signature scheme    $scheme" "B8 $scheme: tern server signed with it"
done

finish gnutls-cli-interop
