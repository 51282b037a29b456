/*
 * codec/msg.h - codec layer: the handshake message and extension codec of
 * tern (RFC 8446 §4, RFC 9001 §8.2): pure functions from a message body to
 * a struct and from a struct to message bytes. Nothing is allocated and
 * nothing outside the arguments is touched; every parse and write goes
 * through the bounded reader and writer of wire.h.
 *
 * Conventions
 *  - Parsers take the message *body* (what follows the 4-byte header that
 *    tern_msg_header decodes) and fill a struct whose pointers point into
 *    that body: keep the body alive as long as the struct is used.
 *      int tern_msg_parse_X(const uint8_t *body, size_t len, tern_X *out,
 *                           uint8_t *alert);
 *    They return TERN_OK, TERN_ERR_INVALID_ARG (a NULL argument; *alert is
 *    then internal_error when alert is not NULL), or TERN_ERR_MALFORMED
 *    with *alert set to the RFC 8446 §6 alert to send: decode_error for a
 *    length or vector bound that does not hold, truncation or trailing
 *    bytes; illegal_parameter for a value the RFC forbids (duplicate
 *    extension, extension not allowed in this message, compression
 *    methods other than [0], pre_shared_key not last, ...);
 *    missing_extension where the message itself must carry one. On
 *    failure the struct holds a partial parse and must not be used.
 *  - Every byte of the body is consumed exactly; every nested vector is
 *    checked against its <min..max> bounds and consumed exactly.
 *  - Lists are kept in fixed-capacity arrays. Every entry of a list is
 *    validated, but only the first TERN_MSG_MAX_* are kept: `count` says
 *    how many the message had, `n` how many were kept, and `raw` spans the
 *    whole list for a caller that wants the rest (tern_msg_list_has).
 *  - Writers produce the whole message, 4-byte header included, into
 *    out[0..cap) and set *out_len:
 *      int tern_msg_write_X(const tern_X *in, uint8_t *out, size_t cap,
 *                           size_t *out_len);
 *    They return TERN_OK, TERN_ERR_INVALID_ARG (NULL argument, or a field
 *    the message cannot carry: a 33-byte session id, an empty cipher
 *    suite list, ...), TERN_ERR_BUFFER_TOO_SMALL, or TERN_ERR_LIMIT (a
 *    vector longer than its length prefix can say). On failure out[] holds
 *    garbage and *out_len is not set.
 *  - What writers emit is the parsed struct again: parse then write gives
 *    the same bytes back (extensions in ext.order, unknown extensions from
 *    ext.unknown), as long as no list was longer than its capacity.
 */
#ifndef TERN_MSG_H
#define TERN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

/* ------------------------------------------------------------------ */
/* Codes                                                               */
/* ------------------------------------------------------------------ */

/* HandshakeType (RFC 8446 §4). */
#define TERN_HS_CLIENT_HELLO 1
#define TERN_HS_SERVER_HELLO 2
#define TERN_HS_NEW_SESSION_TICKET 4
#define TERN_HS_END_OF_EARLY_DATA 5
#define TERN_HS_ENCRYPTED_EXTENSIONS 8
#define TERN_HS_CERTIFICATE 11
#define TERN_HS_CERTIFICATE_REQUEST 13
#define TERN_HS_CERTIFICATE_VERIFY 15
#define TERN_HS_FINISHED 20
#define TERN_HS_KEY_UPDATE 24
#define TERN_HS_COMPRESSED_CERTIFICATE 25 /* RFC 8879 §4 */
#define TERN_HS_MESSAGE_HASH 254

/* ExtensionType (RFC 8446 §4.2, RFC 9001 §8.2). */
#define TERN_EXT_SERVER_NAME 0
#define TERN_EXT_SUPPORTED_GROUPS 10
#define TERN_EXT_SIGNATURE_ALGORITHMS 13
#define TERN_EXT_ALPN 16
#define TERN_EXT_PADDING 21
#define TERN_EXT_COMPRESS_CERTIFICATE 27 /* RFC 8879 §3 */
#define TERN_EXT_PRE_SHARED_KEY 41
#define TERN_EXT_EARLY_DATA 42
#define TERN_EXT_SUPPORTED_VERSIONS 43
#define TERN_EXT_COOKIE 44
#define TERN_EXT_PSK_KEY_EXCHANGE_MODES 45
#define TERN_EXT_CERTIFICATE_AUTHORITIES 47
#define TERN_EXT_OID_FILTERS 48
#define TERN_EXT_POST_HANDSHAKE_AUTH 49
#define TERN_EXT_SIGNATURE_ALGORITHMS_CERT 50
#define TERN_EXT_KEY_SHARE 51
#define TERN_EXT_QUIC_TRANSPORT_PARAMETERS 57

/* ProtocolVersion values. */
#define TERN_LEGACY_VERSION 0x0303 /* TLS 1.2, in legacy_version fields */
#define TERN_TLS13 0x0304

/* PskKeyExchangeMode (RFC 8446 §4.2.9). */
#define TERN_PSK_KE 0
#define TERN_PSK_DHE_KE 1

/* KeyUpdateRequest (RFC 8446 §4.6.3). */
#define TERN_KU_NOT_REQUESTED 0
#define TERN_KU_REQUESTED 1

/*
 * The extensions this codec knows, as small indices: bit
 * TERN_EXT_BIT(id) of tern_extensions.present and entry `id` of
 * tern_extensions.data. tern_msg_ext_id maps an ExtensionType to one.
 */
typedef enum tern_ext_id {
  TERN_EXT_ID_SERVER_NAME = 0,
  TERN_EXT_ID_SUPPORTED_GROUPS,
  TERN_EXT_ID_SIGNATURE_ALGORITHMS,
  TERN_EXT_ID_ALPN,
  TERN_EXT_ID_PADDING,
  TERN_EXT_ID_PRE_SHARED_KEY,
  TERN_EXT_ID_EARLY_DATA,
  TERN_EXT_ID_SUPPORTED_VERSIONS,
  TERN_EXT_ID_COOKIE,
  TERN_EXT_ID_PSK_KEY_EXCHANGE_MODES,
  TERN_EXT_ID_CERTIFICATE_AUTHORITIES,
  TERN_EXT_ID_OID_FILTERS,
  TERN_EXT_ID_POST_HANDSHAKE_AUTH,
  TERN_EXT_ID_SIGNATURE_ALGORITHMS_CERT,
  TERN_EXT_ID_KEY_SHARE,
  TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS,
  TERN_EXT_ID_COMPRESS_CERTIFICATE,
  TERN_EXT_ID_COUNT
} tern_ext_id;

#define TERN_EXT_BIT(id) (UINT32_C(1) << (id))

/* ------------------------------------------------------------------ */
/* Capacities                                                          */
/* ------------------------------------------------------------------ */

#define TERN_MSG_MAX_LIST 64       /* u16 list entries kept (suites, groups, ...) */
#define TERN_MSG_MAX_KEY_SHARES 8  /* ClientHello key_share entries kept */
#define TERN_MSG_MAX_ALPN 16       /* ALPN protocol names kept */
#define TERN_MSG_MAX_PSK 8         /* pre_shared_key identities/binders kept */
#define TERN_MSG_MAX_CERTS 16      /* Certificate entries kept */
#define TERN_MSG_MAX_EXTS 32       /* extension types remembered in order */
#define TERN_MSG_MAX_UNKNOWN 16    /* unknown extensions kept (and checked for duplicates) */
#define TERN_MSG_MAX_HASH 64       /* longest Finished verify_data */

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

/* Bytes inside a parsed message (or, for a writer, bytes to emit).
 * p may be NULL when len is 0. */
typedef struct tern_span {
  const uint8_t *p;
  size_t len;
} tern_span;

/* A vector of 2-byte values (CipherSuite, NamedGroup, SignatureScheme,
 * ProtocolVersion). Writers emit v[0..n). */
typedef struct tern_u16_list {
  size_t count;                  /* entries in the message */
  size_t n;                      /* entries kept in v: min(count, TERN_MSG_MAX_LIST) */
  uint16_t v[TERN_MSG_MAX_LIST];
  tern_span raw;                 /* the whole list, 2 bytes per entry, no prefix */
} tern_u16_list;

/* KeyShareEntry (RFC 8446 §4.2.8). */
typedef struct tern_key_share_entry {
  uint16_t group;
  tern_span key_exchange;
} tern_key_share_entry;

/* PskIdentity (RFC 8446 §4.2.11). */
typedef struct tern_psk_identity {
  tern_span identity;
  uint32_t obfuscated_ticket_age;
} tern_psk_identity;

/* An extension kept as bytes: its type and extension_data. */
typedef struct tern_ext_raw {
  uint16_t type;
  tern_span data;
} tern_ext_raw;

/*
 * An extension block and what its known extensions say. Which fields are
 * meaningful depends on the message (see each field); the bit of an
 * extension in `present` says whether it was there.
 *
 * For a writer: when n_order is 0, every extension whose bit is set in
 * `present` is written in tern_ext_id order (pre_shared_key last), then
 * nothing else; when n_order > 0, exactly the types order[0..n_order) are
 * written in that order, known ones from the fields below, unknown ones
 * from the first entry of unknown[] with that type.
 */
typedef struct tern_extensions {
  uint32_t present;                    /* TERN_EXT_BIT(id) of each known extension */
  tern_span data[TERN_EXT_ID_COUNT];   /* extension_data of each known extension */
  size_t count;                        /* extensions in the block */
  size_t n_order;                      /* types kept in order[]: min(count, MAX_EXTS) */
  uint16_t order[TERN_MSG_MAX_EXTS];   /* extension types in wire order */
  size_t unknown_count;                /* unknown extensions in the block (skipped) */
  size_t n_unknown;                    /* kept in unknown[] */
  tern_ext_raw unknown[TERN_MSG_MAX_UNKNOWN];

  /* server_name: CH the host_name (validated DNS name); EE empty. */
  tern_span server_name;
  /* supported_versions: CH the list; SH/HRR the selected version. */
  tern_u16_list supported_versions;
  uint16_t selected_version;
  /* supported_groups (CH, EE), signature_algorithms (CH, CR),
   * signature_algorithms_cert (CH, CR). */
  tern_u16_list supported_groups;
  tern_u16_list signature_algorithms;
  tern_u16_list signature_algorithms_cert;
  /* key_share: CH the client_shares (n_key_shares kept of key_share_count,
   * the whole list in key_shares_raw); SH the server_share in
   * key_shares[0]; HRR only selected_group. */
  size_t key_share_count;
  size_t n_key_shares;
  tern_key_share_entry key_shares[TERN_MSG_MAX_KEY_SHARES];
  tern_span key_shares_raw;
  uint16_t selected_group;
  /* application_layer_protocol_negotiation: CH the list, EE exactly one. */
  size_t alpn_count;
  size_t n_alpn;
  tern_span alpn[TERN_MSG_MAX_ALPN];
  /* quic_transport_parameters (CH, EE): kept raw. */
  tern_span quic_transport_parameters;
  /* cookie (CH, HRR). */
  tern_span cookie;
  /* psk_key_exchange_modes (CH): the mode bytes. */
  tern_span psk_modes;
  /* pre_shared_key: CH identities and binders; SH selected_identity. */
  size_t psk_count;
  size_t n_psk;
  tern_psk_identity psk[TERN_MSG_MAX_PSK];
  tern_span binders[TERN_MSG_MAX_PSK];  /* writer: p NULL writes zeros */
  /* CH: offset in the message body of the binders list (its length
   * prefix). The PartialClientHello of RFC 8446 §4.2.11.2 is the 4-byte
   * header followed by body[0 .. psk_binders_offset). */
  size_t psk_binders_offset;
  uint16_t selected_identity;
  /* early_data: CH/EE empty; NST max_early_data_size. */
  uint32_t max_early_data_size;
  /* padding (CH): its length; a writer emits zeros. */
  size_t padding_len;
  /* certificate_authorities (CH, CR), oid_filters (CR): the list
   * contents without their 2-byte prefix, validated, kept raw. */
  tern_span certificate_authorities;
  tern_span oid_filters;
  /* compress_certificate (CH, CR; RFC 8879 §3): the algorithms the
   * sender can decompress, algorithms<2..2^8-2>. */
  tern_u16_list cert_compression;
} tern_extensions;

/* ClientHello (RFC 8446 §4.1.2). legacy_compression_methods is [0]. */
typedef struct tern_client_hello {
  uint16_t legacy_version;
  const uint8_t *random;        /* 32 bytes */
  tern_span session_id;         /* legacy_session_id, 0..32 bytes */
  tern_u16_list cipher_suites;
  tern_extensions ext;
} tern_client_hello;

/* ServerHello or HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4).
 * legacy_compression_method is 0. */
typedef struct tern_server_hello {
  int is_hrr;                   /* random is the HelloRetryRequest value */
  uint16_t legacy_version;
  const uint8_t *random;        /* 32 bytes; a writer ignores it when is_hrr */
  tern_span session_id;         /* legacy_session_id_echo, 0..32 bytes */
  uint16_t cipher_suite;
  tern_extensions ext;
} tern_server_hello;

/* EncryptedExtensions (RFC 8446 §4.3.1). */
typedef struct tern_encrypted_extensions {
  tern_extensions ext;
} tern_encrypted_extensions;

/* CertificateRequest (RFC 8446 §4.3.2). */
typedef struct tern_certificate_request {
  tern_span context;
  tern_extensions ext;
} tern_certificate_request;

/* CertificateEntry (RFC 8446 §4.4.2): the extensions are validated as an
 * extension block (syntax, duplicates, RFC 8446 §4.2 table) and kept raw,
 * without their 2-byte prefix. */
typedef struct tern_cert_entry {
  tern_span cert_data;
  tern_span extensions;
} tern_cert_entry;

/* Certificate (RFC 8446 §4.4.2). */
typedef struct tern_certificate {
  tern_span context;
  size_t count;                 /* entries in the message */
  size_t n;                     /* entries kept */
  tern_cert_entry entries[TERN_MSG_MAX_CERTS];
  tern_span raw;                /* certificate_list contents */
} tern_certificate;

/* CertificateVerify (RFC 8446 §4.4.3). */
typedef struct tern_certificate_verify {
  uint16_t algorithm;
  tern_span signature;
} tern_certificate_verify;

/* CompressedCertificate (RFC 8879 §4): the Certificate message body,
 * compressed. The parser checks the framing only; bounding
 * uncompressed_length and decompressing are the caller's. */
typedef struct tern_compressed_certificate {
  uint16_t algorithm;
  uint32_t uncompressed_length; /* of the Certificate message body */
  tern_span compressed;         /* compressed_certificate_message, 1 byte or more */
} tern_compressed_certificate;

/* NewSessionTicket (RFC 8446 §4.6.1). */
typedef struct tern_new_session_ticket {
  uint32_t ticket_lifetime;
  uint32_t ticket_age_add;
  tern_span ticket_nonce;
  tern_span ticket;
  tern_extensions ext;          /* early_data: ext.max_early_data_size */
} tern_new_session_ticket;

/* The special Random of a HelloRetryRequest, SHA-256("HelloRetryRequest")
 * (RFC 8446 §4.1.3). */
extern const uint8_t tern_msg_hrr_random[32];

/* ------------------------------------------------------------------ */
/* Framing and helpers                                                 */
/* ------------------------------------------------------------------ */

/*
 * tern_msg_header decodes the 4-byte handshake header at p (RFC 8446 §4:
 * msg_type u8, length u24) into *type and *body_len; the caller reassembles
 * the body and bounds body_len by its own limit.
 * Returns TERN_OK, TERN_WANT_READ when n < 4, or TERN_ERR_INVALID_ARG.
 */
int tern_msg_header(const uint8_t *p, size_t n, uint8_t *type,
                    size_t *body_len);

/*
 * tern_msg_message_hash_header writes the header of the synthetic
 * message_hash message that replaces ClientHello1 in the transcript after
 * a HelloRetryRequest (RFC 8446 §4.4.1): 254, 0, 0, hash_len.
 * Returns TERN_OK, or TERN_ERR_INVALID_ARG when out is NULL or hash_len
 * is 0 or above TERN_MSG_MAX_HASH.
 */
int tern_msg_message_hash_header(uint8_t out[4], size_t hash_len);

/*
 * tern_msg_ext_id returns the tern_ext_id of an ExtensionType, or -1 for
 * an extension this codec does not know. Cannot fail.
 */
int tern_msg_ext_id(uint16_t type);

/*
 * tern_msg_ext_allowed returns the mask of known extensions that the RFC
 * 8446 §4.2 table (and RFC 9001 §8.2) allows in a message of this
 * HandshakeType; is_hrr selects the HelloRetryRequest column for
 * TERN_HS_SERVER_HELLO. Unknown message types give 0. Cannot fail.
 */
uint32_t tern_msg_ext_allowed(uint8_t msg_type, int is_hrr);

/*
 * tern_msg_list_has tells whether value is anywhere in a parsed list
 * (scanning raw, so entries beyond the kept ones count too): 1 or 0.
 * Cannot fail; a NULL list gives 0.
 */
int tern_msg_list_has(const tern_u16_list *list, uint16_t value);

/*
 * tern_msg_list_common writes to out the entries of wanted[0..n_wanted)
 * that are anywhere in a parsed list (tern_msg_list_has), in the order of
 * wanted, and returns how many (at most n_wanted). It is how a peer's
 * list of any length is read in full while only values tern knows are
 * kept. Cannot fail; a NULL list gives 0.
 */
size_t tern_msg_list_common(const tern_u16_list *list, const uint16_t *wanted,
                            size_t n_wanted, uint16_t *out);

/*
 * tern_msg_key_share_count returns how many entries of a parsed
 * ClientHello key_share list (every entry, through key_shares_raw) are
 * for group. Cannot fail; a NULL ext gives 0.
 */
size_t tern_msg_key_share_count(const tern_extensions *ext, uint16_t group);

/*
 * tern_msg_find_key_share looks for the client's share for group in a
 * parsed ClientHello key_share list (scanning key_shares_raw, so every
 * entry counts) and sets *out. Returns 1 if found, 0 if not. Cannot fail;
 * NULL arguments give 0.
 */
int tern_msg_find_key_share(const tern_extensions *ext, uint16_t group,
                            tern_key_share_entry *out);

/* ------------------------------------------------------------------ */
/* Parsers                                                             */
/* ------------------------------------------------------------------ */

/* Each returns TERN_OK, TERN_ERR_INVALID_ARG, or TERN_ERR_MALFORMED with
 * *alert set; see the conventions at the top and each one in msg.c. */
int tern_msg_parse_client_hello(const uint8_t *body, size_t len,
                                tern_client_hello *out, uint8_t *alert);
int tern_msg_parse_server_hello(const uint8_t *body, size_t len,
                                tern_server_hello *out, uint8_t *alert);
int tern_msg_parse_encrypted_extensions(const uint8_t *body, size_t len,
                                        tern_encrypted_extensions *out,
                                        uint8_t *alert);
int tern_msg_parse_certificate_request(const uint8_t *body, size_t len,
                                       tern_certificate_request *out,
                                       uint8_t *alert);
int tern_msg_parse_certificate(const uint8_t *body, size_t len,
                               tern_certificate *out, uint8_t *alert);
int tern_msg_parse_certificate_verify(const uint8_t *body, size_t len,
                                      tern_certificate_verify *out,
                                      uint8_t *alert);
int tern_msg_parse_compressed_certificate(const uint8_t *body, size_t len,
                                          tern_compressed_certificate *out,
                                          uint8_t *alert);
/* hash_len is the negotiated hash length (32 or 48; up to
 * TERN_MSG_MAX_HASH, else TERN_ERR_INVALID_ARG). */
int tern_msg_parse_finished(const uint8_t *body, size_t len, size_t hash_len,
                            tern_span *verify_data, uint8_t *alert);
int tern_msg_parse_new_session_ticket(const uint8_t *body, size_t len,
                                      tern_new_session_ticket *out,
                                      uint8_t *alert);
int tern_msg_parse_key_update(const uint8_t *body, size_t len,
                              uint8_t *request_update, uint8_t *alert);
int tern_msg_parse_end_of_early_data(const uint8_t *body, size_t len,
                                     uint8_t *alert);

/* ------------------------------------------------------------------ */
/* Writers                                                             */
/* ------------------------------------------------------------------ */

/*
 * tern_msg_write_client_hello writes a ClientHello. When pre_shared_key is
 * written (it must then be the last extension), the binders are written
 * from ext.binders[i] (zeros where p is NULL, ext.binders[i].len bytes
 * each) and *partial_len receives the length of the PartialClientHello
 * (RFC 8446 §4.2.11.2): out[0 .. *partial_len) is what the binders are
 * computed over; fill them in with tern_msg_set_binder. Without
 * pre_shared_key, *partial_len is the whole length. partial_len may be
 * NULL.
 */
int tern_msg_write_client_hello(const tern_client_hello *in, uint8_t *out,
                                size_t cap, size_t *out_len,
                                size_t *partial_len);

/*
 * tern_msg_set_binder copies binder into entry index of the binders list
 * of a ClientHello written by tern_msg_write_client_hello (msg[0..msg_len),
 * binders list at partial_len). The entry must already have binder_len
 * bytes. Returns TERN_OK, TERN_ERR_INVALID_ARG (NULL, bad offsets, no
 * such entry, wrong length).
 */
int tern_msg_set_binder(uint8_t *msg, size_t msg_len, size_t partial_len,
                        size_t index, const uint8_t *binder,
                        size_t binder_len);

int tern_msg_write_server_hello(const tern_server_hello *in, uint8_t *out,
                                size_t cap, size_t *out_len);
int tern_msg_write_encrypted_extensions(const tern_encrypted_extensions *in,
                                        uint8_t *out, size_t cap,
                                        size_t *out_len);
int tern_msg_write_certificate_request(const tern_certificate_request *in,
                                       uint8_t *out, size_t cap,
                                       size_t *out_len);
/* Writes entries[0..n); each entry's extensions are copied as given. */
int tern_msg_write_certificate(const tern_certificate *in, uint8_t *out,
                               size_t cap, size_t *out_len);
int tern_msg_write_certificate_verify(const tern_certificate_verify *in,
                                      uint8_t *out, size_t cap,
                                      size_t *out_len);
/* uncompressed_length must fit 24 bits, compressed be 1 byte or more. */
int tern_msg_write_compressed_certificate(const tern_compressed_certificate *in,
                                          uint8_t *out, size_t cap,
                                          size_t *out_len);
int tern_msg_write_finished(const uint8_t *verify_data, size_t len,
                            uint8_t *out, size_t cap, size_t *out_len);
int tern_msg_write_new_session_ticket(const tern_new_session_ticket *in,
                                      uint8_t *out, size_t cap,
                                      size_t *out_len);
int tern_msg_write_key_update(uint8_t request_update, uint8_t *out,
                              size_t cap, size_t *out_len);
int tern_msg_write_end_of_early_data(uint8_t *out, size_t cap,
                                     size_t *out_len);

#endif /* TERN_MSG_H */
