/*
 * proofs/engine/ticket/harness.c - the EVA driver for the parsers of
 * src/engine/ticket.c behind the AEAD and the check value: a ticket's
 * plaintext (ticket_plain_read, reached through tern_ticket_open) and a
 * session blob (session_read, through tern_session_decode), run by
 * proofs/engine/ticket/eva.sh on ticket.c and wire.c as they are.
 *
 * Tickets: a key ring is made and keyed as a server does (through
 * tern_ticket_keys_new and _rotate, over the libcrypto of
 * proofs/engine/ticket/include); then tern_ticket_open is called on a
 * ticket of unknown bytes of every length 0..TICKET_IN (each length its
 * own case), the ticket being the END of an array, so that a read past
 * it is a read past the array. The decryption writes ct_len unknown bytes
 * into ticket.c's plaintext buffer (the stub of EVP_DecryptUpdate): what
 * ticket_plain_read parses is any plaintext of any length a holder of the
 * key could have sealed, and a read past it is a read of uninitialised
 * memory, which EVA reports.
 * Session blobs: tern_session_decode on a blob of unknown bytes of every
 * length 0..SESSION_IN, the END of an array; the check value compares
 * unknown (both outcomes), so session_read parses unknown bytes.
 *
 * After each call that succeeds, what the parser promises holds (ACSL
 * assertions: the PSK is the suite's hash length, the names are
 * NUL-terminated at their count, the lifetime is at most 7 days, ...);
 * after each that fails, the state is wiped.
 *
 * The functions of src/crypto/crypto.c that ticket.c calls are here,
 * each with a contract: the suite table (its ids and hash lengths as in
 * crypto.c), and tern_hash_data, which must be given readable,
 * initialised data and room for the digest.
 */
#include "__fc_builtin.h"

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>

#include <tern.h>

#include "crypto/crypto.h"
#include "engine/ticket.h"

#ifndef TICKET_IN
#define TICKET_IN 64
#endif
#ifndef SESSION_IN
#define SESSION_IN 64
#endif

/* -- src/crypto/crypto.c, as ticket.c sees it --------------------------- */

static const tern_hash hashes[2] = {
    {TERN_HASH_SHA256, 32, "SHA256", NULL},
    {TERN_HASH_SHA384, 48, "SHA384", NULL},
};
static const tern_suite suites[5] = {
    {TERN_TLS_AES_128_GCM_SHA256, "", TERN_AEAD_AES_128_GCM, 16, 12, 16, &hashes[0], 0, 1},
    {TERN_TLS_AES_256_GCM_SHA384, "", TERN_AEAD_AES_256_GCM, 32, 12, 16, &hashes[1], 0, 1},
    {TERN_TLS_CHACHA20_POLY1305_SHA256, "", TERN_AEAD_CHACHA20_POLY1305, 32, 12, 16, &hashes[0], 0, 1},
    {TERN_TLS_AES_128_CCM_SHA256, "", TERN_AEAD_AES_128_CCM, 16, 12, 16, &hashes[0], 1, 1},
    {TERN_TLS_AES_128_CCM_8_SHA256, "", TERN_AEAD_AES_128_CCM_8, 16, 12, 8, &hashes[0], 1, 0},
};
static EVP_CIPHER gcm;

int tern_crypto_init(void) { return TERN_OK; }

/*@ assigns \result \from id;
    ensures \result == \null || \valid_read(\result); */
const tern_suite *tern_suite_get(uint16_t id) {
  for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
    if (suites[i].id == id) return &suites[i];
  return NULL;
}

const tern_hash *tern_hash_get(tern_hash_id id) {
  return (unsigned)id < 2 ? &hashes[id] : NULL;
}

EVP_CIPHER *tern_crypto_aead_cipher(tern_aead_kind k) {
  return k == TERN_AEAD_AES_256_GCM ? &gcm : NULL;
}

/*@ requires \valid_read(h) && (h->len == 32 || h->len == 48);
    requires len == 0 || \valid_read(data + (0 .. len - 1));
    requires len == 0 || \initialized(data + (0 .. len - 1));
    requires \valid(out + (0 .. h->len - 1));
*/
int tern_hash_data(const tern_hash *h, const uint8_t *data, size_t len,
                   uint8_t *out) {
  (void)data;
  (void)len;
  Frama_C_make_unknown((char *)out, h->len);
  return Frama_C_interval(0, 1) ? TERN_OK : TERN_ERR_CRYPTO;
}

/* -- the drivers ------------------------------------------------------------ */

static uint8_t ticket_in[TICKET_IN];
static uint8_t session_in[SESSION_IN];

/*
 * One thread: the ring's per-thread cache (ticket.c's thread_rings_get)
 * made through pthread_once / pthread_key_create / pthread_setspecific,
 * which succeed here as on any thread that has memory (Frama-C's libc
 * declares them without a contract). proof_threads.h turns the atomic
 * builtins into plain accesses.
 */
int pthread_once(pthread_once_t *once, void (*init)(void)) {
  if (once->_fc == 0) {
    once->_fc = 1;
    init();
  }
  return 0;
}
int pthread_key_create(pthread_key_t *key, void (*destructor)(void *)) {
  (void)destructor;
  key->_fc = 1;
  return 0;
}
int pthread_setspecific(pthread_key_t key, const void *value) {
  (void)key, (void)value;
  return 0;
}

static void drive_tickets(void) {
  static const uint8_t name[TERN_TICKET_KEY_NAME_LEN] = {1, 2, 3};
  static const uint8_t key[TERN_TICKET_KEY_LEN] = {4, 5, 6};
  tern_ticket_keys *k = tern_ticket_keys_new();
  if (k == NULL) return;
  if (tern_ticket_keys_rotate(k, name, key) != TERN_OK) {
    tern_ticket_keys_free(k);
    return;
  }
  Frama_C_make_unknown((char *)ticket_in, sizeof ticket_in);
  /* The first open keys this thread's contexts for the ring (ticket.c's
     ring_keys runs before anything is parsed); the states where that
     failed end here, so that every open below finds the contexts ready
     instead of forking again on each allocation and key set-up. */
  {
    tern_ticket_state st;
    int rc = tern_ticket_open(k, ticket_in, TICKET_IN, &st);
    /*@ split rc; */
    if (rc == TERN_ERR_NOMEM || rc == TERN_ERR_CRYPTO) {
      tern_ticket_keys_free(k);
      return;
    }
    /*@ merge rc; */
  }
  /*@ loop unroll TICKET_IN + 1; */
  for (size_t n = 0; n <= TICKET_IN; n++) {
    tern_ticket_state st;
    int rc = tern_ticket_open(k, ticket_in + (TICKET_IN - n), n, &st);
    /*@ split rc; */
    /*@ assert rc == TERN_OK ==>
          (st.psk_len == 32 || st.psk_len == 48) &&
          st.lifetime_s <= TERN_TICKET_MAX_LIFETIME &&
          st.client_auth <= 1; */
    /*@ assert rc != TERN_OK ==> st.psk_len == 0 && st.alpn_len == 0; */
    (void)rc;
  }
  tern_ticket_keys_free(k);
}

static void drive_sessions(void) {
  Frama_C_make_unknown((char *)session_in, sizeof session_in);
  /*@ loop unroll SESSION_IN + 1; */
  for (size_t n = 0; n <= SESSION_IN; n++) {
    tern_session_state st;
    int rc = tern_session_decode(session_in + (SESSION_IN - n), n, &st);
    /*@ split rc; */
    /*@ assert rc == TERN_OK ==>
          (st.psk_len == 32 || st.psk_len == 48) &&
          st.lifetime_s <= TERN_TICKET_MAX_LIFETIME &&
          1 <= st.ticket_len <= TERN_TICKET_MAX; */
    /*@ assert rc != TERN_OK ==> st.psk_len == 0 && st.ticket_len == 0; */
    (void)rc;
  }
}

int main(void) {
  drive_tickets();
  drive_sessions();
  return 0;
}
