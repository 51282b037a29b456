#!/bin/sh
# proofs/crypto/mlkem_poly/wp.sh - WP on the contracts of ML-KEM's
# arithmetic, src/crypto/mlkem_poly.c as it is: each function's requires
# (the coefficient range it needs) and ensures (the range it
# guarantees), and every run-time-error goal (-wp-rte with
# -warn-signed-downcast: no int16/int32 overflow, no narrowing out of
# range, every index in bounds) of the functions listed in FUNCTIONS.
#
# What WP proves: Montgomery's result in [-q, q] for |a| <= q 2^15,
# Barrett's in [-(q-1)/2, (q-1)/2] for every int16, the Montgomery product
# by a precomputed constant below q for any int16 when the constant is at
# most (q-1)/2, and through them the output bounds of the NTT (centred),
# the inverse NTT and tomont (|c| < q), poly_reduce (centred), add and
# sub (no wrap-around for operands below 2^14), with each call's
# precondition. Trusted: ACSL's meaning of >> as floor division for
# negative values (the axiomatic in mlkem_poly.c). Not WP's: the bodies of
# the NTT layers, the bit packing and sampling (EVA's, eva.sh), and the
# contract of low16 (EVA's: the provers do not follow its masks).
#
# A negative proof: the inverse NTT's final scale replaced by a factor
# above (q-1)/2 (3000, a seeded bound error: the product is then no longer
# below q for every input) must NOT verify.
#
# Prints "mlkem_poly WP: P/T goals proven; negative proof: rejected (N
# goals unproven)" and exits non-zero unless every goal is proven and the
# negative proof fails.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
FUNCTIONS=montgomery_reduce,barrett_reduce,fqmul_pre,mlkem_montgomery_reduce,mlkem_barrett_reduce,mlkem_poly_reduce,mlkem_poly_ntt,mlkem_poly_invntt_tomont,mlkem_poly_tomont,mlkem_poly_add,mlkem_poly_sub

. "$top/proofs/lib.sh"
why3_ready

# wp FILE LOG FUNCTIONS: prints "proven total"
wp() {
  frama-c -wp -wp-rte -warn-signed-downcast -wp-prover z3,cvc4 -wp-timeout 20 \
    -wp-par "$(nproc 2>/dev/null || echo 2)" -wp-fct "$3" \
    -cpp-extra-args="-I$top/src -I$top/include" "$1" >"$2" 2>&1
  wp_goals "$2"
}

fail=0
sed 's/^#define MONT_R2_128 1441 /#define MONT_R2_128 3000 /' \
  "$top/src/crypto/mlkem_poly.c" >"$work/mlkem_poly_neg.c"
if cmp -s "$top/src/crypto/mlkem_poly.c" "$work/mlkem_poly_neg.c"; then
  echo "mlkem_poly WP: could not seed the negative proof FAILED"
  exit 1
fi
set -- $(wp "$top/src/crypto/mlkem_poly.c" "$work/wp.log" "$FUNCTIONS")
p=${1:-0} t=${2:-0}
# the negative proof: only the function the seeded error is in
set -- $(wp "$work/mlkem_poly_neg.c" "$work/neg.log" mlkem_poly_invntt_tomont)
neg_p=${1:-0} neg_t=${2:-0}
if [ "$t" -gt 0 ] && [ "$p" = "$t" ]; then
  result="mlkem_poly WP: $p/$t goals proven"
else
  grep -B1 -A3 'Failed\]\|Unknown\]\|Timeout' "$work/wp.log" | head -40
  result="mlkem_poly WP: $p/$t goals proven FAILED"
  fail=1
fi
if [ "$neg_t" -gt 0 ] && [ "$neg_p" -lt "$neg_t" ]; then
  result="$result; negative proof: rejected ($((neg_t - neg_p)) goals unproven)"
else
  result="$result; negative proof: NOT rejected ($neg_p/$neg_t) FAILED"
  fail=1
fi
echo "$result"
exit $fail
