/*
 * adapters/ngtcp2/tokens.c - libngtcp2_crypto_tern: stateless reset
 * tokens, Retry tokens and NEW_TOKEN tokens (address validation, RFC
 * 9000 §8.1), and the Retry and CONNECTION_CLOSE packets a server writes
 * before it keeps any state.
 *
 * A token is sealed with AES-256-GCM under the key of the server's secret
 * (HKDF-Extract and HKDF-Expand-Label "token key", SHA-384, via
 * tern_suite_hkdf_*; a tern_quic_key_new_raw key kept per thread) with
 * the first 12 of the token's 32 random bytes as the nonce
 * (tern_quic_seal_nonce). The associated data binds the token to the
 * client's address (and, for a Retry token, its port, the QUIC version
 * and the Retry's Source Connection ID), so a token moved elsewhere does
 * not open. Inside is the time it was made; it verifies only within the
 * timeout the server gives.
 *
 *   Retry token:   0xb6 | seal(odcid length, odcid padded to 20, time) | random 32
 *   regular token: 0x36 | seal(time) | random 32
 */
#include "backend.h"

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define TOKEN_SUITE TERN_TLS_AES_256_GCM_SHA384
#define RAND_LEN NGTCP2_CRYPTO_TOKEN_RAND_DATALEN
#define RETRY_PLAIN (1 + NGTCP2_MAX_CIDLEN + 8)
#define REGULAR_PLAIN 8

int ngtcp2_crypto_generate_stateless_reset_token(uint8_t *token, const uint8_t *secret,
                                                 size_t secretlen, const ngtcp2_cid *cid) {
  static const uint8_t info[] = "stateless reset token";
  uint8_t prk[48];
  int rv = -1;
  /* HKDF(salt = the connection ID, input = the server's static secret) */
  if (tern_suite_hkdf_extract(TERN_TLS_AES_128_GCM_SHA256, cid->data, cid->datalen, secret,
                              secretlen, prk) == TERN_OK &&
      tern_suite_hkdf_expand(TERN_TLS_AES_128_GCM_SHA256, prk, 32, info, sizeof info - 1, token,
                             NGTCP2_STATELESS_RESET_TOKENLEN) == TERN_OK)
    rv = 0;
  OPENSSL_cleanse(prk, sizeof prk);
  return rv;
}

/*
 * The token key of a server secret: HKDF-Extract with a fixed salt and
 * the secret as input, then HKDF-Expand-Label "token key" (SHA-384); an
 * AES-256-GCM key, prepared once. Each token's nonce is the first 12 of
 * its 32 random bytes (random nonces: far below 2^32 tokens per key,
 * NIST SP 800-38D §8.3). Making a key per token, as this did before,
 * cost three HMACs and an AES key schedule per NEW_TOKEN, about 2% of a
 * server's time per connection.
 *
 * Each thread keeps the key of the last secret it saw (a server has one),
 * compared in constant time, freed when the thread ends; a secret longer
 * than the cache holds gets a key for that one call.
 */
#define TOKEN_SECRET_MAX 64

typedef struct token_cache {
  uint8_t secret[TOKEN_SECRET_MAX];
  size_t secretlen;
  tern_quic_key *key;
} token_cache;

static pthread_key_t cache_key;
static int cache_key_ok;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static __thread token_cache *cache;

static void cache_free(void *p) {
  token_cache *c = p;
  if (c == NULL) return;
  tern_quic_key_free(c->key);
  OPENSSL_clear_free(c, sizeof *c);
}

static void cache_key_make(void) { cache_key_ok = pthread_key_create(&cache_key, cache_free) == 0; }

/* A new token key of secret (the caller frees it), or NULL. */
static tern_quic_key *token_key_new(const uint8_t *secret, size_t secretlen) {
  static const uint8_t salt[] = "ngtcp2_crypto_tern token", key_label[] = "token key";
  uint8_t prk[48], key[32];
  tern_quic_key *k = NULL;
  if (tern_suite_hkdf_extract(TOKEN_SUITE, salt, sizeof salt - 1, secret, secretlen, prk) ==
          TERN_OK &&
      tern_suite_hkdf_expand_label(TOKEN_SUITE, prk, 48, key_label, sizeof key_label - 1, NULL,
                                   0, key, sizeof key) == TERN_OK)
    k = tern_quic_key_new_raw(TOKEN_SUITE, key, sizeof key, NULL, NULL, 0);
  OPENSSL_cleanse(prk, sizeof prk);
  OPENSSL_cleanse(key, sizeof key);
  return k;
}

/* The token key of secret: this thread's cached one (*own 0) or one made
   for this call (*own 1: the caller frees it). NULL on failure. */
static tern_quic_key *token_key(const uint8_t *secret, size_t secretlen, int *own) {
  token_cache *c = cache;
  *own = 0;
  if (c != NULL && c->key != NULL && c->secretlen == secretlen &&
      CRYPTO_memcmp(c->secret, secret, secretlen) == 0)
    return c->key;
  if (secretlen > TOKEN_SECRET_MAX || pthread_once(&cache_once, cache_key_make) != 0 ||
      !cache_key_ok)
    goto uncached;
  if (c == NULL) {
    if ((c = OPENSSL_zalloc(sizeof *c)) == NULL) goto uncached;
    if (pthread_setspecific(cache_key, c) != 0) {
      OPENSSL_free(c);
      goto uncached;
    }
    cache = c;
  }
  tern_quic_key_free(c->key);
  c->key = token_key_new(secret, secretlen);
  if (c->key == NULL) return NULL;
  memcpy(c->secret, secret, secretlen);
  c->secretlen = secretlen;
  return c->key;
uncached:
  *own = 1;
  return token_key_new(secret, secretlen);
}

/*
 * The associated data of a token: the address family and the client's
 * IP address, then its port when with_port. Returns the length, or 0 for
 * an address family other than IPv4/IPv6.
 */
static size_t address_ad(const ngtcp2_sockaddr *sa, ngtcp2_socklen len, int with_port,
                         uint8_t *out) {
  size_t n = 0;
  if (sa->sa_family == AF_INET && len >= (ngtcp2_socklen)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    out[n++] = 4;
    memcpy(out + n, &in->sin_addr, 4);
    n += 4;
    if (with_port) {
      memcpy(out + n, &in->sin_port, 2);
      n += 2;
    }
  } else if (sa->sa_family == AF_INET6 && len >= (ngtcp2_socklen)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    out[n++] = 6;
    memcpy(out + n, &in6->sin6_addr, 16);
    n += 16;
    if (with_port) {
      memcpy(out + n, &in6->sin6_port, 2);
      n += 2;
    }
  }
  return n;
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

/* Seals plain into token (magic | ciphertext and tag | random). */
static ngtcp2_ssize seal_token(uint8_t *token, uint8_t magic, const uint8_t *secret,
                               size_t secretlen, const uint8_t *plain, size_t plain_len,
                               const uint8_t *ad, size_t ad_len) {
  uint8_t *rand_data = token + 1 + plain_len + TERN_QUIC_TAG_LEN;
  tern_quic_key *k;
  int rc, own;
  if (RAND_bytes(rand_data, RAND_LEN) != 1) return -1;
  k = token_key(secret, secretlen, &own);
  if (k == NULL) return -1;
  token[0] = magic;
  rc = tern_quic_seal_nonce(k, rand_data, 12, ad, ad_len, plain, plain_len, token + 1);
  if (own) tern_quic_key_free(k);
  if (rc != TERN_OK) return -1;
  return (ngtcp2_ssize)(1 + plain_len + TERN_QUIC_TAG_LEN + RAND_LEN);
}

/* Opens a token of exactly 1 + plain_len + 16 + 32 bytes into plain. */
static int open_token(const uint8_t *token, size_t tokenlen, uint8_t magic,
                      const uint8_t *secret, size_t secretlen, uint8_t *plain, size_t plain_len,
                      const uint8_t *ad, size_t ad_len) {
  tern_quic_key *k;
  int rc, own;
  if (tokenlen != 1 + plain_len + TERN_QUIC_TAG_LEN + RAND_LEN || token[0] != magic) return -1;
  k = token_key(secret, secretlen, &own);
  if (k == NULL) return -1;
  rc = tern_quic_open_nonce(k, token + tokenlen - RAND_LEN, 12, ad, ad_len, token + 1,
                            plain_len + TERN_QUIC_TAG_LEN, plain);
  if (own) tern_quic_key_free(k);
  return rc == TERN_OK ? 0 : -1;
}

/* A token made at `made` is good at ts within timeout (and not from the
   future). */
static int fresh(uint64_t made, ngtcp2_duration timeout, ngtcp2_tstamp ts) {
  return made <= ts && ts - made <= timeout;
}

/* Retry associated data: address and port, version, Retry's SCID. */
static size_t retry_ad(const ngtcp2_sockaddr *sa, ngtcp2_socklen salen, uint32_t version,
                       const ngtcp2_cid *scid, uint8_t *ad) {
  size_t n = address_ad(sa, salen, 1, ad);
  if (n == 0 || scid->datalen > NGTCP2_MAX_CIDLEN) return 0;
  for (int i = 0; i < 4; i++) ad[n++] = (uint8_t)(version >> (24 - 8 * i));
  ad[n++] = (uint8_t)scid->datalen;
  memcpy(ad + n, scid->data, scid->datalen);
  return n + scid->datalen;
}

ngtcp2_ssize ngtcp2_crypto_generate_retry_token(uint8_t *token, const uint8_t *secret,
                                                size_t secretlen, uint32_t version,
                                                const ngtcp2_sockaddr *remote_addr,
                                                ngtcp2_socklen remote_addrlen,
                                                const ngtcp2_cid *retry_scid,
                                                const ngtcp2_cid *odcid, ngtcp2_tstamp ts) {
  uint8_t plain[RETRY_PLAIN] = {0}, ad[64];
  size_t ad_len = retry_ad(remote_addr, remote_addrlen, version, retry_scid, ad);
  if (ad_len == 0 || odcid->datalen > NGTCP2_MAX_CIDLEN) return -1;
  plain[0] = (uint8_t)odcid->datalen;
  memcpy(plain + 1, odcid->data, odcid->datalen);
  put64(plain + 1 + NGTCP2_MAX_CIDLEN, ts);
  return seal_token(token, NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY, secret, secretlen, plain,
                    sizeof plain, ad, ad_len);
}

int ngtcp2_crypto_verify_retry_token(ngtcp2_cid *odcid, const uint8_t *token, size_t tokenlen,
                                     const uint8_t *secret, size_t secretlen, uint32_t version,
                                     const ngtcp2_sockaddr *remote_addr,
                                     ngtcp2_socklen remote_addrlen, const ngtcp2_cid *dcid,
                                     ngtcp2_duration timeout, ngtcp2_tstamp ts) {
  uint8_t plain[RETRY_PLAIN], ad[64];
  size_t ad_len = retry_ad(remote_addr, remote_addrlen, version, dcid, ad);
  if (ad_len == 0 || open_token(token, tokenlen, NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY, secret,
                                secretlen, plain, sizeof plain, ad, ad_len) != 0)
    return -1;
  if (plain[0] > NGTCP2_MAX_CIDLEN || !fresh(get64(plain + 1 + NGTCP2_MAX_CIDLEN), timeout, ts))
    return -1;
  ngtcp2_cid_init(odcid, plain + 1, plain[0]);
  return 0;
}

ngtcp2_ssize ngtcp2_crypto_generate_regular_token(uint8_t *token, const uint8_t *secret,
                                                  size_t secretlen,
                                                  const ngtcp2_sockaddr *remote_addr,
                                                  ngtcp2_socklen remote_addrlen,
                                                  ngtcp2_tstamp ts) {
  uint8_t plain[REGULAR_PLAIN], ad[32];
  /* no port: a NEW_TOKEN token serves later connections, from other ports */
  size_t ad_len = address_ad(remote_addr, remote_addrlen, 0, ad);
  if (ad_len == 0) return -1;
  put64(plain, ts);
  return seal_token(token, NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR, secret, secretlen, plain,
                    sizeof plain, ad, ad_len);
}

int ngtcp2_crypto_verify_regular_token(const uint8_t *token, size_t tokenlen,
                                       const uint8_t *secret, size_t secretlen,
                                       const ngtcp2_sockaddr *remote_addr,
                                       ngtcp2_socklen remote_addrlen, ngtcp2_duration timeout,
                                       ngtcp2_tstamp ts) {
  uint8_t plain[REGULAR_PLAIN], ad[32];
  size_t ad_len = address_ad(remote_addr, remote_addrlen, 0, ad);
  if (ad_len == 0 || open_token(token, tokenlen, NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR, secret,
                                secretlen, plain, sizeof plain, ad, ad_len) != 0)
    return -1;
  return fresh(get64(plain), timeout, ts) ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Packets written before any connection state                         */
/* ------------------------------------------------------------------ */

ngtcp2_ssize ngtcp2_crypto_write_connection_close(uint8_t *dest, size_t destlen,
                                                  uint32_t version, const ngtcp2_cid *dcid,
                                                  const ngtcp2_cid *scid, uint64_t error_code,
                                                  const uint8_t *reason, size_t reasonlen) {
  ngtcp2_crypto_ctx ctx;
  ntern_key *rx, *tx;
  uint8_t rx_iv[12], tx_iv[12];
  ngtcp2_ssize n;
  /* a server's Initial keys, from the client's DCID (our scid here) */
  if (ntern_initial_keys(version, scid, 1, &rx, rx_iv, &tx, tx_iv) != 0) return -1;
  ntern_ctx_init(&ctx, TERN_TLS_AES_128_GCM_SHA256);
  ngtcp2_crypto_aead_ctx aead_ctx = {tx};
  ngtcp2_crypto_cipher_ctx hp_ctx = {tx};
  n = ngtcp2_pkt_write_connection_close(dest, destlen, version, dcid, scid, error_code, reason,
                                        reasonlen, ngtcp2_crypto_encrypt_cb, &ctx.aead,
                                        &aead_ctx, tx_iv, ngtcp2_crypto_hp_mask_cb, &ctx.hp,
                                        &hp_ctx);
  for (int i = 0; i < 2; i++) {
    ntern_key_unref(rx);
    ntern_key_unref(tx);
  }
  return n < 0 ? -1 : n;
}

ngtcp2_ssize ngtcp2_crypto_write_retry(uint8_t *dest, size_t destlen, uint32_t version,
                                       const ngtcp2_cid *dcid, const ngtcp2_cid *scid,
                                       const ngtcp2_cid *odcid, const uint8_t *token,
                                       size_t tokenlen) {
  ngtcp2_crypto_aead aead = {(void *)(uintptr_t)TERN_TLS_AES_128_GCM_SHA256,
                             TERN_QUIC_TAG_LEN};
  ngtcp2_crypto_aead_ctx actx = {ntern_key_retry(version)};
  ngtcp2_ssize n;
  if (actx.native_handle == NULL) return -1;
  n = ngtcp2_pkt_write_retry(dest, destlen, version, dcid, scid, odcid, token, tokenlen,
                             ngtcp2_crypto_encrypt_cb, &aead, &actx);
  ntern_key_unref(actx.native_handle);
  return n < 0 ? -1 : n;
}
