/*
 * crypto/keysched.h - crypto layer: the TLS 1.3 key schedule of one
 * connection (RFC 8446 §7.1), driven through the machine of
 * spec/keysched.rl so that no secret can be derived before the secrets it
 * depends on. Each tern_keysched_* step below feeds one event; a step out
 * of order fails with TERN_ERR_STATE and the schedule stays failed.
 */
#ifndef TERN_KEYSCHED_H
#define TERN_KEYSCHED_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "crypto/keysched_machine.h"

typedef struct tern_keysched {
  int cs;                       /* machine state (gen/keysched.c) */
  const tern_hash *hash;
  /* The current stage secret: Early, then Handshake, then Master. */
  uint8_t stage[TERN_MAX_HASH_LEN];
  uint8_t binder_key[TERN_MAX_HASH_LEN];
  uint8_t client_early[TERN_MAX_HASH_LEN];
  uint8_t early_exporter[TERN_MAX_HASH_LEN];
  uint8_t client_hs[TERN_MAX_HASH_LEN];
  uint8_t server_hs[TERN_MAX_HASH_LEN];
  uint8_t client_ap[TERN_MAX_HASH_LEN];  /* current generation */
  uint8_t server_ap[TERN_MAX_HASH_LEN];  /* current generation */
  uint8_t exporter[TERN_MAX_HASH_LEN];
  uint8_t resumption[TERN_MAX_HASH_LEN];
  uint32_t client_generation, server_generation;
  /* Input of the step being fed (set by the step functions only). */
  const uint8_t *in;
  size_t in_len;
  int in_external;
} tern_keysched;

/* Starts a schedule under hash h (the negotiated suite's hash). */
int tern_keysched_init(tern_keysched *ks, const tern_hash *h);
/* Wipes every secret; the schedule can no longer be used. */
void tern_keysched_wipe(tern_keysched *ks);

/* Early Secret = HKDF-Extract(0, psk); psk NULL means no PSK (zeros). */
int tern_keysched_early(tern_keysched *ks, const uint8_t *psk, size_t psk_len);
/* binder_key = Derive-Secret(ES, "ext binder" | "res binder", ""). */
int tern_keysched_binder_key(tern_keysched *ks, int external);
/* client_early_traffic_secret and early_exporter_master_secret over
   Hash(ClientHello). */
int tern_keysched_early_traffic(tern_keysched *ks, const uint8_t *ch_hash);
/* Handshake Secret from the (EC)DHE shared secret (NULL: psk_ke, zeros). */
int tern_keysched_handshake(tern_keysched *ks, const uint8_t *dhe, size_t dhe_len);
/* Handshake traffic secrets over Hash(ClientHello..ServerHello). */
int tern_keysched_hs_traffic(tern_keysched *ks, const uint8_t *hash);
/* Master Secret. */
int tern_keysched_master(tern_keysched *ks);
/* Application traffic secrets 0 and exporter_master_secret over
   Hash(ClientHello..server Finished). */
int tern_keysched_ap_traffic(tern_keysched *ks, const uint8_t *hash);
/* resumption_master_secret over Hash(ClientHello..client Finished). */
int tern_keysched_resumption(tern_keysched *ks, const uint8_t *hash);
/* Next generation of one direction's application traffic secret:
   HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length) (§7.2). */
int tern_keysched_update(tern_keysched *ks, int server_side);

/* Finished verify_data / PSK binder from a base key (§4.4.4, §4.2.11.2). */
int tern_keysched_binder(const tern_keysched *ks, const uint8_t *partial_ch_hash,
                         uint8_t *out);

/* PSK of a ticket = HKDF-Expand-Label(resumption_master_secret,
   "resumption", ticket_nonce, Hash.length) (§4.6.1). */
int tern_keysched_ticket_psk(const tern_hash *h, const uint8_t *resumption,
                             const uint8_t *nonce, size_t nonce_len,
                             uint8_t *psk);

/* Traffic key and IV of the record layer (§7.3). */
int tern_keysched_traffic_key(const tern_suite *s, const uint8_t *secret,
                              uint8_t *key, uint8_t iv[12]);

#endif
