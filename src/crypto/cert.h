/*
 * crypto/cert.h - crypto layer: certificate chains (ours) and trust anchors
 * (for the peer's), on libcrypto's X509 machinery.
 *
 * A tern_cert_chain is prepared once per configuration: the leaf, the
 * intermediates and the private key, plus the DER encoding of each
 * certificate so that writing a Certificate message is a copy. A
 * tern_trust wraps an X509_STORE, parsed once and shared by every
 * connection of a configuration.
 */
#ifndef TERN_CERT_H
#define TERN_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tern.h>

#include "codec/limits.h"
#include "crypto/sig.h"


typedef struct tern_cert_chain {
  X509 *leaf;
  STACK_OF(X509) *extra;                 /* intermediates, may be NULL */
  EVP_PKEY *key;                         /* matches leaf */
  size_t n;                              /* certificates: 1 + intermediates */
  uint8_t *der[TERN_CERT_MAX_CHAIN];     /* DER of each, leaf first (owned) */
  size_t der_len[TERN_CERT_MAX_CHAIN];
  uint16_t signed_with[TERN_CERT_MAX_CHAIN]; /* each one's signature as a
                                            SignatureScheme, 0 if none fits */
  /* The whole CompressedCertificate message (RFC 8879) of this chain in
     the handshake (empty context), per algorithm (index code - 1), made
     once by tern_certcomp_prepare (crypto/certcomp.h), or NULL. */
  uint8_t *compressed[3];
  size_t compressed_len[3];
  /* CertificateVerify signing contexts prepared for key, per scheme */
  tern_sig_prepared sign_prep;
} tern_cert_chain;

typedef struct tern_trust {
  X509_STORE *store;
} tern_trust;

/*
 * tern_cert_chain_load_files reads a PEM chain (leaf first, then
 * intermediates) and a PEM private key, checks that the key matches the
 * leaf, and sets *out to a new chain.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_CERT (unreadable file,
 * no certificate, more than TERN_CERT_MAX_CHAIN, key mismatch),
 * TERN_ERR_NOMEM.
 */
int tern_cert_chain_load_files(tern_cert_chain **out, const char *chain_pem,
                               const char *key_pem);

/*
 * tern_cert_chain_from_objects is the same from libcrypto objects; the
 * chain takes its own references (extra may be NULL).
 */
int tern_cert_chain_from_objects(tern_cert_chain **out, X509 *leaf,
                                 STACK_OF(X509) *extra, EVP_PKEY *key);

/*
 * tern_cert_chain_signed_within says whether every certificate of chain
 * is signed with a scheme of list[0..n) (signature_algorithms_cert,
 * RFC 8446 §4.2.3); an RSA-PSS signature matches either PSS family.
 */
int tern_cert_chain_signed_within(const tern_cert_chain *chain, const uint16_t *list,
                                  size_t n);

/* tern_cert_chain_free frees a chain; NULL is fine. */
void tern_cert_chain_free(tern_cert_chain *chain);

/* tern_trust_new makes an empty trust store. Returns TERN_OK or NOMEM. */
int tern_trust_new(tern_trust **out);

/*
 * tern_trust_load adds anchors from a PEM file and/or a hashed directory
 * (either may be NULL, not both). Returns TERN_OK, TERN_ERR_INVALID_ARG,
 * TERN_ERR_CERT (nothing could be loaded).
 */
int tern_trust_load(tern_trust *t, const char *ca_file, const char *ca_dir);

/* tern_trust_from_store wraps a caller's X509_STORE (up-ref'd). */
int tern_trust_from_store(tern_trust **out, X509_STORE *store);

/*
 * tern_trust_ca_names writes the body of a certificate_authorities
 * extension (RFC 8446 §4.2.4): the DistinguishedName (DER) of each
 * anchor held in the store, each with its 2-byte length, into a new
 * buffer *out (free with OPENSSL_free). Anchors looked up from a hashed
 * directory are not held, so they are not listed.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_LIMIT (more than 65535
 * bytes or no anchor), TERN_ERR_NOMEM.
 */
int tern_trust_ca_names(const tern_trust *t, uint8_t **out, size_t *len);

/* tern_trust_free frees a trust store; NULL is fine. */
void tern_trust_free(tern_trust *t);

/*
 * tern_cert_verify_peer checks the peer's certificate_list, given as the
 * DER certificates der[0..n) (leaf first), against the anchors of t:
 * path building and validation by X509_verify_cert (purpose TLS server
 * when peer_is_server, TLS client otherwise), and, when host is not NULL,
 * that the leaf is for host (a DNS name, checked with X509_check_host;
 * an IPv4/IPv6 literal, checked with X509_check_ip_asc).
 * now is the verification time (seconds since the epoch) or 0 for the
 * current time.
 *
 * *leaf_key gets the leaf's public key (owned by the caller, free with
 * EVP_PKEY_free) whenever the leaf parses, even when verification fails,
 * so that a verify callback may still accept. *x509_err gets the
 * X509_V_ERR_* code (X509_V_OK on success; X509_V_ERR_HOSTNAME_MISMATCH
 * or X509_V_ERR_IP_ADDRESS_MISMATCH for the name).
 *
 * Returns TERN_OK; TERN_ERR_CERT with *alert set when the chain does not
 * verify (bad_certificate for an unparsable certificate or a name
 * mismatch, unknown_ca for an unknown issuer, certificate_expired for an
 * expired or not-yet-valid certificate, unsupported_certificate for an
 * unusable key, bad_certificate otherwise); TERN_ERR_INVALID_ARG;
 * TERN_ERR_NOMEM.
 */
int tern_cert_verify_peer(const tern_trust *t, const uint8_t *const *der,
                          const size_t *der_len, size_t n, const char *host,
                          int peer_is_server, int64_t now,
                          EVP_PKEY **leaf_key, int *x509_err, uint8_t *alert);

/*
 * tern_cert_leaf_fast_parses counts, for the whole process, the peer
 * leaves tern_cert_verify_peer parsed without libcrypto's public-key
 * decoder (cert.c: a new named-curve EC or rsaEncryption leaf, checked
 * against a store without callbacks of its own). For the tests and the
 * benchmark, which must know which way a leaf went.
 */
unsigned long tern_cert_leaf_fast_parses(void);

#endif
