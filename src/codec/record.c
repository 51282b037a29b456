/*
 * codec/record.c - codec layer: TLS 1.3 record framing (RFC 8446 §5.1,
 * §5.4): record headers, plaintext records, the reassembler that cuts a
 * byte stream into records, and the TLSInnerPlaintext parser. No keys:
 * protection is crypto/record_prot.c. See record.h.
 */
#include <string.h>

#include <openssl/crypto.h>

#include <tern.h>

#include "codec/record.h"

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* tern_record_put_header: see record.h. */
void tern_record_put_header(uint8_t *out, uint8_t type, uint16_t version,
                              size_t len) {
  out[0] = type;
  out[1] = (uint8_t)(version >> 8);
  out[2] = (uint8_t)version;
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
}

/* tern_record_writer_usable: see record.h. */
int tern_record_writer_usable(const tern_writer *w) {
  return w != NULL && w->len <= w->cap && (w->buf != NULL || w->cap == 0);
}

/*
 * tern_record_write_plain: header then fragment; the fragment is moved
 * first so that data may already sit where it goes.
 */
int tern_record_write_plain(tern_writer *w, uint8_t type,
                            uint16_t legacy_version, const uint8_t *data,
                            size_t len) {
  uint8_t *out;

  if (!tern_record_writer_usable(w) || data == NULL || len == 0) return TERN_ERR_INVALID_ARG;
  /* §5.1: application data MUST NOT be written unprotected. */
  if (type != TERN_CONTENT_CHANGE_CIPHER_SPEC && type != TERN_CONTENT_ALERT &&
      type != TERN_CONTENT_HANDSHAKE)
    return TERN_ERR_INVALID_ARG;
  if (legacy_version != TERN_RECORD_VERSION_TLS12 &&
      legacy_version != TERN_RECORD_VERSION_TLS10)
    return TERN_ERR_INVALID_ARG;
  /* §5.1: TLSPlaintext.length MUST NOT exceed 2^14. */
  if (len > TERN_RECORD_MAX_PLAINTEXT) return TERN_ERR_LIMIT;
  if (w->cap - w->len < TERN_RECORD_HEADER_LEN + len)
    return TERN_ERR_BUFFER_TOO_SMALL;

  out = w->buf + w->len;
  memmove(out + TERN_RECORD_HEADER_LEN, data, len);
  tern_record_put_header(out, type, legacy_version, len);
  w->len += TERN_RECORD_HEADER_LEN + len;
  return TERN_OK;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/* tern_record_reader_init: waiting for the first header; the buffer is
   not cleared (tern_record_reader_wipe does that). */
void tern_record_reader_init(tern_record_reader *r) {
  if (r == NULL) return;
  r->have = 0;
  r->need = TERN_RECORD_HEADER_LEN;
  r->header_ok = 0;
  r->handed_out = 0;
  r->alert = 0;
  r->err = 0;
}

/* tern_record_reader_wipe: the buffer may hold opened plaintext. */
void tern_record_reader_wipe(tern_record_reader *r) {
  if (r == NULL) return;
  OPENSSL_cleanse(r->buf, sizeof r->buf);
  tern_record_reader_init(r);
}

/* tern_record_reader_buffered: a record handed out no longer counts. */
size_t tern_record_reader_buffered(const tern_record_reader *r) {
  if (r == NULL || r->handed_out) return 0;
  return r->have;
}

/*
 * record_check_header checks a record header as soon as it is in:
 *
 *   struct {
 *       ContentType type;
 *       ProtocolVersion legacy_record_version;
 *       uint16 length;
 *       opaque fragment[TLSPlaintext.length];
 *   } TLSPlaintext;                       (TLSCiphertext: type 23)
 *
 * and sets *len to the fragment length. On failure *alert is set.
 */
/*@ requires \valid_read(h + (0 .. TERN_RECORD_HEADER_LEN - 1));
    requires \valid(len) && \valid(alert) && \separated(len, alert);
    assigns *len, *alert;
    ensures \result == TERN_OK ==>
              TERN_CONTENT_CHANGE_CIPHER_SPEC <= h[0] <= TERN_CONTENT_APPLICATION_DATA &&
              *len == h[3] * 256 + h[4] &&
              *len <= TERN_RECORD_MAX_CIPHERTEXT &&
              (h[0] != TERN_CONTENT_APPLICATION_DATA ==>
                 1 <= *len <= TERN_RECORD_MAX_PLAINTEXT);
    ensures \result == TERN_OK || \result == TERN_ERR_MALFORMED ||
            \result == TERN_ERR_LIMIT;
*/
static int record_check_header(const uint8_t h[TERN_RECORD_HEADER_LEN],
                               size_t *len, uint8_t *alert) {
  uint8_t type = h[0];
  size_t length = (size_t)h[3] * 256 + h[4];

  /* §5: an unexpected record type MUST be answered by unexpected_message. */
  if (type != TERN_CONTENT_CHANGE_CIPHER_SPEC && type != TERN_CONTENT_ALERT &&
      type != TERN_CONTENT_HANDSHAKE && type != TERN_CONTENT_APPLICATION_DATA) {
    *alert = TERN_ALERT_UNEXPECTED_MESSAGE;
    return TERN_ERR_MALFORMED;
  }
  /* §5.1: legacy_record_version "MUST be ignored for all purposes": any
     value is taken, on every record (it is still part of the AEAD's
     additional data, so a protected record keeps what was sent). */
  if (type == TERN_CONTENT_APPLICATION_DATA) {
    /* §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256. */
    if (length > TERN_RECORD_MAX_CIPHERTEXT) {
      *alert = TERN_ALERT_RECORD_OVERFLOW;
      return TERN_ERR_LIMIT;
    }
  } else {
    /* §5.1: TLSPlaintext.length MUST NOT exceed 2^14. */
    if (length > TERN_RECORD_MAX_PLAINTEXT) {
      *alert = TERN_ALERT_RECORD_OVERFLOW;
      return TERN_ERR_LIMIT;
    }
    /* §5.1: no zero-length handshake fragments; an alert is exactly one
       message and change_cipher_spec one byte, so never empty either. */
    if (length == 0) {
      *alert = TERN_ALERT_UNEXPECTED_MESSAGE;
      return TERN_ERR_MALFORMED;
    }
  }
  *len = length;
  return TERN_OK;
}

/* record_fail makes a reader failure sticky and reports it. */
/*@ requires \valid(r);
    requires alert_out == \null || (\valid(alert_out) && \separated(alert_out, r));
    assigns r->err, r->alert, *alert_out;
    ensures \result == err && r->err == err && r->alert == alert;
*/
static int record_fail(tern_record_reader *r, int err, uint8_t alert,
                       uint8_t *alert_out) {
  r->err = err;
  r->alert = alert;
  if (alert_out != NULL) *alert_out = alert;
  return err;
}

/*
 * tern_record_read copies at most what completes the current record, so
 * bytes of the next record stay with the caller until the next call (a
 * key change between records then applies at the boundary). The header
 * is judged as soon as it is in, before any of the body is buffered.
 */
int tern_record_read(tern_record_reader *r, const uint8_t *in, size_t in_len,
                     size_t *consumed, tern_record *rec, uint8_t *alert) {
  size_t used = 0;

  if (r == NULL || consumed == NULL || rec == NULL ||
      (in == NULL && in_len != 0)) {
    if (alert != NULL) *alert = TERN_ALERT_INTERNAL_ERROR;
    return TERN_ERR_INVALID_ARG;
  }
  *consumed = 0;
  *rec = (tern_record){0};
  if (r->err != 0) {
    if (alert != NULL) *alert = r->alert;
    return r->err;
  }
  if (r->handed_out) {
    r->have = 0;
    r->need = TERN_RECORD_HEADER_LEN;
    r->header_ok = 0;
    r->handed_out = 0;
  }

  /* Invariant: have <= need <= TERN_RECORD_MAX_WIRE = sizeof buf. */
  /*@ loop invariant record_reader_ok(r);
      loop invariant r->handed_out == 0 && r->err == 0;
      loop invariant used <= in_len;
      loop invariant *consumed == 0;
      loop assigns r->buf[0 .. TERN_RECORD_MAX_WIRE - 1], r->have, r->need,
                   r->header_ok, used;
      loop variant in_len - used;
  */
  while (r->have < r->need && used < in_len) {
    size_t take = r->need - r->have;
    if (take > in_len - used) take = in_len - used;
    /* a byte loop (the compiler vectorises it) so that WP can follow it
       without the pointer casts of memcpy (as in codec/wire.c) */
    /*@ loop invariant 0 <= i <= take;
        loop assigns i, r->buf[r->have .. r->have + take - 1];
        loop variant take - i;
    */
    for (size_t i = 0; i < take; i++) r->buf[r->have + i] = in[used + i];
    r->have += take;
    used += take;

    if (!r->header_ok && r->have == TERN_RECORD_HEADER_LEN) {
      size_t len = 0;
      uint8_t a = 0;
      int rc = record_check_header(r->buf, &len, &a);
      if (rc != TERN_OK) {
        *consumed = used;
        return record_fail(r, rc, a, alert);
      }
      r->header_ok = 1;
      r->need = TERN_RECORD_HEADER_LEN + len;
    }
  }
  *consumed = used;
  /*@ assert record_reader_ok(r); */
  if (!r->header_ok || r->have < r->need) return TERN_WANT_READ;
  /*@ assert r->have == r->need; */

  rec->type = r->buf[0];
  rec->version = (uint16_t)(r->buf[1] * 256 + r->buf[2]);
  rec->data = r->buf + TERN_RECORD_HEADER_LEN;
  rec->len = r->need - TERN_RECORD_HEADER_LEN;
  r->handed_out = 1;
  return TERN_OK;
}

/*
 * tern_record_inner_type finds the content type of a TLSInnerPlaintext
 *
 *   struct {
 *       opaque content[TLSPlaintext.length];
 *       ContentType type;
 *       uint8 zeros[length_of_padding];
 *   } TLSInnerPlaintext;
 *
 * by scanning inner[0..inner_len) from the end for the last non-zero
 * byte (§5.4), and checks it. Sets *type and *content_len.
 */
int tern_record_inner_type(const uint8_t *inner, size_t inner_len,
                             uint8_t *type, size_t *content_len,
                             uint8_t *alert) {
  size_t i = inner_len;

  /* §5.4: the full TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets. */
  if (inner_len > TERN_RECORD_MAX_PLAINTEXT + 1) {
    *alert = TERN_ALERT_RECORD_OVERFLOW;
    return TERN_ERR_LIMIT;
  }
  /*@ loop invariant 0 <= i <= inner_len;
      loop invariant \forall integer k; i <= k < inner_len ==> inner[k] == 0;
      loop assigns i;
      loop variant i;
  */
  while (i > 0 && inner[i - 1] == 0) i--;
  /* §5.4: no non-zero octet MUST be answered by unexpected_message. */
  if (i == 0) {
    *alert = TERN_ALERT_UNEXPECTED_MESSAGE;
    return TERN_ERR_MALFORMED;
  }
  *type = inner[i - 1];
  *content_len = i - 1;
  /* §5: a protected change_cipher_spec or an unknown type is unexpected. */
  if (*type != TERN_CONTENT_ALERT && *type != TERN_CONTENT_HANDSHAKE &&
      *type != TERN_CONTENT_APPLICATION_DATA) {
    *alert = TERN_ALERT_UNEXPECTED_MESSAGE;
    return TERN_ERR_MALFORMED;
  }
  /* §5.4: zero-length handshake or alert content is unexpected_message. */
  if (*content_len == 0 && *type != TERN_CONTENT_APPLICATION_DATA) {
    *alert = TERN_ALERT_UNEXPECTED_MESSAGE;
    return TERN_ERR_MALFORMED;
  }
  return TERN_OK;
}

