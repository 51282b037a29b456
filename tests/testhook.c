/*
 * tests/testhook.c - see testhook.h. The hooks' data lives in a context
 * of their own (c->test_ctx), freed with the connection.
 */
#include "testhook.h"

#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "engine/ticket.h"

typedef struct hook_ctx {
  const uint8_t *ch[2];
  size_t ch_len[2];
  const uint8_t *cookie;
  size_t cookie_len;
  const uint8_t *psk;
  size_t psk_len;
  uint16_t psk_suite;
  uint32_t age_add, max_early;
} hook_ctx;

static const uint8_t *client_hello(const tern_conn *c, int index, size_t *len) {
  const hook_ctx *h = c->test_ctx;
  *len = h->ch_len[index];
  return h->ch[index];
}

static const uint8_t *hrr_cookie(const tern_conn *c, size_t *len) {
  const hook_ctx *h = c->test_ctx;
  *len = h->cookie_len;
  return h->cookie;
}

/* Every offered identity is a ticket of ours carrying the test's PSK. */
static int server_psk(const tern_conn *c, const tern_psk_identity *id, uint64_t now,
                      tern_ticket_state *st) {
  const hook_ctx *h = c->test_ctx;
  uint32_t age = id->obfuscated_ticket_age - h->age_add;
  if (h->psk == NULL) return 0;
  memset(st, 0, sizeof *st);
  st->suite = h->psk_suite;
  st->psk_len = (uint8_t)h->psk_len;
  memcpy(st->psk, h->psk, h->psk_len);
  st->issue_time_ms = now >= age ? now - age : 0;
  st->lifetime_s = TERN_TICKET_MAX_LIFETIME;
  st->age_add = h->age_add;
  st->max_early_data = h->max_early;
  st->alpn_len = (uint8_t)strlen(c->alpn);
  memcpy(st->alpn, c->alpn, st->alpn_len);
  st->server_name_len = (uint8_t)strlen(c->server_name);
  memcpy(st->server_name, c->server_name, st->server_name_len);
  memcpy(st->early_ctx, c->early_ctx, sizeof st->early_ctx);
  return 1;
}

static void release(tern_conn *c) {
  free(c->test_ctx);
  c->test_ctx = NULL;
}

static const tern_test_hooks hooks = {client_hello, hrr_cookie, server_psk, release};

/* The connection's hook context, made on first use. */
static hook_ctx *ctx_of(tern_conn *c) {
  if (c->test_ctx == NULL) {
    c->test_ctx = calloc(1, sizeof(hook_ctx));
    if (c->test_ctx == NULL) return NULL;
    c->test = &hooks;
  }
  return c->test_ctx;
}

/* Plain TLS through the QUIC callbacks: the QUIC transport's way for
   everything but an EndOfEarlyData, which goes out at the EARLY level. */
static const tern_transport *quic_transport;

static int plain_send_handshake(tern_conn *c, const uint8_t *msg, size_t len) {
  if (msg[0] != TERN_HS_END_OF_EARLY_DATA) return quic_transport->send_handshake(c, msg, len);
  if (c->qcb->send_data(c, TERN_LEVEL_EARLY, msg, len) != 0)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "send_data callback failed");
  return TERN_OK;
}

static int plain_install_secret(tern_conn *c, tern_level level, tern_direction dir,
                                const tern_suite *s, const uint8_t *secret) {
  return quic_transport->install_secret(c, level, dir, s, secret);
}

static const tern_transport plain_transport = {
    .name = "plain TLS (test)",
    .middlebox_compat = 0,
    .send_handshake = plain_send_handshake,
    .install_secret = plain_install_secret,
};

void tern_test_plain_tls(tern_conn *c) {
  if (c == NULL || c->qcb == NULL) return;
  if (c->transport != &plain_transport) quic_transport = c->transport;
  c->quic = 0;
  c->transport = &plain_transport;
}

int tern_test_provide_data(tern_conn *c, tern_level level, const uint8_t *data, size_t len) {
  if (c == NULL || c->quic || level != TERN_LEVEL_EARLY)
    return tern_quic_provide_data(c, level, data, len);
  if (c->error) return c->error;
  c->early_input = 1;
  return tern_conn_buffer_input(c, c->read_level, data, len);
}

int tern_test_client_hello(tern_conn *c, int index, const uint8_t *ch, size_t len) {
  hook_ctx *h;
  if (c == NULL || c->role != TERN_CLIENT || index < 0 || index > 1 || ch == NULL || len < 4 + 38)
    return TERN_ERR_INVALID_ARG;
  if ((h = ctx_of(c)) == NULL) return TERN_ERR_NOMEM;
  h->ch[index] = ch;
  h->ch_len[index] = len;
  return TERN_OK;
}

int tern_test_server_psk(tern_conn *c, const uint8_t *psk, size_t psk_len, uint16_t suite,
                         uint32_t age_add, uint32_t max_early) {
  hook_ctx *h;
  if (c == NULL || c->role != TERN_SERVER || psk == NULL || psk_len == 0 ||
      psk_len > TERN_TICKET_MAX_PSK)
    return TERN_ERR_INVALID_ARG;
  if ((h = ctx_of(c)) == NULL) return TERN_ERR_NOMEM;
  h->psk = psk;
  h->psk_len = psk_len;
  h->psk_suite = suite;
  h->age_add = age_add;
  h->max_early = max_early;
  return TERN_OK;
}

int tern_test_hrr_cookie(tern_conn *c, const uint8_t *cookie, size_t len) {
  hook_ctx *h;
  if (c == NULL || c->role != TERN_SERVER || cookie == NULL || len == 0 || len > TERN_MAX_COOKIE)
    return TERN_ERR_INVALID_ARG;
  if ((h = ctx_of(c)) == NULL) return TERN_ERR_NOMEM;
  h->cookie = cookie;
  h->cookie_len = len;
  return TERN_OK;
}
