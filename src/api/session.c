/*
 * api/session.c - API layer: the resumption side of a connection: the
 * time it runs at, the session a client offers, the early-data context a
 * server binds 0-RTT to, and what became of them (tern_conn_set_time,
 * tern_conn_set_session, tern_conn_set_early_data_context,
 * tern_conn_early_data_status, tern_conn_early_data_max, tern_conn_resumed,
 * tern_conn_psk_identity); see tern.h.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "core/conn.h"
#include "engine/resume.h"
#include "engine/ticket.h"

int tern_conn_set_time(tern_conn *c, uint64_t now_ms) {
  if (c == NULL) return TERN_ERR_INVALID_ARG;
  c->now_ms = now_ms;
  c->now_set = 1;
  return TERN_OK;
}

int tern_conn_set_session(tern_conn *c, const uint8_t *session, size_t len, uint64_t now_ms) {
  tern_session_state *st;
  const tern_suite *s;
  int rc;
  if (c == NULL || session == NULL || len == 0) return TERN_ERR_INVALID_ARG;
  if (c->role != TERN_CLIENT || c->started) return TERN_ERR_STATE;
  st = OPENSSL_malloc(sizeof *st);
  if (st == NULL) return TERN_ERR_NOMEM;
  rc = tern_session_decode(session, len, st);
  if (rc == TERN_OK && strcmp(st->server_name, c->server_name) != 0) rc = TERN_ERR_MISMATCH;
  /* a clock that went back a little: the ticket is brand new */
  if (rc == TERN_OK && now_ms < st->receive_time_ms) now_ms = st->receive_time_ms;
  if (rc == TERN_OK && now_ms - st->receive_time_ms >= (uint64_t)st->lifetime_s * 1000)
    rc = TERN_ERR_EXPIRED;
  s = rc == TERN_OK ? tern_suite_get(st->suite) : NULL;
  if (rc == TERN_OK && (s == NULL || !tern_conn_suite_usable(c, st->suite) ||
                        st->psk_len != s->hash->len))
    rc = TERN_ERR_UNSUPPORTED;
  if (rc != TERN_OK) {
    OPENSSL_clear_free(st, sizeof *st);
    return rc;
  }
  tern_resume_conn_free(c);
  c->hs->offer = st;
  c->hs->offer_age_ms = (uint32_t)(now_ms - st->receive_time_ms);
  c->hs->offer_early = c->cfg->max_early_data > 0 && st->max_early_data > 0;
  return TERN_OK;
}

int tern_conn_set_early_data_context(tern_conn *c, const uint8_t *ctx, size_t len) {
  const tern_hash *h = tern_hash_get(TERN_HASH_SHA256);
  if (c == NULL || (ctx == NULL && len)) return TERN_ERR_INVALID_ARG;
  if (c->role != TERN_SERVER || c->started || c->in[TERN_LEVEL_INITIAL].len > 0)
    return TERN_ERR_STATE;
  return tern_hash_data(h, ctx, len, c->early_ctx);
}

tern_early_data_status tern_conn_early_data_status(const tern_conn *c) {
  return c ? (tern_early_data_status)c->early_status : TERN_EARLY_DATA_NONE;
}

int tern_conn_resumed(const tern_conn *c) {
  return c && c->psk_mode != 0 && c->external_psk == 0;
}

int tern_conn_psk_identity(const tern_conn *c, const uint8_t **identity, size_t *len) {
  const tern_external_psk *p;
  if (c == NULL || identity == NULL || len == NULL) return TERN_ERR_INVALID_ARG;
  if (c->psk_mode == 0 || c->external_psk == 0) return TERN_ERR_STATE;
  p = &c->cfg->psks[c->external_psk - 1];
  *identity = p->identity;
  *len = p->identity_len;
  return TERN_OK;
}

uint32_t tern_conn_early_data_max(const tern_conn *c) {
  if (c == NULL || c->role != TERN_CLIENT) return 0;
  if (c->started) return c->early_max;
  if (c->hs->offer == NULL || !c->hs->offer_early) return 0;
  return c->hs->offer->max_early_data;
}

