/*
 * peer_gnutls.c - GnuTLS's side of bench_handshake: client and server
 * sessions over push/pull functions on in-memory buffers (GnuTLS also
 * runs its TLS record layer). Setup, one full handshake, one resumed
 * handshake, the pair held mid-handshake for the heap measurement,
 * teardown.
 *
 * Resumption: gnutls_session_set_data with gnutls_session_get_data2,
 * taken after gnutls_record_recv has processed the ticket.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <gnutls/gnutls.h>

#include "bench.h"
#include "pki.h"

/* One growable in-memory byte pipe (the GnuTLS transport). */
typedef struct pipe_buf {
  uint8_t *d;
  size_t len, off, cap;
} pipe_buf;

/* pipe_put appends n bytes, growing the buffer; 0, or -1 out of memory. */
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

/* pipe_get takes up to n of the bytes not yet taken; how many it took. */
static size_t pipe_get(pipe_buf *p, void *out, size_t n) {
  size_t k = p->len - p->off;
  if (k > n) k = n;
  if (k == 0) return 0;
  memcpy(out, p->d + p->off, k);
  p->off += k;
  if (p->off == p->len) p->off = p->len = 0;
  return k;
}

/* pipe_free frees the buffer and empties the pipe. */
static void pipe_free(pipe_buf *p) {
  free(p->d);
  memset(p, 0, sizeof *p);
}

/* TLS 1.3 only, AES-128-GCM, X25519, no middlebox compatibility mode. */
#define GT_PRIORITY                                                               \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X25519:" \
  "%DISABLE_TLS13_COMPAT_MODE"

/* The client's (the CA) and the server's (chain and key) credentials. */
static gnutls_certificate_credentials_t gt_ccred, gt_scred;
static gnutls_priority_t gt_prio;
static gnutls_datum_t gt_ticket_key; /* the server's, for the resumed handshakes */
static const gnutls_datum_t gt_alpn = {(unsigned char *)"h3", 2};

/* One side: its session, and the pipes it reads and writes. */
typedef struct gt_end {
  gnutls_session_t s;
  pipe_buf *in, *out;
  int done;
} gt_end;

/* A client and a server, and the pipes between them. */
typedef struct gt_pair {
  gt_end c, s;
  pipe_buf c2s, s2c;
} gt_pair;

/* The push function: a side's writes go into its outgoing pipe. */
static ssize_t gt_push(gnutls_transport_ptr_t ptr, const void *data, size_t n) {
  gt_end *e = ptr;
  if (pipe_put(e->out, data, n) != 0) {
    gnutls_transport_set_errno(e->s, ENOMEM);
    return -1;
  }
  return (ssize_t)n;
}

/* The pull function: a side reads its incoming pipe, EAGAIN when empty. */
static ssize_t gt_pull(gnutls_transport_ptr_t ptr, void *data, size_t n) {
  gt_end *e = ptr;
  size_t k = pipe_get(e->in, data, n);
  if (k == 0) {
    gnutls_transport_set_errno(e->s, EAGAIN);
    return -1;
  }
  return (ssize_t)k;
}

/* A GnuTLS call for `what` failed with rc: says so and exits 1. */
static void gt_die(const char *what, int rc) {
  fprintf(stderr, "bench_handshake: GnuTLS %s: %s\n", what, gnutls_strerror(rc));
  exit(1);
}

/* The credentials from the PEM files in dir, the priority and the
   server's ticket key. */
static void gt_setup(const pki *p, const char *dir) {
  char chain[512], key[512], ca[512];
  const char *err = NULL;
  int rc;
  (void)p;
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

/* The session data the client kept, oldest first. */
static gnutls_datum_t gt_pool[POOL];
static ring gt_ring;

/* Frees the stored sessions, the ticket key, priority and credentials. */
static void gt_teardown(void) {
  int slot;
  while ((slot = ring_pop(&gt_ring)) >= 0) gnutls_free(gt_pool[slot].data);
  gnutls_memset(gt_ticket_key.data, 0, gt_ticket_key.size);
  gnutls_free(gt_ticket_key.data);
  gnutls_priority_deinit(gt_prio);
  gnutls_certificate_free_credentials(gt_ccred);
  gnutls_certificate_free_credentials(gt_scred);
}

/* gt_end_init makes one side's session (flags: GNUTLS_CLIENT or
   GNUTLS_SERVER, and more) reading `in` and writing `out`. */
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
   issues exactly one ticket after the handshake (gt_send_ticket; its
   automatic sending is off) and the client takes it. */
static void gt_start(gt_pair *p, const char *host, int tickets) {
  unsigned flags = tickets ? GNUTLS_NO_AUTO_SEND_TICKET : GNUTLS_NO_TICKETS;
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

/* Frees a pair's sessions and pipes. */
static void gt_end_pair(void *pair) {
  gt_pair *p = pair;
  gnutls_deinit(p->c.s);
  gnutls_deinit(p->s.s);
  pipe_free(&p->c2s);
  pipe_free(&p->s2c);
}

/* gt_step runs gnutls_handshake on one side: 1 done, 0 wants to read, or
   a negative GnuTLS error. */
static int gt_step(gt_end *e) {
  int rc;
  if (e->done) return 1;
  do rc = gnutls_handshake(e->s);
  while (rc == GNUTLS_E_INTERRUPTED);
  if (rc == 0) return e->done = 1;
  if (rc == GNUTLS_E_AGAIN) return 0;
  return rc < 0 ? rc : GNUTLS_E_INTERNAL_ERROR;
}

/* Runs both sides until both are done; 0 or a GnuTLS error. */
static int gt_run(gt_pair *p) {
  for (int round = 0; round < 16; round++) {
    int rc;
    if ((rc = gt_step(&p->c)) < 0 || (rc = gt_step(&p->s)) < 0) return rc;
    if (p->c.done && p->s.done) return 0;
  }
  return GNUTLS_E_INTERNAL_ERROR;
}

/* One full handshake; `check` also checks what was negotiated. */
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

/* A handshake to the wrong host name must fail (the client verifies). */
static void gt_wrong_host(void) {
  gt_pair p;
  gt_start(&p, "wrong.example", 0);
  if (gt_run(&p) == 0) die("GnuTLS: host name check (wrong name accepted)");
  gt_end_pair(&p);
}

/* The server sends its one ticket, after the handshake. */
static void gt_send_ticket(gt_pair *p) {
  int rc;
  do rc = gnutls_session_ticket_send(p->s.s, 1, 0);
  while (rc == GNUTLS_E_INTERRUPTED || rc == GNUTLS_E_AGAIN);
  if (rc < 0) gt_die("gnutls_session_ticket_send", rc);
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

/* Fills the session pool with full handshakes (untimed). */
static void gt_resume_fill(void) {
  while (gt_ring.n < POOL / 2) {
    gt_pair p;
    int rc;
    gt_start(&p, HOST, 1);
    if ((rc = gt_run(&p)) != 0) gt_die("full handshake for tickets", rc);
    gt_send_ticket(&p);
    gt_read_tickets(&p);
    gt_keep_session(&p);
    gt_end_pair(&p);
  }
}

/* The NewSessionTickets counted, all told and in the last checked
   resumed handshake. */
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
  gt_send_ticket(&p);
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

/* Advances a pair for the heap measurement. Stage 1: the server has sent
   its flight. Stage 2: the client has processed it and sent its Finished. */
static void gt_advance(void *pair, int stage) {
  gt_pair *p = pair;
  if (stage == 1) {
    gt_start(p, HOST, 0);
    if (gt_step(&p->c) != 0 || gt_step(&p->s) != 0) die("GnuTLS server flight");
  } else if (gt_step(&p->c) != 1 || p->s.done) {
    die("GnuTLS client Finished");
  }
}

/* The bytes of the pair's two pipes' buffers. */
static size_t gt_transport(const void *pair) {
  const gt_pair *p = pair;
  return chunk_bytes(p->c2s.d, p->c2s.cap) + chunk_bytes(p->s2c.d, p->s2c.cap);
}

/* GnuTLS's entry points, for the driver. */
const peer peer_gnutls = {
    .setup = gt_setup,
    .teardown = gt_teardown,
    .full = gt_one,
    .full_cold = NULL,
    .wrong_host = gt_wrong_host,
    .resume_fill = gt_resume_fill,
    .resumed = gt_resume_one,
    .tickets_per_conn = &gt_tickets_per_conn,
    .pair_size = sizeof(gt_pair),
    .advance = gt_advance,
    .transport = gt_transport,
    .end = gt_end_pair,
};
