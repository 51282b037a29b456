/*
 * engine/ticket.h - engine layer: what resumption keeps between connections
 * (RFC 8446 §4.6.1, §8): the server's sealed tickets and the keys that seal
 * them, the client's session blob, and the strike register that makes
 * tickets single-use. No connection state here and no clock: every time is
 * passed in (milliseconds since an epoch the application picks).
 *
 *   server: tern_ticket_state --seal(key ring, nonce)--> ticket bytes
 *           ticket bytes --open(key ring)--> tern_ticket_state
 *   client: tern_session_state <--encode/decode--> session blob bytes
 *   both:   tern_strike_check: first use of an identity, or a replay
 *
 * Not part of the public API.
 */
#ifndef TERN_TICKET_H
#define TERN_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "codec/limits.h"

#define TERN_TICKET_KEY_NAME_LEN 16
#define TERN_TICKET_KEY_LEN 32       /* AES-256-GCM */
#define TERN_TICKET_NONCE_LEN 12
#define TERN_TICKET_TAG_LEN 16
#define TERN_TICKET_MAX_PSK 48       /* SHA-384 */
#define TERN_TICKET_MAX_NAME 255     /* SNI host name, ALPN protocol */
#define TERN_TICKET_CTX_LEN 32       /* SHA-256 of the early-data context */
#define TERN_TICKET_MAX_LIFETIME (7u * 24u * 3600u) /* seconds, §4.6.1 */
/* TERN_TICKET_MAX (the longest ticket a client keeps; tern's own sealed
   tickets are at most about 620 bytes) and TERN_SESSION_MAX (the longest
   session blob, TERN_SESSION_MAX_BYTES in tern.h) are in codec/limits.h. */

/* What a server seals into a ticket: enough to resume and to judge 0-RTT. */
typedef struct tern_ticket_state {
  uint16_t suite;                       /* the suite of the issuing connection */
  uint8_t psk[TERN_TICKET_MAX_PSK];     /* the ticket's PSK (§4.6.1) */
  uint8_t psk_len;                      /* the suite's hash length */
  uint64_t issue_time_ms;               /* server clock at issue */
  uint32_t lifetime_s;                  /* <= TERN_TICKET_MAX_LIFETIME */
  uint32_t age_add;                     /* ticket_age_add */
  uint32_t max_early_data;              /* 0: no 0-RTT with this ticket */
  uint8_t alpn_len;                     /* 0: none negotiated */
  char alpn[TERN_TICKET_MAX_NAME + 1];  /* NUL-terminated */
  uint8_t server_name_len;              /* 0: no SNI */
  char server_name[TERN_TICKET_MAX_NAME + 1];
  uint8_t early_ctx[TERN_TICKET_CTX_LEN]; /* SHA-256 of the app's context */
  uint8_t client_auth;                  /* 1: the client proved a certificate */
} tern_ticket_state;

/*
 * The server's ticket keys: a current key that seals and opens, and the
 * previous key that only opens. Each key has a 16-byte name, written in
 * clear at the start of every ticket it sealed. Sealing and opening run
 * on the calling thread's own contexts, keyed from the ring once per
 * rotation, and read the ring without a lock (a sequence lock that only
 * rotations write), so the connections of one configuration seal and open
 * from any number of threads without contending.
 */
typedef struct tern_ticket_keys tern_ticket_keys;

/* A key ring with no key yet; NULL when out of memory. */
tern_ticket_keys *tern_ticket_keys_new(void);
/* Wipes the keys and frees the ring (NULL is fine). */
void tern_ticket_keys_free(tern_ticket_keys *k);
/* Makes (name, key) the current key; the current one becomes previous and
   the previous one is wiped. A name equal to the current one's replaces
   its key without rotating. Returns TERN_OK or TERN_ERR_INVALID_ARG. */
int tern_ticket_keys_rotate(tern_ticket_keys *k,
                            const uint8_t name[TERN_TICKET_KEY_NAME_LEN],
                            const uint8_t key[TERN_TICKET_KEY_LEN]);
/* Whether a current key exists. */
int tern_ticket_keys_ready(const tern_ticket_keys *k);

/* Seals st under the current key with the given (random, never reused)
   nonce: name || nonce || AES-256-GCM(plaintext, aad = name || nonce) ||
   tag. Returns TERN_OK, TERN_ERR_STATE (no key), TERN_ERR_INVALID_ARG
   (a field out of range), TERN_ERR_BUFFER_TOO_SMALL, TERN_ERR_CRYPTO. */
int tern_ticket_seal(tern_ticket_keys *k, const tern_ticket_state *st,
                     const uint8_t nonce[TERN_TICKET_NONCE_LEN], uint8_t *out,
                     size_t cap, size_t *out_len);
/* Opens a ticket sealed under the current or previous key. Returns
   TERN_OK, TERN_ERR_UNSUPPORTED (unknown key name: rotated out or never
   ours), TERN_ERR_DECRYPT (tampered), TERN_ERR_MALFORMED (bad lengths or
   fields after a good tag). st is wiped on every failure. */
int tern_ticket_open(tern_ticket_keys *k, const uint8_t *in, size_t len,
                     tern_ticket_state *st);

/* What a client keeps of a ticket (the blob the application stores). */
typedef struct tern_session_state {
  uint16_t suite;
  uint8_t psk[TERN_TICKET_MAX_PSK];
  uint8_t psk_len;
  uint64_t receive_time_ms;             /* client clock when the NST came */
  uint32_t lifetime_s;
  uint32_t age_add;
  uint32_t max_early_data;
  uint8_t alpn_len;
  char alpn[TERN_TICKET_MAX_NAME + 1];
  uint8_t server_name_len;
  char server_name[TERN_TICKET_MAX_NAME + 1];
  uint16_t ticket_len;                  /* 1 .. TERN_TICKET_MAX */
  uint8_t ticket[TERN_TICKET_MAX];      /* opaque to the client */
} tern_session_state;

/* Serializes st: a version byte, the fields, and a check value (the first
   8 bytes of SHA-256 over the rest) so corruption is detected. Returns
   TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_BUFFER_TOO_SMALL. */
int tern_session_encode(const tern_session_state *st, uint8_t *out, size_t cap,
                        size_t *out_len);
/* Parses a blob made by tern_session_encode. Returns TERN_OK,
   TERN_ERR_UNSUPPORTED (other version), TERN_ERR_MALFORMED (corrupted,
   truncated, trailing bytes, a field out of range). st is wiped on
   failure. */
int tern_session_decode(const uint8_t *in, size_t len, tern_session_state *st);

/*
 * Strike register (RFC 8446 §8.2 style): remembers identities (e.g. a
 * hash of a ticket) until their expiry time, in bounded memory. An
 * identity is accepted once; a second check before its expiry is a
 * replay. When full of unexpired entries it refuses (fails safe).
 */
typedef struct tern_strike tern_strike;

/* A register of at most capacity entries; NULL on bad args or no memory. */
tern_strike *tern_strike_new(size_t capacity);
void tern_strike_free(tern_strike *s);
/* Returns 1 when id (32 bytes) was not seen and is now recorded until
   expires_ms, 0 when it is a replay (seen, not yet expired) or the
   register is full, negative TERN_ERR_* on bad arguments. */
int tern_strike_check(tern_strike *s, const uint8_t id[32], uint64_t now_ms,
                      uint64_t expires_ms);
/* Entries currently held (for tests and stats). */
size_t tern_strike_count(const tern_strike *s);

#endif
