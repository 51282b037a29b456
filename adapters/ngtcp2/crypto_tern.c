/*
 * adapters/ngtcp2/crypto_tern.c - libngtcp2_crypto_tern: tern as the TLS
 * and packet protection of ngtcp2 connections (see
 * include/ngtcp2/ngtcp2_crypto_tern.h). Keys, packet protection, the
 * handshake callbacks and the glue between a tern connection and an
 * ngtcp2 connection; tokens.c holds tokens, Retry and stateless reset.
 *
 * Every AEAD and header-protection context handed to ngtcp2 is a
 * tern_quic_key made once when the key is installed (tern_quic_key_new_raw
 * from tern_quic_derive_keys' output): ngtcp2 passes the nonce (iv XOR
 * pn) to encrypt/decrypt, which go to tern_quic_seal_nonce /
 * tern_quic_open_nonce on the prepared contexts, and the sample to
 * hp_mask, which goes to tern_quic_hp_mask. The AEAD and header-protection
 * contexts of one installed key share one tern_quic_key (reference
 * counted: ngtcp2 frees them apart, and a key update replaces the AEAD
 * while header protection stays, RFC 9001 §6.1).
 */
#include "backend.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* ------------------------------------------------------------------ */
/* Algorithms: a suite code stands for its hash, AEAD and HP cipher    */
/* ------------------------------------------------------------------ */

/* RFC 9001 §6.6: packets one key may protect, and forgeries it may see. */
static const ntern_alg algs[] = {
    {TERN_TLS_AES_128_GCM_SHA256, 16, 32, (uint64_t)1 << 23, (uint64_t)1 << 52},
    {TERN_TLS_AES_256_GCM_SHA384, 32, 48, (uint64_t)1 << 23, (uint64_t)1 << 52},
    {TERN_TLS_CHACHA20_POLY1305_SHA256, 32, 32, (uint64_t)1 << 62, (uint64_t)1 << 36},
};

const ntern_alg *ntern_alg_of(const void *native_handle) {
  uint16_t suite = (uint16_t)(uintptr_t)native_handle;
  for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
    if (algs[i].suite == suite && (uintptr_t)native_handle == suite) return &algs[i];
  return NULL;
}

uint16_t ntern_suite_of(const void *native_handle) {
  const ntern_alg *a = ntern_alg_of(native_handle);
  return a ? a->suite : 0;
}

/* ntern_ctx_init fills an ngtcp2_crypto_ctx for a suite; NULL if unknown. */
ngtcp2_crypto_ctx *ntern_ctx_init(ngtcp2_crypto_ctx *ctx, uint16_t suite) {
  const ntern_alg *a = ntern_alg_of((void *)(uintptr_t)suite);
  if (ctx == NULL || a == NULL) return NULL;
  memset(ctx, 0, sizeof *ctx);
  ctx->aead.native_handle = (void *)(uintptr_t)suite;
  ctx->aead.max_overhead = TERN_QUIC_TAG_LEN;
  ctx->md.native_handle = (void *)(uintptr_t)suite;
  ctx->hp.native_handle = (void *)(uintptr_t)suite;
  ctx->max_encryption = a->max_encryption;
  ctx->max_decryption_failure = a->max_decryption_failure;
  return ctx;
}

ngtcp2_crypto_ctx *ngtcp2_crypto_ctx_tls(ngtcp2_crypto_ctx *ctx, void *tls_native_handle) {
  tern_conn *c = tls_native_handle;
  if (c == NULL) return NULL;
  return ntern_ctx_init(ctx, tern_conn_cipher_suite(c));
}

/*
 * The early suite is the suite of the session offered; tern tells the
 * negotiated suite, which a client knows only from the ServerHello on,
 * so before that the ngtcp2 connection's early context (set when the
 * 0-RTT key was installed) answers.
 */
ngtcp2_crypto_ctx *ngtcp2_crypto_ctx_tls_early(ngtcp2_crypto_ctx *ctx,
                                               void *tls_native_handle) {
  tern_conn *c = tls_native_handle;
  uint16_t suite;
  if (c == NULL || ctx == NULL) return NULL;
  suite = tern_conn_cipher_suite(c);
  if (suite == 0) {
    ngtcp2_crypto_conn_ref *ref = tern_conn_user(c);
    ngtcp2_conn *conn = ref && ref->get_conn ? ref->get_conn(ref) : NULL;
    const ngtcp2_crypto_ctx *early = conn ? ngtcp2_conn_get_early_crypto_ctx(conn) : NULL;
    if (early == NULL || early->aead.native_handle == NULL) return NULL;
    *ctx = *early;
    return ctx;
  }
  return ntern_ctx_init(ctx, suite);
}

ngtcp2_crypto_md *ngtcp2_crypto_md_init(ngtcp2_crypto_md *md, void *md_native_handle) {
  md->native_handle = md_native_handle;
  return md;
}

size_t ngtcp2_crypto_md_hashlen(const ngtcp2_crypto_md *md) {
  const ntern_alg *a = ntern_alg_of(md->native_handle);
  return a ? a->hash_len : 0;
}

size_t ngtcp2_crypto_aead_keylen(const ngtcp2_crypto_aead *aead) {
  const ntern_alg *a = ntern_alg_of(aead->native_handle);
  return a ? a->key_len : 0;
}

size_t ngtcp2_crypto_aead_noncelen(const ngtcp2_crypto_aead *aead) {
  return ntern_alg_of(aead->native_handle) ? 12 : 0;
}

size_t ngtcp2_crypto_packet_protection_ivlen(const ngtcp2_crypto_aead *aead) {
  return ngtcp2_crypto_aead_noncelen(aead);
}

/* ------------------------------------------------------------------ */
/* HKDF                                                                */
/* ------------------------------------------------------------------ */

int ngtcp2_crypto_hkdf_extract(uint8_t *dest, const ngtcp2_crypto_md *md,
                               const uint8_t *secret, size_t secretlen,
                               const uint8_t *salt, size_t saltlen) {
  return tern_suite_hkdf_extract(ntern_suite_of(md->native_handle), salt, saltlen, secret,
                                 secretlen, dest) == TERN_OK ? 0 : -1;
}

int ngtcp2_crypto_hkdf_expand(uint8_t *dest, size_t destlen, const ngtcp2_crypto_md *md,
                              const uint8_t *secret, size_t secretlen,
                              const uint8_t *info, size_t infolen) {
  return tern_suite_hkdf_expand(ntern_suite_of(md->native_handle), secret, secretlen, info,
                                infolen, dest, destlen) == TERN_OK ? 0 : -1;
}

int ngtcp2_crypto_hkdf(uint8_t *dest, size_t destlen, const ngtcp2_crypto_md *md,
                       const uint8_t *secret, size_t secretlen, const uint8_t *salt,
                       size_t saltlen, const uint8_t *info, size_t infolen) {
  uint8_t prk[TERN_MAX_SECRET_LEN];
  size_t hl = ngtcp2_crypto_md_hashlen(md);
  int rv = -1;
  if (hl != 0 && ngtcp2_crypto_hkdf_extract(prk, md, secret, secretlen, salt, saltlen) == 0)
    rv = ngtcp2_crypto_hkdf_expand(dest, destlen, md, prk, hl, info, infolen);
  OPENSSL_cleanse(prk, sizeof prk);
  return rv;
}

int ngtcp2_crypto_hkdf_expand_label(uint8_t *dest, size_t destlen, const ngtcp2_crypto_md *md,
                                    const uint8_t *secret, size_t secretlen,
                                    const uint8_t *label, size_t labellen) {
  return tern_suite_hkdf_expand_label(ntern_suite_of(md->native_handle), secret, secretlen,
                                      label, labellen, NULL, 0, dest, destlen) == TERN_OK
             ? 0
             : -1;
}

/* ------------------------------------------------------------------ */
/* Key objects behind ngtcp2's AEAD and cipher contexts                */
/* ------------------------------------------------------------------ */

/* ntern_key_wrap takes a tern_quic_key with refs references (1 or 2). */
ntern_key *ntern_key_wrap(tern_quic_key *k, int refs) {
  ntern_key *w;
  if (k == NULL) return NULL;
  w = OPENSSL_zalloc(sizeof *w);
  if (w == NULL) {
    tern_quic_key_free(k);
    return NULL;
  }
  w->key = k;
  w->refs = refs;
  return w;
}

/* ntern_key_retry: the context of the Retry Integrity Tag of a version. */
ntern_key *ntern_key_retry(uint32_t version) {
  ntern_key *w = OPENSSL_zalloc(sizeof *w);
  if (w == NULL) return NULL;
  w->retry_version = version;
  w->refs = 1;
  return w;
}

void ntern_key_unref(void *native_handle) {
  ntern_key *w = native_handle;
  if (w == NULL || --w->refs > 0) return;
  tern_quic_key_free(w->key);
  OPENSSL_free(w);
}

/*
 * ntern_key_from_secret derives key, IV and HP key of a traffic secret
 * for a version and suite and makes the key object (references for the
 * AEAD and the HP contexts). key/iv/hp receive the material when not NULL.
 */
ntern_key *ntern_key_from_secret(uint32_t version, uint16_t suite, const uint8_t *secret,
                                 size_t secretlen, uint8_t *key_out, uint8_t iv[12],
                                 uint8_t *hp_out) {
  uint8_t key[32], hp[32];
  size_t kl, hl;
  ntern_key *w = NULL;
  if (tern_quic_derive_keys(version, suite, secret, secretlen, key, &kl, iv, hp, &hl) ==
      TERN_OK) {
    w = ntern_key_wrap(tern_quic_key_new_raw(suite, key, kl, iv, hp, hl), 2);
    if (key_out) memcpy(key_out, key, kl);
    if (hp_out) memcpy(hp_out, hp, hl);
  }
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(hp, sizeof hp);
  return w;
}

int ngtcp2_crypto_aead_ctx_encrypt_init(ngtcp2_crypto_aead_ctx *aead_ctx,
                                        const ngtcp2_crypto_aead *aead, const uint8_t *key,
                                        size_t noncelen) {
  const ntern_alg *a = ntern_alg_of(aead->native_handle);
  if (a == NULL || noncelen != 12) return -1;
  aead_ctx->native_handle =
      ntern_key_wrap(tern_quic_key_new_raw(a->suite, key, a->key_len, NULL, NULL, 0), 1);
  return aead_ctx->native_handle ? 0 : -1;
}

int ngtcp2_crypto_aead_ctx_decrypt_init(ngtcp2_crypto_aead_ctx *aead_ctx,
                                        const ngtcp2_crypto_aead *aead, const uint8_t *key,
                                        size_t noncelen) {
  /* a tern_quic_key seals and opens: the same preparation */
  return ngtcp2_crypto_aead_ctx_encrypt_init(aead_ctx, aead, key, noncelen);
}

void ngtcp2_crypto_aead_ctx_free(ngtcp2_crypto_aead_ctx *aead_ctx) {
  if (aead_ctx == NULL) return;
  ntern_key_unref(aead_ctx->native_handle);
  aead_ctx->native_handle = NULL;
}

void ngtcp2_crypto_delete_crypto_aead_ctx_cb(ngtcp2_conn *conn,
                                             ngtcp2_crypto_aead_ctx *aead_ctx,
                                             void *user_data) {
  (void)conn;
  (void)user_data;
  ngtcp2_crypto_aead_ctx_free(aead_ctx);
}

void ngtcp2_crypto_delete_crypto_cipher_ctx_cb(ngtcp2_conn *conn,
                                               ngtcp2_crypto_cipher_ctx *cipher_ctx,
                                               void *user_data) {
  (void)conn;
  (void)user_data;
  if (cipher_ctx == NULL) return;
  ntern_key_unref(cipher_ctx->native_handle);
  cipher_ctx->native_handle = NULL;
}

/* ------------------------------------------------------------------ */
/* Packet protection                                                   */
/* ------------------------------------------------------------------ */

/*
 * A Retry context computes the Retry Integrity Tag (RFC 9001 §5.8): ngtcp2
 * encrypts nothing with the Retry pseudo-packet as associated data, which
 * is ODCID Length (1 byte), ODCID, then the Retry packet without its tag;
 * tern_quic_retry_tag takes the ODCID and the packet apart.
 */
static int retry_tag(const ntern_key *w, uint8_t *dest, size_t plaintextlen,
                     const uint8_t *aad, size_t aadlen) {
  size_t odcid_len;
  if (plaintextlen != 0 || aadlen < 1) return -1;
  odcid_len = aad[0];
  if (odcid_len > TERN_QUIC_MAX_CID_LEN || aadlen < 1 + odcid_len) return -1;
  return tern_quic_retry_tag(w->retry_version, aad + 1, odcid_len, aad + 1 + odcid_len,
                             aadlen - 1 - odcid_len, dest) == TERN_OK ? 0 : -1;
}

int ngtcp2_crypto_encrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                          const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *plaintext,
                          size_t plaintextlen, const uint8_t *nonce, size_t noncelen,
                          const uint8_t *aad, size_t aadlen) {
  const ntern_key *w = aead_ctx->native_handle;
  (void)aead;
  if (w == NULL) return -1;
  if (w->key == NULL) return retry_tag(w, dest, plaintextlen, aad, aadlen);
  return tern_quic_seal_nonce(w->key, nonce, noncelen, aad, aadlen, plaintext, plaintextlen,
                              dest) == TERN_OK ? 0 : -1;
}

int ngtcp2_crypto_encrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                             const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *plaintext,
                             size_t plaintextlen, const uint8_t *nonce, size_t noncelen,
                             const uint8_t *aad, size_t aadlen) {
  return ngtcp2_crypto_encrypt(dest, aead, aead_ctx, plaintext, plaintextlen, nonce, noncelen,
                               aad, aadlen) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

int ngtcp2_crypto_decrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                          const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *ciphertext,
                          size_t ciphertextlen, const uint8_t *nonce, size_t noncelen,
                          const uint8_t *aad, size_t aadlen) {
  const ntern_key *w = aead_ctx->native_handle;
  (void)aead;
  if (w == NULL || w->key == NULL) return -1;
  return tern_quic_open_nonce(w->key, nonce, noncelen, aad, aadlen, ciphertext, ciphertextlen,
                              dest) == TERN_OK ? 0 : -1;
}

int ngtcp2_crypto_decrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                             const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *ciphertext,
                             size_t ciphertextlen, const uint8_t *nonce, size_t noncelen,
                             const uint8_t *aad, size_t aadlen) {
  return ngtcp2_crypto_decrypt(dest, aead, aead_ctx, ciphertext, ciphertextlen, nonce, noncelen,
                               aad, aadlen) == 0 ? 0 : NGTCP2_ERR_DECRYPT;
}

int ngtcp2_crypto_hp_mask(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
                          const ngtcp2_crypto_cipher_ctx *hp_ctx, const uint8_t *sample) {
  const ntern_key *w = hp_ctx->native_handle;
  (void)hp;
  if (w == NULL || w->key == NULL) return -1;
  if (tern_quic_hp_mask(w->key, sample, dest) != TERN_OK) return -1;
  /* ngtcp2 reads NGTCP2_HP_MASKLEN bytes; the rest of its buffer is zeroed */
  memset(dest + NGTCP2_HP_MASKLEN, 0, NGTCP2_HP_SAMPLELEN - NGTCP2_HP_MASKLEN);
  return 0;
}

int ngtcp2_crypto_hp_mask_cb(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
                             const ngtcp2_crypto_cipher_ctx *hp_ctx, const uint8_t *sample) {
  return ngtcp2_crypto_hp_mask(dest, hp, hp_ctx, sample) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

int ngtcp2_crypto_get_path_challenge_data_cb(ngtcp2_conn *conn, uint8_t *data,
                                             void *user_data) {
  (void)conn;
  (void)user_data;
  return RAND_bytes(data, NGTCP2_PATH_CHALLENGE_DATALEN) == 1 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}
