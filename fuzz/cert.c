/*
 * cert.c - fuzz target: certificate chains (a Certificate message body
 * parsed by codec/msg, then verified by crypto/cert against the fuzz PKI,
 * for either peer, with and without a host name) and CertificateVerify
 * signatures of every scheme (crypto/sig), under the leaf's key and
 * under a fixed key of the scheme.
 *
 * Input: byte 0 = bit 0 peer is the server, bit 1 check host
 * "localhost", bit 2 check "127.0.0.1"; bytes 1-2 the signature scheme;
 * bytes 3-4 the length L of the Certificate body; L bytes of it; the rest
 * is the signature over a fixed 32-byte transcript hash.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/msg.h"
#include "crypto/cert.h"
#include "crypto/sig.h"
#include "fuzz.h"

const uint8_t fz_cert_th[32] = "transcript hash of the fuzz run";

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
  uint8_t alert = 0;
  if (trust == NULL && tern_trust_from_store(&trust, fz_pki_get()->store) != TERN_OK) abort();
  if (size < 5) return 0;
  server = data[0] & 1;
  scheme = (uint16_t)(data[1] << 8 | data[2]);
  body_len = (size_t)data[3] << 8 | data[4];
  if (body_len > size - 5) body_len = size - 5;
  sig = data + 5 + body_len;
  sig_len = size - 5 - body_len;
  s = tern_sig_get(scheme);

  if (tern_msg_parse_certificate(data + 5, body_len, &cert, &alert) == TERN_OK && cert.n > 0 &&
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
  return 0;
}
