/*
 * engine/machines.h - engine layer: the handshake machines generated from
 * spec/client.rl and spec/server.rl (gen/client.c, gen/server.c) and the
 * actions they call, one per transition (engine/client.c,
 * engine/server.c). Kept free of libcrypto types so the Frama-C
 * harnesses (proofs/engine/) can drive the generated code with stubs.
 */
#ifndef TERN_MACHINES_H
#define TERN_MACHINES_H

#include "core/hs_events.h"

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

/* Client actions (engine/client.c). */
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

/* Server actions (engine/server.c). */
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
