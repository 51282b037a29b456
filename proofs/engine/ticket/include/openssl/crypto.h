/*
 * proofs/engine/ticket/include/openssl/crypto.h - what Frama-C sees of
 * <openssl/crypto.h> when it analyses src/engine/ticket.c (Frama-C parses
 * with its own libc and does not analyse libcrypto): the calls ticket.c
 * makes, each with the contract the real one keeps. The allocators are
 * the libc's (libcrypto's default); OPENSSL_cleanse writes len zero bytes
 * at ptr and nothing else; CRYPTO_memcmp reads len bytes of each side
 * (which must be there and initialised) and says nothing about the result
 * (both outcomes are analysed).
 */
#ifndef TERN_PROOF_OPENSSL_CRYPTO_H
#define TERN_PROOF_OPENSSL_CRYPTO_H
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "__fc_builtin.h"

#define OPENSSL_malloc(n) malloc(n)
#define OPENSSL_zalloc(n) calloc(1, (n))
#define OPENSSL_free(p) free(p)

/*@ requires len == 0 || \valid((unsigned char *)ptr + (0 .. len - 1)); */
static inline void OPENSSL_cleanse(void *ptr, size_t len) {
  if (len != 0) memset(ptr, 0, len);
}

static inline void OPENSSL_clear_free(void *ptr, size_t len) {
  if (ptr == NULL) return;
  OPENSSL_cleanse(ptr, len);
  free(ptr);
}

/*@ requires len == 0 || \valid_read((const unsigned char *)a + (0 .. len - 1));
    requires len == 0 || \valid_read((const unsigned char *)b + (0 .. len - 1));
    requires len == 0 || \initialized((const unsigned char *)a + (0 .. len - 1));
    requires len == 0 || \initialized((const unsigned char *)b + (0 .. len - 1));
*/
static inline int CRYPTO_memcmp(const void *a, const void *b, size_t len) {
  (void)a;
  (void)b;
  (void)len;
  return Frama_C_interval(0, 1);
}

#endif
