/*
 * crypto/sig.c - crypto layer: TLS 1.3 signature schemes (RFC 8446 §4.2.3)
 * and the CertificateVerify signature over its §4.4.3 content.
 *
 * ECDSA and RSA-PSS sign and verify the content's digest (made on the
 * thread's reused digest context) with EVP_PKEY_sign/verify; a signing key's
 * holder (our certificate chain) keeps a context prepared per scheme, and
 * each signature works on a copy of it: a context made per signature costs
 * libcrypto 3.0 a key-manager and a signature fetch by name and a walk of
 * its name table. EdDSA, which signs the content itself, uses
 * EVP_DigestSign/Verify.
 */
#include "crypto/sig.h"
#include "crypto/crypto.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

static const tern_sig schemes[TERN_SIG_SCHEMES] = {
    {TERN_SIG_ECDSA_SECP256R1_SHA256, "ecdsa_secp256r1_sha256", EVP_PKEY_EC,
     NID_X9_62_prime256v1, "SHA256", 0},
    {TERN_SIG_ECDSA_SECP384R1_SHA384, "ecdsa_secp384r1_sha384", EVP_PKEY_EC,
     NID_secp384r1, "SHA384", 0},
    {TERN_SIG_ECDSA_SECP521R1_SHA512, "ecdsa_secp521r1_sha512", EVP_PKEY_EC,
     NID_secp521r1, "SHA512", 0},
    {TERN_SIG_RSA_PSS_RSAE_SHA256, "rsa_pss_rsae_sha256", EVP_PKEY_RSA, 0,
     "SHA256", 1},
    {TERN_SIG_RSA_PSS_RSAE_SHA384, "rsa_pss_rsae_sha384", EVP_PKEY_RSA, 0,
     "SHA384", 1},
    {TERN_SIG_RSA_PSS_RSAE_SHA512, "rsa_pss_rsae_sha512", EVP_PKEY_RSA, 0,
     "SHA512", 1},
    {TERN_SIG_ED25519, "ed25519", EVP_PKEY_ED25519, 0, NULL, 0},
    {TERN_SIG_ED448, "ed448", EVP_PKEY_ED448, 0, NULL, 0},
    {TERN_SIG_RSA_PSS_PSS_SHA256, "rsa_pss_pss_sha256", EVP_PKEY_RSA_PSS, 0,
     "SHA256", 1},
    {TERN_SIG_RSA_PSS_PSS_SHA384, "rsa_pss_pss_sha384", EVP_PKEY_RSA_PSS, 0,
     "SHA384", 1},
    {TERN_SIG_RSA_PSS_PSS_SHA512, "rsa_pss_pss_sha512", EVP_PKEY_RSA_PSS, 0,
     "SHA512", 1},
};
#define N_SCHEMES (sizeof schemes / sizeof schemes[0])

/* The digests, fetched once; index by digest_index(). */
static struct {
  EVP_MD *md[3];
  int ok;
} fetched;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void) {
  fetched.md[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
  fetched.md[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
  fetched.md[2] = EVP_MD_fetch(NULL, "SHA512", NULL);
  fetched.ok = fetched.md[0] && fetched.md[1] && fetched.md[2];
}

/*
 * The fetched digest of s; *md is NULL for EdDSA. Returns 0 when the
 * fetch failed.
 */
static int scheme_md(const tern_sig *s, EVP_MD **md) {
  *md = NULL;
  if (s->md == NULL) return 1;
  if (pthread_once(&fetch_once, fetch_digests) != 0 || !fetched.ok) return 0;
  if (strcmp(s->md, "SHA256") == 0) *md = fetched.md[0];
  else if (strcmp(s->md, "SHA384") == 0) *md = fetched.md[1];
  else *md = fetched.md[2];
  return 1;
}

/* tern_sig_get: see sig.h. */
const tern_sig *tern_sig_get(uint16_t id) {
  for (size_t i = 0; i < N_SCHEMES; i++)
    if (schemes[i].id == id) return &schemes[i];
  return NULL;
}

/* tern_sig_at: see sig.h. */
const tern_sig *tern_sig_at(size_t i) { return i < N_SCHEMES ? &schemes[i] : NULL; }

/* True when key's curve is the one named by nid. */
static int curve_is(EVP_PKEY *key, int nid) {
  char name[64];
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof name, &len) != 1) return 0;
  return OBJ_sn2nid(name) == nid || EC_curve_nist2nid(name) == nid;
}

/* tern_sig_key_fits: see sig.h. */
int tern_sig_key_fits(const tern_sig *s, EVP_PKEY *key) {
  if (s == NULL || key == NULL) return 0;
  if (EVP_PKEY_get_base_id(key) != s->pkey_type) return 0;
  if (s->pkey_type == EVP_PKEY_EC) return curve_is(key, s->curve_nid);
  return 1;
}

/* tern_sig_pick: see sig.h. */
int tern_sig_pick(EVP_PKEY *key, const uint16_t *ours, size_t n_ours,
                  const uint16_t *peer, size_t n_peer, uint16_t *out,
                  uint8_t *alert) {
  if (key == NULL || out == NULL || (ours == NULL && n_ours != 0) ||
      (peer == NULL && n_peer != 0))
    return TERN_ERR_INVALID_ARG;
  for (size_t i = 0; i < n_ours; i++) {
    const tern_sig *s = tern_sig_get(ours[i]);
    if (s == NULL || !tern_sig_key_fits(s, key)) continue;
    for (size_t j = 0; j < n_peer; j++) {
      if (peer[j] == ours[i]) {
        *out = ours[i];
        return TERN_OK;
      }
    }
  }
  if (alert != NULL) *alert = TERN_ALERT_HANDSHAKE_FAILURE;
  return TERN_ERR_ALERT;
}

#define CV_PAD 64
#define CV_CONTEXT_LEN 33  /* "TLS 1.3, server CertificateVerify" */
#define CV_MAX_TH 64
#define CV_MAX (CV_PAD + CV_CONTEXT_LEN + 1 + CV_MAX_TH)

/*
 * RFC 8446 §4.4.3: the signed content is 64 spaces, the context string,
 * one zero byte, then the transcript hash. Returns its length.
 */
static size_t cv_content(int server, const uint8_t *th, size_t th_len,
                         uint8_t out[CV_MAX]) {
  static const char srv[] = "TLS 1.3, server CertificateVerify";
  static const char cli[] = "TLS 1.3, client CertificateVerify";
  memset(out, 0x20, CV_PAD);
  memcpy(out + CV_PAD, server ? srv : cli, CV_CONTEXT_LEN);
  out[CV_PAD + CV_CONTEXT_LEN] = 0;
  memcpy(out + CV_PAD + CV_CONTEXT_LEN + 1, th, th_len);
  return CV_PAD + CV_CONTEXT_LEN + 1 + th_len;
}

/*
 * Sets an RSA context to RSASSA-PSS with MGF1 on the scheme's digest and
 * a salt as long as the digest (RFC 8446 §4.2.3).
 */
static int set_pss(EVP_PKEY_CTX *pctx, const EVP_MD *md) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
}

/*
 * Makes a digest-sign (sign 1) or digest-verify (sign 0) context for s
 * and key. Returns the context or NULL.
 */
static EVP_MD_CTX *sig_ctx(const tern_sig *s, EVP_PKEY *key, int sign) {
  EVP_MD_CTX *mctx = NULL;
  EVP_PKEY_CTX *pctx = NULL;
  EVP_MD *md;
  int ok;
  if (!scheme_md(s, &md)) return NULL;
  mctx = EVP_MD_CTX_new();
  if (mctx == NULL) return NULL;
  ok = sign ? EVP_DigestSignInit(mctx, &pctx, md, NULL, key)
            : EVP_DigestVerifyInit(mctx, &pctx, md, NULL, key);
  if (ok == 1 && s->pss) ok = set_pss(pctx, md);
  if (ok != 1) {
    EVP_MD_CTX_free(mctx);
    return NULL;
  }
  return mctx;
}

/* ---- prepared contexts (ECDSA, RSA-PSS) ---- */

/* A new context for s and key, initialised to sign or verify a digest. */
static EVP_PKEY_CTX *prepare(const tern_sig *s, EVP_PKEY *key, int sign) {
  EVP_MD *md;
  EVP_PKEY_CTX *ctx;
  int ok;
  if (!scheme_md(s, &md) || md == NULL) return NULL;
  ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
  if (ctx == NULL) return NULL;
  ok = (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) == 1;
  if (ok && s->pss) ok = set_pss(ctx, md);
  if (ok) ok = EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
  if (!ok) {
    EVP_PKEY_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

/*
 * A signing context for s and key for one signature: a copy of the one
 * prepared in prep (made there on first use; threads racing to make it
 * keep the first), or a new one when prep is NULL. Copying a prepared
 * context skips the fetches by name a new one costs.
 */
static EVP_PKEY_CTX *sign_ctx(const tern_sig *s, EVP_PKEY *key, tern_sig_prepared *prep) {
  size_t i = (size_t)(s - schemes);
  EVP_PKEY_CTX *t, *expected = NULL;
  if (prep == NULL) return prepare(s, key, 1);
  t = __atomic_load_n(&prep->ctx[i], __ATOMIC_ACQUIRE);
  if (t == NULL) {
    if ((t = prepare(s, key, 1)) == NULL) return NULL;
    if (!__atomic_compare_exchange_n(&prep->ctx[i], &expected, t, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
      EVP_PKEY_CTX_free(t);
      t = expected;
    }
  }
  return EVP_PKEY_CTX_dup(t);
}

/* tern_sig_prepared_free: see sig.h. */
void tern_sig_prepared_free(tern_sig_prepared *prep) {
  if (prep == NULL) return;
  for (size_t i = 0; i < TERN_SIG_SCHEMES; i++) {
    EVP_PKEY_CTX_free(prep->ctx[i]);
    prep->ctx[i] = NULL;
  }
}

/* The digest of the content under s's hash, into dg (EVP_MAX_MD_SIZE). */
static int content_digest(const tern_sig *s, const uint8_t *content, size_t len, uint8_t *dg,
                          size_t *dg_len) {
  EVP_MD *md;
  if (!scheme_md(s, &md) || md == NULL) return TERN_ERR_CRYPTO;
  return tern_digest_md(md, content, len, dg, dg_len);
}

/* tern_sig_sign: see sig.h. */
int tern_sig_sign(const tern_sig *s, EVP_PKEY *key, int server,
                  const uint8_t *th, size_t th_len, uint8_t *sig, size_t cap,
                  size_t *sig_len) {
  return tern_sig_sign_prepared(s, key, NULL, server, th, th_len, sig, cap, sig_len);
}

/* tern_sig_sign_prepared: see sig.h. */
int tern_sig_sign_prepared(const tern_sig *s, EVP_PKEY *key, tern_sig_prepared *prep,
                           int server, const uint8_t *th, size_t th_len, uint8_t *sig,
                           size_t cap, size_t *sig_len) {
  uint8_t content[CV_MAX];
  size_t content_len, need = 0;
  EVP_MD_CTX *mctx = NULL;
  int rc = TERN_ERR_INVALID_ARG;
  if (s == NULL || key == NULL || (th == NULL && th_len != 0) ||
      th_len > CV_MAX_TH || sig == NULL || sig_len == NULL)
    return TERN_ERR_INVALID_ARG;
  *sig_len = 0;
  if (!tern_sig_key_fits(s, key)) return TERN_ERR_INVALID_ARG;
  content_len = cv_content(server, th, th_len, content);
  rc = TERN_ERR_CRYPTO;
  if (s->md != NULL) {
    uint8_t dg[EVP_MAX_MD_SIZE];
    size_t dg_len = 0;
    EVP_PKEY_CTX *pctx = sign_ctx(s, key, prep);
    if (pctx == NULL) return TERN_ERR_CRYPTO;
    if (content_digest(s, content, content_len, dg, &dg_len) == TERN_OK &&
        EVP_PKEY_sign(pctx, NULL, &need, dg, dg_len) == 1) {
      rc = TERN_ERR_BUFFER_TOO_SMALL;
      if (need <= cap) {
        rc = TERN_ERR_CRYPTO;
        if (EVP_PKEY_sign(pctx, sig, &need, dg, dg_len) == 1) {
          *sig_len = need;
          rc = TERN_OK;
        }
      }
    }
    EVP_PKEY_CTX_free(pctx);
    return rc;
  }
  mctx = sig_ctx(s, key, 1);
  if (mctx == NULL) goto out;
  /* With a NULL buffer, EVP_DigestSign reports the largest signature. */
  if (EVP_DigestSign(mctx, NULL, &need, content, content_len) != 1) goto out;
  rc = TERN_ERR_BUFFER_TOO_SMALL;
  if (need > cap) goto out;
  rc = TERN_ERR_CRYPTO;
  if (EVP_DigestSign(mctx, sig, &need, content, content_len) != 1) goto out;
  *sig_len = need;
  rc = TERN_OK;
out:
  EVP_MD_CTX_free(mctx);
  return rc;
}

/* tern_sig_verify: see sig.h. */
int tern_sig_verify(const tern_sig *s, EVP_PKEY *key, int server,
                    const uint8_t *th, size_t th_len, const uint8_t *sig,
                    size_t sig_len, uint8_t *alert) {
  uint8_t content[CV_MAX];
  size_t content_len;
  EVP_MD_CTX *mctx;
  int ok;
  if (s == NULL || key == NULL || alert == NULL || (th == NULL && th_len != 0) ||
      th_len > CV_MAX_TH || (sig == NULL && sig_len != 0))
    return TERN_ERR_INVALID_ARG;
  /* RFC 8446 §4.4.3: the scheme must fit the certificate's key. */
  if (!tern_sig_key_fits(s, key)) {
    *alert = TERN_ALERT_ILLEGAL_PARAMETER;
    return TERN_ERR_ALERT;
  }
  content_len = cv_content(server, th, th_len, content);
  if (s->md != NULL) {
    uint8_t dg[EVP_MAX_MD_SIZE];
    size_t dg_len = 0;
    EVP_PKEY_CTX *pctx = prepare(s, key, 0);
    if (pctx == NULL || content_digest(s, content, content_len, dg, &dg_len) != TERN_OK) {
      EVP_PKEY_CTX_free(pctx);
      *alert = TERN_ALERT_INTERNAL_ERROR;
      return TERN_ERR_ALERT;
    }
    ok = sig_len <= TERN_SIG_MAX && EVP_PKEY_verify(pctx, sig, sig_len, dg, dg_len) == 1;
    EVP_PKEY_CTX_free(pctx);
  } else {
    mctx = sig_ctx(s, key, 0);
    if (mctx == NULL) {
      *alert = TERN_ALERT_INTERNAL_ERROR;
      return TERN_ERR_ALERT;
    }
    ok = sig_len <= TERN_SIG_MAX &&
         EVP_DigestVerify(mctx, sig, sig_len, content, content_len) == 1;
    EVP_MD_CTX_free(mctx);
  }
  if (!ok) {
    /* A forged or garbled signature is the peer's fault, not ours. */
    ERR_clear_error();
    *alert = TERN_ALERT_DECRYPT_ERROR;
    return TERN_ERR_ALERT;
  }
  return TERN_OK;
}
