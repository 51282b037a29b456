/*
 * testhook.c - see testhook.h.
 */
#include "testhook.h"

#include "conn.h"

void tern_test_plain_tls(tern_conn *c) {
  if (c != NULL) c->quic = 0;
}

int tern_test_client_hello(tern_conn *c, int index, const uint8_t *ch, size_t len) {
  if (c == NULL || c->role != TERN_CLIENT || index < 0 || index > 1 || ch == NULL || len < 4 + 38)
    return TERN_ERR_INVALID_ARG;
  c->test_ch[index] = ch;
  c->test_ch_len[index] = len;
  return TERN_OK;
}

int tern_test_server_psk(tern_conn *c, const uint8_t *psk, size_t psk_len, uint16_t suite,
                         uint32_t age_add, uint32_t max_early) {
  if (c == NULL || c->role != TERN_SERVER || psk == NULL || psk_len == 0 ||
      psk_len > TERN_TICKET_MAX_PSK)
    return TERN_ERR_INVALID_ARG;
  c->test_psk = psk;
  c->test_psk_len = psk_len;
  c->test_psk_suite = suite;
  c->test_age_add = age_add;
  c->test_max_early = max_early;
  return TERN_OK;
}

int tern_test_hrr_cookie(tern_conn *c, const uint8_t *cookie, size_t len) {
  if (c == NULL || c->role != TERN_SERVER || cookie == NULL || len == 0 || len > TERN_MAX_COOKIE)
    return TERN_ERR_INVALID_ARG;
  c->test_cookie = cookie;
  c->test_cookie_len = len;
  return TERN_OK;
}
