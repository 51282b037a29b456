/*
 * test_cert_choice.c - a server with several chains picks the one the
 * client can use: by the key's signature schemes (signature_algorithms)
 * and by how its certificates are signed (signature_algorithms_cert,
 * RFC 8446 §4.2.3), falling back to the first usable chain.
 */
#include <openssl/x509.h>
#include <tern.h>

#include "check.h"
#include "pki.h"
#include "qpair.h"

static const uint8_t tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};

static EVP_PKEY *rsa_ca_key, *ec_ca_key, *leaf_a_key, *leaf_b_key, *leaf_c_key;
static X509 *rsa_ca, *ec_ca, *leaf_a, *leaf_b, *leaf_c;

/* Which leaf the client saw: 'A', 'B', 'C', or '?' / 0 on failure. */
static char handshake_with(const uint16_t *sigs, size_t n_sigs, const uint16_t *cert_sigs,
                           size_t n_cert) {
  static const char *const alpn[] = {"h3"};
  tern_config *s = tern_config_new(TERN_SERVER), *c = tern_config_new(TERN_CLIENT);
  X509_STORE *store = X509_STORE_new();
  const uint8_t *der;
  size_t len;
  char who = 0;
  qpair p;
  X509_STORE_add_cert(store, rsa_ca);
  X509_STORE_add_cert(store, ec_ca);
  CHECK_EQ_INT(tern_config_set_cert(s, leaf_a, NULL, leaf_a_key), TERN_OK);
  CHECK_EQ_INT(tern_config_add_cert(s, leaf_b, NULL, leaf_b_key), TERN_OK);
  CHECK_EQ_INT(tern_config_add_cert(s, leaf_c, NULL, leaf_c_key), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(s, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(c, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_trust_store(c, store), TERN_OK);
  if (n_sigs) CHECK_EQ_INT(tern_config_set_signature_schemes(c, sigs, n_sigs), TERN_OK);
  if (n_cert) CHECK_EQ_INT(tern_config_set_signature_schemes_cert(c, cert_sigs, n_cert), TERN_OK);
  CHECK_EQ_INT(qpair_init(&p, c, s, tp, sizeof tp, tp, sizeof tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  if (qpair_run(&p) == TERN_OK && tern_conn_peer_certificate(p.c.conn, &der, &len) == TERN_OK) {
    const unsigned char *q = der;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    who = x == NULL ? '?' : X509_cmp(x, leaf_a) == 0 ? 'A' : X509_cmp(x, leaf_b) == 0 ? 'B'
                         : X509_cmp(x, leaf_c) == 0 ? 'C' : '?';
    X509_free(x);
  } else {
    fprintf(stderr, "  handshake failed: %s / %s\n", tern_conn_error_detail(p.c.conn),
            tern_conn_error_detail(p.s.conn));
  }
  qpair_free(&p);
  X509_STORE_free(store);
  tern_config_free(s);
  tern_config_free(c);
  return who;
}

int main(void) {
  static const uint16_t ecdsa[] = {TERN_SIG_ECDSA_SECP256R1_SHA256};
  static const uint16_t ecdsa_ed[] = {TERN_SIG_ECDSA_SECP256R1_SHA256, TERN_SIG_ED25519};
  static const uint16_t ed[] = {TERN_SIG_ED25519};
  static const uint16_t pkcs1[] = {0x0401};
  static const uint16_t bogus[] = {0x0601};
  /* A: P-256 leaf signed by an RSA CA (rsa_pkcs1_sha256);
     B: P-256 leaf signed by a P-256 CA (ecdsa_secp256r1_sha256);
     C: Ed25519 leaf signed by the P-256 CA */
  rsa_ca_key = pki_key_new(PKI_KEY_RSA2048);
  ec_ca_key = pki_key_new(PKI_KEY_P256);
  leaf_a_key = pki_key_new(PKI_KEY_P256);
  leaf_b_key = pki_key_new(PKI_KEY_P256);
  leaf_c_key = pki_key_new(PKI_KEY_ED25519);
  rsa_ca = pki_ca_new(rsa_ca_key, "RSA CA", PKI_VALID_NOW);
  ec_ca = pki_ca_new(ec_ca_key, "EC CA", PKI_VALID_NOW);
  leaf_a = pki_leaf_new(leaf_a_key, "localhost", rsa_ca, rsa_ca_key, PKI_VALID_NOW);
  leaf_b = pki_leaf_new(leaf_b_key, "localhost", ec_ca, ec_ca_key, PKI_VALID_NOW);
  leaf_c = pki_leaf_new(leaf_c_key, "localhost", ec_ca, ec_ca_key, PKI_VALID_NOW);
  CHECK(leaf_a && leaf_b && leaf_c);

  /* signature_algorithms_cert decides between A and B */
  CHECK_EQ_INT(handshake_with(NULL, 0, ecdsa, 1), 'B');
  CHECK_EQ_INT(handshake_with(NULL, 0, pkcs1, 1), 'A');
  /* without it, signature_algorithms applies to certificates: rsa_pkcs1
     is not among tern's, so B */
  CHECK_EQ_INT(handshake_with(NULL, 0, NULL, 0), 'B');
  /* nothing fits the certificate list: the first usable chain, A */
  CHECK_EQ_INT(handshake_with(NULL, 0, bogus, 1), 'A');
  /* the key decides: only Ed25519 handshake signatures -> C, whose
     certificate is ECDSA-signed (allowed by the cert list) */
  CHECK_EQ_INT(handshake_with(ed, 1, ecdsa, 1), 'C');
  CHECK_EQ_INT(handshake_with(ecdsa_ed, 2, ecdsa_ed, 2), 'B');
  /* bad arguments */
  {
    tern_config *cfg = tern_config_new(TERN_SERVER);
    uint16_t unknown = 0x0999;
    CHECK_EQ_INT(tern_config_set_signature_schemes_cert(cfg, &unknown, 1), TERN_ERR_UNSUPPORTED);
    CHECK_EQ_INT(tern_config_add_cert(cfg, leaf_a, NULL, leaf_b_key), TERN_ERR_CERT);
    for (int i = 0; i < 4; i++)
      CHECK_EQ_INT(tern_config_add_cert(cfg, leaf_a, NULL, leaf_a_key), TERN_OK);
    CHECK_EQ_INT(tern_config_add_cert(cfg, leaf_a, NULL, leaf_a_key), TERN_ERR_LIMIT);
    tern_config_free(cfg);
  }
  X509_free(rsa_ca);
  X509_free(ec_ca);
  X509_free(leaf_a);
  X509_free(leaf_b);
  X509_free(leaf_c);
  EVP_PKEY_free(rsa_ca_key);
  EVP_PKEY_free(ec_ca_key);
  EVP_PKEY_free(leaf_a_key);
  EVP_PKEY_free(leaf_b_key);
  EVP_PKEY_free(leaf_c_key);
  return check_report();
}
