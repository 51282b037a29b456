/*
 * test_order.c - every handshake message out of order, the cases
 * generated from the machines themselves (issue 3).
 *
 * machine_graph.h is written at build time by tests/machine_graph.c,
 * which runs gen/client.c and gen/server.c with stub actions: each role's
 * reachable states and transitions. For each scenario of the table
 * below, a real tern <-> tern QUIC handshake first runs one message at a
 * time, to learn the states each side waits in for its peer (the machine
 * state of the real connection must walk the graph) and to keep every
 * message it carries. Then, for each such state and each receive event
 * the graph has no transition for there, a fresh pair is driven to
 * exactly that state and a well-formed message of that kind is handed to
 * the waiting side at the level it reads: the handshake must fail with
 * unexpected_message (RFC 8446 §6.2), and stay failed.
 *
 * Besides the events of a role's own machine, the messages only the
 * other role ever receives (a ServerHello at the server, ...) are sent
 * too: those never reach a machine and must fail all the same.
 *
 * The scenarios span full handshakes (with HelloRetryRequest, client
 * authentication) and resumption (psk_dhe_ke, 0-RTT accepted, after a
 * HelloRetryRequest, psk_ke), each resumed connection with a ticket of
 * its own from earlier full handshakes; together they wait in every
 * waiting state of both machines that QUIC can reach (checked).
 */
#include <openssl/x509.h>

#include "check.h"
#include "engine/handshake.h" /* the codec (msg.h) and its parsed union */
#include "machine_graph.h"
#include "pki.h"
#include "qpair.h"
#include "core/conn.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x0f, 0x00};
static const uint8_t server_tp[] = {0x00, 0x08, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02, 0x03, 0x04};

static pki server_pki, client_pki;

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

/* A copy of some bytes: a message, a session. */
typedef struct blob {
  uint8_t *p;
  size_t len;
} blob;

static void blob_set(blob *b, const uint8_t *p, size_t len) {
  b->p = malloc(len);
  CHECK(b->p != NULL);
  if (b->p) memcpy(b->p, p, len);
  b->len = b->p ? len : 0;
}

/* Options on top of the base configurations (server: P-256 chain and
   ALPN; client: trusts the server, ALPN, server name "localhost"). */
static void setup_hrr(tern_config *client, tern_config *server) {
  /* The client's only share is for a group the server will not take. */
  static const uint16_t server_groups[] = {TERN_GROUP_X25519};
  static const uint16_t client_share[] = {TERN_GROUP_SECP256R1};
  CHECK_EQ_INT(tern_config_set_groups(server, server_groups, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_key_share_groups(client, client_share, 1), TERN_OK);
}

/* The server requests a certificate (mode), trusting client_pki's root;
   the client presents one when with_cert. */
static void setup_client_auth_mode(tern_config *client, tern_config *server,
                                   tern_client_auth mode, int with_cert) {
  X509_STORE *store = X509_STORE_new();
  CHECK(store != NULL && X509_STORE_add_cert(store, client_pki.ca) == 1);
  CHECK_EQ_INT(tern_config_set_trust_store(server, store), TERN_OK);
  CHECK_EQ_INT(tern_config_set_client_auth(server, mode, 0), TERN_OK);
  X509_STORE_free(store);
  if (with_cert) {
    STACK_OF(X509) *chain = pki_chain(&client_pki);
    CHECK_EQ_INT(tern_config_set_cert(client, client_pki.leaf, chain, client_pki.leaf_key),
                 TERN_OK);
    sk_X509_pop_free(chain, X509_free);
  }
}

static void setup_client_auth(tern_config *client, tern_config *server) {
  setup_client_auth_mode(client, server, TERN_CLIENT_AUTH_REQUIRED, 1);
}

static void setup_client_auth_empty(tern_config *client, tern_config *server) {
  setup_client_auth_mode(client, server, TERN_CLIENT_AUTH_OPTIONAL, 0);
}

/*
 * Resumption. Both sides read one fixed clock (so every ticket is of age
 * 0, never expires, and 0-RTT passes the age check); the server issues
 * TICKETS_PER_HANDSHAKE tickets after each handshake. Every connection of
 * a resumption scenario offers a ticket of its own (tickets are single
 * use: a used one gives a full handshake), taken from the scenario's pool,
 * which full handshakes of the scenario's configurations fill on demand.
 */
#define TICKETS_PER_HANDSHAKE 10
#define MAX_TICKETS 64
static const uint64_t clock_now = 1700000000000ull; /* ms */

static uint64_t test_clock(void *user) {
  (void)user;
  return clock_now;
}

static void setup_resumption(tern_config *client, tern_config *server) {
  CHECK_EQ_INT(tern_config_set_clock(client, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_clock(server, test_clock, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_tickets(server, TICKETS_PER_HANDSHAKE, 3600), TERN_OK);
}

/* psk_dhe_ke, no early data offered */
static void setup_psk(tern_config *client, tern_config *server) {
  setup_resumption(client, server);
}

/* 0-RTT: the tickets allow it, the client offers it, the server takes it */
static void setup_psk_early(tern_config *client, tern_config *server) {
  setup_resumption(client, server);
  CHECK_EQ_INT(tern_config_set_early_data(server, 16384, 10000), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(client, 1, 0), TERN_OK);
}

/* the resumed ClientHello draws a HelloRetryRequest (as does the full
   handshake that harvests the tickets) */
static void setup_psk_hrr(tern_config *client, tern_config *server) {
  setup_resumption(client, server);
  setup_hrr(client, server);
}

/* psk_ke: offered by the client, picked by the server (no key_share) */
static void setup_psk_ke(tern_config *client, tern_config *server) {
  setup_resumption(client, server);
  CHECK_EQ_INT(tern_config_set_psk_ke(client, 1), TERN_OK);
  CHECK_EQ_INT(tern_config_set_psk_ke(server, 1), TERN_OK);
}

static int prepare_resume(qpair *p, size_t si);

/*
 * One row per handshake shape. A row with `pending` set is listed in the
 * summary and skipped; to add one, give it a setup (configurations,
 * shared by every connection of the scenario) and, when each connection
 * needs something of its own (a session to resume), a prepare that runs
 * right after qpair_init; then drop `pending`. The last fields are what
 * the recorded handshake must end with (checked).
 */
typedef struct scenario {
  const char *name;
  const char *pending; /* why it cannot run yet, or NULL */
  void (*setup)(tern_config *client, tern_config *server);
  int (*prepare)(qpair *p, size_t si); /* 0 or -1; may be NULL */
  int resumed, hrr, psk_ke;            /* a PSK accepted; a HelloRetryRequest; no (EC)DHE */
  tern_early_data_status early;        /* on both sides */
} scenario;

static const scenario scenarios[] = {
    {"full", NULL, NULL, NULL, 0, 0, 0, TERN_EARLY_DATA_NONE},
    {"hrr", NULL, setup_hrr, NULL, 0, 1, 0, TERN_EARLY_DATA_NONE},
    {"client-auth", NULL, setup_client_auth, NULL, 0, 0, 0, TERN_EARLY_DATA_NONE},
    {"client-auth-empty", NULL, setup_client_auth_empty, NULL, 0, 0, 0, TERN_EARLY_DATA_NONE},
    {"psk", NULL, setup_psk, prepare_resume, 1, 0, 0, TERN_EARLY_DATA_NONE},
    {"psk-early", NULL, setup_psk_early, prepare_resume, 1, 0, 0, TERN_EARLY_DATA_ACCEPTED},
    {"psk-hrr", NULL, setup_psk_hrr, prepare_resume, 1, 1, 0, TERN_EARLY_DATA_NONE},
    {"psk-ke", NULL, setup_psk_ke, prepare_resume, 1, 0, 1, TERN_EARLY_DATA_NONE},
};
#define N_SCENARIOS (sizeof scenarios / sizeof scenarios[0])

static tern_config *client_cfg[N_SCENARIOS], *server_cfg[N_SCENARIOS];

/* The unused sessions a scenario's client was given, newest last. */
typedef struct ticket_pool {
  blob s[MAX_TICKETS];
  int n;
  int harvests; /* full handshakes run to get them */
  int offered;  /* taken by a connection */
} ticket_pool;
static ticket_pool pools[N_SCENARIOS];

/* The client's new-session callback, user = the scenario's pool. */
static void on_session(tern_conn *c, const uint8_t *s, size_t len, uint32_t max_early,
                       void *user) {
  ticket_pool *tp = user;
  size_t si = (size_t)(tp - pools);
  (void)c;
  CHECK(si < N_SCENARIOS && len > 0 && len <= TERN_SESSION_MAX_BYTES);
  /* 0-RTT tickets say so with the QUIC sentinel (RFC 9001 §4.6.1) */
  if (si < N_SCENARIOS)
    CHECK_EQ_INT(max_early, scenarios[si].early == TERN_EARLY_DATA_ACCEPTED ? 0xffffffffu : 0);
  if (tp->n < MAX_TICKETS) blob_set(&tp->s[tp->n++], s, len);
}

static void make_configs(size_t si) {
  static const char *const alpn[] = {"h3"};
  tern_config *s = tern_config_new(TERN_SERVER), *c = tern_config_new(TERN_CLIENT);
  STACK_OF(X509) *chain = pki_chain(&server_pki);
  X509_STORE *store = X509_STORE_new();
  CHECK(s != NULL && c != NULL && store != NULL);
  CHECK_EQ_INT(tern_config_set_cert(s, server_pki.leaf, chain, server_pki.leaf_key), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(s, alpn, 1), TERN_OK);
  CHECK(X509_STORE_add_cert(store, server_pki.ca) == 1);
  CHECK_EQ_INT(tern_config_set_trust_store(c, store), TERN_OK);
  CHECK_EQ_INT(tern_config_set_alpn(c, alpn, 1), TERN_OK);
  /* only scenarios with a clock are ever given tickets */
  CHECK_EQ_INT(tern_config_set_new_session_callback(c, on_session, &pools[si]), TERN_OK);
  sk_X509_pop_free(chain, X509_free);
  X509_STORE_free(store);
  if (scenarios[si].setup) scenarios[si].setup(c, s);
  client_cfg[si] = c;
  server_cfg[si] = s;
}

/* A pair of the scenario's configurations, nothing sent yet. */
static int pair_new(qpair *p, size_t si) {
  if (qpair_init(p, client_cfg[si], server_cfg[si], client_tp, sizeof client_tp, server_tp,
                 sizeof server_tp) != 0 ||
      tern_conn_set_server_name(p->c.conn, "localhost") != TERN_OK)
    return -1;
  return 0;
}

/* Fills scenario si's pool: a full handshake (no session offered) of its
   configurations, which ends with the server's tickets. */
static void harvest(size_t si) {
  ticket_pool *tp = &pools[si];
  int before = tp->n;
  qpair p;
  CHECK_EQ_INT(pair_new(&p, si), 0);
  CHECK_EQ_INT(qpair_run(&p), TERN_OK);
  CHECK(!tern_conn_resumed(p.c.conn) && !tern_conn_resumed(p.s.conn));
  CHECK_EQ_INT(tp->n, before + TICKETS_PER_HANDSHAKE);
  tp->harvests++;
  qpair_free(&p);
}

/* Offers a session never offered before, harvesting when none is left. */
static int prepare_resume(qpair *p, size_t si) {
  ticket_pool *tp = &pools[si];
  blob b;
  int rc;
  if (tp->n == 0) harvest(si);
  CHECK(tp->n > 0);
  if (tp->n == 0) return -1;
  b = tp->s[--tp->n];
  tp->offered++;
  rc = tern_conn_set_session(p->c.conn, b.p, b.len, clock_now);
  CHECK_EQ_INT(rc, TERN_OK);
  free(b.p);
  return rc == TERN_OK ? 0 : -1;
}

/* A fresh pair of the scenario, nothing sent yet. Returns 0 or -1. */
static int pair_open(qpair *p, size_t si) {
  if (pair_new(p, si) != 0) return -1;
  return scenarios[si].prepare ? scenarios[si].prepare(p, si) : 0;
}

/* ------------------------------------------------------------------ */
/* The graph                                                           */
/* ------------------------------------------------------------------ */

static const mg_graph *const graphs[2] = {&mg_client, &mg_server}; /* by tern_role */
static const char *const role_names[2] = {"client", "server"};

/* The state the event leads to from `from`, or 0 (no transition). */
static int graph_next(const mg_graph *g, int from, int ev) {
  for (int i = 0; i < g->n_edges; i++)
    if (g->edges[i].from == from && g->edges[i].event == ev) return g->edges[i].to;
  return 0;
}

static const mg_state *graph_state(const mg_graph *g, int id) {
  for (int i = 0; i < g->n_states; i++)
    if (g->states[i].id == id) return &g->states[i];
  return NULL;
}

/* Whether ev is an event of the alphabet that receives a message. */
static int is_recv_event(int ev) {
  const char *name = tern_event_name((unsigned char)ev);
  return ev >= 1 && ev <= TERN_EV_MAX && strcmp(name, "?") != 0 &&
         strncmp(name, "sent ", 5) != 0;
}

/* Whether some transition of the role's machine receives ev. */
static int in_alphabet(const mg_graph *g, int ev) {
  for (int i = 0; i < g->n_edges; i++)
    if (g->edges[i].event == ev) return 1;
  return 0;
}

/* Whether `to` is `from` or follows it by our own (send) events only:
   what a side runs by itself after a message, before it waits again. */
static int sends_reach(const mg_graph *g, int from, int to, int depth) {
  if (from == to) return 1;
  if (from == 0 || depth > g->n_states) return 0;
  for (int i = 0; i < g->n_edges; i++)
    if (g->edges[i].from == from && !is_recv_event(g->edges[i].event) &&
        g->edges[i].to != from && sends_reach(g, g->edges[i].to, to, depth + 1))
      return 1;
  return 0;
}

/* The extracted graph is whole: every path replays to its state, every
   transition joins listed states within the alphabet, a final state is
   reachable. Returns the number of final states. */
static int check_graph(const mg_graph *g) {
  int finals = 0;
  CHECK(graph_state(g, g->start) != NULL);
  CHECK(g->n_states > 1 && g->n_edges >= g->n_states - 1);
  for (int i = 0; i < g->n_states; i++) {
    const mg_state *s = &g->states[i];
    int cs = g->start;
    for (int k = 0; k < s->path_len && cs != 0; k++) cs = graph_next(g, cs, s->path[k]);
    CHECK_EQ_INT(cs, s->id);
    finals += s->done;
  }
  for (int i = 0; i < g->n_edges; i++) {
    CHECK(g->edges[i].event >= 1 && g->edges[i].event <= TERN_EV_MAX);
    CHECK(graph_state(g, g->edges[i].from) != NULL);
    CHECK(graph_state(g, g->edges[i].to) != NULL);
  }
  CHECK(finals > 0);
  return finals;
}

/* "ServerHello, EncryptedExtensions": events[0..n) for messages. */
static void event_list(char *out, size_t cap, const unsigned char *ev, int n) {
  size_t len = 0;
  out[0] = 0;
  for (int k = 0; k < n && len < cap; k++)
    len += (size_t)snprintf(out + len, cap - len, "%s%s", k ? ", " : "",
                            tern_event_name(ev[k]));
  if (n == 0) snprintf(out, cap, "nothing");
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

/* Real messages, by scenario, receiving role and receive event; and one
   of every kind made with the codec, for those no scenario delivers. */
static blob seen[N_SCENARIOS][2][TERN_EV_MAX + 1];
static blob crafted[TERN_EV_MAX + 1];

/* The receive event a well-formed message stands for, 0 when unknown.
   The codec's parsers say what the wire says (a HelloRetryRequest, an
   accepted PSK, early data, an empty certificate list). */
static int event_of(const uint8_t *m, size_t len) {
  static tern_parsed parsed; /* large; one test thread */
  const uint8_t *body = m + 4;
  size_t n = len - 4;
  uint8_t alert = 0;
  if (len < 4) return 0;
  switch (m[0]) {
    case TERN_HS_CLIENT_HELLO: return TERN_EV_RECV_CH;
    case TERN_HS_SERVER_HELLO:
      if (tern_msg_parse_server_hello(body, n, &parsed.sh, &alert) != TERN_OK) return 0;
      if (parsed.sh.is_hrr) return TERN_EV_RECV_HRR;
      return parsed.sh.ext.present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)
                 ? TERN_EV_RECV_SH_PSK : TERN_EV_RECV_SH;
    case TERN_HS_ENCRYPTED_EXTENSIONS:
      if (tern_msg_parse_encrypted_extensions(body, n, &parsed.ee, &alert) != TERN_OK) return 0;
      return parsed.ee.ext.present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA)
                 ? TERN_EV_RECV_EE_EARLY : TERN_EV_RECV_EE;
    case TERN_HS_CERTIFICATE_REQUEST: return TERN_EV_RECV_CR;
    case TERN_HS_CERTIFICATE:
      if (tern_msg_parse_certificate(body, n, &parsed.cert, &alert) != TERN_OK) return 0;
      return parsed.cert.count == 0 ? TERN_EV_RECV_CERT_EMPTY : TERN_EV_RECV_CERT;
    case TERN_HS_CERTIFICATE_VERIFY: return TERN_EV_RECV_CV;
    case TERN_HS_FINISHED: return TERN_EV_RECV_FIN;
    case TERN_HS_END_OF_EARLY_DATA: return TERN_EV_RECV_EOED;
    case TERN_HS_NEW_SESSION_TICKET: return TERN_EV_RECV_NST;
    case TERN_HS_KEY_UPDATE: return TERN_EV_RECV_KU;
  }
  return 0;
}

/* Whether the codec parses m as the message it says it is (Finished:
   at the length of every suite tern has, 32 or 48 bytes). */
static int well_formed(const uint8_t *m, size_t len) {
  static tern_parsed parsed;
  const uint8_t *body = m + 4;
  size_t n = len - 4;
  uint8_t alert = 0, ku = 0;
  if (len < 4 || ((size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3]) != n) return 0;
  switch (m[0]) {
    case TERN_HS_CLIENT_HELLO:
      return tern_msg_parse_client_hello(body, n, &parsed.ch, &alert) == TERN_OK;
    case TERN_HS_SERVER_HELLO:
      return tern_msg_parse_server_hello(body, n, &parsed.sh, &alert) == TERN_OK;
    case TERN_HS_ENCRYPTED_EXTENSIONS:
      return tern_msg_parse_encrypted_extensions(body, n, &parsed.ee, &alert) == TERN_OK;
    case TERN_HS_CERTIFICATE_REQUEST:
      return tern_msg_parse_certificate_request(body, n, &parsed.cr, &alert) == TERN_OK;
    case TERN_HS_CERTIFICATE:
      return tern_msg_parse_certificate(body, n, &parsed.cert, &alert) == TERN_OK;
    case TERN_HS_CERTIFICATE_VERIFY:
      return tern_msg_parse_certificate_verify(body, n, &parsed.cv, &alert) == TERN_OK;
    case TERN_HS_FINISHED:
      return tern_msg_parse_finished(body, n, n, &parsed.fin, &alert) == TERN_OK &&
             (n == 32 || n == 48);
    case TERN_HS_END_OF_EARLY_DATA:
      return tern_msg_parse_end_of_early_data(body, n, &alert) == TERN_OK;
    case TERN_HS_NEW_SESSION_TICKET:
      return tern_msg_parse_new_session_ticket(body, n, &parsed.nst, &alert) == TERN_OK;
    case TERN_HS_KEY_UPDATE:
      return tern_msg_parse_key_update(body, n, &ku, &alert) == TERN_OK;
  }
  return 0;
}

/* The first real message of event ev any scenario delivered to role r. */
static const blob *any_seen(tern_role r, int ev) {
  for (size_t si = 0; si < N_SCENARIOS; si++)
    if (seen[si][r][ev].p) return &seen[si][r][ev];
  return NULL;
}

/* Rewrites a ServerHello or EncryptedExtensions with one more extension. */
static void craft_with_extension(int ev, int from_ev, tern_ext_id ext) {
  static tern_parsed parsed;
  const blob *b = any_seen(TERN_CLIENT, from_ev);
  uint8_t out[4096], alert = 0;
  size_t len = 0;
  int rc;
  CHECK(b != NULL);
  if (b == NULL) return;
  if (from_ev == TERN_EV_RECV_SH) {
    CHECK_EQ_INT(tern_msg_parse_server_hello(b->p + 4, b->len - 4, &parsed.sh, &alert), TERN_OK);
    parsed.sh.ext.present |= TERN_EXT_BIT(ext);
    parsed.sh.ext.n_order = 0; /* every present extension, in the codec's order */
    parsed.sh.ext.selected_identity = 0;
    rc = tern_msg_write_server_hello(&parsed.sh, out, sizeof out, &len);
  } else {
    CHECK_EQ_INT(tern_msg_parse_encrypted_extensions(b->p + 4, b->len - 4, &parsed.ee, &alert),
                 TERN_OK);
    parsed.ee.ext.present |= TERN_EXT_BIT(ext);
    parsed.ee.ext.n_order = 0;
    rc = tern_msg_write_encrypted_extensions(&parsed.ee, out, sizeof out, &len);
  }
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc == TERN_OK) blob_set(&crafted[ev], out, len);
}

/* Messages of the kinds a scenario may not deliver (the real ones are
   preferred, see message_for): a ServerHello that accepts a PSK,
   EncryptedExtensions that accept early data (both from the real ones of
   a full handshake), an empty Certificate, a NewSessionTicket, and those
   no tern handshake in QUIC sends: a KeyUpdate and an EndOfEarlyData. */
static void craft_messages(void) {
  static const uint8_t ticket[] = {0x74, 0x65, 0x72, 0x6e, 0x21};
  static const uint8_t nonce[] = {0x00};
  tern_certificate empty;
  tern_new_session_ticket nst;
  uint8_t out[512];
  size_t len = 0;

  craft_with_extension(TERN_EV_RECV_SH_PSK, TERN_EV_RECV_SH, TERN_EXT_ID_PRE_SHARED_KEY);
  craft_with_extension(TERN_EV_RECV_EE_EARLY, TERN_EV_RECV_EE, TERN_EXT_ID_EARLY_DATA);

  memset(&empty, 0, sizeof empty);
  CHECK_EQ_INT(tern_msg_write_certificate(&empty, out, sizeof out, &len), TERN_OK);
  blob_set(&crafted[TERN_EV_RECV_CERT_EMPTY], out, len);

  memset(&nst, 0, sizeof nst);
  nst.ticket_lifetime = 7200;
  nst.ticket_age_add = 0x01020304;
  nst.ticket_nonce.p = nonce;
  nst.ticket_nonce.len = sizeof nonce;
  nst.ticket.p = ticket;
  nst.ticket.len = sizeof ticket;
  CHECK_EQ_INT(tern_msg_write_new_session_ticket(&nst, out, sizeof out, &len), TERN_OK);
  blob_set(&crafted[TERN_EV_RECV_NST], out, len);

  CHECK_EQ_INT(tern_msg_write_key_update(TERN_KU_NOT_REQUESTED, out, sizeof out, &len), TERN_OK);
  blob_set(&crafted[TERN_EV_RECV_KU], out, len);

  CHECK_EQ_INT(tern_msg_write_end_of_early_data(out, sizeof out, &len), TERN_OK);
  blob_set(&crafted[TERN_EV_RECV_EOED], out, len);
}

/* Sources of the message injected for an event, best first. */
enum { SRC_SAME, SRC_OTHER_SCENARIO, SRC_OTHER_ROLE, SRC_CRAFTED, N_SOURCES };
static const char *const source_names[N_SOURCES] = {
    "real, this handshake", "real, another scenario", "real, sent to the other role",
    "made with the codec"};

/* A well-formed message of event ev for role r in scenario si: one r
   received in this scenario, else in another, else one the other role
   received (the same kind of message: a Certificate is a Certificate),
   else a crafted one. NULL when there is none. */
static const blob *message_for(size_t si, tern_role r, int ev, int *source) {
  tern_role other = r == TERN_CLIENT ? TERN_SERVER : TERN_CLIENT;
  const blob *b;
  *source = SRC_SAME;
  if (seen[si][r][ev].p) return &seen[si][r][ev];
  *source = SRC_OTHER_SCENARIO;
  if ((b = any_seen(r, ev)) != NULL) return b;
  *source = SRC_OTHER_ROLE;
  if (seen[si][other][ev].p) return &seen[si][other][ev];
  if ((b = any_seen(other, ev)) != NULL) return b;
  *source = SRC_CRAFTED;
  return crafted[ev].p ? &crafted[ev] : NULL;
}

/* ------------------------------------------------------------------ */
/* Driving a real pair one message at a time                           */
/* ------------------------------------------------------------------ */

static qside *side_of(qpair *p, tern_role r) { return r == TERN_CLIENT ? &p->c : &p->s; }

/* The machine state of a real connection: the one private field read
   here, to place the real handshake on the extracted graph. */
static int machine_state(const tern_conn *c) { return c->cs; }

static const char *const level_names[4] = {"initial", "0-RTT", "handshake", "application"};

/* The level a side reads at, as its QUIC stack knows it: the highest
   level it has a read secret for. */
static tern_level read_level(const qside *s) {
  if (s->secret_len[TERN_LEVEL_APPLICATION][TERN_READ]) return TERN_LEVEL_APPLICATION;
  if (s->secret_len[TERN_LEVEL_HANDSHAKE][TERN_READ]) return TERN_LEVEL_HANDSHAKE;
  return TERN_LEVEL_INITIAL;
}

/*
 * One step of the schedule every run shares: the server's next message
 * (lowest level first), else the client's, goes to the other side, which
 * runs its handshake once. Returns the receiving role, or -1 when nothing
 * is pending; *m is a copy of the message (the caller frees it), *rc the
 * receiver's result.
 */
static int step(qpair *p, blob *m, int *rc) {
  for (int r = TERN_SERVER; r >= TERN_CLIENT; r--) {
    qside *from = side_of(p, (tern_role)r), *to = side_of(p, (tern_role)!r);
    for (int lv = TERN_LEVEL_INITIAL; lv <= TERN_LEVEL_APPLICATION; lv++) {
      size_t n = from->out_len[lv], len;
      if (n == 0) continue;
      len = n < 4 ? n : 4 + ((size_t)from->out[lv][1] << 16 | (size_t)from->out[lv][2] << 8 |
                             from->out[lv][3]);
      CHECK(len <= n);
      if (len > n) len = n;
      blob_set(m, from->out[lv], len);
      memmove(from->out[lv], from->out[lv] + len, n - len);
      from->out_len[lv] = n - len;
      *rc = tern_quic_provide_data(to->conn, (tern_level)lv, m->p, m->len);
      if (*rc == TERN_OK) *rc = tern_handshake(to->conn);
      to->result = *rc;
      return !r;
    }
  }
  return -1;
}

/* A state one side waits in during the real handshake of a scenario. */
typedef struct rest {
  int state;
  tern_level level;
  int prefix;                 /* messages received before */
  unsigned char trail[16];    /* their events */
} rest;
#define MAX_RESTS 16

static rest rests[N_SCENARIOS][2][MAX_RESTS];
static int n_rests[N_SCENARIOS][2];

/* Notes that role r of p waits in a state (once per state). */
static void note_rest(size_t si, qpair *p, tern_role r, const unsigned char *trail, int prefix) {
  int state = machine_state(side_of(p, r)->conn);
  rest *x;
  for (int i = 0; i < n_rests[si][r]; i++)
    if (rests[si][r][i].state == state) return;
  CHECK(n_rests[si][r] < MAX_RESTS && prefix <= 16);
  if (n_rests[si][r] >= MAX_RESTS || prefix > 16) return;
  x = &rests[si][r][n_rests[si][r]++];
  x->state = state;
  x->level = read_level(side_of(p, r));
  x->prefix = prefix;
  memcpy(x->trail, trail, (size_t)prefix);
}

/*
 * The real handshake of a scenario, one message at a time: keeps each
 * message by receiver and event, checks that each side's machine state
 * follows the graph (a received event, then its own sends) to a final
 * state, and notes the states each side waits in.
 */
static void record(size_t si) {
  unsigned char trail[2][16];
  int got[2] = {0, 0}, prev[2], to, rc = TERN_OK;
  blob m;
  qpair p;

  CHECK_EQ_INT(pair_open(&p, si), 0);
  prev[TERN_SERVER] = machine_state(p.s.conn);
  CHECK_EQ_INT(prev[TERN_SERVER], mg_server.start);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  prev[TERN_CLIENT] = machine_state(p.c.conn);
  CHECK(sends_reach(&mg_client, mg_client.start, prev[TERN_CLIENT], 0));
  note_rest(si, &p, TERN_CLIENT, trail[TERN_CLIENT], 0);
  note_rest(si, &p, TERN_SERVER, trail[TERN_SERVER], 0);

  while ((to = step(&p, &m, &rc)) >= 0) {
    const mg_graph *g = graphs[to];
    int ev = event_of(m.p, m.len), now = machine_state(side_of(&p, (tern_role)to)->conn);
    CHECK(rc == TERN_OK || rc == TERN_WANT_READ);
    CHECK(ev != 0 && well_formed(m.p, m.len));
    if (rc < 0 || ev == 0 || got[to] >= 16) {
      fprintf(stderr, "  %s: the %s failed on message type %u: %s\n", scenarios[si].name,
              role_names[to], m.p[0], tern_conn_error_detail(side_of(&p, (tern_role)to)->conn));
      free(m.p);
      break;
    }
    /* the real machine took a transition of the graph, then its sends */
    CHECK(sends_reach(g, graph_next(g, prev[to], ev), now, 0));
    if (seen[si][to][ev].p == NULL) seen[si][to][ev] = m;
    else free(m.p);
    trail[to][got[to]++] = (unsigned char)ev;
    prev[to] = now;
    note_rest(si, &p, (tern_role)to, trail[to], got[to]);
  }
  for (int r = TERN_CLIENT; r <= TERN_SERVER; r++) {
    const mg_state *s = graph_state(graphs[r], prev[r]);
    const tern_conn *conn = side_of(&p, (tern_role)r)->conn;
    const scenario *sc = &scenarios[si];
    CHECK(tern_conn_handshake_done(conn));
    CHECK(s != NULL && s->done);
    /* the handshake had the scenario's shape */
    CHECK_EQ_INT(tern_conn_resumed(conn), sc->resumed);
    CHECK_EQ_INT(tern_conn_used_hrr(conn), sc->hrr);
    CHECK_EQ_INT(tern_conn_group(conn) == 0, sc->psk_ke);
    CHECK_EQ_INT(tern_conn_early_data_status(conn), sc->early);
    if (tern_conn_resumed(conn) != sc->resumed || tern_conn_used_hrr(conn) != sc->hrr ||
        tern_conn_early_data_status(conn) != sc->early)
      fprintf(stderr, "  %s: the %s resumed %d, HelloRetryRequest %d, early data %d\n",
              sc->name, role_names[r], tern_conn_resumed(conn), tern_conn_used_hrr(conn),
              (int)tern_conn_early_data_status(conn));
  }
  qpair_free(&p);
}

/* ------------------------------------------------------------------ */
/* The wrong-order cases                                               */
/* ------------------------------------------------------------------ */

/* Which check of tern refused the message, from its error detail. */
enum { BY_MACHINE, BY_LEVEL, BY_QUIC, BY_TYPE, BY_OTHER, N_CHECKS };
static const char *const check_names[N_CHECKS] = {
    "the machine (no transition)", "the classifier (wrong encryption level)",
    "the classifier (not in QUIC)", "the classifier (type never received by this role)",
    "something else"};

static int check_of(const char *detail) {
  if (strstr(detail, "not expected here")) return BY_MACHINE;
  if (strstr(detail, "encryption level")) return BY_LEVEL;
  if (strstr(detail, "not allowed in QUIC")) return BY_QUIC;
  if (strstr(detail, "unexpected handshake message type")) return BY_TYPE;
  return BY_OTHER;
}

typedef struct tally {
  int cases[N_SCENARIOS][2];
  int expected[N_SCENARIOS][2];
  int by_check[2][N_CHECKS];
  int by_source[N_SOURCES];
  int foreign[2];
  int wrong;
} tally;

/*
 * Drives a fresh pair of scenario si until role r has received exactly
 * the messages before `at`, hands it m (event ev) at the level it reads,
 * and checks the handshake fails with unexpected_message for good.
 */
static void run_case(size_t si, tern_role r, const rest *at, int ev, const blob *m, tally *t) {
  qside *victim;
  int got = 0, rc = TERN_OK, check;
  blob x;
  qpair p;

  CHECK_EQ_INT(pair_open(&p, si), 0);
  victim = side_of(&p, r);
  CHECK_EQ_INT(tern_handshake(p.c.conn), TERN_WANT_READ);
  while (got < at->prefix) {
    int to = step(&p, &x, &rc);
    if (to < 0) break;
    free(x.p);
    CHECK(rc == TERN_OK || rc == TERN_WANT_READ);
    got += to == (int)r;
  }
  CHECK_EQ_INT(got, at->prefix);
  CHECK_EQ_INT(machine_state(victim->conn), at->state);
  CHECK_EQ_INT(read_level(victim), at->level);

  rc = tern_quic_provide_data(victim->conn, at->level, m->p, m->len);
  if (rc == TERN_OK) rc = tern_handshake(victim->conn);
  check = check_of(tern_conn_error_detail(victim->conn));
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(victim->conn), TERN_ALERT_UNEXPECTED_MESSAGE);
  /* sticky: the connection stays failed with the same alert */
  CHECK_EQ_INT(tern_handshake(victim->conn), TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(victim->conn), TERN_ALERT_UNEXPECTED_MESSAGE);
  if (rc != TERN_ERR_ALERT || tern_conn_alert(victim->conn) != TERN_ALERT_UNEXPECTED_MESSAGE) {
    char after[512];
    event_list(after, sizeof after, at->trail, at->prefix);
    fprintf(stderr,
            "  %s: %s in state %d (after %s), %s at the %s level: result %d, alert %s,"
            " \"%s\"\n",
            scenarios[si].name, role_names[r], at->state, after,
            tern_event_name((unsigned char)ev), level_names[at->level], rc,
            tern_alert_name(tern_conn_alert(victim->conn)),
            tern_conn_error_detail(victim->conn));
    t->wrong++;
  }
  t->by_check[r][check]++;
  t->cases[si][r]++;
  qpair_free(&p);
}

/*
 * The receive events role r is sent in scenario si, besides those of its
 * own machine: the other role's, whose message type r never reads at all
 * (a ServerHello at the server). An empty Certificate is no such event
 * for the client: it reads every Certificate as its own RECV_CERT.
 */
static void foreign_events(size_t si, tern_role r, int foreign[TERN_EV_MAX + 1]) {
  const mg_graph *g = graphs[r];
  int types_read[256] = {0};
  for (int ev = 1; ev <= TERN_EV_MAX; ev++) {
    int src;
    const blob *b = is_recv_event(ev) && in_alphabet(g, ev) ? message_for(si, r, ev, &src) : NULL;
    if (b) types_read[b->p[0]] = 1;
  }
  for (int ev = 0; ev <= TERN_EV_MAX; ev++) {
    int src;
    const blob *b = is_recv_event(ev) && !in_alphabet(g, ev) ? message_for(si, r, ev, &src) : NULL;
    foreign[ev] = b != NULL && !types_read[b->p[0]];
  }
}

/* How many cases the graph calls for: in each state role r waits in,
   each receive event it has no transition for. */
static int count_cases(size_t si, tern_role r, const int foreign[TERN_EV_MAX + 1]) {
  const mg_graph *g = graphs[r];
  int n = 0;
  for (int i = 0; i < n_rests[si][r]; i++)
    for (int ev = 1; ev <= TERN_EV_MAX; ev++)
      n += is_recv_event(ev) && graph_next(g, rests[si][r][i].state, ev) == 0 &&
           (in_alphabet(g, ev) || foreign[ev]);
  return n;
}

/* Every wrong-order case of role r in scenario si. */
static void run_role(size_t si, tern_role r, tally *t) {
  const mg_graph *g = graphs[r];
  int foreign[TERN_EV_MAX + 1];

  foreign_events(si, r, foreign);
  t->expected[si][r] = count_cases(si, r, foreign);
  for (int i = 0; i < n_rests[si][r]; i++) {
    const rest *at = &rests[si][r][i];
    int refused = 0;
    for (int ev = 1; ev <= TERN_EV_MAX; ev++) {
      int src;
      const blob *b;
      if (!is_recv_event(ev) || graph_next(g, at->state, ev) != 0) continue;
      if (!in_alphabet(g, ev) && !foreign[ev]) continue;
      refused++;
      b = message_for(si, r, ev, &src);
      CHECK(b != NULL);
      if (b == NULL) {
        fprintf(stderr, "  no well-formed %s to send the %s\n", tern_event_name((unsigned char)ev),
                role_names[r]);
        continue;
      }
      CHECK(well_formed(b->p, b->len));
      CHECK_EQ_INT(event_of(b->p, b->len), ev);
      t->foreign[r] += foreign[ev];
      t->by_source[src]++;
      run_case(si, r, at, ev, b, t);
    }
    /* a waiting state always refuses something */
    CHECK(refused > 0);
  }
}

/* Whether state `to` of g is reachable from the start without an
   EndOfEarlyData (which QUIC does not have, RFC 9001 §8.3). */
/* Whether state id is final (the handshake is over there). */
static int state_done(const mg_graph *g, int id) {
  for (int i = 0; i < g->n_states; i++)
    if (g->states[i].id == id) return g->states[i].done;
  return 0;
}

static int quic_reachable(const mg_graph *g, int to) {
  int queue[256], n = 0, head = 0;
  queue[n++] = g->start;
  while (head < n) {
    int from = queue[head++];
    if (from == to) return 1;
    for (int i = 0; i < g->n_edges; i++) {
      const mg_edge *e = &g->edges[i];
      int known = 0;
      if (e->from != from || e->event == TERN_EV_SEND_EOED || e->event == TERN_EV_RECV_EOED)
        continue;
      /* post-handshake authentication: a CertificateRequest once the
         handshake is over exists only over TCP (RFC 9001 §4.4) */
      if ((e->event == TERN_EV_SEND_CR || e->event == TERN_EV_RECV_CR) && state_done(g, from))
        continue;
      for (int k = 0; k < n; k++) known |= queue[k] == e->to;
      if (!known && n < 256) queue[n++] = e->to;
    }
  }
  return 0;
}

/* Prints the states of role r's graph that wait for a message (have a
   receive transition) but no scenario waited in: what is left to cover.
   Returns how many of those a QUIC handshake can reach. */
static int print_uncovered(tern_role r, const int *covered, int n_covered) {
  const mg_graph *g = graphs[r];
  int waiting = 0, left = 0, left_quic = 0;
  for (int i = 0; i < g->n_states; i++) {
    const mg_state *s = &g->states[i];
    int waits = 0, seen_here = 0;
    for (int ev = 1; ev <= TERN_EV_MAX; ev++) waits |= is_recv_event(ev) && graph_next(g, s->id, ev);
    for (int k = 0; k < n_covered; k++) seen_here |= covered[k] == s->id;
    waiting += waits;
    if (waits && !seen_here) {
      char path[512];
      int quic = quic_reachable(g, s->id);
      event_list(path, sizeof path, s->path, s->path_len);
      printf("  %s state %d never waited in (path: %s)%s\n", role_names[r], s->id, path,
             quic ? "" : ": only over TCP (EndOfEarlyData or post-handshake authentication)");
      left++;
      left_quic += quic;
    }
  }
  printf("%s: %d of the %d graph states that wait for a message covered\n", role_names[r],
         waiting - left, waiting);
  return left_quic;
}

int main(void) {
  tally t;
  int total = 0, per_role[2] = {0, 0}, covered[2][64] = {{0}}, n_covered[2] = {0, 0};
  int finals[2], pending = 0;

  memset(&t, 0, sizeof t);
  finals[TERN_CLIENT] = check_graph(&mg_client);
  finals[TERN_SERVER] = check_graph(&mg_server);
  if (finals[TERN_CLIENT] == 0 || finals[TERN_SERVER] == 0) {
    fprintf(stderr, "machine_graph.h holds no complete handshake\n");
    return check_report();
  }
  printf("graph: client %d states, %d transitions, %d final; server %d states, %d transitions,"
         " %d final\n",
         mg_client.n_states, mg_client.n_edges, finals[TERN_CLIENT], mg_server.n_states,
         mg_server.n_edges, finals[TERN_SERVER]);

  CHECK_EQ_INT(pki_make(&server_pki, PKI_KEY_P256, "localhost", 1, PKI_VALID_NOW), 0);
  CHECK_EQ_INT(pki_make(&client_pki, PKI_KEY_P256, "client", 0, PKI_VALID_NOW), 0);

  for (size_t si = 0; si < N_SCENARIOS; si++) {
    if (scenarios[si].pending) continue;
    make_configs(si);
    record(si);
  }
  craft_messages();

  for (size_t si = 0; si < N_SCENARIOS; si++) {
    int fresh[2] = {0, 0}; /* waiting states no row above waited in */
    if (scenarios[si].pending) {
      printf("%-18s pending: %s\n", scenarios[si].name, scenarios[si].pending);
      pending++;
      continue;
    }
    for (int r = TERN_CLIENT; r <= TERN_SERVER; r++) {
      run_role(si, (tern_role)r, &t);
      for (int i = 0; i < n_rests[si][r]; i++) {
        int id = rests[si][r][i].state, known = 0;
        for (int k = 0; k < n_covered[r]; k++) known |= covered[r][k] == id;
        if (!known && n_covered[r] < 64) covered[r][n_covered[r]++] = id;
        fresh[r] += !known;
      }
    }
    printf("%-18s client: %d waiting states (%d new), %d cases; server: %d waiting states"
           " (%d new), %d cases\n",
           scenarios[si].name, n_rests[si][TERN_CLIENT], fresh[TERN_CLIENT],
           t.cases[si][TERN_CLIENT], n_rests[si][TERN_SERVER], fresh[TERN_SERVER],
           t.cases[si][TERN_SERVER]);
    for (int r = TERN_CLIENT; r <= TERN_SERVER; r++) {
      /* as many cases ran as the graph calls for, and some at all */
      CHECK_EQ_INT(t.cases[si][r], t.expected[si][r]);
      CHECK(t.expected[si][r] >= n_rests[si][r] && n_rests[si][r] >= 2);
      per_role[r] += t.cases[si][r];
      total += t.cases[si][r];
    }
  }

  for (int r = TERN_CLIENT; r <= TERN_SERVER; r++) {
    /* with every row running, every waiting state QUIC can reach is covered */
    int left = print_uncovered((tern_role)r, covered[r], n_covered[r]);
    if (pending == 0) CHECK_EQ_INT(left, 0);
    printf("%s: refused by", role_names[r]);
    for (int k = 0, first = 1; k < N_CHECKS; k++)
      if (t.by_check[r][k]) {
        printf("%s %s %d", first ? "" : ",", check_names[k], t.by_check[r][k]);
        first = 0;
      }
    printf("; %d cases are message types only the %s receives\n", t.foreign[r],
           role_names[!r]);
  }
  printf("messages:");
  for (int k = 0; k < N_SOURCES; k++) printf(" %s %d%s", source_names[k], t.by_source[k],
                                             k + 1 < N_SOURCES ? "," : "\n");
  printf("tickets:");
  for (size_t si = 0, first = 1; si < N_SCENARIOS; si++)
    if (pools[si].offered) {
      printf("%s %s %d offered (%d full handshakes for them)", first ? "" : ",",
             scenarios[si].name, pools[si].offered, pools[si].harvests);
      first = 0;
    }
  printf("\n");
  printf("order (");
  for (size_t si = 0, first = 1; si < N_SCENARIOS; si++)
    if (!scenarios[si].pending) {
      printf("%s%s", first ? "" : ", ", scenarios[si].name);
      first = 0;
    }
  printf("%s%d pending): %d client cases + %d server cases = %d wrong-order cases, %d without"
         " unexpected_message; %d checks\n",
         pending < (int)N_SCENARIOS ? "; " : "", pending, per_role[TERN_CLIENT],
         per_role[TERN_SERVER], total, t.wrong, check_count);

  for (size_t si = 0; si < N_SCENARIOS; si++) {
    for (int r = 0; r < 2; r++)
      for (int ev = 0; ev <= TERN_EV_MAX; ev++) free(seen[si][r][ev].p);
    for (int k = 0; k < pools[si].n; k++) free(pools[si].s[k].p);
    tern_config_free(client_cfg[si]);
    tern_config_free(server_cfg[si]);
  }
  for (int ev = 0; ev <= TERN_EV_MAX; ev++) free(crafted[ev].p);
  pki_free(&server_pki);
  pki_free(&client_pki);
  return check_report();
}
