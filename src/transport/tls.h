/*
 * transport/tls.h - transport layer: TLS over TCP, the record layer
 * (codec/record.h, crypto/record_prot.h) under the same handshake engine
 * as QUIC mode. A connection made by tern_conn_new_tls holds one
 * tern_tls: the protection of each direction, the record reassembler,
 * the bytes waiting to be sent and the application data waiting to be
 * read. The core sends handshake messages and installs secrets through
 * the transport table tern_tls_attach installs. Not part of the public
 * API.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include "core/conn.h"
#include "codec/record.h"
#include "crypto/record_prot.h"

/* TERN_TLS_APP_BUFFER, TERN_TLS_MAX_EMPTY_RECORDS and the other limits on
   what a peer sends are in codec/limits.h. */

typedef struct tern_tls {
  tern_record_prot rprot, wprot;
  tern_record_prot eprot;  /* 0-RTT: the client's write, the server's read key */
  size_t early_bytes;      /* 0-RTT application data sent / received */
  tern_record_reader *reader; /* receive buffer: made on first input, given
                                back at a record boundary by
                                tern_tls_release_buffers */
  uint8_t *out;            /* records to send: out[out_off .. out_len) */
  size_t out_len, out_off, out_cap;
  uint8_t *app;            /* application data received: app[app_off .. app_len) */
  size_t app_len, app_off, app_cap;
  int ccs_sent;            /* middlebox compatibility (RFC 8446 §D.4) */
  int ccs_received;
  int hs_records_sent;     /* handshake records written so far */
  int close_received;      /* the peer's close_notify */
  int close_sent;
  int alert_sent;          /* our fatal alert went out */
  size_t early_skipped;    /* server: bytes of refused 0-RTT records dropped */
  int early_over;          /* server: a record opened under the handshake
                              keys, so refused 0-RTT is over */
  unsigned empty_records;  /* empty application_data records in a row */
  unsigned ignored_alerts; /* alerts taken and ignored since the last data */
} tern_tls;

/* Makes c a TLS-over-TCP connection: its record state and the TCP
   transport table. TERN_OK or TERN_ERR_NOMEM. */
int tern_tls_attach(tern_conn *c);

#endif
