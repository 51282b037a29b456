/*
 * test_alloc_fail.c - every allocation of a whole handshake, failed in
 * turn. tern allocates only through libcrypto (OPENSSL_malloc and
 * friends), so CRYPTO_set_mem_functions sees tern's allocations and
 * libcrypto's alike. For each scenario (QUIC: full, HelloRetryRequest,
 * resumption with 0-RTT, client authentication; TCP: full with data,
 * KeyUpdate and close, resumption with 0-RTT, post-handshake
 * authentication) the test runs it once per allocation N, making the N-th
 * fail: every run must end with an error or a success reported through
 * the API (no crash, checked by running at all, under ASan in the
 * sanitizer build), leave no block allocated after everything is freed,
 * and leave a failed connection failed for good.
 */
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <tern.h>

#include "check.h"
#include "pki.h"
#include "qpair.h"

/* ---- the allocator ---- */

static long n_allocs;      /* allocations (and growing reallocs) so far */
static long fail_at = -1;  /* the one that fails; -1: none */
static long live;          /* blocks allocated and not freed */
static int failed_once;    /* the failure happened in this run */

static void *t_malloc(size_t n, const char *file, int line) {
  void *p;
  (void)file, (void)line;
  if (++n_allocs == fail_at) {
    failed_once = 1;
    return NULL;
  }
  p = malloc(n);
  if (p != NULL) live++;
  return p;
}

static void *t_realloc(void *p, size_t n, const char *file, int line) {
  void *q;
  (void)file, (void)line;
  if (p == NULL) return t_malloc(n, file, line);
  if (n == 0) {
    free(p);
    live--;
    return NULL;
  }
  if (++n_allocs == fail_at) {
    failed_once = 1;
    return NULL;
  }
  q = realloc(p, n);
  return q;
}

static void t_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  if (p == NULL) return;
  live--;
  free(p);
}

/* ---- the scenarios ---- */

static pki server_pki, client_pki;
static uint64_t clock_now = 1800000000000ull;
static uint64_t test_clock(void *u) {
  (void)u;
  return clock_now;
}

static uint8_t session[TERN_SESSION_MAX_BYTES];
static size_t session_len;
static void on_session(tern_conn *c, const uint8_t *s, size_t len, uint32_t me, void *u) {
  (void)c, (void)me, (void)u;
  if (len <= sizeof session) {
    memcpy(session, s, len);
    session_len = len;
  }
}

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};
static const uint8_t ticket_name[16] = "alloc-fail-key!";
static const uint8_t ticket_key[32] = "the ticket key of this test run";

enum { OPT_HRR = 1, OPT_RESUME = 2, OPT_CLIENT_AUTH = 4, OPT_PHA = 8, OPT_QUIC = 16 };

/* The two configurations of a scenario; NULL when an allocation failed
   (then both are freed). */
static int make_configs(int opts, tern_config **cc, tern_config **sc) {
  static const char *alpn[] = {"h3"};
  static const uint16_t p256 = TERN_GROUP_SECP256R1;
  tern_config *c = tern_config_new(TERN_CLIENT), *s = tern_config_new(TERN_SERVER);
  X509_STORE *store = NULL;
  STACK_OF(X509) *chain = NULL;
  int ok = c != NULL && s != NULL;
  if (ok) {
    chain = pki_chain(&server_pki);
    ok = chain != NULL &&
         tern_config_set_cert(s, server_pki.leaf, chain, server_pki.leaf_key) == TERN_OK;
    sk_X509_pop_free(chain, X509_free);
  }
  if (ok) {
    store = X509_STORE_new();
    ok = store != NULL && X509_STORE_add_cert(store, server_pki.ca) == 1 &&
         tern_config_set_trust_store(c, store) == TERN_OK;
    X509_STORE_free(store);
  }
  ok = ok && tern_config_set_alpn(c, alpn, 1) == TERN_OK &&
       tern_config_set_alpn(s, alpn, 1) == TERN_OK &&
       tern_config_set_clock(c, test_clock, NULL) == TERN_OK &&
       tern_config_set_clock(s, test_clock, NULL) == TERN_OK &&
       tern_config_set_ticket_key(s, ticket_name, ticket_key) == TERN_OK &&
       tern_config_set_new_session_callback(c, on_session, NULL) == TERN_OK &&
       tern_config_set_early_data(s, 16384, 10000) == TERN_OK &&
       tern_config_set_early_data(c, 1, 0) == TERN_OK;
  if (ok && (opts & OPT_HRR)) ok = tern_config_set_groups(s, &p256, 1) == TERN_OK;
  if (ok && (opts & (OPT_CLIENT_AUTH | OPT_PHA))) {
    X509_STORE *cas = X509_STORE_new();
    chain = pki_chain(&client_pki);
    ok = cas != NULL && chain != NULL && X509_STORE_add_cert(cas, client_pki.ca) == 1 &&
         tern_config_set_trust_store(s, cas) == TERN_OK &&
         tern_config_set_cert(c, client_pki.leaf, chain, client_pki.leaf_key) == TERN_OK;
    X509_STORE_free(cas);
    sk_X509_pop_free(chain, X509_free);
    if (ok && (opts & OPT_CLIENT_AUTH))
      ok = tern_config_set_client_auth(s, TERN_CLIENT_AUTH_REQUIRED, 1) == TERN_OK;
    if (ok && (opts & OPT_PHA)) ok = tern_config_set_post_handshake_auth(c, 1) == TERN_OK;
  }
  if (!ok) {
    tern_config_free(c);
    tern_config_free(s);
    *cc = *sc = NULL;
    return -1;
  }
  *cc = c;
  *sc = s;
  return 0;
}

/* A failed connection stays failed. */
static void check_sticky(tern_conn *c) {
  if (c == NULL || tern_conn_alert(c) == 0) return;
  CHECK(tern_handshake(c) < 0);
}

/* One QUIC handshake; returns 1 when both sides completed. */
static int run_quic(int opts) {
  tern_config *c, *s;
  qpair p;
  int rc, done = 0;
  if (make_configs(opts, &c, &s) != 0) return 0;
  memset(&p, 0, sizeof p);
  if (qpair_init(&p, c, s, client_tp, sizeof client_tp, server_tp, sizeof server_tp) == 0) {
    if (tern_conn_set_server_name(p.c.conn, "localhost") == TERN_OK &&
        (!(opts & OPT_RESUME) || session_len == 0 ||
         tern_conn_set_session(p.c.conn, session, session_len, clock_now) == TERN_OK)) {
      rc = qpair_run(&p);
      done = rc == TERN_OK;
      /* the tickets, in QUIC at the application level */
      if (done) {
        rc = qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_APPLICATION);
        (void)rc;
      }
    }
    check_sticky(p.c.conn);
    check_sticky(p.s.conn);
  }
  qpair_free(&p);
  tern_config_free(c);
  tern_config_free(s);
  return done;
}

/* Moves what from has to send into to; returns tern_tls_feed's result. */
static int pump(tern_conn *from, tern_conn *to) {
  size_t len, used;
  const uint8_t *p;
  int rc = TERN_OK;
  while (rc == TERN_OK && (p = tern_tls_output(from, &len)) != NULL) {
    rc = tern_tls_feed(to, p, len, &used);
    tern_tls_output_done(from, used);
    if (rc == TERN_OK && used == 0) break;
  }
  return rc;
}

/* One TCP connection: handshake, data both ways, a KeyUpdate, a
   post-handshake authentication when asked, close. 1 when all worked. */
static int run_tcp(int opts) {
  tern_config *c, *s;
  tern_conn *cl = NULL, *sv = NULL;
  uint8_t buf[64];
  size_t n;
  int ok = 0, rc = TERN_OK;
  if (make_configs(opts, &c, &s) != 0) return 0;
  cl = tern_conn_new_tls(c, NULL);
  sv = tern_conn_new_tls(s, NULL);
  if (cl == NULL || sv == NULL || tern_conn_set_server_name(cl, "localhost") != TERN_OK) goto out;
  if ((opts & OPT_RESUME) && session_len &&
      tern_conn_set_session(cl, session, session_len, clock_now) != TERN_OK)
    goto out;
  if (tern_handshake(cl) < 0) goto out;
  if ((opts & OPT_RESUME) && tern_tls_write(cl, (const uint8_t *)"early", 5) != TERN_OK) goto out;
  for (int i = 0; i < 10 && rc == TERN_OK &&
                  !(tern_conn_handshake_done(cl) && tern_conn_handshake_done(sv));
       i++) {
    rc = pump(cl, sv);
    if (rc == TERN_OK) rc = pump(sv, cl);
  }
  if (rc != TERN_OK || !tern_conn_handshake_done(cl) || !tern_conn_handshake_done(sv)) goto out;
  if (pump(cl, sv) != TERN_OK) goto out; /* the client's Finished */
  if (tern_tls_write(cl, (const uint8_t *)"ping", 4) != TERN_OK || pump(cl, sv) != TERN_OK ||
      tern_tls_key_update(sv, 1) != TERN_OK || pump(sv, cl) != TERN_OK || pump(cl, sv) != TERN_OK)
    goto out;
  if (opts & OPT_PHA) {
    if (tern_tls_request_client_auth(sv) != TERN_OK || pump(sv, cl) != TERN_OK ||
        pump(cl, sv) != TERN_OK || tern_tls_client_auths_completed(sv) != 1)
      goto out;
  }
  while (tern_tls_read(sv, buf, sizeof buf, &n) == TERN_OK) {
  }
  if (tern_tls_close(cl) != TERN_OK || pump(cl, sv) != TERN_OK || !tern_tls_peer_closed(sv))
    goto out;
  ok = 1;
out:
  check_sticky(cl);
  check_sticky(sv);
  tern_conn_free(cl);
  tern_conn_free(sv);
  tern_config_free(c);
  tern_config_free(s);
  return ok;
}

static int run(int opts) { return (opts & OPT_QUIC) ? run_quic(opts) : run_tcp(opts); }

/* Runs a scenario once per allocation, failing each in turn. */
static void every_allocation(const char *name, int opts) {
  long n, total, leaks = 0, completed = 0;
  /* unhindered: how many allocations, and a fresh session to resume */
  fail_at = -1;
  n_allocs = 0;
  CHECK_EQ_INT(run(opts), 1);
  total = n_allocs;
  if (opts & OPT_RESUME) {
    /* the session the runs resume: each run offers the same ticket, and
       the server's replay guard lives in the configuration, which each
       run makes anew */
    CHECK(session_len > 0);
  }
  for (n = 1;; n++) {
    long before;
    /* libcrypto keeps per-thread state (the error queue, with buffers
       for error data it keeps for reuse; the thread's random
       generators): measure with it released, before and after */
    OPENSSL_thread_stop();
    before = live;
    fail_at = n;
    n_allocs = 0;
    failed_once = 0;
    completed += run(opts);
    fail_at = -1;
    OPENSSL_thread_stop();
    if (live != before) {
      if (leaks++ < 5)
        fprintf(stderr, "  %s: allocation %ld failing leaves %ld blocks\n", name, n,
                live - before);
    }
    if (!failed_once) break;
  }
  fail_at = -1;
  CHECK_EQ_INT(leaks, 0);
  CHECK(n > total / 2); /* the runs did walk through the handshake */
  printf("%s: %ld allocations, each failed in turn: %ld runs, %ld still completed, "
         "%ld leaked\n", name, total, n - 1, completed, leaks);
}

int main(void) {
  if (!CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free)) {
    fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
    return 1;
  }
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 1, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&client_pki, PKI_KEY_P256, "client", 0, PKI_VALID_NOW), 0);
  /* warm libcrypto's caches (fetched algorithms) */
  CHECK_EQ_INT(run(OPT_QUIC), 1);
  CHECK_EQ_INT(run(0), 1);
  CHECK_EQ_INT(run(OPT_QUIC | OPT_HRR), 1);
  CHECK_EQ_INT(run(OPT_PHA), 1);

  every_allocation("QUIC full", OPT_QUIC);
  every_allocation("QUIC HelloRetryRequest", OPT_QUIC | OPT_HRR);
  every_allocation("QUIC client auth", OPT_QUIC | OPT_CLIENT_AUTH);
  session_len = 0;
  CHECK_EQ_INT(run(OPT_QUIC), 1);
  every_allocation("QUIC resumption + 0-RTT", OPT_QUIC | OPT_RESUME);
  every_allocation("TCP full, data, KeyUpdate, close", 0);
  every_allocation("TCP post-handshake auth", OPT_PHA);
  session_len = 0;
  CHECK_EQ_INT(run(0), 1);
  every_allocation("TCP resumption + 0-RTT", OPT_RESUME);
  pki_free(&server_pki);
  pki_free(&client_pki);
  return check_report();
}
