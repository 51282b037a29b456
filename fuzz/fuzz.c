/*
 * fuzz.c - the deterministic world and the victim executors of fuzz.h.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "crypto/hpke.h"
#include "keys.h"

const uint8_t fz_ticket_name[16] = "fuzz ticket key";
const uint8_t fz_ticket_key[32] = "0123456789abcdef0123456789abcdef";
const uint8_t fz_tp[8] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x0e, 0x01};
static const uint8_t psk_identity[] = "fuzz external psk";
static const uint8_t psk_key[32] = "an external psk of the fuzz peer";
static const char *const alpn[] = {"fz"};

/* ------------------------------------------------------------------ */
/* random bytes, PKI                                                    */
/* ------------------------------------------------------------------ */

int fz_random(void *ctx, uint8_t *out, size_t len) {
  fz_rng *r = ctx;
  while (len > 0) {
    uint8_t in[9], block[SHA256_DIGEST_LENGTH];
    size_t n = len < sizeof block ? len : sizeof block;
    in[0] = r->stream;
    for (int i = 0; i < 8; i++) in[1 + i] = (uint8_t)(r->counter >> (56 - 8 * i));
    r->counter++;
    SHA256(in, sizeof in, block);
    memcpy(out, block, n);
    out += n;
    len -= n;
  }
  return 0;
}

static EVP_PKEY *ed25519_key(uint8_t tag) {
  uint8_t seed[32];
  memset(seed, tag, sizeof seed);
  return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  int ok;
  X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (ext == NULL) return 0;
  ok = X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  return ok;
}

/* A certificate with fixed serial and validity, signed with Ed25519
   (deterministic), so its DER is the same in every process. */
static X509 *fixed_cert(EVP_PKEY *key, const char *cn, long serial, X509 *issuer,
                        EVP_PKEY *issuer_key) {
  X509 *x = X509_new();
  X509_NAME *name = X509_NAME_new();
  X509 *iss;
  int ok = x && name;
  ok = ok && X509_set_version(x, X509_VERSION_3);
  ok = ok && ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        (const unsigned char *)cn, -1, -1, 0);
  ok = ok && X509_set_subject_name(x, name);
  ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  ok = ok && ASN1_TIME_set(X509_getm_notBefore(x), 1577836800) != NULL;  /* 2020 */
  ok = ok && ASN1_TIME_set(X509_getm_notAfter(x), 4102444800) != NULL;   /* 2100 */
  ok = ok && X509_set_pubkey(x, key);
  iss = issuer ? issuer : x;
  ok = ok && add_ext(x, iss, NID_subject_key_identifier, "hash");
  if (issuer) {
    ok = ok && add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    ok = ok && add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
    ok = ok && add_ext(x, iss, NID_ext_key_usage, "serverAuth,clientAuth");
    ok = ok && add_ext(x, iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  } else {
    ok = ok && add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  ok = ok && X509_sign(x, issuer_key, NULL) > 0;
  X509_NAME_free(name);
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

const fz_pki *fz_pki_get(void) {
  static fz_pki p;
  static int made;
  if (made) return &p;
  p.ca_key = ed25519_key(1);
  p.server_key = ed25519_key(2);
  p.client_key = ed25519_key(3);
  p.ca = fixed_cert(p.ca_key, "tern fuzz root", 1, NULL, p.ca_key);
  p.server = fixed_cert(p.server_key, "localhost", 2, p.ca, p.ca_key);
  p.client = fixed_cert(p.client_key, "fuzz client", 3, p.ca, p.ca_key);
  p.store = X509_STORE_new();
  if (!p.ca || !p.server || !p.client || !p.store || !X509_STORE_add_cert(p.store, p.ca))
    abort();
  made = 1;
  return &p;
}

static EVP_PKEY *pem_key(const char *pem) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  return k;
}

EVP_PKEY *fz_fixed_key(int scheme) {
  static EVP_PKEY *keys[8];
  int i;
  const char *pem = NULL;
  switch (scheme) {
  case TERN_SIG_ECDSA_SECP256R1_SHA256: i = 0; pem = fz_key_p256; break;
  case TERN_SIG_ECDSA_SECP384R1_SHA384: i = 1; pem = fz_key_p384; break;
  case TERN_SIG_ECDSA_SECP521R1_SHA512: i = 2; pem = fz_key_p521; break;
  case TERN_SIG_RSA_PSS_RSAE_SHA256:
  case TERN_SIG_RSA_PSS_RSAE_SHA384:
  case TERN_SIG_RSA_PSS_RSAE_SHA512:
  case 0x0401: case 0x0501: case 0x0601: i = 3; pem = fz_key_rsa; break;
  case TERN_SIG_RSA_PSS_PSS_SHA256:
  case TERN_SIG_RSA_PSS_PSS_SHA384:
  case TERN_SIG_RSA_PSS_PSS_SHA512: i = 4; pem = fz_key_rsapss; break;
  case TERN_SIG_ED25519: i = 5; break;
  case TERN_SIG_ED448: i = 6; pem = fz_key_ed448; break;
  default: return NULL;
  }
  if (keys[i] == NULL) keys[i] = pem ? pem_key(pem) : ed25519_key(2);
  return keys[i];
}

/* ------------------------------------------------------------------ */
/* configurations                                                       */
/* ------------------------------------------------------------------ */

/* A client's sessions are taken and dropped: with no callback tern would
   not even make them. */
static void on_session(tern_conn *c, const uint8_t *session, size_t len,
                       uint32_t max_early, void *user) {
  (void)c, (void)session, (void)len, (void)max_early, (void)user;
}

static uint64_t fixed_clock(void *user) {
  (void)user;
  return FZ_NOW_MS;
}

/* ------------------------------------------------------------------ */
/* the fixed ECH keys                                                   */
/* ------------------------------------------------------------------ */

const uint8_t fz_ech_sk[32] = "fixed ECH key of the fuzz world";

/* An ECHConfigList of one ECHConfig (RFC 9849 §4): version 0xfe0d,
   config_id, X25519 of sk, HKDF-SHA256 with AES-128-GCM and with
   ChaCha20-Poly1305, maximum_name_length 0, public_name localhost (the
   fuzz PKI's only name), no extensions. */
static size_t make_ech_list(uint8_t id, const uint8_t sk[32], uint8_t *out) {
  /* cipher_suites<4..>, maximum_name_length, public_name<1..255>, extensions<0..> */
  static const uint8_t tail[] = {0, 8, 0, 1, 0, 1, 0, 1, 0, 3, 0, 9, 'l', 'o', 'c', 'a',
                                 'l', 'h', 'o', 's', 't', 0, 0};
  EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, 32);
  size_t pk_len = 32, body = 1 + 2 + 2 + 32 + sizeof tail;
  /* list<2>, version 0xfe0d, length<2>, config_id, kem 0x0020, public_key<2> */
  uint8_t head[11] = {(uint8_t)((body + 4) >> 8), (uint8_t)(body + 4), 0xfe, 0x0d,
                      (uint8_t)(body >> 8), (uint8_t)body, id, 0x00, 0x20, 0, 32};
  if (k == NULL || EVP_PKEY_get_raw_public_key(k, out + sizeof head, &pk_len) != 1 ||
      pk_len != 32)
    abort();
  EVP_PKEY_free(k);
  memcpy(out, head, sizeof head);
  memcpy(out + sizeof head + 32, tail, sizeof tail);
  return sizeof head + 32 + sizeof tail;
}

const uint8_t *fz_ech_list(int other, size_t *len) {
  static uint8_t lists[2][128];
  static size_t lens[2];
  static const uint8_t other_sk[32] = "an ECH key no fuzz server holds";
  int i = other != 0;
  if (lens[i] == 0) lens[i] = make_ech_list(i ? 2 : 1, i ? other_sk : fz_ech_sk, lists[i]);
  *len = lens[i];
  return lists[i];
}

tern_config *fz_victim_config(tern_role role, unsigned flags, fz_rng *rng) {
  const fz_pki *p = fz_pki_get();
  tern_config *cfg = tern_config_new(role);
  int ok = cfg != NULL;
  ok = ok && tern_config_set_random(cfg, fz_random, rng) == TERN_OK;
  ok = ok && tern_config_set_clock(cfg, fixed_clock, NULL) == TERN_OK;
  ok = ok && tern_config_set_alpn(cfg, alpn, 1) == TERN_OK;
  ok = ok && tern_config_set_trust_store(cfg, p->store) == TERN_OK;
  if (flags & FZ_F_EARLY)
    ok = ok && tern_config_set_early_data(cfg, 16384, 10000) == TERN_OK;
  if (flags & FZ_F_PSK) {
    ok = ok && tern_config_add_psk(cfg, psk_identity, sizeof psk_identity - 1, psk_key,
                                   sizeof psk_key, TERN_PSK_SHA256) == TERN_OK;
    if (flags & FZ_F_EARLY)
      ok = ok && tern_config_set_psk_early_data(cfg, psk_identity, sizeof psk_identity - 1,
                                                TERN_TLS_AES_128_GCM_SHA256, "fz",
                                                16384) == TERN_OK;
  }
  if (flags & FZ_F_GROUPS) {
    static const uint16_t groups[] = {TERN_GROUP_X448, TERN_GROUP_SECP521R1,
                                      TERN_GROUP_SECP384R1, TERN_GROUP_FFDHE2048};
    ok = ok && tern_config_set_groups(cfg, groups, 4) == TERN_OK;
    if (role == TERN_CLIENT) ok = ok && tern_config_set_key_share_groups(cfg, groups, 1) == TERN_OK;
  }
  if (flags & FZ_F_FFDHE) {
    static const uint16_t ffdhe = TERN_GROUP_FFDHE2048;
    ok = ok && tern_config_set_groups(cfg, &ffdhe, 1) == TERN_OK;
    if (role == TERN_CLIENT) ok = ok && tern_config_set_key_share_groups(cfg, &ffdhe, 1) == TERN_OK;
  }
  if (flags & FZ_F_SUITES) {
    static const uint16_t suites[] = {TERN_TLS_AES_128_CCM_8_SHA256, TERN_TLS_AES_128_CCM_SHA256,
                                      TERN_TLS_AES_256_GCM_SHA384,
                                      TERN_TLS_CHACHA20_POLY1305_SHA256};
    ok = ok && tern_config_set_cipher_suites(cfg, suites, 4) == TERN_OK;
    ok = ok && tern_config_set_record_padding(cfg, 32) == TERN_OK;
  }
  if (flags & FZ_X_CERTCOMP) {
    static const uint16_t all[3] = {TERN_CERT_COMPRESSION_ZLIB, TERN_CERT_COMPRESSION_BROTLI,
                                    TERN_CERT_COMPRESSION_ZSTD};
    uint16_t algs[3];
    size_t n = 0, first = flags & FZ_X_CC_ZSTD ? 2 : flags & FZ_X_CC_BROTLI ? 1 : 0;
    for (size_t i = 0; i < 3; i++)
      if (tern_cert_compression_available(all[(first + i) % 3])) algs[n++] = all[(first + i) % 3];
    ok = ok && tern_config_set_cert_compression(cfg, algs, n) == TERN_OK;
  }
  if ((flags & FZ_X_ECH_ANY) && role == TERN_SERVER) {
    size_t len;
    const uint8_t *list = fz_ech_list(0, &len);
    ok = ok && tern_config_add_ech_key(cfg, list + 2, len - 2, fz_ech_sk, 32, 1) == TERN_OK;
  }
  if ((flags & FZ_X_ECH_GREASE) && role == TERN_CLIENT)
    ok = ok && tern_config_set_ech_grease(cfg, 1) == TERN_OK;
  if (role == TERN_SERVER) {
    ok = ok && tern_config_set_cert(cfg, p->server, NULL, p->server_key) == TERN_OK;
    ok = ok && tern_config_set_ticket_key(cfg, fz_ticket_name, fz_ticket_key) == TERN_OK;
    ok = ok && tern_config_set_tickets(cfg, 1, 3600) == TERN_OK;
    ok = ok && tern_config_set_verify_peer(cfg, 1) == TERN_OK;
    if (flags & FZ_F_HRR) {
      uint16_t g = TERN_GROUP_SECP256R1;
      ok = ok && tern_config_set_groups(cfg, &g, 1) == TERN_OK;
    }
    if (flags & FZ_F_CLIENT_AUTH)
      ok = ok && tern_config_set_client_auth(cfg, TERN_CLIENT_AUTH_REQUIRED, 1) == TERN_OK;
  } else {
    ok = ok && tern_config_set_cert(cfg, p->client, NULL, p->client_key) == TERN_OK;
    ok = ok && tern_config_set_post_handshake_auth(cfg, 1) == TERN_OK;
    ok = ok && tern_config_set_new_session_callback(cfg, on_session, NULL) == TERN_OK;
  }
  if (!ok) {
    tern_config_free(cfg);
    return NULL;
  }
  return cfg;
}

tern_config *fz_peer_config(tern_role victim_role, unsigned flags, fz_rng *rng) {
  return fz_victim_config(victim_role == TERN_SERVER ? TERN_CLIENT : TERN_SERVER, flags, rng);
}

/* ------------------------------------------------------------------ */
/* TLS record protection, the peer's side                               */
/* ------------------------------------------------------------------ */

static const EVP_CIPHER *suite_cipher(uint16_t suite, size_t *key_len, size_t *tag_len) {
  *tag_len = 16;
  switch (suite) {
  case TERN_TLS_AES_128_GCM_SHA256: *key_len = 16; return EVP_aes_128_gcm();
  case TERN_TLS_AES_256_GCM_SHA384: *key_len = 32; return EVP_aes_256_gcm();
  case TERN_TLS_CHACHA20_POLY1305_SHA256: *key_len = 32; return EVP_chacha20_poly1305();
  case TERN_TLS_AES_128_CCM_SHA256: *key_len = 16; return EVP_aes_128_ccm();
  case TERN_TLS_AES_128_CCM_8_SHA256: *key_len = 16; *tag_len = 8; return EVP_aes_128_ccm();
  default: return NULL;
  }
}

/* Key and IV of e (RFC 8446 §7.3) and the nonce of its next record. */
static const EVP_CIPHER *epoch_keys(const fz_epoch *e, uint8_t key[32], uint8_t nonce[12],
                                    size_t *tag_len) {
  size_t key_len;
  const EVP_CIPHER *cipher = suite_cipher(e->suite, &key_len, tag_len);
  if (cipher == NULL ||
      tern_suite_hkdf_expand_label(e->suite, e->secret, e->secret_len,
                                   (const uint8_t *)"key", 3, NULL, 0, key,
                                   key_len) != TERN_OK ||
      tern_suite_hkdf_expand_label(e->suite, e->secret, e->secret_len,
                                   (const uint8_t *)"iv", 2, NULL, 0, nonce, 12) != TERN_OK)
    return NULL;
  for (int i = 0; i < 8; i++) nonce[4 + i] ^= (uint8_t)(e->seq >> (56 - 8 * i));
  return cipher;
}

/* One AEAD pass: enc 1 seals in[0..n) into out and writes the tag, enc 0
   opens and checks tag. CCM wants its tag length before the key and the
   data length before the AAD. */
static int aead(const EVP_CIPHER *cipher, int enc, const uint8_t *key, const uint8_t *nonce,
                const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out,
                uint8_t *tag, size_t tag_len) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int ccm = EVP_CIPHER_get_mode(cipher) == EVP_CIPH_CCM_MODE;
  int outl = 0, ok;
  ok = ctx && EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc) &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) > 0 &&
       (!ccm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len,
                                    enc ? NULL : tag) > 0) &&
       (ccm || enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, tag) > 0) &&
       EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) &&
       (!ccm || EVP_CipherUpdate(ctx, NULL, &outl, NULL, (int)n)) &&
       EVP_CipherUpdate(ctx, NULL, &outl, ad, (int)ad_len) &&
       ((n == 0 && !ccm) || EVP_CipherUpdate(ctx, out, &outl, in, (int)n) > 0) &&
       (ccm && !enc ? 1 : EVP_CipherFinal_ex(ctx, out + n, &outl) > 0) &&
       (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, tag) > 0);
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

size_t fz_seal(fz_epoch *e, const uint8_t *inner, size_t len, uint8_t *out, size_t cap) {
  uint8_t key[32], nonce[12];
  const EVP_CIPHER *cipher;
  size_t tag_len, body;
  int ok;
  if (!e->ready) return 0;
  if ((cipher = epoch_keys(e, key, nonce, &tag_len)) == NULL) return 0;
  body = len + tag_len;
  if (body > 0xffff || 5 + body > cap) return 0;
  out[0] = 23;
  out[1] = 3;
  out[2] = 3;
  out[3] = (uint8_t)(body >> 8);
  out[4] = (uint8_t)body;
  ok = aead(cipher, 1, key, nonce, out, 5, inner, len, out + 5, out + 5 + len, tag_len);
  OPENSSL_cleanse(key, sizeof key);
  if (!ok) return 0;
  e->seq++;
  return 5 + body;
}

long fz_open(fz_epoch *e, const uint8_t *rec, size_t len, uint8_t *inner, size_t cap) {
  uint8_t key[32], nonce[12], tag[16];
  const EVP_CIPHER *cipher;
  size_t n, tag_len;
  int ok;
  if (!e->ready) return -1;
  if ((cipher = epoch_keys(e, key, nonce, &tag_len)) == NULL) return -1;
  if (len < 5 + tag_len || len - 5 - tag_len > cap) return -1;
  n = len - 5 - tag_len;
  memcpy(tag, rec + len - tag_len, tag_len);
  ok = aead(cipher, 0, key, nonce, rec, 5, rec + 5, n, inner, tag, tag_len);
  OPENSSL_cleanse(key, sizeof key);
  if (!ok) return -1;
  e->seq++;
  return (long)n;
}

int fz_epoch_next(fz_epoch *e) {
  uint8_t next[48];
  if (!e->ready ||
      tern_suite_hkdf_expand_label(e->suite, e->secret, e->secret_len,
                                   (const uint8_t *)"traffic upd", 11, NULL, 0, next,
                                   e->secret_len) != TERN_OK)
    return -1;
  memcpy(e->secret, next, e->secret_len);
  e->seq = 0;
  return 0;
}

/* ------------------------------------------------------------------ */
/* tickets under the fixed key                                          */
/* ------------------------------------------------------------------ */

size_t fz_ticket_seal(const uint8_t *plain, size_t len, const uint8_t nonce[12],
                      uint8_t *out, size_t cap) {
  EVP_CIPHER_CTX *ctx;
  int outl = 0, finl = 0, ok;
  if (len > 0x7fff || 16 + 12 + len + 16 > cap) return 0;
  memcpy(out, fz_ticket_name, 16);
  memcpy(out + 16, nonce, 12);
  ctx = EVP_CIPHER_CTX_new();
  ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, fz_ticket_key, nonce) &&
       EVP_EncryptUpdate(ctx, NULL, &outl, out, 28) &&
       (len == 0 || EVP_EncryptUpdate(ctx, out + 28, &outl, plain, (int)len)) &&
       EVP_EncryptFinal_ex(ctx, out + 28 + len, &finl) &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 28 + len) > 0;
  EVP_CIPHER_CTX_free(ctx);
  return ok ? 28 + len + 16 : 0;
}

size_t fz_ticket_open(const uint8_t *t, size_t len, uint8_t *plain, size_t cap) {
  EVP_CIPHER_CTX *ctx;
  uint8_t tag[16];
  size_t n;
  int outl = 0, finl = 0, ok;
  if (len < 44 || len - 44 > cap || memcmp(t, fz_ticket_name, 16) != 0) return 0;
  n = len - 44;
  memcpy(tag, t + len - 16, 16);
  ctx = EVP_CIPHER_CTX_new();
  ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, fz_ticket_key, t + 16) &&
       EVP_DecryptUpdate(ctx, NULL, &outl, t, 28) &&
       (n == 0 || EVP_DecryptUpdate(ctx, plain, &outl, t + 28, (int)n)) &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) > 0 &&
       EVP_DecryptFinal_ex(ctx, plain + n, &finl) > 0;
  EVP_CIPHER_CTX_free(ctx);
  return ok ? n : 0;
}

/* ------------------------------------------------------------------ */
/* the victim                                                           */
/* ------------------------------------------------------------------ */

static void keep(fz_victim *v, int level, const uint8_t *data, size_t len) {
  if (!v->record_sent) return;
  if (v->sent_len[level] + len > v->sent_cap[level]) {
    size_t cap = v->sent_cap[level] ? v->sent_cap[level] : 4096;
    uint8_t *nb;
    while (cap < v->sent_len[level] + len) cap *= 2;
    if ((nb = realloc(v->sent[level], cap)) == NULL) abort();
    v->sent[level] = nb;
    v->sent_cap[level] = cap;
  }
  memcpy(v->sent[level] + v->sent_len[level], data, len);
  v->sent_len[level] += len;
}

static int on_secret(tern_conn *c, tern_level level, tern_direction dir, uint16_t suite,
                     const uint8_t *secret, size_t len) {
  (void)c, (void)level, (void)dir, (void)suite, (void)secret, (void)len;
  return 0;
}

static int on_send(tern_conn *c, tern_level level, const uint8_t *data, size_t len) {
  fz_victim *v = tern_conn_user(c);
  if ((unsigned)level > 3) return -1;
  keep(v, (int)level, data, len);
  return 0;
}

static const tern_quic_callbacks quic_cb = {on_secret, on_send};

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Learns the secrets the victim reads with: the peer's write secrets. */
static void on_keylog(const tern_conn *c, const char *line, void *user) {
  fz_victim *v = user;
  const char *peer = v->role == TERN_SERVER ? "CLIENT_" : "SERVER_";
  fz_epoch *e = NULL;
  const char *sp;
  size_t n = 0;
  (void)c;
  if (strncmp(line, "CLIENT_EARLY_TRAFFIC_SECRET ", 28) == 0) {
    if (v->role == TERN_SERVER) e = &v->early;
  } else if (strncmp(line, peer, 7) == 0) {
    if (strncmp(line + 7, "HANDSHAKE_TRAFFIC_SECRET ", 25) == 0) e = &v->hs;
    else if (strncmp(line + 7, "TRAFFIC_SECRET_0 ", 17) == 0) e = &v->app;
  }
  if (e == NULL || (sp = strrchr(line, ' ')) == NULL) return;
  for (sp++; sp[0] && sp[1] && n < sizeof e->secret; sp += 2) {
    int hi = hexval(sp[0]), lo = hexval(sp[1]);
    if (hi < 0 || lo < 0) return;
    e->secret[n++] = (uint8_t)(hi << 4 | lo);
  }
  e->secret_len = n;
  e->suite = 0;   /* known once the victim says (fz_victim_chunk) */
  e->seq = 0;
  e->ready = 1;
  if (e == &v->app) v->app_gen = 0;
}

int fz_victim_init(fz_victim *v, tern_role role, int tls, unsigned flags,
                   const uint8_t *session, size_t session_len) {
  memset(v, 0, sizeof *v);
  v->role = role;
  v->tls = tls;
  v->rng.stream = role == TERN_SERVER ? 'S' : 'C';
  v->cfg = fz_victim_config(role, flags, &v->rng);
  if (v->cfg == NULL || tern_config_set_keylog(v->cfg, on_keylog, v) != TERN_OK) return -1;
  v->conn = tls ? tern_conn_new_tls(v->cfg, v) : tern_conn_new_quic(v->cfg, &quic_cb, v);
  if (v->conn == NULL) return -1;
  if (!tls && tern_quic_set_transport_params(v->conn, fz_tp, sizeof fz_tp) != TERN_OK)
    return -1;
  if (role == TERN_CLIENT) {
    if (tern_conn_set_server_name(v->conn, "localhost") != TERN_OK) return -1;
    if (flags & (FZ_X_ECH | FZ_X_ECH_REJECT)) {
      size_t len;
      const uint8_t *list = fz_ech_list((flags & FZ_X_ECH_REJECT) != 0, &len);
      if (tern_conn_set_ech_config_list(v->conn, list, len) != TERN_OK) return -1;
    }
    if (session != NULL)
      v->session_rc = tern_conn_set_session(v->conn, session, session_len, FZ_NOW_MS);
  }
  return 0;
}

static void drain_output(fz_victim *v);

/* The victim's first move: a client's ClientHello. */
int fz_victim_start(fz_victim *v) {
  int rc;
  if (v->role != TERN_CLIENT) return 0;
  rc = tern_handshake(v->conn);
  if (v->tls) drain_output(v);
  return rc < 0 && rc != TERN_WANT_READ ? -1 : 0;
}

void fz_victim_free(fz_victim *v) {
  tern_conn_free(v->conn);
  tern_config_free(v->cfg);
  for (int i = 0; i < 4; i++) free(v->sent[i]);
  free(v->pending);
  OPENSSL_cleanse(v, sizeof *v);
}

/* TLS: takes what the victim wrote (kept when recording, else dropped). */
static void drain_output(fz_victim *v) {
  const uint8_t *p;
  size_t len;
  while ((p = tern_tls_output(v->conn, &len)) != NULL && len > 0) {
    keep(v, 0, p, len);
    tern_tls_output_done(v->conn, len);
  }
}

static void read_all(fz_victim *v) {
  uint8_t buf[4096];
  size_t n;
  while (tern_tls_read(v->conn, buf, sizeof buf, &n) == TERN_OK && n > 0) {
  }
}

static int feed(fz_victim *v, const uint8_t *data, size_t len) {
  while (len > 0) {
    size_t used = 0;
    int rc = tern_tls_feed(v->conn, data, len, &used);
    drain_output(v);
    if (rc < 0) return -1;
    if (used == 0) {
      size_t before = tern_tls_pending(v->conn);
      read_all(v);
      if (tern_tls_pending(v->conn) == before) return 0;  /* stuck: give up the rest */
    }
    data += used;
    len -= used;
  }
  return 0;
}

static int action(fz_victim *v, const uint8_t *data, size_t len) {
  tern_conn *c = v->conn;
  uint8_t out[64];
  int rc = TERN_OK;
  if (len == 0) return 0;
  switch (data[0] % FZ_ACTIONS) {
  case FZ_ACT_WRITE:
    if (v->tls) rc = tern_tls_write(c, data + 1, len - 1);
    break;
  case FZ_ACT_KEY_UPDATE:
    if (v->tls) rc = tern_tls_key_update(c, len > 1 ? data[1] & 1 : 0);
    break;
  case FZ_ACT_TICKETS:
    rc = tern_conn_send_tickets(c, 1);
    break;
  case FZ_ACT_CLIENT_AUTH:
    if (v->tls) rc = tern_tls_request_client_auth(c);
    break;
  case FZ_ACT_CLOSE:
    if (v->tls) rc = tern_tls_close(c);
    break;
  case FZ_ACT_RELEASE:
    if (v->tls) (void)tern_tls_release_buffers(c);
    break;
  case FZ_ACT_READ:
    if (v->tls) read_all(v);
    break;
  case FZ_ACT_EXPORT: {
    const uint8_t *der;
    size_t n;
    (void)tern_export_keying_material(c, "EXPORTER-fuzz", data + 1,
                                      len - 1 > 255 ? 255 : len - 1, out, sizeof out);
    (void)tern_export_early_keying_material(c, "EXPORTER-fuzz", NULL, 0, out, sizeof out);
    (void)tern_conn_peer_certificate(c, &der, &n);
    (void)tern_conn_psk_identity(c, &der, &n);
    (void)tern_conn_alpn(c);
    (void)tern_conn_server_name(c);
    (void)tern_conn_early_data_status(c);
    (void)tern_conn_error_detail(c);
    if (v->tls) (void)tern_tls_key_updates(c, TERN_READ);
    break;
  }
  }
  if (v->tls) drain_output(v);
  return rc == TERN_ERR_ALERT ? -1 : 0;
}

/* Feeds bytes as the modifiers of op say: held for later, or with what
   was held, whole or in pieces. */
static int feed_as(fz_victim *v, uint8_t op, const uint8_t *data, size_t len) {
  int rc = 0;
  if (op & FZ_OP_HOLD) {
    uint8_t *nb = realloc(v->pending, v->pending_len + len + 1);
    if (nb == NULL) abort();
    memcpy(nb + v->pending_len, data, len);
    v->pending = nb;
    v->pending_len += len;
    return 0;
  }
  if (v->pending_len) {
    uint8_t *nb = realloc(v->pending, v->pending_len + len + 1);
    if (nb == NULL) abort();
    memcpy(nb + v->pending_len, data, len);
    data = nb;
    len += v->pending_len;
    v->pending = NULL;
    v->pending_len = 0;
    rc = feed_as(v, op, data, len);
    free(nb);
    return rc;
  }
  if (!(op & FZ_OP_PIECES)) return feed(v, data, len);
  for (size_t off = 0; off < len && rc == 0; off += 7)
    rc = feed(v, data + off, len - off < 7 ? len - off : 7);
  return rc;
}

int fz_victim_chunk(fz_victim *v, uint8_t op, const uint8_t *data, size_t len) {
  uint8_t mods = op & (FZ_OP_HOLD | FZ_OP_PIECES);
  if (op == FZ_OP_ACTION) return action(v, data, len);
  if (v->tls) op &= (uint8_t)~(FZ_OP_HOLD | FZ_OP_PIECES);
  if (!v->tls) {
    int rc;
    if (op > 3) return 0;
    if (tern_quic_provide_data(v->conn, (tern_level)op, data, len) != TERN_OK) return -1;
    rc = tern_handshake(v->conn);
    return rc < 0 && rc != TERN_WANT_READ ? -1 : 0;
  }
  switch (op) {
  case FZ_OP_RAW:
    return feed_as(v, mods, data, len);
  case FZ_OP_SEAL_HS:
  case FZ_OP_SEAL_APP:
  case FZ_OP_SEAL_EARLY: {
    fz_epoch *e = op == FZ_OP_SEAL_HS ? &v->hs : op == FZ_OP_SEAL_APP ? &v->app : &v->early;
    size_t cap = len + 32, n;
    uint8_t *rec;
    int rc;
    if (!e->ready) return 0;
    if (e->suite == 0) e->suite = tern_conn_cipher_suite(v->conn);
    if ((rec = malloc(cap)) == NULL) abort();
    n = fz_seal(e, data, len, rec, cap);
    rc = n ? feed_as(v, mods, rec, n) : 0;
    free(rec);
    return rc;
  }
  case FZ_OP_NEXT_APP:
    if (v->app.ready && v->app.suite == 0) v->app.suite = tern_conn_cipher_suite(v->conn);
    if (fz_epoch_next(&v->app) == 0) v->app_gen++;
    return 0;
  default:
    return 0;
  }
}

int fz_last_ech_status;
uint8_t fz_last_alert;
char fz_last_detail[256];

int fz_run_input(tern_role role, int tls, const uint8_t *data, size_t size) {
  fz_victim v;
  const uint8_t *session = NULL;
  size_t session_len = 0, p = 1;
  unsigned flags;
  int done;
  fz_last_ech_status = 0;
  fz_last_alert = 0;
  if (size < 1) return 0;
  flags = data[0];
  if (flags & FZ_F_SESSION) {
    if (size < 3) return 0;
    session_len = (size_t)data[1] << 8 | data[2];
    if (session_len > size - 3) session_len = size - 3;
    session = data + 3;
    p = 3 + session_len;
  }
  /* more flags in a first FZ_OP_CONFIG chunk */
  if (p + 4 <= size && data[p] == FZ_OP_CONFIG && (data[p + 1] << 8 | data[p + 2]) >= 1) {
    flags |= (unsigned)data[p + 3] << 8;
  }
  if (fz_victim_init(&v, role, tls, flags, session, session_len) != 0 || fz_victim_start(&v) != 0) {
    fz_victim_free(&v);
    return 0;
  }
  while (p + 3 <= size) {
    uint8_t op = data[p];
    size_t len = (size_t)data[p + 1] << 8 | data[p + 2];
    p += 3;
    if (len > size - p) len = size - p;
    if (fz_victim_chunk(&v, op, data + p, len) != 0) break;
    p += len;
  }
  done = tern_conn_handshake_done(v.conn);
  fz_last_ech_status = tern_conn_ech_status(v.conn);
  fz_last_alert = tern_conn_alert(v.conn);
  snprintf(fz_last_detail, sizeof fz_last_detail, "%s", tern_conn_error_detail(v.conn));
  fz_victim_free(&v);
  return done;
}

/* ------------------------------------------------------------------ */
/* two connections talking (gen_corpus, the ticket target)              */
/* ------------------------------------------------------------------ */

/* Turns one record the peer sent into the chunk that reproduces it on
   the victim: plaintext records as they are, protected ones as the
   inner plaintext of the epoch that opens them. */
static void record_chunk(fz_victim *to, const uint8_t *rec, size_t len, uint8_t mods,
                         fz_emit_fn emit, void *user) {
  static uint8_t inner[1 << 17];
  fz_epoch *epochs[3] = {&to->hs, &to->app, &to->early};
  static const uint8_t ops[3] = {FZ_OP_SEAL_HS, FZ_OP_SEAL_APP, FZ_OP_SEAL_EARLY};
  long n;
  if (rec[0] == 23) {
    for (int i = 0; i < 3; i++) {
      fz_epoch e = *epochs[i];
      if (e.ready && e.suite == 0) e.suite = epochs[i]->suite = tern_conn_cipher_suite(to->conn);
      if ((n = fz_open(&e, rec, len, inner, sizeof inner)) >= 0) {
        emit(user, ops[i] | mods, inner, (size_t)n);
        return;
      }
    }
    {
      fz_epoch e = to->app;
      if (e.ready && e.suite == 0) e.suite = tern_conn_cipher_suite(to->conn);
      if (fz_epoch_next(&e) == 0 && (n = fz_open(&e, rec, len, inner, sizeof inner)) >= 0) {
        emit(user, FZ_OP_NEXT_APP, NULL, 0);
        emit(user, FZ_OP_SEAL_APP | mods, inner, (size_t)n);
        return;
      }
    }
  }
  emit(user, FZ_OP_RAW | mods, rec, len);
}

int fz_pump(fz_victim *from, fz_victim *to, fz_emit_fn emit, void *user) {
  int moved = 0;
  for (int lv = 0; lv < 4; lv++) {
    uint8_t *buf = from->sent[lv];
    size_t len = from->sent_len[lv];
    if (len == 0) continue;
    from->sent[lv] = NULL;
    from->sent_len[lv] = from->sent_cap[lv] = 0;
    moved = 1;
    if (!to->tls) {
      if (emit) emit(user, (uint8_t)lv, buf, len);
      else (void)fz_victim_chunk(to, (uint8_t)lv, buf, len);
    } else if (emit == NULL) {
      (void)fz_victim_chunk(to, FZ_OP_RAW, buf, len);
    } else {
      size_t off = 0;
      while (off + 5 <= len) {
        size_t rl = 5 + ((size_t)buf[off + 3] << 8 | buf[off + 4]);
        if (rl > len - off) rl = len - off;
        /* a flight goes in as one tern_tls_feed, as it would off a socket */
        record_chunk(to, buf + off, rl, off + rl < len ? FZ_OP_HOLD : 0, emit, user);
        off += rl;
      }
    }
    free(buf);
  }
  return moved;
}

int fz_converse(fz_victim *client, fz_victim *server, fz_emit_fn to_client, void *cu,
                fz_emit_fn to_server, void *su) {
  for (int round = 0; round < 32; round++) {
    int a = fz_pump(client, server, to_server, su);
    int b = fz_pump(server, client, to_client, cu);
    if (!a && !b) return 0;
  }
  return -1;
}

/* ------------------------------------------------------------------ */
/* ClientHelloOuter's ECH payload under the fixed key (the ech target)  */
/* ------------------------------------------------------------------ */

/* Offset of the extensions block's length in a ClientHello body, or 0. */
static size_t ch_ext_off(const uint8_t *b, size_t n) {
  size_t p = 2 + 32;
  if (n < p + 1) return 0;
  p += 1 + b[p];
  if (n < p + 2) return 0;
  p += 2 + (size_t)(b[p] << 8 | b[p + 1]);
  if (n < p + 1) return 0;
  p += 1 + b[p];
  if (n < p + 2 || p + 2 + (size_t)(b[p] << 8 | b[p + 1]) != n) return 0;
  return p;
}

static size_t ech_info(uint8_t *info) {
  size_t len;
  const uint8_t *list = fz_ech_list(0, &len);
  memcpy(info, "tls ech", 8);
  memcpy(info + 8, list + 2, len - 2);
  return 8 + len - 2;
}

int fz_ech_seal(const uint8_t *outer, size_t outer_len, const uint8_t *inner, size_t inner_len,
                uint8_t *out, size_t cap, size_t *out_len) {
  static const uint8_t ikm[32] = "ephemeral key of the ech target";
  uint8_t info[160], pk[32], enc[TERN_HPKE_MAX_ENC];
  size_t info_len = ech_info(info), x = ch_ext_off(outer, outer_len), list_len, ext_len;
  size_t pay_off;
  const uint8_t *list = fz_ech_list(0, &list_len);
  tern_hpke_suite s = {TERN_HPKE_KEM_X25519, TERN_HPKE_KDF_SHA256, TERN_HPKE_AEAD_AES128GCM};
  tern_hpke_ctx ctx;
  uint8_t *ct;
  int rc;
  if (x == 0) return -1;
  /* type 0xfe0d, ECHClientHello{outer, suite, config_id 1, enc<2>, payload<2>} */
  ext_len = 1 + 2 + 2 + 1 + 2 + 32 + 2 + inner_len + TERN_HPKE_TAG_LEN;
  if (outer_len + 4 + ext_len > cap || (size_t)(outer[x] << 8 | outer[x + 1]) + 4 + ext_len > 0xffff)
    return -1;
  memcpy(pk, list + 11, 32);
  memset(&ctx, 0, sizeof ctx);
  if (tern_hpke_setup_base_s(&ctx, &s, pk, 32, info, info_len, ikm, sizeof ikm, enc) != TERN_OK) {
    tern_hpke_ctx_clear(&ctx);
    return -1;
  }
  /* the extension goes first in the block (pre_shared_key stays last) */
  memcpy(out, outer, x);
  {
    size_t total = (size_t)(outer[x] << 8 | outer[x + 1]) + 4 + ext_len;
    uint8_t *e = out + x + 2;
    out[x] = (uint8_t)(total >> 8);
    out[x + 1] = (uint8_t)total;
    *e++ = 0xfe, *e++ = 0x0d, *e++ = (uint8_t)(ext_len >> 8), *e++ = (uint8_t)ext_len;
    *e++ = 0, *e++ = 0, *e++ = 1, *e++ = 0, *e++ = 1, *e++ = 1, *e++ = 0, *e++ = 32;
    memcpy(e, enc, 32);
    e += 32;
    *e++ = (uint8_t)((inner_len + TERN_HPKE_TAG_LEN) >> 8);
    *e++ = (uint8_t)(inner_len + TERN_HPKE_TAG_LEN);
    pay_off = (size_t)(e - out);
    memset(e, 0, inner_len + TERN_HPKE_TAG_LEN);
    memcpy(e + inner_len + TERN_HPKE_TAG_LEN, outer + x + 2, outer_len - x - 2);
  }
  *out_len = outer_len + 4 + ext_len;
  /* AAD: the whole outer body with the payload zeroed (RFC 9849 §5.2) */
  if ((ct = malloc(inner_len + TERN_HPKE_TAG_LEN)) == NULL) abort();
  rc = tern_hpke_seal(&ctx, out, *out_len, inner, inner_len, ct);
  if (rc == TERN_OK) memcpy(out + pay_off, ct, inner_len + TERN_HPKE_TAG_LEN);
  free(ct);
  tern_hpke_ctx_clear(&ctx);
  return rc == TERN_OK ? 0 : -1;
}

int fz_ech_open(const uint8_t *outer, size_t outer_len, uint8_t *stripped, size_t *stripped_len,
                uint8_t *inner, size_t *inner_len) {
  uint8_t info[160], *aad;
  size_t info_len = ech_info(info), x = ch_ext_off(outer, outer_len), p, end;
  tern_hpke_suite s = {TERN_HPKE_KEM_X25519, 0, 0};
  tern_hpke_ctx ctx;
  int rc = -1;
  if (x == 0) return -1;
  end = outer_len;
  for (p = x + 2; p + 4 <= end;) {
    size_t l = (size_t)(outer[p + 2] << 8 | outer[p + 3]), e = p + 4 + l, enc_len, pay_len;
    const uint8_t *d = outer + p + 4;
    if (e > end) return -1;
    if (outer[p] != 0xfe || outer[p + 1] != 0x0d) {
      p = e;
      continue;
    }
    /* outer type, kdf, aead, config_id, enc<2>, payload<2> */
    if (l < 10 || d[0] != 0 || d[5] != 1) return -1;
    s.kdf = (uint16_t)(d[1] << 8 | d[2]);
    s.aead = (uint16_t)(d[3] << 8 | d[4]);
    enc_len = (size_t)(d[6] << 8 | d[7]);
    if (8 + enc_len + 2 > l) return -1;
    pay_len = (size_t)(d[8 + enc_len] << 8 | d[9 + enc_len]);
    if (10 + enc_len + pay_len != l || pay_len < TERN_HPKE_TAG_LEN) return -1;
    if ((aad = malloc(outer_len)) == NULL) abort();
    memcpy(aad, outer, outer_len);
    memset(aad + (d + 10 + enc_len - outer), 0, pay_len);
    memset(&ctx, 0, sizeof ctx);
    if (tern_hpke_setup_base_r(&ctx, &s, d + 8, enc_len, fz_ech_sk, info, info_len) == TERN_OK &&
        tern_hpke_open(&ctx, aad, outer_len, d + 10 + enc_len, pay_len, inner) == TERN_OK) {
      size_t total = (size_t)(outer[x] << 8 | outer[x + 1]) - 4 - l;
      *inner_len = pay_len - TERN_HPKE_TAG_LEN;
      memcpy(stripped, outer, p);
      memcpy(stripped + p, outer + e, outer_len - e);
      stripped[x] = (uint8_t)(total >> 8);
      stripped[x + 1] = (uint8_t)total;
      *stripped_len = outer_len - 4 - l;
      rc = 0;
    }
    tern_hpke_ctx_clear(&ctx);
    free(aad);
    return rc;
  }
  return -1;
}
