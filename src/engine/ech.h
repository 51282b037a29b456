/*
 * engine/ech.h - engine layer: Encrypted ClientHello (RFC 9849) in both
 * roles, "shared mode" on the server (it decrypts ClientHelloOuter and
 * runs the handshake on ClientHelloInner itself). HPKE is crypto/hpke.c.
 * Not part of the public API.
 */
#ifndef TERN_ECH_H
#define TERN_ECH_H

#include "core/conn.h"
#include "codec/msg.h"

#define TERN_EXT_ECH 0xfe0d             /* encrypted_client_hello, §5 */
#define TERN_EXT_ECH_OUTER_EXTS 0xfd00  /* ech_outer_extensions, §5.1 */
#define TERN_ECH_VERSION 0xfe0d

#define TERN_ECH_MAX_SUITES 32

/* One parsed ECHConfig (§4); spans point into the bytes parsed. */
typedef struct tern_ech_config {
  tern_span raw;                /* the whole ECHConfig, version and length included */
  uint8_t config_id;
  uint16_t kem;
  tern_span public_key;
  size_t n_suites;              /* kept (the list may be longer) */
  uint16_t kdf[TERN_ECH_MAX_SUITES], aead[TERN_ECH_MAX_SUITES];
  uint8_t maximum_name_length;
  tern_span public_name;
  int mandatory_unknown;        /* an extension with the high bit set: all are unknown */
} tern_ech_config;

/*
 * tern_ech_config_parse reads exactly one ECHConfig from p[0..len).
 * Returns TERN_OK, TERN_ERR_MALFORMED (framing, bounds, a duplicate
 * extension, a public_name that is not a DNS name) or TERN_ERR_UNSUPPORTED
 * (a version other than 0xfe0d: the length was still checked).
 */
int tern_ech_config_parse(const uint8_t *p, size_t len, tern_ech_config *out);

/*
 * tern_ech_config_list_pick walks an ECHConfigList<4..2^16-1> and returns
 * in *out the first config a client can use (supported version, KEM, a
 * suite tern_hpke supports, no unknown mandatory extension), with *kdf and
 * *aead its first usable suite. Returns TERN_OK, TERN_ERR_MALFORMED (list
 * framing or a config of version 0xfe0d that does not parse) or
 * TERN_ERR_UNSUPPORTED (well formed, nothing usable).
 */
int tern_ech_config_list_pick(const uint8_t *list, size_t len, tern_ech_config *out,
                              uint16_t *kdf, uint16_t *aead);

/* tern_ech_config_usable: 1 when cfg is one tern can use (a known KEM and
   a valid public key of it (a P-256 point on the curve), a suite tern_hpke supports that is not
   Export-only, no unknown mandatory extension), its first usable suite
   then in *kdf and *aead; else 0. */
int tern_ech_config_usable(const tern_ech_config *cfg, uint16_t *kdf, uint16_t *aead);

/* tern_ech_config_list_check: only the list's framing (each entry's version
   and length); TERN_OK or TERN_ERR_MALFORMED. */
int tern_ech_config_list_check(const uint8_t *list, size_t len);

/* ---- server (engine/server.c calls these) ---- */

/* ClientHello1: when keys are configured and the hello carries ECH,
   decrypt it; on success c->msg and c->parsed->ch become
   ClientHelloInner. Sets c->ech_status. Returns TERN_OK or fails c. */
int tern_ech_server_ch1(tern_conn *c);
/* ClientHello2 (§7.1.1): the same for the second ClientHelloOuter. */
int tern_ech_server_ch2(tern_conn *c);
/* ServerHello out[0..len): the accept confirmation in its random (§7.2). */
int tern_ech_server_confirm_sh(tern_conn *c, uint8_t *out, size_t len);
/* HelloRetryRequest: the extension to add (8 zero bytes) when ECH was
   accepted, then its confirmation once the transcript was rewritten:
   out[len-8..len) (the extension goes last) (§7.2.1). */
void tern_ech_server_hrr_ext(tern_conn *c, tern_extensions *e);
int tern_ech_server_confirm_hrr(tern_conn *c, uint8_t *out, size_t len);
/* EncryptedExtensions: retry_configs when ECH was rejected (§7.1);
   buf holds the extension data. */
int tern_ech_server_ee(tern_conn *c, tern_extensions *e, uint8_t *buf, size_t cap);

/* ---- client (engine/client.c calls these) ---- */

/* The extension order a writer needs once unknown extensions are in e:
   the known ones in tern_ext_id order, then unknown[], pre_shared_key last. */
void tern_ech_ext_order(tern_extensions *e);
/* Adds the inner ECH extension to a ClientHello being built. */
void tern_ech_client_inner_ext(tern_conn *c, tern_extensions *e);
/* Adds a GREASE ECH extension (§6.2.1) when the configuration asks for one
   and the connection has no ECH configuration. */
int tern_ech_client_grease_ext(tern_conn *c, tern_extensions *e);
/*
 * Wraps the ClientHelloInner inner[0..inner_len) written from ch into a
 * ClientHelloOuter outer[0..*outer_len) (§5.1, §6.1.1, §6.1.3); after a
 * rejecting HelloRetryRequest, an outer hello whose ECH payload is random.
 */
int tern_ech_client_outer(tern_conn *c, const tern_client_hello *ch, const uint8_t *inner,
                          size_t inner_len, uint8_t *outer, size_t cap, size_t *outer_len);
/* The server's first answer: acceptance (§6.1.4). */
int tern_ech_client_hrr(tern_conn *c, const tern_server_hello *hrr);
int tern_ech_client_sh(tern_conn *c, const tern_server_hello *sh, int psk);
/* EncryptedExtensions: retry_configs (§5, §6.1.6). */
int tern_ech_client_ee(tern_conn *c, const tern_extensions *e);

/* Frees a connection's ECH state. */
void tern_ech_conn_free(tern_conn *c);

#endif
