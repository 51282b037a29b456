/*
 * engine/handshake.h - engine layer: the steps the client and the server
 * actions share: the transcript, Finished, the Certificate /
 * CertificateVerify pair, KeyUpdate, post-handshake authentication and
 * secret installation per level. Not part of the public API.
 */
#ifndef TERN_HANDSHAKE_H
#define TERN_HANDSHAKE_H

#include "core/conn.h"
#include "codec/msg.h"

/* Largest message tern writes itself besides Certificate (ClientHello
   with every share and extension, a ticket and every external PSK;
   EncryptedExtensions with parameters): the transport parameters,
   TERN_MAX_SHARES shares of up to TERN_GROUP_MAX_SHARE bytes (FFDHE), the
   PSK identities and binders, and the rest. */
#define TERN_HS_OUT_MAX                                                          \
  (TERN_MAX_TP + TERN_MAX_SHARES * TERN_GROUP_MAX_SHARE +                       \
   TERN_MAX_PSKS * (TERN_PSK_MAX_IDENTITY + 64) + 2048)

/* Starts the transcript under the negotiated suite's hash. */
int tern_hs_transcript_start(tern_conn *c);

/* The transcript hash so far into out[hash_len]. */
int tern_hs_transcript_hash(tern_conn *c, uint8_t *out);

/* Checks a received Finished against base_key (the peer's handshake
   traffic secret) over the transcript so far: decrypt_error if wrong. */
int tern_hs_finished_check(tern_conn *c, const uint8_t *base_key,
                           const tern_span *verify_data);

/* Writes and sends our Finished under base_key (our handshake secret). */
int tern_hs_finished_send(tern_conn *c, const uint8_t *base_key);

/* Sends our Certificate message (chain may be NULL: empty list), as a
   CompressedCertificate (RFC 8879) when c->cert_comp_next says so. */
int tern_hs_certificate_send(tern_conn *c, const tern_cert_chain *chain);

/* Picks the algorithm our Certificate goes compressed with (RFC 8879
   §3): the first of ours that the peer's compress_certificate in ext
   lists, or none. Cannot fail. */
void tern_hs_pick_cert_compression(tern_conn *c, const tern_extensions *ext);

/* Adds our compress_certificate (RFC 8879 §3) to ext when the
   configuration has algorithms. Cannot fail. */
void tern_hs_offer_cert_compression(const tern_conn *c, tern_extensions *ext);

/* A Certificate's certificate_request_context must be the request's:
   empty in the handshake, the post-handshake request's after it
   (illegal_parameter otherwise). */
int tern_hs_certificate_context_ok(tern_conn *c, const tern_certificate *cert);

/* Takes the peer's Certificate: checks the entries, verifies the chain
   (and host name, client side) unless verification is off, keeps the
   leaf key for CertificateVerify. */
int tern_hs_certificate_recv(tern_conn *c, const tern_certificate *cert);

/* Signs the transcript so far and sends CertificateVerify. */
int tern_hs_verify_send(tern_conn *c, const tern_cert_chain *chain);

/* Checks the peer's CertificateVerify over the transcript so far (call
   before adding it). */
int tern_hs_verify_recv(tern_conn *c, const tern_certificate_verify *cv);

/* Rejects extensions we did not ask for (RFC 8446 §4.2:
   unsupported_extension); `sent` is the mask of those we sent. */
int tern_hs_check_response_exts(tern_conn *c, const tern_extensions *ext,
                                 uint32_t sent, const char *msg_name);

/* Derives the handshake traffic secrets from the transcript so far and
   installs them (write, then read) at the HANDSHAKE level. */
int tern_hs_handshake_secrets(tern_conn *c, const uint8_t *dhe, size_t dhe_len);

/* Master secret and application traffic secrets 0 over the transcript so
   far (through the server Finished). */
int tern_hs_application_secrets(tern_conn *c);

/* Installs one application secret (keylog label per direction). */
int tern_hs_install_application(tern_conn *c, tern_direction dir);

/* Post-handshake authentication (RFC 8446 §4.6.2): the exchange runs on
   a copy of the handshake transcript (through the client Finished), so
   each one starts from the same context. */
int tern_hs_pha_start(tern_conn *c, const uint8_t *context, size_t len);
void tern_hs_pha_end(tern_conn *c, int ok);

/* KeyUpdate over TCP (RFC 8446 §4.6.3): sends one (asking for one back
   when c->ku_request) under the current key, then moves our write key to
   the next generation. */
int tern_hs_key_update_send(tern_conn *c);

/* A KeyUpdate received: the peer's next-generation key for reading, and
   our own update queued when it asks. */
int tern_hs_key_update_recv(tern_conn *c, uint8_t request_update);

/* The NSS keylog label of a handshake/application secret. */
const char *tern_hs_keylog_label(tern_role sender, tern_level level);

#endif
