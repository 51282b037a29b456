/*
 * ticket.c - fuzz target: session blobs and server tickets.
 *
 * Input: byte 0 = mode (bit 0: 0 a session blob, 1 a ticket plaintext;
 * bit 1: TLS over TCP instead of QUIC; bit 2: 0-RTT on), then the bytes.
 *
 * A session blob goes to tern_session_decode and, through
 * tern_conn_set_session, into a client's ClientHello, which a tern server
 * then answers. A ticket plaintext is sealed under the server's ticket
 * key, which the harness knows (fz_ticket_key), so tern_ticket_open's
 * parser behind the MAC is reached; a ticket that opens is put into a
 * session blob with its own PSK, so the client's binder verifies and the
 * server's resumption checks (suite, age, lifetime, ALPN, server name,
 * early-data context, client authentication) run on the fuzzed fields.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "engine/ticket.h"
#include "fuzz.h"

/*
 * A session the client refuses (it does not decode, or it has expired)
 * leaves a full handshake that no byte of the input steers but the mode's
 * two flags, which the handshake targets cover: the client's first flight
 * is still made (a refused session must leave no trace in it), and the
 * server and the rest of the conversation only run for a session taken.
 */
static void converse(int tls, uint8_t flags, const uint8_t *blob, size_t blob_len) {
  fz_victim c, s;
  memset(&s, 0, sizeof s); /* fz_victim_free takes a victim never made */
  if (fz_victim_init(&c, TERN_CLIENT, tls, flags, blob, blob_len) == 0) {
    c.record_sent = 1;
    if (fz_victim_start(&c) == 0 && c.session_rc == TERN_OK &&
        fz_victim_init(&s, TERN_SERVER, tls, flags, NULL, 0) == 0) {
      s.record_sent = 1;
      (void)fz_converse(&c, &s, NULL, NULL, NULL, NULL);
    }
  }
  fz_victim_free(&c);
  fz_victim_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static tern_ticket_keys *keys;
  static tern_session_state ss;
  static uint8_t sealed[TERN_TICKET_MAX + 64], blob[TERN_SESSION_MAX_BYTES + 64];
  tern_ticket_state st;
  uint8_t nonce[SHA256_DIGEST_LENGTH];
  size_t sealed_len, blob_len;
  int tls, flags;
  if (size < 1) return 0;
  tls = (data[0] >> 1) & 1;
  flags = data[0] & 4 ? FZ_F_EARLY : 0;
  if (keys == NULL) {
    if ((keys = tern_ticket_keys_new()) == NULL ||
        tern_ticket_keys_rotate(keys, fz_ticket_name, fz_ticket_key) != TERN_OK)
      abort();
  }
  if ((data[0] & 1) == 0) {
    (void)tern_session_decode(data + 1, size - 1, &ss);
    converse(tls, (uint8_t)flags, data + 1, size - 1);
    return 0;
  }
  SHA256(data, size, nonce);
  sealed_len = fz_ticket_seal(data + 1, size - 1, nonce, sealed, sizeof sealed);
  if (sealed_len == 0 || tern_ticket_open(keys, sealed, sealed_len, &st) != TERN_OK) return 0;
  if (sealed_len > TERN_TICKET_MAX) return 0;
  memset(&ss, 0, sizeof ss);
  ss.suite = st.suite;
  memcpy(ss.psk, st.psk, sizeof ss.psk);
  ss.psk_len = st.psk_len;
  ss.receive_time_ms = FZ_NOW_MS;
  ss.lifetime_s = st.lifetime_s;
  ss.age_add = st.age_add;
  ss.max_early_data = st.max_early_data;
  ss.alpn_len = st.alpn_len;
  memcpy(ss.alpn, st.alpn, sizeof ss.alpn);
  ss.server_name_len = st.server_name_len;
  memcpy(ss.server_name, st.server_name, sizeof ss.server_name);
  ss.ticket_len = (uint16_t)sealed_len;
  memcpy(ss.ticket, sealed, sealed_len);
  if (tern_session_encode(&ss, blob, sizeof blob, &blob_len) == TERN_OK)
    converse(tls, (uint8_t)flags, blob, blob_len);
  return 0;
}
