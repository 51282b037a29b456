/*
 * proofs/crypto/mlkem_poly/harness.c - EVA over src/crypto/mlkem_poly.c,
 * ML-KEM's arithmetic, on coefficients of unknown value in the range each
 * function's contract (mlkem_poly.h) allows, and byte strings of unknown
 * bytes: no run-time error (no int16/int32 overflow, no out-of-bounds
 * index, no shift out of range) may be possible, and every assertion
 * below, the range each function guarantees, must be valid.
 *
 * Run by proofs/crypto/mlkem_poly/eva.sh with -warn-signed-downcast, so
 * that every narrowing to int16 is checked as well as every operation.
 * With NEGATIVE defined the harness gives the NTT coefficients up to 8q
 * (a seeded bound error: a caller that skipped a reduction): the
 * analysis must then report an alarm.
 */
#include "__fc_builtin.h"
#include "crypto/mlkem_poly.h"

#define Q MLKEM_Q

static mlkem_poly a[4], b[4], r;
static uint8_t bytes[MLKEM_POLY_BYTES], out[MLKEM_POLY_BYTES];

/* every coefficient of p unknown in [lo, hi] */
static void unknown_poly(mlkem_poly *p, int lo, int hi) {
  for (int i = 0; i < MLKEM_N; i++) p->c[i] = (int16_t)Frama_C_interval(lo, hi);
}
static void unknown_bytes(uint8_t *p, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)Frama_C_interval(0, 255);
}

int main(void) {
  int16_t x;
  int32_t big;
  /* Barrett over every int16, in 21 cases: a in [tq - 1664, tq + 1664]
     for t = -10 .. 10 (cut to int16) covers every int16, and in each
     case the quotient Barrett computes is the one value t, so the
     interval domain proves the exact centred range */
  for (int t = -10; t <= 10; t++) {
    int lo = t * Q - 1664, hi = t * Q + 1664;
    if (lo < -32768) lo = -32768;
    if (hi > 32767) hi = 32767;
    x = mlkem_barrett_reduce((int16_t)Frama_C_interval(lo, hi));
    /*@ assert barrett_range: -1664 <= x <= 1664; */
  }
  /* Montgomery: |a| <= q 2^15 */
  big = Frama_C_interval(-Q * 32768, Q * 32768);
  x = mlkem_montgomery_reduce(big);
  /*@ assert montgomery_range: -Q <= x <= Q; */

  /* NTT: input |c| < q (CBD output, decompressed values); seven layers
     of butterflies stay inside int16 (each adds less than q). With
     NEGATIVE, input up to 8q (a caller that forgot to reduce): the
     layers overflow int16 and the analysis must say so. */
#ifdef NEGATIVE
  unknown_poly(&a[0], -8 * Q, 8 * Q);
#else
  unknown_poly(&a[0], -(Q - 1), Q - 1);
#endif
  mlkem_poly_ntt(&a[0]);
  /* inverse NTT: |c| < q in (basemul_acc's output) */
  unknown_poly(&a[1], -(Q - 1), Q - 1);
  mlkem_poly_invntt_tomont(&a[1]);
  for (int i = 0; i < MLKEM_N; i++) {
    /*@ assert invntt_out: -Q <= a[1].c[i] <= Q; */
  }
  /* base multiplication, k = 4: a decoded (12 bits), b centred; the
     products summed in 32 bits, one Montgomery reduction each */
  for (int k = 0; k < 4; k++) {
    unknown_poly(&a[k], 0, 4095);
    unknown_poly(&b[k], -1664, 1664);
  }
  mlkem_poly_basemul_acc(&r, a, b, 4);
  mlkem_poly_tomont(&r);
  /* add/sub as Encrypt and Decrypt use them */
  unknown_poly(&a[2], -Q, Q);
  unknown_poly(&b[2], -1665 - 3, 1665 + 3);
  mlkem_poly_add(&r, &a[2], &b[2]);
  mlkem_poly_sub(&r, &a[2], &b[2]);
  /* encodings */
  unknown_poly(&a[3], -32768, 32767);
  mlkem_poly_tobytes(out, &a[3]);
  unknown_bytes(bytes, MLKEM_POLY_BYTES);
  (void)mlkem_poly_frombytes(&r, bytes);
  for (int i = 0; i < MLKEM_N; i++) {
    /*@ assert frombytes_12_bits: 0 <= r.c[i] <= 4095; */
  }
  for (unsigned d = 1; d <= 11; d++) {
    if (d != 1 && d != 4 && d != 5 && d != 10 && d != 11) continue;
    mlkem_poly_compress(out, &a[3], d);
    mlkem_poly_decompress(&r, bytes, d);
    for (int i = 0; i < MLKEM_N; i++) {
      /*@ assert decompress_range: 0 <= r.c[i] <= Q - 1; */
    }
  }
  {
    uint16_t y = mlkem_compress_coeff((uint16_t)Frama_C_interval(0, Q - 1), 11);
    /*@ assert compress_11: y <= 2047; */
  }
  /* sampling */
  /* CBD: the interval domain proves |c| <= 3 (eta 2) and <= 7 (eta 3),
     enough for the NTT's |c| < q; the exact [-eta, eta] is bit-level
     reasoning, checked by the known-answer tests */
  mlkem_poly_cbd(&r, bytes, 2);
  for (int i = 0; i < MLKEM_N; i++) {
    /*@ assert cbd2: -3 <= r.c[i] <= 3; */
  }
  mlkem_poly_cbd(&r, bytes, 3);
  for (int i = 0; i < MLKEM_N; i++) {
    /*@ assert cbd3: -7 <= r.c[i] <= 7; */
  }
  {
    unsigned filled = mlkem_rej_uniform(&r, 0, bytes, 3 * 128);
    /*@ assert rej_count: filled <= MLKEM_N; */
  }
  return 0;
}
