/*
 * crypto/keysched_actions.c - crypto layer: the actions of the
 * key-schedule machine (spec/keysched.rl), one per transition. The
 * machine decides whether a step is legal; the actions only compute, and
 * wipe each secret after its last use.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <tern.h>

#include "crypto/keysched.h"

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

