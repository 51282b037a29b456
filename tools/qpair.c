/*
 * qpair.c - see qpair.h.
 */
#include "qpair.h"

#include <stdlib.h>
#include <string.h>

static int on_secret(tern_conn *c, tern_level level, tern_direction dir, uint16_t suite,
                     const uint8_t *secret, size_t len) {
  qside *s = tern_conn_user(c);
  (void)suite;
  if (s == NULL || len > QPAIR_MAX_SECRET || (unsigned)level > 3) return -1;
  memcpy(s->secret[level][dir], secret, len);
  s->secret_len[level][dir] = len;
  if (s->n_order < 8) s->order[s->n_order++] = (int)level * 2 + (int)dir;
  return 0;
}

static int on_send(tern_conn *c, tern_level level, const uint8_t *data, size_t len) {
  qside *s = tern_conn_user(c);
  if (s == NULL || (unsigned)level > 3) return -1;
  if (s->out_len[level] + len > s->out_cap[level]) {
    size_t cap = s->out_cap[level] ? s->out_cap[level] : 1024;
    uint8_t *nb;
    while (cap < s->out_len[level] + len) cap *= 2;
    nb = realloc(s->out[level], cap);
    if (nb == NULL) return -1;
    s->out[level] = nb;
    s->out_cap[level] = cap;
  }
  memcpy(s->out[level] + s->out_len[level], data, len);
  s->out_len[level] += len;
  s->sent_total[level] += len;
  return 0;
}

const tern_quic_callbacks qpair_callbacks = {on_secret, on_send};

int qpair_init(qpair *p, tern_config *client, tern_config *server, const uint8_t *client_tp,
               size_t client_tp_len, const uint8_t *server_tp, size_t server_tp_len) {
  memset(p, 0, sizeof *p);
  p->c.conn = tern_conn_new_quic(client, &qpair_callbacks, &p->c);
  p->s.conn = tern_conn_new_quic(server, &qpair_callbacks, &p->s);
  if (p->c.conn == NULL || p->s.conn == NULL) return -1;
  if (tern_quic_set_transport_params(p->c.conn, client_tp, client_tp_len) != TERN_OK ||
      tern_quic_set_transport_params(p->s.conn, server_tp, server_tp_len) != TERN_OK)
    return -1;
  p->c.result = p->s.result = TERN_WANT_READ;
  return 0;
}

int qpair_deliver(qpair *p, qside *from, qside *to, tern_level level) {
  size_t off = 0, n = from->out_len[level];
  int rc = TERN_OK;
  while (off < n && rc == TERN_OK) {
    size_t k = p->frag && p->frag < n - off ? p->frag : n - off;
    rc = tern_quic_provide_data(to->conn, level, from->out[level] + off, k);
    off += k;
    if (rc == TERN_OK && p->frag) {
      rc = tern_handshake(to->conn);
      p->steps++;
      if (rc == TERN_WANT_READ) rc = TERN_OK;
      to->result = rc;
    }
  }
  from->out_len[level] = 0;
  if (rc != TERN_OK) {
    to->result = rc;
    return rc;
  }
  to->result = tern_handshake(to->conn);
  p->steps++;
  return to->result < 0 ? to->result : TERN_OK;
}

int qpair_run(qpair *p) {
  int rc = tern_handshake(p->c.conn);
  p->c.result = rc;
  if (rc < 0) return rc;
  for (int round = 0; round < 64; round++) {
    int moved = 0;
    for (int lv = 0; lv < 4; lv++) {
      if (p->c.out_len[lv]) {
        moved = 1;
        if ((rc = qpair_deliver(p, &p->c, &p->s, (tern_level)lv)) < 0) return rc;
      }
      if (p->s.out_len[lv]) {
        moved = 1;
        if ((rc = qpair_deliver(p, &p->s, &p->c, (tern_level)lv)) < 0) return rc;
      }
    }
    if (tern_conn_handshake_done(p->c.conn) && tern_conn_handshake_done(p->s.conn) && !moved)
      return TERN_OK;
    if (!moved) return TERN_ERR_STATE;
  }
  return TERN_ERR_STATE;
}

void qpair_free(qpair *p) {
  tern_conn_free(p->c.conn);
  tern_conn_free(p->s.conn);
  for (int i = 0; i < 4; i++) {
    free(p->c.out[i]);
    free(p->s.out[i]);
  }
  memset(p, 0, sizeof *p);
}
