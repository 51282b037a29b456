/*
 * pki.h - a small test PKI made with libcrypto: a self-signed root CA,
 * an optional intermediate CA and a leaf, for every key type tern signs
 * with. Used by the unit tests, the demo and the benchmark; never by the
 * library itself.
 *
 * The leaf carries subjectAltName DNS:localhost, DNS:<name> and
 * IP:127.0.0.1, extendedKeyUsage serverAuth and clientAuth, and a
 * validity window given as offsets in seconds from the current time, so
 * a test can make an expired or a not-yet-valid certificate.
 *
 * Functions return NULL / -1 on failure and print nothing; they are not
 * hardened against hostile input (they never see any).
 */
#ifndef TERN_TESTS_PKI_H
#define TERN_TESTS_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

typedef enum pki_key_type {
  PKI_KEY_P256 = 0,      /* ECDSA secp256r1, certificates signed with SHA-256 */
  PKI_KEY_P384 = 1,      /* ECDSA secp384r1, SHA-384 */
  PKI_KEY_P521 = 2,      /* ECDSA secp521r1, SHA-512 */
  PKI_KEY_RSA2048 = 3,   /* RSA 2048, rsaEncryption key, SHA-256 */
  PKI_KEY_RSA_PSS = 4,   /* RSA 2048, RSASSA-PSS key (unrestricted), SHA-256 */
  PKI_KEY_ED25519 = 5,
  PKI_KEY_ED448 = 6
} pki_key_type;
#define PKI_KEY_TYPES 7

/* One validity window: notBefore = now + not_before, notAfter = now + not_after. */
typedef struct pki_validity {
  long not_before;       /* seconds from now; e.g. -3600 */
  long not_after;        /* seconds from now; e.g. 86400 */
} pki_validity;

/* A usable default: valid from an hour ago for thirty days. */
#define PKI_VALID_NOW ((pki_validity){-3600, 30L * 86400})

/* A complete PKI. Every member is owned by the struct (pki_free). */
typedef struct pki {
  EVP_PKEY *ca_key;
  X509 *ca;              /* self-signed root, CN "tern test root CA" */
  EVP_PKEY *inter_key;   /* NULL without an intermediate */
  X509 *inter;           /* intermediate CA signed by the root, or NULL */
  EVP_PKEY *leaf_key;
  X509 *leaf;            /* signed by inter when present, else by ca */
} pki;

/* pki_key_type_name returns "p256", "rsa2048", ... for messages. */
const char *pki_key_type_name(pki_key_type type);

/* pki_key_new generates a fresh private key of the given type, or NULL. */
EVP_PKEY *pki_key_new(pki_key_type type);

/*
 * pki_ca_new makes a self-signed CA certificate for key (basicConstraints
 * critical CA:TRUE, keyUsage keyCertSign and cRLSign, a subject key
 * identifier) with common name cn. Returns the certificate or NULL.
 */
X509 *pki_ca_new(EVP_PKEY *key, const char *cn, pki_validity v);

/*
 * pki_inter_new makes an intermediate CA certificate for key, with common
 * name cn, signed by issuer (certificate issuer_cert, key issuer_key).
 */
X509 *pki_inter_new(EVP_PKEY *key, const char *cn, X509 *issuer_cert,
                    EVP_PKEY *issuer_key, pki_validity v);

/*
 * pki_leaf_new makes an end-entity certificate for key, signed by issuer,
 * with CN and SAN DNS:<name> (name may be NULL: "localhost" only), plus
 * SAN DNS:localhost and IP:127.0.0.1, basicConstraints CA:FALSE and
 * extendedKeyUsage serverAuth, clientAuth.
 */
X509 *pki_leaf_new(EVP_PKEY *key, const char *name, X509 *issuer_cert,
                   EVP_PKEY *issuer_key, pki_validity v);

/*
 * pki_make fills *p with a root CA, an intermediate when with_inter is 1,
 * and a leaf for name, every key of type `type`, the leaf valid in
 * leaf_validity (the CAs from an hour ago for ten years, widened to
 * cover the leaf's window, so that only the leaf is ever out of date).
 * Returns 0, or -1 with *p left empty.
 */
int pki_make(pki *p, pki_key_type type, const char *name, int with_inter,
             pki_validity leaf_validity);

/* pki_free frees every member of p and empties it; p may be NULL. */
void pki_free(pki *p);

/*
 * pki_chain returns a new stack holding (up-ref'd) the intermediate, or
 * an empty stack without one; free with sk_X509_pop_free(s, X509_free).
 */
STACK_OF(X509) *pki_chain(const pki *p);

/*
 * pki_write_files writes into directory dir (which must exist):
 * chain.pem (leaf, then the intermediate if any), key.pem (the leaf's
 * private key, unencrypted PKCS#8) and ca.pem (the root). Returns 0 or -1.
 */
int pki_write_files(const pki *p, const char *dir);

/*
 * pki_write_pem writes certificates certs[0..n) to the PEM file path
 * (n may be 0 for an empty file), and key after them when not NULL.
 * Returns 0 or -1.
 */
int pki_write_pem(const char *path, X509 *const *certs, int n, EVP_PKEY *key);

#endif
