#!/bin/sh
# proofs/crypto/cert/eva.sh - EVA on the byte handling of src/crypto/cert.c,
# cert.c as it is (included by the harness, nothing copied or changed),
# driven by proofs/crypto/cert/harness.c; libcrypto is the model of
# proofs/crypto/cert/include/openssl/x509.h and core.h (a contract on every
# buffer and object each call is given, both outcomes of every answer).
# Four runs, each its own -main and settings:
#  main: tern_cert_chain_from_objects / _load_files / _signed_within /
#    _free (chain_adopt, cache_der, signed_with, read_certs, read_key),
#    same_chain on remembered lists of unknown bytes of every length
#    0..STORED_IN against chains of 0..3 certificates of 1..3 bytes each,
#    verified_add (asn1_seconds, days_from_civil on any struct tm of any
#    year), tern_trust_new / _load / _free.
#  names: tern_trust_ca_names on stores of 0..3 objects, names of any
#    length (the first) and at each boundary around the 65535-byte limit.
#  leaf: the decoder-free leaf parse (leaf_setup, parse_leaf_fast,
#    spki_keys) on unknown certificates, and its SHA-1 provider.
#  verify: tern_cert_verify_peer once on a trust (the parse cache and the
#    verified-chain cache filled, the parse cache hit within a chain),
#    chains of 1..3 certificates, stores of any settings, then
#    tern_trust_free (drive_verify; two rounds did not finish in 15 min).
#
# Settings: return states split by status for the functions whose status
# says what they wrote (-eva-split-return-function), a partition by the
# count of certificates read from a PEM file (the model's proof_pem_read);
# main and leaf: each allocation its own base (fresh); main: the drivers
# merge their cases after each call (split/merge annotations, slevel 0),
# same_chain keeps every case; names: one base per allocation site and
# call stack (by_stack: its cases would make thousands of fresh 64 KiB
# bases), every case kept in tern_trust_ca_names; leaf: every case kept
# in the leaf parse, and one partition per set of curves leaf_setup made
# keys for (the harness's EVP_MD_fetch, see there); verify: the leaf's
# settings, every case kept in tern_cert_verify_peer, and one partition
# per sequence of stores into the trust's caches (the harness's
# pthread_mutex_unlock, see there).
#
# What must hold in each run: 0 alarms, every assertion of the harness and
# every precondition valid, nothing false.
# Negative proofs, each a seeded off-by-one that must NOT pass its run:
# same_chain checking for 2 bytes of room before a 3-byte length;
# tern_trust_ca_names letting a name fill 65536 bytes; spki_keys handing
# EVP_PKEY_set1_encoded_public_key one byte past the key; cache_add
# copying one byte less of a certificate than cache_find compares.
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
# the leaf parse's run: the outcomes its callers test, split
LEAF_SPLITS=d2i_X509:0,spki_keys:0,i2d_ASN1_OBJECT:full,i2d_X509_PUBKEY:full
LEAF_SPLITS=$LEAF_SPLITS,parse_leaf_fast:0,legacy_params:0,provider_params:0
LEAF_SPLITS=$LEAF_SPLITS,sha1_final:0,EVP_DigestFinal_ex:0

# eva LOG SRC_DIR MAIN ALLOC SPLITS SLEVELS: one run, cert.c taken from
# SRC_DIR/crypto/cert.c; sets alarms, a_valid, a_total, p_valid, p_total,
# false_props, cover, rc.
eva() {
  frama-c -c11 -eva -eva-no-show-progress -eva-msg-key=-final-states -eva-slevel 300 \
    -eva-alloc-builtin "$4" -eva-split-return-function "$5" \
    -eva-partition-value proof_pem_read -eva-interprocedural-splits \
    -eva-slevel-function "$6" \
    -cpp-extra-args="-I$here/include -I$2 -I$top/include -I$top/src -DSTORED_IN=$STORED_IN" \
    "$here/harness.c" -main "$3" > "$1" 2>&1
  rc=$?
  eva_figures "$1"
}

# run NAME MAIN ALLOC SPLITS SLEVELS: a run on src/ that must hold; adds
# its figures to the line.
fail=0
line="cert EVA:"
run() {
  eva "$work/$1.log" "$top/src" "$2" "$3" "$4" "$5"
  line="$line $1: ${alarms:-?} alarms, assertions ${a_valid:-?}/${a_total:-?} valid, preconditions ${p_valid:-?}/${p_total:-?} valid, ${cover:-?} statements reached;"
  if ! { [ "$rc" -eq 0 ] && eva_all_valid; }; then
    line="$line FAILED;"
    fail=1
    grep -a -E -A3 'alarm\]|got status (invalid|unknown)' "$work/$1.log" | head -40
    tail -5 "$work/$1.log"
  fi
}

# negative NAME MAIN ALLOC SPLITS SLEVELS SED WHAT: cert.c broken by SED
# must NOT pass the run of MAIN.
neg=""
negative() {
  mkdir -p "$work/$1/crypto"
  sed "$6" "$top/src/crypto/cert.c" > "$work/$1/crypto/cert.c"
  if cmp -s "$top/src/crypto/cert.c" "$work/$1/crypto/cert.c"; then
    neg="$neg could not seed $7 FAILED;"
    fail=1
    return
  fi
  eva "$work/$1.log" "$work/$1" "$2" "$3" "$4" "$5"
  if [ "$rc" -eq 0 ] && ! eva_all_valid; then
    neg="$neg $7 rejected (${alarms:-?} alarms, preconditions ${p_valid:-?}/${p_total:-?});"
  else
    neg="$neg $7 was NOT rejected FAILED;"
    fail=1
  fi
}

MAIN_SL=drive_ours:0,same_chain:100000,drive_same_chain:100000
NAMES_SL=$MAIN_SL,tern_trust_ca_names:100000,drive_ca_names:100000
LEAF_SL=leaf_setup:100000,legacy_params:100000,provider_params:100000,spki_keys:100000
LEAF_SL=$LEAF_SL,parse_leaf_fast:100000,drive_leaf:100000,drive_sha1:100000
VERIFY_SL=$MAIN_SL,$LEAF_SL,tern_cert_verify_peer:100000,drive_verify:100000

run main main fresh "$SPLITS" "$MAIN_SL"
run names drive_ca_names by_stack "$SPLITS" "$NAMES_SL"
run leaf drive_leaf_all fresh "$SPLITS,$LEAF_SPLITS" "$LEAF_SL"
run verify drive_verify fresh "$SPLITS,$LEAF_SPLITS" "$VERIFY_SL"

# The negative proofs.
negative broken drive_same_chain fresh "$SPLITS" "$MAIN_SL" \
  's/if (v->len - off < 3) return 0;/if (v->len - off < 2) return 0;/' \
  'same_chain with one byte too few for a length'
negative names drive_ca_names by_stack "$SPLITS" "$NAMES_SL" \
  's/if (used + 2 + (size_t)n > 65535) {/if (used + 2 + (size_t)n > 65536) {/' \
  'tern_trust_ca_names with room for one byte too many'
negative leaf drive_leaf_all fresh "$SPLITS,$LEAF_SPLITS" "$LEAF_SL" \
  's/EVP_PKEY_set1_encoded_public_key(pk, start, (size_t)pub_len)/EVP_PKEY_set1_encoded_public_key(pk, start, (size_t)pub_len + 1)/' \
  'spki_keys handing on one byte past the key'
negative verify drive_verify fresh "$SPLITS,$LEAF_SPLITS" "$VERIFY_SL" \
  's/copy = OPENSSL_memdup(der, len);/copy = OPENSSL_memdup(der, len - 1);/' \
  'cache_add keeping one byte too few'

echo "${line%;} (remembered lists 0..$STORED_IN bytes); negative proofs:${neg%;}"
exit $fail
