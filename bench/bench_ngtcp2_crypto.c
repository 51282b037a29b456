/*
 * bench_ngtcp2_crypto.c - QUIC packet protection through an ngtcp2 crypto
 * backend's callbacks, the way ngtcp2 calls them for every packet:
 * ngtcp2_crypto_encrypt_cb, ngtcp2_crypto_decrypt_cb and
 * ngtcp2_crypto_hp_mask_cb on 1200-byte packets (AES-128-GCM, 20 bytes of
 * header as associated data, AES-128 header protection).
 *
 * Built twice from this one file, as both backends define the same
 * functions: bench_ngtcp2_crypto_tern (libngtcp2_crypto_tern) and
 * bench_ngtcp2_crypto_gnutls (Debian's libngtcp2_crypto_gnutls).
 * bench/ngtcp2_crypto_bench.sh runs them in turn and prints the ratio.
 *
 * The contexts are the backend's own: the AEAD contexts from
 * ngtcp2_crypto_aead_ctx_encrypt_init/_decrypt_init on the AEAD the
 * backend describes, the header protection context the one the backend
 * made for a real client connection's Initial keys (taken from the
 * hp_mask callback as ngtcp2 calls it while writing the first packet).
 *
 * Prints one line: the CPU time (CLOCK_PROCESS_CPUTIME_ID) per packet of
 * each operation, the best of ROUNDS rounds of PACKETS packets.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>

#ifdef BENCH_TERN
#include <ngtcp2/ngtcp2_crypto_tern.h>
#define BACKEND "tern"
#else
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#define BACKEND "gnutls"
#endif

#define PACKET 1200
#define AD_LEN 20
#define TAG 16
#define PACKETS 200000
#define ROUNDS 5

static ngtcp2_conn *the_conn;
static ngtcp2_crypto_aead seen_aead;
static ngtcp2_crypto_cipher seen_hp;
static const ngtcp2_crypto_cipher_ctx *seen_hp_ctx;
static int seen;

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  (void)ref;
  return the_conn;
}

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  RAND_bytes(dest, (int)len);
}

static int new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t len, void *user) {
  (void)conn;
  (void)user;
  cid->datalen = len;
  return RAND_bytes(cid->data, (int)len) == 1 && RAND_bytes(token, 16) == 1 ? 0 : -1;
}

/* The callbacks ngtcp2 calls while writing the first packet: recorded,
   then handed to the backend. */
static int encrypt_seen(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                        const ngtcp2_crypto_aead_ctx *ctx, const uint8_t *pt, size_t ptlen,
                        const uint8_t *nonce, size_t noncelen, const uint8_t *ad, size_t adlen) {
  seen_aead = *aead;
  return ngtcp2_crypto_encrypt_cb(dest, aead, ctx, pt, ptlen, nonce, noncelen, ad, adlen);
}

static int hp_seen(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
                   const ngtcp2_crypto_cipher_ctx *ctx, const uint8_t *sample) {
  seen_hp = *hp;
  seen_hp_ctx = ctx;
  seen = 1;
  return ngtcp2_crypto_hp_mask_cb(dest, hp, ctx, sample);
}

static double cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A client connection of this backend that has written its first
   Initial packet; 0, or -1. */
static int start_client(void) {
  static ngtcp2_crypto_conn_ref ref = {get_conn, NULL};
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid dcid = {.datalen = 16}, scid = {.datalen = 16};
  static struct sockaddr_in local, remote;
  ngtcp2_path path = {{(ngtcp2_sockaddr *)&local, sizeof local},
                      {(ngtcp2_sockaddr *)&remote, sizeof remote},
                      NULL};
  uint8_t buf[1500];
  void *tls;
  local.sin_family = remote.sin_family = AF_INET;
  remote.sin_port = htons(443);
#ifdef BENCH_TERN
  {
    tern_config *cfg = tern_config_new(TERN_CLIENT);
    const char *alpn[] = {"h3"};
    uint16_t suite = TERN_TLS_AES_128_GCM_SHA256;
    tern_config_set_alpn(cfg, alpn, 1);
    tern_config_set_cipher_suites(cfg, &suite, 1);
    tern_config_set_verify_peer(cfg, 0);
    tls = ngtcp2_crypto_tern_conn_new(cfg, &ref);
    if (tls == NULL) return -1;
  }
#else
  {
    gnutls_session_t s;
    gnutls_certificate_credentials_t cred;
    gnutls_datum_t alpn = {(unsigned char *)"h3", 2};
    if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_ENABLE_EARLY_DATA | GNUTLS_NO_END_OF_EARLY_DATA) ||
        gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM",
                                   NULL) ||
        ngtcp2_crypto_gnutls_configure_client_session(s) ||
        gnutls_certificate_allocate_credentials(&cred) ||
        gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred))
      return -1;
    gnutls_alpn_set_protocols(s, &alpn, 1, 0);
    gnutls_session_set_ptr(s, &ref);
    tls = s;
  }
#endif
  memset(&cb, 0, sizeof cb);
  cb.client_initial = ngtcp2_crypto_client_initial_cb;
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = encrypt_seen;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = hp_seen;
  cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = rand_cb;
  cb.get_new_connection_id = new_cid;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = 1;
  ngtcp2_transport_params_default(&params);
  RAND_bytes(dcid.data, 16);
  RAND_bytes(scid.data, 16);
  if (ngtcp2_conn_client_new(&the_conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &settings,
                             &params, NULL, NULL) != 0)
    return -1;
  ngtcp2_conn_set_tls_native_handle(the_conn, tls);
  if (ngtcp2_conn_write_pkt(the_conn, NULL, NULL, buf, sizeof buf, 2) <= 0 || !seen) return -1;
  return 0;
}

int main(void) {
  static uint8_t pt[PACKET], ct[PACKET + TAG], out[PACKET];
  uint8_t key[16], nonce[12], ad[AD_LEN], mask[NGTCP2_HP_SAMPLELEN];
  ngtcp2_crypto_aead_ctx ectx, dctx;
  double best[3] = {1e18, 1e18, 1e18};
  const size_t ptlen = PACKET - AD_LEN - TAG; /* a 1200-byte packet in all */

  if (start_client() != 0) {
    fprintf(stderr, "bench_ngtcp2_crypto (%s): no client connection\n", BACKEND);
    return 1;
  }
  RAND_bytes(key, sizeof key);
  RAND_bytes(nonce, sizeof nonce);
  RAND_bytes(ad, sizeof ad);
  RAND_bytes(pt, sizeof pt);
  if (ngtcp2_crypto_aead_ctx_encrypt_init(&ectx, &seen_aead, key, sizeof nonce) != 0 ||
      ngtcp2_crypto_aead_ctx_decrypt_init(&dctx, &seen_aead, key, sizeof nonce) != 0) {
    fprintf(stderr, "bench_ngtcp2_crypto (%s): no AEAD context\n", BACKEND);
    return 1;
  }
  /* the packet decrypted in the loop, checked once */
  if (ngtcp2_crypto_encrypt_cb(ct, &seen_aead, &ectx, pt, ptlen, nonce, 12, ad, AD_LEN) != 0 ||
      ngtcp2_crypto_decrypt_cb(out, &seen_aead, &dctx, ct, ptlen + TAG, nonce, 12, ad, AD_LEN) != 0 ||
      memcmp(out, pt, ptlen) != 0) {
    fprintf(stderr, "bench_ngtcp2_crypto (%s): round trip failed\n", BACKEND);
    return 1;
  }
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = cpu_ns(), t1, t2, t3;
    for (int i = 0; i < PACKETS; i++) {
      nonce[11] = (uint8_t)i; /* a fresh nonce each packet, as packet numbers give */
      if (ngtcp2_crypto_encrypt_cb(ct, &seen_aead, &ectx, pt, ptlen, nonce, 12, ad, AD_LEN) != 0)
        return 1;
    }
    t1 = cpu_ns();
    nonce[11] = (uint8_t)(PACKETS - 1);
    for (int i = 0; i < PACKETS; i++)
      if (ngtcp2_crypto_decrypt_cb(out, &seen_aead, &dctx, ct, ptlen + TAG, nonce, 12, ad,
                                   AD_LEN) != 0)
        return 1;
    t2 = cpu_ns();
    for (int i = 0; i < PACKETS; i++)
      if (ngtcp2_crypto_hp_mask_cb(mask, &seen_hp, seen_hp_ctx, ct + (i & 255)) != 0) return 1;
    t3 = cpu_ns();
    if ((t1 - t0) / PACKETS < best[0]) best[0] = (t1 - t0) / PACKETS;
    if ((t2 - t1) / PACKETS < best[1]) best[1] = (t2 - t1) / PACKETS;
    if ((t3 - t2) / PACKETS < best[2]) best[2] = (t3 - t2) / PACKETS;
  }
  printf("%s: encrypt %.0f ns, decrypt %.0f ns, hp_mask %.0f ns, all three %.0f ns per 1200-byte packet\n",
         BACKEND, best[0], best[1], best[2], best[0] + best[1] + best[2]);
  ngtcp2_crypto_aead_ctx_free(&ectx);
  ngtcp2_crypto_aead_ctx_free(&dctx);
  ngtcp2_conn_del(the_conn);
  return 0;
}
