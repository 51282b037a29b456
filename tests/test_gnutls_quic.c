/*
 * test_gnutls_quic.c - tern against GnuTLS 3.7 in its QUIC mode, in one
 * process: tern client <-> GnuTLS server and GnuTLS client <-> tern
 * server, for every suite and group both support, with and without a
 * HelloRetryRequest. Both sides must finish with the same suite, group
 * and ALPN, the same secrets per level and direction, and each other's
 * transport parameters.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "peer_gnutls.h"
#include "qpair.h"

static const uint8_t tern_tp[] = {0x01, 0x04, 0x80, 0x00, 0x75, 0x30, 0x03, 0x02, 0x45, 0xc0};
static const uint8_t gnutls_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};

static char dir[64];
static char ca[128], chain[128], key[128];

static const struct {
  uint16_t id;
  const char *gnutls;
} suites[] = {{TERN_TLS_AES_128_GCM_SHA256, "AES-128-GCM"},
              {TERN_TLS_AES_256_GCM_SHA384, "AES-256-GCM"},
              {TERN_TLS_CHACHA20_POLY1305_SHA256, "CHACHA20-POLY1305"}};
static const struct {
  uint16_t id;
  const char *gnutls;
} groups[] = {{TERN_GROUP_X25519, "X25519"},
              {TERN_GROUP_X448, "X448"},
              {TERN_GROUP_SECP256R1, "SECP256R1"},
              {TERN_GROUP_SECP384R1, "SECP384R1"},
              {TERN_GROUP_SECP521R1, "SECP521R1"}};

/* Moves bytes both ways until both are done or one fails. */
static int drive(qside *t, peer_gnutls *g, int tern_is_client) {
  uint8_t buf[16384];
  int rc = TERN_WANT_READ, grc = 0;
  if (tern_is_client) {
    rc = tern_handshake(t->conn);
    if (rc < 0) return rc;
  }
  for (int round = 0; round < 32; round++) {
    int moved = 0;
    for (int lv = 0; lv < 4; lv++) {
      if (t->out_len[lv]) {
        moved = 1;
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

int main(void) {
  int n = 0;
  snprintf(dir, sizeof dir, "/tmp/tern-gnutls-XXXXXX");
  if (mkdtemp(dir) == NULL || peer_gnutls_make_certs(dir) != 0) {
    fprintf(stderr, "cannot make certificates\n");
    return 1;
  }
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  snprintf(chain, sizeof chain, "%s/chain.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);

  for (int client = 0; client < 2; client++)
    for (size_t s = 0; s < 3; s++)
      for (size_t gi = 0; gi < 5; gi++)
        for (int hrr = 0; hrr < 2; hrr++) {
          one(client, s, gi, hrr);
          n++;
        }
  printf("%d handshakes against GnuTLS %s\n", n, "3.7 (QUIC mode)");
  test_mismatches();
  {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
  return check_report();
}
