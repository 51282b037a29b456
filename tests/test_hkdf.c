/* test_hkdf.c - HKDF-Extract/Expand against every case of RFC 5869 App. A,
   and HKDF-Expand-Label against RFC 8448's "info" encodings. */
#include <tern.h>

#include "check.h"
#include "crypto/crypto.h"
#include "vectors.h"

static const char *F = "rfc5869_hkdf.txt";

static void rfc5869_case(int n) {
  char label[64];
  size_t ikm_len, salt_len = 0, info_len, prk_len, okm_len;
  uint8_t *salt = NULL;
  uint8_t prk[64], okm[128];

  /* RFC 5869 App. A: SHA-256 for cases 1-3, SHA-1 for 4-7; the PRK
     length check below catches a mismatch with the file's Hash line. */
  const tern_hash *h = tern_hash_get(n <= 3 ? TERN_HASH_SHA256 : TERN_HASH_SHA1);
  snprintf(label, sizeof label, "case %d IKM", n);
  uint8_t *ikm = vec_get(F, label, &ikm_len);
  if (n != 7) { /* case 7: salt not provided = HashLen zero octets */
    snprintf(label, sizeof label, "case %d salt", n);
    salt = vec_get(F, label, &salt_len);
  }
  snprintf(label, sizeof label, "case %d info", n);
  uint8_t *info = vec_get(F, label, &info_len);
  snprintf(label, sizeof label, "case %d L", n);
  size_t L = (size_t)vec_int(F, label);
  snprintf(label, sizeof label, "case %d PRK", n);
  uint8_t *want_prk = vec_get(F, label, &prk_len);
  snprintf(label, sizeof label, "case %d OKM", n);
  uint8_t *want_okm = vec_get(F, label, &okm_len);

  CHECK_EQ_INT(prk_len, h->len);
  CHECK_EQ_INT(okm_len, L);
  CHECK_EQ_INT(tern_hkdf_extract(h, salt, salt_len, ikm, ikm_len, prk), TERN_OK);
  CHECK_MEM(prk, want_prk, prk_len);
  CHECK_EQ_INT(tern_hkdf_expand(h, prk, h->len, info, info_len, okm, L), TERN_OK);
  CHECK_MEM(okm, want_okm, L);
  free(ikm); free(salt); free(info); free(want_prk); free(want_okm);
}

/* HKDF-Expand-Label builds the HkdfLabel the RFC 8448 trace shows. */
static void expand_label_matches_trace(void) {
  const char *T = "rfc8448_simple_1rtt.txt";
  size_t n;
  uint8_t out[32];
  const tern_hash *h = tern_hash_get(TERN_HASH_SHA256);
  uint8_t *prk = vec_get(T, "14 server derive write traffic keys for handshake data | PRK", &n);
  uint8_t *key = vec_get(T, "14 server derive write traffic keys for handshake data | key expanded", &n);
  uint8_t *iv = vec_get(T, "14 server derive write traffic keys for handshake data | iv expanded", &n);
  CHECK_EQ_INT(tern_hkdf_expand_label(h, prk, 32, "key", NULL, 0, out, 16), TERN_OK);
  CHECK_MEM(out, key, 16);
  CHECK_EQ_INT(tern_hkdf_expand_label(h, prk, 32, "iv", NULL, 0, out, 12), TERN_OK);
  CHECK_MEM(out, iv, 12);
  free(prk); free(key); free(iv);
}

/* Lengths outside HKDF's and HkdfLabel's ranges are refused, not truncated. */
static void bad_lengths(void) {
  const tern_hash *h = tern_hash_get(TERN_HASH_SHA256);
  uint8_t prk[32] = {0}, out[32];
  static uint8_t big[255 * 32 + 1];
  char long_label[260];
  memset(long_label, 'a', sizeof long_label - 1);
  long_label[sizeof long_label - 1] = 0;
  CHECK_EQ_INT(tern_hkdf_expand(h, prk, 32, NULL, 0, big, sizeof big), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_hkdf_expand(h, prk, 32, NULL, 0, big, sizeof big - 1), TERN_OK);
  CHECK_EQ_INT(tern_hkdf_expand_label(h, prk, 32, long_label, NULL, 0, out, 32), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_hkdf_expand_label(h, prk, 32, "x", big, 256, out, 32), TERN_ERR_INVALID_ARG);
  CHECK(tern_hash_get((tern_hash_id)7) == NULL);
  CHECK(tern_suite_get(0x1306) == NULL);
  CHECK(tern_suite_get(0x1304) != NULL && tern_suite_get(0x1304)->tag_len == 16);
  CHECK(tern_suite_get(0x1305) != NULL && tern_suite_get(0x1305)->tag_len == 8);
  CHECK(tern_suite_name(0x1304) != NULL && strcmp(tern_suite_name(0x1304), "TLS_AES_128_CCM_SHA256") == 0);
  CHECK(tern_suite_name(0x1305) != NULL && strcmp(tern_suite_name(0x1305), "TLS_AES_128_CCM_8_SHA256") == 0);
  CHECK(tern_suite_name(0x1301) != NULL && strcmp(tern_suite_name(0x1301), "TLS_AES_128_GCM_SHA256") == 0);
  CHECK(strcmp(tern_strerror(TERN_ERR_DECRYPT), "unknown error") != 0);
  CHECK(strcmp(tern_strerror(-999), "unknown error") == 0);
}

int main(void) {
  for (int n = 1; n <= 7; n++) rfc5869_case(n);
  expand_label_matches_trace();
  bad_lengths();
  return check_report();
}
