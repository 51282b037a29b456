/*
 * test_gnutls_quic.c - tern against GnuTLS 3.7 in its QUIC mode, in one
 * process: tern client <-> GnuTLS server and GnuTLS client <-> tern
 * server, for every suite and group both support, with and without a
 * HelloRetryRequest. Both sides must finish with the same suite, group
 * and ALPN, the same secrets per level and direction, and each other's
 * transport parameters.
 *
 * Then, in both directions and for every suite: tickets and resumption
 * (plain, with 0-RTT accepted, 0-RTT refused by the server, 0-RTT cut
 * off by a HelloRetryRequest), where the 0-RTT keys and the exporters
 * must agree; and client certificates (presented, missing where
 * required, absent where optional, untrusted, a resumption after client
 * authentication, and an unauthenticated session's ticket at a server
 * that requires a certificate).
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "peer_gnutls.h"
#include "qpair.h"

static const uint8_t tern_tp[] = {0x01, 0x04, 0x80, 0x00, 0x75, 0x30, 0x03, 0x02, 0x45, 0xc0};
static const uint8_t gnutls_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};

static char dir[64], dir2[64];
static char ca[128], chain[128], key[128], cert[128], ccert[128], ckey[128];
static char ca2[128]; /* a CA that signed none of the certificates above */

/*
 * Known tern problems, reported; each case still runs and says what it
 * saw. Set a switch to 1 (or build with -DCHECK_TERN_...=1) to run the
 * checks that fail until tern is fixed.
 *
 * CHECK_TERN_BIG_TICKETS (fixed, on): tern's client once dropped
 * tickets over 700 bytes; GnuTLS's tickets after client authentication
 * (694-710 bytes here) must all reach the new-session callback.
 *
 * CHECK_TERN_UNAUTH_RESUMPTION (fixed, on): a tern server with client
 * authentication REQUIRED must not resume a ticket from a session whose
 * client gave no certificate (tickets now record whether it did).
 */
#ifndef CHECK_TERN_BIG_TICKETS
#define CHECK_TERN_BIG_TICKETS 1
#endif
#ifndef CHECK_TERN_UNAUTH_RESUMPTION
#define CHECK_TERN_UNAUTH_RESUMPTION 1
#endif

static const struct {
  uint16_t id;
  const char *gnutls;
} suites[] = {{TERN_TLS_AES_128_GCM_SHA256, "AES-128-GCM"},
              {TERN_TLS_AES_256_GCM_SHA384, "AES-256-GCM"},
              {TERN_TLS_CHACHA20_POLY1305_SHA256, "CHACHA20-POLY1305"},
              {TERN_TLS_AES_128_CCM_SHA256, "AES-128-CCM"}};
#define N_SUITES (sizeof suites / sizeof suites[0])
static const struct {
  uint16_t id;
  const char *gnutls;
} groups[] = {{TERN_GROUP_X25519, "X25519"},
              {TERN_GROUP_X448, "X448"},
              {TERN_GROUP_SECP256R1, "SECP256R1"},
              {TERN_GROUP_SECP384R1, "SECP384R1"},
              {TERN_GROUP_SECP521R1, "SECP521R1"},
              {TERN_GROUP_FFDHE2048, "FFDHE2048"},
              {TERN_GROUP_FFDHE3072, "FFDHE3072"},
              {TERN_GROUP_FFDHE4096, "FFDHE4096"},
              {TERN_GROUP_FFDHE6144, "FFDHE6144"},
              {TERN_GROUP_FFDHE8192, "FFDHE8192"}};
#define N_GROUPS (sizeof groups / sizeof groups[0])

/* What each side sent at the INITIAL level (ClientHellos) and at the
   APPLICATION level (NewSessionTickets) during the last drive(). */
static uint8_t tern_initial[8192], tern_app[8192], gnutls_initial[8192], gnutls_app[8192];
static size_t tern_initial_len, tern_app_len, gnutls_initial_len, gnutls_app_len;

/* keep: append to a capture buffer while there is room. */
static void keep(uint8_t *buf, size_t cap, size_t *len, const uint8_t *d, size_t n) {
  if (*len + n <= cap) {
    memcpy(buf + *len, d, n);
    *len += n;
  }
}

/* Moves bytes both ways until both are done or one fails. */
static int drive(qside *t, peer_gnutls *g, int tern_is_client) {
  uint8_t buf[16384];
  int rc = TERN_WANT_READ, grc = 0;
  tern_initial_len = tern_app_len = gnutls_initial_len = gnutls_app_len = 0;
  if (tern_is_client) {
    rc = tern_handshake(t->conn);
    if (rc < 0) return rc;
  }
  for (int round = 0; round < 32; round++) {
    int moved = 0;
    for (int lv = 0; lv < 4; lv++) {
      if (t->out_len[lv]) {
        moved = 1;
        if (lv == TERN_LEVEL_INITIAL)
          keep(tern_initial, sizeof tern_initial, &tern_initial_len, t->out[lv], t->out_len[lv]);
        if (lv == TERN_LEVEL_APPLICATION)
          keep(tern_app, sizeof tern_app, &tern_app_len, t->out[lv], t->out_len[lv]);
        if (peer_gnutls_feed(g, lv, t->out[lv], t->out_len[lv]) < 0) return -100;
        t->out_len[lv] = 0;
      }
    }
    grc = peer_gnutls_step(g);
    if (grc < 0) return -100;
    for (int lv = 0; lv < 4; lv++) {
      size_t n;
      while ((n = peer_gnutls_take(g, lv, buf, sizeof buf)) > 0) {
        moved = 1;
        if (lv == TERN_LEVEL_APPLICATION) keep(gnutls_app, sizeof gnutls_app, &gnutls_app_len, buf, n);
        if (lv == TERN_LEVEL_INITIAL)
          keep(gnutls_initial, sizeof gnutls_initial, &gnutls_initial_len, buf, n);
        rc = tern_quic_provide_data(t->conn, (tern_level)lv, buf, n);
        if (rc < 0) return rc;
      }
    }
    rc = tern_handshake(t->conn);
    if (rc < 0) return rc;
    if (rc == TERN_OK && grc == 1 && !moved) return TERN_OK;
    if (!moved && round > 2) break;
  }
  return rc == TERN_OK && peer_gnutls_done(g) ? TERN_OK : TERN_ERR_STATE;
}

static void check_secrets(const qside *t, const peer_gnutls *g, uint16_t suite) {
  size_t n = suite == TERN_TLS_AES_256_GCM_SHA384 ? 48 : 32;
  for (int lv = TERN_LEVEL_HANDSHAKE; lv <= TERN_LEVEL_APPLICATION; lv++)
    for (int d = 0; d < 2; d++) {
      size_t glen = 0;
      const uint8_t *gs = peer_gnutls_secret(g, lv, 1 - d, &glen);
      CHECK_EQ_INT(t->secret_len[lv][d], n);
      CHECK(gs != NULL && glen == n);
      if (gs != NULL && glen == n) CHECK_MEM(t->secret[lv][d], gs, n);
    }
}

static void one(int tern_is_client, size_t s, size_t gi, int hrr) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(tern_is_client ? TERN_CLIENT : TERN_SERVER);
  peer_gnutls_opts o;
  peer_gnutls *g;
  qside t;
  int rc;
  char groupstr[64];
  const uint8_t *tp;
  size_t tp_len;

  memset(&o, 0, sizeof o);
  memset(&t, 0, sizeof t);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_cipher_suites(cfg, &suites[s].id, 1), TERN_OK);
  o.ciphers = suites[s].gnutls;
  o.alpn = "h3";
  o.alpn_mandatory = 1;
  o.transport_params = gnutls_tp;
  o.transport_params_len = sizeof gnutls_tp;
  if (tern_is_client) {
    CHECK_EQ_INT(tern_config_load_trust(cfg, ca, NULL), TERN_OK);
    o.cert_file = chain;
    o.key_file = key;
    o.groups = groups[gi].gnutls;
    if (hrr) {
      /* tern's share is for another group: GnuTLS must ask for this one */
      uint16_t both[2] = {groups[gi == 0 ? 1 : 0].id, groups[gi].id};
      CHECK_EQ_INT(tern_config_set_groups(cfg, both, 2), TERN_OK);
      CHECK_EQ_INT(tern_config_set_key_share_groups(cfg, both, 1), TERN_OK);
    } else {
      CHECK_EQ_INT(tern_config_set_key_share_groups(cfg, &groups[gi].id, 1), TERN_OK);
    }
  } else {
    CHECK_EQ_INT(tern_config_load_cert_files(cfg, chain, key), TERN_OK);
    CHECK_EQ_INT(tern_config_set_groups(cfg, &groups[gi].id, 1), TERN_OK);
    o.ca_file = ca;
    o.server_name = "localhost";
    if (hrr) {
      snprintf(groupstr, sizeof groupstr, "%s:%s", groups[gi == 0 ? 1 : 0].gnutls,
               groups[gi].gnutls);
      o.groups = groupstr;
      o.key_shares = 1;
    } else {
      o.groups = groups[gi].gnutls;
      o.key_shares = 1;
    }
  }
  g = peer_gnutls_new(tern_is_client, &o);
  CHECK(g != NULL);
  if (g == NULL) {
    fprintf(stderr, "  gnutls: %s\n", peer_gnutls_last_new_error());
    tern_config_free(cfg);
    return;
  }
  t.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &t);
  CHECK_EQ_INT(tern_quic_set_transport_params(t.conn, tern_tp, sizeof tern_tp), TERN_OK);
  if (tern_is_client) CHECK_EQ_INT(tern_conn_set_server_name(t.conn, "localhost"), TERN_OK);

  rc = drive(&t, g, tern_is_client);
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) {
    int lv = 0, desc = 0;
    peer_gnutls_alert(g, &lv, &desc);
    fprintf(stderr, "  %s tern %s, %s %s hrr=%d: tern: %s (alert %u); gnutls: %s (alert %d)\n",
            tern_is_client ? "client" : "server", tern_is_client ? "-> gnutls" : "<- gnutls",
            suites[s].gnutls, groups[gi].gnutls, hrr, tern_conn_error_detail(t.conn),
            tern_conn_alert(t.conn), peer_gnutls_error_string(g), desc);
  } else {
    CHECK_EQ_INT(tern_conn_cipher_suite(t.conn), suites[s].id);
    CHECK_EQ_INT(peer_gnutls_cipher_suite(g), suites[s].id);
    CHECK_EQ_INT(tern_conn_group(t.conn), groups[gi].id);
    CHECK_EQ_INT(peer_gnutls_group(g), groups[gi].id);
    CHECK_EQ_INT(tern_conn_used_hrr(t.conn), hrr);
    CHECK_EQ_INT(peer_gnutls_hrr(g), hrr);
    CHECK(tern_conn_alpn(t.conn) != NULL && strcmp(tern_conn_alpn(t.conn), "h3") == 0);
    CHECK(peer_gnutls_alpn(g) != NULL && strcmp(peer_gnutls_alpn(g), "h3") == 0);
    CHECK_EQ_INT(tern_conn_signature_scheme(t.conn), TERN_SIG_ECDSA_SECP256R1_SHA256);
    check_secrets(&t, g, suites[s].id);
    CHECK_EQ_INT(tern_quic_peer_transport_params(t.conn, &tp, &tp_len), TERN_OK);
    CHECK(tp_len == sizeof gnutls_tp && memcmp(tp, gnutls_tp, tp_len) == 0);
    tp = peer_gnutls_peer_transport_params(g, &tp_len);
    CHECK(tp != NULL && tp_len == sizeof tern_tp && memcmp(tp, tern_tp, tp_len) == 0);
  }
  tern_conn_free(t.conn);
  for (int l = 0; l < 4; l++) free(t.out[l]);
  peer_gnutls_free(g);
  tern_config_free(cfg);
}

/* GnuTLS's alerts reach tern as failures, and tern's reach GnuTLS. */
static void test_mismatches(void) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  peer_gnutls_opts o;
  peer_gnutls *g;
  qside t;
  int rc;

  /* The server's certificate is for localhost; tern asks for another name. */
  memset(&o, 0, sizeof o);
  memset(&t, 0, sizeof t);
  tern_config_set_alpn(cfg, alpn, 1);
  tern_config_load_trust(cfg, ca, NULL);
  o.alpn = "h3";
  o.transport_params = gnutls_tp;
  o.transport_params_len = sizeof gnutls_tp;
  o.cert_file = chain;
  o.key_file = key;
  g = peer_gnutls_new(1, &o);
  CHECK(g != NULL);
  t.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &t);
  tern_quic_set_transport_params(t.conn, tern_tp, sizeof tern_tp);
  tern_conn_set_server_name(t.conn, "not-localhost.example");
  rc = drive(&t, g, 1);
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(t.conn), TERN_ALERT_BAD_CERTIFICATE);
  tern_conn_free(t.conn);
  for (int l = 0; l < 4; l++) free(t.out[l]);
  peer_gnutls_free(g);
  tern_config_free(cfg);
}

/* ------------------------------------------------------------------ */
/* Resumption, 0-RTT and client certificates                           */
/* ------------------------------------------------------------------ */

/* Cases and handshakes run below, per direction. */
static int cases_tern_client, cases_tern_server, runs_tern_client, runs_tern_server;

/* Wall-clock time in ms, plus clock_skew_ms: GnuTLS judges ticket ages
   by its own clock, so tern's must be the real time too for the ages to
   agree; a skew makes them disagree. */
static uint64_t clock_skew_ms;
static uint64_t wall_ms(void *user) {
  struct timespec ts;
  (void)user;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + clock_skew_ms;
}

/* The tickets tern's client was given, in order. */
#define MAX_TICKETS 8
static struct {
  uint8_t blob[TERN_SESSION_MAX_BYTES];
  size_t len;
  uint32_t max_early;
} tickets[MAX_TICKETS];
static int n_tickets;

static void on_session(tern_conn *c, const uint8_t *blob, size_t len, uint32_t max_early,
                       void *user) {
  (void)c, (void)user;
  CHECK(len > 0 && len <= TERN_SESSION_MAX_BYTES);
  if (n_tickets < MAX_TICKETS && len <= TERN_SESSION_MAX_BYTES) {
    memcpy(tickets[n_tickets].blob, blob, len);
    tickets[n_tickets].len = len;
    tickets[n_tickets].max_early = max_early;
    n_tickets++;
  }
}

/* tern server's answer to 0-RTT (its early-data callback). */
static int early_answer = 1;
static int early_cb(tern_conn *c, void *user) {
  (void)c, (void)user;
  return early_answer;
}

/* der_of: the DER of the first certificate of a PEM file, into out;
   returns its length, or 0. */
static size_t der_of(const char *pem, uint8_t *out, size_t cap) {
  FILE *f = fopen(pem, "r");
  X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
  int n = x ? i2d_X509(x, NULL) : -1;
  size_t got = 0;
  if (n > 0 && (size_t)n <= cap) {
    uint8_t *p = out;
    got = i2d_X509(x, &p) == n ? (size_t)n : 0;
  }
  X509_free(x);
  if (f) fclose(f);
  return got;
}

/* gnutls_opts: a GnuTLS peer with only suite s, "h3" (mandatory) and its
   transport parameters; a server holds the localhost chain, a client
   trusts the CA and checks the name localhost. */
static peer_gnutls_opts gnutls_opts(int server, size_t s) {
  peer_gnutls_opts o;
  memset(&o, 0, sizeof o);
  o.ciphers = suites[s].gnutls;
  o.alpn = "h3";
  o.alpn_mandatory = 1;
  o.transport_params = gnutls_tp;
  o.transport_params_len = sizeof gnutls_tp;
  if (server) {
    o.cert_file = chain;
    o.key_file = key;
  } else {
    o.ca_file = ca;
    o.server_name = "localhost";
  }
  if (getenv("PEER_GNUTLS_DEBUG")) o.debug_level = atoi(getenv("PEER_GNUTLS_DEBUG"));
  return o;
}

/* new_peer: peer_gnutls_new with a CHECK and the reason on failure. */
static peer_gnutls *new_peer(int server, const peer_gnutls_opts *o) {
  peer_gnutls *g = peer_gnutls_new(server, o);
  CHECK(g != NULL);
  if (g == NULL) fprintf(stderr, "  gnutls: %s\n", peer_gnutls_last_new_error());
  return g;
}

/* tern_cfg: a tern configuration with only suite s, "h3" and the wall
   clock; a client trusts the CA and keeps its tickets, a server holds
   the localhost chain and issues two tickets an hour long. */
static tern_config *tern_cfg(int client, size_t s) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(client ? TERN_CLIENT : TERN_SERVER);
  CHECK(cfg != NULL);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_cipher_suites(cfg, &suites[s].id, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, wall_ms, NULL), TERN_OK);
  if (client) {
    CHECK_EQ_INT(tern_config_load_trust(cfg, ca, NULL), TERN_OK);
    CHECK_EQ_INT(tern_config_set_new_session_callback(cfg, on_session, NULL), TERN_OK);
  } else {
    CHECK_EQ_INT(tern_config_load_cert_files(cfg, chain, key), TERN_OK);
    CHECK_EQ_INT(tern_config_set_tickets(cfg, 2, 3600), TERN_OK);
  }
  return cfg;
}

/* start_tern: a fresh QUIC connection on t with tern's transport
   parameters (a client also names localhost). */
static void start_tern(qside *t, tern_config *cfg, int client) {
  memset(t, 0, sizeof *t);
  t->conn = tern_conn_new_quic(cfg, &qpair_callbacks, t);
  CHECK(t->conn != NULL);
  CHECK_EQ_INT(tern_quic_set_transport_params(t->conn, tern_tp, sizeof tern_tp), TERN_OK);
  if (client) CHECK_EQ_INT(tern_conn_set_server_name(t->conn, "localhost"), TERN_OK);
}

static void end_tern(qside *t) {
  tern_conn_free(t->conn);
  for (int l = 0; l < 4; l++) free(t->out[l]);
  memset(t, 0, sizeof *t);
}

/* report: both sides' view of a handshake that went otherwise than
   expected. */
static void report(const char *what, int rc, const qside *t, const peer_gnutls *g) {
  int lv = -1, desc = -1;
  peer_gnutls_alert(g, &lv, &desc);
  fprintf(stderr, "  %s: rc %d; tern: %s (alert %u, done %d); gnutls: %s (alert %d at level %d, done %d)\n",
          what, rc, tern_conn_error_detail(t->conn), tern_conn_alert(t->conn),
          tern_conn_handshake_done(t->conn), peer_gnutls_error_string(g), desc, lv,
          peer_gnutls_done(g));
}

/* count_sent / count_recv: how many messages of a type GnuTLS sent (at
   level, or any level with -1) / received. */
static int count_sent(const peer_gnutls *g, int level, int type) {
  int lv[64], ty[64], k = 0;
  size_t n = peer_gnutls_sent_log(g, lv, ty, 64);
  for (size_t i = 0; i < n && i < 64; i++) k += ty[i] == type && (level < 0 || lv[i] == level);
  return k;
}

static int count_recv(const peer_gnutls *g, int type) {
  int ty[64], k = 0;
  size_t n = peer_gnutls_recv_log(g, ty, 64);
  for (size_t i = 0; i < n && i < 64; i++) k += ty[i] == type;
  return k;
}

/* The label of the early exporter compared across the two. */
#define EARLY_LABEL "EXPORTER-tern-gnutls-early"

/* check_exporters: tern's and GnuTLS's exporters agree, and the early
   exporters too when 0-RTT was accepted (GnuTLS took its early one
   during the handshake, for EARLY_LABEL). */
static void check_exporters(const qside *t, peer_gnutls *g, int early) {
  static const uint8_t ctx[] = {'q', 'u', 'i', 'c'};
  uint8_t a[42], b[42];
  const uint8_t *ge;
  CHECK_EQ_INT(tern_export_keying_material(t->conn, "EXPORTER-tern-gnutls", ctx, sizeof ctx, a,
                                           sizeof a), TERN_OK);
  CHECK_EQ_INT(peer_gnutls_export(g, "EXPORTER-tern-gnutls", ctx, sizeof ctx, b, sizeof b), 0);
  CHECK_MEM(a, b, sizeof a);
  CHECK_EQ_INT(tern_export_keying_material(t->conn, "EXPORTER-empty", NULL, 0, a, 32), TERN_OK);
  CHECK_EQ_INT(peer_gnutls_export(g, "EXPORTER-empty", NULL, 0, b, 32), 0);
  CHECK_MEM(a, b, 32);
  if (!early) return;
  ge = peer_gnutls_early_export(g);
  CHECK(ge != NULL);
  CHECK_EQ_INT(tern_export_early_keying_material(t->conn, EARLY_LABEL, NULL, 0, a,
                                                 PEER_GNUTLS_EARLY_EXPORT_LEN), TERN_OK);
  if (ge != NULL) CHECK_MEM(a, ge, PEER_GNUTLS_EARLY_EXPORT_LEN);
}

/* ch_has_ext: whether the index-th ClientHello in m[0..n) carries
   extension ext: 1, 0, or -1 when there is no such ClientHello or it
   does not parse. */
static int ch_has_ext(const uint8_t *m, size_t n, int index, unsigned ext) {
  size_t i = 0;
  for (int k = 0; i + 4 <= n; k++) {
    size_t len = (size_t)m[i + 1] << 16 | (size_t)m[i + 2] << 8 | m[i + 3];
    size_t end = i + 4 + len, j = i + 4 + 2 + 32;
    if (end > n || m[i] != 1) return -1;
    if (k == index) {
      if (j >= end) return -1;
      j += 1 + (size_t)m[j]; /* legacy_session_id */
      if (j + 2 > end) return -1;
      j += 2 + ((size_t)m[j] << 8 | m[j + 1]); /* cipher_suites */
      if (j >= end) return -1;
      j += 1 + (size_t)m[j]; /* legacy_compression_methods */
      if (j + 2 > end || j + 2 + ((size_t)m[j] << 8 | m[j + 1]) != end) return -1;
      for (j += 2; j + 4 <= end;) {
        unsigned type = (unsigned)m[j] << 8 | m[j + 1];
        size_t elen = (size_t)m[j + 2] << 8 | m[j + 3];
        if (type == ext) return 1;
        j += 4 + elen;
      }
      return 0;
    }
    i = end;
  }
  return -1;
}

/* check_early_keys: the 0-RTT secret of the client side (tern's or
   GnuTLS's write) against the server side's read; want_read: whether
   the server must have installed one (it accepted). */
static void check_early_keys(const qside *t, const peer_gnutls *g, int tern_is_client,
                             int offered, int want_read) {
  size_t glen = 0;
  const uint8_t *gs = peer_gnutls_secret(g, TERN_LEVEL_EARLY,
                                         tern_is_client ? PEER_GNUTLS_READ : PEER_GNUTLS_WRITE, &glen);
  size_t tlen = t->secret_len[TERN_LEVEL_EARLY][tern_is_client ? TERN_WRITE : TERN_READ];
  const uint8_t *ts = t->secret[TERN_LEVEL_EARLY][tern_is_client ? TERN_WRITE : TERN_READ];
  size_t client_len = tern_is_client ? tlen : glen, server_len = tern_is_client ? glen : tlen;
  CHECK_EQ_INT(client_len > 0, offered);
  CHECK_EQ_INT(server_len > 0, want_read);
  /* nothing else at EARLY: no read key on the client, no write on the server */
  CHECK_EQ_INT(t->secret_len[TERN_LEVEL_EARLY][tern_is_client ? TERN_READ : TERN_WRITE], 0);
  CHECK(peer_gnutls_secret(g, TERN_LEVEL_EARLY,
                           tern_is_client ? PEER_GNUTLS_WRITE : PEER_GNUTLS_READ, NULL) == NULL);
  if (tlen && glen) {
    CHECK_EQ_INT(tlen, glen);
    if (tlen == glen) CHECK_MEM(ts, gs, tlen);
  }
}

/* One NewSessionTicket as it went on the wire. */
typedef struct nst_info {
  size_t ticket_len;  /* length of the ticket field */
  uint32_t max_early; /* early_data's max_early_data_size; 0 without it */
} nst_info;

/* nst_walk: reads the NewSessionTickets in m[0..n) (RFC 8446 §4.6.1)
   into out; returns how many, or -1 when malformed. */
static int nst_walk(const uint8_t *m, size_t n, nst_info *out, int cap) {
  int k = 0;
  size_t i = 0;
  while (i < n) {
    size_t len, end, j, tk, ext_end;
    if (n - i < 4 || m[i] != 4) return -1;
    len = (size_t)m[i + 1] << 16 | (size_t)m[i + 2] << 8 | m[i + 3];
    if (n - i - 4 < len) return -1;
    end = i + 4 + len;
    j = i + 4 + 8; /* ticket_lifetime, ticket_age_add */
    if (j >= end) return -1;
    j += 1 + (size_t)m[j]; /* ticket_nonce */
    if (j + 2 > end) return -1;
    tk = (size_t)m[j] << 8 | m[j + 1];
    j += 2 + tk;
    if (j + 2 > end) return -1;
    ext_end = j + 2 + ((size_t)m[j] << 8 | m[j + 1]);
    if (ext_end != end) return -1;
    j += 2;
    if (k < cap) {
      out[k].ticket_len = tk;
      out[k].max_early = 0;
    }
    while (j < ext_end) {
      unsigned type, elen;
      if (ext_end - j < 4) return -1;
      type = (unsigned)m[j] << 8 | m[j + 1];
      elen = (unsigned)m[j + 2] << 8 | m[j + 3];
      j += 4;
      if (ext_end - j < elen) return -1;
      if (type == 42 && elen == 4 && k < cap)
        out[k].max_early = (uint32_t)m[j] << 24 | (uint32_t)m[j + 1] << 16 |
                           (uint32_t)m[j + 2] << 8 | m[j + 3];
      j += elen;
    }
    k++;
    i = end;
  }
  return k;
}

/* How the second connection of a resumption case goes. */
enum {
  RESUME_PLAIN,      /* no 0-RTT anywhere */
  RESUME_HRR,        /* the server asks for another key share; no 0-RTT */
  RESUME_EARLY,      /* 0-RTT offered and accepted */
  RESUME_REFUSED,    /* 0-RTT offered, the server declines it */
  RESUME_STALE,      /* 0-RTT offered, tern's clock 30 s ahead: the ages disagree */
  RESUME_EARLY_HRR,  /* 0-RTT offered, the server asks for another key share */
  RESUME_KINDS
};
static const char *const resume_name[] = {
    "resumption", "resumption with HelloRetryRequest", "resumption with 0-RTT",
    "resumption, 0-RTT refused", "resumption, 0-RTT with a ticket age 30 s off",
    "resumption, 0-RTT then HelloRetryRequest"};

/* The skew of RESUME_STALE: three times the 10 s anti-replay window of
   both (tern's as configured here, GnuTLS's default). */
#define STALE_SKEW_MS 30000u

/* check_resumed: what every resumed handshake shows on both sides. */
static void check_resumed(const char *what, int rc, const qside *t, peer_gnutls *g, size_t s,
                          int tern_is_client, int kind) {
  int accepted = kind == RESUME_EARLY;
  int offered = kind >= RESUME_EARLY;
  int hrr = kind == RESUME_HRR || kind == RESUME_EARLY_HRR;
  tern_early_data_status st = tern_conn_early_data_status(t->conn);
  CHECK_EQ_INT(rc, TERN_OK);
  CHECK_EQ_INT(tern_conn_resumed(t->conn), 1);
  CHECK_EQ_INT(peer_gnutls_resumed(g), 1);
  if (rc != TERN_OK || !tern_conn_resumed(t->conn) || !peer_gnutls_resumed(g))
    report(what, rc, t, g);
  if (rc != TERN_OK) return;
  CHECK_EQ_INT(tern_conn_cipher_suite(t->conn), suites[s].id);
  CHECK_EQ_INT(tern_conn_used_hrr(t->conn), hrr);
  CHECK_EQ_INT(peer_gnutls_hrr(g), hrr);
  check_secrets(t, g, suites[s].id);
  /* a PSK handshake: no certificate from the server */
  if (tern_is_client) {
    CHECK_EQ_INT(count_sent(g, -1, 11), 0);
    CHECK_EQ_INT(count_sent(g, -1, 15), 0);
  } else {
    CHECK_EQ_INT(count_recv(g, 11), 0);
    CHECK_EQ_INT(count_recv(g, 15), 0);
  }
  if (tern_is_client)
    CHECK_EQ_INT(st, accepted ? TERN_EARLY_DATA_ACCEPTED
                              : offered ? TERN_EARLY_DATA_REJECTED : TERN_EARLY_DATA_NONE);
  else if (kind == RESUME_EARLY_HRR) /* the HelloRetryRequest answered a 0-RTT offer */
    CHECK(st == TERN_EARLY_DATA_NONE || st == TERN_EARLY_DATA_REJECTED);
  else
    CHECK_EQ_INT(st, accepted ? TERN_EARLY_DATA_ACCEPTED
                              : offered ? TERN_EARLY_DATA_REJECTED : TERN_EARLY_DATA_NONE);
  CHECK_EQ_INT(peer_gnutls_early_data_accepted(g) != 0, accepted);
  check_early_keys(t, g, tern_is_client, offered, accepted);
  check_exporters(t, g, accepted);
}

/* resume_tern_client: tern's client gets GnuTLS's tickets (sent at the
   APPLICATION level right behind its Finished) through the new-session
   callback and resumes with one at a GnuTLS server that shares the
   ticket key. */
static void resume_tern_client(size_t s, int kind) {
  int early = kind >= RESUME_EARLY;
  tern_config *cfg = tern_cfg(1, s);
  peer_gnutls_opts so = gnutls_opts(1, s);
  peer_gnutls *g1, *g2 = NULL;
  const uint8_t *k;
  size_t kn = 0;
  qside t;
  int rc;
  char what[128];

  snprintf(what, sizeof what, "tern client -> GnuTLS, %s, %s", suites[s].gnutls,
           resume_name[kind]);
  if (early) CHECK_EQ_INT(tern_config_set_early_data(cfg, 1, 0), TERN_OK);
  so.tickets = 1;
  so.early_data = early;
  n_tickets = 0;
  g1 = new_peer(1, &so);
  if (g1 == NULL) goto out;
  start_tern(&t, cfg, 1);
  rc = drive(&t, g1, 1);
  runs_tern_client++;
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) report(what, rc, &t, g1);
  CHECK_EQ_INT(tern_conn_resumed(t.conn), 0);
  CHECK_EQ_INT(peer_gnutls_resumed(g1), 0);
  CHECK_EQ_INT(tern_conn_early_data_status(t.conn), TERN_EARLY_DATA_NONE);
  /* GnuTLS 3.7 sends two tickets; each reached the callback */
  CHECK_EQ_INT(count_sent(g1, TERN_LEVEL_APPLICATION, 4), 2);
  CHECK_EQ_INT(n_tickets, 2);
  for (int i = 0; i < n_tickets; i++)
    CHECK_EQ_INT(tickets[i].max_early, early ? 0xffffffffu : 0); /* RFC 9001 §4.6.1 */
  end_tern(&t);
  if (n_tickets < 1) goto out;

  /* The resuming server shares the ticket key (and, for 0-RTT, the
     anti-replay context: g1 lives until g2 is made). */
  k = peer_gnutls_ticket_key(g1, &kn);
  CHECK(k != NULL);
  so.ticket_key = k;
  so.ticket_key_len = kn;
  so.early_data = early && kind != RESUME_REFUSED;
  so.early_exporter_label = EARLY_LABEL;
  if (kind == RESUME_HRR || kind == RESUME_EARLY_HRR)
    so.groups = "SECP256R1"; /* tern's only share is X25519 */
  g2 = new_peer(1, &so);
  peer_gnutls_free(g1);
  g1 = NULL;
  if (g2 == NULL) goto out;
  start_tern(&t, cfg, 1);
  /* RESUME_STALE: the client claims a ticket age 30 s longer than it is */
  if (kind == RESUME_STALE) clock_skew_ms = STALE_SKEW_MS;
  /* GnuTLS 3.7 keeps a ticket's creation time in whole seconds and takes
     a client age above its own view as a reason to refuse 0-RTT, so an
     exact age was refused in 4 of 26 runs here: the client's clock is
     set a second back (well inside the 10 s window). */
  else clock_skew_ms = (uint64_t)-1000;
  CHECK_EQ_INT(tern_conn_set_session(t.conn, tickets[0].blob, tickets[0].len, wall_ms(NULL)),
               TERN_OK);
  clock_skew_ms = 0;
  rc = drive(&t, g2, 1);
  runs_tern_client++;
  if (kind == RESUME_EARLY_HRR) {
    /* tern does its part: its first ClientHello offers 0-RTT, the second
       (after the HelloRetryRequest) does not (RFC 8446 §4.1.2), and the
       0-RTT offer counts as rejected. */
    CHECK_EQ_INT(ch_has_ext(tern_initial, tern_initial_len, 0, 42), 1);
    CHECK_EQ_INT(ch_has_ext(tern_initial, tern_initial_len, 1, 42), 0);
    CHECK_EQ_INT(tern_conn_used_hrr(t.conn), 1);
    CHECK_EQ_INT(tern_conn_early_data_status(t.conn), TERN_EARLY_DATA_REJECTED);
    CHECK_EQ_INT(tern_conn_alert(t.conn), 0);
    if (rc == -100 && peer_gnutls_error(g2) == -50 /* GNUTLS_E_INVALID_REQUEST */) {
      /* GnuTLS 3.7.9 server bug, not tern's: it accepts the 0-RTT of the
         first ClientHello (and sets up the early read epoch) before it
         finds it needs a HelloRetryRequest; after the second ClientHello
         generate_ap_traffic_keys finds no epoch slot left and it fails
         with GNUTLS_E_INVALID_REQUEST / internal_error. A GnuTLS client
         against a GnuTLS server fails the same way. */
      CHECK_EQ_INT(peer_gnutls_hrr(g2), 1);
      printf("  %s: GnuTLS 3.7 server fails after the HelloRetryRequest (%s); "
             "tern's second ClientHello correctly left 0-RTT out\n", what,
             peer_gnutls_error_string(g2));
    } else {
      check_resumed(what, rc, &t, g2, s, 1, kind);
    }
  } else {
    check_resumed(what, rc, &t, g2, s, 1, kind);
  }
  if (kind == RESUME_HRR && rc == TERN_OK)
    CHECK_EQ_INT(tern_conn_group(t.conn), TERN_GROUP_SECP256R1);
  end_tern(&t);
out:
  peer_gnutls_free(g1);
  peer_gnutls_free(g2);
  tern_config_free(cfg);
}

/* resume_tern_server: GnuTLS's client stores tern's ticket
   (gnutls_session_get_data2) and resumes with it
   (gnutls_session_set_data); for 0-RTT GNUTLS_ENABLE_EARLY_DATA is all it
   takes: in QUIC mode GnuTLS 3.7's client offers early_data without any
   gnutls_record_send_early_data (the data would go in 0-RTT packets),
   and installs its 0-RTT write key. */
static void resume_tern_server(size_t s, int kind) {
  int early = kind >= RESUME_EARLY;
  tern_config *cfg = tern_cfg(0, s);
  peer_gnutls_opts co = gnutls_opts(0, s);
  peer_gnutls *g1, *g2 = NULL;
  uint8_t sd[4096];
  size_t sdn;
  nst_info me[8];
  int nst;
  qside t;
  int rc;
  char what[128];

  snprintf(what, sizeof what, "GnuTLS -> tern server, %s, %s", suites[s].gnutls,
           resume_name[kind]);
  if (early) {
    CHECK_EQ_INT(tern_config_set_early_data(cfg, 0xffffffffu, 10000), TERN_OK);
    CHECK_EQ_INT(tern_config_set_early_data_callback(cfg, early_cb, NULL), TERN_OK);
  }
  co.early_data = early;
  g1 = new_peer(0, &co);
  if (g1 == NULL) goto out;
  start_tern(&t, cfg, 0);
  rc = drive(&t, g1, 0);
  runs_tern_server++;
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) report(what, rc, &t, g1);
  CHECK_EQ_INT(tern_conn_resumed(t.conn), 0);
  CHECK_EQ_INT(peer_gnutls_resumed(g1), 0);
  /* tern's two tickets, as they went on the wire: in QUIC a ticket that
     allows 0-RTT says 0xffffffff (RFC 9001 §4.6.1) */
  nst = nst_walk(tern_app, tern_app_len, me, 8);
  CHECK_EQ_INT(nst, 2);
  for (int i = 0; i < nst && i < 8; i++) CHECK_EQ_INT(me[i].max_early, early ? 0xffffffffu : 0);
  CHECK_EQ_INT(count_recv(g1, 4), 2);
  sdn = peer_gnutls_session_data(g1, sd, sizeof sd);
  CHECK(sdn > 0 && sdn <= sizeof sd);
  end_tern(&t);
  peer_gnutls_free(g1);
  g1 = NULL;
  if (sdn == 0 || sdn > sizeof sd) goto out;

  co.resume_data = sd;
  co.resume_data_len = sdn;
  co.early_exporter_label = EARLY_LABEL;
  if (kind == RESUME_HRR || kind == RESUME_EARLY_HRR) {
    /* GnuTLS's only share is X25519 and tern now wants P-256 */
    uint16_t p256 = TERN_GROUP_SECP256R1;
    CHECK_EQ_INT(tern_config_set_groups(cfg, &p256, 1), TERN_OK);
    co.groups = "X25519:SECP256R1";
    co.key_shares = 1;
  }
  early_answer = kind != RESUME_REFUSED;
  /* RESUME_STALE: the server's clock finds the ticket 30 s older than
     GnuTLS's client says */
  if (kind == RESUME_STALE) clock_skew_ms = STALE_SKEW_MS;
  g2 = new_peer(0, &co);
  if (g2 == NULL) goto out;
  start_tern(&t, cfg, 0);
  rc = drive(&t, g2, 0);
  clock_skew_ms = 0;
  runs_tern_server++;
  if (kind == RESUME_EARLY_HRR && rc == TERN_ERR_ALERT &&
      ch_has_ext(gnutls_initial, gnutls_initial_len, 1, 42) == 1) {
    /* GnuTLS 3.7.9 client bug, not tern's: its second ClientHello still
       carries early_data, which RFC 8446 §4.1.2 forbids after a
       HelloRetryRequest; tern refuses it with illegal_parameter. */
    CHECK_EQ_INT(ch_has_ext(gnutls_initial, gnutls_initial_len, 0, 42), 1);
    CHECK_EQ_INT(tern_conn_alert(t.conn), TERN_ALERT_ILLEGAL_PARAMETER);
    CHECK_EQ_INT(tern_conn_used_hrr(t.conn), 1);
    printf("  %s: GnuTLS 3.7's second ClientHello keeps early_data; tern refuses it: "
           "alert %u %s (%s)\n", what, tern_conn_alert(t.conn),
           tern_alert_name(tern_conn_alert(t.conn)), tern_conn_error_detail(t.conn));
  } else {
    check_resumed(what, rc, &t, g2, s, 0, kind);
    /* a resumed connection issues tickets too */
    if (rc == TERN_OK) CHECK_EQ_INT(count_recv(g2, 4), 2);
  }
  if (kind == RESUME_HRR && rc == TERN_OK)
    CHECK_EQ_INT(tern_conn_group(t.conn), TERN_GROUP_SECP256R1);
  end_tern(&t);
out:
  early_answer = 1;
  peer_gnutls_free(g1);
  peer_gnutls_free(g2);
  tern_config_free(cfg);
}

/* The client-certificate cases. */
enum {
  AUTH_PRESENT,   /* required, and the client has a trusted certificate */
  AUTH_MISSING,   /* required, and the client has none */
  AUTH_OPTIONAL,  /* requested only, and the client has none */
  AUTH_UNTRUSTED, /* required, the client's certificate is from an unknown CA */
  AUTH_RESUMED,   /* required; a full handshake with one, then resumption */
  AUTH_KINDS
};

/* tern_unauth_resumption: a ticket from a session where the client
   gave no certificate (client authentication optional) is offered to a
   server of the same fleet (same ticket key) that requires one.
   REQUIRED means no connection completes without a client certificate,
   so the server must not resume that session. */
static void tern_unauth_resumption(size_t s) {
  static const uint8_t name[16] = "gnutls-fleet-key", tkey[32] = "gnutls-fleet-key-gnutls-fleet-k";
  tern_config *opt = tern_cfg(0, s), *req = tern_cfg(0, s);
  peer_gnutls_opts co = gnutls_opts(0, s);
  peer_gnutls *g = NULL;
  uint8_t sd[4096];
  size_t sdn = 0, n;
  const uint8_t *der;
  qside t;
  int rc;
  char what[128];

  snprintf(what, sizeof what, "GnuTLS -> tern server, %s, unauthenticated ticket at a server "
           "that requires a certificate", suites[s].gnutls);
  CHECK_EQ_INT(tern_config_load_trust(opt, ca, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_load_trust(req, ca, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_client_auth(opt, TERN_CLIENT_AUTH_OPTIONAL, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_client_auth(req, TERN_CLIENT_AUTH_REQUIRED, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_ticket_key(opt, name, tkey), TERN_OK);
  CHECK_EQ_INT(tern_config_set_ticket_key(req, name, tkey), TERN_OK);
  g = new_peer(0, &co);
  if (g == NULL) goto out;
  start_tern(&t, opt, 0);
  rc = drive(&t, g, 0);
  runs_tern_server++;
  CHECK_EQ_INT(rc, TERN_OK);
  CHECK_EQ_INT(tern_conn_peer_certificate(t.conn, &der, &n), TERN_ERR_STATE);
  end_tern(&t);
  sdn = peer_gnutls_session_data(g, sd, sizeof sd);
  CHECK(sdn > 0 && sdn <= sizeof sd);
  peer_gnutls_free(g);
  g = NULL;
  if (sdn == 0 || sdn > sizeof sd) goto out;
  co.resume_data = sd;
  co.resume_data_len = sdn;
  g = new_peer(0, &co);
  if (g == NULL) goto out;
  start_tern(&t, req, 0);
  rc = drive(&t, g, 0);
  runs_tern_server++;
#if CHECK_TERN_UNAUTH_RESUMPTION
  CHECK(!(rc == TERN_OK && tern_conn_resumed(t.conn)));
#else
  if (rc == TERN_OK && tern_conn_resumed(t.conn))
    printf("  %s: KNOWN TERN BUG: resumed without any client certificate (peer certificate: %s)\n",
           what, tern_conn_peer_certificate(t.conn, &der, &n) == TERN_OK ? "yes" : "none");
  else
#endif
  printf("  %s: rc %d, resumed %d, alert %u (%s)\n", what, rc, tern_conn_resumed(t.conn),
         tern_conn_alert(t.conn), tern_conn_error_detail(t.conn));
  end_tern(&t);
out:
  peer_gnutls_free(g);
  tern_config_free(opt);
  tern_config_free(req);
}
static const char *const auth_name[] = {"client certificate", "client certificate missing",
                                        "optional client certificate absent",
                                        "untrusted client certificate",
                                        "resumption after client authentication"};

/* auth_tern_server: tern's server asks for the certificate, GnuTLS's
   client has (or has not) one. */
static void auth_tern_server(size_t s, int kind) {
  tern_config *cfg = tern_cfg(0, s);
  peer_gnutls_opts co = gnutls_opts(0, s);
  peer_gnutls *g = NULL;
  uint8_t want[4096], sd[4096];
  size_t want_len = der_of(ccert, want, sizeof want), sdn = 0, n;
  const uint8_t *der;
  qside t;
  int rc;
  char what[128];

  snprintf(what, sizeof what, "GnuTLS -> tern server, %s, %s", suites[s].gnutls, auth_name[kind]);
  CHECK(want_len > 0);
  CHECK_EQ_INT(tern_config_load_trust(cfg, kind == AUTH_UNTRUSTED ? ca2 : ca, NULL), TERN_OK);
  /* with the CA's name in the CertificateRequest, GnuTLS only sends a
     certificate that CA issued: the untrusted one goes without it */
  CHECK_EQ_INT(tern_config_set_client_auth(cfg, kind == AUTH_OPTIONAL ? TERN_CLIENT_AUTH_OPTIONAL
                                                                      : TERN_CLIENT_AUTH_REQUIRED,
                                           kind != AUTH_UNTRUSTED),
               TERN_OK);
  if (kind != AUTH_MISSING && kind != AUTH_OPTIONAL) {
    co.cert_file = ccert;
    co.key_file = ckey;
  }
  g = new_peer(0, &co);
  if (g == NULL) goto out;
  start_tern(&t, cfg, 0);
  rc = drive(&t, g, 0);
  runs_tern_server++;
  /* GnuTLS got the CertificateRequest and answered with a Certificate,
     empty or not, in any case */
  CHECK_EQ_INT(count_recv(g, 13), 1);
  CHECK_EQ_INT(count_sent(g, TERN_LEVEL_HANDSHAKE, 11), 1);
  switch (kind) {
    case AUTH_PRESENT:
    case AUTH_RESUMED:
      CHECK_EQ_INT(rc, TERN_OK);
      if (rc != TERN_OK) {
        report(what, rc, &t, g);
        break;
      }
      CHECK_EQ_INT(count_sent(g, TERN_LEVEL_HANDSHAKE, 15), 1);
      CHECK_EQ_INT(tern_conn_peer_certificate(t.conn, &der, &n), TERN_OK);
      CHECK(n == want_len && memcmp(der, want, n) == 0);
      /* and GnuTLS verified tern's certificate */
      CHECK_EQ_INT(peer_gnutls_verify_status(g), 0);
      der = peer_gnutls_peer_certificate(g, &n);
      want_len = der_of(cert, want, sizeof want);
      CHECK(der != NULL && n == want_len && memcmp(der, want, n) == 0);
      check_secrets(&t, g, suites[s].id);
      check_exporters(&t, g, 0);
      break;
    case AUTH_OPTIONAL:
      CHECK_EQ_INT(rc, TERN_OK);
      if (rc != TERN_OK) report(what, rc, &t, g);
      CHECK_EQ_INT(count_sent(g, TERN_LEVEL_HANDSHAKE, 15), 0);
      CHECK_EQ_INT(tern_conn_peer_certificate(t.conn, &der, &n), TERN_ERR_STATE);
      break;
    case AUTH_MISSING:
    case AUTH_UNTRUSTED: {
      uint8_t want_alert = kind == AUTH_MISSING ? TERN_ALERT_CERTIFICATE_REQUIRED
                                                : TERN_ALERT_UNKNOWN_CA;
      CHECK_EQ_INT(rc, TERN_ERR_ALERT);
      CHECK_EQ_INT(tern_conn_alert(t.conn), want_alert);
      CHECK_EQ_INT(tern_conn_handshake_done(t.conn), 0);
      CHECK_EQ_INT(tern_conn_peer_certificate(t.conn, &der, &n), TERN_ERR_STATE);
      CHECK_EQ_INT(count_sent(g, TERN_LEVEL_HANDSHAKE, 15), kind == AUTH_UNTRUSTED);
      /* GnuTLS's client finished its side; in QUIC tern's alert reaches it
         in a CONNECTION_CLOSE (0x100 + alert), not through TLS */
      CHECK_EQ_INT(peer_gnutls_done(g), 1);
      CHECK_EQ_INT(peer_gnutls_alert(g, NULL, NULL), 0);
      if (rc != TERN_ERR_ALERT || tern_conn_alert(t.conn) != want_alert) report(what, rc, &t, g);
      else
        printf("  %s: tern server alert %u %s (%s)\n", what, tern_conn_alert(t.conn),
               tern_alert_name(tern_conn_alert(t.conn)), tern_conn_error_detail(t.conn));
      break;
    }
  }
  end_tern(&t);
  if (kind != AUTH_RESUMED) goto out;

  /* Resumption: no CertificateRequest in a PSK handshake (RFC 8446
     §4.3.2), and REQUIRED does not fail it. */
  sdn = peer_gnutls_session_data(g, sd, sizeof sd);
  CHECK(sdn > 0 && sdn <= sizeof sd);
  peer_gnutls_free(g);
  g = NULL;
  if (sdn == 0 || sdn > sizeof sd) goto out;
  co.resume_data = sd;
  co.resume_data_len = sdn;
  g = new_peer(0, &co);
  if (g == NULL) goto out;
  start_tern(&t, cfg, 0);
  rc = drive(&t, g, 0);
  runs_tern_server++;
  check_resumed(what, rc, &t, g, s, 0, RESUME_PLAIN);
  CHECK_EQ_INT(count_recv(g, 13), 0);
  CHECK_EQ_INT(count_sent(g, -1, 11), 0);
  rc = tern_conn_peer_certificate(t.conn, &der, &n);
  printf("  %s: tern_conn_peer_certificate on the resumed server: %s\n", what,
         rc == TERN_OK ? "the client's certificate" : tern_strerror(rc));
  end_tern(&t);
out:
  peer_gnutls_free(g);
  tern_config_free(cfg);
}

/* auth_tern_client: GnuTLS's server asks for the certificate, tern's
   client has (or has not) one. */
static void auth_tern_client(size_t s, int kind) {
  tern_config *cfg = tern_cfg(1, s);
  peer_gnutls_opts so = gnutls_opts(1, s);
  peer_gnutls *g = NULL, *g2 = NULL;
  uint8_t want[4096];
  size_t want_len = der_of(ccert, want, sizeof want), n, kn = 0;
  const uint8_t *der, *k;
  qside t;
  int rc, lv = -1, desc = -1;
  char what[128];

  snprintf(what, sizeof what, "tern client -> GnuTLS, %s, %s", suites[s].gnutls, auth_name[kind]);
  CHECK(want_len > 0);
  so.ca_file = kind == AUTH_UNTRUSTED ? ca2 : ca;
  so.request_client_cert = kind == AUTH_OPTIONAL ? 1 : 2;
  so.tickets = kind == AUTH_RESUMED;
  if (kind != AUTH_MISSING && kind != AUTH_OPTIONAL)
    CHECK_EQ_INT(tern_config_load_cert_files(cfg, ccert, ckey), TERN_OK);
  n_tickets = 0;
  g = new_peer(1, &so);
  if (g == NULL) goto out;
  start_tern(&t, cfg, 1);
  rc = drive(&t, g, 1);
  runs_tern_client++;
  CHECK_EQ_INT(count_sent(g, TERN_LEVEL_HANDSHAKE, 13), 1);
  CHECK_EQ_INT(count_recv(g, 11), 1); /* tern answered, empty or not */
  /* tern's client verified GnuTLS's certificate in every case */
  CHECK_EQ_INT(tern_conn_peer_certificate(t.conn, &der, &n), TERN_OK);
  {
    uint8_t leaf[4096];
    size_t leaf_len = der_of(cert, leaf, sizeof leaf);
    CHECK(leaf_len > 0 && n == leaf_len && memcmp(der, leaf, n) == 0);
  }
  switch (kind) {
    case AUTH_PRESENT:
    case AUTH_RESUMED:
      CHECK_EQ_INT(rc, TERN_OK);
      if (rc != TERN_OK) {
        report(what, rc, &t, g);
        break;
      }
      CHECK_EQ_INT(count_recv(g, 15), 1);
      der = peer_gnutls_peer_certificate(g, &n);
      CHECK(der != NULL && n == want_len && memcmp(der, want, n) == 0);
      CHECK_EQ_INT(peer_gnutls_verify_status(g), 0);
      check_secrets(&t, g, suites[s].id);
      check_exporters(&t, g, 0);
      break;
    case AUTH_OPTIONAL:
      CHECK_EQ_INT(rc, TERN_OK);
      if (rc != TERN_OK) report(what, rc, &t, g);
      CHECK_EQ_INT(count_recv(g, 15), 0);
      CHECK(peer_gnutls_peer_certificate(g, NULL) == NULL);
      break;
    case AUTH_MISSING:
    case AUTH_UNTRUSTED:
      /* GnuTLS refuses tern's flight; tern's client is done on its side
         and learns of it by GnuTLS's CONNECTION_CLOSE */
      CHECK_EQ_INT(rc, -100);
      CHECK_EQ_INT(peer_gnutls_done(g), 0);
      CHECK(peer_gnutls_error(g) < 0);
      CHECK_EQ_INT(peer_gnutls_alert(g, &lv, &desc), 1);
      if (kind == AUTH_MISSING) CHECK_EQ_INT(desc, TERN_ALERT_CERTIFICATE_REQUIRED);
      else CHECK(desc == TERN_ALERT_UNKNOWN_CA || desc == TERN_ALERT_BAD_CERTIFICATE);
      CHECK_EQ_INT(tern_conn_handshake_done(t.conn), 1);
      CHECK_EQ_INT(tern_conn_alert(t.conn), 0);
      CHECK_EQ_INT(count_recv(g, 15), kind == AUTH_UNTRUSTED);
      printf("  %s: GnuTLS server alert %d %s at level %d (%s)\n", what, desc,
             tern_alert_name((uint8_t)desc), lv, peer_gnutls_error_string(g));
      break;
  }
  end_tern(&t);
  if (kind != AUTH_RESUMED) goto out;
  {
    /* GnuTLS's tickets after client authentication: every one must reach
       the new-session callback */
    nst_info ni[8];
    int nst = nst_walk(gnutls_app, gnutls_app_len, ni, 8), fit = 0;
    CHECK_EQ_INT(nst, 2);
    for (int i = 0; i < nst && i < 8; i++) fit += ni[i].ticket_len <= 700;
#if CHECK_TERN_BIG_TICKETS
    CHECK_EQ_INT(n_tickets, nst);
#else
    CHECK_EQ_INT(n_tickets, fit);
    if (fit < nst)
      printf("  %s: KNOWN TERN BUG: %d of %d tickets (%zu bytes) never reached the new-session "
             "callback\n", what, nst - fit, nst, ni[0].ticket_len);
#endif
  }
  if (n_tickets < 1) goto out;

  /* Resumption at a GnuTLS server that still requires a certificate. */
  k = peer_gnutls_ticket_key(g, &kn);
  so.ticket_key = k;
  so.ticket_key_len = kn;
  g2 = new_peer(1, &so);
  if (g2 == NULL) goto out;
  start_tern(&t, cfg, 1);
  CHECK_EQ_INT(tern_conn_set_session(t.conn, tickets[0].blob, tickets[0].len, wall_ms(NULL)),
               TERN_OK);
  rc = drive(&t, g2, 1);
  runs_tern_client++;
  check_resumed(what, rc, &t, g2, s, 1, RESUME_PLAIN);
  CHECK_EQ_INT(count_sent(g2, -1, 13), 0);
  CHECK_EQ_INT(count_recv(g2, 11), 0);
  end_tern(&t);
out:
  peer_gnutls_free(g);
  peer_gnutls_free(g2);
  tern_config_free(cfg);
}

int main(void) {
  int n = 0;
  snprintf(dir, sizeof dir, "/tmp/tern-gnutls-XXXXXX");
  snprintf(dir2, sizeof dir2, "/tmp/tern-gnutls-XXXXXX");
  if (mkdtemp(dir) == NULL || peer_gnutls_make_certs(dir) != 0 || mkdtemp(dir2) == NULL ||
      peer_gnutls_make_certs(dir2) != 0) {
    fprintf(stderr, "cannot make certificates\n");
    return 1;
  }
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  snprintf(chain, sizeof chain, "%s/chain.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(ccert, sizeof ccert, "%s/client.pem", dir);
  snprintf(ckey, sizeof ckey, "%s/client.key", dir);
  snprintf(ca2, sizeof ca2, "%s/ca.pem", dir2);

  for (int client = 0; client < 2; client++)
    for (size_t s = 0; s < N_SUITES; s++)
      for (size_t gi = 0; gi < N_GROUPS; gi++)
        for (int hrr = 0; hrr < 2; hrr++) {
          one(client, s, gi, hrr);
          n++;
        }
  printf("%d handshakes against GnuTLS %s\n", n, "3.7 (QUIC mode)");
  test_mismatches();

  for (size_t s = 0; s < N_SUITES; s++) {
    for (int kind = 0; kind < RESUME_KINDS; kind++) {
      resume_tern_client(s, kind);
      resume_tern_server(s, kind);
    }
    for (int kind = 0; kind < AUTH_KINDS; kind++) {
      auth_tern_client(s, kind);
      auth_tern_server(s, kind);
    }
    tern_unauth_resumption(s);
    cases_tern_client += RESUME_KINDS + AUTH_KINDS;
    cases_tern_server += RESUME_KINDS + AUTH_KINDS + 1;
  }
  printf("resumption, 0-RTT and client certificates over %zu suites: tern client -> GnuTLS "
         "server %d cases (%d handshakes), GnuTLS client -> tern server %d cases "
         "(%d handshakes)\n",
         N_SUITES, cases_tern_client, runs_tern_client, cases_tern_server, runs_tern_server);
  {
    char cmd[192];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, dir2);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s %s\n", dir, dir2);
  }
  return check_report();
}
