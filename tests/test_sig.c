/*
 * test_sig.c - CertificateVerify signatures: every scheme signs and
 * verifies with a key made here; a flipped byte, another transcript or
 * the other side's context string fail with decrypt_error; a key that
 * does not fit the scheme is refused; tern_sig_pick follows our order;
 * and the server CertificateVerify of RFC 8448 §3 verifies over the
 * transcript hash of the trace's own messages.
 */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <tern.h>

#include "check.h"
#include "crypto/crypto.h"
#include "pki.h"
#include "crypto/sig.h"
#include "vectors.h"

/* Each scheme and the key type it is made with. */
static const struct {
  uint16_t scheme;
  pki_key_type key;
} cases[] = {
    {TERN_SIG_ECDSA_SECP256R1_SHA256, PKI_KEY_P256},
    {TERN_SIG_ECDSA_SECP384R1_SHA384, PKI_KEY_P384},
    {TERN_SIG_ECDSA_SECP521R1_SHA512, PKI_KEY_P521},
    {TERN_SIG_RSA_PSS_RSAE_SHA256, PKI_KEY_RSA2048},
    {TERN_SIG_RSA_PSS_RSAE_SHA384, PKI_KEY_RSA2048},
    {TERN_SIG_RSA_PSS_RSAE_SHA512, PKI_KEY_RSA2048},
    {TERN_SIG_RSA_PSS_PSS_SHA256, PKI_KEY_RSA_PSS},
    {TERN_SIG_RSA_PSS_PSS_SHA384, PKI_KEY_RSA_PSS},
    {TERN_SIG_RSA_PSS_PSS_SHA512, PKI_KEY_RSA_PSS},
    {TERN_SIG_ED25519, PKI_KEY_ED25519},
    {TERN_SIG_ED448, PKI_KEY_ED448},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static EVP_PKEY *keys[PKI_KEY_TYPES];

/* verify must fail with alert `want`. */
static void expect_verify_fail(const tern_sig *s, EVP_PKEY *key, int server,
                               const uint8_t *th, size_t th_len,
                               const uint8_t *sig, size_t sig_len,
                               uint8_t want, const char *what) {
  uint8_t alert = 0;
  int rc = tern_sig_verify(s, key, server, th, th_len, sig, sig_len, &alert);
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(alert, want);
  if (rc != TERN_ERR_ALERT || alert != want)
    fprintf(stderr, "  (%s, %s)\n", s->name, what);
  CHECK_EQ_INT(ERR_peek_error(), 0);
}

/* Sign, verify, and the three ways a verification must fail. */
static void test_sign_verify(void) {
  uint8_t th[48], other[48], sig[TERN_SIG_MAX], alert = 0;
  for (size_t i = 0; i < sizeof th; i++) {
    th[i] = (uint8_t)i;
    other[i] = (uint8_t)(i + 1);
  }
  for (size_t i = 0; i < N_CASES; i++) {
    const tern_sig *s = tern_sig_get(cases[i].scheme);
    EVP_PKEY *key = keys[cases[i].key];
    size_t th_len = s->md && strcmp(s->md, "SHA256") == 0 ? 32 : 48;
    size_t sig_len = 0;
    CHECK(s != NULL);
    if (s == NULL) continue;
    CHECK_EQ_INT(s->id, cases[i].scheme);
    CHECK_EQ_INT(tern_sig_key_fits(s, key), 1);
    for (int server = 0; server <= 1; server++) {
      int rc = tern_sig_sign(s, key, server, th, th_len, sig, sizeof sig, &sig_len);
      CHECK_EQ_INT(rc, TERN_OK);
      if (rc != TERN_OK) {
        fprintf(stderr, "  (sign %s)\n", s->name);
        ERR_print_errors_fp(stderr);
        continue;
      }
      CHECK(sig_len > 0 && sig_len <= (size_t)EVP_PKEY_get_size(key));
      rc = tern_sig_verify(s, key, server, th, th_len, sig, sig_len, &alert);
      CHECK_EQ_INT(rc, TERN_OK);
      if (rc != TERN_OK) fprintf(stderr, "  (verify %s)\n", s->name);
      expect_verify_fail(s, key, !server, th, th_len, sig, sig_len,
                         TERN_ALERT_DECRYPT_ERROR, "other context");
      expect_verify_fail(s, key, server, other, th_len, sig, sig_len,
                         TERN_ALERT_DECRYPT_ERROR, "other transcript");
      expect_verify_fail(s, key, server, th, th_len - 1, sig, sig_len,
                         TERN_ALERT_DECRYPT_ERROR, "shorter transcript");
      for (size_t at = 0; at < sig_len; at += sig_len / 3) {
        sig[at] ^= 0x01;
        expect_verify_fail(s, key, server, th, th_len, sig, sig_len,
                           TERN_ALERT_DECRYPT_ERROR, "flipped byte");
        sig[at] ^= 0x01;
      }
      expect_verify_fail(s, key, server, th, th_len, sig, sig_len - 1,
                         TERN_ALERT_DECRYPT_ERROR, "truncated");
      expect_verify_fail(s, key, server, th, th_len, sig, 0,
                         TERN_ALERT_DECRYPT_ERROR, "empty");
    }
    /* too small an output buffer */
    CHECK_EQ_INT(tern_sig_sign(s, key, 1, th, th_len, sig, 8, &sig_len),
                 TERN_ERR_BUFFER_TOO_SMALL);
    /* Ed25519 and ECDSA sign deterministically or not; both verify */
  }
  /* a verification with a different key of the same type fails */
  {
    const tern_sig *s = tern_sig_get(TERN_SIG_ECDSA_SECP256R1_SHA256);
    EVP_PKEY *k2 = pki_key_new(PKI_KEY_P256);
    size_t sig_len = 0;
    CHECK_EQ_INT(tern_sig_sign(s, keys[PKI_KEY_P256], 1, th, 32, sig, sizeof sig, &sig_len), TERN_OK);
    expect_verify_fail(s, k2, 1, th, 32, sig, sig_len, TERN_ALERT_DECRYPT_ERROR,
                       "other key");
    EVP_PKEY_free(k2);
  }
}

/* A key that does not fit the scheme: refused for signing and verifying. */
static void test_key_fit(void) {
  uint8_t th[32] = {0}, sig[TERN_SIG_MAX];
  size_t sig_len;
  for (size_t i = 0; i < N_CASES; i++) {
    const tern_sig *s = tern_sig_get(cases[i].scheme);
    for (int k = 0; k < PKI_KEY_TYPES; k++) {
      if ((pki_key_type)k == cases[i].key) continue;
      CHECK_EQ_INT(tern_sig_key_fits(s, keys[k]), 0);
      if (tern_sig_key_fits(s, keys[k]))
        fprintf(stderr, "  (%s fits %s)\n", s->name, pki_key_type_name(k));
      CHECK_EQ_INT(tern_sig_sign(s, keys[k], 1, th, 32, sig, sizeof sig, &sig_len),
                   TERN_ERR_INVALID_ARG);
      memset(sig, 0x30, 72);
      expect_verify_fail(s, keys[k], 1, th, 32, sig, 72,
                         TERN_ALERT_ILLEGAL_PARAMETER, pki_key_type_name(k));
    }
  }
  CHECK(tern_sig_get(0x0401) == NULL);  /* rsa_pkcs1_sha256 */
  CHECK(tern_sig_get(0x0201) == NULL);  /* rsa_pkcs1_sha1 */
  CHECK(tern_sig_get(0x0203) == NULL);  /* ecdsa_sha1 */
  CHECK_EQ_INT(tern_sig_key_fits(NULL, keys[0]), 0);
  CHECK_EQ_INT(tern_sig_key_fits(tern_sig_get(TERN_SIG_ED25519), NULL), 0);
  /* argument checks */
  {
    const tern_sig *s = tern_sig_get(TERN_SIG_ED25519);
    uint8_t big[65] = {0}, alert;
    CHECK_EQ_INT(tern_sig_sign(s, keys[PKI_KEY_ED25519], 1, big, 65, sig, sizeof sig, &sig_len),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_sig_verify(s, keys[PKI_KEY_ED25519], 1, big, 65, sig, 64, &alert),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_sig_sign(NULL, keys[0], 1, th, 32, sig, sizeof sig, &sig_len),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_sig_verify(s, NULL, 1, th, 32, sig, 64, &alert),
                 TERN_ERR_INVALID_ARG);
  }
}

/* tern_sig_pick: our order, the peer's offer and the key decide. */
static void test_pick(void) {
  const uint16_t ours[] = {TERN_SIG_ED25519, TERN_SIG_ECDSA_SECP384R1_SHA384,
                           TERN_SIG_ECDSA_SECP256R1_SHA256,
                           TERN_SIG_RSA_PSS_PSS_SHA256,
                           TERN_SIG_RSA_PSS_RSAE_SHA384,
                           TERN_SIG_RSA_PSS_RSAE_SHA256};
  const uint16_t peer[] = {0x0401, TERN_SIG_RSA_PSS_RSAE_SHA256,
                           TERN_SIG_RSA_PSS_RSAE_SHA384,
                           TERN_SIG_RSA_PSS_PSS_SHA256,
                           TERN_SIG_ECDSA_SECP256R1_SHA256,
                           TERN_SIG_ECDSA_SECP384R1_SHA384};
  const uint16_t only_rsa[] = {TERN_SIG_RSA_PSS_RSAE_SHA256};
  size_t no = sizeof ours / sizeof ours[0], np = sizeof peer / sizeof peer[0];
  uint16_t got = 0;
  uint8_t alert = 0;
  CHECK_EQ_INT(tern_sig_pick(keys[PKI_KEY_P256], ours, no, peer, np, &got, &alert), TERN_OK);
  CHECK_EQ_INT(got, TERN_SIG_ECDSA_SECP256R1_SHA256);
  CHECK_EQ_INT(tern_sig_pick(keys[PKI_KEY_P384], ours, no, peer, np, &got, &alert), TERN_OK);
  CHECK_EQ_INT(got, TERN_SIG_ECDSA_SECP384R1_SHA384);
  CHECK_EQ_INT(tern_sig_pick(keys[PKI_KEY_RSA2048], ours, no, peer, np, &got, &alert), TERN_OK);
  CHECK_EQ_INT(got, TERN_SIG_RSA_PSS_RSAE_SHA384);  /* ours first, not the peer's */
  CHECK_EQ_INT(tern_sig_pick(keys[PKI_KEY_RSA_PSS], ours, no, peer, np, &got, &alert), TERN_OK);
  CHECK_EQ_INT(got, TERN_SIG_RSA_PSS_PSS_SHA256);
  /* Ed25519 is ours but not offered; P-521 neither */
  alert = 0;
  CHECK_EQ_INT(tern_sig_pick(keys[PKI_KEY_ED25519], ours, no, peer, np, &got, &alert), TERN_ERR_ALERT);
  CHECK_EQ_INT(alert, TERN_ALERT_HANDSHAKE_FAILURE);
  alert = 0;
  CHECK_EQ_INT(tern_sig_pick(keys[PKI_KEY_P521], ours, no, peer, np, &got, &alert), TERN_ERR_ALERT);
  CHECK_EQ_INT(alert, TERN_ALERT_HANDSHAKE_FAILURE);
  alert = 0;
  CHECK_EQ_INT(tern_sig_pick(keys[PKI_KEY_P256], ours, no, only_rsa, 1, &got, &alert), TERN_ERR_ALERT);
  CHECK_EQ_INT(alert, TERN_ALERT_HANDSHAKE_FAILURE);
  alert = 0;
  CHECK_EQ_INT(tern_sig_pick(keys[PKI_KEY_P256], ours, no, NULL, 0, &got, &alert), TERN_ERR_ALERT);
  CHECK_EQ_INT(alert, TERN_ALERT_HANDSHAKE_FAILURE);
  /* an unsupported code in our own list is skipped */
  {
    const uint16_t ours2[] = {0x0401, TERN_SIG_RSA_PSS_RSAE_SHA256};
    CHECK_EQ_INT(tern_sig_pick(keys[PKI_KEY_RSA2048], ours2, 2, peer, np, &got, &alert), TERN_OK);
    CHECK_EQ_INT(got, TERN_SIG_RSA_PSS_RSAE_SHA256);
  }
  CHECK_EQ_INT(tern_sig_pick(NULL, ours, no, peer, np, &got, &alert), TERN_ERR_INVALID_ARG);
}

/* Reads the handshake message `label` of file f and appends it to the transcript. */
static void add_msg(tern_transcript *t, const char *f, const char *label) {
  size_t n;
  uint8_t *m = vec_get(f, label, &n);
  CHECK_EQ_INT(tern_transcript_update(t, m, n), TERN_OK);
  free(m);
}

/*
 * RFC 8448 §3: the server's CertificateVerify (rsa_pss_rsae_sha256) over
 * Transcript-Hash(ClientHello..Certificate), with the key from the
 * trace's certificate and, again, with the key of §2 built from its
 * modulus and exponent.
 */
static void test_rfc8448_cv(void) {
  const char *f = "rfc8448_simple_1rtt.txt";
  const char *kf = "rfc8448_private_keys.txt";
  size_t cert_len, cv_len, n_len, e_len;
  uint8_t *cert_msg = vec_get(f, "server Certificate message (step 16)", &cert_len);
  uint8_t *cv = vec_get(f, "server CertificateVerify message (step 17)", &cv_len);
  uint8_t *n = vec_get(kf, "modulus (public)", &n_len);
  uint8_t *e = vec_get(kf, "public exponent", &e_len);
  const tern_sig *s = tern_sig_get(TERN_SIG_RSA_PSS_RSAE_SHA256);
  tern_transcript t;
  uint8_t th[32], alert = 0;
  const uint8_t *p;
  size_t der_len, sig_len;
  X509 *cert;
  EVP_PKEY *cert_key = NULL, *rsa_key = NULL;

  CHECK_EQ_INT(tern_transcript_init(&t, tern_hash_get(TERN_HASH_SHA256)), TERN_OK);
  add_msg(&t, f, "client ClientHello message (step 02)");
  add_msg(&t, f, "server ServerHello message (step 06)");
  add_msg(&t, f, "server EncryptedExtensions message (step 15)");
  add_msg(&t, f, "server Certificate message (step 16)");
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  tern_transcript_free(&t);

  /* Certificate: type(1) len(3) ctx_len(1)=0 list_len(3) cert_len(3) DER */
  CHECK(cert_len > 11 && cert_msg[0] == 0x0b && cert_msg[4] == 0);
  der_len = ((size_t)cert_msg[8] << 16) | ((size_t)cert_msg[9] << 8) | cert_msg[10];
  CHECK(der_len + 11 <= cert_len);
  p = cert_msg + 11;
  cert = d2i_X509(NULL, &p, (long)der_len);
  CHECK(cert != NULL);
  if (cert) cert_key = X509_get_pubkey(cert);
  CHECK(cert_key != NULL);

  /* CertificateVerify: type(1) len(3) scheme(2) sig_len(2) sig */
  CHECK(cv_len > 8 && cv[0] == 0x0f);
  CHECK_EQ_INT((cv[4] << 8) | cv[5], TERN_SIG_RSA_PSS_RSAE_SHA256);
  sig_len = ((size_t)cv[6] << 8) | cv[7];
  CHECK_EQ_INT(sig_len + 8, cv_len);

  {
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL), *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    OSSL_PARAM_BLD_push_BN(bld, "n", bn_n);
    OSSL_PARAM_BLD_push_BN(bld, "e", bn_e);
    params = OSSL_PARAM_BLD_to_param(bld);
    CHECK(EVP_PKEY_fromdata_init(pctx) == 1);
    CHECK(EVP_PKEY_fromdata(pctx, &rsa_key, EVP_PKEY_PUBLIC_KEY, params) == 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pctx);
    BN_free(bn_n);
    BN_free(bn_e);
  }
  CHECK(cert_key && rsa_key && EVP_PKEY_eq(cert_key, rsa_key) == 1);

  if (cert_key) {
    CHECK_EQ_INT(tern_sig_verify(s, cert_key, 1, th, 32, cv + 8, sig_len, &alert), TERN_OK);
    /* the same signature is not a client's */
    expect_verify_fail(s, cert_key, 0, th, 32, cv + 8, sig_len,
                       TERN_ALERT_DECRYPT_ERROR, "rfc8448 as client");
    /* and not an rsa_pss_pss_sha256 one: the key is rsaEncryption */
    expect_verify_fail(tern_sig_get(TERN_SIG_RSA_PSS_PSS_SHA256), cert_key, 1,
                       th, 32, cv + 8, sig_len, TERN_ALERT_ILLEGAL_PARAMETER,
                       "rfc8448 as rsa_pss_pss");
  }
  if (rsa_key)
    CHECK_EQ_INT(tern_sig_verify(s, rsa_key, 1, th, 32, cv + 8, sig_len, &alert), TERN_OK);

  EVP_PKEY_free(cert_key);
  EVP_PKEY_free(rsa_key);
  X509_free(cert);
  free(cert_msg);
  free(cv);
  free(n);
  free(e);
}

/* Signatures made on contexts prepared per key and scheme (several
   signatures on copies of each) verify like the others, with a context
   made per scheme on first use and kept. */
static void test_prepared(void) {
  uint8_t th[48], sig[TERN_SIG_MAX], alert = 0;
  for (size_t i = 0; i < sizeof th; i++) th[i] = (uint8_t)(3 * i);
  for (size_t i = 0; i < N_CASES; i++) {
    const tern_sig *s = tern_sig_get(cases[i].scheme);
    EVP_PKEY *key = keys[cases[i].key];
    tern_sig_prepared prep;
    size_t th_len = s->md && strcmp(s->md, "SHA256") == 0 ? 32 : 48, made = 0;
    memset(&prep, 0, sizeof prep);
    for (int round = 0; round < 3; round++) {
      size_t sig_len = 0;
      CHECK_EQ_INT(tern_sig_sign_prepared(s, key, &prep, round & 1, th, th_len, sig, sizeof sig,
                                          &sig_len), TERN_OK);
      CHECK_EQ_INT(tern_sig_verify(s, key, round & 1, th, th_len, sig, sig_len, &alert), TERN_OK);
      expect_verify_fail(s, key, !(round & 1), th, th_len, sig, sig_len,
                         TERN_ALERT_DECRYPT_ERROR, "prepared, other context");
      CHECK_EQ_INT(tern_sig_sign_prepared(s, key, &prep, 1, th, th_len, sig, 8, &sig_len),
                   TERN_ERR_BUFFER_TOO_SMALL);
    }
    for (size_t j = 0; j < TERN_SIG_SCHEMES; j++) made += prep.ctx[j] != NULL;
    /* EdDSA signs the content itself: nothing to prepare */
    CHECK_EQ_INT(made, s->md != NULL ? 1 : 0);
    tern_sig_prepared_free(&prep);
  }
}

int main(void) {
  for (int k = 0; k < PKI_KEY_TYPES; k++) {
    keys[k] = pki_key_new((pki_key_type)k);
    CHECK(keys[k] != NULL);
    if (keys[k] == NULL) return check_report();
  }
  test_sign_verify();
  test_prepared();
  test_key_fit();
  test_pick();
  test_rfc8448_cv();
  for (int k = 0; k < PKI_KEY_TYPES; k++) EVP_PKEY_free(keys[k]);
  return check_report();
}
