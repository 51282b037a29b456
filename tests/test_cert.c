/*
 * test_cert.c - certificate chains and peer verification: PEM loading
 * (a key that does not match, missing or overlong files), chains from
 * objects, trust from a file, a hashed directory or a caller's store,
 * and tern_cert_verify_peer's verdicts: good chains for every key type
 * by DNS name and IP literal, then a wrong name, an unknown CA, expired
 * and not-yet-valid certificates, and garbage DER, each with its alert;
 * the parse cache and the memory of chains that verified.
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <tern.h>

#include "crypto/cert.h"
#include "check.h"
#include "pki.h"

static char dir[64];

/* dir/name into buf. */
static const char *path_of(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", dir, name);
  return buf;
}

/* The DER encodings of a pki's leaf and (if any) intermediate. */
typedef struct ders {
  uint8_t *der[3];
  size_t len[3];
  size_t n;
} ders;

static void ders_of(ders *d, const pki *p) {
  X509 *certs[2] = {p->leaf, p->inter};
  memset(d, 0, sizeof *d);
  for (size_t i = 0; i < (p->inter ? 2u : 1u); i++) {
    int len = i2d_X509(certs[i], &d->der[i]);
    CHECK(len > 0);
    d->len[i] = (size_t)len;
    d->n++;
  }
}

static void ders_free(ders *d) {
  for (size_t i = 0; i < 3; i++) OPENSSL_free(d->der[i]);
  memset(d, 0, sizeof *d);
}

/* A trust store holding one CA certificate. */
static tern_trust *trust_of(X509 *ca) {
  tern_trust *t = NULL;
  CHECK_EQ_INT(tern_trust_new(&t), TERN_OK);
  if (t && ca) CHECK(X509_STORE_add_cert(t->store, ca) == 1);
  return t;
}

/*
 * Verifies d against t and checks the outcome: TERN_OK when want_alert
 * is 0, else TERN_ERR_CERT with that alert and x509 error want_err (when
 * not -1). The leaf key must come back whenever the leaf parses
 * (leaf_ok).
 */
static void expect(const tern_trust *t, const uint8_t *const *der,
                   const size_t *len, size_t n, const char *host, int server,
                   int64_t now, uint8_t want_alert, int want_err, int leaf_ok,
                   const char *what) {
  EVP_PKEY *key = (EVP_PKEY *)1;
  int err = -12345, rc;
  uint8_t alert = 0;
  rc = tern_cert_verify_peer(t, der, len, n, host, server, now, &key, &err, &alert);
  if (want_alert == 0) {
    CHECK_EQ_INT(rc, TERN_OK);
    CHECK_EQ_INT(err, X509_V_OK);
  } else {
    CHECK_EQ_INT(rc, TERN_ERR_CERT);
    CHECK_EQ_INT(alert, want_alert);
    if (want_err != -1) CHECK_EQ_INT(err, want_err);
  }
  if (rc != (want_alert ? TERN_ERR_CERT : TERN_OK) ||
      (want_alert && alert != want_alert) ||
      (want_alert && want_err != -1 && err != want_err))
    fprintf(stderr, "  (%s: rc %d alert %d x509 %d %s)\n", what, rc, alert, err,
            X509_verify_cert_error_string(err));
  CHECK(leaf_ok ? key != NULL : key == NULL);
  EVP_PKEY_free(key);
  CHECK_EQ_INT(ERR_peek_error(), 0);
}

/* Every key type: files written, loaded, and a good chain verified. */
static void test_good_chains(void) {
  char chain_pem[128], key_pem[128], ca_pem[128];
  path_of(chain_pem, sizeof chain_pem, "chain.pem");
  path_of(key_pem, sizeof key_pem, "key.pem");
  path_of(ca_pem, sizeof ca_pem, "ca.pem");
  for (int k = 0; k < PKI_KEY_TYPES; k++) {
    for (int with_inter = 0; with_inter <= 1; with_inter++) {
      pki p;
      tern_cert_chain *chain = NULL;
      tern_trust *t = NULL;
      ders d;
      const char *what = pki_key_type_name((pki_key_type)k);
      if (pki_make(&p, (pki_key_type)k, "tern.example", with_inter, PKI_VALID_NOW) != 0) {
        CHECK(!"pki_make");
        continue;
      }
      CHECK_EQ_INT(pki_write_files(&p, dir), 0);
      CHECK_EQ_INT(tern_cert_chain_load_files(&chain, chain_pem, key_pem), TERN_OK);
      ders_of(&d, &p);
      if (chain != NULL) {
        CHECK_EQ_INT(chain->n, d.n);
        for (size_t i = 0; i < d.n && i < chain->n; i++) {
          CHECK_EQ_INT(chain->der_len[i], d.len[i]);
          CHECK_MEM(chain->der[i], d.der[i], d.len[i]);
        }
        CHECK(X509_cmp(chain->leaf, p.leaf) == 0);
        CHECK(EVP_PKEY_eq(chain->key, p.leaf_key) == 1);
        CHECK_EQ_INT(chain->extra ? sk_X509_num(chain->extra) : 0, with_inter);
      }
      tern_cert_chain_free(chain);

      CHECK_EQ_INT(tern_trust_new(&t), TERN_OK);
      CHECK_EQ_INT(tern_trust_load(t, ca_pem, NULL), TERN_OK);
      {
        const uint8_t *const *der = (const uint8_t *const *)d.der;
        EVP_PKEY *key = NULL;
        int err = -1;
        uint8_t alert = 0;
        expect(t, der, d.len, d.n, "localhost", 1, 0, 0, 0, 1, what);
        expect(t, der, d.len, d.n, "tern.example", 1, 0, 0, 0, 1, what);
        expect(t, der, d.len, d.n, "127.0.0.1", 1, 0, 0, 0, 1, what);
        expect(t, der, d.len, d.n, "LOCALHOST", 1, 0, 0, 0, 1, what);
        expect(t, der, d.len, d.n, NULL, 1, 0, 0, 0, 1, what);
        expect(t, der, d.len, d.n, "localhost", 0, 0, 0, 0, 1, what);  /* as a client cert */
        /* the key handed back is the leaf's */
        CHECK_EQ_INT(tern_cert_verify_peer(t, der, d.len, d.n, "localhost", 1, 0,
                                           &key, &err, &alert), TERN_OK);
        CHECK(key != NULL && EVP_PKEY_eq(key, p.leaf_key) == 1);
        EVP_PKEY_free(key);
        /* the root sent along too is fine */
        if (with_inter) {
          uint8_t *root = NULL;
          int rl = i2d_X509(p.ca, &root);
          const uint8_t *three[3] = {d.der[0], d.der[1], root};
          size_t lens[3] = {d.len[0], d.len[1], (size_t)rl};
          expect(t, three, lens, 3, "localhost", 1, 0, 0, 0, 1, "with root");
          /* without the intermediate the path cannot be built */
          expect(t, der, d.len, 1, "localhost", 1, 0, TERN_ALERT_UNKNOWN_CA,
                 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 1, "no inter");
          OPENSSL_free(root);
        }
      }
      tern_trust_free(t);
      ders_free(&d);
      pki_free(&p);
    }
  }
}

/* Loading failures: key mismatch, missing or certificate-less files, too long. */
static void test_load_errors(void) {
  char chain_pem[128], key_pem[128], other_key[128], empty[128], long_pem[128];
  tern_cert_chain *chain = (tern_cert_chain *)1;
  pki p;
  EVP_PKEY *k2 = pki_key_new(PKI_KEY_P256);
  EVP_PKEY *k3 = pki_key_new(PKI_KEY_ED25519);
  path_of(chain_pem, sizeof chain_pem, "chain.pem");
  path_of(key_pem, sizeof key_pem, "key.pem");
  path_of(other_key, sizeof other_key, "other_key.pem");
  path_of(empty, sizeof empty, "empty.pem");
  path_of(long_pem, sizeof long_pem, "long.pem");
  CHECK_EQ_INT(pki_make(&p, PKI_KEY_P256, NULL, 1, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_write_files(&p, dir), 0);

  /* a key of the same type but another pair, and one of another type */
  CHECK_EQ_INT(pki_write_pem(other_key, NULL, 0, k2), 0);
  CHECK_EQ_INT(tern_cert_chain_load_files(&chain, chain_pem, other_key), TERN_ERR_CERT);
  CHECK(chain == NULL);
  CHECK_EQ_INT(pki_write_pem(other_key, NULL, 0, k3), 0);
  CHECK_EQ_INT(tern_cert_chain_load_files(&chain, chain_pem, other_key), TERN_ERR_CERT);
  CHECK_EQ_INT(tern_cert_chain_from_objects(&chain, p.leaf, NULL, k2), TERN_ERR_CERT);
  CHECK(chain == NULL);

  /* a file of certificates only, given as the key */
  CHECK_EQ_INT(tern_cert_chain_load_files(&chain, chain_pem, chain_pem), TERN_ERR_CERT);
  /* missing files */
  CHECK_EQ_INT(tern_cert_chain_load_files(&chain, "/nonexistent/c.pem", key_pem), TERN_ERR_CERT);
  CHECK_EQ_INT(tern_cert_chain_load_files(&chain, chain_pem, "/nonexistent/k.pem"), TERN_ERR_CERT);
  /* a file without certificates */
  CHECK_EQ_INT(pki_write_pem(empty, NULL, 0, NULL), 0);
  CHECK_EQ_INT(tern_cert_chain_load_files(&chain, empty, key_pem), TERN_ERR_CERT);
  /* one over TERN_CERT_MAX_CHAIN; exactly the maximum loads */
  {
    X509 *many[TERN_CERT_MAX_CHAIN + 1];
    many[0] = p.leaf;
    for (int i = 1; i <= TERN_CERT_MAX_CHAIN; i++) many[i] = p.inter;
    CHECK_EQ_INT(pki_write_pem(long_pem, many, TERN_CERT_MAX_CHAIN + 1, NULL), 0);
    CHECK_EQ_INT(tern_cert_chain_load_files(&chain, long_pem, key_pem), TERN_ERR_CERT);
    CHECK_EQ_INT(pki_write_pem(long_pem, many, TERN_CERT_MAX_CHAIN, NULL), 0);
    CHECK_EQ_INT(tern_cert_chain_load_files(&chain, long_pem, key_pem), TERN_OK);
    if (chain) CHECK_EQ_INT(chain->n, TERN_CERT_MAX_CHAIN);
    tern_cert_chain_free(chain);
    chain = NULL;
  }
  /* chain and key in one file */
  {
    X509 *both[2] = {p.leaf, p.inter};
    CHECK_EQ_INT(pki_write_pem(long_pem, both, 2, p.leaf_key), 0);
    CHECK_EQ_INT(tern_cert_chain_load_files(&chain, long_pem, long_pem), TERN_OK);
    if (chain) CHECK_EQ_INT(chain->n, 2);
    tern_cert_chain_free(chain);
    chain = NULL;
  }
  CHECK_EQ_INT(tern_cert_chain_load_files(NULL, chain_pem, key_pem), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_cert_chain_load_files(&chain, NULL, key_pem), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_cert_chain_from_objects(&chain, NULL, NULL, k2), TERN_ERR_INVALID_ARG);
  tern_cert_chain_free(NULL);
  CHECK_EQ_INT(ERR_peek_error(), 0);

  /* from objects: the chain holds its own references */
  {
    STACK_OF(X509) *extra = pki_chain(&p);
    CHECK_EQ_INT(tern_cert_chain_from_objects(&chain, p.leaf, extra, p.leaf_key), TERN_OK);
    sk_X509_pop_free(extra, X509_free);
    if (chain) {
      CHECK_EQ_INT(chain->n, 2);
      CHECK(chain->leaf == p.leaf && chain->key == p.leaf_key);
      CHECK(chain->der_len[0] > 0 && chain->der_len[1] > 0);
    }
    tern_cert_chain_free(chain);
  }
  unlink(other_key);
  unlink(empty);
  unlink(long_pem);
  EVP_PKEY_free(k2);
  EVP_PKEY_free(k3);
  pki_free(&p);
}

/* Trust from a file, a hashed directory, a caller's store; failures. */
static void test_trust(void) {
  char ca_pem[128], hashed[160], sub[128];
  pki p;
  ders d;
  tern_trust *t = NULL;
  const uint8_t *const *der;
  X509_STORE *store;
  CHECK_EQ_INT(pki_make(&p, PKI_KEY_ED25519, NULL, 0, PKI_VALID_NOW), 0);
  ders_of(&d, &p);
  der = (const uint8_t *const *)d.der;
  path_of(ca_pem, sizeof ca_pem, "ca.pem");
  path_of(sub, sizeof sub, "hashed");

  CHECK_EQ_INT(tern_trust_new(&t), TERN_OK);
  CHECK_EQ_INT(tern_trust_load(t, NULL, NULL), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_trust_load(t, "/nonexistent/ca.pem", NULL), TERN_ERR_CERT);
  /* an empty store knows no CA */
  expect(t, der, d.len, d.n, "localhost", 1, 0, TERN_ALERT_UNKNOWN_CA,
         X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 1, "empty store");
  tern_trust_free(t);

  /* a hashed directory (c_rehash layout: <subject hash>.0) */
  CHECK_EQ_INT(mkdir(sub, 0700), 0);
  snprintf(hashed, sizeof hashed, "%s/%08lx.0", sub, X509_subject_name_hash(p.ca));
  CHECK_EQ_INT(pki_write_pem(hashed, &p.ca, 1, NULL), 0);
  CHECK_EQ_INT(tern_trust_new(&t), TERN_OK);
  CHECK_EQ_INT(tern_trust_load(t, NULL, sub), TERN_OK);
  expect(t, der, d.len, d.n, "localhost", 1, 0, 0, 0, 1, "hashed dir");
  tern_trust_free(t);
  unlink(hashed);
  rmdir(sub);

  /* a caller's store, up-ref'd */
  store = X509_STORE_new();
  CHECK(X509_STORE_add_cert(store, p.ca) == 1);
  CHECK_EQ_INT(tern_trust_from_store(&t, store), TERN_OK);
  X509_STORE_free(store);
  expect(t, der, d.len, d.n, "localhost", 1, 0, 0, 0, 1, "caller's store");
  tern_trust_free(t);
  tern_trust_free(NULL);
  CHECK_EQ_INT(tern_trust_from_store(&t, NULL), TERN_ERR_INVALID_ARG);
  (void)ca_pem;
  ders_free(&d);
  pki_free(&p);
}

/* Each way a peer's chain fails, with its alert and X509 error. */
static void test_verify_failures(void) {
  pki p, other, expired, future;
  ders d, de, df;
  tern_trust *t, *t_other;
  const uint8_t *const *der;
  int64_t now = (int64_t)time(NULL);
  CHECK_EQ_INT(pki_make(&p, PKI_KEY_P256, "tern.example", 1, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&other, PKI_KEY_P256, "tern.example", 0, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&expired, PKI_KEY_P256, NULL, 0,
                        (pki_validity){-2 * 86400, -86400}), 0);
  CHECK_EQ_INT(pki_make(&future, PKI_KEY_P256, NULL, 0,
                        (pki_validity){86400, 2 * 86400}), 0);
  ders_of(&d, &p);
  ders_of(&de, &expired);
  ders_of(&df, &future);
  der = (const uint8_t *const *)d.der;
  t = trust_of(p.ca);
  CHECK(X509_STORE_add_cert(t->store, expired.ca) == 1);
  CHECK(X509_STORE_add_cert(t->store, future.ca) == 1);
  t_other = trust_of(other.ca);

  /* the name */
  expect(t, der, d.len, d.n, "example.com", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
         X509_V_ERR_HOSTNAME_MISMATCH, 1, "wrong host");
  expect(t, der, d.len, d.n, "x.tern.example", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
         X509_V_ERR_HOSTNAME_MISMATCH, 1, "subdomain");
  expect(t, der, d.len, d.n, "127.0.0.2", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
         X509_V_ERR_IP_ADDRESS_MISMATCH, 1, "wrong IPv4");
  expect(t, der, d.len, d.n, "::1", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
         X509_V_ERR_IP_ADDRESS_MISMATCH, 1, "IPv6");

  /* unknown CA: another root, and a self-signed leaf */
  expect(t_other, der, d.len, d.n, "localhost", 1, 0, TERN_ALERT_UNKNOWN_CA,
         X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 1, "other root");
  {
    uint8_t *self = NULL;
    int sl = i2d_X509(other.ca, &self);
    const uint8_t *one[1] = {self};
    size_t lens[1] = {(size_t)sl};
    expect(t, one, lens, 1, NULL, 1, 0, TERN_ALERT_UNKNOWN_CA,
           X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 1, "self-signed leaf");
    OPENSSL_free(self);
  }
  /* a chain ending in an untrusted root sent by the peer */
  {
    uint8_t *root = NULL;
    int rl = i2d_X509(p.ca, &root);
    const uint8_t *three[3] = {d.der[0], d.der[1], root};
    size_t lens[3] = {d.len[0], d.len[1], (size_t)rl};
    expect(t_other, three, lens, 3, "localhost", 1, 0, TERN_ALERT_UNKNOWN_CA,
           X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 1, "untrusted root in chain");
    OPENSSL_free(root);
  }

  /* time: expired, not yet valid, and a good chain at another `now` */
  expect(t, (const uint8_t *const *)de.der, de.len, de.n, "localhost", 1, 0,
         TERN_ALERT_CERTIFICATE_EXPIRED, X509_V_ERR_CERT_HAS_EXPIRED, 1, "expired");
  expect(t, (const uint8_t *const *)df.der, df.len, df.n, "localhost", 1, 0,
         TERN_ALERT_CERTIFICATE_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID, 1, "future");
  expect(t, (const uint8_t *const *)de.der, de.len, de.n, "localhost", 1,
         now - 36 * 3600, 0, 0, 1, "expired, verified in the past");
  expect(t, der, d.len, d.n, "localhost", 1, now + 60L * 86400,
         TERN_ALERT_CERTIFICATE_EXPIRED, X509_V_ERR_CERT_HAS_EXPIRED, 1, "now +60d");
  expect(t, der, d.len, d.n, "localhost", 1, now - 2 * 3600,
         TERN_ALERT_CERTIFICATE_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID, 1, "now -2h");
  expect(t, der, d.len, d.n, "localhost", 1, now + 86400, 0, 0, 1, "now +1d");

  /* garbage DER */
  {
    uint8_t junk[64], trailing[2048];
    const uint8_t *list[2];
    size_t lens[2];
    memset(junk, 0x30, sizeof junk);
    list[0] = junk;
    lens[0] = sizeof junk;
    expect(t, list, lens, 1, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE, -1, 0,
           "junk leaf");
    /* a good leaf and a junk intermediate: the leaf key still comes back */
    list[0] = d.der[0];
    lens[0] = d.len[0];
    list[1] = junk;
    lens[1] = sizeof junk;
    expect(t, list, lens, 2, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE, -1, 1,
           "junk intermediate");
    /* a truncated leaf, and one with a byte after its DER */
    lens[0] = d.len[0] - 1;
    expect(t, list, lens, 1, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE, -1, 0,
           "truncated leaf");
    CHECK(d.len[0] < sizeof trailing);
    memcpy(trailing, d.der[0], d.len[0]);
    trailing[d.len[0]] = 0;
    list[0] = trailing;
    lens[0] = d.len[0] + 1;
    expect(t, list, lens, 1, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE, -1, 0,
           "trailing byte");
    lens[0] = 0;
    expect(t, list, lens, 1, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE, -1, 0,
           "empty leaf");
    /* a flipped bit in the leaf's signature */
    memcpy(trailing, d.der[0], d.len[0]);
    trailing[d.len[0] - 2] ^= 0x01;
    list[0] = trailing;
    lens[0] = d.len[0];
    list[1] = d.der[1];
    lens[1] = d.len[1];
    expect(t, list, lens, 2, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
           X509_V_ERR_CERT_SIGNATURE_FAILURE, 1, "bad signature");
  }
  /* argument checks */
  {
    EVP_PKEY *key = NULL;
    int err;
    uint8_t alert;
    CHECK_EQ_INT(tern_cert_verify_peer(NULL, der, d.len, d.n, NULL, 1, 0, &key, &err, &alert),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_cert_verify_peer(t, der, d.len, 0, NULL, 1, 0, &key, &err, &alert),
                 TERN_ERR_INVALID_ARG);
    CHECK(key == NULL);
    CHECK_EQ_INT(tern_cert_verify_peer(t, der, d.len, d.n, "", 1, 0, &key, &err, &alert),
                 TERN_ERR_INVALID_ARG);
    /* every output is optional */
    CHECK_EQ_INT(tern_cert_verify_peer(t, der, d.len, d.n, "localhost", 1, 0, NULL, NULL, NULL),
                 TERN_OK);
    CHECK_EQ_INT(tern_cert_verify_peer(t, der, d.len, d.n, "nope", 1, 0, NULL, NULL, NULL),
                 TERN_ERR_CERT);
  }
  tern_trust_free(t);
  tern_trust_free(t_other);
  ders_free(&d);
  ders_free(&de);
  ders_free(&df);
  pki_free(&p);
  pki_free(&other);
  pki_free(&expired);
  pki_free(&future);
}

/*
 * The trust's parse cache: more distinct leaves than it has slots, each
 * verified twice and with a wrong name in between, and the first again
 * after it was evicted. Only parsing is cached, never a verdict.
 */
static void test_parse_cache(void) {
  pki p;
  tern_trust *t;
  enum { N = 20 };
  uint8_t *der[N] = {0};
  size_t len[N];
  CHECK_EQ_INT(pki_make(&p, PKI_KEY_ED25519, NULL, 0, PKI_VALID_NOW), 0);
  t = trust_of(p.ca);
  for (int i = 0; i < N; i++) {
    EVP_PKEY *k = pki_key_new(PKI_KEY_ED25519);
    X509 *leaf = pki_leaf_new(k, "cache.example", p.ca, p.ca_key, PKI_VALID_NOW);
    int l = leaf ? i2d_X509(leaf, &der[i]) : -1;
    CHECK(l > 0);
    len[i] = l > 0 ? (size_t)l : 0;
    X509_free(leaf);
    EVP_PKEY_free(k);
  }
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++) {
      const uint8_t *one[1] = {der[i]};
      expect(t, one, &len[i], 1, "cache.example", 1, 0, 0, 0, 1, "cache");
      expect(t, one, &len[i], 1, "other.example", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
             X509_V_ERR_HOSTNAME_MISMATCH, 1, "cache, wrong name");
      expect(t, one, &len[i], 1, "cache.example", 1, 0, 0, 0, 1, "cache again");
    }
  }
  /* the cached parse of a good leaf does not let a tampered copy through */
  {
    uint8_t bad[4096];
    const uint8_t *one[1] = {bad};
    CHECK(len[0] < sizeof bad);
    memcpy(bad, der[0], len[0]);
    bad[len[0] - 1] ^= 0x01;
    expect(t, one, &len[0], 1, "cache.example", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
           X509_V_ERR_CERT_SIGNATURE_FAILURE, 1, "tampered after cached");
  }
  for (int i = 0; i < N; i++) OPENSSL_free(der[i]);
  tern_trust_free(t);
  pki_free(&p);
}

/* Counts the issuer look-ups of X509_verify_cert (a store hook that does
   not keep verdicts from being remembered). */
static int issuer_lookups;
static int counting_get_issuer(X509 **issuer, X509_STORE_CTX *ctx, X509 *x) {
  issuer_lookups++;
  return X509_STORE_CTX_get1_issuer(issuer, ctx, x);
}

/* Rejects every chain. */
static int reject_all(int ok, X509_STORE_CTX *ctx) {
  (void)ok;
  X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

/*
 * The trust's memory of chains that verified: a chain met again is not
 * verified again (no issuer look-up) but its name still is, its time
 * span still bounds it, a chain differing in one byte or one certificate
 * is verified in full, and a store that starts checking revocation,
 * changes its depth or gets a verify callback verifies in full again.
 */
static void test_verified_cache(void) {
  pki p;
  ders d;
  tern_trust *t;
  const uint8_t *const *der;
  int64_t now = (int64_t)time(NULL);
  int before;
  CHECK_EQ_INT(pki_make(&p, PKI_KEY_P256, "tern.example", 1, PKI_VALID_NOW), 0);
  ders_of(&d, &p);
  der = (const uint8_t *const *)d.der;
  t = trust_of(p.ca);
  X509_STORE_set_get_issuer(t->store, counting_get_issuer);

  issuer_lookups = 0;
  expect(t, der, d.len, d.n, "tern.example", 1, 0, 0, 0, 1, "first contact");
  CHECK(issuer_lookups > 0);
  before = issuer_lookups;
  expect(t, der, d.len, d.n, "tern.example", 1, 0, 0, 0, 1, "remembered");
  expect(t, der, d.len, d.n, "localhost", 1, now + 86400, 0, 0, 1, "remembered, +1d");
  expect(t, der, d.len, d.n, "127.0.0.1", 1, 0, 0, 0, 1, "remembered, IP");
  CHECK_EQ_INT(issuer_lookups, before);
  /* the name is still checked on a remembered chain */
  expect(t, der, d.len, d.n, "example.com", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
         X509_V_ERR_HOSTNAME_MISMATCH, 1, "remembered, wrong host");
  expect(t, der, d.len, d.n, "127.0.0.2", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
         X509_V_ERR_IP_ADDRESS_MISMATCH, 1, "remembered, wrong IP");
  CHECK_EQ_INT(issuer_lookups, before);
  /* outside the span: verified in full, and refused */
  expect(t, der, d.len, d.n, "localhost", 1, now + 60L * 86400,
         TERN_ALERT_CERTIFICATE_EXPIRED, X509_V_ERR_CERT_HAS_EXPIRED, 1, "remembered, +60d");
  expect(t, der, d.len, d.n, "localhost", 1, now - 2 * 3600,
         TERN_ALERT_CERTIFICATE_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID, 1, "remembered, -2h");
  CHECK(issuer_lookups > before);
  /* another purpose is another verdict */
  before = issuer_lookups;
  expect(t, der, d.len, d.n, NULL, 0, 0, 0, 0, 1, "as a client certificate");
  CHECK(issuer_lookups > before);
  /* one byte of the intermediate changed, or the intermediate left out */
  {
    uint8_t bad[4096];
    const uint8_t *two[2] = {d.der[0], bad};
    CHECK(d.len[1] < sizeof bad);
    memcpy(bad, d.der[1], d.len[1]);
    bad[d.len[1] - 1] ^= 0x01;
    expect(t, two, d.len, 2, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
           X509_V_ERR_CERT_SIGNATURE_FAILURE, 1, "tampered intermediate");
    expect(t, der, d.len, 1, "localhost", 1, 0, TERN_ALERT_UNKNOWN_CA,
           X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 1, "no intermediate");
  }
  /* the store's settings change: verified in full again */
  X509_STORE_set_depth(t->store, 0);
  expect(t, der, d.len, d.n, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
         X509_V_ERR_CERT_CHAIN_TOO_LONG, 1, "depth 0");
  X509_STORE_set_depth(t->store, 100);
  expect(t, der, d.len, d.n, "localhost", 1, 0, 0, 0, 1, "depth 100");
  X509_STORE_set_flags(t->store, X509_V_FLAG_CRL_CHECK);
  expect(t, der, d.len, d.n, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
         X509_V_ERR_UNABLE_TO_GET_CRL, 1, "revocation checked");
  X509_VERIFY_PARAM_clear_flags(X509_STORE_get0_param(t->store), X509_V_FLAG_CRL_CHECK);
  expect(t, der, d.len, d.n, "localhost", 1, 0, 0, 0, 1, "revocation no longer checked");
  X509_STORE_set_verify_cb(t->store, reject_all);
  expect(t, der, d.len, d.n, "localhost", 1, 0, TERN_ALERT_BAD_CERTIFICATE,
         X509_V_ERR_APPLICATION_VERIFICATION, 1, "verify callback");
  ders_free(&d);
  tern_trust_free(t);
  pki_free(&p);
}

/* ---- a new leaf parsed without libcrypto's key decoder ---- */

/* A verify callback that changes nothing: a store carrying it is verified
   with libcrypto's own parse of every certificate and nothing remembered. */
static int pass_through(int ok, X509_STORE_CTX *ctx) {
  (void)ctx;
  return ok;
}

/* Two trusts with the same anchors: `fast` (new leaves skip the key
   decoder) and `slow` (verified as libcrypto alone would). */
typedef struct two_trusts {
  tern_trust *fast, *slow;
} two_trusts;

static void two_add(two_trusts *tt, X509 *anchor) {
  CHECK(X509_STORE_add_cert(tt->fast->store, anchor) == 1);
  CHECK(X509_STORE_add_cert(tt->slow->store, anchor) == 1);
}

/*
 * Verifies leaf (and inter, when not NULL) against both trusts: each must
 * give want_alert (0: success) and want_err, hand back the leaf's key,
 * and the fast one must have taken the decoder-free parse exactly when
 * fast_way says so.
 */
static void same_verdict(const two_trusts *tt, X509 *leaf, X509 *inter, const char *host,
                         uint8_t want_alert, int want_err, int fast_way, const char *what) {
  uint8_t *der[2] = {NULL, NULL};
  size_t len[2] = {0, 0}, n = inter ? 2 : 1;
  for (size_t i = 0; i < n; i++) {
    int l = i2d_X509(i ? inter : leaf, &der[i]);
    CHECK(l > 0);
    len[i] = l > 0 ? (size_t)l : 0;
  }
  for (int slow = 0; slow <= 1; slow++) {
    unsigned long before = tern_cert_leaf_fast_parses();
    EVP_PKEY *key = NULL;
    int err = -1, rc;
    uint8_t alert = 0;
    rc = tern_cert_verify_peer(slow ? tt->slow : tt->fast, (const uint8_t *const *)der, len, n,
                               host, 1, 0, &key, &err, &alert);
    int want_rc = want_alert ? TERN_ERR_CERT : TERN_OK;
    unsigned long fast = tern_cert_leaf_fast_parses() - before;
    unsigned long want_fast = slow ? 0 : (unsigned long)fast_way;
    CHECK_EQ_INT(rc, want_rc);
    CHECK_EQ_INT(err, want_err);
    if (want_alert) CHECK_EQ_INT(alert, want_alert);
    CHECK(key != NULL && EVP_PKEY_eq(key, X509_get0_pubkey(leaf)) == 1);
    CHECK_EQ_INT(fast, want_fast);
    if (rc != want_rc || err != want_err || fast != want_fast)
      fprintf(stderr, "  (%s, %s: rc %d alert %d x509 %d %s, fast parses %lu)\n", what,
              slow ? "slow" : "fast", rc, alert, err, X509_verify_cert_error_string(err), fast);
    EVP_PKEY_free(key);
    CHECK_EQ_INT(ERR_peek_error(), 0);
  }
  OPENSSL_free(der[0]);
  OPENSSL_free(der[1]);
}

/* A copy of x with one bit of its signature flipped. */
static X509 *flip_signature_bit(X509 *x) {
  uint8_t *der = NULL;
  const unsigned char *p;
  int len = i2d_X509(x, &der);
  X509 *y = NULL;
  if (len > 4) {
    der[len - 3] ^= 0x10;
    p = der;
    y = d2i_X509(NULL, &p, len);
  }
  OPENSSL_free(der);
  CHECK(y != NULL);
  return y;
}

/* Re-signs x with key (an EC key; after its extensions changed). */
static void resign(X509 *x, EVP_PKEY *key) {
  CHECK(X509_sign(x, key, EVP_sha256()) > 0);
}

/*
 * The decoder-free parse of a new leaf against libcrypto's own, verdict
 * for verdict: good leaves of each kind (P-256/384/521, RSA, a leaf
 * signed with RSA-PSS, a compressed EC point, with an intermediate), a
 * flipped signature bit, a leaf signed by another key under the CA's
 * name, an expired leaf, an unknown critical extension, a wrong name,
 * self-signed leaves trusted and not; keys it does not build (Ed25519,
 * an RSA-PSS key) and stores with hooks of their own go libcrypto's way.
 */
static void test_fast_leaf(void) {
  pki p, pi, r, pss, other, ed;
  two_trusts tt;
  pki_validity old = {-2 * 86400, -86400};
  CHECK_EQ_INT(pki_make(&p, PKI_KEY_P256, "tern.example", 0, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&pi, PKI_KEY_P384, "tern.example", 1, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&r, PKI_KEY_RSA2048, "tern.example", 0, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&pss, PKI_KEY_RSA_PSS, "tern.example", 0, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&other, PKI_KEY_P256, "tern.example", 0, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&ed, PKI_KEY_ED25519, "tern.example", 0, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(tern_trust_new(&tt.fast), TERN_OK);
  CHECK_EQ_INT(tern_trust_new(&tt.slow), TERN_OK);
  X509_STORE_set_verify_cb(tt.slow->store, pass_through);
  two_add(&tt, p.ca);
  two_add(&tt, pi.ca);
  two_add(&tt, r.ca);
  two_add(&tt, pss.ca);
  two_add(&tt, ed.ca);

  same_verdict(&tt, p.leaf, NULL, "localhost", 0, X509_V_OK, 1, "P-256");
  same_verdict(&tt, pi.leaf, pi.inter, "localhost", 0, X509_V_OK, 1, "P-384 + intermediate");
  same_verdict(&tt, pi.leaf, NULL, "localhost", TERN_ALERT_UNKNOWN_CA,
               X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 1, "intermediate missing");
  same_verdict(&tt, r.leaf, NULL, "localhost", 0, X509_V_OK, 1, "RSA");
  same_verdict(&tt, pss.leaf, NULL, "localhost", 0, X509_V_OK, 0, "RSA-PSS key");
  same_verdict(&tt, ed.leaf, NULL, "localhost", 0, X509_V_OK, 0, "Ed25519");
  {
    X509 *x = pki_leaf_new(other.leaf_key, "tern.example", p.ca, p.ca_key, PKI_VALID_NOW);
    same_verdict(&tt, x, NULL, "example.com", TERN_ALERT_BAD_CERTIFICATE,
                 X509_V_ERR_HOSTNAME_MISMATCH, 1, "wrong name");
    X509_free(x);
  }
  {
    EVP_PKEY *k521 = pki_key_new(PKI_KEY_P521), *krsa = pki_key_new(PKI_KEY_RSA2048);
    EVP_PKEY *kc = pki_key_new(PKI_KEY_P256);
    X509 *x;
    CHECK(k521 != NULL && krsa != NULL && kc != NULL);
    /* P-521 under the P-256 root */
    x = pki_leaf_new(k521, "tern.example", p.ca, p.ca_key, PKI_VALID_NOW);
    same_verdict(&tt, x, NULL, "localhost", 0, X509_V_OK, 1, "P-521");
    X509_free(x);
    /* an rsaEncryption leaf signed with RSA-PSS, good and with a bit flipped */
    x = pki_leaf_new(krsa, "tern.example", pss.ca, pss.ca_key, PKI_VALID_NOW);
    CHECK(x != NULL && X509_get_signature_nid(x) == NID_rsassaPss);
    same_verdict(&tt, x, NULL, "localhost", 0, X509_V_OK, 1, "signed with RSA-PSS");
    {
      X509 *bad = flip_signature_bit(x);
      same_verdict(&tt, bad, NULL, "localhost", TERN_ALERT_BAD_CERTIFICATE,
                   X509_V_ERR_CERT_SIGNATURE_FAILURE, 1, "RSA-PSS signature, one bit");
      X509_free(bad);
    }
    X509_free(x);
    /* a compressed point: the key re-encodes to the same bytes */
    CHECK(EVP_PKEY_set_utf8_string_param(kc, "point-format", "compressed") == 1);
    x = pki_leaf_new(kc, "tern.example", p.ca, p.ca_key, PKI_VALID_NOW);
    CHECK(x != NULL && X509_get0_pubkey_bitstr(x)->length == 33);
    same_verdict(&tt, x, NULL, "localhost", 0, X509_V_OK, 1, "compressed point");
    X509_free(x);
    EVP_PKEY_free(k521);
    EVP_PKEY_free(krsa);
    EVP_PKEY_free(kc);
  }
  /* one bit of the signature, EC and RSA */
  {
    X509 *bad = flip_signature_bit(p.leaf);
    same_verdict(&tt, bad, NULL, "localhost", TERN_ALERT_BAD_CERTIFICATE,
                 X509_V_ERR_CERT_SIGNATURE_FAILURE, 1, "EC signature, one bit");
    X509_free(bad);
    bad = flip_signature_bit(r.leaf);
    same_verdict(&tt, bad, NULL, "localhost", TERN_ALERT_BAD_CERTIFICATE,
                 X509_V_ERR_CERT_SIGNATURE_FAILURE, 1, "RSA signature, one bit");
    X509_free(bad);
  }
  /* signed by another key under the CA's name (and its key identifier) */
  {
    X509 *x = pki_leaf_new(other.leaf_key, "tern.example", p.ca, other.ca_key, PKI_VALID_NOW);
    CHECK(x != NULL);
    same_verdict(&tt, x, NULL, "localhost", TERN_ALERT_BAD_CERTIFICATE,
                 X509_V_ERR_CERT_SIGNATURE_FAILURE, 1, "untrusted key, CA's name");
    X509_free(x);
  }
  /* expired */
  {
    X509 *x = pki_leaf_new(other.leaf_key, "tern.example", p.ca, p.ca_key, old);
    same_verdict(&tt, x, NULL, "localhost", TERN_ALERT_CERTIFICATE_EXPIRED,
                 X509_V_ERR_CERT_HAS_EXPIRED, 1, "expired");
    X509_free(x);
  }
  /* an unknown critical extension */
  {
    X509 *x = pki_leaf_new(other.leaf_key, "tern.example", p.ca, p.ca_key, PKI_VALID_NOW);
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.99999.7", 1);
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    CHECK(x != NULL && oid != NULL && val != NULL &&
          ASN1_OCTET_STRING_set(val, (const unsigned char *)"\x05\x00", 2) == 1);
    if (x != NULL && oid != NULL && val != NULL)
      ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, val);
    CHECK(ext != NULL && X509_add_ext(x, ext, -1) == 1);
    resign(x, p.ca_key);
    same_verdict(&tt, x, NULL, "localhost", TERN_ALERT_BAD_CERTIFICATE,
                 X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION, 1, "unknown critical extension");
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(val);
    ASN1_OBJECT_free(oid);
    X509_free(x);
  }
  /* self-signed: unknown, then trusted as it is (a name no other anchor has) */
  {
    EVP_PKEY *k = pki_key_new(PKI_KEY_P256);
    X509 *self = k != NULL ? pki_leaf_new(k, "tern-self.example", NULL, k, PKI_VALID_NOW) : NULL;
    X509 *bad;
    CHECK(self != NULL);
    same_verdict(&tt, self, NULL, NULL, TERN_ALERT_UNKNOWN_CA,
                 X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 1, "self-signed");
    two_add(&tt, self);
    same_verdict(&tt, self, NULL, NULL, 0, X509_V_OK, 1, "self-signed, trusted");
    bad = flip_signature_bit(self);
    same_verdict(&tt, bad, NULL, NULL, TERN_ALERT_UNKNOWN_CA,
                 X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 1, "trusted self-signed, one bit");
    X509_free(bad);
    X509_free(self);
    EVP_PKEY_free(k);
  }
  /* a store with an issuer hook of its own: libcrypto's parse, so that
     the hook only ever sees an X509 of the default library context */
  {
    unsigned long before = tern_cert_leaf_fast_parses();
    tern_trust *h = trust_of(p.ca);
    X509 *x = pki_leaf_new(other.leaf_key, "tern.example", p.ca, p.ca_key, PKI_VALID_NOW);
    uint8_t *der = NULL;
    int l = x != NULL ? i2d_X509(x, &der) : 0;
    const uint8_t *one[1] = {der};
    size_t lens[1] = {l > 0 ? (size_t)l : 0};
    CHECK(l > 0);
    X509_STORE_set_get_issuer(h->store, counting_get_issuer);
    issuer_lookups = 0;
    expect(h, one, lens, 1, "localhost", 1, 0, 0, 0, 1, "issuer hook");
    CHECK(issuer_lookups > 0);
    CHECK_EQ_INT(tern_cert_leaf_fast_parses(), before);
    OPENSSL_free(der);
    X509_free(x);
    tern_trust_free(h);
  }
  /* the leaf goes the fast way once: then from the memory of verified chains */
  {
    unsigned long before = tern_cert_leaf_fast_parses();
    same_verdict(&tt, p.leaf, NULL, "localhost", 0, X509_V_OK, 0, "P-256 again");
    CHECK_EQ_INT(tern_cert_leaf_fast_parses(), before);
  }
  tern_trust_free(tt.fast);
  tern_trust_free(tt.slow);
  pki_free(&p);
  pki_free(&pi);
  pki_free(&r);
  pki_free(&pss);
  pki_free(&other);
  pki_free(&ed);
}

int main(void) {
  char buf[128];
  snprintf(dir, sizeof dir, "/tmp/tern_test_cert.XXXXXX");
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  test_good_chains();
  test_load_errors();
  test_trust();
  test_verify_failures();
  test_parse_cache();
  test_verified_cache();
  test_fast_leaf();
  unlink(path_of(buf, sizeof buf, "chain.pem"));
  unlink(path_of(buf, sizeof buf, "key.pem"));
  unlink(path_of(buf, sizeof buf, "ca.pem"));
  rmdir(dir);
  return check_report();
}
