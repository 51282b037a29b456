/*
 * crypto/keysched.c - crypto layer: the step functions of the key
 * schedule (RFC 8446 §7.1), each feeding one event to the machine of
 * spec/keysched.rl (gen/keysched.c), which decides whether the step is
 * legal and runs its action (keysched_actions.c); plus the derivations
 * outside the machine (binder, ticket PSK, traffic key and IV).
 */
#include "crypto/keysched.h"

#include <string.h>

#include <openssl/crypto.h>
#include <tern.h>

/* Feeds one event with its input; the machine runs the action. */
static int feed(tern_keysched *ks, unsigned char ev, const uint8_t *in,
                size_t in_len) {
  int rc;
  if (ks == NULL || ks->hash == NULL) return TERN_ERR_INVALID_ARG;
  ks->in = in;
  ks->in_len = in_len;
  rc = tern_ks_machine_feed(&ks->cs, ev, ks);
  ks->in = NULL;
  ks->in_len = 0;
  if (rc != TERN_OK) tern_keysched_wipe(ks);
  return rc;
}

int tern_keysched_init(tern_keysched *ks, const tern_hash *h) {
  if (ks == NULL || h == NULL) return TERN_ERR_INVALID_ARG;
  memset(ks, 0, sizeof *ks);
  ks->hash = h;
  ks->cs = tern_ks_machine_start();
  return TERN_OK;
}

void tern_keysched_wipe(tern_keysched *ks) {
  const tern_hash *h;
  if (ks == NULL) return;
  h = ks->hash;
  OPENSSL_cleanse(ks, sizeof *ks);
  ks->hash = h;
  ks->cs = tern_ks_machine_error();
}

int tern_keysched_early(tern_keysched *ks, const uint8_t *psk, size_t psk_len) {
  if (psk == NULL && psk_len) return TERN_ERR_INVALID_ARG;
  return feed(ks, TERN_KS_EV_EARLY, psk, psk_len);
}

int tern_keysched_binder_key(tern_keysched *ks, int external) {
  if (ks == NULL) return TERN_ERR_INVALID_ARG;
  ks->in_external = external;
  return feed(ks, TERN_KS_EV_BINDER, NULL, 0);
}

int tern_keysched_early_traffic(tern_keysched *ks, const uint8_t *ch_hash) {
  if (ch_hash == NULL) return TERN_ERR_INVALID_ARG;
  return feed(ks, TERN_KS_EV_EARLY_TRAFFIC, ch_hash, 0);
}

int tern_keysched_handshake(tern_keysched *ks, const uint8_t *dhe, size_t dhe_len) {
  if (dhe == NULL && dhe_len) return TERN_ERR_INVALID_ARG;
  return feed(ks, TERN_KS_EV_HANDSHAKE, dhe, dhe_len);
}

int tern_keysched_hs_traffic(tern_keysched *ks, const uint8_t *hash) {
  if (hash == NULL) return TERN_ERR_INVALID_ARG;
  return feed(ks, TERN_KS_EV_HS_TRAFFIC, hash, 0);
}

int tern_keysched_master(tern_keysched *ks) {
  return feed(ks, TERN_KS_EV_MASTER, NULL, 0);
}

int tern_keysched_ap_traffic(tern_keysched *ks, const uint8_t *hash) {
  if (hash == NULL) return TERN_ERR_INVALID_ARG;
  return feed(ks, TERN_KS_EV_AP_TRAFFIC, hash, 0);
}

int tern_keysched_resumption(tern_keysched *ks, const uint8_t *hash) {
  if (hash == NULL) return TERN_ERR_INVALID_ARG;
  return feed(ks, TERN_KS_EV_RESUMPTION, hash, 0);
}

int tern_keysched_update(tern_keysched *ks, int server_side) {
  return feed(ks, server_side ? TERN_KS_EV_UPDATE_SERVER : TERN_KS_EV_UPDATE_CLIENT,
              NULL, 0);
}

int tern_keysched_binder(const tern_keysched *ks, const uint8_t *partial_ch_hash,
                         uint8_t *out) {
  static const uint8_t zeros[TERN_MAX_HASH_LEN];
  if (ks == NULL || ks->hash == NULL || partial_ch_hash == NULL || out == NULL)
    return TERN_ERR_INVALID_ARG;
  /* Only meaningful between BINDER and HANDSHAKE: the key is wiped after. */
  if (CRYPTO_memcmp(ks->binder_key, zeros, ks->hash->len) == 0)
    return TERN_ERR_STATE;
  return tern_finished_verify_data(ks->hash, ks->binder_key, partial_ch_hash, out);
}

int tern_keysched_ticket_psk(const tern_hash *h, const uint8_t *resumption,
                             const uint8_t *nonce, size_t nonce_len,
                             uint8_t *psk) {
  if (h == NULL || resumption == NULL || psk == NULL || nonce_len > 255)
    return TERN_ERR_INVALID_ARG;
  return tern_hkdf_expand_label(h, resumption, h->len, "resumption", nonce,
                                nonce_len, psk, h->len);
}

int tern_keysched_traffic_key(const tern_suite *s, const uint8_t *secret,
                              uint8_t *key, uint8_t iv[12]) {
  int rc;
  if (s == NULL || secret == NULL || key == NULL || iv == NULL)
    return TERN_ERR_INVALID_ARG;
  rc = tern_hkdf_expand_label(s->hash, secret, s->hash->len, "key", NULL, 0,
                              key, s->key_len);
  if (rc == TERN_OK)
    rc = tern_hkdf_expand_label(s->hash, secret, s->hash->len, "iv", NULL, 0,
                                iv, s->iv_len);
  return rc;
}
