#!/bin/sh
# keylog_tshark.sh TERN - Wireshark reads tern's key log: a tern client ->
# tern server (echo) session over loopback is captured with tshark, then
# tshark decrypts the capture with the client's --keylog file:
#   1. the key log names the ClientHello's random and holds the five
#      TLS 1.3 secrets (no *_SECRET_1: later generations are tshark's job)
#   2. with the key log, tshark shows the marker the client sent and the
#      marker the server echoed, both sent after a KeyUpdate (so under
#      traffic secrets tshark derived itself)
#   3. without it, tshark shows no marker, and the marker is nowhere in the
#      capture in clear (so the checks above can fail)
# Needs tshark (./dev installs it) and the right to capture on lo (root in
# CI); without either it skips (77). Background processes are always killed.
set -u

TERN=${1:?usage: keylog_tshark.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
command -v tshark >/dev/null 2>&1 || { echo "SKIP: no tshark command (the Debian package tshark; ./dev installs it)"; exit 77; }
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl command"; exit 77; }

. "$(dirname "$0")/lib.sh"
test_dir tshark

# tshark with none of the user's preferences (no key log set there).
WIRESHARK_CONFIG_DIR=$DIR/wireshark
export WIRESHARK_CONFIG_DIR
mkdir -p "$WIRESHARK_CONFIG_DIR"

MARKER="tern-keylog-marker-$$-$(date +%s)"

# ---- a P-256 CA and a leaf for 127.0.0.1 --------------------------------
make_ca ca "tern tshark CA" || { bad "making the CA"; exit 1; }
make_leaf leaf ca "DNS:localhost, IP:127.0.0.1" || { bad "making the leaf"; exit 1; }

# ---- tern server (echo, one connection) on a free port --------------------
# (a minute to live: tshark alone can take 10 s to start on a loaded machine)
$TOSERV "$TERN" server --cert leaf.pem --key leaf.key --port 0 --once >server.log 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_for server.log "listening on" "$SPID" || { bad "tern server did not start"; show server.log; exit 1; }
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' server.log)

# ---- the capture: lo, that port (and port 1 for the probe) ----------------
# -P prints each packet as it is captured, which is how the probe is seen.
PROBE=1
timeout 30 tshark -n -i lo -f "tcp port $PORT or tcp port $PROBE" -w cap.pcapng -P -l \
  >live.out 2>live.err &
TPID=$!
PIDS="$PIDS $TPID"
if ! wait_for live.err "Capture started" "$TPID"; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: tshark cannot capture on lo as $(id -un) (run as root):"
    show live.err
    exit 77
  fi
  bad "tshark did not start capturing on lo"; show live.err; exit 1
fi
# Capturing for sure once a probe (a refused connection to port 1) shows up:
# before the session, the probe's are the only packets the filter lets in.
seen=0
for _ in 1 2 3; do
  "$TERN" client "127.0.0.1:$PROBE" --ca ca.pem --send x --timeout 1 >/dev/null 2>&1
  wait_for live.out "TCP" "$TPID" && { seen=1; break; }
done
[ $seen -eq 1 ] || { bad "tshark captured no probe packet"; show live.err; exit 1; }
ok "tshark is capturing on lo, tcp port $PORT"

# ---- the session: KeyUpdate, then the marker, echoed ----------------------
$TO "$TERN" client "127.0.0.1:$PORT" --ca ca.pem --keylog keys.log --key-update \
  --send "$MARKER\\n" >client.out 2>client.err
rc=$?
wait "$SPID"
src=$?
[ $rc -eq 0 ] && [ $src -eq 0 ] && ok "tern client -> tern server: both exit 0" ||
  { bad "tern client exited $rc, tern server $src"; show client.err; show server.log; }
grep -qF -- "$MARKER" client.out && ok "the server echoed the marker" || bad "no echo in client.out"
grep -qF "sent KeyUpdate" client.err && ok "the client sent a KeyUpdate" || bad "no KeyUpdate"

# Stops the capture; tshark finishes the file when it gets SIGTERM.
sleep 0.5
kill "$TPID" 2>/dev/null
wait "$TPID"
PIDS=""
[ -s cap.pcapng ] || { bad "no capture file"; show live.err; exit 1; }

# ---- 1. the key log ----------------------------------------------------------
n=$(grep -cE '^[A-Z0-9_]+ [0-9a-f]{64} [0-9a-f]{64,96}$' keys.log 2>/dev/null)
[ "${n:-0}" -eq 5 ] && ok "client key log: 5 NSS lines" || { bad "client key log: ${n:-0} lines"; show keys.log; }
grep -q '_SECRET_1 ' keys.log && bad "the key log holds a *_SECRET_1 line" ||
  ok "the key log holds generation 0 only"

# The records of the session, one line a frame: frame, stream, source port,
# inner content types, handshake types, decrypted data as text.
FIELDS="-T fields -E separator=/t -e frame.number -e tcp.stream -e tcp.srcport \
-e tls.record.content_type -e tls.handshake.type -e data.text"
# shellcheck disable=SC2086
tshark -n -r cap.pcapng -d "tcp.port==$PORT,tls" -o tls.keylog_file:keys.log \
  -o data.show_as_text:TRUE -Y "tcp.port==$PORT && tls" $FIELDS >dec.txt 2>dec.err
tshark -n -r cap.pcapng -d "tcp.port==$PORT,tls" -Y "tcp.port==$PORT && tls.handshake.type==1" \
  -T fields -e tls.handshake.random >random.txt 2>/dev/null
random=$(head -n 1 random.txt)
if [ -n "$random" ] && grep -q "^CLIENT_TRAFFIC_SECRET_0 $random " keys.log; then
  ok "the key log is keyed by the captured ClientHello's random"
else
  bad "captured ClientHello random \"$random\" is not in the key log"; show keys.log
fi
STREAM=$(cut -f2 dec.txt | head -n 1)

# ---- 2. with the key log: both markers, after the KeyUpdates ---------------
tshark -n -r cap.pcapng -d "tcp.port==$PORT,tls" -o tls.keylog_file:keys.log -q \
  -z "follow,tls,ascii,$STREAM" >follow.txt 2>follow.err
echo "     \$ tshark -n -r cap.pcapng -d tcp.port==$PORT,tls -o tls.keylog_file:keys.log -q -z follow,tls,ascii,$STREAM"
show follow.txt
n=$(grep -cF -- "$MARKER" follow.txt)
[ "$n" -eq 2 ] && ok "follow,tls: the marker decrypted both ways" ||
  bad "follow,tls shows the marker $n times, not 2"

# Per direction: is there a decrypted record with the marker, and did a
# KeyUpdate come before it (an earlier frame, or an earlier record of the
# same frame when that frame's handshake records are all KeyUpdates)?
awk -F'\t' -v sp="$PORT" -v m="$MARKER" '
  { dir = ($3 == sp) ? "server" : "client"
    n = split($4, ct, ","); nh = split($5, ht, ",")
    has = 0; only = 1
    for (i = 1; i <= nh; i++) if (ht[i] == 24) has = 1; else only = 0
    if (index($6, m)) {
      after = ku[dir]
      if (!after && has && only)
        for (i = 1; i <= n; i++) { if (ct[i] == 22) { after = 1; break } if (ct[i] == 23) break }
      print dir, (after ? "after" : "before"), "frame", $1
    }
    if (has) ku[dir] = 1 }' dec.txt >order.txt
for dir in client server; do
  if grep -q "^$dir after " order.txt; then
    ok "$dir -> marker decrypted by tshark, sent after the $dir's KeyUpdate ($(grep "^$dir " order.txt | cut -d' ' -f3-))"
  elif grep -q "^$dir " order.txt; then
    bad "$dir: the marker came before any KeyUpdate"; show dec.txt
  else
    bad "$dir: tshark did not decrypt the marker"; show dec.txt; show dec.err
  fi
done

# ---- 3. without the key log: nothing readable -------------------------------
tshark -n -r cap.pcapng -d "tcp.port==$PORT,tls" -o tls.keylog_file: -q \
  -z "follow,tls,ascii,$STREAM" >nokeys.txt 2>&1
# shellcheck disable=SC2086
tshark -n -r cap.pcapng -d "tcp.port==$PORT,tls" -o tls.keylog_file: \
  -o data.show_as_text:TRUE -Y "tcp.port==$PORT" $FIELDS >>nokeys.txt 2>&1
grep -qF -- "$MARKER" nokeys.txt && { bad "the marker shows without the key log"; show nokeys.txt; } ||
  ok "without the key log tshark shows no marker"
grep -qaF -- "$MARKER" cap.pcapng && bad "the marker is in the capture in clear" ||
  ok "the marker is not in the capture in clear"

finish keylog-tshark
