/*
 * ngtcp2_crypto_tern.h - tern as the TLS of an ngtcp2 connection: the
 * crypto backend library libngtcp2_crypto_tern, in the shape of ngtcp2's
 * own backends (libngtcp2_crypto_gnutls, libngtcp2_crypto_quictls).
 *
 * libngtcp2_crypto_tern provides every function of <ngtcp2/ngtcp2_crypto.h>
 * (the ngtcp2_crypto_*_cb callbacks to put in ngtcp2_callbacks, key
 * derivation and installation, packet protection, tokens, Retry,
 * stateless reset) over tern's public API (tern.h) alone, plus the few
 * functions below that tie a tern connection to an ngtcp2 connection.
 *
 * Use (client or server):
 *
 *   ngtcp2_crypto_conn_ref ref = {get_conn, my_app};   // lives as long as c
 *   tern_conn *c = ngtcp2_crypto_tern_conn_new(cfg, &ref);
 *   ... ngtcp2_conn_client_new / ngtcp2_conn_server_new with callbacks
 *       client_initial = ngtcp2_crypto_client_initial_cb (client),
 *       recv_client_initial = ngtcp2_crypto_recv_client_initial_cb (server),
 *       recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
 *       encrypt/decrypt/hp_mask = ngtcp2_crypto_{encrypt,decrypt,hp_mask}_cb,
 *       recv_retry = ngtcp2_crypto_recv_retry_cb (client),
 *       update_key = ngtcp2_crypto_update_key_cb,
 *       delete_crypto_aead_ctx / delete_crypto_cipher_ctx =
 *           ngtcp2_crypto_delete_crypto_{aead,cipher}_ctx_cb,
 *       get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
 *       version_negotiation = ngtcp2_crypto_version_negotiation_cb;
 *   ngtcp2_conn_set_tls_native_handle(conn, c);
 *
 * The configuration is the application's: certificates, trust, ALPN,
 * sessions (tern_conn_set_session before the first packet is written),
 * 0-RTT (tern_config_set_early_data), key log. Secrets from tern become
 * ngtcp2 keys as they come; handshake bytes go out through
 * ngtcp2_conn_submit_crypto_data; transport parameters go both ways
 * (ngtcp2_conn_encode_local_transport_params into tern: a client's
 * before its ClientHello, a server's with its Handshake write key, once
 * the client's parameters settled the version; the peer's into
 * ngtcp2_conn_decode_remote_transport_params). A failed handshake sets
 * the TLS alert of the ngtcp2 connection (ngtcp2_conn_get_tls_alert), so
 * the application's CONNECTION_CLOSE carries CRYPTO_ERROR 0x100 + alert
 * (ngtcp2_connection_close_error_set_transport_error_tls_alert). A client
 * whose 0-RTT the server refused has ngtcp2_conn_early_data_rejected
 * called for it when the handshake completes.
 *
 * A server's 0-RTT must match the transport parameters it relies on (RFC
 * 9000 §7.4.1): ngtcp2_crypto_recv_client_initial_cb makes the early-data
 * context of the tern connection (tern_conn_set_early_data_context) from
 * the server's initial_max_* limits, active_connection_id_limit and
 * max_datagram_frame_size, so a ticket issued under other limits carries
 * no 0-RTT.
 *
 * Native handles: the md, aead and cipher of an ngtcp2_crypto_ctx made by
 * this backend hold a TLS 1.3 cipher suite code (TERN_TLS_*) cast to a
 * pointer, (void *)(uintptr_t)suite: the suite's hash, AEAD and header
 * protection cipher. ngtcp2_crypto_md_init and the functions that take an
 * aead or md expect the same. AEAD and cipher contexts hold a tern_quic_key
 * prepared once per key (never per packet); ngtcp2_crypto_ctx_tls takes a
 * tern_conn *.
 *
 * Versions: QUIC v1. ngtcp2 0.12 knows version 2 only as its draft
 * (0x709a50c4, other salts and keys than RFC 9369's); tern implements the
 * RFC's version 2, so the draft is refused (the callbacks fail) and a
 * v1 connection goes on where the peer negotiates.
 */
#ifndef NGTCP2_CRYPTO_TERN_H
#define NGTCP2_CRYPTO_TERN_H

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <tern.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * ngtcp2_crypto_tern_conn_new makes a QUIC-mode tern connection whose
 * secrets and handshake bytes go to the ngtcp2 connection that
 * conn_ref->get_conn returns; conn_ref is its user pointer
 * (tern_conn_user) and must outlive it. Set it as the ngtcp2
 * connection's TLS native handle. Returns NULL on bad arguments or
 * allocation failure.
 */
NGTCP2_EXTERN tern_conn *
ngtcp2_crypto_tern_conn_new(tern_config *cfg, ngtcp2_crypto_conn_ref *conn_ref);

/**
 * ngtcp2_crypto_tern_callbacks gives the tern_quic_callbacks of this
 * backend, for an application that makes its tern connections itself
 * with tern_conn_new_quic: the user pointer must then be an
 * ngtcp2_crypto_conn_ref *.
 */
NGTCP2_EXTERN const tern_quic_callbacks *ngtcp2_crypto_tern_callbacks(void);

/** Level translations between tern and ngtcp2 (same four levels). */
NGTCP2_EXTERN ngtcp2_crypto_level
ngtcp2_crypto_tern_from_tern_level(tern_level level);
NGTCP2_EXTERN tern_level
ngtcp2_crypto_tern_from_ngtcp2_crypto_level(ngtcp2_crypto_level level);

/**
 * ngtcp2_crypto_tern_early_data_context writes into out (at least
 * NGTCP2_CRYPTO_TERN_EARLY_DATA_CONTEXTLEN bytes) the early-data context
 * this backend sets on a server connection from transport parameters
 * params: the limits 0-RTT depends on, 8 bytes each in network order.
 * Returns the length written.
 */
#define NGTCP2_CRYPTO_TERN_EARLY_DATA_CONTEXTLEN 64
NGTCP2_EXTERN size_t
ngtcp2_crypto_tern_early_data_context(const ngtcp2_transport_params *params,
                                      uint8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* NGTCP2_CRYPTO_TERN_H */
