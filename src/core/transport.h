/*
 * core/transport.h - core layer: what the core needs of a transport (QUIC
 * mode, TLS over TCP records), as a table the transport installs in each
 * connection it carries. The core sends handshake messages and installs
 * secrets only through it, never by name.
 */
#ifndef TERN_TRANSPORT_H
#define TERN_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

struct tern_conn;
struct tern_suite;

typedef struct tern_transport {
  const char *name;        /* "QUIC", "TCP" */
  /* The ClientHello carries a random legacy_session_id and a dummy
     change_cipher_spec is sent (RFC 8446 §D.4; never in QUIC, RFC 9001
     §8.4). */
  int middlebox_compat;
  /* Sends one whole handshake message at the current write level (an
     EndOfEarlyData under the 0-RTT keys). 0 or a TERN_ERR_* code, the
     connection failed. */
  int (*send_handshake)(struct tern_conn *c, const uint8_t *msg, size_t len);
  /* Takes one traffic secret of suite s (hash length) for level and dir. */
  int (*install_secret)(struct tern_conn *c, tern_level level, tern_direction dir,
                        const struct tern_suite *s, const uint8_t *secret);
  /* After a failure: tells the peer, once (may be NULL). */
  void (*report_failure)(struct tern_conn *c);
  /* Wipes and frees the transport's state of c (may be NULL). */
  void (*release)(struct tern_conn *c);
} tern_transport;

#endif
