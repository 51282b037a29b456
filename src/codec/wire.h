/*
 * codec/wire.h - codec layer: the bounded reader and writer that every tern
 * parser and serialiser uses: big-endian integers of 1, 2, 3 and 4 bytes,
 * QUIC variable-length integers (RFC 9000 §16), byte strings, and TLS-style
 * length-prefixed vectors (RFC 8446 §3.4) opened as nested readers or
 * reserved-and-patched in the writer.
 *
 * Rules every function follows:
 *  - A reader or writer satisfies its invariant (reader_ok / writer_ok
 *    below) before and after every call.
 *  - A call that fails returns a negative TERN_ERR_* code and changes
 *    nothing: not the reader or writer, not the output arguments.
 *  - Nothing is allocated; the caller owns every buffer.
 *
 * The ACSL contracts here are proven against src/wire.c with Frama-C WP
 * (proofs/wp_wire.sh), including the absence of run-time errors.
 */
#ifndef TERN_WIRE_H
#define TERN_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

/* A cursor over bytes to parse: buf[pos..len-1] is what is left. */
typedef struct tern_reader {
  const uint8_t *buf;
  size_t len;
  size_t pos;
} tern_reader;

/* A cursor over an output buffer: buf[0..len-1] is written, cap is the size. */
typedef struct tern_writer {
  uint8_t *buf;
  size_t cap;
  size_t len;
} tern_writer;

/*@
  // The reader invariant, for a function that only looks at the reader
  // (a `const tern_reader *`): the reader can be read, the cursor is
  // inside the buffer, which is readable.
  predicate reader_view_ok{L}(tern_reader *r) =
    \valid_read(r) && r->pos <= r->len &&
    (r->len == 0 || \valid_read(r->buf + (0 .. r->len - 1)));

  // The reader invariant, for a function that moves the cursor: the
  // reader can also be written. The cast is the identity on this
  // parameter; it is there for the static helpers of wire.c that take a
  // `const tern_reader *` but state reader_ok: Eva unfolds the predicate
  // on the argument as written and reads \valid of a pointer to const
  // as "not writable", which is not what is meant (the reader object
  // itself is writable; the helper only promises not to write it).
  predicate reader_ok{L}(tern_reader *r) =
    \valid((tern_reader *)r) && reader_view_ok(r);

  // The writer invariant, for a function that only looks at the writer
  // (a `const tern_writer *`): the writer can be read, the fill level is
  // inside the buffer, which is writable and does not overlap the writer.
  predicate writer_view_ok{L}(tern_writer *w) =
    \valid_read(w) && w->len <= w->cap &&
    (w->cap == 0 || \valid(w->buf + (0 .. w->cap - 1))) &&
    \separated(w, w->buf + (0 .. w->cap - 1));

  // The writer invariant, for a function that writes: the writer can
  // also be written.
  predicate writer_ok{L}(tern_writer *w) =
    \valid(w) && writer_view_ok(w);

  // Big-endian (network order) values of the bytes at p.
  logic integer be16{L}(uint8_t *p) = p[0] * 256 + p[1];
  logic integer be24{L}(uint8_t *p) = p[0] * 65536 + be16(p + 1);
  logic integer be32{L}(uint8_t *p) = be16(p) * 65536 + be16(p + 2);

  // RFC 9000 §16: the two top bits of the first byte give the length...
  logic integer varint_size(integer b0) =
    b0 < 0x40 ? 1 : b0 < 0x80 ? 2 : b0 < 0xc0 ? 4 : 8;

  // ...and the value is the rest of the bits, big-endian.
  logic integer varint_value{L}(uint8_t *p) =
    p[0] < 0x40 ? p[0] :
    p[0] < 0x80 ? be16(p) - 0x4000 :
    p[0] < 0xc0 ? be32(p) - 0x80000000 :
    (be32(p) - 0xc0000000) * 0x100000000 + be32(p + 4);

  // The length of the smallest encoding of v (for v < 2^62).
  logic integer varint_enc_size(integer v) =
    v < 0x40 ? 1 : v < 0x4000 ? 2 : v < 0x40000000 ? 4 : 8;
*/

/* The largest value a QUIC variable-length integer can hold, 2^62 - 1. */
#define TERN_VARINT_MAX UINT64_C(0x3fffffffffffffff)

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

/*
 * tern_reader_init points r at the len bytes at buf, cursor at the start.
 * buf may be NULL when len is 0. Returns nothing; it cannot fail.
 */
/*@ requires \valid(r);
    requires len == 0 || \valid_read(buf + (0 .. len - 1));
    assigns *r;
    ensures reader_ok(r);
    ensures r->len == len && r->pos == 0;
    ensures buf != \null ==> r->buf == buf;
*/
void tern_reader_init(tern_reader *r, const uint8_t *buf, size_t len);

/*
 * tern_reader_remaining returns how many bytes are left to read.
 * It cannot fail.
 */
/*@ requires reader_view_ok(r);
    assigns \nothing;
    ensures \result == r->len - r->pos;
*/
size_t tern_reader_remaining(const tern_reader *r);

/*
 * tern_reader_done checks that a top-level reader has been consumed
 * exactly, i.e. that no trailing bytes follow the message.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when bytes are left.
 */
/*@ requires reader_view_ok(r);
    assigns \nothing;
    ensures r->pos == r->len ==> \result == TERN_OK;
    ensures r->pos != r->len ==> \result == TERN_ERR_MALFORMED;
*/
int tern_reader_done(const tern_reader *r);

/*
 * tern_reader_u8 reads one byte into *out.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when no byte is left.
 */
/*@ requires reader_ok(r);
    requires \valid(out) && \separated(out, r);
    assigns r->pos, *out;
    ensures reader_ok(r);
    behavior ok:
      assumes r->len - r->pos >= 1;
      ensures \result == TERN_OK;
      ensures *out == \old(r->buf[r->pos]);
      ensures r->pos == \old(r->pos) + 1;
    behavior short:
      assumes r->len - r->pos < 1;
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_u8(tern_reader *r, uint8_t *out);

/*
 * tern_reader_u16 reads a 2-byte big-endian integer into *out.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when fewer than 2 bytes are left.
 */
/*@ requires reader_ok(r);
    requires \valid(out) && \separated(out, r);
    assigns r->pos, *out;
    ensures reader_ok(r);
    behavior ok:
      assumes r->len - r->pos >= 2;
      ensures \result == TERN_OK;
      ensures *out == \old(be16(r->buf + r->pos));
      ensures r->pos == \old(r->pos) + 2;
    behavior short:
      assumes r->len - r->pos < 2;
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_u16(tern_reader *r, uint16_t *out);

/*
 * tern_reader_u24 reads a 3-byte big-endian integer into *out.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when fewer than 3 bytes are left.
 */
/*@ requires reader_ok(r);
    requires \valid(out) && \separated(out, r);
    assigns r->pos, *out;
    ensures reader_ok(r);
    behavior ok:
      assumes r->len - r->pos >= 3;
      ensures \result == TERN_OK;
      ensures *out == \old(be24(r->buf + r->pos));
      ensures r->pos == \old(r->pos) + 3;
    behavior short:
      assumes r->len - r->pos < 3;
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_u24(tern_reader *r, uint32_t *out);

/*
 * tern_reader_u32 reads a 4-byte big-endian integer into *out.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when fewer than 4 bytes are left.
 */
/*@ requires reader_ok(r);
    requires \valid(out) && \separated(out, r);
    assigns r->pos, *out;
    ensures reader_ok(r);
    behavior ok:
      assumes r->len - r->pos >= 4;
      ensures \result == TERN_OK;
      ensures *out == \old(be32(r->buf + r->pos));
      ensures r->pos == \old(r->pos) + 4;
    behavior short:
      assumes r->len - r->pos < 4;
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_u32(tern_reader *r, uint32_t *out);

/*
 * tern_reader_varint reads a QUIC variable-length integer (RFC 9000 §16,
 * 1, 2, 4 or 8 bytes as the two top bits of the first byte say) into
 * *out. Non-minimal encodings are accepted, as RFC 9000 requires.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when the encoding is truncated.
 */
/*@ requires reader_ok(r);
    requires \valid(out) && \separated(out, r);
    assigns r->pos, *out;
    ensures reader_ok(r);
    behavior ok:
      assumes r->len - r->pos >= 1;
      assumes varint_size(r->buf[r->pos]) <= r->len - r->pos;
      ensures \result == TERN_OK;
      ensures *out == \old(varint_value(r->buf + r->pos));
      ensures *out <= TERN_VARINT_MAX;
      ensures r->pos == \old(r->pos + varint_size(r->buf[r->pos]));
    behavior short:
      assumes r->len - r->pos < 1 ||
              varint_size(r->buf[r->pos]) > r->len - r->pos;
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_varint(tern_reader *r, uint64_t *out);

/*
 * tern_reader_bytes copies the next n bytes to out, which must not
 * overlap the input or the reader.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when fewer than n bytes are left.
 */
/*@ requires reader_ok(r);
    requires n == 0 || \valid(out + (0 .. n - 1));
    requires \separated(out + (0 .. n - 1), r);
    requires \separated(out + (0 .. n - 1), r->buf + (0 .. r->len - 1));
    assigns r->pos, out[0 .. n - 1];
    ensures reader_ok(r);
    behavior ok:
      assumes n <= r->len - r->pos;
      ensures \result == TERN_OK;
      ensures \forall integer k; 0 <= k < n ==>
                out[k] == r->buf[\old(r->pos) + k];
      ensures r->pos == \old(r->pos) + n;
    behavior short:
      assumes n > r->len - r->pos;
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_bytes(tern_reader *r, uint8_t *out, size_t n);

/*
 * tern_reader_take hands out a pointer to the next n bytes, in place (no
 * copy; valid as long as the input buffer is), and moves past them.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when fewer than n bytes are left.
 */
/*@ requires reader_ok(r);
    requires \valid(out) && \separated(out, r);
    assigns r->pos, *out;
    ensures reader_ok(r);
    behavior ok:
      assumes n <= r->len - r->pos;
      ensures \result == TERN_OK;
      ensures *out == r->buf + \old(r->pos);
      ensures n == 0 || \valid_read(*out + (0 .. n - 1));
      ensures r->pos == \old(r->pos) + n;
    behavior short:
      assumes n > r->len - r->pos;
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_take(tern_reader *r, const uint8_t **out, size_t n);

/*
 * tern_reader_skip moves past the next n bytes without looking at them.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when fewer than n bytes are left.
 */
/*@ requires reader_ok(r);
    assigns r->pos;
    ensures reader_ok(r);
    behavior ok:
      assumes n <= r->len - r->pos;
      ensures \result == TERN_OK;
      ensures r->pos == \old(r->pos) + n;
    behavior short:
      assumes n > r->len - r->pos;
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_skip(tern_reader *r, size_t n);

/*
 * tern_reader_open_u8 opens the vector with a 1-byte length prefix at the
 * cursor (TLS `opaque x<min..max>` with max < 2^8) as the child reader
 * *child, which covers exactly the vector's contents, and moves r past the
 * whole vector; a read from the child can never run past it. Check the
 * child with tern_reader_close once parsed.
 * Returns TERN_OK, or TERN_ERR_MALFORMED when the prefix is truncated,
 * the vector is longer than what is left, or its length is outside
 * [min, max].
 */
/*@ requires reader_ok(r);
    requires \valid(child) && \separated(child, r);
    assigns r->pos, *child;
    ensures reader_ok(r);
    behavior ok:
      assumes r->len - r->pos >= 1;
      assumes r->buf[r->pos] <= r->len - r->pos - 1;
      assumes min <= r->buf[r->pos] <= max;
      ensures \result == TERN_OK;
      ensures reader_ok(child) && child->pos == 0;
      ensures child->len == \old(r->buf[r->pos]);
      ensures child->buf == r->buf + \old(r->pos) + 1;
      ensures r->pos == \old(r->pos) + 1 + child->len;
    behavior bad:
      assumes !(r->len - r->pos >= 1 &&
                r->buf[r->pos] <= r->len - r->pos - 1 &&
                min <= r->buf[r->pos] <= max);
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_open_u8(tern_reader *r, tern_reader *child, size_t min,
                        size_t max);

/*
 * tern_reader_open_u16 is tern_reader_open_u8 for a 2-byte length prefix.
 * Returns TERN_OK or TERN_ERR_MALFORMED, as tern_reader_open_u8.
 */
/*@ requires reader_ok(r);
    requires \valid(child) && \separated(child, r);
    assigns r->pos, *child;
    ensures reader_ok(r);
    behavior ok:
      assumes r->len - r->pos >= 2;
      assumes be16(r->buf + r->pos) <= r->len - r->pos - 2;
      assumes min <= be16(r->buf + r->pos) <= max;
      ensures \result == TERN_OK;
      ensures reader_ok(child) && child->pos == 0;
      ensures child->len == \old(be16(r->buf + r->pos));
      ensures child->buf == r->buf + \old(r->pos) + 2;
      ensures r->pos == \old(r->pos) + 2 + child->len;
    behavior bad:
      assumes !(r->len - r->pos >= 2 &&
                be16(r->buf + r->pos) <= r->len - r->pos - 2 &&
                min <= be16(r->buf + r->pos) <= max);
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_open_u16(tern_reader *r, tern_reader *child, size_t min,
                         size_t max);

/*
 * tern_reader_open_u24 is tern_reader_open_u8 for a 3-byte length prefix.
 * Returns TERN_OK or TERN_ERR_MALFORMED, as tern_reader_open_u8.
 */
/*@ requires reader_ok(r);
    requires \valid(child) && \separated(child, r);
    assigns r->pos, *child;
    ensures reader_ok(r);
    behavior ok:
      assumes r->len - r->pos >= 3;
      assumes be24(r->buf + r->pos) <= r->len - r->pos - 3;
      assumes min <= be24(r->buf + r->pos) <= max;
      ensures \result == TERN_OK;
      ensures reader_ok(child) && child->pos == 0;
      ensures child->len == \old(be24(r->buf + r->pos));
      ensures child->buf == r->buf + \old(r->pos) + 3;
      ensures r->pos == \old(r->pos) + 3 + child->len;
    behavior bad:
      assumes !(r->len - r->pos >= 3 &&
                be24(r->buf + r->pos) <= r->len - r->pos - 3 &&
                min <= be24(r->buf + r->pos) <= max);
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_open_u24(tern_reader *r, tern_reader *child, size_t min,
                         size_t max);

/*
 * tern_reader_open_varint is tern_reader_open_u8 for a QUIC varint length
 * prefix (QUIC transport parameters, RFC 9000 §18).
 * Returns TERN_OK or TERN_ERR_MALFORMED, as tern_reader_open_u8.
 */
/*@ requires reader_ok(r);
    requires \valid(child) && \separated(child, r);
    assigns r->pos, *child;
    ensures reader_ok(r);
    behavior ok:
      assumes r->len - r->pos >= 1;
      assumes varint_size(r->buf[r->pos]) <= r->len - r->pos;
      assumes varint_value(r->buf + r->pos) <=
              r->len - r->pos - varint_size(r->buf[r->pos]);
      assumes min <= varint_value(r->buf + r->pos) <= max;
      ensures \result == TERN_OK;
      ensures reader_ok(child) && child->pos == 0;
      ensures child->len == \old(varint_value(r->buf + r->pos));
      ensures child->buf ==
              r->buf + \old(r->pos + varint_size(r->buf[r->pos]));
      ensures r->pos ==
              \old(r->pos + varint_size(r->buf[r->pos])) + child->len;
    behavior bad:
      assumes !(r->len - r->pos >= 1 &&
                varint_size(r->buf[r->pos]) <= r->len - r->pos &&
                varint_value(r->buf + r->pos) <=
                  r->len - r->pos - varint_size(r->buf[r->pos]) &&
                min <= varint_value(r->buf + r->pos) <= max);
      assigns \nothing;
      ensures \result == TERN_ERR_MALFORMED;
    complete behaviors;
    disjoint behaviors;
*/
int tern_reader_open_varint(tern_reader *r, tern_reader *child, size_t min,
                            size_t max);

/*
 * tern_reader_close checks that a child reader from tern_reader_open_*
 * was consumed exactly (its parent has already moved past it).
 * Returns TERN_OK, or TERN_ERR_MALFORMED when bytes are left over.
 */
/*@ requires reader_view_ok(child);
    assigns \nothing;
    ensures child->pos == child->len ==> \result == TERN_OK;
    ensures child->pos != child->len ==> \result == TERN_ERR_MALFORMED;
*/
int tern_reader_close(const tern_reader *child);

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

/*
 * tern_writer_init points w at the cap bytes at buf, empty. buf may be
 * NULL when cap is 0. Returns nothing; it cannot fail.
 */
/*@ requires \valid(w);
    requires cap == 0 || \valid(buf + (0 .. cap - 1));
    requires \separated(w, buf + (0 .. cap - 1));
    assigns *w;
    ensures writer_ok(w);
    ensures w->buf == buf && w->cap == cap && w->len == 0;
*/
void tern_writer_init(tern_writer *w, uint8_t *buf, size_t cap);

/*
 * tern_writer_remaining returns how many bytes can still be written.
 * It cannot fail.
 */
/*@ requires writer_view_ok(w);
    assigns \nothing;
    ensures \result == w->cap - w->len;
*/
size_t tern_writer_remaining(const tern_writer *w);

/*
 * tern_writer_u8 appends one byte.
 * Returns TERN_OK, or TERN_ERR_BUFFER_TOO_SMALL when it does not fit.
 */
/*@ requires writer_ok(w);
    assigns w->len, w->buf[w->len];
    ensures writer_ok(w);
    behavior ok:
      assumes w->cap - w->len >= 1;
      ensures \result == TERN_OK;
      ensures w->buf[\old(w->len)] == v;
      ensures w->len == \old(w->len) + 1;
    behavior full:
      assumes w->cap - w->len < 1;
      assigns \nothing;
      ensures \result == TERN_ERR_BUFFER_TOO_SMALL;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_u8(tern_writer *w, uint8_t v);

/*
 * tern_writer_u16 appends v as 2 big-endian bytes.
 * Returns TERN_OK, or TERN_ERR_BUFFER_TOO_SMALL when they do not fit.
 */
/*@ requires writer_ok(w);
    assigns w->len, w->buf[w->len .. w->len + 1];
    ensures writer_ok(w);
    behavior ok:
      assumes w->cap - w->len >= 2;
      ensures \result == TERN_OK;
      ensures be16(w->buf + \old(w->len)) == v;
      ensures w->len == \old(w->len) + 2;
    behavior full:
      assumes w->cap - w->len < 2;
      assigns \nothing;
      ensures \result == TERN_ERR_BUFFER_TOO_SMALL;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_u16(tern_writer *w, uint16_t v);

/*
 * tern_writer_u24 appends v (which must be below 2^24) as 3 big-endian
 * bytes. Returns TERN_OK, TERN_ERR_INVALID_ARG when v >= 2^24, or
 * TERN_ERR_BUFFER_TOO_SMALL when the bytes do not fit.
 */
/*@ requires writer_ok(w);
    assigns w->len, w->buf[w->len .. w->len + 2];
    ensures writer_ok(w);
    behavior ok:
      assumes v <= 0xffffff && w->cap - w->len >= 3;
      ensures \result == TERN_OK;
      ensures be24(w->buf + \old(w->len)) == v;
      ensures w->len == \old(w->len) + 3;
    behavior too_big:
      assumes v > 0xffffff;
      assigns \nothing;
      ensures \result == TERN_ERR_INVALID_ARG;
    behavior full:
      assumes v <= 0xffffff && w->cap - w->len < 3;
      assigns \nothing;
      ensures \result == TERN_ERR_BUFFER_TOO_SMALL;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_u24(tern_writer *w, uint32_t v);

/*
 * tern_writer_u32 appends v as 4 big-endian bytes.
 * Returns TERN_OK, or TERN_ERR_BUFFER_TOO_SMALL when they do not fit.
 */
/*@ requires writer_ok(w);
    assigns w->len, w->buf[w->len .. w->len + 3];
    ensures writer_ok(w);
    behavior ok:
      assumes w->cap - w->len >= 4;
      ensures \result == TERN_OK;
      ensures be32(w->buf + \old(w->len)) == v;
      ensures w->len == \old(w->len) + 4;
    behavior full:
      assumes w->cap - w->len < 4;
      assigns \nothing;
      ensures \result == TERN_ERR_BUFFER_TOO_SMALL;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_u32(tern_writer *w, uint32_t v);

/*
 * tern_writer_varint appends v as a QUIC variable-length integer in its
 * smallest encoding (1, 2, 4 or 8 bytes; RFC 9000 §16).
 * Returns TERN_OK, TERN_ERR_INVALID_ARG when v >= 2^62, or
 * TERN_ERR_BUFFER_TOO_SMALL when the encoding does not fit.
 */
/*@ requires writer_ok(w);
    assigns w->len, w->buf[w->len .. w->len + 7];
    ensures writer_ok(w);
    behavior ok:
      assumes v <= TERN_VARINT_MAX;
      assumes varint_enc_size(v) <= w->cap - w->len;
      assigns w->len, w->buf[w->len .. w->len + varint_enc_size(v) - 1];
      ensures \result == TERN_OK;
      ensures varint_size(w->buf[\old(w->len)]) == varint_enc_size(v);
      ensures varint_value(w->buf + \old(w->len)) == v;
      ensures w->len == \old(w->len) + varint_enc_size(v);
    behavior too_big:
      assumes v > TERN_VARINT_MAX;
      assigns \nothing;
      ensures \result == TERN_ERR_INVALID_ARG;
    behavior full:
      assumes v <= TERN_VARINT_MAX;
      assumes varint_enc_size(v) > w->cap - w->len;
      assigns \nothing;
      ensures \result == TERN_ERR_BUFFER_TOO_SMALL;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_varint(tern_writer *w, uint64_t v);

/*
 * tern_writer_bytes appends the n bytes at src, which must not overlap
 * the output buffer. Returns TERN_OK, or TERN_ERR_BUFFER_TOO_SMALL when
 * they do not fit.
 */
/*@ requires writer_ok(w);
    requires n == 0 || \valid_read(src + (0 .. n - 1));
    requires \separated(src + (0 .. n - 1), w->buf + (0 .. w->cap - 1));
    assigns w->len, w->buf[w->len .. w->len + n - 1];
    ensures writer_ok(w);
    behavior ok:
      assumes n <= w->cap - w->len;
      ensures \result == TERN_OK;
      ensures \forall integer k; 0 <= k < n ==>
                w->buf[\old(w->len) + k] == src[k];
      ensures w->len == \old(w->len) + n;
    behavior full:
      assumes n > w->cap - w->len;
      assigns \nothing;
      ensures \result == TERN_ERR_BUFFER_TOO_SMALL;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_bytes(tern_writer *w, const uint8_t *src, size_t n);

/*
 * tern_writer_open_u8 starts a vector with a 1-byte length prefix: it
 * reserves the prefix (written as 0 for now) and stores in *mark where it
 * is. Write the contents, then call tern_writer_close_u8(w, *mark).
 * Returns TERN_OK, or TERN_ERR_BUFFER_TOO_SMALL when the prefix does not
 * fit.
 */
/*@ requires writer_ok(w);
    requires \valid(mark) && \separated(mark, w);
    requires \separated(mark, w->buf + (0 .. w->cap - 1));
    assigns w->len, w->buf[w->len], *mark;
    ensures writer_ok(w);
    behavior ok:
      assumes w->cap - w->len >= 1;
      ensures \result == TERN_OK;
      ensures *mark == \old(w->len);
      ensures w->len == \old(w->len) + 1;
    behavior full:
      assumes w->cap - w->len < 1;
      assigns \nothing;
      ensures \result == TERN_ERR_BUFFER_TOO_SMALL;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_open_u8(tern_writer *w, size_t *mark);

/*
 * tern_writer_open_u16 is tern_writer_open_u8 for a 2-byte length prefix.
 * Returns TERN_OK, or TERN_ERR_BUFFER_TOO_SMALL.
 */
/*@ requires writer_ok(w);
    requires \valid(mark) && \separated(mark, w);
    requires \separated(mark, w->buf + (0 .. w->cap - 1));
    assigns w->len, w->buf[w->len .. w->len + 1], *mark;
    ensures writer_ok(w);
    behavior ok:
      assumes w->cap - w->len >= 2;
      ensures \result == TERN_OK;
      ensures *mark == \old(w->len);
      ensures w->len == \old(w->len) + 2;
    behavior full:
      assumes w->cap - w->len < 2;
      assigns \nothing;
      ensures \result == TERN_ERR_BUFFER_TOO_SMALL;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_open_u16(tern_writer *w, size_t *mark);

/*
 * tern_writer_open_u24 is tern_writer_open_u8 for a 3-byte length prefix.
 * Returns TERN_OK, or TERN_ERR_BUFFER_TOO_SMALL.
 */
/*@ requires writer_ok(w);
    requires \valid(mark) && \separated(mark, w);
    requires \separated(mark, w->buf + (0 .. w->cap - 1));
    assigns w->len, w->buf[w->len .. w->len + 2], *mark;
    ensures writer_ok(w);
    behavior ok:
      assumes w->cap - w->len >= 3;
      ensures \result == TERN_OK;
      ensures *mark == \old(w->len);
      ensures w->len == \old(w->len) + 3;
    behavior full:
      assumes w->cap - w->len < 3;
      assigns \nothing;
      ensures \result == TERN_ERR_BUFFER_TOO_SMALL;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_open_u24(tern_writer *w, size_t *mark);

/*
 * tern_writer_close_u8 ends the vector opened at mark by
 * tern_writer_open_u8: it writes into the prefix the number of bytes
 * written since. On failure nothing changes.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG when mark cannot come from
 * tern_writer_open_u8 on this writer, or TERN_ERR_LIMIT when the contents
 * are longer than 255 bytes.
 */
/*@ requires writer_ok(w);
    assigns w->buf[mark];
    ensures writer_ok(w);
    behavior ok:
      assumes mark <= w->len && w->len - mark >= 1;
      assumes w->len - mark - 1 <= 0xff;
      ensures \result == TERN_OK;
      ensures w->buf[mark] == w->len - mark - 1;
    behavior bad_mark:
      assumes mark > w->len || w->len - mark < 1;
      assigns \nothing;
      ensures \result == TERN_ERR_INVALID_ARG;
    behavior too_long:
      assumes mark <= w->len && w->len - mark >= 1;
      assumes w->len - mark - 1 > 0xff;
      assigns \nothing;
      ensures \result == TERN_ERR_LIMIT;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_close_u8(tern_writer *w, size_t mark);

/*
 * tern_writer_close_u16 is tern_writer_close_u8 for a 2-byte prefix.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG for a bad mark, or TERN_ERR_LIMIT
 * when the contents are longer than 65535 bytes.
 */
/*@ requires writer_ok(w);
    assigns w->buf[mark .. mark + 1];
    ensures writer_ok(w);
    behavior ok:
      assumes mark <= w->len && w->len - mark >= 2;
      assumes w->len - mark - 2 <= 0xffff;
      ensures \result == TERN_OK;
      ensures be16(w->buf + mark) == w->len - mark - 2;
    behavior bad_mark:
      assumes mark > w->len || w->len - mark < 2;
      assigns \nothing;
      ensures \result == TERN_ERR_INVALID_ARG;
    behavior too_long:
      assumes mark <= w->len && w->len - mark >= 2;
      assumes w->len - mark - 2 > 0xffff;
      assigns \nothing;
      ensures \result == TERN_ERR_LIMIT;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_close_u16(tern_writer *w, size_t mark);

/*
 * tern_writer_close_u24 is tern_writer_close_u8 for a 3-byte prefix.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG for a bad mark, or TERN_ERR_LIMIT
 * when the contents are longer than 2^24 - 1 bytes.
 */
/*@ requires writer_ok(w);
    assigns w->buf[mark .. mark + 2];
    ensures writer_ok(w);
    behavior ok:
      assumes mark <= w->len && w->len - mark >= 3;
      assumes w->len - mark - 3 <= 0xffffff;
      ensures \result == TERN_OK;
      ensures be24(w->buf + mark) == w->len - mark - 3;
    behavior bad_mark:
      assumes mark > w->len || w->len - mark < 3;
      assigns \nothing;
      ensures \result == TERN_ERR_INVALID_ARG;
    behavior too_long:
      assumes mark <= w->len && w->len - mark >= 3;
      assumes w->len - mark - 3 > 0xffffff;
      assigns \nothing;
      ensures \result == TERN_ERR_LIMIT;
    complete behaviors;
    disjoint behaviors;
*/
int tern_writer_close_u24(tern_writer *w, size_t mark);

#endif /* TERN_WIRE_H */
