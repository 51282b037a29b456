/*
 * demo_resume.c - the resumption part of `tern demo`: a full QUIC
 * handshake whose server issues tickets, then a resumed connection that
 * sends 0-RTT, then the same ticket replayed (refused: tickets are
 * single-use). The clock is the machine's real-time clock, handed to
 * tern through tern_config_set_clock.
 */
#include "demo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "pki.h"
#include "qpair.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x04, 0x04, 0x80, 0x20, 0x00, 0x00};

static uint64_t wall_ms(void *user) {
  struct timespec ts;
  (void)user;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The client's ticket store: the newest two. */
static struct {
  uint8_t blob[TERN_SESSION_MAX_BYTES];
  size_t len;
} store[2];
static int n_store;

static void on_session(tern_conn *c, const uint8_t *s, size_t len, uint32_t max_early,
                       void *user) {
  (void)c, (void)user;
  printf("      client stores a ticket: %zu-byte session blob, max_early_data 0x%08x\n", len,
         max_early);
  if (len <= sizeof store[0].blob) {
    memcpy(store[n_store % 2].blob, s, len);
    store[n_store % 2].len = len;
    n_store++;
  }
}

static const char *early_name(tern_early_data_status s) {
  switch (s) {
    case TERN_EARLY_DATA_NONE: return "not offered";
    case TERN_EARLY_DATA_OFFERED: return "offered, no answer";
    case TERN_EARLY_DATA_ACCEPTED: return "ACCEPTED";
    case TERN_EARLY_DATA_REJECTED: return "rejected";
  }
  return "?";
}

/* One connection, printed; session index use (-1: none). */
static int connect_once(tern_config *ccfg, tern_config *scfg, int use, const char *title,
                        uint8_t *ch_copy, size_t *ch_len) {
  qpair p;
  double t0, t1;
  int rc;
  printf("\n  %s:\n", title);
  if (qpair_init(&p, ccfg, scfg, client_tp, sizeof client_tp, server_tp, sizeof server_tp) ||
      tern_conn_set_server_name(p.c.conn, "localhost") != TERN_OK)
    return 1;
  if (use >= 0 &&
      (rc = tern_conn_set_session(p.c.conn, store[use].blob, store[use].len, wall_ms(NULL))) !=
          TERN_OK) {
    fprintf(stderr, "tern demo: the session was refused: %s\n", tern_strerror(rc));
    qpair_free(&p);
    return 1;
  }
  t0 = demo_now_us();
  if (ch_copy != NULL) { /* keep the ClientHello, for the replay below */
    if (tern_handshake(p.c.conn) != TERN_WANT_READ ||
        p.c.out_len[TERN_LEVEL_INITIAL] > *ch_len) {
      qpair_free(&p);
      return 1;
    }
    *ch_len = p.c.out_len[TERN_LEVEL_INITIAL];
    memcpy(ch_copy, p.c.out[TERN_LEVEL_INITIAL], *ch_len);
  }
  rc = demo_run_printed(&p);
  t1 = demo_now_us();
  if (rc != TERN_OK) {
    fprintf(stderr, "tern demo: handshake failed: client: %s / server: %s\n",
            tern_conn_error_detail(p.c.conn), tern_conn_error_detail(p.s.conn));
    qpair_free(&p);
    return 1;
  }
  printf("    resumed: %s; group %s; 0-RTT: %s", tern_conn_resumed(p.c.conn) ? "yes" : "no",
         tern_group_name(tern_conn_group(p.c.conn)),
         early_name(tern_conn_early_data_status(p.c.conn)));
  if (p.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE])
    printf(" (0-RTT secrets %s on both sides)",
           p.s.secret_len[TERN_LEVEL_EARLY][TERN_READ] &&
                   memcmp(p.c.secret[TERN_LEVEL_EARLY][TERN_WRITE],
                          p.s.secret[TERN_LEVEL_EARLY][TERN_READ],
                          p.c.secret_len[TERN_LEVEL_EARLY][TERN_WRITE]) == 0
               ? "identical"
               : "not shared");
  printf("\n    took %.0f us for both sides\n", t1 - t0);
  qpair_free(&p);
  return 0;
}

int demo_resume(void) {
  static const char *const alpn[] = {"h3"};
  tern_config *scfg = tern_config_new(TERN_SERVER), *ccfg = tern_config_new(TERN_CLIENT);
  X509_STORE *xs = X509_STORE_new();
  STACK_OF(X509) *chain = NULL;
  uint8_t ch[4096];
  size_t ch_len = sizeof ch;
  pki pk;
  int rc = 1;

  printf("\n[QUIC resumption and 0-RTT] tern client <-> tern server, in memory\n");
  if (pki_make(&pk, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW) != 0) return 1;
  chain = pki_chain(&pk);
  if (scfg == NULL || ccfg == NULL || xs == NULL || X509_STORE_add_cert(xs, pk.ca) != 1 ||
      tern_config_set_cert(scfg, pk.leaf, chain, pk.leaf_key) != TERN_OK ||
      tern_config_set_alpn(scfg, alpn, 1) != TERN_OK ||
      tern_config_set_clock(scfg, wall_ms, NULL) != TERN_OK ||
      tern_config_set_tickets(scfg, 2, 3600) != TERN_OK ||
      tern_config_set_early_data(scfg, 0xffffffffu, 10000) != TERN_OK ||
      tern_config_set_trust_store(ccfg, xs) != TERN_OK ||
      tern_config_set_alpn(ccfg, alpn, 1) != TERN_OK ||
      tern_config_set_clock(ccfg, wall_ms, NULL) != TERN_OK ||
      tern_config_set_new_session_callback(ccfg, on_session, NULL) != TERN_OK ||
      tern_config_set_early_data(ccfg, 1, 0) != TERN_OK) {
    fprintf(stderr, "tern demo: configuration failed\n");
    goto done;
  }
  printf("    server: 2 single-use tickets per connection, lifetime 1 h, 0-RTT allowed "
         "(ticket age within 10 s)\n");
  if (connect_once(ccfg, scfg, -1, "full handshake; the server issues tickets", NULL, NULL))
    goto done;
  if (n_store < 2) {
    fprintf(stderr, "tern demo: the client got %d tickets, not 2\n", n_store);
    goto done;
  }
  if (connect_once(ccfg, scfg, 0, "resumed with the first ticket, sending 0-RTT", ch, &ch_len))
    goto done;
  /* The ClientHello of the resumed connection, replayed by an attacker. */
  {
    qpair q;
    printf("\n  the same ClientHello (with early data) replayed to the server:\n");
    if (qpair_init(&q, ccfg, scfg, client_tp, sizeof client_tp, server_tp, sizeof server_tp))
      goto done;
    tern_quic_provide_data(q.s.conn, TERN_LEVEL_INITIAL, ch, ch_len);
    tern_handshake(q.s.conn);
    printf("    server: resumed %s, 0-RTT %s, 0-RTT key installed: %s\n",
           tern_conn_resumed(q.s.conn) ? "yes" : "no",
           early_name(tern_conn_early_data_status(q.s.conn)),
           q.s.secret_len[TERN_LEVEL_EARLY][TERN_READ] ? "YES" : "no");
    rc = tern_conn_early_data_status(q.s.conn) == TERN_EARLY_DATA_ACCEPTED;
    qpair_free(&q);
    if (rc) goto done;
  }
  rc = connect_once(ccfg, scfg, 1, "resumed again, with a ticket of the resumed connection",
                    NULL, NULL);
done:
  X509_STORE_free(xs);
  sk_X509_pop_free(chain, X509_free);
  tern_config_free(scfg);
  tern_config_free(ccfg);
  pki_free(&pk);
  return rc;
}
