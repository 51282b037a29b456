/*
 * test_quic.c - QUIC packet protection against RFC 9001 Appendix A (v1)
 * and RFC 9369 Appendix A (v2): Initial secrets and keys, the client and
 * server Initial packets both ways, the Retry Integrity Tag, the
 * ChaCha20-Poly1305 short header packet and key update; then tampering,
 * truncation, garbage headers, AES-256-GCM, packet number decoding and
 * argument checks; AES-128-CCM against packets protected by hand,
 * AES-128-CCM-8 refused (RFC 9001 §5.3), and no allocation per packet.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <tern.h>

#include "check.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "vectors.h"

/* ------------------------------------------------------------------ */
/* Vector bookkeeping: everything vec_get returns is freed at the end.  */
/* ------------------------------------------------------------------ */

static uint8_t *vec_bufs[256];
static size_t vec_nbufs;

/* vget: vec_get that remembers the buffer for vec_free_all. */
static uint8_t *vget(const char *file, const char *label, size_t *len) {
  uint8_t *b = vec_get(file, label, len);
  if (vec_nbufs < sizeof vec_bufs / sizeof vec_bufs[0]) vec_bufs[vec_nbufs++] = b;
  return b;
}

static void vec_free_all(void) {
  for (size_t i = 0; i < vec_nbufs; i++) free(vec_bufs[i]);
  vec_nbufs = 0;
}

/* libcrypto's allocations, counted (installed first thing in main). */
static unsigned long crypto_allocs;
static void *count_malloc(size_t n, const char *file, int line) {
  (void)file, (void)line;
  crypto_allocs++;
  return malloc(n);
}
static void *count_realloc(void *p, size_t n, const char *file, int line) {
  (void)file, (void)line;
  crypto_allocs++;
  return realloc(p, n);
}
static void count_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  free(p);
}

/* all_zero: 1 when buf[0..n) is all zero bytes. */
static int all_zero(const uint8_t *buf, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (buf[i]) return 0;
  return 1;
}

/* info_zero: 1 when a packet info reports nothing. */
static int info_zero(const tern_quic_packet_info *info) {
  return info->pn == 0 && info->hdr_len == 0 && info->payload_len == 0 &&
         info->packet_len == 0 && info->version == 0 && info->long_header == 0;
}

/* A version under test: its vector file and version number. */
typedef struct vset {
  const char *file;
  uint32_t version;
  const char *name;
} vset;

/*
 * expect_unprotect_fails: unprotecting pkt must fail (with want, or any
 * error when want is 0) and leave out and info all zero.
 */
#define expect_unprotect_fails(k, p, l, d, lg, w) \
  expect_unprotect_fails_at(__LINE__, k, p, l, d, lg, w)
static void expect_unprotect_fails_at(int line, tern_quic_key *key,
                                      const uint8_t *pkt, size_t len,
                                      size_t dcid_len, uint64_t largest,
                                      int want) {
  int before = check_failures;
  uint8_t *out = malloc(len ? len : 1);
  tern_quic_packet_info info;
  memset(out, 0xaa, len ? len : 1);
  memset(&info, 0x55, sizeof info);
  int rc = tern_quic_unprotect(key, pkt, len, dcid_len, largest, out, &info);
  if (want)
    CHECK_EQ_INT(rc, want);
  else
    CHECK(rc < 0);
  CHECK(all_zero(out, len));
  CHECK(info_zero(&info));
  if (check_failures != before)
    fprintf(stderr, "  (expect_unprotect_fails called from line %d)\n", line);
  free(out);
}

/*
 * tamper_all: flip one bit in every byte position of a protected packet in
 * turn; each unprotect must fail with an all-zero output.
 */
static void tamper_all(tern_quic_key *key, const uint8_t *pkt, size_t len,
                       size_t dcid_len, uint64_t largest) {
  uint8_t *bad = malloc(len), *out = malloc(len);
  tern_quic_packet_info info;
  int failures = 0, nonzero = 0;
  for (size_t i = 0; i < len; i++) {
    memcpy(bad, pkt, len);
    bad[i] ^= (uint8_t)(1u << (i % 8));
    memset(out, 0xaa, len);
    int rc = tern_quic_unprotect(key, bad, len, dcid_len, largest, out, &info);
    if (rc >= 0) {
      failures++;
      fprintf(stderr, "  tamper at byte %zu accepted\n", i);
    }
    if (!all_zero(out, len) || !info_zero(&info)) nonzero++;
    /* also the high bit, and a whole-byte inversion, at a few positions */
    if (i < 8 || i + 20 > len) {
      bad[i] = pkt[i] ^ 0xff;
      rc = tern_quic_unprotect(key, bad, len, dcid_len, largest, out, &info);
      if (rc >= 0) failures++;
      if (!all_zero(out, len)) nonzero++;
    }
  }
  CHECK_EQ_INT(failures, 0);
  CHECK_EQ_INT(nonzero, 0);
  free(bad);
  free(out);
}

/* ------------------------------------------------------------------ */
/* RFC 9001 / RFC 9369 Appendix A                                      */
/* ------------------------------------------------------------------ */

/* Initial secrets and the client/server key, iv and hp. */
static void test_initial_keys(const vset *vs) {
  size_t n, dcid_len, kl, hl;
  uint8_t cs[32], ss[32], key[32], iv[12], hp[32];
  const uint8_t *dcid =
      vget(vs->file, "client dcid (initial destination connection id)", &dcid_len);

  CHECK_EQ_INT(tern_quic_initial_secrets(vs->version, dcid, dcid_len, cs, ss),
               TERN_OK);
  CHECK_MEM(cs, vget(vs->file, "client_initial_secret", &n), 32);
  CHECK_EQ_INT(n, 32);
  CHECK_MEM(ss, vget(vs->file, "server_initial_secret", &n), 32);

  static const char *const who[2] = {"client", "server"};
  for (int w = 0; w < 2; w++) {
    char label[64];
    CHECK_EQ_INT(tern_quic_derive_keys(vs->version, TERN_TLS_AES_128_GCM_SHA256,
                                       w ? ss : cs, 32, key, &kl, iv, hp, &hl),
                 TERN_OK);
    CHECK_EQ_INT(kl, 16);
    CHECK_EQ_INT(hl, 16);
    snprintf(label, sizeof label, "%s initial key", who[w]);
    CHECK_MEM(key, vget(vs->file, label, &n), 16);
    snprintf(label, sizeof label, "%s initial iv", who[w]);
    CHECK_MEM(iv, vget(vs->file, label, &n), 12);
    snprintf(label, sizeof label, "%s initial hp", who[w]);
    CHECK_MEM(hp, vget(vs->file, label, &n), 16);
  }
}

/* Makes the Initial key of one side from the vector's DCID. */
static tern_quic_key *initial_key(const vset *vs, int server) {
  size_t dcid_len;
  uint8_t cs[32], ss[32];
  const uint8_t *dcid =
      vget(vs->file, "client dcid (initial destination connection id)", &dcid_len);
  if (tern_quic_initial_secrets(vs->version, dcid, dcid_len, cs, ss) != TERN_OK)
    return NULL;
  return tern_quic_key_new(vs->version, TERN_TLS_AES_128_GCM_SHA256,
                           server ? ss : cs, 32);
}

/*
 * One Initial packet both ways: protect header||payload with pn and compare
 * the whole packet; unprotect the vector's packet (copy and in place) and
 * compare header and payload; check the mask of the sample; then tamper.
 */
static void test_initial_packet(const vset *vs, int server) {
  const char *side = server ? "server" : "client";
  char label[128];
  size_t hdr_len, pl_len, prot_len, n, out_len;
  uint64_t pn = server ? 1 : 2;
  tern_quic_key *key = initial_key(vs, server);
  CHECK(key != NULL);
  if (key == NULL) return;

  snprintf(label, sizeof label, "%s initial unprotected header", side);
  const uint8_t *hdr = vget(vs->file, label, &hdr_len);
  if (server)
    snprintf(label, sizeof label, "server initial unprotected payload (ACK + CRYPTO frames)");
  else
    snprintf(label, sizeof label,
             "client initial unprotected payload (CRYPTO frame, before PADDING to 1162 bytes)");
  const uint8_t *pl = vget(vs->file, label, &pl_len);
  snprintf(label, sizeof label, "%s initial protected packet", side);
  const uint8_t *prot = vget(vs->file, label, &prot_len);

  /* The client pads its payload with PADDING frames to 1162 bytes. */
  size_t payload_len = server ? pl_len : 1162;
  CHECK(pl_len <= payload_len);
  CHECK_EQ_INT(hdr_len + payload_len + 16, prot_len);
  if (hdr_len + payload_len + 16 != prot_len) goto done;

  uint8_t *plain = calloc(1, prot_len), *pkt = calloc(1, prot_len);
  memcpy(plain, hdr, hdr_len);
  memcpy(plain + hdr_len, pl, pl_len);

  /* mask of the sample */
  uint8_t mask[5];
  snprintf(label, sizeof label, "%s initial sample", side);
  const uint8_t *sample = vget(vs->file, label, &n);
  CHECK_EQ_INT(tern_quic_hp_mask(key, sample, mask), TERN_OK);
  snprintf(label, sizeof label, "%s initial mask", side);
  CHECK_MEM(mask, vget(vs->file, label, &n), 5);

  /* protect */
  memcpy(pkt, plain, prot_len);
  CHECK_EQ_INT(tern_quic_protect(key, pn, pkt, hdr_len, payload_len, prot_len,
                                 &out_len),
               TERN_OK);
  CHECK_EQ_INT(out_len, prot_len);
  CHECK_MEM(pkt, prot, prot_len);

  /* unprotect into a separate buffer: the input must stay untouched */
  uint8_t *in = malloc(prot_len), *out = calloc(1, prot_len);
  tern_quic_packet_info info;
  memcpy(in, prot, prot_len);
  CHECK_EQ_INT(tern_quic_unprotect(key, in, prot_len, 0, UINT64_MAX, out, &info),
               TERN_OK);
  CHECK_MEM(in, prot, prot_len);
  CHECK_MEM(out, plain, hdr_len + payload_len);
  CHECK_EQ_INT(info.pn, pn);
  CHECK_EQ_INT(info.hdr_len, hdr_len);
  CHECK_EQ_INT(info.payload_len, payload_len);
  CHECK_EQ_INT(info.packet_len, prot_len);
  CHECK_EQ_INT(info.version, vs->version);
  CHECK_EQ_INT(info.long_header, 1);

  /* with a largest_pn near the packet number */
  CHECK_EQ_INT(tern_quic_unprotect(key, in, prot_len, 0, 0, out, &info), TERN_OK);
  CHECK_EQ_INT(info.pn, pn);

  /* in place */
  CHECK_EQ_INT(tern_quic_unprotect(key, in, prot_len, 0, UINT64_MAX, in, &info),
               TERN_OK);
  CHECK_MEM(in, plain, hdr_len + payload_len);

  /* the key of the other side must not open it */
  tern_quic_key *other = initial_key(vs, !server);
  expect_unprotect_fails(other, prot, prot_len, 0, UINT64_MAX, TERN_ERR_DECRYPT);
  tern_quic_key_free(other);

  /* a wrong packet number (largest_pn a few 2^32 windows away) must not open it */
  expect_unprotect_fails(key, prot, prot_len, 0, (uint64_t)5 << 32, TERN_ERR_DECRYPT);

  tamper_all(key, prot, prot_len, 0, UINT64_MAX);

  /* seal/open directly with the header as AD */
  memcpy(pkt, plain, prot_len);
  CHECK_EQ_INT(tern_quic_seal(key, pn, pkt, hdr_len, pkt + hdr_len, payload_len,
                              pkt + hdr_len),
               TERN_OK);
  CHECK_MEM(pkt + hdr_len, prot + hdr_len, payload_len + 16);
  CHECK_EQ_INT(tern_quic_open(key, pn, plain, hdr_len, pkt + hdr_len,
                              payload_len + 16, out),
               TERN_OK);
  CHECK_MEM(out, plain + hdr_len, payload_len);
  pkt[prot_len - 1] ^= 1;
  memset(out, 0xaa, payload_len);
  CHECK_EQ_INT(tern_quic_open(key, pn, plain, hdr_len, pkt + hdr_len,
                              payload_len + 16, out),
               TERN_ERR_DECRYPT);
  CHECK(all_zero(out, payload_len));

  free(in);
  free(out);
  free(plain);
  free(pkt);
done:
  tern_quic_key_free(key);
}

/*
 * Truncations of the client Initial (every prefix up to 80 bytes, and
 * len-1) and hand-made garbage long headers.
 */
static void test_truncated_and_garbage(const vset *vs) {
  size_t prot_len;
  const uint8_t *prot = vget(vs->file, "client initial protected packet", &prot_len);
  tern_quic_key *key = initial_key(vs, 0);
  CHECK(key != NULL);
  CHECK(prot != NULL && prot_len >= 1200);
  if (key == NULL || prot == NULL || prot_len < 1200 || prot_len > 4096) {
    tern_quic_key_free(key);
    return;
  }

  for (size_t l = 0; l <= 80 && l < prot_len; l++) {
    /* an exact-size heap copy so that ASan sees any read past the end */
    uint8_t *p = malloc(l ? l : 1);
    memcpy(p, prot, l);
    expect_unprotect_fails(key, p, l, 0, UINT64_MAX, TERN_ERR_MALFORMED);
    free(p);
  }
  {
    uint8_t *p = malloc(prot_len - 1);
    memcpy(p, prot, prot_len - 1);
    expect_unprotect_fails(key, p, prot_len - 1, 0, UINT64_MAX, TERN_ERR_MALFORMED);
    free(p);
  }

  static uint8_t g[4096]; /* prot_len <= 4096 checked above */
  /* DCID length 21 */
  memcpy(g, prot, prot_len);
  g[5] = 21;
  expect_unprotect_fails(key, g, prot_len, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* SCID length 21 (the SCID length byte of the vector is at 6 + 8) */
  memcpy(g, prot, prot_len);
  g[14] = 21;
  expect_unprotect_fails(key, g, prot_len, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* DCID length larger than the input */
  memcpy(g, prot, prot_len);
  g[5] = 20;
  expect_unprotect_fails(key, g, 20, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* token length: a 1-byte varint larger than what is left (bytes 15: token
     length 0 in the vector) */
  memcpy(g, prot, prot_len);
  g[15] = 0x3f;
  expect_unprotect_fails(key, g, 30, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* token length: an 8-byte varint of 2^62-1 (pointer overflow bait) */
  memcpy(g, prot, prot_len);
  g[15] = 0xff;
  memset(g + 16, 0xff, 7);
  expect_unprotect_fails(key, g, prot_len, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* token length varint cut by the end of the input */
  memcpy(g, prot, prot_len);
  g[15] = 0xc0;
  expect_unprotect_fails(key, g, 18, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* Length (bytes 16..17, 0x449e) larger than the input */
  memcpy(g, prot, prot_len);
  g[16] = 0x7f;
  g[17] = 0xff;
  expect_unprotect_fails(key, g, prot_len, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* Length as an 8-byte varint of 2^62-1 */
  {
    uint8_t h[40] = {0};
    memcpy(h, prot, 16);
    h[16] = 0xff;
    memset(h + 17, 0xff, 7);
    expect_unprotect_fails(key, h, sizeof h, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  }
  /* Length too small to hold a sample */
  memcpy(g, prot, prot_len);
  g[16] = 0x40;
  g[17] = 19;
  expect_unprotect_fails(key, g, prot_len, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* Version Negotiation (version 0) */
  memcpy(g, prot, prot_len);
  memset(g + 1, 0, 4);
  expect_unprotect_fails(key, g, prot_len, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* unknown version */
  memcpy(g, prot, prot_len);
  g[4] ^= 0x40;
  expect_unprotect_fails(key, g, prot_len, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* the other version's number in the header */
  memcpy(g, prot, prot_len);
  {
    uint32_t ov = vs->version == TERN_QUIC_V1 ? TERN_QUIC_V2 : TERN_QUIC_V1;
    g[1] = (uint8_t)(ov >> 24);
    g[2] = (uint8_t)(ov >> 16);
    g[3] = (uint8_t)(ov >> 8);
    g[4] = (uint8_t)ov;
  }
  expect_unprotect_fails(key, g, prot_len, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  /* the Retry packet of the vectors */
  {
    size_t rl;
    const uint8_t *r = vget(vs->file,
        "retry packet (ODCID 8394c8f03e515708 used for the integrity tag, not sent)",
        &rl);
    uint8_t *rp = malloc(rl);
    memcpy(rp, r, rl);
    expect_unprotect_fails(key, rp, rl, 0, UINT64_MAX, TERN_ERR_MALFORMED);
    free(rp);
  }
  /* a short header too short to sample, with and without a DCID */
  memcpy(g, prot, prot_len);
  g[0] = 0x40;
  expect_unprotect_fails(key, g, 20, 0, UINT64_MAX, TERN_ERR_MALFORMED);
  expect_unprotect_fails(key, g, 28, 8, UINT64_MAX, TERN_ERR_MALFORMED);
  /* short_dcid_len above 20 */
  expect_unprotect_fails(key, g, prot_len, 21, UINT64_MAX, TERN_ERR_INVALID_ARG);
  tern_quic_key_free(key);
}

/* Retry Integrity Tag: compute, verify, and reject any flipped byte. */
static void test_retry(const vset *vs) {
  size_t rl, dcid_len;
  const uint8_t *odcid =
      vget(vs->file, "client dcid (initial destination connection id)", &dcid_len);
  const uint8_t *r = vget(vs->file,
      "retry packet (ODCID 8394c8f03e515708 used for the integrity tag, not sent)", &rl);
  uint8_t tag[16];
  CHECK(rl > 16);

  CHECK_EQ_INT(tern_quic_retry_tag(vs->version, odcid, dcid_len, r, rl - 16, tag),
               TERN_OK);
  CHECK_MEM(tag, r + rl - 16, 16);
  CHECK_EQ_INT(tern_quic_retry_verify(vs->version, odcid, dcid_len, r, rl), TERN_OK);

  uint8_t *bad = malloc(rl);
  int wrong = 0;
  for (size_t i = 0; i < rl; i++) {
    memcpy(bad, r, rl);
    bad[i] ^= 0x01;
    int rc = tern_quic_retry_verify(vs->version, odcid, dcid_len, bad, rl);
    if (rc >= 0) wrong++;
    /* past the header (token and tag) the only possible answer is DECRYPT */
    if (i >= 6 + 0 + 1 + 8 && rc != TERN_ERR_DECRYPT) wrong++;
  }
  CHECK_EQ_INT(wrong, 0);
  /* the token byte flip of the brief */
  memcpy(bad, r, rl);
  bad[rl - 17] ^= 0x80;
  CHECK_EQ_INT(tern_quic_retry_verify(vs->version, odcid, dcid_len, bad, rl),
               TERN_ERR_DECRYPT);
  /* a different ODCID */
  {
    uint8_t o2[8];
    memcpy(o2, odcid, 8);
    o2[7] ^= 1;
    CHECK_EQ_INT(tern_quic_retry_verify(vs->version, o2, 8, r, rl), TERN_ERR_DECRYPT);
  }
  /* the other version's key */
  uint32_t ov = vs->version == TERN_QUIC_V1 ? TERN_QUIC_V2 : TERN_QUIC_V1;
  CHECK(tern_quic_retry_verify(ov, odcid, dcid_len, r, rl) < 0);
  /* too short / truncated */
  for (size_t l = 0; l < 16 + 15; l++) {
    uint8_t *p = malloc(l ? l : 1);
    memcpy(p, r, l);
    CHECK(tern_quic_retry_verify(vs->version, odcid, dcid_len, p, l) < 0);
    free(p);
  }
  /* not a Retry: an Initial of the same version */
  {
    size_t pl;
    const uint8_t *p = vget(vs->file, "client initial protected packet", &pl);
    CHECK_EQ_INT(tern_quic_retry_verify(vs->version, odcid, dcid_len, p, pl),
                 TERN_ERR_MALFORMED);
  }
  CHECK_EQ_INT(tern_quic_retry_tag(0x12345678, odcid, dcid_len, r, rl - 16, tag),
               TERN_ERR_UNSUPPORTED);
  CHECK_EQ_INT(tern_quic_retry_tag(vs->version, NULL, 8, r, rl - 16, tag),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_retry_tag(vs->version, odcid, 21, r, rl - 16, tag),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_retry_tag(vs->version, odcid, dcid_len, NULL, 5, tag),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_retry_tag(vs->version, odcid, dcid_len, r, rl - 16, NULL),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_retry_verify(vs->version, odcid, dcid_len, NULL, rl),
               TERN_ERR_INVALID_ARG);
  free(bad);
}

/*
 * The ChaCha20-Poly1305 short header packet: keys, key update, mask,
 * seal, the whole protected packet and its unprotection.
 */
static void test_chacha(const vset *vs) {
  size_t n, sl, kl, hl, pktl;
  const uint8_t *secret = vget(vs->file, "chacha20 short header secret", &sl);
  uint8_t key[32], iv[12], hp[32], next[32], nonce[12];
  const uint64_t pn = 654360564;

  CHECK_EQ_INT(sl, 32);
  CHECK_EQ_INT(tern_quic_derive_keys(vs->version, TERN_TLS_CHACHA20_POLY1305_SHA256,
                                     secret, sl, key, &kl, iv, hp, &hl),
               TERN_OK);
  CHECK_EQ_INT(kl, 32);
  CHECK_EQ_INT(hl, 32);
  CHECK_MEM(key, vget(vs->file, "chacha20 short header key", &n), 32);
  CHECK_MEM(iv, vget(vs->file, "chacha20 short header iv", &n), 12);
  CHECK_MEM(hp, vget(vs->file, "chacha20 short header hp", &n), 32);

  /* key update: next_secret equals the "ku" vector, also in place */
  const uint8_t *ku = vget(vs->file, "chacha20 short header ku", &n);
  CHECK_EQ_INT(tern_quic_next_secret(vs->version, TERN_TLS_CHACHA20_POLY1305_SHA256,
                                     secret, sl, next),
               TERN_OK);
  CHECK_MEM(next, ku, 32);
  memcpy(next, secret, 32);
  CHECK_EQ_INT(tern_quic_next_secret(vs->version, TERN_TLS_CHACHA20_POLY1305_SHA256,
                                     next, 32, next),
               TERN_OK);
  CHECK_MEM(next, ku, 32);

  /* the nonce of the vector is iv ^ pn (RFC 9001 §5.3) */
  const uint8_t *pnv = vget(vs->file, "chacha20 short header pn", &n);
  CHECK_EQ_INT(n, 4);
  CHECK_EQ_INT(((uint64_t)pnv[0] << 24 | (uint64_t)pnv[1] << 16 |
                (uint64_t)pnv[2] << 8 | pnv[3]),
               pn);
  memcpy(nonce, iv, 12);
  for (int i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
  CHECK_MEM(nonce, vget(vs->file, "chacha20 short header nonce", &n), 12);

  tern_quic_key *k = tern_quic_key_new(vs->version, TERN_TLS_CHACHA20_POLY1305_SHA256,
                                       secret, sl);
  CHECK(k != NULL);
  if (k == NULL) return;

  uint8_t mask[5];
  CHECK_EQ_INT(tern_quic_hp_mask(k, vget(vs->file, "chacha20 short header sample", &n),
                                 mask),
               TERN_OK);
  CHECK_MEM(mask, vget(vs->file, "chacha20 short header mask", &n), 5);

  size_t hdr_len, pl_len;
  const uint8_t *hdr = vget(vs->file, "chacha20 short header unprotected header", &hdr_len);
  const uint8_t *pl = vget(vs->file, "chacha20 short header payload plaintext", &pl_len);
  const uint8_t *ct = vget(vs->file, "chacha20 short header payload ciphertext", &n);
  CHECK_EQ_INT(n, pl_len + 16);
  uint8_t sealed[64];
  CHECK_EQ_INT(tern_quic_seal(k, pn, hdr, hdr_len, pl, pl_len, sealed), TERN_OK);
  CHECK_MEM(sealed, ct, pl_len + 16);

  const uint8_t *want = vget(vs->file, "chacha20 short header packet", &pktl);
  uint8_t pkt[64], out[64];
  size_t out_len;
  memcpy(pkt, hdr, hdr_len);
  memcpy(pkt + hdr_len, pl, pl_len);
  CHECK_EQ_INT(tern_quic_protect(k, pn, pkt, hdr_len, pl_len, sizeof pkt, &out_len),
               TERN_OK);
  CHECK_EQ_INT(out_len, pktl);
  CHECK_MEM(pkt, want, pktl);

  tern_quic_packet_info info;
  CHECK_EQ_INT(tern_quic_unprotect(k, want, pktl, 0, pn - 1, out, &info), TERN_OK);
  CHECK_EQ_INT(info.pn, pn);
  CHECK_EQ_INT(info.hdr_len, hdr_len);
  CHECK_EQ_INT(info.payload_len, pl_len);
  CHECK_EQ_INT(info.packet_len, pktl);
  CHECK_EQ_INT(info.version, 0);
  CHECK_EQ_INT(info.long_header, 0);
  CHECK_MEM(out, hdr, hdr_len);
  CHECK_MEM(out + hdr_len, pl, pl_len);
  /* also with largest_pn a little ahead of the packet */
  CHECK_EQ_INT(tern_quic_unprotect(k, want, pktl, 0, pn + 1000, out, &info), TERN_OK);
  CHECK_EQ_INT(info.pn, pn);
  /* with none received yet the 3-byte truncated value is taken as is */
  CHECK_EQ_INT(tern_quic_unprotect(k, want, pktl, 0, UINT64_MAX, out, &info),
               TERN_ERR_DECRYPT);

  tamper_all(k, want, pktl, 0, pn - 1);
  /* one byte short of a sample */
  expect_unprotect_fails(k, want, pktl - 1, 0, pn - 1, TERN_ERR_MALFORMED);
  tern_quic_key_free(k);
}

/* ------------------------------------------------------------------ */
/* Beyond the vectors                                                  */
/* ------------------------------------------------------------------ */

/*
 * Builds a short header packet (0x40 | pn_len-1, dcid, pn) with a
 * patterned payload, protects it, and checks the unprotected round trip
 * and a tampered copy. Returns the protected length.
 */
static void roundtrip_short(tern_quic_key *k, uint64_t pn, size_t pn_len,
                            uint64_t largest, size_t payload_len) {
  uint8_t pkt[1500], plain[1500], out[1500];
  static const uint8_t dcid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  size_t hdr_len = 1 + sizeof dcid + pn_len, total;
  tern_quic_packet_info info;

  pkt[0] = (uint8_t)(0x40 | (pn_len - 1));
  memcpy(pkt + 1, dcid, sizeof dcid);
  for (size_t i = 0; i < pn_len; i++)
    pkt[1 + sizeof dcid + i] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));
  for (size_t i = 0; i < payload_len; i++) pkt[hdr_len + i] = (uint8_t)(i * 7 + 1);
  memcpy(plain, pkt, hdr_len + payload_len);

  CHECK_EQ_INT(tern_quic_protect(k, pn, pkt, hdr_len, payload_len, sizeof pkt, &total),
               TERN_OK);
  CHECK_EQ_INT(total, hdr_len + payload_len + 16);
  CHECK_EQ_INT(tern_quic_unprotect(k, pkt, total, sizeof dcid, largest, out, &info),
               TERN_OK);
  CHECK_EQ_INT(info.pn, pn);
  CHECK_EQ_INT(info.hdr_len, hdr_len);
  CHECK_EQ_INT(info.payload_len, payload_len);
  CHECK_EQ_INT(info.packet_len, total);
  CHECK_EQ_INT(info.long_header, 0);
  CHECK_MEM(out, plain, hdr_len + payload_len);
  pkt[total / 2] ^= 0x10;
  expect_unprotect_fails(k, pkt, total, sizeof dcid, largest, TERN_ERR_DECRYPT);
}

/* AES-256-GCM (suite 0x1302, 48-byte SHA-384 secret), both versions. */
static void test_aes256(void) {
  uint8_t secret[48], key[32], iv[12], hp[32], next[48];
  size_t kl, hl;
  for (size_t i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)(0xa0 + i);

  static const uint32_t versions[2] = {TERN_QUIC_V1, TERN_QUIC_V2};
  for (int v = 0; v < 2; v++) {
    CHECK_EQ_INT(tern_quic_derive_keys(versions[v], TERN_TLS_AES_256_GCM_SHA384,
                                       secret, 48, key, &kl, iv, hp, &hl),
                 TERN_OK);
    CHECK_EQ_INT(kl, 32);
    CHECK_EQ_INT(hl, 32);
    CHECK_EQ_INT(tern_quic_next_secret(versions[v], TERN_TLS_AES_256_GCM_SHA384,
                                       secret, 48, next),
                 TERN_OK);
    CHECK(memcmp(next, secret, 48) != 0);
    /* a 32-byte secret is the wrong length for SHA-384 */
    CHECK_EQ_INT(tern_quic_derive_keys(versions[v], TERN_TLS_AES_256_GCM_SHA384,
                                       secret, 32, key, &kl, iv, hp, &hl),
                 TERN_ERR_INVALID_ARG);
    CHECK(tern_quic_key_new(versions[v], TERN_TLS_AES_256_GCM_SHA384, secret, 32) == NULL);

    tern_quic_key *k = tern_quic_key_new(versions[v], TERN_TLS_AES_256_GCM_SHA384,
                                         secret, 48);
    CHECK(k != NULL);
    if (k == NULL) continue;
    roundtrip_short(k, 0, 1, UINT64_MAX, 1200);
    roundtrip_short(k, 77, 4, 76, 1200);
    roundtrip_short(k, 0x123456, 3, 0x123400, 40);
    roundtrip_short(k, 5, 1, 4, 3); /* minimum payload to sample with pn_len 1 */

    /* keys of different versions do not open each other's packets */
    tern_quic_key *o = tern_quic_key_new(versions[!v], TERN_TLS_AES_256_GCM_SHA384,
                                         secret, 48);
    uint8_t pkt[100], out[100];
    size_t total;
    memset(pkt, 0, sizeof pkt);
    pkt[0] = 0x43;
    CHECK_EQ_INT(tern_quic_protect(k, 0, pkt, 5, 40, sizeof pkt, &total), TERN_OK);
    expect_unprotect_fails(o, pkt, total, 0, UINT64_MAX, TERN_ERR_DECRYPT);
    tern_quic_packet_info info;
    CHECK_EQ_INT(tern_quic_unprotect(k, pkt, total, 0, UINT64_MAX, out, &info), TERN_OK);
    tern_quic_key_free(o);
    tern_quic_key_free(k);
  }
}

/*
 * Long header packets of every protected type for both versions, walked
 * as one coalesced datagram through info.packet_len: Initial (with a
 * token), 0-RTT, Handshake, then a short header packet.
 */
static void test_coalesced(void) {
  static const uint32_t versions[2] = {TERN_QUIC_V1, TERN_QUIC_V2};
  /* type bits per version for Initial, 0-RTT, Handshake */
  static const uint8_t type_bits[2][3] = {{0, 1, 2}, {1, 2, 3}};
  uint8_t secret[32];
  for (size_t i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)(3 * i);

  for (int v = 0; v < 2; v++) {
    tern_quic_key *k = tern_quic_key_new(versions[v], TERN_TLS_AES_128_GCM_SHA256,
                                         secret, 32);
    CHECK(k != NULL);
    if (k == NULL) continue;
    uint8_t dgram[1500], plain[1500], out[1500];
    size_t off = 0, starts[5], hdrs[5], pls[5];
    uint64_t pns[5];
    int np = 0;
    for (int t = 0; t < 3; t++) {
      uint8_t *p = dgram + off;
      size_t h = 0, payload_len = 30 + 10 * (size_t)t, total;
      uint64_t pn = 100 + (uint64_t)t;
      p[h++] = (uint8_t)(0xc0 | (type_bits[v][t] << 4) | 0x01); /* pn_len 2 */
      p[h++] = (uint8_t)(versions[v] >> 24);
      p[h++] = (uint8_t)(versions[v] >> 16);
      p[h++] = (uint8_t)(versions[v] >> 8);
      p[h++] = (uint8_t)versions[v];
      p[h++] = 4; /* DCID */
      memcpy(p + h, "\xde\xad\xbe\xef", 4);
      h += 4;
      p[h++] = 3; /* SCID */
      memcpy(p + h, "\x01\x02\x03", 3);
      h += 3;
      if (t == 0) { /* token of 5 bytes */
        p[h++] = 5;
        memcpy(p + h, "token", 5);
        h += 5;
      }
      size_t length = 2 + payload_len + 16;
      p[h++] = (uint8_t)(0x40 | (length >> 8)); /* 2-byte varint */
      p[h++] = (uint8_t)length;
      p[h++] = (uint8_t)(pn >> 8);
      p[h++] = (uint8_t)pn;
      for (size_t i = 0; i < payload_len; i++) p[h + i] = (uint8_t)(i + (size_t)t);
      memcpy(plain + off, p, h + payload_len);
      CHECK_EQ_INT(tern_quic_protect(k, pn, p, h, payload_len, sizeof dgram - off, &total),
                   TERN_OK);
      starts[np] = off;
      hdrs[np] = h;
      pls[np] = payload_len;
      pns[np] = pn;
      np++;
      off += total;
    }
    /* a short header packet to finish the datagram */
    {
      uint8_t *p = dgram + off;
      size_t total;
      p[0] = 0x40;
      memcpy(p + 1, "\xde\xad\xbe\xef", 4);
      p[5] = 9;
      memset(p + 6, 0x11, 50);
      memcpy(plain + off, p, 56);
      CHECK_EQ_INT(tern_quic_protect(k, 9, p, 6, 50, sizeof dgram - off, &total), TERN_OK);
      starts[np] = off;
      hdrs[np] = 6;
      pls[np] = 50;
      pns[np] = 9;
      np++;
      off += total;
    }
    /* walk */
    size_t pos = 0;
    for (int i = 0; i < np; i++) {
      tern_quic_packet_info info;
      CHECK_EQ_INT(pos, starts[i]);
      int rc = tern_quic_unprotect(k, dgram + pos, off - pos, 4, UINT64_MAX, out, &info);
      CHECK_EQ_INT(rc, TERN_OK);
      if (rc != TERN_OK) break;
      CHECK_EQ_INT(info.pn, pns[i]);
      CHECK_EQ_INT(info.hdr_len, hdrs[i]);
      CHECK_EQ_INT(info.payload_len, pls[i]);
      CHECK_EQ_INT(info.long_header, i < 3);
      CHECK_EQ_INT(info.version, i < 3 ? versions[v] : 0);
      CHECK_MEM(out, plain + starts[i], hdrs[i] + pls[i]);
      pos += info.packet_len;
    }
    CHECK_EQ_INT(pos, off);
    tern_quic_key_free(k);
  }
}

/*
 * Packet number decoding (RFC 9000 §A.3), through short header packets
 * with 1-, 2- and 4-byte packet numbers, including the RFC's example.
 */
static void test_pn_decode(void) {
  uint8_t secret[32] = {7};
  tern_quic_key *k = tern_quic_key_new(TERN_QUIC_V1, TERN_TLS_AES_128_GCM_SHA256,
                                       secret, 32);
  CHECK(k != NULL);
  if (k == NULL) return;
  /* RFC 9000 §A.3: largest 0xa82f30ea, truncated 0x9b32 -> 0xa82f9b32 */
  roundtrip_short(k, 0xa82f9b32, 2, 0xa82f30ea, 30);
  /* around the window edges */
  roundtrip_short(k, 0, 1, UINT64_MAX, 30);
  roundtrip_short(k, 1, 1, 0, 30);
  roundtrip_short(k, 200, 1, 100, 30);
  roundtrip_short(k, 255, 1, 200, 30);
  roundtrip_short(k, 256, 1, 255, 30);
  roundtrip_short(k, 300, 1, 250, 30);
  roundtrip_short(k, 100, 1, 200, 30);     /* late packet, below largest */
  roundtrip_short(k, 65536 + 5, 2, 65530, 30);
  roundtrip_short(k, ((uint64_t)1 << 62) - 1, 4, ((uint64_t)1 << 62) - 2, 30);
  roundtrip_short(k, ((uint64_t)1 << 32) + 3, 4, ((uint64_t)1 << 32) - 10, 30);
  tern_quic_key_free(k);
}

/* Argument checks of every entry point. */
static void test_args(void) {
  uint8_t s32[32] = {1}, cs[32], ss[32], key[32], iv[12], hp[32], buf[128];
  size_t kl, hl, total;
  tern_quic_packet_info info;
  static const uint8_t dcid[8] = {0};

  CHECK_EQ_INT(tern_quic_initial_secrets(TERN_QUIC_V1, dcid, 8, NULL, ss),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_initial_secrets(TERN_QUIC_V1, dcid, 8, cs, NULL),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_initial_secrets(TERN_QUIC_V1, NULL, 8, cs, ss),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_initial_secrets(TERN_QUIC_V1, dcid, 21, cs, ss),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_initial_secrets(0xff00001d, dcid, 8, cs, ss),
               TERN_ERR_UNSUPPORTED);
  CHECK_EQ_INT(tern_quic_initial_secrets(TERN_QUIC_V1, NULL, 0, cs, ss), TERN_OK);

  CHECK_EQ_INT(tern_quic_derive_keys(TERN_QUIC_V1, 0x1306, s32, 32, key, &kl, iv,
                                     hp, &hl),
               TERN_ERR_UNSUPPORTED);
  CHECK_EQ_INT(tern_quic_derive_keys(7, 0x1301, s32, 32, key, &kl, iv, hp, &hl),
               TERN_ERR_UNSUPPORTED);
  CHECK_EQ_INT(tern_quic_derive_keys(TERN_QUIC_V1, 0x1301, s32, 31, key, &kl, iv,
                                     hp, &hl),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_derive_keys(TERN_QUIC_V1, 0x1301, NULL, 32, key, &kl, iv,
                                     hp, &hl),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_derive_keys(TERN_QUIC_V1, 0x1301, s32, 32, NULL, &kl, iv,
                                     hp, &hl),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_derive_keys(TERN_QUIC_V1, 0x1301, s32, 32, key, NULL, iv,
                                     hp, &hl),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_derive_keys(TERN_QUIC_V1, 0x1301, s32, 32, key, &kl, NULL,
                                     hp, &hl),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_derive_keys(TERN_QUIC_V1, 0x1301, s32, 32, key, &kl, iv,
                                     NULL, &hl),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_derive_keys(TERN_QUIC_V1, 0x1301, s32, 32, key, &kl, iv,
                                     hp, NULL),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_next_secret(TERN_QUIC_V1, 0x1301, s32, 32, NULL),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_next_secret(TERN_QUIC_V1, 0x1301, NULL, 32, ss),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_next_secret(TERN_QUIC_V1, 0x1302, s32, 32, ss),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_next_secret(2, 0x1301, s32, 32, ss), TERN_ERR_UNSUPPORTED);

  CHECK(tern_quic_key_new(TERN_QUIC_V1, 0x1301, NULL, 32) == NULL);
  CHECK(tern_quic_key_new(TERN_QUIC_V1, 0x1301, s32, 0) == NULL);
  CHECK(tern_quic_key_new(TERN_QUIC_V1, 0x0005, s32, 32) == NULL);
  CHECK(tern_quic_key_new(0x0a0a0a0a, 0x1301, s32, 32) == NULL);
  tern_quic_key_free(NULL);

  tern_quic_key *k = tern_quic_key_new(TERN_QUIC_V1, 0x1301, s32, 32);
  CHECK(k != NULL);
  if (k == NULL) return;
  uint8_t mask[5];
  CHECK_EQ_INT(tern_quic_hp_mask(NULL, buf, mask), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_hp_mask(k, NULL, mask), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_hp_mask(k, buf, NULL), TERN_ERR_INVALID_ARG);

  memset(buf, 0, sizeof buf);
  CHECK_EQ_INT(tern_quic_seal(NULL, 0, buf, 4, buf, 4, buf), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_seal(k, 0, NULL, 4, buf, 4, buf), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_seal(k, 0, buf, 4, NULL, 4, buf), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_seal(k, 0, buf, 4, buf, 4, NULL), TERN_ERR_INVALID_ARG);
  /* empty AD and empty payload are fine */
  CHECK_EQ_INT(tern_quic_seal(k, 0, NULL, 0, NULL, 0, buf), TERN_OK);
  CHECK_EQ_INT(tern_quic_open(k, 0, NULL, 0, buf, 16, buf + 32), TERN_OK);
  CHECK_EQ_INT(tern_quic_open(k, 0, NULL, 0, buf, 15, buf + 32), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_open(NULL, 0, NULL, 0, buf, 16, buf + 32), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_open(k, 0, NULL, 0, NULL, 16, buf + 32), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_open(k, 0, NULL, 0, buf, 16, NULL), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_open(k, 1, NULL, 0, buf, 16, buf + 32), TERN_ERR_DECRYPT);

  /* protect: buffer too small, too short to sample, pn mismatch */
  memset(buf, 0, sizeof buf);
  buf[0] = 0x40; /* pn_len 1: pn offset 1, the sample needs 21 bytes */
  CHECK_EQ_INT(tern_quic_protect(k, 0, buf, 2, 2, sizeof buf, &total),
               TERN_ERR_MALFORMED);
  buf[0] = 0x43;
  CHECK_EQ_INT(tern_quic_protect(k, 0, buf, 5, 40, 5 + 40 + 15, &total),
               TERN_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(tern_quic_protect(k, 1, buf, 5, 40, sizeof buf, &total),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_protect(k, 0, buf, 3, 40, sizeof buf, &total),
               TERN_ERR_INVALID_ARG); /* header shorter than 1 + pn_len */
  CHECK_EQ_INT(tern_quic_protect(k, 0, buf, 0, 40, sizeof buf, &total),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_protect(NULL, 0, buf, 5, 40, sizeof buf, &total),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_protect(k, 0, NULL, 5, 40, sizeof buf, &total),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_protect(k, 0, buf, 5, 40, sizeof buf, NULL),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_protect(k, (uint64_t)1 << 62, buf, 5, 40, sizeof buf, &total),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_protect(k, 0, buf, 5, SIZE_MAX - 8, sizeof buf, &total),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_protect(k, 0, buf, 5, 4, sizeof buf, &total), TERN_OK);
  CHECK_EQ_INT(total, 5 + 4 + 16);

  /* unprotect */
  uint8_t out[128];
  CHECK_EQ_INT(tern_quic_unprotect(k, buf, total, 0, 0, NULL, &info),
               TERN_ERR_INVALID_ARG);
  memset(out, 0xaa, sizeof out);
  CHECK_EQ_INT(tern_quic_unprotect(NULL, buf, total, 0, 0, out, &info),
               TERN_ERR_INVALID_ARG);
  CHECK(all_zero(out, total));
  CHECK_EQ_INT(tern_quic_unprotect(k, NULL, total, 0, 0, out, &info),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_unprotect(k, buf, total, 0, 0, out, NULL),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_unprotect(k, buf, total, 0, (uint64_t)1 << 62, out, &info),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_quic_unprotect(k, buf, total, 0, UINT64_MAX, out, &info), TERN_OK);
  CHECK_EQ_INT(info.payload_len, 4);
  tern_quic_key_free(k);
}

/*
 * Key update (RFC 9001 §6): the next phase keeps the header-protection
 * key, so a receiver holding the current key can read the Key Phase bit,
 * and only the new phase's key opens the packet.
 */
static void test_key_update(void) {
  uint8_t secret[32], next[32], pkt[128], fresh_pkt[128], out[128];
  size_t pkt_len, fresh_len;
  tern_quic_packet_info info;
  for (size_t i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)(i * 7 + 1);
  uint16_t suite = TERN_TLS_CHACHA20_POLY1305_SHA256;
  tern_quic_key *gen0 = tern_quic_key_new(TERN_QUIC_V1, suite, secret, 32);
  CHECK_EQ_INT(tern_quic_next_secret(TERN_QUIC_V1, suite, secret, 32, next), TERN_OK);
  tern_quic_key *gen1 = tern_quic_key_update(gen0, next, 32);
  tern_quic_key *fresh = tern_quic_key_new(TERN_QUIC_V1, suite, next, 32);
  CHECK(gen0 && gen1 && fresh);
  CHECK(tern_quic_key_update(NULL, next, 32) == NULL);
  for (int phase = 0; phase <= 1; phase++) {
    tern_quic_key *k = phase ? gen1 : gen0;
    memset(pkt, 0x01, sizeof pkt);
    pkt[0] = (uint8_t)(0x40 | (phase << 2) | 0x01); /* 2-byte pn */
    pkt[1] = 0x00;
    pkt[2] = 0x07;
    memcpy(fresh_pkt, pkt, sizeof pkt);
    CHECK_EQ_INT(tern_quic_protect(k, 7, pkt, 3, 30, sizeof pkt, &pkt_len), TERN_OK);
    /* the bit can be read with either generation: same HP key */
    CHECK_EQ_INT(tern_quic_peek_key_phase(gen0, pkt, pkt_len, 0), phase);
    CHECK_EQ_INT(tern_quic_peek_key_phase(gen1, pkt, pkt_len, 0), phase);
    CHECK_EQ_INT(tern_quic_unprotect(phase ? gen0 : gen1, pkt, pkt_len, 0, 6, out, &info),
                 TERN_ERR_DECRYPT);
    CHECK_EQ_INT(tern_quic_unprotect(k, pkt, pkt_len, 0, 6, out, &info), TERN_OK);
    CHECK_EQ_INT(info.pn, 7);
    if (phase) {
      /* a key made from the next secret alone would change header protection */
      CHECK_EQ_INT(tern_quic_protect(fresh, 7, fresh_pkt, 3, 30, sizeof fresh_pkt, &fresh_len), TERN_OK);
      CHECK(fresh_len == pkt_len && memcmp(fresh_pkt + 3, pkt + 3, pkt_len - 3) == 0);
      CHECK(memcmp(fresh_pkt, pkt, 3) != 0);
    }
  }
  CHECK_EQ_INT(tern_quic_peek_key_phase(gen0, pkt, 10, 0), TERN_ERR_MALFORMED);
  tern_quic_key_free(gen0);
  tern_quic_key_free(gen1);
  tern_quic_key_free(fresh);
}

/* ------------------------------------------------------------------ */
/* AES-128-CCM (RFC 9001 §5.3), and AES-128-CCM-8 refused              */
/* ------------------------------------------------------------------ */

/*
 * ref_protect_short: a short header packet protected by hand from RFC
 * 9001 §5.3-5.4 with libcrypto's one-shot objects and the key, IV and HP
 * key tern_quic_derive_keys gives: AES-128-CCM with a 16-byte tag over
 * the header, then the mask AES-128-ECB(hp, sample)[0..5). pkt holds the
 * unprotected header and payload; returns the packet length.
 */
static size_t ref_protect_short(uint32_t version, const uint8_t *secret, uint64_t pn,
                                uint8_t *pkt, size_t hdr_len, size_t payload_len) {
  uint8_t key[32], iv[12], hp[32], nonce[12], mask[16];
  size_t kl, hl, pn_len = (size_t)(pkt[0] & 3) + 1, pn_off = hdr_len - pn_len;
  int l = 0;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (tern_quic_derive_keys(version, TERN_TLS_AES_128_CCM_SHA256, secret, 32, key, &kl, iv,
                            hp, &hl) != TERN_OK || kl != 16 || hl != 16 || ctx == NULL)
    abort();
  memcpy(nonce, iv, 12);
  for (int i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
  if (!EVP_EncryptInit_ex(ctx, EVP_aes_128_ccm(), NULL, NULL, NULL) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) <= 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, NULL) <= 0 ||
      !EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) ||
      !EVP_EncryptUpdate(ctx, NULL, &l, NULL, (int)payload_len) ||
      !EVP_EncryptUpdate(ctx, NULL, &l, pkt, (int)hdr_len) ||
      !EVP_EncryptUpdate(ctx, pkt + hdr_len, &l, pkt + hdr_len, (int)payload_len) ||
      !EVP_EncryptFinal_ex(ctx, pkt + hdr_len + payload_len, &l) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, pkt + hdr_len + payload_len) <= 0 ||
      !EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, hp, NULL) ||
      !EVP_EncryptUpdate(ctx, mask, &l, pkt + pn_off + 4, 16))
    abort();
  EVP_CIPHER_CTX_free(ctx);
  pkt[0] ^= mask[0] & 0x1f;
  for (size_t i = 0; i < pn_len; i++) pkt[pn_off + i] ^= mask[1 + i];
  return hdr_len + payload_len + 16;
}

/*
 * TLS_AES_128_CCM_SHA256 in QUIC, both versions: keys of the suite's
 * length, packets byte for byte as the hand-made ones, round trips,
 * every bit flip refused, packets of another key refused, key update.
 */
static void test_ccm(void) {
  static const uint32_t versions[2] = {TERN_QUIC_V1, TERN_QUIC_V2};
  uint8_t secret[32], next[32], key[32], iv[12], hp[32];
  size_t kl, hl;
  for (size_t i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)(0x5c ^ (i * 29));

  for (int v = 0; v < 2; v++) {
    CHECK_EQ_INT(tern_quic_derive_keys(versions[v], TERN_TLS_AES_128_CCM_SHA256, secret, 32,
                                       key, &kl, iv, hp, &hl),
                 TERN_OK);
    CHECK_EQ_INT(kl, 16);
    CHECK_EQ_INT(hl, 16);
    tern_quic_key *k = tern_quic_key_new(versions[v], TERN_TLS_AES_128_CCM_SHA256, secret, 32);
    CHECK(k != NULL);
    if (k == NULL) continue;
    /* the same bytes as the hand-made packet, at several payload sizes */
    static const size_t sizes[] = {3, 16, 17, 100, 1200};
    for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
      uint8_t pkt[1300], want[1300], out[1300];
      size_t total, hdr_len = 1 + 8 + 2;
      uint64_t pn = 0x1234 + j;
      tern_quic_packet_info info;
      memset(pkt, 0, sizeof pkt);
      pkt[0] = 0x41; /* short header, 2-byte packet number */
      for (int b = 0; b < 8; b++) pkt[1 + b] = (uint8_t)(0xd0 + b);
      pkt[9] = (uint8_t)(pn >> 8);
      pkt[10] = (uint8_t)pn;
      for (size_t b = 0; b < sizes[j]; b++) pkt[hdr_len + b] = (uint8_t)(b * 13 + j);
      memcpy(want, pkt, hdr_len + sizes[j]);
      CHECK_EQ_INT(ref_protect_short(versions[v], secret, pn, want, hdr_len, sizes[j]),
                   hdr_len + sizes[j] + 16);
      CHECK_EQ_INT(tern_quic_protect(k, pn, pkt, hdr_len, sizes[j], sizeof pkt, &total),
                   TERN_OK);
      CHECK_EQ_INT(total, hdr_len + sizes[j] + 16);
      CHECK_MEM(pkt, want, total);
      CHECK_EQ_INT(tern_quic_unprotect(k, pkt, total, 8, pn - 1, out, &info), TERN_OK);
      CHECK_EQ_INT(info.pn, pn);
      CHECK_EQ_INT(info.payload_len, sizes[j]);
      for (size_t b = 0; b < sizes[j]; b++)
        if (out[hdr_len + b] != (uint8_t)(b * 13 + j)) {
          CHECK(0);
          break;
        }
      if (j == 1) tamper_all(k, pkt, total, 8, pn - 1);
    }
    roundtrip_short(k, 0, 1, UINT64_MAX, 1200);
    roundtrip_short(k, 77, 4, 76, 1200);
    roundtrip_short(k, 5, 1, 4, 3); /* minimum payload to sample with pn_len 1 */
    /* an empty payload seals to a bare tag and opens again */
    {
      uint8_t ad[4] = {1, 2, 3, 4}, sealed[16], opened[1];
      CHECK_EQ_INT(tern_quic_seal(k, 9, ad, 4, NULL, 0, sealed), TERN_OK);
      CHECK_EQ_INT(tern_quic_open(k, 9, ad, 4, sealed, 16, opened), TERN_OK);
      sealed[15] ^= 1;
      CHECK_EQ_INT(tern_quic_open(k, 9, ad, 4, sealed, 16, opened), TERN_ERR_DECRYPT);
    }
    /* AES-128-GCM keys from the same secret do not open CCM packets */
    {
      tern_quic_key *g = tern_quic_key_new(versions[v], TERN_TLS_AES_128_GCM_SHA256, secret, 32);
      uint8_t pkt[100];
      size_t total;
      memset(pkt, 0, sizeof pkt);
      pkt[0] = 0x43;
      CHECK_EQ_INT(tern_quic_protect(k, 0, pkt, 5, 40, sizeof pkt, &total), TERN_OK);
      expect_unprotect_fails(g, pkt, total, 0, UINT64_MAX, TERN_ERR_DECRYPT);
      tern_quic_key_free(g);
    }
    /* key update keeps AES header protection and changes the AEAD key */
    {
      tern_quic_key *k1;
      uint8_t a[64], b[64], out[64];
      size_t la, lb;
      tern_quic_packet_info info;
      CHECK_EQ_INT(tern_quic_next_secret(versions[v], TERN_TLS_AES_128_CCM_SHA256, secret, 32,
                                         next),
                   TERN_OK);
      k1 = tern_quic_key_update(k, next, 32);
      CHECK(k1 != NULL);
      memset(a, 0x22, sizeof a);
      a[0] = 0x44; /* key phase 1, 1-byte pn */
      a[1] = 3;
      memcpy(b, a, sizeof a);
      CHECK_EQ_INT(tern_quic_protect(k1, 3, a, 2, 30, sizeof a, &la), TERN_OK);
      CHECK_EQ_INT(tern_quic_peek_key_phase(k, a, la, 0), 1);
      CHECK_EQ_INT(tern_quic_unprotect(k, a, la, 0, 2, out, &info), TERN_ERR_DECRYPT);
      CHECK_EQ_INT(tern_quic_unprotect(k1, a, la, 0, 2, out, &info), TERN_OK);
      CHECK_EQ_INT(tern_quic_protect(k, 3, b, 2, 30, sizeof b, &lb), TERN_OK);
      CHECK(la == lb && memcmp(a + 2, b + 2, la - 2) != 0);
      tern_quic_key_free(k1);
    }
    tern_quic_key_free(k);
  }
}

/*
 * RFC 9001 §5.3: QUIC never uses TLS_AES_128_CCM_8_SHA256. Every QUIC
 * call that takes a suite refuses it, whatever the version, while the
 * same secret is fine for TLS_AES_128_CCM_SHA256.
 */
static void test_ccm8_refused(void) {
  static const uint32_t versions[2] = {TERN_QUIC_V1, TERN_QUIC_V2};
  uint8_t secret[32], key[32], iv[12], hp[32], next[32];
  size_t kl = 99, hl = 99;
  memset(secret, 0x42, sizeof secret);
  for (int v = 0; v < 2; v++) {
    CHECK(tern_quic_key_new(versions[v], TERN_TLS_AES_128_CCM_8_SHA256, secret, 32) == NULL);
    CHECK_EQ_INT(tern_quic_derive_keys(versions[v], TERN_TLS_AES_128_CCM_8_SHA256, secret, 32,
                                       key, &kl, iv, hp, &hl),
                 TERN_ERR_UNSUPPORTED);
    CHECK_EQ_INT(kl, 99);
    CHECK_EQ_INT(tern_quic_next_secret(versions[v], TERN_TLS_AES_128_CCM_8_SHA256, secret, 32,
                                       next),
                 TERN_ERR_UNSUPPORTED);
    tern_quic_key *ok = tern_quic_key_new(versions[v], TERN_TLS_AES_128_CCM_SHA256, secret, 32);
    CHECK(ok != NULL);
    tern_quic_key_free(ok);
  }
}

/*
 * Once a key is made, protecting and unprotecting packets (tampered ones
 * too) allocate nothing in libcrypto, in every suite QUIC allows.
 */
static void test_no_allocation(void) {
  static const uint16_t suites[4] = {TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_256_GCM_SHA384,
                                     TERN_TLS_CHACHA20_POLY1305_SHA256,
                                     TERN_TLS_AES_128_CCM_SHA256};
  uint8_t secret[48];
  memset(secret, 0x17, sizeof secret);
  for (int s = 0; s < 4; s++) {
    size_t sl = suites[s] == TERN_TLS_AES_256_GCM_SHA384 ? 48 : 32;
    tern_quic_key *k = tern_quic_key_new(TERN_QUIC_V1, suites[s], secret, sl);
    unsigned long before;
    int bad = 0;
    CHECK(k != NULL);
    if (k == NULL) continue;
    CHECK(crypto_allocs > 0); /* the counter is live */
    before = crypto_allocs;
    for (int i = 0; i < 300; i++) {
      uint8_t pkt[1300], out[1300];
      size_t total;
      tern_quic_packet_info info;
      memset(pkt, i, sizeof pkt);
      pkt[0] = 0x40;
      pkt[1] = (uint8_t)i;
      if (tern_quic_protect(k, (uint64_t)(i & 0xff), pkt, 2, 20 + (size_t)i, sizeof pkt,
                            &total) != TERN_OK ||
          tern_quic_unprotect(k, pkt, total, 0, UINT64_MAX, out, &info) != TERN_OK)
        bad++;
      pkt[total - 1] ^= 1;
      if (tern_quic_unprotect(k, pkt, total, 0, UINT64_MAX, out, &info) != TERN_ERR_DECRYPT)
        bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(crypto_allocs - before, 0);
    tern_quic_key_free(k);
  }
}

/*
 * The AEAD through the provider's own functions (tern_aead_direct_*,
 * which QUIC keys use for AES-GCM and ChaCha20-Poly1305) against the EVP
 * path of tern_aead_seal/open on the same key: the same bytes at every
 * size around the block and the stitched-loop boundaries, each opening
 * the other's output, a flipped bit refused with the output wiped, in
 * place too; and no direct path for AES-CCM.
 */
static void test_direct_aead(void) {
  static const uint16_t suites[] = {TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_256_GCM_SHA384,
                                    TERN_TLS_CHACHA20_POLY1305_SHA256};
  static const size_t sizes[] = {0, 1, 15, 16, 17, 63, 64, 95, 96, 97, 287, 288, 289, 1164, 1452};
  static const size_t ad_lens[] = {0, 1, 21, 47};
  uint8_t key[32], nonce[12], ad[47];
  CHECK_EQ_INT(tern_crypto_init(), TERN_OK);
  for (size_t i = 0; i < sizeof key; i++) key[i] = (uint8_t)(0x40 + i);
  for (size_t i = 0; i < sizeof ad; i++) ad[i] = (uint8_t)(3 * i + 1);
  for (size_t si = 0; si < sizeof suites / sizeof suites[0]; si++) {
    const tern_suite *s = tern_suite_get(suites[si]);
    tern_aead_direct *d = s ? tern_aead_direct_new(s, key) : NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    CHECK(d != NULL);
    CHECK(ctx != NULL);
    if (d == NULL || ctx == NULL || tern_aead_key(ctx, s, key, 1) != TERN_OK) {
      CHECK(0);
      tern_aead_direct_free(d);
      EVP_CIPHER_CTX_free(ctx);
      continue;
    }
    for (size_t zi = 0; zi < sizeof sizes / sizeof sizes[0]; zi++) {
      for (size_t ai = 0; ai < sizeof ad_lens / sizeof ad_lens[0]; ai++) {
        static uint8_t pt[1500], a[1516], b[1516], out[1516], zero[1516];
        size_t n = sizes[zi], al = ad_lens[ai];
        for (size_t i = 0; i < 12; i++) nonce[i] = (uint8_t)(si * 31 + zi * 7 + ai + i);
        for (size_t i = 0; i < n; i++) pt[i] = (uint8_t)(i * 13 + zi);
        CHECK_EQ_INT(tern_aead_direct_seal(d, nonce, ad, al, pt, n, a), TERN_OK);
        CHECK_EQ_INT(tern_aead_seal(ctx, s, nonce, ad, al, pt, n, b), TERN_OK);
        CHECK_MEM(a, b, n + 16);
        memset(out, 0xee, sizeof out);
        CHECK_EQ_INT(tern_aead_direct_open(d, nonce, ad, al, b, n + 16, out), TERN_OK);
        CHECK_MEM(out, pt, n);
        CHECK_EQ_INT(tern_aead_open(ctx, s, nonce, ad, al, a, n + 16, out), TERN_OK);
        CHECK_MEM(out, pt, n);
        /* in place, as ngtcp2 and tern_quic_protect seal */
        memcpy(b, pt, n);
        CHECK_EQ_INT(tern_aead_direct_seal(d, nonce, ad, al, b, n, b), TERN_OK);
        CHECK_MEM(b, a, n + 16);
        CHECK_EQ_INT(tern_aead_direct_open(d, nonce, ad, al, b, n + 16, b), TERN_OK);
        CHECK_MEM(b, pt, n);
        /* a flipped bit in the ciphertext, the tag or the AD */
        a[n / 2] ^= 0x04;
        memset(out, 0xee, sizeof out);
        CHECK_EQ_INT(tern_aead_direct_open(d, nonce, ad, al, a, n + 16, out), TERN_ERR_DECRYPT);
        CHECK_MEM(out, zero, n);
        a[n / 2] ^= 0x04;
        if (al != 0) {
          ad[al - 1] ^= 0x80;
          CHECK_EQ_INT(tern_aead_direct_open(d, nonce, ad, al, a, n + 16, out), TERN_ERR_DECRYPT);
          ad[al - 1] ^= 0x80;
        }
        nonce[11] ^= 1;
        CHECK_EQ_INT(tern_aead_direct_open(d, nonce, ad, al, a, n + 16, out), TERN_ERR_DECRYPT);
        nonce[11] ^= 1;
        CHECK_EQ_INT(tern_aead_direct_open(d, nonce, ad, al, a, n + 16, out), TERN_OK);
        CHECK_MEM(out, pt, n);
      }
    }
    /* shorter than a tag */
    CHECK_EQ_INT(tern_aead_direct_open(d, nonce, ad, 0, key, 15, nonce), TERN_ERR_CRYPTO);
    tern_aead_direct_free(d);
    EVP_CIPHER_CTX_free(ctx);
  }
  CHECK(tern_aead_direct_new(tern_suite_get(TERN_TLS_AES_128_CCM_SHA256), key) == NULL);
  tern_aead_direct_free(NULL);
}

int main(void) {
  static const vset sets[2] = {
      {"rfc9001_initial.txt", TERN_QUIC_V1, "v1"},
      {"rfc9369_initial.txt", TERN_QUIC_V2, "v2"},
  };
  /* Before libcrypto allocates anything. */
  if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)) {
    fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
    return 1;
  }
  for (int i = 0; i < 2; i++) {
    test_initial_keys(&sets[i]);
    test_initial_packet(&sets[i], 0);
    test_initial_packet(&sets[i], 1);
    test_retry(&sets[i]);
    test_chacha(&sets[i]);
    test_truncated_and_garbage(&sets[i]);
  }
  test_aes256();
  test_coalesced();
  test_pn_decode();
  test_args();
  test_key_update();
  test_ccm();
  test_ccm8_refused();
  test_direct_aead();
  test_no_allocation();
  vec_free_all();
  return check_report();
}
