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

int tern_test_hrr_cookie(tern_conn *c, const uint8_t *cookie, size_t len) {
  if (c == NULL || c->role != TERN_SERVER || cookie == NULL || len == 0 || len > TERN_MAX_COOKIE)
    return TERN_ERR_INVALID_ARG;
  c->test_cookie = cookie;
  c->test_cookie_len = len;
  return TERN_OK;
}
