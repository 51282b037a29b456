/*
 * peer_gnutls.c - an in-process GnuTLS TLS 1.3 peer in QUIC mode for
 * tern's interop tests; see peer_gnutls.h.
 *
 * GnuTLS's QUIC interface (3.7): handshake messages it sends come to the
 * handshake read function with their level, secrets to the secret
 * function, alerts it sends to the alert read function; received
 * handshake bytes go in with gnutls_handshake_write. The transport
 * parameters are a session extension (57) for ClientHello and
 * EncryptedExtensions.
 */
#include "peer_gnutls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define PG_TP_EXT 57
#define PG_MAX_SECRET 64
#define PG_LOG_MAX 64
#define PG_ORDER_MAX 16

typedef struct pg_buf {
  uint8_t *d;
  size_t len, cap;
} pg_buf;

struct peer_gnutls {
  gnutls_session_t s;
  gnutls_certificate_credentials_t cred;
  gnutls_psk_client_credentials_t psk_client;
  gnutls_psk_server_credentials_t psk_server;
  char psk_identity[256];
  uint8_t psk_key[64];
  size_t psk_key_len;
  char psk_used[256];
  gnutls_datum_t ticket_key;
  int anti_replay_ref;
  int is_server;
  int done;
  int failed;
  int err;
  char errstr[256];

  pg_buf out[PEER_GNUTLS_LEVELS];

  /* Received bytes per level, held until the level is readable; the
   * message framing per level, to check each type against its level. */
  pg_buf in[PEER_GNUTLS_LEVELS];
  uint8_t in_hdr[PEER_GNUTLS_LEVELS][4];
  size_t in_hlen[PEER_GNUTLS_LEVELS];
  size_t in_left[PEER_GNUTLS_LEVELS];
  size_t in_cur[PEER_GNUTLS_LEVELS]; /* bytes of the unfinished message */
  int raw_levels;

  uint8_t secret[PEER_GNUTLS_LEVELS][2][PG_MAX_SECRET];
  size_t secret_len[PEER_GNUTLS_LEVELS][2];
  int order[PG_ORDER_MAX];
  size_t norder;

  uint8_t *tp;
  size_t tp_len;
  int no_tp;
  uint8_t *peer_tp;
  size_t peer_tp_len;
  int got_peer_tp;

  int alert_sent, alert_level, alert_desc;

  int log_level[PG_LOG_MAX], log_type[PG_LOG_MAX];
  size_t nlog;
  int rlog_type[PG_LOG_MAX];
  size_t nrlog;
  int hrr;

  char alpn[256];

  char early_label[64];
  uint8_t early_export[PEER_GNUTLS_EARLY_EXPORT_LEN];
  int early_export_ok;
};

static char pg_new_error[512];

/* One anti-replay context for all early-data servers alive at a time:
 * GnuTLS rejects 0-RTT on a ticket issued before the context started, so
 * a resuming server must share the issuing server's context. */
static gnutls_anti_replay_t pg_anti_replay;
static int pg_anti_replay_refs;

/* Frees the process-wide anti-replay context (atexit). */
static void pg_anti_replay_free(void) {
  if (pg_anti_replay != NULL) gnutls_anti_replay_deinit(pg_anti_replay);
  pg_anti_replay = NULL;
}

/* pg_fail_new: note why peer_gnutls_new failed. */
static void pg_fail_new(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pg_new_error, sizeof pg_new_error, fmt, ap);
  va_end(ap);
}

const char *peer_gnutls_last_new_error(void) { return pg_new_error; }

/* pg_set_err: keep a GnuTLS error as the peer's error. */
static void pg_set_err(peer_gnutls *p, int err, const char *what) {
  p->err = err;
  snprintf(p->errstr, sizeof p->errstr, "%s: %s", what, gnutls_strerror(err));
}

/* pg_buf_add: append n bytes; 0 or -1 on allocation failure. */
static int pg_buf_add(pg_buf *b, const void *d, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n) cap *= 2;
    uint8_t *nd = realloc(b->d, cap);
    if (!nd) return -1;
    b->d = nd;
    b->cap = cap;
  }
  if (n) memcpy(b->d + b->len, d, n);
  b->len += n;
  return 0;
}

/* pg_level: GnuTLS level to tern numbering (identical values, checked). */
static int pg_level(gnutls_record_encryption_level_t l) {
  switch (l) {
    case GNUTLS_ENCRYPTION_LEVEL_INITIAL: return PEER_GNUTLS_INITIAL;
    case GNUTLS_ENCRYPTION_LEVEL_EARLY: return PEER_GNUTLS_EARLY;
    case GNUTLS_ENCRYPTION_LEVEL_HANDSHAKE: return PEER_GNUTLS_HANDSHAKE;
    case GNUTLS_ENCRYPTION_LEVEL_APPLICATION: return PEER_GNUTLS_APPLICATION;
  }
  return -1;
}

/* pg_glevel: tern numbering to GnuTLS level. */
static gnutls_record_encryption_level_t pg_glevel(int l) {
  switch (l) {
    case PEER_GNUTLS_EARLY: return GNUTLS_ENCRYPTION_LEVEL_EARLY;
    case PEER_GNUTLS_HANDSHAKE: return GNUTLS_ENCRYPTION_LEVEL_HANDSHAKE;
    case PEER_GNUTLS_APPLICATION: return GNUTLS_ENCRYPTION_LEVEL_APPLICATION;
    default: return GNUTLS_ENCRYPTION_LEVEL_INITIAL;
  }
}

/* pg_keep_secret: store the first secret of a level and direction. */
static int pg_keep_secret(peer_gnutls *p, int level, int dir,
                          const void *secret, size_t n) {
  if (n > PG_MAX_SECRET) return -1;
  if (p->norder < PG_ORDER_MAX) p->order[p->norder++] = level * 2 + dir;
  if (p->secret_len[level][dir]) return 0;
  memcpy(p->secret[level][dir], secret, n);
  p->secret_len[level][dir] = n;
  return 0;
}

/* secret_cb: GnuTLS installed secrets at a level (read and/or write). */
static int secret_cb(gnutls_session_t s, gnutls_record_encryption_level_t gl,
                     const void *rd, const void *wr, size_t n) {
  peer_gnutls *p = gnutls_session_get_ptr(s);
  int level = pg_level(gl);
  if (level < 0) return -1;
  if (rd && pg_keep_secret(p, level, PEER_GNUTLS_READ, rd, n)) return -1;
  if (wr && pg_keep_secret(p, level, PEER_GNUTLS_WRITE, wr, n)) return -1;
  /* The early exporter exists only until the handshake completes. */
  if (level == PEER_GNUTLS_EARLY && p->early_label[0] && !p->early_export_ok &&
      gnutls_prf_early(s, strlen(p->early_label), p->early_label, 0, NULL,
                       sizeof p->early_export, (char *)p->early_export) == 0)
    p->early_export_ok = 1;
  return 0;
}

/* hs_read_cb: GnuTLS sends a handshake message at a level. */
static int hs_read_cb(gnutls_session_t s, gnutls_record_encryption_level_t gl,
                      gnutls_handshake_description_t htype, const void *d,
                      size_t n) {
  peer_gnutls *p = gnutls_session_get_ptr(s);
  int level = pg_level(gl);
  /* With the compatibility mode off GnuTLS should not produce these; a
   * ChangeCipherSpec has no place in QUIC's CRYPTO stream either. */
  if (htype == GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC) return 0;
  if (level < 0) return -1;
  if (htype == GNUTLS_HANDSHAKE_HELLO_RETRY_REQUEST) p->hrr = 1;
  if (p->nlog < PG_LOG_MAX && n > 0) {
    p->log_level[p->nlog] = level;
    p->log_type[p->nlog] = ((const uint8_t *)d)[0];
    p->nlog++;
  }
  if (!p->is_server && htype == GNUTLS_HANDSHAKE_CLIENT_HELLO) {
    size_t hellos = 0;
    for (size_t i = 0; i < p->nlog; i++) hellos += p->log_type[i] == 1;
    if (hellos > 1) p->hrr = 1;
  }
  return pg_buf_add(&p->out[level], d, n) ? -1 : 0;
}

/* hook_cb: GnuTLS processed a handshake message; log the received ones
 * (type as GnuTLS numbers it: the wire type, or 6 for a
 * HelloRetryRequest). */
static int hook_cb(gnutls_session_t s, unsigned htype, unsigned when,
                   unsigned incoming, const gnutls_datum_t *msg) {
  peer_gnutls *p = gnutls_session_get_ptr(s);
  (void)when;
  (void)msg;
  if (!incoming || htype == GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC) return 0;
  if (htype == GNUTLS_HANDSHAKE_HELLO_RETRY_REQUEST) p->hrr = 1;
  if (p->nrlog < PG_LOG_MAX) p->rlog_type[p->nrlog++] = (int)htype;
  return 0;
}

/* alert_cb: GnuTLS sends an alert (QUIC: a CONNECTION_CLOSE). */
static int alert_cb(gnutls_session_t s, gnutls_record_encryption_level_t gl,
                    gnutls_alert_level_t al, gnutls_alert_description_t desc) {
  peer_gnutls *p = gnutls_session_get_ptr(s);
  (void)al;
  if (!p->alert_sent) {
    p->alert_sent = 1;
    p->alert_level = pg_level(gl);
    p->alert_desc = (int)desc;
  }
  return 0;
}

/* tp_recv: the other side's quic_transport_parameters extension. */
static int tp_recv(gnutls_session_t s, const unsigned char *d, size_t n) {
  peer_gnutls *p = gnutls_session_get_ptr(s);
  free(p->peer_tp);
  p->peer_tp = malloc(n ? n : 1);
  if (!p->peer_tp) return GNUTLS_E_MEMORY_ERROR;
  if (n) memcpy(p->peer_tp, d, n);
  p->peer_tp_len = n;
  p->got_peer_tp = 1;
  return 0;
}

/* tp_send: our extension body; GNUTLS_E_INT_RET_0 sends it empty. */
static int tp_send(gnutls_session_t s, gnutls_buffer_t buf) {
  peer_gnutls *p = gnutls_session_get_ptr(s);
  if (p->tp_len == 0) return GNUTLS_E_INT_RET_0;
  int r = gnutls_buffer_append_data(buf, p->tp, p->tp_len);
  if (r < 0) return r;
  return (int)p->tp_len;
}

/* No transport under QUIC: reading finds nothing yet, writing fails. */
static ssize_t pg_pull(gnutls_transport_ptr_t t, void *d, size_t n) {
  peer_gnutls *p = t;
  (void)d;
  (void)n;
  gnutls_transport_set_errno(p->s, EAGAIN);
  return -1;
}

static ssize_t pg_push(gnutls_transport_ptr_t t, const void *d, size_t n) {
  peer_gnutls *p = t;
  (void)d;
  (void)n;
  gnutls_transport_set_errno(p->s, EIO);
  return -1;
}

/* pg_verify_optional: a server that only asks for a client certificate
 * accepts a client without one (gnutls_session_set_verify_cert would
 * fail it with GNUTLS_E_CERTIFICATE_ERROR); one that is sent must verify
 * for TLS client use. */
static int pg_verify_optional(gnutls_session_t s) {
  unsigned n = 0, status = 0;
  gnutls_typed_vdata_st purpose = {GNUTLS_DT_KEY_PURPOSE_OID,
                                   (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
  if (!gnutls_certificate_get_peers(s, &n) || n == 0) return 0;
  if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 || status)
    return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
  return 0;
}

/* pg_replay_add: every ClientHello is new to this anti-replay "db". */
static int pg_replay_add(void *db, time_t exp, const gnutls_datum_t *key,
                         const gnutls_datum_t *data) {
  (void)db;
  (void)exp;
  (void)key;
  (void)data;
  return 0;
}

static void pg_log(int level, const char *msg) {
  fprintf(stderr, "gnutls<%d>: %s", level, msg);
}

/* pg_append_list: add ":-<all>" then each colon-separated name of list
 * with '+' and prefix added as needed. */
static int pg_append_list(char *pri, size_t cap, const char *all,
                          const char *prefix, const char *list) {
  size_t len = strlen(pri);
  int n = snprintf(pri + len, cap - len, ":%s", all);
  if (n < 0 || (size_t)n >= cap - len) return -1;
  len += (size_t)n;
  const char *q = list;
  while (*q) {
    const char *e = strchr(q, ':');
    size_t tl = e ? (size_t)(e - q) : strlen(q);
    if (tl) {
      int sign = (q[0] == '+' || q[0] == '-');
      const char *name = sign ? q + 1 : q;
      size_t nl = sign ? tl - 1 : tl;
      size_t pl = strlen(prefix);
      int has_prefix = pl && nl >= pl && strncmp(name, prefix, pl) == 0;
      n = snprintf(pri + len, cap - len, ":%c%s%.*s", sign ? q[0] : '+',
                   has_prefix ? "" : prefix, (int)nl, name);
      if (n < 0 || (size_t)n >= cap - len) return -1;
      len += (size_t)n;
    }
    if (!e) break;
    q = e + 1;
  }
  return 0;
}

/* pg_set_alpn: set the comma-separated ALPN list. */
static int pg_set_alpn(gnutls_session_t s, const char *list, unsigned flags) {
  gnutls_datum_t protos[16];
  unsigned np = 0;
  char *copy = strdup(list);
  if (!copy) return GNUTLS_E_MEMORY_ERROR;
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && np < 16;
       t = strtok_r(NULL, ",", &save)) {
    protos[np].data = (unsigned char *)t;
    protos[np].size = (unsigned)strlen(t);
    np++;
  }
  int r = gnutls_alpn_set_protocols(s, protos, np, flags);
  free(copy);
  return r;
}

/* Server: the key of the one identity this peer knows; 1 (GnuTLS's
   "no such user") for any other. */
static int pg_psk_server_key(gnutls_session_t s, const gnutls_datum_t *user,
                             gnutls_datum_t *key) {
  peer_gnutls *p = gnutls_session_get_ptr(s);
  if (user->size != strlen(p->psk_identity) ||
      memcmp(user->data, p->psk_identity, user->size) != 0)
    return 1;
  key->data = gnutls_malloc(p->psk_key_len);
  if (!key->data) return -1;
  memcpy(key->data, p->psk_key, p->psk_key_len);
  key->size = (unsigned)p->psk_key_len;
  return 0;
}

peer_gnutls *peer_gnutls_new(int is_server, const peer_gnutls_opts *o) {
  static const peer_gnutls_opts zero;
  if (!o) o = &zero;
  pg_new_error[0] = 0;

  if (o->debug_level) {
    gnutls_global_set_log_function(pg_log);
    gnutls_global_set_log_level(o->debug_level);
  }

  peer_gnutls *p = calloc(1, sizeof *p);
  if (!p) {
    pg_fail_new("out of memory");
    return NULL;
  }
  p->is_server = is_server;
  p->no_tp = o->no_transport_params;
  if (o->early_exporter_label) {
    if (strlen(o->early_exporter_label) >= sizeof p->early_label) {
      pg_fail_new("early_exporter_label too long");
      free(p);
      return NULL;
    }
    strcpy(p->early_label, o->early_exporter_label);
  }
  p->raw_levels = o->raw_levels;
  if (o->transport_params_len) {
    p->tp = malloc(o->transport_params_len);
    if (!p->tp) goto oom;
    memcpy(p->tp, o->transport_params, o->transport_params_len);
    p->tp_len = o->transport_params_len;
  }

  unsigned flags = (is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                   GNUTLS_NO_END_OF_EARLY_DATA;
  if (o->early_data) flags |= GNUTLS_ENABLE_EARLY_DATA;
  if (!is_server) {
    if (o->key_shares == 1) flags |= GNUTLS_KEY_SHARE_TOP;
    if (o->key_shares == 2) flags |= GNUTLS_KEY_SHARE_TOP2;
    if (o->key_shares == 3) flags |= GNUTLS_KEY_SHARE_TOP3;
  }
  if (is_server && !o->tickets) flags |= GNUTLS_NO_TICKETS;
  int r = gnutls_init(&p->s, flags);
  if (r < 0) {
    pg_fail_new("gnutls_init: %s", gnutls_strerror(r));
    p->s = NULL;
    goto fail;
  }
  gnutls_session_set_ptr(p->s, p);
  gnutls_transport_set_ptr(p->s, p);
  gnutls_transport_set_pull_function(p->s, pg_pull);
  gnutls_transport_set_push_function(p->s, pg_push);

  char pri[1024] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE";
  if ((o->ciphers &&
       pg_append_list(pri, sizeof pri, "-CIPHER-ALL", "", o->ciphers)) ||
      (o->groups &&
       pg_append_list(pri, sizeof pri, "-GROUP-ALL", "GROUP-", o->groups)) ||
      (o->sigalgs &&
       pg_append_list(pri, sizeof pri, "-SIGN-ALL", "SIGN-", o->sigalgs))) {
    pg_fail_new("priority string too long");
    goto fail;
  }
  if (o->psk_identity) {
    const char *kx = o->psk_ke_only ? ":+PSK"
                     : o->psk_ke    ? ":+ECDHE-PSK:+DHE-PSK:+PSK"
                                    : ":+ECDHE-PSK:+DHE-PSK";
    if (strlen(pri) + strlen(kx) >= sizeof pri) {
      pg_fail_new("priority string too long");
      goto fail;
    }
    strcat(pri, kx);
  }
  if (o->priority_extra) {
    size_t len = strlen(pri);
    int n = snprintf(pri + len, sizeof pri - len, ":%s", o->priority_extra);
    if (n < 0 || (size_t)n >= sizeof pri - len) {
      pg_fail_new("priority string too long");
      goto fail;
    }
  }
  const char *errpos = NULL;
  r = gnutls_priority_set_direct(p->s, pri, &errpos);
  if (r < 0) {
    pg_fail_new("priority \"%s\": %s at \"%s\"", pri, gnutls_strerror(r),
                errpos ? errpos : "?");
    goto fail;
  }

  gnutls_handshake_set_secret_function(p->s, secret_cb);
  gnutls_handshake_set_read_function(p->s, hs_read_cb);
  gnutls_alert_set_read_function(p->s, alert_cb);
  gnutls_handshake_set_hook_function(p->s, GNUTLS_HANDSHAKE_ANY,
                                     GNUTLS_HOOK_POST, hook_cb);
  /* CLIENT_HELLO | EE, never TLS13_SERVER_HELLO: with that flag GnuTLS
   * 3.7 puts the server's parameters in the plaintext ServerHello (even
   * with EE also set) and its client takes them there. */
  if (!p->no_tp) {
    r = gnutls_session_ext_register(
        p->s, "quic_transport_parameters", PG_TP_EXT, GNUTLS_EXT_TLS, tp_recv,
        tp_send, NULL, NULL, NULL,
        GNUTLS_EXT_FLAG_TLS | GNUTLS_EXT_FLAG_CLIENT_HELLO | GNUTLS_EXT_FLAG_EE);
    if (r < 0) {
      pg_fail_new("gnutls_session_ext_register: %s", gnutls_strerror(r));
      goto fail;
    }
  }

  r = gnutls_certificate_allocate_credentials(&p->cred);
  if (r < 0) {
    p->cred = NULL;
    pg_fail_new("certificate credentials: %s", gnutls_strerror(r));
    goto fail;
  }
  if (o->cert_file && o->key_file) {
    r = gnutls_certificate_set_x509_key_file(p->cred, o->cert_file,
                                             o->key_file, GNUTLS_X509_FMT_PEM);
    if (r < 0) {
      pg_fail_new("key file %s / %s: %s", o->cert_file, o->key_file,
                  gnutls_strerror(r));
      goto fail;
    }
  } else if (is_server && !o->psk_identity) {
    pg_fail_new("a server needs cert_file and key_file, or a PSK");
    goto fail;
  }
  if (o->ca_file) {
    r = gnutls_certificate_set_x509_trust_file(p->cred, o->ca_file,
                                               GNUTLS_X509_FMT_PEM);
    if (r <= 0) {
      pg_fail_new("trust file %s: %s", o->ca_file,
                  r < 0 ? gnutls_strerror(r) : "no certificates");
      goto fail;
    }
  }
  r = gnutls_credentials_set(p->s, GNUTLS_CRD_CERTIFICATE, p->cred);
  if (r < 0) {
    pg_fail_new("gnutls_credentials_set: %s", gnutls_strerror(r));
    goto fail;
  }
  if (o->psk_identity) {
    gnutls_datum_t user = {(unsigned char *)o->psk_identity, (unsigned)strlen(o->psk_identity)};
    gnutls_datum_t key = {(unsigned char *)o->psk_key, (unsigned)o->psk_key_len};
    if (strlen(o->psk_identity) >= sizeof p->psk_identity || o->psk_key_len > sizeof p->psk_key) {
      pg_fail_new("PSK identity or key too long");
      goto fail;
    }
    strcpy(p->psk_identity, o->psk_identity);
    memcpy(p->psk_key, o->psk_key, o->psk_key_len);
    p->psk_key_len = o->psk_key_len;
    if (is_server) {
      r = gnutls_psk_allocate_server_credentials(&p->psk_server);
      if (r >= 0) {
        gnutls_psk_set_server_credentials_function2(p->psk_server, pg_psk_server_key);
        r = gnutls_credentials_set(p->s, GNUTLS_CRD_PSK, p->psk_server);
      }
    } else {
      r = gnutls_psk_allocate_client_credentials(&p->psk_client);
      if (r >= 0)
        r = gnutls_psk_set_client_credentials2(p->psk_client, &user, &key, GNUTLS_PSK_KEY_RAW);
      if (r >= 0) r = gnutls_credentials_set(p->s, GNUTLS_CRD_PSK, p->psk_client);
    }
    if (r < 0) {
      pg_fail_new("PSK credentials: %s", gnutls_strerror(r));
      goto fail;
    }
  }

  if (is_server) {
    if (o->request_client_cert) {
      gnutls_certificate_server_set_request(
          p->s, o->request_client_cert >= 2 ? GNUTLS_CERT_REQUIRE
                                            : GNUTLS_CERT_REQUEST);
      if (o->request_client_cert >= 2)
        gnutls_session_set_verify_cert(p->s, NULL, 0);
      else
        gnutls_session_set_verify_function(p->s, pg_verify_optional);
    }
    if (o->tickets) {
      if (o->ticket_key_len) {
        p->ticket_key.data = gnutls_malloc(o->ticket_key_len);
        if (!p->ticket_key.data) goto oom;
        memcpy(p->ticket_key.data, o->ticket_key, o->ticket_key_len);
        p->ticket_key.size = (unsigned)o->ticket_key_len;
        r = 0;
      } else {
        r = gnutls_session_ticket_key_generate(&p->ticket_key);
      }
      if (r >= 0) r = gnutls_session_ticket_enable_server(p->s, &p->ticket_key);
      if (r < 0) {
        pg_fail_new("session tickets: %s", gnutls_strerror(r));
        goto fail;
      }
    }
    /* GnuTLS accepts 0-RTT only with anti-replay on (this one never
     * reports a replay), and refuses it for tickets made before the
     * anti-replay context started: so one context, made with the first
     * server and kept for the whole process (freed at exit). */
    if (pg_anti_replay == NULL) {
      r = gnutls_anti_replay_init(&pg_anti_replay);
      if (r < 0) {
        pg_fail_new("gnutls_anti_replay_init: %s", gnutls_strerror(r));
        goto fail;
      }
      gnutls_anti_replay_set_add_function(pg_anti_replay, pg_replay_add);
      atexit(pg_anti_replay_free);
    }
    if (o->early_data) {
      pg_anti_replay_refs++;
      p->anti_replay_ref = 1;
      gnutls_anti_replay_enable(p->s, pg_anti_replay);
      gnutls_record_set_max_early_data_size(p->s, 0xffffffffu);
    }
  } else {
    const char *name = o->server_name ? o->server_name : "localhost";
    if (!o->no_sni) {
      r = gnutls_server_name_set(p->s, GNUTLS_NAME_DNS, name, strlen(name));
      if (r < 0) {
        pg_fail_new("gnutls_server_name_set: %s", gnutls_strerror(r));
        goto fail;
      }
    }
    if (!o->no_verify) gnutls_session_set_verify_cert(p->s, name, 0);
    if (o->resume_data_len) {
      r = gnutls_session_set_data(p->s, o->resume_data, o->resume_data_len);
      if (r < 0) {
        pg_fail_new("gnutls_session_set_data: %s", gnutls_strerror(r));
        goto fail;
      }
    }
  }

  if (o->alpn) {
    r = pg_set_alpn(p->s, o->alpn, o->alpn_mandatory ? GNUTLS_ALPN_MANDATORY : 0);
    if (r < 0) {
      pg_fail_new("gnutls_alpn_set_protocols: %s", gnutls_strerror(r));
      goto fail;
    }
  }
  return p;

oom:
  pg_fail_new("out of memory");
fail:
  peer_gnutls_free(p);
  return NULL;
}

void peer_gnutls_free(peer_gnutls *p) {
  if (!p) return;
  if (p->s) gnutls_deinit(p->s);
  if (p->cred) gnutls_certificate_free_credentials(p->cred);
  if (p->psk_client) gnutls_psk_free_client_credentials(p->psk_client);
  if (p->psk_server) gnutls_psk_free_server_credentials(p->psk_server);
  memset(p->psk_key, 0, sizeof p->psk_key);
  if (p->ticket_key.data) gnutls_free(p->ticket_key.data);
  if (p->anti_replay_ref) --pg_anti_replay_refs;
  for (int i = 0; i < PEER_GNUTLS_LEVELS; i++) {
    free(p->out[i].d);
    free(p->in[i].d);
  }
  free(p->tp);
  free(p->peer_tp);
  memset(p, 0, sizeof *p);
  free(p);
}

/* pg_write_level: the highest level we have a write secret for (where a
 * QUIC stack would send its CONNECTION_CLOSE). */
static int pg_write_level(const peer_gnutls *p) {
  for (int l = PEER_GNUTLS_APPLICATION; l > PEER_GNUTLS_INITIAL; l--)
    if (l != PEER_GNUTLS_EARLY && p->secret_len[l][PEER_GNUTLS_WRITE]) return l;
  return PEER_GNUTLS_INITIAL;
}

/* pg_fail_unexpected: data at a level where it has no place: fail with
 * unexpected_message as a QUIC stack over GnuTLS should (RFC 9001 §4.1.3);
 * GnuTLS itself does not look at the level of what it is given. */
static int pg_fail_unexpected(peer_gnutls *p, int level, int type) {
  p->failed = 1;
  p->err = GNUTLS_E_UNEXPECTED_HANDSHAKE_PACKET;
  if (type >= 0)
    snprintf(p->errstr, sizeof p->errstr,
             "handshake message type %d at level %d", type, level);
  else
    snprintf(p->errstr, sizeof p->errstr, "handshake data at level %d", level);
  if (!p->alert_sent) {
    p->alert_sent = 1;
    p->alert_level = pg_write_level(p);
    p->alert_desc = GNUTLS_A_UNEXPECTED_MESSAGE;
  }
  return p->err;
}

/* pg_type_ok: may a message of this type arrive at this level (RFC 9001
 * §4 with RFC 8446 §4; no EndOfEarlyData, KeyUpdate or post-handshake
 * authentication under QUIC)? */
static int pg_type_ok(const peer_gnutls *p, int level, int type) {
  switch (level) {
    case PEER_GNUTLS_INITIAL:
      return p->is_server ? type == 1 : type == 2;
    case PEER_GNUTLS_HANDSHAKE:
      if (p->is_server) return type == 11 || type == 15 || type == 20;
      return type == 8 || type == 11 || type == 13 || type == 15 || type == 20;
    case PEER_GNUTLS_APPLICATION:
      return !p->is_server && type == 4;
    default:
      return 0;
  }
}

int peer_gnutls_feed(peer_gnutls *p, int level, const uint8_t *d, size_t n) {
  if (!p || level < 0 || level >= PEER_GNUTLS_LEVELS || (!d && n)) return -1;
  if (!n) return 0;
  if (p->failed) return p->err ? p->err : -1;
  if (p->raw_levels) {
    /* GNUTLS_E_AGAIN: a piece of a post-handshake message, kept. */
    int r = gnutls_handshake_write(p->s, pg_glevel(level), d, n);
    if (r < 0 && !gnutls_error_is_fatal(r)) return 0;
    if (r < 0) pg_set_err(p, r, "gnutls_handshake_write");
    return r < 0 ? r : 0;
  }
  if (level == PEER_GNUTLS_EARLY) return pg_fail_unexpected(p, level, -1);
  /* Frame the bytes into messages and check each type's level. */
  for (size_t i = 0; i < n;) {
    if (p->in_left[level]) {
      size_t k = n - i < p->in_left[level] ? n - i : p->in_left[level];
      p->in_left[level] -= k;
      p->in_cur[level] += k;
      i += k;
      if (!p->in_left[level]) p->in_cur[level] = 0;
      continue;
    }
    p->in_hdr[level][p->in_hlen[level]++] = d[i++];
    p->in_cur[level]++;
    if (p->in_hlen[level] < 4) continue;
    const uint8_t *h = p->in_hdr[level];
    p->in_hlen[level] = 0;
    p->in_left[level] = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (!pg_type_ok(p, level, h[0])) return pg_fail_unexpected(p, level, h[0]);
    if (!p->in_left[level]) p->in_cur[level] = 0;
  }
  if (pg_buf_add(&p->in[level], d, n)) {
    pg_set_err(p, GNUTLS_E_MEMORY_ERROR, "peer_gnutls_feed");
    return GNUTLS_E_MEMORY_ERROR;
  }
  return 0;
}

/* pg_readable: may the bytes held at a level go to GnuTLS yet? As over
 * QUIC: INITIAL always, HANDSHAKE once GnuTLS gave the read secret,
 * APPLICATION (NewSessionTicket) once the handshake is complete. */
static int pg_readable(const peer_gnutls *p, int level) {
  switch (level) {
    case PEER_GNUTLS_INITIAL: return 1;
    case PEER_GNUTLS_HANDSHAKE:
      return p->secret_len[level][PEER_GNUTLS_READ] != 0;
    case PEER_GNUTLS_APPLICATION: return p->done;
    default: return 0;
  }
}

/* pg_whole: the held bytes of a level that make whole messages. */
static size_t pg_whole(const peer_gnutls *p, int level) {
  return p->in[level].len - p->in_cur[level];
}

/* pg_release: hand GnuTLS the whole messages held at every readable
 * level (after the handshake GnuTLS wants post-handshake messages whole:
 * gnutls_handshake_write answers a piece with GNUTLS_E_AGAIN). Returns 1
 * if any went, 0 if none, or a negative GnuTLS error. */
static int pg_release(peer_gnutls *p) {
  int fed = 0;
  for (int l = 0; l < PEER_GNUTLS_LEVELS; l++) {
    size_t n = pg_whole(p, l);
    if (!n || !pg_readable(p, l)) continue;
    int r = gnutls_handshake_write(p->s, pg_glevel(l), p->in[l].d, n);
    memmove(p->in[l].d, p->in[l].d + n, p->in[l].len - n);
    p->in[l].len -= n;
    if (r < 0 && gnutls_error_is_fatal(r)) {
      p->failed = 1;
      pg_set_err(p, r, "gnutls_handshake_write");
      if (!p->alert_sent) gnutls_alert_send_appropriate(p->s, r);
      return r;
    }
    fed = 1;
  }
  return fed;
}

/* pg_more: whole messages held at a level that is readable now. */
static int pg_more(const peer_gnutls *p) {
  for (int l = 0; l < PEER_GNUTLS_LEVELS; l++)
    if (pg_whole(p, l) && pg_readable(p, l)) return 1;
  return 0;
}

int peer_gnutls_step(peer_gnutls *p) {
  if (!p) return -1;
  if (p->failed) return p->err ? p->err : -1;
  for (int round = 0; round < 16; round++) {
    int r = pg_release(p);
    if (r < 0) return r;
    if (p->done) {
      if (!pg_more(p)) return 1;
      continue;
    }
    r = gnutls_handshake(p->s);
    if (r == 0) {
      p->done = 1;
      gnutls_datum_t a;
      if (gnutls_alpn_get_selected_protocol(p->s, &a) == 0 &&
          a.size < sizeof p->alpn) {
        memcpy(p->alpn, a.data, a.size);
        p->alpn[a.size] = 0;
      }
      continue;
    }
    if (gnutls_error_is_fatal(r)) {
      p->failed = 1;
      pg_set_err(p, r, "gnutls_handshake");
      if (!p->alert_sent) gnutls_alert_send_appropriate(p->s, r);
      return r;
    }
    if (!pg_more(p)) return 0;
  }
  return p->done ? 1 : 0;
}

int peer_gnutls_done(const peer_gnutls *p) { return p && p->done; }

size_t peer_gnutls_pending(const peer_gnutls *p, int level) {
  if (!p || level < 0 || level >= PEER_GNUTLS_LEVELS) return 0;
  return p->out[level].len;
}

size_t peer_gnutls_take(peer_gnutls *p, int level, uint8_t *out, size_t cap) {
  if (!p || level < 0 || level >= PEER_GNUTLS_LEVELS) return 0;
  pg_buf *b = &p->out[level];
  size_t n = b->len < cap ? b->len : cap;
  if (!n || !out) return 0;
  memcpy(out, b->d, n);
  memmove(b->d, b->d + n, b->len - n);
  b->len -= n;
  return n;
}

const uint8_t *peer_gnutls_secret(const peer_gnutls *p, int level, int dir,
                                  size_t *len) {
  if (len) *len = 0;
  if (!p || level < 0 || level >= PEER_GNUTLS_LEVELS || dir < 0 || dir > 1)
    return NULL;
  if (!p->secret_len[level][dir]) return NULL;
  if (len) *len = p->secret_len[level][dir];
  return p->secret[level][dir];
}

size_t peer_gnutls_secret_order(const peer_gnutls *p, int *out, size_t cap) {
  if (!p) return 0;
  for (size_t i = 0; i < p->norder && i < cap; i++) out[i] = p->order[i];
  return p->norder;
}

uint16_t peer_gnutls_cipher_suite(const peer_gnutls *p) {
  if (!p) return 0;
  switch (gnutls_cipher_get(p->s)) {
    case GNUTLS_CIPHER_AES_128_GCM: return 0x1301;
    case GNUTLS_CIPHER_AES_256_GCM: return 0x1302;
    case GNUTLS_CIPHER_CHACHA20_POLY1305: return 0x1303;
    case GNUTLS_CIPHER_AES_128_CCM: return 0x1304;
    case GNUTLS_CIPHER_AES_128_CCM_8: return 0x1305;
    default: return 0;
  }
}

uint16_t peer_gnutls_group(const peer_gnutls *p) {
  if (!p) return 0;
  switch (gnutls_group_get(p->s)) {
    case GNUTLS_GROUP_SECP256R1: return 0x0017;
    case GNUTLS_GROUP_SECP384R1: return 0x0018;
    case GNUTLS_GROUP_SECP521R1: return 0x0019;
    case GNUTLS_GROUP_X25519: return 0x001d;
    case GNUTLS_GROUP_X448: return 0x001e;
    case GNUTLS_GROUP_FFDHE2048: return 0x0100;
    case GNUTLS_GROUP_FFDHE3072: return 0x0101;
    case GNUTLS_GROUP_FFDHE4096: return 0x0102;
    case GNUTLS_GROUP_FFDHE6144: return 0x0103;
    case GNUTLS_GROUP_FFDHE8192: return 0x0104;
    default: return 0;
  }
}

uint16_t peer_gnutls_sigalg(const peer_gnutls *p) {
  if (!p) return 0;
  switch (gnutls_sign_algorithm_get(p->s)) {
    case GNUTLS_SIGN_ECDSA_SHA256:
    case GNUTLS_SIGN_ECDSA_SECP256R1_SHA256: return 0x0403;
    case GNUTLS_SIGN_ECDSA_SHA384:
    case GNUTLS_SIGN_ECDSA_SECP384R1_SHA384: return 0x0503;
    case GNUTLS_SIGN_ECDSA_SHA512:
    case GNUTLS_SIGN_ECDSA_SECP521R1_SHA512: return 0x0603;
    case GNUTLS_SIGN_RSA_PSS_RSAE_SHA256: return 0x0804;
    case GNUTLS_SIGN_RSA_PSS_RSAE_SHA384: return 0x0805;
    case GNUTLS_SIGN_RSA_PSS_RSAE_SHA512: return 0x0806;
    case GNUTLS_SIGN_EDDSA_ED25519: return 0x0807;
    case GNUTLS_SIGN_EDDSA_ED448: return 0x0808;
    case GNUTLS_SIGN_RSA_PSS_SHA256: return 0x0809;
    case GNUTLS_SIGN_RSA_PSS_SHA384: return 0x080a;
    case GNUTLS_SIGN_RSA_PSS_SHA512: return 0x080b;
    default: return 0;
  }
}

const char *peer_gnutls_alpn(const peer_gnutls *p) {
  if (!p || !p->alpn[0]) return NULL;
  return p->alpn;
}

const uint8_t *peer_gnutls_peer_transport_params(const peer_gnutls *p,
                                                 size_t *len) {
  if (len) *len = 0;
  if (!p || !p->got_peer_tp) return NULL;
  if (len) *len = p->peer_tp_len;
  return p->peer_tp;
}

int peer_gnutls_hrr(const peer_gnutls *p) { return p && p->hrr; }

const char *peer_gnutls_psk_identity(const peer_gnutls *p) {
  peer_gnutls *q = (peer_gnutls *)p;
  if (!p || !p->done || gnutls_auth_get_type(p->s) != GNUTLS_CRD_PSK) return NULL;
  if (p->is_server) {
    gnutls_datum_t user = {NULL, 0};
    if (gnutls_psk_server_get_username2(p->s, &user) < 0 || user.size >= sizeof q->psk_used)
      return NULL;
    memcpy(q->psk_used, user.data, user.size);
    q->psk_used[user.size] = 0;
    return q->psk_used;
  }
  return p->psk_identity;
}

int peer_gnutls_resumed(const peer_gnutls *p) {
  return p && gnutls_session_is_resumed(p->s);
}

int peer_gnutls_early_data_accepted(const peer_gnutls *p) {
  return p && (gnutls_session_get_flags(p->s) & GNUTLS_SFLAGS_EARLY_DATA);
}

int peer_gnutls_alert(const peer_gnutls *p, int *level, int *desc) {
  if (!p || !p->alert_sent) return 0;
  if (level) *level = p->alert_level;
  if (desc) *desc = p->alert_desc;
  return 1;
}

int peer_gnutls_error(const peer_gnutls *p) { return p ? p->err : 0; }

const char *peer_gnutls_error_string(const peer_gnutls *p) {
  if (!p || !p->err) return "";
  return p->errstr;
}

size_t peer_gnutls_sent_log(const peer_gnutls *p, int *levels, int *types,
                            size_t cap) {
  if (!p) return 0;
  for (size_t i = 0; i < p->nlog && i < cap; i++) {
    if (levels) levels[i] = p->log_level[i];
    if (types) types[i] = p->log_type[i];
  }
  return p->nlog;
}

size_t peer_gnutls_recv_log(const peer_gnutls *p, int *types, size_t cap) {
  if (!p) return 0;
  for (size_t i = 0; i < p->nrlog && i < cap; i++)
    if (types) types[i] = p->rlog_type[i];
  return p->nrlog;
}

size_t peer_gnutls_session_data(peer_gnutls *p, uint8_t *out, size_t cap) {
  if (!p || p->is_server) return 0;
  gnutls_datum_t d = {NULL, 0};
  if (gnutls_session_get_data2(p->s, &d) < 0) return 0;
  size_t n = d.size;
  if (n <= cap && out) memcpy(out, d.data, n);
  gnutls_free(d.data);
  return n;
}

const uint8_t *peer_gnutls_ticket_key(const peer_gnutls *p, size_t *len) {
  if (len) *len = 0;
  if (!p || !p->ticket_key.data) return NULL;
  if (len) *len = p->ticket_key.size;
  return p->ticket_key.data;
}

const uint8_t *peer_gnutls_peer_certificate(const peer_gnutls *p,
                                            size_t *len) {
  unsigned n = 0;
  const gnutls_datum_t *chain;
  if (len) *len = 0;
  if (!p) return NULL;
  chain = gnutls_certificate_get_peers(p->s, &n);
  if (!chain || n == 0) return NULL;
  if (len) *len = chain[0].size;
  return chain[0].data;
}

int peer_gnutls_verify_status(const peer_gnutls *p) {
  unsigned status = 0;
  if (!p) return GNUTLS_E_INVALID_REQUEST;
  int r = gnutls_certificate_verify_peers2(p->s, &status);
  return r < 0 ? r : (int)status;
}

int peer_gnutls_export(peer_gnutls *p, const char *label, const uint8_t *ctx,
                       size_t ctx_len, uint8_t *out, size_t n) {
  if (!p || !label || !out || (!ctx && ctx_len)) return GNUTLS_E_INVALID_REQUEST;
  return gnutls_prf_rfc5705(p->s, strlen(label), label, ctx_len,
                            (const char *)ctx, n, (char *)out);
}

const uint8_t *peer_gnutls_early_export(const peer_gnutls *p) {
  return p && p->early_export_ok ? p->early_export : NULL;
}

/* pg_run: run a shell command; 0 when it exited 0. */
static int pg_run(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof cmd) return -1;
  int r = system(cmd);
  if (r != 0) fprintf(stderr, "peer_gnutls_make_certs: failed: %s\n", cmd);
  return r == 0 ? 0 : -1;
}

int peer_gnutls_make_certs(const char *dir) {
  const char *q = ">/dev/null 2>&1";
  if (pg_run("openssl ecparam -name prime256v1 -genkey -noout "
             "-out '%s/ca.key' %s", dir, q) ||
      pg_run("openssl req -new -x509 -key '%s/ca.key' -out '%s/ca.pem' "
             "-days 30 -subj '/CN=tern test CA' "
             "-addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign %s", dir, dir, q))
    return -1;
  static const char *const leaves[][3] = {
      {"key.pem", "cert.pem", "localhost"},
      {"client.key", "client.pem", "tern test client"}};
  for (int i = 0; i < 2; i++) {
    const char *key = leaves[i][0], *crt = leaves[i][1], *cn = leaves[i][2];
    if (pg_run("openssl ecparam -name prime256v1 -genkey -noout "
               "-out '%s/%s.ec' %s", dir, key, q) ||
        pg_run("openssl pkcs8 -topk8 -nocrypt -in '%s/%s.ec' -out '%s/%s' %s",
               dir, key, dir, key, q) ||
        pg_run("openssl req -new -key '%s/%s' -out '%s/%s.csr' -subj '/CN=%s' %s",
               dir, key, dir, crt, cn, q) ||
        pg_run("printf '%%s\\n' 'basicConstraints=critical,CA:FALSE' "
               "'keyUsage=critical,digitalSignature' "
               "'extendedKeyUsage=%s' 'subjectAltName=DNS:localhost' "
               "> '%s/%s.ext'", i ? "clientAuth" : "serverAuth", dir, crt) ||
        pg_run("openssl x509 -req -in '%s/%s.csr' -CA '%s/ca.pem' "
               "-CAkey '%s/ca.key' -CAcreateserial -days 30 -sha256 "
               "-extfile '%s/%s.ext' -out '%s/%s' %s",
               dir, crt, dir, dir, dir, crt, dir, crt, q))
      return -1;
    pg_run("rm -f '%s/%s.ec' '%s/%s.csr' '%s/%s.ext' '%s/ca.srl'", dir, key,
           dir, crt, dir, crt, dir);
  }
  return pg_run("cat '%s/cert.pem' '%s/ca.pem' > '%s/chain.pem'", dir, dir,
                dir);
}
