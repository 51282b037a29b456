/*
 * crypto/keysched_machine.h - crypto layer: the interface between the
 * key-schedule machine generated from spec/keysched.rl (gen/keysched.c) and
 * its actions in crypto/keysched_actions.c. Deliberately free of
 * libcrypto types so the Frama-C harness (proofs/crypto/keysched/) can
 * drive the generated code with stubs.
 */
#ifndef TERN_KEYSCHED_MACHINE_H
#define TERN_KEYSCHED_MACHINE_H

/* The alphabet of the machine: one symbol per key-schedule step. */
enum tern_ks_event {
  TERN_KS_EV_EARLY = 1,          /* Early Secret = HKDF-Extract(0, PSK or 0) */
  TERN_KS_EV_BINDER = 2,         /* binder_key from the Early Secret */
  TERN_KS_EV_EARLY_TRAFFIC = 3,  /* client_early_traffic, early_exporter */
  TERN_KS_EV_HANDSHAKE = 4,      /* Handshake Secret = Extract(derived, (EC)DHE) */
  TERN_KS_EV_HS_TRAFFIC = 5,     /* {client,server}_handshake_traffic_secret */
  TERN_KS_EV_MASTER = 6,         /* Master Secret = Extract(derived, 0) */
  TERN_KS_EV_AP_TRAFFIC = 7,     /* {client,server}_application_traffic_secret_0, exporter */
  TERN_KS_EV_RESUMPTION = 8,     /* resumption_master_secret */
  TERN_KS_EV_UPDATE_CLIENT = 9,  /* client application traffic secret N+1 */
  TERN_KS_EV_UPDATE_SERVER = 10  /* server application traffic secret N+1 */
};
#define TERN_KS_EV_MAX 10

struct tern_keysched;

/* Actions, one per transition (src/keysched.c); 0 or a TERN_ERR_* code. */
int tern_ks_on_early(struct tern_keysched *ks);
int tern_ks_on_binder(struct tern_keysched *ks);
int tern_ks_on_early_traffic(struct tern_keysched *ks);
int tern_ks_on_handshake(struct tern_keysched *ks);
int tern_ks_on_hs_traffic(struct tern_keysched *ks);
int tern_ks_on_master(struct tern_keysched *ks);
int tern_ks_on_ap_traffic(struct tern_keysched *ks);
int tern_ks_on_resumption(struct tern_keysched *ks);
int tern_ks_on_update_client(struct tern_keysched *ks);
int tern_ks_on_update_server(struct tern_keysched *ks);

/* Generated (gen/keysched.c). */
int tern_ks_machine_start(void);
int tern_ks_machine_error(void);
/*
 * Feeds one event: runs its action and moves *cs. An event with no
 * transition, or an action that fails, leaves *cs in the error state for
 * good. Returns 0, the action's error, or TERN_ERR_STATE (-7).
 */
int tern_ks_machine_feed(int *cs, unsigned char ev, struct tern_keysched *ks);

#endif
