/*
 * proofs/codec/msg/harness.c - EVA harness for the handshake message codec
 * (src/codec/msg.c over src/codec/wire.c), run by proofs/codec/msg/eva.sh, one run per
 * driver chosen by PARSERS.
 *
 * Each parser is run on a body of every length 0..MAXLEN (each length its
 * own case) whose bytes are all unknown. The body is the END of an array,
 * so that a read past the body is a read past the array, which EVA
 * reports. EVA must find no run-time error (out-of-bounds access,
 * overflow, uninitialised read, ...) in msg.c or in the wire.c functions
 * it calls, and every precondition of wire.h must hold at each call.
 *
 * What a parser accepts is written back into a buffer of every size from
 * 0 to more than it needs (so the writers run on every parsed struct,
 * "buffer too small" exits included), and the helpers that read a parsed
 * struct (tern_msg_list_has, tern_msg_find_key_share, tern_msg_set_binder)
 * are run on it. With the empty body, every function of the parser's
 * message is also called with each of its pointers NULL.
 *
 * Two drivers go deeper into ClientHello extensions than unknown bytes
 * can within a practical bound: drive_client_hello_extension and
 * drive_client_hello_psk (see them). Three more reach what a parsed
 * struct never makes a writer do and messages longer than the bounds:
 * drive_shaped, drive_writers and drive_big.
 */
#include <string.h>

#include "__fc_builtin.h"
#include "codec/msg.h"

#ifndef MAXLEN
#define MAXLEN 10
#endif

/* Which parsers to drive (bits below); all of them by default. */
#define P_CLIENT_HELLO 0x001
#define P_SERVER_HELLO 0x002
#define P_ENCRYPTED_EXTENSIONS 0x004
#define P_CERTIFICATE_REQUEST 0x008
#define P_CERTIFICATE 0x010
#define P_CERTIFICATE_VERIFY 0x020
#define P_FINISHED 0x040
#define P_NEW_SESSION_TICKET 0x080
#define P_KEY_UPDATE 0x100
#define P_END_OF_EARLY_DATA 0x200
#define P_HEADER 0x400
#define P_CLIENT_HELLO_EXTENSION 0x800
#define P_CLIENT_HELLO_PSK 0x1000
#define P_COMPRESSED_CERTIFICATE 0x2000
#define P_SHAPED 0x4000
#define P_WRITERS 0x8000
#define P_BIG 0x10000
#ifndef PARSERS
#define PARSERS 0x1ffff
#endif

/* drive_client_hello_psk: identities of 0..PSK_ID_MAX bytes, binders of
 * 31..PSK_BINDER_MAX bytes. */
#ifndef PSK_ID_MAX
#define PSK_ID_MAX 4
#endif
#ifndef PSK_BINDER_MAX
#define PSK_BINDER_MAX 36
#endif

/* Room for every body, a ClientHello around one extension included (the
 * shaped ones of drive_shaped are up to 320 bytes); a body is always the
 * end of `bytes`. */
#if (PARSERS & (P_SHAPED | P_WRITERS)) && MAXLEN < 400
#define BYTES 528
#else
#define BYTES (MAXLEN + 128)
#endif
static uint8_t bytes[BYTES];
static uint8_t out[BYTES + 4];
static uint8_t alert;
static size_t n;

static tern_client_hello ch;
static tern_server_hello sh;
static tern_encrypted_extensions ee;
static tern_certificate_request cr;
static tern_certificate cert;
static tern_certificate_verify cv;
static tern_compressed_certificate ccert;
static tern_new_session_ticket nst;

/* unknown_body makes every byte unknown again and returns the last len
 * bytes of the array (NULL for an empty body, which parsers accept). */
static const uint8_t *unknown_body(size_t len) {
  Frama_C_make_unknown((char *)bytes, sizeof bytes);
  if (len == 0)
    return NULL;
  return bytes + (sizeof bytes - len);
}

static uint16_t unknown_u16(void) {
  return (uint16_t)Frama_C_unsigned_int_interval(0, 0xffff);
}

/* The room a writer is given: anything up to the whole of out. */
static size_t room(void) {
  return Frama_C_size_t_interval(0, sizeof out);
}

/* A ClientHello: parsed, written back, searched, its binders set. */
static void drive_client_hello_body(const uint8_t *body, size_t len) {
  uint8_t binder[255];
  size_t partial, index, binder_len;
  tern_key_share_entry k;

  uint16_t wanted[3], common[3];

  if (tern_msg_parse_client_hello(body, len, &ch, &alert) != TERN_OK)
    return;
  tern_msg_list_has(&ch.cipher_suites, unknown_u16());
  tern_msg_list_has(&ch.ext.supported_groups, unknown_u16());
  tern_msg_find_key_share(&ch.ext, unknown_u16(), &k);
  tern_msg_key_share_count(&ch.ext, unknown_u16());
  wanted[0] = unknown_u16();
  wanted[1] = unknown_u16();
  wanted[2] = unknown_u16();
  tern_msg_list_common(&ch.ext.supported_groups, wanted, 3, common);
  if (tern_msg_write_client_hello(&ch, out, room(), &n, &partial) != TERN_OK)
    return;
  Frama_C_make_unknown((char *)binder, sizeof binder);
  index = Frama_C_size_t_interval(0, TERN_MSG_MAX_PSK);
  binder_len = Frama_C_size_t_interval(0, sizeof binder);
  tern_msg_set_binder(out, n, partial, index, binder, binder_len);
}

static void drive_client_hello(size_t len) {
  const uint8_t *body = unknown_body(len);
  uint8_t binder[1] = {0};
  tern_key_share_entry k;

  if (len == 0) {
    tern_msg_parse_client_hello(NULL, 1, &ch, &alert);
    tern_msg_parse_client_hello(body, 0, NULL, &alert);
    tern_msg_parse_client_hello(body, 0, &ch, NULL);
    tern_msg_write_client_hello(NULL, out, sizeof out, &n, NULL);
    tern_msg_write_client_hello(&ch, NULL, 1, &n, NULL);
    tern_msg_write_client_hello(&ch, out, sizeof out, NULL, NULL);
    tern_msg_list_has(NULL, 0);
    tern_msg_find_key_share(NULL, 0, &k);
    tern_msg_find_key_share(&ch.ext, 0, NULL);
    tern_msg_set_binder(NULL, 0, 0, 0, binder, 0);
    tern_msg_set_binder(out, 0, 0, 0, NULL, 0);
  }
  drive_client_hello_body(body, len);
}

/*
 * A ClientHello whose fields before the extensions have a fixed shape, to
 * reach the extension_data parsers with more bytes than a ClientHello of
 * unknown bytes can afford: legacy_version, random and its one cipher
 * suite unknown, an empty session id, null compression; then an empty
 * extension of an unknown type (0xfafa: the block needs 8 bytes), for
 * pre_shared_key when `modes` is set a psk_key_exchange_modes of one
 * unknown mode (which pre_shared_key requires), and last the extension
 * `type` with d bytes of data. ch_with_extension lays it out at the end of `bytes`, everything
 * else unknown, sets *len and returns the body; *data is the extension
 * data, for the caller to shape further.
 */
#define CH_FIXED 41 /* 2 + 32 + 1 + 2 + 2 + 1 + 1 */
static const uint8_t *ch_with_extension(uint16_t type, size_t d, int modes,
                                        size_t *len, uint8_t **data) {
  size_t before = type == TERN_EXT_PRE_SHARED_KEY && modes ? 10 : 4;
  size_t block = before + 4 + d;
  uint8_t *p, *e;

  *len = CH_FIXED + 2 + block;
  Frama_C_make_unknown((char *)bytes, sizeof bytes);
  p = bytes + (sizeof bytes - *len);
  p[34] = 0;                                /* legacy_session_id: empty */
  p[35] = 0;                                /* cipher_suites: one */
  p[36] = 2;
  p[39] = 1;                                /* compression: [null] */
  p[40] = 0;
  p[41] = (uint8_t)(block / 256);
  p[42] = (uint8_t)(block % 256);
  e = p + CH_FIXED + 2;
  e[0] = 0xfa;                              /* 0xfafa, empty */
  e[1] = 0xfa;
  e[2] = 0;
  e[3] = 0;
  if (before == 10) {
    e[4] = 0;                               /* psk_key_exchange_modes */
    e[5] = TERN_EXT_PSK_KEY_EXCHANGE_MODES;
    e[6] = 0;
    e[7] = 2;
    e[8] = 1;                               /* one mode, e[9] unknown */
  }
  e += before;
  e[0] = (uint8_t)(type / 256);
  e[1] = (uint8_t)(type % 256);
  e[2] = (uint8_t)(d / 256);
  e[3] = (uint8_t)(d % 256);
  *data = e + 4;
  return p;
}

/* Each extension type this codec knows, last in such a ClientHello, with
 * data of unknown bytes of every length 0..MAXLEN. */
static void drive_client_hello_extension(void) {
  static const uint16_t known[TERN_EXT_ID_COUNT] = {
      TERN_EXT_SERVER_NAME, TERN_EXT_SUPPORTED_GROUPS,
      TERN_EXT_SIGNATURE_ALGORITHMS, TERN_EXT_ALPN, TERN_EXT_PADDING,
      TERN_EXT_PRE_SHARED_KEY, TERN_EXT_EARLY_DATA,
      TERN_EXT_SUPPORTED_VERSIONS, TERN_EXT_COOKIE,
      TERN_EXT_PSK_KEY_EXCHANGE_MODES, TERN_EXT_CERTIFICATE_AUTHORITIES,
      TERN_EXT_OID_FILTERS, TERN_EXT_POST_HANDSHAKE_AUTH,
      TERN_EXT_SIGNATURE_ALGORITHMS_CERT, TERN_EXT_KEY_SHARE,
      TERN_EXT_QUIC_TRANSPORT_PARAMETERS, TERN_EXT_COMPRESS_CERTIFICATE};
  size_t id = Frama_C_size_t_interval(0, TERN_EXT_ID_COUNT - 1);
  size_t d = Frama_C_size_t_interval(0, MAXLEN);
  const uint8_t *body;
  uint8_t *data;
  size_t len;

  /*@ split id; */
  /*@ split d; */
  body = ch_with_extension(known[id], d, 1, &len, &data);
  drive_client_hello_body(body, len);
}

/*
 * pre_shared_key, which a ClientHello of unknown bytes never reaches
 * whole (one identity and one binder take 44 bytes): OfferedPsks of one
 * identity of every length 0..PSK_ID_MAX and one binder of every length
 * 31..PSK_BINDER_MAX, all their lengths consistent, their bytes (and the
 * ticket age) unknown; then written back and its binder set.
 */
static void drive_client_hello_psk(void) {
  size_t id_len = Frama_C_size_t_interval(0, PSK_ID_MAX);
  size_t binder_len = Frama_C_size_t_interval(31, PSK_BINDER_MAX);
  size_t ids = 2 + id_len + 4, binders = 1 + binder_len;
  const uint8_t *body;
  uint8_t *d;
  size_t len;

  /*@ split id_len; */
  /*@ split binder_len; */
  body = ch_with_extension(TERN_EXT_PRE_SHARED_KEY, 2 + ids + 2 + binders, 1,
                           &len, &d);
  d[0] = (uint8_t)(ids / 256);
  d[1] = (uint8_t)(ids % 256);
  d[2] = (uint8_t)(id_len / 256);
  d[3] = (uint8_t)(id_len % 256);
  d += 2 + ids;
  d[0] = (uint8_t)(binders / 256);
  d[1] = (uint8_t)(binders % 256);
  d[2] = (uint8_t)binder_len;
  drive_client_hello_body(body, len);
}

static void drive_server_hello(size_t len) {
  const uint8_t *body = unknown_body(len);

  if (len == 0) {
    tern_msg_parse_server_hello(NULL, 1, &sh, &alert);
    tern_msg_parse_server_hello(body, 0, NULL, &alert);
    tern_msg_parse_server_hello(body, 0, &sh, NULL);
    tern_msg_write_server_hello(NULL, out, sizeof out, &n);
    tern_msg_write_server_hello(&sh, NULL, 1, &n);
    tern_msg_write_server_hello(&sh, out, sizeof out, NULL);
  }
  if (tern_msg_parse_server_hello(body, len, &sh, &alert) == TERN_OK)
    tern_msg_write_server_hello(&sh, out, room(), &n);
}

static void drive_encrypted_extensions(size_t len) {
  const uint8_t *body = unknown_body(len);

  if (len == 0) {
    tern_msg_parse_encrypted_extensions(NULL, 1, &ee, &alert);
    tern_msg_parse_encrypted_extensions(body, 0, NULL, &alert);
    tern_msg_parse_encrypted_extensions(body, 0, &ee, NULL);
    tern_msg_write_encrypted_extensions(NULL, out, sizeof out, &n);
    tern_msg_write_encrypted_extensions(&ee, NULL, 1, &n);
    tern_msg_write_encrypted_extensions(&ee, out, sizeof out, NULL);
  }
  if (tern_msg_parse_encrypted_extensions(body, len, &ee, &alert) == TERN_OK)
    tern_msg_write_encrypted_extensions(&ee, out, room(), &n);
}

static void drive_certificate_request(size_t len) {
  const uint8_t *body = unknown_body(len);

  if (len == 0) {
    tern_msg_parse_certificate_request(NULL, 1, &cr, &alert);
    tern_msg_parse_certificate_request(body, 0, NULL, &alert);
    tern_msg_parse_certificate_request(body, 0, &cr, NULL);
    tern_msg_write_certificate_request(NULL, out, sizeof out, &n);
    tern_msg_write_certificate_request(&cr, NULL, 1, &n);
    tern_msg_write_certificate_request(&cr, out, sizeof out, NULL);
  }
  if (tern_msg_parse_certificate_request(body, len, &cr, &alert) == TERN_OK)
    tern_msg_write_certificate_request(&cr, out, room(), &n);
}

static void drive_certificate(size_t len) {
  const uint8_t *body = unknown_body(len);

  if (len == 0) {
    tern_msg_parse_certificate(NULL, 1, &cert, &alert);
    tern_msg_parse_certificate(body, 0, NULL, &alert);
    tern_msg_parse_certificate(body, 0, &cert, NULL);
    tern_msg_write_certificate(NULL, out, sizeof out, &n);
    tern_msg_write_certificate(&cert, NULL, 1, &n);
    tern_msg_write_certificate(&cert, out, sizeof out, NULL);
  }
  if (tern_msg_parse_certificate(body, len, &cert, &alert) == TERN_OK)
    tern_msg_write_certificate(&cert, out, room(), &n);
}

static void drive_certificate_verify(size_t len) {
  const uint8_t *body = unknown_body(len);

  if (len == 0) {
    tern_msg_parse_certificate_verify(NULL, 1, &cv, &alert);
    tern_msg_parse_certificate_verify(body, 0, NULL, &alert);
    tern_msg_parse_certificate_verify(body, 0, &cv, NULL);
    tern_msg_write_certificate_verify(NULL, out, sizeof out, &n);
    tern_msg_write_certificate_verify(&cv, NULL, 1, &n);
    tern_msg_write_certificate_verify(&cv, out, sizeof out, NULL);
  }
  if (tern_msg_parse_certificate_verify(body, len, &cv, &alert) == TERN_OK)
    tern_msg_write_certificate_verify(&cv, out, room(), &n);
}

static void drive_compressed_certificate(size_t len) {
  const uint8_t *body = unknown_body(len);

  if (len == 0) {
    tern_msg_parse_compressed_certificate(NULL, 1, &ccert, &alert);
    tern_msg_parse_compressed_certificate(body, 0, NULL, &alert);
    tern_msg_parse_compressed_certificate(body, 0, &ccert, NULL);
    tern_msg_write_compressed_certificate(NULL, out, sizeof out, &n);
    tern_msg_write_compressed_certificate(&ccert, NULL, 1, &n);
    tern_msg_write_compressed_certificate(&ccert, out, sizeof out, NULL);
  }
  if (tern_msg_parse_compressed_certificate(body, len, &ccert, &alert) == TERN_OK)
    tern_msg_write_compressed_certificate(&ccert, out, room(), &n);
}

/* Finished with every hash length, the bad ones (0, 65) included, and
 * the message_hash header of each. */
static void drive_finished(size_t len) {
  const uint8_t *body = unknown_body(len);
  size_t hash_len = Frama_C_size_t_interval(0, TERN_MSG_MAX_HASH + 1);
  tern_span fin = {NULL, 0};
  uint8_t hdr[4];

  if (len == 0) {
    tern_msg_parse_finished(NULL, 1, 32, &fin, &alert);
    tern_msg_parse_finished(body, 0, 32, NULL, &alert);
    tern_msg_parse_finished(body, 0, 32, &fin, NULL);
    tern_msg_write_finished(NULL, 32, out, sizeof out, &n);
    tern_msg_write_finished(out, 32, NULL, 1, &n);
    tern_msg_write_finished(out, 32, out + 32, 32, NULL);
    tern_msg_message_hash_header(NULL, 32);
  }
  if (tern_msg_parse_finished(body, len, hash_len, &fin, &alert) == TERN_OK)
    tern_msg_write_finished(fin.p, fin.len, out, room(), &n);
  tern_msg_message_hash_header(hdr, hash_len);
}

static void drive_new_session_ticket(size_t len) {
  const uint8_t *body = unknown_body(len);

  if (len == 0) {
    tern_msg_parse_new_session_ticket(NULL, 1, &nst, &alert);
    tern_msg_parse_new_session_ticket(body, 0, NULL, &alert);
    tern_msg_parse_new_session_ticket(body, 0, &nst, NULL);
    tern_msg_write_new_session_ticket(NULL, out, sizeof out, &n);
    tern_msg_write_new_session_ticket(&nst, NULL, 1, &n);
    tern_msg_write_new_session_ticket(&nst, out, sizeof out, NULL);
  }
  if (tern_msg_parse_new_session_ticket(body, len, &nst, &alert) == TERN_OK)
    tern_msg_write_new_session_ticket(&nst, out, room(), &n);
}

/* KeyUpdate, and its writer on every request_update byte. */
static void drive_key_update(size_t len) {
  const uint8_t *body = unknown_body(len);
  uint8_t ku;

  if (len == 0) {
    tern_msg_parse_key_update(NULL, 1, &ku, &alert);
    tern_msg_parse_key_update(body, 0, NULL, &alert);
    tern_msg_parse_key_update(body, 0, &ku, NULL);
    tern_msg_write_key_update(0, NULL, 1, &n);
    tern_msg_write_key_update(0, out, sizeof out, NULL);
    tern_msg_write_key_update((uint8_t)Frama_C_interval(0, 255), out,
                              room(), &n);
  }
  if (tern_msg_parse_key_update(body, len, &ku, &alert) == TERN_OK)
    tern_msg_write_key_update(ku, out, room(), &n);
}

static void drive_end_of_early_data(size_t len) {
  const uint8_t *body = unknown_body(len);

  if (len == 0) {
    tern_msg_parse_end_of_early_data(NULL, 1, &alert);
    tern_msg_parse_end_of_early_data(body, 0, NULL);
    tern_msg_write_end_of_early_data(NULL, 1, &n);
    tern_msg_write_end_of_early_data(out, sizeof out, NULL);
  }
  if (tern_msg_parse_end_of_early_data(body, len, &alert) == TERN_OK)
    tern_msg_write_end_of_early_data(out, room(), &n);
}

static void drive_header(size_t len) {
  const uint8_t *p = unknown_body(len);
  uint8_t type;
  size_t body_len;

  if (len == 0) {
    tern_msg_header(NULL, 1, &type, &body_len);
    tern_msg_header(p, 0, NULL, &body_len);
    tern_msg_header(p, 0, &type, NULL);
  }
  tern_msg_header(p, len, &type, &body_len);
}

/*
 * Shapes no body of unknown bytes within the bounds reaches, each its own
 * case, their lengths consistent and their other bytes unknown:
 *  0. a ClientHello whose server_name is one host_name of 256 bytes (one
 *     more than RFC 6066 allows a DNS name: illegal_parameter);
 *  1. a ClientHello whose key_share has two entries (of unknown groups:
 *     the same one twice is illegal_parameter, two are written back);
 *  2. a ClientHello whose pre_shared_key has two identities and one
 *     binder (illegal_parameter);
 *  3. one identity and a 33-byte binders list whose entry length is
 *     unknown (only 32 fits: a bad one is a decode_error);
 *  4. a valid pre_shared_key without psk_key_exchange_modes
 *     (missing_extension);
 *  5. a ServerHello (not HRR unless its unknown random is the HRR one)
 *     with a key_share of one entry, written back;
 *  6. a CertificateRequest with signature_algorithms and oid_filters,
 *     written back.
 */
#define SHAPES 7

/* A ServerHello (5) or CertificateRequest (6) body at the end of bytes:
 * the fixed fields, then one extension block of `block` bytes whose start
 * is returned in *e. */
static const uint8_t *shaped_body(int shape, size_t block, size_t *len,
                                  uint8_t **e) {
  size_t fixed = shape == 5 ? 2 + 32 + 1 + 2 + 1 : 1;
  uint8_t *p;

  *len = fixed + 2 + block;
  Frama_C_make_unknown((char *)bytes, sizeof bytes);
  p = bytes + (sizeof bytes - *len);
  if (shape == 5) {
    p[34] = 0; /* legacy_session_id_echo: empty */
    p[37] = 0; /* legacy_compression_method */
  } else {
    p[0] = 0; /* certificate_request_context: empty */
  }
  p[fixed] = (uint8_t)(block / 256);
  p[fixed + 1] = (uint8_t)(block % 256);
  *e = p + fixed + 2;
  return p;
}

static void drive_shaped(void) {
  int shape = Frama_C_interval(0, SHAPES - 1);
  const uint8_t *body;
  uint8_t *d;
  size_t len;

  /*@ split shape; */
  switch (shape) {
  case 0: /* server_name: list<259>, host_name (0), name<256> */
    body = ch_with_extension(TERN_EXT_SERVER_NAME, 2 + 3 + 256, 1, &len, &d);
    d[0] = 1;
    d[1] = 3;
    d[2] = 0;
    d[3] = 1;
    d[4] = 0;
    drive_client_hello_body(body, len);
    break;
  case 1: /* key_share: client_shares<10>, two entries of a 1-byte key */
    body = ch_with_extension(TERN_EXT_KEY_SHARE, 2 + 10, 1, &len, &d);
    d[0] = 0;
    d[1] = 10;
    d[4] = 0;
    d[5] = 1;
    d[9] = 0;
    d[10] = 1;
    drive_client_hello_body(body, len);
    break;
  case 2: /* identities<14> of two 1-byte identities, binders<33> of one */
    body = ch_with_extension(TERN_EXT_PRE_SHARED_KEY, 2 + 14 + 2 + 33, 1,
                             &len, &d);
    d[0] = 0;
    d[1] = 14;
    d[2] = 0;
    d[3] = 1;
    d[9] = 0;
    d[10] = 1;
    d[16] = 0;
    d[17] = 33;
    d[18] = 32;
    drive_client_hello_body(body, len);
    break;
  case 3: /* identities<7> of one, binders<33>, d[11] unknown */
    body = ch_with_extension(TERN_EXT_PRE_SHARED_KEY, 2 + 7 + 2 + 33, 1,
                             &len, &d);
    d[0] = 0;
    d[1] = 7;
    d[2] = 0;
    d[3] = 1;
    d[9] = 0;
    d[10] = 33;
    drive_client_hello_body(body, len);
    break;
  case 4: /* the same with a binder of 32, and no psk_key_exchange_modes */
    body = ch_with_extension(TERN_EXT_PRE_SHARED_KEY, 2 + 7 + 2 + 33, 0,
                             &len, &d);
    d[0] = 0;
    d[1] = 7;
    d[2] = 0;
    d[3] = 1;
    d[9] = 0;
    d[10] = 33;
    d[11] = 32;
    drive_client_hello_body(body, len);
    break;
  case 5: /* key_share: server_share, a 1-byte key */
    body = shaped_body(5, 4 + 5, &len, &d);
    d[0] = 0;
    d[1] = TERN_EXT_KEY_SHARE;
    d[2] = 0;
    d[3] = 5;
    d[6] = 0;
    d[7] = 1;
    if (tern_msg_parse_server_hello(body, len, &sh, &alert) == TERN_OK)
      tern_msg_write_server_hello(&sh, out, room(), &n);
    break;
  default: /* signature_algorithms of one, oid_filters empty */
    body = shaped_body(6, 8 + 6, &len, &d);
    d[0] = 0;
    d[1] = TERN_EXT_SIGNATURE_ALGORITHMS;
    d[2] = 0;
    d[3] = 4;
    d[4] = 0;
    d[5] = 2;
    d[8] = 0;
    d[9] = TERN_EXT_OID_FILTERS;
    d[10] = 0;
    d[11] = 2;
    d[12] = 0;
    d[13] = 0;
    if (tern_msg_parse_certificate_request(body, len, &cr, &alert) == TERN_OK)
      tern_msg_write_certificate_request(&cr, out, room(), &n);
    break;
  }
}

/*
 * The writers and helpers on structs built by hand, as the engine builds
 * them (a parsed struct never has these shapes): the extensions of
 * `present` written in tern_ext_id order (n_order 0) with zero binders,
 * and each argument a writer refuses, one case each (WRITER_CASES); then
 * tern_msg_set_binder on messages of unknown bytes.
 */
#define BIT_OF(id) TERN_EXT_BIT(TERN_EXT_ID_##id)
static uint8_t src[BYTES]; /* the bytes every hand-built span points at */
static tern_client_hello wch;

/* A valid ClientHello to write: spans into src, one of each list. */
static void valid_client_hello(tern_client_hello *h) {
  tern_extensions *e = &h->ext;
  size_t i;

  memset(h, 0, sizeof *h);
  h->legacy_version = unknown_u16();
  h->random = src;
  h->session_id.p = src;
  h->session_id.len = 32;
  h->cipher_suites.n = 1;
  h->cipher_suites.v[0] = unknown_u16();
  e->present = BIT_OF(SERVER_NAME) | BIT_OF(SUPPORTED_GROUPS) |
               BIT_OF(ALPN) | BIT_OF(PADDING) | BIT_OF(SUPPORTED_VERSIONS) |
               BIT_OF(KEY_SHARE) | BIT_OF(PSK_KEY_EXCHANGE_MODES) |
               BIT_OF(COOKIE) | BIT_OF(PRE_SHARED_KEY);
  e->server_name.p = src;
  e->server_name.len = 3;
  e->supported_groups.n = 1;
  e->supported_versions.n = 1;
  e->n_alpn = 1;
  e->alpn[0].p = src;
  e->alpn[0].len = 2;
  e->padding_len = 3;
  e->n_key_shares = 1;
  e->key_shares[0].key_exchange.p = src;
  e->key_shares[0].key_exchange.len = 1;
  e->psk_modes.p = src;
  e->psk_modes.len = 1;
  e->cookie.p = src;
  e->cookie.len = 1;
  e->n_psk = 1;
  e->psk[0].identity.p = src;
  e->psk[0].identity.len = 1;
  e->binders[0].len = 32; /* p NULL: written as zeros */
  for (i = 0; i < TERN_MSG_MAX_UNKNOWN; i++)
    e->unknown[i].type = unknown_u16();
}

#define WRITER_CASES 22

static void drive_writers(void) {
  int k = Frama_C_interval(0, WRITER_CASES - 1);
  tern_extensions *e = &wch.ext;
  tern_u16_list list;
  uint16_t wanted[2], common[2];
  tern_key_share_entry ks;
  uint8_t *msg;
  size_t msg_len, i;
  uint8_t binder[255];

  Frama_C_make_unknown((char *)src, sizeof src);
  valid_client_hello(&wch);
  /*@ split k; */
  switch (k) {
  case 0: /* the writer's own order, zero binders; every room */
    tern_msg_write_client_hello(&wch, out, room(), &n, NULL);
    break;
  case 1:
    wch.random = NULL;
    break;
  case 2: /* longer than its 1-byte prefix can say */
    wch.session_id.len = 256;
    break;
  case 3: /* longer than 32 */
    wch.session_id.len = 33;
    break;
  case 4: /* shorter than 1 */
    e->cookie.len = 0;
    break;
  case 5:
    wch.cipher_suites.n = 0;
    break;
  case 6:
    wch.cipher_suites.n = TERN_MSG_MAX_LIST + 1;
    break;
  case 7: /* an extension block shorter than 8 */
    e->present = 0;
    break;
  case 8:
    e->n_psk = 0;
    break;
  case 9:
    e->n_psk = TERN_MSG_MAX_PSK + 1;
    break;
  case 10:
    e->binders[0].len = 31;
    break;
  case 11:
    e->binders[0].len = 256;
    break;
  case 12:
    e->n_key_shares = TERN_MSG_MAX_KEY_SHARES + 1;
    break;
  case 13:
    e->n_alpn = 0;
    break;
  case 14:
    e->n_alpn = TERN_MSG_MAX_ALPN + 1;
    break;
  case 15: /* in the order, not present */
    e->n_order = 1;
    e->order[0] = TERN_EXT_OID_FILTERS;
    break;
  case 16:
    e->n_order = TERN_MSG_MAX_EXTS + 1;
    break;
  case 17: /* an unknown type, more unknown[] than are kept */
    e->n_order = 1;
    e->order[0] = unknown_u16();
    e->n_unknown = TERN_MSG_MAX_UNKNOWN + 1;
    break;
  case 20: /* present, but a CertificateRequest's only */
    e->present |= BIT_OF(OID_FILTERS);
    break;
  case 18: /* the other writers' own refusals */
    e->present = BIT_OF(ALPN);
    e->n_alpn = 2; /* EE: exactly one */
    ee.ext = *e;
    tern_msg_write_encrypted_extensions(&ee, out, sizeof out, &n);
    ee.ext.present = BIT_OF(QUIC_TRANSPORT_PARAMETERS);
    ee.ext.quic_transport_parameters.len = 5; /* p NULL */
    tern_msg_write_encrypted_extensions(&ee, out, sizeof out, &n);
    memset(&sh, 0, sizeof sh); /* random NULL, not HRR */
    tern_msg_write_server_hello(&sh, out, sizeof out, &n);
    memset(&cr, 0, sizeof cr); /* no signature_algorithms */
    tern_msg_write_certificate_request(&cr, out, sizeof out, &n);
    memset(&cert, 0, sizeof cert);
    cert.n = TERN_MSG_MAX_CERTS + 1;
    tern_msg_write_certificate(&cert, out, sizeof out, &n);
    memset(&ccert, 0, sizeof ccert);
    ccert.uncompressed_length = 0x1000000;
    tern_msg_write_compressed_certificate(&ccert, out, sizeof out, &n);
    tern_msg_write_finished(src, 0, out, sizeof out, &n);
    tern_msg_write_finished(src, TERN_MSG_MAX_HASH + 1, out, sizeof out, &n);
    tern_msg_write_key_update(0, NULL, 0, &n);
    return;
  case 19: /* the helpers on lists and shares kept by hand */
    memset(&list, 0, sizeof list);
    Frama_C_make_unknown((char *)list.v, sizeof list.v);
    list.n = TERN_MSG_MAX_LIST + 1; /* more than are kept: v[] is read */
    tern_msg_list_has(&list, unknown_u16());
    wanted[0] = unknown_u16();
    wanted[1] = unknown_u16();
    tern_msg_list_common(&list, wanted, 2, common);
    tern_msg_list_common(NULL, wanted, 2, common);
    tern_msg_list_common(&list, NULL, 2, common);
    tern_msg_list_common(&list, wanted, 2, NULL);
    e->n_key_shares = TERN_MSG_MAX_KEY_SHARES + 1; /* idem */
    for (i = 0; i < TERN_MSG_MAX_KEY_SHARES; i++)
      e->key_shares[i].group = unknown_u16();
    tern_msg_find_key_share(e, unknown_u16(), &ks);
    tern_msg_key_share_count(e, unknown_u16());
    tern_msg_key_share_count(NULL, 0);
    return;
  case 21:
    /* set_binder on messages of 35..40 unknown bytes (the first binder),
     * then on one whose first binder runs past the list (the second) */
    msg_len = Frama_C_size_t_interval(35, 40);
    /*@ split msg_len; */
    Frama_C_make_unknown((char *)bytes, sizeof bytes);
    Frama_C_make_unknown((char *)binder, sizeof binder);
    msg = bytes + (sizeof bytes - msg_len);
    tern_msg_set_binder(msg, msg_len, 0, 0, binder,
                        Frama_C_size_t_interval(0, sizeof binder));
    msg[0] = 0;
    msg[1] = (uint8_t)(msg_len - 2);
    msg[2] = 255;
    tern_msg_set_binder(msg, msg_len, 0, 1, binder, 32);
    tern_msg_set_binder(msg, msg_len, msg_len + 1, 0, binder, 32);
    return;
  default: /* k is 0..WRITER_CASES - 1 */
    return;
  }
  tern_msg_write_client_hello(&wch, out, sizeof out, &n, NULL);
}

/*
 * Vectors too long for their length prefix, which only a writer given
 * more than 2^16 or 2^24 bytes of room meets: identities over 2^16 - 1
 * bytes in all (their list cannot be closed), a certificate_list over
 * 2^24 - 1 bytes, and a Certificate whose list fits but whose body does
 * not. The writer copies byte by byte; run with a small slevel there.
 */
#define BIG 0x1000000
static uint8_t big_src[BIG];
static uint8_t big_out[BIG + 64];

static void drive_big(void) {
  int k = Frama_C_interval(0, 2);

  Frama_C_make_unknown((char *)big_src, sizeof big_src);
  /*@ split k; */
  if (k == 0) {
    valid_client_hello(&wch);
    wch.ext.n_psk = 2;
    wch.ext.psk[0].identity.p = big_src;
    wch.ext.psk[0].identity.len = 0x8000;
    wch.ext.psk[1].identity.p = big_src;
    wch.ext.psk[1].identity.len = 0x8000;
    tern_msg_write_client_hello(&wch, big_out, sizeof big_out, &n, NULL);
    return;
  }
  memset(&cert, 0, sizeof cert);
  cert.n = 1;
  cert.entries[0].cert_data.p = big_src;
  /* k == 1: the list is 2^24 + 4 bytes; k == 2: 2^24 - 1, the body 2^24 + 3 */
  cert.entries[0].cert_data.len = k == 1 ? BIG - 1 : BIG - 1 - 5;
  tern_msg_write_certificate(&cert, big_out, sizeof big_out, &n);
}

/* Every length from 0 to MAXLEN, each analysed as its own case. */
int main(void) {
  size_t len = Frama_C_size_t_interval(0, MAXLEN);
  /*@ split len; */
  if (PARSERS & P_CLIENT_HELLO)
    drive_client_hello(len);
  if (PARSERS & P_SERVER_HELLO)
    drive_server_hello(len);
  if (PARSERS & P_ENCRYPTED_EXTENSIONS)
    drive_encrypted_extensions(len);
  if (PARSERS & P_CERTIFICATE_REQUEST)
    drive_certificate_request(len);
  if (PARSERS & P_CERTIFICATE)
    drive_certificate(len);
  if (PARSERS & P_CERTIFICATE_VERIFY)
    drive_certificate_verify(len);
  if (PARSERS & P_COMPRESSED_CERTIFICATE)
    drive_compressed_certificate(len);
  if (PARSERS & P_FINISHED)
    drive_finished(len);
  if (PARSERS & P_NEW_SESSION_TICKET)
    drive_new_session_ticket(len);
  if (PARSERS & P_KEY_UPDATE)
    drive_key_update(len);
  if (PARSERS & P_END_OF_EARLY_DATA)
    drive_end_of_early_data(len);
  if (PARSERS & P_HEADER)
    drive_header(len);
  if ((PARSERS & P_CLIENT_HELLO_EXTENSION) && len == 0)
    drive_client_hello_extension();
  if ((PARSERS & P_CLIENT_HELLO_PSK) && len == 0)
    drive_client_hello_psk();
  if ((PARSERS & P_SHAPED) && len == 0)
    drive_shaped();
  if ((PARSERS & P_WRITERS) && len == 0)
    drive_writers();
  if ((PARSERS & P_BIG) && len == 0)
    drive_big();
  return 0;
}
