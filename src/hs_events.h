/*
 * hs_events.h - the alphabet of the handshake machines (spec/client.rl,
 * spec/server.rl): one symbol per (direction, message kind). Where the
 * RFC's diagrams branch on data (a PSK accepted, a certificate requested,
 * early data accepted, an empty client Certificate), the parser or the
 * negotiating handler chooses between distinct symbols.
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

struct tern_conn;

/* Generated machines (gen/client.c, gen/server.c). Feed one event: the
   transition's action runs; no transition leaves the machine in its error
   state for good. Returns 0, the action's error, or TERN_ERR_STATE. */
int tern_client_machine_start(void);
int tern_client_machine_feed(int *cs, unsigned char ev, struct tern_conn *c);
int tern_client_machine_done(int cs);  /* handshake complete (post-handshake loop) */
int tern_server_machine_start(void);
int tern_server_machine_feed(int *cs, unsigned char ev, struct tern_conn *c);
int tern_server_machine_done(int cs);

/* Client actions (src/client.c). */
int tern_client_send_ch(struct tern_conn *c);
int tern_client_recv_hrr(struct tern_conn *c);
int tern_client_send_ch2(struct tern_conn *c);
int tern_client_recv_sh(struct tern_conn *c);
int tern_client_recv_sh_psk(struct tern_conn *c);
int tern_client_recv_ee(struct tern_conn *c);
int tern_client_recv_cr(struct tern_conn *c);
int tern_client_recv_cert(struct tern_conn *c);
int tern_client_recv_cv(struct tern_conn *c);
int tern_client_recv_fin(struct tern_conn *c);
int tern_client_send_eoed(struct tern_conn *c);
int tern_client_send_cert(struct tern_conn *c);
int tern_client_send_cv(struct tern_conn *c);
int tern_client_send_fin(struct tern_conn *c);
int tern_client_recv_nst(struct tern_conn *c);
int tern_client_recv_ku(struct tern_conn *c);
int tern_client_send_ku(struct tern_conn *c);
int tern_client_recv_cr_post(struct tern_conn *c);
int tern_client_send_cert_post(struct tern_conn *c);
int tern_client_send_cv_post(struct tern_conn *c);
int tern_client_send_fin_post(struct tern_conn *c);

/* Server actions (src/server.c). */
int tern_server_recv_ch(struct tern_conn *c);
int tern_server_send_hrr(struct tern_conn *c);
int tern_server_recv_ch2(struct tern_conn *c);
int tern_server_send_sh(struct tern_conn *c);
int tern_server_send_ee(struct tern_conn *c);
int tern_server_send_cr(struct tern_conn *c);
int tern_server_send_cert(struct tern_conn *c);
int tern_server_send_cv(struct tern_conn *c);
int tern_server_send_fin(struct tern_conn *c);
int tern_server_recv_eoed(struct tern_conn *c);
int tern_server_recv_cert(struct tern_conn *c);
int tern_server_recv_cert_empty(struct tern_conn *c);
int tern_server_recv_cv(struct tern_conn *c);
int tern_server_recv_fin(struct tern_conn *c);
int tern_server_send_nst(struct tern_conn *c);
int tern_server_recv_ku(struct tern_conn *c);
int tern_server_send_ku(struct tern_conn *c);
int tern_server_send_cr_post(struct tern_conn *c);
int tern_server_recv_cert_post(struct tern_conn *c);
int tern_server_recv_cert_empty_post(struct tern_conn *c);
int tern_server_recv_cv_post(struct tern_conn *c);
int tern_server_recv_fin_post(struct tern_conn *c);

#endif
