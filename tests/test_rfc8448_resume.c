/*
 * test_rfc8448_resume.c - tern replaying RFC 8448 §4 (resumed 0-RTT
 * handshake) and §6 (client authentication), the way test_rfc8448_hs.c
 * replays §3 and §5: the trace's ClientHello and ephemeral keys go in
 * through tests/testhook.h and the random source, the peer's flight is fed as
 * handshake messages (no records, tern_test_plain_tls), and what tern
 * sends and derives is compared with the trace.
 *
 * §4 client: a session blob made from §3's NewSessionTicket, with the PSK
 *   derived here from §3's resumption master secret; tern must send the
 *   trace's ClientHello (so its own binder is the trace's), install the
 *   trace's early, handshake and application secrets and export what the
 *   trace's (early) exporter master secrets give.
 * §4 server: tern_test_server_psk with that PSK; tern must verify the
 *   binder, accept PSK and 0-RTT, install the trace's early secret and
 *   answer with the trace's ServerHello byte for byte and derive the
 *   trace's handshake secrets (its EncryptedExtensions differ, so from
 *   there on its transcript is its own and
 *   the secrets, Finished and a client Finished are computed over it).
 * §6 client: the private key of the trace's client certificate is not
 *   published ("private keys for the certificates used in this example
 *   are not shown"), so the client authenticates with the §2 RSA key and
 *   its §3 certificate. tern must accept the trace's server flight (an
 *   ECDSA CertificateVerify), derive the trace's secrets, and send a
 *   Certificate, an RSA-PSS CertificateVerify and a Finished that this
 *   file checks on its own (the signature is randomized).
 * §6 server: tern must answer the trace's ClientHello with the trace's
 *   ServerHello and handshake secrets, request a certificate and accept
 *   the trace's client Certificate. Its own flight cannot be the trace's
 *   (the server's ECDSA key is not published either), so the trace's
 *   client CertificateVerify must then be refused.
 *
 * The expected values that involve a transcript tern alone shapes are
 * computed here with libcrypto (HKDF-Expand-Label, HMAC, RSA-PSS), and
 * that computation is first checked against the trace's own messages.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "check.h"
#include "qpair.h"
#include "testhook.h"
#include "engine/ticket.h"
#include "vectors.h"

#define SIMPLE "rfc8448_simple_1rtt.txt"
#define RESUMED "rfc8448_resumed_0rtt.txt"
#define CLIENT_AUTH "rfc8448_client_auth.txt"
#define KEYS "rfc8448_private_keys.txt"

#define HASH_LEN 32 /* every suite here is TLS_AES_128_GCM_SHA256 */

/*
 * RFC 8446 §4.5: over TCP, a client whose 0-RTT was accepted sends
 * EndOfEarlyData (under the early keys) before its Finished; QUIC has
 * none (RFC 9001 §8.3). tern's plain-TLS mode neither sends it (client)
 * nor takes it (server) yet, so the client's Finished covers
 * ClientHello..server Finished only and cannot be the trace's. Set to 1
 * once tern does: the client must then send the trace's EndOfEarlyData
 * and Finished byte for byte, and the server must take EndOfEarlyData.
 */
#define PLAIN_TLS_SENDS_EOED 1

/* Client clock (ms) when §3's NewSessionTicket arrived; any value works. */
#define TICKET_RECEIVED_MS 1000000u
/* Server clock (ms) when §4's ClientHello arrives; any value works. */
#define SERVER_NOW_MS 5000000u

/* ------------------------------------------------------------------ */
/* Vectors                                                             */
/* ------------------------------------------------------------------ */

typedef struct bytes {
  uint8_t *p;
  size_t n;
} bytes;

/* Every vector read, freed at the end. */
static uint8_t *loaded[128];
static size_t n_loaded;

static bytes vec(const char *file, const char *label) {
  bytes b;
  b.p = vec_get(file, label, &b.n);
  if (n_loaded < sizeof loaded / sizeof loaded[0]) loaded[n_loaded++] = b.p;
  else abort();
  return b;
}

static void vec_free_all(void) {
  while (n_loaded) free(loaded[--n_loaded]);
}

/* A random source that hands out queued chunks, in order. */
typedef struct draws {
  const uint8_t *chunk[4];
  size_t len[4];
  size_t n, next;
} draws;

static int draws_rng(void *ctx, uint8_t *out, size_t len) {
  draws *d = ctx;
  if (d->next >= d->n || d->len[d->next] != len) {
    fprintf(stderr, "random source: unexpected draw of %zu bytes (chunk %zu)\n", len, d->next);
    return -1;
  }
  memcpy(out, d->chunk[d->next++], len);
  return 0;
}

/* ------------------------------------------------------------------ */
/* The test's own TLS 1.3 arithmetic (libcrypto, SHA-256)              */
/* ------------------------------------------------------------------ */

/* HKDF-Expand-Label(secret, label, context, out_len), RFC 8446 §7.1. */
static int expand_label(const uint8_t *secret, const char *label, const uint8_t *ctx,
                        size_t ctx_len, uint8_t *out, size_t out_len) {
  uint8_t info[2 + 1 + 255 + 1 + 255];
  size_t n = 0, label_len = strlen(label);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok;
  EVP_KDF *kdf;
  EVP_KDF_CTX *kctx;
  OSSL_PARAM params[5];

  if (6 + label_len > 255 || ctx_len > 255) return 0;
  info[n++] = (uint8_t)(out_len >> 8);
  info[n++] = (uint8_t)out_len;
  info[n++] = (uint8_t)(6 + label_len);
  memcpy(info + n, "tls13 ", 6);
  n += 6;
  memcpy(info + n, label, label_len);
  n += label_len;
  info[n++] = (uint8_t)ctx_len;
  if (ctx_len) memcpy(info + n, ctx, ctx_len);
  n += ctx_len;

  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
  params[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, HASH_LEN);
  params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
  params[4] = OSSL_PARAM_construct_end();
  kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
  ok = kctx != NULL && EVP_KDF_derive(kctx, out, out_len, params) == 1;
  EVP_KDF_CTX_free(kctx);
  EVP_KDF_free(kdf);
  return ok;
}

/* SHA-256 over the concatenation of msgs[0..n). */
static void transcript_hash(const bytes *msgs, size_t n, uint8_t out[HASH_LEN]) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned len = 0;
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  for (size_t i = 0; i < n; i++) EVP_DigestUpdate(md, msgs[i].p, msgs[i].n);
  EVP_DigestFinal_ex(md, out, &len);
  EVP_MD_CTX_free(md);
}

/* A Finished message (§4.4.4) from a finished_key and a transcript. */
static void finished_msg(const uint8_t *finished_key, const bytes *msgs, size_t n,
                         uint8_t out[4 + HASH_LEN]) {
  uint8_t th[HASH_LEN];
  size_t len = 0;
  transcript_hash(msgs, n, th);
  out[0] = 20, out[1] = 0, out[2] = 0, out[3] = HASH_LEN;
  if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, finished_key, HASH_LEN, th, HASH_LEN,
                out + 4, HASH_LEN, &len) == NULL || len != HASH_LEN)
    memset(out + 4, 0, HASH_LEN);
}

/* TLS-Exporter(label, context, out_len) from an exporter master secret (§7.5). */
static int exporter(const uint8_t *master, const char *label, const uint8_t *ctx, size_t ctx_len,
                    uint8_t *out, size_t out_len) {
  uint8_t empty_hash[HASH_LEN], ctx_hash[HASH_LEN], derived[HASH_LEN];
  bytes none = {NULL, 0}, c = {(uint8_t *)ctx, ctx_len};
  transcript_hash(&none, 0, empty_hash);
  transcript_hash(&c, 1, ctx_hash);
  return expand_label(master, label, empty_hash, HASH_LEN, derived, HASH_LEN) &&
         expand_label(derived, "exporter", ctx_hash, HASH_LEN, out, out_len);
}

/* Derive-Secret(secret, label, Transcript-Hash(msgs[0..n))) (§7.1). */
static int derive_secret(const uint8_t *secret, const char *label, const bytes *msgs, size_t n,
                         uint8_t out[HASH_LEN]) {
  uint8_t th[HASH_LEN];
  transcript_hash(msgs, n, th);
  return expand_label(secret, label, th, HASH_LEN, out, HASH_LEN);
}

/*
 * Whether cv (a whole CertificateVerify message, rsa_pss_rsae_sha256)
 * verifies with key over the transcript msgs[0..n), as a client's (§4.4.3).
 */
static int rsa_pss_cv_ok(EVP_PKEY *key, const uint8_t *cv, size_t cv_len, const bytes *msgs,
                         size_t n) {
  static const char context[] = "TLS 1.3, client CertificateVerify";
  uint8_t content[64 + sizeof context + HASH_LEN];
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  size_t sig_len;
  int ok;

  if (cv_len < 8 || cv[0] != 15 || cv[4] != 0x08 || cv[5] != 0x04) return 0;
  sig_len = (size_t)cv[6] << 8 | cv[7];
  if (8 + sig_len != cv_len) return 0;
  memset(content, 0x20, 64);
  memcpy(content + 64, context, sizeof context); /* with its terminating zero */
  transcript_hash(msgs, n, content + 64 + sizeof context);
  ok = md != NULL && EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key) == 1 &&
       EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
       EVP_DigestVerify(md, cv + 8, sig_len, content, sizeof content) == 1;
  EVP_MD_CTX_free(md);
  return ok;
}

/* The §2 RSA key (the key of §3's server certificate) from its components. */
static EVP_PKEY *section2_rsa_key(void) {
  static const char *const labels[] = {"modulus (public)", "public exponent", "private exponent",
                                       "prime1", "prime2", "exponent1", "exponent2",
                                       "coefficient"};
  static const char *const names[] = {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
                                      OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
                                      OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                      OSSL_PKEY_PARAM_RSA_EXPONENT2,
                                      OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  BIGNUM *bn[8] = {0};
  OSSL_PARAM *params;
  EVP_PKEY *key = NULL;
  for (int i = 0; i < 8; i++) {
    bytes v = vec(KEYS, labels[i]);
    bn[i] = BN_bin2bn(v.p, (int)v.n, NULL);
    OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]);
  }
  params = OSSL_PARAM_BLD_to_param(bld);
  if (EVP_PKEY_fromdata_init(pctx) != 1 ||
      EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_KEYPAIR, params) != 1)
    key = NULL;
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX_free(pctx);
  for (int i = 0; i < 8; i++) BN_free(bn[i]);
  return key;
}

/*
 * The leaf of a Certificate message with an empty request context:
 * type(1) len(3) context_len(1)=0 list_len(3) cert_len(3) cert ...
 */
static X509 *leaf_of(bytes msg) {
  const uint8_t *p = msg.p + 11;
  size_t len;
  if (msg.n < 11 || msg.p[4] != 0) return NULL;
  len = (size_t)msg.p[8] << 16 | (size_t)msg.p[9] << 8 | msg.p[10];
  if (11 + len > msg.n) return NULL;
  return d2i_X509(NULL, &p, (long)len);
}

/* ------------------------------------------------------------------ */
/* Message fields the test needs                                       */
/* ------------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* §3's NewSessionTicket (RFC 8446 §4.6.1), as a client keeps it. */
typedef struct ticket {
  uint32_t lifetime, age_add, max_early_data;
  const uint8_t *nonce, *id;
  size_t nonce_len, id_len;
} ticket;

/*
 * struct {
 *     uint32 ticket_lifetime;
 *     uint32 ticket_age_add;
 *     opaque ticket_nonce<0..255>;
 *     opaque ticket<1..2^16-1>;
 *     Extension extensions<0..2^16-2>;
 * } NewSessionTicket;
 * Returns 1 when nst parses and its only extension is early_data.
 */
static int parse_nst(bytes nst, ticket *t) {
  const uint8_t *p = nst.p + 4, *end = nst.p + nst.n;
  memset(t, 0, sizeof *t);
  if (nst.n < 4 + 9 || nst.p[0] != 4) return 0;
  t->lifetime = be32(p);
  t->age_add = be32(p + 4);
  t->nonce_len = p[8];
  t->nonce = p + 9;
  p += 9 + t->nonce_len;
  if (p + 2 > end) return 0;
  t->id_len = (size_t)p[0] << 8 | p[1];
  t->id = p + 2;
  p += 2 + t->id_len;
  if (p + 2 > end || p + 2 + ((size_t)p[0] << 8 | p[1]) != end) return 0;
  p += 2;
  if (p == end) return 1;
  if (end - p != 8 || p[0] != 0 || p[1] != 0x2a || p[2] != 0 || p[3] != 4) return 0;
  t->max_early_data = be32(p + 4);
  return 1;
}

/* Where a ClientHello's extension block starts (after the fixed fields). */
static size_t client_hello_ext_offset(bytes ch) {
  size_t off = 4 + 2 + 32;
  if (off + 1 > ch.n) return ch.n;
  off += 1 + ch.p[off]; /* legacy_session_id */
  if (off + 2 > ch.n) return ch.n;
  off += 2 + ((size_t)ch.p[off] << 8 | ch.p[off + 1]); /* cipher_suites */
  if (off + 1 > ch.n) return ch.n;
  return off + 1 + ch.p[off]; /* legacy_compression_methods */
}

/*
 * The extensions of a message whose extension block starts at off:
 * up to max (type, whole extension) pairs; -1 when the block does not
 * parse exactly.
 */
static int extensions_of(bytes msg, size_t off, bytes *ext, uint16_t *type, int max) {
  const uint8_t *p = msg.p + off, *end;
  int n = 0;
  if (off + 2 > msg.n || off + 2 + ((size_t)p[0] << 8 | p[1]) != msg.n) return -1;
  end = msg.p + msg.n;
  for (p += 2; p < end; n++) {
    size_t len;
    if (n == max || p + 4 > end) return -1;
    len = (size_t)p[2] << 8 | p[3];
    if (p + 4 + len > end) return -1;
    type[n] = (uint16_t)(p[0] << 8 | p[1]);
    ext[n].p = (uint8_t *)p;
    ext[n].n = 4 + len;
    p += 4 + len;
  }
  return n;
}

/* Whether the message's extension block (at off) holds extension type. */
static int has_extension(bytes msg, size_t off, uint16_t type) {
  bytes ext[16];
  uint16_t types[16];
  int n = extensions_of(msg, off, ext, types, 16);
  for (int i = 0; i < n; i++)
    if (types[i] == type) return 1;
  return 0;
}

/* Whether the signature_algorithms of the extension block at off list scheme. */
static int sig_list_has(bytes msg, size_t off, uint16_t scheme) {
  bytes ext[16];
  uint16_t types[16];
  int n = extensions_of(msg, off, ext, types, 16);
  for (int i = 0; i < n; i++) {
    const uint8_t *p = ext[i].p;
    if (types[i] != 13 || ext[i].n < 6 || 6 + ((size_t)p[4] << 8 | p[5]) != ext[i].n) continue;
    for (size_t k = 6; k + 2 <= ext[i].n; k += 2)
      if ((p[k] << 8 | p[k + 1]) == scheme) return 1;
  }
  return 0;
}

/*
 * The first identity of a ClientHello's pre_shared_key (§4.2.11):
 * opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; ...
 */
static int ch_psk_identity(bytes ch, const uint8_t **id, size_t *id_len, uint32_t *age) {
  bytes ext[32];
  uint16_t types[32];
  int n = extensions_of(ch, client_hello_ext_offset(ch), ext, types, 32);
  for (int i = 0; i < n; i++) {
    const uint8_t *p = ext[i].p;
    if (types[i] != 41 || ext[i].n < 4 + 2 + 2) continue;
    *id_len = (size_t)p[6] << 8 | p[7];
    *id = p + 8;
    if (8 + *id_len + 4 > ext[i].n) return 0;
    *age = be32(p + 8 + *id_len);
    return 1;
  }
  return 0;
}

/* Where a ServerHello's extension block starts (after the fixed fields). */
static size_t server_hello_ext_offset(bytes sh) {
  size_t off = 4 + 2 + 32;
  if (sh.n < off + 1) return sh.n;
  return off + 1 + sh.p[off] + 2 + 1;
}

/*
 * Whether two ServerHellos say the same thing: the same bytes up to the
 * extensions and the same extensions, each byte for byte, in any order.
 */
static int same_server_hello(bytes a, bytes b) {
  bytes ea[16], eb[16];
  uint16_t ta[16], tb[16];
  size_t off = server_hello_ext_offset(a);
  int na, nb;
  if (a.n != b.n || off != server_hello_ext_offset(b) || memcmp(a.p, b.p, off) != 0) return 0;
  na = extensions_of(a, off, ea, ta, 16);
  nb = extensions_of(b, off, eb, tb, 16);
  if (na < 0 || na != nb) return 0;
  for (int i = 0; i < na; i++) {
    int found = 0;
    for (int j = 0; j < nb; j++)
      found |= ea[i].n == eb[j].n && memcmp(ea[i].p, eb[j].p, ea[i].n) == 0;
    if (!found) return 0;
  }
  return 1;
}

/* ------------------------------------------------------------------ */
/* Driving a connection                                                */
/* ------------------------------------------------------------------ */

/* Hands a whole message to a connection at a level and runs it. */
static int give(qside *s, tern_level level, bytes msg) {
  int rc = tern_test_provide_data(s->conn, level, msg.p, msg.n);
  if (rc == TERN_OK) rc = tern_handshake(s->conn);
  if (rc < 0) fprintf(stderr, "  tern: %s\n", tern_conn_error_detail(s->conn));
  return rc;
}

static void check_secret(const qside *s, tern_level level, tern_direction dir, bytes want) {
  CHECK_EQ_INT(s->secret_len[level][dir], want.n);
  if (s->secret_len[level][dir] == want.n) CHECK_MEM(s->secret[level][dir], want.p, want.n);
}

/* A connection's output at a level, as bytes (not owned). */
static bytes sent(const qside *s, tern_level level) {
  bytes b = {s->out[level], s->out_len[level]};
  return b;
}

static void qside_free(qside *s) {
  tern_conn_free(s->conn);
  for (int l = 0; l < 4; l++) free(s->out[l]);
  memset(s, 0, sizeof *s);
}

/* Checks an exporter of the connection against the trace's master secret. */
static void check_exporter(const tern_conn *c, int early, bytes master) {
  static const uint8_t context[] = {'r', 'f', 'c', '8', '4', '4', '8'};
  uint8_t got[40] = {0}, want[40];
  int rc = early ? tern_export_early_keying_material(c, "EXPORTER-tern-test", context,
                                                     sizeof context, got, sizeof got)
                 : tern_export_keying_material(c, "EXPORTER-tern-test", context,
                                               sizeof context, got, sizeof got);
  CHECK_EQ_INT(rc, TERN_OK);
  CHECK(exporter(master.p, "EXPORTER-tern-test", context, sizeof context, want, sizeof want));
  CHECK_MEM(got, want, sizeof want);
}

/* ------------------------------------------------------------------ */
/* §4: the resumption PSK and the session blob                         */
/* ------------------------------------------------------------------ */

/* §3's ticket, and the PSK HKDF-Expand-Label(resumption_master_secret,
   "resumption", ticket_nonce, 32) that §4 resumes with. */
static void section3_ticket(ticket *t, uint8_t psk[HASH_LEN]) {
  bytes nst = vec(SIMPLE, "server NewSessionTicket message (step 49)");
  bytes rms = vec(SIMPLE, "resumption master secret");
  CHECK(parse_nst(nst, t));
  CHECK_EQ_INT(t->lifetime, 30);
  CHECK_EQ_INT(t->max_early_data, 1024);
  CHECK(expand_label(rms.p, "resumption", t->nonce, t->nonce_len, psk, HASH_LEN));
  CHECK_MEM(psk, vec(SIMPLE, "resumption PSK (ticket_nonce 00 00)").p, HASH_LEN);
  CHECK_MEM(psk, vec(RESUMED, "early secret IKM (PSK)").p, HASH_LEN);
}

/* The session blob a tern client would have stored for §3's ticket. */
static void section3_session(const ticket *t, const uint8_t psk[HASH_LEN], uint8_t *blob,
                             size_t cap, size_t *len) {
  tern_session_state st;
  memset(&st, 0, sizeof st);
  st.suite = TERN_TLS_AES_128_GCM_SHA256;
  memcpy(st.psk, psk, HASH_LEN);
  st.psk_len = HASH_LEN;
  st.receive_time_ms = TICKET_RECEIVED_MS;
  st.lifetime_s = t->lifetime;
  st.age_add = t->age_add;
  st.max_early_data = t->max_early_data;
  st.server_name_len = 6;
  memcpy(st.server_name, "server", 7);
  CHECK(t->id_len <= sizeof st.ticket);
  st.ticket_len = (uint16_t)t->id_len;
  memcpy(st.ticket, t->id, t->id_len);
  CHECK_EQ_INT(tern_session_encode(&st, blob, cap, len), TERN_OK);
}

/* ------------------------------------------------------------------ */
/* §4 client                                                           */
/* A client configuration with RFC 8448's groups (the traces predate the
   post-quantum hybrids: one X25519 share). */
static tern_config *rfc8448_client_config(void) {
  static const uint16_t groups[] = {TERN_GROUP_X25519, TERN_GROUP_SECP256R1,
                                    TERN_GROUP_X448, TERN_GROUP_SECP384R1,
                                    TERN_GROUP_SECP521R1, TERN_GROUP_FFDHE2048,
                                    TERN_GROUP_FFDHE3072, TERN_GROUP_FFDHE4096,
                                    TERN_GROUP_FFDHE6144, TERN_GROUP_FFDHE8192};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  if (cfg != NULL) tern_config_set_groups(cfg, groups, sizeof groups / sizeof groups[0]);
  return cfg;
}

/* ------------------------------------------------------------------ */

static void test_resumed_client(void) {
  bytes ch = vec(RESUMED, "05 client send handshake record | payload");
  bytes partial = vec(RESUMED, "client ClientHello message (step 03)");
  bytes key = vec(RESUMED, "client ephemeral x25519 private key");
  bytes sh = vec(RESUMED, "server ServerHello message (step 15)");
  bytes ee = vec(RESUMED, "server EncryptedExtensions message (step 24)");
  bytes sfin = vec(RESUMED, "server Finished message (step 26)");
  bytes eoed = vec(RESUMED, "client EndOfEarlyData message (step 44)");
  bytes cfin = vec(RESUMED, "client Finished message (step 49)");
  bytes cfin_key = vec(RESUMED, "client finished_key");
  draws d = {{ch.p + 6, key.p}, {32, key.n}, 2, 0};
  uint8_t psk[HASH_LEN], blob[TERN_SESSION_MAX], want_fin[4 + HASH_LEN];
  size_t blob_len = 0, id_len = 0;
  const uint8_t *id = NULL;
  uint32_t obfuscated_age = 0, age_ms;
  ticket t;
  tern_config *cfg = rfc8448_client_config();
  qside s;
  int rc;

  /* The ClientHello offers §3's ticket; the age it claims sets our clock. */
  section3_ticket(&t, psk);
  section3_session(&t, psk, blob, sizeof blob, &blob_len);
  CHECK(ch_psk_identity(ch, &id, &id_len, &obfuscated_age));
  CHECK(id_len == t.id_len && memcmp(id, t.id, id_len) == 0);
  age_ms = obfuscated_age - t.age_add;
  CHECK(age_ms < t.lifetime * 1000u);
  /* The binder covers the ClientHello up to the binders (step 03's value). */
  CHECK_EQ_INT(partial.n, ch.n - 2 - 1 - HASH_LEN);
  CHECK_MEM(ch.p, partial.p, partial.n);

  memset(&s, 0, sizeof s);
  CHECK_EQ_INT(tern_config_set_random(cfg, draws_rng, &d), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(cfg, 1, 0), TERN_OK);
  s.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &s);
  tern_test_plain_tls(s.conn);
  CHECK_EQ_INT(tern_conn_set_server_name(s.conn, "server"), TERN_OK);
  CHECK_EQ_INT(tern_conn_set_session(s.conn, blob, blob_len, TICKET_RECEIVED_MS + age_ms),
               TERN_OK);
  CHECK_EQ_INT(tern_test_client_hello(s.conn, 0, ch.p, ch.n), TERN_OK);

  /* ClientHello: the trace's bytes, binder included, then the early secret. */
  CHECK_EQ_INT(tern_handshake(s.conn), TERN_WANT_READ);
  CHECK_EQ_INT(s.out_len[TERN_LEVEL_INITIAL], ch.n);
  if (s.out_len[TERN_LEVEL_INITIAL] == ch.n) CHECK_MEM(s.out[TERN_LEVEL_INITIAL], ch.p, ch.n);
  s.out_len[TERN_LEVEL_INITIAL] = 0;
  CHECK_EQ_INT(tern_conn_early_data_status(s.conn), TERN_EARLY_DATA_OFFERED);
  check_secret(&s, TERN_LEVEL_EARLY, TERN_WRITE, vec(RESUMED, "client early traffic secret"));
  check_exporter(s.conn, 1, vec(RESUMED, "early exporter master secret"));

  /* The server's flight: PSK accepted with (EC)DHE, 0-RTT accepted. */
  CHECK_EQ_INT(give(&s, TERN_LEVEL_INITIAL, sh), TERN_WANT_READ);
  CHECK_EQ_INT(tern_conn_resumed(s.conn), 1);
  CHECK_EQ_INT(tern_conn_group(s.conn), TERN_GROUP_X25519);
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_WRITE, vec(RESUMED, "client handshake traffic secret"));
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_READ, vec(RESUMED, "server handshake traffic secret"));
  CHECK_EQ_INT(give(&s, TERN_LEVEL_HANDSHAKE, ee), TERN_WANT_READ);
  CHECK_EQ_INT(tern_conn_early_data_status(s.conn), TERN_EARLY_DATA_ACCEPTED);
  rc = give(&s, TERN_LEVEL_HANDSHAKE, sfin);
  CHECK_EQ_INT(rc, TERN_OK);
  CHECK_EQ_INT(tern_conn_handshake_done(s.conn), 1);
  check_secret(&s, TERN_LEVEL_APPLICATION, TERN_WRITE,
               vec(RESUMED, "client application traffic secret 0"));
  check_secret(&s, TERN_LEVEL_APPLICATION, TERN_READ,
               vec(RESUMED, "server application traffic secret 0"));
  check_exporter(s.conn, 0, vec(RESUMED, "exporter master secret"));

  /* This file's Finished arithmetic gives the trace's Finished (with EOED). */
  {
    bytes with_eoed[] = {ch, sh, ee, sfin, eoed};
    finished_msg(cfin_key.p, with_eoed, 5, want_fin);
    CHECK_EQ_INT(cfin.n, sizeof want_fin);
    CHECK_MEM(want_fin, cfin.p, sizeof want_fin);
  }
  /* EndOfEarlyData (under the early keys), then Finished. */
  if (PLAIN_TLS_SENDS_EOED) {
    CHECK_EQ_INT(s.out_len[TERN_LEVEL_EARLY], eoed.n);
    if (s.out_len[TERN_LEVEL_EARLY] == eoed.n) CHECK_MEM(s.out[TERN_LEVEL_EARLY], eoed.p, eoed.n);
  } else {
    bytes without_eoed[] = {ch, sh, ee, sfin};
    CHECK_EQ_INT(s.out_len[TERN_LEVEL_EARLY], 0);
    finished_msg(cfin_key.p, without_eoed, 4, want_fin);
    CHECK(memcmp(want_fin, cfin.p, sizeof want_fin) != 0);
    printf("note: no EndOfEarlyData in plain-TLS mode; the client Finished is checked over "
           "ClientHello..server Finished, not against the trace's\n");
  }
  CHECK_EQ_INT(s.out_len[TERN_LEVEL_HANDSHAKE], sizeof want_fin);
  if (s.out_len[TERN_LEVEL_HANDSHAKE] == sizeof want_fin)
    CHECK_MEM(s.out[TERN_LEVEL_HANDSHAKE], want_fin, sizeof want_fin);
  CHECK_EQ_INT(d.next, d.n);

  qside_free(&s);
  tern_config_free(cfg);
}

/*
 * The replayed ClientHello keeps the trace's obfuscated_ticket_age, so
 * the age tern computes is checked in a ClientHello of its own: at the
 * trace's ticket age it must offer the trace's identity, obfuscated age
 * and early_data.
 */
static void test_resumed_client_age(void) {
  bytes ch = vec(RESUMED, "05 client send handshake record | payload");
  bytes key = vec(RESUMED, "client ephemeral x25519 private key");
  draws d = {{ch.p + 6, key.p}, {32, key.n}, 2, 0};
  uint8_t psk[HASH_LEN], blob[TERN_SESSION_MAX];
  size_t blob_len = 0, id_len = 0, own_id_len = 0;
  const uint8_t *id = NULL, *own_id = NULL;
  uint32_t age = 0, own_age = 1;
  bytes own;
  ticket t;
  tern_config *cfg = rfc8448_client_config();
  qside s;

  section3_ticket(&t, psk);
  section3_session(&t, psk, blob, sizeof blob, &blob_len);
  CHECK(ch_psk_identity(ch, &id, &id_len, &age));
  memset(&s, 0, sizeof s);
  CHECK_EQ_INT(tern_config_set_random(cfg, draws_rng, &d), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(cfg, 1, 0), TERN_OK);
  s.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &s);
  tern_test_plain_tls(s.conn);
  CHECK_EQ_INT(tern_conn_set_server_name(s.conn, "server"), TERN_OK);
  CHECK_EQ_INT(tern_conn_set_session(s.conn, blob, blob_len,
                                     TICKET_RECEIVED_MS + (uint32_t)(age - t.age_add)),
               TERN_OK);
  CHECK_EQ_INT(tern_handshake(s.conn), TERN_WANT_READ);
  own = sent(&s, TERN_LEVEL_INITIAL);
  CHECK(ch_psk_identity(own, &own_id, &own_id_len, &own_age));
  CHECK(own_id_len == id_len && own_id != NULL && memcmp(own_id, id, id_len) == 0);
  CHECK_EQ_INT(own_age, age);
  CHECK(has_extension(own, client_hello_ext_offset(own), 0x002a));
  CHECK_EQ_INT(d.next, d.n);

  qside_free(&s);
  tern_config_free(cfg);
}

/* ------------------------------------------------------------------ */
/* §4 server                                                           */
/* ------------------------------------------------------------------ */

static void test_resumed_server(void) {
  bytes ch = vec(RESUMED, "05 client send handshake record | payload");
  bytes sh = vec(RESUMED, "server ServerHello message (step 15)");
  bytes ee = vec(RESUMED, "server EncryptedExtensions message (step 24)");
  bytes sfin = vec(RESUMED, "server Finished message (step 26)");
  bytes eoed = vec(RESUMED, "client EndOfEarlyData message (step 44)");
  bytes key = vec(RESUMED, "server ephemeral x25519 private key");
  bytes hs_secret = vec(RESUMED, "handshake secret");
  bytes master = vec(RESUMED, "master secret");
  bytes cert_msg = vec(SIMPLE, "server Certificate message (step 16)");
  draws d = {{sh.p + 6, key.p}, {32, key.n}, 2, 0};
  uint8_t psk[HASH_LEN], c_hs[HASH_LEN], s_hs[HASH_LEN], fin_key[HASH_LEN], want[HASH_LEN];
  uint8_t s_fin[4 + HASH_LEN], c_fin[4 + HASH_LEN];
  bytes msgs[6], out;
  size_t n = 0;
  ticket t;
  tern_config *cfg = tern_config_new(TERN_SERVER);
  EVP_PKEY *rsa = section2_rsa_key();
  X509 *cert = leaf_of(cert_msg);
  qside s;

  /* This file's key schedule gives the trace's secrets from its messages. */
  {
    bytes trace[] = {ch, sh, ee, sfin};
    CHECK(derive_secret(hs_secret.p, "c hs traffic", trace, 2, want));
    CHECK_MEM(want, vec(RESUMED, "client handshake traffic secret").p, HASH_LEN);
    CHECK(derive_secret(master.p, "s ap traffic", trace, 4, want));
    CHECK_MEM(want, vec(RESUMED, "server application traffic secret 0").p, HASH_LEN);
  }

  section3_ticket(&t, psk);
  memset(&s, 0, sizeof s);
  /* §3's server, which issued the ticket; tern wants a certificate even
     when it resumes. The trace's server sends no ticket in §4. */
  CHECK(rsa != NULL && cert != NULL);
  CHECK_EQ_INT(tern_config_set_cert(cfg, cert, NULL, rsa), TERN_OK);
  CHECK_EQ_INT(tern_config_set_random(cfg, draws_rng, &d), TERN_OK);
  CHECK_EQ_INT(tern_config_set_early_data(cfg, t.max_early_data, 10000), TERN_OK);
  CHECK_EQ_INT(tern_config_set_tickets(cfg, 0, t.lifetime), TERN_OK);
  s.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &s);
  tern_test_plain_tls(s.conn);
  CHECK_EQ_INT(tern_conn_set_time(s.conn, SERVER_NOW_MS), TERN_OK);
  CHECK_EQ_INT(tern_test_server_psk(s.conn, psk, sizeof psk, TERN_TLS_AES_128_GCM_SHA256,
                                    t.age_add, t.max_early_data),
               TERN_OK);

  /* The ClientHello: binder verified, PSK and 0-RTT accepted. */
  CHECK_EQ_INT(give(&s, TERN_LEVEL_INITIAL, ch), TERN_WANT_READ);
  CHECK_EQ_INT(tern_conn_resumed(s.conn), 1);
  CHECK_EQ_INT(tern_conn_early_data_status(s.conn), TERN_EARLY_DATA_ACCEPTED);
  check_secret(&s, TERN_LEVEL_EARLY, TERN_READ, vec(RESUMED, "client early traffic secret"));
  check_exporter(s.conn, 1, vec(RESUMED, "early exporter master secret"));

  /* ServerHello: the trace's, byte for byte (extension order included),
     so the handshake secrets are the trace's too. */
  out = sent(&s, TERN_LEVEL_INITIAL);
  CHECK(same_server_hello(out, sh));
  CHECK(out.n == sh.n && memcmp(out.p, sh.p, sh.n) == 0);
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_READ, vec(RESUMED, "client handshake traffic secret"));
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_WRITE, vec(RESUMED, "server handshake traffic secret"));
  msgs[n++] = ch;
  msgs[n++] = out;
  CHECK(derive_secret(hs_secret.p, "c hs traffic", msgs, n, c_hs));
  CHECK(derive_secret(hs_secret.p, "s hs traffic", msgs, n, s_hs));
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_READ, (bytes){c_hs, HASH_LEN});
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_WRITE, (bytes){s_hs, HASH_LEN});

  /* EncryptedExtensions (with early_data) and Finished. */
  out = sent(&s, TERN_LEVEL_HANDSHAKE);
  CHECK(out.n > 4 + sizeof s_fin);
  if (out.n <= 4 + sizeof s_fin) goto done;
  msgs[n].p = out.p;
  msgs[n].n = out.n - sizeof s_fin;
  CHECK_EQ_INT(msgs[n].p[0], 8);
  CHECK(has_extension(msgs[n], 4, 0x002a));
  n++;
  CHECK(expand_label(s_hs, "finished", NULL, 0, fin_key, HASH_LEN));
  finished_msg(fin_key, msgs, n, s_fin);
  CHECK_MEM(out.p + out.n - sizeof s_fin, s_fin, sizeof s_fin);
  msgs[n].p = out.p + out.n - sizeof s_fin;
  msgs[n++].n = sizeof s_fin;
  CHECK(derive_secret(master.p, "s ap traffic", msgs, n, want));
  check_secret(&s, TERN_LEVEL_APPLICATION, TERN_WRITE, (bytes){want, HASH_LEN});

  /* The client's answer over this transcript: EndOfEarlyData (only where
     tern has it, see PLAIN_TLS_SENDS_EOED) and Finished. */
  if (PLAIN_TLS_SENDS_EOED) {
    CHECK_EQ_INT(give(&s, TERN_LEVEL_EARLY, eoed), TERN_WANT_READ);
    msgs[n++] = eoed;
  }
  CHECK(expand_label(c_hs, "finished", NULL, 0, fin_key, HASH_LEN));
  finished_msg(fin_key, msgs, n, c_fin);
  CHECK_EQ_INT(give(&s, TERN_LEVEL_HANDSHAKE, (bytes){c_fin, sizeof c_fin}), TERN_OK);
  CHECK_EQ_INT(tern_conn_handshake_done(s.conn), 1);
  if (PLAIN_TLS_SENDS_EOED) n--; /* application secrets stop at the server Finished */
  CHECK(derive_secret(master.p, "c ap traffic", msgs, n, want));
  check_secret(&s, TERN_LEVEL_APPLICATION, TERN_READ, (bytes){want, HASH_LEN});
  CHECK(derive_secret(master.p, "exp master", msgs, n, want));
  check_exporter(s.conn, 0, (bytes){want, HASH_LEN});
  CHECK_EQ_INT(d.next, d.n);

done:
  qside_free(&s);
  tern_config_free(cfg);
  EVP_PKEY_free(rsa);
  X509_free(cert);
}

/* ------------------------------------------------------------------ */
/* §6 client                                                           */
/* ------------------------------------------------------------------ */

/* The trace's client CertificateVerify and Finished follow from this
   file's arithmetic: what tern's are checked with is sound. */
static void check_client_auth_oracle(const bytes *flight, size_t n) {
  bytes ccert = vec(CLIENT_AUTH, "client Certificate message (step 41)");
  bytes ccv = vec(CLIENT_AUTH, "client CertificateVerify message (step 42)");
  bytes cfin = vec(CLIENT_AUTH, "client Finished message (step 44)");
  bytes fin_key = vec(CLIENT_AUTH, "client finished_key");
  bytes msgs[9];
  uint8_t fin[4 + HASH_LEN];
  X509 *x = leaf_of(ccert);
  EVP_PKEY *pub = x ? X509_get0_pubkey(x) : NULL;

  CHECK(n + 2 <= 9);
  memcpy(msgs, flight, n * sizeof *msgs);
  msgs[n] = ccert;
  CHECK(pub != NULL && rsa_pss_cv_ok(pub, ccv.p, ccv.n, msgs, n + 1));
  msgs[n + 1] = ccv;
  finished_msg(fin_key.p, msgs, n + 2, fin);
  CHECK_EQ_INT(cfin.n, sizeof fin);
  CHECK_MEM(fin, cfin.p, sizeof fin);
  X509_free(x);
}

static void test_client_auth_client(void) {
  bytes ch = vec(CLIENT_AUTH, "client ClientHello message (step 02)");
  bytes key = vec(CLIENT_AUTH, "client ephemeral x25519 private key");
  bytes flight[7];
  bytes our_cert = vec(SIMPLE, "server Certificate message (step 16)");
  bytes fin_key = vec(CLIENT_AUTH, "client finished_key");
  draws d = {{ch.p + 6, key.p}, {32, key.n}, 2, 0};
  tern_config *cfg = rfc8448_client_config();
  EVP_PKEY *rsa = section2_rsa_key();
  X509 *cert = leaf_of(our_cert);
  uint8_t want_fin[4 + HASH_LEN];
  qside s;
  int rc;

  flight[0] = ch;
  flight[1] = vec(CLIENT_AUTH, "server ServerHello message (step 06)");
  flight[2] = vec(CLIENT_AUTH, "server EncryptedExtensions message (step 15)");
  flight[3] = vec(CLIENT_AUTH, "server CertificateRequest message (step 16)");
  flight[4] = vec(CLIENT_AUTH, "server Certificate message (step 17)");
  flight[5] = vec(CLIENT_AUTH, "server CertificateVerify message (step 18)");
  flight[6] = vec(CLIENT_AUTH, "server Finished message (step 20)");
  check_client_auth_oracle(flight, 7);

  memset(&s, 0, sizeof s);
  CHECK(rsa != NULL && cert != NULL);
  CHECK_EQ_INT(tern_config_set_cert(cfg, cert, NULL, rsa), TERN_OK);
  CHECK_EQ_INT(tern_config_set_random(cfg, draws_rng, &d), TERN_OK);
  /* The trace's server certificate is self-signed; its CertificateVerify
     and Finished are still verified. */
  CHECK_EQ_INT(tern_config_set_verify_peer(cfg, 0), TERN_OK);
  s.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &s);
  tern_test_plain_tls(s.conn);
  CHECK_EQ_INT(tern_test_client_hello(s.conn, 0, ch.p, ch.n), TERN_OK);

  CHECK_EQ_INT(tern_handshake(s.conn), TERN_WANT_READ);
  CHECK_EQ_INT(s.out_len[TERN_LEVEL_INITIAL], ch.n);
  if (s.out_len[TERN_LEVEL_INITIAL] == ch.n) CHECK_MEM(s.out[TERN_LEVEL_INITIAL], ch.p, ch.n);
  CHECK_EQ_INT(give(&s, TERN_LEVEL_INITIAL, flight[1]), TERN_WANT_READ);
  for (int i = 2; i < 6; i++) CHECK_EQ_INT(give(&s, TERN_LEVEL_HANDSHAKE, flight[i]), TERN_WANT_READ);
  rc = give(&s, TERN_LEVEL_HANDSHAKE, flight[6]);
  CHECK_EQ_INT(rc, TERN_OK);
  CHECK_EQ_INT(tern_conn_handshake_done(s.conn), 1);
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_WRITE,
               vec(CLIENT_AUTH, "client handshake traffic secret"));
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_READ,
               vec(CLIENT_AUTH, "server handshake traffic secret"));
  check_secret(&s, TERN_LEVEL_APPLICATION, TERN_WRITE,
               vec(CLIENT_AUTH, "client application traffic secret 0"));
  check_secret(&s, TERN_LEVEL_APPLICATION, TERN_READ,
               vec(CLIENT_AUTH, "server application traffic secret 0"));
  check_exporter(s.conn, 0, vec(CLIENT_AUTH, "exporter master secret"));

  /* Our answer: Certificate || CertificateVerify || Finished. */
  {
    bytes out = sent(&s, TERN_LEVEL_HANDSHAKE), cv, msgs[9];
    CHECK(out.n > our_cert.n + 8 + sizeof want_fin);
    if (out.n > our_cert.n + 8 + sizeof want_fin) {
      /* The Certificate carries §3's certificate, framed as §3's server did. */
      CHECK_MEM(out.p, our_cert.p, our_cert.n);
      cv.p = out.p + our_cert.n;
      cv.n = 4 + ((size_t)cv.p[1] << 16 | (size_t)cv.p[2] << 8 | cv.p[3]);
      CHECK_EQ_INT(out.n, our_cert.n + cv.n + sizeof want_fin);
      CHECK_EQ_INT(cv.p[0], 15);
      CHECK_EQ_INT((cv.p[4] << 8) | cv.p[5], TERN_SIG_RSA_PSS_RSAE_SHA256);
      if (out.n == our_cert.n + cv.n + sizeof want_fin) {
        memcpy(msgs, flight, sizeof flight);
        msgs[7] = our_cert;
        CHECK(rsa_pss_cv_ok(rsa, cv.p, cv.n, msgs, 8));
        msgs[8] = cv;
        finished_msg(fin_key.p, msgs, 9, want_fin);
        CHECK_MEM(cv.p + cv.n, want_fin, sizeof want_fin);
      }
    }
  }
  CHECK_EQ_INT(d.next, d.n);

  qside_free(&s);
  tern_config_free(cfg);
  EVP_PKEY_free(rsa);
  X509_free(cert);
}

/* ------------------------------------------------------------------ */
/* §6 server                                                           */
/* ------------------------------------------------------------------ */

/* The trace's client certificate is self-signed and from 2016: accept. */
static int accept_any(tern_conn *c, int preverify_ok, int x509_error, void *user) {
  (void)c, (void)preverify_ok, (void)x509_error;
  (*(int *)user)++;
  return 1;
}

static void test_client_auth_server(void) {
  bytes ch = vec(CLIENT_AUTH, "client ClientHello message (step 02)");
  bytes sh = vec(CLIENT_AUTH, "server ServerHello message (step 06)");
  bytes cr = vec(CLIENT_AUTH, "server CertificateRequest message (step 16)");
  bytes ccert = vec(CLIENT_AUTH, "client Certificate message (step 41)");
  bytes ccv = vec(CLIENT_AUTH, "client CertificateVerify message (step 42)");
  bytes key = vec(CLIENT_AUTH, "server ephemeral x25519 private key");
  bytes our_cert = vec(SIMPLE, "server Certificate message (step 16)");
  draws d = {{sh.p + 6, key.p}, {32, key.n}, 2, 0};
  tern_config *cfg = tern_config_new(TERN_SERVER);
  EVP_PKEY *rsa = section2_rsa_key();
  X509 *cert = leaf_of(our_cert), *client_cert = leaf_of(ccert);
  const uint8_t *der = NULL;
  size_t der_len = 0;
  int verify_calls = 0;
  qside s;

  memset(&s, 0, sizeof s);
  CHECK(rsa != NULL && cert != NULL && client_cert != NULL);
  CHECK_EQ_INT(tern_config_set_cert(cfg, cert, NULL, rsa), TERN_OK);
  CHECK_EQ_INT(tern_config_set_random(cfg, draws_rng, &d), TERN_OK);
  CHECK_EQ_INT(tern_config_set_client_auth(cfg, TERN_CLIENT_AUTH_REQUIRED, 0), TERN_OK);
  CHECK_EQ_INT(tern_config_set_verify_callback(cfg, accept_any, &verify_calls), TERN_OK);
  s.conn = tern_conn_new_quic(cfg, &qpair_callbacks, &s);
  tern_test_plain_tls(s.conn);

  CHECK_EQ_INT(give(&s, TERN_LEVEL_INITIAL, ch), TERN_WANT_READ);
  CHECK_EQ_INT(s.out_len[TERN_LEVEL_INITIAL], sh.n);
  if (s.out_len[TERN_LEVEL_INITIAL] == sh.n) CHECK_MEM(s.out[TERN_LEVEL_INITIAL], sh.p, sh.n);
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_WRITE,
               vec(CLIENT_AUTH, "server handshake traffic secret"));
  check_secret(&s, TERN_LEVEL_HANDSHAKE, TERN_READ,
               vec(CLIENT_AUTH, "client handshake traffic secret"));
  {
    /* EncryptedExtensions, then a CertificateRequest. Not the trace's:
       its signature_algorithms also list schemes tern does not support
       (rsa_pkcs1_*, SHA-1, DSA); it must allow what the trace's client
       used, rsa_pss_rsae_sha256, and carry no context (§4.3.2). */
    bytes out = sent(&s, TERN_LEVEL_HANDSHAKE), req;
    size_t ee_len = out.n >= 4 ? 4 + ((size_t)out.p[1] << 16 | (size_t)out.p[2] << 8 | out.p[3]) : 0;
    CHECK(out.n > ee_len + 5);
    if (out.n > ee_len + 5) {
      req.p = out.p + ee_len;
      req.n = 4 + ((size_t)req.p[1] << 16 | (size_t)req.p[2] << 8 | req.p[3]);
      CHECK(ee_len + req.n <= out.n);
      CHECK_EQ_INT(req.p[0], 13);
      CHECK_EQ_INT(req.p[4], 0);
      CHECK(ee_len + req.n <= out.n && sig_list_has(req, 5, TERN_SIG_RSA_PSS_RSAE_SHA256));
      CHECK_EQ_INT(cr.p[4], 0);
      CHECK(sig_list_has(cr, 5, TERN_SIG_RSA_PSS_RSAE_SHA256));
    }
  }

  /* The trace's client Certificate: accepted through the callback. */
  CHECK_EQ_INT(give(&s, TERN_LEVEL_HANDSHAKE, ccert), TERN_WANT_READ);
  CHECK(verify_calls > 0);
  CHECK_EQ_INT(tern_conn_peer_certificate(s.conn, &der, &der_len), TERN_OK);
  {
    uint8_t *want = NULL;
    int want_len = i2d_X509(client_cert, &want);
    CHECK(want_len > 0 && der_len == (size_t)want_len);
    if (want_len > 0 && der_len == (size_t)want_len) CHECK_MEM(der, want, der_len);
    OPENSSL_free(want);
  }
  /* The trace's CertificateVerify signs the trace's transcript, which
     tern's server flight cannot be (the trace's server key is not
     published, and ECDSA is randomized): it must be refused. */
  CHECK_EQ_INT(give(&s, TERN_LEVEL_HANDSHAKE, ccv), TERN_ERR_ALERT);
  CHECK_EQ_INT(tern_conn_alert(s.conn), TERN_ALERT_DECRYPT_ERROR);
  CHECK_EQ_INT(d.next, d.n);

  qside_free(&s);
  tern_config_free(cfg);
  EVP_PKEY_free(rsa);
  X509_free(cert);
  X509_free(client_cert);
}

int main(void) {
  test_resumed_client();
  test_resumed_client_age();
  test_resumed_server();
  test_client_auth_client();
  test_client_auth_server();
  vec_free_all();
  return check_report();
}
