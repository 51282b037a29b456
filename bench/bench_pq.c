/*
 * bench_pq.c - the cost of the post-quantum key exchange, in one run:
 *
 *  1. Primitives per second of CPU: ML-KEM-768 KeyGen, Encaps and Decaps
 *     (tern's, through tern.h) beside libcrypto's X25519 and P-256 key
 *     generation + derivation (EVP, prepared contexts, the peer's public
 *     key imported each time as a TLS stack does). Target: Encaps + Decaps
 *     cost no more than one X25519 key generation + derivation. Decaps
 *     twice: of a dk byte string (the §7.3 hash check, A-hat sampled
 *     again for the re-encryption) and of a kept key
 *     (tern_mlkem_generate_kept: A-hat kept from KeyGen, what the hybrid
 *     groups' client does).
 *     Also the part of each that is SHA3/SHAKE through EVP: the same hash
 *     calls with the same lengths (H(ek), G, nine SampleNTT reads of 504
 *     bytes, seven PRF reads, J for Decaps; a kept key's Decaps has no
 *     H(ek) and no SampleNTT), timed alone; the rest is tern's
 *     arithmetic, sampling and encoding.
 *  2. Full handshakes per second in QUIC mode (tools/qpair.c, client and
 *     server in one thread, TLS_AES_128_GCM_SHA256, ECDSA P-256 leaf):
 *     X25519MLKEM768 against X25519 alone, in 5 interleaved rounds, the
 *     median of each rate and of the per-round ratios; the bytes of the client's first flight and of the
 *     server's first flight (Initial + Handshake) for each. Target: the
 *     hybrid at least 0.85x the X25519 rate.
 *
 * Usage: bench_pq [--quick] | --only hybrid|x25519 SECONDS. Exits 0 after
 * the report (targets met or not), 1 when an operation failed. --only
 * runs one kind of handshake for SECONDS of CPU and prints its rate
 * (for a profiler: perf record ./bench_pq --only hybrid 10).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <tern.h>

#include "measure.h"
#include "pki.h"
#include "qpair.h"

static const uint8_t client_tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x0f, 0x00};
static const uint8_t server_tp[] = {0x00, 0x08, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02, 0x03, 0x04};
static double min_seconds = 1.0;

static double min_of(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}
static double max_of(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
  return m;
}

/* Runs fn until min_seconds of CPU have passed; returns operations per
   second (the best of three such rounds). */
static double rate_of(void (*fn)(void)) {
  double best = 0;
  for (int round = 0; round < 3; round++) {
    unsigned long n = 0;
    double t0 = process_cpu_seconds(), t;
    do {
      for (int i = 0; i < 16; i++) fn();
      n += 16;
      t = process_cpu_seconds() - t0;
    } while (t < min_seconds / 3);
    if (n / t > best) best = n / t;
  }
  return best;
}

/* ---- ML-KEM-768 through tern.h ------------------------------------- */

static uint8_t ek[1568], dk[3168], ct[1568], ss[32], ss2[32];
static uint8_t kept_ek[1568], kept[3168 + 16 * 512], kept_ct[1568], kept_ss[32], kept_ss2[32];
static size_t ek_len, dk_len, ct_len, kept_len;

static void op_keygen(void) {
  if (tern_mlkem_generate(768, ek, dk) != TERN_OK) die("ML-KEM KeyGen");
}
static void op_encaps(void) {
  if (tern_mlkem_encapsulate(768, ek, ek_len, ct, ss) != TERN_OK) die("ML-KEM Encaps");
}
static void op_decaps(void) {
  if (tern_mlkem_decapsulate(768, dk, dk_len, ct, ct_len, ss2) != TERN_OK) die("ML-KEM Decaps");
}
static void op_encaps_decaps(void) {
  op_encaps();
  op_decaps();
}
static void op_keygen_kept(void) {
  if (tern_mlkem_generate_kept(768, kept_ek, kept) != TERN_OK) die("ML-KEM KeyGen (kept)");
}
static void op_encaps_kept(void) {
  if (tern_mlkem_encapsulate(768, kept_ek, ek_len, kept_ct, kept_ss) != TERN_OK)
    die("ML-KEM Encaps");
}
static void op_decaps_kept(void) {
  if (tern_mlkem_decapsulate_kept(768, kept, kept_len, kept_ct, ct_len, kept_ss2) != TERN_OK)
    die("ML-KEM Decaps (kept)");
}
static void op_encaps_decaps_kept(void) {
  op_encaps_kept();
  op_decaps_kept();
}

/* ---- libcrypto's ECDH, as a TLS stack uses it ----------------------- */

static EVP_PKEY_CTX *x25519_gen, *p256_gen;
static uint8_t x25519_peer[32], p256_peer[65];
static EVP_PKEY *p256_params;

/* Key generation, then derivation with the peer's share (imported). */
static void op_x25519(void) {
  EVP_PKEY *k = NULL, *peer;
  EVP_PKEY_CTX *d;
  uint8_t out[32];
  size_t len = sizeof out;
  if (EVP_PKEY_keygen(x25519_gen, &k) != 1) die("X25519 keygen");
  peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, x25519_peer, 32);
  d = EVP_PKEY_CTX_new(k, NULL);
  if (peer == NULL || d == NULL || EVP_PKEY_derive_init(d) != 1 ||
      EVP_PKEY_derive_set_peer(d, peer) != 1 || EVP_PKEY_derive(d, out, &len) != 1)
    die("X25519 derive");
  EVP_PKEY_CTX_free(d);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(k);
}

static void op_p256(void) {
  EVP_PKEY *k = NULL, *peer = EVP_PKEY_new();
  EVP_PKEY_CTX *d;
  uint8_t out[32];
  size_t len = sizeof out;
  if (EVP_PKEY_keygen(p256_gen, &k) != 1) die("P-256 keygen");
  if (peer == NULL || EVP_PKEY_copy_parameters(peer, p256_params) != 1 ||
      EVP_PKEY_set1_encoded_public_key(peer, p256_peer, 65) != 1)
    die("P-256 peer");
  d = EVP_PKEY_CTX_new(k, NULL);
  if (d == NULL || EVP_PKEY_derive_init(d) != 1 || EVP_PKEY_derive_set_peer(d, peer) != 1 ||
      EVP_PKEY_derive(d, out, &len) != 1)
    die("P-256 derive");
  EVP_PKEY_CTX_free(d);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(k);
}

static void ecdh_setup(void) {
  EVP_PKEY *k = NULL;
  size_t len = 32;
  x25519_gen = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
  if (x25519_gen == NULL || EVP_PKEY_keygen_init(x25519_gen) != 1 ||
      EVP_PKEY_keygen(x25519_gen, &k) != 1 ||
      EVP_PKEY_get_raw_public_key(k, x25519_peer, &len) != 1)
    die("X25519 setup");
  EVP_PKEY_free(k);
  k = NULL;
  p256_gen = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  if (p256_gen == NULL || EVP_PKEY_keygen_init(p256_gen) != 1 ||
      EVP_PKEY_CTX_set_group_name(p256_gen, "P-256") != 1 || EVP_PKEY_keygen(p256_gen, &k) != 1 ||
      EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", p256_peer, 65, &len) != 1)
    die("P-256 setup");
  p256_params = k;
}

/* ---- the hash calls of ML-KEM-768 Encaps / Decaps, alone ------------ */

static EVP_MD *sha3_256, *sha3_512, *shake128, *shake256;
static EVP_MD_CTX *hctx[4];

static void hash(int i, const EVP_MD *md, size_t in_len, size_t out_len) {
  static uint8_t in[1568], out[1024];
  if (EVP_DigestInit_ex2(hctx[i], md, NULL) != 1 || EVP_DigestUpdate(hctx[i], in, in_len) != 1)
    die("hash");
  if (md == shake128 || md == shake256) {
    if (EVP_DigestFinalXOF(hctx[i], out, out_len) != 1) die("XOF");
  } else if (EVP_DigestFinal_ex(hctx[i], out, NULL) != 1) {
    die("digest");
  }
}

/* Encaps: H(ek), G(m || h), 9 SampleNTT reads, 3 + 3 + 1 PRF reads. */
static void op_encaps_hashes(void) {
  hash(0, sha3_256, 1184, 32);
  hash(1, sha3_512, 64, 64);
  for (int i = 0; i < 9; i++) hash(2, shake128, 34, 504);
  for (int i = 0; i < 7; i++) hash(3, shake256, 33, 128);
}
/* Decaps: H(ek) (the §7.3 check), G, J(z || c), then Encaps' reads. */
static void op_decaps_hashes(void) {
  hash(0, sha3_256, 1184, 32);
  hash(1, sha3_512, 64, 64);
  hash(3, shake256, 32 + 1088, 32);
  for (int i = 0; i < 9; i++) hash(2, shake128, 34, 504);
  for (int i = 0; i < 7; i++) hash(3, shake256, 33, 128);
}
static void op_hashes(void) {
  op_encaps_hashes();
  op_decaps_hashes();
}
/* Decaps of a kept key: G, J(z || c), the seven PRF reads. */
static void op_hashes_kept(void) {
  op_encaps_hashes();
  hash(1, sha3_512, 64, 64);
  hash(3, shake256, 32 + 1088, 32);
  for (int i = 0; i < 7; i++) hash(3, shake256, 33, 128);
}

/* What a hybrid handshake's ML-KEM hashes, both sides: the client's
   KeyGen (G(d || k), nine SampleNTT reads, six PRF reads, H(ek)), the
   server's Encaps, the client's Decaps of its kept key. */
static void op_hashes_handshake(void) {
  hash(1, sha3_512, 33, 64);
  for (int i = 0; i < 9; i++) hash(2, shake128, 34, 504);
  for (int i = 0; i < 6; i++) hash(3, shake256, 33, 128);
  hash(0, sha3_256, 1184, 32);
  op_hashes_kept();
}

/* ---- handshakes ------------------------------------------------------- */

static tern_config *ccfg[2], *scfg[2];
static const uint16_t hs_group[2] = {TERN_GROUP_X25519MLKEM768, TERN_GROUP_X25519};
static size_t flight_c[2], flight_s[2];

static void configs(const pki *p) {
  static const char *const alpn[] = {"h3"};
  const uint16_t suite = TERN_TLS_AES_128_GCM_SHA256;
  X509_STORE *store = X509_STORE_new();
  STACK_OF(X509) *chain = pki_chain(p);
  if (store == NULL || chain == NULL || !X509_STORE_add_cert(store, p->ca)) die("setup");
  for (int i = 0; i < 2; i++) {
    ccfg[i] = tern_config_new(TERN_CLIENT);
    scfg[i] = tern_config_new(TERN_SERVER);
    if (ccfg[i] == NULL || scfg[i] == NULL ||
        tern_config_set_trust_store(ccfg[i], store) != TERN_OK ||
        tern_config_set_alpn(ccfg[i], alpn, 1) != TERN_OK ||
        tern_config_set_cipher_suites(ccfg[i], &suite, 1) != TERN_OK ||
        tern_config_set_groups(ccfg[i], &hs_group[i], 1) != TERN_OK ||
        tern_config_set_key_share_groups(ccfg[i], &hs_group[i], 1) != TERN_OK ||
        tern_config_set_cert(scfg[i], p->leaf, chain, p->leaf_key) != TERN_OK ||
        tern_config_set_alpn(scfg[i], alpn, 1) != TERN_OK ||
        tern_config_set_cipher_suites(scfg[i], &suite, 1) != TERN_OK ||
        tern_config_set_groups(scfg[i], &hs_group[i], 1) != TERN_OK)
      die("configurations");
  }
  sk_X509_pop_free(chain, X509_free);
  X509_STORE_free(store);
}

/* One full handshake with configuration pair i; measure: record the
   first flights' sizes. */
static void handshake(int i, int measure) {
  qpair p;
  if (qpair_init(&p, ccfg[i], scfg[i], client_tp, sizeof client_tp, server_tp,
                 sizeof server_tp) != 0 ||
      tern_conn_set_server_name(p.c.conn, "localhost") != TERN_OK)
    die("pair");
  if (measure) {
    if (tern_handshake(p.c.conn) != TERN_WANT_READ) die("client start");
    flight_c[i] = p.c.out_len[TERN_LEVEL_INITIAL];
    if (qpair_deliver(&p, &p.c, &p.s, TERN_LEVEL_INITIAL) < 0) die("server flight");
    flight_s[i] = p.s.out_len[TERN_LEVEL_INITIAL] + p.s.out_len[TERN_LEVEL_HANDSHAKE];
  }
  if (qpair_run(&p) != TERN_OK || tern_conn_group(p.c.conn) != hs_group[i] ||
      tern_conn_group(p.s.conn) != hs_group[i])
    die("handshake");
  qpair_free(&p);
}
static void hs_hybrid(void) { handshake(0, 0); }
static void hs_x25519(void) { handshake(1, 0); }

int main(int argc, char **argv) {
  pki p;
  double kg, en, de, ed, dek, edk, x, p256, hashes, hashes_kept, hy = 0, xx = 0;
  if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
    min_seconds = 0.3;
  } else if (argc == 4 && strcmp(argv[1], "--only") == 0 &&
             (strcmp(argv[2], "hybrid") == 0 || strcmp(argv[2], "x25519") == 0)) {
    int hybrid = strcmp(argv[2], "hybrid") == 0;
    min_seconds = 3 * atof(argv[3]);
    if (pki_make(&p, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW) != 0) die("PKI");
    configs(&p);
    printf("%s: %.0f handshakes per CPU second\n", argv[2],
           rate_of(hybrid ? hs_hybrid : hs_x25519));
    return 0;
  } else if (argc > 1) {
    fprintf(stderr, "usage: bench_pq [--quick] | --only hybrid|x25519 SECONDS\n");
    return 2;
  }
  if (tern_mlkem_sizes(768, &ek_len, &dk_len, &ct_len) != TERN_OK) die("sizes");
  kept_len = tern_mlkem_kept_size(768);
  if (kept_len == 0 || kept_len > sizeof kept) die("kept size");
  ecdh_setup();
  sha3_256 = EVP_MD_fetch(NULL, "SHA3-256", NULL);
  sha3_512 = EVP_MD_fetch(NULL, "SHA3-512", NULL);
  shake128 = EVP_MD_fetch(NULL, "SHAKE128", NULL);
  shake256 = EVP_MD_fetch(NULL, "SHAKE256", NULL);
  for (int i = 0; i < 4; i++)
    if ((hctx[i] = EVP_MD_CTX_new()) == NULL) die("digest contexts");
  op_keygen();
  op_encaps_decaps();
  if (memcmp(ss, ss2, 32) != 0) die("ML-KEM agreement");
  op_keygen_kept();
  op_encaps_decaps_kept();
  if (memcmp(kept_ss, kept_ss2, 32) != 0) die("ML-KEM agreement (kept key)");

  kg = rate_of(op_keygen);
  en = rate_of(op_encaps);
  de = rate_of(op_decaps);
  ed = rate_of(op_encaps_decaps);
  dek = rate_of(op_decaps_kept);
  edk = rate_of(op_encaps_decaps_kept);
  x = rate_of(op_x25519);
  p256 = rate_of(op_p256);
  hashes = rate_of(op_hashes);
  hashes_kept = rate_of(op_hashes_kept);
  printf("primitives (ops per CPU second, best of 3 rounds):\n");
  printf("  ML-KEM-768 KeyGen               %9.0f   (%6.1f us)\n", kg, 1e6 / kg);
  printf("  ML-KEM-768 Encaps               %9.0f   (%6.1f us)\n", en, 1e6 / en);
  printf("  ML-KEM-768 Decaps               %9.0f   (%6.1f us)\n", de, 1e6 / de);
  printf("  ML-KEM-768 Encaps + Decaps      %9.0f   (%6.1f us)\n", ed, 1e6 / ed);
  printf("  ML-KEM-768 Decaps, kept key     %9.0f   (%6.1f us)\n", dek, 1e6 / dek);
  printf("  ML-KEM-768 Encaps + Decaps kept %9.0f   (%6.1f us)\n", edk, 1e6 / edk);
  printf("  X25519 keygen + derive (EVP)    %9.0f   (%6.1f us)\n", x, 1e6 / x);
  printf("  P-256 keygen + derive (EVP)     %9.0f   (%6.1f us)\n", p256, 1e6 / p256);
  printf("  Encaps + Decaps cost / X25519 keygen + derive: %.2f (target <= 1.00: %s); "
         "with a kept key: %.2f (%s)\n",
         x / ed, x / ed <= 1.0 ? "met" : "not met", x / edk, x / edk <= 1.0 ? "met" : "not met");
  printf("  of Encaps + Decaps, SHA3/SHAKE through EVP (the same calls alone): %.1f us "
         "(%.0f%%), the rest (tern's arithmetic, sampling, encoding): %.1f us\n",
         1e6 / hashes, 100.0 * ed / hashes, 1e6 / ed - 1e6 / hashes);
  printf("  of Encaps + Decaps with a kept key, SHA3/SHAKE: %.1f us (%.0f%%), the rest: %.1f us\n",
         1e6 / hashes_kept, 100.0 * edk / hashes_kept, 1e6 / edk - 1e6 / hashes_kept);

  {
    pki *pp = &p;
    if (pki_make(pp, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW) != 0) die("PKI");
    configs(pp);
  }
  handshake(0, 1);
  handshake(1, 1);
  {
    /* interleaved rounds; the median of each rate and of the per-round
       ratios (the machine may be shared: a round's two rates are taken
       close together, so their ratio is steadier than either) */
    enum { ROUNDS = 5 };
    double a[ROUNDS], b[ROUNDS], r[ROUNDS], hh;
    for (int round = 0; round < ROUNDS; round++) {
      a[round] = rate_of(hs_hybrid);
      b[round] = rate_of(hs_x25519);
      r[round] = a[round] / b[round];
    }
    hy = median_of(a, ROUNDS);
    xx = median_of(b, ROUNDS);
    hh = rate_of(op_hashes_handshake);
    printf("full handshakes in QUIC mode, client and server in one thread (per CPU second, "
           "median of %d interleaved rounds):\n", ROUNDS);
    printf("  X25519MLKEM768   %7.0f /s   client first flight %5zu bytes, server first flight "
           "%5zu bytes\n", hy, flight_c[0], flight_s[0]);
    printf("  X25519           %7.0f /s   client first flight %5zu bytes, server first flight "
           "%5zu bytes\n", xx, flight_c[1], flight_s[1]);
    printf("  hybrid / X25519: %.2f (rounds %.2f-%.2f; target >= 0.85: %s)\n", median_of(r, ROUNDS),
           min_of(r, ROUNDS), max_of(r, ROUNDS), median_of(r, ROUNDS) >= 0.85 ? "met" : "not met");
    printf("  the hybrid costs %.1f us more per handshake; 0.85x allows %.1f us; its ML-KEM "
           "SHA3/SHAKE calls alone (KeyGen, Encaps, Decaps of the kept key) take %.1f us\n",
           1e6 / hy - 1e6 / xx, 1e6 / (0.85 * xx) - 1e6 / xx, 1e6 / hh);
  }
  for (int i = 0; i < 2; i++) {
    tern_config_free(ccfg[i]);
    tern_config_free(scfg[i]);
  }
  pki_free(&p);
  return 0;
}
