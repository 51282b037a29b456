/*
 * transport/quic.c - transport layer: QUIC mode (RFC 9001). Handshake
 * bytes go out and secrets are handed over through the application's
 * callbacks (tern_quic_callbacks), per encryption level, with no record
 * layer; CRYPTO frame data comes in through tern_quic_provide_data; the
 * quic_transport_parameters extension is set and read here.
 */
#include "transport/quic.h"

#include <string.h>

#include <openssl/crypto.h>

/* send_data at the level we write at now. */
static int quic_send_handshake(tern_conn *c, const uint8_t *msg, size_t len) {
  if (c->qcb->send_data(c, c->write_level, msg, len) != 0)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "send_data callback failed");
  return TERN_OK;
}

/* set_secret with the suite's code and hash length. */
static int quic_install_secret(tern_conn *c, tern_level level, tern_direction dir,
                               const tern_suite *s, const uint8_t *secret) {
  if (c->qcb->set_secret(c, level, dir, s->id, secret, s->hash->len) != 0)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "set_secret callback refused a secret");
  return TERN_OK;
}

/* QUIC carries the alert in CONNECTION_CLOSE, which the application
   sends (tern_conn_alert); there is nothing for tern to send, and no
   state of its own to free. */
static const tern_transport quic_transport = {
    .name = "QUIC",
    .middlebox_compat = 0, /* RFC 9001 §8.4 */
    .send_handshake = quic_send_handshake,
    .install_secret = quic_install_secret,
    .report_failure = NULL,
    .release = NULL,
};

void tern_quic_attach(tern_conn *c, const tern_quic_callbacks *cb) {
  c->quic = 1;
  c->qcb = cb;
  c->transport = &quic_transport;
}

int tern_quic_provide_data(tern_conn *c, tern_level level, const uint8_t *data, size_t len) {
  if (c == NULL || (data == NULL && len) || c->qcb == NULL || (unsigned)level > TERN_LEVEL_APPLICATION)
    return TERN_ERR_INVALID_ARG;
  if (c->error) return c->error;
  if (len == 0) return TERN_OK;
  /* CRYPTO frames never travel in 0-RTT packets (RFC 9001 §4.1.4), and a
     level we have left takes no more handshake bytes. */
  if (level == TERN_LEVEL_EARLY || level < c->read_level)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "handshake data at an unexpected encryption level");
  c->early_input = 0;
  return tern_conn_buffer_input(c, level, data, len);
}

int tern_quic_set_transport_params(tern_conn *c, const uint8_t *p, size_t n) {
  uint8_t *copy;
  if (c == NULL || (p == NULL && n) || !c->quic) return TERN_ERR_INVALID_ARG;
  if (n > TERN_MAX_TP) return TERN_ERR_LIMIT;
  /* a client's go into its ClientHello; a server's into EncryptedExtensions,
     which is written after the Handshake write secret is installed */
  if (c->hs == NULL || (c->role == TERN_CLIENT ? c->started : c->hs->tp_sent))
    return TERN_ERR_STATE;
  copy = OPENSSL_malloc(n ? n : 1);
  if (copy == NULL) return TERN_ERR_NOMEM;
  if (n) memcpy(copy, p, n);
  OPENSSL_free(c->hs->tp);
  c->hs->tp = copy;
  c->hs->tp_len = n;
  c->hs->tp_set = 1;
  return TERN_OK;
}

int tern_quic_peer_transport_params(const tern_conn *c, const uint8_t **p, size_t *n) {
  if (c == NULL || p == NULL || n == NULL) return TERN_ERR_INVALID_ARG;
  if (!c->peer_tp_seen) return TERN_ERR_STATE;
  *p = c->peer_tp;
  *n = c->peer_tp_len;
  return TERN_OK;
}

