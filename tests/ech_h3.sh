#!/bin/sh
# ech_h3.sh TERN - Encrypted ClientHello (RFC 9849) over QUIC on the
# command line, tern h3-client -> tern h3-server on 127.0.0.1 (UDP):
#   1. h3-server --ech-key cur.key --ech-key old.key (the option repeated)
#   2. h3-client --ech-config cur.echconfig: ECH accepted; the server's
#      /tern page shows ECH accepted, the inner name and the public name
#   3. the retired (P-256) key's config, as base64: still accepted
#   4. a config the server does not hold: ech_required, the server's
#      retry_configs printed (the current key only), exit 1; with
#      --ech-retry the second connection is accepted
#   0-RTT with ECH: a session stored, then requests in 0-RTT accepted with
#      ECH accepted; with a stale config the 0-RTT requests are refused
#      (ECH rejected), the retry with retry_configs resumes in 0-RTT
#   5. h3-client without ECH: the page says ECH not offered
#   6. bad command lines: --ech-config garbage, --ech-retry alone, a
#      non-ECH --ech-key file
set -u

TERN=${1:?usage: ech_h3.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl command"; exit 77; }
"$TERN" h3-server --help 2>&1 | grep -q -- --ech-key || { echo "SKIP: tern built without h3"; exit 77; }

. "$(dirname "$0")/lib.sh"
test_dir ech-h3

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
  -out leaf.pem -days 2 -subj /CN=ech.test \
  -addext "subjectAltName=DNS:ech.test,DNS:public.test,DNS:localhost" >/dev/null 2>&1 ||
  { bad "making the certificate"; exit 1; }
for k in "1 x25519 cur" "2 p256 old" "3 x25519 stale"; do
  set -- $k
  $TO "$TERN" ech-keygen --public-name public.test --config-id "$1" --kem "$2" --out "$3" \
    >"keygen-$3.out" 2>&1 || bad "ech-keygen $3"
done
cur_b64=$(sed -n 's/^ECHConfigList (base64): //p' keygen-cur.out)
old_b64=$(sed -n 's/^ECHConfigList (base64): //p' keygen-old.out)
mkdir -p www

# ---- 1. the server, --ech-key given twice -------------------------------
"$TERN" h3-server --cert leaf.pem --key leaf.key --port 0 --dir www \
  --early-data --ech-key cur.key --ech-key=old.key >server.log 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_for server.log "listening on" "$SPID" || { bad "tern h3-server did not start"; cat server.log; exit 1; }
expect server.log "ECH with 2 keys" "h3-server: both --ech-key options loaded"
PORT=$(sed -n 's/.*listening on .*:\([0-9]*\) (UDP).*/\1/p' server.log)
# the URL's host is both the address and the inner name: localhost (in
# the certificate, with public.test)
URL="https://localhost:$PORT/tern"

get() { # get OUT ARGS...: GET /tern with tern h3-client
  out=$1
  shift
  $TO "$TERN" h3-client --ca leaf.pem --output "$out.page" "$@" "$URL" >"$out" 2>&1
}

# ---- 2. accepted --------------------------------------------------------
get accepted.out --ech-config cur.echconfig && ok "h3-client with ECH exits 0" ||
  { bad "h3-client with ECH failed"; show accepted.out; }
expect accepted.out "ECH accepted: localhost inside, public.test outside" "client: ECH accepted"
expect accepted.out.page '<td id="ech">accepted</td>' "server page: ECH accepted"
expect accepted.out.page '<td id="server-name">localhost</td>' "server page: the inner name"
expect accepted.out.page '<td id="ech-outer-name">public.test</td>' "server page: the outer name"

# ---- 3. the retired key's config, in base64 ---------------------------
get old.out --ech-config "$old_b64" && ok "the retired key's config exits 0" ||
  { bad "the retired key's config failed"; show old.out; }
expect old.out.page '<td id="ech">accepted</td>' "retired (P-256) key still accepted"

# ---- 4. stale: rejected, retry_configs, retry --------------------------
get stale.out --ech-config stale.echconfig
rc=$?
[ $rc -eq 1 ] && ok "stale config: h3-client exits 1" || { bad "stale config: exit $rc"; show stale.out; }
expect stale.out "ech_required" "stale config: ech_required"
expect stale.out "retry_configs (base64): $cur_b64" "stale config: the server's retry_configs (current key only)"
get retry.out --ech-config stale.echconfig --ech-retry && ok "--ech-retry exits 0" ||
  { bad "--ech-retry failed"; show retry.out; }
expect retry.out "retrying with the server's retry_configs" "--ech-retry retries"
expect retry.out "ECH accepted: localhost inside, public.test outside" "the retry is accepted"
expect retry.out.page '<td id="ech">accepted</td>' "the retry's page: ECH accepted"

# ---- 0-RTT with ECH (RFC 9849 §6.1) -----------------------------------
get e1.out --ech-config cur.echconfig --session-file sess && ok "0-RTT: a session stored" ||
  { bad "0-RTT: first connection failed"; show e1.out; }
get e2.out --ech-config cur.echconfig --session-file sess && ok "0-RTT: resumed connection exits 0" ||
  { bad "0-RTT: resumed connection failed"; show e2.out; }
expect e2.out "requests sent in 0-RTT: accepted" "0-RTT accepted with ECH accepted"
expect e2.out.page '<td id="request-early">yes</td>' "the page came in 0-RTT"
expect e2.out.page '<td id="ech">accepted</td>' "... with ECH accepted"
# a stale config: the 0-RTT requests went under the inner hello's keys,
# the server runs the outer hello (GREASE PSK only): refused; then the
# retry with retry_configs resumes (the ticket was never seen) in 0-RTT
get e3.out --ech-config stale.echconfig --ech-retry --session-file sess &&
  ok "0-RTT, stale config, --ech-retry: exits 0" || { bad "0-RTT, stale config: failed"; show e3.out; }
expect e3.out "requests sent in 0-RTT: refused" "0-RTT refused when ECH is rejected"
expect e3.out "retrying with the server's retry_configs" "... then the retry"
expect e3.out "requests sent in 0-RTT: accepted" "the retry's 0-RTT accepted"
expect e3.out.page '<td id="ech">accepted</td>' "the retry's page: ECH accepted"

# ---- 5. no ECH ---------------------------------------------------------
get plain.out && ok "h3-client without ECH exits 0" || { bad "h3-client without ECH failed"; show plain.out; }
expect plain.out.page '<td id="ech">not offered</td>' "page without ECH: not offered"
expect plain.out.page '<td id="ech-outer-name">-</td>' "page without ECH: no outer name"

# ---- 6. bad command lines ---------------------------------------------
check_usage() { # check_usage DESCRIPTION EXPECTED-RC ARGS...
  what=$1
  want=$2
  shift 2
  $TO "$TERN" "$@" >usage.out 2>&1
  rc=$?
  [ $rc -eq "$want" ] && ok "$what: exit $want" || { bad "$what: exit $rc"; show usage.out; }
}
check_usage "h3-client --ech-config garbage" 2 h3-client --ech-config '!!' "$URL"
check_usage "h3-client --ech-retry alone" 2 h3-client --ech-retry "$URL"
check_usage "h3-server --ech-key with a non-ECH file" 1 h3-server --cert leaf.pem --key leaf.key \
  --port 0 --ech-key leaf.key
expect usage.out "not a PRIVATE KEY then an ECHCONFIG PEM block" "... saying why"

finish ech-h3
