/*
 * engine/handshake.c - engine layer: the steps the client and the server
 * take alike: the transcript, Finished, Certificate and CertificateVerify,
 * extension responses, and handing each traffic secret to the QUIC stack.
 */
#include "engine/handshake.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "crypto/cert.h"
#include "crypto/certcomp.h"
#include "crypto/sig.h"

int tern_hs_transcript_start(tern_conn *c) {
  if (tern_transcript_init(&c->hs->transcript, c->suite->hash) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "transcript hash unavailable");
  c->hs->transcript_ready = 1;
  return TERN_OK;
}

int tern_hs_transcript_hash(tern_conn *c, uint8_t *out) {
  if (tern_transcript_current(&c->hs->transcript, out) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "transcript hash failed");
  return TERN_OK;
}

int tern_hs_finished_check(tern_conn *c, const uint8_t *base_key,
                           const tern_span *verify_data) {
  uint8_t th[TERN_MAX_HASH_LEN], want[TERN_MAX_HASH_LEN];
  size_t n = c->suite->hash->len;
  int rc = tern_hs_transcript_hash(c, th);
  if (rc != TERN_OK) return rc;
  if (tern_finished_verify_data(c->suite->hash, base_key, th, want) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "Finished computation failed");
  rc = verify_data->len == n && CRYPTO_memcmp(want, verify_data->p, n) == 0;
  OPENSSL_cleanse(want, sizeof want);
  if (!rc) return tern_conn_fail(c, TERN_ALERT_DECRYPT_ERROR, "the peer's Finished is wrong");
  return tern_conn_transcript_add(c, c->msg, c->msg_len);
}

int tern_hs_finished_send(tern_conn *c, const uint8_t *base_key) {
  uint8_t th[TERN_MAX_HASH_LEN], vd[TERN_MAX_HASH_LEN], msg[4 + TERN_MAX_HASH_LEN];
  size_t n = c->suite->hash->len, len = 0;
  int rc = tern_hs_transcript_hash(c, th);
  if (rc != TERN_OK) return rc;
  if (tern_finished_verify_data(c->suite->hash, base_key, th, vd) != TERN_OK ||
      tern_msg_write_finished(vd, n, msg, sizeof msg, &len) != TERN_OK) {
    OPENSSL_cleanse(vd, sizeof vd);
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "Finished computation failed");
  }
  OPENSSL_cleanse(vd, sizeof vd);
  rc = tern_conn_send_msg(c, msg, len);
  OPENSSL_cleanse(msg, sizeof msg);
  return rc;
}

void tern_hs_pick_cert_compression(tern_conn *c, const tern_extensions *ext) {
  c->cert_comp_next = 0;
  if (!(ext->present & TERN_EXT_BIT(TERN_EXT_ID_COMPRESS_CERTIFICATE))) return;
  for (size_t i = 0; i < c->cfg->n_cert_comp; i++)
    if (tern_msg_list_has(&ext->cert_compression, c->cfg->cert_comp[i])) {
      c->cert_comp_next = c->cfg->cert_comp[i];
      return;
    }
}

void tern_hs_offer_cert_compression(const tern_conn *c, tern_extensions *ext) {
  if (c->cfg->n_cert_comp == 0) return;
  ext->present |= TERN_EXT_BIT(TERN_EXT_ID_COMPRESS_CERTIFICATE);
  ext->cert_compression.n = ext->cert_compression.count = c->cfg->n_cert_comp;
  memcpy(ext->cert_compression.v, c->cfg->cert_comp, c->cfg->n_cert_comp * sizeof(uint16_t));
}

/* Sends msg[0..len), our Certificate, compressed with c->cert_comp_next. */
static int send_compressed(tern_conn *c, const uint8_t *msg, size_t len) {
  uint8_t *packed = NULL;
  size_t packed_len = 0;
  int rc = tern_certcomp_message(c->cert_comp_next, msg, len, &packed, &packed_len);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot compress our Certificate: %s",
                          tern_strerror(rc));
  rc = tern_conn_send_msg(c, packed, packed_len);
  OPENSSL_free(packed);
  return rc;
}

int tern_hs_certificate_send(tern_conn *c, const tern_cert_chain *chain) {
  tern_certificate cert;
  size_t need = 4 + 1 + 32 + 3, len = 0;
  uint8_t *out;
  int rc;

  c->cert_comp_sent = 0;
  if (chain != NULL && c->cert_comp_next != 0) {
    c->cert_comp_sent = c->cert_comp_next;
    /* in the handshake the message is always the same: made once per chain */
    if (!c->pha_active && chain->compressed[c->cert_comp_next - 1] != NULL)
      return tern_conn_send_msg(c, chain->compressed[c->cert_comp_next - 1],
                                chain->compressed_len[c->cert_comp_next - 1]);
  }
  memset(&cert, 0, sizeof cert);
  if (c->pha_active) { /* echo the request's context (§4.4.2) */
    cert.context.p = c->hs->pha_context;
    cert.context.len = c->hs->pha_context_len;
  }
  if (chain != NULL) {
    cert.n = cert.count = chain->n;
    for (size_t i = 0; i < chain->n; i++) {
      cert.entries[i].cert_data.p = chain->der[i];
      cert.entries[i].cert_data.len = chain->der_len[i];
      need += 3 + chain->der_len[i] + 2;
    }
  }
  out = OPENSSL_malloc(need);
  if (out == NULL) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
  rc = tern_msg_write_certificate(&cert, out, need, &len);
  if (rc == TERN_OK)
    rc = c->cert_comp_sent ? send_compressed(c, out, len) : tern_conn_send_msg(c, out, len);
  else
    rc = tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write Certificate: %s",
                        tern_strerror(rc));
  OPENSSL_free(out);
  return rc;
}

/* The leaf's public key without any verification (verification off). */
static EVP_PKEY *leaf_key_only(const tern_span *der) {
  const unsigned char *p = der->p;
  X509 *x = d2i_X509(NULL, &p, (long)der->len);
  EVP_PKEY *k = NULL;
  if (x != NULL && p == der->p + der->len) k = X509_get_pubkey(x);
  X509_free(x);
  return k;
}

int tern_hs_certificate_context_ok(tern_conn *c, const tern_certificate *cert) {
  size_t want = c->pha_active ? c->hs->pha_context_len : 0;
  if (cert->context.len != want ||
      (want && memcmp(cert->context.p, c->hs->pha_context, want) != 0))
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "Certificate with the wrong certificate_request_context");
  return TERN_OK;
}

int tern_hs_certificate_recv(tern_conn *c, const tern_certificate *cert) {
  const uint8_t *der[TERN_CERT_MAX_CHAIN];
  size_t der_len[TERN_CERT_MAX_CHAIN];
  int peer_is_server = c->role == TERN_CLIENT;
  size_t n = cert->n;
  EVP_PKEY *key = NULL;
  int x509_err = 0, rc;
  uint8_t alert = TERN_ALERT_BAD_CERTIFICATE;

  if ((rc = tern_hs_certificate_context_ok(c, cert)) != TERN_OK) return rc;
  if (cert->count == 0)
    return tern_conn_fail(c, TERN_ALERT_DECODE_ERROR, "empty Certificate from the %s",
                          peer_is_server ? "server" : "client");
  /* We never ask for per-certificate extensions (OCSP, SCT). */
  for (size_t i = 0; i < n; i++)
    if (cert->entries[i].extensions.len != 0)
      return tern_conn_fail(c, TERN_ALERT_UNSUPPORTED_EXTENSION,
                            "Certificate entry carries an extension we did not request");
  if (cert->count > TERN_CERT_MAX_CHAIN || n > TERN_CERT_MAX_CHAIN)
    return tern_conn_fail(c, TERN_ALERT_BAD_CERTIFICATE,
                          "certificate chain longer than %d", TERN_CERT_MAX_CHAIN);
  for (size_t i = 0; i < n; i++) {
    der[i] = cert->entries[i].cert_data.p;
    der_len[i] = cert->entries[i].cert_data.len;
  }

  if (!c->cfg->verify_peer) {
    key = leaf_key_only(&cert->entries[0].cert_data);
    if (key == NULL)
      return tern_conn_fail(c, TERN_ALERT_BAD_CERTIFICATE, "the peer's certificate does not parse");
  } else {
    /* the chain is always verified; the name only when the client asks
       (tern_config_set_verify_name) */
    const char *host =
        peer_is_server && c->cfg->verify_name && c->server_name[0] ? c->server_name : NULL;
    if (c->cfg->trust == NULL) {
      rc = TERN_ERR_CERT;
      x509_err = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
      alert = TERN_ALERT_UNKNOWN_CA;
      key = leaf_key_only(&cert->entries[0].cert_data);
    } else {
      rc = tern_cert_verify_peer(c->cfg->trust, der, der_len, n, host, peer_is_server, 0,
                                 &key, &x509_err, &alert);
    }
    if (rc != TERN_OK && rc != TERN_ERR_CERT) {
      EVP_PKEY_free(key);
      return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "certificate verification failed: %s",
                            tern_strerror(rc));
    }
    if (c->cfg->verify_fn != NULL) {
      if (!c->cfg->verify_fn(c, rc == TERN_OK, x509_err, c->cfg->verify_user)) {
        EVP_PKEY_free(key);
        return tern_conn_fail(c, rc == TERN_OK ? TERN_ALERT_BAD_CERTIFICATE : alert,
                              "the verify callback rejected the peer's certificate (%s)",
                              X509_verify_cert_error_string(x509_err));
      }
    } else if (rc != TERN_OK) {
      EVP_PKEY_free(key);
      return tern_conn_fail(c, alert, "the peer's certificate does not verify: %s",
                            X509_verify_cert_error_string(x509_err));
    }
    if (key == NULL)
      return tern_conn_fail(c, TERN_ALERT_BAD_CERTIFICATE, "the peer's certificate has no usable key");
  }
  {
    /* a post-handshake certificate counts only once its Finished checks
       out (tern_hs_pha_end) */
    uint8_t **slot = c->pha_active ? &c->hs->pha_leaf : &c->peer_leaf;
    size_t *slot_len = c->pha_active ? &c->hs->pha_leaf_len : &c->peer_leaf_len;
    OPENSSL_free(*slot);
    *slot = OPENSSL_memdup(der[0], der_len[0]);
    if (*slot == NULL) {
      EVP_PKEY_free(key);
      return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "out of memory");
    }
    *slot_len = der_len[0];
  }
  EVP_PKEY_free(c->hs->peer_key);
  c->hs->peer_key = key;
  return tern_conn_transcript_add(c, c->msg, c->msg_len);
}

int tern_hs_verify_send(tern_conn *c, const tern_cert_chain *chain) {
  uint8_t th[TERN_MAX_HASH_LEN], msg[4 + 4 + TERN_SIG_MAX];
  uint8_t sigbuf[TERN_SIG_MAX];
  tern_certificate_verify cv;
  size_t sig_len = 0, len = 0;
  const tern_sig *s = tern_sig_get(c->sig_scheme);
  int rc = tern_hs_transcript_hash(c, th);
  if (rc != TERN_OK) return rc;
  if (s == NULL || chain == NULL)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "no signature scheme chosen");
  /* the prepared contexts are a cache of the chain's, not its value */
  rc = tern_sig_sign_prepared(s, chain->key, (tern_sig_prepared *)(uintptr_t)&chain->sign_prep,
                              c->role == TERN_SERVER, th, c->suite->hash->len, sigbuf,
                              sizeof sigbuf, &sig_len);
  if (rc != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "signing failed: %s", tern_strerror(rc));
  cv.algorithm = s->id;
  cv.signature.p = sigbuf;
  cv.signature.len = sig_len;
  if (tern_msg_write_certificate_verify(&cv, msg, sizeof msg, &len) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write CertificateVerify");
  return tern_conn_send_msg(c, msg, len);
}

int tern_hs_verify_recv(tern_conn *c, const tern_certificate_verify *cv) {
  uint8_t th[TERN_MAX_HASH_LEN];
  uint8_t alert = TERN_ALERT_DECRYPT_ERROR;
  const tern_sig *s = tern_sig_get(cv->algorithm);
  int offered = 0, rc;

  for (size_t i = 0; i < c->cfg->n_sigs; i++) offered |= c->cfg->sigs[i] == cv->algorithm;
  if (s == NULL || !offered)
    return tern_conn_fail(c, TERN_ALERT_ILLEGAL_PARAMETER,
                          "CertificateVerify with signature scheme 0x%04x we did not offer",
                          cv->algorithm);
  if (c->hs->peer_key == NULL)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "no peer key");
  rc = tern_hs_transcript_hash(c, th);
  if (rc != TERN_OK) return rc;
  rc = tern_sig_verify(s, c->hs->peer_key, c->role == TERN_CLIENT, th, c->suite->hash->len,
                       cv->signature.p, cv->signature.len, &alert);
  if (rc != TERN_OK)
    return tern_conn_fail(c, alert, "the peer's CertificateVerify (%s) does not verify",
                          s->name);
  c->sig_scheme = cv->algorithm;
  return tern_conn_transcript_add(c, c->msg, c->msg_len);
}

int tern_hs_check_response_exts(tern_conn *c, const tern_extensions *ext, uint32_t sent,
                                 const char *msg_name) {
  for (size_t i = 0; i < ext->n_unknown; i++) {
    int ours = 0;
    for (size_t j = 0; j < c->hs->n_sent_unknown; j++) ours |= c->hs->sent_unknown[j] == ext->unknown[i].type;
    if (!ours)
      return tern_conn_fail(c, TERN_ALERT_UNSUPPORTED_EXTENSION,
                            "%s carries extension %u we did not send", msg_name,
                            ext->unknown[i].type);
  }
  if (ext->unknown_count > ext->n_unknown)
    return tern_conn_fail(c, TERN_ALERT_UNSUPPORTED_EXTENSION,
                          "%s carries extensions we did not send", msg_name);
  if (ext->present & ~sent)
    return tern_conn_fail(c, TERN_ALERT_UNSUPPORTED_EXTENSION,
                          "%s carries an extension we did not send", msg_name);
  return TERN_OK;
}

const char *tern_hs_keylog_label(tern_role sender, tern_level level) {
  if (level == TERN_LEVEL_HANDSHAKE)
    return sender == TERN_CLIENT ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
                                 : "SERVER_HANDSHAKE_TRAFFIC_SECRET";
  if (level == TERN_LEVEL_APPLICATION)
    return sender == TERN_CLIENT ? "CLIENT_TRAFFIC_SECRET_0" : "SERVER_TRAFFIC_SECRET_0";
  if (level == TERN_LEVEL_EARLY) return "CLIENT_EARLY_TRAFFIC_SECRET";
  return NULL;
}

/* Whose secret travels in direction dir: ours when writing. */
static tern_role sender_of(const tern_conn *c, tern_direction dir) {
  if (dir == TERN_WRITE) return c->role;
  return c->role == TERN_CLIENT ? TERN_SERVER : TERN_CLIENT;
}

int tern_hs_handshake_secrets(tern_conn *c, const uint8_t *dhe, size_t dhe_len) {
  uint8_t th[TERN_MAX_HASH_LEN];
  int rc = tern_hs_transcript_hash(c, th);
  if (rc != TERN_OK) return rc;
  /* With a PSK, the early stage was set up from it (resume.c). */
  if (!c->psk_mode && (tern_keysched_init(&c->hs->ks, c->suite->hash) != TERN_OK ||
                       tern_keysched_early(&c->hs->ks, NULL, 0) != TERN_OK))
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "early secret failed");
  if (tern_keysched_handshake(&c->hs->ks, dhe, dhe_len) != TERN_OK ||
      tern_keysched_hs_traffic(&c->hs->ks, th) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "handshake secrets failed");
  for (int d = 0; d < 2; d++) {
    tern_direction dir = d == 0 ? TERN_WRITE : TERN_READ;
    tern_role who = sender_of(c, dir);
    const uint8_t *secret = who == TERN_CLIENT ? c->hs->ks.client_hs : c->hs->ks.server_hs;
    rc = tern_conn_install_secret(c, TERN_LEVEL_HANDSHAKE, dir, secret,
                                  tern_hs_keylog_label(who, TERN_LEVEL_HANDSHAKE));
    if (rc != TERN_OK) return rc;
  }
  return tern_conn_set_read_level(c, TERN_LEVEL_HANDSHAKE);
}

int tern_hs_application_secrets(tern_conn *c) {
  uint8_t th[TERN_MAX_HASH_LEN];
  int rc = tern_hs_transcript_hash(c, th);
  if (rc != TERN_OK) return rc;
  if (tern_keysched_master(&c->hs->ks) != TERN_OK || tern_keysched_ap_traffic(&c->hs->ks, th) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "application secrets failed");
  tern_conn_keylog(c, "EXPORTER_SECRET", c->hs->ks.exporter, c->suite->hash->len);
  return TERN_OK;
}

int tern_hs_install_application(tern_conn *c, tern_direction dir) {
  tern_role who = sender_of(c, dir);
  const uint8_t *secret = who == TERN_CLIENT ? c->hs->ks.client_ap : c->hs->ks.server_ap;
  return tern_conn_install_secret(c, TERN_LEVEL_APPLICATION, dir, secret,
                                  tern_hs_keylog_label(who, TERN_LEVEL_APPLICATION));
}

int tern_hs_key_update_send(tern_conn *c) {
  uint8_t msg[8];
  size_t len = 0;
  int server = c->role == TERN_SERVER, rc;
  if (c->quic) return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "KeyUpdate is not sent in QUIC");
  if (tern_msg_write_key_update(c->ku_request ? 1 : 0, msg, sizeof msg, &len) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "cannot write KeyUpdate");
  c->ku_request = 0;
  if ((rc = tern_conn_send_msg(c, msg, len)) != TERN_OK) return rc;
  if (tern_keysched_update(&c->hs->ks, server) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "key update failed");
  return tern_conn_install_secret(c, TERN_LEVEL_APPLICATION, TERN_WRITE,
                                  server ? c->hs->ks.server_ap : c->hs->ks.client_ap, NULL);
}

int tern_hs_key_update_recv(tern_conn *c, uint8_t request_update) {
  int peer_is_server = c->role == TERN_CLIENT, rc;
  if (c->quic) return tern_conn_fail(c, TERN_ALERT_UNEXPECTED_MESSAGE, "KeyUpdate is not allowed in QUIC");
  if (tern_keysched_update(&c->hs->ks, peer_is_server) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "key update failed");
  rc = tern_conn_install_secret(c, TERN_LEVEL_APPLICATION, TERN_READ,
                                peer_is_server ? c->hs->ks.server_ap : c->hs->ks.client_ap, NULL);
  if (rc == TERN_OK && request_update) {
    c->ku_request = 0;
    rc = tern_conn_push_event(c, TERN_EV_SEND_KU);
  }
  return rc;
}

int tern_hs_pha_start(tern_conn *c, const uint8_t *context, size_t len) {
  tern_transcript copy;
  if (c->pha_active || len == 0 || len > sizeof c->hs->pha_context)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "bad post-handshake authentication");
  if (tern_transcript_dup(&copy, &c->hs->transcript) != TERN_OK)
    return tern_conn_fail(c, TERN_ALERT_INTERNAL_ERROR, "transcript copy failed");
  c->hs->hs_transcript = c->hs->transcript;
  c->hs->transcript = copy;
  memcpy(c->hs->pha_context, context, len);
  c->hs->pha_context_len = len;
  c->pha_active = 1;
  return TERN_OK;
}

void tern_hs_pha_end(tern_conn *c, int ok) {
  if (!c->pha_active) return;
  if (ok && c->role == TERN_SERVER) {
    /* the client's latest answer: its certificate, or none */
    OPENSSL_free(c->peer_leaf);
    c->peer_leaf = c->hs->pha_leaf;
    c->peer_leaf_len = c->hs->pha_leaf_len;
    c->hs->pha_leaf = NULL;
    c->pha_completed++;
  }
  OPENSSL_free(c->hs->pha_leaf);
  c->hs->pha_leaf = NULL;
  c->hs->pha_leaf_len = 0;
  tern_transcript_free(&c->hs->transcript);
  c->hs->transcript = c->hs->hs_transcript;
  memset(&c->hs->hs_transcript, 0, sizeof c->hs->hs_transcript);
  c->pha_active = 0;
}
