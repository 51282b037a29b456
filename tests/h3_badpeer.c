/*
 * h3_badpeer.c - a hostile QUIC peer for tern h3-server (tests/h3_lossy.sh):
 *   1. 40 datagrams of garbage (random bytes, some shaped like long
 *      headers of version 1, some truncated);
 *   2. a well-protected client Initial whose CRYPTO frame carries garbage
 *      where a ClientHello should be: the server must answer with
 *      CONNECTION_CLOSE carrying CRYPTO_ERROR (0x100 + a TLS alert),
 *      which this program decrypts with the server's Initial key and
 *      prints.
 * Usage: h3_badpeer PORT. Exits 0 when the CONNECTION_CLOSE came with a
 * CRYPTO_ERROR code, 1 otherwise. Uses tern.h for the Initial keys.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <tern.h>

/* QUIC variable-length integer (RFC 9000 §16); 0 when it runs out. */
static size_t varint(const uint8_t *p, size_t len, uint64_t *v) {
  size_t n;
  if (len == 0) return 0;
  n = (size_t)1 << (p[0] >> 6);
  if (n > len) return 0;
  *v = p[0] & 0x3f;
  for (size_t i = 1; i < n; i++) *v = *v << 8 | p[i];
  return n;
}

/* The error code of the first CONNECTION_CLOSE among the frames, or -1. */
static long long close_code(const uint8_t *p, size_t len) {
  size_t off = 0;
  while (off < len) {
    uint64_t type, v, n_ranges;
    size_t k = varint(p + off, len - off, &type);
    if (k == 0) return -1;
    off += k;
    if (type == 0x00 || type == 0x01) continue; /* PADDING, PING */
    if (type == 0x02 || type == 0x03) {        /* ACK */
      uint64_t f[4];
      for (int i = 0; i < 4; i++) {
        if ((k = varint(p + off, len - off, &f[i])) == 0) return -1;
        off += k;
      }
      n_ranges = f[2];
      for (uint64_t r = 0; r < 2 * n_ranges; r++) {
        if ((k = varint(p + off, len - off, &v)) == 0) return -1;
        off += k;
      }
      if (type == 0x03)
        for (int i = 0; i < 3; i++) {
          if ((k = varint(p + off, len - off, &v)) == 0) return -1;
          off += k;
        }
      continue;
    }
    if (type == 0x06) { /* CRYPTO */
      uint64_t o, l;
      if ((k = varint(p + off, len - off, &o)) == 0) return -1;
      off += k;
      if ((k = varint(p + off, len - off, &l)) == 0 || l > len - off - k) return -1;
      off += k + (size_t)l;
      continue;
    }
    if (type == 0x1c) {
      if (varint(p + off, len - off, &v) == 0) return -1;
      return (long long)v;
    }
    return -1;
  }
  return -1;
}

int main(int argc, char **argv) {
  struct sockaddr_in to = {0};
  uint8_t pkt[1500], out[1500], dcid[8], scid[8], cs[32], ss[32];
  int fd;
  if (argc != 2) {
    fprintf(stderr, "usage: h3_badpeer PORT\n");
    return 2;
  }
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)atoi(argv[1]));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) return 1;

  /* 1. garbage */
  for (int i = 0; i < 40; i++) {
    size_t len = 1 + (size_t)(i * 37 % 1300);
    RAND_bytes(pkt, (int)len);
    if (i % 3 == 0 && len > 6) { /* a long header of v1, then noise */
      pkt[0] |= 0xc0;
      pkt[1] = pkt[2] = pkt[3] = 0;
      pkt[4] = 1;
    }
    send(fd, pkt, len, 0);
  }
  printf("sent 40 garbage datagrams\n");

  /* 2. an Initial with garbage where the ClientHello goes */
  RAND_bytes(dcid, 8);
  RAND_bytes(scid, 8);
  if (tern_quic_initial_secrets(TERN_QUIC_V1, dcid, 8, cs, ss) != TERN_OK) return 1;
  tern_quic_key *ck = tern_quic_key_new(TERN_QUIC_V1, TERN_TLS_AES_128_GCM_SHA256, cs, 32);
  tern_quic_key *sk = tern_quic_key_new(TERN_QUIC_V1, TERN_TLS_AES_128_GCM_SHA256, ss, 32);
  if (ck == NULL || sk == NULL) return 1;
  size_t n = 0, total = 1200;
  pkt[n++] = 0xc0;                       /* Initial, 1-byte packet number */
  pkt[n++] = 0, pkt[n++] = 0, pkt[n++] = 0, pkt[n++] = 1;
  pkt[n++] = 8;
  memcpy(pkt + n, dcid, 8), n += 8;
  pkt[n++] = 8;
  memcpy(pkt + n, scid, 8), n += 8;
  pkt[n++] = 0;                          /* no token */
  size_t length = total - (n + 2);       /* pn + payload + tag */
  pkt[n++] = (uint8_t)(0x40 | (length >> 8));
  pkt[n++] = (uint8_t)length;
  pkt[n++] = 0;                          /* packet number 0 */
  size_t hdr = n, payload = total - hdr - TERN_QUIC_TAG_LEN;
  memset(pkt + hdr, 0, payload);         /* PADDING after the frame */
  uint8_t *f = pkt + hdr;
  f[0] = 0x06;                           /* CRYPTO, offset 0, 200 bytes */
  f[1] = 0x00;
  f[2] = 0x40, f[3] = 200;
  f[4] = 0x01;                           /* "ClientHello" of 196 bytes of noise */
  f[5] = 0x00, f[6] = 0x00, f[7] = 196;
  RAND_bytes(f + 8, 196);
  size_t plen;
  if (tern_quic_protect(ck, 0, pkt, hdr, payload, sizeof pkt, &plen) != TERN_OK) return 1;
  send(fd, pkt, plen, 0);
  printf("sent an Initial with 200 bytes of garbage CRYPTO data\n");

  /* the answer: an Initial from the server with CONNECTION_CLOSE */
  long long code = -1;
  for (int tries = 0; tries < 20 && code < 0; tries++) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    ssize_t got = recv(fd, pkt, sizeof pkt, 0);
    tern_quic_packet_info info;
    if (got <= 0 || tern_quic_unprotect(sk, pkt, (size_t)got, 0, UINT64_MAX, out, &info) != TERN_OK)
      continue;
    code = close_code(out + info.hdr_len, info.payload_len);
  }
  tern_quic_key_free(ck);
  tern_quic_key_free(sk);
  close(fd);
  if (code >= 0x100 && code <= 0x1ff) {
    printf("server closed with CRYPTO_ERROR 0x%llx (TLS alert %s)\n", code,
           tern_alert_name((uint8_t)(code - 0x100)));
    return 0;
  }
  printf("no CONNECTION_CLOSE with a CRYPTO_ERROR came back (code %lld)\n", code);
  return 1;
}
