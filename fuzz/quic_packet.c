/*
 * quic_packet.c - fuzz target: QUIC packet protection (RFC 9001 §5) on
 * arbitrary packets under keys of every suite QUIC allows, versions 1
 * and 2: tern_quic_unprotect (long and short headers, coalesced packets),
 * tern_quic_peek_key_phase, tern_quic_hp_mask, tern_quic_open, the next
 * key phase, and tern_quic_retry_verify.
 *
 * Input: byte 0 = suite (bits 0-1) | version 2 (bit 2); byte 1 = short
 * header DCID length (mod 21); byte 2 = largest packet number received
 * (0xff: none); then the packets. Every packet that unprotects is
 * protected again with the packet number it decoded, and must come out
 * byte for byte as it went in (else abort).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static const uint16_t suites[4] = {TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_256_GCM_SHA384,
                                   TERN_TLS_CHACHA20_POLY1305_SHA256,
                                   TERN_TLS_AES_128_CCM_SHA256};

/* The fixed key of (suite, version), and its next key phase. */
static tern_quic_key *key_of(int i, int phase) {
  static tern_quic_key *keys[8][2];
  if (keys[i][phase] == NULL) {
    uint16_t suite = suites[i & 3];
    uint32_t version = i & 4 ? TERN_QUIC_V2 : TERN_QUIC_V1;
    size_t slen = suite == TERN_TLS_AES_256_GCM_SHA384 ? 48 : 32;
    uint8_t secret[48], next[48];
    memset(secret, 0x40 + i, sizeof secret);
    keys[i][0] = tern_quic_key_new(version, suite, secret, slen);
    if (keys[i][0] == NULL ||
        tern_quic_next_secret(version, suite, secret, slen, next) != TERN_OK ||
        (keys[i][1] = tern_quic_key_update(keys[i][0], next, slen)) == NULL)
      abort();
  }
  return keys[i][phase];
}

/* Unprotects the packets of pkt[0..len) in turn; each must re-protect to itself. */
static void packets(tern_quic_key *key, const uint8_t *pkt, size_t len, size_t dcid_len,
                    uint64_t largest) {
  uint8_t *out = malloc(len + 16 + 1), *again = malloc(len + 16 + 1);
  if (out == NULL || again == NULL) abort();
  for (int i = 0; i < 4 && len > 0; i++) {
    tern_quic_packet_info info;
    size_t plen = 0;
    if (tern_quic_unprotect(key, pkt, len, dcid_len, largest, out, &info) != TERN_OK) break;
    if (info.packet_len > len || info.hdr_len + info.payload_len + 16 != info.packet_len)
      abort();
    memcpy(again, out, info.hdr_len + info.payload_len);
    if (tern_quic_protect(key, info.pn, again, info.hdr_len, info.payload_len, len + 16,
                          &plen) != TERN_OK ||
        plen != info.packet_len || memcmp(again, pkt, plen) != 0)
      abort();
    if (!info.long_header) break;
    pkt += info.packet_len;
    len -= info.packet_len;
  }
  free(out);
  free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int ki;
  size_t dcid_len, len;
  uint64_t largest;
  const uint8_t *pkt;
  tern_quic_key *key;
  uint8_t mask[5];
  if (size < 3) return 0;
  ki = data[0] & 7;
  dcid_len = data[1] % 21;
  largest = data[2] == 0xff ? UINT64_MAX : (uint64_t)data[2] << 8;
  pkt = data + 3;
  len = size - 3;
  key = key_of(ki, 0);

  int phase = tern_quic_peek_key_phase(key, pkt, len, dcid_len);
  packets(phase == 1 ? key_of(ki, 1) : key, pkt, len, dcid_len, largest);
  if (len >= 16) (void)tern_quic_hp_mask(key, pkt, mask);
  if (len >= 9) {
    /* a bare AEAD open: pkt[1..9) the packet number, then AD and ciphertext */
    size_t ad_len = pkt[0] % (len - 8);
    uint8_t *out = malloc(len);
    uint64_t pn = 0;
    if (out == NULL) abort();
    for (int i = 1; i < 9; i++) pn = pn << 8 | pkt[i];
    (void)tern_quic_open(key, pn, pkt + 9, ad_len, pkt + 9 + ad_len, len - 9 - ad_len, out);
    free(out);
  }
  if (len >= 1) {
    size_t odcid = pkt[0] % 21;
    if (odcid < len)
      (void)tern_quic_retry_verify(ki & 4 ? TERN_QUIC_V2 : TERN_QUIC_V1, pkt + 1, odcid,
                                   pkt + 1 + odcid, len - 1 - odcid);
  }
  return 0;
}
