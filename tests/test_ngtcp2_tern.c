/*
 * test_ngtcp2_tern.c - libngtcp2_crypto_tern in memory: an ngtcp2 client
 * and an ngtcp2 server, each with tern as its TLS through the backend,
 * exchanging packets in one process (no sockets, a fake clock).
 *
 *   - each cipher suite: handshake completed and confirmed on both sides,
 *     100 KB each way on a stream compared byte for byte, a key update in
 *     the middle (update_key called on both sides, data still flowing);
 *   - resumption with 0-RTT: the client's request arrives in 0-RTT
 *     (before the server's handshake completed), early data accepted;
 *     with other server limits the ticket's 0-RTT is refused (the
 *     early-data context), ngtcp2 told, and the data arrives in 1-RTT;
 *   - Retry: the server answers the first Initial with a Retry carrying a
 *     token of this backend, the client follows, the server checks it;
 *   - an ALPN mismatch: the server's handshake fails with
 *     no_application_protocol and the client receives CONNECTION_CLOSE
 *     with CRYPTO_ERROR 0x100 + 120;
 *   - tokens: Retry and NEW_TOKEN tokens open only for their address
 *     (and port, version, CID for Retry) within their lifetime; stateless
 *     reset tokens are a function of the secret and the CID.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ngtcp2/ngtcp2_crypto_tern.h>
#include <openssl/rand.h>
#include <tern.h>

#include "check.h"
#include "pki.h"

#define MS ((ngtcp2_tstamp)1000000)
#define PKT_MAX 1452
#define QLEN 256
#define BULK (100 * 1024)

typedef struct side side;

typedef struct world {
  side *c, *s;
  ngtcp2_tstamp now;
  int retry;                     /* server sends a Retry first */
  int retries_sent;
  uint8_t retry_secret[32];
} world;

struct side {
  world *w;
  int server;
  ngtcp2_conn *conn;
  tern_conn *tls;
  ngtcp2_crypto_conn_ref ref;
  struct sockaddr_in local, remote;
  ngtcp2_path path;
  ngtcp2_transport_params params;
  /* datagrams sent, not yet delivered */
  uint8_t q[QLEN][PKT_MAX];
  size_t qlen[QLEN], nq;
  /* stream 0: what we send, what we got */
  uint8_t *tx;
  size_t tx_len, tx_off;
  int tx_fin_sent;
  int64_t stream;
  uint8_t *rx;
  size_t rx_len;
  int rx_fin;
  int early_bytes;               /* stream bytes received before handshake completion */
  int completed, confirmed, updates;
  int failed;                    /* read_pkt returned an error */
  int draining;                  /* the peer closed */
  int resent;                    /* the stream opened again after 0-RTT was refused */
};

static side client_side, server_side;
static tern_config *ccfg, *scfg;
static uint8_t session[TERN_SESSION_MAX_BYTES];
static size_t session_len;
static ngtcp2_transport_params saved_remote;

static uint64_t clock_ms(void *u) {
  (void)u;
  return 1700000000000ULL;
}

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) { return ((side *)ref->user_data)->conn; }

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  RAND_bytes(dest, (int)len);
}

static int new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *u) {
  static const uint8_t secret[32] = {7};
  (void)conn;
  (void)u;
  RAND_bytes(cid->data, (int)cidlen);
  cid->datalen = cidlen;
  return ngtcp2_crypto_generate_stateless_reset_token(token, secret, 32, cid) ? -1 : 0;
}

static int recv_stream(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t off,
                       const uint8_t *data, size_t len, void *u, void *su) {
  side *s = u;
  (void)su;
  (void)id;
  if (off + len > 2 * BULK) return NGTCP2_ERR_CALLBACK_FAILURE;
  memcpy(s->rx + off, data, len);
  if (off + len > s->rx_len) s->rx_len = (size_t)(off + len);
  if (!ngtcp2_conn_get_handshake_completed(conn)) s->early_bytes += (int)len;
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) s->rx_fin = 1;
  ngtcp2_conn_extend_max_stream_offset(conn, id, len);
  ngtcp2_conn_extend_max_offset(conn, len);
  /* the server answers on the same stream */
  if (s->server && s->stream < 0) s->stream = id;
  return 0;
}

static int hs_completed(ngtcp2_conn *conn, void *u) {
  (void)conn;
  ((side *)u)->completed = 1;
  return 0;
}

static int hs_confirmed(ngtcp2_conn *conn, void *u) {
  (void)conn;
  ((side *)u)->confirmed = 1;
  return 0;
}

static int update_key(ngtcp2_conn *conn, uint8_t *rs, uint8_t *ts, ngtcp2_crypto_aead_ctx *ra,
                      uint8_t *riv, ngtcp2_crypto_aead_ctx *ta, uint8_t *tiv, const uint8_t *crs,
                      const uint8_t *cts, size_t len, void *u) {
  ((side *)u)->updates++;
  return ngtcp2_crypto_update_key_cb(conn, rs, ts, ra, riv, ta, tiv, crs, cts, len, u);
}

static void on_session(tern_conn *c, const uint8_t *blob, size_t len, uint32_t max_early,
                       void *u) {
  (void)c;
  (void)u;
  if (len <= sizeof session && max_early) {
    memcpy(session, blob, len);
    session_len = len;
  }
}

static void callbacks(ngtcp2_callbacks *cb, int server) {
  memset(cb, 0, sizeof *cb);
  if (server)
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
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
  cb->get_new_connection_id = new_cid;
  cb->recv_stream_data = recv_stream;
  cb->handshake_completed = hs_completed;
  cb->handshake_confirmed = hs_confirmed;
}

static void side_init(side *s, world *w, int server, uint64_t max_data) {
  free(s->tx);
  free(s->rx);
  memset(s, 0, sizeof *s);
  s->w = w;
  s->server = server;
  s->stream = -1;
  s->rx = calloc(1, 2 * BULK);
  s->local.sin_family = s->remote.sin_family = AF_INET;
  s->local.sin_addr.s_addr = s->remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->local.sin_port = htons(server ? 4433 : 50000);
  s->remote.sin_port = htons(server ? 50000 : 4433);
  s->path.local.addr = (ngtcp2_sockaddr *)&s->local;
  s->path.local.addrlen = sizeof s->local;
  s->path.remote.addr = (ngtcp2_sockaddr *)&s->remote;
  s->path.remote.addrlen = sizeof s->remote;
  ngtcp2_transport_params_default(&s->params);
  s->params.initial_max_data = max_data;
  s->params.initial_max_stream_data_bidi_local = max_data;
  s->params.initial_max_stream_data_bidi_remote = max_data;
  s->params.initial_max_streams_bidi = 4;
  s->params.max_idle_timeout = 30000 * MS;
  s->ref.get_conn = get_conn;
  s->ref.user_data = s;
}

/* NGTCP2_LOG=1 in the environment prints ngtcp2's log (debugging). */
static void log_printf(void *u, const char *fmt, ...) {
  va_list ap;
  (void)u;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static ngtcp2_settings settings_now(world *w) {
  ngtcp2_settings st;
  ngtcp2_settings_default(&st);
  st.initial_ts = w->now;
  if (getenv("NGTCP2_LOG")) st.log_printf = log_printf;
  return st;
}

static int client_new(world *w, side *c, int resume) {
  ngtcp2_cid dcid, scid;
  ngtcp2_callbacks cb;
  ngtcp2_settings st = settings_now(w);
  dcid.datalen = 16;
  scid.datalen = 8;
  RAND_bytes(dcid.data, 16);
  RAND_bytes(scid.data, 8);
  callbacks(&cb, 0);
  if (ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &c->path, NGTCP2_PROTO_VER_V1, &cb, &st,
                             &c->params, NULL, c) != 0)
    return -1;
  c->tls = ngtcp2_crypto_tern_conn_new(ccfg, &c->ref);
  if (c->tls == NULL || tern_conn_set_server_name(c->tls, "localhost") != TERN_OK) return -1;
  if (resume) {
    if (tern_conn_set_session(c->tls, session, session_len, clock_ms(NULL) + 1000) != TERN_OK)
      return -1;
    ngtcp2_conn_set_early_remote_transport_params(c->conn, &saved_remote);
  }
  ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
  return 0;
}

/* The server's first datagram: a Retry when asked to, else a connection. */
static int server_accept(world *w, side *s, const uint8_t *pkt, size_t len) {
  ngtcp2_pkt_hd hd;
  ngtcp2_callbacks cb;
  ngtcp2_settings st = settings_now(w);
  ngtcp2_cid scid, odcid;
  if (ngtcp2_accept(&hd, pkt, len) != 0) return -1;
  scid.datalen = 8;
  RAND_bytes(scid.data, 8);
  s->params.original_dcid = hd.dcid;
  if (w->retry) {
    if (hd.token.len == 0) {
      uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
      ngtcp2_ssize tl = ngtcp2_crypto_generate_retry_token(
          token, w->retry_secret, 32, hd.version, s->path.remote.addr, s->path.remote.addrlen,
          &scid, &hd.dcid, w->now);
      ngtcp2_ssize n = tl < 0 ? -1
                              : ngtcp2_crypto_write_retry(s->q[s->nq], PKT_MAX, hd.version,
                                                          &hd.scid, &scid, &hd.dcid, token,
                                                          (size_t)tl);
      if (n < 0) return -1;
      s->qlen[s->nq++] = (size_t)n;
      w->retries_sent++;
      return 0;
    }
    if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token.base, hd.token.len, w->retry_secret,
                                         32, hd.version, s->path.remote.addr,
                                         s->path.remote.addrlen, &hd.dcid, 10000 * MS, w->now))
      return -1;
    s->params.original_dcid = odcid;
    s->params.retry_scid = hd.dcid;
    s->params.retry_scid_present = 1;
  }
  callbacks(&cb, 1);
  st.token = hd.token;
  if (ngtcp2_conn_server_new(&s->conn, &hd.scid, &scid, &s->path, hd.version, &cb, &st,
                             &s->params, NULL, s) != 0)
    return -1;
  s->tls = ngtcp2_crypto_tern_conn_new(scfg, &s->ref);
  if (s->tls == NULL) return -1;
  ngtcp2_conn_set_tls_native_handle(s->conn, s->tls);
  return 1;
}

/* Everything a side has to send now, into its queue. */
static void flush(side *s) {
  for (;;) {
    ngtcp2_ssize n, used = -1;
    uint32_t flags = 0;
    if (s->nq == QLEN || s->failed) return;
    if (s->stream >= 0 && !s->tx_fin_sent && (!s->server || s->rx_fin)) {
      flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
      n = ngtcp2_conn_write_stream(s->conn, NULL, NULL, s->q[s->nq], PKT_MAX, &used, flags,
                                   s->stream, s->tx + s->tx_off, s->tx_len - s->tx_off,
                                   s->w->now);
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) n = ngtcp2_conn_write_pkt(s->conn, NULL, NULL,
                                                                         s->q[s->nq], PKT_MAX,
                                                                         s->w->now);
    } else {
      n = ngtcp2_conn_write_pkt(s->conn, NULL, NULL, s->q[s->nq], PKT_MAX, s->w->now);
    }
    if (used > 0) {
      s->tx_off += (size_t)used;
      if (s->tx_off == s->tx_len) s->tx_fin_sent = 1;
    }
    if (n <= 0) return;
    s->qlen[s->nq++] = (size_t)n;
  }
}

/* Hands a side's datagrams to the other. */
static void deliver(world *w, side *from, side *to) {
  for (size_t i = 0; i < from->nq; i++) {
    if (to->conn == NULL) {
      if (!to->server || server_accept(w, to, from->q[i], from->qlen[i]) <= 0) continue;
    }
    int rv = ngtcp2_conn_read_pkt(to->conn, &to->path, NULL, from->q[i], from->qlen[i], w->now);
    if (rv == NGTCP2_ERR_DRAINING) to->draining = 1;
    else if (rv != 0) to->failed = rv;
  }
  from->nq = 0;
}

static void expire(world *w, side *s) {
  if (s->conn && ngtcp2_conn_get_expiry(s->conn) <= w->now)
    ngtcp2_conn_handle_expiry(s->conn, w->now);
}

/* Runs the two until both streams are done, someone fails, or 2000 rounds. */
static void run(world *w, int key_update_at) {
  side *c = w->c, *s = w->s;
  for (int round = 0; round < 2000; round++) {
    /* ngtcp2 drops the streams of refused 0-RTT: the request goes again */
    if (c->stream >= 0 && !c->resent && ngtcp2_conn_get_early_data_rejected(c->conn)) {
      c->stream = -1;
      c->tx_off = 0;
      c->tx_fin_sent = 0;
      c->resent = 1;
    }
    if (c->confirmed && c->stream < 0 && c->tx_len) {
      if (ngtcp2_conn_open_bidi_stream(c->conn, &c->stream, NULL) != 0) break;
    }
    if (key_update_at && c->confirmed && s->rx_len >= (size_t)key_update_at && c->updates == 0)
      ngtcp2_conn_initiate_key_update(c->conn, w->now);
    flush(c);
    deliver(w, c, s);
    if (s->nq && !s->conn) deliver(w, s, c); /* a Retry */
    if (s->conn) flush(s);
    deliver(w, s, c);
    if (c->failed || s->failed) break;
    if (c->rx_fin && s->rx_fin && c->confirmed) break;
    w->now += MS;
    expire(w, c);
    expire(w, s);
  }
}

static void teardown(side *s) {
  if (s->conn) ngtcp2_conn_del(s->conn);
  tern_conn_free(s->tls);
  s->conn = NULL;
  s->tls = NULL;
}

static void fill(uint8_t *p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

static void test_exchange(uint16_t suite) {
  world w = {&client_side, &server_side, 1 * MS, 0, 0, {0}};
  side_init(w.c, &w, 0, 1 << 20);
  side_init(w.s, &w, 1, 1 << 20);
  tern_config_set_cipher_suites(ccfg, &suite, 1);
  w.c->tx = malloc(BULK);
  w.s->tx = malloc(BULK);
  w.c->tx_len = w.s->tx_len = BULK;
  fill(w.c->tx, BULK, 1);
  fill(w.s->tx, BULK, 2);
  CHECK_EQ_INT(client_new(&w, w.c, 0), 0);
  run(&w, BULK / 2);
  CHECK_EQ_INT(w.c->failed, 0);
  CHECK_EQ_INT(w.s->failed, 0);
  CHECK(w.c->completed && w.s->completed);
  CHECK(w.c->confirmed); /* ngtcp2 0.12 tells only a client (HANDSHAKE_DONE) */
  CHECK_EQ_INT(tern_conn_cipher_suite(w.c->tls), suite);
  CHECK_EQ_INT(tern_conn_cipher_suite(w.s->tls), suite);
  CHECK(tern_conn_alpn(w.s->tls) && strcmp(tern_conn_alpn(w.s->tls), "tern-test") == 0);
  CHECK(w.s->rx_fin && w.s->rx_len == BULK && memcmp(w.s->rx, w.c->tx, BULK) == 0);
  CHECK(w.c->rx_fin && w.c->rx_len == BULK && memcmp(w.c->rx, w.s->tx, BULK) == 0);
  CHECK(w.c->updates >= 1 && w.s->updates >= 1);
  CHECK(session_len > 0); /* a ticket allowing 0-RTT came */
  saved_remote = *ngtcp2_conn_get_remote_transport_params(w.c->conn);
  printf("suite %s: handshake, %d KB each way, key updates client %d server %d, ticket %zu B\n",
         tern_suite_name(suite), BULK / 1024, w.c->updates, w.s->updates, session_len);
  teardown(w.c);
  teardown(w.s);
}

/* A resumed connection whose request goes in 0-RTT; refused with other
   server limits (refuse = 1). */
static void test_zero_rtt(int refuse) {
  world w = {&client_side, &server_side, 1 * MS, 0, 0, {0}};
  static const char req[] = "GET /index.html in 0-RTT";
  side_init(w.c, &w, 0, 1 << 20);
  side_init(w.s, &w, 1, refuse ? (1 << 19) : (1 << 20));
  w.c->tx = malloc(sizeof req);
  memcpy(w.c->tx, req, sizeof req);
  w.c->tx_len = sizeof req;
  w.s->tx = malloc(4);
  memcpy(w.s->tx, "done", 4);
  w.s->tx_len = 4;
  CHECK(session_len > 0);
  CHECK_EQ_INT(client_new(&w, w.c, 1), 0);
  CHECK_EQ_INT(ngtcp2_conn_open_bidi_stream(w.c->conn, &w.c->stream, NULL), 0);
  run(&w, 0);
  CHECK_EQ_INT(w.c->failed, 0);
  CHECK_EQ_INT(w.s->failed, 0);
  CHECK(tern_conn_resumed(w.c->tls) && tern_conn_resumed(w.s->tls));
  CHECK(w.s->rx_fin && w.s->rx_len == sizeof req && memcmp(w.s->rx, req, sizeof req) == 0);
  CHECK(w.c->rx_fin && w.c->rx_len == 4 && memcmp(w.c->rx, "done", 4) == 0);
  if (refuse) {
    CHECK_EQ_INT(tern_conn_early_data_status(w.c->tls), TERN_EARLY_DATA_REJECTED);
    CHECK(ngtcp2_conn_get_early_data_rejected(w.c->conn));
    CHECK_EQ_INT(w.s->early_bytes, 0);
    CHECK_EQ_INT(w.c->resent, 1);
  } else {
    CHECK_EQ_INT(tern_conn_early_data_status(w.c->tls), TERN_EARLY_DATA_ACCEPTED);
    CHECK_EQ_INT(tern_conn_early_data_status(w.s->tls), TERN_EARLY_DATA_ACCEPTED);
    CHECK_EQ_INT(w.s->early_bytes, (int)sizeof req);
  }
  printf("resumed, 0-RTT %s: %d of %zu request bytes before the server's handshake completed\n",
         refuse ? "refused (other server limits)" : "accepted", w.s->early_bytes, sizeof req);
  teardown(w.c);
  teardown(w.s);
}

static void test_retry(void) {
  world w = {&client_side, &server_side, 1 * MS, 1, 0, {0}};
  RAND_bytes(w.retry_secret, 32);
  side_init(w.c, &w, 0, 1 << 20);
  side_init(w.s, &w, 1, 1 << 20);
  w.c->tx = malloc(1000);
  w.s->tx = malloc(1000);
  w.c->tx_len = w.s->tx_len = 1000;
  fill(w.c->tx, 1000, 3);
  fill(w.s->tx, 1000, 4);
  CHECK_EQ_INT(client_new(&w, w.c, 0), 0);
  run(&w, 0);
  /* a stateless server answers each tokenless Initial with a Retry: the
     hybrid ClientHello (X25519MLKEM768) fills two Initial datagrams, so
     two Retries go out and the client uses the first (RFC 9000 §17.2.5.2) */
  CHECK(w.retries_sent >= 1 && w.retries_sent <= 2);
  CHECK(w.s->conn != NULL && w.c->confirmed && w.s->completed);
  CHECK(w.s->rx_fin && w.s->rx_len == 1000 && memcmp(w.s->rx, w.c->tx, 1000) == 0);
  const ngtcp2_transport_params *rp = ngtcp2_conn_get_remote_transport_params(w.c->conn);
  CHECK(rp && rp->retry_scid_present);
  printf("Retry: 1 sent, token verified, handshake and transfer completed\n");
  teardown(w.c);
  teardown(w.s);
}

static void test_alpn_mismatch(void) {
  world w = {&client_side, &server_side, 1 * MS, 0, 0, {0}};
  const char *other[] = {"not-tern-test"};
  tern_config *orig = scfg;
  tern_config *bad = tern_config_new(TERN_SERVER);
  pki p;
  CHECK_EQ_INT(pki_make(&p, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW), 0);
  tern_config_set_cert(bad, p.leaf, NULL, p.leaf_key);
  tern_config_set_alpn(bad, other, 1);
  scfg = bad;
  side_init(w.c, &w, 0, 1 << 20);
  side_init(w.s, &w, 1, 1 << 20);
  CHECK_EQ_INT(client_new(&w, w.c, 0), 0);
  flush(w.c);
  deliver(&w, w.c, w.s);
  CHECK(w.s->failed != 0);
  CHECK_EQ_INT(ngtcp2_conn_get_tls_alert(w.s->conn), TERN_ALERT_NO_APPLICATION_PROTOCOL);
  /* the server closes with CRYPTO_ERROR 0x100 + alert */
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_set_transport_error_tls_alert(
      &ccerr, ngtcp2_conn_get_tls_alert(w.s->conn), NULL, 0);
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(w.s->conn, NULL, NULL, w.s->q[0], PKT_MAX,
                                                      &ccerr, w.now);
  CHECK(n > 0);
  w.s->qlen[0] = n > 0 ? (size_t)n : 0;
  w.s->nq = n > 0 ? 1 : 0;
  deliver(&w, w.s, w.c);
  ngtcp2_connection_close_error got;
  ngtcp2_conn_get_connection_close_error(w.c->conn, &got);
  CHECK_EQ_INT(got.type, NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT);
  CHECK_EQ_INT(got.error_code, 0x100 + TERN_ALERT_NO_APPLICATION_PROTOCOL);
  CHECK_EQ_INT(w.c->draining, 1);
  printf("ALPN mismatch: server alert %d, client got CONNECTION_CLOSE 0x%llx\n",
         ngtcp2_conn_get_tls_alert(w.s->conn), (unsigned long long)got.error_code);
  teardown(w.c);
  teardown(w.s);
  scfg = orig;
  tern_config_free(bad);
  pki_free(&p);
}

static void test_tokens(void) {
  uint8_t secret[32], tok[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN], a[16], b[16];
  struct sockaddr_in addr = {0}, other;
  struct sockaddr_in6 addr6 = {0};
  ngtcp2_cid scid, odcid, got;
  ngtcp2_tstamp t0 = 1000 * MS;
  RAND_bytes(secret, 32);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(0x7f000001);
  addr.sin_port = htons(5555);
  addr6.sin6_family = AF_INET6;
  addr6.sin6_addr.s6_addr[15] = 1;
  addr6.sin6_port = htons(5555);
  ngtcp2_cid_init(&scid, (const uint8_t *)"retryscid", 9);
  ngtcp2_cid_init(&odcid, (const uint8_t *)"original-dcid-17b", 17);
  const ngtcp2_sockaddr *sa = (const ngtcp2_sockaddr *)&addr;
  ngtcp2_ssize n = ngtcp2_crypto_generate_retry_token(tok, secret, 32, NGTCP2_PROTO_VER_V1, sa,
                                                      sizeof addr, &scid, &odcid, t0);
  CHECK_EQ_INT(n, NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN);
  CHECK_EQ_INT(tok[0], NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY);
  CHECK_EQ_INT(ngtcp2_crypto_verify_retry_token(&got, tok, (size_t)n, secret, 32,
                                                NGTCP2_PROTO_VER_V1, sa, sizeof addr, &scid,
                                                10 * MS, t0 + 5 * MS), 0);
  CHECK(ngtcp2_cid_eq(&got, &odcid));
  /* expired, other port, other address, other version, other CID, tampered, other secret */
  CHECK_EQ_INT(ngtcp2_crypto_verify_retry_token(&got, tok, (size_t)n, secret, 32,
                                                NGTCP2_PROTO_VER_V1, sa, sizeof addr, &scid,
                                                10 * MS, t0 + 11 * MS), -1);
  other = addr;
  other.sin_port = htons(5556);
  CHECK_EQ_INT(ngtcp2_crypto_verify_retry_token(&got, tok, (size_t)n, secret, 32,
                                                NGTCP2_PROTO_VER_V1,
                                                (const ngtcp2_sockaddr *)&other, sizeof other,
                                                &scid, 10 * MS, t0), -1);
  other = addr;
  other.sin_addr.s_addr = htonl(0x7f000002);
  CHECK_EQ_INT(ngtcp2_crypto_verify_retry_token(&got, tok, (size_t)n, secret, 32,
                                                NGTCP2_PROTO_VER_V1,
                                                (const ngtcp2_sockaddr *)&other, sizeof other,
                                                &scid, 10 * MS, t0), -1);
  CHECK_EQ_INT(ngtcp2_crypto_verify_retry_token(&got, tok, (size_t)n, secret, 32, 0x6b3343cf,
                                                sa, sizeof addr, &scid, 10 * MS, t0), -1);
  CHECK_EQ_INT(ngtcp2_crypto_verify_retry_token(&got, tok, (size_t)n, secret, 32,
                                                NGTCP2_PROTO_VER_V1, sa, sizeof addr, &odcid,
                                                10 * MS, t0), -1);
  tok[5] ^= 1;
  CHECK_EQ_INT(ngtcp2_crypto_verify_retry_token(&got, tok, (size_t)n, secret, 32,
                                                NGTCP2_PROTO_VER_V1, sa, sizeof addr, &scid,
                                                10 * MS, t0), -1);
  tok[5] ^= 1;
  secret[0] ^= 1;
  CHECK_EQ_INT(ngtcp2_crypto_verify_retry_token(&got, tok, (size_t)n, secret, 32,
                                                NGTCP2_PROTO_VER_V1, sa, sizeof addr, &scid,
                                                10 * MS, t0), -1);
  secret[0] ^= 1;
  CHECK_EQ_INT(ngtcp2_crypto_verify_retry_token(&got, tok, (size_t)n - 1, secret, 32,
                                                NGTCP2_PROTO_VER_V1, sa, sizeof addr, &scid,
                                                10 * MS, t0), -1);

  /* NEW_TOKEN tokens: any port of the address, within the lifetime; IPv6 too */
  n = ngtcp2_crypto_generate_regular_token(tok, secret, 32, sa, sizeof addr, t0);
  CHECK_EQ_INT(n, NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN);
  CHECK_EQ_INT(tok[0], NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR);
  other = addr;
  other.sin_port = htons(6000);
  CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, secret, 32,
                                                  (const ngtcp2_sockaddr *)&other, sizeof other,
                                                  3600000 * MS, t0 + 1000 * MS), 0);
  CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, secret, 32, sa, sizeof addr,
                                                  3600000 * MS, t0 + 3600001 * MS), -1);
  other.sin_addr.s_addr = htonl(0x7f000002);
  CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, secret, 32,
                                                  (const ngtcp2_sockaddr *)&other, sizeof other,
                                                  3600000 * MS, t0), -1);
  CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, secret, 32,
                                                  (const ngtcp2_sockaddr *)&addr6, sizeof addr6,
                                                  3600000 * MS, t0), -1);
  n = ngtcp2_crypto_generate_regular_token(tok, secret, 32, (const ngtcp2_sockaddr *)&addr6,
                                           sizeof addr6, t0);
  CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, secret, 32,
                                                  (const ngtcp2_sockaddr *)&addr6, sizeof addr6,
                                                  3600000 * MS, t0), 0);
  CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, secret, 32, sa, sizeof addr,
                                                  3600000 * MS, t0), -1);

  /* one key per secret, kept per thread: two secrets in turn, each token
     opening under its own secret only; two tokens of one secret differ
     (random nonces); a secret longer than the cache keeps (100 bytes)
     gets a key per call */
  {
    uint8_t secret2[32], longsecret[100], tok2[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN];
    ngtcp2_ssize n2;
    RAND_bytes(secret2, 32);
    RAND_bytes(longsecret, sizeof longsecret);
    n = ngtcp2_crypto_generate_regular_token(tok, secret, 32, sa, sizeof addr, t0);
    n2 = ngtcp2_crypto_generate_regular_token(tok2, secret2, 32, sa, sizeof addr, t0);
    CHECK_EQ_INT(n2, n);
    CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, secret, 32, sa, sizeof addr,
                                                    3600000 * MS, t0), 0);
    CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, secret2, 32, sa,
                                                    sizeof addr, 3600000 * MS, t0), -1);
    CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok2, (size_t)n2, secret2, 32, sa,
                                                    sizeof addr, 3600000 * MS, t0), 0);
    CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok2, (size_t)n2, secret, 32, sa,
                                                    sizeof addr, 3600000 * MS, t0), -1);
    n2 = ngtcp2_crypto_generate_regular_token(tok2, secret, 32, sa, sizeof addr, t0);
    CHECK(memcmp(tok, tok2, (size_t)n) != 0);
    n = ngtcp2_crypto_generate_regular_token(tok, longsecret, sizeof longsecret, sa, sizeof addr,
                                             t0);
    CHECK_EQ_INT(n, NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN);
    CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, longsecret,
                                                    sizeof longsecret, sa, sizeof addr,
                                                    3600000 * MS, t0), 0);
    longsecret[99] ^= 1;
    CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, longsecret,
                                                    sizeof longsecret, sa, sizeof addr,
                                                    3600000 * MS, t0), -1);
    CHECK_EQ_INT(ngtcp2_crypto_verify_regular_token(tok, (size_t)n, longsecret, 32, sa,
                                                    sizeof addr, 3600000 * MS, t0), -1);
  }

  /* stateless reset tokens: deterministic per (secret, CID) */
  CHECK_EQ_INT(ngtcp2_crypto_generate_stateless_reset_token(a, secret, 32, &scid), 0);
  CHECK_EQ_INT(ngtcp2_crypto_generate_stateless_reset_token(b, secret, 32, &scid), 0);
  CHECK_MEM(a, b, 16);
  CHECK_EQ_INT(ngtcp2_crypto_generate_stateless_reset_token(b, secret, 32, &odcid), 0);
  CHECK(memcmp(a, b, 16) != 0);
  printf("tokens: Retry and NEW_TOKEN tokens bound to address, lifetime and CID\n");
}

int main(void) {
  const char *alpn[] = {"tern-test"};
  pki p;
  if (pki_make(&p, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW) != 0) return 1;
  ccfg = tern_config_new(TERN_CLIENT);
  scfg = tern_config_new(TERN_SERVER);
  X509_STORE *store = X509_STORE_new();
  X509_STORE_add_cert(store, p.ca);
  tern_config_set_trust_store(ccfg, store);
  X509_STORE_free(store);
  tern_config_set_alpn(ccfg, alpn, 1);
  tern_config_set_alpn(scfg, alpn, 1);
  tern_config_set_cert(scfg, p.leaf, NULL, p.leaf_key);
  tern_config_set_clock(ccfg, clock_ms, NULL);
  tern_config_set_clock(scfg, clock_ms, NULL);
  tern_config_set_early_data(ccfg, 0xffffffffu, 0);
  tern_config_set_early_data(scfg, 0xffffffffu, 10000);
  tern_config_set_new_session_callback(ccfg, on_session, NULL);

  test_tokens();
  test_exchange(TERN_TLS_AES_256_GCM_SHA384);
  test_exchange(TERN_TLS_CHACHA20_POLY1305_SHA256);
  test_exchange(TERN_TLS_AES_128_GCM_SHA256);
  test_zero_rtt(0);
  test_zero_rtt(1);
  test_retry();
  test_alpn_mismatch();

  free(client_side.tx);
  free(client_side.rx);
  free(server_side.tx);
  free(server_side.rx);
  tern_config_free(ccfg);
  tern_config_free(scfg);
  pki_free(&p);
  return check_report();
}
