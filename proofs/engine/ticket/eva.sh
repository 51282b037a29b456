#!/bin/sh
# proofs/engine/ticket/eva.sh - EVA on the parsers of src/engine/ticket.c
# behind the AEAD tag and the check value, ticket.c and src/codec/wire.c as
# they are (nothing copied or changed), driven by
# proofs/engine/ticket/harness.c: tern_ticket_open on tickets of unknown
# bytes of every length 0..TICKET_IN (the decrypted plaintext is unknown
# bytes of the ciphertext's length), tern_session_decode on blobs of
# unknown bytes of every length 0..SESSION_IN, each length its own case.
# The bounds reach past the shortest ticket and blob that parse (133 and
# 59 bytes), so every field and every exit of ticket_plain_read and
# session_read is reached; a longer input only makes the names longer.
# libcrypto is seen through proofs/engine/ticket/include (contracts on
# every buffer it is given), crypto.c's functions through the harness.
#
# Settings: -load-module of proofs/engine/ticket/ticket_eva.ml (built
# here), which splits each call of tern_reader_bytes by its byte count
# (Eva is not relational; see that file) with a split limit above the
# longest field; each allocation its own base.
#
# What must hold: 0 alarms, every assertion of the harness valid (a
# parsed state has a PSK of the suite's hash length, a lifetime of at
# most 7 days, ...; a refused one is wiped), every precondition valid
# (of wire.h at each call, and of the libcrypto stubs: the plaintext
# buffer holds what is decrypted into it, the tag is inside the ticket).
# Postconditions of wire.c are WP's (proofs/codec/wire); EVA's unknown
# ones are not counted.
# Two negative proofs, each a seeded off-by-one in a length, must NOT pass:
# the ticket's plaintext reader one byte longer than what was decrypted,
# and a session blob of 8 bytes (check value only) let through.
#
# Prints "ticket EVA: ..." and exits non-zero unless everything holds.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here="$top/proofs/engine/ticket"
. "$top/proofs/lib.sh"
TICKET_IN=${TICKET_IN:-136}
SESSION_IN=${SESSION_IN:-64}

cp "$here/ticket_eva.ml" "$work/"
if ! ocamlopt -shared -I "$(frama-c -print-lib-path)" \
    -o "$work/ticket_eva.cmxs" "$work/ticket_eva.ml" > "$work/ocamlopt.log" 2>&1; then
  cat "$work/ocamlopt.log"
  echo "ticket EVA: could not build proofs/engine/ticket/ticket_eva.ml FAILED"
  exit 1
fi

# eva LOG TICKET_C TICKET_IN SESSION_IN: one run; sets alarms, a_valid,
# a_total, p_valid, p_total, false_props, cover, rc.
eva() {
  frama-c -c11 -load-module "$work/ticket_eva.cmxs" -eva -eva-no-show-progress \
    -eva-slevel 100 -eva-split-return full -eva-split-limit 3000 \
    -eva-alloc-builtin fresh \
    -cpp-extra-args="-include $here/include/proof_threads.h -I$here/include -I$top/include -I$top/src -DTICKET_IN=$3 -DSESSION_IN=$4" \
    "$2" "$top/src/codec/wire.c" "$here/harness.c" -main main > "$1" 2>&1
  rc=$?
  eva_figures "$1"
  # the harness's assertions (the loop invariant of wire.c's copy loop,
  # also counted as an assertion, is WP's and left aside)
  a_open=$(grep -c '^ *assertion got status' "$1")
  cover=$(sed -n 's/^ *In these functions, \([0-9]*\) statements reached (out of \([0-9]*\)).*/\1\/\2/p' "$1" | tail -1)
}
# proven: the last run proved everything.
proven() {
  [ "$rc" -eq 0 ] && [ "${alarms:-?}" = 0 ] && [ -n "$a_total" ] && [ "$a_open" = 0 ] &&
    [ -n "$p_total" ] && [ "$p_valid" = "$p_total" ] && [ "$false_active" = 0 ]
}

fail=0
eva "$work/eva.log" "$top/src/engine/ticket.c" "$TICKET_IN" "$SESSION_IN"
h_total=$(grep -c '/\*@ assert' "$here/harness.c")
line="ticket EVA: ${alarms:-?} alarms, harness assertions $((h_total - a_open))/$h_total valid, preconditions ${p_valid:-?}/${p_total:-?} valid, ${cover:-?} statements reached; tickets 0..$TICKET_IN bytes, session blobs 0..$SESSION_IN bytes"
if ! proven; then
  line="$line FAILED"
  fail=1
  grep -E -A3 'alarm\]|got status (invalid|unknown)' "$work/eva.log" |
    grep -v 'Behavior may be inactive\|postcondition got status unknown\|loop invariant' | head -40
  tail -5 "$work/eva.log"
fi

# negative NAME SED WHAT: ticket.c broken by SED (small bounds) must fail.
negative() {
  sed "$2" "$top/src/engine/ticket.c" > "$work/$1.c"
  if cmp -s "$top/src/engine/ticket.c" "$work/$1.c"; then
    neg="${neg}could not seed $3 FAILED; "
    fail=1
    return
  fi
  eva "$work/$1.log" "$work/$1.c" 60 16
  if [ "$rc" -eq 0 ] && ! proven; then
    neg="${neg}$3 rejected (${alarms:-?} alarms, preconditions ${p_valid:-?}/${p_total:-?}); "
  else
    neg="${neg}$3 was NOT rejected FAILED; "
    fail=1
  fi
}
neg=""
negative plain 's/tern_reader_init(&r, plain, ct_len);/tern_reader_init(\&r, plain, ct_len + 1);/' \
  "a plaintext reader one byte past the plaintext"
negative blob 's/if (len < 1 + SESSION_CHECK_LEN || len > SESSION_MAX_LEN)/if (len < SESSION_CHECK_LEN || len > SESSION_MAX_LEN)/' \
  "a session blob one byte too short let through"
echo "$line; negative proofs: ${neg%; }"
exit $fail
