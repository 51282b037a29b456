/*
 * qpair.h - a tern client and a tern server in QUIC mode, wired to each
 * other in memory: what one sends at a level is handed to the other at
 * the same level (optionally cut into small fragments), and every secret
 * each side receives is recorded. Used by the tests, the demo and the
 * handshake benchmark.
 */
#ifndef TERN_TESTS_QPAIR_H
#define TERN_TESTS_QPAIR_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

#define QPAIR_MAX_SECRET 48

typedef struct qside {
  tern_conn *conn;
  uint8_t *out[4];                 /* sent at each level, not yet delivered */
  size_t out_len[4], out_cap[4];
  size_t sent_total[4];            /* bytes sent at each level, ever */
  uint8_t secret[4][2][QPAIR_MAX_SECRET]; /* [level][dir] */
  size_t secret_len[4][2];
  int order[8];                    /* level * 2 + dir, in installation order */
  size_t n_order;
  int result;                      /* last tern_handshake return */
} qside;

typedef struct qpair {
  qside c, s;
  size_t frag;        /* deliver in pieces of this many bytes (0: whole) */
  int steps;          /* handshake calls made */
} qpair;

/* The callbacks a qside installs (exposed for tests that build their own
   connections around a qside). */
extern const tern_quic_callbacks qpair_callbacks;

/*
 * qpair_init makes both connections from the two configurations and sets
 * their transport parameters. Returns 0, or -1 when a connection could
 * not be made.
 */
int qpair_init(qpair *p, tern_config *client, tern_config *server,
               const uint8_t *client_tp, size_t client_tp_len,
               const uint8_t *server_tp, size_t server_tp_len);

/*
 * qpair_run drives both sides until both are done (returns TERN_OK), one
 * fails (returns its error; the other side's result is in p->X.result),
 * or nothing moves any more (returns TERN_ERR_STATE).
 */
int qpair_run(qpair *p);

/* qpair_deliver hands everything `from` has sent at level to `to` (in
   p->frag pieces) and runs tern_handshake on `to` once. */
int qpair_deliver(qpair *p, qside *from, qside *to, tern_level level);

/* qpair_free frees both connections and the buffers. */
void qpair_free(qpair *p);

#endif
