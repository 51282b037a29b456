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
 * The CCM tag length is a property of the key, set before it (16 bytes
 * for TLS_AES_128_CCM_SHA256, 8 for TLS_AES_128_CCM_8_SHA256, RFC 6655).
 */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>

#include <tern.h>

#include "crypto/aead.h"

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
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)s->tag_len, out + in_len) <= 0)
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
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)s->tag_len, tag) <= 0 ||
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
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)s->tag_len, tag) <= 0) {
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
