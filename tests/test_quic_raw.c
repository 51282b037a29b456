/*
 * test_quic_raw.c - the parts of tern.h a QUIC stack with its own key
 * schedule needs (the ngtcp2 backend): keys from raw key material
 * (tern_quic_key_new_raw), AEAD with the caller's nonce
 * (tern_quic_seal_nonce / tern_quic_open_nonce) and HKDF by cipher suite
 * (tern_suite_hkdf_*). Checked against RFC 5869 §A.1 and RFC 9001 §A.1,
 * and against the secret-based calls they must agree with byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tern.h>

#include "check.h"

/* RFC 5869 §A.1 (SHA-256) through the suite-keyed HKDF. */
static void test_hkdf_rfc5869(void) {
  uint8_t ikm[22], salt[13], info[10], prk[48], okm[42], want[64];
  memset(ikm, 0x0b, sizeof ikm);
  for (int i = 0; i < 13; i++) salt[i] = (uint8_t)i;
  for (int i = 0; i < 10; i++) info[i] = (uint8_t)(0xf0 + i);
  CHECK_EQ_INT(tern_suite_hkdf_extract(TERN_TLS_AES_128_GCM_SHA256, salt, sizeof salt,
                                       ikm, sizeof ikm, prk), TERN_OK);
  unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", want, sizeof want);
  CHECK_MEM(prk, want, 32);
  CHECK_EQ_INT(tern_suite_hkdf_expand(TERN_TLS_AES_128_GCM_SHA256, prk, 32, info,
                                      sizeof info, okm, sizeof okm), TERN_OK);
  unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        "34007208d5b887185865", want, sizeof want);
  CHECK_MEM(okm, want, 42);
  /* ChaCha20's suite hashes with SHA-256 too; AES-256's with SHA-384 */
  uint8_t prk2[48];
  CHECK_EQ_INT(tern_suite_hkdf_extract(TERN_TLS_CHACHA20_POLY1305_SHA256, salt,
                                       sizeof salt, ikm, sizeof ikm, prk2), TERN_OK);
  CHECK_MEM(prk2, prk, 32);
  CHECK_EQ_INT(tern_suite_hkdf_extract(TERN_TLS_AES_256_GCM_SHA384, salt, sizeof salt,
                                       ikm, sizeof ikm, prk2), TERN_OK);
  CHECK(memcmp(prk2, prk, 32) != 0);
  /* refusals */
  CHECK_EQ_INT(tern_suite_hkdf_extract(0x13ff, salt, 13, ikm, 22, prk),
               TERN_ERR_UNSUPPORTED);
  CHECK_EQ_INT(tern_suite_hkdf_extract(TERN_TLS_AES_128_GCM_SHA256, NULL, 3, ikm, 22,
                                       prk), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_suite_hkdf_expand(TERN_TLS_AES_128_GCM_SHA256, prk, 32, info, 10,
                                      okm, 255 * 32 + 1), TERN_ERR_INVALID_ARG);
}

/* RFC 9001 §A.1: the Initial secrets by hand with HKDF-Extract and
   HKDF-Expand-Label, equal to tern_quic_initial_secrets. */
static void test_expand_label_rfc9001(void) {
  static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
                                      0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                                      0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
  uint8_t dcid[8], initial[32], client[32], want[32], cs[32], ss[32];
  unhex("8394c8f03e515708", dcid, sizeof dcid);
  CHECK_EQ_INT(tern_suite_hkdf_extract(TERN_TLS_AES_128_GCM_SHA256, salt_v1, 20, dcid,
                                       8, initial), TERN_OK);
  unhex("7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44", want, sizeof want);
  CHECK_MEM(initial, want, 32);
  CHECK_EQ_INT(tern_suite_hkdf_expand_label(TERN_TLS_AES_128_GCM_SHA256, initial, 32,
                                            (const uint8_t *)"client in", 9, NULL, 0,
                                            client, 32), TERN_OK);
  unhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea", want, sizeof want);
  CHECK_MEM(client, want, 32);
  CHECK_EQ_INT(tern_quic_initial_secrets(TERN_QUIC_V1, dcid, 8, cs, ss), TERN_OK);
  CHECK_MEM(client, cs, 32);
  /* "quic key" of the client Initial secret: RFC 9001 §A.1 */
  uint8_t key[16];
  CHECK_EQ_INT(tern_suite_hkdf_expand_label(TERN_TLS_AES_128_GCM_SHA256, cs, 32,
                                            (const uint8_t *)"quic key", 8, NULL, 0,
                                            key, 16), TERN_OK);
  unhex("1f369613dd76d5467730efcbe3b1a22d", want, sizeof want);
  CHECK_MEM(key, want, 16);
  CHECK_EQ_INT(tern_suite_hkdf_expand_label(TERN_TLS_AES_128_GCM_SHA256, cs, 32,
                                            (const uint8_t *)"a\0b", 3, NULL, 0, key, 16),
               TERN_ERR_INVALID_ARG);
  uint8_t long_label[250];
  memset(long_label, 'x', sizeof long_label);
  CHECK_EQ_INT(tern_suite_hkdf_expand_label(TERN_TLS_AES_128_GCM_SHA256, cs, 32,
                                            long_label, 250, NULL, 0, key, 16),
               TERN_ERR_INVALID_ARG);
}

/* A raw key made from tern_quic_derive_keys' output protects exactly as
   the secret-based key, for each suite; the _nonce calls with iv ^ pn
   equal the pn calls. */
static void test_raw_equals_derived(uint16_t suite, size_t secret_len) {
  uint8_t secret[48], key[32], iv[12], hp[32], nonce[12];
  size_t key_len, hp_len;
  for (size_t i = 0; i < secret_len; i++) secret[i] = (uint8_t)(i * 7 + suite);
  CHECK_EQ_INT(tern_quic_derive_keys(TERN_QUIC_V1, suite, secret, secret_len, key,
                                     &key_len, iv, hp, &hp_len), TERN_OK);
  tern_quic_key *derived = tern_quic_key_new(TERN_QUIC_V1, suite, secret, secret_len);
  tern_quic_key *raw = tern_quic_key_new_raw(suite, key, key_len, iv, hp, hp_len);
  tern_quic_key *aead_only = tern_quic_key_new_raw(suite, key, key_len, NULL, NULL, 0);
  CHECK(derived != NULL && raw != NULL && aead_only != NULL);
  if (!derived || !raw || !aead_only) goto out;

  /* whole packets: short header, 2-byte pn 0x1234 */
  uint8_t a[200], b[200];
  size_t al, bl;
  a[0] = 0x41;
  a[1] = 0x12;
  a[2] = 0x34;
  for (int i = 3; i < 80; i++) a[i] = (uint8_t)i;
  memcpy(b, a, 80);
  CHECK_EQ_INT(tern_quic_protect(derived, 0x1234, a, 3, 77, sizeof a, &al), TERN_OK);
  CHECK_EQ_INT(tern_quic_protect(raw, 0x1234, b, 3, 77, sizeof b, &bl), TERN_OK);
  CHECK_EQ_INT(al, bl);
  CHECK_MEM(a, b, al);

  /* AEAD with nonce = iv ^ pn (RFC 9001 §5.3) equals the pn form */
  uint64_t pn = 0x0123456789ULL;
  uint8_t pt[64], c1[80], c2[80], c3[80], back[64];
  for (int i = 0; i < 64; i++) pt[i] = (uint8_t)(0xa0 ^ i);
  memcpy(nonce, iv, 12);
  for (int i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
  CHECK_EQ_INT(tern_quic_seal(derived, pn, a, 5, pt, 64, c1), TERN_OK);
  CHECK_EQ_INT(tern_quic_seal_nonce(raw, nonce, 12, a, 5, pt, 64, c2), TERN_OK);
  CHECK_EQ_INT(tern_quic_seal_nonce(aead_only, nonce, 12, a, 5, pt, 64, c3), TERN_OK);
  CHECK_MEM(c1, c2, 80);
  CHECK_MEM(c1, c3, 80);
  CHECK_EQ_INT(tern_quic_open_nonce(aead_only, nonce, 12, a, 5, c1, 80, back), TERN_OK);
  CHECK_MEM(back, pt, 64);
  CHECK_EQ_INT(tern_quic_open(derived, pn, a, 5, c3, 80, back), TERN_OK);
  CHECK_MEM(back, pt, 64);
  /* in place */
  memcpy(c3, pt, 64);
  CHECK_EQ_INT(tern_quic_seal_nonce(aead_only, nonce, 12, a, 5, c3, 64, c3), TERN_OK);
  CHECK_MEM(c3, c1, 80);
  CHECK_EQ_INT(tern_quic_open_nonce(raw, nonce, 12, a, 5, c3, 80, c3), TERN_OK);
  CHECK_MEM(c3, pt, 64);
  /* a wrong nonce, a flipped bit: refused, output zeroed */
  nonce[0] ^= 1;
  memset(back, 0x55, sizeof back);
  CHECK_EQ_INT(tern_quic_open_nonce(raw, nonce, 12, a, 5, c1, 80, back), TERN_ERR_DECRYPT);
  nonce[0] ^= 1;
  for (int i = 0; i < 64; i++) CHECK_EQ_INT(back[i], 0);
  c1[10] ^= 0x80;
  CHECK_EQ_INT(tern_quic_open_nonce(raw, nonce, 12, a, 5, c1, 80, back), TERN_ERR_DECRYPT);
  c1[10] ^= 0x80;
  /* argument checks */
  CHECK_EQ_INT(tern_quic_seal_nonce(raw, nonce, 11, a, 5, pt, 64, c2), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_seal_nonce(raw, NULL, 12, a, 5, pt, 64, c2), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_open_nonce(raw, nonce, 12, a, 5, c1, 15, back), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_open_nonce(NULL, nonce, 12, a, 5, c1, 80, back),
               TERN_ERR_INVALID_ARG);

  /* the same header-protection mask; none without hp */
  uint8_t sample[16], m1[5], m2[5];
  memset(sample, 0x3c, sizeof sample);
  CHECK_EQ_INT(tern_quic_hp_mask(derived, sample, m1), TERN_OK);
  CHECK_EQ_INT(tern_quic_hp_mask(raw, sample, m2), TERN_OK);
  CHECK_MEM(m1, m2, 5);
  CHECK_EQ_INT(tern_quic_hp_mask(aead_only, sample, m2), TERN_ERR_STATE);
  memcpy(b, a, 80);
  b[0] = 0x41;
  b[1] = 0x12;
  b[2] = 0x34;
  CHECK_EQ_INT(tern_quic_protect(aead_only, 0x1234, b, 3, 77, sizeof b, &bl), TERN_ERR_STATE);
  tern_quic_packet_info info;
  CHECK(tern_quic_unprotect(aead_only, a, al, 0, UINT64_MAX, b, &info) < 0);
  CHECK(tern_quic_peek_key_phase(aead_only, a, al, 0) < 0);
  /* a raw key has no version: no key update */
  CHECK(tern_quic_key_update(raw, secret, secret_len) == NULL);
out:
  tern_quic_key_free(derived);
  tern_quic_key_free(raw);
  tern_quic_key_free(aead_only);
}

static void test_raw_args(void) {
  uint8_t k[32] = {0};
  CHECK(tern_quic_key_new_raw(0x13ff, k, 16, NULL, NULL, 0) == NULL);
  /* RFC 9001 §5.3: never TLS_AES_128_CCM_8_SHA256 in QUIC */
  CHECK(tern_quic_key_new_raw(TERN_TLS_AES_128_CCM_8_SHA256, k, 16, NULL, NULL, 0) == NULL);
  {
    tern_quic_key *ccm = tern_quic_key_new_raw(TERN_TLS_AES_128_CCM_SHA256, k, 16, NULL, NULL, 0);
    CHECK(ccm != NULL);
    tern_quic_key_free(ccm);
  }
  CHECK(tern_quic_key_new_raw(TERN_TLS_AES_128_GCM_SHA256, k, 32, NULL, NULL, 0) == NULL);
  CHECK(tern_quic_key_new_raw(TERN_TLS_AES_128_GCM_SHA256, NULL, 16, NULL, NULL, 0) == NULL);
  CHECK(tern_quic_key_new_raw(TERN_TLS_AES_128_GCM_SHA256, k, 16, NULL, k, 32) == NULL);
  CHECK(tern_quic_key_new_raw(TERN_TLS_AES_128_GCM_SHA256, k, 16, NULL, NULL, 16) == NULL);
  CHECK(tern_quic_key_new_raw(TERN_TLS_AES_256_GCM_SHA384, k, 16, NULL, NULL, 0) == NULL);
  tern_quic_key *ok = tern_quic_key_new_raw(TERN_TLS_AES_256_GCM_SHA384, k, 32, NULL, k, 32);
  CHECK(ok != NULL);
  tern_quic_key_free(ok);
}

int main(void) {
  test_hkdf_rfc5869();
  test_expand_label_rfc9001();
  test_raw_equals_derived(TERN_TLS_AES_128_GCM_SHA256, 32);
  test_raw_equals_derived(TERN_TLS_AES_256_GCM_SHA384, 48);
  test_raw_equals_derived(TERN_TLS_CHACHA20_POLY1305_SHA256, 32);
  test_raw_args();
  return check_report();
}
