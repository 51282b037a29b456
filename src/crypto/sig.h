/*
 * crypto/sig.h - crypto layer: the TLS 1.3 signature schemes (RFC 8446
 * §4.2.3) and the CertificateVerify signature (RFC 8446 §4.4.3), on
 * libcrypto.
 *
 * Schemes: ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384,
 * ecdsa_secp521r1_sha512, rsa_pss_rsae_sha256/384/512,
 * rsa_pss_pss_sha256/384/512, ed25519, ed448. (rsa_pkcs1_* and SHA-1
 * schemes are never used for CertificateVerify in TLS 1.3.)
 */
#ifndef TERN_SIG_H
#define TERN_SIG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tern.h>

/* Largest signature tern makes or accepts (RSA 8192 bits). */
#define TERN_SIG_MAX 1024

typedef struct tern_sig {
  uint16_t id;          /* TERN_SIG_* */
  const char *name;     /* RFC 8446 name, e.g. "ecdsa_secp256r1_sha256" */
  int pkey_type;        /* EVP_PKEY_EC, EVP_PKEY_RSA, EVP_PKEY_RSA_PSS, EVP_PKEY_ED25519, EVP_PKEY_ED448 */
  int curve_nid;        /* ECDSA: the curve the scheme binds (NID_X9_62_prime256v1, ...); else 0 */
  const char *md;       /* digest name ("SHA256", ...); NULL for EdDSA */
  int pss;              /* 1 for rsa_pss_* (salt length = digest length) */
} tern_sig;

/* tern_sig_get returns the descriptor of a scheme tern supports, or NULL. */
const tern_sig *tern_sig_get(uint16_t id);

/* tern_sig_at returns the i-th scheme of the table, NULL past its end:
   walks every scheme tern supports. */
const tern_sig *tern_sig_at(size_t i);

/*
 * tern_sig_key_fits tells whether key can make (or verify) signatures of
 * scheme s: right key type, and for ECDSA the right curve; an RSA key
 * (rsaEncryption) fits rsa_pss_rsae_*, an RSASSA-PSS key fits
 * rsa_pss_pss_*. Returns 1 or 0. Cannot fail.
 */
int tern_sig_key_fits(const tern_sig *s, EVP_PKEY *key);

/*
 * tern_sig_pick chooses the scheme for signing with key: the first of
 * ours[0..n_ours) (our preference) that the peer offered in
 * peer[0..n_peer) and that the key fits. Returns TERN_OK with *out set,
 * or TERN_ERR_ALERT with *alert = handshake_failure when there is none.
 */
int tern_sig_pick(EVP_PKEY *key, const uint16_t *ours, size_t n_ours,
                  const uint16_t *peer, size_t n_peer, uint16_t *out,
                  uint8_t *alert);

/*
 * tern_sig_sign signs the CertificateVerify content of RFC 8446 §4.4.3
 * (64 spaces, the context string "TLS 1.3, server CertificateVerify" when
 * server is 1 or "TLS 1.3, client CertificateVerify" when 0, a zero byte,
 * then the transcript hash th[0..th_len)) with key under scheme s.
 * sig gets up to cap bytes; *sig_len the length.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (NULL, key does not fit s,
 * th_len > 64), TERN_ERR_BUFFER_TOO_SMALL, TERN_ERR_CRYPTO.
 */
int tern_sig_sign(const tern_sig *s, EVP_PKEY *key, int server,
                  const uint8_t *th, size_t th_len, uint8_t *sig, size_t cap,
                  size_t *sig_len);

/* The schemes of the table (tern_sig_at). */
#define TERN_SIG_SCHEMES 11

/*
 * Signing contexts prepared for one key, one per scheme of the table,
 * made on first use by tern_sig_sign_prepared (safely from several
 * threads) and kept by the key's holder until tern_sig_prepared_free.
 * Start zeroed.
 */
typedef struct tern_sig_prepared {
  EVP_PKEY_CTX *ctx[TERN_SIG_SCHEMES];
} tern_sig_prepared;

/* tern_sig_sign_prepared is tern_sig_sign on a copy of the context kept
   for s in prep (which must only ever be used with this key); prep NULL
   is tern_sig_sign. The same returns. */
int tern_sig_sign_prepared(const tern_sig *s, EVP_PKEY *key, tern_sig_prepared *prep,
                           int server, const uint8_t *th, size_t th_len, uint8_t *sig,
                           size_t cap, size_t *sig_len);

/* tern_sig_prepared_free frees the contexts of prep (NULL is fine). */
void tern_sig_prepared_free(tern_sig_prepared *prep);

/*
 * tern_sig_verify checks a CertificateVerify signature made by the peer
 * (server is 1 when the peer is the server) over the same content.
 * Returns TERN_OK, or TERN_ERR_ALERT with *alert set: illegal_parameter
 * when the key does not fit the scheme, decrypt_error when the signature
 * does not verify; TERN_ERR_INVALID_ARG for NULL arguments.
 */
int tern_sig_verify(const tern_sig *s, EVP_PKEY *key, int server,
                    const uint8_t *th, size_t th_len, const uint8_t *sig,
                    size_t sig_len, uint8_t *alert);

#endif
