/*
 * peer_tern.c - tern's side of bench_handshake: a tern client and a tern
 * server in QUIC mode, the in-memory pair of tools/qpair.c (tern leaves
 * the record layer to the QUIC stack). Setup, one full handshake (also
 * with a cold certificate cache), one resumed handshake, the pair held
 * mid-handshake for the heap measurement, teardown.
 *
 * Resumption: tern_conn_set_session with a blob from the client's
 * new-session callback (single-use tickets; each resumption brings exactly
 * one, which goes back into the pool).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <tern.h>

#include "bench.h"
#include "pki.h"
#include "qpair.h"

/* The QUIC transport parameters each side sends (opaque to tern). */
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

/* The clock of the resumption configurations: bench_ms. */
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

/* A server configuration: the handshake's one suite, group and ALPN, and
   the certificate leaf (with chain) and its key. */
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

/* A client configuration: the handshake's one suite, group (also the one
   key share) and ALPN, trusting the CAs of store. */
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

/* The configurations: plain, cold (one per rotating leaf, made here) and
   for resumption. */
static void tern_setup(const pki *p, const char *dir) {
  X509_STORE *store = X509_STORE_new();
  STACK_OF(X509) *chain = pki_chain(p);

  (void)dir;
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
  /* Resumption: exactly one ticket per connection (as the other two
     libraries are set), a short lifetime (see bench_clock); the client
     keeps what it is given. */
  tern_rccfg = tern_client_config(store);
  tern_rscfg = tern_server_config(p->leaf, chain, p->leaf_key);
  if (tern_config_set_clock(tern_rccfg, bench_clock, NULL) != TERN_OK ||
      tern_config_set_new_session_callback(tern_rccfg, tern_on_session, NULL) != TERN_OK ||
      tern_config_set_clock(tern_rscfg, bench_clock, NULL) != TERN_OK ||
      tern_config_set_tickets(tern_rscfg, 1, TICKET_LIFETIME_S) != TERN_OK)
    die("tern resumption config");
  sk_X509_pop_free(chain, X509_free);
  X509_STORE_free(store);
}

/* Frees the configurations. */
static void tern_teardown(void) {
  tern_config_free(tern_ccfg);
  tern_config_free(tern_scfg);
  for (int i = 0; i < COLD_CERTS; i++) tern_config_free(tern_scfg_cold[i]);
  tern_config_free(tern_rccfg);
  tern_config_free(tern_rscfg);
}

/* A tern handshake failed `when`: says why (error, alert, detail) and
   exits 1. */
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

/* tern_flights: the bytes of the four flights of one full handshake of
   this benchmark (ClientHello, ServerHello, EncryptedExtensions to the
   server's Finished, the client's Finished), for the floor's transcript. */
void tern_flights(size_t len[4]) {
  qpair p;
  int rc;
  tern_start(&p, HOST, tern_ccfg, tern_scfg);
  if ((rc = qpair_run(&p)) != TERN_OK) tern_fail(&p, rc, "full handshake");
  len[0] = p.c.sent_total[TERN_LEVEL_INITIAL];
  len[1] = p.s.sent_total[TERN_LEVEL_INITIAL];
  len[2] = p.s.sent_total[TERN_LEVEL_HANDSHAKE];
  len[3] = p.c.sent_total[TERN_LEVEL_HANDSHAKE];
  qpair_free(&p);
}

/* One full handshake, always to the same server certificate. */
static void tern_full(int check) { tern_one(check, 0); }

/* One full handshake to the next rotating server certificate. */
static void tern_full_cold(int check) { tern_one(check, 1); }

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

/* Advances a pair for the heap measurement. Stage 1: the server has sent
   its flight. Stage 2: the client has processed it and sent its Finished. */
static void tern_advance(void *pair, int stage) {
  qpair *p = pair;
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

/* The bytes of the pair's outgoing buffers, both sides, every level. */
static size_t tern_transport(const void *pair) {
  const qpair *p = pair;
  size_t n = 0;
  for (int lv = 0; lv < 4; lv++)
    n += chunk_bytes(p->c.out[lv], p->c.out_cap[lv]) + chunk_bytes(p->s.out[lv], p->s.out_cap[lv]);
  return n;
}

/* tern_established: see bench.h. */
void tern_established(size_t pairs, double *per_conn, double *transport_per_conn) {
  qpair *arr = calloc(pairs, sizeof *arr);
  size_t base, transport = 0;
  int rc;
  *per_conn = *transport_per_conn = 0;
  if (arr == NULL) die("calloc");
  base = heap_in_use();
  for (size_t i = 0; i < pairs; i++) {
    tern_start(&arr[i], HOST, tern_ccfg, tern_scfg);
    if ((rc = qpair_run(&arr[i])) != TERN_OK) tern_fail(&arr[i], rc, "established pair");
    if (!tern_conn_handshake_done(arr[i].c.conn) || !tern_conn_handshake_done(arr[i].s.conn))
      die("tern: established pair not done");
    transport += tern_transport(&arr[i]);
  }
  *per_conn = ((double)heap_in_use() - (double)base - (double)transport) / (2.0 * (double)pairs);
  *transport_per_conn = (double)transport / (2.0 * (double)pairs);
  for (size_t i = 0; i < pairs; i++) qpair_free(&arr[i]);
  free(arr);
}

/* Frees a pair made by tern_advance. */
static void tern_end(void *pair) { qpair_free(pair); }

/* tern's entry points, for the driver. */
const peer peer_tern = {
    .setup = tern_setup,
    .teardown = tern_teardown,
    .full = tern_full,
    .full_cold = tern_full_cold,
    .wrong_host = tern_wrong_host,
    .resume_fill = tern_resume_fill,
    .resumed = tern_resume_one,
    .tickets_per_conn = &tern_tickets_per_conn,
    .pair_size = sizeof(qpair),
    .advance = tern_advance,
    .transport = tern_transport,
    .end = tern_end,
};
