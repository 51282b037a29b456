/*
 * test_client_auth.c - client certificates in QUIC mode, tern <-> tern:
 * required, optional and missing certificates, every client key type,
 * certificate_authorities, and the alerts a server gives for a client
 * chain it cannot accept (untrusted, expired, wrong key usage of the
 * signature).
 */
#include <openssl/x509.h>

#include "check.h"
#include "pki.h"
#include "qpair.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};

static pki server_pki;        /* the server's chain, trusted by clients */
static pki client_pki[PKI_KEY_TYPES]; /* client chains, trusted by the server */
static pki rogue;             /* a client CA the server does not trust */
static pki expired;           /* a client leaf out of date, trusted CA */

/* A server requesting mode, trusting every client_pki root (and CA names). */
static tern_config *server_config(tern_client_auth mode, int ca_names) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_SERVER);
  X509_STORE *store = X509_STORE_new();
  STACK_OF(X509) *chain = pki_chain(&server_pki);
  CHECK(cfg != NULL && store != NULL);
  for (int i = 0; i < PKI_KEY_TYPES; i++) X509_STORE_add_cert(store, client_pki[i].ca);
  X509_STORE_add_cert(store, expired.ca);
  CHECK_EQ_INT(tern_config_set_cert(cfg, server_pki.leaf, chain, server_pki.leaf_key), TERN_OK);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, store), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_client_auth(cfg, mode, ca_names), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  X509_STORE_free(store);
  return cfg;
}

/* A client trusting the server, presenting p's chain (p may be NULL). */
static tern_config *client_config(const pki *p) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  X509_STORE *store = X509_STORE_new();
  CHECK(cfg != NULL && store != NULL);
  X509_STORE_add_cert(store, server_pki.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, store), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
  if (p != NULL) {
    STACK_OF(X509) *chain = pki_chain(p);
    CHECK_EQ_INT(tern_config_set_cert(cfg, p->leaf, chain, p->leaf_key), TERN_OK);
    sk_X509_pop_free(chain, X509_free);
  }
  X509_STORE_free(store);
  return cfg;
}

/* DER of a certificate, into a new buffer. */
static size_t der_of(X509 *x, uint8_t **out) {
  int n = i2d_X509(x, out);
  return n > 0 ? (size_t)n : 0;
}

/* Whether needle occurs in hay. */
static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k) {
  for (size_t i = 0; k && i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0) return 1;
  return 0;
}

/* Runs one pair; returns the result, leaving the pair for inspection. */
static int run(qpair *p, tern_config *ccfg, tern_config *scfg) {
  CHECK_EQ_INT(qpair_init(p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p->c.conn, "localhost"), TERN_OK);
  return qpair_run(p);
}

/* A client with a certificate of every key type, required by the server. */
static void test_required_ok(void) {
  for (int kt = 0; kt < PKI_KEY_TYPES; kt++) {
    tern_config *scfg = server_config(TERN_CLIENT_AUTH_REQUIRED, 0);
    tern_config *ccfg = client_config(&client_pki[kt]);
    const uint8_t *der;
    size_t len;
    uint8_t *want = NULL;
    size_t want_len = der_of(client_pki[kt].leaf, &want);
    qpair p;
    int rc = run(&p, ccfg, scfg);
    CHECK_EQ_INT(rc, TERN_OK);
    if (rc != TERN_OK)
      fprintf(stderr, "  %s: client %s / server %s\n", pki_key_type_name((pki_key_type)kt),
              tern_conn_error_detail(p.c.conn), tern_conn_error_detail(p.s.conn));
    CHECK_EQ_INT(tern_conn_peer_certificate(p.s.conn, &der, &len), TERN_OK);
    CHECK(len == want_len && want != NULL && memcmp(der, want, len) == 0);
    /* the client sees the server's leaf */
    CHECK_EQ_INT(tern_conn_peer_certificate(p.c.conn, &der, &len), TERN_OK);
    for (int lv = TERN_LEVEL_HANDSHAKE; lv <= TERN_LEVEL_APPLICATION; lv++)
      CHECK_MEM(p.c.secret[lv][TERN_WRITE], p.s.secret[lv][TERN_READ],
                p.c.secret_len[lv][TERN_WRITE]);
    OPENSSL_free(want);
    qpair_free(&p);
    tern_config_free(scfg);
    tern_config_free(ccfg);
  }
}

/* Optional: a client without a certificate connects; one with it too. */
static void test_optional(void) {
  tern_config *scfg = server_config(TERN_CLIENT_AUTH_OPTIONAL, 0);
  tern_config *bare = client_config(NULL), *with = client_config(&client_pki[PKI_KEY_P256]);
  const uint8_t *der;
  size_t len;
  qpair p;
  CHECK_EQ_INT(run(&p, bare, scfg), TERN_OK);
  CHECK_EQ_INT(tern_conn_peer_certificate(p.s.conn, &der, &len), TERN_ERR_STATE);
  qpair_free(&p);
  CHECK_EQ_INT(run(&p, with, scfg), TERN_OK);
  CHECK_EQ_INT(tern_conn_peer_certificate(p.s.conn, &der, &len), TERN_OK);
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(bare);
  tern_config_free(with);
}

/* No CertificateRequest unless asked: the server sees no client cert. */
static void test_not_requested(void) {
  tern_config *scfg = server_config(TERN_CLIENT_AUTH_NONE, 0);
  tern_config *ccfg = client_config(&client_pki[PKI_KEY_P256]);
  const uint8_t *der;
  size_t len;
  qpair p;
  CHECK_EQ_INT(run(&p, ccfg, scfg), TERN_OK);
  CHECK_EQ_INT(tern_conn_peer_certificate(p.s.conn, &der, &len), TERN_ERR_STATE);
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

/* Failures on the server side: which alert for which client chain. */
static void expect_server_alert(const char *what, tern_client_auth mode, const pki *client,
                                uint8_t alert) {
  tern_config *scfg = server_config(mode, 0), *ccfg = client_config(client);
  qpair p;
  int rc = run(&p, ccfg, scfg);
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(p.s.conn), alert);
  if (tern_conn_alert(p.s.conn) != alert)
    fprintf(stderr, "  %s: server alert %u: %s\n", what, tern_conn_alert(p.s.conn),
            tern_conn_error_detail(p.s.conn));
  CHECK(!tern_conn_handshake_done(p.s.conn));
  /* the server installed no 1-RTT read key for an unauthenticated client */
  CHECK_EQ_INT(p.s.secret_len[TERN_LEVEL_APPLICATION][TERN_READ], 0);
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

static void test_failures(void) {
  expect_server_alert("required, none", TERN_CLIENT_AUTH_REQUIRED, NULL,
                      TERN_ALERT_CERTIFICATE_REQUIRED);
  expect_server_alert("untrusted", TERN_CLIENT_AUTH_REQUIRED, &rogue, TERN_ALERT_UNKNOWN_CA);
  expect_server_alert("untrusted, optional", TERN_CLIENT_AUTH_OPTIONAL, &rogue,
                      TERN_ALERT_UNKNOWN_CA);
  expect_server_alert("expired", TERN_CLIENT_AUTH_REQUIRED, &expired,
                      TERN_ALERT_CERTIFICATE_EXPIRED);
}

/* certificate_authorities carries the subject of each trusted root. */
static void test_ca_names(void) {
  tern_config *scfg = server_config(TERN_CLIENT_AUTH_REQUIRED, 1);
  tern_config *ccfg = client_config(&client_pki[PKI_KEY_ED25519]);
  qpair p;
  uint8_t *name = NULL;
  int n;
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  CHECK_EQ_INT(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL), TERN_OK);
  /* the server's handshake-level flight holds the CertificateRequest */
  n = i2d_X509_NAME(X509_get_subject_name(client_pki[PKI_KEY_RSA2048].ca), &name);
  CHECK(n > 0);
  CHECK(contains(p.s.out[TERN_LEVEL_HANDSHAKE], p.s.out_len[TERN_LEVEL_HANDSHAKE], name,
                 (size_t)n));
  OPENSSL_free(name);
  qpair_free(&p);
  CHECK_EQ_INT(run(&p, ccfg, scfg), TERN_OK);
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

static void test_api_errors(void) {
  tern_config *c = tern_config_new(TERN_CLIENT), *s = tern_config_new(TERN_SERVER);
  CHECK_EQ_INT(tern_config_set_client_auth(c, TERN_CLIENT_AUTH_REQUIRED, 0),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_client_auth(s, (tern_client_auth)7, 0), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_client_auth(s, TERN_CLIENT_AUTH_REQUIRED, 1), TERN_ERR_STATE);
  CHECK_EQ_INT(tern_config_set_client_auth(NULL, TERN_CLIENT_AUTH_NONE, 0),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_conn_peer_certificate(NULL, NULL, NULL), TERN_ERR_INVALID_ARG);
  tern_config_free(c);
  tern_config_free(s);
}

int main(void) {
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 1, PKI_VALID_NOW), 0);
  for (int kt = 0; kt < PKI_KEY_TYPES; kt++)
    CHECK_EQ_INT(pki_make(&client_pki[kt], (pki_key_type)kt, "client", kt == 0, PKI_VALID_NOW),
                 0);
  CHECK_EQ_INT(pki_make(&rogue, PKI_KEY_P256, "client", 0, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&expired, PKI_KEY_P256, "client", 0, (pki_validity){-7200, -3600}), 0);
  test_api_errors();
  test_required_ok();
  test_optional();
  test_not_requested();
  test_failures();
  test_ca_names();
  pki_free(&server_pki);
  for (int kt = 0; kt < PKI_KEY_TYPES; kt++) pki_free(&client_pki[kt]);
  pki_free(&rogue);
  pki_free(&expired);
  return check_report();
}
