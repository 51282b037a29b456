#!/bin/sh
# proofs/transport/tls_buf/prove.sh - Frama-C on the byte queues of the TCP
# transport, src/transport/tls_buf.c (split out of src/transport/tls.c so
# that it is provable without the engine): growing a queue, appending to
# it, taking from its front, the padding of a protected record and what a
# refused 0-RTT record counts.
#   1. WP: every contract of tls_buf.h and every run-time-error goal
#      (-wp-rte) of tern_tls_buf_grow, _clamp, _consume, tern_tls_pad_len
#      and tern_tls_refused_early_bytes: the lengths and offsets. Not of
#      tern_tls_buf_reserve and _append (their memcpy / OPENSSL_clear_free
#      take the uint8_t buffer as void *, a cast WP's typed memory model
#      does not follow; EVA covers both).
#   2. EVA on proofs/transport/tls_buf/harness.c: a queue driven as tls.c
#      drives its two (appends of every length 0..64 and across each
#      doubling, reads of several sizes, growth refused when allocation
#      fails and when no size_t can hold it, the queue given back): 0
#      alarms, every assertion and precondition valid (those of memcpy,
#      OPENSSL_cleanse and of the functions' own contracts), no property
#      found false.
#   3. A negative proof: tls_buf.c with the padding clamp one byte too
#      generous (a record of 2^14 + 1 bytes) must fail WP.
# Frama-C sees libcrypto only through proofs/transport/tls_buf/include.
# Prints "tls_buf WP: P/T goals proven; EVA: ...; negative proof: ..." and
# exits non-zero unless everything holds.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inc="-I$top/proofs/transport/tls_buf/include -I$top/include -I$top/src"
fail=0
. "$top/proofs/lib.sh"
why3_ready

# wp FILE LOG [FUNCTIONS]: WP on one copy of tls_buf.c (the length and
# offset functions, or those given), 10 s per goal.
wp() {
  frama-c -wp -wp-rte -wp-prover z3,cvc4 -wp-timeout 10 \
    -wp-par "$(nproc 2>/dev/null || echo 2)" \
    -wp-fct "${3:-tern_tls_buf_grow,tern_tls_buf_clamp,tern_tls_buf_consume,tern_tls_pad_len,tern_tls_refused_early_bytes}" \
    -cpp-extra-args="$inc" "$1" > "$2" 2>&1
}

wp "$top/src/transport/tls_buf.c" "$work/wp.log" &
wp_pid=$!

# -- 2. EVA (beside WP) --------------------------------------------------------
frama-c -eva -eva-no-show-progress -eva-slevel 500 -eva-split-return full \
  -eva-no-alloc-returns-null -cpp-extra-args="$inc" \
  "$top/src/transport/tls_buf.c" "$top/proofs/transport/tls_buf/harness.c" -main main \
  > "$work/eva.log" 2>&1
eva_rc=$?
eva_figures "$work/eva.log"
eva="EVA: ${alarms:-?} alarms, assertions ${a_valid:-?}/${a_total:-?} valid, preconditions ${p_valid:-?}/${p_total:-?} valid, ${cover:-?} statements reached"
if [ "$eva_rc" -ne 0 ] || ! eva_all_valid; then
  eva="$eva FAILED"
  fail=1
  grep -E -A3 'alarm\]|got status (invalid|unknown)' "$work/eva.log" | grep -v postcondition | head -40
  tail -5 "$work/eva.log"
fi

wait $wp_pid
set -- $(wp_goals "$work/wp.log")
proven=${1:-0}
total=${2:-0}
wpline="tls_buf WP: $proven/$total goals proven"
if [ "$total" -eq 0 ] || [ "$proven" -ne "$total" ]; then
  wpline="$wpline FAILED"
  fail=1
  grep -E -A2 '^\[wp\] \[(Failed|Timeout|Unknown)' "$work/wp.log" | head -40
fi

# -- 3. the negative proof -----------------------------------------------------
sed 's/pad = TERN_RECORD_MAX_PLAINTEXT - len;/pad = TERN_RECORD_MAX_PLAINTEXT - len + 1;/' \
  "$top/src/transport/tls_buf.c" > "$work/tls_buf.c"
if cmp -s "$top/src/transport/tls_buf.c" "$work/tls_buf.c"; then
  negative="could not break tls_buf.c FAILED"
  fail=1
else
  wp "$work/tls_buf.c" "$work/broken.log" tern_tls_pad_len
  set -- $(wp_goals "$work/broken.log")
  if [ "${2:-0}" -gt 0 ] && [ "${1:-0}" -lt "$2" ]; then
    negative="a padding one byte past 2^14 rejected ($1/$2 goals)"
  else
    negative="a padding one byte past 2^14 was NOT rejected FAILED"
    fail=1
  fi
fi

echo "$wpline; $eva; negative proof: $negative"
exit $fail
