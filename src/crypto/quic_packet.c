/*
 * crypto/quic_packet.c - crypto layer: QUIC packet protection (RFC 9001 §5,
 * RFC 9369 §3.3): Initial secrets, key derivation, AEAD packet protection,
 * header protection, header parsing for unprotection and the Retry
 * Integrity Tag.
 *
 * A tern_quic_key holds EVP_CIPHER_CTX objects keyed once when the
 * key is made (the AEAD, header protection), so that protecting or
 * unprotecting a packet allocates nothing and fetches nothing: per packet
 * only the nonce (and the direction) is loaded into an already keyed
 * context. For AES-GCM and ChaCha20-Poly1305 one AEAD context serves both
 * directions: they have one key schedule for sealing and opening, and
 * each call's EVP_EncryptInit_ex / EVP_DecryptInit_ex picks the
 * direction. A QUIC key is used in one direction only, so keying two
 * contexts cost a second key schedule (and GHASH table) per key for
 * nothing: about eight of them per connection. AES-CCM keeps a second
 * context for opening: libcrypto 3.0's CCM chooses its bulk routine by
 * the direction given with the key. A tern_quic_key is therefore not
 * safe for concurrent use by several threads; distinct keys are
 * independent.
 */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <tern.h>

#include "crypto/aead.h"
#include "crypto/crypto.h"

/* ------------------------------------------------------------------ */
/* Per-version constants                                               */
/* ------------------------------------------------------------------ */

/* Long header packet types, as numbers independent of the version. */
enum quic_ptype { PT_INITIAL = 0, PT_0RTT = 1, PT_HANDSHAKE = 2, PT_RETRY = 3 };

/*
 * Everything that differs between QUIC v1 (RFC 9001) and v2 (RFC 9369):
 * the Initial salt, the HKDF labels, the Retry integrity key and nonce,
 * and the mapping from the two type bits of a long header to packet types.
 */
typedef struct quic_version {
  uint32_t version;
  uint8_t salt[20];
  const char *key_label, *iv_label, *hp_label, *ku_label;
  uint8_t retry_key[16];
  uint8_t retry_nonce[12];
  uint8_t type_of_bits[4]; /* long header bits 0x30 >> 4 -> enum quic_ptype */
} quic_version;

static const quic_version quic_versions[2] = {
    {TERN_QUIC_V1,
     {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
      0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
     "quic key", "quic iv", "quic hp", "quic ku",
     {0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54,
      0xe3, 0x68, 0xc8, 0x4e},
     {0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb},
     /* RFC 9000 §17.2: Initial 0, 0-RTT 1, Handshake 2, Retry 3 */
     {PT_INITIAL, PT_0RTT, PT_HANDSHAKE, PT_RETRY}},
    {TERN_QUIC_V2,
     {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
      0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
     "quicv2 key", "quicv2 iv", "quicv2 hp", "quicv2 ku",
     {0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce,
      0xad, 0x7c, 0xcc, 0x92},
     {0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a},
     /* RFC 9369 §3.2: Retry 0, Initial 1, 0-RTT 2, Handshake 3 */
     {PT_RETRY, PT_INITIAL, PT_0RTT, PT_HANDSHAKE}},
};

/* quic_version_get returns the constants of a supported version or NULL. */
static const quic_version *quic_version_get(uint32_t version) {
  for (size_t i = 0; i < sizeof quic_versions / sizeof quic_versions[0]; i++)
    if (quic_versions[i].version == version) return &quic_versions[i];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Key derivation                                                      */
/* ------------------------------------------------------------------ */

/*
 * tern_quic_initial_secrets: initial_secret = HKDF-Extract(salt, DCID),
 * then client/server = HKDF-Expand-Label(initial_secret, "client in" /
 * "server in", "", 32) with SHA-256 (RFC 9001 §5.2, RFC 9369 §3.3.1).
 * The intermediate secret is wiped; on failure both outputs are zeroed.
 */
int tern_quic_initial_secrets(uint32_t version, const uint8_t *dcid,
                              size_t dcid_len, uint8_t client_secret[32],
                              uint8_t server_secret[32]) {
  static const uint8_t empty[1];
  uint8_t initial[32];
  const quic_version *v;
  const tern_hash *h;
  int rc;

  if (client_secret == NULL || server_secret == NULL ||
      (dcid == NULL && dcid_len != 0) || dcid_len > TERN_QUIC_MAX_CID_LEN)
    return TERN_ERR_INVALID_ARG;
  v = quic_version_get(version);
  if (v == NULL) return TERN_ERR_UNSUPPORTED;
  if (tern_crypto_init() != TERN_OK) return TERN_ERR_CRYPTO;
  h = tern_hash_get(TERN_HASH_SHA256);
  if (h == NULL) return TERN_ERR_CRYPTO;

  rc = tern_hkdf_extract(h, v->salt, sizeof v->salt, dcid ? dcid : empty,
                         dcid_len, initial);
  if (rc == TERN_OK)
    rc = tern_hkdf_expand_label(h, initial, sizeof initial, "client in", NULL,
                                0, client_secret, 32);
  if (rc == TERN_OK)
    rc = tern_hkdf_expand_label(h, initial, sizeof initial, "server in", NULL,
                                0, server_secret, 32);
  OPENSSL_cleanse(initial, sizeof initial);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(client_secret, 32);
    OPENSSL_cleanse(server_secret, 32);
    return TERN_ERR_CRYPTO;
  }
  return TERN_OK;
}

/*
 * quic_params_get validates a (version, suite, secret length) triple: the
 * suite must be one QUIC allows (RFC 9001 §5.3: not
 * TLS_AES_128_CCM_8_SHA256) and the secret exactly as long as its hash.
 * Shared by the key derivation entry points.
 */
static int quic_params_get(uint32_t version, uint16_t suite,
                           const uint8_t *secret, size_t secret_len,
                           const quic_version **v, const tern_suite **s) {
  if (secret == NULL) return TERN_ERR_INVALID_ARG;
  *v = quic_version_get(version);
  *s = tern_suite_get(suite);
  if (*v == NULL || *s == NULL || !(*s)->quic) return TERN_ERR_UNSUPPORTED;
  if (secret_len != (*s)->hash->len) return TERN_ERR_INVALID_ARG;
  if (tern_crypto_init() != TERN_OK) return TERN_ERR_CRYPTO;
  return TERN_OK;
}

/*
 * quic_expand_keys: key, iv and hp from a traffic secret with the
 * version's labels. key and hp receive s->key_len bytes, iv 12. On
 * failure all three are wiped.
 */
static int quic_expand_keys(const quic_version *v, const tern_suite *s,
                            const uint8_t *secret, size_t secret_len,
                            uint8_t *key, uint8_t iv[12], uint8_t *hp) {
  const tern_hash *h = s->hash;
  int rc = tern_hkdf_expand_label(h, secret, secret_len, v->key_label, NULL, 0,
                                  key, s->key_len);
  if (rc == TERN_OK)
    rc = tern_hkdf_expand_label(h, secret, secret_len, v->iv_label, NULL, 0,
                                iv, 12);
  if (rc == TERN_OK)
    rc = tern_hkdf_expand_label(h, secret, secret_len, v->hp_label, NULL, 0,
                                hp, s->key_len);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(key, s->key_len);
    OPENSSL_cleanse(iv, 12);
    OPENSSL_cleanse(hp, s->key_len);
    return TERN_ERR_CRYPTO;
  }
  return TERN_OK;
}

/*
 * tern_quic_derive_keys: the packet protection key, IV and header
 * protection key of RFC 9001 §5.1 ("quic key"/"quic iv"/"quic hp", or the
 * "quicv2 " labels of RFC 9369 §3.3.2). key and hp must each hold the
 * suite's key length (at most 32 bytes); *key_len and *hp_len are set to
 * it. secret_len must be the suite's hash length.
 */
int tern_quic_derive_keys(uint32_t version, uint16_t suite,
                          const uint8_t *secret, size_t secret_len,
                          uint8_t *key, size_t *key_len, uint8_t iv[12],
                          uint8_t *hp, size_t *hp_len) {
  const quic_version *v;
  const tern_suite *s;
  int rc;

  if (key == NULL || key_len == NULL || iv == NULL || hp == NULL ||
      hp_len == NULL)
    return TERN_ERR_INVALID_ARG;
  rc = quic_params_get(version, suite, secret, secret_len, &v, &s);
  if (rc != TERN_OK) return rc;
  rc = quic_expand_keys(v, s, secret, secret_len, key, iv, hp);
  if (rc != TERN_OK) return rc;
  *key_len = s->key_len;
  *hp_len = s->key_len;
  return TERN_OK;
}

/*
 * tern_quic_next_secret: the key update secret of RFC 9001 §6.1,
 * HKDF-Expand-Label(secret, "quic ku" / "quicv2 ku", "", Hash.length).
 * It is computed into a local buffer first so that next may equal secret.
 */
int tern_quic_next_secret(uint32_t version, uint16_t suite,
                          const uint8_t *secret, size_t secret_len,
                          uint8_t *next) {
  uint8_t tmp[TERN_MAX_SECRET_LEN];
  const quic_version *v;
  const tern_suite *s;
  int rc;

  if (next == NULL) return TERN_ERR_INVALID_ARG;
  rc = quic_params_get(version, suite, secret, secret_len, &v, &s);
  if (rc != TERN_OK) return rc;
  if (secret_len > sizeof tmp) return TERN_ERR_INVALID_ARG;
  rc = tern_hkdf_expand_label(s->hash, secret, secret_len, v->ku_label, NULL,
                              0, tmp, secret_len);
  if (rc == TERN_OK) memcpy(next, tmp, secret_len);
  OPENSSL_cleanse(tmp, sizeof tmp);
  return rc == TERN_OK ? TERN_OK : TERN_ERR_CRYPTO;
}

/* ------------------------------------------------------------------ */
/* Packet protection keys                                              */
/* ------------------------------------------------------------------ */

struct tern_quic_key {
  const tern_suite *suite;  /* its tag is TERN_QUIC_TAG_LEN bytes */
  uint32_t version;
  int hp_chacha;            /* 1: ChaCha20 header protection, 0: AES-ECB */
  uint8_t iv[12];           /* the static IV, XORed with the pn per packet */
  tern_aead_direct *direct; /* the AEAD through the provider, or NULL: */
  EVP_CIPHER_CTX *seal_ctx; /* AEAD, keyed; the direction set per call */
  EVP_CIPHER_CTX *open_ctx; /* seal_ctx, or for CCM its own, keyed to open */
  EVP_CIPHER_CTX *hp_ctx;   /* AES-ECB (no padding) or ChaCha20, keyed */
};

/*
 * tern_quic_key_free releases the cipher contexts (EVP_CIPHER_CTX_free
 * wipes their key schedules) and wipes the IV and the structure itself.
 */
void tern_quic_key_free(tern_quic_key *key) {
  if (key == NULL) return;
  tern_aead_direct_free(key->direct);
  if (key->open_ctx != key->seal_ctx) EVP_CIPHER_CTX_free(key->open_ctx);
  EVP_CIPHER_CTX_free(key->seal_ctx);
  EVP_CIPHER_CTX_free(key->hp_ctx);
  OPENSSL_cleanse(key, sizeof *key);
  OPENSSL_free(key);
}

/*
 * quic_aead_ctx_new makes an AEAD context keyed with a 12-byte nonce
 * length (and, for CCM, the tag length); the nonce and the direction are
 * loaded per packet.
 */
static EVP_CIPHER_CTX *quic_aead_ctx_new(const tern_suite *s, const uint8_t *key,
                                         int enc) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (ctx == NULL) return NULL;
  if (tern_aead_key(ctx, s, key, enc) != TERN_OK) {
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

/*
 * quic_key_make keys the AEAD and (when hp_key is not NULL) header
 * protection contexts of a new key from key material. The caller wipes
 * the material.
 */
static tern_quic_key *quic_key_make(uint32_t version, const tern_suite *s,
                                    const uint8_t *aead_key,
                                    const uint8_t iv[12],
                                    const uint8_t *hp_key) {
  const EVP_CIPHER *hpc;
  tern_quic_key *k;

  if (!s->quic || s->iv_len != 12 || s->tag_len != TERN_QUIC_TAG_LEN) return NULL;
  hpc = tern_crypto_hp_cipher(s->aead);
  if (hpc == NULL) return NULL;
  k = OPENSSL_zalloc(sizeof *k);
  if (k == NULL) return NULL;
  k->suite = s;
  k->version = version;
  k->hp_chacha = s->aead == TERN_AEAD_CHACHA20_POLY1305;
  if (iv != NULL) memcpy(k->iv, iv, 12);
  /* the provider's AEAD directly where it can be (aead.c), else EVP */
  k->direct = tern_aead_direct_new(s, aead_key);
  if (k->direct == NULL) {
    k->seal_ctx = quic_aead_ctx_new(s, aead_key, 1);
    k->open_ctx = s->ccm ? quic_aead_ctx_new(s, aead_key, 0) : k->seal_ctx;
    if (k->seal_ctx == NULL || k->open_ctx == NULL) goto fail;
  }
  if (hp_key != NULL) {
    k->hp_ctx = EVP_CIPHER_CTX_new();
    if (k->hp_ctx == NULL ||
        !EVP_EncryptInit_ex(k->hp_ctx, hpc, NULL, hp_key, NULL))
      goto fail;
    if (!k->hp_chacha && !EVP_CIPHER_CTX_set_padding(k->hp_ctx, 0)) goto fail;
  }
  return k;

fail:
  tern_quic_key_free(k);
  return NULL;
}

/*
 * tern_quic_key_new derives key, IV and HP key from the traffic secret and
 * prepares the AEAD and header protection contexts once. The
 * derived key material lives only in fixed local arrays that are wiped
 * before returning; the contexts hold their own key schedules.
 */
tern_quic_key *tern_quic_key_new(uint32_t version, uint16_t suite,
                                 const uint8_t *secret, size_t secret_len) {
  uint8_t aead_key[32], hp_key[32], iv[12];
  const quic_version *v;
  const tern_suite *s;
  tern_quic_key *k = NULL;

  /* quic_params_get refuses TLS_AES_128_CCM_8_SHA256 (RFC 9001 §5.3) */
  if (quic_params_get(version, suite, secret, secret_len, &v, &s) != TERN_OK)
    return NULL;
  if (s->key_len > sizeof aead_key) return NULL;
  if (quic_expand_keys(v, s, secret, secret_len, aead_key, iv, hp_key) ==
      TERN_OK)
    k = quic_key_make(version, s, aead_key, iv, hp_key);
  OPENSSL_cleanse(aead_key, sizeof aead_key);
  OPENSSL_cleanse(hp_key, sizeof hp_key);
  OPENSSL_cleanse(iv, sizeof iv);
  return k;
}

/*
 * tern_quic_key_new_raw: a key from material the caller derived (a QUIC
 * stack with its own key schedule, or a token key). It has no version, so
 * it cannot be updated; without hp it has no header protection.
 */
tern_quic_key *tern_quic_key_new_raw(uint16_t suite, const uint8_t *key,
                                     size_t key_len, const uint8_t *iv,
                                     const uint8_t *hp, size_t hp_len) {
  const tern_suite *s = tern_suite_get(suite);
  if (s == NULL || key == NULL || key_len != s->key_len ||
      (hp != NULL && hp_len != s->key_len) || (hp == NULL && hp_len != 0))
    return NULL;
  if (tern_crypto_init() != TERN_OK) return NULL;
  return quic_key_make(0, s, key, iv, hp);
}

/* ------------------------------------------------------------------ */
/* Per-packet operations                                               */
/* ------------------------------------------------------------------ */

/*
 * quic_nonce: the AEAD nonce of RFC 9001 §5.3, the 62-bit packet number
 * left-padded to 12 bytes (network byte order) and XORed with the IV.
 */
static inline void quic_nonce(const tern_quic_key *key, uint64_t pn,
                              uint8_t nonce[12]) {
  memcpy(nonce, key->iv, 12);
  for (int i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
}

/*
 * quic_hp_mask computes the mask without argument checks (internal use):
 * AES-ECB(hp_key, sample)[0..5) (RFC 9001 §5.4.3), or for ChaCha20 the
 * encryption of five zero bytes with the sample as the 16-byte IV, whose
 * first four bytes are the little-endian block counter and the last twelve
 * the nonce, as in OpenSSL's layout (RFC 9001 §5.4.4).
 */
static int quic_hp_mask(tern_quic_key *key, const uint8_t sample[16],
                        uint8_t mask[5]) {
  static const uint8_t zeros[5];
  uint8_t block[16];
  int outl;

  if (key->hp_ctx == NULL) return TERN_ERR_STATE; /* a raw key without hp */
  if (key->hp_chacha) {
    if (!EVP_EncryptInit_ex(key->hp_ctx, NULL, NULL, NULL, sample) ||
        !EVP_EncryptUpdate(key->hp_ctx, mask, &outl, zeros, 5) || outl != 5)
      return TERN_ERR_CRYPTO;
    return TERN_OK;
  }
  if (!EVP_EncryptUpdate(key->hp_ctx, block, &outl, sample, 16) || outl != 16)
    return TERN_ERR_CRYPTO;
  memcpy(mask, block, 5);
  return TERN_OK;
}

/* tern_quic_hp_mask: the checked public form of quic_hp_mask. */
int tern_quic_hp_mask(tern_quic_key *key, const uint8_t sample[16],
                      uint8_t mask[5]) {
  int rc;
  if (key == NULL || sample == NULL || mask == NULL) return TERN_ERR_INVALID_ARG;
  rc = quic_hp_mask(key, sample, mask);
  if (rc != TERN_OK) memset(mask, 0, 5);
  return rc;
}

/* quic_seal_args_ok: the argument checks of both seal entry points. */
static int quic_seal_args_ok(const tern_quic_key *key, const uint8_t *ad,
                             size_t ad_len, const uint8_t *in, size_t in_len,
                             const uint8_t *out) {
  return key != NULL && out != NULL && (ad != NULL || ad_len == 0) &&
         (in != NULL || in_len == 0) && ad_len <= INT_MAX &&
         in_len <= (size_t)INT_MAX - TERN_QUIC_TAG_LEN;
}

/* quic_seal: the AEAD encryption both seal entry points share. */
static int quic_seal(tern_quic_key *key, const uint8_t nonce[12], const uint8_t *ad,
                     size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out) {
  if (key->direct != NULL)
    return tern_aead_direct_seal(key->direct, nonce, ad, ad_len, in, in_len, out);
  return tern_aead_seal(key->seal_ctx, key->suite, nonce, ad, ad_len, in, in_len, out);
}

/*
 * tern_quic_seal: AEAD encryption with nonce = iv ^ pn and the header as
 * associated data; ciphertext then tag into out (out may equal in). The
 * prepared AEAD context only has its nonce reset: no allocation, no fetch.
 */
int tern_quic_seal(tern_quic_key *key, uint64_t pn, const uint8_t *ad,
                   size_t ad_len, const uint8_t *in, size_t in_len,
                   uint8_t *out) {
  uint8_t nonce[12];
  if (!quic_seal_args_ok(key, ad, ad_len, in, in_len, out))
    return TERN_ERR_INVALID_ARG;
  quic_nonce(key, pn, nonce);
  return quic_seal(key, nonce, ad, ad_len, in, in_len, out);
}

/* tern_quic_seal_nonce: the same with the caller's 12-byte nonce. */
int tern_quic_seal_nonce(tern_quic_key *key, const uint8_t *nonce,
                         size_t nonce_len, const uint8_t *ad, size_t ad_len,
                         const uint8_t *in, size_t in_len, uint8_t *out) {
  if (!quic_seal_args_ok(key, ad, ad_len, in, in_len, out) || nonce == NULL ||
      nonce_len != 12)
    return TERN_ERR_INVALID_ARG;
  return quic_seal(key, nonce, ad, ad_len, in, in_len, out);
}

/*
 * quic_open is the AEAD decryption both open entry points share, without
 * argument checks. The tag is handed to the AEAD and checked by
 * libcrypto; nothing is compared by hand. On failure the plaintext written
 * so far is wiped.
 */
static int quic_open(tern_quic_key *key, const uint8_t nonce[12], const uint8_t *ad,
                     size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out) {
  if (key->direct != NULL)
    return tern_aead_direct_open(key->direct, nonce, ad, ad_len, in, in_len, out);
  return tern_aead_open(key->open_ctx, key->suite, nonce, ad, ad_len, in, in_len, out);
}

/* quic_open_args_ok: the argument checks of both open entry points. */
static int quic_open_args_ok(const tern_quic_key *key, const uint8_t *ad,
                             size_t ad_len, const uint8_t *in, size_t in_len,
                             const uint8_t *out) {
  return key != NULL && in != NULL && out != NULL &&
         (ad != NULL || ad_len == 0) && ad_len <= INT_MAX &&
         in_len >= TERN_QUIC_TAG_LEN && in_len <= INT_MAX;
}

/*
 * tern_quic_open: AEAD decryption of ciphertext || tag with nonce iv ^ pn
 * and the header as associated data. On authentication failure out is
 * zeroed and TERN_ERR_DECRYPT returned.
 */
int tern_quic_open(tern_quic_key *key, uint64_t pn, const uint8_t *ad,
                   size_t ad_len, const uint8_t *in, size_t in_len,
                   uint8_t *out) {
  uint8_t nonce[12];
  if (!quic_open_args_ok(key, ad, ad_len, in, in_len, out))
    return TERN_ERR_INVALID_ARG;
  quic_nonce(key, pn, nonce);
  return quic_open(key, nonce, ad, ad_len, in, in_len, out);
}

/* tern_quic_open_nonce: the same with the caller's 12-byte nonce. */
int tern_quic_open_nonce(tern_quic_key *key, const uint8_t *nonce,
                         size_t nonce_len, const uint8_t *ad, size_t ad_len,
                         const uint8_t *in, size_t in_len, uint8_t *out) {
  if (!quic_open_args_ok(key, ad, ad_len, in, in_len, out) || nonce == NULL ||
      nonce_len != 12)
    return TERN_ERR_INVALID_ARG;
  return quic_open(key, nonce, ad, ad_len, in, in_len, out);
}

/*
 * tern_quic_protect: packet protection in place (RFC 9001 §5.3-5.4). The
 * packet number length comes from the two low bits of pkt[0]; the packet
 * number bytes at the end of the header must be the low bytes of pn. The
 * payload is sealed with the header as associated data, then the mask
 * from the sample at pn_offset + 4 is applied to the low 4 (long header)
 * or 5 (short header) bits of the first byte and to the packet number.
 */
int tern_quic_protect(tern_quic_key *key, uint64_t pn, uint8_t *pkt,
                      size_t hdr_len, size_t payload_len, size_t pkt_cap,
                      size_t *pkt_len) {
  uint8_t mask[5];
  size_t pn_len, pn_offset, total;
  int rc;

  if (key == NULL || pkt == NULL || pkt_len == NULL || hdr_len == 0 ||
      hdr_len > INT_MAX || payload_len > (size_t)INT_MAX - TERN_QUIC_TAG_LEN ||
      pn >= ((uint64_t)1 << 62))
    return TERN_ERR_INVALID_ARG;
  pn_len = (size_t)(pkt[0] & 0x03) + 1;
  if (hdr_len < 1 + pn_len) return TERN_ERR_INVALID_ARG;
  pn_offset = hdr_len - pn_len;
  /* The encoded packet number must be the low bytes of pn. */
  for (size_t i = 0; i < pn_len; i++)
    if (pkt[pn_offset + i] != (uint8_t)(pn >> (8 * (pn_len - 1 - i))))
      return TERN_ERR_INVALID_ARG;
  if (hdr_len > SIZE_MAX - TERN_QUIC_TAG_LEN - payload_len)
    return TERN_ERR_INVALID_ARG;
  total = hdr_len + payload_len + TERN_QUIC_TAG_LEN;
  if (total > pkt_cap) return TERN_ERR_BUFFER_TOO_SMALL;
  if (pn_offset + 4 + TERN_QUIC_SAMPLE_LEN > total) return TERN_ERR_MALFORMED;

  rc = tern_quic_seal(key, pn, pkt, hdr_len, pkt + hdr_len, payload_len,
                      pkt + hdr_len);
  if (rc != TERN_OK) return rc;
  rc = quic_hp_mask(key, pkt + pn_offset + 4, mask);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(pkt + hdr_len, payload_len + TERN_QUIC_TAG_LEN);
    return rc;
  }
  pkt[0] ^= mask[0] & ((pkt[0] & 0x80) ? 0x0f : 0x1f);
  for (size_t i = 0; i < pn_len; i++) pkt[pn_offset + i] ^= mask[1 + i];
  *pkt_len = total;
  return TERN_OK;
}

/*
 * quic_varint reads a QUIC variable-length integer (RFC 9000 §16) at
 * p[*off] without reading at or past p[len]; advances *off. Returns 0 on
 * success, -1 when the input ends inside the integer.
 */
static int quic_varint(const uint8_t *p, size_t len, size_t *off,
                       uint64_t *val) {
  size_t n, i = *off;
  uint64_t v;
  if (i >= len) return -1;
  n = (size_t)1 << (p[i] >> 6);
  if (n > len - i) return -1;
  v = p[i] & 0x3f;
  for (size_t j = 1; j < n; j++) v = (v << 8) | p[i + j];
  *off = i + n;
  *val = v;
  return 0;
}

/*
 * quic_decode_pn: the packet number decoding of RFC 9000 §A.3 for a
 * truncated pn of pn_nbits bits, given the largest pn received so far
 * (UINT64_MAX: none yet, the truncated value is the packet number).
 * Written with unsigned arithmetic so that no step can wrap.
 */
static uint64_t quic_decode_pn(uint64_t largest_pn, uint64_t truncated,
                               unsigned pn_nbits) {
  const uint64_t max_pn = ((uint64_t)1 << 62);
  uint64_t expected, win, hwin, pmask, candidate;

  if (largest_pn == UINT64_MAX) return truncated;
  expected = largest_pn + 1;
  win = (uint64_t)1 << pn_nbits;
  hwin = win / 2;
  pmask = win - 1;
  candidate = (expected & ~pmask) | truncated;
  if (expected >= hwin && candidate <= expected - hwin &&
      candidate < max_pn - win)
    return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}

/*
 * tern_quic_unprotect: parse the header of the first packet in pkt (every
 * length bounded by len), remove header protection, decode the packet
 * number against largest_pn and open the payload into out. Long headers:
 * version (v1 or v2 and that of the key), DCID and SCID (at most 20 bytes
 * each), the token of an Initial packet and the Length field covering
 * packet number and payload; Retry and Version Negotiation packets are
 * refused as TERN_ERR_MALFORMED. Short headers: 1 + short_dcid_len bytes
 * before the packet number, the packet runs to the end of the input.
 * The reserved bits are reported in out[0] unchecked: RFC 9000 §17.2
 * makes non-zero reserved bits a connection error, the caller's decision.
 * pkt is read only (unless out == pkt; out must not overlap pkt in any
 * other way); on any failure out[0..len) and *info are zeroed. Nothing is
 * ever read at or beyond pkt[len].
 */
int tern_quic_unprotect(tern_quic_key *key, const uint8_t *pkt, size_t len,
                        size_t short_dcid_len, uint64_t largest_pn,
                        uint8_t *out, tern_quic_packet_info *info) {
  uint8_t mask[5], first, nonce[12];
  size_t pn_offset, packet_len, pn_len, hdr_len, p;
  uint64_t truncated = 0, pn;
  uint32_t version = 0;
  int is_long, rc = TERN_ERR_MALFORMED;

  if (out == NULL) {
    if (info != NULL) memset(info, 0, sizeof *info);
    return TERN_ERR_INVALID_ARG;
  }
  if (key == NULL || pkt == NULL || info == NULL ||
      short_dcid_len > TERN_QUIC_MAX_CID_LEN ||
      (largest_pn != UINT64_MAX && largest_pn >= ((uint64_t)1 << 62)) ||
      len > INT_MAX) {
    rc = TERN_ERR_INVALID_ARG;
    goto fail;
  }
  if (len == 0) goto fail;

  is_long = (pkt[0] & 0x80) != 0;
  if (is_long) {
    const quic_version *v;
    uint64_t n;
    size_t cid_len;
    int type;

    /* 1 byte first byte + 4 bytes version + 1 byte DCID length */
    if (len < 6) goto fail;
    version = ((uint32_t)pkt[1] << 24) | ((uint32_t)pkt[2] << 16) |
              ((uint32_t)pkt[3] << 8) | (uint32_t)pkt[4];
    if (version == 0) goto fail; /* Version Negotiation */
    v = quic_version_get(version);
    if (v == NULL || version != key->version) goto fail;
    p = 5;
    for (int i = 0; i < 2; i++) { /* DCID, then SCID */
      if (p >= len) goto fail;
      cid_len = pkt[p++];
      if (cid_len > TERN_QUIC_MAX_CID_LEN || cid_len > len - p) goto fail;
      p += cid_len;
    }
    type = v->type_of_bits[(pkt[0] >> 4) & 0x03];
    if (type == PT_RETRY) goto fail;
    if (type == PT_INITIAL) {
      if (quic_varint(pkt, len, &p, &n) != 0 || n > len - p) goto fail;
      p += (size_t)n;
    }
    if (quic_varint(pkt, len, &p, &n) != 0 || n > len - p) goto fail;
    pn_offset = p;
    packet_len = p + (size_t)n;
  } else {
    pn_offset = 1 + short_dcid_len;
    packet_len = len;
  }
  /* The sample starts 4 bytes after the start of the packet number. */
  if (pn_offset > packet_len ||
      packet_len - pn_offset < 4 + TERN_QUIC_SAMPLE_LEN)
    goto fail;

  rc = quic_hp_mask(key, pkt + pn_offset + 4, mask);
  if (rc != TERN_OK) goto fail;
  first = pkt[0] ^ (mask[0] & (is_long ? 0x0f : 0x1f));
  pn_len = (size_t)(first & 0x03) + 1;
  hdr_len = pn_offset + pn_len;
  /* hdr_len + 16 <= packet_len follows from the sample check above. */

  if (out != pkt) memmove(out, pkt, pn_offset);
  out[0] = first;
  for (size_t i = 0; i < pn_len; i++) {
    out[pn_offset + i] = pkt[pn_offset + i] ^ mask[1 + i];
    truncated = (truncated << 8) | out[pn_offset + i];
  }
  pn = quic_decode_pn(largest_pn, truncated, (unsigned)(8 * pn_len));

  quic_nonce(key, pn, nonce);
  rc = quic_open(key, nonce, out, hdr_len, pkt + hdr_len, packet_len - hdr_len,
                 out + hdr_len);
  if (rc != TERN_OK) goto fail;

  info->pn = pn;
  info->hdr_len = hdr_len;
  info->payload_len = packet_len - hdr_len - TERN_QUIC_TAG_LEN;
  info->packet_len = packet_len;
  info->version = version;
  info->long_header = (uint8_t)is_long;
  return TERN_OK;

fail:
  OPENSSL_cleanse(out, len);
  if (info != NULL) memset(info, 0, sizeof *info);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Retry Integrity Tag                                                 */
/* ------------------------------------------------------------------ */

/*
 * quic_retry_tag: AES-128-GCM with the version's fixed key and nonce over
 * an empty plaintext, the associated data being the Retry pseudo-packet
 * ODCID length || ODCID || Retry packet without its tag (RFC 9001 §5.8).
 * A fresh context per call: a shared one would not be thread safe, and
 * Retry is rare enough that the allocation does not matter.
 */
static int quic_retry_tag(const quic_version *v, const uint8_t *odcid,
                          size_t odcid_len, const uint8_t *retry,
                          size_t retry_len, uint8_t tag[16]) {
  uint8_t odcid_len_byte = (uint8_t)odcid_len;
  const EVP_CIPHER *gcm;
  EVP_CIPHER_CTX *ctx;
  int outl, rc = TERN_ERR_CRYPTO;

  if (tern_crypto_init() != TERN_OK) return TERN_ERR_CRYPTO;
  gcm = tern_crypto_aead_cipher(TERN_AEAD_AES_128_GCM);
  if (gcm == NULL) return TERN_ERR_CRYPTO;
  ctx = EVP_CIPHER_CTX_new();
  if (ctx == NULL) return TERN_ERR_NOMEM;
  if (EVP_EncryptInit_ex(ctx, gcm, NULL, v->retry_key, v->retry_nonce) &&
      EVP_EncryptUpdate(ctx, NULL, &outl, &odcid_len_byte, 1) &&
      (odcid_len == 0 ||
       EVP_EncryptUpdate(ctx, NULL, &outl, odcid, (int)odcid_len)) &&
      EVP_EncryptUpdate(ctx, NULL, &outl, retry, (int)retry_len) &&
      EVP_EncryptFinal_ex(ctx, tag, &outl) &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) > 0)
    rc = TERN_OK;
  EVP_CIPHER_CTX_free(ctx);
  if (rc != TERN_OK) memset(tag, 0, 16);
  return rc;
}

/*
 * tern_quic_retry_tag: the Retry Integrity Tag of a Retry packet given
 * without its tag (RFC 9001 §5.8, RFC 9369 §3.3.3 for the v2 key/nonce).
 */
int tern_quic_retry_tag(uint32_t version, const uint8_t *odcid,
                        size_t odcid_len, const uint8_t *retry,
                        size_t retry_len, uint8_t tag[16]) {
  const quic_version *v;
  if (tag == NULL || retry == NULL || retry_len == 0 || retry_len > INT_MAX ||
      (odcid == NULL && odcid_len != 0) || odcid_len > TERN_QUIC_MAX_CID_LEN)
    return TERN_ERR_INVALID_ARG;
  v = quic_version_get(version);
  if (v == NULL) return TERN_ERR_UNSUPPORTED;
  return quic_retry_tag(v, odcid, odcid_len, retry, retry_len, tag);
}

/*
 * tern_quic_retry_verify: checks that packet is a Retry of the given
 * version (long header, version field, type bits, CID lengths within
 * bounds, room for the tag) and that its last 16 bytes are the integrity
 * tag, compared in constant time with CRYPTO_memcmp.
 */
int tern_quic_retry_verify(uint32_t version, const uint8_t *odcid,
                           size_t odcid_len, const uint8_t *packet,
                           size_t packet_len) {
  uint8_t tag[TERN_QUIC_RETRY_TAG_LEN];
  const quic_version *v;
  size_t p, cid_len;
  uint32_t pkt_version;
  int rc;

  if (packet == NULL || packet_len > INT_MAX ||
      (odcid == NULL && odcid_len != 0) || odcid_len > TERN_QUIC_MAX_CID_LEN)
    return TERN_ERR_INVALID_ARG;
  v = quic_version_get(version);
  if (v == NULL) return TERN_ERR_UNSUPPORTED;
  /* first byte, version, DCID length */
  if (packet_len < 6 || !(packet[0] & 0x80)) return TERN_ERR_MALFORMED;
  pkt_version = ((uint32_t)packet[1] << 24) | ((uint32_t)packet[2] << 16) |
                ((uint32_t)packet[3] << 8) | (uint32_t)packet[4];
  if (pkt_version != version ||
      v->type_of_bits[(packet[0] >> 4) & 0x03] != PT_RETRY)
    return TERN_ERR_MALFORMED;
  p = 5;
  for (int i = 0; i < 2; i++) {
    if (p >= packet_len) return TERN_ERR_MALFORMED;
    cid_len = packet[p++];
    if (cid_len > TERN_QUIC_MAX_CID_LEN || cid_len > packet_len - p)
      return TERN_ERR_MALFORMED;
    p += cid_len;
  }
  if (packet_len - p < TERN_QUIC_RETRY_TAG_LEN) return TERN_ERR_MALFORMED;

  rc = quic_retry_tag(v, odcid, odcid_len, packet,
                      packet_len - TERN_QUIC_RETRY_TAG_LEN, tag);
  if (rc != TERN_OK) return rc;
  rc = CRYPTO_memcmp(tag, packet + packet_len - TERN_QUIC_RETRY_TAG_LEN,
                     TERN_QUIC_RETRY_TAG_LEN) == 0
           ? TERN_OK
           : TERN_ERR_DECRYPT;
  OPENSSL_cleanse(tag, sizeof tag);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Key update                                                          */
/* ------------------------------------------------------------------ */

/*
 * tern_quic_key_update: the next key phase's packet protection from
 * next_secret, the header-protection context copied from old (RFC 9001
 * §6.1: header protection keys are not updated). NULL on failure.
 */
tern_quic_key *tern_quic_key_update(const tern_quic_key *old,
                                    const uint8_t *next_secret,
                                    size_t secret_len) {
  tern_quic_key *k;
  if (old == NULL || next_secret == NULL || old->hp_ctx == NULL) return NULL;
  k = tern_quic_key_new(old->version, old->suite->id, next_secret, secret_len);
  if (k == NULL) return NULL;
  if (!EVP_CIPHER_CTX_copy(k->hp_ctx, old->hp_ctx)) {
    tern_quic_key_free(k);
    return NULL;
  }
  return k;
}

/*
 * tern_quic_peek_key_phase: unmask a copy of a short header's first byte
 * (sample at pn offset + 4, RFC 9001 §5.4.2) and return its Key Phase bit.
 * Returns 0/1, TERN_ERR_INVALID_ARG, TERN_ERR_MALFORMED, TERN_ERR_CRYPTO.
 */
int tern_quic_peek_key_phase(tern_quic_key *key, const uint8_t *pkt,
                             size_t len, size_t short_dcid_len) {
  uint8_t mask[5];
  size_t pn_offset;
  if (key == NULL || pkt == NULL || short_dcid_len > TERN_QUIC_MAX_CID_LEN)
    return TERN_ERR_INVALID_ARG;
  pn_offset = 1 + short_dcid_len;
  if (len < pn_offset + 4 + TERN_QUIC_SAMPLE_LEN || (pkt[0] & 0x80) != 0)
    return TERN_ERR_MALFORMED;
  if (quic_hp_mask(key, pkt + pn_offset + 4, mask) != TERN_OK)
    return TERN_ERR_CRYPTO;
  return ((pkt[0] ^ (mask[0] & 0x1f)) >> 2) & 1;
}
