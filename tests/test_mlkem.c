/*
 * test_mlkem.c - ML-KEM (crypto/mlkem.c, crypto/mlkem_poly.c) against
 * every Wycheproof ML-KEM vector of the final FIPS 203 (all three
 * parameter sets: decapsulation after key generation from a seed,
 * encapsulation with the modulus check, key generation, decapsulation
 * with the key checks), plus the arithmetic's own properties: Compress
 * exhaustively against the division it replaces, the reductions' ranges,
 * NTT round trips, and random KeyGen/Encaps/Decaps round trips with
 * implicit rejection.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "check.h"
#include "crypto/mlkem.h"
#include "crypto/mlkem_poly.h"
#include "wycheproof.h"
#include <tern.h>

/* Counts of one file: vectors seen, valid ones matched, invalid refused. */
typedef struct counts {
  int total, valid_ok, invalid_ok;
} counts;

static void report(const char *file, const counts *n) {
  printf("%-42s %4d vectors: %4d valid matched, %3d invalid refused\n", file,
         n->total, n->valid_ok, n->invalid_ok);
  CHECK_EQ_INT(n->valid_ok + n->invalid_ok, n->total);
  CHECK(n->total > 0);
}

/* mlkem_N_test.json: KeyGen from seed (d || z) gives ek; Decaps of c
   gives K (valid, incl. implicit rejection of random or flipped
   ciphertexts), or refuses a seed or ciphertext of the wrong length. */
static void file_decaps_after_keygen(const tern_mlkem_params *p, const char *file) {
  size_t len;
  char *text = wp_load(file, &len), *cur = text;
  static uint8_t seed[256], ek[4096], c[4096], k[64], my_ek[TERN_MLKEM_MAX_EK],
      my_dk[TERN_MLKEM_MAX_DK], ss[32], kept_ek[TERN_MLKEM_MAX_EK],
      kept[TERN_MLKEM_MAX_DK + 16 * sizeof(mlkem_poly)], ss_kept[32];
  counts n = {0};
  wp_case tc;
  CHECK(tern_mlkem_kept_len(p) <= sizeof kept);
  while (wp_next(&cur, &tc)) {
    size_t seed_len = wp_hex(&tc, "seed", seed, sizeof seed);
    size_t ek_len = wp_hex(&tc, "ek", ek, sizeof ek);
    size_t c_len = wp_hex(&tc, "c", c, sizeof c);
    size_t k_len = wp_hex(&tc, "K", k, sizeof k);
    int ok = 0;
    n.total++;
    if (seed_len == TERN_MLKEM_SEED_LEN &&
        tern_mlkem_keygen_derand(p, seed, my_ek, my_dk) == TERN_OK) {
      int rc = tern_mlkem_decaps(p, my_dk, p->dk_len, c, c_len, ss);
      /* the kept-key path (KeyGen keeps A-hat, Decaps reuses it) gives the
         same ek, the same dk in front, and the same answer */
      int rk = tern_mlkem_keygen_kept(p, seed, kept_ek, kept);
      if (rk == TERN_OK)
        rk = tern_mlkem_decaps_kept(p, kept, tern_mlkem_kept_len(p), c, c_len, ss_kept);
      if (wp_valid(&tc))
        ok = rc == TERN_OK && ek_len == p->ek_len && memcmp(my_ek, ek, ek_len) == 0 &&
             k_len == 32 && memcmp(ss, k, 32) == 0 && rk == TERN_OK &&
             memcmp(kept_ek, ek, ek_len) == 0 && memcmp(kept, my_dk, p->dk_len) == 0 &&
             memcmp(ss_kept, k, 32) == 0;
      else
        ok = rc == TERN_ERR_MALFORMED && rk == TERN_ERR_MALFORMED;
    } else {
      ok = !wp_valid(&tc); /* a seed of the wrong length cannot be used */
    }
    if (!ok) fprintf(stderr, "%s tcId %d (%s) failed\n", file, tc.tc_id, wp_get(&tc, "comment"));
    CHECK(ok);
    if (ok) *(wp_valid(&tc) ? &n.valid_ok : &n.invalid_ok) += 1;
  }
  report(file, &n);
  free(text);
}

/* mlkem_N_encaps_test.json: Encaps(ek, m) gives (c, K), or refuses an ek
   of the wrong length or with a coefficient >= q (FIPS 203 §7.2). */
static void file_encaps(const tern_mlkem_params *p, const char *file) {
  size_t len;
  char *text = wp_load(file, &len), *cur = text;
  static uint8_t m[64], ek[4096], c[4096], k[64], my_c[TERN_MLKEM_MAX_CT], ss[32];
  counts n = {0};
  int overflow_refused = 0;
  wp_case tc;
  while (wp_next(&cur, &tc)) {
    size_t m_len = wp_hex(&tc, "m", m, sizeof m);
    size_t ek_len = wp_hex(&tc, "ek", ek, sizeof ek);
    size_t c_len = wp_hex(&tc, "c", c, sizeof c);
    size_t k_len = wp_hex(&tc, "K", k, sizeof k);
    int rc, ok;
    n.total++;
    CHECK_EQ_INT(m_len, 32);
    rc = tern_mlkem_encaps_derand(p, ek, ek_len, m, my_c, ss);
    if (wp_valid(&tc))
      ok = rc == TERN_OK && c_len == p->ct_len && memcmp(my_c, c, c_len) == 0 &&
           k_len == 32 && memcmp(ss, k, 32) == 0;
    else
      ok = rc == TERN_ERR_MALFORMED && tern_mlkem_check_ek(p, ek, ek_len) == TERN_ERR_MALFORMED;
    if (ok && strstr(tc.flags, "ModulusOverflow")) overflow_refused++;
    if (!ok) fprintf(stderr, "%s tcId %d (%s) failed rc %d\n", file, tc.tc_id, wp_get(&tc, "comment"), rc);
    CHECK(ok);
    if (ok) *(wp_valid(&tc) ? &n.valid_ok : &n.invalid_ok) += 1;
  }
  report(file, &n);
  printf("%-42s %4d ModulusOverflow keys refused\n", "", overflow_refused);
  CHECK(overflow_refused > 0);
  free(text);
}

/* mlkem_N_keygen_seed_test.json: KeyGen_internal(d, z) gives (ek, dk). */
static void file_keygen(const tern_mlkem_params *p, const char *file) {
  size_t len;
  char *text = wp_load(file, &len), *cur = text;
  static uint8_t seed[128], ek[4096], dk[4096], my_ek[TERN_MLKEM_MAX_EK],
      my_dk[TERN_MLKEM_MAX_DK];
  counts n = {0};
  wp_case tc;
  while (wp_next(&cur, &tc)) {
    size_t seed_len = wp_hex(&tc, "seed", seed, sizeof seed);
    size_t ek_len = wp_hex(&tc, "ek", ek, sizeof ek);
    size_t dk_len = wp_hex(&tc, "dk", dk, sizeof dk);
    int ok = 0;
    n.total++;
    if (seed_len == TERN_MLKEM_SEED_LEN &&
        tern_mlkem_keygen_derand(p, seed, my_ek, my_dk) == TERN_OK)
      ok = wp_valid(&tc) == (ek_len == p->ek_len && dk_len == p->dk_len &&
                             memcmp(my_ek, ek, ek_len) == 0 &&
                             memcmp(my_dk, dk, dk_len) == 0);
    else
      ok = !wp_valid(&tc);
    if (!ok) fprintf(stderr, "%s tcId %d failed\n", file, tc.tc_id);
    CHECK(ok);
    if (ok) *(wp_valid(&tc) ? &n.valid_ok : &n.invalid_ok) += 1;
  }
  report(file, &n);
  free(text);
}

/* mlkem_N_semi_expanded_decaps_test.json: Decaps(dk, c) gives K, or
   refuses a dk or c of the wrong length or a dk whose H(ek) does not
   match (FIPS 203 §7.3). */
static void file_decaps(const tern_mlkem_params *p, const char *file) {
  size_t len;
  char *text = wp_load(file, &len), *cur = text;
  static uint8_t dk[4096], c[4096], k[64], ss[32];
  counts n = {0};
  wp_case tc;
  while (wp_next(&cur, &tc)) {
    size_t dk_len = wp_hex(&tc, "dk", dk, sizeof dk);
    size_t c_len = wp_hex(&tc, "c", c, sizeof c);
    size_t k_len = wp_hex(&tc, "K", k, sizeof k);
    int rc = tern_mlkem_decaps(p, dk, dk_len, c, c_len, ss), ok;
    n.total++;
    if (wp_valid(&tc))
      ok = rc == TERN_OK && k_len == 32 && memcmp(ss, k, 32) == 0;
    else
      ok = rc == TERN_ERR_MALFORMED;
    if (!ok) fprintf(stderr, "%s tcId %d (%s) failed rc %d\n", file, tc.tc_id, wp_get(&tc, "comment"), rc);
    CHECK(ok);
    if (ok) *(wp_valid(&tc) ? &n.valid_ok : &n.invalid_ok) += 1;
  }
  report(file, &n);
  free(text);
}

/* Compress_d against round(2^d x / q) computed with a division, for
   every x in [0, q) and every d ML-KEM uses. */
static void test_compress_exhaustive(void) {
  static const unsigned ds[] = {1, 4, 5, 10, 11};
  int bad = 0;
  for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
    for (uint32_t x = 0; x < MLKEM_Q; x++) {
      uint32_t want = (((x << ds[i]) * 2 + MLKEM_Q) / (2 * MLKEM_Q)) & ((1u << ds[i]) - 1);
      if (mlkem_compress_coeff((uint16_t)x, ds[i]) != want) bad++;
    }
  CHECK_EQ_INT(bad, 0);
}

/* The reductions' contracts: Barrett over every int16 to the centred
   range, Montgomery over a grid of |a| <= q 2^15 to (-q, q). */
static void test_reductions(void) {
  int bad = 0;
  for (int32_t a = INT16_MIN; a <= INT16_MAX; a++) {
    int16_t r = mlkem_barrett_reduce((int16_t)a);
    if (r < -(MLKEM_Q - 1) / 2 || r > (MLKEM_Q - 1) / 2 || (a - r) % MLKEM_Q != 0) bad++;
  }
  CHECK_EQ_INT(bad, 0);
  bad = 0;
  for (int64_t a = -(int64_t)MLKEM_Q * 32768; a <= (int64_t)MLKEM_Q * 32768; a += 997) {
    int16_t r = mlkem_montgomery_reduce((int32_t)a);
    /* r * 2^16 == a (mod q) */
    if (r <= -MLKEM_Q || r >= MLKEM_Q || (((int64_t)r * 65536 - a) % MLKEM_Q) != 0) bad++;
  }
  CHECK_EQ_INT(bad, 0);
}

/* NTT then inverse NTT gives back the input times 2^16 (mod q). */
static void test_ntt_roundtrip(void) {
  mlkem_poly a, b;
  uint8_t rnd[2 * MLKEM_N];
  int bad = 0;
  for (int iter = 0; iter < 50; iter++) {
    CHECK(RAND_bytes(rnd, sizeof rnd) == 1);
    for (int i = 0; i < MLKEM_N; i++)
      a.c[i] = (int16_t)(((rnd[2 * i] | (rnd[2 * i + 1] << 8)) % (2 * MLKEM_Q - 1)) - (MLKEM_Q - 1));
    b = a;
    mlkem_poly_ntt(&b);
    mlkem_poly_invntt_tomont(&b);
    for (int i = 0; i < MLKEM_N; i++)
      if ((((int32_t)b.c[i] - (int32_t)a.c[i] * 65536) % MLKEM_Q) != 0 ||
          b.c[i] <= -MLKEM_Q || b.c[i] >= MLKEM_Q)
        bad++;
  }
  CHECK_EQ_INT(bad, 0);
}

/* Random round trips: Decaps recovers Encaps' secret; a flipped
   ciphertext bit gives J(z || c) instead, which differs from it. */
static void test_roundtrip(const tern_mlkem_params *p) {
  static uint8_t ek[TERN_MLKEM_MAX_EK], dk[TERN_MLKEM_MAX_DK], ct[TERN_MLKEM_MAX_CT];
  uint8_t ss1[32], ss2[32], ss3[32];
  for (int i = 0; i < 20; i++) {
    CHECK_EQ_INT(tern_mlkem_keygen(p, ek, dk), TERN_OK);
    CHECK_EQ_INT(tern_mlkem_encaps(p, ek, p->ek_len, ct, ss1), TERN_OK);
    CHECK_EQ_INT(tern_mlkem_decaps(p, dk, p->dk_len, ct, p->ct_len, ss2), TERN_OK);
    CHECK_MEM(ss1, ss2, 32);
    ct[i * 7 % p->ct_len] ^= (uint8_t)(1u << (i % 8));
    CHECK_EQ_INT(tern_mlkem_decaps(p, dk, p->dk_len, ct, p->ct_len, ss3), TERN_OK);
    CHECK(memcmp(ss1, ss3, 32) != 0);
  }
  /* wrong lengths and a corrupted H(ek) are refused */
  CHECK_EQ_INT(tern_mlkem_encaps(p, ek, p->ek_len - 1, ct, ss1), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_mlkem_decaps(p, dk, p->dk_len, ct, p->ct_len + 1, ss1), TERN_ERR_MALFORMED);
  dk[p->dk_len - 40] ^= 1;
  CHECK_EQ_INT(tern_mlkem_decaps(p, dk, p->dk_len, ct, p->ct_len, ss1), TERN_ERR_MALFORMED);
  CHECK(tern_mlkem_params_get(769) == NULL);
  /* the kept key through tern.h */
  {
    static uint8_t kept[TERN_MLKEM_MAX_DK + 16 * sizeof(mlkem_poly)];
    size_t kept_len = tern_mlkem_kept_size(p->k * 256);
    CHECK_EQ_INT(kept_len, p->dk_len + p->k * p->k * sizeof(mlkem_poly));
    CHECK_EQ_INT(tern_mlkem_kept_size(769), 0);
    CHECK_EQ_INT(tern_mlkem_generate_kept(p->k * 256, ek, kept), TERN_OK);
    CHECK_EQ_INT(tern_mlkem_encapsulate(p->k * 256, ek, p->ek_len, ct, ss2), TERN_OK);
    CHECK_EQ_INT(tern_mlkem_decapsulate_kept(p->k * 256, kept, kept_len, ct, p->ct_len, ss1),
                 TERN_OK);
    CHECK_MEM(ss2, ss1, 32);
    CHECK_EQ_INT(tern_mlkem_decapsulate(p->k * 256, kept, p->dk_len, ct, p->ct_len, ss1),
                 TERN_OK);
    CHECK_MEM(ss2, ss1, 32);
    CHECK_EQ_INT(tern_mlkem_decapsulate_kept(p->k * 256, kept, kept_len - 1, ct, p->ct_len, ss1),
                 TERN_ERR_MALFORMED);
    CHECK_EQ_INT(tern_mlkem_decapsulate_kept(769, kept, kept_len, ct, p->ct_len, ss1),
                 TERN_ERR_UNSUPPORTED);
    OPENSSL_cleanse(kept, sizeof kept);
  }
}

int main(void) {
  static const unsigned levels[] = {512, 768, 1024};
  char name[64];
  unsigned long calls0, long0, calls1, long1;
  test_compress_exhaustive();
  test_reductions();
  test_ntt_roundtrip();
  tern_mlkem_sample_stats(&calls0, &long0);
  for (size_t i = 0; i < 3; i++) {
    const tern_mlkem_params *p = tern_mlkem_params_get(levels[i]);
    CHECK(p != NULL);
    if (p == NULL) continue;
    snprintf(name, sizeof name, "mlkem_%u_test.json", levels[i]);
    file_decaps_after_keygen(p, name);
    snprintf(name, sizeof name, "mlkem_%u_encaps_test.json", levels[i]);
    file_encaps(p, name);
    snprintf(name, sizeof name, "mlkem_%u_keygen_seed_test.json", levels[i]);
    file_keygen(p, name);
    snprintf(name, sizeof name, "mlkem_%u_semi_expanded_decaps_test.json", levels[i]);
    file_decaps(p, name);
  }
  /* the vectors include seeds chosen for frequent rejection, so the
     longer SampleNTT read runs at least once */
  tern_mlkem_sample_stats(&calls1, &long1);
  printf("SampleNTT over the vectors: %lu calls, %lu needed the longer read\n",
         calls1 - calls0, long1 - long0);
  CHECK(long1 > long0);
  for (size_t i = 0; i < 3; i++) test_roundtrip(tern_mlkem_params_get(levels[i]));
  return check_report();
}
