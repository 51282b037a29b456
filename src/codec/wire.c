/*
 * codec/wire.c - codec layer: the bounded reader and writer (see wire.h for
 * the contracts).
 *
 * Every length check is written as `n <= len - pos` (never `pos + n <=
 * len`) so that no sum can wrap. Multi-byte values are assembled and
 * split with * / % rather than shifts and masks: the compiler emits the
 * same code for unsigned operands and the arithmetic is what the proof
 * reasons about.
 */
#include "codec/wire.h"

/* The buffer a reader over nothing points at, so that `buf + pos` is
 * never arithmetic on a null pointer. */
static const uint8_t wire_empty[1];

/* ------------------------------------------------------------------ */
/* Big-endian loads and stores                                         */
/* ------------------------------------------------------------------ */

/* load16 returns the 2-byte big-endian integer at p. Cannot fail. */
/*@ requires \valid_read(p + (0 .. 1));
    assigns \nothing;
    ensures \result == be16(p);
*/
static uint16_t load16(const uint8_t *p) {
  return (uint16_t)(p[0] * 256 + p[1]);
}

/* load24 returns the 3-byte big-endian integer at p. Cannot fail. */
/*@ requires \valid_read(p + (0 .. 2));
    assigns \nothing;
    ensures \result == be24(p);
*/
static uint32_t load24(const uint8_t *p) {
  return (uint32_t)p[0] * 65536u + load16(p + 1);
}

/* load32 returns the 4-byte big-endian integer at p. Cannot fail. */
/*@ requires \valid_read(p + (0 .. 3));
    assigns \nothing;
    ensures \result == be32(p);
*/
static uint32_t load32(const uint8_t *p) {
  return (uint32_t)load16(p) * 65536u + load16(p + 2);
}

/* store16 writes v at p as 2 big-endian bytes. Cannot fail. */
/*@ requires \valid(p + (0 .. 1));
    assigns p[0 .. 1];
    ensures be16(p) == v;
*/
static void store16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v / 256u);
  p[1] = (uint8_t)(v % 256u);
}

/* store24 writes v (below 2^24) at p as 3 big-endian bytes. Cannot fail. */
/*@ requires \valid(p + (0 .. 2));
    requires v <= 0xffffff;
    assigns p[0 .. 2];
    ensures be24(p) == v;
*/
static void store24(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v / 65536u);
  store16(p + 1, (uint16_t)(v % 65536u));
}

/* store32 writes v at p as 4 big-endian bytes. Cannot fail. */
/*@ requires \valid(p + (0 .. 3));
    assigns p[0 .. 3];
    ensures be32(p) == v;
*/
static void store32(uint8_t *p, uint32_t v) {
  store16(p, (uint16_t)(v / 65536u));
  store16(p + 2, (uint16_t)(v % 65536u));
}

/* ------------------------------------------------------------------ */
/* QUIC variable-length integers                                       */
/* ------------------------------------------------------------------ */

/* varint_size_of returns the encoded length announced by a varint's
 * first byte: 1, 2, 4 or 8. Cannot fail. */
/*@ assigns \nothing;
    ensures \result == varint_size(b0);
*/
static size_t varint_size_of(uint8_t b0) {
  if (b0 < 0x40)
    return 1;
  if (b0 < 0x80)
    return 2;
  if (b0 < 0xc0)
    return 4;
  return 8;
}

/* varint_enc_size_of returns the length of the smallest encoding of v
 * (v below 2^62): 1, 2, 4 or 8. Cannot fail. */
/*@ assigns \nothing;
    ensures \result == varint_enc_size(v);
*/
static size_t varint_enc_size_of(uint64_t v) {
  if (v < 0x40)
    return 1;
  if (v < 0x4000)
    return 2;
  if (v < 0x40000000)
    return 4;
  return 8;
}

/* peek_varint decodes the varint at the cursor into *v without moving
 * it. Returns its encoded length, or 0 when it is truncated. */
/*@ requires reader_ok(r);
    requires \valid(v) && \separated(v, r);
    requires \separated(v, r->buf + (0 .. r->len - 1));
    assigns *v;
    behavior ok:
      assumes r->len - r->pos >= 1;
      assumes varint_size(r->buf[r->pos]) <= r->len - r->pos;
      ensures \result == varint_size(r->buf[r->pos]);
      ensures *v == varint_value(r->buf + r->pos);
      ensures *v <= TERN_VARINT_MAX;
    behavior short:
      assumes r->len - r->pos < 1 ||
              varint_size(r->buf[r->pos]) > r->len - r->pos;
      assigns \nothing;
      ensures \result == 0;
    complete behaviors;
    disjoint behaviors;
*/
static size_t peek_varint(const tern_reader *r, uint64_t *v) {
  size_t avail = r->len - r->pos;
  const uint8_t *p;
  size_t n;

  if (avail < 1)
    return 0;
  p = r->buf + r->pos;
  n = varint_size_of(p[0]);
  if (n > avail)
    return 0;
  if (n == 1)
    *v = p[0];
  else if (n == 2)
    *v = (uint64_t)load16(p) - 0x4000u;
  else if (n == 4)
    *v = (uint64_t)load32(p) - 0x80000000u;
  else
    *v = ((uint64_t)load32(p) - 0xc0000000u) * UINT64_C(0x100000000) +
         load32(p + 4);
  return n;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

/* Sets up a reader over buf[0..len-1]. Cannot fail. */
void tern_reader_init(tern_reader *r, const uint8_t *buf, size_t len) {
  r->buf = (buf != NULL) ? buf : wire_empty;
  r->len = len;
  r->pos = 0;
}

/* Bytes left to read. Cannot fail. */
size_t tern_reader_remaining(const tern_reader *r) {
  return r->len - r->pos;
}

/* Checks that nothing is left. Returns TERN_ERR_MALFORMED if something is. */
int tern_reader_done(const tern_reader *r) {
  return r->pos == r->len ? TERN_OK : TERN_ERR_MALFORMED;
}

/* Reads one byte. Returns TERN_ERR_MALFORMED when none is left. */
int tern_reader_u8(tern_reader *r, uint8_t *out) {
  if (r->len - r->pos < 1)
    return TERN_ERR_MALFORMED;
  *out = r->buf[r->pos];
  r->pos += 1;
  return TERN_OK;
}

/* Reads a big-endian u16. Returns TERN_ERR_MALFORMED when truncated. */
int tern_reader_u16(tern_reader *r, uint16_t *out) {
  if (r->len - r->pos < 2)
    return TERN_ERR_MALFORMED;
  *out = load16(r->buf + r->pos);
  r->pos += 2;
  return TERN_OK;
}

/* Reads a big-endian u24. Returns TERN_ERR_MALFORMED when truncated. */
int tern_reader_u24(tern_reader *r, uint32_t *out) {
  if (r->len - r->pos < 3)
    return TERN_ERR_MALFORMED;
  *out = load24(r->buf + r->pos);
  r->pos += 3;
  return TERN_OK;
}

/* Reads a big-endian u32. Returns TERN_ERR_MALFORMED when truncated. */
int tern_reader_u32(tern_reader *r, uint32_t *out) {
  if (r->len - r->pos < 4)
    return TERN_ERR_MALFORMED;
  *out = load32(r->buf + r->pos);
  r->pos += 4;
  return TERN_OK;
}

/* Reads a QUIC varint. Returns TERN_ERR_MALFORMED when truncated. */
int tern_reader_varint(tern_reader *r, uint64_t *out) {
  uint64_t v;
  size_t n = peek_varint(r, &v);

  if (n == 0)
    return TERN_ERR_MALFORMED;
  *out = v;
  r->pos += n;
  return TERN_OK;
}

/* Copies n bytes out. Returns TERN_ERR_MALFORMED when truncated. */
int tern_reader_bytes(tern_reader *r, uint8_t *out, size_t n) {
  const uint8_t *p;

  if (n > r->len - r->pos)
    return TERN_ERR_MALFORMED;
  p = r->buf + r->pos;
  /*@ loop invariant 0 <= i <= n;
      loop invariant \forall integer k; 0 <= k < i ==> out[k] == p[k];
      loop assigns i, out[0 .. n - 1];
      loop variant n - i;
  */
  for (size_t i = 0; i < n; i++)
    out[i] = p[i];
  r->pos += n;
  return TERN_OK;
}

/* Points at n bytes in place. Returns TERN_ERR_MALFORMED when truncated. */
int tern_reader_take(tern_reader *r, const uint8_t **out, size_t n) {
  if (n > r->len - r->pos)
    return TERN_ERR_MALFORMED;
  *out = r->buf + r->pos;
  r->pos += n;
  return TERN_OK;
}

/* Skips n bytes. Returns TERN_ERR_MALFORMED when truncated. */
int tern_reader_skip(tern_reader *r, size_t n) {
  if (n > r->len - r->pos)
    return TERN_ERR_MALFORMED;
  r->pos += n;
  return TERN_OK;
}

/* vec_fits tells whether a vector of n content bytes behind an hdr-byte
 * length prefix at the cursor fits in what is left and has its length in
 * [min, max]. Returns 1 if so, 0 if not; cannot fail. */
/*@ requires reader_ok(r);
    requires hdr <= r->len - r->pos;
    assigns \nothing;
    ensures \result != 0 <==> (n <= r->len - r->pos - hdr && min <= n <= max);
*/
static int vec_fits(const tern_reader *r, size_t hdr, size_t n, size_t min,
                    size_t max) {
  return n <= r->len - r->pos - hdr && n >= min && n <= max;
}

/* vec_split sets child over the n content bytes of the vector whose
 * hdr-byte prefix is at the cursor and moves r past the vector. The caller
 * has checked it fits (vec_fits); cannot fail. */
/*@ requires reader_ok(r);
    requires \valid(child) && \separated(child, r);
    requires hdr <= r->len - r->pos && n <= r->len - r->pos - hdr;
    assigns r->pos, *child;
    ensures reader_ok(r) && reader_ok(child);
    ensures child->pos == 0 && child->len == n;
    ensures child->buf == r->buf + \old(r->pos) + hdr;
    ensures r->pos == \old(r->pos) + hdr + n;
*/
static void vec_split(tern_reader *r, tern_reader *child, size_t hdr,
                      size_t n) {
  child->buf = r->buf + r->pos + hdr;
  child->len = n;
  child->pos = 0;
  r->pos += hdr + n;
}

/* Opens a u8-length vector. Returns TERN_ERR_MALFORMED on bad input. */
int tern_reader_open_u8(tern_reader *r, tern_reader *child, size_t min,
                        size_t max) {
  size_t n;

  if (r->len - r->pos < 1)
    return TERN_ERR_MALFORMED;
  n = r->buf[r->pos];
  if (!vec_fits(r, 1, n, min, max))
    return TERN_ERR_MALFORMED;
  vec_split(r, child, 1, n);
  return TERN_OK;
}

/* Opens a u16-length vector. Returns TERN_ERR_MALFORMED on bad input. */
int tern_reader_open_u16(tern_reader *r, tern_reader *child, size_t min,
                         size_t max) {
  size_t n;

  if (r->len - r->pos < 2)
    return TERN_ERR_MALFORMED;
  n = load16(r->buf + r->pos);
  if (!vec_fits(r, 2, n, min, max))
    return TERN_ERR_MALFORMED;
  vec_split(r, child, 2, n);
  return TERN_OK;
}

/* Opens a u24-length vector. Returns TERN_ERR_MALFORMED on bad input. */
int tern_reader_open_u24(tern_reader *r, tern_reader *child, size_t min,
                         size_t max) {
  size_t n;

  if (r->len - r->pos < 3)
    return TERN_ERR_MALFORMED;
  n = load24(r->buf + r->pos);
  if (!vec_fits(r, 3, n, min, max))
    return TERN_ERR_MALFORMED;
  vec_split(r, child, 3, n);
  return TERN_OK;
}

/* Opens a varint-length vector. Returns TERN_ERR_MALFORMED on bad input. */
int tern_reader_open_varint(tern_reader *r, tern_reader *child, size_t min,
                            size_t max) {
  uint64_t v;
  size_t hdr = peek_varint(r, &v);

  /* Compared as uint64_t first so that the cast below cannot truncate. */
  if (hdr == 0 || v > (uint64_t)(r->len - r->pos - hdr))
    return TERN_ERR_MALFORMED;
  if (!vec_fits(r, hdr, (size_t)v, min, max))
    return TERN_ERR_MALFORMED;
  vec_split(r, child, hdr, (size_t)v);
  return TERN_OK;
}

/* Checks a child was consumed exactly. Returns TERN_ERR_MALFORMED if not. */
int tern_reader_close(const tern_reader *child) {
  return child->pos == child->len ? TERN_OK : TERN_ERR_MALFORMED;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

/* Sets up an empty writer over buf[0..cap-1]. Cannot fail. */
void tern_writer_init(tern_writer *w, uint8_t *buf, size_t cap) {
  w->buf = buf;
  w->cap = cap;
  w->len = 0;
}

/* Room left. Cannot fail. */
size_t tern_writer_remaining(const tern_writer *w) {
  return w->cap - w->len;
}

/* Appends a byte. Returns TERN_ERR_BUFFER_TOO_SMALL when full. */
int tern_writer_u8(tern_writer *w, uint8_t v) {
  if (w->cap - w->len < 1)
    return TERN_ERR_BUFFER_TOO_SMALL;
  w->buf[w->len] = v;
  w->len += 1;
  return TERN_OK;
}

/* Appends a big-endian u16. Returns TERN_ERR_BUFFER_TOO_SMALL when full. */
int tern_writer_u16(tern_writer *w, uint16_t v) {
  if (w->cap - w->len < 2)
    return TERN_ERR_BUFFER_TOO_SMALL;
  store16(w->buf + w->len, v);
  w->len += 2;
  return TERN_OK;
}

/* Appends a big-endian u24. Returns TERN_ERR_INVALID_ARG when v >= 2^24,
 * TERN_ERR_BUFFER_TOO_SMALL when full. */
int tern_writer_u24(tern_writer *w, uint32_t v) {
  if (v > 0xffffffu)
    return TERN_ERR_INVALID_ARG;
  if (w->cap - w->len < 3)
    return TERN_ERR_BUFFER_TOO_SMALL;
  store24(w->buf + w->len, v);
  w->len += 3;
  return TERN_OK;
}

/* Appends a big-endian u32. Returns TERN_ERR_BUFFER_TOO_SMALL when full. */
int tern_writer_u32(tern_writer *w, uint32_t v) {
  if (w->cap - w->len < 4)
    return TERN_ERR_BUFFER_TOO_SMALL;
  store32(w->buf + w->len, v);
  w->len += 4;
  return TERN_OK;
}

/* Appends a QUIC varint. Returns TERN_ERR_INVALID_ARG when v >= 2^62,
 * TERN_ERR_BUFFER_TOO_SMALL when full. */
int tern_writer_varint(tern_writer *w, uint64_t v) {
  size_t n;
  uint8_t *p;

  if (v > TERN_VARINT_MAX)
    return TERN_ERR_INVALID_ARG;
  n = varint_enc_size_of(v);
  if (n > w->cap - w->len)
    return TERN_ERR_BUFFER_TOO_SMALL;
  p = w->buf + w->len;
  if (n == 1) {
    p[0] = (uint8_t)v;
  } else if (n == 2) {
    store16(p, (uint16_t)(v + 0x4000u));
    //@ assert tag: 0x40 <= p[0] < 0x80;
  } else if (n == 4) {
    store32(p, (uint32_t)(v + 0x80000000u));
    //@ assert tag: 0x80 <= p[0] < 0xc0;
  } else {
    uint32_t hi = (uint32_t)(v / UINT64_C(0x100000000));
    uint32_t lo = (uint32_t)(v % UINT64_C(0x100000000));

    //@ assert split: v == hi * 0x100000000 + lo && hi < 0x40000000;
    store32(p, hi + 0xc0000000u);
    store32(p + 4, lo);
    //@ assert high: be32(p) == hi + 0xc0000000;
    //@ assert tag: p[0] >= 0xc0;
  }
  w->len += n;
  return TERN_OK;
}

/* Appends n bytes. Returns TERN_ERR_BUFFER_TOO_SMALL when full. */
int tern_writer_bytes(tern_writer *w, const uint8_t *src, size_t n) {
  uint8_t *p;

  if (n > w->cap - w->len)
    return TERN_ERR_BUFFER_TOO_SMALL;
  p = w->buf + w->len;
  /*@ loop invariant 0 <= i <= n;
      loop invariant \forall integer k; 0 <= k < i ==> p[k] == src[k];
      loop assigns i, p[0 .. n - 1];
      loop variant n - i;
  */
  for (size_t i = 0; i < n; i++)
    p[i] = src[i];
  w->len += n;
  return TERN_OK;
}

/* Reserves a u8 length prefix. Returns TERN_ERR_BUFFER_TOO_SMALL. */
int tern_writer_open_u8(tern_writer *w, size_t *mark) {
  if (w->cap - w->len < 1)
    return TERN_ERR_BUFFER_TOO_SMALL;
  w->buf[w->len] = 0;
  *mark = w->len;
  w->len += 1;
  return TERN_OK;
}

/* Reserves a u16 length prefix. Returns TERN_ERR_BUFFER_TOO_SMALL. */
int tern_writer_open_u16(tern_writer *w, size_t *mark) {
  if (w->cap - w->len < 2)
    return TERN_ERR_BUFFER_TOO_SMALL;
  store16(w->buf + w->len, 0);
  *mark = w->len;
  w->len += 2;
  return TERN_OK;
}

/* Reserves a u24 length prefix. Returns TERN_ERR_BUFFER_TOO_SMALL. */
int tern_writer_open_u24(tern_writer *w, size_t *mark) {
  if (w->cap - w->len < 3)
    return TERN_ERR_BUFFER_TOO_SMALL;
  store24(w->buf + w->len, 0);
  *mark = w->len;
  w->len += 3;
  return TERN_OK;
}

/* Patches a u8 length prefix. Returns TERN_ERR_INVALID_ARG for a bad
 * mark, TERN_ERR_LIMIT when the contents exceed 255 bytes. */
int tern_writer_close_u8(tern_writer *w, size_t mark) {
  size_t body;

  if (mark > w->len || w->len - mark < 1)
    return TERN_ERR_INVALID_ARG;
  body = w->len - mark - 1;
  if (body > 0xffu)
    return TERN_ERR_LIMIT;
  w->buf[mark] = (uint8_t)body;
  return TERN_OK;
}

/* Patches a u16 length prefix. Returns TERN_ERR_INVALID_ARG for a bad
 * mark, TERN_ERR_LIMIT when the contents exceed 65535 bytes. */
int tern_writer_close_u16(tern_writer *w, size_t mark) {
  size_t body;

  if (mark > w->len || w->len - mark < 2)
    return TERN_ERR_INVALID_ARG;
  body = w->len - mark - 2;
  if (body > 0xffffu)
    return TERN_ERR_LIMIT;
  store16(w->buf + mark, (uint16_t)body);
  return TERN_OK;
}

/* Patches a u24 length prefix. Returns TERN_ERR_INVALID_ARG for a bad
 * mark, TERN_ERR_LIMIT when the contents exceed 2^24 - 1 bytes. */
int tern_writer_close_u24(tern_writer *w, size_t mark) {
  size_t body;

  if (mark > w->len || w->len - mark < 3)
    return TERN_ERR_INVALID_ARG;
  body = w->len - mark - 3;
  if (body > 0xffffffu)
    return TERN_ERR_LIMIT;
  store24(w->buf + mark, (uint32_t)body);
  return TERN_OK;
}
