/*
 * crypto/record_prot.h - crypto layer: the protection of TLS 1.3 records
 * (RFC 8446 §5.2, §5.3) under one traffic secret per direction: keying,
 * sealing records into a writer, opening records handed out by the
 * reassembler of codec/record.h. A connection keeps
 *
 *   tern_record_prot   read_prot, write_prot;   one per direction
 *
 * and sends with tern_record_write(&write_prot, &w, TERN_CONTENT_HANDSHAKE,
 * msg, n, 0) (n <= 2^14; split longer), opens with tern_record_open.
 *
 * Write failures are local (arguments, buffer space, key usage limits):
 * the connection decides whether to send internal_error.
 *
 * Not part of the public API.
 */
#ifndef TERN_RECORD_PROT_H
#define TERN_RECORD_PROT_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

#include "codec/record.h"
#include "crypto/crypto.h"

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
