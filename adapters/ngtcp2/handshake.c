/*
 * adapters/ngtcp2/handshake.c - libngtcp2_crypto_tern: the handshake
 * between a tern connection and an ngtcp2 connection. Initial keys
 * (client_initial, recv_client_initial, recv_retry, version
 * negotiation), the keys tern's secrets become, key update, transport
 * parameters both ways, CRYPTO data in (tern_quic_provide_data and
 * tern_handshake) and out (ngtcp2_conn_submit_crypto_data), handshake
 * completion, 0-RTT refusal and TLS alerts.
 */
#include "backend.h"

#include <string.h>

#include <openssl/crypto.h>

/* The ngtcp2 connection of a tern connection, through its conn_ref. */
static ngtcp2_conn *conn_of(tern_conn *c) {
  ngtcp2_crypto_conn_ref *ref = tern_conn_user(c);
  if (ref == NULL || ref->get_conn == NULL) return NULL;
  return ref->get_conn(ref);
}

ngtcp2_crypto_level ngtcp2_crypto_tern_from_tern_level(tern_level level) {
  switch (level) {
  case TERN_LEVEL_INITIAL: return NGTCP2_CRYPTO_LEVEL_INITIAL;
  case TERN_LEVEL_EARLY: return NGTCP2_CRYPTO_LEVEL_EARLY;
  case TERN_LEVEL_HANDSHAKE: return NGTCP2_CRYPTO_LEVEL_HANDSHAKE;
  default: return NGTCP2_CRYPTO_LEVEL_APPLICATION;
  }
}

tern_level ngtcp2_crypto_tern_from_ngtcp2_crypto_level(ngtcp2_crypto_level level) {
  switch (level) {
  case NGTCP2_CRYPTO_LEVEL_INITIAL: return TERN_LEVEL_INITIAL;
  case NGTCP2_CRYPTO_LEVEL_EARLY: return TERN_LEVEL_EARLY;
  case NGTCP2_CRYPTO_LEVEL_HANDSHAKE: return TERN_LEVEL_HANDSHAKE;
  default: return TERN_LEVEL_APPLICATION;
  }
}

/* ------------------------------------------------------------------ */
/* Initial keys                                                        */
/* ------------------------------------------------------------------ */

int ntern_initial_keys(uint32_t version, const ngtcp2_cid *dcid, int server, ntern_key **rx,
                       uint8_t rx_iv[12], ntern_key **tx, uint8_t tx_iv[12]) {
  uint8_t cs[32], ss[32];
  int rv = -1;
  *rx = *tx = NULL;
  if (tern_quic_initial_secrets(version, dcid->data, dcid->datalen, cs, ss) != TERN_OK)
    goto out;
  *rx = ntern_key_from_secret(version, TERN_TLS_AES_128_GCM_SHA256, server ? cs : ss, 32,
                              NULL, rx_iv, NULL);
  *tx = ntern_key_from_secret(version, TERN_TLS_AES_128_GCM_SHA256, server ? ss : cs, 32,
                              NULL, tx_iv, NULL);
  if (*rx == NULL || *tx == NULL) {
    ntern_key_unref(*rx);
    ntern_key_unref(*rx);
    ntern_key_unref(*tx);
    ntern_key_unref(*tx);
    *rx = *tx = NULL;
    goto out;
  }
  rv = 0;
out:
  OPENSSL_cleanse(cs, sizeof cs);
  OPENSSL_cleanse(ss, sizeof ss);
  return rv;
}

/* Drops both references of each key of a pair that was not installed. */
static void drop_pair(ntern_key *rx, ntern_key *tx) {
  ntern_key_unref(rx);
  ntern_key_unref(rx);
  ntern_key_unref(tx);
  ntern_key_unref(tx);
}

/*
 * install_initial installs the Initial keys of version for the client's
 * DCID (vneg: as the keys of the version being negotiated, RFC 9368),
 * with the Initial crypto context (AES-128-GCM, SHA-256).
 */
static int install_initial(ngtcp2_conn *conn, uint32_t version, const ngtcp2_cid *dcid,
                           int vneg) {
  ngtcp2_crypto_ctx ictx;
  ntern_key *rx, *tx;
  uint8_t rx_iv[12], tx_iv[12];
  int rv;

  if (ntern_initial_keys(version, dcid, ngtcp2_conn_is_server(conn), &rx, rx_iv, &tx, tx_iv))
    return -1;
  ntern_ctx_init(&ictx, TERN_TLS_AES_128_GCM_SHA256);
  ngtcp2_conn_set_initial_crypto_ctx(conn, &ictx);
  ngtcp2_crypto_aead_ctx rx_aead = {rx}, tx_aead = {tx};
  ngtcp2_crypto_cipher_ctx rx_hp = {rx}, tx_hp = {tx};
  if (vneg)
    rv = ngtcp2_conn_install_vneg_initial_key(conn, version, &rx_aead, rx_iv, &rx_hp, &tx_aead,
                                              tx_iv, &tx_hp, 12);
  else
    rv = ngtcp2_conn_install_initial_key(conn, &rx_aead, rx_iv, &rx_hp, &tx_aead, tx_iv,
                                         &tx_hp, 12);
  if (rv != 0) {
    drop_pair(rx, tx);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Transport parameters                                                */
/* ------------------------------------------------------------------ */

/* Our transport parameters, as ngtcp2 encodes them, into tern. */
static int set_local_transport_params(ngtcp2_conn *conn, tern_conn *c) {
  uint8_t buf[512];
  ngtcp2_ssize n = ngtcp2_conn_encode_local_transport_params(conn, buf, sizeof buf);
  if (n < 0) return -1;
  return tern_quic_set_transport_params(c, buf, (size_t)n) == TERN_OK ? 0 : -1;
}

/* The peer's transport parameters, from tern, into ngtcp2 (which checks
   them and, on a server, settles the version). */
static int set_remote_transport_params(ngtcp2_conn *conn, tern_conn *c) {
  const uint8_t *p;
  size_t n;
  int rv;
  if (tern_quic_peer_transport_params(c, &p, &n) != TERN_OK) {
    /* RFC 9001 §8.2: a peer without the extension is a missing_extension */
    ngtcp2_conn_set_tls_alert(conn, TERN_ALERT_MISSING_EXTENSION);
    return -1;
  }
  rv = ngtcp2_conn_decode_remote_transport_params(conn, p, n);
  if (rv != 0) {
    ngtcp2_conn_set_tls_error(conn, rv);
    return -1;
  }
  return 0;
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

size_t ngtcp2_crypto_tern_early_data_context(const ngtcp2_transport_params *tp, uint8_t *out) {
  put64(out, tp->initial_max_data);
  put64(out + 8, tp->initial_max_stream_data_bidi_local);
  put64(out + 16, tp->initial_max_stream_data_bidi_remote);
  put64(out + 24, tp->initial_max_stream_data_uni);
  put64(out + 32, tp->initial_max_streams_bidi);
  put64(out + 40, tp->initial_max_streams_uni);
  put64(out + 48, tp->active_connection_id_limit);
  put64(out + 56, tp->max_datagram_frame_size);
  return NGTCP2_CRYPTO_TERN_EARLY_DATA_CONTEXTLEN;
}

/* ------------------------------------------------------------------ */
/* Keys from tern's secrets                                            */
/* ------------------------------------------------------------------ */

/*
 * The crypto context and version of a level: 0-RTT keys are of the
 * client's chosen version, the others of the negotiated one. A server
 * reads the client's transport parameters before its first Handshake key
 * (they settle the negotiated version).
 */
static const ngtcp2_crypto_ctx *level_ctx(ngtcp2_conn *conn, tern_conn *c,
                                          ngtcp2_crypto_level level, uint32_t *version) {
  ngtcp2_crypto_ctx cctx;
  const ngtcp2_crypto_ctx *ctx;
  if (level == NGTCP2_CRYPTO_LEVEL_EARLY) {
    ctx = ngtcp2_conn_get_early_crypto_ctx(conn);
    if (ctx->aead.native_handle == NULL) {
      if (ngtcp2_crypto_ctx_tls_early(&cctx, c) == NULL) return NULL;
      ngtcp2_conn_set_early_crypto_ctx(conn, &cctx);
      ctx = ngtcp2_conn_get_early_crypto_ctx(conn);
    }
    *version = ngtcp2_conn_get_client_chosen_version(conn);
    return ctx;
  }
  if (level == NGTCP2_CRYPTO_LEVEL_HANDSHAKE && ngtcp2_conn_is_server(conn) &&
      ngtcp2_conn_get_negotiated_version(conn) == 0 && set_remote_transport_params(conn, c))
    return NULL;
  ctx = ngtcp2_conn_get_crypto_ctx(conn);
  if (ctx->aead.native_handle == NULL) {
    if (ngtcp2_crypto_ctx_tls(&cctx, c) == NULL) return NULL;
    ngtcp2_conn_set_crypto_ctx(conn, &cctx);
    ctx = ngtcp2_conn_get_crypto_ctx(conn);
  }
  *version = ngtcp2_conn_get_negotiated_version(conn);
  return ctx;
}

/* derive_and_install: both directions' public entry points. */
static int derive_and_install(ngtcp2_conn *conn, int tx, uint8_t *key, uint8_t *iv_out,
                              uint8_t *hp, ngtcp2_crypto_level level, const uint8_t *secret,
                              size_t secretlen) {
  tern_conn *c = ngtcp2_conn_get_tls_native_handle(conn);
  const ngtcp2_crypto_ctx *ctx;
  uint32_t version;
  uint8_t iv[12];
  ntern_key *w;
  int server = ngtcp2_conn_is_server(conn), rv;

  /* 0-RTT goes from client to server only */
  if (level == NGTCP2_CRYPTO_LEVEL_EARLY && tx == server) return 0;
  if (c == NULL || (ctx = level_ctx(conn, c, level, &version)) == NULL) return -1;
  w = ntern_key_from_secret(version, ntern_suite_of(ctx->aead.native_handle), secret,
                            secretlen, key, iv, hp);
  if (w == NULL) return -1;
  if (iv_out) memcpy(iv_out, iv, 12);
  ngtcp2_crypto_aead_ctx aead_ctx = {w};
  ngtcp2_crypto_cipher_ctx hp_ctx = {w};

  switch (level) {
  case NGTCP2_CRYPTO_LEVEL_EARLY:
    rv = ngtcp2_conn_install_early_key(conn, &aead_ctx, iv, 12, &hp_ctx);
    break;
  case NGTCP2_CRYPTO_LEVEL_HANDSHAKE:
    rv = tx ? ngtcp2_conn_install_tx_handshake_key(conn, &aead_ctx, iv, 12, &hp_ctx)
            : ngtcp2_conn_install_rx_handshake_key(conn, &aead_ctx, iv, 12, &hp_ctx);
    /* A server's parameters go into EncryptedExtensions, written after
       this key: only now, with the client's read, has ngtcp2 settled the
       version they name (RFC 9368 §5). The key is ngtcp2's already. */
    if (rv == 0 && tx && server && set_local_transport_params(conn, c) != 0) {
      OPENSSL_cleanse(iv, sizeof iv);
      return -1;
    }
    break;
  case NGTCP2_CRYPTO_LEVEL_APPLICATION:
    /* a client has the server's parameters once the server's Finished
       verified, which is when its 1-RTT read key comes */
    if (!tx && !server && set_remote_transport_params(conn, c)) {
      rv = -1;
      break;
    }
    rv = tx ? ngtcp2_conn_install_tx_key(conn, secret, secretlen, &aead_ctx, iv, 12, &hp_ctx)
            : ngtcp2_conn_install_rx_key(conn, secret, secretlen, &aead_ctx, iv, 12, &hp_ctx);
    break;
  default:
    rv = -1;
  }
  OPENSSL_cleanse(iv, sizeof iv);
  if (rv != 0) {
    ntern_key_unref(w);
    ntern_key_unref(w);
    return -1;
  }
  return 0;
}

int ngtcp2_crypto_derive_and_install_rx_key(ngtcp2_conn *conn, uint8_t *key, uint8_t *iv,
                                            uint8_t *hp, ngtcp2_crypto_level level,
                                            const uint8_t *secret, size_t secretlen) {
  return derive_and_install(conn, 0, key, iv, hp, level, secret, secretlen);
}

int ngtcp2_crypto_derive_and_install_tx_key(ngtcp2_conn *conn, uint8_t *key, uint8_t *iv,
                                            uint8_t *hp, ngtcp2_crypto_level level,
                                            const uint8_t *secret, size_t secretlen) {
  return derive_and_install(conn, 1, key, iv, hp, level, secret, secretlen);
}

/* ------------------------------------------------------------------ */
/* Key update (RFC 9001 §6)                                            */
/* ------------------------------------------------------------------ */

/* One direction: the next secret, its key and IV, a new AEAD context
   (header protection is not updated). */
static int next_key(uint32_t version, uint16_t suite, const uint8_t *current, size_t len,
                    uint8_t *next, ngtcp2_crypto_aead_ctx *aead_ctx, uint8_t *key_out,
                    uint8_t *iv) {
  uint8_t key[32], hp[32];
  size_t kl, hl;
  int rv = -1;
  if (tern_quic_next_secret(version, suite, current, len, next) == TERN_OK &&
      tern_quic_derive_keys(version, suite, next, len, key, &kl, iv, hp, &hl) == TERN_OK) {
    aead_ctx->native_handle =
        ntern_key_wrap(tern_quic_key_new_raw(suite, key, kl, iv, NULL, 0), 1);
    if (aead_ctx->native_handle != NULL) rv = 0;
    if (key_out) memcpy(key_out, key, kl);
  }
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(hp, sizeof hp);
  return rv;
}

int ngtcp2_crypto_update_key(ngtcp2_conn *conn, uint8_t *rx_secret, uint8_t *tx_secret,
                             ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_key,
                             uint8_t *rx_iv, ngtcp2_crypto_aead_ctx *tx_aead_ctx,
                             uint8_t *tx_key, uint8_t *tx_iv,
                             const uint8_t *current_rx_secret,
                             const uint8_t *current_tx_secret, size_t secretlen) {
  const ngtcp2_crypto_ctx *ctx = ngtcp2_conn_get_crypto_ctx(conn);
  uint32_t version = ngtcp2_conn_get_negotiated_version(conn);
  uint16_t suite = ntern_suite_of(ctx->aead.native_handle);

  if (next_key(version, suite, current_rx_secret, secretlen, rx_secret, rx_aead_ctx, rx_key,
               rx_iv) != 0)
    return -1;
  if (next_key(version, suite, current_tx_secret, secretlen, tx_secret, tx_aead_ctx, tx_key,
               tx_iv) != 0) {
    ngtcp2_crypto_aead_ctx_free(rx_aead_ctx);
    return -1;
  }
  return 0;
}

int ngtcp2_crypto_update_key_cb(ngtcp2_conn *conn, uint8_t *rx_secret, uint8_t *tx_secret,
                                ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_iv,
                                ngtcp2_crypto_aead_ctx *tx_aead_ctx, uint8_t *tx_iv,
                                const uint8_t *current_rx_secret,
                                const uint8_t *current_tx_secret, size_t secretlen,
                                void *user_data) {
  (void)user_data;
  return ngtcp2_crypto_update_key(conn, rx_secret, tx_secret, rx_aead_ctx, NULL, rx_iv,
                                  tx_aead_ctx, NULL, tx_iv, current_rx_secret,
                                  current_tx_secret, secretlen) == 0
             ? 0
             : NGTCP2_ERR_CALLBACK_FAILURE;
}

/* ------------------------------------------------------------------ */
/* CRYPTO data and the handshake                                       */
/* ------------------------------------------------------------------ */

/* A failed handshake: the alert for CONNECTION_CLOSE (internal_error
   when tern failed without one). */
static int handshake_failed(ngtcp2_conn *conn, tern_conn *c) {
  uint8_t alert = tern_conn_alert(c);
  ngtcp2_conn_set_tls_alert(conn, alert ? alert : TERN_ALERT_INTERNAL_ERROR);
  return -1;
}

int ngtcp2_crypto_read_write_crypto_data(ngtcp2_conn *conn, ngtcp2_crypto_level crypto_level,
                                         const uint8_t *data, size_t datalen) {
  tern_conn *c = ngtcp2_conn_get_tls_native_handle(conn);
  int rc;
  if (c == NULL) return -1;
  if (datalen > 0 &&
      tern_quic_provide_data(c, ngtcp2_crypto_tern_from_ngtcp2_crypto_level(crypto_level),
                             data, datalen) != TERN_OK)
    return handshake_failed(conn, c);
  rc = tern_handshake(c);
  if (rc < 0) return handshake_failed(conn, c);
  if (rc == TERN_OK && !ngtcp2_conn_get_handshake_completed(conn)) {
    if (!ngtcp2_conn_is_server(conn) &&
        tern_conn_early_data_status(c) == TERN_EARLY_DATA_REJECTED)
      ngtcp2_conn_early_data_rejected(conn);
    ngtcp2_conn_handshake_completed(conn);
  }
  return 0;
}

int ngtcp2_crypto_recv_crypto_data_cb(ngtcp2_conn *conn, ngtcp2_crypto_level crypto_level,
                                      uint64_t offset, const uint8_t *data, size_t datalen,
                                      void *user_data) {
  (void)offset;
  (void)user_data;
  if (ngtcp2_crypto_read_write_crypto_data(conn, crypto_level, data, datalen) != 0) {
    if (ngtcp2_conn_get_tls_error(conn) == 0) ngtcp2_conn_set_tls_error(conn, NGTCP2_ERR_CRYPTO);
    return NGTCP2_ERR_CRYPTO;
  }
  return 0;
}

/* tern's callbacks: secrets become keys, handshake bytes CRYPTO data. */
static int on_secret(tern_conn *c, tern_level level, tern_direction dir, uint16_t suite,
                     const uint8_t *secret, size_t len) {
  ngtcp2_conn *conn = conn_of(c);
  ngtcp2_crypto_level l = ngtcp2_crypto_tern_from_tern_level(level);
  ngtcp2_crypto_ctx cctx;
  if (conn == NULL || ntern_ctx_init(&cctx, suite) == NULL) return -1;
  /* the suite comes with the secret: 0-RTT's is the session's */
  if (l == NGTCP2_CRYPTO_LEVEL_EARLY)
    ngtcp2_conn_set_early_crypto_ctx(conn, &cctx);
  else if (l != NGTCP2_CRYPTO_LEVEL_INITIAL &&
           ngtcp2_conn_get_crypto_ctx(conn)->aead.native_handle == NULL)
    ngtcp2_conn_set_crypto_ctx(conn, &cctx);
  return derive_and_install(conn, dir == TERN_WRITE, NULL, NULL, NULL, l, secret, len);
}

static int on_send(tern_conn *c, tern_level level, const uint8_t *data, size_t len) {
  ngtcp2_conn *conn = conn_of(c);
  int rv;
  if (conn == NULL) return -1;
  rv = ngtcp2_conn_submit_crypto_data(conn, ngtcp2_crypto_tern_from_tern_level(level), data,
                                      len);
  if (rv != 0) {
    ngtcp2_conn_set_tls_error(conn, rv);
    return -1;
  }
  return 0;
}

static const tern_quic_callbacks tern_callbacks = {on_secret, on_send};

const tern_quic_callbacks *ngtcp2_crypto_tern_callbacks(void) { return &tern_callbacks; }

tern_conn *ngtcp2_crypto_tern_conn_new(tern_config *cfg, ngtcp2_crypto_conn_ref *conn_ref) {
  if (cfg == NULL || conn_ref == NULL || conn_ref->get_conn == NULL) return NULL;
  return tern_conn_new_quic(cfg, &tern_callbacks, conn_ref);
}

/* ------------------------------------------------------------------ */
/* The callbacks that start a connection                               */
/* ------------------------------------------------------------------ */

/* The Retry context of a version, for a client to check Retry packets. */
static int set_retry_aead(ngtcp2_conn *conn, uint32_t version) {
  ngtcp2_crypto_aead aead = {(void *)(uintptr_t)TERN_TLS_AES_128_GCM_SHA256,
                             TERN_QUIC_TAG_LEN};
  ngtcp2_crypto_aead_ctx actx = {ntern_key_retry(version)};
  if (actx.native_handle == NULL) return -1;
  ngtcp2_conn_set_retry_aead(conn, &aead, &actx);
  return 0;
}

int ngtcp2_crypto_client_initial_cb(ngtcp2_conn *conn, void *user_data) {
  tern_conn *c = ngtcp2_conn_get_tls_native_handle(conn);
  uint32_t version = ngtcp2_conn_get_client_chosen_version(conn);
  (void)user_data;
  if (c == NULL || install_initial(conn, version, ngtcp2_conn_get_dcid(conn), 0) != 0 ||
      set_retry_aead(conn, version) != 0 || set_local_transport_params(conn, c) != 0 ||
      ngtcp2_crypto_read_write_crypto_data(conn, NGTCP2_CRYPTO_LEVEL_INITIAL, NULL, 0) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

int ngtcp2_crypto_recv_retry_cb(ngtcp2_conn *conn, const ngtcp2_pkt_hd *hd, void *user_data) {
  (void)user_data;
  /* RFC 9000 §17.2.5.2: Initial keys from the Retry's Source CID */
  return install_initial(conn, ngtcp2_conn_get_client_chosen_version(conn), &hd->scid, 0) == 0
             ? 0
             : NGTCP2_ERR_CALLBACK_FAILURE;
}

int ngtcp2_crypto_recv_client_initial_cb(ngtcp2_conn *conn, const ngtcp2_cid *dcid,
                                         void *user_data) {
  tern_conn *c = ngtcp2_conn_get_tls_native_handle(conn);
  uint8_t ctx[NGTCP2_CRYPTO_TERN_EARLY_DATA_CONTEXTLEN];
  size_t n;
  (void)user_data;
  if (c == NULL ||
      install_initial(conn, ngtcp2_conn_get_client_chosen_version(conn), dcid, 0) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  /* the limits 0-RTT relies on are known now; the parameters themselves
     are set with the Handshake write key */
  n = ngtcp2_crypto_tern_early_data_context(ngtcp2_conn_get_local_transport_params(conn), ctx);
  if (tern_conn_set_early_data_context(c, ctx, n) != TERN_OK) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

int ngtcp2_crypto_version_negotiation_cb(ngtcp2_conn *conn, uint32_t version,
                                         const ngtcp2_cid *client_dcid, void *user_data) {
  (void)user_data;
  return install_initial(conn, version, client_dcid, 1) == 0 ? 0
                                                               : NGTCP2_ERR_CALLBACK_FAILURE;
}
