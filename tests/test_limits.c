/*
 * test_limits.c - every limit of codec/limits.h, pushed past by a peer.
 * Each case runs a real connection (TCP through the man in the middle of
 * tests/mitm.c, QUIC through the pair of tools/qpair.c), sends what the
 * limit bounds until one more than it allows, and checks the alert, the
 * error detail, and that the same number minus one (or with application
 * data between) is taken. Alongside, an allocation hook on libcrypto's
 * allocator (tern allocates only through it) follows the bytes the
 * victim holds: the most a hostile peer made one connection hold must stay
 * under HOSTILE_HEAP_MAX, stated here: twice the default message cap for
 * handshake bytes buffered at one level, allocated in doubling steps,
 * which is the largest of the cases (unread application data: 64 KiB
 * taken, held in a buffer grown to at most 192 KiB).
 */

/* What one connection may be made to hold by a hostile peer. */
#define HOSTILE_HEAP_MAX (2u * TERN_MAX_BUFFERED_MESSAGES * (TERN_DEFAULT_MAX_MESSAGE + 4))
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <tern.h>

#include "check.h"
#include "codec/limits.h"
#include "mitm.h"
#include "pki.h"
#include "qpair.h"

/* ---- bytes held: an allocation hook ---- */

#define SLOTS (1u << 18)
static struct {
  void *p;
  size_t n;
} blocks[SLOTS];
static size_t live_bytes, peak_bytes;

static size_t slot_of(const void *p) {
  uintptr_t h = (uintptr_t)p;
  h ^= h >> 17;
  h *= 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 14) & (SLOTS - 1);
}
static void remember(void *p, size_t n) {
  size_t i = slot_of(p);
  while (blocks[i].p != NULL) i = (i + 1) & (SLOTS - 1);
  blocks[i].p = p;
  blocks[i].n = n;
  live_bytes += n;
  if (live_bytes > peak_bytes) peak_bytes = live_bytes;
}
static void forget(void *p) {
  size_t i = slot_of(p);
  while (blocks[i].p != NULL && blocks[i].p != p) i = (i + 1) & (SLOTS - 1);
  if (blocks[i].p == NULL) return;
  live_bytes -= blocks[i].n;
  blocks[i].p = NULL;
  for (size_t j = (i + 1) & (SLOTS - 1); blocks[j].p != NULL; j = (j + 1) & (SLOTS - 1)) {
    void *q = blocks[j].p;
    size_t m = blocks[j].n;
    blocks[j].p = NULL;
    live_bytes -= m;
    remember(q, m);
  }
}
static void *h_malloc(size_t n, const char *f, int l) {
  void *p = malloc(n ? n : 1);
  (void)f, (void)l;
  if (p) remember(p, n);
  return p;
}
static void *h_realloc(void *p, size_t n, const char *f, int l) {
  void *q;
  if (p == NULL) return h_malloc(n, f, l);
  forget(p);
  q = realloc(p, n ? n : 1);
  remember(q ? q : p, q ? n : 0);
  return q;
}
static void h_free(void *p, const char *f, int l) {
  (void)f, (void)l;
  if (p == NULL) return;
  forget(p);
  free(p);
}

/* The most the victim held above base, since base was taken. */
static size_t held_since(size_t base) { return peak_bytes > base ? peak_bytes - base : 0; }
static size_t start_measuring(void) {
  peak_bytes = live_bytes;
  return live_bytes;
}

/* ---- the peers ---- */

static pki server_pki, client_pki;
static uint64_t clock_now = 1800000000000ull;
static uint64_t test_clock(void *u) {
  (void)u;
  return clock_now;
}
static int tickets_seen;
static void on_session(tern_conn *c, const uint8_t *s, size_t len, uint32_t me, void *u) {
  (void)c, (void)s, (void)len, (void)me, (void)u;
  tickets_seen++;
}

static tern_config *server_config(void) {
  static const uint16_t suite = TERN_TLS_AES_128_GCM_SHA256;
  static const char *alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_SERVER);
  STACK_OF(X509) *chain = pki_chain(&server_pki);
  X509_STORE *cas = X509_STORE_new();
  CHECK_EQ_INT(tern_config_set_cert(cfg, server_pki.leaf, chain, server_pki.leaf_key), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  X509_STORE_add_cert(cas, client_pki.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, cas), TERN_OK);
  X509_STORE_free(cas);
  CHECK_EQ_INT(tern_config_set_cipher_suites(cfg, &suite, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_keylog(cfg, mitm_keylog, NULL), TERN_OK);
  return cfg;
}

static tern_config *client_config(void) {
  static const uint16_t suite = TERN_TLS_AES_128_GCM_SHA256;
  static const char *alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  X509_STORE *store = X509_STORE_new();
  STACK_OF(X509) *chain = pki_chain(&client_pki);
  X509_STORE_add_cert(store, server_pki.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, store), TERN_OK);
  X509_STORE_free(store);
  CHECK_EQ_INT(tern_config_set_cert(cfg, client_pki.leaf, chain, client_pki.leaf_key), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  CHECK_EQ_INT(tern_config_set_post_handshake_auth(cfg, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_cipher_suites(cfg, &suite, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_keylog(cfg, mitm_keylog, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_new_session_callback(cfg, on_session, NULL), TERN_OK);
  return cfg;
}

static mitm_record rec;

/* A TCP pair through m, handshake done, everything delivered. */
static void connected(mitm *m, tern_config **c, tern_config **s) {
  *c = client_config();
  *s = server_config();
  CHECK_EQ_INT(mitm_init(m, *c, *s, "localhost"), 0);
  CHECK_EQ_INT(tern_handshake(m->c2s.from), TERN_WANT_READ);
  for (int i = 0; i < 6; i++) {
    CHECK_EQ_INT(mitm_forward(&m->c2s), TERN_OK);
    CHECK_EQ_INT(mitm_forward(&m->s2c), TERN_OK);
  }
  CHECK(tern_conn_handshake_done(m->c2s.from) && tern_conn_handshake_done(m->s2c.from));
}

static void done_with(mitm *m, tern_config *c, tern_config *s) {
  mitm_free(m);
  tern_config_free(c);
  tern_config_free(s);
}

/* The victim failed with alert and a detail holding words. */
static void expect_failed(tern_conn *v, int rc, uint8_t alert, const char *words,
                          const char *what) {
  CHECK(rc < 0);
  CHECK_EQ_INT(tern_conn_alert(v), alert);
  CHECK(strstr(tern_conn_error_detail(v), words) != NULL);
  if (rc >= 0 || tern_conn_alert(v) != alert || !strstr(tern_conn_error_detail(v), words))
    fprintf(stderr, "  %s: rc %d, alert %s: \"%s\" (want \"%s\")\n", what, rc,
            tern_alert_name(tern_conn_alert(v)), tern_conn_error_detail(v), words);
  CHECK(tern_handshake(v) < 0);
}

static int n_limits;
static size_t most_held;
static void limit_done(const char *name, size_t held) {
  n_limits++;
  if (held > most_held) most_held = held;
  printf("%-44s pushed past: refused as expected; victim held at most %zu bytes\n", name, held);
}

/* ---- after the handshake: counts in a row ---- */

/* The n-th NewSessionTicket in a row: the server's real one, replayed. */
static void limit_tickets(void) {
  tern_config *c, *s;
  mitm m;
  uint8_t nst[4096];
  size_t nst_len = 0, base;
  int rc = TERN_OK, epoch;
  connected(&m, &c, &s);
  CHECK_EQ_INT(tern_conn_send_tickets(m.s2c.from, 1), TERN_OK);
  CHECK_EQ_INT(mitm_next(&m.s2c, &rec), 1);
  CHECK(rec.type == MITM_HANDSHAKE && rec.data[0] == 4 && rec.len <= sizeof nst);
  memcpy(nst, rec.data, rec.len);
  nst_len = rec.len;
  epoch = rec.epoch;
  /* data first: the tickets of the handshake count no more */
  CHECK_EQ_INT(mitm_put(&m.s2c, MITM_APPDATA, epoch, (const uint8_t *)"d", 1, 0, 0x0303), 0);
  CHECK_EQ_INT(mitm_deliver(&m.s2c, 0), TERN_OK);
  base = start_measuring();
  tickets_seen = 0;
  /* as many as the limit allows, data, as many again: taken */
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < TERN_MAX_TICKETS_IN_A_ROW && rc == TERN_OK; i++) {
      CHECK_EQ_INT(mitm_put(&m.s2c, MITM_HANDSHAKE, epoch, nst, nst_len, 0, 0x0303), 0);
      rc = mitm_deliver(&m.s2c, 0);
    }
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_APPDATA, epoch, (const uint8_t *)"d", 1, 0, 0x0303), 0);
    if (rc == TERN_OK) rc = mitm_deliver(&m.s2c, 0);
  }
  CHECK_EQ_INT(rc, TERN_OK);
  CHECK_EQ_INT(tickets_seen, 2 * TERN_MAX_TICKETS_IN_A_ROW);
  /* then one more than the limit */
  for (int i = 0; i <= TERN_MAX_TICKETS_IN_A_ROW && rc == TERN_OK; i++) {
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_HANDSHAKE, epoch, nst, nst_len, 0, 0x0303), 0);
    rc = mitm_deliver(&m.s2c, 0);
  }
  expect_failed(m.c2s.from, rc, TERN_ALERT_UNEXPECTED_MESSAGE, "NewSessionTickets in a row",
                "tickets in a row (TCP)");
  limit_done("NewSessionTickets in a row (TCP)", held_since(base));
  done_with(&m, c, s);
}

/* In QUIC, where tern sees no application data: per connection. */
static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};

static void quic_pair(qpair *p, tern_config **c, tern_config **s) {
  *c = client_config();
  *s = server_config();
  CHECK_EQ_INT(tern_config_set_keylog(*c, NULL, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_keylog(*s, NULL, NULL), TERN_OK);
  CHECK_EQ_INT(qpair_init(p, *c, *s, client_tp, sizeof client_tp, server_tp, sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p->c.conn, "localhost"), TERN_OK);
}

static void limit_quic_tickets(void) {
  tern_config *c, *s;
  qpair p;
  uint8_t nst[4096];
  size_t nst_len, base;
  int rc = TERN_OK, i;
  quic_pair(&p, &c, &s);
  tickets_seen = 0;
  CHECK_EQ_INT(qpair_run(&p), TERN_OK);
  CHECK_EQ_INT(tern_conn_send_tickets(p.s.conn, 1), TERN_OK);
  /* one ticket of the server's (after those sent with the handshake) */
  {
    size_t off = 0, last = 0;
    while (off + 4 <= p.s.out_len[3]) {
      last = off;
      off += 4 + ((size_t)p.s.out[3][off + 1] << 16 | (size_t)p.s.out[3][off + 2] << 8 |
                  p.s.out[3][off + 3]);
    }
    nst_len = p.s.out_len[3] - last;
    CHECK(nst_len <= sizeof nst && p.s.out[3][last] == 4);
    memcpy(nst, p.s.out[3] + last, nst_len);
  }
  p.s.out_len[3] = 0;
  base = start_measuring();
  /* the connection's tickets so far count too: up to the limit in all */
  {
    int before = tickets_seen;
    for (i = 0; rc == TERN_OK && i <= TERN_MAX_TICKETS_IN_A_ROW; i++) {
      rc = tern_quic_provide_data(p.c.conn, TERN_LEVEL_APPLICATION, nst, nst_len);
      if (rc == TERN_OK) rc = tern_handshake(p.c.conn);
    }
    CHECK(before > 0);
    CHECK_EQ_INT(tickets_seen, TERN_MAX_TICKETS_IN_A_ROW);
  }
  expect_failed(p.c.conn, rc, TERN_ALERT_UNEXPECTED_MESSAGE, "NewSessionTickets in a row",
                "tickets (QUIC)");
  limit_done("NewSessionTickets per connection (QUIC)", held_since(base));
  qpair_free(&p);
  tern_config_free(c);
  tern_config_free(s);
}

/* Post-handshake CertificateRequests: the client answers each; the one
   past the limit with no data between is refused. */
static void limit_cert_requests(void) {
  tern_config *c, *s;
  mitm m;
  size_t base;
  int rc = TERN_OK, i;
  connected(&m, &c, &s);
  base = start_measuring();
  for (i = 0; i <= TERN_MAX_CERT_REQUESTS_IN_A_ROW && rc == TERN_OK; i++) {
    CHECK_EQ_INT(tern_tls_request_client_auth(m.s2c.from), TERN_OK);
    rc = mitm_forward(&m.s2c);
    if (rc == TERN_OK && i < TERN_MAX_CERT_REQUESTS_IN_A_ROW) CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
  }
  CHECK_EQ_INT(i, TERN_MAX_CERT_REQUESTS_IN_A_ROW + 1);
  CHECK_EQ_INT(tern_tls_client_auths_completed(m.s2c.from), TERN_MAX_CERT_REQUESTS_IN_A_ROW);
  expect_failed(m.c2s.from, rc, TERN_ALERT_UNEXPECTED_MESSAGE, "CertificateRequests in a row",
                "certificate requests");
  limit_done("post-handshake CertificateRequests in a row", held_since(base));
  done_with(&m, c, s);
}

/* KeyUpdates from the client, each in its own record under the key the
   one before made: as many as the limit allows are taken, one more is
   refused. */
static void limit_key_updates(void) {
  static const uint8_t ku[5] = {24, 0, 0, 1, 0};
  tern_config *c, *s;
  mitm m;
  size_t base;
  int rc = TERN_OK, i;
  connected(&m, &c, &s);
  base = start_measuring();
  for (i = 0; i <= TERN_MAX_KEY_UPDATES_IN_A_ROW && rc == TERN_OK; i++) {
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_HANDSHAKE, MITM_AP + i, ku, sizeof ku, 0, 0x0303), 0);
    rc = mitm_deliver(&m.c2s, 0);
  }
  CHECK_EQ_INT(i, TERN_MAX_KEY_UPDATES_IN_A_ROW + 1);
  CHECK_EQ_INT(tern_tls_key_updates(m.s2c.from, TERN_READ), TERN_MAX_KEY_UPDATES_IN_A_ROW);
  expect_failed(m.s2c.from, rc, TERN_ALERT_UNEXPECTED_MESSAGE, "KeyUpdates in a row",
                "key updates");
  limit_done("KeyUpdates in a row", held_since(base));
  done_with(&m, c, s);
}

/* user_canceled after the handshake: ignored, but not without end. */
static void limit_ignored_alerts(void) {
  static const uint8_t canceled[2] = {1, TERN_ALERT_USER_CANCELED};
  tern_config *c, *s;
  mitm m;
  size_t base;
  int rc = TERN_OK, i;
  connected(&m, &c, &s);
  base = start_measuring();
  for (i = 0; i < TERN_MAX_IGNORED_ALERTS_IN_A_ROW && rc == TERN_OK; i++) {
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_ALERT, MITM_AP, canceled, 2, 0, 0x0303), 0);
    rc = mitm_deliver(&m.s2c, 0);
  }
  CHECK_EQ_INT(rc, TERN_OK);
  CHECK_EQ_INT(mitm_put(&m.s2c, MITM_APPDATA, MITM_AP, (const uint8_t *)"d", 1, 0, 0x0303), 0);
  CHECK_EQ_INT(mitm_deliver(&m.s2c, 0), TERN_OK);
  for (i = 0; i <= TERN_MAX_IGNORED_ALERTS_IN_A_ROW && rc == TERN_OK; i++) {
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_ALERT, MITM_AP, canceled, 2, 0, 0x0303), 0);
    rc = mitm_deliver(&m.s2c, 0);
  }
  expect_failed(m.c2s.from, rc, TERN_ALERT_UNEXPECTED_MESSAGE, "ignored alerts in a row",
                "ignored alerts");
  limit_done("ignored alerts in a row", held_since(base));
  done_with(&m, c, s);
}

/* Empty records in a row. */
static void limit_empty_records(void) {
  tern_config *c, *s;
  mitm m;
  size_t base;
  int rc = TERN_OK, i;
  connected(&m, &c, &s);
  base = start_measuring();
  for (i = 0; i <= TERN_TLS_MAX_EMPTY_RECORDS && rc == TERN_OK; i++) {
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_APPDATA, MITM_AP, NULL, 0, 0, 0x0303), 0);
    rc = mitm_deliver(&m.s2c, 0);
  }
  CHECK_EQ_INT(i, TERN_TLS_MAX_EMPTY_RECORDS + 1);
  expect_failed(m.c2s.from, rc, TERN_ALERT_UNEXPECTED_MESSAGE, "empty records in a row",
                "empty records");
  limit_done("empty records in a row", held_since(base));
  done_with(&m, c, s);
}

/* ---- sizes ---- */

/* Unread application data: tern stops taking input. */
static void limit_app_buffer(void) {
  static uint8_t chunk[16000];
  tern_config *c, *s;
  mitm m;
  size_t base, unread;
  connected(&m, &c, &s);
  memset(chunk, 'x', sizeof chunk);
  base = start_measuring();
  for (int i = 0; i < 20; i++)
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_APPDATA, MITM_AP, chunk, sizeof chunk, 0, 0x0303), 0);
  CHECK_EQ_INT(mitm_deliver(&m.s2c, 0), TERN_OK);
  unread = tern_tls_pending(m.c2s.from);
  CHECK(unread >= TERN_TLS_APP_BUFFER && unread < TERN_TLS_APP_BUFFER + sizeof chunk);
  CHECK(m.s2c.out_len > 0); /* the rest waits with the sender */
  CHECK(held_since(base) < 4 * TERN_TLS_APP_BUFFER);
  if (held_since(base) > most_held) most_held = held_since(base);
  printf("%-44s %zu bytes taken of %zu sent, the rest left to the sender; victim held at most "
         "%zu bytes\n", "unread application data", unread, 20 * sizeof chunk, held_since(base));
  n_limits++;
  done_with(&m, c, s);
}

/* Handshake bytes: a message over the cap, and buffering at a level the
   victim does not read yet (QUIC). */
static void limit_handshake_bytes(void) {
  tern_config *c, *s;
  qpair p;
  uint8_t *junk;
  size_t base, cap = TERN_DEFAULT_MAX_MESSAGE, sent = 0;
  int rc = TERN_OK;
  /* a ClientHello header declaring one byte over the cap */
  quic_pair(&p, &c, &s);
  {
    uint8_t h[4] = {1, (uint8_t)((cap - 3) >> 16), (uint8_t)((cap - 3) >> 8), (uint8_t)(cap - 3)};
    base = start_measuring();
    rc = tern_quic_provide_data(p.s.conn, TERN_LEVEL_INITIAL, h, 4);
    if (rc == TERN_OK) rc = tern_handshake(p.s.conn);
    expect_failed(p.s.conn, rc, TERN_ALERT_ILLEGAL_PARAMETER, "cap", "message over the cap");
    limit_done("a handshake message over the cap", held_since(base));
  }
  qpair_free(&p);
  tern_config_free(c);
  tern_config_free(s);
  /* bytes at the HANDSHAKE level before the server reads it */
  quic_pair(&p, &c, &s);
  junk = calloc(1, 16384);
  base = start_measuring();
  rc = TERN_OK;
  while (rc == TERN_OK && sent < 4 * cap) {
    rc = tern_quic_provide_data(p.s.conn, TERN_LEVEL_HANDSHAKE, junk, 16384);
    sent += rc == TERN_OK ? 16384 : 0;
  }
  CHECK(sent <= TERN_MAX_BUFFERED_MESSAGES * (cap + 4));
  expect_failed(p.s.conn, rc, TERN_ALERT_ILLEGAL_PARAMETER, "too much buffered",
                "buffered handshake data");
  CHECK(held_since(base) <= 2 * TERN_MAX_BUFFERED_MESSAGES * (cap + 4));
  limit_done("handshake bytes buffered at a level (QUIC)", held_since(base));
  free(junk);
  qpair_free(&p);
  tern_config_free(c);
  tern_config_free(s);
}

/* A certificate chain longer than TERN_CERT_MAX_CHAIN. */
static void limit_chain(void) {
  tern_config *c = client_config(), *s = server_config();
  mitm m;
  uint8_t *msg, *cert;
  size_t len = 0, base, cert_len, off;
  int rc, epoch = MITM_HS, got;
  CHECK_EQ_INT(mitm_init(&m, c, s, "localhost"), 0);
  CHECK_EQ_INT(tern_handshake(m.c2s.from), TERN_WANT_READ);
  CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
  /* the server's flight: pass the ServerHello, rebuild its Certificate
     with the leaf repeated TERN_CERT_MAX_CHAIN + 1 times */
  msg = malloc(65536);
  while ((got = mitm_next(&m.s2c, &rec)) == 1) {
    if (rec.type != MITM_HANDSHAKE || rec.epoch != MITM_HS) {
      CHECK_EQ_INT(mitm_put(&m.s2c, rec.type, rec.epoch, rec.data, rec.len, 0, 0x0303), 0);
      continue;
    }
    memcpy(msg + len, rec.data, rec.len);
    len += rec.len;
  }
  /* EncryptedExtensions first, then Certificate: context (1 + 0), list */
  off = 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]);
  CHECK_EQ_INT(msg[off], 11);
  {
    const uint8_t *entry = msg + off + 4 + 1 + 3;
    size_t entry_len = 3 + ((size_t)entry[0] << 16 | (size_t)entry[1] << 8 | entry[2]);
    entry_len += 2 + ((size_t)entry[entry_len] << 8 | entry[entry_len + 1]);
    cert = malloc(4 + 1 + 3 + (TERN_CERT_MAX_CHAIN + 1) * entry_len);
    cert_len = 4 + 1 + 3;
    for (int i = 0; i <= TERN_CERT_MAX_CHAIN; i++) {
      memcpy(cert + cert_len, entry, entry_len);
      cert_len += entry_len;
    }
    cert[0] = 11;
    cert[1] = (uint8_t)((cert_len - 4) >> 16);
    cert[2] = (uint8_t)((cert_len - 4) >> 8);
    cert[3] = (uint8_t)(cert_len - 4);
    cert[4] = 0;
    cert[5] = (uint8_t)((cert_len - 8) >> 16);
    cert[6] = (uint8_t)((cert_len - 8) >> 8);
    cert[7] = (uint8_t)(cert_len - 8);
  }
  CHECK_EQ_INT(mitm_put(&m.s2c, MITM_HANDSHAKE, epoch, msg, off, 0, 0x0303), 0);
  for (size_t o = 0; o < cert_len; o += 16000)
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_HANDSHAKE, epoch, cert + o,
                          cert_len - o < 16000 ? cert_len - o : 16000, 0, 0x0303), 0);
  base = start_measuring();
  rc = mitm_deliver(&m.s2c, 0);
  expect_failed(m.c2s.from, rc, TERN_ALERT_BAD_CERTIFICATE, "longer than",
                "certificate chain too long");
  limit_done("certificates in a chain", held_since(base));
  free(msg);
  free(cert);
  done_with(&m, c, s);
}

/* A session blob longer than TERN_SESSION_MAX is refused. */
static void limit_session_blob(void) {
  tern_config *c = client_config();
  tern_conn *cl = tern_conn_new_tls(c, NULL);
  uint8_t *blob = calloc(1, TERN_SESSION_MAX + 1);
  CHECK_EQ_INT(tern_conn_set_server_name(cl, "localhost"), TERN_OK);
  CHECK(tern_conn_set_session(cl, blob, TERN_SESSION_MAX + 1, clock_now) < 0);
  CHECK(tern_conn_set_session(cl, blob, TERN_SESSION_MAX, clock_now) < 0); /* not a session */
  n_limits++;
  printf("%-44s %d bytes refused\n", "session blob size", TERN_SESSION_MAX + 1);
  free(blob);
  tern_conn_free(cl);
  tern_config_free(c);
}

int main(void) {
  if (!CRYPTO_set_mem_functions(h_malloc, h_realloc, h_free)) return 1;
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 1, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&client_pki, PKI_KEY_P256, "client", 0, PKI_VALID_NOW), 0);
  limit_key_updates();
  limit_tickets();
  limit_quic_tickets();
  limit_cert_requests();
  limit_ignored_alerts();
  limit_empty_records();
  limit_app_buffer();
  limit_handshake_bytes();
  limit_chain();
  limit_session_blob();
  CHECK(most_held <= HOSTILE_HEAP_MAX);
  printf("limits: %d pushed past; the most one connection was made to hold: %zu bytes (bound "
         "%u)\n", n_limits, most_held, HOSTILE_HEAP_MAX);
  pki_free(&server_pki);
  pki_free(&client_pki);
  return check_report();
}
