/*
 * engine/classify.c - engine layer: the one classifier of both roles. It
 * turns each whole handshake message received into the event symbol its
 * role's machine runs, parsing the body on the way (codec/msg.h).
 *
 * What it decides is only what the machines cannot see: which message
 * types a role ever receives, at which encryption levels each may arrive
 * (RFC 9001 §4.1.4; over TCP the post-handshake ones), which are refused
 * in QUIC altogether, which come under the 0-RTT keys (EndOfEarlyData,
 * RFC 8446 §4.5), and which symbol a message is when the RFC's diagrams
 * branch on its contents. Whether a message may come now is the
 * machine's business alone.
 */
#include "engine/classify.h"

#include "engine/handshake.h"

#include <openssl/crypto.h>

#include "crypto/certcomp.h"

#define AT(level) (1u << (level))
#define INITIAL AT(TERN_LEVEL_INITIAL)
#define HANDSHAKE AT(TERN_LEVEL_HANDSHAKE)
#define APPLICATION AT(TERN_LEVEL_APPLICATION)

/* Parses body[0..len) into *m and picks the event; *alert on failure. */
typedef int (*parse_fn)(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                        unsigned char *ev, uint8_t *alert);

/* One message type a role receives. */
typedef struct msg_rule {
  uint8_t type;
  const char *name;
  uint8_t quic_levels; /* levels it may arrive at in QUIC; 0: never in QUIC */
  uint8_t tcp_levels;  /* levels it may arrive at over TCP */
  uint8_t early;       /* it comes under the 0-RTT keys, and nothing else does */
  uint8_t ends_input;  /* a key change follows it: it must end its record
                          (RFC 8446 §5.1: ClientHello, ServerHello,
                          EndOfEarlyData, Finished, KeyUpdate) */
  uint8_t row;         /* after the handshake, counted until the peer's next
                          application data (ROW_*), 0: not counted */
  uint8_t compressed;  /* a CompressedCertificate: parse decompresses it first */
  parse_fn parse;
} msg_rule;

/* What a peer may send after the handshake with no application data
   between, and how many of each (codec/limits.h). */
enum { ROW_KEY_UPDATE = 1, ROW_TICKET = 2, ROW_CERT_REQUEST = 3 };
static const struct {
  unsigned limit;
  const char *what;
} rows[4] = {{0, ""},
             {TERN_MAX_KEY_UPDATES_IN_A_ROW, "KeyUpdates"},
             {TERN_MAX_TICKETS_IN_A_ROW, "NewSessionTickets"},
             {TERN_MAX_CERT_REQUESTS_IN_A_ROW, "CertificateRequests"}};

static int parse_ch(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                    unsigned char *ev, uint8_t *alert) {
  (void)c;
  *ev = TERN_EV_RECV_CH;
  return tern_msg_parse_client_hello(body, len, &m->ch, alert);
}

/* ServerHello, HelloRetryRequest, or ServerHello accepting a PSK. */
static int parse_sh(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                    unsigned char *ev, uint8_t *alert) {
  int rc = tern_msg_parse_server_hello(body, len, &m->sh, alert);
  (void)c;
  *ev = m->sh.is_hrr ? TERN_EV_RECV_HRR
        : (m->sh.ext.present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)) ? TERN_EV_RECV_SH_PSK
                                                                         : TERN_EV_RECV_SH;
  return rc;
}

/* EncryptedExtensions, with early data accepted or not. */
static int parse_ee(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                    unsigned char *ev, uint8_t *alert) {
  int rc = tern_msg_parse_encrypted_extensions(body, len, &m->ee, alert);
  (void)c;
  *ev = rc == TERN_OK && (m->ee.ext.present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA))
            ? TERN_EV_RECV_EE_EARLY
            : TERN_EV_RECV_EE;
  return rc;
}

static int parse_cr(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                    unsigned char *ev, uint8_t *alert) {
  (void)c;
  *ev = TERN_EV_RECV_CR;
  return tern_msg_parse_certificate_request(body, len, &m->cr, alert);
}

/* A server's Certificate: the client reads every one as RECV_CERT (an
   empty one fails in its action). */
static int parse_server_cert(const tern_conn *c, const uint8_t *body, size_t len,
                             tern_parsed *m, unsigned char *ev, uint8_t *alert) {
  (void)c;
  *ev = TERN_EV_RECV_CERT;
  return tern_msg_parse_certificate(body, len, &m->cert, alert);
}

/* A client's Certificate: with a chain, or empty (no certificate). */
static int parse_client_cert(const tern_conn *c, const uint8_t *body, size_t len,
                             tern_parsed *m, unsigned char *ev, uint8_t *alert) {
  int rc = tern_msg_parse_certificate(body, len, &m->cert, alert);
  (void)c;
  *ev = rc == TERN_OK && m->cert.count == 0 ? TERN_EV_RECV_CERT_EMPTY : TERN_EV_RECV_CERT;
  return rc;
}

static int parse_cv(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                    unsigned char *ev, uint8_t *alert) {
  (void)c;
  *ev = TERN_EV_RECV_CV;
  return tern_msg_parse_certificate_verify(body, len, &m->cv, alert);
}

/* Finished: its length is the suite's hash length; before a suite there
   is nothing to parse it with, and the machine refuses it anyway. */
static int parse_fin(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                     unsigned char *ev, uint8_t *alert) {
  *ev = TERN_EV_RECV_FIN;
  if (c->suite == NULL) return TERN_OK;
  return tern_msg_parse_finished(body, len, c->suite->hash->len, &m->fin, alert);
}

static int parse_eoed(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                      unsigned char *ev, uint8_t *alert) {
  (void)c;
  (void)m;
  *ev = TERN_EV_RECV_EOED;
  return tern_msg_parse_end_of_early_data(body, len, alert);
}

static int parse_nst(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                     unsigned char *ev, uint8_t *alert) {
  (void)c;
  *ev = TERN_EV_RECV_NST;
  return tern_msg_parse_new_session_ticket(body, len, &m->nst, alert);
}

static int parse_ku(const tern_conn *c, const uint8_t *body, size_t len, tern_parsed *m,
                    unsigned char *ev, uint8_t *alert) {
  (void)c;
  *ev = TERN_EV_RECV_KU;
  return tern_msg_parse_key_update(body, len, &m->ku_request, alert);
}

/* What a client receives (RFC 8446 §2, §4.6; RFC 9001 §4.1.4, §6). */
static const msg_rule client_rules[] = {
    {TERN_HS_SERVER_HELLO, "ServerHello", INITIAL, INITIAL, 0, 1, 0, 0, parse_sh},
    {TERN_HS_ENCRYPTED_EXTENSIONS, "EncryptedExtensions", HANDSHAKE, HANDSHAKE, 0, 0, 0, 0,
     parse_ee},
    /* over TCP also after the handshake: post-handshake authentication */
    {TERN_HS_CERTIFICATE_REQUEST, "CertificateRequest", HANDSHAKE, HANDSHAKE | APPLICATION, 0, 0,
     ROW_CERT_REQUEST, 0, parse_cr},
    {TERN_HS_CERTIFICATE, "Certificate", HANDSHAKE, HANDSHAKE, 0, 0, 0, 0, parse_server_cert},
    /* RFC 8879 §4: in place of Certificate */
    {TERN_HS_COMPRESSED_CERTIFICATE, "CompressedCertificate", HANDSHAKE, HANDSHAKE, 0, 0, 0, 1,
     parse_server_cert},
    {TERN_HS_CERTIFICATE_VERIFY, "CertificateVerify", HANDSHAKE, HANDSHAKE, 0, 0, 0, 0, parse_cv},
    {TERN_HS_FINISHED, "Finished", HANDSHAKE, HANDSHAKE, 0, 1, 0, 0, parse_fin},
    {TERN_HS_NEW_SESSION_TICKET, "NewSessionTicket", APPLICATION, APPLICATION, 0, 0, ROW_TICKET, 0,
     parse_nst},
    /* RFC 9001 §6: QUIC has its own key update */
    {TERN_HS_KEY_UPDATE, "KeyUpdate", 0, APPLICATION, 0, 1, ROW_KEY_UPDATE, 0, parse_ku},
};

/* What a server receives. */
static const msg_rule server_rules[] = {
    {TERN_HS_CLIENT_HELLO, "ClientHello", INITIAL, INITIAL, 0, 1, 0, 0, parse_ch},
    /* over TCP also after the handshake: post-handshake authentication */
    {TERN_HS_CERTIFICATE, "Certificate", HANDSHAKE, HANDSHAKE | APPLICATION, 0, 0, 0, 0,
     parse_client_cert},
    /* RFC 8879 §4: in place of Certificate, when our CertificateRequest offered it */
    {TERN_HS_COMPRESSED_CERTIFICATE, "CompressedCertificate", HANDSHAKE, HANDSHAKE | APPLICATION,
     0, 0, 0, 1, parse_client_cert},
    {TERN_HS_CERTIFICATE_VERIFY, "CertificateVerify", HANDSHAKE, HANDSHAKE | APPLICATION, 0, 0, 0,
     0, parse_cv},
    {TERN_HS_FINISHED, "Finished", HANDSHAKE, HANDSHAKE | APPLICATION, 0, 1, 0, 0, parse_fin},
    /* RFC 9001 §8.3: no EndOfEarlyData in QUIC */
    {TERN_HS_END_OF_EARLY_DATA, "EndOfEarlyData", 0, HANDSHAKE, 1, 1, 0, 0, parse_eoed},
    {TERN_HS_KEY_UPDATE, "KeyUpdate", 0, APPLICATION, 0, 1, ROW_KEY_UPDATE, 0, parse_ku},
};

/* The rule of type for c's role, or NULL when the role never receives it. */
static const msg_rule *rule_of(const tern_conn *c, uint8_t type) {
  const msg_rule *rules = c->role == TERN_CLIENT ? client_rules : server_rules;
  size_t n = c->role == TERN_CLIENT ? sizeof client_rules / sizeof client_rules[0]
                                    : sizeof server_rules / sizeof server_rules[0];
  for (size_t i = 0; i < n; i++)
    if (rules[i].type == type) return &rules[i];
  return NULL;
}

/*
 * A CompressedCertificate (RFC 8879 §4) into the Certificate body it
 * stands for, in c->msg_plain (freed by the dispatcher after the
 * message): *body and *len then point there. Its bounds are checked
 * before anything is decompressed (codec/limits.h).
 */
static int inflate_certificate(tern_conn *c, const uint8_t **body, size_t *len) {
  tern_compressed_certificate cc;
  uint8_t alert = TERN_ALERT_DECODE_ERROR;
  size_t max = c->cfg->max_message - 4;
  int known = 0, rc;

  if (c->cfg->n_cert_comp == 0)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "CompressedCertificate, but we offered no certificate compression");
  if (tern_msg_parse_compressed_certificate(*body, *len, &cc, &alert) != TERN_OK)
    return tern_conn_fail(c, alert, "malformed CompressedCertificate");
  for (size_t i = 0; i < c->cfg->n_cert_comp; i++) known |= c->cfg->cert_comp[i] == cc.algorithm;
  /* RFC 8879 §4: "MUST be one of the algorithms listed in the peer's
     compress_certificate extension" */
  if (!known)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "CompressedCertificate with algorithm %u, which we did not offer",
                          cc.algorithm);
  rc = tern_certcomp_inflate(&cc, max, &c->msg_plain, &alert);
  if (rc == TERN_ERR_INVALID_ARG)
    return tern_conn_fail(c, alert, "CompressedCertificate announces %u bytes, outside %u..%zu",
                          (unsigned)cc.uncompressed_length, TERN_CERT_COMP_MIN_UNCOMPRESSED, max);
  if (rc == TERN_ERR_LIMIT)
    return tern_conn_fail(c, alert, "CompressedCertificate decompresses to more than its %u bytes",
                          (unsigned)cc.uncompressed_length);
  if (rc != TERN_OK && alert == TERN_ALERT_INTERNAL_ERROR)
    return tern_conn_fail(c, alert, "out of memory");
  if (rc != TERN_OK)
    return tern_conn_fail(c, alert,
                          "CompressedCertificate does not decompress to its %u bytes (%s)",
                          (unsigned)cc.uncompressed_length,
                          rc == TERN_ERR_NOMEM ? "decoder memory" : "corrupt, short or trailing data");
  c->msg_plain_len = cc.uncompressed_length;
  c->cert_comp_recv = cc.algorithm;
  *body = c->msg_plain;
  *len = c->msg_plain_len;
  return TERN_OK;
}

int tern_classify(tern_conn *c, unsigned char *ev) {
  uint8_t type = c->msg[0], alert = TERN_ALERT_DECODE_ERROR;
  const msg_rule *r = rule_of(c, type);
  const uint8_t *body;
  size_t body_len;
  int rc;

  if (r == NULL)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "unexpected handshake message type %u", type);
  if (c->quic && r->quic_levels == 0)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE, "%s is not allowed in QUIC",
                          r->name);
  if (!((c->quic ? r->quic_levels : r->tcp_levels) & AT(c->read_level)))
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "handshake message type %u at the wrong encryption level", type);
  /* RFC 8446 §4.5: under the 0-RTT keys only EndOfEarlyData, and it only there */
  if (c->early_input != r->early)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          c->early_input ? "handshake message type %u under the 0-RTT keys"
                                         : "handshake message type %u not under the 0-RTT keys",
                          type);
  if (r->row && c->read_level == TERN_LEVEL_APPLICATION &&
      ++c->in_a_row[r->row] > rows[r->row].limit)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "more than %u %s in a row without application data",
                          rows[r->row].limit, rows[r->row].what);
  body = c->msg + 4;
  body_len = c->msg_len - 4;
  if (r->compressed && (rc = inflate_certificate(c, &body, &body_len)) != TERN_OK) return rc;
  rc = r->parse(c, body, body_len, c->parsed, ev, &alert);
  if (rc != TERN_OK) return tern_conn_fail(c, alert, "malformed %s", tern_event_name(*ev));
  c->msg_ends_input = r->ends_input;
  return TERN_OK;
}
