/*
 * test_names.c - the names of suites, groups and signature schemes both
 * ways: every algorithm tern lists (tern_supported_*) has a name that
 * leads back to it, OpenSSL's spellings of the groups are found, case is
 * ignored, and unknown or partial names give 0. An algorithm added to a
 * descriptor table later (FFDHE groups, AES-CCM) is covered by the same
 * loops, and its OpenSSL name is checked whenever tern knows it.
 */
#include <tern.h>

#include "check.h"

/* Every listed code has a name, and the name (also in other cases) maps
   back to the code. */
static void round_trip(size_t (*list)(uint16_t *, size_t), const char *(*name)(uint16_t),
                       uint16_t (*from)(const char *)) {
  uint16_t codes[64];
  size_t n = list(NULL, 0);
  CHECK(n > 0 && n <= 64);
  CHECK_EQ_INT(list(codes, 64), n);
  for (size_t i = 0; i < n && i < 64; i++) {
    const char *s = name(codes[i]);
    char other[128];
    size_t k;
    CHECK(s != NULL);
    if (s == NULL) continue;
    CHECK_EQ_INT(from(s), codes[i]);
    for (k = 0; s[k] && k + 1 < sizeof other; k++) {
      char ch = s[k];
      other[k] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
    }
    other[k] = '\0';
    CHECK_EQ_INT(from(other), codes[i]);
    for (size_t j = 0; j < i; j++) CHECK(codes[j] != codes[i]); /* listed once */
  }
  /* a short list gets the first cap codes, and the full count */
  if (n > 1) {
    uint16_t one[1] = {0};
    CHECK_EQ_INT(list(one, 1), n);
    CHECK_EQ_INT(one[0], codes[0]);
  }
}

static void test_round_trips(void) {
  round_trip(tern_supported_suites, tern_suite_name, tern_suite_from_name);
  round_trip(tern_supported_groups, tern_group_name, tern_group_from_name);
  round_trip(tern_supported_signature_schemes, tern_signature_scheme_name,
             tern_signature_scheme_from_name);
  /* what tern.h promises at least */
  CHECK(tern_supported_suites(NULL, 0) >= 3);
  CHECK(tern_supported_groups(NULL, 0) >= 5);
  CHECK(tern_supported_signature_schemes(NULL, 0) >= 11);
}

/* The spellings of OpenSSL's -groups, -ciphersuites and -sigalgs. */
static void test_openssl_spellings(void) {
  CHECK_EQ_INT(tern_group_from_name("X25519"), TERN_GROUP_X25519);
  CHECK_EQ_INT(tern_group_from_name("x448"), TERN_GROUP_X448);
  CHECK_EQ_INT(tern_group_from_name("P-256"), TERN_GROUP_SECP256R1);
  CHECK_EQ_INT(tern_group_from_name("prime256v1"), TERN_GROUP_SECP256R1);
  CHECK_EQ_INT(tern_group_from_name("secp256r1"), TERN_GROUP_SECP256R1);
  CHECK_EQ_INT(tern_group_from_name("P-384"), TERN_GROUP_SECP384R1);
  CHECK_EQ_INT(tern_group_from_name("secp384r1"), TERN_GROUP_SECP384R1);
  CHECK_EQ_INT(tern_group_from_name("p-521"), TERN_GROUP_SECP521R1);
  CHECK_EQ_INT(tern_group_from_name("secp521r1"), TERN_GROUP_SECP521R1);
  CHECK_EQ_INT(tern_suite_from_name("TLS_AES_128_GCM_SHA256"), TERN_TLS_AES_128_GCM_SHA256);
  CHECK_EQ_INT(tern_suite_from_name("TLS_AES_256_GCM_SHA384"), TERN_TLS_AES_256_GCM_SHA384);
  CHECK_EQ_INT(tern_suite_from_name("TLS_CHACHA20_POLY1305_SHA256"),
               TERN_TLS_CHACHA20_POLY1305_SHA256);
  CHECK_EQ_INT(tern_signature_scheme_from_name("ecdsa_secp256r1_sha256"),
               TERN_SIG_ECDSA_SECP256R1_SHA256);
  CHECK_EQ_INT(tern_signature_scheme_from_name("rsa_pss_rsae_sha256"), TERN_SIG_RSA_PSS_RSAE_SHA256);
  CHECK_EQ_INT(tern_signature_scheme_from_name("rsa_pss_pss_sha512"), TERN_SIG_RSA_PSS_PSS_SHA512);
  CHECK_EQ_INT(tern_signature_scheme_from_name("Ed25519"), TERN_SIG_ED25519);
  CHECK_EQ_INT(tern_signature_scheme_from_name("ed448"), TERN_SIG_ED448);
  /* algorithms added to the tables later answer to their OpenSSL names
     as soon as tern implements them (FFDHE: RFC 7919, AES-CCM: 0x1304) */
  if (tern_group_name(0x0100) != NULL) CHECK_EQ_INT(tern_group_from_name("ffdhe2048"), 0x0100);
  else CHECK_EQ_INT(tern_group_from_name("ffdhe2048"), 0);
  if (tern_suite_name(0x1304) != NULL)
    CHECK_EQ_INT(tern_suite_from_name("TLS_AES_128_CCM_SHA256"), 0x1304);
  else CHECK_EQ_INT(tern_suite_from_name("TLS_AES_128_CCM_SHA256"), 0);
}

/* Unknown, partial, padded, empty and NULL names find nothing. */
static void test_unknown(void) {
  static const char *const bad[] = {"", "X2551", "X25519 ", " X25519", "P256", "P-25",
                                    "secp256k1", "brainpoolP256r1", "UNDEF", "TLS_AES_128_GCM",
                                    "TLS_AES_128_GCM_SHA2566", "rsa_pkcs1_sha256",
                                    "ecdsa_sha1", "ECDSA+SHA256", "0x1301", "4865"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_EQ_INT(tern_group_from_name(bad[i]), 0);
    CHECK_EQ_INT(tern_suite_from_name(bad[i]), 0);
    CHECK_EQ_INT(tern_signature_scheme_from_name(bad[i]), 0);
  }
  CHECK_EQ_INT(tern_group_from_name(NULL), 0);
  CHECK_EQ_INT(tern_suite_from_name(NULL), 0);
  CHECK_EQ_INT(tern_signature_scheme_from_name(NULL), 0);
  /* a name of one kind is not a name of another */
  CHECK_EQ_INT(tern_suite_from_name("x25519"), 0);
  CHECK_EQ_INT(tern_group_from_name("ed25519"), 0);
  CHECK_EQ_INT(tern_signature_scheme_from_name("secp256r1"), 0);
}

int main(void) {
  test_round_trips();
  test_openssl_spellings();
  test_unknown();
  return check_report();
}
