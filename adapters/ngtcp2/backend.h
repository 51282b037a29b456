/*
 * backend.h - what the files of libngtcp2_crypto_tern share (not
 * installed): the algorithm table, the key objects behind ngtcp2's AEAD
 * and cipher contexts, and installing keys.
 */
#ifndef NGTCP2_CRYPTO_TERN_BACKEND_H
#define NGTCP2_CRYPTO_TERN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <ngtcp2/ngtcp2_crypto_tern.h>

/* What ngtcp2 needs to know of a suite beyond tern's calls. */
typedef struct ntern_alg {
  uint16_t suite;
  size_t key_len, hash_len;
  uint64_t max_encryption, max_decryption_failure;
} ntern_alg;

/* The algorithm a native handle (a suite code) names, or NULL. */
const ntern_alg *ntern_alg_of(const void *native_handle);
uint16_t ntern_suite_of(const void *native_handle);
ngtcp2_crypto_ctx *ntern_ctx_init(ngtcp2_crypto_ctx *ctx, uint16_t suite);

/*
 * The object behind an AEAD or cipher context: a prepared tern_quic_key
 * (NULL for a Retry context, which computes the Retry Integrity Tag of
 * retry_version), with one reference per context that holds it.
 */
typedef struct ntern_key {
  tern_quic_key *key;
  uint32_t retry_version;
  int refs;
} ntern_key;

ntern_key *ntern_key_wrap(tern_quic_key *k, int refs);
ntern_key *ntern_key_retry(uint32_t version);
void ntern_key_unref(void *native_handle);
ntern_key *ntern_key_from_secret(uint32_t version, uint16_t suite, const uint8_t *secret,
                                 size_t secretlen, uint8_t *key_out, uint8_t iv[12],
                                 uint8_t *hp_out);

/*
 * ntern_initial_keys derives the Initial keys of a version from the
 * client's first DCID: *rx and *tx (each with two references: AEAD and
 * HP context) and their IVs, from the point of view of a server when
 * server is 1. Returns 0 or -1.
 */
int ntern_initial_keys(uint32_t version, const ngtcp2_cid *dcid, int server,
                       ntern_key **rx, uint8_t rx_iv[12], ntern_key **tx,
                       uint8_t tx_iv[12]);

#endif
