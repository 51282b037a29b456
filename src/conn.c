/*
 * conn.c - configurations, connections and the event dispatcher.
 *
 * Bytes in -> per-level buffers -> one whole handshake message at a time
 * (4-byte header, size cap) -> the role's classifier picks the event
 * symbol -> the role's Ragel machine runs the action -> the events the
 * action queued (our own messages) run through the machine in turn.
 * A message the machine has no transition for is unexpected_message,
 * decided by the generated code. Failures are sticky.
 */
#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "handshake.h"
#include "resume.h"
#include "tls.h"
#include "role.h"
#include "sig.h"

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

static const uint16_t default_suites[] = {
    TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_CHACHA20_POLY1305_SHA256,
    TERN_TLS_AES_256_GCM_SHA384};
static const uint16_t default_groups[] = {
    TERN_GROUP_X25519, TERN_GROUP_SECP256R1, TERN_GROUP_X448,
    TERN_GROUP_SECP384R1, TERN_GROUP_SECP521R1};
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
  cfg = calloc(1, sizeof *cfg);
  if (cfg == NULL) return NULL;
  cfg->refs = 1;
  cfg->role = role;
  memcpy(cfg->suites, default_suites, sizeof default_suites);
  cfg->n_suites = sizeof default_suites / sizeof default_suites[0];
  memcpy(cfg->groups, default_groups, sizeof default_groups);
  cfg->n_groups = sizeof default_groups / sizeof default_groups[0];
  cfg->share_groups[0] = TERN_GROUP_X25519;
  cfg->n_share_groups = 1;
  memcpy(cfg->sigs, default_sigs, sizeof default_sigs);
  cfg->n_sigs = sizeof default_sigs / sizeof default_sigs[0];
  cfg->verify_peer = role == TERN_CLIENT;
  cfg->max_message = 65536;
  cfg->early_window_ms = 10000;
  cfg->strike_capacity = 16384;
  if (pthread_mutex_init(&cfg->strike_lock, NULL) != 0) {
    free(cfg);
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
  if (cfg == NULL || --cfg->refs > 0) return;
  tern_cert_chain_free(cfg->chain);
  for (size_t i = 0; i < cfg->n_more_chains; i++) tern_cert_chain_free(cfg->more_chains[i]);
  tern_trust_free(cfg->trust);
  OPENSSL_free(cfg->ca_names);
  tern_ticket_keys_free(cfg->ticket_keys);
  tern_strike_free(cfg->strike);
  pthread_mutex_destroy(&cfg->strike_lock);
  OPENSSL_cleanse(cfg, sizeof *cfg);
  free(cfg);
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

int tern_config_load_cert_files(tern_config *cfg, const char *chain_pem, const char *key_pem) {
  tern_cert_chain *chain = NULL;
  int rc;
  if (cfg == NULL || chain_pem == NULL || key_pem == NULL) return TERN_ERR_INVALID_ARG;
  rc = tern_cert_chain_load_files(&chain, chain_pem, key_pem);
  if (rc != TERN_OK) return rc;
  tern_cert_chain_free(cfg->chain);
  cfg->chain = chain;
  return TERN_OK;
}

int tern_config_set_cert(tern_config *cfg, struct x509_st *leaf, struct stack_st_X509 *chain,
                         struct evp_pkey_st *key) {
  tern_cert_chain *c = NULL;
  int rc;
  if (cfg == NULL || leaf == NULL || key == NULL) return TERN_ERR_INVALID_ARG;
  rc = tern_cert_chain_from_objects(&c, leaf, chain, key);
  if (rc != TERN_OK) return rc;
  tern_cert_chain_free(cfg->chain);
  cfg->chain = c;
  return TERN_OK;
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
  if (rc != TERN_OK) return rc;
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

int tern_config_set_client_auth(tern_config *cfg, tern_client_auth mode, int send_ca_names) {
  uint8_t *names = NULL;
  size_t len = 0;
  if (cfg == NULL || cfg->role != TERN_SERVER || (unsigned)mode > TERN_CLIENT_AUTH_REQUIRED)
    return TERN_ERR_INVALID_ARG;
  if (send_ca_names && mode != TERN_CLIENT_AUTH_NONE) {
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

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

tern_conn *tern_conn_new_quic(tern_config *cfg, const tern_quic_callbacks *cb, void *user) {
  tern_conn *c;
  if (cfg == NULL || cb == NULL || cb->set_secret == NULL || cb->send_data == NULL)
    return NULL;
  c = tern_conn_alloc(cfg, user);
  if (c == NULL) return NULL;
  c->quic = 1;
  c->qcb = cb;
  return c;
}

tern_conn *tern_conn_alloc(tern_config *cfg, void *user) {
  tern_conn *c;
  if (cfg == NULL) return NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  cfg->refs++;
  c->cfg = cfg;
  c->role = cfg->role;
  c->user = user;
  c->cs = c->role == TERN_CLIENT ? tern_client_machine_start() : tern_server_machine_start();
  c->read_level = TERN_LEVEL_INITIAL;
  c->write_level = TERN_LEVEL_INITIAL;
  c->own_chain = cfg->chain;
  /* the early-data context is empty until the application sets one */
  memcpy(c->early_ctx, tern_hash_get(TERN_HASH_SHA256)->empty_hash, sizeof c->early_ctx);
  return c;
}

void *tern_conn_user(const tern_conn *c) { return c ? c->user : NULL; }

int tern_conn_set_config(tern_conn *c, tern_config *cfg) {
  if (c == NULL || cfg == NULL || cfg->role != c->role) return TERN_ERR_INVALID_ARG;
  if (c->role != TERN_SERVER || c->done) return TERN_ERR_STATE;
  cfg->refs++;
  tern_config_free(c->cfg);
  c->cfg = cfg;
  c->own_chain = cfg->chain;
  return TERN_OK;
}

int tern_conn_set_server_name(tern_conn *c, const char *name) {
  size_t n;
  if (c == NULL || name == NULL) return TERN_ERR_INVALID_ARG;
  if (c->role != TERN_CLIENT || c->started) return TERN_ERR_STATE;
  n = strlen(name);
  if (n == 0 || n >= sizeof c->server_name) return TERN_ERR_INVALID_ARG;
  memcpy(c->server_name, name, n + 1);
  return TERN_OK;
}

int tern_quic_set_transport_params(tern_conn *c, const uint8_t *p, size_t n) {
  uint8_t *copy;
  if (c == NULL || (p == NULL && n) || !c->quic) return TERN_ERR_INVALID_ARG;
  if (n > TERN_MAX_TP) return TERN_ERR_LIMIT;
  if (c->role == TERN_CLIENT ? c->started : c->in[TERN_LEVEL_INITIAL].len > 0)
    return TERN_ERR_STATE;
  copy = malloc(n ? n : 1);
  if (copy == NULL) return TERN_ERR_NOMEM;
  if (n) memcpy(copy, p, n);
  free(c->tp);
  c->tp = copy;
  c->tp_len = n;
  c->tp_set = 1;
  return TERN_OK;
}

int tern_quic_peer_transport_params(const tern_conn *c, const uint8_t **p, size_t *n) {
  if (c == NULL || p == NULL || n == NULL) return TERN_ERR_INVALID_ARG;
  if (!c->peer_tp_seen) return TERN_ERR_STATE;
  *p = c->peer_tp;
  *n = c->peer_tp_len;
  return TERN_OK;
}

static void inbuf_free(tern_inbuf *b) {
  if (b->buf) OPENSSL_clear_free(b->buf, b->cap);
  memset(b, 0, sizeof *b);
}

void tern_conn_free(tern_conn *c) {
  if (c == NULL) return;
  for (int i = 0; i < 4; i++) inbuf_free(&c->in[i]);
  for (size_t i = 0; i < c->n_shares; i++) tern_key_share_free(&c->shares[i]);
  tern_transcript_free(&c->transcript);
  if (c->pha_active) tern_transcript_free(&c->hs_transcript);
  tern_keysched_wipe(&c->ks);
  EVP_PKEY_free(c->peer_key);
  OPENSSL_free(c->peer_leaf);
  OPENSSL_free(c->pha_leaf);
  free(c->tp);
  OPENSSL_free(c->peer_tp);
  if (c->ch1) OPENSSL_clear_free(c->ch1, c->ch1_len);
  tern_resume_conn_free(c);
  tern_tls_free(c->tls);
  tern_config_free(c->cfg);
  OPENSSL_cleanse(c, sizeof *c);
  free(c);
}

/* ------------------------------------------------------------------ */
/* Helpers for the actions                                             */
/* ------------------------------------------------------------------ */

int tern_conn_fail(tern_conn *c, uint8_t alert, const char *fmt, ...) {
  va_list ap;
  if (c->error) return TERN_ERR_ALERT; /* the first failure wins */
  c->error = TERN_ERR_ALERT;
  c->alert = alert;
  va_start(ap, fmt);
  vsnprintf(c->detail, sizeof c->detail, fmt, ap);
  va_end(ap);
  return TERN_ERR_ALERT;
}

int tern_conn_push_event(tern_conn *c, unsigned char ev) {
  if (c->n_pending >= TERN_PENDING_EVENTS)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "event queue overflow");
  c->pending[c->n_pending++] = ev;
  return TERN_OK;
}

int tern_conn_random(tern_conn *c, uint8_t *out, size_t len) {
  if (c->cfg->random_fn) {
    if (c->cfg->random_fn(c->cfg->random_ctx, out, len) != 0)
      return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "random source failed");
    return TERN_OK;
  }
  if (RAND_bytes(out, (int)len) != 1)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "RAND_bytes failed");
  return TERN_OK;
}

int tern_conn_transcript_add(tern_conn *c, const uint8_t *msg, size_t len) {
  if (tern_transcript_update(&c->transcript, msg, len) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "transcript hash failed");
  return TERN_OK;
}

int tern_conn_send_msg(tern_conn *c, const uint8_t *msg, size_t len) {
  int rc;
  /* after the handshake only a post-handshake authentication is hashed */
  if (c->transcript_ready && (!c->done || c->pha_active) &&
      (rc = tern_conn_transcript_add(c, msg, len)) != TERN_OK)
    return rc;
  if (c->qcb != NULL) {
    if (c->qcb->send_data(c, c->write_level, msg, len) != 0)
      return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "send_data callback failed");
    return TERN_OK;
  }
  if (c->tls != NULL) return tern_tls_send_handshake(c, msg, len);
  return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "a connection with no transport");
}

void tern_conn_keylog(tern_conn *c, const char *label, const uint8_t *secret, size_t len) {
  /* "LABEL <64 hex client_random> <hex secret>" */
  char line[64 + 1 + 64 + 1 + 2 * TERN_MAX_HASH_LEN + 1];
  size_t n;
  static const char hexd[] = "0123456789abcdef";
  if (c->cfg->keylog_fn == NULL || label == NULL) return;
  n = (size_t)snprintf(line, sizeof line, "%s ", label);
  if (n >= 64) return;
  for (size_t i = 0; i < 32; i++) {
    line[n++] = hexd[c->client_random[i] >> 4];
    line[n++] = hexd[c->client_random[i] & 15];
  }
  line[n++] = ' ';
  for (size_t i = 0; i < len; i++) {
    line[n++] = hexd[secret[i] >> 4];
    line[n++] = hexd[secret[i] & 15];
  }
  line[n] = 0;
  c->cfg->keylog_fn(c, line, c->cfg->keylog_user);
  OPENSSL_cleanse(line, sizeof line);
}

int tern_conn_install_secret(tern_conn *c, tern_level level, tern_direction dir,
                             const uint8_t *secret, const char *keylog_label) {
  /* 0-RTT secrets may come before the suite is negotiated (client). */
  const tern_suite *s = level == TERN_LEVEL_EARLY ? c->early_suite : c->suite;
  tern_conn_keylog(c, keylog_label, secret, s->hash->len);
  if (c->qcb != NULL && c->qcb->set_secret(c, level, dir, s->id, secret, s->hash->len) != 0)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "set_secret callback refused a secret");
  if (c->tls != NULL && tern_tls_install(c, level, dir, secret) != TERN_OK) return c->error;
  /* handshake messages never travel under 0-RTT keys in QUIC */
  if (dir == TERN_WRITE && level > c->write_level && level != TERN_LEVEL_EARLY)
    c->write_level = level;
  return TERN_OK;
}

int tern_conn_set_read_level(tern_conn *c, tern_level level) {
  tern_inbuf *old = &c->in[c->read_level];
  if (level < c->read_level)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "read level moved backwards");
  /* RFC 8446 §5.1 / RFC 9001 §4.1.3: no message may span a key change */
  if (level != c->read_level && old->len > old->off)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "handshake data left at a level whose keys changed");
  if (level != c->read_level) inbuf_free(old);
  c->read_level = level;
  return TERN_OK;
}

/* ------------------------------------------------------------------ */
/* Input and dispatch                                                  */
/* ------------------------------------------------------------------ */

int tern_quic_provide_data(tern_conn *c, tern_level level, const uint8_t *data, size_t len) {
  if (c == NULL || (data == NULL && len) || c->qcb == NULL || (unsigned)level > TERN_LEVEL_APPLICATION)
    return TERN_ERR_INVALID_ARG;
  if (c->error) return c->error;
  if (len == 0) return TERN_OK;
  /* CRYPTO frames never travel in 0-RTT packets (RFC 9001 §4.1.4), and a
     level we have left takes no more handshake bytes. */
  if (level == TERN_LEVEL_EARLY ? c->quic : level < c->read_level)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "handshake data at an unexpected encryption level");
  /* testhook.h plain-TLS mode: EndOfEarlyData arrives under 0-RTT keys */
  c->early_input = level == TERN_LEVEL_EARLY;
  if (level == TERN_LEVEL_EARLY) level = c->read_level;
  return tern_conn_buffer_input(c, level, data, len);
}

int tern_conn_buffer_input(tern_conn *c, tern_level level, const uint8_t *data, size_t len) {
  tern_inbuf *b = &c->in[level];
  if (b->off > 0 && b->off == b->len) b->off = b->len = 0;
  if (len > c->cfg->max_message + 4 || b->len - b->off + len > 2 * (c->cfg->max_message + 4))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER, "too much buffered handshake data");
  if (b->len + len > b->cap) {
    size_t need = b->len - b->off + len, cap = b->cap ? b->cap : 512;
    while (cap < need) cap *= 2;
    uint8_t *nb = malloc(cap);
    if (nb == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
    if (b->buf) {
      memcpy(nb, b->buf + b->off, b->len - b->off);
      OPENSSL_clear_free(b->buf, b->cap);
    }
    b->buf = nb;
    b->len -= b->off;
    b->off = 0;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, data, len);
  b->len += len;
  return TERN_OK;
}

const char *tern_event_name(unsigned char ev) {
  static const char *const names[TERN_EV_MAX + 1] = {
      "?", "sent ClientHello", "ClientHello", "sent HelloRetryRequest",
      "HelloRetryRequest", "sent ServerHello", "ServerHello", "sent ServerHello (PSK)",
      "ServerHello (PSK)", "sent EncryptedExtensions", "EncryptedExtensions",
      "sent EncryptedExtensions (early data)", "EncryptedExtensions (early data)",
      "sent CertificateRequest", "CertificateRequest", "sent Certificate", "Certificate",
      "sent empty Certificate", "empty Certificate", "sent CertificateVerify",
      "CertificateVerify", "sent Finished", "Finished", "sent EndOfEarlyData",
      "EndOfEarlyData", "sent NewSessionTicket", "NewSessionTicket", "sent KeyUpdate",
      "KeyUpdate"};
  return ev <= TERN_EV_MAX ? names[ev] : "?";
}

/* Feeds one event to the role's machine; no transition: unexpected_message. */
static int feed(tern_conn *c, unsigned char ev) {
  int rc = c->role == TERN_CLIENT ? tern_client_machine_feed(&c->cs, ev, c)
                                  : tern_server_machine_feed(&c->cs, ev, c);
  if (rc == TERN_ERR_STATE && !c->error)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE, "%s not expected here",
                          tern_event_name(ev));
  if (rc != TERN_OK && !c->error)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "%s failed: %s",
                          tern_event_name(ev), tern_strerror(rc));
  return rc;
}

/* Runs the events the last action queued (our own messages), in order. */
int tern_conn_run_pending(tern_conn *c) {
  size_t i = 0;
  int rc = TERN_OK;
  while (rc == TERN_OK && i < c->n_pending) rc = feed(c, c->pending[i++]);
  c->n_pending = 0;
  return rc;
}

/* Handles every whole message buffered at the current read level. */
int tern_conn_process(tern_conn *c) {
  tern_parsed parsed;
  for (;;) {
    tern_inbuf *b = &c->in[c->read_level];
    size_t avail = b->len - b->off, body_len;
    unsigned char ev;
    int rc;
    if (avail < 4) return TERN_WANT_READ;
    body_len = (size_t)b->buf[b->off + 1] << 16 | (size_t)b->buf[b->off + 2] << 8 |
               b->buf[b->off + 3];
    if (body_len + 4 > c->cfg->max_message)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                            "handshake message of %zu bytes exceeds the %zu-byte cap",
                            body_len + 4, c->cfg->max_message);
    if (avail < 4 + body_len) return TERN_WANT_READ;
    c->msg = b->buf + b->off;
    c->msg_len = 4 + body_len;
    c->parsed = &parsed;
    b->off += c->msg_len;
    rc = c->role == TERN_CLIENT ? tern_client_classify(c, &ev) : tern_server_classify(c, &ev);
    if (rc == TERN_OK) rc = feed(c, ev);
    if (rc == TERN_OK) rc = tern_conn_run_pending(c);
    c->msg = NULL;
    c->msg_len = 0;
    c->parsed = NULL;
    if (rc != TERN_OK) return rc;
    if (b->off == b->len && b == &c->in[c->read_level]) b->off = b->len = 0;
  }
}

int tern_handshake(tern_conn *c) {
  int rc;
  if (c == NULL) return TERN_ERR_INVALID_ARG;
  if (c->error) return c->error;
  if (!c->started) {
    c->started = 1;
    if (c->role == TERN_CLIENT) {
      rc = feed(c, TERN_EV_SEND_CH);
      if (rc == TERN_OK) rc = tern_conn_run_pending(c);
      if (rc != TERN_OK) {
        if (c->tls) tern_tls_send_failure_alert(c);
        return c->error ? c->error : rc;
      }
    }
  }
  rc = tern_conn_process(c);
  if (c->error) {
    if (c->tls) tern_tls_send_failure_alert(c);
    return c->error;
  }
  if (rc < 0) return rc;
  return c->done ? TERN_OK : TERN_WANT_READ;
}

int tern_conn_send_tickets(tern_conn *c, unsigned n) {
  uint64_t now;
  int rc;
  if (c == NULL || n == 0 || n > 10) return TERN_ERR_INVALID_ARG;
  if (c->error) return c->error;
  if (c->role != TERN_SERVER || !c->done || c->cfg->ticket_keys == NULL ||
      tern_conn_now(c, &now) != TERN_OK)
    return TERN_ERR_STATE;
  rc = tern_resume_server_queue_tickets(c, n);
  if (rc == TERN_OK) rc = tern_conn_run_pending(c);
  return c->error ? c->error : rc;
}

uint8_t tern_conn_alert(const tern_conn *c) { return c ? c->alert : 0; }
const char *tern_conn_error_detail(const tern_conn *c) { return c ? c->detail : ""; }
int tern_conn_handshake_done(const tern_conn *c) { return c ? c->done : 0; }
uint16_t tern_conn_cipher_suite(const tern_conn *c) {
  return c && c->suite ? c->suite->id : 0;
}
uint16_t tern_conn_group(const tern_conn *c) { return c ? c->group : 0; }
uint16_t tern_conn_signature_scheme(const tern_conn *c) { return c ? c->sig_scheme : 0; }
const char *tern_conn_alpn(const tern_conn *c) {
  return c && c->alpn[0] ? c->alpn : NULL;
}
const char *tern_conn_server_name(const tern_conn *c) {
  return c && c->server_name[0] ? c->server_name : NULL;
}
int tern_conn_used_hrr(const tern_conn *c) { return c ? c->used_hrr : 0; }

int tern_conn_peer_certificate(const tern_conn *c, const uint8_t **der, size_t *len) {
  if (c == NULL || der == NULL || len == NULL) return TERN_ERR_INVALID_ARG;
  if (c->peer_leaf == NULL) return TERN_ERR_STATE;
  *der = c->peer_leaf;
  *len = c->peer_leaf_len;
  return TERN_OK;
}
