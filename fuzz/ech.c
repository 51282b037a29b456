/*
 * ech.c - fuzz target: Encrypted ClientHello (RFC 9849) without a whole
 * handshake. Byte 0 picks the mode, the rest is its input:
 *
 *   0  an ECHConfigList (from DNS, or retry_configs): the framing check,
 *      the client's pick and every entry's parser (engine/ech.c), then
 *      tern_conn_set_ech_config_list on a client and its first
 *      ClientHello (ClientHelloInner encoded, HPKE sealed). Whatever the
 *      pick accepts must pass the framing check and parse again alone, to
 *      the same config_id and KEM; whatever a client takes must make a
 *      ClientHello.
 *   1  a ClientHelloOuter body (u16 length, bytes) and an
 *      EncodedClientHelloInner (the rest): the harness seals the inner
 *      under the fuzz server's fixed ECH key into an encrypted_client_hello
 *      put first in the outer's extensions (fz_ech_seal), so the fuzzed
 *      plaintext gets past HPKE's tag, and a TLS server holding that key
 *      reads the ClientHello: the outer-extensions expansion
 *      (ech_outer_extensions), the inner hello's parse and checks, and the
 *      handshake on it.
 *   2  an ECHConfig given to a server configuration with the fixed
 *      private key (tern_config_add_ech_key), then the ECHConfigList it
 *      publishes: when the key is taken, the list must frame, hold the
 *      config byte for byte, and be one a client can use.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/ech.h"
#include "fuzz.h"

static void config_list(const uint8_t *p, size_t n) {
  tern_ech_config cfg, again;
  uint16_t kdf = 0, aead = 0;
  fz_victim v;
  int picked = tern_ech_config_list_pick(p, n, &cfg, &kdf, &aead);
  int framed = tern_ech_config_list_check(p, n);
  if (picked == TERN_OK) {
    if (framed != TERN_OK) abort();
    if (tern_ech_config_parse(cfg.raw.p, cfg.raw.len, &again) != TERN_OK ||
        again.config_id != cfg.config_id || again.kem != cfg.kem)
      abort();
  }
  /* each entry alone */
  if (framed == TERN_OK)
    for (size_t off = 2; off + 4 <= n;) {
      size_t len = 4 + (size_t)(p[off + 2] << 8 | p[off + 3]);
      if (len > n - off) break;
      (void)tern_ech_config_parse(p + off, len, &cfg);
      off += len;
    }
  if (fz_victim_init(&v, TERN_CLIENT, 1, 0, NULL, 0) == 0) {
    int rc = tern_conn_set_ech_config_list(v.conn, p, n);
    if (rc == TERN_OK && picked != TERN_OK) abort();
    if (rc == TERN_OK) {
      /* fz_victim_start takes the hello from the output */
      v.record_sent = 1;
      if (fz_victim_start(&v) != 0 || v.sent_len[0] == 0 ||
          tern_conn_ech_status(v.conn) != TERN_ECH_OFFERED)
        abort();
      (void)tern_conn_ech_outer_name(v.conn);
    }
  }
  fz_victim_free(&v);
}

static void inner_hello(const uint8_t *p, size_t n) {
  static uint8_t outer[1 << 17], rec[(1 << 17) + 64];
  size_t outer_len = 0, olen;
  fz_victim v;
  if (n < 2) return;
  olen = (size_t)(p[0] << 8 | p[1]);
  if (olen > n - 2) olen = n - 2;
  if (fz_ech_seal(p + 2, olen, p + 2 + olen, n - 2 - olen, outer + 4, sizeof outer - 4,
                  &outer_len) != 0)
    return;
  outer[0] = 1;
  outer[1] = (uint8_t)(outer_len >> 16);
  outer[2] = (uint8_t)(outer_len >> 8);
  outer[3] = (uint8_t)outer_len;
  outer_len += 4;
  if (fz_victim_init(&v, TERN_SERVER, 1, FZ_X_ECH, NULL, 0) == 0) {
    /* records of up to 2^14 bytes */
    size_t off = 0;
    int rc = 0;
    while (off < outer_len && rc == 0) {
      size_t k = outer_len - off > 16384 ? 16384 : outer_len - off;
      rec[0] = 22, rec[1] = 3, rec[2] = 1, rec[3] = (uint8_t)(k >> 8), rec[4] = (uint8_t)k;
      memcpy(rec + 5, outer + off, k);
      rc = fz_victim_chunk(&v, FZ_OP_RAW, rec, 5 + k);
      off += k;
    }
    (void)tern_conn_ech_status(v.conn);
    (void)tern_conn_ech_outer_name(v.conn);
    (void)tern_conn_server_name(v.conn);
  }
  fz_victim_free(&v);
}

static void server_key(const uint8_t *p, size_t n) {
  tern_config *cfg = tern_config_new(TERN_SERVER);
  uint8_t list[4096];
  size_t len = 0;
  tern_ech_config c;
  uint16_t kdf, aead;
  if (cfg == NULL) abort();
  if (tern_config_add_ech_key(cfg, p, n, fz_ech_sk, sizeof fz_ech_sk, 1) == TERN_OK) {
    if (tern_config_ech_config_list(cfg, list, sizeof list, &len) != TERN_OK ||
        tern_ech_config_list_check(list, len) != TERN_OK || len != n + 2 ||
        memcmp(list + 2, p, n) != 0)
      abort();
    /* a key the server takes is one a client can use */
    if (tern_ech_config_list_pick(list, len, &c, &kdf, &aead) != TERN_OK) abort();
  }
  tern_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  switch (data[0] % 3) {
  case 0: config_list(data + 1, size - 1); break;
  case 1: inner_hello(data + 1, size - 1); break;
  default: server_key(data + 1, size - 1); break;
  }
  return 0;
}
