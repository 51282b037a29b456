/*
 * common.c - the small helpers every part of bench_handshake uses:
 * a note that a resumed handshake did not resume, and the ring that keeps each library's pool of
 * stored sessions in order.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "bench.h"

/* not_resumed: a timed resumed handshake of `lib` made a full one. */
void not_resumed(const char *lib) {
  fprintf(stderr, "bench_handshake: %s: a resumed handshake was timed but did not resume\n", lib);
  exit(1);
}

/* ring_push: the slot to fill, or -1 when the pool is full. */
int ring_push(ring *r) {
  if (r->n == POOL) return -1;
  return (int)((r->head + r->n++) % POOL);
}

/* ring_pop: the oldest slot, now empty, or -1 when there is none. */
int ring_pop(ring *r) {
  int i;
  if (r->n == 0) return -1;
  i = (int)r->head;
  r->head = (r->head + 1) % POOL;
  r->n--;
  return i;
}
