/*
 * bench_redis.c - what the fleet's Redis check costs a server.
 *
 * Resumed QUIC handshakes with 0-RTT (psk_dhe_ke, a fresh single-use
 * ticket each) between in-memory tern pairs, the server's single-use
 * record kept three ways: tern's in-memory strike register, libtern_redis
 * over TCP to a redis-server on loopback, and over its Unix socket.
 * Measured, for the server side only (its connection made, fed and
 * freed, timed with the thread's CPU clock and the wall clock): CPU per
 * handshake, and redis-server's own CPU per check (/proc/PID/stat).
 * Rounds interleave the three ways; medians and spreads are printed, and
 * the check's cost as a ratio to the in-memory resumed handshake.
 * Then two server configurations, each with its own adapter and its own
 * in-process client on its own thread, share one Redis: handshakes per
 * second together, against one alone.
 *
 *   bench_redis [HANDSHAKES_PER_ROUND [ROUNDS]]   (default 400, 5)
 *
 * It starts redis-server itself (a free port, a socket in /tmp) and stops
 * it; without redis-server it says so and exits 77.
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include <tern.h>
#include <tern_redis.h>

#include <hiredis/hiredis.h>

#include "measure.h"
#include "pki.h"
#include "redis_child.h"
#include "qpair.h"

static pki server_pki;
static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x04, 0x04, 0x80, 0x20, 0x00, 0x00};
static const uint8_t key_name[16] = "bench-redis-key!", key[32] = "bench-redis-ticket-key-32-bytes!";

static uint64_t now_ms(void *user) {
  struct timespec ts;
  (void)user;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- redis-server ---------------------------------------------------- */

static redis_child redis;
static redisContext *info_ctx; /* the benchmark's own connection, for INFO */

static void redis_stop(void) {
  if (info_ctx) redisFree(info_ctx);
  info_ctx = NULL;
  redis_child_cleanup(&redis);
}

/* redis-server's CPU seconds so far, as its INFO cpu says (getrusage,
   microseconds; /proc's clock ticks are too coarse for a round). */
static double redis_cpu(void) {
  redisReply *r;
  double user = 0, sys = 0;
  const char *p;
  if (info_ctx == NULL) info_ctx = redisConnectUnix(redis.sock);
  if (info_ctx == NULL || info_ctx->err) return 0;
  r = redisCommand(info_ctx, "INFO cpu");
  if (r == NULL) return 0;
  if (r->type == REDIS_REPLY_STRING) {
    if ((p = strstr(r->str, "used_cpu_sys:")) != NULL) sys = atof(p + 13);
    if ((p = strstr(r->str, "used_cpu_user:")) != NULL) user = atof(p + 14);
  }
  freeReplyObject(r);
  return user + sys;
}

/* ---- tickets and configurations --------------------------------------- */

typedef struct ticket {
  uint8_t blob[TERN_SESSION_MAX_BYTES];
  size_t len;
} ticket;

typedef struct ticket_box {
  ticket *t;
  size_t n, cap;
} ticket_box;

static void on_session(tern_conn *c, const uint8_t *s, size_t len, uint32_t max_early,
                       void *user) {
  ticket_box *box = user;
  (void)c, (void)max_early;
  if (box->n < box->cap && len <= TERN_SESSION_MAX_BYTES) {
    memcpy(box->t[box->n].blob, s, len);
    box->t[box->n++].len = len;
  }
}

static tern_config *server_config(void) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_SERVER);
  STACK_OF(X509) *chain = pki_chain(&server_pki);
  tern_config_set_cert(cfg, server_pki.leaf, chain, server_pki.leaf_key);
  sk_X509_pop_free(chain, X509_free);
  tern_config_set_alpn(cfg, alpn, 1);
  tern_config_set_clock(cfg, now_ms, NULL);
  tern_config_set_tickets(cfg, 1, 3600);
  tern_config_set_early_data(cfg, 16384, 10000);
  tern_config_set_ticket_key(cfg, key_name, key);
  return cfg;
}

static tern_config *client_config(ticket_box *box) {
  static const char *const alpn[] = {"h3"};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  X509_STORE *store = X509_STORE_new();
  X509_STORE_add_cert(store, server_pki.ca);
  tern_config_set_trust_store(cfg, store);
  X509_STORE_free(store);
  tern_config_set_alpn(cfg, alpn, 1);
  tern_config_set_clock(cfg, now_ms, NULL);
  tern_config_set_new_session_callback(cfg, on_session, box);
  tern_config_set_early_data(cfg, 1, 0);
  return cfg;
}

/* Fills box with n tickets from full handshakes with a server that
   issues 10 per handshake (the ticket key is the benchmark's). */
static int make_tickets(ticket_box *box, size_t n) {
  tern_config *s = server_config(), *c = client_config(box);
  box->t = malloc(n * sizeof *box->t);
  box->cap = n;
  box->n = 0;
  tern_config_set_tickets(s, 10, 3600);
  while (box->t && box->n < n) {
    qpair p;
    if (qpair_init(&p, c, s, client_tp, sizeof client_tp, server_tp, sizeof server_tp) != 0 ||
        tern_conn_set_server_name(p.c.conn, "localhost") != TERN_OK || qpair_run(&p) != TERN_OK) {
      qpair_free(&p);
      break;
    }
    /* the client reads its tickets once the handshake is done */
    tern_handshake(p.c.conn);
    qpair_free(&p);
  }
  tern_config_free(s);
  tern_config_free(c);
  return box->n == n ? 0 : -1;
}

/* ---- one resumed 0-RTT handshake, the server side timed ---------------- */

typedef struct cost {
  double cpu, wall; /* server side, seconds */
  unsigned ok, early;
} cost;

/* Delivers from -> to at every level, timing when to is the server. */
static int pump(qpair *p, qside *from, qside *to, int to_server, cost *k) {
  for (int lv = 0; lv < 4; lv++) {
    if (from->out_len[lv] == 0) continue;
    double c0 = to_server ? clock_s(CLOCK_THREAD_CPUTIME_ID) : 0;
    double w0 = to_server ? clock_s(CLOCK_MONOTONIC) : 0;
    int rc = qpair_deliver(p, from, to, (tern_level)lv);
    if (to_server) {
      k->cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
      k->wall += clock_s(CLOCK_MONOTONIC) - w0;
    }
    if (rc < 0) return rc;
    return 1;
  }
  return 0;
}

static void one_handshake(tern_config *cc, tern_config *sc, const ticket *t, cost *k) {
  qpair p;
  double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
  memset(&p, 0, sizeof p);
  /* the server's connection, made (and later freed) on its clock */
  p.s.conn = tern_conn_new_quic(sc, &qpair_callbacks, &p.s);
  tern_quic_set_transport_params(p.s.conn, server_tp, sizeof server_tp);
  k->cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
  k->wall += clock_s(CLOCK_MONOTONIC) - w0;
  p.c.conn = tern_conn_new_quic(cc, &qpair_callbacks, &p.c);
  tern_quic_set_transport_params(p.c.conn, client_tp, sizeof client_tp);
  tern_conn_set_server_name(p.c.conn, "localhost");
  tern_conn_set_session(p.c.conn, t->blob, t->len, now_ms(NULL));
  if (tern_handshake(p.c.conn) >= 0) {
    for (int round = 0; round < 32; round++) {
      int a = pump(&p, &p.c, &p.s, 1, k), b;
      if (a < 0) break;
      b = pump(&p, &p.s, &p.c, 0, k);
      if (b < 0 || (a == 0 && b == 0)) break;
    }
  }
  if (tern_conn_handshake_done(p.s.conn) && tern_conn_resumed(p.s.conn)) k->ok++;
  if (tern_conn_early_data_status(p.s.conn) == TERN_EARLY_DATA_ACCEPTED) k->early++;
  c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
  w0 = clock_s(CLOCK_MONOTONIC);
  tern_conn_free(p.s.conn);
  p.s.conn = NULL;
  k->cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
  k->wall += clock_s(CLOCK_MONOTONIC) - w0;
  qpair_free(&p);
}

/* ---- two servers on two threads -------------------------------------- */

typedef struct worker_arg {
  tern_config *cc, *sc;
  ticket_box *box;
  size_t from, n;
  cost k;
} worker_arg;

static void *worker_main(void *p) {
  worker_arg *w = p;
  for (size_t i = 0; i < w->n; i++) one_handshake(w->cc, w->sc, &w->box->t[w->from + i], &w->k);
  return NULL;
}

static tern_redis *adapter(tern_config *sc, const char *address) {
  tern_redis_options o;
  tern_redis *r = NULL;
  memset(&o, 0, sizeof o);
  o.address = address;
  o.prefix = "bench:";
  o.window_ms = 10000;
  o.pool_size = 2;
  if (tern_redis_new(&o, &r) != TERN_OK || tern_redis_attach(r, sc) != TERN_OK) {
    fprintf(stderr, "bench_redis: adapter for %s failed\n", address);
    exit(1);
  }
  return r;
}

int main(int argc, char **argv) {
  enum { MODES = 3, MAX_ROUNDS = 21 };
  static const char *const names[MODES] = {"in-memory register", "Redis over TCP (loopback)",
                                           "Redis over a Unix socket"};
  size_t per_round = argc > 1 ? (size_t)atol(argv[1]) : 400;
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  double cpu[MODES][MAX_ROUNDS], wall[MODES][MAX_ROUNDS], rcpu[MODES][MAX_ROUNDS];
  char tcp_addr[64], unix_addr[160];
  tern_config *sc[MODES], *cc;
  tern_redis *ra[MODES] = {NULL, NULL, NULL};
  ticket_box box, dummy = {0};
  size_t used = 0;
  if (!redis_child_installed()) {
    printf("bench_redis: redis-server is not installed\n");
    return 77;
  }
  if (per_round < 10 || rounds < 1 || rounds > MAX_ROUNDS) {
    fprintf(stderr, "usage: bench_redis [HANDSHAKES_PER_ROUND>=10 [ROUNDS 1-21]]\n");
    return 2;
  }
  if (redis_child_start(&redis, "tern-bench-redis", NULL) != 0) {
    fprintf(stderr, "bench_redis: redis-server did not start\n");
    return 1;
  }
  atexit(redis_stop);
  snprintf(tcp_addr, sizeof tcp_addr, "127.0.0.1:%d", redis.port);
  snprintf(unix_addr, sizeof unix_addr, "unix:%s", redis.sock);
  if (pki_make(&server_pki, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW) != 0) return 1;
  for (int m = 0; m < MODES; m++) sc[m] = server_config();
  ra[1] = adapter(sc[1], tcp_addr);
  ra[2] = adapter(sc[2], unix_addr);
  cc = client_config(&dummy);
  {
    /* warm-up, the rounds, then one server alone and two together */
    size_t need = per_round + per_round * (size_t)rounds * MODES + 6 * per_round;
    if (make_tickets(&box, need) != 0) {
      fprintf(stderr, "bench_redis: could not make %zu tickets\n", need);
      return 1;
    }
  }
  printf("resumed QUIC handshakes with 0-RTT (psk_dhe_ke, X25519, one fresh ticket each, 1 "
         "new ticket issued), server side only; %zu per round, %d rounds interleaved\n",
         per_round, rounds);
  /* warm-up: connections made, caches warm */
  for (size_t i = 0; i < per_round / 3; i++)
    for (int m = 0; m < MODES; m++) {
      cost k = {0};
      one_handshake(cc, sc[m], &box.t[used++], &k);
    }
  for (int r = 0; r < rounds; r++)
    for (int m = 0; m < MODES; m++) {
      cost k = {0};
      double r0 = redis_cpu();
      for (size_t i = 0; i < per_round; i++) one_handshake(cc, sc[m], &box.t[used++], &k);
      if (k.ok != per_round || k.early != per_round) {
        fprintf(stderr, "bench_redis: %s: %u of %zu resumed, %u with 0-RTT\n", names[m], k.ok,
                per_round, k.early);
        return 1;
      }
      cpu[m][r] = k.cpu / (double)per_round;
      wall[m][r] = k.wall / (double)per_round;
      rcpu[m][r] = (redis_cpu() - r0) / (double)per_round;
    }
  {
    double med[MODES], wmed[MODES], rmed[MODES];
    for (int m = 0; m < MODES; m++) {
      double c[MAX_ROUNDS], w[MAX_ROUNDS], x[MAX_ROUNDS];
      memcpy(c, cpu[m], sizeof c);
      memcpy(w, wall[m], sizeof w);
      memcpy(x, rcpu[m], sizeof x);
      qsort(c, (size_t)rounds, sizeof *c, cmp_double);
      qsort(w, (size_t)rounds, sizeof *w, cmp_double);
      qsort(x, (size_t)rounds, sizeof *x, cmp_double);
      med[m] = c[rounds / 2];
      wmed[m] = w[rounds / 2];
      rmed[m] = x[rounds / 2];
      printf("  %-27s server CPU %6.1f us/handshake (min %.1f, max %.1f), wall %6.1f us, "
             "redis-server CPU %5.1f us/check\n",
             names[m], med[m] * 1e6, c[0] * 1e6, c[rounds - 1] * 1e6, wmed[m] * 1e6,
             rmed[m] * 1e6);
    }
    for (int m = 1; m < MODES; m++)
      printf("  the check through %s: +%.1f us server CPU per 0-RTT handshake = %.2fx of a "
             "resumed handshake (%.2fx with redis-server's CPU); %+.1f us wall\n",
             m == 1 ? "TCP" : "the Unix socket", (med[m] - med[0]) * 1e6,
             (med[m] - med[0]) / med[0], (med[m] - med[0] + rmed[m]) / med[0],
             (wmed[m] - wmed[0]) * 1e6);
  }
  /* two servers sharing one Redis, each with its own thread and client */
  {
    size_t n = per_round * 2;
    tern_config *s2[2] = {server_config(), server_config()};
    tern_redis *r2[2] = {adapter(s2[0], tcp_addr), adapter(s2[1], tcp_addr)};
    worker_arg w[2];
    pthread_t th[2];
    double t0, one, two;
    memset(w, 0, sizeof w);
    w[0].cc = cc, w[0].sc = s2[0], w[0].box = &box, w[0].from = used, w[0].n = n;
    t0 = clock_s(CLOCK_MONOTONIC);
    worker_main(&w[0]);
    one = clock_s(CLOCK_MONOTONIC) - t0;
    used += n;
    memset(w, 0, sizeof w);
    for (int i = 0; i < 2; i++)
      w[i].cc = cc, w[i].sc = s2[i], w[i].box = &box, w[i].from = used + (size_t)i * n, w[i].n = n;
    t0 = clock_s(CLOCK_MONOTONIC);
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker_main, &w[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    two = clock_s(CLOCK_MONOTONIC) - t0;
    printf("one Redis (TCP), in-process client and server per thread, %ld CPUs online: one "
           "server %.0f handshakes/s; two servers %.0f handshakes/s together (%.2fx), "
           "%u + %u of %zu + %zu resumed with 0-RTT\n",
           sysconf(_SC_NPROCESSORS_ONLN), (double)n / one, (double)(2 * n) / two,
           ((double)(2 * n) / two) / ((double)n / one), w[0].k.early, w[1].k.early, n, n);
    for (int i = 0; i < 2; i++) {
      tern_config_free(s2[i]);
      tern_redis_free(r2[i]);
    }
  }
  for (int m = 0; m < MODES; m++) {
    tern_config_free(sc[m]);
    tern_redis_free(ra[m]);
  }
  tern_config_free(cc);
  free(box.t);
  pki_free(&server_pki);
  return 0;
}
