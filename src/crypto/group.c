/*
 * crypto/group.c - crypto layer: (EC)DHE for the TLS 1.3 named groups (RFC
 * 8446 §4.2.7, §4.2.8.2, §7.4): X25519/X448 (RFC 7748), the NIST prime
 * curves and the RFC 7919 finite-field groups, every private key drawn
 * from one injectable random source.
 *
 * The NIST curves' EC_GROUP objects are built once per process and used
 * read-only (EC_POINT_mul takes a const group), so computing a public
 * point costs one scalar multiplication and no curve setup. The FFDHE
 * groups are likewise prepared once: a parameters-only EVP_PKEY of each
 * (whose key manager and domain parameters every key of the group
 * shares), p, p - 1, the generator and a Montgomery context of p.
 */
#include "crypto/group.h"
#include "crypto/mlkem.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define EC_DRAW_ATTEMPTS 16  /* a fair source fails all of them with p < 2^-500 */
#define FFDHE_DRAW_ATTEMPTS 16 /* an exponent below 2 comes with p < 2^-224 */
#define FFDHE_MAX_PRIV 50      /* bytes of the longest exponent (400 bits) */

static const tern_group groups[] = {
    {TERN_GROUP_X25519, "x25519", TERN_GROUP_KIND_XDH, "X25519", NID_X25519,
     32, 32, 32, 0, 32, 0, 0, 0},
    {TERN_GROUP_X448, "x448", TERN_GROUP_KIND_XDH, "X448", NID_X448, 56, 56, 56, 0, 56, 0, 0, 0},
    {TERN_GROUP_SECP256R1, "secp256r1", TERN_GROUP_KIND_EC, "P-256",
     NID_X9_62_prime256v1, 65, 32, 32, 0, 65, 0, 0, 0},
    {TERN_GROUP_SECP384R1, "secp384r1", TERN_GROUP_KIND_EC, "P-384",
     NID_secp384r1, 97, 48, 48, 0, 97, 0, 0, 0},
    {TERN_GROUP_SECP521R1, "secp521r1", TERN_GROUP_KIND_EC, "P-521",
     NID_secp521r1, 133, 66, 66, 0, 133, 0, 0, 0},
    /* RFC 7919 Appendix A; exponent sizes from its §5.2 table */
    {TERN_GROUP_FFDHE2048, "ffdhe2048", TERN_GROUP_KIND_FFDHE, "ffdhe2048",
     NID_ffdhe2048, 256, 29, 256, 225, 256, 0, 0, 0},
    {TERN_GROUP_FFDHE3072, "ffdhe3072", TERN_GROUP_KIND_FFDHE, "ffdhe3072",
     NID_ffdhe3072, 384, 35, 384, 275, 384, 0, 0, 0},
    {TERN_GROUP_FFDHE4096, "ffdhe4096", TERN_GROUP_KIND_FFDHE, "ffdhe4096",
     NID_ffdhe4096, 512, 41, 512, 325, 512, 0, 0, 0},
    {TERN_GROUP_FFDHE6144, "ffdhe6144", TERN_GROUP_KIND_FFDHE, "ffdhe6144",
     NID_ffdhe6144, 768, 47, 768, 375, 768, 0, 0, 0},
    {TERN_GROUP_FFDHE8192, "ffdhe8192", TERN_GROUP_KIND_FFDHE, "ffdhe8192",
     NID_ffdhe8192, 1024, 50, 1024, 400, 1024, 0, 0, 0},
    /* draft-ietf-tls-ecdhe-mlkem §3.1: client share, priv (the seed),
       secret, then the server share; X25519MLKEM768 puts ML-KEM first */
    {TERN_GROUP_X25519MLKEM768, "X25519MLKEM768", TERN_GROUP_KIND_HYBRID, NULL,
     NID_undef, 1184 + 32, 64, 32 + 32, 0, 1088 + 32, 768, TERN_GROUP_X25519, 1},
    {TERN_GROUP_SECP256R1MLKEM768, "SecP256r1MLKEM768", TERN_GROUP_KIND_HYBRID, NULL,
     NID_undef, 65 + 1184, 64, 32 + 32, 0, 65 + 1088, 768, TERN_GROUP_SECP256R1, 0},
    {TERN_GROUP_SECP384R1MLKEM1024, "SecP384r1MLKEM1024", TERN_GROUP_KIND_HYBRID, NULL,
     NID_undef, 97 + 1568, 64, 48 + 32, 0, 97 + 1568, 1024, TERN_GROUP_SECP384R1, 0},
    /* draft-ietf-tls-mlkem */
    {TERN_GROUP_MLKEM768, "MLKEM768", TERN_GROUP_KIND_MLKEM, NULL, NID_undef, 1184,
     64, 32, 0, 1088, 768, 0, 1},
    {TERN_GROUP_MLKEM1024, "MLKEM1024", TERN_GROUP_KIND_MLKEM, NULL, NID_undef, 1568,
     64, 32, 0, 1568, 1024, 0, 1},
};
#define N_GROUPS (sizeof groups / sizeof groups[0])

/* Process-wide curves, indexed like groups[] (NULL for the XDH entries). */
static struct {
  EC_GROUP *curve[N_GROUPS];
  int ok;
} cached;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* Builds every NIST curve once; failure leaves cached.ok 0. */
static void cache_curves(void) {
  int ok = 1;
  for (size_t i = 0; i < N_GROUPS; i++) {
    if (groups[i].kind != TERN_GROUP_KIND_EC) continue;
    cached.curve[i] = EC_GROUP_new_by_curve_name(groups[i].nid);
    if (cached.curve[i] == NULL) ok = 0;
  }
  cached.ok = ok;
}

/* The cached curve of an EC group, or NULL when the cache failed. */
static const EC_GROUP *curve_of(const tern_group *g) {
  if (pthread_once(&cache_once, cache_curves) != 0 || !cached.ok) return NULL;
  return cached.curve[g - groups];
}

/* Process-wide FFDHE domain parameters, indexed like groups[] (NULL for
   the other entries), read-only once built. */
static struct {
  EVP_PKEY *params[N_GROUPS];     /* the group as a parameters-only key */
  BIGNUM *p[N_GROUPS];
  BIGNUM *p_minus_1[N_GROUPS];
  BIGNUM *g[N_GROUPS];
  BN_MONT_CTX *mont[N_GROUPS];    /* Montgomery form of p, for g^X mod p */
  int ok;
} ffdhe;
static pthread_once_t ffdhe_once = PTHREAD_ONCE_INIT;

/* Builds one FFDHE group's parameters from its name; 1 on success. */
static int ffdhe_build(size_t i, BN_CTX *bn) {
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
  OSSL_PARAM params[2];
  int ok;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                               (char *)groups[i].ossl_name, 0);
  params[1] = OSSL_PARAM_construct_end();
  ok = pctx != NULL && EVP_PKEY_fromdata_init(pctx) == 1 &&
       EVP_PKEY_fromdata(pctx, &ffdhe.params[i], EVP_PKEY_KEY_PARAMETERS, params) == 1 &&
       EVP_PKEY_get_bn_param(ffdhe.params[i], OSSL_PKEY_PARAM_FFC_P, &ffdhe.p[i]) == 1 &&
       EVP_PKEY_get_bn_param(ffdhe.params[i], OSSL_PKEY_PARAM_FFC_G, &ffdhe.g[i]) == 1 &&
       (size_t)BN_num_bytes(ffdhe.p[i]) == groups[i].share_len &&
       (ffdhe.p_minus_1[i] = BN_dup(ffdhe.p[i])) != NULL &&
       BN_sub_word(ffdhe.p_minus_1[i], 1) == 1 &&
       (ffdhe.mont[i] = BN_MONT_CTX_new()) != NULL &&
       BN_MONT_CTX_set(ffdhe.mont[i], ffdhe.p[i], bn) == 1;
  EVP_PKEY_CTX_free(pctx);
  return ok;
}

/* Builds every FFDHE group once; failure leaves ffdhe.ok 0. */
static void cache_ffdhe(void) {
  BN_CTX *bn = BN_CTX_new();
  int ok = bn != NULL;
  for (size_t i = 0; ok && i < N_GROUPS; i++)
    if (groups[i].kind == TERN_GROUP_KIND_FFDHE) ok = ffdhe_build(i, bn);
  BN_CTX_free(bn);
  ffdhe.ok = ok;
}

/* 1 once the FFDHE parameters are built, 0 when that failed. */
static int ffdhe_ready(void) {
  return pthread_once(&ffdhe_once, cache_ffdhe) == 0 && ffdhe.ok;
}

/* tern_group_get: see group.h. */
const tern_group *tern_group_get(uint16_t id) {
  for (size_t i = 0; i < N_GROUPS; i++)
    if (groups[i].id == id) return &groups[i];
  return NULL;
}

/* tern_group_at: see group.h. */
const tern_group *tern_group_at(size_t i) { return i < N_GROUPS ? &groups[i] : NULL; }

/* True when g points into our table (callers may hand us anything). */
static int is_ours(const tern_group *g) {
  return g >= groups && g < groups + N_GROUPS;
}

/* tern_group_is_pq: see group.h. */
int tern_group_is_pq(const tern_group *g) {
  return g != NULL && (g->kind == TERN_GROUP_KIND_MLKEM || g->kind == TERN_GROUP_KIND_HYBRID);
}

/* The ECDH part's share length of a group (0 for ML-KEM alone). */
static size_t ecdh_part_len(const tern_group *g) {
  const tern_group *e = g->kind == TERN_GROUP_KIND_HYBRID ? tern_group_get(g->ecdh_id) : NULL;
  return e != NULL ? e->share_len : 0;
}

/* Fills out[0..len) from rng, or RAND_bytes when rng is NULL. */
static int draw(tern_random_fn rng, void *rng_ctx, uint8_t *out, size_t len) {
  if (rng != NULL) return rng(rng_ctx, out, len) == 0 ? TERN_OK : TERN_ERR_CRYPTO;
  return RAND_bytes(out, (int)len) == 1 ? TERN_OK : TERN_ERR_CRYPTO;
}

/*
 * Per-thread import contexts of X25519 and X448 (EVP_PKEY_fromdata_init
 * done once): EVP_PKEY_new_raw_*_key_ex would fetch the key manager by
 * name and make a context for every key, and a handshake imports two
 * XDH keys a side. And per thread one public key of each, which takes
 * every peer's share in turn (EVP_PKEY_set1_encoded_public_key, 0.02 us,
 * against 1.4 us for a new key through the prepared fromdata context):
 * a peer's key is needed only during one derivation, which nothing else
 * on the thread can interrupt. Freed when the thread ends.
 */
typedef struct xdh_ctxs {
  EVP_PKEY_CTX *import[2];  /* X25519, X448 */
  EVP_PKEY *peer[2];        /* the last peer share derived with, or NULL */
} xdh_ctxs;

static pthread_key_t xdh_key;
static int xdh_key_ok;
static pthread_once_t xdh_once = PTHREAD_ONCE_INIT;
static __thread xdh_ctxs *xdh_tls;

/* Frees one thread's contexts (the key's destructor). */
static void xdh_ctxs_free(void *p) {
  xdh_ctxs *x = p;
  if (x == NULL) return;
  for (int i = 0; i < 2; i++) {
    EVP_PKEY_CTX_free(x->import[i]);
    EVP_PKEY_free(x->peer[i]);
  }
  OPENSSL_free(x);
}

/* Makes the key whose destructor frees a thread's contexts. */
static void xdh_key_make(void) { xdh_key_ok = pthread_key_create(&xdh_key, xdh_ctxs_free) == 0; }

/* This thread's XDH objects, made on first use; NULL when they cannot be. */
static xdh_ctxs *xdh_thread(void) {
  xdh_ctxs *x = xdh_tls;
  if (x == NULL) {
    if (pthread_once(&xdh_once, xdh_key_make) != 0 || !xdh_key_ok) return NULL;
    if ((x = OPENSSL_zalloc(sizeof *x)) == NULL) return NULL;
    if (pthread_setspecific(xdh_key, x) != 0) {
      OPENSSL_free(x);
      return NULL;
    }
    xdh_tls = x;
  }
  return x;
}

/* This thread's import context of XDH group g, made on first use; NULL
   when it cannot be (the caller imports the slow way). */
static EVP_PKEY_CTX *xdh_import_ctx(const tern_group *g) {
  int i = g->id == TERN_GROUP_X25519 ? 0 : 1;
  xdh_ctxs *x = xdh_thread();
  if (x == NULL) return NULL;
  if (x->import[i] == NULL) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, g->ossl_name, NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
      EVP_PKEY_CTX_free(ctx);
      return NULL;
    }
    x->import[i] = ctx;
  }
  return x->import[i];
}

/* An XDH key of group g from its raw private key (the public key computed
   from it) or raw public key, or NULL. */
static EVP_PKEY *xdh_import(const tern_group *g, const uint8_t *raw, size_t len, int private_key) {
  EVP_PKEY_CTX *ctx = xdh_import_ctx(g);
  EVP_PKEY *k = NULL;
  OSSL_PARAM params[2];
  if (ctx == NULL)
    return private_key ? EVP_PKEY_new_raw_private_key_ex(NULL, g->ossl_name, NULL, raw, len)
                       : EVP_PKEY_new_raw_public_key_ex(NULL, g->ossl_name, NULL, raw, len);
  params[0] = OSSL_PARAM_construct_octet_string(
      private_key ? OSSL_PKEY_PARAM_PRIV_KEY : OSSL_PKEY_PARAM_PUB_KEY, (void *)(uintptr_t)raw, len);
  params[1] = OSSL_PARAM_construct_end();
  if (EVP_PKEY_fromdata(ctx, &k, private_key ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params) != 1) {
    EVP_PKEY_free(k);
    return NULL;
  }
  return k;
}

/*
 * A key holding the peer's XDH share, for one derivation: this thread's
 * reusable public key of group g set to the share (a reference the caller
 * frees), or, when there is none yet or it cannot be set, a key of its own
 * (the first one becomes the thread's). NULL on failure.
 */
static EVP_PKEY *xdh_import_peer(const tern_group *g, const uint8_t *raw, size_t len) {
  int i = g->id == TERN_GROUP_X25519 ? 0 : 1;
  xdh_ctxs *x = xdh_thread();
  EVP_PKEY *k;
  if (x != NULL && x->peer[i] != NULL &&
      EVP_PKEY_set1_encoded_public_key(x->peer[i], raw, len) == 1 &&
      EVP_PKEY_up_ref(x->peer[i]) == 1)
    return x->peer[i];
  k = xdh_import(g, raw, len, 0);
  if (k != NULL && x != NULL && x->peer[i] == NULL && EVP_PKEY_up_ref(k) == 1) x->peer[i] = k;
  return k;
}

/* X25519/X448: the private key is priv_len raw random bytes (RFC 7748 §5). */
static int xdh_keygen(const tern_group *g, tern_random_fn rng, void *rng_ctx,
                      tern_key_share *out) {
  uint8_t priv[56];
  size_t pub_len = g->share_len;
  int rc = draw(rng, rng_ctx, priv, g->priv_len);
  if (rc != TERN_OK) goto out;
  rc = TERN_ERR_CRYPTO;
  out->pkey = xdh_import(g, priv, g->priv_len, 1);
  if (out->pkey == NULL) goto out;
  if (EVP_PKEY_get_raw_public_key(out->pkey, out->pub, &pub_len) != 1 ||
      pub_len != g->share_len)
    goto out;
  out->pub_len = (uint16_t)pub_len;
  rc = TERN_OK;
out:
  OPENSSL_cleanse(priv, sizeof priv);
  return rc;
}

/*
 * Draws a private scalar d in [1, order): priv_len big-endian bytes, the
 * top 7 bits cleared for secp521r1 (a 521-bit field in 66 bytes), drawn
 * again when out of range (rejection sampling keeps d uniform).
 */
static int ec_draw_scalar(const tern_group *g, const EC_GROUP *curve,
                          tern_random_fn rng, void *rng_ctx, BIGNUM *d) {
  uint8_t raw[66];
  int rc = TERN_ERR_CRYPTO;
  for (int i = 0; i < EC_DRAW_ATTEMPTS; i++) {
    rc = draw(rng, rng_ctx, raw, g->priv_len);
    if (rc != TERN_OK) break;
    if (g->id == TERN_GROUP_SECP521R1) raw[0] &= 0x01;
    rc = TERN_ERR_CRYPTO;
    if (BN_bin2bn(raw, (int)g->priv_len, d) == NULL) break;
    if (!BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(curve)) < 0) {
      rc = TERN_OK;
      break;
    }
  }
  OPENSSL_cleanse(raw, sizeof raw);
  return rc;
}

/*
 * Wraps scalar d and its encoded public point out->pub into an EVP_PKEY
 * (OSSL_PKEY_PARAM_PRIV_KEY wants d in native byte order).
 */
static int ec_pkey_from(const tern_group *g, const BIGNUM *d,
                        tern_key_share *out) {
  uint8_t native[66];
  int rc = TERN_ERR_CRYPTO;
  EVP_PKEY_CTX *pctx = NULL;
  OSSL_PARAM params[4];
  if (BN_bn2nativepad(d, native, (int)g->priv_len) < 0) goto out;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                               (char *)g->ossl_name, 0);
  params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, native,
                                      g->priv_len);
  params[2] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                out->pub, out->pub_len);
  params[3] = OSSL_PARAM_construct_end();
  pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  if (pctx == NULL) goto out;
  if (EVP_PKEY_fromdata_init(pctx) != 1 ||
      EVP_PKEY_fromdata(pctx, &out->pkey, EVP_PKEY_KEYPAIR, params) != 1)
    goto out;
  rc = TERN_OK;
out:
  EVP_PKEY_CTX_free(pctx);
  OPENSSL_cleanse(native, sizeof native);
  return rc;
}

/* NIST curves: scalar from the source, public point d*G, then the EVP_PKEY. */
static int ec_keygen(const tern_group *g, tern_random_fn rng, void *rng_ctx,
                     tern_key_share *out) {
  const EC_GROUP *curve = curve_of(g);
  BN_CTX *bn = NULL;
  BIGNUM *d = NULL;
  EC_POINT *pub = NULL;
  int rc = TERN_ERR_CRYPTO;
  if (curve == NULL) return TERN_ERR_CRYPTO;
  rc = TERN_ERR_NOMEM;
  bn = BN_CTX_secure_new();
  d = BN_secure_new();
  pub = EC_POINT_new(curve);
  if (bn == NULL || d == NULL || pub == NULL) goto out;
  BN_set_flags(d, BN_FLG_CONSTTIME);
  rc = ec_draw_scalar(g, curve, rng, rng_ctx, d);
  if (rc != TERN_OK) goto out;
  rc = TERN_ERR_CRYPTO;
  if (EC_POINT_mul(curve, pub, d, NULL, NULL, bn) != 1) goto out;
  if (EC_POINT_point2oct(curve, pub, POINT_CONVERSION_UNCOMPRESSED, out->pub,
                         g->share_len, bn) != g->share_len)
    goto out;
  out->pub_len = (uint16_t)g->share_len;
  rc = ec_pkey_from(g, d, out);
out:
  EC_POINT_free(pub);
  BN_clear_free(d);
  BN_CTX_free(bn);
  return rc;
}

/*
 * Draws an FFDHE private exponent X in [2, 2^priv_bits): priv_len
 * big-endian bytes with the bits above priv_bits cleared, drawn again
 * when below 2 (RFC 7919 §5.2: a short exponent of twice the group's
 * security strength suffices; q is far larger, so X < q always).
 */
static int ffdhe_draw_exponent(const tern_group *g, tern_random_fn rng,
                               void *rng_ctx, BIGNUM *x) {
  uint8_t raw[FFDHE_MAX_PRIV];
  unsigned top_bits = (unsigned)(g->priv_bits - 8 * (g->priv_len - 1));
  int rc = TERN_ERR_CRYPTO;
  if (g->priv_len > sizeof raw || top_bits < 1 || top_bits > 8) return TERN_ERR_CRYPTO;
  for (int i = 0; i < FFDHE_DRAW_ATTEMPTS; i++) {
    rc = draw(rng, rng_ctx, raw, g->priv_len);
    if (rc != TERN_OK) break;
    raw[0] &= (uint8_t)(0xff >> (8 - top_bits));
    rc = TERN_ERR_CRYPTO;
    if (BN_bin2bn(raw, (int)g->priv_len, x) == NULL) break;
    if (BN_cmp(x, BN_value_one()) > 0) {
      rc = TERN_OK;
      break;
    }
  }
  OPENSSL_cleanse(raw, sizeof raw);
  return rc;
}

/*
 * Wraps exponent x and share y (already in out->pub) into an EVP_PKEY of
 * group i, made through the cached parameters' key manager.
 * OSSL_PKEY_PARAM_PRIV_KEY and _PUB_KEY want native byte order.
 */
static int ffdhe_pkey_from(size_t i, const BIGNUM *x, const BIGNUM *y,
                           tern_key_share *out) {
  const tern_group *g = &groups[i];
  uint8_t priv[FFDHE_MAX_PRIV], pub[TERN_GROUP_MAX_SHARE];
  OSSL_PARAM params[4];
  EVP_PKEY_CTX *pctx = NULL;
  int rc = TERN_ERR_CRYPTO;
  if (BN_bn2nativepad(x, priv, (int)g->priv_len) < 0 ||
      BN_bn2nativepad(y, pub, (int)g->share_len) < 0)
    goto out;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                               (char *)g->ossl_name, 0);
  params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, priv, g->priv_len);
  params[2] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PUB_KEY, pub, g->share_len);
  params[3] = OSSL_PARAM_construct_end();
  pctx = EVP_PKEY_CTX_new_from_pkey(NULL, ffdhe.params[i], NULL);
  if (pctx == NULL) goto out;
  if (EVP_PKEY_fromdata_init(pctx) != 1 ||
      EVP_PKEY_fromdata(pctx, &out->pkey, EVP_PKEY_KEYPAIR, params) != 1)
    goto out;
  rc = TERN_OK;
out:
  EVP_PKEY_CTX_free(pctx);
  OPENSSL_cleanse(priv, sizeof priv);
  return rc;
}

/* FFDHE: exponent from the source, share Y = g^X mod p (constant time in
   X, on the cached Montgomery context), then the EVP_PKEY. */
static int ffdhe_keygen(const tern_group *g, tern_random_fn rng, void *rng_ctx,
                        tern_key_share *out) {
  size_t i = (size_t)(g - groups);
  BN_CTX *bn = NULL;
  BIGNUM *x = NULL, *y = NULL;
  int rc;
  if (!ffdhe_ready()) return TERN_ERR_CRYPTO;
  rc = TERN_ERR_NOMEM;
  bn = BN_CTX_secure_new();
  x = BN_secure_new();
  y = BN_new();
  if (bn == NULL || x == NULL || y == NULL) goto out;
  BN_set_flags(x, BN_FLG_CONSTTIME);
  rc = ffdhe_draw_exponent(g, rng, rng_ctx, x);
  if (rc != TERN_OK) goto out;
  rc = TERN_ERR_CRYPTO;
  if (BN_mod_exp_mont_consttime(y, ffdhe.g[i], x, ffdhe.p[i], bn, ffdhe.mont[i]) != 1 ||
      BN_bn2binpad(y, out->pub, (int)g->share_len) != (int)g->share_len)
    goto out;
  rc = ffdhe_pkey_from(i, x, y, out);
out:
  BN_free(y);
  BN_clear_free(x);
  BN_CTX_free(bn);
  return rc;
}

/*
 * Points out->pub at room for the group's share: inside the struct when
 * it fits, else a heap block that tern_key_share_free releases (it goes
 * by pub_len, set here at once).
 */
static int share_room(size_t len, tern_key_share *out) {
  if (len > TERN_GROUP_MAX_SHARE) return TERN_ERR_UNSUPPORTED;
  out->pub = len > TERN_GROUP_INLINE_SHARE ? OPENSSL_malloc(len) : out->pub_inline;
  if (out->pub == NULL) return TERN_ERR_NOMEM;
  out->pub_len = (uint16_t)len;
  return TERN_OK;
}

/*
 * The ECDH part of a hybrid: a key pair of group e whose share is copied
 * to dst and whose key moves into out->pkey.
 */
static int ecdh_part_keygen(const tern_group *e, tern_random_fn rng, void *rng_ctx,
                            tern_key_share *out, uint8_t *dst) {
  tern_key_share part;
  int rc = tern_group_keygen(e, rng, rng_ctx, &part);
  if (rc != TERN_OK) return rc;
  memcpy(dst, part.pub, e->share_len);
  out->pkey = part.pkey;
  part.pkey = NULL;
  tern_key_share_free(&part);
  return TERN_OK;
}

/*
 * ML-KEM and hybrid key generation (client): d || z from the source, the
 * kept key (dk and KeyGen's A-hat, for Decaps' re-encryption) on the
 * heap, the share laid out as the draft says (ecdh || ek, or ek || x25519
 * when mlkem_first).
 */
static int kem_keygen(const tern_group *g, tern_random_fn rng, void *rng_ctx,
                      tern_key_share *out) {
  const tern_mlkem_params *p = tern_mlkem_params_get(g->mlkem_level);
  const tern_group *e = g->kind == TERN_GROUP_KIND_HYBRID ? tern_group_get(g->ecdh_id) : NULL;
  size_t elen = e != NULL ? e->share_len : 0;
  uint8_t seed[TERN_MLKEM_SEED_LEN];
  int rc;
  if (p == NULL || p->ek_len + elen != g->share_len) return TERN_ERR_UNSUPPORTED;
  out->kem_dk = OPENSSL_malloc(tern_mlkem_kept_len(p));
  if (out->kem_dk == NULL) return TERN_ERR_NOMEM;
  out->kem_dk_len = (uint16_t)tern_mlkem_kept_len(p);
  rc = draw(rng, rng_ctx, seed, sizeof seed);
  if (rc == TERN_OK)
    rc = tern_mlkem_keygen_kept(p, seed, out->pub + (g->mlkem_first ? 0 : elen),
                                out->kem_dk);
  OPENSSL_cleanse(seed, sizeof seed);
  if (rc == TERN_OK && e != NULL)
    rc = ecdh_part_keygen(e, rng, rng_ctx, out, out->pub + (g->mlkem_first ? p->ek_len : 0));
  return rc;
}

/* tern_group_keygen: see group.h. */
int tern_group_keygen(const tern_group *group, tern_random_fn rng,
                      void *rng_ctx, tern_key_share *out) {
  int rc;
  if (group == NULL || out == NULL) return TERN_ERR_INVALID_ARG;
  if (!is_ours(group)) return TERN_ERR_UNSUPPORTED;
  memset(out, 0, sizeof *out);
  rc = share_room(group->share_len, out);
  if (rc == TERN_OK)
    rc = group->kind == TERN_GROUP_KIND_XDH     ? xdh_keygen(group, rng, rng_ctx, out)
         : group->kind == TERN_GROUP_KIND_EC    ? ec_keygen(group, rng, rng_ctx, out)
         : group->kind == TERN_GROUP_KIND_FFDHE ? ffdhe_keygen(group, rng, rng_ctx, out)
                                                : kem_keygen(group, rng, rng_ctx, out);
  if (rc != TERN_OK) {
    tern_key_share_free(out);
    return rc;
  }
  out->group = group;
  return TERN_OK;
}

/*
 * Imports an EC peer share (already checked for length and the 0x04
 * prefix) into a key with mine's parameters: copying them from our key
 * is several times cheaper than rebuilding the curve by name, and
 * decoding the point refuses one off the curve. Only when the import
 * fails do we ask the cached curve whether the point was the cause
 * (illegal_parameter) or libcrypto (internal_error).
 */
static int ec_import_peer(const tern_key_share *mine, const uint8_t *peer,
                          size_t peer_len, EVP_PKEY **pkey, uint8_t *alert) {
  const EC_GROUP *curve;
  EC_POINT *point;
  *pkey = EVP_PKEY_new();
  if (*pkey == NULL) return TERN_ERR_NOMEM;
  if (EVP_PKEY_copy_parameters(*pkey, mine->pkey) == 1 &&
      EVP_PKEY_set1_encoded_public_key(*pkey, peer, peer_len) == 1)
    return TERN_OK;
  EVP_PKEY_free(*pkey);
  *pkey = NULL;
  *alert = TERN_ALERT_INTERNAL_ERROR;
  curve = curve_of(mine->group);
  point = curve ? EC_POINT_new(curve) : NULL;
  if (point == NULL) return TERN_ERR_CRYPTO;
  if (EC_POINT_oct2point(curve, point, peer, peer_len, NULL) == 1) {
    EC_POINT_free(point);
    return TERN_ERR_CRYPTO;
  }
  EC_POINT_free(point);
  *alert = TERN_ALERT_ILLEGAL_PARAMETER;
  return TERN_ERR_ALERT;
}

/*
 * Imports an FFDHE peer share (already checked for length) after the
 * range check of RFC 7919 §5.1 / RFC 8446 §4.2.8.1, 1 < Y < p - 1: it
 * excludes 0, 1 and p - 1, the elements of order 1 and 2 (p is a safe
 * prime, so every other Y has order q or 2q and no small subgroup is
 * left). The key takes mine's parameters; libcrypto repeats the check.
 */
static int ffdhe_import_peer(const tern_key_share *mine, const uint8_t *peer,
                             size_t peer_len, EVP_PKEY **pkey, uint8_t *alert) {
  size_t i = (size_t)(mine->group - groups);
  BIGNUM *y;
  int in_range;
  *alert = TERN_ALERT_INTERNAL_ERROR;
  if (!ffdhe_ready()) return TERN_ERR_CRYPTO;
  y = BN_bin2bn(peer, (int)peer_len, NULL);
  if (y == NULL) return TERN_ERR_NOMEM;
  in_range = BN_cmp(y, BN_value_one()) > 0 && BN_cmp(y, ffdhe.p_minus_1[i]) < 0;
  BN_free(y);
  if (!in_range) {
    *alert = TERN_ALERT_ILLEGAL_PARAMETER;
    return TERN_ERR_ALERT;
  }
  *pkey = EVP_PKEY_new();
  if (*pkey == NULL) return TERN_ERR_NOMEM;
  if (EVP_PKEY_copy_parameters(*pkey, mine->pkey) == 1 &&
      EVP_PKEY_set1_encoded_public_key(*pkey, peer, peer_len) == 1)
    return TERN_OK;
  EVP_PKEY_free(*pkey);
  *pkey = NULL;
  return TERN_ERR_CRYPTO;
}

/*
 * Imports the peer's share as a public key of mine's group, validating
 * its form: exact length, for EC the uncompressed 0x04 prefix (RFC 8446
 * §4.2.8.2) and a point on the curve, for FFDHE the range of Y.
 */
static int import_peer(const tern_key_share *mine, const uint8_t *peer,
                       size_t peer_len, EVP_PKEY **pkey, uint8_t *alert) {
  const tern_group *g = mine->group;
  *alert = TERN_ALERT_ILLEGAL_PARAMETER;
  /* RFC 8446 §4.2.8.1: an FFDHE share is exactly as long as p */
  if (peer_len != g->share_len) return TERN_ERR_ALERT;
  if (g->kind == TERN_GROUP_KIND_EC) {
    if (peer[0] != POINT_CONVERSION_UNCOMPRESSED) return TERN_ERR_ALERT;
    return ec_import_peer(mine, peer, peer_len, pkey, alert);
  }
  if (g->kind == TERN_GROUP_KIND_FFDHE)
    return ffdhe_import_peer(mine, peer, peer_len, pkey, alert);
  *pkey = xdh_import_peer(g, peer, peer_len);
  if (*pkey != NULL) return TERN_OK;
  *alert = TERN_ALERT_INTERNAL_ERROR;
  return TERN_ERR_CRYPTO;
}

/* True when out[0..len) is all zero, in time independent of the bytes. */
static int all_zero(const uint8_t *out, size_t len) {
  uint8_t acc = 0;
  for (size_t i = 0; i < len; i++) acc |= out[i];
  return acc == 0;
}

/*
 * Runs the derivation. The peer was validated on import (the NIST curves
 * have cofactor 1), so libcrypto's second public-key check is skipped.
 * libcrypto itself fails an X25519/X448 derivation whose result is all
 * zero, so for XDH a failure here means a small-order peer point. FFDHE
 * asks libcrypto for Z padded to the length of p (RFC 8446 §7.4.1: the
 * leading zero bytes stay), and pads here as well should it not.
 */
static int run_derive(const tern_key_share *mine, EVP_PKEY *peer,
                      uint8_t *secret, uint8_t *alert) {
  const tern_group *g = mine->group;
  size_t len = TERN_GROUP_MAX_SECRET;
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine->pkey, NULL);
  int rc = TERN_ERR_NOMEM;
  *alert = TERN_ALERT_INTERNAL_ERROR;
  if (pctx == NULL) goto out;
  rc = TERN_ERR_CRYPTO;
  if (EVP_PKEY_derive_init(pctx) != 1 ||
      (g->kind == TERN_GROUP_KIND_FFDHE && EVP_PKEY_CTX_set_dh_pad(pctx, 1) != 1) ||
      EVP_PKEY_derive_set_peer_ex(pctx, peer, 0) != 1)
    goto out;
  if (EVP_PKEY_derive(pctx, secret, &len) != 1) {
    if (g->kind == TERN_GROUP_KIND_XDH) {
      rc = TERN_ERR_ALERT;
      *alert = TERN_ALERT_ILLEGAL_PARAMETER;
    }
    goto out;
  }
  if (g->kind == TERN_GROUP_KIND_FFDHE && len < g->secret_len && len > 0) {
    memmove(secret + (g->secret_len - len), secret, len);
    memset(secret, 0, g->secret_len - len);
    len = g->secret_len;
  }
  if (len != g->secret_len) goto out;
  /* RFC 8446 §7.4.2: an all-zero X25519/X448 result MUST be refused. */
  if (g->kind == TERN_GROUP_KIND_XDH && all_zero(secret, len)) {
    rc = TERN_ERR_ALERT;
    *alert = TERN_ALERT_ILLEGAL_PARAMETER;
    goto out;
  }
  rc = TERN_OK;
out:
  EVP_PKEY_CTX_free(pctx);
  return rc;
}

/* The classical derivation (XDH, EC, FFDHE) of tern_group_derive. */
static int dh_derive(const tern_key_share *mine, const uint8_t *peer, size_t peer_len,
                     uint8_t *secret, uint8_t *alert) {
  EVP_PKEY *peer_key = NULL;
  int rc = import_peer(mine, peer, peer_len, &peer_key, alert);
  if (rc == TERN_OK) rc = run_derive(mine, peer_key, secret, alert);
  EVP_PKEY_free(peer_key);
  return rc;
}

/*
 * ML-KEM and hybrids, client side: the server's share is exactly
 * server_share_len bytes (draft-ietf-tls-ecdhe-mlkem §3.1.2: a
 * ciphertext of the wrong length is illegal_parameter); the ECDH part is
 * derived with every check of the classical group; Decaps of the
 * ciphertext (any failure is internal_error); the secret is the two
 * parts in the draft's order.
 */
static int kem_derive(const tern_key_share *mine, const uint8_t *peer, size_t peer_len,
                      uint8_t *secret, uint8_t *alert) {
  const tern_group *g = mine->group;
  const tern_mlkem_params *p = tern_mlkem_params_get(g->mlkem_level);
  const tern_group *e = g->kind == TERN_GROUP_KIND_HYBRID ? tern_group_get(g->ecdh_id) : NULL;
  size_t elen = ecdh_part_len(g), ct_at = g->mlkem_first ? 0 : elen;
  size_t ss_at = g->mlkem_first ? 0 : (e ? e->secret_len : 0);
  int rc;
  *alert = TERN_ALERT_INTERNAL_ERROR;
  if (p == NULL || mine->kem_dk == NULL) return TERN_ERR_INVALID_ARG;
  if (peer_len != g->server_share_len) {
    *alert = TERN_ALERT_ILLEGAL_PARAMETER;
    return TERN_ERR_ALERT;
  }
  if (e != NULL) {
    tern_key_share view;
    memset(&view, 0, sizeof view);
    view.group = e;
    view.pkey = mine->pkey;
    rc = dh_derive(&view, peer + (g->mlkem_first ? p->ct_len : 0), elen,
                   secret + (g->mlkem_first ? TERN_MLKEM_SS_LEN : 0), alert);
    if (rc != TERN_OK) return rc;
  }
  rc = tern_mlkem_decaps_kept(p, mine->kem_dk, mine->kem_dk_len, peer + ct_at, p->ct_len,
                              secret + ss_at);
  *alert = TERN_ALERT_INTERNAL_ERROR;
  return rc == TERN_OK ? TERN_OK : TERN_ERR_CRYPTO;
}

/* tern_group_derive: see group.h. */
int tern_group_derive(const tern_key_share *mine, const uint8_t *peer,
                      size_t peer_len, uint8_t *secret, size_t *secret_len,
                      uint8_t *alert) {
  uint8_t scratch_alert = TERN_ALERT_INTERNAL_ERROR;
  int rc;
  if (alert == NULL) alert = &scratch_alert;
  if (secret == NULL || secret_len == NULL) return TERN_ERR_INVALID_ARG;
  *secret_len = 0;
  if (mine == NULL || mine->group == NULL || !is_ours(mine->group) ||
      (mine->pkey == NULL && mine->group->kind != TERN_GROUP_KIND_MLKEM) ||
      (peer == NULL && peer_len != 0)) {
    rc = TERN_ERR_INVALID_ARG;
    *alert = TERN_ALERT_INTERNAL_ERROR;
    goto out;
  }
  rc = tern_group_is_pq(mine->group) ? kem_derive(mine, peer, peer_len, secret, alert)
                                     : dh_derive(mine, peer, peer_len, secret, alert);
  if (rc == TERN_OK) *secret_len = mine->group->secret_len;
out:
  if (rc != TERN_OK) {
    OPENSSL_cleanse(secret, TERN_GROUP_MAX_SECRET);
    /* A refused share is the peer's fault; leave no stale libcrypto errors. */
    if (rc == TERN_ERR_ALERT) ERR_clear_error();
  }
  return rc;
}

/*
 * ML-KEM and hybrids, server side: the client's share is exactly
 * share_len bytes; its ML-KEM part passes FIPS 203 §7.2's check and its
 * ECDH part the classical checks (both illegal_parameter); then our ECDH
 * key and secret, and Encaps with m from the source. Our share and the
 * secret are laid out in the draft's order.
 */
static int kem_respond(const tern_group *g, tern_random_fn rng, void *rng_ctx,
                       const uint8_t *peer, size_t peer_len, tern_key_share *out,
                       uint8_t *secret, uint8_t *alert) {
  const tern_mlkem_params *p = tern_mlkem_params_get(g->mlkem_level);
  const tern_group *e = g->kind == TERN_GROUP_KIND_HYBRID ? tern_group_get(g->ecdh_id) : NULL;
  size_t elen = ecdh_part_len(g);
  const uint8_t *ek = peer + (g->mlkem_first ? 0 : elen);
  uint8_t m[TERN_MLKEM_MSG_LEN];
  int rc;
  *alert = TERN_ALERT_ILLEGAL_PARAMETER;
  if (p == NULL) return TERN_ERR_UNSUPPORTED;
  if (peer_len != g->share_len || tern_mlkem_check_ek(p, ek, p->ek_len) != TERN_OK)
    return TERN_ERR_ALERT;
  *alert = TERN_ALERT_INTERNAL_ERROR;
  rc = share_room(g->server_share_len, out);
  if (rc != TERN_OK) return rc;
  if (e != NULL) {
    tern_key_share view;
    rc = ecdh_part_keygen(e, rng, rng_ctx, out, out->pub + (g->mlkem_first ? p->ct_len : 0));
    if (rc != TERN_OK) return rc;
    memset(&view, 0, sizeof view);
    view.group = e;
    view.pkey = out->pkey;
    rc = dh_derive(&view, peer + (g->mlkem_first ? p->ek_len : 0), elen,
                   secret + (g->mlkem_first ? TERN_MLKEM_SS_LEN : 0), alert);
    if (rc != TERN_OK) return rc;
  }
  *alert = TERN_ALERT_INTERNAL_ERROR;
  rc = draw(rng, rng_ctx, m, sizeof m);
  if (rc == TERN_OK)
    rc = tern_mlkem_encaps_derand(p, ek, p->ek_len, m, out->pub + (g->mlkem_first ? 0 : elen),
                                  secret + (g->mlkem_first ? 0 : e->secret_len)) == TERN_OK
             ? TERN_OK
             : TERN_ERR_CRYPTO;
  OPENSSL_cleanse(m, sizeof m);
  return rc;
}

/* tern_group_respond: see group.h. */
int tern_group_respond(const tern_group *group, tern_random_fn rng, void *rng_ctx,
                       const uint8_t *peer, size_t peer_len, tern_key_share *out,
                       uint8_t *secret, size_t *secret_len, uint8_t *alert) {
  uint8_t scratch_alert = TERN_ALERT_INTERNAL_ERROR;
  int rc;
  if (alert == NULL) alert = &scratch_alert;
  *alert = TERN_ALERT_INTERNAL_ERROR;
  if (group == NULL || out == NULL || secret == NULL || secret_len == NULL ||
      (peer == NULL && peer_len != 0))
    return TERN_ERR_INVALID_ARG;
  if (!is_ours(group)) return TERN_ERR_UNSUPPORTED;
  *secret_len = 0;
  if (!tern_group_is_pq(group)) {
    rc = tern_group_keygen(group, rng, rng_ctx, out);
    if (rc == TERN_OK) rc = tern_group_derive(out, peer, peer_len, secret, secret_len, alert);
    return rc;
  }
  memset(out, 0, sizeof *out);
  rc = kem_respond(group, rng, rng_ctx, peer, peer_len, out, secret, alert);
  if (rc != TERN_OK) {
    tern_key_share_free(out);
    OPENSSL_cleanse(secret, TERN_GROUP_MAX_SECRET);
    if (rc == TERN_ERR_ALERT) ERR_clear_error();
    return rc;
  }
  out->group = group;
  *secret_len = group->secret_len;
  return TERN_OK;
}

/* tern_key_share_free: see group.h. */
void tern_key_share_free(tern_key_share *ks) {
  if (ks == NULL) return;
  EVP_PKEY_free(ks->pkey);
  if (ks->kem_dk != NULL) OPENSSL_clear_free(ks->kem_dk, ks->kem_dk_len);
  if (ks->pub_len > TERN_GROUP_INLINE_SHARE) OPENSSL_free(ks->pub);
  OPENSSL_cleanse(ks, sizeof *ks);
}

/* tern_share_copy_set: see group.h. */
int tern_share_copy_set(tern_share_copy *dst, const uint8_t *src, size_t len) {
  if (dst == NULL) return TERN_ERR_INVALID_ARG;
  tern_share_copy_clear(dst);
  if (src == NULL || len == 0 || len > TERN_GROUP_MAX_SHARE) return TERN_ERR_INVALID_ARG;
  dst->p = len > TERN_GROUP_INLINE_SHARE ? OPENSSL_malloc(len) : dst->inline_bytes;
  if (dst->p == NULL) return TERN_ERR_NOMEM;
  memcpy(dst->p, src, len);
  dst->len = (uint16_t)len;
  return TERN_OK;
}

/* tern_share_copy_clear: see group.h. */
void tern_share_copy_clear(tern_share_copy *dst) {
  if (dst == NULL) return;
  if (dst->len > TERN_GROUP_INLINE_SHARE) OPENSSL_free(dst->p);
  memset(dst, 0, sizeof *dst);
}
