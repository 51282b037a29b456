/*
 * test_psk_gnutls.c - external PSKs (RFC 8446 §4.2.11) between tern and
 * GnuTLS 3.7 in one process, both directions, in QUIC mode (the peer of
 * tests/peer_gnutls.c) and over TCP (GnuTLS's own record layer, its
 * push/pull functions on memory buffers): psk_dhe_ke and psk_ke, several
 * PSKs at tern (the right one taken), an unknown identity
 * (handshake_failure from a PSK-only tern server, a full handshake from
 * one with a certificate) and a wrong key (the binder refused, both
 * ways). Neither side has a certificate unless a case says so. In QUIC
 * both sides must hold the same secret per level and direction and each
 * other's transport parameters; over TCP application data goes both ways
 * and the exporters agree.
 *
 * GnuTLS 3.7 binds every external PSK to SHA-256 (no SHA-384 PSK here;
 * tests/test_psk.c and tests/test_psk_openssl.c cover those), does
 * 0-RTT only on tickets, and takes the first external identity a client
 * offers whether or not it knows it, so tern offers the identity GnuTLS
 * knows first.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <tern.h>

#include "check.h"
#include "peer_gnutls.h"
#include "qpair.h"

static const uint8_t tern_tp[] = {0x01, 0x04, 0x80, 0x00, 0x75, 0x30, 0x03, 0x02, 0x45, 0xc0};
static const uint8_t gnutls_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};

static const uint8_t key_a[32] = "gnutls-psk-key-a-gnutls-psk-ke";
static const uint8_t key_bad[32] = "gnutls-psk-key-x-gnutls-psk-ke";
#define ID(s) (const uint8_t *)(s), strlen(s)

static char dir[64], ca[128], chain[128], key[128];
static int n_quic, n_tcp, n_refusals;

static const char *const alpn_h3[] = {"h3"};

/* What each case asks of both sides. */
typedef struct psk_case {
  const char *what;
  int tern_client;
  const char *gnutls_identity;  /* GnuTLS's one PSK */
  const uint8_t *gnutls_key;
  const char *tern_ids[3];      /* tern's PSKs, in order (key_a each) */
  int psk_ke;                   /* both allow psk_ke; GnuTLS offers/takes only it */
  int tern_cert;                /* tern server: with a certificate */
  /* expected: 0 a handshake on `identity`, else tern's alert (tern
     server) or a GnuTLS failure (tern client) */
  const char *identity;         /* NULL: a full handshake */
  uint8_t tern_alert;
} psk_case;

static tern_config *tern_cfg(const psk_case *k) {
  tern_config *cfg = tern_config_new(k->tern_client ? TERN_CLIENT : TERN_SERVER);
  CHECK(cfg != NULL);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn_h3, 1), TERN_OK);
  for (int i = 0; i < 3 && k->tern_ids[i]; i++)
    CHECK_EQ_INT(tern_config_add_psk(cfg, ID(k->tern_ids[i]), key_a, sizeof key_a, TERN_PSK_SHA256),
                 TERN_OK);
  if (k->psk_ke) CHECK_EQ_INT(tern_config_set_psk_ke(cfg, 1), TERN_OK);
  if (k->tern_cert) CHECK_EQ_INT(tern_config_load_cert_files(cfg, chain, key), TERN_OK);
  /* the default suites; GnuTLS's PSK is SHA-256: AES-128-GCM or ChaCha20 */
  return cfg;
}

/* The checks both transports share once a handshake is done. */
static void check_done(const psk_case *k, tern_conn *t, const char *gnutls_identity,
                       uint16_t gnutls_suite, uint16_t gnutls_group) {
  const uint8_t *id;
  size_t len;
  if (k->identity) {
    CHECK_EQ_INT(tern_conn_psk_identity(t, &id, &len), TERN_OK);
    CHECK(len == strlen(k->identity) && memcmp(id, k->identity, len) == 0);
    CHECK(gnutls_identity != NULL && strcmp(gnutls_identity, k->identity) == 0);
    CHECK_EQ_INT(tern_conn_signature_scheme(t), 0);
    CHECK_EQ_INT(tern_conn_peer_certificate(t, &id, &len), TERN_ERR_STATE);
  } else {
    CHECK_EQ_INT(tern_conn_psk_identity(t, &id, &len), TERN_ERR_STATE);
    CHECK(gnutls_identity == NULL);
    CHECK_EQ_INT(tern_conn_signature_scheme(t), TERN_SIG_ECDSA_SECP256R1_SHA256);
  }
  CHECK_EQ_INT(tern_conn_cipher_suite(t), gnutls_suite);
  CHECK_EQ_INT(tern_conn_group(t), gnutls_group);
  CHECK_EQ_INT(tern_conn_group(t) == 0, k->psk_ke);
  CHECK(tern_conn_alpn(t) != NULL && strcmp(tern_conn_alpn(t), "h3") == 0);
}

/* ---- QUIC mode (peer_gnutls) ------------------------------------- */

static int drive(qside *t, peer_gnutls *g, int tern_is_client) {
  uint8_t buf[16384];
  int rc = TERN_WANT_READ, grc = 0;
  if (tern_is_client && (rc = tern_handshake(t->conn)) < 0) return rc;
  for (int round = 0; round < 32; round++) {
    int moved = 0;
    for (int lv = 0; lv < 4; lv++)
      if (t->out_len[lv]) {
        moved = 1;
        if (peer_gnutls_feed(g, lv, t->out[lv], t->out_len[lv]) < 0) return -100;
        t->out_len[lv] = 0;
      }
    if ((grc = peer_gnutls_step(g)) < 0) return -100;
    for (int lv = 0; lv < 4; lv++) {
      size_t n;
      while ((n = peer_gnutls_take(g, lv, buf, sizeof buf)) > 0) {
        moved = 1;
        if ((rc = tern_quic_provide_data(t->conn, (tern_level)lv, buf, n)) < 0) return rc;
      }
    }
    if ((rc = tern_handshake(t->conn)) < 0) return rc;
    if (rc == TERN_OK && grc == 1 && !moved) return TERN_OK;
    if (!moved && round > 2) break;
  }
  return rc == TERN_OK && peer_gnutls_done(g) ? TERN_OK : TERN_ERR_STATE;
}

static void quic_case(const psk_case *k) {
  tern_config *cfg = tern_cfg(k);
  peer_gnutls_opts o;
  peer_gnutls *g;
  qside t;
  int rc, lv = 0, desc = -1;

  memset(&o, 0, sizeof o);
  memset(&t, 0, sizeof t);
  o.alpn = "h3";
  o.transport_params = gnutls_tp;
  o.transport_params_len = sizeof gnutls_tp;
  o.psk_identity = k->gnutls_identity;
  o.psk_key = k->gnutls_key;
  o.psk_key_len = 32;
  o.psk_ke_only = k->psk_ke;
  if (!k->tern_client) {
    o.ca_file = ca; /* for a tern server that shows a certificate */
    o.server_name = "localhost";
  }
  g = peer_gnutls_new(k->tern_client, &o);
  CHECK(g != NULL);
  if (g == NULL) {
    fprintf(stderr, "  %s: gnutls: %s\n", k->what, peer_gnutls_last_new_error());
    tern_config_free(cfg);
    return;
  }
  t.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &t);
  CHECK_EQ_INT(tern_quic_set_transport_params(t.conn, tern_tp, sizeof tern_tp), TERN_OK);
  if (k->tern_client) CHECK_EQ_INT(tern_conn_set_server_name(t.conn, "localhost"), TERN_OK);
  rc = drive(&t, g, k->tern_client);
  peer_gnutls_alert(g, &lv, &desc);
  if (k->tern_alert == 0) {
    CHECK_EQ_INT(rc, TERN_OK);
    if (rc != TERN_OK)
      fprintf(stderr, "  QUIC %s: tern: %s (alert %u); gnutls: %s (alert %d)\n", k->what,
              tern_conn_error_detail(t.conn), tern_conn_alert(t.conn),
              peer_gnutls_error_string(g), desc);
    if (rc == TERN_OK) {
      const uint8_t *tp;
      size_t tp_len, n = 32;
      n_quic++;
      check_done(k, t.conn, peer_gnutls_psk_identity(g), peer_gnutls_cipher_suite(g),
                 peer_gnutls_group(g));
      for (int l = TERN_LEVEL_HANDSHAKE; l <= TERN_LEVEL_APPLICATION; l++)
        for (int d = 0; d < 2; d++) {
          size_t glen = 0;
          const uint8_t *gs = peer_gnutls_secret(g, l, 1 - d, &glen);
          CHECK(gs != NULL && glen == n && t.secret_len[l][d] == n);
          if (gs != NULL && glen == n) CHECK_MEM(t.secret[l][d], gs, n);
        }
      CHECK_EQ_INT(tern_quic_peer_transport_params(t.conn, &tp, &tp_len), TERN_OK);
      CHECK(tp_len == sizeof gnutls_tp && memcmp(tp, gnutls_tp, tp_len) == 0);
      tp = peer_gnutls_peer_transport_params(g, &tp_len);
      CHECK(tp != NULL && tp_len == sizeof tern_tp && memcmp(tp, tern_tp, tp_len) == 0);
    }
  } else if (k->tern_client) {
    /* GnuTLS refuses (in QUIC its alert stays with the peer) */
    CHECK(rc != TERN_OK);
    CHECK(peer_gnutls_error(g) < 0);
    CHECK_EQ_INT(desc, k->tern_alert);
    CHECK_EQ_INT(tern_conn_handshake_done(t.conn), 0);
    n_refusals++;
  } else {
    CHECK_EQ_INT(rc, TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(t.conn), k->tern_alert);
    CHECK_EQ_INT(peer_gnutls_done(g), 0);
    n_refusals++;
  }
  tern_conn_free(t.conn);
  for (int l = 0; l < 4; l++) free(t.out[l]);
  peer_gnutls_free(g);
  tern_config_free(cfg);
}

/* ---- TCP: GnuTLS's record layer on memory buffers ------------------- */

typedef struct gtcp {
  gnutls_session_t s;
  gnutls_psk_client_credentials_t pc;
  gnutls_psk_server_credentials_t ps;
  gnutls_certificate_credentials_t cc;
  const char *identity;
  const uint8_t *key;
  uint8_t in[65536];     /* what tern sent, not yet read by GnuTLS */
  size_t in_len, in_off;
  uint8_t out[65536];    /* what GnuTLS sent, not yet given to tern */
  size_t out_len;
  int err;               /* GnuTLS's failure, 0 none */
  int alert_recv;        /* the alert GnuTLS received, -1 none */
} gtcp;

static ssize_t g_push(gnutls_transport_ptr_t ptr, const void *d, size_t n) {
  gtcp *g = ptr;
  if (g->out_len + n > sizeof g->out) {
    gnutls_transport_set_errno(g->s, ENOMEM);
    return -1;
  }
  memcpy(g->out + g->out_len, d, n);
  g->out_len += n;
  return (ssize_t)n;
}

static ssize_t g_pull(gnutls_transport_ptr_t ptr, void *d, size_t n) {
  gtcp *g = ptr;
  size_t k = g->in_len - g->in_off;
  if (k == 0) {
    gnutls_transport_set_errno(g->s, EAGAIN);
    return -1;
  }
  if (k > n) k = n;
  memcpy(d, g->in + g->in_off, k);
  g->in_off += k;
  if (g->in_off == g->in_len) g->in_off = g->in_len = 0;
  return (ssize_t)k;
}

static int g_server_key(gnutls_session_t s, const gnutls_datum_t *user, gnutls_datum_t *key) {
  gtcp *g = gnutls_session_get_ptr(s);
  if (user->size != strlen(g->identity) || memcmp(user->data, g->identity, user->size) != 0)
    return 1; /* no such user */
  key->data = gnutls_malloc(32);
  if (key->data == NULL) return -1;
  memcpy(key->data, g->key, 32);
  key->size = 32;
  return 0;
}

static int gtcp_init(gtcp *g, const psk_case *k) {
  char pri[256];
  gnutls_datum_t user = {(unsigned char *)k->gnutls_identity, (unsigned)strlen(k->gnutls_identity)};
  gnutls_datum_t kd = {(unsigned char *)k->gnutls_key, 32};
  int server = k->tern_client, r;
  memset(g, 0, sizeof *g);
  g->alert_recv = -1;
  g->identity = k->gnutls_identity;
  g->key = k->gnutls_key;
  r = gnutls_init(&g->s, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
  if (r < 0) return r;
  gnutls_session_set_ptr(g->s, g);
  gnutls_transport_set_ptr(g->s, g);
  gnutls_transport_set_push_function(g->s, g_push);
  gnutls_transport_set_pull_function(g->s, g_pull);
  snprintf(pri, sizeof pri, "NORMAL:-VERS-ALL:+VERS-TLS1.3:%s",
           k->psk_ke ? "+PSK" : "+ECDHE-PSK:+DHE-PSK");
  if ((r = gnutls_priority_set_direct(g->s, pri, NULL)) < 0) return r;
  if ((r = gnutls_certificate_allocate_credentials(&g->cc)) < 0) return r;
  if (server) {
    if ((r = gnutls_psk_allocate_server_credentials(&g->ps)) < 0) return r;
    gnutls_psk_set_server_credentials_function2(g->ps, g_server_key);
    r = gnutls_credentials_set(g->s, GNUTLS_CRD_PSK, g->ps);
  } else {
    if ((r = gnutls_psk_allocate_client_credentials(&g->pc)) < 0) return r;
    if ((r = gnutls_psk_set_client_credentials2(g->pc, &user, &kd, GNUTLS_PSK_KEY_RAW)) < 0)
      return r;
    if ((r = gnutls_credentials_set(g->s, GNUTLS_CRD_PSK, g->pc)) < 0) return r;
    if (gnutls_certificate_set_x509_trust_file(g->cc, ca, GNUTLS_X509_FMT_PEM) <= 0) return -1;
    gnutls_session_set_verify_cert(g->s, "localhost", 0);
    r = gnutls_server_name_set(g->s, GNUTLS_NAME_DNS, "localhost", 9);
  }
  if (r >= 0) r = gnutls_credentials_set(g->s, GNUTLS_CRD_CERTIFICATE, g->cc);
  if (r >= 0) {
    gnutls_datum_t p = {(unsigned char *)"h3", 2};
    r = gnutls_alpn_set_protocols(g->s, &p, 1, 0);
  }
  return r;
}

static void gtcp_free(gtcp *g) {
  if (g->s) gnutls_deinit(g->s);
  if (g->pc) gnutls_psk_free_client_credentials(g->pc);
  if (g->ps) gnutls_psk_free_server_credentials(g->ps);
  if (g->cc) gnutls_certificate_free_credentials(g->cc);
}

/* tern's output into GnuTLS's input. */
static void tern_to_g(tern_conn *t, gtcp *g) {
  const uint8_t *p;
  size_t len;
  while ((p = tern_tls_output(t, &len)) != NULL) {
    size_t n = len < sizeof g->in - g->in_len ? len : sizeof g->in - g->in_len;
    CHECK(n > 0);
    if (n == 0) break;
    memcpy(g->in + g->in_len, p, n);
    g->in_len += n;
    tern_tls_output_done(t, n);
  }
}

/* GnuTLS's output into tern. */
static int g_to_tern(gtcp *g, tern_conn *t) {
  size_t used = 0;
  int rc;
  if (g->out_len == 0) return TERN_OK;
  rc = tern_tls_feed(t, g->out, g->out_len, &used);
  memmove(g->out, g->out + used, g->out_len - used);
  g->out_len -= used;
  return rc;
}

/* Runs both handshakes: TERN_OK, tern's failure, or -100 (GnuTLS's). */
static int tcp_drive(gtcp *g, tern_conn *t, int tern_client) {
  int rc;
  if (tern_client && (rc = tern_handshake(t)) < 0) return rc;
  for (int round = 0; round < 32; round++) {
    int r;
    tern_to_g(t, g);
    r = gnutls_handshake(g->s);
    if (r < 0 && r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED) {
      g->err = r;
      if (r == GNUTLS_E_WARNING_ALERT_RECEIVED || r == GNUTLS_E_FATAL_ALERT_RECEIVED)
        g->alert_recv = (int)gnutls_alert_get(g->s);
      else
        gnutls_alert_send_appropriate(g->s, r);
      g_to_tern(g, t); /* its alert */
      return -100;
    }
    if ((rc = g_to_tern(g, t)) != TERN_OK) {
      tern_to_g(t, g);
      r = gnutls_handshake(g->s);
      if (r == GNUTLS_E_FATAL_ALERT_RECEIVED) g->alert_recv = (int)gnutls_alert_get(g->s);
      return rc;
    }
    if (r == 0 && tern_conn_handshake_done(t)) {
      size_t len;
      tern_to_g(t, g);
      if (tern_tls_output(t, &len) == NULL && g->out_len == 0) return TERN_OK;
    }
  }
  return TERN_ERR_STATE;
}

/* Data both ways, and the exporters agree. */
static void tcp_exchange(gtcp *g, tern_conn *t) {
  uint8_t msg[1200], got[1200], a[32], b[32];
  size_t have = 0, k;
  ssize_t r;
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 5 + 1);
  CHECK_EQ_INT(tern_tls_write(t, msg, sizeof msg), TERN_OK);
  tern_to_g(t, g);
  while (have < sizeof got && (r = gnutls_record_recv(g->s, got + have, sizeof got - have)) > 0)
    have += (size_t)r;
  CHECK(have == sizeof msg && memcmp(got, msg, have) == 0);
  CHECK_EQ_INT(gnutls_record_send(g->s, msg, 900), 900);
  CHECK_EQ_INT(g_to_tern(g, t), TERN_OK);
  have = 0;
  while (have < 900 && tern_tls_read(t, got + have, sizeof got - have, &k) == TERN_OK) have += k;
  CHECK(have == 900 && memcmp(got, msg, have) == 0);
  CHECK_EQ_INT(tern_export_keying_material(t, "EXPORTER-psk", NULL, 0, a, sizeof a), TERN_OK);
  CHECK_EQ_INT(gnutls_prf_rfc5705(g->s, 12, "EXPORTER-psk", 0, NULL, sizeof b, (char *)b), 0);
  CHECK_MEM(a, b, sizeof a);
}

static const char *gtcp_identity(gtcp *g, int gnutls_server, char *buf, size_t cap) {
  gnutls_datum_t user = {NULL, 0};
  if (gnutls_auth_get_type(g->s) != GNUTLS_CRD_PSK) return NULL;
  if (!gnutls_server) return g->identity;
  if (gnutls_psk_server_get_username2(g->s, &user) < 0 || user.size >= cap) return NULL;
  memcpy(buf, user.data, user.size);
  buf[user.size] = 0;
  return buf;
}

static void tcp_case(const psk_case *k) {
  tern_config *cfg = tern_cfg(k);
  tern_conn *t = tern_conn_new_tls(cfg, NULL);
  gtcp *g = malloc(sizeof *g);
  char name[256];
  int rc;
  CHECK(t != NULL && g != NULL);
  if (g == NULL) return;
  rc = gtcp_init(g, k);
  CHECK(rc >= 0);
  if (rc < 0) fprintf(stderr, "  TCP %s: gnutls: %s\n", k->what, gnutls_strerror(rc));
  if (k->tern_client) CHECK_EQ_INT(tern_conn_set_server_name(t, "localhost"), TERN_OK);
  if (rc >= 0) rc = tcp_drive(g, t, k->tern_client);
  if (k->tern_alert == 0) {
    CHECK_EQ_INT(rc, TERN_OK);
    if (rc != TERN_OK)
      fprintf(stderr, "  TCP %s: tern: %s (alert %u); gnutls: %s\n", k->what,
              tern_conn_error_detail(t), tern_conn_alert(t),
              g->err ? gnutls_strerror(g->err) : "no failure");
    if (rc == TERN_OK) {
      uint16_t suite = 0, group = 0;
      const char *sn = gnutls_cipher_get_name(gnutls_cipher_get(g->s));
      n_tcp++;
      /* GnuTLS names the cipher; the group by its TLS code */
      if (strcmp(sn, "AES-128-GCM") == 0) suite = TERN_TLS_AES_128_GCM_SHA256;
      if (strcmp(sn, "CHACHA20-POLY1305") == 0) suite = TERN_TLS_CHACHA20_POLY1305_SHA256;
      if (gnutls_group_get(g->s) == GNUTLS_GROUP_X25519) group = TERN_GROUP_X25519;
      else if (gnutls_group_get(g->s) != GNUTLS_GROUP_INVALID) group = 0xffff;
      check_done(k, t, gtcp_identity(g, k->tern_client, name, sizeof name), suite, group);
      tcp_exchange(g, t);
    }
  } else if (k->tern_client) {
    CHECK_EQ_INT(rc, -100); /* GnuTLS failed */
    CHECK_EQ_INT(tern_conn_alert(t), k->tern_alert); /* its alert reached tern */
    n_refusals++;
  } else {
    CHECK_EQ_INT(rc, TERN_ERR_ALERT);
    CHECK_EQ_INT(tern_conn_alert(t), k->tern_alert);
    CHECK_EQ_INT(g->alert_recv, k->tern_alert);
    n_refusals++;
  }
  tern_conn_free(t);
  gtcp_free(g);
  free(g);
  tern_config_free(cfg);
}

int main(void) {
  static const psk_case cases[] = {
      {"tern client, psk_dhe_ke", 1, "alice", key_a, {"alice"}, 0, 0, "alice", 0},
      {"tern client, psk_ke", 1, "alice", key_a, {"alice"}, 1, 0, "alice", 0},
      {"tern client, several", 1, "alice", key_a, {"alice", "bob", "carol"}, 0, 0, "alice", 0},
      /* GnuTLS's binder check fails; it answers illegal_parameter
         (RFC 8446 §6.2 names decrypt_error, which tern sends) */
      {"tern client, wrong key", 1, "alice", key_bad, {"alice"}, 0, 0, NULL,
       TERN_ALERT_ILLEGAL_PARAMETER},
      {"tern server, psk_dhe_ke", 0, "alice", key_a, {"alice"}, 0, 0, "alice", 0},
      {"tern server, psk_ke", 0, "alice", key_a, {"alice"}, 1, 0, "alice", 0},
      {"tern server, several", 0, "carol", key_a, {"alice", "bob", "carol"}, 0, 0, "carol", 0},
      {"tern server, wrong key", 0, "alice", key_bad, {"alice"}, 0, 0, NULL,
       TERN_ALERT_DECRYPT_ERROR},
      {"tern server (PSK only), unknown identity", 0, "mallory", key_a, {"alice"}, 0, 0, NULL,
       TERN_ALERT_HANDSHAKE_FAILURE},
      {"tern server with a certificate, unknown identity", 0, "mallory", key_a, {"alice"}, 0, 1,
       NULL, 0},
  };
  snprintf(dir, sizeof dir, "/tmp/tern-psk-gnutls-XXXXXX");
  if (mkdtemp(dir) == NULL || peer_gnutls_make_certs(dir) != 0) {
    fprintf(stderr, "cannot make certificates\n");
    return 1;
  }
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  snprintf(chain, sizeof chain, "%s/chain.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    quic_case(&cases[i]);
    tcp_case(&cases[i]);
  }
  printf("psk-gnutls: %d QUIC and %d TCP handshakes with GnuTLS %s, %d refusals checked; "
         "%d checks, %d failed\n",
         n_quic, n_tcp, gnutls_check_version(NULL), n_refusals, check_count, check_failures);
  {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
  return check_report();
}
