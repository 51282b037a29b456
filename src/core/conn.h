/*
 * core/conn.h - core layer: the connection and the configuration behind
 * it, and the primitives every role and transport uses on them (fail,
 * queue an event, random, transcript, send a message, install a secret,
 * keylog, clock, read level). The core reaches the role above it only
 * through c->machine (core/role.h) and the transport only through
 * c->transport (core/transport.h), tables their owners install when the
 * connection is made. Not part of the public API.
 */
#ifndef TERN_CONN_H
#define TERN_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

#include "codec/limits.h"
#include "codec/msg.h"
#include "core/hs_events.h"
#include "core/role.h"
#include "core/transport.h"
#include "crypto/cert.h"
#include "crypto/crypto.h"
#include "crypto/group.h"
#include "crypto/hpke.h"
#include "crypto/keysched.h"

#include <pthread.h>

#define TERN_MAX_SUITES 8
#define TERN_MAX_GROUPS 16
#define TERN_MAX_SHARES 4
#define TERN_MAX_SIGS 16
#define TERN_MAX_CHAINS 4        /* certificate chains of one server configuration */
#define TERN_MAX_ALPN_WIRE 512   /* the encoded ProtocolNameList */
#define TERN_MAX_NAME 256        /* host names, ALPN names (+NUL) */
#define TERN_PENDING_EVENTS 16
#define TERN_EARLY_CTX_LEN 32    /* SHA-256 of the early-data context */
#define TERN_DETAIL_LEN 160      /* a failure's sentence, NUL included */

/* An externally provisioned PSK (RFC 8446 §4.2.11), with what 0-RTT on
   it must use (§4.2.10: the values provisioned along with the key). */
typedef struct tern_external_psk {
  uint8_t identity[TERN_PSK_MAX_IDENTITY];
  size_t identity_len;
  uint8_t key[TERN_PSK_MAX_KEY];       /* wiped when the configuration goes */
  size_t key_len;
  const tern_hash *hash;
  uint32_t max_early_data;             /* 0: no 0-RTT on this PSK */
  uint16_t early_suite;
  char early_alpn[TERN_MAX_NAME];      /* "" for none */
} tern_external_psk;

/* Resumption state, owned by the engine (engine/ticket.h); the core only
   holds the pointers. */
struct tern_ticket_keys;
struct tern_strike;
struct tern_session_state;
struct tern_ticket_state;
struct tern_test_hooks;

/* The message being handled, parsed by the classifier for the action. */
typedef union tern_parsed {
  tern_client_hello ch;
  tern_server_hello sh;
  tern_encrypted_extensions ee;
  tern_certificate_request cr;
  tern_certificate cert;
  tern_certificate_verify cv;
  tern_span fin;
  tern_new_session_ticket nst;
  uint8_t ku_request;            /* KeyUpdate: request_update */
} tern_parsed;

/* Encrypted ClientHello (RFC 9849): one key of a server (engine/ech.c). */
#define TERN_MAX_ECH_KEYS 8
typedef struct tern_ech_key {
  uint8_t *config;                     /* one ECHConfig, version and length included */
  size_t config_len;
  uint8_t sk[TERN_HPKE_MAX_SK];        /* its HPKE private key */
  EVP_PKEY *pkey;                      /* the same, prepared once (crypto/hpke.c) */
  uint8_t pk[TERN_HPKE_MAX_ENC];       /* its public key */
  int retry;                           /* sent in retry_configs */
} tern_ech_key;

struct tern_config {
  int refs;
  tern_role role;
  uint16_t suites[TERN_MAX_SUITES];
  size_t n_suites;
  uint16_t groups[TERN_MAX_GROUPS];
  size_t n_groups;
  uint16_t share_groups[TERN_MAX_SHARES];
  size_t n_share_groups;
  int pq_required;                     /* tern_config_set_pq_required */
  uint16_t sigs[TERN_MAX_SIGS];
  size_t n_sigs;
  uint8_t alpn[TERN_MAX_ALPN_WIRE];   /* ProtocolNameList body */
  size_t alpn_len;
  tern_cert_chain *chain;              /* our certificate and key, or NULL */
  tern_cert_chain *more_chains[TERN_MAX_CHAINS - 1]; /* servers: alternatives */
  size_t n_more_chains;
  uint16_t sigs_cert[TERN_MAX_SIGS];   /* client: signature_algorithms_cert */
  size_t n_sigs_cert;
  tern_trust *trust;                   /* trust anchors, or NULL */
  int verify_peer;
  int verify_name;                     /* client: the server's name checked (default 1) */
  tern_verify_fn verify_fn;
  void *verify_user;
  tern_server_name_fn sni_fn;
  void *sni_user;
  tern_keylog_fn keylog_fn;
  void *keylog_user;
  tern_random_fn random_fn;
  void *random_ctx;
  size_t max_message;
  /* server: client authentication */
  tern_client_auth client_auth;
  uint8_t *ca_names;                   /* certificate_authorities body, or NULL */
  size_t ca_names_len;
  /* time (tern_conn_now) */
  tern_clock_fn clock_fn;
  void *clock_user;
  /* resumption and 0-RTT (resume.c) */
  int psk_ke;                          /* offer / pick psk_ke */
  uint32_t max_early_data;             /* 0: no 0-RTT */
  uint32_t early_window_ms;            /* server: ticket age tolerance */
  tern_early_data_fn early_fn;
  void *early_user;
  /* server */
  struct tern_ticket_keys *ticket_keys;
  unsigned n_tickets;
  uint32_t ticket_lifetime;
  struct tern_strike *strike;          /* made on first use */
  size_t strike_capacity;
  pthread_mutex_t strike_lock;
  tern_replay_fn replay_fn;
  void *replay_user;
  struct tern_strike *psk_strike;      /* binders of accepted external-PSK 0-RTT
                                          ClientHellos, kept for good (under strike_lock) */
  tern_ticket_issued_fn ticket_issued_fn; /* the application's ticket store, */
  tern_ticket_fetch_fn ticket_fetch_fn;   /* which replaces the strike register */
  void *ticket_store_user;
  /* external PSKs (both roles) */
  tern_external_psk psks[TERN_MAX_PSKS];
  size_t n_psks;
  /* client */
  tern_new_session_fn session_fn;
  void *session_user;
  int post_handshake_auth;             /* client: offer it (TCP) */
  size_t record_padding;               /* TCP: pad protected records to a multiple (0: none) */
  uint16_t cert_comp[3];               /* RFC 8879 algorithms, preferred first */
  size_t n_cert_comp;
  int ech_grease;                      /* client: GREASE ECH without a config */
  /* server: Encrypted ClientHello keys, current and previous */
  tern_ech_key ech_keys[TERN_MAX_ECH_KEYS];
  size_t n_ech_keys;
};

/* Handshake bytes received at one level, not yet consumed. */
typedef struct tern_inbuf {
  uint8_t *buf;
  size_t len;   /* bytes held */
  size_t off;   /* bytes consumed */
  size_t cap;
} tern_inbuf;

/* A connection's Encrypted ClientHello state (RFC 9849, engine/ech.c),
   on the heap only for connections that use ECH: most do not, and these
   1.4 KB were in every connection. */
typedef struct tern_ech_conn {
  tern_hpke_ctx hpke;             /* the context of ClientHello1, reused for ClientHello2 */
  uint8_t config_id;
  uint16_t kdf, aead;
  uint8_t *config;                /* client: the ECHConfig chosen */
  size_t config_len;
  uint8_t *retry;                 /* client: the server's retry_configs */
  size_t retry_len;
  uint8_t *outer;                 /* client: ClientHelloOuter1, until the ServerHello */
  size_t outer_len;
  uint8_t outer_random[32];       /* client: ClientHelloOuter.random */
  char public_name[TERN_MAX_NAME];
  char inner_name[TERN_MAX_NAME]; /* the name ClientHelloInner carried */
  char outer_name[TERN_MAX_NAME]; /* server: the outer SNI */
  uint8_t grease_ext[8 + 32 + 2 + 256]; /* client: the GREASE extension (§6.2) */
  size_t grease_len;
} tern_ech_conn;

/*
 * The key exchange, on the heap from our first key share (client) or the
 * client's share we take (server) until the shared secret is derived:
 * 880 bytes a handshake needs only for one round trip.
 */
typedef struct tern_kex {
  /* our key shares (client: one per share group; server: one) */
  tern_key_share shares[TERN_MAX_SHARES];
  /* server: the client's share (inline up to an EC share, on the heap
     for FFDHE) from the ClientHello until the ServerHello uses it */
  tern_share_copy peer_share;
} tern_kex;

/*
 * What only the handshake needs, on the heap from the connection's making
 * until the handshake completes (tern_conn_hs_release): then a QUIC
 * connection wipes and frees it, keeping only struct tern_kept. A TLS
 * connection over TCP keeps it, for KeyUpdate (the traffic secrets and
 * the key schedule's machine) and post-handshake authentication (the
 * transcript and what a CertificateRequest negotiates).
 */
typedef struct tern_hs {
  uint8_t client_random[32];
  uint8_t session_id[32];
  size_t session_id_len;
  uint8_t *cookie;                /* HelloRetryRequest cookie: TERN_MAX_COOKIE
                                     bytes on the heap once there is one */
  size_t cookie_len;

  /* the key exchange under way, or NULL (tern_conn_kex) */
  struct tern_kex *kex;
  size_t n_shares;                /* kex->shares in use */

  /* server: what the first ClientHello said, to check the second */
  uint8_t *ch1;
  size_t ch1_len;
  int cert_requested;

  /* peer authentication */
  struct evp_pkey_st *peer_key;   /* from the peer's verified certificate */
  uint16_t peer_sigs[TERN_MAX_SIGS]; /* ours among the signature_algorithms the peer sent */
  size_t n_peer_sigs;

  /* transcript and key schedule */
  tern_transcript transcript;
  int transcript_ready;
  tern_keysched ks;

  /* our QUIC transport parameters */
  uint8_t *tp;
  size_t tp_len;
  int tp_set;
  int tp_sent;           /* server: EncryptedExtensions carried them */

  /* client: the extensions our ClientHello carried, which bound what
     the server may answer with (RFC 8446 §4.2) */
  uint32_t sent_exts;                  /* TERN_EXT_BIT of known ones */
  uint16_t sent_unknown[8];            /* types the codec does not know */
  size_t n_sent_unknown;

  /* resumption and 0-RTT (resume.c) */
  struct tern_session_state *offer; /* client: the session offered, or NULL */
  uint32_t offer_age_ms;          /* client: its age when set */
  int offer_early;                /* client: early_data goes in this ClientHello */
  struct tern_ticket_state *ticket; /* server: the accepted ticket, or NULL */
  uint16_t selected_psk;          /* the index of the accepted PSK in the ClientHello */
  uint8_t psk_kinds[TERN_MSG_MAX_PSK]; /* client: what each identity we offer is
                                          (engine/resume.c) */
  size_t n_psk_offered;           /* client: identities in our pre_shared_key */

  /* post-handshake authentication over TCP (handshake.c) */
  uint8_t pha_context[32];        /* its certificate_request_context */
  size_t pha_context_len;
  tern_transcript hs_transcript;  /* the handshake's, kept during one */
  uint8_t *pha_leaf;              /* the certificate of the one under way */
  size_t pha_leaf_len;

  /* what c->alpn and c->server_name point at until the release */
  char alpn[TERN_MAX_NAME];
  char server_name[TERN_MAX_NAME];
} tern_hs;

/*
 * What a QUIC connection keeps of its handshake once it completed: the
 * secrets a getter or a post-handshake message may still need (exporters,
 * NewSessionTicket) and the negotiated names, in one block.
 */
typedef struct tern_kept {
  uint8_t exporter[TERN_MAX_HASH_LEN];
  uint8_t resumption[TERN_MAX_HASH_LEN];
  size_t size;                    /* of the block, names included */
  uint8_t *early_exporter;        /* when early_exporter_ready: its
                                     TERN_MAX_HASH_LEN bytes at the block's
                                     end (few connections have one), else NULL */
  char names[];                   /* alpn NUL server_name NUL */
} tern_kept;

struct tern_conn {
  tern_config *cfg;
  tern_role role;
  int quic;                       /* the rules of RFC 9001 apply */
  const tern_quic_callbacks *qcb; /* the application's, when it hands
                                     handshake bytes and secrets itself */
  const tern_transport *transport;  /* installed by the transport layer */
  struct tern_tls *tls;           /* TLS over TCP: the transport's state
                                     (transport/tls.c), or NULL */
  void *user;

  /* the handshake's own state until it completes (then NULL in QUIC),
     and what a QUIC connection keeps of it after (else NULL) */
  tern_hs *hs;
  tern_kept *kept;

  /* the role's machine (installed by the API from the engine) and the
     events it must send */
  const tern_role_machine *machine;
  int cs;
  int started;
  unsigned char pending[TERN_PENDING_EVENTS];
  size_t n_pending;

  /* sticky failure; the sentence is on the heap (TERN_DETAIL_LEN bytes)
     only once the connection failed */
  int error;
  uint8_t alert;
  char *detail;

  /* input: CRYPTO data per level; which level may be read now */
  tern_inbuf in[4];
  tern_level read_level;
  tern_level write_level;
  /* the message being handled by an action (header included) */
  const uint8_t *msg;
  size_t msg_len;
  tern_parsed *parsed;            /* its parsed form */
  uint8_t *msg_plain;             /* heap bytes the parsed form points into
                                     (a decompressed CompressedCertificate),
                                     freed once the message is handled */
  size_t msg_plain_len;
  int msg_ends_input;             /* set by the classifier: the message
                                     comes right before a key change, so
                                     nothing may follow it in its record
                                     (RFC 8446 §5.1) */

  /* negotiation */
  uint16_t group;
  uint16_t sig_scheme;
  const tern_suite *suite;
  char *alpn;                     /* NUL-terminated ("" for none): hs->alpn
                                     during the handshake, then kept->names */
  char *server_name;              /* the same: hs->server_name, then kept */
  int used_hrr;
  int psk_mode;                  /* PSK accepted: TERN_PSK_DHE_KE + 1 or TERN_PSK_KE + 1 */
  tern_cert_chain *own_chain;     /* the chain this connection presents */
  /* certificate compression (RFC 8879): the algorithm our next Certificate
     goes with (0: uncompressed), and those of the last CompressedCertificate
     sent and received */
  uint16_t cert_comp_next;
  uint16_t cert_comp_sent;
  uint16_t cert_comp_recv;

  uint8_t *peer_leaf;             /* DER of the peer's leaf certificate */
  size_t peer_leaf_len;

  /* the peer's QUIC transport parameters */
  uint8_t *peer_tp;
  size_t peer_tp_len;
  int peer_tp_seen;

  /* time given by tern_conn_set_time */
  int now_set;
  uint64_t now_ms;

  /* resumption and 0-RTT (resume.c) */
  const tern_suite *early_suite;  /* suite of the 0-RTT secrets */
  int early_status;               /* tern_early_data_status */
  int early_exporter_ready;
  uint8_t external_psk;           /* 1 + index in cfg->psks of the accepted
                                     external PSK; 0 when none */
  uint8_t ticket_client_auth;     /* server: the accepted ticket's session
                                     had client authentication */
  uint32_t early_max;             /* TCP: the most 0-RTT data we send (client)
                                     or take (server); 0 when none */
  uint8_t early_ctx[TERN_EARLY_CTX_LEN]; /* server: SHA-256 of the context */
  uint64_t tickets_sent;          /* server: also the next ticket_nonce */

  /* substitutions only tests install (tests/testhook.c), else NULL */
  const struct tern_test_hooks *test;
  void *test_ctx;

  int ku_request;                 /* the KeyUpdate being sent asks for one back */
  /* post-handshake messages received since the peer's last application
     data, by kind (engine/classify.c counts, the transport resets; the
     limits are in codec/limits.h) */
  unsigned in_a_row[4];
  int early_input;                /* the buffered handshake bytes came under 0-RTT keys */
  int early_data_ended;           /* EndOfEarlyData sent (client) / received (server) */

  /* post-handshake authentication over TCP (handshake.c; the rest in hs) */
  int pha_offered;                /* client sent post_handshake_auth */
  int pha_active;                 /* an exchange is under way */
  unsigned pha_completed;         /* server: exchanges finished */

  /* Encrypted ClientHello (RFC 9849, engine/ech.c) */
  int ech_status;                 /* TERN_ECH_* (tern.h); client: OFFERED until the
                                     server's first answer */
  int done;                       /* the handshake completed */
  struct tern_ech_conn *ech;      /* made when ECH is offered, received or
                                     GREASEd (tern_conn_ech), else NULL */
};

/* The secrets a completed handshake leaves, wherever they are now. */
static inline const uint8_t *tern_conn_exporter_secret(const tern_conn *c) {
  return c->hs != NULL ? c->hs->ks.exporter : c->kept->exporter;
}
static inline const uint8_t *tern_conn_resumption_secret(const tern_conn *c) {
  return c->hs != NULL ? c->hs->ks.resumption : c->kept->resumption;
}
static inline const uint8_t *tern_conn_early_exporter_secret(const tern_conn *c) {
  return c->hs != NULL ? c->hs->ks.early_exporter : c->kept->early_exporter;
}

/*
 * Substitutions that let tests replay published traces (RFC 8448) byte
 * for byte through a real connection. Only tests/testhook.c installs
 * them; in every other connection c->test is NULL and no hook runs.
 */
typedef struct tern_test_hooks {
  /* client: a whole ClientHello to send instead of the one built
     (index 0, or 1 after a HelloRetryRequest), or NULL */
  const uint8_t *(*client_hello)(const tern_conn *c, int index, size_t *len);
  /* server: the cookie of a HelloRetryRequest instead of a random one, or NULL */
  const uint8_t *(*hrr_cookie)(const tern_conn *c, size_t *len);
  /* server: 1 when the offered identity is to be taken as a ticket of
     ours, with *st filled in; 0 to open it as usual */
  int (*server_psk)(const tern_conn *c, const tern_psk_identity *id, uint64_t now,
                    struct tern_ticket_state *st);
  /* frees c->test_ctx when the connection goes */
  void (*release)(tern_conn *c);
} tern_test_hooks;

/* ---- core/conn.c: making, failing, and what actions do ---- */

/* Takes one reference to cfg / drops one (1 when it was the last): atomic,
   so connections of one configuration may be made and freed on several
   threads at once. */
void tern_config_hold(tern_config *cfg);
int tern_config_release_ref(tern_config *cfg);

/* A new connection of cfg's role driven by machine, not yet bound to a
   transport (the transport layer installs c->transport). */
tern_conn *tern_conn_alloc(tern_config *cfg, const tern_role_machine *machine, void *user);

/* Fails the connection with alert and a sentence (printf-style); returns
   TERN_ERR_ALERT so actions can `return tern_conn_fail(...)`. */
int tern_conn_fail(tern_conn *c, uint8_t alert, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* After a failure: the transport tells the peer (an alert record over
   TCP; nothing in QUIC, where the application sends CONNECTION_CLOSE). */
void tern_conn_report_failure(tern_conn *c);

/* Queues an event for the machine to run after the current action. */
int tern_conn_push_event(tern_conn *c, unsigned char ev);

/* Random bytes from the configured source. */
int tern_conn_random(tern_conn *c, uint8_t *out, size_t len);

/* The same as a tern_random_fn on the connection conn (0 or -1), which
   does not fail the connection: the source of its key shares. */
int tern_conn_draw(void *conn, uint8_t *out, size_t len);

/* Adds a whole handshake message to the transcript. */
int tern_conn_transcript_add(tern_conn *c, const uint8_t *msg, size_t len);

/* Sends a whole handshake message through the transport and adds it to
   the transcript. */
int tern_conn_send_msg(tern_conn *c, const uint8_t *msg, size_t len);
/* Sends wire[0..wire_len) but hashes hashed[0..hashed_len) into the
   transcript (when it is running) in its place: a ClientHelloOuter goes
   out while the ClientHelloInner is what the handshake is over (RFC 9849). */
int tern_conn_send_msg_hashing(tern_conn *c, const uint8_t *wire, size_t wire_len,
                               const uint8_t *hashed, size_t hashed_len);

/* Installs a secret through the transport, with its keylog line. label
   is the NSS keylog label or NULL. */
int tern_conn_install_secret(tern_conn *c, tern_level level, tern_direction dir,
                             const uint8_t *secret, const char *keylog_label);

/* Logs one secret (when a keylog callback is set). */
void tern_conn_keylog(tern_conn *c, const char *label, const uint8_t *secret,
                      size_t len);

/* Whether cfg's cipher suites include suite. */
int tern_config_has_suite(const tern_config *cfg, uint16_t suite);

/* Whether c may negotiate suite: cfg has it and, in QUIC, it is one QUIC
   allows (not TLS_AES_128_CCM_8_SHA256, RFC 9001 §5.3). */
int tern_conn_suite_usable(const tern_conn *c, uint16_t suite);

/* The current time in ms: tern_conn_set_time, else the clock callback.
   Returns TERN_OK or TERN_ERR_STATE when neither exists. */
int tern_conn_now(const tern_conn *c, uint64_t *now);

/* c's ECH state, made (zeroed) on first use; NULL when out of memory.
   engine/ech.c's tern_ech_conn_free wipes and frees it. */
tern_ech_conn *tern_conn_ech(tern_conn *c);

/* Ends the handshake state of a completed QUIC handshake: the secrets
   and names post-handshake messages and getters need go into c->kept,
   then c->hs is wiped and freed, with what it owns (core parts; the
   engine frees its own first). TERN_OK, or TERN_ERR_NOMEM with c->hs
   left as it was. */
int tern_conn_hs_release(tern_conn *c);

/* c->hs->kex, made (empty) on first use; NULL when out of memory. */
tern_kex *tern_conn_kex(tern_conn *c);

/* Wipes and frees c->hs->kex (its key pairs freed), if any. */
void tern_conn_kex_free(tern_conn *c);

/* Frees the handshake state, or what was kept of it (the connection is
   going; the engine has freed its own parts). */
void tern_conn_hs_free(tern_conn *c);

/* Moves the read level (levels only move forward). */
int tern_conn_set_read_level(tern_conn *c, tern_level level);

/* ---- core/dispatch.c: bytes in, events through the machine ---- */

/* Buffers handshake bytes received at level (size caps apply). */
int tern_conn_buffer_input(tern_conn *c, tern_level level, const uint8_t *data, size_t len);

/* Handles every whole handshake message buffered at the read level:
   TERN_WANT_READ when it needs more, or the failure. */
int tern_conn_process(tern_conn *c);

/* Feeds one event to the role's machine, then the events its action
   queued (our own messages), in order. */
int tern_conn_run_event(tern_conn *c, unsigned char ev);

/* Runs the events the last action queued (our own messages). */
int tern_conn_run_pending(tern_conn *c);

/* Bytes of a handshake message not yet whole, buffered at the read level. */
size_t tern_conn_input_pending(const tern_conn *c);

/* Frees the bytes buffered at every level. */
void tern_conn_free_input(tern_conn *c);

#endif
