#!/bin/sh
# ech_cli.sh TERN - Encrypted ClientHello (RFC 9849) on the command line,
# over real TCP on 127.0.0.1:
#   1. tern ech-keygen (X25519 and P-256): key files, ECHConfigList, RDATA
#   2. tern server --www --ech-key cur.key,old.key; tern client --ech-config
#      with the current config: ECH accepted, the page shows the inner name
#      and the outer (public) name
#   3. ... with the previous (P-256) key's config, given as base64: accepted
#   4. ... with a config the server does not hold: ech_required, the
#      server's retry_configs printed; with --ech-retry the second
#      connection is accepted
#   5. openssl s_client (no ECH) still gets the page from the ECH server
#   6. bad command lines: ech-keygen without --out, a bad --kem, an IP as
#      public name, --ech-config that is neither a file nor base64
# Background servers are always killed; the whole test takes seconds.
set -u

TERN=${1:?usage: ech_cli.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl command"; exit 77; }

. "$(dirname "$0")/lib.sh"
test_dir ech

# a self-signed certificate for the inner name and the public name
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
  -out leaf.pem -days 2 -subj /CN=ech.test \
  -addext "subjectAltName=DNS:ech.test,DNS:public.test,DNS:localhost" >/dev/null 2>&1 ||
  { bad "making the certificate"; exit 1; }

# ---- 1. keys ------------------------------------------------------------
$TO "$TERN" ech-keygen --public-name public.test --config-id 1 --out cur >keygen1.out 2>&1 &&
  ok "ech-keygen x25519" || bad "ech-keygen x25519"
$TO "$TERN" ech-keygen --public-name public.test --config-id 2 --kem p256 --max-name-length 32 \
  --out old >keygen2.out 2>&1 && ok "ech-keygen p256" || bad "ech-keygen p256"
$TO "$TERN" ech-keygen --public-name public.test --config-id 3 --out stale >/dev/null 2>&1 ||
  bad "ech-keygen stale"
expect cur.key "-----BEGIN PRIVATE KEY-----" "key file: PKCS#8 private key"
expect cur.key "-----BEGIN ECHCONFIG-----" "key file: ECHCONFIG block"
expect keygen1.out "config_id 1, DHKEM(X25519, HKDF-SHA256), public_name public.test" "keygen summary"
expect keygen2.out "DHKEM(P-256, HKDF-SHA256)" "keygen P-256 summary"
# the binary list: 2-byte length, then version 0xfe0d
head=$(od -An -tx1 -N4 cur.echconfig | tr -d ' \n')
len=$(wc -c <cur.echconfig)
[ "$(printf '%d' "0x${head%????}")" -eq $((len - 2)) ] && [ "${head#????}" = "fe0d" ] &&
  ok "cur.echconfig is an ECHConfigList of version 0xfe0d" || bad "cur.echconfig: $head ($len bytes)"
b64=$(sed -n 's/^ECHConfigList (base64): //p' keygen1.out)
[ "$(printf '%s' "$b64" | openssl base64 -d -A | od -An -tx1 | tr -d ' \n')" = \
  "$(od -An -tx1 cur.echconfig | tr -d ' \n')" ] && ok "printed base64 = the .echconfig file" ||
  bad "printed base64 differs from the .echconfig file"
expect keygen1.out "HTTPS RDATA (hex): 000100000100090868747470" "HTTPS RDATA printed"
old_b64=$(sed -n 's/^ECHConfigList (base64): //p' keygen2.out)

# ---- the server ---------------------------------------------------------
"$TERN" server --cert leaf.pem --key leaf.key --port 0 --workers 1 --www \
  --ech-key cur.key,old.key >server.log 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_for server.log "listening on" "$SPID" || { bad "tern server did not start"; cat server.log; exit 1; }
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' server.log)

get() { # get OUT ARGS...: GET / with tern client
  out=$1
  shift
  $TO "$TERN" client "localhost:$PORT" --ca leaf.pem --servername ech.test \
    --send 'GET / HTTP/1.0\r\n\r\n' --ign-eof "$@" >"$out" 2>&1
}

# ---- 2. accepted with the current key ----------------------------------
get accepted.out --ech-config cur.echconfig && ok "client with ECH exits 0" ||
  { bad "client with ECH failed"; cat accepted.out; }
expect accepted.out "ECH                 accepted" "client: ECH accepted"
expect accepted.out "<tr><th>ECH</th><td>accepted</td></tr>" "server page: ECH accepted"
expect accepted.out "<tr><th>server name</th><td>ech.test</td></tr>" "server page: inner name"
expect accepted.out "<tr><th>ECH outer name</th><td>public.test</td></tr>" "server page: outer name"

# ---- 3. the previous key, its config in base64 -------------------------
get old.out --ech-config "$old_b64" && ok "client with the previous key exits 0" ||
  { bad "client with the previous key failed"; cat old.out; }
expect old.out "<tr><th>ECH</th><td>accepted</td></tr>" "previous (P-256) key still accepted"

# ---- 4. a stale config: rejected, retry_configs, retry -----------------
get stale.out --ech-config stale.echconfig
rc=$?
[ $rc -eq 1 ] && ok "stale config: client exits 1" || bad "stale config: client exited $rc"
expect stale.out "alert ech_required (121): the server rejected ECH (public.test)" "stale config: ech_required"
expect stale.out "retry_configs (base64): $b64" "stale config: the server's retry_configs (current key only)"
get retry.out --ech-config stale.echconfig --ech-retry && ok "--ech-retry exits 0" ||
  { bad "--ech-retry failed"; cat retry.out; }
expect retry.out "retrying with the server's retry_configs" "--ech-retry retries"
expect retry.out "<tr><th>ECH</th><td>accepted</td></tr>" "the retry is accepted"

# ---- 5. a client without ECH -------------------------------------------
printf 'GET / HTTP/1.0\r\n\r\n' | $TO openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 \
  -CAfile leaf.pem -servername ech.test -ign_eof >sclient.out 2>&1
expect sclient.out "Verify return code: 0 (ok)" "openssl s_client (no ECH) connects"
expect sclient.out "<tr><th>ECH</th><td>-</td></tr>" "... and the page says no ECH"

# ---- 6. bad command lines ----------------------------------------------
check_usage() { # check_usage DESCRIPTION ARGS...
  what=$1
  shift
  $TO "$TERN" "$@" >usage.out 2>&1
  rc=$?
  [ $rc -eq 2 ] && ok "$what: exit 2" || { bad "$what: exit $rc"; cat usage.out; }
}
check_usage "ech-keygen without --out" ech-keygen --public-name public.test
check_usage "ech-keygen --kem x448" ech-keygen --public-name public.test --out x --kem x448
check_usage "ech-keygen with an IPv4 public name" ech-keygen --public-name 192.0.2.1 --out x
check_usage "client --ech-config garbage" client localhost:1 --ech-config '!!'
check_usage "client --ech-retry alone" client localhost:1 --ech-retry
"$TERN" server --cert leaf.pem --key leaf.key --port 0 --ech-key leaf.key >badkey.out 2>&1
rc=$?
[ $rc -eq 1 ] && ok "server --ech-key with a non-ECH file: exit 1" || bad "server with a bad --ech-key: exit $rc"
expect badkey.out "not a PRIVATE KEY then an ECHCONFIG PEM block" "... saying why"

finish ech-cli
