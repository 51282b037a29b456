/*
 * crypto/aead.h - crypto layer: the AEAD of a TLS 1.3 cipher suite (RFC
 * 8446 §5.2, RFC 9001 §5.3) on one prepared EVP_CIPHER_CTX, shared by
 * record protection (record_prot.c) and QUIC packet protection
 * (quic_packet.c): AES-GCM, ChaCha20-Poly1305, and AES-CCM with a 16- or
 * 8-byte tag. Not part of the public API.
 */
#ifndef TERN_AEAD_H
#define TERN_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"

/*
 * The AEAD of a suite on one EVP_CIPHER_CTX, keyed once per key so that
 * sealing and opening a record or packet allocate and fetch nothing; per
 * call only the nonce is loaded. GCM and ChaCha20-Poly1305 take nonce,
 * associated data, data, then give or check the tag; CCM (RFC 3610) needs
 * its tag length fixed before the key, and per call the plaintext length
 * before the associated data and the expected tag before the data.
 *
 * tern_aead_key (re)keys ctx (allocated by the caller, possibly keyed
 * before: its old key schedule is dropped) for sealing (enc 1) or
 * opening (enc 0) with a 12-byte nonce. Each tern_aead_seal /
 * tern_aead_open call sets the direction again with the nonce, so for
 * AES-GCM and ChaCha20-Poly1305 one context may serve both; not for
 * AES-CCM, whose bulk routine libcrypto 3.0 picks by the direction given
 * with the key. Returns TERN_OK or TERN_ERR_CRYPTO.
 */
int tern_aead_key(EVP_CIPHER_CTX *ctx, const tern_suite *s, const uint8_t *key,
                  int enc);

/*
 * tern_aead_seal encrypts in[0..in_len) into out (out may equal in) with
 * the associated data ad[0..ad_len) and appends the suite's tag, so out
 * receives in_len + s->tag_len bytes. Lengths must fit an int.
 * Returns TERN_OK or TERN_ERR_CRYPTO.
 */
int tern_aead_seal(EVP_CIPHER_CTX *ctx, const tern_suite *s, const uint8_t nonce[12],
                   const uint8_t *ad, size_t ad_len, const uint8_t *in,
                   size_t in_len, uint8_t *out);

/*
 * tern_aead_open authenticates and decrypts in[0..in_len) (ciphertext
 * then the tag; in_len >= s->tag_len) into out (in_len - tag bytes; out
 * may equal in). The tag is checked by libcrypto, never compared here.
 * On failure the bytes written to out are wiped.
 * Returns TERN_OK, TERN_ERR_DECRYPT (authentication failed) or
 * TERN_ERR_CRYPTO.
 */
int tern_aead_open(EVP_CIPHER_CTX *ctx, const tern_suite *s, const uint8_t nonce[12],
                   const uint8_t *ad, size_t ad_len, const uint8_t *in,
                   size_t in_len, uint8_t *out);

/*
 * The AEAD of a GCM or ChaCha20-Poly1305 suite (16-byte tag, 12-byte
 * nonce) through the default provider's own functions on a provider
 * context keyed once, without the EVP layer's per-call work (see aead.c):
 * for QUIC packets, where that work is a sixth of a packet's cost.
 *
 * tern_aead_direct_new keys a context for both directions, or returns
 * NULL when the suite's cipher is not the default provider's, is AES-CCM,
 * or on allocation failure: the caller then uses an EVP_CIPHER_CTX with
 * tern_aead_key. tern_aead_direct_free wipes and frees (NULL is a no-op).
 * tern_aead_direct_seal / _open behave as tern_aead_seal / tern_aead_open
 * and return the same codes.
 */
typedef struct tern_aead_direct tern_aead_direct;
tern_aead_direct *tern_aead_direct_new(const tern_suite *s, const uint8_t *key);
void tern_aead_direct_free(tern_aead_direct *d);
int tern_aead_direct_seal(tern_aead_direct *d, const uint8_t nonce[12], const uint8_t *ad,
                          size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out);
int tern_aead_direct_open(tern_aead_direct *d, const uint8_t nonce[12], const uint8_t *ad,
                          size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out);

#endif
