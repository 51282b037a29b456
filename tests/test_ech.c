/*
 * test_ech.c - Encrypted ClientHello (RFC 9849), tern client <-> tern
 * server in memory, over QUIC (qpair) and over TCP (records): ECHConfig
 * generation and parsing with hostile input; ECH accepted (X25519 and
 * P-256 keys, a retired key still accepted); rejected (a key the server
 * does not hold) ending in ech_required with the server's retry_configs,
 * then a retry with them accepted; a server without ECH keys; ECH through
 * a HelloRetryRequest; 0-RTT with ECH (§6.1): accepted with ECH,
 * refused when ECH is rejected, refused by a HelloRetryRequest (the GREASE
 * PSK identity repeated in the second outer hello), and accepted from a
 * GREASE ECH client; and the alerts for a malformed or forbidden
 * encrypted_client_hello, in the outer hello and inside the encrypted
 * inner one (re-encrypted here with the server's key).
 */
#include <openssl/x509.h>
#include <tern.h>

#include "check.h"
#include "crypto/hpke.h"
#include "engine/ech.h"
#include "pki.h"
#include "qpair.h"
#include "sessions.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x0f, 0x00};
static const uint8_t server_tp[] = {0x00, 0x08, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02, 0x03, 0x04};
static const char *PUBLIC = "public.example";
static const char *INNER = "localhost";

static pki srv;
static X509_STORE *trust;

typedef struct key {
  uint8_t config[TERN_ECH_CONFIG_MAX];
  size_t len;
  uint8_t sk[32];
} key;
static key key_a, key_b, key_p256;

/* An ECHConfigList holding one config. */
static size_t list_of(const key *k, uint8_t *out) {
  out[0] = (uint8_t)(k->len >> 8);
  out[1] = (uint8_t)k->len;
  memcpy(out + 2, k->config, k->len);
  return k->len + 2;
}

static tern_config *server_cfg(const key *const *keys, const int *retry, size_t n,
                               uint16_t group) {
  tern_config *cfg = tern_config_new(TERN_SERVER);
  STACK_OF(X509) *chain = pki_chain(&srv);
  CHECK_EQ_INT(tern_config_set_cert(cfg, srv.leaf, chain, srv.leaf_key), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  for (size_t i = 0; i < n; i++)
    CHECK_EQ_INT(tern_config_add_ech_key(cfg, keys[i]->config, keys[i]->len, keys[i]->sk, 32,
                                         retry[i]),
                 TERN_OK);
  if (group) CHECK_EQ_INT(tern_config_set_groups(cfg, &group, 1), TERN_OK);
  return cfg;
}

static tern_config *client_cfg(void) {
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  uint16_t share = TERN_GROUP_X25519;
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, trust), TERN_OK);
  CHECK_EQ_INT(tern_config_set_key_share_groups(cfg, &share, 1), TERN_OK);
  return cfg;
}

/* ---- TCP: the two byte streams joined in memory ---- */

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

typedef struct pair {
  int quic;
  qpair q;
  tern_conn *c, *s;
} pair;

/* Makes a pair of either mode with the client offering list (or nothing). */
static void pair_new(pair *p, int quic, tern_config *ccfg, tern_config *scfg, const uint8_t *list,
                     size_t list_len) {
  memset(p, 0, sizeof *p);
  p->quic = quic;
  if (quic) {
    CHECK_EQ_INT(qpair_init(&p->q, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    p->c = p->q.c.conn;
    p->s = p->q.s.conn;
  } else {
    p->c = tern_conn_new_tls(ccfg, NULL);
    p->s = tern_conn_new_tls(scfg, NULL);
  }
  CHECK(p->c != NULL && p->s != NULL);
  CHECK_EQ_INT(tern_conn_set_server_name(p->c, INNER), TERN_OK);
  if (list != NULL) CHECK_EQ_INT(tern_conn_set_ech_config_list(p->c, list, list_len), TERN_OK);
}

static int pair_run(pair *p) {
  int rc;
  if (p->quic) return qpair_run(&p->q);
  rc = tern_handshake(p->c);
  if (rc < 0) return rc;
  for (int i = 0; i < 50; i++) {
    int a = pump(p->c, p->s), b;
    if (a != TERN_OK) return a;
    b = pump(p->s, p->c);
    if (b != TERN_OK) return b;
    if (tern_conn_handshake_done(p->c) && tern_conn_handshake_done(p->s)) return TERN_OK;
  }
  return TERN_ERR_STATE;
}

static void pair_free(pair *p) {
  if (p->quic) {
    qpair_free(&p->q);
  } else {
    tern_conn_free(p->c);
    tern_conn_free(p->s);
  }
}

static void report(const char *what, const pair *p) {
  fprintf(stderr, "  %s: client %s (alert %u) / server %s (alert %u)\n", what,
          tern_conn_error_detail(p->c), tern_conn_alert(p->c), tern_conn_error_detail(p->s),
          tern_conn_alert(p->s));
}

/* ---- every random byte from the configured source ---- */

/* A counter: the same bytes for every connection made with it. */
static int counter_random(void *ctx, uint8_t *out, size_t len) {
  unsigned *n = ctx;
  for (size_t i = 0; i < len; i++) out[i] = (uint8_t)((*n)++ * 151u + 7u);
  return 0;
}

/*
 * tern_config_set_random promises that every random byte comes from the
 * source, so a trace replays byte for byte: two clients offering ECH on
 * the same source write the same ClientHelloOuter, its HPKE ephemeral key
 * (enc) included. The HPKE key used to come from RAND_priv_bytes: the
 * fuzz harness's ECH-rejected recordings (fuzz/corpus/tls_client/ech-reject)
 * did not replay, their transcript (the outer hello) being another.
 */
static void deterministic_outer(int kem) {
  uint8_t list[TERN_ECH_CONFIG_MAX + 2], hello[2][4096];
  size_t n = list_of(kem ? &key_p256 : &key_a, list), len[2] = {0, 0};
  for (int i = 0; i < 2; i++) {
    unsigned counter = 0;
    tern_config *cfg = client_cfg();
    tern_conn *c;
    const uint8_t *out;
    CHECK_EQ_INT(tern_config_set_random(cfg, counter_random, &counter), TERN_OK);
    c = tern_conn_new_tls(cfg, NULL);
    CHECK(c != NULL);
    CHECK_EQ_INT(tern_conn_set_server_name(c, INNER), TERN_OK);
    CHECK_EQ_INT(tern_conn_set_ech_config_list(c, list, n), TERN_OK);
    CHECK_EQ_INT(tern_handshake(c), TERN_WANT_READ);
    out = tern_tls_output(c, &len[i]);
    CHECK(out != NULL && len[i] > 0 && len[i] <= sizeof hello[i]);
    if (out != NULL && len[i] <= sizeof hello[i]) memcpy(hello[i], out, len[i]);
    CHECK_EQ_INT(tern_conn_ech_status(c), TERN_ECH_OFFERED);
    tern_conn_free(c);
    tern_config_free(cfg);
  }
  CHECK(len[0] == len[1] && memcmp(hello[0], hello[1], len[0]) == 0);
}

/* ---- ECHConfig: generation and parsing ---- */

static void configs(void) {
  tern_ech_config cfg;
  uint8_t list[2 * TERN_ECH_CONFIG_MAX], buf[TERN_ECH_CONFIG_MAX], sk[32];
  uint16_t kdf, aead;
  size_t n, len;

  CHECK_EQ_INT(tern_ech_config_generate(TERN_ECH_KEM_X25519, 7, PUBLIC, 32, key_a.config,
                                        sizeof key_a.config, &key_a.len, key_a.sk),
               TERN_OK);
  CHECK_EQ_INT(tern_ech_config_generate(TERN_ECH_KEM_X25519, 9, PUBLIC, 32, key_b.config,
                                        sizeof key_b.config, &key_b.len, key_b.sk),
               TERN_OK);
  CHECK_EQ_INT(tern_ech_config_generate(TERN_ECH_KEM_P256, 11, PUBLIC, 0, key_p256.config,
                                        sizeof key_p256.config, &key_p256.len, key_p256.sk),
               TERN_OK);
  CHECK_EQ_INT(tern_ech_config_parse(key_a.config, key_a.len, &cfg), TERN_OK);
  CHECK_EQ_INT(cfg.config_id, 7);
  CHECK_EQ_INT(cfg.kem, TERN_ECH_KEM_X25519);
  CHECK_EQ_INT(cfg.public_key.len, 32);
  CHECK_EQ_INT(cfg.n_suites, 2);
  CHECK_EQ_INT(cfg.maximum_name_length, 32);
  CHECK(cfg.public_name.len == strlen(PUBLIC) &&
        memcmp(cfg.public_name.p, PUBLIC, cfg.public_name.len) == 0);
  CHECK_EQ_INT(tern_ech_config_parse(key_p256.config, key_p256.len, &cfg), TERN_OK);
  CHECK_EQ_INT(cfg.public_key.len, 65);

  /* every truncation and every one-byte extension is refused, never read past */
  for (size_t cut = 0; cut < key_a.len; cut++)
    CHECK_EQ_INT(tern_ech_config_parse(key_a.config, cut, &cfg), TERN_ERR_MALFORMED);
  memcpy(buf, key_a.config, key_a.len);
  buf[key_a.len] = 0;
  CHECK_EQ_INT(tern_ech_config_parse(buf, key_a.len + 1, &cfg), TERN_ERR_MALFORMED);
  /* each length field one too long or too short */
  {
    size_t offs[] = {2, 7, 7 + 2 + 32, 7 + 2 + 32 + 2 + 8 + 1};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
      for (int d = -1; d <= 1; d += 2) {
        memcpy(buf, key_a.config, key_a.len);
        if (offs[i] == 7 + 2 + 32 + 2 + 8 + 1) buf[offs[i]] = (uint8_t)(buf[offs[i]] + d);
        else buf[offs[i] + 1] = (uint8_t)(buf[offs[i] + 1] + d);
        CHECK_EQ_INT(tern_ech_config_parse(buf, key_a.len, &cfg), TERN_ERR_MALFORMED);
      }
    }
  }
  /* another version: skipped by length, not parsed */
  memcpy(buf, key_a.config, key_a.len);
  buf[0] = 0xfe;
  buf[1] = 0x0a;
  CHECK_EQ_INT(tern_ech_config_parse(buf, key_a.len, &cfg), TERN_ERR_UNSUPPORTED);
  /* a list of [other version, good one]: the good one is picked */
  list[0] = (uint8_t)((2 * key_a.len) >> 8);
  list[1] = (uint8_t)(2 * key_a.len);
  memcpy(list + 2, buf, key_a.len);
  memcpy(list + 2 + key_a.len, key_b.config, key_b.len);
  CHECK_EQ_INT(tern_ech_config_list_pick(list, 2 + 2 * key_a.len, &cfg, &kdf, &aead), TERN_OK);
  CHECK_EQ_INT(cfg.config_id, 9);
  CHECK_EQ_INT(kdf, TERN_HPKE_KDF_SHA256);
  CHECK_EQ_INT(aead, TERN_HPKE_AEAD_AES128GCM);
  /* only the unknown version: nothing usable */
  list[0] = (uint8_t)(key_a.len >> 8);
  list[1] = (uint8_t)key_a.len;
  CHECK_EQ_INT(tern_ech_config_list_pick(list, 2 + key_a.len, &cfg, &kdf, &aead),
               TERN_ERR_UNSUPPORTED);
  /* list framing */
  n = list_of(&key_a, list);
  for (size_t cut = 0; cut < n; cut++)
    CHECK(tern_ech_config_list_pick(list, cut, &cfg, &kdf, &aead) == TERN_ERR_MALFORMED);
  list[1] ^= 1;
  CHECK_EQ_INT(tern_ech_config_list_check(list, n), TERN_ERR_MALFORMED);
  /* a P-256 config whose public key is not a point on the curve is
     unusable: a client used to take it and fail its first hello with
     internal_error (found by the ech fuzz target) */
  {
    tern_config *cc = client_cfg();
    tern_conn *conn = tern_conn_new_tls(cc, NULL);
    n = list_of(&key_p256, list);
    CHECK(list[2 + 9] == 0x04);          /* the uncompressed point's tag */
    list[2 + 9] = 0xff;
    CHECK_EQ_INT(tern_ech_config_list_pick(list, n, &cfg, &kdf, &aead), TERN_ERR_UNSUPPORTED);
    CHECK_EQ_INT(tern_conn_set_ech_config_list(conn, list, n), TERN_ERR_UNSUPPORTED);
    list[2 + 9] = 0x04;
    list[2 + 9 + 64] ^= 1;               /* off the curve */
    CHECK_EQ_INT(tern_ech_config_list_pick(list, n, &cfg, &kdf, &aead), TERN_ERR_UNSUPPORTED);
    list[2 + 9 + 64] ^= 1;
    CHECK_EQ_INT(tern_ech_config_list_pick(list, n, &cfg, &kdf, &aead), TERN_OK);
    tern_conn_free(conn);
    tern_config_free(cc);
  }
  /* a usable config followed by an entry that overruns the list: the
     list is malformed, whatever comes first (the pick used to stop at the
     first usable config and take it; found by the ech fuzz target) */
  {
    tern_config *cc = client_cfg();
    tern_conn *conn = tern_conn_new_tls(cc, NULL);
    n = list_of(&key_a, list);
    memcpy(list + n, "\xfe\x0d\x00\x40\x01", 5);
    n += 5;
    list[0] = (uint8_t)((n - 2) >> 8), list[1] = (uint8_t)(n - 2);
    CHECK_EQ_INT(tern_ech_config_list_check(list, n), TERN_ERR_MALFORMED);
    CHECK_EQ_INT(tern_ech_config_list_pick(list, n, &cfg, &kdf, &aead), TERN_ERR_MALFORMED);
    CHECK_EQ_INT(tern_conn_set_ech_config_list(conn, list, n), TERN_ERR_MALFORMED);
    tern_conn_free(conn);
    tern_config_free(cc);
  }
  /* a mandatory extension (high bit) makes the config unusable */
  {
    size_t l = key_a.len;
    memcpy(buf, key_a.config, l);
    buf[l - 1] = 4;                    /* extensions<4> */
    buf[l] = 0x80, buf[l + 1] = 0x01, buf[l + 2] = 0, buf[l + 3] = 0;
    buf[2] = (uint8_t)((l + 4 - 4) >> 8), buf[3] = (uint8_t)(l + 4 - 4);
    CHECK_EQ_INT(tern_ech_config_parse(buf, l + 4, &cfg), TERN_OK);
    CHECK(cfg.mandatory_unknown);
    list[0] = (uint8_t)((l + 4) >> 8), list[1] = (uint8_t)(l + 4);
    memcpy(list + 2, buf, l + 4);
    CHECK_EQ_INT(tern_ech_config_list_pick(list, l + 6, &cfg, &kdf, &aead), TERN_ERR_UNSUPPORTED);
    /* nor does a server take it as its key: it would publish a config no
       client can use (found by the ech fuzz target, fuzz/crashes/ech/) */
    {
      tern_config *s = tern_config_new(TERN_SERVER);
      CHECK_EQ_INT(tern_config_add_ech_key(s, buf, l + 4, key_a.sk, 32, 1), TERN_ERR_UNSUPPORTED);
      /* nor one whose cipher suites are all unknown to tern */
      memcpy(buf, key_a.config, l);
      CHECK(buf[41] == 0 && buf[42] == 8);   /* cipher_suites<8> */
      for (size_t i = 0; i < 4; i++) buf[43 + 2 * i] = 0x01, buf[44 + 2 * i] = 0x03;
      CHECK_EQ_INT(tern_ech_config_parse(buf, l, &cfg), TERN_OK);
      CHECK_EQ_INT(tern_config_add_ech_key(s, buf, l, key_a.sk, 32, 1), TERN_ERR_UNSUPPORTED);
      CHECK_EQ_INT(tern_config_add_ech_key(s, key_a.config, l, key_a.sk, 32, 1), TERN_OK);
      tern_config_free(s);
    }
    /* the same extension twice is malformed */
    buf[l - 1] = 8;
    buf[l + 4] = 0x80, buf[l + 5] = 0x01, buf[l + 6] = 0, buf[l + 7] = 0;
    buf[2] = (uint8_t)((l + 8 - 4) >> 8), buf[3] = (uint8_t)(l + 8 - 4);
    CHECK_EQ_INT(tern_ech_config_parse(buf, l + 8, &cfg), TERN_ERR_MALFORMED);
  }
  /* names that are not DNS names, and an IPv4 address */
  CHECK_EQ_INT(tern_ech_config_generate(TERN_ECH_KEM_X25519, 1, "192.0.2.1", 0, buf, sizeof buf,
                                        &len, sk), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_ech_config_generate(TERN_ECH_KEM_X25519, 1, "a..b", 0, buf, sizeof buf,
                                        &len, sk), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_ech_config_generate(TERN_ECH_KEM_X25519, 1, "bad_name.example", 0, buf,
                                        sizeof buf, &len, sk), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_ech_config_generate(0x0011, 1, PUBLIC, 0, buf, sizeof buf, &len, sk),
               TERN_ERR_UNSUPPORTED);
  CHECK_EQ_INT(tern_ech_config_generate(TERN_ECH_KEM_X25519, 1, PUBLIC, 0, buf, 20, &len, sk),
               TERN_ERR_BUFFER_TOO_SMALL);
  /* a server refuses a key that is not its config's, and client configs */
  {
    tern_config *s = tern_config_new(TERN_SERVER), *c = tern_config_new(TERN_CLIENT);
    uint8_t out[4096];
    CHECK_EQ_INT(tern_config_add_ech_key(s, key_a.config, key_a.len, key_b.sk, 32, 1),
                 TERN_ERR_MALFORMED);
    CHECK_EQ_INT(tern_config_add_ech_key(c, key_a.config, key_a.len, key_a.sk, 32, 1),
                 TERN_ERR_STATE);
    CHECK_EQ_INT(tern_config_ech_config_list(s, out, sizeof out, &len), TERN_ERR_STATE);
    CHECK_EQ_INT(tern_config_add_ech_key(s, key_a.config, key_a.len, key_a.sk, 32, 1), TERN_OK);
    CHECK_EQ_INT(tern_config_add_ech_key(s, key_b.config, key_b.len, key_b.sk, 32, 0), TERN_OK);
    CHECK_EQ_INT(tern_config_ech_config_list(s, out, sizeof out, &len), TERN_OK);
    n = list_of(&key_a, list);
    CHECK(len == n && memcmp(out, list, n) == 0); /* the retired key is not published */
    tern_config_free(s);
    tern_config_free(c);
  }
}

/* ---- handshakes ---- */

static int runs_accepted, runs_rejected;

/* ECH accepted with key k (the server holding keys), optionally via HRR. */
static void accepted(int quic, const key *k, const key *const *keys, const int *retry, size_t n,
                     int hrr) {
  tern_config *s = server_cfg(keys, retry, n, hrr ? TERN_GROUP_SECP256R1 : 0), *c = client_cfg();
  uint8_t list[TERN_ECH_CONFIG_MAX + 2];
  size_t len = list_of(k, list);
  pair p;
  int rc;
  pair_new(&p, quic, c, s, list, len);
  CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_OFFERED);
  rc = pair_run(&p);
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) report("accepted", &p);
  CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_ACCEPTED);
  CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_ACCEPTED);
  CHECK_EQ_INT(tern_conn_used_hrr(p.c), hrr);
  CHECK_EQ_INT(tern_conn_used_hrr(p.s), hrr);
  CHECK(tern_conn_server_name(p.s) != NULL && strcmp(tern_conn_server_name(p.s), INNER) == 0);
  CHECK(strcmp(tern_conn_ech_outer_name(p.s), PUBLIC) == 0);
  if (rc == TERN_OK) runs_accepted++;
  pair_free(&p);
  tern_config_free(s);
  tern_config_free(c);
}

/* ECH rejected (the client's key is unknown): ech_required after the
   server authenticated for public_name; then a retry with retry_configs. */
static void rejected_then_retry(int quic, int hrr) {
  const key *keys[1] = {&key_a};
  int retry[1] = {1};
  tern_config *s = server_cfg(keys, retry, 1, hrr ? TERN_GROUP_SECP256R1 : 0), *c = client_cfg();
  uint8_t list[TERN_ECH_CONFIG_MAX + 2], want[TERN_ECH_CONFIG_MAX + 2], again[4096];
  size_t len = list_of(&key_b, list), want_len = list_of(&key_a, want), got_len = 0;
  const uint8_t *got = NULL;
  pair p;
  int rc;
  pair_new(&p, quic, c, s, list, len);
  rc = pair_run(&p);
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(p.c), TERN_ALERT_ECH_REQUIRED);
  if (tern_conn_alert(p.c) != TERN_ALERT_ECH_REQUIRED) report("rejected", &p);
  CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_REJECTED);
  CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_REJECTED);
  CHECK_EQ_INT(tern_conn_used_hrr(p.c), hrr);
  /* the server ran the outer hello: it saw only the public name */
  CHECK(tern_conn_server_name(p.s) != NULL && strcmp(tern_conn_server_name(p.s), PUBLIC) == 0);
  CHECK_EQ_INT(tern_conn_ech_retry_configs(p.c, &got, &got_len), TERN_OK);
  CHECK(got_len == want_len && got != NULL && memcmp(got, want, want_len) == 0);
  if (got_len && got_len <= sizeof again) memcpy(again, got, got_len);
  if (rc == TERN_ERR_ALERT) runs_rejected++;
  pair_free(&p);
  /* the retry, with what the server sent */
  pair_new(&p, quic, c, s, again, got_len);
  rc = pair_run(&p);
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) report("retry", &p);
  CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_ACCEPTED);
  CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_ACCEPTED);
  if (rc == TERN_OK) runs_accepted++;
  pair_free(&p);
  tern_config_free(s);
  tern_config_free(c);
}

/* A server without ECH keys: no retry_configs; the client still refuses
   to go on (ech_required). A client without ECH: the server goes on. */
static void no_ech_server(int quic) {
  tern_config *s = server_cfg(NULL, NULL, 0, 0), *c = client_cfg();
  const key *keys[1] = {&key_a};
  int retry[1] = {1};
  tern_config *s2 = server_cfg(keys, retry, 1, 0);
  uint8_t list[TERN_ECH_CONFIG_MAX + 2];
  size_t len = list_of(&key_a, list), got_len;
  const uint8_t *got;
  pair p;
  pair_new(&p, quic, c, s, list, len);
  CHECK_EQ_INT(pair_run(&p), TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(p.c), TERN_ALERT_ECH_REQUIRED);
  CHECK_EQ_INT(tern_conn_ech_retry_configs(p.c, &got, &got_len), TERN_ERR_STATE);
  CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_NONE);
  pair_free(&p);
  pair_new(&p, quic, c, s2, NULL, 0);
  CHECK_EQ_INT(pair_run(&p), TERN_OK);
  CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_NONE);
  CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_NONE);
  pair_free(&p);
  tern_config_free(s);
  tern_config_free(s2);
  tern_config_free(c);
}

/* Server s issues one ticket an hour long and client c keeps what it is
   given (the sessions of tests/sessions.h, emptied), both on the test's
   clock; with early, 0-RTT on both (the server taking up to 16 KB within
   a 10 s window). */
static void resumable(tern_config *s, tern_config *c, int early) {
  CHECK_EQ_INT(tern_config_set_clock(s, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(c, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_tickets(s, 1, 3600), TERN_OK);
  if (early) {
    CHECK_EQ_INT(tern_config_set_early_data(s, 16384, 10000), TERN_OK);
    CHECK_EQ_INT(tern_config_set_early_data(c, 1, 0), TERN_OK);
  }
  CHECK_EQ_INT(tern_config_set_new_session_callback(c, on_session, NULL), TERN_OK);
  n_sessions = 0;
}

/* Resumption with ECH accepted: the ticket is for the inner name, offered
   inside ClientHelloInner only, and taken by the server (TCP: the tickets
   come after the handshake, pumped by pair_run). */
static void resumption(int quic) {
  const key *keys[1] = {&key_a};
  int retry[1] = {1};
  tern_config *s = server_cfg(keys, retry, 1, 0), *c = client_cfg();
  uint8_t list[TERN_ECH_CONFIG_MAX + 2];
  size_t len = list_of(&key_a, list);
  pair p;
  resumable(s, c, 0);
  pair_new(&p, quic, c, s, list, len);
  CHECK_EQ_INT(pair_run(&p), TERN_OK);
  if (!quic) (void)pump(p.s, p.c); /* the ticket */
  CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_ACCEPTED);
  pair_free(&p);
  CHECK(n_sessions > 0);
  pair_new(&p, quic, c, s, list, len);
  if (n_sessions > 0)
    CHECK_EQ_INT(tern_conn_set_session(p.c, last_session()->blob, last_session()->len, clock_now),
                 TERN_OK);
  CHECK_EQ_INT(pair_run(&p), TERN_OK);
  CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_ACCEPTED);
  CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_ACCEPTED);
  CHECK_EQ_INT(tern_conn_resumed(p.c), 1);
  CHECK_EQ_INT(tern_conn_resumed(p.s), 1);
  pair_free(&p);
  tern_config_free(s);
  tern_config_free(c);
}

/* The extension types of a ClientHello message, in order; their count. */
static size_t ch_ext_types(const uint8_t *msg, size_t len, uint16_t *types, size_t cap) {
  size_t off = 4 + 2 + 32, n = 0, end;
  off += 1 + msg[off];
  off += 2 + (size_t)(msg[off] << 8 | msg[off + 1]);
  off += 1 + msg[off];
  end = off + 2 + (size_t)(msg[off] << 8 | msg[off + 1]);
  off += 2;
  while (off + 4 <= end && end <= len && n < cap) {
    types[n++] = (uint16_t)(msg[off] << 8 | msg[off + 1]);
    off += 4 + (size_t)(msg[off + 2] << 8 | msg[off + 3]);
  }
  return n;
}

/*
 * 0-RTT with ECH (RFC 9849 §6.1): the client resumes a session of the
 * inner name with early data, under ClientHelloInner's keys. The outer
 * hello carries early_data and a GREASE pre_shared_key (last). With the
 * server's current key ECH is accepted and so is the early data (TCP: the
 * server reads it; QUIC: both sides hold the same 0-RTT key). With a
 * stale key ECH is rejected: the client reports its early data rejected
 * and sends no more, the server (on ClientHelloOuter: no PSK it knows)
 * never installs a 0-RTT key and, over TCP, skips the early record
 * instead of failing on it, and the client ends with ech_required.
 */
static int runs_early;
static void early_data(int quic, int stale) {
  static const uint8_t early[] = "GET /early-under-ech";
  const key *keys[1] = {&key_a};
  int retry[1] = {1};
  tern_config *s = server_cfg(keys, retry, 1, 0), *c = client_cfg();
  uint8_t list[TERN_ECH_CONFIG_MAX + 2], got[256], ea[32], eb[32];
  size_t len = list_of(&key_a, list), n = 0, k, out_len = 0;
  const uint8_t *out;
  uint16_t types[64];
  size_t nt;
  int rc, has_early = 0, psk_last;
  pair p;
  resumable(s, c, 1);
  pair_new(&p, quic, c, s, list, len);
  CHECK_EQ_INT(pair_run(&p), TERN_OK);
  if (!quic) (void)pump(p.s, p.c); /* the ticket */
  pair_free(&p);
  CHECK(n_sessions > 0);
  if (n_sessions == 0) goto done;
  clock_now += 1000;

  if (stale) len = list_of(&key_b, list);
  pair_new(&p, quic, c, s, list, len);
  CHECK_EQ_INT(tern_conn_set_session(p.c, last_session()->blob, last_session()->len, clock_now),
               TERN_OK);
  CHECK_EQ_INT(tern_handshake(p.c), TERN_WANT_READ);
  CHECK_EQ_INT(tern_conn_early_data_status(p.c), TERN_EARLY_DATA_OFFERED);
  if (!quic) CHECK_EQ_INT(tern_tls_write(p.c, early, sizeof early - 1), TERN_OK);
  /* ClientHelloOuter (TCP: after the record header) */
  if (quic) {
    out = p.q.c.out[TERN_LEVEL_INITIAL];
    out_len = p.q.c.out_len[TERN_LEVEL_INITIAL];
  } else {
    out = tern_tls_output(p.c, &out_len);
    out += 5;
    out_len -= 5;
  }
  nt = ch_ext_types(out, out_len, types, 64);
  for (size_t i = 0; i < nt; i++) has_early |= types[i] == 0x002a;
  psk_last = nt > 0 && types[nt - 1] == 0x0029;
  CHECK(has_early);
  CHECK(psk_last);
  rc = pair_run(&p);
  if (!stale) {
    CHECK_EQ_INT(rc, TERN_OK);
    if (rc != TERN_OK) report("early, ECH accepted", &p);
    CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_ACCEPTED);
    CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_ACCEPTED);
    CHECK_EQ_INT(tern_conn_resumed(p.s), 1);
    CHECK_EQ_INT(tern_conn_early_data_status(p.c), TERN_EARLY_DATA_ACCEPTED);
    CHECK_EQ_INT(tern_conn_early_data_status(p.s), TERN_EARLY_DATA_ACCEPTED);
    CHECK_EQ_INT(tern_export_early_keying_material(p.c, "e", NULL, 0, ea, sizeof ea), TERN_OK);
    CHECK_EQ_INT(tern_export_early_keying_material(p.s, "e", NULL, 0, eb, sizeof eb), TERN_OK);
    CHECK_MEM(ea, eb, sizeof ea);
    if (quic) {
      CHECK(p.q.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE] > 0);
      CHECK_EQ_INT(p.q.s.secret_len[TERN_LEVEL_EARLY][TERN_READ],
                   p.q.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE]);
      CHECK_MEM(p.q.s.secret[TERN_LEVEL_EARLY][TERN_READ],
                p.q.c.secret[TERN_LEVEL_EARLY][TERN_WRITE],
                p.q.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE]);
    } else {
      while (tern_tls_read(p.s, got + n, sizeof got - n, &k) == TERN_OK) n += k;
      CHECK_EQ_INT(n, sizeof early - 1);
      CHECK(n == sizeof early - 1 && memcmp(got, early, n) == 0);
    }
    if (rc == TERN_OK) runs_early++;
  } else {
    CHECK_EQ_INT(rc, TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(p.c), TERN_ALERT_ECH_REQUIRED);
    if (tern_conn_alert(p.c) != TERN_ALERT_ECH_REQUIRED) report("early, ECH rejected", &p);
    CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_REJECTED);
    CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_REJECTED);
    CHECK_EQ_INT(tern_conn_resumed(p.s), 0); /* the GREASE PSK is no ticket of its */
    CHECK_EQ_INT(tern_conn_early_data_status(p.c), TERN_EARLY_DATA_REJECTED);
    CHECK_EQ_INT(tern_conn_early_data_status(p.s), TERN_EARLY_DATA_REJECTED);
    CHECK_EQ_INT(tern_export_early_keying_material(p.c, "e", NULL, 0, ea, sizeof ea),
                 TERN_ERR_STATE);
    CHECK_EQ_INT(tern_export_early_keying_material(p.s, "e", NULL, 0, eb, sizeof eb),
                 TERN_ERR_STATE);
    if (quic) {
      CHECK_EQ_INT(p.q.s.secret_len[TERN_LEVEL_EARLY][TERN_READ], 0);
    } else {
      /* the server skipped the early record rather than failing on it:
         its handshake went on to its Finished; it read nothing */
      CHECK_EQ_INT(tern_conn_alert(p.s), 0);
      CHECK(tern_tls_read(p.s, got, sizeof got, &n) != TERN_OK);
      CHECK(tern_tls_write(p.c, early, 1) != TERN_OK);
    }
    if (rc == TERN_ERR_ALERT) runs_early++;
  }
  pair_free(&p);
done:
  tern_config_free(s);
  tern_config_free(c);
}

/* The first PSK identity of a ClientHello message's pre_shared_key
   (copied to out, at most cap bytes, its obfuscated_ticket_age to *age);
   its length, 0 when none. */
static size_t first_psk_identity(const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                                 uint32_t *age) {
  size_t off = 4 + 2 + 32, end;
  off += 1 + msg[off];
  off += 2 + (size_t)(msg[off] << 8 | msg[off + 1]);
  off += 1 + msg[off];
  end = off + 2 + (size_t)(msg[off] << 8 | msg[off + 1]);
  off += 2;
  while (off + 4 <= end && end <= len) {
    uint16_t type = (uint16_t)(msg[off] << 8 | msg[off + 1]);
    size_t l = (size_t)(msg[off + 2] << 8 | msg[off + 3]);
    if (type == 0x0029 && l >= 4) {
      size_t il = (size_t)(msg[off + 6] << 8 | msg[off + 7]);
      const uint8_t *a = msg + off + 8 + il;
      if (il > cap || off + 8 + il + 4 > len) return 0;
      memcpy(out, msg + off + 8, il);
      *age = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
      return il;
    }
    off += 4 + l;
  }
  return 0;
}

/* 0-RTT with ECH through a HelloRetryRequest (QUIC, the flights stepped
   by hand): the HRR refuses the early data, ECH is accepted and the
   session resumed on the second ClientHelloInner; both ClientHelloOuters
   carry the same GREASE PSK identity, and ages apart by the time elapsed
   (none here), as a real resumption would. */
static void early_data_hrr(void) {
  const key *keys[1] = {&key_a};
  int retry[1] = {1};
  tern_config *s = server_cfg(keys, retry, 1, TERN_GROUP_SECP256R1), *c = client_cfg();
  uint8_t list[TERN_ECH_CONFIG_MAX + 2], id1[512], id2[512];
  size_t len = list_of(&key_a, list), l1, l2;
  uint32_t age1 = 0, age2 = 1;
  pair p;
  int rc;
  resumable(s, c, 1);
  pair_new(&p, 1, c, s, list, len);
  CHECK_EQ_INT(pair_run(&p), TERN_OK);
  pair_free(&p);
  CHECK(n_sessions > 0);
  if (n_sessions > 0) {
    clock_now += 1000;
    pair_new(&p, 1, c, s, list, len);
    CHECK_EQ_INT(tern_conn_set_session(p.c, last_session()->blob, last_session()->len, clock_now),
                 TERN_OK);
    CHECK_EQ_INT(tern_handshake(p.c), TERN_WANT_READ);
    CHECK_EQ_INT(tern_conn_early_data_status(p.c), TERN_EARLY_DATA_OFFERED);
    l1 = first_psk_identity(p.q.c.out[TERN_LEVEL_INITIAL], p.q.c.out_len[TERN_LEVEL_INITIAL], id1,
                            sizeof id1, &age1);
    CHECK_EQ_INT(qpair_deliver(&p.q, &p.q.c, &p.q.s, TERN_LEVEL_INITIAL), TERN_OK); /* -> HRR */
    CHECK_EQ_INT(qpair_deliver(&p.q, &p.q.s, &p.q.c, TERN_LEVEL_INITIAL), TERN_OK); /* -> CH2 */
    CHECK_EQ_INT(tern_conn_early_data_status(p.c), TERN_EARLY_DATA_REJECTED);
    l2 = first_psk_identity(p.q.c.out[TERN_LEVEL_INITIAL], p.q.c.out_len[TERN_LEVEL_INITIAL], id2,
                            sizeof id2, &age2);
    CHECK(l1 > 0 && l1 == l2 && memcmp(id1, id2, l1) == 0);
    /* the test's clock stood still: the inner ages are equal, so are these */
    CHECK_EQ_INT(age1, age2);
    rc = pair_run(&p);
    CHECK_EQ_INT(rc, TERN_OK);
    if (rc != TERN_OK) report("early, ECH through HRR", &p);
    CHECK_EQ_INT(tern_conn_used_hrr(p.c), 1);
    CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_ACCEPTED);
    CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_ACCEPTED);
    CHECK_EQ_INT(tern_conn_resumed(p.s), 1);
    CHECK_EQ_INT(tern_conn_early_data_status(p.c), TERN_EARLY_DATA_REJECTED);
    CHECK_EQ_INT(tern_conn_early_data_status(p.s), TERN_EARLY_DATA_REJECTED);
    CHECK_EQ_INT(p.q.s.secret_len[TERN_LEVEL_EARLY][TERN_READ], 0);
    pair_free(&p);
  }
  tern_config_free(s);
  tern_config_free(c);
}

/* 0-RTT from a GREASE ECH client (§6.2): its one ClientHello is the real
   one, so a server with ECH keys, which "rejects" the GREASE extension,
   resumes and takes the early data as without ECH. */
static void early_data_grease(int quic) {
  static const uint8_t early[] = "GET /early-grease";
  const key *keys[1] = {&key_a};
  int retry[1] = {1};
  tern_config *s = server_cfg(keys, retry, 1, 0), *c = client_cfg();
  uint8_t got[64];
  size_t n = 0, k;
  pair p;
  int rc;
  resumable(s, c, 1);
  CHECK_EQ_INT(tern_config_set_ech_grease(c, 1), TERN_OK);
  pair_new(&p, quic, c, s, NULL, 0);
  CHECK_EQ_INT(pair_run(&p), TERN_OK);
  if (!quic) (void)pump(p.s, p.c); /* the ticket */
  pair_free(&p);
  CHECK(n_sessions > 0);
  if (n_sessions > 0) {
    clock_now += 1000;
    pair_new(&p, quic, c, s, NULL, 0);
    CHECK_EQ_INT(tern_conn_set_session(p.c, last_session()->blob, last_session()->len, clock_now),
                 TERN_OK);
    CHECK_EQ_INT(tern_handshake(p.c), TERN_WANT_READ);
    if (!quic) CHECK_EQ_INT(tern_tls_write(p.c, early, sizeof early - 1), TERN_OK);
    rc = pair_run(&p);
    CHECK_EQ_INT(rc, TERN_OK);
    if (rc != TERN_OK) report("early, GREASE ECH", &p);
    CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_NONE);
    CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_REJECTED);
    CHECK_EQ_INT(tern_conn_resumed(p.s), 1);
    CHECK_EQ_INT(tern_conn_early_data_status(p.c), TERN_EARLY_DATA_ACCEPTED);
    CHECK_EQ_INT(tern_conn_early_data_status(p.s), TERN_EARLY_DATA_ACCEPTED);
    if (!quic) {
      while (tern_tls_read(p.s, got + n, sizeof got - n, &k) == TERN_OK) n += k;
      CHECK(n == sizeof early - 1 && memcmp(got, early, n) == 0);
    }
    pair_free(&p);
  }
  tern_config_free(s);
  tern_config_free(c);
}

/* GREASE ECH (§6.2.1): a server with keys rejects it and sends
   retry_configs, which the client ignores; one without keys ignores it. */
static void grease(int quic, int hrr) {
  const key *keys[1] = {&key_a};
  int retry[1] = {1};
  tern_config *s = server_cfg(keys, retry, 1, hrr ? TERN_GROUP_SECP256R1 : 0);
  tern_config *s0 = server_cfg(NULL, NULL, 0, hrr ? TERN_GROUP_SECP256R1 : 0), *c = client_cfg();
  const uint8_t *got;
  size_t got_len;
  pair p;
  int rc;
  CHECK_EQ_INT(tern_config_set_ech_grease(c, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_ech_grease(s, 1), TERN_ERR_STATE);
  pair_new(&p, quic, c, s, NULL, 0);
  rc = pair_run(&p);
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) report("grease", &p);
  CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_NONE);
  CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_REJECTED);
  CHECK_EQ_INT(tern_conn_used_hrr(p.c), hrr);
  CHECK_EQ_INT(tern_conn_ech_retry_configs(p.c, &got, &got_len), TERN_ERR_STATE);
  pair_free(&p);
  pair_new(&p, quic, c, s0, NULL, 0);
  CHECK_EQ_INT(pair_run(&p), TERN_OK);
  CHECK_EQ_INT(tern_conn_ech_status(p.s), TERN_ECH_NONE);
  pair_free(&p);
  tern_config_free(s);
  tern_config_free(s0);
  tern_config_free(c);
}

/* ---- hostile ClientHellos (QUIC: the first flight is edited in place) ---- */

/* The encrypted_client_hello extension data in a ClientHello message. */
static uint8_t *find_ech(uint8_t *msg, size_t len, size_t *ext_len) {
  size_t off = 4 + 2 + 32;
  off += 1 + msg[off];
  off += 2 + (size_t)(msg[off] << 8 | msg[off + 1]);
  off += 1 + msg[off];
  off += 2;
  while (off + 4 <= len) {
    uint16_t type = (uint16_t)(msg[off] << 8 | msg[off + 1]);
    size_t l = (size_t)(msg[off + 2] << 8 | msg[off + 3]);
    if (type == 0xfe0d) {
      *ext_len = l;
      return msg + off + 4;
    }
    off += 4 + l;
  }
  return NULL;
}

typedef void (*tamper_fn)(uint8_t *msg, size_t len);

/* Re-encrypts the inner hello after mutate changed it (same length):
   decrypts with the server's key, then seals to it afresh. */
typedef void (*mutate_fn)(uint8_t *pt, size_t len);
static mutate_fn mutation;

static void reseal(uint8_t *msg, size_t len) {
  size_t ext_len = 0, enc_len, pay_len, info_len = 8 + key_a.len;
  uint8_t *x = find_ech(msg, len, &ext_len), *enc, *pay, info[8 + TERN_ECH_CONFIG_MAX];
  uint8_t *aad = malloc(len), *pt, newenc[65];
  tern_hpke_ctx r, s;
  tern_hpke_suite suite = {TERN_HPKE_KEM_X25519, (uint16_t)(x[1] << 8 | x[2]),
                           (uint16_t)(x[3] << 8 | x[4])};
  memcpy(info, "tls ech", 8);
  memcpy(info + 8, key_a.config, key_a.len);
  enc_len = (size_t)(x[6] << 8 | x[7]);
  enc = x + 8;
  pay_len = (size_t)(enc[enc_len] << 8 | enc[enc_len + 1]);
  pay = enc + enc_len + 2;
  pt = malloc(pay_len);
  memcpy(aad, msg + 4, len - 4);
  memset(aad + (pay - msg - 4), 0, pay_len);
  CHECK_EQ_INT(tern_hpke_setup_base_r(&r, &suite, enc, enc_len, key_a.sk, info, info_len),
               TERN_OK);
  CHECK_EQ_INT(tern_hpke_open(&r, aad, len - 4, pay, pay_len, pt), TERN_OK);
  mutation(pt, pay_len - 16);
  CHECK_EQ_INT(tern_hpke_setup_base_s(&s, &suite, key_a.config + 7 + 2, 32, info, info_len, NULL,
                                      0, newenc),
               TERN_OK);
  memcpy(enc, newenc, enc_len);
  memcpy(aad, msg + 4, len - 4);
  memset(aad + (pay - msg - 4), 0, pay_len);
  CHECK_EQ_INT(tern_hpke_seal(&s, aad, len - 4, pt, pay_len - 16, pay), TERN_OK);
  tern_hpke_ctx_clear(&r);
  tern_hpke_ctx_clear(&s);
  free(aad);
  free(pt);
}

/* Replaces the first occurrence of from[0..n) by to[0..n) in p. */
static void replace(uint8_t *p, size_t len, const uint8_t *from, const uint8_t *to, size_t n) {
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(p + i, from, n) == 0) {
      memcpy(p + i, to, n);
      return;
    }
  CHECK(!"pattern not found");
}

static void m_padding(uint8_t *pt, size_t len) { pt[len - 1] = 1; }
static void m_ref_ech(uint8_t *pt, size_t len) {
  static const uint8_t a[] = {0xfd, 0, 0, 3, 2, 0, 0x33}, b[] = {0xfd, 0, 0, 3, 2, 0xfe, 0x0d};
  replace(pt, len, a, b, sizeof a);
}
static void m_ref_missing(uint8_t *pt, size_t len) {
  static const uint8_t a[] = {0xfd, 0, 0, 3, 2, 0, 0x33}, b[] = {0xfd, 0, 0, 3, 2, 0x12, 0x34};
  replace(pt, len, a, b, sizeof a);
}
static void m_ref_bad_list(uint8_t *pt, size_t len) {
  static const uint8_t a[] = {0xfd, 0, 0, 3, 2, 0, 0x33}, b[] = {0xfd, 0, 0, 3, 1, 0, 0x33};
  replace(pt, len, a, b, sizeof a);
}
static void m_inner_type(uint8_t *pt, size_t len) {
  static const uint8_t a[] = {0xfe, 0x0d, 0, 1, 1}, b[] = {0xfe, 0x0d, 0, 1, 0};
  replace(pt, len, a, b, sizeof a);
}

static void t_reseal(uint8_t *msg, size_t len) { reseal(msg, len); }
static void t_type_inner(uint8_t *msg, size_t len) {
  size_t l;
  find_ech(msg, len, &l)[0] = 1;
}
static void t_type_unknown(uint8_t *msg, size_t len) {
  size_t l;
  find_ech(msg, len, &l)[0] = 7;
}
static void t_enc_len(uint8_t *msg, size_t len) {
  size_t l;
  find_ech(msg, len, &l)[7] ^= 1;
}
static void t_payload(uint8_t *msg, size_t len) { msg[len - 5] ^= 0x40; }
static void t_outer_random(uint8_t *msg, size_t len) {
  (void)len;
  msg[4 + 2 + 5] ^= 1; /* in ClientHelloOuterAAD */
}

/* Edits the client's first flight, then runs; who fails with what. */
static void hostile(const char *what, tamper_fn t, mutate_fn m, int client_fails, uint8_t alert) {
  const key *keys[1] = {&key_a};
  int retry[1] = {1};
  tern_config *s = server_cfg(keys, retry, 1, 0), *c = client_cfg();
  uint8_t list[TERN_ECH_CONFIG_MAX + 2];
  size_t len = list_of(&key_a, list);
  pair p;
  pair_new(&p, 1, c, s, list, len);
  CHECK_EQ_INT(tern_handshake(p.c), TERN_WANT_READ);
  mutation = m;
  t(p.q.c.out[TERN_LEVEL_INITIAL], p.q.c.out_len[TERN_LEVEL_INITIAL]);
  CHECK_EQ_INT(pair_run(&p), TERN_ERR_ALERT);
  {
    tern_conn *f = client_fails ? p.c : p.s;
    CHECK_EQ_INT(tern_conn_alert(f), alert);
    if (tern_conn_alert(f) != alert) report(what, &p);
    /* a tampered hello is never accepted */
    CHECK(tern_conn_ech_status(p.s) != TERN_ECH_ACCEPTED);
  }
  pair_free(&p);
  tern_config_free(s);
  tern_config_free(c);
}

/* The second ClientHelloOuter after a HelloRetryRequest that accepted ECH
   (§7.1.1), edited before the server reads it. */
static void t2_no_ech(uint8_t *msg, size_t len) {
  size_t l;
  uint8_t *x = find_ech(msg, len, &l);
  x[-3] ^= 0x02; /* the type 0xfe0d becomes 0xfe0f: an unknown extension */
}
static void t2_config_id(uint8_t *msg, size_t len) {
  size_t l;
  find_ech(msg, len, &l)[5] ^= 1;
}
static void t2_payload(uint8_t *msg, size_t len) { msg[len - 1] ^= 1; }

static void hostile_ch2(const char *what, tamper_fn t, uint8_t alert) {
  const key *keys[1] = {&key_a};
  int retry[1] = {1};
  tern_config *s = server_cfg(keys, retry, 1, TERN_GROUP_SECP256R1), *c = client_cfg();
  uint8_t list[TERN_ECH_CONFIG_MAX + 2];
  size_t len = list_of(&key_a, list);
  pair p;
  pair_new(&p, 1, c, s, list, len);
  CHECK_EQ_INT(tern_handshake(p.c), TERN_WANT_READ);
  CHECK_EQ_INT(qpair_deliver(&p.q, &p.q.c, &p.q.s, TERN_LEVEL_INITIAL), TERN_OK); /* -> HRR */
  CHECK_EQ_INT(qpair_deliver(&p.q, &p.q.s, &p.q.c, TERN_LEVEL_INITIAL), TERN_OK); /* -> CH2 */
  CHECK_EQ_INT(tern_conn_ech_status(p.c), TERN_ECH_ACCEPTED); /* the HRR confirmed it */
  CHECK(p.q.c.out_len[TERN_LEVEL_INITIAL] > 0);
  t(p.q.c.out[TERN_LEVEL_INITIAL], p.q.c.out_len[TERN_LEVEL_INITIAL]);
  CHECK_EQ_INT(pair_run(&p), TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(p.s), alert);
  if (tern_conn_alert(p.s) != alert) report(what, &p);
  pair_free(&p);
  tern_config_free(s);
  tern_config_free(c);
}

int main(void) {
  const key *ab[2] = {&key_a, &key_b}, *a[1] = {&key_a}, *p256[1] = {&key_p256};
  int retry_ab[2] = {1, 0}, one[1] = {1};
  uint8_t l1[TERN_ECH_CONFIG_MAX + 2];
  size_t n1;
  tern_config *cc;
  tern_conn *conn;

  CHECK_EQ_INT(pki_make(&srv, PKI_KEY_P256, PUBLIC, 0, PKI_VALID_NOW), 0);
  trust = X509_STORE_new();
  X509_STORE_add_cert(trust, srv.ca);

  configs();
  for (int quic = 0; quic <= 1; quic++) {
    accepted(quic, &key_a, a, one, 1, 0);
    accepted(quic, &key_p256, p256, one, 1, 0);
    accepted(quic, &key_b, ab, retry_ab, 2, 0); /* a retired key still opens */
    accepted(quic, &key_a, a, one, 1, 1);       /* through a HelloRetryRequest */
    rejected_then_retry(quic, 0);
    rejected_then_retry(quic, 1);
    no_ech_server(quic);
    grease(quic, 0);
    resumption(quic);
    early_data(quic, 0);
    early_data(quic, 1);
    early_data_grease(quic);
    grease(quic, 1);
  }
  early_data_hrr();
  deterministic_outer(0);
  deterministic_outer(1);
  /* the outer hello */
  hostile("type inner", t_type_inner, NULL, 0, TERN_ALERT_ILLEGAL_PARAMETER);
  hostile("unknown type", t_type_unknown, NULL, 0, TERN_ALERT_ILLEGAL_PARAMETER);
  hostile("enc length", t_enc_len, NULL, 0, TERN_ALERT_DECODE_ERROR);
  /* tampering is a decryption failure: the server rejects ECH and goes on
     with the outer hello it received, whose transcript differs from the
     client's: the client finds the CertificateVerify wrong */
  hostile("payload flipped", t_payload, NULL, 1, TERN_ALERT_DECRYPT_ERROR);
  hostile("outer random flipped", t_outer_random, NULL, 1, TERN_ALERT_DECRYPT_ERROR);
  /* the inner hello, re-encrypted with the server's key */
  hostile("padding not zero", t_reseal, m_padding, 0, TERN_ALERT_ILLEGAL_PARAMETER);
  hostile("outer_extensions -> ech", t_reseal, m_ref_ech, 0, TERN_ALERT_ILLEGAL_PARAMETER);
  hostile("outer_extensions -> missing", t_reseal, m_ref_missing, 0, TERN_ALERT_ILLEGAL_PARAMETER);
  hostile("outer_extensions bad list", t_reseal, m_ref_bad_list, 0, TERN_ALERT_DECODE_ERROR);
  hostile("inner type outer", t_reseal, m_inner_type, 0, TERN_ALERT_ILLEGAL_PARAMETER);
  /* the second ClientHelloOuter (§7.1.1) */
  hostile_ch2("CH2 without ECH", t2_no_ech, TERN_ALERT_MISSING_EXTENSION);
  hostile_ch2("CH2 other config_id", t2_config_id, TERN_ALERT_ILLEGAL_PARAMETER);
  hostile_ch2("CH2 payload flipped", t2_payload, TERN_ALERT_DECRYPT_ERROR);

  /* API misuse */
  cc = client_cfg();
  conn = tern_conn_new_tls(cc, NULL);
  n1 = list_of(&key_a, l1);
  CHECK_EQ_INT(tern_conn_set_ech_config_list(conn, l1, n1 - 1), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_conn_ech_status(conn), TERN_ECH_NONE);
  CHECK_EQ_INT(tern_conn_set_ech_config_list(conn, l1, n1), TERN_OK);
  tern_conn_free(conn);
  tern_config_free(cc);

  printf("ECH handshakes: %d accepted, %d rejected with retry_configs\n", runs_accepted,
         runs_rejected);
  CHECK_EQ_INT(runs_accepted, 2 * 6);
  CHECK_EQ_INT(runs_rejected, 2 * 2);
  CHECK_EQ_INT(runs_early, 2 * 2);
  X509_STORE_free(trust);
  pki_free(&srv);
  return check_report();
}
