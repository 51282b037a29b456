/*
 * tools/main.c - the `tern` command-line program: picks the command.
 *
 *   tern demo    walk through what tern does today, printing each step
 *   tern client  TLS 1.3 over TCP to a server (cli_client.c)
 *   tern server  a TLS 1.3 server: echo, or a page with --www (cli_server.c,
 *                on the epoll loop of cli_serve.c)
 *   tern h3-server, tern h3-client  HTTP/3 over QUIC on a UDP socket, ngtcp2
 *                with tern as its TLS (h3_server.c, h3_client.c; built
 *                when libngtcp2 and libnghttp3 are present)
 *
 * The demo runs a tern client and server in QUIC mode (demo_handshake.c),
 * then QUIC packet protection end to end (initial secrets for QUIC v1 and
 * v2, protect/unprotect, header protection, tamper detection, key
 * update, Retry integrity).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <tern.h>

#include "cli.h"
#include "demo.h"
#ifdef TERN_HAVE_H3
#include "h3.h"
#endif

static void hex(const char *label, const uint8_t *p, size_t n) {
  printf("    %-22s ", label);
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "tern demo: %s: %s\n", what, tern_strerror(rc));
  return 1;
}

/*
 * Builds a client Initial of 1200 bytes (long header, 4-byte packet
 * number, CRYPTO frame then PADDING) into pkt; returns the header length.
 */
static size_t build_initial(uint32_t version, const uint8_t *dcid, size_t dcid_len,
                            uint8_t *pkt, size_t *payload_len) {
  size_t n = 0;
  uint8_t type = version == TERN_QUIC_V2 ? 1 : 0; /* Initial (RFC 9369 §3.2) */
  pkt[n++] = (uint8_t)(0xc0 | (type << 4) | 0x03);   /* pn length 4 */
  pkt[n++] = (uint8_t)(version >> 24);
  pkt[n++] = (uint8_t)(version >> 16);
  pkt[n++] = (uint8_t)(version >> 8);
  pkt[n++] = (uint8_t)version;
  pkt[n++] = (uint8_t)dcid_len;
  memcpy(pkt + n, dcid, dcid_len);
  n += dcid_len;
  pkt[n++] = 0;                       /* SCID length */
  pkt[n++] = 0;                       /* token length */
  size_t total = 1200;
  size_t length = total - (n + 2);    /* pn + payload + tag, 2-byte varint */
  pkt[n++] = (uint8_t)(0x40 | (length >> 8));
  pkt[n++] = (uint8_t)length;
  memset(pkt + n, 0, 4);              /* packet number 0 */
  n += 4;
  *payload_len = total - n - TERN_QUIC_TAG_LEN;
  uint8_t *pl = pkt + n;
  memset(pl, 0, *payload_len);        /* PADDING frames */
  static const char hello[] = "stand-in ClientHello bytes";
  pl[0] = 0x06;                       /* CRYPTO frame, offset 0 */
  pl[1] = 0x00;
  pl[2] = (uint8_t)(sizeof hello - 1);
  memcpy(pl + 3, hello, sizeof hello - 1);
  return n;
}

static int demo_initial(uint32_t version, const char *name) {
  uint8_t dcid[8], cs[32], ss[32], key[32], iv[12], hp[32];
  uint8_t pkt[1300], copy[1300], out[1300];
  size_t key_len, hp_len, payload_len, pkt_len;
  int rc;

  printf("\n[%s] Initial packets\n", name);
  RAND_bytes(dcid, sizeof dcid);
  hex("client DCID", dcid, sizeof dcid);
  if ((rc = tern_quic_initial_secrets(version, dcid, sizeof dcid, cs, ss)) != TERN_OK)
    return fail("initial secrets", rc);
  printf("    initial secrets derived (anyone who sees the DCID can derive them):\n");
  hex("client_initial_secret", cs, 32);
  hex("server_initial_secret", ss, 32);
  if ((rc = tern_quic_derive_keys(version, TERN_TLS_AES_128_GCM_SHA256, cs, 32, key,
                                  &key_len, iv, hp, &hp_len)) != TERN_OK)
    return fail("derive keys", rc);
  hex("client key", key, key_len);
  hex("client iv", iv, 12);
  hex("client hp", hp, hp_len);

  tern_quic_key *client = tern_quic_key_new(version, TERN_TLS_AES_128_GCM_SHA256, cs, 32);
  tern_quic_key *server_view = tern_quic_key_new(version, TERN_TLS_AES_128_GCM_SHA256, cs, 32);
  if (!client || !server_view) return fail("key setup", TERN_ERR_NOMEM);

  size_t hdr_len = build_initial(version, dcid, sizeof dcid, pkt, &payload_len);
  hex("header before HP", pkt, hdr_len);
  double t0 = now_ns();
  rc = tern_quic_protect(client, 0, pkt, hdr_len, payload_len, sizeof pkt, &pkt_len);
  double t1 = now_ns();
  if (rc != TERN_OK) return fail("protect", rc);
  hex("header after HP", pkt, hdr_len);
  printf("    client protected a %zu-byte Initial in %.1f us\n", pkt_len, (t1 - t0) / 1e3);

  memcpy(copy, pkt, pkt_len);
  tern_quic_packet_info info;
  t0 = now_ns();
  rc = tern_quic_unprotect(server_view, pkt, pkt_len, 0, UINT64_MAX, out, &info);
  t1 = now_ns();
  if (rc != TERN_OK) return fail("unprotect", rc);
  printf("    server unprotected it in %.1f us: pn %llu, header %zu B, payload %zu B, "
         "CRYPTO frame says \"%.*s\"\n",
         (t1 - t0) / 1e3, (unsigned long long)info.pn, info.hdr_len, info.payload_len,
         out[info.hdr_len + 2], (const char *)out + info.hdr_len + 3);

  copy[pkt_len / 2] ^= 0x01;
  rc = tern_quic_unprotect(server_view, copy, pkt_len, 0, UINT64_MAX, out, &info);
  printf("    one bit flipped in the payload -> %s (%d)\n", tern_strerror(rc), rc);
  tern_quic_key_free(client);
  tern_quic_key_free(server_view);
  return rc == TERN_ERR_DECRYPT ? 0 : 1;
}

static int demo_key_update(void) {
  uint8_t secret[32], next[32], pkt[128], out[128];
  size_t pkt_len;
  int rc;
  tern_quic_packet_info info;

  printf("\n[1-RTT] short header, ChaCha20-Poly1305, key update\n");
  RAND_bytes(secret, sizeof secret);
  printf("    a random application traffic secret stands in for the handshake's\n");
  tern_quic_key *gen0 = tern_quic_key_new(TERN_QUIC_V1, TERN_TLS_CHACHA20_POLY1305_SHA256,
                                          secret, 32);
  if ((rc = tern_quic_next_secret(TERN_QUIC_V1, TERN_TLS_CHACHA20_POLY1305_SHA256,
                                  secret, 32, next)) != TERN_OK)
    return fail("next secret", rc);
  /* the next phase keeps the header-protection key (RFC 9001 §6.1) */
  tern_quic_key *gen1 = tern_quic_key_update(gen0, next, 32);
  if (!gen0 || !gen1) return fail("key setup", TERN_ERR_NOMEM);
  /* short header: fixed bit, key phase 1, 2-byte packet number, no DCID */
  pkt[0] = 0x40 | 0x04 | 0x01;
  pkt[1] = 0x00;
  pkt[2] = 0x2a;
  memset(pkt + 3, 0x01, 40); /* PING frames */
  if ((rc = tern_quic_protect(gen1, 42, pkt, 3, 40, sizeof pkt, &pkt_len)) != TERN_OK)
    return fail("protect", rc);
  printf("    generation 1 secret = HKDF-Expand-Label(gen 0, \"quic ku\")\n");
  printf("    packet 42 sealed with generation 1 (%zu bytes)\n", pkt_len);
  printf("    receiver peeks at the key phase bit under header protection: %d\n",
         tern_quic_peek_key_phase(gen0, pkt, pkt_len, 0));
  rc = tern_quic_unprotect(gen0, pkt, pkt_len, 0, 41, out, &info);
  printf("    generation 0 key opens it?  %s\n", rc == TERN_OK ? "yes (wrong!)" : tern_strerror(rc));
  rc = tern_quic_unprotect(gen1, pkt, pkt_len, 0, 41, out, &info);
  printf("    generation 1 key opens it?  %s (pn %llu, key phase bit %d)\n",
         rc == TERN_OK ? "yes" : tern_strerror(rc), (unsigned long long)info.pn,
         (out[0] >> 2) & 1);
  tern_quic_key_free(gen0);
  tern_quic_key_free(gen1);
  return rc;
}

static int demo_retry(void) {
  uint8_t odcid[8], pkt[64], tag[16];
  size_t n = 0;
  int rc;
  printf("\n[Retry] integrity tag (RFC 9001 §5.8)\n");
  RAND_bytes(odcid, sizeof odcid);
  pkt[n++] = 0xf0;                          /* v1 Retry */
  pkt[n++] = 0; pkt[n++] = 0; pkt[n++] = 0; pkt[n++] = 1;
  pkt[n++] = 0;                             /* DCID length */
  pkt[n++] = 4;                             /* SCID */
  RAND_bytes(pkt + n, 4); n += 4;
  memcpy(pkt + n, "token", 5); n += 5;
  if ((rc = tern_quic_retry_tag(TERN_QUIC_V1, odcid, 8, pkt, n, tag)) != TERN_OK)
    return fail("retry tag", rc);
  memcpy(pkt + n, tag, 16);
  hex("tag", tag, 16);
  rc = tern_quic_retry_verify(TERN_QUIC_V1, odcid, 8, pkt, n + 16);
  printf("    client verifies it with the original DCID: %s\n", tern_strerror(rc));
  odcid[0] ^= 1;
  int bad = tern_quic_retry_verify(TERN_QUIC_V1, odcid, 8, pkt, n + 16);
  printf("    ... with another DCID: %s\n", tern_strerror(bad));
  return rc == TERN_OK && bad == TERN_ERR_DECRYPT ? 0 : 1;
}

static int demo(void) {
  printf("tern %s demo: TLS 1.3 for QUIC on OpenSSL libcrypto\n", TERN_VERSION_STRING);
  int rc = demo_handshake();
  rc |= demo_resume();
  rc |= demo_initial(TERN_QUIC_V1, "QUIC v1");
  rc |= demo_initial(TERN_QUIC_V2, "QUIC v2");
  rc |= demo_key_update();
  rc |= demo_retry();
  printf("\n%s\n", rc ? "demo: something went wrong" : "demo: every step behaved");
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "demo") == 0) return demo();
  if (argc >= 2 && strcmp(argv[1], "client") == 0) return cli_client_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "server") == 0) return cli_server_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "ech-keygen") == 0)
    return cli_ech_keygen_main(argc - 1, argv + 1);
#ifdef TERN_HAVE_H3
  if (argc >= 2 && strcmp(argv[1], "h3-server") == 0) return h3_server_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "h3-client") == 0) return h3_client_main(argc - 1, argv + 1);
#endif
  fprintf(stderr, "usage: tern demo\n"
                  "       tern client HOST[:PORT] [options]   (tern client --help)\n"
                  "       tern server --cert FILE --key FILE [options]   (tern server --help)\n"
                  "       tern ech-keygen --public-name NAME --out PREFIX   (tern ech-keygen --help)\n"
#ifdef TERN_HAVE_H3
                  "       tern h3-server --cert FILE --key FILE [options]   (tern h3-server --help)\n"
                  "       tern h3-client [options] https://HOST[:PORT]/PATH...   (tern h3-client --help)\n"
#endif
                  );
  return 2;
}
