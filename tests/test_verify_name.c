/*
 * test_verify_name.c - tern_config_set_verify_name: a client that checks
 * the server's chain but not its name (Python ssl's check_hostname=False
 * with verification on), in QUIC mode and over TCP.
 *
 * With the name check off, a certificate for another name is accepted,
 * but everything else about the chain still counts: an untrusted root is
 * unknown_ca, an expired leaf certificate_expired. With it on (the
 * default, and after turning it back on) the same wrong name is
 * bad_certificate and the verify callback is told
 * X509_V_ERR_HOSTNAME_MISMATCH. A server configuration refuses the call.
 */
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <tern.h>

#include "check.h"
#include "pki.h"
#include "qpair.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};

/* good: the trusted PKI (leaf for verify.test and localhost); rogue: the
   same names under a root the client does not trust; expired: trusted
   root, leaf out of date. */
static pki good, rogue, expired;

/* A server presenting p's chain. */
static tern_config *server_config(const pki *p) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_SERVER);
  STACK_OF(X509) *chain = pki_chain(p);
  CHECK(cfg != NULL && chain != NULL);
  CHECK_EQ_INT(tern_config_set_cert(cfg, p->leaf, chain, p->leaf_key), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  return cfg;
}

/* A client trusting good's and expired's roots; verify_name -1 leaves the
   default alone. */
static tern_config *client_config(int verify_name) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  X509_STORE *store = X509_STORE_new();
  CHECK(cfg != NULL && store != NULL);
  X509_STORE_add_cert(store, good.ca);
  X509_STORE_add_cert(store, expired.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, store), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
  if (verify_name >= 0) CHECK_EQ_INT(tern_config_set_verify_name(cfg, verify_name), TERN_OK);
  X509_STORE_free(store);
  return cfg;
}

/* One QUIC handshake to `name` (NULL: none set). Returns the client's
   result and its alert in *alert. */
static int quic_run(tern_config *ccfg, tern_config *scfg, const char *name, uint8_t *alert) {
  qpair p;
  int rc;
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  if (name != NULL) CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, name), TERN_OK);
  rc = qpair_run(&p);
  *alert = tern_conn_alert(p.c.conn);
  if (rc == TERN_OK) {
    /* SNI still goes out with the name check off */
    const char *sni = tern_conn_server_name(p.s.conn);
    CHECK(name == NULL ? sni == NULL : (sni != NULL && strcmp(sni, name) == 0));
    CHECK(tern_conn_handshake_done(p.c.conn) && tern_conn_handshake_done(p.s.conn));
  }
  qpair_free(&p);
  return rc;
}

/* Moves what `from` has to send into `to`; returns tern_tls_feed's result. */
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

/* One handshake over TCP (records in memory) to `name`. Returns the
   client's result and its alert in *alert. */
static int tcp_run(tern_config *ccfg, tern_config *scfg, const char *name, uint8_t *alert) {
  tern_conn *c = tern_conn_new_tls(ccfg, NULL), *s = tern_conn_new_tls(scfg, NULL);
  int rc;
  CHECK(c != NULL && s != NULL);
  CHECK_EQ_INT(tern_conn_set_server_name(c, name), TERN_OK);
  rc = tern_handshake(c);
  for (int i = 0; i < 20 && rc >= 0; i++) {
    if (pump(c, s) < 0) break; /* the server's failure: the client's result says */
    rc = pump(s, c);
    if (rc >= 0 && tern_conn_handshake_done(c)) {
      rc = TERN_OK;
      break;
    }
  }
  if (rc >= 0 && !tern_conn_handshake_done(c)) rc = TERN_ERR_STATE;
  *alert = tern_conn_alert(c);
  tern_conn_free(c);
  tern_conn_free(s);
  return rc;
}

typedef int (*run_fn)(tern_config *, tern_config *, const char *, uint8_t *);

/* The verify callback's view: counts calls and keeps the last verdict. */
static int seen_calls, seen_ok, seen_err;
static int record_verdict(tern_conn *c, int preverify_ok, int x509_error, void *user) {
  (void)c, (void)user;
  seen_calls++;
  seen_ok = preverify_ok;
  seen_err = x509_error;
  return preverify_ok;
}

/* The whole matrix over one transport. */
static void matrix(run_fn run, const char *what) {
  tern_config *s_good = server_config(&good), *s_rogue = server_config(&rogue),
              *s_expired = server_config(&expired);
  tern_config *strict = client_config(-1), *loose = client_config(0);
  uint8_t alert = 0;

  fprintf(stderr, "-- %s\n", what);
  /* the default checks the name */
  CHECK_EQ_INT(run(strict, s_good, "verify.test", &alert), TERN_OK);
  CHECK(run(strict, s_good, "other.example", &alert) < 0);
  CHECK_EQ_INT(alert, TERN_ALERT_BAD_CERTIFICATE);

  /* off: the right name and a wrong one both pass, so does no name */
  CHECK_EQ_INT(run(loose, s_good, "verify.test", &alert), TERN_OK);
  CHECK_EQ_INT(run(loose, s_good, "other.example", &alert), TERN_OK);
  if (run == quic_run) CHECK_EQ_INT(run(loose, s_good, NULL, &alert), TERN_OK);
  /* ... but the chain still has to verify */
  CHECK(run(loose, s_rogue, "verify.test", &alert) < 0);
  CHECK_EQ_INT(alert, TERN_ALERT_UNKNOWN_CA);
  CHECK(run(loose, s_expired, "verify.test", &alert) < 0);
  CHECK_EQ_INT(alert, TERN_ALERT_CERTIFICATE_EXPIRED);

  /* the strict configuration still refuses the wrong name after the
     loose one accepted that very certificate (nothing cached) */
  CHECK(run(strict, s_good, "other.example", &alert) < 0);
  CHECK_EQ_INT(alert, TERN_ALERT_BAD_CERTIFICATE);

  /* back on: refused again */
  CHECK_EQ_INT(tern_config_set_verify_name(loose, 1), TERN_OK);
  CHECK(run(loose, s_good, "other.example", &alert) < 0);
  CHECK_EQ_INT(alert, TERN_ALERT_BAD_CERTIFICATE);
  CHECK_EQ_INT(run(loose, s_good, "localhost", &alert), TERN_OK);

  /* the verify callback's verdict follows the setting */
  CHECK_EQ_INT(tern_config_set_verify_callback(strict, record_verdict, NULL), TERN_OK);
  seen_calls = 0;
  CHECK(run(strict, s_good, "other.example", &alert) < 0);
  CHECK(seen_calls == 1 && !seen_ok);
  CHECK_EQ_INT(seen_err, X509_V_ERR_HOSTNAME_MISMATCH);
  CHECK_EQ_INT(tern_config_set_verify_name(strict, 0), TERN_OK);
  seen_calls = 0;
  CHECK_EQ_INT(run(strict, s_good, "other.example", &alert), TERN_OK);
  CHECK(seen_calls == 1 && seen_ok);
  CHECK_EQ_INT(seen_err, X509_V_OK);

  tern_config_free(s_good);
  tern_config_free(s_rogue);
  tern_config_free(s_expired);
  tern_config_free(strict);
  tern_config_free(loose);
}

/* Bad arguments: NULL and a server configuration. */
static void test_args(void) {
  tern_config *s = tern_config_new(TERN_SERVER);
  CHECK_EQ_INT(tern_config_set_verify_name(NULL, 0), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_config_set_verify_name(s, 0), TERN_ERR_INVALID_ARG);
  tern_config_free(s);
}

int main(void) {
  const pki_validity old = {-90L * 86400, -30L * 86400};
  CHECK_EQ_INT(pki_make(&good, PKI_KEY_P256, "verify.test", 0, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&rogue, PKI_KEY_P256, "verify.test", 0, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&expired, PKI_KEY_P256, "verify.test", 0, old), 0);
  test_args();
  matrix(quic_run, "QUIC");
  matrix(tcp_run, "TCP");
  pki_free(&good);
  pki_free(&rogue);
  pki_free(&expired);
  return check_report();
}
