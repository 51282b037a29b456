/*
 * test_record.c - the TLS 1.3 record layer (framing: src/codec/record.c,
 * protection: src/crypto/record_prot.c): RFC 8448 §3's
 * records sealed byte for byte from the trace's traffic secrets and opened
 * back; the trace's two byte streams reassembled one byte at a time and in
 * random splits; every truncation and bit flip of a protected record;
 * header limits (types, versions, lengths); inner plaintext rules;
 * sequence number exhaustion; padding limits; argument and state checks;
 * random round trips in all five suites, cross-checked against an
 * independent AEAD written here with libcrypto; CCM and CCM-8 records at
 * CCM's edge lengths, flipped, cut, and opened with the other tag length;
 * and no libcrypto allocation per record.
 *
 * Usage: test_record [seed]   (the random parts are reproducible)
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <tern.h>

#include "check.h"
#include "crypto/keysched.h"
#include "crypto/record_prot.h"
#include "vectors.h"

#define N_SUITES 5

/* The RFC 8448 §3 trace, as copied into tests/vectors/. */
#define TRACE "rfc8448_simple_1rtt.txt"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Every vector is read from the file once and kept until vec_free_all. */
static struct {
  char label[160];
  uint8_t *buf;
  size_t len;
} vec_cache[64];
static size_t vec_ncached;

/* vget: the bytes of the trace's vector `label`, cached. */
static uint8_t *vget(const char *label, size_t *len) {
  for (size_t i = 0; i < vec_ncached; i++)
    if (strcmp(vec_cache[i].label, label) == 0) {
      *len = vec_cache[i].len;
      return vec_cache[i].buf;
    }
  if (vec_ncached == sizeof vec_cache / sizeof vec_cache[0] ||
      strlen(label) >= sizeof vec_cache[0].label)
    abort();
  uint8_t *b = vec_get(TRACE, label, len);
  strcpy(vec_cache[vec_ncached].label, label);
  vec_cache[vec_ncached].buf = b;
  vec_cache[vec_ncached].len = *len;
  vec_ncached++;
  return b;
}

static void vec_free_all(void) {
  for (size_t i = 0; i < vec_ncached; i++) free(vec_cache[i].buf);
  vec_ncached = 0;
}

/* vstep: the value `what` ("payload", "complete record") of a trace step. */
static uint8_t *vstep(const char *step, const char *what, size_t *len) {
  char label[160];
  snprintf(label, sizeof label, "%s | %s", step, what);
  return vget(label, len);
}

/* A small reproducible generator (xorshift64*). */
static uint64_t rng_state = UINT64_C(0x243f6a8885a308d3);

static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

/* rng_below: uniform-enough in [0, n); 0 when n is 0. */
static size_t rng_below(size_t n) { return n ? (size_t)(rng() % n) : 0; }

static void rng_fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng();
}

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

static const tern_suite *suite(uint16_t id) {
  const tern_suite *s = tern_suite_get(id);
  if (s == NULL) abort();
  return s;
}

/* prot_from: keys p for dir with the trace's traffic secret `label`. */
static void prot_from(tern_record_prot *p, tern_direction dir,
                      const char *label) {
  size_t n;
  const uint8_t *secret = vget(label, &n);
  CHECK_EQ_INT(tern_record_prot_set(p, dir, suite(TERN_TLS_AES_128_GCM_SHA256),
                                    secret, n),
               TERN_OK);
}

/*
 * ref_seal: an independent TLSCiphertext construction, written from
 * RFC 8446 §5.2/§5.3 with libcrypto's one-shot cipher objects, to check
 * the record layer against and to craft records it refuses to make. inner is
 * the whole TLSInnerPlaintext. For CCM (RFC 3610) the tag length is set
 * before the key and the plaintext length is given before the additional
 * data, as EVP wants. Returns the record length.
 */
static size_t ref_seal(const tern_suite *s, const uint8_t *secret,
                       uint64_t seq, const uint8_t *inner, size_t inner_len,
                       uint8_t *out) {
  uint8_t key[32], iv[12], nonce[12];
  int ccm = s->aead == TERN_AEAD_AES_128_CCM || s->aead == TERN_AEAD_AES_128_CCM_8;
  const EVP_CIPHER *c = s->aead == TERN_AEAD_AES_128_GCM ? EVP_aes_128_gcm()
                        : s->aead == TERN_AEAD_AES_256_GCM ? EVP_aes_256_gcm()
                        : ccm                              ? EVP_aes_128_ccm()
                                                           : EVP_chacha20_poly1305();
  int tag_len = s->aead == TERN_AEAD_AES_128_CCM_8 ? 8 : 16;
  size_t len = inner_len + (size_t)tag_len;
  int l = 0;

  if (tern_keysched_traffic_key(s, secret, key, iv) != TERN_OK) abort();
  for (int i = 0; i < 12; i++)
    nonce[i] = (uint8_t)(iv[i] ^ (i < 4 ? 0 : (uint8_t)(seq >> (8 * (11 - i)))));
  out[0] = 23;
  out[1] = 3;
  out[2] = 3;
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (ctx == NULL || !EVP_EncryptInit_ex(ctx, c, NULL, NULL, NULL) ||
      (ccm && (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) <= 0 ||
               EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, tag_len, NULL) <= 0)) ||
      !EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) ||
      (ccm && !EVP_EncryptUpdate(ctx, NULL, &l, NULL, (int)inner_len)) ||
      !EVP_EncryptUpdate(ctx, NULL, &l, out, 5) ||
      ((inner_len || ccm) && !EVP_EncryptUpdate(ctx, out + 5, &l, inner, (int)inner_len)) ||
      !EVP_EncryptFinal_ex(ctx, out + 5 + inner_len, &l) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, tag_len, out + 5 + inner_len) <= 0)
    abort();
  EVP_CIPHER_CTX_free(ctx);
  return 5 + len;
}

/*
 * read_and_open feeds a whole record to a fresh reader and opens it with
 * p at sequence number seq. Returns the open (or read) code.
 */
static int read_and_open(tern_record_prot *p, uint64_t seq,
                         const uint8_t *bytes, size_t n, tern_record_reader *r,
                         tern_record *rec, uint8_t *alert) {
  size_t used;
  int rc;
  tern_record_reader_init(r);
  rc = tern_record_read(r, bytes, n, &used, rec, alert);
  if (rc != TERN_OK) return rc;
  if (used != n) return TERN_ERR_MALFORMED;
  p->seq = seq;
  return tern_record_open(p, rec, alert);
}

static tern_record_reader reader; /* 16 KiB: kept off the stack */

/* libcrypto's allocations, counted (installed first thing in main). */
static unsigned long crypto_allocs;

static void *count_malloc(size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  crypto_allocs++;
  return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  crypto_allocs++;
  return realloc(p, n);
}

static void count_free(void *p, const char *file, int line) {
  (void)file;
  (void)line;
  free(p);
}

/* ------------------------------------------------------------------ */
/* RFC 8448 §3                                                         */
/* ------------------------------------------------------------------ */

/* One protected record of the trace: its step and inner content type. */
typedef struct trace_rec {
  const char *step;
  uint8_t type;
} trace_rec;

/* The records sent under one traffic secret, in sequence number order. */
typedef struct trace_key {
  const char *secret;
  trace_rec recs[3];
  size_t n;
} trace_key;

static const trace_key trace_keys[] = {
    {"server handshake traffic secret",
     {{"20 server send handshake record", TERN_CONTENT_HANDSHAKE}}, 1},
    {"client handshake traffic secret",
     {{"42 client send handshake record", TERN_CONTENT_HANDSHAKE}}, 1},
    {"server application traffic secret 0",
     {{"50 server send handshake record", TERN_CONTENT_HANDSHAKE},
      {"53 server send application_data record", TERN_CONTENT_APPLICATION_DATA},
      {"55 server send alert record", TERN_CONTENT_ALERT}},
     3},
    {"client application traffic secret 0",
     {{"52 client send application_data record", TERN_CONTENT_APPLICATION_DATA},
      {"54 client send alert record", TERN_CONTENT_ALERT}},
     2},
};
#define N_TRACE_KEYS (sizeof trace_keys / sizeof trace_keys[0])

/*
 * Sealing every protected record of the trace from its payload gives the
 * trace's complete record, byte for byte (alerts through the alert helper).
 */
static void test_trace_seal(void) {
  static uint8_t out[TERN_RECORD_MAX_WIRE];
  tern_record_prot p;
  tern_record_prot_init(&p);
  for (size_t k = 0; k < N_TRACE_KEYS; k++) {
    prot_from(&p, TERN_WRITE, trace_keys[k].secret);
    for (size_t i = 0; i < trace_keys[k].n; i++) {
      const trace_rec *t = &trace_keys[k].recs[i];
      size_t plen, wlen;
      const uint8_t *payload = vstep(t->step, "payload", &plen);
      const uint8_t *want = vstep(t->step, "complete record", &wlen);
      tern_writer w;
      tern_writer_init(&w, out, sizeof out);
      CHECK_EQ_INT(p.seq, i);
      if (t->type == TERN_CONTENT_ALERT) {
        CHECK_EQ_INT(plen, 2);
        CHECK_EQ_INT(tern_record_write_alert(&p, &w, payload[1]), TERN_OK);
      } else {
        CHECK_EQ_INT(tern_record_write(&p, &w, t->type, payload, plen, 0),
                     TERN_OK);
      }
      CHECK_EQ_INT(w.len, wlen);
      CHECK_MEM(out, want, wlen);
    }
  }
  tern_record_prot_clear(&p);
}

/* Opening the trace's records gives the payload and its content type. */
static void test_trace_open(void) {
  tern_record_prot p;
  tern_record_prot_init(&p);
  for (size_t k = 0; k < N_TRACE_KEYS; k++) {
    prot_from(&p, TERN_READ, trace_keys[k].secret);
    tern_record_reader_init(&reader);
    for (size_t i = 0; i < trace_keys[k].n; i++) {
      const trace_rec *t = &trace_keys[k].recs[i];
      size_t plen, rlen, used = 0;
      const uint8_t *payload = vstep(t->step, "payload", &plen);
      const uint8_t *bytes = vstep(t->step, "complete record", &rlen);
      tern_record rec;
      uint8_t alert = 0xee;
      CHECK_EQ_INT(tern_record_read(&reader, bytes, rlen, &used, &rec, &alert),
                   TERN_OK);
      CHECK_EQ_INT(used, rlen);
      CHECK_EQ_INT(rec.type, TERN_CONTENT_APPLICATION_DATA);
      CHECK_EQ_INT(rec.version, 0x0303);
      CHECK_EQ_INT(rec.len, rlen - 5);
      CHECK_EQ_INT(tern_record_open(&p, &rec, &alert), TERN_OK);
      CHECK_EQ_INT(alert, 0xee); /* untouched on success */
      CHECK_EQ_INT(rec.type, t->type);
      CHECK_EQ_INT(rec.len, plen);
      CHECK_MEM(rec.data, payload, plen);
      CHECK_EQ_INT(p.seq, i + 1);
    }
  }
  tern_record_prot_clear(&p);
}

/*
 * The plaintext records of the trace: the ClientHello with 0x0301 and the
 * ServerHello with 0x0303, written and read back.
 */
static void test_trace_plain(void) {
  static uint8_t out[TERN_RECORD_MAX_WIRE];
  size_t chl, chr, shl, shr, used;
  const uint8_t *ch = vstep("03 client send handshake record", "payload", &chl);
  const uint8_t *ch_rec =
      vstep("03 client send handshake record", "complete record", &chr);
  const uint8_t *sh = vstep("13 server send handshake record", "payload", &shl);
  const uint8_t *sh_rec =
      vstep("13 server send handshake record", "complete record", &shr);
  tern_writer w;
  tern_record rec;
  uint8_t alert;

  tern_writer_init(&w, out, sizeof out);
  CHECK_EQ_INT(tern_record_write_plain(&w, TERN_CONTENT_HANDSHAKE, 0x0301, ch,
                                       chl),
               TERN_OK);
  CHECK_EQ_INT(w.len, chr);
  CHECK_MEM(out, ch_rec, chr);

  tern_writer_init(&w, out, sizeof out);
  CHECK_EQ_INT(tern_record_write(NULL, &w, TERN_CONTENT_HANDSHAKE, sh, shl, 0),
               TERN_OK);
  CHECK_EQ_INT(w.len, shr);
  CHECK_MEM(out, sh_rec, shr);

  tern_record_reader_init(&reader);
  CHECK_EQ_INT(tern_record_read(&reader, ch_rec, chr, &used, &rec, &alert),
               TERN_OK);
  CHECK_EQ_INT(used, chr);
  CHECK_EQ_INT(rec.type, TERN_CONTENT_HANDSHAKE);
  CHECK_EQ_INT(rec.version, 0x0301);
  CHECK_EQ_INT(rec.len, chl);
  CHECK_MEM(rec.data, ch, chl);
  CHECK_EQ_INT(tern_record_read(&reader, sh_rec, shr, &used, &rec, &alert),
               TERN_OK);
  CHECK_EQ_INT(rec.version, 0x0303);
  CHECK_EQ_INT(rec.len, shl);
  CHECK_MEM(rec.data, sh, shl);
}

/* ------------------------------------------------------------------ */
/* Reassembly: the trace's streams in any fragmentation                */
/* ------------------------------------------------------------------ */

/* One record of a stream; secret NULL for a plaintext record. */
typedef struct stream_rec {
  const char *step;
  uint8_t type;
  const char *secret;
} stream_rec;

static const stream_rec server_stream[] = {
    {"13 server send handshake record", TERN_CONTENT_HANDSHAKE, NULL},
    {"20 server send handshake record", TERN_CONTENT_HANDSHAKE,
     "server handshake traffic secret"},
    {"50 server send handshake record", TERN_CONTENT_HANDSHAKE,
     "server application traffic secret 0"},
    {"53 server send application_data record", TERN_CONTENT_APPLICATION_DATA,
     "server application traffic secret 0"},
    {"55 server send alert record", TERN_CONTENT_ALERT,
     "server application traffic secret 0"},
};

static const stream_rec client_stream[] = {
    {"03 client send handshake record", TERN_CONTENT_HANDSHAKE, NULL},
    {"42 client send handshake record", TERN_CONTENT_HANDSHAKE,
     "client handshake traffic secret"},
    {"52 client send application_data record", TERN_CONTENT_APPLICATION_DATA,
     "client application traffic secret 0"},
    {"54 client send alert record", TERN_CONTENT_ALERT,
     "client application traffic secret 0"},
};

/* How run_stream cuts its input: 1 byte, random pieces, all at once. */
enum split { SPLIT_BYTES, SPLIT_RANDOM, SPLIT_WHOLE };

/*
 * run_stream concatenates a stream's records, feeds them in pieces cut as
 * `split` says (random pieces of 1..max_piece bytes), switches the read
 * key at the records where the trace's sender switched, and checks every
 * record's type and content. Returns the number of discrepancies.
 */
static int run_stream(const stream_rec *s, size_t n, enum split split,
                      size_t max_piece) {
  static uint8_t wire[4096];
  size_t total = 0, pos = 0, idx = 0;
  const char *current = NULL;
  tern_record_prot p;
  int bad = 0;

  for (size_t i = 0; i < n; i++) {
    size_t len;
    const uint8_t *b = vstep(s[i].step, "complete record", &len);
    if (total + len > sizeof wire) abort();
    memcpy(wire + total, b, len);
    total += len;
  }
  tern_record_prot_init(&p);
  tern_record_reader_init(&reader);

  while (pos < total) {
    size_t piece = split == SPLIT_BYTES    ? 1
                   : split == SPLIT_WHOLE ? total - pos
                                          : 1 + rng_below(max_piece);
    if (piece > total - pos) piece = total - pos;
    const uint8_t *in = wire + pos;
    size_t left = piece;
    for (;;) {
      tern_record rec;
      uint8_t alert;
      size_t used, plen;
      int rc = tern_record_read(&reader, in, left, &used, &rec, &alert);
      if (used > left) return bad + 1;
      in += used;
      left -= used;
      if (rc == TERN_WANT_READ) {
        if (left != 0) bad++;
        break;
      }
      if (rc != TERN_OK || idx >= n) return bad + 1;
      if (s[idx].secret != NULL) {
        if (current != s[idx].secret) {
          size_t sl;
          const uint8_t *secret = vget(s[idx].secret, &sl);
          if (tern_record_prot_set(&p, TERN_READ,
                                   suite(TERN_TLS_AES_128_GCM_SHA256), secret,
                                   sl) != TERN_OK)
            bad++;
          current = s[idx].secret;
        }
        if (tern_record_open(&p, &rec, &alert) != TERN_OK) bad++;
      }
      const uint8_t *payload = vstep(s[idx].step, "payload", &plen);
      if (rec.type != s[idx].type || rec.len != plen ||
          memcmp(rec.data, payload, plen) != 0)
        bad++;
      idx++;
    }
    pos += piece;
  }
  if (idx != n) bad++;
  if (tern_record_reader_buffered(&reader) != 0) bad++;
  tern_record_prot_clear(&p);
  return bad;
}

static void test_fragmentation(void) {
  static const size_t pieces[] = {2, 3, 7, 16, 64, 300, 1000, 4096};
  const struct {
    const stream_rec *s;
    size_t n;
  } streams[2] = {
      {server_stream, sizeof server_stream / sizeof server_stream[0]},
      {client_stream, sizeof client_stream / sizeof client_stream[0]},
  };
  for (int k = 0; k < 2; k++) {
    CHECK_EQ_INT(run_stream(streams[k].s, streams[k].n, SPLIT_WHOLE, 0), 0);
    CHECK_EQ_INT(run_stream(streams[k].s, streams[k].n, SPLIT_BYTES, 0), 0);
    int bad = 0;
    for (int run = 0; run < 400; run++)
      bad += run_stream(streams[k].s, streams[k].n, SPLIT_RANDOM,
                        pieces[run % (sizeof pieces / sizeof pieces[0])]);
    CHECK_EQ_INT(bad, 0);
  }
}

/* ------------------------------------------------------------------ */
/* Damaged protected records                                           */
/* ------------------------------------------------------------------ */

/* The protected records damaged below: key and sequence number. */
typedef struct victim {
  const char *secret;
  const char *step;
  uint64_t seq;
} victim;

static const victim victims[] = {
    {"client handshake traffic secret", "42 client send handshake record", 0},
    {"server application traffic secret 0",
     "53 server send application_data record", 1},
    {"client application traffic secret 0", "54 client send alert record", 1},
};

/*
 * Every prefix of a record leaves the reader waiting, holding exactly the
 * prefix; the rest completes it. Every record whose body is cut to k bytes
 * (header length k) fails authentication with bad_record_mac, wipes what
 * it held and leaves the key where it was, so the genuine record still
 * opens afterwards.
 */
static void test_truncation(const victim *v) {
  static uint8_t buf[512];
  size_t len, plen;
  const uint8_t *bytes = vstep(v->step, "complete record", &len);
  const uint8_t *payload = vstep(v->step, "payload", &plen);
  tern_record_prot p;
  tern_record rec;
  uint8_t alert;
  int bad_prefix = 0, bad_cut = 0;

  tern_record_prot_init(&p);
  prot_from(&p, TERN_READ, v->secret);
  for (size_t k = 0; k < len; k++) {
    size_t used, used2;
    tern_record_reader_init(&reader);
    if (tern_record_read(&reader, bytes, k, &used, &rec, &alert) !=
            TERN_WANT_READ ||
        used != k || tern_record_reader_buffered(&reader) != k)
      bad_prefix++;
    if (tern_record_read(&reader, bytes + k, len - k, &used2, &rec, &alert) !=
            TERN_OK ||
        used2 != len - k)
      bad_prefix++;
    p.seq = v->seq;
    if (tern_record_open(&p, &rec, &alert) != TERN_OK || rec.len != plen ||
        memcmp(rec.data, payload, plen) != 0)
      bad_prefix++;
  }
  CHECK_EQ_INT(bad_prefix, 0);

  for (size_t k = 0; k < len - 5; k++) {
    memcpy(buf, bytes, 5 + k);
    buf[3] = (uint8_t)(k >> 8);
    buf[4] = (uint8_t)k;
    alert = 0;
    if (read_and_open(&p, v->seq, buf, 5 + k, &reader, &rec, &alert) !=
            TERN_ERR_DECRYPT ||
        alert != TERN_ALERT_BAD_RECORD_MAC || !all_zero(rec.data, rec.len) ||
        p.seq != v->seq || p.exhausted)
      bad_cut++;
  }
  CHECK_EQ_INT(bad_cut, 0);
  /* The key was left alone: the genuine record still opens. */
  CHECK_EQ_INT(read_and_open(&p, v->seq, bytes, len, &reader, &rec, &alert),
               TERN_OK);
  CHECK_EQ_INT(p.seq, v->seq + 1);
  tern_record_prot_clear(&p);
}

/*
 * Every single-bit flip and every whole-byte inversion of a protected
 * record fails: in the header with a header error (type, overflow), a
 * wait for more bytes (longer length) or, once read, with
 * unexpected_message (type 20..22 where 23 was) or bad_record_mac; never
 * with the record accepted. Each class must occur where it should.
 */
static void test_flips(const victim *v) {
  static uint8_t buf[512];
  static const uint8_t masks[] = {1, 2, 4, 8, 16, 32, 64, 128, 0xff};
  size_t len;
  const uint8_t *bytes = vstep(v->step, "complete record", &len);
  tern_record_prot p;
  int accepted = 0, wrong = 0, header = 0, waiting = 0, outer = 0, mac = 0;

  tern_record_prot_init(&p);
  prot_from(&p, TERN_READ, v->secret);
  for (size_t i = 0; i < len; i++) {
    for (size_t m = 0; m < sizeof masks; m++) {
      tern_record rec;
      uint8_t alert = 0;
      size_t used;
      int rc;
      memcpy(buf, bytes, len);
      buf[i] ^= masks[m];
      tern_record_reader_init(&reader);
      rc = tern_record_read(&reader, buf, len, &used, &rec, &alert);
      if (rc == TERN_WANT_READ) {
        waiting++;
        if (i != 3 && i != 4) wrong++;
        continue;
      }
      if (rc < 0) {
        header++;
        if (i > 4) wrong++;
        if (!((rc == TERN_ERR_MALFORMED && alert == TERN_ALERT_UNEXPECTED_MESSAGE) ||
              (rc == TERN_ERR_LIMIT && alert == TERN_ALERT_RECORD_OVERFLOW)))
          wrong++;
        continue;
      }
      p.seq = v->seq;
      rc = tern_record_open(&p, &rec, &alert);
      if (rc == TERN_OK) {
        accepted++;
      } else if (rc == TERN_ERR_MALFORMED) {
        outer++;
        if (i != 0 || alert != TERN_ALERT_UNEXPECTED_MESSAGE) wrong++;
      } else if (rc == TERN_ERR_DECRYPT) {
        mac++;
        if (alert != TERN_ALERT_BAD_RECORD_MAC) wrong++;
      } else {
        wrong++;
      }
      if (rc != TERN_OK && !all_zero(rec.data, rec.len)) wrong++;
      if (p.seq != v->seq) wrong++;
    }
  }
  CHECK_EQ_INT(accepted, 0);
  CHECK_EQ_INT(wrong, 0);
  CHECK(header > 0);
  CHECK(waiting > 0);
  CHECK(outer > 0);
  CHECK(mac >= (int)((len - 5) * sizeof masks));
  tern_record_prot_clear(&p);
}

/* ------------------------------------------------------------------ */
/* Header checks                                                       */
/* ------------------------------------------------------------------ */

/*
 * expect_header_error feeds hdr (5 bytes) followed by `extra` more bytes;
 * the reader must fail right after the header with (err, alert), taking
 * no byte past it, and stay failed.
 */
#define expect_header_error(h, e, a) expect_header_error_at(__LINE__, h, e, a)
static void expect_header_error_at(int line, const uint8_t hdr[5], int err,
                                   uint8_t want_alert) {
  uint8_t in[16] = {0};
  tern_record rec;
  uint8_t alert = 0;
  size_t used = 99;
  int before = check_failures;
  memcpy(in, hdr, 5);
  tern_record_reader_init(&reader);
  CHECK_EQ_INT(tern_record_read(&reader, in, sizeof in, &used, &rec, &alert),
               err);
  CHECK_EQ_INT(alert, want_alert);
  CHECK_EQ_INT(used, 5);
  /* sticky */
  alert = 0;
  CHECK_EQ_INT(tern_record_read(&reader, in + 5, 3, &used, &rec, &alert), err);
  CHECK_EQ_INT(alert, want_alert);
  CHECK_EQ_INT(used, 0);
  CHECK(rec.data == NULL && rec.len == 0);
  if (check_failures != before)
    fprintf(stderr, "  (expect_header_error called from line %d)\n", line);
}

/* expect_header_ok: the header hdr with its body (zeros) yields a record. */
static void expect_header_ok(const uint8_t hdr[5]) {
  static uint8_t in[TERN_RECORD_MAX_WIRE];
  size_t body = ((size_t)hdr[3] << 8) | hdr[4], used;
  tern_record rec;
  uint8_t alert;
  memcpy(in, hdr, 5);
  memset(in + 5, 0x01, body);
  tern_record_reader_init(&reader);
  /* header alone first: the body is not needed to judge it */
  CHECK_EQ_INT(tern_record_read(&reader, in, 5, &used, &rec, &alert),
               body ? TERN_WANT_READ : TERN_OK);
  if (body)
    CHECK_EQ_INT(tern_record_read(&reader, in + 5, body, &used, &rec, &alert),
                 TERN_OK);
  CHECK_EQ_INT(rec.type, hdr[0]);
  CHECK_EQ_INT(rec.len, body);
}

static void test_header_checks(void) {
  int bad = 0;

  /* Content types: only 20..23 (§5). */
  for (int t = 0; t < 256; t++) {
    uint8_t h[6] = {(uint8_t)t, 3, 3, 0, 1, 1};
    tern_record rec;
    uint8_t alert = 0;
    size_t used;
    int rc;
    tern_record_reader_init(&reader);
    rc = tern_record_read(&reader, h, sizeof h, &used, &rec, &alert);
    if (t >= 20 && t <= 23) {
      if (rc != TERN_OK || rec.type != t || rec.len != 1) bad++;
    } else if (rc != TERN_ERR_MALFORMED ||
               alert != TERN_ALERT_UNEXPECTED_MESSAGE || used != 5) {
      bad++;
    }
  }
  CHECK_EQ_INT(bad, 0);

  /* Versions: RFC 8446 §5.1 says legacy_record_version "MUST be ignored
     for all purposes", so every value is taken on every record type, and
     reported as received. */
  {
    static const uint16_t versions[] = {0x0000, 0x0300, 0x0301, 0x0302, 0x0303,
                                        0x0304, 0x0203, 0x0103, 0x0403, 0x7f1c,
                                        0xffff, 0x0003};
    int bad = 0;
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
      for (uint8_t t = 20; t <= 23; t++) {
        uint8_t h[6] = {t, (uint8_t)(versions[i] >> 8), (uint8_t)versions[i], 0, 1, 1};
        tern_record rec;
        uint8_t alert = 0;
        size_t used;
        tern_record_reader_init(&reader);
        if (tern_record_read(&reader, h, sizeof h, &used, &rec, &alert) != TERN_OK ||
            used != 6 || rec.type != t || rec.version != versions[i] || rec.len != 1)
          bad++;
      }
    }
    CHECK_EQ_INT(bad, 0);
  }
  {
    /* 0x0301 on handshake records, also on a second one (a ClientHello
       cut into several records, as libssl sends it) */
    const uint8_t two[12] = {22, 3, 1, 0, 1, 1, 22, 3, 1, 0, 1, 1};
    tern_record rec;
    uint8_t alert = 0;
    size_t used;
    tern_record_reader_init(&reader);
    CHECK_EQ_INT(tern_record_read(&reader, two, sizeof two, &used, &rec, &alert),
                 TERN_OK);
    CHECK_EQ_INT(used, 6);
    CHECK_EQ_INT(rec.version, 0x0301);
    CHECK_EQ_INT(tern_record_read(&reader, two + 6, 6, &used, &rec, &alert), TERN_OK);
    CHECK_EQ_INT(rec.version, 0x0301);
  }

  /* Lengths: 2^14 for plaintext types, 2^14 + 256 for protected. */
  for (uint8_t t = 20; t <= 22; t++) {
    const uint8_t ok[5] = {t, 3, 3, 0x40, 0x00};
    const uint8_t over[5] = {t, 3, 3, 0x40, 0x01};
    const uint8_t huge[5] = {t, 3, 3, 0xff, 0xff};
    const uint8_t zero[5] = {t, 3, 3, 0, 0};
    expect_header_ok(ok);
    expect_header_error(over, TERN_ERR_LIMIT, TERN_ALERT_RECORD_OVERFLOW);
    expect_header_error(huge, TERN_ERR_LIMIT, TERN_ALERT_RECORD_OVERFLOW);
    expect_header_error(zero, TERN_ERR_MALFORMED, TERN_ALERT_UNEXPECTED_MESSAGE);
  }
  {
    const uint8_t ok[5] = {23, 3, 3, 0x41, 0x00};
    const uint8_t over[5] = {23, 3, 3, 0x41, 0x01};
    const uint8_t huge[5] = {23, 3, 3, 0xff, 0xff};
    const uint8_t zero[5] = {23, 3, 3, 0, 0};
    expect_header_ok(ok);
    expect_header_ok(zero);
    expect_header_error(over, TERN_ERR_LIMIT, TERN_ALERT_RECORD_OVERFLOW);
    expect_header_error(huge, TERN_ERR_LIMIT, TERN_ALERT_RECORD_OVERFLOW);
  }
  {
    /* a zero-length protected record cannot be authentic */
    const uint8_t zero[5] = {23, 3, 3, 0, 0};
    tern_record_prot p;
    tern_record rec;
    uint8_t alert = 0;
    tern_record_prot_init(&p);
    prot_from(&p, TERN_READ, "client application traffic secret 0");
    CHECK_EQ_INT(read_and_open(&p, 0, zero, 5, &reader, &rec, &alert),
                 TERN_ERR_DECRYPT);
    CHECK_EQ_INT(alert, TERN_ALERT_BAD_RECORD_MAC);
    /* nor a record longer than 2^14 + 256 handed to open directly */
    static uint8_t big[TERN_RECORD_MAX_CIPHERTEXT + 1];
    rec.type = 23;
    rec.version = 0x0303;
    rec.data = big;
    rec.len = sizeof big;
    CHECK_EQ_INT(tern_record_open(&p, &rec, &alert), TERN_ERR_LIMIT);
    CHECK_EQ_INT(alert, TERN_ALERT_RECORD_OVERFLOW);
    /* nor a record whose outer type is not application_data */
    uint8_t one[1] = {1};
    rec.type = TERN_CONTENT_CHANGE_CIPHER_SPEC;
    rec.data = one;
    rec.len = 1;
    CHECK_EQ_INT(tern_record_open(&p, &rec, &alert), TERN_ERR_MALFORMED);
    CHECK_EQ_INT(alert, TERN_ALERT_UNEXPECTED_MESSAGE);
    CHECK_EQ_INT(p.seq, 0);
    tern_record_prot_clear(&p);
  }
}

/* ------------------------------------------------------------------ */
/* Inner plaintext                                                     */
/* ------------------------------------------------------------------ */

/*
 * open_inner seals inner[0..n) with the reference AEAD at sequence number
 * 0 and opens it with p; returns the code, *alert, and the result in rec.
 */
static int open_inner(tern_record_prot *p, const tern_suite *s,
                      const uint8_t *secret, const uint8_t *inner, size_t n,
                      tern_record *rec, uint8_t *alert) {
  static uint8_t wire[TERN_RECORD_MAX_WIRE + 64];
  size_t len = ref_seal(s, secret, 0, inner, n, wire);
  return read_and_open(p, 0, wire, len, &reader, rec, alert);
}

#define expect_inner(p, s, sec, in, n, e, a)                              \
  do {                                                                    \
    tern_record rec_;                                                     \
    uint8_t alert_ = 0;                                                   \
    CHECK_EQ_INT(open_inner(p, s, sec, in, n, &rec_, &alert_), e);        \
    CHECK_EQ_INT(alert_, a);                                              \
    CHECK(all_zero(rec_.data, rec_.len));                                 \
    CHECK_EQ_INT((p)->seq, 0);                                            \
  } while (0)

static void test_inner_plaintext(uint16_t suite_id) {
  static uint8_t inner[TERN_RECORD_MAX_CIPHERTEXT];
  const tern_suite *s = suite(suite_id);
  uint8_t secret[48];
  tern_record_prot p;
  tern_record rec;
  uint8_t alert;

  rng_fill(secret, sizeof secret);
  tern_record_prot_init(&p);
  CHECK_EQ_INT(tern_record_prot_set(&p, TERN_READ, s, secret, s->hash->len),
               TERN_OK);

  /* All zeros: no content type (§5.4), whatever the length. */
  static const size_t zlens[] = {0, 1, 2, 100, 16385};
  memset(inner, 0, sizeof inner);
  for (size_t i = 0; i < sizeof zlens / sizeof zlens[0]; i++)
    expect_inner(&p, s, secret, inner, zlens[i], TERN_ERR_MALFORMED,
                 TERN_ALERT_UNEXPECTED_MESSAGE);

  /* Empty handshake or alert content, padded or not (§5.4). */
  for (uint8_t t = TERN_CONTENT_ALERT; t <= TERN_CONTENT_HANDSHAKE; t++) {
    memset(inner, 0, 64);
    inner[0] = t;
    expect_inner(&p, s, secret, inner, 1, TERN_ERR_MALFORMED,
                 TERN_ALERT_UNEXPECTED_MESSAGE);
    expect_inner(&p, s, secret, inner, 40, TERN_ERR_MALFORMED,
                 TERN_ALERT_UNEXPECTED_MESSAGE);
  }
  /* A protected change_cipher_spec, or a type that does not exist (§5). */
  static const uint8_t bad_types[] = {TERN_CONTENT_CHANGE_CIPHER_SPEC, 1, 19,
                                      24, 0x42, 0xff};
  for (size_t i = 0; i < sizeof bad_types; i++) {
    inner[0] = 0x01;
    inner[1] = bad_types[i];
    inner[2] = 0;
    expect_inner(&p, s, secret, inner, 3, TERN_ERR_MALFORMED,
                 TERN_ALERT_UNEXPECTED_MESSAGE);
  }

  /* Empty application data is fine, padded too. */
  memset(inner, 0, 64);
  inner[0] = TERN_CONTENT_APPLICATION_DATA;
  p.seq = 0;
  CHECK_EQ_INT(open_inner(&p, s, secret, inner, 1, &rec, &alert), TERN_OK);
  CHECK_EQ_INT(rec.type, TERN_CONTENT_APPLICATION_DATA);
  CHECK_EQ_INT(rec.len, 0);
  CHECK_EQ_INT(open_inner(&p, s, secret, inner, 33, &rec, &alert), TERN_OK);
  CHECK_EQ_INT(rec.len, 0);

  /* Sizes: TLSInnerPlaintext up to 2^14 + 1 (§5.4), content up to 2^14. */
  rng_fill(inner, TERN_RECORD_MAX_PLAINTEXT + 1);
  for (size_t i = 0; i < TERN_RECORD_MAX_PLAINTEXT + 1; i++)
    if (inner[i] == 0) inner[i] = 0x5a;
  inner[TERN_RECORD_MAX_PLAINTEXT] = TERN_CONTENT_APPLICATION_DATA;
  CHECK_EQ_INT(open_inner(&p, s, secret, inner, TERN_RECORD_MAX_PLAINTEXT + 1,
                          &rec, &alert),
               TERN_OK);
  CHECK_EQ_INT(rec.len, TERN_RECORD_MAX_PLAINTEXT);
  CHECK_EQ_INT(rec.type, TERN_CONTENT_APPLICATION_DATA);
  /* one padding byte more: over the limit */
  rng_fill(inner, TERN_RECORD_MAX_PLAINTEXT);
  inner[TERN_RECORD_MAX_PLAINTEXT] = TERN_CONTENT_APPLICATION_DATA;
  inner[TERN_RECORD_MAX_PLAINTEXT + 1] = 0;
  expect_inner(&p, s, secret, inner, TERN_RECORD_MAX_PLAINTEXT + 2,
               TERN_ERR_LIMIT, TERN_ALERT_RECORD_OVERFLOW);
  /* content of 2^14 + 1 bytes */
  memset(inner, 0x33, TERN_RECORD_MAX_PLAINTEXT + 1);
  inner[TERN_RECORD_MAX_PLAINTEXT + 1] = TERN_CONTENT_HANDSHAKE;
  expect_inner(&p, s, secret, inner, TERN_RECORD_MAX_PLAINTEXT + 2,
               TERN_ERR_LIMIT, TERN_ALERT_RECORD_OVERFLOW);
  /* short content, padding up to the limit exactly, then one more */
  memset(inner, 0, sizeof inner);
  memset(inner, 0x77, 100);
  inner[100] = TERN_CONTENT_HANDSHAKE;
  CHECK_EQ_INT(open_inner(&p, s, secret, inner, TERN_RECORD_MAX_PLAINTEXT + 1,
                          &rec, &alert),
               TERN_OK);
  CHECK_EQ_INT(rec.len, 100);
  CHECK_EQ_INT(rec.type, TERN_CONTENT_HANDSHAKE);
  memset(inner, 0, sizeof inner);
  memset(inner, 0x77, 100);
  inner[100] = TERN_CONTENT_HANDSHAKE;
  expect_inner(&p, s, secret, inner, TERN_RECORD_MAX_PLAINTEXT + 2,
               TERN_ERR_LIMIT, TERN_ALERT_RECORD_OVERFLOW);
  /* the largest ciphertext the header allows, all content */
  memset(inner, 0x11, sizeof inner);
  expect_inner(&p, s, secret, inner,
               TERN_RECORD_MAX_CIPHERTEXT - TERN_RECORD_TAG_LEN, TERN_ERR_LIMIT,
               TERN_ALERT_RECORD_OVERFLOW);

  tern_record_prot_clear(&p);
}

/* ------------------------------------------------------------------ */
/* Sequence numbers                                                    */
/* ------------------------------------------------------------------ */

/*
 * The last two sequence numbers, 2^64 - 2 and 2^64 - 1, seal and open
 * (with the nonces of the reference AEAD); then the key is used up on
 * both sides instead of wrapping to 0, until a new secret is set.
 */
static void test_seq_exhaustion(void) {
  static uint8_t out[256], ref[256];
  const tern_suite *s = suite(TERN_TLS_CHACHA20_POLY1305_SHA256);
  const uint8_t msg[5] = {'h', 'e', 'l', 'l', 'o'};
  const uint8_t inner[6] = {'h', 'e', 'l', 'l', 'o', 23};
  uint8_t secret[32];
  tern_record_prot wp, rp;
  tern_writer w;
  tern_record rec;
  uint8_t alert;
  size_t rec_len = 5 + sizeof inner + 16;

  rng_fill(secret, sizeof secret);
  tern_record_prot_init(&wp);
  tern_record_prot_init(&rp);
  CHECK_EQ_INT(tern_record_prot_set(&wp, TERN_WRITE, s, secret, 32), TERN_OK);
  CHECK_EQ_INT(tern_record_prot_set(&rp, TERN_READ, s, secret, 32), TERN_OK);

  wp.seq = UINT64_MAX - 1;
  tern_writer_init(&w, out, sizeof out);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, 23, msg, sizeof msg, 0), TERN_OK);
  CHECK_EQ_INT(wp.seq, UINT64_MAX);
  CHECK_EQ_INT(wp.exhausted, 0);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, 23, msg, sizeof msg, 0), TERN_OK);
  CHECK_EQ_INT(wp.exhausted, 1);
  CHECK_EQ_INT(w.len, 2 * rec_len);
  CHECK_EQ_INT(ref_seal(s, secret, UINT64_MAX - 1, inner, sizeof inner, ref),
               rec_len);
  CHECK_MEM(out, ref, rec_len);
  ref_seal(s, secret, UINT64_MAX, inner, sizeof inner, ref);
  CHECK_MEM(out + rec_len, ref, rec_len);
  /* no third record: it would need sequence number 0 again */
  memset(out + w.len, 0xaa, sizeof out - w.len);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, 23, msg, sizeof msg, 0), TERN_ERR_LIMIT);
  CHECK_EQ_INT(tern_record_write_alert(&wp, &w, TERN_ALERT_CLOSE_NOTIFY),
               TERN_ERR_LIMIT);
  CHECK_EQ_INT(w.len, 2 * rec_len);
  CHECK(out[w.len] == 0xaa && out[sizeof out - 1] == 0xaa);

  rp.seq = UINT64_MAX - 1;
  CHECK_EQ_INT(read_and_open(&rp, UINT64_MAX - 1, out, rec_len, &reader, &rec,
                             &alert),
               TERN_OK);
  CHECK_MEM(rec.data, msg, sizeof msg);
  CHECK_EQ_INT(read_and_open(&rp, UINT64_MAX, out + rec_len, rec_len, &reader,
                             &rec, &alert),
               TERN_OK);
  CHECK_EQ_INT(rp.exhausted, 1);
  /* a peer that wrapped to 0 */
  size_t n = ref_seal(s, secret, 0, inner, sizeof inner, ref);
  tern_record_reader_init(&reader);
  size_t used;
  CHECK_EQ_INT(tern_record_read(&reader, ref, n, &used, &rec, &alert), TERN_OK);
  alert = 0;
  CHECK_EQ_INT(tern_record_open(&rp, &rec, &alert), TERN_ERR_LIMIT);
  CHECK_EQ_INT(alert, TERN_ALERT_UNEXPECTED_MESSAGE);
  CHECK(all_zero(rec.data, rec.len));

  /* a new secret starts again at 0 */
  CHECK_EQ_INT(tern_record_prot_set(&wp, TERN_WRITE, s, secret, 32), TERN_OK);
  CHECK_EQ_INT(wp.seq, 0);
  CHECK_EQ_INT(wp.exhausted, 0);
  tern_writer_init(&w, out, sizeof out);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, 23, msg, sizeof msg, 0), TERN_OK);
  CHECK_MEM(out, ref, n);

  tern_record_prot_clear(&wp);
  tern_record_prot_clear(&rp);
}

/* ------------------------------------------------------------------ */
/* Writing: limits, padding, arguments, state                          */
/* ------------------------------------------------------------------ */

static void test_write_limits(void) {
  static uint8_t out[TERN_RECORD_MAX_WIRE + 64], data[TERN_RECORD_MAX_PLAINTEXT + 1];
  const tern_suite *s = suite(TERN_TLS_AES_256_GCM_SHA384);
  uint8_t secret[48];
  tern_record_prot wp, rp;
  tern_writer w;
  tern_record rec;
  uint8_t alert;

  rng_fill(secret, sizeof secret);
  rng_fill(data, sizeof data);
  tern_record_prot_init(&wp);
  tern_record_prot_init(&rp);
  CHECK_EQ_INT(tern_record_prot_set(&wp, TERN_WRITE, s, secret, 48), TERN_OK);
  CHECK_EQ_INT(tern_record_prot_set(&rp, TERN_READ, s, secret, 48), TERN_OK);

  /* Padding up to the limit: content + padding = 2^14. */
  tern_writer_init(&w, out, sizeof out);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_HANDSHAKE, data, 100,
                                TERN_RECORD_MAX_PLAINTEXT - 100),
               TERN_OK);
  CHECK_EQ_INT(w.len, 5 + TERN_RECORD_MAX_PLAINTEXT + 1 + 16);
  CHECK_EQ_INT(read_and_open(&rp, 0, out, w.len, &reader, &rec, &alert), TERN_OK);
  CHECK_EQ_INT(rec.type, TERN_CONTENT_HANDSHAKE);
  CHECK_EQ_INT(rec.len, 100);
  CHECK_MEM(rec.data, data, 100);

  tern_writer_init(&w, out, sizeof out);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_APPLICATION_DATA, NULL, 0,
                                TERN_RECORD_MAX_PLAINTEXT),
               TERN_OK);
  CHECK_EQ_INT(read_and_open(&rp, 1, out, w.len, &reader, &rec, &alert), TERN_OK);
  CHECK_EQ_INT(rec.len, 0);

  tern_writer_init(&w, out, sizeof out);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_APPLICATION_DATA, data,
                                TERN_RECORD_MAX_PLAINTEXT, 0),
               TERN_OK);
  CHECK_EQ_INT(read_and_open(&rp, 2, out, w.len, &reader, &rec, &alert), TERN_OK);
  CHECK_EQ_INT(rec.len, TERN_RECORD_MAX_PLAINTEXT);
  CHECK_MEM(rec.data, data, TERN_RECORD_MAX_PLAINTEXT);

  /* Over the limit: refused, nothing written, sequence number kept. */
  static const struct {
    size_t len, padding;
  } over[] = {
      {100, TERN_RECORD_MAX_PLAINTEXT - 99},
      {0, TERN_RECORD_MAX_PLAINTEXT + 1},
      {100, TERN_RECORD_MAX_CIPHERTEXT},  /* past 2^14 + 256 on the wire */
      {TERN_RECORD_MAX_PLAINTEXT, 1},
      {TERN_RECORD_MAX_PLAINTEXT + 1, 0},
      {1, SIZE_MAX},
      {TERN_RECORD_MAX_PLAINTEXT, SIZE_MAX - TERN_RECORD_MAX_PLAINTEXT + 1},
  };
  for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
    tern_writer_init(&w, out, sizeof out);
    w.len = 7;
    memset(out, 0xaa, sizeof out);
    CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_APPLICATION_DATA, data,
                                  over[i].len, over[i].padding),
                 TERN_ERR_LIMIT);
    CHECK_EQ_INT(w.len, 7);
    CHECK(out[7] == 0xaa && out[7 + 5 + 100] == 0xaa);
  }
  CHECK_EQ_INT(wp.seq, 3);

  /* Buffer one byte short: refused, untouched. */
  tern_writer_init(&w, out, 5 + 10 + 1 + 3 + 16 - 1);
  memset(out, 0xaa, sizeof out);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_HANDSHAKE, data, 10, 3),
               TERN_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(w.len, 0);
  CHECK(out[0] == 0xaa && out[5 + 10 + 1 + 3 + 16 - 2] == 0xaa);
  CHECK_EQ_INT(wp.seq, 3);
  w.cap++;
  CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_HANDSHAKE, data, 10, 3),
               TERN_OK);
  CHECK_EQ_INT(w.len, w.cap);
  CHECK_EQ_INT(read_and_open(&rp, 3, out, w.len, &reader, &rec, &alert), TERN_OK);
  CHECK_MEM(rec.data, data, 10);

  /* In place: the content already where the fragment goes. */
  {
    static uint8_t a[256], b[256];
    tern_writer wa, wb;
    const uint64_t seq = wp.seq;
    memcpy(b + 5, data, 50);
    tern_writer_init(&wa, a, sizeof a);
    tern_writer_init(&wb, b, sizeof b);
    CHECK_EQ_INT(tern_record_seal(&wp, &wa, 23, data, 50, 9), TERN_OK);
    wp.seq = seq;
    CHECK_EQ_INT(tern_record_seal(&wp, &wb, 23, b + 5, 50, 9), TERN_OK);
    CHECK_EQ_INT(wa.len, wb.len);
    CHECK_MEM(a, b, wa.len);
    /* and plaintext the same way */
    memcpy(b + 5, data, 50);
    tern_writer_init(&wa, a, sizeof a);
    tern_writer_init(&wb, b, sizeof b);
    CHECK_EQ_INT(tern_record_write_plain(&wa, 22, 0x0303, data, 50), TERN_OK);
    CHECK_EQ_INT(tern_record_write_plain(&wb, 22, 0x0303, b + 5, 50), TERN_OK);
    CHECK_MEM(a, b, 55);
  }

  /* Content types and empty content. */
  tern_writer_init(&w, out, sizeof out);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_CHANGE_CIPHER_SPEC, data,
                                1, 0),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, 0, data, 1, 0), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, 24, data, 1, 0), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_HANDSHAKE, data, 0, 5),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_ALERT, data, 0, 0),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_seal(&wp, &w, 23, NULL, 1, 0), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_seal(NULL, &w, 23, data, 1, 0), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_seal(&wp, NULL, 23, data, 1, 0), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(w.len, 0);

  /* Plaintext records. */
  CHECK_EQ_INT(tern_record_write_plain(&w, TERN_CONTENT_APPLICATION_DATA, 0x0303,
                                       data, 1),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_write_plain(&w, 0, 0x0303, data, 1),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_write_plain(&w, 22, 0x0302, data, 1),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_write_plain(&w, 22, 0x0304, data, 1),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_write_plain(&w, 22, 0x0303, data, 0),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_write_plain(&w, 22, 0x0303, NULL, 1),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_write_plain(&w, 22, 0x0303, data,
                                       TERN_RECORD_MAX_PLAINTEXT + 1),
               TERN_ERR_LIMIT);
  CHECK_EQ_INT(w.len, 0);
  CHECK_EQ_INT(tern_record_write_plain(&w, 22, 0x0303, data,
                                       TERN_RECORD_MAX_PLAINTEXT),
               TERN_OK);
  CHECK_EQ_INT(w.len, 5 + TERN_RECORD_MAX_PLAINTEXT);
  {
    uint8_t small[8];
    tern_writer ws;
    tern_writer_init(&ws, small, sizeof small);
    CHECK_EQ_INT(tern_record_write_plain(&ws, 22, 0x0303, data, 4),
                 TERN_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(ws.len, 0);
    CHECK_EQ_INT(tern_record_write_plain(&ws, 22, 0x0303, data, 3), TERN_OK);
    CHECK_EQ_INT(ws.len, 8);
  }

  /* tern_record_write: plaintext without keys (no padding), CCS always. */
  {
    static const uint8_t ccs_rec[6] = {20, 3, 3, 0, 1, 1};
    const uint8_t ccs = 1;
    tern_record_prot none;
    tern_record_prot_init(&none);
    tern_writer_init(&w, out, sizeof out);
    CHECK_EQ_INT(tern_record_write(&none, &w, 22, data, 4, 1),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_record_write(&wp, &w, 20, &ccs, 1, 0), TERN_OK);
    CHECK_EQ_INT(tern_record_write(&none, &w, 20, &ccs, 1, 0), TERN_OK);
    CHECK_EQ_INT(w.len, 12);
    CHECK_MEM(out, ccs_rec, 6);
    CHECK_MEM(out + 6, ccs_rec, 6);
  }

  /* Alerts: levels warning for close_notify and user_canceled. */
  {
    static const uint8_t want[3][7] = {{21, 3, 3, 0, 2, 1, 0},
                                       {21, 3, 3, 0, 2, 1, 90},
                                       {21, 3, 3, 0, 2, 2, 40}};
    static const uint8_t desc[3] = {TERN_ALERT_CLOSE_NOTIFY,
                                    TERN_ALERT_USER_CANCELED,
                                    TERN_ALERT_HANDSHAKE_FAILURE};
    for (int i = 0; i < 3; i++) {
      tern_writer_init(&w, out, sizeof out);
      CHECK_EQ_INT(tern_record_write_alert(NULL, &w, desc[i]), TERN_OK);
      CHECK_EQ_INT(w.len, 7);
      CHECK_MEM(out, want[i], 7);
      /* protected: the same two bytes inside */
      tern_writer_init(&w, out, sizeof out);
      CHECK_EQ_INT(tern_record_write_alert(&wp, &w, desc[i]), TERN_OK);
      CHECK_EQ_INT(read_and_open(&rp, wp.seq - 1, out, w.len, &reader, &rec,
                                 &alert),
                   TERN_OK);
      CHECK_EQ_INT(rec.type, TERN_CONTENT_ALERT);
      CHECK_EQ_INT(rec.len, 2);
      CHECK_MEM(rec.data, want[i] + 5, 2);
    }
  }

  tern_record_prot_clear(&wp);
  tern_record_prot_clear(&rp);
}

/* Keys: directions, state, replacement and wiping. */
static void test_prot_state(void) {
  static uint8_t out[256];
  const tern_suite *s = suite(TERN_TLS_AES_128_GCM_SHA256);
  uint8_t secret[32], secret2[32], one = 1;
  tern_record_prot p, q;
  tern_writer w;
  tern_record rec;
  uint8_t alert;

  rng_fill(secret, sizeof secret);
  rng_fill(secret2, sizeof secret2);
  tern_record_prot_init(&p);
  CHECK_EQ_INT(tern_record_prot_active(&p), 0);
  CHECK_EQ_INT(tern_record_prot_active(NULL), 0);

  /* Nothing to seal or open with. */
  tern_writer_init(&w, out, sizeof out);
  CHECK_EQ_INT(tern_record_seal(&p, &w, 23, &one, 1, 0), TERN_ERR_STATE);
  rec.type = 23;
  rec.version = 0x0303;
  rec.data = out;
  rec.len = 20;
  alert = 0;
  CHECK_EQ_INT(tern_record_open(&p, &rec, &alert), TERN_ERR_STATE);
  CHECK_EQ_INT(alert, TERN_ALERT_INTERNAL_ERROR);
  alert = 0;
  CHECK_EQ_INT(tern_record_open(NULL, &rec, &alert), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(alert, TERN_ALERT_INTERNAL_ERROR);
  CHECK_EQ_INT(tern_record_open(&p, NULL, &alert), TERN_ERR_INVALID_ARG);

  /* Bad arguments to set. */
  CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, s, secret, 31),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, s, secret, 48),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, s, NULL, 32),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, NULL, secret, 32),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_prot_set(NULL, TERN_WRITE, s, secret, 32),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_prot_set(&p, (tern_direction)2, s, secret, 32),
               TERN_ERR_INVALID_ARG);
  {
    tern_suite fake = *s;
    CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, &fake, secret, 32),
                 TERN_ERR_UNSUPPORTED);
  }
  CHECK_EQ_INT(tern_record_prot_active(&p), 0);

  /* A write key does not open, a read key does not seal. */
  CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, s, secret, 32), TERN_OK);
  tern_record_prot_init(&q);
  CHECK_EQ_INT(tern_record_prot_set(&q, TERN_READ, s, secret, 32), TERN_OK);
  CHECK_EQ_INT(tern_record_prot_active(&p), 1);
  CHECK_EQ_INT(tern_record_seal(&q, &w, 23, &one, 1, 0), TERN_ERR_STATE);
  CHECK_EQ_INT(tern_record_seal(&p, &w, 23, &one, 1, 0), TERN_OK);
  rec.type = 23;
  rec.version = 0x0303;
  rec.data = out + 5;
  rec.len = w.len - 5;
  CHECK_EQ_INT(tern_record_open(&p, &rec, &alert), TERN_ERR_STATE);
  CHECK_EQ_INT(p.seq, 1);

  /* Replacing the secret keeps the context, restarts the sequence. */
  EVP_CIPHER_CTX *ctx = p.ctx;
  CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, s, secret2, 32), TERN_OK);
  CHECK(p.ctx == ctx);
  CHECK_EQ_INT(p.seq, 0);
  {
    static uint8_t ref[256];
    const uint8_t inner[2] = {1, 23};
    tern_writer_init(&w, out, sizeof out);
    CHECK_EQ_INT(tern_record_seal(&p, &w, 23, &one, 1, 0), TERN_OK);
    CHECK_EQ_INT(ref_seal(s, secret2, 0, inner, 2, ref), w.len);
    CHECK_MEM(out, ref, w.len);
    /* the old read key fails on it; the right one opens it */
    CHECK_EQ_INT(read_and_open(&q, 0, out, w.len, &reader, &rec, &alert),
                 TERN_ERR_DECRYPT);
    CHECK_EQ_INT(tern_record_prot_set(&q, TERN_READ, s, secret2, 32), TERN_OK);
    CHECK_EQ_INT(read_and_open(&q, 0, out, w.len, &reader, &rec, &alert),
                 TERN_OK);
    CHECK_EQ_INT(rec.len, 1);
    CHECK_EQ_INT(rec.data[0], 1);
    /* and the key can change suite */
    const tern_suite *s2 = suite(TERN_TLS_AES_256_GCM_SHA384);
    uint8_t sec48[48];
    rng_fill(sec48, sizeof sec48);
    CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, s2, sec48, 48), TERN_OK);
    CHECK(p.suite == s2);
    tern_writer_init(&w, out, sizeof out);
    CHECK_EQ_INT(tern_record_seal(&p, &w, 23, &one, 1, 0), TERN_OK);
    CHECK_EQ_INT(ref_seal(s2, sec48, 0, inner, 2, ref), w.len);
    CHECK_MEM(out, ref, w.len);
  }

  /* A failed set leaves no key at all, not the old one. */
  CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, s, secret, 31),
               TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_record_prot_active(&p), 0);
  CHECK(p.ctx == NULL && all_zero(p.iv, sizeof p.iv));
  CHECK_EQ_INT(tern_record_prot_set(&p, TERN_WRITE, s, secret, 32), TERN_OK);

  /* Clear wipes everything and is idempotent. */
  tern_record_prot_clear(&p);
  {
    tern_record_prot zero;
    memset(&zero, 0, sizeof zero);
    CHECK(memcmp(&p, &zero, sizeof p) == 0);
  }
  CHECK_EQ_INT(tern_record_prot_active(&p), 0);
  tern_record_prot_clear(&p);
  tern_record_prot_clear(NULL);
  tern_record_prot_clear(&q);

  /* Reader arguments. */
  {
    size_t used;
    uint8_t b = 22;
    tern_record_reader_init(&reader);
    alert = 0;
    CHECK_EQ_INT(tern_record_read(NULL, &b, 1, &used, &rec, &alert),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(alert, TERN_ALERT_INTERNAL_ERROR);
    CHECK_EQ_INT(tern_record_read(&reader, NULL, 1, &used, &rec, &alert),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_record_read(&reader, &b, 1, NULL, &rec, &alert),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_record_read(&reader, &b, 1, &used, NULL, &alert),
                 TERN_ERR_INVALID_ARG);
    /* not sticky, and alert may be NULL */
    CHECK_EQ_INT(tern_record_read(&reader, NULL, 0, &used, &rec, NULL),
                 TERN_WANT_READ);
    CHECK_EQ_INT(tern_record_read(&reader, &b, 1, &used, &rec, NULL),
                 TERN_WANT_READ);
    CHECK_EQ_INT(tern_record_reader_buffered(&reader), 1);
    tern_record_reader_wipe(&reader);
    CHECK_EQ_INT(tern_record_reader_buffered(&reader), 0);
    CHECK(all_zero(reader.buf, sizeof reader.buf));
  }
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */
/* ------------------------------------------------------------------ */

/* A random length in [0, max], biased towards the edges. */
static size_t random_len(size_t max) {
  switch (rng_below(6)) {
  case 0: return 0;
  case 1: return max;
  case 2: return rng_below(max < 32 ? max + 1 : 32);
  default: return rng_below(max + 1);
  }
}

/*
 * Batches of 1..4 records of random type, length 0..2^14 and padding up
 * to the limit, sealed into one buffer, checked against the reference
 * AEAD, then read back in random pieces and opened.
 */
static void test_round_trips(uint16_t suite_id, int batches) {
  enum { MAXREC = 4 };
  static uint8_t wire[MAXREC * TERN_RECORD_MAX_WIRE], ref[TERN_RECORD_MAX_WIRE];
  static uint8_t content[MAXREC][TERN_RECORD_MAX_PLAINTEXT + 1];
  static uint8_t inner[TERN_RECORD_MAX_PLAINTEXT + 1];
  static const uint8_t types[3] = {TERN_CONTENT_ALERT, TERN_CONTENT_HANDSHAKE,
                                   TERN_CONTENT_APPLICATION_DATA};
  const tern_suite *s = suite(suite_id);
  uint8_t secret[48];
  tern_record_prot wp, rp;
  int bad_seal = 0, bad_ref = 0, bad_open = 0, records = 0;
  size_t bytes = 0;

  rng_fill(secret, sizeof secret);
  tern_record_prot_init(&wp);
  tern_record_prot_init(&rp);
  CHECK_EQ_INT(tern_record_prot_set(&wp, TERN_WRITE, s, secret, s->hash->len),
               TERN_OK);
  CHECK_EQ_INT(tern_record_prot_set(&rp, TERN_READ, s, secret, s->hash->len),
               TERN_OK);
  tern_record_reader_init(&reader);

  for (int b = 0; b < batches; b++) {
    size_t n = 1 + rng_below(MAXREC), lens[MAXREC], pads[MAXREC];
    uint8_t tys[MAXREC];
    tern_writer w;
    tern_writer_init(&w, wire, sizeof wire);
    for (size_t i = 0; i < n; i++) {
      size_t before = w.len;
      uint64_t seq = wp.seq;
      tys[i] = types[rng_below(3)];
      lens[i] = random_len(TERN_RECORD_MAX_PLAINTEXT);
      if (lens[i] == 0 && tys[i] != TERN_CONTENT_APPLICATION_DATA) lens[i] = 1;
      pads[i] = rng_below(2) ? 0 : random_len(TERN_RECORD_MAX_PLAINTEXT - lens[i]);
      rng_fill(content[i], lens[i]);
      if (tern_record_seal(&wp, &w, tys[i], content[i], lens[i], pads[i]) !=
              TERN_OK ||
          w.len != before + 5 + lens[i] + 1 + pads[i] + s->tag_len) {
        bad_seal++;
        continue;
      }
      /* the reference AEAD makes the same bytes */
      memcpy(inner, content[i], lens[i]);
      inner[lens[i]] = tys[i];
      memset(inner + lens[i] + 1, 0, pads[i]);
      size_t rl = ref_seal(s, secret, seq, inner, lens[i] + 1 + pads[i], ref);
      if (rl != w.len - before || memcmp(ref, wire + before, rl) != 0) bad_ref++;
    }
    bytes += w.len;

    /* read back in random pieces */
    size_t pos = 0, got = 0, max_piece = 1 + rng_below(w.len);
    while (pos < w.len) {
      size_t piece = 1 + rng_below(max_piece), used;
      if (piece > w.len - pos) piece = w.len - pos;
      const uint8_t *in = wire + pos;
      size_t left = piece;
      for (;;) {
        tern_record rec;
        uint8_t alert;
        int rc = tern_record_read(&reader, in, left, &used, &rec, &alert);
        in += used;
        left -= used;
        if (rc == TERN_WANT_READ) break;
        if (rc != TERN_OK || got >= n) {
          bad_open++;
          break;
        }
        if (tern_record_open(&rp, &rec, &alert) != TERN_OK ||
            rec.type != tys[got] || rec.len != lens[got] ||
            memcmp(rec.data, content[got], lens[got]) != 0)
          bad_open++;
        got++;
        records++;
      }
      pos += piece;
    }
    if (got != n) bad_open++;
  }
  CHECK_EQ_INT(bad_seal, 0);
  CHECK_EQ_INT(bad_ref, 0);
  CHECK_EQ_INT(bad_open, 0);
  CHECK_EQ_INT(wp.seq, rp.seq);
  CHECK(records >= batches);
  CHECK(bytes > 0);
  tern_record_prot_clear(&wp);
  tern_record_prot_clear(&rp);
}

/*
 * Once the keys are set, sealing, reading and opening records allocate
 * nothing in libcrypto (and record.c calls no allocator of its own).
 */
static void test_no_allocation(uint16_t suite_id) {
  static uint8_t wire[TERN_RECORD_MAX_WIRE], data[1000];
  const tern_suite *s = suite(suite_id);
  uint8_t secret[48];
  tern_record_prot wp, rp;
  int bad = 0;

  rng_fill(secret, sizeof secret);
  rng_fill(data, sizeof data);
  tern_record_prot_init(&wp);
  tern_record_prot_init(&rp);
  CHECK_EQ_INT(tern_record_prot_set(&wp, TERN_WRITE, s, secret, s->hash->len), TERN_OK);
  CHECK_EQ_INT(tern_record_prot_set(&rp, TERN_READ, s, secret, s->hash->len), TERN_OK);
  tern_record_reader_init(&reader);
  CHECK(crypto_allocs > 0); /* the counter is live */
  unsigned long before = crypto_allocs;
  for (int i = 0; i < 1000; i++) {
    tern_writer w;
    tern_record rec;
    uint8_t alert;
    size_t used;
    tern_writer_init(&w, wire, sizeof wire);
    if (tern_record_seal(&wp, &w, 23, data, (size_t)i, 7) != TERN_OK ||
        tern_record_read(&reader, wire, w.len, &used, &rec, &alert) !=
            TERN_OK ||
        tern_record_open(&rp, &rec, &alert) != TERN_OK ||
        rec.len != (size_t)i)
      bad++;
    /* a failed open (tampered tag) allocates nothing either */
    wire[w.len - 1] ^= 1;
    if (tern_record_read(&reader, wire, w.len, &used, &rec, &alert) !=
            TERN_OK ||
        tern_record_open(&rp, &rec, &alert) != TERN_ERR_DECRYPT)
      bad++;
  }
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(crypto_allocs - before, 0);
  /* a key change reuses the context */
  EVP_CIPHER_CTX *ctx = wp.ctx;
  CHECK_EQ_INT(tern_record_prot_set(&wp, TERN_WRITE, s, secret, s->hash->len), TERN_OK);
  CHECK(wp.ctx == ctx);
  tern_record_prot_clear(&wp);
  tern_record_prot_clear(&rp);
}

/* ------------------------------------------------------------------ */
/* AES-128-CCM and AES-128-CCM-8                                       */
/* ------------------------------------------------------------------ */

/*
 * CCM records against the reference AEAD, byte for byte, at the lengths
 * where CCM's blocks and length encoding change; every byte of one
 * record flipped and every cut of its body refused with bad_record_mac;
 * records shorter than the suite's tag refused before decryption.
 */
static void test_ccm(uint16_t suite_id) {
  static uint8_t wire[TERN_RECORD_MAX_WIRE], ref[TERN_RECORD_MAX_WIRE];
  static uint8_t data[TERN_RECORD_MAX_PLAINTEXT], inner[TERN_RECORD_MAX_PLAINTEXT + 1];
  static const size_t lens[] = {0, 1, 14, 15, 16, 17, 255, 256, 1000, TERN_RECORD_MAX_PLAINTEXT};
  const tern_suite *s = suite(suite_id);
  uint8_t secret[32], buf[64];
  tern_record_prot wp, rp;
  tern_record rec;
  uint8_t alert;
  int bad_ref = 0, bad_open = 0, accepted = 0, wrong = 0;
  size_t one_len = 0;
  uint64_t one_seq = 0;

  rng_fill(secret, sizeof secret);
  rng_fill(data, sizeof data);
  tern_record_prot_init(&wp);
  tern_record_prot_init(&rp);
  CHECK_EQ_INT(tern_record_prot_set(&wp, TERN_WRITE, s, secret, 32), TERN_OK);
  CHECK_EQ_INT(tern_record_prot_set(&rp, TERN_READ, s, secret, 32), TERN_OK);
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    tern_writer w;
    uint64_t seq = wp.seq;
    size_t rl;
    tern_writer_init(&w, wire, sizeof wire);
    CHECK_EQ_INT(tern_record_seal(&wp, &w, TERN_CONTENT_APPLICATION_DATA, data, lens[i], 0),
                 TERN_OK);
    CHECK_EQ_INT(w.len, 5 + lens[i] + 1 + s->tag_len);
    memcpy(inner, data, lens[i]);
    inner[lens[i]] = TERN_CONTENT_APPLICATION_DATA;
    rl = ref_seal(s, secret, seq, inner, lens[i] + 1, ref);
    if (rl != w.len || memcmp(ref, wire, rl) != 0) bad_ref++;
    if (read_and_open(&rp, seq, wire, w.len, &reader, &rec, &alert) != TERN_OK ||
        rec.len != lens[i] || memcmp(rec.data, data, lens[i]) != 0)
      bad_open++;
    if (lens[i] == 16) {
      memcpy(buf, wire, w.len);
      one_len = w.len;
      one_seq = seq;
    }
  }
  CHECK_EQ_INT(bad_ref, 0);
  CHECK_EQ_INT(bad_open, 0);

  /* every byte after the header flipped: bad_record_mac, nothing kept */
  CHECK_EQ_INT(one_len, 5 + 16 + 1 + s->tag_len);
  for (size_t i = 5; i < one_len; i++) {
    uint8_t bent[64];
    int rc;
    memcpy(bent, buf, one_len);
    bent[i] ^= (uint8_t)(1u << (i % 8));
    alert = 0;
    rc = read_and_open(&rp, one_seq, bent, one_len, &reader, &rec, &alert);
    if (rc == TERN_OK) accepted++;
    if (rc != TERN_ERR_DECRYPT || alert != TERN_ALERT_BAD_RECORD_MAC ||
        !all_zero(rec.data, rec.len) || rp.seq != one_seq)
      wrong++;
  }
  CHECK_EQ_INT(accepted, 0);
  CHECK_EQ_INT(wrong, 0);
  CHECK_EQ_INT(read_and_open(&rp, one_seq, buf, one_len, &reader, &rec, &alert), TERN_OK);
  CHECK_EQ_INT(rec.len, 16);

  /* the body cut to k bytes (a shorter tag, or part of one): refused */
  wrong = 0;
  for (size_t k = 0; k < one_len - 5; k++) {
    uint8_t cut[64];
    memcpy(cut, buf, 5 + k);
    cut[3] = 0;
    cut[4] = (uint8_t)k;
    alert = 0;
    if (read_and_open(&rp, one_seq, cut, 5 + k, &reader, &rec, &alert) != TERN_ERR_DECRYPT ||
        alert != TERN_ALERT_BAD_RECORD_MAC || rp.seq != one_seq)
      wrong++;
  }
  CHECK_EQ_INT(wrong, 0);
  tern_record_prot_clear(&wp);
  tern_record_prot_clear(&rp);
}

/*
 * The tag length belongs to the suite: TLS_AES_128_CCM_SHA256 and
 * TLS_AES_128_CCM_8_SHA256 share key and IV for one secret, yet neither
 * opens the other's records (16-byte vs 8-byte tag), and a CCM record
 * with its tag shortened to 8 bytes does not pass as CCM-8.
 */
static void test_tag_lengths(void) {
  static uint8_t wire[256];
  const tern_suite *ccm = suite(TERN_TLS_AES_128_CCM_SHA256);
  const tern_suite *ccm8 = suite(TERN_TLS_AES_128_CCM_8_SHA256);
  const uint8_t msg[20] = "twenty bytes of data";
  uint8_t secret[32];
  tern_record_prot w16, w8, r16, r8;
  tern_record rec;
  tern_writer w;
  uint8_t alert;
  size_t n16, n8;

  rng_fill(secret, sizeof secret);
  tern_record_prot_init(&w16);
  tern_record_prot_init(&w8);
  tern_record_prot_init(&r16);
  tern_record_prot_init(&r8);
  CHECK_EQ_INT(tern_record_prot_set(&w16, TERN_WRITE, ccm, secret, 32), TERN_OK);
  CHECK_EQ_INT(tern_record_prot_set(&w8, TERN_WRITE, ccm8, secret, 32), TERN_OK);
  CHECK_EQ_INT(tern_record_prot_set(&r16, TERN_READ, ccm, secret, 32), TERN_OK);
  CHECK_EQ_INT(tern_record_prot_set(&r8, TERN_READ, ccm8, secret, 32), TERN_OK);

  tern_writer_init(&w, wire, sizeof wire);
  CHECK_EQ_INT(tern_record_seal(&w16, &w, TERN_CONTENT_HANDSHAKE, msg, sizeof msg, 0), TERN_OK);
  n16 = w.len;
  CHECK_EQ_INT(n16, 5 + sizeof msg + 1 + 16);
  alert = 0;
  CHECK_EQ_INT(read_and_open(&r8, 0, wire, n16, &reader, &rec, &alert), TERN_ERR_DECRYPT);
  CHECK_EQ_INT(alert, TERN_ALERT_BAD_RECORD_MAC);
  /* the same record with its tag cut to 8 bytes */
  wire[4] = (uint8_t)(n16 - 5 - 8);
  CHECK_EQ_INT(read_and_open(&r8, 0, wire, n16 - 8, &reader, &rec, &alert), TERN_ERR_DECRYPT);
  CHECK_EQ_INT(read_and_open(&r16, 0, wire, n16 - 8, &reader, &rec, &alert), TERN_ERR_DECRYPT);

  tern_writer_init(&w, wire, sizeof wire);
  CHECK_EQ_INT(tern_record_seal(&w8, &w, TERN_CONTENT_HANDSHAKE, msg, sizeof msg, 0), TERN_OK);
  n8 = w.len;
  CHECK_EQ_INT(n8, 5 + sizeof msg + 1 + 8);
  CHECK_EQ_INT(read_and_open(&r16, 0, wire, n8, &reader, &rec, &alert), TERN_ERR_DECRYPT);
  CHECK_EQ_INT(alert, TERN_ALERT_BAD_RECORD_MAC);
  CHECK_EQ_INT(read_and_open(&r8, 0, wire, n8, &reader, &rec, &alert), TERN_OK);
  CHECK_EQ_INT(rec.type, TERN_CONTENT_HANDSHAKE);
  CHECK_MEM(rec.data, msg, sizeof msg);
  /* a CCM-8 record of exactly a tag, and one a byte shorter */
  {
    uint8_t hdr[5 + 8] = {23, 3, 3, 0, 8};
    CHECK_EQ_INT(read_and_open(&r8, 1, hdr, 13, &reader, &rec, &alert), TERN_ERR_DECRYPT);
    hdr[4] = 7;
    CHECK_EQ_INT(read_and_open(&r8, 1, hdr, 12, &reader, &rec, &alert), TERN_ERR_DECRYPT);
    CHECK_EQ_INT(alert, TERN_ALERT_BAD_RECORD_MAC);
  }
  tern_record_prot_clear(&w16);
  tern_record_prot_clear(&w8);
  tern_record_prot_clear(&r16);
  tern_record_prot_clear(&r8);
}

int main(int argc, char **argv) {
  static const uint16_t suites[N_SUITES] = {
      TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_256_GCM_SHA384,
      TERN_TLS_CHACHA20_POLY1305_SHA256, TERN_TLS_AES_128_CCM_SHA256,
      TERN_TLS_AES_128_CCM_8_SHA256};
  /* Before libcrypto allocates anything. */
  if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)) {
    fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
    return 1;
  }
  if (argc > 1) rng_state = strtoull(argv[1], NULL, 0);
  if (rng_state == 0) rng_state = 1; /* xorshift's one fixed point */
  uint64_t seed = rng_state;

  test_trace_seal();
  test_trace_open();
  test_trace_plain();
  test_fragmentation();
  for (size_t i = 0; i < sizeof victims / sizeof victims[0]; i++) {
    test_truncation(&victims[i]);
    test_flips(&victims[i]);
  }
  test_header_checks();
  for (int i = 0; i < N_SUITES; i++) test_inner_plaintext(suites[i]);
  test_seq_exhaustion();
  test_write_limits();
  test_prot_state();
  for (int i = 0; i < N_SUITES; i++) test_no_allocation(suites[i]);
  for (int i = 0; i < N_SUITES; i++) test_round_trips(suites[i], 120);
  test_ccm(TERN_TLS_AES_128_CCM_SHA256);
  test_ccm(TERN_TLS_AES_128_CCM_8_SHA256);
  test_tag_lengths();

  tern_record_reader_wipe(&reader);
  vec_free_all();
  printf("record layer (seed 0x%016" PRIx64 "): ", seed);
  return check_report();
}
