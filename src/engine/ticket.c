/*
 * engine/ticket.c - engine layer: what resumption keeps between connections
 * (RFC 8446 §4.6.1, §8): sealed server tickets under a rotating key ring,
 * the client's session blob, and the strike register that makes an identity
 * single-use.
 *
 * A key ring holds three slots (current, previous, spare), each with an
 * AES-256-GCM context keyed once for sealing and once for opening. A new
 * key is loaded into the spare slot first and the slots are then renamed,
 * so a failed rotation leaves the ring as it was; a key leaving the ring
 * has its contexts reset, which makes libcrypto wipe the key schedule.
 * Sealing and opening only load a nonce into a keyed context: no fetch,
 * no allocation. The cipher is the one crypto.c fetched once per process.
 * Opening writes a context as much as sealing does, and a ring is shared
 * by every connection of a config, so each ring has a mutex that every
 * call holds: two threads racing on one GCM context could seal two
 * tickets under one nonce.
 *
 * Every byte is written through a tern_writer and read through a
 * tern_reader (wire.h); a record is accepted only when consumed exactly.
 */
#include "engine/ticket.h"

#include <pthread.h>
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

/* One ticket key: its public name and AES-256-GCM keyed both ways. */
typedef struct ticket_key {
  uint8_t name[TERN_TICKET_KEY_NAME_LEN];
  int present;
  EVP_CIPHER_CTX *seal; /* keyed for encryption */
  EVP_CIPHER_CTX *open; /* keyed for decryption */
} ticket_key;

struct tern_ticket_keys {
  pthread_mutex_t lock; /* held by every call below */
  int lock_ok;          /* lock was initialised */
  ticket_key slot[3];
  ticket_key *current;  /* seals and opens */
  ticket_key *previous; /* only opens */
  ticket_key *spare;    /* holds no key between calls */
};

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
 * key_load keys slot t with (name, key). On failure t holds no key.
 * Returns TERN_OK or TERN_ERR_CRYPTO.
 */
static int key_load(ticket_key *t, const uint8_t *name, const uint8_t *key) {
  const EVP_CIPHER *cipher = tern_crypto_aead_cipher(TERN_AEAD_AES_256_GCM);
  key_wipe(t);
  if (cipher == NULL || !gcm_key_ctx(t->seal, cipher, key, 1) ||
      !gcm_key_ctx(t->open, cipher, key, 0)) {
    key_wipe(t);
    return TERN_ERR_CRYPTO;
  }
  memcpy(t->name, name, TERN_TICKET_KEY_NAME_LEN);
  t->present = 1;
  return TERN_OK;
}

/*
 * tern_ticket_keys_new allocates the ring and its six contexts up front,
 * so that sealing and opening never allocate. NULL when out of memory or
 * when libcrypto has no AES-256-GCM.
 */
tern_ticket_keys *tern_ticket_keys_new(void) {
  tern_ticket_keys *k;
  if (tern_crypto_init() != TERN_OK) return NULL;
  k = OPENSSL_zalloc(sizeof *k);
  if (k == NULL) return NULL;
  if (pthread_mutex_init(&k->lock, NULL) != 0) {
    OPENSSL_free(k);
    return NULL;
  }
  k->lock_ok = 1;
  for (int i = 0; i < 3; i++) {
    k->slot[i].seal = EVP_CIPHER_CTX_new();
    k->slot[i].open = EVP_CIPHER_CTX_new();
    if (k->slot[i].seal == NULL || k->slot[i].open == NULL) {
      tern_ticket_keys_free(k);
      return NULL;
    }
  }
  k->current = &k->slot[0];
  k->previous = &k->slot[1];
  k->spare = &k->slot[2];
  return k;
}

/* tern_ticket_keys_free wipes every key (contexts and names) and frees. */
void tern_ticket_keys_free(tern_ticket_keys *k) {
  if (k == NULL) return;
  for (int i = 0; i < 3; i++) {
    key_wipe(&k->slot[i]);
    EVP_CIPHER_CTX_free(k->slot[i].seal);
    EVP_CIPHER_CTX_free(k->slot[i].open);
  }
  if (k->lock_ok) pthread_mutex_destroy(&k->lock);
  OPENSSL_cleanse(k, sizeof *k);
  OPENSSL_free(k);
}

/*
 * keys_rotate keys the spare slot, then renames the slots: new -> current
 * -> previous -> wiped (or, for the current key's name, new -> current
 * and the old current key wiped, previous untouched). Keying first means
 * a failure leaves the ring unchanged. Called with the lock held.
 */
static int keys_rotate(tern_ticket_keys *k, const uint8_t *name,
                       const uint8_t *key) {
  ticket_key *old;
  TRY(key_load(k->spare, name, key));
  if (k->current->present &&
      memcmp(k->current->name, name, TERN_TICKET_KEY_NAME_LEN) == 0) {
    old = k->current;
    k->current = k->spare;
  } else {
    old = k->previous;
    k->previous = k->current;
    k->current = k->spare;
  }
  key_wipe(old);
  k->spare = old;
  return TERN_OK;
}

/*
 * tern_ticket_keys_rotate: keys_rotate under the lock. The caller's key
 * bytes are not kept: the contexts hold their own schedules.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_CRYPTO (libcrypto
 * could not key a context; only when libcrypto itself fails).
 */
int tern_ticket_keys_rotate(tern_ticket_keys *k,
                            const uint8_t name[TERN_TICKET_KEY_NAME_LEN],
                            const uint8_t key[TERN_TICKET_KEY_LEN]) {
  int rc;
  if (k == NULL || name == NULL || key == NULL) return TERN_ERR_INVALID_ARG;
  pthread_mutex_lock(&k->lock);
  rc = keys_rotate(k, name, key);
  pthread_mutex_unlock(&k->lock);
  return rc;
}

/*
 * tern_ticket_keys_ready: whether tickets can be sealed. The ring is
 * const to the caller, not to its lock (the object itself is never const).
 */
int tern_ticket_keys_ready(const tern_ticket_keys *k) {
  tern_ticket_keys *m = (tern_ticket_keys *)k;
  int ready;
  if (k == NULL) return 0;
  pthread_mutex_lock(&m->lock);
  ready = k->current->present;
  pthread_mutex_unlock(&m->lock);
  return ready;
}

/* key_find: the slot whose key has this name, or NULL (names are public). */
static ticket_key *key_find(tern_ticket_keys *k, const uint8_t *name) {
  if (k->current->present &&
      memcmp(k->current->name, name, TERN_TICKET_KEY_NAME_LEN) == 0)
    return k->current;
  if (k->previous->present &&
      memcmp(k->previous->name, name, TERN_TICKET_KEY_NAME_LEN) == 0)
    return k->previous;
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
 * before any byte is written: a short buffer is left untouched. Called
 * with the lock held.
 */
static int ticket_seal(tern_ticket_keys *k, const tern_ticket_state *st,
                       const uint8_t *nonce, uint8_t *out, size_t cap,
                       size_t *out_len) {
  tern_writer w;
  size_t plain_len, total;
  int rc;

  if (!k->current->present) return TERN_ERR_STATE;
  if (!ticket_state_ok(st)) return TERN_ERR_INVALID_ARG;
  plain_len = ticket_plain_len(st);
  total = TICKET_OVERHEAD + plain_len;
  if (cap < total) return TERN_ERR_BUFFER_TOO_SMALL;

  memcpy(out, k->current->name, TERN_TICKET_KEY_NAME_LEN);
  memcpy(out + TERN_TICKET_KEY_NAME_LEN, nonce, TERN_TICKET_NONCE_LEN);
  tern_writer_init(&w, out + TICKET_HEADER_LEN, plain_len);
  rc = ticket_plain_write(&w, st);
  if (rc == TERN_OK && w.len != plain_len) rc = TERN_ERR_CRYPTO; /* never */
  if (rc == TERN_OK)
    rc = gcm_seal(k->current->seal, out, out + TICKET_HEADER_LEN, plain_len,
                  out + TICKET_HEADER_LEN + plain_len);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(out, total);
    return TERN_ERR_CRYPTO;
  }
  *out_len = total;
  return TERN_OK;
}

/*
 * tern_ticket_seal: ticket_seal under the lock.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_STATE (no current key),
 * TERN_ERR_BUFFER_TOO_SMALL, TERN_ERR_CRYPTO.
 */
int tern_ticket_seal(tern_ticket_keys *k, const tern_ticket_state *st,
                     const uint8_t nonce[TERN_TICKET_NONCE_LEN], uint8_t *out,
                     size_t cap, size_t *out_len) {
  int rc;
  if (k == NULL || st == NULL || nonce == NULL || out == NULL ||
      out_len == NULL)
    return TERN_ERR_INVALID_ARG;
  pthread_mutex_lock(&k->lock);
  rc = ticket_seal(k, st, nonce, out, cap, out_len);
  pthread_mutex_unlock(&k->lock);
  return rc;
}

/*
 * ticket_open finds the key by name, decrypts into a stack buffer that
 * is wiped on every path, and parses it into st (already wiped). Lengths
 * that no ticket of ours has are refused before decrypting. Called with
 * the lock held.
 */
static int ticket_open(tern_ticket_keys *k, const uint8_t *in, size_t len,
                       tern_ticket_state *st) {
  uint8_t plain[TICKET_PLAIN_MAX];
  tern_reader r;
  ticket_key *key;
  size_t ct_len;
  int rc;

  if (len < TERN_TICKET_KEY_NAME_LEN) return TERN_ERR_MALFORMED;
  key = key_find(k, in);
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
 * tern_ticket_open: ticket_open under the lock. st is wiped first and
 * again on failure, so it never holds part of a rejected ticket.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_MALFORMED (too short or
 * too long to be ours, or bad fields after a good tag),
 * TERN_ERR_UNSUPPORTED (unknown key name, or another plaintext version
 * after a good tag), TERN_ERR_DECRYPT, TERN_ERR_CRYPTO.
 */
int tern_ticket_open(tern_ticket_keys *k, const uint8_t *in, size_t len,
                     tern_ticket_state *st) {
  int rc;
  if (st != NULL) OPENSSL_cleanse(st, sizeof *st);
  if (k == NULL || in == NULL || st == NULL) return TERN_ERR_INVALID_ARG;
  pthread_mutex_lock(&k->lock);
  rc = ticket_open(k, in, len, st);
  pthread_mutex_unlock(&k->lock);
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
