/*
 * demo.h - the parts of `tern demo`, one file each.
 */
#ifndef TERN_TOOLS_DEMO_H
#define TERN_TOOLS_DEMO_H

#include <stdlib.h>

#include <tern.h>

/* A tern client and server in QUIC mode, in memory (demo_handshake.c).
   Returns 0 when every step behaved. */
int demo_handshake(void);

#endif
