/*
 * proofs/codec/record/harness.c - the EVA driver for the two functions of
 * src/codec/record.c that WP does not cover, because each hands a uint8_t
 * buffer on as char * or unsigned char * (memmove, OPENSSL_cleanse), a
 * cast WP's typed memory model does not follow:
 *  - tern_record_write_plain: a writer at every fill level of its buffer,
 *    every content type and version, fragments of every length up to past
 *    the space left, the fragment both apart from the buffer and already
 *    in place where the record's body goes;
 *  - tern_record_reader_wipe: on a reader holding unknown bytes, after
 *    which the reader is empty (the buffer's zeroing is OPENSSL_cleanse's
 *    contract, which EVA takes as given).
 */
#include "__fc_builtin.h"

#include <stddef.h>
#include <stdint.h>

#include "codec/record.h"

#define CAP 32

static uint8_t out_buf[CAP];
static uint8_t data[CAP];
static tern_record_reader reader;

/* One write at fill level `before` of a fragment of n bytes, apart from
   the buffer or (`in_place`) already where the record's body goes. */
static void write_one(size_t before, size_t n, int in_place) {
  tern_writer w;
  int rc;
  w.buf = out_buf;
  w.cap = CAP;
  w.len = before;
  if (in_place) {
    if (before + TERN_RECORD_HEADER_LEN + n > CAP) return;
    rc = tern_record_write_plain(&w, TERN_CONTENT_HANDSHAKE, TERN_RECORD_VERSION_TLS12,
                                 out_buf + before + TERN_RECORD_HEADER_LEN, n);
  } else {
    rc = tern_record_write_plain(&w, Frama_C_unsigned_char_interval(0, 255),
                                 (uint16_t)Frama_C_unsigned_short_interval(0, 0xffff), data, n);
  }
  /*@ assert w.len <= w.cap; */
  /*@ assert rc == TERN_OK ==> w.len == before + TERN_RECORD_HEADER_LEN + n; */
  /*@ assert rc != TERN_OK ==> w.len == before; */
}

/* Every fill level, every length, both placements. */
int main(void) {
  Frama_C_make_unknown((char *)data, sizeof data);
  Frama_C_make_unknown((char *)out_buf, sizeof out_buf);
  for (size_t before = 0; before <= CAP; before++)
    for (size_t n = 0; n <= CAP; n++) {
      write_one(before, n, 0);
      write_one(before, n, 1);
    }
  Frama_C_make_unknown((char *)&reader, sizeof reader);
  tern_record_reader_wipe(&reader);
  /*@ assert reader.have == 0 && reader.err == 0; */
  return 0;
}
