/*
 * fuzz.h - what the fuzz targets of fuzz/ share with the seed generator
 * (gen_corpus.c): a deterministic world (random bytes, clock, an Ed25519
 * PKI whose certificates are the same bytes in every process), the
 * victims' configurations, and the executors that turn one fuzz input
 * into calls on a victim connection.
 *
 * Everything a victim draws comes from a counter-based generator reset
 * for every input, so a handshake recorded by gen_corpus replays byte for
 * byte: the recorded peer's Finished and binders still verify, and the
 * fuzzer's mutations decide where the peer departs from the real one.
 *
 * Input formats (all lengths big-endian):
 *   QUIC targets: flags, [u16 session blob length, blob] when
 *     FZ_F_SESSION, [a FZ_OP_CONFIG chunk: more flags], then chunks (u8 op, u16 len, data): op 0..3 gives
 *     data to tern_quic_provide_data at that level and runs
 *     tern_handshake; op FZ_OP_ACTION runs a victim action (data[0]).
 *   TLS targets: flags, [session as above], then chunks: FZ_OP_RAW feeds
 *     data to tern_tls_feed as it is; FZ_OP_SEAL_HS / _APP / _EARLY seal
 *     data as one TLSInnerPlaintext (content, type, padding: exactly as
 *     given) into a record of that epoch, under the victim's read keys
 *     learned from its keylog callback; FZ_OP_NEXT_APP moves the sealing
 *     key to the next generation (after a KeyUpdate the input sent);
 *     FZ_OP_ACTION runs a victim action.
 */
#ifndef TERN_FUZZ_H
#define TERN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tern.h>

/* flags, the first byte of a QUIC or TLS input */
#define FZ_F_HRR 0x01         /* server victim takes P-256 only: a HelloRetryRequest */
#define FZ_F_CLIENT_AUTH 0x02 /* server victim requires a client certificate */
#define FZ_F_SESSION 0x04     /* client victim: a session blob follows */
#define FZ_F_EARLY 0x08       /* 0-RTT enabled on the victim */
#define FZ_F_PSK 0x10         /* an external PSK on the victim */
#define FZ_F_GROUPS 0x20      /* X448, P-521, P-384, ffdhe2048 only; the client's share X448 */
#define FZ_F_FFDHE 0x40       /* ffdhe2048 only, a share of it from the client */
#define FZ_F_SUITES 0x80      /* CCM_8 (TCP), CCM, AES-256, ChaCha20; records padded to 32 */

/* More flags: data[0] of a FZ_OP_CONFIG chunk when it is the input's
   first chunk (read before the victim is made; inputs without one run as
   before). Inside the harness they are bits 8..15 of the flags. */
#define FZ_X_ECH 0x0100         /* ECH: the server holds the fixed ECH key (config_id 1,
                                   X25519, public_name localhost); the client offers it */
#define FZ_X_ECH_REJECT 0x0200  /* the client offers an ECHConfig of another key
                                   (config_id 2): rejected, retry_configs, ech_required */
#define FZ_X_ECH_GREASE 0x0400  /* the client sends GREASE ECH (server as FZ_X_ECH) */
#define FZ_X_CERTCOMP 0x0800    /* certificate compression both ways, every algorithm
                                   this build has, zlib first ... */
#define FZ_X_CC_BROTLI 0x1000   /* ... or brotli first ... */
#define FZ_X_CC_ZSTD 0x2000     /* ... or zstd first */
#define FZ_X_ECH_ANY (FZ_X_ECH | FZ_X_ECH_REJECT | FZ_X_ECH_GREASE)

/* chunk ops */
#define FZ_OP_RAW 0         /* TLS: bytes as they are */
#define FZ_OP_SEAL_HS 1     /* TLS: sealed under the peer's handshake key */
#define FZ_OP_SEAL_APP 2    /* TLS: sealed under the peer's current application key */
#define FZ_OP_SEAL_EARLY 3  /* TLS: sealed under the peer's early key */
#define FZ_OP_NEXT_APP 5    /* TLS: next generation of the peer's application key */
#define FZ_OP_CONFIG 0x20   /* both, first chunk only: data[0] = flags >> 8 (FZ_X_*) */
#define FZ_OP_ACTION 0x10   /* both: the victim does something (data[0]) */
/* TLS modifiers of RAW and SEAL_* (or-ed into op): */
#define FZ_OP_HOLD 0x80     /* keep the bytes; the next fed chunk carries them too
                               (several records in one tern_tls_feed) */
#define FZ_OP_PIECES 0x40   /* feed in pieces of 7 bytes (records cut anywhere) */

/* victim actions (data[0] of FZ_OP_ACTION, modulo FZ_ACTIONS) */
enum {
  FZ_ACT_WRITE = 0,        /* tern_tls_write of data[1..] */
  FZ_ACT_KEY_UPDATE = 1,   /* tern_tls_key_update(data[1] & 1) */
  FZ_ACT_TICKETS = 2,      /* tern_conn_send_tickets(1) */
  FZ_ACT_CLIENT_AUTH = 3,  /* tern_tls_request_client_auth */
  FZ_ACT_CLOSE = 4,        /* tern_tls_close */
  FZ_ACT_RELEASE = 5,      /* tern_tls_release_buffers */
  FZ_ACT_READ = 6,         /* tern_tls_read until empty */
  FZ_ACT_EXPORT = 7,       /* exporters, negotiated values, peer certificate */
  FZ_ACTIONS = 8
};

/* The fixed clock of every victim (ms; 2027) and the certificates'
   validity (2020-01-01 .. 2100-01-01). */
#define FZ_NOW_MS 1800000000000ULL

/* Deterministic random bytes: SHA-256(stream || counter) blocks. */
typedef struct fz_rng {
  uint8_t stream;
  uint64_t counter;
} fz_rng;
int fz_random(void *ctx, uint8_t *out, size_t len);

/* The deterministic PKI: root CA, server leaf (localhost), client leaf;
   every key Ed25519 from fixed bytes. Made once, never freed. */
typedef struct fz_pki {
  EVP_PKEY *ca_key, *server_key, *client_key;
  X509 *ca, *server, *client;
  X509_STORE *store;
} fz_pki;
const fz_pki *fz_pki_get(void);

/* A fixed key, of every type tern signs with, from fixed bytes (RSA from
   an embedded PEM); NULL for an unknown type. */
EVP_PKEY *fz_fixed_key(int sig_scheme);

/* Configurations. role is the victim's; the peer's configuration (for
   gen_corpus) is made with fz_peer_config. rng belongs to the caller. */
tern_config *fz_victim_config(tern_role role, unsigned flags, fz_rng *rng);
tern_config *fz_peer_config(tern_role role, unsigned flags, fz_rng *rng);

/* The fixed ECH key of FZ_X_ECH: its ECHConfigList (config_id 1) and,
   for FZ_X_ECH_REJECT, a list of another key (config_id 2) no victim
   holds. Made once from fixed bytes. */
const uint8_t *fz_ech_list(int other, size_t *len);
/* The private key (X25519) of config_id 1. */
extern const uint8_t fz_ech_sk[32];

/* The fixed server ticket key (name, key) both gen_corpus and the victims use. */
extern const uint8_t fz_ticket_name[16];
extern const uint8_t fz_ticket_key[32];

/* Transport parameters both QUIC sides send. */
extern const uint8_t fz_tp[8];

/* One TLS epoch's record key, derived like RFC 8446 §7.3. */
typedef struct fz_epoch {
  int ready;
  uint16_t suite;
  uint8_t secret[48];
  size_t secret_len;
  uint64_t seq;
} fz_epoch;

/* A victim and what the harness learned of it. */
typedef struct fz_victim {
  tern_conn *conn;
  tern_config *cfg;
  tern_role role;
  int tls;                       /* 1: TLS over TCP, 0: QUIC */
  fz_rng rng;
  /* secrets the victim reads with, from its keylog (the peer's write keys) */
  fz_epoch early, hs, app;
  unsigned app_gen;              /* generations the sealing key moved */
  /* QUIC: bytes the victim sent per level (discarded unless recorded) */
  uint8_t *pending;               /* TLS: held bytes (FZ_OP_HOLD) */
  size_t pending_len;
  uint8_t *sent[4];
  size_t sent_len[4], sent_cap[4];
  int record_sent;
  int session_rc;                /* a client's tern_conn_set_session (TERN_OK: none given) */
} fz_victim;

/* Makes the victim of one input; flags and session as in the input.
   Returns 0 or -1. */
int fz_victim_init(fz_victim *v, tern_role role, int tls, unsigned flags,
                   const uint8_t *session, size_t session_len);
/* The victim's first move: a client sends its ClientHello. 0 or -1. */
int fz_victim_start(fz_victim *v);
void fz_victim_free(fz_victim *v);

/* Runs one chunk on the victim. Returns 0 to go on, -1 once the victim
   failed (later chunks would do nothing). */
int fz_victim_chunk(fz_victim *v, uint8_t op, const uint8_t *data, size_t len);

/* ClientHelloOuter and the fixed ECH key (config_id 1, HKDF-SHA256,
   AES-128-GCM), for the ech target and its seeds. fz_ech_seal puts an
   encrypted_client_hello first in the extensions of the ClientHello body
   outer[0..outer_len) whose payload is inner[0..inner_len) (an
   EncodedClientHelloInner) sealed with a fixed ephemeral key, the AAD the
   result with the payload zeroed: out[0..*out_len). fz_ech_open does the
   reverse on a ClientHelloOuter a tern client made: the
   EncodedClientHelloInner into inner, the outer without its ECH extension
   into stripped (buffers of outer_len bytes). Both return 0 or -1. */
int fz_ech_seal(const uint8_t *outer, size_t outer_len, const uint8_t *inner, size_t inner_len,
                uint8_t *out, size_t cap, size_t *out_len);
int fz_ech_open(const uint8_t *outer, size_t outer_len, uint8_t *stripped, size_t *stripped_len,
                uint8_t *inner, size_t *inner_len);

/* Runs a whole input (the fuzz targets' body). Returns 1 when the victim
   completed its handshake, 0 otherwise; fz_last_ech_status is then the
   victim's tern_conn_ech_status and fz_last_alert the alert it sent or
   received (tern_conn_alert), for gen_corpus's checks. */
int fz_run_input(tern_role role, int tls, const uint8_t *data, size_t size);
extern int fz_last_ech_status;
extern uint8_t fz_last_alert;
extern char fz_last_detail[256];  /* its tern_conn_error_detail */

/* Two victims talking. fz_pump moves what `from` sent to `to`: through
   emit when given (which must run the chunk on `to`; gen_corpus records
   it too), TLS records then turned into the chunks that reproduce them
   (protected ones as the inner plaintext of the epoch that opens them);
   without emit straight to `to`. Both record what they send
   (record_sent). Returns 1 when something moved. fz_converse pumps both
   ways until nothing moves: 0, or -1 when it never settles. */
typedef void (*fz_emit_fn)(void *user, uint8_t op, const uint8_t *data, size_t len);
int fz_pump(fz_victim *from, fz_victim *to, fz_emit_fn emit, void *user);
int fz_converse(fz_victim *client, fz_victim *server, fz_emit_fn to_client, void *cu,
                fz_emit_fn to_server, void *su);

/* TLS record sealing and opening under an epoch (peer's view). inner is
   the whole TLSInnerPlaintext. out gets header + ciphertext + tag; returns
   its length, or 0. fz_open returns the inner plaintext length or -1. */
size_t fz_seal(fz_epoch *e, const uint8_t *inner, size_t len, uint8_t *out,
               size_t cap);
long fz_open(fz_epoch *e, const uint8_t *rec, size_t len, uint8_t *inner,
             size_t cap);
/* Moves an epoch to the next generation ("traffic upd", RFC 8446 §7.2). */
int fz_epoch_next(fz_epoch *e);

/* Ticket plaintext sealing under fz_ticket_key (name || nonce ||
   AES-256-GCM || tag) and opening; return the length or 0. */
size_t fz_ticket_seal(const uint8_t *plain, size_t len, const uint8_t nonce[12],
                      uint8_t *out, size_t cap);
size_t fz_ticket_open(const uint8_t *ticket, size_t len, uint8_t *plain,
                      size_t cap);

#endif
