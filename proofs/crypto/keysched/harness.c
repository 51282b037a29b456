/*
 * proofs/crypto/keysched/harness.c - EVA harness for the key-schedule machine
 * generated from spec/keysched.rl (gen/keysched.c).
 *
 * The harness feeds the machine a sequence of unknown bytes (every event
 * of the alphabet and every byte outside it). The actions are replaced by
 * stubs that keep a ghost record of what has been derived and assert, in
 * ACSL, the order RFC 8446 §7.1 requires before each derivation. A stub
 * may also fail, as a real libcrypto call can. EVA must prove every
 * assertion and find no run-time error in the generated code.
 */
#include "__fc_builtin.h"
#include "crypto/keysched_machine.h"

#ifndef STEPS
#define STEPS 14
#endif

struct tern_keysched {
  int unused;
};

/* Ghost record of the derivations performed so far. */
static int early, binder, early_traffic, handshake, hs_traffic, master;
static int ap_traffic, resumption, updates;

/* A stub's result: success, or a libcrypto failure (TERN_ERR_CRYPTO). */
static int outcome(void) { return Frama_C_interval(0, 1) ? 0 : -3; }

int tern_ks_on_early(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert first_step: !early && !handshake; */
  early = 1;
  return outcome();
}

int tern_ks_on_binder(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert binder_from_early: early && !binder && !early_traffic && !handshake; */
  binder = 1;
  return outcome();
}

int tern_ks_on_early_traffic(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert early_traffic_from_early: early && !early_traffic && !handshake; */
  early_traffic = 1;
  return outcome();
}

int tern_ks_on_handshake(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert handshake_after_early: early && !handshake; */
  handshake = 1;
  return outcome();
}

int tern_ks_on_hs_traffic(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert hs_traffic_after_handshake: handshake && !hs_traffic && !master; */
  hs_traffic = 1;
  return outcome();
}

int tern_ks_on_master(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert master_after_hs_traffic: hs_traffic && !master; */
  master = 1;
  return outcome();
}

int tern_ks_on_ap_traffic(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert ap_after_master: master && !ap_traffic; */
  ap_traffic = 1;
  return outcome();
}

int tern_ks_on_resumption(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert resumption_once_after_ap: ap_traffic && !resumption; */
  resumption = 1;
  return outcome();
}

int tern_ks_on_update_client(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert update_after_ap: ap_traffic; */
  updates = 1;
  return outcome();
}

int tern_ks_on_update_server(struct tern_keysched *ks) {
  (void)ks;
  /*@ assert update_after_ap: ap_traffic; */
  updates = 1;
  return outcome();
}

int main(void) {
  struct tern_keysched ks;
  int cs = tern_ks_machine_start();
  int dead = 0;
  for (int i = 0; i < STEPS; i++) {
    unsigned char ev = Frama_C_unsigned_char_interval(0, 255);
    int rc = tern_ks_machine_feed(&cs, ev, &ks);
    /*@ assert failure_is_final: rc != 0 ==> cs == 0; */
    /*@ assert error_is_sticky: dead ==> cs == 0 && rc != 0; */
    if (rc != 0) dead = 1;
  }
  return 0;
}
