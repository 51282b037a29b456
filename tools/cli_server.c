/*
 * cli_server.c - `tern server`: listens on 127.0.0.1 and ::1, takes TLS
 * 1.3 connections one at a time, prints what each negotiated, and echoes
 * what it receives, or with --www answers an HTTP/1.1 GET with a page of
 * the negotiated parameters (for curl and browsers). The configuration
 * has a clock, so every handshake is followed by session tickets.
 */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PROG "tern server"

static const char usage[] =
    "usage: tern server --cert FILE --key FILE [options]\n"
    "  --cert FILE             certificate chain, PEM, leaf first\n"
    "  --key FILE              its private key, PEM\n"
    "  --port P                port on 127.0.0.1 and ::1 (default 4433; 0: any free\n"
    "                          port, printed)\n"
    "  --alpn a,b              application protocols accepted, in preference order\n"
    "                          (with --www the default is http/1.1)\n"
    "  --verify-client CAFILE  require a client certificate that chains to CAFILE\n"
    "  --www                   answer HTTP GET with a page of what was negotiated\n"
    "                          (default: echo what the client sends)\n"
    "  --keylog FILE           append NSS key log lines to FILE (or $SSLKEYLOGFILE)\n"
    "  --once                  exit after one connection, with its result\n";

/* How long a handshake may wait for the client, and a connection idle. */
#define HANDSHAKE_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS 60000
#define MAX_REQUEST 8192

typedef struct server_conn {
  cli_summary summary;
  char request[MAX_REQUEST + 1];
  size_t request_len;
  int answered;
} server_conn;

/* ---- echo ---------------------------------------------------------- */

static int echo_data(cli_link *l, const uint8_t *p, size_t n) {
  int rc = tern_tls_write(l->c, p, n);
  if (rc != TERN_OK) {
    cli_report(l->prog, "write", l->c, rc);
    return -1;
  }
  l->bytes_out += n;
  return 0;
}

static const cli_app echo_app = {echo_data, NULL};

/* ---- --www --------------------------------------------------------- */

/* Appends s to out (at *n, capacity cap) with <, >, &, " escaped. */
static void html_put(char *out, size_t cap, size_t *n, const char *s) {
  for (; *s && *n + 8 < cap; s++) {
    const char *e = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;"
                  : *s == '"' ? "&quot;" : NULL;
    if (e) {
      memcpy(out + *n, e, strlen(e));
      *n += strlen(e);
    } else {
      out[(*n)++] = *s;
    }
  }
  out[*n] = '\0';
}

/* Appends the literal s to out, as far as it fits. */
static void raw_put(char *out, size_t cap, size_t *n, const char *s) {
  size_t k = strlen(s);
  if (*n + k + 1 > cap) k = cap - *n - 1;
  memcpy(out + *n, s, k);
  *n += k;
  out[*n] = '\0';
}

static void html_row(char *out, size_t cap, size_t *n, const char *name, const char *value) {
  raw_put(out, cap, n, "<tr><th>");
  raw_put(out, cap, n, name);
  raw_put(out, cap, n, "</th><td>");
  html_put(out, cap, n, value);
  raw_put(out, cap, n, "</td></tr>\n");
}

/* The page: what this connection negotiated. Returns its length. */
static size_t make_page(const server_conn *sc, char *out, size_t cap) {
  const cli_summary *s = &sc->summary;
  size_t n = (size_t)snprintf(out, cap,
                              "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                              "<title>tern</title></head>\n<body>\n"
                              "<h1>tern %s: TLS 1.3 handshake</h1>\n<table>\n",
                              TERN_VERSION_STRING);
  html_row(out, cap, &n, "protocol", "TLSv1.3");
  html_row(out, cap, &n, "cipher suite", s->suite);
  html_row(out, cap, &n, "group", s->group);
  html_row(out, cap, &n, "HelloRetryRequest", s->hrr ? "yes" : "no");
  html_row(out, cap, &n, "signature scheme", s->sigalg);
  html_row(out, cap, &n, "ALPN", s->alpn);
  html_row(out, cap, &n, "server name", s->server_name);
  html_row(out, cap, &n, "resumed", s->resumed ? "yes" : "no");
  html_row(out, cap, &n, "client certificate", s->peer_subject);
  raw_put(out, cap, &n, "</table>\n</body></html>\n");
  return n;
}

/* Queues an HTTP/1.1 answer and the close. */
static int respond(cli_link *l, const char *status, const char *extra, const char *body,
                   size_t body_len, int head_only) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nServer: tern/%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                   "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
                   status, TERN_VERSION_STRING, body_len, extra);
  int rc = tern_tls_write(l->c, (const uint8_t *)head, (size_t)n);
  if (rc == TERN_OK && !head_only && body_len)
    rc = tern_tls_write(l->c, (const uint8_t *)body, body_len);
  if (rc != TERN_OK) {
    cli_report(l->prog, "write", l->c, rc);
    return -1;
  }
  l->bytes_out += (size_t)n + (head_only ? 0 : body_len);
  cli_link_finish(l);
  return 0;
}

/* Collects the request head; answers once it is complete. */
static int www_data(cli_link *l, const uint8_t *p, size_t n) {
  server_conn *sc = l->user;
  char page[8192], *end;
  size_t room = MAX_REQUEST - sc->request_len;
  if (sc->answered) return 0;
  memcpy(sc->request + sc->request_len, p, n < room ? n : room);
  sc->request_len += n < room ? n : room;
  sc->request[sc->request_len] = '\0';
  end = strstr(sc->request, "\r\n\r\n");
  if (end == NULL) end = strstr(sc->request, "\n\n");
  if (end == NULL && sc->request_len < MAX_REQUEST) return 0;
  sc->answered = 1;
  if (end == NULL) {
    static const char msg[] = "<html><body>request too large</body></html>\n";
    return respond(l, "431 Request Header Fields Too Large", "", msg, sizeof msg - 1, 0);
  }
  printf("  request: %.*s\n", (int)strcspn(sc->request, "\r\n"), sc->request);
  if (strncmp(sc->request, "GET ", 4) == 0 || strncmp(sc->request, "HEAD ", 5) == 0) {
    size_t len = make_page(sc, page, sizeof page);
    return respond(l, "200 OK", "", page, len, sc->request[0] == 'H');
  }
  static const char msg[] = "<html><body>only GET and HEAD</body></html>\n";
  return respond(l, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", msg, sizeof msg - 1, 0);
}

static const cli_app www_app = {www_data, NULL};

/* ---- connections --------------------------------------------------- */

typedef struct server_opts {
  const char *cert, *key, *port, *alpn, *verify_client, *keylog;
  int www, once;
} server_opts;

/* Shuts our side, then reads until the client's end (at most a second),
   so that closing with unread input does not reset what was sent. */
static void linger_close(int fd) {
  char junk[4096];
  struct pollfd p = {fd, POLLIN, 0};
  shutdown(fd, SHUT_WR);
  for (int i = 0; i < 16 && poll(&p, 1, 1000) == 1; i++)
    if (recv(fd, junk, sizeof junk, 0) <= 0) break;
  close(fd);
}

/* Serves one connection. Returns 0 when it went well. */
static int serve(tern_config *cfg, const server_opts *o, int fd, unsigned number,
                 const char *peer) {
  char prog[64];
  server_conn *sc = calloc(1, sizeof *sc);
  cli_link *l = malloc(sizeof *l);
  tern_conn *c = tern_conn_new_tls(cfg, NULL);
  int result = -1;
  snprintf(prog, sizeof prog, PROG ": connection %u", number);
  printf("connection %u from %s\n", number, peer);
  fflush(stdout);
  if (sc == NULL || l == NULL || c == NULL) {
    fprintf(stderr, "%s: out of memory\n", prog);
    close(fd);
    goto out;
  }
  cli_link_init(l, prog, fd, c);
  l->app = o->www ? &www_app : &echo_app;
  l->user = sc;
  l->idle_ms = IDLE_TIMEOUT_MS;
  if (cli_link_handshake(l, HANDSHAKE_TIMEOUT_MS) == 0) {
    cli_summarize(c, &sc->summary);
    printf("  handshake done\n");
    cli_print_summary(stdout, "  ", &sc->summary, "client certificate");
    result = cli_link_run(l);
    if (result == 0 && l->truncated)
      printf("  note: the client closed the TCP connection without close_notify\n");
    printf("connection %u %s: %llu bytes received, %llu sent\n", number,
           result == 0 ? "closed" : "failed", (unsigned long long)l->bytes_in,
           (unsigned long long)l->bytes_out);
  } else {
    printf("connection %u failed in the handshake\n", number);
  }
  fflush(stdout);
  linger_close(fd);
out:
  tern_conn_free(c);
  free(l);
  free(sc);
  return result;
}

/* A listening socket on addr; returns it, or -1 (errno). */
static int listen_on(struct sockaddr *addr, socklen_t len) {
  int one = 1, fd = socket(addr->sa_family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, addr, len) != 0 || listen(fd, 16) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Listens on 127.0.0.1:port (required) and [::1]:port (when possible). */
static int open_listeners(unsigned port, int fds[2]) {
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
  socklen_t len = sizeof v4;
  char a[64], b[64];
  memset(&v4, 0, sizeof v4);
  v4.sin_family = AF_INET;
  v4.sin_port = htons((uint16_t)port);
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((fds[0] = listen_on((struct sockaddr *)&v4, sizeof v4)) < 0) {
    fprintf(stderr, PROG ": cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
    return -1;
  }
  getsockname(fds[0], (struct sockaddr *)&v4, &len); /* the port, when 0 was asked */
  memset(&v6, 0, sizeof v6);
  v6.sin6_family = AF_INET6;
  v6.sin6_port = v4.sin_port;
  v6.sin6_addr = in6addr_loopback;
  fds[1] = listen_on((struct sockaddr *)&v6, sizeof v6);
  cli_addr_string(&v4, a, sizeof a);
  cli_addr_string(&v6, b, sizeof b);
  if (fds[1] >= 0)
    printf(PROG ": listening on %s and %s\n", a, b);
  else
    printf(PROG ": listening on %s (not %s: %s)\n", a, b, strerror(errno));
  fflush(stdout);
  return 0;
}

/* The server configuration the options ask for, or NULL after printing why. */
static tern_config *server_config(const server_opts *o) {
  tern_config *cfg = tern_config_new(TERN_SERVER);
  int rc;
  if (cfg == NULL) return NULL;
  if ((rc = tern_config_load_cert_files(cfg, o->cert, o->key)) != TERN_OK) {
    fprintf(stderr, PROG ": cannot load %s / %s: %s\n", o->cert, o->key, tern_strerror(rc));
    goto fail;
  }
  if (o->alpn ? cli_set_alpn(PROG, cfg, o->alpn) < 0
              : o->www && cli_set_alpn(PROG, cfg, "http/1.1") < 0)
    goto fail;
  if (o->verify_client) {
    if ((rc = tern_config_load_trust(cfg, o->verify_client, NULL)) != TERN_OK) {
      fprintf(stderr, PROG ": cannot load trust anchors from %s: %s\n", o->verify_client,
              tern_strerror(rc));
      goto fail;
    }
    if ((rc = tern_config_set_client_auth(cfg, TERN_CLIENT_AUTH_REQUIRED, 1)) != TERN_OK) {
      fprintf(stderr, PROG ": client authentication: %s\n", tern_strerror(rc));
      goto fail;
    }
  }
  if (cli_keylog(PROG, cfg, o->keylog) < 0) goto fail;
  /* with a clock, the server issues tickets (two after each handshake) */
  tern_config_set_clock(cfg, cli_clock_ms, NULL);
  return cfg;
fail:
  tern_config_free(cfg);
  return NULL;
}

int cli_server_main(int argc, char **argv) {
  server_opts o;
  const char *extra[1];
  size_t n_pos;
  int fds[2] = {-1, -1}, result = 1;
  unsigned number = 0;
  long port;
  char *end;
  tern_config *cfg;
  memset(&o, 0, sizeof o);
  const cli_opt opts[] = {
      {"cert", &o.cert, NULL},     {"key", &o.key, NULL},
      {"port", &o.port, NULL},     {"alpn", &o.alpn, NULL},
      {"verify-client", &o.verify_client, NULL},
      {"keylog", &o.keylog, NULL}, {"www", NULL, &o.www},
      {"once", NULL, &o.once},     {NULL, NULL, NULL},
  };
  int p = cli_parse(PROG, argc, argv, opts, extra, 0, &n_pos);
  if (p == 1) {
    fputs(usage, stdout);
    return 0;
  }
  if (p < 0 || !o.cert || !o.key) {
    if (p == 0) fprintf(stderr, PROG ": --cert and --key are required\n");
    fputs(usage, stderr);
    return 1;
  }
  port = o.port ? strtol(o.port, &end, 10) : 4433;
  if (o.port && (*end != '\0' || port < 0 || port > 65535)) {
    fprintf(stderr, PROG ": bad --port %s\n", o.port);
    return 1;
  }
  if ((cfg = server_config(&o)) == NULL) return 1;
  if (open_listeners((unsigned)port, fds) < 0) goto out;
  for (;;) {
    struct pollfd pl[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    char name[64];
    int fd, which, r;
    if (poll(pl, fds[1] >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
      goto out;
    }
    which = (pl[0].revents & POLLIN) ? 0 : 1;
    fd = accept(fds[which], (struct sockaddr *)&peer, &len);
    if (fd < 0) {
      if (errno != EINTR && errno != ECONNABORTED)
        fprintf(stderr, PROG ": accept: %s\n", strerror(errno));
      continue;
    }
    cli_addr_string(&peer, name, sizeof name);
    r = serve(cfg, &o, fd, ++number, name);
    if (o.once) {
      result = r == 0 ? 0 : 1;
      goto out;
    }
  }
out:
  if (fds[0] >= 0) close(fds[0]);
  if (fds[1] >= 0) close(fds[1]);
  tern_config_free(cfg);
  return result;
}
