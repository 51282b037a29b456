/*
 * record.h - the TLS 1.3 record layer for TLS over TCP (RFC 8446 §5):
 * writing plaintext and protected records, reassembling records from a
 * byte stream cut anywhere, and opening protected records in place.
 *
 * It does no I/O and allocates nothing per record. A connection keeps:
 *
 *   tern_record_prot   read_prot, write_prot;   one per direction
 *   tern_record_reader reader;                  the receive buffer
 *
 * and uses them like this:
 *
 *   send:    tern_record_write(&write_prot, &w, TERN_CONTENT_HANDSHAKE,
 *                              msg, n, 0);     (n <= 2^14; split longer)
 *   receive: while ((rc = tern_record_read(&reader, in, len, &used, &rec,
 *                                          &alert)) == TERN_OK) {
 *              in += used; len -= used;
 *              if (rec.type == TERN_CONTENT_APPLICATION_DATA &&
 *                  tern_record_prot_active(&read_prot) &&
 *                  (rc = tern_record_open(&read_prot, &rec, &alert)) < 0)
 *                break;                        (send `alert`)
 *              ... rec.type, rec.data[0..rec.len) ...
 *            }
 *
 * The reader hands out one record per call, so a key change between two
 * records (tern_record_prot_set on read_prot) takes effect exactly at the
 * record boundary, whatever the input fragmentation was.
 *
 * Which records are acceptable in which state (an unprotected alert
 * during the handshake, change_cipher_spec, early data skipped by trial
 * decryption) is the connection's policy, not this module's.
 *
 * Every failure of the reading side returns a negative TERN_ERR_* code
 * and sets *alert to the RFC 8446 alert the connection must send. Write
 * failures are local (arguments, buffer space, key usage limits): the
 * connection decides whether to send internal_error.
 *
 * Not part of the public API.
 */
#ifndef TERN_RECORD_H
#define TERN_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

#include "crypto.h"
#include "wire.h"

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
/* AEAD tag length of every supported suite. */
#define TERN_RECORD_TAG_LEN 16
/* Bytes a protected record adds to its content, padding aside:
   header, inner content type, tag. */
#define TERN_RECORD_OVERHEAD (TERN_RECORD_HEADER_LEN + 1 + TERN_RECORD_TAG_LEN)

/* ------------------------------------------------------------------ */
/* Protection state of one direction                                   */
/* ------------------------------------------------------------------ */

/*
 * The record protection of one direction under one traffic secret
 * (RFC 8446 §5.2, §5.3): the AEAD context, keyed once when the secret is
 * set, the static IV and the sequence number. Embed it in the connection
 * and tern_record_prot_init it; it holds no key bytes outside the
 * libcrypto context, and tern_record_prot_clear wipes and frees.
 */
typedef struct tern_record_prot {
  const tern_suite *suite;  /* NULL: no keys yet, records are plaintext */
  EVP_CIPHER_CTX *ctx;      /* AEAD keyed for dir; reused for every record
                               and across key changes */
  uint8_t iv[12];           /* write_iv, XORed with seq per record */
  uint64_t seq;             /* sequence number of the next record; tests
                               may set it to reach the end of the space */
  uint8_t exhausted;        /* seq 2^64-1 has been used: no more records
                               under this key (§5.3: never wrap) */
  uint8_t dir;              /* TERN_READ (open) or TERN_WRITE (seal) */
} tern_record_prot;

/* tern_record_prot_init makes p inactive (plaintext). It cannot fail. */
void tern_record_prot_init(tern_record_prot *p);

/*
 * tern_record_prot_set derives key and IV from a traffic secret
 * (tern_keysched_traffic_key, RFC 8446 §7.3) and keys p for one
 * direction, with sequence number 0. The previous key of p is wiped; the
 * cipher context is allocated on the first set only. secret_len must be
 * the suite's hash length. On failure p is cleared (inactive).
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED,
 * TERN_ERR_NOMEM, TERN_ERR_CRYPTO.
 */
int tern_record_prot_set(tern_record_prot *p, tern_direction dir,
                         const tern_suite *suite, const uint8_t *secret,
                         size_t secret_len);

/* tern_record_prot_active returns 1 when p has keys, 0 otherwise. */
int tern_record_prot_active(const tern_record_prot *p);

/*
 * tern_record_prot_clear wipes IV and sequence number, frees the cipher
 * context (which wipes its key schedule) and leaves p inactive, as after
 * tern_record_prot_init. NULL is accepted. It cannot fail.
 */
void tern_record_prot_clear(tern_record_prot *p);

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/*
 * The functions below append one record to w. A call that fails leaves
 * w->len unchanged (and wipes anything it wrote past it) and does not
 * advance the sequence number. data may overlap the writer's free space
 * (e.g. sit where the record's fragment goes, w->buf + w->len + 5).
 */

/*
 * tern_record_write_plain appends a TLSPlaintext record: type
 * (change_cipher_spec, alert or handshake; application data is never
 * sent unprotected, §5.1), legacy_record_version (0x0303, or 0x0301 for
 * the initial ClientHello) and 1..2^14 bytes of fragment.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (type, version, NULL, len 0),
 * TERN_ERR_LIMIT (len > 2^14), TERN_ERR_BUFFER_TOO_SMALL.
 */
int tern_record_write_plain(tern_writer *w, uint8_t type,
                            uint16_t legacy_version, const uint8_t *data,
                            size_t len);

/*
 * tern_record_seal appends a TLSCiphertext record (§5.2): opaque_type 23,
 * 0x0303, length, then AEAD(key, iv ^ seq, header, content || type ||
 * padding zeros). type is alert, handshake or application_data; content
 * may be empty for application_data only (§5.4). len + padding must not
 * exceed 2^14 (TLSInnerPlaintext at most 2^14 + 1, §5.4). p must be a
 * write key; its sequence number then advances.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_STATE (p inactive or a
 * read key), TERN_ERR_LIMIT (length, or the sequence numbers of this key
 * are used up: key update or close), TERN_ERR_BUFFER_TOO_SMALL,
 * TERN_ERR_CRYPTO.
 */
int tern_record_seal(tern_record_prot *p, tern_writer *w, uint8_t type,
                     const uint8_t *data, size_t len, size_t padding);

/*
 * tern_record_write appends one record the way the connection's current
 * state calls for: protected under p when p is active, plaintext (0x0303)
 * when p is NULL or inactive; change_cipher_spec is always plaintext.
 * padding must be 0 for a plaintext record.
 *
 * Returns the codes of tern_record_write_plain and tern_record_seal.
 */
int tern_record_write(tern_record_prot *p, tern_writer *w, uint8_t type,
                      const uint8_t *data, size_t len, size_t padding);

/*
 * tern_record_write_alert appends an alert record (§6), protected when p
 * is active: level warning(1) for close_notify and user_canceled,
 * fatal(2) for every other description.
 *
 * Returns the codes of tern_record_write.
 */
int tern_record_write_alert(tern_record_prot *p, tern_writer *w,
                            uint8_t description);

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

/* tern_record_reader_init empties r. It cannot fail. */
void tern_record_reader_init(tern_record_reader *r);

/*
 * tern_record_read takes bytes of the stream from in[0..in_len) until one
 * record is whole, and sets *consumed to how many it took. It returns
 * TERN_OK with *rec describing that record (valid until the next call on
 * r), or TERN_WANT_READ when all the input was taken and the record is
 * still incomplete; call again with the rest of the input or more bytes.
 *
 * Each header is checked as soon as its 5 bytes are in (§5.1, §5.2):
 * type 20..23, else unexpected_message; legacy_record_version 0x0303
 * (0x0301 tolerated on handshake records, which an initial ClientHello
 * may use in each of its records),
 * else protocol_version; length 0 only for application_data, else
 * unexpected_message; length at most 2^14 for plaintext types and
 * 2^14 + 256 for application_data, else record_overflow.
 *
 * Returns TERN_OK, TERN_WANT_READ, TERN_ERR_INVALID_ARG (internal_error),
 * TERN_ERR_MALFORMED (unexpected_message, protocol_version),
 * TERN_ERR_LIMIT (record_overflow); *alert is set on every failure.
 */
int tern_record_read(tern_record_reader *r, const uint8_t *in, size_t in_len,
                     size_t *consumed, tern_record *rec, uint8_t *alert);

/*
 * tern_record_reader_buffered returns how many bytes of an incomplete
 * record are held (0 at a record boundary): nonzero at end of stream
 * means the peer's last record was cut short.
 */
size_t tern_record_reader_buffered(const tern_record_reader *r);

/* tern_record_reader_wipe cleanses the buffer (it may hold plaintext)
   and empties r. It cannot fail. */
void tern_record_reader_wipe(tern_record_reader *r);

/*
 * tern_record_open authenticates and decrypts a TLSCiphertext record in
 * place with read key p (nonce iv ^ seq, the record header as additional
 * data; §5.2, §5.3), removes the zero padding and sets rec->type to the
 * inner content type, rec->len to the content length; p's sequence
 * number advances.
 *
 * On failure rec->data[0..rec->len) is wiped, *alert is set and p is left
 * unchanged, so a server skipping rejected 0-RTT records (§4.2.10) can
 * try the next record:
 *   outer type not application_data       TERN_ERR_MALFORMED, unexpected_message
 *   length over 2^14 + 256                TERN_ERR_LIMIT, record_overflow
 *   authentication fails                  TERN_ERR_DECRYPT, bad_record_mac
 *   TLSInnerPlaintext over 2^14 + 1       TERN_ERR_LIMIT, record_overflow
 *   no content type (all zeros)           TERN_ERR_MALFORMED, unexpected_message
 *   inner type not alert, handshake or
 *     application_data, or an empty
 *     alert / handshake content           TERN_ERR_MALFORMED, unexpected_message
 *   sequence numbers used up (the peer
 *     did not update its key)             TERN_ERR_LIMIT, unexpected_message
 *   p inactive or a write key             TERN_ERR_STATE, internal_error
 *   NULL arguments                        TERN_ERR_INVALID_ARG, internal_error
 *   libcrypto failure                     TERN_ERR_CRYPTO, internal_error
 */
int tern_record_open(tern_record_prot *p, tern_record *rec, uint8_t *alert);

#endif
