/*
 * proofs/engine/server/harness.c - EVA harness for the server handshake machine
 * generated from spec/server.rl (gen/server.c).
 *
 * The harness feeds the machine a sequence of unknown bytes (every event
 * of the alphabet and every byte outside it). The actions of src/engine/server.c
 * are replaced by stubs that keep a ghost record of the handshake so far
 * and assert, in ACSL, the message order RFC 8446 §2 / Appendix A.2
 * requires at the moment the action runs. Any stub may fail, as the real
 * handler does on a bad message, so the error paths are covered too: once
 * the machine has failed it must refuse every further event without
 * running an action. EVA must prove every assertion and find no run-time
 * error in the generated code.
 */
#include "__fc_builtin.h"
#include <tern.h>

#include "engine/machines.h"

#ifndef STEPS
#define STEPS 16
#endif

/* The event being fed (0 between feeds): each action must run on its own
   event, and it tells the shared actions (send_sh, send_ee) apart. */
static int cur_ev;
/* An action failed during the current feed / the machine has failed. */
static int failed, dead;

/* Ghost record of the handshake so far. */
static int got_ch, sent_hrr, got_ch2, sent_sh, psk, sent_ee, early_accepted;
static int sent_cr, sent_cert, sent_cv, sent_fin, got_eoed;
static int got_cert, got_cert_empty, got_cv, got_fin, post_hs;
/* Post-handshake authentication under way, and what came of it so far. */
static int pha, pha_cert, pha_cert_empty, pha_cv;

/* EVA's memexec replays an earlier call of a function (the machine's
   feed on the same state and event, with the stubs it ran) when the
   locations the C code read hold the same values; what ACSL reads does
   not count. A machine that loops back to a state would then have a stub's
   assertions checked in the first ghost state only (a second HRR went
   unnoticed that way). Every stub therefore reads the whole ghost record
   in C, before writing any of it, so that each ghost state is checked. */

/* Records the action in *flag; its result: success, or the handler's
   failure (TERN_ERR_ALERT). */
static int outcome(int *flag) {
  int ghost_inputs = dead + cur_ev + got_ch + sent_hrr + got_ch2 + sent_sh +
    psk + sent_ee + early_accepted + sent_cr + sent_cert + sent_cv +
    sent_fin + got_eoed + got_cert + got_cert_empty + got_cv + got_fin +
    post_hs + pha + pha_cert + pha_cert_empty + pha_cv;
  (void)ghost_inputs;
  *flag = 1;
  if (Frama_C_interval(0, 1)) return 0;
  failed = 1;
  return TERN_ERR_ALERT;
}

int tern_server_recv_ch(struct tern_conn *c) {
  (void)c;
  /*@ assert ch_first: !dead && cur_ev == TERN_EV_RECV_CH && !got_ch; */
  return outcome(&got_ch);
}

int tern_server_send_hrr(struct tern_conn *c) {
  (void)c;
  /*@ assert hrr_once_after_ch: !dead && cur_ev == TERN_EV_SEND_HRR &&
        got_ch && !sent_hrr && !sent_sh; */
  return outcome(&sent_hrr);
}

int tern_server_recv_ch2(struct tern_conn *c) {
  (void)c;
  /*@ assert ch2_answers_hrr: !dead && cur_ev == TERN_EV_RECV_CH &&
        sent_hrr && !got_ch2 && !sent_sh; */
  return outcome(&got_ch2);
}

int tern_server_send_sh(struct tern_conn *c) {
  (void)c;
  /*@ assert sh_once_after_ch: !dead && got_ch && (sent_hrr ==> got_ch2) &&
        !sent_sh; */
  /*@ assert sh_event: cur_ev == TERN_EV_SEND_SH ||
        cur_ev == TERN_EV_SEND_SH_PSK; */
  int rc = outcome(&sent_sh);
  psk = cur_ev == TERN_EV_SEND_SH_PSK;
  return rc;
}

int tern_server_send_ee(struct tern_conn *c) {
  (void)c;
  /*@ assert ee_once_after_sh: !dead && sent_sh && !sent_ee && !sent_cr &&
        !sent_cert && !sent_fin; */
  /*@ assert ee_early_only_resumed: (cur_ev == TERN_EV_SEND_EE) ||
        (cur_ev == TERN_EV_SEND_EE_EARLY && psk); */
  int rc = outcome(&sent_ee);
  early_accepted = cur_ev == TERN_EV_SEND_EE_EARLY;
  return rc;
}

int tern_server_send_cr(struct tern_conn *c) {
  (void)c;
  /*@ assert cr_once_full_after_ee: !dead && cur_ev == TERN_EV_SEND_CR &&
        sent_ee && !psk && !sent_cr && !sent_cert; */
  return outcome(&sent_cr);
}

int tern_server_send_cert(struct tern_conn *c) {
  (void)c;
  /*@ assert cert_once_full_after_ee: !dead && cur_ev == TERN_EV_SEND_CERT &&
        sent_ee && !psk && !sent_cert && !sent_cv && !sent_fin; */
  return outcome(&sent_cert);
}

int tern_server_send_cv(struct tern_conn *c) {
  (void)c;
  /*@ assert cv_once_after_cert: !dead && cur_ev == TERN_EV_SEND_CV &&
        sent_cert && !sent_cv && !sent_fin; */
  return outcome(&sent_cv);
}

/* The server authenticates by its certificate, or by the PSK. */
int tern_server_send_fin(struct tern_conn *c) {
  (void)c;
  /*@ assert fin_once_after_ee: !dead && cur_ev == TERN_EV_SEND_FIN &&
        sent_ee && !sent_fin && !got_fin; */
  /*@ assert fin_after_server_auth: (!psk && sent_cert && sent_cv) ||
        (psk && !sent_cert && !sent_cr); */
  return outcome(&sent_fin);
}

int tern_server_recv_eoed(struct tern_conn *c) {
  (void)c;
  /*@ assert eoed_once_early_accepted: !dead && cur_ev == TERN_EV_RECV_EOED &&
        psk && early_accepted && sent_fin && !got_eoed && !got_fin; */
  return outcome(&got_eoed);
}

int tern_server_recv_cert(struct tern_conn *c) {
  (void)c;
  /*@ assert cert_only_when_requested: !dead &&
        cur_ev == TERN_EV_RECV_CERT && sent_cr && sent_fin && !got_cert &&
        !got_cv && !got_fin; */
  return outcome(&got_cert);
}

int tern_server_recv_cert_empty(struct tern_conn *c) {
  (void)c;
  /*@ assert empty_cert_only_when_requested: !dead &&
        cur_ev == TERN_EV_RECV_CERT_EMPTY && sent_cr && sent_fin &&
        !got_cert && !got_cv && !got_fin; */
  int rc = outcome(&got_cert);
  got_cert_empty = 1;
  return rc;
}

int tern_server_recv_cv(struct tern_conn *c) {
  (void)c;
  /*@ assert cv_once_after_peer_cert: !dead && cur_ev == TERN_EV_RECV_CV &&
        got_cert && !got_cert_empty && !got_cv && !got_fin; */
  return outcome(&got_cv);
}

/* Completes the handshake: our Finished went first, and the client
   answered a CertificateRequest in full. */
int tern_server_recv_fin(struct tern_conn *c) {
  (void)c;
  /*@ assert peer_fin_once_after_own_fin: !dead &&
        cur_ev == TERN_EV_RECV_FIN && sent_fin && !got_fin; */
  /*@ assert peer_fin_after_client_auth: (sent_cr ==> got_cert) &&
        (got_cert && !got_cert_empty ==> got_cv) &&
        (got_eoed ==> early_accepted); */
  return outcome(&got_fin);
}

int tern_server_send_nst(struct tern_conn *c) {
  (void)c;
  /*@ assert nst_when_connected: !dead && cur_ev == TERN_EV_SEND_NST &&
        got_fin; */
  return outcome(&post_hs);
}

int tern_server_recv_ku(struct tern_conn *c) {
  (void)c;
  /*@ assert recv_ku_when_connected: !dead && cur_ev == TERN_EV_RECV_KU &&
        got_fin; */
  return outcome(&post_hs);
}

int tern_server_send_ku(struct tern_conn *c) {
  (void)c;
  /*@ assert send_ku_when_connected: !dead && cur_ev == TERN_EV_SEND_KU &&
        got_fin; */
  return outcome(&post_hs);
}

/* Post-handshake authentication (RFC 8446 §4.6.2): only once connected,
   one at a time, Certificate [CertificateVerify] Finished in order. */
int tern_server_send_cr_post(struct tern_conn *c) {
  int rc;
  (void)c;
  /*@ assert pha_when_connected: !dead && cur_ev == TERN_EV_SEND_CR &&
        sent_fin && got_fin && !pha; */
  rc = outcome(&pha);
  pha_cert = pha_cert_empty = pha_cv = 0;
  return rc;
}

int tern_server_recv_cert_post(struct tern_conn *c) {
  (void)c;
  /*@ assert pha_cert_once: !dead && cur_ev == TERN_EV_RECV_CERT && pha &&
        !pha_cert && !pha_cert_empty; */
  return outcome(&pha_cert);
}

int tern_server_recv_cert_empty_post(struct tern_conn *c) {
  (void)c;
  /*@ assert pha_empty_cert_once: !dead && cur_ev == TERN_EV_RECV_CERT_EMPTY &&
        pha && !pha_cert && !pha_cert_empty; */
  return outcome(&pha_cert_empty);
}

int tern_server_recv_cv_post(struct tern_conn *c) {
  (void)c;
  /*@ assert pha_cv_after_cert: !dead && cur_ev == TERN_EV_RECV_CV && pha &&
        pha_cert && !pha_cv; */
  return outcome(&pha_cv);
}

int tern_server_recv_fin_post(struct tern_conn *c) {
  int rc, ended = 0;
  (void)c;
  /*@ assert pha_fin_last: !dead && cur_ev == TERN_EV_RECV_FIN && pha &&
        (pha_cert || pha_cert_empty) && (pha_cert ==> pha_cv); */
  rc = outcome(&ended);
  pha = pha_cert = pha_cert_empty = pha_cv = 0;
  return rc;
}

/* Feed one unknown byte; the ghost state checks what the machine says. */
static int step(int *cs) {
  /* Each event of the alphabet in a state of its own (the ghost cur_ev
     must be as precise as the machine's own test), every other byte as
     one more state. */
  int ev = Frama_C_interval(0, TERN_EV_MAX + 1);
  int rc, done;
  //@ split ev;
  if (ev > TERN_EV_MAX) ev = Frama_C_interval(TERN_EV_MAX + 1, 255);
  cur_ev = ev;
  failed = 0;
  rc = tern_server_machine_feed(cs, (unsigned char)ev, (struct tern_conn *)0);
  cur_ev = 0;
  done = tern_server_machine_done(*cs);
  /*@ assert action_failure_fails_feed: failed ==> rc != 0; */
  /*@ assert failure_is_final: rc != 0 <==> *cs == 0; */
  /*@ assert done_iff_finished_exchanged:
        done != 0 <==> (*cs != 0 && sent_fin && got_fin && !pha); */
  return rc;
}

int main(void) {
  int cs = tern_server_machine_start();
  int done = tern_server_machine_done(cs);
  /*@ assert not_done_at_start: !done && cs != 0; */
  for (int i = 0; i < STEPS; i++) {
    if (step(&cs) != 0) {
      dead = 1;
      /* A failed machine refuses everything, without running an action
         (each stub asserts !dead). */
      int rc = tern_server_machine_feed(&cs, (unsigned char)Frama_C_interval(0, 255),
                                        (struct tern_conn *)0);
      /*@ assert error_is_sticky: rc == TERN_ERR_STATE && cs == 0; */
      break;
    }
  }
  return 0;
}
