/*
 * tern_redis.c - libtern_redis: the replay store and the ticket key ring
 * of a fleet of tern servers in one Redis (see tern_redis.h for what and
 * why). Over hiredis and include/tern.h only.
 *
 * Redis keys (PREFIX defaults to "tern:"):
 *   PREFIX"rp:"HEX(id)  "1", PX ttl   a ticket identity or PSK binder used
 *   PREFIX"tk:"PERIOD   48 bytes      name (16) || key (32) of that period
 *
 * Calls that carry no secret go through hiredis (redisCommand). The two
 * that do (AUTH, and a ticket key going out or coming in) are written to
 * and read from the connection's socket here, from and into buffers of
 * ours that are wiped after use, so no copy stays in hiredis's buffers;
 * hiredis's reader holds nothing unread between calls (one request, one
 * reply, no subscriptions), so the two ways never interleave.
 */
#include "tern_redis.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#define DEFAULT_TIMEOUT_MS 50
#define DEFAULT_POOL 4
#define MAX_POOL 64
#define DEFAULT_WINDOW_MS 10000
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define MAX_PREFIX 64
#define KEY_NAME_LEN 16
#define KEY_LEN 32
#define RING_VALUE_LEN (KEY_NAME_LEN + KEY_LEN)

/* One connection of the pool; ctx NULL until connected. */
typedef struct slot {
  pthread_mutex_t lock;
  redisContext *ctx;
} slot;

struct tern_redis {
  char host[256];
  int port;      /* 0: a Unix socket at host */
  char *password; /* NULL: no AUTH */
  size_t password_len;
  char prefix[MAX_PREFIX + 1];
  unsigned timeout_ms, pool_size, rotate_s;
  uint32_t window_ms;
  slot *pool;
  atomic_uint next_slot;
  /* backoff shared by the pool: no connect before down_until (monotonic ms) */
  _Atomic uint64_t down_until;
  atomic_uint backoff_ms;
  tern_config *cfg;
  /* the ring: the period whose key is current (0: none yet); poll only */
  pthread_mutex_t ring_lock;
  uint64_t period;
  /* counters */
  _Atomic uint64_t replay_checks, replay_first, replay_seen, replay_unavailable, errors,
      connects, key_installs, key_period;
  pthread_mutex_t err_lock;
  char last_error[160];
};

/* ---- small helpers ------------------------------------------------- */

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Counts an error and keeps its detail (never a secret: callers pass
   Redis's or the system's words, key names and periods only). */
static void note_error(tern_redis *r, const char *fmt, ...) {
  va_list ap;
  atomic_fetch_add(&r->errors, 1);
  pthread_mutex_lock(&r->err_lock);
  va_start(ap, fmt);
  vsnprintf(r->last_error, sizeof r->last_error, fmt, ap);
  va_end(ap);
  pthread_mutex_unlock(&r->err_lock);
}

/* Reads "HOST:PORT", "[V6]:PORT" or "unix:/PATH" into r. 0 or -1. */
static int parse_address(tern_redis *r, const char *a) {
  const char *colon;
  size_t hl;
  char *end;
  long port;
  if (strncmp(a, "unix:", 5) == 0) {
    if (a[5] != '/' || strlen(a + 5) >= 108) return -1;
    strcpy(r->host, a + 5);
    r->port = 0;
    return 0;
  }
  if (a[0] == '[') {
    const char *close = strchr(a, ']');
    if (close == NULL || close[1] != ':') return -1;
    a++;
    hl = (size_t)(close - a);
    colon = close + 1;
  } else {
    colon = strrchr(a, ':');
    if (colon == NULL) return -1;
    hl = (size_t)(colon - a);
  }
  if (hl == 0 || hl >= sizeof r->host) return -1;
  errno = 0;
  port = strtol(colon + 1, &end, 10);
  if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 || port > 65535) return -1;
  memcpy(r->host, a, hl);
  r->host[hl] = '\0';
  r->port = (int)port;
  return 0;
}

/* ---- raw calls, for the ones that carry secrets --------------------- */

/* Sends one command (RESP array of bulk strings) on c's socket from a
   buffer of ours, wiped before return. 0, or -1 (c's timeouts apply). */
static int raw_send(redisContext *c, int argc, const char *const *argv, const size_t *lens) {
  uint8_t buf[512];
  size_t n = 0, off = 0;
  int rc = -1;
  n += (size_t)snprintf((char *)buf, sizeof buf, "*%d\r\n", argc);
  for (int i = 0; i < argc; i++) {
    int h = snprintf((char *)buf + n, sizeof buf - n, "$%zu\r\n", lens[i]);
    if (h < 0 || n + (size_t)h + lens[i] + 2 > sizeof buf) goto out;
    n += (size_t)h;
    memcpy(buf + n, argv[i], lens[i]);
    n += lens[i];
    buf[n++] = '\r';
    buf[n++] = '\n';
  }
  while (off < n) {
    ssize_t w = write(c->fd, buf + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) goto out;
    off += (size_t)w;
  }
  rc = 0;
out:
  OPENSSL_cleanse(buf, sizeof buf);
  return rc;
}

/* What raw_reply read. */
enum { RAW_FAIL = -1, RAW_STATUS, RAW_ERROR, RAW_NIL, RAW_BULK, RAW_INT };

/*
 * Reads one reply from c's socket into a buffer of ours: a status, an
 * error, an integer, nil, or a bulk string of at most cap bytes copied
 * to out (*out_len). The buffer is wiped before return. RAW_FAIL on a
 * timeout, a closed socket, or a reply that is none of those.
 */
static int raw_reply(redisContext *c, uint8_t *out, size_t cap, size_t *out_len) {
  uint8_t buf[256];
  size_t have = 0;
  int kind = RAW_FAIL;
  for (;;) {
    uint8_t *eol = have > 0 ? memchr(buf, '\n', have) : NULL;
    if (eol != NULL && eol > buf && eol[-1] == '\r') {
      size_t line = (size_t)(eol - buf) + 1; /* header with CRLF */
      if (buf[0] == '+') kind = RAW_STATUS;
      else if (buf[0] == '-') kind = RAW_ERROR;
      else if (buf[0] == ':') kind = RAW_INT;
      else if (buf[0] == '$') {
        long n = strtol((const char *)buf + 1, NULL, 10);
        if (n == -1) kind = RAW_NIL;
        else if (n >= 0 && (size_t)n <= cap && line + (size_t)n + 2 <= sizeof buf) {
          if (have < line + (size_t)n + 2) goto more;
          memcpy(out, buf + line, (size_t)n);
          *out_len = (size_t)n;
          kind = RAW_BULK;
        }
      }
      break;
    }
  more:
    if (have == sizeof buf) break;
    {
      ssize_t n = read(c->fd, buf + have, sizeof buf - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break; /* timeout (EAGAIN), error, or closed */
      have += (size_t)n;
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return kind;
}

/* ---- the pool ------------------------------------------------------ */

/* The connection failed: drop it, and back off the whole pool (100 ms,
   doubling to 5 s) so that calls answer at once while Redis is away. */
static void slot_fail(tern_redis *r, slot *s, const char *what) {
  unsigned b = atomic_load(&r->backoff_ms);
  b = b == 0 ? BACKOFF_FIRST_MS : b * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b * 2;
  atomic_store(&r->backoff_ms, b);
  atomic_store(&r->down_until, mono_ms() + b);
  note_error(r, "%s (next try in %u ms)", what, b);
  if (s->ctx != NULL) redisFree(s->ctx);
  s->ctx = NULL;
}

/* Connects s (with the timeout, then AUTH when there is a password).
   0, or -1 after slot_fail. */
static int slot_connect(tern_redis *r, slot *s) {
  struct timeval tv = {(time_t)(r->timeout_ms / 1000), (suseconds_t)(r->timeout_ms % 1000) * 1000};
  char what[420];
  s->ctx = r->port ? redisConnectWithTimeout(r->host, r->port, tv)
                   : redisConnectUnixWithTimeout(r->host, tv);
  if (s->ctx == NULL || s->ctx->err) {
    const char *why = s->ctx ? s->ctx->errstr : "out of memory";
    if (r->port) snprintf(what, sizeof what, "connect to %s:%d: %s", r->host, r->port, why);
    else snprintf(what, sizeof what, "connect to unix:%s: %s", r->host, why);
    slot_fail(r, s, what);
    return -1;
  }
  if (redisSetTimeout(s->ctx, tv) != REDIS_OK) {
    slot_fail(r, s, "cannot set the socket timeout");
    return -1;
  }
  if (r->password != NULL) {
    const char *argv[2] = {"AUTH", r->password};
    size_t lens[2] = {4, r->password_len};
    uint8_t ignored[1];
    size_t n;
    int k = raw_send(s->ctx, 2, argv, lens) == 0 ? raw_reply(s->ctx, ignored, 0, &n) : RAW_FAIL;
    if (k != RAW_STATUS) {
      slot_fail(r, s, k == RAW_ERROR ? "AUTH refused" : "AUTH: no answer in time");
      return -1;
    }
  }
  atomic_fetch_add(&r->connects, 1);
  atomic_store(&r->backoff_ms, 0);
  atomic_store(&r->down_until, 0);
  return 0;
}

/*
 * A connected slot, locked, or NULL when Redis is in its backoff or
 * cannot be reached now. A free slot is taken first; when every one is
 * busy, the caller waits for one (each holder spends at most a timeout).
 */
static slot *slot_get(tern_redis *r, int *fresh) {
  unsigned n = r->pool_size, start = atomic_fetch_add(&r->next_slot, 1) % n;
  slot *s = NULL;
  for (unsigned i = 0; i < n && s == NULL; i++)
    if (pthread_mutex_trylock(&r->pool[(start + i) % n].lock) == 0) s = &r->pool[(start + i) % n];
  if (s == NULL) {
    s = &r->pool[start];
    pthread_mutex_lock(&s->lock);
  }
  *fresh = s->ctx == NULL;
  if (s->ctx == NULL && (mono_ms() < atomic_load(&r->down_until) || slot_connect(r, s) != 0)) {
    pthread_mutex_unlock(&s->lock);
    return NULL;
  }
  return s;
}

/* A kept connection failed its call: drop it and connect again at once
   (no backoff yet: a Redis that restarted is there). 0, or -1 with the
   connection gone and the pool backing off. */
static int slot_reconnect(tern_redis *r, slot *s) {
  note_error(r, "a kept connection failed: %s", s->ctx->errstr[0] ? s->ctx->errstr : "closed");
  redisFree(s->ctx);
  s->ctx = NULL;
  return slot_connect(r, s);
}

static void slot_put(slot *s) { pthread_mutex_unlock(&s->lock); }

/* ---- the replay store ----------------------------------------------- */

/* How long the record of a use must last: a replay later than twice the
   freshness window (plus a second of clock skew between servers) fails
   the ticket-age check (RFC 8446 §8.3), and a ticket is of no use past
   its lifetime. */
static uint64_t record_ttl(const tern_redis *r, uint64_t now, uint64_t expires) {
  uint64_t ttl = 2 * (uint64_t)r->window_ms + 1000;
  if (expires > now && expires - now < ttl) ttl = expires - now;
  return ttl == 0 ? 1 : ttl;
}

/* tern's replay hook: 1 first use, 0 seen, -1 Redis unavailable. */
static int replay_store(void *user, const uint8_t id[32], uint64_t now, uint64_t expires) {
  static const char hex[] = "0123456789abcdef";
  tern_redis *r = user;
  char key[MAX_PREFIX + 3 + 64 + 1], what[200];
  size_t p = strlen(r->prefix);
  redisReply *reply;
  slot *s;
  int answer = -1, fresh;
  atomic_fetch_add(&r->replay_checks, 1);
  memcpy(key, r->prefix, p);
  memcpy(key + p, "rp:", 3);
  for (int i = 0; i < 32; i++) {
    key[p + 3 + 2 * i] = hex[id[i] >> 4];
    key[p + 4 + 2 * i] = hex[id[i] & 15];
  }
  key[p + 3 + 64] = '\0';
  if ((s = slot_get(r, &fresh)) == NULL) goto out;
  /* one atomic round trip: recorded only if absent (NX); kept for good
     when tern asks so (an external PSK's ClientHello, no expiry) */
#ifndef TERN_REDIS_BROKEN_NO_NX
#define NX " NX"
#else
#define NX "" /* the negative test's build: every SET "succeeds" */
#endif
  for (;;) {
    if (expires == UINT64_MAX) reply = redisCommand(s->ctx, "SET %s 1" NX, key);
    else
      reply = redisCommand(s->ctx, "SET %s 1" NX " PX %llu", key,
                           (unsigned long long)record_ttl(r, now, expires));
    if (reply != NULL || fresh || slot_reconnect(r, s) != 0) break;
    fresh = 1; /* a kept connection broke (Redis restarted?): once more on a new one */
  }
  if (reply == NULL) {
    if (s->ctx != NULL) {
      snprintf(what, sizeof what, "SET NX: %s",
               s->ctx->errstr[0] ? s->ctx->errstr : "no answer");
      slot_fail(r, s, what);
    }
  } else {
    if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0) answer = 1;
    else if (reply->type == REDIS_REPLY_NIL) answer = 0;
    else note_error(r, "SET NX: %s", reply->type == REDIS_REPLY_ERROR ? reply->str : "odd reply");
    freeReplyObject(reply);
  }
  slot_put(s);
out:
  if (answer == 1) atomic_fetch_add(&r->replay_first, 1);
  else if (answer == 0) atomic_fetch_add(&r->replay_seen, 1);
  else atomic_fetch_add(&r->replay_unavailable, 1);
  return answer;
}

/* ---- the ticket key ring -------------------------------------------- */

/* The Redis key of period p's ticket key. */
static size_t ring_key(const tern_redis *r, uint64_t p, char *out, size_t cap) {
  int n = snprintf(out, cap, "%stk:%llu", r->prefix, (unsigned long long)p);
  return n < 0 ? 0 : (size_t)n;
}

/*
 * Reads period p's key into v; when absent and create is set, makes one
 * (SET NX with a lifetime of three periods, so a server still on the
 * previous period finds it) and reads back whichever server's won.
 * 1 when v holds a key, 0 when absent, -1 when Redis failed (counted).
 */
static int ring_fetch(tern_redis *r, slot *s, uint64_t p, int create, uint8_t v[RING_VALUE_LEN]) {
  char key[MAX_PREFIX + 32], ttl[32];
  size_t klen = ring_key(r, p, key, sizeof key), n = 0;
  for (int round = 0; round < 2; round++) {
    const char *get[2] = {"GET", key};
    size_t get_lens[2] = {3, klen};
    int k = raw_send(s->ctx, 2, get, get_lens) == 0 ? raw_reply(s->ctx, v, RING_VALUE_LEN, &n)
                                                    : RAW_FAIL;
    if (k == RAW_BULK && n == RING_VALUE_LEN) return 1;
    if (k == RAW_BULK || k == RAW_ERROR) {
      note_error(r, "ticket key %s: %s", key, k == RAW_ERROR ? "error reply" : "not 48 bytes");
      return -1;
    }
    if (k != RAW_NIL) {
      slot_fail(r, s, "GET ticket key: no answer in time, or not a key");
      return -1;
    }
    if (!create || round == 1) return 0;
    /* absent: offer a fresh key; the first server's SET NX wins */
    if (RAND_bytes(v, RING_VALUE_LEN) != 1) {
      note_error(r, "no random bytes for a ticket key");
      return -1;
    }
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)r->rotate_s * 3000ull);
    {
      const char *set[6] = {"SET", key, (const char *)v, "NX", "PX", ttl};
      size_t set_lens[6] = {3, klen, RING_VALUE_LEN, 2, 2, strlen(ttl)};
      uint8_t ignored[1];
      k = raw_send(s->ctx, 6, set, set_lens) == 0 ? raw_reply(s->ctx, ignored, 0, &n) : RAW_FAIL;
    }
    OPENSSL_cleanse(v, RING_VALUE_LEN);
    if (k != RAW_STATUS && k != RAW_NIL) {
      if (k == RAW_FAIL) slot_fail(r, s, "SET ticket key: no answer in time");
      else note_error(r, "SET ticket key %s: error reply", key);
      return -1;
    }
  }
  return 0;
}

/* Installs a ring value as cfg's current ticket key, then wipes it. */
static int ring_install(tern_redis *r, uint64_t p, uint8_t v[RING_VALUE_LEN]) {
  int rc = tern_config_set_ticket_key(r->cfg, v, v + KEY_NAME_LEN);
  OPENSSL_cleanse(v, RING_VALUE_LEN);
  if (rc != TERN_OK) {
    note_error(r, "ticket key of period %llu: %s", (unsigned long long)p, tern_strerror(rc));
    return -1;
  }
  r->period = p;
  atomic_store(&r->key_period, p);
  atomic_fetch_add(&r->key_installs, 1);
  return 0;
}

/* The ring's work of one poll, with a connection; 0 or -1. */
static int ring_poll(tern_redis *r, slot *s, uint64_t now_ms) {
  uint8_t v[RING_VALUE_LEN];
  uint64_t p = now_ms / ((uint64_t)r->rotate_s * 1000);
  int k;
  if (r->period < p) {
    /* behind (or new): the previous period's key first, if any, so
       tickets it sealed still open; then this period's */
    if (r->period + 1 < p) {
      if ((k = ring_fetch(r, s, p - 1, 0, v)) < 0) return -1;
      if (k == 1 && ring_install(r, p - 1, v) < 0) return -1;
    }
    if ((k = ring_fetch(r, s, p, 1, v)) < 0) return -1;
    if (k == 0) {
      note_error(r, "ticket key of period %llu vanished", (unsigned long long)p);
      return -1;
    }
    return ring_install(r, p, v);
  }
  /* up to date by our clock: a server whose clock runs ahead may have
     made the next key; take it now rather than at our own boundary */
  if ((k = ring_fetch(r, s, r->period + 1, 0, v)) < 0) return -1;
  return k == 1 ? ring_install(r, r->period + 1, v) : 0;
}

/* ---- the public functions -------------------------------------------- */

int tern_redis_new(const tern_redis_options *o, tern_redis **out) {
  tern_redis *r;
  const char *prefix;
  if (out == NULL) return TERN_ERR_INVALID_ARG;
  *out = NULL;
  if (o == NULL || o->address == NULL || o->pool_size > MAX_POOL || o->timeout_ms > 60000 ||
      o->rotate_s > 7 * 86400)
    return TERN_ERR_INVALID_ARG;
  prefix = o->prefix ? o->prefix : "tern:";
  if (strlen(prefix) > MAX_PREFIX) return TERN_ERR_INVALID_ARG;
  r = calloc(1, sizeof *r);
  if (r == NULL) return TERN_ERR_NOMEM;
  if (parse_address(r, o->address) < 0) {
    free(r);
    return TERN_ERR_INVALID_ARG;
  }
  strcpy(r->prefix, prefix);
  r->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  r->pool_size = o->pool_size ? o->pool_size : DEFAULT_POOL;
  r->rotate_s = o->rotate_s;
  r->window_ms = o->window_ms ? o->window_ms : DEFAULT_WINDOW_MS;
  pthread_mutex_init(&r->ring_lock, NULL);
  pthread_mutex_init(&r->err_lock, NULL);
  if (o->password != NULL && o->password[0] != '\0') {
    r->password_len = strlen(o->password);
    if ((r->password = OPENSSL_malloc(r->password_len + 1)) == NULL) goto nomem;
    memcpy(r->password, o->password, r->password_len + 1);
  }
  if ((r->pool = calloc(r->pool_size, sizeof *r->pool)) == NULL) goto nomem;
  for (unsigned i = 0; i < r->pool_size; i++) pthread_mutex_init(&r->pool[i].lock, NULL);
  *out = r;
  return TERN_OK;
nomem:
  tern_redis_free(r);
  return TERN_ERR_NOMEM;
}

int tern_redis_attach(tern_redis *r, tern_config *cfg) {
  int rc;
  if (r == NULL || cfg == NULL || r->cfg != NULL) return TERN_ERR_INVALID_ARG;
  if ((rc = tern_config_set_replay_store(cfg, 1, replay_store, r)) != TERN_OK) return rc;
  r->cfg = cfg;
  return TERN_OK;
}

int tern_redis_poll(tern_redis *r, uint64_t now_ms) {
  slot *s;
  int rc = 0, fresh;
  if (r == NULL || r->cfg == NULL) return TERN_ERR_STATE;
  if (r->rotate_s == 0) return TERN_OK;
  pthread_mutex_lock(&r->ring_lock);
  if ((s = slot_get(r, &fresh)) == NULL) rc = -1;
  else {
    /* a kept connection that broke is tried once more on a new one */
    if ((rc = ring_poll(r, s, now_ms)) != 0 && !fresh && s->ctx == NULL &&
        slot_connect(r, s) == 0)
      rc = ring_poll(r, s, now_ms);
    slot_put(s);
  }
  pthread_mutex_unlock(&r->ring_lock);
  return rc == 0 ? TERN_OK : TERN_REDIS_ERR_UNAVAILABLE;
}

void tern_redis_stats_get(tern_redis *r, tern_redis_stats *st) {
  if (r == NULL || st == NULL) return;
  memset(st, 0, sizeof *st);
  st->replay_checks = atomic_load(&r->replay_checks);
  st->replay_first = atomic_load(&r->replay_first);
  st->replay_seen = atomic_load(&r->replay_seen);
  st->replay_unavailable = atomic_load(&r->replay_unavailable);
  st->errors = atomic_load(&r->errors);
  st->connects = atomic_load(&r->connects);
  st->key_installs = atomic_load(&r->key_installs);
  st->key_period = atomic_load(&r->key_period);
  pthread_mutex_lock(&r->err_lock);
  memcpy(st->last_error, r->last_error, sizeof st->last_error);
  pthread_mutex_unlock(&r->err_lock);
}

void tern_redis_free(tern_redis *r) {
  if (r == NULL) return;
  if (r->pool != NULL) {
    for (unsigned i = 0; i < r->pool_size; i++) {
      if (r->pool[i].ctx != NULL) redisFree(r->pool[i].ctx);
      pthread_mutex_destroy(&r->pool[i].lock);
    }
    free(r->pool);
  }
  if (r->password != NULL) OPENSSL_clear_free(r->password, r->password_len + 1);
  pthread_mutex_destroy(&r->ring_lock);
  pthread_mutex_destroy(&r->err_lock);
  free(r);
}
