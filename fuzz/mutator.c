/*
 * mutator.c - a structure-aware libFuzzer mutator for the handshake
 * targets (tls_client, tls_server: FZ_MUT_TLS=1; quic_client,
 * quic_server: FZ_MUT_TLS=0) and the ticket target (FZ_MUT_TICKET=1:
 * the fields of a session blob or ticket plaintext). docs/fuzzing.md has
 * the why and the measured effect.
 *
 * Byte-level mutation cannot grow one handshake message by a few thousand
 * bytes and keep every length that encloses it right (the chunk's u16,
 * the record's u16, the handshake header's u24, the vector's own length,
 * the extension block's u16 ...). This mutator parses an input the way
 * the harness (fuzz.c, fz_run_input) and tern read it, into:
 *
 *   - vectors: every length-prefixed span it knows (session blob, chunk,
 *     plaintext record, handshake message, the vectors inside ClientHello,
 *     ServerHello/HRR, NewSessionTicket, EncryptedExtensions, Certificate,
 *     CertificateRequest, CertificateVerify, CompressedCertificate, each
 *     extension block, each extension, and inside key_share,
 *     pre_shared_key, cookie, ALPN, server_name, groups, signature
 *     algorithms and supported_versions), with where its length field is;
 *   - items: the things a list holds (chunks, records, messages,
 *     extensions, certificate entries) with the vector that holds them;
 *   - type sites: chunk ops, message types, extension types and the inner
 *     content type of a sealed chunk.
 *
 * Chunk framing (fuzz.h): flags, [u16 session length, blob] when
 * FZ_F_SESSION, then (op, u16 len, data). In TLS, a RAW chunk holds
 * records (type, version, u16 length, body), handshake records hold
 * handshake messages; a SEAL_* chunk is one TLSInnerPlaintext (content,
 * type, zero padding) and its content is handshake messages when the
 * type is 22. In QUIC a chunk of level 0..3 is CRYPTO data: handshake
 * messages, the last one maybe cut.
 *
 * A mutation then edits one of them and fixes every length field whose
 * span encloses the edit (so the edit stays invisible to every parser
 * above it): resize a vector (to a boundary of tern's limits,
 * src/codec/limits.h: max-1, max, max+1, or 0, 1, n +- 1, 2n, ...), byte-
 * mutate inside one vector with LLVMFuzzerMutate and re-frame it, set one
 * length field alone to a boundary (the framing lies), duplicate, drop,
 * swap or repeat an item up to a limit's count (tickets, key updates,
 * empty records, certificate requests in a row, chain length), splice an
 * item (extension, message, certificate entry, chunk) seen in another
 * input into this one, or change a type. A fifth of the calls, and every
 * input that does not parse, go to plain LLVMFuzzerMutate. Whatever the
 * mutation, a session blob's check value is then made right again (seven
 * times in eight), so mutated blobs get past tern_session_decode's check.
 * LLVMFuzzerCustomCrossOver keeps one input's beginning and continues
 * with another's chunks, or splices one item of the second into the first.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "codec/limits.h"
#include "fuzz.h"

#ifndef FZ_MUT_TLS
#define FZ_MUT_TLS 1
#endif
#ifndef FZ_MUT_TICKET
#define FZ_MUT_TICKET 0
#endif

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
                                 uint8_t *out, size_t max_out, unsigned int seed);

/* ------------------------------------------------------------------ */
/* what an input is made of                                             */
/* ------------------------------------------------------------------ */

enum vkind {
  V_SESSION, V_CHUNK, V_RECORD, V_MSG, V_EXTS, V_EXT, V_TICKET, V_NONCE, V_SID,
  V_SUITES, V_CTX, V_CERTLIST, V_CERT, V_SIG, V_COOKIE, V_KEY, V_LIST, V_OTHER
};
enum ikind { I_CHUNK, I_RECORD, I_MSG, I_EXT, I_CERT, I_KINDS };
enum tkind { T_OP, T_MSG, T_EXT, T_CONTENT };

typedef struct { uint32_t len_off, start, end; uint8_t width, kind; } vec_t;
typedef struct { uint32_t start, end; int32_t in; uint8_t kind; } item_t;
typedef struct { uint32_t off; uint8_t kind; } site_t;

#define MAX_VECS 4096
#define MAX_ITEMS 2048
#define MAX_SITES 2048

typedef struct {
  const uint8_t *b;
  size_t size;
  vec_t v[MAX_VECS];
  item_t it[MAX_ITEMS];
  site_t st[MAX_SITES];
  int nv, ni, ns;
} shape;

static uint32_t get(const uint8_t *p, int w) {
  uint32_t x = 0;
  for (int i = 0; i < w; i++) x = x << 8 | p[i];
  return x;
}

static void put(uint8_t *p, int w, uint32_t x) {
  for (int i = w - 1; i >= 0; i--, x >>= 8) p[i] = (uint8_t)x;
}

/* A vector whose w-byte length is at off and must end by lim: its index,
   or -1 (no room, or it does not fit: the parse of that part stops). */
static int vec(shape *s, size_t off, int w, size_t lim, int kind) {
  uint32_t n;
  if (off + (size_t)w > lim) return -1;
  n = get(s->b + off, w);
  if (off + (size_t)w + n > lim || s->nv == MAX_VECS) return -1;
  s->v[s->nv] = (vec_t){(uint32_t)off, (uint32_t)(off + (size_t)w),
                        (uint32_t)(off + (size_t)w + n), (uint8_t)w, (uint8_t)kind};
  return s->nv++;
}

static void item(shape *s, size_t start, size_t end, int in, int kind) {
  if (s->ni < MAX_ITEMS) s->it[s->ni++] = (item_t){(uint32_t)start, (uint32_t)end, in, (uint8_t)kind};
}

static void site(shape *s, size_t off, int kind) {
  if (s->ns < MAX_SITES) s->st[s->ns++] = (site_t){(uint32_t)off, (uint8_t)kind};
}

/* A list of w-byte-length vectors filling [p, e) exactly, or nothing. */
static void vec_list(shape *s, size_t p, size_t e, int w, int kind) {
  int i;
  while (p < e && (i = vec(s, p, w, e, kind)) >= 0) p = s->v[i].end;
}

/* Inside one extension's data, for the extensions whose vectors tern keeps. */
static void ext_body(shape *s, uint16_t type, size_t p, size_t e) {
  const uint8_t *b = s->b;
  size_t n = e - p;
  int i, j;
  switch (type) {
  case 44: /* cookie */
    (void)vec(s, p, 2, e, V_COOKIE);
    break;
  case 51: /* key_share: a list (ClientHello), one entry (ServerHello) or a group (HRR) */
    if (n >= 2 && 2 + get(b + p, 2) == n) {
      if ((i = vec(s, p, 2, e, V_LIST)) < 0) break;
      for (size_t q = p + 2; q + 2 < e;) {
        if ((j = vec(s, q + 2, 2, e, V_KEY)) < 0) break;
        q = s->v[j].end;
      }
    } else if (n >= 4) {
      (void)vec(s, p + 2, 2, e, V_KEY);
    }
    break;
  case 41: /* pre_shared_key (ClientHello): identities, binders */
    if (n >= 2 && (i = vec(s, p, 2, e, V_LIST)) >= 0) {
      size_t q = s->v[i].start;
      while (q < s->v[i].end && (j = vec(s, q, 2, s->v[i].end, V_TICKET)) >= 0)
        q = s->v[j].end + 4;
      if ((j = vec(s, s->v[i].end, 2, e, V_LIST)) >= 0)
        vec_list(s, s->v[j].start, s->v[j].end, 1, V_OTHER);
    }
    break;
  case 16: /* ALPN */
    if ((i = vec(s, p, 2, e, V_LIST)) >= 0) vec_list(s, s->v[i].start, s->v[i].end, 1, V_OTHER);
    break;
  case 0: /* server_name */
    if ((i = vec(s, p, 2, e, V_LIST)) >= 0) {
      size_t q = s->v[i].start;
      while (q + 1 < s->v[i].end && (j = vec(s, q + 1, 2, s->v[i].end, V_OTHER)) >= 0)
        q = s->v[j].end;
    }
    break;
  case 10: case 13: case 45: case 50: case 27: /* groups, sig algs, psk modes, cert sig algs, compress */
    (void)vec(s, p, type == 45 || type == 27 ? 1 : 2, e, V_LIST);
    break;
  case 43: /* supported_versions (ClientHello) */
    if (n != 2) (void)vec(s, p, 1, e, V_LIST);
    break;
  case 0xfe0d: /* encrypted_client_hello (RFC 9849 §5): retry_configs, or an outer one */
    if (n >= 2 && get(s->b + p, 2) == n - 2) {
      /* ECHConfigList: version, contents<2>{config_id, kem, public_key<2>,
         cipher_suites<2>, maximum_name_length, public_name<1>, extensions<2>} */
      if ((i = vec(s, p, 2, e, V_LIST)) < 0) break;
      for (size_t q = s->v[i].start; q + 4 <= s->v[i].end; q = s->v[j].end) {
        int k;
        if ((j = vec(s, q + 2, 2, s->v[i].end, V_OTHER)) < 0) break;
        if ((k = vec(s, s->v[j].start + 3, 2, s->v[j].end, V_KEY)) < 0) continue;
        if ((k = vec(s, s->v[k].end, 2, s->v[j].end, V_LIST)) < 0) continue;
        if ((k = vec(s, s->v[k].end + 1, 1, s->v[j].end, V_OTHER)) < 0) continue;
        (void)vec(s, s->v[k].end, 2, s->v[j].end, V_OTHER);
      }
    } else if (n >= 10 && s->b[p] == 0) {
      /* type outer, kdf, aead, config_id, enc<2>, payload<2> */
      if ((i = vec(s, p + 6, 2, e, V_KEY)) >= 0) (void)vec(s, s->v[i].end, 2, e, V_OTHER);
    }
    break;
  default:
    break;
  }
}

/* An extension block (u16) at p; its vector index or -1. */
static int exts(shape *s, size_t p, size_t lim) {
  int x = vec(s, p, 2, lim, V_EXTS), i;
  size_t q;
  if (x < 0) return -1;
  q = s->v[x].start;
  while (q + 4 <= s->v[x].end && (i = vec(s, q + 2, 2, s->v[x].end, V_EXT)) >= 0) {
    site(s, q, T_EXT);
    item(s, q, s->v[i].end, x, I_EXT);
    ext_body(s, (uint16_t)get(s->b + q, 2), s->v[i].start, s->v[i].end);
    q = s->v[i].end;
  }
  return x;
}

static void msg_body(shape *s, uint8_t type, size_t p, size_t e) {
  int i, j;
  switch (type) {
  case 1: /* ClientHello */
    if ((i = vec(s, p + 34, 1, e, V_SID)) < 0) break;
    if ((i = vec(s, s->v[i].end, 2, e, V_SUITES)) < 0) break;
    if ((i = vec(s, s->v[i].end, 1, e, V_OTHER)) < 0) break;
    (void)exts(s, s->v[i].end, e);
    break;
  case 2: /* ServerHello, HelloRetryRequest */
    if ((i = vec(s, p + 34, 1, e, V_SID)) < 0) break;
    (void)exts(s, s->v[i].end + 3, e);
    break;
  case 4: /* NewSessionTicket */
    if ((i = vec(s, p + 8, 1, e, V_NONCE)) < 0) break;
    if ((i = vec(s, s->v[i].end, 2, e, V_TICKET)) < 0) break;
    (void)exts(s, s->v[i].end, e);
    break;
  case 8: /* EncryptedExtensions */
    (void)exts(s, p, e);
    break;
  case 11: /* Certificate */
    if ((i = vec(s, p, 1, e, V_CTX)) < 0) break;
    if ((i = vec(s, s->v[i].end, 3, e, V_CERTLIST)) < 0) break;
    for (size_t q = s->v[i].start; q < s->v[i].end;) {
      int x;
      if ((j = vec(s, q, 3, s->v[i].end, V_CERT)) < 0) break;
      if ((x = exts(s, s->v[j].end, s->v[i].end)) < 0) break;
      item(s, q, s->v[x].end, i, I_CERT);
      q = s->v[x].end;
    }
    break;
  case 13: /* CertificateRequest */
    if ((i = vec(s, p, 1, e, V_CTX)) < 0) break;
    (void)exts(s, s->v[i].end, e);
    break;
  case 15: /* CertificateVerify */
    (void)vec(s, p + 2, 2, e, V_SIG);
    break;
  case 25: /* CompressedCertificate */
    (void)vec(s, p + 5, 3, e, V_CERT);
    break;
  default:
    break;
  }
}

/* Handshake messages in [p, e), held by vector `in`. */
static void msgs(shape *s, size_t p, size_t e, int in) {
  int i;
  while (p + 4 <= e && (i = vec(s, p + 1, 3, e, V_MSG)) >= 0) {
    site(s, p, T_MSG);
    item(s, p, s->v[i].end, in, I_MSG);
    msg_body(s, s->b[p], s->v[i].start, s->v[i].end);
    p = s->v[i].end;
  }
}

static void chunk_body(shape *s, uint8_t op, int c) {
  size_t p = s->v[c].start, e = s->v[c].end;
  if (op == FZ_OP_ACTION) return;
  if (!FZ_MUT_TLS) {
    if (op <= 3) msgs(s, p, e, c);
    return;
  }
  op &= (uint8_t)~(FZ_OP_HOLD | FZ_OP_PIECES);
  if (op == FZ_OP_RAW) {
    int r;
    while (p + 5 <= e && (r = vec(s, p + 3, 2, e, V_RECORD)) >= 0) {
      item(s, p, s->v[r].end, c, I_RECORD);
      if (s->b[p] == 22) msgs(s, s->v[r].start, s->v[r].end, r);
      p = s->v[r].end;
    }
  } else if (op >= FZ_OP_SEAL_HS && op <= FZ_OP_SEAL_EARLY) {
    size_t t = e;
    while (t > p && s->b[t - 1] == 0) t--;
    if (t == p) return;
    site(s, t - 1, T_CONTENT);
    if (s->b[t - 1] == 22) msgs(s, p, t - 1, c);
  }
}

/* A session blob (engine/ticket.c: version, suite, psk<u8>, 20 bytes of
   times and limits, alpn<u8>, server_name<u8>, ticket<u16>, check[8]) or,
   with blob 0, a ticket plaintext (the same up to server_name). */
static void session_fields(shape *s, size_t p, size_t e, int blob) {
  int i;
  if ((i = vec(s, p + 3, 1, e, V_OTHER)) < 0) return;
  if ((i = vec(s, s->v[i].end + 20, 1, e, V_OTHER)) < 0) return;
  if ((i = vec(s, s->v[i].end, 1, e, V_OTHER)) < 0) return;
  if (blob) (void)vec(s, s->v[i].end, 2, e, V_TICKET);
}

static void parse(shape *s, const uint8_t *b, size_t size) {
  size_t p = 1;
  s->b = b;
  s->size = size;
  s->nv = s->ni = s->ns = 0;
  if (size < 1) return;
  if (FZ_MUT_TICKET) {
    /* the ticket target: mode, then a session blob or a ticket plaintext */
    session_fields(s, 1, size, !(b[0] & 1));
    return;
  }
  if (b[0] & FZ_F_SESSION) {
    int i = vec(s, 1, 2, size, V_SESSION);
    if (i < 0) return;
    session_fields(s, s->v[i].start, s->v[i].end, 1);
    p = s->v[i].end;
  }
  while (p + 3 <= size) {
    int c = vec(s, p + 1, 2, size, V_CHUNK);
    if (c < 0) return;
    site(s, p, T_OP);
    item(s, p, s->v[c].end, -1, I_CHUNK);
    chunk_body(s, b[p], c);
    p = s->v[c].end;
  }
}

/* ------------------------------------------------------------------ */
/* edits that keep the framing                                          */
/* ------------------------------------------------------------------ */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return n ? (uint32_t)(rng_state % n) : 0;
}

static uint32_t width_max(int w) { return w == 1 ? 0xff : w == 2 ? 0xffff : 0xffffff; }

/* Replaces buf[a, b) with ins[0, n) and moves by the difference every
   length whose span holds [lo, hi) (self excepted: set to self_len when
   self >= 0). Returns the new size, or 0 when a length would not fit or
   the input would pass max. */
static size_t edit(shape *s, uint8_t *buf, size_t max, size_t a, size_t b, const uint8_t *ins,
                   size_t n, size_t lo, size_t hi, int self, size_t self_len) {
  long delta = (long)n - (long)(b - a);
  size_t size = s->size;
  uint8_t *copy;
  if ((long)size + delta > (long)max || (long)size + delta < 1) return 0;
  if (self >= 0 && self_len > width_max(s->v[self].width)) return 0;
  for (int i = 0; i < s->nv; i++) {
    vec_t *w = &s->v[i];
    if (i == self || w->start > lo || hi > w->end) continue;
    if ((long)(w->end - w->start) + delta < 0 ||
        (long)(w->end - w->start) + delta > (long)width_max(w->width))
      return 0;
  }
  if ((copy = malloc(n + 1)) == NULL) return 0;
  if (n) memcpy(copy, ins, n);
  for (int i = 0; i < s->nv; i++) {
    vec_t *w = &s->v[i];
    if (i == self) put(buf + w->len_off, w->width, (uint32_t)self_len);
    else if (w->start <= lo && hi <= w->end)
      put(buf + w->len_off, w->width, (uint32_t)((long)(w->end - w->start) + delta));
  }
  memmove(buf + a + n, buf + b, size - b);
  if (n) memcpy(buf + a, copy, n);
  free(copy);
  return (size_t)((long)size + delta);
}

/* Lengths worth trying for a vector: tern's limits around it, and the
   usual edges. */
static size_t pick_len(const vec_t *v) {
  size_t n = v->end - v->start;
  static const size_t generic[] = {0, 1, 2, 255, 256, 16383, 16384, 16385};
  switch (rnd(3) == 0 ? 99 : v->kind) {
  case V_TICKET: return TERN_TICKET_MAX - 1 + rnd(3);
  case V_SESSION: return TERN_SESSION_MAX - 1 + rnd(3);
  case V_COOKIE: return TERN_MAX_COOKIE - 1 + rnd(3);
  case V_NONCE: case V_SID: case V_CTX: return rnd(2) ? 255 : 32 + rnd(2);
  case V_CHUNK: case V_RECORD:
    return (rnd(2) ? 16384 : 16640) + rnd(3) - 1 + (v->kind == V_CHUNK ? 16 : 0);
  default: break;
  }
  switch (rnd(6)) {
  case 0: return n + 1;
  case 1: return n ? n - 1 : 0;
  case 2: return n * 2 + 1;
  case 3: return n / 2;
  case 4: return rnd((uint32_t)n * 2 + 16);
  default: return generic[rnd(sizeof generic / sizeof generic[0])];
  }
}

/* Resizes vector i to m bytes: grows with copies of its own bytes, zeros
   or random bytes (at its end or inside), shrinks from its end or inside. */
static size_t resize(shape *s, uint8_t *buf, size_t max, int i, size_t m) {
  vec_t *v = &s->v[i];
  size_t n = v->end - v->start, r;
  if (m > width_max(v->width) || m == n) return 0;
  if (m > n) {
    size_t add = m - n, pos = rnd(2) ? v->end : v->start + rnd((uint32_t)n + 1);
    uint8_t *fill;
    if ((long)s->size + (long)add > (long)max) return 0;
    if ((fill = malloc(add)) == NULL) return 0;
    switch (rnd(3)) {
    case 0:
      if (n) {
        for (size_t k = 0; k < add; k++) fill[k] = s->b[v->start + k % n];
        break;
      }
      /* fall through */
    case 1: memset(fill, rnd(4) ? 0 : 0x41, add); break;
    default:
      for (size_t k = 0; k < add; k++) fill[k] = (uint8_t)rnd(256);
    }
    r = edit(s, buf, max, pos, pos, fill, add, v->len_off, v->end, i, m);
    free(fill);
    return r;
  }
  {
    size_t del = n - m, pos = rnd(2) ? v->end - del : v->start + rnd((uint32_t)m + 1);
    return edit(s, buf, max, pos, pos + del, NULL, 0, v->len_off, v->end, i, m);
  }
}

/* Byte-level mutation inside one vector, re-framed. */
static size_t mutate_inside(shape *s, uint8_t *buf, size_t max, int i) {
  vec_t *v = &s->v[i];
  size_t n = v->end - v->start, cap = n * 2 + 64, m, r;
  uint8_t *tmp;
  if (cap > max - s->size + n) cap = max - s->size + n;
  if (cap > width_max(v->width)) cap = width_max(v->width);
  if (cap == 0 || (tmp = malloc(cap)) == NULL) return 0;
  memcpy(tmp, s->b + v->start, n < cap ? n : cap);
  m = LLVMFuzzerMutate(tmp, n < cap ? n : cap, cap);
  r = edit(s, buf, max, v->start, v->end, tmp, m, v->len_off, v->end, i, m);
  free(tmp);
  return r;
}

/* Items seen in inputs, to splice into others. */
#define POOL 64
#define POOL_ITEM_MAX 4096
static struct {
  uint8_t *b;
  size_t len;
} pool[I_KINDS][POOL];

static void remember(const shape *s) {
  const item_t *t;
  size_t len;
  uint8_t *nb;
  if (s->ni == 0) return;
  t = &s->it[rnd((uint32_t)s->ni)];
  len = t->end - t->start;
  if (len == 0 || len > POOL_ITEM_MAX) return;
  if ((nb = malloc(len)) == NULL) return;
  memcpy(nb, s->b + t->start, len);
  {
    uint32_t k = rnd(POOL);
    free(pool[t->kind][k].b);
    pool[t->kind][k].b = nb;
    pool[t->kind][k].len = len;
  }
}

/* How many of a thing in a row tern counts (limits.h), for repeat. */
static size_t limit_count(int kind) {
  static const size_t chunk[] = {TERN_TLS_MAX_EMPTY_RECORDS, TERN_MAX_TICKETS_IN_A_ROW,
                                 TERN_MAX_KEY_UPDATES_IN_A_ROW, TERN_MAX_CERT_REQUESTS_IN_A_ROW,
                                 TERN_MAX_IGNORED_ALERTS_IN_A_ROW};
  if (kind == I_CERT) return TERN_CERT_MAX_CHAIN;
  if (kind == I_EXT) return 4;
  return chunk[rnd(sizeof chunk / sizeof chunk[0])];
}

static const uint8_t msg_types[] = {1, 2, 4, 5, 8, 11, 13, 15, 20, 24, 25, 254};
static const uint16_t ext_types[] = {0, 10, 13, 16, 27, 41, 42, 43, 44, 45, 47, 49, 50, 51, 57, 0xfe0d, 0xffff};
static const uint8_t chunk_ops[] = {FZ_OP_RAW, FZ_OP_SEAL_HS, FZ_OP_SEAL_APP, FZ_OP_SEAL_EARLY,
                                    FZ_OP_NEXT_APP, FZ_OP_ACTION, FZ_OP_SEAL_APP | FZ_OP_HOLD,
                                    FZ_OP_RAW | FZ_OP_PIECES};

/* One structural mutation of s (buf holds a copy of it); new size or 0. */
static size_t mutate_once(shape *s, uint8_t *buf, size_t max) {
  int i;
  item_t *t;
  switch (rnd(10)) {
  case 0: case 1: /* resize a vector */
    if (s->nv == 0) return 0;
    i = (int)rnd((uint32_t)s->nv);
    return resize(s, buf, max, i, pick_len(&s->v[i]));
  case 2: case 3: /* byte mutation inside one vector */
    if (s->nv == 0) return 0;
    return mutate_inside(s, buf, max, (int)rnd((uint32_t)s->nv));
  case 4: { /* a length field alone set to a boundary */
    vec_t *v;
    size_t n, m;
    if (s->nv == 0) return 0;
    v = &s->v[rnd((uint32_t)s->nv)];
    n = v->end - v->start;
    switch (rnd(4)) {
    case 0: m = n + 1; break;
    case 1: m = n ? n - 1 : 1; break;
    case 2: m = width_max(v->width); break;
    default: m = v->kind == V_TICKET ? TERN_TICKET_MAX + 1 : 0;
    }
    put(buf + v->len_off, v->width, (uint32_t)(m & width_max(v->width)));
    return s->size;
  }
  case 5: { /* duplicate an item, or repeat it to a limit's count */
    size_t n, k, r;
    uint8_t *rep;
    if (s->ni == 0) return 0;
    t = &s->it[rnd((uint32_t)s->ni)];
    n = t->end - t->start;
    k = rnd(2) ? 1 : limit_count(t->kind) - 2 + rnd(3);  /* copies added */
    if (n == 0 || n * k > max) return 0;
    if ((rep = malloc(n * k)) == NULL) return 0;
    for (size_t j = 0; j < k; j++) memcpy(rep + j * n, s->b + t->start, n);
    r = edit(s, buf, max, t->end, t->end, rep, n * k, t->start, t->end, -1, 0);
    free(rep);
    return r;
  }
  case 6: /* drop an item */
    if (s->ni == 0) return 0;
    t = &s->it[rnd((uint32_t)s->ni)];
    return edit(s, buf, max, t->start, t->end, NULL, 0, t->start, t->end, -1, 0);
  case 7: { /* swap an item with the next one of its list */
    item_t *u = NULL;
    size_t la, lb;
    if (s->ni == 0) return 0;
    t = &s->it[rnd((uint32_t)s->ni)];
    for (int j = 0; j < s->ni; j++)
      if (s->it[j].start == t->end && s->it[j].in == t->in && s->it[j].kind == t->kind)
        u = &s->it[j];
    if (u == NULL) return 0;
    la = t->end - t->start;
    lb = u->end - u->start;
    memcpy(buf + t->start, s->b + u->start, lb);
    memcpy(buf + t->start + lb, s->b + t->start, la);
    return s->size;
  }
  case 8: { /* splice in an item another input had: after one of its kind, or instead */
    int k;
    if (s->ni == 0) return 0;
    t = &s->it[rnd((uint32_t)s->ni)];
    k = (int)rnd(POOL);
    if (pool[t->kind][k].b == NULL) return 0;
    if (rnd(2))
      return edit(s, buf, max, t->end, t->end, pool[t->kind][k].b, pool[t->kind][k].len,
                  t->start, t->end, -1, 0);
    return edit(s, buf, max, t->start, t->end, pool[t->kind][k].b, pool[t->kind][k].len,
                t->start, t->end, -1, 0);
  }
  default: { /* a type */
    site_t *x;
    if (s->ns == 0) return 0;
    x = &s->st[rnd((uint32_t)s->ns)];
    switch (x->kind) {
    case T_OP: buf[x->off] = chunk_ops[rnd(sizeof chunk_ops)]; break;
    case T_MSG: buf[x->off] = msg_types[rnd(sizeof msg_types)]; break;
    case T_EXT: put(buf + x->off, 2, ext_types[rnd(sizeof ext_types / sizeof ext_types[0])]); break;
    default: buf[x->off] = (uint8_t)(20 + rnd(5)); break;
    }
    return s->size;
  }
  }
}

/* A session blob ends in a check value (the first 8 bytes of SHA-256
   over the rest) that tern_session_decode verifies before reading any
   field: without this, every mutated blob stops there. Seven times in
   eight the check is made right again (the eighth tests the check). */
static size_t fix_check(uint8_t *b, size_t size) {
  uint8_t d[SHA256_DIGEST_LENGTH];
  size_t p, n;
  if (size < 1 || rnd(8) == 0) return size;
  if (FZ_MUT_TICKET) {
    if (b[0] & 1) return size;
    p = 1;
    n = size - 1;
  } else {
    if (!(b[0] & FZ_F_SESSION) || size < 3) return size;
    p = 3;
    n = get(b + 1, 2);
    if (n > size - 3) return size;
  }
  if (n < 9) return size;
  SHA256(b + p, n - 8, d);
  memcpy(b + p + n - 8, d, 8);
  return size;
}

static shape shape_a, shape_b;

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  uint8_t *copy;
  size_t r = 0;
  rng_state = (uint64_t)seed * 0x9e3779b97f4a7c15ull + 1;
  if (size == 0 || rnd(5) == 0) return fix_check(data, LLVMFuzzerMutate(data, size, max_size));
  if ((copy = malloc(size)) == NULL) return LLVMFuzzerMutate(data, size, max_size);
  memcpy(copy, data, size);
  parse(&shape_a, copy, size);
  remember(&shape_a);
  for (int tries = 0; tries < 8 && r == 0; tries++) {
    r = mutate_once(&shape_a, data, max_size);
    if (r == 0) memcpy(data, copy, size);  /* a failed edit may have written lengths */
  }
  free(copy);
  return fix_check(data, r ? r : LLVMFuzzerMutate(data, size, max_size));
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
                                 uint8_t *out, size_t max_out, unsigned int seed) {
  shape *a = &shape_a, *b = &shape_b;
  int ca = 0, cb = 0;
  rng_state = (uint64_t)seed * 0xbf58476d1ce4e5b9ull + 7;
  if (s1 == 0 || s1 > max_out) return 0;
  parse(a, d1, s1);
  parse(b, d2, s2);
  for (int i = 0; i < a->ni; i++) ca += a->it[i].kind == I_CHUNK;
  for (int i = 0; i < b->ni; i++) cb += b->it[i].kind == I_CHUNK;
  if (rnd(2) && ca > 0 && cb > 0) {
    /* d1's header and first chunks, then d2's chunks from one on */
    int ka = (int)rnd((uint32_t)ca + 1), kb = (int)rnd((uint32_t)cb);
    size_t cut_a = s1, from_b = 0, n = 0;
    for (int i = 0, c = 0; i < a->ni; i++)
      if (a->it[i].kind == I_CHUNK && c++ == ka) { cut_a = a->it[i].start; break; }
    for (int i = 0, c = 0; i < b->ni; i++)
      if (b->it[i].kind == I_CHUNK && c++ == kb) { from_b = b->it[i].start; break; }
    if (from_b == 0) return 0;
    if (cut_a > max_out) return 0;
    memcpy(out, d1, cut_a);
    n = s2 - from_b;
    if (cut_a + n > max_out) n = max_out - cut_a;
    memcpy(out + cut_a, d2 + from_b, n);
    return fix_check(out, cut_a + n);
  }
  /* one item of d2 after (or instead of) an item of the same kind in d1 */
  if (a->ni == 0 || b->ni == 0) return 0;
  for (int tries = 0; tries < 16; tries++) {
    item_t *x = &a->it[rnd((uint32_t)a->ni)], *y = &b->it[rnd((uint32_t)b->ni)];
    size_t r;
    if (x->kind != y->kind) continue;
    memcpy(out, d1, s1);
    r = rnd(2) ? edit(a, out, max_out, x->end, x->end, d2 + y->start, y->end - y->start,
                      x->start, x->end, -1, 0)
               : edit(a, out, max_out, x->start, x->end, d2 + y->start, y->end - y->start,
                      x->start, x->end, -1, 0);
    if (r) return fix_check(out, r);
  }
  return 0;
}
