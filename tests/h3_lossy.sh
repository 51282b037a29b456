#!/bin/sh
# h3_lossy.sh TERN BADPEER - tern h3-client -> tern h3-server over UDP loopback
# through tests/udp_relay.py, which drops, duplicates and reorders a share
# of the datagrams each way (and always drops the first of each
# direction, so the handshake has to recover):
#   0. first, tests/h3_badpeer.c sends the server garbage datagrams and an
#      Initial with garbage CRYPTO data: the server answers the latter
#      with CRYPTO_ERROR and stays up for everything below;
#   1. one connection, four URLs: 3 MB with a key update plus three small
#      files, every body compared byte for byte, a session stored;
#   2. a resumed connection with its request in 0-RTT;
#   3. 30 connections of one request each, 5 at a time (--load);
#   4. the relay really did drop, duplicate and reorder each way, and the
#      server saw no failed connection.
# Needs python3 (for the relay); it is part of the build's requirements.
set -u

TERN=${1:?usage: h3_lossy.sh path/to/tern path/to/h3_badpeer}
BADPEER=${2:?usage: h3_lossy.sh path/to/tern path/to/h3_badpeer}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
case $BADPEER in /*) ;; *) BADPEER=$(pwd)/$BADPEER ;; esac
RELAY=$(cd "$(dirname "$0")" && pwd)/udp_relay.py
"$TERN" h3-client --help 2>&1 | grep -q session-file ||
  { echo "FAIL: this tern was built without HTTP/3"; exit 1; }

. "$(dirname "$0")/lib.sh"
test_dir h3lossy
TO="timeout 60"

make_ca ca "tern lossy CA" || { bad "making the CA"; exit 1; }
make_leaf leaf ca "DNS:localhost, IP:127.0.0.1" || { bad "making the leaf"; exit 1; }
mkdir -p www
head -c 3145728 /dev/urandom >www/big.bin
for i in 1 2 3; do head -c $((i * 1000 + 7)) /dev/urandom >www/small$i.bin; done
cat www/big.bin www/small1.bin www/small2.bin www/small3.bin >want.bin

"$TERN" h3-server --cert leaf.pem --key leaf.key --port 0 --dir www --early-data >server.log 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_line server.log "listening on" || { bad "tern h3-server did not start"; show server.log; exit 1; }
SPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' server.log)
# 0. a hostile peer first
"$BADPEER" "$SPORT" >bad.out 2>&1
rc=$?
show bad.out
[ $rc -eq 0 ] && ok "garbage CRYPTO data: the server closed that connection with a CRYPTO_ERROR" ||
  bad "the hostile peer got no CRYPTO_ERROR (exit $rc)"
check "the server names the alert" server.log 'connection failed: TLS handshake failed: alert [a-z_]+ \([0-9]+\)'
kill -0 "$SPID" 2>/dev/null && ok "the server is still up" || { bad "the server died"; show server.log; exit 1; }

python3 "$RELAY" --server "$SPORT" --drop 0.05 --dup 0.03 --reorder 0.05 --seed 7 \
  --stats relay.stats >relay.log 2>&1 &
RPID=$!
PIDS="$PIDS $RPID"
wait_line relay.log "relay listening" || { bad "the relay did not start"; show relay.log; exit 1; }
RPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' relay.log)
URL="https://127.0.0.1:$RPORT"
echo "server on UDP $SPORT, relay on UDP $RPORT (drop 5%, duplicate 3%, reorder 5%, first of each way dropped)"

# 1. four URLs on one connection, through the losses
$TO "$TERN" h3-client --ca ca.pem --key-update --session-file s.sess --output got.bin \
  "$URL/big.bin" "$URL/small1.bin" "$URL/small2.bin" "$URL/small3.bin" >c1.out 2>c1.err
rc=$?
[ $rc -eq 0 ] && cmp -s got.bin want.bin &&
  ok "3 MB + 3 small files through the lossy relay: exit 0, bodies equal byte for byte" ||
  { bad "transfer through the relay (exit $rc)"; show c1.err; }
check "4 responses of 200" c1.err 'GET /small3.bin: 200, 3007 bytes'
check "key update initiated during the transfer" c1.err 'key update initiated after [0-9]+ response bytes; update_key called [1-9]'

# 2. resumed, request in 0-RTT (0-RTT packets may be lost and resent)
$TO "$TERN" h3-client --ca ca.pem --session-file s.sess --output got2.bin "$URL/small2.bin" \
  >c2.out 2>c2.err
rc=$?
[ $rc -eq 0 ] && cmp -s got2.bin www/small2.bin && ok "resumed connection through the relay: exit 0, body equal" ||
  { bad "resumed connection (exit $rc)"; show c2.err; }
check "resumed, 0-RTT accepted" c2.err 'resumed: yes, 0-RTT: accepted'

# 3. many connections
$TO "$TERN" h3-client --ca ca.pem --load 30 --concurrency 5 "$URL/small1.bin" >c3.out 2>c3.err
rc=$?
[ $rc -eq 0 ] && ok "30 connections through the relay: exit 0" || { bad "--load 30 (exit $rc)"; show c3.err; }
check "30 ok, 0 failed" c3.out '^load: 30 connections, 30 ok, 0 failed'

# 4. what the relay and the server saw
kill "$RPID"
wait "$RPID"
kill "$SPID"
wait "$SPID"
PIDS=""
show relay.stats
for d in c2s s2c; do
  line=$(grep "^$d " relay.stats)
  set -- $line
  # $3 forwarded, $5 dropped, $7 duplicated, $9 reordered
  if [ "${5:-0}" -ge 2 ] && [ "${7:-0}" -ge 1 ] && [ "${9:-0}" -ge 1 ]; then
    ok "$d: $5 dropped, $7 duplicated, $9 reordered of $3 forwarded"
  else
    bad "$d: the relay did not impair enough ($line)"
  fi
done
check "server: 33 connections, 32 handshakes, only the hostile one failed" server.log \
  ': 33 connections \(32 handshakes, [0-9]+ resumed, 1 failed\)'

# under ASan/UBSan (the sanitizer build), any report in any tern output fails
if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' ./*.log ./*.err ./*.out 2>/dev/null >san.txt; then
  bad "sanitizer reports in $(tr '\n' ' ' <san.txt)"; for f in $(cat san.txt); do show "$f"; done
else
  ok "no sanitizer report in any program's output"
fi
finish h3-lossy
