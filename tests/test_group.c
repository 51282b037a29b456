/*
 * test_group.c - (EC)DHE key exchange: agreement for every group both
 * ways, the RFC 7748 §6.1 X25519 vector and the RFC 8448 §3 client key
 * share replayed through the random source, and refusal of bad peer
 * shares (wrong length, wrong form, off the curve, small order).
 */
#include <openssl/err.h>
#include <tern.h>

#include "check.h"
#include "crypto/group.h"
#include "vectors.h"

static const uint16_t all_groups[] = {TERN_GROUP_X25519, TERN_GROUP_X448,
                                      TERN_GROUP_SECP256R1, TERN_GROUP_SECP384R1,
                                      TERN_GROUP_SECP521R1};

/* A random source that replays one fixed buffer, then fails. */
typedef struct replay {
  const uint8_t *buf;
  size_t len, pos;
} replay;

static int replay_rng(void *ctx, uint8_t *out, size_t len) {
  replay *r = ctx;
  if (r->len - r->pos < len) return -1;
  memcpy(out, r->buf + r->pos, len);
  r->pos += len;
  return 0;
}

/* A source that always fails. */
static int failing_rng(void *ctx, uint8_t *out, size_t len) {
  (void)ctx;
  (void)out;
  (void)len;
  return -1;
}

/* Both sides of every group agree, and the descriptor sizes hold. */
static void test_agreement(void) {
  for (size_t i = 0; i < sizeof all_groups / sizeof all_groups[0]; i++) {
    const tern_group *g = tern_group_get(all_groups[i]);
    tern_key_share a = {0}, b = {0};
    uint8_t sa[TERN_GROUP_MAX_SECRET], sb[TERN_GROUP_MAX_SECRET], alert = 0;
    size_t la = 0, lb = 0;
    CHECK(g != NULL);
    if (g == NULL) continue;
    CHECK_EQ_INT(g->id, all_groups[i]);
    CHECK_EQ_INT(tern_group_keygen(g, NULL, NULL, &a), TERN_OK);
    CHECK_EQ_INT(tern_group_keygen(g, NULL, NULL, &b), TERN_OK);
    CHECK(a.group == g && b.group == g);
    CHECK_EQ_INT(a.pub_len, g->share_len);
    CHECK_EQ_INT(b.pub_len, g->share_len);
    if (g->kind == TERN_GROUP_KIND_EC) CHECK_EQ_INT(a.pub[0], 0x04);
    CHECK(memcmp(a.pub, b.pub, a.pub_len) != 0);
    CHECK_EQ_INT(tern_group_derive(&a, b.pub, b.pub_len, sa, &la, &alert), TERN_OK);
    CHECK_EQ_INT(tern_group_derive(&b, a.pub, a.pub_len, sb, &lb, &alert), TERN_OK);
    CHECK_EQ_INT(la, g->secret_len);
    CHECK_EQ_INT(lb, g->secret_len);
    CHECK_MEM(sa, sb, g->secret_len);
    tern_key_share_free(&a);
    tern_key_share_free(&b);
    CHECK(a.pkey == NULL && a.group == NULL && a.pub_len == 0);
  }
  CHECK(tern_group_get(0x0100) == NULL);   /* ffdhe2048: not ours */
  CHECK(tern_group_get(0x11ec) == NULL);   /* X25519MLKEM768: not ours */
}

/* The same random bytes give the same key; a failing source fails cleanly. */
static void test_rng_injection(void) {
  for (size_t i = 0; i < sizeof all_groups / sizeof all_groups[0]; i++) {
    const tern_group *g = tern_group_get(all_groups[i]);
    uint8_t bytes[66];
    tern_key_share a = {0}, b = {0};
    replay ra = {bytes, sizeof bytes, 0}, rb = {bytes, sizeof bytes, 0};
    memset(bytes, 0x5a, sizeof bytes);
    CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &ra, &a), TERN_OK);
    CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &rb, &b), TERN_OK);
    CHECK_EQ_INT(ra.pos, g->priv_len);
    CHECK_MEM(a.pub, b.pub, g->share_len);
    tern_key_share_free(&a);
    tern_key_share_free(&b);
    CHECK_EQ_INT(tern_group_keygen(g, failing_rng, NULL, &a), TERN_ERR_CRYPTO);
    CHECK(a.pkey == NULL && a.group == NULL);
  }
  /* A scalar of zero and one not below the order are drawn again. */
  {
    const tern_group *g = tern_group_get(TERN_GROUP_SECP256R1);
    uint8_t bytes[96];
    tern_key_share a = {0};
    replay r = {bytes, sizeof bytes, 0};
    memset(bytes, 0x00, 32);            /* zero */
    memset(bytes + 32, 0xff, 32);       /* >= order */
    memset(bytes + 64, 0x01, 32);       /* fine */
    CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &r, &a), TERN_OK);
    CHECK_EQ_INT(r.pos, 96);
    tern_key_share_free(&a);
  }
  /* secp521r1: the top 7 bits of the first byte are cleared, not redrawn. */
  {
    const tern_group *g = tern_group_get(TERN_GROUP_SECP521R1);
    uint8_t hi[66], lo[66];
    tern_key_share a = {0}, b = {0};
    replay ra = {hi, sizeof hi, 0}, rb = {lo, sizeof lo, 0};
    memset(hi, 0x11, sizeof hi);
    memcpy(lo, hi, sizeof lo);
    hi[0] = 0xfe | 0x01;
    lo[0] = 0x01;
    CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &ra, &a), TERN_OK);
    CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &rb, &b), TERN_OK);
    CHECK_EQ_INT(ra.pos, 66);
    CHECK_MEM(a.pub, b.pub, g->share_len);
    tern_key_share_free(&a);
    tern_key_share_free(&b);
  }
  CHECK_EQ_INT(tern_group_keygen(NULL, NULL, NULL, NULL), TERN_ERR_INVALID_ARG);
}

/* RFC 7748 §6.1: Alice's and Bob's keys, public keys and shared secret. */
static void test_rfc7748(void) {
  uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], k[32];
  uint8_t s1[TERN_GROUP_MAX_SECRET], s2[TERN_GROUP_MAX_SECRET], alert = 0;
  size_t l1 = 0, l2 = 0;
  const tern_group *g = tern_group_get(TERN_GROUP_X25519);
  tern_key_share a = {0}, b = {0};
  unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a_priv, 32);
  unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", a_pub, 32);
  unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b_priv, 32);
  unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", b_pub, 32);
  unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", k, 32);
  replay ra = {a_priv, 32, 0}, rb = {b_priv, 32, 0};
  CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &ra, &a), TERN_OK);
  CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &rb, &b), TERN_OK);
  CHECK_MEM(a.pub, a_pub, 32);
  CHECK_MEM(b.pub, b_pub, 32);
  CHECK_EQ_INT(tern_group_derive(&a, b_pub, 32, s1, &l1, &alert), TERN_OK);
  CHECK_EQ_INT(tern_group_derive(&b, a_pub, 32, s2, &l2, &alert), TERN_OK);
  CHECK_EQ_INT(l1, 32);
  CHECK_MEM(s1, k, 32);
  CHECK_MEM(s2, k, 32);
  tern_key_share_free(&a);
  tern_key_share_free(&b);
}

/* RFC 8448 §3: the client's x25519 share and the (EC)DHE shared secret. */
static void test_rfc8448(void) {
  const char *f = "rfc8448_simple_1rtt.txt";
  size_t priv_len, pub_len, spub_len, ss_len, ikm_len, spriv_len, l = 0;
  uint8_t *priv = vec_get(f, "client ephemeral x25519 private key", &priv_len);
  uint8_t *pub = vec_get(f, "client ephemeral x25519 public key", &pub_len);
  uint8_t *spriv = vec_get(f, "server ephemeral x25519 private key", &spriv_len);
  uint8_t *spub = vec_get(f, "server ephemeral x25519 public key", &spub_len);
  uint8_t *ss = vec_get(f, "(EC)DHE shared secret", &ss_len);
  uint8_t *ikm = vec_get(f, "08 server extract secret \"handshake\" | IKM", &ikm_len);
  uint8_t secret[TERN_GROUP_MAX_SECRET], alert = 0;
  const tern_group *g = tern_group_get(TERN_GROUP_X25519);
  tern_key_share c = {0}, s = {0};
  replay rc = {priv, priv_len, 0}, rs = {spriv, spriv_len, 0};
  CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &rc, &c), TERN_OK);
  CHECK_EQ_INT(c.pub_len, pub_len);
  CHECK_MEM(c.pub, pub, pub_len);
  CHECK_EQ_INT(tern_group_derive(&c, spub, spub_len, secret, &l, &alert), TERN_OK);
  CHECK_EQ_INT(l, ss_len);
  CHECK_MEM(secret, ss, ss_len);
  CHECK_MEM(secret, ikm, ikm_len);
  /* and the server's side of the same exchange */
  CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &rs, &s), TERN_OK);
  CHECK_MEM(s.pub, spub, spub_len);
  CHECK_EQ_INT(tern_group_derive(&s, c.pub, c.pub_len, secret, &l, &alert), TERN_OK);
  CHECK_MEM(secret, ss, ss_len);
  tern_key_share_free(&c);
  tern_key_share_free(&s);
  free(priv);
  free(pub);
  free(spriv);
  free(spub);
  free(ss);
  free(ikm);
}

static int all_zero_buf(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

/* Derivation from mine with peer share p must fail with illegal_parameter. */
static void expect_bad_share(const tern_key_share *mine, const uint8_t *p,
                             size_t len, const char *what) {
  uint8_t secret[TERN_GROUP_MAX_SECRET], alert = 0;
  size_t l = 99;
  int rc;
  memset(secret, 0xaa, sizeof secret);
  rc = tern_group_derive(mine, p, len, secret, &l, &alert);
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  CHECK_EQ_INT(alert, TERN_ALERT_ILLEGAL_PARAMETER);
  CHECK_EQ_INT(l, 0);
  CHECK(all_zero_buf(secret, sizeof secret));
  if (rc != TERN_ERR_ALERT || alert != TERN_ALERT_ILLEGAL_PARAMETER)
    fprintf(stderr, "  (bad share: %s, group %s)\n", what, mine->group->name);
  CHECK_EQ_INT(ERR_peek_error(), 0);
}


/* Wrong length, wrong form, off the curve, small order: illegal_parameter. */
static void test_bad_shares(void) {
  uint8_t buf[TERN_GROUP_MAX_SHARE + 1];
  for (size_t i = 0; i < sizeof all_groups / sizeof all_groups[0]; i++) {
    const tern_group *g = tern_group_get(all_groups[i]);
    tern_key_share mine = {0}, peer = {0};
    CHECK_EQ_INT(tern_group_keygen(g, NULL, NULL, &mine), TERN_OK);
    CHECK_EQ_INT(tern_group_keygen(g, NULL, NULL, &peer), TERN_OK);
    memcpy(buf, peer.pub, peer.pub_len);
    buf[peer.pub_len] = 0;
    expect_bad_share(&mine, buf, peer.pub_len - 1, "short");
    expect_bad_share(&mine, buf, peer.pub_len + 1, "long");
    expect_bad_share(&mine, buf, 0, "empty");
    expect_bad_share(&mine, NULL, 0, "NULL empty");
    if (g->kind == TERN_GROUP_KIND_EC) {
      size_t flen = (g->share_len - 1) / 2;
      /* compressed form of a valid point: TLS 1.3 allows only 0x04 */
      buf[0] = (uint8_t)(0x02 | (peer.pub[g->share_len - 1] & 1));
      expect_bad_share(&mine, buf, g->share_len, "compressed prefix");
      buf[0] = 0x06;  /* hybrid form */
      expect_bad_share(&mine, buf, g->share_len, "hybrid prefix");
      /* a valid point with Y flipped in its last bit: off the curve */
      memcpy(buf, peer.pub, peer.pub_len);
      buf[g->share_len - 1] ^= 1;
      expect_bad_share(&mine, buf, g->share_len, "off-curve (Y^1)");
      /* (1, 1) is on none of the curves */
      memset(buf, 0, g->share_len);
      buf[0] = 0x04;
      buf[flen] = 1;
      buf[2 * flen] = 1;
      expect_bad_share(&mine, buf, g->share_len, "(1,1)");
      /* coordinates >= p */
      memset(buf + 1, 0xff, g->share_len - 1);
      expect_bad_share(&mine, buf, g->share_len, "0xff..");
      memset(buf + 1, 0, g->share_len - 1);
      expect_bad_share(&mine, buf, g->share_len, "(0,0)");
    } else {
      /* u = 0 and u = 1 are of small order: the result is all zero */
      memset(buf, 0, g->share_len);
      expect_bad_share(&mine, buf, g->share_len, "u=0");
      buf[0] = 1;
      expect_bad_share(&mine, buf, g->share_len, "u=1");
    }
    tern_key_share_free(&mine);
    tern_key_share_free(&peer);
  }
  /* a share of another group's length */
  {
    tern_key_share x = {0}, p = {0};
    CHECK_EQ_INT(tern_group_keygen(tern_group_get(TERN_GROUP_X25519), NULL, NULL, &x), TERN_OK);
    CHECK_EQ_INT(tern_group_keygen(tern_group_get(TERN_GROUP_SECP256R1), NULL, NULL, &p), TERN_OK);
    expect_bad_share(&x, p.pub, p.pub_len, "P-256 share to X25519");
    expect_bad_share(&p, x.pub, x.pub_len, "X25519 share to P-256");
    tern_key_share_free(&x);
    tern_key_share_free(&p);
  }
  /* argument errors */
  {
    tern_key_share empty = {0};
    uint8_t secret[TERN_GROUP_MAX_SECRET], alert = 0;
    size_t l;
    CHECK_EQ_INT(tern_group_derive(&empty, buf, 32, secret, &l, &alert),
                 TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_group_derive(NULL, buf, 32, secret, &l, NULL),
                 TERN_ERR_INVALID_ARG);
    tern_key_share_free(&empty);
    tern_key_share_free(NULL);
  }
}

int main(void) {
  test_agreement();
  test_rng_injection();
  test_rfc7748();
  test_rfc8448();
  test_bad_shares();
  return check_report();
}
