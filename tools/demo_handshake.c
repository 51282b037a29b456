/*
 * demo_handshake.c - the QUIC-mode part of `tern demo`: a tern client and
 * a tern server in one process, with a freshly made ECDSA P-256 CA and
 * leaf for "localhost", exchanging CRYPTO data per encryption level
 * through the in-memory pair of tools/qpair.c. It prints what a QUIC
 * stack would see: the flights per level, each secret as it is handed
 * over, and what was negotiated. Secrets themselves are not printed
 * (only whether both sides hold the same one), unless TERN_DEMO_KEYLOG
 * names a file for the NSS key log.
 */
#include "demo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "pki.h"
#include "qpair.h"

const char *demo_level_name(int lv) {
  static const char *const n[] = {"INITIAL", "EARLY", "HANDSHAKE", "APPLICATION"};
  return lv >= 0 && lv < 4 ? n[lv] : "?";
}

double demo_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static FILE *keylog;
static void on_keylog(const tern_conn *c, const char *line, void *user) {
  (void)c, (void)user;
  if (keylog) fprintf(keylog, "%s\n", line);
}

/* The transport parameters each side announces (RFC 9000 §18.2):
   initial_max_data = 1048576, max_idle_timeout = 30000 ms. */
static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00,
                                    0x01, 0x04, 0x80, 0x00, 0x75, 0x30};
static const uint8_t server_tp[] = {0x04, 0x04, 0x80, 0x20, 0x00, 0x00,
                                    0x01, 0x04, 0x80, 0x00, 0x75, 0x30};

static void print_tp(const char *who, const uint8_t *p, size_t n) {
  printf("    %s transport parameters (%zu bytes): ", who, n);
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

/* See demo.h. */
int demo_run_printed(qpair *p) {
  int rc = tern_handshake(p->c.conn);
  int round = 0;
  size_t seen_c = 0, seen_s = 0;
  if (rc < 0) return rc;
  for (;;) {
    int moved = 0;
    for (int lv = 0; lv < 4; lv++) {
      if (p->c.out_len[lv]) {
        printf("    client -> server  %-11s %5zu bytes of CRYPTO data\n", demo_level_name(lv),
               p->c.out_len[lv]);
        moved = 1;
        if ((rc = qpair_deliver(p, &p->c, &p->s, (tern_level)lv)) < 0) return rc;
      }
      if (p->s.out_len[lv]) {
        printf("    server -> client  %-11s %5zu bytes of CRYPTO data\n", demo_level_name(lv),
               p->s.out_len[lv]);
        moved = 1;
        if ((rc = qpair_deliver(p, &p->s, &p->c, (tern_level)lv)) < 0) return rc;
      }
    }
    for (; seen_c < p->c.n_order; seen_c++)
      printf("      client installs %-11s %s secret\n", demo_level_name(p->c.order[seen_c] / 2),
             p->c.order[seen_c] % 2 ? "write" : "read ");
    for (; seen_s < p->s.n_order; seen_s++)
      printf("      server installs %-11s %s secret\n", demo_level_name(p->s.order[seen_s] / 2),
             p->s.order[seen_s] % 2 ? "write" : "read ");
    if (!moved || ++round > 16) break;
  }
  return tern_conn_handshake_done(p->c.conn) && tern_conn_handshake_done(p->s.conn)
             ? TERN_OK
             : TERN_ERR_STATE;
}

static int show_result(qpair *p) {
  const uint8_t *tp;
  size_t tp_len;
  int same = 1;
  for (int lv = TERN_LEVEL_HANDSHAKE; lv <= TERN_LEVEL_APPLICATION; lv++)
    for (int d = 0; d < 2; d++) {
      size_t n = p->c.secret_len[lv][d];
      same &= n > 0 && n == p->s.secret_len[lv][1 - d] &&
              memcmp(p->c.secret[lv][d], p->s.secret[lv][1 - d], n) == 0;
    }
  printf("    negotiated: %s, group %s, signature %s, ALPN \"%s\"%s\n",
         tern_suite_name(tern_conn_cipher_suite(p->c.conn)),
         tern_group_name(tern_conn_group(p->c.conn)),
         tern_signature_scheme_name(tern_conn_signature_scheme(p->c.conn)),
         tern_conn_alpn(p->c.conn) ? tern_conn_alpn(p->c.conn) : "",
         tern_conn_used_hrr(p->c.conn) ? ", after a HelloRetryRequest" : "");
  printf("    server name seen by the server: %s; certificate chain verified by the client\n",
         tern_conn_server_name(p->s.conn) ? tern_conn_server_name(p->s.conn) : "(none)");
  if (tern_quic_peer_transport_params(p->c.conn, &tp, &tp_len) == TERN_OK)
    print_tp("client got server", tp, tp_len);
  if (tern_quic_peer_transport_params(p->s.conn, &tp, &tp_len) == TERN_OK)
    print_tp("server got client", tp, tp_len);
  printf("    handshake and 1-RTT secrets: %s on both sides (write of one = read of the other)\n",
         same ? "identical" : "DIFFERENT");
  return same ? 0 : 1;
}

int demo_handshake(void) {
  static const char *const server_alpn[] = {"h3", "hq-interop"};
  static const char *const client_alpn[] = {"hq-interop", "h3"};
  const char *keylog_path = getenv("TERN_DEMO_KEYLOG");
  tern_config *scfg = NULL, *ccfg = NULL;
  X509_STORE *store = NULL;
  STACK_OF(X509) *chain = NULL;
  pki pk;
  qpair p;
  int rc = 1;
  double t0, t1;

  printf("\n[QUIC handshake] tern client <-> tern server, in memory\n");
  t0 = demo_now_us();
  if (pki_make(&pk, PKI_KEY_P256, "localhost", 1, PKI_VALID_NOW) != 0) {
    fprintf(stderr, "tern demo: cannot make a certificate\n");
    return 1;
  }
  t1 = demo_now_us();
  printf("    self-made PKI: ECDSA P-256 root CA -> intermediate -> leaf for localhost (%.1f ms)\n",
         (t1 - t0) / 1e3);
  if (keylog_path) keylog = fopen(keylog_path, "a");

  scfg = tern_config_new(TERN_SERVER);
  ccfg = tern_config_new(TERN_CLIENT);
  chain = pki_chain(&pk);
  store = X509_STORE_new();
  if (scfg == NULL || ccfg == NULL || chain == NULL || store == NULL ||
      X509_STORE_add_cert(store, pk.ca) != 1 ||
      tern_config_set_cert(scfg, pk.leaf, chain, pk.leaf_key) != TERN_OK ||
      tern_config_set_alpn(scfg, server_alpn, 2) != TERN_OK ||
      tern_config_set_trust_store(ccfg, store) != TERN_OK ||
      tern_config_set_alpn(ccfg, client_alpn, 2) != TERN_OK ||
      tern_config_set_keylog(ccfg, keylog ? on_keylog : NULL, NULL) != TERN_OK) {
    fprintf(stderr, "tern demo: configuration failed\n");
    goto done;
  }

  /* 1. the plain 1-RTT handshake */
  printf("\n  1-RTT handshake (client offers an X25519 share):\n");
  if (qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp, sizeof server_tp) ||
      tern_conn_set_server_name(p.c.conn, "localhost") != TERN_OK)
    goto done;
  t0 = demo_now_us();
  rc = demo_run_printed(&p);
  t1 = demo_now_us();
  if (rc != TERN_OK) {
    fprintf(stderr, "tern demo: handshake failed: client: %s / server: %s\n",
            tern_conn_error_detail(p.c.conn), tern_conn_error_detail(p.s.conn));
    qpair_free(&p);
    rc = 1;
    goto done;
  }
  rc = show_result(&p);
  printf("    took %.0f us for both sides (first connection: includes libcrypto warm-up)\n",
         t1 - t0);
  qpair_free(&p);

  /* 2. a HelloRetryRequest: the server only takes secp384r1 */
  {
    uint16_t g = TERN_GROUP_SECP384R1;
    tern_config_set_groups(scfg, &g, 1);
  }
  printf("\n  HelloRetryRequest (the server now accepts only secp384r1):\n");
  if (qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp, sizeof server_tp) ||
      tern_conn_set_server_name(p.c.conn, "localhost") != TERN_OK) {
    rc = 1;
    goto done;
  }
  t0 = demo_now_us();
  rc = demo_run_printed(&p);
  t1 = demo_now_us();
  if (rc == TERN_OK) {
    rc = show_result(&p);
    printf("    took %.0f us for both sides\n", t1 - t0);
  } else {
    fprintf(stderr, "tern demo: HRR handshake failed: %s / %s\n",
            tern_conn_error_detail(p.c.conn), tern_conn_error_detail(p.s.conn));
    rc = 1;
  }
  qpair_free(&p);

  /* 3. a failure, as a QUIC stack sees it */
  if (rc == 0) {
    printf("\n  wrong server name (client expects example.org):\n");
    if (qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp, sizeof server_tp) ||
        tern_conn_set_server_name(p.c.conn, "example.org") != TERN_OK) {
      rc = 1;
      goto done;
    }
    if (qpair_run(&p) == TERN_ERR_ALERT) {
      uint8_t a = tern_conn_alert(p.c.conn);
      printf("    client fails: %s\n", tern_conn_error_detail(p.c.conn));
      printf("    alert %u (%s) -> QUIC CONNECTION_CLOSE with CRYPTO_ERROR 0x%x\n", a,
             tern_alert_name(a), 0x100 + a);
    } else {
      rc = 1;
    }
    qpair_free(&p);
  }
  if (keylog) printf("\n    NSS key log lines appended to %s\n", keylog_path);

done:
  if (keylog) fclose(keylog);
  keylog = NULL;
  X509_STORE_free(store);
  sk_X509_pop_free(chain, X509_free);
  tern_config_free(scfg);
  tern_config_free(ccfg);
  pki_free(&pk);
  return rc;
}
