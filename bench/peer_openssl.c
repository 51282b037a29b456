/*
 * peer_openssl.c - OpenSSL libssl's side of bench_handshake: SSL objects
 * for client and server over two shared memory BIOs (libssl also runs its
 * TLS record layer). Setup, one full handshake, one resumed handshake,
 * the pair held mid-handshake for the heap measurement, teardown.
 *
 * Resumption: SSL_set_session with the SSL_SESSION of SSL_get1_session,
 * taken after SSL_read has processed the tickets.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <tern.h> /* TERN_TLS_AES_128_GCM_SHA256, the suite's code point */

#include "bench.h"
#include "pki.h"


/* The contexts of the full handshakes (no tickets). */
static SSL_CTX *ossl_cctx, *ossl_sctx;
/* The same two with tickets, for the resumed handshakes. */
static SSL_CTX *ossl_rcctx, *ossl_rsctx;
/* ALPN "h3", in the wire format libssl takes. */
static const unsigned char ossl_alpn[] = {2, 'h', '3'};

/* The server's ALPN callback: "h3" or a fatal alert. */
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

/* A context for one side; with `tickets`, stateless tickets, exactly
   one per connection (libssl's default would be two after a full
   handshake), else none. No session cache either way: TLS 1.3 stateless
   tickets do not use it. */
static SSL_CTX *ossl_ctx(int server, int tickets) {
  SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") ||
      !SSL_CTX_set1_groups_list(ctx, "X25519") ||
      !SSL_CTX_set_num_tickets(ctx, tickets ? 1 : 0))
    die("OpenSSL SSL_CTX setup");
  if (!tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_clear_options(ctx, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

/* Sets up a client context to verify the PKI's chain and offer "h3", and
   a server context to present its leaf and select "h3". */
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

/* The contexts, without and with tickets. */
static void ossl_setup(const pki *p, const char *dir) {
  (void)dir;
  ossl_cctx = ossl_ctx(0, 0);
  ossl_sctx = ossl_ctx(1, 0);
  ossl_setup_pair(ossl_cctx, ossl_sctx, p);
  ossl_rcctx = ossl_ctx(0, 1);
  ossl_rsctx = ossl_ctx(1, 1);
  ossl_setup_pair(ossl_rcctx, ossl_rsctx, p);
}

/* The sessions the client kept, oldest first. */
static SSL_SESSION *ossl_pool[POOL];
static ring ossl_ring;

/* Frees the stored sessions and the contexts. */
static void ossl_teardown(void) {
  int slot;
  while ((slot = ring_pop(&ossl_ring)) >= 0) SSL_SESSION_free(ossl_pool[slot]);
  SSL_CTX_free(ossl_cctx);
  SSL_CTX_free(ossl_sctx);
  SSL_CTX_free(ossl_rcctx);
  SSL_CTX_free(ossl_rsctx);
}

/* A client and a server, each reading what the other writes. */
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

/* Frees a pair (and its BIOs). */
static void ossl_end(void *pair) {
  ossl_pair *p = pair;
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

/* One full handshake; `check` also checks what was negotiated. */
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

/* A handshake to the wrong host name must fail (the client verifies). */
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

/* Fills the session pool with full handshakes (untimed). */
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

/* The NewSessionTickets counted, all told and in the last checked
   resumed handshake. */
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

/* Advances a pair for the heap measurement. Stage 1: the server has sent
   its flight. Stage 2: the client has processed it and sent its Finished. */
static void ossl_advance(void *pair, int stage) {
  ossl_pair *p = pair;
  if (stage == 1) {
    ossl_start(p, HOST, ossl_cctx, ossl_sctx);
    if (ossl_step(p->c, &p->cdone) != 0 || ossl_step(p->s, &p->sdone) != 0)
      die("OpenSSL server flight");
  } else if (ossl_step(p->c, &p->cdone) != 1 || p->sdone) {
    die("OpenSSL client Finished");
  }
}

/* The bytes of the pair's two memory BIOs' buffers. */
static size_t ossl_transport(const void *pair) {
  const ossl_pair *p = pair;
  BUF_MEM *a = NULL, *b = NULL;
  BIO_get_mem_ptr(p->c2s, &a);
  BIO_get_mem_ptr(p->s2c, &b);
  return (a ? chunk_bytes(a->data, a->max) : 0) + (b ? chunk_bytes(b->data, b->max) : 0);
}

/* OpenSSL libssl's entry points, for the driver. */
const peer peer_openssl = {
    .setup = ossl_setup,
    .teardown = ossl_teardown,
    .full = ossl_one,
    .full_cold = NULL,
    .wrong_host = ossl_wrong_host,
    .resume_fill = ossl_resume_fill,
    .resumed = ossl_resume_one,
    .tickets_per_conn = &ossl_tickets_per_conn,
    .pair_size = sizeof(ossl_pair),
    .advance = ossl_advance,
    .transport = ossl_transport,
    .end = ossl_end,
};
