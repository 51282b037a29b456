/*
 * test_peer_gnutls.c - proves the GnuTLS QUIC test peer (peer_gnutls.c)
 * by running a GnuTLS client against a GnuTLS server through it: every
 * TLS 1.3 suite and group GnuTLS offers, the traffic secrets matching
 * across the two sides, transport parameters and ALPN both ways, a
 * HelloRetryRequest, client certificates, byte-by-byte delivery,
 * NewSessionTicket and resumption (with 0-RTT), and the failures that
 * must end in an alert (no common ALPN, untrusted certificate, wrong
 * name, missing client certificate).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "peer_gnutls.h"

static char dir[64];
static char ca[128], cert[128], key[128], ccert[128], ckey[128], chain[128];

static const uint8_t client_tp[] = {0x01, 0x02, 0x67, 0x10, 0x04, 0x04,
                                    0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x08, 0xa1, 0xa2, 0xa3, 0xa4,
                                    0xa5, 0xa6, 0xa7, 0xa8, 0x01, 0x01,
                                    0x1e};

/* find_bytes: the first place needle occurs in hay, or NULL. */
static const uint8_t *find_bytes(const uint8_t *hay, size_t n,
                                 const uint8_t *needle, size_t k) {
  for (size_t i = 0; k && i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0) return hay + i;
  return NULL;
}

/* base_opts: a client or server with the test certificates, "h3", and
 * its transport parameters. */
static peer_gnutls_opts base_opts(int server) {
  peer_gnutls_opts o;
  memset(&o, 0, sizeof o);
  o.alpn = server ? "h3" : "hq-interop,h3";
  if (server) {
    o.cert_file = chain;
    o.key_file = key;
    o.transport_params = server_tp;
    o.transport_params_len = sizeof server_tp;
  } else {
    o.ca_file = ca;
    o.transport_params = client_tp;
    o.transport_params_len = sizeof client_tp;
  }
  if (getenv("PEER_GNUTLS_DEBUG")) o.debug_level = atoi(getenv("PEER_GNUTLS_DEBUG"));
  return o;
}

/* move: hand everything from's pending at every level to `to`, in
 * chunks of at most chunk bytes (0: all at once). Returns bytes moved,
 * or -1 when feeding failed. */
static long move(peer_gnutls *from, peer_gnutls *to, size_t chunk) {
  long moved = 0;
  uint8_t buf[16384];
  for (int l = 0; l < PEER_GNUTLS_LEVELS; l++) {
    while (peer_gnutls_pending(from, l)) {
      size_t cap = chunk ? chunk : sizeof buf;
      size_t n = peer_gnutls_take(from, l, buf, cap);
      if (peer_gnutls_feed(to, l, buf, n) < 0) return -1;
      moved += (long)n;
      /* Byte-wise delivery: let the receiver run between pieces. */
      if (chunk) peer_gnutls_step(to);
    }
  }
  return moved;
}

/* run: shuttle until both are done and nothing is pending, or one side
 * fails, or nothing moves. Returns 1 when both completed, 0 otherwise. */
static int run(peer_gnutls *c, peer_gnutls *s, size_t chunk) {
  for (int round = 0; round < 32; round++) {
    int rc = peer_gnutls_step(c);
    long m1 = move(c, s, chunk);
    int rs = peer_gnutls_step(s);
    long m2 = move(s, c, chunk);
    if (rc < 0 || rs < 0 || m1 < 0 || m2 < 0) {
      /* Let the other side see what was already sent, then stop. */
      return 0;
    }
    if (peer_gnutls_done(c) && peer_gnutls_done(s) && m1 == 0 && m2 == 0) {
      peer_gnutls_step(c);
      return 1;
    }
    if (m1 == 0 && m2 == 0 && round > 0 && rc == 0 && rs == 0) return 0;
  }
  return 0;
}

/* check_secrets: client write == server read and the other way at a
 * level, both present and of the suite's hash length. */
static void check_secrets(peer_gnutls *c, peer_gnutls *s, int level,
                          size_t want_len) {
  size_t cw, sr, cr, sw;
  const uint8_t *pcw = peer_gnutls_secret(c, level, PEER_GNUTLS_WRITE, &cw);
  const uint8_t *psr = peer_gnutls_secret(s, level, PEER_GNUTLS_READ, &sr);
  const uint8_t *pcr = peer_gnutls_secret(c, level, PEER_GNUTLS_READ, &cr);
  const uint8_t *psw = peer_gnutls_secret(s, level, PEER_GNUTLS_WRITE, &sw);
  CHECK(pcw && psr && pcr && psw);
  if (!(pcw && psr && pcr && psw)) return;
  CHECK_EQ_INT(cw, want_len);
  CHECK_EQ_INT(sr, want_len);
  CHECK_EQ_INT(cr, want_len);
  CHECK_EQ_INT(sw, want_len);
  CHECK_MEM(pcw, psr, want_len);
  CHECK_MEM(pcr, psw, want_len);
  CHECK(memcmp(pcw, pcr, want_len) != 0);
}

/* check_tp_and_alpn: each side got the other's transport parameters,
 * both agree on "h3". */
static void check_tp_and_alpn(peer_gnutls *c, peer_gnutls *s) {
  size_t n;
  const uint8_t *tp = peer_gnutls_peer_transport_params(s, &n);
  CHECK(tp != NULL);
  CHECK_EQ_INT(n, sizeof client_tp);
  if (tp && n == sizeof client_tp) CHECK_MEM(tp, client_tp, n);
  tp = peer_gnutls_peer_transport_params(c, &n);
  CHECK(tp != NULL);
  CHECK_EQ_INT(n, sizeof server_tp);
  if (tp && n == sizeof server_tp) CHECK_MEM(tp, server_tp, n);
  CHECK(peer_gnutls_alpn(c) && strcmp(peer_gnutls_alpn(c), "h3") == 0);
  CHECK(peer_gnutls_alpn(s) && strcmp(peer_gnutls_alpn(s), "h3") == 0);
}

/* check_no_alerts: neither side sent an alert. */
static void check_no_alerts(peer_gnutls *c, peer_gnutls *s) {
  CHECK(!peer_gnutls_alert(c, NULL, NULL));
  CHECK(!peer_gnutls_alert(s, NULL, NULL));
}

/* report_failure: print why a handshake that should pass failed. */
static void report_failure(const char *what, peer_gnutls *c, peer_gnutls *s) {
  int l, d;
  fprintf(stderr, "%s: client \"%s\" server \"%s\"\n", what,
          peer_gnutls_error_string(c), peer_gnutls_error_string(s));
  if (peer_gnutls_alert(c, &l, &d))
    fprintf(stderr, "  client sent alert %d at level %d\n", d, l);
  if (peer_gnutls_alert(s, &l, &d))
    fprintf(stderr, "  server sent alert %d at level %d\n", d, l);
}

/* ------------------------------------------------------------------ */

typedef struct suite {
  const char *name;
  uint16_t id;
  size_t hash_len;
} suite;

static const suite suites[] = {
    {"AES-128-GCM", 0x1301, 32},
    {"AES-256-GCM", 0x1302, 48},
    {"CHACHA20-POLY1305", 0x1303, 32},
    {"AES-128-CCM", 0x1304, 32},
};

typedef struct group {
  const char *name;
  uint16_t id;
} group;

static const group groups[] = {
    {"X25519", 0x001d},    {"X448", 0x001e},      {"SECP256R1", 0x0017},
    {"SECP384R1", 0x0018}, {"SECP521R1", 0x0019}, {"FFDHE2048", 0x0100},
    {"FFDHE3072", 0x0101},
};

/* test_matrix: one full handshake per suite and group. */
static void test_matrix(void) {
  for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
    for (size_t j = 0; j < sizeof groups / sizeof groups[0]; j++) {
      peer_gnutls_opts co = base_opts(0), so = base_opts(1);
      co.ciphers = so.ciphers = suites[i].name;
      co.groups = so.groups = groups[j].name;
      peer_gnutls *c = peer_gnutls_new(0, &co);
      if (!c) fprintf(stderr, "client: %s\n", peer_gnutls_last_new_error());
      peer_gnutls *s = peer_gnutls_new(1, &so);
      if (!s) fprintf(stderr, "server: %s\n", peer_gnutls_last_new_error());
      CHECK(c && s);
      if (c && s) {
        int ok = run(c, s, 0);
        CHECK(ok);
        if (!ok) {
          char what[128];
          snprintf(what, sizeof what, "%s/%s", suites[i].name, groups[j].name);
          report_failure(what, c, s);
        } else {
          printf("  ok %-18s %-10s suite %04x group %04x sig %04x\n",
                 suites[i].name, groups[j].name, peer_gnutls_cipher_suite(c),
                 peer_gnutls_group(c), peer_gnutls_sigalg(c));
        }
        CHECK_EQ_INT(peer_gnutls_cipher_suite(c), suites[i].id);
        CHECK_EQ_INT(peer_gnutls_cipher_suite(s), suites[i].id);
        CHECK_EQ_INT(peer_gnutls_group(c), groups[j].id);
        CHECK_EQ_INT(peer_gnutls_group(s), groups[j].id);
        CHECK_EQ_INT(peer_gnutls_sigalg(c), 0x0403);
        check_secrets(c, s, PEER_GNUTLS_HANDSHAKE, suites[i].hash_len);
        check_secrets(c, s, PEER_GNUTLS_APPLICATION, suites[i].hash_len);
        CHECK(!peer_gnutls_secret(c, PEER_GNUTLS_INITIAL, 0, NULL));
        CHECK(!peer_gnutls_secret(c, PEER_GNUTLS_EARLY, 1, NULL));
        check_tp_and_alpn(c, s);
        check_no_alerts(c, s);
        CHECK(!peer_gnutls_hrr(c));
        CHECK(!peer_gnutls_hrr(s));
        CHECK(!peer_gnutls_resumed(c));
      }
      peer_gnutls_free(c);
      peer_gnutls_free(s);
    }
  }
}

/* test_flow: the message flow per level of a default handshake, and the
 * order the secrets come in. */
static void test_flow(void) {
  peer_gnutls_opts co = base_opts(0), so = base_opts(1);
  co.ciphers = so.ciphers = NULL;
  co.groups = so.groups = NULL;
  peer_gnutls *c = peer_gnutls_new(0, &co), *s = peer_gnutls_new(1, &so);
  CHECK(c && s);
  if (!c || !s) goto out;

  /* Nothing happens before the client starts. */
  CHECK_EQ_INT(peer_gnutls_step(s), 0);
  for (int l = 0; l < 4; l++) CHECK_EQ_INT(peer_gnutls_pending(s, l), 0);

  /* ClientHello at INITIAL only, no secrets yet, with extension 57. */
  CHECK_EQ_INT(peer_gnutls_step(c), 0);
  CHECK(peer_gnutls_pending(c, 0) > 0);
  {
    uint8_t ch[4096];
    size_t chn = peer_gnutls_take(c, 0, ch, sizeof ch);
    const uint8_t *at = find_bytes(ch, chn, client_tp, sizeof client_tp);
    CHECK(ch[0] == 1 && at != NULL);
    if (at && at - ch >= 4)
      CHECK(at[-4] == 0 && at[-3] == 57 && at[-2] == 0 &&
            at[-1] == sizeof client_tp);
    CHECK_EQ_INT(peer_gnutls_feed(s, 0, ch, chn), 0);
  }
  CHECK_EQ_INT(peer_gnutls_pending(c, 1) + peer_gnutls_pending(c, 2) +
                   peer_gnutls_pending(c, 3), 0);
  CHECK_EQ_INT(peer_gnutls_secret_order(c, NULL, 0), 0);

  /* Server: ServerHello at INITIAL, EE..Finished at HANDSHAKE, its
   * handshake secrets and the application write secret. */
  CHECK_EQ_INT(peer_gnutls_step(s), 0);
  CHECK(peer_gnutls_pending(s, 0) > 0);
  CHECK(peer_gnutls_pending(s, 2) > 0);
  CHECK_EQ_INT(peer_gnutls_pending(s, 1) + peer_gnutls_pending(s, 3), 0);
  /* The server's transport parameters travel in EncryptedExtensions at
   * HANDSHAKE, not in the ServerHello (RFC 9001 §8.2). */
  {
    uint8_t sh[4096], hs[8192];
    size_t shn = peer_gnutls_take(s, 0, sh, sizeof sh);
    size_t hsn = peer_gnutls_take(s, 2, hs, sizeof hs);
    CHECK(shn > 0 && hsn > 0 && peer_gnutls_pending(s, 0) == 0 &&
          peer_gnutls_pending(s, 2) == 0);
    CHECK(find_bytes(sh, shn, server_tp, sizeof server_tp) == NULL);
    const uint8_t *at = find_bytes(hs, hsn, server_tp, sizeof server_tp);
    CHECK(at != NULL);
    /* ... as extension 57 with its length, inside EE (hs[0] == 8). */
    CHECK(hs[0] == 8);
    if (at && at - hs >= 4)
      CHECK(at[-4] == 0 && at[-3] == 57 && at[-2] == 0 &&
            at[-1] == sizeof server_tp);
    CHECK_EQ_INT(peer_gnutls_feed(c, 0, sh, shn), 0);
    CHECK_EQ_INT(peer_gnutls_feed(c, 2, hs, hsn), 0);
  }
  int lv[64], ty[64];
  size_t n = peer_gnutls_sent_log(s, lv, ty, 64);
  static const int want_lv[] = {0, 2, 2, 2, 2};
  static const int want_ty[] = {2, 8, 11, 15, 20};
  CHECK_EQ_INT(n, 5);
  for (size_t i = 0; i < n && i < 5; i++) {
    CHECK_EQ_INT(lv[i], want_lv[i]);
    CHECK_EQ_INT(ty[i], want_ty[i]);
  }
  int ord[16];
  size_t no = peer_gnutls_secret_order(s, ord, 16);
  printf("  server secret order after its flight:");
  for (size_t i = 0; i < no && i < 16; i++)
    printf(" %s/%s", (const char *[]){"I", "E", "H", "A"}[ord[i] / 2],
           ord[i] % 2 ? "w" : "r");
  printf("\n");
  CHECK(peer_gnutls_secret(s, 2, 0, NULL) && peer_gnutls_secret(s, 2, 1, NULL));
  CHECK(peer_gnutls_secret(s, 3, 1, NULL) != NULL);
  /* The server's application read secret comes with the client Finished. */
  CHECK(peer_gnutls_secret(s, 3, 0, NULL) == NULL);

  /* Client: gets the server flight, sends Finished at HANDSHAKE. */
  CHECK_EQ_INT(peer_gnutls_step(c), 1);
  CHECK_EQ_INT(peer_gnutls_pending(c, 0) + peer_gnutls_pending(c, 1) +
                   peer_gnutls_pending(c, 3), 0);
  CHECK(peer_gnutls_pending(c, 2) > 0);
  n = peer_gnutls_sent_log(c, lv, ty, 64);
  CHECK_EQ_INT(n, 2);
  if (n == 2) {
    CHECK_EQ_INT(lv[0], 0);
    CHECK_EQ_INT(ty[0], 1);
    CHECK_EQ_INT(lv[1], 2);
    CHECK_EQ_INT(ty[1], 20);
  }
  no = peer_gnutls_secret_order(c, ord, 16);
  printf("  client secret order:");
  for (size_t i = 0; i < no && i < 16; i++)
    printf(" %s/%s", (const char *[]){"I", "E", "H", "A"}[ord[i] / 2],
           ord[i] % 2 ? "w" : "r");
  printf("\n");
  CHECK(move(c, s, 0) > 0);
  CHECK_EQ_INT(peer_gnutls_step(s), 1);
  /* No tickets configured: the server sends nothing more. */
  for (int l = 0; l < 4; l++) CHECK_EQ_INT(peer_gnutls_pending(s, l), 0);
  CHECK_EQ_INT(peer_gnutls_step(s), 1);
  CHECK_EQ_INT(peer_gnutls_step(c), 1);
  /* GnuTLS's NORMAL order decides the defaults (the system's
   * configuration may change it): print, and check both sides agree. */
  uint16_t cs = peer_gnutls_cipher_suite(c);
  printf("  defaults: suite %04x group %04x sigalg %04x\n", cs,
         peer_gnutls_group(c), peer_gnutls_sigalg(c));
  CHECK(cs >= 0x1301 && cs <= 0x1304);
  CHECK_EQ_INT(peer_gnutls_cipher_suite(s), cs);
  CHECK(peer_gnutls_group(c) != 0);
  CHECK_EQ_INT(peer_gnutls_group(s), peer_gnutls_group(c));
  check_secrets(c, s, 2, cs == 0x1302 ? 48 : 32);
  check_secrets(c, s, 3, cs == 0x1302 ? 48 : 32);
  check_tp_and_alpn(c, s);
  check_no_alerts(c, s);
  /* What the client got: ServerHello, EE, Certificate, CV, Finished. */
  int rt[64];
  n = peer_gnutls_recv_log(c, rt, 64);
  CHECK_EQ_INT(n, 5);
  if (n == 5) CHECK(rt[0] == 2 && rt[1] == 8 && rt[2] == 11 && rt[3] == 15 &&
                    rt[4] == 20);
out:
  peer_gnutls_free(c);
  peer_gnutls_free(s);
}

/* test_bytewise: every byte delivered alone still completes. */
static void test_bytewise(void) {
  peer_gnutls_opts co = base_opts(0), so = base_opts(1);
  co.ciphers = so.ciphers = "CHACHA20-POLY1305";
  co.groups = so.groups = "SECP384R1";
  so.tickets = 1;
  peer_gnutls *c = peer_gnutls_new(0, &co), *s = peer_gnutls_new(1, &so);
  CHECK(c && s);
  if (c && s) {
    int ok = run(c, s, 1);
    CHECK(ok);
    if (!ok) report_failure("bytewise", c, s);
    int rt[64];
    size_t n = peer_gnutls_recv_log(c, rt, 64);
    CHECK(n >= 2 && rt[n - 1] == 4); /* the tickets got through too */
    CHECK(peer_gnutls_session_data(c, NULL, 0) > 100);
    check_secrets(c, s, 2, 32);
    check_secrets(c, s, 3, 32);
    check_tp_and_alpn(c, s);
  }
  peer_gnutls_free(c);
  peer_gnutls_free(s);
}

/* test_hrr: the client's single key share (X25519) is not one the server
 * takes, so the server asks again with a HelloRetryRequest. */
static void test_hrr(void) {
  peer_gnutls_opts co = base_opts(0), so = base_opts(1);
  co.groups = "X25519:SECP256R1";
  co.key_shares = 1;
  so.groups = "SECP256R1";
  co.ciphers = so.ciphers = "AES-128-GCM";
  peer_gnutls *c = peer_gnutls_new(0, &co), *s = peer_gnutls_new(1, &so);
  CHECK(c && s);
  if (c && s) {
    int ok = run(c, s, 0);
    CHECK(ok);
    if (!ok) report_failure("hrr", c, s);
    CHECK(peer_gnutls_hrr(c));
    CHECK(peer_gnutls_hrr(s));
    CHECK_EQ_INT(peer_gnutls_group(c), 0x0017);
    CHECK_EQ_INT(peer_gnutls_group(s), 0x0017);
    int lv[64], ty[64];
    size_t n = peer_gnutls_sent_log(c, lv, ty, 64);
    CHECK_EQ_INT(n, 3); /* ClientHello, ClientHello, Finished */
    if (n == 3) {
      CHECK(lv[0] == 0 && ty[0] == 1 && lv[1] == 0 && ty[1] == 1);
      CHECK(lv[2] == 2 && ty[2] == 20);
    }
    n = peer_gnutls_sent_log(s, lv, ty, 64);
    CHECK_EQ_INT(n, 6); /* HRR, ServerHello, EE, Cert, CV, Finished */
    if (n == 6) CHECK(lv[0] == 0 && ty[0] == 2 && lv[1] == 0 && ty[1] == 2);
    check_secrets(c, s, 2, 32);
    check_secrets(c, s, 3, 32);
    check_tp_and_alpn(c, s);
    check_no_alerts(c, s);
  }
  peer_gnutls_free(c);
  peer_gnutls_free(s);
}

/* test_sigalgs: the signature list option, with and without prefixes. */
static void test_sigalgs(void) {
  static const char *const lists[] = {
      "ECDSA-SECP256R1-SHA256", "SIGN-ECDSA-SECP256R1-SHA256",
      "RSA-PSS-RSAE-SHA256:+ECDSA-SECP256R1-SHA256:EdDSA-Ed25519"};
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    peer_gnutls_opts co = base_opts(0), so = base_opts(1);
    co.sigalgs = so.sigalgs = lists[i];
    peer_gnutls *c = peer_gnutls_new(0, &co), *s = peer_gnutls_new(1, &so);
    CHECK(c && s);
    if (c && s) {
      CHECK(run(c, s, 0));
      CHECK_EQ_INT(peer_gnutls_sigalg(c), 0x0403);
      CHECK_EQ_INT(peer_gnutls_sigalg(s), 0x0403);
    }
    peer_gnutls_free(c);
    peer_gnutls_free(s);
  }
}

/* test_client_cert: the server requires a client certificate. */
static void test_client_cert(void) {
  peer_gnutls_opts co = base_opts(0), so = base_opts(1);
  co.cert_file = ccert;
  co.key_file = ckey;
  so.ca_file = ca;
  so.request_client_cert = 2;
  co.ciphers = so.ciphers = "AES-128-GCM";
  peer_gnutls *c = peer_gnutls_new(0, &co), *s = peer_gnutls_new(1, &so);
  CHECK(c && s);
  if (c && s) {
    int ok = run(c, s, 0);
    CHECK(ok);
    if (!ok) report_failure("client cert", c, s);
    int lv[64], ty[64];
    size_t n = peer_gnutls_sent_log(s, lv, ty, 64);
    int saw_cr = 0;
    for (size_t i = 0; i < n && i < 64; i++) saw_cr |= ty[i] == 13 && lv[i] == 2;
    CHECK(saw_cr);
    n = peer_gnutls_sent_log(c, lv, ty, 64);
    CHECK_EQ_INT(n, 4); /* ClientHello, Certificate, CertVerify, Finished */
    check_secrets(c, s, 2, 32);
    check_secrets(c, s, 3, 32);
    check_no_alerts(c, s);
  }
  peer_gnutls_free(c);
  peer_gnutls_free(s);

  /* Without one, the server refuses. */
  co = base_opts(0);
  c = peer_gnutls_new(0, &co);
  s = peer_gnutls_new(1, &so);
  CHECK(c && s);
  if (c && s) {
    CHECK(!run(c, s, 0));
    CHECK(!peer_gnutls_done(s));
    int l = -1, d = -1;
    CHECK(peer_gnutls_alert(s, &l, &d));
    printf("  no client cert: server alert %d at level %d (%s)\n", d, l,
           peer_gnutls_error_string(s));
    CHECK(peer_gnutls_error(s) < 0);
  }
  peer_gnutls_free(c);
  peer_gnutls_free(s);
}

/* expect_fail: a handshake that one side (failer: 0 client, 1 server)
 * must refuse with an alert of description want (-1: any). */
static void expect_fail(const char *what, peer_gnutls_opts *co,
                        peer_gnutls_opts *so, int failer, int want) {
  peer_gnutls *c = peer_gnutls_new(0, co), *s = peer_gnutls_new(1, so);
  CHECK(c && s);
  if (c && s) {
    CHECK(!run(c, s, 0));
    peer_gnutls *f = failer ? s : c;
    int l = -1, d = -1;
    CHECK(peer_gnutls_alert(f, &l, &d));
    CHECK(peer_gnutls_error(f) < 0);
    CHECK(!peer_gnutls_done(f));
    if (want >= 0) CHECK_EQ_INT(d, want);
    /* The failer's later steps keep failing. */
    CHECK(peer_gnutls_step(f) < 0);
    printf("  %s: %s alert %d at level %d (%s)\n", what,
           failer ? "server" : "client", d, l, peer_gnutls_error_string(f));
  }
  peer_gnutls_free(c);
  peer_gnutls_free(s);
}

/* test_failures: no common ALPN, untrusted server, wrong name, no
 * common group, no common suite. */
static void test_failures(void) {
  peer_gnutls_opts co = base_opts(0), so = base_opts(1);
  co.alpn = "hq-interop";
  so.alpn_mandatory = 1;
  expect_fail("no common ALPN", &co, &so, 1, 120);

  co = base_opts(0);
  so = base_opts(1);
  co.ca_file = ccert; /* a leaf, not the CA */
  expect_fail("untrusted cert", &co, &so, 0, -1);

  co = base_opts(0);
  co.server_name = "example.com";
  expect_fail("wrong name", &co, &so, 0, -1);

  co = base_opts(0);
  so = base_opts(1);
  co.groups = "X25519";
  so.groups = "SECP256R1";
  expect_fail("no common group", &co, &so, 1, 40);

  co = base_opts(0);
  co.ciphers = "AES-128-GCM";
  so.groups = NULL;
  so.ciphers = "AES-256-GCM";
  expect_fail("no common suite", &co, &so, 1, 40);

  /* A server whose only signature scheme does not fit its EC key. */
  co = base_opts(0);
  so = base_opts(1);
  so.sigalgs = "RSA-PSS-RSAE-SHA256";
  expect_fail("no usable signature scheme", &co, &so, 1, -1);

  /* Options GnuTLS refuses come back as NULL with a reason. */
  co = base_opts(0);
  co.groups = "NOSUCHGROUP";
  peer_gnutls *c = peer_gnutls_new(0, &co);
  CHECK(c == NULL);
  CHECK(strlen(peer_gnutls_last_new_error()) > 0);
  peer_gnutls_free(c);
  so = base_opts(1);
  so.cert_file = NULL;
  peer_gnutls *s = peer_gnutls_new(1, &so);
  CHECK(s == NULL);
  peer_gnutls_free(s);
}

/* test_transport_params_edges: a client without the extension: GnuTLS itself does not
 * insist (QUIC's rule is the application's), and a server sends its
 * parameters only in answer. An empty body still counts as present. */
static void test_transport_params_edges(void) {
  peer_gnutls_opts co = base_opts(0), so = base_opts(1);
  co.no_transport_params = 1;
  peer_gnutls *c = peer_gnutls_new(0, &co), *s = peer_gnutls_new(1, &so);
  CHECK(c && s);
  if (c && s) {
    CHECK(run(c, s, 0));
    CHECK(peer_gnutls_peer_transport_params(s, NULL) == NULL);
    CHECK(peer_gnutls_peer_transport_params(c, NULL) == NULL);
  }
  peer_gnutls_free(c);
  peer_gnutls_free(s);

  co = base_opts(0);
  co.transport_params = NULL;
  co.transport_params_len = 0;
  c = peer_gnutls_new(0, &co);
  s = peer_gnutls_new(1, &so);
  CHECK(c && s);
  if (c && s) {
    CHECK(run(c, s, 0));
    size_t n = 99;
    CHECK(peer_gnutls_peer_transport_params(s, &n) != NULL);
    CHECK_EQ_INT(n, 0);
    CHECK(peer_gnutls_peer_transport_params(c, &n) != NULL);
    CHECK_EQ_INT(n, sizeof server_tp);
  }
  peer_gnutls_free(c);
  peer_gnutls_free(s);
}

/* test_tickets: a server with tickets sends NewSessionTicket at the
 * APPLICATION level once it has the client's Finished; the client takes
 * it after its handshake and resumes with it, then with 0-RTT. */
static void test_tickets(void) {
  peer_gnutls_opts co = base_opts(0), so = base_opts(1);
  so.tickets = 1;
  so.early_data = 1;
  co.ciphers = so.ciphers = "AES-128-GCM";
  peer_gnutls *c = peer_gnutls_new(0, &co), *s = peer_gnutls_new(1, &so);
  uint8_t *sd = NULL;
  size_t sdn = 0;
  CHECK(c && s);
  if (!c || !s) goto out;

  /* GnuTLS sends its tickets at APPLICATION right behind its Finished,
   * in the first flight, before the client's Finished arrived. */
  peer_gnutls_step(c);
  move(c, s, 0);
  CHECK_EQ_INT(peer_gnutls_step(s), 0);
  size_t nst = peer_gnutls_pending(s, 3);
  CHECK(nst > 0);
  int lv[64], ty[64];
  size_t n = peer_gnutls_sent_log(s, lv, ty, 64);
  int tickets = 0;
  for (size_t i = 0; i < n && i < 64; i++)
    if (ty[i] == 4) {
      tickets++;
      CHECK_EQ_INT(lv[i], 3);
    }
  printf("  server sent %d NewSessionTicket(s), %zu bytes at APPLICATION, "
         "in its first flight\n", tickets, nst);
  CHECK(tickets >= 1);
  CHECK(n >= 2 && ty[n - 1] == 4 && ty[n - 1 - (size_t)tickets] == 20);

  /* All at once to the client: the tickets wait for its handshake to
   * complete, then GnuTLS takes them. */
  CHECK(move(s, c, 0) > 0);
  CHECK_EQ_INT(peer_gnutls_step(c), 1);
  CHECK_EQ_INT(peer_gnutls_error(c), 0);
  int rt[64];
  n = peer_gnutls_recv_log(c, rt, 64);
  CHECK(n >= 2 && rt[n - 1] == 4);
  CHECK(move(c, s, 0) > 0);
  CHECK_EQ_INT(peer_gnutls_step(s), 1);
  for (int l = 0; l < 4; l++) {
    CHECK_EQ_INT(peer_gnutls_pending(c, l), 0);
    CHECK_EQ_INT(peer_gnutls_pending(s, l), 0);
  }
  sdn = peer_gnutls_session_data(c, NULL, 0);
  CHECK(sdn > 0);
  sd = malloc(sdn ? sdn : 1);
  CHECK(sd && peer_gnutls_session_data(c, sd, sdn) == sdn);
  peer_gnutls_free(c);
  c = NULL;

  /* Resume against a server with the same ticket key: a PSK handshake
   * (no Certificate), then the same with 0-RTT. */
  size_t kn = 0;
  const uint8_t *k = peer_gnutls_ticket_key(s, &kn);
  CHECK(k && kn > 0);
  /* early: 0 plain resumption, 1 with 0-RTT, 2 0-RTT the server refuses. */
  for (int early = 0; early < 3 && k; early++) {
    peer_gnutls_opts ro = base_opts(0), rso = base_opts(1);
    ro.resume_data = sd;
    ro.resume_data_len = sdn;
    ro.early_data = early;
    rso.tickets = 1;
    rso.ticket_key = k;
    rso.ticket_key_len = kn;
    rso.early_data = early != 2;
    ro.ciphers = rso.ciphers = "AES-128-GCM";
    peer_gnutls *c2 = peer_gnutls_new(0, &ro);
    peer_gnutls *s2 = peer_gnutls_new(1, &rso);
    CHECK(c2 && s2);
    if (c2 && s2) {
      int ok = run(c2, s2, 0);
      CHECK(ok);
      if (!ok) report_failure(early ? "resume 0-RTT" : "resume", c2, s2);
      CHECK(peer_gnutls_resumed(c2));
      CHECK(peer_gnutls_resumed(s2));
      uint16_t cs = peer_gnutls_cipher_suite(c2);
      check_secrets(c2, s2, 2, cs == 0x1302 ? 48 : 32);
      check_secrets(c2, s2, 3, cs == 0x1302 ? 48 : 32);
      check_tp_and_alpn(c2, s2);
      n = peer_gnutls_sent_log(s2, lv, ty, 64);
      int certs = 0;
      for (size_t i = 0; i < n && i < 64; i++) certs += ty[i] == 11;
      CHECK_EQ_INT(certs, 0);
      size_t e1, e2;
      const uint8_t *ce =
          peer_gnutls_secret(c2, PEER_GNUTLS_EARLY, PEER_GNUTLS_WRITE, &e1);
      const uint8_t *se =
          peer_gnutls_secret(s2, PEER_GNUTLS_EARLY, PEER_GNUTLS_READ, &e2);
      printf("  resume%s: client early secret %s, server early secret %s, "
             "accepted c=%d s=%d\n",
             early == 1 ? " with 0-RTT" : early ? " with 0-RTT refused" : "",
             ce ? "yes" : "no", se ? "yes" : "no",
             peer_gnutls_early_data_accepted(c2),
             peer_gnutls_early_data_accepted(s2));
      int ord[16];
      size_t no = peer_gnutls_secret_order(c2, ord, 16);
      if (early == 1) {
        CHECK(ce && se);
        if (ce && se) {
          CHECK_EQ_INT(e1, cs == 0x1302 ? 48 : 32);
          CHECK_EQ_INT(e2, e1);
          if (e1 == e2) CHECK_MEM(ce, se, e1);
        }
        CHECK(peer_gnutls_early_data_accepted(c2));
        CHECK(peer_gnutls_early_data_accepted(s2));
        /* The client's 0-RTT key comes first, with its ClientHello. */
        CHECK(no >= 1 && ord[0] == PEER_GNUTLS_EARLY * 2 + PEER_GNUTLS_WRITE);
      } else if (early == 2) {
        /* Offered, so the client has its key; refused, so no server key. */
        CHECK(ce && !se);
        CHECK(!peer_gnutls_early_data_accepted(c2));
        CHECK(!peer_gnutls_early_data_accepted(s2));
      } else {
        CHECK(!ce && !se);
        CHECK(!peer_gnutls_early_data_accepted(c2));
        CHECK(!peer_gnutls_early_data_accepted(s2));
      }
      /* No EndOfEarlyData under QUIC, and nothing at EARLY. */
      CHECK_EQ_INT(peer_gnutls_pending(c2, PEER_GNUTLS_EARLY), 0);
      n = peer_gnutls_sent_log(c2, lv, ty, 64);
      for (size_t i = 0; i < n && i < 64; i++) CHECK(ty[i] != 5);
    }
    peer_gnutls_free(c2);
    peer_gnutls_free(s2);
  }
out:
  free(sd);
  peer_gnutls_free(c);
  peer_gnutls_free(s);
}

/* deliver_wrong: run the server's flight to a fresh client with the
 * bytes of level from moved to level to; the client must refuse with
 * unexpected_message, unless raw (GnuTLS alone, which takes them). */
static void deliver_wrong(int from, int to, int raw) {
  peer_gnutls_opts co = base_opts(0), so = base_opts(1);
  co.raw_levels = raw;
  so.tickets = 1;
  peer_gnutls *c = peer_gnutls_new(0, &co), *s = peer_gnutls_new(1, &so);
  CHECK(c && s);
  if (!c || !s) goto out;
  peer_gnutls_step(c);
  move(c, s, 0);
  peer_gnutls_step(s);
  uint8_t buf[16384];
  int bad = 0;
  for (int l = 0; l < 4; l++) {
    size_t n = peer_gnutls_take(s, l, buf, sizeof buf);
    if (!n) continue;
    if (peer_gnutls_feed(c, l == from ? to : l, buf, n) < 0) bad = 1;
  }
  int r = peer_gnutls_step(c);
  int al = -1, ad = -1;
  int alerted = peer_gnutls_alert(c, &al, &ad);
  printf("  server level %d bytes at %d%s: feed %s, step %d, alert %d (%s)\n",
         from, to, raw ? " (raw)" : "", bad ? "refused" : "ok", r,
         alerted ? ad : -1, peer_gnutls_error_string(c));
  if (raw) {
    CHECK_EQ_INT(r, 1); /* GnuTLS 3.7 does not notice */
  } else {
    CHECK(r < 0);
    CHECK(alerted);
    CHECK_EQ_INT(ad, 10);
    CHECK(!peer_gnutls_done(c));
  }
out:
  peer_gnutls_free(c);
  peer_gnutls_free(s);
}

/* test_levels: handshake bytes at the wrong level. */
static void test_levels(void) {
  deliver_wrong(2, 0, 1); /* EE..Finished at INITIAL */
  deliver_wrong(2, 0, 0);
  deliver_wrong(0, 2, 0); /* ServerHello at HANDSHAKE */
  deliver_wrong(2, 3, 0); /* EE..Finished at APPLICATION */
  deliver_wrong(2, 1, 0); /* anything at EARLY */
  deliver_wrong(3, 2, 0); /* NewSessionTicket at HANDSHAKE */

  /* A server gets nothing at APPLICATION: a client message there fails. */
  peer_gnutls_opts co = base_opts(0), so = base_opts(1);
  peer_gnutls *c = peer_gnutls_new(0, &co), *s = peer_gnutls_new(1, &so);
  CHECK(c && s);
  if (c && s) {
    CHECK(run(c, s, 0));
    static const uint8_t key_update[] = {24, 0, 0, 1, 0};
    CHECK(peer_gnutls_feed(s, 3, key_update, sizeof key_update) < 0);
    CHECK(peer_gnutls_step(s) < 0);
    int ad = -1, al = -1;
    CHECK(peer_gnutls_alert(s, &al, &ad));
    CHECK_EQ_INT(ad, 10);
    CHECK_EQ_INT(al, 3);
  }
  peer_gnutls_free(c);
  peer_gnutls_free(s);
}

int main(void) {
  strcpy(dir, "/tmp/tern-peer-gnutls-XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  snprintf(chain, sizeof chain, "%s/chain.pem", dir);
  snprintf(ccert, sizeof ccert, "%s/client.pem", dir);
  snprintf(ckey, sizeof ckey, "%s/client.key", dir);
  int made = peer_gnutls_make_certs(dir) == 0;
  CHECK(made);
  if (made) {
    test_flow();
    test_matrix();
    test_bytewise();
    test_hrr();
    test_sigalgs();
    test_client_cert();
    test_failures();
    test_transport_params_edges();
    test_tickets();
    test_levels();
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return check_report();
}
