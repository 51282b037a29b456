#!/bin/sh
# proofs/codec/record/prove.sh - Frama-C on the TLS record framing,
# src/codec/record.c (header check, reassembler, TLSInnerPlaintext scan,
# header writer):
#   1. WP: every contract of record.h and record.c and every run-time-error
#      goal (-wp-rte) of every function but tern_record_write_plain and
#      tern_record_reader_wipe (their memmove / OPENSSL_cleanse take the
#      uint8_t buffer as char * / unsigned char *, a cast WP's typed memory
#      model does not follow; EVA covers both). The reader's invariant
#      (record_reader_ok) holds after every call: what is held never passes
#      what the record needs, nor the buffer; a record handed out is whole,
#      of a known type and within its type's limit; *consumed <= in_len.
#   2. EVA on proofs/codec/record/harness.c for tern_record_write_plain
#      (every fill level and fragment length of a 32-byte buffer, the
#      fragment apart or already in place, unknown types and versions) and
#      tern_record_reader_wipe (a reader of unknown bytes): 0 alarms, every
#      assertion and precondition valid.
#   3. A negative proof: record.c with the reassembler taking one byte more
#      than the record needs must fail WP.
# Frama-C sees libcrypto only through proofs/codec/record/include (the
# contract of OPENSSL_cleanse).
# Prints "record WP: P/T goals proven; EVA: ...; negative proof: ..." and
# exits non-zero unless everything holds.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inc="-I$top/proofs/codec/record/include -I$top/include -I$top/src"
fail=0
. "$top/proofs/lib.sh"
why3_ready

# wp FILE LOG [FUNCTIONS]: WP on one copy of record.c (every function
# but tern_record_write_plain and tern_record_reader_wipe, or those given,
# with a short timeout: a goal that must fail, fails fast).
wp() {
  if [ -n "${3:-}" ]; then
    sel="-wp-fct $3 -wp-timeout 10"
  else
    sel="-wp-skip-fct tern_record_write_plain,tern_record_reader_wipe -wp-timeout 60"
  fi
  # shellcheck disable=SC2086
  frama-c -wp -wp-rte -wp-prover z3,cvc4 \
    -wp-par "$(nproc 2>/dev/null || echo 2)" $sel \
    -cpp-extra-args="$inc" "$1" > "$2" 2>&1
}

wp "$top/src/codec/record.c" "$work/wp.log" &
wp_pid=$!

# -- 2. EVA (beside WP) --------------------------------------------------------
frama-c -eva -eva-no-show-progress -eva-slevel 20000 -eva-split-return full \
  -cpp-extra-args="$inc" \
  "$top/src/codec/record.c" "$top/proofs/codec/record/harness.c" -main main \
  > "$work/eva.log" 2>&1
eva_rc=$?
eva_figures "$work/eva.log"
eva="EVA (writer, wipe): ${alarms:-?} alarms, assertions ${a_valid:-?}/${a_total:-?} valid, preconditions ${p_valid:-?}/${p_total:-?} valid"
if [ "$eva_rc" -ne 0 ] || ! eva_all_valid; then
  eva="$eva FAILED"
  fail=1
  grep -E -A3 'alarm\]|got status (invalid|unknown)' "$work/eva.log" | head -40
  tail -5 "$work/eva.log"
fi

wait $wp_pid
set -- $(wp_goals "$work/wp.log")
proven=${1:-0}
total=${2:-0}
wpline="record WP: $proven/$total goals proven"
if [ "$total" -eq 0 ] || [ "$proven" -ne "$total" ]; then
  wpline="$wpline FAILED"
  fail=1
  grep -E -A2 '^\[wp\] \[(Failed|Timeout|Unknown)' "$work/wp.log" | head -40
fi

# -- 3. the negative proof -----------------------------------------------------
sed 's/size_t take = r->need - r->have;/size_t take = r->need - r->have + 1;/' \
  "$top/src/codec/record.c" > "$work/record.c"
if cmp -s "$top/src/codec/record.c" "$work/record.c"; then
  negative="could not break record.c FAILED"
  fail=1
else
  wp "$work/record.c" "$work/broken.log" tern_record_read
  set -- $(wp_goals "$work/broken.log")
  if [ "${2:-0}" -gt 0 ] && [ "${1:-0}" -lt "$2" ]; then
    negative="a reassembler taking one byte past the record rejected ($1/$2 goals)"
  else
    negative="a reassembler taking one byte past the record was NOT rejected FAILED"
    fail=1
  fi
fi

echo "$wpline; $eva; negative proof: $negative"
exit $fail
