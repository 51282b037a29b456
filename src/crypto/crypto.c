/*
 * crypto/crypto.c - crypto layer: libcrypto glue: descriptors, HKDF,
 * HKDF-Expand-Label, Derive-Secret, transcript hash and Finished (RFC 5869,
 * RFC 8446 §7.1, §4.4). EVP objects are fetched once per process.
 */
#include "crypto/crypto.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <tern.h>

/* Hash("") for SHA-256 and SHA-384, used by Derive-Secret(., "derived", ""). */
static const uint8_t empty_sha256[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
    0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
static const uint8_t empty_sha384[48] = {
    0x38, 0xb0, 0x60, 0xa7, 0x51, 0xac, 0x96, 0x38, 0x4c, 0xd9, 0x32, 0x7e,
    0xb1, 0xb1, 0xe3, 0x6a, 0x21, 0xfd, 0xb7, 0x11, 0x14, 0xbe, 0x07, 0x43,
    0x4c, 0x0c, 0xc7, 0xbf, 0x63, 0xf6, 0xe1, 0xda, 0x27, 0x4e, 0xde, 0xbf,
    0xe7, 0x6f, 0x65, 0xfb, 0xd5, 0x1a, 0xd2, 0xf1, 0x48, 0x98, 0xb9, 0x5b};

static const uint8_t empty_sha1[20] = {
    0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55,
    0xbf, 0xef, 0x95, 0x60, 0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09};

static const tern_hash hashes[3] = {
    {TERN_HASH_SHA256, 32, "SHA256", empty_sha256},
    {TERN_HASH_SHA384, 48, "SHA384", empty_sha384},
    {TERN_HASH_SHA1, 20, "SHA1", empty_sha1},
};

static const tern_suite suites[5] = {
    {TERN_TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256",
     TERN_AEAD_AES_128_GCM, 16, 12, 16, &hashes[TERN_HASH_SHA256], 0, 1},
    {TERN_TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384",
     TERN_AEAD_AES_256_GCM, 32, 12, 16, &hashes[TERN_HASH_SHA384], 0, 1},
    {TERN_TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256",
     TERN_AEAD_CHACHA20_POLY1305, 32, 12, 16, &hashes[TERN_HASH_SHA256], 0, 1},
    /* RFC 9001 §5.3, §5.4.3: AES-128-CCM in QUIC, with AES header protection */
    {TERN_TLS_AES_128_CCM_SHA256, "TLS_AES_128_CCM_SHA256",
     TERN_AEAD_AES_128_CCM, 16, 12, 16, &hashes[TERN_HASH_SHA256], 1, 1},
    /* RFC 9001 §5.3: never in QUIC */
    {TERN_TLS_AES_128_CCM_8_SHA256, "TLS_AES_128_CCM_8_SHA256",
     TERN_AEAD_AES_128_CCM_8, 16, 12, 8, &hashes[TERN_HASH_SHA256], 1, 0},
};

/* Process-wide fetched objects. */
static struct {
  EVP_MD *md[3];
  EVP_CIPHER *aead[TERN_AEAD_KINDS];
  EVP_CIPHER *hp[TERN_AEAD_KINDS];
  int ok;
} fetched;

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

/* Fetches every algorithm tern uses, once; failure leaves fetched.ok 0. */
static void fetch_all(void) {
  fetched.md[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
  fetched.md[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
  fetched.md[2] = EVP_MD_fetch(NULL, "SHA1", NULL);
  fetched.aead[0] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
  fetched.aead[1] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  fetched.aead[2] = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
  fetched.hp[0] = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
  fetched.hp[1] = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
  fetched.hp[2] = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
  /* CCM and CCM-8 differ only in the tag length set on the context. */
  fetched.aead[3] = EVP_CIPHER_fetch(NULL, "AES-128-CCM", NULL);
  fetched.aead[4] = EVP_CIPHER_fetch(NULL, "AES-128-CCM", NULL);
  fetched.hp[3] = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
  fetched.hp[4] = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
  fetched.ok = fetched.md[0] && fetched.md[1] && fetched.md[2];
  for (int k = 0; k < TERN_AEAD_KINDS; k++)
    fetched.ok = fetched.ok && fetched.aead[k] && fetched.hp[k];
}

/* tern_crypto_init: fetch everything once; TERN_OK or TERN_ERR_CRYPTO. */
int tern_crypto_init(void) {
  if (pthread_once(&fetch_once, fetch_all) != 0) return TERN_ERR_CRYPTO;
  return fetched.ok ? TERN_OK : TERN_ERR_CRYPTO;
}

const tern_hash *tern_hash_get(tern_hash_id id) {
  if (id != TERN_HASH_SHA256 && id != TERN_HASH_SHA384 && id != TERN_HASH_SHA1)
    return NULL;
  return &hashes[id];
}

const tern_suite *tern_suite_get(uint16_t id) {
  for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
    if (suites[i].id == id) return &suites[i];
  return NULL;
}

const tern_suite *tern_suite_at(size_t i) {
  return i < sizeof suites / sizeof suites[0] ? &suites[i] : NULL;
}

EVP_MD *tern_crypto_md(const tern_hash *h) { return fetched.md[h->id]; }
EVP_CIPHER *tern_crypto_aead_cipher(tern_aead_kind k) { return fetched.aead[k]; }
EVP_CIPHER *tern_crypto_hp_cipher(tern_aead_kind k) { return fetched.hp[k]; }

/*
 * Per-thread digest contexts, reused by every HMAC, one-shot hash and
 * transcript snapshot of the thread instead of a context made and freed
 * each time (libcrypto 3.0 allocates once per EVP_MD_CTX_new and once per
 * digest init or copy, so reuse saves one allocation each). Each is reset
 * after use, which frees (and wipes) the provider's state, so nothing
 * secret stays behind between uses. Freed when the thread ends.
 */
typedef struct scratch_ctx {
  EVP_MD_CTX *mac;   /* HMAC and one-shot hashes */
  EVP_MD_CTX *copy;  /* transcript snapshots */
} scratch_ctx;

static pthread_key_t scratch_key;
static int scratch_key_ok;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static __thread scratch_ctx *scratch;

/* Frees one thread's scratch contexts (the key's destructor). */
static void scratch_free(void *p) {
  scratch_ctx *s = p;
  if (s == NULL) return;
  EVP_MD_CTX_free(s->mac);
  EVP_MD_CTX_free(s->copy);
  OPENSSL_free(s);
}

/* Makes the key whose destructor frees a thread's contexts. */
static void scratch_key_make(void) {
  scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* This thread's scratch contexts, made on first use; NULL when they
   cannot be (callers then make a context of their own). */
static scratch_ctx *scratch_get(void) {
  scratch_ctx *s = scratch;
  if (s != NULL) return s;
  if (pthread_once(&scratch_once, scratch_key_make) != 0 || !scratch_key_ok) return NULL;
  s = OPENSSL_zalloc(sizeof *s);
  if (s == NULL) return NULL;
  s->mac = EVP_MD_CTX_new();
  s->copy = EVP_MD_CTX_new();
  if (s->mac == NULL || s->copy == NULL || pthread_setspecific(scratch_key, s) != 0) {
    scratch_free(s);
    return NULL;
  }
  scratch = s;
  return s;
}

/* A context for one use: this thread's (which is 0 in *own) or a new one
   (1 in *own). Give it back with ctx_put. */
static EVP_MD_CTX *ctx_take(int copy, int *own) {
  scratch_ctx *s = scratch_get();
  *own = s == NULL;
  if (s != NULL) return copy ? s->copy : s->mac;
  return EVP_MD_CTX_new();
}

/* Ends one use of a context from ctx_take: reset (its state freed and
   wiped) or freed. */
static void ctx_put(EVP_MD_CTX *ctx, int own) {
  if (own) EVP_MD_CTX_free(ctx);
  else EVP_MD_CTX_reset(ctx);
}

/*
 * tern_hmac_md_parts: HMAC(key, parts[0] || ... || parts[n-1]) -> out
 * (RFC 2104) with a digest fetched once (SHA-256, -384 or -512), on the
 * thread's reused digest context. libcrypto's EVP_MAC would look the
 * digest up by name and allocate several contexts for each of the ~40
 * HMACs of a handshake (and the ~20 of an HPKE setup).
 */
int tern_hmac_md_parts(const EVP_MD *md, const uint8_t *key, size_t key_len,
                       const uint8_t *const *parts, const size_t *lens, size_t n,
                       uint8_t *out, size_t *out_len) {
  uint8_t k[128], pad[128], inner[EVP_MAX_MD_SIZE];
  int nh = EVP_MD_get_size(md), bi = EVP_MD_get_block_size(md);
  size_t b = bi > 0 ? (size_t)bi : 0;
  unsigned int outl = 0;
  int own;
  EVP_MD_CTX *ctx;
  int ok;

  if (nh <= 0 || nh > EVP_MAX_MD_SIZE || b == 0 || b > sizeof k) return TERN_ERR_CRYPTO;
  ctx = ctx_take(0, &own);
  ok = ctx != NULL;
  memset(k, 0, sizeof k);
  if (ok && key_len > b)
    ok = EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, key, key_len) &&
         EVP_DigestFinal_ex(ctx, k, &outl);
  else if (key_len)
    memcpy(k, key, key_len);
  for (size_t i = 0; i < b; i++) pad[i] = k[i] ^ 0x36;
  ok = ok && EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, pad, b);
  for (size_t i = 0; ok && i < n; i++)
    ok = lens[i] == 0 || EVP_DigestUpdate(ctx, parts[i], lens[i]);
  ok = ok && EVP_DigestFinal_ex(ctx, inner, &outl) && outl == (unsigned)nh;
  for (size_t i = 0; i < b; i++) pad[i] = k[i] ^ 0x5c;
  ok = ok && EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, pad, b) &&
       EVP_DigestUpdate(ctx, inner, (size_t)nh) && EVP_DigestFinal_ex(ctx, out, &outl) &&
       outl == (unsigned)nh;
  if (ctx != NULL) ctx_put(ctx, own);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner, sizeof inner);
  if (!ok) OPENSSL_cleanse(out, (size_t)nh);
  if (out_len != NULL) *out_len = ok ? (size_t)nh : 0;
  return ok ? TERN_OK : TERN_ERR_CRYPTO;
}

/* HMAC(key, parts...) -> out[h->len] with one of the handshake's hashes. */
static int hmac_parts(const tern_hash *h, const uint8_t *key, size_t key_len,
                      const uint8_t *const *parts, const size_t *lens, size_t n,
                      uint8_t *out) {
  return tern_hmac_md_parts(fetched.md[h->id], key, key_len, parts, lens, n, out, NULL);
}

/* tern_hmac: HMAC(key, data) -> out[h->len]. */
int tern_hmac(const tern_hash *h, const uint8_t *key, size_t key_len,
              const uint8_t *data, size_t len, uint8_t *out) {
  const uint8_t *parts[1] = {data};
  size_t lens[1] = {len};
  if (h == NULL || out == NULL || (key == NULL && key_len) || (data == NULL && len))
    return TERN_ERR_INVALID_ARG;
  if (tern_crypto_init() != TERN_OK) return TERN_ERR_CRYPTO;
  return hmac_parts(h, key, key_len, parts, lens, 1, out);
}

/* tern_hkdf_extract: PRK = HMAC(salt, IKM), salt defaulting to zeros. */
int tern_hkdf_extract(const tern_hash *h, const uint8_t *salt, size_t salt_len,
                      const uint8_t *ikm, size_t ikm_len, uint8_t *prk) {
  static const uint8_t zeros[TERN_MAX_HASH_LEN];
  if (h == NULL || prk == NULL || (ikm == NULL && ikm_len)) return TERN_ERR_INVALID_ARG;
  if (salt == NULL || salt_len == 0) {
    salt = zeros;
    salt_len = h->len;
  }
  return tern_hmac(h, salt, salt_len, ikm ? ikm : zeros, ikm_len, prk);
}

/*
 * tern_hkdf_expand: T(i) = HMAC(PRK, T(i-1) | info | i), output the first
 * out_len bytes of T(1) | T(2) | ... (RFC 5869 §2.3).
 */
int tern_hkdf_expand(const tern_hash *h, const uint8_t *prk, size_t prk_len,
                     const uint8_t *info, size_t info_len, uint8_t *out,
                     size_t out_len) {
  uint8_t t[TERN_MAX_HASH_LEN];
  size_t t_len = 0, done = 0;
  uint8_t counter = 1;
  int rc = TERN_OK;

  if (h == NULL || prk == NULL || out == NULL || (info == NULL && info_len) ||
      out_len > 255 * h->len)
    return TERN_ERR_INVALID_ARG;
  if (tern_crypto_init() != TERN_OK) return TERN_ERR_CRYPTO;
  while (done < out_len) {
    const uint8_t *parts[3] = {t, info, &counter};
    size_t lens[3] = {t_len, info_len, 1};
    size_t n;
    rc = hmac_parts(h, prk, prk_len, parts, lens, 3, t);
    if (rc != TERN_OK) break;
    t_len = h->len;
    n = out_len - done < t_len ? out_len - done : t_len;
    memcpy(out + done, t, n);
    done += n;
    counter++;
  }
  OPENSSL_cleanse(t, sizeof t);
  if (rc != TERN_OK) OPENSSL_cleanse(out, out_len);
  return rc;
}

/*
 * tern_hkdf_expand_label builds the HkdfLabel structure of RFC 8446 §7.1
 *   struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
 *            opaque context<0..255>; } HkdfLabel;
 * and expands it.
 */
int tern_hkdf_expand_label(const tern_hash *h, const uint8_t *secret,
                           size_t secret_len, const char *label,
                           const uint8_t *ctx, size_t ctx_len, uint8_t *out,
                           size_t out_len) {
  static const char prefix[] = "tls13 ";
  uint8_t info[2 + 1 + 255 + 1 + 255];
  size_t label_len, n = 0;
  if (label == NULL || (ctx == NULL && ctx_len)) return TERN_ERR_INVALID_ARG;
  label_len = strlen(label);
  if (label_len + 6 > 255 || ctx_len > 255 || out_len > 0xffff)
    return TERN_ERR_INVALID_ARG;
  info[n++] = (uint8_t)(out_len >> 8);
  info[n++] = (uint8_t)out_len;
  info[n++] = (uint8_t)(label_len + 6);
  memcpy(info + n, prefix, 6);
  n += 6;
  memcpy(info + n, label, label_len);
  n += label_len;
  info[n++] = (uint8_t)ctx_len;
  if (ctx_len) memcpy(info + n, ctx, ctx_len);
  n += ctx_len;
  return tern_hkdf_expand(h, secret, secret_len, info, n, out, out_len);
}

/* tern_derive_secret: HKDF-Expand-Label(secret, label, hash, Hash.length). */
int tern_derive_secret(const tern_hash *h, const uint8_t *secret,
                       const char *label, const uint8_t *transcript_hash,
                       uint8_t *out) {
  if (h == NULL || transcript_hash == NULL) return TERN_ERR_INVALID_ARG;
  return tern_hkdf_expand_label(h, secret, h->len, label, transcript_hash,
                                h->len, out, h->len);
}

/* tern_hash_data: one-shot digest. */
int tern_hash_data(const tern_hash *h, const uint8_t *data, size_t len,
                   uint8_t *out) {
  unsigned int outl = 0;
  int own, ok;
  EVP_MD_CTX *ctx;
  if (h == NULL || out == NULL || (data == NULL && len)) return TERN_ERR_INVALID_ARG;
  if (tern_crypto_init() != TERN_OK) return TERN_ERR_CRYPTO;
  if ((ctx = ctx_take(0, &own)) == NULL) return TERN_ERR_NOMEM;
  ok = EVP_DigestInit_ex2(ctx, tern_crypto_md(h), NULL) && EVP_DigestUpdate(ctx, data, len) &&
       EVP_DigestFinal_ex(ctx, out, &outl) && outl == h->len;
  ctx_put(ctx, own);
  return ok ? TERN_OK : TERN_ERR_CRYPTO;
}

/* tern_digest_md: see crypto.h. */
int tern_digest_md(const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *out,
                   size_t *out_len) {
  unsigned int outl = 0;
  int own, ok;
  EVP_MD_CTX *ctx;
  if (md == NULL || out == NULL || out_len == NULL || (data == NULL && len))
    return TERN_ERR_INVALID_ARG;
  if ((ctx = ctx_take(0, &own)) == NULL) return TERN_ERR_NOMEM;
  ok = EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, data, len) &&
       EVP_DigestFinal_ex(ctx, out, &outl);
  ctx_put(ctx, own);
  *out_len = outl;
  return ok ? TERN_OK : TERN_ERR_CRYPTO;
}

/* tern_transcript_init starts an empty transcript under hash h. */
int tern_transcript_init(tern_transcript *t, const tern_hash *h) {
  if (t == NULL || h == NULL) return TERN_ERR_INVALID_ARG;
  t->hash = h;
  t->ctx = NULL;
  if (tern_crypto_init() != TERN_OK) return TERN_ERR_CRYPTO;
  t->ctx = EVP_MD_CTX_new();
  if (t->ctx == NULL) return TERN_ERR_NOMEM;
  if (!EVP_DigestInit_ex2(t->ctx, tern_crypto_md(h), NULL)) {
    EVP_MD_CTX_free(t->ctx);
    t->ctx = NULL;
    return TERN_ERR_CRYPTO;
  }
  return TERN_OK;
}

/* tern_transcript_update appends one handshake message (header included). */
int tern_transcript_update(tern_transcript *t, const uint8_t *msg, size_t len) {
  if (t == NULL || t->ctx == NULL || (msg == NULL && len)) return TERN_ERR_INVALID_ARG;
  return EVP_DigestUpdate(t->ctx, msg, len) ? TERN_OK : TERN_ERR_CRYPTO;
}

/* tern_transcript_current: Hash(messages so far), the running state kept. */
int tern_transcript_current(const tern_transcript *t, uint8_t *out) {
  unsigned int outl = 0;
  int rc = TERN_ERR_CRYPTO;
  int own;
  if (t == NULL || t->ctx == NULL || out == NULL) return TERN_ERR_INVALID_ARG;
  EVP_MD_CTX *copy = ctx_take(1, &own);
  if (copy == NULL) return TERN_ERR_NOMEM;
  if (EVP_MD_CTX_copy_ex(copy, t->ctx) && EVP_DigestFinal_ex(copy, out, &outl) &&
      outl == t->hash->len)
    rc = TERN_OK;
  ctx_put(copy, own);
  return rc;
}

/* tern_transcript_peek: Hash(messages so far || extra), state kept. */
int tern_transcript_peek(const tern_transcript *t, const uint8_t *extra, size_t extra_len,
                         uint8_t *out) {
  unsigned int outl = 0;
  int rc = TERN_ERR_CRYPTO;
  int own;
  if (t == NULL || t->ctx == NULL || out == NULL || (extra == NULL && extra_len))
    return TERN_ERR_INVALID_ARG;
  EVP_MD_CTX *copy = ctx_take(1, &own);
  if (copy == NULL) return TERN_ERR_NOMEM;
  if (EVP_MD_CTX_copy_ex(copy, t->ctx) && EVP_DigestUpdate(copy, extra, extra_len) &&
      EVP_DigestFinal_ex(copy, out, &outl) && outl == t->hash->len)
    rc = TERN_OK;
  ctx_put(copy, own);
  return rc;
}

/*
 * tern_transcript_hrr_rewrite: RFC 8446 §4.4.1 - after a
 * HelloRetryRequest the transcript restarts with
 *   message_hash(254) 00 00 Hash.length || Hash(ClientHello1).
 */
int tern_transcript_hrr_rewrite(tern_transcript *t) {
  uint8_t msg[4 + TERN_MAX_HASH_LEN];
  int rc;
  if (t == NULL || t->ctx == NULL) return TERN_ERR_INVALID_ARG;
  rc = tern_transcript_current(t, msg + 4);
  if (rc != TERN_OK) return rc;
  msg[0] = 254;
  msg[1] = 0;
  msg[2] = 0;
  msg[3] = (uint8_t)t->hash->len;
  if (!EVP_DigestInit_ex2(t->ctx, tern_crypto_md(t->hash), NULL)) return TERN_ERR_CRYPTO;
  return tern_transcript_update(t, msg, 4 + t->hash->len);
}

void tern_transcript_free(tern_transcript *t) {
  if (t == NULL) return;
  EVP_MD_CTX_free(t->ctx);
  t->ctx = NULL;
}

/*
 * tern_finished_verify_data (RFC 8446 §4.4.4):
 *   finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length)
 *   verify_data  = HMAC(finished_key, Transcript-Hash(...))
 */
int tern_finished_verify_data(const tern_hash *h, const uint8_t *base_key,
                              const uint8_t *transcript_hash, uint8_t *out) {
  uint8_t finished_key[TERN_MAX_HASH_LEN];
  int rc;
  if (h == NULL || base_key == NULL || transcript_hash == NULL || out == NULL)
    return TERN_ERR_INVALID_ARG;
  rc = tern_hkdf_expand_label(h, base_key, h->len, "finished", NULL, 0,
                              finished_key, h->len);
  if (rc == TERN_OK)
    rc = tern_hmac(h, finished_key, h->len, transcript_hash, h->len, out);
  OPENSSL_cleanse(finished_key, sizeof finished_key);
  return rc;
}

/* tern_transcript_dup: an independent copy of a running transcript. */
int tern_transcript_dup(tern_transcript *dst, const tern_transcript *src) {
  if (dst == NULL || src == NULL || src->ctx == NULL) return TERN_ERR_INVALID_ARG;
  dst->hash = src->hash;
  dst->ctx = EVP_MD_CTX_new();
  if (dst->ctx == NULL) return TERN_ERR_NOMEM;
  if (!EVP_MD_CTX_copy_ex(dst->ctx, src->ctx)) {
    EVP_MD_CTX_free(dst->ctx);
    dst->ctx = NULL;
    return TERN_ERR_CRYPTO;
  }
  return TERN_OK;
}

/* ------------------------------------------------------------------ */
/* Public HKDF, by cipher suite (tern.h)                               */
/* ------------------------------------------------------------------ */

/* suite_hash: the hash of a supported suite, with libcrypto ready. */
static const tern_hash *suite_hash(uint16_t suite) {
  const tern_suite *s = tern_suite_get(suite);
  if (s == NULL || tern_crypto_init() != TERN_OK) return NULL;
  return s->hash;
}

/* tern_suite_hkdf_extract: see tern.h. */
int tern_suite_hkdf_extract(uint16_t suite, const uint8_t *salt,
                            size_t salt_len, const uint8_t *ikm,
                            size_t ikm_len, uint8_t *prk) {
  const tern_hash *h = suite_hash(suite);
  if (h == NULL) return TERN_ERR_UNSUPPORTED;
  if (salt == NULL && salt_len != 0) return TERN_ERR_INVALID_ARG;
  return tern_hkdf_extract(h, salt, salt_len, ikm, ikm_len, prk);
}

/* tern_suite_hkdf_expand: see tern.h. */
int tern_suite_hkdf_expand(uint16_t suite, const uint8_t *prk, size_t prk_len,
                           const uint8_t *info, size_t info_len, uint8_t *out,
                           size_t out_len) {
  const tern_hash *h = suite_hash(suite);
  if (h == NULL) return TERN_ERR_UNSUPPORTED;
  return tern_hkdf_expand(h, prk, prk_len, info, info_len, out, out_len);
}

/*
 * tern_suite_hkdf_expand_label: see tern.h. The label arrives as bytes
 * with a length; the internal form takes a C string, so it is copied
 * (labels are at most 249 bytes) and may not hold a zero byte.
 */
int tern_suite_hkdf_expand_label(uint16_t suite, const uint8_t *secret,
                                 size_t secret_len, const uint8_t *label,
                                 size_t label_len, const uint8_t *context,
                                 size_t context_len, uint8_t *out,
                                 size_t out_len) {
  char text[250];
  const tern_hash *h = suite_hash(suite);
  if (h == NULL) return TERN_ERR_UNSUPPORTED;
  if (secret == NULL || out == NULL || (label == NULL && label_len != 0) ||
      label_len > 249 || (context == NULL && context_len != 0))
    return TERN_ERR_INVALID_ARG;
  if (label_len != 0) {
    if (memchr(label, 0, label_len) != NULL) return TERN_ERR_INVALID_ARG;
    memcpy(text, label, label_len);
  }
  text[label_len] = '\0';
  return tern_hkdf_expand_label(h, secret, secret_len, text, context,
                                context_len, out, out_len);
}
