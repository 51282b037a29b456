/*
 * h3_common.c - see h3.h: one QUIC connection carrying HTTP/3, for both
 * roles. ngtcp2 runs the transport with tern as its TLS (through
 * libngtcp2_crypto_tern), nghttp3 the HTTP/3 session; this file moves
 * stream data between the two and packets between ngtcp2 and the socket.
 */
#include "h3.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli.h"

const uint32_t h3_versions[1] = {NGTCP2_PROTO_VER_V1};

/* TERN_NGTCP2_LOG=1 prints ngtcp2's own log on stderr (debugging). */
static void log_printf(void *user, const char *fmt, ...) {
  va_list ap;
  (void)user;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void h3_settings(ngtcp2_settings *settings) {
  ngtcp2_settings_default(settings);
  settings->initial_ts = h3_now();
  settings->max_window = 24 * 1024 * 1024;
  settings->max_stream_window = 16 * 1024 * 1024;
  /* tern speaks QUIC v1 and RFC 9369's v2; ngtcp2 0.12 knows v2 only as
     its draft (0x709a50c4): offer and accept v1 alone (RFC 9368) */
  settings->preferred_versions = (uint32_t *)h3_versions;
  settings->preferred_versionslen = 1;
  settings->other_versions = (uint32_t *)h3_versions;
  settings->other_versionslen = 1;
  if (getenv("TERN_NGTCP2_LOG")) settings->log_printf = log_printf;
}

uint64_t h3_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Random bytes for the QUIC side (connection IDs, ngtcp2's rand
   callback): drawn from a pool filled by RAND_bytes 4 KiB at a time, as
   one RAND_bytes call costs about as much as 200 bytes of its output;
   bytes handed out are wiped from the pool. The TLS side (keys, the
   server's random) draws from libcrypto directly. */
static void pool_random(uint8_t *out, size_t len) {
  static uint8_t pool[4096];
  static size_t left;
  while (len > 0) {
    size_t n;
    if (left == 0) {
      if (RAND_bytes(pool, sizeof pool) != 1) abort();
      left = sizeof pool;
    }
    n = len < left ? len : left;
    memcpy(out, pool + sizeof pool - left, n);
    OPENSSL_cleanse(pool + sizeof pool - left, n);
    left -= n;
    out += n;
    len -= n;
  }
}

void h3_random_cid(ngtcp2_cid *cid) {
  cid->datalen = H3_CID_LEN;
  pool_random(cid->data, H3_CID_LEN);
}

const uint8_t *h3_static_secret(void) {
  static uint8_t secret[32];
  static int made;
  if (!made) {
    if (RAND_bytes(secret, sizeof secret) != 1) abort();
    made = 1;
  }
  return secret;
}

/* Records why the connection ends (the first reason wins). */
static void set_error(h3conn *hc, const char *fmt, const char *detail) {
  if (hc->error[0] == '\0') snprintf(hc->error, sizeof hc->error, fmt, detail);
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

h3stream *h3_stream_find(h3conn *hc, int64_t id) {
  for (h3stream *s = hc->streams; s; s = s->next)
    if (s->id == id) return s;
  return NULL;
}

h3stream *h3_stream_new(h3conn *hc, int64_t id) {
  h3stream *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->id = id;
  s->url = -1;
  s->next = hc->streams;
  hc->streams = s;
  return s;
}

static void stream_free(h3stream *s) {
  if (s->map) munmap(s->map, s->map_len);
  if (s->release) s->release(s->release_arg);
  free(s->owned);
  free(s->saved);
  free(s);
}

void h3_streams_free(h3conn *hc) {
  while (hc->streams) {
    h3stream *s = hc->streams;
    hc->streams = s->next;
    stream_free(s);
  }
}

static void stream_remove(h3conn *hc, int64_t id) {
  for (h3stream **p = &hc->streams; *p; p = &(*p)->next)
    if ((*p)->id == id) {
      h3stream *s = *p;
      *p = s->next;
      stream_free(s);
      return;
    }
}

/* ------------------------------------------------------------------ */
/* ngtcp2 callbacks                                                    */
/* ------------------------------------------------------------------ */

static int recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t offset,
                            const uint8_t *data, size_t len, void *user, void *stream_user) {
  h3conn *hc = user;
  nghttp3_ssize n;
  (void)offset;
  (void)stream_user;
  /* stream data before our HTTP/3 session: a request in 0-RTT (server),
     the server's control stream before the client's handshake is done */
  if (hc->h3 == NULL && h3_setup_http(hc) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  n = nghttp3_conn_read_stream(hc->h3, id, data, len, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  if (n < 0) {
    set_error(hc, "HTTP/3: %s", nghttp3_strerror((int)n));
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  ngtcp2_conn_extend_max_stream_offset(conn, id, (uint64_t)n);
  ngtcp2_conn_extend_max_offset(conn, (uint64_t)n);
  return 0;
}

static int acked_stream_data_offset(ngtcp2_conn *conn, int64_t id, uint64_t offset,
                                    uint64_t len, void *user, void *stream_user) {
  h3conn *hc = user;
  (void)conn;
  (void)offset;
  (void)stream_user;
  if (hc->h3 && nghttp3_conn_add_ack_offset(hc->h3, id, len) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t code, void *user,
                        void *stream_user) {
  h3conn *hc = user;
  int rv;
  (void)stream_user;
  if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)) code = NGHTTP3_H3_NO_ERROR;
  if (hc->h3) {
    rv = nghttp3_conn_close_stream(hc->h3, id, code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (hc->role->server && ngtcp2_is_bidi_stream(id)) ngtcp2_conn_extend_max_streams_bidi(conn, 1);
  return 0;
}

static int stream_reset(ngtcp2_conn *conn, int64_t id, uint64_t final_size, uint64_t code,
                        void *user, void *stream_user) {
  h3conn *hc = user;
  (void)conn;
  (void)final_size;
  (void)code;
  (void)stream_user;
  if (hc->h3 && nghttp3_conn_shutdown_stream_read(hc->h3, id) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int stream_stop_sending(ngtcp2_conn *conn, int64_t id, uint64_t code, void *user,
                               void *stream_user) {
  return stream_reset(conn, id, 0, code, user, stream_user);
}

static int extend_max_stream_data(ngtcp2_conn *conn, int64_t id, uint64_t max, void *user,
                                  void *stream_user) {
  h3conn *hc = user;
  (void)conn;
  (void)max;
  (void)stream_user;
  if (hc->h3 && nghttp3_conn_unblock_stream(hc->h3, id) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int extend_max_remote_streams_bidi(ngtcp2_conn *conn, uint64_t max, void *user) {
  h3conn *hc = user;
  (void)conn;
  if (hc->h3) nghttp3_conn_set_max_client_streams_bidi(hc->h3, max);
  return 0;
}

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  pool_random(dest, len);
}

/* New connection IDs: random, with a stateless reset token derived from
   the process's secret; a server routes packets by them. */
static int get_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
                                 size_t cidlen, void *user) {
  h3conn *hc = user;
  (void)conn;
  pool_random(cid->data, cidlen);
  cid->datalen = cidlen;
  if (ngtcp2_crypto_generate_stateless_reset_token(token, h3_static_secret(), 32, cid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  if (hc->n_scids < H3_MAX_SCIDS) hc->scids[hc->n_scids++] = *cid;
  return 0;
}

static int remove_connection_id(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user) {
  h3conn *hc = user;
  (void)conn;
  for (size_t i = 0; i < hc->n_scids; i++)
    if (ngtcp2_cid_eq(&hc->scids[i], cid)) {
      hc->scids[i] = hc->scids[--hc->n_scids];
      break;
    }
  return 0;
}

static int update_key(ngtcp2_conn *conn, uint8_t *rx_secret, uint8_t *tx_secret,
                      ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_iv,
                      ngtcp2_crypto_aead_ctx *tx_aead_ctx, uint8_t *tx_iv,
                      const uint8_t *current_rx_secret, const uint8_t *current_tx_secret,
                      size_t secretlen, void *user) {
  h3conn *hc = user;
  hc->key_updates++;
  return ngtcp2_crypto_update_key_cb(conn, rx_secret, tx_secret, rx_aead_ctx, rx_iv,
                                     tx_aead_ctx, tx_iv, current_rx_secret, current_tx_secret,
                                     secretlen, user);
}

static int handshake_completed(ngtcp2_conn *conn, void *user) {
  h3conn *hc = user;
  (void)conn;
  hc->handshake_done = 1;
  if (hc->role->on_handshake) hc->role->on_handshake(hc);
  return 0;
}

static int handshake_confirmed(ngtcp2_conn *conn, void *user) {
  (void)conn;
  ((h3conn *)user)->confirmed = 1;
  return 0;
}

static int early_data_rejected(ngtcp2_conn *conn, void *user) {
  (void)conn;
  ((h3conn *)user)->early_rejected = 1;
  return 0;
}

void h3_quic_callbacks(ngtcp2_callbacks *cb, int server) {
  memset(cb, 0, sizeof *cb);
  if (server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    cb->extend_max_remote_streams_bidi = extend_max_remote_streams_bidi;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
    cb->early_data_rejected = early_data_rejected;
    cb->handshake_confirmed = handshake_confirmed;
  }
  cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = update_key;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb->rand = rand_cb;
  cb->get_new_connection_id = get_new_connection_id;
  cb->remove_connection_id = remove_connection_id;
  cb->recv_stream_data = recv_stream_data;
  cb->acked_stream_data_offset = acked_stream_data_offset;
  cb->stream_close = stream_close;
  cb->stream_reset = stream_reset;
  cb->stream_stop_sending = stream_stop_sending;
  cb->extend_max_stream_data = extend_max_stream_data;
  cb->handshake_completed = handshake_completed;
}

/* ------------------------------------------------------------------ */
/* nghttp3: the callbacks both roles share, and the session            */
/* ------------------------------------------------------------------ */

static int h3_deferred_consume(nghttp3_conn *h3, int64_t id, size_t consumed, void *user,
                               void *stream_user) {
  h3conn *hc = user;
  (void)h3;
  (void)stream_user;
  ngtcp2_conn_extend_max_stream_offset(hc->conn, id, consumed);
  ngtcp2_conn_extend_max_offset(hc->conn, consumed);
  return 0;
}

static int h3_stream_close(nghttp3_conn *h3, int64_t id, uint64_t code, void *user,
                           void *stream_user) {
  h3conn *hc = user;
  (void)h3;
  (void)code;
  (void)stream_user;
  if (!hc->role->server) {
    h3stream *s = h3_stream_find(hc, id);
    /* a client keeps its streams: they say what became of each request */
    if (s) return 0;
  }
  stream_remove(hc, id);
  return 0;
}

static int h3_stop_sending(nghttp3_conn *h3, int64_t id, uint64_t code, void *user,
                           void *stream_user) {
  h3conn *hc = user;
  (void)h3;
  (void)stream_user;
  if (ngtcp2_conn_shutdown_stream_read(hc->conn, id, code) != 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
  return 0;
}

static int h3_reset_stream(nghttp3_conn *h3, int64_t id, uint64_t code, void *user,
                           void *stream_user) {
  h3conn *hc = user;
  (void)h3;
  (void)stream_user;
  if (ngtcp2_conn_shutdown_stream_write(hc->conn, id, code) != 0)
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  return 0;
}

int h3_setup_http(h3conn *hc) {
  nghttp3_callbacks cb;
  const nghttp3_mem *mem;
  nghttp3_settings settings;
  int64_t ctrl, enc, dec;
  int rv;

  memset(&cb, 0, sizeof cb);
  hc->role->h3_callbacks(&cb);
  cb.deferred_consume = h3_deferred_consume;
  cb.stream_close = h3_stream_close;
  cb.stop_sending = h3_stop_sending;
  cb.reset_stream = h3_reset_stream;
  nghttp3_settings_default(&settings);
  settings.qpack_max_dtable_capacity = 4096;
  settings.qpack_blocked_streams = 100;
  mem = h3_pool_nghttp3_mem(hc->pool);
  rv = hc->role->server ? nghttp3_conn_server_new(&hc->h3, &cb, &settings, mem, hc)
                        : nghttp3_conn_client_new(&hc->h3, &cb, &settings, mem, hc);
  if (rv != 0) {
    set_error(hc, "HTTP/3 session: %s", nghttp3_strerror(rv));
    return -1;
  }
  if (hc->role->server) {
    const ngtcp2_transport_params *p = ngtcp2_conn_get_local_transport_params(hc->conn);
    nghttp3_conn_set_max_client_streams_bidi(hc->h3, p->initial_max_streams_bidi);
  }
  if (ngtcp2_conn_open_uni_stream(hc->conn, &ctrl, NULL) != 0 ||
      nghttp3_conn_bind_control_stream(hc->h3, ctrl) != 0 ||
      ngtcp2_conn_open_uni_stream(hc->conn, &enc, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(hc->conn, &dec, NULL) != 0 ||
      nghttp3_conn_bind_qpack_streams(hc->h3, enc, dec) != 0) {
    set_error(hc, "%s", "cannot open the HTTP/3 control and QPACK streams");
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Packets                                                             */
/* ------------------------------------------------------------------ */

/*
 * send_batch sends len bytes that hold datagrams of seg bytes each (the
 * last may be shorter) in one sendmsg with UDP GSO (UDP_SEGMENT) when
 * there are several; where the kernel refuses GSO they go one by one.
 * A full socket buffer is waited on briefly rather than dropped.
 */
static int gso_broken;

void h3_disable_gso(void) { gso_broken = 1; }

static void send_batch(h3conn *hc, const uint8_t *data, size_t len, size_t seg) {
  for (int tries = 0; tries < 200; tries++) {
    struct iovec iov = {(void *)data, len};
    struct msghdr msg = {0};
    union {
      char buf[CMSG_SPACE(sizeof(uint16_t))];
      struct cmsghdr align;
    } ctrl;
    ssize_t n;
    msg.msg_name = &hc->remote;
    msg.msg_namelen = hc->remote_len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (len > seg) {
      struct cmsghdr *cm;
      uint16_t s16 = (uint16_t)seg;
      memset(&ctrl, 0, sizeof ctrl);
      msg.msg_control = ctrl.buf;
      msg.msg_controllen = sizeof ctrl.buf;
      cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN(sizeof s16);
      memcpy(CMSG_DATA(cm), &s16, sizeof s16);
    }
    n = sendmsg(hc->fd, &msg, MSG_DONTWAIT);
    if (n >= 0) return;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      struct pollfd pfd = {hc->fd, POLLOUT, 0};
      poll(&pfd, 1, 1);
      continue;
    }
    if (len > seg && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT)) {
      /* no GSO here: one datagram at a time from now on */
      gso_broken = 1;
      for (size_t off = 0; off < len; off += seg)
        send_batch(hc, data + off, len - off < seg ? len - off : seg, seg);
    }
    return;
  }
}

void h3_send(h3conn *hc, const uint8_t *data, size_t len) { send_batch(hc, data, len, len); }

/* Sends CONNECTION_CLOSE with ccerr and marks the connection closed. */
static void close_with(h3conn *hc, const ngtcp2_connection_close_error *ccerr) {
  uint8_t buf[H3_PKT_MAX];
  ngtcp2_path_storage ps;
  ngtcp2_ssize n;
  if (hc->closed) return;
  hc->closed = 1;
  if (ngtcp2_conn_is_in_closing_period(hc->conn) || ngtcp2_conn_is_in_draining_period(hc->conn))
    return;
  ngtcp2_path_storage_zero(&ps);
  n = ngtcp2_conn_write_connection_close(hc->conn, &ps.path, NULL, buf, sizeof buf, ccerr,
                                         h3_now());
  if (n > 0) h3_send(hc, buf, (size_t)n);
}

/* Ends the connection after a local failure rv of ngtcp2 (or of a
   callback): a TLS alert becomes CRYPTO_ERROR 0x100 + alert. */
static int fail(h3conn *hc, int rv) {
  ngtcp2_connection_close_error ccerr;
  uint8_t alert = ngtcp2_conn_get_tls_alert(hc->conn);
  hc->failed = 1;
  if (rv == NGTCP2_ERR_CRYPTO && alert) {
    char detail[200];
    snprintf(detail, sizeof detail, "alert %s (%u): %s", tern_alert_name(alert), alert,
             tern_conn_error_detail(hc->tls));
    set_error(hc, "TLS handshake failed: %s", detail);
    ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, alert, NULL, 0);
  } else {
    set_error(hc, "QUIC: %s", ngtcp2_strerror(rv));
    ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rv, NULL, 0);
  }
  if (rv == NGTCP2_ERR_DROP_CONN) {
    hc->closed = 1;
    return -1;
  }
  close_with(hc, &ccerr);
  return -1;
}

void h3_close(h3conn *hc) {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_set_application_error(&ccerr, NGHTTP3_H3_NO_ERROR, NULL, 0);
  close_with(hc, &ccerr);
}

void h3_describe_close(const ngtcp2_connection_close_error *e, char *out, size_t cap) {
  if (e->type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION)
    snprintf(out, cap, "application error 0x%llx", (unsigned long long)e->error_code);
  else if (e->error_code >= 0x100 && e->error_code <= 0x1ff)
    snprintf(out, cap, "CRYPTO_ERROR 0x%llx (TLS alert %s)", (unsigned long long)e->error_code,
             tern_alert_name((uint8_t)(e->error_code - 0x100)));
  else
    snprintf(out, cap, "transport error 0x%llx", (unsigned long long)e->error_code);
  if (e->reasonlen > 0) {
    size_t n = strlen(out);
    snprintf(out + n, cap - n, ": %.*s", (int)e->reasonlen, (const char *)e->reason);
  }
}

int h3_read(h3conn *hc, const uint8_t *data, size_t len) {
  int rv;
  if (hc->closed) return -1;
  hc->want_write = 1;
  rv = ngtcp2_conn_read_pkt(hc->conn, &hc->path, NULL, data, len, h3_now());
  if (rv == 0) return 0;
  if (rv == NGTCP2_ERR_DRAINING) {
    ngtcp2_connection_close_error e;
    ngtcp2_conn_get_connection_close_error(hc->conn, &e);
    hc->closed = 1;
    if (!(e.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION
              ? e.error_code == NGHTTP3_H3_NO_ERROR
              : e.error_code == NGTCP2_NO_ERROR)) {
      char why[200];
      h3_describe_close(&e, why, sizeof why);
      hc->failed = 1;
      set_error(hc, "the peer closed the connection: %s", why);
    }
    return -1;
  }
  /* a server's first Initial that does not hold the start of the
     ClientHello (a hybrid ClientHello spans two Initial datagrams, and the
     first may be lost or late): ngtcp2 asks for a Retry; the accepting
     code drops the connection, and the client's next Initial starts anew */
  if (rv == NGTCP2_ERR_RETRY) {
    hc->retry_asked = 1;
    hc->closed = 1;
    return -1;
  }
  return fail(hc, rv);
}

/* Datagrams sent in one GSO batch at most: as many as fit in 64000
   bytes, under the 65507-byte ceiling of one UDP send over IPv4 (and the
   kernel's 64 segments), so that a window of data takes as few sendmsg
   calls as the kernel allows (44 of 1452 bytes; ngtcp2's gtlsserver
   sends about 48 of its smaller packets per call). */
#define H3_BATCH (64000 / H3_PKT_MAX)

/* Sends what a batch holds and empties it. */
#define FLUSH_BATCH()                                                      \
  do {                                                                     \
    if (blen) send_batch(hc, batch, blen, seg);                            \
    blen = 0;                                                              \
  } while (0)

/*
 * h3_write: packets from ngtcp2 (with the HTTP/3 stream data nghttp3 has
 * for them) until it has nothing more to send now. Consecutive packets
 * of the size of the first go out together (UDP GSO): a shorter one ends
 * a batch.
 */
int h3_write(h3conn *hc) {
  static uint8_t batch[H3_BATCH * H3_PKT_MAX];
  size_t blen = 0, seg = 0;
  ngtcp2_path_storage ps;
  ngtcp2_tstamp ts = h3_now();
  int rc = 0;

  if (hc->closed) return -1;
  hc->want_write = 0;
  ngtcp2_path_storage_zero(&ps);
  for (;;) {
    uint8_t *buf = batch + blen;
    int64_t stream_id = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    nghttp3_ssize nvec = 0;
    ngtcp2_ssize ndatalen = -1, n;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;

    if (hc->h3 && ngtcp2_conn_get_max_data_left(hc->conn)) {
      nvec = nghttp3_conn_writev_stream(hc->h3, &stream_id, &fin, vec, 16);
      if (nvec < 0) {
        set_error(hc, "HTTP/3: %s", nghttp3_strerror((int)nvec));
        FLUSH_BATCH();
        rc = fail(hc, NGTCP2_ERR_CALLBACK_FAILURE);
        goto out;
      }
    }
    if (fin) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    n = ngtcp2_conn_writev_stream(hc->conn, &ps.path, NULL, buf, H3_PKT_MAX, &ndatalen, flags,
                                  stream_id, (const ngtcp2_vec *)vec, (size_t)nvec, ts);
    if (n < 0) {
      switch (n) {
      case NGTCP2_ERR_STREAM_DATA_BLOCKED:
        nghttp3_conn_block_stream(hc->h3, stream_id);
        continue;
      case NGTCP2_ERR_STREAM_SHUT_WR:
        nghttp3_conn_shutdown_stream_write(hc->h3, stream_id);
        continue;
      case NGTCP2_ERR_WRITE_MORE:
        if (nghttp3_conn_add_write_offset(hc->h3, stream_id, (size_t)ndatalen) != 0) {
          FLUSH_BATCH();
          rc = fail(hc, NGTCP2_ERR_CALLBACK_FAILURE);
          goto out;
        }
        continue;
      default:
        FLUSH_BATCH();
        rc = fail(hc, (int)n);
        goto out;
      }
    }
    if (ndatalen >= 0 && nghttp3_conn_add_write_offset(hc->h3, stream_id, (size_t)ndatalen) != 0) {
      FLUSH_BATCH();
      rc = fail(hc, NGTCP2_ERR_CALLBACK_FAILURE);
      goto out;
    }
    if (n == 0) {
      ngtcp2_conn_update_pkt_tx_time(hc->conn, ts);
      goto out;
    }
    if (blen == 0) seg = (size_t)n;
    blen += (size_t)n;
    /* a shorter packet ends the batch, as does a full one */
    if ((size_t)n < seg || blen + H3_PKT_MAX > sizeof batch || gso_broken) FLUSH_BATCH();
  }
out:
  FLUSH_BATCH();
  return rc;
}

int h3_expire(h3conn *hc) {
  ngtcp2_tstamp now = h3_now();
  int rv;
  if (hc->closed) return -1;
  if (ngtcp2_conn_get_expiry(hc->conn) > now) return 0;
  /* a timer (loss detection, ACK delay, pacing) fired: write after it */
  hc->want_write = 1;
  rv = ngtcp2_conn_handle_expiry(hc->conn, now);
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    hc->closed = 1;
    hc->failed = !hc->handshake_done;
    set_error(hc, "%s", hc->handshake_done ? "idle timeout" : "no answer (handshake timed out)");
    return -1;
  }
  if (rv != 0) return fail(hc, rv);
  return 0;
}

int h3_timeout_ms(const h3conn *hc, int cap_ms) {
  ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(hc->conn), now = h3_now();
  uint64_t ms;
  if (exp <= now) return 0;
  ms = (exp - now + 999999) / 1000000;
  return ms < (uint64_t)cap_ms ? (int)ms : cap_ms;
}

/* ------------------------------------------------------------------ */
/* A connection's memory pool (see h3.h)                               */
/* ------------------------------------------------------------------ */

#define POOL_CLASSES 8       /* blocks of 32, 64, ... 4096 bytes, header included */
#define POOL_MIN 32
#define POOL_CHUNK 32768
#define POOL_LARGE 0xffu     /* a block from malloc */

/* Each block starts with this 16-byte header; the caller's bytes follow,
   16-byte aligned as malloc's are (chunks are, and blocks are 32 << k
   bytes). */
typedef struct pool_hdr {
  size_t cls; /* class, or POOL_LARGE */
  size_t cap; /* bytes the caller may use */
} pool_hdr;

typedef struct pool_chunk {
  struct pool_chunk *next;
  max_align_t data[]; /* POOL_CHUNK bytes in all, header included */
} pool_chunk;

struct h3pool {
  ngtcp2_mem nmem;
  nghttp3_mem hmem;
  pool_chunk *chunks;
  uint8_t *cur; /* the unused tail of the newest chunk */
  size_t left;
  void *free_list[POOL_CLASSES];
};

static void *pool_malloc(size_t size, void *user) {
  h3pool *p = user;
  size_t need, cls = 0, bsize = POOL_MIN;
  pool_hdr *h;
  if (size > SIZE_MAX - sizeof(pool_hdr) - POOL_MIN) return NULL;
  need = size + sizeof(pool_hdr);
  while (bsize < need && cls < POOL_CLASSES) {
    bsize <<= 1;
    cls++;
  }
  if (cls == POOL_CLASSES) {
    h = malloc(need);
    if (h == NULL) return NULL;
    h->cls = POOL_LARGE;
    h->cap = size;
    return h + 1;
  }
  if (p->free_list[cls] != NULL) {
    void *b = p->free_list[cls];
    memcpy(&p->free_list[cls], b, sizeof(void *));
    return b;
  }
  if (p->left < bsize) {
    pool_chunk *c = malloc(POOL_CHUNK);
    if (c == NULL) return NULL;
    c->next = p->chunks;
    p->chunks = c;
    p->cur = (uint8_t *)c->data;
    p->left = POOL_CHUNK - offsetof(pool_chunk, data);
  }
  h = (pool_hdr *)p->cur;
  p->cur += bsize;
  p->left -= bsize;
  h->cls = cls;
  h->cap = bsize - sizeof(pool_hdr);
  return h + 1;
}

static void pool_release(void *ptr, void *user) {
  h3pool *p = user;
  pool_hdr *h;
  if (ptr == NULL) return;
  h = (pool_hdr *)ptr - 1;
  if (h->cls == POOL_LARGE) {
    free(h);
    return;
  }
  memcpy(ptr, &p->free_list[h->cls], sizeof(void *));
  p->free_list[h->cls] = ptr;
}

static void *pool_calloc(size_t nmemb, size_t size, void *user) {
  void *b;
  if (size != 0 && nmemb > SIZE_MAX / size) return NULL;
  b = pool_malloc(nmemb * size, user);
  if (b != NULL) memset(b, 0, nmemb * size);
  return b;
}

static void *pool_realloc(void *ptr, size_t size, void *user) {
  pool_hdr *h;
  void *b;
  if (ptr == NULL) return pool_malloc(size, user);
  h = (pool_hdr *)ptr - 1;
  if (size <= h->cap) return ptr;
  b = pool_malloc(size, user);
  if (b == NULL) return NULL;
  memcpy(b, ptr, h->cap);
  pool_release(ptr, user);
  return b;
}

/* ngtcp2 and nghttp3 take the same four functions */
static void *pool_malloc3(size_t size, void *user) { return pool_malloc(size, user); }
static void pool_release3(void *ptr, void *user) { pool_release(ptr, user); }
static void *pool_calloc3(size_t nmemb, size_t size, void *user) {
  return pool_calloc(nmemb, size, user);
}
static void *pool_realloc3(void *ptr, size_t size, void *user) {
  return pool_realloc(ptr, size, user);
}

h3pool *h3_pool_new(void) {
  h3pool *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  p->nmem.user_data = p;
  p->nmem.malloc = pool_malloc;
  p->nmem.free = pool_release;
  p->nmem.calloc = pool_calloc;
  p->nmem.realloc = pool_realloc;
  p->hmem.user_data = p;
  p->hmem.malloc = pool_malloc3;
  p->hmem.free = pool_release3;
  p->hmem.calloc = pool_calloc3;
  p->hmem.realloc = pool_realloc3;
  return p;
}

void h3_pool_free(h3pool *p) {
  if (p == NULL) return;
  while (p->chunks != NULL) {
    pool_chunk *c = p->chunks;
    p->chunks = c->next;
    free(c);
  }
  free(p);
}

const ngtcp2_mem *h3_pool_ngtcp2_mem(h3pool *p) { return p ? &p->nmem : NULL; }
const nghttp3_mem *h3_pool_nghttp3_mem(h3pool *p) { return p ? &p->hmem : NULL; }

void h3_free(h3conn *hc) {
  if (hc == NULL) return;
  h3_streams_free(hc);
  if (hc->h3) nghttp3_conn_del(hc->h3);
  if (hc->conn) ngtcp2_conn_del(hc->conn);
  h3_pool_free(hc->pool);
  tern_conn_free(hc->tls);
  free(hc);
}

void h3_describe(const h3conn *hc, char *out, size_t cap) {
  static const char *early[] = {"not offered", "offered", "accepted", "rejected"};
  const char *suite = tern_suite_name(tern_conn_cipher_suite(hc->tls));
  const char *group = tern_group_name(tern_conn_group(hc->tls));
  const char *alpn = tern_conn_alpn(hc->tls);
  tern_early_data_status st = tern_conn_early_data_status(hc->tls);
  snprintf(out, cap,
           "QUIC version 0x%08x, %s, %s, ALPN %s, resumed: %s, 0-RTT: %s, "
           "certificate compressed: %s",
           ngtcp2_conn_get_negotiated_version(hc->conn), suite ? suite : "-",
           group ? group : (tern_conn_resumed(hc->tls) ? "none (psk_ke)" : "-"),
           alpn ? alpn : "-", tern_conn_resumed(hc->tls) ? "yes" : "no",
           (unsigned)st < 4 ? early[st] : "?",
           cli_cert_compression_name(tern_conn_cert_compression(hc->tls, TERN_WRITE)
                                         ? tern_conn_cert_compression(hc->tls, TERN_WRITE)
                                         : tern_conn_cert_compression(hc->tls, TERN_READ)));
}

