/*
 * engine/ticket.c - engine layer: what resumption keeps between connections
 * (RFC 8446 §4.6.1, §8): sealed server tickets under a rotating key ring,
 * the client's session blob, and the strike register that makes an identity
 * single-use.
 *
 * A key ring holds the current key (seals and opens) and the previous
 * one (only opens). Sealing and opening run on AES-256-GCM contexts that
 * each thread keys from the ring once per rotation and then only loads a
 * nonce into: no fetch, no allocation, no lock. The cipher is the one
 * crypto.c fetched once per process. A GCM context is written by opening
 * as much as by sealing, and a ring is shared by every connection of a
 * config on any thread: two threads on one context could seal two tickets
 * under one nonce, and a mutex around it is a cache line every handshake
 * writes. So each thread has its own contexts, and reads the ring's raw
 * keys under a sequence lock that only rotations write (Key ring, below).
 *
 * Every byte is written through a tern_writer and read through a
 * tern_reader (wire.h); a record is accepted only when consumed exactly.
 */
#include "engine/ticket.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tern.h>

#include "crypto/crypto.h"
#include "codec/wire.h"

/* ------------------------------------------------------------------ */
/* Formats                                                             */
/* ------------------------------------------------------------------ */

/*
 * Ticket, as sent to the client:
 *   opaque key_name[16];  opaque nonce[12];
 *   opaque ciphertext[len(plaintext)];  opaque tag[16];
 * AES-256-GCM under the named key, nonce as IV, key_name || nonce as AAD.
 *
 * Ticket plaintext, version 1 (integers big-endian):
 *   uint8  version = 1;
 *   uint16 suite;
 *   opaque psk<32|48>;             the suite's hash length
 *   uint64 issue_time_ms;
 *   uint32 lifetime_s;             <= TERN_TICKET_MAX_LIFETIME
 *   uint32 age_add;
 *   uint32 max_early_data;
 *   opaque alpn<0..255>;           no NUL byte
 *   opaque server_name<0..255>;    no NUL byte
 *   opaque early_ctx[32];
 *   uint8  client_auth;            0 or 1
 */
#define TICKET_VERSION 1
#define TICKET_HEADER_LEN (TERN_TICKET_KEY_NAME_LEN + TERN_TICKET_NONCE_LEN)
#define TICKET_OVERHEAD (TICKET_HEADER_LEN + TERN_TICKET_TAG_LEN)
#define TICKET_PLAIN_FIXED                                                 \
  (1 + 2 + 1 + 8 + 4 + 4 + 4 + 1 + 1 + TERN_TICKET_CTX_LEN + 1)
#define TICKET_PLAIN_MAX                                                   \
  (TICKET_PLAIN_FIXED + TERN_TICKET_MAX_PSK + 2 * TERN_TICKET_MAX_NAME)

/*
 * Session blob, version 1 (integers big-endian):
 *   uint8  version = 1;
 *   uint16 suite;
 *   opaque psk<32|48>;
 *   uint64 receive_time_ms;
 *   uint32 lifetime_s;             <= TERN_TICKET_MAX_LIFETIME
 *   uint32 age_add;
 *   uint32 max_early_data;
 *   opaque alpn<0..255>;           no NUL byte
 *   opaque server_name<0..255>;    no NUL byte
 *   opaque ticket<1..TERN_TICKET_MAX>;
 *   opaque check[8];               SHA-256(all the above)[0..8)
 * The check value detects corruption in storage; it is not a MAC (the
 * blob is the application's to protect).
 */
#define SESSION_VERSION 1
#define SESSION_CHECK_LEN 8
#define SESSION_FIXED                                                      \
  (1 + 2 + 1 + 8 + 4 + 4 + 4 + 1 + 1 + 2 + SESSION_CHECK_LEN)
#define SESSION_MAX_LEN                                                    \
  (SESSION_FIXED + TERN_TICKET_MAX_PSK + 2 * TERN_TICKET_MAX_NAME +        \
   TERN_TICKET_MAX)

_Static_assert(TICKET_OVERHEAD + TICKET_PLAIN_MAX <= TERN_TICKET_MAX,
               "the longest ticket must fit TERN_TICKET_MAX");
_Static_assert(SESSION_MAX_LEN <= TERN_SESSION_MAX,
               "the longest session blob must fit TERN_SESSION_MAX");
_Static_assert(TERN_TICKET_MAX <= 0xffff, "ticket_len is a uint16");

/* Propagates a failure code. */
#define TRY(expr)                                                          \
  do {                                                                     \
    int try_rc_ = (expr);                                                  \
    if (try_rc_ != TERN_OK) return try_rc_;                                \
  } while (0)

/* ------------------------------------------------------------------ */
/* Field helpers shared by both formats                                */
/* ------------------------------------------------------------------ */

/*
 * psk_fits_suite: a resumption PSK is as long as the hash of the suite
 * that made it (RFC 8446 §4.6.1: HKDF-Expand-Label(..., Hash.length)), so
 * an unknown suite or another length cannot be a state tern wrote.
 */
static int psk_fits_suite(uint16_t suite, uint8_t psk_len) {
  const tern_suite *s = tern_suite_get(suite);
  return s != NULL && psk_len == s->hash->len;
}

/*
 * name_ok: a name is kept both counted and NUL-terminated; the two views
 * must agree, so no NUL inside the counted bytes and one right after.
 */
static int name_ok(const char *name, uint8_t len) {
  return memchr(name, 0, len) == NULL && name[len] == '\0';
}

/* put_u64 writes a 64-bit big-endian integer (wire.h stops at 32 bits). */
static int put_u64(tern_writer *w, uint64_t v) {
  TRY(tern_writer_u32(w, (uint32_t)(v >> 32)));
  return tern_writer_u32(w, (uint32_t)v);
}

/* get_u64 reads a 64-bit big-endian integer. TERN_ERR_MALFORMED if short. */
static int get_u64(tern_reader *r, uint64_t *v) {
  uint32_t hi, lo;
  TRY(tern_reader_u32(r, &hi));
  TRY(tern_reader_u32(r, &lo));
  *v = (uint64_t)hi << 32 | lo;
  return TERN_OK;
}

/* put_name writes opaque name<0..255>. */
static int put_name(tern_writer *w, const char *name, uint8_t len) {
  TRY(tern_writer_u8(w, len));
  return tern_writer_bytes(w, (const uint8_t *)name, len);
}

/*
 * get_name reads opaque name<0..255> into name[256], NUL-terminated. A NUL
 * inside would make the C string shorter than its count: TERN_ERR_MALFORMED.
 */
static int get_name(tern_reader *r, char name[TERN_TICKET_MAX_NAME + 1],
                    uint8_t *len) {
  TRY(tern_reader_u8(r, len));
  TRY(tern_reader_bytes(r, (uint8_t *)name, *len));
  name[*len] = '\0';
  return memchr(name, 0, *len) == NULL ? TERN_OK : TERN_ERR_MALFORMED;
}

/* put_psk writes opaque psk<32|48>. */
static int put_psk(tern_writer *w, const uint8_t *psk, uint8_t len) {
  TRY(tern_writer_u8(w, len));
  return tern_writer_bytes(w, psk, len);
}

/*
 * get_psk reads opaque psk<32|48> for an already read suite; the length
 * is checked against the suite before any byte is copied, so psk[48] is
 * never overrun. TERN_ERR_MALFORMED when short or not the suite's length.
 */
static int get_psk(tern_reader *r, uint16_t suite, uint8_t *psk,
                   uint8_t *len) {
  TRY(tern_reader_u8(r, len));
  if (!psk_fits_suite(suite, *len)) return TERN_ERR_MALFORMED;
  return tern_reader_bytes(r, psk, *len);
}

/* ------------------------------------------------------------------ */
/* Key ring                                                            */
/* ------------------------------------------------------------------ */

/*
 * The ring holds the current key (seals and opens) and the previous one
 * (only opens) as raw bytes under a sequence lock: a rotation, rare, takes
 * the ring's mutex (rotations among themselves only), makes the sequence
 * number odd, writes both keys and makes it even again. Sealing and
 * opening never lock and never write to the ring: each thread keeps
 * AES-256-GCM contexts keyed from it (below) and, on every use, checks
 * with one load of the sequence number that they are still the ring's
 * keys. The connections of one configuration thus seal and open on any
 * number of threads without a lock or a cache line written by another
 * thread, and no lock is ever held across a handshake.
 *
 * A ring key is words of 64 bits, read and written one by one with
 * atomic loads and stores (a reader may overlap a rotation; it then sees
 * the sequence number move and reads again).
 */
#define RK_NAME 0                                   /* words 0..1: name */
#define RK_KEY 2                                    /* words 2..5: key */
#define RK_PRESENT 6                                /* word 6: 0 or 1 */
#define RK_WORDS 7
_Static_assert(TERN_TICKET_KEY_NAME_LEN == 16, "a key name is two words");
_Static_assert(TERN_TICKET_KEY_LEN == 32, "a key is four words");

typedef struct ring_key {
  uint64_t w[RK_WORDS];
} ring_key;

struct tern_ticket_keys {
  pthread_mutex_t lock; /* taken by rotations only */
  int lock_ok;          /* lock was initialised */
  uint64_t id;          /* unique among the rings of this process (never 0) */
  uint64_t seq;         /* even: keys stable; odd: a rotation is writing */
  ring_key key[2];      /* [0] current, [1] previous */
};

/* Ids of rings: a thread's cached contexts name their ring by id, so a
   new ring at a freed one's address is never taken for it. */
static uint64_t ring_next_id;

/* ring_read copies both keys as one consistent snapshot; returns the
   (even) sequence number they are of. */
static uint64_t ring_read(const tern_ticket_keys *k, ring_key out[2]) {
  for (;;) {
    uint64_t s1 = __atomic_load_n(&k->seq, __ATOMIC_ACQUIRE), s2;
    if (s1 & 1) {
      sched_yield(); /* a rotation is writing: a few stores */
      continue;
    }
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < RK_WORDS; j++)
        out[i].w[j] = __atomic_load_n(&k->key[i].w[j], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    s2 = __atomic_load_n(&k->seq, __ATOMIC_RELAXED);
    if (s1 == s2) return s1;
  }
}

/* ring_write publishes both keys (the caller holds the lock). */
static void ring_write(tern_ticket_keys *k, const ring_key in[2]) {
  uint64_t s = k->seq;
  __atomic_store_n(&k->seq, s + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < RK_WORDS; j++)
      __atomic_store_n(&k->key[i].w[j], in[i].w[j], __ATOMIC_RELAXED);
  __atomic_store_n(&k->seq, s + 2, __ATOMIC_RELEASE);
}

/* One key as a thread holds it: its name and AES-256-GCM keyed both ways. */
typedef struct ticket_key {
  uint8_t name[TERN_TICKET_KEY_NAME_LEN];
  int present;
  EVP_CIPHER_CTX *seal; /* keyed for encryption */
  EVP_CIPHER_CTX *open; /* keyed for decryption */
} ticket_key;

/* A thread's contexts for one ring, as of the ring's sequence number seq
   (id 0: unused). */
typedef struct ring_cache {
  uint64_t id, seq;
  ticket_key key[2]; /* [0] current, [1] previous */
} ring_cache;

/* The rings a thread seals and opens with, most servers having one or a
   few configurations; a further ring takes the place of the least
   recently filled. */
#define RINGS_PER_THREAD 4
typedef struct thread_rings {
  ring_cache ring[RINGS_PER_THREAD];
  unsigned next; /* the entry to fill next */
} thread_rings;

static pthread_key_t rings_key;
static int rings_key_ok;
static pthread_once_t rings_once = PTHREAD_ONCE_INIT;
static __thread thread_rings *rings_tls;

/*
 * key_wipe forgets a key: resetting a context makes libcrypto free its
 * cipher state with OPENSSL_clear_free, so the key schedule is wiped,
 * and the context stays allocated for the next key.
 */
static void key_wipe(ticket_key *t) {
  if (t->seal != NULL) EVP_CIPHER_CTX_reset(t->seal);
  if (t->open != NULL) EVP_CIPHER_CTX_reset(t->open);
  OPENSSL_cleanse(t->name, sizeof t->name);
  t->present = 0;
}

/* Frees one thread's contexts, wiping their keys (the key's destructor). */
static void thread_rings_free(void *p) {
  thread_rings *t = p;
  if (t == NULL) return;
  for (int i = 0; i < RINGS_PER_THREAD; i++)
    for (int j = 0; j < 2; j++) {
      key_wipe(&t->ring[i].key[j]);
      EVP_CIPHER_CTX_free(t->ring[i].key[j].seal);
      EVP_CIPHER_CTX_free(t->ring[i].key[j].open);
    }
  OPENSSL_clear_free(t, sizeof *t);
}

/* Makes the key whose destructor frees a thread's contexts. */
static void rings_key_make(void) {
  rings_key_ok = pthread_key_create(&rings_key, thread_rings_free) == 0;
}

/* This thread's cache, made on first use; NULL when it cannot be. */
static thread_rings *thread_rings_get(void) {
  thread_rings *t = rings_tls;
  if (t != NULL) return t;
  if (pthread_once(&rings_once, rings_key_make) != 0 || !rings_key_ok) return NULL;
  if ((t = OPENSSL_zalloc(sizeof *t)) == NULL) return NULL;
  if (pthread_setspecific(rings_key, t) != 0) {
    OPENSSL_free(t);
    return NULL;
  }
  rings_tls = t;
  return t;
}

/*
 * gcm_key_ctx keys ctx with AES-256-GCM for one direction (enc 1 seal,
 * 0 open) and a 12-byte IV length; the IV itself comes per ticket.
 */
static int gcm_key_ctx(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
                       const uint8_t *key, int enc) {
  return EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc) &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN,
                             TERN_TICKET_NONCE_LEN, NULL) > 0 &&
         EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc);
}

/*
 * key_load makes t the thread's copy of ring key r: its contexts made on
 * first use and keyed both ways, or wiped when r holds no key. On failure
 * t holds no key. Returns TERN_OK, TERN_ERR_NOMEM or TERN_ERR_CRYPTO.
 */
static int key_load(ticket_key *t, const ring_key *r) {
  const EVP_CIPHER *cipher = tern_crypto_aead_cipher(TERN_AEAD_AES_256_GCM);
  uint8_t key[TERN_TICKET_KEY_LEN];
  int ok;
  key_wipe(t);
  if (!r->w[RK_PRESENT]) return TERN_OK;
  if (t->seal == NULL) t->seal = EVP_CIPHER_CTX_new();
  if (t->open == NULL) t->open = EVP_CIPHER_CTX_new();
  if (t->seal == NULL || t->open == NULL) return TERN_ERR_NOMEM;
  memcpy(key, &r->w[RK_KEY], sizeof key);
  ok = cipher != NULL && gcm_key_ctx(t->seal, cipher, key, 1) &&
       gcm_key_ctx(t->open, cipher, key, 0);
  OPENSSL_cleanse(key, sizeof key);
  if (!ok) {
    key_wipe(t);
    return TERN_ERR_CRYPTO;
  }
  memcpy(t->name, &r->w[RK_NAME], TERN_TICKET_KEY_NAME_LEN);
  t->present = 1;
  return TERN_OK;
}

/*
 * ring_keys: the calling thread's contexts for ring k's current keys, in
 * *out. The common case is one load of k->seq and a match in the
 * thread's cache; after a rotation (or on a thread's first use of k) the
 * keys are read again and the contexts keyed again. Returns TERN_OK,
 * TERN_ERR_NOMEM or TERN_ERR_CRYPTO.
 */
static int ring_keys(tern_ticket_keys *k, ring_cache **out) {
  thread_rings *t = thread_rings_get();
  uint64_t seq;
  ring_cache *e = NULL;
  ring_key snap[2];
  int rc = TERN_OK;
  if (t == NULL) return TERN_ERR_NOMEM;
  seq = __atomic_load_n(&k->seq, __ATOMIC_ACQUIRE);
  for (int i = 0; i < RINGS_PER_THREAD; i++)
    if (t->ring[i].id == k->id) {
      e = &t->ring[i];
      if (e->seq == seq) {
        *out = e;
        return TERN_OK;
      }
      break;
    }
  if (e == NULL) e = &t->ring[t->next++ % RINGS_PER_THREAD];
  e->id = 0; /* not usable until keyed whole */
  seq = ring_read(k, snap);
  for (int j = 0; j < 2 && rc == TERN_OK; j++) rc = key_load(&e->key[j], &snap[j]);
  OPENSSL_cleanse(snap, sizeof snap);
  if (rc != TERN_OK) {
    key_wipe(&e->key[0]);
    key_wipe(&e->key[1]);
    return rc;
  }
  e->id = k->id;
  e->seq = seq;
  *out = e;
  return TERN_OK;
}

/*
 * tern_ticket_keys_new allocates an empty ring. The contexts are the
 * threads' (made on a thread's first seal or open), so sealing and
 * opening allocate nothing after that. NULL when out of memory or when
 * libcrypto has no AES-256-GCM.
 */
tern_ticket_keys *tern_ticket_keys_new(void) {
  tern_ticket_keys *k;
  if (tern_crypto_init() != TERN_OK ||
      tern_crypto_aead_cipher(TERN_AEAD_AES_256_GCM) == NULL)
    return NULL;
  k = OPENSSL_zalloc(sizeof *k);
  if (k == NULL) return NULL;
  if (pthread_mutex_init(&k->lock, NULL) != 0) {
    OPENSSL_free(k);
    return NULL;
  }
  k->lock_ok = 1;
  k->id = __atomic_add_fetch(&ring_next_id, 1, __ATOMIC_RELAXED);
  return k;
}

/*
 * tern_ticket_keys_free wipes the keys and frees the ring, and wipes the
 * calling thread's contexts of it. Another thread's contexts of a freed
 * ring keep its key schedule until that thread fills them with another
 * ring's keys or ends (they are never used again: rings have unique ids).
 */
void tern_ticket_keys_free(tern_ticket_keys *k) {
  thread_rings *t = rings_tls;
  if (k == NULL) return;
  for (int i = 0; t != NULL && i < RINGS_PER_THREAD; i++)
    if (t->ring[i].id == k->id) {
      t->ring[i].id = 0;
      key_wipe(&t->ring[i].key[0]);
      key_wipe(&t->ring[i].key[1]);
    }
  if (k->lock_ok) pthread_mutex_destroy(&k->lock);
  OPENSSL_clear_free(k, sizeof *k);
}

/*
 * tern_ticket_keys_rotate: new -> current -> previous -> wiped (or, for
 * the current key's name, new -> current and the old current key wiped,
 * previous untouched), published under the sequence lock. The caller's
 * key bytes are copied into the ring, which wipes them when they leave it.
 * Returns TERN_OK or TERN_ERR_INVALID_ARG.
 */
int tern_ticket_keys_rotate(tern_ticket_keys *k,
                            const uint8_t name[TERN_TICKET_KEY_NAME_LEN],
                            const uint8_t key[TERN_TICKET_KEY_LEN]) {
  ring_key next[2];
  if (k == NULL || name == NULL || key == NULL) return TERN_ERR_INVALID_ARG;
  memset(next, 0, sizeof next);
  memcpy(&next[0].w[RK_NAME], name, TERN_TICKET_KEY_NAME_LEN);
  memcpy(&next[0].w[RK_KEY], key, TERN_TICKET_KEY_LEN);
  next[0].w[RK_PRESENT] = 1;
  pthread_mutex_lock(&k->lock);
  /* only rotations write the ring, and they hold the lock: plain reads */
  if (k->key[0].w[RK_PRESENT] &&
      memcmp(&k->key[0].w[RK_NAME], name, TERN_TICKET_KEY_NAME_LEN) == 0)
    next[1] = k->key[1];
  else
    next[1] = k->key[0];
  ring_write(k, next);
  pthread_mutex_unlock(&k->lock);
  OPENSSL_cleanse(next, sizeof next);
  return TERN_OK;
}

/* tern_ticket_keys_ready: whether tickets can be sealed (a ring, once it
   has a current key, always has one). */
int tern_ticket_keys_ready(const tern_ticket_keys *k) {
  return k != NULL && __atomic_load_n(&k->key[0].w[RK_PRESENT], __ATOMIC_ACQUIRE) != 0;
}

/* key_find: the thread's key whose name this is, or NULL (names are public). */
static ticket_key *key_find(ring_cache *e, const uint8_t *name) {
  for (int i = 0; i < 2; i++)
    if (e->key[i].present && memcmp(e->key[i].name, name, TERN_TICKET_KEY_NAME_LEN) == 0)
      return &e->key[i];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Tickets                                                             */
/* ------------------------------------------------------------------ */

/* ticket_state_ok: every field of st is one a ticket may carry. */
static int ticket_state_ok(const tern_ticket_state *st) {
  return psk_fits_suite(st->suite, st->psk_len) &&
         st->lifetime_s <= TERN_TICKET_MAX_LIFETIME &&
         name_ok(st->alpn, st->alpn_len) &&
         name_ok(st->server_name, st->server_name_len) && st->client_auth <= 1;
}

/* ticket_plain_len: the exact plaintext length of a valid st. */
static size_t ticket_plain_len(const tern_ticket_state *st) {
  return TICKET_PLAIN_FIXED + (size_t)st->psk_len + st->alpn_len +
         st->server_name_len;
}

/* ticket_plain_write serialises st as the version 1 plaintext above. */
static int ticket_plain_write(tern_writer *w, const tern_ticket_state *st) {
  TRY(tern_writer_u8(w, TICKET_VERSION));
  TRY(tern_writer_u16(w, st->suite));
  TRY(put_psk(w, st->psk, st->psk_len));
  TRY(put_u64(w, st->issue_time_ms));
  TRY(tern_writer_u32(w, st->lifetime_s));
  TRY(tern_writer_u32(w, st->age_add));
  TRY(tern_writer_u32(w, st->max_early_data));
  TRY(put_name(w, st->alpn, st->alpn_len));
  TRY(put_name(w, st->server_name, st->server_name_len));
  TRY(tern_writer_bytes(w, st->early_ctx, TERN_TICKET_CTX_LEN));
  return tern_writer_u8(w, st->client_auth);
}

/*
 * ticket_plain_read parses a version 1 plaintext into st (already zeroed)
 * and validates it like ticket_state_ok. A good tag proves the bytes are
 * ours, so another version means a tern with a newer format sealed them
 * under a shared key: TERN_ERR_UNSUPPORTED. Anything else wrong,
 * including trailing bytes, is TERN_ERR_MALFORMED.
 */
static int ticket_plain_read(tern_reader *r, tern_ticket_state *st) {
  uint8_t version;
  TRY(tern_reader_u8(r, &version));
  if (version != TICKET_VERSION) return TERN_ERR_UNSUPPORTED;
  TRY(tern_reader_u16(r, &st->suite));
  TRY(get_psk(r, st->suite, st->psk, &st->psk_len));
  TRY(get_u64(r, &st->issue_time_ms));
  TRY(tern_reader_u32(r, &st->lifetime_s));
  if (st->lifetime_s > TERN_TICKET_MAX_LIFETIME) return TERN_ERR_MALFORMED;
  TRY(tern_reader_u32(r, &st->age_add));
  TRY(tern_reader_u32(r, &st->max_early_data));
  TRY(get_name(r, st->alpn, &st->alpn_len));
  TRY(get_name(r, st->server_name, &st->server_name_len));
  TRY(tern_reader_bytes(r, st->early_ctx, TERN_TICKET_CTX_LEN));
  TRY(tern_reader_u8(r, &st->client_auth));
  if (st->client_auth > 1) return TERN_ERR_MALFORMED;
  return tern_reader_done(r);
}

/*
 * gcm_seal encrypts buf[0..n) in place with the nonce at header + 16 and
 * header[0..28) (name || nonce) as AAD, and writes the tag.
 */
static int gcm_seal(EVP_CIPHER_CTX *ctx, const uint8_t *header, uint8_t *buf,
                    size_t n, uint8_t *tag) {
  int outl = 0, finl = 0;
  if (!EVP_EncryptInit_ex(ctx, NULL, NULL, NULL,
                          header + TERN_TICKET_KEY_NAME_LEN) ||
      !EVP_EncryptUpdate(ctx, NULL, &outl, header, TICKET_HEADER_LEN))
    return TERN_ERR_CRYPTO;
  outl = 0;
  if (!EVP_EncryptUpdate(ctx, buf, &outl, buf, (int)n) ||
      !EVP_EncryptFinal_ex(ctx, buf + outl, &finl) ||
      (size_t)outl + (size_t)finl != n ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TERN_TICKET_TAG_LEN,
                          tag) <= 0)
    return TERN_ERR_CRYPTO;
  return TERN_OK;
}

/*
 * gcm_open decrypts ct[0..n) into out with the AAD and nonce of header
 * and checks tag; libcrypto compares the tag, nothing is compared here.
 * Returns TERN_OK, TERN_ERR_DECRYPT, TERN_ERR_CRYPTO.
 */
static int gcm_open(EVP_CIPHER_CTX *ctx, const uint8_t *header,
                    const uint8_t *ct, size_t n, const uint8_t *tag_in,
                    uint8_t *out) {
  uint8_t tag[TERN_TICKET_TAG_LEN];
  int outl = 0, finl = 0;
  memcpy(tag, tag_in, sizeof tag); /* the ctrl takes a non-const pointer */
  if (!EVP_DecryptInit_ex(ctx, NULL, NULL, NULL,
                          header + TERN_TICKET_KEY_NAME_LEN) ||
      !EVP_DecryptUpdate(ctx, NULL, &outl, header, TICKET_HEADER_LEN))
    return TERN_ERR_CRYPTO;
  outl = 0;
  if ((n != 0 && !EVP_DecryptUpdate(ctx, out, &outl, ct, (int)n)) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TERN_TICKET_TAG_LEN,
                          tag) <= 0)
    return TERN_ERR_CRYPTO;
  if (EVP_DecryptFinal_ex(ctx, out + outl, &finl) <= 0) return TERN_ERR_DECRYPT;
  return (size_t)outl + (size_t)finl == n ? TERN_OK : TERN_ERR_CRYPTO;
}

/*
 * ticket_seal checks st, writes name || nonce, serialises the plaintext
 * straight into out and encrypts it there, so the PSK is never copied
 * elsewhere; on a libcrypto failure out is wiped. The size is known
 * before any byte is written: a short buffer is left untouched. e is the
 * thread's contexts of the ring.
 */
static int ticket_seal(ring_cache *e, const tern_ticket_state *st,
                       const uint8_t *nonce, uint8_t *out, size_t cap,
                       size_t *out_len) {
  tern_writer w;
  size_t plain_len, total;
  int rc;

  if (!e->key[0].present) return TERN_ERR_STATE;
  if (!ticket_state_ok(st)) return TERN_ERR_INVALID_ARG;
  plain_len = ticket_plain_len(st);
  total = TICKET_OVERHEAD + plain_len;
  if (cap < total) return TERN_ERR_BUFFER_TOO_SMALL;

  memcpy(out, e->key[0].name, TERN_TICKET_KEY_NAME_LEN);
  memcpy(out + TERN_TICKET_KEY_NAME_LEN, nonce, TERN_TICKET_NONCE_LEN);
  tern_writer_init(&w, out + TICKET_HEADER_LEN, plain_len);
  rc = ticket_plain_write(&w, st);
  if (rc == TERN_OK && w.len != plain_len) rc = TERN_ERR_CRYPTO; /* never */
  if (rc == TERN_OK)
    rc = gcm_seal(e->key[0].seal, out, out + TICKET_HEADER_LEN, plain_len,
                  out + TICKET_HEADER_LEN + plain_len);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(out, total);
    return TERN_ERR_CRYPTO;
  }
  *out_len = total;
  return TERN_OK;
}

/*
 * tern_ticket_seal: ticket_seal on the calling thread's contexts of k.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_STATE (no current key),
 * TERN_ERR_BUFFER_TOO_SMALL, TERN_ERR_NOMEM (the thread's contexts could
 * not be made), TERN_ERR_CRYPTO.
 */
int tern_ticket_seal(tern_ticket_keys *k, const tern_ticket_state *st,
                     const uint8_t nonce[TERN_TICKET_NONCE_LEN], uint8_t *out,
                     size_t cap, size_t *out_len) {
  ring_cache *e;
  int rc;
  if (k == NULL || st == NULL || nonce == NULL || out == NULL ||
      out_len == NULL)
    return TERN_ERR_INVALID_ARG;
  if (!tern_ticket_keys_ready(k)) return TERN_ERR_STATE;
  if ((rc = ring_keys(k, &e)) != TERN_OK) return rc;
  return ticket_seal(e, st, nonce, out, cap, out_len);
}

/*
 * ticket_open finds the key by name, decrypts into a stack buffer that
 * is wiped on every path, and parses it into st (already wiped). Lengths
 * that no ticket of ours has are refused before decrypting. e is the
 * thread's contexts of the ring.
 */
static int ticket_open(ring_cache *e, const uint8_t *in, size_t len,
                       tern_ticket_state *st) {
  uint8_t plain[TICKET_PLAIN_MAX];
  tern_reader r;
  ticket_key *key;
  size_t ct_len;
  int rc;

  if (len < TERN_TICKET_KEY_NAME_LEN) return TERN_ERR_MALFORMED;
  key = key_find(e, in);
  if (key == NULL) return TERN_ERR_UNSUPPORTED;
  if (len < TICKET_OVERHEAD || len - TICKET_OVERHEAD > sizeof plain)
    return TERN_ERR_MALFORMED;
  ct_len = len - TICKET_OVERHEAD;

  /* from here plain may hold secrets: one exit, which wipes it */
  rc = gcm_open(key->open, in, in + TICKET_HEADER_LEN, ct_len,
                in + TICKET_HEADER_LEN + ct_len, plain);
  if (rc == TERN_OK) {
    tern_reader_init(&r, plain, ct_len);
    rc = ticket_plain_read(&r, st);
  }
  OPENSSL_cleanse(plain, sizeof plain);
  return rc;
}

/*
 * tern_ticket_open: ticket_open on the calling thread's contexts of k.
 * st is wiped first and again on failure, so it never holds part of a
 * rejected ticket.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_MALFORMED (too short or
 * too long to be ours, or bad fields after a good tag),
 * TERN_ERR_UNSUPPORTED (unknown key name, or another plaintext version
 * after a good tag), TERN_ERR_DECRYPT, TERN_ERR_NOMEM, TERN_ERR_CRYPTO.
 */
int tern_ticket_open(tern_ticket_keys *k, const uint8_t *in, size_t len,
                     tern_ticket_state *st) {
  ring_cache *e;
  int rc;
  if (st != NULL) OPENSSL_cleanse(st, sizeof *st);
  if (k == NULL || in == NULL || st == NULL) return TERN_ERR_INVALID_ARG;
  rc = ring_keys(k, &e);
  if (rc == TERN_OK) rc = ticket_open(e, in, len, st);
  if (rc != TERN_OK) OPENSSL_cleanse(st, sizeof *st);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Session blob                                                        */
/* ------------------------------------------------------------------ */

/* session_state_ok: every field of st is one a blob may carry. */
static int session_state_ok(const tern_session_state *st) {
  return psk_fits_suite(st->suite, st->psk_len) &&
         st->lifetime_s <= TERN_TICKET_MAX_LIFETIME &&
         name_ok(st->alpn, st->alpn_len) &&
         name_ok(st->server_name, st->server_name_len) &&
         st->ticket_len >= 1 && st->ticket_len <= TERN_TICKET_MAX;
}

/* session_check computes the check value: SHA-256(data)[0..8). */
static int session_check(const uint8_t *data, size_t len,
                         uint8_t check[SESSION_CHECK_LEN]) {
  uint8_t digest[32];
  int rc = tern_hash_data(tern_hash_get(TERN_HASH_SHA256), data, len, digest);
  if (rc != TERN_OK) return TERN_ERR_CRYPTO;
  memcpy(check, digest, SESSION_CHECK_LEN);
  return TERN_OK;
}

/* session_write serialises st as the version 1 blob, up to the check. */
static int session_write(tern_writer *w, const tern_session_state *st) {
  TRY(tern_writer_u8(w, SESSION_VERSION));
  TRY(tern_writer_u16(w, st->suite));
  TRY(put_psk(w, st->psk, st->psk_len));
  TRY(put_u64(w, st->receive_time_ms));
  TRY(tern_writer_u32(w, st->lifetime_s));
  TRY(tern_writer_u32(w, st->age_add));
  TRY(tern_writer_u32(w, st->max_early_data));
  TRY(put_name(w, st->alpn, st->alpn_len));
  TRY(put_name(w, st->server_name, st->server_name_len));
  TRY(tern_writer_u16(w, st->ticket_len));
  return tern_writer_bytes(w, st->ticket, st->ticket_len);
}

/*
 * session_read parses the fields after the version byte into st (already
 * zeroed), validating as session_state_ok does; the reader must end
 * exactly where the check value starts. TERN_ERR_MALFORMED otherwise.
 */
static int session_read(tern_reader *r, tern_session_state *st) {
  TRY(tern_reader_u16(r, &st->suite));
  TRY(get_psk(r, st->suite, st->psk, &st->psk_len));
  TRY(get_u64(r, &st->receive_time_ms));
  TRY(tern_reader_u32(r, &st->lifetime_s));
  if (st->lifetime_s > TERN_TICKET_MAX_LIFETIME) return TERN_ERR_MALFORMED;
  TRY(tern_reader_u32(r, &st->age_add));
  TRY(tern_reader_u32(r, &st->max_early_data));
  TRY(get_name(r, st->alpn, &st->alpn_len));
  TRY(get_name(r, st->server_name, &st->server_name_len));
  TRY(tern_reader_u16(r, &st->ticket_len));
  if (st->ticket_len < 1 || st->ticket_len > TERN_TICKET_MAX)
    return TERN_ERR_MALFORMED;
  TRY(tern_reader_bytes(r, st->ticket, st->ticket_len));
  return tern_reader_done(r);
}

/*
 * tern_session_encode checks st, writes the fields and appends the check
 * value. The size is known before any byte is written: a short buffer is
 * left untouched; on a libcrypto failure out is wiped (it holds the PSK).
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_BUFFER_TOO_SMALL,
 * TERN_ERR_CRYPTO.
 */
int tern_session_encode(const tern_session_state *st, uint8_t *out, size_t cap,
                        size_t *out_len) {
  tern_writer w;
  size_t body_len, total;
  int rc;

  if (st == NULL || out == NULL || out_len == NULL || !session_state_ok(st))
    return TERN_ERR_INVALID_ARG;
  total = SESSION_FIXED + (size_t)st->psk_len + st->alpn_len +
          st->server_name_len + st->ticket_len;
  if (cap < total) return TERN_ERR_BUFFER_TOO_SMALL;
  body_len = total - SESSION_CHECK_LEN;

  tern_writer_init(&w, out, body_len);
  rc = session_write(&w, st);
  if (rc == TERN_OK && w.len != body_len) rc = TERN_ERR_CRYPTO; /* never */
  if (rc == TERN_OK) rc = session_check(out, body_len, out + body_len);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(out, total);
    return TERN_ERR_CRYPTO;
  }
  *out_len = total;
  return TERN_OK;
}

/*
 * tern_session_decode reads the version byte first, because the version
 * defines the rest of the layout, the check value included: a blob of
 * another version is TERN_ERR_UNSUPPORTED whatever follows (so a bit flip
 * in the version byte is refused as UNSUPPORTED, any other one as
 * MALFORMED). Then the check value must match before a field is parsed.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED,
 * TERN_ERR_MALFORMED, TERN_ERR_CRYPTO. st is wiped on failure.
 */
int tern_session_decode(const uint8_t *in, size_t len, tern_session_state *st) {
  uint8_t check[SESSION_CHECK_LEN];
  tern_reader r;
  size_t body_len;
  int rc;

  if (st != NULL) OPENSSL_cleanse(st, sizeof *st);
  if (in == NULL || st == NULL) return TERN_ERR_INVALID_ARG;
  if (len < 1) return TERN_ERR_MALFORMED;
  if (in[0] != SESSION_VERSION) return TERN_ERR_UNSUPPORTED;
  if (len < 1 + SESSION_CHECK_LEN || len > SESSION_MAX_LEN)
    return TERN_ERR_MALFORMED;
  body_len = len - SESSION_CHECK_LEN;
  TRY(session_check(in, body_len, check));
  if (CRYPTO_memcmp(check, in + body_len, SESSION_CHECK_LEN) != 0)
    return TERN_ERR_MALFORMED;

  tern_reader_init(&r, in + 1, body_len - 1);
  rc = session_read(&r, st);
  if (rc != TERN_OK) OPENSSL_cleanse(st, sizeof *st);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Strike register                                                     */
/* ------------------------------------------------------------------ */

/*
 * The register keeps its live entries in a binary min-heap ordered by
 * expiry, and finds them by id through an open-addressing table (linear
 * probing) of at least 4 slots per entry. Each check first drops every
 * entry whose expiry has passed (the heap's root), so the register holds
 * exactly the live entries and "full" means full of live ones. Table
 * slots and heap entries point at each other and are fixed up on every
 * move.
 *
 * Costs: a lookup is O(1) expected (load <= 1/4) and at most STRIKE_PROBES
 * slots; an id is never stored further than that from its home slot, and
 * backward-shift deletion only moves entries closer, so a lookup that
 * stops there misses nothing. In the astronomically unlikely case that no
 * slot is free that close, the id is refused (0: fail safe). Keeping the
 * heap ordered costs O(log capacity) per recorded or expired id, O(1)
 * for the insertion when ids come in expiry order (a fixed window).
 *
 * The ids are digests already, so their first 8 bytes are the hash.
 */
#define STRIKE_PROBES 64
#define STRIKE_EMPTY UINT32_MAX
#define STRIKE_MAX_CAPACITY ((size_t)1 << 28) /* 4 * capacity fits uint32 */

typedef struct strike_entry {
  uint8_t id[32];
  uint64_t expires_ms;
  uint32_t slot; /* where the table points at this entry */
} strike_entry;

struct tern_strike {
  size_t capacity;
  size_t count;        /* live entries: heap[0..count) */
  strike_entry *heap;  /* min-heap by expires_ms */
  uint32_t *table;     /* heap index per slot, or STRIKE_EMPTY */
  uint32_t mask;       /* table size - 1; the size is a power of two */
};

/* strike_home: the slot an id hashes to. */
static uint32_t strike_home(const tern_strike *s, const uint8_t *id) {
  uint64_t h = 0;
  for (int i = 0; i < 8; i++) h = h << 8 | id[i];
  return (uint32_t)(h & s->mask);
}

/*
 * tern_strike_new allocates the heap (capacity entries) and the table
 * (the power of two at least 4 * capacity), all empty.
 * Returns NULL for capacity 0 or above 2^28, or when out of memory.
 */
tern_strike *tern_strike_new(size_t capacity) {
  tern_strike *s;
  size_t slots = 4;
  if (capacity == 0 || capacity > STRIKE_MAX_CAPACITY) return NULL;
  while (slots < 4 * capacity) slots <<= 1;
  if (capacity > SIZE_MAX / sizeof(strike_entry) ||
      slots > SIZE_MAX / sizeof(uint32_t))
    return NULL;
  s = OPENSSL_zalloc(sizeof *s);
  if (s == NULL) return NULL;
  s->heap = OPENSSL_malloc(capacity * sizeof(strike_entry));
  s->table = OPENSSL_malloc(slots * sizeof(uint32_t));
  if (s->heap == NULL || s->table == NULL) {
    tern_strike_free(s);
    return NULL;
  }
  memset(s->table, 0xff, slots * sizeof(uint32_t)); /* all STRIKE_EMPTY */
  s->capacity = capacity;
  s->mask = (uint32_t)(slots - 1);
  return s;
}

/* tern_strike_free: ids are digests, not secrets; plain free. */
void tern_strike_free(tern_strike *s) {
  if (s == NULL) return;
  OPENSSL_free(s->heap);
  OPENSSL_free(s->table);
  OPENSSL_free(s);
}

/* tern_strike_count: live entries as of the last check. */
size_t tern_strike_count(const tern_strike *s) {
  return s != NULL ? s->count : 0;
}

/*
 * strike_find probes from id's home slot. Returns 1 with *slot at the
 * entry when id is held; 0 with *slot at the first empty slot (where id
 * would go), or *slot = STRIKE_EMPTY when none is within STRIKE_PROBES.
 */
static int strike_find(const tern_strike *s, const uint8_t *id,
                       uint32_t *slot) {
  uint32_t i = strike_home(s, id);
  for (int d = 0; d < STRIKE_PROBES; d++, i = (i + 1) & s->mask) {
    uint32_t e = s->table[i];
    if (e == STRIKE_EMPTY) {
      *slot = i;
      return 0;
    }
    if (memcmp(s->heap[e].id, id, 32) == 0) {
      *slot = i;
      return 1;
    }
  }
  *slot = STRIKE_EMPTY;
  return 0;
}

/*
 * strike_unslot empties slot i and shifts later entries of the cluster
 * back (Knuth's Algorithm R), so that no tombstones build up and every
 * lookup still reaches its entry. Only entries within STRIKE_PROBES of
 * the hole can belong before it, which bounds each step.
 */
static void strike_unslot(tern_strike *s, uint32_t i) {
  uint32_t j = i;
  s->table[i] = STRIKE_EMPTY;
  for (;;) {
    j = (j + 1) & s->mask;
    uint32_t e = s->table[j];
    if (e == STRIKE_EMPTY || ((j - i) & s->mask) >= STRIKE_PROBES) return;
    uint32_t home = strike_home(s, s->heap[e].id);
    /* the entry may move to the hole unless its home lies in (i, j] */
    if (((j - home) & s->mask) >= ((j - i) & s->mask)) {
      s->table[i] = e;
      s->heap[e].slot = i;
      s->table[j] = STRIKE_EMPTY;
      i = j;
    }
  }
}

/* strike_put_heap places entry e at heap index h and points its slot at it. */
static void strike_put_heap(tern_strike *s, size_t h, const strike_entry *e) {
  s->heap[h] = *e;
  s->table[e->slot] = (uint32_t)h;
}

/* strike_sift_up restores the heap order above index h. */
static void strike_sift_up(tern_strike *s, size_t h) {
  strike_entry e = s->heap[h];
  while (h > 0) {
    size_t parent = (h - 1) / 2;
    if (s->heap[parent].expires_ms <= e.expires_ms) break;
    strike_put_heap(s, h, &s->heap[parent]);
    h = parent;
  }
  strike_put_heap(s, h, &e);
}

/* strike_sift_down restores the heap order below index h. */
static void strike_sift_down(tern_strike *s, size_t h) {
  strike_entry e = s->heap[h];
  for (;;) {
    size_t c = 2 * h + 1;
    if (c >= s->count) break;
    if (c + 1 < s->count && s->heap[c + 1].expires_ms < s->heap[c].expires_ms)
      c++;
    if (e.expires_ms <= s->heap[c].expires_ms) break;
    strike_put_heap(s, h, &s->heap[c]);
    h = c;
  }
  strike_put_heap(s, h, &e);
}

/* strike_expire drops every entry whose expiry is at or before now_ms. */
static void strike_expire(tern_strike *s, uint64_t now_ms) {
  while (s->count > 0 && s->heap[0].expires_ms <= now_ms) {
    strike_unslot(s, s->heap[0].slot);
    s->count--;
    if (s->count > 0) {
      strike_put_heap(s, 0, &s->heap[s->count]);
      strike_sift_down(s, 0);
    }
  }
}

/*
 * tern_strike_check (RFC 8446 §8.2): forget what has expired, then a held
 * id is a replay; a new one is recorded when there is room, else refused.
 * Times should not go backwards: an id dropped as expired stays dropped.
 * Returns 1 (new, recorded), 0 (replay, or full of live entries),
 * TERN_ERR_INVALID_ARG (NULL, or expires_ms <= now_ms: nothing to hold).
 */
int tern_strike_check(tern_strike *s, const uint8_t id[32], uint64_t now_ms,
                      uint64_t expires_ms) {
  strike_entry e;
  uint32_t slot;

  if (s == NULL || id == NULL || expires_ms <= now_ms)
    return TERN_ERR_INVALID_ARG;
  strike_expire(s, now_ms);
  if (strike_find(s, id, &slot)) return 0;
  if (slot == STRIKE_EMPTY || s->count == s->capacity) return 0;
  memcpy(e.id, id, sizeof e.id);
  e.expires_ms = expires_ms;
  e.slot = slot;
  s->heap[s->count] = e;
  s->table[slot] = (uint32_t)s->count;
  s->count++;
  strike_sift_up(s, s->count - 1);
  return 1;
}
