/*
 * tests/testhook.h - hooks that let tests replay RFC 8448's traces byte
 * for byte through a real connection. They live in the tests, not in
 * libtern: each installs the substitution table of core/conn.h
 * (c->test), which production connections leave NULL, and makes tern say
 * what a trace said instead of what it would say itself. Every other
 * step (parsing, negotiation, transcript, key schedule, signatures,
 * Finished) runs as usual.
 */
#ifndef TERN_TESTHOOK_H
#define TERN_TESTHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

/*
 * tern_test_plain_tls drops the QUIC rules from a connection made with
 * tern_conn_new_quic (no transport parameters or ALPN required, a
 * legacy_session_id allowed), as TLS over TCP would, while handshake
 * messages and secrets still go through the QUIC callbacks (no records):
 * an EndOfEarlyData goes out at the EARLY level.
 */
void tern_test_plain_tls(tern_conn *c);

/*
 * tern_test_provide_data is tern_quic_provide_data for such a
 * connection, where handshake bytes given at the EARLY level count as
 * received under the 0-RTT keys (an EndOfEarlyData).
 */
int tern_test_provide_data(tern_conn *c, tern_level level, const uint8_t *data, size_t len);

/*
 * tern_test_client_hello makes a client send ch (a whole ClientHello,
 * header included; index 0 the first, 1 the one after a
 * HelloRetryRequest) instead of the one it builds. The bytes must stay
 * alive until the handshake is over. The key shares are still drawn from
 * the random source, so a trace's private key makes the trace's share.
 * Returns TERN_OK or TERN_ERR_INVALID_ARG.
 */
int tern_test_client_hello(tern_conn *c, int index, const uint8_t *ch, size_t len);

/* tern_test_hrr_cookie makes a server's HelloRetryRequest carry this
   cookie (kept by pointer) instead of a random one. */
int tern_test_hrr_cookie(tern_conn *c, const uint8_t *cookie, size_t len);

/*
 * tern_test_server_psk makes a server take every offered PSK identity as
 * a ticket of its own carrying psk (kept by pointer) for suite, with
 * ticket_age_add age_add and max_early_data_size max_early (0: no
 * 0-RTT), issued when the client's ticket age says, for the server name
 * and ALPN this connection negotiates. Binder, single use and every
 * 0-RTT rule are checked as usual. Returns TERN_OK or
 * TERN_ERR_INVALID_ARG.
 */
int tern_test_server_psk(tern_conn *c, const uint8_t *psk, size_t psk_len, uint16_t suite,
                         uint32_t age_add, uint32_t max_early);

#endif
