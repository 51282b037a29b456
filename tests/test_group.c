/*
 * test_group.c - (EC)DHE key exchange: agreement for every group both
 * ways, the RFC 7748 §6.1 X25519 vector and the RFC 8448 §3 client key
 * share replayed through the random source, and refusal of bad peer
 * shares (wrong length, wrong form, off the curve, small order, out of
 * range). The RFC 7919 groups: codes and names, shares and secrets
 * against the primes rebuilt from RFC 7919's formula, the exponent draw
 * of its §5.2, and a shared secret with leading zero bytes kept (RFC
 * 8446 §7.4.1).
 */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <tern.h>

#include "check.h"
#include "crypto/group.h"
#include "crypto/mlkem.h"
#include "vectors.h"

static const uint16_t all_groups[] = {TERN_GROUP_X25519,    TERN_GROUP_X448,
                                      TERN_GROUP_SECP256R1, TERN_GROUP_SECP384R1,
                                      TERN_GROUP_SECP521R1, TERN_GROUP_FFDHE2048,
                                      TERN_GROUP_FFDHE3072, TERN_GROUP_FFDHE4096,
                                      TERN_GROUP_FFDHE6144, TERN_GROUP_FFDHE8192};

/* RFC 7919 Appendix A: each group's code, name, bits b and constant X of
   p = 2^b - 2^(b-64) + (floor(2^(b-130) e) + X) * 2^64 - 1, and the
   short exponent size of its §5.2 ("at least ... bits"). */
static const struct {
  uint16_t code;
  const char *name;
  int bits;
  unsigned long x;
  int exp_bits;
} rfc7919[] = {
    {0x0100, "ffdhe2048", 2048, 560316, 225},  {0x0101, "ffdhe3072", 3072, 2625351, 275},
    {0x0102, "ffdhe4096", 4096, 5736041, 325}, {0x0103, "ffdhe6144", 6144, 15705020, 375},
    {0x0104, "ffdhe8192", 8192, 10965728, 400},
};
#define N_FFDHE (sizeof rfc7919 / sizeof rfc7919[0])

/* The prime of RFC 7919 group i from the formula above, e summed as
   (sum over k <= 1200 of 1200!/k!) / 1200!, exact far beyond 8192 bits. */
static BIGNUM *rfc7919_prime(size_t i) {
  int b = rfc7919[i].bits;
  BN_CTX *bn = BN_CTX_new();
  BIGNUM *fact = BN_new(), *t = BN_new(), *sum = BN_new(), *p = BN_new(), *rem = BN_new();
  BN_one(fact);
  for (unsigned k = 2; k <= 1200; k++) BN_mul_word(fact, k);
  BN_copy(t, fact);
  BN_zero(sum);
  for (unsigned k = 0; k <= 1200; k++) {
    if (k > 1) BN_div_word(t, k);
    BN_add(sum, sum, t);
  }
  BN_lshift(sum, sum, b - 130);
  BN_div(p, rem, sum, fact, bn);            /* floor(2^(b-130) e) */
  BN_add_word(p, rfc7919[i].x);
  BN_lshift(p, p, 64);
  BN_set_bit(t, 0);                          /* t = 2^b - 2^(b-64) - 1 */
  BN_zero(t);
  BN_set_bit(t, b);
  BN_zero(rem);
  BN_set_bit(rem, b - 64);
  BN_sub(t, t, rem);
  BN_sub_word(t, 1);
  BN_add(p, p, t);
  BN_free(fact);
  BN_free(t);
  BN_free(sum);
  BN_free(rem);
  BN_CTX_free(bn);
  return p;
}

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
  CHECK(tern_group_get(0x0105) == NULL);   /* past ffdhe8192 */
  CHECK(tern_group_get(0x01fc) == NULL);   /* RFC 7919 private use */
  CHECK(tern_group_get(0x11ee) == NULL);   /* past SecP384r1MLKEM1024 */
  CHECK(tern_group_get(0x0200) == NULL);   /* MLKEM512: not offered */
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
    } else if (g->kind == TERN_GROUP_KIND_FFDHE) {
      /* RFC 7919 §5.1: 1 < Y < p - 1, and exactly as long as p */
      size_t f = (size_t)(g - tern_group_get(TERN_GROUP_FFDHE2048));
      BIGNUM *pr = rfc7919_prime(f), *y = BN_new();
      static const int add[] = {-1, 0, 1};
      memset(buf, 0, g->share_len);
      expect_bad_share(&mine, buf, g->share_len, "Y=0");
      buf[g->share_len - 1] = 1;
      expect_bad_share(&mine, buf, g->share_len, "Y=1");
      for (size_t k = 0; k < 3; k++) {     /* p - 1, p, p + 1 */
        BN_copy(y, pr);
        if (add[k] < 0) BN_sub_word(y, 1);
        if (add[k] > 0) BN_add_word(y, 1);
        BN_bn2binpad(y, buf, (int)g->share_len);
        expect_bad_share(&mine, buf, g->share_len, "Y=p-1, p, p+1");
      }
      memset(buf, 0xff, g->share_len);
      expect_bad_share(&mine, buf, g->share_len, "Y=2^b-1");
      /* Y = 2 and Y = p - 2, the ends of the range, are taken */
      {
        uint8_t secret[TERN_GROUP_MAX_SECRET], alert = 0;
        size_t l = 0;
        memset(buf, 0, g->share_len);
        buf[g->share_len - 1] = 2;
        CHECK_EQ_INT(tern_group_derive(&mine, buf, g->share_len, secret, &l, &alert), TERN_OK);
        BN_copy(y, pr);
        BN_sub_word(y, 2);
        BN_bn2binpad(y, buf, (int)g->share_len);
        CHECK_EQ_INT(tern_group_derive(&mine, buf, g->share_len, secret, &l, &alert), TERN_OK);
        CHECK_EQ_INT(l, g->share_len);
      }
      /* a valid Y in one byte less (as if its leading zero were dropped) */
      memcpy(buf, peer.pub + 1, peer.pub_len - 1);
      expect_bad_share(&mine, buf, peer.pub_len - 1, "Y without its first byte");
      BN_free(pr);
      BN_free(y);
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
  /* an ffdhe2048 share to ffdhe3072 and back */
  {
    tern_key_share a = {0}, b = {0};
    CHECK_EQ_INT(tern_group_keygen(tern_group_get(TERN_GROUP_FFDHE2048), NULL, NULL, &a), TERN_OK);
    CHECK_EQ_INT(tern_group_keygen(tern_group_get(TERN_GROUP_FFDHE3072), NULL, NULL, &b), TERN_OK);
    expect_bad_share(&b, a.pub, a.pub_len, "ffdhe2048 share to ffdhe3072");
    expect_bad_share(&a, b.pub, b.pub_len, "ffdhe3072 share to ffdhe2048");
    tern_key_share_free(&a);
    tern_key_share_free(&b);
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

/* ------------------------------------------------------------------ */
/* RFC 7919                                                            */
/* ------------------------------------------------------------------ */

/* X as the group draws it: priv_len big-endian bytes, cut to exp_bits. */
static BIGNUM *exponent_of(const uint8_t *bytes, size_t len, int exp_bits) {
  BIGNUM *x = BN_bin2bn(bytes, (int)len, NULL);
  BN_mask_bits(x, exp_bits);
  return x;
}

/* Y^X mod p (or 2^X with y NULL), big-endian in b/8 bytes. */
static void modexp_bytes(const BIGNUM *y, const BIGNUM *x, const BIGNUM *p, int bits,
                         uint8_t *out) {
  BN_CTX *bn = BN_CTX_new();
  BIGNUM *base = y ? BN_dup(y) : BN_new(), *r = BN_new();
  if (y == NULL) BN_set_word(base, 2);
  BN_mod_exp(r, base, x, p, bn);
  BN_bn2binpad(r, out, bits / 8);
  BN_free(base);
  BN_free(r);
  BN_CTX_free(bn);
}

/*
 * Codes, names and sizes; shares 2^X mod p and secrets Y^X mod p as
 * computed here from RFC 7919's primes with plain BN_mod_exp, for X
 * replayed through the random source; X cut to RFC 7919 §5.2's sizes;
 * an X below 2 drawn again; both sides' secrets equal.
 */
static void test_rfc7919(void) {
  static const char *const names[] = {"ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144",
                                      "ffdhe8192"};
  static const uint16_t codes[] = {TERN_GROUP_FFDHE2048, TERN_GROUP_FFDHE3072,
                                   TERN_GROUP_FFDHE4096, TERN_GROUP_FFDHE6144,
                                   TERN_GROUP_FFDHE8192};
  for (size_t i = 0; i < N_FFDHE; i++) {
    const tern_group *g = tern_group_get(rfc7919[i].code);
    BIGNUM *p = rfc7919_prime(i), *xa, *xb, *ya;
    uint8_t ra_bytes[64], rb_bytes[64], want[1024], sa[TERN_GROUP_MAX_SECRET],
        sb[TERN_GROUP_MAX_SECRET], alert = 0;
    size_t la = 0, lb = 0, n;
    tern_key_share a = {0}, b = {0};
    replay ra = {ra_bytes, sizeof ra_bytes, 0}, rb = {rb_bytes, sizeof rb_bytes, 0};

    CHECK_EQ_INT(codes[i], rfc7919[i].code);
    CHECK(g != NULL);
    if (g == NULL) continue;
    CHECK(tern_group_name(rfc7919[i].code) != NULL &&
          strcmp(tern_group_name(rfc7919[i].code), names[i]) == 0);
    CHECK(strcmp(g->name, rfc7919[i].name) == 0);
    CHECK_EQ_INT(g->kind, TERN_GROUP_KIND_FFDHE);
    CHECK_EQ_INT(g->share_len, (size_t)rfc7919[i].bits / 8);
    CHECK_EQ_INT(g->secret_len, (size_t)rfc7919[i].bits / 8);
    CHECK_EQ_INT(g->priv_bits, (size_t)rfc7919[i].exp_bits);
    CHECK_EQ_INT(g->priv_len, (size_t)(rfc7919[i].exp_bits + 7) / 8);
    CHECK_EQ_INT(BN_num_bits(p), rfc7919[i].bits);
    /* the formula gives a prime (checked for the smallest; slow beyond) */
    if (rfc7919[i].bits == 2048) CHECK_EQ_INT(BN_check_prime(p, NULL, NULL), 1);
    n = g->priv_len;

    /* all-ones bytes: X is exactly exp_bits ones */
    memset(ra_bytes, 0xff, sizeof ra_bytes);
    for (size_t k = 0; k < sizeof rb_bytes; k++) rb_bytes[k] = (uint8_t)(k * 37 + i);
    CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &ra, &a), TERN_OK);
    CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &rb, &b), TERN_OK);
    CHECK_EQ_INT(ra.pos, n);
    CHECK_EQ_INT(a.pub_len, g->share_len);
    xa = exponent_of(ra_bytes, n, rfc7919[i].exp_bits);
    xb = exponent_of(rb_bytes, n, rfc7919[i].exp_bits);
    CHECK_EQ_INT(BN_num_bits(xa), rfc7919[i].exp_bits);
    modexp_bytes(NULL, xa, p, rfc7919[i].bits, want);
    CHECK_MEM(a.pub, want, g->share_len);
    modexp_bytes(NULL, xb, p, rfc7919[i].bits, want);
    CHECK_MEM(b.pub, want, g->share_len);
    /* Z = Yb^Xa mod p, from both sides */
    ya = BN_bin2bn(b.pub, (int)b.pub_len, NULL);
    modexp_bytes(ya, xa, p, rfc7919[i].bits, want);
    CHECK_EQ_INT(tern_group_derive(&a, b.pub, b.pub_len, sa, &la, &alert), TERN_OK);
    CHECK_EQ_INT(tern_group_derive(&b, a.pub, a.pub_len, sb, &lb, &alert), TERN_OK);
    CHECK_EQ_INT(la, g->secret_len);
    CHECK_EQ_INT(lb, g->secret_len);
    CHECK_MEM(sa, want, g->secret_len);
    CHECK_MEM(sb, want, g->secret_len);
    tern_key_share_free(&a);
    tern_key_share_free(&b);
    CHECK(a.pub == NULL && a.pub_len == 0);

    /* X = 0 and X = 1 are drawn again; the third draw is used */
    {
      uint8_t three[3 * 64];
      replay r3 = {three, 3 * n, 0};
      memset(three, 0, sizeof three);
      three[n - 1] = 0;
      three[2 * n - 1] = 1;
      three[3 * n - 1] = 3;
      CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &r3, &a), TERN_OK);
      CHECK_EQ_INT(r3.pos, 3 * n);
      memset(want, 0, g->share_len);
      want[g->share_len - 1] = 8; /* 2^3 */
      CHECK_MEM(a.pub, want, g->share_len);
      tern_key_share_free(&a);
    }
    BN_free(p);
    BN_free(xa);
    BN_free(xb);
    BN_free(ya);
  }
}

/*
 * RFC 8446 §7.4.1: the FFDHE shared secret keeps its leading zero bytes
 * (it is as long as p). One exchange in about 256 has a zero first byte;
 * the search runs over replayed exponents until it finds one, and the
 * secret is checked against Y^X mod p computed here.
 */
static void test_ffdhe_padding(void) {
  const tern_group *g = tern_group_get(TERN_GROUP_FFDHE2048);
  BIGNUM *p = rfc7919_prime(0);
  uint8_t abytes[29], bbytes[29], secret[TERN_GROUP_MAX_SECRET], want[256], alert = 0;
  tern_key_share a = {0}, b = {0};
  replay ra = {abytes, sizeof abytes, 0};
  int found = -1;
  size_t l = 0;
  memset(abytes, 0x3c, sizeof abytes);
  CHECK_EQ_INT(tern_group_keygen(g, replay_rng, &ra, &a), TERN_OK);
  for (int j = 0; j < 4000 && found < 0; j++) {
    replay rb = {bbytes, sizeof bbytes, 0};
    memset(bbytes, 0x71, sizeof bbytes);
    bbytes[27] = (uint8_t)(j >> 8);
    bbytes[28] = (uint8_t)j;
    if (tern_group_keygen(g, replay_rng, &rb, &b) != TERN_OK) break;
    if (tern_group_derive(&b, a.pub, a.pub_len, secret, &l, &alert) == TERN_OK && l == 256 &&
        secret[0] == 0)
      found = j;
    if (found < 0) tern_key_share_free(&b);
  }
  CHECK(found >= 0);
  if (found >= 0) {
    BIGNUM *xb = exponent_of(bbytes, sizeof bbytes, 225);
    BIGNUM *ya = BN_bin2bn(a.pub, (int)a.pub_len, NULL);
    uint8_t other[TERN_GROUP_MAX_SECRET];
    size_t l2 = 0;
    modexp_bytes(ya, xb, p, 2048, want);
    CHECK_EQ_INT(l, 256);
    CHECK_EQ_INT(want[0], 0);
    CHECK_MEM(secret, want, 256);
    CHECK_EQ_INT(tern_group_derive(&a, b.pub, b.pub_len, other, &l2, &alert), TERN_OK);
    CHECK_EQ_INT(l2, 256);
    CHECK_MEM(other, want, 256);
    printf("ffdhe2048 secret with a leading zero byte: exponent draw %d\n", found);
    BN_free(xb);
    BN_free(ya);
  }
  tern_key_share_free(&a);
  tern_key_share_free(&b);
  BN_free(p);
}


/* ---- ML-KEM and the hybrids (draft-ietf-tls-ecdhe-mlkem, -mlkem) ---- */

static const uint16_t pq_groups[] = {TERN_GROUP_X25519MLKEM768, TERN_GROUP_SECP256R1MLKEM768,
                                     TERN_GROUP_SECP384R1MLKEM1024, TERN_GROUP_MLKEM768,
                                     TERN_GROUP_MLKEM1024};

/* The classical ECDH secret of our key pkey with a peer's encoded share
   of group e, through libcrypto directly (not tern's code path). */
static size_t plain_ecdh(const tern_group *e, EVP_PKEY *pkey, const uint8_t *peer,
                         uint8_t *out) {
  EVP_PKEY *pk = NULL;
  EVP_PKEY_CTX *ctx;
  size_t len = 128;
  if (e->kind == TERN_GROUP_KIND_XDH) {
    pk = EVP_PKEY_new_raw_public_key_ex(NULL, e->ossl_name, NULL, peer, e->share_len);
  } else {
    pk = EVP_PKEY_new();
    EVP_PKEY_copy_parameters(pk, pkey);
    EVP_PKEY_set1_encoded_public_key(pk, peer, e->share_len);
  }
  ctx = EVP_PKEY_CTX_new(pkey, NULL);
  if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, pk) != 1 ||
      EVP_PKEY_derive(ctx, out, &len) != 1)
    len = 0;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pk);
  return len;
}

/*
 * Every post-quantum group both ways: the sizes of the draft, the two
 * parts of each share and of the secret in the draft's order (each part
 * recomputed on its own: ML-KEM Decaps, libcrypto ECDH), and a tampered
 * ciphertext rejected implicitly (another secret, no error).
 */
static void test_pq_agreement(void) {
  for (size_t i = 0; i < sizeof pq_groups / sizeof pq_groups[0]; i++) {
    const tern_group *g = tern_group_get(pq_groups[i]);
    const tern_group *e = g && g->ecdh_id ? tern_group_get(g->ecdh_id) : NULL;
    const tern_mlkem_params *p = g ? tern_mlkem_params_get(g->mlkem_level) : NULL;
    tern_key_share c, s;
    uint8_t sc[TERN_GROUP_MAX_SECRET], ss[TERN_GROUP_MAX_SECRET], part[128], kem[32];
    size_t lc = 0, ls = 0, elen, esec;
    uint8_t alert = 0;
    CHECK(g != NULL && p != NULL && tern_group_is_pq(g));
    if (g == NULL || p == NULL) continue;
    elen = e ? e->share_len : 0;
    esec = e ? e->secret_len : 0;
    CHECK_EQ_INT(tern_group_keygen(g, NULL, NULL, &c), TERN_OK);
    CHECK_EQ_INT(c.pub_len, g->share_len);
    CHECK_EQ_INT(g->share_len, p->ek_len + elen);
    CHECK_EQ_INT(g->server_share_len, p->ct_len + elen);
    CHECK_EQ_INT(tern_group_respond(g, NULL, NULL, c.pub, c.pub_len, &s, ss, &ls, &alert),
                 TERN_OK);
    CHECK_EQ_INT(s.pub_len, g->server_share_len);
    CHECK_EQ_INT(tern_group_derive(&c, s.pub, s.pub_len, sc, &lc, &alert), TERN_OK);
    CHECK_EQ_INT(lc, g->secret_len);
    CHECK_EQ_INT(ls, g->secret_len);
    CHECK_MEM(sc, ss, g->secret_len);
    /* the ML-KEM part: ek where the draft puts it, Decaps of the ct */
    {
      size_t ek_at = g->mlkem_first ? 0 : elen, ct_at = g->mlkem_first ? 0 : elen;
      size_t kem_at = g->mlkem_first ? 0 : esec;
      CHECK_EQ_INT(tern_mlkem_check_ek(p, c.pub + ek_at, p->ek_len), TERN_OK);
      /* the kept key starts with dk: plain Decaps agrees with the kept one */
      CHECK_EQ_INT(c.kem_dk_len, tern_mlkem_kept_len(p));
      CHECK_EQ_INT(tern_mlkem_decaps(p, c.kem_dk, p->dk_len, s.pub + ct_at, p->ct_len, kem),
                   TERN_OK);
      CHECK_MEM(sc + kem_at, kem, 32);
    }
    /* the ECDH part: the other side of the share, and its secret */
    if (e != NULL) {
      size_t at_c = g->mlkem_first ? p->ek_len : 0, at_s = g->mlkem_first ? p->ct_len : 0;
      size_t sec_at = g->mlkem_first ? 32 : 0;
      CHECK_EQ_INT(plain_ecdh(e, c.pkey, s.pub + at_s, part), esec);
      CHECK_MEM(sc + sec_at, part, esec);
      CHECK_EQ_INT(plain_ecdh(e, s.pkey, c.pub + at_c, part), esec);
      CHECK_MEM(ss + sec_at, part, esec);
    }
    /* implicit rejection: a flipped ciphertext bit gives another secret */
    s.pub[g->mlkem_first ? 5 : elen + 5] ^= 1;
    CHECK_EQ_INT(tern_group_derive(&c, s.pub, s.pub_len, sc, &lc, &alert), TERN_OK);
    CHECK(memcmp(sc, ss, g->secret_len) != 0);
    tern_key_share_free(&c);
    tern_key_share_free(&s);
    CHECK(c.kem_dk == NULL && c.pkey == NULL);
  }
  CHECK_EQ_INT(tern_group_from_name("X25519MLKEM768"), TERN_GROUP_X25519MLKEM768);
  CHECK_EQ_INT(tern_group_from_name("secp256r1mlkem768"), TERN_GROUP_SECP256R1MLKEM768);
  CHECK_EQ_INT(tern_group_from_name("SecP384r1MLKEM1024"), TERN_GROUP_SECP384R1MLKEM1024);
  CHECK_EQ_INT(tern_group_from_name("MLKEM1024"), TERN_GROUP_MLKEM1024);
  CHECK(strcmp(tern_group_name(TERN_GROUP_X25519MLKEM768), "X25519MLKEM768") == 0);
  CHECK(!tern_group_is_pq(tern_group_get(TERN_GROUP_X25519)));
}

/* A deterministic source: a counter stream. */
static int counter_rng(void *ctx, uint8_t *out, size_t len) {
  uint8_t *n = ctx;
  for (size_t i = 0; i < len; i++) out[i] = (*n)++;
  return 0;
}

/* Server side: tern_group_respond on a hostile client share gives the
   draft's alert; client side: tern_group_derive on a hostile server
   share. Returns the alert (0 when the call succeeded). */
static uint8_t respond_alert(const tern_group *g, const uint8_t *share, size_t len) {
  tern_key_share s;
  uint8_t secret[TERN_GROUP_MAX_SECRET], alert = 0;
  size_t sl;
  int rc = tern_group_respond(g, NULL, NULL, share, len, &s, secret, &sl, &alert);
  tern_key_share_free(&s);
  if (rc == TERN_OK) return 0;
  CHECK_EQ_INT(rc, TERN_ERR_ALERT);
  return alert;
}

static uint8_t derive_alert(const tern_key_share *c, const uint8_t *share, size_t len) {
  uint8_t secret[TERN_GROUP_MAX_SECRET], alert = 0;
  size_t sl;
  int rc = tern_group_derive(c, share, len, secret, &sl, &alert);
  return rc == TERN_OK ? 0 : alert;
}

/*
 * The hostile cases of the draft, each with its alert: shares one byte
 * short and long for each group (both sides), an encapsulation key with
 * a coefficient >= q (FIPS 203 §7.2), an all-zero X25519 part, a P-256
 * point off the curve inside a hybrid share, a ciphertext of the wrong
 * length: illegal_parameter each time.
 */
static void test_pq_bad_shares(void) {
  static uint8_t buf[TERN_GROUP_MAX_SHARE + 1];
  int n = 0;
  for (size_t i = 0; i < sizeof pq_groups / sizeof pq_groups[0]; i++) {
    const tern_group *g = tern_group_get(pq_groups[i]);
    const tern_mlkem_params *p = tern_mlkem_params_get(g->mlkem_level);
    const tern_group *e = g->ecdh_id ? tern_group_get(g->ecdh_id) : NULL;
    size_t elen = e ? e->share_len : 0, ek_at = g->mlkem_first ? 0 : elen;
    tern_key_share c, s;
    uint8_t secret[TERN_GROUP_MAX_SECRET], alert;
    size_t sl;
    CHECK_EQ_INT(tern_group_keygen(g, NULL, NULL, &c), TERN_OK);
    CHECK_EQ_INT(tern_group_respond(g, NULL, NULL, c.pub, c.pub_len, &s, secret, &sl, &alert),
                 TERN_OK);
    memcpy(buf, c.pub, c.pub_len);
    buf[c.pub_len] = 0;
    CHECK_EQ_INT(respond_alert(g, buf, g->share_len - 1), TERN_ALERT_ILLEGAL_PARAMETER);
    CHECK_EQ_INT(respond_alert(g, buf, g->share_len + 1), TERN_ALERT_ILLEGAL_PARAMETER);
    /* coefficient 0 of the key set to 4095 >= q */
    buf[ek_at] = 0xff;
    buf[ek_at + 1] |= 0x0f;
    CHECK_EQ_INT(respond_alert(g, buf, g->share_len), TERN_ALERT_ILLEGAL_PARAMETER);
    memcpy(buf, c.pub, c.pub_len);
    /* the last coefficient of the last polynomial = q exactly */
    buf[ek_at + p->ek_len - 32 - 2] = (uint8_t)((buf[ek_at + p->ek_len - 32 - 2] & 0x0f) |
                                                ((3329 & 0x0f) << 4));
    buf[ek_at + p->ek_len - 32 - 1] = (uint8_t)(3329 >> 4);
    CHECK_EQ_INT(respond_alert(g, buf, g->share_len), TERN_ALERT_ILLEGAL_PARAMETER);
    n += 4;
    memcpy(buf, s.pub, s.pub_len);
    CHECK_EQ_INT(derive_alert(&c, buf, g->server_share_len - 1), TERN_ALERT_ILLEGAL_PARAMETER);
    CHECK_EQ_INT(derive_alert(&c, buf, g->server_share_len + 1), TERN_ALERT_ILLEGAL_PARAMETER);
    n += 2;
    if (e != NULL) {
      size_t ec_c = g->mlkem_first ? p->ek_len : 0, ec_s = g->mlkem_first ? p->ct_len : 0;
      memcpy(buf, c.pub, c.pub_len);
      if (e->kind == TERN_GROUP_KIND_XDH) {
        memset(buf + ec_c, 0, e->share_len); /* all-zero X25519 part */
      } else {
        buf[ec_c + e->share_len - 1] ^= 1;   /* y changed: off the curve */
      }
      CHECK_EQ_INT(respond_alert(g, buf, g->share_len), TERN_ALERT_ILLEGAL_PARAMETER);
      memcpy(buf, s.pub, s.pub_len);
      if (e->kind == TERN_GROUP_KIND_XDH) memset(buf + ec_s, 0, e->share_len);
      else buf[ec_s] = 0x03;                   /* compressed form: refused */
      CHECK_EQ_INT(derive_alert(&c, buf, g->server_share_len), TERN_ALERT_ILLEGAL_PARAMETER);
      n += 2;
    }
    tern_key_share_free(&c);
    tern_key_share_free(&s);
  }
  /* the source gives every random byte: the same bytes, the same shares */
  {
    const tern_group *g = tern_group_get(TERN_GROUP_X25519MLKEM768);
    tern_key_share a, b;
    uint8_t ca = 7, cb = 7;
    CHECK_EQ_INT(tern_group_keygen(g, counter_rng, &ca, &a), TERN_OK);
    CHECK_EQ_INT(tern_group_keygen(g, counter_rng, &cb, &b), TERN_OK);
    CHECK(a.pub_len == b.pub_len && memcmp(a.pub, b.pub, a.pub_len) == 0);
    tern_key_share_free(&a);
    tern_key_share_free(&b);
  }
  printf("post-quantum groups: %d hostile shares refused with illegal_parameter\n", n);
}

int main(void) {
  test_agreement();
  test_rng_injection();
  test_rfc7748();
  test_rfc8448();
  test_bad_shares();
  test_rfc7919();
  test_ffdhe_padding();
  test_pq_agreement();
  test_pq_bad_shares();
  return check_report();
}
