/*
 * api/config.c - API layer: tern_config_*, the settings shared by every
 * connection made from one configuration: algorithms, certificates and
 * trust, callbacks, resumption and 0-RTT, TCP options. Each setter checks
 * its arguments and the role; see tern.h for every function.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "codec/record.h"
#include "core/conn.h"
#include "crypto/certcomp.h"
#include "crypto/sig.h"
#include "engine/ticket.h"

/* api/ech.c */
void tern_config_ech_free(tern_config *cfg);

#define MAX_TICKETS_AT_ONCE 10
#define DEFAULT_STRIKE_CAPACITY 16384

static const uint16_t default_suites[] = {
    TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_CHACHA20_POLY1305_SHA256,
    TERN_TLS_AES_256_GCM_SHA384};
static const uint16_t default_groups[] = {
    /* post-quantum hybrids first, as the browsers offer them */
    TERN_GROUP_X25519MLKEM768, TERN_GROUP_SECP256R1MLKEM768,
    TERN_GROUP_SECP384R1MLKEM1024,
    TERN_GROUP_X25519, TERN_GROUP_SECP256R1, TERN_GROUP_X448,
    TERN_GROUP_SECP384R1, TERN_GROUP_SECP521R1,
    /* RFC 7919, after every elliptic-curve group */
    TERN_GROUP_FFDHE2048, TERN_GROUP_FFDHE3072, TERN_GROUP_FFDHE4096,
    TERN_GROUP_FFDHE6144, TERN_GROUP_FFDHE8192};
static const uint16_t default_sigs[] = {
    TERN_SIG_ECDSA_SECP256R1_SHA256, TERN_SIG_ED25519,
    TERN_SIG_RSA_PSS_RSAE_SHA256, TERN_SIG_ECDSA_SECP384R1_SHA384,
    TERN_SIG_RSA_PSS_RSAE_SHA384, TERN_SIG_ECDSA_SECP521R1_SHA512,
    TERN_SIG_RSA_PSS_RSAE_SHA512, TERN_SIG_ED448,
    TERN_SIG_RSA_PSS_PSS_SHA256, TERN_SIG_RSA_PSS_PSS_SHA384,
    TERN_SIG_RSA_PSS_PSS_SHA512};

/* tern_config_new: see tern.h. */
tern_config *tern_config_new(tern_role role) {
  tern_config *cfg;
  if (role != TERN_CLIENT && role != TERN_SERVER) return NULL;
  if (tern_crypto_init() != TERN_OK) return NULL;
  cfg = OPENSSL_zalloc(sizeof *cfg);
  if (cfg == NULL) return NULL;
  cfg->refs = 1;
  cfg->role = role;
  memcpy(cfg->suites, default_suites, sizeof default_suites);
  cfg->n_suites = sizeof default_suites / sizeof default_suites[0];
  memcpy(cfg->groups, default_groups, sizeof default_groups);
  cfg->n_groups = sizeof default_groups / sizeof default_groups[0];
  /* two shares, as Chromium sends them: the hybrid and X25519 */
  cfg->share_groups[0] = TERN_GROUP_X25519MLKEM768;
  cfg->share_groups[1] = TERN_GROUP_X25519;
  cfg->n_share_groups = 2;
  memcpy(cfg->sigs, default_sigs, sizeof default_sigs);
  cfg->n_sigs = sizeof default_sigs / sizeof default_sigs[0];
  cfg->verify_peer = role == TERN_CLIENT;
  cfg->verify_name = 1;
  cfg->max_message = TERN_DEFAULT_MAX_MESSAGE;
  cfg->early_window_ms = 10000;
  cfg->strike_capacity = DEFAULT_STRIKE_CAPACITY;
  if (pthread_mutex_init(&cfg->strike_lock, NULL) != 0) {
    OPENSSL_free(cfg);
    return NULL;
  }
  if (role == TERN_SERVER) {
    /* A ticket key of our own, until the application sets a shared one. */
    uint8_t name[TERN_TICKET_KEY_NAME_LEN], key[TERN_TICKET_KEY_LEN];
    cfg->n_tickets = 2;
    cfg->ticket_lifetime = 7200;
    cfg->ticket_keys = tern_ticket_keys_new();
    if (cfg->ticket_keys == NULL || RAND_bytes(name, sizeof name) != 1 ||
        RAND_priv_bytes(key, sizeof key) != 1 ||
        tern_ticket_keys_rotate(cfg->ticket_keys, name, key) != TERN_OK) {
      OPENSSL_cleanse(key, sizeof key);
      cfg->refs = 1;
      tern_config_free(cfg);
      return NULL;
    }
    OPENSSL_cleanse(key, sizeof key);
  }
  return cfg;
}

/* tern_config_free: see tern.h. */
void tern_config_free(tern_config *cfg) {
  if (cfg == NULL || !tern_config_release_ref(cfg)) return;
  tern_cert_chain_free(cfg->chain);
  for (size_t i = 0; i < cfg->n_more_chains; i++) tern_cert_chain_free(cfg->more_chains[i]);
  tern_trust_free(cfg->trust);
  OPENSSL_free(cfg->ca_names);
  tern_ticket_keys_free(cfg->ticket_keys);
  tern_strike_free(cfg->strike);
  tern_strike_free(cfg->psk_strike);
  OPENSSL_cleanse(cfg->psks, sizeof cfg->psks);
  tern_config_ech_free(cfg);
  pthread_mutex_destroy(&cfg->strike_lock);
  OPENSSL_clear_free(cfg, sizeof *cfg);
}

/* Copies a list of IANA codes after checking each with `known`. */
static int set_codes(uint16_t *dst, size_t *n_dst, size_t cap,
                     const uint16_t *src, size_t n, int (*known)(uint16_t)) {
  if (src == NULL || n == 0 || n > cap) return TERN_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++) {
    if (!known(src[i])) return TERN_ERR_UNSUPPORTED;
    for (size_t j = 0; j < i; j++)
      if (src[j] == src[i]) return TERN_ERR_INVALID_ARG;
  }
  memcpy(dst, src, n * sizeof *src);
  *n_dst = n;
  return TERN_OK;
}

static int suite_known(uint16_t id) { return tern_suite_get(id) != NULL; }
static int group_known(uint16_t id) { return tern_group_get(id) != NULL; }
static int sig_known(uint16_t id) { return tern_sig_get(id) != NULL; }

int tern_config_set_cipher_suites(tern_config *cfg, const uint16_t *suites, size_t n) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  return set_codes(cfg->suites, &cfg->n_suites, TERN_MAX_SUITES, suites, n, suite_known);
}

int tern_config_set_groups(tern_config *cfg, const uint16_t *groups, size_t n) {
  int rc;
  size_t i, k = 0;
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  rc = set_codes(cfg->groups, &cfg->n_groups, TERN_MAX_GROUPS, groups, n, group_known);
  if (rc != TERN_OK) return rc;
  /* keep only the share groups still supported; default to the first */
  for (i = 0; i < cfg->n_share_groups; i++)
    for (size_t j = 0; j < cfg->n_groups; j++)
      if (cfg->groups[j] == cfg->share_groups[i]) cfg->share_groups[k++] = cfg->share_groups[i];
  if (k == 0) cfg->share_groups[k++] = cfg->groups[0];
  cfg->n_share_groups = k;
  return TERN_OK;
}

/* tern_config_set_pq_required: see tern.h. */
int tern_config_set_pq_required(tern_config *cfg, int on) {
  int any = 0;
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  for (size_t i = 0; i < cfg->n_groups; i++) any |= tern_group_is_pq(tern_group_get(cfg->groups[i]));
  if (on && !any) return TERN_ERR_STATE;
  cfg->pq_required = on != 0;
  return TERN_OK;
}

int tern_config_set_key_share_groups(tern_config *cfg, const uint16_t *groups, size_t n) {
  if (cfg == NULL || groups == NULL || n == 0 || n > TERN_MAX_SHARES)
    return TERN_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++) {
    int found = 0;
    for (size_t j = 0; j < cfg->n_groups; j++) found |= cfg->groups[j] == groups[i];
    if (!found) return TERN_ERR_UNSUPPORTED;
  }
  return set_codes(cfg->share_groups, &cfg->n_share_groups, TERN_MAX_SHARES, groups, n,
                   group_known);
}

int tern_config_set_signature_schemes(tern_config *cfg, const uint16_t *schemes, size_t n) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  return set_codes(cfg->sigs, &cfg->n_sigs, TERN_MAX_SIGS, schemes, n, sig_known);
}

int tern_config_set_alpn(tern_config *cfg, const char *const *protocols, size_t n) {
  size_t len = 0;
  if (cfg == NULL || (protocols == NULL && n)) return TERN_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++) {
    size_t l = protocols[i] ? strlen(protocols[i]) : 0;
    if (l == 0 || l > 255) return TERN_ERR_INVALID_ARG;
    if (len + 1 + l > sizeof cfg->alpn) return TERN_ERR_LIMIT;
    cfg->alpn[len++] = (uint8_t)l;
    memcpy(cfg->alpn + len, protocols[i], l);
    len += l;
  }
  cfg->alpn_len = len;
  return TERN_OK;
}

/* Compresses chain once for each of cfg's certificate compression
   algorithms (RFC 8879), so no connection compresses it again. */
static int prepare_compressed(const tern_config *cfg, tern_cert_chain *chain) {
  int rc = TERN_OK;
  for (size_t i = 0; chain != NULL && rc == TERN_OK && i < cfg->n_cert_comp; i++)
    rc = tern_certcomp_prepare(chain, cfg->cert_comp[i]);
  return rc;
}

/* Makes cfg's chain `chain` (freeing the one before), compressed first. */
static int take_chain(tern_config *cfg, tern_cert_chain *chain) {
  int rc = prepare_compressed(cfg, chain);
  if (rc != TERN_OK) {
    tern_cert_chain_free(chain);
    return rc;
  }
  tern_cert_chain_free(cfg->chain);
  cfg->chain = chain;
  return TERN_OK;
}

int tern_cert_compression_available(uint16_t alg) { return tern_certcomp_available(alg); }

int tern_config_set_cert_compression(tern_config *cfg, const uint16_t *algs, size_t n) {
  int rc = TERN_OK;
  if (cfg == NULL || (algs == NULL && n > 0) || n > 3) return TERN_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < i; j++)
      if (algs[j] == algs[i]) return TERN_ERR_INVALID_ARG;
    if (!tern_certcomp_available(algs[i])) return TERN_ERR_UNSUPPORTED;
  }
  if (n) memcpy(cfg->cert_comp, algs, n * sizeof algs[0]);
  cfg->n_cert_comp = n;
  rc = prepare_compressed(cfg, cfg->chain);
  for (size_t i = 0; rc == TERN_OK && i < cfg->n_more_chains; i++)
    rc = prepare_compressed(cfg, cfg->more_chains[i]);
  if (rc != TERN_OK) cfg->n_cert_comp = 0;
  return rc;
}

int tern_config_load_cert_files(tern_config *cfg, const char *chain_pem, const char *key_pem) {
  tern_cert_chain *chain = NULL;
  int rc;
  if (cfg == NULL || chain_pem == NULL || key_pem == NULL) return TERN_ERR_INVALID_ARG;
  rc = tern_cert_chain_load_files(&chain, chain_pem, key_pem);
  if (rc != TERN_OK) return rc;
  return take_chain(cfg, chain);
}

int tern_config_set_cert(tern_config *cfg, struct x509_st *leaf, struct stack_st_X509 *chain,
                         struct evp_pkey_st *key) {
  tern_cert_chain *c = NULL;
  int rc;
  if (cfg == NULL || leaf == NULL || key == NULL) return TERN_ERR_INVALID_ARG;
  rc = tern_cert_chain_from_objects(&c, leaf, chain, key);
  if (rc != TERN_OK) return rc;
  return take_chain(cfg, c);
}

int tern_config_add_cert(tern_config *cfg, struct x509_st *leaf, struct stack_st_X509 *chain,
                         struct evp_pkey_st *key) {
  tern_cert_chain *c = NULL;
  int rc;
  if (cfg == NULL || leaf == NULL || key == NULL || cfg->role != TERN_SERVER)
    return TERN_ERR_INVALID_ARG;
  if (cfg->chain == NULL) return tern_config_set_cert(cfg, leaf, chain, key);
  if (cfg->n_more_chains >= TERN_MAX_CHAINS - 1) return TERN_ERR_LIMIT;
  rc = tern_cert_chain_from_objects(&c, leaf, chain, key);
  if (rc == TERN_OK) rc = prepare_compressed(cfg, c);
  if (rc != TERN_OK) {
    tern_cert_chain_free(c);
    return rc;
  }
  cfg->more_chains[cfg->n_more_chains++] = c;
  return TERN_OK;
}

/* Codes a signature_algorithms_cert list may hold: ours, plus
   rsa_pkcs1_sha256/384/512, which certificates (only) may be signed with. */
static int cert_sig_known(uint16_t id) {
  return tern_sig_get(id) != NULL || id == 0x0401 || id == 0x0501 || id == 0x0601;
}

int tern_config_set_signature_schemes_cert(tern_config *cfg, const uint16_t *schemes, size_t n) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  if (n == 0) {
    cfg->n_sigs_cert = 0;
    return TERN_OK;
  }
  return set_codes(cfg->sigs_cert, &cfg->n_sigs_cert, TERN_MAX_SIGS, schemes, n, cert_sig_known);
}

int tern_config_load_trust(tern_config *cfg, const char *ca_file, const char *ca_dir) {
  if (cfg == NULL || (ca_file == NULL && ca_dir == NULL)) return TERN_ERR_INVALID_ARG;
  if (cfg->trust == NULL) {
    int rc = tern_trust_new(&cfg->trust);
    if (rc != TERN_OK) return rc;
  }
  return tern_trust_load(cfg->trust, ca_file, ca_dir);
}

int tern_config_set_trust_store(tern_config *cfg, struct x509_store_st *store) {
  tern_trust *t = NULL;
  int rc;
  if (cfg == NULL || store == NULL) return TERN_ERR_INVALID_ARG;
  rc = tern_trust_from_store(&t, store);
  if (rc != TERN_OK) return rc;
  tern_trust_free(cfg->trust);
  cfg->trust = t;
  return TERN_OK;
}

int tern_config_set_verify_peer(tern_config *cfg, int on) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  cfg->verify_peer = on != 0;
  return TERN_OK;
}

int tern_config_set_verify_name(tern_config *cfg, int on) {
  if (cfg == NULL || cfg->role != TERN_CLIENT) return TERN_ERR_INVALID_ARG;
  cfg->verify_name = on != 0;
  return TERN_OK;
}

int tern_config_set_client_auth(tern_config *cfg, tern_client_auth mode, int send_ca_names) {
  uint8_t *names = NULL;
  size_t len = 0;
  if (cfg == NULL || cfg->role != TERN_SERVER || (unsigned)mode > TERN_CLIENT_AUTH_REQUIRED)
    return TERN_ERR_INVALID_ARG;
  /* with mode NONE the names still go into post-handshake requests */
  if (send_ca_names) {
    int rc;
    if (cfg->trust == NULL) return TERN_ERR_STATE;
    rc = tern_trust_ca_names(cfg->trust, &names, &len);
    if (rc == TERN_ERR_LIMIT) return TERN_ERR_STATE;
    if (rc != TERN_OK) return rc;
  }
  OPENSSL_free(cfg->ca_names);
  cfg->ca_names = names;
  cfg->ca_names_len = len;
  cfg->client_auth = mode;
  if (mode != TERN_CLIENT_AUTH_NONE) cfg->verify_peer = 1;
  return TERN_OK;
}

int tern_config_set_verify_callback(tern_config *cfg, tern_verify_fn fn, void *user) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  cfg->verify_fn = fn;
  cfg->verify_user = user;
  return TERN_OK;
}

int tern_config_set_server_name_callback(tern_config *cfg, tern_server_name_fn fn, void *user) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  cfg->sni_fn = fn;
  cfg->sni_user = user;
  return TERN_OK;
}

int tern_config_set_keylog(tern_config *cfg, tern_keylog_fn fn, void *user) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  cfg->keylog_fn = fn;
  cfg->keylog_user = user;
  return TERN_OK;
}

int tern_config_set_random(tern_config *cfg, tern_random_fn fn, void *ctx) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  cfg->random_fn = fn;
  cfg->random_ctx = ctx;
  return TERN_OK;
}

int tern_config_set_max_message_size(tern_config *cfg, size_t max) {
  if (cfg == NULL || max < 1024 || max > (1u << 24) - 1 + 4) return TERN_ERR_INVALID_ARG;
  cfg->max_message = max;
  return TERN_OK;
}

/* ---- resumption and 0-RTT ---- */

int tern_config_set_clock(tern_config *cfg, tern_clock_fn fn, void *user) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  cfg->clock_fn = fn;
  cfg->clock_user = user;
  return TERN_OK;
}

int tern_config_set_tickets(tern_config *cfg, unsigned count, uint32_t lifetime_s) {
  if (cfg == NULL || cfg->role != TERN_SERVER || count > MAX_TICKETS_AT_ONCE ||
      lifetime_s == 0 || lifetime_s > TERN_TICKET_MAX_LIFETIME)
    return TERN_ERR_INVALID_ARG;
  cfg->n_tickets = count;
  cfg->ticket_lifetime = lifetime_s;
  return TERN_OK;
}

int tern_config_set_ticket_key(tern_config *cfg, const uint8_t name[16], const uint8_t key[32]) {
  if (cfg == NULL || cfg->role != TERN_SERVER || cfg->ticket_keys == NULL || name == NULL ||
      key == NULL)
    return TERN_ERR_INVALID_ARG;
  return tern_ticket_keys_rotate(cfg->ticket_keys, name, key);
}

int tern_config_set_early_data(tern_config *cfg, uint32_t max_early_data, uint32_t window_ms) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  cfg->max_early_data = max_early_data;
  cfg->early_window_ms = window_ms;
  return TERN_OK;
}

int tern_config_set_early_data_callback(tern_config *cfg, tern_early_data_fn fn, void *user) {
  if (cfg == NULL || cfg->role != TERN_SERVER) return TERN_ERR_INVALID_ARG;
  cfg->early_fn = fn;
  cfg->early_user = user;
  return TERN_OK;
}

int tern_config_set_replay_store(tern_config *cfg, size_t capacity, tern_replay_fn fn,
                                 void *user) {
  if (cfg == NULL || cfg->role != TERN_SERVER || (fn == NULL && capacity == 0))
    return TERN_ERR_INVALID_ARG;
  pthread_mutex_lock(&cfg->strike_lock);
  tern_strike_free(cfg->strike);
  cfg->strike = NULL;
  cfg->strike_capacity = capacity ? capacity : DEFAULT_STRIKE_CAPACITY;
  cfg->replay_fn = fn;
  cfg->replay_user = user;
  pthread_mutex_unlock(&cfg->strike_lock);
  return TERN_OK;
}

int tern_config_set_ticket_store(tern_config *cfg, tern_ticket_issued_fn issued,
                                 tern_ticket_fetch_fn fetch, void *user) {
  if (cfg == NULL || cfg->role != TERN_SERVER || (issued == NULL) != (fetch == NULL))
    return TERN_ERR_INVALID_ARG;
  cfg->ticket_issued_fn = issued;
  cfg->ticket_fetch_fn = fetch;
  cfg->ticket_store_user = user;
  return TERN_OK;
}

int tern_config_set_psk_ke(tern_config *cfg, int on) {
  if (cfg == NULL) return TERN_ERR_INVALID_ARG;
  cfg->psk_ke = on != 0;
  return TERN_OK;
}

/* ---- external PSKs ---- */

/* The external PSK of this identity, or NULL. */
static tern_external_psk *find_psk(tern_config *cfg, const uint8_t *identity, size_t len) {
  for (size_t i = 0; i < cfg->n_psks; i++)
    if (cfg->psks[i].identity_len == len && memcmp(cfg->psks[i].identity, identity, len) == 0)
      return &cfg->psks[i];
  return NULL;
}

int tern_config_add_psk(tern_config *cfg, const uint8_t *identity, size_t identity_len,
                        const uint8_t *key, size_t key_len, tern_psk_hash hash) {
  tern_external_psk *p;
  if (cfg == NULL || identity == NULL || key == NULL || identity_len == 0 ||
      identity_len > TERN_PSK_MAX_IDENTITY || key_len < TERN_PSK_MIN_KEY ||
      key_len > TERN_PSK_MAX_KEY || (hash != TERN_PSK_SHA256 && hash != TERN_PSK_SHA384))
    return TERN_ERR_INVALID_ARG;
  if (find_psk(cfg, identity, identity_len) != NULL) return TERN_ERR_INVALID_ARG;
  if (cfg->n_psks >= TERN_MAX_PSKS) return TERN_ERR_LIMIT;
  p = &cfg->psks[cfg->n_psks];
  memset(p, 0, sizeof *p);
  memcpy(p->identity, identity, identity_len);
  p->identity_len = identity_len;
  memcpy(p->key, key, key_len);
  p->key_len = key_len;
  p->hash = tern_hash_get(hash == TERN_PSK_SHA384 ? TERN_HASH_SHA384 : TERN_HASH_SHA256);
  cfg->n_psks++;
  return TERN_OK;
}

int tern_config_set_psk_early_data(tern_config *cfg, const uint8_t *identity, size_t identity_len,
                                   uint16_t suite, const char *alpn, uint32_t max_early_data) {
  tern_external_psk *p;
  const tern_suite *s;
  size_t alpn_len = alpn ? strlen(alpn) : 0;
  if (cfg == NULL || identity == NULL) return TERN_ERR_INVALID_ARG;
  if ((p = find_psk(cfg, identity, identity_len)) == NULL) return TERN_ERR_INVALID_ARG;
  if (max_early_data == 0) {
    p->max_early_data = 0;
    return TERN_OK;
  }
  if ((s = tern_suite_get(suite)) == NULL) return TERN_ERR_UNSUPPORTED;
  if (s->hash != p->hash || (alpn != NULL && (alpn_len == 0 || alpn_len > 255)))
    return TERN_ERR_INVALID_ARG;
  p->early_suite = suite;
  memcpy(p->early_alpn, alpn ? alpn : "", alpn_len + 1);
  p->max_early_data = max_early_data;
  return TERN_OK;
}

int tern_config_set_new_session_callback(tern_config *cfg, tern_new_session_fn fn, void *user) {
  if (cfg == NULL || cfg->role != TERN_CLIENT) return TERN_ERR_INVALID_ARG;
  cfg->session_fn = fn;
  cfg->session_user = user;
  return TERN_OK;
}

/* ---- TLS over TCP ---- */

int tern_config_set_post_handshake_auth(tern_config *cfg, int on) {
  if (cfg == NULL || cfg->role != TERN_CLIENT) return TERN_ERR_INVALID_ARG;
  cfg->post_handshake_auth = on != 0;
  return TERN_OK;
}

int tern_config_set_record_padding(tern_config *cfg, size_t block) {
  if (cfg == NULL || block > TERN_RECORD_MAX_PLAINTEXT) return TERN_ERR_INVALID_ARG;
  cfg->record_padding = block;
  return TERN_OK;
}
