/*
 * tls.h - TLS over TCP: the record layer (record.c) under the same
 * handshake engine as QUIC mode. A connection made by tern_conn_new_tls
 * holds one tern_tls: the protection of each direction, the record
 * reassembler, the bytes waiting to be sent and the application data
 * waiting to be read. conn.c sends handshake messages and installs
 * secrets through the two hooks below when a connection has no QUIC
 * callbacks. Not part of the public API.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include "conn.h"
#include "record.h"

/* Unread application data beyond which tern_tls_feed stops taking input. */
#define TERN_TLS_APP_BUFFER 65536

typedef struct tern_tls {
  tern_record_prot rprot, wprot;
  tern_record_prot eprot;  /* 0-RTT: the client's write, the server's read key */
  int eoed_done;           /* EndOfEarlyData sent (client) / received (server) */
  size_t early_bytes;      /* 0-RTT application data sent / received */
  tern_record_reader reader;
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
} tern_tls;

/* Sends one handshake message in records at the current write keys. */
int tern_tls_send_handshake(tern_conn *c, const uint8_t *msg, size_t len);

/* Keys one direction's record protection with a traffic secret. */
int tern_tls_install(tern_conn *c, tern_level level, tern_direction dir,
                     const uint8_t *secret);

/* After a failure: queues the fatal alert record once. */
void tern_tls_send_failure_alert(tern_conn *c);

/* Wipes and frees the TLS state of a connection. */
void tern_tls_free(tern_tls *t);

#endif
