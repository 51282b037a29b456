/*
 * proofs/transport/tls_buf/include/openssl/crypto.h - what Frama-C sees of
 * <openssl/crypto.h> when it analyses src/transport/tls_buf.c (Frama-C
 * parses with its own libc and does not analyse libcrypto): the three
 * calls tls_buf.c makes. OPENSSL_malloc is malloc (libcrypto's default
 * allocator) that fails when the harness says so (proof_alloc_fails), so
 * that each failure is a case of its own (EVA runs with
 * -eva-no-alloc-returns-null: malloc itself never fails, which keeps the
 * states of an allocation and of its size together); OPENSSL_cleanse writes len zero bytes at ptr and nothing
 * else; OPENSSL_clear_free wipes the len bytes of an allocation (which
 * must all be there) and frees it, as libcrypto's does.
 */
#ifndef TERN_PROOF_OPENSSL_CRYPTO_H
#define TERN_PROOF_OPENSSL_CRYPTO_H
#include <stddef.h>
#include <stdlib.h>

extern int proof_alloc_fails;

static inline void *OPENSSL_malloc(size_t num) {
  return proof_alloc_fails ? NULL : malloc(num);
}

/*@ requires len == 0 || \valid((unsigned char *)ptr + (0 .. len - 1));
    assigns ((unsigned char *)ptr)[0 .. len - 1];
    ensures \forall integer k; 0 <= k < len ==> ((unsigned char *)ptr)[k] == 0;
*/
void OPENSSL_cleanse(void *ptr, size_t len);

static inline void OPENSSL_clear_free(void *ptr, size_t len) {
  if (ptr == NULL) return;
  OPENSSL_cleanse(ptr, len);
  free(ptr);
}

#endif
