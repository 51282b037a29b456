/*
 * test_msg.c - the handshake message codec (src/codec/msg.c) against the RFC
 * 8448 traces: every message parsed, its fields checked, written back to
 * the same bytes; then every negative path with the alert the RFC asks
 * for, truncation at every length, a trailing byte, and a deterministic
 * mutation pass that must never crash (run it under ASan/UBSan).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec/msg.h"
#include "vectors.h"

#define F_1RTT "rfc8448_simple_1rtt.txt"
#define F_HRR "rfc8448_hrr.txt"
#define F_0RTT "rfc8448_resumed_0rtt.txt"
#define F_AUTH "rfc8448_client_auth.txt"

/* A whole handshake message from a trace. */
typedef struct msg {
  uint8_t *p;
  size_t len;
  uint8_t type;
  const uint8_t *body;
  size_t body_len;
} msg;

/* load reads a message and checks its header against its length. */
static msg load(const char *file, const char *label) {
  msg m;
  m.p = vec_get(file, label, &m.len);
  CHECK_EQ_INT(tern_msg_header(m.p, m.len, &m.type, &m.body_len), TERN_OK);
  CHECK_EQ_INT(m.body_len + 4, m.len);
  m.body = m.p + 4;
  return m;
}

/* Any parsed message. */
typedef union any_msg {
  tern_client_hello ch;
  tern_server_hello sh;
  tern_encrypted_extensions ee;
  tern_certificate_request cr;
  tern_certificate cert;
  tern_certificate_verify cv;
  tern_compressed_certificate cc;
  tern_new_session_ticket nst;
  tern_span fin;
  uint8_t ku;
} any_msg;

/* parse_any runs the parser of this type (Finished with 32 bytes). */
static int parse_any(uint8_t type, const uint8_t *b, size_t n, any_msg *m,
                     uint8_t *alert) {
  switch (type) {
  case TERN_HS_CLIENT_HELLO: return tern_msg_parse_client_hello(b, n, &m->ch, alert);
  case TERN_HS_SERVER_HELLO: return tern_msg_parse_server_hello(b, n, &m->sh, alert);
  case TERN_HS_ENCRYPTED_EXTENSIONS: return tern_msg_parse_encrypted_extensions(b, n, &m->ee, alert);
  case TERN_HS_CERTIFICATE_REQUEST: return tern_msg_parse_certificate_request(b, n, &m->cr, alert);
  case TERN_HS_CERTIFICATE: return tern_msg_parse_certificate(b, n, &m->cert, alert);
  case TERN_HS_CERTIFICATE_VERIFY: return tern_msg_parse_certificate_verify(b, n, &m->cv, alert);
  case TERN_HS_COMPRESSED_CERTIFICATE:
    return tern_msg_parse_compressed_certificate(b, n, &m->cc, alert);
  case TERN_HS_FINISHED: return tern_msg_parse_finished(b, n, 32, &m->fin, alert);
  case TERN_HS_NEW_SESSION_TICKET: return tern_msg_parse_new_session_ticket(b, n, &m->nst, alert);
  case TERN_HS_KEY_UPDATE: return tern_msg_parse_key_update(b, n, &m->ku, alert);
  case TERN_HS_END_OF_EARLY_DATA: return tern_msg_parse_end_of_early_data(b, n, alert);
  default: return -100;
  }
}

/* write_any runs the writer of this type on a parsed message. */
static int write_any(uint8_t type, const any_msg *m, uint8_t *out, size_t cap,
                     size_t *len) {
  switch (type) {
  case TERN_HS_CLIENT_HELLO: return tern_msg_write_client_hello(&m->ch, out, cap, len, NULL);
  case TERN_HS_SERVER_HELLO: return tern_msg_write_server_hello(&m->sh, out, cap, len);
  case TERN_HS_ENCRYPTED_EXTENSIONS: return tern_msg_write_encrypted_extensions(&m->ee, out, cap, len);
  case TERN_HS_CERTIFICATE_REQUEST: return tern_msg_write_certificate_request(&m->cr, out, cap, len);
  case TERN_HS_CERTIFICATE: return tern_msg_write_certificate(&m->cert, out, cap, len);
  case TERN_HS_CERTIFICATE_VERIFY: return tern_msg_write_certificate_verify(&m->cv, out, cap, len);
  case TERN_HS_COMPRESSED_CERTIFICATE:
    return tern_msg_write_compressed_certificate(&m->cc, out, cap, len);
  case TERN_HS_FINISHED: return tern_msg_write_finished(m->fin.p, m->fin.len, out, cap, len);
  case TERN_HS_NEW_SESSION_TICKET: return tern_msg_write_new_session_ticket(&m->nst, out, cap, len);
  case TERN_HS_KEY_UPDATE: return tern_msg_write_key_update(m->ku, out, cap, len);
  case TERN_HS_END_OF_EARLY_DATA: return tern_msg_write_end_of_early_data(out, cap, len);
  default: return -100;
  }
}

static any_msg g_m, g_m2;
static uint8_t g_out[4096];

/* roundtrip: parse, write into exactly the right room (and one byte
 * less: BUFFER_TOO_SMALL), compare. */
static void roundtrip(const msg *m) {
  uint8_t alert = 0;
  size_t len = 0;
  int rc = parse_any(m->type, m->body, m->body_len, &g_m, &alert);
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK) {
    fprintf(stderr, "  type %d alert %d\n", m->type, alert);
    return;
  }
  CHECK_EQ_INT(write_any(m->type, &g_m, g_out, m->len, &len), TERN_OK);
  CHECK_EQ_INT(len, m->len);
  CHECK_MEM(g_out, m->p, m->len);
  CHECK_EQ_INT(write_any(m->type, &g_m, g_out, m->len - 1, &len),
               TERN_ERR_BUFFER_TOO_SMALL);
}

/* expect_fail: the parser of type refuses b[0..n) with this alert. The
 * bytes are copied to a heap block of exactly n bytes so that ASan sees
 * any read past them. */
static void expect_fail(uint8_t type, const uint8_t *b, size_t n,
                        uint8_t want_alert, int line) {
  uint8_t *copy = malloc(n ? n : 1);
  uint8_t alert = 0xff;
  int rc;
  if (n) memcpy(copy, b, n);
  rc = parse_any(type, copy, n, &g_m, &alert);
  check_count++;
  if (rc != TERN_ERR_MALFORMED || alert != want_alert) {
    check_failures++;
    fprintf(stderr, "test_msg.c:%d: type %d len %zu: rc %d alert %d, want alert %d\n",
            line, type, n, rc, alert, want_alert);
  }
  free(copy);
}
#define EXPECT_FAIL(t, b, n, a) expect_fail((t), (b), (n), (a), __LINE__)

/* expect_ok: the parser of type accepts b[0..n) into g_m. */
static int expect_ok(uint8_t type, const uint8_t *b, size_t n, int line) {
  uint8_t alert = 0;
  int rc = parse_any(type, b, n, &g_m, &alert);
  check_count++;
  if (rc != TERN_OK) {
    check_failures++;
    fprintf(stderr, "test_msg.c:%d: type %d: rc %d alert %d, want OK\n", line,
            type, rc, alert);
  }
  return rc;
}
#define EXPECT_OK(t, b, n) expect_ok((t), (b), (n), __LINE__)

/* Truncation at every length is a decode_error; a byte more, too. */
static void truncations(const msg *m) {
  uint8_t *longer = malloc(m->body_len + 1);
  for (size_t k = 0; k < m->body_len; k++)
    EXPECT_FAIL(m->type, m->body, k, TERN_ALERT_DECODE_ERROR);
  memcpy(longer, m->body, m->body_len);
  longer[m->body_len] = 0;
  EXPECT_FAIL(m->type, longer, m->body_len + 1, TERN_ALERT_DECODE_ERROR);
  free(longer);
}

/* Flip bits of every byte: the parser must not crash, and what it
 * accepts the writer must write and the parser take back. */
static void mutations(const msg *m) {
  static const uint8_t masks[] = {0x01, 0x80, 0xff, 0x20};
  uint8_t *copy = malloc(m->body_len);
  size_t accepted = 0, rewritten = 0;
  for (size_t i = 0; i < m->body_len; i++) {
    for (size_t k = 0; k < sizeof masks; k++) {
      uint8_t alert = 0;
      size_t len;
      memcpy(copy, m->body, m->body_len);
      copy[i] ^= masks[k];
      if (parse_any(m->type, copy, m->body_len, &g_m, &alert) != TERN_OK) {
        if (alert != TERN_ALERT_DECODE_ERROR &&
            alert != TERN_ALERT_ILLEGAL_PARAMETER &&
            alert != TERN_ALERT_MISSING_EXTENSION) {
          check_failures++;
          fprintf(stderr, "mutation type %d byte %zu: alert %d\n", m->type, i, alert);
        }
        continue;
      }
      accepted++;
      if (write_any(m->type, &g_m, g_out, sizeof g_out, &len) != TERN_OK)
        continue;
      rewritten++;
      if (parse_any(m->type, g_out + 4, len - 4, &g_m2, &alert) != TERN_OK) {
        check_failures++;
        fprintf(stderr, "mutation type %d byte %zu: rewrite not parsed (alert %d)\n",
                m->type, i, alert);
      }
    }
  }
  check_count++;
  (void)accepted;
  (void)rewritten;
  free(copy);
}

/* ------------------------------------------------------------------ */
/* Extension block surgery, independent of msg.c                       */
/* ------------------------------------------------------------------ */

typedef struct rext {
  uint16_t type;
  uint8_t data[600];
  size_t len;
} rext;

static size_t rd16(const uint8_t *p) { return (size_t)p[0] << 8 | p[1]; }

/* split reads the extension block at body+prefix into e[]. */
static size_t split(const uint8_t *body, size_t len, size_t prefix, rext *e) {
  size_t n = 0, end = prefix + 2 + rd16(body + prefix), pos = prefix + 2;
  if (end != len) abort();
  while (pos < end) {
    e[n].type = (uint16_t)rd16(body + pos);
    e[n].len = rd16(body + pos + 2);
    memcpy(e[n].data, body + pos + 4, e[n].len);
    pos += 4 + e[n].len;
    n++;
  }
  return n;
}

/* join writes body[0..prefix) then the block of e[0..n) into out. */
static size_t join(const uint8_t *body, size_t prefix, const rext *e, size_t n,
                   uint8_t *out) {
  size_t pos = prefix + 2;
  memcpy(out, body, prefix);
  for (size_t i = 0; i < n; i++) {
    out[pos] = (uint8_t)(e[i].type >> 8);
    out[pos + 1] = (uint8_t)e[i].type;
    out[pos + 2] = (uint8_t)(e[i].len >> 8);
    out[pos + 3] = (uint8_t)e[i].len;
    memcpy(out + pos + 4, e[i].data, e[i].len);
    pos += 4 + e[i].len;
  }
  out[prefix] = (uint8_t)((pos - prefix - 2) >> 8);
  out[prefix + 1] = (uint8_t)(pos - prefix - 2);
  return pos;
}

/* set_ext fills e with a type and hex data. */
static rext mk(uint16_t type, const char *hex) {
  rext e;
  e.type = type;
  e.len = unhex(hex, e.data, sizeof e.data);
  return e;
}

/* Where the extensions start in a ClientHello / ServerHello body. */
static size_t ch_prefix(const uint8_t *b) {
  size_t p = 34;
  p += 1 + b[p];
  p += 2 + rd16(b + p);
  p += 1 + b[p];
  return p;
}
static size_t sh_prefix(const uint8_t *b) { return 34 + 1 + b[34] + 3; }

static rext g_e[40];
static uint8_t g_buf[8192];

/* with_ext: the message with e appended at index at of its block (or
 * replacing it when replace). Returns the new body length in g_buf. */
static size_t with_ext(const msg *m, size_t prefix, size_t at, rext e,
                       int replace) {
  size_t n = split(m->body, m->body_len, prefix, g_e);
  if (replace) {
    g_e[at] = e;
  } else {
    memmove(g_e + at + 1, g_e + at, (n - at) * sizeof *g_e);
    g_e[at] = e;
    n++;
  }
  return join(m->body, prefix, g_e, n, g_buf);
}

/* find_ext: the index of type in the block, or abort. */
static size_t find_ext(const msg *m, size_t prefix, uint16_t type) {
  size_t n = split(m->body, m->body_len, prefix, g_e);
  for (size_t i = 0; i < n; i++)
    if (g_e[i].type == type) return i;
  abort();
}

/* ------------------------------------------------------------------ */
/* The RFC 8448 messages                                               */
/* ------------------------------------------------------------------ */

static void test_client_hello_1rtt(void) {
  msg m = load(F_1RTT, "client ClientHello message (step 02)");
  uint8_t alert;
  tern_client_hello *ch = &g_m.ch;
  tern_key_share_entry ks;
  uint8_t pub[32];
  unhex("99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c", pub, 32);

  CHECK_EQ_INT(m.type, TERN_HS_CLIENT_HELLO);
  CHECK_EQ_INT(tern_msg_parse_client_hello(m.body, m.body_len, ch, &alert), TERN_OK);
  CHECK_EQ_INT(ch->legacy_version, 0x0303);
  CHECK_EQ_INT(ch->random[0], 0xcb);
  CHECK_EQ_INT(ch->session_id.len, 0);
  CHECK_EQ_INT(ch->cipher_suites.count, 3);
  CHECK_EQ_INT(ch->cipher_suites.v[0], 0x1301);
  CHECK_EQ_INT(ch->cipher_suites.v[2], 0x1302);
  CHECK(tern_msg_list_has(&ch->cipher_suites, 0x1303));
  CHECK(!tern_msg_list_has(&ch->cipher_suites, 0x1304));
  CHECK_EQ_INT(ch->ext.count, 9);
  CHECK_EQ_INT(ch->ext.n_order, 9);
  CHECK_EQ_INT(ch->ext.unknown_count, 3); /* 0xff01, 0x0023, 0x001c */
  CHECK_EQ_INT(ch->ext.unknown[0].type, 0xff01);
  CHECK_EQ_INT(ch->ext.server_name.len, 6);
  CHECK_MEM(ch->ext.server_name.p, "server", 6);
  CHECK_EQ_INT(ch->ext.supported_groups.count, 9);
  CHECK_EQ_INT(ch->ext.supported_groups.v[0], 0x001d);
  CHECK_EQ_INT(ch->ext.key_share_count, 1);
  CHECK_EQ_INT(ch->ext.key_shares[0].group, 0x001d);
  CHECK_EQ_INT(ch->ext.key_shares[0].key_exchange.len, 32);
  CHECK_MEM(ch->ext.key_shares[0].key_exchange.p, pub, 32);
  CHECK(tern_msg_find_key_share(&ch->ext, 0x001d, &ks));
  CHECK_MEM(ks.key_exchange.p, pub, 32);
  CHECK(!tern_msg_find_key_share(&ch->ext, 0x0017, &ks));
  CHECK_EQ_INT(ch->ext.supported_versions.count, 1);
  CHECK_EQ_INT(ch->ext.supported_versions.v[0], TERN_TLS13);
  CHECK_EQ_INT(ch->ext.signature_algorithms.count, 15);
  CHECK_EQ_INT(ch->ext.psk_modes.len, 1);
  CHECK_EQ_INT(ch->ext.psk_modes.p[0], TERN_PSK_DHE_KE);
  CHECK(ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE));
  CHECK(!(ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)));
  roundtrip(&m);
  truncations(&m);
  mutations(&m);
  free(m.p);
}

static void test_server_hello_1rtt(void) {
  msg m = load(F_1RTT, "server ServerHello message (step 06)");
  uint8_t alert;
  tern_server_hello *sh = &g_m.sh;
  CHECK_EQ_INT(tern_msg_parse_server_hello(m.body, m.body_len, sh, &alert), TERN_OK);
  CHECK_EQ_INT(sh->is_hrr, 0);
  CHECK_EQ_INT(sh->cipher_suite, 0x1301);
  CHECK_EQ_INT(sh->ext.selected_version, TERN_TLS13);
  CHECK_EQ_INT(sh->ext.key_shares[0].group, 0x001d);
  CHECK_EQ_INT(sh->ext.key_shares[0].key_exchange.len, 32);
  CHECK_EQ_INT(sh->ext.key_shares[0].key_exchange.p[0], 0xc9);
  roundtrip(&m);
  truncations(&m);
  mutations(&m);
  free(m.p);
}

static void test_encrypted_extensions(void) {
  const char *labels[][2] = {
      {F_1RTT, "server EncryptedExtensions message (step 15)"},
      {F_HRR, "server EncryptedExtensions message (step 20)"},
      {F_0RTT, "server EncryptedExtensions message (step 24)"},
      {F_AUTH, "server EncryptedExtensions message (step 15)"}};
  for (size_t i = 0; i < 4; i++) {
    msg m = load(labels[i][0], labels[i][1]);
    uint8_t alert;
    CHECK_EQ_INT(m.type, TERN_HS_ENCRYPTED_EXTENSIONS);
    CHECK_EQ_INT(tern_msg_parse_encrypted_extensions(m.body, m.body_len, &g_m.ee, &alert), TERN_OK);
    CHECK(g_m.ee.ext.present & TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_GROUPS));
    CHECK(g_m.ee.ext.present & TERN_EXT_BIT(TERN_EXT_ID_SERVER_NAME));
    CHECK_EQ_INT(g_m.ee.ext.server_name.len, 0);
    if (i == 2) CHECK(g_m.ee.ext.present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA));
    roundtrip(&m);
    truncations(&m);
    mutations(&m);
    free(m.p);
  }
}

static void test_certificate_messages(void) {
  const char *labels[][2] = {
      {F_1RTT, "server Certificate message (step 16)"},
      {F_AUTH, "server Certificate message (step 17)"},
      {F_AUTH, "client Certificate message (step 41)"},
      {F_1RTT, "server CertificateVerify message (step 17)"},
      {F_AUTH, "server CertificateVerify message (step 18)"},
      {F_AUTH, "client CertificateVerify message (step 42)"},
      {F_1RTT, "server Finished message (step 19)"},
      {F_1RTT, "client Finished message (step 41)"},
      {F_0RTT, "client EndOfEarlyData message (step 44)"},
      {F_AUTH, "server CertificateRequest message (step 16)"}};
  uint8_t alert;
  for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
    msg m = load(labels[i][0], labels[i][1]);
    roundtrip(&m);
    if (m.type != TERN_HS_END_OF_EARLY_DATA) truncations(&m);
    mutations(&m);
    CHECK_EQ_INT(parse_any(m.type, m.body, m.body_len, &g_m, &alert), TERN_OK);
    if (i == 0) {
      CHECK_EQ_INT(g_m.cert.context.len, 0);
      CHECK_EQ_INT(g_m.cert.count, 1);
      CHECK_EQ_INT(g_m.cert.entries[0].cert_data.len, 0x1b0);
      CHECK_EQ_INT(g_m.cert.entries[0].cert_data.p[0], 0x30);
      CHECK_EQ_INT(g_m.cert.entries[0].extensions.len, 0);
    }
    if (i == 3) {
      CHECK_EQ_INT(g_m.cv.algorithm, 0x0804);
      CHECK_EQ_INT(g_m.cv.signature.len, 128);
    }
    if (i == 6) {
      CHECK_EQ_INT(tern_msg_parse_finished(m.body, m.body_len, 48, &g_m.fin, &alert),
                   TERN_ERR_MALFORMED);
      CHECK_EQ_INT(alert, TERN_ALERT_DECODE_ERROR);
      CHECK_EQ_INT(tern_msg_parse_finished(m.body, m.body_len, 0, &g_m.fin, &alert),
                   TERN_ERR_INVALID_ARG);
      CHECK_EQ_INT(alert, TERN_ALERT_INTERNAL_ERROR);
      CHECK_EQ_INT(tern_msg_parse_finished(m.body, m.body_len, 65, &g_m.fin, &alert),
                   TERN_ERR_INVALID_ARG);
    }
    if (i == 8) {
      EXPECT_FAIL(TERN_HS_END_OF_EARLY_DATA, m.body, 1, TERN_ALERT_DECODE_ERROR);
    }
    if (i == 9) {
      CHECK_EQ_INT(tern_msg_parse_certificate_request(m.body, m.body_len, &g_m.cr, &alert), TERN_OK);
      CHECK_EQ_INT(g_m.cr.context.len, 0);
      CHECK_EQ_INT(g_m.cr.ext.signature_algorithms.count, 15);
      CHECK(g_m.cr.ext.present & TERN_EXT_BIT(TERN_EXT_ID_SIGNATURE_ALGORITHMS));
    }
    free(m.p);
  }
}

static void test_new_session_ticket(void) {
  msg m = load(F_1RTT, "server NewSessionTicket message (step 49)");
  uint8_t alert;
  tern_new_session_ticket *t = &g_m.nst;
  CHECK_EQ_INT(tern_msg_parse_new_session_ticket(m.body, m.body_len, t, &alert), TERN_OK);
  CHECK_EQ_INT(t->ticket_lifetime, 30);
  CHECK_EQ_INT(t->ticket_age_add, 0xfad6aac5);
  CHECK_EQ_INT(t->ticket_nonce.len, 2);
  CHECK_EQ_INT(t->ticket.len, 0xb2);
  CHECK(t->ext.present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA));
  CHECK_EQ_INT(t->ext.max_early_data_size, 0x400);
  roundtrip(&m);
  truncations(&m);
  mutations(&m);
  free(m.p);
}

static void test_hrr(void) {
  msg ch1 = load(F_HRR, "client ClientHello message (step 02)");
  msg hrr = load(F_HRR, "server ServerHello message (step 04)");
  msg ch2 = load(F_HRR, "client ClientHello message (step 07)");
  msg sh = load(F_HRR, "server ServerHello message (step 11)");
  uint8_t alert;
  size_t len;
  tern_server_hello *s = &g_m.sh;

  CHECK_EQ_INT(tern_msg_parse_server_hello(hrr.body, hrr.body_len, s, &alert), TERN_OK);
  CHECK_EQ_INT(s->is_hrr, 1);
  CHECK_MEM(s->random, tern_msg_hrr_random, 32);
  CHECK_EQ_INT(s->ext.selected_group, 0x0017);
  CHECK_EQ_INT(s->ext.selected_version, TERN_TLS13);
  CHECK_EQ_INT(s->ext.cookie.len, 0x72);
  /* A writer ignores random in a HelloRetryRequest. */
  s->random = NULL;
  CHECK_EQ_INT(tern_msg_write_server_hello(s, g_out, sizeof g_out, &len), TERN_OK);
  CHECK_EQ_INT(len, hrr.len);
  CHECK_MEM(g_out, hrr.p, hrr.len);

  CHECK_EQ_INT(tern_msg_parse_client_hello(ch2.body, ch2.body_len, &g_m.ch, &alert), TERN_OK);
  CHECK_EQ_INT(g_m.ch.ext.cookie.len, 0x72);
  CHECK_EQ_INT(g_m.ch.ext.key_shares[0].group, 0x0017);
  CHECK_EQ_INT(g_m.ch.ext.key_shares[0].key_exchange.len, 65);

  msg *all[] = {&ch1, &hrr, &ch2, &sh};
  for (size_t i = 0; i < 4; i++) {
    roundtrip(all[i]);
    truncations(all[i]);
    mutations(all[i]);
  }
  /* HRR: key_share is the bare selected_group; pre_shared_key is not
   * allowed in it. */
  {
    size_t pre = sh_prefix(hrr.body);
    size_t i = find_ext(&hrr, pre, TERN_EXT_KEY_SHARE);
    size_t n = with_ext(&hrr, pre, i, mk(TERN_EXT_KEY_SHARE, "0017000101"), 1);
    EXPECT_FAIL(TERN_HS_SERVER_HELLO, g_buf, n, TERN_ALERT_DECODE_ERROR);
    n = with_ext(&hrr, pre, 0, mk(TERN_EXT_PRE_SHARED_KEY, "0000"), 0);
    EXPECT_FAIL(TERN_HS_SERVER_HELLO, g_buf, n, TERN_ALERT_ILLEGAL_PARAMETER);
    n = with_ext(&hrr, pre, 0, mk(0x1234, "00"), 0);
    if (EXPECT_OK(TERN_HS_SERVER_HELLO, g_buf, n) == TERN_OK)
      CHECK_EQ_INT(g_m.sh.ext.unknown_count, 1);
  }
  free(ch1.p);
  free(hrr.p);
  free(ch2.p);
  free(sh.p);
}

static void test_resumed_0rtt(void) {
  size_t full_len, prefix_len, len, partial;
  uint8_t *full = vec_get(F_0RTT, "05 client send handshake record | payload", &full_len);
  uint8_t *prefix = vec_get(F_0RTT, "04 client calculate PSK binder | ClientHello prefix", &prefix_len);
  uint8_t *binder = vec_get(F_0RTT, "04 client calculate PSK binder | finished", &len);
  msg m;
  msg sh = load(F_0RTT, "server ServerHello message (step 15)");
  uint8_t alert;
  tern_client_hello *ch = &g_m.ch;

  m.p = full;
  m.len = full_len;
  CHECK_EQ_INT(tern_msg_header(full, full_len, &m.type, &m.body_len), TERN_OK);
  CHECK_EQ_INT(m.body_len + 4, full_len);
  m.body = full + 4;
  CHECK_EQ_INT(len, 32);

  CHECK_EQ_INT(tern_msg_parse_client_hello(m.body, m.body_len, ch, &alert), TERN_OK);
  CHECK_EQ_INT(ch->ext.psk_count, 1);
  CHECK_EQ_INT(ch->ext.n_psk, 1);
  CHECK_EQ_INT(ch->ext.psk[0].identity.len, 0xb2);
  CHECK_EQ_INT(ch->ext.binders[0].len, 32);
  CHECK_MEM(ch->ext.binders[0].p, binder, 32);
  CHECK_EQ_INT(ch->ext.psk_binders_offset + 4, prefix_len);
  CHECK_MEM(full, prefix, prefix_len);
  CHECK(ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA));
  CHECK_EQ_INT(ch->ext.order[ch->ext.n_order - 1], TERN_EXT_PRE_SHARED_KEY);
  roundtrip(&m);

  /* Write with zero binders, check the PartialClientHello, set it. */
  CHECK_EQ_INT(tern_msg_parse_client_hello(m.body, m.body_len, ch, &alert), TERN_OK);
  ch->ext.binders[0].p = NULL;
  CHECK_EQ_INT(tern_msg_write_client_hello(ch, g_out, sizeof g_out, &len, &partial), TERN_OK);
  CHECK_EQ_INT(len, full_len);
  CHECK_EQ_INT(partial, prefix_len);
  CHECK_MEM(g_out, prefix, prefix_len);
  CHECK_EQ_INT(g_out[len - 1], 0);
  CHECK_EQ_INT(tern_msg_set_binder(g_out, len, partial, 0, binder, 32), TERN_OK);
  CHECK_MEM(g_out, full, full_len);
  CHECK_EQ_INT(tern_msg_set_binder(g_out, len, partial, 1, binder, 32), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_msg_set_binder(g_out, len, partial, 0, binder, 31), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_msg_set_binder(g_out, len, partial - 1, 0, binder, 32), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_msg_set_binder(g_out, len, len + 1, 0, binder, 32), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_msg_set_binder(NULL, len, partial, 0, binder, 32), TERN_ERR_INVALID_ARG);

  truncations(&m);
  mutations(&m);

  /* pre_shared_key must be last (RFC 8446 §4.2.11). */
  {
    size_t pre = ch_prefix(m.body);
    size_t n = split(m.body, m.body_len, pre, g_e);
    size_t nb;
    rext psk = g_e[n - 1];
    nb = with_ext(&m, pre, n, mk(0x7777, ""), 0);
    EXPECT_FAIL(TERN_HS_CLIENT_HELLO, g_buf, nb, TERN_ALERT_ILLEGAL_PARAMETER);
    /* ...even before a known extension. */
    nb = with_ext(&m, pre, n - 1, psk, 0);
    EXPECT_FAIL(TERN_HS_CLIENT_HELLO, g_buf, nb, TERN_ALERT_ILLEGAL_PARAMETER);
    /* Two binders for one identity. */
    {
      rext bad = psk;
      size_t idl = rd16(bad.data), bpos = 2 + idl;
      size_t bl = rd16(bad.data + bpos);
      memcpy(bad.data + bad.len, bad.data + bpos + 2, 33);
      bad.len += 33;
      bl += 33;
      bad.data[bpos] = (uint8_t)(bl >> 8);
      bad.data[bpos + 1] = (uint8_t)bl;
      nb = with_ext(&m, pre, n - 1, bad, 1);
      EXPECT_FAIL(TERN_HS_CLIENT_HELLO, g_buf, nb, TERN_ALERT_ILLEGAL_PARAMETER);
    }
    /* A 31-byte binder is below PskBinderEntry<32..255>. */
    {
      rext bad = psk;
      size_t idl = rd16(bad.data), bpos = 2 + idl;
      bad.data[bpos + 1] = 32;
      bad.data[bpos + 2] = 31;
      bad.len -= 1;
      nb = with_ext(&m, pre, n - 1, bad, 1);
      EXPECT_FAIL(TERN_HS_CLIENT_HELLO, g_buf, nb, TERN_ALERT_DECODE_ERROR);
    }
    /* pre_shared_key without psk_key_exchange_modes (RFC 8446 §4.2.9). */
    {
      size_t i = find_ext(&m, pre, TERN_EXT_PSK_KEY_EXCHANGE_MODES);
      size_t k = split(m.body, m.body_len, pre, g_e);
      memmove(g_e + i, g_e + i + 1, (k - i - 1) * sizeof *g_e);
      nb = join(m.body, pre, g_e, k - 1, g_buf);
      EXPECT_FAIL(TERN_HS_CLIENT_HELLO, g_buf, nb, TERN_ALERT_MISSING_EXTENSION);
    }
  }

  CHECK_EQ_INT(tern_msg_parse_server_hello(sh.body, sh.body_len, &g_m.sh, &alert), TERN_OK);
  CHECK(g_m.sh.ext.present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY));
  CHECK_EQ_INT(g_m.sh.ext.selected_identity, 0);
  roundtrip(&sh);
  truncations(&sh);
  mutations(&sh);
  free(full);
  free(prefix);
  free(binder);
  free(sh.p);
}

static void test_client_auth_hellos(void) {
  msg ch = load(F_AUTH, "client ClientHello message (step 02)");
  msg sh = load(F_AUTH, "server ServerHello message (step 06)");
  roundtrip(&ch);
  roundtrip(&sh);
  free(ch.p);
  free(sh.p);
}

/* ------------------------------------------------------------------ */
/* Negative paths on edited messages                                   */
/* ------------------------------------------------------------------ */

static void test_client_hello_errors(void) {
  msg m = load(F_1RTT, "client ClientHello message (step 02)");
  size_t pre = ch_prefix(m.body), n;
  uint8_t b[600];
  const uint8_t CH = TERN_HS_CLIENT_HELLO;
  const uint8_t IP = TERN_ALERT_ILLEGAL_PARAMETER, DE = TERN_ALERT_DECODE_ERROR;

  /* Duplicates, known and unknown. */
  n = with_ext(&m, pre, 0, mk(TERN_EXT_SUPPORTED_VERSIONS, "020304"), 0);
  EXPECT_FAIL(CH, g_buf, n, IP);
  n = with_ext(&m, pre, 0, mk(0xff01, "00"), 0);
  EXPECT_FAIL(CH, g_buf, n, IP);
  n = with_ext(&m, pre, 0, mk(0x0023, ""), 0);
  EXPECT_FAIL(CH, g_buf, n, IP);
  /* A new unknown type is skipped and kept. */
  n = with_ext(&m, pre, 0, mk(0x0a0a, "00"), 0);
  if (EXPECT_OK(CH, g_buf, n) == TERN_OK) {
    CHECK_EQ_INT(g_m.ch.ext.unknown_count, 4);
    CHECK_EQ_INT(g_m.ch.ext.order[0], 0x0a0a);
  }
  /* Not allowed in a ClientHello. */
  n = with_ext(&m, pre, 0, mk(TERN_EXT_OID_FILTERS, "0000"), 0);
  EXPECT_FAIL(CH, g_buf, n, IP);

  /* server_name: two names, a NUL, 256 bytes, an unknown type, empty. */
  {
    size_t i = find_ext(&m, pre, TERN_EXT_SERVER_NAME);
    rext e = mk(0, "0012000006736572766572000006736572766572");
    n = with_ext(&m, pre, i, e, 1);
    EXPECT_FAIL(CH, g_buf, n, IP);
    n = with_ext(&m, pre, i, mk(0, "0009000006736500766572"), 1);
    EXPECT_FAIL(CH, g_buf, n, IP);
    n = with_ext(&m, pre, i, mk(0, "0009010006736572766572"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    n = with_ext(&m, pre, i, mk(0, "0000"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    e.type = 0;
    e.len = 5 + 256;
    e.data[0] = 0x01; e.data[1] = 0x03; e.data[2] = 0;
    e.data[3] = 0x01; e.data[4] = 0x00;
    memset(e.data + 5, 'a', 256);
    n = with_ext(&m, pre, i, e, 1);
    EXPECT_FAIL(CH, g_buf, n, IP);
    e.len = 5 + 255;
    e.data[1] = 0x02; e.data[3] = 0x00; e.data[4] = 0xff;
    n = with_ext(&m, pre, i, e, 1);
    EXPECT_OK(CH, g_buf, n);
  }
  /* Bounds of the list extensions. */
  {
    size_t i = find_ext(&m, pre, TERN_EXT_SUPPORTED_VERSIONS);
    n = with_ext(&m, pre, i, mk(TERN_EXT_SUPPORTED_VERSIONS, "0103"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    n = with_ext(&m, pre, i, mk(TERN_EXT_SUPPORTED_VERSIONS, "03030403"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    n = with_ext(&m, pre, i, mk(TERN_EXT_SUPPORTED_VERSIONS, "00"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    n = with_ext(&m, pre, i, mk(TERN_EXT_SUPPORTED_VERSIONS, "0203040000"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    i = find_ext(&m, pre, TERN_EXT_SUPPORTED_GROUPS);
    n = with_ext(&m, pre, i, mk(TERN_EXT_SUPPORTED_GROUPS, "0000"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    n = with_ext(&m, pre, i, mk(TERN_EXT_SUPPORTED_GROUPS, "0003001d00"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    i = find_ext(&m, pre, TERN_EXT_PSK_KEY_EXCHANGE_MODES);
    n = with_ext(&m, pre, i, mk(TERN_EXT_PSK_KEY_EXCHANGE_MODES, "00"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    i = find_ext(&m, pre, TERN_EXT_KEY_SHARE);
    n = with_ext(&m, pre, i, mk(TERN_EXT_KEY_SHARE, "0004001d0000"), 1);
    EXPECT_FAIL(CH, g_buf, n, DE);
    /* Two shares for one group. */
    n = with_ext(&m, pre, i, mk(TERN_EXT_KEY_SHARE, "000a001d000101001d000102"), 1);
    EXPECT_FAIL(CH, g_buf, n, IP);
    /* An empty client_shares is allowed (HRR will ask for one). */
    n = with_ext(&m, pre, i, mk(TERN_EXT_KEY_SHARE, "0000"), 1);
    if (EXPECT_OK(CH, g_buf, n) == TERN_OK)
      CHECK_EQ_INT(g_m.ch.ext.key_share_count, 0);
  }
  /* ALPN, cookie, early_data, padding, post_handshake_auth, CA, QUIC. */
  n = with_ext(&m, pre, 0, mk(TERN_EXT_ALPN, "000c02683208687474702f312e31"), 0);
  if (EXPECT_OK(CH, g_buf, n) == TERN_OK) {
    CHECK_EQ_INT(g_m.ch.ext.alpn_count, 2);
    CHECK_MEM(g_m.ch.ext.alpn[1].p, "http/1.1", 8);
  }
  n = with_ext(&m, pre, 0, mk(TERN_EXT_ALPN, "0003030068"), 0);
  EXPECT_FAIL(CH, g_buf, n, DE);
  n = with_ext(&m, pre, 0, mk(TERN_EXT_ALPN, "0000"), 0);
  EXPECT_FAIL(CH, g_buf, n, DE);
  n = with_ext(&m, pre, 0, mk(TERN_EXT_COOKIE, "0000"), 0);
  EXPECT_FAIL(CH, g_buf, n, DE);
  n = with_ext(&m, pre, 0, mk(TERN_EXT_EARLY_DATA, "00"), 0);
  EXPECT_FAIL(CH, g_buf, n, DE);
  n = with_ext(&m, pre, 0, mk(TERN_EXT_POST_HANDSHAKE_AUTH, "00"), 0);
  EXPECT_FAIL(CH, g_buf, n, DE);
  n = with_ext(&m, pre, 0, mk(TERN_EXT_CERTIFICATE_AUTHORITIES, "0002"), 0);
  EXPECT_FAIL(CH, g_buf, n, DE);
  n = with_ext(&m, pre, 0, mk(TERN_EXT_CERTIFICATE_AUTHORITIES, "0004000230"), 0);
  EXPECT_FAIL(CH, g_buf, n, DE);
  n = with_ext(&m, pre, 0, mk(TERN_EXT_PADDING, "000000"), 0);
  if (EXPECT_OK(CH, g_buf, n) == TERN_OK) {
    size_t len;
    CHECK_EQ_INT(g_m.ch.ext.padding_len, 3);
    CHECK_EQ_INT(tern_msg_write_client_hello(&g_m.ch, g_out, sizeof g_out, &len, NULL), TERN_OK);
    CHECK_EQ_INT(len, n + 4);
    CHECK_MEM(g_out + 4, g_buf, n);
  }
  n = with_ext(&m, pre, 0, mk(TERN_EXT_QUIC_TRANSPORT_PARAMETERS, "0104"), 0);
  if (EXPECT_OK(CH, g_buf, n) == TERN_OK)
    CHECK_EQ_INT(g_m.ch.ext.quic_transport_parameters.len, 2);
  n = with_ext(&m, pre, 0, mk(TERN_EXT_CERTIFICATE_AUTHORITIES, "00050003300100"), 0);
  if (EXPECT_OK(CH, g_buf, n) == TERN_OK)
    CHECK_EQ_INT(g_m.ch.ext.certificate_authorities.len, 5);

  /* Header fields. */
  memcpy(b, m.body, m.body_len);
  b[pre - 1] = 1; /* compression [1] */
  EXPECT_FAIL(CH, b, m.body_len, IP);
  {
    /* compression [0, 0] */
    size_t k = pre - 2;
    memcpy(b, m.body, k);
    b[k] = 2;
    b[k + 1] = 0;
    b[k + 2] = 0;
    memcpy(b + k + 3, m.body + pre, m.body_len - pre);
    EXPECT_FAIL(CH, b, m.body_len + 1, IP);
    /* compression [] */
    b[k] = 0;
    memcpy(b + k + 1, m.body + pre, m.body_len - pre);
    EXPECT_FAIL(CH, b, m.body_len - 1, DE);
  }
  {
    /* a 33-byte session id */
    size_t k = 34;
    memcpy(b, m.body, k);
    b[k] = 33;
    memset(b + k + 1, 7, 33);
    memcpy(b + k + 34, m.body + k + 1, m.body_len - k - 1);
    EXPECT_FAIL(CH, b, m.body_len + 33, DE);
    b[k] = 32;
    EXPECT_FAIL(CH, b, m.body_len + 33, DE);
    /* 32 is the most it may have */
    memcpy(b + k + 33, m.body + k + 1, m.body_len - k - 1);
    if (EXPECT_OK(CH, b, m.body_len + 32) == TERN_OK)
      CHECK_EQ_INT(g_m.ch.session_id.len, 32);
  }
  /* cipher_suites: odd length, empty. */
  memcpy(b, m.body, m.body_len);
  b[36] = 5;
  EXPECT_FAIL(CH, b, m.body_len, DE);
  {
    size_t k = 35;
    memcpy(b, m.body, k);
    b[k] = 0;
    b[k + 1] = 0;
    memcpy(b + k + 2, m.body + k + 2 + 6, m.body_len - k - 8);
    EXPECT_FAIL(CH, b, m.body_len - 6, DE);
  }
  /* extensions<8..>: a block of 4 bytes (one empty unknown) */
  {
    rext e = mk(0x7777, "");
    n = join(m.body, pre, &e, 1, g_buf);
    EXPECT_FAIL(CH, g_buf, n, DE);
    rext e2[2] = {mk(0x7777, ""), mk(0x7778, "")};
    n = join(m.body, pre, e2, 2, g_buf);
    EXPECT_OK(CH, g_buf, n);
  }
  /* Extension length past the block. */
  memcpy(b, m.body, m.body_len);
  b[pre + 2 + 3] = 0x20; /* first extension data length 0x0b -> 0x20 */
  EXPECT_FAIL(CH, b, m.body_len, DE);
  /* NULL arguments. */
  {
    uint8_t alert = 0;
    CHECK_EQ_INT(tern_msg_parse_client_hello(NULL, 5, &g_m.ch, &alert), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(alert, TERN_ALERT_INTERNAL_ERROR);
    CHECK_EQ_INT(tern_msg_parse_client_hello(m.body, m.body_len, NULL, &alert), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_msg_parse_client_hello(m.body, m.body_len, &g_m.ch, NULL), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_msg_parse_client_hello(NULL, 0, &g_m.ch, &alert), TERN_ERR_MALFORMED);
    CHECK_EQ_INT(alert, TERN_ALERT_DECODE_ERROR);
  }
  free(m.p);
}

/* Many unknown extensions: duplicates are found past the kept ones. */
static void test_many_unknown(void) {
  msg m = load(F_1RTT, "client ClientHello message (step 02)");
  size_t pre = ch_prefix(m.body);
  size_t n = split(m.body, m.body_len, pre, g_e), len;
  size_t base = n;
  for (size_t i = 0; i < 30; i++)
    g_e[n++] = mk((uint16_t)(0x4000 + i), "");
  len = join(m.body, pre, g_e, n, g_buf);
  if (EXPECT_OK(TERN_HS_CLIENT_HELLO, g_buf, len) == TERN_OK) {
    CHECK_EQ_INT(g_m.ch.ext.count, base + 30);
    CHECK_EQ_INT(g_m.ch.ext.n_order, TERN_MSG_MAX_EXTS);
    CHECK_EQ_INT(g_m.ch.ext.unknown_count, 33);
    CHECK_EQ_INT(g_m.ch.ext.n_unknown, TERN_MSG_MAX_UNKNOWN);
  }
  g_e[n++] = mk(0x4000 + 29, "");
  len = join(m.body, pre, g_e, n, g_buf);
  EXPECT_FAIL(TERN_HS_CLIENT_HELLO, g_buf, len, TERN_ALERT_ILLEGAL_PARAMETER);
  free(m.p);
}

static void test_server_messages_errors(void) {
  msg sh = load(F_1RTT, "server ServerHello message (step 06)");
  msg ee = load(F_1RTT, "server EncryptedExtensions message (step 15)");
  msg cr = load(F_AUTH, "server CertificateRequest message (step 16)");
  msg ct = load(F_1RTT, "server Certificate message (step 16)");
  msg nst = load(F_1RTT, "server NewSessionTicket message (step 49)");
  const uint8_t IP = TERN_ALERT_ILLEGAL_PARAMETER, DE = TERN_ALERT_DECODE_ERROR;
  size_t pre = sh_prefix(sh.body), n;
  uint8_t b[1024];

  /* ServerHello. */
  n = with_ext(&sh, pre, 0, mk(TERN_EXT_SERVER_NAME, ""), 0);
  EXPECT_FAIL(TERN_HS_SERVER_HELLO, g_buf, n, IP);
  n = with_ext(&sh, pre, 0, mk(TERN_EXT_COOKIE, "000101"), 0);
  EXPECT_FAIL(TERN_HS_SERVER_HELLO, g_buf, n, IP);
  n = with_ext(&sh, pre, 0, mk(TERN_EXT_SUPPORTED_VERSIONS, "0304"), 0);
  EXPECT_FAIL(TERN_HS_SERVER_HELLO, g_buf, n, IP);
  n = with_ext(&sh, pre, 0, mk(0x5555, ""), 0);
  EXPECT_OK(TERN_HS_SERVER_HELLO, g_buf, n);
  n = with_ext(&sh, pre, 0, mk(TERN_EXT_PRE_SHARED_KEY, "000000"), 0);
  EXPECT_FAIL(TERN_HS_SERVER_HELLO, g_buf, n, DE);
  n = with_ext(&sh, pre, find_ext(&sh, pre, TERN_EXT_SUPPORTED_VERSIONS),
               mk(TERN_EXT_SUPPORTED_VERSIONS, "020304"), 1);
  EXPECT_FAIL(TERN_HS_SERVER_HELLO, g_buf, n, DE);
  memcpy(b, sh.body, sh.body_len);
  b[pre - 1] = 1; /* legacy_compression_method */
  EXPECT_FAIL(TERN_HS_SERVER_HELLO, b, sh.body_len, IP);
  {
    rext one = mk(0x5555, "");
    n = join(sh.body, pre, &one, 1, g_buf); /* extensions<6..> */
    EXPECT_FAIL(TERN_HS_SERVER_HELLO, g_buf, n, DE);
  }

  /* EncryptedExtensions. */
  n = with_ext(&ee, 0, 0, mk(TERN_EXT_KEY_SHARE, "001d000101"), 0);
  EXPECT_FAIL(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n, IP);
  n = with_ext(&ee, 0, 0, mk(TERN_EXT_SIGNATURE_ALGORITHMS, "00020804"), 0);
  EXPECT_FAIL(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n, IP);
  n = with_ext(&ee, 0, 0, mk(TERN_EXT_ALPN, "000302683202"), 0);
  EXPECT_FAIL(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n, DE);
  n = with_ext(&ee, 0, 0, mk(TERN_EXT_ALPN, "0006026832026833"), 0);
  EXPECT_FAIL(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n, DE);
  n = with_ext(&ee, 0, 0, mk(TERN_EXT_ALPN, "0003026832"), 0);
  if (EXPECT_OK(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n) == TERN_OK) {
    CHECK_EQ_INT(g_m.ee.ext.alpn_count, 1);
    CHECK_MEM(g_m.ee.ext.alpn[0].p, "h2", 2);
  }
  n = with_ext(&ee, 0, 0, mk(TERN_EXT_SERVER_NAME, ""), 0);
  EXPECT_FAIL(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n, IP);
  n = with_ext(&ee, 0, find_ext(&ee, 0, TERN_EXT_SERVER_NAME),
               mk(TERN_EXT_SERVER_NAME, "00"), 1);
  EXPECT_FAIL(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n, DE);
  n = with_ext(&ee, 0, 0, mk(TERN_EXT_EARLY_DATA, "00000400"), 0);
  EXPECT_FAIL(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n, DE);
  n = with_ext(&ee, 0, 0, mk(0x001c, "4001"), 0); /* dup unknown */
  EXPECT_FAIL(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n, IP);
  n = with_ext(&ee, 0, 0, mk(0x7a7a, ""), 0); /* unknown: the engine's call */
  EXPECT_OK(TERN_HS_ENCRYPTED_EXTENSIONS, g_buf, n);
  EXPECT_OK(TERN_HS_ENCRYPTED_EXTENSIONS, (const uint8_t *)"\0", 2);

  /* CertificateRequest. */
  pre = 1 + cr.body[0];
  n = with_ext(&cr, pre, 0, mk(TERN_EXT_SUPPORTED_GROUPS, "0002001d"), 0);
  EXPECT_FAIL(TERN_HS_CERTIFICATE_REQUEST, g_buf, n, IP);
  n = with_ext(&cr, pre, 0, mk(TERN_EXT_OID_FILTERS, "0008035504030003020100"), 0);
  EXPECT_FAIL(TERN_HS_CERTIFICATE_REQUEST, g_buf, n, DE);
  n = with_ext(&cr, pre, 0, mk(TERN_EXT_OID_FILTERS, "000703550403000100"), 0);
  if (EXPECT_OK(TERN_HS_CERTIFICATE_REQUEST, g_buf, n) == TERN_OK)
    CHECK_EQ_INT(g_m.cr.ext.oid_filters.len, 7);
  n = with_ext(&cr, pre, 0, mk(TERN_EXT_OID_FILTERS, "0004000100"), 0);
  EXPECT_FAIL(TERN_HS_CERTIFICATE_REQUEST, g_buf, n, DE);
  {
    size_t i = find_ext(&cr, pre, TERN_EXT_SIGNATURE_ALGORITHMS);
    n = with_ext(&cr, pre, i, mk(0x7a7a, ""), 1);
    EXPECT_FAIL(TERN_HS_CERTIFICATE_REQUEST, g_buf, n, TERN_ALERT_MISSING_EXTENSION);
    n = with_ext(&cr, pre, i, mk(TERN_EXT_SIGNATURE_ALGORITHMS, "000208"), 1);
    EXPECT_FAIL(TERN_HS_CERTIFICATE_REQUEST, g_buf, n, DE);
  }

  /* Certificate: entry extensions are an extension block. */
  {
    size_t cl = ct.body_len;
    memcpy(b, ct.body, cl);
    /* body: 00 | 0001b5 | 0001b0 cert | 0000 */
    b[cl - 2] = 0;
    b[cl - 1] = 8;
    memcpy(b + cl, "\x00\x05\x00\x00\x00\x12\x00\x00", 8);
    b[3] = 0xbd; /* list length 0x1b5 + 8 */
    if (EXPECT_OK(TERN_HS_CERTIFICATE, b, cl + 8) == TERN_OK)
      CHECK_EQ_INT(g_m.cert.entries[0].extensions.len, 8);
    memcpy(b + cl, "\x00\x05\x00\x00\x00\x05\x00\x00", 8);
    EXPECT_FAIL(TERN_HS_CERTIFICATE, b, cl + 8, IP);
    memcpy(b + cl, "\x00\x05\x00\x00\x00\x33\x00\x00", 8);
    EXPECT_FAIL(TERN_HS_CERTIFICATE, b, cl + 8, IP);
    /* Two entries, each with status_request: no false duplicate. */
    {
      size_t e1 = cl - 1 - 3; /* one entry: 3 + 0x1b0 + 2 + 8 */
      size_t elen = 3 + 0x1b0 + 2 + 8;
      memcpy(b + cl, "\x00\x05\x00\x00\x00\x12\x00\x00", 8);
      memcpy(b + 4 + elen, b + 4, elen);
      b[1] = (uint8_t)((2 * elen) >> 16);
      b[2] = (uint8_t)((2 * elen) >> 8);
      b[3] = (uint8_t)(2 * elen);
      (void)e1;
      if (EXPECT_OK(TERN_HS_CERTIFICATE, b, 4 + 2 * elen) == TERN_OK)
        CHECK_EQ_INT(g_m.cert.count, 2);
    }
    /* An empty cert_data, an empty list, a context. */
    EXPECT_FAIL(TERN_HS_CERTIFICATE, (const uint8_t *)"\x00\x00\x00\x05\x00\x00\x00\x00\x00", 9, DE);
    if (EXPECT_OK(TERN_HS_CERTIFICATE, (const uint8_t *)"\x02\xab\xcd\x00\x00\x00", 6) == TERN_OK) {
      CHECK_EQ_INT(g_m.cert.count, 0);
      CHECK_EQ_INT(g_m.cert.context.len, 2);
    }
  }

  /* NewSessionTicket. */
  {
    size_t np = 8 + 1 + nst.body[8];
    np += 2 + rd16(nst.body + np);
    n = with_ext(&nst, np, 0, mk(TERN_EXT_SERVER_NAME, ""), 0);
    EXPECT_FAIL(TERN_HS_NEW_SESSION_TICKET, g_buf, n, IP);
    n = with_ext(&nst, np, 0, mk(TERN_EXT_EARLY_DATA, ""), 1);
    EXPECT_FAIL(TERN_HS_NEW_SESSION_TICKET, g_buf, n, DE);
    n = with_ext(&nst, np, 0, mk(TERN_EXT_EARLY_DATA, "0000000000"), 1);
    EXPECT_FAIL(TERN_HS_NEW_SESSION_TICKET, g_buf, n, DE);
    /* ticket<1..>: empty ticket */
    memcpy(b, nst.body, 11);
    b[11] = 0; b[12] = 0;
    b[13] = 0; b[14] = 0;
    EXPECT_FAIL(TERN_HS_NEW_SESSION_TICKET, b, 15, DE);
    b[12] = 1; b[13] = 0xaa; b[14] = 0; b[15] = 0;
    EXPECT_OK(TERN_HS_NEW_SESSION_TICKET, b, 16);
  }

  /* KeyUpdate, CertificateVerify. */
  EXPECT_OK(TERN_HS_KEY_UPDATE, (const uint8_t *)"\x01", 1);
  CHECK_EQ_INT(g_m.ku, 1);
  EXPECT_FAIL(TERN_HS_KEY_UPDATE, (const uint8_t *)"\x02", 1, IP);
  EXPECT_FAIL(TERN_HS_KEY_UPDATE, (const uint8_t *)"\x00\x00", 2, DE);
  EXPECT_FAIL(TERN_HS_KEY_UPDATE, (const uint8_t *)"", 0, DE);
  EXPECT_FAIL(TERN_HS_CERTIFICATE_VERIFY, (const uint8_t *)"\x08\x04\x00\x02\x01", 5, DE);
  EXPECT_OK(TERN_HS_CERTIFICATE_VERIFY, (const uint8_t *)"\x08\x04\x00\x00", 4);

  free(sh.p);
  free(ee.p);
  free(cr.p);
  free(ct.p);
  free(nst.p);
}

/* ------------------------------------------------------------------ */
/* Writers and helpers                                                 */
/* ------------------------------------------------------------------ */

static void test_writers(void) {
  msg m = load(F_1RTT, "client ClientHello message (step 02)");
  uint8_t alert;
  size_t len, need, partial;
  tern_client_hello ch;
  uint8_t hdr[4];
  uint8_t type;
  size_t body_len;

  CHECK_EQ_INT(tern_msg_parse_client_hello(m.body, m.body_len, &ch, &alert), TERN_OK);
  CHECK_EQ_INT(tern_msg_write_client_hello(&ch, g_out, sizeof g_out, &need, &partial), TERN_OK);
  CHECK_EQ_INT(partial, need);
  for (size_t cap = 0; cap < need; cap++)
    CHECK_EQ_INT(tern_msg_write_client_hello(&ch, g_out, cap, &len, NULL),
                 TERN_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(tern_msg_write_client_hello(&ch, NULL, 0, &len, NULL), TERN_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(tern_msg_write_client_hello(NULL, g_out, 10, &len, NULL), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_msg_write_client_hello(&ch, NULL, 10, &len, NULL), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_msg_write_client_hello(&ch, g_out, 10, NULL, NULL), TERN_ERR_INVALID_ARG);

  /* Fields the message cannot carry. */
  {
    tern_client_hello bad = ch;
    uint8_t sid[33] = {0};
    bad.session_id.p = sid;
    bad.session_id.len = 33;
    CHECK_EQ_INT(tern_msg_write_client_hello(&bad, g_out, sizeof g_out, &len, NULL), TERN_ERR_INVALID_ARG);
    bad = ch;
    bad.cipher_suites.n = 0;
    CHECK_EQ_INT(tern_msg_write_client_hello(&bad, g_out, sizeof g_out, &len, NULL), TERN_ERR_INVALID_ARG);
    bad = ch;
    bad.cipher_suites.n = TERN_MSG_MAX_LIST + 1;
    CHECK_EQ_INT(tern_msg_write_client_hello(&bad, g_out, sizeof g_out, &len, NULL), TERN_ERR_INVALID_ARG);
    bad = ch;
    bad.random = NULL;
    CHECK_EQ_INT(tern_msg_write_client_hello(&bad, g_out, sizeof g_out, &len, NULL), TERN_ERR_INVALID_ARG);
    bad = ch;
    bad.ext.order[1] = bad.ext.order[0];
    CHECK_EQ_INT(tern_msg_write_client_hello(&bad, g_out, sizeof g_out, &len, NULL), TERN_ERR_INVALID_ARG);
    bad = ch;
    bad.ext.order[0] = 0x9999; /* unknown type with no unknown[] entry */
    CHECK_EQ_INT(tern_msg_write_client_hello(&bad, g_out, sizeof g_out, &len, NULL), TERN_ERR_INVALID_ARG);
    bad = ch;
    bad.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_OID_FILTERS);
    bad.ext.order[bad.ext.n_order++] = TERN_EXT_OID_FILTERS;
    CHECK_EQ_INT(tern_msg_write_client_hello(&bad, g_out, sizeof g_out, &len, NULL), TERN_ERR_INVALID_ARG);
    bad = ch;
    bad.ext.key_shares[0].key_exchange.len = 0;
    CHECK_EQ_INT(tern_msg_write_client_hello(&bad, g_out, sizeof g_out, &len, NULL), TERN_ERR_INVALID_ARG);
    bad = ch;
    bad.ext.padding_len = 70000;
    bad.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_PADDING);
    bad.ext.order[bad.ext.n_order++] = TERN_EXT_PADDING;
    {
      static uint8_t big[80000];
      CHECK_EQ_INT(tern_msg_write_client_hello(&bad, big, sizeof big, &len, NULL), TERN_ERR_LIMIT);
    }
  }

  /* Without order: the present extensions in tern_ext_id order. */
  {
    tern_client_hello c2 = ch;
    c2.ext.n_order = 0;
    CHECK_EQ_INT(tern_msg_write_client_hello(&c2, g_out, sizeof g_out, &len, NULL), TERN_OK);
    CHECK_EQ_INT(len, need - 5 - 4 - 6); /* the three unknown ones dropped */
    CHECK_EQ_INT(tern_msg_parse_client_hello(g_out + 4, len - 4, &g_m.ch, &alert), TERN_OK);
    CHECK_EQ_INT(g_m.ch.ext.present, ch.ext.present);
    CHECK_EQ_INT(g_m.ch.ext.order[0], TERN_EXT_SERVER_NAME);
    CHECK_EQ_INT(g_m.ch.ext.order[g_m.ch.ext.n_order - 1], TERN_EXT_KEY_SHARE);
  }

  /* A ClientHello with a PSK, built by hand. */
  {
    tern_client_hello c3 = ch;
    static const uint8_t ident[] = "ticket";
    uint8_t binder[48];
    c3.ext.n_order = 0;
    c3.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY);
    c3.ext.n_psk = 2;
    c3.ext.psk[0].identity.p = ident;
    c3.ext.psk[0].identity.len = 6;
    c3.ext.psk[0].obfuscated_ticket_age = 1234;
    c3.ext.psk[1] = c3.ext.psk[0];
    c3.ext.binders[0].p = NULL;
    c3.ext.binders[0].len = 32;
    c3.ext.binders[1].p = NULL;
    c3.ext.binders[1].len = 48;
    CHECK_EQ_INT(tern_msg_write_client_hello(&c3, g_out, sizeof g_out, &len, &partial), TERN_OK);
    CHECK_EQ_INT(partial, len - 2 - 33 - 49);
    memset(binder, 0x5a, sizeof binder);
    CHECK_EQ_INT(tern_msg_set_binder(g_out, len, partial, 1, binder, 48), TERN_OK);
    CHECK_EQ_INT(tern_msg_set_binder(g_out, len, partial, 1, binder, 32), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_msg_set_binder(g_out, len, partial, 2, binder, 48), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_msg_parse_client_hello(g_out + 4, len - 4, &g_m.ch, &alert), TERN_OK);
    CHECK_EQ_INT(g_m.ch.ext.psk_count, 2);
    CHECK_EQ_INT(g_m.ch.ext.psk_binders_offset + 4, partial);
    CHECK_EQ_INT(g_m.ch.ext.binders[1].len, 48);
    CHECK_MEM(g_m.ch.ext.binders[1].p, binder, 48);
    CHECK_EQ_INT(g_m.ch.ext.binders[0].p[0], 0);
    c3.ext.binders[1].len = 31;
    CHECK_EQ_INT(tern_msg_write_client_hello(&c3, g_out, sizeof g_out, &len, &partial), TERN_ERR_INVALID_ARG);
  }

  /* A ServerHello built by hand, and one it cannot carry. */
  {
    tern_server_hello s;
    uint8_t rnd[32], pub[32];
    memset(&s, 0, sizeof s);
    memset(rnd, 1, 32);
    memset(pub, 2, 32);
    s.legacy_version = TERN_LEGACY_VERSION;
    s.random = rnd;
    s.cipher_suite = 0x1301;
    s.ext.present = TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_VERSIONS) | TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE);
    s.ext.selected_version = TERN_TLS13;
    s.ext.key_shares[0].group = 0x001d;
    s.ext.key_shares[0].key_exchange.p = pub;
    s.ext.key_shares[0].key_exchange.len = 32;
    CHECK_EQ_INT(tern_msg_write_server_hello(&s, g_out, sizeof g_out, &len), TERN_OK);
    CHECK_EQ_INT(len, 4 + 2 + 32 + 1 + 2 + 1 + 2 + 40 + 6);
    CHECK_EQ_INT(tern_msg_parse_server_hello(g_out + 4, len - 4, &g_m.sh, &alert), TERN_OK);
    CHECK_EQ_INT(g_m.sh.ext.key_shares[0].group, 0x001d);
    s.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_COOKIE);
    CHECK_EQ_INT(tern_msg_write_server_hello(&s, g_out, sizeof g_out, &len), TERN_ERR_INVALID_ARG);
    s.ext.present = 0;
    CHECK_EQ_INT(tern_msg_write_server_hello(&s, g_out, sizeof g_out, &len), TERN_ERR_INVALID_ARG);
  }

  /* Finished, KeyUpdate, EndOfEarlyData, CertificateRequest. */
  {
    uint8_t vd[48];
    memset(vd, 3, sizeof vd);
    CHECK_EQ_INT(tern_msg_write_finished(vd, 48, g_out, sizeof g_out, &len), TERN_OK);
    CHECK_EQ_INT(len, 52);
    CHECK_EQ_INT(g_out[0], TERN_HS_FINISHED);
    CHECK_EQ_INT(g_out[3], 48);
    CHECK_EQ_INT(tern_msg_write_finished(vd, 0, g_out, sizeof g_out, &len), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_msg_write_finished(vd, 65, g_out, sizeof g_out, &len), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_msg_write_key_update(1, g_out, sizeof g_out, &len), TERN_OK);
    CHECK_EQ_INT(len, 5);
    CHECK_MEM(g_out, "\x18\x00\x00\x01\x01", 5);
    CHECK_EQ_INT(tern_msg_write_key_update(2, g_out, sizeof g_out, &len), TERN_ERR_INVALID_ARG);
    CHECK_EQ_INT(tern_msg_write_key_update(0, g_out, 4, &len), TERN_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(tern_msg_write_end_of_early_data(g_out, sizeof g_out, &len), TERN_OK);
    CHECK_EQ_INT(len, 4);
    CHECK_MEM(g_out, "\x05\x00\x00\x00", 4);
    tern_certificate_request cr;
    memset(&cr, 0, sizeof cr);
    CHECK_EQ_INT(tern_msg_write_certificate_request(&cr, g_out, sizeof g_out, &len), TERN_ERR_INVALID_ARG);
  }

  /* Header, message_hash, tables. */
  CHECK_EQ_INT(tern_msg_header(m.p, 3, &type, &body_len), TERN_WANT_READ);
  CHECK_EQ_INT(tern_msg_header(NULL, 4, &type, &body_len), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_msg_header(m.p, 4, &type, &body_len), TERN_OK);
  CHECK_EQ_INT(type, 1);
  CHECK_EQ_INT(body_len, 0xc0);
  CHECK_EQ_INT(tern_msg_message_hash_header(hdr, 32), TERN_OK);
  CHECK_MEM(hdr, "\xfe\x00\x00\x20", 4);
  CHECK_EQ_INT(tern_msg_message_hash_header(hdr, 0), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_msg_message_hash_header(hdr, 65), TERN_ERR_INVALID_ARG);
  CHECK_EQ_INT(tern_msg_ext_id(TERN_EXT_KEY_SHARE), TERN_EXT_ID_KEY_SHARE);
  CHECK_EQ_INT(tern_msg_ext_id(TERN_EXT_QUIC_TRANSPORT_PARAMETERS), TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS);
  CHECK_EQ_INT(tern_msg_ext_id(0xff01), -1);
  CHECK_EQ_INT(tern_msg_ext_allowed(TERN_HS_CERTIFICATE, 0), 0);
  CHECK_EQ_INT(tern_msg_ext_allowed(TERN_HS_FINISHED, 0), 0);
  CHECK(tern_msg_ext_allowed(TERN_HS_SERVER_HELLO, 1) & TERN_EXT_BIT(TERN_EXT_ID_COOKIE));
  CHECK(!(tern_msg_ext_allowed(TERN_HS_SERVER_HELLO, 0) & TERN_EXT_BIT(TERN_EXT_ID_COOKIE)));
  CHECK(tern_msg_ext_allowed(TERN_HS_ENCRYPTED_EXTENSIONS, 0) &
        TERN_EXT_BIT(TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS));
  CHECK(!tern_msg_list_has(NULL, 1));
  CHECK(!tern_msg_find_key_share(NULL, 1, NULL));
  {
    uint8_t hrr_hash[32];
    unhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c", hrr_hash, 32);
    CHECK_MEM(tern_msg_hrr_random, hrr_hash, 32);
  }
  free(m.p);
}

/* CompressedCertificate (RFC 8879 §4) and compress_certificate (§3). */
static void test_compressed_certificate(void) {
  /* brotli, 0x000123 bytes once uncompressed, 5 compressed bytes */
  static const uint8_t wire[] = {25, 0, 0, 13, 0x00, 0x02, 0x00, 0x01, 0x23,
                                 0x00, 0x00, 0x05, 1, 2, 3, 4, 5};
  msg m = {(uint8_t *)wire, sizeof wire, 25, wire + 4, sizeof wire - 4};
  uint8_t alert, empty[] = {0, 1, 0, 0, 9, 0, 0, 0};
  tern_client_hello ch;
  tern_certificate_request cr;
  size_t len;

  roundtrip(&m);
  truncations(&m);
  mutations(&m);
  CHECK_EQ_INT(parse_any(25, m.body, m.body_len, &g_m, &alert), TERN_OK);
  CHECK_EQ_INT(g_m.cc.algorithm, TERN_CERT_COMPRESSION_BROTLI);
  CHECK_EQ_INT(g_m.cc.uncompressed_length, 0x123);
  CHECK_EQ_INT(g_m.cc.compressed.len, 5);
  /* compressed_certificate_message<1..2^24-1>: never empty */
  EXPECT_FAIL(25, empty, sizeof empty, TERN_ALERT_DECODE_ERROR);
  g_m.cc.compressed.len = 0;
  CHECK_EQ_INT(tern_msg_write_compressed_certificate(&g_m.cc, g_out, sizeof g_out, &len),
               TERN_ERR_INVALID_ARG);
  g_m.cc.compressed.len = 5;
  g_m.cc.uncompressed_length = 0x1000000;
  CHECK_EQ_INT(tern_msg_write_compressed_certificate(&g_m.cc, g_out, sizeof g_out, &len),
               TERN_ERR_INVALID_ARG);

  /* the extension: written and read back in a ClientHello and a
     CertificateRequest, refused in EncryptedExtensions */
  {
    msg hello = load(F_1RTT, "client ClientHello message (step 02)");
    uint8_t buf[1024];
    CHECK_EQ_INT(tern_msg_parse_client_hello(hello.body, hello.body_len, &ch, &alert), TERN_OK);
    ch.ext.n_order = 0;
    ch.ext.n_unknown = 0;
    ch.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_COMPRESS_CERTIFICATE);
    ch.ext.cert_compression.n = ch.ext.cert_compression.count = 3;
    ch.ext.cert_compression.v[0] = 2;
    ch.ext.cert_compression.v[1] = 1;
    ch.ext.cert_compression.v[2] = 3;
    CHECK_EQ_INT(tern_msg_write_client_hello(&ch, buf, sizeof buf, &len, NULL), TERN_OK);
    CHECK_EQ_INT(tern_msg_parse_client_hello(buf + 4, len - 4, &ch, &alert), TERN_OK);
    CHECK(ch.ext.present & TERN_EXT_BIT(TERN_EXT_ID_COMPRESS_CERTIFICATE));
    CHECK_EQ_INT(ch.ext.cert_compression.count, 3);
    CHECK(tern_msg_list_has(&ch.ext.cert_compression, 3));
    free(hello.p);

    memset(&cr, 0, sizeof cr);
    cr.ext.present = TERN_EXT_BIT(TERN_EXT_ID_SIGNATURE_ALGORITHMS) |
                     TERN_EXT_BIT(TERN_EXT_ID_COMPRESS_CERTIFICATE);
    cr.ext.signature_algorithms.n = cr.ext.signature_algorithms.count = 1;
    cr.ext.signature_algorithms.v[0] = 0x0403;
    cr.ext.cert_compression.n = cr.ext.cert_compression.count = 1;
    cr.ext.cert_compression.v[0] = 1;
    CHECK_EQ_INT(tern_msg_write_certificate_request(&cr, buf, sizeof buf, &len), TERN_OK);
    CHECK_EQ_INT(tern_msg_parse_certificate_request(buf + 4, len - 4, &cr, &alert), TERN_OK);
    CHECK_EQ_INT(cr.ext.cert_compression.v[0], 1);
    {
      /* algorithms<2..2^8-2>: an odd length, and an empty list */
      static const uint8_t good[] = {0, 0, 0x0f, 0, 27, 0, 3, 2, 0, 1,
                                     0, 13, 0, 4, 0, 2, 4, 3};
      static const uint8_t odd[] = {0, 0, 0x10, 0, 27, 0, 4, 3, 0, 1, 0,
                                    0, 13, 0, 4, 0, 2, 4, 3};
      static const uint8_t none[] = {0, 0, 0x0d, 0, 27, 0, 1, 0,
                                     0, 13, 0, 4, 0, 2, 4, 3};
      static const uint8_t in_ee_ok[] = {0, 7, 0, 27, 0, 3, 2, 0, 1};
      EXPECT_OK(TERN_HS_CERTIFICATE_REQUEST, good, sizeof good);
      EXPECT_FAIL(TERN_HS_CERTIFICATE_REQUEST, odd, sizeof odd, TERN_ALERT_DECODE_ERROR);
      EXPECT_FAIL(TERN_HS_CERTIFICATE_REQUEST, none, sizeof none, TERN_ALERT_DECODE_ERROR);
      EXPECT_FAIL(TERN_HS_ENCRYPTED_EXTENSIONS, in_ee_ok, sizeof in_ee_ok,
                  TERN_ALERT_ILLEGAL_PARAMETER);
    }
  }
}

int main(void) {
  test_compressed_certificate();
  test_client_hello_1rtt();
  test_server_hello_1rtt();
  test_encrypted_extensions();
  test_certificate_messages();
  test_new_session_ticket();
  test_hrr();
  test_resumed_0rtt();
  test_client_auth_hellos();
  test_client_hello_errors();
  test_many_unknown();
  test_server_messages_errors();
  test_writers();
  return check_report();
}
