/*
 * codec.c - fuzz target: every handshake message parser of codec/msg, the
 * record reassembler and the inner-plaintext scan of codec/record.
 *
 * Input: one selector byte, then the body. A message that parses is
 * written back with the matching writer, and whatever the writer produces
 * must parse again (a writer whose output its own parser refuses is a bug
 * too, so that aborts).
 */
#include <stdlib.h>
#include <string.h>

#include "codec/msg.h"
#include "codec/record.h"

enum { SEL_CH, SEL_SH, SEL_EE, SEL_CR, SEL_CERT, SEL_CV, SEL_FIN, SEL_NST, SEL_KU,
       SEL_EOED, SEL_HEADER, SEL_RECORDS, SEL_INNER, SEL_COUNT };

static uint8_t out[1 << 17];

/* What the writers produce must parse again. */
#define REPARSE(write_call, parse_call)            \
  do {                                             \
    size_t n = 0;                                  \
    if ((write_call) == TERN_OK && n >= 4) {       \
      const uint8_t *body = out + 4;               \
      size_t blen = n - 4;                         \
      if ((parse_call) != TERN_OK) abort();        \
    }                                              \
  } while (0)

static void records(const uint8_t *p, size_t n) {
  static tern_record_reader r;
  tern_record_reader_init(&r);
  /* the first byte cuts the stream into pieces of 1..256 bytes */
  size_t step = n ? (size_t)p[0] + 1 : 1;
  size_t off = n ? 1 : 0;
  while (off < n) {
    size_t k = step < n - off ? step : n - off, used = 0;
    tern_record rec;
    uint8_t alert = 0, type;
    int rc = tern_record_read(&r, p + off, k, &used, &rec, &alert);
    if (rc == TERN_OK) {
      size_t content;
      (void)tern_record_inner_type(rec.data, rec.len, &type, &content, &alert);
    } else if (rc != TERN_WANT_READ) {
      break;
    }
    if (used == 0 && rc != TERN_OK) break;
    off += used;
  }
  (void)tern_record_reader_buffered(&r);
  tern_record_reader_wipe(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t alert = 0;
  const uint8_t *p = data + 1;
  size_t len = size ? size - 1 : 0;
  if (size < 1) return 0;
  switch (data[0] % SEL_COUNT) {
  case SEL_CH: {
    static tern_client_hello m, m2;
    if (tern_msg_parse_client_hello(p, len, &m, &alert) == TERN_OK) {
      size_t partial;
      REPARSE(tern_msg_write_client_hello(&m, out, sizeof out, &n, &partial),
              tern_msg_parse_client_hello(body, blen, &m2, &alert));
      (void)tern_msg_key_share_count(&m.ext, TERN_GROUP_X25519);
    }
    break;
  }
  case SEL_SH: {
    static tern_server_hello m, m2;
    if (tern_msg_parse_server_hello(p, len, &m, &alert) == TERN_OK)
      REPARSE(tern_msg_write_server_hello(&m, out, sizeof out, &n),
              tern_msg_parse_server_hello(body, blen, &m2, &alert));
    break;
  }
  case SEL_EE: {
    static tern_encrypted_extensions m, m2;
    if (tern_msg_parse_encrypted_extensions(p, len, &m, &alert) == TERN_OK)
      REPARSE(tern_msg_write_encrypted_extensions(&m, out, sizeof out, &n),
              tern_msg_parse_encrypted_extensions(body, blen, &m2, &alert));
    break;
  }
  case SEL_CR: {
    static tern_certificate_request m, m2;
    if (tern_msg_parse_certificate_request(p, len, &m, &alert) == TERN_OK)
      REPARSE(tern_msg_write_certificate_request(&m, out, sizeof out, &n),
              tern_msg_parse_certificate_request(body, blen, &m2, &alert));
    break;
  }
  case SEL_CERT: {
    static tern_certificate m, m2;
    if (tern_msg_parse_certificate(p, len, &m, &alert) == TERN_OK)
      REPARSE(tern_msg_write_certificate(&m, out, sizeof out, &n),
              tern_msg_parse_certificate(body, blen, &m2, &alert));
    break;
  }
  case SEL_CV: {
    tern_certificate_verify m, m2;
    if (tern_msg_parse_certificate_verify(p, len, &m, &alert) == TERN_OK)
      REPARSE(tern_msg_write_certificate_verify(&m, out, sizeof out, &n),
              tern_msg_parse_certificate_verify(body, blen, &m2, &alert));
    break;
  }
  case SEL_FIN: {
    tern_span v, v2;
    size_t hash = len && (p[0] & 1) ? 48 : 32;
    if (len && tern_msg_parse_finished(p + 1, len - 1, hash, &v, &alert) == TERN_OK)
      REPARSE(tern_msg_write_finished(v.p, v.len, out, sizeof out, &n),
              tern_msg_parse_finished(body, blen, hash, &v2, &alert));
    break;
  }
  case SEL_NST: {
    static tern_new_session_ticket m, m2;
    if (tern_msg_parse_new_session_ticket(p, len, &m, &alert) == TERN_OK)
      REPARSE(tern_msg_write_new_session_ticket(&m, out, sizeof out, &n),
              tern_msg_parse_new_session_ticket(body, blen, &m2, &alert));
    break;
  }
  case SEL_KU: {
    uint8_t req, req2;
    if (tern_msg_parse_key_update(p, len, &req, &alert) == TERN_OK)
      REPARSE(tern_msg_write_key_update(req, out, sizeof out, &n),
              tern_msg_parse_key_update(body, blen, &req2, &alert));
    break;
  }
  case SEL_EOED:
    (void)tern_msg_parse_end_of_early_data(p, len, &alert);
    break;
  case SEL_HEADER: {
    uint8_t type;
    size_t body_len;
    (void)tern_msg_header(p, len, &type, &body_len);
    if (len >= 2) (void)tern_msg_ext_allowed(p[0], p[1] & 1);
    if (len >= 2) (void)tern_msg_ext_id((uint16_t)(p[0] << 8 | p[1]));
    break;
  }
  case SEL_RECORDS:
    records(p, len);
    break;
  case SEL_INNER: {
    uint8_t type;
    size_t content;
    (void)tern_record_inner_type(p, len, &type, &content, &alert);
    break;
  }
  }
  return 0;
}
