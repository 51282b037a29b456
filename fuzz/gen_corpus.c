/*
 * gen_corpus.c - writes the seed corpora of fuzz/corpus/<target>/ from
 * real handshakes between two tern connections: for the handshake
 * targets, what the peer sent to the victim in full, HRR, client
 * authentication, resumption, 0-RTT, external-PSK, post-handshake
 * authentication and key-update conversations, as the chunks of fuzz.h;
 * for the others, the messages, packets, chains, signatures, tickets and
 * session blobs those handshakes produce. Every handshake seed is
 * replayed once through fz_run_input and must complete the victim's
 * handshake again (the deterministic world at work), else this fails.
 *
 * Usage: gen_corpus OUTDIR   (OUTDIR/<target>/ must exist or is made)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/sha.h>

#include "codec/msg.h"
#include "crypto/certcomp.h"
#include "crypto/sig.h"
#include "engine/ticket.h"
#include "fuzz.h"

static const char *outdir;
static int failures;

static void write_seed(const char *target, const char *name, const uint8_t *p, size_t n) {
  char path[1024];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", outdir, target);
  if (mkdir(path, 0755) != 0 && errno != EEXIST) {
    perror(path);
    exit(1);
  }
  snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
  f = fopen(path, "wb");
  if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

typedef struct buf {
  uint8_t *p;
  size_t len, cap;
} buf;

static void put(buf *b, const void *d, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 256;
    if ((b->p = realloc(b->p, b->cap)) == NULL) abort();
  }
  if (n) memcpy(b->p + b->len, d, n);
  b->len += n;
}

static void put_u8(buf *b, unsigned v) {
  uint8_t x = (uint8_t)v;
  put(b, &x, 1);
}

static void put_u16(buf *b, size_t v) {
  put_u8(b, (unsigned)(v >> 8));
  put_u8(b, (unsigned)v);
}

static void put_u24(buf *b, size_t v) {
  put_u8(b, (unsigned)(v >> 16));
  put_u16(b, v & 0xffff);
}

/* ------------------------------------------------------------------ */
/* codec seeds: handshake messages seen on the way                      */
/* ------------------------------------------------------------------ */

static unsigned codec_seen[256];

static void codec_messages(const uint8_t *p, size_t n) {
  static const int sel[256] = {[1] = 1, [2] = 2, [8] = 3, [13] = 4, [11] = 5, [15] = 6,
                               [20] = 7, [4] = 8, [24] = 9, [5] = 10};
  while (n >= 4) {
    size_t len = (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (len > n - 4) break;
    if (sel[p[0]] && codec_seen[p[0]] < 3) {
      buf b = {0};
      char name[64];
      put_u8(&b, (unsigned)sel[p[0]] - 1);
      if (p[0] == 20) put_u8(&b, len == 48);
      put(&b, p + 4, len);
      snprintf(name, sizeof name, "msg%u-%u", p[0], codec_seen[p[0]]++);
      write_seed("codec", name, b.p, b.len);
      free(b.p);
    }
    p += 4 + len;
    n -= 4 + len;
  }
}

/* ------------------------------------------------------------------ */
/* handshake seeds                                                      */
/* ------------------------------------------------------------------ */

typedef struct recorder {
  buf in;
  fz_victim *v;
} recorder;

/* FZ_OP_PIECES on every fed TLS chunk: the "cut" seeds */
static uint8_t cut;

static void emit(void *user, uint8_t op, const uint8_t *d, size_t n) {
  recorder *r = user;
  if (r->v->tls && cut && (op & 0x1f) <= FZ_OP_SEAL_EARLY && !(op & FZ_OP_HOLD))
    op |= FZ_OP_PIECES;
  do {
    size_t k = n > 0xffff ? 0xffff : n;
    put_u8(&r->in, op);
    put_u16(&r->in, k);
    put(&r->in, d, k);
    if (!r->v->tls && op < 4) codec_messages(d, k);
    (void)fz_victim_chunk(r->v, op, d, k);
    d += k;
    n -= k;
  } while (n > 0);
}

typedef struct blob {
  uint8_t p[TERN_SESSION_MAX_BYTES];
  size_t len;
} blob;

static void on_session(tern_conn *c, const uint8_t *s, size_t len, uint32_t max_early,
                       void *user) {
  blob *b = user;
  (void)c, (void)max_early;
  if (b->len == 0 && len <= sizeof b->p) {
    memcpy(b->p, s, len);
    b->len = len;
  }
}

/* A session from a first handshake between two tern connections. */
static int get_session(int tls, unsigned flags, blob *out) {
  fz_victim c, s;
  memset(out, 0, sizeof *out);
  flags &= ~(unsigned)FZ_F_SESSION;
  if (fz_victim_init(&c, TERN_CLIENT, tls, flags, NULL, 0) != 0 ||
      fz_victim_init(&s, TERN_SERVER, tls, flags, NULL, 0) != 0 ||
      tern_config_set_new_session_callback(c.cfg, on_session, out) != TERN_OK)
    abort();
  c.record_sent = s.record_sent = 1;
  if (fz_victim_start(&c) != 0) abort();
  (void)fz_converse(&c, &s, NULL, NULL, NULL, NULL);
  fz_victim_free(&c);
  fz_victim_free(&s);
  return out->len ? 0 : -1;
}

/* steps after (or, PRE_*, before) the handshake */
#define PEER(a) (0x100 | (a))
#define PRE_EARLY 0x400       /* the client writes early data right after its ClientHello */
#define END (-1)

static void act(fz_victim *who, recorder *r, int code) {
  uint8_t a[8] = {(uint8_t)code, 1, 'h', 'e', 'l', 'l', 'o', '\n'};
  size_t n = code == FZ_ACT_WRITE ? 8 : 2;
  if (r) emit(r, FZ_OP_ACTION, a, n);
  else (void)fz_victim_chunk(who, FZ_OP_ACTION, a, n);
}

static void scenario(const char *target, const char *name, tern_role vrole, int tls,
                     unsigned flags, const int *steps) {
  fz_victim v, peer;
  recorder r = {{0}, &v};
  blob session;
  fz_victim *client, *server;
  int pre_early = 0, live_ech, replayed;
  /* a rejected ECH ends in ech_required: the victim does not finish */
  int want_done = !(flags & FZ_X_ECH_REJECT);
  unsigned in_flags = flags;
  for (const int *s = steps; s && *s != END; s++) pre_early |= *s == PRE_EARLY;
  if ((flags & FZ_F_SESSION) && get_session(tls, flags, &session) != 0) {
    fprintf(stderr, "gen_corpus: %s/%s: no session from the first handshake\n", target, name);
    failures++;
    return;
  }
  if (vrole == TERN_SERVER) in_flags &= ~(unsigned)FZ_F_SESSION;
  put_u8(&r.in, in_flags & 0xff);
  if (vrole == TERN_CLIENT && (flags & FZ_F_SESSION)) {
    put_u16(&r.in, session.len);
    put(&r.in, session.p, session.len);
  }
  if (in_flags >> 8) {
    put_u8(&r.in, FZ_OP_CONFIG);
    put_u16(&r.in, 1);
    put_u8(&r.in, in_flags >> 8);
  }
  {
    int with = (flags & FZ_F_SESSION) != 0;
    if (fz_victim_init(&v, vrole, tls, in_flags, vrole == TERN_CLIENT && with ? session.p : NULL,
                       session.len) != 0 ||
        fz_victim_init(&peer, vrole == TERN_SERVER ? TERN_CLIENT : TERN_SERVER, tls, flags,
                       vrole == TERN_SERVER && with ? session.p : NULL, session.len) != 0)
      abort();
  }
  v.record_sent = peer.record_sent = 1;
  client = vrole == TERN_CLIENT ? &v : &peer;
  server = vrole == TERN_CLIENT ? &peer : &v;
  if (fz_victim_start(client) != 0) abort();
  if (pre_early) act(client, client == &v ? &r : NULL, FZ_ACT_WRITE);
  (void)fz_converse(client, server, client == &v ? emit : NULL, &r, server == &v ? emit : NULL,
                    &r);
  for (const int *s = steps; s && *s != END; s++) {
    if (*s == PRE_EARLY) continue;
    if (*s & 0x100) act(&peer, NULL, *s & 0xff);
    else act(&v, &r, *s);
    (void)fz_converse(client, server, client == &v ? emit : NULL, &r,
                      server == &v ? emit : NULL, &r);
  }
  live_ech = tern_conn_ech_status(v.conn);
  if (tern_conn_handshake_done(v.conn) != want_done ||
      /* (a QUIC client's alert is a CONNECTION_CLOSE, which no server
         victim reads: that one just never finishes) */
      (!want_done && (live_ech != TERN_ECH_REJECTED ||
                      ((tls || vrole == TERN_CLIENT) &&
                       tern_conn_alert(v.conn) != TERN_ALERT_ECH_REQUIRED))) ||
      ((flags & FZ_X_ECH) && live_ech != TERN_ECH_ACCEPTED)) {
    fprintf(stderr, "gen_corpus: %s/%s: the victim did not %s (ECH status %d, %s)\n", target,
            name, want_done ? "finish" : "end in ech_required", live_ech,
            tern_conn_error_detail(v.conn));
    failures++;
  } else if ((replayed = fz_run_input(vrole, tls, r.in.p, r.in.len)) != want_done ||
             fz_last_ech_status != live_ech || fz_last_alert != tern_conn_alert(v.conn)) {
    fprintf(stderr, "gen_corpus: %s/%s: the seed does not replay to the same end "
            "(finished %d, ECH status %d, alert %u: %s)\n", target, name, replayed,
            fz_last_ech_status, fz_last_alert, fz_last_detail);
    failures++;
  } else {
    write_seed(target, name, r.in.p, r.in.len);
    printf("%s/%s: %zu bytes\n", target, name, r.in.len);
  }
  fz_victim_free(&v);
  fz_victim_free(&peer);
  free(r.in.p);
}

static void handshake_seeds(void) {
  static const int none[] = {END};
  static const int quic_srv[] = {FZ_ACT_TICKETS, FZ_ACT_EXPORT, END};
  static const int tls_srv[] = {FZ_ACT_WRITE, PEER(FZ_ACT_WRITE), FZ_ACT_KEY_UPDATE,
                                PEER(FZ_ACT_KEY_UPDATE), PEER(FZ_ACT_WRITE), FZ_ACT_TICKETS,
                                FZ_ACT_READ, FZ_ACT_EXPORT, PEER(FZ_ACT_CLOSE), FZ_ACT_CLOSE, END};
  static const int tls_pha[] = {FZ_ACT_CLIENT_AUTH, PEER(FZ_ACT_WRITE), FZ_ACT_READ, END};
  static const int tls_early[] = {PRE_EARLY, FZ_ACT_READ, FZ_ACT_WRITE, END};
  static const int tls_cli[] = {FZ_ACT_WRITE, PEER(FZ_ACT_WRITE), PEER(FZ_ACT_KEY_UPDATE),
                                PEER(FZ_ACT_WRITE), FZ_ACT_KEY_UPDATE, PEER(FZ_ACT_TICKETS),
                                FZ_ACT_READ, FZ_ACT_EXPORT, PEER(FZ_ACT_CLOSE), FZ_ACT_CLOSE, END};
  static const int tls_cli_pha[] = {PEER(FZ_ACT_CLIENT_AUTH), FZ_ACT_WRITE, END};
  static const struct {
    const char *name;
    unsigned flags;
  } kinds[] = {
      {"full", 0},
      {"hrr", FZ_F_HRR},
      {"client-auth", FZ_F_CLIENT_AUTH},
      {"resume", FZ_F_SESSION},
      {"resume-0rtt", FZ_F_SESSION | FZ_F_EARLY},
      {"resume-hrr", FZ_F_SESSION | FZ_F_HRR},
      {"psk", FZ_F_PSK},
      {"psk-0rtt", FZ_F_PSK | FZ_F_EARLY},
      {"hrr-client-auth", FZ_F_HRR | FZ_F_CLIENT_AUTH},
      {"resume-0rtt-hrr", FZ_F_SESSION | FZ_F_EARLY | FZ_F_HRR},
      {"groups", FZ_F_GROUPS},
      {"ffdhe", FZ_F_FFDHE},
      {"suites", FZ_F_SUITES},
      {"suites-resume-0rtt", FZ_F_SUITES | FZ_F_SESSION | FZ_F_EARLY},
      {"ech", FZ_X_ECH},
      {"ech-hrr", FZ_X_ECH | FZ_F_HRR},
      {"ech-reject", FZ_X_ECH_REJECT},
      {"ech-grease", FZ_X_ECH_GREASE},
      {"ech-resume", FZ_X_ECH | FZ_F_SESSION},
      {"ech-client-auth", FZ_X_ECH | FZ_F_CLIENT_AUTH},
      {"certcomp-zlib", FZ_X_CERTCOMP | FZ_F_CLIENT_AUTH},
      {"certcomp-brotli", FZ_X_CERTCOMP | FZ_X_CC_BROTLI | FZ_F_CLIENT_AUTH},
      {"certcomp-zstd", FZ_X_CERTCOMP | FZ_X_CC_ZSTD | FZ_F_CLIENT_AUTH},
  };
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    int early = (kinds[i].flags & FZ_F_EARLY) != 0;
    int reject = (kinds[i].flags & FZ_X_ECH_REJECT) != 0;
    scenario("quic_server", kinds[i].name, TERN_SERVER, 0, kinds[i].flags,
             reject ? none : quic_srv);
    scenario("quic_client", kinds[i].name, TERN_CLIENT, 0, kinds[i].flags, none);
    scenario("tls_server", kinds[i].name, TERN_SERVER, 1, kinds[i].flags,
             reject ? none : early ? tls_early : tls_srv);
    scenario("tls_client", kinds[i].name, TERN_CLIENT, 1, kinds[i].flags,
             reject ? none : early ? tls_early : tls_cli);
  }
  scenario("tls_server", "pha", TERN_SERVER, 1, 0, tls_pha);
  scenario("tls_client", "pha", TERN_CLIENT, 1, 0, tls_cli_pha);
  /* a client Certificate compressed per message (it carries a context) */
  scenario("tls_server", "certcomp-pha", TERN_SERVER, 1, FZ_X_CERTCOMP | FZ_X_CC_ZSTD, tls_pha);
  scenario("tls_client", "certcomp-pha", TERN_CLIENT, 1, FZ_X_CERTCOMP, tls_cli_pha);
  cut = 1;
  scenario("tls_server", "full-cut", TERN_SERVER, 1, 0, tls_srv);
  scenario("tls_client", "full-cut", TERN_CLIENT, 1, 0, tls_cli);
  scenario("tls_server", "resume-0rtt-cut", TERN_SERVER, 1, FZ_F_SESSION | FZ_F_EARLY, tls_early);
  cut = 0;
}

/* ------------------------------------------------------------------ */
/* quic_packet seeds                                                    */
/* ------------------------------------------------------------------ */

static const uint16_t suites[4] = {TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_256_GCM_SHA384,
                                   TERN_TLS_CHACHA20_POLY1305_SHA256,
                                   TERN_TLS_AES_128_CCM_SHA256};

/* The same keys as quic_packet.c's key_of. */
static tern_quic_key *packet_key(int i, int phase) {
  uint16_t suite = suites[i & 3];
  uint32_t version = i & 4 ? TERN_QUIC_V2 : TERN_QUIC_V1;
  size_t slen = suite == TERN_TLS_AES_256_GCM_SHA384 ? 48 : 32;
  uint8_t secret[48], next[48];
  tern_quic_key *k, *k1;
  memset(secret, 0x40 + i, sizeof secret);
  k = tern_quic_key_new(version, suite, secret, slen);
  if (!phase) return k;
  if (tern_quic_next_secret(version, suite, secret, slen, next) != TERN_OK) abort();
  k1 = tern_quic_key_update(k, next, slen);
  tern_quic_key_free(k);
  return k1;
}

/* Appends one protected packet: type -1 short header (key phase bit
   phase), else a long header of that type bits. */
static void packet(buf *b, tern_quic_key *k, int i, int type, int phase, uint64_t pn,
                   unsigned pn_len, size_t payload) {
  uint8_t pkt[512];
  size_t h = 0, plen = 0;
  if (type < 0) {
    pkt[h++] = (uint8_t)(0x40 | phase << 2 | (pn_len - 1));
    memset(pkt + h, 0xdc, 8);
    h += 8;
  } else {
    uint32_t version = i & 4 ? TERN_QUIC_V2 : TERN_QUIC_V1;
    size_t length = pn_len + payload + 16;
    pkt[h++] = (uint8_t)(0xc0 | type << 4 | (pn_len - 1));
    for (int j = 0; j < 4; j++) pkt[h++] = (uint8_t)(version >> (24 - 8 * j));
    pkt[h++] = 8;
    memset(pkt + h, 0xdc, 8);
    h += 8;
    pkt[h++] = 8;
    memset(pkt + h, 0x5c, 8);
    h += 8;
    if (type == ((i & 4) ? 1 : 0)) pkt[h++] = 0;   /* Initial: empty token */
    pkt[h++] = (uint8_t)(0x40 | length >> 8);
    pkt[h++] = (uint8_t)length;
  }
  for (unsigned j = 0; j < pn_len; j++) pkt[h++] = (uint8_t)(pn >> (8 * (pn_len - 1 - j)));
  for (size_t j = 0; j < payload; j++) pkt[h + j] = (uint8_t)(j == 0 ? 0x06 : j);
  if (tern_quic_protect(k, pn, pkt, h, payload, sizeof pkt, &plen) != TERN_OK) abort();
  put(b, pkt, plen);
}

static void packet_seeds(void) {
  for (int i = 0; i < 8; i++) {
    tern_quic_key *k0 = packet_key(i, 0), *k1 = packet_key(i, 1);
    int v2 = i & 4;
    int initial = v2 ? 1 : 0, handshake = v2 ? 0 : 2;
    buf b = {0};
    char name[64];
    if (k0 == NULL || k1 == NULL) abort();
    /* coalesced Initial + Handshake */
    put_u8(&b, (unsigned)i);
    put_u8(&b, 8);
    put_u8(&b, 0xff);
    packet(&b, k0, i, initial, 0, 0, 1, 40);
    packet(&b, k0, i, handshake, 0, 7, 2, 60);
    snprintf(name, sizeof name, "long-%d", i);
    write_seed("quic_packet", name, b.p, b.len);
    /* short headers, both key phases */
    for (int phase = 0; phase < 2; phase++) {
      b.len = 0;
      put_u8(&b, (unsigned)i);
      put_u8(&b, 8);
      put_u8(&b, 1);
      packet(&b, phase ? k1 : k0, i, -1, phase, 300 + (uint64_t)phase, 4, 30);
      snprintf(name, sizeof name, "short-%d-%d", i, phase);
      write_seed("quic_packet", name, b.p, b.len);
    }
    free(b.p);
    tern_quic_key_free(k0);
    tern_quic_key_free(k1);
  }
  /* a Retry after a one-byte odcid length */
  for (int v2 = 0; v2 < 2; v2++) {
    uint32_t version = v2 ? TERN_QUIC_V2 : TERN_QUIC_V1;
    uint8_t odcid[8] = {1, 2, 3, 4, 5, 6, 7, 8}, tag[16];
    buf r = {0}, b = {0};
    put_u8(&r, v2 ? 0xc0 : 0xf0);
    for (int j = 0; j < 4; j++) put_u8(&r, (unsigned)(version >> (24 - 8 * j)));
    put_u8(&r, 4);
    put(&r, "dcid", 4);
    put_u8(&r, 4);
    put(&r, "scid", 4);
    put(&r, "retry token", 11);
    if (tern_quic_retry_tag(version, odcid, 8, r.p, r.len, tag) != TERN_OK) abort();
    put(&r, tag, 16);
    put_u8(&b, v2 ? 4 : 0);
    put_u8(&b, 8);
    put_u8(&b, 0xff);
    put_u8(&b, 8);
    put(&b, odcid, 8);
    put(&b, r.p, r.len);
    write_seed("quic_packet", v2 ? "retry-v2" : "retry-v1", b.p, b.len);
    free(r.p);
    free(b.p);
  }
}

/* ------------------------------------------------------------------ */
/* cert and ticket seeds                                                */
/* ------------------------------------------------------------------ */

extern const uint8_t fz_cert_th[32];
const uint8_t fz_cert_th[32] = "transcript hash of the fuzz run";

static void put_der(buf *b, X509 *x) {
  uint8_t *der = NULL;
  int n = i2d_X509(x, &der);
  if (n <= 0) abort();
  put_u24(b, (size_t)n);
  put(b, der, (size_t)n);
  put_u16(b, 0);
  OPENSSL_free(der);
}

static void cert_seeds(void) {
  const fz_pki *p = fz_pki_get();
  uint16_t schemes[32];
  size_t n = tern_supported_signature_schemes(schemes, 32);
  for (int who = 0; who < 2; who++) {
    buf list = {0}, body = {0};
    put_der(&list, who ? p->server : p->client);
    put_der(&list, p->ca);
    put_u8(&body, 0);
    put_u24(&body, list.len);
    put(&body, list.p, list.len);
    for (size_t i = 0; i < n; i++) {
      const tern_sig *s = tern_sig_get(schemes[i]);
      EVP_PKEY *key = fz_fixed_key(schemes[i]);
      uint8_t sig[1024];
      size_t sig_len = 0;
      buf in = {0};
      char name[64];
      if (s == NULL || key == NULL) continue;
      if (schemes[i] == TERN_SIG_ED25519) key = who ? p->server_key : p->client_key;
      if (tern_sig_sign(s, key, who, fz_cert_th, sizeof fz_cert_th, sig, sizeof sig,
                        &sig_len) != TERN_OK)
        abort();
      put_u8(&in, who ? 3u : 0u);
      put_u16(&in, schemes[i]);
      put_u16(&in, body.len);
      put(&in, body.p, body.len);
      put(&in, sig, sig_len);
      snprintf(name, sizeof name, "%s-%04x", who ? "server" : "client", schemes[i]);
      write_seed("cert", name, in.p, in.len);
      free(in.p);
    }
    free(list.p);
    free(body.p);
  }
}

/* CompressedCertificate bodies (cert target, flag bit 3): the server
   chain compressed by tern with each algorithm this build has (a valid
   Ed25519 signature after it), and bombs: the body of a Certificate
   message of 200 000 zero bytes compressed, announced as 3 000 bytes
   (decompression must stop there) and as its real length (past the cap,
   refused before anything is decompressed). */
static void certcomp_seeds(void) {
  const fz_pki *p = fz_pki_get();
  static const char *const names[4] = {"", "zlib", "brotli", "zstd"};
  buf list = {0}, msg = {0};
  uint8_t sig[128], *zeros;
  size_t sig_len = 0;
  const size_t bomb = 200000;
  put_der(&list, p->server);
  put_der(&list, p->ca);
  put_u8(&msg, 11);
  put_u24(&msg, 1 + 3 + list.len);
  put_u8(&msg, 0);
  put_u24(&msg, list.len);
  put(&msg, list.p, list.len);
  if (tern_sig_sign(tern_sig_get(TERN_SIG_ED25519), p->server_key, 1, fz_cert_th,
                    sizeof fz_cert_th, sig, sizeof sig, &sig_len) != TERN_OK)
    abort();
  if ((zeros = calloc(1, 4 + bomb)) == NULL) abort();
  zeros[0] = 11;
  zeros[1] = (uint8_t)(bomb >> 16);
  zeros[2] = (uint8_t)(bomb >> 8);
  zeros[3] = (uint8_t)bomb;
  for (uint16_t alg = 1; alg <= 3; alg++) {
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    char name[64];
    buf in = {0};
    if (!tern_cert_compression_available(alg)) continue;
    if (tern_certcomp_message(alg, msg.p, msg.len, &packed, &packed_len) != TERN_OK) abort();
    put_u8(&in, 8 | 2 | 1);
    put_u16(&in, TERN_SIG_ED25519);
    put_u16(&in, packed_len - 4);
    put(&in, packed + 4, packed_len - 4);
    put(&in, sig, sig_len);
    snprintf(name, sizeof name, "compressed-%s", names[alg]);
    write_seed("cert", name, in.p, in.len);
    OPENSSL_free(packed);
    if (tern_certcomp_message(alg, zeros, 4 + bomb, &packed, &packed_len) != TERN_OK) abort();
    for (int lie = 0; lie < 2; lie++) {
      in.len = 0;
      put_u8(&in, 8 | 1);
      put_u16(&in, TERN_SIG_ED25519);
      put_u16(&in, packed_len - 4);
      put(&in, packed + 4, 2);
      put_u24(&in, lie ? 3000 : bomb);
      put(&in, packed + 9, packed_len - 9);
      snprintf(name, sizeof name, "bomb-%s-%s", names[alg], lie ? "3000" : "200000");
      write_seed("cert", name, in.p, in.len);
    }
    OPENSSL_free(packed);
    free(in.p);
  }
  free(zeros);
  free(list.p);
  free(msg.p);
}

/* ech target seeds: ECHConfigLists (mode 0), ClientHelloOuter bodies
   without their ECH extension and the EncodedClientHelloInner a tern
   client sealed in them (mode 1), each checked to be accepted by a server
   holding the key when sealed again as the target does, and ECHConfigs
   for a server key (mode 2). */
static void ech_seeds(void) {
  size_t l0, l1;
  const uint8_t *list0 = fz_ech_list(0, &l0), *list1 = fz_ech_list(1, &l1);
  uint8_t cfg[TERN_ECH_CONFIG_MAX], sk[32];
  size_t cfg_len = 0;
  buf b = {0};
  put_u8(&b, 0);
  put(&b, list0, l0);
  write_seed("ech", "list", b.p, b.len);
  b.len = 0;
  put_u8(&b, 0);
  put_u16(&b, l0 - 2 + l1 - 2);
  put(&b, list1 + 2, l1 - 2);
  put(&b, list0 + 2, l0 - 2);
  write_seed("ech", "list-two", b.p, b.len);
  b.len = 0;
  put_u8(&b, 2);
  put(&b, list0 + 2, l0 - 2);
  write_seed("ech", "server-key", b.p, b.len);
  if (tern_ech_config_generate(TERN_ECH_KEM_P256, 9, "public.example", 32, cfg, sizeof cfg,
                               &cfg_len, sk) != TERN_OK)
    abort();
  b.len = 0;
  put_u8(&b, 0);
  put_u16(&b, cfg_len);
  put(&b, cfg, cfg_len);
  write_seed("ech", "list-p256", b.p, b.len);
  for (int kind = 0; kind < 4; kind++) {
    /* TLS and QUIC clients; with HRR's P-256-only client share and a session */
    int tls = kind & 1;
    unsigned flags = FZ_X_ECH | (kind & 2 ? FZ_F_PSK : 0);
    fz_victim c, s;
    static uint8_t stripped[1 << 16], inner[1 << 16], outer[1 << 17], rec[(1 << 17) + 5];
    size_t sl = 0, il = 0, ol = 0, skip = tls ? 5 + 4 : 4;
    char name[64];
    if (fz_victim_init(&c, TERN_CLIENT, tls, flags, NULL, 0) != 0) abort();
    c.record_sent = 1;
    if (fz_victim_start(&c) != 0 || c.sent_len[0] <= skip ||
        fz_ech_open(c.sent[0] + skip, c.sent_len[0] - skip, stripped, &sl, inner, &il) != 0) {
      fprintf(stderr, "gen_corpus: ech seeds: no ClientHelloOuter to open (%d)\n", kind);
      failures++;
      fz_victim_free(&c);
      continue;
    }
    fz_victim_free(&c);
    b.len = 0;
    put_u8(&b, 1);
    put_u16(&b, sl);
    put(&b, stripped, sl);
    put(&b, inner, il);
    /* sealed again as the target does, it must be accepted */
    if (fz_ech_seal(stripped, sl, inner, il, outer + 4, sizeof outer - 4, &ol) != 0 ||
        fz_victim_init(&s, TERN_SERVER, 1, flags, NULL, 0) != 0)
      abort();
    outer[0] = 1, outer[1] = (uint8_t)(ol >> 16), outer[2] = (uint8_t)(ol >> 8);
    outer[3] = (uint8_t)ol;
    rec[0] = 22, rec[1] = 3, rec[2] = 1, rec[3] = (uint8_t)((ol + 4) >> 8);
    rec[4] = (uint8_t)(ol + 4);
    memcpy(rec + 5, outer, ol + 4);
    (void)fz_victim_chunk(&s, FZ_OP_RAW, rec, ol + 9);
    if (tern_conn_ech_status(s.conn) != TERN_ECH_ACCEPTED) {
      fprintf(stderr, "gen_corpus: ech seeds: the inner hello %d is not accepted (%s)\n", kind,
              tern_conn_error_detail(s.conn));
      failures++;
    } else {
      snprintf(name, sizeof name, "inner-%s%s", tls ? "tls" : "quic", kind & 2 ? "-psk" : "");
      write_seed("ech", name, b.p, b.len);
    }
    fz_victim_free(&s);
  }
  free(b.p);
}

static void ticket_seeds(void) {
  for (int mode = 0; mode < 4; mode++) {
    int tls = mode & 1, early = mode & 2;
    blob s;
    tern_session_state ss;
    uint8_t plain[4096];
    size_t pn;
    buf b = {0};
    char name[64];
    if (get_session(tls, early ? FZ_F_EARLY : 0, &s) != 0 ||
        tern_session_decode(s.p, s.len, &ss) != TERN_OK ||
        (pn = fz_ticket_open(ss.ticket, ss.ticket_len, plain, sizeof plain)) == 0) {
      fprintf(stderr, "gen_corpus: ticket seeds: no ticket (%s%s)\n", tls ? "tls" : "quic",
              early ? ", 0-RTT" : "");
      failures++;
      continue;
    }
    put_u8(&b, (unsigned)(tls << 1 | (early ? 4 : 0)));
    put(&b, s.p, s.len);
    snprintf(name, sizeof name, "blob-%s%s", tls ? "tls" : "quic", early ? "-0rtt" : "");
    write_seed("ticket", name, b.p, b.len);
    b.len = 0;
    put_u8(&b, (unsigned)(1 | tls << 1 | (early ? 4 : 0)));
    put(&b, plain, pn);
    snprintf(name, sizeof name, "plain-%s%s", tls ? "tls" : "quic", early ? "-0rtt" : "");
    write_seed("ticket", name, b.p, b.len);
    free(b.p);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen_corpus OUTDIR\n");
    return 2;
  }
  outdir = argv[1];
  if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
    perror(outdir);
    return 1;
  }
  handshake_seeds();
  packet_seeds();
  cert_seeds();
  certcomp_seeds();
  ech_seeds();
  ticket_seeds();
  if (failures) fprintf(stderr, "gen_corpus: %d seeds failed\n", failures);
  return failures ? 1 : 0;
}
