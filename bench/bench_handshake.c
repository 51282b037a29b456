/*
 * bench_handshake.c - full TLS 1.3 handshakes per second and heap per
 * connection pair, tern next to OpenSSL's libssl and GnuTLS in one run.
 *
 * Every library does the same handshake, client and server in memory in
 * one thread: X25519, TLS_AES_128_GCM_SHA256, an ECDSA P-256 leaf for
 * "localhost" signed by a P-256 root CA (one PKI for all three), ALPN
 * "h3", SNI "localhost", the client verifying the chain against the CA
 * and the host name; no session tickets, no session cache, no
 * middlebox-compatibility ChangeCipherSpec.
 *   - tern:    QUIC mode, the in-memory pair of tests/qpair.c;
 *   - OpenSSL: SSL objects over two shared memory BIOs;
 *   - GnuTLS:  sessions over push/pull functions on in-memory buffers.
 * (OpenSSL and GnuTLS also run their TLS record layer, which tern in QUIC
 * mode leaves to the QUIC stack: about four AES-GCM records a handshake.)
 *
 * Rates are taken in interleaved rounds (tern, OpenSSL, GnuTLS, tern with
 * a cold certificate cache, the three resuming, tern, ...) and the best
 * round of each is reported, with the ratios. Time is the process's CPU
 * time (one thread), so handshakes per second are per second of CPU.
 * Heap per pair: N pairs are all advanced to the same point mid-handshake
 * (the server has sent its flight, the client has processed it and sent
 * its Finished, the server has not read it) and glibc's mallinfo2() is
 * read before and after;
 * the bytes of the harness's own transport buffers are reported apart.
 * Allocations per handshake are counted by replacing malloc (all
 * libraries) and libcrypto's allocator (libcrypto, libssl and the part of
 * tern that uses OPENSSL_malloc).
 *
 * Resumed handshakes (psk_dhe_ke, the default of all three) are timed the
 * same way, with the same algorithms, each connection offering a ticket
 * no connection used before: the pool of sessions is filled once by full
 * handshakes, untimed, and then fed only by the tickets the resumed
 * connections themselves issue (each server's default count: after a
 * resumption tern and GnuTLS send two, OpenSSL one; the report shows the
 * count each client read). The client reads those tickets inside the timed
 * handshake, and every timed connection must have resumed on both sides
 * or the benchmark stops.
 *   - tern:    tern_conn_set_session with a blob from the new-session
 *              callback (single-use tickets; the pool keeps both);
 *   - OpenSSL: SSL_set_session with the SSL_SESSION of SSL_get1_session,
 *              taken after SSL_read has processed the tickets;
 *   - GnuTLS:  gnutls_session_set_data with gnutls_session_get_data2,
 *              taken after gnutls_record_recv has processed the ticket.
 *
 * Usage: bench_handshake [--quick] [--seconds S] [--pairs N]
 *          [--only tern|openssl|gnutls|tern-cold|tern-resume|openssl-resume|gnutls-resume]
 * (--only times one library and skips the rest, e.g. under perf record.)
 * Exits 0 when every handshake succeeded (targets missed or not: this is
 * a report), 1 when any handshake or the setup failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <gnutls/gnutls.h>

#include <tern.h>

#include "pki.h"
#include "qpair.h"

#define HOST "localhost"
#define TARGET_RATIO 1.5
#define TARGET_HEAP 8192.0

/* ------------------------------------------------------------------ */
/* Allocation counting and heap measurement                            */
/* ------------------------------------------------------------------ */

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define BENCH_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BENCH_SANITIZED 1
#endif

#if defined(__GLIBC__) && !defined(BENCH_SANITIZED)
/* glibc lets the program replace malloc; the replacements hand every call
   on to glibc's own allocator and count it. */
#define BENCH_COUNT_MALLOC 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static unsigned long long n_malloc; /* malloc, calloc and realloc calls */

void *malloc(size_t n) {
  n_malloc++;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  n_malloc++;
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  n_malloc++;
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
#endif

#if defined(__GLIBC__) && !defined(BENCH_SANITIZED) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define BENCH_HEAP 1
/* heap_in_use: bytes in malloc'd chunks, mmapped ones included. */
static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/* chunk_bytes: what the malloc'd block p takes out of uordblks. */
static size_t chunk_bytes(const void *p, size_t cap) {
  (void)cap;
  return p ? malloc_usable_size((void *)p) + sizeof(size_t) : 0;
}
#else
static size_t heap_in_use(void) { return 0; }
static size_t chunk_bytes(const void *p, size_t cap) { return p ? cap : 0; }
#endif

static unsigned long long n_crypto_malloc; /* through OPENSSL_malloc */
static int crypto_counting;

static void *count_crypto_malloc(size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  n_crypto_malloc++;
  return malloc(n);
}

static void *count_crypto_realloc(void *p, size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  n_crypto_malloc++;
  return realloc(p, n);
}

static void count_crypto_free(void *p, const char *file, int line) {
  (void)file;
  (void)line;
  free(p);
}

/* A snapshot of the allocation counters. */
typedef struct allocs {
  unsigned long long all, crypto;
} allocs;

static allocs allocs_now(void) {
  allocs a = {0, n_crypto_malloc};
#ifdef BENCH_COUNT_MALLOC
  a.all = n_malloc;
#endif
  return a;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void die(const char *what) {
  fprintf(stderr, "bench_handshake: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  exit(1);
}

/* now: the process's CPU time, so that a shared, busy machine (time when
   this process is not running) does not skew the ratios; everything runs
   in this one thread. */
static double now(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One growable in-memory byte pipe (the GnuTLS transport). */
typedef struct pipe_buf {
  uint8_t *d;
  size_t len, off, cap;
} pipe_buf;

static int pipe_put(pipe_buf *p, const void *data, size_t n) {
  if (p->len + n > p->cap) {
    size_t cap = p->cap ? p->cap : 1024;
    uint8_t *nb;
    while (cap < p->len + n) cap *= 2;
    nb = realloc(p->d, cap);
    if (nb == NULL) return -1;
    p->d = nb;
    p->cap = cap;
  }
  memcpy(p->d + p->len, data, n);
  p->len += n;
  return 0;
}

static size_t pipe_get(pipe_buf *p, void *out, size_t n) {
  size_t k = p->len - p->off;
  if (k > n) k = n;
  if (k == 0) return 0;
  memcpy(out, p->d + p->off, k);
  p->off += k;
  if (p->off == p->len) p->off = p->len = 0;
  return k;
}

static void pipe_free(pipe_buf *p) {
  free(p->d);
  memset(p, 0, sizeof *p);
}

/* The indexes of a first-in first-out pool of POOL stored sessions (one
   pool per library, each holding its library's kind of session). */
#define POOL 64
typedef struct ring {
  unsigned head, n;
} ring;

/* ring_push: the slot to fill, or -1 when the pool is full. */
static int ring_push(ring *r) {
  if (r->n == POOL) return -1;
  return (int)((r->head + r->n++) % POOL);
}

/* ring_pop: the oldest slot, now empty, or -1 when there is none. */
static int ring_pop(ring *r) {
  int i;
  if (r->n == 0) return -1;
  i = (int)r->head;
  r->head = (r->head + 1) % POOL;
  r->n--;
  return i;
}

static void not_resumed(const char *lib) {
  fprintf(stderr, "bench_handshake: %s: a resumed handshake was timed but did not resume\n", lib);
  exit(1);
}

/* ------------------------------------------------------------------ */
/* tern                                                                */
/* ------------------------------------------------------------------ */

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x0f, 0x00};
static const uint8_t server_tp[] = {0x00, 0x08, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02, 0x03, 0x04};

/*
 * tern's client keeps the parses of the last 16 peer certificates it saw,
 * so in this benchmark (always the same server certificate) it parses the
 * certificate once, where libssl and GnuTLS parse it every time. The
 * "cold" run rotates the server over COLD_CERTS distinct leaves (same CA,
 * same key type), more than the cache holds, so that every handshake
 * parses the certificate as a client meeting a new server would.
 */
#define COLD_CERTS 32

static tern_config *tern_ccfg, *tern_scfg, *tern_scfg_cold[COLD_CERTS];
static unsigned tern_cold_next;
/* The same two with time and tickets, for the resumed handshakes. */
static tern_config *tern_rccfg, *tern_rscfg;

/*
 * The resumption configurations' clock, in ms. It moves 1 ms per timed
 * resumed handshake and tickets live TICKET_LIFETIME_S, so the server's
 * single-use register (16384 identities by default) settles at 10000 live
 * identities, each check expiring one as it records one: the steady state
 * of a busy server, whatever the machine's speed and the length of the run.
 */
#define TICKET_LIFETIME_S 10
static uint64_t bench_ms = 1700000000000ull;

static uint64_t bench_clock(void *user) {
  (void)user;
  return bench_ms;
}

/* The sessions the tern client was given, oldest first. */
static struct {
  uint8_t blob[TERN_SESSION_MAX_BYTES];
  size_t len;
} tern_pool[POOL];
static ring tern_ring;
static unsigned long tern_tickets_seen, tern_tickets_per_conn;

/* The new-session callback: keeps the blob while the pool has room. */
static void tern_on_session(tern_conn *c, const uint8_t *blob, size_t len,
                            uint32_t max_early, void *user) {
  int slot = ring_push(&tern_ring);
  (void)c;
  (void)max_early;
  (void)user;
  tern_tickets_seen++;
  if (slot < 0) return;
  if (len > sizeof tern_pool[slot].blob) die("tern: session blob too long");
  memcpy(tern_pool[slot].blob, blob, len);
  tern_pool[slot].len = len;
}

static tern_config *tern_server_config(X509 *leaf, STACK_OF(X509) *chain, EVP_PKEY *key) {
  static const char *const alpn[] = {"h3"};
  const uint16_t suite = TERN_TLS_AES_128_GCM_SHA256, group = TERN_GROUP_X25519;
  tern_config *cfg = tern_config_new(TERN_SERVER);
  if (cfg == NULL || tern_config_set_cert(cfg, leaf, chain, key) != TERN_OK ||
      tern_config_set_alpn(cfg, alpn, 1) != TERN_OK ||
      tern_config_set_cipher_suites(cfg, &suite, 1) != TERN_OK ||
      tern_config_set_groups(cfg, &group, 1) != TERN_OK)
    die("tern server config");
  return cfg;
}

static tern_config *tern_client_config(X509_STORE *store) {
  static const char *const alpn[] = {"h3"};
  const uint16_t suite = TERN_TLS_AES_128_GCM_SHA256, group = TERN_GROUP_X25519;
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  if (cfg == NULL || tern_config_set_trust_store(cfg, store) != TERN_OK ||
      tern_config_set_alpn(cfg, alpn, 1) != TERN_OK ||
      tern_config_set_cipher_suites(cfg, &suite, 1) != TERN_OK ||
      tern_config_set_groups(cfg, &group, 1) != TERN_OK ||
      tern_config_set_key_share_groups(cfg, &group, 1) != TERN_OK)
    die("tern client config");
  return cfg;
}

static void tern_setup(const pki *p) {
  X509_STORE *store = X509_STORE_new();
  STACK_OF(X509) *chain = pki_chain(p);

  if (store == NULL || chain == NULL || !X509_STORE_add_cert(store, p->ca)) die("tern setup");
  tern_ccfg = tern_client_config(store);
  tern_scfg = tern_server_config(p->leaf, chain, p->leaf_key);
  for (int i = 0; i < COLD_CERTS; i++) {
    EVP_PKEY *key = pki_key_new(PKI_KEY_P256);
    X509 *leaf = key ? pki_leaf_new(key, HOST, p->ca, p->ca_key, PKI_VALID_NOW) : NULL;
    if (leaf == NULL) die("making the rotating leaves");
    tern_scfg_cold[i] = tern_server_config(leaf, chain, key);
    X509_free(leaf);
    EVP_PKEY_free(key);
  }
  /* Resumption: the server's default ticket count (2), a short lifetime
     (see bench_clock); the client keeps what it is given. */
  tern_rccfg = tern_client_config(store);
  tern_rscfg = tern_server_config(p->leaf, chain, p->leaf_key);
  if (tern_config_set_clock(tern_rccfg, bench_clock, NULL) != TERN_OK ||
      tern_config_set_new_session_callback(tern_rccfg, tern_on_session, NULL) != TERN_OK ||
      tern_config_set_clock(tern_rscfg, bench_clock, NULL) != TERN_OK ||
      tern_config_set_tickets(tern_rscfg, 2, TICKET_LIFETIME_S) != TERN_OK)
    die("tern resumption config");
  sk_X509_pop_free(chain, X509_free);
  X509_STORE_free(store);
}

static void tern_teardown(void) {
  tern_config_free(tern_ccfg);
  tern_config_free(tern_scfg);
  for (int i = 0; i < COLD_CERTS; i++) tern_config_free(tern_scfg_cold[i]);
  tern_config_free(tern_rccfg);
  tern_config_free(tern_rscfg);
}

static void tern_fail(const qpair *p, int rc, const char *when) {
  const tern_conn *bad = p->c.result < 0 ? p->c.conn : p->s.conn;
  fprintf(stderr, "bench_handshake: tern handshake failed (%s): %s; client %d, server %d; "
          "alert %s; %s\n", when, tern_strerror(rc), p->c.result, p->s.result,
          tern_alert_name(tern_conn_alert(bad)), tern_conn_error_detail(bad));
  exit(1);
}

/* tern_start makes a pair of ccfg and scfg for host name `host`. */
static void tern_start(qpair *p, const char *host, tern_config *ccfg, tern_config *scfg) {
  if (qpair_init(p, ccfg, scfg, client_tp, sizeof client_tp, server_tp,
                 sizeof server_tp) != 0 ||
      tern_conn_set_server_name(p->c.conn, host) != TERN_OK)
    die("tern pair setup");
}

/* One full handshake; `check` also checks what was negotiated; `cold`
   takes the next of the rotating server certificates. */
static void tern_one(int check, int cold) {
  qpair p;
  int rc;
  tern_start(&p, HOST, tern_ccfg,
             cold ? tern_scfg_cold[tern_cold_next++ % COLD_CERTS] : tern_scfg);
  rc = qpair_run(&p);
  if (rc != TERN_OK) tern_fail(&p, rc, "full handshake");
  if (check) {
    const char *a = tern_conn_alpn(p.c.conn);
    if (tern_conn_cipher_suite(p.c.conn) != TERN_TLS_AES_128_GCM_SHA256 ||
        tern_conn_group(p.c.conn) != TERN_GROUP_X25519 ||
        tern_conn_signature_scheme(p.c.conn) != TERN_SIG_ECDSA_SECP256R1_SHA256 ||
        a == NULL || strcmp(a, "h3") != 0 || !tern_conn_handshake_done(p.s.conn))
      die("tern negotiated parameters check");
  }
  qpair_free(&p);
}

/* A handshake to the wrong host name must fail (the client verifies). */
static void tern_wrong_host(void) {
  qpair p;
  tern_start(&p, "wrong.example", tern_ccfg, tern_scfg);
  if (qpair_run(&p) == TERN_OK) die("tern: host name check (wrong name accepted)");
  qpair_free(&p);
}

/* Fills the session pool with full handshakes (untimed). */
static void tern_resume_fill(void) {
  while (tern_ring.n < POOL / 2) {
    qpair p;
    int rc;
    tern_start(&p, HOST, tern_rccfg, tern_rscfg);
    if ((rc = qpair_run(&p)) != TERN_OK) tern_fail(&p, rc, "full handshake for tickets");
    qpair_free(&p);
  }
}

/* One resumed handshake on the oldest stored session; the client reads
   the tickets the server issues (qpair_run delivers them) and the
   callback stores them. `check` also checks what was negotiated and how
   many tickets came. */
static void tern_resume_one(int check) {
  qpair p;
  unsigned long seen = tern_tickets_seen;
  int rc, slot = ring_pop(&tern_ring);
  if (slot < 0) die("tern: session pool empty");
  tern_start(&p, HOST, tern_rccfg, tern_rscfg);
  rc = tern_conn_set_session(p.c.conn, tern_pool[slot].blob, tern_pool[slot].len, bench_ms);
  if (rc != TERN_OK) tern_fail(&p, rc, "tern_conn_set_session");
  rc = qpair_run(&p);
  if (rc != TERN_OK) tern_fail(&p, rc, "resumed handshake");
  if (!tern_conn_resumed(p.c.conn) || !tern_conn_resumed(p.s.conn)) not_resumed("tern");
  if (check) {
    const char *a = tern_conn_alpn(p.c.conn);
    if (tern_conn_cipher_suite(p.c.conn) != TERN_TLS_AES_128_GCM_SHA256 ||
        tern_conn_group(p.c.conn) != TERN_GROUP_X25519 ||
        tern_conn_group(p.s.conn) != TERN_GROUP_X25519 || a == NULL || strcmp(a, "h3") != 0 ||
        !tern_conn_handshake_done(p.s.conn) || tern_tickets_seen == seen)
      die("tern resumed negotiated parameters check");
    tern_tickets_per_conn = tern_tickets_seen - seen;
  }
  qpair_free(&p);
  bench_ms++;
}

/* Stage 1: the server has sent its flight. Stage 2: the client has
   processed it and sent its Finished. */
static void tern_advance(qpair *p, int stage) {
  int rc;
  if (stage == 1) {
    tern_start(p, HOST, tern_ccfg, tern_scfg);
    rc = tern_handshake(p->c.conn);
    p->c.result = rc;
    if (rc != TERN_WANT_READ) tern_fail(p, rc, "ClientHello");
    rc = qpair_deliver(p, &p->c, &p->s, TERN_LEVEL_INITIAL);
    if (rc < 0 || p->s.result != TERN_WANT_READ) tern_fail(p, rc, "server flight");
  } else {
    rc = qpair_deliver(p, &p->s, &p->c, TERN_LEVEL_INITIAL);
    if (rc >= 0) rc = qpair_deliver(p, &p->s, &p->c, TERN_LEVEL_HANDSHAKE);
    if (rc < 0 || p->c.out_len[TERN_LEVEL_HANDSHAKE] == 0) tern_fail(p, rc, "client Finished");
  }
}

static size_t tern_transport(const qpair *p) {
  size_t n = 0;
  for (int lv = 0; lv < 4; lv++)
    n += chunk_bytes(p->c.out[lv], p->c.out_cap[lv]) + chunk_bytes(p->s.out[lv], p->s.out_cap[lv]);
  return n;
}

/* ------------------------------------------------------------------ */
/* OpenSSL libssl                                                      */
/* ------------------------------------------------------------------ */

static SSL_CTX *ossl_cctx, *ossl_sctx;
/* The same two with tickets, for the resumed handshakes. */
static SSL_CTX *ossl_rcctx, *ossl_rsctx;
static const unsigned char ossl_alpn[] = {2, 'h', '3'};

static int ossl_alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
                            const unsigned char *in, unsigned int inlen, void *arg) {
  unsigned char *sel;
  (void)s;
  (void)arg;
  if (SSL_select_next_proto(&sel, outlen, ossl_alpn, sizeof ossl_alpn, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

/* A context for one side; with `tickets`, libssl's ticket defaults
   (stateless tickets, two after a full handshake, one after a
   resumption), else none. No session cache either way: TLS 1.3 stateless
   tickets do not use it. */
static SSL_CTX *ossl_ctx(int server, int tickets) {
  SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") ||
      !SSL_CTX_set1_groups_list(ctx, "X25519") ||
      (!tickets && !SSL_CTX_set_num_tickets(ctx, 0)))
    die("OpenSSL SSL_CTX setup");
  if (!tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_clear_options(ctx, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

static void ossl_setup_pair(SSL_CTX *cctx, SSL_CTX *sctx, const pki *p) {
  if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), p->ca) ||
      SSL_CTX_set_alpn_protos(cctx, ossl_alpn, sizeof ossl_alpn) != 0)
    die("OpenSSL client setup");
  SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
  if (!SSL_CTX_use_certificate(sctx, p->leaf) || !SSL_CTX_use_PrivateKey(sctx, p->leaf_key) ||
      !SSL_CTX_check_private_key(sctx))
    die("OpenSSL server certificate");
  SSL_CTX_set_alpn_select_cb(sctx, ossl_alpn_select, NULL);
}

static void ossl_setup(const pki *p) {
  ossl_cctx = ossl_ctx(0, 0);
  ossl_sctx = ossl_ctx(1, 0);
  ossl_setup_pair(ossl_cctx, ossl_sctx, p);
  ossl_rcctx = ossl_ctx(0, 1);
  ossl_rsctx = ossl_ctx(1, 1);
  ossl_setup_pair(ossl_rcctx, ossl_rsctx, p);
}

static SSL_SESSION *ossl_pool[POOL];
static ring ossl_ring;

static void ossl_teardown(void) {
  int slot;
  while ((slot = ring_pop(&ossl_ring)) >= 0) SSL_SESSION_free(ossl_pool[slot]);
  SSL_CTX_free(ossl_cctx);
  SSL_CTX_free(ossl_sctx);
  SSL_CTX_free(ossl_rcctx);
  SSL_CTX_free(ossl_rsctx);
}

typedef struct ossl_pair {
  SSL *c, *s;
  BIO *c2s, *s2c; /* owned by the SSLs */
  int cdone, sdone;
} ossl_pair;

/* ossl_start makes a pair of cctx and sctx for host name `host`. */
static void ossl_start(ossl_pair *p, const char *host, SSL_CTX *cctx, SSL_CTX *sctx) {
  memset(p, 0, sizeof *p);
  p->c = SSL_new(cctx);
  p->s = SSL_new(sctx);
  p->c2s = BIO_new(BIO_s_mem());
  p->s2c = BIO_new(BIO_s_mem());
  if (p->c == NULL || p->s == NULL || p->c2s == NULL || p->s2c == NULL ||
      !BIO_up_ref(p->c2s) || !BIO_up_ref(p->s2c))
    die("OpenSSL pair setup");
  BIO_set_mem_eof_return(p->c2s, -1);
  BIO_set_mem_eof_return(p->s2c, -1);
  SSL_set0_rbio(p->c, p->s2c);
  SSL_set0_wbio(p->c, p->c2s);
  SSL_set0_rbio(p->s, p->c2s);
  SSL_set0_wbio(p->s, p->s2c);
  SSL_set_connect_state(p->c);
  SSL_set_accept_state(p->s);
  if (!SSL_set_tlsext_host_name(p->c, host) || !SSL_set1_host(p->c, host))
    die("OpenSSL host name");
}

static void ossl_end(ossl_pair *p) {
  SSL_free(p->c);
  SSL_free(p->s);
  memset(p, 0, sizeof *p);
}

/* ossl_step runs SSL_do_handshake on one side: 1 done, 0 wants to read,
   -1 failed. */
static int ossl_step(SSL *s, int *done) {
  int rc;
  if (*done) return 1;
  rc = SSL_do_handshake(s);
  if (rc == 1) return *done = 1;
  if (SSL_get_error(s, rc) == SSL_ERROR_WANT_READ) return 0;
  return -1;
}

/* Runs both sides until both are done; 0 or -1. */
static int ossl_run(ossl_pair *p) {
  for (int round = 0; round < 16; round++) {
    if (ossl_step(p->c, &p->cdone) < 0 || ossl_step(p->s, &p->sdone) < 0) return -1;
    if (p->cdone && p->sdone) return 0;
  }
  return -1;
}

static void ossl_one(int check) {
  ossl_pair p;
  ossl_start(&p, HOST, ossl_cctx, ossl_sctx);
  if (ossl_run(&p) != 0) {
    fprintf(stderr, "bench_handshake: OpenSSL handshake failed (verify: %s)\n",
            X509_verify_cert_error_string(SSL_get_verify_result(p.c)));
    die("OpenSSL handshake");
  }
  if (check) {
    const unsigned char *a;
    unsigned int alen;
    const SSL_CIPHER *ci = SSL_get_current_cipher(p.c);
    SSL_get0_alpn_selected(p.c, &a, &alen);
    if (SSL_version(p.c) != TLS1_3_VERSION || ci == NULL ||
        SSL_CIPHER_get_protocol_id(ci) != TERN_TLS_AES_128_GCM_SHA256 ||
        SSL_get_verify_result(p.c) != X509_V_OK || alen != 2 || memcmp(a, "h3", 2) != 0 ||
        SSL_session_reused(p.c))
      die("OpenSSL negotiated parameters check");
  }
  ossl_end(&p);
}

static void ossl_wrong_host(void) {
  ossl_pair p;
  ossl_start(&p, "wrong.example", ossl_cctx, ossl_sctx);
  if (ossl_run(&p) == 0) die("OpenSSL: host name check (wrong name accepted)");
  ossl_end(&p);
  ERR_clear_error();
}

/* The client reads what its server sent after the handshake (the
   tickets): SSL_read processes it all and, finding no application data,
   wants to read. */
static void ossl_read_tickets(ossl_pair *p) {
  unsigned char b[1];
  int rc = SSL_read(p->c, b, sizeof b);
  if (rc > 0 || SSL_get_error(p->c, rc) != SSL_ERROR_WANT_READ || BIO_ctrl_pending(p->s2c) != 0)
    die("OpenSSL reading the tickets");
}

/* Stores the client's session, which now carries the last ticket read.
   An SSL freed before its shutdown marks its session not resumable
   (ssl_clear_bad_session), so the client's close is recorded as clean,
   without a close_notify (the other two send none here either). */
static void ossl_keep_session(ossl_pair *p) {
  SSL_SESSION *sess = SSL_get1_session(p->c);
  int slot;
  SSL_set_shutdown(p->c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  if (sess == NULL || !SSL_SESSION_is_resumable(sess)) die("OpenSSL: no resumable session");
  if ((slot = ring_push(&ossl_ring)) < 0) SSL_SESSION_free(sess);
  else ossl_pool[slot] = sess;
}

static void ossl_resume_fill(void) {
  while (ossl_ring.n < POOL / 2) {
    ossl_pair p;
    ossl_start(&p, HOST, ossl_rcctx, ossl_rsctx);
    if (ossl_run(&p) != 0) die("OpenSSL full handshake for tickets");
    ossl_read_tickets(&p);
    ossl_keep_session(&p);
    ossl_end(&p);
  }
}

static unsigned long ossl_tickets_seen, ossl_tickets_per_conn;

/* A message callback that counts the NewSessionTickets a client reads. */
static void ossl_count_tickets(int write_p, int version, int content_type, const void *buf,
                               size_t len, SSL *ssl, void *arg) {
  (void)version;
  (void)ssl;
  (void)arg;
  if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      ((const unsigned char *)buf)[0] == SSL3_MT_NEWSESSION_TICKET)
    ossl_tickets_seen++;
}

/* One resumed handshake on the oldest stored session, then the client
   reads the tickets and keeps its new session. */
static void ossl_resume_one(int check) {
  ossl_pair p;
  unsigned long seen = ossl_tickets_seen;
  int slot = ring_pop(&ossl_ring);
  if (slot < 0) die("OpenSSL: session pool empty");
  ossl_start(&p, HOST, ossl_rcctx, ossl_rsctx);
  if (!SSL_set_session(p.c, ossl_pool[slot])) die("OpenSSL SSL_set_session");
  SSL_SESSION_free(ossl_pool[slot]);
  if (check) SSL_set_msg_callback(p.c, ossl_count_tickets);
  if (ossl_run(&p) != 0) die("OpenSSL resumed handshake");
  ossl_read_tickets(&p);
  if (!SSL_session_reused(p.c) || !SSL_session_reused(p.s)) not_resumed("OpenSSL");
  ossl_keep_session(&p);
  if (check) {
    const unsigned char *a;
    unsigned int alen;
    const SSL_CIPHER *ci = SSL_get_current_cipher(p.c);
    SSL_get0_alpn_selected(p.c, &a, &alen);
    if (SSL_version(p.c) != TLS1_3_VERSION || ci == NULL ||
        SSL_CIPHER_get_protocol_id(ci) != TERN_TLS_AES_128_GCM_SHA256 ||
        SSL_get_negotiated_group(p.c) != NID_X25519 ||
        SSL_get_negotiated_group(p.s) != NID_X25519 || alen != 2 || memcmp(a, "h3", 2) != 0 ||
        ossl_tickets_seen == seen)
      die("OpenSSL resumed negotiated parameters check");
    ossl_tickets_per_conn = ossl_tickets_seen - seen;
  }
  ossl_end(&p);
}

static void ossl_advance(ossl_pair *p, int stage) {
  if (stage == 1) {
    ossl_start(p, HOST, ossl_cctx, ossl_sctx);
    if (ossl_step(p->c, &p->cdone) != 0 || ossl_step(p->s, &p->sdone) != 0)
      die("OpenSSL server flight");
  } else if (ossl_step(p->c, &p->cdone) != 1 || p->sdone) {
    die("OpenSSL client Finished");
  }
}

static size_t ossl_transport(const ossl_pair *p) {
  BUF_MEM *a = NULL, *b = NULL;
  BIO_get_mem_ptr(p->c2s, &a);
  BIO_get_mem_ptr(p->s2c, &b);
  return (a ? chunk_bytes(a->data, a->max) : 0) + (b ? chunk_bytes(b->data, b->max) : 0);
}

/* ------------------------------------------------------------------ */
/* GnuTLS                                                              */
/* ------------------------------------------------------------------ */

#define GT_PRIORITY                                                               \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X25519:" \
  "%DISABLE_TLS13_COMPAT_MODE"

static gnutls_certificate_credentials_t gt_ccred, gt_scred;
static gnutls_priority_t gt_prio;
static gnutls_datum_t gt_ticket_key; /* the server's, for the resumed handshakes */
static const gnutls_datum_t gt_alpn = {(unsigned char *)"h3", 2};

typedef struct gt_end {
  gnutls_session_t s;
  pipe_buf *in, *out;
  int done;
} gt_end;

typedef struct gt_pair {
  gt_end c, s;
  pipe_buf c2s, s2c;
} gt_pair;

static ssize_t gt_push(gnutls_transport_ptr_t ptr, const void *data, size_t n) {
  gt_end *e = ptr;
  if (pipe_put(e->out, data, n) != 0) {
    gnutls_transport_set_errno(e->s, ENOMEM);
    return -1;
  }
  return (ssize_t)n;
}

static ssize_t gt_pull(gnutls_transport_ptr_t ptr, void *data, size_t n) {
  gt_end *e = ptr;
  size_t k = pipe_get(e->in, data, n);
  if (k == 0) {
    gnutls_transport_set_errno(e->s, EAGAIN);
    return -1;
  }
  return (ssize_t)k;
}

static void gt_die(const char *what, int rc) {
  fprintf(stderr, "bench_handshake: GnuTLS %s: %s\n", what, gnutls_strerror(rc));
  exit(1);
}

static void gt_setup(const char *dir) {
  char chain[512], key[512], ca[512];
  const char *err = NULL;
  int rc;
  snprintf(chain, sizeof chain, "%s/chain.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  if ((rc = gnutls_certificate_allocate_credentials(&gt_ccred)) < 0 ||
      (rc = gnutls_certificate_allocate_credentials(&gt_scred)) < 0)
    gt_die("credentials", rc);
  if ((rc = gnutls_certificate_set_x509_trust_file(gt_ccred, ca, GNUTLS_X509_FMT_PEM)) != 1)
    gt_die("trust file", rc < 0 ? rc : GNUTLS_E_FILE_ERROR);
  if ((rc = gnutls_certificate_set_x509_key_file(gt_scred, chain, key, GNUTLS_X509_FMT_PEM)) < 0)
    gt_die("certificate and key", rc);
  if ((rc = gnutls_priority_init(&gt_prio, GT_PRIORITY, &err)) < 0) {
    fprintf(stderr, "bench_handshake: GnuTLS priority error at \"%s\"\n", err ? err : "?");
    gt_die("priority", rc);
  }
  if ((rc = gnutls_session_ticket_key_generate(&gt_ticket_key)) < 0) gt_die("ticket key", rc);
}

static gnutls_datum_t gt_pool[POOL];
static ring gt_ring;

static void gt_teardown(void) {
  int slot;
  while ((slot = ring_pop(&gt_ring)) >= 0) gnutls_free(gt_pool[slot].data);
  gnutls_memset(gt_ticket_key.data, 0, gt_ticket_key.size);
  gnutls_free(gt_ticket_key.data);
  gnutls_priority_deinit(gt_prio);
  gnutls_certificate_free_credentials(gt_ccred);
  gnutls_certificate_free_credentials(gt_scred);
}

static void gt_end_init(gt_end *e, unsigned flags, gnutls_certificate_credentials_t cred,
                        pipe_buf *in, pipe_buf *out) {
  int rc;
  e->in = in;
  e->out = out;
  if ((rc = gnutls_init(&e->s, flags | GNUTLS_NONBLOCK)) < 0)
    gt_die("gnutls_init", rc);
  if ((rc = gnutls_priority_set(e->s, gt_prio)) < 0 ||
      (rc = gnutls_credentials_set(e->s, GNUTLS_CRD_CERTIFICATE, cred)) < 0 ||
      (rc = gnutls_alpn_set_protocols(e->s, &gt_alpn, 1, 0)) < 0)
    gt_die("session setup", rc);
  gnutls_transport_set_ptr(e->s, e);
  gnutls_transport_set_push_function(e->s, gt_push);
  gnutls_transport_set_pull_function(e->s, gt_pull);
}

/* gt_start makes a pair for host name `host`; with `tickets`, the server
   issues tickets (GnuTLS's default count) and the client takes them. */
static void gt_start(gt_pair *p, const char *host, int tickets) {
  unsigned flags = tickets ? 0 : GNUTLS_NO_TICKETS;
  int rc;
  memset(p, 0, sizeof *p);
  gt_end_init(&p->c, GNUTLS_CLIENT | flags, gt_ccred, &p->s2c, &p->c2s);
  gt_end_init(&p->s, GNUTLS_SERVER | flags, gt_scred, &p->c2s, &p->s2c);
  if (tickets && (rc = gnutls_session_ticket_enable_server(p->s.s, &gt_ticket_key)) < 0)
    gt_die("gnutls_session_ticket_enable_server", rc);
  if ((rc = gnutls_server_name_set(p->c.s, GNUTLS_NAME_DNS, host, strlen(host))) < 0)
    gt_die("server name", rc);
  gnutls_session_set_verify_cert(p->c.s, host, 0);
}

static void gt_end_pair(gt_pair *p) {
  gnutls_deinit(p->c.s);
  gnutls_deinit(p->s.s);
  pipe_free(&p->c2s);
  pipe_free(&p->s2c);
}

/* 1 done, 0 wants to read, or a negative GnuTLS error. */
static int gt_step(gt_end *e) {
  int rc;
  if (e->done) return 1;
  do rc = gnutls_handshake(e->s);
  while (rc == GNUTLS_E_INTERRUPTED);
  if (rc == 0) return e->done = 1;
  if (rc == GNUTLS_E_AGAIN) return 0;
  return rc < 0 ? rc : GNUTLS_E_INTERNAL_ERROR;
}

static int gt_run(gt_pair *p) {
  for (int round = 0; round < 16; round++) {
    int rc;
    if ((rc = gt_step(&p->c)) < 0 || (rc = gt_step(&p->s)) < 0) return rc;
    if (p->c.done && p->s.done) return 0;
  }
  return GNUTLS_E_INTERNAL_ERROR;
}

static void gt_one(int check) {
  gt_pair p;
  int rc;
  gt_start(&p, HOST, 0);
  if ((rc = gt_run(&p)) != 0) gt_die("handshake", rc);
  if (check) {
    gnutls_datum_t a;
    if (gnutls_protocol_get_version(p.c.s) != GNUTLS_TLS1_3 ||
        gnutls_cipher_get(p.c.s) != GNUTLS_CIPHER_AES_128_GCM ||
        gnutls_group_get(p.c.s) != GNUTLS_GROUP_X25519 ||
        gnutls_alpn_get_selected_protocol(p.c.s, &a) < 0 || a.size != 2 ||
        memcmp(a.data, "h3", 2) != 0 || gnutls_session_is_resumed(p.c.s))
      die("GnuTLS negotiated parameters check");
  }
  gt_end_pair(&p);
}

static void gt_wrong_host(void) {
  gt_pair p;
  gt_start(&p, "wrong.example", 0);
  if (gt_run(&p) == 0) die("GnuTLS: host name check (wrong name accepted)");
  gt_end_pair(&p);
}

/* The client reads what its server sent after the handshake (the
   tickets): gnutls_record_recv processes one ticket a call and, finding no
   application data, would block; it is called until nothing is left. */
static void gt_read_tickets(gt_pair *p) {
  unsigned char b[1];
  ssize_t rc;
  do {
    do rc = gnutls_record_recv(p->c.s, b, sizeof b);
    while (rc == GNUTLS_E_INTERRUPTED);
  } while (rc == GNUTLS_E_AGAIN && p->s2c.len != 0);
  if (rc != GNUTLS_E_AGAIN)
    gt_die("reading the tickets", rc < 0 ? (int)rc : GNUTLS_E_INTERNAL_ERROR);
}

/* Stores the client's session data, which now carries the last ticket. */
static void gt_keep_session(gt_pair *p) {
  gnutls_datum_t d;
  int slot, rc;
  if (!(gnutls_session_get_flags(p->c.s) & GNUTLS_SFLAGS_SESSION_TICKET))
    die("GnuTLS: no ticket received");
  if ((rc = gnutls_session_get_data2(p->c.s, &d)) < 0) gt_die("gnutls_session_get_data2", rc);
  if ((slot = ring_push(&gt_ring)) < 0) gnutls_free(d.data);
  else gt_pool[slot] = d;
}

static void gt_resume_fill(void) {
  while (gt_ring.n < POOL / 2) {
    gt_pair p;
    int rc;
    gt_start(&p, HOST, 1);
    if ((rc = gt_run(&p)) != 0) gt_die("full handshake for tickets", rc);
    gt_read_tickets(&p);
    gt_keep_session(&p);
    gt_end_pair(&p);
  }
}

static unsigned long gt_tickets_seen, gt_tickets_per_conn;

/* A handshake hook that counts the NewSessionTickets a client reads. */
static int gt_count_tickets(gnutls_session_t s, unsigned type, unsigned when, unsigned incoming,
                            const gnutls_datum_t *msg) {
  (void)s;
  (void)msg;
  if (type == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET && when == GNUTLS_HOOK_POST && incoming)
    gt_tickets_seen++;
  return 0;
}

/* One resumed handshake on the oldest stored session, then the client
   reads the ticket and keeps its new session data. */
static void gt_resume_one(int check) {
  gt_pair p;
  unsigned long seen = gt_tickets_seen;
  int rc, slot = ring_pop(&gt_ring);
  if (slot < 0) die("GnuTLS: session pool empty");
  gt_start(&p, HOST, 1);
  rc = gnutls_session_set_data(p.c.s, gt_pool[slot].data, gt_pool[slot].size);
  gnutls_free(gt_pool[slot].data);
  if (rc < 0) gt_die("gnutls_session_set_data", rc);
  if (check)
    gnutls_handshake_set_hook_function(p.c.s, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                       GNUTLS_HOOK_POST, gt_count_tickets);
  if ((rc = gt_run(&p)) != 0) gt_die("resumed handshake", rc);
  gt_read_tickets(&p);
  if (!gnutls_session_is_resumed(p.c.s) || !gnutls_session_is_resumed(p.s.s))
    not_resumed("GnuTLS");
  gt_keep_session(&p);
  if (check) {
    gnutls_datum_t a;
    if (gnutls_protocol_get_version(p.c.s) != GNUTLS_TLS1_3 ||
        gnutls_cipher_get(p.c.s) != GNUTLS_CIPHER_AES_128_GCM ||
        gnutls_group_get(p.c.s) != GNUTLS_GROUP_X25519 ||
        gnutls_group_get(p.s.s) != GNUTLS_GROUP_X25519 ||
        gnutls_alpn_get_selected_protocol(p.c.s, &a) < 0 || a.size != 2 ||
        memcmp(a.data, "h3", 2) != 0 || gt_tickets_seen == seen)
      die("GnuTLS resumed negotiated parameters check");
    gt_tickets_per_conn = gt_tickets_seen - seen;
  }
  gt_end_pair(&p);
}

static void gt_advance(gt_pair *p, int stage) {
  if (stage == 1) {
    gt_start(p, HOST, 0);
    if (gt_step(&p->c) != 0 || gt_step(&p->s) != 0) die("GnuTLS server flight");
  } else if (gt_step(&p->c) != 1 || p->s.done) {
    die("GnuTLS client Finished");
  }
}

static size_t gt_transport(const gt_pair *p) {
  return chunk_bytes(p->c2s.d, p->c2s.cap) + chunk_bytes(p->s2c.d, p->s2c.cap);
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

/* Full handshakes come first, resumed ones from LIB_TERN_RESUME on. */
enum {
  LIB_TERN, LIB_OSSL, LIB_GT, LIB_TERN_COLD,
  LIB_TERN_RESUME, LIB_OSSL_RESUME, LIB_GT_RESUME, NLIB
};
static const char *const lib_name[NLIB] = {
    "tern", "OpenSSL libssl", "GnuTLS", "tern (cold certificate cache)",
    "tern", "OpenSSL libssl", "GnuTLS"};

typedef struct lib_stats {
  double best_rate;
  unsigned long long handshakes;
  allocs used; /* allocations over all timed handshakes */
  double heap[2], transport[2]; /* per pair, at stage 1 and 2 */
} lib_stats;

static lib_stats stats[NLIB];

static void one_handshake(int lib, int check) {
  switch (lib) {
    case LIB_TERN: tern_one(check, 0); break;
    case LIB_OSSL: ossl_one(check); break;
    case LIB_GT: gt_one(check); break;
    case LIB_TERN_COLD: tern_one(check, 1); break;
    case LIB_TERN_RESUME: tern_resume_one(check); break;
    case LIB_OSSL_RESUME: ossl_resume_one(check); break;
    default: gt_resume_one(check); break;
  }
}

/* One timed round: at least min_count handshakes and min_seconds. */
static void round_of(int lib, unsigned long min_count, double min_seconds) {
  allocs a0 = allocs_now(), a1;
  double t0 = now(), t;
  unsigned long n = 0;
  do {
    one_handshake(lib, 0);
    n++;
    t = now() - t0;
  } while (n < min_count || t < min_seconds);
  a1 = allocs_now();
  stats[lib].handshakes += n;
  stats[lib].used.all += a1.all - a0.all;
  stats[lib].used.crypto += a1.crypto - a0.crypto;
  if (n / t > stats[lib].best_rate) stats[lib].best_rate = n / t;
}

/* Heap per pair of `pairs` pairs held mid-handshake (not for the cold
   run, the same as tern's). Without mallinfo2 (sanitizers) the pairs are
   still made and advanced, which tests that path, but nothing is measured. */
static void heap_of(int lib, size_t pairs) {
  size_t elem = lib == LIB_TERN ? sizeof(qpair) : lib == LIB_OSSL ? sizeof(ossl_pair)
                                                                  : sizeof(gt_pair);
  unsigned char *arr = calloc(pairs, elem);
  size_t base, transport;
  if (arr == NULL) die("calloc");
  base = heap_in_use();
  for (int stage = 1; stage <= 2; stage++) {
    transport = 0;
    for (size_t i = 0; i < pairs; i++) {
      void *p = arr + i * elem;
      switch (lib) {
        case LIB_TERN: tern_advance(p, stage); transport += tern_transport(p); break;
        case LIB_OSSL: ossl_advance(p, stage); transport += ossl_transport(p); break;
        default: gt_advance(p, stage); transport += gt_transport(p); break;
      }
    }
    stats[lib].heap[stage - 1] =
        ((double)heap_in_use() - (double)base - (double)transport) / (double)pairs;
    stats[lib].transport[stage - 1] = (double)transport / (double)pairs;
  }
  for (size_t i = 0; i < pairs; i++) {
    void *p = arr + i * elem;
    switch (lib) {
      case LIB_TERN: qpair_free(p); break;
      case LIB_OSSL: ossl_end(p); break;
      default: gt_end_pair(p); break;
    }
  }
  free(arr);
}

#ifdef BENCH_COUNT_MALLOC
/* One library's part of an "allocations per handshake" line. */
static void print_allocs(int lib) {
  double n = (double)stats[lib].handshakes;
  printf("%s %s %.0f", lib == LIB_TERN || lib == LIB_TERN_RESUME ? "" : ",", lib_name[lib],
         (double)stats[lib].used.all / n);
  if (crypto_counting && lib != LIB_GT && lib != LIB_GT_RESUME)
    printf(" (%.0f via OPENSSL_malloc)", (double)stats[lib].used.crypto / n);
}
#endif

static void usage(void) {
  fprintf(stderr,
          "usage: bench_handshake [--quick] [--seconds S] [--pairs N] "
          "[--only tern|openssl|gnutls|tern-cold|tern-resume|openssl-resume|gnutls-resume]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int quick = 0, rounds, only = -1;
  double seconds = 1.5;
  size_t pairs = 1000;
  unsigned long min_count;
  pki p;
  char dir[] = "/tmp/tern-bench-XXXXXX";
  char path[600];

  /* Before anything touches libcrypto. */
  crypto_counting =
      CRYPTO_set_mem_functions(count_crypto_malloc, count_crypto_realloc, count_crypto_free);

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) quick = 1;
    else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) pairs = (size_t)atol(argv[++i]);
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      const char *o = argv[++i];
      only = strcmp(o, "tern") == 0             ? LIB_TERN
             : strcmp(o, "openssl") == 0        ? LIB_OSSL
             : strcmp(o, "gnutls") == 0         ? LIB_GT
             : strcmp(o, "tern-cold") == 0      ? LIB_TERN_COLD
             : strcmp(o, "tern-resume") == 0    ? LIB_TERN_RESUME
             : strcmp(o, "openssl-resume") == 0 ? LIB_OSSL_RESUME
             : strcmp(o, "gnutls-resume") == 0  ? LIB_GT_RESUME
                                                : -2;
      if (only == -2) usage();
    }
    else usage();
  }
  if (quick) {
    seconds = 0;
    pairs = 200;
  }
  if (seconds < 0 || pairs == 0) usage();
  /* Interleaved rounds: tern, OpenSSL, GnuTLS, tern, ... */
  rounds = quick ? 1 : 5;
  min_count = quick ? 200 : 20;

  if (pki_make(&p, PKI_KEY_P256, HOST, 0, PKI_VALID_NOW) != 0) die("pki_make");
  if (mkdtemp(dir) == NULL || pki_write_files(&p, dir) != 0) die("writing the PKI files");
  tern_setup(&p);
  ossl_setup(&p);
  gt_setup(dir);
  /* The session pools, from full handshakes, before anything is timed. */
  tern_resume_fill();
  ossl_resume_fill();
  gt_resume_fill();

  /* Sanity: each library negotiates what we think, and really checks the
     host name; also warms every cache up. */
  for (int lib = 0; lib < NLIB; lib++) one_handshake(lib, 1);
  tern_wrong_host();
  ossl_wrong_host();
  gt_wrong_host();
  for (int lib = 0; lib < NLIB; lib++)
    for (int i = 0; i < 10; i++) one_handshake(lib, 0);

  printf("handshake: TLS 1.3, X25519, TLS_AES_128_GCM_SHA256, ECDSA P-256 leaf <- P-256 CA, "
         "ALPN h3, client verifies chain and host name; one thread, in memory\n");
  if (only >= 0) {
    /* One library alone, for a profiler. */
    round_of(only, min_count, seconds);
    printf("handshake %s: %s %.0f/s (%.1f us each)\n",
           only >= LIB_TERN_RESUME ? "resumed" : "full", lib_name[only], stats[only].best_rate,
           1e6 / stats[only].best_rate);
    if (only >= LIB_TERN_COLD) goto out;
    heap_of(only, pairs);
#ifdef BENCH_HEAP
    printf("heap per pair mid-handshake: %s %.0f B (+ %.0f B transport buffers)\n",
           lib_name[only], stats[only].heap[1], stats[only].transport[1]);
#endif
    goto out;
  }
  for (int r = 0; r < rounds; r++)
    for (int lib = 0; lib < NLIB; lib++) round_of(lib, min_count, seconds / rounds);

  {
    double t = stats[LIB_TERN].best_rate, o = stats[LIB_OSSL].best_rate,
           g = stats[LIB_GT].best_rate, tc = stats[LIB_TERN_COLD].best_rate;
    printf("handshake full: tern %.0f/s, OpenSSL libssl %.0f/s (ratio tern/OpenSSL %.2fx), "
           "GnuTLS %.0f/s (ratio %.2fx)\n", t, o, t / o, g, t / g);
    printf("target tern >= %.1fx OpenSSL: %s (%.2fx)\n", TARGET_RATIO,
           t / o >= TARGET_RATIO ? "met" : "MISSED", t / o);
    printf("handshake full, every server certificate new to the client (tern's parse cache "
           "cold): tern %.0f/s (ratio tern/OpenSSL %.2fx, tern/GnuTLS %.2fx)\n",
           tc, tc / o, tc / g);
    printf("time per handshake (client+server): tern %.1f us (cold cache %.1f us), "
           "OpenSSL %.1f us, GnuTLS %.1f us\n", 1e6 / t, 1e6 / tc, 1e6 / o, 1e6 / g);
  }
#ifdef BENCH_COUNT_MALLOC
  printf("allocations per handshake (client+server):");
  for (int lib = 0; lib < LIB_TERN_RESUME; lib++) print_allocs(lib);
  printf("\n");
#endif
  {
    double t = stats[LIB_TERN_RESUME].best_rate, o = stats[LIB_OSSL_RESUME].best_rate,
           g = stats[LIB_GT_RESUME].best_rate;
    printf("handshake resumed (psk_dhe_ke X25519, a fresh ticket each, the client reading the "
           "new tickets: tern %lu, OpenSSL %lu, GnuTLS %lu): tern %.0f/s, OpenSSL libssl %.0f/s "
           "(ratio tern/OpenSSL %.2fx), GnuTLS %.0f/s (ratio %.2fx)\n",
           tern_tickets_per_conn, ossl_tickets_per_conn, gt_tickets_per_conn, t, o, t / o, g,
           t / g);
    printf("target tern resumed >= %.1fx OpenSSL: %s (%.2fx)\n", TARGET_RATIO,
           t / o >= TARGET_RATIO ? "met" : "MISSED", t / o);
    printf("time per resumed handshake (client+server): tern %.1f us, OpenSSL %.1f us, "
           "GnuTLS %.1f us\n", 1e6 / t, 1e6 / o, 1e6 / g);
  }
#ifdef BENCH_COUNT_MALLOC
  printf("allocations per resumed handshake (client+server):");
  for (int lib = LIB_TERN_RESUME; lib < NLIB; lib++) print_allocs(lib);
  printf("\n");
#endif

  for (int lib = 0; lib < LIB_TERN_COLD; lib++) heap_of(lib, pairs);
#ifdef BENCH_HEAP
  printf("heap per pair mid-handshake: tern %.0f B, OpenSSL %.0f B, GnuTLS %.0f B "
         "(target <= %.0f B for tern)\n",
         stats[LIB_TERN].heap[1], stats[LIB_OSSL].heap[1], stats[LIB_GT].heap[1], TARGET_HEAP);
  printf("  (%zu pairs; server waits for the client's Finished; harness transport buffers "
         "not counted: tern %.0f B, OpenSSL %.0f B, GnuTLS %.0f B per pair)\n",
         pairs, stats[LIB_TERN].transport[1], stats[LIB_OSSL].transport[1],
         stats[LIB_GT].transport[1]);
  printf("heap per pair after the server flight, before the client reads it: tern %.0f B, "
         "OpenSSL %.0f B, GnuTLS %.0f B\n",
         stats[LIB_TERN].heap[0], stats[LIB_OSSL].heap[0], stats[LIB_GT].heap[0]);
  printf("target tern <= %.0f B per pair: %s\n", TARGET_HEAP,
         stats[LIB_TERN].heap[1] <= TARGET_HEAP ? "met" : "MISSED");
#else
  printf("heap per pair mid-handshake: not measured (needs glibc >= 2.33, no sanitizer)\n");
#endif

out:
  gt_teardown();
  ossl_teardown();
  tern_teardown();
  const char *const files[] = {"chain.pem", "key.pem", "ca.pem"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
  pki_free(&p);
  return 0;
}
