/*
 * engine/server.c - engine layer: the actions of the server machine
 * (spec/server.rl), one per transition. Received messages reach them
 * parsed, through the classifier (engine/classify.c).
 *
 * Negotiation happens once per ClientHello (recv_ch / recv_ch2): suite,
 * group, signature scheme, ALPN and the transport parameters are decided
 * there, and the actions that follow only write what was decided.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/sig.h"
#include "engine/ech.h"
#include "engine/handshake.h"
#include "engine/machines.h"
#include "engine/resume.h"

/* The extensions a ClientHello2 may change (RFC 8446 §4.1.2). */
#define CH2_MAY_CHANGE                                                    \
  (TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE) | TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA) | \
   TERN_EXT_BIT(TERN_EXT_ID_COOKIE) | TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY) | \
   TERN_EXT_BIT(TERN_EXT_ID_PADDING))

#define HRR_COOKIE_LEN 32

/* Picks the cipher suite: ours in our order, if the client offered it
   (in QUIC never TLS_AES_128_CCM_8_SHA256, RFC 9001 §5.3). */
static int pick_suite(tern_conn *c, const tern_client_hello *ch) {
  for (size_t i = 0; i < c->cfg->n_suites; i++)
    if (tern_conn_suite_usable(c, c->cfg->suites[i]) &&
        tern_msg_list_has(&ch->cipher_suites, c->cfg->suites[i])) {
      c->suite = tern_suite_get(c->cfg->suites[i]);
      return TERN_OK;
    }
  return tern_conn_fail(c, TERN_ALERT_HANDSHAKE_FAILURE, "no cipher suite in common");
}

/* 1 when we may pick group: any of ours, or only the post-quantum ones
   when the configuration requires them. */
static int may_take(const tern_conn *c, uint16_t group) {
  return !c->cfg->pq_required || tern_group_is_pq(tern_group_get(group));
}

/*
 * Picks the group: our most preferred one the client sent a share for;
 * failing that, our most preferred one it supports (HelloRetryRequest).
 * *share_found tells which.
 */
static int pick_group(tern_conn *c, const tern_client_hello *ch, int *share_found) {
  const tern_extensions *e = &ch->ext;
  tern_key_share_entry ks;
  if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_GROUPS)))
    return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION, "ClientHello without supported_groups");
  if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE)))
    return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION, "ClientHello without key_share");
  /* §4.2.8: a share only for a group the client lists, and one at most
     per group; checked for the groups we could pick, so a list of any
     length costs one pass per group of ours. */
  for (size_t i = 0; i < c->cfg->n_groups; i++) {
    size_t k = tern_msg_key_share_count(e, c->cfg->groups[i]);
    if (k > 1)
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER, "two key shares for group 0x%04x",
                            c->cfg->groups[i]);
    if (k == 1 && !tern_msg_list_has(&e->supported_groups, c->cfg->groups[i]))
      return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                            "key share for group 0x%04x not in supported_groups",
                            c->cfg->groups[i]);
  }
  /* our most preferred group with a share: a hybrid when the client sent
     one (ours come first), else its classical share, with no
     HelloRetryRequest; post-quantum only when the configuration asks */
  for (size_t i = 0; i < c->cfg->n_groups; i++)
    if (may_take(c, c->cfg->groups[i]) && tern_msg_find_key_share(e, c->cfg->groups[i], &ks)) {
      const tern_group *g = tern_group_get(ks.group);
      if (ks.key_exchange.len != g->share_len)
        return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                              "key share of the wrong length for %s", g->name);
      if (tern_conn_kex(c) == NULL ||
          tern_share_copy_set(&c->hs->kex->peer_share, ks.key_exchange.p, ks.key_exchange.len) !=
              TERN_OK)
        return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
      c->group = ks.group;
      *share_found = 1;
      return TERN_OK;
    }
  for (size_t i = 0; i < c->cfg->n_groups; i++)
    if (may_take(c, c->cfg->groups[i]) &&
        tern_msg_list_has(&e->supported_groups, c->cfg->groups[i])) {
      c->group = c->cfg->groups[i];
      *share_found = 0;
      return TERN_OK;
    }
  return tern_conn_fail(c, TERN_ALERT_HANDSHAKE_FAILURE, "no group in common");
}

/* Picks the ALPN protocol: ours in our order, if the client offered it. */
static int pick_alpn(tern_conn *c, const tern_client_hello *ch) {
  const tern_extensions *e = &ch->ext;
  size_t off = 0;
  if (c->cfg->alpn_len == 0) return TERN_OK;
  if (e->present & TERN_EXT_BIT(TERN_EXT_ID_ALPN)) {
    while (off < c->cfg->alpn_len) {
      size_t l = c->cfg->alpn[off];
      const uint8_t *name = c->cfg->alpn + off + 1;
      for (size_t i = 0; i < e->n_alpn; i++)
        if (e->alpn[i].len == l && memcmp(e->alpn[i].p, name, l) == 0) {
          memcpy(c->alpn, name, l);
          c->alpn[l] = 0;
          return TERN_OK;
        }
      off += 1 + l;
    }
  }
  if (c->quic || (e->present & TERN_EXT_BIT(TERN_EXT_ID_ALPN)))
    return tern_conn_fail(c, TERN_ALERT_NO_APPLICATION_PROTOCOL,
                          "no application protocol in common");
  return TERN_OK;
}

/* Runs the server-name callback once per connection. */
static int server_name(tern_conn *c, const tern_client_hello *ch) {
  const tern_span *sn = &ch->ext.server_name;
  int alert;
  if (ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_SERVER_NAME)) {
    if (sn->len >= sizeof c->hs->server_name)
      return tern_conn_fail(c, TERN_ALERT_UNRECOGNIZED_NAME, "server name too long");
    memcpy(c->server_name, sn->p, sn->len);
    c->server_name[sn->len] = 0;
  }
  if (c->cfg->sni_fn == NULL) return TERN_OK;
  alert = c->cfg->sni_fn(c, c->server_name[0] ? c->server_name : NULL, c->cfg->sni_user);
  if (alert != 0)
    return tern_conn_fail(c, (uint8_t)alert, "the server-name callback refused \"%s\"",
                          c->server_name);
  return TERN_OK;
}

/*
 * Our chain and signature scheme for a full handshake: the first chain
 * whose key signs with a scheme the client offers and whose certificates
 * are signed the way signature_algorithms_cert (else signature_algorithms)
 * allows; failing that, the first whose key can sign (RFC 8446 §4.4.2.2).
 */
static int pick_certificate(tern_conn *c, const tern_client_hello *ch) {
  const tern_u16_list *sa = &ch->ext.signature_algorithms;
  const tern_u16_list *sc = (ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_SIGNATURE_ALGORITHMS_CERT))
                                ? &ch->ext.signature_algorithms_cert
                                : sa;
  tern_cert_chain *chains[TERN_MAX_CHAINS], *fallback = NULL;
  uint16_t scheme = 0, fallback_scheme = 0, common[TERN_MAX_SIGS];
  size_t n = 0, n_common;
  uint8_t alert = 0;
  if (c->cfg->chain == NULL) {
    /* a server of external PSKs only: nothing to do without one */
    if (c->cfg->n_psks == 0)
      return tern_conn_fail(c, TERN_ALERT_HANDSHAKE_FAILURE, "no server certificate configured");
    return tern_conn_fail(c, TERN_ALERT_HANDSHAKE_FAILURE,
                          (ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY))
                              ? "no PSK the client offered was taken, and this server has "
                                "no certificate (PSKs only)"
                              : "the client offered no PSK, and this server has no "
                                "certificate (PSKs only)");
  }
  if (!(ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_SIGNATURE_ALGORITHMS)))
    return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION,
                          "ClientHello without signature_algorithms");
  chains[n++] = c->cfg->chain;
  for (size_t i = 0; i < c->cfg->n_more_chains; i++) chains[n++] = c->cfg->more_chains[i];
  /* the client's lists may be of any length: keep what we could use */
  n_common = tern_msg_list_common(sa, c->cfg->sigs, c->cfg->n_sigs, common);
  for (size_t i = 0; i < n; i++) {
    uint16_t signed_with[2 * TERN_CERT_MAX_CHAIN], allowed[2 * TERN_CERT_MAX_CHAIN];
    size_t n_signed = 0;
    if (tern_sig_pick(chains[i]->key, c->cfg->sigs, c->cfg->n_sigs, common, n_common, &scheme,
                      &alert) != TERN_OK)
      continue;
    /* rsa_pss_rsae_X and rsa_pss_pss_X are the same signature */
    for (size_t j = 0; j < chains[i]->n; j++) {
      uint16_t w = chains[i]->signed_with[j];
      signed_with[n_signed++] = w;
      if (w >= 0x0804 && w <= 0x0806) signed_with[n_signed++] = (uint16_t)(w + 5);
    }
    if (tern_cert_chain_signed_within(chains[i], allowed,
                                      tern_msg_list_common(sc, signed_with, n_signed, allowed))) {
      c->own_chain = chains[i];
      c->sig_scheme = scheme;
      return TERN_OK;
    }
    if (fallback == NULL) {
      fallback = chains[i];
      fallback_scheme = scheme;
    }
  }
  if (fallback == NULL)
    return tern_conn_fail(c, TERN_ALERT_HANDSHAKE_FAILURE,
                          "no signature scheme in common for our certificate");
  c->own_chain = fallback;
  c->sig_scheme = fallback_scheme;
  return TERN_OK;
}

/* What both ClientHellos decide: everything but the group's share. */
static int negotiate(tern_conn *c, const tern_client_hello *ch, int *share_found) {
  const tern_extensions *e = &ch->ext;
  int rc;

  /* RFC 8446 §D.5: a legacy_version of 0x0300 or less is refused,
     whatever supported_versions says */
  if (ch->legacy_version <= 0x0300)
    return tern_conn_fail(c, TERN_ALERT_PROTOCOL_VERSION,
                          "ClientHello legacy_version 0x%04x (SSL 3.0 or older)",
                          ch->legacy_version);
  if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_VERSIONS)) ||
      !tern_msg_list_has(&e->supported_versions, TERN_TLS13))
    return tern_conn_fail(c, TERN_ALERT_PROTOCOL_VERSION, "the client does not offer TLS 1.3");
  if (c->quic && ch->session_id.len != 0)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "QUIC ClientHello with a legacy_session_id (RFC 9001 §8.4)");
  if ((rc = pick_suite(c, ch)) != TERN_OK) return rc;
  if ((rc = pick_group(c, ch, share_found)) != TERN_OK) return rc;
  if ((rc = pick_alpn(c, ch)) != TERN_OK) return rc;
  /* RFC 8446 §9.2: a ClientHello that offers a PSK may resume without
     certificates; the certificate is chosen once resumption is ruled out */
  if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)) &&
      (rc = pick_certificate(c, ch)) != TERN_OK)
    return rc;
  if (c->quic) {
    if (!(e->present & TERN_EXT_BIT(TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS)))
      return tern_conn_fail(c, TERN_ALERT_MISSING_EXTENSION,
                            "ClientHello without quic_transport_parameters");
  }
  return TERN_OK;
}

/* Keeps the client's transport parameters. */
static int keep_peer_tp(tern_conn *c, const tern_span *tp) {
  OPENSSL_free(c->peer_tp);
  c->peer_tp = OPENSSL_malloc(tp->len ? tp->len : 1);
  if (c->peer_tp == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  if (tp->len) memcpy(c->peer_tp, tp->p, tp->len);
  c->peer_tp_len = tp->len;
  c->peer_tp_seen = 1;
  return TERN_OK;
}

/*
 * After resumption had its say: resume.c may move to the suite of the
 * offered ticket, which a fleet sharing ticket keys between TCP and QUIC
 * servers could have issued under TLS_AES_128_CCM_8_SHA256. QUIC never
 * runs it (RFC 9001 §5.3); a client that offers it in QUIC gets a
 * handshake_failure rather than a suite without header protection.
 */
static int check_quic_suite(tern_conn *c) {
  if (c->quic && !c->suite->quic)
    return tern_conn_fail(c, TERN_ALERT_HANDSHAKE_FAILURE,
                          "%s is not allowed in QUIC (RFC 9001 §5.3)", c->suite->name);
  return TERN_OK;
}

/* Queues our flight after a ClientHello we can answer. */
static int queue_flight(tern_conn *c) {
  static const unsigned char flight[] = {TERN_EV_SEND_SH, TERN_EV_SEND_EE, TERN_EV_SEND_CERT,
                                         TERN_EV_SEND_CV, TERN_EV_SEND_FIN};
  int rc = TERN_OK;
  for (size_t i = 0; rc == TERN_OK && i < sizeof flight; i++) {
    if (flight[i] == TERN_EV_SEND_CERT && c->hs->cert_requested)
      rc = tern_conn_push_event(c, TERN_EV_SEND_CR);
    if (rc == TERN_OK) rc = tern_conn_push_event(c, flight[i]);
  }
  return rc;
}

/* Queues our flight when a PSK was accepted: no certificate. */
static int queue_psk_flight(tern_conn *c) {
  int rc = tern_conn_push_event(c, TERN_EV_SEND_SH_PSK);
  if (rc == TERN_OK)
    rc = tern_conn_push_event(c, c->early_status == TERN_EARLY_DATA_ACCEPTED
                                     ? TERN_EV_SEND_EE_EARLY
                                     : TERN_EV_SEND_EE);
  if (rc == TERN_OK) rc = tern_conn_push_event(c, TERN_EV_SEND_FIN);
  return rc;
}

/* After a ClientHello we can answer (it is in the transcript). */
static int answer_client_hello(tern_conn *c, const tern_client_hello *ch) {
  int rc;
  if (c->psk_mode) {
    c->sig_scheme = 0; /* no CertificateVerify when resuming */
    if ((rc = tern_resume_server_early(c)) != TERN_OK) return rc;
    return queue_psk_flight(c);
  }
  if ((ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY)) &&
      (rc = pick_certificate(c, ch)) != TERN_OK)
    return rc;
  c->hs->cert_requested = c->cfg->client_auth != TERN_CLIENT_AUTH_NONE;
  return queue_flight(c);
}

int tern_server_recv_ch(tern_conn *c) {
  const tern_client_hello *ch = &c->parsed->ch;
  int share_found = 0, rc;

  /* RFC 9849 §7.1: ClientHelloInner, when ECH decrypts, replaces it */
  if ((rc = tern_ech_server_ch1(c)) != TERN_OK) return rc;
  memcpy(c->hs->client_random, ch->random, 32);
  c->pha_offered = !c->quic && (ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_POST_HANDSHAKE_AUTH));
  memcpy(c->hs->session_id, ch->session_id.p ? ch->session_id.p : c->hs->session_id,
         ch->session_id.len);
  c->hs->session_id_len = ch->session_id.len;
  if ((rc = server_name(c, ch)) != TERN_OK) return rc;
  tern_hs_pick_cert_compression(c, &ch->ext);
  if ((rc = negotiate(c, ch, &share_found)) != TERN_OK) return rc;
  if (c->quic && (rc = keep_peer_tp(c, &ch->ext.quic_transport_parameters)) != TERN_OK)
    return rc;
  if ((rc = tern_hs_transcript_start(c)) != TERN_OK) return rc;
  if ((rc = tern_resume_server_choose(c, ch, share_found)) != TERN_OK) return rc;
  if ((rc = check_quic_suite(c)) != TERN_OK) return rc;
  /* the HelloRetryRequest fixes the suite: one the PSK can go on with */
  if (!share_found && c->psk_mode != TERN_RESUMED_KE &&
      (rc = tern_resume_server_hrr_suite(c, ch)) != TERN_OK)
    return rc;
  /* early data offered but not taken, whatever the reason: its records
     are skipped (RFC 8446 §4.2.10) */
  if ((ch->ext.present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA)) &&
      c->early_status != TERN_EARLY_DATA_ACCEPTED)
    c->early_status = TERN_EARLY_DATA_REJECTED;
  if ((rc = tern_conn_transcript_add(c, c->msg, c->msg_len)) != TERN_OK) return rc;
  if (share_found || c->psk_mode == TERN_RESUMED_KE) return answer_client_hello(c, ch);
  /* Keep the first ClientHello to check the second against it. */
  c->hs->ch1 = OPENSSL_malloc(c->msg_len);
  if (c->hs->ch1 == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  memcpy(c->hs->ch1, c->msg, c->msg_len);
  c->hs->ch1_len = c->msg_len;
  return tern_conn_push_event(c, TERN_EV_SEND_HRR);
}

int tern_server_send_hrr(tern_conn *c) {
  tern_server_hello hrr;
  uint8_t out[512];
  size_t len = 0, cookie_len = 0;
  const uint8_t *cookie = NULL;
  int rc;

  /* a test hook (core/conn.h) may fix the cookie to a trace's */
  if (c->test != NULL && c->test->hrr_cookie != NULL)
    cookie = c->test->hrr_cookie(c, &cookie_len);
  if (c->hs->cookie == NULL && (c->hs->cookie = OPENSSL_malloc(TERN_MAX_COOKIE)) == NULL)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  if (cookie != NULL && cookie_len > 0 && cookie_len <= TERN_MAX_COOKIE) {
    memcpy(c->hs->cookie, cookie, cookie_len);
    c->hs->cookie_len = cookie_len;
  } else {
    if ((rc = tern_conn_random(c, c->hs->cookie, HRR_COOKIE_LEN)) != TERN_OK) return rc;
    c->hs->cookie_len = HRR_COOKIE_LEN;
  }
  memset(&hrr, 0, sizeof hrr);
  hrr.is_hrr = 1;
  hrr.legacy_version = TERN_LEGACY_VERSION;
  hrr.random = tern_msg_hrr_random;
  hrr.session_id.p = c->hs->session_id;
  hrr.session_id.len = c->hs->session_id_len;
  hrr.cipher_suite = c->suite->id;
  hrr.ext.present = TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_VERSIONS) |
                    TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE) | TERN_EXT_BIT(TERN_EXT_ID_COOKIE);
  hrr.ext.selected_version = TERN_TLS13;
  hrr.ext.selected_group = c->group;
  hrr.ext.cookie.p = c->hs->cookie;
  hrr.ext.cookie.len = c->hs->cookie_len;
  hrr.ext.n_order = 3;
  hrr.ext.order[0] = TERN_EXT_KEY_SHARE;
  hrr.ext.order[1] = TERN_EXT_COOKIE;
  hrr.ext.order[2] = TERN_EXT_SUPPORTED_VERSIONS;
  tern_ech_server_hrr_ext(c, &hrr.ext); /* RFC 9849 §7.2.1, last */
  if (tern_msg_write_server_hello(&hrr, out, sizeof out, &len) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write HelloRetryRequest");
  if (tern_transcript_hrr_rewrite(&c->hs->transcript) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "transcript rewrite failed");
  if ((rc = tern_ech_server_confirm_hrr(c, out, len)) != TERN_OK) return rc;
  c->used_hrr = 1;
  return tern_conn_send_msg(c, out, len);
}

/* Checks ClientHello2 against ClientHello1 (RFC 8446 §4.1.2). */
static int check_ch2(tern_conn *c, const tern_client_hello *ch2) {
  tern_client_hello *ch1 = OPENSSL_malloc(sizeof *ch1);
  uint8_t alert = 0;
  int rc = TERN_OK;
  if (ch1 == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  if (tern_msg_parse_client_hello(c->hs->ch1 + 4, c->hs->ch1_len - 4, ch1, &alert) != TERN_OK) {
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "first ClientHello no longer parses");
    goto out;
  }
  if (memcmp(ch1->random, ch2->random, 32) != 0 || ch1->legacy_version != ch2->legacy_version ||
      ch1->session_id.len != ch2->session_id.len ||
      memcmp(ch1->session_id.p, ch2->session_id.p, ch1->session_id.len) != 0 ||
      ch1->cipher_suites.raw.len != ch2->cipher_suites.raw.len ||
      memcmp(ch1->cipher_suites.raw.p, ch2->cipher_suites.raw.p, ch1->cipher_suites.raw.len)) {
    rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                        "second ClientHello changes its random, session id or suites");
    goto out;
  }
  if ((ch1->ext.present & ~CH2_MAY_CHANGE) != (ch2->ext.present & ~CH2_MAY_CHANGE)) {
    rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                        "second ClientHello adds or drops extensions");
    goto out;
  }
  for (int id = 0; id < TERN_EXT_ID_COUNT; id++) {
    const tern_span *a = &ch1->ext.data[id], *b = &ch2->ext.data[id];
    if ((TERN_EXT_BIT(id) & CH2_MAY_CHANGE) || !(ch1->ext.present & TERN_EXT_BIT(id))) continue;
    if (a->len != b->len || (a->len && memcmp(a->p, b->p, a->len) != 0)) {
      rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "second ClientHello changes extension %d", id);
      goto out;
    }
  }
  if (ch2->ext.present & TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA)) {
    rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER, "early_data after HelloRetryRequest");
    goto out;
  }
  if (!(ch2->ext.present & TERN_EXT_BIT(TERN_EXT_ID_COOKIE)) ||
      ch2->ext.cookie.len != c->hs->cookie_len ||
      CRYPTO_memcmp(ch2->ext.cookie.p, c->hs->cookie, c->hs->cookie_len) != 0) {
    rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                        "second ClientHello does not echo our cookie");
    goto out;
  }
  if (ch2->ext.key_share_count != 1 || ch2->ext.key_shares[0].group != c->group) {
    rc = tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                        "second ClientHello must carry one share, for the group we asked");
    goto out;
  }
out:
  OPENSSL_free(ch1);
  return rc;
}

int tern_server_recv_ch2(tern_conn *c) {
  const tern_client_hello *ch = &c->parsed->ch;
  const tern_suite *suite = c->suite;
  uint16_t group = c->group;
  int share_found = 0, rc;

  if ((rc = tern_ech_server_ch2(c)) != TERN_OK) return rc;
  if ((rc = check_ch2(c, ch)) != TERN_OK) return rc;
  OPENSSL_clear_free(c->hs->ch1, c->hs->ch1_len);
  c->hs->ch1 = NULL;
  c->hs->ch1_len = 0;
  if ((rc = negotiate(c, ch, &share_found)) != TERN_OK) return rc;
  if (c->group != group || !share_found)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "second ClientHello does not lead to the same choice");
  /* the suite is the HelloRetryRequest's (maybe one a PSK asked for),
     which the unchanged cipher_suites offer */
  c->suite = suite;
  if (c->quic && (rc = keep_peer_tp(c, &ch->ext.quic_transport_parameters)) != TERN_OK)
    return rc;
  if ((rc = tern_resume_server_choose(c, ch, share_found)) != TERN_OK) return rc;
  if ((rc = check_quic_suite(c)) != TERN_OK) return rc;
  if ((rc = tern_conn_transcript_add(c, c->msg, c->msg_len)) != TERN_OK) return rc;
  return answer_client_hello(c, ch);
}

int tern_server_send_sh(tern_conn *c) {
  tern_server_hello sh;
  tern_key_share *mine = NULL;
  /* room for the longest share (ffdhe8192) beside the fixed fields */
  uint8_t out[TERN_GROUP_MAX_SHARE + 512], random[32], secret[TERN_GROUP_MAX_SECRET];
  uint8_t alert = TERN_ALERT_ILLEGAL_PARAMETER;
  size_t len = 0, secret_len = 0;
  int rc;

  int dhe = c->psk_mode != TERN_RESUMED_KE;

  if ((rc = tern_conn_random(c, random, sizeof random)) != TERN_OK) return rc;
  if (dhe) {
    if (c->hs->kex == NULL) /* (a client share was taken: never) */
      return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "no key share to answer");
    mine = &c->hs->kex->shares[0];
    /* our key pair and the secret, or for ML-KEM Encaps to the client's
       key (draft-ietf-tls-ecdhe-mlkem §3.1.2) */
    rc = tern_group_respond(tern_group_get(c->group), tern_conn_draw, c,
                            c->hs->kex->peer_share.p, c->hs->kex->peer_share.len, mine, secret, &secret_len,
                            &alert);
    c->hs->n_shares = rc == TERN_OK ? 1 : 0;
    tern_share_copy_clear(&c->hs->kex->peer_share);
    if (rc != TERN_OK) {
      OPENSSL_cleanse(secret, sizeof secret);
      return tern_conn_fail(c, rc == TERN_ERR_ALERT ? alert : TERN_ALERT_INTERNAL_ERROR,
                            "key exchange with the client's share failed");
    }
  } else {
    c->group = 0; /* psk_ke: no key exchange */
  }
  memset(&sh, 0, sizeof sh);
  sh.legacy_version = TERN_LEGACY_VERSION;
  sh.random = random;
  sh.session_id.p = c->hs->session_id;
  sh.session_id.len = c->hs->session_id_len;
  sh.cipher_suite = c->suite->id;
  sh.ext.present = TERN_EXT_BIT(TERN_EXT_ID_SUPPORTED_VERSIONS);
  sh.ext.selected_version = TERN_TLS13;
  /* the order RFC 8448 §4 shows: pre_shared_key, key_share, versions */
  if (c->psk_mode) {
    sh.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_PRE_SHARED_KEY);
    sh.ext.selected_identity = c->hs->selected_psk;
    sh.ext.order[sh.ext.n_order++] = TERN_EXT_PRE_SHARED_KEY;
  }
  if (dhe) {
    sh.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_KEY_SHARE);
    sh.ext.n_key_shares = sh.ext.key_share_count = 1;
    sh.ext.key_shares[0].group = c->group;
    sh.ext.key_shares[0].key_exchange.p = mine->pub;
    sh.ext.key_shares[0].key_exchange.len = mine->pub_len;
    sh.ext.order[sh.ext.n_order++] = TERN_EXT_KEY_SHARE;
  }
  sh.ext.order[sh.ext.n_order++] = TERN_EXT_SUPPORTED_VERSIONS;
  rc = tern_msg_write_server_hello(&sh, out, sizeof out, &len);
  if (rc != TERN_OK) rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write ServerHello");
  if (rc == TERN_OK) rc = tern_ech_server_confirm_sh(c, out, len); /* RFC 9849 §7.2 */
  if (rc == TERN_OK) rc = tern_conn_send_msg(c, out, len);
  tern_conn_kex_free(c);
  if (rc == TERN_OK) rc = tern_hs_handshake_secrets(c, dhe ? secret : NULL, secret_len);
  OPENSSL_cleanse(secret, sizeof secret);
  return rc;
}

int tern_server_send_ee(tern_conn *c) {
  tern_encrypted_extensions ee;
  uint8_t out[TERN_HS_OUT_MAX], retry[2 + TERN_MAX_ECH_KEYS * TERN_ECH_CONFIG_MAX];
  size_t len = 0;
  int rc;

  memset(&ee, 0, sizeof ee);
  if (c->alpn[0]) {
    ee.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_ALPN);
    ee.ext.alpn[0].p = (const uint8_t *)c->alpn;
    ee.ext.alpn[0].len = strlen(c->alpn);
    ee.ext.n_alpn = ee.ext.alpn_count = 1;
  }
  if (c->server_name[0]) ee.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_SERVER_NAME);
  if (c->early_status == TERN_EARLY_DATA_ACCEPTED)
    ee.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_EARLY_DATA);
  if (c->quic) {
    if (!c->hs->tp_set)
      return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR,
                            "QUIC transport parameters were not set before the handshake");
    ee.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_QUIC_TRANSPORT_PARAMETERS);
    ee.ext.quic_transport_parameters.p = c->hs->tp;
    ee.ext.quic_transport_parameters.len = c->hs->tp_len;
    c->hs->tp_sent = 1;
  }
  /* RFC 9849 §7.1: retry_configs when ECH was rejected */
  if ((rc = tern_ech_server_ee(c, &ee.ext, retry, sizeof retry)) != TERN_OK) return rc;
  rc = tern_msg_write_encrypted_extensions(&ee, out, sizeof out, &len);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write EncryptedExtensions: %s",
                          tern_strerror(rc));
  return tern_conn_send_msg(c, out, len);
}

/* Writes and sends a CertificateRequest with context (empty in the
   handshake). */
static int send_certificate_request(tern_conn *c, const uint8_t *context, size_t context_len) {
  tern_certificate_request cr;
  uint8_t out[512];
  size_t len = 0;
  uint8_t *buf = out;
  size_t cap = sizeof out;
  int rc;
  memset(&cr, 0, sizeof cr);
  cr.context.p = context;
  cr.context.len = context_len;
  cr.ext.present = TERN_EXT_BIT(TERN_EXT_ID_SIGNATURE_ALGORITHMS);
  cr.ext.signature_algorithms.n = cr.ext.signature_algorithms.count = c->cfg->n_sigs;
  memcpy(cr.ext.signature_algorithms.v, c->cfg->sigs, c->cfg->n_sigs * sizeof(uint16_t));
  tern_hs_offer_cert_compression(c, &cr.ext);
  if (c->cfg->ca_names != NULL) {
    cr.ext.present |= TERN_EXT_BIT(TERN_EXT_ID_CERTIFICATE_AUTHORITIES);
    cr.ext.certificate_authorities.p = c->cfg->ca_names;
    cr.ext.certificate_authorities.len = c->cfg->ca_names_len;
    cap = c->cfg->ca_names_len + sizeof out;
    buf = OPENSSL_malloc(cap);
    if (buf == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  }
  if (tern_msg_write_certificate_request(&cr, buf, cap, &len) != TERN_OK)
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write CertificateRequest");
  else
    rc = tern_conn_send_msg(c, buf, len);
  if (buf != out) OPENSSL_free(buf);
  return rc;
}

int tern_server_send_cr(tern_conn *c) { return send_certificate_request(c, NULL, 0); }

int tern_server_send_cert(tern_conn *c) { return tern_hs_certificate_send(c, c->own_chain); }

int tern_server_send_cv(tern_conn *c) { return tern_hs_verify_send(c, c->own_chain); }

int tern_server_send_fin(tern_conn *c) {
  int rc = tern_hs_finished_send(c, c->hs->ks.server_hs);
  if (rc == TERN_OK) rc = tern_hs_application_secrets(c);
  /* Our 1-RTT write key now; the client's once its Finished checks out. */
  if (rc == TERN_OK) rc = tern_hs_install_application(c, TERN_WRITE);
  return rc;
}

int tern_server_recv_eoed(tern_conn *c) {
  /* from here the client writes under its handshake keys */
  c->early_data_ended = 1;
  return tern_conn_transcript_add(c, c->msg, c->msg_len);
}

int tern_server_recv_cert(tern_conn *c) { return tern_hs_certificate_recv(c, &c->parsed->cert); }

/* An empty client Certificate, in the handshake or after it. */
int tern_server_recv_cert_empty(tern_conn *c) {
  int rc = tern_hs_certificate_context_ok(c, &c->parsed->cert);
  if (rc != TERN_OK) return rc;
  if (c->cfg->client_auth == TERN_CLIENT_AUTH_REQUIRED)
    return tern_conn_fail(c, TERN_ALERT_CERTIFICATE_REQUIRED, "the client sent no certificate");
  return tern_conn_transcript_add(c, c->msg, c->msg_len);
}

int tern_server_recv_cv(tern_conn *c) { return tern_hs_verify_recv(c, &c->parsed->cv); }

int tern_server_recv_fin(tern_conn *c) {
  uint8_t th[TERN_MAX_HASH_LEN];
  int rc = tern_hs_finished_check(c, c->hs->ks.client_hs, &c->parsed->fin);
  if (rc == TERN_OK) rc = tern_hs_transcript_hash(c, th);
  if (rc == TERN_OK && tern_keysched_resumption(&c->hs->ks, th) != TERN_OK)
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "resumption secret failed");
  if (rc == TERN_OK) rc = tern_hs_install_application(c, TERN_READ);
  if (rc == TERN_OK) rc = tern_conn_set_read_level(c, TERN_LEVEL_APPLICATION);
  if (rc == TERN_OK) c->done = 1;
  if (rc == TERN_OK) rc = tern_resume_server_queue_tickets(c, c->cfg->n_tickets);
  return rc;
}

int tern_server_send_nst(tern_conn *c) { return tern_resume_server_send_ticket(c); }

int tern_server_recv_ku(tern_conn *c) { return tern_hs_key_update_recv(c, c->parsed->ku_request); }

int tern_server_send_ku(tern_conn *c) { return tern_hs_key_update_send(c); }

/* ---- post-handshake authentication (TCP) ---- */

int tern_server_send_cr_post(tern_conn *c) {
  uint8_t context[16];
  int rc = tern_conn_random(c, context, sizeof context);
  if (rc == TERN_OK) rc = tern_hs_pha_start(c, context, sizeof context);
  if (rc == TERN_OK) rc = send_certificate_request(c, context, sizeof context);
  return rc;
}

int tern_server_recv_cert_post(tern_conn *c) { return tern_hs_certificate_recv(c, &c->parsed->cert); }

int tern_server_recv_cert_empty_post(tern_conn *c) { return tern_server_recv_cert_empty(c); }

int tern_server_recv_cv_post(tern_conn *c) { return tern_hs_verify_recv(c, &c->parsed->cv); }

int tern_server_recv_fin_post(tern_conn *c) {
  int rc = tern_hs_finished_check(c, c->hs->ks.client_ap, &c->parsed->fin);
  tern_hs_pha_end(c, rc == TERN_OK);
  return rc;
}
