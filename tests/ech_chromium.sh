#!/bin/sh
# ech_chromium.sh TERN - headless Chromium (Debian chromium) completes
# Encrypted ClientHello (RFC 9849) with `tern server --www --ech-key`,
# having learnt the ECHConfigList from a DNS HTTPS record (RFC 9848):
#   - a network namespace with only loopback, its own resolv.conf
#     (/etc/netns/NS), dnsmasq answering A records for ech.test and
#     public.test and the HTTPS record of ech.test (alpn http/1.1, ech);
#     tern server on 127.0.0.1:443 there, Chromium fetching https://ech.test/;
#   - the DNS record carries tern's current config: the page says ECH
#     accepted with inner name ech.test and outer name public.test, the
#     net log's SSL_CONNECT says encrypted_client_hello true;
#   - the DNS record carries a config whose key tern does not hold: the
#     first connect fails with ERR_ECH_NOT_NEGOTIATED (-183), Chromium
#     restarts with tern's retry_configs
#     (SSL_CONNECT_JOB_RESTART_WITH_ECH_CONFIG_LIST) and the page comes
#     with ECH accepted.
# The namespace and its /etc/netns directory are removed at the end.
# Skips (77) without root, ip, dnsmasq (dnsmasq-base) or chromium.
set -u

TERN=${1:?usage: ech_chromium.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || { echo "SKIP: no chromium"; exit 77; }
command -v dnsmasq >/dev/null 2>&1 || { echo "SKIP: no dnsmasq (dnsmasq-base)"; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "SKIP: no ip (iproute2)"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: a network namespace needs root"; exit 77; }

NS=tern-ech-$$
. "$(dirname "$0")/lib.sh"
test_dir ech-chromium
chmod 755 "$DIR"
# shellcheck disable=SC2317 # called at exit
cleanup_more() {
  ip netns del "$NS" 2>/dev/null
  rm -rf "/etc/netns/$NS"
}

ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || { bad "making namespace $NS"; exit 1; }
mkdir -p "/etc/netns/$NS" && echo "nameserver 127.0.0.1" >"/etc/netns/$NS/resolv.conf"
ok "namespace $NS with loopback and its own resolv.conf"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
  -out leaf.pem -days 2 -subj /CN=ech.test \
  -addext "subjectAltName=DNS:ech.test,DNS:public.test" >/dev/null 2>&1 ||
  { bad "making the certificate"; exit 1; }
SPKI=$(openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)
"$TERN" ech-keygen --public-name public.test --config-id 1 --out cur >cur.out 2>&1 &&
  "$TERN" ech-keygen --public-name public.test --config-id 2 --out stale >stale.out 2>&1 ||
  { bad "tern ech-keygen"; exit 1; }
CUR_RDATA=$(sed -n 's/^HTTPS RDATA (hex): //p' cur.out)
STALE_RDATA=$(sed -n 's/^HTTPS RDATA (hex): //p' stale.out)

ip netns exec "$NS" "$TERN" server --cert leaf.pem --key leaf.key --port 443 --www --workers 1 \
  --ech-key cur.key >server.log 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_line server.log "listening on" || { bad "tern server did not start"; show server.log; exit 1; }

DNS_PID=""
start_dns() { # start_dns RDATA
  [ -n "$DNS_PID" ] && { kill "$DNS_PID" 2>/dev/null; wait "$DNS_PID" 2>/dev/null; }
  ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
    --user=root --listen-address=127.0.0.1 --bind-interfaces --log-queries \
    --host-record=ech.test,127.0.0.1 --host-record=public.test,127.0.0.1 \
    --dns-rr="ech.test,65,$1" >>dns.log 2>&1 &
  DNS_PID=$!
  PIDS="$PIDS $DNS_PID"
  wait_line dns.log "started" || { bad "dnsmasq did not start"; show dns.log; exit 1; }
}

run_chromium() { # run_chromium NAME: fetch https://ech.test/ in NS
  timeout 90 ip netns exec "$NS" "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
    --no-first-run --user-data-dir="$DIR/profile-$1" --ignore-certificate-errors-spki-list="$SPKI" \
    --log-net-log="$DIR/$1.json" --dump-dom https://ech.test/ >"$1.html" 2>"$1.err"
}

netlog() { # netlog NAME: the facts of the net log
  python3 - "$1.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
for e in d["events"]:
    t = names.get(e["type"])
    p = e.get("params") or {}
    if t == "SSL_CONNECT" and "encrypted_client_hello" in p:
        print("ssl_connect encrypted_client_hello %s" % str(p["encrypted_client_hello"]).lower())
    if t == "SSL_CONNECT" and "net_error" in p:
        print("ssl_connect net_error %s" % p["net_error"])
    if t == "SSL_CONNECT_JOB_RESTART_WITH_ECH_CONFIG_LIST":
        print("restart_with_ech_config_list")
EOF
}

# ---- the current config in DNS: ECH accepted ------------------------------
start_dns "$CUR_RDATA"
run_chromium cur && ok "chromium fetched https://ech.test/ (current config in DNS)" ||
  { bad "chromium (exit $?)"; show cur.err; }
check "page: ECH accepted" cur.html '<th>ECH</th><td>accepted</td>'
check "page: inner name ech.test" cur.html '<th>server name</th><td>ech.test</td>'
check "page: outer name public.test" cur.html '<th>ECH outer name</th><td>public.test</td>'
netlog cur >cur.facts 2>&1 || { bad "reading the net log"; show cur.facts; }
check "net log: encrypted_client_hello true" cur.facts '^ssl_connect encrypted_client_hello true'
check "dnsmasq answered the HTTPS query" dns.log 'query\[HTTPS\] ech.test'

# ---- a stale config in DNS: ERR_ECH_NOT_NEGOTIATED, then retry_configs -----
start_dns "$STALE_RDATA"
run_chromium stale && ok "chromium fetched https://ech.test/ (stale config in DNS)" ||
  { bad "chromium (exit $?)"; show stale.err; }
netlog stale >stale.facts 2>&1 || { bad "reading the net log"; show stale.facts; }
check "net log: first connect ERR_ECH_NOT_NEGOTIATED (-183)" stale.facts '^ssl_connect net_error -183'
check "net log: restart with tern's retry_configs" stale.facts '^restart_with_ech_config_list'
check "net log: then encrypted_client_hello true" stale.facts '^ssl_connect encrypted_client_hello true'
check "page: ECH accepted after the retry" stale.html '<th>ECH</th><td>accepted</td>'
check "server: Chromium closed the stale-config handshake with ech_required" server.log \
  'handshake failed: alert ech_required \(121\)'
check "server: ECH accepted on the connections that completed" server.log 'ECH +accepted \(outer name public.test\)'

finish ech-chromium
