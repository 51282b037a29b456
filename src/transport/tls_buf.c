/*
 * transport/tls_buf.c - transport layer: the length and offset arithmetic
 * of the TCP transport's byte queues (see tls_buf.h; proven by Frama-C,
 * proofs/transport/tls_buf/).
 */
#include "transport/tls_buf.h"

#include <string.h>

#include <openssl/crypto.h>

size_t tern_tls_buf_grow(size_t cap, size_t want) {
  size_t ncap = cap ? cap : TERN_TLS_BUF_MIN;
  /*@ loop invariant ncap >= cap && ncap != 0;
      loop invariant cap >= want && cap != 0 ==> ncap == cap;
      loop assigns ncap;
      loop variant want - ncap;
  */
  while (ncap < want) {
    if (ncap > SIZE_MAX / 2) return 0; /* doubling would wrap */
    ncap *= 2;
  }
  return ncap;
}

int tern_tls_buf_reserve(uint8_t **buf, size_t *cap, size_t len, size_t need) {
  size_t want = len + need, ncap;
  uint8_t *nb;
  if (want < len) return TERN_ERR_NOMEM;
  if (want <= *cap) return TERN_OK;
  if ((ncap = tern_tls_buf_grow(*cap, want)) == 0) return TERN_ERR_NOMEM;
  nb = OPENSSL_malloc(ncap);
  if (nb == NULL) return TERN_ERR_NOMEM;
  if (*buf) {
    if (len) memcpy(nb, *buf, len);
    OPENSSL_clear_free(*buf, *cap);
  }
  *buf = nb;
  *cap = ncap;
  return TERN_OK;
}

int tern_tls_buf_append(uint8_t **buf, size_t *cap, size_t *len, const uint8_t *data,
                        size_t n) {
  if (n == 0) return TERN_OK;
  if (tern_tls_buf_reserve(buf, cap, *len, n) != TERN_OK) return TERN_ERR_NOMEM;
  memcpy(*buf + *len, data, n);
  *len += n;
  return TERN_OK;
}

size_t tern_tls_buf_clamp(size_t off, size_t len, size_t n) {
  return n > len - off ? len - off : n;
}

void tern_tls_buf_consume(size_t *off, size_t *len, size_t n) {
  *off += n;
  if (*off == *len) *off = *len = 0;
}

size_t tern_tls_pad_len(size_t block, size_t len) {
  size_t pad;
  if (block == 0) return 0;
  pad = (block - len % block) % block;
  if (pad > TERN_RECORD_MAX_PLAINTEXT - len) pad = TERN_RECORD_MAX_PLAINTEXT - len;
  return pad;
}

size_t tern_tls_refused_early_bytes(size_t rec_len, size_t tag_len) {
  size_t overhead = tag_len + 1;
  return rec_len > overhead ? rec_len - overhead : 0;
}
