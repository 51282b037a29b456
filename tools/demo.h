/*
 * demo.h - the parts of `tern demo`, one file each.
 */
#ifndef TERN_TOOLS_DEMO_H
#define TERN_TOOLS_DEMO_H

#include <stdlib.h>

#include <tern.h>

struct qpair;

/* A tern client and server in QUIC mode, in memory (demo_handshake.c).
   Returns 0 when every step behaved. */
int demo_handshake(void);

/* Resumption with 0-RTT, in QUIC mode (demo_resume.c). */
int demo_resume(void);

/* Shared by the demo parts (demo_handshake.c): a level's name, a
   monotonic clock in microseconds, and a handshake run step by step with
   each flight and each secret installation printed. */
const char *demo_level_name(int lv);
double demo_now_us(void);
int demo_run_printed(struct qpair *p);

#endif
