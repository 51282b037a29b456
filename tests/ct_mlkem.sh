#!/bin/sh
# ct_mlkem.sh CLEAN LEAKY [OBJECT...] - ML-KEM's constant-time checks.
#  1. CLEAN (test_ct_mlkem over src/crypto/mlkem.c built with
#     TERN_CT_TESTING) under valgrind memcheck with every secret marked
#     undefined: memcheck must report 0 errors.
#  2. LEAKY (the same with TERN_CT_LEAK: Decaps branches on the
#     re-encryption comparison): memcheck must report that branch in
#     mlkem.c's decaps (behind tern_mlkem_decaps and _decaps_kept), or the
#     check could not fail.
#  3. Each OBJECT (the library's ML-KEM objects) disassembled with objdump:
#     no div or idiv instruction (KyberSlash; memcheck cannot see timing).
# Skips (77) without valgrind or objdump.
set -u
clean=$1 leaky=$2
shift 2
command -v valgrind >/dev/null 2>&1 || { echo "skip: no valgrind"; exit 77; }
command -v objdump >/dev/null 2>&1 || { echo "skip: no objdump"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
vg="valgrind --tool=memcheck --error-exitcode=99 --track-origins=yes --leak-check=no"

$vg "$clean" >"$tmp/clean.out" 2>"$tmp/clean.err"
rc=$?
errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$tmp/clean.err" | tail -1)
cat "$tmp/clean.out"
if [ "$rc" -eq 0 ] && [ "$errors" = 0 ] && grep -q "all .* checks passed" "$tmp/clean.out"; then
  echo "ok   constant time: memcheck reports $errors errors over KeyGen/Encaps/Decaps"
else
  echo "FAIL constant time: exit $rc, memcheck errors '${errors:-?}'"
  sed 's/^/     | /' "$tmp/clean.err" | head -60
  fail=1
fi

$vg "$leaky" >"$tmp/leaky.out" 2>"$tmp/leaky.err"
rc=$?
errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$tmp/leaky.err" | tail -1)
if [ "$rc" -eq 99 ] && grep -q "depends on uninitialised value" "$tmp/leaky.err" &&
   grep -qE "at 0x[0-9A-F]+: decaps \(mlkem\.c" "$tmp/leaky.err"; then
  echo "ok   negative control: the leaky build's branch is caught ($errors errors, in Decaps)"
else
  echo "FAIL negative control: the leaky build passed memcheck (exit $rc, errors '${errors:-?}')"
  sed 's/^/     | /' "$tmp/leaky.err" | head -40
  fail=1
fi

for obj in "$@"; do
  n=$(objdump -d --no-show-raw-insn "$obj" | grep -cE '^\s+[0-9a-f]+:\s+i?div')
  if [ "$n" -eq 0 ]; then
    echo "ok   no div/idiv in $(basename "$obj")"
  else
    echo "FAIL $n div/idiv instructions in $(basename "$obj"):"
    objdump -d --no-show-raw-insn "$obj" | grep -E '^\s+[0-9a-f]+:\s+i?div' | head
    fail=1
  fi
done
exit $fail
