/*
 * crypto/hpke.c - crypto layer: HPKE base mode (RFC 9180) on libcrypto 3.0
 * EVP (see hpke.h). The KDF is HMAC on a digest context, the digest
 * fetched once per process; the DH of each KEM goes through EVP_PKEY
 * derive, with P-256 points decoded and checked on the curve before use.
 */
#include "crypto/hpke.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <tern.h>

#include "crypto/aead.h"
#include "crypto/crypto.h"

/* Process-wide fetched objects: HMAC and the three KDF digests. */
static struct {
  EVP_MD *md[3]; /* SHA-256, SHA-384, SHA-512 */
  EC_GROUP *p256;
  int ok;
} hp;
static pthread_once_t hp_once = PTHREAD_ONCE_INIT;

static void hp_fetch(void) {
  hp.md[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
  hp.md[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
  hp.md[2] = EVP_MD_fetch(NULL, "SHA512", NULL);
  hp.p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  hp.ok = hp.md[0] && hp.md[1] && hp.md[2] && hp.p256 &&
          tern_crypto_init() == TERN_OK;
}

static int hp_init(void) {
  if (pthread_once(&hp_once, hp_fetch) != 0) return TERN_ERR_CRYPTO;
  return hp.ok ? TERN_OK : TERN_ERR_CRYPTO;
}

/* Nh of a KDF (its digest length), 0 when unknown. */
static size_t kdf_nh(uint16_t kdf) {
  switch (kdf) {
  case TERN_HPKE_KDF_SHA256: return 32;
  case TERN_HPKE_KDF_SHA384: return 48;
  case TERN_HPKE_KDF_SHA512: return 64;
  default: return 0;
  }
}

size_t tern_hpke_kem_enc_len(uint16_t kem) {
  return kem == TERN_HPKE_KEM_X25519 ? 32 : kem == TERN_HPKE_KEM_P256 ? 65 : 0;
}

size_t tern_hpke_kem_sk_len(uint16_t kem) {
  return (kem == TERN_HPKE_KEM_X25519 || kem == TERN_HPKE_KEM_P256) ? 32 : 0;
}

size_t tern_hpke_aead_key_len(uint16_t aead) {
  switch (aead) {
  case TERN_HPKE_AEAD_AES128GCM: return 16;
  case TERN_HPKE_AEAD_AES256GCM: return 32;
  case TERN_HPKE_AEAD_CHACHA20: return 32;
  case TERN_HPKE_AEAD_EXPORT_ONLY: return 0;
  default: return (size_t)-1;
  }
}

int tern_hpke_suite_supported(const tern_hpke_suite *s) {
  return s != NULL && tern_hpke_kem_enc_len(s->kem) != 0 && kdf_nh(s->kdf) != 0 &&
         tern_hpke_aead_key_len(s->aead) != (size_t)-1;
}

/* The TLS 1.3 suite whose AEAD is this HPKE AEAD (aead.c keys it). */
static const tern_suite *aead_suite(uint16_t aead) {
  switch (aead) {
  case TERN_HPKE_AEAD_AES128GCM: return tern_suite_get(TERN_TLS_AES_128_GCM_SHA256);
  case TERN_HPKE_AEAD_AES256GCM: return tern_suite_get(TERN_TLS_AES_256_GCM_SHA384);
  case TERN_HPKE_AEAD_CHACHA20: return tern_suite_get(TERN_TLS_CHACHA20_POLY1305_SHA256);
  default: return NULL;
  }
}

/* The KDF's digest, fetched once. */
static EVP_MD *kdf_md(uint16_t kdf) {
  return kdf == TERN_HPKE_KDF_SHA512 ? hp.md[2] : kdf == TERN_HPKE_KDF_SHA384 ? hp.md[1] : hp.md[0];
}

/* HMAC(key, parts...) -> out[Nh] with the KDF's digest, fetched once. */
static int hmac_parts(uint16_t kdf, const uint8_t *key, size_t key_len,
                      const uint8_t *const *parts, const size_t *lens, size_t n,
                      uint8_t *out) {
  return tern_hmac_md_parts(kdf_md(kdf), key, key_len, parts, lens, n, out, NULL);
}

/* suite_id: "KEM" || kem (5 bytes) or "HPKE" || kem || kdf || aead (10). */
typedef struct {
  uint8_t b[10];
  size_t len;
} suite_id;

static suite_id kem_suite_id(uint16_t kem) {
  suite_id s = {{'K', 'E', 'M', (uint8_t)(kem >> 8), (uint8_t)kem}, 5};
  return s;
}

static suite_id hpke_suite_id(const tern_hpke_suite *h) {
  suite_id s = {{'H', 'P', 'K', 'E', (uint8_t)(h->kem >> 8), (uint8_t)h->kem,
                 (uint8_t)(h->kdf >> 8), (uint8_t)h->kdf, (uint8_t)(h->aead >> 8),
                 (uint8_t)h->aead},
                10};
  return s;
}

static const uint8_t hpke_v1[7] = {'H', 'P', 'K', 'E', '-', 'v', '1'};

/*
 * LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id ||
 * label || ikm) -> prk[Nh]. An empty salt is Nh zero bytes (RFC 5869 §2.2).
 */
static int labeled_extract(uint16_t kdf, const suite_id *sid, const uint8_t *salt,
                           size_t salt_len, const char *label, const uint8_t *ikm,
                           size_t ikm_len, uint8_t *prk) {
  static const uint8_t zeros[64];
  const uint8_t *parts[4] = {hpke_v1, sid->b, (const uint8_t *)label, ikm};
  size_t lens[4] = {sizeof hpke_v1, sid->len, strlen(label), ikm_len};
  if (salt_len == 0) {
    salt = zeros;
    salt_len = kdf_nh(kdf);
  }
  return hmac_parts(kdf, salt, salt_len, parts, lens, 4, prk);
}

/*
 * LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1"
 * || suite_id || label || info, L), Expand being RFC 5869's T(1) | T(2) ...
 */
static int labeled_expand(uint16_t kdf, const suite_id *sid, const uint8_t *prk,
                          const char *label, const uint8_t *info, size_t info_len,
                          uint8_t *out, size_t L) {
  uint8_t t[64], len2[2] = {(uint8_t)(L >> 8), (uint8_t)L}, counter = 1;
  size_t nh = kdf_nh(kdf), t_len = 0, done = 0;
  int rc = TERN_OK;
  if (L > 255 * nh || L > 0xffff) return TERN_ERR_INVALID_ARG;
  while (done < L) {
    const uint8_t *parts[7] = {t, len2, hpke_v1, sid->b, (const uint8_t *)label,
                               info, &counter};
    size_t lens[7] = {t_len, 2, sizeof hpke_v1, sid->len, strlen(label), info_len, 1};
    size_t n;
    rc = hmac_parts(kdf, prk, nh, parts, lens, 7, t);
    if (rc != TERN_OK) break;
    t_len = nh;
    n = L - done < nh ? L - done : nh;
    memcpy(out + done, t, n);
    done += n;
    counter++;
  }
  OPENSSL_cleanse(t, sizeof t);
  if (rc != TERN_OK) OPENSSL_cleanse(out, L);
  return rc;
}

/* ------------------------------------------------------------------ */
/* The two DH groups                                                   */
/* ------------------------------------------------------------------ */

/* P-256: the scalar as a BIGNUM if 0 < sk < order, else NULL. */
static BIGNUM *p256_scalar(const uint8_t *sk) {
  BIGNUM *d = BN_secure_new();
  if (d == NULL) return NULL;
  if (BN_bin2bn(sk, 32, d) == NULL || BN_is_zero(d) ||
      BN_cmp(d, EC_GROUP_get0_order(hp.p256)) >= 0) {
    BN_clear_free(d);
    return NULL;
  }
  return d;
}

/* P-256: pk[65] = SerializePublicKey(sk * G), uncompressed. */
static int p256_public(const uint8_t *sk, uint8_t *pk) {
  int rc = TERN_ERR_CRYPTO;
  BIGNUM *d = p256_scalar(sk);
  EC_POINT *q = EC_POINT_new(hp.p256);
  if (d == NULL) rc = TERN_ERR_MALFORMED;
  else if (q != NULL && EC_POINT_mul(hp.p256, q, d, NULL, NULL, NULL) &&
           EC_POINT_point2oct(hp.p256, q, POINT_CONVERSION_UNCOMPRESSED, pk, 65,
                              NULL) == 65)
    rc = TERN_OK;
  EC_POINT_free(q);
  BN_clear_free(d);
  return rc;
}

/* An EVP_PKEY for a P-256 public key (pub[65]) or key pair (sk too). */
static EVP_PKEY *p256_pkey(const uint8_t *pub, const uint8_t *sk) {
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM *params = NULL;
  BIGNUM *d = NULL;
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  if (sk != NULL && (d = p256_scalar(sk)) == NULL) goto out;
  if (bld == NULL || pc == NULL ||
      !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65) ||
      (d != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)) ||
      (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
      EVP_PKEY_fromdata_init(pc) <= 0 ||
      EVP_PKEY_fromdata(pc, &pkey, d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params) <= 0)
    pkey = NULL;
out:
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX_free(pc);
  BN_clear_free(d);
  return pkey;
}

/* §7.1.4: a P-256 public key is a 65-byte uncompressed point on the curve. */
static int p256_check_point(const uint8_t *pk, size_t len) {
  int ok;
  EC_POINT *q;
  if (len != 65 || pk[0] != 0x04) return 0;
  q = EC_POINT_new(hp.p256);
  ok = q != NULL && EC_POINT_oct2point(hp.p256, q, pk, 65, NULL) &&
       EC_POINT_is_on_curve(hp.p256, q, NULL) == 1 && !EC_POINT_is_at_infinity(hp.p256, q);
  EC_POINT_free(q);
  return ok;
}

int tern_hpke_public_key_valid(uint16_t kem, const uint8_t *pk, size_t len) {
  if (pk == NULL || len != tern_hpke_kem_enc_len(kem)) return 0;
  if (kem == TERN_HPKE_KEM_X25519) return 1;  /* a zero DH result is refused at encap */
  return hp_init() == TERN_OK && p256_check_point(pk, len);
}

/*
 * key_pair: the EVP_PKEY of private key sk and its serialized public key
 * pk[Npk], one scalar multiplication in all. Returns TERN_OK,
 * TERN_ERR_MALFORMED (a P-256 scalar out of range), TERN_ERR_CRYPTO.
 */
static int key_pair(uint16_t kem, const uint8_t *sk, EVP_PKEY **pkey, uint8_t *pk) {
  size_t len = 32;
  int rc;
  *pkey = NULL;
  if (kem == TERN_HPKE_KEM_X25519) {
    *pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, sk, 32);
    if (*pkey == NULL || EVP_PKEY_get_raw_public_key(*pkey, pk, &len) != 1 || len != 32) {
      EVP_PKEY_free(*pkey);
      *pkey = NULL;
      return TERN_ERR_CRYPTO;
    }
    return TERN_OK;
  }
  if ((rc = p256_public(sk, pk)) != TERN_OK) return rc;
  *pkey = p256_pkey(pk, sk);
  return *pkey != NULL ? TERN_OK : TERN_ERR_CRYPTO;
}

/*
 * dh: out[32] = DH(mine, pk_peer). For X25519 an all-zero result is
 * refused (§7.1.4); for P-256 the peer point must be on the curve, and the
 * result is its x-coordinate. Returns TERN_OK, TERN_ERR_MALFORMED,
 * TERN_ERR_CRYPTO.
 */
static int dh(uint16_t kem, EVP_PKEY *mine, const uint8_t *pk_peer, size_t pk_len,
              uint8_t *out) {
  EVP_PKEY *peer = NULL;
  EVP_PKEY_CTX *dc = NULL;
  size_t outl = 32;
  uint8_t acc = 0;
  int rc = TERN_ERR_CRYPTO;

  if (kem == TERN_HPKE_KEM_X25519) {
    if (pk_len != 32) return TERN_ERR_MALFORMED;
    peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pk_peer, 32);
  } else {
    if (!p256_check_point(pk_peer, pk_len)) return TERN_ERR_MALFORMED;
    peer = p256_pkey(pk_peer, NULL);
  }
  if (mine == NULL || peer == NULL) goto out;
  dc = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
  if (dc == NULL || EVP_PKEY_derive_init(dc) <= 0 ||
      EVP_PKEY_derive_set_peer_ex(dc, peer, 0) <= 0) goto out;
  if (EVP_PKEY_derive(dc, out, &outl) <= 0 || outl != 32) {
    /* libcrypto's X25519 itself fails on the all-zero result */
    rc = kem == TERN_HPKE_KEM_X25519 ? TERN_ERR_MALFORMED : TERN_ERR_CRYPTO;
    goto out;
  }
  for (size_t i = 0; i < 32; i++) acc |= out[i];
  rc = acc == 0 ? TERN_ERR_MALFORMED : TERN_OK; /* §7.1.4 */
out:
  if (rc != TERN_OK) OPENSSL_cleanse(out, 32);
  EVP_PKEY_CTX_free(dc);
  EVP_PKEY_free(peer);
  return rc;
}

/* tern_hpke_public_key: see hpke.h. */
int tern_hpke_public_key(uint16_t kem, const uint8_t *sk, uint8_t *pk) {
  int rc = hp_init();
  size_t len = 32;
  if (rc != TERN_OK) return rc;
  if (sk == NULL || pk == NULL) return TERN_ERR_INVALID_ARG;
  if (kem == TERN_HPKE_KEM_P256) return p256_public(sk, pk);
  if (kem != TERN_HPKE_KEM_X25519) return TERN_ERR_UNSUPPORTED;
  EVP_PKEY *k = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, sk, 32);
  rc = k != NULL && EVP_PKEY_get_raw_public_key(k, pk, &len) && len == 32
           ? TERN_OK : TERN_ERR_CRYPTO;
  EVP_PKEY_free(k);
  return rc;
}

/* DeriveKeyPair (§7.1.3): sk, and pk with its EVP_PKEY in *pkey (NULL:
   not kept). */
static int derive_pair(uint16_t kem, const uint8_t *ikm, size_t ikm_len, uint8_t *sk,
                       uint8_t *pk, EVP_PKEY **pkey) {
  uint8_t prk[32];
  suite_id sid = kem_suite_id(kem);
  int rc = hp_init();
  if (rc != TERN_OK) return rc;
  if (tern_hpke_kem_sk_len(kem) == 0) return TERN_ERR_UNSUPPORTED;
  if (ikm == NULL || sk == NULL || pk == NULL || ikm_len < 32) return TERN_ERR_INVALID_ARG;
  rc = labeled_extract(TERN_HPKE_KDF_SHA256, &sid, NULL, 0, "dkp_prk", ikm, ikm_len, prk);
  if (rc == TERN_OK && kem == TERN_HPKE_KEM_X25519) {
    rc = labeled_expand(TERN_HPKE_KDF_SHA256, &sid, prk, "sk", NULL, 0, sk, 32);
  } else if (rc == TERN_OK) {
    /* rejection sampling: candidates until 0 < sk < order (bitmask 0xff) */
    rc = TERN_ERR_CRYPTO;
    for (unsigned counter = 0; counter <= 255; counter++) {
      uint8_t c = (uint8_t)counter;
      BIGNUM *d;
      if (labeled_expand(TERN_HPKE_KDF_SHA256, &sid, prk, "candidate", &c, 1, sk, 32) !=
          TERN_OK)
        break;
      d = p256_scalar(sk);
      if (d != NULL) {
        BN_clear_free(d);
        rc = TERN_OK;
        break;
      }
    }
  }
  if (rc == TERN_OK) {
    EVP_PKEY *k = NULL;
    rc = key_pair(kem, sk, &k, pk);
    if (pkey != NULL) *pkey = k;
    else EVP_PKEY_free(k);
  }
  OPENSSL_cleanse(prk, sizeof prk);
  if (rc != TERN_OK) OPENSSL_cleanse(sk, 32);
  return rc;
}

/* tern_hpke_derive_keypair: see hpke.h (§7.1.3). */
int tern_hpke_derive_keypair(uint16_t kem, const uint8_t *ikm, size_t ikm_len,
                             uint8_t *sk, uint8_t *pk) {
  return derive_pair(kem, ikm, ikm_len, sk, pk, NULL);
}

/* tern_hpke_generate_keypair: DeriveKeyPair of 32 random bytes. */
int tern_hpke_generate_keypair(uint16_t kem, uint8_t *sk, uint8_t *pk) {
  uint8_t ikm[32];
  int rc;
  if (RAND_priv_bytes(ikm, sizeof ikm) != 1) return TERN_ERR_CRYPTO;
  rc = tern_hpke_derive_keypair(kem, ikm, sizeof ikm, sk, pk);
  OPENSSL_cleanse(ikm, sizeof ikm);
  return rc;
}

/* ExtractAndExpand(dh, kem_context) -> shared_secret[32] (§4.1). */
static int extract_and_expand(uint16_t kem, const uint8_t *dhv, const uint8_t *enc,
                              const uint8_t *pkR, size_t npk, uint8_t *shared) {
  uint8_t prk[32], kem_context[2 * TERN_HPKE_MAX_ENC];
  suite_id sid = kem_suite_id(kem);
  int rc;
  memcpy(kem_context, enc, npk);
  memcpy(kem_context + npk, pkR, npk);
  rc = labeled_extract(TERN_HPKE_KDF_SHA256, &sid, NULL, 0, "eae_prk", dhv, 32, prk);
  if (rc == TERN_OK)
    rc = labeled_expand(TERN_HPKE_KDF_SHA256, &sid, prk, "shared_secret", kem_context,
                        2 * npk, shared, 32);
  OPENSSL_cleanse(prk, sizeof prk);
  return rc;
}

/* tern_hpke_encap: see hpke.h. */
int tern_hpke_encap(uint16_t kem, const uint8_t *pkR, size_t pkR_len,
                    const uint8_t *ikmE, size_t ikmE_len, uint8_t *shared_secret,
                    uint8_t *enc) {
  uint8_t skE[32], dhv[32], ikm[32];
  size_t npk = tern_hpke_kem_enc_len(kem);
  EVP_PKEY *mine = NULL;
  int rc = hp_init();
  if (rc != TERN_OK) return rc;
  if (npk == 0) return TERN_ERR_UNSUPPORTED;
  if (pkR == NULL || shared_secret == NULL || enc == NULL) return TERN_ERR_INVALID_ARG;
  if (pkR_len != npk) return TERN_ERR_MALFORMED;
  if (ikmE == NULL) { /* GenerateKeyPair: DeriveKeyPair of random bytes */
    if (RAND_priv_bytes(ikm, sizeof ikm) != 1) return TERN_ERR_CRYPTO;
    ikmE = ikm;
    ikmE_len = sizeof ikm;
  }
  rc = derive_pair(kem, ikmE, ikmE_len, skE, enc, &mine);
  if (rc == TERN_OK) rc = dh(kem, mine, pkR, pkR_len, dhv);
  if (rc == TERN_OK) rc = extract_and_expand(kem, dhv, enc, pkR, npk, shared_secret);
  EVP_PKEY_free(mine);
  OPENSSL_cleanse(ikm, sizeof ikm);
  OPENSSL_cleanse(skE, sizeof skE);
  OPENSSL_cleanse(dhv, sizeof dhv);
  return rc;
}

/* tern_hpke_decap: see hpke.h. */
int tern_hpke_decap(uint16_t kem, const uint8_t *enc, size_t enc_len,
                    const uint8_t *skR, uint8_t *shared_secret) {
  uint8_t dhv[32], pkR[TERN_HPKE_MAX_ENC];
  size_t npk = tern_hpke_kem_enc_len(kem);
  EVP_PKEY *mine = NULL;
  int rc = hp_init();
  if (rc != TERN_OK) return rc;
  if (npk == 0) return TERN_ERR_UNSUPPORTED;
  if (enc == NULL || skR == NULL || shared_secret == NULL) return TERN_ERR_INVALID_ARG;
  if (enc_len != npk) return TERN_ERR_MALFORMED;
  rc = key_pair(kem, skR, &mine, pkR);
  if (rc == TERN_OK) rc = dh(kem, mine, enc, enc_len, dhv);
  if (rc == TERN_OK) rc = extract_and_expand(kem, dhv, enc, pkR, npk, shared_secret);
  EVP_PKEY_free(mine);
  OPENSSL_cleanse(dhv, sizeof dhv);
  return rc;
}

/* tern_hpke_private_key: see hpke.h. */
int tern_hpke_private_key(uint16_t kem, const uint8_t *sk, EVP_PKEY **pkey, uint8_t *pk) {
  int rc = hp_init();
  if (rc != TERN_OK) return rc;
  if (sk == NULL || pkey == NULL || pk == NULL) return TERN_ERR_INVALID_ARG;
  if (tern_hpke_kem_sk_len(kem) == 0) return TERN_ERR_UNSUPPORTED;
  return key_pair(kem, sk, pkey, pk);
}

/* tern_hpke_key_schedule: see hpke.h (§5.1, mode_base, default psk). */
int tern_hpke_key_schedule(tern_hpke_ctx *ctx, const tern_hpke_suite *s, int sender,
                           const uint8_t *shared_secret, const uint8_t *info,
                           size_t info_len, uint8_t *ksc_out) {
  uint8_t ksc[1 + 2 * 64], secret[64];
  suite_id sid;
  size_t nh;
  int rc = hp_init();
  if (rc != TERN_OK) return rc;
  if (ctx == NULL || shared_secret == NULL || (info == NULL && info_len))
    return TERN_ERR_INVALID_ARG;
  memset(ctx, 0, sizeof *ctx);
  if (!tern_hpke_suite_supported(s)) return TERN_ERR_UNSUPPORTED;
  sid = hpke_suite_id(s);
  nh = kdf_nh(s->kdf);
  ctx->suite = *s;
  ctx->sender = sender;
  ctx->nh = nh;
  ctx->nk = tern_hpke_aead_key_len(s->aead);
  ctx->nn = s->aead == TERN_HPKE_AEAD_EXPORT_ONLY ? 0 : 12;
  ksc[0] = 0; /* mode_base */
  rc = labeled_extract(s->kdf, &sid, NULL, 0, "psk_id_hash", NULL, 0, ksc + 1);
  if (rc == TERN_OK)
    rc = labeled_extract(s->kdf, &sid, NULL, 0, "info_hash", info, info_len, ksc + 1 + nh);
  if (rc == TERN_OK)
    rc = labeled_extract(s->kdf, &sid, shared_secret, 32, "secret", NULL, 0, secret);
  if (rc == TERN_OK && ctx->nk)
    rc = labeled_expand(s->kdf, &sid, secret, "key", ksc, 1 + 2 * nh, ctx->key, ctx->nk);
  if (rc == TERN_OK && ctx->nn)
    rc = labeled_expand(s->kdf, &sid, secret, "base_nonce", ksc, 1 + 2 * nh,
                        ctx->base_nonce, 12);
  if (rc == TERN_OK)
    rc = labeled_expand(s->kdf, &sid, secret, "exp", ksc, 1 + 2 * nh,
                        ctx->exporter_secret, nh);
  if (rc == TERN_OK && ctx->nk) {
    ctx->aead = EVP_CIPHER_CTX_new();
    if (ctx->aead == NULL) rc = TERN_ERR_NOMEM;
    else rc = tern_aead_key(ctx->aead, aead_suite(s->aead), ctx->key, sender);
  }
  if (rc == TERN_OK && ksc_out != NULL) memcpy(ksc_out, ksc, 1 + 2 * nh);
  OPENSSL_cleanse(secret, sizeof secret);
  if (rc != TERN_OK) tern_hpke_ctx_clear(ctx);
  return rc;
}

/* tern_hpke_setup_base_s: see hpke.h. */
int tern_hpke_setup_base_s(tern_hpke_ctx *ctx, const tern_hpke_suite *s,
                           const uint8_t *pkR, size_t pkR_len, const uint8_t *info,
                           size_t info_len, const uint8_t *ikmE, size_t ikmE_len,
                           uint8_t *enc) {
  uint8_t shared[32];
  int rc;
  if (ctx == NULL || s == NULL) return TERN_ERR_INVALID_ARG;
  memset(ctx, 0, sizeof *ctx);
  if (!tern_hpke_suite_supported(s)) return TERN_ERR_UNSUPPORTED;
  rc = tern_hpke_encap(s->kem, pkR, pkR_len, ikmE, ikmE_len, shared, enc);
  if (rc == TERN_OK) rc = tern_hpke_key_schedule(ctx, s, 1, shared, info, info_len, NULL);
  OPENSSL_cleanse(shared, sizeof shared);
  return rc;
}

/* tern_hpke_setup_base_r: see hpke.h. */
int tern_hpke_setup_base_r(tern_hpke_ctx *ctx, const tern_hpke_suite *s,
                           const uint8_t *enc, size_t enc_len, const uint8_t *skR,
                           const uint8_t *info, size_t info_len) {
  uint8_t shared[32];
  int rc;
  if (ctx == NULL || s == NULL) return TERN_ERR_INVALID_ARG;
  memset(ctx, 0, sizeof *ctx);
  if (!tern_hpke_suite_supported(s)) return TERN_ERR_UNSUPPORTED;
  rc = tern_hpke_decap(s->kem, enc, enc_len, skR, shared);
  if (rc == TERN_OK) rc = tern_hpke_key_schedule(ctx, s, 0, shared, info, info_len, NULL);
  OPENSSL_cleanse(shared, sizeof shared);
  return rc;
}

/* tern_hpke_setup_base_r_prepared: see hpke.h. */
int tern_hpke_setup_base_r_prepared(tern_hpke_ctx *ctx, const tern_hpke_suite *s,
                                    const uint8_t *enc, size_t enc_len, EVP_PKEY *skR,
                                    const uint8_t *pkR, const uint8_t *info, size_t info_len) {
  uint8_t shared[32], dhv[32];
  size_t npk;
  int rc = hp_init();
  if (rc != TERN_OK) return rc;
  if (ctx == NULL || s == NULL || enc == NULL || skR == NULL || pkR == NULL)
    return TERN_ERR_INVALID_ARG;
  memset(ctx, 0, sizeof *ctx);
  if (!tern_hpke_suite_supported(s)) return TERN_ERR_UNSUPPORTED;
  npk = tern_hpke_kem_enc_len(s->kem);
  if (enc_len != npk) return TERN_ERR_MALFORMED;
  rc = dh(s->kem, skR, enc, enc_len, dhv);
  if (rc == TERN_OK) rc = extract_and_expand(s->kem, dhv, enc, pkR, npk, shared);
  if (rc == TERN_OK) rc = tern_hpke_key_schedule(ctx, s, 0, shared, info, info_len, NULL);
  OPENSSL_cleanse(dhv, sizeof dhv);
  OPENSSL_cleanse(shared, sizeof shared);
  return rc;
}

/* ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn) (§5.2). */
static void compute_nonce(const tern_hpke_ctx *ctx, uint8_t nonce[12]) {
  memcpy(nonce, ctx->base_nonce, 12);
  for (int i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

/* tern_hpke_seal: see hpke.h. */
int tern_hpke_seal(tern_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                   const uint8_t *pt, size_t pt_len, uint8_t *ct) {
  uint8_t nonce[12];
  int rc;
  if (ctx == NULL || ct == NULL || (aad == NULL && aad_len) || (pt == NULL && pt_len))
    return TERN_ERR_INVALID_ARG;
  if (!ctx->sender || ctx->aead == NULL || ctx->seq == UINT64_MAX) return TERN_ERR_STATE;
  compute_nonce(ctx, nonce);
  rc = tern_aead_seal(ctx->aead, aead_suite(ctx->suite.aead), nonce, aad, aad_len, pt,
                      pt_len, ct);
  if (rc == TERN_OK) ctx->seq++;
  return rc;
}

/* tern_hpke_open: see hpke.h. */
int tern_hpke_open(tern_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                   const uint8_t *ct, size_t ct_len, uint8_t *pt) {
  uint8_t nonce[12];
  int rc;
  if (ctx == NULL || ct == NULL || pt == NULL || (aad == NULL && aad_len))
    return TERN_ERR_INVALID_ARG;
  if (ct_len < TERN_HPKE_TAG_LEN) return TERN_ERR_INVALID_ARG;
  if (ctx->sender || ctx->aead == NULL || ctx->seq == UINT64_MAX) return TERN_ERR_STATE;
  compute_nonce(ctx, nonce);
  rc = tern_aead_open(ctx->aead, aead_suite(ctx->suite.aead), nonce, aad, aad_len, ct,
                      ct_len, pt);
  if (rc == TERN_OK) ctx->seq++;
  return rc;
}

/* tern_hpke_export: see hpke.h. */
int tern_hpke_export(const tern_hpke_ctx *ctx, const uint8_t *exp_ctx, size_t exp_ctx_len,
                     uint8_t *out, size_t L) {
  suite_id sid;
  if (ctx == NULL || out == NULL || (exp_ctx == NULL && exp_ctx_len) || ctx->nh == 0)
    return TERN_ERR_INVALID_ARG;
  sid = hpke_suite_id(&ctx->suite);
  return labeled_expand(ctx->suite.kdf, &sid, ctx->exporter_secret, "sec", exp_ctx,
                        exp_ctx_len, out, L);
}

/* tern_hpke_ctx_clear: see hpke.h. */
void tern_hpke_ctx_clear(tern_hpke_ctx *ctx) {
  if (ctx == NULL) return;
  EVP_CIPHER_CTX_free(ctx->aead);
  OPENSSL_cleanse(ctx, sizeof *ctx);
}
