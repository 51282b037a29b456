/*
 * crypto/cert.c - crypto layer: our certificate chain (loaded once, DER
 * cached for the Certificate message) and the peer's chain checked against
 * a trust store with libcrypto's X509_verify_cert (RFC 8446 §4.4.2.4).
 *
 * A trust store also keeps a small cache of parsed peer certificates,
 * keyed by their exact DER bytes: libcrypto 3.0 spends ~100 us decoding
 * the public key of every certificate it parses (its OSSL_DECODER
 * set-up), and a client meets the same server chain handshake after
 * handshake.
 *
 * A leaf new to the trust is parsed without that decoder when the
 * store has no callbacks or hooks of its own (parse_leaf_fast: its key
 * is built from the SubjectPublicKeyInfo's fields instead).
 *
 * It also remembers the last chains that verified (keyed by their exact
 * DER bytes and the purpose), with the span of time in which every
 * certificate of the path built to the anchor is valid: a chain met again
 * within that span, against the same store settings, is not verified
 * again (no path building, no signature checks); only the host name is
 * checked on the leaf, as X509_verify_cert would. Failed verifications are
 * never remembered, and stores that check revocation or carry verify
 * callbacks of their own always verify in full.
 */
#include "crypto/cert.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* ---- our chain ---- */

/* tern_cert_chain_free: see cert.h. */
void tern_cert_chain_free(tern_cert_chain *chain) {
  if (chain == NULL) return;
  X509_free(chain->leaf);
  sk_X509_pop_free(chain->extra, X509_free);
  EVP_PKEY_free(chain->key);
  for (size_t i = 0; i < chain->n; i++) OPENSSL_free(chain->der[i]);
  for (size_t i = 0; i < 3; i++) OPENSSL_free(chain->compressed[i]);
  tern_sig_prepared_free(&chain->sign_prep);
  OPENSSL_free(chain);
}

/* The SignatureScheme a certificate's own signature corresponds to, or 0
   (rsa_pkcs1_* for PKCS #1 v1.5, which only certificates may use). */
static uint16_t signed_with(const X509 *cert) {
  int md = 0, pk = 0;
  if (!X509_get_signature_info((X509 *)cert, &md, &pk, NULL, NULL)) return 0;
  switch (pk) {
    case NID_ED25519: return TERN_SIG_ED25519;
    case NID_ED448: return TERN_SIG_ED448;
    case NID_X9_62_id_ecPublicKey:
      return md == NID_sha256 ? 0x0403 : md == NID_sha384 ? 0x0503 : md == NID_sha512 ? 0x0603 : 0;
    case NID_rsaEncryption:
      return md == NID_sha256 ? 0x0401 : md == NID_sha384 ? 0x0501 : md == NID_sha512 ? 0x0601 : 0;
    case NID_rsassaPss:
      return md == NID_sha256 ? 0x0804 : md == NID_sha384 ? 0x0805 : md == NID_sha512 ? 0x0806 : 0;
    default: return 0;
  }
}

/* Caches the DER encoding of cert as chain->der[i], and how it is signed. */
static int cache_der(tern_cert_chain *chain, size_t i, X509 *cert) {
  unsigned char *der = NULL;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return TERN_ERR_CERT;
  chain->der[i] = der;
  chain->der_len[i] = (size_t)len;
  chain->signed_with[i] = signed_with(cert);
  ERR_clear_error();
  return TERN_OK;
}

/* tern_cert_chain_signed_within: see cert.h. */
int tern_cert_chain_signed_within(const tern_cert_chain *chain, const uint16_t *list, size_t n) {
  for (size_t i = 0; i < chain->n; i++) {
    uint16_t s = chain->signed_with[i];
    int found = 0;
    for (size_t j = 0; j < n && !found; j++)
      found = s != 0 && (list[j] == s ||
                         /* rsa_pss_rsae_X and rsa_pss_pss_X: the same signature */
                         (s >= 0x0804 && s <= 0x0806 && list[j] == s + 5));
    if (!found) return 0;
  }
  return 1;
}

/*
 * Builds a chain that takes over the references leaf, extra (a stack it
 * now owns, may be NULL) and key, whatever the outcome: on failure they
 * are freed with the half-built chain.
 */
static int chain_adopt(tern_cert_chain **out, X509 *leaf,
                       STACK_OF(X509) *extra, EVP_PKEY *key) {
  tern_cert_chain *chain = OPENSSL_zalloc(sizeof *chain);
  size_t n_extra = extra ? (size_t)sk_X509_num(extra) : 0;
  int rc;
  if (chain == NULL) {
    X509_free(leaf);
    sk_X509_pop_free(extra, X509_free);
    EVP_PKEY_free(key);
    return TERN_ERR_NOMEM;
  }
  chain->leaf = leaf;
  chain->extra = extra;
  chain->key = key;
  rc = TERN_ERR_CERT;
  if (1 + n_extra > TERN_CERT_MAX_CHAIN) goto fail;
  if (X509_check_private_key(leaf, key) != 1) goto fail;
  rc = cache_der(chain, 0, leaf);
  chain->n = rc == TERN_OK;
  for (size_t i = 0; rc == TERN_OK && i < n_extra; i++) {
    rc = cache_der(chain, 1 + i, sk_X509_value(extra, (int)i));
    if (rc == TERN_OK) chain->n++;
  }
  if (rc != TERN_OK) goto fail;
  *out = chain;
  return TERN_OK;
fail:
  tern_cert_chain_free(chain);
  ERR_clear_error();
  return rc;
}

/* tern_cert_chain_from_objects: see cert.h. */
int tern_cert_chain_from_objects(tern_cert_chain **out, X509 *leaf,
                                 STACK_OF(X509) *extra, EVP_PKEY *key) {
  STACK_OF(X509) *mine = NULL;
  if (out == NULL || leaf == NULL || key == NULL) return TERN_ERR_INVALID_ARG;
  *out = NULL;
  if (extra != NULL && sk_X509_num(extra) > 0) {
    mine = X509_chain_up_ref(extra);
    if (mine == NULL) return TERN_ERR_NOMEM;
  }
  if (!X509_up_ref(leaf)) {
    sk_X509_pop_free(mine, X509_free);
    return TERN_ERR_CERT;
  }
  if (!EVP_PKEY_up_ref(key)) {
    X509_free(leaf);
    sk_X509_pop_free(mine, X509_free);
    return TERN_ERR_CERT;
  }
  return chain_adopt(out, leaf, mine, key);
}

/*
 * Reads every certificate of a PEM file: *leaf gets the first, *extra
 * the others (NULL when there are none). A file ending after the last
 * certificate leaves PEM's "no start line" error, which is no error.
 */
static int read_certs(const char *path, X509 **leaf, STACK_OF(X509) **extra) {
  BIO *in = BIO_new_file(path, "r");
  X509 *x;
  int rc = TERN_ERR_CERT;
  unsigned long err;
  *leaf = NULL;
  *extra = NULL;
  if (in == NULL) goto out;
  *leaf = PEM_read_bio_X509(in, NULL, NULL, NULL);
  if (*leaf == NULL) goto out;
  while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
    if (*extra == NULL) *extra = sk_X509_new_null();
    if (*extra == NULL || !sk_X509_push(*extra, x)) {
      X509_free(x);
      rc = TERN_ERR_NOMEM;
      goto out;
    }
    if (sk_X509_num(*extra) >= TERN_CERT_MAX_CHAIN) goto out;
  }
  err = ERR_peek_last_error();
  if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)
    rc = TERN_OK;
out:
  if (rc != TERN_OK) {
    X509_free(*leaf);
    sk_X509_pop_free(*extra, X509_free);
    *leaf = NULL;
    *extra = NULL;
  }
  BIO_free(in);
  ERR_clear_error();
  return rc;
}

/* Reads the first private key of a PEM file, or NULL. */
static EVP_PKEY *read_key(const char *path) {
  BIO *in = BIO_new_file(path, "r");
  EVP_PKEY *key = in ? PEM_read_bio_PrivateKey(in, NULL, NULL, NULL) : NULL;
  BIO_free(in);
  ERR_clear_error();
  return key;
}

/* tern_cert_chain_load_files: see cert.h. */
int tern_cert_chain_load_files(tern_cert_chain **out, const char *chain_pem,
                               const char *key_pem) {
  X509 *leaf;
  STACK_OF(X509) *extra;
  EVP_PKEY *key;
  int rc;
  if (out == NULL || chain_pem == NULL || key_pem == NULL)
    return TERN_ERR_INVALID_ARG;
  *out = NULL;
  rc = read_certs(chain_pem, &leaf, &extra);
  if (rc != TERN_OK) return rc;
  key = read_key(key_pem);
  if (key == NULL) {
    X509_free(leaf);
    sk_X509_pop_free(extra, X509_free);
    return TERN_ERR_CERT;
  }
  return chain_adopt(out, leaf, extra, key);
}

/* ---- trust anchors ---- */

#define PARSE_CACHE_SLOTS 16
#define PARSE_CACHE_MAX_DER 16384  /* larger certificates are parsed each time */
#define VERIFIED_SLOTS 16
#define VERIFIED_MAX_DER 32768     /* larger chains are verified each time */

/* One parsed certificate and the DER it was parsed from. */
typedef struct parsed_cert {
  uint8_t *der;      /* owned copy; NULL when the slot is free */
  size_t len;
  X509 *x509;
} parsed_cert;

/*
 * What a tern_trust really is: the public struct first, so the two
 * pointers convert, then the parse cache. Trusts only ever come from
 * tern_trust_new / tern_trust_from_store, which allocate this.
 */
/*
 * A chain that verified: the certificate_list as received (each DER after
 * a 3-byte length, leaf first), the purpose it verified for, the leaf's
 * parse, and when the whole path (anchor included) is valid: from
 * not_before (inclusive) to not_after (exclusive), seconds since the epoch.
 */
/* What of a store's verification parameters a verdict depends on. */
typedef struct store_settings {
  unsigned long flags;
  uint32_t inh_flags;
  int depth, auth_level;
} store_settings;

typedef struct verified_chain {
  uint8_t *der;               /* owned; NULL when the slot is free */
  size_t len;
  int peer_is_server;
  store_settings settings;    /* the store's then */
  int64_t not_before, not_after;
  X509 *leaf;
  EVP_PKEY *key;              /* the leaf's key, as the handshake uses it */
} verified_chain;

typedef struct trust_impl {
  tern_trust pub;
  pthread_mutex_t lock;       /* guards slot[], next, verified[], next_verified */
  parsed_cert slot[PARSE_CACHE_SLOTS];
  size_t next;                /* the slot to replace next (round robin) */
  verified_chain verified[VERIFIED_SLOTS];
  size_t next_verified;
} trust_impl;

/* A trust around store (whose reference it takes), or NULL. */
static tern_trust *trust_alloc(X509_STORE *store) {
  trust_impl *ti = OPENSSL_zalloc(sizeof *ti);
  if (ti == NULL) return NULL;
  if (pthread_mutex_init(&ti->lock, NULL) != 0) {
    OPENSSL_free(ti);
    return NULL;
  }
  ti->pub.store = store;
  return &ti->pub;
}

/* tern_trust_new: see cert.h. */
int tern_trust_new(tern_trust **out) {
  X509_STORE *store;
  if (out == NULL) return TERN_ERR_INVALID_ARG;
  *out = NULL;
  store = X509_STORE_new();
  if (store == NULL) return TERN_ERR_NOMEM;
  *out = trust_alloc(store);
  if (*out == NULL) {
    X509_STORE_free(store);
    return TERN_ERR_NOMEM;
  }
  return TERN_OK;
}

/* tern_trust_load: see cert.h. */
int tern_trust_load(tern_trust *t, const char *ca_file, const char *ca_dir) {
  int loaded = 0;
  if (t == NULL || t->store == NULL || (ca_file == NULL && ca_dir == NULL))
    return TERN_ERR_INVALID_ARG;
  if (ca_file != NULL && X509_STORE_load_file(t->store, ca_file) == 1) loaded++;
  if (ca_dir != NULL && X509_STORE_load_path(t->store, ca_dir) == 1) loaded++;
  ERR_clear_error();
  return loaded ? TERN_OK : TERN_ERR_CERT;
}

/* tern_trust_from_store: see cert.h. */
int tern_trust_from_store(tern_trust **out, X509_STORE *store) {
  if (out == NULL || store == NULL) return TERN_ERR_INVALID_ARG;
  *out = NULL;
  if (!X509_STORE_up_ref(store)) return TERN_ERR_CERT;
  *out = trust_alloc(store);
  if (*out == NULL) {
    X509_STORE_free(store);
    return TERN_ERR_NOMEM;
  }
  return TERN_OK;
}

/* tern_trust_ca_names: see cert.h. */
int tern_trust_ca_names(const tern_trust *t, uint8_t **out, size_t *len) {
  STACK_OF(X509_OBJECT) *objs;
  uint8_t *buf = NULL;
  size_t used = 0;
  int rc = TERN_OK;
  if (t == NULL || t->store == NULL || out == NULL || len == NULL) return TERN_ERR_INVALID_ARG;
  *out = NULL;
  *len = 0;
  if (!X509_STORE_lock(t->store)) return TERN_ERR_CRYPTO;
  objs = X509_STORE_get0_objects(t->store);
  buf = OPENSSL_malloc(65535);
  if (buf == NULL) rc = TERN_ERR_NOMEM;
  for (int i = 0; rc == TERN_OK && i < sk_X509_OBJECT_num(objs); i++) {
    X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
    unsigned char *p;
    int n;
    if (x == NULL) continue; /* a CRL */
    n = i2d_X509_NAME(X509_get_subject_name(x), NULL);
    if (n <= 0) continue;
    if (used + 2 + (size_t)n > 65535) {
      rc = TERN_ERR_LIMIT;
      break;
    }
    buf[used] = (uint8_t)(n >> 8);
    buf[used + 1] = (uint8_t)n;
    p = buf + used + 2;
    if (i2d_X509_NAME(X509_get_subject_name(x), &p) != n) {
      rc = TERN_ERR_CRYPTO;
      break;
    }
    used += 2 + (size_t)n;
  }
  X509_STORE_unlock(t->store);
  if (rc == TERN_OK && used == 0) rc = TERN_ERR_LIMIT;
  if (rc != TERN_OK) {
    OPENSSL_free(buf);
    return rc;
  }
  *out = buf;
  *len = used;
  return TERN_OK;
}

/* tern_trust_free: see cert.h. */
void tern_trust_free(tern_trust *t) {
  trust_impl *ti = (trust_impl *)t;
  if (t == NULL) return;
  for (size_t i = 0; i < PARSE_CACHE_SLOTS; i++) {
    OPENSSL_free(ti->slot[i].der);
    X509_free(ti->slot[i].x509);
  }
  for (size_t i = 0; i < VERIFIED_SLOTS; i++) {
    OPENSSL_free(ti->verified[i].der);
    X509_free(ti->verified[i].leaf);
    EVP_PKEY_free(ti->verified[i].key);
  }
  pthread_mutex_destroy(&ti->lock);
  X509_STORE_free(t->store);
  OPENSSL_free(ti);
}

/* ---- the peer's chain ---- */

/* The alert for a failed X509_verify_cert, as cert.h lists them. */
static uint8_t alert_for(int x509_err) {
  switch (x509_err) {
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    return TERN_ALERT_UNKNOWN_CA;
  case X509_V_ERR_CERT_HAS_EXPIRED:
  case X509_V_ERR_CERT_NOT_YET_VALID:
    return TERN_ALERT_CERTIFICATE_EXPIRED;
  case X509_V_ERR_INVALID_PURPOSE:
  case X509_V_ERR_EE_KEY_TOO_SMALL:
    return TERN_ALERT_UNSUPPORTED_CERTIFICATE;
  default:
    return TERN_ALERT_BAD_CERTIFICATE;
  }
}

/* Parses one DER certificate, which must fill its buffer exactly. */
static X509 *parse_der(const uint8_t *der, size_t len) {
  const unsigned char *p = der;
  X509 *x;
  if (der == NULL || len == 0 || len > 0x7fffffff) return NULL;
  x = d2i_X509(NULL, &p, (long)len);
  if (x != NULL && p != der + len) {
    X509_free(x);
    x = NULL;
  }
  return x;
}

/* ---- a new leaf without libcrypto's key decoder ----
 *
 * d2i_X509 decodes the certificate's SubjectPublicKeyInfo with an
 * OSSL_DECODER context it builds afresh on every call, in the X509's
 * library context: about 100 us, most of a cold client's parse. A leaf
 * parsed in a library context of its own, whose only provider offers
 * SHA-1 (for the fingerprint libcrypto caches in every X509, computed
 * here by the default library context's SHA-1) and no decoder, skips
 * that step and comes out with no key; the key is then built from the
 * SubjectPublicKeyInfo's fields (a named-curve EC point or an RSA
 * modulus and exponent, through d2i_KeyParams / d2i_PublicKey, which go
 * through no decoder) and set into the X509 with X509_set_pubkey, whose
 * re-encoding must give back the received SubjectPublicKeyInfo byte for
 * byte. X509_verify_cert then runs unchanged on it: the leaf's signature
 * is checked under its issuer's key (a default-context key, whose
 * provider does the work), and every other check reads the same fields.
 * Anything else (Ed25519, RSA-PSS keys, explicit curves, a re-encoding
 * that differs) takes libcrypto's own d2i_X509.
 */

static EVP_MD *leaf_sha1;            /* the default context's SHA-1 */
static unsigned long leaf_fast_parses;  /* atomic */
static OSSL_LIB_CTX *leaf_libctx;    /* NULL when it could not be made */
static pthread_once_t leaf_once = PTHREAD_ONCE_INIT;

static void *sha1_newctx(void *provctx) {
  (void)provctx;
  return EVP_MD_CTX_new();
}
static void sha1_freectx(void *dctx) { EVP_MD_CTX_free(dctx); }
static void *sha1_dupctx(void *dctx) {
  EVP_MD_CTX *copy = EVP_MD_CTX_new();
  if (copy != NULL && EVP_MD_CTX_copy_ex(copy, dctx) != 1) {
    EVP_MD_CTX_free(copy);
    copy = NULL;
  }
  return copy;
}
static int sha1_init(void *dctx, const OSSL_PARAM params[]) {
  (void)params;
  return EVP_DigestInit_ex(dctx, leaf_sha1, NULL);
}
static int sha1_update(void *dctx, const unsigned char *in, size_t len) {
  return EVP_DigestUpdate(dctx, in, len);
}
static int sha1_final(void *dctx, unsigned char *out, size_t *out_len, size_t cap) {
  unsigned int n = 0;
  if (cap < 20 || EVP_DigestFinal_ex(dctx, out, &n) != 1) return 0;
  *out_len = n;
  return 1;
}
static int sha1_get_params(OSSL_PARAM params[]) {
  OSSL_PARAM *p;
  if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_BLOCK_SIZE)) != NULL &&
      !OSSL_PARAM_set_size_t(p, 64))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_SIZE)) != NULL &&
      !OSSL_PARAM_set_size_t(p, 20))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_XOF)) != NULL && !OSSL_PARAM_set_int(p, 0))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_ALGID_ABSENT)) != NULL &&
      !OSSL_PARAM_set_int(p, 1))
    return 0;
  return 1;
}
static const OSSL_PARAM sha1_gettable[] = {
    OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_BLOCK_SIZE, NULL),
    OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_SIZE, NULL),
    OSSL_PARAM_int(OSSL_DIGEST_PARAM_XOF, NULL),
    OSSL_PARAM_int(OSSL_DIGEST_PARAM_ALGID_ABSENT, NULL),
    OSSL_PARAM_END};
static const OSSL_PARAM *sha1_gettable_params(void *provctx) {
  (void)provctx;
  return sha1_gettable;
}

/* libcrypto's dispatch tables hold functions of many types, cast to one
   (through uintptr_t: Frama-C, which reads this file for
   proofs/crypto/cert, refuses a direct cast between function types). */
#define FN(f) ((void (*)(void))(uintptr_t)(f))
static const OSSL_DISPATCH sha1_functions[] = {
    {OSSL_FUNC_DIGEST_NEWCTX, FN(sha1_newctx)},
    {OSSL_FUNC_DIGEST_INIT, FN(sha1_init)},
    {OSSL_FUNC_DIGEST_UPDATE, FN(sha1_update)},
    {OSSL_FUNC_DIGEST_FINAL, FN(sha1_final)},
    {OSSL_FUNC_DIGEST_FREECTX, FN(sha1_freectx)},
    {OSSL_FUNC_DIGEST_DUPCTX, FN(sha1_dupctx)},
    {OSSL_FUNC_DIGEST_GET_PARAMS, FN(sha1_get_params)},
    {OSSL_FUNC_DIGEST_GETTABLE_PARAMS, FN(sha1_gettable_params)},
    {0, NULL}};
static const OSSL_ALGORITHM leaf_digests[] = {
    {"SHA1:SHA-1:SSL3-SHA1:1.3.14.3.2.26", "provider=tern-leaf", sha1_functions, NULL},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *leaf_query(void *provctx, int operation, int *no_cache) {
  (void)provctx;
  *no_cache = 0;
  return operation == OSSL_OP_DIGEST ? leaf_digests : NULL;
}
static const OSSL_DISPATCH leaf_provider[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, FN(leaf_query)}, {0, NULL}};
#undef FN

static int leaf_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                              const OSSL_DISPATCH **out, void **provctx) {
  (void)handle;
  (void)in;
  *out = leaf_provider;
  *provctx = NULL;
  return 1;
}

/*
 * The curves a leaf's key is built for without a decoder, each with two
 * parameter-only keys made once: a legacy one (copied into the key set in
 * the X509, which X509_set_pubkey encodes without an encoder) and a
 * provider one (copied into the key CertificateVerify is checked with,
 * which a legacy key would first export to the provider, building the
 * curve's group again).
 */
static const struct {
  int nid;
  const char *name;
} leaf_curves[] = {{NID_X9_62_prime256v1, "P-256"}, {NID_secp384r1, "P-384"},
                   {NID_secp521r1, "P-521"}};
#define LEAF_CURVES (sizeof leaf_curves / sizeof leaf_curves[0])
static EVP_PKEY *leaf_legacy_params[LEAF_CURVES], *leaf_provider_params[LEAF_CURVES];

/* A legacy parameter-only EC key for nid (a named curve), or NULL. */
static EVP_PKEY *legacy_params(int nid) {
  unsigned char der[32], *w = der;
  const unsigned char *r = der;
  const ASN1_OBJECT *oid = OBJ_nid2obj(nid);
  EVP_PKEY *k = NULL;
  int n = oid != NULL ? i2d_ASN1_OBJECT(oid, NULL) : 0;
  if (n <= 0 || n > (int)sizeof der || i2d_ASN1_OBJECT(oid, &w) != n) return NULL;
  if (d2i_KeyParams(EVP_PKEY_EC, &k, &r, n) == NULL) return NULL;
  return k;
}

/* A provider parameter-only EC key for the named group, or NULL. */
static EVP_PKEY *provider_params(const char *group) {
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  EVP_PKEY *k = NULL;
  OSSL_PARAM params[] = {
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)(uintptr_t)group, 0),
      OSSL_PARAM_END};
  if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
      EVP_PKEY_fromdata(pctx, &k, EVP_PKEY_KEY_PARAMETERS, params) != 1)
    k = NULL;
  EVP_PKEY_CTX_free(pctx);
  return k;
}

/* Makes the leaves' library context and the curves' parameter keys, once
   per process (kept to the end). */
static void leaf_setup(void) {
  OSSL_LIB_CTX *lc;
  for (size_t i = 0; i < LEAF_CURVES; i++) {
    leaf_legacy_params[i] = legacy_params(leaf_curves[i].nid);
    leaf_provider_params[i] = provider_params(leaf_curves[i].name);
    if (leaf_legacy_params[i] == NULL || leaf_provider_params[i] == NULL) {
      EVP_PKEY_free(leaf_legacy_params[i]);
      EVP_PKEY_free(leaf_provider_params[i]);
      leaf_legacy_params[i] = leaf_provider_params[i] = NULL;
    }
  }
  if ((leaf_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL) goto fail;
  if ((lc = OSSL_LIB_CTX_new()) == NULL) goto fail;
  if (OSSL_PROVIDER_add_builtin(lc, "tern-leaf", leaf_provider_init) != 1 ||
      OSSL_PROVIDER_load(lc, "tern-leaf") == NULL) {
    OSSL_LIB_CTX_free(lc);
    goto fail;
  }
  leaf_libctx = lc;
  ERR_clear_error();
  return;
fail:
  EVP_MD_free(leaf_sha1);
  leaf_sha1 = NULL;
  ERR_clear_error();
}

/*
 * The key of a SubjectPublicKeyInfo with an EC key on one of leaf_curves
 * (namedCurve) or an RSA key (rsaEncryption, NULL parameters), built
 * without a decoder: *legacy for the X509, and for EC *provider for the
 * handshake (NULL for RSA, whose legacy key exports cheaply). Returns 1,
 * or 0 with nothing made.
 */
static int spki_keys(const X509_PUBKEY *xpk, EVP_PKEY **legacy, EVP_PKEY **provider) {
  ASN1_OBJECT *alg;
  const unsigned char *pub, *start, *end;
  int pub_len, ptype;
  X509_ALGOR *palg;
  const void *pval;
  EVP_PKEY *k = NULL, *pk = NULL;
  *legacy = *provider = NULL;
  if (X509_PUBKEY_get0_param(&alg, &pub, &pub_len, &palg, xpk) != 1 || palg == NULL ||
      pub == NULL || pub_len <= 0)
    return 0;
  start = pub;
  end = pub + pub_len;
  X509_ALGOR_get0(NULL, &ptype, &pval, palg);
  switch (OBJ_obj2nid(alg)) {
  case NID_X9_62_id_ecPublicKey: {
    size_t i = 0;
    int curve = ptype == V_ASN1_OBJECT ? OBJ_obj2nid(pval) : NID_undef;
    while (i < LEAF_CURVES && leaf_curves[i].nid != curve) i++;
    if (i == LEAF_CURVES || leaf_legacy_params[i] == NULL) return 0;
    if ((k = EVP_PKEY_new()) == NULL || EVP_PKEY_copy_parameters(k, leaf_legacy_params[i]) != 1 ||
        d2i_PublicKey(EVP_PKEY_EC, &k, &pub, pub_len) == NULL || pub != end)
      break;
    if ((pk = EVP_PKEY_dup(leaf_provider_params[i])) == NULL ||
        EVP_PKEY_set1_encoded_public_key(pk, start, (size_t)pub_len) != 1)
      break;
    *legacy = k;
    *provider = pk;
    return 1;
  }
  case NID_rsaEncryption:
    if (ptype != V_ASN1_NULL) return 0;
    k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &pub, pub_len);
    if (k == NULL || pub != end) break;
    *legacy = k;
    return 1;
  default:
    return 0;
  }
  EVP_PKEY_free(k);
  EVP_PKEY_free(pk);
  return 0;
}

/*
 * Parses a peer's leaf as above: an X509 with its key set, whose own
 * library context is the leaves' one, and in *key the key to check
 * CertificateVerify with (a reference of the caller's); NULL when this
 * way does not apply (the caller then parses it with parse_der). Its
 * extension cache is filled before it is returned, with the key in place.
 */
static X509 *parse_leaf_fast(const uint8_t *der, size_t len, EVP_PKEY **key) {
  const unsigned char *p = der;
  X509 *x, *ret = NULL;
  unsigned char *spki = NULL, *again = NULL;
  int spki_len, again_len;
  EVP_PKEY *legacy = NULL, *provider = NULL;
  *key = NULL;
  if (pthread_once(&leaf_once, leaf_setup) != 0 || leaf_libctx == NULL) return NULL;
  if (der == NULL || len == 0 || len > 0x7fffffff) return NULL;
  if ((x = X509_new_ex(leaf_libctx, NULL)) == NULL) return NULL;
  if (d2i_X509(&x, &p, (long)len) == NULL) {  /* frees x */
    ERR_clear_error();
    return NULL;
  }
  if (p != der + len || X509_get0_pubkey(x) != NULL) goto out;
  spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
  if (spki_len <= 0 || !spki_keys(X509_get_X509_PUBKEY(x), &legacy, &provider) ||
      X509_set_pubkey(x, legacy) != 1)
    goto out;
  again_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &again);
  if (again_len != spki_len || memcmp(again, spki, (size_t)spki_len) != 0) goto out;
  /* the fingerprint (leaf provider's SHA-1) and flags, key in place */
  if (X509_check_purpose(x, -1, 0) != 1) goto out;
  if (provider == NULL && (provider = X509_get_pubkey(x)) == NULL) goto out;
  *key = provider;
  provider = NULL;
  ret = x;
  x = NULL;
  __atomic_add_fetch(&leaf_fast_parses, 1, __ATOMIC_RELAXED);
out:
  EVP_PKEY_free(legacy);
  EVP_PKEY_free(provider);
  OPENSSL_free(spki);
  OPENSSL_free(again);
  X509_free(x);
  ERR_clear_error();
  return ret;
}

/* tern_cert_leaf_fast_parses: see cert.h. */
unsigned long tern_cert_leaf_fast_parses(void) {
  return __atomic_load_n(&leaf_fast_parses, __ATOMIC_RELAXED);
}

/* The cached parse of exactly der[0..len), up-ref'd, or NULL. */
static X509 *cache_find(trust_impl *ti, const uint8_t *der, size_t len) {
  X509 *x = NULL;
  if (pthread_mutex_lock(&ti->lock) != 0) return NULL;
  for (size_t i = 0; i < PARSE_CACHE_SLOTS; i++) {
    const parsed_cert *pc = &ti->slot[i];
    if (pc->der != NULL && pc->len == len && memcmp(pc->der, der, len) == 0) {
      if (X509_up_ref(pc->x509)) x = pc->x509;
      break;
    }
  }
  pthread_mutex_unlock(&ti->lock);
  return x;
}

/* Remembers x as the parse of der[0..len); a failure only skips caching. */
static void cache_add(trust_impl *ti, const uint8_t *der, size_t len, X509 *x) {
  uint8_t *copy;
  parsed_cert *pc;
  if (len > PARSE_CACHE_MAX_DER) return;
  /* libcrypto fills its extension cache lazily, on first use; fill it
     now, so that what other threads share is never written again. */
  (void)X509_get_extension_flags(x);
  copy = OPENSSL_memdup(der, len);
  if (copy == NULL) return;
  if (!X509_up_ref(x)) {
    OPENSSL_free(copy);
    return;
  }
  if (pthread_mutex_lock(&ti->lock) != 0) {
    X509_free(x);
    OPENSSL_free(copy);
    return;
  }
  pc = &ti->slot[ti->next];
  ti->next = (ti->next + 1) % PARSE_CACHE_SLOTS;
  OPENSSL_free(pc->der);
  X509_free(pc->x509);   /* a verification still using it holds its own reference */
  pc->der = copy;
  pc->len = len;
  pc->x509 = x;
  pthread_mutex_unlock(&ti->lock);
}

/*
 * Parses a peer certificate, through the trust's cache. The cache is
 * not part of the trust's value, hence the cast from const.
 */
static X509 *parse_peer(const tern_trust *t, const uint8_t *der, size_t len) {
  trust_impl *ti = (trust_impl *)(uintptr_t)t;
  X509 *x;
  if (der == NULL || len == 0) return NULL;
  x = cache_find(ti, der, len);
  if (x != NULL) return x;
  x = parse_der(der, len);
  if (x != NULL) cache_add(ti, der, len, x);
  return x;
}

/* True when host is an IPv4 or IPv6 literal. */
static int is_ip_literal(const char *host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/*
 * Sets what X509_verify_cert checks beyond the path: the TLS purpose
 * (the "ssl_server"/"ssl_client" defaults, as libssl uses them), the
 * time, and the name the leaf must carry.
 */
static int set_params(X509_STORE_CTX *ctx, const char *host, int peer_is_server,
                      int64_t now) {
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
  if (X509_STORE_CTX_set_default(ctx, peer_is_server ? "ssl_server" : "ssl_client") != 1)
    return 0;
  if (now != 0) X509_VERIFY_PARAM_set_time(param, (time_t)now);
  if (host == NULL) return 1;
  if (is_ip_literal(host)) return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, host, strlen(host)) == 1;
}

/*
 * Parses der[1..n) into a stack of untrusted certificates for path
 * building. Returns TERN_OK, TERN_ERR_CERT (unparsable), TERN_ERR_NOMEM.
 */
static int parse_untrusted(const tern_trust *t, const uint8_t *const *der,
                           const size_t *der_len, size_t n,
                           STACK_OF(X509) **out) {
  STACK_OF(X509) *s = sk_X509_new_reserve(NULL, (int)n);
  if (s == NULL) return TERN_ERR_NOMEM;
  for (size_t i = 1; i < n; i++) {
    X509 *x = parse_peer(t, der[i], der_len[i]);
    if (x == NULL) {
      sk_X509_pop_free(s, X509_free);
      return TERN_ERR_CERT;
    }
    sk_X509_push(s, x);  /* cannot fail: reserved */
  }
  *out = s;
  return TERN_OK;
}

/* ---- chains that verified ---- */

/*
 * The settings of t's store when its results may be remembered, in *out;
 * 0 when they may not: the store checks
 * revocation (a CRL may arrive at any time), has a verification time of
 * its own, or carries callbacks or names of its own that X509_verify_cert
 * would consult.
 */
static int rememberable(const tern_trust *t, store_settings *out) {
  X509_STORE *st = t->store;
  const X509_VERIFY_PARAM *param = X509_STORE_get0_param(st);
  unsigned long f = X509_VERIFY_PARAM_get_flags(param);
  if (f & (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_USE_DELTAS |
           X509_V_FLAG_USE_CHECK_TIME))
    return 0;
  if (X509_STORE_get_verify_cb(st) != NULL || X509_STORE_get_verify(st) != NULL ||
      X509_STORE_get_check_revocation(st) != NULL || X509_STORE_get_check_policy(st) != NULL ||
      X509_VERIFY_PARAM_get0_host((X509_VERIFY_PARAM *)param, 0) != NULL ||
      X509_VERIFY_PARAM_get0_email((X509_VERIFY_PARAM *)param) != NULL)
    return 0;
  memset(out, 0, sizeof *out);
  out->flags = f;
  out->inh_flags = X509_VERIFY_PARAM_get_inh_flags(param);
  out->depth = X509_VERIFY_PARAM_get_depth(param);
  out->auth_level = X509_VERIFY_PARAM_get_auth_level(param);
  return 1;
}

/*
 * Whether a new leaf may be parsed the decoder-free way for t: only when
 * no code but libcrypto's own sees the X509 (whose library context
 * offers SHA-1 alone): the store is rememberable and has no look-up or
 * issuer hooks of its own.
 */
static int fast_leaf_ok(const tern_trust *t) {
  X509_STORE *st = t->store;
  return X509_STORE_get_get_issuer(st) == NULL && X509_STORE_get_check_issued(st) == NULL &&
         X509_STORE_get_lookup_certs(st) == NULL && X509_STORE_get_lookup_crls(st) == NULL &&
         X509_STORE_get_get_crl(st) == NULL && X509_STORE_get_check_crl(st) == NULL &&
         X509_STORE_get_cert_crl(st) == NULL;
}

/* Whether the stored list v->der holds exactly der[0..n). */
static int same_chain(const verified_chain *v, const uint8_t *const *der,
                      const size_t *der_len, size_t n) {
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    if (v->len - off < 3) return 0;
    size_t l = (size_t)v->der[off] << 16 | (size_t)v->der[off + 1] << 8 | v->der[off + 2];
    off += 3;
    if (l != der_len[i] || v->len - off < l || memcmp(v->der + off, der[i], l) != 0) return 0;
    off += l;
  }
  return off == v->len;
}

/* Whether two stores' settings are the same. */
static int same_settings(const store_settings *a, const store_settings *b) {
  return a->flags == b->flags && a->inh_flags == b->inh_flags && a->depth == b->depth &&
         a->auth_level == b->auth_level;
}

/* The leaf of a remembered chain equal to der[0..n) for this purpose and
   these settings, valid at now, up-ref'd, and its key in *key (up-ref'd);
   or NULL. */
static X509 *verified_find(trust_impl *ti, const uint8_t *const *der, const size_t *der_len,
                           size_t n, int peer_is_server, const store_settings *settings,
                           int64_t now, EVP_PKEY **key) {
  X509 *leaf = NULL;
  *key = NULL;
  if (pthread_mutex_lock(&ti->lock) != 0) return NULL;
  for (size_t i = 0; i < VERIFIED_SLOTS; i++) {
    const verified_chain *v = &ti->verified[i];
    if (v->der == NULL || v->peer_is_server != peer_is_server ||
        !same_settings(&v->settings, settings) ||
        now < v->not_before || now >= v->not_after || !same_chain(v, der, der_len, n))
      continue;
    if (!EVP_PKEY_up_ref(v->key)) break;
    if (!X509_up_ref(v->leaf)) {
      EVP_PKEY_free(v->key);
      break;
    }
    leaf = v->leaf;
    *key = v->key;
    break;
  }
  pthread_mutex_unlock(&ti->lock);
  return leaf;
}

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* An ASN1_TIME as seconds since the epoch; 0 when it does not convert. */
static int asn1_seconds(const ASN1_TIME *t, int64_t *out) {
  struct tm tm;
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  *out = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * 86400 +
         tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  return 1;
}

/* Remembers der[0..n) (leaf parsed as leaf) as verified for this purpose
   under settings, for the span in which every certificate of path is
   valid. A failure only skips remembering. */
static void verified_add(trust_impl *ti, const uint8_t *const *der, const size_t *der_len,
                         size_t n, int peer_is_server, const store_settings *settings,
                         X509 *leaf, EVP_PKEY *key, STACK_OF(X509) *path) {
  int64_t nb = INT64_MIN, na = INT64_MAX;
  size_t len = 0, off = 0;
  uint8_t *copy;
  verified_chain *v;
  for (int i = 0; path != NULL && i < sk_X509_num(path); i++) {
    X509 *x = sk_X509_value(path, i);
    int64_t b, a;
    if (!asn1_seconds(X509_get0_notBefore(x), &b) || !asn1_seconds(X509_get0_notAfter(x), &a))
      return;
    if (b > nb) nb = b;
    if (a < na) na = a;
  }
  if (path == NULL || nb >= na) return;
  for (size_t i = 0; i < n; i++) {
    if (der_len[i] > 0xffffff) return;
    len += 3 + der_len[i];
  }
  if (len > VERIFIED_MAX_DER || (copy = OPENSSL_malloc(len)) == NULL) return;
  for (size_t i = 0; i < n; i++) {
    copy[off] = (uint8_t)(der_len[i] >> 16);
    copy[off + 1] = (uint8_t)(der_len[i] >> 8);
    copy[off + 2] = (uint8_t)der_len[i];
    memcpy(copy + off + 3, der[i], der_len[i]);
    off += 3 + der_len[i];
  }
  if (!EVP_PKEY_up_ref(key)) {
    OPENSSL_free(copy);
    return;
  }
  if (!X509_up_ref(leaf)) {
    EVP_PKEY_free(key);
    OPENSSL_free(copy);
    return;
  }
  if (pthread_mutex_lock(&ti->lock) != 0) {
    X509_free(leaf);
    EVP_PKEY_free(key);
    OPENSSL_free(copy);
    return;
  }
  v = &ti->verified[ti->next_verified];
  ti->next_verified = (ti->next_verified + 1) % VERIFIED_SLOTS;
  OPENSSL_free(v->der);
  X509_free(v->leaf);
  EVP_PKEY_free(v->key);
  v->der = copy;
  v->len = len;
  v->peer_is_server = peer_is_server;
  v->settings = *settings;
  v->not_before = nb;
  v->not_after = na;
  v->leaf = leaf;
  v->key = key;
  pthread_mutex_unlock(&ti->lock);
}

/* The name check X509_verify_cert makes with set_params' settings: the
   X509_V_ERR_* code for leaf and host. */
static int check_name(X509 *leaf, const char *host) {
  if (is_ip_literal(host))
    return X509_check_ip_asc(leaf, host, 0) == 1 ? X509_V_OK : X509_V_ERR_IP_ADDRESS_MISMATCH;
  return X509_check_host(leaf, host, strlen(host), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                         NULL) == 1
             ? X509_V_OK
             : X509_V_ERR_HOSTNAME_MISMATCH;
}

/* tern_cert_verify_peer: see cert.h. */
int tern_cert_verify_peer(const tern_trust *t, const uint8_t *const *der,
                          const size_t *der_len, size_t n, const char *host,
                          int peer_is_server, int64_t now,
                          EVP_PKEY **leaf_key, int *x509_err, uint8_t *alert) {
  X509 *leaf = NULL;
  STACK_OF(X509) *untrusted = NULL;
  X509_STORE_CTX *ctx = NULL;
  EVP_PKEY *key = NULL;
  int err = X509_V_ERR_UNSPECIFIED, rc, remember;
  uint8_t al = TERN_ALERT_BAD_CERTIFICATE;
  store_settings settings;
  int64_t at;  /* the verification time */
  trust_impl *ti = (trust_impl *)(uintptr_t)t;

  if (leaf_key != NULL) *leaf_key = NULL;
  if (x509_err != NULL) *x509_err = X509_V_ERR_UNSPECIFIED;
  if (t == NULL || t->store == NULL || der == NULL || der_len == NULL || n == 0 ||
      n > INT_MAX / 2 || (host != NULL && host[0] == '\0'))
    return TERN_ERR_INVALID_ARG;  /* an empty name would turn the name check off */
  at = now != 0 ? now : (int64_t)time(NULL);

  /* A chain that verified lately: only the name is left to check. */
  remember = rememberable(t, &settings);
  if (remember &&
      (leaf = verified_find(ti, der, der_len, n, peer_is_server, &settings, at, &key)) != NULL) {
    err = host != NULL ? check_name(leaf, host) : X509_V_OK;
    rc = err == X509_V_OK ? TERN_OK : TERN_ERR_CERT;
    goto out;
  }

  rc = TERN_ERR_CERT;
  /* A new leaf skips libcrypto's key decoder when nothing but libcrypto
     will see it (no store callback or hook: rememberable, fast_leaf_ok). */
  leaf = cache_find(ti, der[0], der_len[0]);
  if (leaf == NULL && remember && fast_leaf_ok(t))
    leaf = parse_leaf_fast(der[0], der_len[0], &key);
  if (leaf == NULL) leaf = parse_peer(t, der[0], der_len[0]);
  if (leaf == NULL) goto out;
  if (key == NULL) key = X509_get_pubkey(leaf);
  if (key == NULL) {
    al = TERN_ALERT_UNSUPPORTED_CERTIFICATE;
    goto out;
  }
  rc = parse_untrusted(t, der, der_len, n, &untrusted);
  if (rc != TERN_OK) goto out;

  rc = TERN_ERR_NOMEM;
  ctx = X509_STORE_CTX_new();
  if (ctx == NULL) goto out;
  if (X509_STORE_CTX_init(ctx, t->store, leaf, untrusted) != 1 ||
      !set_params(ctx, host, peer_is_server, now))
    goto out;
  rc = TERN_OK;
  err = X509_V_OK;
  if (X509_verify_cert(ctx) != 1) {
    err = X509_STORE_CTX_get_error(ctx);
    if (err == X509_V_OK) err = X509_V_ERR_UNSPECIFIED;
    al = alert_for(err);
    rc = TERN_ERR_CERT;
  } else if (remember) {
    verified_add(ti, der, der_len, n, peer_is_server, &settings, leaf, key,
                 X509_STORE_CTX_get0_chain(ctx));
  }
out:
  if (rc != TERN_OK) ERR_clear_error();
  if (rc == TERN_ERR_CERT && alert != NULL) *alert = al;
  if (x509_err != NULL) *x509_err = err;
  if (leaf_key != NULL) *leaf_key = key;
  else EVP_PKEY_free(key);
  X509_STORE_CTX_free(ctx);
  sk_X509_pop_free(untrusted, X509_free);
  X509_free(leaf);
  return rc;
}
