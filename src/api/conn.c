/*
 * api/conn.c - API layer: making and freeing connections, driving the
 * handshake, and what a connection reports once it ran (tern_conn_*,
 * tern_handshake). A connection gets its role's machine from the engine
 * and its transport from the transport layer here; see tern.h.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "core/conn.h"
#include "engine/ech.h"
#include "engine/resume.h"
#include "engine/roles.h"
#include "transport/quic.h"
#include "transport/tls.h"

/* A connection of cfg's role, driven by that role's machine. */
static tern_conn *conn_new(tern_config *cfg, void *user) {
  if (cfg == NULL) return NULL;
  return tern_conn_alloc(cfg, cfg->role == TERN_CLIENT ? &tern_client_role : &tern_server_role,
                         user);
}

tern_conn *tern_conn_new_quic(tern_config *cfg, const tern_quic_callbacks *cb, void *user) {
  tern_conn *c;
  if (cfg == NULL || cb == NULL || cb->set_secret == NULL || cb->send_data == NULL)
    return NULL;
  c = conn_new(cfg, user);
  if (c != NULL) tern_quic_attach(c, cb);
  return c;
}

tern_conn *tern_conn_new_tls(tern_config *cfg, void *user) {
  tern_conn *c = conn_new(cfg, user);
  if (c != NULL && tern_tls_attach(c) != TERN_OK) {
    tern_conn_free(c);
    return NULL;
  }
  return c;
}

void tern_conn_free(tern_conn *c) {
  if (c == NULL) return;
  if (c->test != NULL && c->test->release != NULL) c->test->release(c);
  tern_conn_free_input(c);
  OPENSSL_free(c->peer_leaf);
  OPENSSL_free(c->peer_tp);
  tern_resume_conn_free(c);
  tern_conn_hs_free(c);
  tern_ech_conn_free(c);
  if (c->transport != NULL && c->transport->release != NULL) c->transport->release(c);
  tern_config_free(c->cfg);
  OPENSSL_free(c->detail);
  OPENSSL_clear_free(c, sizeof *c);
}

void *tern_conn_user(const tern_conn *c) { return c ? c->user : NULL; }

int tern_conn_set_config(tern_conn *c, tern_config *cfg) {
  if (c == NULL || cfg == NULL || cfg->role != c->role) return TERN_ERR_INVALID_ARG;
  if (c->role != TERN_SERVER || c->done) return TERN_ERR_STATE;
  tern_config_hold(cfg);
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
  if (n == 0 || n >= sizeof c->hs->server_name) return TERN_ERR_INVALID_ARG;
  memcpy(c->server_name, name, n + 1);
  return TERN_OK;
}

int tern_handshake(tern_conn *c) {
  int rc;
  if (c == NULL) return TERN_ERR_INVALID_ARG;
  if (c->error) return c->error;
  if (!c->started) {
    c->started = 1;
    if (c->role == TERN_CLIENT && (rc = tern_conn_run_event(c, TERN_EV_SEND_CH)) != TERN_OK) {
      tern_conn_report_failure(c);
      return c->error ? c->error : rc;
    }
  }
  rc = tern_conn_process(c);
  if (c->error) {
    tern_conn_report_failure(c);
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
const char *tern_conn_error_detail(const tern_conn *c) {
  if (c == NULL || !c->error) return "";
  return c->detail != NULL ? c->detail : "out of memory for the detail of the failure";
}
int tern_conn_handshake_done(const tern_conn *c) { return c ? c->done : 0; }
uint16_t tern_conn_cipher_suite(const tern_conn *c) {
  return c && c->suite ? c->suite->id : 0;
}
uint16_t tern_conn_group(const tern_conn *c) { return c ? c->group : 0; }

/* tern_conn_group_name: see tern.h. */
const char *tern_conn_group_name(const tern_conn *c) {
  return c != NULL && c->group != 0 ? tern_group_name(c->group) : NULL;
}
uint16_t tern_conn_signature_scheme(const tern_conn *c) { return c ? c->sig_scheme : 0; }
const char *tern_conn_alpn(const tern_conn *c) {
  return c && c->alpn[0] ? c->alpn : NULL;
}
const char *tern_conn_server_name(const tern_conn *c) {
  return c && c->server_name[0] ? c->server_name : NULL;
}
int tern_conn_used_hrr(const tern_conn *c) { return c ? c->used_hrr : 0; }

uint16_t tern_conn_cert_compression(const tern_conn *c, tern_direction dir) {
  if (c == NULL) return 0;
  return dir == TERN_READ ? c->cert_comp_recv : c->cert_comp_sent;
}

int tern_conn_peer_certificate(const tern_conn *c, const uint8_t **der, size_t *len) {
  if (c == NULL || der == NULL || len == NULL) return TERN_ERR_INVALID_ARG;
  if (c->peer_leaf == NULL) return TERN_ERR_STATE;
  *der = c->peer_leaf;
  *len = c->peer_leaf_len;
  return TERN_OK;
}
