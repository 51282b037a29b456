#!/bin/sh
# cli_options.sh TERN - the options of `tern server` and `tern client`,
# against `openssl s_client` / `s_server` and curl (the curl parts are
# skipped without curl), over real TCP on 127.0.0.1:
#   A. bad command lines: exit 2 and one line saying what is wrong;
#      --help lists the algorithm names tern knows
#   B. --www: one response in one record, in the request's version
#      (Content-Type, a true Content-Length), then close_notify after
#      Connection: close; the page shows suite, group, signature scheme,
#      ALPN, SNI (openssl s_client, curl); HEAD; 405; HTTP/1.1 keep-alive
#      (pipelined requests answered in order on one connection) and
#      HTTP/1.0 with and without Connection: keep-alive
#   C. --request-client-cert and --verify-client with --client-ca: with
#      and without a client certificate (s_client -cert, curl --cert,
#      tern client --cert), certificate_authorities, certificate_required,
#      unknown_ca for a stranger's certificate
#   D. --pha-path: post-handshake authentication (s_client -enable_pha,
#      curl, tern client): 200 with the subject, 403 without a
#      certificate or without post_handshake_auth, no request outside
#      the prefix, certificate_authorities in the request, unknown_ca
#   E. --groups, --ciphersuites, --sigalgs on both ends (HelloRetryRequest,
#      RSA-PSS digests, a suite the server refuses); ffdhe2048 and
#      TLS_AES_128_CCM_SHA256 once tern implements them
#   F. --num-tickets 3 (tern client and s_client count 3), 0 gives none
#   G. KeyUpdate: tern client --key-update against tern server and
#      s_server; s_client's KeyUpdate against tern server; each answer
#      comes before the next application data
#   H. 0-RTT: --max-early-data on both ends, tern to tern (accepted, and
#      refused by another server) and tern client to s_server -early_data
#   I. -q: the server prints only its listening line, the client nothing
#   J. external PSKs: tern server --no-cert --psk-identity/--psk against
#      s_client -psk and gnutls-cli --pskkey; tern client --psk against
#      s_server -psk -nocert and gnutls-serv --pskpasswd; a wrong key fails
#      (decrypt_error); bad PSK options exit 2
# Every output is checked with grep; every command has a deadline and
# every background server is killed. Skips (77) without openssl.
set -u

TERN=${1:?usage: cli_options.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl command"; exit 77; }
HAVE_CURL=0
command -v curl >/dev/null 2>&1 && HAVE_CURL=1

. "$(dirname "$0")/lib.sh"
test_dir cliopt

# rc_is WANT GOT DESCRIPTION FILE... (WANT: a code, or "fail" for any but 0 and 124)
rc_is() {
  want=$1 got=$2 what=$3
  shift 3
  if [ "$want" = fail ] && [ "$got" -ne 0 ] && [ "$got" -ne 124 ]; then ok "$what: exit $got"
  elif [ "$want" = "$got" ]; then ok "$what: exit $got"
  else bad "$what: exit $got (want $want)"; for f in "$@"; do echo "     $f:"; show "$f"; done; fi
}


# ---- the PKI: a P-256 CA; P-256 and RSA leaves for localhost / 127.0.0.1;
# a client certificate; a stranger CA with a client certificate of its own
mkca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    >/dev/null 2>&1
}
# mkleaf NAME CA SUBJECT EXTFILE KEYOPTS...
mkleaf() {
  name=$1 ca=$2 subj=$3 ext=$4
  shift 4
  openssl req -new -newkey "$@" -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj" \
    >/dev/null 2>&1 &&
  openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -days 2 \
    -extfile "$ext" -out "$name.pem" >/dev/null 2>&1
}
cat >server.ext <<'EOF'
subjectAltName = DNS:localhost, IP:127.0.0.1
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
EOF
cat >client.ext <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF
{ mkca ca "tern options CA" && mkca stranger-ca "a stranger CA" &&
  mkleaf leaf ca /CN=localhost server.ext ec -pkeyopt ec_paramgen_curve:P-256 &&
  mkleaf rsa ca /CN=localhost server.ext rsa:2048 &&
  mkleaf client ca "/O=tern/CN=tern test client" client.ext ec -pkeyopt ec_paramgen_curve:P-256 &&
  mkleaf stranger stranger-ca "/CN=a stranger" client.ext ec -pkeyopt ec_paramgen_curve:P-256
} || { bad "making the certificates with openssl"; exit 1; }
ok "CA, P-256 and RSA server certificates, client certificates made with openssl"
SUBJECT="CN=tern test client,O=tern" # RFC 2253: the last RDN first

# Starts `tern server ARGS` (a P-256 certificate unless ARGS give one) in
# the background; sets PORT and SPID. Most tests use --once.
start_tern_server() {
  log=$1
  shift
  $TOSERV "$TERN" server --port 0 "$@" >"$log" 2>&1 &
  SPID=$!
  PIDS="$PIDS $SPID"
  if ! wait_for "$log" "listening on" "$SPID"; then
    bad "tern server $* did not start"
    show "$log"
    exit 1
  fi
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
}
# Waits for the server; SRC gets its exit code.
wait_tern() {
  wait "$SPID"
  SRC=$?
}
P256="--cert leaf.pem --key leaf.key"

# sclient NAME REQUEST ARGS...: openssl s_client to the tern server with
# REQUEST (printf format) on stdin; the data to NAME.out, the rest to
# NAME.err, -msg records to NAME.msg. RC gets its exit code.
sclient() {
  name=$1 req=$2
  shift 2
  # shellcheck disable=SC2059 # the request is a format
  printf "$req" | $TO openssl s_client -connect "127.0.0.1:$PORT" -CAfile ca.pem \
    -servername localhost -ign_eof -msg -msgfile "$name.msg" "$@" >"$name.out" 2>"$name.err"
  RC=$?
}

# ---- A. bad command lines ------------------------------------------------
# bad_args WHAT MESSAGE ARGS...: exit 2, one line on stderr holding MESSAGE
bad_args() {
  what=$1 msg=$2
  shift 2
  $TO "$TERN" "$@" >bad.out 2>bad.err
  rc=$?
  lines=$(wc -l <bad.err)
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -qF -- "$msg" bad.err && [ ! -s bad.out ]; then
    ok "A $what: exit 2, \"$(cat bad.err)\""
  else
    bad "A $what: exit $rc, $lines lines (want 2, one line with \"$msg\"):"
    show bad.err bad.out
  fi
}
bad_args "unknown server option" "unknown option --nope" server $P256 --nope
bad_args "unknown one-letter option" "unknown option -x" server $P256 -x
bad_args "unknown client option" "unknown option --www" client localhost:1 --www
bad_args "missing value at the end" "--port needs a value" server $P256 --port
bad_args "missing value before an option" "--alpn needs a value" server $P256 --alpn --www
bad_args "value given to a switch" "--www takes no value" server $P256 --www=yes
bad_args "bad number" "--num-tickets: \"three\" is not a number from 0 to 10" \
  server $P256 --num-tickets three
bad_args "number too large" "--num-tickets: \"11\" is not a number from 0 to 10" \
  server $P256 --num-tickets 11
bad_args "negative number" "--max-early-data: \"-1\" is not a number" \
  server $P256 --max-early-data -1
bad_args "number past 2^32" "--max-early-data: \"4294967296\" is not a number" \
  client localhost:1 --max-early-data 4294967296 --resume s --send x
bad_args "unknown certificate compression" \
  "--cert-compression: unknown algorithm \"lzma\" (zlib, brotli, zstd or none)" \
  server $P256 --cert-compression zlib,lzma
bad_args "certificate compression listed twice" "--cert-compression: zlib is listed twice" \
  client localhost:1 --cert-compression zlib:zlib
bad_args "port out of range" "--port: \"70000\" is not a number from 0 to 65535" \
  server $P256 --port 70000
bad_args "timeout 0" "--timeout: \"0\" is not a number from 1 to 3600" client localhost:1 --timeout 0
bad_args "unknown group" "--groups: unknown group \"X25518\" (tern knows x25519" \
  server $P256 --groups X25519:X25518
bad_args "unknown suite" "--ciphersuites: unknown cipher suite \"TLS_AES_128_GCM\"" \
  client localhost:1 --ciphersuites TLS_AES_128_GCM
bad_args "unknown signature scheme" "--sigalgs: unknown signature scheme \"rsa_pkcs1_sha256\"" \
  client localhost:1 --sigalgs ed25519,rsa_pkcs1_sha256
bad_args "empty name in a list" "--groups \"P-256,\": an empty name" server $P256 --groups P-256,
bad_args "a group twice" "--groups: secp256r1 is listed twice" client localhost:1 --groups P-256:secp256r1
bad_args "no --key" "--cert and --key are required" server --cert leaf.pem
bad_args "client --cert without --key" "--cert and --key go together" client localhost:1 --cert client.pem
bad_args "--verify-client without anchors" "--verify-client needs --client-ca FILE" \
  server $P256 --verify-client
bad_args "--client-ca alone" "--client-ca is for --verify-client" server $P256 --client-ca ca.pem
bad_args "verify and request" "exclude each other" \
  server $P256 --verify-client --request-client-cert --client-ca ca.pem
bad_args "--pha-path without --www" "--pha-path needs --www" server $P256 --pha-path /s/ --client-ca ca.pem
bad_args "--pha-path not a path" "a path prefix starts with /" \
  server $P256 --www --pha-path secure --client-ca ca.pem
bad_args "early data without a session" "--max-early-data needs --resume FILE and --send TEXT" \
  client localhost:1 --max-early-data 10
bad_args "no server for the client" "which server?" client --ca ca.pem
bad_args "two servers for the client" "unexpected argument \"b:2\"" client a:1 b:2
"$TERN" server --help >help.out 2>&1
rc_is 0 $? "A tern server --help" help.out
expect help.out "--pha-path PREFIX" "A server --help documents --pha-path"
expect help.out "groups        x25519 x448 secp256r1" "A server --help lists the groups tern knows"
expect help.out "TLS_AES_128_GCM_SHA256" "A server --help lists the suites"
expect help.out "ed25519" "A server --help lists the signature schemes"
"$TERN" client --help >help-client.out 2>&1
rc_is 0 $? "A tern client --help" help-client.out
expect help-client.out "--max-early-data N" "A client --help documents --max-early-data"

# ---- B. --www --------------------------------------------------------------
start_tern_server www.log $P256 --once --www
sclient www 'GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' -alpn http/1.1 -quiet
wait_tern
rc_is 0 $RC "B s_client -> --www" www.err www.log
rc_is 0 $SRC "B tern server --www --once" www.log
expect www.out "HTTP/1.1 200 OK" "B HTTP/1.1 200"
expect www.out "Connection: close" "B ... Connection: close, as asked"
expect www.out "Content-Type: text/html; charset=utf-8" "B Content-Type"
len=$(sed -n 's/^Content-Length: \([0-9]*\).$/\1/p' www.out)
body=$(sed '1,/^.$/d' www.out | wc -c)
[ -n "$len" ] && [ "$len" -eq "$body" ] && ok "B Content-Length $len is the body's length" ||
  { bad "B Content-Length \"$len\", body $body bytes"; show www.out; }
for row in "<tr><th>path</th><td>/hello</td></tr>" \
  "<tr><th>cipher suite</th><td>TLS_AES_128_GCM_SHA256</td></tr>" \
  "<tr><th>group</th><td>x25519</td></tr>" \
  "<tr><th>signature scheme</th><td>ecdsa_secp256r1_sha256</td></tr>" \
  "<tr><th>ALPN</th><td>http/1.1</td></tr>" \
  "<tr><th>server name</th><td>localhost</td></tr>" \
  "<tr><th>resumed</th><td>no</td></tr>" \
  "<tr><th>client certificate</th><td>-</td></tr>"; do
  expect www.out "$row" "B page row $(echo "$row" | sed 's/<[^>]*>/ /g; s/  */ /g')"
done
# what s_client received after the handshake: in -msg, each record's inner
# content type follows its "<<< ... InnerContent" line (17: data, 15: alert)
awk '/^<<< .*InnerContent/ { getline; print $1 }' www.msg >www.types
expect_count www.types 1 "17" "B the answer is one application data record"
expect www.msg "<<< TLS 1.3, Alert [length 0002], warning close_notify" "B then close_notify"
expect www.log "request: GET /hello HTTP/1.1" "B server logs the request"
expect www.log "answered 200" "B ... and the answer"
expect www.log "connection 1 closed" "B server closed cleanly"

# keep-alive: three pipelined HTTP/1.1 requests on one connection, the
# last one asking to close; each answered in order, then close_notify
start_tern_server ka.log $P256 --once --www
sclient ka 'GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\nGET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' -quiet
wait_tern
rc_is 0 $RC "B keep-alive: s_client, 3 pipelined requests" ka.err ka.log
expect_count ka.out 3 "HTTP/1.1 200 OK" "B ... 3 answers on one connection"
expect_count ka.out 1 "Connection: close" "B ... the last one says Connection: close"
tr -d '\r' <ka.out | sed -n 's|<tr><th>path</th><td>\(.*\)</td></tr>|\1|p' | tr '\n' ' ' >ka.paths
expect ka.paths "/one /two /three " "B ... in the order asked"
expect_count ka.log 1 "connection 1 from" "B ... over one connection"
expect_count ka.log 3 "answered 200" "B ... the server logs 3 answers"
# HTTP/1.0 with Connection: keep-alive stays open; the next one (no
# header) closes
start_tern_server ka10.log $P256 --once --www
sclient ka10 'GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n' -quiet
wait_tern
rc_is 0 $RC "B HTTP/1.0 keep-alive: s_client" ka10.err ka10.log
expect_count ka10.out 2 "HTTP/1.0 200 OK" "B ... 2 HTTP/1.0 answers"
expect_count ka10.out 1 "Connection: keep-alive" "B ... the first one kept alive"
expect_count ka10.out 1 "Connection: close" "B ... the second one closing"

start_tern_server head.log $P256 --once --www
sclient head 'HEAD / HTTP/1.0\r\n\r\n' -quiet
wait_tern
expect head.out "HTTP/1.0 200 OK" "B HEAD: 200"
expect_not head.out "<html>" "B HEAD: no body"
start_tern_server post.log $P256 --once --www
sclient post 'POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n' -quiet
wait_tern
expect post.out "HTTP/1.0 405 Method Not Allowed" "B POST: 405"
expect post.out "Allow: GET, HEAD" "B ... with Allow"

if [ $HAVE_CURL -eq 1 ]; then
  start_tern_server curl.log $P256 --once --www
  $TO curl -sS -i --cacert ca.pem "https://localhost:$PORT/curl" -o curl.out 2>curl.err
  RC=$?
  wait_tern
  rc_is 0 $RC "B curl -> --www" curl.err curl.log
  expect curl.out "HTTP/1.1 200 OK" "B curl: HTTP/1.1 200"
  expect curl.out "<tr><th>ALPN</th><td>http/1.1</td></tr>" "B curl: ALPN http/1.1"
  expect curl.out "<tr><th>server name</th><td>localhost</td></tr>" "B curl: SNI"
  expect curl.out "<tr><th>group</th><td>x25519</td></tr>" "B curl: group"
  expect curl.out "<tr><th>cipher suite</th><td>TLS_" "B curl: suite"
else
  echo "skip B curl is not installed"
fi

# ---- C. client certificates in the handshake --------------------------------
start_tern_server req-none.log $P256 --once --www --request-client-cert --client-ca ca.pem
sclient req-none 'GET / HTTP/1.0\r\n\r\n'
wait_tern
rc_is 0 $SRC "C --request-client-cert, no certificate: tern server" req-none.log
expect req-none.out "HTTP/1.0 200 OK" "C ... answered 200"
expect req-none.out "<tr><th>client certificate</th><td>-</td></tr>" "C ... page: no certificate"
expect req-none.out "Acceptable client certificate CA names" "C ... certificate_authorities sent"
expect req-none.out "CN = tern options CA" "C ... naming the --client-ca"

start_tern_server req-cert.log $P256 --once --www --request-client-cert --client-ca ca.pem
sclient req-cert 'GET / HTTP/1.0\r\n\r\n' -cert client.pem -key client.key
wait_tern
rc_is 0 $SRC "C --request-client-cert, s_client -cert: tern server" req-cert.log
expect req-cert.out "<tr><th>client certificate</th><td>$SUBJECT</td></tr>" "C ... page: its subject"
expect req-cert.log "client certificate  $SUBJECT" "C ... server log: its subject"

if [ $HAVE_CURL -eq 1 ]; then
  for with in cert none; do
    start_tern_server "curl-req-$with.log" $P256 --once --www --request-client-cert --client-ca ca.pem
    args=""
    [ $with = cert ] && args="--cert client.pem --key client.key"
    # shellcheck disable=SC2086
    $TO curl -sS --cacert ca.pem $args "https://localhost:$PORT/" -o "curl-req-$with.out" \
      2>"curl-req-$with.err"
    RC=$?
    wait_tern
    rc_is 0 $RC "C --request-client-cert, curl ($with)" "curl-req-$with.err" "curl-req-$with.log"
  done
  expect curl-req-cert.out "<tr><th>client certificate</th><td>$SUBJECT</td></tr>" \
    "C curl --cert: page shows its subject"
  expect curl-req-none.out "<tr><th>client certificate</th><td>-</td></tr>" \
    "C curl without --cert: page shows none"
else
  echo "skip C curl is not installed"
fi

start_tern_server ver-none.log $P256 --once --www --verify-client --client-ca ca.pem
sclient ver-none 'GET / HTTP/1.0\r\n\r\n'
wait_tern
rc_is 1 $SRC "C --verify-client, no certificate: tern server fails" ver-none.log
expect ver-none.log "alert certificate_required (116)" "C ... with certificate_required"
expect ver-none.err "alert number 116" "C ... which s_client received"
expect_not ver-none.out "HTTP/1.0" "C ... and no page"
if [ $HAVE_CURL -eq 1 ]; then
  start_tern_server curl-ver.log $P256 --once --www --verify-client --client-ca ca.pem
  $TO curl -sS --cacert ca.pem "https://localhost:$PORT/" -o curl-ver.out 2>curl-ver.err
  RC=$?
  wait_tern
  rc_is fail $RC "C --verify-client, curl without --cert fails" curl-ver.err
  expect curl-ver.err "certificate required" "C ... curl names the alert"
else
  echo "skip C curl --verify-client: curl is not installed"
fi
start_tern_server ver-cert.log $P256 --once --verify-client --client-ca ca.pem
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --cert client.pem --key client.key \
  --send 'with a certificate\n' >ver-cert.out 2>ver-cert.err
RC=$?
wait_tern
rc_is 0 $RC "C --verify-client, tern client --cert" ver-cert.err ver-cert.log
expect ver-cert.out "with a certificate" "C ... echoed"
expect ver-cert.log "client certificate  $SUBJECT" "C ... server verified it"
# certificate compression (RFC 8879) both ways: the server's certificate
# with the first of its algorithms the client offers, the client's with
# the first of the client's that the server's CertificateRequest offers
start_tern_server comp.log $P256 --once --verify-client --client-ca ca.pem \
  --cert-compression zstd,brotli,zlib
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --cert client.pem --key client.key \
  --cert-compression zlib,brotli --send 'compressed both ways\n' >comp.out 2>comp.err
RC=$?
wait_tern
rc_is 0 $RC "C --cert-compression both ways" comp.err comp.log
expect comp.err "cert compression    sent zlib, received brotli" \
  "C ... the client got the server's certificate in brotli and sent its own in zlib"
expect comp.log "cert compression    sent brotli, received zlib" "C ... as the server says"
expect comp.log "client certificate  $SUBJECT" "C ... and verified the decompressed one"
start_tern_server ver-stranger.log $P256 --once --verify-client --client-ca ca.pem
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --cert stranger.pem --key stranger.key \
  --send x >ver-stranger.out 2>ver-stranger.err
RC=$?
wait_tern
rc_is 1 $RC "C --verify-client, a stranger's certificate: tern client fails" ver-stranger.err
expect ver-stranger.log "alert unknown_ca (48)" "C ... tern server: unknown_ca"
expect ver-stranger.err "alert unknown_ca (48)" "C ... tern client got it"

# ---- D. post-handshake authentication -----------------------------------------
PHA="--once --www --pha-path /secure/ --client-ca ca.pem"
start_tern_server pha-cert.log $P256 $PHA
sclient pha-cert 'GET /secure/page HTTP/1.0\r\n\r\n' -enable_pha -cert client.pem -key client.key -trace
wait_tern
rc_is 0 $SRC "D s_client -enable_pha -cert: tern server" pha-cert.log
expect pha-cert.log "client certificate  -" "D no certificate in the handshake"
expect pha-cert.log "asked for a client certificate after the handshake" "D asked after it"
expect pha-cert.log "post-handshake client certificate: $SUBJECT" "D got it"
expect pha-cert.out "HTTP/1.0 200 OK" "D 200"
expect pha-cert.out "<tr><th>client certificate</th><td>$SUBJECT</td></tr>" "D page: its subject"
expect pha-cert.out "<tr><th>post-handshake authentications</th><td>1</td></tr>" "D page: 1 exchange"
# -trace decodes the post-handshake CertificateRequest's extensions
expect pha-cert.msg "certificate_authorities" "D certificate_authorities in the request"

start_tern_server pha-none.log $P256 $PHA
sclient pha-none 'GET /secure/page HTTP/1.0\r\n\r\n' -enable_pha
wait_tern
rc_is 0 $SRC "D s_client -enable_pha, no certificate: tern server" pha-none.log
expect pha-none.out "HTTP/1.0 403 Forbidden" "D ... 403"
expect pha-none.log "answered 403: this path needs a client certificate; asked after the handshake, the client sent none" \
  "D ... after asking"

start_tern_server pha-off.log $P256 $PHA
sclient pha-off 'GET /secure/page HTTP/1.0\r\n\r\n' -cert client.pem -key client.key
wait_tern
expect pha-off.out "HTTP/1.0 403 Forbidden" "D s_client without -enable_pha: 403"
expect pha-off.out "did not offer post-handshake authentication" "D ... saying why"
expect_not pha-off.log "asked for a client certificate" "D ... without asking (RFC 8446 §4.6.2)"

start_tern_server pha-open.log $P256 $PHA
sclient pha-open 'GET /open HTTP/1.0\r\n\r\n' -enable_pha -cert client.pem -key client.key
wait_tern
expect pha-open.out "HTTP/1.0 200 OK" "D a path outside the prefix: 200"
expect_not pha-open.log "asked for a client certificate" "D ... without asking"

start_tern_server pha-stranger.log $P256 $PHA
sclient pha-stranger 'GET /secure/ HTTP/1.0\r\n\r\n' -enable_pha -cert stranger.pem -key stranger.key
wait_tern
rc_is 1 $SRC "D a stranger's certificate after the handshake: tern server fails" pha-stranger.log
expect pha-stranger.log "alert unknown_ca (48)" "D ... with unknown_ca"
expect_not pha-stranger.out "HTTP/1.0" "D ... and no page"

if [ $HAVE_CURL -eq 1 ]; then
  # curl's OpenSSL backend offers post_handshake_auth on every connection
  for with in cert none; do
    start_tern_server "curl-pha-$with.log" $P256 $PHA
    args=""
    [ $with = cert ] && args="--cert client.pem --key client.key"
    # shellcheck disable=SC2086
    $TO curl -sS --cacert ca.pem $args "https://localhost:$PORT/secure/x" -o "curl-pha-$with.out" \
      -w '%{http_code}\n' >"curl-pha-$with.code" 2>"curl-pha-$with.err"
    RC=$?
    wait_tern
    rc_is 0 $RC "D curl ($with)" "curl-pha-$with.err" "curl-pha-$with.log"
  done
  expect curl-pha-cert.code 200 "D curl --cert: 200"
  expect curl-pha-cert.out "<tr><th>client certificate</th><td>$SUBJECT</td></tr>" "D ... its subject"
  expect curl-pha-cert.log "asked for a client certificate after the handshake" "D ... asked after the handshake"
  expect curl-pha-none.code 403 "D curl without --cert: 403"
  expect curl-pha-none.log "asked after the handshake, the client sent none" "D ... it answered with none"
else
  echo "skip D curl is not installed"
fi

# --ign-eof: no close_notify after the request, which would leave the
# client unable to answer (RFC 8446 §6.1)
start_tern_server pha-tern.log $P256 $PHA
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --cert client.pem --key client.key --ign-eof \
  --send 'GET /secure/tern HTTP/1.0\r\n\r\n' >pha-tern.out 2>pha-tern.err
RC=$?
wait_tern
rc_is 0 $RC "D tern client --cert --ign-eof" pha-tern.err pha-tern.log
expect pha-tern.out "HTTP/1.0 200 OK" "D ... 200"
expect pha-tern.out "<tr><th>client certificate</th><td>$SUBJECT</td></tr>" "D ... its subject"
start_tern_server pha-tern-closed.log $P256 $PHA
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --cert client.pem --key client.key \
  --send 'GET /secure/tern HTTP/1.0\r\n\r\n' >pha-tern-closed.out 2>pha-tern-closed.err
RC=$?
wait_tern
rc_is 0 $RC "D tern client --cert, closing after the request" pha-tern-closed.err pha-tern-closed.log
expect pha-tern-closed.out "HTTP/1.0 403 Forbidden" "D ... 403: it cannot answer after its close_notify"
expect pha-tern-closed.log "the client closed its side before answering" "D ... server says why"
start_tern_server pha-tern-none.log $P256 $PHA
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --send 'GET /secure/tern HTTP/1.0\r\n\r\n' \
  >pha-tern-none.out 2>pha-tern-none.err
wait_tern
expect pha-tern-none.out "HTTP/1.0 403 Forbidden" "D tern client without --cert (no post_handshake_auth): 403"

# ---- E. algorithms by name, both ends -----------------------------------------
start_tern_server alg1.log $P256 --once --groups P-384 --ciphersuites TLS_AES_256_GCM_SHA384
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --groups X25519:secp384r1 \
  --ciphersuites TLS_CHACHA20_POLY1305_SHA256,TLS_AES_256_GCM_SHA384 --send 'alg\n' \
  >alg1.out 2>alg1.err
RC=$?
wait_tern
rc_is 0 $RC "E tern client --groups X25519:secp384r1 -> tern server --groups P-384" alg1.err alg1.log
expect alg1.err "group               secp384r1 (after HelloRetryRequest)" "E client: P-384 after HRR"
expect alg1.err "cipher suite        TLS_AES_256_GCM_SHA384" "E client: the suite both allow"
expect alg1.log "group               secp384r1 (after HelloRetryRequest)" "E server: the same"
expect alg1.log "cipher suite        TLS_AES_256_GCM_SHA384" "E server: the same suite"

start_tern_server alg2.log $P256 --once
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --groups p-521 --send 'alg\n' >alg2.out 2>alg2.err
wait_tern
expect alg2.err "group               secp521r1" "E tern client --groups p-521: its key share taken"
expect_not alg2.err "HelloRetryRequest" "E ... without HelloRetryRequest"

start_tern_server alg3.log $P256 --once --www
sclient alg3 'GET / HTTP/1.0\r\n\r\n' -groups P-256 -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -quiet
wait_tern
expect alg3.out "<tr><th>group</th><td>secp256r1</td></tr>" "E s_client -groups P-256: page"
expect alg3.out "<tr><th>cipher suite</th><td>TLS_CHACHA20_POLY1305_SHA256</td></tr>" \
  "E s_client -ciphersuites ChaCha20: page"

start_tern_server alg4.log --cert rsa.pem --key rsa.key --once --www --sigalgs rsa_pss_rsae_sha512
sclient alg4 'GET / HTTP/1.0\r\n\r\n'
wait_tern
expect alg4.out "Peer signature type: RSA-PSS" "E tern server --sigalgs rsa_pss_rsae_sha512: RSA-PSS"
expect alg4.out "Peer signing digest: SHA512" "E ... with SHA-512, as s_client saw"
expect alg4.log "signature scheme    rsa_pss_rsae_sha512" "E ... as tern server says"

start_tern_server alg5.log --cert rsa.pem --key rsa.key --once
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --sigalgs ecdsa_secp256r1_sha256:rsa_pss_rsae_sha384 \
  --send 'alg\n' >alg5.out 2>alg5.err
wait_tern
expect alg5.err "signature scheme    rsa_pss_rsae_sha384" "E tern client --sigalgs: the RSA scheme it allows"

SSPID=""
for attempt in 1 2 3 4 5; do
  SPORT=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000))
  openssl s_server -tls1_3 -cert leaf.pem -key leaf.key -accept "$SPORT" -www \
    -ciphersuites TLS_AES_256_GCM_SHA384 -groups P-384:X25519 -naccept 2 </dev/null >alg-ss.log 2>&1 &
  SSPID=$!
  PIDS="$PIDS $SSPID"
  wait_for alg-ss.log "ACCEPT" "$SSPID" && break
  SSPID=""
done
if [ -n "$SSPID" ]; then
  $TO "$TERN" client "localhost:$SPORT" --ca ca.pem --groups P-384 \
    --ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384 \
    --send 'GET / HTTP/1.0\r\n\r\n' >alg6.out 2>alg6.err
  RC=$?
  rc_is 0 $RC "E tern client --groups P-384 -> s_server" alg6.err
  expect alg6.out "Cipher is TLS_AES_256_GCM_SHA384" "E s_server saw the suite both allow"
  expect alg6.err "group               secp384r1" "E tern client: P-384"
  $TO "$TERN" client "localhost:$SPORT" --ca ca.pem --ciphersuites TLS_AES_128_GCM_SHA256 \
    --send x >alg7.out 2>alg7.err
  RC=$?
  rc_is 1 $RC "E no suite in common with s_server: tern client fails" alg7.err
  expect alg7.err "alert handshake_failure (40)" "E ... with handshake_failure"
else
  bad "E openssl s_server did not start"
  show alg-ss.log
fi

# algorithms that tern may implement later: tested once it lists them
if grep -q "ffdhe2048" help.out; then
  start_tern_server ffdhe.log $P256 --once --www --groups ffdhe2048
  sclient ffdhe 'GET / HTTP/1.0\r\n\r\n' -groups ffdhe2048 -quiet
  wait_tern
  expect ffdhe.out "<tr><th>group</th><td>ffdhe2048</td></tr>" "E --groups ffdhe2048 with s_client"
else
  echo "skip E ffdhe2048: tern does not implement it (yet)"
fi
if grep -q "TLS_AES_128_CCM_SHA256" help.out; then
  start_tern_server ccm.log $P256 --once --www --ciphersuites TLS_AES_128_CCM_SHA256
  sclient ccm 'GET / HTTP/1.0\r\n\r\n' -ciphersuites TLS_AES_128_CCM_SHA256 -quiet
  wait_tern
  expect ccm.out "<tr><th>cipher suite</th><td>TLS_AES_128_CCM_SHA256</td></tr>" \
    "E --ciphersuites TLS_AES_128_CCM_SHA256 with s_client"
else
  echo "skip E TLS_AES_128_CCM_SHA256: tern does not implement it (yet)"
fi

# ---- F. --num-tickets -------------------------------------------------------
start_tern_server tix.log $P256 --once --num-tickets 3
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --send 'tickets\n' >tix.out 2>tix.err
wait_tern
expect tix.err "3 session tickets received" "F --num-tickets 3: tern client got 3"
start_tern_server tix-s.log $P256 --once --www --num-tickets 3
sclient tix-s 'GET / HTTP/1.0\r\n\r\n' -quiet
wait_tern
expect_count tix-s.msg 3 "NewSessionTicket" "F --num-tickets 3: s_client got 3"
start_tern_server tix0.log $P256 --once --num-tickets 0
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --send 'tickets\n' >tix0.out 2>tix0.err
wait_tern
expect tix0.err "connection closed" "F --num-tickets 0: connection fine"
expect_not tix0.err "session ticket" "F ... and no ticket"

# ---- G. KeyUpdate ------------------------------------------------------------
start_tern_server ku.log $P256 --once
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --key-update --send 'after the update\n' \
  >ku.out 2>ku.err
RC=$?
wait_tern
rc_is 0 $RC "G tern client --key-update -> tern server" ku.err ku.log
expect ku.out "after the update" "G data echoed under the new keys"
expect ku.err "the server answered our KeyUpdate before its data" "G answered before the echo"
expect ku.err "KeyUpdate: 1 sent, 1 received" "G client: one each way"
expect ku.log "KeyUpdate: 1 received, 1 sent" "G server: one each way"

SSPID=""
for attempt in 1 2 3 4 5; do
  SPORT=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000))
  openssl s_server -tls1_3 -cert leaf.pem -key leaf.key -accept "$SPORT" -rev -msg \
    -naccept 1 </dev/null >ku-ss.log 2>&1 &
  SSPID=$!
  PIDS="$PIDS $SSPID"
  wait_for ku-ss.log "ACCEPT" "$SSPID" && break
  SSPID=""
done
if [ -n "$SSPID" ]; then
  $TO "$TERN" client "localhost:$SPORT" --ca ca.pem --key-update --send 'update\n' \
    >ku-ss.out 2>ku-ss.err
  RC=$?
  wait "$SSPID"
  rc_is 0 $RC "G tern client --key-update -> s_server -rev" ku-ss.err ku-ss.log
  expect ku-ss.out "etadpu" "G s_server's answer arrived"
  expect ku-ss.log "<<< TLS 1.3, Handshake [length 0005], KeyUpdate" "G s_server received our KeyUpdate"
  expect ku-ss.log ">>> TLS 1.3, Handshake [length 0005], KeyUpdate" "G ... and answered it"
  expect ku-ss.err "the server answered our KeyUpdate before its data" "G tern client saw the answer first"
else
  bad "G openssl s_server did not start"
  show ku-ss.log
fi

# s_client sends a KeyUpdate asking for one back on a line "K" (without
# -ign_eof); what it received after sending it is read from -msg
start_tern_server ku-sc.log $P256 --once
(printf 'before\n'; sleep 0.5; printf 'K\n'; sleep 0.3; printf 'after\n'; sleep 0.7) |
  $TO openssl s_client -connect "127.0.0.1:$PORT" -CAfile ca.pem -servername localhost \
    -msg -msgfile ku-sc.msg >ku-sc.out 2>ku-sc.err
RC=$?
wait_tern
rc_is 0 $RC "G s_client KeyUpdate -> tern server" ku-sc.err ku-sc.log
expect ku-sc.out "before" "G echo before the KeyUpdate"
expect ku-sc.out "after" "G echo after it"
expect ku-sc.log "KeyUpdate: 1 received, 1 sent" "G tern server answered it"
awk '/^>>> .*KeyUpdate/ { sent = 1 }
     /^<<< .*InnerContent/ { getline; if (sent && !answered && $1 == "17") { print "data first"; exit } }
     /^<<< .*KeyUpdate/ { if (sent) { answered = 1; print "answered first"; exit } }' ku-sc.msg >ku-sc.order
expect ku-sc.order "answered first" "G tern server's KeyUpdate came before its next data"

# ---- H. 0-RTT -----------------------------------------------------------------
start_tern_server early.log $P256 --www --max-early-data 1000
for run in 1 2; do
  $TO "$TERN" client "localhost:$PORT" --ca ca.pem --resume early.sess --max-early-data 100 \
    --send 'GET /early HTTP/1.0\r\n\r\n' >"early$run.out" 2>"early$run.err"
  rc_is 0 $? "H tern client --max-early-data 100, run $run" "early$run.err"
done
kill "$SPID" 2>/dev/null
expect early1.out "<tr><th>early data</th><td>-</td></tr>" "H run 1: a full handshake"
expect early2.err "sending 23 bytes as early data (the ticket allows 1000)" "H run 2: early data sent"
expect early2.err "the server accepted 23 bytes of early data" "H ... accepted"
expect early2.out "<tr><th>early data</th><td>accepted</td></tr>" "H ... the page says so"
expect early2.out "<tr><th>path</th><td>/early</td></tr>" "H ... and answers the early request"
expect early.log "early data          accepted" "H tern server accepted it"
# another server (another ticket key) cannot open the ticket: a full
# handshake, the early data refused, and sent again after it
start_tern_server early-new.log $P256 --www --max-early-data 1000 --once
$TO "$TERN" client "localhost:$PORT" --ca ca.pem --resume early.sess --max-early-data 100 \
  --send 'GET /early HTTP/1.0\r\n\r\n' >early3.out 2>early3.err
rc_is 0 $? "H tern client, a ticket of another server" early3.err
wait_tern
expect early3.err "sending 23 bytes as early data" "H ... early data sent"
expect early3.err "the server refused the early data; sending it again" "H ... refused, sent again"
expect early3.out "<tr><th>early data</th><td>rejected</td></tr>" "H ... the page says so"
expect early3.out "<tr><th>path</th><td>/early</td></tr>" "H ... and answers the request sent again"

SSPID=""
for attempt in 1 2 3 4 5; do
  SPORT=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000))
  (sleep 8) | openssl s_server -tls1_3 -cert leaf.pem -key leaf.key -accept "$SPORT" -early_data \
    -naccept 2 >early-ss.log 2>&1 &
  SSPID=$!
  PIDS="$PIDS $SSPID"
  wait_for early-ss.log "ACCEPT" "$SSPID" && break
  SSPID=""
done
if [ -n "$SSPID" ]; then
  for run in 1 2; do
    $TO "$TERN" client "localhost:$SPORT" --ca ca.pem --resume early-ss.sess --max-early-data 100 \
      --send 'hello early\n' --timeout 1 >"early-ss$run.out" 2>"early-ss$run.err"
    rc_is 0 $? "H tern client -> s_server -early_data, run $run" "early-ss$run.err"
  done
  kill "$SSPID" 2>/dev/null
  expect early-ss2.err "the server accepted 12 bytes of early data" "H s_server accepted it"
  expect early-ss.log "Early data received:" "H s_server says so"
  # run 1 sent the line after its handshake, run 2 as early data only
  expect_count early-ss.log 2 "hello early" "H ... and got our bytes once per run"
else
  bad "H openssl s_server did not start"
  show early-ss.log
fi

# ---- I. -q ---------------------------------------------------------------------
start_tern_server quiet.log $P256 --once -q
$TO "$TERN" client "localhost:$PORT" --ca ca.pem -q --send 'quiet\n' >quiet.out 2>quiet.err
RC=$?
wait_tern
rc_is 0 $RC "I tern client -q -> tern server -q" quiet.err quiet.log
expect quiet.out "quiet" "I data still echoed and printed"
[ ! -s quiet.err ] && ok "I tern client -q printed nothing on stderr" || { bad "I tern client -q said:"; show quiet.err; }
n=$(wc -l <quiet.log)
[ "$n" -eq 1 ] && ok "I tern server -q printed its listening line only" || { bad "I tern server -q printed $n lines:"; show quiet.log; }
start_tern_server quiet-fail.log $P256 --once -q
$TO "$TERN" client "localhost:$PORT" --ca stranger-ca.pem -q --send x >quiet-fail.out 2>quiet-fail.err
RC=$?
wait_tern
rc_is 1 $RC "I tern client -q, a failure" quiet-fail.err
expect quiet-fail.err "alert unknown_ca (48)" "I ... still reported"
expect quiet-fail.log "alert unknown_ca (48)" "I tern server -q still reports its failure"

# ---- J. external PSKs ---------------------------------------------------------------
PSK=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
bad_args "J --no-cert without --psk" "--no-cert takes no --cert or --key, and needs --psk" \
  server --no-cert
bad_args "J --psk of 8 bytes" "--psk: 16 to 64 bytes, in hex" \
  server --no-cert --psk-identity id --psk 0011223344556677
bad_args "J --psk not hex" "--psk is not hex" \
  client localhost --psk-identity id --psk "zz$(echo $PSK | cut -c3-)"
bad_args "J --psk alone" "--psk-identity and --psk go together" client localhost --psk $PSK
bad_args "J --psk-hash md5" "--psk-hash \"md5\": sha256 or sha384" \
  client localhost --psk-identity id --psk $PSK --psk-hash md5

# tern server with no certificate, s_client with the PSK
start_tern_server psk-www.log --no-cert --psk-identity psk-client --psk $PSK --www --once
sclient psk-www 'GET /psk HTTP/1.0\r\n\r\n' -psk_identity psk-client -psk $PSK
wait_tern
rc_is 0 "$SRC" "J tern server --no-cert <- s_client -psk" psk-www.log psk-www.err
expect psk-www.out "HTTP/1.0 200" "J ... the page came"
expect psk-www.out "<tr><th>external PSK</th><td>psk-client</td></tr>" "J ... on the PSK"
expect psk-www.log "psk-client" "J ... the server says which PSK"
# the same server, a wrong key: the binder does not verify
start_tern_server psk-wrong.log --no-cert --psk-identity psk-client --psk $PSK --once
sclient psk-wrong 'x' -psk_identity psk-client -psk "ff$(echo $PSK | cut -c3-)"
wait_tern
rc_is 1 "$SRC" "J tern server <- s_client with a wrong key" psk-wrong.log
expect psk-wrong.log "alert decrypt_error (51)" "J ... decrypt_error (the binder)"

# tern client with the PSK to s_server -psk -nocert
SSPID=""
for try in 1 2 3; do
  SPORT=$(( 20000 + ($$ + try * 7919) % 20000 ))
  $TOSERV openssl s_server -accept "$SPORT" -tls1_3 -nocert -psk_identity psk-client -psk $PSK \
    -www -naccept 1 >psk-ss.log 2>&1 &
  SSPID=$!
  PIDS="$PIDS $SSPID"
  wait_for psk-ss.log "ACCEPT" "$SSPID" && break
  SSPID=""
done
if [ -n "$SSPID" ]; then
  $TO "$TERN" client "localhost:$SPORT" --psk-identity psk-client --psk $PSK \
    --send 'GET / HTTP/1.0\r\n\r\n' --ign-eof --timeout 5 >psk-ss.out 2>psk-ss.err
  rc_is 0 $? "J tern client --psk -> s_server -psk -nocert" psk-ss.err psk-ss.log
  expect psk-ss.out "HTTP/1.0 200 ok" "J ... s_server's page came"
  expect psk-ss.err "external PSK        psk-client" "J ... on the PSK"
  kill "$SSPID" 2>/dev/null
else
  bad "J openssl s_server -psk did not start"
  show psk-ss.log
fi

# GnuTLS both ways (skipped without gnutls-bin)
if command -v gnutls-cli >/dev/null 2>&1 && command -v gnutls-serv >/dev/null 2>&1; then
  GPRIO="NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK:+PSK"
  start_tern_server psk-gc.log --no-cert --psk-identity psk-client --psk $PSK --once
  printf 'hello over a PSK\n' | $TO gnutls-cli -p "$PORT" localhost --priority "$GPRIO" \
    --pskusername psk-client --pskkey $PSK >psk-gc.out 2>&1
  wait_tern
  rc_is 0 "$SRC" "J tern server --no-cert <- gnutls-cli --pskkey" psk-gc.log psk-gc.out
  expect psk-gc.out "hello over a PSK" "J ... echoed back"
  expect psk-gc.log "psk-client" "J ... on the PSK"
  echo "psk-client:$PSK" >psk.passwd
  GSPID=""
  for try in 1 2 3; do
    SPORT=$(( 20000 + ($$ + try * 104729) % 20000 ))
    $TOSERV gnutls-serv -p "$SPORT" --priority "$GPRIO" --pskpasswd psk.passwd --echo \
      >psk-gs.log 2>&1 &
    GSPID=$!
    PIDS="$PIDS $GSPID"
    wait_for psk-gs.log "listening" "$GSPID" && break
    GSPID=""
  done
  if [ -n "$GSPID" ]; then
    $TO "$TERN" client "localhost:$SPORT" --psk-identity psk-client --psk $PSK \
      --send 'echo me\n' --timeout 5 >psk-gs.out 2>psk-gs.err
    rc_is 0 $? "J tern client --psk -> gnutls-serv --pskpasswd" psk-gs.err psk-gs.log
    expect psk-gs.out "echo me" "J ... gnutls-serv echoed"
    expect psk-gs.err "external PSK        psk-client" "J ... on the PSK"
    kill "$GSPID" 2>/dev/null
  else
    bad "J gnutls-serv --pskpasswd did not start"
    show psk-gs.log
  fi
else
  echo "skip J GnuTLS PSK (no gnutls-bin)"
fi

finish cli-options
