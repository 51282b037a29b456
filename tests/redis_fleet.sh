#!/bin/sh
# redis_fleet.sh TERN RELAY - a fleet of tern servers (separate processes)
# sharing one real redis-server, which this test starts on a free loopback
# port and a Unix socket, with a password, and stops:
#   A. TCP (tern server --redis): a ticket from one server resumes on the
#      other with its 0-RTT accepted, both ways (one over TCP, one over
#      the Unix socket)
#   B. the same 0-RTT first flight sent to two servers (RELAY: relays the
#      client to one and replays its first flight at the other): accepted
#      by exactly one, and the client is served
#   C. Redis killed: resumption still works, 0-RTT refused, no hang, the
#      error shown; Redis back: 0-RTT accepted again
#   D. ticket key rotation every 2 s: both servers pick up each period's
#      key, a ticket sealed by one after a rotation resumes on the other
#   E. QUIC (tern h3-server --redis): a ticket from one resumes on the
#      other with the requests in 0-RTT; the replayed first flight (UDP)
#      gets its 0-RTT request served once in total; Redis down: 0-RTT
#      refused, the requests answered in 1-RTT; Redis back: 0-RTT again
# Skips (77) without redis-server or openssl; E only with tern h3-*.
set -u

TERN=${1:?usage: redis_fleet.sh path/to/tern path/to/replay_relay}
RELAY=${2:?usage: redis_fleet.sh path/to/tern path/to/replay_relay}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
case $RELAY in /*) ;; *) RELAY=$(pwd)/$RELAY ;; esac
command -v redis-server >/dev/null 2>&1 || { echo "SKIP: no redis-server"; exit 77; }
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl command"; exit 77; }

. "$(dirname "$0")/lib.sh"
test_dir fleet
REDIS_PID=""
# shellcheck disable=SC2317 # called at exit
cleanup_more() {
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
  wait 2>/dev/null
}
TO="timeout 20"

# ---- the PKI
make_ca ca "tern fleet CA" && make_leaf leaf ca "DNS:localhost, IP:127.0.0.1" ||
  { bad "certificates"; exit 1; }

# ---- redis-server on a free port, with a password, no persistence
RPORT=$(free_port tcp)
export TERN_REDIS_PASSWORD="fleet-$$-password"
redis_start() {
  redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
    --unixsocket "$DIR/redis.sock" --unixsocketperm 700 --requirepass "$TERN_REDIS_PASSWORD" \
    --dir "$DIR" --logfile redis.log &
  REDIS_PID=$!
  i=0
  while [ $i -lt 200 ]; do
    redis-cli -p "$RPORT" -a "$TERN_REDIS_PASSWORD" --no-auth-warning ping 2>/dev/null |
      grep -q PONG && return 0
    sleep 0.1
    i=$((i + 1))
  done
  bad "redis-server did not start on $RPORT"
  exit 1
}
redis_stop() {
  kill -9 "$REDIS_PID" 2>/dev/null
  wait "$REDIS_PID" 2>/dev/null
  REDIS_PID=""
}
rcli() { redis-cli -p "$RPORT" -a "$TERN_REDIS_PASSWORD" --no-auth-warning "$@"; }
redis_start
ok "redis-server on 127.0.0.1:$RPORT and $DIR/redis.sock"

# start NAME ARGS...: `tern server` in the background; NAME_PORT, NAME_PID
start() {
  name=$1
  shift
  timeout 120 "$TERN" server --port 0 --cert leaf.pem --key leaf.key --www --workers 2 "$@" \
    >"$name.log" 2>"$name.err" &
  pid=$!
  PIDS="$PIDS $pid"
  if ! wait_for "$name.log" "listening on" "$pid" 200; then
    bad "tern server $name did not start"; show "$name.log" "$name.err"; exit 1
  fi
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$name.log")
  eval "${name}_PORT=$port ${name}_PID=$pid"
}
# stop NAME: SIGTERM, wait for the summary; exit 0 expected (a sanitizer
# finding makes it another)
stop() {
  eval "pid=\$${1}_PID"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null
  src=$?
  if [ $src -ne 0 ]; then bad "server $1 exited $src"; show "$1.err"; fi
}
# early0 NAME: how many connections NAME accepted 0-RTT on (its summary)
early0() { n=$(sed -n 's/.*0-RTT accepted \([0-9]*\).*/\1/p' "$1.log"); echo "${n:-0}"; }

# client NAME PORT SESSION [early]: GET /NAME, resuming SESSION, with the
# request as early data when asked
client() {
  name=$1 port=$2 sess=$3
  if [ "${4:-}" = early ]; then set -- --max-early-data 100; else set --; fi
  $TO "$TERN" client "localhost:$port" --ca ca.pem --resume "$sess" "$@" \
    --send "GET /$name HTTP/1.0\r\n\r\n" >"$name.out" 2>"$name.err"
  RC=$?
}
resumed() { grep -qF "<tr><th>resumed</th><td>yes</td></tr>" "$1.out"; }

REDIS_TCP="127.0.0.1:$RPORT"
REDIS_UNIX="unix:$DIR/redis.sock"

echo "== the options"
"$TERN" server --cert leaf.pem --key leaf.key --redis-rotate 5 >opt1.out 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "need --redis" opt1.out; then ok "--redis-rotate without --redis: exit 2, said"
else bad "--redis-rotate without --redis: exit $rc"; show opt1.out; fi
"$TERN" server --cert leaf.pem --key leaf.key --port 0 --redis no-port-here >opt2.out 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "not HOST:PORT or unix:/PATH" opt2.out; then ok "--redis without a port: exit 1, said"
else bad "--redis no-port-here: exit $rc"; show opt2.out; fi
"$TERN" server --cert leaf.pem --key leaf.key --redis x:1 --redis-timeout 0 >opt3.out 2>&1
rc=$?
if [ $rc -eq 2 ]; then ok "--redis-timeout 0: exit 2"; else bad "--redis-timeout 0: exit $rc"; show opt3.out; fi
"$TERN" server --help | grep -q -- "--redis-rotate SECONDS" && ok "--help documents --redis-rotate" || bad "--help lacks --redis-rotate"

echo "== A. a ticket of one server resumes on the other (TCP)"
start A --max-early-data 1000 --redis "$REDIS_TCP" --redis-rotate 600
start B --max-early-data 1000 --redis "$REDIS_UNIX" --redis-rotate 600
expect A.log "tern server: redis $REDIS_TCP" "A uses Redis over TCP"
expect B.log "tern server: redis $REDIS_UNIX" "B uses Redis over its Unix socket"
client a1 "$A_PORT" a.sess
cp a.sess a-used.sess # (the client stores each new ticket in the file it resumed from)
client b1 "$B_PORT" a.sess early
if [ $RC -eq 0 ] && resumed b1; then ok "A's ticket resumes on B"; else bad "A's ticket on B (exit $RC)"; show b1.out b1.err; fi
expect b1.err "the server accepted" "... with its 0-RTT request accepted by B"
client a2 "$A_PORT" b.sess
client b2 "$B_PORT" b.sess
client a3 "$A_PORT" b.sess early
if [ $RC -eq 0 ] && resumed a3; then ok "B's ticket resumes on A"; else bad "B's ticket on A (exit $RC)"; show a3.out a3.err; fi
expect a3.err "the server accepted" "... with 0-RTT"
# the same session once more: tickets are single-use across the fleet
cp a-used.sess a-used1.sess
client b4 "$B_PORT" a-used1.sess early
if [ $RC -eq 0 ] && ! resumed b4; then ok "a ticket used at B is refused at B again (full handshake)"
else bad "a used ticket resumed (exit $RC)"; show b4.out; fi
cp a-used.sess a-used2.sess
client a5 "$A_PORT" a-used2.sess early
if [ $RC -eq 0 ] && ! resumed a5; then ok "... and at A"; else bad "a used ticket resumed at A"; show a5.out; fi
n=$(rcli --scan --pattern 'tern:rp:*' | wc -l)
if [ "$n" -ge 3 ]; then ok "Redis holds the used tickets ($n records)"; else bad "Redis holds $n records"; fi
ttl=$(rcli pttl "$(rcli --scan --pattern 'tern:rp:*' | head -1)")
if [ "$ttl" -gt 0 ] && [ "$ttl" -le 21000 ]; then ok "a record expires after the replay window ($ttl ms left)"
else bad "a record's PTTL is $ttl"; fi

echo "== B. the same 0-RTT first flight at two servers (TCP)"
start C --max-early-data 1000 --redis "$REDIS_TCP" --redis-rotate 600 -q
start D --max-early-data 1000 --redis "$REDIS_TCP" --redis-rotate 600 -q
client c1 "$C_PORT" c.sess
"$RELAY" tcp "$C_PORT" "$D_PORT" >relay.out 2>relay.err &
RELAY_PID=$!
PIDS="$PIDS $RELAY_PID"
wait_for relay.out "relay on" "$RELAY_PID" 200 || { bad "the relay did not start"; show relay.err; }
RELAY_PORT=$(sed -n 's/^relay on \([0-9]*\)/\1/p' relay.out)
client r1 "$RELAY_PORT" c.sess early
wait "$RELAY_PID"
# (C and D race to Redis: the one that loses makes a full handshake, so
# the client is resumed by C only when C won)
if [ $RC -eq 0 ] && grep -q "HTTP/1.0 200" r1.out; then ok "the client, through the relay, is served by C"
else bad "the client through the relay (exit $RC)"; show r1.out r1.err relay.out relay.err; fi
expect relay.out "sent to A and to B" "its first flight went to C and to D"
if grep -q "B answered [1-9]" relay.out; then ok "D answered the replay"; else bad "D did not answer"; show relay.out D.log D.err; fi
stop C
stop D
total=$(( $(early0 C) + $(early0 D) ))
if [ "$total" -eq 1 ]; then ok "the 0-RTT of that flight accepted exactly once (C $(early0 C), D $(early0 D))"
else bad "0-RTT accepted $total times (C $(early0 C), D $(early0 D))"; show C.log D.log; fi
if grep -q " 1 seen before" C.log D.log; then ok "the second server's Redis check found the ticket used: $(grep -l ' 1 seen before' C.log D.log)"
else bad "no server found the ticket used"; show C.log D.log; fi

echo "== C. Redis down, then back (TCP)"
client a6 "$A_PORT" d1.sess
client a7 "$A_PORT" d2.sess
redis_stop
start=$(date +%s)
client b6 "$B_PORT" d1.sess early
end=$(date +%s)
if [ $RC -eq 0 ] && resumed b6; then ok "Redis down: A's ticket still resumes on B"
else bad "Redis down: resumption failed (exit $RC)"; show b6.out b6.err; fi
expect b6.err "the server refused the early data" "... with its 0-RTT refused"
if [ $((end - start)) -le 5 ]; then ok "... in $((end - start)) s (no hang)"; else bad "took $((end - start)) s"; fi
client b7 "$B_PORT" none.sess
if [ $RC -eq 0 ]; then ok "Redis down: a full handshake at B"; else bad "full handshake at B (exit $RC)"; fi
# (the key poller reports new errors at its next round, within a second)
if wait_for B.err "redis: " "$B_PID" 200; then ok "B says what failed: $(grep -m1 'redis: ' B.err)"
else bad "B did not say what failed"; show B.err; fi
expect_not B.err "$TERN_REDIS_PASSWORD" "... without the password"
redis_start
i=0 accepted=0
while [ $i -lt 30 ] && [ $accepted -eq 0 ]; do
  rm -f e.sess
  client a8 "$A_PORT" e.sess
  client b8 "$B_PORT" e.sess early
  grep -qF "the server accepted" b8.err && accepted=1
  [ $accepted -eq 1 ] || sleep 0.5
  i=$((i + 1))
done
if [ $accepted -eq 1 ]; then ok "Redis back: 0-RTT accepted again (try $i)"; else bad "0-RTT not accepted after Redis came back"; show b8.err B.err; fi
stop A
stop B
expect B.log "unavailable)" "B's summary counts the checks Redis could not answer"

echo "== D. ticket keys rotating every 2 s, shared"
start E --redis "$REDIS_TCP" --redis-rotate 2 --redis-prefix rot:
start F --redis "$REDIS_UNIX" --redis-rotate 2 --redis-prefix rot:
p0=$(sed -n 's/.*ticket key of period \([0-9]*\) in use/\1/p' E.log | tail -1)
wait_for E.log "ticket key of period $((p0 + 1)) in use" "$E_PID" 200 || bad "E did not rotate"
wait_for F.log "ticket key of period $((p0 + 1)) in use" "$F_PID" 200 || bad "F did not take the new key"
ok "E and F both moved from period $p0 to $((p0 + 1))"
client e1 "$E_PORT" r.sess
# the key that sealed it is E's latest; F has it once its log says so
pe=$(sed -n 's/.*ticket key of period \([0-9]*\) in use/\1/p' E.log | tail -1)
wait_for F.log "ticket key of period $pe in use" "$F_PID" 200 || bad "F did not take period $pe"
client f1 "$F_PORT" r.sess
if [ $RC -eq 0 ] && resumed f1; then ok "a ticket E sealed after the rotation resumes on F"
else bad "E's ticket on F after the rotation (exit $RC)"; show f1.out E.log F.log; fi
n=$(rcli --scan --pattern 'rot:tk:*' | wc -l)
if [ "$n" -ge 2 ]; then ok "Redis holds $n period keys under rot:tk:"; else bad "$n period keys"; fi
stop E
stop F

echo "== E. QUIC: tern h3-server --redis"
if ! "$TERN" h3-server --help 2>&1 | grep -q -- --redis; then
  echo "(tern has no h3-server: skipped)"
else
  mkdir -p www && echo "fleet page" >www/index.html
  # hstart NAME ARGS...: NAME_PORT, NAME_PID
  hstart() {
    name=$1
    shift
    timeout 120 "$TERN" h3-server --cert leaf.pem --key leaf.key --port 0 --dir www \
      --early-data "$@" >"$name.log" 2>"$name.err" &
    pid=$!
    PIDS="$PIDS $pid"
    wait_for "$name.log" "listening on" "$pid" 200 || { bad "h3-server $name"; show "$name.err"; exit 1; }
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$name.log")
    eval "${name}_PORT=$port ${name}_PID=$pid"
  }
  # hclient NAME PORT SESSION
  hclient() {
    $TO "$TERN" h3-client --ca ca.pem --session-file "$3" "https://localhost:$2/index.html" \
      >"$1.out" 2>"$1.err"
    RC=$?
  }
  # served0 NAME: requests NAME answered in 0-RTT (its summary)
  served0() { n=$(sed -n 's/.*requests (\([0-9]*\) in 0-RTT).*/\1/p' "$1.log"); echo "${n:-0}"; }
  hstart QA --redis "$REDIS_TCP" --redis-rotate 600 --redis-prefix q:
  hstart QB --redis "$REDIS_UNIX" --redis-rotate 600 --redis-prefix q:
  hclient q1 "$QA_PORT" q.sess
  hclient q2 "$QB_PORT" q.sess
  if [ $RC -eq 0 ] && grep -q "fleet page" q2.out; then ok "QUIC: A's ticket used at B, page served"
  else bad "QUIC resumption at B (exit $RC)"; show q2.out q2.err; fi
  expect q2.err "requests sent in 0-RTT" "... with the request in 0-RTT"
  expect_not q2.err "refused 0-RTT" "... accepted by B"
  stop QA
  stop QB
  expect QB.log "1 resumed" "B resumed the session"
  expect QB.log "(1 in 0-RTT)" "B answered the request in 0-RTT"
  # the replay of a QUIC first flight (Initial and 0-RTT datagrams)
  hstart QC --redis "$REDIS_TCP" --redis-rotate 600 --redis-prefix q:
  hstart QD --redis "$REDIS_TCP" --redis-rotate 600 --redis-prefix q:
  hclient q3 "$QC_PORT" q2.sess
  "$RELAY" udp "$QC_PORT" "$QD_PORT" >urelay.out 2>urelay.err &
  RELAY_PID=$!
  PIDS="$PIDS $RELAY_PID"
  wait_for urelay.out "relay on" "$RELAY_PID" 200 || { bad "the UDP relay did not start"; show urelay.err; }
  RELAY_PORT=$(sed -n 's/^relay on \([0-9]*\)/\1/p' urelay.out)
  hclient q4 "$RELAY_PORT" q2.sess
  wait "$RELAY_PID"
  if [ $RC -eq 0 ] && grep -q "fleet page" q4.out; then ok "QUIC: the client through the relay is served"
  else bad "QUIC through the relay (exit $RC)"; show q4.out q4.err urelay.out; fi
  expect urelay.out "sent to A and to B" "its first flight went to C and to D"
  stop QC
  stop QD
  total=$(( $(served0 QC) + $(served0 QD) ))
  if [ "$total" -eq 1 ]; then ok "QUIC: the 0-RTT request of that flight served once (C $(served0 QC), D $(served0 QD))"
  else bad "QUIC: 0-RTT request served $total times"; show QC.log QD.log urelay.out; fi
  # Redis down: 1-RTT
  hstart QE --redis "$REDIS_TCP" --redis-rotate 600 --redis-prefix q:
  hclient q5 "$QE_PORT" q5.sess
  redis_stop
  hclient q6 "$QE_PORT" q5.sess
  if [ $RC -eq 0 ] && grep -q "fleet page" q6.out; then ok "QUIC, Redis down: served"; else bad "QUIC, Redis down (exit $RC)"; show q6.err; fi
  expect q6.err "refused 0-RTT" "... its 0-RTT refused, the request sent again in 1-RTT"
  redis_start
  i=0 accepted=0
  while [ $i -lt 30 ] && [ $accepted -eq 0 ]; do
    rm -f q7.sess
    hclient q7 "$QE_PORT" q7.sess
    hclient q8 "$QE_PORT" q7.sess
    grep -q "requests sent in 0-RTT" q8.err && ! grep -q "refused 0-RTT" q8.err && accepted=1
    [ $accepted -eq 1 ] || sleep 0.5
    i=$((i + 1))
  done
  if [ $accepted -eq 1 ]; then ok "QUIC, Redis back: 0-RTT accepted again (try $i)"
  else bad "QUIC: 0-RTT not accepted after Redis came back"; show q8.err QE.err; fi
  stop QE
  n=$(sed -n 's/.*handshakes, \([0-9]*\) resumed.*/\1/p' QE.log)
  if [ "${n:-0}" -ge 2 ]; then ok "... on resumed sessions ($n)"; else bad "QE resumed ${n:-0}"; show QE.log; fi
fi

finish redis-fleet
