/*
 * test_psk.c - external PSKs (RFC 8446 §4.2.11), tern client <-> tern
 * server, every case in QUIC mode (tools/qpair.c) and over TCP (records
 * in memory): psk_dhe_ke and psk_ke, SHA-256 and SHA-384 PSKs (the
 * server moving to a suite of the PSK's hash, also through a
 * HelloRetryRequest), several PSKs on each side (the right one taken),
 * an unknown identity (full handshake with a certificate,
 * handshake_failure without), a wrong key (decrypt_error on the binder),
 * a server with no certificate, a ticket and an external PSK offered
 * together (the ticket first, the PSK when the ticket is refused), 0-RTT
 * on an external PSK (accepted, refused for each reason, a replayed
 * ClientHello refused), a server's selection the client must refuse,
 * and the API's argument checks.
 *
 * None of the clients here has a trust store: a PSK handshake needs none.
 */
#include <openssl/x509.h>

#include "check.h"
#include "codec/msg.h"
#include "pki.h"
#include "qpair.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};

static pki server_pki;
static uint64_t clock_now = 1800000000000ull;
static uint64_t test_clock(void *u) {
  (void)u;
  return clock_now;
}

/* Keys: 32 bytes for the SHA-256 PSKs, 48 for the SHA-384 one. */
static const uint8_t key_a[32] = "key-of-psk-a-key-of-psk-a-0123!";
static const uint8_t key_b[48] = "key-of-psk-b-key-of-psk-b-key-of-psk-b-0123456";
static const uint8_t key_c[32] = "key-of-psk-c-key-of-psk-c-0123!";
static const uint8_t key_wrong[32] = "not-the-key-of-a-not-the-key-01";

#define ID(s) (const uint8_t *)(s), strlen(s)

/* The last ticket the client was given. */
static uint8_t session[TERN_SESSION_MAX_BYTES];
static size_t session_len;
static int sessions_seen;
static void on_session(tern_conn *c, const uint8_t *s, size_t len, uint32_t me, void *u) {
  (void)c, (void)me, (void)u;
  CHECK(len <= sizeof session);
  if (len > sizeof session) return;
  memcpy(session, s, len);
  session_len = len;
  sessions_seen++;
}

static const char *const alpn_h3[] = {"h3"};

/* A client with no trust store (verification stays on). */
static tern_config *client_config(void) {
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  CHECK(cfg != NULL);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn_h3, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_new_session_callback(cfg, on_session, NULL), TERN_OK);
  return cfg;
}

/* A server, with the P-256 certificate or with none. */
static tern_config *server_config(int with_cert) {
  tern_config *cfg = tern_config_new(TERN_SERVER);
  CHECK(cfg != NULL);
  if (with_cert) {
    STACK_OF(X509) *chain = pki_chain(&server_pki);
    CHECK_EQ_INT(tern_config_set_cert(cfg, server_pki.leaf, chain, server_pki.leaf_key), TERN_OK);
    sk_X509_pop_free(chain, X509_free);
  }
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn_h3, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
  return cfg;
}

/* ---- one connection pair, QUIC or TCP ------------------------------ */

typedef struct link {
  int tcp;
  qpair q;          /* QUIC */
  tern_conn *c, *s; /* the two ends */
} link;

static int link_open(link *l, int tcp, tern_config *cc, tern_config *sc) {
  memset(l, 0, sizeof *l);
  l->tcp = tcp;
  if (!tcp) {
    if (qpair_init(&l->q, cc, sc, client_tp, sizeof client_tp, server_tp, sizeof server_tp) != 0)
      return -1;
    l->c = l->q.c.conn;
    l->s = l->q.s.conn;
    return 0;
  }
  l->c = tern_conn_new_tls(cc, NULL);
  l->s = tern_conn_new_tls(sc, NULL);
  return l->c && l->s ? 0 : -1;
}

static void link_free(link *l) {
  if (!l->tcp) {
    qpair_free(&l->q);
  } else {
    tern_conn_free(l->c);
    tern_conn_free(l->s);
  }
  memset(l, 0, sizeof *l);
}

/* TCP: moves what `from` has to send into `to`; what tern_tls_feed said. */
static int pump(tern_conn *from, tern_conn *to) {
  size_t len, used;
  const uint8_t *p;
  int rc = TERN_OK;
  while ((p = tern_tls_output(from, &len)) != NULL && rc == TERN_OK) {
    rc = tern_tls_feed(to, p, len, &used);
    tern_tls_output_done(from, used);
    if (rc == TERN_OK && used == 0) break;
  }
  return rc;
}

/* Runs the handshake (the client's first flight may already be out):
   TERN_OK when both are done, else the first failure (the alert then
   reached the other end over TCP). */
static int link_run(link *l) {
  int rc;
  if (!l->tcp) return qpair_run(&l->q);
  rc = tern_handshake(l->c);
  if (rc < 0) return rc;
  for (int i = 0; i < 20; i++) {
    size_t n;
    if ((rc = pump(l->c, l->s)) != TERN_OK) {
      pump(l->s, l->c); /* the server's alert */
      return rc;
    }
    if ((rc = pump(l->s, l->c)) != TERN_OK) {
      pump(l->c, l->s);
      return rc;
    }
    if (tern_conn_handshake_done(l->c) && tern_conn_handshake_done(l->s) &&
        tern_tls_output(l->s, &n) == NULL && tern_tls_output(l->c, &n) == NULL)
      return TERN_OK;
  }
  return TERN_ERR_STATE;
}

/* TCP: n bytes from a to b arrive intact. */
static void transfer(tern_conn *a, tern_conn *b, size_t n) {
  uint8_t data[3000], got[3001];
  size_t have = 0, k;
  CHECK(n <= sizeof data);
  for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(i * 13 + n);
  CHECK_EQ_INT(tern_tls_write(a, data, n), TERN_OK);
  CHECK_EQ_INT(pump(a, b), TERN_OK);
  while (have < n && tern_tls_read(b, got + have, sizeof got - have, &k) == TERN_OK) have += k;
  CHECK_EQ_INT(have, n);
  CHECK(memcmp(data, got, n) == 0);
}

/* What one handshake came to. */
typedef struct result {
  int rc;
  uint8_t alert_c, alert_s;
  char id_c[TERN_PSK_MAX_IDENTITY + 1], id_s[TERN_PSK_MAX_IDENTITY + 1]; /* "" none */
  int resumed_c, resumed_s;
  uint16_t suite_c, suite_s, group, sig_c, sig_s;
  int early_c, early_s;
  int hrr;
  int peer_cert_c;           /* the client holds a server certificate */
  int agree;                 /* exporters (and QUIC secrets, TCP data) agree */
  int early_agree;           /* QUIC: both 0-RTT secrets installed and equal */
} result;

/* The external PSK identity a connection used, as a string ("" none). */
static void identity_of(const tern_conn *c, char *out) {
  const uint8_t *id;
  size_t len;
  out[0] = 0;
  if (tern_conn_psk_identity(c, &id, &len) == TERN_OK) {
    memcpy(out, id, len);
    out[len] = 0;
  }
}

static int quiet; /* a failure is what the case expects: print nothing */
static int n_done[2]; /* completed handshakes checked, QUIC and TCP */

static result finish(link *l, int rc) {
  result r;
  const uint8_t *der;
  size_t len;
  memset(&r, 0, sizeof r);
  r.rc = rc;
  if (rc != TERN_OK && !quiet)
    fprintf(stderr, "  %s: client \"%s\" / server \"%s\"\n", l->tcp ? "TCP" : "QUIC",
            tern_conn_error_detail(l->c), tern_conn_error_detail(l->s));
  r.alert_c = tern_conn_alert(l->c);
  r.alert_s = tern_conn_alert(l->s);
  identity_of(l->c, r.id_c);
  identity_of(l->s, r.id_s);
  r.resumed_c = tern_conn_resumed(l->c);
  r.resumed_s = tern_conn_resumed(l->s);
  r.suite_c = tern_conn_cipher_suite(l->c);
  r.suite_s = tern_conn_cipher_suite(l->s);
  r.group = tern_conn_group(l->s);
  r.sig_c = tern_conn_signature_scheme(l->c);
  r.sig_s = tern_conn_signature_scheme(l->s);
  r.early_c = tern_conn_early_data_status(l->c);
  r.early_s = tern_conn_early_data_status(l->s);
  r.hrr = tern_conn_used_hrr(l->s);
  r.peer_cert_c = tern_conn_peer_certificate(l->c, &der, &len) == TERN_OK;
  if (!l->tcp) {
    size_t n = l->q.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE];
    r.early_agree = n > 0 && n == l->q.s.secret_len[TERN_LEVEL_EARLY][TERN_READ] &&
                    memcmp(l->q.c.secret[TERN_LEVEL_EARLY][TERN_WRITE],
                           l->q.s.secret[TERN_LEVEL_EARLY][TERN_READ], n) == 0;
  }
  if (rc == TERN_OK) {
    uint8_t a[32], b[32];
    n_done[l->tcp]++;
    r.agree = tern_export_keying_material(l->c, "EXPORTER-psk", NULL, 0, a, sizeof a) == TERN_OK &&
              tern_export_keying_material(l->s, "EXPORTER-psk", NULL, 0, b, sizeof b) == TERN_OK &&
              memcmp(a, b, sizeof a) == 0;
    if (!l->tcp) {
      for (int lv = TERN_LEVEL_HANDSHAKE; lv <= TERN_LEVEL_APPLICATION; lv++) {
        size_t n = l->q.c.secret_len[lv][TERN_WRITE];
        r.agree &= n > 0 && n == l->q.s.secret_len[lv][TERN_READ] &&
                   memcmp(l->q.c.secret[lv][TERN_WRITE], l->q.s.secret[lv][TERN_READ], n) == 0 &&
                   memcmp(l->q.s.secret[lv][TERN_WRITE], l->q.c.secret[lv][TERN_READ], n) == 0;
      }
      /* the transport parameters travelled as usual */
      const uint8_t *tp;
      size_t tp_len;
      CHECK_EQ_INT(tern_quic_peer_transport_params(l->c, &tp, &tp_len), TERN_OK);
      CHECK(tp_len == sizeof server_tp && memcmp(tp, server_tp, tp_len) == 0);
      CHECK_EQ_INT(tern_quic_peer_transport_params(l->s, &tp, &tp_len), TERN_OK);
      CHECK(tp_len == sizeof client_tp && memcmp(tp, client_tp, tp_len) == 0);
    } else {
      transfer(l->c, l->s, 1000);
      transfer(l->s, l->c, 2500);
    }
  }
  return r;
}

/* One handshake with a fresh pair; with_session offers the last ticket. */
static result run(int tcp, tern_config *cc, tern_config *sc, int with_session) {
  link l;
  result r;
  CHECK_EQ_INT(link_open(&l, tcp, cc, sc), 0);
  if (with_session)
    CHECK_EQ_INT(tern_conn_set_session(l.c, session, session_len, clock_now), TERN_OK);
  r = finish(&l, link_run(&l));
  link_free(&l);
  return r;
}

/* A completed handshake on external PSK `id`, no certificate involved. */
static void expect_psk(const char *what, const result *r, const char *id, uint16_t suite,
                       uint16_t group) {
  CHECK_EQ_INT(r->rc, TERN_OK);
  CHECK(strcmp(r->id_c, id) == 0);
  CHECK(strcmp(r->id_s, id) == 0);
  CHECK_EQ_INT(r->suite_c, suite);
  CHECK_EQ_INT(r->suite_s, suite);
  CHECK_EQ_INT(r->group, group);
  CHECK(!r->resumed_c && !r->resumed_s); /* an external PSK is no resumption */
  CHECK_EQ_INT(r->sig_c, 0);             /* no CertificateVerify */
  CHECK_EQ_INT(r->sig_s, 0);
  CHECK(!r->peer_cert_c);
  CHECK(r->agree);
  if (r->rc != TERN_OK || strcmp(r->id_s, id) != 0 || r->suite_s != suite || r->group != group)
    fprintf(stderr, "  %s: rc %d, identity \"%s\"/\"%s\", suite %04x, group %04x\n", what, r->rc,
            r->id_c, r->id_s, r->suite_s, r->group);
}

/* ---- the cases ------------------------------------------------------ */

/* psk_dhe_ke (default) and psk_ke, a SHA-256 PSK, at a server with a
   certificate it does not need. */
static void test_modes(int tcp) {
  tern_config *cc = client_config(), *sc = server_config(1);
  result r;
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(sc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  r = run(tcp, cc, sc, 0);
  expect_psk("psk_dhe_ke", &r, "alice", TERN_TLS_AES_128_GCM_SHA256, TERN_GROUP_X25519MLKEM768);
  /* psk_ke: both allow it */
  CHECK_EQ_INT(tern_config_set_psk_ke(cc, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_psk_ke(sc, 1), TERN_OK);
  r = run(tcp, cc, sc, 0);
  expect_psk("psk_ke", &r, "alice", TERN_TLS_AES_128_GCM_SHA256, 0);
  /* the server does not allow psk_ke: psk_dhe_ke */
  CHECK_EQ_INT(tern_config_set_psk_ke(sc, 0), TERN_OK);
  r = run(tcp, cc, sc, 0);
  expect_psk("psk_ke offered only", &r, "alice", TERN_TLS_AES_128_GCM_SHA256, TERN_GROUP_X25519MLKEM768);
  tern_config_free(cc);
  tern_config_free(sc);
}

/* SHA-384: the server moves to its suite of that hash; a client without
   one does not offer the PSK at all. */
static void test_sha384(int tcp) {
  tern_config *cc = client_config(), *sc = server_config(0);
  uint16_t only128 = TERN_TLS_AES_128_GCM_SHA256;
  result r;
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("bob"), key_b, sizeof key_b, TERN_PSK_SHA384), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(sc, ID("bob"), key_b, sizeof key_b, TERN_PSK_SHA384), TERN_OK);
  r = run(tcp, cc, sc, 0);
  expect_psk("SHA-384", &r, "bob", TERN_TLS_AES_256_GCM_SHA384, TERN_GROUP_X25519MLKEM768);
  /* psk_ke too */
  CHECK_EQ_INT(tern_config_set_psk_ke(cc, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_psk_ke(sc, 1), TERN_OK);
  r = run(tcp, cc, sc, 0);
  expect_psk("SHA-384 psk_ke", &r, "bob", TERN_TLS_AES_256_GCM_SHA384, 0);
  /* no SHA-384 suite at the client: nothing offered, and this server has
     no certificate */
  CHECK_EQ_INT(tern_config_set_cipher_suites(cc, &only128, 1), TERN_OK);
  quiet = 1;
  r = run(tcp, cc, sc, 0);
  quiet = 0;
  CHECK_EQ_INT(r.rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(r.alert_s, TERN_ALERT_HANDSHAKE_FAILURE);
  if (tcp) CHECK_EQ_INT(r.alert_c, TERN_ALERT_HANDSHAKE_FAILURE); /* the alert record */
  tern_config_free(cc);
  tern_config_free(sc);
  /* the same through a HelloRetryRequest: the server wants P-256, the
     client sent X25519; the HelloRetryRequest names the PSK's suite */
  cc = client_config();
  sc = server_config(0);
  uint16_t p256 = TERN_GROUP_SECP256R1;
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("bob"), key_b, sizeof key_b, TERN_PSK_SHA384), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(sc, ID("bob"), key_b, sizeof key_b, TERN_PSK_SHA384), TERN_OK);
  CHECK_EQ_INT(tern_config_set_groups(sc, &p256, 1), TERN_OK);
  r = run(tcp, cc, sc, 0);
  expect_psk("SHA-384 after HRR", &r, "bob", TERN_TLS_AES_256_GCM_SHA384, TERN_GROUP_SECP256R1);
  CHECK_EQ_INT(r.hrr, 1);
  tern_config_free(cc);
  tern_config_free(sc);
}

/* Several PSKs each side: the first offered identity the server knows. */
static void test_several(int tcp) {
  tern_config *cc = client_config(), *sc = server_config(0), *cc2 = client_config();
  result r;
  CHECK_EQ_INT(tern_config_add_psk(sc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(sc, ID("bob"), key_b, sizeof key_b, TERN_PSK_SHA384), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(sc, ID("carol"), key_c, sizeof key_c, TERN_PSK_SHA256), TERN_OK);
  /* the client: one the server does not know, then carol, then alice */
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("mallory"), key_a, sizeof key_a, TERN_PSK_SHA256),
               TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("carol"), key_c, sizeof key_c, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  r = run(tcp, cc, sc, 0);
  expect_psk("several", &r, "carol", TERN_TLS_AES_128_GCM_SHA256, TERN_GROUP_X25519MLKEM768);
  /* another client: bob (SHA-384) before alice: bob, and its suite */
  CHECK_EQ_INT(tern_config_add_psk(cc2, ID("bob"), key_b, sizeof key_b, TERN_PSK_SHA384), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(cc2, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256),
               TERN_OK);
  r = run(tcp, cc2, sc, 0);
  expect_psk("several, SHA-384 first", &r, "bob", TERN_TLS_AES_256_GCM_SHA384, TERN_GROUP_X25519MLKEM768);
  /* a server without bob's hash among its suites skips it: alice */
  {
    uint16_t sha256_suites[2] = {TERN_TLS_CHACHA20_POLY1305_SHA256, TERN_TLS_AES_128_GCM_SHA256};
    CHECK_EQ_INT(tern_config_set_cipher_suites(sc, sha256_suites, 2), TERN_OK);
    r = run(tcp, cc2, sc, 0);
    expect_psk("several, SHA-384 skipped", &r, "alice", TERN_TLS_CHACHA20_POLY1305_SHA256,
               TERN_GROUP_X25519MLKEM768);
  }
  tern_config_free(cc);
  tern_config_free(cc2);
  tern_config_free(sc);
}

/* Unknown identity: a full handshake where the server has a certificate
   (the client then verifies it), handshake_failure where it has none. */
static void test_unknown(int tcp) {
  tern_config *cc = client_config(), *with_cert = server_config(1), *psk_only = server_config(0);
  X509_STORE *store = X509_STORE_new();
  result r;
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("stranger"), key_a, sizeof key_a, TERN_PSK_SHA256),
               TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(with_cert, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256),
               TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(psk_only, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256),
               TERN_OK);
  /* a client without trust anchors refuses the certificate it is shown */
  quiet = 1;
  r = run(tcp, cc, with_cert, 0);
  quiet = 0;
  CHECK_EQ_INT(r.rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(r.alert_c, TERN_ALERT_UNKNOWN_CA);
  /* with anchors: a full handshake with the certificate */
  X509_STORE_add_cert(store, server_pki.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(cc, store), TERN_OK);
  X509_STORE_free(store);
  {
    link l;
    CHECK_EQ_INT(link_open(&l, tcp, cc, with_cert), 0);
    CHECK_EQ_INT(tern_conn_set_server_name(l.c, "localhost"), TERN_OK);
    r = finish(&l, link_run(&l));
    link_free(&l);
  }
  CHECK_EQ_INT(r.rc, TERN_OK);
  CHECK(r.id_c[0] == 0 && r.id_s[0] == 0);
  CHECK_EQ_INT(r.sig_s, TERN_SIG_ECDSA_SECP256R1_SHA256);
  CHECK(r.peer_cert_c);
  CHECK(r.agree);
  /* a server of PSKs only: handshake_failure, said plainly */
  {
    link l;
    CHECK_EQ_INT(link_open(&l, tcp, cc, psk_only), 0);
    CHECK_EQ_INT(link_run(&l), TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(l.s), TERN_ALERT_HANDSHAKE_FAILURE);
    CHECK(strstr(tern_conn_error_detail(l.s), "no PSK the client offered was taken") != NULL);
    if (tcp) CHECK_EQ_INT(tern_conn_alert(l.c), TERN_ALERT_HANDSHAKE_FAILURE);
    link_free(&l);
  }
  tern_config_free(cc);
  tern_config_free(with_cert);
  tern_config_free(psk_only);
}

/* A wrong key: the binder does not verify, decrypt_error, whether or
   not the server has a certificate to fall back on. */
static void test_wrong_key(int tcp) {
  tern_config *cc = client_config();
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("alice"), key_wrong, sizeof key_wrong, TERN_PSK_SHA256),
               TERN_OK);
  for (int cert = 0; cert < 2; cert++) {
    tern_config *sc = server_config(cert);
    link l;
    CHECK_EQ_INT(tern_config_add_psk(sc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256),
                 TERN_OK);
    CHECK_EQ_INT(link_open(&l, tcp, cc, sc), 0);
    CHECK_EQ_INT(link_run(&l), TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(l.s), TERN_ALERT_DECRYPT_ERROR);
    CHECK(strstr(tern_conn_error_detail(l.s), "binder") != NULL);
    if (tcp) CHECK_EQ_INT(tern_conn_alert(l.c), TERN_ALERT_DECRYPT_ERROR);
    CHECK_EQ_INT(tern_conn_handshake_done(l.s), 0);
    link_free(&l);
    tern_config_free(sc);
  }
  /* the same identity under the other hash: another PSK, wrong binder */
  {
    tern_config *c384 = client_config(), *sc = server_config(0);
    link l;
    CHECK_EQ_INT(tern_config_add_psk(c384, ID("alice"), key_b, sizeof key_b, TERN_PSK_SHA384),
                 TERN_OK);
    CHECK_EQ_INT(tern_config_add_psk(sc, ID("alice"), key_b, sizeof key_b, TERN_PSK_SHA256),
                 TERN_OK);
    CHECK_EQ_INT(link_open(&l, tcp, c384, sc), 0);
    CHECK_EQ_INT(link_run(&l), TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(l.s), TERN_ALERT_DECRYPT_ERROR);
    link_free(&l);
    tern_config_free(c384);
    tern_config_free(sc);
  }
  tern_config_free(cc);
}

/* A server with no certificate at all: PSK handshakes only. */
static void test_psk_only_server(int tcp) {
  tern_config *cc = client_config(), *bare = client_config(), *sc = server_config(0);
  result r;
  link l;
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(sc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  r = run(tcp, cc, sc, 0);
  expect_psk("PSK-only server", &r, "alice", TERN_TLS_AES_128_GCM_SHA256, TERN_GROUP_X25519MLKEM768);
  /* a client that offers no PSK */
  CHECK_EQ_INT(link_open(&l, tcp, bare, sc), 0);
  CHECK_EQ_INT(link_run(&l), TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(l.s), TERN_ALERT_HANDSHAKE_FAILURE);
  CHECK(strstr(tern_conn_error_detail(l.s), "the client offered no PSK") != NULL);
  link_free(&l);
  /* a server with neither a certificate nor a PSK */
  {
    tern_config *nothing = server_config(0);
    CHECK_EQ_INT(link_open(&l, tcp, cc, nothing), 0);
    CHECK_EQ_INT(link_run(&l), TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(l.s), TERN_ALERT_HANDSHAKE_FAILURE);
    CHECK(strstr(tern_conn_error_detail(l.s), "no server certificate") != NULL);
    link_free(&l);
    tern_config_free(nothing);
  }
  tern_config_free(cc);
  tern_config_free(bare);
  tern_config_free(sc);
}

/* The identities of the ClientHello a client sends first (the session
   set when there is one), copied into ids[0..*n). */
#define KEEP_ID 2048
static int first_identities(int tcp, tern_config *cc, tern_config *sc, tern_psk_identity *ids,
                            size_t *n) {
  static uint8_t keep[8][KEEP_ID];
  tern_client_hello *ch = malloc(sizeof *ch);
  const uint8_t *p;
  size_t len, off = tcp ? 5 : 0; /* over TCP, after the record header */
  uint8_t alert = 0;
  int rc = -1;
  link l;
  CHECK(ch != NULL);
  CHECK_EQ_INT(link_open(&l, tcp, cc, sc), 0);
  if (session_len) CHECK_EQ_INT(tern_conn_set_session(l.c, session, session_len, clock_now), TERN_OK);
  CHECK_EQ_INT(tern_handshake(l.c), TERN_WANT_READ);
  if (tcp) {
    p = tern_tls_output(l.c, &len);
  } else {
    p = l.q.c.out[TERN_LEVEL_INITIAL];
    len = l.q.c.out_len[TERN_LEVEL_INITIAL];
  }
  if (ch != NULL && p != NULL && len > off + 4) {
    size_t body = (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 | p[off + 3];
    if (off + 4 + body <= len &&
        tern_msg_parse_client_hello(p + off + 4, body, ch, &alert) == TERN_OK) {
      *n = ch->ext.n_psk < 8 ? ch->ext.n_psk : 8;
      for (size_t i = 0; i < *n; i++) {
        ids[i] = ch->ext.psk[i];
        /* the spans point into the connection's buffer: keep a copy */
        ids[i].identity.len = ids[i].identity.len < KEEP_ID ? ids[i].identity.len : KEEP_ID;
        memcpy(keep[i], ids[i].identity.p, ids[i].identity.len);
        ids[i].identity.p = keep[i];
      }
      rc = 0;
    }
  }
  free(ch);
  link_free(&l);
  return rc;
}

/* A ticket and an external PSK together: the ticket goes first and is
   taken; once it is used, the external PSK is. */
static void test_ticket_and_psk(int tcp) {
  static uint8_t saved[TERN_SESSION_MAX_BYTES];
  size_t saved_len;
  tern_config *cc = client_config(), *sc = server_config(0);
  tern_psk_identity ids[8];
  size_t n = 0;
  result r;
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(sc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  session_len = 0;
  sessions_seen = 0;
  r = run(tcp, cc, sc, 0);
  expect_psk("for a ticket", &r, "alice", TERN_TLS_AES_128_GCM_SHA256, TERN_GROUP_X25519MLKEM768);
  CHECK_EQ_INT(sessions_seen, 2); /* tickets after an external-PSK handshake */
  CHECK(session_len > 0);
  /* the ClientHello: the ticket, then the external PSK with age 0 */
  CHECK_EQ_INT(first_identities(tcp, cc, sc, ids, &n), 0);
  CHECK_EQ_INT(n, 2);
  if (n == 2) {
    CHECK(ids[0].identity.len > 32); /* a sealed ticket */
    CHECK(ids[1].identity.len == 5 && memcmp(ids[1].identity.p, "alice", 5) == 0);
    CHECK_EQ_INT(ids[1].obfuscated_ticket_age, 0);
  }
  /* the ticket is taken: a resumption (which brings new tickets) */
  memcpy(saved, session, session_len);
  saved_len = session_len;
  r = run(tcp, cc, sc, 1);
  CHECK_EQ_INT(r.rc, TERN_OK);
  CHECK(r.resumed_c && r.resumed_s);
  CHECK(r.id_c[0] == 0 && r.id_s[0] == 0);
  CHECK(r.agree);
  /* the same ticket again: used, so the external PSK (identity 1) */
  memcpy(session, saved, saved_len);
  session_len = saved_len;
  r = run(tcp, cc, sc, 1);
  expect_psk("ticket used", &r, "alice", TERN_TLS_AES_128_GCM_SHA256, TERN_GROUP_X25519MLKEM768);
  session_len = 0;
  tern_config_free(cc);
  tern_config_free(sc);
}

/* ---- 0-RTT on an external PSK ------------------------------------- */

static int early_answer = 1;
static int early_cb(tern_conn *c, void *u) {
  char id[TERN_PSK_MAX_IDENTITY + 1];
  (void)u;
  identity_of(c, id); /* the callback may ask which PSK */
  CHECK(strcmp(id, "alice") == 0);
  return early_answer;
}

/* A client and a server that allow 0-RTT on alice (AES-128-GCM, "h3"). */
static void early_configs(tern_config **cc, tern_config **sc, uint32_t max_early) {
  *cc = client_config();
  *sc = server_config(0);
  CHECK_EQ_INT(tern_config_add_psk(*cc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(*sc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_set_psk_early_data(*cc, ID("alice"), TERN_TLS_AES_128_GCM_SHA256, "h3",
                                              max_early), TERN_OK);
  CHECK_EQ_INT(tern_config_set_psk_early_data(*sc, ID("alice"), TERN_TLS_AES_128_GCM_SHA256, "h3",
                                              max_early), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(*cc, 1, 0), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(*sc, 16384, 10000), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data_callback(*sc, early_cb, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_tickets(*sc, 0, 60), TERN_OK);
}

/* The early data a TCP client sends before its handshake is done. */
static const uint8_t early_msg[] = "GET /index.html HTTP/1.1\r\n\r\n";

/* Runs one 0-RTT attempt; over TCP the client sends early_msg as 0-RTT
   and *got_early receives what the server read before the handshake
   finished. Keeps the client's first flight in *first (TCP: records;
   QUIC: the INITIAL bytes) for a replay. */
static result early_run(int tcp, tern_config *cc, tern_config *sc, size_t *got_early,
                        uint8_t *first, size_t *first_len) {
  link l;
  result r;
  int rc;
  uint8_t got[256];
  size_t n = 0, k, len;
  const uint8_t *p;
  CHECK_EQ_INT(link_open(&l, tcp, cc, sc), 0);
  CHECK_EQ_INT(tern_handshake(l.c), TERN_WANT_READ);
  CHECK_EQ_INT(tern_conn_early_data_status(l.c), TERN_EARLY_DATA_OFFERED);
  if (tcp) {
    CHECK_EQ_INT(tern_tls_write(l.c, early_msg, sizeof early_msg - 1), TERN_OK);
    p = tern_tls_output(l.c, &len);
  } else {
    CHECK(l.q.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE] > 0); /* the 0-RTT key */
    p = l.q.c.out[TERN_LEVEL_INITIAL];
    len = l.q.c.out_len[TERN_LEVEL_INITIAL];
  }
  CHECK(p != NULL && len <= 8192);
  if (first && p && len <= 8192) {
    memcpy(first, p, len);
    *first_len = len;
  }
  if (tcp) {
    rc = TERN_OK;
    for (int i = 0; i < 10 && rc == TERN_OK &&
                    !(tern_conn_handshake_done(l.c) && tern_conn_handshake_done(l.s));
         i++) {
      if ((rc = pump(l.c, l.s)) != TERN_OK) pump(l.s, l.c); /* with the server's alert */
      else if ((rc = pump(l.s, l.c)) != TERN_OK) pump(l.c, l.s);
    }
    while (tern_tls_read(l.s, got + n, sizeof got - n, &k) == TERN_OK) n += k;
    if (got_early) *got_early = n;
    if (n) CHECK(n == sizeof early_msg - 1 && memcmp(got, early_msg, n) == 0);
    if (rc == TERN_OK && !(tern_conn_handshake_done(l.c) && tern_conn_handshake_done(l.s)))
      rc = TERN_ERR_STATE;
  } else {
    rc = qpair_run(&l.q);
  }
  r = finish(&l, rc);
  link_free(&l);
  return r;
}

static void expect_early(const char *what, const result *r, int accepted) {
  int want = accepted ? TERN_EARLY_DATA_ACCEPTED : TERN_EARLY_DATA_REJECTED;
  CHECK_EQ_INT(r->rc, TERN_OK);
  CHECK(strcmp(r->id_s, "alice") == 0);
  CHECK(r->agree);
  CHECK_EQ_INT(r->early_c, want);
  CHECK_EQ_INT(r->early_s, want);
  if (r->early_c != want || r->early_s != want)
    fprintf(stderr, "  %s: early %d/%d, wanted %d\n", what, r->early_c, r->early_s, want);
}

/* A fleet replay store that records what it is given. */
static int store_calls;
static uint64_t store_expiry;
static uint8_t store_ids[8][32];
static int store_held;
static int fleet_store(void *u, const uint8_t id[32], uint64_t now, uint64_t expires) {
  (void)u, (void)now;
  store_calls++;
  store_expiry = expires;
  for (int i = 0; i < store_held; i++)
    if (memcmp(store_ids[i], id, 32) == 0) return 0;
  if (store_held < 8) memcpy(store_ids[store_held++], id, 32);
  return 1;
}

/* A fleet replay store that cannot be reached. */
static int down_store(void *u, const uint8_t id[32], uint64_t now, uint64_t expires) {
  (void)u, (void)id, (void)now, (void)expires;
  store_calls++;
  return -1;
}

static void test_early(int tcp) {
  static uint8_t first[8192];
  size_t first_len = 0, got = 0;
  tern_config *cc, *sc;
  result r;

  early_configs(&cc, &sc, 4096);
  r = early_run(tcp, cc, sc, &got, first, &first_len);
  expect_early("accepted", &r, 1);
  CHECK_EQ_INT(r.suite_s, TERN_TLS_AES_128_GCM_SHA256);
  if (tcp) CHECK_EQ_INT(got, sizeof early_msg - 1);
  else CHECK(r.early_agree);
  if (!tcp) {
    /* early exporters agree once 0-RTT is accepted: run one more */
    link l;
    uint8_t a[32], b[32];
    CHECK_EQ_INT(link_open(&l, tcp, cc, sc), 0);
    CHECK_EQ_INT(qpair_run(&l.q), TERN_OK);
    CHECK_EQ_INT(tern_conn_early_data_status(l.s), TERN_EARLY_DATA_ACCEPTED);
    CHECK_EQ_INT(tern_export_early_keying_material(l.c, "e", NULL, 0, a, 32), TERN_OK);
    CHECK_EQ_INT(tern_export_early_keying_material(l.s, "e", NULL, 0, b, 32), TERN_OK);
    CHECK_MEM(a, b, 32);
    link_free(&l);
  }

  /* the very same first flight replayed at another connection: the PSK
     is taken again (it is not single-use), its early data is not */
  {
    link l;
    CHECK_EQ_INT(link_open(&l, tcp, cc, sc), 0);
    if (tcp) {
      CHECK_EQ_INT(tern_tls_feed(l.s, first, first_len, NULL), TERN_OK);
    } else {
      CHECK_EQ_INT(tern_quic_provide_data(l.s, TERN_LEVEL_INITIAL, first, first_len), TERN_OK);
      CHECK_EQ_INT(tern_handshake(l.s), TERN_WANT_READ);
      CHECK_EQ_INT(l.q.s.secret_len[TERN_LEVEL_EARLY][TERN_READ], 0);
    }
    CHECK_EQ_INT(tern_conn_early_data_status(l.s), TERN_EARLY_DATA_REJECTED);
    {
      char id[TERN_PSK_MAX_IDENTITY + 1];
      identity_of(l.s, id);
      CHECK(strcmp(id, "alice") == 0);
    }
    if (tcp) {
      uint8_t buf[64];
      size_t k;
      CHECK_EQ_INT(tern_tls_read(l.s, buf, sizeof buf, &k), TERN_WANT_READ); /* skipped */
    }
    link_free(&l);
  }

  /* the callback refuses; then a fresh ClientHello is accepted again */
  early_answer = 0;
  r = early_run(tcp, cc, sc, &got, NULL, NULL);
  expect_early("callback", &r, 0);
  if (tcp) CHECK_EQ_INT(got, 0);
  early_answer = 1;
  r = early_run(tcp, cc, sc, &got, NULL, NULL);
  expect_early("again", &r, 1);
  tern_config_free(cc);
  tern_config_free(sc);

  /* the server provisioned another ALPN for it */
  early_configs(&cc, &sc, 4096);
  CHECK_EQ_INT(tern_config_set_psk_early_data(sc, ID("alice"), TERN_TLS_AES_128_GCM_SHA256,
                                              "hq-interop", 4096), TERN_OK);
  r = early_run(tcp, cc, sc, &got, NULL, NULL);
  expect_early("other ALPN", &r, 0);
  /* ... another suite: the server takes it when offered, the client
     finds the early data accepted with a suite it did not use */
  CHECK_EQ_INT(tern_config_set_psk_early_data(sc, ID("alice"), TERN_TLS_CHACHA20_POLY1305_SHA256,
                                              "h3", 4096), TERN_OK);
  quiet = 1;
  r = early_run(tcp, cc, sc, &got, NULL, NULL);
  quiet = 0;
  CHECK_EQ_INT(r.rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(r.alert_c, TERN_ALERT_ILLEGAL_PARAMETER);
  /* ... no 0-RTT on that PSK at the server at all */
  CHECK_EQ_INT(tern_config_set_psk_early_data(sc, ID("alice"), 0, NULL, 0), TERN_OK);
  r = early_run(tcp, cc, sc, &got, NULL, NULL);
  expect_early("not provisioned at the server", &r, 0);
  tern_config_free(cc);
  tern_config_free(sc);

  /* the in-memory register full (capacity 1): refused from then on */
  early_configs(&cc, &sc, 4096);
  CHECK_EQ_INT(tern_config_set_replay_store(sc, 1, NULL, NULL), TERN_OK);
  r = early_run(tcp, cc, sc, &got, NULL, NULL);
  expect_early("register: first", &r, 1);
  r = early_run(tcp, cc, sc, &got, NULL, NULL);
  expect_early("register full", &r, 0);
  tern_config_free(cc);
  tern_config_free(sc);

  /* a fleet store: called with "keep for good" */
  early_configs(&cc, &sc, 4096);
  store_calls = store_held = 0;
  CHECK_EQ_INT(tern_config_set_replay_store(sc, 0, fleet_store, NULL), TERN_OK);
  r = early_run(tcp, cc, sc, &got, NULL, NULL);
  expect_early("fleet store", &r, 1);
  CHECK_EQ_INT(store_calls, 1);
  CHECK(store_expiry == UINT64_MAX);
  tern_config_free(cc);
  tern_config_free(sc);

  /* a fleet store that cannot answer (-1): the PSK handshake goes on,
     its early data is refused */
  early_configs(&cc, &sc, 4096);
  store_calls = 0;
  CHECK_EQ_INT(tern_config_set_replay_store(sc, 0, down_store, NULL), TERN_OK);
  r = early_run(tcp, cc, sc, &got, NULL, NULL);
  expect_early("fleet store unavailable", &r, 0);
  CHECK_EQ_INT(store_calls, 1);
  if (tcp) CHECK_EQ_INT(got, 0);
  tern_config_free(cc);
  tern_config_free(sc);

  /* a ticket offered too goes first: 0-RTT rides on it, not on the PSK
     (a ticket without 0-RTT: none offered) */
  early_configs(&cc, &sc, 4096);
  CHECK_EQ_INT(tern_config_set_tickets(sc, 1, 600), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(sc, 0, 0), TERN_OK); /* tickets without 0-RTT */
  session_len = 0;
  r = run(tcp, cc, sc, 0);
  CHECK_EQ_INT(r.rc, TERN_OK);
  CHECK(session_len > 0);
  {
    link l;
    CHECK_EQ_INT(link_open(&l, tcp, cc, sc), 0);
    CHECK_EQ_INT(tern_conn_set_session(l.c, session, session_len, clock_now), TERN_OK);
    CHECK_EQ_INT(tern_handshake(l.c), TERN_WANT_READ);
    CHECK_EQ_INT(tern_conn_early_data_status(l.c), TERN_EARLY_DATA_NONE);
    link_free(&l);
  }
  session_len = 0;
  tern_config_free(cc);
  tern_config_free(sc);

  if (tcp) {
    /* more than the PSK allows is refused before it is sent */
    uint8_t big[600];
    link l;
    early_configs(&cc, &sc, 512);
    memset(big, 'x', sizeof big);
    CHECK_EQ_INT(link_open(&l, tcp, cc, sc), 0);
    CHECK_EQ_INT(tern_handshake(l.c), TERN_WANT_READ);
    CHECK_EQ_INT(tern_tls_write(l.c, big, sizeof big), TERN_ERR_LIMIT);
    CHECK_EQ_INT(tern_tls_write(l.c, big, 512), TERN_OK);
    CHECK_EQ_INT(tern_tls_write(l.c, big, 1), TERN_ERR_LIMIT);
    link_free(&l);
    /* a server provisioned with less than the client sends: the excess
       is unexpected_message */
    CHECK_EQ_INT(tern_config_set_psk_early_data(sc, ID("alice"), TERN_TLS_AES_128_GCM_SHA256, "h3",
                                                100), TERN_OK);
    CHECK_EQ_INT(link_open(&l, tcp, cc, sc), 0);
    CHECK_EQ_INT(tern_handshake(l.c), TERN_WANT_READ);
    CHECK_EQ_INT(tern_tls_write(l.c, big, 512), TERN_OK);
    CHECK_EQ_INT(pump(l.c, l.s), TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(l.s), TERN_ALERT_UNEXPECTED_MESSAGE);
    link_free(&l);
    tern_config_free(cc);
    tern_config_free(sc);
  }
}

/* ---- a server whose selection the client must refuse (QUIC) -------- */

/* The offset of selected_identity in the ServerHello the server sent
   at INITIAL (QUIC: no session id; pre_shared_key is the first
   extension, 00 29 00 02), or 0. */
static size_t sh_selected_identity(const qside *s) {
  const uint8_t *p = s->out[TERN_LEVEL_INITIAL];
  size_t at = 4 + 2 + 32 + 1 + 2 + 1 + 2; /* header, version, random, sid, suite, comp, exts */
  if (s->out_len[TERN_LEVEL_INITIAL] < at + 6 || p[0] != 2) return 0;
  if (p[at] == 0x00 && p[at + 1] == 0x29 && p[at + 2] == 0x00 && p[at + 3] == 0x02) return at + 4;
  return 0;
}

static void test_bad_selection(void) {
  tern_config *cc = client_config(), *sc = server_config(0);
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("mallory"), key_b, sizeof key_b, TERN_PSK_SHA384),
               TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(cc, ID("carol"), key_c, sizeof key_c, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(sc, ID("carol"), key_c, sizeof key_c, TERN_PSK_SHA256), TERN_OK);
  /* selected_identity rewritten: out of range, of another hash, and of
     the same hash but another key */
  static const struct {
    uint8_t value;
    uint8_t alert;
  } cases[] = {{3, TERN_ALERT_ILLEGAL_PARAMETER},
               {0, TERN_ALERT_ILLEGAL_PARAMETER},
               {1, TERN_ALERT_DECRYPT_ERROR}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    qpair p;
    size_t off;
    CHECK_EQ_INT(qpair_init(&p, cc, sc, client_tp, sizeof client_tp, server_tp, sizeof server_tp), 0);
    CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
    CHECK_EQ_INT(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL), TERN_OK);
    off = sh_selected_identity(&p.s);
    CHECK(off > 0);
    if (off > 0) {
      CHECK_EQ_INT(p.s.out[TERN_LEVEL_INITIAL][off + 1], 2); /* carol, the third */
      p.s.out[TERN_LEVEL_INITIAL][off + 1] = cases[i].value;
    }
    qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_INITIAL);
    qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_HANDSHAKE);
    CHECK_EQ_INT(tern_conn_alert(p.c.conn), cases[i].alert);
    CHECK_EQ_INT(tern_conn_handshake_done(p.c.conn), 0);
    if (tern_conn_alert(p.c.conn) != cases[i].alert)
      fprintf(stderr, "  selection %u: %s\n", cases[i].value, tern_conn_error_detail(p.c.conn));
    qpair_free(&p);
  }
  tern_config_free(cc);
  tern_config_free(sc);
}

/* ---- the API -------------------------------------------------------- */

static void test_api(void) {
  tern_config *c = tern_config_new(TERN_CLIENT);
  uint8_t long_id[TERN_PSK_MAX_IDENTITY + 1], key[TERN_PSK_MAX_KEY + 1];
  const uint8_t *id;
  size_t len;
  memset(long_id, 'i', sizeof long_id);
  memset(key, 'k', sizeof key);
  CHECK_EQ_INT(tern_config_add_psk(NULL, ID("a"), key, 32, TERN_PSK_SHA256), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_add_psk(c, NULL, 1, key, 32, TERN_PSK_SHA256), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_add_psk(c, long_id, 0, key, 32, TERN_PSK_SHA256), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_add_psk(c, long_id, sizeof long_id, key, 32, TERN_PSK_SHA256),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_add_psk(c, ID("a"), NULL, 32, TERN_PSK_SHA256), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_add_psk(c, ID("a"), key, TERN_PSK_MIN_KEY - 1, TERN_PSK_SHA256),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_add_psk(c, ID("a"), key, TERN_PSK_MAX_KEY + 1, TERN_PSK_SHA256),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_add_psk(c, ID("a"), key, 32, (tern_psk_hash)7), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_add_psk(c, long_id, TERN_PSK_MAX_IDENTITY, key, TERN_PSK_MAX_KEY,
                                   TERN_PSK_SHA384), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(c, ID("a"), key, TERN_PSK_MIN_KEY, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(c, ID("a"), key, 32, TERN_PSK_SHA256), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_add_psk(c, ID("b"), key, 32, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(c, ID("c"), key, 32, TERN_PSK_SHA256), TERN_OK);
  CHECK_EQ_INT(tern_config_add_psk(c, ID("d"), key, 32, TERN_PSK_SHA256), TERN_ERR_LIMIT);
  /* 0-RTT provisioning */
  CHECK_EQ_INT(tern_config_set_psk_early_data(c, ID("zz"), TERN_TLS_AES_128_GCM_SHA256, NULL, 1),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_psk_early_data(c, ID("a"), 0x1399, NULL, 1), TERN_ERR_UNSUPPORTED);
  CHECK_EQ_INT(tern_config_set_psk_early_data(c, ID("a"), TERN_TLS_AES_256_GCM_SHA384, NULL, 1),
               TERN_ERR_INVALID_ARG); /* another hash */
  CHECK_EQ_INT(tern_config_set_psk_early_data(c, ID("a"), TERN_TLS_AES_128_GCM_SHA256, "", 1),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_psk_early_data(c, ID("a"), TERN_TLS_CHACHA20_POLY1305_SHA256, NULL,
                                              1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_psk_early_data(c, ID("a"), 0, NULL, 0), TERN_OK); /* off */
  CHECK_EQ_INT(tern_config_set_psk_early_data(NULL, ID("a"), 0, NULL, 0), TERN_ERR_INVALID_ARG);
  /* what a connection reports */
  {
    tern_conn *conn = tern_conn_new_tls(c, NULL);
    CHECK_EQ_INT(tern_conn_psk_identity(conn, &id, &len), TERN_ERR_STATE);
    CHECK_EQ_INT(tern_conn_psk_identity(conn, NULL, &len), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_conn_psk_identity(NULL, &id, &len), TERN_ERR_INVALID_ARG);
    tern_conn_free(conn);
  }
  tern_config_free(c);
}

int main(void) {
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 1, PKI_VALID_NOW), 0);
  test_api();
  for (int tcp = 0; tcp < 2; tcp++) {
    test_modes(tcp);
    test_sha384(tcp);
    test_several(tcp);
    test_unknown(tcp);
    test_wrong_key(tcp);
    test_psk_only_server(tcp);
    test_ticket_and_psk(tcp);
    test_early(tcp);
  }
  test_bad_selection();
  printf("psk: %d QUIC and %d TCP handshakes completed and checked, tern client <-> tern server\n",
         n_done[0], n_done[1]);
  pki_free(&server_pki);
  return check_report();
}
