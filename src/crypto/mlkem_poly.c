/*
 * crypto/mlkem_poly.c - crypto layer: ML-KEM's arithmetic (FIPS 203 §4),
 * portable C, compiled with -O3 (meson.build: a library of its own). See
 * mlkem_poly.h for each function's contract.
 *
 * Reductions: Montgomery with R = 2^16 for products (q^-1 mod 2^16 =
 * 62209, i.e. -3327 as a signed 16-bit value), Barrett with
 * v = round(2^26 / q) = 20159 for sums. The twiddle factors are
 * zeta^BitRev7(i) * 2^16 mod q with zeta = 17 (§4.3), centred.
 */
#include "crypto/mlkem_poly.h"

#define QINV (-3327)      /* q^-1 mod 2^16, as int16 */
#define BARRETT_V 20159   /* round(2^26 / q) */
#define MONT_R2_128 1441  /* 2^32 / 128 mod q: the inverse NTT's scale */
#define MONT_R2 1353      /* 2^32 mod q: tomont's factor */
/* floor(n / 2q) = (n * COMPRESS_M) >> COMPRESS_S for every n < 2^24
   (checked exhaustively over Compress's inputs by test_mlkem). */
#define COMPRESS_M 20642679u
#define COMPRESS_S 37

/* zeta^BitRev7(i) * 2^16 mod q, i = 0 .. 127 (entry 0 is not used). */
static const int16_t zetas[128] = {
    -1044, -758,  -359,  -1517, 1493,  1422,  287,   202,   -171,  622,   1577,
    182,   962,   -1202, -1474, 1468,  573,   -1325, 264,   383,   -829,  1458,
    -1602, -130,  -681,  1017,  732,   608,   -1542, 411,   -205,  -1571, 1223,
    652,   -552,  1015,  -1293, 1491,  -282,  -1544, 516,   -8,    -320,  -666,
    -1618, -1162, 126,   1469,  -853,  -90,   -271,  830,   107,   -1421, -247,
    -951,  -398,  961,   -1508, -725,  448,   -1065, 677,   -1275, -1103, 430,
    555,   843,   -1251, 871,   1550,  105,   422,   587,   177,   -235,  -291,
    -460,  1574,  1653,  -246,  778,   1159,  -147,  -777,  1483,  -602,  1119,
    -1590, 644,   -872,  349,   418,   329,   -156,  -75,   817,   1097,  603,
    610,   1322,  -1285, -1465, 384,   -1215, -136,  1218,  -1335, -874,  220,
    -1187, -1659, -1185, -1530, -1278, 794,   -1510, -854,  -870,  478,   -108,
    -308,  996,   991,   958,   -1460, 1522,  1628};

/* mlkem_montgomery_reduce: see mlkem_poly.h. */
int16_t mlkem_montgomery_reduce(int32_t a) {
  /* t = a q^-1 mod 2^16 as a signed 16-bit value, converted without an
     implementation-defined narrowing: the low 16 bits u, minus 2^16 when
     bit 15 is set */
  uint32_t u = ((uint32_t)a * (uint32_t)(uint16_t)QINV) & 0xffffu;
  int32_t t = (int32_t)u - (int32_t)((u & 0x8000u) << 1);
  return (int16_t)((a - t * MLKEM_Q) >> 16);
}

/* mlkem_barrett_reduce: see mlkem_poly.h. */
int16_t mlkem_barrett_reduce(int16_t a) {
  /* a - round(a v / 2^26) q, in one expression (the proof's interval
     analysis subdivides a's range across it) */
  return (int16_t)(a - (((int32_t)BARRETT_V * a + (1 << 25)) >> 26) * MLKEM_Q);
}

/* a * b * 2^-16 mod q, in (-q, q), for |a * b| <= q * 2^15. */
static int16_t fqmul(int16_t a, int16_t b) {
  return mlkem_montgomery_reduce((int32_t)a * b);
}

/* The canonical representative in [0, q) of a centred value in
   (-q, q): adds q when negative, by mask. */
static uint16_t to_canonical(int16_t a) {
  a = (int16_t)(a + ((a >> 15) & MLKEM_Q));
  return (uint16_t)a;
}

/* mlkem_poly_reduce: see mlkem_poly.h. */
void mlkem_poly_reduce(mlkem_poly *p) {
  for (unsigned i = 0; i < MLKEM_N; i++) p->c[i] = mlkem_barrett_reduce(p->c[i]);
}

/* mlkem_poly_ntt (FIPS 203 Algorithm 9): seven layers of Cooley-Tukey
   butterflies; each adds less than q to a coefficient's magnitude. */
void mlkem_poly_ntt(mlkem_poly *p) {
  unsigned k = 1;
  for (unsigned len = 128; len >= 2; len >>= 1) {
    for (unsigned start = 0; start < MLKEM_N; start += 2 * len) {
      int16_t zeta = zetas[k++];
      for (unsigned j = start; j < start + len; j++) {
        int16_t t = fqmul(zeta, p->c[j + len]);
        p->c[j + len] = (int16_t)(p->c[j] - t);
        p->c[j] = (int16_t)(p->c[j] + t);
      }
    }
  }
  mlkem_poly_reduce(p);
}

/* mlkem_poly_invntt_tomont (FIPS 203 Algorithm 10): Gentleman-Sande
   butterflies, sums Barrett-reduced at every layer, then the scale
   2^32 / 128 (1/128 of the algorithm, and the 2^16 basemul took). */
void mlkem_poly_invntt_tomont(mlkem_poly *p) {
  unsigned k = 127;
  for (unsigned len = 2; len <= 128; len <<= 1) {
    for (unsigned start = 0; start < MLKEM_N; start += 2 * len) {
      int16_t zeta = zetas[k--];
      for (unsigned j = start; j < start + len; j++) {
        int16_t t = p->c[j];
        p->c[j] = mlkem_barrett_reduce((int16_t)(t + p->c[j + len]));
        p->c[j + len] = (int16_t)(p->c[j + len] - t);
        p->c[j + len] = fqmul(zeta, p->c[j + len]);
      }
    }
  }
  for (unsigned j = 0; j < MLKEM_N; j++) p->c[j] = fqmul(p->c[j], MONT_R2_128);
}

/* BaseCaseMultiply (FIPS 203 Algorithm 12) on one pair of degree-one
   polynomials modulo X^2 - zeta, times 2^-16; each output in (-2q, 2q). */
static void basemul(int16_t r[2], const int16_t a[2], const int16_t b[2],
                    int16_t zeta) {
  r[0] = fqmul(fqmul(a[1], b[1]), zeta);
  r[0] = (int16_t)(r[0] + fqmul(a[0], b[0]));
  r[1] = (int16_t)(fqmul(a[0], b[1]) + fqmul(a[1], b[0]));
}

/* mlkem_poly_basemul_acc (FIPS 203 Algorithm 11, summed): k <= 4 terms of
   (-2q, 2q) stay inside int16 before the final reduction. */
void mlkem_poly_basemul_acc(mlkem_poly *r, const mlkem_poly *a,
                            const mlkem_poly *b, unsigned k) {
  int16_t t[2];
  for (unsigned j = 0; j < MLKEM_N; j++) r->c[j] = 0;
  for (unsigned i = 0; i < k; i++) {
    for (unsigned j = 0; j < MLKEM_N / 4; j++) {
      basemul(t, &a[i].c[4 * j], &b[i].c[4 * j], zetas[64 + j]);
      r->c[4 * j] = (int16_t)(r->c[4 * j] + t[0]);
      r->c[4 * j + 1] = (int16_t)(r->c[4 * j + 1] + t[1]);
      basemul(t, &a[i].c[4 * j + 2], &b[i].c[4 * j + 2], (int16_t)-zetas[64 + j]);
      r->c[4 * j + 2] = (int16_t)(r->c[4 * j + 2] + t[0]);
      r->c[4 * j + 3] = (int16_t)(r->c[4 * j + 3] + t[1]);
    }
  }
  mlkem_poly_reduce(r);
}

/* mlkem_poly_tomont: see mlkem_poly.h. */
void mlkem_poly_tomont(mlkem_poly *p) {
  for (unsigned i = 0; i < MLKEM_N; i++) p->c[i] = fqmul(p->c[i], MONT_R2);
}

/* mlkem_poly_add: see mlkem_poly.h. */
void mlkem_poly_add(mlkem_poly *r, const mlkem_poly *a, const mlkem_poly *b) {
  for (unsigned i = 0; i < MLKEM_N; i++) r->c[i] = (int16_t)(a->c[i] + b->c[i]);
}

/* mlkem_poly_sub: see mlkem_poly.h. */
void mlkem_poly_sub(mlkem_poly *r, const mlkem_poly *a, const mlkem_poly *b) {
  for (unsigned i = 0; i < MLKEM_N; i++) r->c[i] = (int16_t)(a->c[i] - b->c[i]);
}

/* mlkem_poly_tobytes (ByteEncode_12): two coefficients in three bytes,
   little-endian bit order (FIPS 203 Algorithm 5). */
void mlkem_poly_tobytes(uint8_t out[MLKEM_POLY_BYTES], const mlkem_poly *p) {
  for (unsigned i = 0; i < MLKEM_N / 2; i++) {
    uint16_t t0 = to_canonical(mlkem_barrett_reduce(p->c[2 * i]));
    uint16_t t1 = to_canonical(mlkem_barrett_reduce(p->c[2 * i + 1]));
    out[3 * i] = (uint8_t)t0;
    out[3 * i + 1] = (uint8_t)((t0 >> 8) | (t1 << 4));
    out[3 * i + 2] = (uint8_t)(t1 >> 4);
  }
}

/* mlkem_poly_frombytes (ByteDecode_12, FIPS 203 Algorithm 6): the check
   accumulates (c - q)'s sign bits, so it does not branch either. */
int mlkem_poly_frombytes(mlkem_poly *p, const uint8_t in[MLKEM_POLY_BYTES]) {
  uint32_t below = 1;
  for (unsigned i = 0; i < MLKEM_N / 2; i++) {
    uint16_t t0 = (uint16_t)(in[3 * i] | ((in[3 * i + 1] & 0x0f) << 8));
    uint16_t t1 = (uint16_t)((in[3 * i + 1] >> 4) | (in[3 * i + 2] << 4));
    below &= ((uint32_t)t0 - MLKEM_Q) >> 31;
    below &= ((uint32_t)t1 - MLKEM_Q) >> 31;
    p->c[2 * i] = (int16_t)t0;
    p->c[2 * i + 1] = (int16_t)t1;
  }
  return (int)below;
}

/* mlkem_compress_coeff: round(2^d x / q) = floor((2^(d+1) x + q) / 2q),
   the division by the constant 2q done as a multiply and a shift. */
uint16_t mlkem_compress_coeff(uint16_t x, unsigned d) {
  uint32_t n = ((uint32_t)x << (d + 1)) + MLKEM_Q;
  uint32_t quot = (uint32_t)(((uint64_t)n * COMPRESS_M) >> COMPRESS_S);
  return (uint16_t)(quot & ((1u << d) - 1));
}

/* mlkem_poly_compress (Compress_d then ByteEncode_d): bits packed
   little-endian, coefficient i's bit j at bit i * d + j of the output. */
void mlkem_poly_compress(uint8_t *out, const mlkem_poly *p, unsigned d) {
  uint32_t acc = 0;
  unsigned bits = 0, o = 0;
  for (unsigned i = 0; i < MLKEM_N; i++) {
    uint16_t x = to_canonical(mlkem_barrett_reduce(p->c[i]));
    acc |= (uint32_t)mlkem_compress_coeff(x, d) << bits;
    bits += d;
    while (bits >= 8) {
      out[o++] = (uint8_t)acc;
      acc >>= 8;
      bits -= 8;
    }
  }
}

/* mlkem_poly_decompress (ByteDecode_d then Decompress_d):
   round(q y / 2^d) = (q y + 2^(d-1)) >> d. */
void mlkem_poly_decompress(mlkem_poly *p, const uint8_t *in, unsigned d) {
  uint32_t acc = 0;
  unsigned bits = 0, o = 0;
  for (unsigned i = 0; i < MLKEM_N; i++) {
    while (bits < d) {
      acc |= (uint32_t)in[o++] << bits;
      bits += 8;
    }
    uint32_t y = acc & ((1u << d) - 1);
    acc >>= d;
    bits -= d;
    p->c[i] = (int16_t)((y * MLKEM_Q + (1u << (d - 1))) >> d);
  }
}

/* Little-endian loads for the CBD sampler. */
static uint32_t load32_le(const uint8_t *b) {
  return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
         ((uint32_t)b[3] << 24);
}
static uint32_t load24_le(const uint8_t *b) {
  return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16);
}

/* mlkem_poly_cbd (SamplePolyCBD_eta, FIPS 203 Algorithm 8): each
   coefficient is (sum of eta bits) - (sum of the next eta bits), the
   sums taken for several coefficients at once by masking. */
void mlkem_poly_cbd(mlkem_poly *p, const uint8_t *buf, unsigned eta) {
  if (eta == 2) {
    for (unsigned i = 0; i < MLKEM_N / 8; i++) {
      uint32_t t = load32_le(buf + 4 * i);
      uint32_t s = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);
      for (unsigned j = 0; j < 8; j++) {
        int16_t a = (int16_t)((s >> (4 * j)) & 3);
        int16_t b = (int16_t)((s >> (4 * j + 2)) & 3);
        p->c[8 * i + j] = (int16_t)(a - b);
      }
    }
  } else {
    for (unsigned i = 0; i < MLKEM_N / 4; i++) {
      uint32_t t = load24_le(buf + 3 * i);
      uint32_t s = (t & 0x00249249u) + ((t >> 1) & 0x00249249u) +
                   ((t >> 2) & 0x00249249u);
      for (unsigned j = 0; j < 4; j++) {
        int16_t a = (int16_t)((s >> (6 * j)) & 7);
        int16_t b = (int16_t)((s >> (6 * j + 3)) & 7);
        p->c[4 * i + j] = (int16_t)(a - b);
      }
    }
  }
}

/* mlkem_rej_uniform (SampleNTT's loop, FIPS 203 Algorithm 7): three
   bytes give two 12-bit candidates d1, d2. */
unsigned mlkem_rej_uniform(mlkem_poly *p, unsigned filled, const uint8_t *buf,
                           size_t len) {
  for (size_t pos = 0; pos + 3 <= len && filled < MLKEM_N; pos += 3) {
    uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0f) << 8));
    uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));
    if (d1 < MLKEM_Q) p->c[filled++] = (int16_t)d1;
    if (d2 < MLKEM_Q && filled < MLKEM_N) p->c[filled++] = (int16_t)d2;
  }
  return filled;
}
