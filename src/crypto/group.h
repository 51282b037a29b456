/*
 * crypto/group.h - crypto layer: (EC)DHE key exchange for the TLS 1.3 named
 * groups X25519, X448, secp256r1, secp384r1 and secp521r1 (RFC 8446 §4.2.7,
 * §4.2.8.2, §7.4) and the finite-field groups ffdhe2048 .. ffdhe8192 (RFC
 * 7919, RFC 8446 §4.2.8.1, §7.4.1), on libcrypto.
 *
 * Shares on the wire: X25519/X448 are the raw 32/56-byte u-coordinates
 * (RFC 7748); the NIST curves are uncompressed points 0x04 || X || Y
 * (X9.62), the only form TLS 1.3 allows; FFDHE shares are Y = g^X mod p,
 * big-endian, left-padded with zeros to the length of p (256 .. 1024
 * bytes).
 *
 * Every random byte of an ephemeral key comes from one injectable source
 * (tern_random_fn of tern.h; NULL means RAND_bytes), so a test whose
 * source replays a trace's private key reproduces the trace's share.
 *
 * Shares up to TERN_GROUP_INLINE_SHARE bytes (every elliptic-curve group)
 * live inside the structs that hold them; longer ones (FFDHE, and the
 * post-quantum hybrids to come) are allocated while a handshake needs
 * them, so a connection's fixed size does not grow with the largest group.
 */
#ifndef TERN_GROUP_H
#define TERN_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tern.h>

/* Largest key share (SecP384r1MLKEM1024: 97 + 1568 bytes each way) and
   shared secret (ffdhe8192: 1024 bytes). */
#define TERN_GROUP_MAX_SHARE 1665
#define TERN_GROUP_MAX_SECRET 1024
/* Longest share kept inside a struct (secp521r1: 1 + 2 * 66); longer
   ones go on the heap. */
#define TERN_GROUP_INLINE_SHARE 133

typedef enum tern_group_kind {
  TERN_GROUP_KIND_XDH = 0,  /* X25519, X448 (RFC 7748) */
  TERN_GROUP_KIND_EC = 1,   /* NIST prime curves, ECDH */
  TERN_GROUP_KIND_FFDHE = 2, /* RFC 7919 safe-prime groups, generator 2 */
  TERN_GROUP_KIND_MLKEM = 3, /* ML-KEM alone (draft-ietf-tls-mlkem) */
  TERN_GROUP_KIND_HYBRID = 4 /* ECDH + ML-KEM (draft-ietf-tls-ecdhe-mlkem) */
} tern_group_kind;

/* A named group and the sizes of its values. */
typedef struct tern_group {
  uint16_t id;              /* IANA code, TERN_GROUP_* */
  const char *name;         /* "x25519", "secp256r1", "ffdhe2048", ... */
  tern_group_kind kind;
  const char *ossl_name;    /* libcrypto key type (XDH) or group name (EC, FFDHE) */
  int nid;                  /* libcrypto NID of the curve or group */
  size_t share_len;         /* encoded public share: 32, 56, 65, 97, 133;
                               FFDHE: the length of p, 256 .. 1024 */
  size_t priv_len;          /* random bytes per private-key draw: 32, 56, 32, 48, 66;
                               FFDHE: ceil(priv_bits / 8) */
  size_t secret_len;        /* shared secret: 32, 56, 32, 48, 66; FFDHE: share_len */
  size_t priv_bits;         /* FFDHE: bits of the private exponent, RFC 7919
                               §5.2's sizes (225, 275, 325, 375, 400); else 0 */
  /* ML-KEM and hybrids: the server's share (the ciphertext, with the ECDH
     share for a hybrid) differs from the client's (the encapsulation
     key); share_len above is the client's. */
  size_t server_share_len;
  unsigned mlkem_level;     /* 768 or 1024; 0 for the classical groups */
  uint16_t ecdh_id;         /* hybrid: the ECDH part's group, else 0 */
  int mlkem_first;          /* hybrid: 1 when the ML-KEM part comes first in
                               both shares and the secret (X25519MLKEM768),
                               0 when the ECDH part does (the SecP ones) */
} tern_group;

/* 1 when the group's key exchange includes ML-KEM (post-quantum). */
int tern_group_is_pq(const tern_group *g);

/*
 * One ephemeral key pair and its encoded public share. pub points at
 * pub_inline when the group's share fits there, else at a heap block
 * owned by the key share; do not copy a tern_key_share by value.
 */
typedef struct tern_key_share {
  const tern_group *group;  /* NULL when empty */
  EVP_PKEY *pkey;           /* private key (owned); a hybrid's ECDH part */
  uint8_t *kem_dk;          /* ML-KEM kept key: dk, then A-hat (mlkem.h's
                               tern_mlkem_keygen_kept; owned heap block of
                               kem_dk_len bytes, wiped when freed), or NULL */
  uint16_t kem_dk_len;
  uint8_t *pub;             /* the encoded share, pub_len bytes */
  uint16_t pub_len;
  uint8_t pub_inline[TERN_GROUP_INLINE_SHARE];
} tern_key_share;

/*
 * A copy of a peer's share, kept between reading it and using it (a
 * server: from the ClientHello to its ServerHello), by the same rule:
 * p points at inline when len fits, else at an owned heap block.
 */
typedef struct tern_share_copy {
  uint8_t *p;               /* NULL when empty */
  uint16_t len;
  uint8_t inline_bytes[TERN_GROUP_INLINE_SHARE];
} tern_share_copy;

/* tern_share_copy_set replaces *dst's bytes by a copy of src[0..len)
   (1 <= len <= TERN_GROUP_MAX_SHARE). Returns TERN_OK,
   TERN_ERR_INVALID_ARG, TERN_ERR_NOMEM (dst is then empty). */
int tern_share_copy_set(tern_share_copy *dst, const uint8_t *src, size_t len);

/* tern_share_copy_clear frees the heap block, if any, and empties dst. */
void tern_share_copy_clear(tern_share_copy *dst);

/* tern_group_get returns the descriptor of a group, or NULL when tern
   does not support it. */
const tern_group *tern_group_get(uint16_t id);

/* tern_group_at returns the i-th group of the table, NULL past its end:
   walks every group tern supports. */
const tern_group *tern_group_at(size_t i);

/*
 * tern_group_keygen makes an ephemeral key pair for group, every random
 * byte drawn from rng(rng_ctx, ...) (RAND_bytes when rng is NULL).
 * X25519/X448: the private key is priv_len raw random bytes. EC: the
 * private scalar is priv_len big-endian random bytes (for secp521r1 the
 * 7 top bits of the first byte are cleared), drawn again when 0 or not
 * below the group order. FFDHE: the private exponent X is priv_len
 * big-endian random bytes cut to priv_bits bits (RFC 7919 §5.2's short
 * exponents, as libcrypto's own keygen uses), drawn again when below 2,
 * and the share is 2^X mod p. out must be empty or freed; on failure it
 * is left empty.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED (no such
 * group), TERN_ERR_CRYPTO (the source or libcrypto failed), TERN_ERR_NOMEM.
 * ML-KEM: the seed d || z is 64 bytes from the source, and the share is
 * the encapsulation key (after the ECDH share for the SecP hybrids,
 * before the X25519 share for X25519MLKEM768).
 */
int tern_group_keygen(const tern_group *group, tern_random_fn rng,
                      void *rng_ctx, tern_key_share *out);

/*
 * tern_group_derive computes the shared secret of our key share mine and
 * the peer's encoded share: for X25519/X448 the RFC 7748 output, for EC
 * the x-coordinate of the product (field-size, big-endian), as RFC 8446
 * §7.4 asks, for FFDHE Z = Y^X mod p left-padded with zeros to the length
 * of p (RFC 8446 §7.4.1). secret needs TERN_GROUP_MAX_SECRET bytes;
 * *secret_len gets group->secret_len. The peer share is validated: exact
 * length, 0x04 prefix and a point on the curve (EC; libcrypto checks on
 * import; the NIST curves have cofactor 1, so that is the full check),
 * 1 < Y < p - 1 (FFDHE, RFC 7919 §5.1, RFC 8446 §4.2.8.1), and an
 * all-zero X25519/X448 result (a small-order peer point) is refused.
 * For ML-KEM and the hybrids mine is the client's and peer the server's
 * share: its exact length (a ciphertext of the wrong length is
 * illegal_parameter), the ECDH part checked as above, then Decaps (a
 * failure there is internal_error); the secret is the concatenation in
 * the draft's order.
 * On failure *alert (if alert is not NULL) gets illegal_parameter for a
 * bad peer share (wrong length or form, off the curve, out of range,
 * small order) or internal_error, and secret is zeroed.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_ALERT (bad peer share),
 * TERN_ERR_CRYPTO, TERN_ERR_NOMEM.
 */
int tern_group_derive(const tern_key_share *mine, const uint8_t *peer,
                      size_t peer_len, uint8_t *secret, size_t *secret_len,
                      uint8_t *alert);

/*
 * tern_group_respond is the server's half of a key exchange in one step:
 * for (EC)DHE and FFDHE a key pair of its own (tern_group_keygen) and the
 * secret with the client's share (tern_group_derive); for ML-KEM the
 * encapsulation key check of FIPS 203 §7.2 on the client's share and
 * Encaps to it, and for a hybrid both, each part in the draft's order.
 * out gets our share to send (for ML-KEM: the ciphertext, with the ECDH
 * share for a hybrid); secret as for tern_group_derive. ML-KEM's m is
 * drawn from rng like every other random byte. *alert gets
 * illegal_parameter for a bad client share (wrong length, a coefficient
 * >= q, a bad ECDH part), else internal_error.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED,
 * TERN_ERR_ALERT (bad client share), TERN_ERR_CRYPTO, TERN_ERR_NOMEM.
 */
int tern_group_respond(const tern_group *group, tern_random_fn rng,
                       void *rng_ctx, const uint8_t *peer, size_t peer_len,
                       tern_key_share *out, uint8_t *secret, size_t *secret_len,
                       uint8_t *alert);

/* tern_key_share_free frees the key (libcrypto wipes it) and the share's
   heap block, and wipes the struct; ks may be NULL or already empty. */
void tern_key_share_free(tern_key_share *ks);

#endif
