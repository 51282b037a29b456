/*
 * proofs/engine/ticket/include/openssl/evp.h - what Frama-C sees of
 * <openssl/evp.h> when it analyses src/engine/ticket.c: the types
 * crypto/crypto.h and ticket.c name, and the AES-GCM calls of ticket.c,
 * each a small function whose contract (requires) is what libcrypto needs
 * of its arguments: every buffer it reads there and initialised, every
 * buffer it writes there. EVA checks each precondition at each call. The
 * bodies model what libcrypto does to tern's memory: a decryption writes
 * inl bytes of unknown value (the plaintext behind the tag is anything a
 * key holder sealed), an encryption writes inl bytes, a tag is 16 unknown
 * bytes; whether a call (and the tag check of DecryptFinal) succeeds is
 * unknown, so both outcomes are analysed.
 */
#ifndef TERN_PROOF_OPENSSL_EVP_H
#define TERN_PROOF_OPENSSL_EVP_H
#include <stddef.h>
#include <stdlib.h>
#include "__fc_builtin.h"

typedef struct engine_st ENGINE;
typedef struct evp_md_st { int id; } EVP_MD;
typedef struct evp_md_ctx_st { int id; } EVP_MD_CTX;
typedef struct evp_cipher_st { int id; } EVP_CIPHER;
typedef struct evp_cipher_ctx_st { int keyed; } EVP_CIPHER_CTX;

#define EVP_CTRL_AEAD_SET_IVLEN 0x9
#define EVP_CTRL_AEAD_GET_TAG 0x10
#define EVP_CTRL_AEAD_SET_TAG 0x11
#define EVP_MAX_MD_SIZE 64

static inline EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void) {
  return calloc(1, sizeof(EVP_CIPHER_CTX));
}
/*@ requires ctx == \null || \freeable(ctx); */
static inline void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx) { free(ctx); }
/*@ requires \valid(ctx); */
static inline int EVP_CIPHER_CTX_reset(EVP_CIPHER_CTX *ctx) {
  ctx->keyed = 0;
  return 1;
}

/*@ requires \valid(ctx);
    requires key == \null || \valid_read(key + (0 .. 31));
    requires iv == \null || \valid_read(iv + (0 .. 11));
*/
static inline int EVP_CipherInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *c,
                                    ENGINE *e, const unsigned char *key,
                                    const unsigned char *iv, int enc) {
  (void)c; (void)e; (void)iv; (void)enc;
  if (key != NULL) ctx->keyed = 1;
  return Frama_C_interval(0, 1);
}
/*@ requires \valid(ctx) && ctx->keyed == 1;
    requires iv == \null || \valid_read(iv + (0 .. 11));
    requires iv == \null || \initialized(iv + (0 .. 11));
*/
static inline int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *c,
                                     ENGINE *e, const unsigned char *key,
                                     const unsigned char *iv) {
  (void)c; (void)e; (void)key; (void)iv;
  return Frama_C_interval(0, 1);
}
/*@ requires \valid(ctx) && ctx->keyed == 1;
    requires iv == \null || \valid_read(iv + (0 .. 11));
    requires iv == \null || \initialized(iv + (0 .. 11));
*/
static inline int EVP_DecryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *c,
                                     ENGINE *e, const unsigned char *key,
                                     const unsigned char *iv) {
  (void)c; (void)e; (void)key; (void)iv;
  return Frama_C_interval(0, 1);
}

/* One Update: in[0 .. inl) is read; out (NULL for AAD) gets inl bytes. */
/*@ requires \valid(ctx) && \valid(outl) && inl >= 0;
    requires inl == 0 || \valid_read(in + (0 .. inl - 1));
    requires inl == 0 || \initialized(in + (0 .. inl - 1));
    requires out == \null || inl == 0 || \valid(out + (0 .. inl - 1));
*/
static inline int EVP_DecryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out,
                                    int *outl, const unsigned char *in,
                                    int inl) {
  (void)ctx; (void)in;
  if (out != NULL && inl > 0) Frama_C_make_unknown((char *)out, (size_t)inl);
  *outl = inl;
  return Frama_C_interval(0, 1);
}
/*@ requires \valid(ctx) && \valid(outl) && inl >= 0;
    requires inl == 0 || \valid_read(in + (0 .. inl - 1));
    requires inl == 0 || \initialized(in + (0 .. inl - 1));
    requires out == \null || inl == 0 || \valid(out + (0 .. inl - 1));
*/
static inline int EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out,
                                    int *outl, const unsigned char *in,
                                    int inl) {
  (void)ctx; (void)in;
  if (out != NULL && inl > 0) Frama_C_make_unknown((char *)out, (size_t)inl);
  *outl = inl;
  return Frama_C_interval(0, 1);
}
/* GCM writes nothing at Final: *outl is 0. Decrypt: the tag check. */
/*@ requires \valid(ctx) && \valid(outl); */
static inline int EVP_DecryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out,
                                      int *outl) {
  (void)ctx; (void)out;
  *outl = 0;
  return Frama_C_interval(0, 1);
}
/*@ requires \valid(ctx) && \valid(outl); */
static inline int EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out,
                                      int *outl) {
  (void)ctx; (void)out;
  *outl = 0;
  return Frama_C_interval(0, 1);
}
/* SET_IVLEN (ptr NULL), GET_TAG (writes arg bytes), SET_TAG (reads them). */
/*@ requires \valid(ctx);
    requires type == EVP_CTRL_AEAD_SET_IVLEN ==> ptr == \null && arg == 12;
    requires type == EVP_CTRL_AEAD_GET_TAG ==> arg == 16 && \valid((unsigned char *)ptr + (0 .. 15));
    requires type == EVP_CTRL_AEAD_SET_TAG ==> arg == 16 && \valid_read((unsigned char *)ptr + (0 .. 15));
    requires type == EVP_CTRL_AEAD_SET_TAG ==> \initialized((unsigned char *)ptr + (0 .. 15));
*/
static inline int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg,
                                      void *ptr) {
  (void)ctx;
  if (type == EVP_CTRL_AEAD_GET_TAG) Frama_C_make_unknown((char *)ptr, 16);
  (void)arg;
  return Frama_C_interval(0, 1);
}

#endif
