/*
 * floor_resumed.c - the libcrypto work one resumed handshake of
 * bench_handshake (psk_dhe_ke X25519, TLS_AES_128_GCM_SHA256, one ticket
 * issued and read), client and server together, cannot avoid, timed
 * piece by piece on contexts prepared once, and added up:
 *   - X25519: 2 key generations and 2 derivations, each two ways: as
 *     bench_handshake's full-handshake floor does them (a prepared keygen
 *     context; the peer's key made from its raw bytes) and the cheapest
 *     way found on libcrypto 3.0 (the peer's share set into a reused key);
 *   - 36 HMAC-SHA-256 (the key schedule with its PSK, the binder made and
 *     checked, both Finished, the resumption secret and the ticket's PSK;
 *     the count a tern pair makes), ipad/opad on two reused contexts;
 *   - the transcripts of both sides (ClientHello with its PSK, ServerHello,
 *     EncryptedExtensions and Finished, the client's Finished; a snapshot
 *     after each and one for the binder);
 *   - the ticket sealed and opened with AES-128-GCM (120 bytes);
 *   - randomness: one RAND_bytes call of 1 KiB shared by 12 sides.
 * Not counted: parsing, building and checking messages, the single-use
 * register, the session's encoding, any allocation of a connection.
 *
 * CPU time of this thread, median of 7 interleaved rounds (smallest and
 * largest in parentheses); run it pinned (taskset -c 0) beside
 * bench_handshake, whose resumed pair it is the floor of.
 * Usage: floor_resumed [iterations per round, default 3000]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "measure.h"

#define ROUNDS 7
#define HMACS 36

static EVP_PKEY_CTX *keygen_ctx, *import_ctx;
static EVP_PKEY *own, *reused_peer;
static uint8_t pub[32], key[32] = {1}, msg[64] = {2}, filler[600];
static EVP_MD *sha256;
static EVP_MD_CTX *mac_in, *mac_out, *transcript, *snapshot;
static EVP_CIPHER *gcm;
static EVP_CIPHER_CTX *aead;

/* X25519 key generation on the prepared context, its raw public key out. */
static void keygen_prepared(void) {
  EVP_PKEY *k = NULL;
  size_t n = sizeof pub;
  if (EVP_PKEY_keygen(keygen_ctx, &k) <= 0 || !EVP_PKEY_get_raw_public_key(k, pub, &n))
    die("X25519 keygen");
  EVP_PKEY_free(k);
}

/* The same from 32 random bytes through a prepared fromdata context
   (libcrypto computes the public key), as tern does. */
static void keygen_import(void) {
  uint8_t priv[32];
  EVP_PKEY *k = NULL;
  size_t n = sizeof pub;
  OSSL_PARAM params[2];
  if (RAND_bytes(priv, sizeof priv) != 1) die("RAND_bytes");
  params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, priv, sizeof priv);
  params[1] = OSSL_PARAM_construct_end();
  if (EVP_PKEY_fromdata(import_ctx, &k, EVP_PKEY_KEYPAIR, params) != 1 ||
      !EVP_PKEY_get_raw_public_key(k, pub, &n))
    die("X25519 import");
  EVP_PKEY_free(k);
  OPENSSL_cleanse(priv, sizeof priv);
}

/* Derivation with `peer`, a context made for our key. */
static void derive_with(EVP_PKEY *peer) {
  uint8_t out[32];
  size_t n = sizeof out;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
  if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 ||
      EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) <= 0 || EVP_PKEY_derive(ctx, out, &n) <= 0)
    die("X25519 derive");
  EVP_PKEY_CTX_free(ctx);
  OPENSSL_cleanse(out, sizeof out);
}

/* The peer's key made from its raw bytes. */
static void derive_new_peer(void) {
  EVP_PKEY *peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pub, sizeof pub);
  if (peer == NULL) die("X25519 peer key");
  derive_with(peer);
  EVP_PKEY_free(peer);
}

/* The peer's share set into a reused key. */
static void derive_reused_peer(void) {
  if (EVP_PKEY_set1_encoded_public_key(reused_peer, pub, sizeof pub) != 1) die("set peer");
  derive_with(reused_peer);
}

/* HMAC-SHA-256 of a 50-byte message with a 32-byte key. */
static void hmac(void) {
  uint8_t pad[64], inner[32], out[32];
  unsigned int len;
  for (size_t i = 0; i < sizeof pad; i++) pad[i] = (uint8_t)((i < sizeof key ? key[i] : 0) ^ 0x36);
  if (!EVP_DigestInit_ex2(mac_in, sha256, NULL) || !EVP_DigestUpdate(mac_in, pad, sizeof pad) ||
      !EVP_DigestUpdate(mac_in, msg, 50) || !EVP_DigestFinal_ex(mac_in, inner, &len))
    die("HMAC");
  for (size_t i = 0; i < sizeof pad; i++) pad[i] ^= 0x36 ^ 0x5c;
  if (!EVP_DigestInit_ex2(mac_out, sha256, NULL) || !EVP_DigestUpdate(mac_out, pad, sizeof pad) ||
      !EVP_DigestUpdate(mac_out, inner, sizeof inner) || !EVP_DigestFinal_ex(mac_out, out, &len))
    die("HMAC");
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner, sizeof inner);
}

/* Both sides' transcripts: the four flights of a resumed handshake (about
   their sizes in bench_handshake), a snapshot after each and the binder's. */
static void transcripts(void) {
  static const size_t flight[4] = {330, 90, 60, 36};
  uint8_t out[32];
  unsigned int len;
  for (int side = 0; side < 2; side++) {
    if (!EVP_DigestInit_ex2(transcript, sha256, NULL)) die("transcript");
    for (int i = 0; i < 4; i++)
      if (!EVP_DigestUpdate(transcript, filler, flight[i]) ||
          !EVP_MD_CTX_copy_ex(snapshot, transcript) || !EVP_DigestFinal_ex(snapshot, out, &len))
        die("transcript");
    if (!EVP_MD_CTX_copy_ex(snapshot, transcript) || !EVP_DigestFinal_ex(snapshot, out, &len))
      die("transcript");
  }
}

/* The ticket: sealed by one server, opened by the next. */
static void ticket(void) {
  uint8_t iv[12] = {0}, sealed[160], opened[160], tag[16];
  int n, m;
  if (!EVP_EncryptInit_ex2(aead, gcm, key, iv, NULL) ||
      !EVP_EncryptUpdate(aead, sealed, &n, filler, 120) ||
      !EVP_EncryptFinal_ex(aead, sealed + n, &m) ||
      EVP_CIPHER_CTX_ctrl(aead, EVP_CTRL_GCM_GET_TAG, sizeof tag, tag) != 1)
    die("ticket seal");
  if (!EVP_DecryptInit_ex2(aead, gcm, key, iv, NULL) ||
      !EVP_DecryptUpdate(aead, opened, &n, sealed, 120) ||
      EVP_CIPHER_CTX_ctrl(aead, EVP_CTRL_GCM_SET_TAG, sizeof tag, tag) != 1 ||
      EVP_DecryptFinal_ex(aead, opened + n, &m) != 1)
    die("ticket open");
}

static void rand_kib(void) {
  uint8_t b[1024];
  if (RAND_bytes(b, sizeof b) != 1) die("RAND_bytes");
  OPENSSL_cleanse(b, sizeof b);
}

enum { KEYGEN_PREPARED, KEYGEN_IMPORT, DERIVE_NEW, DERIVE_REUSED, HMAC, TRANSCRIPTS, TICKET,
       RAND_KIB, NPIECES };
static void (*const piece[NPIECES])(void) = {keygen_prepared, keygen_import, derive_new_peer,
                                             derive_reused_peer, hmac, transcripts, ticket,
                                             rand_kib};
static const char *const piece_name[NPIECES] = {
    "X25519 keygen, prepared keygen context, raw public key",
    "X25519 keygen, 32 random bytes through a prepared fromdata context",
    "X25519 derive, the peer's key made from its raw bytes",
    "X25519 derive, the peer's share set into a reused key",
    "HMAC-SHA-256, 50 bytes, ipad/opad on reused contexts",
    "transcripts of both sides (~516 bytes each, 5 snapshots)",
    "ticket sealed and opened, AES-128-GCM, 120 bytes",
    "RAND_bytes of 1 KiB (one pool refill for 12 sides)"};

int main(int argc, char **argv) {
  int iterations = argc > 1 ? atoi(argv[1]) : 3000;
  double t[NPIECES][ROUNDS], med[NPIECES], keygen, derive, rest;
  size_t n = sizeof pub;

  if (iterations < 1) {
    fprintf(stderr, "usage: floor_resumed [iterations per round]\n");
    return 2;
  }
  keygen_ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
  import_ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
  if (keygen_ctx == NULL || import_ctx == NULL || EVP_PKEY_keygen_init(keygen_ctx) <= 0 ||
      EVP_PKEY_fromdata_init(import_ctx) <= 0 || EVP_PKEY_keygen(keygen_ctx, &own) <= 0 ||
      !EVP_PKEY_get_raw_public_key(own, pub, &n))
    die("setup");
  reused_peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pub, sizeof pub);
  sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
  mac_in = EVP_MD_CTX_new();
  mac_out = EVP_MD_CTX_new();
  transcript = EVP_MD_CTX_new();
  snapshot = EVP_MD_CTX_new();
  aead = EVP_CIPHER_CTX_new();
  if (reused_peer == NULL || sha256 == NULL || gcm == NULL || mac_in == NULL ||
      mac_out == NULL || transcript == NULL || snapshot == NULL || aead == NULL)
    die("setup");
  memset(filler, 0x5a, sizeof filler);

  for (int r = 0; r < ROUNDS; r++)
    for (int p = 0; p < NPIECES; p++) {
      /* the cheap pieces ten times as often, for resolution */
      int m = p >= HMAC ? iterations * 10 : iterations;
      double t0 = thread_cpu_seconds();
      for (int i = 0; i < m; i++) piece[p]();
      t[p][r] = (thread_cpu_seconds() - t0) / m * 1e6;
    }
  printf("resumed handshake floor, pieces (us, median of %d interleaved rounds of CPU time, "
         "smallest..largest):\n", ROUNDS);
  for (int p = 0; p < NPIECES; p++) {
    qsort(t[p], ROUNDS, sizeof t[p][0], cmp_double);
    med[p] = t[p][ROUNDS / 2];
    printf("  %-68s %7.3f (%.3f..%.3f)\n", piece_name[p], med[p], t[p][0], t[p][ROUNDS - 1]);
  }
  keygen = med[KEYGEN_PREPARED] < med[KEYGEN_IMPORT] ? med[KEYGEN_PREPARED] : med[KEYGEN_IMPORT];
  derive = med[DERIVE_REUSED];
  rest = HMACS * med[HMAC] + med[TRANSCRIPTS] + med[TICKET] + 2 * med[RAND_KIB] / 12;
  printf("resumed pair floor: X25519 %.1f us (2 keygen + 2 derive, cheapest ways; %.1f as the "
         "full floor does them), %d HMAC %.1f us, transcripts %.1f us, ticket %.1f us, "
         "randomness %.1f us\n", 2 * keygen + 2 * derive,
         2 * med[KEYGEN_PREPARED] + 2 * med[DERIVE_NEW], HMACS, HMACS * med[HMAC],
         med[TRANSCRIPTS], med[TICKET], 2 * med[RAND_KIB] / 12);
  printf("resumed pair floor total: %.1f us (nothing on libcrypto 3.0 is 2.3x OpenSSL's "
         "resumed pair unless that pair takes %.1f us or more)\n",
         2 * keygen + 2 * derive + rest, 2.3 * (2 * keygen + 2 * derive + rest));

  EVP_PKEY_free(own);
  EVP_PKEY_free(reused_peer);
  EVP_PKEY_CTX_free(keygen_ctx);
  EVP_PKEY_CTX_free(import_ctx);
  EVP_MD_CTX_free(mac_in);
  EVP_MD_CTX_free(mac_out);
  EVP_MD_CTX_free(transcript);
  EVP_MD_CTX_free(snapshot);
  EVP_CIPHER_CTX_free(aead);
  EVP_MD_free(sha256);
  EVP_CIPHER_free(gcm);
  return 0;
}
