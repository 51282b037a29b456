/*
 * h3_client.c - `tern h3-client`: HTTP/3 GETs over QUIC on a UDP socket
 * (IPv4 or IPv6), tern as the TLS (through libngtcp2_crypto_tern).
 *
 * One connection fetches every URL given (same origin), one stream each;
 * the status and headers go to stderr, bodies to stdout or --output.
 * --session-file keeps the latest ticket with the server's transport
 * parameters; the next run resumes with it and, when the ticket allows,
 * sends its requests in 0-RTT (resent in 1-RTT if the server refuses).
 * --key-update updates the 1-RTT keys once the first response bytes
 * arrived. --load N runs N connections (at most --concurrency at once)
 * of one request each and prints the rate and this process's CPU time:
 * a benchmark driver.
 */
#include "h3.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cli.h"

#define PROG "tern h3-client"
#define SEC ((uint64_t)1000000000)
#define MAX_URLS 16
#define SESSION_MAGIC "TERNH3S1"

typedef struct url {
  char host[256], port[8], path[1024], authority[300];
} url;

typedef struct client {
  tern_config *cfg;
  url urls[MAX_URLS];
  size_t n_urls;
  struct sockaddr_storage peer;
  socklen_t peer_len;
  uint32_t version;
  int quiet, key_update, no_early, load_mode;
  uint64_t timeout_ns;
  const char *session_file;
  FILE *out;
  /* the session read from --session-file */
  uint8_t session[TERN_SESSION_MAX_BYTES], tp[1024];
  size_t session_len, tp_len;
  uint32_t session_early;
  int session_saved;
  /* results */
  unsigned long ok, failed, early_sent;
  /* Encrypted ClientHello (RFC 9849): the ECHConfigList offered, and the
     server's retry_configs when it rejected ECH */
  uint8_t ech_list[4096], ech_retry[4096];
  size_t ech_list_len, ech_retry_len;
} client;

/* One connection of the client: the shared part first. */
typedef struct cconn {
  h3conn hc;
  int submitted;            /* the requests went out (0-RTT or 1-RTT) */
  int in_early;             /* ... in 0-RTT */
  int resent;               /* again in 1-RTT after 0-RTT was refused */
  int reported;
  int ku_initiated;
  uint64_t ku_at;           /* response bytes received when it was initiated */
  uint64_t hs_ns;           /* handshake time */
} cconn;

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((h3conn *)ref->user_data)->conn;
}

/* ------------------------------------------------------------------ */
/* URLs and sessions                                                   */
/* ------------------------------------------------------------------ */

static int parse_url(const char *s, url *u) {
  const char *p, *host, *end;
  size_t hl;
  if (strncmp(s, "https://", 8) != 0) return -1;
  host = s + 8;
  if (*host == '[') {
    end = strchr(host, ']');
    if (end == NULL) return -1;
    hl = (size_t)(end - host - 1);
    host++;
    p = end + 1;
  } else {
    hl = strcspn(host, ":/");
    p = host + hl;
  }
  if (hl == 0 || hl >= sizeof u->host) return -1;
  memcpy(u->host, host, hl);
  u->host[hl] = '\0';
  snprintf(u->port, sizeof u->port, "443");
  if (*p == ':') {
    size_t pl = strcspn(p + 1, "/");
    if (pl == 0 || pl >= sizeof u->port) return -1;
    memcpy(u->port, p + 1, pl);
    u->port[pl] = '\0';
    p += 1 + pl;
  }
  snprintf(u->path, sizeof u->path, "%s", *p ? p : "/");
  if (strchr(u->host, ':'))
    snprintf(u->authority, sizeof u->authority, "[%s]:%s", u->host, u->port);
  else
    snprintf(u->authority, sizeof u->authority, "%s:%s", u->host, u->port);
  return 0;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The session file: SESSION_MAGIC, the session blob, the most 0-RTT it
 * allows, and the server's transport parameters as it sent them (0-RTT
 * obeys the remembered limits, RFC 9000 §7.4.1).
 */
static void on_new_session(tern_conn *c, const uint8_t *blob, size_t len, uint32_t max_early,
                           void *user) {
  client *cl = user;
  const uint8_t *tp;
  size_t tp_len;
  uint8_t hdr[12];
  char tmp[1100];
  FILE *f;
  if (cl->session_file == NULL || tern_quic_peer_transport_params(c, &tp, &tp_len) != TERN_OK)
    return;
  snprintf(tmp, sizeof tmp, "%s.tmp", cl->session_file);
  f = fopen(tmp, "wb");
  if (f == NULL) {
    fprintf(stderr, "%s: cannot write %s: %s\n", PROG, tmp, strerror(errno));
    return;
  }
  put32(hdr, (uint32_t)len);
  put32(hdr + 4, max_early);
  put32(hdr + 8, (uint32_t)tp_len);
  int ok = fwrite(SESSION_MAGIC, 8, 1, f) == 1 && fwrite(hdr, 12, 1, f) == 1 &&
           fwrite(blob, len, 1, f) == 1 && fwrite(tp, tp_len, 1, f) == 1;
  if (fclose(f) != 0 || !ok || rename(tmp, cl->session_file) != 0) {
    fprintf(stderr, "%s: cannot write %s\n", PROG, cl->session_file);
    return;
  }
  cl->session_saved++;
}

/* Reads --session-file; 0, or -1 when there is none usable (said why). */
static int load_session(client *cl) {
  uint8_t buf[8 + 12 + TERN_SESSION_MAX_BYTES + 1024];
  FILE *f = fopen(cl->session_file, "rb");
  size_t n;
  if (f == NULL) return -1; /* no session yet: a full handshake */
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (n < 20 || memcmp(buf, SESSION_MAGIC, 8) != 0) goto bad;
  cl->session_len = get32(buf + 8);
  cl->session_early = get32(buf + 12);
  cl->tp_len = get32(buf + 16);
  if (cl->session_len > sizeof cl->session || cl->tp_len > sizeof cl->tp ||
      20 + cl->session_len + cl->tp_len != n)
    goto bad;
  memcpy(cl->session, buf + 20, cl->session_len);
  memcpy(cl->tp, buf + 20 + cl->session_len, cl->tp_len);
  return 0;
bad:
  fprintf(stderr, "%s: %s is not a session file of this program; ignored\n", PROG,
          cl->session_file);
  cl->session_len = 0;
  return -1;
}

/* ------------------------------------------------------------------ */
/* HTTP/3                                                              */
/* ------------------------------------------------------------------ */

static int h3_recv_header(nghttp3_conn *h3, int64_t id, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *user, void *stream_user) {
  h3conn *hc = user;
  client *cl = hc->app;
  h3stream *s = stream_user;
  nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
  (void)h3;
  (void)id;
  (void)flags;
  if (s && token == NGHTTP3_QPACK_TOKEN__STATUS) s->status = atoi((const char *)v.base);
  if (!cl->quiet && !cl->load_mode)
    fprintf(stderr, "< %.*s: %.*s\n", (int)n.len, (const char *)n.base, (int)v.len,
            (const char *)v.base);
  return 0;
}

static int h3_recv_data(nghttp3_conn *h3, int64_t id, const uint8_t *data, size_t len,
                        void *user, void *stream_user) {
  h3conn *hc = user;
  client *cl = hc->app;
  h3stream *s = stream_user;
  (void)h3;
  if (s) s->received += len;
  hc->bytes_in += len;
  if (cl->load_mode || len == 0) {
    /* counted only */
  } else if (cl->n_urls > 1 && s) {
    /* several bodies arrive interleaved: each is kept, and written whole
       in the order of the URLs once the connection is done */
    if (s->saved_len + len > s->saved_cap) {
      size_t cap = s->saved_cap ? s->saved_cap : 65536;
      uint8_t *nb;
      while (cap < s->saved_len + len) cap *= 2;
      if ((nb = realloc(s->saved, cap)) == NULL) return NGHTTP3_ERR_CALLBACK_FAILURE;
      s->saved = nb;
      s->saved_cap = cap;
    }
    memcpy(s->saved + s->saved_len, data, len);
    s->saved_len += len;
  } else if (fwrite(data, 1, len, cl->out) != len) {
    fprintf(stderr, "%s: cannot write the body: %s\n", PROG, strerror(errno));
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  ngtcp2_conn_extend_max_stream_offset(hc->conn, id, len);
  ngtcp2_conn_extend_max_offset(hc->conn, len);
  return 0;
}

static int h3_end_stream(nghttp3_conn *h3, int64_t id, void *user, void *stream_user) {
  h3stream *s = stream_user;
  (void)h3;
  (void)id;
  (void)user;
  if (s) s->complete = 1;
  return 0;
}

static void client_h3_callbacks(nghttp3_callbacks *cb) {
  cb->recv_header = h3_recv_header;
  cb->recv_data = h3_recv_data;
  cb->end_stream = h3_end_stream;
}

static void client_on_handshake(h3conn *hc) {
  ((cconn *)hc)->hs_ns = h3_now() - hc->started_ns;
}

static const h3role client_role = {0, client_h3_callbacks, client_on_handshake};

/* Opens one stream per URL (all of them, or the first in load mode). */
static int submit_requests(cconn *cc) {
  h3conn *hc = &cc->hc;
  client *cl = hc->app;
  size_t n = cl->load_mode ? 1 : cl->n_urls;
  if (hc->h3 == NULL && h3_setup_http(hc) != 0) return -1;
  for (size_t i = 0; i < n; i++) {
    const url *u = &cl->urls[i];
    int64_t id;
    h3stream *s;
    nghttp3_nv nva[] = {
        {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, NGHTTP3_NV_FLAG_NONE},
        {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, NGHTTP3_NV_FLAG_NONE},
        {(uint8_t *)":authority", (uint8_t *)u->authority, 10, strlen(u->authority),
         NGHTTP3_NV_FLAG_NONE},
        {(uint8_t *)":path", (uint8_t *)u->path, 5, strlen(u->path), NGHTTP3_NV_FLAG_NONE},
        {(uint8_t *)"user-agent", (uint8_t *)"tern h3-client", 10, 14, NGHTTP3_NV_FLAG_NONE},
    };
    if (ngtcp2_conn_open_bidi_stream(hc->conn, &id, NULL) != 0 ||
        (s = h3_stream_new(hc, id)) == NULL) {
      snprintf(hc->error, sizeof hc->error, "cannot open a request stream");
      return -1;
    }
    s->url = (int)i;
    if (nghttp3_conn_submit_request(hc->h3, id, nva, sizeof nva / sizeof nva[0], NULL, s) != 0) {
      snprintf(hc->error, sizeof hc->error, "cannot submit the request");
      return -1;
    }
  }
  cc->submitted = 1;
  return 0;
}

/* 0-RTT was refused: ngtcp2 dropped the streams; the HTTP/3 session
   starts again and the requests go in 1-RTT. */
static int resend_after_refusal(cconn *cc) {
  h3conn *hc = &cc->hc;
  h3_streams_free(hc);
  if (hc->h3) nghttp3_conn_del(hc->h3);
  hc->h3 = NULL;
  cc->resent = 1;
  return submit_requests(cc);
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static cconn *connect_one(client *cl, int first) {
  cconn *cc = calloc(1, sizeof *cc);
  h3conn *hc;
  ngtcp2_cid dcid, scid;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_callbacks cb;
  int buf = 4 * 1024 * 1024;
  if (cc == NULL) return NULL;
  hc = &cc->hc;
  hc->role = &client_role;
  hc->app = cl;
  hc->started_ns = h3_now();
  hc->fd = socket(cl->peer.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (hc->fd < 0 || connect(hc->fd, (struct sockaddr *)&cl->peer, cl->peer_len) != 0) {
    fprintf(stderr, "%s: cannot reach %s port %s: %s\n", PROG, cl->urls[0].host,
            cl->urls[0].port, strerror(errno));
    goto fail;
  }
  setsockopt(hc->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  hc->local_len = sizeof hc->local;
  getsockname(hc->fd, (struct sockaddr *)&hc->local, &hc->local_len);
  memcpy(&hc->remote, &cl->peer, cl->peer_len);
  hc->remote_len = cl->peer_len;
  hc->path.local.addr = (ngtcp2_sockaddr *)&hc->local;
  hc->path.local.addrlen = hc->local_len;
  hc->path.remote.addr = (ngtcp2_sockaddr *)&hc->remote;
  hc->path.remote.addrlen = hc->remote_len;
  hc->ref.get_conn = get_conn;
  hc->ref.user_data = hc;

  h3_random_cid(&dcid);
  h3_random_cid(&scid);
  h3_settings(&settings);
  settings.handshake_timeout = cl->timeout_ns;
  ngtcp2_transport_params_default(&params);
  params.initial_max_data = 4 * 1024 * 1024;
  params.initial_max_stream_data_bidi_local = 2 * 1024 * 1024;
  params.initial_max_stream_data_uni = 256 * 1024;
  params.initial_max_streams_uni = 3;
  params.max_idle_timeout = cl->timeout_ns;
  h3_quic_callbacks(&cb, 0);
  hc->pool = h3_pool_new();
  if (hc->pool == NULL ||
      ngtcp2_conn_client_new(&hc->conn, &dcid, &scid, &hc->path, cl->version, &cb, &settings,
                             &params, h3_pool_ngtcp2_mem(hc->pool), hc) != 0)
    goto fail;
  hc->tls = ngtcp2_crypto_tern_conn_new(cl->cfg, &hc->ref);
  if (hc->tls == NULL || tern_conn_set_server_name(hc->tls, cl->urls[0].host) != TERN_OK) {
    fprintf(stderr, "%s: cannot use the server name %s\n", PROG, cl->urls[0].host);
    goto fail;
  }
  ngtcp2_conn_set_tls_native_handle(hc->conn, hc->tls);
  if (cl->ech_list_len) {
    int rc = tern_conn_set_ech_config_list(hc->tls, cl->ech_list, cl->ech_list_len);
    if (rc != TERN_OK) {
      fprintf(stderr, "%s: --ech-config: %s\n", PROG, tern_strerror(rc));
      goto fail;
    }
  }

  if (first && cl->session_len > 0) {
    int rc = tern_conn_set_session(hc->tls, cl->session, cl->session_len, cli_clock_ms(NULL));
    if (rc != TERN_OK) {
      if (!cl->quiet)
        fprintf(stderr, "%s: the stored session is not usable (%s): full handshake\n", PROG,
                tern_strerror(rc));
    } else if (cl->session_early && !cl->no_early) {
      ngtcp2_transport_params remembered;
      if (ngtcp2_decode_transport_params(&remembered,
                                         NGTCP2_TRANSPORT_PARAMS_TYPE_ENCRYPTED_EXTENSIONS,
                                         cl->tp, cl->tp_len) == 0) {
        ngtcp2_conn_set_early_remote_transport_params(hc->conn, &remembered);
        /* the requests go with the ClientHello, in 0-RTT */
        if (submit_requests(cc) != 0) goto fail;
        cc->in_early = 1;
      }
    }
  }
  return cc;
fail:
  if (hc->fd >= 0) close(hc->fd);
  h3_free(hc);
  return NULL;
}

static int all_complete(const h3conn *hc) {
  int any = 0;
  for (const h3stream *s = hc->streams; s; s = s->next) {
    if (s->url < 0) continue;
    any = 1;
    if (!s->complete) return 0;
  }
  return any;
}

/* What the application does after the packets of a round. */
static void step(cconn *cc) {
  h3conn *hc = &cc->hc;
  client *cl = hc->app;
  if (hc->closed) return;
  if (hc->handshake_done && !cc->reported) {
    cc->reported = 1;
    if (!cl->quiet && !cl->load_mode) {
      char line[400], where[80];
      h3_describe(hc, line, sizeof line);
      cli_addr_string(&hc->remote, where, sizeof where);
      fprintf(stderr, "%s: connected to %s: %s\n", PROG, where, line);
      if (ngtcp2_conn_get_remote_transport_params(hc->conn)->retry_scid_present)
        fprintf(stderr, "%s: the server validated our address with a Retry\n", PROG);
      if (tern_conn_ech_status(hc->tls) == TERN_ECH_ACCEPTED)
        fprintf(stderr, "%s: ECH accepted: %s inside, %s outside\n", PROG,
                tern_conn_server_name(hc->tls), tern_conn_ech_outer_name(hc->tls));
    }
  }
  if (hc->handshake_done && hc->early_rejected && !cc->resent) {
    if (!cl->quiet && !cl->load_mode)
      fprintf(stderr, "%s: the server refused 0-RTT: the requests go again in 1-RTT\n", PROG);
    if (resend_after_refusal(cc) != 0) {
      hc->failed = 1;
      h3_close(hc);
      return;
    }
  }
  if (hc->handshake_done && !cc->submitted && submit_requests(cc) != 0) {
    hc->failed = 1;
    h3_close(hc);
    return;
  }
  if (cl->key_update && !cc->ku_initiated && hc->bytes_in > 0 &&
      ngtcp2_conn_initiate_key_update(hc->conn, h3_now()) == 0) {
    cc->ku_initiated = 1;
    cc->ku_at = hc->bytes_in;
  }
  /* closing before HANDSHAKE_DONE would cut the server's handshake short
     (and lose its tickets) */
  if (all_complete(hc) && hc->confirmed) h3_close(hc);
}

/* Says how the connection went; counts the requests. Returns 0 when
   every request got a 2xx/3xx response. */
static int finish(cconn *cc) {
  h3conn *hc = &cc->hc;
  client *cl = hc->app;
  int ok = !hc->failed && all_complete(hc);
  for (h3stream *s = hc->streams; s; s = s->next) {
    if (s->url < 0) continue;
    if (!s->complete || s->status < 200 || s->status >= 400) ok = 0;
    if (!cl->quiet && !cl->load_mode)
      fprintf(stderr, "%s: GET %s: %d, %llu bytes%s\n", PROG, cl->urls[s->url].path, s->status,
              (unsigned long long)s->received, s->complete ? "" : " (incomplete)");
  }
  if (cl->n_urls > 1 && !cl->load_mode)
    for (size_t u = 0; u < cl->n_urls; u++)
      for (h3stream *s = hc->streams; s; s = s->next)
        if (s->url == (int)u && s->saved_len &&
            fwrite(s->saved, 1, s->saved_len, cl->out) != s->saved_len) {
          fprintf(stderr, "%s: cannot write the body: %s\n", PROG, strerror(errno));
          ok = 0;
        }
  if (cc->in_early && !cc->resent) cl->early_sent++;
  if (!cl->quiet && !cl->load_mode) {
    /* a handshake that failed (ECH rejected: RFC 9849 §6.1) refused them too */
    if (cc->in_early)
      fprintf(stderr, "%s: requests sent in 0-RTT: %s\n", PROG,
              cc->resent ? "refused, resent in 1-RTT"
              : tern_conn_early_data_status(hc->tls) == TERN_EARLY_DATA_ACCEPTED ? "accepted"
                                                                                 : "refused");
    if (cl->key_update)
      fprintf(stderr, "%s: key update %s after %llu response bytes; update_key called %d times\n",
              PROG, cc->ku_initiated ? "initiated" : "NOT initiated",
              (unsigned long long)cc->ku_at, hc->key_updates);
  }
  if (hc->failed || hc->error[0])
    fprintf(stderr, "%s: connection failed: %s\n", PROG, hc->error[0] ? hc->error : "?");
  /* RFC 9849 §6.1.6: ECH rejected, the server authenticated for the
     public name; its retry_configs (if any) are for a new connection */
  if (hc->tls != NULL && tern_conn_ech_status(hc->tls) == TERN_ECH_REJECTED) {
    const uint8_t *list;
    size_t len;
    ok = 0;
    if (tern_conn_ech_retry_configs(hc->tls, &list, &len) == TERN_OK &&
        len <= sizeof cl->ech_retry) {
      memcpy(cl->ech_retry, list, len);
      cl->ech_retry_len = len;
      if (!cl->load_mode) cli_ech_print_list(stderr, PROG, list, len);
    } else if (!cl->load_mode) {
      fprintf(stderr, "%s: ECH rejected, no retry_configs: the server disabled ECH\n", PROG);
    }
  }
  if (ok) cl->ok++;
  else cl->failed++;
  close(hc->fd);
  h3_free(hc);
  return ok ? 0 : -1;
}

/* Runs the connections: up to `concurrency` at once, `total` in all. */
static void run(client *cl, unsigned long total, unsigned long concurrency) {
  cconn **active = calloc(concurrency, sizeof *active);
  struct pollfd *pfd = calloc(concurrency, sizeof *pfd);
  unsigned long started = 0, n = 0;
  uint8_t buf[65536];
  if (active == NULL || pfd == NULL) {
    free(active);
    free(pfd);
    cl->failed += total;
    return;
  }
  for (;;) {
    while (n < concurrency && started < total) {
      cconn *cc = connect_one(cl, started == 0);
      started++;
      if (cc == NULL) {
        cl->failed++;
        continue;
      }
      active[n++] = cc;
      h3_write(&cc->hc);
    }
    if (n == 0) break;
    int timeout = 1000;
    for (unsigned long i = 0; i < n; i++) {
      int t = h3_timeout_ms(&active[i]->hc, 1000);
      if (t < timeout) timeout = t;
      pfd[i].fd = active[i]->hc.fd;
      pfd[i].events = POLLIN;
      pfd[i].revents = 0;
    }
    poll(pfd, (nfds_t)n, timeout);
    for (unsigned long i = 0; i < n; i++) {
      h3conn *hc = &active[i]->hc;
      for (int k = 0; k < 64 && (pfd[i].revents & POLLIN) && !hc->closed; k++) {
        ssize_t got = recv(hc->fd, buf, sizeof buf, 0);
        if (got < 0) break;
        h3_read(hc, buf, (size_t)got);
      }
      step(active[i]);
      if (h3_expire(hc) == 0) h3_write(hc);
    }
    for (unsigned long i = 0; i < n;) {
      if (active[i]->hc.closed) {
        finish(active[i]);
        active[i] = active[--n];
      } else {
        i++;
      }
    }
  }
  free(active);
  free(pfd);
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static void usage(void) {
  fprintf(stderr,
          "usage: tern h3-client [options] https://HOST[:PORT]/PATH...\n"
          "  --ca FILE            trust anchors (PEM; default: the system's)\n"
          "  --insecure           do not verify the server's certificate\n"
          "  --output FILE        write the bodies there (default: stdout)\n"
          "  --session-file FILE  resume (and 0-RTT) with a session stored there, and store\n"
          "                       the new one\n"
          "  --no-early-data      resume without 0-RTT\n"
          "  --key-update         update the 1-RTT keys once response bytes arrive\n"
          "  --keylog FILE        append NSS key log lines (also $SSLKEYLOGFILE)\n"
          "  --alpn LIST          offered ALPN protocols (h3)\n"
          "  --ech-config FILE|BASE64\n"
          "                       Encrypted ClientHello (RFC 9849) with this ECHConfigList\n"
          "                       (binary file, a tern ech-keygen key file, or base64);\n"
          "                       the URL's host is the inner name\n"
          "  --ech-retry          when ECH is rejected, connect once more with the\n"
          "                       server's retry_configs\n"
          "  --cert-compression LIST\n"
          "                       offer certificate compression (RFC 8879): zlib,\n"
          "                       brotli, zstd, in preference order\n"
          "  --quic-version HEX   the QUIC version to start with (0x00000001)\n"
          "  --timeout SECONDS    handshake and idle timeout (10)\n"
          "  --load N             N connections of one request each (the first URL)\n"
          "  --concurrency C      at most C of them at once (8)\n"
          "  --no-gso             one datagram per send (no UDP GSO; for captures on lo)\n"
          "  -q, --quiet          print only errors (and the --load summary)\n");
}

/* The key log file, open for the life of the process (lines are flushed
   as they are written). */
static FILE *keylog_file;

int h3_client_main(int argc, char **argv) {
  const char *ca = NULL, *output = NULL, *session = NULL, *keylog = NULL, *alpn = "h3",
             *version = NULL, *timeout = NULL, *load = NULL, *conc = NULL, *cert_comp = NULL,
             *ech_config = NULL;
  int insecure = 0, key_update = 0, no_early = 0, quiet = 0, no_gso = 0, ech_retry = 0;
  const cli_opt opts[] = {
      {"ca", 0, &ca, NULL},
      {"output", 0, &output, NULL},
      {"session-file", 0, &session, NULL},
      {"keylog", 0, &keylog, NULL},
      {"alpn", 0, &alpn, NULL},
      {"cert-compression", 0, &cert_comp, NULL},
      {"quic-version", 0, &version, NULL},
      {"timeout", 0, &timeout, NULL},
      {"load", 0, &load, NULL},
      {"concurrency", 0, &conc, NULL},
      {"insecure", 0, NULL, &insecure},
      {"key-update", 0, NULL, &key_update},
      {"no-early-data", 0, NULL, &no_early},
      {"quiet", 'q', NULL, &quiet},
      {"no-gso", 0, NULL, &no_gso},
      {"ech-config", 0, &ech_config, NULL},
      {"ech-retry", 0, NULL, &ech_retry},
      {NULL, 0, NULL, NULL},
  };
  const char *pos[MAX_URLS];
  size_t n_pos;
  client cl;
  struct addrinfo hints, *res = NULL;
  int rc = cli_parse(PROG, argc, argv, opts, pos, MAX_URLS, &n_pos);
  if (rc != 0 || n_pos == 0) {
    usage();
    return rc > 0 ? 0 : 2;
  }
  if (cli_cert_compression(PROG, NULL, cert_comp) != 0) return 2;
  memset(&cl, 0, sizeof cl);
  if (no_gso) h3_disable_gso();
  cl.quiet = quiet;
  cl.key_update = key_update;
  cl.no_early = no_early;
  cl.session_file = session;
  cl.version = version ? (uint32_t)strtoul(version, NULL, 16) : NGTCP2_PROTO_VER_V1;
  cl.timeout_ns = (timeout ? strtoull(timeout, NULL, 10) : 10) * SEC;
  unsigned long total = load ? strtoul(load, NULL, 10) : 1;
  unsigned long concurrency = conc ? strtoul(conc, NULL, 10) : 8;
  cl.load_mode = load != NULL;
  if (total == 0 || concurrency == 0 || cl.timeout_ns == 0) {
    fprintf(stderr, "%s: --load, --concurrency and --timeout need a positive number\n", PROG);
    return 2;
  }
  if (concurrency > total) concurrency = total;
  if (cl.version != NGTCP2_PROTO_VER_V1) {
    fprintf(stderr, "%s: QUIC version 0x%08x: only 0x00000001 (v1) is spoken here (RFC 9369's "
            "v2 is not in ngtcp2 0.12, whose v2 draft tern does not implement)\n", PROG,
            cl.version);
    return 2;
  }
  for (size_t i = 0; i < n_pos; i++) {
    if (parse_url(pos[i], &cl.urls[i]) != 0) {
      fprintf(stderr, "%s: not an https:// URL: %s\n", PROG, pos[i]);
      return 2;
    }
    if (strcmp(cl.urls[i].host, cl.urls[0].host) || strcmp(cl.urls[i].port, cl.urls[0].port)) {
      fprintf(stderr, "%s: every URL must name the same host and port\n", PROG);
      return 2;
    }
  }
  cl.n_urls = n_pos;
  if (ech_config && cli_ech_config_list(PROG, ech_config, cl.ech_list, sizeof cl.ech_list,
                                        &cl.ech_list_len) < 0)
    return 2;
  if (ech_retry && !ech_config) {
    fprintf(stderr, "%s: --ech-retry needs --ech-config\n", PROG);
    return 2;
  }

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  rc = getaddrinfo(cl.urls[0].host, cl.urls[0].port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "%s: cannot resolve %s: %s\n", PROG, cl.urls[0].host, gai_strerror(rc));
    return 1;
  }
  memcpy(&cl.peer, res->ai_addr, res->ai_addrlen);
  cl.peer_len = res->ai_addrlen;
  freeaddrinfo(res);

  cl.cfg = tern_config_new(TERN_CLIENT);
  if (cl.cfg == NULL) return 1;
  if (insecure) tern_config_set_verify_peer(cl.cfg, 0);
  else if ((rc = tern_config_load_trust(cl.cfg, ca ? ca : "/etc/ssl/certs/ca-certificates.crt",
                                        NULL)) != TERN_OK) {
    fprintf(stderr, "%s: cannot load trust anchors %s: %s\n", PROG,
            ca ? ca : "/etc/ssl/certs/ca-certificates.crt", tern_strerror(rc));
    return 1;
  }
  if (cli_set_alpn(PROG, cl.cfg, alpn) != 0 || cli_keylog(PROG, cl.cfg, keylog, &keylog_file) != 0 ||
      cli_cert_compression(PROG, cl.cfg, cert_comp) != 0)
    return 1;
  tern_config_set_clock(cl.cfg, cli_clock_ms, NULL);
  if (!no_early) tern_config_set_early_data(cl.cfg, 0xffffffffu, 0);
  if (session) {
    tern_config_set_new_session_callback(cl.cfg, on_new_session, &cl);
    load_session(&cl);
  }
  cl.out = stdout;
  if (output && !cl.load_mode && (cl.out = fopen(output, "wb")) == NULL) {
    fprintf(stderr, "%s: cannot write %s: %s\n", PROG, output, strerror(errno));
    return 1;
  }

  double cpu0 = cpu_seconds();
  uint64_t t0 = h3_now();
  run(&cl, total, concurrency);
  /* one retry, on a new connection, with what the server sent (§6.1.6);
     a second rejection is final */
  if (ech_retry && cl.failed && cl.ech_retry_len && !cl.load_mode) {
    if (!quiet) fprintf(stderr, "%s: retrying with the server's retry_configs\n", PROG);
    memcpy(cl.ech_list, cl.ech_retry, cl.ech_retry_len);
    cl.ech_list_len = cl.ech_retry_len;
    cl.ech_retry_len = 0;
    cl.failed = 0;
    run(&cl, total, concurrency);
  }
  double wall = (double)(h3_now() - t0) / 1e9, cpu = cpu_seconds() - cpu0;

  if (cl.out != stdout && fclose(cl.out) != 0) {
    fprintf(stderr, "%s: cannot write %s\n", PROG, output);
    cl.failed++;
  }
  if (cl.load_mode)
    printf("load: %lu connections, %lu ok, %lu failed, %.3f s, %.0f connections/s, "
           "client CPU %.3f s (%.0f us per connection)\n",
           total, cl.ok, cl.failed, wall, wall > 0 ? (double)cl.ok / wall : 0.0, cpu,
           total ? cpu * 1e6 / (double)total : 0.0);
  if (session && !quiet && !cl.load_mode)
    fprintf(stderr, "%s: %d session(s) stored in %s\n", PROG, cl.session_saved, session);
  tern_config_free(cl.cfg);
  return cl.failed ? 1 : 0;
}
