/*
 * test_handshake.c - tern client <-> tern server in QUIC mode, in memory:
 * every cipher suite x group x signature scheme, HelloRetryRequest,
 * 1-byte fragments, and the failures each side must turn into its alert
 * (wrong host, untrusted chain, no common ALPN, tampered or reordered or
 * truncated messages, messages at the wrong level). Then the RFC 7919
 * groups (a share in the first ClientHello, or a HelloRetryRequest for
 * one; what the default configurations offer and pick; shares out of
 * range or of the wrong length in either direction: illegal_parameter)
 * and the CCM suites (AES-128-CCM negotiated; AES-128-CCM-8 never
 * offered nor picked in QUIC).
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "check.h"
#include "codec/msg.h"
#include "pki.h"
#include "qpair.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x0f, 0x00};
static const uint8_t server_tp[] = {0x00, 0x08, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02, 0x03, 0x04};

static const uint16_t suites[] = {TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_256_GCM_SHA384,
                                  TERN_TLS_CHACHA20_POLY1305_SHA256,
                                  TERN_TLS_AES_128_CCM_SHA256};
#define N_SUITES (sizeof suites / sizeof suites[0])
/* what a client offers in run_one: every suite (CCM_8 too, which QUIC leaves out) */
static const uint16_t all_suites[] = {TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_256_GCM_SHA384,
                                      TERN_TLS_CHACHA20_POLY1305_SHA256,
                                      TERN_TLS_AES_128_CCM_SHA256, TERN_TLS_AES_128_CCM_8_SHA256};
static const uint16_t groups[] = {TERN_GROUP_X25519, TERN_GROUP_X448, TERN_GROUP_SECP256R1,
                                  TERN_GROUP_SECP384R1, TERN_GROUP_SECP521R1};
static const uint16_t ffdhe_groups[] = {TERN_GROUP_FFDHE2048, TERN_GROUP_FFDHE3072,
                                        TERN_GROUP_FFDHE4096, TERN_GROUP_FFDHE6144,
                                        TERN_GROUP_FFDHE8192};

/* The signature schemes a key type can sign with. */
static size_t schemes_of(pki_key_type t, uint16_t *out) {
  switch (t) {
    case PKI_KEY_P256: out[0] = TERN_SIG_ECDSA_SECP256R1_SHA256; return 1;
    case PKI_KEY_P384: out[0] = TERN_SIG_ECDSA_SECP384R1_SHA384; return 1;
    case PKI_KEY_P521: out[0] = TERN_SIG_ECDSA_SECP521R1_SHA512; return 1;
    case PKI_KEY_RSA2048:
      out[0] = TERN_SIG_RSA_PSS_RSAE_SHA256;
      out[1] = TERN_SIG_RSA_PSS_RSAE_SHA384;
      out[2] = TERN_SIG_RSA_PSS_RSAE_SHA512;
      return 3;
    case PKI_KEY_RSA_PSS:
      out[0] = TERN_SIG_RSA_PSS_PSS_SHA256;
      out[1] = TERN_SIG_RSA_PSS_PSS_SHA384;
      out[2] = TERN_SIG_RSA_PSS_PSS_SHA512;
      return 3;
    case PKI_KEY_ED25519: out[0] = TERN_SIG_ED25519; return 1;
    case PKI_KEY_ED448: out[0] = TERN_SIG_ED448; return 1;
  }
  return 0;
}

static pki pkis[PKI_KEY_TYPES];
static pki rogue; /* a CA nobody trusts */
static X509_STORE *trust;

static tern_config *server_config(const pki *p) {
  static const char *const alpn[] = {"h3", "hq-interop"};
  tern_config *cfg = tern_config_new(TERN_SERVER);
  STACK_OF(X509) *chain = pki_chain(p);
  CHECK(cfg != NULL);
  CHECK_EQ_INT(tern_config_set_cert(cfg, p->leaf, chain, p->leaf_key), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 2), TERN_OK);
  return cfg;
}

static tern_config *client_config(void) {
  static const char *const alpn[] = {"hq-interop", "h3"};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  CHECK(cfg != NULL);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, trust), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 2), TERN_OK);
  return cfg;
}

/* Both sides agree on everything and on every secret. */
static void check_agreement(qpair *p, uint16_t suite, uint16_t group, uint16_t sig) {
  const uint8_t *tp;
  size_t tp_len;
  CHECK_EQ_INT(tern_conn_cipher_suite(p->c.conn), suite);
  CHECK_EQ_INT(tern_conn_cipher_suite(p->s.conn), suite);
  CHECK_EQ_INT(tern_conn_group(p->c.conn), group);
  CHECK_EQ_INT(tern_conn_group(p->s.conn), group);
  CHECK_EQ_INT(tern_conn_signature_scheme(p->c.conn), sig);
  CHECK_EQ_INT(tern_conn_signature_scheme(p->s.conn), sig);
  CHECK(tern_conn_alpn(p->c.conn) && strcmp(tern_conn_alpn(p->c.conn), "h3") == 0);
  CHECK(tern_conn_alpn(p->s.conn) && strcmp(tern_conn_alpn(p->s.conn), "h3") == 0);
  for (int lv = TERN_LEVEL_HANDSHAKE; lv <= TERN_LEVEL_APPLICATION; lv++) {
    size_t n = suite == TERN_TLS_AES_256_GCM_SHA384 ? 48 : 32;
    CHECK_EQ_INT(p->c.secret_len[lv][TERN_WRITE], n);
    CHECK_EQ_INT(p->s.secret_len[lv][TERN_READ], n);
    CHECK_EQ_INT(p->s.secret_len[lv][TERN_WRITE], n);
    CHECK_EQ_INT(p->c.secret_len[lv][TERN_READ], n);
    CHECK_MEM(p->c.secret[lv][TERN_WRITE], p->s.secret[lv][TERN_READ], n);
    CHECK_MEM(p->s.secret[lv][TERN_WRITE], p->c.secret[lv][TERN_READ], n);
    CHECK(memcmp(p->c.secret[lv][TERN_WRITE], p->c.secret[lv][TERN_READ], n) != 0);
  }
  /* No 0-RTT secret in a full handshake. */
  CHECK_EQ_INT(p->c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE], 0);
  /* Write before read at each level, on both sides. */
  CHECK_EQ_INT(p->c.n_order, 4);
  CHECK_EQ_INT(p->c.order[0], TERN_LEVEL_HANDSHAKE * 2 + TERN_WRITE);
  CHECK_EQ_INT(p->c.order[2], TERN_LEVEL_APPLICATION * 2 + TERN_WRITE);
  CHECK_EQ_INT(p->s.order[0], TERN_LEVEL_HANDSHAKE * 2 + TERN_WRITE);
  CHECK_EQ_INT(p->s.order[2], TERN_LEVEL_APPLICATION * 2 + TERN_WRITE);
  CHECK_EQ_INT(tern_quic_peer_transport_params(p->c.conn, &tp, &tp_len), TERN_OK);
  CHECK(tp_len == sizeof server_tp && memcmp(tp, server_tp, tp_len) == 0);
  CHECK_EQ_INT(tern_quic_peer_transport_params(p->s.conn, &tp, &tp_len), TERN_OK);
  CHECK(tp_len == sizeof client_tp && memcmp(tp, client_tp, tp_len) == 0);
}

static int run_one(uint16_t suite, uint16_t group, pki_key_type kt, uint16_t sig, size_t frag,
                   int hrr) {
  tern_config *scfg = server_config(&pkis[kt]), *ccfg = client_config();
  qpair p;
  int rc;
  CHECK_EQ_INT(tern_config_set_cipher_suites(scfg, &suite, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_cipher_suites(ccfg, all_suites, 5), TERN_OK);
  CHECK_EQ_INT(tern_config_set_groups(scfg, &group, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_signature_schemes(scfg, &sig, 1), TERN_OK);
  if (!hrr) CHECK_EQ_INT(tern_config_set_key_share_groups(ccfg, &group, 1), TERN_OK);
  else {
    uint16_t other = group == TERN_GROUP_X25519 ? TERN_GROUP_SECP256R1 : TERN_GROUP_X25519;
    CHECK_EQ_INT(tern_config_set_key_share_groups(ccfg, &other, 1), TERN_OK);
  }
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  p.frag = frag;
  rc = qpair_run(&p);
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK)
    fprintf(stderr, "  suite %04x group %04x sig %04x: client %s (alert %u) / server %s (alert %u)\n",
            suite, group, sig, tern_conn_error_detail(p.c.conn), tern_conn_alert(p.c.conn),
            tern_conn_error_detail(p.s.conn), tern_conn_alert(p.s.conn));
  else {
    check_agreement(&p, suite, group, sig);
    CHECK_EQ_INT(tern_conn_used_hrr(p.c.conn), hrr);
    CHECK_EQ_INT(tern_conn_used_hrr(p.s.conn), hrr);
    CHECK(strcmp(tern_conn_server_name(p.s.conn), "localhost") == 0);
  }
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
  return rc;
}

static void test_matrix(void) {
  int n = 0;
  for (size_t s = 0; s < N_SUITES; s++)
    for (size_t g = 0; g < 5; g++)
      for (int kt = 0; kt < PKI_KEY_TYPES; kt++) {
        uint16_t sig[3];
        size_t ns = schemes_of((pki_key_type)kt, sig);
        for (size_t i = 0; i < ns; i++) {
          run_one(suites[s], groups[g], (pki_key_type)kt, sig[i], 0, 0);
          n++;
        }
      }
  printf("matrix: %d full handshakes (%zu suites x 5 groups x 11 schemes)\n", n, N_SUITES);
}

static void test_hrr_and_fragments(void) {
  for (size_t g = 0; g < 5; g++)
    run_one(TERN_TLS_AES_128_GCM_SHA256, groups[g], PKI_KEY_P256,
            TERN_SIG_ECDSA_SECP256R1_SHA256, 0, 1);
  run_one(TERN_TLS_AES_256_GCM_SHA384, TERN_GROUP_SECP384R1, PKI_KEY_P384,
          TERN_SIG_ECDSA_SECP384R1_SHA384, 1, 1);
  for (size_t frag = 1; frag <= 7; frag += 3)
    run_one(TERN_TLS_CHACHA20_POLY1305_SHA256, TERN_GROUP_X25519, PKI_KEY_ED25519,
            TERN_SIG_ED25519, frag, 0);
}

/* ---- failures ---------------------------------------------------- */

/* Runs a default pair with a tweak applied, expects side `who` to fail
   with alert. */
typedef void (*tweak_fn)(tern_config *ccfg, tern_config *scfg, qpair *p);

static void expect_alert(const char *what, tweak_fn tweak, int client_fails, uint8_t alert) {
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  qpair p;
  int rc;
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  if (tweak) tweak(ccfg, scfg, &p);
  rc = qpair_run(&p);
  CHECK(rc == TERN_ERR_ALERT);
  {
    tern_conn *f = client_fails ? p.c.conn : p.s.conn;
    CHECK_EQ_INT(tern_conn_alert(f), alert);
    if (tern_conn_alert(f) != alert)
      fprintf(stderr, "  %s: got alert %u (%s): %s\n", what, tern_conn_alert(f),
              tern_alert_name(tern_conn_alert(f)), tern_conn_error_detail(f));
    CHECK(!tern_conn_handshake_done(p.c.conn));
    /* Failures are sticky. */
    CHECK_EQ_INT(tern_handshake(f), TERN_ERR_ALERT);
  }
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

static void wrong_host(tern_config *c, tern_config *s, qpair *p) {
  (void)c, (void)s;
  tern_conn_free(p->c.conn);
  p->c.conn = tern_conn_new_quic(c, &qpair_callbacks, &p->c);
  tern_quic_set_transport_params(p->c.conn, client_tp, sizeof client_tp);
  tern_conn_set_server_name(p->c.conn, "example.org");
}
static void untrusted(tern_config *c, tern_config *s, qpair *p) {
  X509_STORE *other = X509_STORE_new();
  (void)s, (void)p;
  X509_STORE_add_cert(other, rogue.ca);
  tern_config_set_trust_store(c, other);
  X509_STORE_free(other);
}
static void no_alpn_overlap(tern_config *c, tern_config *s, qpair *p) {
  static const char *const alpn[] = {"smtp"};
  (void)s, (void)p;
  tern_config_set_alpn(c, alpn, 1);
}
static void no_common_suite(tern_config *c, tern_config *s, qpair *p) {
  uint16_t a = TERN_TLS_AES_128_GCM_SHA256, b = TERN_TLS_CHACHA20_POLY1305_SHA256;
  (void)p;
  tern_config_set_cipher_suites(c, &a, 1);
  tern_config_set_cipher_suites(s, &b, 1);
}
static void no_common_sig(tern_config *c, tern_config *s, qpair *p) {
  uint16_t a = TERN_SIG_ED25519;
  (void)s, (void)p;
  tern_config_set_signature_schemes(c, &a, 1);
}
static void verify_rejects(tern_config *c, tern_config *s, qpair *p);
static int reject_all(tern_conn *c, int ok, int err, void *u) {
  (void)c, (void)ok, (void)err, (void)u;
  return 0;
}
static void verify_rejects(tern_config *c, tern_config *s, qpair *p) {
  (void)s, (void)p;
  tern_config_set_verify_callback(c, reject_all, NULL);
}

/* Runs a pair by hand so that the server's flight can be edited before
   the client sees it. */
typedef void (*edit_fn)(uint8_t *hs, size_t *len);

static void edit_flight(const char *what, edit_fn edit, uint8_t alert) {
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  qpair p;
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  CHECK_EQ_INT(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL), TERN_OK);
  CHECK(p.s.out_len[TERN_LEVEL_HANDSHAKE] > 0);
  CHECK_EQ_INT(qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_INITIAL), TERN_OK);
  edit(p.s.out[TERN_LEVEL_HANDSHAKE], &p.s.out_len[TERN_LEVEL_HANDSHAKE]);
  CHECK_EQ_INT(qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_HANDSHAKE), TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(p.c.conn), alert);
  if (tern_conn_alert(p.c.conn) != alert)
    fprintf(stderr, "  %s: got alert %u: %s\n", what, tern_conn_alert(p.c.conn),
            tern_conn_error_detail(p.c.conn));
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

/* The server's HANDSHAKE flight is EE, Certificate, CertificateVerify,
   Finished; these find message i. */
static size_t msg_at(const uint8_t *hs, size_t len, int i, size_t *mlen) {
  size_t off = 0;
  for (;;) {
    size_t n = 4 + ((size_t)hs[off + 1] << 16 | (size_t)hs[off + 2] << 8 | hs[off + 3]);
    if (i-- == 0 || off + n >= len) {
      *mlen = n;
      return off;
    }
    off += n;
  }
}
static void flip_cv_sig(uint8_t *hs, size_t *len) {
  size_t n, off = msg_at(hs, *len, 2, &n);
  hs[off + n - 5] ^= 1;
}
static void flip_finished(uint8_t *hs, size_t *len) {
  size_t n, off = msg_at(hs, *len, 3, &n);
  hs[off + n - 1] ^= 0x80;
}
static void drop_cert(uint8_t *hs, size_t *len) {
  size_t n, off = msg_at(hs, *len, 1, &n);
  memmove(hs + off, hs + off + n, *len - off - n);
  *len -= n;
}
static void drop_ee(uint8_t *hs, size_t *len) {
  size_t n, off = msg_at(hs, *len, 0, &n);
  memmove(hs + off, hs + off + n, *len - off - n);
  *len -= n;
}
static void swap_cv_fin(uint8_t *hs, size_t *len) {
  size_t n2, o2 = msg_at(hs, *len, 2, &n2), n3, o3 = msg_at(hs, *len, 3, &n3);
  uint8_t tmp[4096];
  memcpy(tmp, hs + o3, n3);
  memmove(hs + o2 + n3, hs + o2, n2);
  memcpy(hs + o2, tmp, n3);
}
static void dup_ee(uint8_t *hs, size_t *len) {
  size_t n, off = msg_at(hs, *len, 0, &n);
  memmove(hs + off + n, hs + off, *len);
  *len += n;
}
static void truncate_ee(uint8_t *hs, size_t *len) {
  /* EE claims one byte less than it has: the rest becomes garbage */
  hs[3] = (uint8_t)(hs[3] - 1);
  (void)len;
}
static void oversize_cert(uint8_t *hs, size_t *len) {
  size_t n, off = msg_at(hs, *len, 1, &n);
  hs[off + 1] = 0x7f; /* an 8 MB Certificate: over the cap */
}
static void unknown_type(uint8_t *hs, size_t *len) {
  (void)len;
  hs[0] = 99;
}
static void nst_at_handshake(uint8_t *hs, size_t *len) {
  (void)len;
  hs[0] = 4;
}

static void test_failures(void) {
  expect_alert("wrong host", wrong_host, 1, TERN_ALERT_BAD_CERTIFICATE);
  expect_alert("untrusted chain", untrusted, 1, TERN_ALERT_UNKNOWN_CA);
  expect_alert("verify callback", verify_rejects, 1, TERN_ALERT_BAD_CERTIFICATE);
  expect_alert("no ALPN overlap", no_alpn_overlap, 0, TERN_ALERT_NO_APPLICATION_PROTOCOL);
  expect_alert("no common suite", no_common_suite, 0, TERN_ALERT_HANDSHAKE_FAILURE);
  expect_alert("no common signature scheme", no_common_sig, 0, TERN_ALERT_HANDSHAKE_FAILURE);

  edit_flight("bad CertificateVerify", flip_cv_sig, TERN_ALERT_DECRYPT_ERROR);
  edit_flight("bad Finished", flip_finished, TERN_ALERT_DECRYPT_ERROR);
  edit_flight("no Certificate", drop_cert, TERN_ALERT_UNEXPECTED_MESSAGE);
  edit_flight("no EncryptedExtensions", drop_ee, TERN_ALERT_UNEXPECTED_MESSAGE);
  edit_flight("Finished before CertificateVerify", swap_cv_fin, TERN_ALERT_UNEXPECTED_MESSAGE);
  edit_flight("EncryptedExtensions twice", dup_ee, TERN_ALERT_UNEXPECTED_MESSAGE);
  edit_flight("truncated EncryptedExtensions", truncate_ee, TERN_ALERT_DECODE_ERROR);
  edit_flight("oversized Certificate", oversize_cert, TERN_ALERT_ILLEGAL_PARAMETER);
  edit_flight("unknown message type", unknown_type, TERN_ALERT_UNEXPECTED_MESSAGE);
  edit_flight("NewSessionTicket in the handshake", nst_at_handshake,
              TERN_ALERT_UNEXPECTED_MESSAGE);
}

/*
 * Every wrong next message, generated: after each prefix of the server's
 * HANDSHAKE flight (EE, Certificate, CertificateVerify, Finished), each
 * message the client machine has no transition for at that point (the
 * flight's other messages, a CertificateRequest anywhere but after EE, a
 * NewSessionTicket, a KeyUpdate) must end the handshake with
 * unexpected_message.
 */
static void test_generated_order(void) {
  static const uint8_t cr[] = {13, 0, 0, 11, 0, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3};
  static const uint8_t nst[] = {4, 0, 0, 13, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 7, 0, 0};
  static const uint8_t ku[] = {24, 0, 0, 1, 0};
  int cases = 0;
  for (int prefix = 0; prefix < 4; prefix++) {
    for (int wrong = 0; wrong < 7; wrong++) {
      tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
      qpair p;
      uint8_t flight[8192];
      size_t len, off[4], n[4];
      const uint8_t *bad;
      size_t bad_len;
      int rc = TERN_OK;
      if (wrong == prefix) goto next; /* that is the right message */
      if (wrong == 4 && prefix == 1) goto next; /* CR is right after EE */
      CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                              sizeof server_tp), 0);
      CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
      CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
      CHECK_EQ_INT(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL), TERN_OK);
      CHECK_EQ_INT(qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_INITIAL), TERN_OK);
      len = p.s.out_len[TERN_LEVEL_HANDSHAKE];
      CHECK(len < sizeof flight);
      memcpy(flight, p.s.out[TERN_LEVEL_HANDSHAKE], len);
      p.s.out_len[TERN_LEVEL_HANDSHAKE] = 0;
      for (int i = 0; i < 4; i++) off[i] = msg_at(flight, len, i, &n[i]);
      if (prefix > 0)
        rc = tern_quic_provide_data(p.c.conn, TERN_LEVEL_HANDSHAKE, flight, off[prefix]);
      if (rc == TERN_OK) rc = tern_handshake(p.c.conn);
      CHECK_EQ_INT(rc, TERN_WANT_READ);
      if (wrong < 4) {
        bad = flight + off[wrong];
        bad_len = n[wrong];
      } else if (wrong == 4) {
        bad = cr, bad_len = sizeof cr;
      } else if (wrong == 5) {
        bad = nst, bad_len = sizeof nst;
      } else {
        bad = ku, bad_len = sizeof ku;
      }
      rc = tern_quic_provide_data(p.c.conn, TERN_LEVEL_HANDSHAKE, bad, bad_len);
      if (rc == TERN_OK) rc = tern_handshake(p.c.conn);
      CHECK_EQ_INT(rc, TERN_ERR_ALERT);
      CHECK_EQ_INT(tern_conn_alert(p.c.conn), TERN_ALERT_UNEXPECTED_MESSAGE);
      if (tern_conn_alert(p.c.conn) != TERN_ALERT_UNEXPECTED_MESSAGE)
        fprintf(stderr, "  after %d messages, message %d: %s\n", prefix, wrong,
                tern_conn_error_detail(p.c.conn));
      cases++;
      qpair_free(&p);
    next:
      tern_config_free(scfg);
      tern_config_free(ccfg);
    }
  }
  printf("generated wrong-order cases: %d, each unexpected_message\n", cases);
}

/* A keylog callback sees each secret once, in NSS key log format. */
static char keylog_lines[8][256];
static int n_keylog;
static void on_keylog(const tern_conn *c, const char *line, void *user) {
  (void)c, (void)user;
  if (n_keylog < 8) snprintf(keylog_lines[n_keylog++], sizeof keylog_lines[0], "%s", line);
}

static void test_keylog(void) {
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  static const char *const labels[] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                                       "SERVER_HANDSHAKE_TRAFFIC_SECRET", "EXPORTER_SECRET",
                                       "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"};
  qpair p;
  n_keylog = 0;
  CHECK_EQ_INT(tern_config_set_keylog(ccfg, on_keylog, NULL), TERN_OK);
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  CHECK_EQ_INT(qpair_run(&p), TERN_OK);
  CHECK_EQ_INT(n_keylog, 5);
  for (size_t i = 0; i < 5; i++) {
    int found = 0;
    for (int j = 0; j < n_keylog; j++) {
      size_t ll = strlen(labels[i]);
      if (strncmp(keylog_lines[j], labels[i], ll) != 0 || keylog_lines[j][ll] != ' ') continue;
      found = 1;
      /* "LABEL <64 hex client random> <64 hex secret>" */
      CHECK_EQ_INT(strlen(keylog_lines[j]), ll + 1 + 64 + 1 + 64);
      if (i == 0 || i == 3) {
        int lv = i == 0 ? TERN_LEVEL_HANDSHAKE : TERN_LEVEL_APPLICATION;
        char hexs[65];
        for (int k = 0; k < 32; k++)
          snprintf(hexs + 2 * k, 3, "%02x", p.c.secret[lv][TERN_WRITE][k]);
        CHECK(strcmp(keylog_lines[j] + ll + 1 + 64 + 1, hexs) == 0);
      }
    }
    CHECK(found);
  }
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

/* Bytes at a level the engine does not expect, and 0-RTT CRYPTO data. */
static void test_wrong_levels(void) {
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  qpair p;
  static const uint8_t junk[] = {2, 0, 0, 1, 0};
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  CHECK_EQ_INT(tern_quic_provide_data(p.s.conn, TERN_LEVEL_EARLY, junk, sizeof junk),
               TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(p.s.conn), TERN_ALERT_UNEXPECTED_MESSAGE);
  /* A ServerHello-looking message at HANDSHAKE before any key exists is
     only looked at once the level is reached: then it is unexpected. */
  CHECK_EQ_INT(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL), TERN_ERR_ALERT);
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);

  /* Garbage instead of a ClientHello, at every length. */
  for (size_t n = 1; n < 64; n++) {
    uint8_t g[64];
    tern_conn *s;
    scfg = server_config(&pkis[PKI_KEY_P256]);
    s = tern_conn_new_quic(scfg, &qpair_callbacks, NULL);
    tern_quic_set_transport_params(s, server_tp, sizeof server_tp);
    for (size_t i = 0; i < n; i++) g[i] = (uint8_t)(i * 37 + n);
    g[0] = 1;
    if (n >= 4) {
      g[1] = 0;
      g[2] = 0;
      g[3] = (uint8_t)(n - 4);
    }
    CHECK(tern_quic_provide_data(s, TERN_LEVEL_INITIAL, g, n) == TERN_OK);
    {
      int rc = tern_handshake(s);
      CHECK(rc == TERN_WANT_READ || rc == TERN_ERR_ALERT);
      if (n >= 4) CHECK_EQ_INT(tern_conn_alert(s), TERN_ALERT_DECODE_ERROR);
    }
    tern_conn_free(s);
    tern_config_free(scfg);
  }
}

/* Every byte of the client's first flight flipped in turn: the server
   fails cleanly or (for bytes it may ignore) goes on. */
static void test_mutated_client_hello(void) {
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  qpair p;
  uint8_t ch[2048];
  size_t ch_len;
  int failures = 0;
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  ch_len = p.c.out_len[TERN_LEVEL_INITIAL];
  CHECK(ch_len > 100 && ch_len < sizeof ch);
  memcpy(ch, p.c.out[TERN_LEVEL_INITIAL], ch_len);
  qpair_free(&p);
  for (size_t i = 0; i < ch_len; i++) {
    tern_conn *s;
    qside side;
    int rc;
    memset(&side, 0, sizeof side);
    s = tern_conn_new_quic(scfg, &qpair_callbacks, &side);
    side.conn = s;
    tern_quic_set_transport_params(s, server_tp, sizeof server_tp);
    ch[i] ^= 0x41;
    tern_quic_provide_data(s, TERN_LEVEL_INITIAL, ch, ch_len);
    rc = tern_handshake(s);
    CHECK(rc == TERN_WANT_READ || rc == TERN_ERR_ALERT);
    if (rc == TERN_ERR_ALERT) {
      failures++;
      CHECK(tern_conn_alert(s) != 0);
    }
    ch[i] ^= 0x41;
    tern_conn_free(s);
    for (int l = 0; l < 4; l++) free(side.out[l]);
  }
  printf("mutated ClientHello: %d of %zu single-byte changes rejected, none crashed\n", failures,
         ch_len);
  /* the 1184 bytes of the ML-KEM-768 key in the hybrid share are any
     value below q per 12 bits: most of their mutations are valid keys */
  CHECK(failures > (int)(ch_len - 1184) / 4);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

/* ---- RFC 7919 groups and the CCM suites ----------------------------- */

/* Every FFDHE group with its share in the first ClientHello and through
   a HelloRetryRequest, in two suites; the largest also in 7-byte pieces. */
static void test_ffdhe(void) {
  int n = 0;
  for (size_t g = 0; g < 5; g++)
    for (int hrr = 0; hrr < 2; hrr++) {
      run_one(hrr ? TERN_TLS_AES_128_CCM_SHA256 : TERN_TLS_AES_128_GCM_SHA256, ffdhe_groups[g],
              PKI_KEY_P256, TERN_SIG_ECDSA_SECP256R1_SHA256, 0, hrr);
      n++;
    }
  run_one(TERN_TLS_AES_256_GCM_SHA384, TERN_GROUP_FFDHE8192, PKI_KEY_ED25519, TERN_SIG_ED25519,
          7, 0);
  run_one(TERN_TLS_CHACHA20_POLY1305_SHA256, TERN_GROUP_FFDHE3072, PKI_KEY_RSA2048,
          TERN_SIG_RSA_PSS_RSAE_SHA256, 0, 1);
  printf("ffdhe: %d handshakes, 5 groups with and without HelloRetryRequest, and 2 more\n",
         n + 2);
}

/* Parses a handshake message (4-byte header) of type 1 or 2. */
static int parse_ch(const uint8_t *m, size_t len, tern_client_hello *ch) {
  uint8_t alert = 0;
  if (len < 4 || m[0] != 1) return -1;
  return tern_msg_parse_client_hello(m + 4, len - 4, ch, &alert);
}

/*
 * What the default configurations do: the client offers the three
 * default suites, every group with FFDHE after the curves, and an X25519
 * share only; a default server answers a client that offers only FFDHE
 * groups with the one it sent a share for, and one whose share is for a
 * group the server lacks with a HelloRetryRequest for FFDHE.
 */
static void test_ffdhe_defaults(void) {
  static const uint16_t want_groups[] = {
      TERN_GROUP_X25519MLKEM768, TERN_GROUP_SECP256R1MLKEM768, TERN_GROUP_SECP384R1MLKEM1024,
      TERN_GROUP_X25519,    TERN_GROUP_SECP256R1, TERN_GROUP_X448,       TERN_GROUP_SECP384R1,
      TERN_GROUP_SECP521R1, TERN_GROUP_FFDHE2048, TERN_GROUP_FFDHE3072,  TERN_GROUP_FFDHE4096,
      TERN_GROUP_FFDHE6144, TERN_GROUP_FFDHE8192};
  static const uint16_t want_suites[] = {TERN_TLS_AES_128_GCM_SHA256,
                                         TERN_TLS_CHACHA20_POLY1305_SHA256,
                                         TERN_TLS_AES_256_GCM_SHA384};
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  tern_client_hello *ch = malloc(sizeof *ch);
  qpair p;

  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  CHECK_EQ_INT(parse_ch(p.c.out[TERN_LEVEL_INITIAL], p.c.out_len[TERN_LEVEL_INITIAL], ch),
               TERN_OK);
  CHECK_EQ_INT(ch->ext.supported_groups.n, 13);
  for (size_t i = 0; i < 13 && i < ch->ext.supported_groups.n; i++)
    CHECK_EQ_INT(ch->ext.supported_groups.v[i], want_groups[i]);
  /* two shares, as Chromium sends them: the hybrid, then X25519 */
  CHECK_EQ_INT(ch->ext.key_share_count, 2);
  CHECK_EQ_INT(ch->ext.key_shares[0].group, TERN_GROUP_X25519MLKEM768);
  CHECK_EQ_INT(ch->ext.key_shares[0].key_exchange.len, 1216);
  CHECK_EQ_INT(ch->ext.key_shares[1].group, TERN_GROUP_X25519);
  CHECK_EQ_INT(ch->cipher_suites.n, 3);
  for (size_t i = 0; i < 3 && i < ch->cipher_suites.n; i++)
    CHECK_EQ_INT(ch->cipher_suites.v[i], want_suites[i]);
  CHECK_EQ_INT(qpair_run(&p), TERN_OK);
  CHECK_EQ_INT(tern_conn_group(p.s.conn), TERN_GROUP_X25519MLKEM768);
  CHECK_EQ_INT(tern_conn_group(p.c.conn), TERN_GROUP_X25519MLKEM768);
  CHECK(strcmp(tern_conn_group_name(p.c.conn), "X25519MLKEM768") == 0);
  qpair_free(&p);
  tern_config_free(ccfg);

  /* a client of FFDHE groups only (its share for the first): no HRR */
  {
    static const uint16_t mine[] = {TERN_GROUP_FFDHE3072, TERN_GROUP_FFDHE2048};
    ccfg = client_config();
    CHECK_EQ_INT(tern_config_set_groups(ccfg, mine, 2), TERN_OK);
    CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
    CHECK_EQ_INT(qpair_run(&p), TERN_OK);
    CHECK_EQ_INT(tern_conn_group(p.s.conn), TERN_GROUP_FFDHE3072);
    CHECK_EQ_INT(tern_conn_group(p.c.conn), TERN_GROUP_FFDHE3072);
    CHECK_EQ_INT(tern_conn_used_hrr(p.s.conn), 0);
    qpair_free(&p);
    tern_config_free(ccfg);
  }
  /* FFDHE groups and X448 supported, a share for X448, which the server
     lacks: it asks for its first FFDHE group the client supports */
  {
    static const uint16_t mine[] = {TERN_GROUP_X448, TERN_GROUP_FFDHE8192, TERN_GROUP_FFDHE4096};
    static const uint16_t theirs[] = {TERN_GROUP_X25519, TERN_GROUP_FFDHE4096,
                                      TERN_GROUP_FFDHE8192};
    tern_config *s2 = server_config(&pkis[PKI_KEY_P256]);
    ccfg = client_config();
    CHECK_EQ_INT(tern_config_set_groups(ccfg, mine, 3), TERN_OK);
    CHECK_EQ_INT(tern_config_set_groups(s2, theirs, 3), TERN_OK);
    CHECK_EQ_INT(qpair_init(&p, ccfg, s2, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
    CHECK_EQ_INT(qpair_run(&p), TERN_OK);
    CHECK_EQ_INT(tern_conn_group(p.s.conn), TERN_GROUP_FFDHE4096);
    CHECK_EQ_INT(tern_conn_group(p.c.conn), TERN_GROUP_FFDHE4096);
    CHECK_EQ_INT(tern_conn_used_hrr(p.c.conn), 1);
    qpair_free(&p);
    tern_config_free(ccfg);
    tern_config_free(s2);
  }
  /* four FFDHE shares and 4000 bytes of transport parameters: a
     ClientHello of about 7 KB; the server takes its first shared group */
  {
    static const uint16_t four[] = {TERN_GROUP_FFDHE8192, TERN_GROUP_FFDHE6144,
                                    TERN_GROUP_FFDHE4096, TERN_GROUP_FFDHE3072};
    uint8_t *big_tp = calloc(1, 4000);
    big_tp[0] = 0x3f; /* a reserved parameter id, then a 2-byte length */
    big_tp[1] = 0x4f;
    big_tp[2] = 0x9c;
    ccfg = client_config();
    CHECK_EQ_INT(tern_config_set_groups(ccfg, four, 4), TERN_OK);
    CHECK_EQ_INT(tern_config_set_key_share_groups(ccfg, four, 4), TERN_OK);
    CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, big_tp, 4000, server_tp, sizeof server_tp), 0);
    CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
    CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
    CHECK(p.c.out_len[0] > 4000 + 1024 + 768 + 512 + 384);
    CHECK_EQ_INT(qpair_run(&p), TERN_OK);
    CHECK_EQ_INT(tern_conn_group(p.s.conn), TERN_GROUP_FFDHE3072);
    CHECK_EQ_INT(tern_conn_used_hrr(p.s.conn), 0);
    qpair_free(&p);
    tern_config_free(ccfg);
    free(big_tp);
  }
  free(ch);
  tern_config_free(scfg);
}

/* The prime p of an FFDHE group, from libcrypto's named group. */
static BIGNUM *ffdhe_prime(const char *name) {
  OSSL_PARAM params[2];
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
  EVP_PKEY *k = NULL;
  BIGNUM *p = NULL;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)name, 0);
  params[1] = OSSL_PARAM_construct_end();
  if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
      EVP_PKEY_fromdata(pctx, &k, EVP_PKEY_KEY_PARAMETERS, params) != 1 ||
      EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_FFC_P, &p) != 1)
    abort();
  EVP_PKEY_free(k);
  EVP_PKEY_CTX_free(pctx);
  return p;
}

/* The bad shares: Y = 0, 1, p - 1, and a valid-looking one a byte short
   or long (len_delta); value -1 keeps the share's bytes. */
typedef struct bad_share {
  const char *what;
  int value;      /* 0, 1, or 2 for p - 1; -1: unchanged */
  int len_delta;  /* -1, 0, +1 */
} bad_share;
static const bad_share bad_shares[] = {
    {"Y = 0", 0, 0},  {"Y = 1", 1, 0}, {"Y = p - 1", 2, 0},
    {"one byte short", -1, -1}, {"one byte long", -1, 1},
};

/* Writes the bad value into share[0..len) (already the right length). */
static void set_bad_value(uint8_t *share, size_t len, int value, const BIGNUM *p) {
  if (value < 0) return;
  memset(share, 0, len);
  if (value < 2) {
    share[len - 1] = (uint8_t)value;
  } else {
    BIGNUM *pm1 = BN_dup(p);
    BN_sub_word(pm1, 1);
    BN_bn2binpad(pm1, share, (int)len);
    BN_free(pm1);
  }
}

/*
 * A server given a ClientHello whose ffdhe2048 share is out of range or
 * of the wrong length fails with illegal_parameter (RFC 8446 §4.2.8.1,
 * RFC 7919 §5.1); the ClientHello is rewritten through the codec, which
 * first must reproduce the original byte for byte.
 */
static void test_ffdhe_bad_client_share(const bad_share *b, const BIGNUM *p) {
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  uint16_t g = TERN_GROUP_FFDHE2048;
  tern_client_hello *ch = malloc(sizeof *ch);
  uint8_t share[257], *out = malloc(4096);
  size_t out_len = 0;
  qpair pr;
  CHECK_EQ_INT(tern_config_set_groups(ccfg, &g, 1), TERN_OK);
  CHECK_EQ_INT(qpair_init(&pr, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(pr.c.conn, "localhost"), TERN_OK);
  CHECK_EQ_INT(tern_handshake(pr.c.conn), TERN_WANT_READ);
  CHECK_EQ_INT(parse_ch(pr.c.out[0], pr.c.out_len[0], ch), TERN_OK);
  CHECK_EQ_INT(ch->ext.n_key_shares, 1);
  CHECK_EQ_INT(ch->ext.key_shares[0].key_exchange.len, 256);
  /* the codec writes the parsed ClientHello back unchanged */
  CHECK_EQ_INT(tern_msg_write_client_hello(ch, out, 4096, &out_len, NULL), TERN_OK);
  CHECK(out_len == pr.c.out_len[0] && memcmp(out, pr.c.out[0], out_len) == 0);
  memcpy(share, ch->ext.key_shares[0].key_exchange.p, 256);
  share[256] = 0x5a;
  set_bad_value(share, 256, b->value, p);
  ch->ext.key_shares[0].key_exchange.p = share;
  ch->ext.key_shares[0].key_exchange.len = (size_t)(256 + b->len_delta);
  ch->ext.key_shares_raw.p = NULL; /* write from key_shares[] */
  CHECK_EQ_INT(tern_msg_write_client_hello(ch, out, 4096, &out_len, NULL), TERN_OK);
  free(pr.c.out[0]);
  pr.c.out[0] = out;
  pr.c.out_len[0] = pr.c.out_cap[0] = out_len;
  CHECK_EQ_INT(qpair_run(&pr), TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(pr.s.conn), TERN_ALERT_ILLEGAL_PARAMETER);
  if (tern_conn_alert(pr.s.conn) != TERN_ALERT_ILLEGAL_PARAMETER)
    fprintf(stderr, "  client share %s: alert %u: %s\n", b->what, tern_conn_alert(pr.s.conn),
            tern_conn_error_detail(pr.s.conn));
  CHECK(!tern_conn_handshake_done(pr.s.conn));
  qpair_free(&pr);
  free(ch);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

/* A server that sets its transport parameters late, from the set_secret
   callback of its Handshake write secret (as the ngtcp2 backend does once
   the client's parameters settled the version): the client gets them;
   once EncryptedExtensions is written they can no longer change. */
static int late_tp_calls, late_tp_after;
static int late_tp_secret(tern_conn *c, tern_level level, tern_direction dir, uint16_t suite,
                          const uint8_t *secret, size_t len) {
  if (level == TERN_LEVEL_HANDSHAKE && dir == TERN_WRITE) {
    const uint8_t *peer;
    size_t peer_len;
    late_tp_calls++;
    /* the client's parameters are known by now */
    CHECK_EQ_INT(tern_quic_peer_transport_params(c, &peer, &peer_len), TERN_OK);
    CHECK(peer_len == sizeof client_tp && memcmp(peer, client_tp, peer_len) == 0);
    CHECK_EQ_INT(tern_quic_set_transport_params(c, server_tp, sizeof server_tp), TERN_OK);
  }
  if (level == TERN_LEVEL_APPLICATION && dir == TERN_WRITE)
    late_tp_after = tern_quic_set_transport_params(c, server_tp, 2);
  return qpair_callbacks.set_secret(c, level, dir, suite, secret, len);
}

static void test_late_server_tp(void) {
  static const tern_quic_callbacks cb = {late_tp_secret, NULL};
  tern_quic_callbacks both = cb;
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  static const uint8_t placeholder[] = {0x0f, 0x00};
  qpair p;
  const uint8_t *got;
  size_t got_len;
  both.send_data = qpair_callbacks.send_data;
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, placeholder,
                          sizeof placeholder), 0);
  /* the server again, with the late-setting callbacks and no parameters yet */
  tern_conn_free(p.s.conn);
  p.s.conn = tern_conn_new_quic(scfg, &both, &p.s);
  CHECK_EQ_INT(qpair_run(&p), TERN_OK);
  CHECK_EQ_INT(late_tp_calls, 1);
  CHECK_EQ_INT(tern_quic_peer_transport_params(p.c.conn, &got, &got_len), TERN_OK);
  CHECK(got_len == sizeof server_tp && memcmp(got, server_tp, got_len) == 0);
  CHECK_EQ_INT(late_tp_after, TERN_ERR_STATE);
  CHECK_EQ_INT(tern_quic_set_transport_params(p.s.conn, server_tp, 2), TERN_ERR_STATE);
  /* a client cannot once its ClientHello is out */
  CHECK_EQ_INT(tern_quic_set_transport_params(p.c.conn, client_tp, 2), TERN_ERR_STATE);
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

/*
 * A client given a ServerHello whose ffdhe2048 share is 0, 1 or p - 1
 * fails with illegal_parameter; the share is overwritten in place.
 */
static void test_ffdhe_bad_server_share(const bad_share *b, const BIGNUM *p) {
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  uint16_t g = TERN_GROUP_FFDHE2048;
  tern_server_hello *sh = malloc(sizeof *sh);
  uint8_t alert = 0;
  qpair pr;
  CHECK_EQ_INT(tern_config_set_groups(ccfg, &g, 1), TERN_OK);
  CHECK_EQ_INT(qpair_init(&pr, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(pr.c.conn, "localhost"), TERN_OK);
  CHECK_EQ_INT(tern_handshake(pr.c.conn), TERN_WANT_READ);
  CHECK_EQ_INT(qpair_deliver(&pr, &pr.c, &pr.s, TERN_LEVEL_INITIAL), TERN_OK);
  CHECK(pr.s.out_len[0] > 4);
  CHECK_EQ_INT(tern_msg_parse_server_hello(pr.s.out[0] + 4, pr.s.out_len[0] - 4, sh, &alert),
               TERN_OK);
  CHECK_EQ_INT(sh->ext.key_shares[0].group, TERN_GROUP_FFDHE2048);
  CHECK_EQ_INT(sh->ext.key_shares[0].key_exchange.len, 256);
  set_bad_value(pr.s.out[0] + (sh->ext.key_shares[0].key_exchange.p - pr.s.out[0]), 256,
                b->value, p);
  CHECK_EQ_INT(qpair_deliver(&pr, &pr.s, &pr.c, TERN_LEVEL_INITIAL), TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(pr.c.conn), TERN_ALERT_ILLEGAL_PARAMETER);
  qpair_free(&pr);
  free(sh);
  tern_config_free(scfg);
  tern_config_free(ccfg);
}

static void test_ffdhe_bad_shares(void) {
  BIGNUM *p = ffdhe_prime("ffdhe2048");
  for (size_t i = 0; i < sizeof bad_shares / sizeof bad_shares[0]; i++) {
    test_ffdhe_bad_client_share(&bad_shares[i], p);
    if (bad_shares[i].len_delta == 0) test_ffdhe_bad_server_share(&bad_shares[i], p);
  }
  BN_free(p);
}

/*
 * RFC 9001 §5.3: TLS_AES_128_CCM_8_SHA256 is never negotiated in QUIC.
 * A client leaves it out of its ClientHello, and one with nothing else
 * fails at once; a server never picks it, even first in its list and
 * offered; a ServerHello that selects it is refused by the client.
 */
static void test_ccm8_never_in_quic(void) {
  static const uint16_t ccm8_first[] = {TERN_TLS_AES_128_CCM_8_SHA256,
                                        TERN_TLS_AES_128_CCM_SHA256};
  uint16_t ccm8 = TERN_TLS_AES_128_CCM_8_SHA256;
  tern_client_hello *ch = malloc(sizeof *ch);
  tern_config *scfg, *ccfg;
  qpair p;

  /* the client offers CCM but not CCM_8 */
  scfg = server_config(&pkis[PKI_KEY_P256]);
  ccfg = client_config();
  CHECK_EQ_INT(tern_config_set_cipher_suites(ccfg, ccm8_first, 2), TERN_OK);
  CHECK_EQ_INT(tern_config_set_cipher_suites(scfg, ccm8_first, 2), TERN_OK);
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  CHECK_EQ_INT(parse_ch(p.c.out[0], p.c.out_len[0], ch), TERN_OK);
  CHECK_EQ_INT(ch->cipher_suites.n, 1);
  CHECK_EQ_INT(ch->cipher_suites.v[0], TERN_TLS_AES_128_CCM_SHA256);
  CHECK_EQ_INT(qpair_run(&p), TERN_OK);
  CHECK_EQ_INT(tern_conn_cipher_suite(p.c.conn), TERN_TLS_AES_128_CCM_SHA256);
  CHECK_EQ_INT(tern_conn_cipher_suite(p.s.conn), TERN_TLS_AES_128_CCM_SHA256);
  qpair_free(&p);
  tern_config_free(ccfg);

  /* a client with CCM_8 alone has nothing to offer */
  ccfg = client_config();
  CHECK_EQ_INT(tern_config_set_cipher_suites(ccfg, &ccm8, 1), TERN_OK);
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(p.c.conn), TERN_ALERT_HANDSHAKE_FAILURE);
  CHECK(strstr(tern_conn_error_detail(p.c.conn), "RFC 9001") != NULL);
  CHECK_EQ_INT(p.c.out_len[0], 0);
  qpair_free(&p);
  tern_config_free(ccfg);

  /* a ClientHello that offers CCM_8 (patched in place of ChaCha20):
     the server passes over it to AES-128-GCM, or fails with CCM_8 only */
  for (int only = 0; only < 2; only++) {
    static const uint16_t offer[] = {TERN_TLS_CHACHA20_POLY1305_SHA256,
                                     TERN_TLS_AES_128_GCM_SHA256};
    static const uint16_t take[] = {TERN_TLS_AES_128_CCM_8_SHA256, TERN_TLS_AES_128_GCM_SHA256};
    tern_config *s2 = server_config(&pkis[PKI_KEY_P256]);
    uint8_t *m;
    ccfg = client_config();
    CHECK_EQ_INT(tern_config_set_cipher_suites(ccfg, offer, 2), TERN_OK);
    CHECK_EQ_INT(tern_config_set_cipher_suites(s2, take, only ? 1 : 2), TERN_OK);
    CHECK_EQ_INT(qpair_init(&p, ccfg, s2, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
    CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
    CHECK_EQ_INT(parse_ch(p.c.out[0], p.c.out_len[0], ch), TERN_OK);
    m = (uint8_t *)ch->cipher_suites.raw.p;
    CHECK(m != NULL && m[0] == 0x13 && m[1] == 0x03);
    m[1] = 0x05;
    CHECK_EQ_INT(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL), only ? TERN_ERR_ALERT : TERN_OK);
    if (only) {
      CHECK_EQ_INT(tern_conn_alert(p.s.conn), TERN_ALERT_HANDSHAKE_FAILURE);
    } else {
      CHECK_EQ_INT(tern_conn_cipher_suite(p.s.conn), TERN_TLS_AES_128_GCM_SHA256);
    }
    qpair_free(&p);
    tern_config_free(ccfg);
    tern_config_free(s2);
  }

  /* a ServerHello that selects CCM_8 (patched): illegal_parameter */
  {
    static const uint16_t both[] = {TERN_TLS_AES_128_CCM_SHA256, TERN_TLS_AES_128_CCM_8_SHA256};
    tern_server_hello *sh = malloc(sizeof *sh);
    uint8_t alert = 0, *cs;
    ccfg = client_config();
    CHECK_EQ_INT(tern_config_set_cipher_suites(ccfg, both, 2), TERN_OK);
    CHECK_EQ_INT(tern_config_set_cipher_suites(scfg, both, 1), TERN_OK);
    CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
    CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
    CHECK_EQ_INT(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL), TERN_OK);
    CHECK_EQ_INT(tern_msg_parse_server_hello(p.s.out[0] + 4, p.s.out_len[0] - 4, sh, &alert),
                 TERN_OK);
    CHECK_EQ_INT(sh->cipher_suite, TERN_TLS_AES_128_CCM_SHA256);
    /* body: version (2), random (32), session id (1 + 0 in QUIC), suite */
    cs = p.s.out[0] + 4 + 2 + 32 + 1;
    CHECK(cs[0] == 0x13 && cs[1] == 0x04);
    cs[1] = 0x05;
    CHECK_EQ_INT(qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_INITIAL), TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(p.c.conn), TERN_ALERT_ILLEGAL_PARAMETER);
    qpair_free(&p);
    tern_config_free(ccfg);
    free(sh);
  }
  free(ch);
  tern_config_free(scfg);
}


/* ---- post-quantum groups ------------------------------------------ */

/* One QUIC pair with the groups given; returns the pair's result and
   leaves group/hrr of the server in *group / *hrr. */
static int pq_pair(const uint16_t *cg, size_t ncg, const uint16_t *cs, size_t ncs,
                   const uint16_t *sg, size_t nsg, int s_pq, int c_pq, uint16_t *group,
                   int *hrr, uint8_t *alert) {
  tern_config *scfg = server_config(&pkis[PKI_KEY_P256]), *ccfg = client_config();
  qpair p;
  int rc;
  if (cg) CHECK_EQ_INT(tern_config_set_groups(ccfg, cg, ncg), TERN_OK);
  if (cs) CHECK_EQ_INT(tern_config_set_key_share_groups(ccfg, cs, ncs), TERN_OK);
  if (sg) CHECK_EQ_INT(tern_config_set_groups(scfg, sg, nsg), TERN_OK);
  if (s_pq) CHECK_EQ_INT(tern_config_set_pq_required(scfg, 1), TERN_OK);
  if (c_pq) CHECK_EQ_INT(tern_config_set_pq_required(ccfg, 1), TERN_OK);
  CHECK_EQ_INT(qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  rc = qpair_run(&p);
  *group = tern_conn_group(p.s.conn);
  *hrr = tern_conn_used_hrr(p.s.conn);
  *alert = tern_conn_alert(p.s.conn) ? tern_conn_alert(p.s.conn) : tern_conn_alert(p.c.conn);
  if (rc == TERN_OK) CHECK_EQ_INT(tern_conn_group(p.c.conn), *group);
  qpair_free(&p);
  tern_config_free(scfg);
  tern_config_free(ccfg);
  return rc;
}

/*
 * The hybrids and ML-KEM alone in QUIC: every post-quantum group with its
 * share in the first ClientHello and through a HelloRetryRequest (in
 * three suites), the hybrid ClientHello's CRYPTO data delivered in
 * pieces of 1 byte (so split at every offset) and of 2 to 7 bytes; then
 * the server's choice: a hybrid share taken when offered, else the
 * classical share without HelloRetryRequest, and with post-quantum
 * required a HelloRetryRequest for a hybrid or handshake_failure.
 */
static void test_pq_groups(void) {
  static const uint16_t pq[] = {TERN_GROUP_X25519MLKEM768, TERN_GROUP_SECP256R1MLKEM768,
                                TERN_GROUP_SECP384R1MLKEM1024};
  static const uint16_t alone[] = {TERN_GROUP_MLKEM768, TERN_GROUP_MLKEM1024};
  static const uint16_t x25519 = TERN_GROUP_X25519, hybrid = TERN_GROUP_X25519MLKEM768;
  static const uint16_t classic[] = {TERN_GROUP_X25519, TERN_GROUP_SECP256R1};
  static const uint16_t both[] = {TERN_GROUP_X25519MLKEM768, TERN_GROUP_X25519};
  uint16_t group;
  int hrr, n = 0;
  uint8_t alert;
  for (size_t i = 0; i < sizeof pq / sizeof pq[0]; i++) {
    CHECK_EQ_INT(run_one(TERN_TLS_AES_128_GCM_SHA256, pq[i], PKI_KEY_P256,
                         TERN_SIG_ECDSA_SECP256R1_SHA256, 0, 0), TERN_OK);
    CHECK_EQ_INT(run_one(TERN_TLS_AES_256_GCM_SHA384, pq[i], PKI_KEY_P384,
                         TERN_SIG_ECDSA_SECP384R1_SHA384, 0, 1), TERN_OK);
    CHECK_EQ_INT(run_one(TERN_TLS_CHACHA20_POLY1305_SHA256, pq[i], PKI_KEY_ED25519,
                         TERN_SIG_ED25519, 0, 1), TERN_OK);
    n += 3;
  }
  /* ML-KEM alone, off by default: by configuration on both sides */
  for (size_t i = 0; i < 2; i++) {
    uint16_t cg[2] = {alone[i], TERN_GROUP_X25519};
    CHECK_EQ_INT(pq_pair(cg, 2, &alone[i], 1, &alone[i], 1, 0, 0, &group, &hrr, &alert), TERN_OK);
    CHECK(group == alone[i] && !hrr);
    CHECK_EQ_INT(pq_pair(cg, 2, &cg[1], 1, &alone[i], 1, 0, 0, &group, &hrr, &alert), TERN_OK);
    CHECK(group == alone[i] && hrr);
    n += 2;
  }
  for (size_t frag = 1; frag <= 7; frag++, n++)
    CHECK_EQ_INT(run_one(TERN_TLS_AES_128_GCM_SHA256, TERN_GROUP_X25519MLKEM768, PKI_KEY_P256,
                         TERN_SIG_ECDSA_SECP256R1_SHA256, frag, 0), TERN_OK);
  /* default client, default server: the hybrid, no HRR */
  CHECK_EQ_INT(pq_pair(NULL, 0, NULL, 0, NULL, 0, 0, 0, &group, &hrr, &alert), TERN_OK);
  CHECK(group == TERN_GROUP_X25519MLKEM768 && !hrr);
  /* a client that lists the hybrid but sends only X25519: taken as is */
  CHECK_EQ_INT(pq_pair(both, 2, &x25519, 1, NULL, 0, 0, 0, &group, &hrr, &alert), TERN_OK);
  CHECK(group == TERN_GROUP_X25519 && !hrr);
  /* ... unless the server requires post-quantum: HRR for the hybrid */
  CHECK_EQ_INT(pq_pair(both, 2, &x25519, 1, NULL, 0, 1, 0, &group, &hrr, &alert), TERN_OK);
  CHECK(group == TERN_GROUP_X25519MLKEM768 && hrr);
  /* a classical client and a server that requires post-quantum */
  CHECK_EQ_INT(pq_pair(classic, 2, NULL, 0, NULL, 0, 1, 0, &group, &hrr, &alert),
               TERN_ERR_ALERT);
  CHECK_EQ_INT(alert, TERN_ALERT_HANDSHAKE_FAILURE);
  /* a default client and a classical server: X25519 from the first flight */
  CHECK_EQ_INT(pq_pair(NULL, 0, NULL, 0, classic, 2, 0, 0, &group, &hrr, &alert), TERN_OK);
  CHECK(group == TERN_GROUP_X25519 && !hrr);
  /* a client that requires post-quantum sends only the hybrid share, and a
     classical server cannot agree with it */
  CHECK_EQ_INT(pq_pair(NULL, 0, NULL, 0, NULL, 0, 0, 1, &group, &hrr, &alert), TERN_OK);
  CHECK(group == TERN_GROUP_X25519MLKEM768 && !hrr);
  CHECK_EQ_INT(pq_pair(NULL, 0, NULL, 0, classic, 2, 0, 1, &group, &hrr, &alert),
               TERN_ERR_ALERT);
  /* a server of SecP384r1MLKEM1024 only: HRR from the default client */
  {
    static const uint16_t p384 = TERN_GROUP_SECP384R1MLKEM1024;
    CHECK_EQ_INT(pq_pair(NULL, 0, NULL, 0, &p384, 1, 0, 0, &group, &hrr, &alert), TERN_OK);
    CHECK(group == TERN_GROUP_SECP384R1MLKEM1024 && hrr);
  }
  {
    tern_config *cfg = tern_config_new(TERN_SERVER);
    CHECK_EQ_INT(tern_config_set_groups(cfg, classic, 2), TERN_OK);
    CHECK_EQ_INT(tern_config_set_pq_required(cfg, 1), TERN_ERR_STATE);
    CHECK_EQ_INT(tern_config_set_groups(cfg, &hybrid, 1), TERN_OK);
    CHECK_EQ_INT(tern_config_set_pq_required(cfg, 1), TERN_OK);
    tern_config_free(cfg);
  }
  printf("post-quantum groups: %d QUIC handshakes (first flight, HRR, fragments 1-7) and 8 "
         "choices of group\n", n);
}

int main(void) {
  for (int kt = 0; kt < PKI_KEY_TYPES; kt++)
    if (pki_make(&pkis[kt], (pki_key_type)kt, "localhost", kt == PKI_KEY_P256, PKI_VALID_NOW) != 0) {
      fprintf(stderr, "cannot make the test PKI\n");
      return 1;
    }
  trust = X509_STORE_new();
  for (int kt = 0; kt < PKI_KEY_TYPES; kt++)
    X509_STORE_add_cert(trust, pkis[kt].ca);
  if (pki_make(&rogue, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW) != 0) return 1;

  test_matrix();
  test_hrr_and_fragments();
  test_failures();
  test_wrong_levels();
  test_generated_order();
  test_keylog();
  test_mutated_client_hello();
  test_ffdhe();
  test_ffdhe_defaults();
  test_ffdhe_bad_shares();
  test_ccm8_never_in_quic();
  test_late_server_tp();
  test_pq_groups();

  X509_STORE_free(trust);
  for (int kt = 0; kt < PKI_KEY_TYPES; kt++) pki_free(&pkis[kt]);
  pki_free(&rogue);
  return check_report();
}
