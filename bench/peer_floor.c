/*
 * peer_floor.c - the floor of bench_handshake: the libcrypto operations
 * that one full handshake of the benchmark (client and server together)
 * cannot avoid, on contexts prepared once, and nothing else. No parsing,
 * no message building, no state machine, no buffers: what a perfect TLS
 * implementation on libcrypto 3 would still pay.
 *
 * One "handshake" of the floor is, in the order the two sides meet them:
 *   - X25519: two key generations (one per side, on a prepared keygen
 *     context), each public key read out raw, two derivations (the peer's
 *     key made from its 32 raw bytes, a derive context per side);
 *   - the transcript: each side hashes the real messages' lengths
 *     (ClientHello, ServerHello, EncryptedExtensions..server Finished,
 *     client Finished: taken from a tern handshake of the same benchmark)
 *     with SHA-256 and takes the four snapshots the schedule needs;
 *   - the server's CertificateVerify: SHA-256 of its 130-byte content and
 *     one ECDSA P-256 signature; the client's: the same hash and the
 *     verification with the leaf's key;
 *   - the chain: SHA-256 of the leaf's tbsCertificate and the verification
 *     of its signature with the CA's key;
 *   - the key schedule on each side (SHA-256): the handshake secret's
 *     extract, c/s hs traffic, derived, the master secret's extract, c/s
 *     ap traffic, the QUIC key, iv and hp of the four traffic secrets and
 *     the two finished keys: 23 HMACs a side with the two Finished MACs
 *     (the early secret and its "derived" are constants without a PSK,
 *     computed once in setup);
 *   - the two Finished MACs, each computed by its sender and checked by
 *     its receiver (CRYPTO_memcmp).
 * HMAC is done on two reused digest contexts over a fetched SHA-256
 * (ipad and opad blocks), the cheapest way libcrypto 3.0's EVP offers for
 * a key that changes every call. Each digest init or context copy still
 * allocates once inside libcrypto 3.0 (the provider's context), so the
 * floor's allocations are reported with the public-key operations' share
 * apart (floor_pk_allocs).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bench.h"
#include "pki.h"

#define HLEN 32 /* SHA-256 */

static EVP_MD *sha256;
static EVP_MD_CTX *mac_in, *mac_out, *scratch; /* HMAC and one-shot hashes */
static EVP_MD_CTX *transcript[2], *snapshot;   /* [0] client, [1] server */
static EVP_PKEY_CTX *x25519_gen, *cv_sign, *cv_verify, *chain_verify;
static unsigned char *tbs;  /* the leaf's tbsCertificate, DER */
static int tbs_len;
static const unsigned char *leaf_sig; /* its signature, DER */
static size_t leaf_sig_len;
static uint8_t early_derived[HLEN]; /* Derive-Secret(early secret, "derived", "") */
static uint8_t empty_hash[HLEN];
static size_t flight_len[4];        /* CH, SH, EE..server Finished, client Finished */
static uint8_t *filler;             /* stands for the messages' bytes */
static size_t filler_len;
/* Allocations made inside the public-key operations (X25519, ECDSA), over
   every floor handshake, and the count of those handshakes. */
static unsigned long long pk_allocs, runs;

/* pk_begin / pk_end bracket a public-key operation for pk_allocs. */
static unsigned long long pk_mark;
static void pk_begin(void) { pk_mark = allocs_now().all; }
static void pk_end(void) { pk_allocs += allocs_now().all - pk_mark; }

/* hmac: out = HMAC-SHA-256(key, msg) on the two reused contexts. */
static void hmac(const uint8_t key[HLEN], const uint8_t *msg, size_t len, uint8_t out[HLEN]) {
  uint8_t pad[64], inner[HLEN];
  memset(pad, 0x36, sizeof pad);
  for (int i = 0; i < HLEN; i++) pad[i] ^= key[i];
  if (!EVP_DigestInit_ex2(mac_in, sha256, NULL) || !EVP_DigestUpdate(mac_in, pad, sizeof pad) ||
      !EVP_DigestUpdate(mac_in, msg, len) || !EVP_DigestFinal_ex(mac_in, inner, NULL))
    die("floor: HMAC inner");
  for (size_t i = 0; i < sizeof pad; i++) pad[i] ^= 0x36 ^ 0x5c;
  if (!EVP_DigestInit_ex2(mac_out, sha256, NULL) || !EVP_DigestUpdate(mac_out, pad, sizeof pad) ||
      !EVP_DigestUpdate(mac_out, inner, HLEN) || !EVP_DigestFinal_ex(mac_out, out, NULL))
    die("floor: HMAC outer");
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner, sizeof inner);
}

/* expand_label: HKDF-Expand-Label(secret, label, ctx, len) for len <= 32
   (one HMAC block). */
static void expand_label(const uint8_t secret[HLEN], const char *label, const uint8_t *ctx,
                         size_t ctx_len, size_t len, uint8_t *out) {
  uint8_t info[2 + 1 + 6 + 32 + 1 + HLEN + 1], block[HLEN];
  size_t n = 0, l = strlen(label);
  info[n++] = 0;
  info[n++] = (uint8_t)len;
  info[n++] = (uint8_t)(6 + l);
  memcpy(info + n, "tls13 ", 6);
  n += 6;
  memcpy(info + n, label, l);
  n += l;
  info[n++] = (uint8_t)ctx_len;
  memcpy(info + n, ctx, ctx_len);
  n += ctx_len;
  info[n++] = 1;
  hmac(secret, info, n, block);
  memcpy(out, block, len);
  OPENSSL_cleanse(block, sizeof block);
}

/* snap: the hash of side's transcript so far. */
static void snap(int side, uint8_t out[HLEN]) {
  if (!EVP_MD_CTX_copy_ex(snapshot, transcript[side]) ||
      !EVP_DigestFinal_ex(snapshot, out, NULL))
    die("floor: transcript snapshot");
}

/* add: side's transcript takes the n bytes of a message. */
static void add(int side, size_t n) {
  if (!EVP_DigestUpdate(transcript[side], filler, n)) die("floor: transcript");
}

/* sha: out = SHA-256(msg) on the scratch context. */
static void sha(const uint8_t *msg, size_t len, uint8_t out[HLEN]) {
  if (!EVP_DigestInit_ex2(scratch, sha256, NULL) || !EVP_DigestUpdate(scratch, msg, len) ||
      !EVP_DigestFinal_ex(scratch, out, NULL))
    die("floor: SHA-256");
}

/* The traffic keys QUIC takes from one traffic secret. */
static void quic_keys(const uint8_t secret[HLEN]) {
  uint8_t key[16], iv[12], hp[16];
  expand_label(secret, "quic key", NULL, 0, sizeof key, key);
  expand_label(secret, "quic iv", NULL, 0, sizeof iv, iv);
  expand_label(secret, "quic hp", NULL, 0, sizeof hp, hp);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(iv, sizeof iv);
  OPENSSL_cleanse(hp, sizeof hp);
}

/* One side's schedule up to the handshake traffic keys and finished keys. */
static void handshake_keys(const uint8_t *shared, size_t shared_len, const uint8_t th[HLEN],
                           uint8_t hs[HLEN], uint8_t fin[2][HLEN]) {
  uint8_t c_hs[HLEN], s_hs[HLEN];
  /* HKDF-Extract(salt = early "derived", IKM = the X25519 secret) */
  uint8_t ikm[32];
  memcpy(ikm, shared, shared_len < sizeof ikm ? shared_len : sizeof ikm);
  hmac(early_derived, ikm, sizeof ikm, hs);
  expand_label(hs, "c hs traffic", th, HLEN, HLEN, c_hs);
  expand_label(hs, "s hs traffic", th, HLEN, HLEN, s_hs);
  quic_keys(c_hs);
  quic_keys(s_hs);
  expand_label(c_hs, "finished", NULL, 0, HLEN, fin[0]);
  expand_label(s_hs, "finished", NULL, 0, HLEN, fin[1]);
  OPENSSL_cleanse(ikm, sizeof ikm);
  OPENSSL_cleanse(c_hs, sizeof c_hs);
  OPENSSL_cleanse(s_hs, sizeof s_hs);
}

/* One side's schedule from the handshake secret to the application keys. */
static void application_keys(const uint8_t hs[HLEN], const uint8_t th[HLEN]) {
  uint8_t derived[HLEN], master[HLEN], c_ap[HLEN], s_ap[HLEN], zero[HLEN] = {0};
  expand_label(hs, "derived", empty_hash, HLEN, HLEN, derived);
  hmac(derived, zero, sizeof zero, master);
  expand_label(master, "c ap traffic", th, HLEN, HLEN, c_ap);
  expand_label(master, "s ap traffic", th, HLEN, HLEN, s_ap);
  quic_keys(c_ap);
  quic_keys(s_ap);
  OPENSSL_cleanse(derived, sizeof derived);
  OPENSSL_cleanse(master, sizeof master);
  OPENSSL_cleanse(c_ap, sizeof c_ap);
  OPENSSL_cleanse(s_ap, sizeof s_ap);
}

/* A fresh X25519 key, its raw public key in pub. */
static EVP_PKEY *x25519_key(uint8_t pub[32]) {
  EVP_PKEY *k = NULL;
  size_t n = 32;
  pk_begin();
  if (EVP_PKEY_keygen(x25519_gen, &k) <= 0 || !EVP_PKEY_get_raw_public_key(k, pub, &n))
    die("floor: X25519 key generation");
  pk_end();
  return k;
}

/* The X25519 secret of own and the peer's raw public key. */
static void x25519_derive(EVP_PKEY *own, const uint8_t peer_pub[32], uint8_t out[32]) {
  EVP_PKEY *peer, *ctx_owner = own;
  EVP_PKEY_CTX *ctx;
  size_t n = 32;
  pk_begin();
  peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer_pub, 32);
  ctx = EVP_PKEY_CTX_new_from_pkey(NULL, ctx_owner, NULL);
  if (peer == NULL || ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 ||
      EVP_PKEY_derive_set_peer(ctx, peer) <= 0 || EVP_PKEY_derive(ctx, out, &n) <= 0 || n != 32)
    die("floor: X25519 derivation");
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(peer);
  pk_end();
}

/* The SHA-256 of a CertificateVerify's content for transcript hash th. */
static void cv_digest(const uint8_t th[HLEN], uint8_t out[HLEN]) {
  static const char ctx[] = "TLS 1.3, server CertificateVerify";
  uint8_t content[64 + sizeof ctx + HLEN];
  memset(content, 0x20, 64);
  memcpy(content + 64, ctx, sizeof ctx); /* with its 0 separator */
  memcpy(content + 64 + sizeof ctx, th, HLEN);
  sha(content, sizeof content, out);
}

/* One floor handshake (see the top of the file); `check` also checks that
   the two sides agree. */
void floor_handshake(int check) {
  uint8_t pub_c[32], pub_s[32], ss_c[32], ss_s[32], th[2][HLEN], dg[HLEN], cv[80], digest[HLEN];
  uint8_t hs[2][HLEN], fin[2][2][HLEN], mac_s[HLEN], mac_c[HLEN], mac_check[HLEN];
  size_t cv_len = sizeof cv;
  EVP_PKEY *kc, *ks;
  enum { C = 0, S = 1 };

  /* ClientHello */
  kc = x25519_key(pub_c);
  for (int side = 0; side < 2; side++) {
    if (!EVP_DigestInit_ex2(transcript[side], sha256, NULL)) die("floor: transcript");
    add(side, flight_len[0]);
  }
  /* server: ServerHello, handshake keys, its flight */
  ks = x25519_key(pub_s);
  x25519_derive(ks, pub_c, ss_s);
  add(S, flight_len[1]);
  snap(S, th[S]);
  handshake_keys(ss_s, sizeof ss_s, th[S], hs[S], fin[S]);
  add(S, flight_len[2] / 2); /* EncryptedExtensions, Certificate */
  snap(S, th[S]);
  cv_digest(th[S], dg);
  pk_begin();
  if (EVP_PKEY_sign(cv_sign, cv, &cv_len, dg, HLEN) <= 0) die("floor: ECDSA sign");
  pk_end();
  add(S, cv_len + 4);
  snap(S, th[S]);
  hmac(fin[S][1], th[S], HLEN, mac_s);
  add(S, 4 + HLEN);
  snap(S, th[S]);
  application_keys(hs[S], th[S]);

  /* client: ServerHello, handshake keys, the server's flight checked */
  x25519_derive(kc, pub_s, ss_c);
  add(C, flight_len[1]);
  snap(C, th[C]);
  handshake_keys(ss_c, sizeof ss_c, th[C], hs[C], fin[C]);
  add(C, flight_len[2] / 2);
  sha(tbs, (size_t)tbs_len, digest);
  pk_begin();
  if (EVP_PKEY_verify(chain_verify, leaf_sig, leaf_sig_len, digest, HLEN) != 1)
    die("floor: chain verification");
  pk_end();
  snap(C, th[C]);
  cv_digest(th[C], dg);
  pk_begin();
  if (EVP_PKEY_verify(cv_verify, cv, cv_len, dg, HLEN) != 1) die("floor: ECDSA verify");
  pk_end();
  add(C, cv_len + 4);
  snap(C, th[C]);
  hmac(fin[C][1], th[C], HLEN, mac_check);
  if (CRYPTO_memcmp(mac_check, mac_s, HLEN) != 0) die("floor: server Finished");
  add(C, 4 + HLEN);
  snap(C, th[C]);
  application_keys(hs[C], th[C]);
  hmac(fin[C][0], th[C], HLEN, mac_c);
  add(C, flight_len[3]);

  /* server: the client's Finished */
  hmac(fin[S][0], th[S], HLEN, mac_check);
  if (CRYPTO_memcmp(mac_check, mac_c, HLEN) != 0) die("floor: client Finished");
  add(S, flight_len[3]);

  if (check && (memcmp(ss_c, ss_s, sizeof ss_c) != 0 || memcmp(hs[C], hs[S], HLEN) != 0))
    die("floor: the two sides disagree");
  pk_begin();
  EVP_PKEY_free(kc);
  EVP_PKEY_free(ks);
  pk_end();
  runs++;
  OPENSSL_cleanse(ss_c, sizeof ss_c);
  OPENSSL_cleanse(ss_s, sizeof ss_s);
  OPENSSL_cleanse(hs, sizeof hs);
  OPENSSL_cleanse(fin, sizeof fin);
}

/* Prepares every context once: the keys of pki p; len[] the four flights'
   byte counts of a real handshake (floor_flights). */
void floor_setup(const pki *p, const size_t len[4]) {
  uint8_t zero[HLEN] = {0}, early[HLEN];
  const ASN1_BIT_STRING *sig;
  const X509_ALGOR *alg;
  EVP_PKEY *leaf_pub = X509_get0_pubkey(p->leaf), *ca_pub = X509_get0_pubkey(p->ca);

  memcpy(flight_len, len, sizeof flight_len);
  filler_len = 0;
  for (int i = 0; i < 4; i++)
    if (flight_len[i] > filler_len) filler_len = flight_len[i];
  filler = malloc(filler_len);
  sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  mac_in = EVP_MD_CTX_new();
  mac_out = EVP_MD_CTX_new();
  scratch = EVP_MD_CTX_new();
  snapshot = EVP_MD_CTX_new();
  transcript[0] = EVP_MD_CTX_new();
  transcript[1] = EVP_MD_CTX_new();
  x25519_gen = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
  cv_sign = EVP_PKEY_CTX_new_from_pkey(NULL, p->leaf_key, NULL);
  cv_verify = leaf_pub ? EVP_PKEY_CTX_new_from_pkey(NULL, leaf_pub, NULL) : NULL;
  chain_verify = ca_pub ? EVP_PKEY_CTX_new_from_pkey(NULL, ca_pub, NULL) : NULL;
  if (filler == NULL || sha256 == NULL || mac_in == NULL || mac_out == NULL ||
      scratch == NULL || snapshot == NULL || transcript[0] == NULL || transcript[1] == NULL ||
      x25519_gen == NULL || cv_sign == NULL || cv_verify == NULL || chain_verify == NULL ||
      EVP_PKEY_keygen_init(x25519_gen) <= 0 || EVP_PKEY_sign_init(cv_sign) <= 0 ||
      EVP_PKEY_verify_init(cv_verify) <= 0 || EVP_PKEY_verify_init(chain_verify) <= 0)
    die("floor setup");
  memset(filler, 0x5a, filler_len);
  tbs = NULL;
  tbs_len = i2d_re_X509_tbs(p->leaf, &tbs);
  X509_get0_signature(&sig, &alg, p->leaf);
  if (tbs_len <= 0 || sig == NULL) die("floor: the leaf's tbsCertificate");
  leaf_sig = ASN1_STRING_get0_data(sig);
  leaf_sig_len = (size_t)ASN1_STRING_length(sig);
  /* the constants of a handshake without a PSK */
  sha(NULL, 0, empty_hash);
  hmac(zero, zero, sizeof zero, early);
  expand_label(early, "derived", empty_hash, HLEN, HLEN, early_derived);
  OPENSSL_cleanse(early, sizeof early);
}

/* The allocations per floor handshake made inside its public-key
   operations (X25519 and ECDSA), the rest being the digest contexts'. */
double floor_pk_allocs(void) { return runs ? (double)pk_allocs / (double)runs : 0; }

/* Frees what floor_setup made. */
void floor_teardown(void) {
  EVP_PKEY_CTX_free(x25519_gen);
  EVP_PKEY_CTX_free(cv_sign);
  EVP_PKEY_CTX_free(cv_verify);
  EVP_PKEY_CTX_free(chain_verify);
  EVP_MD_CTX_free(mac_in);
  EVP_MD_CTX_free(mac_out);
  EVP_MD_CTX_free(scratch);
  EVP_MD_CTX_free(snapshot);
  EVP_MD_CTX_free(transcript[0]);
  EVP_MD_CTX_free(transcript[1]);
  EVP_MD_free(sha256);
  OPENSSL_free(tbs);
  free(filler);
  OPENSSL_cleanse(early_derived, sizeof early_derived);
}
