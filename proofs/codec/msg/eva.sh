#!/bin/sh
# proofs/codec/msg/eva.sh - EVA on the handshake message codec, src/codec/msg.c over
# the real src/codec/wire.c (libcrypto is not involved). proofs/codec/msg/harness.c
# runs every parser (and tern_msg_header) on bodies of unknown bytes of
# every length 0..bound, each length its own case, and writes back what it
# accepts. Each parser has its own run and bound; the runs go two at a
# time.
#
# A bound is as far as a run stays within about a minute: the cases grow
# about twofold with each byte of an extension block, so no ClientHello
# of unknown bytes can carry more than two small extensions. Two more
# runs reach further into the extensions: a ClientHello whose fields
# before the extensions have a fixed shape, ending in each known extension
# with data of unknown bytes of every length up to a bound, and one ending
# in a pre_shared_key of one identity and one binder of every length in a
# range (their lengths consistent, their bytes unknown). Where a message
# cannot be longer (Finished: 64 bytes, KeyUpdate: 1, EndOfEarlyData: 0,
# a header: 4) the bound goes past its largest size.
#
# Three runs reach what no body within those bounds does: `shaped`, seven
# messages of a fixed shape and unknown bytes (a 256-byte host_name, two
# key shares, pre_shared_key with two identities and one binder, with a
# bad binder length, without psk_key_exchange_modes, a ServerHello with a
# key_share, a CertificateRequest with oid_filters); `writers`, every
# writer on structs built by hand as the engine builds them (extensions
# from `present`, zero binders) and on each argument it refuses, the
# helpers on lists kept by hand, and tern_msg_set_binder on messages of
# unknown bytes; `big`, vectors longer than their 2- and 3-byte length
# prefixes can say, written into 2^24 bytes of room.
#
# Nothing in src/ is copied or changed. Two analysis settings make EVA
# precise enough on it:
#  - -inline-calls vec_fits (a Frama-C transformation, not an edit): the
#    bounds check of a vector then sits in the `if` of its caller, and EVA,
#    which is not relational, reduces the vector length by it (through the
#    equality domain) instead of losing it across a call;
#  - proofs/codec/msg/msg_eva.ml, built here and loaded with -load-module, adds
#    `split n;` at the entry of vec_split, so that each vector length is
#    its own case and every offset stays exact (see that file), and
#    writes which statements of msg.c each run reached.
#
# What must hold in every run: no alarm (run-time error) and every
# precondition EVA meets valid (those of wire.h at each call from msg.c,
# and of wire.c's own helpers). Postconditions and loop invariants of
# wire.c are proven by WP (proofs/codec/wire/wp.sh); EVA assumes them and leaves
# many unknown, which is not counted; one it finds false would be.
#
# A negative proof goes with it: msg.c broken on purpose (a reader that
# claims one byte past the body) must not pass.
#
# Prints a line per run, the statements of msg.c no run reached, and one
# summary line,
#   msg EVA: <alarms> alarms; every body of unknown bytes up to: <message>
#   <bound>, ... bytes; ...; msg.c statements reached <r>/<all> (<p>%);
#   negative proof: ...
# (a statement counts when some run reached it; blocks, which only hold
# statements, do not count); exits non-zero on any alarm, unproven
# precondition, property found false, failed run, a negative proof that
# passes, or a function of msg.c with more unreached statements than
# proofs/codec/msg/unreached.txt accounts for (docs/proofs-msg-reach.md
# gives each one's reason).
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One run per line: name, lane (the two lanes run side by side, each
# about two minutes on an idle 2-core machine), the bit of the driver in
# proofs/codec/msg/harness.c (PARSERS), the bound (MAXLEN: bodies of every
# length 0..bound; for client_hello_extension, extension data 0..bound;
# unused by client_hello_psk, shaped, writers and big, whose lengths are
# in the harness), and one more Frama-C option or "-".
# big copies 2^24 bytes: tern_writer_bytes's loop is not unrolled there
# (-eva-slevel-function tern_writer_bytes:0), which keeps it to seconds.
runs="client_hello_extension 1 0x0800 10 -
client_hello 1 0x0001 52 -
certificate_request 1 0x0008 13 -
certificate_verify 1 0x0020 64 -
compressed_certificate 1 0x2000 16 -
key_update 1 0x0100 8 -
header 1 0x0400 8 -
certificate 0 0x0010 18 -
encrypted_extensions 0 0x0004 13 -
new_session_ticket 0 0x0080 22 -
server_hello 0 0x0002 48 -
client_hello_psk 0 0x1000 0 -
finished 0 0x0040 65 -
writers 0 0x8000 0 -
shaped 0 0x4000 0 -
big 0 0x10000 0 -eva-slevel-function=tern_writer_bytes:0
end_of_early_data 0 0x0200 8 -"

# The OCaml module is built next to a copy of its source (ocamlopt
# leaves .cmi/.cmx/.o beside it). OCaml comes with frama-c-base.
cp "$top/proofs/codec/msg/msg_eva.ml" "$work/"
if ! ocamlopt -shared -I "$(frama-c -print-lib-path)" \
    -o "$work/msg_eva.cmxs" "$work/msg_eva.ml" > "$work/ocamlopt.log" 2>&1; then
  cat "$work/ocamlopt.log"
  echo "msg EVA: ? alarms (could not build proofs/codec/msg/msg_eva.ml) FAILED"
  exit 1
fi

# Many cases at once run deep in EVA's OCaml stack.
ulimit -s unlimited 2>/dev/null || ulimit -s 1048576 2>/dev/null || true

# eva NAME BITS BOUND OPTION [MSG_C]: one run (of src/codec/msg.c unless
# MSG_C is given; OPTION "-" for none), log in $work/NAME.log, coverage in
# $work/NAME.cov.
eva() {
  start=$(date +%s)
  extra=$4
  [ "$extra" != - ] || extra=
  MSG_EVA_COVERAGE="$work/$1.cov" frama-c -load-module "$work/msg_eva.cmxs" \
    -eva -eva-no-show-progress -eva-slevel 10000 \
    -eva-split-return full -eva-interprocedural-splits \
    -eva-domains cvalue,equality -inline-calls vec_fits ${extra:+"$extra"} \
    -cpp-extra-args="-I$top/src -I$top/include -DMAXLEN=$3 -DPARSERS=$2" \
    "${5:-$top/src/codec/msg.c}" "$top/src/codec/wire.c" "$top/proofs/codec/msg/harness.c" \
    -main main > "$work/$1.log" 2>&1
  echo $? > "$work/$1.rc"
  echo $(( $(date +%s) - start )) > "$work/$1.time"
}

# Two lanes, the longest runs first in each.
lane() {
  printf '%s\n' "$runs" | awk -v l="$1" '$2 == l {print $1, $3, $4, $5}' |
    while read -r name bits bound extra; do
      eva "$name" "$bits" "$bound" "$extra"
    done
}
lane 1 &
lane 0
wait

# verdict NAME: reads $work/NAME.log into $alarms, $pre_valid, $pre_total,
# $false_props and $cover; returns 0 when the run proved what it must.
verdict() {
  log="$work/$1.log"
  alarms=$(sed -n 's/^ *\([0-9][0-9]*\) alarms\{0,1\} generated by the analysis.*/\1/p' "$log" | tail -1)
  [ -n "$alarms" ] || { grep -q 'No alarms raised' "$log" && alarms=0; }
  [ -n "$alarms" ] || alarms="?"
  pre=$(grep -E '^ *Preconditions ' "$log" | tail -1)
  pre_valid=$(printf '%s' "$pre" | awk '{print $2}')
  pre_total=$(printf '%s' "$pre" | awk '{print $(NF-1)}')
  # "invalid" for a behavior that may be inactive is about the states
  # where it is inactive, and says nothing.
  false_props=$(grep 'got status invalid' "$log" | grep -vc 'Behavior may be inactive')
  cover=$(sed -n 's/^ *In these functions, \([0-9]*\) statements reached (out of \([0-9]*\)).*/\1\/\2/p' "$log" | tail -1)
  [ "$(cat "$work/$1.rc")" -eq 0 ] && [ "$alarms" = 0 ] &&
    [ -n "$pre_total" ] && [ "$pre_valid" = "$pre_total" ] &&
    [ "$false_props" = 0 ]
}

psk_id=$(sed -n 's/^#define PSK_ID_MAX \([0-9]*\)/\1/p' "$top/proofs/codec/msg/harness.c")
psk_binder=$(sed -n 's/^#define PSK_BINDER_MAX \([0-9]*\)/\1/p' "$top/proofs/codec/msg/harness.c")
fail=0
alarms_total=0
for name in $(printf '%s\n' "$runs" | awk '{print $1}'); do
  bound=$(printf '%s\n' "$runs" | awk -v n="$name" '$1 == n {print $4}')
  case $name in
    client_hello_extension)
      what="each known extension last in a ClientHello, its data 0..$bound bytes" ;;
    client_hello_psk)
      what="pre_shared_key, 1 identity 0..$psk_id bytes, 1 binder 31..$psk_binder" ;;
    shaped)
      what="7 shapes: long host_name, two key shares, PSK variants, SH key_share, CR oid_filters" ;;
    writers)
      what="hand-built structs: every writer's refusals, helpers, set_binder" ;;
    big)
      what="vectors past 2^16 and 2^24 bytes in the writers" ;;
    *)
      what="bodies 0..$bound bytes" ;;
  esac
  if verdict "$name" && [ -s "$work/$name.cov" ]; then
    ok=""
  else
    ok=" FAILED"
    fail=1
  fi
  printf '  %s (%s): %s alarms, preconditions %s/%s valid, %s statements reached in the functions reached, %ss%s\n' \
    "$name" "$what" "$alarms" "${pre_valid:-?}" "${pre_total:-?}" "${cover:-?}" \
    "$(cat "$work/$name.time")" "$ok"
  if [ -n "$ok" ]; then
    grep -E -A3 'alarm\]|got status (invalid|unknown)' "$work/$name.log" |
      grep -v 'Behavior may be inactive\|postcondition got status unknown' | head -40
    tail -5 "$work/$name.log"
  fi
  [ "$alarms" = "?" ] || alarms_total=$((alarms_total + alarms))
done

# The negative proof: a CertificateVerify parser whose reader claims one
# byte more than the body has must NOT pass. A private copy of msg.c is
# broken on purpose (its coverage is not counted).
mkdir "$work/broken"
sed '/^int tern_msg_parse_certificate_verify/,/^}/s/tern_reader_init(&r, body, len);/tern_reader_init(\&r, body, len + 1);/' \
  "$top/src/codec/msg.c" > "$work/broken/msg.c"
if cmp -s "$top/src/codec/msg.c" "$work/broken/msg.c"; then
  negative="could not break msg.c FAILED"
  fail=1
else
  eva broken 0x0020 8 - "$work/broken/msg.c"
  rm -f "$work/broken.cov"
  if [ "$(cat "$work/broken.rc")" -ne 0 ] || verdict broken; then
    negative="a reader past the body was NOT rejected FAILED"
    fail=1
  else
    negative="a reader past the body rejected"
  fi
fi
echo "  negative proof: $negative"

# A statement of msg.c counts as reached if some run reached it. Only
# "code" statements count, not the blocks that hold them (see
# proofs/codec/msg/msg_eva.ml). Each code statement no run reached is
# listed, and each function may have no more of them than
# proofs/codec/msg/unreached.txt allows, with its reason (the table of
# docs/proofs-msg-reach.md).
cat "$work"/*.cov | awk '$5 == "code"' > "$work/all.cov"
reached=$(awk '
  { k = $1 " " $2; if (!(k in r)) { r[k] = 0; t++ } if ($3 && !r[k]) { r[k] = 1; n++ } }
  END { printf "%d/%d (%.1f%%)", n, t, t ? int(1000 * n / t) / 10 : 0 }' "$work/all.cov")
awk '
  { k = $1 " " $2; if ($3) r[k] = 1; else if (!(k in r)) r[k] = 0; s[k] = $0 }
  END { for (k in r) if (!r[k]) print s[k] }' "$work/all.cov" |
  sort -k4,4n -k2,2n > "$work/unreached"
echo "  msg.c code statements no run reached (line, function: statement):"
awk '{ printf "    %d %s:", $4, $1; for (i = 6; i <= NF; i++) printf " %s", $i; print "" }' \
  "$work/unreached"
over=$(awk '
  FNR == NR { if ($0 !~ /^#/ && NF >= 2) allowed[$1] = $2; next }
  { seen[$1]++ }
  END { for (f in seen) if (seen[f] > allowed[f] + 0)
          printf " %s (%d, %d allowed)", f, seen[f], allowed[f] + 0 }' \
  "$top/proofs/codec/msg/unreached.txt" "$work/unreached")
if [ -n "$over" ]; then
  echo "  unreached code not accounted for in proofs/codec/msg/unreached.txt:$over FAILED"
  fail=1
fi
bound() { printf '%s\n' "$runs" | awk -v n="$1" '$1 == n {print $4}'; }
echo "msg EVA: $alarms_total alarms; every body of unknown bytes up to: \
ClientHello $(bound client_hello), ServerHello $(bound server_hello), \
EncryptedExtensions $(bound encrypted_extensions), \
CertificateRequest $(bound certificate_request), \
Certificate $(bound certificate), \
CertificateVerify $(bound certificate_verify), \
CompressedCertificate $(bound compressed_certificate), Finished $(bound finished), \
NewSessionTicket $(bound new_session_ticket), \
KeyUpdate $(bound key_update), EndOfEarlyData $(bound end_of_early_data), \
header $(bound header) bytes; \
each ClientHello extension on data up to $(bound client_hello_extension) bytes; \
pre_shared_key of 1 identity, 1 binder; 7 shaped messages; \
the writers on hand-built input, vectors up to 2^24 bytes; \
msg.c statements reached $reached; negative proof: $negative"
exit $fail
