/*
 * test_wire.c - the bounded reader and writer: every integer size, QUIC
 * varints with the RFC 9000 §A.1 examples, nested vectors with their
 * bounds, and the rule that a failing call changes nothing.
 */
#include "check.h"
#include "codec/wire.h"

static void test_integers(void) {
  static const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                               0x07, 0x08, 0x09, 0x0a};
  tern_reader r;
  uint8_t b = 0;
  uint16_t s = 0;
  uint32_t w = 0;

  tern_reader_init(&r, in, sizeof in);
  CHECK_EQ_INT(tern_reader_remaining(&r), 10);
  CHECK_EQ_INT(tern_reader_u8(&r, &b), TERN_OK);
  CHECK_EQ_INT(b, 0x01);
  CHECK_EQ_INT(tern_reader_u16(&r, &s), TERN_OK);
  CHECK_EQ_INT(s, 0x0203);
  CHECK_EQ_INT(tern_reader_u24(&r, &w), TERN_OK);
  CHECK_EQ_INT(w, 0x040506);
  CHECK_EQ_INT(tern_reader_u32(&r, &w), TERN_OK);
  CHECK_EQ_INT(w, 0x0708090a);
  CHECK_EQ_INT(tern_reader_remaining(&r), 0);
  CHECK_EQ_INT(tern_reader_done(&r), TERN_OK);

  /* Short reads fail and change neither the cursor nor the output. */
  for (size_t avail = 0; avail < 4; avail++) {
    tern_reader_init(&r, in, avail);
    b = 0xee;
    s = 0xeeee;
    w = 0xeeeeeeee;
    if (avail < 1) {
      CHECK_EQ_INT(tern_reader_u8(&r, &b), TERN_ERR_MALFORMED);
      CHECK_EQ_INT(b, 0xee);
    }
    if (avail < 2) {
      CHECK_EQ_INT(tern_reader_u16(&r, &s), TERN_ERR_MALFORMED);
      CHECK_EQ_INT(s, 0xeeee);
    }
    if (avail < 3) {
      CHECK_EQ_INT(tern_reader_u24(&r, &w), TERN_ERR_MALFORMED);
      CHECK_EQ_INT(w, 0xeeeeeeee);
    }
    CHECK_EQ_INT(tern_reader_u32(&r, &w), TERN_ERR_MALFORMED);
    CHECK_EQ_INT(w, 0xeeeeeeee);
    CHECK_EQ_INT(r.pos, 0);
    if (avail > 0)
      CHECK_EQ_INT(tern_reader_done(&r), TERN_ERR_MALFORMED);
  }

  /* An empty reader over NULL is fine. */
  tern_reader_init(&r, NULL, 0);
  CHECK_EQ_INT(tern_reader_done(&r), TERN_OK);
  CHECK_EQ_INT(tern_reader_u8(&r, &b), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_reader_skip(&r, 0), TERN_OK);
}

static void test_writer_integers(void) {
  uint8_t buf[10];
  tern_writer w;
  static const uint8_t want[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                 0x07, 0x08, 0x09, 0x0a};

  tern_writer_init(&w, buf, sizeof buf);
  CHECK_EQ_INT(tern_writer_u8(&w, 0x01), TERN_OK);
  CHECK_EQ_INT(tern_writer_u16(&w, 0x0203), TERN_OK);
  CHECK_EQ_INT(tern_writer_u24(&w, 0x040506), TERN_OK);
  CHECK_EQ_INT(tern_writer_u32(&w, 0x0708090a), TERN_OK);
  CHECK_EQ_INT(w.len, 10);
  CHECK_MEM(buf, want, 10);
  CHECK_EQ_INT(tern_writer_remaining(&w), 0);
  CHECK_EQ_INT(tern_writer_u8(&w, 0), TERN_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(w.len, 10);

  /* Each size fails when one byte short, and leaves the writer alone. */
  for (size_t cap = 0; cap < 4; cap++) {
    tern_writer_init(&w, buf, cap);
    if (cap < 2) CHECK_EQ_INT(tern_writer_u16(&w, 1), TERN_ERR_BUFFER_TOO_SMALL);
    if (cap < 3) CHECK_EQ_INT(tern_writer_u24(&w, 1), TERN_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(tern_writer_u32(&w, 1), TERN_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(w.len, 0);
  }
  tern_writer_init(&w, buf, sizeof buf);
  CHECK_EQ_INT(tern_writer_u24(&w, 0x1000000), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(w.len, 0);
}

/* RFC 9000 §A.1's examples plus the boundaries of each length. */
static void test_varints(void) {
  static const struct {
    const char *hex;
    uint64_t value;
    int minimal;   /* the smallest encoding of value */
  } cases[] = {
      {"c2197c5eff14e88c", UINT64_C(151288809941952652), 1},
      {"9d7f3e7d", 494878333, 1},
      {"7bbd", 15293, 1},
      {"25", 37, 1},
      {"4025", 37, 0},
      {"00", 0, 1},
      {"3f", 63, 1},
      {"4040", 64, 1},
      {"7fff", 16383, 1},
      {"80004000", 16384, 1},
      {"bfffffff", 1073741823, 1},
      {"c000000040000000", 1073741824, 1},
      {"ffffffffffffffff", TERN_VARINT_MAX, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t enc[8], out[8];
    size_t n = unhex(cases[i].hex, enc, sizeof enc);
    tern_reader r;
    tern_writer w;
    uint64_t v = 0;

    tern_reader_init(&r, enc, n);
    CHECK_EQ_INT(tern_reader_varint(&r, &v), TERN_OK);
    CHECK(v == cases[i].value);
    CHECK_EQ_INT(r.pos, n);

    /* Every truncation fails without moving. */
    for (size_t k = 0; k < n; k++) {
      tern_reader_init(&r, enc, k);
      v = 77;
      CHECK_EQ_INT(tern_reader_varint(&r, &v), TERN_ERR_MALFORMED);
      CHECK_EQ_INT(v, 77);
      CHECK_EQ_INT(r.pos, 0);
    }

    if (cases[i].minimal) {
      tern_writer_init(&w, out, sizeof out);
      CHECK_EQ_INT(tern_writer_varint(&w, cases[i].value), TERN_OK);
      CHECK_EQ_INT(w.len, n);
      CHECK_MEM(out, enc, n);
      tern_writer_init(&w, out, n - 1);
      CHECK_EQ_INT(tern_writer_varint(&w, cases[i].value),
                   TERN_ERR_BUFFER_TOO_SMALL);
      CHECK_EQ_INT(w.len, 0);
    }
  }
  {
    uint8_t out[8];
    tern_writer w;
    tern_writer_init(&w, out, sizeof out);
    CHECK_EQ_INT(tern_writer_varint(&w, TERN_VARINT_MAX + 1),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_writer_varint(&w, UINT64_MAX), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(w.len, 0);
  }
}

static void test_bytes(void) {
  static const uint8_t in[] = {'a', 'b', 'c', 'd', 'e'};
  uint8_t out[5] = {0};
  const uint8_t *p = NULL;
  tern_reader r;

  tern_reader_init(&r, in, sizeof in);
  CHECK_EQ_INT(tern_reader_bytes(&r, out, 2), TERN_OK);
  CHECK_MEM(out, "ab", 2);
  CHECK_EQ_INT(tern_reader_take(&r, &p, 2), TERN_OK);
  CHECK(p == in + 2);
  CHECK_EQ_INT(tern_reader_bytes(&r, out, 2), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_reader_take(&r, &p, 2), TERN_ERR_MALFORMED);
  CHECK(p == in + 2);
  CHECK_EQ_INT(tern_reader_skip(&r, 2), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_reader_skip(&r, SIZE_MAX), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(r.pos, 4);
  CHECK_EQ_INT(tern_reader_skip(&r, 1), TERN_OK);
  CHECK_EQ_INT(tern_reader_done(&r), TERN_OK);

  {
    uint8_t buf[4];
    tern_writer w;
    tern_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(tern_writer_bytes(&w, in, 3), TERN_OK);
    CHECK_EQ_INT(tern_writer_bytes(&w, in, 2), TERN_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(tern_writer_bytes(&w, in, SIZE_MAX), TERN_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(w.len, 3);
    CHECK_EQ_INT(tern_writer_bytes(&w, NULL, 0), TERN_OK);
    CHECK_MEM(buf, "abc", 3);
  }
}

/* Nested vectors: a u16 list holding u8-prefixed names, as in ALPN. */
static void test_vectors_read(void) {
  /* 00 0c | 02 "h2" | 08 "http/1.1" | trailing ff */
  static const uint8_t in[] = {0x00, 0x0c, 0x02, 'h', '2', 0x08, 'h', 't',
                               't',  'p',  '/',  '1', '.', '1', 0xff};
  tern_reader r, list, name;
  uint8_t b;

  tern_reader_init(&r, in, sizeof in);
  CHECK_EQ_INT(tern_reader_open_u16(&r, &list, 2, 0xffff), TERN_OK);
  CHECK_EQ_INT(tern_reader_remaining(&list), 12);
  CHECK_EQ_INT(r.pos, 14);
  CHECK_EQ_INT(tern_reader_open_u8(&list, &name, 1, 255), TERN_OK);
  CHECK_EQ_INT(tern_reader_remaining(&name), 2);
  CHECK_EQ_INT(tern_reader_close(&name), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_reader_skip(&name, 2), TERN_OK);
  CHECK_EQ_INT(tern_reader_close(&name), TERN_OK);
  /* A child can never read past its end, even with bytes after it. */
  CHECK_EQ_INT(tern_reader_open_u8(&list, &name, 1, 255), TERN_OK);
  CHECK_EQ_INT(tern_reader_skip(&name, 9), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_reader_skip(&name, 8), TERN_OK);
  CHECK_EQ_INT(tern_reader_u8(&name, &b), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_reader_close(&name), TERN_OK);
  CHECK_EQ_INT(tern_reader_close(&list), TERN_OK);
  CHECK_EQ_INT(tern_reader_done(&r), TERN_ERR_MALFORMED);

  /* Bounds: below min, above max, longer than what is left. */
  tern_reader_init(&r, in, sizeof in);
  CHECK_EQ_INT(tern_reader_open_u16(&r, &list, 13, 0xffff), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_reader_open_u16(&r, &list, 0, 11), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(r.pos, 0);
  tern_reader_init(&r, in, 13);
  CHECK_EQ_INT(tern_reader_open_u16(&r, &list, 0, 0xffff), TERN_ERR_MALFORMED);
  tern_reader_init(&r, in, 1);
  CHECK_EQ_INT(tern_reader_open_u16(&r, &list, 0, 0xffff), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(r.pos, 0);

  /* u24 and varint prefixes. */
  {
    static const uint8_t v24[] = {0x00, 0x00, 0x02, 0xaa, 0xbb};
    static const uint8_t vv[] = {0x40, 0x02, 0xaa, 0xbb};
    static const uint8_t vbad[] = {0x05, 0xaa};
    tern_reader_init(&r, v24, sizeof v24);
    CHECK_EQ_INT(tern_reader_open_u24(&r, &list, 1, 0xffffff), TERN_OK);
    CHECK_EQ_INT(tern_reader_remaining(&list), 2);
    CHECK_EQ_INT(tern_reader_done(&r), TERN_OK);
    tern_reader_init(&r, vv, sizeof vv);
    CHECK_EQ_INT(tern_reader_open_varint(&r, &list, 0, 100), TERN_OK);
    CHECK_EQ_INT(tern_reader_remaining(&list), 2);
    CHECK_EQ_INT(list.buf[list.pos], 0xaa);
    CHECK_EQ_INT(tern_reader_done(&r), TERN_OK);
    tern_reader_init(&r, vbad, sizeof vbad);
    CHECK_EQ_INT(tern_reader_open_varint(&r, &list, 0, 100), TERN_ERR_MALFORMED);
    CHECK_EQ_INT(r.pos, 0);
  }
}

static void test_vectors_write(void) {
  uint8_t buf[300];
  tern_writer w;
  size_t outer, inner;
  static const uint8_t want[] = {0x00, 0x00, 0x07, 0x00, 0x05, 0x03,
                                 'a',  'b',  'c',  0x00};

  tern_writer_init(&w, buf, sizeof buf);
  CHECK_EQ_INT(tern_writer_open_u24(&w, &outer), TERN_OK);
  CHECK_EQ_INT(tern_writer_open_u16(&w, &inner), TERN_OK);
  {
    size_t name;
    CHECK_EQ_INT(tern_writer_open_u8(&w, &name), TERN_OK);
    CHECK_EQ_INT(tern_writer_bytes(&w, (const uint8_t *)"abc", 3), TERN_OK);
    CHECK_EQ_INT(tern_writer_close_u8(&w, name), TERN_OK);
  }
  CHECK_EQ_INT(tern_writer_u8(&w, 0), TERN_OK);
  CHECK_EQ_INT(tern_writer_close_u16(&w, inner), TERN_OK);
  CHECK_EQ_INT(tern_writer_close_u24(&w, outer), TERN_OK);
  CHECK_EQ_INT(w.len, sizeof want);
  CHECK_MEM(buf, want, sizeof want);

  /* Bad marks and contents too long for the prefix. */
  CHECK_EQ_INT(tern_writer_close_u8(&w, w.len), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_writer_close_u16(&w, w.len - 1), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_writer_close_u24(&w, SIZE_MAX), TERN_ERR_INVALID_ARG);
  tern_writer_init(&w, buf, sizeof buf);
  CHECK_EQ_INT(tern_writer_open_u8(&w, &inner), TERN_OK);
  for (int i = 0; i < 256; i++) CHECK_EQ_INT(tern_writer_u8(&w, 1), TERN_OK);
  CHECK_EQ_INT(tern_writer_close_u8(&w, inner), TERN_ERR_LIMIT);
  CHECK_EQ_INT(buf[0], 0);
  w.len--;
  CHECK_EQ_INT(tern_writer_close_u8(&w, inner), TERN_OK);
  CHECK_EQ_INT(buf[0], 255);

  /* Opening fails when the prefix itself does not fit. */
  tern_writer_init(&w, buf, 2);
  CHECK_EQ_INT(tern_writer_open_u24(&w, &outer), TERN_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(tern_writer_open_u16(&w, &outer), TERN_OK);
  CHECK_EQ_INT(tern_writer_open_u8(&w, &inner), TERN_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(w.len, 2);
}

/* Round trip: whatever the writer emits, the reader reads back. */
static void test_round_trip(void) {
  uint8_t buf[64];
  uint64_t seed = 0x9e3779b97f4a7c15u;
  for (int iter = 0; iter < 2000; iter++) {
    tern_writer w;
    tern_reader r;
    uint64_t v, got = 0;
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    v = seed >> (2 + (seed % 62));
    tern_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(tern_writer_varint(&w, v), TERN_OK);
    CHECK_EQ_INT(tern_writer_u32(&w, (uint32_t)seed), TERN_OK);
    tern_reader_init(&r, buf, w.len);
    CHECK_EQ_INT(tern_reader_varint(&r, &got), TERN_OK);
    CHECK(got == v);
    {
      uint32_t x = 0;
      CHECK_EQ_INT(tern_reader_u32(&r, &x), TERN_OK);
      CHECK_EQ_INT(x, (uint32_t)seed);
    }
    CHECK_EQ_INT(tern_reader_done(&r), TERN_OK);
  }
}

int main(void) {
  test_integers();
  test_writer_integers();
  test_varints();
  test_bytes();
  test_vectors_read();
  test_vectors_write();
  test_round_trip();
  return check_report();
}
