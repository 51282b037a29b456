/*
 * api/ech.c - API layer: Encrypted ClientHello (RFC 9849) settings and
 * results: making an ECH key and its ECHConfig, giving keys to a server
 * configuration, an ECHConfigList to a client connection; see tern.h.
 * The protocol itself is engine/ech.c.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "core/conn.h"
#include "crypto/hpke.h"
#include "engine/ech.h"

static void put16(uint8_t *p, size_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* tern_ech_config_generate: see tern.h. */
int tern_ech_config_generate(uint16_t kem, uint8_t config_id, const char *public_name,
                             uint8_t maximum_name_length, uint8_t *config, size_t cap,
                             size_t *config_len, uint8_t sk[32]) {
  /* HKDF-SHA256 with AES-128-GCM, then with ChaCha20-Poly1305 */
  static const uint8_t suites[8] = {0, 1, 0, 1, 0, 1, 0, 3};
  uint8_t pk[TERN_HPKE_MAX_ENC];
  size_t npk = tern_hpke_kem_enc_len(kem), name_len, n = 0, need;
  tern_ech_config check;
  int rc;
  if (public_name == NULL || config == NULL || config_len == NULL || sk == NULL)
    return TERN_ERR_INVALID_ARG;
  if (npk == 0) return TERN_ERR_UNSUPPORTED;
  name_len = strlen(public_name);
  if (name_len == 0 || name_len > 255) return TERN_ERR_INVALID_ARG;
  need = 4 + 1 + 2 + 2 + npk + 2 + sizeof suites + 1 + 1 + name_len + 2;
  if (need > cap || need > TERN_ECH_CONFIG_MAX) return TERN_ERR_BUFFER_TOO_SMALL;
  rc = tern_hpke_generate_keypair(kem, sk, pk);
  if (rc != TERN_OK) return rc;
  put16(config + n, TERN_ECH_VERSION);
  put16(config + n + 2, need - 4);
  n += 4;
  config[n++] = config_id;
  put16(config + n, kem);
  n += 2;
  put16(config + n, npk);
  memcpy(config + n + 2, pk, npk);
  n += 2 + npk;
  put16(config + n, sizeof suites);
  memcpy(config + n + 2, suites, sizeof suites);
  n += 2 + sizeof suites;
  config[n++] = maximum_name_length;
  config[n++] = (uint8_t)name_len;
  memcpy(config + n, public_name, name_len);
  n += name_len;
  put16(config + n, 0);
  n += 2;
  /* the name rules are the parser's (a DNS name, not an IPv4 address) */
  if (tern_ech_config_parse(config, n, &check) != TERN_OK) {
    OPENSSL_cleanse(sk, 32);
    return TERN_ERR_INVALID_ARG;
  }
  *config_len = n;
  return TERN_OK;
}

/* tern_config_add_ech_key: see tern.h. */
int tern_config_add_ech_key(tern_config *cfg, const uint8_t *config, size_t config_len,
                            const uint8_t *sk, size_t sk_len, int retry) {
  tern_ech_config parsed;
  uint8_t pk[TERN_HPKE_MAX_ENC];
  uint16_t kdf, aead;
  tern_ech_key *k;
  int rc;
  if (cfg == NULL || config == NULL || sk == NULL) return TERN_ERR_INVALID_ARG;
  if (cfg->role != TERN_SERVER) return TERN_ERR_STATE;
  if (cfg->n_ech_keys == TERN_MAX_ECH_KEYS) return TERN_ERR_LIMIT;
  if (config_len > TERN_ECH_CONFIG_MAX) return TERN_ERR_MALFORMED;
  rc = tern_ech_config_parse(config, config_len, &parsed);
  if (rc != TERN_OK) return rc;
  if (tern_hpke_kem_sk_len(parsed.kem) == 0) return TERN_ERR_UNSUPPORTED;
  /* a key no client could use (no suite tern has, an unknown mandatory
     extension) would be published and never open anything */
  if (!tern_ech_config_usable(&parsed, &kdf, &aead)) return TERN_ERR_UNSUPPORTED;
  if (sk_len != tern_hpke_kem_sk_len(parsed.kem)) return TERN_ERR_INVALID_ARG;
  /* the private key must be the config's */
  rc = tern_hpke_public_key(parsed.kem, sk, pk);
  if (rc == TERN_ERR_MALFORMED ||
      (rc == TERN_OK && (parsed.public_key.len != tern_hpke_kem_enc_len(parsed.kem) ||
                         CRYPTO_memcmp(pk, parsed.public_key.p, parsed.public_key.len) != 0)))
    return TERN_ERR_MALFORMED;
  if (rc != TERN_OK) return rc;
  k = &cfg->ech_keys[cfg->n_ech_keys];
  k->config = OPENSSL_malloc(config_len);
  if (k->config == NULL) return TERN_ERR_NOMEM;
  memcpy(k->config, config, config_len);
  k->config_len = config_len;
  memcpy(k->sk, sk, sk_len);
  if (tern_hpke_private_key(parsed.kem, sk, &k->pkey, k->pk) != TERN_OK) {
    OPENSSL_free(k->config);
    OPENSSL_cleanse(k->sk, sizeof k->sk);
    return TERN_ERR_CRYPTO;
  }
  k->retry = retry != 0;
  cfg->n_ech_keys++;
  return TERN_OK;
}

/* tern_config_ech_config_list: see tern.h. */
int tern_config_ech_config_list(const tern_config *cfg, uint8_t *out, size_t cap, size_t *len) {
  size_t n = 2;
  if (cfg == NULL || out == NULL || len == NULL) return TERN_ERR_INVALID_ARG;
  if (cap < 2) return TERN_ERR_BUFFER_TOO_SMALL;
  for (size_t i = 0; i < cfg->n_ech_keys; i++) {
    const tern_ech_key *k = &cfg->ech_keys[i];
    if (!k->retry) continue;
    if (n + k->config_len > cap) return TERN_ERR_BUFFER_TOO_SMALL;
    memcpy(out + n, k->config, k->config_len);
    n += k->config_len;
  }
  if (n == 2) return TERN_ERR_STATE;
  put16(out, n - 2);
  *len = n;
  return TERN_OK;
}

/* Frees the ECH keys of a configuration (tern_config_free). */
void tern_config_ech_free(tern_config *cfg);
void tern_config_ech_free(tern_config *cfg) {
  for (size_t i = 0; i < cfg->n_ech_keys; i++) {
    OPENSSL_free(cfg->ech_keys[i].config);
    EVP_PKEY_free(cfg->ech_keys[i].pkey);
    OPENSSL_cleanse(cfg->ech_keys[i].sk, sizeof cfg->ech_keys[i].sk);
  }
  cfg->n_ech_keys = 0;
}

/* tern_conn_set_ech_config_list: see tern.h. */
int tern_conn_set_ech_config_list(tern_conn *c, const uint8_t *list, size_t len) {
  tern_ech_config cfg;
  uint16_t kdf = 0, aead = 0;
  int rc;
  if (c == NULL || list == NULL) return TERN_ERR_INVALID_ARG;
  if (c->role != TERN_CLIENT || c->started) return TERN_ERR_STATE;
  rc = tern_ech_config_list_pick(list, len, &cfg, &kdf, &aead);
  if (rc != TERN_OK) return rc;
  if (tern_conn_ech(c) == NULL) return TERN_ERR_NOMEM;
  OPENSSL_free(c->ech->config);
  c->ech->config = OPENSSL_malloc(cfg.raw.len);
  if (c->ech->config == NULL) return TERN_ERR_NOMEM;
  memcpy(c->ech->config, cfg.raw.p, cfg.raw.len);
  c->ech->config_len = cfg.raw.len;
  c->ech->config_id = cfg.config_id;
  c->ech->kdf = kdf;
  c->ech->aead = aead;
  memcpy(c->ech->public_name, cfg.public_name.p, cfg.public_name.len);
  c->ech->public_name[cfg.public_name.len] = 0;
  memcpy(c->ech->inner_name, c->hs->server_name, sizeof c->ech->inner_name);
  memcpy(c->ech->outer_name, c->ech->public_name, sizeof c->ech->outer_name);
  c->ech_status = TERN_ECH_OFFERED;
  return TERN_OK;
}

/* tern_config_set_ech_grease: see tern.h. */
int tern_config_set_ech_grease(tern_config *cfg, int on) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  if (cfg->role != TERN_CLIENT) return TERN_ERR_STATE;
  cfg->ech_grease = on != 0;
  return TERN_OK;
}

int tern_conn_ech_status(const tern_conn *c) { return c ? c->ech_status : TERN_ECH_NONE; }

/* tern_conn_ech_retry_configs: see tern.h. */
int tern_conn_ech_retry_configs(const tern_conn *c, const uint8_t **list, size_t *len) {
  if (c == NULL || list == NULL || len == NULL) return TERN_ERR_INVALID_ARG;
  if (c->ech == NULL || c->ech->retry == NULL) return TERN_ERR_STATE;
  *list = c->ech->retry;
  *len = c->ech->retry_len;
  return TERN_OK;
}

const char *tern_conn_ech_outer_name(const tern_conn *c) {
  if (c == NULL) return NULL;
  return c->ech != NULL ? c->ech->outer_name : "";
}
