/*
 * crypto/group.h - crypto layer: (EC)DHE key exchange for the TLS 1.3 named
 * groups X25519, X448, secp256r1, secp384r1 and secp521r1 (RFC 8446 §4.2.7,
 * §4.2.8.2, §7.4), on libcrypto.
 *
 * Shares on the wire: X25519/X448 are the raw 32/56-byte u-coordinates
 * (RFC 7748); the NIST curves are uncompressed points 0x04 || X || Y
 * (X9.62), the only form TLS 1.3 allows.
 *
 * Every random byte of an ephemeral key comes from one injectable source
 * (tern_random_fn of tern.h; NULL means RAND_bytes), so a test whose
 * source replays a trace's private key reproduces the trace's share.
 */
#ifndef TERN_GROUP_H
#define TERN_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tern.h>

/* Largest key share (secp521r1: 1 + 2 * 66) and shared secret (66). */
#define TERN_GROUP_MAX_SHARE 133
#define TERN_GROUP_MAX_SECRET 66

typedef enum tern_group_kind {
  TERN_GROUP_KIND_XDH = 0,  /* X25519, X448 (RFC 7748) */
  TERN_GROUP_KIND_EC = 1    /* NIST prime curves, ECDH */
} tern_group_kind;

/* A named group and the sizes of its values. */
typedef struct tern_group {
  uint16_t id;              /* IANA code, TERN_GROUP_* */
  const char *name;         /* "x25519", "secp256r1", ... (RFC 8446 names) */
  tern_group_kind kind;
  const char *ossl_name;    /* libcrypto key type (XDH) or group name (EC) */
  int nid;                  /* libcrypto NID of the curve */
  size_t share_len;         /* encoded public share: 32, 56, 65, 97, 133 */
  size_t priv_len;          /* random bytes per private-key draw: 32, 56, 32, 48, 66 */
  size_t secret_len;        /* shared secret: 32, 56, 32, 48, 66 */
} tern_group;

/* One ephemeral key pair and its encoded public share. */
typedef struct tern_key_share {
  const tern_group *group;  /* NULL when empty */
  EVP_PKEY *pkey;           /* private key (owned) */
  uint8_t pub[TERN_GROUP_MAX_SHARE];
  size_t pub_len;
} tern_key_share;

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
 * below the group order. out must be empty or freed; on failure it is
 * left empty.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_UNSUPPORTED (no such
 * group), TERN_ERR_CRYPTO (the source or libcrypto failed), TERN_ERR_NOMEM.
 */
int tern_group_keygen(const tern_group *group, tern_random_fn rng,
                      void *rng_ctx, tern_key_share *out);

/*
 * tern_group_derive computes the shared secret of our key share mine and
 * the peer's encoded share: for X25519/X448 the RFC 7748 output, for EC
 * the x-coordinate of the product (field-size, big-endian), as RFC 8446
 * §7.4 asks. secret needs TERN_GROUP_MAX_SECRET bytes; *secret_len gets
 * group->secret_len. The peer share is validated: exact length, 0x04
 * prefix and a point on the curve (EC; libcrypto checks on import; the
 * NIST curves have cofactor 1, so that is the full check), and an
 * all-zero X25519/X448 result (a small-order peer point) is refused.
 * On failure *alert (if alert is not NULL) gets illegal_parameter for a
 * bad peer share (wrong length or form, off the curve, small order) or
 * internal_error, and secret is zeroed.
 *
 * Returns TERN_OK, TERN_ERR_INVALID_ARG, TERN_ERR_ALERT (bad peer share),
 * TERN_ERR_CRYPTO, TERN_ERR_NOMEM.
 */
int tern_group_derive(const tern_key_share *mine, const uint8_t *peer,
                      size_t peer_len, uint8_t *secret, size_t *secret_len,
                      uint8_t *alert);

/* tern_key_share_free frees the key (libcrypto wipes it) and wipes the
   share; ks may be NULL or already empty. */
void tern_key_share_free(tern_key_share *ks);

#endif
