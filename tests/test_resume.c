/*
 * test_resume.c - resumption, 0-RTT, single-use tickets and the exporter,
 * tern client <-> tern server in QUIC mode, in memory, with the clocks of
 * both sides under the test's control.
 */
#include <openssl/x509.h>

#include "check.h"
#include "pki.h"
#include "qpair.h"
#define SESSIONS_MAX 256
#define TEST_CLOCK_START 1700000000000ull
#include "sessions.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};

static pki server_pki;
static int early_answer = 1;
static int early_cb(tern_conn *c, void *user) {
  (void)c, (void)user;
  return early_answer;
}

static tern_config *server_config(const char *alpn, int early) {
  const char *const protos[] = {alpn};
  tern_config *cfg = tern_config_new(TERN_SERVER);
  STACK_OF(X509) *chain = pki_chain(&server_pki);
  CHECK(cfg != NULL);
  CHECK_EQ_INT(tern_config_set_cert(cfg, server_pki.leaf, chain, server_pki.leaf_key), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, protos, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_tickets(cfg, 2, 3600), TERN_OK);
  if (early) {
    CHECK_EQ_INT(tern_config_set_early_data(cfg, 16384, 10000), TERN_OK);
    CHECK_EQ_INT(tern_config_set_early_data_callback(cfg, early_cb, NULL), TERN_OK);
  }
  return cfg;
}

static tern_config *client_config(int early) {
  static const char *const alpn[] = {"h3", "hq-interop"};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  X509_STORE *store = X509_STORE_new();
  X509_STORE_add_cert(store, server_pki.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, store), TERN_OK);
  X509_STORE_free(store);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 2), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_new_session_callback(cfg, on_session, NULL), TERN_OK);
  if (early) CHECK_EQ_INT(tern_config_set_early_data(cfg, 1, 0), TERN_OK);
  return cfg;
}

/* What one connection attempt ended with. */
typedef struct outcome {
  int rc;
  int resumed_c, resumed_s;
  int early_c, early_s;
  uint16_t group;
  uint16_t sig_c, sig_s; /* signature schemes each side reports */
  int secrets_agree;
  int early_agree;     /* 0-RTT secrets installed on both sides and equal */
  int client_early_installed;
} outcome;

/* Runs a pair, offering session index `use` (-1: none) at client time
   client_now. ctx: the server connection's early-data context. */
static outcome run(tern_config *ccfg, tern_config *scfg, int use, uint64_t client_now,
                   const char *ctx, void (*tweak)(qpair *)) {
  qpair p;
  outcome o;
  memset(&o, 0, sizeof o);
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  if (ctx) CHECK_EQ_INT(tern_conn_set_early_data_context(p.s.conn, (const uint8_t *)ctx,
                                                         strlen(ctx)), TERN_OK);
  if (use >= 0)
    CHECK_EQ_INT(tern_conn_set_session(p.c.conn, sessions[use].blob, sessions[use].len,
                                       client_now), TERN_OK);
  if (tweak) tweak(&p);
  o.rc = qpair_run(&p);
  if (o.rc != TERN_OK && !tweak)
    fprintf(stderr, "  run: client %s / server %s\n", tern_conn_error_detail(p.c.conn),
            tern_conn_error_detail(p.s.conn));
  o.resumed_c = tern_conn_resumed(p.c.conn);
  o.resumed_s = tern_conn_resumed(p.s.conn);
  o.early_c = tern_conn_early_data_status(p.c.conn);
  o.early_s = tern_conn_early_data_status(p.s.conn);
  o.group = tern_conn_group(p.s.conn);
  o.sig_c = tern_conn_signature_scheme(p.c.conn);
  o.sig_s = tern_conn_signature_scheme(p.s.conn);
  o.secrets_agree = 1;
  for (int lv = TERN_LEVEL_HANDSHAKE; lv <= TERN_LEVEL_APPLICATION; lv++) {
    size_t n = p.c.secret_len[lv][TERN_WRITE];
    o.secrets_agree &= n > 0 && n == p.s.secret_len[lv][TERN_READ] &&
                       memcmp(p.c.secret[lv][TERN_WRITE], p.s.secret[lv][TERN_READ], n) == 0 &&
                       memcmp(p.s.secret[lv][TERN_WRITE], p.c.secret[lv][TERN_READ], n) == 0;
  }
  o.client_early_installed = p.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE] > 0;
  o.early_agree = o.client_early_installed &&
                  p.s.secret_len[TERN_LEVEL_EARLY][TERN_READ] ==
                      p.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE] &&
                  memcmp(p.c.secret[TERN_LEVEL_EARLY][TERN_WRITE],
                         p.s.secret[TERN_LEVEL_EARLY][TERN_READ],
                         p.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE]) == 0;
  if (o.rc == TERN_OK) {
    /* QUIC key updates (RFC 9001 §6): from the 1-RTT secrets each side
       was given, both derive the same generations 1..3, each new */
    uint16_t suite = tern_conn_cipher_suite(p.c.conn);
    for (int d = 0; d < 2; d++) {
      uint8_t a[48], b[48], prev[48];
      size_t n = p.c.secret_len[TERN_LEVEL_APPLICATION][d];
      memcpy(a, p.c.secret[TERN_LEVEL_APPLICATION][d], n);
      memcpy(b, p.s.secret[TERN_LEVEL_APPLICATION][1 - d], n);
      for (int gen = 1; gen <= 3; gen++) {
        memcpy(prev, a, n);
        CHECK_EQ_INT(tern_quic_next_secret(TERN_QUIC_V1, suite, a, n, a), TERN_OK);
        CHECK_EQ_INT(tern_quic_next_secret(TERN_QUIC_V1, suite, b, n, b), TERN_OK);
        CHECK_MEM(a, b, n);
        CHECK(memcmp(a, prev, n) != 0);
      }
    }
    /* the exporters agree, and differ per label */
    uint8_t a[40], b[40], x[40];
    CHECK_EQ_INT(tern_export_keying_material(p.c.conn, "EXPORTER-test", (const uint8_t *)"ctx",
                                             3, a, sizeof a), TERN_OK);
    CHECK_EQ_INT(tern_export_keying_material(p.s.conn, "EXPORTER-test", (const uint8_t *)"ctx",
                                             3, b, sizeof b), TERN_OK);
    CHECK_MEM(a, b, sizeof a);
    CHECK_EQ_INT(tern_export_keying_material(p.s.conn, "EXPORTER-other", NULL, 0, x, sizeof x),
                 TERN_OK);
    CHECK(memcmp(a, x, sizeof a) != 0);
    if (o.early_c == TERN_EARLY_DATA_ACCEPTED) {
      CHECK_EQ_INT(tern_export_early_keying_material(p.c.conn, "e", NULL, 0, a, 32), TERN_OK);
      CHECK_EQ_INT(tern_export_early_keying_material(p.s.conn, "e", NULL, 0, b, 32), TERN_OK);
      CHECK_MEM(a, b, 32);
    } else if (!o.client_early_installed) {
      CHECK_EQ_INT(tern_export_early_keying_material(p.c.conn, "e", NULL, 0, a, 32),
                   TERN_ERR_STATE);
    }
  }
  qpair_free(&p);
  return o;
}

/* Gets fresh tickets from a full handshake; returns the first index. */
static int fresh_tickets(tern_config *ccfg, tern_config *scfg) {
  int first = n_sessions;
  outcome o = run(ccfg, scfg, -1, 0, NULL, NULL);
  CHECK_EQ_INT(o.rc, TERN_OK);
  CHECK_EQ_INT(o.resumed_s, 0);
  CHECK_EQ_INT(n_sessions, first + 2);
  return first;
}

static void test_resumption(void) {
  tern_config *scfg = server_config("h3", 0), *ccfg = client_config(0);
  int t = fresh_tickets(ccfg, scfg);
  outcome o;
  CHECK_EQ_INT(sessions[t].max_early, 0);
  clock_now += 5000;
  /* each ticket resumes once */
  for (int i = 0; i < 2; i++) {
    o = run(ccfg, scfg, t + i, clock_now, NULL, NULL);
    CHECK_EQ_INT(o.rc, TERN_OK);
    CHECK(o.resumed_c && o.resumed_s);
    CHECK(o.secrets_agree);
    CHECK_EQ_INT(o.group, TERN_GROUP_X25519MLKEM768); /* psk_dhe_ke */
    CHECK_EQ_INT(o.early_c, TERN_EARLY_DATA_NONE);
    /* no CertificateVerify, so no signature scheme on either side */
    CHECK_EQ_INT(o.sig_c, 0);
    CHECK_EQ_INT(o.sig_s, 0);
  }
  /* a resumed connection issues tickets too */
  CHECK_EQ_INT(n_sessions, t + 6);
  /* the first ticket again: single use, so a full handshake */
  o = run(ccfg, scfg, t, clock_now, NULL, NULL);
  CHECK_EQ_INT(o.rc, TERN_OK);
  CHECK(!o.resumed_c && !o.resumed_s);
  CHECK(o.secrets_agree);
  CHECK_EQ_INT(o.sig_s, TERN_SIG_ECDSA_SECP256R1_SHA256);
  /* a ticket of the resumed connection resumes in turn */
  o = run(ccfg, scfg, t + 2, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.resumed_s);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

static void test_psk_ke(void) {
  tern_config *scfg = server_config("h3", 0), *ccfg = client_config(0);
  int t;
  outcome o;
  CHECK_EQ_INT(tern_config_set_psk_ke(scfg, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_psk_ke(ccfg, 1), TERN_OK);
  t = fresh_tickets(ccfg, scfg);
  o = run(ccfg, scfg, t, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.resumed_c && o.resumed_s && o.secrets_agree);
  CHECK_EQ_INT(o.group, 0); /* no (EC)DHE */
  /* a client that offers only psk_dhe_ke still gets it */
  CHECK_EQ_INT(tern_config_set_psk_ke(ccfg, 0), TERN_OK);
  o = run(ccfg, scfg, t + 1, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.resumed_s);
  CHECK_EQ_INT(o.group, TERN_GROUP_X25519MLKEM768);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

static void test_early_accepted(void) {
  tern_config *scfg = server_config("h3", 1), *ccfg = client_config(1);
  int t = fresh_tickets(ccfg, scfg);
  outcome o;
  CHECK_EQ_INT(sessions[t].max_early, 0xffffffffu); /* RFC 9001 §4.6.1 */
  clock_now += 2000;
  o = run(ccfg, scfg, t, clock_now, NULL, NULL);
  CHECK_EQ_INT(o.rc, TERN_OK);
  CHECK(o.resumed_c && o.resumed_s && o.secrets_agree);
  CHECK_EQ_INT(o.early_c, TERN_EARLY_DATA_ACCEPTED);
  CHECK_EQ_INT(o.early_s, TERN_EARLY_DATA_ACCEPTED);
  CHECK(o.early_agree);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

/* Expects a resumption whose 0-RTT is refused. */
static void expect_early_rejected(const char *what, outcome o, int resumed) {
  CHECK_EQ_INT(o.rc, TERN_OK);
  CHECK(o.secrets_agree);
  CHECK_EQ_INT(o.resumed_s, resumed);
  CHECK_EQ_INT(o.early_c, TERN_EARLY_DATA_REJECTED);
  CHECK(o.client_early_installed); /* it was offered */
  if (o.early_c != TERN_EARLY_DATA_REJECTED || o.resumed_s != resumed)
    fprintf(stderr, "  %s: early %d/%d resumed %d\n", what, o.early_c, o.early_s, o.resumed_s);
}

/* The client's ClientHello, kept to replay it. */
static uint8_t saved_ch[4096];
static size_t saved_ch_len;

static void test_early_rejected(void) {
  tern_config *scfg = server_config("h3", 1), *ccfg = client_config(1);
  tern_config *other_alpn = server_config("hq-interop", 1), *no_early = server_config("h3", 0);
  int t = fresh_tickets(ccfg, scfg);
  int t2 = fresh_tickets(ccfg, scfg), t3 = fresh_tickets(ccfg, scfg);
  outcome o;

  /* the server negotiates another ALPN than the ticket's */
  CHECK_EQ_INT(tern_config_set_ticket_key(other_alpn, (const uint8_t *)"0123456789abcdef",
                                          (const uint8_t *)"0123456789abcdef0123456789abcdef"),
               TERN_OK);
  o = run(ccfg, other_alpn, fresh_tickets(ccfg, scfg), clock_now, NULL, NULL);
  /* (other server, other ticket key: not even resumed) */
  expect_early_rejected("other server", o, 0);

  /* same server, ALPN differs: share the key so the ticket opens */
  {
    tern_config *s1 = server_config("h3", 1), *s2 = server_config("hq-interop", 1);
    static const uint8_t name[16] = "fleet-key-name-1", key[32] = "fleet-key-fleet-key-fleet-key-32";
    CHECK_EQ_INT(tern_config_set_ticket_key(s1, name, key), TERN_OK);
    CHECK_EQ_INT(tern_config_set_ticket_key(s2, name, key), TERN_OK);
    int ta = fresh_tickets(ccfg, s1);
    o = run(ccfg, s2, ta, clock_now, NULL, NULL);
    expect_early_rejected("ALPN changed", o, 1);
    /* and the same fleet key resumes with 0-RTT on the other server of the ALPN */
    o = run(ccfg, s1, ta + 1, clock_now, NULL, NULL);
    CHECK_EQ_INT(o.early_s, TERN_EARLY_DATA_ACCEPTED);
    tern_config_free(s1);
    tern_config_free(s2);
  }

  /* the early-data context changed (e.g. other transport parameters) */
  o = run(ccfg, scfg, t, clock_now, "other context", NULL);
  expect_early_rejected("context changed", o, 1);

  /* the client's ticket age disagrees with the server's by 30 s */
  o = run(ccfg, scfg, t + 1, clock_now + 30000, NULL, NULL);
  expect_early_rejected("stale ticket age", o, 1);

  /* the application's callback refuses */
  early_answer = 0;
  o = run(ccfg, scfg, t2, clock_now, NULL, NULL);
  expect_early_rejected("callback", o, 1);
  early_answer = 1;

  /* the server does not do 0-RTT at all */
  o = run(ccfg, no_early, t2 + 1, clock_now, NULL, NULL);
  /* (no_early has its own ticket key: a full handshake) */
  expect_early_rejected("server without 0-RTT", o, 0);

  /* a used ticket: resumption refused, so its early data too */
  o = run(ccfg, scfg, t, clock_now, NULL, NULL);
  expect_early_rejected("ticket used before", o, 0);

  /* accepted once, then the very same ClientHello replayed */
  {
    qpair p, q;
    CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
    CHECK_EQ_INT(tern_conn_set_session(p.c.conn, sessions[t3].blob, sessions[t3].len,
                                       clock_now), TERN_OK);
    CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
    saved_ch_len = p.c.out_len[TERN_LEVEL_INITIAL];
    CHECK(saved_ch_len <= sizeof saved_ch);
    memcpy(saved_ch, p.c.out[TERN_LEVEL_INITIAL], saved_ch_len);
    CHECK_EQ_INT(qpair_run(&p), TERN_OK);
    CHECK_EQ_INT(tern_conn_early_data_status(p.s.conn), TERN_EARLY_DATA_ACCEPTED);
    /* the replay reaches another connection of the same server */
    CHECK_EQ_INT(qpair_init(&q, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    CHECK_EQ_INT(tern_quic_provide_data(q.s.conn, TERN_LEVEL_INITIAL, saved_ch, saved_ch_len),
                 TERN_OK);
    CHECK_EQ_INT(tern_handshake(q.s.conn), TERN_WANT_READ);
    CHECK_EQ_INT(tern_conn_early_data_status(q.s.conn), TERN_EARLY_DATA_REJECTED);
    CHECK_EQ_INT(tern_conn_resumed(q.s.conn), 0);
    CHECK_EQ_INT(q.s.secret_len[TERN_LEVEL_EARLY][TERN_READ], 0);
    qpair_free(&p);
    qpair_free(&q);
  }
  tern_config_free(scfg);
  tern_config_free(ccfg);
  tern_config_free(other_alpn);
  tern_config_free(no_early);
}

static void advance_clock_past_lifetime(qpair *p) {
  (void)p;
  clock_now += 3600 * 1000ull; /* the server's clock: the ticket is now expired */
}

static void flip_binder(qpair *p) {
  /* send the ClientHello ourselves with its last byte (in the binder) flipped */
  CHECK_EQ_INT(tern_handshake(p->c.conn), TERN_WANT_READ);
  p->c.out[TERN_LEVEL_INITIAL][p->c.out_len[TERN_LEVEL_INITIAL] - 1] ^= 1;
}

static void test_refusals(void) {
  tern_config *scfg = server_config("h3", 0), *ccfg = client_config(0);
  int t = fresh_tickets(ccfg, scfg);
  tern_conn *c;
  outcome o;
  uint8_t bad[TERN_SESSION_MAX_BYTES];

  /* the client refuses what it should not offer */
  c = tern_conn_new_quic(ccfg, &qpair_callbacks, NULL);
  CHECK_EQ_INT(tern_conn_set_server_name(c, "localhost"), TERN_OK);
  CHECK_EQ_INT(tern_conn_set_session(c, sessions[t].blob, sessions[t].len,
                                     clock_now + 3600 * 1000ull),
               TERN_ERR_EXPIRED);
  memcpy(bad, sessions[t].blob, sessions[t].len);
  bad[sessions[t].len / 2] ^= 0x10;
  CHECK_EQ_INT(tern_conn_set_session(c, bad, sessions[t].len, clock_now), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_conn_set_session(c, bad, 3, clock_now), TERN_ERR_MALFORMED);
  tern_conn_free(c);
  c = tern_conn_new_quic(ccfg, &qpair_callbacks, NULL);
  CHECK_EQ_INT(tern_conn_set_server_name(c, "example.com"), TERN_OK);
  CHECK_EQ_INT(tern_conn_set_session(c, sessions[t].blob, sessions[t].len, clock_now),
               TERN_ERR_MISMATCH);
  tern_conn_free(c);
  {
    uint16_t only256 = TERN_TLS_AES_256_GCM_SHA384;
    tern_config *c384 = client_config(0);
    CHECK_EQ_INT(tern_config_set_cipher_suites(c384, &only256, 1), TERN_OK);
    c = tern_conn_new_quic(c384, &qpair_callbacks, NULL);
    CHECK_EQ_INT(tern_conn_set_server_name(c, "localhost"), TERN_OK);
    CHECK_EQ_INT(tern_conn_set_session(c, sessions[t].blob, sessions[t].len, clock_now),
                 TERN_ERR_UNSUPPORTED);
    tern_conn_free(c);
    tern_config_free(c384);
  }

  /* the server: a ticket past its lifetime by the server's clock */
  o = run(ccfg, scfg, t, clock_now, NULL, advance_clock_past_lifetime);
  CHECK_EQ_INT(o.rc, TERN_OK);
  CHECK_EQ_INT(o.resumed_s, 0);

  /* a ticket sealed under a key rotated out two generations back */
  t = fresh_tickets(ccfg, scfg);
  CHECK_EQ_INT(tern_config_set_ticket_key(scfg, (const uint8_t *)"generation-one..",
                                          (const uint8_t *)"key-one-key-one-key-one-key-one."),
               TERN_OK);
  o = run(ccfg, scfg, t, clock_now, NULL, NULL); /* previous key still opens */
  CHECK(o.rc == TERN_OK && o.resumed_s);
  CHECK_EQ_INT(tern_config_set_ticket_key(scfg, (const uint8_t *)"generation-two..",
                                          (const uint8_t *)"key-two-key-two-key-two-key-two."),
               TERN_OK);
  o = run(ccfg, scfg, t + 1, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && !o.resumed_s && o.secrets_agree);

  /* a wrong binder ends the handshake with decrypt_error */
  t = fresh_tickets(ccfg, scfg);
  {
    qpair p;
    CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
    CHECK_EQ_INT(tern_conn_set_session(p.c.conn, sessions[t].blob, sessions[t].len, clock_now),
                 TERN_OK);
    flip_binder(&p);
    CHECK_EQ_INT(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL), TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(p.s.conn), TERN_ALERT_DECRYPT_ERROR);
    qpair_free(&p);
  }
  /* the ticket of the failed attempt was not burnt by the bad binder */
  o = run(ccfg, scfg, t, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.resumed_s);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

static void test_hrr_resumption(void) {
  tern_config *scfg = server_config("h3", 1), *ccfg = client_config(1);
  uint16_t p256 = TERN_GROUP_SECP256R1, both[2] = {TERN_GROUP_SECP256R1, TERN_GROUP_X25519};
  int t = fresh_tickets(ccfg, scfg);
  outcome o;
  /* the server wants P-256, the client sends an X25519 share: HRR */
  CHECK_EQ_INT(tern_config_set_groups(scfg, &p256, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_groups(ccfg, both, 2), TERN_OK);
  CHECK_EQ_INT(tern_config_set_key_share_groups(ccfg, both + 1, 1), TERN_OK);
  o = run(ccfg, scfg, t, clock_now, NULL, NULL);
  CHECK_EQ_INT(o.rc, TERN_OK);
  CHECK(o.resumed_c && o.resumed_s && o.secrets_agree);
  CHECK_EQ_INT(o.group, TERN_GROUP_SECP256R1);
  /* a HelloRetryRequest rejects 0-RTT */
  CHECK_EQ_INT(o.early_c, TERN_EARLY_DATA_REJECTED);
  CHECK_EQ_INT(o.early_s, TERN_EARLY_DATA_REJECTED);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

static void test_tickets_on_demand(void) {
  tern_config *scfg = server_config("h3", 0), *ccfg = client_config(0);
  qpair p;
  int before;
  CHECK_EQ_INT(tern_config_set_tickets(scfg, 0, 600), TERN_OK);
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  CHECK_EQ_INT(tern_conn_send_tickets(p.s.conn, 1), TERN_ERR_STATE); /* not done */
  before = n_sessions;
  CHECK_EQ_INT(qpair_run(&p), TERN_OK);
  CHECK_EQ_INT(n_sessions, before); /* none configured */
  CHECK_EQ_INT(tern_conn_send_tickets(p.s.conn, 3), TERN_OK);
  CHECK_EQ_INT(qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_APPLICATION), TERN_OK);
  CHECK_EQ_INT(n_sessions, before + 3);
  CHECK_EQ_INT(tern_conn_send_tickets(p.c.conn, 1), TERN_ERR_STATE); /* client */
  CHECK_EQ_INT(tern_conn_send_tickets(p.s.conn, 11), TERN_ERR_INVALID_ARG);
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

static void test_api(void) {
  tern_config *s = tern_config_new(TERN_SERVER), *c = tern_config_new(TERN_CLIENT);
  uint8_t out[8];
  CHECK_EQ_INT(tern_config_set_tickets(s, 2, 604801), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_tickets(s, 11, 60), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_tickets(c, 1, 60), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_ticket_key(c, (const uint8_t *)"0123456789abcdef",
                                          (const uint8_t *)"0123456789abcdef0123456789abcdef"),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_new_session_callback(s, on_session, NULL), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_replay_store(s, 0, NULL, NULL), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_replay_store(s, 64, NULL, NULL), TERN_OK);
  CHECK_EQ_INT(tern_export_keying_material(NULL, "x", NULL, 0, out, 8), TERN_ERR_INVALID_ARG);
  tern_config_free(s);
  tern_config_free(c);
}

/* A shared replay store (the fleet hook): counts what it saw. */
static int store_calls, store_held;
static uint8_t store_ids[8][32];
static int fleet_store(void *user, const uint8_t id[32], uint64_t now, uint64_t expires) {
  (void)user;
  CHECK(expires > now);
  store_calls++;
  for (int i = 0; i < store_held; i++)
    if (memcmp(store_ids[i], id, 32) == 0) return 0;
  if (store_held < 8) memcpy(store_ids[store_held++], id, 32);
  return 1;
}

static void test_fleet_store(void) {
  tern_config *a = server_config("h3", 1), *b = server_config("h3", 1), *ccfg = client_config(1);
  static const uint8_t name[16] = "fleet-key-name-2", key[32] = "another-fleet-key-of-32-bytes!!!";
  int t;
  outcome o;
  CHECK_EQ_INT(tern_config_set_ticket_key(a, name, key), TERN_OK);
  CHECK_EQ_INT(tern_config_set_ticket_key(b, name, key), TERN_OK);
  CHECK_EQ_INT(tern_config_set_replay_store(a, 0, fleet_store, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_replay_store(b, 0, fleet_store, NULL), TERN_OK);
  t = fresh_tickets(ccfg, a);
  o = run(ccfg, b, t, clock_now, NULL, NULL); /* issued by a, used at b */
  CHECK(o.rc == TERN_OK && o.resumed_s);
  CHECK_EQ_INT(o.early_s, TERN_EARLY_DATA_ACCEPTED);
  o = run(ccfg, a, t, clock_now, NULL, NULL); /* the same ticket at a: seen */
  CHECK(o.rc == TERN_OK && !o.resumed_s);
  CHECK_EQ_INT(store_calls, 2);
  tern_config_free(a);
  tern_config_free(b);
  tern_config_free(ccfg);
}

/* A fleet store that cannot be reached: every call says so (-1). */
static int down_calls;
static int down_store(void *user, const uint8_t id[32], uint64_t now, uint64_t expires) {
  (void)user, (void)id, (void)now, (void)expires;
  down_calls++;
  return -1;
}

/* A store that answers -1 (unavailable): the ticket still resumes, its
   early data is refused (fail closed), the handshake completes in
   1-RTT; a full handshake is untouched. A store answering 1 again takes
   0-RTT again. */
static void test_store_unavailable(void) {
  tern_config *a = server_config("h3", 1), *ccfg = client_config(1);
  outcome o;
  int t = fresh_tickets(ccfg, a);
  CHECK_EQ_INT(tern_config_set_replay_store(a, 0, down_store, NULL), TERN_OK);
  o = run(ccfg, a, t, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.secrets_agree);
  CHECK(o.resumed_s && o.resumed_c);
  CHECK_EQ_INT(o.early_s, TERN_EARLY_DATA_REJECTED);
  CHECK_EQ_INT(o.early_c, TERN_EARLY_DATA_REJECTED);
  CHECK(o.client_early_installed); /* offered, refused */
  CHECK_EQ_INT(down_calls, 1);
  o = run(ccfg, a, -1, clock_now, NULL, NULL); /* a full handshake: no call */
  CHECK(o.rc == TERN_OK && !o.resumed_s);
  CHECK_EQ_INT(down_calls, 1);
  /* the store is back */
  CHECK_EQ_INT(tern_config_set_replay_store(a, 0, fleet_store, NULL), TERN_OK);
  o = run(ccfg, a, t + 1, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.resumed_s);
  CHECK_EQ_INT(o.early_s, TERN_EARLY_DATA_ACCEPTED);
  tern_config_free(a);
  tern_config_free(ccfg);
}

/* The application's own ticket store (tern_config_set_ticket_store):
   each issued ticket is kept by its identity, a fetch takes it out
   (single use), a revoked ticket is refused, a store that cannot tell
   (-1) resumes without 0-RTT. */
#define APP_TICKETS 16
static struct {
  uint8_t id[2048]; /* tern's tickets: TERN_TICKET_MAX */
  size_t len;
  uint32_t lifetime, max_early;
} app_tickets[APP_TICKETS];
static int app_held, app_issued, app_fetched, app_answer = 1;

static void app_issued_cb(tern_conn *c, const uint8_t *t, size_t len, uint32_t lifetime,
                          uint32_t max_early, void *user) {
  CHECK(c != NULL && user == &app_held && len > 0 && len <= 2048);
  app_issued++;
  if (app_held < APP_TICKETS && len <= 2048) {
    memcpy(app_tickets[app_held].id, t, len);
    app_tickets[app_held].len = len;
    app_tickets[app_held].lifetime = lifetime;
    app_tickets[app_held].max_early = max_early;
    app_held++;
  }
}

static int app_fetch_cb(tern_conn *c, const uint8_t *t, size_t len, void *user) {
  CHECK(c != NULL && user == &app_held);
  app_fetched++;
  if (app_answer != 1) return app_answer;
  for (int i = 0; i < app_held; i++)
    if (app_tickets[i].len == len && memcmp(app_tickets[i].id, t, len) == 0) {
      app_tickets[i] = app_tickets[--app_held]; /* forgotten: single use */
      return 1;
    }
  return 0;
}

/* The store in use: a held ticket resumes once with 0-RTT; its second
   use, a ticket the application revoked and one the store cannot vouch
   for are refused (the last only its early data). */
static void test_app_ticket_store(void) {
  tern_config *s = server_config("h3", 1), *ccfg = client_config(1);
  outcome o;
  int t;
  CHECK_EQ_INT(tern_config_set_ticket_store(s, app_issued_cb, NULL, &app_held),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_ticket_store(ccfg, app_issued_cb, app_fetch_cb, &app_held),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_ticket_store(s, app_issued_cb, app_fetch_cb, &app_held), TERN_OK);
  t = fresh_tickets(ccfg, s);
  CHECK_EQ_INT(app_issued, 2);
  CHECK_EQ_INT(app_held, 2);
  CHECK_EQ_INT(app_tickets[0].lifetime, 3600);
  CHECK(app_tickets[0].max_early > 0); /* QUIC: 0xffffffff */
  /* held: resumes with 0-RTT, and the store forgets it */
  o = run(ccfg, s, t, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.resumed_s && o.resumed_c && o.secrets_agree);
  CHECK_EQ_INT(o.early_s, TERN_EARLY_DATA_ACCEPTED);
  CHECK_EQ_INT(app_fetched, 1);
  CHECK_EQ_INT(app_held, 1 + 2); /* the other one + the 2 the resumed connection got */
  /* the same ticket again: the store says no, a full handshake */
  o = run(ccfg, s, t, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && !o.resumed_s && !o.resumed_c);
  CHECK_EQ_INT(app_fetched, 2);
  /* revoked by the application (store emptied): refused though valid */
  app_held = 0;
  o = run(ccfg, s, t + 1, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && !o.resumed_s);
  CHECK_EQ_INT(app_fetched, 3);
  /* a store that cannot tell: resumes, early data refused */
  app_answer = -1;
  o = run(ccfg, s, t + 2, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.resumed_s && o.secrets_agree);
  CHECK_EQ_INT(o.early_s, TERN_EARLY_DATA_REJECTED);
  app_answer = 1;
  /* the store leaves a ticket to the strike register: first use resumes
     with 0-RTT, a second is refused */
  app_answer = TERN_TICKET_DEFAULT;
  o = run(ccfg, s, t + 4, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.resumed_s);
  CHECK_EQ_INT(o.early_s, TERN_EARLY_DATA_ACCEPTED);
  o = run(ccfg, s, t + 4, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && !o.resumed_s);
  CHECK_EQ_INT(app_fetched, 6);
  app_answer = 1;
  /* back to the strike register */
  CHECK_EQ_INT(tern_config_set_ticket_store(s, NULL, NULL, NULL), TERN_OK);
  o = run(ccfg, s, t + 3, clock_now, NULL, NULL);
  CHECK(o.rc == TERN_OK && o.resumed_s);
  CHECK_EQ_INT(app_fetched, 6);
  tern_config_free(s);
  tern_config_free(ccfg);
}

int main(void) {
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW), 0);
  test_api();
  test_resumption();
  test_psk_ke();
  test_early_accepted();
  test_early_rejected();
  test_refusals();
  test_hrr_resumption();
  test_tickets_on_demand();
  test_fleet_store();
  test_store_unavailable();
  test_app_ticket_store();
  printf("tickets received by the client: %d\n", n_sessions);
  CHECK_EQ_INT(sessions_seen_bad, 0);
  pki_free(&server_pki);
  return check_report();
}
