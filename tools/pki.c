/*
 * pki.c - the test PKI maker of pki.h: keys, a root CA, an intermediate
 * and a leaf, and PEM files of them.
 */
#include "pki.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define PKI_CA_YEARS (10L * 365 * 86400)

const char *pki_key_type_name(pki_key_type type) {
  static const char *const names[PKI_KEY_TYPES] = {
      "p256", "p384", "p521", "rsa2048", "rsa-pss", "ed25519", "ed448"};
  return (unsigned)type < PKI_KEY_TYPES ? names[type] : "unknown";
}

/* An RSASSA-PSS key without parameter restrictions (EVP_PKEY_Q_keygen of
   OpenSSL 3.0 knows only "RSA", "EC" and the EdDSA/XDH types). */
static EVP_PKEY *rsa_pss_key(unsigned bits) {
  EVP_PKEY *key = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
  if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1 ||
      EVP_PKEY_keygen(ctx, &key) != 1)
    key = NULL;
  EVP_PKEY_CTX_free(ctx);
  return key;
}

EVP_PKEY *pki_key_new(pki_key_type type) {
  switch (type) {
  case PKI_KEY_P256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  case PKI_KEY_P384: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
  case PKI_KEY_P521: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
  case PKI_KEY_RSA2048: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  case PKI_KEY_RSA_PSS: return rsa_pss_key(2048);
  case PKI_KEY_ED25519: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  case PKI_KEY_ED448: return EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
  }
  return NULL;
}

/* The digest to sign certificates with key (NULL for EdDSA). */
static const EVP_MD *sign_md(EVP_PKEY *key) {
  int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
  case EVP_PKEY_ED25519:
  case EVP_PKEY_ED448: return NULL;
  case EVP_PKEY_EC: return bits > 384 ? EVP_sha512() : bits > 256 ? EVP_sha384() : EVP_sha256();
  default: return EVP_sha256();
  }
}

/* Adds extension nid = value (OpenSSL config syntax) to cert. */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  int ok;
  X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (ext == NULL) return 0;
  ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok;
}

/*
 * An unsigned v3 certificate for key with subject CN=cn, a random serial
 * and the validity window; issued by issuer (NULL: by itself).
 */
static X509 *cert_base(EVP_PKEY *key, const char *cn, X509 *issuer,
                       pki_validity v) {
  X509 *x = X509_new();
  X509_NAME *name = X509_NAME_new();
  BIGNUM *serial = BN_new();
  int ok = x && name && serial;
  ok = ok && X509_set_version(x, X509_VERSION_3);
  ok = ok && BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  ok = ok && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != NULL;
  ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                        (const unsigned char *)"tern tests", -1, -1, 0);
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        (const unsigned char *)cn, -1, -1, 0);
  ok = ok && X509_set_subject_name(x, name);
  ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), v.not_before) != NULL;
  ok = ok && X509_gmtime_adj(X509_getm_notAfter(x), v.not_after) != NULL;
  ok = ok && X509_set_pubkey(x, key);
  X509_NAME_free(name);
  BN_free(serial);
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

/* Adds the CA extensions and signs x with issuer_key; frees x on failure. */
static X509 *finish(X509 *x, X509 *issuer, EVP_PKEY *issuer_key, int ca,
                    const char *san) {
  int ok = x != NULL;
  X509 *iss = issuer ? issuer : x;
  ok = ok && add_ext(x, iss, NID_subject_key_identifier, "hash");
  if (issuer) ok = ok && add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
  if (ca) {
    ok = ok && add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
    ok = ok && add_ext(x, iss, NID_ext_key_usage, "serverAuth,clientAuth");
    ok = ok && add_ext(x, iss, NID_subject_alt_name, san);
  }
  ok = ok && X509_sign(x, issuer_key, sign_md(issuer_key)) > 0;
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

X509 *pki_ca_new(EVP_PKEY *key, const char *cn, pki_validity v) {
  return finish(cert_base(key, cn, NULL, v), NULL, key, 1, NULL);
}

X509 *pki_inter_new(EVP_PKEY *key, const char *cn, X509 *issuer_cert,
                    EVP_PKEY *issuer_key, pki_validity v) {
  return finish(cert_base(key, cn, issuer_cert, v), issuer_cert, issuer_key, 1,
                NULL);
}

X509 *pki_leaf_new(EVP_PKEY *key, const char *name, X509 *issuer_cert,
                   EVP_PKEY *issuer_key, pki_validity v) {
  char san[512];
  if (name == NULL) name = "localhost";
  if (strlen(name) > 400) return NULL;
  snprintf(san, sizeof san, "DNS:localhost,DNS:%s,IP:127.0.0.1", name);
  return finish(cert_base(key, name, issuer_cert, v), issuer_cert, issuer_key,
                0, san);
}

int pki_make(pki *p, pki_key_type type, const char *name, int with_inter,
             pki_validity leaf_validity) {
  /* The CAs' window covers the leaf's, so only the leaf can be out of date. */
  pki_validity ca_v = {PKI_VALID_NOW.not_before, PKI_CA_YEARS};
  if (leaf_validity.not_before - 3600 < ca_v.not_before)
    ca_v.not_before = leaf_validity.not_before - 3600;
  if (leaf_validity.not_after + 3600 > ca_v.not_after)
    ca_v.not_after = leaf_validity.not_after + 3600;
  X509 *issuer;
  EVP_PKEY *issuer_key;
  memset(p, 0, sizeof *p);
  p->ca_key = pki_key_new(type);
  p->leaf_key = pki_key_new(type);
  if (p->ca_key == NULL || p->leaf_key == NULL) goto fail;
  p->ca = pki_ca_new(p->ca_key, "tern test root CA", ca_v);
  if (p->ca == NULL) goto fail;
  issuer = p->ca;
  issuer_key = p->ca_key;
  if (with_inter) {
    p->inter_key = pki_key_new(type);
    if (p->inter_key == NULL) goto fail;
    p->inter = pki_inter_new(p->inter_key, "tern test intermediate CA", p->ca,
                             p->ca_key, ca_v);
    if (p->inter == NULL) goto fail;
    issuer = p->inter;
    issuer_key = p->inter_key;
  }
  p->leaf = pki_leaf_new(p->leaf_key, name, issuer, issuer_key, leaf_validity);
  if (p->leaf == NULL) goto fail;
  return 0;
fail:
  pki_free(p);
  return -1;
}

void pki_free(pki *p) {
  if (p == NULL) return;
  X509_free(p->ca);
  X509_free(p->inter);
  X509_free(p->leaf);
  EVP_PKEY_free(p->ca_key);
  EVP_PKEY_free(p->inter_key);
  EVP_PKEY_free(p->leaf_key);
  memset(p, 0, sizeof *p);
}

STACK_OF(X509) *pki_chain(const pki *p) {
  STACK_OF(X509) *s = sk_X509_new_null();
  if (s == NULL || p->inter == NULL) return s;
  if (!X509_up_ref(p->inter)) {
    sk_X509_free(s);
    return NULL;
  }
  if (!sk_X509_push(s, p->inter)) {
    X509_free(p->inter); /* the reference the stack did not take */
    sk_X509_free(s);
    return NULL;
  }
  return s;
}

int pki_write_pem(const char *path, X509 *const *certs, int n, EVP_PKEY *key) {
  /* A file holding a private key is made readable by its owner only. */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, key ? 0600 : 0644);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  int ok = f != NULL;
  if (f == NULL && fd >= 0) close(fd);
  for (int i = 0; ok && i < n; i++) ok = PEM_write_X509(f, certs[i]);
  if (ok && key) ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
  if (f && fclose(f) != 0) ok = 0;
  return ok ? 0 : -1;
}

int pki_write_files(const pki *p, const char *dir) {
  char path[4096];
  X509 *chain[2] = {p->leaf, p->inter};
  snprintf(path, sizeof path, "%s/chain.pem", dir);
  if (pki_write_pem(path, chain, p->inter ? 2 : 1, NULL) != 0) return -1;
  snprintf(path, sizeof path, "%s/key.pem", dir);
  if (pki_write_pem(path, NULL, 0, p->leaf_key) != 0) return -1;
  snprintf(path, sizeof path, "%s/ca.pem", dir);
  return pki_write_pem(path, &p->ca, 1, NULL);
}
