/*
 * proofs/transport/tls_buf/harness.c - the EVA driver for
 * src/transport/tls_buf.c, the byte queues of the TCP transport: the two
 * functions WP does not cover (tern_tls_buf_reserve, tern_tls_buf_append:
 * malloc, memcpy and OPENSSL_clear_free on the queue) and, beside them,
 * the others as tls.c calls them. One queue is driven as tls.c drives its
 * output and application-data queues: appends of unknown bytes of every
 * length 0..MAXN (each length its own case), then of lengths that cross
 * each doubling of the capacity, taking from its front what readers of
 * several sizes ask for (none, less than is there, all of it), growing
 * while allocation fails, growing to a size no size_t holds (both
 * refused, the queue unchanged), and the queue given back. After every
 * step the queue is well formed: off <= len <= cap and buf[0 .. cap) is
 * allocated.
 */
#include "__fc_builtin.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "transport/tls_buf.h"

#ifndef MAXN
#define MAXN 64
#endif

static uint8_t src[3 * TERN_TLS_BUF_MIN];
static uint8_t out[8 * TERN_TLS_BUF_MIN];

int proof_alloc_fails; /* OPENSSL_malloc fails (include/openssl/crypto.h) */

static uint8_t *buf;
static size_t cap, len, off;

/* Takes what a reader with room for `room` bytes takes, as tern_tls_read
   does: clamp, copy out, consume. */
#define TAKE(room)                                  \
  do {                                              \
    size_t k_ = tern_tls_buf_clamp(off, len, room); \
    if (k_) memcpy(out, buf + off, k_);             \
    tern_tls_buf_consume(&off, &len, k_);           \
    /*@ assert tls_queue_ok(buf, cap, len, off); */ \
  } while (0)

/* Appends n unknown bytes. Each use is its own call site, so that EVA
   gives each allocation its own base. */
#define PUT(n)                                                  \
  do {                                                          \
    size_t before_ = len;                                       \
    int rc_ = tern_tls_buf_append(&buf, &cap, &len, src, n);    \
    /*@ assert tls_queue_ok(buf, cap, len, off); */             \
    /*@ assert rc_ == TERN_OK ==> len == before_ + (n); */       \
    /*@ assert rc_ != TERN_OK ==> len == before_; */             \
  } while (0)

/* Gives the queue back when it is empty, as tern_tls_release_buffers. */
#define RELEASE()                                 \
  do {                                            \
    if (off == len) {                             \
      OPENSSL_clear_free(buf, cap);               \
      buf = NULL;                                 \
      cap = len = off = 0;                        \
    }                                             \
  } while (0)

int main(void) {
  Frama_C_make_unknown((char *)src, sizeof src);
  /* every length 0..MAXN into an empty queue, taken in one read, the
     queue then given back */
  for (size_t n = 0; n <= MAXN; n++) {
    PUT(n);
    TAKE(TERN_TLS_BUF_MIN);
    /*@ assert len == 0 && off == 0; */
    RELEASE();
  }
  /* a queue growing past each doubling, read in pieces (none, less than
     is there, all of it) */
  PUT(TERN_TLS_BUF_MIN - 1);
  TAKE(1);
  PUT(1);
  TAKE(0);
  PUT(1); /* 4097 bytes: 8192 */
  TAKE(64);
  PUT(TERN_TLS_BUF_MIN);
  TAKE(TERN_TLS_BUF_MIN - 1);
  PUT(3 * TERN_TLS_BUF_MIN);
  TAKE(100);
  /* growth while allocation fails: nothing changes */
  {
    uint8_t *b0 = buf;
    size_t c0 = cap, l0 = len;
    proof_alloc_fails = 1;
    PUT(cap - len + 1);
    /*@ assert buf == b0 && cap == c0 && len == l0; */
    proof_alloc_fails = 0;
  }
  /* growth no size_t can hold, and a capacity that cannot double */
  {
    int rc = tern_tls_buf_reserve(&buf, &cap, len, SIZE_MAX);
    /*@ assert len != 0 ==> rc == TERN_ERR_NOMEM; */
    /*@ assert tls_queue_ok(buf, cap, len, off); */
  }
  {
    size_t g = tern_tls_buf_grow((SIZE_MAX / 2) + 1, SIZE_MAX);
    /*@ assert g == 0; */
  }
  /* the padding and the refused 0-RTT count over their whole ranges
     (no run-time error; their contracts are WP's) */
  {
    size_t block = Frama_C_size_t_interval(0, TERN_RECORD_MAX_PLAINTEXT);
    size_t l = Frama_C_size_t_interval(0, TERN_RECORD_MAX_PLAINTEXT);
    size_t pad = tern_tls_pad_len(block, l);
    size_t rl = Frama_C_size_t_interval(0, TERN_RECORD_MAX_CIPHERTEXT);
    size_t e = tern_tls_refused_early_bytes(rl, Frama_C_size_t_interval(8, TERN_RECORD_TAG_LEN));
    (void)pad;
    (void)e;
  }
  /* all of it read, the queue given back */
  TAKE(sizeof out);
  /*@ assert len == 0 && off == 0; */
  RELEASE();
  /*@ assert buf == \null && cap == 0; */
  return 0;
}
