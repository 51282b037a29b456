/*
 * test_rfc8448_hs.c - tern's client and server replaying RFC 8448's
 * handshakes (§3 simple 1-RTT, §5 HelloRetryRequest) byte for byte.
 *
 * Client: its ClientHello(s) and ephemeral keys are the trace's (through
 * tests/testhook.h and the random source); it takes the trace's server flight,
 * verifies the RSA CertificateVerify and Finished, and must send the
 * trace's client Finished, with every secret equal to the trace's.
 * Server: with the trace's random, ephemeral key and RSA key it must
 * answer the trace's ClientHello(s) with the trace's ServerHello (and,
 * in §5, HelloRetryRequest), and derive the trace's handshake secrets.
 * The traces are TLS over TCP, so the QUIC rules are switched off
 * (tern_test_plain_tls); messages and secrets still flow through the
 * QUIC-mode callbacks, without records.
 */
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "check.h"
#include "qpair.h"
#include "testhook.h"
#include "vectors.h"

/* A random source that hands out queued chunks, in order. */
typedef struct replay {
  const uint8_t *chunk[4];
  size_t len[4];
  size_t n, next;
} replay;

static int replay_rng(void *ctx, uint8_t *out, size_t len) {
  replay *r = ctx;
  if (r->next >= r->n || r->len[r->next] != len) {
    fprintf(stderr, "replay rng: unexpected draw of %zu bytes (chunk %zu)\n", len, r->next);
    return -1;
  }
  memcpy(out, r->chunk[r->next++], len);
  return 0;
}

static uint8_t *get(const char *f, const char *label, size_t *n) { return vec_get(f, label, n); }

static void check_secret(const qside *s, int level, int dir, const char *f, const char *label) {
  size_t n;
  uint8_t *want = get(f, label, &n);
  CHECK_EQ_INT(s->secret_len[level][dir], n);
  if (s->secret_len[level][dir] == n) CHECK_MEM(s->secret[level][dir], want, n);
  free(want);
}

/* The §2 RSA key from its components. */
static EVP_PKEY *rfc8448_rsa_key(void) {
  static const char *const labels[] = {"modulus (public)", "public exponent", "private exponent",
                                       "prime1", "prime2", "exponent1", "exponent2",
                                       "coefficient"};
  static const char *const names[] = {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
                                      OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
                                      OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                      OSSL_PKEY_PARAM_RSA_EXPONENT2,
                                      OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  BIGNUM *bn[8] = {0};
  OSSL_PARAM *params;
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  EVP_PKEY *key = NULL;
  for (int i = 0; i < 8; i++) {
    size_t n;
    uint8_t *v = get("rfc8448_private_keys.txt", labels[i], &n);
    bn[i] = BN_bin2bn(v, (int)n, NULL);
    free(v);
    OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]);
  }
  params = OSSL_PARAM_BLD_to_param(bld);
  if (EVP_PKEY_fromdata_init(pctx) != 1 ||
      EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_KEYPAIR, params) != 1)
    key = NULL;
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX_free(pctx);
  for (int i = 0; i < 8; i++) BN_free(bn[i]);
  return key;
}

/* The trace's server certificate, from its Certificate message. */
static X509 *rfc8448_cert(const char *f, const char *label) {
  size_t n;
  uint8_t *m = get(f, label, &n);
  const uint8_t *p = m + 11;
  X509 *x = d2i_X509(NULL, &p, (long)(n - 11 - 2));
  free(m);
  return x;
}

/* Hands a message to a connection at a level and runs it. */
static int give(qside *s, int level, const char *f, const char *label) {
  size_t n;
  uint8_t *m = get(f, label, &n);
  int rc = tern_quic_provide_data(s->conn, (tern_level)level, m, n);
  if (rc == TERN_OK) rc = tern_handshake(s->conn);
  free(m);
  return rc;
}

/* A client configuration with RFC 8448's groups (the traces predate the
   post-quantum hybrids: one X25519 share, P-256 after a retry). */
static tern_config *rfc8448_client_config(void) {
  static const uint16_t groups[] = {TERN_GROUP_X25519, TERN_GROUP_SECP256R1,
                                    TERN_GROUP_X448, TERN_GROUP_SECP384R1,
                                    TERN_GROUP_SECP521R1, TERN_GROUP_FFDHE2048,
                                    TERN_GROUP_FFDHE3072, TERN_GROUP_FFDHE4096,
                                    TERN_GROUP_FFDHE6144, TERN_GROUP_FFDHE8192};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  if (cfg != NULL) tern_config_set_groups(cfg, groups, sizeof groups / sizeof groups[0]);
  return cfg;
}

static void test_client(const char *f, int hrr) {
  tern_config *cfg = rfc8448_client_config();
  size_t ch1_len, ch2_len = 0, k1_len, k2_len = 0, fin_len;
  uint8_t *ch1 = get(f, "client ClientHello message (step 02)", &ch1_len);
  uint8_t *ch2 = hrr ? get(f, "client ClientHello message (step 07)", &ch2_len) : NULL;
  uint8_t *k1 = get(f, "client ephemeral x25519 private key", &k1_len);
  uint8_t *k2 = hrr ? get(f, "client ephemeral P-256 private key", &k2_len) : NULL;
  uint8_t *fin = get(f, hrr ? "client Finished message (step 46)" : "client Finished message (step 41)",
                     &fin_len);
  replay r = {{ch1 + 6, k1, k2}, {32, k1_len, k2_len}, hrr ? 3 : 2, 0};
  qside s;
  int rc;

  memset(&s, 0, sizeof s);
  CHECK_EQ_INT(tern_config_set_random(cfg, replay_rng, &r), TERN_OK);
  CHECK_EQ_INT(tern_config_set_verify_peer(cfg, 0), TERN_OK);
  s.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &s);
  tern_test_plain_tls(s.conn);
  CHECK_EQ_INT(tern_test_client_hello(s.conn, 0, ch1, ch1_len), TERN_OK);
  if (hrr) CHECK_EQ_INT(tern_test_client_hello(s.conn, 1, ch2, ch2_len), TERN_OK);

  CHECK_EQ_INT(tern_handshake(s.conn), TERN_WANT_READ);
  CHECK_EQ_INT(s.out_len[TERN_LEVEL_INITIAL], ch1_len);
  CHECK_MEM(s.out[TERN_LEVEL_INITIAL], ch1, ch1_len);
  s.out_len[TERN_LEVEL_INITIAL] = 0;
  if (hrr) {
    CHECK_EQ_INT(give(&s, 0, f, "server ServerHello message (step 04)"), TERN_WANT_READ);
    CHECK_EQ_INT(s.out_len[TERN_LEVEL_INITIAL], ch2_len);
    CHECK_MEM(s.out[TERN_LEVEL_INITIAL], ch2, ch2_len);
    CHECK_EQ_INT(tern_conn_used_hrr(s.conn), 1);
    CHECK_EQ_INT(give(&s, 0, f, "server ServerHello message (step 11)"), TERN_WANT_READ);
    CHECK_EQ_INT(give(&s, 2, f, "server EncryptedExtensions message (step 20)"), TERN_WANT_READ);
    CHECK_EQ_INT(give(&s, 2, f, "server Certificate message (step 21)"), TERN_WANT_READ);
    CHECK_EQ_INT(give(&s, 2, f, "server CertificateVerify message (step 22)"), TERN_WANT_READ);
    rc = give(&s, 2, f, "server Finished message (step 24)");
  } else {
    CHECK_EQ_INT(give(&s, 0, f, "server ServerHello message (step 06)"), TERN_WANT_READ);
    CHECK_EQ_INT(give(&s, 2, f, "server EncryptedExtensions message (step 15)"), TERN_WANT_READ);
    CHECK_EQ_INT(give(&s, 2, f, "server Certificate message (step 16)"), TERN_WANT_READ);
    CHECK_EQ_INT(give(&s, 2, f, "server CertificateVerify message (step 17)"), TERN_WANT_READ);
    rc = give(&s, 2, f, "server Finished message (step 19)");
  }
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) fprintf(stderr, "  client: %s\n", tern_conn_error_detail(s.conn));
  CHECK_EQ_INT(s.out_len[TERN_LEVEL_HANDSHAKE], fin_len);
  CHECK_MEM(s.out[TERN_LEVEL_HANDSHAKE], fin, fin_len);
  CHECK_EQ_INT(tern_conn_group(s.conn), hrr ? TERN_GROUP_SECP256R1 : TERN_GROUP_X25519);
  CHECK_EQ_INT(tern_conn_signature_scheme(s.conn), TERN_SIG_RSA_PSS_RSAE_SHA256);
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_WRITE, f, "client handshake traffic secret");
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_READ, f, "server handshake traffic secret");
  check_secret(&s, TERN_LEVEL_APPLICATION, TERN_WRITE, f, "client application traffic secret 0");
  check_secret(&s, TERN_LEVEL_APPLICATION, TERN_READ, f, "server application traffic secret 0");
  CHECK_EQ_INT(r.next, r.n);

  tern_conn_free(s.conn);
  for (int l = 0; l < 4; l++) free(s.out[l]);
  tern_config_free(cfg);
  free(ch1), free(ch2), free(k1), free(k2), free(fin);
}

static void test_server(const char *f, int hrr) {
  tern_config *cfg = tern_config_new(TERN_SERVER);
  const char *sh_label = hrr ? "server ServerHello message (step 11)"
                             : "server ServerHello message (step 06)";
  size_t sh_len, k_len, hrr_len = 0;
  uint8_t *sh = get(f, sh_label, &sh_len);
  uint8_t *hrr_msg = hrr ? get(f, "server ServerHello message (step 04)", &hrr_len) : NULL;
  uint8_t *k = get(f, hrr ? "server ephemeral P-256 private key" : "server ephemeral x25519 private key",
                   &k_len);
  replay r = {{sh + 6, k}, {32, k_len}, 2, 0};
  EVP_PKEY *key = rfc8448_rsa_key();
  X509 *cert = rfc8448_cert(f, hrr ? "server Certificate message (step 21)"
                                   : "server Certificate message (step 16)");
  qside s;

  memset(&s, 0, sizeof s);
  CHECK(key != NULL && cert != NULL);
  CHECK_EQ_INT(tern_config_set_cert(cfg, cert, NULL, key), TERN_OK);
  CHECK_EQ_INT(tern_config_set_random(cfg, replay_rng, &r), TERN_OK);
  if (hrr) {
    uint16_t g = TERN_GROUP_SECP256R1;
    CHECK_EQ_INT(tern_config_set_groups(cfg, &g, 1), TERN_OK);
  }
  s.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &s);
  tern_test_plain_tls(s.conn);
  if (hrr) {
    /* The trace's cookie: HRR = ... 002c (ext) len(2) cookie_len(2) cookie ... */
    const uint8_t *p = hrr_msg + 4 + 2 + 32 + 1 + 2 + 1 + 2;
    const uint8_t *end = hrr_msg + hrr_len;
    while (p + 4 <= end && !(p[0] == 0x00 && p[1] == 0x2c)) p += 4 + (p[2] << 8 | p[3]);
    CHECK(p + 6 <= end);
    CHECK_EQ_INT(tern_test_hrr_cookie(s.conn, p + 6, (size_t)(p[4] << 8 | p[5])), TERN_OK);
    CHECK_EQ_INT(give(&s, 0, f, "client ClientHello message (step 02)"), TERN_WANT_READ);
    CHECK_EQ_INT(s.out_len[TERN_LEVEL_INITIAL], hrr_len);
    CHECK_MEM(s.out[TERN_LEVEL_INITIAL], hrr_msg, hrr_len);
    s.out_len[TERN_LEVEL_INITIAL] = 0;
    CHECK_EQ_INT(give(&s, 0, f, "client ClientHello message (step 07)"), TERN_WANT_READ);
  } else {
    CHECK_EQ_INT(give(&s, 0, f, "client ClientHello message (step 02)"), TERN_WANT_READ);
  }
  if (s.out_len[TERN_LEVEL_INITIAL] != sh_len)
    fprintf(stderr, "  server: %s\n", tern_conn_error_detail(s.conn));
  CHECK_EQ_INT(s.out_len[TERN_LEVEL_INITIAL], sh_len);
  CHECK_MEM(s.out[TERN_LEVEL_INITIAL], sh, sh_len);
  CHECK(s.out_len[TERN_LEVEL_HANDSHAKE] > 0);
  CHECK_EQ_INT(tern_conn_signature_scheme(s.conn), TERN_SIG_RSA_PSS_RSAE_SHA256);
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_WRITE, f, "server handshake traffic secret");
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_READ, f, "client handshake traffic secret");
  CHECK_EQ_INT(r.next, r.n);

  tern_conn_free(s.conn);
  for (int l = 0; l < 4; l++) free(s.out[l]);
  tern_config_free(cfg);
  EVP_PKEY_free(key);
  X509_free(cert);
  free(sh), free(hrr_msg), free(k);
}

int main(void) {
  test_client("rfc8448_simple_1rtt.txt", 0);
  test_client("rfc8448_hrr.txt", 1);
  test_server("rfc8448_simple_1rtt.txt", 0);
  test_server("rfc8448_hrr.txt", 1);
  return check_report();
}
