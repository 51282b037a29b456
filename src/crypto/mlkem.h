/*
 * crypto/mlkem.h - crypto layer: ML-KEM-512, ML-KEM-768 and ML-KEM-1024
 * (NIST FIPS 203, August 2024, the final standard), tern's own
 * implementation over libcrypto's SHA3-256, SHA3-512, SHAKE128 and
 * SHAKE256 (OpenSSL 3.0 has no ML-KEM).
 *
 * Keys and ciphertexts are the byte strings of FIPS 203 §7: the
 * encapsulation key ek (384k + 32 bytes), the decapsulation key dk
 * (768k + 96 bytes: dk_PKE || ek || H(ek) || z), the ciphertext
 * (32 (d_u k + d_v) bytes); the shared secret is 32 bytes.
 *
 * Secrets (d, z, m, dk, the shared secret and every intermediate) sit in
 * fixed arrays on the stack or in the caller's buffers and are wiped with
 * OPENSSL_cleanse; nothing is allocated but the libcrypto digest contexts
 * (kept per thread, see mlkem.c).
 * No branch and no memory index depends on a secret: the re-encryption
 * comparison and the implicit-rejection select of Decaps are masks.
 */
#ifndef TERN_MLKEM_H
#define TERN_MLKEM_H

#include <stddef.h>
#include <stdint.h>

#define TERN_MLKEM_SS_LEN 32      /* shared secret */
#define TERN_MLKEM_SEED_LEN 64    /* KeyGen's d || z */
#define TERN_MLKEM_MSG_LEN 32     /* Encaps' m */
#define TERN_MLKEM_MAX_EK 1568    /* ML-KEM-1024 */
#define TERN_MLKEM_MAX_DK 3168
#define TERN_MLKEM_MAX_CT 1568

/* A parameter set (FIPS 203 §8, Table 2) and its sizes. */
typedef struct tern_mlkem_params {
  const char *name;   /* "ML-KEM-768" */
  unsigned k, eta1, eta2, du, dv;
  size_t ek_len, dk_len, ct_len;
} tern_mlkem_params;

/* tern_mlkem_params_get returns ML-KEM-512, -768 or -1024 for level 512,
   768 or 1024, NULL for any other number. */
const tern_mlkem_params *tern_mlkem_params_get(unsigned level);

/*
 * tern_mlkem_keygen_derand (ML-KEM.KeyGen_internal, Algorithm 16): the
 * key pair of seed = d || z, ek into ek[0..ek_len), dk into
 * dk[0..dk_len). tern_mlkem_keygen draws the seed from RAND_bytes.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_CRYPTO (libcrypto's
 * SHA3/SHAKE or RAND_bytes failed; the outputs are then zeroed).
 */
int tern_mlkem_keygen_derand(const tern_mlkem_params *p,
                             const uint8_t seed[TERN_MLKEM_SEED_LEN], uint8_t *ek,
                             uint8_t *dk);
int tern_mlkem_keygen(const tern_mlkem_params *p, uint8_t *ek, uint8_t *dk);

/*
 * tern_mlkem_check_ek is the encapsulation-key check of FIPS 203 §7.2:
 * the length is ek_len and ByteEncode_12(ByteDecode_12(ek)) == ek, i.e.
 * every 12-bit coefficient is below q. Returns TERN_OK or
 * TERN_ERR_MALFORMED (TERN_ERR_INVALID_ARG for NULLs).
 */
int tern_mlkem_check_ek(const tern_mlkem_params *p, const uint8_t *ek,
                        size_t ek_len);

/*
 * tern_mlkem_encaps_derand (§7.2's checks, then ML-KEM.Encaps_internal,
 * Algorithm 17): ciphertext into ct[0..ct_len) and the shared secret
 * into ss for message m. tern_mlkem_encaps draws m from RAND_bytes.
 * Returns TERN_OK, TERN_ERR_MALFORMED (ek of the wrong length or failing
 * the modulus check: nothing is computed), TERN_ERR_INVALID_ARG,
 * TERN_ERR_CRYPTO; on failure ct and ss are zeroed.
 */
int tern_mlkem_encaps_derand(const tern_mlkem_params *p, const uint8_t *ek,
                             size_t ek_len, const uint8_t m[TERN_MLKEM_MSG_LEN],
                             uint8_t *ct, uint8_t ss[TERN_MLKEM_SS_LEN]);
int tern_mlkem_encaps(const tern_mlkem_params *p, const uint8_t *ek,
                      size_t ek_len, uint8_t *ct, uint8_t ss[TERN_MLKEM_SS_LEN]);

/*
 * tern_mlkem_decaps (§7.3's checks, then ML-KEM.Decaps_internal,
 * Algorithm 18, with implicit rejection: a ciphertext that does not
 * re-encrypt to itself yields J(z || c), not an error). Returns TERN_OK,
 * TERN_ERR_MALFORMED (dk or ct of the wrong length, or the hash check
 * H(ek) of §7.3 fails), TERN_ERR_INVALID_ARG, TERN_ERR_CRYPTO; on
 * failure ss is zeroed.
 */
int tern_mlkem_decaps(const tern_mlkem_params *p, const uint8_t *dk,
                      size_t dk_len, const uint8_t *ct, size_t ct_len,
                      uint8_t ss[TERN_MLKEM_SS_LEN]);

/*
 * The decapsulating side's kept key, for a key pair used once by its
 * maker (a TLS client's key share): tern_mlkem_keygen_kept writes ek as
 * tern_mlkem_keygen_derand does and, into kept[0..tern_mlkem_kept_len),
 * dk followed by the matrix A-hat (transposed, in the NTT domain: k^2
 * polynomials of 256 int16, public values) that KeyGen computed, so that
 * tern_mlkem_decaps_kept's re-encryption does not sample it again. The
 * kept key never leaves the process, so tern_mlkem_decaps_kept skips the
 * §7.3 hash check (H(ek) == h holds by construction); it checks the
 * lengths and does everything else tern_mlkem_decaps does, with the same
 * results. Wipe it with OPENSSL_cleanse (its first dk_len bytes are dk). Returns as keygen_derand / decaps.
 */
size_t tern_mlkem_kept_len(const tern_mlkem_params *p);
int tern_mlkem_keygen_kept(const tern_mlkem_params *p,
                           const uint8_t seed[TERN_MLKEM_SEED_LEN], uint8_t *ek,
                           uint8_t *kept);
int tern_mlkem_decaps_kept(const tern_mlkem_params *p, const uint8_t *kept,
                           size_t kept_len, const uint8_t *ct, size_t ct_len,
                           uint8_t ss[TERN_MLKEM_SS_LEN]);

/* tern_mlkem_sample_stats gives how many SampleNTT calls this process
   made and how many of them needed more XOF output than the first read
   (see mlkem.c). */
void tern_mlkem_sample_stats(unsigned long *calls, unsigned long *longer);

#endif
