/*
 * crypto/mlkem.c - crypto layer: ML-KEM (FIPS 203) over libcrypto's SHA3
 * and SHAKE; the arithmetic is crypto/mlkem_poly.c.
 *
 * The four hash functions of §4.1 are EVP digests fetched once per
 * process, hashed through EVP_MD_CTX objects that each thread keeps (one
 * per digest, made on the thread's first operation, re-initialised with
 * EVP_DigestInit_ex2 for every hash, reset after each operation, freed
 * when the thread exits); when they cannot be made, the operation makes
 * its own and frees them. (OpenSSL 3.0 still allocates the digest's
 * state at every EVP_DigestInit_ex2; the kept contexts save the rest.)
 *
 * The decapsulating side's kept key (tern_mlkem_keygen_kept): KeyGen
 * computes A-hat, and Decaps' re-encryption needs it again; the kept key
 * is dk followed by A-hat transposed, so Decaps does not sample the
 * matrix a second time (k^2 SampleNTT calls saved).
 *
 * SampleNTT and OpenSSL 3.0: EVP_DigestFinalXOF squeezes once, so the
 * XOF stream cannot be read incrementally. SampleNTT reads a first
 * block of FIRST_READ bytes (three SHAKE128 blocks, 336 candidates for
 * 256 coefficients); in the rare case that too many candidates are
 * rejected it hashes the same input again and reads a longer prefix
 * (the stream is deterministic, so the first bytes repeat and the
 * rejection continues where it stopped). For a uniform stream the
 * longer read is needed with probability P[Binomial(336, 3329/4096) <
 * 256] = 0.0083 per matrix entry (about 2^-6.9, computed exactly), the
 * second longer read with 2^-858; test_mlkem counts them over the
 * vectors, tern_mlkem_sample_stats in a process.
 * The matrix is public, so its sampling may branch and take variable
 * time.
 */
#include "crypto/mlkem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tern.h>

#include "crypto/mlkem_poly.h"

/*
 * Constant-time testing (tests/ct_mlkem.sh): the test builds this file
 * again with TERN_CT_TESTING, marks every secret input undefined for
 * valgrind memcheck, and fails on any branch or index that depends on
 * one. DECLASSIFY marks a value public that FIPS 203 makes public though
 * it is computed from secrets (rho, which goes out in ek). The library
 * build defines neither macro: DECLASSIFY is empty there.
 * TERN_CT_LEAK (the test's negative control only) replaces Decaps'
 * masked select by a branch on the comparison, which the test must catch.
 */
#ifdef TERN_CT_TESTING
#include <valgrind/memcheck.h>
#define DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

#define MLKEM_MAX_K 4
#define SYM_BYTES 32
#define SHAKE128_RATE 168
#define FIRST_READ (3 * SHAKE128_RATE)  /* 504 bytes: 336 candidates */
/* Longer reads when the first falls short: 8 blocks, then 24 (8 blocks
   fall short with probability 2^-858; past 24 we fail). */
static const size_t longer_reads[] = {8 * SHAKE128_RATE, 24 * SHAKE128_RATE};
#define MAX_READ (24 * SHAKE128_RATE)

static const tern_mlkem_params params[] = {
    {"ML-KEM-512", 2, 3, 2, 10, 4, 800, 1632, 768},
    {"ML-KEM-768", 3, 2, 2, 10, 4, 1184, 2400, 1088},
    {"ML-KEM-1024", 4, 2, 2, 11, 5, 1568, 3168, 1568},
};

/* tern_mlkem_params_get: see mlkem.h. */
const tern_mlkem_params *tern_mlkem_params_get(unsigned level) {
  switch (level) {
  case 512: return &params[0];
  case 768: return &params[1];
  case 1024: return &params[2];
  default: return NULL;
  }
}

/* The digests of §4.1, fetched once per process. */
enum { MD_SHA3_256, MD_SHA3_512, MD_SHAKE128, MD_SHAKE256, MD_COUNT };
static struct {
  EVP_MD *md[MD_COUNT];
  int ok;
} fetched;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static atomic_ulong samples;      /* SampleNTT calls */
static atomic_ulong long_samples; /* of which past FIRST_READ */

static void fetch_digests(void) {
  static const char *const names[MD_COUNT] = {"SHA3-256", "SHA3-512", "SHAKE128",
                                              "SHAKE256"};
  int ok = 1;
  for (int i = 0; i < MD_COUNT; i++) {
    fetched.md[i] = EVP_MD_fetch(NULL, names[i], NULL);
    if (fetched.md[i] == NULL) ok = 0;
  }
  fetched.ok = ok;
}

/* tern_mlkem_sample_stats: see mlkem.h. */
void tern_mlkem_sample_stats(unsigned long *calls, unsigned long *longer) {
  *calls = atomic_load_explicit(&samples, memory_order_relaxed);
  *longer = atomic_load_explicit(&long_samples, memory_order_relaxed);
}

/* Counts one SampleNTT call, and whether it needed a longer read. */
static void count_sample(int longer) {
  atomic_fetch_add_explicit(&samples, 1, memory_order_relaxed);
  if (longer) atomic_fetch_add_explicit(&long_samples, 1, memory_order_relaxed);
}

/* Digest contexts, made on first use: the thread's kept ones, or (when
   the thread's could not be registered) the operation's own. */
typedef struct hasher {
  EVP_MD_CTX *ctx[MD_COUNT];
} hasher;

typedef struct hash_ops {
  hasher *h;   /* the contexts to use */
  hasher own;  /* the operation's own, when h == &own */
} hash_ops;

static _Thread_local hasher thread_hasher;
static _Thread_local int thread_registered;
static pthread_key_t thread_key;
static int thread_key_ok;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/* A thread's exit frees its kept contexts (value: its thread_hasher). */
static void thread_hasher_free(void *v) {
  hasher *h = v;
  for (int i = 0; i < MD_COUNT; i++) {
    EVP_MD_CTX_free(h->ctx[i]);
    h->ctx[i] = NULL;
  }
}

static void make_key(void) {
  thread_key_ok = pthread_key_create(&thread_key, thread_hasher_free) == 0;
}

/* The thread's contexts, all made at once (or none: then 0). */
static int thread_hasher_make(void) {
  for (int i = 0; i < MD_COUNT; i++)
    if ((thread_hasher.ctx[i] = EVP_MD_CTX_new()) == NULL) {
      thread_hasher_free(&thread_hasher);
      return 0;
    }
  if (pthread_setspecific(thread_key, &thread_hasher) != 0) {
    thread_hasher_free(&thread_hasher);
    return 0;
  }
  return 1;
}

/* Chooses the contexts for one operation; 0 when the digests could not
   be fetched. */
static int hasher_init(hash_ops *o) {
  memset(&o->own, 0, sizeof o->own);
  o->h = &o->own;
  if (pthread_once(&fetch_once, fetch_digests) != 0 || !fetched.ok) return 0;
  if (!thread_registered && pthread_once(&key_once, make_key) == 0 && thread_key_ok &&
      thread_hasher_make())
    thread_registered = 1;
  if (thread_registered) o->h = &thread_hasher;
  return 1;
}

/* Ends an operation: the operation's own contexts are freed; the
   thread's are reset (libcrypto frees, and wipes, the digest state they
   held), so that between operations a thread holds exactly its MD_COUNT
   empty contexts, whatever failed. */
static void hasher_free(hash_ops *o) {
  for (int i = 0; i < MD_COUNT; i++) {
    EVP_MD_CTX_free(o->own.ctx[i]);
    if (o->h == &thread_hasher) (void)EVP_MD_CTX_reset(thread_hasher.ctx[i]);
  }
}

/*
 * out[0..out_len) = digest md of a[0..a_len) || b[0..b_len) (b may be
 * NULL); for the SHAKEs out_len bytes of output. 1 on success.
 */
static int hash2(hasher *h, int md, const uint8_t *a, size_t a_len,
                 const uint8_t *b, size_t b_len, uint8_t *out, size_t out_len) {
  EVP_MD_CTX *ctx = h->ctx[md];
  if (ctx == NULL && (ctx = h->ctx[md] = EVP_MD_CTX_new()) == NULL) return 0;
  if (EVP_DigestInit_ex2(ctx, fetched.md[md], NULL) != 1 ||
      EVP_DigestUpdate(ctx, a, a_len) != 1 ||
      (b != NULL && EVP_DigestUpdate(ctx, b, b_len) != 1))
    return 0;
  if (md == MD_SHAKE128 || md == MD_SHAKE256)
    return EVP_DigestFinalXOF(ctx, out, out_len) == 1;
  return EVP_DigestFinal_ex(ctx, out, NULL) == 1;
}

/*
 * SampleNTT (FIPS 203 Algorithm 7) of XOF(rho || j || i): the matrix
 * entry A-hat[i][j] (§5.1 step 6, the final standard's index order).
 * See the top of the file for the read lengths. 1 on success.
 */
static int sample_ntt(hasher *h, mlkem_poly *a, const uint8_t rho[SYM_BYTES],
                      uint8_t i, uint8_t j) {
  uint8_t idx[2] = {j, i};
  uint8_t buf[MAX_READ];
  unsigned filled;
  size_t done = FIRST_READ;
  if (!hash2(h, MD_SHAKE128, rho, SYM_BYTES, idx, 2, buf, FIRST_READ)) return 0;
  filled = mlkem_rej_uniform(a, 0, buf, FIRST_READ);
  count_sample(filled < MLKEM_N);
  if (filled == MLKEM_N) return 1;
  for (size_t r = 0; r < sizeof longer_reads / sizeof longer_reads[0]; r++) {
    if (!hash2(h, MD_SHAKE128, rho, SYM_BYTES, idx, 2, buf, longer_reads[r]))
      return 0;
    filled = mlkem_rej_uniform(a, filled, buf + done, longer_reads[r] - done);
    if (filled == MLKEM_N) return 1;
    done = longer_reads[r];
  }
  return 0;
}

/* A-hat into a[0..k*k), row by row (a[i*k + j] = A-hat[i][j]), or its
   transpose when transpose is set (a[i*k + j] = A-hat[j][i]). The
   matrix is public: it is not wiped. */
static int gen_matrix(hasher *h, mlkem_poly *a, const uint8_t rho[SYM_BYTES], unsigned k,
                      int transpose) {
  for (unsigned i = 0; i < k; i++)
    for (unsigned j = 0; j < k; j++)
      if (!(transpose ? sample_ntt(h, &a[i * k + j], rho, (uint8_t)j, (uint8_t)i)
                      : sample_ntt(h, &a[i * k + j], rho, (uint8_t)i, (uint8_t)j)))
        return 0;
  return 1;
}

/* SamplePolyCBD_eta(PRF_eta(sigma, n)) (§4.1 eq. 4.3, Algorithm 8). */
static int sample_cbd(hasher *h, mlkem_poly *p, const uint8_t sigma[SYM_BYTES],
                      uint8_t n, unsigned eta) {
  uint8_t buf[64 * 3];
  int ok = hash2(h, MD_SHAKE256, sigma, SYM_BYTES, &n, 1, buf, 64 * eta);
  if (ok) mlkem_poly_cbd(p, buf, eta);
  OPENSSL_cleanse(buf, sizeof buf);
  return ok;
}

/* Working state of K-PKE.KeyGen; wiped as a whole. */
typedef struct keygen_state {
  uint8_t in[SYM_BYTES + 1];       /* d || k */
  uint8_t rho_sigma[2 * SYM_BYTES];
  mlkem_poly s[MLKEM_MAX_K], e[MLKEM_MAX_K], t;
} keygen_state;

/*
 * K-PKE.KeyGen (FIPS 203 Algorithm 13): (rho, sigma) = G(d || k), A-hat
 * from rho, s and e from sigma, t-hat = A-hat s-hat + e-hat; ek_pke =
 * ByteEncode_12(t-hat) || rho into ek, dk_pke = ByteEncode_12(s-hat).
 * at, when not NULL, receives A-hat transposed (k*k polynomials).
 */
static int kpke_keygen(hasher *h, const tern_mlkem_params *p, const uint8_t d[SYM_BYTES],
                       uint8_t *ek, uint8_t *dk_pke, uint8_t *at) {
  keygen_state w;
  mlkem_poly a[MLKEM_MAX_K * MLKEM_MAX_K]; /* public */
  const unsigned k = p->k;
  uint8_t n = 0;
  int ok = 0;
  memcpy(w.in, d, SYM_BYTES);
  w.in[SYM_BYTES] = (uint8_t)k;
  if (!hash2(h, MD_SHA3_512, w.in, sizeof w.in, NULL, 0, w.rho_sigma, 64)) goto out;
  DECLASSIFY(w.rho_sigma, SYM_BYTES); /* rho is public: the end of ek */
  if (!gen_matrix(h, a, w.rho_sigma, k, 0)) goto out;
  for (unsigned i = 0; i < k; i++)
    if (!sample_cbd(h, &w.s[i], w.rho_sigma + SYM_BYTES, n++, p->eta1)) goto out;
  for (unsigned i = 0; i < k; i++)
    if (!sample_cbd(h, &w.e[i], w.rho_sigma + SYM_BYTES, n++, p->eta1)) goto out;
  for (unsigned i = 0; i < k; i++) {
    mlkem_poly_ntt(&w.s[i]);
    mlkem_poly_ntt(&w.e[i]);
  }
  for (unsigned i = 0; i < k; i++) {
    mlkem_poly_basemul_acc(&w.t, &a[i * k], w.s, k);
    mlkem_poly_tomont(&w.t);
    mlkem_poly_add(&w.t, &w.t, &w.e[i]);
    mlkem_poly_tobytes(ek + MLKEM_POLY_BYTES * i, &w.t);
    mlkem_poly_tobytes(dk_pke + MLKEM_POLY_BYTES * i, &w.s[i]);
  }
  memcpy(ek + MLKEM_POLY_BYTES * k, w.rho_sigma, SYM_BYTES);
  if (at != NULL)
    for (unsigned i = 0; i < k; i++)
      for (unsigned j = 0; j < k; j++)
        memcpy(at + sizeof(mlkem_poly) * (j * k + i), &a[i * k + j], sizeof(mlkem_poly));
  ok = 1;
out:
  OPENSSL_cleanse(&w, sizeof w);
  return ok;
}

/* Working state of K-PKE.Encrypt; wiped as a whole. */
typedef struct encrypt_state {
  mlkem_poly y[MLKEM_MAX_K], u, v, e, mu;
} encrypt_state;

/*
 * K-PKE.Encrypt (FIPS 203 Algorithm 14) of message m with randomness r
 * under ek (already checked, or taken from a checked dk): u =
 * NTT^-1(A-hat^T y-hat) + e1, v = NTT^-1(t-hat^T y-hat) + e2 +
 * Decompress_1(m); c = ByteEncode_du(Compress_du(u)) ||
 * ByteEncode_dv(Compress_dv(v)). kept_at, when not NULL, is A-hat
 * transposed as tern_mlkem_keygen_kept kept it; otherwise it is sampled
 * from ek's rho. t_in, when not NULL, is t-hat already decoded from ek
 * (Encaps decodes it once, for the §7.2 check and for this). t-hat and
 * A-hat are public and not wiped.
 */
static int kpke_encrypt(hasher *h, const tern_mlkem_params *p, const uint8_t *ek,
                        const mlkem_poly *t_in, const uint8_t *kept_at,
                        const uint8_t m[SYM_BYTES], const uint8_t r[SYM_BYTES], uint8_t *ct) {
  encrypt_state w;
  mlkem_poly at[MLKEM_MAX_K * MLKEM_MAX_K], t_own[MLKEM_MAX_K];
  const mlkem_poly *t = t_in != NULL ? t_in : t_own;
  const unsigned k = p->k;
  uint8_t n = 0;
  int ok = 0;
  if (t_in == NULL)
    for (unsigned i = 0; i < k; i++)
      (void)mlkem_poly_frombytes(&t_own[i], ek + MLKEM_POLY_BYTES * i);
  if (kept_at != NULL)
    memcpy(at, kept_at, sizeof(mlkem_poly) * k * k);
  else if (!gen_matrix(h, at, ek + MLKEM_POLY_BYTES * k, k, 1))
    goto out;
  for (unsigned i = 0; i < k; i++)
    if (!sample_cbd(h, &w.y[i], r, n++, p->eta1)) goto out;
  for (unsigned i = 0; i < k; i++) mlkem_poly_ntt(&w.y[i]);
  for (unsigned i = 0; i < k; i++) {
    if (!sample_cbd(h, &w.e, r, n++, p->eta2)) goto out;
    mlkem_poly_basemul_acc(&w.u, &at[i * k], w.y, k);
    mlkem_poly_invntt_tomont(&w.u);
    mlkem_poly_add(&w.u, &w.u, &w.e);
    mlkem_poly_compress(ct + 32 * p->du * i, &w.u, p->du);
  }
  if (!sample_cbd(h, &w.e, r, n++, p->eta2)) goto out;
  mlkem_poly_basemul_acc(&w.v, t, w.y, k);
  mlkem_poly_invntt_tomont(&w.v);
  mlkem_poly_decompress(&w.mu, m, 1);
  mlkem_poly_add(&w.v, &w.v, &w.e);
  mlkem_poly_add(&w.v, &w.v, &w.mu);
  mlkem_poly_compress(ct + 32 * p->du * k, &w.v, p->dv);
  ok = 1;
out:
  OPENSSL_cleanse(&w, sizeof w);
  return ok;
}

/* Working state of K-PKE.Decrypt; wiped as a whole. */
typedef struct decrypt_state {
  mlkem_poly s[MLKEM_MAX_K], u[MLKEM_MAX_K], v, w;
} decrypt_state;

/*
 * K-PKE.Decrypt (FIPS 203 Algorithm 15): w = v' - NTT^-1(s-hat^T
 * NTT(u')), m = ByteEncode_1(Compress_1(w)).
 */
static void kpke_decrypt(const tern_mlkem_params *p, const uint8_t *dk_pke,
                         const uint8_t *ct, uint8_t m[SYM_BYTES]) {
  decrypt_state w;
  const unsigned k = p->k;
  for (unsigned i = 0; i < k; i++) {
    mlkem_poly_decompress(&w.u[i], ct + 32 * p->du * i, p->du);
    mlkem_poly_ntt(&w.u[i]);
    (void)mlkem_poly_frombytes(&w.s[i], dk_pke + MLKEM_POLY_BYTES * i);
  }
  mlkem_poly_decompress(&w.v, ct + 32 * p->du * k, p->dv);
  mlkem_poly_basemul_acc(&w.w, w.s, w.u, k);
  mlkem_poly_invntt_tomont(&w.w);
  mlkem_poly_sub(&w.w, &w.v, &w.w);
  mlkem_poly_compress(m, &w.w, 1);
  OPENSSL_cleanse(&w, sizeof w);
}

/* Stops the compiler from reasoning about a mask's value (so it keeps the
   arithmetic select rather than turning it into a branch). */
static uint8_t value_barrier(uint8_t x) {
#if defined(__GNUC__)
  __asm__("" : "+r"(x));
#endif
  return x;
}

/* 0xff when a[0..len) and b[0..len) differ, 0 when equal; no branch on
   the bytes. */
static uint8_t ct_differ_mask(const uint8_t *a, const uint8_t *b, size_t len) {
  uint32_t acc = 0;
  for (size_t i = 0; i < len; i++) acc |= (uint32_t)(a[i] ^ b[i]);
  return value_barrier((uint8_t)((0u - acc) >> 8));
}

/* dst = mask ? src : dst, byte by byte, for mask 0 or 0xff. */
static void ct_select(uint8_t *dst, const uint8_t *src, size_t len, uint8_t mask) {
  for (size_t i = 0; i < len; i++) dst[i] ^= (uint8_t)(mask & (dst[i] ^ src[i]));
}

/* KeyGen_internal (FIPS 203 Algorithm 16): dk = dk_pke || ek || H(ek) ||
   z; at, when not NULL, receives A-hat transposed. */
static int keygen(const tern_mlkem_params *p, const uint8_t seed[TERN_MLKEM_SEED_LEN],
                  uint8_t *ek, uint8_t *dk, uint8_t *at) {
  hash_ops h;
  size_t pke;
  int rc = TERN_ERR_CRYPTO;
  if (p == NULL || seed == NULL || ek == NULL || dk == NULL) return TERN_ERR_INVALID_ARG;
  pke = MLKEM_POLY_BYTES * p->k;
  if (hasher_init(&h) && kpke_keygen(h.h, p, seed, ek, dk, at) &&
      hash2(h.h, MD_SHA3_256, ek, p->ek_len, NULL, 0, dk + pke + p->ek_len, SYM_BYTES)) {
    memcpy(dk + pke, ek, p->ek_len);
    memcpy(dk + pke + p->ek_len + SYM_BYTES, seed + SYM_BYTES, SYM_BYTES);
    rc = TERN_OK;
  }
  hasher_free(&h);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(ek, p->ek_len);
    OPENSSL_cleanse(dk, p->dk_len);
  }
  return rc;
}

/* tern_mlkem_keygen_derand (ML-KEM.KeyGen_internal, FIPS 203 Algorithm
   16): see mlkem.h. */
int tern_mlkem_keygen_derand(const tern_mlkem_params *p,
                             const uint8_t seed[TERN_MLKEM_SEED_LEN], uint8_t *ek,
                             uint8_t *dk) {
  return keygen(p, seed, ek, dk, NULL);
}

/* tern_mlkem_kept_len: see mlkem.h. */
size_t tern_mlkem_kept_len(const tern_mlkem_params *p) {
  return p == NULL ? 0 : p->dk_len + sizeof(mlkem_poly) * p->k * p->k;
}

/* tern_mlkem_keygen_kept: see mlkem.h. */
int tern_mlkem_keygen_kept(const tern_mlkem_params *p,
                           const uint8_t seed[TERN_MLKEM_SEED_LEN], uint8_t *ek,
                           uint8_t *kept) {
  if (p == NULL || kept == NULL) return TERN_ERR_INVALID_ARG;
  return keygen(p, seed, ek, kept, kept + p->dk_len);
}

/* tern_mlkem_keygen: see mlkem.h. */
int tern_mlkem_keygen(const tern_mlkem_params *p, uint8_t *ek, uint8_t *dk) {
  uint8_t seed[TERN_MLKEM_SEED_LEN];
  int rc = RAND_bytes(seed, sizeof seed) == 1
               ? tern_mlkem_keygen_derand(p, seed, ek, dk)
               : TERN_ERR_CRYPTO;
  OPENSSL_cleanse(seed, sizeof seed);
  return rc;
}

/* Decodes t-hat from ek into t[0..k) with FIPS 203 §7.2's modulus
   check (every decoded coefficient below q is the same as
   ByteEncode_12(ByteDecode_12(ek)) == ek); TERN_OK or
   TERN_ERR_MALFORMED. */
static int decode_checked_ek(const tern_mlkem_params *p, const uint8_t *ek, size_t ek_len,
                             mlkem_poly *t) {
  int ok = 1;
  if (p == NULL || ek == NULL) return TERN_ERR_INVALID_ARG;
  if (ek_len != p->ek_len) return TERN_ERR_MALFORMED;
  for (unsigned i = 0; i < p->k; i++) ok &= mlkem_poly_frombytes(&t[i], ek + MLKEM_POLY_BYTES * i);
  return ok ? TERN_OK : TERN_ERR_MALFORMED;
}

/* tern_mlkem_check_ek: see mlkem.h. */
int tern_mlkem_check_ek(const tern_mlkem_params *p, const uint8_t *ek,
                        size_t ek_len) {
  mlkem_poly t[MLKEM_MAX_K];
  return decode_checked_ek(p, ek, ek_len, t);
}

/* Working state of Encaps_internal; wiped as a whole. */
typedef struct encaps_state {
  uint8_t in[2 * SYM_BYTES];  /* m || H(ek) */
  uint8_t kr[2 * SYM_BYTES];  /* K || r */
} encaps_state;

/* tern_mlkem_encaps_derand (ML-KEM.Encaps, FIPS 203 Algorithm 17 after
   §7.2's checks): (K, r) = G(m || H(ek)), c = K-PKE.Encrypt(ek, m, r). */
int tern_mlkem_encaps_derand(const tern_mlkem_params *p, const uint8_t *ek,
                             size_t ek_len, const uint8_t m[TERN_MLKEM_MSG_LEN],
                             uint8_t *ct, uint8_t ss[TERN_MLKEM_SS_LEN]) {
  encaps_state w;
  hash_ops h;
  mlkem_poly t[MLKEM_MAX_K]; /* public: decoded from ek */
  int rc;
  if (p == NULL || m == NULL || ct == NULL || ss == NULL) return TERN_ERR_INVALID_ARG;
  rc = decode_checked_ek(p, ek, ek_len, t);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(ct, p->ct_len);
    OPENSSL_cleanse(ss, TERN_MLKEM_SS_LEN);
    return rc;
  }
  rc = TERN_ERR_CRYPTO;
  memcpy(w.in, m, SYM_BYTES);
  if (hasher_init(&h) &&
      hash2(h.h, MD_SHA3_256, ek, p->ek_len, NULL, 0, w.in + SYM_BYTES, SYM_BYTES) &&
      hash2(h.h, MD_SHA3_512, w.in, sizeof w.in, NULL, 0, w.kr, sizeof w.kr) &&
      kpke_encrypt(h.h, p, ek, t, NULL, m, w.kr + SYM_BYTES, ct)) {
    memcpy(ss, w.kr, TERN_MLKEM_SS_LEN);
    rc = TERN_OK;
  }
  hasher_free(&h);
  OPENSSL_cleanse(&w, sizeof w);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(ct, p->ct_len);
    OPENSSL_cleanse(ss, TERN_MLKEM_SS_LEN);
  }
  return rc;
}

/* tern_mlkem_encaps: see mlkem.h. */
int tern_mlkem_encaps(const tern_mlkem_params *p, const uint8_t *ek,
                      size_t ek_len, uint8_t *ct, uint8_t ss[TERN_MLKEM_SS_LEN]) {
  uint8_t m[TERN_MLKEM_MSG_LEN];
  int rc = RAND_bytes(m, sizeof m) == 1
               ? tern_mlkem_encaps_derand(p, ek, ek_len, m, ct, ss)
               : TERN_ERR_CRYPTO;
  OPENSSL_cleanse(m, sizeof m);
  return rc;
}

/* Working state of Decaps_internal; wiped as a whole. */
typedef struct decaps_state {
  uint8_t in[2 * SYM_BYTES];   /* m' || h */
  uint8_t kr[2 * SYM_BYTES];   /* K' || r' */
  uint8_t k_bar[SYM_BYTES];    /* J(z || c) */
  uint8_t h_check[SYM_BYTES];
  uint8_t ct2[TERN_MLKEM_MAX_CT];
} decaps_state;

/*
 * ML-KEM.Decaps (FIPS 203 Algorithm 18) after the length checks of §7.3:
 * the hash check H(ek) == h unless kept_at is given (the key is then
 * tern_mlkem_keygen_kept's, made in this process, whose h is H(ek) by
 * construction); m' = Decrypt(dk_pke, c), (K', r') = G(m' || h), c' =
 * Encrypt(ek, m', r') with kept_at as A-hat^T when given; K' when
 * c' == c, else K-bar = J(z || c), chosen by mask.
 */
static int decaps(const tern_mlkem_params *p, const uint8_t *dk, const uint8_t *kept_at,
                  const uint8_t *ct, uint8_t ss[TERN_MLKEM_SS_LEN]) {
  decaps_state w;
  hash_ops h;
  const size_t pke = MLKEM_POLY_BYTES * p->k;
  const uint8_t *ek = dk + pke, *hek = ek + p->ek_len, *z = hek + SYM_BYTES;
  int rc = TERN_ERR_CRYPTO;
  if (!hasher_init(&h)) goto out;
  if (kept_at == NULL) {
    if (!hash2(h.h, MD_SHA3_256, ek, p->ek_len, NULL, 0, w.h_check, SYM_BYTES)) goto out;
    /* the key is the holder's own, so this branch reveals nothing secret */
    if (CRYPTO_memcmp(w.h_check, hek, SYM_BYTES) != 0) {
      rc = TERN_ERR_MALFORMED;
      goto out;
    }
  }
  kpke_decrypt(p, dk, ct, w.in);
  memcpy(w.in + SYM_BYTES, hek, SYM_BYTES);
  if (!hash2(h.h, MD_SHA3_512, w.in, sizeof w.in, NULL, 0, w.kr, sizeof w.kr) ||
      !hash2(h.h, MD_SHAKE256, z, SYM_BYTES, ct, p->ct_len, w.k_bar, SYM_BYTES) ||
      !kpke_encrypt(h.h, p, ek, NULL, kept_at, w.in, w.kr + SYM_BYTES, w.ct2))
    goto out;
#ifdef TERN_CT_LEAK
  if (ct_differ_mask(ct, w.ct2, p->ct_len)) ct_select(w.kr, w.k_bar, SYM_BYTES, 0xff);
#else
  ct_select(w.kr, w.k_bar, SYM_BYTES, ct_differ_mask(ct, w.ct2, p->ct_len));
#endif
  memcpy(ss, w.kr, TERN_MLKEM_SS_LEN);
  rc = TERN_OK;
out:
  hasher_free(&h);
  OPENSSL_cleanse(&w, sizeof w);
  return rc;
}

/* tern_mlkem_decaps (ML-KEM.Decaps with §7.3's checks): see mlkem.h. */
int tern_mlkem_decaps(const tern_mlkem_params *p, const uint8_t *dk,
                      size_t dk_len, const uint8_t *ct, size_t ct_len,
                      uint8_t ss[TERN_MLKEM_SS_LEN]) {
  if (p == NULL || dk == NULL || ct == NULL || ss == NULL) return TERN_ERR_INVALID_ARG;
  OPENSSL_cleanse(ss, TERN_MLKEM_SS_LEN);
  /* FIPS 203 §7.3: ciphertext and key lengths, then the hash check. */
  if (ct_len != p->ct_len || dk_len != p->dk_len) return TERN_ERR_MALFORMED;
  return decaps(p, dk, NULL, ct, ss);
}

/* tern_mlkem_decaps_kept: see mlkem.h. */
int tern_mlkem_decaps_kept(const tern_mlkem_params *p, const uint8_t *kept,
                           size_t kept_len, const uint8_t *ct, size_t ct_len,
                           uint8_t ss[TERN_MLKEM_SS_LEN]) {
  if (p == NULL || kept == NULL || ct == NULL || ss == NULL) return TERN_ERR_INVALID_ARG;
  OPENSSL_cleanse(ss, TERN_MLKEM_SS_LEN);
  if (ct_len != p->ct_len || kept_len != tern_mlkem_kept_len(p)) return TERN_ERR_MALFORMED;
  return decaps(p, kept, kept + p->dk_len, ct, ss);
}

/* tern_mlkem_sizes: see tern.h. */
int tern_mlkem_sizes(unsigned level, size_t *ek_len, size_t *dk_len, size_t *ct_len) {
  const tern_mlkem_params *p = tern_mlkem_params_get(level);
  if (p == NULL) return TERN_ERR_UNSUPPORTED;
  if (ek_len != NULL) *ek_len = p->ek_len;
  if (dk_len != NULL) *dk_len = p->dk_len;
  if (ct_len != NULL) *ct_len = p->ct_len;
  return TERN_OK;
}

/* tern_mlkem_generate: see tern.h. */
int tern_mlkem_generate(unsigned level, uint8_t *ek, uint8_t *dk) {
  const tern_mlkem_params *p = tern_mlkem_params_get(level);
  return p == NULL ? TERN_ERR_UNSUPPORTED : tern_mlkem_keygen(p, ek, dk);
}

/* tern_mlkem_encapsulate: see tern.h. */
int tern_mlkem_encapsulate(unsigned level, const uint8_t *ek, size_t ek_len, uint8_t *ct,
                           uint8_t secret[TERN_MLKEM_SECRET_LEN]) {
  const tern_mlkem_params *p = tern_mlkem_params_get(level);
  return p == NULL ? TERN_ERR_UNSUPPORTED : tern_mlkem_encaps(p, ek, ek_len, ct, secret);
}

/* tern_mlkem_decapsulate: see tern.h. */
int tern_mlkem_decapsulate(unsigned level, const uint8_t *dk, size_t dk_len,
                           const uint8_t *ct, size_t ct_len,
                           uint8_t secret[TERN_MLKEM_SECRET_LEN]) {
  const tern_mlkem_params *p = tern_mlkem_params_get(level);
  return p == NULL ? TERN_ERR_UNSUPPORTED : tern_mlkem_decaps(p, dk, dk_len, ct, ct_len, secret);
}

/* tern_mlkem_kept_size: see tern.h. */
size_t tern_mlkem_kept_size(unsigned level) {
  return tern_mlkem_kept_len(tern_mlkem_params_get(level));
}

/* tern_mlkem_generate_kept: see tern.h. */
int tern_mlkem_generate_kept(unsigned level, uint8_t *ek, uint8_t *kept) {
  const tern_mlkem_params *p = tern_mlkem_params_get(level);
  uint8_t seed[TERN_MLKEM_SEED_LEN];
  int rc;
  if (p == NULL) return TERN_ERR_UNSUPPORTED;
  rc = RAND_bytes(seed, sizeof seed) == 1 ? tern_mlkem_keygen_kept(p, seed, ek, kept)
                                          : TERN_ERR_CRYPTO;
  OPENSSL_cleanse(seed, sizeof seed);
  return rc;
}

/* tern_mlkem_decapsulate_kept: see tern.h. */
int tern_mlkem_decapsulate_kept(unsigned level, const uint8_t *kept, size_t kept_len,
                                const uint8_t *ct, size_t ct_len,
                                uint8_t secret[TERN_MLKEM_SECRET_LEN]) {
  const tern_mlkem_params *p = tern_mlkem_params_get(level);
  return p == NULL ? TERN_ERR_UNSUPPORTED
                   : tern_mlkem_decaps_kept(p, kept, kept_len, ct, ct_len, secret);
}
