/*
 * test_ticket.c - resumption state (src/engine/ticket.c): tickets sealed and
 * opened with every suite and every field at its bounds, checked byte for
 * byte against an independent encoder and raw AES-256-GCM; key rotation;
 * every byte and bit flipped and every truncation refused, with the
 * output wiped; plaintexts with bad fields under a good tag; the session
 * blob likewise; the strike register against a simple model over 100000
 * ids; one ring shared by threads while it rotates; a thread's own
 * contexts always the ring's keys (many rings, rings freed and made
 * again, rotations); and no allocation
 * per seal, open or check.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <tern.h>

#include "check.h"
#include "engine/ticket.h"

/* ------------------------------------------------------------------ */
/* Allocation counting (installed before libcrypto allocates anything) */
/* ------------------------------------------------------------------ */

static atomic_size_t alloc_count; /* threads allocate too (test_ticket_threads) */

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
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

#define N_SUITES 5
static const uint16_t all_suites[N_SUITES] = {
    TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_256_GCM_SHA384,
    TERN_TLS_CHACHA20_POLY1305_SHA256, TERN_TLS_AES_128_CCM_SHA256,
    TERN_TLS_AES_128_CCM_8_SHA256};

/* all_zero: 1 when p[0..n) is all zero bytes. */
static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

/* fill: a recognisable, seed-dependent byte pattern. */
static void fill(uint8_t *p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + 37 * i + (i >> 3));
}

/* set_name: a name of len bytes ('a'..'z' repeating, no NUL), terminated. */
static void set_name(char *dst, uint8_t *len_out, size_t len, char first) {
  for (size_t i = 0; i < len; i++) dst[i] = (char)('a' + (first - 'a' + i) % 26);
  dst[len] = '\0';
  *len_out = (uint8_t)len;
}

static size_t psk_len_of(uint16_t suite) {
  return suite == TERN_TLS_AES_256_GCM_SHA384 ? 48 : 32;
}

/* make_ticket_state: a zeroed state with every field set. */
static void make_ticket_state(tern_ticket_state *st, uint16_t suite,
                              size_t alpn_len, size_t sn_len) {
  memset(st, 0, sizeof *st);
  st->suite = suite;
  st->psk_len = (uint8_t)psk_len_of(suite);
  fill(st->psk, st->psk_len, (uint8_t)suite);
  st->issue_time_ms = UINT64_C(0x0102030405060708);
  st->lifetime_s = 86400;
  st->age_add = 0xdeadbeef;
  st->max_early_data = 16384;
  set_name(st->alpn, &st->alpn_len, alpn_len, 'h');
  set_name(st->server_name, &st->server_name_len, sn_len, 'e');
  fill(st->early_ctx, sizeof st->early_ctx, 0xc0);
}

/* ticket_state_eq: every meaningful field equal. */
static int ticket_state_eq(const tern_ticket_state *a,
                           const tern_ticket_state *b) {
  return a->suite == b->suite && a->psk_len == b->psk_len &&
         memcmp(a->psk, b->psk, a->psk_len) == 0 &&
         a->issue_time_ms == b->issue_time_ms &&
         a->lifetime_s == b->lifetime_s && a->age_add == b->age_add &&
         a->max_early_data == b->max_early_data &&
         a->alpn_len == b->alpn_len &&
         memcmp(a->alpn, b->alpn, a->alpn_len + 1u) == 0 &&
         a->server_name_len == b->server_name_len &&
         memcmp(a->server_name, b->server_name, a->server_name_len + 1u) == 0 &&
         memcmp(a->early_ctx, b->early_ctx, sizeof a->early_ctx) == 0;
}

/* Big-endian appenders for the independent encoders below. */
static size_t put8(uint8_t *p, size_t n, uint8_t v) {
  p[n] = v;
  return n + 1;
}
static size_t put16(uint8_t *p, size_t n, uint16_t v) {
  p[n] = (uint8_t)(v >> 8);
  p[n + 1] = (uint8_t)v;
  return n + 2;
}
static size_t put32(uint8_t *p, size_t n, uint32_t v) {
  for (int i = 0; i < 4; i++) p[n + i] = (uint8_t)(v >> (24 - 8 * i));
  return n + 4;
}
static size_t put64(uint8_t *p, size_t n, uint64_t v) {
  for (int i = 0; i < 8; i++) p[n + i] = (uint8_t)(v >> (56 - 8 * i));
  return n + 8;
}
static size_t putb(uint8_t *p, size_t n, const void *src, size_t len) {
  memcpy(p + n, src, len);
  return n + len;
}

/*
 * build_plain: the ticket plaintext as ticket.c documents it, written
 * independently of wire.c. Fields are taken as they are (psk_len, names
 * with NULs), so invalid plaintexts can be built too.
 */
static size_t build_plain(uint8_t *p, const tern_ticket_state *st,
                          uint8_t version) {
  size_t n = 0;
  n = put8(p, n, version);
  n = put16(p, n, st->suite);
  n = put8(p, n, st->psk_len);
  n = putb(p, n, st->psk, st->psk_len);
  n = put64(p, n, st->issue_time_ms);
  n = put32(p, n, st->lifetime_s);
  n = put32(p, n, st->age_add);
  n = put32(p, n, st->max_early_data);
  n = put8(p, n, st->alpn_len);
  n = putb(p, n, st->alpn, st->alpn_len);
  n = put8(p, n, st->server_name_len);
  n = putb(p, n, st->server_name, st->server_name_len);
  n = putb(p, n, st->early_ctx, sizeof st->early_ctx);
  n = put8(p, n, st->client_auth);
  return n;
}

/* raw_gcm: AES-256-GCM with libcrypto directly (enc 1 seal, 0 open). */
static int raw_gcm(int enc, const uint8_t key[32], const uint8_t *aad,
                   size_t aad_len, const uint8_t nonce[12], const uint8_t *in,
                   size_t len, uint8_t *out, uint8_t tag[16]) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int outl = 0, finl = 0, ok;
  ok = ctx != NULL &&
       EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) &&
       EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) &&
       (len == 0 || EVP_CipherUpdate(ctx, out, &outl, in, (int)len)) &&
       (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) > 0) &&
       EVP_CipherFinal_ex(ctx, out + outl, &finl) > 0 &&
       (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) > 0);
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

/* raw_seal: a ticket name || nonce || GCM(plain) || tag made by hand. */
static size_t raw_seal(const uint8_t name[16], const uint8_t key[32],
                       const uint8_t nonce[12], const uint8_t *plain,
                       size_t plain_len, uint8_t *out) {
  memcpy(out, name, 16);
  memcpy(out + 16, nonce, 12);
  if (!raw_gcm(1, key, out, 28, nonce, plain, plain_len, out + 28,
               out + 28 + plain_len))
    abort();
  return 28 + plain_len + 16;
}

/* raw_unseal: the plaintext of a ticket, decrypted by hand. */
static int raw_unseal(const uint8_t key[32], const uint8_t *t, size_t len,
                      uint8_t *plain) {
  uint8_t tag[16];
  memcpy(tag, t + len - 16, 16);
  return raw_gcm(0, key, t, 28, t + 16, t + 28, len - 44, plain, tag);
}

/*
 * open_fails: opening must give want and leave st all zero (st is filled
 * with junk first).
 */
#define open_fails(k, t, l, w) open_fails_at(__LINE__, k, t, l, w)
static void open_fails_at(int line, tern_ticket_keys *k, const uint8_t *t,
                          size_t len, int want) {
  int before = check_failures;
  tern_ticket_state st;
  memset(&st, 0xa5, sizeof st);
  CHECK_EQ_INT(tern_ticket_open(k, t, len, &st), want);
  CHECK(all_zero(&st, sizeof st));
  if (check_failures != before)
    fprintf(stderr, "  (open_fails called from line %d, len %zu)\n", line, len);
}

static const uint8_t name_a[16] = "key-name-AAAAAAA";
static const uint8_t name_b[16] = "key-name-BBBBBBB";
static const uint8_t name_c[16] = "key-name-CCCCCCC";
static uint8_t key_a[32], key_b[32], key_c[32], key_c2[32];
static const uint8_t nonce1[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t nonce2[12] = {12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

/* ring_with: a ring whose current key is (name, key). */
static tern_ticket_keys *ring_with(const uint8_t *name, const uint8_t *key) {
  tern_ticket_keys *k = tern_ticket_keys_new();
  if (k == NULL || tern_ticket_keys_rotate(k, name, key) != TERN_OK) abort();
  return k;
}

/* ------------------------------------------------------------------ */
/* Tickets                                                             */
/* ------------------------------------------------------------------ */

/* Round trip with every suite; the bytes match the documented format. */
static void test_ticket_roundtrip(void) {
  tern_ticket_keys *k = ring_with(name_a, key_a);
  for (int i = 0; i < N_SUITES; i++) {
    tern_ticket_state st, got;
    uint8_t t[TERN_TICKET_MAX], t2[TERN_TICKET_MAX], t3[TERN_TICKET_MAX];
    uint8_t plain[TERN_TICKET_MAX], want[TERN_TICKET_MAX];
    size_t len = 0, len2 = 0, len3 = 0, want_len;

    make_ticket_state(&st, all_suites[i], 2, 11);
    want_len = build_plain(want, &st, 1);
    CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, t, sizeof t, &len), TERN_OK);
    CHECK_EQ_INT(len, 28 + want_len + 16);
    CHECK_MEM(t, name_a, 16);
    CHECK_MEM(t + 16, nonce1, 12);
    /* the ciphertext is AES-256-GCM of exactly the documented plaintext */
    CHECK(raw_unseal(key_a, t, len, plain));
    CHECK_MEM(plain, want, want_len);

    memset(&got, 0x5a, sizeof got);
    CHECK_EQ_INT(tern_ticket_open(k, t, len, &got), TERN_OK);
    CHECK(ticket_state_eq(&got, &st));
    CHECK(all_zero(got.psk + got.psk_len, sizeof got.psk - got.psk_len));

    /* same nonce, same bytes; another nonce, other bytes */
    CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, t2, sizeof t2, &len2), TERN_OK);
    CHECK(len2 == len && memcmp(t, t2, len) == 0);
    CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce2, t3, sizeof t3, &len3), TERN_OK);
    CHECK(len3 == len && memcmp(t + 28, t3 + 28, len - 28) != 0);
    CHECK_EQ_INT(tern_ticket_open(k, t3, len3, &got), TERN_OK);
    CHECK(ticket_state_eq(&got, &st));

    /* a ticket made by hand in the documented format opens */
    len3 = raw_seal(name_a, key_a, nonce2, want, want_len, t3);
    CHECK_EQ_INT(tern_ticket_open(k, t3, len3, &got), TERN_OK);
    CHECK(ticket_state_eq(&got, &st));
  }
  tern_ticket_keys_free(k);
}

/* seal_open_ok: st seals and opens back to itself. */
#define seal_open_ok(k, st) seal_open_ok_at(__LINE__, k, st)
static void seal_open_ok_at(int line, tern_ticket_keys *k,
                            const tern_ticket_state *st) {
  int before = check_failures;
  uint8_t t[TERN_TICKET_MAX];
  size_t len = 0;
  tern_ticket_state got;
  CHECK_EQ_INT(tern_ticket_seal(k, st, nonce1, t, sizeof t, &len), TERN_OK);
  CHECK(len <= TERN_TICKET_MAX);
  CHECK_EQ_INT(tern_ticket_open(k, t, len, &got), TERN_OK);
  CHECK(ticket_state_eq(&got, st));
  if (check_failures != before)
    fprintf(stderr, "  (seal_open_ok called from line %d)\n", line);
}

/* seal_refused: sealing st gives want and writes nothing. */
#define seal_refused(k, st, w) seal_refused_at(__LINE__, k, st, w)
static void seal_refused_at(int line, tern_ticket_keys *k,
                            const tern_ticket_state *st, int want) {
  int before = check_failures;
  uint8_t t[TERN_TICKET_MAX], junk[TERN_TICKET_MAX];
  size_t len = 12345;
  memset(t, 0x77, sizeof t);
  memset(junk, 0x77, sizeof junk);
  CHECK_EQ_INT(tern_ticket_seal(k, st, nonce1, t, sizeof t, &len), want);
  CHECK_EQ_INT(len, 12345);
  CHECK_MEM(t, junk, sizeof t);
  if (check_failures != before)
    fprintf(stderr, "  (seal_refused called from line %d)\n", line);
}

/* Every field at its bounds, and every out-of-range value refused. */
static void test_ticket_bounds(void) {
  tern_ticket_keys *k = ring_with(name_a, key_a);
  tern_ticket_state st;

  for (int i = 0; i < N_SUITES; i++) {
    static const size_t lens[4] = {0, 1, 254, 255};
    for (int a = 0; a < 4; a++)
      for (int n = 0; n < 4; n++) {
        make_ticket_state(&st, all_suites[i], lens[a], lens[n]);
        seal_open_ok(k, &st);
      }
  }
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 3, 4);
  st.lifetime_s = TERN_TICKET_MAX_LIFETIME;
  seal_open_ok(k, &st);
  st.lifetime_s = 0; /* "discard immediately" is a legal lifetime */
  seal_open_ok(k, &st);
  st.issue_time_ms = UINT64_MAX;
  st.age_add = UINT32_MAX;
  st.max_early_data = UINT32_MAX;
  memset(st.psk, 0xff, sizeof st.psk);
  memset(st.early_ctx, 0xff, sizeof st.early_ctx);
  seal_open_ok(k, &st);
  st.issue_time_ms = 0;
  st.age_add = 0;
  st.max_early_data = 0;
  memset(st.psk, 0, sizeof st.psk);
  memset(st.early_ctx, 0, sizeof st.early_ctx);
  seal_open_ok(k, &st);

  /* the longest ticket fits TERN_TICKET_MAX; every shorter buffer is refused
     untouched and the exact size works */
  {
    uint8_t t[TERN_TICKET_MAX + 1], junk[TERN_TICKET_MAX + 1];
    size_t len = 0, full;
    make_ticket_state(&st, TERN_TLS_AES_256_GCM_SHA384, 255, 255);
    CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, t, sizeof t, &len), TERN_OK);
    CHECK_EQ_INT(len, 28 + 1 + 2 + 1 + 48 + 8 + 12 + 1 + 255 + 1 + 255 + 32 + 1 + 16);
    CHECK(len <= TERN_TICKET_MAX);
    full = len;
    for (size_t cap = 0; cap < full; cap++) {
      memset(t, 0x33, sizeof t);
      memset(junk, 0x33, sizeof junk);
      len = 999;
      CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, t, cap, &len),
                   TERN_ERR_BUFFER_TOO_SMALL);
      CHECK(len == 999 && memcmp(t, junk, sizeof t) == 0);
    }
    CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, t, full, &len), TERN_OK);
    CHECK_EQ_INT(len, full);
  }

  /* out of range */
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 3, 4);
  st.lifetime_s = TERN_TICKET_MAX_LIFETIME + 1;
  seal_refused(k, &st, TERN_ERR_INVALID_ARG);
  st.lifetime_s = UINT32_MAX;
  seal_refused(k, &st, TERN_ERR_INVALID_ARG);
  {
    static const struct {
      uint16_t suite;
      uint8_t psk_len;
    } bad[] = {
        {TERN_TLS_AES_128_GCM_SHA256, 48}, {TERN_TLS_AES_128_GCM_SHA256, 0},
        {TERN_TLS_AES_128_GCM_SHA256, 33}, {TERN_TLS_AES_128_GCM_SHA256, 31},
        {TERN_TLS_AES_256_GCM_SHA384, 32}, {TERN_TLS_AES_256_GCM_SHA384, 49},
        {TERN_TLS_AES_256_GCM_SHA384, 255}, {TERN_TLS_CHACHA20_POLY1305_SHA256, 48},
        {TERN_TLS_AES_128_CCM_SHA256, 48}, {TERN_TLS_AES_128_CCM_8_SHA256, 48},
        {0x1306, 32}, {0x13ff, 32}, {0x0000, 32}, {0x1300, 32}, {0xffff, 48},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 3, 4);
      st.suite = bad[i].suite;
      st.psk_len = bad[i].psk_len;
      seal_refused(k, &st, TERN_ERR_INVALID_ARG);
    }
  }
  /* names: a NUL inside the counted bytes, or no NUL right after them */
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 5, 6);
  st.alpn[2] = '\0';
  seal_refused(k, &st, TERN_ERR_INVALID_ARG);
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 5, 6);
  st.alpn[5] = 'x';
  seal_refused(k, &st, TERN_ERR_INVALID_ARG);
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 5, 6);
  st.server_name[0] = '\0';
  seal_refused(k, &st, TERN_ERR_INVALID_ARG);
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 5, 6);
  st.server_name[6] = 'x';
  seal_refused(k, &st, TERN_ERR_INVALID_ARG);
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 255, 255);
  st.alpn[255] = 'x';
  seal_refused(k, &st, TERN_ERR_INVALID_ARG);
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 5, 255);
  st.server_name[254] = '\0';
  seal_refused(k, &st, TERN_ERR_INVALID_ARG);

  /* arguments and state */
  {
    uint8_t t[TERN_TICKET_MAX];
    size_t len;
    tern_ticket_keys *empty = tern_ticket_keys_new();
    make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 3, 4);
    CHECK(empty != NULL);
    CHECK(!tern_ticket_keys_ready(empty));
    CHECK(!tern_ticket_keys_ready(NULL));
    CHECK(tern_ticket_keys_ready(k));
    seal_refused(empty, &st, TERN_ERR_STATE);
    CHECK_EQ_INT(tern_ticket_seal(NULL, &st, nonce1, t, sizeof t, &len), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_ticket_seal(k, NULL, nonce1, t, sizeof t, &len), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_ticket_seal(k, &st, NULL, t, sizeof t, &len), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, NULL, sizeof t, &len), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, t, sizeof t, NULL), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, t, sizeof t, &len), TERN_OK);
    open_fails(NULL, t, len, TERN_ERR_INVALID_ARG);
    open_fails(k, NULL, len, TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_ticket_open(k, t, len, NULL), TERN_ERR_INVALID_ARG);
    open_fails(empty, t, len, TERN_ERR_UNSUPPORTED);
    CHECK_EQ_INT(tern_ticket_keys_rotate(NULL, name_a, key_a), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_ticket_keys_rotate(empty, NULL, key_a), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_ticket_keys_rotate(empty, name_a, NULL), TERN_ERR_INVALID_ARG);
    CHECK(!tern_ticket_keys_ready(empty));
    tern_ticket_keys_free(empty);
    tern_ticket_keys_free(NULL);
  }
  tern_ticket_keys_free(k);
}

/* Current seals; current and previous open; two rotations retire a key. */
static void test_ticket_rotation(void) {
  tern_ticket_keys *k = tern_ticket_keys_new();
  tern_ticket_state st, got;
  uint8_t ta[TERN_TICKET_MAX], tb[TERN_TICKET_MAX], tc[TERN_TICKET_MAX],
      tc2[TERN_TICKET_MAX], tx[TERN_TICKET_MAX];
  size_t la = 0, lb = 0, lc = 0, lc2 = 0, lx;

  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 2, 9);
  CHECK(k != NULL);
  CHECK_EQ_INT(tern_ticket_keys_rotate(k, name_a, key_a), TERN_OK);
  CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, ta, sizeof ta, &la), TERN_OK);
  CHECK_MEM(ta, name_a, 16);

  CHECK_EQ_INT(tern_ticket_keys_rotate(k, name_b, key_b), TERN_OK);
  CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, tb, sizeof tb, &lb), TERN_OK);
  CHECK_MEM(tb, name_b, 16); /* the new key seals */
  CHECK(raw_unseal(key_b, tb, lb, tx));
  CHECK_EQ_INT(tern_ticket_open(k, ta, la, &got), TERN_OK); /* previous opens */
  CHECK(ticket_state_eq(&got, &st));
  CHECK_EQ_INT(tern_ticket_open(k, tb, lb, &got), TERN_OK);
  CHECK(ticket_state_eq(&got, &st));

  CHECK_EQ_INT(tern_ticket_keys_rotate(k, name_c, key_c), TERN_OK);
  CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, tc, sizeof tc, &lc), TERN_OK);
  CHECK_MEM(tc, name_c, 16);
  open_fails(k, ta, la, TERN_ERR_UNSUPPORTED); /* rotated out */
  CHECK_EQ_INT(tern_ticket_open(k, tb, lb, &got), TERN_OK);
  CHECK_EQ_INT(tern_ticket_open(k, tc, lc, &got), TERN_OK);
  CHECK(ticket_state_eq(&got, &st));

  /* a name we never had, and a name-shaped prefix of ours */
  memcpy(tx, tc, lc);
  memcpy(tx, "key-name-DDDDDDD", 16);
  open_fails(k, tx, lc, TERN_ERR_UNSUPPORTED);
  memset(tx, 0, 16);
  open_fails(k, tx, lc, TERN_ERR_UNSUPPORTED);

  /* the current name again replaces the key without rotating: tickets of
     the old C key no longer authenticate, B (previous) still opens */
  CHECK_EQ_INT(tern_ticket_keys_rotate(k, name_c, key_c2), TERN_OK);
  open_fails(k, tc, lc, TERN_ERR_DECRYPT);
  CHECK_EQ_INT(tern_ticket_open(k, tb, lb, &got), TERN_OK);
  CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, tc2, sizeof tc2, &lc2), TERN_OK);
  CHECK_MEM(tc2, name_c, 16);
  CHECK(raw_unseal(key_c2, tc2, lc2, tx));
  CHECK_EQ_INT(tern_ticket_open(k, tc2, lc2, &got), TERN_OK);

  /* rotating to a name that was retired earlier brings no old key back */
  CHECK_EQ_INT(tern_ticket_keys_rotate(k, name_a, key_b), TERN_OK);
  open_fails(k, ta, la, TERN_ERR_DECRYPT);
  open_fails(k, tb, lb, TERN_ERR_UNSUPPORTED);
  CHECK_EQ_INT(tern_ticket_open(k, tc2, lc2, &got), TERN_OK);
  CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce2, tx, sizeof tx, &lx), TERN_OK);
  CHECK_MEM(tx, name_a, 16);
  CHECK_EQ_INT(tern_ticket_open(k, tx, lx, &got), TERN_OK);
  tern_ticket_keys_free(k);
}

/* Every byte and bit flipped, every truncation, an extra byte. */
static void test_ticket_tamper(void) {
  tern_ticket_keys *k = ring_with(name_a, key_a);
  tern_ticket_state st;
  uint8_t t[TERN_TICKET_MAX + 2], x[TERN_TICKET_MAX + 2];
  size_t len = 0;

  make_ticket_state(&st, TERN_TLS_AES_256_GCM_SHA384, 5, 20);
  CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, t, sizeof t, &len), TERN_OK);
  for (size_t i = 0; i < len; i++) {
    int want = i < 16 ? TERN_ERR_UNSUPPORTED : TERN_ERR_DECRYPT;
    memcpy(x, t, len);
    x[i] ^= 0xff;
    open_fails(k, x, len, want);
    for (int b = 0; b < 8; b++) {
      memcpy(x, t, len);
      x[i] ^= (uint8_t)(1u << b);
      open_fails(k, x, len, want);
    }
  }
  for (size_t n = 0; n < len; n++)
    open_fails(k, t, n, n < 44 ? TERN_ERR_MALFORMED : TERN_ERR_DECRYPT);
  memcpy(x, t, len);
  x[len] = 0;
  open_fails(k, x, len + 1, TERN_ERR_DECRYPT);
  /* longer than any ticket of ours: refused before decrypting */
  {
    uint8_t big[TERN_TICKET_MAX + 64];
    memset(big, 0, sizeof big);
    memcpy(big, t, len);
    open_fails(k, big, 28 + 617 + 16 + 1, TERN_ERR_MALFORMED);
    open_fails(k, big, sizeof big, TERN_ERR_MALFORMED);
    open_fails(k, big, 28 + 617 + 16, TERN_ERR_DECRYPT);
  }
  /* still fine afterwards: the contexts recover from failures */
  {
    tern_ticket_state got;
    CHECK_EQ_INT(tern_ticket_open(k, t, len, &got), TERN_OK);
    CHECK(ticket_state_eq(&got, &st));
  }
  tern_ticket_keys_free(k);
}

/* raw_open_want: a hand-sealed plaintext under key A gives want. */
#define raw_open_want(k, p, n, w) raw_open_want_at(__LINE__, k, p, n, w)
static void raw_open_want_at(int line, tern_ticket_keys *k, const uint8_t *plain,
                             size_t plain_len, int want) {
  int before = check_failures;
  uint8_t t[TERN_TICKET_MAX + 128];
  size_t len = raw_seal(name_a, key_a, nonce2, plain, plain_len, t);
  if (want == TERN_OK) {
    tern_ticket_state got;
    CHECK_EQ_INT(tern_ticket_open(k, t, len, &got), TERN_OK);
  } else {
    open_fails(k, t, len, want);
  }
  if (check_failures != before)
    fprintf(stderr, "  (raw_open_want called from line %d)\n", line);
}

/* Authentic plaintexts (good tag) with bad contents are refused. */
static void test_ticket_plaintext_fields(void) {
  tern_ticket_keys *k = ring_with(name_a, key_a);
  tern_ticket_state st;
  uint8_t p[TERN_TICKET_MAX + 64];
  size_t n;

  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 3, 7);
  n = build_plain(p, &st, 1);
  raw_open_want(k, p, n, TERN_OK);
  for (size_t cut = 0; cut < n; cut++) raw_open_want(k, p, cut, TERN_ERR_MALFORMED);
  p[n] = 0;
  raw_open_want(k, p, n + 1, TERN_ERR_MALFORMED); /* trailing byte */
  n = build_plain(p, &st, 2);
  raw_open_want(k, p, n, TERN_ERR_UNSUPPORTED);   /* another version */
  n = build_plain(p, &st, 0);
  raw_open_want(k, p, n, TERN_ERR_UNSUPPORTED);

  st.lifetime_s = TERN_TICKET_MAX_LIFETIME;
  raw_open_want(k, p, build_plain(p, &st, 1), TERN_OK);
  st.lifetime_s = TERN_TICKET_MAX_LIFETIME + 1;
  raw_open_want(k, p, build_plain(p, &st, 1), TERN_ERR_MALFORMED);
  st.lifetime_s = UINT32_MAX;
  raw_open_want(k, p, build_plain(p, &st, 1), TERN_ERR_MALFORMED);

  {
    static const struct {
      uint16_t suite;
      uint8_t psk_len;
    } bad[] = {
        {TERN_TLS_AES_128_GCM_SHA256, 48}, {TERN_TLS_AES_128_GCM_SHA256, 33},
        {TERN_TLS_AES_128_GCM_SHA256, 0},  {TERN_TLS_AES_256_GCM_SHA384, 32},
        {TERN_TLS_CHACHA20_POLY1305_SHA256, 48}, {TERN_TLS_AES_128_CCM_8_SHA256, 48},
        {0x1306, 32}, {0, 48},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 3, 7);
      st.suite = bad[i].suite;
      st.psk_len = bad[i].psk_len;
      raw_open_want(k, p, build_plain(p, &st, 1), TERN_ERR_MALFORMED);
    }
    /* a length byte beyond psk[48]: the bytes that follow it do not matter */
    make_ticket_state(&st, TERN_TLS_AES_256_GCM_SHA384, 3, 7);
    n = build_plain(p, &st, 1);
    p[3] = 200;
    raw_open_want(k, p, n, TERN_ERR_MALFORMED);
    p[3] = 255;
    raw_open_want(k, p, n, TERN_ERR_MALFORMED);
  }
  /* NULs inside names */
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 3, 7);
  st.alpn[1] = '\0';
  raw_open_want(k, p, build_plain(p, &st, 1), TERN_ERR_MALFORMED);
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 3, 7);
  st.server_name[6] = '\0';
  raw_open_want(k, p, build_plain(p, &st, 1), TERN_ERR_MALFORMED);
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 0, 255);
  st.server_name[0] = '\0';
  raw_open_want(k, p, build_plain(p, &st, 1), TERN_ERR_MALFORMED);
  /* a name length running past the end */
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 3, 7);
  n = build_plain(p, &st, 1);
  p[1 + 2 + 1 + 32 + 8 + 12] = 255;
  raw_open_want(k, p, n, TERN_ERR_MALFORMED);
  /* a plaintext one byte longer than any of ours is refused before the tag */
  memset(p, 0, 618);
  raw_open_want(k, p, 618, TERN_ERR_MALFORMED);
  tern_ticket_keys_free(k);
}

/*
 * One ring used by four threads while a fifth rotates it between keys A
 * and B (so both stay in the ring): every ticket must be exactly the GCM
 * sealing of its own plaintext under its own nonce, and open again.
 */
enum { THREADS = 4, PER_THREAD = 400 };

typedef struct worker {
  tern_ticket_keys *k;
  int index;
  long failures;
} worker;

static void *seal_open_worker(void *arg) {
  worker *w = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    tern_ticket_state st, got;
    uint8_t t[TERN_TICKET_MAX], plain[TERN_TICKET_MAX], want[TERN_TICKET_MAX];
    uint8_t nonce[12] = {0};
    size_t len = 0, want_len;
    const uint8_t *key;
    make_ticket_state(&st, all_suites[i % N_SUITES], (size_t)w->index, 3);
    st.age_add = (uint32_t)(w->index << 16 | i);
    nonce[0] = (uint8_t)w->index;
    nonce[1] = (uint8_t)(i >> 8);
    nonce[2] = (uint8_t)i;
    want_len = build_plain(want, &st, 1);
    if (tern_ticket_seal(w->k, &st, nonce, t, sizeof t, &len) != TERN_OK ||
        len != want_len + 44 || memcmp(t + 16, nonce, 12) != 0) {
      w->failures++;
      continue;
    }
    key = memcmp(t, name_a, 16) == 0 ? key_a
          : memcmp(t, name_b, 16) == 0 ? key_b
                                       : NULL;
    if (key == NULL || !raw_unseal(key, t, len, plain) ||
        memcmp(plain, want, want_len) != 0)
      w->failures++;
    if (tern_ticket_open(w->k, t, len, &got) != TERN_OK ||
        !ticket_state_eq(&got, &st))
      w->failures++;
  }
  return NULL;
}

static void *rotate_worker(void *arg) {
  worker *w = arg;
  for (int i = 0; i < 4 * PER_THREAD; i++) {
    int rc = i % 2 ? tern_ticket_keys_rotate(w->k, name_b, key_b)
                   : tern_ticket_keys_rotate(w->k, name_a, key_a);
    if (rc != TERN_OK || !tern_ticket_keys_ready(w->k)) w->failures++;
  }
  return NULL;
}

static void test_ticket_threads(void) {
  tern_ticket_keys *k = ring_with(name_a, key_a);
  pthread_t tid[THREADS + 1];
  worker w[THREADS + 1];
  long failures = 0;
  int started = 0;
  CHECK_EQ_INT(tern_ticket_keys_rotate(k, name_b, key_b), TERN_OK);
  for (int i = 0; i <= THREADS; i++) {
    w[i].k = k;
    w[i].index = i;
    w[i].failures = 0;
    if (pthread_create(&tid[i], NULL, i < THREADS ? seal_open_worker : rotate_worker,
                       &w[i]) != 0)
      break;
    started++;
  }
  CHECK_EQ_INT(started, THREADS + 1);
  for (int i = 0; i < started; i++) {
    pthread_join(tid[i], NULL);
    failures += w[i].failures;
  }
  CHECK_EQ_INT(failures, 0);
  tern_ticket_keys_free(k);
}

/*
 * Each thread keys contexts of its own from a ring (engine/ticket.c); they
 * must always be the ring's current keys: with more rings on one thread
 * than it keeps contexts for, used in turn; and with a ring freed and a
 * new one made (often at the same address) under another key.
 */
static void test_ticket_thread_contexts(void) {
  enum { RINGS = 7 };
  tern_ticket_keys *k[RINGS];
  uint8_t name[16], key[32], t[TERN_TICKET_MAX], plain[TERN_TICKET_MAX];
  tern_ticket_state st, got;
  size_t len = 0;
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 2, 9);
  for (int i = 0; i < RINGS; i++) {
    memcpy(name, name_a, sizeof name);
    name[15] = (uint8_t)('0' + i);
    fill(key, sizeof key, (uint8_t)(0x10 * i + 1));
    k[i] = ring_with(name, key);
  }
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < RINGS; i++) {
      fill(key, sizeof key, (uint8_t)(0x10 * i + 1));
      CHECK_EQ_INT(tern_ticket_seal(k[i], &st, nonce1, t, sizeof t, &len), TERN_OK);
      CHECK_EQ_INT(t[15], '0' + i);
      CHECK(raw_unseal(key, t, len, plain)); /* sealed under ring i's own key */
      CHECK_EQ_INT(tern_ticket_open(k[i], t, len, &got), TERN_OK);
      /* another ring does not know the name */
      CHECK_EQ_INT(tern_ticket_open(k[(i + 1) % RINGS], t, len, &got), TERN_ERR_UNSUPPORTED);
    }
  for (int i = 0; i < RINGS; i++) tern_ticket_keys_free(k[i]);

  /* free and make again, with the same name and another key, many times:
     the new ring seals under its own key, not the thread's old contexts */
  for (int i = 0; i < 20; i++) {
    tern_ticket_keys *r;
    fill(key, sizeof key, (uint8_t)(0x30 + i));
    r = ring_with(name_a, key);
    CHECK_EQ_INT(tern_ticket_seal(r, &st, nonce1, t, sizeof t, &len), TERN_OK);
    CHECK(raw_unseal(key, t, len, plain));
    CHECK_EQ_INT(tern_ticket_open(r, t, len, &got), TERN_OK);
    tern_ticket_keys_free(r);
  }
  /* a rotation seen by a thread that used the ring before it */
  {
    tern_ticket_keys *r = ring_with(name_a, key_a);
    uint8_t t2[TERN_TICKET_MAX];
    size_t len2 = 0;
    CHECK_EQ_INT(tern_ticket_seal(r, &st, nonce1, t, sizeof t, &len), TERN_OK);
    CHECK_EQ_INT(tern_ticket_keys_rotate(r, name_b, key_b), TERN_OK);
    CHECK_EQ_INT(tern_ticket_seal(r, &st, nonce1, t2, sizeof t2, &len2), TERN_OK);
    CHECK_MEM(t2, name_b, 16);
    CHECK(raw_unseal(key_b, t2, len2, plain));
    CHECK_EQ_INT(tern_ticket_open(r, t, len, &got), TERN_OK);   /* previous */
    CHECK_EQ_INT(tern_ticket_keys_rotate(r, name_c, key_c), TERN_OK);
    CHECK_EQ_INT(tern_ticket_open(r, t, len, &got), TERN_ERR_UNSUPPORTED);
    CHECK_EQ_INT(tern_ticket_open(r, t2, len2, &got), TERN_OK);
    tern_ticket_keys_free(r);
  }
}

/* ------------------------------------------------------------------ */
/* Session blob                                                        */
/* ------------------------------------------------------------------ */

static void make_session(tern_session_state *ss, uint16_t suite,
                         size_t alpn_len, size_t sn_len, size_t ticket_len) {
  memset(ss, 0, sizeof *ss);
  ss->suite = suite;
  ss->psk_len = (uint8_t)psk_len_of(suite);
  fill(ss->psk, ss->psk_len, 0x42);
  ss->receive_time_ms = UINT64_C(0x1122334455667788);
  ss->lifetime_s = 7200;
  ss->age_add = 0x01020304;
  ss->max_early_data = 0xffffffff;
  set_name(ss->alpn, &ss->alpn_len, alpn_len, 'q');
  set_name(ss->server_name, &ss->server_name_len, sn_len, 'w');
  ss->ticket_len = (uint16_t)ticket_len;
  fill(ss->ticket, ticket_len, 0x99);
}

static int session_eq(const tern_session_state *a, const tern_session_state *b) {
  return a->suite == b->suite && a->psk_len == b->psk_len &&
         memcmp(a->psk, b->psk, a->psk_len) == 0 &&
         a->receive_time_ms == b->receive_time_ms &&
         a->lifetime_s == b->lifetime_s && a->age_add == b->age_add &&
         a->max_early_data == b->max_early_data &&
         a->alpn_len == b->alpn_len &&
         memcmp(a->alpn, b->alpn, a->alpn_len + 1u) == 0 &&
         a->server_name_len == b->server_name_len &&
         memcmp(a->server_name, b->server_name, a->server_name_len + 1u) == 0 &&
         a->ticket_len == b->ticket_len &&
         memcmp(a->ticket, b->ticket, a->ticket_len) == 0;
}

/*
 * build_blob: the session blob as ticket.c documents it, written
 * independently, with the ticket bytes given apart (so that an overlong
 * one can be built) and the check value computed with EVP_sha256().
 */
static size_t build_blob(uint8_t *p, const tern_session_state *ss,
                         uint8_t version, const uint8_t *ticket,
                         size_t ticket_len, int extra_byte) {
  uint8_t md[32];
  unsigned int mdl = 0;
  size_t n = 0;
  n = put8(p, n, version);
  n = put16(p, n, ss->suite);
  n = put8(p, n, ss->psk_len);
  n = putb(p, n, ss->psk, ss->psk_len);
  n = put64(p, n, ss->receive_time_ms);
  n = put32(p, n, ss->lifetime_s);
  n = put32(p, n, ss->age_add);
  n = put32(p, n, ss->max_early_data);
  n = put8(p, n, ss->alpn_len);
  n = putb(p, n, ss->alpn, ss->alpn_len);
  n = put8(p, n, ss->server_name_len);
  n = putb(p, n, ss->server_name, ss->server_name_len);
  n = put16(p, n, (uint16_t)ticket_len);
  n = putb(p, n, ticket, ticket_len);
  if (extra_byte) n = put8(p, n, 0);
  if (!EVP_Digest(p, n, md, &mdl, EVP_sha256(), NULL)) abort();
  return putb(p, n, md, 8);
}

/* decode_fails: decoding must give want and leave ss all zero. */
#define decode_fails(b, l, w) decode_fails_at(__LINE__, b, l, w)
static void decode_fails_at(int line, const uint8_t *blob, size_t len, int want) {
  int before = check_failures;
  tern_session_state ss;
  memset(&ss, 0xa5, sizeof ss);
  CHECK_EQ_INT(tern_session_decode(blob, len, &ss), want);
  CHECK(all_zero(&ss, sizeof ss));
  if (check_failures != before)
    fprintf(stderr, "  (decode_fails called from line %d, len %zu)\n", line, len);
}

/* encode_decode_ok: ss encodes to the documented bytes and decodes back. */
#define encode_decode_ok(ss) encode_decode_ok_at(__LINE__, ss)
static void encode_decode_ok_at(int line, const tern_session_state *ss) {
  int before = check_failures;
  static uint8_t b[TERN_SESSION_MAX], want[TERN_SESSION_MAX + 16];
  tern_session_state got;
  size_t len = 0, want_len = build_blob(want, ss, 1, ss->ticket, ss->ticket_len, 0);
  CHECK_EQ_INT(tern_session_encode(ss, b, sizeof b, &len), TERN_OK);
  CHECK_EQ_INT(len, want_len);
  CHECK_MEM(b, want, want_len);
  memset(&got, 0x5a, sizeof got);
  CHECK_EQ_INT(tern_session_decode(b, len, &got), TERN_OK);
  CHECK(session_eq(&got, ss));
  if (check_failures != before)
    fprintf(stderr, "  (encode_decode_ok called from line %d)\n", line);
}

/* encode_refused: encoding ss gives want and writes nothing. */
#define encode_refused(ss, cap, w) encode_refused_at(__LINE__, ss, cap, w)
static void encode_refused_at(int line, const tern_session_state *ss, size_t cap,
                              int want) {
  int before = check_failures;
  static uint8_t b[TERN_SESSION_MAX], junk[TERN_SESSION_MAX];
  size_t len = 4242;
  memset(b, 0x6b, sizeof b);
  memset(junk, 0x6b, sizeof junk);
  CHECK_EQ_INT(tern_session_encode(ss, b, cap, &len), want);
  CHECK(len == 4242 && memcmp(b, junk, sizeof b) == 0);
  if (check_failures != before)
    fprintf(stderr, "  (encode_refused called from line %d)\n", line);
}

/* Round trips at the bounds; out-of-range states and short buffers refused. */
static void test_session_roundtrip(void) {
  tern_session_state ss;
  static uint8_t b[TERN_SESSION_MAX];
  size_t len = 0, full;

  for (int i = 0; i < N_SUITES; i++) {
    make_session(&ss, all_suites[i], 2, 11, 180);
    encode_decode_ok(&ss);
    make_session(&ss, all_suites[i], 0, 0, 1);
    encode_decode_ok(&ss);
    make_session(&ss, all_suites[i], 255, 255, TERN_TICKET_MAX);
    encode_decode_ok(&ss);
  }
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 1, 254, 2);
  ss.lifetime_s = TERN_TICKET_MAX_LIFETIME;
  ss.receive_time_ms = UINT64_MAX;
  ss.age_add = UINT32_MAX;
  encode_decode_ok(&ss);
  ss.lifetime_s = 0;
  ss.receive_time_ms = 0;
  ss.age_add = 0;
  ss.max_early_data = 0;
  encode_decode_ok(&ss);

  /* the longest blob fits TERN_SESSION_MAX; short buffers are untouched */
  make_session(&ss, TERN_TLS_AES_256_GCM_SHA384, 255, 255, TERN_TICKET_MAX);
  CHECK_EQ_INT(tern_session_encode(&ss, b, sizeof b, &len), TERN_OK);
  CHECK(len <= TERN_SESSION_MAX);
  full = len;
  for (size_t cap = 0; cap < full; cap++)
    encode_refused(&ss, cap, TERN_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(tern_session_encode(&ss, b, full, &len), TERN_OK);
  CHECK_EQ_INT(len, full);

  /* out of range */
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 3, 0);
  encode_refused(&ss, sizeof b, TERN_ERR_INVALID_ARG);
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 3, TERN_TICKET_MAX);
  ss.ticket_len = TERN_TICKET_MAX + 1;
  encode_refused(&ss, sizeof b, TERN_ERR_INVALID_ARG);
  ss.ticket_len = UINT16_MAX;
  encode_refused(&ss, sizeof b, TERN_ERR_INVALID_ARG);
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 3, 10);
  ss.lifetime_s = TERN_TICKET_MAX_LIFETIME + 1;
  encode_refused(&ss, sizeof b, TERN_ERR_INVALID_ARG);
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 3, 10);
  ss.psk_len = 48;
  encode_refused(&ss, sizeof b, TERN_ERR_INVALID_ARG);
  make_session(&ss, TERN_TLS_AES_256_GCM_SHA384, 2, 3, 10);
  ss.psk_len = 32;
  encode_refused(&ss, sizeof b, TERN_ERR_INVALID_ARG);
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 3, 10);
  ss.suite = 0x1306;
  encode_refused(&ss, sizeof b, TERN_ERR_INVALID_ARG);
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 3, 10);
  ss.alpn[0] = '\0';
  encode_refused(&ss, sizeof b, TERN_ERR_INVALID_ARG);
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 3, 10);
  ss.server_name[3] = 'z';
  encode_refused(&ss, sizeof b, TERN_ERR_INVALID_ARG);

  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 3, 10);
  CHECK_EQ_INT(tern_session_encode(NULL, b, sizeof b, &len), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_session_encode(&ss, NULL, sizeof b, &len), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_session_encode(&ss, b, sizeof b, NULL), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_session_encode(&ss, b, sizeof b, &len), TERN_OK);
  decode_fails(NULL, len, TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_session_decode(b, len, NULL), TERN_ERR_INVALID_ARG);
}

/* Every bit flip, truncation and extension of a blob is refused. */
static void test_session_corruption(void) {
  tern_session_state ss;
  static uint8_t b[TERN_SESSION_MAX + 64], x[TERN_SESSION_MAX + 64];
  size_t len = 0;

  for (int round = 0; round < 2; round++) {
    if (round == 0)
      make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 11, 120);
    else
      make_session(&ss, TERN_TLS_AES_256_GCM_SHA384, 255, 255, TERN_TICKET_MAX);
    CHECK_EQ_INT(tern_session_encode(&ss, b, sizeof b, &len), TERN_OK);
    /* version byte first: a flip there is another version; any other flip
       breaks the check value */
    for (size_t i = 0; i < len; i++)
      for (int bit = 0; bit < 8; bit++) {
        memcpy(x, b, len);
        x[i] ^= (uint8_t)(1u << bit);
        decode_fails(x, len, i == 0 ? TERN_ERR_UNSUPPORTED : TERN_ERR_MALFORMED);
      }
    for (size_t n = 0; n < len; n++) decode_fails(b, n, TERN_ERR_MALFORMED);
    memcpy(x, b, len);
    x[len] = 0;
    decode_fails(x, len + 1, TERN_ERR_MALFORMED);
  }
  /* too long to be a blob at all */
  memset(x, 0, sizeof x);
  x[0] = 1;
  decode_fails(x, TERN_SESSION_MAX + 1, TERN_ERR_MALFORMED);
  decode_fails(x, 0, TERN_ERR_MALFORMED);
}

/* Blobs with a valid check value but another version or bad fields. */
static void test_session_fields(void) {
  tern_session_state ss;
  static uint8_t b[TERN_SESSION_MAX + 64], tk[TERN_TICKET_MAX + 1];
  size_t n;

  fill(tk, sizeof tk, 0x11);
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 4, 9, 50);
  n = build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 0);
  {
    tern_session_state got;
    CHECK_EQ_INT(tern_session_decode(b, n, &got), TERN_OK);
    CHECK(session_eq(&got, &ss));
  }
  decode_fails(b, build_blob(b, &ss, 2, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_UNSUPPORTED);
  decode_fails(b, build_blob(b, &ss, 0, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_UNSUPPORTED);
  decode_fails(b, build_blob(b, &ss, 0xff, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_UNSUPPORTED);
  /* a byte between the fields and the check value */
  decode_fails(b, build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 1),
               TERN_ERR_MALFORMED);
  /* ticket lengths */
  decode_fails(b, build_blob(b, &ss, 1, tk, 0, 0), TERN_ERR_MALFORMED);
  decode_fails(b, build_blob(b, &ss, 1, tk, TERN_TICKET_MAX + 1, 0),
               TERN_ERR_MALFORMED);
  {
    tern_session_state got;
    n = build_blob(b, &ss, 1, tk, TERN_TICKET_MAX, 0);
    CHECK_EQ_INT(tern_session_decode(b, n, &got), TERN_OK);
    CHECK(got.ticket_len == TERN_TICKET_MAX &&
          memcmp(got.ticket, tk, TERN_TICKET_MAX) == 0);
  }
  /* suite and PSK length */
  ss.psk_len = 48;
  decode_fails(b, build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_MALFORMED);
  ss.psk_len = 33;
  decode_fails(b, build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_MALFORMED);
  ss.psk_len = 32;
  ss.suite = TERN_TLS_AES_256_GCM_SHA384;
  decode_fails(b, build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_MALFORMED);
  ss.suite = 0x1306;
  decode_fails(b, build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_MALFORMED);
  /* lifetime */
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 4, 9, 50);
  ss.lifetime_s = TERN_TICKET_MAX_LIFETIME + 1;
  decode_fails(b, build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_MALFORMED);
  /* NULs in names */
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 4, 9, 50);
  ss.alpn[3] = '\0';
  decode_fails(b, build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_MALFORMED);
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 4, 9, 50);
  ss.server_name[0] = '\0';
  decode_fails(b, build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 0),
               TERN_ERR_MALFORMED);
  /* every truncation of the fields, each with a valid check value */
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 4, 9, 50);
  n = build_blob(b, &ss, 1, ss.ticket, ss.ticket_len, 0);
  for (size_t cut = 1; cut < n - 8; cut++) {
    uint8_t md[32];
    unsigned int mdl;
    static uint8_t c[TERN_SESSION_MAX];
    memcpy(c, b, cut);
    if (!EVP_Digest(c, cut, md, &mdl, EVP_sha256(), NULL)) abort();
    memcpy(c + cut, md, 8);
    decode_fails(c, cut + 8, TERN_ERR_MALFORMED);
  }
}

/* ------------------------------------------------------------------ */
/* Strike register                                                     */
/* ------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* make_id: the 32-byte id number i (distinct i, distinct ids). */
static void make_id(uint64_t i, uint8_t id[32]) {
  uint64_t st = i * UINT64_C(0x2545f4914f6cdd1d) + 7;
  for (int w = 0; w < 4; w++) {
    uint64_t v = splitmix64(&st);
    for (int b = 0; b < 8; b++) id[8 * w + b] = (uint8_t)(v >> (8 * b));
  }
}

/* First use, replay, expiry, renewal, arguments. */
static void test_strike_basic(void) {
  tern_strike *s = tern_strike_new(16);
  uint8_t a[32], b[32];
  make_id(1, a);
  make_id(2, b);
  CHECK(s != NULL);
  CHECK(tern_strike_new(0) == NULL);
  CHECK(tern_strike_new(SIZE_MAX) == NULL);
  CHECK(tern_strike_new(((size_t)1 << 28) + 1) == NULL);
  CHECK_EQ_INT(tern_strike_count(s), 0);
  CHECK_EQ_INT(tern_strike_check(s, a, 1000, 2000), 1);
  CHECK_EQ_INT(tern_strike_count(s), 1);
  CHECK_EQ_INT(tern_strike_check(s, a, 1000, 2000), 0);
  CHECK_EQ_INT(tern_strike_check(s, a, 1500, 9000), 0);
  CHECK_EQ_INT(tern_strike_check(s, a, 1999, 2000), 0);
  CHECK_EQ_INT(tern_strike_check(s, b, 1999, 2001), 1);
  CHECK_EQ_INT(tern_strike_count(s), 2);
  /* an entry whose expiry is now is gone: the id is new again */
  CHECK_EQ_INT(tern_strike_check(s, a, 2000, 3000), 1);
  CHECK_EQ_INT(tern_strike_count(s), 2);
  CHECK_EQ_INT(tern_strike_check(s, a, 2999, 5000), 0); /* the new expiry holds */
  CHECK_EQ_INT(tern_strike_count(s), 1);                /* b expired at 2001 */
  CHECK_EQ_INT(tern_strike_check(s, b, 2999, 5000), 1);
  /* arguments */
  CHECK_EQ_INT(tern_strike_check(s, b, 5000, 5000), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_strike_check(s, b, 5000, 4000), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_strike_check(s, b, UINT64_MAX, UINT64_MAX), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_strike_check(NULL, b, 1, 2), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_strike_check(s, NULL, 1, 2), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_strike_count(s), 2); /* refused calls change nothing */
  CHECK_EQ_INT(tern_strike_check(s, b, 3000, UINT64_MAX), 0);
  CHECK_EQ_INT(tern_strike_count(NULL), 0);
  tern_strike_free(s);
  tern_strike_free(NULL);
}

/* A register full of live entries refuses; expired entries make room. */
static void test_strike_full(void) {
  uint8_t id[32];
  for (size_t cap = 1; cap <= 9; cap += 4) { /* 1, 5, 9: not powers of two */
    tern_strike *s = tern_strike_new(cap);
    CHECK(s != NULL);
    for (size_t i = 0; i < cap; i++) {
      make_id(100 + i, id);
      CHECK_EQ_INT(tern_strike_check(s, id, 0, 1001 + i), 1);
    }
    CHECK_EQ_INT(tern_strike_count(s), cap);
    make_id(100 + cap, id);
    CHECK_EQ_INT(tern_strike_check(s, id, 500, 5000), 0); /* full */
    CHECK_EQ_INT(tern_strike_check(s, id, 1000, 5000), 0);
    for (size_t i = 0; i < cap; i++) {
      make_id(100 + i, id);
      CHECK_EQ_INT(tern_strike_check(s, id, 1000, 5000), 0); /* replays */
    }
    CHECK_EQ_INT(tern_strike_count(s), cap);
    /* at 1001 the first entry expired: its place takes a new id */
    make_id(100 + cap, id);
    CHECK_EQ_INT(tern_strike_check(s, id, 1001, 5000), 1);
    CHECK_EQ_INT(tern_strike_count(s), cap);
    make_id(100, id); /* the expired one is new again, but there is no room */
    CHECK_EQ_INT(tern_strike_check(s, id, 1001, 5000), 0);
    if (cap > 1) {
      make_id(101, id); /* still live */
      CHECK_EQ_INT(tern_strike_check(s, id, 1001, 5000), 0);
    }
    /* much later every first-round entry has expired */
    for (size_t i = 0; i + 1 < cap; i++) {
      make_id(200 + i, id);
      CHECK_EQ_INT(tern_strike_check(s, id, 4000, 6000), 1);
    }
    make_id(100, id); /* full again */
    CHECK_EQ_INT(tern_strike_check(s, id, 4000, 6000), 0);
    CHECK_EQ_INT(tern_strike_count(s), cap);
    make_id(100 + cap, id); /* live until 5000 */
    CHECK_EQ_INT(tern_strike_check(s, id, 4999, 6000), 0);
    make_id(100, id); /* at 5000 it leaves, making room */
    CHECK_EQ_INT(tern_strike_check(s, id, 5000, 6000), 1);
    CHECK_EQ_INT(tern_strike_count(s), cap);
    tern_strike_free(s);
  }
}

/*
 * Many ids with one home slot: only STRIKE_PROBES (64) of them fit near it
 * and the rest are refused (fail safe); entries leaving the middle of the
 * cluster must not hide the others.
 */
static void test_strike_cluster(void) {
  tern_strike *s = tern_strike_new(256);
  uint8_t id[32];
  int accepted = 0, lost = 0;
  CHECK(s != NULL);
  for (int i = 0; i < 100; i++) {
    make_id(5000 + (uint64_t)i, id);
    memset(id, 0x3c, 8); /* same hash for all */
    if (tern_strike_check(s, id, 0, 100 + (uint64_t)(i % 7)) == 1) accepted++;
  }
  CHECK_EQ_INT(accepted, 64);
  CHECK_EQ_INT(tern_strike_count(s), 64);
  /* expire the entries with expiry 100..102 (spread through the cluster);
     every survivor must still be found */
  for (int i = 0; i < 64; i++) {
    make_id(5000 + (uint64_t)i, id);
    memset(id, 0x3c, 8);
    int live = 100 + i % 7 > 102;
    if (tern_strike_check(s, id, 102, 200) != (live ? 0 : 1)) lost++;
  }
  CHECK_EQ_INT(lost, 0);
  /* after all expire the cluster is empty again */
  make_id(9999, id);
  CHECK_EQ_INT(tern_strike_check(s, id, 1000, 2000), 1);
  CHECK_EQ_INT(tern_strike_count(s), 1);
  tern_strike_free(s);
}

/*
 * 100000 ids (new ones and replays of recent ones) through a register of
 * capacity 4096 with an advancing clock, against a model that counts the
 * live entries: a new or expired id is accepted exactly when fewer than
 * 4096 are live, a live one never. A first phase with short windows keeps
 * the register below capacity, a second one with long windows fills it.
 */
static void test_strike_model(void) {
  enum { CAP = 4096, N_IDS = 100000, MAX_WINDOW = 16000 };
  tern_strike *s = tern_strike_new(CAP);
  uint64_t *exp_of = calloc(N_IDS, sizeof *exp_of);
  size_t horizon = 2 * (size_t)N_IDS * 2 + MAX_WINDOW + 4;
  uint32_t *expiring = calloc(horizon, sizeof *expiring);
  uint64_t rng = 12345, now = 1, next = 0;
  size_t live = 0;
  long false_replay = 0, replay_accepted = 0, full_accepted = 0, bad_count = 0;
  long accepted = 0, refused_full = 0, refused_replay = 0, steps = 0;
  uint8_t id[32];

  CHECK(s != NULL && exp_of != NULL && expiring != NULL);
  if (s == NULL || exp_of == NULL || expiring == NULL) goto out;
  while (next < N_IDS && now + 2 + MAX_WINDOW < horizon) {
    uint64_t r = splitmix64(&rng), j, window, dt = r % 3;
    for (uint64_t t = now + 1; t <= now + dt; t++) live -= expiring[t];
    now += dt;
    window = 1 + (r >> 8) % (next < N_IDS / 2 ? 4000 : MAX_WINDOW);
    if ((r >> 40) % 5 == 0 && next > 0) {
      uint64_t back = next < 10000 ? next : 10000;
      j = next - 1 - (r >> 20) % back;
    } else {
      j = next++;
    }
    make_id(j, id);
    int rc = tern_strike_check(s, id, now, now + window);
    if (exp_of[j] > now) { /* live: must be a replay */
      if (rc != 0) replay_accepted++;
      refused_replay++;
    } else if (live < CAP) { /* room: must be accepted */
      if (rc != 1) false_replay++;
      if (rc == 1) {
        exp_of[j] = now + window;
        expiring[now + window]++;
        live++;
        accepted++;
      }
    } else { /* full of live entries: must be refused */
      if (rc != 0) full_accepted++;
      refused_full++;
    }
    if (tern_strike_count(s) != live) bad_count++;
    steps++;
  }
  CHECK_EQ_INT(next, N_IDS);
  CHECK_EQ_INT(false_replay, 0);
  CHECK_EQ_INT(replay_accepted, 0);
  CHECK_EQ_INT(full_accepted, 0);
  CHECK_EQ_INT(bad_count, 0);
  /* both regimes were exercised */
  CHECK(accepted > N_IDS / 2);
  CHECK(refused_full > 1000);
  CHECK(refused_replay > 1000);
  CHECK(tern_strike_count(s) <= CAP);
out:
  tern_strike_free(s);
  free(exp_of);
  free(expiring);
}

/* ------------------------------------------------------------------ */
/* No allocation per operation                                         */
/* ------------------------------------------------------------------ */

static void test_no_allocation(int counting) {
  tern_ticket_keys *k = ring_with(name_a, key_a);
  tern_strike *s = tern_strike_new(64);
  tern_ticket_state st, got;
  tern_session_state ss, ss2;
  static uint8_t t[TERN_TICKET_MAX], b[TERN_SESSION_MAX];
  uint8_t id[32];
  size_t len = 0, blen = 0, before;

  if (!counting) {
    fprintf(stderr, "  (allocation counting unavailable, skipped)\n");
    tern_ticket_keys_free(k);
    tern_strike_free(s);
    return;
  }
  make_ticket_state(&st, TERN_TLS_AES_128_GCM_SHA256, 2, 9);
  make_session(&ss, TERN_TLS_AES_128_GCM_SHA256, 2, 9, 100);
  /* warm up: first use may set up libcrypto internals once */
  CHECK_EQ_INT(tern_ticket_seal(k, &st, nonce1, t, sizeof t, &len), TERN_OK);
  CHECK_EQ_INT(tern_ticket_open(k, t, len, &got), TERN_OK);
  CHECK_EQ_INT(tern_session_encode(&ss, b, sizeof b, &blen), TERN_OK);
  CHECK_EQ_INT(tern_session_decode(b, blen, &ss2), TERN_OK);
  before = alloc_count;
  for (int i = 0; i < 1000; i++) {
    st.age_add = (uint32_t)i;
    if (tern_ticket_seal(k, &st, nonce1, t, sizeof t, &len) != TERN_OK ||
        tern_ticket_open(k, t, len, &got) != TERN_OK)
      break;
    make_id((uint64_t)i, id);
    if (tern_strike_check(s, id, (uint64_t)i, (uint64_t)i + 50) != 1) break;
  }
  CHECK_EQ_INT(alloc_count - before, 0);
  CHECK_EQ_INT(got.age_add, 999);
  /* (the session blob's EVP_Digest makes a digest context per call: a
     blob is written once per NewSessionTicket, so that is not measured) */
  tern_ticket_keys_free(k);
  tern_strike_free(s);
}

int main(void) {
  int counting =
      CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free);
  fill(key_a, sizeof key_a, 0xa0);
  fill(key_b, sizeof key_b, 0xb0);
  fill(key_c, sizeof key_c, 0xc0);
  fill(key_c2, sizeof key_c2, 0xc2);

  test_ticket_roundtrip();
  test_ticket_bounds();
  test_ticket_rotation();
  test_ticket_tamper();
  test_ticket_plaintext_fields();
  test_ticket_threads();
  test_ticket_thread_contexts();
  test_session_roundtrip();
  test_session_corruption();
  test_session_fields();
  test_strike_basic();
  test_strike_full();
  test_strike_cluster();
  test_strike_model();
  test_no_allocation(counting);
  return check_report();
}
