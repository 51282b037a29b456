/*
 * codec/msg.c - codec layer: the handshake message and extension codec (RFC
 * 8446 §4, RFC 9001 §8.2); the conventions are at the top of msg.h.
 *
 * Every byte is read through a tern_reader and written through a
 * tern_writer (wire.h): a nested vector is opened as a child reader that
 * cannot run past its parent, and closed only when consumed exactly.
 * Parsers keep one context (msg_ctx) with the alert to report, the body
 * (for offsets into it) and a bitmap of the unknown extension types met
 * in the current block, so that duplicates are found among all of them,
 * not only among the kept ones, in time linear in the block.
 */
#include "codec/msg.h"

#include <string.h>

#include "codec/wire.h"

/* SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3. */
const uint8_t tern_msg_hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
    0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
    0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* The ExtensionType of each tern_ext_id. */
static const uint16_t ext_type_of[TERN_EXT_ID_COUNT] = {
    TERN_EXT_SERVER_NAME,
    TERN_EXT_SUPPORTED_GROUPS,
    TERN_EXT_SIGNATURE_ALGORITHMS,
    TERN_EXT_ALPN,
    TERN_EXT_PADDING,
    TERN_EXT_PRE_SHARED_KEY,
    TERN_EXT_EARLY_DATA,
    TERN_EXT_SUPPORTED_VERSIONS,
    TERN_EXT_COOKIE,
    TERN_EXT_PSK_KEY_EXCHANGE_MODES,
    TERN_EXT_CERTIFICATE_AUTHORITIES,
    TERN_EXT_OID_FILTERS,
    TERN_EXT_POST_HANDSHAKE_AUTH,
    TERN_EXT_SIGNATURE_ALGORITHMS_CERT,
    TERN_EXT_KEY_SHARE,
    TERN_EXT_QUIC_TRANSPORT_PARAMETERS,
    TERN_EXT_COMPRESS_CERTIFICATE,
};

#define BIT(id) TERN_EXT_BIT(TERN_EXT_ID_##id)

/* Propagates a failure: the callee has already set the alert (parsers)
 * or the code is the writer's answer (writers). */
#define TRY(expr)                                                          \
  do {                                                                     \
    int try_rc_ = (expr);                                                  \
    if (try_rc_ != TERN_OK)                                                \
      return try_rc_;                                                      \
  } while (0)

/* ------------------------------------------------------------------ */
/* Tables and helpers                                                  */
/* ------------------------------------------------------------------ */

/* tern_msg_ext_id: see msg.h. */
int tern_msg_ext_id(uint16_t type) {
  switch (type) {
  case TERN_EXT_SERVER_NAME: return TERN_EXT_ID_SERVER_NAME;
  case TERN_EXT_SUPPORTED_GROUPS: return TERN_EXT_ID_SUPPORTED_GROUPS;
  case TERN_EXT_SIGNATURE_ALGORITHMS: return TERN_EXT_ID_SIGNATURE_ALGORITHMS;
  case TERN_EXT_ALPN: return TERN_EXT_ID_ALPN;
  case TERN_EXT_PADDING: return TERN_EXT_ID_PADDING;
  case TERN_EXT_PRE_SHARED_KEY: return TERN_EXT_ID_PRE_SHARED_KEY;
  case TERN_EXT_EARLY_DATA: return TERN_EXT_ID_EARLY_DATA;
  case TERN_EXT_SUPPORTED_VERSIONS: return TERN_EXT_ID_SUPPORTED_VERSIONS;
  case TERN_EXT_COOKIE: return TERN_EXT_ID_COOKIE;
  case TERN_EXT_PSK_KEY_EXCHANGE_MODES: return TERN_EXT_ID_PSK_KEY_EXCHANGE_MODES;
  case TERN_EXT_CERTIFICATE_AUTHORITIES: return TERN_EXT_ID_CERTIFICATE_AUTHORITIES;
  case TERN_EXT_OID_FILTERS: return TERN_EXT_ID_OID_FILTERS;
  case TERN_EXT_POST_HANDSHAKE_AUTH: return TERN_EXT_ID_POST_HANDSHAKE_AUTH;
  case TERN_EXT_SIGNATURE_ALGORITHMS_CERT: return TERN_EXT_ID_SIGNATURE_ALGORITHMS_CERT;
  case TERN_EXT_KEY_SHARE: return TERN_EXT_ID_KEY_SHARE;
  case TERN_EXT_QUIC_TRANSPORT_PARAMETERS: return TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS;
  case TERN_EXT_COMPRESS_CERTIFICATE: return TERN_EXT_ID_COMPRESS_CERTIFICATE;
  default: return -1;
  }
}

/*
 * tern_msg_ext_allowed: see msg.h. The columns of the RFC 8446 §4.2
 * table (CH, SH, HRR, EE, CR, CT, NST) for the extensions this codec
 * knows, plus quic_transport_parameters in CH and EE (RFC 9001 §8.2)
 * and compress_certificate in CH and CR (RFC 8879 §3).
 */
uint32_t tern_msg_ext_allowed(uint8_t msg_type, int is_hrr) {
  switch (msg_type) {
  case TERN_HS_CLIENT_HELLO:
    return (TERN_EXT_BIT(TERN_EXT_ID_COUNT) - 1u) & ~BIT(OID_FILTERS);
  case TERN_HS_SERVER_HELLO:
    if (is_hrr)
      return BIT(KEY_SHARE) | BIT(SUPPORTED_VERSIONS) | BIT(COOKIE);
    return BIT(PRE_SHARED_KEY) | BIT(KEY_SHARE) | BIT(SUPPORTED_VERSIONS);
  case TERN_HS_ENCRYPTED_EXTENSIONS:
    return BIT(SERVER_NAME) | BIT(SUPPORTED_GROUPS) | BIT(ALPN) |
           BIT(EARLY_DATA) | BIT(QUIC_TRANSPORT_PARAMETERS);
  case TERN_HS_CERTIFICATE_REQUEST:
    return BIT(SIGNATURE_ALGORITHMS) | BIT(CERTIFICATE_AUTHORITIES) |
           BIT(OID_FILTERS) | BIT(SIGNATURE_ALGORITHMS_CERT) |
           BIT(COMPRESS_CERTIFICATE);
  case TERN_HS_NEW_SESSION_TICKET:
    return BIT(EARLY_DATA);
  default: /* Certificate entries carry none of the known ones. */
    return 0;
  }
}

/* scan_u16 tells whether value is one of the 2-byte entries of raw.
 * Returns 1 or 0; cannot fail. */
static int scan_u16(tern_span raw, uint16_t value) {
  tern_reader r;
  uint16_t v;

  if (raw.p == NULL)
    return 0;
  tern_reader_init(&r, raw.p, raw.len);
  while (tern_reader_u16(&r, &v) == TERN_OK) {
    if (v == value)
      return 1;
  }
  return 0;
}

/* tern_msg_list_has: see msg.h. A list built by hand (no raw) is
 * scanned through its kept entries. */
int tern_msg_list_has(const tern_u16_list *list, uint16_t value) {
  size_t n, i;

  if (list == NULL)
    return 0;
  n = list->n < TERN_MSG_MAX_LIST ? list->n : TERN_MSG_MAX_LIST;
  for (i = 0; i < n; i++) {
    if (list->v[i] == value)
      return 1;
  }
  return scan_u16(list->raw, value);
}

/* tern_msg_find_key_share: see msg.h. */
int tern_msg_find_key_share(const tern_extensions *ext, uint16_t group,
                            tern_key_share_entry *out) {
  tern_reader r, ke;
  uint16_t g;
  size_t n, i;

  if (ext == NULL || out == NULL)
    return 0;
  if (ext->key_shares_raw.p != NULL) {
    tern_reader_init(&r, ext->key_shares_raw.p, ext->key_shares_raw.len);
    while (tern_reader_u16(&r, &g) == TERN_OK &&
           tern_reader_open_u16(&r, &ke, 1, 0xffff) == TERN_OK) {
      if (g == group) {
        out->group = g;
        out->key_exchange.p = ke.buf;
        out->key_exchange.len = ke.len;
        return 1;
      }
    }
    return 0;
  }
  n = ext->n_key_shares < TERN_MSG_MAX_KEY_SHARES ? ext->n_key_shares
                                                  : TERN_MSG_MAX_KEY_SHARES;
  for (i = 0; i < n; i++) {
    if (ext->key_shares[i].group == group) {
      *out = ext->key_shares[i];
      return 1;
    }
  }
  return 0;
}

/* tern_msg_list_common: see msg.h. */
size_t tern_msg_list_common(const tern_u16_list *list, const uint16_t *wanted,
                            size_t n_wanted, uint16_t *out) {
  size_t n = 0, i;

  if (list == NULL || wanted == NULL || out == NULL)
    return 0;
  for (i = 0; i < n_wanted; i++) {
    if (tern_msg_list_has(list, wanted[i]))
      out[n++] = wanted[i];
  }
  return n;
}

/* tern_msg_key_share_count: see msg.h. */
size_t tern_msg_key_share_count(const tern_extensions *ext, uint16_t group) {
  tern_reader r, ke;
  uint16_t g;
  size_t n = 0, i, kept;

  if (ext == NULL)
    return 0;
  if (ext->key_shares_raw.p != NULL) {
    tern_reader_init(&r, ext->key_shares_raw.p, ext->key_shares_raw.len);
    while (tern_reader_u16(&r, &g) == TERN_OK &&
           tern_reader_open_u16(&r, &ke, 1, 0xffff) == TERN_OK) {
      if (g == group)
        n++;
    }
    return n;
  }
  kept = ext->n_key_shares < TERN_MSG_MAX_KEY_SHARES ? ext->n_key_shares
                                                     : TERN_MSG_MAX_KEY_SHARES;
  for (i = 0; i < kept; i++) {
    if (ext->key_shares[i].group == group)
      n++;
  }
  return n;
}

/* tern_msg_header: see msg.h. */
int tern_msg_header(const uint8_t *p, size_t n, uint8_t *type,
                    size_t *body_len) {
  tern_reader r;
  uint8_t t;
  uint32_t len;

  if (type == NULL || body_len == NULL || (p == NULL && n > 0))
    return TERN_ERR_INVALID_ARG;
  tern_reader_init(&r, p, n);
  /* Fewer than the 4 header bytes: wait for more. */
  if (tern_reader_u8(&r, &t) != TERN_OK || tern_reader_u24(&r, &len) != TERN_OK)
    return TERN_WANT_READ;
  *type = t;
  *body_len = len;
  return TERN_OK;
}

/* tern_msg_message_hash_header: see msg.h (RFC 8446 §4.4.1). */
int tern_msg_message_hash_header(uint8_t out[4], size_t hash_len) {
  tern_writer w;
  int rc;

  if (out == NULL || hash_len == 0 || hash_len > TERN_MSG_MAX_HASH)
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, out, 4);
  /* Both fit in the 4 bytes: the writer's answer is TERN_OK. */
  rc = tern_writer_u8(&w, TERN_HS_MESSAGE_HASH);
  if (rc == TERN_OK)
    rc = tern_writer_u24(&w, (uint32_t)hash_len);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

#define SEEN_BYTES (65536 / 8)

/* What a parse carries along. */
typedef struct msg_ctx {
  const uint8_t *body;      /* the message body, for offsets into it */
  uint8_t type;             /* the HandshakeType being parsed */
  int is_hrr;               /* a ServerHello that is a HelloRetryRequest */
  uint8_t *alert;           /* where the alert goes */
  uint8_t seen[SEEN_BYTES]; /* unknown types met in the current block */
} msg_ctx;

/* ctx_init starts a parse of body as a message of this type. Cannot fail. */
static void ctx_init(msg_ctx *c, const uint8_t *body, uint8_t type,
                     uint8_t *alert) {
  memset(c->seen, 0, sizeof c->seen);
  c->body = body;
  c->type = type;
  c->is_hrr = 0;
  c->alert = alert;
}

/* fail records the alert to send and returns TERN_ERR_MALFORMED. */
static int fail(msg_ctx *c, uint8_t alert) {
  *c->alert = alert;
  return TERN_ERR_MALFORMED;
}

/* decode_error: a length, a bound, a truncation or trailing bytes. */
static int decode_error(msg_ctx *c) {
  return fail(c, TERN_ALERT_DECODE_ERROR);
}

/* illegal: a well-formed value the RFC forbids. */
static int illegal(msg_ctx *c) {
  return fail(c, TERN_ALERT_ILLEGAL_PARAMETER);
}

/* wire turns the result of a wire.h read into a parse result: every
 * failure of the reader is a decode_error. */
static int wire(msg_ctx *c, int rc) {
  return rc == TERN_OK ? TERN_OK : decode_error(c);
}

/* closed checks that a child reader was consumed exactly (decode_error). */
static int closed(msg_ctx *c, const tern_reader *child) {
  return wire(c, tern_reader_close(child));
}

/* span_of returns the bytes a (child) reader covers. Cannot fail. */
static tern_span span_of(const tern_reader *r) {
  tern_span s;

  s.p = r->buf;
  s.len = r->len;
  return s;
}

/* bad_args reports NULL arguments: INVALID_ARG with internal_error. */
static int bad_args(uint8_t *alert) {
  if (alert != NULL)
    *alert = TERN_ALERT_INTERNAL_ERROR;
  return TERN_ERR_INVALID_ARG;
}

/*
 * read_u16_list reads a vector of 2-byte values with a 1- or 2-byte
 * prefix (`prefix`) and a length in [min, max], which must be even.
 * Returns TERN_OK or TERN_ERR_MALFORMED (decode_error).
 */
static int read_u16_list(msg_ctx *c, tern_reader *r, int prefix, size_t min,
                         size_t max, tern_u16_list *l) {
  tern_reader v;
  uint16_t x;

  if (prefix == 1)
    TRY(wire(c, tern_reader_open_u8(r, &v, min, max)));
  else
    TRY(wire(c, tern_reader_open_u16(r, &v, min, max)));
  if (tern_reader_remaining(&v) % 2 != 0)
    return decode_error(c);
  l->raw = span_of(&v);
  l->count = 0;
  l->n = 0;
  /* The length is even: the reads end exactly at its end. */
  while (tern_reader_u16(&v, &x) == TERN_OK) {
    if (l->n < TERN_MSG_MAX_LIST)
      l->v[l->n++] = x;
    l->count++;
  }
  return TERN_OK;
}

/*
 * parse_server_name (RFC 6066 §3):
 *   struct { NameType name_type; select (name_type) {
 *            case host_name: HostName; } name; } ServerName;
 *   opaque HostName<1..2^16-1>;
 *   struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
 * Only host_name exists, so another name_type cannot be parsed
 * (decode_error). One host_name, at most 255 bytes, without NUL.
 */
static int parse_server_name(msg_ctx *c, tern_reader *d, tern_extensions *e) {
  tern_reader list, name;
  uint8_t type, b;
  int have = 0;

  TRY(wire(c, tern_reader_open_u16(d, &list, 1, 0xffff)));
  while (tern_reader_u8(&list, &type) == TERN_OK) {
    TRY(wire(c, tern_reader_open_u16(&list, &name, 1, 0xffff)));
    if (type != 0)
      return decode_error(c);
    /* RFC 6066 §3: no more than one name of the same name_type. */
    if (have)
      return illegal(c);
    have = 1;
    e->server_name = span_of(&name);
    if (tern_reader_remaining(&name) > 255)
      return illegal(c);
    while (tern_reader_u8(&name, &b) == TERN_OK) {
      if (b == 0)
        return illegal(c);
    }
  }
  return TERN_OK;
}

/*
 * parse_alpn (RFC 7301 §3.1):
 *   opaque ProtocolName<1..2^8-1>;
 *   struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList;
 * In EncryptedExtensions the list holds exactly one name.
 */
static int parse_alpn(msg_ctx *c, tern_reader *d, tern_extensions *e) {
  tern_reader list, name;

  TRY(wire(c, tern_reader_open_u16(d, &list, 2, 0xffff)));
  while (tern_reader_remaining(&list) > 0) {
    TRY(wire(c, tern_reader_open_u8(&list, &name, 1, 255)));
    if (e->n_alpn < TERN_MSG_MAX_ALPN)
      e->alpn[e->n_alpn++] = span_of(&name);
    e->alpn_count++;
  }
  /* RFC 7301 §3.1: the server's list MUST contain exactly one name. */
  if (c->type == TERN_HS_ENCRYPTED_EXTENSIONS && e->alpn_count != 1)
    return decode_error(c);
  return TERN_OK;
}

/*
 * read_key_share_entry (RFC 8446 §4.2.8):
 *   struct { NamedGroup group; opaque key_exchange<1..2^16-1>; }
 *   KeyShareEntry;
 */
static int read_key_share_entry(msg_ctx *c, tern_reader *r,
                                tern_key_share_entry *k) {
  tern_reader ke;

  TRY(wire(c, tern_reader_u16(r, &k->group)));
  TRY(wire(c, tern_reader_open_u16(r, &ke, 1, 0xffff)));
  k->key_exchange = span_of(&ke);
  return TERN_OK;
}

/*
 * parse_key_share (RFC 8446 §4.2.8):
 *   CH:  struct { KeyShareEntry client_shares<0..2^16-1>; }
 *   HRR: struct { NamedGroup selected_group; }
 *   SH:  struct { KeyShareEntry server_share; }
 * Two client shares for one group are refused among the kept entries
 * (the RFC lets a server check, it need not).
 */
static int parse_key_share(msg_ctx *c, tern_reader *d, tern_extensions *e) {
  tern_reader list;
  tern_key_share_entry k;
  size_t i;

  if (c->type == TERN_HS_SERVER_HELLO) {
    if (c->is_hrr)
      return wire(c, tern_reader_u16(d, &e->selected_group));
    TRY(read_key_share_entry(c, d, &e->key_shares[0]));
    e->key_share_count = 1;
    e->n_key_shares = 1;
    return TERN_OK;
  }
  TRY(wire(c, tern_reader_open_u16(d, &list, 0, 0xffff)));
  e->key_shares_raw = span_of(&list);
  while (tern_reader_remaining(&list) > 0) {
    TRY(read_key_share_entry(c, &list, &k));
    /* RFC 8446 §4.2.8: clients MUST NOT offer two shares of one group. */
    for (i = 0; i < e->n_key_shares; i++) { /* kept: at most the max */
      if (e->key_shares[i].group == k.group)
        return illegal(c);
    }
    if (e->n_key_shares < TERN_MSG_MAX_KEY_SHARES)
      e->key_shares[e->n_key_shares++] = k;
    e->key_share_count++;
  }
  return TERN_OK;
}

/*
 * parse_offered_psks (RFC 8446 §4.2.11), the ClientHello form:
 *   struct { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; }
 *   PskIdentity;
 *   opaque PskBinderEntry<32..255>;
 *   struct { PskIdentity identities<7..2^16-1>;
 *            PskBinderEntry binders<33..2^16-1>; } OfferedPsks;
 * Records where the binders start in the body (the PartialClientHello
 * ends there) and requires one binder per identity (illegal_parameter).
 */
static int parse_offered_psks(msg_ctx *c, tern_reader *d, tern_extensions *e) {
  tern_reader ids, id, binders, b;
  size_t n_binders = 0;
  uint32_t age;

  TRY(wire(c, tern_reader_open_u16(d, &ids, 7, 0xffff)));
  while (tern_reader_remaining(&ids) > 0) {
    TRY(wire(c, tern_reader_open_u16(&ids, &id, 1, 0xffff)));
    TRY(wire(c, tern_reader_u32(&ids, &age)));
    if (e->n_psk < TERN_MSG_MAX_PSK) {
      e->psk[e->n_psk].identity = span_of(&id);
      e->psk[e->n_psk].obfuscated_ticket_age = age;
      e->n_psk++;
    }
    e->psk_count++;
  }
  e->psk_binders_offset = (size_t)((d->buf + d->pos) - c->body);
  TRY(wire(c, tern_reader_open_u16(d, &binders, 33, 0xffff)));
  while (tern_reader_remaining(&binders) > 0) {
    TRY(wire(c, tern_reader_open_u8(&binders, &b, 32, 255)));
    if (n_binders < TERN_MSG_MAX_PSK)
      e->binders[n_binders] = span_of(&b);
    n_binders++;
  }
  /* RFC 8446 §4.2.11: one binder per identity, else illegal_parameter. */
  if (n_binders != e->psk_count)
    return illegal(c);
  return TERN_OK;
}

/*
 * parse_certificate_authorities (RFC 8446 §4.2.4):
 *   opaque DistinguishedName<1..2^16-1>;
 *   struct { DistinguishedName authorities<3..2^16-1>; }
 */
static int parse_certificate_authorities(msg_ctx *c, tern_reader *d,
                                         tern_extensions *e) {
  tern_reader list, dn;

  TRY(wire(c, tern_reader_open_u16(d, &list, 3, 0xffff)));
  e->certificate_authorities = span_of(&list);
  while (tern_reader_remaining(&list) > 0)
    TRY(wire(c, tern_reader_open_u16(&list, &dn, 1, 0xffff)));
  return TERN_OK;
}

/*
 * parse_oid_filters (RFC 8446 §4.2.5):
 *   struct { opaque certificate_extension_oid<1..2^8-1>;
 *            opaque certificate_extension_values<0..2^16-1>; } OIDFilter;
 *   struct { OIDFilter filters<0..2^16-1>; } OIDFilterExtension;
 */
static int parse_oid_filters(msg_ctx *c, tern_reader *d, tern_extensions *e) {
  tern_reader list, oid, values;

  TRY(wire(c, tern_reader_open_u16(d, &list, 0, 0xffff)));
  e->oid_filters = span_of(&list);
  while (tern_reader_remaining(&list) > 0) {
    TRY(wire(c, tern_reader_open_u8(&list, &oid, 1, 255)));
    TRY(wire(c, tern_reader_open_u16(&list, &values, 0, 0xffff)));
  }
  return TERN_OK;
}

/*
 * parse_ext_data parses the extension_data d of the known extension id,
 * in the form this message gives it (RFC 8446 §4.2), and requires it to
 * be consumed exactly.
 */
static int parse_ext_data(msg_ctx *c, int id, tern_reader *d,
                          tern_extensions *e) {
  tern_reader v;
  int ch = c->type == TERN_HS_CLIENT_HELLO;

  switch (id) {
  case TERN_EXT_ID_SERVER_NAME: /* EE: empty */
    if (ch)
      TRY(parse_server_name(c, d, e));
    break;
  case TERN_EXT_ID_SUPPORTED_GROUPS: /* named_group_list<2..2^16-1> */
    TRY(read_u16_list(c, d, 2, 2, 0xfffe, &e->supported_groups));
    break;
  case TERN_EXT_ID_SIGNATURE_ALGORITHMS: /* <2..2^16-2> */
    TRY(read_u16_list(c, d, 2, 2, 0xfffe, &e->signature_algorithms));
    break;
  case TERN_EXT_ID_SIGNATURE_ALGORITHMS_CERT:
    TRY(read_u16_list(c, d, 2, 2, 0xfffe, &e->signature_algorithms_cert));
    break;
  case TERN_EXT_ID_ALPN:
    TRY(parse_alpn(c, d, e));
    break;
  case TERN_EXT_ID_PADDING: /* RFC 7685: zeros, only the length matters */
    e->padding_len = tern_reader_remaining(d);
    return TERN_OK; /* kept whole: nothing to close */
  case TERN_EXT_ID_PRE_SHARED_KEY: /* SH: uint16 selected_identity */
    if (ch)
      TRY(parse_offered_psks(c, d, e));
    else
      TRY(wire(c, tern_reader_u16(d, &e->selected_identity)));
    break;
  case TERN_EXT_ID_EARLY_DATA: /* NST: uint32 max_early_data_size */
    if (c->type == TERN_HS_NEW_SESSION_TICKET)
      TRY(wire(c, tern_reader_u32(d, &e->max_early_data_size)));
    break;
  case TERN_EXT_ID_SUPPORTED_VERSIONS:
    /* CH: ProtocolVersion versions<2..254>; SH/HRR: selected_version */
    if (ch)
      TRY(read_u16_list(c, d, 1, 2, 254, &e->supported_versions));
    else
      TRY(wire(c, tern_reader_u16(d, &e->selected_version)));
    break;
  case TERN_EXT_ID_COOKIE: /* opaque cookie<1..2^16-1> */
    TRY(wire(c, tern_reader_open_u16(d, &v, 1, 0xffff)));
    e->cookie = span_of(&v);
    break;
  case TERN_EXT_ID_PSK_KEY_EXCHANGE_MODES: /* ke_modes<1..255> */
    TRY(wire(c, tern_reader_open_u8(d, &v, 1, 255)));
    e->psk_modes = span_of(&v);
    break;
  case TERN_EXT_ID_CERTIFICATE_AUTHORITIES:
    TRY(parse_certificate_authorities(c, d, e));
    break;
  case TERN_EXT_ID_OID_FILTERS:
    TRY(parse_oid_filters(c, d, e));
    break;
  case TERN_EXT_ID_POST_HANDSHAKE_AUTH: /* empty */
    break;
  case TERN_EXT_ID_KEY_SHARE:
    TRY(parse_key_share(c, d, e));
    break;
  case TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS: /* RFC 9001 §8.2: raw */
    e->quic_transport_parameters = span_of(d);
    return TERN_OK; /* kept whole: nothing to close */
  case TERN_EXT_ID_COMPRESS_CERTIFICATE: /* RFC 8879 §3: algorithms<2..2^8-2> */
    TRY(read_u16_list(c, d, 1, 2, 254, &e->cert_compression));
    break;
  } /* id is a known one: tern_msg_ext_id gave it */
  return closed(c, d);
}

/* seen_bit tells whether the unknown type was met in this block. */
static int seen_bit(const msg_ctx *c, uint16_t type) {
  return (c->seen[type / 8u] >> (type % 8u)) & 1u;
}

/* set_seen sets (on) or clears the bit of an unknown type. */
static void set_seen(msg_ctx *c, uint16_t type, int on) {
  uint8_t mask = (uint8_t)(1u << (type % 8u));

  if (on)
    c->seen[type / 8u] = (uint8_t)(c->seen[type / 8u] | mask);
  else
    c->seen[type / 8u] = (uint8_t)(c->seen[type / 8u] & ~mask);
}

/* forget_block clears the seen bits of an extension block already
 * validated, for the next block of the same message. Cannot fail. */
static void forget_block(msg_ctx *c, tern_span block) {
  tern_reader r, d;
  uint16_t type;

  tern_reader_init(&r, block.p, block.len);
  while (tern_reader_u16(&r, &type) == TERN_OK &&
         tern_reader_open_u16(&r, &d, 0, 0xffff) == TERN_OK)
    set_seen(c, type, 0);
}

/*
 * note_extension records one extension of e (order, unknown list) after
 * the checks every extension passes. Duplicates of any type are
 * refused (RFC 8446 §4.2: "There MUST NOT be more than one extension of
 * the same type in a given extension block"), and so is a known extension
 * the RFC 8446 §4.2 table does not specify for this message; both with
 * illegal_parameter. Unknown types are skipped, as a response's unknown
 * extensions are for the engine to judge.
 */
static int note_extension(msg_ctx *c, uint16_t type, tern_reader *d,
                          uint32_t allowed, uint32_t *present,
                          tern_extensions *e) {
  int id = tern_msg_ext_id(type);

  if (id >= 0) {
    if ((*present & TERN_EXT_BIT(id)) != 0)
      return illegal(c);
    /* RFC 8446 §4.2: recognised but not specified for this message. */
    if ((allowed & TERN_EXT_BIT(id)) == 0)
      return illegal(c);
    *present |= TERN_EXT_BIT(id);
  } else {
    if (seen_bit(c, type))
      return illegal(c);
    set_seen(c, type, 1);
  }
  if (e == NULL)
    return TERN_OK;
  if (e->n_order < TERN_MSG_MAX_EXTS)
    e->order[e->n_order++] = type;
  e->count++;
  if (id >= 0) {
    e->data[id] = span_of(d);
    return parse_ext_data(c, id, d, e);
  }
  if (e->n_unknown < TERN_MSG_MAX_UNKNOWN) {
    e->unknown[e->n_unknown].type = type;
    e->unknown[e->n_unknown].data = span_of(d);
    e->n_unknown++;
  }
  e->unknown_count++;
  return TERN_OK;
}

/*
 * parse_extensions reads an extension block (RFC 8446 §4.2):
 *   struct { ExtensionType extension_type;
 *            opaque extension_data<0..2^16-1>; } Extension;
 *   Extension extensions<min..max>;
 * into e (NULL: validate only) and its contents into *block (may be
 * NULL).
 */
static int parse_extensions(msg_ctx *c, tern_reader *r, size_t min,
                            size_t max, tern_extensions *e,
                            tern_span *block) {
  tern_reader blk, d;
  uint32_t allowed = tern_msg_ext_allowed(c->type, c->is_hrr);
  uint32_t present = 0;
  uint16_t type;

  TRY(wire(c, tern_reader_open_u16(r, &blk, min, max)));
  if (block != NULL)
    *block = span_of(&blk);
  while (tern_reader_remaining(&blk) > 0) {
    TRY(wire(c, tern_reader_u16(&blk, &type)));
    TRY(wire(c, tern_reader_open_u16(&blk, &d, 0, 0xffff)));
    TRY(note_extension(c, type, &d, allowed, &present, e));
    /* RFC 8446 §4.2.11: pre_shared_key MUST be the last extension in
     * the ClientHello, else illegal_parameter. */
    if (type == TERN_EXT_PRE_SHARED_KEY && c->type == TERN_HS_CLIENT_HELLO &&
        tern_reader_remaining(&blk) > 0)
      return illegal(c);
  }
  if (e != NULL)
    e->present = present;
  forget_block(c, span_of(&blk));
  return TERN_OK;
}

/*
 * ClientHello (RFC 8446 §4.1.2):
 *   struct {
 *     ProtocolVersion legacy_version = 0x0303;
 *     Random random;
 *     opaque legacy_session_id<0..32>;
 *     CipherSuite cipher_suites<2..2^16-2>;
 *     opaque legacy_compression_methods<1..2^8-1>;
 *     Extension extensions<8..2^16-1>;
 *   } ClientHello;
 */
int tern_msg_parse_client_hello(const uint8_t *body, size_t len,
                                tern_client_hello *out, uint8_t *alert) {
  msg_ctx c;
  tern_reader r, v;
  uint8_t method;

  if (out == NULL || alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  memset(out, 0, sizeof *out);
  ctx_init(&c, body, TERN_HS_CLIENT_HELLO, alert);
  tern_reader_init(&r, body, len);
  TRY(wire(&c, tern_reader_u16(&r, &out->legacy_version)));
  TRY(wire(&c, tern_reader_take(&r, &out->random, 32)));
  TRY(wire(&c, tern_reader_open_u8(&r, &v, 0, 32)));
  out->session_id = span_of(&v);
  TRY(read_u16_list(&c, &r, 2, 2, 0xfffe, &out->cipher_suites));
  TRY(wire(&c, tern_reader_open_u8(&r, &v, 1, 255)));
  /* RFC 8446 §4.1.2: exactly one byte, zero, else illegal_parameter
   * (the vector has at least one). */
  if (tern_reader_u8(&v, &method) != TERN_OK || tern_reader_remaining(&v) != 0 ||
      method != 0)
    return illegal(&c);
  TRY(parse_extensions(&c, &r, 8, 0xffff, &out->ext, NULL));
  TRY(wire(&c, tern_reader_done(&r)));
  /* RFC 8446 §4.2.9 and §9.2: pre_shared_key requires
   * psk_key_exchange_modes, else missing_extension. */
  if ((out->ext.present & BIT(PRE_SHARED_KEY)) != 0 &&
      (out->ext.present & BIT(PSK_KEY_EXCHANGE_MODES)) == 0)
    return fail(&c, TERN_ALERT_MISSING_EXTENSION);
  return TERN_OK;
}

/* same_bytes tells whether the n bytes at p are those of ref (n bytes;
 * public values, no need for constant time). */
static int same_bytes(const uint8_t *p, const uint8_t *ref, size_t n) {
  tern_reader a;
  uint8_t x;
  size_t i = 0;

  tern_reader_init(&a, p, n);
  while (tern_reader_u8(&a, &x) == TERN_OK) {
    if (x != ref[i++])
      return 0;
  }
  return 1;
}

/*
 * ServerHello and HelloRetryRequest (RFC 8446 §4.1.3):
 *   struct {
 *     ProtocolVersion legacy_version = 0x0303;
 *     Random random;
 *     opaque legacy_session_id_echo<0..32>;
 *     CipherSuite cipher_suite;
 *     uint8 legacy_compression_method = 0;
 *     Extension extensions<6..2^16-1>;
 *   } ServerHello;
 * A random equal to tern_msg_hrr_random makes it a HelloRetryRequest,
 * whose extensions follow the HRR column of the §4.2 table.
 */
int tern_msg_parse_server_hello(const uint8_t *body, size_t len,
                                tern_server_hello *out, uint8_t *alert) {
  msg_ctx c;
  tern_reader r, v;
  uint8_t method;

  if (out == NULL || alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  memset(out, 0, sizeof *out);
  ctx_init(&c, body, TERN_HS_SERVER_HELLO, alert);
  tern_reader_init(&r, body, len);
  TRY(wire(&c, tern_reader_u16(&r, &out->legacy_version)));
  TRY(wire(&c, tern_reader_take(&r, &out->random, 32)));
  out->is_hrr = same_bytes(out->random, tern_msg_hrr_random, 32);
  c.is_hrr = out->is_hrr;
  TRY(wire(&c, tern_reader_open_u8(&r, &v, 0, 32)));
  out->session_id = span_of(&v);
  TRY(wire(&c, tern_reader_u16(&r, &out->cipher_suite)));
  TRY(wire(&c, tern_reader_u8(&r, &method)));
  if (method != 0)
    return illegal(&c);
  TRY(parse_extensions(&c, &r, 6, 0xffff, &out->ext, NULL));
  return wire(&c, tern_reader_done(&r));
}

/*
 * EncryptedExtensions (RFC 8446 §4.3.1):
 *   struct { Extension extensions<0..2^16-1>; } EncryptedExtensions;
 */
int tern_msg_parse_encrypted_extensions(const uint8_t *body, size_t len,
                                        tern_encrypted_extensions *out,
                                        uint8_t *alert) {
  msg_ctx c;
  tern_reader r;

  if (out == NULL || alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  memset(out, 0, sizeof *out);
  ctx_init(&c, body, TERN_HS_ENCRYPTED_EXTENSIONS, alert);
  tern_reader_init(&r, body, len);
  TRY(parse_extensions(&c, &r, 0, 0xffff, &out->ext, NULL));
  return wire(&c, tern_reader_done(&r));
}

/*
 * CertificateRequest (RFC 8446 §4.3.2):
 *   struct { opaque certificate_request_context<0..2^8-1>;
 *            Extension extensions<2..2^16-1>; } CertificateRequest;
 * signature_algorithms MUST be there (missing_extension).
 */
int tern_msg_parse_certificate_request(const uint8_t *body, size_t len,
                                       tern_certificate_request *out,
                                       uint8_t *alert) {
  msg_ctx c;
  tern_reader r, v;

  if (out == NULL || alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  memset(out, 0, sizeof *out);
  ctx_init(&c, body, TERN_HS_CERTIFICATE_REQUEST, alert);
  tern_reader_init(&r, body, len);
  TRY(wire(&c, tern_reader_open_u8(&r, &v, 0, 255)));
  out->context = span_of(&v);
  TRY(parse_extensions(&c, &r, 2, 0xffff, &out->ext, NULL));
  TRY(wire(&c, tern_reader_done(&r)));
  if ((out->ext.present & BIT(SIGNATURE_ALGORITHMS)) == 0)
    return fail(&c, TERN_ALERT_MISSING_EXTENSION);
  return TERN_OK;
}

/*
 * Certificate (RFC 8446 §4.4.2):
 *   struct { select (certificate_type) { ...
 *              case X509: opaque cert_data<1..2^24-1>; };
 *            Extension extensions<0..2^16-1>; } CertificateEntry;
 *   struct { opaque certificate_request_context<0..2^8-1>;
 *            CertificateEntry certificate_list<0..2^24-1>; } Certificate;
 */
int tern_msg_parse_certificate(const uint8_t *body, size_t len,
                               tern_certificate *out, uint8_t *alert) {
  msg_ctx c;
  tern_reader r, v, list;
  tern_cert_entry entry;

  if (out == NULL || alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  memset(out, 0, sizeof *out);
  ctx_init(&c, body, TERN_HS_CERTIFICATE, alert);
  tern_reader_init(&r, body, len);
  TRY(wire(&c, tern_reader_open_u8(&r, &v, 0, 255)));
  out->context = span_of(&v);
  TRY(wire(&c, tern_reader_open_u24(&r, &list, 0, 0xffffff)));
  out->raw = span_of(&list);
  while (tern_reader_remaining(&list) > 0) {
    TRY(wire(&c, tern_reader_open_u24(&list, &v, 1, 0xffffff)));
    entry.cert_data = span_of(&v);
    TRY(parse_extensions(&c, &list, 0, 0xffff, NULL, &entry.extensions));
    if (out->n < TERN_MSG_MAX_CERTS)
      out->entries[out->n++] = entry;
    out->count++;
  }
  return wire(&c, tern_reader_done(&r));
}

/*
 * CertificateVerify (RFC 8446 §4.4.3):
 *   struct { SignatureScheme algorithm;
 *            opaque signature<0..2^16-1>; } CertificateVerify;
 */
int tern_msg_parse_certificate_verify(const uint8_t *body, size_t len,
                                      tern_certificate_verify *out,
                                      uint8_t *alert) {
  msg_ctx c;
  tern_reader r, v;

  if (out == NULL || alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  memset(out, 0, sizeof *out);
  ctx_init(&c, body, TERN_HS_CERTIFICATE_VERIFY, alert);
  tern_reader_init(&r, body, len);
  TRY(wire(&c, tern_reader_u16(&r, &out->algorithm)));
  TRY(wire(&c, tern_reader_open_u16(&r, &v, 0, 0xffff)));
  out->signature = span_of(&v);
  return wire(&c, tern_reader_done(&r));
}

/*
 * CompressedCertificate (RFC 8879 §4):
 *   struct { CertificateCompressionAlgorithm algorithm;
 *            uint24 uncompressed_length;
 *            opaque compressed_certificate_message<1..2^24-1>; }
 *     CompressedCertificate;
 */
int tern_msg_parse_compressed_certificate(const uint8_t *body, size_t len,
                                          tern_compressed_certificate *out,
                                          uint8_t *alert) {
  msg_ctx c;
  tern_reader r, v;

  if (out == NULL || alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  memset(out, 0, sizeof *out);
  ctx_init(&c, body, TERN_HS_COMPRESSED_CERTIFICATE, alert);
  tern_reader_init(&r, body, len);
  TRY(wire(&c, tern_reader_u16(&r, &out->algorithm)));
  TRY(wire(&c, tern_reader_u24(&r, &out->uncompressed_length)));
  TRY(wire(&c, tern_reader_open_u24(&r, &v, 1, 0xffffff)));
  out->compressed = span_of(&v);
  return wire(&c, tern_reader_done(&r));
}

/*
 * Finished (RFC 8446 §4.4.4):
 *   struct { opaque verify_data[Hash.length]; } Finished;
 */
int tern_msg_parse_finished(const uint8_t *body, size_t len, size_t hash_len,
                            tern_span *verify_data, uint8_t *alert) {
  tern_reader r;
  const uint8_t *p;

  if (verify_data == NULL || alert == NULL || (body == NULL && len > 0) ||
      hash_len == 0 || hash_len > TERN_MSG_MAX_HASH)
    return bad_args(alert);
  tern_reader_init(&r, body, len);
  if (len != hash_len || tern_reader_take(&r, &p, hash_len) != TERN_OK) {
    *alert = TERN_ALERT_DECODE_ERROR;
    return TERN_ERR_MALFORMED;
  }
  verify_data->p = p;
  verify_data->len = hash_len;
  return TERN_OK;
}

/*
 * NewSessionTicket (RFC 8446 §4.6.1):
 *   struct { uint32 ticket_lifetime; uint32 ticket_age_add;
 *            opaque ticket_nonce<0..255>; opaque ticket<1..2^16-1>;
 *            Extension extensions<0..2^16-2>; } NewSessionTicket;
 */
int tern_msg_parse_new_session_ticket(const uint8_t *body, size_t len,
                                      tern_new_session_ticket *out,
                                      uint8_t *alert) {
  msg_ctx c;
  tern_reader r, v;

  if (out == NULL || alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  memset(out, 0, sizeof *out);
  ctx_init(&c, body, TERN_HS_NEW_SESSION_TICKET, alert);
  tern_reader_init(&r, body, len);
  TRY(wire(&c, tern_reader_u32(&r, &out->ticket_lifetime)));
  TRY(wire(&c, tern_reader_u32(&r, &out->ticket_age_add)));
  TRY(wire(&c, tern_reader_open_u8(&r, &v, 0, 255)));
  out->ticket_nonce = span_of(&v);
  TRY(wire(&c, tern_reader_open_u16(&r, &v, 1, 0xffff)));
  out->ticket = span_of(&v);
  TRY(parse_extensions(&c, &r, 0, 0xfffe, &out->ext, NULL));
  return wire(&c, tern_reader_done(&r));
}

/*
 * KeyUpdate (RFC 8446 §4.6.3):
 *   struct { KeyUpdateRequest request_update; } KeyUpdate;
 * Any value but 0 and 1 is an illegal_parameter.
 */
int tern_msg_parse_key_update(const uint8_t *body, size_t len,
                              uint8_t *request_update, uint8_t *alert) {
  tern_reader r;
  uint8_t v;

  if (request_update == NULL || alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  tern_reader_init(&r, body, len);
  if (tern_reader_u8(&r, &v) != TERN_OK || tern_reader_done(&r) != TERN_OK) {
    *alert = TERN_ALERT_DECODE_ERROR;
    return TERN_ERR_MALFORMED;
  }
  if (v != TERN_KU_NOT_REQUESTED && v != TERN_KU_REQUESTED) {
    *alert = TERN_ALERT_ILLEGAL_PARAMETER;
    return TERN_ERR_MALFORMED;
  }
  *request_update = v;
  return TERN_OK;
}

/* EndOfEarlyData (RFC 8446 §4.5): struct {} EndOfEarlyData; */
int tern_msg_parse_end_of_early_data(const uint8_t *body, size_t len,
                                     uint8_t *alert) {
  if (alert == NULL || (body == NULL && len > 0))
    return bad_args(alert);
  if (len != 0) {
    *alert = TERN_ALERT_DECODE_ERROR;
    return TERN_ERR_MALFORMED;
  }
  return TERN_OK;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* What a write carries along. */
typedef struct write_ctx {
  uint8_t type;      /* the HandshakeType being written */
  int is_hrr;        /* a HelloRetryRequest */
  size_t binders_at; /* ClientHello: where the binders list starts, or 0 */
} write_ctx;

/* open_vec reserves a length prefix of `prefix` bytes (1, 2 or 3). */
static int open_vec(tern_writer *w, int prefix, size_t *mark) {
  if (prefix == 1)
    return tern_writer_open_u8(w, mark);
  if (prefix == 2)
    return tern_writer_open_u16(w, mark);
  return tern_writer_open_u24(w, mark);
}

/* close_vec fills in the prefix opened by open_vec. */
static int close_vec(tern_writer *w, int prefix, size_t mark) {
  if (prefix == 1)
    return tern_writer_close_u8(w, mark);
  if (prefix == 2)
    return tern_writer_close_u16(w, mark);
  return tern_writer_close_u24(w, mark);
}

/* put_raw appends the bytes of s (INVALID_ARG when s.p is NULL with a
 * length). */
static int put_raw(tern_writer *w, tern_span s) {
  if (s.len == 0)
    return TERN_OK;
  if (s.p == NULL)
    return TERN_ERR_INVALID_ARG;
  return tern_writer_bytes(w, s.p, s.len);
}

/* put_zeros appends n zero bytes. */
static int put_zeros(tern_writer *w, size_t n) {
  size_t i;

  if (n > tern_writer_remaining(w))
    return TERN_ERR_BUFFER_TOO_SMALL;
  for (i = 0; i < n; i++)
    TRY(tern_writer_u8(w, 0));
  return TERN_OK;
}

/*
 * put_vec appends s as a vector with a `prefix`-byte length. Returns
 * TERN_ERR_LIMIT when the prefix cannot say its length, INVALID_ARG when
 * the length is outside the message's [min, max].
 */
static int put_vec(tern_writer *w, int prefix, tern_span s, size_t min,
                   size_t max) {
  size_t limit = prefix == 1 ? 0xff : prefix == 2 ? 0xffff : 0xffffff;
  size_t mark;

  if (s.len > limit)
    return TERN_ERR_LIMIT;
  if (s.len < min || s.len > max)
    return TERN_ERR_INVALID_ARG;
  TRY(open_vec(w, prefix, &mark));
  TRY(put_raw(w, s));
  return close_vec(w, prefix, mark);
}

/* put_u16_list appends v[0..n) of a list with a `prefix`-byte length; an
 * empty list (all of these have a minimum) or n above the capacity is
 * INVALID_ARG. */
static int put_u16_list(tern_writer *w, int prefix, const tern_u16_list *l) {
  size_t mark, i;

  if (l->n == 0 || l->n > TERN_MSG_MAX_LIST)
    return TERN_ERR_INVALID_ARG;
  TRY(open_vec(w, prefix, &mark));
  for (i = 0; i < l->n; i++)
    TRY(tern_writer_u16(w, l->v[i]));
  return close_vec(w, prefix, mark);
}

/* put_key_share_entry appends a KeyShareEntry (RFC 8446 §4.2.8). */
static int put_key_share_entry(tern_writer *w, const tern_key_share_entry *k) {
  TRY(tern_writer_u16(w, k->group));
  return put_vec(w, 2, k->key_exchange, 1, 0xffff);
}

/* write_key_share appends the key_share extension_data of this message. */
static int write_key_share(write_ctx *c, tern_writer *w,
                           const tern_extensions *e) {
  size_t mark, i;

  if (c->type == TERN_HS_SERVER_HELLO) {
    if (c->is_hrr)
      return tern_writer_u16(w, e->selected_group);
    return put_key_share_entry(w, &e->key_shares[0]);
  }
  if (e->n_key_shares > TERN_MSG_MAX_KEY_SHARES)
    return TERN_ERR_INVALID_ARG;
  TRY(tern_writer_open_u16(w, &mark));
  for (i = 0; i < e->n_key_shares; i++)
    TRY(put_key_share_entry(w, &e->key_shares[i]));
  return tern_writer_close_u16(w, mark);
}

/* write_alpn appends a ProtocolNameList (one name in EE). */
static int write_alpn(write_ctx *c, tern_writer *w, const tern_extensions *e) {
  size_t mark, i;

  if (e->n_alpn == 0 || e->n_alpn > TERN_MSG_MAX_ALPN ||
      (c->type == TERN_HS_ENCRYPTED_EXTENSIONS && e->n_alpn != 1))
    return TERN_ERR_INVALID_ARG;
  TRY(tern_writer_open_u16(w, &mark));
  for (i = 0; i < e->n_alpn; i++)
    TRY(put_vec(w, 1, e->alpn[i], 1, 255));
  return tern_writer_close_u16(w, mark);
}

/* write_server_name appends a ServerNameList of one host_name. */
static int write_server_name(tern_writer *w, const tern_extensions *e) {
  size_t mark;

  TRY(tern_writer_open_u16(w, &mark));
  TRY(tern_writer_u8(w, 0));
  TRY(put_vec(w, 2, e->server_name, 1, 255));
  return tern_writer_close_u16(w, mark);
}

/* write_offered_psks appends OfferedPsks (RFC 8446 §4.2.11), binders
 * zero where their p is NULL, and notes where the binders start. */
static int write_offered_psks(write_ctx *c, tern_writer *w,
                              const tern_extensions *e) {
  size_t mark, i;
  tern_span b;

  if (e->n_psk == 0 || e->n_psk > TERN_MSG_MAX_PSK)
    return TERN_ERR_INVALID_ARG;
  TRY(tern_writer_open_u16(w, &mark));
  for (i = 0; i < e->n_psk; i++) {
    TRY(put_vec(w, 2, e->psk[i].identity, 1, 0xffff));
    TRY(tern_writer_u32(w, e->psk[i].obfuscated_ticket_age));
  }
  TRY(tern_writer_close_u16(w, mark));
  c->binders_at = w->len;
  TRY(tern_writer_open_u16(w, &mark));
  for (i = 0; i < e->n_psk; i++) {
    b = e->binders[i];
    if (b.len < 32 || b.len > 255)
      return TERN_ERR_INVALID_ARG;
    TRY(tern_writer_u8(w, (uint8_t)b.len));
    if (b.p != NULL)
      TRY(tern_writer_bytes(w, b.p, b.len));
    else
      TRY(put_zeros(w, b.len));
  }
  return tern_writer_close_u16(w, mark);
}

/* write_ext_data appends the extension_data of known extension id, in
 * the form this message gives it (the inverse of parse_ext_data). */
static int write_ext_data(write_ctx *c, tern_writer *w, int id,
                          const tern_extensions *e) {
  int ch = c->type == TERN_HS_CLIENT_HELLO;

  switch (id) {
  case TERN_EXT_ID_SERVER_NAME:
    return ch ? write_server_name(w, e) : TERN_OK;
  case TERN_EXT_ID_SUPPORTED_GROUPS:
    return put_u16_list(w, 2, &e->supported_groups);
  case TERN_EXT_ID_SIGNATURE_ALGORITHMS:
    return put_u16_list(w, 2, &e->signature_algorithms);
  case TERN_EXT_ID_SIGNATURE_ALGORITHMS_CERT:
    return put_u16_list(w, 2, &e->signature_algorithms_cert);
  case TERN_EXT_ID_ALPN:
    return write_alpn(c, w, e);
  case TERN_EXT_ID_PADDING:
    return put_zeros(w, e->padding_len);
  case TERN_EXT_ID_PRE_SHARED_KEY:
    return ch ? write_offered_psks(c, w, e)
              : tern_writer_u16(w, e->selected_identity);
  case TERN_EXT_ID_EARLY_DATA:
    return c->type == TERN_HS_NEW_SESSION_TICKET
               ? tern_writer_u32(w, e->max_early_data_size)
               : TERN_OK;
  case TERN_EXT_ID_SUPPORTED_VERSIONS:
    return ch ? put_u16_list(w, 1, &e->supported_versions)
              : tern_writer_u16(w, e->selected_version);
  case TERN_EXT_ID_COOKIE:
    return put_vec(w, 2, e->cookie, 1, 0xffff);
  case TERN_EXT_ID_PSK_KEY_EXCHANGE_MODES:
    return put_vec(w, 1, e->psk_modes, 1, 255);
  case TERN_EXT_ID_CERTIFICATE_AUTHORITIES:
    return put_vec(w, 2, e->certificate_authorities, 3, 0xffff);
  case TERN_EXT_ID_OID_FILTERS:
    return put_vec(w, 2, e->oid_filters, 0, 0xffff);
  case TERN_EXT_ID_POST_HANDSHAKE_AUTH:
    return TERN_OK;
  case TERN_EXT_ID_KEY_SHARE:
    return write_key_share(c, w, e);
  case TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS:
    return put_raw(w, e->quic_transport_parameters);
  case TERN_EXT_ID_COMPRESS_CERTIFICATE:
    return put_u16_list(w, 1, &e->cert_compression);
  default:
    return TERN_ERR_INVALID_ARG;
  }
}

/* write_known appends the whole known extension id, refusing one the
 * message cannot carry or that is not marked present. */
static int write_known(write_ctx *c, tern_writer *w, int id,
                       const tern_extensions *e) {
  size_t mark;

  if ((e->present & TERN_EXT_BIT(id)) == 0 ||
      (tern_msg_ext_allowed(c->type, c->is_hrr) & TERN_EXT_BIT(id)) == 0)
    return TERN_ERR_INVALID_ARG;
  TRY(tern_writer_u16(w, ext_type_of[id]));
  TRY(tern_writer_open_u16(w, &mark));
  TRY(write_ext_data(c, w, id, e));
  return tern_writer_close_u16(w, mark);
}

/* write_unknown appends the first unknown[] entry of this type. */
static int write_unknown(tern_writer *w, uint16_t type,
                         const tern_extensions *e) {
  size_t n = e->n_unknown < TERN_MSG_MAX_UNKNOWN ? e->n_unknown
                                                 : TERN_MSG_MAX_UNKNOWN;
  size_t i;

  for (i = 0; i < n; i++) {
    if (e->unknown[i].type == type) {
      TRY(tern_writer_u16(w, type));
      return put_vec(w, 2, e->unknown[i].data, 0, 0xffff);
    }
  }
  return TERN_ERR_INVALID_ARG;
}

/* write_in_order appends the extensions order[0..n_order): no type
 * twice, pre_shared_key last in a ClientHello. */
static int write_in_order(write_ctx *c, tern_writer *w,
                          const tern_extensions *e) {
  size_t i, j;
  uint16_t type;
  int id;

  if (e->n_order > TERN_MSG_MAX_EXTS)
    return TERN_ERR_INVALID_ARG;
  for (i = 0; i < e->n_order; i++) {
    type = e->order[i];
    for (j = 0; j < i; j++) {
      if (e->order[j] == type)
        return TERN_ERR_INVALID_ARG;
    }
    if (type == TERN_EXT_PRE_SHARED_KEY && c->type == TERN_HS_CLIENT_HELLO &&
        i + 1 != e->n_order)
      return TERN_ERR_INVALID_ARG;
    id = tern_msg_ext_id(type);
    if (id >= 0)
      TRY(write_known(c, w, id, e));
    else
      TRY(write_unknown(w, type, e));
  }
  return TERN_OK;
}

/* write_extensions appends an extension block of at least min bytes:
 * ext.order when given, else every present one in tern_ext_id order with
 * pre_shared_key last. */
static int write_extensions(write_ctx *c, tern_writer *w,
                            const tern_extensions *e, size_t min) {
  size_t mark;
  int id;

  TRY(tern_writer_open_u16(w, &mark));
  if (e->n_order > 0) {
    TRY(write_in_order(c, w, e));
  } else {
    for (id = 0; id < TERN_EXT_ID_COUNT; id++) {
      if (id != TERN_EXT_ID_PRE_SHARED_KEY &&
          (e->present & TERN_EXT_BIT(id)) != 0)
        TRY(write_known(c, w, id, e));
    }
    if ((e->present & BIT(PRE_SHARED_KEY)) != 0)
      TRY(write_known(c, w, TERN_EXT_ID_PRE_SHARED_KEY, e));
  }
  if (w->len - mark - 2 < min)
    return TERN_ERR_INVALID_ARG;
  return tern_writer_close_u16(w, mark);
}

/* begin_msg starts a handshake message: type and a 3-byte length. */
static int begin_msg(tern_writer *w, uint8_t type, size_t *mark) {
  TRY(tern_writer_u8(w, type));
  return tern_writer_open_u24(w, mark);
}

/* end_msg fills in the message length and reports the total. */
static int end_msg(tern_writer *w, size_t mark, size_t *out_len) {
  TRY(tern_writer_close_u24(w, mark));
  *out_len = w->len;
  return TERN_OK;
}

/* write_args checks the arguments every writer takes. */
static int write_args(const void *in, const uint8_t *out, size_t cap,
                      const size_t *out_len) {
  if (in == NULL || out_len == NULL || (out == NULL && cap > 0))
    return TERN_ERR_INVALID_ARG;
  return TERN_OK;
}

/* tern_msg_write_client_hello: see msg.h. */
int tern_msg_write_client_hello(const tern_client_hello *in, uint8_t *out,
                                size_t cap, size_t *out_len,
                                size_t *partial_len) {
  write_ctx c = {TERN_HS_CLIENT_HELLO, 0, 0};
  tern_writer w;
  size_t mark, len;

  TRY(write_args(in, out, cap, out_len));
  if (in->random == NULL)
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_CLIENT_HELLO, &mark));
  TRY(tern_writer_u16(&w, in->legacy_version));
  TRY(tern_writer_bytes(&w, in->random, 32));
  TRY(put_vec(&w, 1, in->session_id, 0, 32));
  TRY(put_u16_list(&w, 2, &in->cipher_suites));
  TRY(tern_writer_u8(&w, 1)); /* legacy_compression_methods = [null] */
  TRY(tern_writer_u8(&w, 0));
  TRY(write_extensions(&c, &w, &in->ext, 8));
  TRY(end_msg(&w, mark, &len));
  *out_len = len;
  if (partial_len != NULL)
    *partial_len = c.binders_at != 0 ? c.binders_at : len;
  return TERN_OK;
}

/* tern_msg_set_binder: see msg.h. */
int tern_msg_set_binder(uint8_t *msg, size_t msg_len, size_t partial_len,
                        size_t index, const uint8_t *binder,
                        size_t binder_len) {
  tern_reader r, list;
  tern_writer w;
  uint8_t n;
  size_t i;

  if (msg == NULL || binder == NULL || partial_len > msg_len)
    return TERN_ERR_INVALID_ARG;
  tern_reader_init(&r, msg + partial_len, msg_len - partial_len);
  if (tern_reader_open_u16(&r, &list, 33, 0xffff) != TERN_OK ||
      tern_reader_done(&r) != TERN_OK)
    return TERN_ERR_INVALID_ARG;
  for (i = 0;; i++) {
    if (tern_reader_u8(&list, &n) != TERN_OK)
      return TERN_ERR_INVALID_ARG;
    if (i == index)
      break;
    if (tern_reader_skip(&list, n) != TERN_OK)
      return TERN_ERR_INVALID_ARG;
  }
  if (n != binder_len || tern_reader_remaining(&list) < binder_len)
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, msg + partial_len + 2 + list.pos, binder_len);
  return tern_writer_bytes(&w, binder, binder_len);
}

/* tern_msg_write_server_hello: see msg.h. */
int tern_msg_write_server_hello(const tern_server_hello *in, uint8_t *out,
                                size_t cap, size_t *out_len) {
  write_ctx c = {TERN_HS_SERVER_HELLO, 0, 0};
  tern_writer w;
  size_t mark;
  const uint8_t *random;

  TRY(write_args(in, out, cap, out_len));
  c.is_hrr = in->is_hrr != 0;
  random = c.is_hrr ? tern_msg_hrr_random : in->random;
  if (random == NULL)
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_SERVER_HELLO, &mark));
  TRY(tern_writer_u16(&w, in->legacy_version));
  TRY(tern_writer_bytes(&w, random, 32));
  TRY(put_vec(&w, 1, in->session_id, 0, 32));
  TRY(tern_writer_u16(&w, in->cipher_suite));
  TRY(tern_writer_u8(&w, 0)); /* legacy_compression_method */
  TRY(write_extensions(&c, &w, &in->ext, 6));
  return end_msg(&w, mark, out_len);
}

/* tern_msg_write_encrypted_extensions: see msg.h. */
int tern_msg_write_encrypted_extensions(const tern_encrypted_extensions *in,
                                        uint8_t *out, size_t cap,
                                        size_t *out_len) {
  write_ctx c = {TERN_HS_ENCRYPTED_EXTENSIONS, 0, 0};
  tern_writer w;
  size_t mark;

  TRY(write_args(in, out, cap, out_len));
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_ENCRYPTED_EXTENSIONS, &mark));
  TRY(write_extensions(&c, &w, &in->ext, 0));
  return end_msg(&w, mark, out_len);
}

/* tern_msg_write_certificate_request: see msg.h. */
int tern_msg_write_certificate_request(const tern_certificate_request *in,
                                       uint8_t *out, size_t cap,
                                       size_t *out_len) {
  write_ctx c = {TERN_HS_CERTIFICATE_REQUEST, 0, 0};
  tern_writer w;
  size_t mark;

  TRY(write_args(in, out, cap, out_len));
  if ((in->ext.present & BIT(SIGNATURE_ALGORITHMS)) == 0)
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_CERTIFICATE_REQUEST, &mark));
  TRY(put_vec(&w, 1, in->context, 0, 255));
  TRY(write_extensions(&c, &w, &in->ext, 2));
  return end_msg(&w, mark, out_len);
}

/* tern_msg_write_certificate: see msg.h. */
int tern_msg_write_certificate(const tern_certificate *in, uint8_t *out,
                               size_t cap, size_t *out_len) {
  tern_writer w;
  size_t mark, list, i;

  TRY(write_args(in, out, cap, out_len));
  if (in->n > TERN_MSG_MAX_CERTS)
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_CERTIFICATE, &mark));
  TRY(put_vec(&w, 1, in->context, 0, 255));
  TRY(tern_writer_open_u24(&w, &list));
  for (i = 0; i < in->n; i++) {
    TRY(put_vec(&w, 3, in->entries[i].cert_data, 1, 0xffffff));
    TRY(put_vec(&w, 2, in->entries[i].extensions, 0, 0xffff));
  }
  TRY(tern_writer_close_u24(&w, list));
  return end_msg(&w, mark, out_len);
}

/* tern_msg_write_certificate_verify: see msg.h. */
int tern_msg_write_certificate_verify(const tern_certificate_verify *in,
                                      uint8_t *out, size_t cap,
                                      size_t *out_len) {
  tern_writer w;
  size_t mark;

  TRY(write_args(in, out, cap, out_len));
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_CERTIFICATE_VERIFY, &mark));
  TRY(tern_writer_u16(&w, in->algorithm));
  TRY(put_vec(&w, 2, in->signature, 0, 0xffff));
  return end_msg(&w, mark, out_len);
}

/* tern_msg_write_compressed_certificate: see msg.h. */
int tern_msg_write_compressed_certificate(const tern_compressed_certificate *in,
                                          uint8_t *out, size_t cap,
                                          size_t *out_len) {
  tern_writer w;
  size_t mark;

  TRY(write_args(in, out, cap, out_len));
  if (in->uncompressed_length > 0xffffffu)
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_COMPRESSED_CERTIFICATE, &mark));
  TRY(tern_writer_u16(&w, in->algorithm));
  TRY(tern_writer_u24(&w, in->uncompressed_length));
  TRY(put_vec(&w, 3, in->compressed, 1, 0xffffff));
  return end_msg(&w, mark, out_len);
}

/* tern_msg_write_finished: see msg.h. len is 1..TERN_MSG_MAX_HASH. */
int tern_msg_write_finished(const uint8_t *verify_data, size_t len,
                            uint8_t *out, size_t cap, size_t *out_len) {
  tern_writer w;
  size_t mark;

  TRY(write_args(verify_data, out, cap, out_len));
  if (len == 0 || len > TERN_MSG_MAX_HASH)
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_FINISHED, &mark));
  TRY(tern_writer_bytes(&w, verify_data, len));
  return end_msg(&w, mark, out_len);
}

/* tern_msg_write_new_session_ticket: see msg.h. */
int tern_msg_write_new_session_ticket(const tern_new_session_ticket *in,
                                      uint8_t *out, size_t cap,
                                      size_t *out_len) {
  write_ctx c = {TERN_HS_NEW_SESSION_TICKET, 0, 0};
  tern_writer w;
  size_t mark;

  TRY(write_args(in, out, cap, out_len));
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_NEW_SESSION_TICKET, &mark));
  TRY(tern_writer_u32(&w, in->ticket_lifetime));
  TRY(tern_writer_u32(&w, in->ticket_age_add));
  TRY(put_vec(&w, 1, in->ticket_nonce, 0, 255));
  TRY(put_vec(&w, 2, in->ticket, 1, 0xffff));
  TRY(write_extensions(&c, &w, &in->ext, 0));
  return end_msg(&w, mark, out_len);
}

/* tern_msg_write_key_update: see msg.h; request_update is 0 or 1. */
int tern_msg_write_key_update(uint8_t request_update, uint8_t *out,
                              size_t cap, size_t *out_len) {
  tern_writer w;
  size_t mark;

  if (out_len == NULL || (out == NULL && cap > 0) ||
      (request_update != TERN_KU_NOT_REQUESTED &&
       request_update != TERN_KU_REQUESTED))
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_KEY_UPDATE, &mark));
  TRY(tern_writer_u8(&w, request_update));
  return end_msg(&w, mark, out_len);
}

/* tern_msg_write_end_of_early_data: see msg.h. */
int tern_msg_write_end_of_early_data(uint8_t *out, size_t cap,
                                     size_t *out_len) {
  tern_writer w;
  size_t mark;

  if (out_len == NULL || (out == NULL && cap > 0))
    return TERN_ERR_INVALID_ARG;
  tern_writer_init(&w, out, cap);
  TRY(begin_msg(&w, TERN_HS_END_OF_EARLY_DATA, &mark));
  return end_msg(&w, mark, out_len);
}
