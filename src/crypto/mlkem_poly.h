/*
 * crypto/mlkem_poly.h - crypto layer: the arithmetic of ML-KEM (FIPS 203,
 * August 2024) on polynomials of R_q = Z_q[X]/(X^256 + 1), q = 3329:
 * modular reduction, the NTT and its inverse (§4.3, Algorithms 9 and 10),
 * multiplication in the NTT domain (§4.3.1, Algorithms 11 and 12),
 * Compress/Decompress (§4.2.1), ByteEncode/ByteDecode (§4.2.1,
 * Algorithms 5 and 6), SamplePolyCBD (Algorithm 8) and the rejection
 * step of SampleNTT (Algorithm 7).
 *
 * No function here allocates, hashes or branches on a coefficient: every
 * loop bound and every memory index depends on public sizes only, and
 * there is no division or modulo by q (reductions and Compress are
 * multiply-and-shift), so the code is constant time in secret values.
 * The one exception is the rejection step of SampleNTT, whose input is
 * the public matrix seed's XOF output.
 *
 * Representation: a coefficient is an int16_t; each function states the
 * range it needs and the range it guarantees. "Montgomery form" means
 * the value times 2^16 mod q. Where FIPS 203 is silent on the
 * representative, the code keeps signed representatives inside the
 * arithmetic and canonical ones in [0, q) at every encoding.
 */
#ifndef TERN_MLKEM_POLY_H
#define TERN_MLKEM_POLY_H

#include <stddef.h>
#include <stdint.h>

#define MLKEM_N 256
#define MLKEM_Q 3329
#define MLKEM_POLY_BYTES 384 /* ByteEncode_12 of one polynomial */

/* One polynomial, coefficient i of X^i (or the i-th NTT coefficient). */
typedef struct mlkem_poly {
  int16_t c[MLKEM_N];
} mlkem_poly;

/* montgomery_reduce: for |a| <= q * 2^15, returns a * 2^-16 mod q in
   (-q, q). */
int16_t mlkem_montgomery_reduce(int32_t a);

/* barrett_reduce: for any int16_t a, returns a mod q in [-(q-1)/2, (q-1)/2]
   (the centred representative). */
int16_t mlkem_barrett_reduce(int16_t a);

/* mlkem_poly_reduce: every coefficient to its centred representative
   (barrett_reduce). */
void mlkem_poly_reduce(mlkem_poly *p);

/* mlkem_poly_ntt (Algorithm 9): in: |c| < q; out: the NTT in bit-reversed
   order, |c| < 8q before the final reduce, centred after it. */
void mlkem_poly_ntt(mlkem_poly *p);

/* mlkem_poly_invntt_tomont (Algorithm 10): in: |c| <= q (basemul_acc's
   output); out: the inverse NTT times 2^16 mod q (the Montgomery factor
   the base multiplication left out is put back), |c| < q. */
void mlkem_poly_invntt_tomont(mlkem_poly *p);

/* mlkem_poly_basemul_acc (Algorithms 11 and 12, summed over k <= 4
   terms): r = sum_i a[i] * b[i] in the NTT domain, times 2^-16; a's
   coefficients |a| < 4096, b's centred (|b| <= (q-1)/2); summed in 32
   bits and reduced once: out |c| <= q (not centred). */
void mlkem_poly_basemul_acc(mlkem_poly *r, const mlkem_poly *a,
                            const mlkem_poly *b, unsigned k);

/* mlkem_poly_tomont: every coefficient times 2^16 mod q; out |c| < q. */
void mlkem_poly_tomont(mlkem_poly *p);

/* mlkem_poly_add / _sub: r = a + b / a - b coefficient-wise, without
   reduction (the caller bounds the sums to int16). */
void mlkem_poly_add(mlkem_poly *r, const mlkem_poly *a, const mlkem_poly *b);
void mlkem_poly_sub(mlkem_poly *r, const mlkem_poly *a, const mlkem_poly *b);

/* ByteEncode_12 (Algorithm 5, d = 12): in |c| < q, encoded canonical
   in [0, q); 384 bytes out. */
void mlkem_poly_tobytes(uint8_t out[MLKEM_POLY_BYTES], const mlkem_poly *p);

/* ByteDecode_12 (Algorithm 6, d = 12): out in [0, 4096). Returns 1 when
   every coefficient is below q (the modulus check of §7.2 on an
   encapsulation key), 0 otherwise; the coefficients are written either
   way, in time independent of their values. */
int mlkem_poly_frombytes(mlkem_poly *p, const uint8_t in[MLKEM_POLY_BYTES]);

/* Compress_d then ByteEncode_d (§4.2.1, Algorithm 5), d in {1, 4, 5, 10,
   11}: in |c| < q; out 32 * d bytes. */
void mlkem_poly_compress(uint8_t *out, const mlkem_poly *p, unsigned d);

/* ByteDecode_d then Decompress_d, d in {1, 4, 5, 10, 11}: reads 32 * d
   bytes; out in [0, q). */
void mlkem_poly_decompress(mlkem_poly *p, const uint8_t *in, unsigned d);

/* Compress_d of one coefficient x in [0, q), without division:
   round(2^d * x / q) mod 2^d. Exposed for the exhaustive test. */
uint16_t mlkem_compress_coeff(uint16_t x, unsigned d);

/* SamplePolyCBD_eta (Algorithm 8), eta in {2, 3}: reads 64 * eta bytes
   of PRF output; out in [-eta, eta]. */
void mlkem_poly_cbd(mlkem_poly *p, const uint8_t *buf, unsigned eta);

/*
 * The rejection step of SampleNTT (Algorithm 7): reads 12-bit candidates
 * from buf[0..len) (len a multiple of 3) into p->c[filled..256), keeping
 * those below q; returns the new count of filled coefficients. Branches
 * on the candidates, which come from the public seed rho.
 */
unsigned mlkem_rej_uniform(mlkem_poly *p, unsigned filled, const uint8_t *buf,
                           size_t len);

#endif
