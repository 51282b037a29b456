/*
 * h3_server.c - `tern h3-server`: an HTTP/3 server on one UDP socket
 * (IPv4 or IPv6), tern as the TLS of every connection (through
 * libngtcp2_crypto_tern). It serves the files of a directory and a
 * generated page (/tern, and / when the directory has no index.html)
 * that shows what the connection negotiated: suite, group, ALPN,
 * resumption, 0-RTT, and whether the request itself came in 0-RTT.
 *
 * Many connections share the socket; packets are routed by Destination
 * Connection ID. A bad packet or a failed handshake ends only its own
 * connection (with CONNECTION_CLOSE carrying the error, CRYPTO_ERROR
 * 0x100 + alert for TLS), never the server. --retry validates addresses
 * with Retry (tokens of the backend, 10 s); every connection gets a
 * NEW_TOKEN token (1 h). An unknown version gets Version Negotiation.
 */
#define _GNU_SOURCE /* MAP_POPULATE, recvmmsg */
#include "h3.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cli.h"

#define PROG "tern h3-server"
#define SEC ((uint64_t)1000000000)

typedef struct server {
  int fd;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  tern_config *cfg;
  const char *dir;
  int retry, quiet;
  uint8_t token_secret[32];
  h3conn *conns;
  size_t n_conns;
  /* what was served */
  unsigned long connections, failed, handshakes, requests, early_requests, retries_sent,
      vn_sent, resumed;
} server;

static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static void logf_conn(const server *sv, const h3conn *hc, const char *fmt, const char *what) {
  char addr[80];
  if (sv->quiet) return;
  cli_addr_string(&hc->remote, addr, sizeof addr);
  printf("%s: %s ", PROG, addr);
  printf(fmt, what);
  printf("\n");
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

/* The generated page: what this connection negotiated. */
static int info_page(h3conn *hc, h3stream *s) {
  char line[400], *page;
  h3_describe(hc, line, sizeof line);
  const char *suite = tern_suite_name(tern_conn_cipher_suite(hc->tls));
  const char *group = tern_group_name(tern_conn_group(hc->tls));
  const char *alpn = tern_conn_alpn(hc->tls);
  static const char *early[] = {"not offered", "offered", "accepted", "rejected"};
  tern_early_data_status st = tern_conn_early_data_status(hc->tls);
  /* RFC 9849: the name the handshake ran for (the inner one when ECH was
     accepted) and the one the network saw */
  static const char *ech_names[] = {"not offered", "offered", "accepted", "rejected"};
  const char *name = tern_conn_server_name(hc->tls), *outer = tern_conn_ech_outer_name(hc->tls);
  int ech = tern_conn_ech_status(hc->tls);
  page = malloc(4096);
  if (page == NULL) return -1;
  snprintf(page, 4096,
           "<!DOCTYPE html>\n<html><head><title>tern h3-server</title></head><body>\n"
           "<h1>HTTP/3 with tern</h1>\n<table>\n"
           "<tr><td>protocol</td><td id=\"protocol\">HTTP/3 over QUIC 0x%08x</td></tr>\n"
           "<tr><td>cipher suite</td><td id=\"suite\">%s</td></tr>\n"
           "<tr><td>group</td><td id=\"group\">%s</td></tr>\n"
           "<tr><td>ALPN</td><td id=\"alpn\">%s</td></tr>\n"
           "<tr><td>resumed</td><td id=\"resumed\">%s</td></tr>\n"
           "<tr><td>0-RTT</td><td id=\"early-data\">%s</td></tr>\n"
           "<tr><td>this request in 0-RTT</td><td id=\"request-early\">%s</td></tr>\n"
           "<tr><td>certificate compression</td><td id=\"cert-compression\">%s</td></tr>\n"
           "<tr><td>server name</td><td id=\"server-name\">%s</td></tr>\n"
           "<tr><td>ECH</td><td id=\"ech\">%s</td></tr>\n"
           "<tr><td>ECH outer name</td><td id=\"ech-outer-name\">%s</td></tr>\n"
           "</table>\n</body></html>\n",
           ngtcp2_conn_get_negotiated_version(hc->conn), suite ? suite : "-",
           group ? group : "-", alpn ? alpn : "-", tern_conn_resumed(hc->tls) ? "yes" : "no",
           (unsigned)st < 4 ? early[st] : "?", s->early ? "yes" : "no",
           cli_cert_compression_name(tern_conn_cert_compression(hc->tls, TERN_WRITE)),
           name && name[0] ? name : "-", (unsigned)ech < 4 ? ech_names[ech] : "?",
           outer && outer[0] ? outer : "-");
  s->owned = (uint8_t *)page;
  s->body = s->owned;
  s->body_len = strlen(page);
  return 200;
}

/* Files up to this size are read into memory; larger ones are mapped.
   Unmapping costs a TLB flush on every CPU the process ran on, which for
   a page of a few bytes is more than reading it. */
#define SMALL_FILE (64u * 1024u)

/* Reads len bytes of fd into a new buffer, or NULL. */
static uint8_t *read_whole(int fd, size_t len) {
  uint8_t *buf = malloc(len);
  size_t got = 0;
  while (buf != NULL && got < len) {
    ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
    if (n <= 0) {
      free(buf);
      buf = NULL;
    } else {
      got += (size_t)n;
    }
  }
  return buf;
}

/*
 * Small files are kept in memory once read, in a direct-mapped table by
 * path: a request for one costs a stat() (to see that the file is still
 * the one read: device, inode, size and modification time) instead of
 * open, fstat, read and close and a copy. An entry is reference counted:
 * one reference while in the table, one per stream sending it, so that a
 * file replaced in the table stays valid until its last stream ends.
 */
typedef struct cached_file {
  char *path;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  uint8_t *data;
  unsigned refs;
} cached_file;

#define FILE_CACHE_SLOTS 64
static cached_file *file_cache[FILE_CACHE_SLOTS];

static void cached_file_release(void *p) {
  cached_file *f = p;
  if (--f->refs > 0) return;
  free(f->path);
  free(f->data);
  free(f);
}

static int same_file(const cached_file *f, const struct stat *st) {
  return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
         f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static cached_file **file_cache_slot(const char *path) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const char *p = path; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
  return &file_cache[h % FILE_CACHE_SLOTS];
}

static void file_cache_clear(void) {
  for (size_t i = 0; i < FILE_CACHE_SLOTS; i++)
    if (file_cache[i]) {
      cached_file_release(file_cache[i]);
      file_cache[i] = NULL;
    }
}

/* The cached copy of the small file at path (st from stat), read and
   cached when new or changed; NULL when it cannot be read. */
static cached_file *small_file(const char *path, const struct stat *st) {
  cached_file **slot = file_cache_slot(path), *f = *slot;
  struct stat fst;
  int fd;
  if (f != NULL && strcmp(f->path, path) == 0 && same_file(f, st)) return f;
  fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  f = calloc(1, sizeof *f);
  /* what was read is described by fstat on the open file, not by the
     earlier stat: a file replaced in between is cached as it was read */
  if (f == NULL || fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode) || fst.st_size <= 0 ||
      (size_t)fst.st_size > SMALL_FILE || (f->path = strdup(path)) == NULL ||
      (f->data = read_whole(fd, (size_t)fst.st_size)) == NULL) {
    close(fd);
    if (f) free(f->path);
    free(f);
    return NULL;
  }
  close(fd);
  f->dev = fst.st_dev;
  f->ino = fst.st_ino;
  f->size = fst.st_size;
  f->mtime = fst.st_mtim;
  f->refs = 1;
  if (*slot) cached_file_release(*slot);
  *slot = f;
  return f;
}

/* A small file's cached copy as the body of s; 200 or 404. */
static int small_body(h3stream *s, const char *path, const struct stat *st) {
  cached_file *f = small_file(path, st);
  if (f == NULL) return 404;
  f->refs++;
  s->release = cached_file_release;
  s->release_arg = f;
  s->body = f->data;
  s->body_len = (size_t)f->size;
  return 200;
}

/* The file of a request path under the directory, cached or mapped; 200,
   404 or 400. */
static int file_body(server *sv, h3stream *s, int *is_html) {
  char path[2048];
  struct stat st;
  size_t n = strcspn(s->path, "?#");
  int fd;
  if (s->path[0] != '/' || strstr(s->path, "/..") != NULL) return 400;
  snprintf(path, sizeof path, "%s%.*s", sv->dir, (int)n, s->path);
  if (path[strlen(path) - 1] == '/') strncat(path, "index.html", sizeof path - strlen(path) - 1);
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 404;
  n = strlen(path);
  *is_html = n > 5 && strcmp(path + n - 5, ".html") == 0;
  if (st.st_size > 0 && (size_t)st.st_size <= SMALL_FILE) return small_body(s, path, &st);
  fd = open(path, O_RDONLY);
  if (fd < 0) return 404;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return 404;
  }
  if (st.st_size > 0 && (size_t)st.st_size <= SMALL_FILE) { /* shrunk meanwhile */
    close(fd);
    return small_body(s, path, &st);
  }
  if (st.st_size > 0) {
    s->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (s->map == MAP_FAILED) {
      s->map = NULL;
      close(fd);
      return 404;
    }
    s->map_len = (size_t)st.st_size;
    s->body = s->map;
    s->body_len = s->map_len;
  }
  close(fd);
  return 200;
}

static nghttp3_ssize read_body(nghttp3_conn *h3, int64_t id, nghttp3_vec *vec, size_t veccnt,
                               uint32_t *pflags, void *user, void *stream_user) {
  h3stream *s = stream_user;
  (void)h3;
  (void)id;
  (void)user;
  (void)veccnt;
  *pflags |= NGHTTP3_DATA_FLAG_EOF;
  if (s->body_given || s->body_len == 0) return 0;
  s->body_given = 1;
  vec[0].base = (uint8_t *)s->body;
  vec[0].len = s->body_len;
  return 1;
}

static int respond(h3conn *hc, h3stream *s) {
  server *sv = hc->app;
  char status[12], length[32];
  int is_html = 1, code;
  size_t n = strcspn(s->path, "?#");
  static const char not_found[] = "not found\n", bad[] = "bad request\n";

  if (strcmp(s->method, "GET") != 0 && strcmp(s->method, "HEAD") != 0) code = 400;
  else if ((n == 5 && strncmp(s->path, "/tern", 5) == 0))
    code = info_page(hc, s);
  else {
    code = file_body(sv, s, &is_html);
    if (code == 404 && n == 1) code = info_page(hc, s); /* no index.html */
  }
  if (code < 0) return -1;
  if (code != 200) {
    s->body = (const uint8_t *)(code == 404 ? not_found : bad);
    s->body_len = strlen((const char *)s->body);
    is_html = 0;
  }
  if (strcmp(s->method, "HEAD") == 0) s->body_given = 1;
  snprintf(status, sizeof status, "%d", code);
  snprintf(length, sizeof length, "%zu", s->body_len);
  const char *type = is_html ? "text/html; charset=utf-8" : "application/octet-stream";
  if (code != 200) type = "text/plain";
  nghttp3_nv nva[] = {
      {(uint8_t *)":status", (uint8_t *)status, 7, strlen(status), NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"server", (uint8_t *)"tern h3-server", 6, 14, NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)type, 12, strlen(type), NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"content-length", (uint8_t *)length, 14, strlen(length), NGHTTP3_NV_FLAG_NONE},
      {(uint8_t *)"x-tern-early-data", (uint8_t *)(s->early ? "1" : "0"), 17, 1,
       NGHTTP3_NV_FLAG_NONE},
  };
  nghttp3_data_reader dr = {read_body};
  if (nghttp3_conn_submit_response(hc->h3, s->id, nva, sizeof nva / sizeof nva[0], &dr) != 0)
    return -1;
  sv->requests++;
  if (s->early) sv->early_requests++;
  if (!sv->quiet) {
    char what[1200];
    snprintf(what, sizeof what, "%s %s %d %zu bytes%s", s->method, s->path, code, s->body_len,
             s->early ? " (request in 0-RTT)" : "");
    logf_conn(sv, hc, "%s", what);
  }
  return 0;
}

static int h3_begin_headers(nghttp3_conn *h3, int64_t id, void *user, void *stream_user) {
  h3conn *hc = user;
  h3stream *s;
  (void)stream_user;
  s = h3_stream_new(hc, id);
  if (s == NULL) return NGHTTP3_ERR_CALLBACK_FAILURE;
  s->early = !ngtcp2_conn_get_handshake_completed(hc->conn);
  nghttp3_conn_set_stream_user_data(h3, id, s);
  return 0;
}

static int h3_recv_header(nghttp3_conn *h3, int64_t id, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *user, void *stream_user) {
  h3stream *s = stream_user;
  nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
  (void)h3;
  (void)id;
  (void)name;
  (void)flags;
  (void)user;
  if (s == NULL) return 0;
  if (token == NGHTTP3_QPACK_TOKEN__PATH)
    snprintf(s->path, sizeof s->path, "%.*s", (int)v.len, (const char *)v.base);
  else if (token == NGHTTP3_QPACK_TOKEN__METHOD)
    snprintf(s->method, sizeof s->method, "%.*s", (int)v.len, (const char *)v.base);
  return 0;
}

static int h3_end_stream(nghttp3_conn *h3, int64_t id, void *user, void *stream_user) {
  h3conn *hc = user;
  h3stream *s = stream_user;
  (void)h3;
  (void)id;
  if (s == NULL || respond(hc, s) != 0) return NGHTTP3_ERR_CALLBACK_FAILURE;
  return 0;
}

static void server_h3_callbacks(nghttp3_callbacks *cb) {
  cb->begin_headers = h3_begin_headers;
  cb->recv_header = h3_recv_header;
  cb->end_stream = h3_end_stream;
}

/* The handshake completed: say so, and give the client a NEW_TOKEN
   token for its next connection. */
static void server_on_handshake(h3conn *hc) {
  server *sv = hc->app;
  uint8_t token[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN];
  ngtcp2_ssize n = ngtcp2_crypto_generate_regular_token(
      token, sv->token_secret, sizeof sv->token_secret, (const ngtcp2_sockaddr *)&hc->remote,
      hc->remote_len, h3_now());
  sv->handshakes++;
  if (tern_conn_resumed(hc->tls)) sv->resumed++;
  if (n > 0) ngtcp2_conn_submit_new_token(hc->conn, token, (size_t)n);
  if (!sv->quiet) {
    char line[400];
    h3_describe(hc, line, sizeof line);
    logf_conn(sv, hc, "handshake: %s", line);
  }
}

static const h3role server_role = {1, server_h3_callbacks, server_on_handshake};

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static h3conn *find_conn(server *sv, const uint8_t *dcid, size_t dcid_len) {
  for (h3conn *hc = sv->conns; hc; hc = hc->next)
    for (size_t i = 0; i < hc->n_scids; i++)
      if (hc->scids[i].datalen == dcid_len && memcmp(hc->scids[i].data, dcid, dcid_len) == 0)
        return hc;
  return NULL;
}

static void send_to(server *sv, const uint8_t *data, size_t len, const struct sockaddr *to,
                    socklen_t to_len) {
  (void)!sendto(sv->fd, data, len, MSG_DONTWAIT, to, to_len);
}

/* RFC 9000 §6: a version we do not speak gets the versions we do. */
static void send_version_negotiation(server *sv, const ngtcp2_version_cid *vc,
                                     const struct sockaddr *from, socklen_t from_len) {
  uint8_t buf[256], r;
  static const uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  ngtcp2_ssize n;
  if (RAND_bytes(&r, 1) != 1) return;
  n = ngtcp2_pkt_write_version_negotiation(buf, sizeof buf, r, vc->scid, vc->scidlen, vc->dcid,
                                           vc->dcidlen, versions, 1);
  if (n > 0) {
    send_to(sv, buf, (size_t)n, from, from_len);
    sv->vn_sent++;
  }
}

/* A Retry for a client's first Initial (address validation). */
static void send_retry(server *sv, const ngtcp2_pkt_hd *hd, const struct sockaddr *from,
                       socklen_t from_len) {
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN], buf[H3_PKT_MAX];
  ngtcp2_cid scid;
  ngtcp2_ssize tl, n;
  h3_random_cid(&scid);
  tl = ngtcp2_crypto_generate_retry_token(token, sv->token_secret, sizeof sv->token_secret,
                                          hd->version, (const ngtcp2_sockaddr *)from, from_len,
                                          &scid, &hd->dcid, h3_now());
  if (tl < 0) return;
  n = ngtcp2_crypto_write_retry(buf, sizeof buf, hd->version, &hd->scid, &scid, &hd->dcid, token,
                                (size_t)tl);
  if (n > 0) {
    send_to(sv, buf, (size_t)n, from, from_len);
    sv->retries_sent++;
  }
}

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((h3conn *)ref->user_data)->conn;
}

/* A client's first Initial: maybe a Retry first, then a connection. */
static void accept_conn(server *sv, const uint8_t *data, size_t len,
                        const struct sockaddr_storage *from, socklen_t from_len) {
  ngtcp2_pkt_hd hd;
  ngtcp2_cid scid, odcid;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_callbacks cb;
  const ngtcp2_cid *retry_scid = NULL;
  const struct sockaddr *sa = (const struct sockaddr *)from;
  h3conn *hc;

  if (ngtcp2_accept(&hd, data, len) != 0) return; /* not a client's first Initial: drop */
  odcid = hd.dcid;
  if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token.base, hd.token.len, sv->token_secret,
                                         sizeof sv->token_secret, hd.version,
                                         (const ngtcp2_sockaddr *)sa, from_len, &hd.dcid,
                                         10 * SEC, h3_now()) != 0) {
      /* RFC 9000 §8.1.3: an invalid Retry token is INVALID_TOKEN */
      uint8_t buf[H3_PKT_MAX];
      ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(
          buf, sizeof buf, hd.version, &hd.scid, &hd.dcid, NGTCP2_INVALID_TOKEN, NULL, 0);
      if (n > 0) send_to(sv, buf, (size_t)n, sa, from_len);
      return;
    }
    retry_scid = &hd.dcid;
  } else if (sv->retry) {
    int valid = hd.token.len > 0 &&
                ngtcp2_crypto_verify_regular_token(hd.token.base, hd.token.len, sv->token_secret,
                                                   sizeof sv->token_secret,
                                                   (const ngtcp2_sockaddr *)sa, from_len,
                                                   3600 * SEC, h3_now()) == 0;
    if (!valid) {
      send_retry(sv, &hd, sa, from_len);
      return;
    }
  }

  hc = calloc(1, sizeof *hc);
  if (hc == NULL) return;
  hc->role = &server_role;
  hc->app = sv;
  hc->fd = sv->fd;
  hc->started_ns = h3_now();
  memcpy(&hc->local, &sv->addr, sv->addr_len);
  hc->local_len = sv->addr_len;
  memcpy(&hc->remote, from, from_len);
  hc->remote_len = from_len;
  hc->path.local.addr = (ngtcp2_sockaddr *)&hc->local;
  hc->path.local.addrlen = hc->local_len;
  hc->path.remote.addr = (ngtcp2_sockaddr *)&hc->remote;
  hc->path.remote.addrlen = hc->remote_len;
  hc->ref.user_data = hc;

  h3_random_cid(&scid);
  h3_settings(&settings);
  settings.token = hd.token;
  ngtcp2_transport_params_default(&params);
  params.initial_max_data = 1024 * 1024;
  params.initial_max_stream_data_bidi_remote = 256 * 1024;
  params.initial_max_stream_data_uni = 256 * 1024;
  params.initial_max_streams_bidi = 100;
  params.initial_max_streams_uni = 3;
  params.max_idle_timeout = 30 * SEC;
  params.stateless_reset_token_present = 1;
  params.active_connection_id_limit = 7;
  params.original_dcid = odcid;
  if (retry_scid) {
    params.retry_scid = *retry_scid;
    params.retry_scid_present = 1;
  }
  if (ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token,
                                                   h3_static_secret(), 32, &scid) != 0)
    goto fail;
  h3_quic_callbacks(&cb, 1);
  hc->ref.get_conn = get_conn;
  hc->pool = h3_pool_new();
  if (hc->pool == NULL ||
      ngtcp2_conn_server_new(&hc->conn, &hd.scid, &scid, &hc->path, hd.version, &cb, &settings,
                             &params, h3_pool_ngtcp2_mem(hc->pool), hc) != 0)
    goto fail;
  hc->tls = ngtcp2_crypto_tern_conn_new(sv->cfg, &hc->ref);
  if (hc->tls == NULL) goto fail;
  ngtcp2_conn_set_tls_native_handle(hc->conn, hc->tls);
  hc->scids[hc->n_scids++] = scid;
  /* the client's first DCID routes its Initials until it switches */
  hc->scids[hc->n_scids++] = hd.dcid;
  /* the loop writes once the socket is drained */
  if (h3_read(hc, data, len) < 0 && hc->retry_asked) {
    h3_free(hc); /* not yet a connection: the client sends its Initials again */
    return;
  }
  hc->next = sv->conns;
  sv->conns = hc;
  sv->n_conns++;
  sv->connections++;
  return;
fail:
  fprintf(stderr, "%s: cannot make a connection\n", PROG);
  h3_free(hc);
}

static void on_datagram(server *sv, const uint8_t *data, size_t len,
                        const struct sockaddr_storage *from, socklen_t from_len) {
  ngtcp2_version_cid vc;
  h3conn *hc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, H3_CID_LEN);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(sv, &vc, (const struct sockaddr *)from, from_len);
    return;
  }
  if (rv != 0) return; /* not QUIC: drop */
  /* ngtcp2 knows versions tern does not (its v2 draft): those too get
     Version Negotiation, with v1 */
  if ((data[0] & 0x80) && vc.version != 0 && vc.version != NGTCP2_PROTO_VER_V1) {
    send_version_negotiation(sv, &vc, (const struct sockaddr *)from, from_len);
    return;
  }
  hc = find_conn(sv, vc.dcid, vc.dcidlen);
  if (hc == NULL) {
    if (data[0] & 0x80) accept_conn(sv, data, len, from, from_len);
    return;
  }
  h3_read(hc, data, len); /* the loop writes once the socket is drained */
}

/* Drops the connections that ended, reporting the failed ones. */
static void reap(server *sv) {
  for (h3conn **p = &sv->conns; *p;) {
    h3conn *hc = *p;
    if (!hc->closed) {
      p = &hc->next;
      continue;
    }
    if (hc->failed) {
      sv->failed++;
      logf_conn(sv, hc, "connection failed: %s", hc->error);
    } else if (!sv->quiet) {
      char what[160];
      snprintf(what, sizeof what, "closed: %llu request body bytes, %d key updates",
               (unsigned long long)hc->bytes_in, hc->key_updates);
      logf_conn(sv, hc, "%s", what);
    }
    *p = hc->next;
    sv->n_conns--;
    h3_free(hc);
  }
}

/* ------------------------------------------------------------------ */
/* The program                                                         */
/* ------------------------------------------------------------------ */

static int bind_socket(server *sv, const char *addr, const char *port) {
  struct addrinfo hints, *res = NULL;
  int rc, on = 1, buf = 4 * 1024 * 1024;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  if (addr[0] == '[') {
    static char host[64];
    snprintf(host, sizeof host, "%.*s", (int)strcspn(addr + 1, "]"), addr + 1);
    addr = host;
  }
  rc = getaddrinfo(addr, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "%s: bad address %s port %s: %s\n", PROG, addr, port, gai_strerror(rc));
    return -1;
  }
  sv->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (sv->fd < 0 || setsockopt(sv->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      bind(sv->fd, res->ai_addr, res->ai_addrlen) != 0) {
    fprintf(stderr, "%s: cannot bind %s port %s: %s\n", PROG, addr, port, strerror(errno));
    freeaddrinfo(res);
    return -1;
  }
  setsockopt(sv->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(sv->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  freeaddrinfo(res);
  sv->addr_len = sizeof sv->addr;
  return getsockname(sv->fd, (struct sockaddr *)&sv->addr, &sv->addr_len);
}

static void usage(void) {
  fprintf(stderr,
          "usage: tern h3-server --cert FILE --key FILE [options]\n"
          "  --addr ADDR       address to listen on (127.0.0.1; ::1, 0.0.0.0, :: ...)\n"
          "  --port N          UDP port (4433; 0 picks a free one)\n"
          "  --dir DIR         the directory served (.)\n"
          "  --alpn LIST       accepted ALPN protocols (h3)\n"
          "  --groups LIST     key exchange groups, in preference order (default: the\n"
          "                    post-quantum hybrids X25519MLKEM768, ... first)\n"
          "  --retry           validate client addresses with Retry\n"
          "  --early-data      issue tickets that allow 0-RTT, and accept it\n"
          "  --keylog FILE     append NSS key log lines (also $SSLKEYLOGFILE)\n"
          "  --ech-key FILE[,FILE]  Encrypted ClientHello (RFC 9849) with these keys\n"
          "                    (from tern ech-keygen; repeatable): the first is current\n"
          "                    (its config goes in retry_configs), the others retired\n"
          "  --cert-compression LIST\n"
          "                    send the certificate compressed (RFC 8879) with the\n"
          "                    first of zlib, brotli, zstd the client offers\n"
          "  --no-gso          one datagram per send (no UDP GSO; for captures on lo)\n"
          "  --redis HOST:PORT|unix:/PATH  a fleet's Redis: single use of tickets and\n"
          "                    0-RTT anti-replay across servers (password from\n"
          "                    $TERN_REDIS_PASSWORD); unreachable: 0-RTT refused\n"
          "  --redis-rotate S  ticket keys shared through Redis, a new one every S seconds\n"
          "  --redis-timeout MS  the longest one Redis call may take (50)\n"
          "  --redis-prefix P  prefix of the Redis keys (tern:)\n"
          "  -q, --quiet       print nothing but errors\n"
          "Pages: any file under DIR; /tern (and / without index.html) shows what\n"
          "the connection negotiated. Stops on SIGINT/SIGTERM with a summary.\n");
}

/* The key log file, open for the life of the process (lines are flushed
   as they are written). */
static FILE *keylog_file;

/* Datagrams taken per recvmmsg call, and at most per wake-up. */
#define RECV_BATCH 16
#define RECV_MAX 256

/* Handles every datagram waiting on the socket (at most RECV_MAX), up to
   RECV_BATCH per system call. */
static void receive_all(server *sv) {
  static uint8_t bufs[RECV_BATCH][65536];
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iov[RECV_BATCH];
  struct sockaddr_storage from[RECV_BATCH];
  for (int taken = 0; taken < RECV_MAX;) {
    int n;
    for (int i = 0; i < RECV_BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof bufs[i];
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg(sv->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    for (int i = 0; i < n; i++)
      on_datagram(sv, bufs[i], msgs[i].msg_len, &from[i], msgs[i].msg_hdr.msg_namelen);
    taken += n;
    if (n < RECV_BATCH) return;
  }
}

/*
 * --ech-key, which may be given more than once, each time FILE[,FILE]:
 * every file of every occurrence, in order, goes to cli_ech_load_keys
 * (the first is the current key). Returns how many files were loaded, or
 * -1 after saying what was wrong.
 */
static int load_ech_keys(int argc, char **argv, tern_config *cfg) {
  char files[8192];
  size_t len = 0;
  int n = 0;
  files[0] = 0;
  for (int i = 1; i < argc; i++) {
    const char *v = NULL;
    if (strcmp(argv[i], "--ech-key") == 0 && i + 1 < argc) v = argv[++i];
    else if (strncmp(argv[i], "--ech-key=", 10) == 0) v = argv[i] + 10;
    if (v == NULL) continue;
    if (len + strlen(v) + 2 > sizeof files) {
      fprintf(stderr, "%s: --ech-key: too many files\n", PROG);
      return -1;
    }
    len += (size_t)snprintf(files + len, sizeof files - len, "%s%s", len ? "," : "", v);
  }
  for (const char *p = files; *p; p++) n += *p == ',';
  if (cli_ech_load_keys(PROG, cfg, files) < 0) return -1;
  return n + 1;
}

int h3_server_main(int argc, char **argv) {
  const char *cert = NULL, *key = NULL, *addr = "127.0.0.1", *port = "4433", *dir = ".",
             *alpn = "h3", *keylog = NULL, *redis_addr = NULL, *redis_rotate = NULL,
             *redis_timeout = NULL, *redis_prefix = NULL, *cert_comp = NULL, *groups = NULL,
             *ech_key = NULL;
  unsigned long rotate_s = 0, timeout_ms = 50;
  int n_ech = 0;
  cli_redis *redis = NULL;
  cli_algorithms algs;
  int retry = 0, early = 0, quiet = 0, no_gso = 0;
  const cli_opt opts[] = {
      {"cert", 0, &cert, NULL},     {"key", 0, &key, NULL},       {"addr", 0, &addr, NULL},
      {"port", 0, &port, NULL},     {"dir", 0, &dir, NULL},       {"alpn", 0, &alpn, NULL},
      {"keylog", 0, &keylog, NULL}, {"retry", 0, NULL, &retry},   {"early-data", 0, NULL, &early},
      {"quiet", 'q', NULL, &quiet},   {"no-gso", 0, NULL, &no_gso},
      {"redis", 0, &redis_addr, NULL}, {"redis-rotate", 0, &redis_rotate, NULL},
      {"redis-timeout", 0, &redis_timeout, NULL}, {"redis-prefix", 0, &redis_prefix, NULL},
      {"cert-compression", 0, &cert_comp, NULL}, {"groups", 0, &groups, NULL},
      {"ech-key", 0, &ech_key, NULL},
      {NULL, 0, NULL, NULL},
  };
  const char *pos[1];
  size_t n_pos;
  server sv;
  int rc = cli_parse(PROG, argc, argv, opts, pos, 0, &n_pos);
  if (rc != 0) {
    usage();
    return rc > 0 ? 0 : 2;
  }
  if (cert == NULL || key == NULL) {
    fprintf(stderr, "%s: --cert and --key are required\n", PROG);
    usage();
    return 2;
  }
  if ((redis_rotate && cli_number(PROG, "redis-rotate", redis_rotate, 1, 7 * 86400, &rotate_s) < 0) ||
      (redis_timeout && cli_number(PROG, "redis-timeout", redis_timeout, 1, 60000, &timeout_ms) < 0))
    return 2;
  if (!redis_addr && (redis_rotate || redis_timeout || redis_prefix)) {
    fprintf(stderr, "%s: --redis-rotate, --redis-timeout and --redis-prefix need --redis\n", PROG);
    return 2;
  }
  if (cli_cert_compression(PROG, NULL, cert_comp) != 0) return 2;
  memset(&sv, 0, sizeof sv);
  /* A connection's memory (its pool's chunks, tern's and libcrypto's
     objects) goes back to malloc when it ends; glibc would return the
     top of the heap to the kernel past 128 KiB free and fault the pages
     in again for the next connections (about 3% of the time per
     connection in a profile): keep up to 64 MiB. */
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  if (no_gso) h3_disable_gso();
  sv.dir = dir;
  sv.retry = retry;
  sv.quiet = quiet;
  if (RAND_bytes(sv.token_secret, sizeof sv.token_secret) != 1) return 1;
  sv.cfg = tern_config_new(TERN_SERVER);
  if (sv.cfg == NULL) return 1;
  if ((rc = tern_config_load_cert_files(sv.cfg, cert, key)) != TERN_OK) {
    fprintf(stderr, "%s: cannot load %s / %s: %s\n", PROG, cert, key, tern_strerror(rc));
    return 1;
  }
  if (cli_set_alpn(PROG, sv.cfg, alpn) != 0 || cli_keylog(PROG, sv.cfg, keylog, &keylog_file) != 0 ||
      cli_cert_compression(PROG, sv.cfg, cert_comp) != 0 ||
      cli_algorithms_parse(PROG, groups, NULL, NULL, &algs) < 0 ||
      cli_algorithms_apply(PROG, sv.cfg, &algs, TERN_SERVER) < 0)
    return 1;
  tern_config_set_clock(sv.cfg, cli_clock_ms, NULL);
  /* one ticket per connection, as ngtcp2's servers send: an HTTP/3
     client resumes one connection at a time */
  tern_config_set_tickets(sv.cfg, 1, 7200);
  if (early) tern_config_set_early_data(sv.cfg, 0xffffffffu, 10000);
  if (ech_key && (n_ech = load_ech_keys(argc, argv, sv.cfg)) < 0) return 1;
  if (redis_addr) {
    cli_redis_opts ro = {redis_addr, redis_prefix, (unsigned)rotate_s, (unsigned)timeout_ms,
                         10000, 1};
    if (cli_redis_start(PROG, &ro, sv.cfg, &redis) < 0) return 1;
  }
  if (bind_socket(&sv, addr, port) != 0) return 1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  {
    char where[80];
    cli_addr_string(&sv.addr, where, sizeof where);
    printf("%s: listening on %s (UDP), serving %s%s%s", PROG, where, dir,
           retry ? ", Retry on" : "", early ? ", 0-RTT on" : "");
    if (n_ech) printf(", ECH with %d key%s", n_ech, n_ech > 1 ? "s" : "");
    printf("\n");
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);

  while (!stopping) {
    int timeout = 1000;
    struct pollfd pfd = {sv.fd, POLLIN, 0};
    for (h3conn *hc = sv.conns; hc; hc = hc->next) {
      int t = h3_timeout_ms(hc, 1000);
      if (t < timeout) timeout = t;
    }
    if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) break;
    if (pfd.revents & POLLIN) receive_all(&sv);
    /* Only a connection that took a datagram or whose timer fired can
       have something new to send (pacing is one of ngtcp2's timers):
       asking every other one costs a pass through ngtcp2 and nghttp3 per
       connection per wake-up, for nothing. */
    for (h3conn *hc = sv.conns; hc; hc = hc->next)
      if (h3_expire(hc) == 0 && hc->want_write) h3_write(hc);
    reap(&sv);
  }
  for (h3conn *hc = sv.conns; hc; hc = hc->next) h3_close(hc);
  while (sv.conns) {
    h3conn *hc = sv.conns;
    sv.conns = hc->next;
    h3_free(hc);
  }
  printf("%s: %lu connections (%lu handshakes, %lu resumed, %lu failed), %lu requests "
         "(%lu in 0-RTT), %lu Retry, %lu Version Negotiation\n",
         PROG, sv.connections, sv.handshakes, sv.resumed, sv.failed, sv.requests,
         sv.early_requests, sv.retries_sent, sv.vn_sent);
  close(sv.fd);
  file_cache_clear();
  cli_redis_stop(redis);
  tern_config_free(sv.cfg);
  return 0;
}
