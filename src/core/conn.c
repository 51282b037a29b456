/*
 * core/conn.c - core layer: making a connection and the primitives every
 * role and transport uses on it: sticky failure, the queue of our own
 * events, random bytes, the transcript, sending a handshake message and
 * installing a secret (through the transport's table), keylog lines, the
 * clock and the read level. Nothing here knows which role or transport
 * a connection has.
 */
/* MAP_ANONYMOUS and MADV_WIPEONFORK (the random pool) are outside POSIX */
#define _DEFAULT_SOURCE 1

#include "core/conn.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* A configuration is shared by connections that may live on several
   threads (a server's workers): its reference count moves atomically. */
void tern_config_hold(tern_config *cfg) { __atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED); }

int tern_config_release_ref(tern_config *cfg) {
  return __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) == 0;
}

tern_conn *tern_conn_alloc(tern_config *cfg, const tern_role_machine *machine, void *user) {
  tern_conn *c;
  if (cfg == NULL || machine == NULL) return NULL;
  c = OPENSSL_zalloc(sizeof *c);
  if (c == NULL) return NULL;
  c->hs = OPENSSL_zalloc(sizeof *c->hs);
  if (c->hs == NULL) {
    OPENSSL_free(c);
    return NULL;
  }
  c->alpn = c->hs->alpn;
  c->server_name = c->hs->server_name;
  tern_config_hold(cfg);
  c->cfg = cfg;
  c->role = cfg->role;
  c->user = user;
  c->machine = machine;
  c->cs = machine->start();
  c->read_level = TERN_LEVEL_INITIAL;
  c->write_level = TERN_LEVEL_INITIAL;
  c->own_chain = cfg->chain;
  /* the early-data context is empty until the application sets one */
  memcpy(c->early_ctx, tern_hash_get(TERN_HASH_SHA256)->empty_hash, sizeof c->early_ctx);
  return c;
}

int tern_conn_fail(tern_conn *c, uint8_t alert, const char *fmt, ...) {
  va_list ap;
  if (c->error) return TERN_ERR_ALERT; /* the first failure wins */
  c->error = TERN_ERR_ALERT;
  c->alert = alert;
  if (c->detail == NULL) c->detail = OPENSSL_malloc(TERN_DETAIL_LEN);
  if (c->detail != NULL) {
    va_start(ap, fmt);
    vsnprintf(c->detail, TERN_DETAIL_LEN, fmt, ap);
    va_end(ap);
  }
  return TERN_ERR_ALERT;
}

void tern_conn_report_failure(tern_conn *c) {
  if (c->error && c->transport != NULL && c->transport->report_failure != NULL)
    c->transport->report_failure(c);
}

int tern_conn_push_event(tern_conn *c, unsigned char ev) {
  if (c->n_pending >= TERN_PENDING_EVENTS)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "event queue overflow");
  c->pending[c->n_pending++] = ev;
  return TERN_OK;
}

/*
 * Random bytes drawn ahead, per thread: each RAND_bytes call costs about
 * 2 us on a virtual machine whatever the length up to a kilobyte (the
 * DRBG's lock and fork check, a getpid system call), so one call fills
 * TERN_RAND_POOL bytes that a dozen handshake sides use (a side's random,
 * key share and ticket nonce are about 80 bytes). Bytes handed out are
 * wiped from the pool. The pool lives in a page of its own marked
 * MADV_WIPEONFORK: a child of fork() finds it zeroed, and so empty, and
 * can never repeat its parent's randoms or private keys. Where the kernel
 * refuses the mark (before Linux 4.14) there is no pool and every draw is
 * one RAND_bytes call. The page is wiped and unmapped when the thread ends.
 */
#define TERN_RAND_POOL 1024

typedef struct rand_pool {
  size_t left;                  /* unused bytes, at the end of bytes[] */
  uint8_t bytes[TERN_RAND_POOL];
} rand_pool;

static pthread_key_t pool_key;
static int pool_key_ok;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static __thread rand_pool *pool_tls;
static __thread int pool_refused; /* this thread could not have one */

/* Wipes and unmaps one thread's pool (the key's destructor). */
static void pool_free(void *p) {
  if (p == NULL) return;
  OPENSSL_cleanse(p, sizeof(rand_pool));
  munmap(p, (size_t)sysconf(_SC_PAGESIZE));
}

/* Makes the key whose destructor frees a thread's pool. */
static void pool_key_make(void) { pool_key_ok = pthread_key_create(&pool_key, pool_free) == 0; }

/* This thread's pool, mapped on first use; NULL when it cannot be. */
static rand_pool *pool_get(void) {
  long page = sysconf(_SC_PAGESIZE);
  rand_pool *p = pool_tls;
  void *m;
  if (p != NULL || pool_refused) return p;
  pool_refused = 1;
  if (page < (long)sizeof(rand_pool) || pthread_once(&pool_once, pool_key_make) != 0 ||
      !pool_key_ok)
    return NULL;
  m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return NULL;
#ifdef MADV_WIPEONFORK
  if (madvise(m, (size_t)page, MADV_WIPEONFORK) == 0 && pthread_setspecific(pool_key, m) == 0) {
    pool_refused = 0;
    return pool_tls = m; /* zero-filled: left == 0 */
  }
#endif
  munmap(m, (size_t)page);
  return NULL;
}

/*
 * tern_conn_draw: len random bytes for c from the configured source, or,
 * without one, from this thread's pool (above), refilled by one
 * RAND_bytes call when it runs short. Draws longer than the pool, and
 * every draw of a thread without one, go to RAND_bytes directly. 0 or -1,
 * as a tern_random_fn.
 */
int tern_conn_draw(void *conn, uint8_t *out, size_t len) {
  tern_conn *c = conn;
  rand_pool *p;
  uint8_t *from;
  if (c->cfg->random_fn) return c->cfg->random_fn(c->cfg->random_ctx, out, len) == 0 ? 0 : -1;
  if (len > TERN_RAND_POOL || (p = pool_get()) == NULL)
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
  if (len > p->left) {
    if (RAND_bytes(p->bytes, (int)sizeof p->bytes) != 1) return -1;
    p->left = sizeof p->bytes;
  }
  from = p->bytes + sizeof p->bytes - p->left;
  memcpy(out, from, len);
  OPENSSL_cleanse(from, len);
  p->left -= len;
  return 0;
}

int tern_conn_random(tern_conn *c, uint8_t *out, size_t len) {
  if (tern_conn_draw(c, out, len) != 0)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR,
                          c->cfg->random_fn ? "random source failed" : "RAND_bytes failed");
  return TERN_OK;
}

int tern_conn_transcript_add(tern_conn *c, const uint8_t *msg, size_t len) {
  if (tern_transcript_update(&c->hs->transcript, msg, len) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "transcript hash failed");
  return TERN_OK;
}

int tern_conn_send_msg(tern_conn *c, const uint8_t *msg, size_t len) {
  int rc;
  /* after the handshake only a post-handshake authentication is hashed */
  if (c->hs != NULL && c->hs->transcript_ready && (!c->done || c->pha_active) &&
      (rc = tern_conn_transcript_add(c, msg, len)) != TERN_OK)
    return rc;
  if (c->transport == NULL)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "a connection with no transport");
  rc = c->transport->send_handshake(c, msg, len);
  if (rc != TERN_OK && !c->error)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "%s transport refused a message",
                          c->transport->name);
  return rc;
}

int tern_conn_send_msg_hashing(tern_conn *c, const uint8_t *wire, size_t wire_len,
                               const uint8_t *hashed, size_t hashed_len) {
  int rc;
  if (c->hs != NULL && c->hs->transcript_ready && (!c->done || c->pha_active) &&
      (rc = tern_conn_transcript_add(c, hashed, hashed_len)) != TERN_OK)
    return rc;
  if (c->transport == NULL)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "a connection with no transport");
  rc = c->transport->send_handshake(c, wire, wire_len);
  if (rc != TERN_OK && !c->error)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "%s transport refused a message",
                          c->transport->name);
  return rc;
}

void tern_conn_keylog(tern_conn *c, const char *label, const uint8_t *secret, size_t len) {
  /* "LABEL <64 hex client_random> <hex secret>" */
  char line[64 + 1 + 64 + 1 + 2 * TERN_MAX_HASH_LEN + 1];
  size_t n;
  static const char hexd[] = "0123456789abcdef";
  /* (secrets come out during the handshake, or over TCP, which keeps
     c->hs: never without the client_random) */
  if (c->cfg->keylog_fn == NULL || label == NULL || c->hs == NULL) return;
  n = (size_t)snprintf(line, sizeof line, "%s ", label);
  if (n >= 64) return;
  for (size_t i = 0; i < 32; i++) {
    line[n++] = hexd[c->hs->client_random[i] >> 4];
    line[n++] = hexd[c->hs->client_random[i] & 15];
  }
  line[n++] = ' ';
  for (size_t i = 0; i < len; i++) {
    line[n++] = hexd[secret[i] >> 4];
    line[n++] = hexd[secret[i] & 15];
  }
  line[n] = 0;
  c->cfg->keylog_fn(c, line, c->cfg->keylog_user);
  OPENSSL_cleanse(line, sizeof line);
}

int tern_conn_install_secret(tern_conn *c, tern_level level, tern_direction dir,
                             const uint8_t *secret, const char *keylog_label) {
  /* 0-RTT secrets may come before the suite is negotiated (client). */
  const tern_suite *s = level == TERN_LEVEL_EARLY ? c->early_suite : c->suite;
  int rc;
  tern_conn_keylog(c, keylog_label, secret, s->hash->len);
  if (c->transport == NULL)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "a connection with no transport");
  rc = c->transport->install_secret(c, level, dir, s, secret);
  if (rc != TERN_OK) return c->error ? c->error : rc;
  /* handshake messages never travel under 0-RTT keys in QUIC */
  if (dir == TERN_WRITE && level > c->write_level && level != TERN_LEVEL_EARLY)
    c->write_level = level;
  return TERN_OK;
}

int tern_config_has_suite(const tern_config *cfg, uint16_t suite) {
  for (size_t i = 0; i < cfg->n_suites; i++)
    if (cfg->suites[i] == suite) return 1;
  return 0;
}

int tern_conn_suite_usable(const tern_conn *c, uint16_t suite) {
  const tern_suite *s = tern_suite_get(suite);
  /* RFC 9001 §5.3: QUIC never negotiates TLS_AES_128_CCM_8_SHA256 */
  return s != NULL && tern_config_has_suite(c->cfg, suite) && (!c->quic || s->quic);
}

int tern_conn_now(const tern_conn *c, uint64_t *now) {
  if (c->now_set) {
    *now = c->now_ms;
    return TERN_OK;
  }
  if (c->cfg->clock_fn != NULL) {
    *now = c->cfg->clock_fn(c->cfg->clock_user);
    return TERN_OK;
  }
  return TERN_ERR_STATE;
}

tern_ech_conn *tern_conn_ech(tern_conn *c) {
  if (c->ech == NULL) c->ech = OPENSSL_zalloc(sizeof *c->ech);
  return c->ech;
}

tern_kex *tern_conn_kex(tern_conn *c) {
  if (c->hs->kex == NULL) c->hs->kex = OPENSSL_zalloc(sizeof *c->hs->kex);
  return c->hs->kex;
}

void tern_conn_kex_free(tern_conn *c) {
  tern_kex *k = c->hs != NULL ? c->hs->kex : NULL;
  if (k == NULL) return;
  for (size_t i = 0; i < TERN_MAX_SHARES; i++) tern_key_share_free(&k->shares[i]);
  tern_share_copy_clear(&k->peer_share);
  OPENSSL_clear_free(k, sizeof *k);
  c->hs->kex = NULL;
  c->hs->n_shares = 0;
}

/* Wipes and frees the handshake state and what it owns (the engine has
   freed its own parts). */
static void hs_destroy(tern_conn *c) {
  tern_hs *hs = c->hs;
  tern_conn_kex_free(c);
  tern_transcript_free(&hs->transcript);
  if (c->pha_active) tern_transcript_free(&hs->hs_transcript);
  tern_keysched_wipe(&hs->ks);
  EVP_PKEY_free(hs->peer_key);
  OPENSSL_free(hs->pha_leaf);
  OPENSSL_free(hs->tp);
  if (hs->ch1) OPENSSL_clear_free(hs->ch1, hs->ch1_len);
  OPENSSL_free(hs->cookie);
  OPENSSL_clear_free(hs, sizeof *hs);
  c->hs = NULL;
}

int tern_conn_hs_release(tern_conn *c) {
  tern_hs *hs = c->hs;
  size_t alpn_len, sn_len, size;
  tern_kept *k;
  if (hs == NULL) return TERN_OK;
  alpn_len = strlen(hs->alpn);
  sn_len = strlen(hs->server_name);
  size = sizeof *k + alpn_len + 1 + sn_len + 1;
  if (c->early_exporter_ready) size += TERN_MAX_HASH_LEN;
  if ((k = OPENSSL_zalloc(size)) == NULL) return TERN_ERR_NOMEM;
  k->size = size;
  memcpy(k->exporter, hs->ks.exporter, sizeof k->exporter);
  memcpy(k->resumption, hs->ks.resumption, sizeof k->resumption);
  if (c->early_exporter_ready) {
    k->early_exporter = (uint8_t *)k + size - TERN_MAX_HASH_LEN;
    memcpy(k->early_exporter, hs->ks.early_exporter, TERN_MAX_HASH_LEN);
  }
  memcpy(k->names, hs->alpn, alpn_len + 1);
  memcpy(k->names + alpn_len + 1, hs->server_name, sn_len + 1);
  c->kept = k;
  c->alpn = k->names;
  c->server_name = k->names + alpn_len + 1;
  hs_destroy(c);
  return TERN_OK;
}

void tern_conn_hs_free(tern_conn *c) {
  if (c->hs != NULL) hs_destroy(c);
  if (c->kept != NULL) OPENSSL_clear_free(c->kept, c->kept->size);
  c->kept = NULL;
}
