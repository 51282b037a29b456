/*
 * proofs/engine/client/harness.c - EVA harness for the client handshake machine
 * generated from spec/client.rl (gen/client.c).
 *
 * The harness feeds the machine a sequence of unknown bytes (every event
 * of the alphabet and every byte outside it). The actions of src/engine/client.c
 * are replaced by stubs that keep a ghost record of the handshake so far
 * and assert, in ACSL, the message order RFC 8446 §2 / Appendix A.1
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
   event, and it tells the shared actions (recv_ee, send_cert) apart. */
static int cur_ev;
/* An action failed during the current feed / the machine has failed. */
static int failed, dead;

/* Ghost record of the handshake so far. */
static int sent_ch, got_hrr, sent_ch2, got_sh, got_sh_psk;
static int got_ee, early_accepted, got_cr, got_cert, got_cv, got_fin;
static int sent_eoed, sent_cert, sent_cert_empty, sent_cv, sent_fin;
static int post_hs;
/* Post-handshake authentication under way, and what we sent so far. */
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
  int ghost_inputs = dead + cur_ev + sent_ch + got_hrr + sent_ch2 + got_sh +
    got_sh_psk + got_ee + early_accepted + got_cr + got_cert + got_cv +
    got_fin + sent_eoed + sent_cert + sent_cert_empty + sent_cv +
    sent_fin + post_hs + pha + pha_cert + pha_cert_empty + pha_cv;
  (void)ghost_inputs;
  *flag = 1;
  if (Frama_C_interval(0, 1)) return 0;
  failed = 1;
  return TERN_ERR_ALERT;
}

int tern_client_send_ch(struct tern_conn *c) {
  (void)c;
  /*@ assert ch_first: !dead && cur_ev == TERN_EV_SEND_CH && !sent_ch; */
  return outcome(&sent_ch);
}

int tern_client_recv_hrr(struct tern_conn *c) {
  (void)c;
  /*@ assert hrr_once_after_ch: !dead && cur_ev == TERN_EV_RECV_HRR &&
        sent_ch && !got_hrr && !got_sh && !got_sh_psk; */
  return outcome(&got_hrr);
}

int tern_client_send_ch2(struct tern_conn *c) {
  (void)c;
  /*@ assert ch2_answers_hrr: !dead && cur_ev == TERN_EV_SEND_CH &&
        got_hrr && !sent_ch2 && !got_sh && !got_sh_psk; */
  return outcome(&sent_ch2);
}

int tern_client_recv_sh(struct tern_conn *c) {
  (void)c;
  /*@ assert sh_after_ch: !dead && cur_ev == TERN_EV_RECV_SH && sent_ch &&
        (got_hrr ==> sent_ch2) && !got_sh && !got_sh_psk; */
  return outcome(&got_sh);
}

int tern_client_recv_sh_psk(struct tern_conn *c) {
  (void)c;
  /*@ assert sh_psk_after_ch: !dead && cur_ev == TERN_EV_RECV_SH_PSK &&
        sent_ch && (got_hrr ==> sent_ch2) && !got_sh && !got_sh_psk; */
  return outcome(&got_sh_psk);
}

int tern_client_recv_ee(struct tern_conn *c) {
  (void)c;
  /*@ assert ee_once_after_sh: !dead && (got_sh || got_sh_psk) && !got_ee &&
        !got_cr && !got_cert && !got_cv && !got_fin; */
  /*@ assert ee_early_only_resumed: (cur_ev == TERN_EV_RECV_EE && got_sh) ||
        ((cur_ev == TERN_EV_RECV_EE || cur_ev == TERN_EV_RECV_EE_EARLY) &&
         got_sh_psk); */
  int rc = outcome(&got_ee);
  early_accepted = cur_ev == TERN_EV_RECV_EE_EARLY;
  return rc;
}

int tern_client_recv_cr(struct tern_conn *c) {
  (void)c;
  /*@ assert cr_once_full_after_ee: !dead && cur_ev == TERN_EV_RECV_CR &&
        got_sh && !got_sh_psk && got_ee && !got_cr && !got_cert; */
  return outcome(&got_cr);
}

int tern_client_recv_cert(struct tern_conn *c) {
  (void)c;
  /*@ assert cert_once_full_after_ee: !dead && cur_ev == TERN_EV_RECV_CERT &&
        got_sh && !got_sh_psk && got_ee && !got_cert && !got_cv && !got_fin; */
  return outcome(&got_cert);
}

int tern_client_recv_cv(struct tern_conn *c) {
  (void)c;
  /*@ assert cv_once_after_cert: !dead && cur_ev == TERN_EV_RECV_CV &&
        got_cert && !got_cv && !got_fin; */
  return outcome(&got_cv);
}

/* Derives the application traffic secrets: the server must be
   authenticated, by its certificate or by the PSK. */
int tern_client_recv_fin(struct tern_conn *c) {
  (void)c;
  /*@ assert fin_once_after_ee: !dead && cur_ev == TERN_EV_RECV_FIN &&
        got_ee && !got_fin && !sent_fin; */
  /*@ assert fin_after_server_auth:
        (got_sh && got_cert && got_cv) || (got_sh_psk && !got_cert); */
  return outcome(&got_fin);
}

int tern_client_send_eoed(struct tern_conn *c) {
  (void)c;
  /*@ assert eoed_once_early_accepted: !dead && cur_ev == TERN_EV_SEND_EOED &&
        got_sh_psk && early_accepted && got_fin && !sent_eoed && !sent_fin; */
  return outcome(&sent_eoed);
}

int tern_client_send_cert(struct tern_conn *c) {
  (void)c;
  /*@ assert cert_once_when_requested: !dead && got_cr && got_fin &&
        !sent_cert && !sent_cv && !sent_fin; */
  /*@ assert cert_event: cur_ev == TERN_EV_SEND_CERT ||
        cur_ev == TERN_EV_SEND_CERT_EMPTY; */
  int rc = outcome(&sent_cert);
  sent_cert_empty = cur_ev == TERN_EV_SEND_CERT_EMPTY;
  return rc;
}

int tern_client_send_cv(struct tern_conn *c) {
  (void)c;
  /*@ assert cv_once_after_own_cert: !dead && cur_ev == TERN_EV_SEND_CV &&
        sent_cert && !sent_cert_empty && !sent_cv && !sent_fin; */
  return outcome(&sent_cv);
}

int tern_client_send_fin(struct tern_conn *c) {
  (void)c;
  /*@ assert own_fin_once_after_peer_fin: !dead &&
        cur_ev == TERN_EV_SEND_FIN && got_fin && !sent_fin; */
  /*@ assert own_fin_after_client_auth: (got_cr ==> sent_cert) &&
        (sent_cert && !sent_cert_empty ==> sent_cv) &&
        (early_accepted ==> got_sh_psk); */
  return outcome(&sent_fin);
}

int tern_client_recv_nst(struct tern_conn *c) {
  (void)c;
  /*@ assert nst_when_connected: !dead && cur_ev == TERN_EV_RECV_NST &&
        sent_fin; */
  return outcome(&post_hs);
}

int tern_client_recv_ku(struct tern_conn *c) {
  (void)c;
  /*@ assert recv_ku_when_connected: !dead && cur_ev == TERN_EV_RECV_KU &&
        sent_fin; */
  return outcome(&post_hs);
}

int tern_client_send_ku(struct tern_conn *c) {
  (void)c;
  /*@ assert send_ku_when_connected: !dead && cur_ev == TERN_EV_SEND_KU &&
        sent_fin; */
  return outcome(&post_hs);
}

/* Post-handshake authentication (RFC 8446 §4.6.2): only once connected,
   one at a time, our Certificate [CertificateVerify] Finished in order. */
int tern_client_recv_cr_post(struct tern_conn *c) {
  int rc;
  (void)c;
  /*@ assert pha_when_connected: !dead && cur_ev == TERN_EV_RECV_CR &&
        got_fin && sent_fin && !pha; */
  rc = outcome(&pha);
  pha_cert = pha_cert_empty = pha_cv = 0;
  return rc;
}

int tern_client_send_cert_post(struct tern_conn *c) {
  (void)c;
  /*@ assert pha_cert_once: !dead && pha && !pha_cert && !pha_cert_empty &&
        (cur_ev == TERN_EV_SEND_CERT || cur_ev == TERN_EV_SEND_CERT_EMPTY); */
  if (cur_ev == TERN_EV_SEND_CERT) return outcome(&pha_cert);
  return outcome(&pha_cert_empty);
}

int tern_client_send_cv_post(struct tern_conn *c) {
  (void)c;
  /*@ assert pha_cv_after_cert: !dead && cur_ev == TERN_EV_SEND_CV && pha &&
        pha_cert && !pha_cv; */
  return outcome(&pha_cv);
}

int tern_client_send_fin_post(struct tern_conn *c) {
  int rc, ended = 0;
  (void)c;
  /*@ assert pha_fin_last: !dead && cur_ev == TERN_EV_SEND_FIN && pha &&
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
  rc = tern_client_machine_feed(cs, (unsigned char)ev, (struct tern_conn *)0);
  cur_ev = 0;
  done = tern_client_machine_done(*cs);
  /*@ assert action_failure_fails_feed: failed ==> rc != 0; */
  /*@ assert failure_is_final: rc != 0 <==> *cs == 0; */
  /*@ assert done_iff_finished_exchanged:
        done != 0 <==> (*cs != 0 && got_fin && sent_fin && !pha); */
  return rc;
}

int main(void) {
  int cs = tern_client_machine_start();
  int done = tern_client_machine_done(cs);
  /*@ assert not_done_at_start: !done && cs != 0; */
  for (int i = 0; i < STEPS; i++) {
    if (step(&cs) != 0) {
      dead = 1;
      /* A failed machine refuses everything, without running an action
         (each stub asserts !dead). */
      int rc = tern_client_machine_feed(&cs, (unsigned char)Frama_C_interval(0, 255),
                                        (struct tern_conn *)0);
      /*@ assert error_is_sticky: rc == TERN_ERR_STATE && cs == 0; */
      break;
    }
  }
  return 0;
}
