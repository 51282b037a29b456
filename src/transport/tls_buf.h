/*
 * transport/tls_buf.h - transport layer: the length and offset arithmetic
 * of the TCP transport's byte queues (transport/tls.c): the records to
 * send, out[off .. len) of cap bytes, and the application data received,
 * app[off .. len) of cap bytes. Growing a queue, appending to it, taking
 * from its front, the padding of a protected record (RFC 8446 §5.4) and
 * what a refused 0-RTT record counts against max_early_data_size
 * (§4.2.10).
 *
 * Kept apart from tls.c so that Frama-C can prove it without the engine:
 * WP proves the contracts below and the absence of run-time errors of
 * every function but tern_tls_buf_reserve and tern_tls_buf_append (their
 * memcpy / OPENSSL_clear_free take the uint8_t buffer as void *, a cast
 * WP's typed memory model does not follow); EVA covers those two
 * (proofs/transport/tls_buf/).
 *
 * Not part of the public API.
 */
#ifndef TERN_TLS_BUF_H
#define TERN_TLS_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "codec/record.h"

/* The first capacity of a queue; it doubles from there. */
#define TERN_TLS_BUF_MIN 4096

/*@
  // A queue: buf[off .. len) pending, in an allocation of cap bytes
  // (none when cap is 0).
  predicate tls_queue_ok{L}(uint8_t *buf, size_t cap, size_t len, size_t off) =
    off <= len <= cap &&
    (cap == 0 || \valid(buf + (0 .. cap - 1)));
*/

/*
 * tern_tls_buf_grow: the capacity a queue of cap bytes grows to so that
 * it holds want bytes: cap (TERN_TLS_BUF_MIN when 0) doubled until it
 * does; 0 when no size_t can (the caller's out of memory).
 */
/*@ assigns \nothing;
    ensures \result == 0 || (\result >= want && \result >= cap);
    ensures cap >= want && cap != 0 ==> \result == cap;
*/
size_t tern_tls_buf_grow(size_t cap, size_t want);

/*
 * tern_tls_buf_reserve grows *buf (of *cap bytes, *len of them in use)
 * so that it holds need more bytes after *len: a new buffer holds the
 * old one's bytes and the old one is wiped and freed. On failure nothing
 * changes. TERN_OK or TERN_ERR_NOMEM.
 */
/*@ requires \valid(buf) && \valid(cap) && \separated(buf, cap);
    requires len <= *cap;
    requires *cap == 0 || \valid(*buf + (0 .. *cap - 1));
    assigns *buf, *cap;
    ensures \result == TERN_OK || \result == TERN_ERR_NOMEM;
    ensures \result == TERN_OK ==> len + need <= *cap && \valid(*buf + (0 .. *cap - 1));
    ensures \result != TERN_OK ==> *buf == \old(*buf) && *cap == \old(*cap);
*/
int tern_tls_buf_reserve(uint8_t **buf, size_t *cap, size_t len, size_t need);

/*
 * tern_tls_buf_append copies data[0 .. n) to the end of the queue
 * (*buf, *cap, *len), growing it as needed. TERN_OK or TERN_ERR_NOMEM
 * (nothing changed).
 */
/*@ requires \valid(buf) && \valid(cap) && \valid(len) && \separated(buf, cap, len);
    requires *len <= *cap;
    requires *cap == 0 || \valid(*buf + (0 .. *cap - 1));
    requires n == 0 || \valid_read(data + (0 .. n - 1));
    assigns *buf, *cap, *len, (*buf)[0 .. *cap - 1];
    ensures *len <= *cap;
    ensures \result == TERN_OK ==> *len == \old(*len) + n;
    ensures \result != TERN_OK ==> *len == \old(*len);
*/
int tern_tls_buf_append(uint8_t **buf, size_t *cap, size_t *len, const uint8_t *data,
                        size_t n);

/* tern_tls_buf_clamp: how many of n bytes the queue [off, len) can give. */
/*@ requires off <= len;
    assigns \nothing;
    ensures \result <= n && \result <= len - off;
    ensures \result == n || \result == len - off;
*/
size_t tern_tls_buf_clamp(size_t off, size_t len, size_t n);

/*
 * tern_tls_buf_consume takes n pending bytes from the front of the queue
 * [*off, *len); an emptied queue starts again at 0.
 */
/*@ requires \valid(off) && \valid(len) && \separated(off, len);
    requires *off <= *len && n <= *len - *off;
    assigns *off, *len;
    ensures *off <= *len <= \old(*len);
    ensures \old(*off) + n == \old(*len) ==> *off == 0 && *len == 0;
    ensures \old(*off) + n < \old(*len) ==> *off == \old(*off) + n && *len == \old(*len);
*/
void tern_tls_buf_consume(size_t *off, size_t *len, size_t n);

/*
 * tern_tls_pad_len: the padding of a protected record of len content
 * bytes under the padding policy block (§5.4): the content rounded up to
 * a multiple of block, never past 2^14; 0 when block is 0.
 */
/*@ requires len <= TERN_RECORD_MAX_PLAINTEXT;
    assigns \nothing;
    ensures len + \result <= TERN_RECORD_MAX_PLAINTEXT;
    ensures block == 0 ==> \result == 0;
    ensures block != 0 ==> \result < block;
    ensures block != 0 && len + \result < TERN_RECORD_MAX_PLAINTEXT ==>
              (len + \result) % block == 0;
*/
size_t tern_tls_pad_len(size_t block, size_t len);

/*
 * tern_tls_refused_early_bytes: what a refused 0-RTT record of rec_len
 * bytes counts against max_early_data_size: its ciphertext less the tag
 * (tag_len) and the inner content type (padding cannot be told apart
 * without keys).
 */
/*@ requires tag_len <= TERN_RECORD_TAG_LEN;
    assigns \nothing;
    ensures \result <= rec_len;
    ensures rec_len > tag_len + 1 ==> \result == rec_len - tag_len - 1;
    ensures rec_len <= tag_len + 1 ==> \result == 0;
*/
size_t tern_tls_refused_early_bytes(size_t rec_len, size_t tag_len);

#endif
