/*
 * test_conformance.c - tern against a hostile peer, rule by rule (RFC
 * 8446 §4, §5, §6): each case runs a real handshake through a record-level
 * man in the middle (tests/mitm.c) that rewrites, splits, joins, injects
 * and corrupts records and messages, and checks the exact alert tern
 * sends and that the connection stays unusable afterwards. TCP in both
 * roles, QUIC where a rule applies there too (through the in-memory
 * pair of tools/qpair.c, whose handshake bytes the test edits per level).
 *
 * Each rule prints one line with its case count; docs/conformance.md
 * lists them with the alerts seen.
 */
#include <openssl/x509.h>
#include <tern.h>

#include "check.h"
#include "mitm.h"
#include "pki.h"
#include "qpair.h"

#define HOST "localhost"

/* Handshake message types and extensions the cases edit. */
#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_NEW_SESSION_TICKET 4
#define HS_END_OF_EARLY_DATA 5
#define HS_ENCRYPTED_EXTENSIONS 8
#define HS_FINISHED 20
#define HS_KEY_UPDATE 24
#define EXT_SUPPORTED_GROUPS 0x000a
#define EXT_SIGNATURE_ALGORITHMS 0x000d
#define EXT_ALPN 0x0010
#define EXT_SUPPORTED_VERSIONS 0x002b
#define EXT_KEY_SHARE 0x0033

static pki server_pki;
static uint64_t clock_now = 1800000000000ull;
static uint64_t test_clock(void *u) {
  (void)u;
  return clock_now;
}

static uint8_t session[TERN_SESSION_MAX_BYTES];
static size_t session_len;
static void on_session(tern_conn *c, const uint8_t *s, size_t len, uint32_t me, void *u) {
  (void)c, (void)me, (void)u;
  memcpy(session, s, len);
  session_len = len;
}

static const uint8_t ticket_name[16] = "conformance-key";
static const uint8_t ticket_key[32] = "a ticket key shared by servers";

/* A server as the cases want it: AES-128-GCM only (the middle's suite). */
static tern_config *server_config(void) {
  static const uint16_t suite = TERN_TLS_AES_128_GCM_SHA256;
  tern_config *cfg = tern_config_new(TERN_SERVER);
  STACK_OF(X509) *chain = pki_chain(&server_pki);
  CHECK_EQ_INT(tern_config_set_cert(cfg, server_pki.leaf, chain, server_pki.leaf_key), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  CHECK_EQ_INT(tern_config_set_cipher_suites(cfg, &suite, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_keylog(cfg, mitm_keylog, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_ticket_key(cfg, ticket_name, ticket_key), TERN_OK);
  return cfg;
}

static tern_config *client_config(void) {
  static const uint16_t suite = TERN_TLS_AES_128_GCM_SHA256;
  /* the classical groups: these cases edit the client's X25519 share
     (test_group covers the hybrid shares' checks) */
  static const uint16_t groups[] = {TERN_GROUP_X25519, TERN_GROUP_SECP256R1,
                                    TERN_GROUP_X448, TERN_GROUP_SECP384R1,
                                    TERN_GROUP_SECP521R1};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  CHECK_EQ_INT(tern_config_set_groups(cfg, groups, sizeof groups / sizeof groups[0]), TERN_OK);
  X509_STORE *store = X509_STORE_new();
  X509_STORE_add_cert(store, server_pki.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, store), TERN_OK);
  X509_STORE_free(store);
  CHECK_EQ_INT(tern_config_set_cipher_suites(cfg, &suite, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_keylog(cfg, mitm_keylog, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_new_session_callback(cfg, on_session, NULL), TERN_OK);
  return cfg;
}

/* ------------------------------------------------------------------ */
/* Bytes                                                               */
/* ------------------------------------------------------------------ */

static void put16(uint8_t *p, size_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put24(uint8_t *p, size_t v) {
  p[0] = (uint8_t)(v >> 16);
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)v;
}
static size_t get16(const uint8_t *p) { return (size_t)p[0] << 8 | p[1]; }
static size_t get24(const uint8_t *p) { return (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2]; }

/* A growable message buffer (one handshake message, header included). */
typedef struct msgbuf {
  uint8_t *p;
  size_t len, cap;
} msgbuf;

static void mb_set(msgbuf *m, const uint8_t *p, size_t len) {
  if (len > m->cap) {
    m->p = realloc(m->p, len);
    if (m->p == NULL) abort();
    m->cap = len;
  }
  if (len) memcpy(m->p, p, len);
  m->len = len;
}

/* Replaces m->p[off..off+old) with repl[0..n), fixing the message length. */
static void mb_splice(msgbuf *m, size_t off, size_t old, const uint8_t *repl, size_t n) {
  size_t len = m->len - old + n;
  if (len > m->cap) {
    m->p = realloc(m->p, len);
    if (m->p == NULL) abort();
    m->cap = len;
  }
  memmove(m->p + off + n, m->p + off + old, m->len - off - old);
  memcpy(m->p + off, repl, n);
  m->len = len;
  put24(m->p + 1, m->len - 4);
}

/* Where the extension block (its 2-byte length) of a message starts. */
static size_t exts_offset(const msgbuf *m) {
  const uint8_t *b = m->p + 4;
  size_t off;
  if (m->p[0] == HS_ENCRYPTED_EXTENSIONS) return 4;
  off = 2 + 32;
  off += 1 + b[off];                        /* legacy_session_id */
  if (m->p[0] == HS_CLIENT_HELLO) {
    off += 2 + get16(b + off);              /* cipher_suites */
    off += 1 + b[off];                      /* compression methods */
  } else {
    off += 2 + 1;                           /* cipher_suite, compression */
  }
  return 4 + off;
}

/* Finds extension type: the offset of its data and its length; 0 if none. */
static int find_ext(const msgbuf *m, uint16_t type, size_t *off, size_t *len) {
  size_t at = exts_offset(m), end = at + 2 + get16(m->p + at);
  for (at += 2; at + 4 <= end;) {
    size_t t = get16(m->p + at), l = get16(m->p + at + 2);
    if (t == type) {
      *off = at + 4;
      *len = l;
      return 1;
    }
    at += 4 + l;
  }
  return 0;
}

/* Replaces the data of extension type (appending it when absent). */
static void set_ext(msgbuf *m, uint16_t type, const uint8_t *data, size_t n) {
  size_t off, len, at = exts_offset(m), block = get16(m->p + at);
  if (find_ext(m, type, &off, &len)) {
    mb_splice(m, off, len, data, n);
    put16(m->p + off - 2, n);
    put16(m->p + at, block - len + n);
  } else {
    uint8_t *e = malloc(4 + n);
    if (e == NULL) abort();
    put16(e, type);
    put16(e + 2, n);
    memcpy(e + 4, data, n);
    mb_splice(m, at + 2 + block, 0, e, 4 + n);
    put16(m->p + at, block + 4 + n);
    free(e);
  }
}

/* ------------------------------------------------------------------ */
/* The middle                                                          */
/* ------------------------------------------------------------------ */

static mitm_record rec;  /* one record at a time; large */

/* A message the case needs: without it the case cannot go on. */
#define TAKE(expr)                                                       \
  do {                                                                   \
    if (!(expr)) {                                                       \
      fprintf(stderr, "%s:%d: no such message: %s\n", __FILE__, __LINE__, #expr); \
      abort();                                                           \
    }                                                                    \
  } while (0)

/* The other direction of d. */
static mitm_dir *back_of(mitm *m, mitm_dir *d) { return d == &m->c2s ? &m->s2c : &m->c2s; }

/* Starts a connection pair through m: the client's ClientHello is
   written (offering the stored session when resume), nothing delivered. */
static void start_as(mitm *m, tern_config *c, tern_config *s, int resume) {
  CHECK_EQ_INT(mitm_init(m, c, s, HOST), 0);
  if (resume)
    CHECK_EQ_INT(tern_conn_set_session(m->c2s.from, session, session_len, clock_now), TERN_OK);
  CHECK_EQ_INT(tern_handshake(m->c2s.from), TERN_WANT_READ);
}

static void start(mitm *m, tern_config *c, tern_config *s) { start_as(m, c, s, 0); }

/* Forwards both ways until both sides are done (or nothing moves). */
static int finish(mitm *m) {
  for (int i = 0; i < 20; i++) {
    int a = mitm_forward(&m->c2s), b;
    if (a != TERN_OK) return a;
    b = mitm_forward(&m->s2c);
    if (b != TERN_OK) return b;
    if (tern_conn_handshake_done(m->c2s.from) && tern_conn_handshake_done(m->s2c.from)) {
      size_t n;
      if (tern_tls_output(m->s2c.from, &n) == NULL && tern_tls_output(m->c2s.from, &n) == NULL)
        return TERN_OK;
    }
  }
  return TERN_ERR_STATE;
}

/* A whole handshake through m with the given configurations. */
static int full_handshake(mitm *m, tern_config *c, tern_config *s) {
  start(m, c, s);
  return finish(m);
}

/* Reads records from d->from until a handshake message of type t is
   whole (assembled across records of one epoch); keeps the records that
   came before it (re-put for d->to) and returns the message in *out, its
   epoch in *epoch, and what followed it in the same record in *rest. */
static int take_message(mitm_dir *d, uint8_t t, msgbuf *out, int *epoch, msgbuf *rest) {
  msgbuf acc = {0};
  int got;
  while ((got = mitm_next(d, &rec)) == 1) {
    size_t off = 0;
    if (rec.type != MITM_HANDSHAKE) {
      CHECK_EQ_INT(mitm_put(d, rec.type, rec.epoch, rec.data, rec.len, 0, rec.version), 0);
      continue;
    }
    /* append to what we hold of this epoch's handshake stream */
    if (acc.cap < acc.len + rec.len) {
      acc.p = realloc(acc.p, acc.len + rec.len);
      if (acc.p == NULL) abort();
      acc.cap = acc.len + rec.len;
    }
    memcpy(acc.p + acc.len, rec.data, rec.len);
    acc.len += rec.len;
    while (acc.len - off >= 4 && acc.len - off >= 4 + get24(acc.p + off + 1)) {
      size_t ml = 4 + get24(acc.p + off + 1);
      if (acc.p[off] == t) {
        if (off) CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, rec.epoch, acc.p, off, 0, 0x0303), 0);
        mb_set(out, acc.p + off, ml);
        mb_set(rest, acc.p + off + ml, acc.len - off - ml);
        *epoch = rec.epoch;
        free(acc.p);
        return 1;
      }
      off += ml;
    }
    if (off == acc.len) {
      CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, rec.epoch, acc.p, acc.len, 0, rec.version), 0);
      acc.len = 0;
    }
  }
  free(acc.p);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Verdicts                                                            */
/* ------------------------------------------------------------------ */

static int n_cases;

/*
 * The victim (d->to) must have failed with alert: rc is what its last
 * call returned; its output carries that alert (unless it only heard
 * one), and every later call fails.
 */
static void expect_alert_tls(mitm *m, mitm_dir *d, int rc, uint8_t alert, int sends,
                             const char *what) {
  tern_conn *v = d->to;
  uint8_t buf[8];
  size_t n;
  int seen = mitm_pending_alert(back_of(m, d));
  n_cases++;
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(v), alert);
  CHECK_EQ_INT(seen, sends ? alert : -1);
  if (rc != TERN_ERR_ALERT || tern_conn_alert(v) != alert || seen != (sends ? alert : -1))
    fprintf(stderr, "  %s: rc %d, alert %s, sent %d: %s\n", what, rc,
            tern_alert_name(tern_conn_alert(v)), seen, tern_conn_error_detail(v));
  /* unusable for good */
  CHECK(tern_tls_feed(v, (const uint8_t *)"\x17\x03\x03\x00\x01x", 6, NULL) < 0);
  CHECK(tern_handshake(v) < 0);
  CHECK(tern_tls_write(v, (const uint8_t *)"x", 1) < 0);
  CHECK(tern_tls_read(v, buf, sizeof buf, &n) != TERN_OK);
}

/* Delivers what was put for d->to and expects it to fail with alert. */
static void deliver_expect(mitm *m, mitm_dir *d, uint8_t alert, const char *what) {
  int rc = mitm_deliver(d, 0);
  if (rc == TERN_OK) rc = tern_handshake(d->to) < 0 ? tern_handshake(d->to) : TERN_OK;
  expect_alert_tls(m, d, rc, alert, 1, what);
}

/* Application data from a to b through the middle arrives intact. */
static void transfer(mitm *m, mitm_dir *d, size_t n) {
  uint8_t *data = malloc(n), *got = malloc(n);
  size_t have = 0, k;
  (void)m;
  for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(i * 13 + n);
  CHECK_EQ_INT(tern_tls_write(d->from, data, n), TERN_OK);
  for (int i = 0; i < 100 && have < n; i++) {
    CHECK_EQ_INT(mitm_forward(d), TERN_OK);
    while (tern_tls_read(d->to, got + have, n - have, &k) == TERN_OK) have += k;
  }
  CHECK_EQ_INT(have, n);
  CHECK(have == n && memcmp(got, data, n) == 0);
  free(data);
  free(got);
}

/* ------------------------------------------------------------------ */
/* Rule 1: legacy_record_version is ignored (§5.1)                     */
/* ------------------------------------------------------------------ */

/* Forwards every record of d with version v instead of its own. */
static int forward_as(mitm_dir *d, uint16_t v) {
  int got;
  while ((got = mitm_next(d, &rec)) == 1)
    CHECK_EQ_INT(mitm_put(d, rec.type, rec.epoch, rec.data, rec.len, 0, v), 0);
  if (got < 0) return TERN_ERR_STATE;
  return mitm_deliver(d, 0);
}

static void rule_record_version(void) {
  static const uint16_t versions[] = {0x0000, 0x0300, 0x0301, 0x0302, 0x0303,
                                      0x0304, 0x7f1c, 0xffff, 0x0103};
  int done = 0;
  for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
    tern_config *c = client_config(), *s = server_config();
    mitm m;
    int rc = TERN_OK;
    start(&m, c, s);
    for (int r = 0; r < 10 && rc == TERN_OK && !(tern_conn_handshake_done(m.c2s.from) &&
                                                   tern_conn_handshake_done(m.s2c.from));
         r++) {
      rc = forward_as(&m.c2s, versions[i]);
      if (rc == TERN_OK) rc = forward_as(&m.s2c, versions[i]);
    }
    CHECK_EQ_INT(rc, TERN_OK);
    CHECK(tern_conn_handshake_done(m.c2s.from) && tern_conn_handshake_done(m.s2c.from));
    /* application data both ways, under that version too */
    CHECK_EQ_INT(tern_tls_write(m.c2s.from, (const uint8_t *)"ping", 4), TERN_OK);
    CHECK_EQ_INT(forward_as(&m.c2s, versions[i]), TERN_OK);
    CHECK_EQ_INT(tern_tls_write(m.s2c.from, (const uint8_t *)"pong", 4), TERN_OK);
    CHECK_EQ_INT(forward_as(&m.s2c, versions[i]), TERN_OK);
    {
      uint8_t got[8];
      size_t k = 0;
      CHECK_EQ_INT(tern_tls_read(m.s2c.from, got, sizeof got, &k), TERN_OK);
      CHECK(k == 4 && memcmp(got, "ping", 4) == 0);
      CHECK_EQ_INT(tern_tls_read(m.c2s.from, got, sizeof got, &k), TERN_OK);
      CHECK(k == 4 && memcmp(got, "pong", 4) == 0);
    }
    done += tern_conn_handshake_done(m.c2s.from) && tern_conn_handshake_done(m.s2c.from);
    n_cases += 2;
    mitm_free(&m);
    tern_config_free(c);
    tern_config_free(s);
  }
  printf("rule 1 (legacy_record_version ignored): %d handshakes with every record at one of "
         "%zu versions, both roles\n", done, sizeof versions / sizeof versions[0]);
}

/* ------------------------------------------------------------------ */
/* Rule 2: legacy_version <= 0x0300 and no TLS 1.3 (§D.5, §4.2.1)      */
/* ------------------------------------------------------------------ */

typedef void (*edit_fn)(msgbuf *msg, uintptr_t arg);

static void edit_legacy_version(msgbuf *msg, uintptr_t v) { put16(msg->p + 4, (size_t)v); }

/* supported_versions listing only v (a ClientHello), or selecting v. */
static void edit_supported_versions(msgbuf *msg, uintptr_t v) {
  uint8_t d[3];
  if (msg->p[0] == HS_CLIENT_HELLO) {
    d[0] = 2;
    put16(d + 1, (size_t)v);
    set_ext(msg, EXT_SUPPORTED_VERSIONS, d, 3);
  } else {
    put16(d, (size_t)v);
    set_ext(msg, EXT_SUPPORTED_VERSIONS, d, 2);
  }
}

/*
 * The ClientHello (server the victim) or the ServerHello (client the
 * victim) edited by fn: the victim must answer with alert.
 */
static void hello_case(int to_server, edit_fn fn, uintptr_t arg, uint8_t alert, const char *what) {
  tern_config *c = client_config(), *s = server_config();
  msgbuf msg = {0}, rest = {0};
  int epoch;
  mitm m;
  mitm_dir *d;
  start(&m, c, s);
  if (!to_server) CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
  d = to_server ? &m.c2s : &m.s2c;
  TAKE(take_message(d, to_server ? HS_CLIENT_HELLO : HS_SERVER_HELLO, &msg, &epoch, &rest));
  fn(&msg, arg);
  CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, epoch, msg.p, msg.len, 0, 0x0303), 0);
  if (rest.len) CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, epoch, rest.p, rest.len, 0, 0x0303), 0);
  deliver_expect(&m, d, alert, what);
  free(msg.p);
  free(rest.p);
  mitm_free(&m);
  tern_config_free(c);
  tern_config_free(s);
}

/* The same over QUIC: the hello at the INITIAL level edited by fn. */
static void quic_hello_case(int to_server, edit_fn fn, uintptr_t arg, uint8_t alert,
                            const char *what);

static void rule_hello_versions(void) {
  static const uint16_t old[] = {0x0300, 0x0200, 0x0000, 0x0103, 0x0002};
  int before = n_cases;
  for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
    hello_case(1, edit_legacy_version, old[i], TERN_ALERT_PROTOCOL_VERSION,
               "ClientHello legacy_version");
    hello_case(0, edit_legacy_version, old[i], TERN_ALERT_PROTOCOL_VERSION,
               "ServerHello legacy_version");
    quic_hello_case(1, edit_legacy_version, old[i], TERN_ALERT_PROTOCOL_VERSION,
                    "QUIC ClientHello legacy_version");
    quic_hello_case(0, edit_legacy_version, old[i], TERN_ALERT_PROTOCOL_VERSION,
                    "QUIC ServerHello legacy_version");
  }
  hello_case(1, edit_supported_versions, 0x0303, TERN_ALERT_PROTOCOL_VERSION,
             "supported_versions without TLS 1.3");
  hello_case(0, edit_supported_versions, 0x0303, TERN_ALERT_PROTOCOL_VERSION,
             "ServerHello selecting TLS 1.2");
  quic_hello_case(1, edit_supported_versions, 0x0303, TERN_ALERT_PROTOCOL_VERSION,
                  "QUIC supported_versions without TLS 1.3");
  printf("rule 2 (legacy_version <= 0x0300, no TLS 1.3): %d cases, protocol_version from "
         "client and server, TCP and QUIC\n", n_cases - before);
}

/* ------------------------------------------------------------------ */
/* QUIC: the pair of tools/qpair.c, hellos edited at INITIAL           */
/* ------------------------------------------------------------------ */

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};

static void quic_configs(tern_config **c, tern_config **s) {
  static const char *alpn[] = {"h3"};
  *c = client_config();
  *s = server_config();
  /* the pair's connections carry a qside, not a middle */
  CHECK_EQ_INT(tern_config_set_keylog(*c, NULL, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_keylog(*s, NULL, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(*c, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(*s, alpn, 1), TERN_OK);
}

/* The victim of a QUIC case must have failed with alert for good. */
static void expect_alert_quic(tern_conn *v, int rc, uint8_t alert, const char *what) {
  n_cases++;
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(v), alert);
  if (rc != TERN_ERR_ALERT || tern_conn_alert(v) != alert)
    fprintf(stderr, "  %s: rc %d, alert %s: %s\n", what, rc, tern_alert_name(tern_conn_alert(v)),
            tern_conn_error_detail(v));
  CHECK_EQ_INT(tern_handshake(v), TERN_ERR_ALERT);
  CHECK(tern_quic_provide_data(v, TERN_LEVEL_HANDSHAKE, (const uint8_t *)"\x14", 1) < 0);
}

/* The first message held at level by side q, as a msgbuf (which it must
   fill entirely), and puts back the edited bytes followed by extra. */
static void quic_edit(qside *q, tern_level level, edit_fn fn, uintptr_t arg, const uint8_t *extra,
                      size_t extra_len) {
  msgbuf msg = {0};
  size_t first = 4 + get24(q->out[level] + 1), tail = q->out_len[level] - first;
  uint8_t *rest = malloc(tail + 1);
  if (rest == NULL) abort();
  memcpy(rest, q->out[level] + first, tail);
  mb_set(&msg, q->out[level], first);
  if (fn) fn(&msg, arg);
  if (msg.len + extra_len + tail > q->out_cap[level]) {
    q->out[level] = realloc(q->out[level], msg.len + extra_len + tail);
    if (q->out[level] == NULL) abort();
    q->out_cap[level] = msg.len + extra_len + tail;
  }
  memcpy(q->out[level], msg.p, msg.len);
  if (extra_len) memcpy(q->out[level] + msg.len, extra, extra_len);
  memcpy(q->out[level] + msg.len + extra_len, rest, tail);
  q->out_len[level] = msg.len + extra_len + tail;
  free(rest);
  free(msg.p);
}

static void quic_hello_case(int to_server, edit_fn fn, uintptr_t arg, uint8_t alert,
                            const char *what) {
  tern_config *c, *s;
  qpair p;
  int rc;
  quic_configs(&c, &s);
  CHECK_EQ_INT(qpair_init(&p, c, s, client_tp, sizeof client_tp, server_tp, sizeof server_tp), 0);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  if (!to_server) CHECK(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL) >= 0);
  quic_edit(to_server ? &p.c : &p.s, TERN_LEVEL_INITIAL, fn, arg, NULL, 0);
  rc = qpair_deliver(&p, to_server ? &p.c : &p.s, to_server ? &p.s : &p.c, TERN_LEVEL_INITIAL);
  expect_alert_quic(to_server ? p.s.conn : p.c.conn, rc, alert, what);
  qpair_free(&p);
  tern_config_free(c);
  tern_config_free(s);
}

/* ------------------------------------------------------------------ */
/* Rule 3: undecryptable records (§5.2, §4.2.10)                       */
/* ------------------------------------------------------------------ */

static int refuse_early(tern_conn *c, void *u) {
  (void)c, (void)u;
  return 0;
}

/* A session whose ticket allows 0-RTT (16384 bytes). */
static void get_early_session(void) {
  tern_config *c = client_config(), *s = server_config();
  mitm m;
  CHECK_EQ_INT(tern_config_set_early_data(s, 16384, 10000), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(c, 1, 0), TERN_OK);
  session_len = 0;
  CHECK_EQ_INT(full_handshake(&m, c, s), TERN_OK);
  CHECK(session_len > 0);
  mitm_free(&m);
  tern_config_free(c);
  tern_config_free(s);
}

static const uint8_t garbage[40] = "forty bytes no key in this world opens..";

static void rule_undecryptable(void) {
  int before = n_cases, skipped_ok = 0;
  /* a full handshake: once a side has keys, a record that does not open
     is bad_record_mac (both roles) */
  for (int to_server = 0; to_server <= 1; to_server++) {
    tern_config *c = client_config(), *s = server_config();
    msgbuf msg = {0}, rest = {0};
    mitm m;
    int epoch;
    session_len = 0;
    start(&m, c, s);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
    if (to_server) {
      CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
      /* the client's Finished, after a record no key opens */
      mitm_put(&m.c2s, MITM_APPDATA, MITM_PLAIN, garbage, sizeof garbage, 0, 0x0303);
      CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_ERR_ALERT);
      expect_alert_tls(&m, &m.c2s, TERN_ERR_ALERT, TERN_ALERT_BAD_RECORD_MAC, 1,
                       "garbage to a server with handshake keys");
    } else {
      /* after the ServerHello the client has keys: garbage before EE */
      TAKE(take_message(&m.s2c, HS_SERVER_HELLO, &msg, &epoch, &rest));
      CHECK_EQ_INT(mitm_put(&m.s2c, MITM_HANDSHAKE, epoch, msg.p, msg.len, 0, 0x0303), 0);
      mitm_put(&m.s2c, MITM_APPDATA, MITM_PLAIN, garbage, sizeof garbage, 0, 0x0303);
      deliver_expect(&m, &m.s2c, TERN_ALERT_BAD_RECORD_MAC, "garbage to a client with keys");
    }
    free(msg.p);
    free(rest.p);
    mitm_free(&m);
    tern_config_free(c);
    tern_config_free(s);
  }

  /* refused 0-RTT, no HelloRetryRequest: skipped until a record opens
     under the handshake keys, then bad_record_mac */
  for (int over = 0; over <= 1; over++) {
    tern_config *c = client_config(), *s = server_config();
    uint8_t early[1000];
    mitm m;
    memset(early, 'e', sizeof early);
    get_early_session();
    CHECK_EQ_INT(tern_config_set_early_data(c, 1, 0), TERN_OK);
    CHECK_EQ_INT(tern_config_set_early_data(s, over ? 100 : 16384, 10000), TERN_OK);
    CHECK_EQ_INT(tern_config_set_early_data_callback(s, refuse_early, NULL), TERN_OK);
    start_as(&m, c, s, 1);
    CHECK_EQ_INT(tern_tls_write(m.c2s.from, early, over ? sizeof early : 200), TERN_OK);
    if (over) {
      /* more refused early data than the server's max_early_data_size */
      CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_ERR_ALERT);
      expect_alert_tls(&m, &m.c2s, TERN_ERR_ALERT, TERN_ALERT_UNEXPECTED_MESSAGE, 1,
                       "refused 0-RTT beyond max_early_data_size");
    } else {
      CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
      CHECK_EQ_INT(tern_conn_early_data_status(m.s2c.from), TERN_EARLY_DATA_REJECTED);
      CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
      /* one more early record, still before the client's second flight */
      CHECK_EQ_INT(mitm_put(&m.c2s, MITM_APPDATA, MITM_EARLY, early, 50, 0, 0x0303), 0);
      CHECK_EQ_INT(mitm_deliver(&m.c2s, 0), TERN_OK);
      skipped_ok++;
      /* the client's Finished opens: skipping is over */
      CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
      CHECK_EQ_INT(tern_conn_handshake_done(m.s2c.from), 1);
      CHECK_EQ_INT(mitm_put(&m.c2s, MITM_APPDATA, MITM_EARLY, early, 50, 0, 0x0303), 0);
      deliver_expect(&m, &m.c2s, TERN_ALERT_BAD_RECORD_MAC,
                     "a 0-RTT record after the client's second flight");
    }
    mitm_free(&m);
    tern_config_free(c);
    tern_config_free(s);
  }

  /* refused 0-RTT after a HelloRetryRequest: skipped before the second
     ClientHello, bad_record_mac after it */
  {
    static const uint16_t p256 = TERN_GROUP_SECP256R1;
    tern_config *c = client_config(), *s = server_config();
    uint8_t early[300];
    mitm m;
    memset(early, 'h', sizeof early);
    get_early_session();
    CHECK_EQ_INT(tern_config_set_early_data(c, 1, 0), TERN_OK);
    CHECK_EQ_INT(tern_config_set_early_data(s, 16384, 10000), TERN_OK);
    CHECK_EQ_INT(tern_config_set_groups(s, &p256, 1), TERN_OK);
    start_as(&m, c, s, 1);
    CHECK_EQ_INT(tern_tls_write(m.c2s.from, early, sizeof early), TERN_OK);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK); /* ClientHello1 + 0-RTT: HRR, skipped */
    CHECK_EQ_INT(tern_conn_used_hrr(m.s2c.from), 1);
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_APPDATA, MITM_EARLY, early, 60, 0, 0x0303), 0);
    CHECK_EQ_INT(mitm_deliver(&m.c2s, 0), TERN_OK); /* still before ClientHello2 */
    skipped_ok++;
    CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK); /* ClientHello2 */
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_APPDATA, MITM_EARLY, early, 60, 0, 0x0303), 0);
    deliver_expect(&m, &m.c2s, TERN_ALERT_BAD_RECORD_MAC,
                   "a 0-RTT record after the second ClientHello");
    mitm_free(&m);
    tern_config_free(c);
    tern_config_free(s);
  }
  session_len = 0;
  printf("rule 3 (undecryptable records): %d cases, bad_record_mac once keys are in use and "
         "after the second ClientHello, unexpected_message beyond max_early_data_size; refused "
         "0-RTT skipped in %d cases\n", n_cases - before, skipped_ok);
}

/* ------------------------------------------------------------------ */
/* Rule 4: no other record inside a fragmented handshake message       */
/* ------------------------------------------------------------------ */

/* Puts msg cut in two around a record of another type. */
static void put_interleaved(mitm_dir *d, const msgbuf *msg, int epoch, uint8_t type,
                            int other_epoch) {
  static const uint8_t one = 1, alert[2] = {1, TERN_ALERT_CLOSE_NOTIFY};
  const uint8_t *body = type == MITM_CCS ? &one : type == MITM_ALERT ? alert : (const uint8_t *)"x";
  size_t blen = type == MITM_CCS ? 1 : type == MITM_ALERT ? 2 : 1, cut = msg->len / 2;
  CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, epoch, msg->p, cut, 0, 0x0303), 0);
  CHECK_EQ_INT(mitm_put(d, type, other_epoch, body, blen, 0, 0x0303), 0);
  CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, epoch, msg->p + cut, msg->len - cut, 0, 0x0303), 0);
}

static void rule_interleave(void) {
  static const uint8_t types[] = {MITM_CCS, MITM_ALERT, MITM_APPDATA};
  int before = n_cases;
  for (size_t i = 0; i < 3; i++) {
    /* the server's EncryptedExtensions, client the victim */
    tern_config *c = client_config(), *s = server_config();
    msgbuf msg = {0}, rest = {0};
    mitm m;
    int epoch;
    start(&m, c, s);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
    TAKE(take_message(&m.s2c, HS_ENCRYPTED_EXTENSIONS, &msg, &epoch, &rest));
    put_interleaved(&m.s2c, &msg, epoch, types[i], types[i] == MITM_CCS ? MITM_PLAIN : epoch);
    deliver_expect(&m, &m.s2c, TERN_ALERT_UNEXPECTED_MESSAGE, "inside EncryptedExtensions");
    free(msg.p);
    free(rest.p);
    mitm_free(&m);
    tern_config_free(c);
    tern_config_free(s);
  }
  for (size_t i = 1; i < 3; i++) {
    /* after the handshake: a NewSessionTicket (client the victim) and a
       KeyUpdate (server the victim) */
    for (int ku = 0; ku <= 1; ku++) {
      tern_config *c = client_config(), *s = server_config();
      msgbuf msg = {0}, rest = {0};
      mitm m;
      int epoch;
      mitm_dir *d;
      CHECK_EQ_INT(full_handshake(&m, c, s), TERN_OK);
      if (ku)
        CHECK_EQ_INT(tern_tls_key_update(m.c2s.from, 0), TERN_OK);
      else
        CHECK_EQ_INT(tern_conn_send_tickets(m.s2c.from, 1), TERN_OK);
      d = ku ? &m.c2s : &m.s2c;
      if (!take_message(d, ku ? HS_KEY_UPDATE : HS_NEW_SESSION_TICKET, &msg, &epoch, &rest))
        abort();
      put_interleaved(d, &msg, epoch, types[i], epoch);
      deliver_expect(&m, d, TERN_ALERT_UNEXPECTED_MESSAGE,
                     ku ? "inside a KeyUpdate" : "inside a NewSessionTicket");
      free(msg.p);
      free(rest.p);
      mitm_free(&m);
      tern_config_free(c);
      tern_config_free(s);
    }
  }
  {
    /* the client's Finished, server the victim */
    tern_config *c = client_config(), *s = server_config();
    msgbuf msg = {0}, rest = {0};
    mitm m;
    int epoch;
    start(&m, c, s);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
    CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
    TAKE(take_message(&m.c2s, HS_FINISHED, &msg, &epoch, &rest));
    put_interleaved(&m.c2s, &msg, epoch, MITM_APPDATA, epoch);
    deliver_expect(&m, &m.c2s, TERN_ALERT_UNEXPECTED_MESSAGE, "inside the client's Finished");
    free(msg.p);
    free(rest.p);
    mitm_free(&m);
    tern_config_free(c);
    tern_config_free(s);
  }
  printf("rule 4 (no record inside a fragmented handshake message): %d cases, "
         "unexpected_message (change_cipher_spec, alert, application_data between fragments of "
         "EncryptedExtensions, NewSessionTicket, KeyUpdate, Finished)\n", n_cases - before);
}

/* ------------------------------------------------------------------ */
/* Rule 5: no handshake message spans a key change (§5.1)              */
/* ------------------------------------------------------------------ */

/* The start of a next message (3 bytes of a header) after one that must
   end its record: harmless but for the rule (a peer would wait for more). */
static const uint8_t trailer[3] = {HS_NEW_SESSION_TICKET, 0, 0};

/* msg of type t from d's writer with trailer bytes in the same record. */
static void trailing_case(int to_server, uint8_t t, int after_handshake, const char *what) {
  tern_config *c = client_config(), *s = server_config();
  msgbuf msg = {0}, rest = {0}, both = {0};
  mitm m;
  mitm_dir *d = to_server ? &m.c2s : &m.s2c;
  int epoch;
  start(&m, c, s);
  if (t != HS_CLIENT_HELLO) CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
  if (to_server && t != HS_CLIENT_HELLO) CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
  if (after_handshake) {
    if (!to_server) CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
    CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
    CHECK_EQ_INT(tern_tls_key_update(d->from, 0), TERN_OK);
  }
  TAKE(take_message(d, t, &msg, &epoch, &rest));
  mb_set(&both, msg.p, msg.len);
  mb_splice(&both, both.len, 0, trailer, sizeof trailer);
  put24(both.p + 1, msg.len - 4); /* the message keeps its length */
  CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, epoch, both.p, both.len, 0, 0x0303), 0);
  deliver_expect(&m, d, TERN_ALERT_UNEXPECTED_MESSAGE, what);
  free(msg.p);
  free(rest.p);
  free(both.p);
  mitm_free(&m);
  tern_config_free(c);
  tern_config_free(s);
}

static void quic_trailing_case(int to_server, tern_level level, const char *what) {
  tern_config *c, *s;
  qpair p;
  int rc;
  quic_configs(&c, &s);
  CHECK_EQ_INT(qpair_init(&p, c, s, client_tp, sizeof client_tp, server_tp, sizeof server_tp), 0);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  if (!to_server || level != TERN_LEVEL_INITIAL)
    CHECK(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL) >= 0);
  if (level == TERN_LEVEL_HANDSHAKE) {
    CHECK(qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_INITIAL) >= 0);
    if (to_server) CHECK(qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_HANDSHAKE) >= 0);
  }
  {
    /* the trailer after the level's last message: all the level holds */
    qside *q = to_server ? &p.c : &p.s;
    size_t n = q->out_len[level];
    if (n + sizeof trailer > q->out_cap[level]) {
      q->out[level] = realloc(q->out[level], n + sizeof trailer);
      q->out_cap[level] = n + sizeof trailer;
    }
    memcpy(q->out[level] + n, trailer, sizeof trailer);
    q->out_len[level] = n + sizeof trailer;
  }
  rc = qpair_deliver(&p, to_server ? &p.c : &p.s, to_server ? &p.s : &p.c, level);
  expect_alert_quic(to_server ? p.s.conn : p.c.conn, rc, TERN_ALERT_UNEXPECTED_MESSAGE, what);
  qpair_free(&p);
  tern_config_free(c);
  tern_config_free(s);
}

static void rule_record_boundary(void) {
  int before = n_cases;
  trailing_case(1, HS_CLIENT_HELLO, 0, "data after the ClientHello");
  trailing_case(0, HS_SERVER_HELLO, 0, "data after the ServerHello");
  trailing_case(0, HS_FINISHED, 0, "data after the server's Finished");
  trailing_case(1, HS_FINISHED, 0, "data after the client's Finished");
  trailing_case(1, HS_KEY_UPDATE, 1, "data after the client's KeyUpdate");
  trailing_case(0, HS_KEY_UPDATE, 1, "data after the server's KeyUpdate");
  quic_trailing_case(1, TERN_LEVEL_INITIAL, "QUIC data after the ClientHello");
  quic_trailing_case(0, TERN_LEVEL_INITIAL, "QUIC data after the ServerHello");
  quic_trailing_case(0, TERN_LEVEL_HANDSHAKE, "QUIC data after the server's Finished");
  quic_trailing_case(1, TERN_LEVEL_HANDSHAKE, "QUIC data after the client's Finished");
  printf("rule 5 (ClientHello, ServerHello, Finished, KeyUpdate end their record): %d cases, "
         "unexpected_message, TCP and QUIC\n", n_cases - before);
}

/* ------------------------------------------------------------------ */
/* Rule 6: lists of any length, big messages, the cap                  */
/* ------------------------------------------------------------------ */

/* A u16 list of n unknown values (0xfe00 + i, skipping ours) ending with
   last; prefixed with its length in lenbytes (1 or 2) bytes. */
static size_t long_list(uint8_t *out, size_t n, uint16_t last, int lenbytes) {
  size_t k = (size_t)lenbytes;
  for (size_t i = 0; i < n; i++) put16(out + k + 2 * i, 0xfa00 + (i % 0x500));
  put16(out + k + 2 * n, last);
  if (lenbytes == 2) put16(out, 2 * (n + 1));
  else out[0] = (uint8_t)(2 * (n + 1));
  return k + 2 * (n + 1);
}

/* A ClientHello edit: long signature_algorithms, supported_groups and
   key_share lists with the values we use at their ends. */
static void edit_long_lists(msgbuf *msg, uintptr_t n) {
  static uint8_t buf[65536];
  size_t off, len, k;
  uint8_t share[2 + 2 + 32];
  CHECK(find_ext(msg, EXT_KEY_SHARE, &off, &len));
  memcpy(share, msg->p + off + 2, 36); /* the client's X25519 entry */
  k = long_list(buf, n, TERN_SIG_ECDSA_SECP256R1_SHA256, 2);
  set_ext(msg, EXT_SIGNATURE_ALGORITHMS, buf, k);
  k = long_list(buf, 2 * n, TERN_GROUP_X25519, 2);
  set_ext(msg, EXT_SUPPORTED_GROUPS, buf, k);
  /* n/4 shares of unknown groups (1 byte each), then the real one */
  k = 2;
  for (size_t i = 0; i < n / 4; i++) {
    put16(buf + k, 0x2000 + i); /* distinct: a group twice is illegal */
    put16(buf + k + 2, 1);
    buf[k + 4] = (uint8_t)i;
    k += 5;
  }
  memcpy(buf + k, share, 36);
  k += 36;
  put16(buf, k - 2);
  set_ext(msg, EXT_KEY_SHARE, buf, k);
}

/* A ClientHello edit: cipher_suites of 32766 entries (unknown ones then
   ours) and an unknown extension filling the extension block up to n
   bytes (65535 at most): about 64 KiB + n in all. */
static void edit_huge(msgbuf *msg, uintptr_t n) {
  static uint8_t buf[65536];
  size_t at = 4 + 2 + 32 + 1 + msg->p[4 + 2 + 32], k, block;
  k = long_list(buf, 32765, TERN_TLS_AES_128_GCM_SHA256, 2);
  mb_splice(msg, at, 2 + get16(msg->p + at), buf, k);
  block = get16(msg->p + exts_offset(msg));
  k = n - block - 4;
  memset(buf, 0x5a, k);
  set_ext(msg, 0xfe33, buf, k);
}

/* The server must answer a ClientHello edited by fn with a ServerHello
   for X25519 (TCP, the hello in records of at most frag bytes). */
static void big_hello_accepted(edit_fn fn, uintptr_t arg, size_t frag, const char *what) {
  tern_config *c = client_config(), *s = server_config();
  msgbuf msg = {0}, rest = {0};
  mitm m;
  int epoch, rc;
  size_t off, len;
  start(&m, c, s);
  TAKE(take_message(&m.c2s, HS_CLIENT_HELLO, &msg, &epoch, &rest));
  fn(&msg, arg);
  for (size_t o = 0; o < msg.len; o += frag)
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_HANDSHAKE, MITM_PLAIN, msg.p + o,
                          msg.len - o < frag ? msg.len - o : frag, 0, 0x0303), 0);
  rc = mitm_deliver(&m.c2s, 0);
  n_cases++;
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK)
    fprintf(stderr, "  %s: %s (%s)\n", what, tern_conn_error_detail(m.s2c.from),
            tern_alert_name(tern_conn_alert(m.s2c.from)));
  TAKE(take_message(&m.s2c, HS_SERVER_HELLO, &msg, &epoch, &rest));
  CHECK(find_ext(&msg, EXT_KEY_SHARE, &off, &len) && get16(msg.p + off) == TERN_GROUP_X25519);
  CHECK_EQ_INT(tern_conn_signature_scheme(m.s2c.from), TERN_SIG_ECDSA_SECP256R1_SHA256);
  free(msg.p);
  free(rest.p);
  mitm_free(&m);
  tern_config_free(c);
  tern_config_free(s);
}

static void rule_sizes(void) {
  int before = n_cases;
  size_t big = 0;
  big_hello_accepted(edit_long_lists, 1000, 16384, "lists of 1000+ entries");
  big_hello_accepted(edit_long_lists, 8000, 16384, "lists of 8000+ entries");
  big_hello_accepted(edit_huge, 65535, 16384, "a 128 KiB ClientHello in 16 KiB records");
  big_hello_accepted(edit_huge, 65535, 1000, "a 128 KiB ClientHello in 1000-byte records");
  {
    /* what the 128 KiB hello weighs */
    tern_config *c = client_config(), *s = server_config();
    msgbuf msg = {0}, rest = {0};
    mitm m;
    int epoch;
    start(&m, c, s);
    TAKE(take_message(&m.c2s, HS_CLIENT_HELLO, &msg, &epoch, &rest));
    edit_huge(&msg, 65535);
    big = msg.len;
    CHECK(big >= 128 * 1024);
    /* beyond a configured cap: illegal_parameter, before buffering it */
    mitm_free(&m);
    CHECK_EQ_INT(tern_config_set_max_message_size(s, 16384), TERN_OK);
    start(&m, c, s);
    TAKE(take_message(&m.c2s, HS_CLIENT_HELLO, &msg, &epoch, &rest));
    edit_huge(&msg, 8000);
    for (size_t o = 0; o < msg.len; o += 16384)
      mitm_put(&m.c2s, MITM_HANDSHAKE, MITM_PLAIN, msg.p + o,
               msg.len - o < 16384 ? msg.len - o : 16384, 0, 0x0303);
    deliver_expect(&m, &m.c2s, TERN_ALERT_ILLEGAL_PARAMETER, "a ClientHello over the cap");
    CHECK(strstr(tern_conn_error_detail(m.s2c.from), "cap") != NULL);
    free(msg.p);
    free(rest.p);
    mitm_free(&m);
    tern_config_free(c);
    tern_config_free(s);
  }
  {
    /* QUIC: the long lists at INITIAL */
    tern_config *c, *s;
    qpair p;
    quic_configs(&c, &s);
    CHECK_EQ_INT(qpair_init(&p, c, s, client_tp, sizeof client_tp, server_tp, sizeof server_tp), 0);
    CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
    quic_edit(&p.c, TERN_LEVEL_INITIAL, edit_long_lists, 4000, NULL, 0);
    CHECK_EQ_INT(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL), TERN_OK);
    CHECK_EQ_INT(p.s.result, TERN_WANT_READ);
    CHECK_EQ_INT(tern_conn_group(p.s.conn), TERN_GROUP_X25519);
    CHECK(p.s.out_len[TERN_LEVEL_INITIAL] > 0 && p.s.out[TERN_LEVEL_INITIAL][0] == HS_SERVER_HELLO);
    n_cases++;
    qpair_free(&p);
    tern_config_free(c);
    tern_config_free(s);
  }
  printf("rule 6 (sizes): %d cases: signature_algorithms, supported_groups and key_share of "
         "1000-16000 entries read in full (TCP, QUIC), a %zu-byte ClientHello in 16 KiB and "
         "1000-byte records accepted, over a 16 KiB cap illegal_parameter\n",
         n_cases - before, big);
}

/* ------------------------------------------------------------------ */
/* Rule 7: malformed lengths and values                                */
/* ------------------------------------------------------------------ */

/* The ClientHello's X25519 key_share entry replaced by key[0..n). */
static void edit_share(msgbuf *msg, uintptr_t arg) {
  const uint8_t *key = (const uint8_t *)arg;
  size_t off, len, n = key[0];
  uint8_t ks[2 + 2 + 2 + 255];
  CHECK(find_ext(msg, EXT_KEY_SHARE, &off, &len));
  if (msg->p[0] == HS_CLIENT_HELLO) {
    put16(ks, 4 + n);
    put16(ks + 2, get16(msg->p + off + 2)); /* the group of the first entry */
    put16(ks + 4, n);
    memcpy(ks + 6, key + 1, n);
    set_ext(msg, EXT_KEY_SHARE, ks, 6 + n);
  } else {
    put16(ks, get16(msg->p + off));
    put16(ks + 2, n);
    memcpy(ks + 4, key + 1, n);
    set_ext(msg, EXT_KEY_SHARE, ks, 4 + n);
  }
}

/* A message with one byte more after its body. */
static void edit_trailing_byte(msgbuf *msg, uintptr_t arg) {
  (void)arg;
  mb_splice(msg, msg->len, 0, (const uint8_t *)"\0", 1);
}

/* The first extension's inner length off by one (EncryptedExtensions'
   ALPN: its ProtocolNameList length). */
static void edit_alpn_inner(msgbuf *msg, uintptr_t arg) {
  size_t off, len;
  (void)arg;
  CHECK(find_ext(msg, EXT_ALPN, &off, &len));
  put16(msg->p + off, get16(msg->p + off) + 1);
}

/* A message edited by fn in flight from d->from; d->to must answer alert. */
static void edit_case(int to_server, uint8_t t, edit_fn fn, uintptr_t arg, uint8_t alert,
                      const char *what) {
  static const char *alpn[] = {"h2", "http/1.1"};
  tern_config *c = client_config(), *s = server_config();
  msgbuf msg = {0}, rest = {0};
  mitm m;
  mitm_dir *d;
  int epoch;
  CHECK_EQ_INT(tern_config_set_alpn(c, alpn, 2), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(s, alpn, 2), TERN_OK);
  start(&m, c, s);
  if (t != HS_CLIENT_HELLO) CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
  if (to_server && t != HS_CLIENT_HELLO) CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
  d = to_server ? &m.c2s : &m.s2c;
  TAKE(take_message(d, t, &msg, &epoch, &rest));
  fn(&msg, arg);
  CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, epoch, msg.p, msg.len, 0, 0x0303), 0);
  if (rest.len) CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, epoch, rest.p, rest.len, 0, 0x0303), 0);
  deliver_expect(&m, d, alert, what);
  free(msg.p);
  free(rest.p);
  mitm_free(&m);
  tern_config_free(c);
  tern_config_free(s);
}

static void rule_malformed(void) {
  static uint8_t short_x25519[1 + 31], zero_x25519[1 + 32], order8_x25519[1 + 32];
  static uint8_t off_curve[1 + 65];
  int before = n_cases;
  short_x25519[0] = 31;
  memset(short_x25519 + 1, 9, 31);
  zero_x25519[0] = 32;
  /* a point of order 8 on Curve25519: the shared secret is all zeros */
  order8_x25519[0] = 32;
  unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", order8_x25519 + 1,
        32);
  edit_case(0, HS_FINISHED, edit_trailing_byte, 0, TERN_ALERT_DECODE_ERROR,
            "a server Finished one byte long");
  edit_case(1, HS_FINISHED, edit_trailing_byte, 0, TERN_ALERT_DECODE_ERROR,
            "a client Finished one byte long");
  edit_case(1, HS_CLIENT_HELLO, edit_trailing_byte, 0, TERN_ALERT_DECODE_ERROR,
            "a ClientHello with a trailing byte");
  edit_case(0, HS_ENCRYPTED_EXTENSIONS, edit_alpn_inner, 0, TERN_ALERT_DECODE_ERROR,
            "an ALPN extension whose inner length disagrees");
  edit_case(1, HS_CLIENT_HELLO, edit_share, (uintptr_t)short_x25519, TERN_ALERT_ILLEGAL_PARAMETER,
            "an X25519 share of 31 bytes");
  edit_case(0, HS_SERVER_HELLO, edit_share, (uintptr_t)short_x25519, TERN_ALERT_ILLEGAL_PARAMETER,
            "a server X25519 share of 31 bytes");
  edit_case(1, HS_CLIENT_HELLO, edit_share, (uintptr_t)zero_x25519, TERN_ALERT_ILLEGAL_PARAMETER,
            "an all-zero X25519 share");
  edit_case(1, HS_CLIENT_HELLO, edit_share, (uintptr_t)order8_x25519,
            TERN_ALERT_ILLEGAL_PARAMETER, "an X25519 share of order 8");
  edit_case(0, HS_SERVER_HELLO, edit_share, (uintptr_t)zero_x25519, TERN_ALERT_ILLEGAL_PARAMETER,
            "a server X25519 share giving an all-zero secret");
  {
    /* P-256: a point off the curve */
    static const uint16_t p256 = TERN_GROUP_SECP256R1;
    tern_config *c = client_config(), *s = server_config();
    msgbuf msg = {0}, rest = {0};
    mitm m;
    int epoch;
    size_t off, len;
    CHECK_EQ_INT(tern_config_set_groups(c, &p256, 1), TERN_OK);
    start(&m, c, s);
    TAKE(take_message(&m.c2s, HS_CLIENT_HELLO, &msg, &epoch, &rest));
    CHECK(find_ext(&msg, EXT_KEY_SHARE, &off, &len) && len == 2 + 4 + 65);
    off_curve[0] = 65;
    memcpy(off_curve + 1, msg.p + off + 6, 65);
    off_curve[65] ^= 1; /* y off by one: not on the curve */
    edit_share(&msg, (uintptr_t)off_curve);
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_HANDSHAKE, epoch, msg.p, msg.len, 0, 0x0303), 0);
    deliver_expect(&m, &m.c2s, TERN_ALERT_ILLEGAL_PARAMETER, "a P-256 point off the curve");
    free(msg.p);
    free(rest.p);
    mitm_free(&m);
    tern_config_free(c);
    tern_config_free(s);
  }
  quic_hello_case(1, edit_share, (uintptr_t)short_x25519, TERN_ALERT_ILLEGAL_PARAMETER,
                  "QUIC X25519 share of 31 bytes");
  quic_hello_case(1, edit_trailing_byte, 0, TERN_ALERT_DECODE_ERROR,
                  "QUIC ClientHello with a trailing byte");
  quic_hello_case(0, edit_share, (uintptr_t)zero_x25519, TERN_ALERT_ILLEGAL_PARAMETER,
                  "QUIC server X25519 share giving an all-zero secret");
  printf("rule 7 (malformed): %d cases: wrong lengths decode_error (Finished, trailing byte, "
         "inner extension length), bad values illegal_parameter (share size, all-zero and "
         "small-order X25519, P-256 off the curve), TCP and QUIC\n", n_cases - before);
}


/* ------------------------------------------------------------------ */
/* The post-quantum hybrids on the wire                                */
/* ------------------------------------------------------------------ */

/* How hybrid_edit changes the first key share entry of a ClientHello
   (or the ServerHello's share). */
enum {
  PQ_SHORT,        /* one byte shorter */
  PQ_LONG,         /* one byte longer */
  PQ_EK_OVER_Q,    /* ML-KEM key coefficient 0 set to 4095 (>= q) */
  PQ_ZERO_X25519,  /* the X25519 part all zero (X25519MLKEM768: the last 32 bytes) */
  PQ_P256_OFF      /* the P-256 part's y changed: off the curve (first 65 bytes) */
};

/* The share's bytes: CH: the first entry of client_shares; SH: server_share. */
static void hybrid_edit(msgbuf *msg, uintptr_t mode) {
  static uint8_t ks[4 + 2 + 2 + 2048];
  size_t off, len, head = msg->p[0] == HS_CLIENT_HELLO ? 2 : 0, n, at;
  CHECK(find_ext(msg, EXT_KEY_SHARE, &off, &len));
  n = get16(msg->p + off + head + 2);
  at = head + 4; /* the share's first byte within the extension */
  memcpy(ks, msg->p + off, head + 4 + n); /* the first entry only */
  switch (mode) {
  case PQ_SHORT: n -= 1; break;
  case PQ_LONG: ks[at + n] = 0; n += 1; break;
  case PQ_EK_OVER_Q: ks[at] = 0xff; ks[at + 1] |= 0x0f; break;
  case PQ_ZERO_X25519: memset(ks + at + n - 32, 0, 32); break;
  case PQ_P256_OFF: ks[at + 64] ^= 1; break;
  }
  put16(ks + head + 2, n);
  if (head) put16(ks, 4 + n);
  set_ext(msg, EXT_KEY_SHARE, ks, head + 4 + n);
}

/* A TCP pair whose client offers only `group` (its one share); the
   message t from one side edited by hybrid_edit(mode); the other side
   must answer alert. */
static void hybrid_case(int to_server, uint8_t t, uint16_t group, uintptr_t mode,
                        uint8_t alert, const char *what) {
  tern_config *c = client_config(), *s = server_config();
  msgbuf msg = {0}, rest = {0};
  mitm m;
  mitm_dir *d;
  int epoch;
  CHECK_EQ_INT(tern_config_set_groups(c, &group, 1), TERN_OK);
  start(&m, c, s);
  if (t != HS_CLIENT_HELLO) CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
  d = to_server ? &m.c2s : &m.s2c;
  TAKE(take_message(d, t, &msg, &epoch, &rest));
  hybrid_edit(&msg, mode);
  CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, epoch, msg.p, msg.len, 0, 0x0303), 0);
  if (rest.len) CHECK_EQ_INT(mitm_put(d, MITM_HANDSHAKE, epoch, rest.p, rest.len, 0, 0x0303), 0);
  deliver_expect(&m, d, alert, what);
  free(msg.p);
  free(rest.p);
  mitm_free(&m);
  tern_config_free(c);
  tern_config_free(s);
}

/* draft-ietf-tls-ecdhe-mlkem §3.1.2's alerts, on the wire: wrong share
   sizes for each hybrid (both ways), an encapsulation key with a
   coefficient >= q, a ciphertext of the wrong length, an all-zero X25519
   part, a P-256 point off the curve inside a hybrid share. */
static void rule_pq_shares(void) {
  static const uint16_t hybrids[] = {TERN_GROUP_X25519MLKEM768, TERN_GROUP_SECP256R1MLKEM768,
                                     TERN_GROUP_SECP384R1MLKEM1024};
  const uint8_t ip = TERN_ALERT_ILLEGAL_PARAMETER;
  int before = n_cases;
  for (size_t i = 0; i < 3; i++) {
    uint16_t g = hybrids[i];
    hybrid_case(1, HS_CLIENT_HELLO, g, PQ_SHORT, ip, "hybrid client share one byte short");
    hybrid_case(1, HS_CLIENT_HELLO, g, PQ_LONG, ip, "hybrid client share one byte long");
    hybrid_case(0, HS_SERVER_HELLO, g, PQ_SHORT, ip, "hybrid server share (ciphertext) short");
    hybrid_case(0, HS_SERVER_HELLO, g, PQ_LONG, ip, "hybrid server share (ciphertext) long");
  }
  /* X25519MLKEM768: ML-KEM key first; SecP256r1MLKEM768: after 65 bytes,
     so the key edit goes to the X25519 hybrid only */
  hybrid_case(1, HS_CLIENT_HELLO, TERN_GROUP_X25519MLKEM768, PQ_EK_OVER_Q, ip,
              "encapsulation key with a coefficient >= q");
  hybrid_case(1, HS_CLIENT_HELLO, TERN_GROUP_X25519MLKEM768, PQ_ZERO_X25519, ip,
              "all-zero X25519 part of a client hybrid share");
  hybrid_case(0, HS_SERVER_HELLO, TERN_GROUP_X25519MLKEM768, PQ_ZERO_X25519, ip,
              "all-zero X25519 part of a server hybrid share");
  hybrid_case(1, HS_CLIENT_HELLO, TERN_GROUP_SECP256R1MLKEM768, PQ_P256_OFF, ip,
              "P-256 point off the curve in a client hybrid share");
  hybrid_case(0, HS_SERVER_HELLO, TERN_GROUP_SECP256R1MLKEM768, PQ_P256_OFF, ip,
              "P-256 point off the curve in a server hybrid share");
  printf("post-quantum shares: %d cases over TCP, illegal_parameter each "
         "(sizes both ways for 3 hybrids, key coefficient >= q, all-zero X25519 part, "
         "P-256 off the curve)\n", n_cases - before);
}

/* ------------------------------------------------------------------ */
/* Rule 8: empty records, warning alerts, change_cipher_spec, padding  */
/* ------------------------------------------------------------------ */

/* A connected pair through m. */
static void connected(mitm *m, tern_config **c, tern_config **s) {
  *c = client_config();
  *s = server_config();
  session_len = 0;
  CHECK_EQ_INT(full_handshake(m, *c, *s), TERN_OK);
}

static void done_with(mitm *m, tern_config *c, tern_config *s) {
  mitm_free(m);
  tern_config_free(c);
  tern_config_free(s);
}

static void rule_empties(void) {
  int before = n_cases;
  tern_config *c, *s;
  mitm m;
  uint8_t got[64];
  size_t k;

  /* empty application data: accepted, but not without end */
  connected(&m, &c, &s);
  for (int i = 0; i < 5; i++)
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_APPDATA, MITM_AP, NULL, 0, 0, 0x0303), 0);
  CHECK_EQ_INT(mitm_put(&m.s2c, MITM_APPDATA, MITM_AP, (const uint8_t *)"after", 5, 100,
                        0x0303),
               0);
  CHECK_EQ_INT(mitm_deliver(&m.s2c, 0), TERN_OK);
  CHECK_EQ_INT(tern_tls_read(m.c2s.from, got, sizeof got, &k), TERN_OK);
  CHECK(k == 5 && memcmp(got, "after", 5) == 0); /* padding removed */
  n_cases += 2;
  for (int i = 0; i < 40; i++)
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_APPDATA, MITM_AP, NULL, 0, 0, 0x0303), 0);
  deliver_expect(&m, &m.s2c, TERN_ALERT_UNEXPECTED_MESSAGE, "40 empty records in a row");
  done_with(&m, c, s);

  /* a record of padding only (no content type) */
  connected(&m, &c, &s);
  CHECK_EQ_INT(mitm_put(&m.c2s, 0, MITM_AP, NULL, 0, 30, 0x0303), 0);
  deliver_expect(&m, &m.c2s, TERN_ALERT_UNEXPECTED_MESSAGE, "a record of padding only");
  done_with(&m, c, s);

  /* an empty plaintext handshake record */
  {
    c = client_config();
    s = server_config();
    start(&m, c, s);
    mitm_put_raw(&m.c2s, (const uint8_t *)"\x16\x03\x03\x00\x00", 5);
    deliver_expect(&m, &m.c2s, TERN_ALERT_UNEXPECTED_MESSAGE, "an empty handshake record");
    done_with(&m, c, s);
  }

  /* alerts: a warning-level error alert is an error all the same, never
     answered; user_canceled ends a handshake but not a connection */
  {
    static const uint8_t warn_failure[2] = {1, TERN_ALERT_HANDSHAKE_FAILURE};
    static const uint8_t canceled[2] = {1, TERN_ALERT_USER_CANCELED};
    int rc;
    connected(&m, &c, &s);
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_ALERT, MITM_AP, warn_failure, 2, 0, 0x0303), 0);
    rc = mitm_deliver(&m.s2c, 0);
    expect_alert_tls(&m, &m.s2c, rc, TERN_ALERT_HANDSHAKE_FAILURE, 0,
                     "a warning-level handshake_failure");
    done_with(&m, c, s);

    connected(&m, &c, &s);
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_ALERT, MITM_AP, canceled, 2, 0, 0x0303), 0);
    CHECK_EQ_INT(mitm_deliver(&m.s2c, 0), TERN_OK);
    transfer(&m, &m.s2c, 100); /* still usable */
    n_cases++;
    done_with(&m, c, s);

    c = client_config();
    s = server_config();
    start(&m, c, s);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_ALERT, MITM_PLAIN, canceled, 2, 0, 0x0303), 0);
    rc = mitm_deliver(&m.c2s, 0);
    expect_alert_tls(&m, &m.c2s, rc, TERN_ALERT_USER_CANCELED, 0,
                     "user_canceled during the handshake");
    done_with(&m, c, s);
  }

  /* change_cipher_spec: one 0x01 between the first ClientHello and the
     peer's Finished, in the clear; nothing else */
  {
    static const uint8_t ccs1 = 1, ccs2 = 2;
    int rc;
    /* before any ClientHello */
    c = client_config();
    s = server_config();
    CHECK_EQ_INT(mitm_init(&m, c, s, HOST), 0);
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_CCS, MITM_PLAIN, &ccs1, 1, 0, 0x0303), 0);
    deliver_expect(&m, &m.c2s, TERN_ALERT_UNEXPECTED_MESSAGE, "change_cipher_spec first");
    done_with(&m, c, s);
    /* a second one (the client sent its own already) */
    c = client_config();
    s = server_config();
    start(&m, c, s);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
    CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_CCS, MITM_PLAIN, &ccs1, 1, 0, 0x0303), 0);
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_CCS, MITM_PLAIN, &ccs1, 1, 0, 0x0303), 0);
    rc = mitm_deliver(&m.c2s, 0);
    (void)rc;
    expect_alert_tls(&m, &m.c2s, tern_handshake(m.c2s.to), TERN_ALERT_UNEXPECTED_MESSAGE, 1,
                     "a second change_cipher_spec");
    done_with(&m, c, s);
    /* a value other than 1 */
    c = client_config();
    s = server_config();
    start(&m, c, s);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_CCS, MITM_PLAIN, &ccs2, 1, 0, 0x0303), 0);
    deliver_expect(&m, &m.s2c, TERN_ALERT_UNEXPECTED_MESSAGE, "change_cipher_spec 0x02");
    done_with(&m, c, s);
    /* protected */
    c = client_config();
    s = server_config();
    start(&m, c, s);
    CHECK_EQ_INT(mitm_forward(&m.c2s), TERN_OK);
    CHECK_EQ_INT(mitm_forward(&m.s2c), TERN_OK);
    CHECK_EQ_INT(mitm_put(&m.c2s, MITM_CCS, MITM_HS, &ccs1, 1, 0, 0x0303), 0);
    deliver_expect(&m, &m.c2s, TERN_ALERT_UNEXPECTED_MESSAGE, "a protected change_cipher_spec");
    done_with(&m, c, s);
    /* after the handshake */
    connected(&m, &c, &s);
    CHECK_EQ_INT(mitm_put(&m.s2c, MITM_CCS, MITM_PLAIN, &ccs1, 1, 0, 0x0303), 0);
    deliver_expect(&m, &m.s2c, TERN_ALERT_UNEXPECTED_MESSAGE,
                   "change_cipher_spec after the handshake");
    done_with(&m, c, s);
  }
  printf("rule 8 (empty records, alerts, change_cipher_spec, padding): %d cases: empty and "
         "padded application data taken, 40 empty records, padding-only and empty handshake "
         "records unexpected_message; warning-level error alerts fatal and unanswered, "
         "user_canceled ends a handshake only; change_cipher_spec before the ClientHello, twice, "
         "0x02, protected or after the handshake unexpected_message\n", n_cases - before);
}

/* ------------------------------------------------------------------ */
/* KeyUpdate: update_requested answered before our next data (§4.6.3)   */
/* ------------------------------------------------------------------ */

static void rule_key_update_answer(void) {
  tern_config *c, *s;
  mitm m;
  int order_ok = 0, rounds = 0;
  connected(&m, &c, &s);
  for (int who = 0; who <= 1; who++) {
    mitm_dir *d = who ? &m.c2s : &m.s2c;   /* the one asking */
    mitm_dir *back = back_of(&m, d);       /* the one answering */
    int first_epoch, got;
    CHECK_EQ_INT(tern_tls_key_update(d->from, 1), TERN_OK);
    CHECK_EQ_INT(mitm_forward(d), TERN_OK);
    CHECK_EQ_INT(tern_tls_write(back->from, (const uint8_t *)"data", 4), TERN_OK);
    /* the answer: its KeyUpdate under the old key, then data under the new */
    got = mitm_next(back, &rec);
    CHECK_EQ_INT(got, 1);
    first_epoch = rec.epoch;
    CHECK(rec.type == MITM_HANDSHAKE && rec.len == 5 && rec.data[0] == HS_KEY_UPDATE &&
          rec.data[4] == 0);
    CHECK_EQ_INT(mitm_put(back, rec.type, rec.epoch, rec.data, rec.len, 0, 0x0303), 0);
    got = mitm_next(back, &rec);
    CHECK_EQ_INT(got, 1);
    CHECK(rec.type == MITM_APPDATA && rec.epoch == first_epoch + 1);
    order_ok += rec.type == MITM_APPDATA && rec.epoch == first_epoch + 1;
    CHECK_EQ_INT(mitm_put(back, rec.type, rec.epoch, rec.data, rec.len, 0, 0x0303), 0);
    CHECK_EQ_INT(mitm_deliver(back, 0), TERN_OK);
    {
      uint8_t got[8];
      size_t k = 0;
      CHECK_EQ_INT(tern_tls_read(d->from, got, sizeof got, &k), TERN_OK);
      CHECK(k == 4 && memcmp(got, "data", 4) == 0);
    }
    transfer(&m, d, 10); /* the asker writes under its new key too */
    rounds++;
    n_cases++;
  }
  done_with(&m, c, s);
  printf("KeyUpdate with update_requested: answered before the next application data in %d of "
         "%d directions\n", order_ok, rounds);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, HOST, 0, PKI_VALID_NOW), 0);
  rule_record_version();
  rule_hello_versions();
  rule_undecryptable();
  rule_interleave();
  rule_record_boundary();
  rule_sizes();
  rule_malformed();
  rule_pq_shares();
  rule_empties();
  rule_key_update_answer();
  printf("conformance: %d cases\n", n_cases);
  pki_free(&server_pki);
  return check_report();
}
