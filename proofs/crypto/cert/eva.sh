#!/bin/sh
# proofs/crypto/cert/eva.sh - EVA on the byte handling of src/crypto/cert.c,
# cert.c as it is (included by the harness, nothing copied or changed),
# driven by proofs/crypto/cert/harness.c; libcrypto is the model of
# proofs/crypto/cert/include/openssl/x509.h (a contract on every buffer and
# object each call is given, both outcomes of every answer).
# Covered: tern_cert_chain_from_objects / _load_files / _signed_within /
# _free (chain_adopt, cache_der, signed_with, read_certs, read_key),
# same_chain on remembered lists of unknown bytes of every length
# 0..STORED_IN against chains of 0..3 certificates of 1..3 bytes each,
# verified_add (asn1_seconds, days_from_civil on any struct tm of any
# year), tern_trust_new / _load / _free. Not driven: the verify path
# (tern_cert_verify_peer, its caches, the decoder-free leaf parse and its
# SHA-1 provider, declared without contracts in include/openssl/core.h).
#
# Settings: return states split by status for the functions whose status
# says what they wrote (-eva-split-return-function), a partition by the
# count of certificates read from a PEM file (the model's proof_pem_read),
# each allocation its own base; the drivers merge their cases after each
# call (split/merge annotations, slevel 0), same_chain keeps every case.
#
# What must hold: 0 alarms, every assertion of the harness and every
# precondition valid, nothing false.
# Negative proof: same_chain with an off-by-one in the room it checks for
# a 3-byte length (v->len - off < 2) must NOT pass.
#
# Prints "cert EVA: ..." and exits non-zero unless everything holds.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here="$top/proofs/crypto/cert"
. "$top/proofs/lib.sh"
STORED_IN=${STORED_IN:-14}

SPLITS=asn1_seconds:0,ASN1_TIME_to_tm:1,tern_cert_chain_from_objects:0,chain_adopt:0
SPLITS=$SPLITS,cache_der:0,parse_untrusted:0,rememberable:0,tern_trust_from_store:0
SPLITS=$SPLITS,tern_trust_new:0,tern_trust_ca_names:0,X509_STORE_lock:0,X509_verify_cert:1
SPLITS=$SPLITS,tern_cert_verify_peer:full,tern_cert_chain_load_files:0,read_certs:0
SPLITS=$SPLITS,sk_X509_push:0

# eva LOG SRC_DIR MAIN: one run, cert.c taken from SRC_DIR/crypto/cert.c;
# sets alarms, a_valid, a_total, p_valid, p_total, false_props, cover, rc.
eva() {
  frama-c -c11 -eva -eva-no-show-progress -eva-slevel 300 \
    -eva-alloc-builtin fresh -eva-split-return-function "$SPLITS" \
    -eva-partition-value proof_pem_read -eva-interprocedural-splits \
    -eva-slevel-function drive_ours:0,same_chain:100000,drive_same_chain:100000 \
    -cpp-extra-args="-I$here/include -I$2 -I$top/include -I$top/src -DSTORED_IN=$STORED_IN" \
    "$here/harness.c" -main "$3" > "$1" 2>&1
  rc=$?
  eva_figures "$1"
}

fail=0
eva "$work/eva.log" "$top/src" main
line="cert EVA: ${alarms:-?} alarms, assertions ${a_valid:-?}/${a_total:-?} valid, preconditions ${p_valid:-?}/${p_total:-?} valid, ${cover:-?} statements reached; remembered lists 0..$STORED_IN bytes"
if ! { [ "$rc" -eq 0 ] && eva_all_valid; }; then
  line="$line FAILED"
  fail=1
  grep -a -E -A3 'alarm\]|got status (invalid|unknown)' "$work/eva.log" | head -40
  tail -5 "$work/eva.log"
fi

# The negative proof: same_chain reading a 3-byte length with 2 bytes left.
mkdir -p "$work/broken/crypto"
sed 's/if (v->len - off < 3) return 0;/if (v->len - off < 2) return 0;/' \
  "$top/src/crypto/cert.c" > "$work/broken/crypto/cert.c"
if cmp -s "$top/src/crypto/cert.c" "$work/broken/crypto/cert.c"; then
  neg="could not seed the off-by-one FAILED"
  fail=1
else
  eva "$work/neg.log" "$work/broken" drive_same_chain
  if [ "$rc" -eq 0 ] && ! eva_all_valid; then
    neg="same_chain with one byte too few for a length rejected (${alarms:-?} alarms, preconditions ${p_valid:-?}/${p_total:-?})"
  else
    neg="same_chain with one byte too few for a length was NOT rejected FAILED"
    fail=1
  fi
fi
echo "$line; negative proof: $neg"
exit $fail
