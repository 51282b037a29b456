/*
 * tern.h - the one public header of tern, a TLS 1.3 handshake engine for
 * QUIC (RFC 9001) and TLS over TCP (RFC 8446), built on OpenSSL libcrypto.
 *
 * Conventions:
 *  - Functions return TERN_OK (0) on success or a negative TERN_ERR_* code;
 *    tern_strerror() turns a code into a sentence.
 *  - The library never reads a clock, never touches a socket and never
 *    allocates per packet: the caller owns buffers and time.
 *  - Secrets handed to the caller are valid only during the call that
 *    hands them out; tern wipes its own copies with OPENSSL_cleanse.
 */
#ifndef TERN_H
#define TERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ */
/* Result codes                                                        */
/* ------------------------------------------------------------------ */

#define TERN_OK 0
/** The operation needs more input before it can make progress. */
#define TERN_WANT_READ 1

#define TERN_ERR_INVALID_ARG -1   /**< a NULL pointer, a bad length or a bad enum */
#define TERN_ERR_NOMEM -2         /**< an allocation failed */
#define TERN_ERR_CRYPTO -3        /**< libcrypto reported a failure */
#define TERN_ERR_DECRYPT -4       /**< AEAD authentication failed (tampered or wrong key) */
#define TERN_ERR_BUFFER_TOO_SMALL -5 /**< the output buffer cannot hold the result */
#define TERN_ERR_UNSUPPORTED -6   /**< unknown cipher suite, QUIC version, ... */
#define TERN_ERR_STATE -7         /**< the call is not legal in the current state */
#define TERN_ERR_MALFORMED -8     /**< input bytes do not follow the wire format */
#define TERN_ERR_LIMIT -9         /**< a configured or protocol size limit was hit */
#define TERN_ERR_ALERT -10        /**< the handshake failed; tern_conn_alert() says why */
#define TERN_ERR_CERT -11         /**< a certificate or key could not be loaded or used */
#define TERN_ERR_EXPIRED -12      /**< a session or ticket is past its lifetime */
#define TERN_ERR_MISMATCH -13     /**< a session is for another server name */
#define TERN_ERR_CLOSED -14       /**< the peer closed the connection (close_notify) */

/**
 * tern_strerror returns a static, human-readable description of a TERN_*
 * result code (never NULL; unknown codes give "unknown error").
 */
const char *tern_strerror(int err);

/* ------------------------------------------------------------------ */
/* Algorithms, by IANA code                                            */
/* ------------------------------------------------------------------ */

#define TERN_TLS_AES_128_GCM_SHA256 0x1301
#define TERN_TLS_AES_256_GCM_SHA384 0x1302
#define TERN_TLS_CHACHA20_POLY1305_SHA256 0x1303
/** AES-128-CCM (RFC 8446 §B.4), in QUIC and over TCP; not offered by
    default (tern_config_set_cipher_suites turns it on). */
#define TERN_TLS_AES_128_CCM_SHA256 0x1304
/** AES-128-CCM with an 8-byte tag: over TCP only, never negotiated in
    QUIC (RFC 9001 §5.3: a QUIC client does not offer it, a QUIC server
    does not pick it, tern_quic_key_new refuses it); not offered by
    default. */
#define TERN_TLS_AES_128_CCM_8_SHA256 0x1305

/**
 * tern_suite_name returns the RFC 8446 name of a TLS 1.3 cipher suite
 * ("TLS_AES_128_GCM_SHA256", ...) or NULL when tern does not support it.
 */
const char *tern_suite_name(uint16_t suite);

/** The RFC 8446 / RFC 7919 name of a named group ("x25519", "secp256r1",
    "ffdhe2048", ...), or NULL when tern does not support it. */
const char *tern_group_name(uint16_t group);

/** The RFC 8446 name of a signature scheme ("ecdsa_secp256r1_sha256",
    ...), or NULL when tern does not support it. */
const char *tern_signature_scheme_name(uint16_t scheme);

/**
 * tern_suite_from_name, tern_group_from_name and
 * tern_signature_scheme_from_name give the IANA code of the algorithm
 * tern implements under that name, ignoring case, or 0 when there is
 * none (or name is NULL). Each takes the name its *_name function returns
 * (RFC 8446's: "TLS_AES_128_GCM_SHA256", "x25519", "ed25519", ...); a
 * group also answers to OpenSSL's names of its curve or group: the short
 * name ("X25519", "prime256v1", "secp384r1") and a NIST curve's NIST name
 * ("P-256"). Names come from the same tables as the algorithms, so every
 * algorithm tern implements has one.
 */
uint16_t tern_suite_from_name(const char *name);
uint16_t tern_group_from_name(const char *name);
uint16_t tern_signature_scheme_from_name(const char *name);

/**
 * tern_supported_suites, tern_supported_groups and
 * tern_supported_signature_schemes write the IANA codes of every
 * algorithm of that kind tern implements (at most cap of them; out may be
 * NULL when cap is 0) and return how many there are, which may exceed cap.
 */
size_t tern_supported_suites(uint16_t *out, size_t cap);
size_t tern_supported_groups(uint16_t *out, size_t cap);
size_t tern_supported_signature_schemes(uint16_t *out, size_t cap);

/**
 * HKDF (RFC 5869) and TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1) with the
 * hash of a cipher suite (SHA-256, or SHA-384 for
 * TLS_AES_256_GCM_SHA384), for a QUIC stack's own derivations (stateless
 * reset tokens, token keys; ngtcp2's ngtcp2_crypto_hkdf_* in the ngtcp2
 * backend).
 *
 * tern_suite_hkdf_extract writes the hash length (32 or 48) of PRK to prk;
 * salt NULL/0 means a zero salt. tern_suite_hkdf_expand writes out_len
 * bytes (at most 255 * hash length). tern_suite_hkdf_expand_label adds
 * the "tls13 " prefix to label (0..249 bytes, no zero byte) and expands
 * with context (0..255 bytes; NULL with 0 for none) into out_len (at most
 * 65535) bytes.
 *
 * Return TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED (suite),
 * TERN_ERR_CRYPTO.
 */
int tern_suite_hkdf_extract(uint16_t suite, const uint8_t *salt,
                            size_t salt_len, const uint8_t *ikm,
                            size_t ikm_len, uint8_t *prk);
int tern_suite_hkdf_expand(uint16_t suite, const uint8_t *prk, size_t prk_len,
                           const uint8_t *info, size_t info_len, uint8_t *out,
                           size_t out_len);
int tern_suite_hkdf_expand_label(uint16_t suite, const uint8_t *secret,
                                 size_t secret_len, const uint8_t *label,
                                 size_t label_len, const uint8_t *context,
                                 size_t context_len, uint8_t *out,
                                 size_t out_len);

/* ------------------------------------------------------------------ */
/* Handshake engine: configuration                                     */
/* ------------------------------------------------------------------ */

/*
 * ML-KEM (NIST FIPS 203), tern's own implementation, the one under the
 * post-quantum groups: level is 512, 768 or 1024 (ML-KEM-512/768/1024).
 * Keys and ciphertexts are FIPS 203's byte strings; random bytes come
 * from RAND_bytes. The shared secret is TERN_MLKEM_SECRET_LEN bytes.
 */
#define TERN_MLKEM_SECRET_LEN 32

/** tern_mlkem_sizes gives the lengths of the encapsulation key, the
    decapsulation key and the ciphertext of a level (any pointer may be
    NULL). Returns TERN_OK or TERN_ERR_UNSUPPORTED (another level). */
int tern_mlkem_sizes(unsigned level, size_t *ek_len, size_t *dk_len, size_t *ct_len);

/** tern_mlkem_generate makes a key pair (ML-KEM.KeyGen): ek and dk need
    the lengths tern_mlkem_sizes gives. Returns TERN_OK,
    TERN_ERR_UNSUPPORTED, TERN_ERR_INVALID_ARG, TERN_ERR_CRYPTO. */
int tern_mlkem_generate(unsigned level, uint8_t *ek, uint8_t *dk);

/** tern_mlkem_encapsulate (ML-KEM.Encaps, after FIPS 203 §7.2's check of
    ek: its length and every coefficient below q) writes the ciphertext
    into ct and the shared secret into secret. Returns TERN_OK,
    TERN_ERR_MALFORMED (ek refused), TERN_ERR_UNSUPPORTED,
    TERN_ERR_INVALID_ARG, TERN_ERR_CRYPTO. */
int tern_mlkem_encapsulate(unsigned level, const uint8_t *ek, size_t ek_len, uint8_t *ct,
                           uint8_t secret[TERN_MLKEM_SECRET_LEN]);

/** tern_mlkem_decapsulate (ML-KEM.Decaps, after FIPS 203 §7.3's checks of
    the lengths and of H(ek) inside dk; a ciphertext that was tampered
    with gives the implicit-rejection secret, not an error) writes the
    shared secret. Returns TERN_OK, TERN_ERR_MALFORMED, TERN_ERR_UNSUPPORTED,
    TERN_ERR_INVALID_ARG, TERN_ERR_CRYPTO. */
int tern_mlkem_decapsulate(unsigned level, const uint8_t *dk, size_t dk_len,
                           const uint8_t *ct, size_t ct_len,
                           uint8_t secret[TERN_MLKEM_SECRET_LEN]);

/** A kept key, for a key pair that its maker uses once and keeps in
    memory (a TLS client's key share; the hybrid groups use it): dk
    followed by the matrix A-hat that KeyGen computed, so that
    decapsulation does not compute it again. tern_mlkem_kept_size gives
    its length for a level (0 for another level). */
size_t tern_mlkem_kept_size(unsigned level);

/** tern_mlkem_generate_kept makes a key pair like tern_mlkem_generate,
    ek as there and the kept key (tern_mlkem_kept_size bytes, its first
    dk_len bytes dk) into kept; wipe it with OPENSSL_cleanse after use.
    Returns as tern_mlkem_generate. */
int tern_mlkem_generate_kept(unsigned level, uint8_t *ek, uint8_t *kept);

/** tern_mlkem_decapsulate_kept decapsulates with a kept key from
    tern_mlkem_generate_kept (never one from elsewhere: the H(ek) check of
    FIPS 203 §7.3, true by construction, is skipped); the same secret as
    tern_mlkem_decapsulate with its dk. Returns as tern_mlkem_decapsulate
    (TERN_ERR_MALFORMED for a length other than tern_mlkem_kept_size). */
int tern_mlkem_decapsulate_kept(unsigned level, const uint8_t *kept, size_t kept_len,
                                const uint8_t *ct, size_t ct_len,
                                uint8_t secret[TERN_MLKEM_SECRET_LEN]);

/* Named groups (RFC 8446 §4.2.7). */
#define TERN_GROUP_SECP256R1 0x0017
#define TERN_GROUP_SECP384R1 0x0018
#define TERN_GROUP_SECP521R1 0x0019
#define TERN_GROUP_X25519 0x001d
#define TERN_GROUP_X448 0x001e
/* Finite-field groups (RFC 7919), shares of 256 .. 1024 bytes: offered
   by default after the elliptic-curve groups, with no key share in the
   first ClientHello unless tern_config_set_key_share_groups asks for one. */
#define TERN_GROUP_FFDHE2048 0x0100
#define TERN_GROUP_FFDHE3072 0x0101
#define TERN_GROUP_FFDHE4096 0x0102
#define TERN_GROUP_FFDHE6144 0x0103
#define TERN_GROUP_FFDHE8192 0x0104
/* Post-quantum groups (FIPS 203 ML-KEM, tern's own implementation).
   Hybrids (draft-ietf-tls-ecdhe-mlkem), offered first by default; a
   client's first ClientHello carries X25519MLKEM768 and X25519 shares:
   X25519MLKEM768: client share 1216 bytes (ML-KEM-768 key, then X25519),
   server share 1120 (ciphertext, then X25519), secret 64;
   SecP256r1MLKEM768: 1249 / 1153 / 64 (P-256 part first);
   SecP384r1MLKEM1024: 1665 / 1665 / 80 (P-384 part first). */
#define TERN_GROUP_SECP256R1MLKEM768 0x11eb
#define TERN_GROUP_X25519MLKEM768 0x11ec
#define TERN_GROUP_SECP384R1MLKEM1024 0x11ed
/* ML-KEM alone (draft-ietf-tls-mlkem): off by default, by name or code. */
#define TERN_GROUP_MLKEM768 0x0201
#define TERN_GROUP_MLKEM1024 0x0202

/* Signature schemes (RFC 8446 §4.2.3). */
#define TERN_SIG_ECDSA_SECP256R1_SHA256 0x0403
#define TERN_SIG_ECDSA_SECP384R1_SHA384 0x0503
#define TERN_SIG_ECDSA_SECP521R1_SHA512 0x0603
#define TERN_SIG_RSA_PSS_RSAE_SHA256 0x0804
#define TERN_SIG_RSA_PSS_RSAE_SHA384 0x0805
#define TERN_SIG_RSA_PSS_RSAE_SHA512 0x0806
#define TERN_SIG_ED25519 0x0807
#define TERN_SIG_ED448 0x0808
#define TERN_SIG_RSA_PSS_PSS_SHA256 0x0809
#define TERN_SIG_RSA_PSS_PSS_SHA384 0x080a
#define TERN_SIG_RSA_PSS_PSS_SHA512 0x080b

/* Alert descriptions (RFC 8446 §6). tern_conn_alert() returns one. */
#define TERN_ALERT_CLOSE_NOTIFY 0
#define TERN_ALERT_UNEXPECTED_MESSAGE 10
#define TERN_ALERT_BAD_RECORD_MAC 20
#define TERN_ALERT_RECORD_OVERFLOW 22
#define TERN_ALERT_HANDSHAKE_FAILURE 40
#define TERN_ALERT_BAD_CERTIFICATE 42
#define TERN_ALERT_UNSUPPORTED_CERTIFICATE 43
#define TERN_ALERT_CERTIFICATE_REVOKED 44
#define TERN_ALERT_CERTIFICATE_EXPIRED 45
#define TERN_ALERT_CERTIFICATE_UNKNOWN 46
#define TERN_ALERT_ILLEGAL_PARAMETER 47
#define TERN_ALERT_UNKNOWN_CA 48
#define TERN_ALERT_ACCESS_DENIED 49
#define TERN_ALERT_DECODE_ERROR 50
#define TERN_ALERT_DECRYPT_ERROR 51
#define TERN_ALERT_PROTOCOL_VERSION 70
#define TERN_ALERT_INSUFFICIENT_SECURITY 71
#define TERN_ALERT_INTERNAL_ERROR 80
#define TERN_ALERT_INAPPROPRIATE_FALLBACK 86
#define TERN_ALERT_USER_CANCELED 90
#define TERN_ALERT_MISSING_EXTENSION 109
#define TERN_ALERT_UNSUPPORTED_EXTENSION 110
#define TERN_ALERT_UNRECOGNIZED_NAME 112
#define TERN_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE 113
#define TERN_ALERT_UNKNOWN_PSK_IDENTITY 115
#define TERN_ALERT_CERTIFICATE_REQUIRED 116
#define TERN_ALERT_NO_APPLICATION_PROTOCOL 120
#define TERN_ALERT_ECH_REQUIRED 121 /**< RFC 9849 §11.2: ECH offered, not accepted */

/** tern_alert_name returns "handshake_failure" etc., or "unknown_alert". */
const char *tern_alert_name(uint8_t alert);

/* ------------------------------------------------------------------ */
/* Roles, levels, directions (used by the handshake engine)            */
/* ------------------------------------------------------------------ */

typedef enum tern_role { TERN_CLIENT = 0, TERN_SERVER = 1 } tern_role;

/** QUIC encryption levels (RFC 9001 §4.1.4). */
typedef enum tern_level {
  TERN_LEVEL_INITIAL = 0,
  TERN_LEVEL_EARLY = 1,       /**< 0-RTT */
  TERN_LEVEL_HANDSHAKE = 2,
  TERN_LEVEL_APPLICATION = 3  /**< 1-RTT */
} tern_level;

typedef enum tern_direction { TERN_READ = 0, TERN_WRITE = 1 } tern_direction;

/* ------------------------------------------------------------------ */
/* Handshake engine: configuration and connections                     */
/* ------------------------------------------------------------------ */

/** Shared, reference-counted settings of many connections of one role. */
typedef struct tern_config tern_config;
/** One TLS 1.3 connection (QUIC or TCP mode). */
typedef struct tern_conn tern_conn;

/* libcrypto types, for the functions that take them. */
struct x509_st;
struct stack_st_X509;
struct evp_pkey_st;
struct x509_store_st;

/**
 * tern_config_new makes a configuration for TERN_CLIENT or TERN_SERVER
 * with the defaults: three suites (AES-128-GCM, ChaCha20, AES-256-GCM;
 * the two AES-128-CCM suites only when set), groups X25519MLKEM768,
 * SecP256r1MLKEM768, SecP384r1MLKEM1024 (post-quantum hybrids), X25519,
 * P-256, X448, P-384, P-521, then ffdhe2048, 3072, 4096, 6144, 8192 (a
 * client's first ClientHello carries an X25519MLKEM768 and an X25519
 * share, so a server that takes another group asks for it with a
 * HelloRetryRequest; a default server takes the hybrid share when
 * offered, else the client's classical share, and picks an FFDHE group
 * when the client offers no curve it has), every signature
 * scheme, peer verification on for clients, a 132 KiB cap
 * on one handshake message; servers get a random ticket key of their own
 * and send 2 tickets (2 h lifetime) after each handshake once they have
 * a clock (tern_config_set_clock); 0-RTT, client authentication and
 * padding are off. Returns NULL when out of memory.
 */
tern_config *tern_config_new(tern_role role);

/** tern_config_free drops one reference; connections hold their own. */
void tern_config_free(tern_config *cfg);

/*
 * Threads. A configuration, once set up, may be shared by connections on
 * several threads at once (a server's workers): making and freeing
 * connections, handshakes, tickets (their keys and the strike register
 * are locked) and key logging only read it or lock what they change. Its
 * setters are not for use while connections on other threads run, except
 * tern_config_set_ticket_key (rotation) and tern_config_free. A
 * connection belongs to one thread at a time.
 */

/**
 * tern_config_set_cipher_suites sets the suites in preference order (a
 * server picks the first of its list the client offers). Any of the five
 * TERN_TLS_* suites may be listed; a QUIC connection leaves
 * TERN_TLS_AES_128_CCM_8_SHA256 out (a client does not offer it, a
 * server does not pick it), and a QUIC client left with no suite fails
 * its handshake with handshake_failure. Returns TERN_OK,
 * TERN_ERR_INVALID_ARG (empty, too many), TERN_ERR_UNSUPPORTED (a code).
 */
int tern_config_set_cipher_suites(tern_config *cfg, const uint16_t *suites,
                                  size_t n);

/**
 * tern_config_set_groups sets the supported groups in preference order
 * (at most 16). A server picks its most preferred group the client sent
 * a share for, else its most preferred group the client supports
 * (HelloRetryRequest). Returns TERN_OK, TERN_ERR_INVALID_ARG,
 * TERN_ERR_UNSUPPORTED.
 */
int tern_config_set_groups(tern_config *cfg, const uint16_t *groups, size_t n);

/**
 * tern_config_set_pq_required makes a configuration accept only the
 * post-quantum groups (the ML-KEM hybrids and ML-KEM alone) of its group
 * list when on is 1, or any of them again when 0. A server then picks
 * the most preferred post-quantum group the client sent a share for,
 * else sends a HelloRetryRequest for its most preferred post-quantum
 * group the client lists, else fails with handshake_failure; a client
 * offers only its post-quantum groups and shares. Off by default.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_STATE (on, but the
 * group list has no post-quantum group).
 */
int tern_config_set_pq_required(tern_config *cfg, int on);

/**
 * tern_config_set_key_share_groups (client) chooses for which groups the
 * first ClientHello carries a key share (each must be in the groups
 * list; the server may ask for another with HelloRetryRequest).
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED.
 */
int tern_config_set_key_share_groups(tern_config *cfg, const uint16_t *groups,
                                     size_t n);

/**
 * tern_config_set_signature_schemes sets the schemes accepted from the
 * peer and usable with our key, in preference order.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED.
 */
int tern_config_set_signature_schemes(tern_config *cfg, const uint16_t *schemes,
                                      size_t n);

/**
 * tern_config_set_alpn sets the application protocols (client: offered;
 * server: accepted, in preference order). Names are 1..255 bytes.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_LIMIT.
 */
int tern_config_set_alpn(tern_config *cfg, const char *const *protocols,
                         size_t n);

/** Certificate compression algorithms (RFC 8879 §3, IANA codes). */
#define TERN_CERT_COMPRESSION_ZLIB 1
#define TERN_CERT_COMPRESSION_BROTLI 2
#define TERN_CERT_COMPRESSION_ZSTD 3

/**
 * tern_config_set_cert_compression turns on certificate compression
 * (RFC 8879) with algs[0..n), TERN_CERT_COMPRESSION_* in preference order;
 * n = 0 turns it off (the default). A client offers them in its
 * ClientHello (compress_certificate) and a server asking for a client
 * certificate offers them in its CertificateRequest: the peer may then
 * send its Certificate compressed with one of them, which tern
 * decompresses into a buffer of exactly the announced length, at most
 * the handshake message cap (bad_certificate past it, or when the data
 * does not decompress to that length; illegal_parameter for an algorithm
 * not offered; unexpected_message when none was offered). A server (or a
 * client answering a CertificateRequest) sends its Certificate compressed
 * with the first of its algorithms the peer offers; each chain of the
 * configuration is compressed once per algorithm, here or when a chain is
 * loaded later, not per connection. Call it before making connections.
 * Which algorithms exist depends on the libraries tern was built with
 * (meson options zlib, brotli, zstd): tern_cert_compression_available.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (NULL with n > 0, more than 3,
 * a repeated code), TERN_ERR_UNSUPPORTED (an algorithm this build lacks),
 * TERN_ERR_NOMEM, TERN_ERR_CRYPTO (a compressor failed).
 */
int tern_config_set_cert_compression(tern_config *cfg, const uint16_t *algs,
                                     size_t n);

/**
 * tern_cert_compression_available says whether this build of tern can
 * compress and decompress certificates with alg (TERN_CERT_COMPRESSION_*):
 * 1 or 0. Cannot fail.
 */
int tern_cert_compression_available(uint16_t alg);

/**
 * tern_config_load_cert_files loads our certificate chain (PEM, leaf
 * first) and private key (PEM); the key must match the leaf.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_CERT.
 */
int tern_config_load_cert_files(tern_config *cfg, const char *chain_pem,
                                const char *key_pem);

/**
 * tern_config_set_cert uses libcrypto objects for our chain and key (the
 * config takes its own references). chain may be NULL.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_CERT.
 */
int tern_config_set_cert(tern_config *cfg, struct x509_st *leaf,
                         struct stack_st_X509 *chain, struct evp_pkey_st *key);

/**
 * tern_config_load_trust adds trust anchors from a PEM file and/or a hashed
 * directory (either may be NULL). Returns TERN_OK, TERN_ERR_INVALID_ARG,
 * TERN_ERR_CERT.
 */
/**
 * tern_config_add_cert (server) adds another chain and key, e.g. an
 * ECDSA one next to an RSA one (at most 4 in all). For each handshake
 * the server presents the first chain whose key can sign with a scheme
 * the client offers and whose certificates are signed with schemes of
 * the client's signature_algorithms_cert (or signature_algorithms when
 * it sent none); failing the latter, the first whose key can sign.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_LIMIT, TERN_ERR_CERT.
 */
int tern_config_add_cert(tern_config *cfg, struct x509_st *leaf,
                         struct stack_st_X509 *chain, struct evp_pkey_st *key);

/**
 * tern_config_set_signature_schemes_cert (client) sends
 * signature_algorithms_cert (RFC 8446 §4.2.3): the schemes the server's
 * certificates may be signed with, which may include rsa_pkcs1_sha256
 * (0x0401), _sha384 (0x0501), _sha512 (0x0601). n 0 sends none (the
 * default: signature_algorithms then applies to certificates too).
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED.
 */
int tern_config_set_signature_schemes_cert(tern_config *cfg,
                                           const uint16_t *schemes, size_t n);

int tern_config_load_trust(tern_config *cfg, const char *ca_file,
                           const char *ca_dir);

/** tern_config_set_trust_store uses a caller's X509_STORE (up-ref'd). */
int tern_config_set_trust_store(tern_config *cfg, struct x509_store_st *store);

/**
 * tern_config_set_verify_peer turns peer certificate verification on or
 * off (clients verify by default; off is for tests only).
 */
int tern_config_set_verify_peer(tern_config *cfg, int on);

/**
 * tern_config_set_verify_name (client) says whether the server's
 * certificate must match the name given with tern_conn_set_server_name
 * (on, the default) or only chain to a trust anchor (off: what Python's
 * ssl calls check_hostname=False with verification on). Off, the name is
 * still sent as SNI and still binds the tickets a connection receives;
 * the chain, its validity dates and its key usage are checked as before.
 * Without tern_conn_set_server_name no name is checked either way.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (NULL, or a server configuration).
 */
int tern_config_set_verify_name(tern_config *cfg, int on);

/**
 * A verify callback sees libcrypto's verdict on the peer's chain
 * (preverify_ok 1/0 and X509_V_ERR_* code) and returns 1 to accept, 0 to
 * reject.
 */
typedef int (*tern_verify_fn)(tern_conn *c, int preverify_ok, int x509_error,
                              void *user);
int tern_config_set_verify_callback(tern_config *cfg, tern_verify_fn fn,
                                    void *user);

/** Whether a server asks the client for a certificate. */
typedef enum tern_client_auth {
  TERN_CLIENT_AUTH_NONE = 0,     /**< no CertificateRequest (default) */
  TERN_CLIENT_AUTH_OPTIONAL = 1, /**< ask; a client without one still connects */
  TERN_CLIENT_AUTH_REQUIRED = 2  /**< ask; no certificate is certificate_required */
} tern_client_auth;

/**
 * tern_config_set_client_auth (server) requests a client certificate in
 * every full handshake (a handshake on an external PSK has none: the PSK
 * authenticates the client, RFC 8446 §4.3.2). The client's chain is verified against this
 * configuration's trust anchors (tern_config_load_trust) for TLS client
 * use, or judged by the verify callback; setting a mode other than NONE
 * turns peer verification on. With send_ca_names, every CertificateRequest
 * (also the post-handshake ones of tern_tls_request_client_auth, which
 * mode NONE still allows) lists the subjects of the anchors held in the
 * store (certificate_authorities); load the trust anchors first.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (not a server, bad mode),
 * TERN_ERR_STATE (send_ca_names without anchors), TERN_ERR_NOMEM.
 */
int tern_config_set_client_auth(tern_config *cfg, tern_client_auth mode,
                                int send_ca_names);

/**
 * A server-name callback (server) runs when a ClientHello carries SNI (or
 * with NULL when none); it may switch the connection to another server
 * configuration (another certificate) with tern_conn_set_config. Return 0
 * to go on, or an alert number
 * (e.g. TERN_ALERT_UNRECOGNIZED_NAME) to fail the handshake.
 */
typedef int (*tern_server_name_fn)(tern_conn *c, const char *server_name,
                                   void *user);
int tern_config_set_server_name_callback(tern_config *cfg,
                                         tern_server_name_fn fn, void *user);

/**
 * A keylog callback receives one NSS key log line (SSLKEYLOGFILE format,
 * no newline) per secret: CLIENT_HANDSHAKE_TRAFFIC_SECRET, ...
 * Secrets are logged only when this is set.
 */
typedef void (*tern_keylog_fn)(const tern_conn *c, const char *line,
                               void *user);
int tern_config_set_keylog(tern_config *cfg, tern_keylog_fn fn, void *user);

/**
 * The random source: every random byte tern uses (randoms, ephemeral
 * keys, tickets) comes from it, so tests can replay traces byte for byte.
 * Returns 0 on success. NULL restores libcrypto's RAND_bytes.
 */
typedef int (*tern_random_fn)(void *ctx, uint8_t *out, size_t len);
int tern_config_set_random(tern_config *cfg, tern_random_fn fn, void *ctx);

/**
 * tern_config_set_max_message_size caps one handshake message, header
 * included (default 135168 = 132 KiB: more than the largest ClientHello
 * the encoding allows, 131400 bytes; at least 1024); a longer one fails
 * the handshake with illegal_parameter before its body is buffered.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG.
 */
int tern_config_set_max_message_size(tern_config *cfg, size_t max);

/* ------------------------------------------------------------------ */
/* Resumption, 0-RTT, time                                             */
/* ------------------------------------------------------------------ */

/**
 * Time, in milliseconds since an epoch the application picks (the same
 * for every connection of a configuration, and for the client the same
 * across the sessions it stores). tern never reads a clock itself: it
 * asks this callback, unless tern_conn_set_time gave the connection its
 * time. Tickets are issued and accepted only where a time is known.
 */
typedef uint64_t (*tern_clock_fn)(void *user);
int tern_config_set_clock(tern_config *cfg, tern_clock_fn fn, void *user);

/**
 * tern_config_set_tickets (server) sets how many NewSessionTickets follow
 * each handshake (default 2, at most 10; 0 for none) and their lifetime
 * in seconds (default 7200, at most 604800). Each ticket is single-use.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG.
 */
int tern_config_set_tickets(tern_config *cfg, unsigned count,
                            uint32_t lifetime_s);

/**
 * tern_config_set_ticket_key (server) makes (name, key) the key that
 * seals new tickets; the key it replaces still opens tickets (one
 * generation back), older ones are forgotten. A server configuration
 * starts with a random key of its own; servers of a fleet share tickets
 * by setting the same keys, and rotate by setting a new one.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG.
 */
int tern_config_set_ticket_key(tern_config *cfg, const uint8_t name[16],
                               const uint8_t key[32]);

/**
 * tern_config_set_early_data enables 0-RTT. Server: tickets allow early
 * data (max_early_data_size; in QUIC the wire value is 0xffffffff, RFC
 * 9001 §4.6.1) and a ClientHello's early data is accepted when its
 * ticket's suite, ALPN and early-data context match, the client's ticket
 * age is within window_ms of the server's, the ticket was never used,
 * and the early-data callback (if any) agrees. Client: offer early data
 * whenever the session allows it (window_ms unused).
 * max_early_data 0 turns 0-RTT off (the default). 0-RTT on an external
 * PSK also needs tern_config_set_psk_early_data.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG.
 */
int tern_config_set_early_data(tern_config *cfg, uint32_t max_early_data,
                               uint32_t window_ms);

/** A server's last word on 0-RTT: return 1 to accept, 0 to refuse. */
typedef int (*tern_early_data_fn)(tern_conn *c, void *user);
int tern_config_set_early_data_callback(tern_config *cfg,
                                        tern_early_data_fn fn, void *user);

/**
 * Single use of tickets (RFC 8446 §8). By default a server keeps a strike
 * register of `capacity` ticket identities (default 16384) until each
 * ticket expires; a ticket seen before, or any ticket while the register
 * is full of live entries, gives a full handshake. A fleet plugs in a
 * shared store instead: fn gets a 32-byte identity and its expiry and
 * returns 1 when it was not seen before (and records it), 0 otherwise,
 * or -1 when the store cannot answer (unreachable, too slow): the ticket
 * then still resumes the session, but its early data is refused (fail
 * closed: 0-RTT needs proof of first use; the handshake goes on in
 * 1-RTT, which a replay cannot complete). fn may be called by several
 * threads at once when the configuration is shared, and should answer
 * within a bounded time (it runs inside the handshake).
 * The same store records the ClientHellos whose early data an external
 * PSK carried, with expires_ms UINT64_MAX (see
 * tern_config_set_psk_early_data); without it they go to a register of
 * their own of the same capacity. Set it before connections are made.
 */
typedef int (*tern_replay_fn)(void *user, const uint8_t id[32],
                              uint64_t now_ms, uint64_t expires_ms);
int tern_config_set_replay_store(tern_config *cfg, size_t capacity,
                                 tern_replay_fn fn, void *user);

/**
 * A server's own ticket store (stateful tickets, revocation; the shape of
 * Python QUIC stacks' session_ticket_handler / session_ticket_fetcher).
 * issued is called with each NewSessionTicket once it is sent: ticket is
 * its identity, the bytes a client will offer in pre_shared_key (valid
 * during the call), with its lifetime and max_early_data_size. fetch is
 * called when a client offers a ticket that opened under one of the
 * configuration's ticket keys, is within its lifetime and whose binder
 * verified: return 1 to let it resume (and forget it: single use), 0 to
 * refuse it (the next PSK offered, or a full handshake), -1 when the
 * store cannot tell (it resumes, but its early data is refused), or
 * TERN_TICKET_DEFAULT to leave this one to the strike register (or the
 * replay store) as if no store were set. Otherwise fetch alone decides a
 * ticket's first use: the strike register and the replay store are not
 * asked. Both callbacks
 * or neither (NULL, NULL: back to the strike register). Server only;
 * TERN_ERR_INVALID_ARG otherwise. Set it before connections are made; the
 * callbacks may run on several threads at once.
 */
#define TERN_TICKET_DEFAULT 2
typedef void (*tern_ticket_issued_fn)(tern_conn *c, const uint8_t *ticket, size_t len,
                                      uint32_t lifetime_s, uint32_t max_early_data,
                                      void *user);
typedef int (*tern_ticket_fetch_fn)(tern_conn *c, const uint8_t *ticket, size_t len,
                                    void *user);
int tern_config_set_ticket_store(tern_config *cfg, tern_ticket_issued_fn issued,
                                 tern_ticket_fetch_fn fetch, void *user);

/**
 * tern_config_set_psk_ke allows PSK handshakes (resumption, external
 * PSKs) without a fresh (EC)DHE (psk_ke, no forward secrecy for that
 * connection): a client offers it besides psk_dhe_ke, a server picks it
 * when offered. Off by default.
 */
int tern_config_set_psk_ke(tern_config *cfg, int on);

/**
 * A client's new-session callback receives each ticket as an opaque,
 * versioned session blob (at most TERN_SESSION_MAX_BYTES), valid during
 * the call: store it and give it to tern_conn_set_session later.
 * max_early_data is what the ticket allows (0: no 0-RTT).
 * Keep calling tern_handshake after the handshake is done, with the
 * application-level data the QUIC stack receives, so tickets are read.
 */
#define TERN_SESSION_MAX_BYTES 2800
typedef void (*tern_new_session_fn)(tern_conn *c, const uint8_t *session,
                                    size_t len, uint32_t max_early_data,
                                    void *user);
int tern_config_set_new_session_callback(tern_config *cfg,
                                         tern_new_session_fn fn, void *user);

/* ------------------------------------------------------------------ */
/* External pre-shared keys (RFC 8446 §4.2.11)                         */
/* ------------------------------------------------------------------ */

/** Most external PSKs one configuration holds. */
#define TERN_MAX_PSKS 4
/** Longest PSK identity tern takes, in bytes. */
#define TERN_PSK_MAX_IDENTITY 128
/** Shortest and longest PSK key tern takes, in bytes. */
#define TERN_PSK_MIN_KEY 16
#define TERN_PSK_MAX_KEY 64

/** The hash a PSK is used with (RFC 8446 §4.2.11: SHA-256 unless set). */
typedef enum tern_psk_hash {
  TERN_PSK_SHA256 = 0, /**< with TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256 */
  TERN_PSK_SHA384 = 1  /**< with TLS_AES_256_GCM_SHA384 */
} tern_psk_hash;

/**
 * tern_config_add_psk adds an externally provisioned PSK: its identity
 * (opaque bytes, 1..TERN_PSK_MAX_IDENTITY, unique in the configuration),
 * its key (TERN_PSK_MIN_KEY..TERN_PSK_MAX_KEY bytes, copied into the
 * configuration and wiped with OPENSSL_cleanse when it is freed) and the
 * hash it is used with; at most TERN_MAX_PSKS per configuration. QUIC
 * and TCP alike.
 *
 * Client: every ClientHello offers in pre_shared_key the identities of
 * the PSKs whose hash one of its cipher suites uses, in the order they
 * were added, each with obfuscated_ticket_age 0 and a binder from the
 * "ext binder" key; a session set with tern_conn_set_session comes first
 * (so 0-RTT rides on it, and an external PSK is the fallback when the
 * ticket is refused). After a HelloRetryRequest only the PSKs of the
 * chosen suite's hash stay. An accepted PSK authenticates both sides: no
 * certificate is sent or verified, so a client that only uses PSKs needs
 * no trust anchors (a server that answers with a certificate instead is
 * verified as usual, and without anchors fails with unknown_ca).
 *
 * Server: it takes the first offered identity it knows (one of its
 * tickets, or an external PSK) that fits a suite both sides have, and
 * skips unknown ones. The PSK picks the suite: the server's preferred
 * suite when it has the PSK's hash, else its first suite of that hash
 * the client offers (which a HelloRetryRequest then names). The binder
 * of the selected identity must verify (compared in constant time), else
 * the handshake fails with decrypt_error. The handshake goes on as a
 * resumption does: no CertificateRequest, Certificate or
 * CertificateVerify; psk_dhe_ke, or psk_ke where tern_config_set_psk_ke
 * allows it on both sides. With no PSK taken the server does a full
 * handshake with its certificate; a server with no certificate (PSKs
 * only) fails it with handshake_failure. Tickets issued after an
 * external-PSK handshake resume as any others.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (NULL, a length out of range, an
 * unknown hash, an identity already added), TERN_ERR_LIMIT (full).
 */
int tern_config_add_psk(tern_config *cfg, const uint8_t *identity,
                        size_t identity_len, const uint8_t *key,
                        size_t key_len, tern_psk_hash hash);

/**
 * tern_config_set_psk_early_data lets the external PSK of this identity
 * carry 0-RTT, with the values RFC 8446 §4.2.10 wants provisioned along
 * with the key: the cipher suite (one of the PSK's hash) and the ALPN
 * protocol (NULL: none) the early data goes under, and max_early_data,
 * the most early data the client sends and the server takes over TCP
 * (in QUIC only a switch: the transport's flow control limits 0-RTT).
 * max_early_data 0 turns 0-RTT off for this PSK (the default). Both
 * sides also need tern_config_set_early_data.
 *
 * Client: it offers early data when this PSK is the first identity of
 * its ClientHello (no session set) and the suite is one of its own; a
 * server that accepts it with another suite or ALPN, or with another
 * identity than the first, fails the handshake (illegal_parameter).
 * Server: it accepts when this PSK is selected as the first identity,
 * without a HelloRetryRequest, the negotiated suite and ALPN are the
 * provisioned ones (it takes the provisioned suite when the client
 * offers it), the early-data callback (if any; tern_conn_psk_identity
 * tells it which PSK) agrees, and the ClientHello is new (below). The
 * early-data context (tern_conn_set_early_data_context) plays no part:
 * in QUIC the transport parameters 0-RTT relies on are provisioned with
 * the PSK too.
 *
 * Anti-replay: an external PSK is not single-use as a ticket is, and its
 * ClientHello carries no ticket age, so nothing in the handshake shows
 * that early data is fresh (RFC 8446 §8). What protects it is
 * ClientHello recording (§8.2) with no time bound: the server records
 * SHA-256 of the verified binder (which covers the ClientHello's random)
 * of each ClientHello whose early data it accepts, and accepts no early
 * data from a ClientHello recorded before. The record is the replay
 * store of tern_config_set_replay_store when one is set (called with
 * expires_ms UINT64_MAX: keep it for good; -1 from it refuses the early
 * data), else an in-memory register
 * of the configuration (same capacity as the tickets', kept apart from
 * it, entries never expire); once that is full, 0-RTT on external PSKs
 * is refused (1-RTT goes on). The in-memory register goes with the
 * configuration: a restarted server would take a replay of early data
 * sent before, and servers that share a PSK but no store each take one
 * replay. So a fleet, or a server that restarts, should use a persistent
 * shared store or provision new PSKs; and early data should be what may
 * safely arrive twice.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (NULL, no PSK of that identity,
 * a suite of another hash, an ALPN name of 0 or over 255 bytes),
 * TERN_ERR_UNSUPPORTED (an unknown suite).
 */
int tern_config_set_psk_early_data(tern_config *cfg, const uint8_t *identity,
                                   size_t identity_len, uint16_t suite,
                                   const char *alpn, uint32_t max_early_data);

/**
 * tern_conn_psk_identity gives the identity of the external PSK the
 * handshake used (valid as long as the connection), once the ServerHello
 * is sent (server) or received (client). Returns TERN_OK,
 * TERN_ERR_INVALID_ARG, TERN_ERR_STATE (no external PSK: a full
 * handshake, a resumed ticket, or not yet known).
 */
int tern_conn_psk_identity(const tern_conn *c, const uint8_t **identity,
                           size_t *len);

/* ------------------------------------------------------------------ */
/* QUIC mode                                                           */
/* ------------------------------------------------------------------ */

typedef struct tern_quic_callbacks {
  /**
   * A traffic secret for one direction at one level, valid during the
   * call. Write secrets come before the read secret of the same level
   * where RFC 9001 needs it. Return 0, or nonzero to fail the handshake.
   */
  int (*set_secret)(tern_conn *c, tern_level level, tern_direction dir,
                    uint16_t cipher_suite, const uint8_t *secret, size_t len);
  /** Handshake bytes to send in CRYPTO frames at this level. */
  int (*send_data)(tern_conn *c, tern_level level, const uint8_t *data,
                   size_t len);
} tern_quic_callbacks;

/**
 * tern_conn_new_quic makes a connection in QUIC mode (RFC 9001: no
 * record layer, no middlebox compatibility, no EndOfEarlyData/KeyUpdate
 * messages). The connection keeps a reference to cfg and the callbacks
 * pointer. Returns NULL on bad arguments or allocation failure.
 */
tern_conn *tern_conn_new_quic(tern_config *cfg, const tern_quic_callbacks *cb,
                              void *user);

/**
 * tern_conn_set_config (server, from the server-name callback) switches
 * the connection to cfg, e.g. for another certificate. Returns TERN_OK,
 * TERN_ERR_INVALID_ARG, TERN_ERR_STATE.
 */
int tern_conn_set_config(tern_conn *c, tern_config *cfg);

/** The user pointer given at creation. */
void *tern_conn_user(const tern_conn *c);

/**
 * tern_conn_set_server_name (client) sets the name sent in SNI and checked
 * against the server's certificate (an IP literal is checked as an
 * address and not sent; tern_config_set_verify_name turns the check off). Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_STATE.
 */
int tern_conn_set_server_name(tern_conn *c, const char *name);

/**
 * tern_quic_set_transport_params sets our quic_transport_parameters
 * extension body (RFC 9000 §18), copied. A client sets them before its
 * first tern_handshake (they go into the ClientHello). A server sets them
 * before its EncryptedExtensions is written: before the ClientHello
 * arrives, or once it was read, at the latest from the set_secret
 * callback of its Handshake write secret (the client's parameters are
 * then known, as a QUIC stack that settles the version from them needs;
 * RFC 9368 §5).
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_LIMIT, TERN_ERR_STATE.
 */
int tern_quic_set_transport_params(tern_conn *c, const uint8_t *p, size_t n);

/**
 * tern_quic_peer_transport_params gives the peer's extension body, valid
 * as long as the connection. Returns TERN_OK, or TERN_ERR_STATE before
 * it arrived.
 */
int tern_quic_peer_transport_params(const tern_conn *c, const uint8_t **p,
                                    size_t *n);

/**
 * tern_quic_provide_data hands over CRYPTO frame bytes received at a
 * level, in order, in any fragmentation. Bytes at a level the handshake
 * does not expect fail with unexpected_message. Call tern_handshake after.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_LIMIT, TERN_ERR_ALERT.
 */
int tern_quic_provide_data(tern_conn *c, tern_level level, const uint8_t *data,
                           size_t len);

/**
 * tern_handshake advances the handshake: a client sends its ClientHello
 * on the first call; every call processes the data provided so far.
 * Returns TERN_OK once the handshake is complete (and on later calls,
 * processing post-handshake messages), TERN_WANT_READ when it needs more
 * data, or TERN_ERR_ALERT (see tern_conn_alert) / another TERN_ERR_*.
 * Errors are sticky.
 */
int tern_handshake(tern_conn *c);

/**
 * The alert that ended the connection (sent or received), or 0 when
 * none. In QUIC, the CONNECTION_CLOSE error is CRYPTO_ERROR 0x100 + alert.
 */
uint8_t tern_conn_alert(const tern_conn *c);

/** A sentence on why the handshake failed, or "" when it did not. */
const char *tern_conn_error_detail(const tern_conn *c);

/** 1 once the handshake is complete. */
int tern_conn_handshake_done(const tern_conn *c);

/** Negotiated values (0 / NULL before they are known). */
uint16_t tern_conn_cipher_suite(const tern_conn *c);
uint16_t tern_conn_group(const tern_conn *c);
/** The negotiated group's name ("X25519MLKEM768", "x25519", ...), NULL
    before it is known or when resumption used no key exchange. */
const char *tern_conn_group_name(const tern_conn *c);
uint16_t tern_conn_signature_scheme(const tern_conn *c);
const char *tern_conn_alpn(const tern_conn *c);
/** The client's SNI as the server saw it (server), or the name set (client). */
const char *tern_conn_server_name(const tern_conn *c);
/** 1 when the handshake went through a HelloRetryRequest. */
int tern_conn_used_hrr(const tern_conn *c);
/**
 * tern_conn_cert_compression says how a Certificate went compressed
 * (RFC 8879): dir TERN_READ, the algorithm (TERN_CERT_COMPRESSION_*) of
 * the last CompressedCertificate received from the peer; TERN_WRITE, the
 * algorithm of the last one we sent. 0 when none (or c is NULL).
 */
uint16_t tern_conn_cert_compression(const tern_conn *c, tern_direction dir);

/** tern_conn_set_time gives the connection its time (see tern_clock_fn). */
int tern_conn_set_time(tern_conn *c, uint64_t now_ms);

/**
 * tern_conn_set_session (client, before the handshake, after
 * tern_conn_set_server_name) offers a stored session; now_ms is the
 * current time, from which the obfuscated ticket age is computed. A
 * refused blob leaves the connection to do a full handshake.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_STATE (started, or not a
 * client), TERN_ERR_MALFORMED (corrupted), TERN_ERR_UNSUPPORTED (another
 * blob version, or a suite this connection does not offer: not in the
 * configuration, or TLS_AES_128_CCM_8_SHA256 in QUIC),
 * TERN_ERR_EXPIRED, TERN_ERR_MISMATCH (another server name).
 */
int tern_conn_set_session(tern_conn *c, const uint8_t *session, size_t len,
                          uint64_t now_ms);

/**
 * tern_conn_set_early_data_context (server, before the ClientHello is
 * processed) sets the application's context that 0-RTT must match: its
 * SHA-256 goes into the tickets this connection issues, and early data
 * is accepted only when the ticket's matches this connection's. In QUIC,
 * the transport parameters that early data depends on (RFC 9000 §7.4.1).
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_STATE.
 */
int tern_conn_set_early_data_context(tern_conn *c, const uint8_t *ctx,
                                     size_t len);

/** Where 0-RTT stands. */
typedef enum tern_early_data_status {
  TERN_EARLY_DATA_NONE = 0,      /**< not offered (or not possible) */
  TERN_EARLY_DATA_OFFERED = 1,   /**< client: offered, the server has not answered */
  TERN_EARLY_DATA_ACCEPTED = 2,
  TERN_EARLY_DATA_REJECTED = 3   /**< resend as 1-RTT; nothing else is lost */
} tern_early_data_status;
tern_early_data_status tern_conn_early_data_status(const tern_conn *c);

/**
 * tern_conn_early_data_max (client) gives how many bytes of early data
 * this connection may send: once tern_conn_set_session offered a session
 * with 0-RTT, its ticket's max_early_data_size; once the ClientHello went
 * out, what the offered PSK (ticket or external) allows; 0 when no early
 * data is offered. Over TCP, tern_tls_write refuses more (TERN_ERR_LIMIT).
 */
uint32_t tern_conn_early_data_max(const tern_conn *c);

/** 1 when the handshake resumed a session (a ticket's PSK accepted; an
    external PSK is tern_conn_psk_identity's). */
int tern_conn_resumed(const tern_conn *c);

/**
 * tern_conn_send_tickets (server, after the handshake) issues n more
 * tickets now. Returns TERN_OK, TERN_ERR_STATE (not done, no time, no
 * ticket key), TERN_ERR_INVALID_ARG, TERN_ERR_ALERT.
 */
int tern_conn_send_tickets(tern_conn *c, unsigned n);

/**
 * tern_export_keying_material is the TLS 1.3 exporter (RFC 8446 §7.5):
 * out_len bytes for label (a string) and context (may be NULL with 0:
 * the empty context, the same as no context in TLS 1.3), once the
 * handshake is done. tern_export_early_keying_material uses the early
 * exporter secret, available once 0-RTT was offered (client) or
 * accepted (server). Returns TERN_OK, TERN_ERR_INVALID_ARG (label longer
 * than 249 bytes, out_len over 255 * hash length), TERN_ERR_STATE.
 */
int tern_export_keying_material(const tern_conn *c, const char *label,
                                const uint8_t *context, size_t context_len,
                                uint8_t *out, size_t out_len);
int tern_export_early_keying_material(const tern_conn *c, const char *label,
                                      const uint8_t *context,
                                      size_t context_len, uint8_t *out,
                                      size_t out_len);

/**
 * tern_conn_peer_certificate gives the DER of the peer's leaf certificate
 * (valid as long as the connection). Rely on it only once the handshake
 * is done: the peer has then also proven its key (CertificateVerify and
 * Finished). A resumed connection has none: the session was
 * authenticated when it was made; nor has one on an external PSK, which
 * the PSK authenticates (tern_conn_psk_identity). Returns TERN_OK,
 * TERN_ERR_INVALID_ARG, or TERN_ERR_STATE when there is none (a client
 * without a certificate, a PSK handshake, or before it arrived).
 */
int tern_conn_peer_certificate(const tern_conn *c, const uint8_t **der,
                               size_t *len);

/** tern_conn_free wipes every secret and frees the connection. */
void tern_conn_free(tern_conn *c);

/* ------------------------------------------------------------------ */
/* TLS over TCP                                                        */
/* ------------------------------------------------------------------ */

/**
 * tern_conn_new_tls makes a connection for TLS over TCP (RFC 8446 records,
 * middlebox compatibility mode on). It does no I/O: feed it the bytes
 * received from the socket (tern_tls_feed), send what tern_tls_output
 * gives, and read and write application data. tern_handshake starts a
 * client and tells when the handshake is done. With 0-RTT (see
 * tern_config_set_early_data), a client's tern_tls_write before the
 * handshake is done sends early data and EndOfEarlyData follows by
 * itself; a server hands accepted early data to tern_tls_read and skips
 * refused early data. Returns NULL on bad arguments or no memory.
 */
tern_conn *tern_conn_new_tls(tern_config *cfg, void *user);

/**
 * tern_tls_feed takes received bytes (cut anywhere) and processes every
 * whole record: handshake messages, alerts, application data (kept for
 * tern_tls_read). It stops taking input while 64 KiB of application data
 * wait unread; *consumed (may be NULL) says how many bytes it took.
 * Returns TERN_OK, or the failure (TERN_ERR_ALERT: see tern_conn_alert;
 * the alert record for the peer is then in the output).
 */
int tern_tls_feed(tern_conn *c, const uint8_t *in, size_t len,
                  size_t *consumed);

/**
 * tern_tls_output gives the bytes waiting to be sent (NULL, *len 0 when
 * none), valid until the next call on c; tern_tls_output_done(c, n)
 * says the first n were sent.
 */
const uint8_t *tern_tls_output(const tern_conn *c, size_t *len);
void tern_tls_output_done(tern_conn *c, size_t n);

/**
 * tern_tls_read copies up to cap (> 0) bytes of received application data.
 * Returns TERN_OK (*n > 0), TERN_WANT_READ (nothing yet), TERN_ERR_CLOSED
 * (the peer sent close_notify and everything was read) or the failure.
 */
int tern_tls_read(tern_conn *c, uint8_t *out, size_t cap, size_t *n);

/**
 * tern_tls_write protects application data into records (at most 2^14
 * bytes each) for the output, once the handshake is done.
 * Returns TERN_OK, TERN_ERR_STATE (handshake not done, or closed),
 * TERN_ERR_LIMIT (the key's sequence numbers are used up: update it).
 */
int tern_tls_write(tern_conn *c, const uint8_t *data, size_t len);

/**
 * tern_tls_key_update sends a KeyUpdate and moves to the next write key;
 * with request_peer_update the peer is asked to update its key too.
 * A peer's KeyUpdate is handled inside tern_tls_feed.
 * Returns TERN_OK, TERN_ERR_STATE, TERN_ERR_ALERT.
 */
int tern_tls_key_update(tern_conn *c, int request_peer_update);

/**
 * tern_tls_key_updates says how many KeyUpdates have moved one direction's
 * key: TERN_WRITE counts ours (asked for, or in answer to the peer's
 * update_requested, which tern queues inside tern_tls_feed, ahead of any
 * application data written after it: RFC 8446 §4.6.3), TERN_READ the
 * peer's. After our close_notify nothing more is sent (§6.1), not even
 * such an answer, though our key still moves. 0 for a NULL or QUIC
 * connection.
 */
unsigned tern_tls_key_updates(const tern_conn *c, tern_direction dir);

/**
 * Post-handshake client authentication (RFC 8446 §4.6.2, TCP only).
 * tern_config_set_post_handshake_auth (client) advertises it; the client
 * then answers a server's request with its certificate (or an empty one)
 * inside tern_tls_feed. tern_tls_request_client_auth (server, after the
 * handshake, when the client advertised it) sends a CertificateRequest;
 * once the client's Finished arrives, tern_conn_peer_certificate gives
 * its certificate (a missing one fails only when the configuration
 * requires client certificates). A server that asks only after the
 * handshake (client authentication mode NONE) turns verification of the
 * client's chain on with tern_config_set_verify_peer and loads its
 * anchors with tern_config_load_trust. Returns TERN_OK, TERN_ERR_INVALID_ARG,
 * TERN_ERR_STATE (QUIC, not done, not advertised, one under way).
 */
int tern_config_set_post_handshake_auth(tern_config *cfg, int on);
int tern_tls_request_client_auth(tern_conn *c);
/** Server: how many post-handshake authentications have completed (each
    replaces tern_conn_peer_certificate's answer, none for an empty one). */
unsigned tern_tls_client_auths_completed(const tern_conn *c);

/**
 * tern_config_set_record_padding sets the padding policy of protected
 * records over TCP (RFC 8446 §5.4): the content of each is padded with
 * zeros to a multiple of block bytes (at most 2^14 in all), hiding exact
 * lengths; 0 (the default) pads nothing. Returns TERN_OK,
 * TERN_ERR_INVALID_ARG (block over 16384).
 */
int tern_config_set_record_padding(tern_config *cfg, size_t block);

/**
 * tern_tls_pending says how many bytes of received application data wait
 * for tern_tls_read (0 for NULL or a QUIC connection); what
 * ssl.SSLObject.pending() and SSL_pending() report.
 */
size_t tern_tls_pending(const tern_conn *c);

/**
 * tern_tls_release_buffers gives back the memory a TLS-over-TCP
 * connection holds only while bytes pass through it: the receive buffer
 * (one record, about 17 KB) when no partial record is held, the send
 * buffer when everything in it was sent, and the buffer of received
 * application data once it was all read. Each is made again when needed,
 * so the connection goes on as before. A server holding many idle
 * connections calls it whenever one waits for its peer with nothing to
 * send (what OpenSSL's SSL_MODE_RELEASE_BUFFERS does by itself). Returns
 * the bytes given back (0 for NULL, a QUIC connection, or nothing idle).
 */
size_t tern_tls_release_buffers(tern_conn *c);

/** tern_tls_close queues close_notify; nothing may be written after it,
    and tern sends nothing more either (no answer to a post-handshake
    CertificateRequest or KeyUpdate: RFC 8446 §6.1). */
int tern_tls_close(tern_conn *c);

/** 1 once the peer's close_notify arrived. */
int tern_tls_peer_closed(const tern_conn *c);

/* ------------------------------------------------------------------ */
/* QUIC packet protection (RFC 9001 §5, RFC 9369 §3.3)                 */
/* ------------------------------------------------------------------ */

#define TERN_QUIC_V1 0x00000001u
#define TERN_QUIC_V2 0x6b3343cfu

/** Longest traffic secret any supported suite produces (SHA-384). */
#define TERN_MAX_SECRET_LEN 48
/** AEAD tag length of every suite QUIC allows (AES-GCM, ChaCha20-Poly1305,
    AES-128-CCM; RFC 9001 §5.3 forbids AES-128-CCM-8 and its 8-byte tag). */
#define TERN_QUIC_TAG_LEN 16
/** Header-protection sample length (RFC 9001 §5.4.2). */
#define TERN_QUIC_SAMPLE_LEN 16
/** Length of the Retry Integrity Tag (RFC 9001 §5.8). */
#define TERN_QUIC_RETRY_TAG_LEN 16
/** Longest connection ID (RFC 9000 §17.2). */
#define TERN_QUIC_MAX_CID_LEN 20

/**
 * tern_quic_initial_secrets derives the client and server Initial secrets
 * (32 bytes each, SHA-256) from the client's first Destination Connection
 * ID, for QUIC version 1 (TERN_QUIC_V1) or 2 (TERN_QUIC_V2).
 * The Initial level always uses TLS_AES_128_GCM_SHA256.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (NULL output, dcid longer than
 * 20 bytes), TERN_ERR_UNSUPPORTED (version), TERN_ERR_CRYPTO.
 */
int tern_quic_initial_secrets(uint32_t version, const uint8_t *dcid,
                              size_t dcid_len, uint8_t client_secret[32],
                              uint8_t server_secret[32]);

/**
 * tern_quic_derive_keys expands a traffic secret into the packet
 * protection key, IV and header-protection key of RFC 9001 §5.1, with the
 * labels of the given version ("quic key"/"quic iv"/"quic hp" for v1,
 * "quicv2 key"/... for v2). For a QUIC stack that brings its own AEAD.
 * key and hp receive the suite's key length (16 or 32), iv 12 bytes.
 * Every QUIC function taking a suite refuses TERN_TLS_AES_128_CCM_8_SHA256
 * with TERN_ERR_UNSUPPORTED (RFC 9001 §5.3).
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED, TERN_ERR_CRYPTO.
 */
int tern_quic_derive_keys(uint32_t version, uint16_t suite,
                          const uint8_t *secret, size_t secret_len,
                          uint8_t *key, size_t *key_len, uint8_t iv[12],
                          uint8_t *hp, size_t *hp_len);

/**
 * tern_quic_next_secret computes the next-generation traffic secret for a
 * key update (RFC 9001 §6.1): HKDF-Expand-Label(secret, "quic ku", "",
 * Hash.length), "quicv2 ku" for QUIC v2. next receives secret_len bytes
 * and may equal secret.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED, TERN_ERR_CRYPTO.
 */
int tern_quic_next_secret(uint32_t version, uint16_t suite,
                          const uint8_t *secret, size_t secret_len,
                          uint8_t *next);

/**
 * tern_quic_key: the packet protection state for one direction at one
 * level: AEAD key and IV, header-protection key, with the libcrypto
 * contexts prepared once so that protecting a packet allocates nothing.
 */
typedef struct tern_quic_key tern_quic_key;

/**
 * tern_quic_key_new derives the key, IV and HP key from a traffic secret
 * (as tern_quic_derive_keys) and prepares the cipher contexts.
 * Returns NULL on bad arguments, unsupported suite/version (including
 * TERN_TLS_AES_128_CCM_8_SHA256, which QUIC forbids) or allocation
 * failure.
 */
tern_quic_key *tern_quic_key_new(uint32_t version, uint16_t suite,
                                 const uint8_t *secret, size_t secret_len);

/**
 * tern_quic_key_new_raw makes a key from key material the caller derived
 * itself (a QUIC stack with its own key schedule, as ngtcp2 hands a raw
 * AEAD key to its crypto backend; or a key that protects tokens): key
 * and hp have the suite's key length (16 or 32), iv 12 bytes (NULL: zeros,
 * for a key used only with the _nonce calls below). Without hp (NULL, 0)
 * the key has no header protection: tern_quic_hp_mask, _protect,
 * _unprotect and _peek_key_phase fail with TERN_ERR_STATE. A raw key has
 * no version, so tern_quic_key_update refuses it. The contexts are
 * prepared once here, as for tern_quic_key_new.
 * Returns NULL on bad arguments (unknown suite, wrong lengths) or
 * allocation failure.
 */
tern_quic_key *tern_quic_key_new_raw(uint16_t suite, const uint8_t *key,
                                     size_t key_len, const uint8_t *iv,
                                     const uint8_t *hp, size_t hp_len);

/** tern_quic_key_free wipes and frees a key; NULL is accepted. */
void tern_quic_key_free(tern_quic_key *key);

/**
 * tern_quic_key_update makes the key of the next key phase (RFC 9001 §6):
 * packet protection from next_secret (see tern_quic_next_secret), while
 * the header-protection key stays that of old, as §6.1 requires.
 * Returns NULL on bad arguments or allocation failure.
 */
tern_quic_key *tern_quic_key_update(const tern_quic_key *old,
                                    const uint8_t *next_secret,
                                    size_t secret_len);

/**
 * tern_quic_peek_key_phase removes header protection from a copy of the
 * first byte of a short-header packet and returns its Key Phase bit (0 or
 * 1), so a receiver can pick the key generation before calling
 * tern_quic_unprotect. The packet is not modified or authenticated.
 *
 * Returns 0 or 1, TERN_ERR_INVALID_ARG, TERN_ERR_MALFORMED (long header
 * or too short to sample), TERN_ERR_CRYPTO.
 */
int tern_quic_peek_key_phase(tern_quic_key *key, const uint8_t *pkt,
                             size_t len, size_t short_dcid_len);

/**
 * tern_quic_hp_mask computes the 5-byte header-protection mask from a
 * 16-byte sample (AES-ECB for the AES suites, GCM and CCM alike, ChaCha20 for
 * ChaCha20-Poly1305; RFC 9001 §5.4.3/§5.4.4).
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_STATE (a raw key
 * without header protection), TERN_ERR_CRYPTO.
 */
int tern_quic_hp_mask(tern_quic_key *key, const uint8_t sample[16],
                      uint8_t mask[5]);

/**
 * tern_quic_seal encrypts a payload of packet number pn with the header
 * bytes ad as associated data (RFC 9001 §5.3). out receives in_len + 16
 * bytes (ciphertext then tag); out may equal in.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_CRYPTO.
 */
int tern_quic_seal(tern_quic_key *key, uint64_t pn, const uint8_t *ad,
                   size_t ad_len, const uint8_t *in, size_t in_len,
                   uint8_t *out);

/**
 * tern_quic_open decrypts and authenticates in (ciphertext then 16-byte
 * tag). out receives in_len - 16 bytes and may equal in. When
 * authentication fails, out is zeroed and TERN_ERR_DECRYPT is returned.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_DECRYPT, TERN_ERR_CRYPTO.
 */
int tern_quic_open(tern_quic_key *key, uint64_t pn, const uint8_t *ad,
                   size_t ad_len, const uint8_t *in, size_t in_len,
                   uint8_t *out);

/**
 * tern_quic_seal_nonce and tern_quic_open_nonce are tern_quic_seal and
 * tern_quic_open with the AEAD nonce given by the caller (nonce_len must
 * be 12) instead of computed from the key's IV and a packet number: for a
 * QUIC stack that forms the nonce itself (ngtcp2 passes iv XOR pn to its
 * encrypt and decrypt callbacks), and for keys of tern_quic_key_new_raw.
 * Same outputs and results as tern_quic_seal / tern_quic_open.
 */
int tern_quic_seal_nonce(tern_quic_key *key, const uint8_t *nonce,
                         size_t nonce_len, const uint8_t *ad, size_t ad_len,
                         const uint8_t *in, size_t in_len, uint8_t *out);
int tern_quic_open_nonce(tern_quic_key *key, const uint8_t *nonce,
                         size_t nonce_len, const uint8_t *ad, size_t ad_len,
                         const uint8_t *in, size_t in_len, uint8_t *out);

/**
 * tern_quic_protect protects a whole packet in place. pkt[0..hdr_len)
 * holds the unprotected header, ending with the packet number, whose
 * length comes from the two low bits of pkt[0]; pkt[hdr_len ..
 * hdr_len+payload_len) holds the plaintext payload. The payload is
 * encrypted, the 16-byte tag appended and header protection applied.
 * pkt_cap must allow hdr_len + payload_len + 16 bytes, and the payload
 * must be long enough to sample (pn offset + 4 + 16 <= packet length).
 * *pkt_len receives the protected length.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_BUFFER_TOO_SMALL,
 * TERN_ERR_MALFORMED (too short to sample), TERN_ERR_CRYPTO.
 */
int tern_quic_protect(tern_quic_key *key, uint64_t pn, uint8_t *pkt,
                      size_t hdr_len, size_t payload_len, size_t pkt_cap,
                      size_t *pkt_len);

/** What tern_quic_unprotect learned of a packet. */
typedef struct tern_quic_packet_info {
  uint64_t pn;           /**< the full, decoded packet number */
  size_t hdr_len;        /**< unprotected header length, packet number included */
  size_t payload_len;    /**< plaintext payload length */
  size_t packet_len;     /**< bytes of the input this packet used (coalesced packets) */
  uint32_t version;      /**< version field of a long header; 0 for a short header */
  uint8_t long_header;   /**< 1 for a long header, 0 for a short header */
} tern_quic_packet_info;

/**
 * tern_quic_unprotect removes header and packet protection from the first
 * packet in pkt[0..len). For a long header it parses the header (Initial
 * token, Length field) so that coalesced packets can be walked with
 * info->packet_len; for a short header the Destination Connection ID has
 * short_dcid_len bytes and the packet runs to the end of the input.
 * largest_pn is the largest packet number received so far in this packet
 * number space (RFC 9000 §A.3), or UINT64_MAX when none yet.
 * The unprotected header and plaintext payload are written to out (the
 * payload at out + info->hdr_len); out needs len bytes and may equal pkt.
 * On any failure out is zeroed and nothing of the packet is reported.
 * Retry and Version Negotiation packets are TERN_ERR_MALFORMED here.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_MALFORMED,
 * TERN_ERR_DECRYPT, TERN_ERR_CRYPTO.
 */
int tern_quic_unprotect(tern_quic_key *key, const uint8_t *pkt, size_t len,
                        size_t short_dcid_len, uint64_t largest_pn,
                        uint8_t *out, tern_quic_packet_info *info);

/**
 * tern_quic_retry_tag computes the Retry Integrity Tag (RFC 9001 §5.8,
 * RFC 9369 §3.3.3) over the Retry pseudo-packet made of the original
 * Destination Connection ID and the Retry packet without its tag.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED, TERN_ERR_CRYPTO.
 */
int tern_quic_retry_tag(uint32_t version, const uint8_t *odcid,
                        size_t odcid_len, const uint8_t *retry,
                        size_t retry_len, uint8_t tag[16]);

/**
 * tern_quic_retry_verify checks the tag at the end of a whole Retry packet
 * in constant time. Returns TERN_OK when it matches, TERN_ERR_DECRYPT when
 * it does not, TERN_ERR_INVALID_ARG / TERN_ERR_MALFORMED / TERN_ERR_UNSUPPORTED.
 */
int tern_quic_retry_verify(uint32_t version, const uint8_t *odcid,
                           size_t odcid_len, const uint8_t *packet,
                           size_t packet_len);

/* ------------------------------------------------------------------ */
/* Encrypted ClientHello (RFC 9849), on HPKE base mode (RFC 9180)       */
/* ------------------------------------------------------------------ */

/** ECH outcome of a connection (tern_conn_ech_status). */
#define TERN_ECH_NONE 0     /**< not offered (client) / no ECH extension (server) */
#define TERN_ECH_OFFERED 1  /**< client: offered, the server has not answered yet */
#define TERN_ECH_ACCEPTED 2 /**< the handshake runs on ClientHelloInner */
#define TERN_ECH_REJECTED 3 /**< the handshake ran on ClientHelloOuter */

/** HPKE KEMs for ECH keys (RFC 9180 §7.1). */
#define TERN_ECH_KEM_X25519 0x0020
#define TERN_ECH_KEM_P256 0x0010

/** The longest ECHConfig tern writes or keeps. */
#define TERN_ECH_CONFIG_MAX 1024

/**
 * tern_ech_config_generate makes a fresh ECH key: an HPKE key pair of kem
 * (TERN_ECH_KEM_X25519 or TERN_ECH_KEM_P256) and its ECHConfig (version
 * 0xfe0d, RFC 9849 §4) with config_id, public_name (the client-facing
 * server's DNS name, 1..255 bytes), maximum_name_length, no extensions,
 * and the cipher suites HKDF-SHA256 with AES-128-GCM and with
 * ChaCha20-Poly1305. config[0..*config_len) receives the ECHConfig (not a
 * list; tern_config_ech_config_list makes the list to publish), sk[0..32)
 * the private key. Returns TERN_OK, TERN_ERR_INVALID_ARG (bad name),
 * TERN_ERR_UNSUPPORTED (kem), TERN_ERR_BUFFER_TOO_SMALL, TERN_ERR_CRYPTO.
 */
int tern_ech_config_generate(uint16_t kem, uint8_t config_id, const char *public_name,
                             uint8_t maximum_name_length, uint8_t *config, size_t cap,
                             size_t *config_len, uint8_t sk[32]);

/**
 * tern_config_add_ech_key gives a server configuration one ECH key: an
 * ECHConfig (as tern_ech_config_generate writes it) and its private key
 * sk[0..sk_len). Several keys may be added (up to 8: current and previous
 * ones, so keys rotate without a restart); a ClientHello names its key by
 * config_id. retry 1 puts the ECHConfig in the retry_configs sent when ECH
 * is rejected and in tern_config_ech_config_list; give retired keys 0.
 * The public key is checked against sk. Returns TERN_OK,
 * TERN_ERR_INVALID_ARG, TERN_ERR_MALFORMED (not an ECHConfig, or sk does
 * not match), TERN_ERR_UNSUPPORTED (KEM or version, no cipher suite tern
 * supports, an unknown mandatory extension: a config no client could
 * use), TERN_ERR_LIMIT (full),
 * TERN_ERR_STATE (a client configuration), TERN_ERR_NOMEM.
 */
int tern_config_add_ech_key(tern_config *cfg, const uint8_t *config, size_t config_len,
                            const uint8_t *sk, size_t sk_len, int retry);

/**
 * tern_config_ech_config_list writes the ECHConfigList of the server's
 * retry keys (the value for a DNS HTTPS record's "ech" parameter, RFC 9848)
 * into out[0..cap) and sets *len. Returns TERN_OK, TERN_ERR_INVALID_ARG,
 * TERN_ERR_STATE (no retry key), TERN_ERR_BUFFER_TOO_SMALL.
 */
int tern_config_ech_config_list(const tern_config *cfg, uint8_t *out, size_t cap, size_t *len);

/**
 * tern_conn_set_ech_config_list makes a client connection offer ECH with
 * the first ECHConfig of list (an ECHConfigList, as DNS or retry_configs
 * carry it) that tern supports: version 0xfe0d, a known KEM, a cipher
 * suite of HKDF-SHA256/384/512 with AES-128/256-GCM or ChaCha20-Poly1305,
 * a valid public_name and no unknown mandatory extension (RFC 9849 §6.1).
 * Call it before the handshake starts and after tern_conn_set_server_name:
 * the server name goes encrypted in ClientHelloInner, public_name in the
 * clear in ClientHelloOuter. When ECH is rejected the server is
 * authenticated for public_name, the handshake fails with
 * TERN_ALERT_ECH_REQUIRED, and tern_conn_ech_retry_configs gives what the
 * server sent for a retry. Returns TERN_OK, TERN_ERR_INVALID_ARG,
 * TERN_ERR_MALFORMED (list framing), TERN_ERR_UNSUPPORTED (no usable
 * config), TERN_ERR_STATE (a server, or the handshake started),
 * TERN_ERR_NOMEM.
 */
int tern_conn_set_ech_config_list(tern_conn *c, const uint8_t *list, size_t len);

/**
 * tern_config_set_ech_grease (client) sends a GREASE encrypted_client_hello
 * (RFC 9849 §6.2.1: random config_id, enc and payload) when a connection
 * has no ECH configuration, so that ECH users do not stand out. Off by
 * default. A server's retry_configs in answer are ignored. Returns TERN_OK,
 * TERN_ERR_INVALID_ARG, TERN_ERR_STATE (a server configuration).
 */
int tern_config_set_ech_grease(tern_config *cfg, int on);

/**
 * tern_conn_ech_status says what became of ECH on this connection:
 * TERN_ECH_NONE, _OFFERED, _ACCEPTED or _REJECTED. A server that rejects
 * (unknown config_id, decryption failure, GREASE) finishes the handshake
 * with ClientHelloOuter. Cannot fail (NULL gives TERN_ECH_NONE).
 */
int tern_conn_ech_status(const tern_conn *c);

/**
 * tern_conn_ech_retry_configs: on a client whose ECH was rejected, the
 * ECHConfigList the server sent in retry_configs (*list points into the
 * connection, valid until it is freed). Returns TERN_OK, TERN_ERR_STATE
 * (none received), TERN_ERR_INVALID_ARG.
 */
int tern_conn_ech_retry_configs(const tern_conn *c, const uint8_t **list, size_t *len);

/**
 * tern_conn_ech_outer_name: the server_name of ClientHelloOuter: on a
 * server, what the client sent ("" when it had none or offered no ECH);
 * on a client, the public_name of its ECH configuration ("" without one).
 * tern_conn_server_name gives the name of the hello the handshake ran on
 * (the inner one when ECH was accepted). NULL when c is NULL.
 */
const char *tern_conn_ech_outer_name(const tern_conn *c);

#ifdef __cplusplus
}
#endif
#endif /* TERN_H */
