#!/bin/sh
# h3_keylog_tshark.sh TERN - Wireshark reads tern's key log for QUIC: a
# tern h3-client -> tern h3-server session (with a key update) is captured
# on loopback with tshark, then tshark decrypts the capture with the
# client's --keylog file:
#   1. the key log holds the five TLS 1.3 secrets of the connection,
#      keyed by the ClientHello random tshark reads from the Initial;
#   2. with it, tshark decrypts the Handshake packets (EncryptedExtensions,
#      Certificate, CertificateVerify, Finished) and the 1-RTT packets of
#      both key phases, and the marker at the end of the response body
#      (sent after the key update) is in the decrypted stream data;
#   3. without it, none of that shows, and the marker is nowhere in the
#      capture in clear (so the checks above can fail).
# Needs tshark (./dev installs it) and the right to capture on lo (root in
# CI); without either it skips (77). Background processes are always killed.
set -u

TERN=${1:?usage: h3_keylog_tshark.sh path/to/tern}
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
command -v tshark >/dev/null 2>&1 || { echo "SKIP: no tshark command (the Debian package tshark; ./dev installs it)"; exit 77; }
"$TERN" h3-client --help 2>&1 | grep -q session-file ||
  { echo "FAIL: this tern was built without HTTP/3"; exit 1; }

. "$(dirname "$0")/lib.sh"
test_dir h3tshark
WIRESHARK_CONFIG_DIR=$DIR/wireshark
export WIRESHARK_CONFIG_DIR
mkdir -p "$WIRESHARK_CONFIG_DIR"

make_ca ca "tern tshark CA" || { bad "making the CA"; exit 1; }
make_leaf leaf ca "DNS:localhost, IP:127.0.0.1" || { bad "making the leaf"; exit 1; }

# The body: 300 KB of zeros, then the marker; it ends well after the key
# update the client starts at the first response bytes.
MARKER="tern-h3-marker-$$-$(date +%s)"
mkdir -p www
{ head -c 307200 /dev/zero; printf '%s\n' "$MARKER"; } >www/page.bin
MARKER_HEX=$(printf '%s' "$MARKER" | od -An -tx1 | tr -d ' \n')

# --no-gso: with UDP GSO a capture on lo sees the unsegmented batches
"$TERN" h3-server --cert leaf.pem --key leaf.key --port 0 --dir www --no-gso >server.log 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_line server.log "listening on" || { bad "tern h3-server did not start"; show server.log; exit 1; }
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' server.log)

timeout 30 tshark -n -i lo -f "udp port $PORT or udp port 9" -w cap.pcapng -P -l >live.out 2>live.err &
TPID=$!
PIDS="$PIDS $TPID"
if ! wait_line live.err "Capture started"; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: tshark cannot capture on lo as $(id -un) (run as root):"; show live.err; exit 77
  fi
  bad "tshark did not start capturing on lo"; show live.err; exit 1
fi
# capturing for sure once a probe datagram to port 9 shows up
seen=0
for _ in 1 2 3 4 5; do
  python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"probe", ("127.0.0.1", 9))'
  wait_line live.out "UDP" && { seen=1; break; }
done
[ $seen -eq 1 ] || { bad "tshark captured no probe datagram"; show live.err; exit 1; }
ok "tshark is capturing on lo, udp port $PORT"

timeout 30 "$TERN" h3-client --ca ca.pem --keylog keys.log --key-update --no-gso --output got.bin \
  "https://127.0.0.1:$PORT/page.bin" >client.out 2>client.err
rc=$?
[ $rc -eq 0 ] && cmp -s got.bin www/page.bin && ok "tern h3-client -> tern h3-server: exit 0, body equal" ||
  { bad "the session (exit $rc)"; show client.err; }
grep -q "key update initiated" client.err && ok "the client updated its keys during the response" ||
  { bad "no key update"; show client.err; }
sleep 0.5
kill "$TPID" 2>/dev/null
wait "$TPID"
PIDS="$SPID"
[ -s cap.pcapng ] || { bad "no capture file"; show live.err; exit 1; }

# ---- 1. the key log --------------------------------------------------------
n=$(grep -cE '^[A-Z0-9_]+ [0-9a-f]{64} [0-9a-f]{64,96}$' keys.log 2>/dev/null)
[ "${n:-0}" -eq 5 ] && ok "key log: 5 NSS lines" || { bad "key log: ${n:-0} lines"; show keys.log; }
random=$(tshark -n -r cap.pcapng -Y "quic && tls.handshake.type==1" -T fields \
  -e tls.handshake.random 2>/dev/null | head -n 1)
for label in CLIENT_HANDSHAKE_TRAFFIC_SECRET SERVER_HANDSHAKE_TRAFFIC_SECRET \
  CLIENT_TRAFFIC_SECRET_0 SERVER_TRAFFIC_SECRET_0; do
  if [ -n "$random" ] && grep -q "^$label $random " keys.log; then :; else
    bad "$label is not keyed by the captured ClientHello random \"$random\""; show keys.log
  fi
done
[ -n "$random" ] && grep -q "^SERVER_TRAFFIC_SECRET_0 $random " keys.log &&
  ok "the key log is keyed by the ClientHello random read from the captured Initial"

# ---- 2. with the key log ---------------------------------------------------
FIELDS="-T fields -E separator=/t -e quic.long.packet_type -e quic.short -e quic.key_phase \
-e tls.handshake.type -e quic.stream_data"
# shellcheck disable=SC2086
tshark -n -r cap.pcapng -o "tls.keylog_file:keys.log" -Y quic $FIELDS >dec.txt 2>dec.err
# shellcheck disable=SC2086
tshark -n -r cap.pcapng -o "tls.keylog_file:" -Y quic $FIELDS >nokeys.txt 2>&1
hs=$(cut -f4 dec.txt | tr ',' '\n' | sort -un | tr '\n' ' ')
missing=""
for t in 8 11 15 20 4; do
  case " $hs" in *" $t "*) ;; *) missing="$missing $t" ;; esac
done
[ -z "$missing" ] &&
  ok "with the key log: EncryptedExtensions, Certificate, CertificateVerify, Finished, NewSessionTicket decrypted (types $hs)" ||
  { bad "with the key log: handshake types \"$hs\", missing$missing"; show dec.err; }
phases=$(awk -F'\t' '$5 != "" && $3 != "" { print $3 }' dec.txt | sort -u | tr '\n' ' ')
case "$phases" in
  *0*1*|*False*True*) ok "with the key log: 1-RTT stream data decrypted in both key phases ($phases)" ;;
  *) bad "with the key log: key phases of decrypted 1-RTT packets \"$phases\""; show dec.txt ;;
esac
grep -q "$MARKER_HEX" dec.txt && ok "with the key log: the marker (after the key update) in the decrypted stream data" ||
  { bad "the marker is not in the decrypted stream data"; show dec.err; }

# ---- 3. without it ---------------------------------------------------------
grep -q "$MARKER_HEX" nokeys.txt && bad "the marker shows without the key log" ||
  ok "without the key log: no marker"
nhs=$(cut -f4 nokeys.txt | tr ',' '\n' | grep -cxE '8|11|15|20')
[ "$nhs" -eq 0 ] && ok "without the key log: no Handshake message readable" ||
  bad "without the key log: $nhs Handshake messages readable"
grep -qaF -- "$MARKER" cap.pcapng && bad "the marker is in the capture in clear" ||
  ok "the marker is not in the capture in clear"

# under ASan/UBSan (the sanitizer build), any report in any tern output fails
if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' ./*.log ./*.err ./*.out 2>/dev/null >san.txt; then
  bad "sanitizer reports in $(tr '\n' ' ' <san.txt)"; for f in $(cat san.txt); do show "$f"; done
else
  ok "no sanitizer report in any program's output"
fi
finish h3-keylog-tshark
