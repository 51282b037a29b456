/*
 * proofs/codec/record/harness.c - the EVA driver of src/codec/record.c:
 * a reassembler fed a stream of unknown bytes cut into pieces of unknown
 * sizes, every record it hands out parsed as a TLSInnerPlaintext, and
 * record writing with unknown types, versions and lengths.
 *
 * The stream is STREAM bytes long (short records, several per stream,
 * and headers cut anywhere), then a second reader takes LONG bytes whose
 * first five are a header of unknown type and length, so records up to
 * the largest a peer may send complete too. Each call takes a piece of
 * 0..rest bytes; STEPS calls per reader.
 */
#include "__fc_builtin.h"

#include <stddef.h>
#include <stdint.h>

#include "codec/record.h"

#ifndef STREAM
#define STREAM 24
#endif
#ifndef STEPS
#define STEPS 8
#endif
#define LONG (TERN_RECORD_MAX_WIRE + 8)

static uint8_t stream[STREAM];
static uint8_t big[LONG];
static tern_record_reader reader, big_reader;
static uint8_t out_buf[64];

/* Hands every whole record of r's pieces of in[0..len) to the inner
   plaintext parser, STEPS calls at most. */
static void feed(tern_record_reader *r, const uint8_t *in, size_t len) {
  size_t off = 0;
  tern_record_reader_init(r);
  for (int step = 0; step < STEPS && off < len; step++) {
    size_t piece = Frama_C_size_t_interval(0, len - off);
    size_t used = 0;
    tern_record rec;
    uint8_t alert = 0;
    int rc = tern_record_read(r, in + off, piece, &used, &rec, &alert);
    /*@ assert used <= piece; */
    off += used;
    if (rc == TERN_OK) {
      uint8_t type = 0;
      size_t content_len = 0;
      /*@ assert rec.len <= TERN_RECORD_MAX_CIPHERTEXT; */
      /*@ assert \valid(rec.data + (0 .. rec.len - 1)) || rec.len == 0; */
      if (tern_record_inner_type(rec.data, rec.len, &type, &content_len, &alert) == TERN_OK) {
        /*@ assert content_len < rec.len; */
      }
      (void)tern_record_reader_buffered(r);
    } else if (rc != TERN_WANT_READ) {
      /*@ assert alert != 0; */
      break;
    }
  }
  tern_record_reader_wipe(r);
}

int main(void) {
  tern_writer w;
  uint8_t data[24];
  size_t n;

  Frama_C_make_unknown((char *)stream, sizeof stream);
  Frama_C_make_unknown((char *)big, sizeof big);
  feed(&reader, stream, sizeof stream);
  feed(&big_reader, big, sizeof big);

  /* writing: unknown type, version, length, fill level */
  Frama_C_make_unknown((char *)data, sizeof data);
  w.buf = out_buf;
  w.cap = sizeof out_buf;
  w.len = Frama_C_size_t_interval(0, sizeof out_buf);
  n = Frama_C_size_t_interval(0, sizeof data);
  (void)tern_record_write_plain(&w, Frama_C_unsigned_char_interval(0, 255),
                                (uint16_t)Frama_C_unsigned_short_interval(0, 0xffff), data, n);
  /*@ assert w.len <= w.cap; */
  return 0;
}
