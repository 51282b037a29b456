/*
 * crypto/crypto.h - crypto layer: libcrypto glue: hash and cipher-suite
 * descriptors, HKDF (RFC 5869) and TLS 1.3's HKDF-Expand-Label /
 * Derive-Secret (RFC 8446 §7.1), transcript hashing and Finished (RFC 8446
 * §4.4.4).
 *
 * Every EVP object is fetched once per process (tern_crypto_init, run
 * implicitly through pthread_once by every entry point that needs it).
 */
#ifndef TERN_CRYPTO_H
#define TERN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#define TERN_MAX_HASH_LEN 48

/* SHA-1 exists only so the RFC 5869 test vectors can all run; no suite uses it. */
typedef enum tern_hash_id {
  TERN_HASH_SHA256 = 0,
  TERN_HASH_SHA384 = 1,
  TERN_HASH_SHA1 = 2
} tern_hash_id;

/* A hash function and its fetched libcrypto objects. */
typedef struct tern_hash {
  tern_hash_id id;
  size_t len;                   /* output length: 32 or 48 */
  const char *name;             /* "SHA256" / "SHA384" */
  const uint8_t *empty_hash;    /* Hash("") of this function */
} tern_hash;

typedef enum tern_aead_kind {
  TERN_AEAD_AES_128_GCM = 0,
  TERN_AEAD_AES_256_GCM = 1,
  TERN_AEAD_CHACHA20_POLY1305 = 2,
  TERN_AEAD_AES_128_CCM = 3,    /* RFC 6655 / RFC 8446 §B.4, 16-byte tag */
  TERN_AEAD_AES_128_CCM_8 = 4   /* the same cipher with an 8-byte tag */
} tern_aead_kind;
#define TERN_AEAD_KINDS 5

/* A TLS 1.3 cipher suite: its AEAD and its hash (RFC 8446 §B.4). */
typedef struct tern_suite {
  uint16_t id;                  /* IANA code, 0x1301.. */
  const char *name;
  tern_aead_kind aead;
  size_t key_len;               /* AEAD and header-protection key length */
  size_t iv_len;                /* 12 */
  size_t tag_len;               /* 16, or 8 for AES-128-CCM-8 */
  const tern_hash *hash;
  int ccm;                      /* CCM: tag length before the key, the
                                   plaintext length before the AAD */
  int quic;                     /* usable in QUIC: RFC 9001 §5.3 excludes
                                   TLS_AES_128_CCM_8_SHA256, the one suite
                                   without header protection */
} tern_suite;

/* The longest AEAD tag of any suite. */
#define TERN_MAX_TAG_LEN 16

/* tern_crypto_init fetches every EVP object once; 0 or TERN_ERR_CRYPTO. */
int tern_crypto_init(void);

/* Descriptor lookups; NULL when unsupported. */
const tern_hash *tern_hash_get(tern_hash_id id);
const tern_suite *tern_suite_get(uint16_t id);
/* The i-th suite of the table, NULL past its end: walks every suite. */
const tern_suite *tern_suite_at(size_t i);

/* Fetched objects (valid after tern_crypto_init succeeded). */
EVP_MD *tern_crypto_md(const tern_hash *h);
EVP_CIPHER *tern_crypto_aead_cipher(tern_aead_kind k);
/* The header-protection cipher: AES-128/256-ECB or ChaCha20. */
EVP_CIPHER *tern_crypto_hp_cipher(tern_aead_kind k);


/* HKDF-Extract(salt, ikm) -> prk[h->len]. salt may be NULL/0 (zeros). */
int tern_hkdf_extract(const tern_hash *h, const uint8_t *salt, size_t salt_len,
                      const uint8_t *ikm, size_t ikm_len, uint8_t *prk);

/* HKDF-Expand(prk, info, out_len); out_len <= 255 * h->len. */
int tern_hkdf_expand(const tern_hash *h, const uint8_t *prk, size_t prk_len,
                     const uint8_t *info, size_t info_len, uint8_t *out,
                     size_t out_len);

/*
 * HKDF-Expand-Label(secret, label, context, out_len) with the "tls13 "
 * prefix added here; label is the bare label ("key", "quic hp", ...).
 * label_len + 6 <= 255, ctx_len <= 255, out_len <= 65535.
 */
int tern_hkdf_expand_label(const tern_hash *h, const uint8_t *secret,
                           size_t secret_len, const char *label,
                           const uint8_t *ctx, size_t ctx_len, uint8_t *out,
                           size_t out_len);

/* Derive-Secret(secret, label, transcript_hash) -> out[h->len]. */
int tern_derive_secret(const tern_hash *h, const uint8_t *secret,
                       const char *label, const uint8_t *transcript_hash,
                       uint8_t *out);

/* One-shot hash of data -> out[h->len]. */
int tern_hash_data(const tern_hash *h, const uint8_t *data, size_t len,
                   uint8_t *out);

/* One-shot digest of data with any fetched md (SHA-512 too) on the
   thread's reused context -> out (EVP_MAX_MD_SIZE bytes of room),
   *out_len its length. TERN_OK, TERN_ERR_CRYPTO or TERN_ERR_NOMEM. */
int tern_digest_md(const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *out,
                   size_t *out_len);

/* HMAC(key, parts[0] || ... || parts[n-1]) -> out (the digest's length,
   in *out_len when not NULL) with any fetched SHA-2 md (SHA-512 too), on
   the thread's reused context. TERN_OK or TERN_ERR_CRYPTO. */
int tern_hmac_md_parts(const EVP_MD *md, const uint8_t *key, size_t key_len,
                       const uint8_t *const *parts, const size_t *lens, size_t n,
                       uint8_t *out, size_t *out_len);

/* HMAC(key, data) -> out[h->len]. */
int tern_hmac(const tern_hash *h, const uint8_t *key, size_t key_len,
              const uint8_t *data, size_t len, uint8_t *out);

/*
 * Transcript hash (RFC 8446 §4.4.1): a running hash over handshake
 * messages, with snapshots and the HelloRetryRequest message_hash rewrite.
 */
typedef struct tern_transcript {
  const tern_hash *hash;
  EVP_MD_CTX *ctx;
} tern_transcript;

int tern_transcript_init(tern_transcript *t, const tern_hash *h);
int tern_transcript_update(tern_transcript *t, const uint8_t *msg, size_t len);
/* The hash of everything so far, the running state left untouched. */
int tern_transcript_current(const tern_transcript *t, uint8_t *out);
/* Hash(messages so far || extra), the running state kept (PSK binders
   over a PartialClientHello, RFC 8446 §4.2.11.2). */
int tern_transcript_peek(const tern_transcript *t, const uint8_t *extra,
                         size_t extra_len, uint8_t *out);
/*
 * Replace the transcript so far (ClientHello1) by the synthetic
 * message_hash message: 0xfe 00 00 Hash.length Hash(ClientHello1).
 */
int tern_transcript_hrr_rewrite(tern_transcript *t);
void tern_transcript_free(tern_transcript *t);
/* dst becomes an independent copy of src (dst must not hold a context). */
int tern_transcript_dup(tern_transcript *dst, const tern_transcript *src);

/* finished_key = HKDF-Expand-Label(base_key, "finished", "", Hash.length)
   verify_data = HMAC(finished_key, transcript_hash) -> out[h->len]. */
int tern_finished_verify_data(const tern_hash *h, const uint8_t *base_key,
                              const uint8_t *transcript_hash, uint8_t *out);

#endif
