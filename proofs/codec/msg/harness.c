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
 * drive_client_hello_psk (see them).
 */
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
#ifndef PARSERS
#define PARSERS 0x3fff
#endif

/* drive_client_hello_psk: identities of 0..PSK_ID_MAX bytes, binders of
 * 31..PSK_BINDER_MAX bytes. */
#ifndef PSK_ID_MAX
#define PSK_ID_MAX 4
#endif
#ifndef PSK_BINDER_MAX
#define PSK_BINDER_MAX 36
#endif

/* Room for every body, a ClientHello around one extension included; a
 * body is always the end of `bytes`. */
#define BYTES (MAXLEN + 128)
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

  if (tern_msg_parse_client_hello(body, len, &ch, &alert) != TERN_OK)
    return;
  tern_msg_list_has(&ch.cipher_suites, unknown_u16());
  tern_msg_list_has(&ch.ext.supported_groups, unknown_u16());
  tern_msg_find_key_share(&ch.ext, unknown_u16(), &k);
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
 * pre_shared_key a psk_key_exchange_modes of one unknown mode (which
 * pre_shared_key requires), and last the extension `type` with d bytes of
 * data. ch_with_extension lays it out at the end of `bytes`, everything
 * else unknown, sets *len and returns the body; *data is the extension
 * data, for the caller to shape further.
 */
#define CH_FIXED 41 /* 2 + 32 + 1 + 2 + 2 + 1 + 1 */
static const uint8_t *ch_with_extension(uint16_t type, size_t d, size_t *len,
                                        uint8_t **data) {
  size_t before = type == TERN_EXT_PRE_SHARED_KEY ? 10 : 4;
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
  if (type == TERN_EXT_PRE_SHARED_KEY) {
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
  body = ch_with_extension(known[id], d, &len, &data);
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
  body = ch_with_extension(TERN_EXT_PRE_SHARED_KEY, 2 + ids + 2 + binders,
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
  return 0;
}
