/*
 * test_secrets.c - secrets never outlive their use in freed memory. The
 * test interposes libcrypto's allocator (tern allocates only through it),
 * keeps a copy of every block as it is freed (or moved by realloc), runs
 * whole connections — TCP with application data both ways, a KeyUpdate
 * each way, close_notify; QUIC with its tickets; a resumption with 0-RTT —
 * frees everything, and then looks for every secret of those connections
 * in what was freed: each traffic secret and exporter secret (learned from
 * the key log), the next generations after KeyUpdate (derived here), the
 * resumption master secret, and the X25519 private keys (read from the
 * connections before they are used). None may appear.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <tern.h>

#include "check.h"
#include "core/conn.h"
#include "pki.h"
#include "qpair.h"

/* ---- an allocator that remembers what it frees ---- */

#define SLOTS (1u << 20)
static struct {
  void *p;
  size_t n;
} blocks[SLOTS];

static uint8_t *freed;        /* copies of freed blocks, back to back */
static size_t freed_len, freed_cap;
static int recording;

static size_t slot_of(const void *p) {
  uintptr_t h = (uintptr_t)p;
  h ^= h >> 17;
  h *= 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 12) & (SLOTS - 1);
}

static void remember(void *p, size_t n) {
  size_t i = slot_of(p);
  while (blocks[i].p != NULL) i = (i + 1) & (SLOTS - 1);
  blocks[i].p = p;
  blocks[i].n = n;
}

/* Forgets p; returns its size (0 when unknown). */
static size_t forget(void *p) {
  size_t i = slot_of(p), n;
  while (blocks[i].p != NULL && blocks[i].p != p) i = (i + 1) & (SLOTS - 1);
  if (blocks[i].p == NULL) return 0;
  n = blocks[i].n;
  blocks[i].p = NULL;
  /* re-place the run after the hole (linear probing) */
  for (size_t j = (i + 1) & (SLOTS - 1); blocks[j].p != NULL; j = (j + 1) & (SLOTS - 1)) {
    void *q = blocks[j].p;
    size_t m = blocks[j].n;
    blocks[j].p = NULL;
    remember(q, m);
  }
  return n;
}

/* Keeps a copy of block p (n bytes) as it is freed. */
static void log_freed(const void *p, size_t n) {
  if (!recording || n == 0) return;
  if (freed_len + n > freed_cap) {
    size_t cap = freed_cap ? freed_cap * 2 : (1u << 20);
    while (cap < freed_len + n) cap *= 2;
    freed = realloc(freed, cap);
    if (freed == NULL) abort();
    freed_cap = cap;
  }
  memcpy(freed + freed_len, p, n);
  freed_len += n;
}

static void *s_malloc(size_t n, const char *file, int line) {
  void *p = malloc(n ? n : 1);
  (void)file, (void)line;
  if (p != NULL) remember(p, n);
  return p;
}

static void *s_realloc(void *p, size_t n, const char *file, int line) {
  void *q;
  size_t old;
  if (p == NULL) return s_malloc(n, file, line);
  old = forget(p);
  log_freed(p, old); /* the old place may be left behind as it is */
  q = realloc(p, n ? n : 1);
  if (q != NULL) {
    remember(q, n);
  } else {
    remember(p, old);
  }
  return q;
}

static void s_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  if (p == NULL) return;
  log_freed(p, forget(p));
  free(p);
}

/* ---- the secrets ---- */

#define MAX_SECRETS 256
static struct {
  uint8_t v[48];
  size_t n;
  char what[48];
} secrets[MAX_SECRETS];
static int n_secrets;

static void keep_secret(const char *what, const uint8_t *v, size_t n) {
  if (n_secrets >= MAX_SECRETS || n > 48 || n < 16) return;
  for (int i = 0; i < n_secrets; i++)
    if (secrets[i].n == n && memcmp(secrets[i].v, v, n) == 0) return;
  memcpy(secrets[n_secrets].v, v, n);
  secrets[n_secrets].n = n;
  snprintf(secrets[n_secrets].what, sizeof secrets[n_secrets].what, "%s", what);
  n_secrets++;
}

/* HKDF-Expand-Label(secret, "traffic upd", "", 32): the next generation. */
static void next_generation(const uint8_t in[32], uint8_t out[32]) {
  static const char label[] = "tls13 traffic upd";
  uint8_t info[2 + 1 + sizeof label - 1 + 1 + 1], t[32];
  unsigned tl = 0;
  size_t n = 0;
  info[n++] = 0;
  info[n++] = 32;
  info[n++] = (uint8_t)(sizeof label - 1);
  memcpy(info + n, label, sizeof label - 1);
  n += sizeof label - 1;
  info[n++] = 0;
  info[n++] = 1;
  HMAC(EVP_sha256(), in, 32, info, n, t, &tl);
  memcpy(out, t, 32);
}

/* The key log: every secret of every connection, and for each
   application traffic secret its next two generations. */
static void on_keylog(const tern_conn *c, const char *line, void *user) {
  char label[64], random[65], hex[129];
  uint8_t v[48];
  size_t n;
  (void)c, (void)user;
  if (sscanf(line, "%63s %64s %128s", label, random, hex) != 3) return;
  n = unhex(hex, v, sizeof v);
  keep_secret(label, v, n);
  if (strstr(label, "TRAFFIC_SECRET_0") && n == 32) {
    uint8_t g1[32], g2[32];
    next_generation(v, g1);
    next_generation(g1, g2);
    keep_secret("next generation 1", g1, 32);
    keep_secret("next generation 2", g2, 32);
  }
}

/* What the engine holds that the key log does not show: the resumption
   master secret, and (before they are used) the key shares' private keys. */
static void keep_conn_secrets(const tern_conn *c) {
  if (c->suite != NULL)
    keep_secret("resumption master secret", tern_conn_resumption_secret(c), c->suite->hash->len);
}

static void keep_private_keys(const tern_conn *c) {
  int was = recording;
  recording = 0; /* what exporting the key frees is the test's doing */
  for (size_t i = 0; i < c->hs->n_shares; i++) {
    uint8_t k[64];
    size_t n = sizeof k;
    if (c->hs->kex->shares[i].pkey != NULL &&
        EVP_PKEY_get_raw_private_key(c->hs->kex->shares[i].pkey, k, &n) == 1)
      keep_secret("X25519 private key", k, n);
    OPENSSL_cleanse(k, sizeof k);
  }
  recording = was;
}

/* ---- the connections ---- */

static pki server_pki;
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

static const uint8_t ticket_name[16] = "secrets-test-k";
static const uint8_t ticket_key[32] = "the ticket key of the servers";

static void configs(tern_config **c, tern_config **s) {
  static const char *alpn[] = {"h3"};
  STACK_OF(X509) *chain = pki_chain(&server_pki);
  X509_STORE *store = X509_STORE_new();
  *c = tern_config_new(TERN_CLIENT);
  *s = tern_config_new(TERN_SERVER);
  CHECK_EQ_INT(tern_config_set_cert(*s, server_pki.leaf, chain, server_pki.leaf_key), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  X509_STORE_add_cert(store, server_pki.ca);
  CHECK_EQ_INT(tern_config_set_trust_store(*c, store), TERN_OK);
  X509_STORE_free(store);
  for (int i = 0; i < 2; i++) {
    tern_config *cfg = i ? *s : *c;
    CHECK_EQ_INT(tern_config_set_alpn(cfg, alpn, 1), TERN_OK);
    CHECK_EQ_INT(tern_config_set_clock(cfg, test_clock, NULL), TERN_OK);
    CHECK_EQ_INT(tern_config_set_keylog(cfg, on_keylog, NULL), TERN_OK);
    CHECK_EQ_INT(tern_config_set_early_data(cfg, i ? 16384 : 1, 10000), TERN_OK);
  }
  CHECK_EQ_INT(tern_config_set_new_session_callback(*c, on_session, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_ticket_key(*s, ticket_name, ticket_key), TERN_OK);
}

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

/* A TCP connection with data both ways, a KeyUpdate each way asking for
   one back, and close_notify; resume offers the stored session with 0-RTT. */
static void tcp_connection(int resume) {
  tern_config *c, *s;
  tern_conn *cl, *sv;
  uint8_t buf[256];
  size_t n;
  configs(&c, &s);
  cl = tern_conn_new_tls(c, NULL);
  sv = tern_conn_new_tls(s, NULL);
  CHECK_EQ_INT(tern_conn_set_server_name(cl, "localhost"), TERN_OK);
  if (resume) CHECK_EQ_INT(tern_conn_set_session(cl, session, session_len, clock_now), TERN_OK);
  CHECK_EQ_INT(tern_handshake(cl), TERN_WANT_READ);
  keep_private_keys(cl);
  if (resume) CHECK_EQ_INT(tern_tls_write(cl, (const uint8_t *)"early secret data", 17), TERN_OK);
  CHECK_EQ_INT(pump(cl, sv), TERN_OK);
  keep_private_keys(sv);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ_INT(pump(sv, cl), TERN_OK);
    CHECK_EQ_INT(pump(cl, sv), TERN_OK);
  }
  CHECK(tern_conn_handshake_done(cl) && tern_conn_handshake_done(sv));
  keep_conn_secrets(cl);
  keep_conn_secrets(sv);
  CHECK_EQ_INT(tern_tls_write(cl, (const uint8_t *)"hello server", 12), TERN_OK);
  CHECK_EQ_INT(tern_tls_key_update(cl, 1), TERN_OK);
  CHECK_EQ_INT(pump(cl, sv), TERN_OK);
  CHECK_EQ_INT(tern_tls_write(sv, (const uint8_t *)"hello client", 12), TERN_OK);
  CHECK_EQ_INT(tern_tls_key_update(sv, 1), TERN_OK);
  CHECK_EQ_INT(pump(sv, cl), TERN_OK);
  CHECK_EQ_INT(pump(cl, sv), TERN_OK);
  while (tern_tls_read(sv, buf, sizeof buf, &n) == TERN_OK) {
  }
  while (tern_tls_read(cl, buf, sizeof buf, &n) == TERN_OK) {
  }
  CHECK_EQ_INT(tern_tls_close(cl), TERN_OK);
  CHECK_EQ_INT(pump(cl, sv), TERN_OK);
  tern_conn_free(cl);
  tern_conn_free(sv);
  tern_config_free(c);
  tern_config_free(s);
}

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static const uint8_t server_tp[] = {0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};

/* A QUIC connection, its tickets delivered. */
static void quic_connection(void) {
  tern_config *c, *s;
  qpair p;
  configs(&c, &s);
  CHECK_EQ_INT(qpair_init(&p, c, s, client_tp, sizeof client_tp, server_tp, sizeof server_tp), 0);
  CHECK_EQ_INT(tern_conn_set_server_name(p.c.conn, "localhost"), TERN_OK);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  keep_private_keys(p.c.conn);
  CHECK(qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL) >= 0);
  keep_private_keys(p.s.conn);
  CHECK_EQ_INT(qpair_run(&p), TERN_OK);
  CHECK(qpair_deliver(&p, &p.s, &p.c, TERN_LEVEL_APPLICATION) >= 0);
  /* a completed QUIC handshake has released its state (the kept
     secrets are wiped when the connection goes, checked below) */
  CHECK(p.c.conn->hs == NULL && p.c.conn->kept != NULL);
  CHECK(p.s.conn->hs == NULL && p.s.conn->kept != NULL);
  keep_conn_secrets(p.c.conn);
  keep_conn_secrets(p.s.conn);
  /* (its secrets are the key log's too) the pair's own copies of the secrets live in the test's memory, not
     libcrypto's: wipe them so nothing but tern could leave them behind */
  OPENSSL_cleanse(p.c.secret, sizeof p.c.secret);
  OPENSSL_cleanse(p.s.secret, sizeof p.s.secret);
  qpair_free(&p);
  tern_config_free(c);
  tern_config_free(s);
}

/* Where secret i first appears in what was freed, or -1. */
static long find_in_freed(int i) {
  if (freed_len < secrets[i].n) return -1;
  for (size_t off = 0; off + secrets[i].n <= freed_len; off++)
    if (freed[off] == secrets[i].v[0] && memcmp(freed + off, secrets[i].v, secrets[i].n) == 0)
      return (long)off;
  return -1;
}

int main(void) {
  int found = 0, kinds = 0;
  if (!CRYPTO_set_mem_functions(s_malloc, s_realloc, s_free)) return 1;
  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 1, PKI_VALID_NOW), 0);
  recording = 1;
  tcp_connection(0);
  CHECK(session_len > 0);
  tcp_connection(1);
  quic_connection();
  recording = 0;
  for (int i = 0; i < n_secrets; i++) {
    long at = find_in_freed(i);
    if (at >= 0) {
      found++;
      fprintf(stderr, "  %s found in freed memory at byte %ld\n", secrets[i].what, at);
    }
  }
  {
    const char *names[] = {"HANDSHAKE_TRAFFIC", "TRAFFIC_SECRET_0", "EXPORTER", "EARLY",
                           "next generation", "resumption", "private key"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
      int seen = 0;
      for (int i = 0; i < n_secrets && !seen; i++) seen = strstr(secrets[i].what, names[k]) != NULL;
      if (seen) kinds++;
      else fprintf(stderr, "  no secret of the kind %s was seen\n", names[k]);
    }
  }
  CHECK_EQ_INT(found, 0);
  CHECK(n_secrets >= 30);
  CHECK_EQ_INT(kinds, 7);
  printf("secrets: %d secrets of %d kinds from 3 connections, %zu bytes of freed blocks "
         "searched: %d found\n", n_secrets, kinds, freed_len, found);
  free(freed);
  pki_free(&server_pki);
  return check_report();
}
