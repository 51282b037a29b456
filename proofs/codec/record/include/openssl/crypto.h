/*
 * proofs/codec/record/include/openssl/crypto.h - what Frama-C sees of
 * <openssl/crypto.h> when it analyses src/codec/record.c (Frama-C parses
 * with its own libc and does not analyse libcrypto): the one function
 * record.c calls, with its contract. OPENSSL_cleanse writes len zero
 * bytes at ptr and nothing else.
 */
#ifndef TERN_PROOF_OPENSSL_CRYPTO_H
#define TERN_PROOF_OPENSSL_CRYPTO_H
#include <stddef.h>

/*@ requires len == 0 || \valid((unsigned char *)ptr + (0 .. len - 1));
    assigns ((unsigned char *)ptr)[0 .. len - 1];
    ensures \forall integer k; 0 <= k < len ==> ((unsigned char *)ptr)[k] == 0;
*/
void OPENSSL_cleanse(void *ptr, size_t len);

#endif
