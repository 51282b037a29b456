/*
 * core/dispatch.c - core layer: the event dispatcher.
 *
 * Bytes in -> per-level buffers -> one whole handshake message at a time
 * (4-byte header, size cap) -> the role's classifier picks the event
 * symbol -> the role's Ragel machine runs the action -> the events the
 * action queued (our own messages) run through the machine in turn.
 * A message the machine has no transition for is unexpected_message,
 * decided by the generated code. The role is reached only through
 * c->machine. Failures are sticky.
 */
#include "core/conn.h"

#include <string.h>

#include <openssl/crypto.h>

static void inbuf_free(tern_inbuf *b) {
  if (b->buf) OPENSSL_clear_free(b->buf, b->cap);
  memset(b, 0, sizeof *b);
}

void tern_conn_free_input(tern_conn *c) {
  for (int i = 0; i < 4; i++) inbuf_free(&c->in[i]);
}

size_t tern_conn_input_pending(const tern_conn *c) {
  const tern_inbuf *b = &c->in[c->read_level];
  return b->len - b->off;
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

int tern_conn_buffer_input(tern_conn *c, tern_level level, const uint8_t *data, size_t len) {
  tern_inbuf *b = &c->in[level];
  if (b->off > 0 && b->off == b->len) b->off = b->len = 0;
  if (len > c->cfg->max_message + 4 ||
      b->len - b->off + len > TERN_MAX_BUFFERED_MESSAGES * (c->cfg->max_message + 4))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER, "too much buffered handshake data");
  if (b->len + len > b->cap) {
    size_t need = b->len - b->off + len, cap = b->cap ? b->cap : 512;
    uint8_t *nb;
    while (cap < need) cap *= 2;
    nb = OPENSSL_malloc(cap);
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

/* Feeds one event to the role's machine; no transition: unexpected_message. */
static int feed(tern_conn *c, unsigned char ev) {
  int rc = c->machine->feed(&c->cs, ev, c);
  if (rc == TERN_ERR_STATE && !c->error)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE, "%s not expected here",
                          tern_event_name(ev));
  if (rc != TERN_OK && !c->error)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "%s failed: %s",
                          tern_event_name(ev), tern_strerror(rc));
  return rc;
}

int tern_conn_run_pending(tern_conn *c) {
  size_t i = 0;
  int rc = TERN_OK;
  while (rc == TERN_OK && i < c->n_pending) rc = feed(c, c->pending[i++]);
  c->n_pending = 0;
  return rc;
}

/*
 * Once a QUIC handshake completed and our own messages after it (a
 * server's tickets) went out, the handshake state goes: what a QUIC
 * connection does after it (NewSessionTicket, exporters, getters) needs
 * only what the release keeps. (Over TCP the state stays, for KeyUpdate
 * and post-handshake authentication.) Out of memory keeps it whole.
 */
static void release_if_complete(tern_conn *c) {
  if (c->done && c->quic && c->hs != NULL && !c->error && c->machine->release != NULL)
    (void)c->machine->release(c);
}

int tern_conn_run_event(tern_conn *c, unsigned char ev) {
  int rc = feed(c, ev);
  if (rc == TERN_OK) rc = tern_conn_run_pending(c);
  if (rc == TERN_OK) release_if_complete(c);
  return rc;
}

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
    c->msg_ends_input = 0;
    rc = c->machine->classify(c, &ev);
    if (rc == TERN_OK) rc = tern_conn_run_event(c, ev);
    /* RFC 8446 §5.1: a message before a key change ends its record (and
       in QUIC, the data at its level) */
    if (rc == TERN_OK && c->msg_ends_input && b->off < b->len)
      rc = tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "handshake data after %s, which must end its record",
                          tern_event_name(ev));
    c->msg = NULL;
    c->msg_len = 0;
    c->parsed = NULL;
    if (c->msg_plain != NULL) {
      OPENSSL_clear_free(c->msg_plain, c->msg_plain_len);
      c->msg_plain = NULL;
      c->msg_plain_len = 0;
    }
    if (rc != TERN_OK) return rc;
    if (b->off == b->len && b == &c->in[c->read_level]) {
      /* after the handshake, messages are rare (tickets, KeyUpdate): an
         emptied buffer is not kept for the connection's life */
      if (c->done) inbuf_free(b);
      else b->off = b->len = 0;
    }
  }
}
