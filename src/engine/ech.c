/*
 * engine/ech.c - engine layer: Encrypted ClientHello (RFC 9849), see
 * ech.h. The server runs in shared mode: it decrypts ClientHelloOuter's
 * encrypted_client_hello with its HPKE key (crypto/hpke.c), rebuilds
 * ClientHelloInner (ech_outer_extensions expanded) and hands the machine
 * that hello instead; the rest of the handshake does not know. The client
 * builds ClientHelloInner as usual, then wraps it.
 *
 * Every read here goes through the bounded reader below: a length that
 * overruns its parent, or bytes left over, fail the whole parse.
 */
#include "engine/ech.h"

#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "crypto/hpke.h"
#include "engine/handshake.h"

/* ------------------------------------------------------------------ */
/* A bounded reader                                                    */
/* ------------------------------------------------------------------ */

typedef struct rd {
  const uint8_t *p;
  size_t len, off;
  int bad;
} rd;

static rd rd_of(const uint8_t *p, size_t len) {
  rd r = {p, len, 0, 0};
  return r;
}

/* An n-byte big-endian integer (n <= 3); 0 and bad when short. */
static uint32_t rd_u(rd *r, size_t n) {
  uint32_t v = 0;
  if (r->bad || r->len - r->off < n) {
    r->bad = 1;
    return 0;
  }
  for (size_t i = 0; i < n; i++) v = v << 8 | r->p[r->off++];
  return v;
}

/* A vector with an n-byte length prefix, its length in [min, max]. */
static tern_span rd_vec(rd *r, size_t n, size_t min, size_t max) {
  tern_span s = {NULL, 0};
  size_t l = rd_u(r, n);
  if (r->bad || l < min || l > max || r->len - r->off < l) {
    r->bad = 1;
    return s;
  }
  s.p = r->p + r->off;
  s.len = l;
  r->off += l;
  return s;
}

static int rd_done(const rd *r) { return !r->bad && r->off == r->len; }

static void put16(uint8_t *p, size_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* ------------------------------------------------------------------ */
/* ECHConfig and ECHConfigList (§4)                                    */
/* ------------------------------------------------------------------ */

/* §6.1.7: public_name is a DNS name (LDH labels of 1..63 bytes, no
   trailing dot) and not an IPv4 address; the last label is not numeric. */
static int valid_public_name(tern_span n) {
  size_t label = 0, last_start = 0;
  int last_numeric = 1;
  if (n.len == 0 || n.len > 255) return 0;
  for (size_t i = 0; i < n.len; i++) {
    uint8_t ch = n.p[i];
    if (ch == '.') {
      if (label == 0 || n.p[i - 1] == '-') return 0;
      label = 0;
      last_start = i + 1;
      continue;
    }
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '-'))
      return 0;
    if (ch == '-' && label == 0) return 0;
    if (++label > 63) return 0;
  }
  if (label == 0 || n.p[n.len - 1] == '-') return 0;
  for (size_t i = last_start; i < n.len; i++)
    if (n.p[i] < '0' || n.p[i] > '9') last_numeric = 0;
  return !last_numeric;
}

int tern_ech_config_parse(const uint8_t *p, size_t len, tern_ech_config *out) {
  rd r = rd_of(p, len), c, suites, exts;
  uint16_t version, seen[32];
  size_t n_seen = 0;
  tern_span contents;
  if (p == NULL || out == NULL) return TERN_ERR_MALFORMED;
  memset(out, 0, sizeof *out);
  version = (uint16_t)rd_u(&r, 2);
  contents = rd_vec(&r, 2, 0, 0xffff);
  if (!rd_done(&r)) return TERN_ERR_MALFORMED;
  out->raw.p = p;
  out->raw.len = len;
  if (version != TERN_ECH_VERSION) return TERN_ERR_UNSUPPORTED;
  c = rd_of(contents.p, contents.len);
  out->config_id = (uint8_t)rd_u(&c, 1);
  out->kem = (uint16_t)rd_u(&c, 2);
  out->public_key = rd_vec(&c, 2, 1, 0xffff);
  {
    tern_span s = rd_vec(&c, 2, 4, 0xfffc);
    if (s.len % 4) c.bad = 1;
    suites = rd_of(s.p, s.len);
  }
  out->maximum_name_length = (uint8_t)rd_u(&c, 1);
  out->public_name = rd_vec(&c, 1, 1, 255);
  {
    tern_span e = rd_vec(&c, 2, 0, 0xffff);
    exts = rd_of(e.p, e.len);
  }
  if (!rd_done(&c)) return TERN_ERR_MALFORMED;
  while (suites.off < suites.len) {
    uint16_t kdf = (uint16_t)rd_u(&suites, 2), aead = (uint16_t)rd_u(&suites, 2);
    if (out->n_suites < TERN_ECH_MAX_SUITES) {
      out->kdf[out->n_suites] = kdf;
      out->aead[out->n_suites++] = aead;
    }
  }
  /* §4.2: no type twice; a mandatory one (high bit) is one we do not know */
  while (!exts.bad && exts.off < exts.len) {
    uint16_t type = (uint16_t)rd_u(&exts, 2);
    (void)rd_vec(&exts, 2, 0, 0xffff);
    for (size_t i = 0; i < n_seen; i++)
      if (seen[i] == type) return TERN_ERR_MALFORMED;
    if (n_seen == 32) return TERN_ERR_MALFORMED;
    seen[n_seen++] = type;
    if (type & 0x8000) out->mandatory_unknown = 1;
  }
  if (!rd_done(&exts) || !rd_done(&suites)) return TERN_ERR_MALFORMED;
  if (!valid_public_name(out->public_name)) return TERN_ERR_MALFORMED;
  return TERN_OK;
}

/* Calls each entry of the list's framing; TERN_ERR_MALFORMED when the
   framing is wrong. fn may stop the walk by returning 1. */
static int list_walk(const uint8_t *list, size_t len,
                     int (*fn)(const uint8_t *p, size_t n, void *u), void *u) {
  rd r = rd_of(list, len), l;
  tern_span body;
  if (list == NULL) return TERN_ERR_MALFORMED;
  body = rd_vec(&r, 2, 4, 0xffff);
  if (!rd_done(&r)) return TERN_ERR_MALFORMED;
  l = rd_of(body.p, body.len);
  while (l.off < l.len) {
    size_t start = l.off;
    (void)rd_u(&l, 2);
    (void)rd_vec(&l, 2, 0, 0xffff);
    if (l.bad) return TERN_ERR_MALFORMED;
    if (fn != NULL && fn(l.p + start, l.off - start, u)) return TERN_OK;
  }
  return TERN_OK;
}

int tern_ech_config_list_check(const uint8_t *list, size_t len) {
  return list_walk(list, len, NULL, NULL);
}

typedef struct pick_state {
  tern_ech_config *out;
  uint16_t *kdf, *aead;
  int found, malformed;
} pick_state;

int tern_ech_config_usable(const tern_ech_config *cfg, uint16_t *kdf, uint16_t *aead) {
  if (cfg->mandatory_unknown ||
      !tern_hpke_public_key_valid(cfg->kem, cfg->public_key.p, cfg->public_key.len))
    return 0;
  for (size_t i = 0; i < cfg->n_suites; i++) {
    tern_hpke_suite s = {cfg->kem, cfg->kdf[i], cfg->aead[i]};
    if (cfg->aead[i] == TERN_HPKE_AEAD_EXPORT_ONLY || !tern_hpke_suite_supported(&s)) continue;
    *kdf = cfg->kdf[i];
    *aead = cfg->aead[i];
    return 1;
  }
  return 0;
}

static int pick_one(const uint8_t *p, size_t n, void *u) {
  pick_state *st = u;
  tern_ech_config cfg;
  int rc = tern_ech_config_parse(p, n, &cfg);
  if (rc == TERN_ERR_UNSUPPORTED) return 0; /* §4: clients ignore other versions */
  if (rc != TERN_OK) {
    st->malformed = 1;
    return 0;
  }
  if (!tern_ech_config_usable(&cfg, st->kdf, st->aead)) return 0;
  *st->out = cfg;
  st->found = 1;
  return 1;
}

int tern_ech_config_list_pick(const uint8_t *list, size_t len, tern_ech_config *out,
                              uint16_t *kdf, uint16_t *aead) {
  pick_state st = {out, kdf, aead, 0, 0};
  /* the whole list's framing first: the walk stops at the first usable
     config, and what follows it must not be garbage either */
  int rc = list_walk(list, len, NULL, NULL);
  if (rc == TERN_OK) rc = list_walk(list, len, pick_one, &st);
  if (rc != TERN_OK) return rc;
  if (st.found) return TERN_OK;
  return st.malformed ? TERN_ERR_MALFORMED : TERN_ERR_UNSUPPORTED;
}

/* info = "tls ech" || 0x00 || ECHConfig (§6.1, §7.1), into a heap buffer. */
static uint8_t *make_info(const uint8_t *config, size_t config_len, size_t *info_len) {
  static const uint8_t label[8] = {'t', 'l', 's', ' ', 'e', 'c', 'h', 0};
  uint8_t *info = OPENSSL_malloc(sizeof label + config_len);
  if (info == NULL) return NULL;
  memcpy(info, label, sizeof label);
  memcpy(info + sizeof label, config, config_len);
  *info_len = sizeof label + config_len;
  return info;
}

/* ------------------------------------------------------------------ */
/* Shared helpers                                                      */
/* ------------------------------------------------------------------ */

/* The unknown extension of this type in e, or NULL. */
static const tern_ext_raw *find_unknown(const tern_extensions *e, uint16_t type) {
  for (size_t i = 0; i < e->n_unknown; i++)
    if (e->unknown[i].type == type) return &e->unknown[i];
  return NULL;
}

/*
 * The extension block of a ClientHello body (already parsed, so well
 * formed; still bounded here): *exts, without its length prefix.
 */
static int ch_extensions(const uint8_t *body, size_t len, tern_span *exts) {
  rd r = rd_of(body, len);
  (void)rd_u(&r, 2);
  if (r.len - r.off < 32) return TERN_ERR_MALFORMED;
  r.off += 32;
  (void)rd_vec(&r, 1, 0, 32);
  (void)rd_vec(&r, 2, 2, 0xfffe);
  (void)rd_vec(&r, 1, 1, 255);
  *exts = rd_vec(&r, 2, 0, 0xffff);
  return rd_done(&r) ? TERN_OK : TERN_ERR_MALFORMED;
}

/*
 * accept_confirmation (§7.2) / hrr_accept_confirmation (§7.2.1):
 * HKDF-Expand-Label(HKDF-Extract(0, inner_random), label, th, 8).
 */
static int confirmation(const tern_hash *h, const uint8_t *inner_random, const char *label,
                        const uint8_t *th, uint8_t out[8]) {
  uint8_t prk[TERN_MAX_HASH_LEN];
  int rc = tern_hkdf_extract(h, NULL, 0, inner_random, 32, prk);
  if (rc == TERN_OK) rc = tern_hkdf_expand_label(h, prk, h->len, label, th, h->len, out, 8);
  OPENSSL_cleanse(prk, sizeof prk);
  return rc;
}

void tern_ech_ext_order(tern_extensions *e) {
  /* the known types in tern_ext_id order */
  static const uint16_t known[] = {
      TERN_EXT_SERVER_NAME, TERN_EXT_SUPPORTED_GROUPS, TERN_EXT_SIGNATURE_ALGORITHMS,
      TERN_EXT_ALPN, TERN_EXT_PADDING, TERN_EXT_PRE_SHARED_KEY, TERN_EXT_EARLY_DATA,
      TERN_EXT_SUPPORTED_VERSIONS, TERN_EXT_COOKIE, TERN_EXT_PSK_KEY_EXCHANGE_MODES,
      TERN_EXT_CERTIFICATE_AUTHORITIES, TERN_EXT_OID_FILTERS, TERN_EXT_POST_HANDSHAKE_AUTH,
      TERN_EXT_SIGNATURE_ALGORITHMS_CERT, TERN_EXT_KEY_SHARE,
      TERN_EXT_QUIC_TRANSPORT_PARAMETERS, TERN_EXT_COMPRESS_CERTIFICATE};
  e->n_order = 0;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    int id = tern_msg_ext_id(known[i]);
    if (known[i] == TERN_EXT_PRE_SHARED_KEY || id < 0) continue;
    if ((e->present & TERN_EXT_BIT(id)) && e->n_order < TERN_MSG_MAX_EXTS)
      e->order[e->n_order++] = known[i];
  }
  for (size_t i = 0; i < e->n_unknown && e->n_order < TERN_MSG_MAX_EXTS; i++)
    e->order[e->n_order++] = e->unknown[i].type;
  if ((e->present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)) && e->n_order < TERN_MSG_MAX_EXTS)
    e->order[e->n_order++] = TERN_EXT_PRE_SHARED_KEY;
}

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

/* ECHClientHello of type outer (§5); decode_error when it does not parse,
   illegal_parameter for type inner or an unknown type (§7). */
typedef struct ech_outer {
  uint16_t kdf, aead;
  uint8_t config_id;
  tern_span enc, payload;
} ech_outer;

static int parse_ech_outer(tern_conn *c, tern_span data, ech_outer *o) {
  rd r = rd_of(data.p, data.len);
  uint32_t type = rd_u(&r, 1);
  if (r.bad) return tern_conn_fail(c, TERN_ALERT_DECODE_ERROR, "empty encrypted_client_hello");
  if (type == 1)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "encrypted_client_hello of type inner in a ClientHello from the "
                          "network (RFC 9849 §7)");
  if (type != 0)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "encrypted_client_hello of unknown type %u", (unsigned)type);
  o->kdf = (uint16_t)rd_u(&r, 2);
  o->aead = (uint16_t)rd_u(&r, 2);
  o->config_id = (uint8_t)rd_u(&r, 1);
  o->enc = rd_vec(&r, 2, 0, 0xffff);
  o->payload = rd_vec(&r, 2, 1, 0xffff);
  if (!rd_done(&r))
    return tern_conn_fail(c, TERN_ALERT_DECODE_ERROR, "malformed encrypted_client_hello");
  return TERN_OK;
}

/*
 * Rebuilds ClientHelloInner (with its 4-byte header) from
 * EncodedClientHelloInner pt[0..pt_len) and ClientHelloOuter's body
 * (§5.1), in linear time: the outer extensions are scanned once, forward.
 * The result goes to c->msg_plain, then c->msg and c->parsed->ch.
 */
static int rebuild_inner(tern_conn *c, const uint8_t *pt, size_t pt_len, const uint8_t *outer,
                         size_t outer_len, const tern_client_hello *och) {
  rd r = rd_of(pt, pt_len), ex, oext;
  tern_span sid, suites, comp, exts, outer_exts;
  uint8_t *m, alert = 0;
  size_t cap = pt_len + outer_len + 64, n = 0, ext_start;
  int seen_outer_exts = 0, rc;

  (void)rd_u(&r, 2);
  if (r.len - r.off < 32) r.bad = 1;
  else r.off += 32;
  sid = rd_vec(&r, 1, 0, 32);
  suites = rd_vec(&r, 2, 2, 0xfffe);
  comp = rd_vec(&r, 1, 1, 255);
  exts = rd_vec(&r, 2, 0, 0xffff);
  if (r.bad) return tern_conn_fail(c, TERN_ALERT_DECODE_ERROR, "EncodedClientHelloInner truncated");
  (void)suites;
  (void)comp;
  /* §5.1: everything after client_hello is padding, all zeros */
  for (size_t i = r.off; i < pt_len; i++)
    if (pt[i] != 0)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                            "EncodedClientHelloInner padding is not zero");
  if (sid.len != 0)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "EncodedClientHelloInner with a legacy_session_id");
  if (ch_extensions(outer, outer_len, &outer_exts) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "ClientHelloOuter no longer parses");
  m = OPENSSL_malloc(cap);
  if (m == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  /* header, then version and random, the outer's session id, suites and
     compression as encoded */
  n = 4;
  memcpy(m + n, pt, 34);
  n += 34;
  m[n++] = (uint8_t)och->session_id.len;
  if (och->session_id.len) memcpy(m + n, och->session_id.p, och->session_id.len);
  n += och->session_id.len;
  {
    size_t from = 34 + 1, to = (size_t)(exts.p - pt) - 2;
    memcpy(m + n, pt + from, to - from);
    n += to - from;
  }
  ext_start = n;
  n += 2;
  ex = rd_of(exts.p, exts.len);
  oext = rd_of(outer_exts.p, outer_exts.len);
  while (ex.off < ex.len) {
    size_t start = ex.off;
    uint16_t type = (uint16_t)rd_u(&ex, 2);
    tern_span d = rd_vec(&ex, 2, 0, 0xffff);
    if (ex.bad) break;
    if (type != TERN_EXT_ECH_OUTER_EXTS) {
      memcpy(m + n, ex.p + start, ex.off - start);
      n += ex.off - start;
      continue;
    }
    {
      rd refs = rd_of(d.p, d.len);
      tern_span list = rd_vec(&refs, 1, 2, 254);
      if (!rd_done(&refs) || list.len % 2) {
        rc = tern_conn_fail(c, TERN_ALERT_DECODE_ERROR, "malformed ech_outer_extensions");
        goto fail;
      }
      if (seen_outer_exts++) {
        rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER, "two ech_outer_extensions");
        goto fail;
      }
      for (size_t i = 0; i < list.len; i += 2) {
        uint16_t want = (uint16_t)(list.p[i] << 8 | list.p[i + 1]);
        int found = 0;
        if (want == TERN_EXT_ECH) {
          rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                              "ech_outer_extensions references encrypted_client_hello");
          goto fail;
        }
        /* forward only: order kept, nothing referenced twice (§5.1) */
        while (!found && oext.off < oext.len) {
          size_t os = oext.off;
          uint16_t ot = (uint16_t)rd_u(&oext, 2);
          (void)rd_vec(&oext, 2, 0, 0xffff);
          if (oext.bad) break;
          if (ot == want) {
            memcpy(m + n, oext.p + os, oext.off - os);
            n += oext.off - os;
            found = 1;
          }
        }
        if (!found) {
          rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                              "ech_outer_extensions references extension %u missing from "
                              "ClientHelloOuter, or out of order, or twice", want);
          goto fail;
        }
      }
    }
  }
  if (ex.bad) {
    rc = tern_conn_fail(c, TERN_ALERT_DECODE_ERROR, "EncodedClientHelloInner extensions malformed");
    goto fail;
  }
  if (n - ext_start - 2 > 0xffff) {
    rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER, "ClientHelloInner too long");
    goto fail;
  }
  put16(m + ext_start, n - ext_start - 2);
  m[0] = TERN_HS_CLIENT_HELLO;
  m[1] = (uint8_t)((n - 4) >> 16);
  m[2] = (uint8_t)((n - 4) >> 8);
  m[3] = (uint8_t)(n - 4);
  /* the inner hello replaces the outer one for the rest of the handshake */
  if (c->msg_plain != NULL) OPENSSL_clear_free(c->msg_plain, c->msg_plain_len);
  c->msg_plain = m;
  c->msg_plain_len = cap;
  c->msg = m;
  c->msg_len = n;
  if (tern_msg_parse_client_hello(m + 4, n - 4, &c->parsed->ch, &alert) != TERN_OK)
    return tern_conn_fail(c, alert, "ClientHelloInner does not parse");
  return TERN_OK;
fail:
  OPENSSL_clear_free(m, cap);
  return rc;
}

/* §7.1: ClientHelloInner has an inner ECH extension and offers TLS 1.3 only. */
static int check_inner(tern_conn *c) {
  const tern_client_hello *ch = &c->parsed->ch;
  const tern_ext_raw *x = find_unknown(&ch->ext, TERN_EXT_ECH);
  const tern_u16_list *v = &ch->ext.supported_versions;
  if (x == NULL || x->data.len != 1 || x->data.p[0] != 1)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ClientHelloInner without an inner encrypted_client_hello");
  if (find_unknown(&ch->ext, TERN_EXT_ECH_OUTER_EXTS) != NULL)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ech_outer_extensions in ClientHelloInner");
  if (!(ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_VERSIONS)))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ClientHelloInner without supported_versions");
  for (size_t i = 0; i + 1 < v->raw.len; i += 2)
    if ((uint16_t)(v->raw.p[i] << 8 | v->raw.p[i + 1]) <= 0x0303)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                            "ClientHelloInner offers TLS 1.2 or below");
  return TERN_OK;
}

/* Opens ech.payload under ctx with ClientHelloOuterAAD (§5.2) and rebuilds
   the inner hello. Returns TERN_OK, TERN_ERR_DECRYPT (not opened; c not
   failed) or a failure of c. */
static int open_and_rebuild(tern_conn *c, tern_hpke_ctx *ctx, const ech_outer *o) {
  const uint8_t *body = c->msg + 4;
  size_t body_len = c->msg_len - 4, off = (size_t)(o->payload.p - body), pt_len;
  uint8_t *aad, *pt;
  tern_client_hello *och;
  int rc;
  if (o->payload.len < TERN_HPKE_TAG_LEN) return TERN_ERR_DECRYPT;
  aad = OPENSSL_malloc(body_len);
  pt = OPENSSL_malloc(o->payload.len);
  och = OPENSSL_malloc(sizeof *och);
  if (aad == NULL || pt == NULL || och == NULL) {
    OPENSSL_free(aad);
    OPENSSL_free(pt);
    OPENSSL_free(och);
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  }
  memcpy(aad, body, body_len);
  memset(aad + off, 0, o->payload.len);
  pt_len = o->payload.len - TERN_HPKE_TAG_LEN;
  rc = tern_hpke_open(ctx, aad, body_len, o->payload.p, o->payload.len, pt);
  if (rc == TERN_OK) {
    /* the outer hello stays readable for its session id and extensions:
       keep a copy of it, the inner one takes c->msg */
    memcpy(aad, body, body_len);
    *och = c->parsed->ch;
    {
      /* re-point the outer parse at the copy */
      uint8_t alert = 0;
      if (tern_msg_parse_client_hello(aad, body_len, och, &alert) != TERN_OK)
        rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "ClientHelloOuter no longer parses");
    }
    if (rc == TERN_OK) rc = rebuild_inner(c, pt, pt_len, aad, body_len, och);
    if (rc == TERN_OK) rc = check_inner(c);
  } else {
    rc = TERN_ERR_DECRYPT;
  }
  OPENSSL_clear_free(pt, o->payload.len);
  OPENSSL_clear_free(aad, body_len);
  OPENSSL_free(och);
  return rc;
}

/* Keeps the outer server_name for tern_conn_ech_outer_name. */
static void keep_outer_name(tern_conn *c) {
  const tern_span *sn = &c->parsed->ch.ext.server_name;
  c->ech->outer_name[0] = 0;
  if ((c->parsed->ch.ext.present & TERN_EXT_BIT(TERN_EXT_ID_SERVER_NAME)) &&
      sn->len < sizeof c->ech->outer_name) {
    memcpy(c->ech->outer_name, sn->p, sn->len);
    c->ech->outer_name[sn->len] = 0;
  }
}

int tern_ech_server_ch1(tern_conn *c) {
  const tern_ext_raw *x;
  ech_outer o;
  int rc;
  if (c->cfg->n_ech_keys == 0) return TERN_OK; /* no ECH: an unknown extension */
  if (find_unknown(&c->parsed->ch.ext, TERN_EXT_ECH_OUTER_EXTS) != NULL)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ech_outer_extensions in ClientHelloOuter (RFC 9849 §5.1)");
  x = find_unknown(&c->parsed->ch.ext, TERN_EXT_ECH);
  if (x == NULL) return TERN_OK;
  if ((rc = parse_ech_outer(c, x->data, &o)) != TERN_OK) return rc;
  if (tern_conn_ech(c) == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  keep_outer_name(c);
  c->ech_status = TERN_ECH_REJECTED;
  /* §7.1, method 1: the keys whose config_id matches */
  for (size_t i = 0; i < c->cfg->n_ech_keys; i++) {
    const tern_ech_key *k = &c->cfg->ech_keys[i];
    tern_ech_config cfg;
    tern_hpke_suite s;
    int suite_ok = 0;
    uint8_t *info;
    size_t info_len = 0;
    if (tern_ech_config_parse(k->config, k->config_len, &cfg) != TERN_OK ||
        cfg.config_id != o.config_id)
      continue;
    for (size_t j = 0; j < cfg.n_suites; j++)
      suite_ok |= cfg.kdf[j] == o.kdf && cfg.aead[j] == o.aead;
    s.kem = cfg.kem;
    s.kdf = o.kdf;
    s.aead = o.aead;
    if (!suite_ok || !tern_hpke_suite_supported(&s) || o.aead == TERN_HPKE_AEAD_EXPORT_ONLY)
      continue;
    info = make_info(k->config, k->config_len, &info_len);
    if (info == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
    rc = tern_hpke_setup_base_r_prepared(&c->ech->hpke, &s, o.enc.p, o.enc.len, k->pkey, k->pk,
                                         info, info_len);
    OPENSSL_free(info);
    if (rc != TERN_OK) {
      tern_hpke_ctx_clear(&c->ech->hpke);
      continue;
    }
    rc = open_and_rebuild(c, &c->ech->hpke, &o);
    if (rc == TERN_ERR_DECRYPT) {
      tern_hpke_ctx_clear(&c->ech->hpke);
      continue;
    }
    if (rc != TERN_OK) return rc;
    c->ech_status = TERN_ECH_ACCEPTED;
    c->ech->config_id = o.config_id;
    c->ech->kdf = o.kdf;
    c->ech->aead = o.aead;
    return TERN_OK;
  }
  /* rejected (unknown config_id, decryption failure, GREASE): the
     handshake goes on with ClientHelloOuter (§7.1) */
  return TERN_OK;
}

int tern_ech_server_ch2(tern_conn *c) {
  const tern_ext_raw *x;
  ech_outer o;
  int rc;
  if (c->ech_status != TERN_ECH_ACCEPTED) return TERN_OK; /* §7.1.1: as usual */
  if (find_unknown(&c->parsed->ch.ext, TERN_EXT_ECH_OUTER_EXTS) != NULL)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ech_outer_extensions in ClientHelloOuter (RFC 9849 §5.1)");
  x = find_unknown(&c->parsed->ch.ext, TERN_EXT_ECH);
  if (x == NULL)
    return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION,
                          "second ClientHelloOuter without encrypted_client_hello");
  if ((rc = parse_ech_outer(c, x->data, &o)) != TERN_OK) return rc;
  if (o.kdf != c->ech->kdf || o.aead != c->ech->aead || o.config_id != c->ech->config_id ||
      o.enc.len != 0)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "second ClientHelloOuter changes its ECH suite or config_id, or "
                          "carries an enc");
  rc = open_and_rebuild(c, &c->ech->hpke, &o);
  if (rc == TERN_ERR_DECRYPT)
    return tern_conn_fail(c, TERN_ALERT_DECRYPT_ERROR,
                          "second ClientHelloOuter does not decrypt (RFC 9849 §7.1.1)");
  return rc;
}

int tern_ech_server_confirm_sh(tern_conn *c, uint8_t *out, size_t len) {
  uint8_t th[TERN_MAX_HASH_LEN];
  if (c->ech_status != TERN_ECH_ACCEPTED) return TERN_OK;
  if (len < 4 + 2 + 32)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "ServerHello too short");
  memset(out + 4 + 2 + 24, 0, 8);
  if (tern_transcript_peek(&c->hs->transcript, out, len, th) != TERN_OK ||
      confirmation(c->suite->hash, c->hs->client_random, "ech accept confirmation", th,
                   out + 4 + 2 + 24) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "ECH accept confirmation failed");
  return TERN_OK;
}

void tern_ech_server_hrr_ext(tern_conn *c, tern_extensions *e) {
  static const uint8_t zeros[8];
  if (c->ech_status != TERN_ECH_ACCEPTED) return;
  e->unknown[0].type = TERN_EXT_ECH;
  e->unknown[0].data.p = zeros;
  e->unknown[0].data.len = 8;
  e->n_unknown = e->unknown_count = 1;
  e->order[e->n_order++] = TERN_EXT_ECH;
}

int tern_ech_server_confirm_hrr(tern_conn *c, uint8_t *out, size_t len) {
  uint8_t th[TERN_MAX_HASH_LEN];
  if (c->ech_status != TERN_ECH_ACCEPTED) return TERN_OK;
  if (tern_transcript_peek(&c->hs->transcript, out, len, th) != TERN_OK ||
      confirmation(c->suite->hash, c->hs->client_random, "hrr ech accept confirmation", th,
                   out + len - 8) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "ECH HRR confirmation failed");
  return TERN_OK;
}

int tern_ech_server_ee(tern_conn *c, tern_extensions *e, uint8_t *buf, size_t cap) {
  size_t n = 2;
  if (c->ech_status != TERN_ECH_REJECTED) return TERN_OK;
  for (size_t i = 0; i < c->cfg->n_ech_keys; i++) {
    const tern_ech_key *k = &c->cfg->ech_keys[i];
    if (!k->retry) continue;
    if (n + k->config_len > cap || n + k->config_len > 0xffff + 2) break;
    memcpy(buf + n, k->config, k->config_len);
    n += k->config_len;
  }
  if (n == 2) return TERN_OK; /* no retry key: nothing to send */
  put16(buf, n - 2);
  e->unknown[e->n_unknown].type = TERN_EXT_ECH;
  e->unknown[e->n_unknown].data.p = buf;
  e->unknown[e->n_unknown].data.len = n;
  e->n_unknown++;
  e->unknown_count = e->n_unknown;
  tern_ech_ext_order(e);
  return TERN_OK;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

void tern_ech_client_inner_ext(tern_conn *c, tern_extensions *e) {
  static const uint8_t inner[1] = {1};
  if (c->ech_status != TERN_ECH_OFFERED && c->ech_status != TERN_ECH_ACCEPTED) return;
  e->unknown[e->n_unknown].type = TERN_EXT_ECH;
  e->unknown[e->n_unknown].data.p = inner;
  e->unknown[e->n_unknown].data.len = 1;
  e->n_unknown++;
  e->unknown_count = e->n_unknown;
}

int tern_ech_client_grease_ext(tern_conn *c, tern_extensions *e) {
  size_t n = 0, payload = 160 + TERN_HPKE_TAG_LEN;
  int rc;
  if (!c->cfg->ech_grease || c->ech_status != TERN_ECH_NONE) return TERN_OK;
  if (tern_conn_ech(c) == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  if (c->ech->grease_len == 0 || c->used_hrr) {
    /* outer, HKDF-SHA256 / AES-128-GCM, a random config_id and an X25519-
       sized enc (empty after a HelloRetryRequest, as a real client's),
       a random payload of a plausible length */
    uint8_t id = c->ech->grease_len ? c->ech->grease_ext[5] : 0;
    size_t enc = c->used_hrr ? 0 : 32;
    c->ech->grease_ext[n++] = 0;
    put16(c->ech->grease_ext + n, TERN_HPKE_KDF_SHA256);
    put16(c->ech->grease_ext + n + 2, TERN_HPKE_AEAD_AES128GCM);
    n += 4;
    rc = c->ech->grease_len ? TERN_OK : tern_conn_random(c, &id, 1);
    c->ech->grease_ext[n++] = id;
    put16(c->ech->grease_ext + n, enc);
    n += 2;
    if (rc == TERN_OK && enc) rc = tern_conn_random(c, c->ech->grease_ext + n, enc);
    n += enc;
    put16(c->ech->grease_ext + n, payload);
    n += 2;
    if (rc == TERN_OK) rc = tern_conn_random(c, c->ech->grease_ext + n, payload);
    if (rc != TERN_OK) return rc;
    c->ech->grease_len = n + payload;
  }
  e->unknown[e->n_unknown].type = TERN_EXT_ECH;
  e->unknown[e->n_unknown].data.p = c->ech->grease_ext;
  e->unknown[e->n_unknown].data.len = c->ech->grease_len;
  e->n_unknown++;
  e->unknown_count = e->n_unknown;
  tern_ech_ext_order(e);
  return TERN_OK;
}

/*
 * EncodedClientHelloInner (§5.1) from the inner hello's bytes: no session
 * id, key_share replaced by ech_outer_extensions(key_share) (it is the
 * same in the outer hello), then the padding of §6.1.3. Returns the
 * length written to enc, 0 on failure.
 */
static size_t encode_inner(const tern_conn *c, const tern_ech_config *cfg, const uint8_t *inner,
                           size_t inner_len, uint8_t *enc, size_t cap) {
  rd r = rd_of(inner + 4, inner_len - 4), ex;
  tern_span sid, suites, comp, exts;
  size_t n = 0, ext_start, pad, name_len = 0;
  int has_name = 0;
  (void)rd_u(&r, 2);
  r.off += 32;
  sid = rd_vec(&r, 1, 0, 32);
  suites = rd_vec(&r, 2, 2, 0xfffe);
  comp = rd_vec(&r, 1, 1, 255);
  exts = rd_vec(&r, 2, 0, 0xffff);
  (void)sid;
  if (!rd_done(&r) || cap < inner_len + 256 + 32) return 0;
  memcpy(enc, inner + 4, 34);
  n = 34;
  enc[n++] = 0;
  memcpy(enc + n, suites.p - 2, suites.len + 2);
  n += suites.len + 2;
  memcpy(enc + n, comp.p - 1, comp.len + 1);
  n += comp.len + 1;
  ext_start = n;
  n += 2;
  ex = rd_of(exts.p, exts.len);
  while (ex.off < ex.len) {
    size_t start = ex.off;
    uint16_t type = (uint16_t)rd_u(&ex, 2);
    (void)rd_vec(&ex, 2, 0, 0xffff);
    if (ex.bad) return 0;
    if (type == TERN_EXT_KEY_SHARE) {
      static const uint8_t ref[7] = {0xfd, 0x00, 0x00, 0x03, 0x02, 0x00, 0x33};
      memcpy(enc + n, ref, sizeof ref);
      n += sizeof ref;
    } else {
      memcpy(enc + n, ex.p + start, ex.off - start);
      n += ex.off - start;
    }
    if (type == TERN_EXT_SERVER_NAME) has_name = 1;
  }
  put16(enc + ext_start, n - ext_start - 2);
  /* §6.1.3 */
  if (has_name) {
    name_len = strlen(c->server_name);
    pad = cfg->maximum_name_length > name_len ? cfg->maximum_name_length - name_len : 0;
  } else {
    pad = (size_t)cfg->maximum_name_length + 9;
  }
  pad += 31 - ((n + pad - 1) % 32);
  if (n + pad > cap) return 0;
  memset(enc + n, 0, pad);
  return n + pad;
}

/*
 * §6.1.2: a GREASE pre_shared_key for ClientHelloOuter, shaped as the
 * inner one: per identity one of the same length, per binder random bytes
 * of the same length. The identities, and offsets added to the inner
 * obfuscated_ticket_ages, come from the HPKE context's exporter: the
 * second ClientHelloOuter after a HelloRetryRequest repeats the
 * identities and moves the ages by the time elapsed, as a real resumption
 * would, while an observer cannot tell either from random. *buf (the
 * caller frees it) holds the bytes e points into.
 */
static int grease_psk(tern_conn *c, tern_extensions *e, uint8_t **buf) {
  static const uint8_t label[] = "tern ech grease psk";
  size_t ids = 0, total, off;
  uint8_t *ages;
  int rc;
  for (size_t i = 0; i < e->n_psk; i++) ids += e->psk[i].identity.len;
  total = ids + 4 * e->n_psk;
  off = total;
  for (size_t i = 0; i < e->n_psk; i++) off += e->binders[i].len;
  *buf = OPENSSL_malloc(off ? off : 1);
  if (*buf == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  rc = c->ech->hpke.aead != NULL && total > 0 && total <= 255 * 32
           ? tern_hpke_export(&c->ech->hpke, label, sizeof label - 1, *buf, total)
           : tern_conn_random(c, *buf, total);
  if (rc == TERN_OK) rc = tern_conn_random(c, *buf + total, off - total);
  if (rc != TERN_OK) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "GREASE PSK failed");
  ages = *buf + ids;
  off = 0;
  for (size_t i = 0; i < e->n_psk; i++) {
    e->psk[i].identity.p = *buf + off;
    off += e->psk[i].identity.len;
    e->psk[i].obfuscated_ticket_age += (uint32_t)ages[4 * i] << 24 |
                                       (uint32_t)ages[4 * i + 1] << 16 |
                                       (uint32_t)ages[4 * i + 2] << 8 | ages[4 * i + 3];
  }
  off = total;
  for (size_t i = 0; i < e->n_psk; i++) {
    e->binders[i].p = *buf + off;
    off += e->binders[i].len;
  }
  return TERN_OK;
}

/* The offset in the ClientHello message msg[0..len) of the last L bytes
   of its encrypted_client_hello extension; 0 when there is none. */
static size_t ech_payload_offset(const uint8_t *msg, size_t len, size_t L) {
  tern_span exts;
  rd r;
  if (len < 4 || ch_extensions(msg + 4, len - 4, &exts) != TERN_OK) return 0;
  r = rd_of(exts.p, exts.len);
  while (!r.bad && r.off < r.len) {
    uint16_t type = (uint16_t)rd_u(&r, 2);
    tern_span d = rd_vec(&r, 2, 0, 0xffff);
    if (!r.bad && type == TERN_EXT_ECH && d.len >= L) return (size_t)(d.p + d.len - L - msg);
  }
  return 0;
}

int tern_ech_client_outer(tern_conn *c, const tern_client_hello *ch, const uint8_t *inner,
                          size_t inner_len, uint8_t *outer, size_t cap, size_t *outer_len) {
  tern_client_hello *o = NULL;
  tern_ech_config cfg;
  uint8_t *encoded = NULL, *ct = NULL, enc[TERN_HPKE_MAX_ENC], ext[8 + TERN_HPKE_MAX_ENC];
  uint8_t *grease = NULL;
  size_t encoded_len, enc_len = 0, L, ext_len, encoded_cap = inner_len + 512, len = 0, n, payload;
  int rc = TERN_OK, first = c->ech->hpke.aead == NULL;

  if (tern_ech_config_parse(c->ech->config, c->ech->config_len, &cfg) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "our ECHConfig no longer parses");
  encoded = OPENSSL_malloc(encoded_cap);
  o = OPENSSL_malloc(sizeof *o);
  if (encoded == NULL || o == NULL) {
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
    goto out;
  }
  encoded_len = encode_inner(c, &cfg, inner, inner_len, encoded, encoded_cap);
  if (encoded_len == 0) {
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot encode ClientHelloInner");
    goto out;
  }
  if (c->ech_status != TERN_ECH_REJECTED && first) {
    tern_hpke_suite s = {cfg.kem, c->ech->kdf, c->ech->aead};
    size_t info_len = 0;
    uint8_t *info = make_info(c->ech->config, c->ech->config_len, &info_len), ikm[32];
    if (info == NULL) {
      rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
      goto out;
    }
    /* the ephemeral key from the connection's random source, like every
       other random byte (tern_config_set_random): GenerateKeyPair is
       DeriveKeyPair of Nsk random bytes (RFC 9180 §7.1.3) */
    rc = tern_conn_random(c, ikm, sizeof ikm);
    if (rc == TERN_OK)
      rc = tern_hpke_setup_base_s(&c->ech->hpke, &s, cfg.public_key.p, cfg.public_key.len, info,
                                  info_len, ikm, sizeof ikm, enc);
    OPENSSL_cleanse(ikm, sizeof ikm);
    OPENSSL_free(info);
    if (rc != TERN_OK) {
      rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "HPKE setup failed: %s",
                          tern_strerror(rc));
      goto out;
    }
    enc_len = tern_hpke_kem_enc_len(cfg.kem);
  }
  L = encoded_len + TERN_HPKE_TAG_LEN;
  /* ECHClientHello, outer: suite, config_id, enc, then the payload's
     length; the payload itself (L zero bytes first) follows in the
     message, as the last bytes of the last extension */
  n = 0;
  ext[n++] = 0;
  put16(ext + n, c->ech->kdf);
  n += 2;
  put16(ext + n, c->ech->aead);
  n += 2;
  ext[n++] = c->ech->config_id;
  put16(ext + n, enc_len);
  n += 2;
  memcpy(ext + n, enc, enc_len);
  n += enc_len;
  ext_len = n;
  ct = OPENSSL_zalloc(ext_len + 2 + L);
  if (ct == NULL) {
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
    goto out;
  }
  memcpy(ct, ext, ext_len);
  put16(ct + ext_len, L);
  /* the outer hello: the inner one's fields, its own random, public_name;
     early_data when the inner hello has it (§6.1, rule 7: a server that
     rejects ECH then skips the early data); a GREASE pre_shared_key in
     place of the inner one's PSKs (§6.1, rule 6; §6.1.2) */
  *o = *ch;
  o->random = c->ech->outer_random;
  if ((ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)) &&
      (rc = grease_psk(c, &o->ext, &grease)) != TERN_OK)
    goto out;
  o->ext.present |= TERN_EXT_BIT(TERN_EXT_ID_SERVER_NAME);
  o->ext.server_name.p = (const uint8_t *)c->ech->public_name;
  o->ext.server_name.len = strlen(c->ech->public_name);
  o->ext.n_unknown = o->ext.unknown_count = 1;
  o->ext.unknown[0].type = TERN_EXT_ECH;
  o->ext.unknown[0].data.p = ct;
  o->ext.unknown[0].data.len = ext_len + 2 + L;
  tern_ech_ext_order(&o->ext);
  {
    size_t partial = 0;
    rc = tern_msg_write_client_hello(o, outer, cap, &len, &partial);
  }
  if (rc != TERN_OK) {
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write ClientHelloOuter: %s",
                        tern_strerror(rc));
    goto out;
  }
  /* the payload is the last L bytes of encrypted_client_hello (the last
     extension but a pre_shared_key): ClientHelloOuterAAD is the body with
     them zero, as written (§5.2) */
  payload = ech_payload_offset(outer, len, L);
  if (payload == 0) {
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "ClientHelloOuter lost its ECH payload");
  } else if (c->ech_status == TERN_ECH_REJECTED) {
    rc = tern_conn_random(c, outer + payload, L);
  } else {
    uint8_t *sealed = OPENSSL_malloc(L);
    if (sealed == NULL) {
      rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
      goto out;
    }
    rc = tern_hpke_seal(&c->ech->hpke, outer + 4, len - 4, encoded, encoded_len, sealed);
    if (rc == TERN_OK) memcpy(outer + payload, sealed, L);
    else rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "HPKE seal failed");
    OPENSSL_free(sealed);
  }
  if (rc == TERN_OK) *outer_len = len;
out:
  if (encoded) OPENSSL_clear_free(encoded, encoded_cap);
  OPENSSL_free(ct);
  OPENSSL_free(o);
  OPENSSL_free(grease);
  return rc;
}

/* Rejected: the handshake goes on with ClientHelloOuter, authenticated
   for public_name (§6.1.6, §6.1.7). */
static int client_rejected(tern_conn *c) {
  c->ech_status = TERN_ECH_REJECTED;
  /* §6.1: early data went under ClientHelloInner's keys, which a server
     on ClientHelloOuter never has: it is rejected, and neither those keys
     nor the early exporter serve again */
  if (c->early_status == TERN_EARLY_DATA_OFFERED) c->early_status = TERN_EARLY_DATA_REJECTED;
  c->early_exporter_ready = 0;
  if (c->ech->outer != NULL) {
    OPENSSL_clear_free(c->hs->ch1, c->hs->ch1_len);
    c->hs->ch1 = c->ech->outer;
    c->hs->ch1_len = c->ech->outer_len;
    c->ech->outer = NULL;
    c->ech->outer_len = 0;
  }
  memcpy(c->server_name, c->ech->public_name, sizeof c->hs->server_name);
  memcpy(c->hs->client_random, c->ech->outer_random, 32);
  return TERN_OK;
}

int tern_ech_client_hrr(tern_conn *c, const tern_server_hello *hrr) {
  const tern_ext_raw *x;
  const tern_suite *s = tern_suite_get(hrr->cipher_suite);
  tern_transcript t;
  uint8_t th[TERN_MAX_HASH_LEN], want[8], *mod;
  size_t off;
  int rc;
  if (c->ech_status != TERN_ECH_OFFERED) return TERN_OK;
  x = find_unknown(&hrr->ext, TERN_EXT_ECH);
  if (x == NULL) return client_rejected(c);
  if (x->data.len != 8)
    return tern_conn_fail(c, TERN_ALERT_DECODE_ERROR,
                          "HelloRetryRequest encrypted_client_hello of %zu bytes", x->data.len);
  /* transcript_hrr_ech_conf: message_hash(ClientHelloInner1) and the
     HelloRetryRequest with the confirmation zeroed (§7.2.1) */
  mod = OPENSSL_malloc(c->msg_len);
  if (mod == NULL || s == NULL) {
    OPENSSL_free(mod);
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  }
  memcpy(mod, c->msg, c->msg_len);
  off = (size_t)(x->data.p - c->msg);
  memset(mod + off, 0, 8);
  rc = tern_transcript_init(&t, s->hash);
  if (rc == TERN_OK) rc = tern_transcript_update(&t, c->hs->ch1, c->hs->ch1_len);
  if (rc == TERN_OK) rc = tern_transcript_hrr_rewrite(&t);
  if (rc == TERN_OK) rc = tern_transcript_update(&t, mod, c->msg_len);
  if (rc == TERN_OK) rc = tern_transcript_current(&t, th);
  tern_transcript_free(&t);
  OPENSSL_free(mod);
  if (rc == TERN_OK) rc = confirmation(s->hash, c->hs->client_random, "hrr ech accept confirmation",
                                       th, want);
  if (rc != TERN_OK) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "ECH confirmation failed");
  if (CRYPTO_memcmp(want, x->data.p, 8) != 0) return client_rejected(c);
  c->ech_status = TERN_ECH_ACCEPTED;
  OPENSSL_clear_free(c->ech->outer, c->ech->outer_len);
  c->ech->outer = NULL;
  c->ech->outer_len = 0;
  return TERN_OK;
}

int tern_ech_client_sh(tern_conn *c, const tern_server_hello *sh, int psk) {
  const tern_suite *s = tern_suite_get(sh->cipher_suite);
  uint8_t th[TERN_MAX_HASH_LEN], want[8], *mod;
  int rc;
  if (c->ech_status != TERN_ECH_OFFERED && c->ech_status != TERN_ECH_ACCEPTED) {
    if (c->ech_status == TERN_ECH_REJECTED && psk)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                            "ServerHello takes a PSK ClientHelloOuter did not offer");
    return TERN_OK;
  }
  if (s == NULL || c->msg_len < 4 + 2 + 32)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "ServerHello unusable");
  mod = OPENSSL_malloc(c->msg_len);
  if (mod == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  memcpy(mod, c->msg, c->msg_len);
  memset(mod + 4 + 2 + 24, 0, 8);
  if (c->used_hrr) {
    rc = tern_transcript_peek(&c->hs->transcript, mod, c->msg_len, th);
  } else {
    tern_transcript t;
    rc = tern_transcript_init(&t, s->hash);
    if (rc == TERN_OK) rc = tern_transcript_update(&t, c->hs->ch1, c->hs->ch1_len);
    if (rc == TERN_OK) rc = tern_transcript_update(&t, mod, c->msg_len);
    if (rc == TERN_OK) rc = tern_transcript_current(&t, th);
    tern_transcript_free(&t);
  }
  OPENSSL_free(mod);
  if (rc == TERN_OK) rc = confirmation(s->hash, c->hs->client_random, "ech accept confirmation", th,
                                       want);
  if (rc != TERN_OK) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "ECH confirmation failed");
  if (CRYPTO_memcmp(want, sh->random + 24, 8) == 0) {
    c->ech_status = TERN_ECH_ACCEPTED;
    OPENSSL_clear_free(c->ech->outer, c->ech->outer_len);
    c->ech->outer = NULL;
    c->ech->outer_len = 0;
    return TERN_OK;
  }
  if (c->ech_status == TERN_ECH_ACCEPTED) /* the HelloRetryRequest accepted */
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ServerHello does not confirm the ECH its HelloRetryRequest accepted");
  if (psk)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ServerHello takes a PSK ClientHelloOuter did not offer");
  return client_rejected(c);
}

int tern_ech_client_ee(tern_conn *c, const tern_extensions *e) {
  const tern_ext_raw *x = find_unknown(e, TERN_EXT_ECH);
  if (x == NULL) return TERN_OK;
  /* §6.2.1: a GREASE client ignores retry_configs */
  if (c->ech_status == TERN_ECH_NONE && c->ech != NULL && c->ech->grease_len) return TERN_OK;
  if (c->ech_status != TERN_ECH_REJECTED)
    return tern_conn_fail(c, TERN_ALERT_UNSUPPORTED_EXTENSION,
                          "EncryptedExtensions carries encrypted_client_hello though ECH "
                          "was accepted or not offered");
  if (tern_ech_config_list_check(x->data.p, x->data.len) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_DECODE_ERROR, "malformed retry_configs");
  OPENSSL_free(c->ech->retry);
  c->ech->retry = OPENSSL_malloc(x->data.len);
  if (c->ech->retry == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  memcpy(c->ech->retry, x->data.p, x->data.len);
  c->ech->retry_len = x->data.len;
  return TERN_OK;
}

void tern_ech_conn_free(tern_conn *c) {
  tern_ech_conn *e = c->ech;
  if (e == NULL) return;
  tern_hpke_ctx_clear(&e->hpke);
  OPENSSL_free(e->config);
  OPENSSL_free(e->retry);
  if (e->outer) OPENSSL_clear_free(e->outer, e->outer_len);
  OPENSSL_clear_free(e, sizeof *e);
  c->ech = NULL;
}
