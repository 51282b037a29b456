/*
 * bench_quic.c - cost of tern's QUIC packet protection against the bare
 * libcrypto calls doing the same work.
 *
 * For each TLS 1.3 suite QUIC allows (AES-128-GCM, AES-256-GCM,
 * ChaCha20-Poly1305, AES-128-CCM), a 1200-byte short header packet (8-byte DCID,
 * 4-byte packet number, 1171-byte payload, 16-byte tag) is protected and
 * then unprotected in place, over and over:
 *   - tern:     tern_quic_protect + tern_quic_unprotect;
 *   - bare EVP: a hand-written loop on its own prepared EVP_CIPHER_CTXs
 *               (nonce, AEAD seal, HP mask and header masking, then the
 *               reverse; for CCM the plaintext length before the header
 *               and the tag before the data), with no parsing and no
 *               argument checks.
 * Both are timed in the same run, alternating, best of several rounds, and
 * their ratio printed. libcrypto's allocator is replaced (before anything
 * touches libcrypto) by counting wrappers so that allocations per packet
 * can be reported; the target for tern is 0.
 *
 * Usage: bench_quic [iterations per round]
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <tern.h>

#include "measure.h"

#define PKT_LEN 1200
#define DCID_LEN 8
#define PN_LEN 4
#define HDR_LEN (1 + DCID_LEN + PN_LEN)
#define PAYLOAD_LEN (PKT_LEN - HDR_LEN - TERN_QUIC_TAG_LEN)
#define ROUNDS 5
#define DEFAULT_ITERS 100000

/* ------------------------------------------------------------------ */
/* Counting allocator                                                  */
/* ------------------------------------------------------------------ */

static unsigned long long alloc_count;

static void *count_malloc(size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  alloc_count++;
  return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  alloc_count++;
  return realloc(p, n);
}

static void count_free(void *p, const char *file, int line) {
  (void)file;
  (void)line;
  free(p);
}

/* ------------------------------------------------------------------ */
/* The bare EVP baseline                                               */
/* ------------------------------------------------------------------ */

/* Prepared contexts and IV of the hand-written loop. */
typedef struct bare_key {
  EVP_CIPHER_CTX *seal, *open, *hp;
  EVP_CIPHER *aead_c, *hp_c;
  int chacha, ccm;
  uint8_t iv[12];
} bare_key;

/* bare_key_init: derive the keys with tern, then key our own contexts. */
static void bare_key_init(bare_key *b, uint16_t suite, const uint8_t *secret,
                          size_t secret_len) {
  uint8_t key[32], hp[32];
  size_t kl, hl;
  const char *aead_name, *hp_name;

  memset(b, 0, sizeof *b);
  if (tern_quic_derive_keys(TERN_QUIC_V1, suite, secret, secret_len, key, &kl,
                            b->iv, hp, &hl) != TERN_OK)
    die("tern_quic_derive_keys");
  switch (suite) {
  case TERN_TLS_AES_128_GCM_SHA256:
    aead_name = "AES-128-GCM";
    hp_name = "AES-128-ECB";
    break;
  case TERN_TLS_AES_256_GCM_SHA384:
    aead_name = "AES-256-GCM";
    hp_name = "AES-256-ECB";
    break;
  case TERN_TLS_AES_128_CCM_SHA256:
    aead_name = "AES-128-CCM";
    hp_name = "AES-128-ECB";
    b->ccm = 1;
    break;
  default:
    aead_name = "ChaCha20-Poly1305";
    hp_name = "ChaCha20";
    b->chacha = 1;
    break;
  }
  b->aead_c = EVP_CIPHER_fetch(NULL, aead_name, NULL);
  b->hp_c = EVP_CIPHER_fetch(NULL, hp_name, NULL);
  b->seal = EVP_CIPHER_CTX_new();
  b->open = EVP_CIPHER_CTX_new();
  b->hp = EVP_CIPHER_CTX_new();
  if (!b->aead_c || !b->hp_c || !b->seal || !b->open || !b->hp)
    die("bare EVP setup");
  if (b->ccm) {
    /* CCM: a 12-byte nonce and a 16-byte tag, both set before the key */
    if (!EVP_EncryptInit_ex(b->seal, b->aead_c, NULL, NULL, NULL) ||
        !EVP_CIPHER_CTX_ctrl(b->seal, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) ||
        !EVP_CIPHER_CTX_ctrl(b->seal, EVP_CTRL_AEAD_SET_TAG, 16, NULL) ||
        !EVP_EncryptInit_ex(b->seal, NULL, NULL, key, NULL) ||
        !EVP_DecryptInit_ex(b->open, b->aead_c, NULL, NULL, NULL) ||
        !EVP_CIPHER_CTX_ctrl(b->open, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) ||
        !EVP_CIPHER_CTX_ctrl(b->open, EVP_CTRL_AEAD_SET_TAG, 16, NULL) ||
        !EVP_DecryptInit_ex(b->open, NULL, NULL, key, NULL))
      die("bare EVP CCM setup");
  } else if (!EVP_EncryptInit_ex(b->seal, b->aead_c, NULL, key, NULL) ||
             !EVP_DecryptInit_ex(b->open, b->aead_c, NULL, key, NULL)) {
    die("bare EVP setup");
  }
  if (!EVP_EncryptInit_ex(b->hp, b->hp_c, NULL, hp, NULL) ||
      (!b->chacha && !EVP_CIPHER_CTX_set_padding(b->hp, 0)))
    die("bare EVP setup");
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(hp, sizeof hp);
}

static void bare_key_free(bare_key *b) {
  EVP_CIPHER_CTX_free(b->seal);
  EVP_CIPHER_CTX_free(b->open);
  EVP_CIPHER_CTX_free(b->hp);
  EVP_CIPHER_free(b->aead_c);
  EVP_CIPHER_free(b->hp_c);
}

/* bare_mask: the 5-byte header protection mask of a 16-byte sample. */
static inline int bare_mask(bare_key *b, const uint8_t *sample, uint8_t mask[5]) {
  static const uint8_t zeros[5];
  uint8_t block[16];
  int outl;
  if (b->chacha)
    return EVP_EncryptInit_ex(b->hp, NULL, NULL, NULL, sample) &&
           EVP_EncryptUpdate(b->hp, mask, &outl, zeros, 5);
  if (!EVP_EncryptUpdate(b->hp, block, &outl, sample, 16)) return 0;
  memcpy(mask, block, 5);
  return 1;
}

/* bare_nonce: iv XOR the left-padded packet number. */
static inline void bare_nonce(const bare_key *b, uint64_t pn, uint8_t nonce[12]) {
  memcpy(nonce, b->iv, 12);
  for (int i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
}

/* One packet through the bare loop: protect, then unprotect in place. */
static inline int bare_packet(bare_key *b, uint64_t pn, uint8_t *pkt) {
  uint8_t nonce[12], mask[5];
  int outl, finl;
  uint8_t *pl = pkt + HDR_LEN, *tag = pkt + HDR_LEN + PAYLOAD_LEN;
  const size_t pn_off = 1 + DCID_LEN;

  /* protect */
  bare_nonce(b, pn, nonce);
  if (!EVP_EncryptInit_ex(b->seal, NULL, NULL, NULL, nonce) ||
      (b->ccm && !EVP_EncryptUpdate(b->seal, NULL, &outl, NULL, PAYLOAD_LEN)) ||
      !EVP_EncryptUpdate(b->seal, NULL, &outl, pkt, HDR_LEN) ||
      !EVP_EncryptUpdate(b->seal, pl, &outl, pl, PAYLOAD_LEN) ||
      !EVP_EncryptFinal_ex(b->seal, pl + outl, &finl) ||
      !EVP_CIPHER_CTX_ctrl(b->seal, EVP_CTRL_AEAD_GET_TAG, 16, tag) ||
      !bare_mask(b, pkt + pn_off + 4, mask))
    return 0;
  pkt[0] ^= mask[0] & 0x1f;
  for (int i = 0; i < PN_LEN; i++) pkt[pn_off + i] ^= mask[1 + i];

  /* unprotect */
  if (!bare_mask(b, pkt + pn_off + 4, mask)) return 0;
  pkt[0] ^= mask[0] & 0x1f;
  for (int i = 0; i < PN_LEN; i++) pkt[pn_off + i] ^= mask[1 + i];
  bare_nonce(b, pn, nonce);
  if (b->ccm)
    return EVP_DecryptInit_ex(b->open, NULL, NULL, NULL, nonce) &&
           EVP_CIPHER_CTX_ctrl(b->open, EVP_CTRL_AEAD_SET_TAG, 16, tag) &&
           EVP_DecryptUpdate(b->open, NULL, &outl, NULL, PAYLOAD_LEN) &&
           EVP_DecryptUpdate(b->open, NULL, &outl, pkt, HDR_LEN) &&
           EVP_DecryptUpdate(b->open, pl, &outl, pl, PAYLOAD_LEN);
  if (!EVP_DecryptInit_ex(b->open, NULL, NULL, NULL, nonce) ||
      !EVP_DecryptUpdate(b->open, NULL, &outl, pkt, HDR_LEN) ||
      !EVP_DecryptUpdate(b->open, pl, &outl, pl, PAYLOAD_LEN) ||
      !EVP_CIPHER_CTX_ctrl(b->open, EVP_CTRL_AEAD_SET_TAG, 16, tag) ||
      EVP_DecryptFinal_ex(b->open, pl + outl, &finl) <= 0)
    return 0;
  return 1;
}

/* ------------------------------------------------------------------ */
/* The tern path                                                       */
/* ------------------------------------------------------------------ */

/* One packet through tern: protect, then unprotect in place. */
static inline int tern_packet(tern_quic_key *k, uint64_t pn, uint64_t largest,
                              uint8_t *pkt) {
  size_t len;
  tern_quic_packet_info info;
  if (tern_quic_protect(k, pn, pkt, HDR_LEN, PAYLOAD_LEN, PKT_LEN, &len) != TERN_OK)
    return 0;
  if (tern_quic_unprotect(k, pkt, len, DCID_LEN, largest, pkt, &info) != TERN_OK ||
      info.pn != pn)
    return 0;
  return 1;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* set_pn writes the 4-byte packet number into the plaintext header. */
static inline void set_pn(uint8_t *pkt, uint64_t pn) {
  pkt[1 + DCID_LEN + 0] = (uint8_t)(pn >> 24);
  pkt[1 + DCID_LEN + 1] = (uint8_t)(pn >> 16);
  pkt[1 + DCID_LEN + 2] = (uint8_t)(pn >> 8);
  pkt[1 + DCID_LEN + 3] = (uint8_t)pn;
}

/* The plaintext packet both loops start from and must get back. */
static void make_packet(uint8_t *pkt) {
  pkt[0] = 0x40 | (PN_LEN - 1);
  for (int i = 0; i < DCID_LEN; i++) pkt[1 + i] = (uint8_t)(0xc0 + i);
  set_pn(pkt, 0);
  for (size_t i = 0; i < PAYLOAD_LEN; i++) pkt[HDR_LEN + i] = (uint8_t)(i * 31 + 7);
}

/* run_tern: iters packets through tern; returns ns per packet. */
static double run_tern(tern_quic_key *k, uint8_t *pkt, uint64_t *pn, long iters) {
  double t0 = now_ns();
  for (long i = 0; i < iters; i++) {
    uint64_t largest = *pn == 0 ? UINT64_MAX : *pn - 1;
    set_pn(pkt, *pn);
    if (!tern_packet(k, *pn, largest, pkt)) die("tern packet");
    (*pn)++;
  }
  return (now_ns() - t0) / (double)iters;
}

/* run_bare: iters packets through the bare EVP loop; ns per packet. */
static double run_bare(bare_key *b, uint8_t *pkt, uint64_t *pn, long iters) {
  double t0 = now_ns();
  for (long i = 0; i < iters; i++) {
    set_pn(pkt, *pn);
    if (!bare_packet(b, *pn, pkt)) die("bare EVP packet");
    (*pn)++;
  }
  return (now_ns() - t0) / (double)iters;
}

int main(int argc, char **argv) {
  /* Before anything touches libcrypto. */
  int counting = CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free);
  long iters = DEFAULT_ITERS;
  static const uint16_t suites[4] = {TERN_TLS_AES_128_GCM_SHA256,
                                     TERN_TLS_AES_256_GCM_SHA384,
                                     TERN_TLS_CHACHA20_POLY1305_SHA256,
                                     TERN_TLS_AES_128_CCM_SHA256};
  int worst = 0;

  if (argc > 1) {
    char *end;
    iters = strtol(argv[1], &end, 10);
    if (*end != '\0' || iters <= 0) {
      fprintf(stderr, "usage: %s [iterations per round]\n", argv[0]);
      return 2;
    }
  }
  if (!counting)
    fprintf(stderr, "bench_quic: CRYPTO_set_mem_functions refused; "
                    "allocation counts are not meaningful\n");

  /* One throwaway key first, so that libcrypto's one-time setup (provider
     loading, algorithm fetches) is not counted against a suite below. */
  {
    uint8_t secret[32] = {0};
    tern_quic_key_free(
        tern_quic_key_new(TERN_QUIC_V1, TERN_TLS_AES_128_GCM_SHA256, secret, 32));
  }

  for (int s = 0; s < 4; s++) {
    uint8_t secret[TERN_MAX_SECRET_LEN];
    size_t secret_len = suites[s] == TERN_TLS_AES_256_GCM_SHA384 ? 48 : 32;
    static uint8_t pkt_t[PKT_LEN], pkt_b[PKT_LEN], ref[PKT_LEN];
    uint64_t pn_t = 0, pn_b = 0;
    double best_t = 1e30, best_b = 1e30;
    unsigned long long allocs_t = 0, allocs_b = 0;
    long warm = iters / 10 > 1000 ? 1000 : (iters / 10 ? iters / 10 : 1);

    for (size_t i = 0; i < secret_len; i++) secret[i] = (uint8_t)(i * 13 + s);
    unsigned long long a_new = alloc_count;
    tern_quic_key *k = tern_quic_key_new(TERN_QUIC_V1, suites[s], secret, secret_len);
    if (k == NULL) die("tern_quic_key_new");
    a_new = alloc_count - a_new; /* shows that the counter does count */
    bare_key b;
    bare_key_init(&b, suites[s], secret, secret_len);

    make_packet(ref);
    memcpy(pkt_t, ref, PKT_LEN);
    memcpy(pkt_b, ref, PKT_LEN);
    run_tern(k, pkt_t, &pn_t, warm);
    run_bare(&b, pkt_b, &pn_b, warm);

    for (int r = 0; r < ROUNDS; r++) {
      unsigned long long a0;
      double t;
      /* alternate which path goes first */
      for (int half = 0; half < 2; half++) {
        if ((half ^ (r & 1)) == 0) {
          a0 = alloc_count;
          t = run_tern(k, pkt_t, &pn_t, iters);
          allocs_t += alloc_count - a0;
          if (t < best_t) best_t = t;
        } else {
          a0 = alloc_count;
          t = run_bare(&b, pkt_b, &pn_b, iters);
          allocs_b += alloc_count - a0;
          if (t < best_b) best_b = t;
        }
      }
    }

    /* Both loops unprotect in place: the payload must have come back. */
    if (memcmp(pkt_t + HDR_LEN, ref + HDR_LEN, PAYLOAD_LEN) != 0 ||
        memcmp(pkt_b + HDR_LEN, ref + HDR_LEN, PAYLOAD_LEN) != 0 ||
        memcmp(pkt_t, ref, 1 + DCID_LEN) != 0 || memcmp(pkt_b, ref, 1 + DCID_LEN) != 0)
      die("round trip check");

    double ratio = best_t / best_b;
    double per_pkt_t = (double)allocs_t / ((double)iters * ROUNDS);
    double per_pkt_b = (double)allocs_b / ((double)iters * ROUNDS);
    printf("quic protect+unprotect %dB %s: tern %.0f ns/pkt, bare EVP %.0f ns/pkt, "
           "ratio %.2f\n",
           PKT_LEN, tern_suite_name(suites[s]), best_t, best_b, ratio);
    printf("allocations per packet: %g (bare EVP: %g; one tern_quic_key_new: %llu)\n",
           per_pkt_t, per_pkt_b, a_new);
    if (ratio > 1.10 || allocs_t != 0) worst = 1;

    tern_quic_key_free(k);
    bare_key_free(&b);
  }
  if (worst) printf("note: a target (ratio <= 1.10, 0 allocations) was missed\n");
  return 0;
}
