/*
 * crypto/aead.c - crypto layer: one suite's AEAD on a context keyed once
 * (see aead.h). The sequence per call differs by mode:
 *
 *   GCM, ChaCha20-Poly1305: nonce; AAD; data; final; get / set tag
 *   CCM (RFC 3610):         nonce; [open: expected tag]; plaintext
 *                           length; AAD; data (an open fails here when
 *                           the tag does not verify); final; [seal: tag]
 *
 * Nothing is allocated per call, on success or on a failed tag.
 *
 * Tags go through EVP_CIPHER_CTX_get_params / _set_params with a
 * one-element OSSL_PARAM array: EVP_CIPHER_CTX_ctrl builds that same
 * array in libcrypto 3 and adds a dispatch on the control code, a
 * measurable share of a 1200-byte packet's cost.
 *
 * The CCM tag length is a property of the key, set before it (16 bytes
 * for TLS_AES_128_CCM_SHA256, 8 for TLS_AES_128_CCM_8_SHA256, RFC 6655).
 */
#include <limits.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <tern.h>

#include "crypto/aead.h"

/* aead_get_tag reads the tag of a finished seal into tag[0..len). */
static int aead_get_tag(EVP_CIPHER_CTX *ctx, uint8_t *tag, size_t len) {
  OSSL_PARAM p[2] = {OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, len),
                     OSSL_PARAM_END};
  return EVP_CIPHER_CTX_get_params(ctx, p) > 0;
}

/* aead_set_tag gives an open the tag to check (or, for CCM at keying
   time with tag NULL, the tag length). */
static int aead_set_tag(EVP_CIPHER_CTX *ctx, const uint8_t *tag, size_t len) {
  OSSL_PARAM p[2] = {OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)tag, len),
                     OSSL_PARAM_END};
  return EVP_CIPHER_CTX_set_params(ctx, p) > 0;
}

/* tern_aead_key: see aead.h. */
int tern_aead_key(EVP_CIPHER_CTX *ctx, const tern_suite *s, const uint8_t *key,
                  int enc) {
  const EVP_CIPHER *cipher = tern_crypto_aead_cipher(s->aead);
  if (cipher == NULL || s->iv_len != 12 || s->tag_len > TERN_MAX_TAG_LEN ||
      !EVP_CIPHER_CTX_reset(ctx) ||
      !EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) <= 0 ||
      (s->ccm &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)s->tag_len, NULL) <= 0) ||
      !EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc))
    return TERN_ERR_CRYPTO;
  return TERN_OK;
}

/* tern_aead_seal: see aead.h. */
int tern_aead_seal(EVP_CIPHER_CTX *ctx, const tern_suite *s, const uint8_t nonce[12],
                   const uint8_t *ad, size_t ad_len, const uint8_t *in,
                   size_t in_len, uint8_t *out) {
  int outl = 0, finl = 0;
  /* CCM authenticates only once data goes through the data step, even
     none: it must see a non-NULL input then. */
  const uint8_t *src = in != NULL ? in : out;

  if (ad_len > INT_MAX || in_len > (size_t)INT_MAX - TERN_MAX_TAG_LEN)
    return TERN_ERR_CRYPTO;
  if (!EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) ||
      (s->ccm && !EVP_EncryptUpdate(ctx, NULL, &outl, NULL, (int)in_len)) ||
      (ad_len != 0 && !EVP_EncryptUpdate(ctx, NULL, &outl, ad, (int)ad_len)))
    goto fail;
  outl = 0;
  if (((in_len != 0 || s->ccm) &&
       !EVP_EncryptUpdate(ctx, out, &outl, src, (int)in_len)) ||
      !EVP_EncryptFinal_ex(ctx, out + outl, &finl) ||
      (size_t)outl + (size_t)finl != in_len ||
      !aead_get_tag(ctx, out + in_len, s->tag_len))
    goto fail;
  return TERN_OK;

fail:
  OPENSSL_cleanse(out, in_len + s->tag_len);
  return TERN_ERR_CRYPTO;
}

/* tern_aead_open: see aead.h. */
int tern_aead_open(EVP_CIPHER_CTX *ctx, const tern_suite *s, const uint8_t nonce[12],
                   const uint8_t *ad, size_t ad_len, const uint8_t *in,
                   size_t in_len, uint8_t *out) {
  uint8_t tag[TERN_MAX_TAG_LEN];
  size_t ct_len;
  int outl = 0, finl = 0, rc = TERN_ERR_CRYPTO;

  if (in_len < s->tag_len || in_len > INT_MAX || ad_len > INT_MAX) return TERN_ERR_CRYPTO;
  ct_len = in_len - s->tag_len;
  /* Keep the tag: decrypting in place never reaches it, but a copy keeps
     this right for any out. */
  memcpy(tag, in + ct_len, s->tag_len);
  if (!EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce)) goto fail;
  if (s->ccm) {
    /* CCM checks the tag while decrypting: it must be known first. */
    if (!aead_set_tag(ctx, tag, s->tag_len) ||
        !EVP_DecryptUpdate(ctx, NULL, &outl, NULL, (int)ct_len))
      goto fail;
  }
  if (ad_len != 0 && !EVP_DecryptUpdate(ctx, NULL, &outl, ad, (int)ad_len)) goto fail;
  outl = 0;
  if (s->ccm) {
    /* EVP_Cipher, not EVP_DecryptUpdate: the latter has libcrypto's error
       queue record a wrong tag, two allocations per forged record. */
    if (EVP_Cipher(ctx, out, in, (unsigned int)ct_len) < 0) {
      rc = TERN_ERR_DECRYPT;
      goto fail;
    }
    outl = (int)ct_len;
  } else if ((ct_len != 0 && !EVP_DecryptUpdate(ctx, out, &outl, in, (int)ct_len)) ||
             !aead_set_tag(ctx, tag, s->tag_len)) {
    goto fail;
  }
  if (EVP_DecryptFinal_ex(ctx, out + outl, &finl) <= 0) {
    rc = TERN_ERR_DECRYPT;
    goto fail;
  }
  if ((size_t)outl + (size_t)finl != ct_len) goto fail;
  return TERN_OK;

fail:
  OPENSSL_cleanse(out, ct_len);
  return rc;
}

/* ------------------------------------------------------------------ */
/* The provider's functions, called directly (AES-GCM, ChaCha20-Poly1305) */
/* ------------------------------------------------------------------ */

/*
 * What EVP_EncryptInit_ex and EVP_CIPHER_CTX_get_params add around the
 * provider's own AEAD in libcrypto 3.0 is, for a 1200-byte QUIC packet,
 * about a sixth of its cost: every nonce load asks the provider for the
 * IV length through OSSL_PARAMs (eight key lookups by strcmp), and the
 * EVP wrappers check and dispatch on each call. A QUIC key needs none of
 * it: the nonce length is fixed at 12, the direction at the key's use.
 * So for the default provider's AES-GCM and ChaCha20-Poly1305 the
 * provider's functions (its OSSL_DISPATCH table, from the public
 * OSSL_PROVIDER_query_operation) are called on a provider context of the
 * key's own. Any other provider (FIPS, an engine's) keeps the EVP path,
 * as does AES-CCM.
 */
typedef struct aead_funcs {
  OSSL_FUNC_cipher_newctx_fn *newctx;
  OSSL_FUNC_cipher_freectx_fn *freectx;
  OSSL_FUNC_cipher_encrypt_init_fn *einit;
  OSSL_FUNC_cipher_decrypt_init_fn *dinit;
  OSSL_FUNC_cipher_update_fn *update;
  OSSL_FUNC_cipher_final_fn *final;
  OSSL_FUNC_cipher_get_ctx_params_fn *get_ctx_params;
  OSSL_FUNC_cipher_set_ctx_params_fn *set_ctx_params;
  void *provctx;
  int ok; /* every function found */
} aead_funcs;

static aead_funcs direct_funcs[TERN_AEAD_KINDS];
static CRYPTO_ONCE direct_once = CRYPTO_ONCE_STATIC_INIT;

/* name_in_list: whether name is one of the ':'-separated names. */
static int name_in_list(const char *names, const char *name) {
  size_t n = strlen(name);
  for (const char *p = names; p != NULL && *p != '\0';) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && OPENSSL_strncasecmp(p, name, n) == 0) return 1;
    p = end ? end + 1 : NULL;
  }
  return 0;
}

/* direct_find fills f with the default provider's functions for the
   cipher of kind k, or leaves f->ok 0. */
static void direct_find(tern_aead_kind k, aead_funcs *f) {
  const EVP_CIPHER *cipher = tern_crypto_aead_cipher(k);
  const OSSL_PROVIDER *prov = cipher ? EVP_CIPHER_get0_provider(cipher) : NULL;
  const OSSL_ALGORITHM *algs, *a;
  const char *name;
  int no_cache = 0;

  if (prov == NULL || strcmp(OSSL_PROVIDER_get0_name(prov), "default") != 0) return;
  name = EVP_CIPHER_get0_name(cipher);
  algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache);
  /* a table the provider may not keep is not kept here either */
  if (algs == NULL || no_cache || name == NULL) goto out;
  for (a = algs; a->algorithm_names != NULL; a++)
    if (name_in_list(a->algorithm_names, name)) break;
  if (a->algorithm_names == NULL) goto out;
  for (const OSSL_DISPATCH *d = a->implementation; d->function_id != 0; d++) {
    switch (d->function_id) {
    case OSSL_FUNC_CIPHER_NEWCTX: f->newctx = OSSL_FUNC_cipher_newctx(d); break;
    case OSSL_FUNC_CIPHER_FREECTX: f->freectx = OSSL_FUNC_cipher_freectx(d); break;
    case OSSL_FUNC_CIPHER_ENCRYPT_INIT: f->einit = OSSL_FUNC_cipher_encrypt_init(d); break;
    case OSSL_FUNC_CIPHER_DECRYPT_INIT: f->dinit = OSSL_FUNC_cipher_decrypt_init(d); break;
    case OSSL_FUNC_CIPHER_UPDATE: f->update = OSSL_FUNC_cipher_update(d); break;
    case OSSL_FUNC_CIPHER_FINAL: f->final = OSSL_FUNC_cipher_final(d); break;
    case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
      f->get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d);
      break;
    case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
      f->set_ctx_params = OSSL_FUNC_cipher_set_ctx_params(d);
      break;
    default: break;
    }
  }
  f->provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
  f->ok = f->newctx && f->freectx && f->einit && f->dinit && f->update && f->final &&
          f->get_ctx_params && f->set_ctx_params;
out:
  /* the tables stay valid while the provider is loaded, and the fetched
     cipher holds a reference to it for the life of the process */
  if (algs != NULL) OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
}

static void direct_init(void) {
  direct_find(TERN_AEAD_AES_128_GCM, &direct_funcs[TERN_AEAD_AES_128_GCM]);
  direct_find(TERN_AEAD_AES_256_GCM, &direct_funcs[TERN_AEAD_AES_256_GCM]);
  direct_find(TERN_AEAD_CHACHA20_POLY1305, &direct_funcs[TERN_AEAD_CHACHA20_POLY1305]);
}

struct tern_aead_direct {
  const aead_funcs *f;
  const tern_suite *suite;
  void *pctx; /* the provider's context, keyed */
};

/* tern_aead_direct_new: see aead.h. */
tern_aead_direct *tern_aead_direct_new(const tern_suite *s, const uint8_t *key) {
  const aead_funcs *f;
  tern_aead_direct *d;

  if (s->ccm || s->iv_len != 12 || s->tag_len != 16 || (unsigned)s->aead >= TERN_AEAD_KINDS ||
      !CRYPTO_THREAD_run_once(&direct_once, direct_init))
    return NULL;
  f = &direct_funcs[s->aead];
  if (!f->ok) return NULL;
  d = OPENSSL_zalloc(sizeof *d);
  if (d == NULL) return NULL;
  d->f = f;
  d->suite = s;
  d->pctx = f->newctx(f->provctx);
  /* both AEADs take a 12-byte nonce by default */
  if (d->pctx == NULL || !f->einit(d->pctx, key, s->key_len, NULL, 0, NULL)) {
    tern_aead_direct_free(d);
    return NULL;
  }
  return d;
}

/* tern_aead_direct_free: the provider's freectx wipes its key schedule. */
void tern_aead_direct_free(tern_aead_direct *d) {
  if (d == NULL) return;
  if (d->pctx != NULL) d->f->freectx(d->pctx);
  OPENSSL_free(d);
}

/* tern_aead_direct_seal: see aead.h. */
int tern_aead_direct_seal(tern_aead_direct *d, const uint8_t nonce[12], const uint8_t *ad,
                          size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out) {
  const aead_funcs *f = d->f;
  size_t outl = 0, finl = 0;
  OSSL_PARAM p[2] = {OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, out + in_len, 16),
                     OSSL_PARAM_END};

  if (ad_len > INT_MAX || in_len > (size_t)INT_MAX - TERN_MAX_TAG_LEN) return TERN_ERR_CRYPTO;
  if (!f->einit(d->pctx, NULL, 0, nonce, 12, NULL) ||
      (ad_len != 0 && !f->update(d->pctx, NULL, &outl, ad_len, ad, ad_len)) ||
      (in_len != 0 && (!f->update(d->pctx, out, &outl, in_len, in, in_len) || outl != in_len)) ||
      !f->final(d->pctx, out + in_len, &finl, 0) || finl != 0 ||
      !f->get_ctx_params(d->pctx, p))
    goto fail;
  return TERN_OK;

fail:
  OPENSSL_cleanse(out, in_len + 16);
  return TERN_ERR_CRYPTO;
}

/* tern_aead_direct_open: see aead.h. */
int tern_aead_direct_open(tern_aead_direct *d, const uint8_t nonce[12], const uint8_t *ad,
                          size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out) {
  const aead_funcs *f = d->f;
  uint8_t tag[16];
  size_t ct_len, outl = 0, finl = 0;
  OSSL_PARAM p[2] = {OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, sizeof tag),
                     OSSL_PARAM_END};
  int rc = TERN_ERR_CRYPTO;

  if (in_len < 16 || in_len > INT_MAX || ad_len > INT_MAX) return TERN_ERR_CRYPTO;
  ct_len = in_len - 16;
  /* kept aside: decrypting in place never reaches it, but any out may */
  memcpy(tag, in + ct_len, 16);
  if (!f->dinit(d->pctx, NULL, 0, nonce, 12, NULL) ||
      (ad_len != 0 && !f->update(d->pctx, NULL, &outl, ad_len, ad, ad_len)) ||
      (ct_len != 0 && (!f->update(d->pctx, out, &outl, ct_len, in, ct_len) || outl != ct_len)) ||
      !f->set_ctx_params(d->pctx, p))
    goto fail;
  /* the provider compares the tags (CRYPTO_memcmp) and fails here */
  if (!f->final(d->pctx, out + ct_len, &finl, 0) || finl != 0) {
    rc = TERN_ERR_DECRYPT;
    goto fail;
  }
  return TERN_OK;

fail:
  OPENSSL_cleanse(out, ct_len);
  return rc;
}
