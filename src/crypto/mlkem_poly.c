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
#define MONT_R2_128_QINV (-10079) /* MONT_R2_128 q^-1 mod 2^16, signed */
#define MONT_R2_QINV 20553        /* MONT_R2 q^-1 mod 2^16, signed */
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

/* zetas[i] q^-1 mod 2^16 (signed): the second factor of each Montgomery
   product by a twiddle factor, precomputed. */
static const int16_t zetas_qinv[128] = {
    -20, 31498, 14745, 787, 13525, -12402, 28191, -16694, -20907, 27758, -3799,
    -15690, 10690, 1358, -11202, 31164, -5827, 17363, -26360, -29057, 5571, -1102,
    21438, -26242, -28073, 24313, -10532, 8800, 18426, 8859, 26675, -16163, -5689,
    -6516, 1496, 30967, -23565, 20179, 20710, 25080, -12796, 26616, 16064, -12442,
    9134, -650, -25986, 27837, 19883, -28250, -15887, -8898, -28309, 9075, -30199,
    18249, 13426, 14017, -29156, -12757, 16832, 4311, -24155, -17915, -335, 11182,
    -11477, 13387, -32227, -14233, 20494, -21655, -27738, 13131, 945, -4587, -14883,
    23092, 6182, 5493, 32010, -32502, 10631, 30317, 29175, -18741, -28762, 12639,
    -18486, 20100, 17560, 18525, -14430, 19529, -5276, -12619, -31183, 20297, 25435,
    2146, -7382, 15355, 24391, -32384, -20927, -6280, 10946, -14903, 24214, -11044,
    16989, 14469, 10335, -21498, -7934, -20198, -22502, 23210, 10906, -17442, 31636,
    -23860, 28644, -20257, 23998, 7756, -17422, 23132,
};


/* The base multiplication's moduli X^2 - z, pair j of coefficients
   (2j, 2j + 1): z = zetas[64 + j/2], negated for odd j (FIPS 203
   Algorithm 11's zeta^(2 BitRev7(i) + 1), in Montgomery form). */
static const int16_t basemul_zetas[128] = {
    -1103, 1103, 430, -430, 555, -555, 843, -843, -1251, 1251, 871, -871,
    1550, -1550, 105, -105, 422, -422, 587, -587, 177, -177, -235, 235,
    -291, 291, -460, 460, 1574, -1574, 1653, -1653, -246, 246, 778, -778,
    1159, -1159, -147, 147, -777, 777, 1483, -1483, -602, 602, 1119, -1119,
    -1590, 1590, 644, -644, -872, 872, 349, -349, 418, -418, 329, -329,
    -156, 156, -75, 75, 817, -817, 1097, -1097, 603, -603, 610, -610,
    1322, -1322, -1285, 1285, -1465, 1465, 384, -384, -1215, 1215, -136, 136,
    1218, -1218, -1335, 1335, -874, 874, 220, -220, -1187, 1187, -1659, 1659,
    -1185, 1185, -1530, 1530, -1278, 1278, 794, -794, -1510, 1510, -854, 854,
    -870, 870, 478, -478, -108, 108, -308, 308, 996, -996, 991, -991,
    958, -958, -1460, 1460, 1522, -1522, 1628, -1628,
};

/* basemul_zetas[j] q^-1 mod 2^16 (signed), likewise. */
static const int16_t basemul_zetas_qinv[128] = {
    -335, 335, 11182, -11182, -11477, 11477, 13387, -13387, -32227, 32227, -14233,
    14233, 20494, -20494, -21655, 21655, -27738, 27738, 13131, -13131, 945, -945,
    -4587, 4587, -14883, 14883, 23092, -23092, 6182, -6182, 5493, -5493, 32010,
    -32010, -32502, 32502, 10631, -10631, 30317, -30317, 29175, -29175, -18741, 18741,
    -28762, 28762, 12639, -12639, -18486, 18486, 20100, -20100, 17560, -17560, 18525,
    -18525, -14430, 14430, 19529, -19529, -5276, 5276, -12619, 12619, -31183, 31183,
    20297, -20297, 25435, -25435, 2146, -2146, -7382, 7382, 15355, -15355, 24391,
    -24391, -32384, 32384, -20927, 20927, -6280, 6280, 10946, -10946, -14903, 14903,
    24214, -24214, -11044, 11044, 16989, -16989, 14469, -14469, 10335, -10335, -21498,
    21498, -7934, 7934, -20198, 20198, -22502, 22502, 23210, -23210, 10906, -10906,
    -17442, 17442, 31636, -31636, -23860, 23860, 28644, -28644, -20257, 20257, 23998,
    -23998, 7756, -7756, -17422, 17422, 23132, -23132,
};



/*
 * Vector clones: the loops below are written so that GCC vectorises them
 * (16-bit lanes; the Montgomery product becomes vpmullw/vpmulhw). The
 * hot functions are built twice, for AVX2 and for the baseline, and the
 * loader picks one (an ifunc); both are this same C, so the proofs and
 * the tests cover both. Frama-C sees plain functions.
 */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__FRAMAC__) && \
    !defined(__clang__) && !defined(TERN_MLKEM_NO_CLONES)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/*
 * WP contracts (proofs/crypto/mlkem_poly/wp.sh): each function below
 * states the range of coefficients it needs (requires) and the range it
 * guarantees (ensures); WP proves them and every run-time-error goal
 * (no int16/int32 overflow, no narrowing out of range). The one trusted
 * fact is ACSL's own meaning of >> on a negative value, a floor
 * division (ACSL §2.2.4), which the provers' encoding leaves open:
 */
/*@ axiomatic ArithmeticShift {
      axiom shr16: \forall integer x; 65536 * (x >> 16) <= x < 65536 * (x >> 16) + 65536;
      axiom shr26: \forall integer x;
        67108864 * (x >> 26) <= x < 67108864 * (x >> 26) + 67108864;
    } */

/* The low 16 bits of x as a signed value, without an implementation-
   defined narrowing (compilers emit a plain truncation for it). Its
   contract is EVA's to prove (the provers do not follow the masks). */
/*@ assigns \nothing;
    ensures -32768 <= \result <= 32767; */
static inline int32_t low16(int32_t x) {
  uint32_t u = (uint32_t)x & 0xffffu;
  return (int32_t)u - (int32_t)((u & 0x8000u) << 1);
}

/* a * 2^-16 mod q: t = a q^-1 mod 2^16 (signed), then (a - t q) / 2^16,
   exact since a - t q = 0 mod 2^16. |result| <= |a| / 2^16 + q / 2. */
/*@ requires -3329 * 32768 <= a <= 3329 * 32768;
    assigns \nothing;
    ensures -3329 <= \result <= 3329; */
static inline int16_t montgomery_reduce(int32_t a) {
  int32_t t = low16(low16(a) * QINV);
  return (int16_t)((a - t * MLKEM_Q) >> 16);
}

/* a - round(a v / 2^26) q, in one expression (the proof's interval
   analysis subdivides a's range across it). */
/*@ assigns \nothing;
    ensures -1664 <= \result <= 1664; */
static inline int16_t barrett_reduce(int16_t a) {
  return (int16_t)(a - (((int32_t)BARRETT_V * a + (1 << 25)) >> 26) * MLKEM_Q);
}

/* mlkem_montgomery_reduce: see mlkem_poly.h. */
/*@ requires -3329 * 32768 <= a <= 3329 * 32768;
    assigns \nothing;
    ensures -3329 <= \result <= 3329; */
int16_t mlkem_montgomery_reduce(int32_t a) { return montgomery_reduce(a); }

/* mlkem_barrett_reduce: see mlkem_poly.h. */
/*@ assigns \nothing;
    ensures -1664 <= \result <= 1664; */
int16_t mlkem_barrett_reduce(int16_t a) { return barrett_reduce(a); }

/* a * b * 2^-16 mod q for a constant b, with bq = b q^-1 mod 2^16
   precomputed: t = a bq mod 2^16, then the high halves of a b and t q,
   whose low halves are equal, so (a b - t q) / 2^16 is their difference.
   In 16-bit lanes this is one low and two high multiplications.
   |result| <= |a b| / 2^16 + q / 2 + 1: below q for any a when |b| is
   at most (q - 1) / 2, as every twiddle factor and scale is. */
/*@ requires -1664 <= b <= 1664;
    assigns \nothing;
    ensures -3328 <= \result <= 3328; */
static inline int16_t fqmul_pre(int16_t a, int16_t b, int16_t bq) {
  int16_t hi = (int16_t)(((int32_t)a * b) >> 16);
  int16_t t = (int16_t)low16((int32_t)a * bq);
  return (int16_t)(hi - (int16_t)(((int32_t)t * MLKEM_Q) >> 16));
}

/* The canonical representative in [0, q) of a centred value in
   (-q, q): adds q when negative, by mask. */
static inline uint16_t to_canonical(int16_t a) {
  a = (int16_t)(a + ((a >> 15) & MLKEM_Q));
  return (uint16_t)a;
}

/* mlkem_poly_reduce: see mlkem_poly.h. */
/*@ requires \valid(p);
    assigns p->c[0 .. 255];
    ensures \forall integer i; 0 <= i < 256 ==> -1664 <= p->c[i] <= 1664; */
VECTOR_CLONES
void mlkem_poly_reduce(mlkem_poly *p) {
  /*@ loop invariant 0 <= i <= 256;
      loop invariant \forall integer j; 0 <= j < i ==> -1664 <= p->c[j] <= 1664;
      loop assigns i, p->c[0 .. 255];
      loop variant 256 - i; */
  for (unsigned i = 0; i < MLKEM_N; i++) p->c[i] = barrett_reduce(p->c[i]);
}

/* One layer of the forward NTT: blocks of 2 len coefficients, the
   Cooley-Tukey butterfly (c[j], c[j+len]) -> (c[j] + z c[j+len],
   c[j] - z c[j+len]) with z = zetas[k + blk]; adds less than q to a
   coefficient's magnitude. Inlined with a constant len, so that each
   layer's inner loop has a fixed length and vectorises. */
/*@ requires \valid(c + (0 .. 255));
    assigns c[0 .. 255]; */
static inline void ntt_layer(int16_t c[MLKEM_N], unsigned len, unsigned k) {
  for (unsigned blk = 0; blk < MLKEM_N / (2 * len); blk++) {
    int16_t zeta = zetas[k + blk], zeta_qinv = zetas_qinv[k + blk];
    int16_t *x = c + 2 * len * blk;
    for (unsigned j = 0; j < len; j++) {
      int16_t t = fqmul_pre(x[j + len], zeta, zeta_qinv);
      x[j + len] = (int16_t)(x[j] - t);
      x[j] = (int16_t)(x[j] + t);
    }
  }
}

/* mlkem_poly_ntt (FIPS 203 Algorithm 9): seven layers of Cooley-Tukey
   butterflies without reduction (|c| < q in, < 8q after the last), then
   one Barrett reduction to the centred range. */
/*@ requires \valid(p);
    assigns p->c[0 .. 255];
    ensures \forall integer i; 0 <= i < 256 ==> -1664 <= p->c[i] <= 1664; */
VECTOR_CLONES
void mlkem_poly_ntt(mlkem_poly *p) {
  ntt_layer(p->c, 128, 1);
  ntt_layer(p->c, 64, 2);
  ntt_layer(p->c, 32, 4);
  ntt_layer(p->c, 16, 8);
  ntt_layer(p->c, 8, 16);
  ntt_layer(p->c, 4, 32);
  ntt_layer(p->c, 2, 64);
  /*@ loop invariant 0 <= i <= 256;
      loop invariant \forall integer j; 0 <= j < i ==> -1664 <= p->c[j] <= 1664;
      loop assigns i, p->c[0 .. 255];
      loop variant 256 - i; */
  for (unsigned i = 0; i < MLKEM_N; i++) p->c[i] = barrett_reduce(p->c[i]);
}

/* One layer of the inverse NTT: the Gentleman-Sande butterfly (c[j],
   c[j+len]) -> (c[j] + c[j+len], z (c[j+len] - c[j])), z = zetas[k -
   blk]; the sums Barrett-reduced when reduce is set. Without the
   reduction a sum doubles the bound; with it, it is centred. The
   products stay below q for inputs below 8q. */
/*@ requires \valid(c + (0 .. 255));
    assigns c[0 .. 255]; */
static inline void invntt_layer(int16_t c[MLKEM_N], unsigned len, unsigned k,
                                int reduce) {
  for (unsigned blk = 0; blk < MLKEM_N / (2 * len); blk++) {
    int16_t zeta = zetas[k - blk], zeta_qinv = zetas_qinv[k - blk];
    int16_t *x = c + 2 * len * blk;
    for (unsigned j = 0; j < len; j++) {
      int16_t t = x[j];
      int16_t s = (int16_t)(t + x[j + len]);
      x[j] = reduce ? barrett_reduce(s) : s;
      x[j + len] = fqmul_pre((int16_t)(x[j + len] - t), zeta, zeta_qinv);
    }
  }
}

/* mlkem_poly_invntt_tomont (FIPS 203 Algorithm 10): Gentleman-Sande
   butterflies with lazy reduction (|c| < q in; the sums grow to 8q over
   three layers, so they are Barrett-reduced at the third and the sixth
   layer only), then the scale 2^32 / 128 (1/128 of the algorithm, and
   the 2^16 basemul took). */
/*@ requires \valid(p);
    assigns p->c[0 .. 255];
    ensures \forall integer i; 0 <= i < 256 ==> -3328 <= p->c[i] <= 3328; */
VECTOR_CLONES
void mlkem_poly_invntt_tomont(mlkem_poly *p) {
  invntt_layer(p->c, 2, 127, 0);
  invntt_layer(p->c, 4, 63, 0);
  invntt_layer(p->c, 8, 31, 1);
  invntt_layer(p->c, 16, 15, 0);
  invntt_layer(p->c, 32, 7, 0);
  invntt_layer(p->c, 64, 3, 1);
  invntt_layer(p->c, 128, 1, 0);
  /*@ loop invariant 0 <= j <= 256;
      loop invariant \forall integer i; 0 <= i < j ==> -3328 <= p->c[i] <= 3328;
      loop assigns j, p->c[0 .. 255];
      loop variant 256 - j; */
  for (unsigned j = 0; j < MLKEM_N; j++)
    p->c[j] = fqmul_pre(p->c[j], MONT_R2_128, MONT_R2_128_QINV);
}

/* mlkem_poly_basemul_acc (FIPS 203 Algorithms 11 and 12, summed):
   BaseCaseMultiply of each pair (a0 + a1 X)(b0 + b1 X) mod X^2 - z is
   (a0 b0 + a1 b1 z) + (a0 b1 + a1 b0) X; the products are summed over
   the k terms in 32 bits and Montgomery-reduced once per coefficient
   (b1 z is reduced first, so every term stays below 4096 * 3371; four
   such sums of two stay below q 2^15). z alternates in sign: the pair
   at 4j uses zetas[64 + j], the pair at 4j + 2 its negation. */
VECTOR_CLONES
void mlkem_poly_basemul_acc(mlkem_poly *r, const mlkem_poly *a,
                            const mlkem_poly *b, unsigned k) {
  int32_t even[MLKEM_N / 2], odd[MLKEM_N / 2];
  for (unsigned j = 0; j < MLKEM_N / 2; j++) even[j] = odd[j] = 0;
  for (unsigned i = 0; i < k; i++) {
    const int16_t *x = a[i].c, *y = b[i].c;
    for (unsigned j = 0; j < MLKEM_N / 2; j++) {
      int16_t y1z = fqmul_pre(y[2 * j + 1], basemul_zetas[j], basemul_zetas_qinv[j]);
      even[j] += (int32_t)x[2 * j] * y[2 * j] + (int32_t)x[2 * j + 1] * y1z;
      odd[j] += (int32_t)x[2 * j] * y[2 * j + 1] + (int32_t)x[2 * j + 1] * y[2 * j];
    }
  }
  for (unsigned j = 0; j < MLKEM_N / 2; j++) {
    r->c[2 * j] = montgomery_reduce(even[j]);
    r->c[2 * j + 1] = montgomery_reduce(odd[j]);
  }
}

/* mlkem_poly_tomont: see mlkem_poly.h. */
/*@ requires \valid(p);
    assigns p->c[0 .. 255];
    ensures \forall integer i; 0 <= i < 256 ==> -3328 <= p->c[i] <= 3328; */
VECTOR_CLONES
void mlkem_poly_tomont(mlkem_poly *p) {
  /*@ loop invariant 0 <= i <= 256;
      loop invariant \forall integer j; 0 <= j < i ==> -3328 <= p->c[j] <= 3328;
      loop assigns i, p->c[0 .. 255];
      loop variant 256 - i; */
  for (unsigned i = 0; i < MLKEM_N; i++) p->c[i] = fqmul_pre(p->c[i], MONT_R2, MONT_R2_QINV);
}

/* mlkem_poly_add: see mlkem_poly.h. The operands' bounds (2^14) keep
   every result inside int16 (no wrap-around); r may be a or b. */
/*@ requires \valid(r) && \valid_read(a) && \valid_read(b);
    requires r == a || \separated(r, a);
    requires r == b || \separated(r, b);
    requires \forall integer i; 0 <= i < 256 ==> -16384 <= a->c[i] <= 16383;
    requires \forall integer i; 0 <= i < 256 ==> -16383 <= b->c[i] <= 16383;
    assigns r->c[0 .. 255];
    ensures \forall integer i; 0 <= i < 256 ==> -32767 <= r->c[i] <= 32766; */
void mlkem_poly_add(mlkem_poly *r, const mlkem_poly *a, const mlkem_poly *b) {
  /*@ loop invariant 0 <= i <= 256;
      loop invariant \forall integer j; 0 <= j < i ==> -32767 <= r->c[j] <= 32766;
      loop invariant \forall integer j; i <= j < 256 ==>
        -16384 <= a->c[j] <= 16383 && -16383 <= b->c[j] <= 16383;
      loop assigns i, r->c[0 .. 255];
      loop variant 256 - i; */
  for (unsigned i = 0; i < MLKEM_N; i++) r->c[i] = (int16_t)(a->c[i] + b->c[i]);
}

/* mlkem_poly_sub: see mlkem_poly.h. The operands' bounds (2^14) keep
   every result inside int16 (no wrap-around); r may be a or b. */
/*@ requires \valid(r) && \valid_read(a) && \valid_read(b);
    requires r == a || \separated(r, a);
    requires r == b || \separated(r, b);
    requires \forall integer i; 0 <= i < 256 ==> -16384 <= a->c[i] <= 16383;
    requires \forall integer i; 0 <= i < 256 ==> -16383 <= b->c[i] <= 16383;
    assigns r->c[0 .. 255];
    ensures \forall integer i; 0 <= i < 256 ==> -32767 <= r->c[i] <= 32766; */
void mlkem_poly_sub(mlkem_poly *r, const mlkem_poly *a, const mlkem_poly *b) {
  /*@ loop invariant 0 <= i <= 256;
      loop invariant \forall integer j; 0 <= j < i ==> -32767 <= r->c[j] <= 32766;
      loop invariant \forall integer j; i <= j < 256 ==>
        -16384 <= a->c[j] <= 16383 && -16383 <= b->c[j] <= 16383;
      loop assigns i, r->c[0 .. 255];
      loop variant 256 - i; */
  for (unsigned i = 0; i < MLKEM_N; i++) r->c[i] = (int16_t)(a->c[i] - b->c[i]);
}

/* mlkem_poly_tobytes (ByteEncode_12): the canonical representatives
   first (a loop that vectorises), then two coefficients in three bytes,
   little-endian bit order (FIPS 203 Algorithm 5). */
VECTOR_CLONES
void mlkem_poly_tobytes(uint8_t out[MLKEM_POLY_BYTES], const mlkem_poly *p) {
  uint16_t t[MLKEM_N];
  for (unsigned i = 0; i < MLKEM_N; i++) t[i] = to_canonical(barrett_reduce(p->c[i]));
  for (unsigned i = 0; i < MLKEM_N / 2; i++) {
    uint16_t t0 = t[2 * i], t1 = t[2 * i + 1];
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

/* round(2^d x / q) = floor((2^(d+1) x + q) / 2q), the division by the
   constant 2q done as a multiply and a shift. */
static inline uint16_t compress_coeff(uint16_t x, unsigned d) {
  uint32_t n = ((uint32_t)x << (d + 1)) + MLKEM_Q;
  uint32_t quot = (uint32_t)(((uint64_t)n * COMPRESS_M) >> COMPRESS_S);
  return (uint16_t)(quot & ((1u << d) - 1));
}

/* mlkem_compress_coeff: see mlkem_poly.h. */
uint16_t mlkem_compress_coeff(uint16_t x, unsigned d) { return compress_coeff(x, d); }

/* ByteEncode_d of 256 values below 2^d, bit j of value i at bit i * d + j
   of the output: eight values (d bytes) at a time, through two 64-bit
   words. Inlined with a constant d, so the shifts are constants. */
static inline void pack_bits(uint8_t *out, const uint16_t t[MLKEM_N], unsigned d) {
  for (unsigned g = 0; g < MLKEM_N / 8; g++) {
    const uint16_t *x = t + 8 * g;
    uint8_t *o = out + d * g;
    uint64_t lo = 0, hi = 0; /* bits 0..63 and 64..127 of the group */
    for (unsigned j = 0; j < 8; j++) {
      unsigned at = d * j;
      if (at < 64) lo |= (uint64_t)x[j] << at;
      if (at + d > 64)
        hi |= at >= 64 ? (uint64_t)x[j] << (at - 64) : (uint64_t)x[j] >> (64 - at);
    }
    for (unsigned b = 0; b < d; b++)
      o[b] = (uint8_t)(b < 8 ? lo >> (8 * b) : hi >> (8 * (b - 8)));
  }
}

/* mlkem_poly_compress (Compress_d then ByteEncode_d): every coefficient
   compressed first (a loop that vectorises), then packed. */
VECTOR_CLONES
void mlkem_poly_compress(uint8_t *out, const mlkem_poly *p, unsigned d) {
  uint16_t t[MLKEM_N];
  for (unsigned i = 0; i < MLKEM_N; i++)
    t[i] = compress_coeff(to_canonical(barrett_reduce(p->c[i])), d);
  switch (d) {
  case 1: pack_bits(out, t, 1); break;
  case 4: pack_bits(out, t, 4); break;
  case 5: pack_bits(out, t, 5); break;
  case 10: pack_bits(out, t, 10); break;
  default: pack_bits(out, t, 11); break;
  }
}

/* ByteDecode_d of 256 values, the inverse of pack_bits: eight values (d
   bytes) at a time through two 64-bit words; inlined with a constant d. */
static inline void unpack_bits(uint16_t t[MLKEM_N], const uint8_t *in, unsigned d) {
  for (unsigned g = 0; g < MLKEM_N / 8; g++) {
    const uint8_t *b = in + d * g;
    uint64_t lo = 0, hi = 0;
    for (unsigned i = 0; i < d; i++) {
      if (i < 8) lo |= (uint64_t)b[i] << (8 * i);
      else hi |= (uint64_t)b[i] << (8 * (i - 8));
    }
    for (unsigned j = 0; j < 8; j++) {
      unsigned at = d * j;
      uint64_t v = 0;
      if (at < 64) v = lo >> at;
      if (at + d > 64) v |= at >= 64 ? hi >> (at - 64) : hi << (64 - at);
      t[8 * g + j] = (uint16_t)(v & ((1u << d) - 1));
    }
  }
}

/* mlkem_poly_decompress (ByteDecode_d then Decompress_d): unpacked
   first, then round(q y / 2^d) = (q y + 2^(d-1)) >> d in a loop that
   vectorises. */
VECTOR_CLONES
void mlkem_poly_decompress(mlkem_poly *p, const uint8_t *in, unsigned d) {
  uint16_t t[MLKEM_N];
  switch (d) {
  case 1: unpack_bits(t, in, 1); break;
  case 4: unpack_bits(t, in, 4); break;
  case 5: unpack_bits(t, in, 5); break;
  case 10: unpack_bits(t, in, 10); break;
  default: unpack_bits(t, in, 11); break;
  }
  for (unsigned i = 0; i < MLKEM_N; i++)
    p->c[i] = (int16_t)(((uint32_t)t[i] * MLKEM_Q + (1u << (d - 1))) >> d);
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
  size_t pos = 0;
  /* while two more coefficients fit: store both candidates and advance
     past the accepted ones (no unpredictable branch) */
  for (; pos + 3 <= len && filled + 2 <= MLKEM_N; pos += 3) {
    uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0f) << 8));
    uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));
    p->c[filled] = (int16_t)d1;
    filled += d1 < MLKEM_Q;
    p->c[filled] = (int16_t)d2;
    filled += d2 < MLKEM_Q;
  }
  for (; pos + 3 <= len && filled < MLKEM_N; pos += 3) {
    uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0f) << 8));
    uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));
    if (d1 < MLKEM_Q) p->c[filled++] = (int16_t)d1;
    if (d2 < MLKEM_Q && filled < MLKEM_N) p->c[filled++] = (int16_t)d2;
  }
  return filled;
}
