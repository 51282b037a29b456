/*
 * test_certcomp.c - certificate compression (RFC 8879), tern <-> tern in
 * QUIC mode and over TCP: every algorithm this build has, both roles (the
 * server's certificate, a client certificate in the handshake and after
 * it), the server's preference, a chain compressed once per
 * configuration; then a hostile server whose CompressedCertificate is
 * replaced by one made here (wrong lengths, oversize, garbage, an
 * algorithm not offered, empty, trailing bytes, a bomb, a non-Certificate
 * inside) and the alert the client answers each with.
 */
#include <openssl/rand.h>
#include <openssl/x509.h>

#ifdef TERN_HAVE_BROTLI
#include <brotli/encode.h>
#endif

#include "check.h"
#include "codec/msg.h"
#include "core/conn.h"
#include "crypto/certcomp.h"
#include "pki.h"
#include "qpair.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};
static const uint16_t all_algs[] = {TERN_CERT_COMPRESSION_ZLIB, TERN_CERT_COMPRESSION_BROTLI,
                                    TERN_CERT_COMPRESSION_ZSTD};
static const char *const alg_names[] = {"", "zlib", "brotli", "zstd"};

static pki server_pki, client_pki;

/* The algorithms this build has, in all_algs order. */
static size_t available(uint16_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < 3; i++)
    if (tern_cert_compression_available(all_algs[i])) out[n++] = all_algs[i];
  return n;
}

static tern_config *server_config(const uint16_t *algs, size_t n, int client_auth) {
  tern_config *cfg = tern_config_new(TERN_SERVER);
  STACK_OF(X509) *chain = pki_chain(&server_pki);
  X509_STORE *store = X509_STORE_new();
  CHECK(cfg != NULL && chain != NULL && store != NULL);
  X509_STORE_add_cert(store, client_pki.ca);
  CHECK_EQ_INT(tern_config_set_cert(cfg, server_pki.leaf, chain, server_pki.leaf_key), TERN_OK);
  CHECK_EQ_INT(tern_config_set_cert_compression(cfg, algs, n), TERN_OK);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, store), TERN_OK);
  if (client_auth)
    CHECK_EQ_INT(tern_config_set_client_auth(cfg, TERN_CLIENT_AUTH_REQUIRED, 0), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  X509_STORE_free(store);
  return cfg;
}

static tern_config *client_config(const uint16_t *algs, size_t n, int with_cert) {
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  X509_STORE *store = X509_STORE_new();
  CHECK(cfg != NULL && store != NULL);
  X509_STORE_add_cert(store, server_pki.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, store), TERN_OK);
  CHECK_EQ_INT(tern_config_set_cert_compression(cfg, algs, n), TERN_OK);
  if (with_cert) {
    STACK_OF(X509) *chain = pki_chain(&client_pki);
    CHECK_EQ_INT(tern_config_set_cert(cfg, client_pki.leaf, chain, client_pki.leaf_key),
                 TERN_OK);
    sk_X509_pop_free(chain, X509_free);
  }
  X509_STORE_free(store);
  return cfg;
}

static int quic_run(qpair *p, tern_config *c, tern_config *s) {
  CHECK_EQ_INT(qpair_init(p, c, s, client_tp, sizeof client_tp, server_tp, sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p->c.conn, "localhost"), TERN_OK);
  return qpair_run(p);
}

/* ---- TCP pairs ---- */

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

static int tcp_run(tern_conn **c, tern_conn **s, tern_config *ccfg, tern_config *scfg) {
  int rc;
  *c = tern_conn_new_tls(ccfg, NULL);
  *s = tern_conn_new_tls(scfg, NULL);
  CHECK(*c != NULL && *s != NULL);
  CHECK_EQ_INT(tern_conn_set_server_name(*c, "localhost"), TERN_OK);
  if ((rc = tern_handshake(*c)) < 0) return rc;
  for (int i = 0; i < 20; i++) {
    if ((rc = pump(*c, *s)) != TERN_OK || (rc = pump(*s, *c)) != TERN_OK) return rc;
    if (tern_conn_handshake_done(*c) && tern_conn_handshake_done(*s)) return TERN_OK;
  }
  return TERN_ERR_STATE;
}

/* ---- tern <-> tern ---- */

/* Each algorithm alone, QUIC and TCP, the server's certificate and a
   client certificate asked for in the handshake. */
static void test_each_algorithm(void) {
  uint16_t algs[3];
  size_t n = available(algs);
  CHECK(n >= 1); /* meson's auto features found at least zlib here */
  for (size_t i = 0; i < n; i++) {
    for (int auth = 0; auth < 2; auth++) {
      tern_config *s = server_config(algs, n, auth), *c = client_config(&algs[i], 1, auth);
      qpair p;
      tern_conn *tc, *ts;
      int rc = quic_run(&p, c, s);
      if (rc != TERN_OK)
        fprintf(stderr, "QUIC %s auth=%d: %s\n", alg_names[algs[i]], auth,
                tern_conn_error_detail(p.c.conn));
      CHECK_EQ_INT(rc, TERN_OK);
      CHECK_EQ_INT(tern_conn_cert_compression(p.c.conn, TERN_READ), algs[i]);
      CHECK_EQ_INT(tern_conn_cert_compression(p.s.conn, TERN_WRITE), algs[i]);
      /* the client compresses its own with the server's first choice it has */
      CHECK_EQ_INT(tern_conn_cert_compression(p.c.conn, TERN_WRITE), auth ? algs[i] : 0);
      CHECK_EQ_INT(tern_conn_cert_compression(p.s.conn, TERN_READ), auth ? algs[i] : 0);
      qpair_free(&p);

      rc = tcp_run(&tc, &ts, c, s);
      if (rc != TERN_OK)
        fprintf(stderr, "TCP %s auth=%d: %s / %s\n", alg_names[algs[i]], auth,
                tern_conn_error_detail(tc), tern_conn_error_detail(ts));
      CHECK_EQ_INT(rc, TERN_OK);
      CHECK_EQ_INT(tern_conn_cert_compression(tc, TERN_READ), algs[i]);
      CHECK_EQ_INT(tern_conn_cert_compression(ts, TERN_WRITE), algs[i]);
      CHECK_EQ_INT(tern_conn_cert_compression(ts, TERN_READ), auth ? algs[i] : 0);
      tern_conn_free(tc);
      tern_conn_free(ts);
      tern_config_free(s);
      tern_config_free(c);
    }
  }
}

/* The server's order wins; no offer or nothing in common: uncompressed. */
static void test_choice(void) {
  uint16_t algs[3], rev[3];
  size_t n = available(algs);
  qpair p;
  for (size_t i = 0; i < n; i++) rev[i] = algs[n - 1 - i];
  {
    tern_config *s = server_config(algs, n, 0), *c = client_config(rev, n, 0);
    CHECK_EQ_INT(quic_run(&p, c, s), TERN_OK);
    CHECK_EQ_INT(tern_conn_cert_compression(p.c.conn, TERN_READ), algs[0]);
    qpair_free(&p);
    tern_config_free(s);
    tern_config_free(c);
  }
  {
    tern_config *s = server_config(algs, n, 0), *c = client_config(NULL, 0, 0);
    CHECK_EQ_INT(quic_run(&p, c, s), TERN_OK);
    CHECK_EQ_INT(tern_conn_cert_compression(p.c.conn, TERN_READ), 0);
    CHECK_EQ_INT(tern_conn_cert_compression(p.s.conn, TERN_WRITE), 0);
    qpair_free(&p);
    tern_config_free(s);
    tern_config_free(c);
  }
  if (n >= 2) {
    tern_config *s = server_config(&algs[0], 1, 0), *c = client_config(&algs[1], 1, 0);
    CHECK_EQ_INT(quic_run(&p, c, s), TERN_OK);
    CHECK_EQ_INT(tern_conn_cert_compression(p.c.conn, TERN_READ), 0);
    qpair_free(&p);
    tern_config_free(s);
    tern_config_free(c);
  }
}

/* Compressed once per chain and algorithm: every connection sends the
   configuration's bytes, made when the chain or the setting arrived. */
static void test_compressed_once(void) {
  uint16_t algs[3];
  size_t n = available(algs);
  tern_config *s = server_config(algs, n, 0), *c = client_config(algs, 1, 0);
  const uint8_t *first = s->chain->compressed[algs[0] - 1];
  qpair p;
  for (size_t i = 0; i < n; i++) CHECK(s->chain->compressed[algs[i] - 1] != NULL);
  for (int round = 0; round < 3; round++) {
    CHECK_EQ_INT(quic_run(&p, c, s), TERN_OK);
    CHECK_EQ_INT(tern_conn_cert_compression(p.c.conn, TERN_READ), algs[0]);
    qpair_free(&p);
  }
  CHECK(s->chain->compressed[algs[0] - 1] == first);
  /* bad settings are refused and change nothing */
  {
    uint16_t twice[2] = {algs[0], algs[0]}, unknown = 9;
    CHECK_EQ_INT(tern_config_set_cert_compression(s, twice, 2), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_config_set_cert_compression(s, &unknown, 1), TERN_ERR_UNSUPPORTED);
    CHECK_EQ_INT(tern_config_set_cert_compression(s, NULL, 1), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_config_set_cert_compression(NULL, NULL, 0), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(s->n_cert_comp, n);
  }
  tern_config_free(s);
  tern_config_free(c);
}

/* Post-handshake authentication over TCP: the client compresses a
   Certificate with a request context, per message. */
static void test_post_handshake(void) {
  uint16_t algs[3];
  size_t n = available(algs);
  tern_config *s = server_config(&algs[n - 1], 1, 0), *c = client_config(algs, n, 1);
  const uint8_t *der;
  size_t len;
  tern_conn *tc, *ts;
  CHECK_EQ_INT(tern_config_set_verify_peer(s, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_post_handshake_auth(c, 1), TERN_OK);
  CHECK_EQ_INT(tcp_run(&tc, &ts, c, s), TERN_OK);
  CHECK_EQ_INT(tern_conn_cert_compression(ts, TERN_READ), 0);
  CHECK_EQ_INT(tern_tls_request_client_auth(ts), TERN_OK);
  CHECK_EQ_INT(pump(ts, tc), TERN_OK);
  CHECK_EQ_INT(pump(tc, ts), TERN_OK);
  CHECK_EQ_INT(tern_tls_client_auths_completed(ts), 1);
  CHECK_EQ_INT(tern_conn_peer_certificate(ts, &der, &len), TERN_OK);
  CHECK_EQ_INT(tern_conn_cert_compression(ts, TERN_READ), algs[n - 1]);
  CHECK_EQ_INT(tern_conn_cert_compression(tc, TERN_WRITE), algs[n - 1]);
  tern_conn_free(tc);
  tern_conn_free(ts);
  tern_config_free(s);
  tern_config_free(c);
}

/* ---- a hostile server ---- */

/* The uncompressed Certificate body of the server's chain. */
static size_t certificate_body(uint8_t *out, size_t cap) {
  tern_cert_chain *chain = NULL;
  tern_certificate cert;
  STACK_OF(X509) *extra = pki_chain(&server_pki);
  size_t len = 0;
  CHECK_EQ_INT(tern_cert_chain_from_objects(&chain, server_pki.leaf, extra,
                                            server_pki.leaf_key), TERN_OK);
  memset(&cert, 0, sizeof cert);
  cert.n = cert.count = chain->n;
  for (size_t i = 0; i < chain->n; i++) {
    cert.entries[i].cert_data.p = chain->der[i];
    cert.entries[i].cert_data.len = chain->der_len[i];
  }
  CHECK_EQ_INT(tern_msg_write_certificate(&cert, out, cap, &len), TERN_OK);
  tern_cert_chain_free(chain);
  sk_X509_pop_free(extra, X509_free);
  memmove(out, out + 4, len - 4);
  return len - 4;
}

/* A whole CompressedCertificate message into out[0..cap); returns its length. */
static size_t make_message(uint16_t alg, uint32_t announced, const uint8_t *data, size_t len,
                           uint8_t *out, size_t cap) {
  tern_compressed_certificate cc;
  size_t n = 0;
  uint8_t *p = out;
  cc.algorithm = alg;
  cc.uncompressed_length = announced;
  cc.compressed.p = data;
  cc.compressed.len = len;
  if (len == 0) { /* the writer refuses an empty vector: by hand */
    p[0] = TERN_HS_COMPRESSED_CERTIFICATE;
    p[1] = 0, p[2] = 0, p[3] = 8;
    p[4] = (uint8_t)(alg >> 8), p[5] = (uint8_t)alg;
    p[6] = (uint8_t)(announced >> 16), p[7] = (uint8_t)(announced >> 8), p[8] = (uint8_t)announced;
    p[9] = p[10] = p[11] = 0;
    return 12;
  }
  CHECK_EQ_INT(tern_msg_write_compressed_certificate(&cc, out, cap, &n), TERN_OK);
  return n;
}

/* Compresses body[0..len) with alg, returning the compressed bytes (a
   new buffer) taken from a message made by the crypto layer. */
static uint8_t *compress(uint16_t alg, const uint8_t *body, size_t len, size_t *out_len) {
  uint8_t *whole = malloc(len + 4), *msg = NULL, *data;
  size_t msg_len = 0;
  whole[0] = TERN_HS_CERTIFICATE;
  whole[1] = (uint8_t)(len >> 16), whole[2] = (uint8_t)(len >> 8), whole[3] = (uint8_t)len;
  memcpy(whole + 4, body, len);
  CHECK_EQ_INT(tern_certcomp_message(alg, whole, len + 4, &msg, &msg_len), TERN_OK);
  free(whole);
  *out_len = msg_len - 12;
  data = malloc(*out_len);
  memcpy(data, msg + 12, *out_len);
  OPENSSL_free(msg);
  return data;
}

/*
 * Runs a handshake in QUIC mode where the server's CompressedCertificate
 * is replaced by msg[0..len) before the client sees it; returns the
 * client's alert (0 when it did not fail) and the detail in detail.
 */
static uint8_t client_alert_for(const uint16_t *client_algs, size_t n_client, const uint8_t *msg,
                                size_t len, char *detail, size_t cap) {
  uint16_t server_algs[3];
  size_t n_server = available(server_algs);
  tern_config *s = server_config(server_algs, n_server, 0);
  tern_config *c = client_config(client_algs, n_client, 0);
  qpair p;
  uint8_t alert;
  uint8_t *hs, *out;
  size_t hs_len, off = 0, out_len = 0;
  int found = 0;
  CHECK_EQ_INT(qpair_init(&p, c, s, client_tp, sizeof client_tp, server_tp, sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL);
  qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_INITIAL);
  /* the server's handshake flight, message by message */
  hs = p.s.out[TERN_LEVEL_HANDSHAKE];
  hs_len = p.s.out_len[TERN_LEVEL_HANDSHAKE];
  out = malloc(hs_len + len);
  while (off + 4 <= hs_len) {
    size_t body = (size_t)hs[off + 1] << 16 | (size_t)hs[off + 2] << 8 | hs[off + 3];
    if (hs[off] == TERN_HS_COMPRESSED_CERTIFICATE) {
      memcpy(out + out_len, msg, len);
      out_len += len;
      found = 1;
    } else {
      memcpy(out + out_len, hs + off, 4 + body);
      out_len += 4 + body;
    }
    off += 4 + body;
  }
  CHECK(found);
  free(p.s.out[TERN_LEVEL_HANDSHAKE]);
  p.s.out[TERN_LEVEL_HANDSHAKE] = out;
  p.s.out_len[TERN_LEVEL_HANDSHAKE] = p.s.out_cap[TERN_LEVEL_HANDSHAKE] = out_len;
  qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_HANDSHAKE);
  alert = tern_conn_alert(p.c.conn);
  snprintf(detail, cap, "%s", tern_conn_error_detail(p.c.conn));
  qpair_free(&p);
  tern_config_free(s);
  tern_config_free(c);
  return alert;
}

static void expect_alert(const char *what, uint8_t got, uint8_t want, const char *detail) {
  if (got != want)
    fprintf(stderr, "%s: alert %u, expected %u (%s)\n", what, got, want, detail);
  CHECK_EQ_INT(got, want);
}

static void test_hostile(void) {
  uint16_t algs[3];
  size_t n = available(algs);
  uint8_t body[8192], msg[1 << 20], junk[600];
  size_t body_len = certificate_body(body, sizeof body);
  char detail[200];
  CHECK(RAND_bytes(junk, sizeof junk) == 1);
  junk[0] = 0xff; /* no valid zlib header (CMF 0xff), no zstd magic */

  for (size_t i = 0; i < n; i++) {
    uint16_t alg = algs[i];
    size_t packed_len, len, bomb_len;
    uint8_t *packed = compress(alg, body, body_len, &packed_len), *big, *bomb;
    char what[64];
    uint8_t a;

    /* the genuine message, made here, is taken */
    len = make_message(alg, (uint32_t)body_len, packed, packed_len, msg, sizeof msg);
    snprintf(what, sizeof what, "%s genuine", alg_names[alg]);
    /* compression is deterministic: the server's own bytes, taken */
    a = client_alert_for(&alg, 1, msg, len, detail, sizeof detail);
    expect_alert(what, a, 0, detail);

    /* uncompressed_length one short: the output passes it */
    len = make_message(alg, (uint32_t)body_len - 1, packed, packed_len, msg, sizeof msg);
    snprintf(what, sizeof what, "%s length - 1", alg_names[alg]);
    a = client_alert_for(&alg, 1, msg, len, detail, sizeof detail);
    expect_alert(what, a, TERN_ALERT_BAD_CERTIFICATE, detail);
    CHECK(strstr(detail, "more than") != NULL);
    /* one long: the output falls short */
    len = make_message(alg, (uint32_t)body_len + 1, packed, packed_len, msg, sizeof msg);
    snprintf(what, sizeof what, "%s length + 1", alg_names[alg]);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_BAD_CERTIFICATE, detail);
    /* oversize: past the message cap, refused before decompressing */
    len = make_message(alg, TERN_DEFAULT_MAX_MESSAGE - 3, packed, packed_len, msg, sizeof msg);
    snprintf(what, sizeof what, "%s oversize", alg_names[alg]);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_BAD_CERTIFICATE, detail);
    CHECK(strstr(detail, "outside") != NULL);
    len = make_message(alg, 0xffffff, packed, packed_len, msg, sizeof msg);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_BAD_CERTIFICATE, detail);
    /* zero length */
    len = make_message(alg, 0, packed, packed_len, msg, sizeof msg);
    snprintf(what, sizeof what, "%s zero length", alg_names[alg]);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_BAD_CERTIFICATE, detail);
    /* garbage */
    len = make_message(alg, (uint32_t)body_len, junk, sizeof junk, msg, sizeof msg);
    snprintf(what, sizeof what, "%s garbage", alg_names[alg]);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_BAD_CERTIFICATE, detail);
    /* truncated stream */
    len = make_message(alg, (uint32_t)body_len, packed, packed_len / 2, msg, sizeof msg);
    snprintf(what, sizeof what, "%s truncated", alg_names[alg]);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_BAD_CERTIFICATE, detail);
    /* bytes after the stream */
    big = malloc(packed_len + 3);
    memcpy(big, packed, packed_len);
    memset(big + packed_len, 0, 3);
    len = make_message(alg, (uint32_t)body_len, big, packed_len + 3, msg, sizeof msg);
    snprintf(what, sizeof what, "%s trailing bytes", alg_names[alg]);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_BAD_CERTIFICATE, detail);
    free(big);
    /* empty compressed_certificate_message<1..2^24-1> */
    len = make_message(alg, (uint32_t)body_len, NULL, 0, msg, sizeof msg);
    snprintf(what, sizeof what, "%s empty", alg_names[alg]);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_DECODE_ERROR, detail);
    /* a bomb: 8 MiB of zeros announced as a full-size message */
    big = calloc(1, 8u << 20);
    bomb = compress(alg, big, 8u << 20, &bomb_len);
    CHECK(bomb_len < 100000);
    len = make_message(alg, TERN_DEFAULT_MAX_MESSAGE - 4, bomb, bomb_len, msg, sizeof msg);
    snprintf(what, sizeof what, "%s bomb", alg_names[alg]);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_BAD_CERTIFICATE, detail);
    /* brotli's stream asks for a window (16 MiB, as our encoder sizes it to
       the input) past the decoder's memory cap: refused before any output */
    if (strstr(detail, alg == TERN_CERT_COMPRESSION_BROTLI ? "decoder memory" : "more than") == NULL)
      fprintf(stderr, "%s: %s\n", what, detail);
    CHECK(strstr(detail, alg == TERN_CERT_COMPRESSION_BROTLI ? "decoder memory" : "more than") !=
          NULL);
    free(bomb);
    /* what decompresses is no Certificate: decode_error, as if uncompressed */
    bomb = compress(alg, big, 100, &bomb_len);
    len = make_message(alg, 100, bomb, bomb_len, msg, sizeof msg);
    snprintf(what, sizeof what, "%s not a Certificate", alg_names[alg]);
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_DECODE_ERROR, detail);
    free(bomb);
    free(big);
    /* an algorithm we did not offer (a known one, and an unknown code) */
    if (n >= 2) {
      uint16_t other = algs[(i + 1) % n];
      len = make_message(alg, (uint32_t)body_len, packed, packed_len, msg, sizeof msg);
      snprintf(what, sizeof what, "%s not offered", alg_names[alg]);
      expect_alert(what, client_alert_for(&other, 1, msg, len, detail, sizeof detail),
                   TERN_ALERT_ILLEGAL_PARAMETER, detail);
    }
    len = make_message(0x4242, (uint32_t)body_len, packed, packed_len, msg, sizeof msg);
    snprintf(what, sizeof what, "unknown algorithm");
    expect_alert(what, client_alert_for(&alg, 1, msg, len, detail, sizeof detail),
                 TERN_ALERT_ILLEGAL_PARAMETER, detail);
    free(packed);
  }
  /* a client that offered nothing gets a CompressedCertificate anyway */
  {
    uint16_t alg = algs[0];
    size_t packed_len, len;
    uint8_t *packed = compress(alg, body, body_len, &packed_len);
    qpair p;
    len = make_message(alg, (uint32_t)body_len, packed, packed_len, msg, sizeof msg);
    {
      /* the client's configuration loses its algorithms after the
         ClientHello went out: it then offered nothing it would take */
      tern_config *s2 = server_config(&alg, 1, 0), *c2 = client_config(&alg, 1, 0);
      uint8_t *hs, *out;
      size_t hs_len, off = 0, out_len = 0;
      CHECK_EQ_INT(qpair_init(&p, c2, s2, client_tp, sizeof client_tp, server_tp,
                              sizeof server_tp), 0);
      CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
      CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
      qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL);
      qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_INITIAL);
      CHECK_EQ_INT(tern_config_set_cert_compression(c2, NULL, 0), TERN_OK);
      hs = p.s.out[TERN_LEVEL_HANDSHAKE];
      hs_len = p.s.out_len[TERN_LEVEL_HANDSHAKE];
      out = malloc(hs_len + len);
      while (off + 4 <= hs_len) {
        size_t b = (size_t)hs[off + 1] << 16 | (size_t)hs[off + 2] << 8 | hs[off + 3];
        memcpy(out + out_len, hs + off, 4 + b);
        out_len += 4 + b;
        off += 4 + b;
      }
      free(p.s.out[TERN_LEVEL_HANDSHAKE]);
      p.s.out[TERN_LEVEL_HANDSHAKE] = out;
      p.s.out_len[TERN_LEVEL_HANDSHAKE] = p.s.out_cap[TERN_LEVEL_HANDSHAKE] = out_len;
      CHECK(qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_HANDSHAKE) < 0);
      expect_alert("nothing offered", tern_conn_alert(p.c.conn), TERN_ALERT_UNEXPECTED_MESSAGE,
                   tern_conn_error_detail(p.c.conn));
      qpair_free(&p);
      tern_config_free(s2);
      tern_config_free(c2);
    }
    free(packed);
  }
}

/* A peer's brotli stream made with the largest window (16 MiB, as
   servers that compress with a default or maximal window send): the
   decoder sizes its ring buffer to the data, so a real chain stays far
   below the memory cap and decompresses. */
static void test_brotli_large_window(void) {
#ifdef TERN_HAVE_BROTLI
  uint8_t body[8192], packed[9000], out[8192];
  size_t body_len = certificate_body(body, sizeof body);
  for (int lgwin = 22; lgwin <= 24; lgwin++) {
    size_t packed_len = sizeof packed;
    CHECK(BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, lgwin, BROTLI_MODE_GENERIC, body_len,
                                body, &packed_len, packed) == BROTLI_TRUE);
    CHECK_EQ_INT(tern_certcomp_decompress(TERN_CERT_COMPRESSION_BROTLI, packed, packed_len, out,
                                          body_len), TERN_OK);
    CHECK(memcmp(out, body, body_len) == 0);
  }
#endif
}

/* The bytes of the server's first flight at the Handshake level, with
   and without compression, for each algorithm (printed for the README). */
static void test_flight_sizes(void) {
  uint16_t algs[3];
  size_t n = available(algs), plain;
  qpair p;
  tern_config *s = server_config(algs, n, 0), *c = client_config(NULL, 0, 0);
  CHECK_EQ_INT(quic_run(&p, c, s), TERN_OK);
  plain = p.s.sent_total[TERN_LEVEL_HANDSHAKE];
  printf("server Handshake flight (P-256 leaf + intermediate, test PKI): uncompressed %zu bytes\n", plain);
  qpair_free(&p);
  tern_config_free(c);
  for (size_t i = 0; i < n; i++) {
    c = client_config(&algs[i], 1, 0);
    CHECK_EQ_INT(quic_run(&p, c, s), TERN_OK);
    printf("  with %-6s %zu bytes\n", alg_names[algs[i]], p.s.sent_total[TERN_LEVEL_HANDSHAKE]);
    CHECK(p.s.sent_total[TERN_LEVEL_HANDSHAKE] < plain);
    qpair_free(&p);
    tern_config_free(c);
  }
  tern_config_free(s);
}

int main(void) {
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 1, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&client_pki, PKI_KEY_P256, "client", 0, PKI_VALID_NOW), 0);
  test_each_algorithm();
  test_choice();
  test_compressed_once();
  test_post_handshake();
  test_hostile();
  test_brotli_large_window();
  test_flight_sizes();
  pki_free(&server_pki);
  pki_free(&client_pki);
  return check_report();
}
