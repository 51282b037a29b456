/*
 * test_redis.c - libtern_redis against a real redis-server (Debian
 * redis-server) that the test starts on a free loopback port (and a Unix
 * socket) with a password, and stops. Two server configurations, each
 * with its own adapter, play two servers of a fleet:
 *   - a ticket issued by one resumes on the other with 0-RTT (QUIC);
 *   - the very same first flight (QUIC Initial CRYPTO bytes, or the TCP
 *     ClientHello record) given to both gets its 0-RTT accepted by
 *     exactly one, whichever comes first, over TCP and Unix sockets;
 *   - Redis stopped (SIGSTOP: it answers late) and killed: resumption
 *     still works, 0-RTT is refused, no call waits long; Redis back:
 *     0-RTT accepted again;
 *   - ticket key rotation: one server's new period is picked up by the
 *     other before its own clock gets there; the previous key still
 *     opens tickets, the one before is gone;
 *   - handshakes on two threads through one adapter.
 * Exit 77 (skipped) when redis-server is not installed.
 *
 * Run with the argument "replay" it does the replay checks only: the
 * negative test runs it linked to an adapter built without NX, where
 * it must fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include <tern.h>
#include <tern_redis.h>

#include "check.h"
#include "pki.h"
#include "redis_child.h"
#include "qpair.h"
#define SESSIONS_MAX 1024
#define TEST_CLOCK_START 1700000000000ull
#include "sessions.h"

#define PASSWORD "fleet-test-password"

static pki server_pki;

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x04, 0x04, 0x80, 0x20, 0x00, 0x00};

/* ---- redis-server --------------------------------------------------- */

static redis_child redis;
static char tcp_addr[64], unix_addr[160];

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void cleanup(void) { redis_child_cleanup(&redis); }

/* ---- configurations --------------------------------------------------- */

/* One server of the fleet: its configuration and its adapter. */
typedef struct fleet_server {
  tern_config *cfg;
  tern_redis *redis;
} fleet_server;

static void server_open(fleet_server *sv, const char *address, unsigned rotate_s) {
  static const char *const alpn[] = {"h3"};
  tern_redis_options o;
  STACK_OF(X509) *chain = pki_chain(&server_pki);
  sv->cfg = tern_config_new(TERN_SERVER);
  CHECK(sv->cfg != NULL);
  CHECK_EQ_INT(tern_config_set_cert(sv->cfg, server_pki.leaf, chain, server_pki.leaf_key),
               TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  CHECK_EQ_INT(tern_config_set_alpn(sv->cfg, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(sv->cfg, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_tickets(sv->cfg, 1, 3600), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(sv->cfg, 16384, 10000), TERN_OK);
  memset(&o, 0, sizeof o);
  o.address = address;
  o.password = PASSWORD;
  o.prefix = "test:";
  o.rotate_s = rotate_s;
  o.pool_size = 2;
  o.window_ms = 10000;
  CHECK_EQ_INT(tern_redis_new(&o, &sv->redis), TERN_OK);
  CHECK_EQ_INT(tern_redis_attach(sv->redis, sv->cfg), TERN_OK);
}

static void server_close(fleet_server *sv) {
  tern_config_free(sv->cfg);
  tern_redis_free(sv->redis);
}

static tern_config *client_config(void) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  X509_STORE *store = X509_STORE_new();
  X509_STORE_add_cert(store, server_pki.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(cfg, store), TERN_OK);
  X509_STORE_free(store);
  CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_new_session_callback(cfg, on_session, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(cfg, 1, 0), TERN_OK);
  return cfg;
}

/* The other halves of in-memory pairs of which one side is used. */
static tern_config *spare_server, *spare_client;

/* What one QUIC handshake came to. */
typedef struct outcome {
  int rc, resumed, early;
} outcome;

/* A QUIC handshake of client cc with server s, offering session `use`
   (-1: none). */
static outcome run(tern_config *cc, const fleet_server *s, int use) {
  qpair p;
  outcome o;
  CHECK_EQ_INT(qpair_init(&p, cc, s->cfg, client_tp, sizeof client_tp, server_tp,
                          sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  if (use >= 0)
    CHECK_EQ_INT(tern_conn_set_session(p.c.conn, sessions[use].blob, sessions[use].len,
                                       clock_now), TERN_OK);
  o.rc = qpair_run(&p);
  o.resumed = tern_conn_resumed(p.s.conn);
  o.early = tern_conn_early_data_status(p.s.conn);
  qpair_free(&p);
  return o;
}

/* A fresh ticket from server s (a full handshake); its index. */
static int ticket_from(tern_config *cc, const fleet_server *s) {
  int first = n_sessions;
  outcome o = run(cc, s, -1);
  CHECK_EQ_INT(o.rc, TERN_OK);
  CHECK(n_sessions == first + 1);
  if (n_sessions != first + 1) {
    fprintf(stderr, "no ticket: giving up\n");
    exit(1);
  }
  return first;
}

/*
 * The client's first flight with session `use`, in QUIC (the Initial
 * CRYPTO bytes) or TCP (the ClientHello record), into buf.
 */
static size_t first_flight(tern_config *cc, int use, int tcp, uint8_t *buf, size_t cap) {
  size_t n = 0;
  if (tcp) {
    tern_conn *c = tern_conn_new_tls(cc, NULL);
    const uint8_t *out;
    CHECK(c != NULL);
    CHECK_EQ_INT(tern_conn_set_server_name(c, "localhost"), TERN_OK);
    CHECK_EQ_INT(tern_conn_set_session(c, sessions[use].blob, sessions[use].len, clock_now),
                 TERN_OK);
    CHECK_EQ_INT(tern_handshake(c), TERN_WANT_READ);
    out = tern_tls_output(c, &n);
    CHECK(n > 0 && n <= cap);
    if (n <= cap) memcpy(buf, out, n);
    tern_conn_free(c);
  } else {
    qpair p;
    /* (a pair needs a server too; it is never run) */
    CHECK_EQ_INT(qpair_init(&p, cc, spare_server, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
    CHECK_EQ_INT(tern_conn_set_session(p.c.conn, sessions[use].blob, sessions[use].len,
                                       clock_now), TERN_OK);
    CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
    n = p.c.out_len[TERN_LEVEL_INITIAL];
    CHECK(n > 0 && n <= cap);
    if (n <= cap) memcpy(buf, p.c.out[TERN_LEVEL_INITIAL], n);
    qpair_free(&p);
  }
  return n;
}

/* Server s takes the flight; whether it accepted its 0-RTT, and whether
   it resumed (*resumed). */
static int server_takes(const fleet_server *s, const uint8_t *flight, size_t n, int tcp,
                        int *resumed) {
  int early;
  if (tcp) {
    tern_conn *c = tern_conn_new_tls(s->cfg, NULL);
    CHECK(c != NULL);
    CHECK_EQ_INT(tern_tls_feed(c, flight, n, NULL), TERN_OK);
    early = tern_conn_early_data_status(c);
    *resumed = tern_conn_resumed(c);
    tern_conn_free(c);
  } else {
    qpair p;
    /* (a pair needs a client too; it is never run) */
    CHECK_EQ_INT(qpair_init(&p, spare_client, s->cfg, client_tp, sizeof client_tp, server_tp,
                            sizeof server_tp), 0);
    CHECK_EQ_INT(tern_quic_provide_data(p.s.conn, TERN_LEVEL_INITIAL, flight, n), TERN_OK);
    CHECK_EQ_INT(tern_handshake(p.s.conn), TERN_WANT_READ);
    early = tern_conn_early_data_status(p.s.conn);
    *resumed = tern_conn_resumed(p.s.conn);
    qpair_free(&p);
  }
  return early == TERN_EARLY_DATA_ACCEPTED;
}

/* ---- the checks -------------------------------------------------------- */

/* A ticket of a resumes on b with 0-RTT, and the other way round. */
static void test_cross_resume(tern_config *cc, const fleet_server *a, const fleet_server *b) {
  outcome o = run(cc, b, ticket_from(cc, a));
  CHECK_EQ_INT(o.rc, TERN_OK);
  CHECK(o.resumed);
  CHECK_EQ_INT(o.early, TERN_EARLY_DATA_ACCEPTED);
  o = run(cc, a, ticket_from(cc, b));
  CHECK(o.rc == TERN_OK && o.resumed);
  CHECK_EQ_INT(o.early, TERN_EARLY_DATA_ACCEPTED);
}

/* The same first flight at both servers, each order, QUIC and TCP: its
   0-RTT is accepted exactly once; the second server makes a full
   handshake of it (the ticket was used). */
static void test_replay(tern_config *cc, const fleet_server *a, const fleet_server *b) {
  static uint8_t flight[8192];
  for (int tcp = 0; tcp < 2; tcp++)
    for (int order = 0; order < 2; order++) {
      const fleet_server *first = order ? b : a, *second = order ? a : b;
      int t = ticket_from(cc, a), r1 = 0, r2 = 0, accepted;
      size_t n = first_flight(cc, t, tcp, flight, sizeof flight);
      accepted = server_takes(first, flight, n, tcp, &r1);
      accepted += server_takes(second, flight, n, tcp, &r2);
      CHECK_EQ_INT(accepted, 1);
      CHECK(r1 && !r2);
      /* and a third time at the first server */
      CHECK_EQ_INT(server_takes(first, flight, n, tcp, &r1), 0);
      if (accepted != 1)
        fprintf(stderr, "  replay (%s, order %d): 0-RTT accepted %d times\n",
                tcp ? "TCP" : "QUIC", order, accepted);
    }
}

/* Redis late (stopped), then gone (killed), then back. */
static void test_redis_down(tern_config *cc, const fleet_server *a, const fleet_server *b) {
  tern_redis_stats st0, st;
  uint64_t t0, worst = 0;
  int t[4], accepted = 0;
  outcome o;
  for (int i = 0; i < 4; i++) t[i] = ticket_from(cc, a);
  tern_redis_stats_get(b->redis, &st0);
  CHECK_EQ_INT(kill(redis.pid, SIGSTOP), 0);
  for (int i = 0; i < 2; i++) {
    t0 = mono_ms();
    o = run(cc, b, t[i]);
    if (mono_ms() - t0 > worst) worst = mono_ms() - t0;
    CHECK_EQ_INT(o.rc, TERN_OK);
    CHECK(o.resumed);
    CHECK_EQ_INT(o.early, TERN_EARLY_DATA_REJECTED);
  }
  o = run(cc, b, -1); /* a full handshake does not ask */
  CHECK(o.rc == TERN_OK && !o.resumed);
  tern_redis_stats_get(b->redis, &st);
  CHECK_EQ_INT(st.replay_unavailable - st0.replay_unavailable, 2);
  CHECK(st.errors > st0.errors);
  CHECK(st.last_error[0] != '\0');
  printf("Redis stopped: 2 resumptions without 0-RTT, slowest %llu ms; last error: %s\n",
         (unsigned long long)worst, st.last_error);
  /* 50 ms per call; generous for a loaded machine, far below a hang */
  CHECK(worst < 3000);
  redis_child_kill(&redis);
  t0 = mono_ms();
  o = run(cc, b, t[2]);
  CHECK(o.rc == TERN_OK && o.resumed);
  CHECK_EQ_INT(o.early, TERN_EARLY_DATA_REJECTED);
  CHECK(mono_ms() - t0 < 3000);
  /* back: the first calls may fall in the backoff (at most 5 s) */
  CHECK_EQ_INT(redis_child_restart(&redis), 0);
  for (uint64_t end = mono_ms() + 20000; mono_ms() < end && !accepted;) {
    int k = ticket_from(cc, a);
    o = run(cc, b, k);
    CHECK(o.rc == TERN_OK && o.resumed);
    accepted = o.early == TERN_EARLY_DATA_ACCEPTED;
    if (!accepted) sleep_ms(100);
  }
  CHECK(accepted);
  /* (t[3], issued before the restart, is not in the new Redis: 0-RTT) */
  o = run(cc, b, t[3]);
  CHECK(o.rc == TERN_OK && o.resumed);
}

/* Rotation with times passed in: b's clock lags a's by most of a period. */
static void test_rotation(tern_config *cc, fleet_server *a, fleet_server *b) {
  /* a period's start, ahead of the wall clock the servers started with */
  const uint64_t period = 60000, base = ((uint64_t)time(NULL) / 60 + 10) * period;
  tern_redis_stats sa, sb;
  outcome o;
  int old, old2, t1, t2;
  CHECK_EQ_INT(tern_redis_poll(a->redis, base + 1000), TERN_OK);
  CHECK_EQ_INT(tern_redis_poll(b->redis, base + 2000), TERN_OK);
  tern_redis_stats_get(a->redis, &sa);
  tern_redis_stats_get(b->redis, &sb);
  CHECK(sa.key_period == base / period && sb.key_period == sa.key_period);
  old = ticket_from(cc, a);
  old2 = ticket_from(cc, a);
  t1 = ticket_from(cc, a);
  o = run(cc, b, t1);
  CHECK(o.rc == TERN_OK && o.resumed); /* one key for both */
  /* a's clock reaches the next period first: it makes the key */
  CHECK_EQ_INT(tern_redis_poll(a->redis, base + period + 10), TERN_OK);
  t2 = ticket_from(cc, a);
  /* b, still in the previous period by its clock, picks it up */
  CHECK_EQ_INT(tern_redis_poll(b->redis, base + 3000), TERN_OK);
  tern_redis_stats_get(b->redis, &sb);
  CHECK_EQ_INT(sb.key_period, base / period + 1);
  o = run(cc, b, t2);
  CHECK(o.rc == TERN_OK && o.resumed);
  CHECK_EQ_INT(o.early, TERN_EARLY_DATA_ACCEPTED);
  /* the previous key still opens a's older ticket at b ... */
  o = run(cc, b, old);
  CHECK(o.rc == TERN_OK && o.resumed);
  /* ... until one more rotation: b's clock first this time */
  CHECK_EQ_INT(tern_redis_poll(b->redis, base + 2 * period + 5), TERN_OK);
  CHECK_EQ_INT(tern_redis_poll(a->redis, base + 2 * period + 7), TERN_OK);
  tern_redis_stats_get(a->redis, &sa);
  tern_redis_stats_get(b->redis, &sb);
  CHECK_EQ_INT(sa.key_period, base / period + 2);
  CHECK_EQ_INT(sb.key_period, sa.key_period);
  o = run(cc, a, ticket_from(cc, b)); /* the new key, shared */
  CHECK(o.rc == TERN_OK && o.resumed);
  o = run(cc, b, old2); /* never used, but its key is gone: full handshake */
  CHECK(o.rc == TERN_OK && !o.resumed);
  o = run(cc, a, old2);
  CHECK(o.rc == TERN_OK && !o.resumed);
}

/* Handshakes on two threads at once through one adapter (pool of 2). */
typedef struct thread_arg {
  tern_config *cc;
  const fleet_server *s;
  int base, n, ok;
} thread_arg;

static void *thread_main(void *p) {
  thread_arg *t = p;
  for (int i = 0; i < t->n; i++) {
    qpair q;
    if (qpair_init(&q, t->cc, t->s->cfg, client_tp, sizeof client_tp, server_tp,
                   sizeof server_tp) != 0)
      continue;
    tern_conn_set_server_name(q.c.conn, "localhost");
    tern_conn_set_session(q.c.conn, sessions[t->base + i].blob, sessions[t->base + i].len,
                          clock_now);
    if (qpair_run(&q) == TERN_OK && tern_conn_resumed(q.s.conn) &&
        tern_conn_early_data_status(q.s.conn) == TERN_EARLY_DATA_ACCEPTED)
      t->ok++;
    qpair_free(&q);
  }
  return NULL;
}

static void test_threads(tern_config *cc, const fleet_server *a, const fleet_server *b) {
  enum { PER_THREAD = 8 };
  thread_arg args[2];
  pthread_t th[2];
  int base = n_sessions;
  for (int i = 0; i < 2 * PER_THREAD; i++) ticket_from(cc, a);
  for (int i = 0; i < 2; i++) {
    args[i] = (thread_arg){cc, b, base + i * PER_THREAD, PER_THREAD, 0};
    CHECK_EQ_INT(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
  }
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  CHECK_EQ_INT(args[0].ok + args[1].ok, 2 * PER_THREAD);
}

int main(int argc, char **argv) {
  int replay_only = argc > 1 && strcmp(argv[1], "replay") == 0;
  fleet_server a, b, u;
  tern_config *cc;
  tern_redis_stats st;
  if (!redis_child_installed()) {
    printf("redis-server is not installed: skipped\n");
    return 77;
  }
  if (redis_child_start(&redis, "tern-redis", PASSWORD) != 0) {
    fprintf(stderr, "redis-server did not start\n");
    return 1;
  }
  atexit(cleanup);
  snprintf(tcp_addr, sizeof tcp_addr, "127.0.0.1:%d", redis.port);
  snprintf(unix_addr, sizeof unix_addr, "unix:%s", redis.sock);
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW), 0);
  server_open(&a, tcp_addr, 60);
  server_open(&b, tcp_addr, 60);
  server_open(&u, unix_addr, 60); /* a third server, over the Unix socket */
  CHECK_EQ_INT(tern_redis_poll(a.redis, 1000 * (uint64_t)time(NULL)), TERN_OK);
  CHECK_EQ_INT(tern_redis_poll(b.redis, 1000 * (uint64_t)time(NULL)), TERN_OK);
  CHECK_EQ_INT(tern_redis_poll(u.redis, 1000 * (uint64_t)time(NULL)), TERN_OK);
  cc = client_config();
  spare_client = client_config();
  spare_server = a.cfg;

  test_replay(cc, &a, &b);
  test_replay(cc, &u, &a);
  if (!replay_only) {
    tern_redis_options bad = {0};
    tern_redis *r = NULL;
    test_cross_resume(cc, &a, &b);
    test_cross_resume(cc, &u, &b);
    test_threads(cc, &a, &b);
    test_redis_down(cc, &a, &b);
    test_rotation(cc, &a, &b);
    /* a wrong password: unavailable, and said so */
    {
      fleet_server w;
      outcome o;
      tern_redis_options o2 = {0};
      server_open(&w, tcp_addr, 0);
      tern_redis_free(w.redis);
      o2.address = tcp_addr;
      o2.password = "not-the-password";
      CHECK_EQ_INT(tern_redis_new(&o2, &w.redis), TERN_OK);
      CHECK_EQ_INT(tern_redis_attach(w.redis, w.cfg), TERN_OK);
      o = run(cc, &w, ticket_from(cc, &w));
      CHECK(o.rc == TERN_OK && o.resumed);
      CHECK_EQ_INT(o.early, TERN_EARLY_DATA_REJECTED);
      tern_redis_stats_get(w.redis, &st);
      CHECK(strstr(st.last_error, "AUTH") != NULL);
      CHECK(strstr(st.last_error, "not-the-password") == NULL);
      server_close(&w);
    }
    /* options */
    CHECK_EQ_INT(tern_redis_new(&bad, &r), TERN_ERR_INVALID_ARG);
    bad.address = "localhost";
    CHECK_EQ_INT(tern_redis_new(&bad, &r), TERN_ERR_INVALID_ARG);
    bad.address = "localhost:0";
    CHECK_EQ_INT(tern_redis_new(&bad, &r), TERN_ERR_INVALID_ARG);
    bad.address = "unix:relative";
    CHECK_EQ_INT(tern_redis_new(&bad, &r), TERN_ERR_INVALID_ARG);
    bad.address = "[::1]:6379";
    CHECK_EQ_INT(tern_redis_new(&bad, &r), TERN_OK);
    CHECK_EQ_INT(tern_redis_poll(r, 0), TERN_ERR_STATE);
    tern_redis_free(r);
  }
  tern_redis_stats_get(a.redis, &st);
  printf("server a: %llu checks (%llu first, %llu seen, %llu unavailable), %llu errors, "
         "%llu connects, %llu keys installed\n",
         (unsigned long long)st.replay_checks, (unsigned long long)st.replay_first,
         (unsigned long long)st.replay_seen, (unsigned long long)st.replay_unavailable,
         (unsigned long long)st.errors, (unsigned long long)st.connects,
         (unsigned long long)st.key_installs);
  server_close(&a);
  server_close(&b);
  server_close(&u);
  tern_config_free(cc);
  tern_config_free(spare_client);
  pki_free(&server_pki);
  return check_report();
}
