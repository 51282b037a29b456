/*
 * test_psk_openssl.c - external PSKs (RFC 8446 §4.2.11) over TCP between
 * tern and OpenSSL 3's libssl in the same process (memory BIOs, no
 * sockets), both directions: libssl's PSKs are SSL_SESSIONs handed over
 * by SSL_CTX_set_psk_use_session_callback (client) and
 * SSL_CTX_set_psk_find_session_callback (server), neither side with a
 * certificate unless a case says so.
 *
 * Cases: SHA-256 and SHA-384 PSKs, psk_dhe_ke and psk_ke, several PSKs
 * at tern (the one libssl knows taken), a HelloRetryRequest, an unknown
 * identity (handshake_failure from a PSK-only tern server, a full
 * handshake from one with a certificate), a wrong key (decrypt_error on
 * the binder, both ways) and 0-RTT on an external PSK both ways. Each
 * side's view is checked against the other's: the suite, whether a
 * Certificate went by (libssl's message callback), the exporters, and
 * application data both ways.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <tern.h>

#include "check.h"
#include "pki.h"

#define LIBSSL_FAILED (-1000)
#define STUCK (-1001)

static pki server_pki;
static int n_handshakes, n_psk, n_tern_client, n_tern_server, n_failures_checked, n_early;

static const uint8_t key_a[32] = "interop-key-a-interop-key-a-012";
static const uint8_t key_b[48] = "interop-key-b-interop-key-b-interop-key-b-01234";
static const uint8_t key_bad[32] = "interop-key-x-interop-key-x-012";

#define ID(s) (const uint8_t *)(s), strlen(s)

/* ---- libssl's PSKs ------------------------------------------------- */

/* What libssl knows of one PSK. */
typedef struct ossl_psk {
  const char *identity;
  const uint8_t *key;
  size_t key_len;
  uint16_t suite;           /* its session's cipher: the hash */
  uint32_t max_early_data;  /* 0: no 0-RTT */
} ossl_psk;

/* The PSKs the libssl side has in the current case (a client offers the
   first; a server looks them all up). */
static ossl_psk ossl_psks[4];
static size_t n_ossl_psks;
static int find_calls, use_calls;

static SSL_SESSION *psk_session(SSL *s, const ossl_psk *p) {
  const uint8_t code[2] = {(uint8_t)(p->suite >> 8), (uint8_t)p->suite};
  const SSL_CIPHER *cipher = SSL_CIPHER_find(s, code);
  SSL_SESSION *sess = SSL_SESSION_new();
  CHECK(cipher != NULL && sess != NULL);
  if (cipher == NULL || sess == NULL) {
    SSL_SESSION_free(sess);
    return NULL;
  }
  CHECK_EQ_INT(SSL_SESSION_set1_master_key(sess, p->key, p->key_len), 1);
  CHECK_EQ_INT(SSL_SESSION_set_cipher(sess, cipher), 1);
  CHECK_EQ_INT(SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION), 1);
  if (p->max_early_data) {
    CHECK_EQ_INT(SSL_SESSION_set_max_early_data(sess, p->max_early_data), 1);
    CHECK_EQ_INT(SSL_SESSION_set1_alpn_selected(sess, (const unsigned char *)"h3", 2), 1);
  }
  return sess;
}

/* libssl server: the session of an identity, or none (unknown). */
static int find_cb(SSL *s, const unsigned char *id, size_t len, SSL_SESSION **sess) {
  find_calls++;
  *sess = NULL;
  for (size_t i = 0; i < n_ossl_psks; i++)
    if (strlen(ossl_psks[i].identity) == len && memcmp(ossl_psks[i].identity, id, len) == 0) {
      *sess = psk_session(s, &ossl_psks[i]);
      break;
    }
  return 1;
}

/* libssl client: its PSK, when its hash is md's (after a HelloRetryRequest). */
static int use_cb(SSL *s, const EVP_MD *md, const unsigned char **id, size_t *len,
                  SSL_SESSION **sess) {
  SSL_SESSION *ps;
  use_calls++;
  *sess = NULL;
  if (n_ossl_psks == 0) return 1;
  ps = psk_session(s, &ossl_psks[0]);
  if (ps == NULL) return 0;
  if (md != NULL &&
      EVP_MD_get_type(md) != EVP_MD_get_type(SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(ps)))) {
    SSL_SESSION_free(ps);
    return 1;
  }
  *id = (const unsigned char *)ossl_psks[0].identity;
  *len = strlen(ossl_psks[0].identity);
  *sess = ps;
  return 1;
}

static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg) {
  (void)s, (void)arg;
  for (unsigned i = 0; i < inlen; i += 1u + in[i])
    if (in[i] == 2 && i + 3 <= inlen && memcmp(in + i + 1, "h3", 2) == 0) {
      *out = in + i + 1;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
  return SSL_TLSEXT_ERR_NOACK;
}

/* A TLS 1.3 libssl context with the PSK callbacks, ALPN h3, and no
   certificate (cert: the P-256 chain for a server, its root as trust for
   a client). */
static SSL_CTX *ossl_ctx(int server, const char *suites, const char *groups, int cert) {
  SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  CHECK(ctx != NULL);
  CHECK_EQ_INT(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION), 1);
  CHECK_EQ_INT(SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION), 1);
  CHECK_EQ_INT(SSL_CTX_set_ciphersuites(ctx, suites), 1);
  CHECK_EQ_INT(SSL_CTX_set1_groups_list(ctx, groups), 1);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (server) {
    SSL_CTX_set_psk_find_session_callback(ctx, find_cb);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    if (cert) {
      CHECK_EQ_INT(SSL_CTX_use_certificate(ctx, server_pki.leaf), 1);
      CHECK_EQ_INT(SSL_CTX_add1_chain_cert(ctx, server_pki.inter), 1);
      CHECK_EQ_INT(SSL_CTX_use_PrivateKey(ctx, server_pki.leaf_key), 1);
    }
  } else {
    SSL_CTX_set_psk_use_session_callback(ctx, use_cb);
    CHECK_EQ_INT(SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x02h3", 3), 0);
    if (cert) CHECK_EQ_INT(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), server_pki.ca), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  }
  return ctx;
}

/* ---- tern's side ---------------------------------------------------- */

static const char *const alpn_h3[] = {"h3"};

/* A tern end with ALPN h3 and no trust store; a server with the P-256
   chain when cert. */
static tern_config *tern_cfg(tern_role role, int cert) {
  tern_config *cfg = tern_config_new(role);
  CHECK(cfg != NULL);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn_h3, 1), TERN_OK);
  if (cert) {
    STACK_OF(X509) *chain = pki_chain(&server_pki);
    CHECK_EQ_INT(tern_config_set_cert(cfg, server_pki.leaf, chain, server_pki.leaf_key), TERN_OK);
    sk_X509_pop_free(chain, X509_free);
  }
  return cfg;
}

/* ---- one tern end joined to one libssl end ------------------------- */

typedef struct duo {
  tern_conn *t;
  SSL *s;
  BIO *to_ssl, *to_tern;
  int tern_client;
  int cert_sent, cert_recv, eoed_sent, eoed_recv; /* libssl's view */
  int alert_sent, alert_recv;                     /* -1: none */
  char ssl_err[512];
} duo;

static void on_ssl_msg(int write_p, int version, int type, const void *buf, size_t len, SSL *s,
                       void *arg) {
  duo *d = arg;
  const uint8_t *b = buf;
  (void)version, (void)s;
  if (len == 0) return;
  if (type == SSL3_RT_HANDSHAKE && b[0] == SSL3_MT_CERTIFICATE)
    ++*(write_p ? &d->cert_sent : &d->cert_recv);
  if (type == SSL3_RT_HANDSHAKE && b[0] == SSL3_MT_END_OF_EARLY_DATA)
    ++*(write_p ? &d->eoed_sent : &d->eoed_recv);
  if (type == SSL3_RT_ALERT && len == 2) *(write_p ? &d->alert_sent : &d->alert_recv) = b[1];
}

static void duo_init(duo *d, SSL_CTX *ctx, tern_config *cfg, int tern_client) {
  memset(d, 0, sizeof *d);
  d->alert_sent = d->alert_recv = -1;
  d->tern_client = tern_client;
  d->t = tern_conn_new_tls(cfg, d);
  d->s = SSL_new(ctx);
  d->to_ssl = BIO_new(BIO_s_mem());
  d->to_tern = BIO_new(BIO_s_mem());
  CHECK(d->t != NULL && d->s != NULL && d->to_ssl != NULL && d->to_tern != NULL);
  BIO_set_mem_eof_return(d->to_ssl, -1);
  SSL_set_bio(d->s, d->to_ssl, d->to_tern);
  SSL_set_msg_callback(d->s, on_ssl_msg);
  SSL_set_msg_callback_arg(d->s, d);
  if (tern_client) {
    SSL_set_accept_state(d->s);
    CHECK_EQ_INT(tern_conn_set_server_name(d->t, "localhost"), TERN_OK);
  } else {
    SSL_set_connect_state(d->s);
    CHECK_EQ_INT(SSL_set_tlsext_host_name(d->s, "localhost"), 1);
    CHECK_EQ_INT(SSL_set1_host(d->s, "localhost"), 1);
  }
  find_calls = use_calls = 0;
}

static void duo_free(duo *d) {
  tern_conn_free(d->t);
  SSL_free(d->s);
  ERR_clear_error();
}

static void ssl_note(duo *d) {
  unsigned long e;
  size_t off = 0;
  d->ssl_err[0] = 0;
  while ((e = ERR_get_error()) != 0 && off + 2 < sizeof d->ssl_err) {
    if (off) d->ssl_err[off++] = ' ';
    ERR_error_string_n(e, d->ssl_err + off, sizeof d->ssl_err - off);
    off += strlen(d->ssl_err + off);
  }
}

static void report(const char *what, const duo *d) {
  uint8_t a = tern_conn_alert(d->t);
  fprintf(stderr, "  %s: tern %s: \"%s\" (alert %u %s); libssl: %s\n", what,
          d->tern_client ? "client" : "server", tern_conn_error_detail(d->t), a,
          tern_alert_name(a), d->ssl_err[0] ? d->ssl_err : "no failure noted");
}

static void tern_to_ssl(duo *d) {
  const uint8_t *p;
  size_t len;
  while ((p = tern_tls_output(d->t, &len)) != NULL) {
    int n = BIO_write(d->to_ssl, p, (int)len);
    CHECK_EQ_INT(n, len);
    if (n <= 0) break;
    tern_tls_output_done(d->t, (size_t)n);
  }
}

static int ssl_to_tern(duo *d) {
  uint8_t buf[16384];
  int rc = TERN_OK;
  for (;;) {
    size_t off = 0, used;
    int n = BIO_read(d->to_tern, buf, sizeof buf);
    if (n <= 0) return rc;
    while (off < (size_t)n && rc == TERN_OK) {
      rc = tern_tls_feed(d->t, buf + off, (size_t)n - off, &used);
      if (rc == TERN_OK && used == 0) break;
      off += used;
    }
    if (rc != TERN_OK) return rc;
  }
}

/* Lets libssl read what tern sent after a failure (its alert). */
static void ssl_poke(duo *d) {
  uint8_t b[64];
  ERR_clear_error();
  if (SSL_is_init_finished(d->s)) SSL_read(d->s, b, sizeof b);
  else SSL_do_handshake(d->s);
  ssl_note(d);
}

/* TERN_OK, tern's failure (alert passed on), LIBSSL_FAILED or STUCK. */
static int duo_handshake(duo *d) {
  size_t len;
  int rc;
  if (d->tern_client && (rc = tern_handshake(d->t)) < 0) return rc;
  for (int round = 0; round < 32; round++) {
    tern_to_ssl(d);
    if (!SSL_is_init_finished(d->s)) {
      int r;
      ERR_clear_error();
      r = SSL_do_handshake(d->s);
      if (r <= 0 && SSL_get_error(d->s, r) != SSL_ERROR_WANT_READ) {
        ssl_note(d);
        ssl_to_tern(d);
        return LIBSSL_FAILED;
      }
    }
    rc = ssl_to_tern(d);
    if (rc != TERN_OK) {
      tern_to_ssl(d);
      ssl_poke(d);
      return rc;
    }
    if (tern_conn_handshake_done(d->t) && SSL_is_init_finished(d->s) &&
        BIO_ctrl_pending(d->to_tern) == 0 && tern_tls_output(d->t, &len) == NULL)
      return TERN_OK;
  }
  return STUCK;
}

/* Application data both ways, and the exporters agree. */
static void exchange(duo *d) {
  uint8_t out[1500], in[1500], a[32], b[32];
  size_t have = 0, k;
  int r;
  for (size_t i = 0; i < sizeof out; i++) out[i] = (uint8_t)(i * 7 + 3);
  CHECK_EQ_INT(tern_tls_write(d->t, out, sizeof out), TERN_OK);
  tern_to_ssl(d);
  while (have < sizeof in && (r = SSL_read(d->s, in + have, (int)(sizeof in - have))) > 0)
    have += (size_t)r;
  CHECK(have == sizeof out && memcmp(in, out, sizeof out) == 0);
  CHECK_EQ_INT(SSL_write(d->s, out, 700), 700);
  CHECK_EQ_INT(ssl_to_tern(d), TERN_OK);
  have = 0;
  while (have < 700 && tern_tls_read(d->t, in + have, sizeof in - have, &k) == TERN_OK) have += k;
  CHECK(have == 700 && memcmp(in, out, 700) == 0);
  CHECK_EQ_INT(tern_export_keying_material(d->t, "EXPORTER-psk", NULL, 0, a, sizeof a), TERN_OK);
  CHECK_EQ_INT(SSL_export_keying_material(d->s, b, sizeof b, "EXPORTER-psk", 12, NULL, 0, 0), 1);
  CHECK_MEM(a, b, sizeof a);
}

/* A completed PSK handshake on identity id: no certificate either way,
   both agree on the suite, data flows. */
static void expect_psk(const char *what, duo *d, int rc, const char *id, uint16_t suite, int dhe) {
  const uint8_t *got;
  size_t len;
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) {
    report(what, d);
    return;
  }
  n_handshakes++, n_psk++;
  if (d->tern_client) n_tern_client++;
  else n_tern_server++;
  CHECK_EQ_INT(tern_conn_psk_identity(d->t, &got, &len), TERN_OK);
  CHECK(len == strlen(id) && memcmp(got, id, len) == 0);
  CHECK_EQ_INT(tern_conn_cipher_suite(d->t), suite);
  CHECK_EQ_INT(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(d->s)), suite);
  CHECK_EQ_INT(SSL_session_reused(d->s), 1); /* libssl: a PSK was used */
  CHECK_EQ_INT(d->cert_sent + d->cert_recv, 0);
  CHECK_EQ_INT(tern_conn_signature_scheme(d->t), 0);
  CHECK_EQ_INT(tern_conn_resumed(d->t), 0);
  if (dhe) CHECK(tern_conn_group(d->t) != 0);
  else CHECK_EQ_INT(tern_conn_group(d->t), 0);
  CHECK(strcmp(tern_conn_alpn(d->t) ? tern_conn_alpn(d->t) : "", "h3") == 0);
  exchange(d);
  if (tern_conn_cipher_suite(d->t) != suite) report(what, d);
}

/* One handshake: tern_client says which side tern is. */
static int one(duo *d, SSL_CTX *ctx, tern_config *cfg, int tern_client) {
  duo_init(d, ctx, cfg, tern_client);
  return duo_handshake(d);
}

static void set_ossl_psks(const ossl_psk *p, size_t n) {
  memcpy(ossl_psks, p, n * sizeof *p);
  n_ossl_psks = n;
}

/* ---- tern client, libssl server ------------------------------------ */

static void tern_client_cases(void) {
  SSL_CTX *ctx = ossl_ctx(1, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256", "X25519:P-256", 0);
  SSL_CTX *ctx384 = ossl_ctx(1, "TLS_AES_256_GCM_SHA384", "X25519:P-256", 0);
  SSL_CTX *ctx_hrr = ossl_ctx(1, "TLS_AES_128_GCM_SHA256", "P-256", 0);
  SSL_CTX *ctx_cert = ossl_ctx(1, "TLS_AES_128_GCM_SHA256", "X25519", 1);
  tern_config *cfg = tern_cfg(TERN_CLIENT, 0);
  duo d;
  int rc;
  static const ossl_psk alice = {"alice", key_a, sizeof key_a, 0x1301, 0};
  static const ossl_psk bob = {"bob", key_b, sizeof key_b, 0x1302, 0};
  const ossl_psk both[2] = {alice, bob};

  CHECK_EQ_INT(tern_config_add_psk(cfg, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
  set_ossl_psks(&alice, 1);
  rc = one(&d, ctx, cfg, 1);
  expect_psk("tern client, SHA-256", &d, rc, "alice", TERN_TLS_AES_128_GCM_SHA256, 1);
  CHECK_EQ_INT(find_calls, 1);
  duo_free(&d);

  /* psk_ke offered too: libssl 3.0 still takes psk_dhe_ke when the
     client offers it (it picks psk_ke only when it must) */
  CHECK_EQ_INT(tern_config_set_psk_ke(cfg, 1), TERN_OK);
  SSL_CTX_set_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
  rc = one(&d, ctx, cfg, 1);
  expect_psk("tern client, psk_ke offered", &d, rc, "alice", TERN_TLS_AES_128_GCM_SHA256, 1);
  duo_free(&d);
  CHECK_EQ_INT(tern_config_set_psk_ke(cfg, 0), TERN_OK);

  /* a HelloRetryRequest (libssl wants P-256): the PSK stays */
  rc = one(&d, ctx_hrr, cfg, 1);
  expect_psk("tern client, HRR", &d, rc, "alice", TERN_TLS_AES_128_GCM_SHA256, 1);
  CHECK_EQ_INT(tern_conn_used_hrr(d.t), 1);
  CHECK_EQ_INT(tern_conn_group(d.t), TERN_GROUP_SECP256R1);
  duo_free(&d);

  /* several at tern: an unknown one, then bob (SHA-384), then alice;
     libssl (AES-256-GCM only) takes bob, the second identity */
  {
    tern_config *several = tern_cfg(TERN_CLIENT, 0);
    CHECK_EQ_INT(tern_config_add_psk(several, ID("zed"), key_a, sizeof key_a, TERN_PSK_SHA256),
                 TERN_OK);
    CHECK_EQ_INT(tern_config_add_psk(several, ID("bob"), key_b, sizeof key_b, TERN_PSK_SHA384),
                 TERN_OK);
    CHECK_EQ_INT(tern_config_add_psk(several, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256),
                 TERN_OK);
    set_ossl_psks(both, 2);
    rc = one(&d, ctx384, several, 1);
    expect_psk("tern client, several, SHA-384", &d, rc, "bob", TERN_TLS_AES_256_GCM_SHA384, 1);
    duo_free(&d);
    /* and a SHA-256 server: alice, the third */
    rc = one(&d, ctx, several, 1);
    expect_psk("tern client, several, SHA-256", &d, rc, "alice", TERN_TLS_AES_128_GCM_SHA256, 1);
    duo_free(&d);
    tern_config_free(several);
  }

  /* a wrong key: libssl's binder check fails (libssl 3.0 answers
     illegal_parameter where RFC 8446 §6.2 names decrypt_error) */
  {
    tern_config *bad = tern_cfg(TERN_CLIENT, 0);
    CHECK_EQ_INT(tern_config_add_psk(bad, ID("alice"), key_bad, sizeof key_bad, TERN_PSK_SHA256),
                 TERN_OK);
    set_ossl_psks(&alice, 1);
    rc = one(&d, ctx, bad, 1);
    CHECK_EQ_INT(rc, LIBSSL_FAILED);
    CHECK(strstr(d.ssl_err, "binder does not verify") != NULL);
    CHECK_EQ_INT(d.alert_sent, TERN_ALERT_ILLEGAL_PARAMETER);
    CHECK_EQ_INT(tern_conn_alert(d.t), TERN_ALERT_ILLEGAL_PARAMETER);
    CHECK_EQ_INT(tern_conn_handshake_done(d.t), 0);
    n_failures_checked++;
    duo_free(&d);
    tern_config_free(bad);
  }

  /* an identity libssl does not know: it shows its certificate, which a
     tern client without trust anchors refuses (unknown_ca) */
  set_ossl_psks(&bob, 1);
  rc = one(&d, ctx_cert, cfg, 1);
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(d.t), TERN_ALERT_UNKNOWN_CA);
  CHECK_EQ_INT(d.alert_recv, TERN_ALERT_UNKNOWN_CA);
  CHECK_EQ_INT(d.cert_sent, 1);
  n_failures_checked++;
  duo_free(&d);

  SSL_CTX_free(ctx);
  SSL_CTX_free(ctx384);
  SSL_CTX_free(ctx_hrr);
  SSL_CTX_free(ctx_cert);
  tern_config_free(cfg);
}

/* ---- libssl client, tern server ------------------------------------ */

static void tern_server_cases(void) {
  SSL_CTX *ctx = ossl_ctx(0, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384", "X25519:P-256", 0);
  SSL_CTX *ctx_cert = ossl_ctx(0, "TLS_AES_128_GCM_SHA256", "X25519", 1);
  tern_config *psk_only = tern_cfg(TERN_SERVER, 0), *with_cert = tern_cfg(TERN_SERVER, 1);
  duo d;
  int rc;
  static const ossl_psk alice = {"alice", key_a, sizeof key_a, 0x1301, 0};
  static const ossl_psk bob = {"bob", key_b, sizeof key_b, 0x1302, 0};
  static const ossl_psk zed = {"zed", key_a, sizeof key_a, 0x1301, 0};
  static const ossl_psk alice_bad = {"alice", key_bad, sizeof key_bad, 0x1301, 0};

  for (int i = 0; i < 2; i++) {
    tern_config *s = i ? with_cert : psk_only;
    CHECK_EQ_INT(tern_config_add_psk(s, ID("carol"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
    CHECK_EQ_INT(tern_config_add_psk(s, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
    CHECK_EQ_INT(tern_config_add_psk(s, ID("bob"), key_b, sizeof key_b, TERN_PSK_SHA384), TERN_OK);
  }

  set_ossl_psks(&alice, 1);
  rc = one(&d, ctx, psk_only, 0);
  expect_psk("tern server, SHA-256", &d, rc, "alice", TERN_TLS_AES_128_GCM_SHA256, 1);
  CHECK(use_calls >= 1);
  duo_free(&d);

  /* SHA-384: tern moves to AES-256-GCM, libssl's second choice */
  set_ossl_psks(&bob, 1);
  rc = one(&d, ctx, psk_only, 0);
  expect_psk("tern server, SHA-384", &d, rc, "bob", TERN_TLS_AES_256_GCM_SHA384, 1);
  duo_free(&d);

  /* SHA-384 through a HelloRetryRequest (tern takes P-256 only) */
  {
    tern_config *p256 = tern_cfg(TERN_SERVER, 0);
    uint16_t g = TERN_GROUP_SECP256R1;
    CHECK_EQ_INT(tern_config_add_psk(p256, ID("bob"), key_b, sizeof key_b, TERN_PSK_SHA384), TERN_OK);
    CHECK_EQ_INT(tern_config_set_groups(p256, &g, 1), TERN_OK);
    rc = one(&d, ctx, p256, 0);
    expect_psk("tern server, SHA-384, HRR", &d, rc, "bob", TERN_TLS_AES_256_GCM_SHA384, 1);
    CHECK_EQ_INT(tern_conn_used_hrr(d.t), 1);
    duo_free(&d);
    tern_config_free(p256);
  }

  /* psk_ke: libssl offers it with SSL_OP_ALLOW_NO_DHE_KEX; tern takes it */
  {
    SSL_CTX *ke = ossl_ctx(0, "TLS_AES_128_GCM_SHA256", "X25519", 0);
    SSL_CTX_set_options(ke, SSL_OP_ALLOW_NO_DHE_KEX);
    set_ossl_psks(&alice, 1);
    CHECK_EQ_INT(tern_config_set_psk_ke(psk_only, 1), TERN_OK);
    rc = one(&d, ke, psk_only, 0);
    expect_psk("tern server, psk_ke", &d, rc, "alice", TERN_TLS_AES_128_GCM_SHA256, 0);
    duo_free(&d);
    CHECK_EQ_INT(tern_config_set_psk_ke(psk_only, 0), TERN_OK);
    SSL_CTX_free(ke);
  }

  /* an unknown identity: handshake_failure from the PSK-only server... */
  set_ossl_psks(&zed, 1);
  rc = one(&d, ctx, psk_only, 0);
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(d.t), TERN_ALERT_HANDSHAKE_FAILURE);
  CHECK_EQ_INT(d.alert_recv, TERN_ALERT_HANDSHAKE_FAILURE);
  n_failures_checked++;
  duo_free(&d);
  /* ... a full handshake from the one with a certificate */
  rc = one(&d, ctx_cert, with_cert, 0);
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) report("tern server with a certificate, unknown identity", &d);
  CHECK_EQ_INT(d.cert_recv, 1);
  CHECK_EQ_INT(SSL_session_reused(d.s), 0);
  CHECK_EQ_INT(tern_conn_signature_scheme(d.t), TERN_SIG_ECDSA_SECP256R1_SHA256);
  if (rc == TERN_OK) {
    n_handshakes++, n_tern_server++;
    exchange(&d);
  }
  duo_free(&d);

  /* a wrong key: tern's binder check, decrypt_error */
  set_ossl_psks(&alice_bad, 1);
  for (int i = 0; i < 2; i++) {
    rc = one(&d, i ? ctx_cert : ctx, i ? with_cert : psk_only, 0);
    CHECK_EQ_INT(rc, TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(d.t), TERN_ALERT_DECRYPT_ERROR);
    CHECK_EQ_INT(d.alert_recv, TERN_ALERT_DECRYPT_ERROR);
    n_failures_checked++;
    duo_free(&d);
  }

  SSL_CTX_free(ctx);
  SSL_CTX_free(ctx_cert);
  tern_config_free(psk_only);
  tern_config_free(with_cert);
}

/* ---- 0-RTT on an external PSK, both ways ------------------------- */

static const uint8_t early_msg[] = "early data on an external PSK, 0-RTT";

/* libssl server: reads early data until FINISH; returns bytes or -1. */
static long ossl_read_early(duo *d, uint8_t *buf, size_t cap) {
  size_t have = 0;
  for (int round = 0; round < 64; round++) {
    size_t n = 0;
    int r;
    tern_to_ssl(d);
    ERR_clear_error();
    r = SSL_read_early_data(d->s, buf + have, cap - have, &n);
    if (r == SSL_READ_EARLY_DATA_FINISH) return (long)have;
    if (r == SSL_READ_EARLY_DATA_SUCCESS) {
      have += n;
      continue;
    }
    if (SSL_get_error(d->s, r) != SSL_ERROR_WANT_READ) {
      ssl_note(d);
      return -1;
    }
    if (ssl_to_tern(d) != TERN_OK) return -1;
  }
  return -1;
}

static void early_cases(void) {
  static const ossl_psk alice = {"alice", key_a, sizeof key_a, 0x1301, 4096};
  uint8_t got[256];
  size_t have = 0, k, written = 0;
  long n;
  duo d;
  int rc;

  /* tern client -> libssl server */
  {
    SSL_CTX *ctx = ossl_ctx(1, "TLS_AES_128_GCM_SHA256", "X25519", 0);
    tern_config *cfg = tern_cfg(TERN_CLIENT, 0);
    CHECK_EQ_INT(SSL_CTX_set_max_early_data(ctx, 4096), 1);
    CHECK_EQ_INT(tern_config_add_psk(cfg, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
    CHECK_EQ_INT(tern_config_set_psk_early_data(cfg, ID("alice"), TERN_TLS_AES_128_GCM_SHA256, "h3",
                                                4096), TERN_OK);
    CHECK_EQ_INT(tern_config_set_early_data(cfg, 1, 0), TERN_OK);
    set_ossl_psks(&alice, 1);
    duo_init(&d, ctx, cfg, 1);
    CHECK_EQ_INT(tern_handshake(d.t), TERN_WANT_READ);
    CHECK_EQ_INT(tern_conn_early_data_status(d.t), TERN_EARLY_DATA_OFFERED);
    CHECK_EQ_INT(tern_tls_write(d.t, early_msg, sizeof early_msg), TERN_OK);
    n = ossl_read_early(&d, got, sizeof got);
    CHECK_EQ_INT(n, sizeof early_msg);
    if (n == (long)sizeof early_msg) CHECK(memcmp(got, early_msg, sizeof early_msg) == 0);
    rc = n < 0 ? LIBSSL_FAILED : duo_handshake(&d);
    expect_psk("tern client, 0-RTT", &d, rc, "alice", TERN_TLS_AES_128_GCM_SHA256, 1);
    CHECK_EQ_INT(tern_conn_early_data_status(d.t), TERN_EARLY_DATA_ACCEPTED);
    CHECK_EQ_INT(SSL_get_early_data_status(d.s), SSL_EARLY_DATA_ACCEPTED);
    CHECK_EQ_INT(d.eoed_recv, 1);
    n_early += tern_conn_early_data_status(d.t) == TERN_EARLY_DATA_ACCEPTED;
    duo_free(&d);
    SSL_CTX_free(ctx);
    tern_config_free(cfg);
  }

  /* libssl client -> tern server */
  {
    SSL_CTX *ctx = ossl_ctx(0, "TLS_AES_128_GCM_SHA256", "X25519", 0);
    tern_config *cfg = tern_cfg(TERN_SERVER, 0);
    CHECK_EQ_INT(tern_config_add_psk(cfg, ID("alice"), key_a, sizeof key_a, TERN_PSK_SHA256), TERN_OK);
    CHECK_EQ_INT(tern_config_set_psk_early_data(cfg, ID("alice"), TERN_TLS_AES_128_GCM_SHA256, "h3",
                                                4096), TERN_OK);
    CHECK_EQ_INT(tern_config_set_early_data(cfg, 16384, 10000), TERN_OK);
    set_ossl_psks(&alice, 1);
    for (int replay = 0; replay < 2; replay++) {
      static uint8_t first[8192];
      static size_t first_len;
      duo_init(&d, ctx, cfg, 0);
      ERR_clear_error();
      CHECK_EQ_INT(SSL_write_early_data(d.s, early_msg, sizeof early_msg, &written), 1);
      CHECK_EQ_INT(written, sizeof early_msg);
      if (!replay) {
        /* keep libssl's first flight (ClientHello and 0-RTT) */
        char *p = NULL;
        long len = BIO_get_mem_data(d.to_tern, &p);
        CHECK(len > 0 && (size_t)len <= sizeof first);
        if (len > 0 && (size_t)len <= sizeof first) memcpy(first, p, (size_t)len);
        first_len = len > 0 ? (size_t)len : 0;
        CHECK_EQ_INT(ssl_to_tern(&d), TERN_OK);
        CHECK_EQ_INT(tern_conn_early_data_status(d.t), TERN_EARLY_DATA_ACCEPTED);
        have = 0;
        while (tern_tls_read(d.t, got + have, sizeof got - have, &k) == TERN_OK) have += k;
        CHECK(have == sizeof early_msg && memcmp(got, early_msg, have) == 0);
        rc = duo_handshake(&d);
        expect_psk("tern server, 0-RTT", &d, rc, "alice", TERN_TLS_AES_128_GCM_SHA256, 1);
        CHECK_EQ_INT(SSL_get_early_data_status(d.s), SSL_EARLY_DATA_ACCEPTED);
        CHECK_EQ_INT(d.eoed_sent, 1);
        n_early += tern_conn_early_data_status(d.t) == TERN_EARLY_DATA_ACCEPTED;
      } else {
        /* the first flight replayed at a fresh tern connection: the PSK
           is taken, its early data skipped (the binder was recorded) */
        tern_conn *t = tern_conn_new_tls(cfg, NULL);
        const uint8_t *id;
        size_t id_len;
        CHECK_EQ_INT(tern_tls_feed(t, first, first_len, NULL), TERN_OK);
        CHECK_EQ_INT(tern_conn_early_data_status(t), TERN_EARLY_DATA_REJECTED);
        CHECK_EQ_INT(tern_conn_psk_identity(t, &id, &id_len), TERN_OK);
        CHECK_EQ_INT(tern_tls_read(t, got, sizeof got, &k), TERN_WANT_READ);
        tern_conn_free(t);
        /* and libssl's fresh ClientHello of this round is accepted */
        CHECK_EQ_INT(ssl_to_tern(&d), TERN_OK);
        CHECK_EQ_INT(tern_conn_early_data_status(d.t), TERN_EARLY_DATA_ACCEPTED);
        rc = duo_handshake(&d);
        CHECK_EQ_INT(rc, TERN_OK);
        n_early += rc == TERN_OK;
        n_handshakes += rc == TERN_OK;
        n_psk += rc == TERN_OK;
        n_tern_server += rc == TERN_OK;
      }
      duo_free(&d);
    }
    SSL_CTX_free(ctx);
    tern_config_free(cfg);
  }
}

int main(void) {
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 1, PKI_VALID_NOW), 0);
  tern_client_cases();
  tern_server_cases();
  early_cases();
  printf("psk-openssl: %d handshakes with libssl (%d tern client, %d tern server; %d on an "
         "external PSK, %d of them with 0-RTT accepted), %d refusals checked; %d checks, "
         "%d failed\n",
         n_handshakes, n_tern_client, n_tern_server, n_psk, n_early, n_failures_checked,
         check_count, check_failures);
  pki_free(&server_pki);
  return check_report();
}
