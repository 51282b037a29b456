/*
 * engine/resume.c - engine layer: resumption and 0-RTT inside a
 * handshake (the settings are api/config.c, the connection calls
 * api/session.c). See resume.h for where each step runs.
 *
 * A client offers one session (one PSK identity). A server opens each
 * offered ticket until one is usable (ours, not expired, same hash and
 * server name), verifies that identity's binder (a wrong binder ends the
 * handshake), then records the ticket as used; a ticket seen before
 * gives a full handshake, so each ticket resumes at most once and a
 * replayed ClientHello never gets its early data accepted twice.
 */
#include "engine/resume.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "engine/handshake.h"
#include "engine/ticket.h"

_Static_assert(TERN_SESSION_MAX == TERN_SESSION_MAX_BYTES, "tern.h and ticket.h agree");

_Static_assert(TERN_EARLY_CTX_LEN == TERN_TICKET_CTX_LEN, "core/conn.h and ticket.h agree");

#define TICKET_NONCE_LEN 8

void tern_resume_conn_free(tern_conn *c) {
  if (c->offer) OPENSSL_clear_free(c->offer, sizeof *c->offer);
  c->offer = NULL;
  if (c->ticket) OPENSSL_clear_free(c->ticket, sizeof *c->ticket);
  c->ticket = NULL;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

/* The hash of the offered session's suite. */
static const tern_hash *offer_hash(const tern_conn *c) {
  return tern_suite_get(c->offer->suite)->hash;
}

int tern_resume_client_extensions(tern_conn *c, tern_client_hello *ch, uint8_t *modes) {
  tern_extensions *e = &ch->ext;
  size_t n = 0;
  modes[n++] = TERN_PSK_DHE_KE;
  if (c->cfg->psk_ke) modes[n++] = TERN_PSK_KE;
  e->psk_modes.p = modes;
  e->psk_modes.len = n;
  e->present |= TERN_EXT_BIT(TERN_EXT_ID_PSK_KEY_EXCHANGE_MODES);
  if (c->offer == NULL) return TERN_OK;
  /* After a HelloRetryRequest only a PSK of the chosen hash may stay. */
  if (c->suite != NULL && c->suite->hash != offer_hash(c)) {
    tern_resume_client_declined(c);
    return TERN_OK;
  }
  if (c->offer_early && !c->used_hrr) e->present |= TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA);
  e->present |= TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY);
  e->n_psk = e->psk_count = 1;
  e->psk[0].identity.p = c->offer->ticket;
  e->psk[0].identity.len = c->offer->ticket_len;
  e->psk[0].obfuscated_ticket_age = c->offer_age_ms + c->offer->age_add;
  e->binders[0].p = NULL;
  e->binders[0].len = offer_hash(c)->len;
  return TERN_OK;
}

int tern_resume_client_bind(tern_conn *c, uint8_t *msg, size_t len, size_t partial_len) {
  uint8_t th[TERN_MAX_HASH_LEN], binder[TERN_MAX_HASH_LEN];
  const tern_hash *h;
  int rc;
  if (c->offer == NULL) return TERN_OK;
  h = offer_hash(c);
  c->early_exporter_ready = 0; /* a second ClientHello starts the schedule again */
  rc = c->transcript_ready ? tern_transcript_peek(&c->transcript, msg, partial_len, th)
                           : tern_hash_data(h, msg, partial_len, th);
  if (rc == TERN_OK) rc = tern_keysched_init(&c->ks, h);
  if (rc == TERN_OK) rc = tern_keysched_early(&c->ks, c->offer->psk, c->offer->psk_len);
  if (rc == TERN_OK) rc = tern_keysched_binder_key(&c->ks, 0);
  if (rc == TERN_OK) rc = tern_keysched_binder(&c->ks, th, binder);
  if (rc == TERN_OK) rc = tern_msg_set_binder(msg, len, partial_len, 0, binder, h->len);
  OPENSSL_cleanse(binder, sizeof binder);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "PSK binder failed: %s",
                          tern_strerror(rc));
  return TERN_OK;
}

int tern_resume_client_early(tern_conn *c, const uint8_t *ch, size_t ch_len) {
  uint8_t th[TERN_MAX_HASH_LEN];
  const tern_suite *s;
  int rc;
  if (c->offer == NULL || !c->offer_early || c->used_hrr) return TERN_OK;
  s = tern_suite_get(c->offer->suite);
  rc = tern_hash_data(s->hash, ch, ch_len, th);
  if (rc == TERN_OK) rc = tern_keysched_early_traffic(&c->ks, th);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "early traffic secret failed");
  c->early_suite = s;
  c->early_status = TERN_EARLY_DATA_OFFERED;
  c->early_exporter_ready = 1;
  tern_conn_keylog(c, "EARLY_EXPORTER_SECRET", c->ks.early_exporter, s->hash->len);
  return tern_conn_install_secret(c, TERN_LEVEL_EARLY, TERN_WRITE, c->ks.client_early,
                                  "CLIENT_EARLY_TRAFFIC_SECRET");
}

void tern_resume_client_declined(tern_conn *c) {
  if (c->early_status == TERN_EARLY_DATA_OFFERED) c->early_status = TERN_EARLY_DATA_REJECTED;
  c->offer_early = 0;
  c->early_exporter_ready = 0; /* the schedule starts again without the PSK */
  if (c->offer) OPENSSL_clear_free(c->offer, sizeof *c->offer);
  c->offer = NULL;
}

int tern_resume_client_accepted(tern_conn *c, const tern_server_hello *sh) {
  const tern_suite *s = tern_suite_get(sh->cipher_suite);
  if (c->offer == NULL || !(c->sent_exts & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ServerHello accepts a PSK we did not offer");
  if (sh->ext.selected_identity != 0)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ServerHello selects PSK identity %u of the 1 we offered",
                          sh->ext.selected_identity);
  if (s == NULL || s->hash != offer_hash(c))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ServerHello resumes with a suite of another hash");
  if (sh->ext.present & TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE)) {
    c->psk_mode = TERN_RESUMED_DHE;
  } else {
    if (!c->cfg->psk_ke)
      return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION,
                            "ServerHello without key_share, but we offered only psk_dhe_ke");
    c->psk_mode = TERN_RESUMED_KE;
  }
  return TERN_OK;
}

int tern_resume_client_early_answer(tern_conn *c, int accepted) {
  if (!accepted) {
    if (c->early_status == TERN_EARLY_DATA_OFFERED) c->early_status = TERN_EARLY_DATA_REJECTED;
    return TERN_OK;
  }
  if (c->early_status != TERN_EARLY_DATA_OFFERED)
    return tern_conn_fail(c, TERN_ALERT_UNSUPPORTED_EXTENSION,
                          "EncryptedExtensions accepts early data we did not send");
  /* RFC 8446 §4.2.10: the 0-RTT parameters must be the ticket's. */
  if (c->suite->id != c->offer->suite || strcmp(c->alpn, c->offer->alpn) != 0)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "early data accepted with another suite or ALPN than the ticket's");
  c->early_status = TERN_EARLY_DATA_ACCEPTED;
  return TERN_OK;
}

int tern_resume_client_ticket(tern_conn *c, const tern_new_session_ticket *nst) {
  tern_session_state *st;
  uint8_t blob[TERN_SESSION_MAX];
  size_t blob_len = 0;
  uint32_t max_early = 0;
  uint64_t now;
  const tern_hash *h = c->suite->hash;
  int rc;

  if (nst->ticket_lifetime > TERN_TICKET_MAX_LIFETIME)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "NewSessionTicket lifetime over seven days");
  if (nst->ext.present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA)) {
    max_early = nst->ext.max_early_data_size;
    /* RFC 9001 §4.6.1: any other value is a PROTOCOL_VIOLATION */
    if (c->quic && max_early != 0xffffffffu)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                            "QUIC NewSessionTicket with max_early_data_size %u", max_early);
  }
  /* Nothing to store it in, a ticket too big for a session blob, or no
     clock to measure its age by: the ticket is read and dropped. */
  if (c->cfg->session_fn == NULL || nst->ticket.len > TERN_TICKET_MAX ||
      nst->ticket_lifetime == 0 || tern_conn_now(c, &now) != TERN_OK)
    return TERN_OK;
  st = OPENSSL_zalloc(sizeof *st);
  if (st == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  st->suite = c->suite->id;
  st->psk_len = (uint8_t)h->len;
  rc = tern_keysched_ticket_psk(h, c->ks.resumption, nst->ticket_nonce.p, nst->ticket_nonce.len,
                                st->psk);
  st->receive_time_ms = now;
  st->lifetime_s = nst->ticket_lifetime;
  st->age_add = nst->ticket_age_add;
  st->max_early_data = max_early;
  st->alpn_len = (uint8_t)strlen(c->alpn);
  memcpy(st->alpn, c->alpn, st->alpn_len);
  st->server_name_len = (uint8_t)strlen(c->server_name);
  memcpy(st->server_name, c->server_name, st->server_name_len);
  st->ticket_len = (uint16_t)nst->ticket.len;
  memcpy(st->ticket, nst->ticket.p, nst->ticket.len);
  if (rc == TERN_OK) rc = tern_session_encode(st, blob, sizeof blob, &blob_len);
  OPENSSL_clear_free(st, sizeof *st);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(blob, sizeof blob);
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot store the ticket: %s",
                          tern_strerror(rc));
  }
  c->cfg->session_fn(c, blob, blob_len, max_early, c->cfg->session_user);
  OPENSSL_cleanse(blob, sizeof blob);
  return TERN_OK;
}

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

/* Whether the mode list carries mode. */
static int has_mode(const tern_span *modes, uint8_t mode) {
  for (size_t i = 0; i < modes->len; i++)
    if (modes->p[i] == mode) return 1;
  return 0;
}

/* Records a ticket identity; 1 on its first use. */
static int first_use(tern_conn *c, const uint8_t id[32], uint64_t now, uint64_t expires) {
  tern_config *cfg = c->cfg;
  int r = 0;
  if (cfg->replay_fn != NULL) return cfg->replay_fn(cfg->replay_user, id, now, expires) == 1;
  pthread_mutex_lock(&cfg->strike_lock);
  if (cfg->strike == NULL) cfg->strike = tern_strike_new(cfg->strike_capacity);
  if (cfg->strike != NULL) r = tern_strike_check(cfg->strike, id, now, expires);
  pthread_mutex_unlock(&cfg->strike_lock);
  return r == 1;
}

/* Whether ticket st can resume this connection at time now. */
static int ticket_usable(const tern_conn *c, const tern_ticket_state *st, uint64_t now) {
  const tern_suite *ts = tern_suite_get(st->suite);
  if (now < st->issue_time_ms || now - st->issue_time_ms >= (uint64_t)st->lifetime_s * 1000)
    return 0;
  if (ts == NULL || ts->hash != c->suite->hash || st->psk_len != ts->hash->len) return 0;
  /* a server that requires client certificates resumes only sessions
     whose client proved one */
  if (c->cfg->client_auth == TERN_CLIENT_AUTH_REQUIRED && !st->client_auth) return 0;
  return strcmp(st->server_name, c->server_name) == 0;
}

/* Decides 0-RTT for the accepted ticket (identity 0 only, §4.2.10). */
static int early_ok(tern_conn *c, const tern_client_hello *ch, size_t chosen, uint64_t now) {
  const tern_ticket_state *st = c->ticket;
  uint32_t client_age = ch->ext.psk[0].obfuscated_ticket_age - st->age_add;
  uint64_t server_age = now - st->issue_time_ms;
  uint64_t skew = server_age > client_age ? server_age - client_age : client_age - server_age;
  if (chosen != 0 || c->used_hrr || c->cfg->max_early_data == 0 || st->max_early_data == 0)
    return 0;
  if (c->suite->id != st->suite || strcmp(c->alpn, st->alpn) != 0) return 0;
  if (CRYPTO_memcmp(c->early_ctx, st->early_ctx, TERN_TICKET_CTX_LEN) != 0) return 0;
  if (skew > c->cfg->early_window_ms) return 0;
  if (c->cfg->early_fn != NULL && c->cfg->early_fn(c, c->cfg->early_user) != 1) return 0;
  return 1;
}

/* Switches to the ticket's suite when the client offers it and we allow
   it (same hash, so the transcript is unaffected), so 0-RTT can work. */
static void prefer_ticket_suite(tern_conn *c, const tern_client_hello *ch) {
  if (c->used_hrr || c->suite->id == c->ticket->suite) return;
  if (tern_config_has_suite(c->cfg, c->ticket->suite) &&
      tern_msg_list_has(&ch->cipher_suites, c->ticket->suite))
    c->suite = tern_suite_get(c->ticket->suite);
}

/* Verifies the binder of identity i with the ticket's PSK. */
static int check_binder(tern_conn *c, const tern_client_hello *ch, size_t i) {
  uint8_t th[TERN_MAX_HASH_LEN], want[TERN_MAX_HASH_LEN];
  const tern_span *got = &ch->ext.binders[i];
  size_t n = c->suite->hash->len;
  int rc, ok;
  rc = tern_transcript_peek(&c->transcript, c->msg, 4 + ch->ext.psk_binders_offset, th);
  if (rc == TERN_OK) rc = tern_keysched_init(&c->ks, c->suite->hash);
  if (rc == TERN_OK) rc = tern_keysched_early(&c->ks, c->ticket->psk, c->ticket->psk_len);
  if (rc == TERN_OK) rc = tern_keysched_binder_key(&c->ks, 0);
  if (rc == TERN_OK) rc = tern_keysched_binder(&c->ks, th, want);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(want, sizeof want);
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "PSK binder failed");
  }
  ok = got->len == n && CRYPTO_memcmp(got->p, want, n) == 0;
  OPENSSL_cleanse(want, sizeof want);
  if (!ok) return tern_conn_fail(c, TERN_ALERT_DECRYPT_ERROR, "the PSK binder does not verify");
  return TERN_OK;
}

int tern_resume_server_choose(tern_conn *c, const tern_client_hello *ch, int share_found) {
  const tern_extensions *e = &ch->ext;
  uint8_t id[32];
  uint64_t now;
  size_t i;
  int mode = 0, rc;

  if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY))) return TERN_OK;
  if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_PSK_KEY_EXCHANGE_MODES)))
    return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION,
                          "pre_shared_key without psk_key_exchange_modes");
  if (c->cfg->psk_ke && has_mode(&e->psk_modes, TERN_PSK_KE)) mode = TERN_RESUMED_KE;
  else if (share_found && has_mode(&e->psk_modes, TERN_PSK_DHE_KE)) mode = TERN_RESUMED_DHE;
  if (mode == 0 || c->cfg->ticket_keys == NULL || tern_conn_now(c, &now) != TERN_OK)
    return TERN_OK;

  if (c->ticket == NULL && (c->ticket = OPENSSL_malloc(sizeof *c->ticket)) == NULL)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  for (i = 0; i < e->n_psk; i++) {
    const tern_span *t = &e->psk[i].identity;
    /* a test hook (core/conn.h) may take the identity as a trace's ticket */
    if (c->test != NULL && c->test->server_psk != NULL &&
        c->test->server_psk(c, &e->psk[i], now, c->ticket))
      break;
    if (tern_ticket_open(c->cfg->ticket_keys, t->p, t->len, c->ticket) == TERN_OK &&
        ticket_usable(c, c->ticket, now))
      break;
  }
  if (i == e->n_psk) {
    OPENSSL_clear_free(c->ticket, sizeof *c->ticket);
    c->ticket = NULL;
    return TERN_OK;
  }
  if ((rc = check_binder(c, ch, i)) != TERN_OK) return rc;
  rc = tern_hash_data(tern_hash_get(TERN_HASH_SHA256), e->psk[i].identity.p,
                      e->psk[i].identity.len, id);
  if (rc != TERN_OK) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "hash failed");
  if (!first_use(c, id, now, c->ticket->issue_time_ms + (uint64_t)c->ticket->lifetime_s * 1000)) {
    /* used before (or no room to remember it): a full handshake */
    OPENSSL_clear_free(c->ticket, sizeof *c->ticket);
    c->ticket = NULL;
    return TERN_OK;
  }
  c->psk_mode = mode;
  c->selected_psk = (uint16_t)i;
  prefer_ticket_suite(c, ch);
  /* a refusal is recorded by the caller, whatever its reason */
  if ((e->present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA)) && early_ok(c, ch, i, now))
    c->early_status = TERN_EARLY_DATA_ACCEPTED;
  return TERN_OK;
}

int tern_resume_server_early(tern_conn *c) {
  uint8_t th[TERN_MAX_HASH_LEN];
  int rc;
  if (c->early_status != TERN_EARLY_DATA_ACCEPTED) return TERN_OK;
  rc = tern_hs_transcript_hash(c, th);
  if (rc != TERN_OK) return rc;
  if (tern_keysched_early_traffic(&c->ks, th) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "early traffic secret failed");
  c->early_suite = c->suite;
  c->early_exporter_ready = 1;
  tern_conn_keylog(c, "EARLY_EXPORTER_SECRET", c->ks.early_exporter, c->suite->hash->len);
  return tern_conn_install_secret(c, TERN_LEVEL_EARLY, TERN_READ, c->ks.client_early,
                                  "CLIENT_EARLY_TRAFFIC_SECRET");
}

int tern_resume_server_queue_tickets(tern_conn *c, unsigned n) {
  uint64_t now;
  int rc = TERN_OK;
  if (n == 0 || c->cfg->ticket_keys == NULL || !tern_ticket_keys_ready(c->cfg->ticket_keys) ||
      tern_conn_now(c, &now) != TERN_OK)
    return TERN_OK;
  for (unsigned i = 0; rc == TERN_OK && i < n; i++) rc = tern_conn_push_event(c, TERN_EV_SEND_NST);
  return rc;
}

int tern_resume_server_send_ticket(tern_conn *c) {
  const tern_hash *h = c->suite->hash;
  tern_ticket_state *st;
  tern_new_session_ticket nst;
  uint8_t nonce[TICKET_NONCE_LEN], seal_nonce[TERN_TICKET_NONCE_LEN], age_add[4];
  uint8_t ticket[TERN_TICKET_MAX], out[TERN_TICKET_MAX + 64];
  size_t ticket_len = 0, len = 0;
  uint64_t now, n = c->tickets_sent;
  int rc;

  if (tern_conn_now(c, &now) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "no time to issue a ticket at");
  for (int i = TICKET_NONCE_LEN - 1; i >= 0; i--, n >>= 8) nonce[i] = (uint8_t)n;
  if ((rc = tern_conn_random(c, seal_nonce, sizeof seal_nonce)) != TERN_OK) return rc;
  if ((rc = tern_conn_random(c, age_add, sizeof age_add)) != TERN_OK) return rc;
  st = OPENSSL_zalloc(sizeof *st);
  if (st == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  st->suite = c->suite->id;
  st->psk_len = (uint8_t)h->len;
  rc = tern_keysched_ticket_psk(h, c->ks.resumption, nonce, sizeof nonce, st->psk);
  st->issue_time_ms = now;
  st->lifetime_s = c->cfg->ticket_lifetime;
  st->age_add = (uint32_t)age_add[0] << 24 | (uint32_t)age_add[1] << 16 |
                (uint32_t)age_add[2] << 8 | age_add[3];
  if (c->cfg->max_early_data > 0) st->max_early_data = c->quic ? 0xffffffffu : c->cfg->max_early_data;
  st->alpn_len = (uint8_t)strlen(c->alpn);
  memcpy(st->alpn, c->alpn, st->alpn_len);
  st->server_name_len = (uint8_t)strlen(c->server_name);
  memcpy(st->server_name, c->server_name, st->server_name_len);
  memcpy(st->early_ctx, c->early_ctx, sizeof st->early_ctx);
  st->client_auth = c->peer_leaf != NULL || (c->ticket != NULL && c->ticket->client_auth);
  if (rc == TERN_OK)
    rc = tern_ticket_seal(c->cfg->ticket_keys, st, seal_nonce, ticket, sizeof ticket, &ticket_len);
  memset(&nst, 0, sizeof nst);
  nst.ticket_lifetime = st->lifetime_s;
  nst.ticket_age_add = st->age_add;
  nst.ticket_nonce.p = nonce;
  nst.ticket_nonce.len = sizeof nonce;
  nst.ticket.p = ticket;
  nst.ticket.len = ticket_len;
  if (st->max_early_data > 0) {
    nst.ext.present = TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA);
    nst.ext.max_early_data_size = st->max_early_data;
  }
  OPENSSL_clear_free(st, sizeof *st);
  if (rc == TERN_OK) rc = tern_msg_write_new_session_ticket(&nst, out, sizeof out, &len);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot issue a ticket: %s",
                          tern_strerror(rc));
  c->tickets_sent++;
  return tern_conn_send_msg(c, out, len);
}
