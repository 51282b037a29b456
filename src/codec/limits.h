/*
 * codec/limits.h - codec layer (the lowest, so every layer can read it):
 * every limit on what a peer controls, in one place, each with its reason.
 * A peer that goes past one gets a clear alert and error detail, never
 * unbounded memory or work; tests/test_limits.c pushes past each.
 *
 * Limits that are the protocol's own (record sizes, RFC 8446 §5.1/§5.2)
 * stay with the code they shape (codec/record.h), as do the capacities of
 * the parsed structs (codec/msg.h: how many list entries are kept; the
 * rest of a list is still read in full through its raw bytes).
 */
#ifndef TERN_LIMITS_H
#define TERN_LIMITS_H

/* ---- handshake messages ---- */

/* One handshake message at most, header included, unless configured
   (tern_config_set_max_message_size): above the largest ClientHello the
   encoding allows (4 + 2 + 32 + 33 + 2 + 65534 + 256 + 2 + 65535 = 131400
   bytes). Past it: illegal_parameter, before the body is buffered. */
#define TERN_DEFAULT_MAX_MESSAGE (132u * 1024u)

/* Handshake bytes buffered at one level (QUIC: per encryption level; TCP:
   across records) at most this many times the message cap: a whole
   message and the start of the next. Past it: illegal_parameter. */
#define TERN_MAX_BUFFERED_MESSAGES 2u

/* A HelloRetryRequest cookie a client keeps and echoes (RFC 8446 §4.2.2
   allows up to 2^16 - 1 bytes; tern's servers send 32). */
#define TERN_MAX_COOKIE 512

/* Our own quic_transport_parameters (RFC 9000 §18); the peer's are kept
   whole, bounded by the message cap. */
#define TERN_MAX_TP 4096

/* Certificates in one chain the peer sends, leaf included (RFC 8446 §4.4.2
   sets none; chains on the web are 2-4 long). Past it: bad_certificate. */
#define TERN_CERT_MAX_CHAIN 10

/* CompressedCertificate (RFC 8879 §4-5). uncompressed_length is checked
   before anything is decompressed: at least the smallest Certificate body
   (an empty context and an empty list, 4 bytes) and at most the cap of a
   whole handshake message less its header, the limit an uncompressed
   Certificate meets (§5: "the same limit as if no compression were
   used"). Decompression writes into a buffer of exactly that length and
   fails as soon as the output would pass it; past either bound, or when
   the output is shorter or the input has bytes after the stream:
   bad_certificate. */
#define TERN_CERT_COMP_MIN_UNCOMPRESSED 4u

/* Memory a brotli decoder may allocate for one CompressedCertificate
   (its ring buffer follows the window the peer's stream declares, up to
   16 MiB; a certificate chain needs far less). Past it: bad_certificate. */
#define TERN_CERT_COMP_MAX_DECODER_MEMORY (1024u * 1024u)

/* ---- records (TLS over TCP) ---- */

/* Unread application data beyond which tern_tls_feed stops taking input
   (it returns having consumed less: TCP's own flow control does the rest). */
#define TERN_TLS_APP_BUFFER 65536

/* Empty application_data records in a row (RFC 8446 §5.4 allows them as
   traffic-analysis padding; without end they only cost work). Past it:
   unexpected_message. */
#define TERN_TLS_MAX_EMPTY_RECORDS 32

/* Alerts tern takes and ignores in a row: user_canceled after the
   handshake (RFC 8446 §6.1: a close_notify should follow it). Past it:
   unexpected_message. Every other alert ends the connection at once. */
#define TERN_MAX_IGNORED_ALERTS_IN_A_ROW 32

/* Refused 0-RTT data a server skips (RFC 8446 §4.2.10) when 0-RTT is off
   in its configuration (else max_early_data_size bounds it): one record's
   worth, since its clients may hold tickets from when it was on. Past it:
   unexpected_message. */
#define TERN_REFUSED_EARLY_DATA_MIN 16384u

/* ---- after the handshake ---- */

/* KeyUpdates received with no application data between them (RFC 8446
   §4.6.3 sets none; each costs a key derivation and rekeying). Past it:
   unexpected_message. */
#define TERN_MAX_KEY_UPDATES_IN_A_ROW 32

/* NewSessionTickets received with no application data between them (over
   TCP; in QUIC, where tern does not see application data, in the whole
   connection). Each is handed to the new-session callback and not kept.
   Past it: unexpected_message. */
#define TERN_MAX_TICKETS_IN_A_ROW 64

/* Post-handshake CertificateRequests a client answers with no application
   data between them (each costs a signature). Past it: unexpected_message. */
#define TERN_MAX_CERT_REQUESTS_IN_A_ROW 8

/* ---- resumption ---- */

/* A ticket a client keeps (RFC 8446 §4.6.1 allows 2^16 - 1 bytes; GnuTLS's
   carry the client certificate). Longer ones are not kept. */
#define TERN_TICKET_MAX 2048

/* A session blob (tern_conn_set_session), its ticket included. */
#define TERN_SESSION_MAX 2800

#endif
