/*
 * cli_redis.c - `tern server --redis` and `tern h3-server --redis`: a
 * server of a fleet, sharing single use of tickets, 0-RTT anti-replay
 * and (with --redis-rotate) its ticket keys through one Redis, with
 * libtern_redis (adapters/redis). A thread polls the key ring; the
 * handshakes call the adapter from the workers.
 */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef TERN_HAVE_REDIS
#include <tern_redis.h>

struct cli_redis {
  const char *prog;
  tern_redis *r;
  unsigned interval_ms;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int stop, started;
};

/* Prints what changed in the counters since *seen (then updated). */
static void report(cli_redis *p, tern_redis_stats *seen) {
  tern_redis_stats st;
  tern_redis_stats_get(p->r, &st);
  if (st.key_period != seen->key_period)
    printf("%s: redis: ticket key of period %llu in use\n", p->prog,
           (unsigned long long)st.key_period);
  if (st.errors != seen->errors)
    fprintf(stderr, "%s: redis: %llu error%s so far; last: %s\n", p->prog,
            (unsigned long long)st.errors, st.errors == 1 ? "" : "s", st.last_error);
  fflush(stdout);
  *seen = st;
}

/* The poller: the ring brought up to date every interval_ms. */
static void *poll_main(void *arg) {
  cli_redis *p = arg;
  tern_redis_stats seen;
  tern_redis_stats_get(p->r, &seen);
  pthread_mutex_lock(&p->lock);
  while (!p->stop) {
    struct timespec until;
    pthread_mutex_unlock(&p->lock);
    tern_redis_poll(p->r, cli_clock_ms(NULL));
    report(p, &seen);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)(p->interval_ms % 1000) * 1000000L;
    until.tv_sec += p->interval_ms / 1000 + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&p->lock);
    if (!p->stop) pthread_cond_timedwait(&p->cond, &p->lock, &until);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

int cli_redis_start(const char *prog, const cli_redis_opts *o, tern_config *cfg,
                    cli_redis **out) {
  tern_redis_options ro;
  tern_redis_stats seen;
  cli_redis *p = calloc(1, sizeof *p);
  int rc;
  *out = NULL;
  if (p == NULL) return -1;
  p->prog = prog;
  memset(&ro, 0, sizeof ro);
  ro.address = o->address;
  ro.password = getenv("TERN_REDIS_PASSWORD");
  ro.prefix = o->prefix;
  ro.timeout_ms = o->timeout_ms;
  ro.rotate_s = o->rotate_s;
  ro.window_ms = o->window_ms;
  /* a connection per handshaking thread and one for the poller */
  ro.pool_size = o->threads < 8 ? o->threads + 1 : 9;
  if ((rc = tern_redis_new(&ro, &p->r)) != TERN_OK ||
      (rc = tern_redis_attach(p->r, cfg)) != TERN_OK) {
    fprintf(stderr, "%s: --redis %s: %s\n", prog, o->address,
            rc == TERN_ERR_INVALID_ARG ? "not HOST:PORT or unix:/PATH (or a bad --redis-prefix)"
                                       : tern_strerror(rc));
    tern_redis_free(p->r);
    free(p);
    return -1;
  }
  printf("%s: redis %s%s\n", prog, o->address, o->rotate_s ? ", shared ticket keys" : "");
  memset(&seen, 0, sizeof seen);
  {
    /* a Redis down at the start is no reason not to serve: the server's
       own key seals tickets until the poller reaches the ring */
    if (o->rotate_s) tern_redis_poll(p->r, cli_clock_ms(NULL));
    report(p, &seen);
    /* a tenth of the period, from 100 ms to 1 s (without shared keys the
       thread only reports errors, every second) */
    p->interval_ms = o->rotate_s && o->rotate_s * 100 < 1000 ? o->rotate_s * 100 : 1000;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    /* the thread takes no signal: the server's SIGTERM/SIGINT handling
       (a signalfd of the main thread) must get them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&p->thread, NULL, poll_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
      fprintf(stderr, "%s: redis: cannot start the key poller\n", prog);
      cli_redis_stop(p);
      return -1;
    }
    p->started = 1;
  }
  fflush(stdout);
  *out = p;
  return 0;
}

void cli_redis_stop(cli_redis *p) {
  tern_redis_stats st;
  if (p == NULL) return;
  if (p->interval_ms) {
    if (p->started) {
      pthread_mutex_lock(&p->lock);
      p->stop = 1;
      pthread_cond_signal(&p->cond);
      pthread_mutex_unlock(&p->lock);
      pthread_join(p->thread, NULL);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
  }
  tern_redis_stats_get(p->r, &st);
  printf("%s: redis: %llu checks (%llu first use, %llu seen before, %llu unavailable), "
         "%llu errors, %llu connects, %llu ticket keys installed\n",
         p->prog, (unsigned long long)st.replay_checks, (unsigned long long)st.replay_first,
         (unsigned long long)st.replay_seen, (unsigned long long)st.replay_unavailable,
         (unsigned long long)st.errors, (unsigned long long)st.connects,
         (unsigned long long)st.key_installs);
  fflush(stdout);
  tern_redis_free(p->r);
  free(p);
}

#else

int cli_redis_start(const char *prog, const cli_redis_opts *o, tern_config *cfg,
                    cli_redis **out) {
  (void)o, (void)cfg;
  *out = NULL;
  fprintf(stderr, "%s: --redis: this tern was built without hiredis (libhiredis-dev)\n", prog);
  return -1;
}

void cli_redis_stop(cli_redis *p) { (void)p; }

#endif
