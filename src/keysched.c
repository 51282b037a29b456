/*
 * keysched.c - the actions of the key-schedule machine (spec/keysched.rl)
 * and the step functions that feed it. The machine decides whether a step
 * is legal; the actions only compute, and wipe each secret after its last
 * use.
 */
#include "keysched.h"

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

/* secret = HKDF-Extract(Derive-Secret(stage, "derived", ""), ikm). */
static int next_stage(tern_keysched *ks, const uint8_t *ikm, size_t ikm_len) {
  uint8_t derived[TERN_MAX_HASH_LEN];
  int rc = tern_derive_secret(ks->hash, ks->stage, "derived",
                              ks->hash->empty_hash, derived);
  if (rc == TERN_OK)
    rc = tern_hkdf_extract(ks->hash, derived, ks->hash->len, ikm, ikm_len,
                           ks->stage);
  OPENSSL_cleanse(derived, sizeof derived);
  return rc;
}

int tern_ks_on_early(struct tern_keysched *ks) {
  static const uint8_t zeros[TERN_MAX_HASH_LEN];
  if (ks->in == NULL)
    return tern_hkdf_extract(ks->hash, NULL, 0, zeros, ks->hash->len, ks->stage);
  return tern_hkdf_extract(ks->hash, NULL, 0, ks->in, ks->in_len, ks->stage);
}

int tern_ks_on_binder(struct tern_keysched *ks) {
  return tern_derive_secret(ks->hash, ks->stage,
                            ks->in_external ? "ext binder" : "res binder",
                            ks->hash->empty_hash, ks->binder_key);
}

int tern_ks_on_early_traffic(struct tern_keysched *ks) {
  int rc = tern_derive_secret(ks->hash, ks->stage, "c e traffic", ks->in,
                              ks->client_early);
  if (rc == TERN_OK)
    rc = tern_derive_secret(ks->hash, ks->stage, "e exp master", ks->in,
                            ks->early_exporter);
  return rc;
}

/* The Early Secret's last use: it is replaced by the Handshake Secret. */
int tern_ks_on_handshake(struct tern_keysched *ks) {
  static const uint8_t zeros[TERN_MAX_HASH_LEN];
  OPENSSL_cleanse(ks->binder_key, sizeof ks->binder_key);
  OPENSSL_cleanse(ks->client_early, sizeof ks->client_early);
  if (ks->in == NULL) return next_stage(ks, zeros, ks->hash->len);
  return next_stage(ks, ks->in, ks->in_len);
}

int tern_ks_on_hs_traffic(struct tern_keysched *ks) {
  int rc = tern_derive_secret(ks->hash, ks->stage, "c hs traffic", ks->in,
                              ks->client_hs);
  if (rc == TERN_OK)
    rc = tern_derive_secret(ks->hash, ks->stage, "s hs traffic", ks->in,
                            ks->server_hs);
  return rc;
}

/* The Handshake Secret's last use: replaced by the Master Secret. */
int tern_ks_on_master(struct tern_keysched *ks) {
  static const uint8_t zeros[TERN_MAX_HASH_LEN];
  return next_stage(ks, zeros, ks->hash->len);
}

int tern_ks_on_ap_traffic(struct tern_keysched *ks) {
  int rc = tern_derive_secret(ks->hash, ks->stage, "c ap traffic", ks->in,
                              ks->client_ap);
  if (rc == TERN_OK)
    rc = tern_derive_secret(ks->hash, ks->stage, "s ap traffic", ks->in,
                            ks->server_ap);
  if (rc == TERN_OK)
    rc = tern_derive_secret(ks->hash, ks->stage, "exp master", ks->in,
                            ks->exporter);
  return rc;
}

/* The Master Secret's and handshake traffic secrets' last use. */
int tern_ks_on_resumption(struct tern_keysched *ks) {
  int rc = tern_derive_secret(ks->hash, ks->stage, "res master", ks->in,
                              ks->resumption);
  OPENSSL_cleanse(ks->stage, sizeof ks->stage);
  OPENSSL_cleanse(ks->client_hs, sizeof ks->client_hs);
  OPENSSL_cleanse(ks->server_hs, sizeof ks->server_hs);
  return rc;
}

/* secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length) */
static int update_secret(const tern_hash *h, uint8_t *secret) {
  uint8_t next[TERN_MAX_HASH_LEN];
  int rc = tern_hkdf_expand_label(h, secret, h->len, "traffic upd", NULL, 0,
                                  next, h->len);
  if (rc == TERN_OK) memcpy(secret, next, h->len);
  OPENSSL_cleanse(next, sizeof next);
  return rc;
}

int tern_ks_on_update_client(struct tern_keysched *ks) {
  int rc = update_secret(ks->hash, ks->client_ap);
  if (rc == TERN_OK) ks->client_generation++;
  return rc;
}

int tern_ks_on_update_server(struct tern_keysched *ks) {
  int rc = update_secret(ks->hash, ks->server_ap);
  if (rc == TERN_OK) ks->server_generation++;
  return rc;
}

/* ---- step functions ---- */

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
