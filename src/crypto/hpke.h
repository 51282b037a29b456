/*
 * crypto/hpke.h - crypto layer: Hybrid Public Key Encryption (RFC 9180),
 * base mode (mode_base) only, on libcrypto 3.0 EVP. Used by Encrypted
 * ClientHello (RFC 9849); not part of the public API.
 *
 * KEMs:  DHKEM(X25519, HKDF-SHA256) 0x0020, DHKEM(P-256, HKDF-SHA256) 0x0010
 * KDFs:  HKDF-SHA256 0x0001, HKDF-SHA384 0x0002, HKDF-SHA512 0x0003
 * AEADs: AES-128-GCM 0x0001, AES-256-GCM 0x0002, ChaCha20-Poly1305 0x0003,
 *        Export-only 0xFFFF
 *
 * A context's AEAD is keyed once at setup (one EVP_CIPHER_CTX); per Seal or
 * Open only the nonce base_nonce XOR I2OSP(seq, Nn) is loaded (§5.2).
 */
#ifndef TERN_HPKE_H
#define TERN_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define TERN_HPKE_KEM_P256 0x0010
#define TERN_HPKE_KEM_X25519 0x0020
#define TERN_HPKE_KDF_SHA256 0x0001
#define TERN_HPKE_KDF_SHA384 0x0002
#define TERN_HPKE_KDF_SHA512 0x0003
#define TERN_HPKE_AEAD_AES128GCM 0x0001
#define TERN_HPKE_AEAD_AES256GCM 0x0002
#define TERN_HPKE_AEAD_CHACHA20 0x0003
#define TERN_HPKE_AEAD_EXPORT_ONLY 0xffff

#define TERN_HPKE_MAX_ENC 65    /* Nenc: 32 (X25519) or 65 (P-256) */
#define TERN_HPKE_MAX_SK 32     /* Nsk of both KEMs */
#define TERN_HPKE_MAX_SECRET 32 /* Nsecret of both KEMs */
#define TERN_HPKE_TAG_LEN 16    /* Nt of every AEAD here */

/* A ciphersuite: the three IANA code points. */
typedef struct tern_hpke_suite {
  uint16_t kem, kdf, aead;
} tern_hpke_suite;

/* A context of either role after setup (RFC 9180 §5.1). */
typedef struct tern_hpke_ctx {
  tern_hpke_suite suite;
  int sender;                 /* 1: Seal, 0: Open */
  size_t nk, nn, nh;          /* key, nonce and KDF output lengths */
  uint8_t key[32];
  uint8_t base_nonce[12];
  uint8_t exporter_secret[64];
  uint64_t seq;
  EVP_CIPHER_CTX *aead;       /* keyed once; NULL for Export-only */
} tern_hpke_ctx;

/* 1 when tern implements the suite, else 0. */
int tern_hpke_suite_supported(const tern_hpke_suite *s);
/* Nenc (= Npk) of a KEM, 0 when unknown. */
size_t tern_hpke_kem_enc_len(uint16_t kem);
/* 1 when pk[0..len) is a public key of kem a sender can encapsulate to
   (the right length; for P-256 an uncompressed point on the curve), else 0. */
int tern_hpke_public_key_valid(uint16_t kem, const uint8_t *pk, size_t len);
/* Nsk of a KEM, 0 when unknown. */
size_t tern_hpke_kem_sk_len(uint16_t kem);
/* Nk of an AEAD (0 for Export-only), or (size_t)-1 when unknown. */
size_t tern_hpke_aead_key_len(uint16_t aead);

/*
 * tern_hpke_derive_keypair (§7.1.3): sk[Nsk], pk[Npk] from ikm (at least
 * Nsk bytes). Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED,
 * TERN_ERR_CRYPTO (including DeriveKeyPairError for P-256).
 */
int tern_hpke_derive_keypair(uint16_t kem, const uint8_t *ikm, size_t ikm_len,
                             uint8_t *sk, uint8_t *pk);

/* tern_hpke_generate_keypair: a fresh random key pair, sk[Nsk], pk[Npk].
   Returns TERN_OK, TERN_ERR_UNSUPPORTED, TERN_ERR_CRYPTO. */
int tern_hpke_generate_keypair(uint16_t kem, uint8_t *sk, uint8_t *pk);

/* tern_hpke_public_key: pk[Npk] of sk[Nsk]. Returns TERN_OK,
   TERN_ERR_UNSUPPORTED, TERN_ERR_MALFORMED (sk out of range), TERN_ERR_CRYPTO. */
int tern_hpke_public_key(uint16_t kem, const uint8_t *sk, uint8_t *pk);

/*
 * tern_hpke_encap (§4.1): shared_secret[Nsecret] and enc[Nenc] to pkR.
 * ikmE (NULL: random) makes the ephemeral key with DeriveKeyPair, for the
 * test vectors. Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED,
 * TERN_ERR_MALFORMED (pkR not a valid public key, or an all-zero X25519
 * result, §7.1.4), TERN_ERR_CRYPTO.
 */
int tern_hpke_encap(uint16_t kem, const uint8_t *pkR, size_t pkR_len,
                    const uint8_t *ikmE, size_t ikmE_len,
                    uint8_t *shared_secret, uint8_t *enc);

/*
 * tern_hpke_decap (§4.1): shared_secret[Nsecret] from enc and skR.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED,
 * TERN_ERR_MALFORMED (enc not a valid public key or a zero DH result),
 * TERN_ERR_CRYPTO.
 */
int tern_hpke_decap(uint16_t kem, const uint8_t *enc, size_t enc_len,
                    const uint8_t *skR, uint8_t *shared_secret);

/*
 * tern_hpke_key_schedule (§5.1, mode_base): fills ctx (role sender or
 * recipient) from shared_secret and info, keys its AEAD. ksc_out, when not
 * NULL, receives the key_schedule_context (1 + 2*Nh bytes) for tests.
 * Returns TERN_OK, TERN_ERR_UNSUPPORTED, TERN_ERR_NOMEM, TERN_ERR_CRYPTO.
 */
int tern_hpke_key_schedule(tern_hpke_ctx *ctx, const tern_hpke_suite *s,
                           int sender, const uint8_t *shared_secret,
                           const uint8_t *info, size_t info_len,
                           uint8_t *ksc_out);

/* SetupBaseS (§5.1.1): encap to pkR then the key schedule; enc[Nenc] out.
   ikmE as for tern_hpke_encap. Returns as encap and key_schedule. */
int tern_hpke_setup_base_s(tern_hpke_ctx *ctx, const tern_hpke_suite *s,
                           const uint8_t *pkR, size_t pkR_len,
                           const uint8_t *info, size_t info_len,
                           const uint8_t *ikmE, size_t ikmE_len, uint8_t *enc);

/*
 * tern_hpke_private_key: the EVP_PKEY of private key sk (*pkey, to free
 * with EVP_PKEY_free) and its public key pk[Npk], for a recipient that
 * decapsulates with one key many times. Returns TERN_OK,
 * TERN_ERR_UNSUPPORTED, TERN_ERR_MALFORMED (sk out of range), TERN_ERR_CRYPTO.
 */
int tern_hpke_private_key(uint16_t kem, const uint8_t *sk, EVP_PKEY **pkey, uint8_t *pk);

/* SetupBaseR with a key prepared by tern_hpke_private_key (skR, pkR):
   no scalar multiplication besides the DH. Returns as tern_hpke_setup_base_r. */
int tern_hpke_setup_base_r_prepared(tern_hpke_ctx *ctx, const tern_hpke_suite *s,
                                    const uint8_t *enc, size_t enc_len, EVP_PKEY *skR,
                                    const uint8_t *pkR, const uint8_t *info, size_t info_len);

/* SetupBaseR (§5.1.1): decap enc with skR then the key schedule. Returns as
   decap and key_schedule. */
int tern_hpke_setup_base_r(tern_hpke_ctx *ctx, const tern_hpke_suite *s,
                           const uint8_t *enc, size_t enc_len,
                           const uint8_t *skR, const uint8_t *info,
                           size_t info_len);

/*
 * tern_hpke_seal (§5.2): ct[pt_len + 16] = Seal(key, nonce, aad, pt), then
 * seq + 1. Returns TERN_OK, TERN_ERR_STATE (recipient context, Export-only,
 * or the sequence exhausted), TERN_ERR_CRYPTO.
 */
int tern_hpke_seal(tern_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                   const uint8_t *pt, size_t pt_len, uint8_t *ct);

/*
 * tern_hpke_open (§5.2): pt[ct_len - 16] = Open(key, nonce, aad, ct); seq
 * advances only on success. Returns TERN_OK, TERN_ERR_DECRYPT (OpenError),
 * TERN_ERR_STATE, TERN_ERR_INVALID_ARG (ct shorter than the tag),
 * TERN_ERR_CRYPTO.
 */
int tern_hpke_open(tern_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                   const uint8_t *ct, size_t ct_len, uint8_t *pt);

/* tern_hpke_export (§5.3): out[L] = LabeledExpand(exporter_secret, "sec",
   exporter_context, L), L <= 255 * Nh. Returns TERN_OK,
   TERN_ERR_INVALID_ARG, TERN_ERR_CRYPTO. */
int tern_hpke_export(const tern_hpke_ctx *ctx, const uint8_t *exp_ctx,
                     size_t exp_ctx_len, uint8_t *out, size_t L);

/* Wipes the secrets and frees the AEAD context; ctx may be zeroed memory. */
void tern_hpke_ctx_clear(tern_hpke_ctx *ctx);

#endif
