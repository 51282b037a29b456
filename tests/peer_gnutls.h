/*
 * peer_gnutls.h - an in-process GnuTLS (3.7+) TLS 1.3 peer in QUIC mode
 * for tern's interop tests, driven message by message.
 *
 * The peer has no transport: the test moves handshake bytes between it
 * and the other side per encryption level, numbered like tern_level
 * (0 INITIAL, 1 EARLY, 2 HANDSHAKE, 3 APPLICATION):
 *
 *   peer_gnutls *s = peer_gnutls_new(1, &opts);
 *   peer_gnutls_feed(s, 0, client_hello, n);   // bytes from the other side
 *   peer_gnutls_step(s);                        // runs gnutls_handshake
 *   n = peer_gnutls_take(s, 0, buf, sizeof buf); // ServerHello to send
 *   n = peer_gnutls_take(s, 2, buf, sizeof buf); // EE..Finished to send
 *
 * GnuTLS hands the peer its traffic secrets (kept per level and
 * direction), the handshake messages it sends (queued per level until
 * taken, and logged by type), and the alerts it sends (QUIC carries those
 * in CONNECTION_CLOSE, so the peer only records them). The
 * quic_transport_parameters extension (57) is registered on the session
 * for ClientHello and EncryptedExtensions; the peer's own body comes from
 * the options and the other side's is kept.
 *
 * The priority string is always TLS 1.3 only with the middlebox
 * compatibility mode off (%DISABLE_TLS13_COMPAT_MODE), as RFC 9001 §8.4
 * wants; EndOfEarlyData is suppressed (GNUTLS_NO_END_OF_EARLY_DATA).
 */
#ifndef TERN_TESTS_PEER_GNUTLS_H
#define TERN_TESTS_PEER_GNUTLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct peer_gnutls peer_gnutls;

/* The levels, numbered as tern_level. */
enum {
  PEER_GNUTLS_INITIAL = 0,
  PEER_GNUTLS_EARLY = 1,
  PEER_GNUTLS_HANDSHAKE = 2,
  PEER_GNUTLS_APPLICATION = 3,
  PEER_GNUTLS_LEVELS = 4
};

/* Secret directions, as tern_direction. */
enum { PEER_GNUTLS_READ = 0, PEER_GNUTLS_WRITE = 1 };

/*
 * Options for peer_gnutls_new; zero (NULL) fields take the default. The
 * strings are copied or used during peer_gnutls_new only (the transport
 * parameters are copied).
 *
 * The algorithm lists are colon-separated GnuTLS priority names; a name
 * without a leading '+' or '-' gets '+' and, for groups and signatures,
 * the "GROUP-" / "SIGN-" prefix when it lacks it. A given list replaces
 * GnuTLS's defaults for that class (-CIPHER-ALL, -GROUP-ALL, -SIGN-ALL),
 * keeping the order, which is the preference order:
 *   ciphers  "AES-128-GCM:AES-256-GCM:CHACHA20-POLY1305:AES-128-CCM"
 *   groups   "X25519:X448:SECP256R1:SECP384R1:SECP521R1:FFDHE2048..."
 *   sigalgs  "ECDSA-SECP256R1-SHA256:RSA-PSS-RSAE-SHA256:EdDSA-Ed25519..."
 */
typedef struct peer_gnutls_opts {
  const char *ciphers; /* NULL: GnuTLS NORMAL's TLS 1.3 suites */
  const char *groups;  /* NULL: GnuTLS NORMAL's groups */
  const char *sigalgs; /* NULL: GnuTLS NORMAL's signature algorithms */
  const char *priority_extra; /* appended verbatim after a ':' (or NULL) */

  /* ALPN protocols, comma-separated ("h3,hq-interop"); NULL for none.
   * A server with ALPN set and alpn_mandatory refuses a client without a
   * match (no_application_protocol). */
  const char *alpn;
  int alpn_mandatory;

  /* Our quic_transport_parameters body; NULL with len 0 sends an empty
   * extension unless no_transport_params is set, which leaves the
   * extension out altogether (the server then also ignores the client's). */
  const uint8_t *transport_params;
  size_t transport_params_len;
  int no_transport_params;

  /* PEM files. Server: cert_file + key_file required. Client: ca_file is
   * the trust anchor for the server's certificate, which is verified
   * against server_name (NULL: "localhost"); cert_file + key_file give a
   * client certificate. Server: ca_file with request_client_cert asks for
   * (1) or requires (2) a client certificate verified against it (for
   * TLS client use); asked for only, a client without one is accepted. */
  const char *cert_file;
  const char *key_file;
  const char *ca_file;
  const char *server_name;
  int no_verify;           /* client: skip verifying the server */
  int no_sni;              /* client: don't send server_name */
  int request_client_cert; /* server: 0 none, 1 request, 2 require */

  /* Key shares the client sends: 1 the first group only, 2 the top two
   * kinds (GnuTLS default), 3 the top three kinds. Use 1 with a server
   * that lacks the client's first group to force a HelloRetryRequest. */
  int key_shares;

  /* Server: enable session tickets, with ticket_key (from
   * peer_gnutls_ticket_key of an earlier server, so a later server can
   * resume its tickets) or else a fresh key. GnuTLS 3.7 then sends two
   * NewSessionTickets at the APPLICATION level right behind its Finished,
   * in its first flight (before the client's Finished arrived). Without
   * tickets the server runs with GNUTLS_NO_TICKETS. */
  int tickets;
  const uint8_t *ticket_key;
  size_t ticket_key_len;

  /* Client: session data from peer_gnutls_session_data (a ticket) to
   * resume with; early_data additionally enables 0-RTT (client and
   * server; the server accepts up to 0xffffffff bytes and puts that in
   * its tickets). GnuTLS accepts 0-RTT only under anti-replay, and only
   * for tickets issued after the anti-replay context started; the early
   * data servers share one context while any of them is alive, so keep
   * the server that issued the ticket until the resuming one is made. */
  const uint8_t *resume_data;
  size_t resume_data_len;
  int early_data;

  /* With 0-RTT: a label for the early exporter, which GnuTLS serves only
   * during the handshake (gnutls_prf_early), so the peer takes it as the
   * 0-RTT key comes (peer_gnutls_early_export). NULL: none. */
  const char *early_exporter_label;

  /* An external PSK (RFC 8446 §4.2.11; GnuTLS 3.7 binds every external
   * PSK to SHA-256). Client: offers psk_identity with psk_key. Server:
   * knows that one identity (any other is GnuTLS's "unknown user", for
   * which it makes up a random key, so the binder fails); with a PSK a
   * server needs no certificate. The priority gains +ECDHE-PSK:+DHE-PSK
   * (psk_dhe_ke) and, with psk_ke, +PSK (psk_ke); psk_ke_only leaves
   * out the first two. */
  const char *psk_identity;
  const uint8_t *psk_key;
  size_t psk_key_len;
  int psk_ke;
  int psk_ke_only;

  /* Hand received bytes to GnuTLS as they come, whatever their level
   * (see peer_gnutls_feed); by default the peer checks and orders them. */
  int raw_levels;

  /* Print GnuTLS's debug log at this level to stderr (0: off). */
  int debug_level;
} peer_gnutls_opts;

/*
 * peer_gnutls_new makes a client (is_server 0) or server peer. Returns
 * NULL on a bad option (e.g. a priority GnuTLS rejects, a missing file);
 * peer_gnutls_last_new_error then says why.
 */
peer_gnutls *peer_gnutls_new(int is_server, const peer_gnutls_opts *o);

/* The reason of the last failed peer_gnutls_new (static storage). */
const char *peer_gnutls_last_new_error(void);

/* peer_gnutls_free releases everything; NULL is fine. */
void peer_gnutls_free(peer_gnutls *p);

/*
 * peer_gnutls_feed hands over handshake bytes the other side sent at a
 * level (any fragmentation). GnuTLS 3.7 ignores the level of what it is
 * given (gnutls_handshake_write appends to one stream), so the peer does
 * what a QUIC stack must: it frames the bytes of each level into
 * messages and refuses a message type that has no place at that level
 * (ClientHello/ServerHello at INITIAL, EE/Certificate/
 * CertificateRequest/CertificateVerify/Finished at HANDSHAKE, only
 * NewSessionTicket to a client at APPLICATION, nothing at EARLY) with
 * unexpected_message (10), and it holds each level's bytes until GnuTLS
 * could read that level (HANDSHAKE: once it has the read secret;
 * APPLICATION: once the handshake is complete - GnuTLS silently drops a
 * NewSessionTicket that arrives before) and the messages are whole.
 * peer_gnutls_step passes them on.
 * With opts.raw_levels the bytes go straight to gnutls_handshake_write.
 * Returns 0, or a negative GnuTLS error (also kept as the peer's error).
 */
int peer_gnutls_feed(peer_gnutls *p, int level, const uint8_t *d, size_t n);

/*
 * peer_gnutls_step passes the held bytes on and runs gnutls_handshake as
 * far as they allow; after completion it processes post-handshake
 * messages (NewSessionTicket). Returns 1 once the handshake is complete
 * (and on every later call that finds no error), 0 when it needs more
 * bytes, or a negative GnuTLS error when it failed (also on every later
 * call); on failure the peer sends the fitting alert (peer_gnutls_alert).
 */
int peer_gnutls_step(peer_gnutls *p);

/* 1 once the handshake completed. */
int peer_gnutls_done(const peer_gnutls *p);

/* The number of bytes queued for sending at a level. */
size_t peer_gnutls_pending(const peer_gnutls *p, int level);

/*
 * peer_gnutls_take moves up to cap queued bytes of a level into out and
 * returns how many; the rest stays queued. out may be NULL with cap 0.
 */
size_t peer_gnutls_take(peer_gnutls *p, int level, uint8_t *out, size_t cap);

/*
 * peer_gnutls_secret gives the traffic secret GnuTLS installed at a level
 * for a direction (PEER_GNUTLS_READ / _WRITE), or NULL (len 0) if none
 * yet. The pointer stays valid until the next feed/step/free. The first
 * secret of a level is kept: a later APPLICATION secret (key update)
 * does not replace it.
 */
const uint8_t *peer_gnutls_secret(const peer_gnutls *p, int level, int dir,
                                  size_t *len);

/*
 * The order secrets arrived in: entry i is level*2+dir of the i-th
 * secret (a GnuTLS call that gives both directions counts as read, then
 * write); returns the count (up to 16) and fills up to cap entries.
 */
size_t peer_gnutls_secret_order(const peer_gnutls *p, int *out, size_t cap);

/* The negotiated cipher suite as its TLS code point (0x1301...), 0 if not
 * yet known. */
uint16_t peer_gnutls_cipher_suite(const peer_gnutls *p);

/* The negotiated group as its TLS NamedGroup code point (0x001d x25519,
 * 0x0017 secp256r1, 0x0100 ffdhe2048, ...), 0 if not yet known. */
uint16_t peer_gnutls_group(const peer_gnutls *p);

/* The server's signature scheme code point (0x0403...), 0 if unknown. */
uint16_t peer_gnutls_sigalg(const peer_gnutls *p);

/* The negotiated ALPN protocol (NUL-terminated copy, known once the
 * handshake is complete), or NULL. */
const char *peer_gnutls_alpn(const peer_gnutls *p);

/* The other side's transport parameters body, or NULL (len 0) when the
 * extension did not arrive. */
const uint8_t *peer_gnutls_peer_transport_params(const peer_gnutls *p,
                                                 size_t *len);

/* 1 when a HelloRetryRequest was exchanged (server sent / client got). */
int peer_gnutls_hrr(const peer_gnutls *p);

/* The PSK identity the handshake used when it authenticated with an
 * external PSK (server: the client's, client: its own; a copy,
 * NUL-terminated), or NULL. */
const char *peer_gnutls_psk_identity(const peer_gnutls *p);

/* 1 when the session resumed (PSK); 1 when early data was accepted. */
int peer_gnutls_resumed(const peer_gnutls *p);
int peer_gnutls_early_data_accepted(const peer_gnutls *p);

/*
 * peer_gnutls_alert: 1 when the peer sent an alert, with its level
 * (0..3) and description (e.g. 40 handshake_failure) in *level / *desc
 * (either may be NULL); 0 when none.
 */
int peer_gnutls_alert(const peer_gnutls *p, int *level, int *desc);

/* The last GnuTLS error code (0 if none) and its text. */
int peer_gnutls_error(const peer_gnutls *p);
const char *peer_gnutls_error_string(const peer_gnutls *p);

/*
 * The handshake messages GnuTLS sent, in order: for entry i, level and
 * TLS handshake type (1 ClientHello, 2 ServerHello, 4 NewSessionTicket,
 * 8 EncryptedExtensions, 11 Certificate, 13 CertificateRequest,
 * 15 CertificateVerify, 20 Finished; a HelloRetryRequest shows as 2).
 * Returns the count (up to 64).
 */
size_t peer_gnutls_sent_log(const peer_gnutls *p, int *levels, int *types,
                            size_t cap);

/*
 * The handshake messages GnuTLS received and processed, in order, by
 * GnuTLS's type number (the TLS type, but 6 for a HelloRetryRequest).
 * Returns the count (up to 64).
 */
size_t peer_gnutls_recv_log(const peer_gnutls *p, int *types, size_t cap);

/*
 * peer_gnutls_session_data (client, after a NewSessionTicket arrived)
 * copies the resumption data for opts.resume_data into out; returns its
 * length, 0 if none, or the needed length when larger than cap.
 */
size_t peer_gnutls_session_data(peer_gnutls *p, uint8_t *out, size_t cap);

/* The server's session ticket key (for opts.ticket_key), or NULL. */
const uint8_t *peer_gnutls_ticket_key(const peer_gnutls *p, size_t *len);

/*
 * peer_gnutls_peer_certificate gives the DER of the other side's leaf
 * certificate as GnuTLS received it (a server: the client's, when it
 * sent one), or NULL (len 0) when none arrived in this handshake. Valid
 * until the next feed/step/free.
 */
const uint8_t *peer_gnutls_peer_certificate(const peer_gnutls *p,
                                            size_t *len);

/*
 * peer_gnutls_verify_status verifies the other side's chain against the
 * peer's trust anchors (opts.ca_file) again: 0 when trusted, the
 * gnutls_certificate_status_t bits when not, or a negative GnuTLS error
 * when there is no certificate to verify.
 */
int peer_gnutls_verify_status(const peer_gnutls *p);

/*
 * peer_gnutls_export is the TLS 1.3 exporter (RFC 8446 §7.5) of GnuTLS
 * (gnutls_prf_rfc5705), once the handshake is complete: n bytes for
 * label and context (ctx may be NULL with ctx_len 0). Returns 0 or a
 * negative GnuTLS error.
 */
int peer_gnutls_export(peer_gnutls *p, const char *label, const uint8_t *ctx,
                       size_t ctx_len, uint8_t *out, size_t n);

/*
 * peer_gnutls_early_export gives the PEER_GNUTLS_EARLY_EXPORT_LEN bytes
 * of the early exporter (gnutls_prf_early, empty context) for
 * opts.early_exporter_label, taken when the 0-RTT key was installed, or
 * NULL when there was none (no label, or no 0-RTT key).
 */
#define PEER_GNUTLS_EARLY_EXPORT_LEN 32
const uint8_t *peer_gnutls_early_export(const peer_gnutls *p);

/*
 * peer_gnutls_make_certs writes, with the `openssl` command, an EC P-256
 * CA (ca.pem, ca.key) and a leaf for DNS:localhost signed by it
 * (cert.pem, key.pem; chain.pem = leaf + CA) and a client leaf
 * (client.pem, client.key) into the existing directory dir. Returns 0,
 * or -1 when a command failed.
 */
int peer_gnutls_make_certs(const char *dir);

#endif
