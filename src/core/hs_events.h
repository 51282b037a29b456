/*
 * core/hs_events.h - core layer: the alphabet of the handshake machines
 * (spec/client.rl, spec/server.rl): one symbol per (direction, message
 * kind). Where the RFC's diagrams branch on data (a PSK accepted, a
 * certificate requested, early data accepted, an empty client Certificate),
 * the parser or the negotiating handler chooses between distinct symbols.
 * Kept free of libcrypto types so the Frama-C harnesses can include it.
 */
#ifndef TERN_HS_EVENTS_H
#define TERN_HS_EVENTS_H

enum tern_hs_event {
  /* ClientHello */
  TERN_EV_SEND_CH = 1,
  TERN_EV_RECV_CH = 2,
  /* HelloRetryRequest */
  TERN_EV_SEND_HRR = 3,
  TERN_EV_RECV_HRR = 4,
  /* ServerHello: a full handshake, or PSK accepted */
  TERN_EV_SEND_SH = 5,
  TERN_EV_RECV_SH = 6,
  TERN_EV_SEND_SH_PSK = 7,
  TERN_EV_RECV_SH_PSK = 8,
  /* EncryptedExtensions: early data refused/not offered, or accepted */
  TERN_EV_SEND_EE = 9,
  TERN_EV_RECV_EE = 10,
  TERN_EV_SEND_EE_EARLY = 11,
  TERN_EV_RECV_EE_EARLY = 12,
  /* CertificateRequest */
  TERN_EV_SEND_CR = 13,
  TERN_EV_RECV_CR = 14,
  /* Certificate: with a chain, or empty (client without certificate) */
  TERN_EV_SEND_CERT = 15,
  TERN_EV_RECV_CERT = 16,
  TERN_EV_SEND_CERT_EMPTY = 17,
  TERN_EV_RECV_CERT_EMPTY = 18,
  /* CertificateVerify */
  TERN_EV_SEND_CV = 19,
  TERN_EV_RECV_CV = 20,
  /* Finished */
  TERN_EV_SEND_FIN = 21,
  TERN_EV_RECV_FIN = 22,
  /* EndOfEarlyData (TCP only) */
  TERN_EV_SEND_EOED = 23,
  TERN_EV_RECV_EOED = 24,
  /* post-handshake */
  TERN_EV_SEND_NST = 25,
  TERN_EV_RECV_NST = 26,
  TERN_EV_SEND_KU = 27,
  TERN_EV_RECV_KU = 28
};
#define TERN_EV_MAX 28

/* A readable name of an event ("ServerHello", "sent Finished"), for
   error details and diagrams (core/events.c). */
const char *tern_event_name(unsigned char ev);

#endif
