/*
 * crypto/certcomp.h - crypto layer: certificate compression (RFC 8879)
 * over zlib, brotli and zstd, whichever this build has (meson options
 * zlib, brotli, zstd: TERN_HAVE_ZLIB, _BROTLI, _ZSTD).
 *
 * Compression happens once per chain and algorithm (tern_certcomp_prepare
 * keeps the whole CompressedCertificate message in the chain), or per
 * message for a Certificate that carries a request context (post-handshake
 * authentication). Decompression writes into a buffer of exactly the
 * length the peer announced and never past it.
 */
#ifndef TERN_CERTCOMP_H
#define TERN_CERTCOMP_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

#include "codec/msg.h"
#include "crypto/cert.h"

/* Whether this build has alg (TERN_CERT_COMPRESSION_*): 1 or 0. */
int tern_certcomp_available(uint16_t alg);

/*
 * tern_certcomp_message makes a whole CompressedCertificate message (RFC
 * 8879 §4) from a whole Certificate message cert[0..cert_len) (header
 * included): *out is a new buffer (OPENSSL_free) of *out_len bytes.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED (alg not in
 * this build), TERN_ERR_NOMEM, TERN_ERR_CRYPTO (the compressor failed).
 */
int tern_certcomp_message(uint16_t alg, const uint8_t *cert, size_t cert_len,
                          uint8_t **out, size_t *out_len);

/*
 * tern_certcomp_prepare makes chain's CompressedCertificate for alg (an
 * empty certificate_request_context, no entry extensions: the form of a
 * Certificate in the handshake), unless it is there already.
 * Returns as tern_certcomp_message.
 */
int tern_certcomp_prepare(tern_cert_chain *chain, uint16_t alg);

/*
 * tern_certcomp_decompress decompresses in[0..in_len) with alg into
 * out[0..expected). Returns TERN_OK when the data is one whole stream (or
 * zstd frames) decompressing to exactly expected bytes with nothing after
 * it; TERN_ERR_LIMIT when the output would be longer (decompression stops
 * there); TERN_ERR_MALFORMED when it is shorter, corrupt or truncated, or
 * bytes follow it; TERN_ERR_UNSUPPORTED (alg not in this build);
 * TERN_ERR_NOMEM (a decoder could not be made, or a brotli stream wanted
 * more than TERN_CERT_COMP_MAX_DECODER_MEMORY); TERN_ERR_INVALID_ARG.
 */
int tern_certcomp_decompress(uint16_t alg, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t expected);

/*
 * tern_certcomp_inflate: the Certificate body that CompressedCertificate
 * cc stands for (RFC 8879 §4-5), its algorithm already found acceptable.
 * cc->uncompressed_length is checked against
 * TERN_CERT_COMP_MIN_UNCOMPRESSED..max before anything is allocated or
 * decompressed; the data then goes into a new buffer *out (OPENSSL_free
 * by the caller) of exactly that length. On failure *out is NULL and
 * *alert says what to send: bad_certificate for everything the peer did
 * (length out of bounds, output longer or shorter, corrupt or trailing
 * data, a decoder wanting too much memory), internal_error when the
 * buffer could not be had. Returns TERN_OK, TERN_ERR_INVALID_ARG (the
 * announced length out of bounds), TERN_ERR_LIMIT (the output would be
 * longer), TERN_ERR_MALFORMED, TERN_ERR_NOMEM, TERN_ERR_UNSUPPORTED.
 */
int tern_certcomp_inflate(const tern_compressed_certificate *cc, size_t max, uint8_t **out,
                          uint8_t *alert);

#endif
