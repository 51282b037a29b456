/*
 * crypto/certcomp.c - crypto layer: certificate compression (RFC 8879).
 * See certcomp.h. Each algorithm is two small functions over its library;
 * the rest (framing, bounds, caching) is shared.
 */
#include "crypto/certcomp.h"

#include <string.h>

#include <openssl/crypto.h>

#include "codec/limits.h"
#include "codec/msg.h"

#ifdef TERN_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef TERN_HAVE_BROTLI
#include <brotli/decode.h>
#include <brotli/encode.h>
#endif
#ifdef TERN_HAVE_ZSTD
#include <zstd.h>
#include <zstd_errors.h>
#endif

int tern_certcomp_available(uint16_t alg) {
  switch (alg) {
#ifdef TERN_HAVE_ZLIB
    case TERN_CERT_COMPRESSION_ZLIB: return 1;
#endif
#ifdef TERN_HAVE_BROTLI
    case TERN_CERT_COMPRESSION_BROTLI: return 1;
#endif
#ifdef TERN_HAVE_ZSTD
    case TERN_CERT_COMPRESSION_ZSTD: return 1;
#endif
    default: return 0;
  }
}

/* ---- zlib (RFC 1950 format, as RFC 8879 §4 says) ---- */

#ifdef TERN_HAVE_ZLIB
static int zlib_compress(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len) {
  uLongf len = *out_len;
  if (compress2(out, &len, in, (uLong)n, Z_BEST_COMPRESSION) != Z_OK) return TERN_ERR_CRYPTO;
  *out_len = len;
  return TERN_OK;
}

static size_t zlib_bound(size_t n) { return compressBound((uLong)n); }

static int zlib_decompress(const uint8_t *in, size_t n, uint8_t *out, size_t expected) {
  z_stream zs;
  int zrc, rc;
  memset(&zs, 0, sizeof zs);
  if (inflateInit(&zs) != Z_OK) return TERN_ERR_NOMEM;
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)n;
  zs.next_out = out;
  zs.avail_out = (uInt)expected;
  /* the end-of-block code and the Adler-32 trailer need no output space,
     so a stream of exactly `expected` bytes ends here */
  zrc = inflate(&zs, Z_FINISH);
  if (zrc == Z_STREAM_END)
    rc = zs.avail_out == 0 && zs.avail_in == 0 ? TERN_OK : TERN_ERR_MALFORMED;
  else if (zrc == Z_BUF_ERROR && zs.avail_out == 0)
    rc = TERN_ERR_LIMIT;
  else if (zrc == Z_MEM_ERROR)
    rc = TERN_ERR_NOMEM;
  else
    rc = TERN_ERR_MALFORMED;
  inflateEnd(&zs);
  return rc;
}
#endif

/* ---- brotli (RFC 7932) ---- */

#ifdef TERN_HAVE_BROTLI
static int brotli_compress(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len) {
  int lgwin = BROTLI_MIN_WINDOW_BITS;
  /* a window just large enough for the chain keeps the peer's decoder small */
  while (lgwin < BROTLI_MAX_WINDOW_BITS && ((size_t)1 << lgwin) < n + 16) lgwin++;
  if (!BrotliEncoderCompress(BROTLI_MAX_QUALITY, lgwin, BROTLI_MODE_GENERIC, n, in, out_len, out))
    return TERN_ERR_CRYPTO;
  return TERN_OK;
}

static size_t brotli_bound(size_t n) { return BrotliEncoderMaxCompressedSize(n); }

/* The decoder's allocations, counted against a cap: each block carries
   its size in front. */
typedef struct brotli_budget {
  size_t used;
} brotli_budget;

static void *budget_alloc(void *opaque, size_t size) {
  brotli_budget *b = opaque;
  size_t *p;
  if (size > TERN_CERT_COMP_MAX_DECODER_MEMORY - b->used) return NULL;
  p = OPENSSL_malloc(size + sizeof(size_t) * 2);
  if (p == NULL) return NULL;
  p[0] = size;
  b->used += size;
  return p + 2;
}

static void budget_free(void *opaque, void *ptr) {
  brotli_budget *b = opaque;
  size_t *p = ptr;
  if (p == NULL) return;
  p -= 2;
  b->used -= p[0];
  OPENSSL_free(p);
}

static int brotli_decompress(const uint8_t *in, size_t n, uint8_t *out, size_t expected) {
  brotli_budget budget = {0};
  BrotliDecoderState *st = BrotliDecoderCreateInstance(budget_alloc, budget_free, &budget);
  const uint8_t *next_in = in;
  uint8_t *next_out = out;
  size_t avail_in = n, avail_out = expected;
  BrotliDecoderResult r;
  int rc;
  if (st == NULL) return TERN_ERR_NOMEM;
  r = BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, NULL);
  if (r == BROTLI_DECODER_RESULT_SUCCESS)
    rc = avail_out == 0 && avail_in == 0 ? TERN_OK : TERN_ERR_MALFORMED;
  else if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT)
    rc = TERN_ERR_LIMIT;
  else if (r == BROTLI_DECODER_RESULT_ERROR &&
           BrotliDecoderGetErrorCode(st) <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
           BrotliDecoderGetErrorCode(st) >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES)
    rc = TERN_ERR_NOMEM;
  else
    rc = TERN_ERR_MALFORMED;
  BrotliDecoderDestroyInstance(st);
  return rc;
}
#endif

/* ---- zstd (RFC 8878) ---- */

#ifdef TERN_HAVE_ZSTD
static int zstd_compress(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len) {
  size_t r = ZSTD_compress(out, *out_len, in, n, 19);
  if (ZSTD_isError(r)) return TERN_ERR_CRYPTO;
  *out_len = r;
  return TERN_OK;
}

static size_t zstd_bound(size_t n) { return ZSTD_compressBound(n); }

static int zstd_decompress(const uint8_t *in, size_t n, uint8_t *out, size_t expected) {
  /* one shot into out: the output buffer is the window, nothing else grows */
  ZSTD_DCtx *d = ZSTD_createDCtx();
  size_t r;
  int rc;
  if (d == NULL) return TERN_ERR_NOMEM;
  r = ZSTD_decompressDCtx(d, out, expected, in, n);
  if (!ZSTD_isError(r))
    rc = r == expected ? TERN_OK : TERN_ERR_MALFORMED;
  else if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
    rc = TERN_ERR_LIMIT;
  else if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
    rc = TERN_ERR_NOMEM;
  else
    rc = TERN_ERR_MALFORMED;
  ZSTD_freeDCtx(d);
  return rc;
}
#endif

/* ---- shared ---- */

typedef struct codec {
  size_t (*bound)(size_t n);
  int (*compress)(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len);
  int (*decompress)(const uint8_t *in, size_t n, uint8_t *out, size_t expected);
} codec;

static const codec *codec_of(uint16_t alg) {
  switch (alg) {
#ifdef TERN_HAVE_ZLIB
    case TERN_CERT_COMPRESSION_ZLIB: {
      static const codec c = {zlib_bound, zlib_compress, zlib_decompress};
      return &c;
    }
#endif
#ifdef TERN_HAVE_BROTLI
    case TERN_CERT_COMPRESSION_BROTLI: {
      static const codec c = {brotli_bound, brotli_compress, brotli_decompress};
      return &c;
    }
#endif
#ifdef TERN_HAVE_ZSTD
    case TERN_CERT_COMPRESSION_ZSTD: {
      static const codec c = {zstd_bound, zstd_compress, zstd_decompress};
      return &c;
    }
#endif
    default: return NULL;
  }
}

/* Compresses the Certificate message cert into a new CompressedCertificate
   message (tern_certcomp_message without its checks of the arguments). */
static int compress_message(const codec *k, uint16_t alg, const uint8_t *cert, size_t cert_len,
                            uint8_t **out, size_t *out_len) {
  tern_compressed_certificate cc;
  uint8_t *packed = NULL, *msg = NULL;
  size_t packed_len, msg_cap;
  int rc;

  packed_len = k->bound(cert_len - 4);
  packed = OPENSSL_malloc(packed_len);
  if (packed == NULL) return TERN_ERR_NOMEM;
  /* RFC 8879 §4: the Certificate message's body is what gets compressed */
  rc = k->compress(cert + 4, cert_len - 4, packed, &packed_len);
  if (rc == TERN_OK) {
    cc.algorithm = alg;
    cc.uncompressed_length = (uint32_t)(cert_len - 4);
    cc.compressed.p = packed;
    cc.compressed.len = packed_len;
    msg_cap = 4 + 2 + 3 + 3 + packed_len;
    msg = OPENSSL_malloc(msg_cap);
    if (msg == NULL) rc = TERN_ERR_NOMEM;
  }
  if (rc == TERN_OK) rc = tern_msg_write_compressed_certificate(&cc, msg, msg_cap, out_len);
  OPENSSL_free(packed);
  if (rc != TERN_OK) {
    OPENSSL_free(msg);
    return rc;
  }
  *out = msg;
  return TERN_OK;
}

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
/* Fuzz builds only. A fuzz target makes a configuration per input, and
   each configuration compresses the same fixed chain at every algorithm's
   highest effort again: more than a tenth of a handshake target's time.
   The thread remembers the last message it made per algorithm and gives
   a copy of it for the same input; the bytes are the ones compression
   would make, so the corpora's transcripts stay valid. */
static _Thread_local struct {
  uint8_t *in, *out;
  size_t in_len, out_len;
} fuzz_memo[3];

static int memo_copy(uint8_t **out, size_t *out_len, const uint8_t *from, size_t len) {
  uint8_t *copy = OPENSSL_malloc(len);
  if (copy == NULL) return TERN_ERR_NOMEM;
  memcpy(copy, from, len);
  *out = copy;
  *out_len = len;
  return TERN_OK;
}
#endif

int tern_certcomp_message(uint16_t alg, const uint8_t *cert, size_t cert_len, uint8_t **out,
                          size_t *out_len) {
  const codec *k = codec_of(alg);
  int rc;
  if (out == NULL || out_len == NULL || cert == NULL || cert_len < 4 ||
      cert_len - 4 > 0xffffff)
    return TERN_ERR_INVALID_ARG;
  if (k == NULL) return TERN_ERR_UNSUPPORTED;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  if (fuzz_memo[alg - 1].in != NULL && fuzz_memo[alg - 1].in_len == cert_len &&
      memcmp(fuzz_memo[alg - 1].in, cert, cert_len) == 0)
    return memo_copy(out, out_len, fuzz_memo[alg - 1].out, fuzz_memo[alg - 1].out_len);
#endif
  rc = compress_message(k, alg, cert, cert_len, out, out_len);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  if (rc == TERN_OK) {
    OPENSSL_free(fuzz_memo[alg - 1].in);
    OPENSSL_free(fuzz_memo[alg - 1].out);
    fuzz_memo[alg - 1].in = fuzz_memo[alg - 1].out = NULL;
    if (memo_copy(&fuzz_memo[alg - 1].in, &fuzz_memo[alg - 1].in_len, cert, cert_len) != TERN_OK ||
        memo_copy(&fuzz_memo[alg - 1].out, &fuzz_memo[alg - 1].out_len, *out, *out_len) != TERN_OK) {
      OPENSSL_free(fuzz_memo[alg - 1].in);
      fuzz_memo[alg - 1].in = NULL;
    }
  }
#endif
  return rc;
}

int tern_certcomp_prepare(tern_cert_chain *chain, uint16_t alg) {
  tern_certificate cert;
  uint8_t *plain;
  size_t need = 4 + 1 + 3, len = 0;
  int rc;

  if (chain == NULL || alg < 1 || alg > 3) return TERN_ERR_INVALID_ARG;
  if (chain->compressed[alg - 1] != NULL) return TERN_OK;
  memset(&cert, 0, sizeof cert);
  cert.n = cert.count = chain->n;
  for (size_t i = 0; i < chain->n; i++) {
    cert.entries[i].cert_data.p = chain->der[i];
    cert.entries[i].cert_data.len = chain->der_len[i];
    need += 3 + chain->der_len[i] + 2;
  }
  plain = OPENSSL_malloc(need);
  if (plain == NULL) return TERN_ERR_NOMEM;
  rc = tern_msg_write_certificate(&cert, plain, need, &len);
  if (rc == TERN_OK)
    rc = tern_certcomp_message(alg, plain, len, &chain->compressed[alg - 1],
                               &chain->compressed_len[alg - 1]);
  OPENSSL_free(plain);
  return rc;
}

int tern_certcomp_decompress(uint16_t alg, const uint8_t *in, size_t in_len, uint8_t *out,
                             size_t expected) {
  const codec *k = codec_of(alg);
  if (in == NULL || out == NULL || in_len == 0 || expected == 0) return TERN_ERR_INVALID_ARG;
  if (k == NULL) return TERN_ERR_UNSUPPORTED;
  return k->decompress(in, in_len, out, expected);
}

int tern_certcomp_inflate(const tern_compressed_certificate *cc, size_t max, uint8_t **out,
                          uint8_t *alert) {
  uint8_t *buf;
  int rc;
  *out = NULL;
  *alert = TERN_ALERT_BAD_CERTIFICATE;
  /* RFC 8879 §5: the same limit as if no compression were used */
  if (cc->uncompressed_length < TERN_CERT_COMP_MIN_UNCOMPRESSED || cc->uncompressed_length > max)
    return TERN_ERR_INVALID_ARG;
  buf = OPENSSL_malloc(cc->uncompressed_length);
  if (buf == NULL) {
    *alert = TERN_ALERT_INTERNAL_ERROR;
    return TERN_ERR_NOMEM;
  }
  /* RFC 8879 §4: a length mismatch or data that does not decompress:
     bad_certificate */
  rc = tern_certcomp_decompress(cc->algorithm, cc->compressed.p, cc->compressed.len, buf,
                                cc->uncompressed_length);
  if (rc != TERN_OK) {
    OPENSSL_clear_free(buf, cc->uncompressed_length);
    return rc;
  }
  *out = buf;
  return TERN_OK;
}
