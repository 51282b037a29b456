/*
 * codec/record.h - codec layer: TLS 1.3 record framing for TLS over TCP
 * (RFC 8446 §5): record headers, plaintext records, reassembling records
 * from a byte stream cut anywhere, and parsing TLSInnerPlaintext. Record
 * protection (keys, sealing, opening) is crypto/record_prot.h.
 *
 * It does no I/O and allocates nothing per record. A connection keeps
 *
 *   tern_record_reader reader;                  the receive buffer
 *
 * and reads with
 *
 *   while ((rc = tern_record_read(&reader, in, len, &used, &rec,
 *                                 &alert)) == TERN_OK) {
 *     in += used; len -= used;
 *     ... open rec when protected (tern_record_open), then
 *         rec.type, rec.data[0..rec.len) ...
 *   }
 *
 * The reader hands out one record per call, so a key change between two
 * records takes effect exactly at the record boundary, whatever the
 * input fragmentation was.
 *
 * Which records are acceptable in which state (an unprotected alert
 * during the handshake, change_cipher_spec, early data skipped by trial
 * decryption) is the connection's policy, not this module's.
 *
 * Every failure of the reading side returns a negative TERN_ERR_* code
 * and sets *alert to the RFC 8446 alert the connection must send.
 *
 * Not part of the public API.
 */
#ifndef TERN_RECORD_H
#define TERN_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

#include "codec/wire.h"

/* ContentType (RFC 8446 §5.1). */
#define TERN_CONTENT_CHANGE_CIPHER_SPEC 20
#define TERN_CONTENT_ALERT 21
#define TERN_CONTENT_HANDSHAKE 22
#define TERN_CONTENT_APPLICATION_DATA 23

/* legacy_record_version values (RFC 8446 §5.1). */
#define TERN_RECORD_VERSION_TLS12 0x0303 /* what every record carries */
#define TERN_RECORD_VERSION_TLS10 0x0301 /* allowed on the initial ClientHello */

/* type (1) + legacy_record_version (2) + length (2). */
#define TERN_RECORD_HEADER_LEN 5
/* TLSPlaintext.length and TLSInnerPlaintext.content at most 2^14. */
#define TERN_RECORD_MAX_PLAINTEXT 16384
/* TLSCiphertext.length at most 2^14 + 256. */
#define TERN_RECORD_MAX_CIPHERTEXT (16384 + 256)
/* The longest record on the wire, header included. */
#define TERN_RECORD_MAX_WIRE (TERN_RECORD_HEADER_LEN + TERN_RECORD_MAX_CIPHERTEXT)
/* The longest AEAD tag of a supported suite (16; TLS_AES_128_CCM_8_SHA256
   has 8: the record layer takes each suite's own length). */
#define TERN_RECORD_TAG_LEN 16
/* The most bytes a protected record adds to its content, padding aside:
   header, inner content type, tag. */
#define TERN_RECORD_OVERHEAD (TERN_RECORD_HEADER_LEN + 1 + TERN_RECORD_TAG_LEN)

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/*
 * tern_record_write_plain appends a TLSPlaintext record to w (a call that
 * fails leaves w->len unchanged; data may sit where the fragment goes): type
 * (change_cipher_spec, alert or handshake; application data is never
 * sent unprotected, §5.1), legacy_record_version (0x0303, or 0x0301 for
 * the initial ClientHello) and 1..2^14 bytes of fragment.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (type, version, NULL, len 0),
 * TERN_ERR_LIMIT (len > 2^14), TERN_ERR_BUFFER_TOO_SMALL.
 */
/*@ requires writer_ok(w);
    requires len == 0 || \valid_read(data + (0 .. len - 1));
    assigns w->len, w->buf[w->len .. w->cap - 1];
    ensures writer_ok(w);
    ensures \result == TERN_OK ==>
              len <= TERN_RECORD_MAX_PLAINTEXT &&
              w->len == \old(w->len) + TERN_RECORD_HEADER_LEN + len;
    ensures \result != TERN_OK ==> w->len == \old(w->len);
*/
int tern_record_write_plain(tern_writer *w, uint8_t type,
                            uint16_t legacy_version, const uint8_t *data,
                            size_t len);

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/* One record handed out by tern_record_read, inside the reader's buffer. */
typedef struct tern_record {
  uint8_t type;       /* ContentType: the header's, the inner one once opened */
  uint16_t version;   /* legacy_record_version as received */
  uint8_t *data;      /* fragment; after tern_record_open, the content */
  size_t len;
} tern_record;

/*
 * The reassembler: buffers the bytes of one record until it is whole.
 * Its invariant (record_reader_ok below): what is held never passes what
 * the current record needs, which never passes the buffer; until the
 * header is judged only the header is needed; once it is judged, the
 * header's type is a known one and its length is within that type's
 * limit; a record handed out is whole.
 * Errors are sticky: once a call failed, every later call returns the
 * same code and alert.
 */
typedef struct tern_record_reader {
  uint8_t buf[TERN_RECORD_MAX_WIRE];
  size_t have;        /* bytes of the current record in buf */
  size_t need;        /* its full length once the header is in, else 5 */
  uint8_t header_ok;  /* the header of the current record was checked */
  uint8_t handed_out; /* buf holds a record given to the caller */
  uint8_t alert;      /* the alert of err */
  int err;            /* sticky failure, 0 when none */
} tern_record_reader;

/*@
  predicate record_reader_ok{L}(tern_record_reader *r) =
    \valid(r) &&
    r->have <= r->need &&
    TERN_RECORD_HEADER_LEN <= r->need <= TERN_RECORD_MAX_WIRE &&
    (r->header_ok == 0 ==> r->need == TERN_RECORD_HEADER_LEN) &&
    (r->header_ok != 0 ==>
       TERN_RECORD_HEADER_LEN <= r->have &&
       TERN_CONTENT_CHANGE_CIPHER_SPEC <= r->buf[0] <= TERN_CONTENT_APPLICATION_DATA &&
       (r->buf[0] != TERN_CONTENT_APPLICATION_DATA ==>
          TERN_RECORD_HEADER_LEN + 1 <= r->need <=
            TERN_RECORD_HEADER_LEN + TERN_RECORD_MAX_PLAINTEXT)) &&
    (r->handed_out != 0 ==> r->header_ok != 0 && r->have == r->need);
*/

/* tern_record_reader_init empties r. It cannot fail. */
/*@ requires r == \null || \valid(r);
    assigns r->have, r->need, r->header_ok, r->handed_out, r->alert, r->err;
    ensures r != \null ==> record_reader_ok(r) && r->err == 0 && r->have == 0;
*/
void tern_record_reader_init(tern_record_reader *r);

/*
 * tern_record_read takes bytes of the stream from in[0..in_len) until one
 * record is whole, and sets *consumed to how many it took. It returns
 * TERN_OK with *rec describing that record (valid until the next call on
 * r), or TERN_WANT_READ when all the input was taken and the record is
 * still incomplete; call again with the rest of the input or more bytes.
 *
 * Each header is checked as soon as its 5 bytes are in (§5.1, §5.2):
 * type 20..23, else unexpected_message; length 0 only for
 * application_data, else unexpected_message; length at most 2^14 for
 * plaintext types and 2^14 + 256 for application_data, else
 * record_overflow. legacy_record_version is ignored (§5.1: any value is
 * taken, and reported in rec->version).
 *
 * Returns TERN_OK, TERN_WANT_READ, TERN_ERR_INVALID_ARG (internal_error),
 * TERN_ERR_MALFORMED (unexpected_message),
 * TERN_ERR_LIMIT (record_overflow); *alert is set on every failure.
 */
/*@ requires record_reader_ok(r);
    requires in_len == 0 || \valid_read(in + (0 .. in_len - 1));
    requires \valid(consumed) && \valid(rec);
    requires alert == \null || \valid(alert);
    requires \separated(r, consumed, rec);
    requires alert == \null || \separated(alert, r, consumed, rec);
    requires in_len == 0 || \separated(in + (0 .. in_len - 1), r, consumed, rec);
    assigns *r, *consumed, *rec, *alert;
    ensures record_reader_ok(r);
    ensures *consumed <= in_len;
    ensures \result == TERN_OK ==> r->handed_out != 0;
    ensures \result == TERN_OK ==> rec->data == &r->buf[TERN_RECORD_HEADER_LEN];
    ensures \result == TERN_OK ==> rec->len == r->need - TERN_RECORD_HEADER_LEN;
    ensures \result == TERN_OK ==> rec->len <= TERN_RECORD_MAX_CIPHERTEXT;
    ensures \result == TERN_OK ==> rec->type == r->buf[0];
    ensures \result == TERN_OK ==>
              TERN_CONTENT_CHANGE_CIPHER_SPEC <= rec->type <= TERN_CONTENT_APPLICATION_DATA;
    ensures \result == TERN_OK && rec->type != TERN_CONTENT_APPLICATION_DATA ==>
              1 <= rec->len <= TERN_RECORD_MAX_PLAINTEXT;
    ensures \result == TERN_WANT_READ ==> *consumed == in_len;
*/
int tern_record_read(tern_record_reader *r, const uint8_t *in, size_t in_len,
                     size_t *consumed, tern_record *rec, uint8_t *alert);

/*
 * tern_record_reader_buffered returns how many bytes of an incomplete
 * record are held (0 at a record boundary): nonzero at end of stream
 * means the peer's last record was cut short.
 */
/*@ requires r == \null || \valid_read(r);
    assigns \nothing;
    ensures r != \null && r->handed_out == 0 ==> \result == r->have;
*/
size_t tern_record_reader_buffered(const tern_record_reader *r);

/* tern_record_reader_wipe cleanses the buffer (it may hold plaintext)
   and empties r. It cannot fail. */
/*@ requires r == \null || \valid(r);
    assigns *r;
    ensures r != \null ==> record_reader_ok(r) && r->err == 0 && r->have == 0;
*/
void tern_record_reader_wipe(tern_record_reader *r);

/*
 * tern_record_put_header writes the 5-byte record header (type,
 * legacy_record_version, length) at out[0..5).
 */
/*@ requires \valid(out + (0 .. TERN_RECORD_HEADER_LEN - 1));
    assigns out[0 .. TERN_RECORD_HEADER_LEN - 1];
    ensures out[0] == type;
    ensures out[1] == (uint8_t)(version >> 8) && out[2] == (uint8_t)version;
    ensures out[3] == (uint8_t)(len >> 8) && out[4] == (uint8_t)len;
*/
void tern_record_put_header(uint8_t *out, uint8_t type, uint16_t version,
                            size_t len);

/* tern_record_writer_usable: w satisfies the writer invariant of wire.h. */
/*@ requires w == \null || \valid_read(w);
    assigns \nothing;
    ensures \result != 0 <==>
              w != \null && w->len <= w->cap && (w->buf != \null || w->cap == 0);
*/
int tern_record_writer_usable(const tern_writer *w);

/*
 * tern_record_inner_type finds the content type of a TLSInnerPlaintext
 * inner[0..inner_len) (RFC 8446 §5.4): the last non-zero byte, which must
 * be alert, handshake or application_data, with non-empty content for
 * the first two. Sets *type and *content_len.
 *
 * Returns TERN_OK, TERN_ERR_LIMIT (over 2^14 + 1, record_overflow) or
 * TERN_ERR_MALFORMED (unexpected_message); *alert is set on failure.
 */
/*@ requires inner_len == 0 || \valid_read(inner + (0 .. inner_len - 1));
    requires \valid(type) && \valid(content_len) && \valid(alert);
    requires \separated(type, content_len, alert);
    requires inner_len == 0 ||
             \separated(inner + (0 .. inner_len - 1), type, content_len, alert);
    assigns *type, *content_len, *alert;
    ensures \result == TERN_OK ==>
              *content_len < inner_len && *content_len <= TERN_RECORD_MAX_PLAINTEXT;
    ensures \result == TERN_OK ==> *type == inner[*content_len];
    ensures \result == TERN_OK ==>
              *type == TERN_CONTENT_ALERT || *type == TERN_CONTENT_HANDSHAKE ||
              *type == TERN_CONTENT_APPLICATION_DATA;
    ensures \result == TERN_OK && *type != TERN_CONTENT_APPLICATION_DATA ==>
              *content_len >= 1;
    ensures \result == TERN_OK ==>
              \forall integer k; *content_len < k < inner_len ==> inner[k] == 0;
    ensures \result == TERN_OK || \result == TERN_ERR_LIMIT ||
            \result == TERN_ERR_MALFORMED;
*/
int tern_record_inner_type(const uint8_t *inner, size_t inner_len,
                           uint8_t *type, size_t *content_len, uint8_t *alert);

#endif
