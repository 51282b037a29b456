/*
 * transport/tls.c - transport layer: TLS over TCP (RFC 8446 §5, §6, §D.4):
 * records in and out around the handshake engine, application data,
 * KeyUpdate and close_notify, all without I/O: the application feeds
 * received bytes and sends what tern_tls_output gives.
 *
 * Which record may come when is decided here: change_cipher_spec only
 * as the single dummy byte of middlebox compatibility mode before the
 * handshake ends; application data only under application keys; nothing
 * after close_notify; refused 0-RTT records skipped by a server (up to
 * the early data it could have accepted).
 */
#include "transport/tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "codec/msg.h"
#include "engine/ticket.h"
#include "transport/tls_buf.h"

/* Appends one record, protected under prot when it has keys. */
static int put_record_with(tern_conn *c, tern_record_prot *prot, uint8_t type, uint16_t version,
                           const uint8_t *data, size_t len) {
  tern_tls *t = c->tls;
  tern_writer w;
  size_t pad = 0, block = c->cfg->record_padding;
  int rc;
  /* the padding policy (§5.4): protected content rounded up to a
     multiple of block, never past 2^14 */
  if (block && tern_record_prot_active(prot) && type != TERN_CONTENT_CHANGE_CIPHER_SPEC)
    pad = tern_tls_pad_len(block, len);
  if (t->out_off == t->out_len) t->out_off = t->out_len = 0;
  rc = tern_tls_buf_reserve(&t->out, &t->out_cap, t->out_len, len + pad + TERN_RECORD_OVERHEAD);
  if (rc != TERN_OK) return rc;
  tern_writer_init(&w, t->out + t->out_len, t->out_cap - t->out_len);
  if (version != TERN_RECORD_VERSION_TLS12)
    rc = tern_record_write_plain(&w, type, version, data, len);
  else
    rc = tern_record_write(prot, &w, type, data, len, pad);
  if (rc == TERN_OK) t->out_len += w.len;
  return rc;
}

/* Appends one record under the current write keys (plaintext before). */
static int put_record(tern_conn *c, uint8_t type, uint16_t version, const uint8_t *data,
                      size_t len) {
  return put_record_with(c, &c->tls->wprot, type, version, data, len);
}

/* The dummy change_cipher_spec of middlebox compatibility mode. */
static int put_ccs(tern_conn *c) {
  static const uint8_t one = 1;
  int rc = put_record(c, TERN_CONTENT_CHANGE_CIPHER_SPEC, TERN_RECORD_VERSION_TLS12, &one, 1);
  if (rc == TERN_OK) c->tls->ccs_sent = 1;
  return rc;
}

/* The transport's send_handshake: one message in records. */
static int tls_send_handshake(tern_conn *c, const uint8_t *msg, size_t len) {
  tern_tls *t = c->tls;
  int rc = TERN_OK;
  /* §6.1: after our close_notify we send nothing more; what the engine
     still answers to the peer (a KeyUpdate, a post-handshake
     CertificateRequest) stays unsent */
  if (t->close_sent) return TERN_OK;
  /* A client sends its dummy change_cipher_spec before its second flight. */
  if (c->role == TERN_CLIENT && t->hs_records_sent > 0 && !t->ccs_sent) rc = put_ccs(c);
  for (size_t off = 0; rc == TERN_OK && off < len;) {
    size_t n = len - off > TERN_RECORD_MAX_PLAINTEXT ? TERN_RECORD_MAX_PLAINTEXT : len - off;
    uint16_t v = c->role == TERN_CLIENT && t->hs_records_sent == 0 ? TERN_RECORD_VERSION_TLS10
                                                                   : TERN_RECORD_VERSION_TLS12;
    /* EndOfEarlyData goes under the 0-RTT keys (RFC 8446 §4.5) */
    tern_record_prot *prot = msg[0] == TERN_HS_END_OF_EARLY_DATA ? &t->eprot : &t->wprot;
    rc = put_record_with(c, prot, TERN_CONTENT_HANDSHAKE, v, msg + off, n);
    off += n;
    t->hs_records_sent++;
  }
  /* A server sends it right after its first ServerHello or HelloRetryRequest. */
  if (rc == TERN_OK && c->role == TERN_SERVER && !t->ccs_sent) rc = put_ccs(c);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write a record: %s",
                          tern_strerror(rc));
  return TERN_OK;
}

/* The transport's install_secret: keys one direction's record protection. */
static int tls_install_secret(tern_conn *c, tern_level level, tern_direction dir,
                              const tern_suite *s, const uint8_t *secret) {
  tern_tls *t = c->tls;
  tern_record_prot *p = level == TERN_LEVEL_EARLY ? &t->eprot
                        : dir == TERN_WRITE      ? &t->wprot
                                                 : &t->rprot;
  int rc = tern_record_prot_set(p, dir, s, secret, s->hash->len);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "record keys failed: %s",
                          tern_strerror(rc));
  return TERN_OK;
}

/* Appends an alert record (§6): warning for close_notify and
   user_canceled, fatal for the others. */
static int put_alert(tern_conn *c, uint8_t description) {
  uint8_t a[2];
  a[0] = description == TERN_ALERT_CLOSE_NOTIFY || description == TERN_ALERT_USER_CANCELED ? 1 : 2;
  a[1] = description;
  return put_record(c, TERN_CONTENT_ALERT, TERN_RECORD_VERSION_TLS12, a, sizeof a);
}

/* The transport's report_failure: queues the fatal alert record once. */
static void tls_send_failure_alert(tern_conn *c) {
  tern_tls *t = c->tls;
  if (t == NULL || !c->error || t->alert_sent || c->alert == 0) return;
  t->alert_sent = 1;
  (void)put_alert(c, c->alert); /* best effort: the connection has failed anyway */
}

/* The transport's release: wipes and frees the record state. */
static void tls_release(tern_conn *c) {
  tern_tls *t = c->tls;
  if (t == NULL) return;
  c->tls = NULL;
  tern_record_prot_clear(&t->rprot);
  tern_record_prot_clear(&t->wprot);
  tern_record_prot_clear(&t->eprot);
  if (t->reader) {
    tern_record_reader_wipe(t->reader);
    OPENSSL_free(t->reader);
  }
  if (t->out) OPENSSL_clear_free(t->out, t->out_cap);
  if (t->app) OPENSSL_clear_free(t->app, t->app_cap);
  OPENSSL_clear_free(t, sizeof *t);
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

static const tern_transport tls_transport = {
    .name = "TCP",
    .middlebox_compat = 1, /* RFC 8446 §D.4 */
    .send_handshake = tls_send_handshake,
    .install_secret = tls_install_secret,
    .report_failure = tls_send_failure_alert,
    .release = tls_release,
};

int tern_tls_attach(tern_conn *c) {
  c->tls = OPENSSL_zalloc(sizeof *c->tls);
  if (c->tls == NULL) return TERN_ERR_NOMEM;
  tern_record_prot_init(&c->tls->rprot);
  tern_record_prot_init(&c->tls->wprot);
  tern_record_prot_init(&c->tls->eprot);
  c->transport = &tls_transport;
  return TERN_OK;
}

/* What a refused 0-RTT record counts against max_early_data_size: its
   ciphertext less the tag and the inner content type (RFC 8446 §4.2.10
   counts only the payload; padding cannot be told apart without keys). */
static size_t refused_early_bytes(const tern_conn *c, const tern_record *rec) {
  return tern_tls_refused_early_bytes(rec->len,
                                      c->suite != NULL ? c->suite->tag_len : TERN_RECORD_TAG_LEN);
}

/*
 * RFC 8446 §4.2.10: whether a server that refused 0-RTT may skip this
 * application_data record instead of failing: without a HelloRetryRequest,
 * records that do not open under the handshake keys, until the first one
 * that does; after one, records that arrive before the second ClientHello
 * (there are no keys to try then); in both cases up to max_early_data_size
 * (beyond it: unexpected_message). A server with 0-RTT off still skips up
 * to one record's worth: its clients may hold tickets from when it was on.
 */
static int skip_refused_early(tern_conn *c, const tern_record *rec, int *skipped) {
  tern_tls *t = c->tls;
  size_t n, budget = c->cfg->max_early_data ? c->cfg->max_early_data : TERN_REFUSED_EARLY_DATA_MIN;
  *skipped = 0;
  if (c->role != TERN_SERVER || c->early_status != TERN_EARLY_DATA_REJECTED || t->early_over)
    return TERN_OK;
  if (tern_record_prot_active(&t->rprot) ? c->used_hrr || c->read_level != TERN_LEVEL_HANDSHAKE
                                         : !c->used_hrr)
    return TERN_OK;
  n = refused_early_bytes(c, rec);
  if (n > budget - t->early_skipped)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "more refused 0-RTT data than max_early_data_size (%zu)", budget);
  t->early_skipped += n;
  *skipped = 1;
  return TERN_OK;
}

/*
 * Opens an application_data record in place: under the 0-RTT keys while
 * accepted early data lasts (server), else under the read keys; a server
 * that refused 0-RTT skips what it may (*skipped). Without keys the record
 * stays as it is (the caller refuses it).
 */
static int open_record(tern_conn *c, tern_record *rec, int *early, int *skipped) {
  tern_tls *t = c->tls;
  uint8_t alert = 0;
  size_t len = rec->len;
  int rc;
  *early = *skipped = 0;
  if (c->role == TERN_SERVER && c->early_status == TERN_EARLY_DATA_ACCEPTED &&
      !c->early_data_ended && tern_record_prot_active(&t->eprot)) {
    rc = tern_record_open(&t->eprot, rec, &alert);
    if (rc != TERN_OK)
      return tern_conn_fail(c, alert, "a 0-RTT record does not open: %s", tern_strerror(rc));
    *early = 1;
    return TERN_OK;
  }
  if (!tern_record_prot_active(&t->rprot)) return skip_refused_early(c, rec, skipped);
  rc = tern_record_open(&t->rprot, rec, &alert);
  if (rc == TERN_ERR_DECRYPT) {
    rec->len = len; /* wiped, but its length counts */
    if ((rc = skip_refused_early(c, rec, skipped)) != TERN_OK || *skipped) return rc;
    return tern_conn_fail(c, TERN_ALERT_BAD_RECORD_MAC, "a protected record does not open");
  }
  if (rc != TERN_OK)
    return tern_conn_fail(c, alert, "a protected record does not open: %s", tern_strerror(rc));
  t->early_over = 1; /* the client's second flight has begun: no more skipping */
  return TERN_OK;
}

/* A change_cipher_spec record (§5, §D.4): the one byte 0x01, once, from
   the first ClientHello on (sent by a client, received by a server) until
   the peer's Finished; anything else is unexpected_message. */
static int handle_ccs(tern_conn *c, const tern_record *rec) {
  tern_tls *t = c->tls;
  int hello_seen = c->role == TERN_CLIENT ? c->started : c->suite != NULL;
  if (rec->len != 1 || rec->data[0] != 1 || !hello_seen || c->done || t->ccs_received)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE, "unexpected change_cipher_spec");
  t->ccs_received = 1;
  return TERN_OK;
}

/* An alert record (§6): exactly one alert. close_notify closes our read
   side; user_canceled ends a handshake under way and is ignored after
   one (a close_notify follows it); every other alert, whatever its level
   byte says, is an error that ends the connection. No alert is answered
   with one. */
static int handle_alert(tern_conn *c, const tern_record *rec) {
  tern_tls *t = c->tls;
  uint8_t desc;
  if (rec->len != 2) return tern_conn_fail(c, TERN_ALERT_DECODE_ERROR, "malformed alert record");
  desc = rec->data[1];
  if (desc == TERN_ALERT_CLOSE_NOTIFY) {
    t->close_received = 1;
    return TERN_OK;
  }
  if (desc == TERN_ALERT_USER_CANCELED && c->done) {
    if (++t->ignored_alerts > TERN_MAX_IGNORED_ALERTS_IN_A_ROW)
      return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                            "more than %d ignored alerts in a row",
                            TERN_MAX_IGNORED_ALERTS_IN_A_ROW);
    return TERN_OK;
  }
  t->alert_sent = 1;
  return tern_conn_fail(c, desc, "the peer sent alert %u (%s)", desc,
                        tern_alert_name(desc) ? tern_alert_name(desc) : "?");
}

/* Application data the peer sent (early or not), for tern_tls_read. */
static int take_application_data(tern_conn *c, const tern_record *rec, int early) {
  tern_tls *t = c->tls;
  if (early) {
    /* §4.2.10: more than max_early_data_size is unexpected_message */
    t->early_bytes += rec->len;
    if (t->early_bytes > c->early_max)
      return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                            "more 0-RTT data than max_early_data_size");
  } else if (c->read_level != TERN_LEVEL_APPLICATION) {
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "application data before the handshake keys allow it");
  }
  /* §5.4: empty application data is allowed, but not without end */
  if (rec->len == 0) {
    if (++t->empty_records > TERN_TLS_MAX_EMPTY_RECORDS)
      return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                            "more than %d empty records in a row", TERN_TLS_MAX_EMPTY_RECORDS);
    return TERN_OK;
  }
  /* data: the counts of what came in a row start again */
  memset(c->in_a_row, 0, sizeof c->in_a_row);
  t->ignored_alerts = 0;
  if (t->app_off == t->app_len) t->app_off = t->app_len = 0;
  if (tern_tls_buf_append(&t->app, &t->app_cap, &t->app_len, rec->data, rec->len) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  return TERN_OK;
}

/* A record the peer sent: opened when protected, then its content, by type. */
static int handle_record(tern_conn *c, tern_record *rec) {
  tern_tls *t = c->tls;
  int rc, early = 0, skipped = 0;
  if (t->close_received)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE, "a record after close_notify");
  if (rec->type == TERN_CONTENT_APPLICATION_DATA) {
    if ((rc = open_record(c, rec, &early, &skipped)) != TERN_OK || skipped) return rc;
  } else if (tern_record_prot_active(&t->rprot) && rec->type != TERN_CONTENT_CHANGE_CIPHER_SPEC &&
             rec->type != TERN_CONTENT_ALERT) {
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "an unprotected record of type %u after keys were set", rec->type);
  }
  if (rec->type != TERN_CONTENT_APPLICATION_DATA || rec->len != 0) t->empty_records = 0;
  /* §5.1: a handshake message split over records has no other record
     between its fragments */
  if (rec->type != TERN_CONTENT_HANDSHAKE && tern_conn_input_pending(c))
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "a record of type %u inside a fragmented handshake message", rec->type);
  switch (rec->type) {
    case TERN_CONTENT_CHANGE_CIPHER_SPEC:
      return handle_ccs(c, rec);
    case TERN_CONTENT_ALERT:
      return handle_alert(c, rec);
    case TERN_CONTENT_HANDSHAKE:
      c->early_input = early;
      rc = tern_conn_buffer_input(c, c->read_level, rec->data, rec->len);
      if (rc == TERN_OK) rc = tern_conn_process(c);
      return rc == TERN_WANT_READ ? TERN_OK : rc;
    case TERN_CONTENT_APPLICATION_DATA:
      return take_application_data(c, rec, early);
    default:
      return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE, "record type %u", rec->type);
  }
}

int tern_tls_feed(tern_conn *c, const uint8_t *in, size_t len, size_t *consumed) {
  tern_tls *t;
  size_t dummy;
  if (consumed == NULL) consumed = &dummy;
  *consumed = 0;
  if (c == NULL || c->tls == NULL || (in == NULL && len)) return TERN_ERR_INVALID_ARG;
  t = c->tls;
  if (c->error) return c->error;
  if (len > 0 && t->reader == NULL) {
    if ((t->reader = OPENSSL_malloc(sizeof *t->reader)) == NULL) return TERN_ERR_NOMEM;
    tern_record_reader_init(t->reader);
  }
  while (len > 0 && t->app_len - t->app_off < TERN_TLS_APP_BUFFER) {
    tern_record rec;
    uint8_t alert = 0;
    size_t used = 0;
    int rc = tern_record_read(t->reader, in, len, &used, &rec, &alert);
    in += used;
    len -= used;
    *consumed += used;
    if (rc == TERN_WANT_READ) break;
    if (rc != TERN_OK) {
      tern_conn_fail(c, alert, "bad record: %s", tern_strerror(rc));
      break;
    }
    if (handle_record(c, &rec) != TERN_OK) break;
  }
  if (c->error) {
    tls_send_failure_alert(c);
    return c->error;
  }
  return TERN_OK;
}

const uint8_t *tern_tls_output(const tern_conn *c, size_t *len) {
  if (c == NULL || c->tls == NULL || len == NULL) {
    if (len) *len = 0;
    return NULL;
  }
  *len = c->tls->out_len - c->tls->out_off;
  return *len ? c->tls->out + c->tls->out_off : NULL;
}

void tern_tls_output_done(tern_conn *c, size_t n) {
  tern_tls *t;
  if (c == NULL || (t = c->tls) == NULL) return;
  tern_tls_buf_consume(&t->out_off, &t->out_len, tern_tls_buf_clamp(t->out_off, t->out_len, n));
}

int tern_tls_read(tern_conn *c, uint8_t *out, size_t cap, size_t *n) {
  tern_tls *t;
  size_t k;
  if (c == NULL || c->tls == NULL || out == NULL || n == NULL || cap == 0)
    return TERN_ERR_INVALID_ARG;
  t = c->tls;
  *n = 0;
  k = t->app_len - t->app_off;
  if (k == 0) {
    if (c->error) return c->error;
    return t->close_received ? TERN_ERR_CLOSED : TERN_WANT_READ;
  }
  k = tern_tls_buf_clamp(t->app_off, t->app_len, cap);
  memcpy(out, t->app + t->app_off, k);
  OPENSSL_cleanse(t->app + t->app_off, k);
  tern_tls_buf_consume(&t->app_off, &t->app_len, k);
  *n = k;
  return TERN_OK;
}

int tern_tls_write(tern_conn *c, const uint8_t *data, size_t len) {
  tern_tls *t;
  tern_record_prot *prot;
  if (c == NULL || c->tls == NULL || (data == NULL && len)) return TERN_ERR_INVALID_ARG;
  if (c->error) return c->error;
  t = c->tls;
  if (t->close_sent) return TERN_ERR_STATE;
  prot = &t->wprot;
  if (!c->done) {
    /* 0-RTT: a client whose early data is offered or accepted, before
       its EndOfEarlyData, within the PSK's max_early_data_size */
    int rc;
    if (c->role != TERN_CLIENT || c->early_data_ended || c->early_max == 0 ||
        !tern_record_prot_active(&t->eprot) ||
        (c->early_status != TERN_EARLY_DATA_OFFERED &&
         c->early_status != TERN_EARLY_DATA_ACCEPTED))
      return TERN_ERR_STATE;
    if (len > c->early_max - t->early_bytes) return TERN_ERR_LIMIT;
    if (!t->ccs_sent && (rc = put_ccs(c)) != TERN_OK) return rc;
    t->early_bytes += len;
    prot = &t->eprot;
  }
  for (size_t off = 0; off < len;) {
    size_t n = len - off > TERN_RECORD_MAX_PLAINTEXT ? TERN_RECORD_MAX_PLAINTEXT : len - off;
    int rc = put_record_with(c, prot, TERN_CONTENT_APPLICATION_DATA, TERN_RECORD_VERSION_TLS12,
                             data + off, n);
    if (rc != TERN_OK) return rc;
    off += n;
  }
  return TERN_OK;
}

int tern_tls_key_update(tern_conn *c, int request_peer_update) {
  int rc;
  if (c == NULL || c->tls == NULL) return TERN_ERR_INVALID_ARG;
  if (c->error) return c->error;
  if (!c->done || c->tls->close_sent) return TERN_ERR_STATE;
  c->ku_request = request_peer_update != 0;
  rc = tern_conn_push_event(c, TERN_EV_SEND_KU);
  if (rc == TERN_OK) rc = tern_conn_run_pending(c);
  if (c->error) {
    tls_send_failure_alert(c);
    return c->error;
  }
  return rc;
}

unsigned tern_tls_key_updates(const tern_conn *c, tern_direction dir) {
  int ours_is_client;
  if (c == NULL || c->tls == NULL) return 0;
  /* the key schedule counts the generations of each side's secret */
  ours_is_client = c->role == TERN_CLIENT;
  if ((dir == TERN_WRITE) == ours_is_client) return c->hs->ks.client_generation;
  return c->hs->ks.server_generation;
}

int tern_tls_close(tern_conn *c) {
  int rc;
  if (c == NULL || c->tls == NULL) return TERN_ERR_INVALID_ARG;
  if (c->tls->close_sent) return TERN_OK;
  rc = put_alert(c, TERN_ALERT_CLOSE_NOTIFY);
  if (rc == TERN_OK) c->tls->close_sent = 1;
  return rc;
}

/* Frees a buffer of cap bytes and forgets it. */
static size_t give_back(uint8_t **buf, size_t *cap) {
  size_t n = *cap;
  OPENSSL_clear_free(*buf, *cap);
  *buf = NULL;
  *cap = 0;
  return n;
}

size_t tern_tls_release_buffers(tern_conn *c) {
  tern_tls *t;
  size_t freed = 0;
  if (c == NULL || (t = c->tls) == NULL) return 0;
  /* at a record boundary the reader holds nothing the stream still needs
     (a record handed out was processed inside tern_tls_feed) */
  if (t->reader && tern_record_reader_buffered(t->reader) == 0 && t->reader->err == 0) {
    tern_record_reader_wipe(t->reader);
    OPENSSL_free(t->reader);
    t->reader = NULL;
    freed += sizeof(tern_record_reader);
  }
  if (t->out && t->out_off == t->out_len) {
    freed += give_back(&t->out, &t->out_cap);
    t->out_off = t->out_len = 0;
  }
  if (t->app && t->app_off == t->app_len) {
    freed += give_back(&t->app, &t->app_cap);
    t->app_off = t->app_len = 0;
  }
  return freed;
}

int tern_tls_peer_closed(const tern_conn *c) { return c && c->tls && c->tls->close_received; }

size_t tern_tls_pending(const tern_conn *c) {
  if (c == NULL || c->tls == NULL) return 0;
  return c->tls->app_len - c->tls->app_off;
}

int tern_tls_request_client_auth(tern_conn *c) {
  int rc;
  if (c == NULL || c->tls == NULL) return TERN_ERR_INVALID_ARG;
  if (c->error) return c->error;
  if (c->role != TERN_SERVER || !c->done || !c->pha_offered || c->pha_active ||
      c->tls->close_sent)
    return TERN_ERR_STATE;
  rc = tern_conn_push_event(c, TERN_EV_SEND_CR);
  if (rc == TERN_OK) rc = tern_conn_run_pending(c);
  if (c->error) {
    tls_send_failure_alert(c);
    return c->error;
  }
  return rc;
}

unsigned tern_tls_client_auths_completed(const tern_conn *c) { return c ? c->pha_completed : 0; }
