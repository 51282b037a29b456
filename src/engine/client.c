/*
 * engine/client.c - engine layer: the actions of the client machine
 * (spec/client.rl), one per transition. Received messages reach them
 * parsed, through the classifier (engine/classify.c).
 *
 * Every action handles exactly one message: it validates what the
 * machine cannot (values, not order), updates the transcript and drives
 * the key schedule. Order is the machine's business alone.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/sig.h"
#include "engine/ech.h"
#include "engine/handshake.h"
#include "engine/machines.h"
#include "engine/resume.h"

/* The extensions a server may answer with: those we sent. */
static uint32_t sent_mask(const tern_conn *c) { return c->hs->sent_exts; }

/* Remembers which extensions a ClientHello we send carries. */
static void note_sent(tern_conn *c, const tern_extensions *e) {
  c->hs->sent_exts = e->present;
  c->hs->n_sent_unknown = 0;
  for (size_t i = 0; i < e->n_unknown && c->hs->n_sent_unknown < 8; i++)
    c->hs->sent_unknown[c->hs->n_sent_unknown++] = e->unknown[i].type;
}

/*
 * A test hook (core/conn.h) may hand a trace's ClientHello to send
 * instead of ours: it replaces out[0..*len) and ch, whose binder is then
 * computed over the trace's PartialClientHello as over ours.
 */
static int replay_client_hello(tern_conn *c, tern_client_hello *ch, uint8_t *out, size_t cap,
                               size_t *len, size_t *partial_len) {
  size_t n = 0;
  const uint8_t *trace = c->test->client_hello(c, c->used_hrr, &n);
  uint8_t alert = 0;
  if (trace == NULL) return TERN_OK;
  if (n < 4 + 38 || n > cap)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "replayed ClientHello unusable");
  memcpy(out, trace, n);
  if (tern_msg_parse_client_hello(out + 4, n - 4, ch, &alert) != TERN_OK ||
      (c->hs->n_psk_offered > 0 && !(ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY))))
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "replayed ClientHello unusable");
  memcpy(c->hs->client_random, out + 6, 32);
  *len = n;
  *partial_len = 4 + ch->ext.psk_binders_offset;
  return TERN_OK;
}

/* Whether name is an IP literal (RFC 6066 §3: no SNI for those). */
static int is_ip_literal(const char *name) {
  int colon = 0, other = 0;
  for (const char *p = name; *p; p++) {
    if (*p == ':') colon = 1;
    else if (!((*p >= '0' && *p <= '9') || *p == '.' || (*p >= 'a' && *p <= 'f') ||
               (*p >= 'A' && *p <= 'F')))
      other = 1;
  }
  if (colon) return !other;
  for (const char *p = name; *p; p++)
    if (!((*p >= '0' && *p <= '9') || *p == '.')) return 0;
  return 1;
}

/* 1 when we may offer group: any of ours, or only the post-quantum ones
   when the configuration requires them. */
static int may_offer(const tern_conn *c, uint16_t group) {
  return !c->cfg->pq_required || tern_group_is_pq(tern_group_get(group));
}

/* Makes a fresh key share for group into slot i. */
static int make_share(tern_conn *c, size_t i, uint16_t group) {
  const tern_group *g = tern_group_get(group);
  int rc;
  if (g == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "unknown group");
  if (tern_conn_kex(c) == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  tern_key_share_free(&c->hs->kex->shares[i]);
  rc = tern_group_keygen(g, tern_conn_draw, c, &c->hs->kex->shares[i]);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "key generation for %s failed: %s",
                          g->name, tern_strerror(rc));
  return TERN_OK;
}

/*
 * RFC 9849: wraps ClientHelloInner inner[0..len) in a ClientHelloOuter
 * and sends that. The transcript is the inner hello's (kept in c->hs->ch1
 * until the suite is known), the outer one kept too in case the server
 * rejects ECH; after a HelloRetryRequest that rejected it, the outer hello
 * is the one hashed.
 */
static int send_with_ech(tern_conn *c, const tern_client_hello *ch, const uint8_t *inner,
                         size_t len) {
  size_t cap = TERN_HS_OUT_MAX + 1024, outer_len = 0;
  uint8_t *outer = OPENSSL_malloc(cap);
  int rc, listed = 0;
  if (outer == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  /* the outer hello carries encrypted_client_hello even when the inner
     one does not (after a HelloRetryRequest that rejected ECH): the
     server may answer with it (retry_configs) */
  for (size_t i = 0; i < c->hs->n_sent_unknown; i++) listed |= c->hs->sent_unknown[i] == 0xfe0d;
  if (!listed && c->hs->n_sent_unknown < 8) c->hs->sent_unknown[c->hs->n_sent_unknown++] = 0xfe0d;
  rc = tern_ech_client_outer(c, ch, inner, len, outer, cap, &outer_len);
  if (rc == TERN_OK && !c->hs->transcript_ready) {
    c->hs->ch1 = OPENSSL_malloc(len);
    c->ech->outer = OPENSSL_malloc(outer_len);
    if (c->hs->ch1 == NULL || c->ech->outer == NULL) {
      rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
    } else {
      memcpy(c->hs->ch1, inner, len);
      c->hs->ch1_len = len;
      memcpy(c->ech->outer, outer, outer_len);
      c->ech->outer_len = outer_len;
    }
  }
  if (rc == TERN_OK) {
    if (c->ech_status == TERN_ECH_REJECTED)
      rc = tern_conn_send_msg(c, outer, outer_len);
    else
      rc = tern_conn_send_msg_hashing(c, outer, outer_len, inner, len);
  }
  OPENSSL_free(outer);
  /* RFC 9001 §4.1.4: the 0-RTT write key once the ClientHello is out */
  if (rc == TERN_OK && c->ech_status != TERN_ECH_REJECTED) rc = tern_resume_client_early(c, inner, len);
  return rc;
}

/* Writes our ClientHello (first or second) and sends it. */
static int write_and_send_ch(tern_conn *c) {
  tern_client_hello ch;
  tern_extensions *e = &ch.ext;
  uint8_t out[TERN_HS_OUT_MAX], psk_modes[2];
  size_t len = 0, off = 0, partial_len = 0;
  int rc;

  memset(&ch, 0, sizeof ch);
  ch.legacy_version = TERN_LEGACY_VERSION;
  ch.random = c->hs->client_random;
  ch.session_id.p = c->hs->session_id;
  ch.session_id.len = c->hs->session_id_len;
  for (size_t i = 0; i < c->cfg->n_suites; i++)
    if (tern_conn_suite_usable(c, c->cfg->suites[i]))
      ch.cipher_suites.v[ch.cipher_suites.n++] = c->cfg->suites[i];
  ch.cipher_suites.count = ch.cipher_suites.n;
  if (ch.cipher_suites.n == 0)
    return tern_conn_fail(c, TERN_ALERT_HANDSHAKE_FAILURE,
                          "no cipher suite to offer in QUIC (RFC 9001 §5.3 forbids "
                          "TLS_AES_128_CCM_8_SHA256)");

  e->present = TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_VERSIONS) |
               TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_GROUPS) |
               TERN_EXT_BIT(TERN_EXT_ID_SIGNATURE_ALGORITHMS) |
               TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE);
  e->supported_versions.n = e->supported_versions.count = 1;
  e->supported_versions.v[0] = TERN_TLS13;
  e->supported_groups.n = 0;
  for (size_t i = 0; i < c->cfg->n_groups; i++)
    if (may_offer(c, c->cfg->groups[i]))
      e->supported_groups.v[e->supported_groups.n++] = c->cfg->groups[i];
  e->supported_groups.count = e->supported_groups.n;
  e->signature_algorithms.n = e->signature_algorithms.count = c->cfg->n_sigs;
  memcpy(e->signature_algorithms.v, c->cfg->sigs, c->cfg->n_sigs * sizeof(uint16_t));
  if (c->cfg->n_sigs_cert) {
    e->present |= TERN_EXT_BIT(TERN_EXT_ID_SIGNATURE_ALGORITHMS_CERT);
    e->signature_algorithms_cert.n = e->signature_algorithms_cert.count = c->cfg->n_sigs_cert;
    memcpy(e->signature_algorithms_cert.v, c->cfg->sigs_cert,
           c->cfg->n_sigs_cert * sizeof(uint16_t));
  }
  e->n_key_shares = e->key_share_count = c->hs->n_shares;
  for (size_t i = 0; i < c->hs->n_shares; i++) {
    e->key_shares[i].group = c->hs->kex->shares[i].group->id;
    e->key_shares[i].key_exchange.p = c->hs->kex->shares[i].pub;
    e->key_shares[i].key_exchange.len = c->hs->kex->shares[i].pub_len;
  }
  if (c->server_name[0] && !is_ip_literal(c->server_name)) {
    e->present |= TERN_EXT_BIT(TERN_EXT_ID_SERVER_NAME);
    e->server_name.p = (const uint8_t *)c->server_name;
    e->server_name.len = strlen(c->server_name);
  }
  while (off < c->cfg->alpn_len && e->n_alpn < TERN_MSG_MAX_ALPN) {
    size_t l = c->cfg->alpn[off];
    e->alpn[e->n_alpn].p = c->cfg->alpn + off + 1;
    e->alpn[e->n_alpn++].len = l;
    off += 1 + l;
  }
  e->alpn_count = e->n_alpn;
  if (e->n_alpn) e->present |= TERN_EXT_BIT(TERN_EXT_ID_ALPN);
  if (c->quic) {
    e->present |= TERN_EXT_BIT(TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS);
    e->quic_transport_parameters.p = c->hs->tp;
    e->quic_transport_parameters.len = c->hs->tp_len;
  }
  if (!c->quic && c->cfg->post_handshake_auth) { /* RFC 9001 §4.4: not in QUIC */
    e->present |= TERN_EXT_BIT(TERN_EXT_ID_POST_HANDSHAKE_AUTH);
    c->pha_offered = 1;
  }
  tern_hs_offer_cert_compression(c, e);
  if (c->hs->cookie_len) {
    e->present |= TERN_EXT_BIT(TERN_EXT_ID_COOKIE);
    e->cookie.p = c->hs->cookie;
    e->cookie.len = c->hs->cookie_len;
  }
  if ((rc = tern_resume_client_extensions(c, &ch, psk_modes)) != TERN_OK) return rc;
  if (c->ech_status != TERN_ECH_NONE) { /* RFC 9849 §5: the inner extension */
    tern_ech_client_inner_ext(c, e);
    tern_ech_ext_order(e);
  } else if ((rc = tern_ech_client_grease_ext(c, e)) != TERN_OK) {
    return rc;
  }
  rc = tern_msg_write_client_hello(&ch, out, sizeof out, &len, &partial_len);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write ClientHello: %s",
                          tern_strerror(rc));
  if (c->test != NULL && c->test->client_hello != NULL &&
      (rc = replay_client_hello(c, &ch, out, sizeof out, &len, &partial_len)) != TERN_OK)
    return rc;
  if ((rc = tern_resume_client_bind(c, out, len, partial_len)) != TERN_OK) return rc;
  note_sent(c, e);
  if (c->ech_status != TERN_ECH_NONE) return send_with_ech(c, &ch, out, len);
  if (!c->hs->transcript_ready) {
    /* Until the suite is known, keep the ClientHello for the transcript. */
    c->hs->ch1 = OPENSSL_malloc(len);
    if (c->hs->ch1 == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
    memcpy(c->hs->ch1, out, len);
    c->hs->ch1_len = len;
  }
  rc = tern_conn_send_msg(c, out, len);
  /* RFC 9001 §4.1.4: the 0-RTT write key once the ClientHello is out */
  if (rc == TERN_OK) rc = tern_resume_client_early(c, out, len);
  return rc;
}

int tern_client_send_ch(tern_conn *c) {
  int rc;
  if (c->quic && !c->hs->tp_set)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR,
                          "QUIC transport parameters were not set before the handshake");
  rc = tern_conn_random(c, c->hs->client_random, sizeof c->hs->client_random);
  if (rc == TERN_OK && c->ech_status != TERN_ECH_NONE)
    rc = tern_conn_random(c, c->ech->outer_random, sizeof c->ech->outer_random);
  /* QUIC has no middlebox compatibility mode (RFC 9001 §8.4); over TCP
     it is on: a random legacy_session_id (RFC 8446 §D.4). */
  c->hs->session_id_len = 0;
  if (rc == TERN_OK && c->transport->middlebox_compat) {
    rc = tern_conn_random(c, c->hs->session_id, 32);
    c->hs->session_id_len = 32;
  }
  for (size_t i = 0; rc == TERN_OK && i < c->cfg->n_share_groups; i++) {
    if (!may_offer(c, c->cfg->share_groups[i])) continue;
    rc = make_share(c, c->hs->n_shares, c->cfg->share_groups[i]);
    if (rc == TERN_OK) c->hs->n_shares++;
  }
  /* post-quantum required and no such share group: the first such group */
  for (size_t i = 0; rc == TERN_OK && c->hs->n_shares == 0 && i < c->cfg->n_groups; i++)
    if (may_offer(c, c->cfg->groups[i])) {
      rc = make_share(c, 0, c->cfg->groups[i]);
      if (rc == TERN_OK) c->hs->n_shares = 1;
    }
  if (rc != TERN_OK) return rc;
  return write_and_send_ch(c);
}

/* Checks what a ServerHello and a HelloRetryRequest share (§4.1.3-4). */
static int check_server_hello(tern_conn *c, const tern_server_hello *sh, const char *name) {
  int offered = 0;
  if (!(sh->ext.present & TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_VERSIONS)) ||
      sh->ext.selected_version != TERN_TLS13)
    return tern_conn_fail(c, TERN_ALERT_PROTOCOL_VERSION, "%s does not select TLS 1.3", name);
  if (sh->legacy_version != TERN_LEGACY_VERSION)
    return tern_conn_fail(c, TERN_ALERT_PROTOCOL_VERSION, "%s legacy_version is not 0x0303",
                          name);
  if (sh->session_id.len != c->hs->session_id_len ||
      (sh->session_id.len && memcmp(sh->session_id.p, c->hs->session_id, c->hs->session_id_len)))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "%s does not echo our legacy_session_id", name);
  offered = tern_conn_suite_usable(c, sh->cipher_suite);
  if (!offered)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "%s selects cipher suite 0x%04x we did not offer", name, sh->cipher_suite);
  if (c->suite != NULL && c->suite->id != sh->cipher_suite)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "ServerHello cipher suite differs from the HelloRetryRequest's");
  /* The cookie is the one extension a server may send unasked (§4.2). */
  return tern_hs_check_response_exts(
      c, &sh->ext, sent_mask(c) | (sh->is_hrr ? TERN_EXT_BIT(TERN_EXT_ID_COOKIE) : 0), name);
}

/* Starts the transcript with our first ClientHello, now that the hash is known. */
static int transcript_with_ch1(tern_conn *c) {
  int rc = tern_hs_transcript_start(c);
  if (rc == TERN_OK) rc = tern_conn_transcript_add(c, c->hs->ch1, c->hs->ch1_len);
  OPENSSL_clear_free(c->hs->ch1, c->hs->ch1_len);
  c->hs->ch1 = NULL;
  c->hs->ch1_len = 0;
  return rc;
}

int tern_client_recv_hrr(tern_conn *c) {
  const tern_server_hello *hrr = &c->parsed->sh;
  uint16_t g = hrr->ext.selected_group;
  int supported = 0, rc;

  rc = check_server_hello(c, hrr, "HelloRetryRequest");
  if (rc == TERN_OK) rc = tern_ech_client_hrr(c, hrr); /* RFC 9849 §6.1.4 */
  if (rc != TERN_OK) return rc;
  if (!(hrr->ext.present & TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE)) &&
      !(hrr->ext.present & TERN_EXT_BIT(TERN_EXT_ID_COOKIE)))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "HelloRetryRequest would not change the ClientHello");
  c->suite = tern_suite_get(hrr->cipher_suite);
  /* A HelloRetryRequest rejects early data (RFC 8446 §4.2.10). */
  if (c->early_status == TERN_EARLY_DATA_OFFERED) c->early_status = TERN_EARLY_DATA_REJECTED;
  rc = transcript_with_ch1(c);
  if (rc == TERN_OK && tern_transcript_hrr_rewrite(&c->hs->transcript) != TERN_OK)
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "transcript rewrite failed");
  if (rc == TERN_OK) rc = tern_conn_transcript_add(c, c->msg, c->msg_len);
  if (rc != TERN_OK) return rc;

  if (hrr->ext.present & TERN_EXT_BIT(TERN_EXT_ID_COOKIE)) {
    if (hrr->ext.cookie.len > TERN_MAX_COOKIE)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER, "HelloRetryRequest cookie too long");
    if (c->hs->cookie == NULL && (c->hs->cookie = OPENSSL_malloc(TERN_MAX_COOKIE)) == NULL)
      return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
    memcpy(c->hs->cookie, hrr->ext.cookie.p, hrr->ext.cookie.len);
    c->hs->cookie_len = hrr->ext.cookie.len;
  }
  if (hrr->ext.present & TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE)) {
    for (size_t i = 0; i < c->cfg->n_groups; i++)
      supported |= c->cfg->groups[i] == g && may_offer(c, g);
    for (size_t i = 0; i < c->hs->n_shares; i++)
      if (c->hs->kex->shares[i].group->id == g) supported = 0;
    if (!supported)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                            "HelloRetryRequest selects group 0x%04x we did not offer or "
                            "already sent a share for", g);
    for (size_t i = 1; i < c->hs->n_shares; i++) tern_key_share_free(&c->hs->kex->shares[i]);
    c->hs->n_shares = 1;
    rc = make_share(c, 0, g);
    if (rc != TERN_OK) return rc;
  }
  c->used_hrr = 1;
  return tern_conn_push_event(c, TERN_EV_SEND_CH);
}

int tern_client_send_ch2(tern_conn *c) { return write_and_send_ch(c); }

/* A ServerHello (full or PSK): key exchange and the handshake secrets. */
static int server_hello(tern_conn *c, const tern_server_hello *sh, int psk) {
  const tern_key_share *mine = NULL;
  uint8_t secret[TERN_GROUP_MAX_SECRET], alert = TERN_ALERT_ILLEGAL_PARAMETER;
  size_t secret_len = 0;
  int dhe, rc = check_server_hello(c, sh, "ServerHello");
  if (rc == TERN_OK) rc = tern_ech_client_sh(c, sh, psk); /* RFC 9849 §6.1.4 */
  if (rc != TERN_OK) return rc;
  if (psk) rc = tern_resume_client_accepted(c, sh);
  else tern_resume_client_declined(c);
  if (rc != TERN_OK) return rc;
  if (c->psk_mode != TERN_RESUMED_KE) {
    if (!(sh->ext.present & TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE)))
      return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION, "ServerHello without key_share");
    for (size_t i = 0; i < c->hs->n_shares; i++)
      if (c->hs->kex->shares[i].group->id == sh->ext.key_shares[0].group) mine = &c->hs->kex->shares[i];
    if (mine == NULL)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                            "ServerHello key share for group 0x%04x we did not send",
                            sh->ext.key_shares[0].group);
  }
  if (c->suite == NULL) {
    c->suite = tern_suite_get(sh->cipher_suite);
    rc = transcript_with_ch1(c);
    if (rc != TERN_OK) return rc;
  }
  rc = tern_conn_transcript_add(c, c->msg, c->msg_len);
  if (rc != TERN_OK) return rc;

  if (mine != NULL) {
    rc = tern_group_derive(mine, sh->ext.key_shares[0].key_exchange.p,
                           sh->ext.key_shares[0].key_exchange.len, secret, &secret_len, &alert);
    if (rc != TERN_OK) {
      OPENSSL_cleanse(secret, sizeof secret);
      return tern_conn_fail(c, rc == TERN_ERR_ALERT ? alert : TERN_ALERT_INTERNAL_ERROR,
                            "key exchange with the server's share failed");
    }
    c->group = mine->group->id;
  }
  dhe = mine != NULL;
  tern_conn_kex_free(c); /* mine too: the secret is derived */
  rc = tern_hs_handshake_secrets(c, dhe ? secret : NULL, secret_len);
  OPENSSL_cleanse(secret, sizeof secret);
  return rc;
}

int tern_client_recv_sh(tern_conn *c) { return server_hello(c, &c->parsed->sh, 0); }

int tern_client_recv_sh_psk(tern_conn *c) { return server_hello(c, &c->parsed->sh, 1); }

int tern_client_recv_ee(tern_conn *c) {
  const tern_extensions *e = &c->parsed->ee.ext;
  uint32_t allowed = TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_GROUPS) |
                     (sent_mask(c) & (TERN_EXT_BIT(TERN_EXT_ID_SERVER_NAME) |
                                      TERN_EXT_BIT(TERN_EXT_ID_ALPN) |
                                      TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA) |
                                      TERN_EXT_BIT(TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS)));
  int rc = tern_hs_check_response_exts(c, e, allowed, "EncryptedExtensions");
  if (rc == TERN_OK) rc = tern_ech_client_ee(c, e); /* RFC 9849 §5: retry_configs */
  if (rc != TERN_OK) return rc;

  if (e->present & TERN_EXT_BIT(TERN_EXT_ID_ALPN)) {
    const tern_span *p = &e->alpn[0];
    size_t off = 0;
    int found = 0;
    while (off < c->cfg->alpn_len) {
      size_t l = c->cfg->alpn[off];
      if (l == p->len && memcmp(c->cfg->alpn + off + 1, p->p, l) == 0) found = 1;
      off += 1 + l;
    }
    if (e->n_alpn != 1 || !found)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                            "the server selected an ALPN protocol we did not offer");
    memcpy(c->alpn, p->p, p->len);
    c->alpn[p->len] = 0;
  } else if (c->quic && c->cfg->alpn_len) {
    /* RFC 9001 §8.1 */
    return tern_conn_fail(c, TERN_ALERT_NO_APPLICATION_PROTOCOL,
                          "the server selected no application protocol");
  }
  if (c->quic) {
    const tern_span *tp = &e->quic_transport_parameters;
    if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS)))
      return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION,
                            "EncryptedExtensions without quic_transport_parameters");
    c->peer_tp = OPENSSL_malloc(tp->len ? tp->len : 1);
    if (c->peer_tp == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
    if (tp->len) memcpy(c->peer_tp, tp->p, tp->len);
    c->peer_tp_len = tp->len;
    c->peer_tp_seen = 1;
  }
  rc = tern_resume_client_early_answer(c, (e->present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA)) != 0);
  if (rc != TERN_OK) return rc;
  return tern_conn_transcript_add(c, c->msg, c->msg_len);
}

/* Keeps the schemes a CertificateRequest allows for our signature. */
static int take_request_sigs(tern_conn *c, const tern_certificate_request *cr) {
  const tern_u16_list *sa = &cr->ext.signature_algorithms;
  if (!(cr->ext.present & TERN_EXT_BIT(TERN_EXT_ID_SIGNATURE_ALGORITHMS)))
    return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION,
                          "CertificateRequest without signature_algorithms");
  /* the server's list may be of any length: keep the schemes of ours in it */
  c->hs->n_peer_sigs = tern_msg_list_common(sa, c->cfg->sigs, c->cfg->n_sigs, c->hs->peer_sigs);
  return TERN_OK;
}

int tern_client_recv_cr(tern_conn *c) {
  const tern_certificate_request *cr = &c->parsed->cr;
  int rc;
  if (cr->context.len != 0)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "CertificateRequest with a context in the handshake");
  if ((rc = take_request_sigs(c, cr)) != TERN_OK) return rc;
  tern_hs_pick_cert_compression(c, &cr->ext);
  c->hs->cert_requested = 1;
  return tern_conn_transcript_add(c, c->msg, c->msg_len);
}

int tern_client_recv_cert(tern_conn *c) { return tern_hs_certificate_recv(c, &c->parsed->cert); }

int tern_client_recv_cv(tern_conn *c) { return tern_hs_verify_recv(c, &c->parsed->cv); }

/* Our answer to a CertificateRequest: our chain and its proof when our
   key can sign with a scheme the server listed, else an empty one. */
static int queue_client_auth(tern_conn *c) {
  const tern_cert_chain *chain = c->cfg->chain;
  uint8_t alert = 0;
  uint16_t scheme = 0;
  int rc;
  if (chain != NULL &&
      tern_sig_pick(chain->key, c->cfg->sigs, c->cfg->n_sigs, c->hs->peer_sigs, c->hs->n_peer_sigs,
                    &scheme, &alert) == TERN_OK) {
    c->own_chain = c->cfg->chain;
    c->sig_scheme = scheme;
    rc = tern_conn_push_event(c, TERN_EV_SEND_CERT);
    if (rc == TERN_OK) rc = tern_conn_push_event(c, TERN_EV_SEND_CV);
  } else {
    c->own_chain = NULL;
    rc = tern_conn_push_event(c, TERN_EV_SEND_CERT_EMPTY);
  }
  return rc;
}

int tern_client_recv_fin(tern_conn *c) {
  int rc = tern_hs_finished_check(c, c->hs->ks.server_hs, &c->parsed->fin);
  if (rc != TERN_OK) return rc;
  /* RFC 9849 §6.1.6: authenticated for public_name, then ech_required */
  if (c->ech_status == TERN_ECH_REJECTED)
    return tern_conn_fail(c, TERN_ALERT_ECH_REQUIRED,
                          "the server rejected ECH (%s); retry_configs %s", c->ech->public_name,
                          c->ech->retry != NULL ? "received" : "not sent");
  rc = tern_hs_application_secrets(c);
  if (rc != TERN_OK) return rc;
  /* Over TCP, accepted early data ends with EndOfEarlyData (§4.5). */
  if (!c->quic && c->early_status == TERN_EARLY_DATA_ACCEPTED &&
      (rc = tern_conn_push_event(c, TERN_EV_SEND_EOED)) != TERN_OK)
    return rc;
  if (c->hs->cert_requested && (rc = queue_client_auth(c)) != TERN_OK) return rc;
  return tern_conn_push_event(c, TERN_EV_SEND_FIN);
}

int tern_client_send_eoed(tern_conn *c) {
  uint8_t msg[4];
  size_t len = 0;
  int rc;
  if (c->quic)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "EndOfEarlyData is not sent in QUIC");
  if (tern_msg_write_end_of_early_data(msg, sizeof msg, &len) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write EndOfEarlyData");
  /* the transport sends it under the 0-RTT keys (RFC 8446 §4.5) */
  rc = tern_conn_send_msg(c, msg, len);
  c->early_data_ended = 1;
  return rc;
}

int tern_client_send_cert(tern_conn *c) { return tern_hs_certificate_send(c, c->own_chain); }

int tern_client_send_cv(tern_conn *c) { return tern_hs_verify_send(c, c->own_chain); }

int tern_client_send_fin(tern_conn *c) {
  uint8_t th[TERN_MAX_HASH_LEN];
  int rc = tern_hs_finished_send(c, c->hs->ks.client_hs);
  if (rc == TERN_OK) rc = tern_hs_transcript_hash(c, th);
  if (rc == TERN_OK && tern_keysched_resumption(&c->hs->ks, th) != TERN_OK)
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "resumption secret failed");
  /* RFC 9001 §4.1.4: our 1-RTT write key, then the server's. */
  if (rc == TERN_OK) rc = tern_hs_install_application(c, TERN_WRITE);
  if (rc == TERN_OK) rc = tern_hs_install_application(c, TERN_READ);
  if (rc == TERN_OK) rc = tern_conn_set_read_level(c, TERN_LEVEL_APPLICATION);
  if (rc == TERN_OK) c->done = 1;
  return rc;
}

int tern_client_recv_nst(tern_conn *c) { return tern_resume_client_ticket(c, &c->parsed->nst); }

int tern_client_recv_ku(tern_conn *c) { return tern_hs_key_update_recv(c, c->parsed->ku_request); }

int tern_client_send_ku(tern_conn *c) { return tern_hs_key_update_send(c); }

/* ---- post-handshake authentication (TCP) ---- */

int tern_client_recv_cr_post(tern_conn *c) {
  const tern_certificate_request *cr = &c->parsed->cr;
  int rc;
  if (!c->pha_offered)
    return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE,
                          "CertificateRequest after the handshake, without post_handshake_auth");
  if (cr->context.len == 0 || cr->context.len > sizeof c->hs->pha_context)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "post-handshake CertificateRequest context of %zu bytes",
                          cr->context.len);
  if ((rc = take_request_sigs(c, cr)) != TERN_OK) return rc;
  tern_hs_pick_cert_compression(c, &cr->ext);
  if ((rc = tern_hs_pha_start(c, cr->context.p, cr->context.len)) != TERN_OK) return rc;
  if ((rc = tern_conn_transcript_add(c, c->msg, c->msg_len)) != TERN_OK) return rc;
  if ((rc = queue_client_auth(c)) != TERN_OK) return rc;
  return tern_conn_push_event(c, TERN_EV_SEND_FIN);
}

int tern_client_send_cert_post(tern_conn *c) { return tern_hs_certificate_send(c, c->own_chain); }

int tern_client_send_cv_post(tern_conn *c) { return tern_hs_verify_send(c, c->own_chain); }

int tern_client_send_fin_post(tern_conn *c) {
  /* the Finished key of §4.4: the current client_application_traffic_secret */
  int rc = tern_hs_finished_send(c, c->hs->ks.client_ap);
  tern_hs_pha_end(c, rc == TERN_OK);
  return rc;
}
