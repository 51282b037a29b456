/*
 * cert.c - fuzz target: certificate chains (a Certificate message body
 * parsed by codec/msg, then verified by crypto/cert against the fuzz PKI,
 * for either peer, with and without a host name) and CertificateVerify
 * signatures of every scheme (crypto/sig), under the leaf's key and
 * under a fixed key of the scheme.
 *
 * Input: byte 0 = bit 0 peer is the server, bit 1 check host
 * "localhost", bit 2 check "127.0.0.1", bit 3 the body is compressed;
 * bytes 1-2 the signature scheme; bytes 3-4 the length L of the
 * Certificate body; L bytes of it; the rest is the signature over a fixed
 * 32-byte transcript hash.
 *
 * With bit 3 the L bytes are a CompressedCertificate body (RFC 8879:
 * algorithm, uncompressed_length, compressed data), given to tern's
 * decompressor as a connection gives it (tern_certcomp_inflate, the
 * default message cap), and what comes out goes on as the Certificate
 * body. Checked: an announced length outside 4..cap is refused before
 * anything is allocated, every refusal says bad_certificate (or
 * internal_error when memory ran out), and a body that decompresses is
 * exactly the announced length and, compressed again by tern with the
 * same algorithm, decompresses to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/limits.h"
#include "codec/msg.h"
#include "crypto/cert.h"
#include "crypto/certcomp.h"
#include "crypto/sig.h"
#include "fuzz.h"

const uint8_t fz_cert_th[32] = "transcript hash of the fuzz run";

/* A CompressedCertificate body into the Certificate body it stands for:
   *plain (free it) or NULL. */
static void inflate(const uint8_t *p, size_t n, uint8_t **plain, size_t *plain_len) {
  const size_t max = TERN_DEFAULT_MAX_MESSAGE - 4;
  tern_compressed_certificate cc;
  uint8_t alert = 0, *again = NULL, *msg = NULL, *packed = NULL;
  size_t packed_len = 0;
  int rc;
  *plain = NULL;
  *plain_len = 0;
  if (tern_msg_parse_compressed_certificate(p, n, &cc, &alert) != TERN_OK) return;
  rc = tern_certcomp_inflate(&cc, max, plain, &alert);
  if (cc.uncompressed_length < TERN_CERT_COMP_MIN_UNCOMPRESSED || cc.uncompressed_length > max) {
    /* refused on the announced length alone */
    if (rc != TERN_ERR_INVALID_ARG || *plain != NULL || alert != TERN_ALERT_BAD_CERTIFICATE)
      abort();
    return;
  }
  if (rc != TERN_OK) {
    if (*plain != NULL || (alert != TERN_ALERT_BAD_CERTIFICATE &&
                           !(rc == TERN_ERR_NOMEM && alert == TERN_ALERT_INTERNAL_ERROR)))
      abort();
    return;
  }
  *plain_len = cc.uncompressed_length;
  /* the round trip, for chains of a few KB (brotli at quality 11 is slow) */
  if (*plain_len <= 4096) {
    tern_compressed_certificate cc2;
    if ((msg = malloc(4 + *plain_len)) == NULL) abort();
    msg[0] = 11;
    msg[1] = (uint8_t)(*plain_len >> 16);
    msg[2] = (uint8_t)(*plain_len >> 8);
    msg[3] = (uint8_t)*plain_len;
    memcpy(msg + 4, *plain, *plain_len);
    if (tern_certcomp_message(cc.algorithm, msg, 4 + *plain_len, &packed, &packed_len) != TERN_OK ||
        tern_msg_parse_compressed_certificate(packed + 4, packed_len - 4, &cc2, &alert) != TERN_OK ||
        cc2.algorithm != cc.algorithm || cc2.uncompressed_length != cc.uncompressed_length ||
        tern_certcomp_inflate(&cc2, max, &again, &alert) != TERN_OK ||
        memcmp(again, *plain, *plain_len) != 0)
      abort();
    OPENSSL_free(again);
    OPENSSL_free(packed);
    free(msg);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static tern_trust *trust;
  static tern_certificate cert;
  const uint8_t *der[TERN_CERT_MAX_CHAIN];
  size_t der_len[TERN_CERT_MAX_CHAIN], body_len;
  const uint8_t *sig;
  size_t sig_len;
  int server;
  uint16_t scheme;
  const tern_sig *s;
  uint8_t alert = 0, *plain = NULL;
  const uint8_t *body;
  if (trust == NULL && tern_trust_from_store(&trust, fz_pki_get()->store) != TERN_OK) abort();
  if (size < 5) return 0;
  server = data[0] & 1;
  scheme = (uint16_t)(data[1] << 8 | data[2]);
  body_len = (size_t)data[3] << 8 | data[4];
  if (body_len > size - 5) body_len = size - 5;
  sig = data + 5 + body_len;
  sig_len = size - 5 - body_len;
  s = tern_sig_get(scheme);
  body = data + 5;
  if (data[0] & 8) {
    inflate(data + 5, body_len, &plain, &body_len);
    body = plain;
  }

  if (body != NULL &&
      tern_msg_parse_certificate(body, body_len, &cert, &alert) == TERN_OK && cert.n > 0 &&
      cert.n <= TERN_CERT_MAX_CHAIN) {
    const char *host = data[0] & 2 ? "localhost" : data[0] & 4 ? "127.0.0.1" : NULL;
    EVP_PKEY *key = NULL;
    int x509_err = 0;
    for (size_t i = 0; i < cert.n; i++) {
      der[i] = cert.entries[i].cert_data.p;
      der_len[i] = cert.entries[i].cert_data.len;
    }
    (void)tern_cert_verify_peer(trust, der, der_len, cert.n, host, server,
                                (int64_t)(FZ_NOW_MS / 1000), &key, &x509_err, &alert);
    if (key != NULL && s != NULL)
      (void)tern_sig_verify(s, key, server, fz_cert_th, sizeof fz_cert_th, sig, sig_len, &alert);
    EVP_PKEY_free(key);
  }
  if (s != NULL && fz_fixed_key(scheme) != NULL)
    (void)tern_sig_verify(s, fz_fixed_key(scheme), server, fz_cert_th, sizeof fz_cert_th, sig,
                          sig_len, &alert);
  OPENSSL_free(plain);
  return 0;
}
