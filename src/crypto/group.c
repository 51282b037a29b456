/*
 * crypto/group.c - crypto layer: (EC)DHE for the TLS 1.3 named groups (RFC
 * 8446 §4.2.7, §4.2.8.2, §7.4): X25519/X448 (RFC 7748) and the NIST prime
 * curves, every private key drawn from one injectable random source.
 *
 * The NIST curves' EC_GROUP objects are built once per process and used
 * read-only (EC_POINT_mul takes a const group), so computing a public
 * point costs one scalar multiplication and no curve setup.
 */
#include "crypto/group.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define EC_DRAW_ATTEMPTS 16  /* a fair source fails all of them with p < 2^-500 */

static const tern_group groups[] = {
    {TERN_GROUP_X25519, "x25519", TERN_GROUP_KIND_XDH, "X25519", NID_X25519,
     32, 32, 32},
    {TERN_GROUP_X448, "x448", TERN_GROUP_KIND_XDH, "X448", NID_X448, 56, 56, 56},
    {TERN_GROUP_SECP256R1, "secp256r1", TERN_GROUP_KIND_EC, "P-256",
     NID_X9_62_prime256v1, 65, 32, 32},
    {TERN_GROUP_SECP384R1, "secp384r1", TERN_GROUP_KIND_EC, "P-384",
     NID_secp384r1, 97, 48, 48},
    {TERN_GROUP_SECP521R1, "secp521r1", TERN_GROUP_KIND_EC, "P-521",
     NID_secp521r1, 133, 66, 66},
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

/* Fills out[0..len) from rng, or RAND_bytes when rng is NULL. */
static int draw(tern_random_fn rng, void *rng_ctx, uint8_t *out, size_t len) {
  if (rng != NULL) return rng(rng_ctx, out, len) == 0 ? TERN_OK : TERN_ERR_CRYPTO;
  return RAND_bytes(out, (int)len) == 1 ? TERN_OK : TERN_ERR_CRYPTO;
}

/* X25519/X448: the private key is priv_len raw random bytes (RFC 7748 §5). */
static int xdh_keygen(const tern_group *g, tern_random_fn rng, void *rng_ctx,
                      tern_key_share *out) {
  uint8_t priv[56];
  size_t pub_len = g->share_len;
  int rc = draw(rng, rng_ctx, priv, g->priv_len);
  if (rc != TERN_OK) goto out;
  rc = TERN_ERR_CRYPTO;
  out->pkey = EVP_PKEY_new_raw_private_key_ex(NULL, g->ossl_name, NULL, priv,
                                              g->priv_len);
  if (out->pkey == NULL) goto out;
  if (EVP_PKEY_get_raw_public_key(out->pkey, out->pub, &pub_len) != 1 ||
      pub_len != g->share_len)
    goto out;
  out->pub_len = pub_len;
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
  out->pub_len = g->share_len;
  rc = ec_pkey_from(g, d, out);
out:
  EC_POINT_free(pub);
  BN_clear_free(d);
  BN_CTX_free(bn);
  return rc;
}

/* tern_group_keygen: see group.h. */
int tern_group_keygen(const tern_group *group, tern_random_fn rng,
                      void *rng_ctx, tern_key_share *out) {
  int rc;
  if (group == NULL || out == NULL) return TERN_ERR_INVALID_ARG;
  if (!is_ours(group)) return TERN_ERR_UNSUPPORTED;
  memset(out, 0, sizeof *out);
  rc = group->kind == TERN_GROUP_KIND_XDH ? xdh_keygen(group, rng, rng_ctx, out)
                                          : ec_keygen(group, rng, rng_ctx, out);
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
 * Imports the peer's share as a public key of mine's group, validating
 * its form: exact length, and for EC the uncompressed 0x04 prefix
 * (RFC 8446 §4.2.8.2) and a point on the curve.
 */
static int import_peer(const tern_key_share *mine, const uint8_t *peer,
                       size_t peer_len, EVP_PKEY **pkey, uint8_t *alert) {
  const tern_group *g = mine->group;
  *alert = TERN_ALERT_ILLEGAL_PARAMETER;
  if (peer_len != g->share_len) return TERN_ERR_ALERT;
  if (g->kind == TERN_GROUP_KIND_EC) {
    if (peer[0] != POINT_CONVERSION_UNCOMPRESSED) return TERN_ERR_ALERT;
    return ec_import_peer(mine, peer, peer_len, pkey, alert);
  }
  *pkey = EVP_PKEY_new_raw_public_key_ex(NULL, g->ossl_name, NULL, peer,
                                         peer_len);
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
 * zero, so for XDH a failure here means a small-order peer point.
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
      EVP_PKEY_derive_set_peer_ex(pctx, peer, 0) != 1)
    goto out;
  if (EVP_PKEY_derive(pctx, secret, &len) != 1) {
    if (g->kind == TERN_GROUP_KIND_XDH) {
      rc = TERN_ERR_ALERT;
      *alert = TERN_ALERT_ILLEGAL_PARAMETER;
    }
    goto out;
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

/* tern_group_derive: see group.h. */
int tern_group_derive(const tern_key_share *mine, const uint8_t *peer,
                      size_t peer_len, uint8_t *secret, size_t *secret_len,
                      uint8_t *alert) {
  EVP_PKEY *peer_key = NULL;
  uint8_t scratch_alert = TERN_ALERT_INTERNAL_ERROR;
  int rc;
  if (alert == NULL) alert = &scratch_alert;
  if (secret == NULL || secret_len == NULL) return TERN_ERR_INVALID_ARG;
  *secret_len = 0;
  if (mine == NULL || mine->group == NULL || mine->pkey == NULL ||
      !is_ours(mine->group) || (peer == NULL && peer_len != 0)) {
    rc = TERN_ERR_INVALID_ARG;
    *alert = TERN_ALERT_INTERNAL_ERROR;
    goto out;
  }
  rc = import_peer(mine, peer, peer_len, &peer_key, alert);
  if (rc != TERN_OK) goto out;
  rc = run_derive(mine, peer_key, secret, alert);
  if (rc == TERN_OK) *secret_len = mine->group->secret_len;
out:
  EVP_PKEY_free(peer_key);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(secret, TERN_GROUP_MAX_SECRET);
    /* A refused share is the peer's fault; leave no stale libcrypto errors. */
    if (rc == TERN_ERR_ALERT) ERR_clear_error();
  }
  return rc;
}

/* tern_key_share_free: see group.h. */
void tern_key_share_free(tern_key_share *ks) {
  if (ks == NULL) return;
  EVP_PKEY_free(ks->pkey);
  OPENSSL_cleanse(ks, sizeof *ks);
}
