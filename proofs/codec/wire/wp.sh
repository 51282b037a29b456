#!/bin/sh
# proofs/codec/wire/wp.sh - Frama-C WP on the bounded reader/writer (src/codec/wire.c):
# every ACSL contract of wire.h and every run-time-error goal (-wp-rte),
# discharged by Qed, Z3 and CVC4 through why3.
# Prints "wire WP: P/T goals proven" and fails unless P == T.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

. "$top/proofs/lib.sh"
why3_ready

frama-c -wp -wp-rte -wp-prover z3,cvc4 -wp-timeout 60 \
  -wp-par "$(nproc 2>/dev/null || echo 2)" \
  -cpp-extra-args="-I$top/include -I$top/src" \
  "$top/src/codec/wire.c" > "$log" 2>&1
status=$?

line=$(wp_goals "$log")
set -- $line
proven=${1:-0}
total=${2:-0}
grep -E 'Timeout|Unknown|Failed|Error' "$log" | grep -v '^\[wp\] Proved' | head -20
echo "wire WP: $proven/$total goals proven"
if [ $status -ne 0 ] || [ "$total" -eq 0 ] || [ "$proven" -ne "$total" ]; then
  exit 1
fi
