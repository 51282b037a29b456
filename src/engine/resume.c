/*
 * engine/resume.c - engine layer: PSKs inside a handshake: resumption
 * with tickets, external PSKs (RFC 8446 §4.2.11) and 0-RTT on either
 * (the settings are api/config.c, the connection calls api/session.c).
 * See resume.h for where each step runs.
 *
 * A client offers its session's ticket first, then its external PSKs
 * whose hash one of its suites uses, each with its own binder; 0-RTT
 * rides on the first identity. A server takes the first identity it
 * knows: an external PSK by its identity, or a ticket it can open and
 * use (ours, not expired, same hash and server name); it verifies that
 * identity's binder only (a wrong binder ends the handshake). A ticket
 * is then recorded as used; a ticket seen before gives a full
 * handshake, so each ticket resumes at most once and a replayed
 * ClientHello never gets its early data accepted twice. External PSKs
 * are not single-use: early data on one is accepted once per
 * ClientHello, recorded by its binder (tern.h,
 * tern_config_set_psk_early_data).
 */
#include "engine/resume.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "engine/handshake.h"
#include "engine/ticket.h"

_Static_assert(TERN_SESSION_MAX == TERN_SESSION_MAX_BYTES, "tern.h and ticket.h agree");

_Static_assert(TERN_EARLY_CTX_LEN == TERN_TICKET_CTX_LEN, "core/conn.h and ticket.h agree");

_Static_assert(1 + TERN_MAX_PSKS <= TERN_MSG_MAX_PSK,
               "a ticket and every external PSK fit in one pre_shared_key");

#define TICKET_NONCE_LEN 8

/* client: c->hs->psk_kinds[i] of an identity that is our session's ticket
   (else it is the index of an external PSK in cfg->psks) */
#define OFFERED_TICKET 0xff

void tern_resume_conn_free(tern_conn *c) {
  if (c->hs == NULL) return;
  if (c->hs->offer) OPENSSL_clear_free(c->hs->offer, sizeof *c->hs->offer);
  c->hs->offer = NULL;
  if (c->hs->ticket) OPENSSL_clear_free(c->hs->ticket, sizeof *c->hs->ticket);
  c->hs->ticket = NULL;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

/* The hash of the offered session's suite. */
static const tern_hash *offer_hash(const tern_conn *c) {
  return tern_suite_get(c->hs->offer->suite)->hash;
}

/* The external PSK that identity i of our pre_shared_key is, or NULL
   for our session's ticket. */
static const tern_external_psk *offered_external(const tern_conn *c, size_t i) {
  return c->hs->psk_kinds[i] == OFFERED_TICKET ? NULL : &c->cfg->psks[c->hs->psk_kinds[i]];
}

/* The hash of identity i of our pre_shared_key. */
static const tern_hash *offered_hash(const tern_conn *c, size_t i) {
  const tern_external_psk *p = offered_external(c, i);
  return p ? p->hash : offer_hash(c);
}

/* Starts the key schedule with the PSK of identity i: the Early Secret. */
static int offered_early_secret(tern_conn *c, size_t i) {
  const tern_external_psk *p = offered_external(c, i);
  int rc;
  tern_keysched_wipe(&c->hs->ks);
  rc = tern_keysched_init(&c->hs->ks, offered_hash(c, i));
  if (rc == TERN_OK)
    rc = p ? tern_keysched_early(&c->hs->ks, p->key, p->key_len)
           : tern_keysched_early(&c->hs->ks, c->hs->offer->psk, c->hs->offer->psk_len);
  return rc;
}

/* Whether a PSK of hash h can be offered: one of our suites uses it (the
   chosen one, after a HelloRetryRequest). */
static int hash_usable(const tern_conn *c, const tern_hash *h) {
  if (c->suite != NULL) return c->suite->hash == h;
  for (size_t i = 0; i < c->cfg->n_suites; i++)
    if (tern_suite_get(c->cfg->suites[i])->hash == h) return 1;
  return 0;
}

/* What 0-RTT on identity 0 must use (RFC 8446 §4.2.10): the ticket's
   suite and ALPN, or those provisioned with the external PSK. */
static uint16_t early_suite_of_offer(const tern_conn *c) {
  const tern_external_psk *p = offered_external(c, 0);
  return p ? p->early_suite : c->hs->offer->suite;
}
static const char *early_alpn_of_offer(const tern_conn *c) {
  const tern_external_psk *p = offered_external(c, 0);
  return p ? p->early_alpn : c->hs->offer->alpn;
}

/* Forgets the session offered (its ticket). */
static void drop_session(tern_conn *c) {
  if (c->hs->offer) OPENSSL_clear_free(c->hs->offer, sizeof *c->hs->offer);
  c->hs->offer = NULL;
}

int tern_resume_client_extensions(tern_conn *c, tern_client_hello *ch, uint8_t *modes) {
  tern_extensions *e = &ch->ext;
  size_t n = 0;
  modes[n++] = TERN_PSK_DHE_KE;
  if (c->cfg->psk_ke) modes[n++] = TERN_PSK_KE;
  e->psk_modes.p = modes;
  e->psk_modes.len = n;
  e->present |= TERN_EXT_BIT(TERN_EXT_ID_PSK_KEY_EXCHANGE_MODES);
  /* After a HelloRetryRequest only PSKs of the chosen hash may stay. */
  if (c->hs->offer != NULL && !hash_usable(c, offer_hash(c))) drop_session(c);
  n = 0;
  if (c->hs->offer != NULL) {
    c->hs->psk_kinds[n] = OFFERED_TICKET;
    e->psk[n].identity.p = c->hs->offer->ticket;
    e->psk[n].identity.len = c->hs->offer->ticket_len;
    e->psk[n].obfuscated_ticket_age = c->hs->offer_age_ms + c->hs->offer->age_add;
    e->binders[n].p = NULL;
    e->binders[n++].len = offer_hash(c)->len;
  }
  for (size_t k = 0; k < c->cfg->n_psks; k++) {
    const tern_external_psk *p = &c->cfg->psks[k];
    if (!hash_usable(c, p->hash)) continue;
    c->hs->psk_kinds[n] = (uint8_t)k;
    e->psk[n].identity.p = p->identity;
    e->psk[n].identity.len = p->identity_len;
    e->psk[n].obfuscated_ticket_age = 0; /* §4.2.11: 0 for external PSKs */
    e->binders[n].p = NULL;
    e->binders[n++].len = p->hash->len;
  }
  c->hs->n_psk_offered = n;
  if (n == 0) {
    c->hs->offer_early = 0;
    return TERN_OK;
  }
  e->present |= TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY);
  e->n_psk = e->psk_count = n;
  /* 0-RTT rides on the first identity (§4.2.10), in the first ClientHello */
  if (!c->used_hrr && c->hs->psk_kinds[0] != OFFERED_TICKET) {
    const tern_external_psk *p = offered_external(c, 0);
    c->hs->offer_early = c->cfg->max_early_data > 0 && p->max_early_data > 0 &&
                     tern_config_has_suite(c->cfg, p->early_suite);
  }
  if (c->hs->offer_early && !c->used_hrr) e->present |= TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA);
  return TERN_OK;
}

int tern_resume_client_bind(tern_conn *c, uint8_t *msg, size_t len, size_t partial_len) {
  uint8_t th[TERN_MAX_HASH_LEN], binder[TERN_MAX_HASH_LEN];
  int rc = TERN_OK;
  if (c->hs->n_psk_offered == 0) return TERN_OK;
  c->early_exporter_ready = 0; /* a second ClientHello starts the schedule again */
  /* identity 0 last: its Early Secret stays for 0-RTT (§4.2.10) */
  for (size_t i = c->hs->n_psk_offered; rc == TERN_OK && i-- > 0;) {
    const tern_hash *h = offered_hash(c, i);
    /* after a HelloRetryRequest, all are of the transcript's hash */
    rc = c->hs->transcript_ready ? tern_transcript_peek(&c->hs->transcript, msg, partial_len, th)
                             : tern_hash_data(h, msg, partial_len, th);
    if (rc == TERN_OK) rc = offered_early_secret(c, i);
    if (rc == TERN_OK) rc = tern_keysched_binder_key(&c->hs->ks, offered_external(c, i) != NULL);
    if (rc == TERN_OK) rc = tern_keysched_binder(&c->hs->ks, th, binder);
    if (rc == TERN_OK) rc = tern_msg_set_binder(msg, len, partial_len, i, binder, h->len);
  }
  OPENSSL_cleanse(binder, sizeof binder);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "PSK binder failed: %s",
                          tern_strerror(rc));
  return TERN_OK;
}

int tern_resume_client_early(tern_conn *c, const uint8_t *ch, size_t ch_len) {
  uint8_t th[TERN_MAX_HASH_LEN];
  const tern_external_psk *p;
  const tern_suite *s;
  int rc;
  if (c->hs->n_psk_offered == 0 || !c->hs->offer_early || c->used_hrr) return TERN_OK;
  p = offered_external(c, 0);
  s = tern_suite_get(early_suite_of_offer(c));
  rc = tern_hash_data(s->hash, ch, ch_len, th);
  if (rc == TERN_OK) rc = tern_keysched_early_traffic(&c->hs->ks, th);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "early traffic secret failed");
  c->early_suite = s;
  c->early_status = TERN_EARLY_DATA_OFFERED;
  c->early_exporter_ready = 1;
  c->early_max = p ? p->max_early_data : c->hs->offer->max_early_data;
  tern_conn_keylog(c, "EARLY_EXPORTER_SECRET", c->hs->ks.early_exporter, s->hash->len);
  return tern_conn_install_secret(c, TERN_LEVEL_EARLY, TERN_WRITE, c->hs->ks.client_early,
                                  "CLIENT_EARLY_TRAFFIC_SECRET");
}

void tern_resume_client_declined(tern_conn *c) {
  if (c->early_status == TERN_EARLY_DATA_OFFERED) c->early_status = TERN_EARLY_DATA_REJECTED;
  c->hs->offer_early = 0;
  c->early_exporter_ready = 0; /* the schedule starts again without the PSK */
  c->hs->n_psk_offered = 0;
  drop_session(c);
}

int tern_resume_client_accepted(tern_conn *c, const tern_server_hello *sh) {
  const tern_suite *s = tern_suite_get(sh->cipher_suite);
  size_t i = sh->ext.selected_identity;
  if (c->hs->n_psk_offered == 0 || !(c->hs->sent_exts & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ServerHello accepts a PSK we did not offer");
  if (i >= c->hs->n_psk_offered)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ServerHello selects PSK identity %zu of the %zu we offered", i,
                          c->hs->n_psk_offered);
  if (s == NULL || s->hash != offered_hash(c, i))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ServerHello takes a PSK with a suite of another hash");
  if (sh->ext.present & TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE)) {
    c->psk_mode = TERN_RESUMED_DHE;
  } else {
    if (!c->cfg->psk_ke)
      return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION,
                            "ServerHello without key_share, but we offered only psk_dhe_ke");
    c->psk_mode = TERN_RESUMED_KE;
  }
  c->hs->selected_psk = (uint16_t)i;
  if (offered_external(c, i) != NULL) c->external_psk = (uint8_t)(1 + c->hs->psk_kinds[i]);
  /* the schedule holds identity 0's Early Secret; another needs its own */
  if (i != 0 && offered_early_secret(c, i) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "early secret failed");
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
  /* RFC 8446 §4.2.10: only with the first identity, and with its
     parameters (the ticket's, or those provisioned with the PSK) */
  if (c->hs->selected_psk != 0)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "early data accepted with PSK identity %u, not the first",
                          c->hs->selected_psk);
  if (c->suite->id != early_suite_of_offer(c) || strcmp(c->alpn, early_alpn_of_offer(c)) != 0)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "early data accepted with another suite or ALPN than the PSK's");
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
  rc = tern_keysched_ticket_psk(h, tern_conn_resumption_secret(c), nst->ticket_nonce.p, nst->ticket_nonce.len,
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

/* What first_use found besides 1 (first use) and 0 (seen before): the
   fleet's store could not answer. The ticket then resumes, but without
   0-RTT (fail closed: nothing shows it was not used before). */
#define USE_UNKNOWN 2

/* Records a ticket identity; 1 on its first use, 0 when seen before (or
   no room to remember it), USE_UNKNOWN when the fleet's store is
   unavailable (its hook returned -1). */
static int first_use(tern_conn *c, const uint8_t id[32], uint64_t now, uint64_t expires) {
  tern_config *cfg = c->cfg;
  int r = 0;
  if (cfg->replay_fn != NULL) {
    r = cfg->replay_fn(cfg->replay_user, id, now, expires);
    return r == 1 ? 1 : r == -1 ? USE_UNKNOWN : 0;
  }
  pthread_mutex_lock(&cfg->strike_lock);
  if (cfg->strike == NULL) cfg->strike = tern_strike_new(cfg->strike_capacity);
  if (cfg->strike != NULL) r = tern_strike_check(cfg->strike, id, now, expires);
  pthread_mutex_unlock(&cfg->strike_lock);
  return r == 1;
}

/* Records the verified binder of a ClientHello whose early data an
   external PSK would carry, for good (RFC 8446 §8.2 with no time bound:
   such a ClientHello carries no ticket age); 1 when it is new. */
static int first_early_binder(tern_conn *c, const tern_span *binder, uint64_t now) {
  tern_config *cfg = c->cfg;
  uint8_t id[32];
  int r = 0;
  if (tern_hash_data(tern_hash_get(TERN_HASH_SHA256), binder->p, binder->len, id) != TERN_OK)
    return 0;
  if (now == UINT64_MAX) return 0;
  if (cfg->replay_fn != NULL) return cfg->replay_fn(cfg->replay_user, id, now, UINT64_MAX) == 1;
  pthread_mutex_lock(&cfg->strike_lock);
  if (cfg->psk_strike == NULL) cfg->psk_strike = tern_strike_new(cfg->strike_capacity);
  if (cfg->psk_strike != NULL) r = tern_strike_check(cfg->psk_strike, id, now, UINT64_MAX);
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
  const tern_ticket_state *st = c->hs->ticket;
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

/* Decides 0-RTT for the accepted external PSK p (identity 0 only, with
   the suite and ALPN provisioned with it, §4.2.10); the ClientHello is
   recorded last, once nothing else refuses. */
static int external_early_ok(tern_conn *c, const tern_client_hello *ch, size_t chosen,
                             const tern_external_psk *p, uint64_t now) {
  if (chosen != 0 || c->used_hrr || c->cfg->max_early_data == 0 || p->max_early_data == 0)
    return 0;
  if (c->suite->id != p->early_suite || strcmp(c->alpn, p->early_alpn) != 0) return 0;
  if (c->cfg->early_fn != NULL && c->cfg->early_fn(c, c->cfg->early_user) != 1) return 0;
  return first_early_binder(c, &ch->ext.binders[chosen], now);
}

/* Moves to suite s, of the PSK's hash. Before the ClientHello joins the
   transcript, which then starts again under s's hash. */
static int use_suite(tern_conn *c, const tern_suite *s) {
  int same_hash = s->hash == c->suite->hash;
  c->suite = s;
  if (same_hash) return TERN_OK;
  tern_transcript_free(&c->hs->transcript);
  c->hs->transcript_ready = 0;
  return tern_hs_transcript_start(c);
}

/* Switches to the suite 0-RTT needs (the ticket's, or the one provisioned
   with the external PSK) when the client offers it and we allow it; of
   the same hash, so the transcript is unaffected. */
static void prefer_early_suite(tern_conn *c, const tern_client_hello *ch, uint16_t suite) {
  const tern_suite *s = tern_suite_get(suite);
  if (c->used_hrr || s == NULL || c->suite == s || s->hash != c->suite->hash) return;
  if (tern_conn_suite_usable(c, suite) && tern_msg_list_has(&ch->cipher_suites, suite))
    c->suite = s;
}

/* The suite for a PSK of hash h (RFC 8446 §4.2.11): ours if it has that
   hash, else, before a HelloRetryRequest named one, our first suite of
   that hash the client offers; NULL when none fits. */
static const tern_suite *suite_for(const tern_conn *c, const tern_client_hello *ch,
                                   const tern_hash *h) {
  if (c->suite->hash == h) return c->suite;
  if (c->used_hrr) return NULL;
  for (size_t i = 0; i < c->cfg->n_suites; i++) {
    const tern_suite *s = tern_suite_get(c->cfg->suites[i]);
    if (s->hash == h && tern_conn_suite_usable(c, s->id) &&
        tern_msg_list_has(&ch->cipher_suites, s->id))
      return s;
  }
  return NULL;
}

/* The external PSK of an offered identity, or NULL. */
static const tern_external_psk *find_external(const tern_config *cfg, const tern_span *id,
                                              size_t *index) {
  for (size_t k = 0; k < cfg->n_psks; k++)
    if (cfg->psks[k].identity_len == id->len &&
        memcmp(cfg->psks[k].identity, id->p, id->len) == 0) {
      *index = k;
      return &cfg->psks[k];
    }
  return NULL;
}

/* The identity a server takes, and with which suite. */
typedef struct psk_pick {
  size_t index;                   /* in the ClientHello */
  const tern_external_psk *ext;   /* the external PSK, or NULL: a ticket (c->hs->ticket) */
  size_t ext_index;               /* its index in cfg->psks */
  const tern_suite *suite;
} psk_pick;

/*
 * Finds the first offered identity from index `from` on that we can
 * take: an external PSK of ours that fits a suite, or a ticket that opens
 * and is usable at now (with a time only). Fills *pick and returns 1,
 * leaving an opened ticket in c->hs->ticket; 0 when none (c->hs->ticket freed),
 * or TERN_ERR_ALERT.
 */
static int find_psk(tern_conn *c, const tern_client_hello *ch, size_t from, int have_time,
                    uint64_t now, psk_pick *pick) {
  const tern_extensions *e = &ch->ext;
  int tickets = have_time && c->cfg->ticket_keys != NULL;
  memset(pick, 0, sizeof *pick);
  if (tickets && c->hs->ticket == NULL && (c->hs->ticket = OPENSSL_malloc(sizeof *c->hs->ticket)) == NULL)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  for (size_t i = from; i < e->n_psk; i++) {
    const tern_span *t = &e->psk[i].identity;
    memset(pick, 0, sizeof *pick);
    pick->index = i;
    if ((pick->ext = find_external(c->cfg, t, &pick->ext_index)) != NULL) {
      /* an identity of ours whose hash no common suite uses is skipped */
      if ((pick->suite = suite_for(c, ch, pick->ext->hash)) != NULL) break;
      continue;
    }
    if (!tickets) continue;
    pick->suite = c->suite;
    /* a test hook (core/conn.h) may take the identity as a trace's ticket */
    if (c->test != NULL && c->test->server_psk != NULL &&
        c->test->server_psk(c, &e->psk[i], now, c->hs->ticket))
      break;
    if (tern_ticket_open(c->cfg->ticket_keys, t->p, t->len, c->hs->ticket) == TERN_OK &&
        ticket_usable(c, c->hs->ticket, now))
      break;
    pick->suite = NULL;
  }
  if (pick->suite == NULL || pick->ext != NULL) {
    if (c->hs->ticket) OPENSSL_clear_free(c->hs->ticket, sizeof *c->hs->ticket);
    c->hs->ticket = NULL;
  }
  return pick->suite != NULL;
}

/* Verifies the binder of the picked identity with its PSK (the suite's
   hash is the PSK's). */
static int check_binder(tern_conn *c, const tern_client_hello *ch, const psk_pick *pick) {
  uint8_t th[TERN_MAX_HASH_LEN], want[TERN_MAX_HASH_LEN];
  const tern_span *got = &ch->ext.binders[pick->index];
  size_t n = c->suite->hash->len;
  int rc, ok;
  rc = tern_transcript_peek(&c->hs->transcript, c->msg, 4 + ch->ext.psk_binders_offset, th);
  if (rc == TERN_OK) rc = tern_keysched_init(&c->hs->ks, c->suite->hash);
  if (rc == TERN_OK)
    rc = pick->ext ? tern_keysched_early(&c->hs->ks, pick->ext->key, pick->ext->key_len)
                   : tern_keysched_early(&c->hs->ks, c->hs->ticket->psk, c->hs->ticket->psk_len);
  if (rc == TERN_OK) rc = tern_keysched_binder_key(&c->hs->ks, pick->ext != NULL);
  if (rc == TERN_OK) rc = tern_keysched_binder(&c->hs->ks, th, want);
  if (rc != TERN_OK) {
    OPENSSL_cleanse(want, sizeof want);
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "PSK binder failed");
  }
  ok = got->len == n && CRYPTO_memcmp(got->p, want, n) == 0;
  OPENSSL_cleanse(want, sizeof want);
  if (!ok) return tern_conn_fail(c, TERN_ALERT_DECRYPT_ERROR, "the PSK binder does not verify");
  return TERN_OK;
}

/* A ticket just verified: records it as used; 1 on its first use, 0
   when seen before, USE_UNKNOWN when the fleet's store cannot tell. */
static int ticket_first_use(tern_conn *c, const tern_client_hello *ch, size_t i, uint64_t now) {
  const tern_span *t = &ch->ext.psk[i].identity;
  uint8_t id[32];
  if (c->cfg->ticket_fetch_fn != NULL) {
    /* the application's store decides (and forgets the ticket: single use) */
    int r = c->cfg->ticket_fetch_fn(c, t->p, t->len, c->cfg->ticket_store_user);
    if (r != TERN_TICKET_DEFAULT) return r == 1 ? 1 : r == -1 ? USE_UNKNOWN : 0;
  }
  if (tern_hash_data(tern_hash_get(TERN_HASH_SHA256), t->p, t->len, id) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "hash failed");
  return first_use(c, id, now, c->hs->ticket->issue_time_ms + (uint64_t)c->hs->ticket->lifetime_s * 1000);
}

int tern_resume_server_choose(tern_conn *c, const tern_client_hello *ch, int share_found) {
  const tern_extensions *e = &ch->ext;
  psk_pick pick;
  uint64_t now = 0;
  int mode = 0, have_time, rc, use = 0;

  if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY))) return TERN_OK;
  if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_PSK_KEY_EXCHANGE_MODES)))
    return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION,
                          "pre_shared_key without psk_key_exchange_modes");
  if (c->cfg->psk_ke && has_mode(&e->psk_modes, TERN_PSK_KE)) mode = TERN_RESUMED_KE;
  else if (share_found && has_mode(&e->psk_modes, TERN_PSK_DHE_KE)) mode = TERN_RESUMED_DHE;
  if (mode == 0) return TERN_OK;
  have_time = tern_conn_now(c, &now) == TERN_OK;
  for (size_t from = 0;; from = pick.index + 1) {
    if ((rc = find_psk(c, ch, from, have_time, now, &pick)) <= 0) return rc;
    /* §4.2.11: the PSK picks the suite; the binder is of its hash */
    if (pick.suite != c->suite && (rc = use_suite(c, pick.suite)) != TERN_OK) return rc;
    if ((rc = check_binder(c, ch, &pick)) != TERN_OK) return rc;
    if (pick.ext != NULL || (use = ticket_first_use(c, ch, pick.index, now)) == 1 ||
        use == USE_UNKNOWN)
      break;
    if (use < 0) return use;
    /* a ticket used before (or no room to remember it): not this one;
       a later identity (an external PSK) may still be taken, else a
       full handshake. Its binder was good, so checking a second one
       tells nothing of which identities we know (§E.6). */
  }
  c->psk_mode = mode;
  c->hs->selected_psk = (uint16_t)pick.index;
  /* a refusal of 0-RTT is recorded by the caller, whatever its reason */
  c->ticket_client_auth = (uint8_t)(pick.ext == NULL && c->hs->ticket->client_auth);
  if (pick.ext == NULL) {
    prefer_early_suite(c, ch, c->hs->ticket->suite);
    if ((e->present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA)) && use == 1 &&
        early_ok(c, ch, pick.index, now)) {
      c->early_status = TERN_EARLY_DATA_ACCEPTED;
      c->early_max = c->cfg->max_early_data;
    }
    return TERN_OK;
  }
  c->external_psk = (uint8_t)(1 + pick.ext_index);
  if (e->present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA)) {
    if (pick.ext->max_early_data > 0) prefer_early_suite(c, ch, pick.ext->early_suite);
    if (external_early_ok(c, ch, pick.index, pick.ext, now)) {
      c->early_status = TERN_EARLY_DATA_ACCEPTED;
      c->early_max = pick.ext->max_early_data;
    }
  }
  return TERN_OK;
}

int tern_resume_server_hrr_suite(tern_conn *c, const tern_client_hello *ch) {
  psk_pick pick;
  uint64_t now = 0;
  int have_time, rc;
  if (!(ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)) ||
      !(ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_PSK_KEY_EXCHANGE_MODES)) ||
      !has_mode(&ch->ext.psk_modes, TERN_PSK_DHE_KE))
    return TERN_OK;
  have_time = tern_conn_now(c, &now) == TERN_OK;
  rc = find_psk(c, ch, 0, have_time, now, &pick);
  /* nothing is decided yet: the second ClientHello's binder will be */
  if (c->hs->ticket) OPENSSL_clear_free(c->hs->ticket, sizeof *c->hs->ticket);
  c->hs->ticket = NULL;
  if (rc < 0) return rc;
  if (rc == 0 || pick.suite == c->suite) return TERN_OK;
  return use_suite(c, pick.suite);
}

int tern_resume_server_early(tern_conn *c) {
  uint8_t th[TERN_MAX_HASH_LEN];
  int rc;
  if (c->early_status != TERN_EARLY_DATA_ACCEPTED) return TERN_OK;
  rc = tern_hs_transcript_hash(c, th);
  if (rc != TERN_OK) return rc;
  if (tern_keysched_early_traffic(&c->hs->ks, th) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "early traffic secret failed");
  c->early_suite = c->suite;
  c->early_exporter_ready = 1;
  tern_conn_keylog(c, "EARLY_EXPORTER_SECRET", c->hs->ks.early_exporter, c->suite->hash->len);
  return tern_conn_install_secret(c, TERN_LEVEL_EARLY, TERN_READ, c->hs->ks.client_early,
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
  rc = tern_keysched_ticket_psk(h, tern_conn_resumption_secret(c), nonce, sizeof nonce, st->psk);
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
  st->client_auth = c->peer_leaf != NULL || c->ticket_client_auth;
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
  rc = tern_conn_send_msg(c, out, len);
  if (rc == TERN_OK && c->cfg->ticket_issued_fn != NULL)
    c->cfg->ticket_issued_fn(c, ticket, ticket_len, nst.ticket_lifetime,
                             (uint32_t)nst.ext.max_early_data_size, c->cfg->ticket_store_user);
  return rc;
}
