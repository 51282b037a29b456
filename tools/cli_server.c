/*
 * cli_server.c - `tern server`: listens on 127.0.0.1 and ::1, takes TLS
 * 1.3 connections one at a time, prints what each negotiated, and echoes
 * what it receives, or with --www answers an HTTP GET with a page of the
 * negotiated parameters (cli_www.c). The configuration has a clock, so
 * every handshake is followed by session tickets.
 *
 * The options are read into a server_opts, the configuration is built
 * from it once, and each connection has its own server_conn: an event
 * loop serving many connections at once can keep all three as they are.
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
    "       tern server --no-cert --psk-identity ID --psk HEX [options]\n"
    "  --cert FILE             certificate chain, PEM, leaf first\n"
    "  --key FILE              its private key, PEM\n"
    "  --port P                port on 127.0.0.1 and ::1 (default 4433; 0: any free\n"
    "                          port, printed)\n"
    "  --www                   answer an HTTP GET with one HTTP/1.0 response: a page of\n"
    "                          what was negotiated, then close_notify (default: echo\n"
    "                          what the client sends)\n"
    "  --alpn a,b              application protocols accepted, in preference order\n"
    "                          (with --www the default is http/1.1)\n"
    "  --groups LIST           key exchange groups, in preference order\n"
    "  --ciphersuites LIST     TLS 1.3 cipher suites, in preference order\n"
    "  --sigalgs LIST          signature schemes to sign with and accept\n"
    "  --verify-client         require a client certificate (needs --client-ca)\n"
    "  --request-client-cert   ask for a client certificate, go on without one\n"
    "                          (needs --client-ca)\n"
    "  --client-ca FILE        trust anchors for client certificates, PEM; their\n"
    "                          subjects go out as certificate_authorities\n"
    "  --pha-path PREFIX       with --www: a path starting with PREFIX needs a client\n"
    "                          certificate, asked for after the handshake when the\n"
    "                          client offered post_handshake_auth (403 without one;\n"
    "                          needs --client-ca)\n"
    "  --num-tickets N         session tickets after each handshake (default 2, 0-10)\n"
    "  --max-early-data N      accept up to N bytes of 0-RTT data on resumption\n"
    "                          (default 0: no 0-RTT)\n"
    "  --psk-identity ID --psk HEX\n"
    "                          accept an external PSK (16 to 64 bytes); --psk-hash\n"
    "                          sha256 (default) or sha384\n"
    "  --no-cert               no certificate: PSK handshakes only\n"
    "  --keylog FILE           append NSS key log lines to FILE (or $SSLKEYLOGFILE)\n"
    "  --once                  exit after one connection, with its result\n"
    "  -q, --quiet             print only the listening line and errors\n"
    "Exit codes: 0 done, 1 failed, 2 bad command line.\n";

/* How long a handshake may wait for the client, and a connection idle. */
#define HANDSHAKE_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS 60000
#define EARLY_DATA_WINDOW_MS 10000
#define MAX_TICKETS 10

/* The command line, read and checked. */
typedef struct server_opts {
  const char *cert, *key, *port_text, *alpn, *client_ca, *keylog;
  const char *psk_identity, *psk, *psk_hash;
  cli_psk psk_key;
  int no_cert;
  const char *groups, *suites, *sigalgs, *num_tickets_text, *max_early_text;
  int www, once, quiet, verify_client, request_client_cert;
  unsigned long port, num_tickets, max_early;
  cli_algorithms algs;
  cli_www_settings www_settings;
} server_opts;

/* One connection: what the application side keeps for it. */
typedef struct server_conn {
  const server_opts *o;
  cli_www www;
  int logged_request, logged_auth, counted;
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

static const cli_app echo_app = {echo_data, NULL, NULL};

/* ---- --www --------------------------------------------------------- */

/* After cli_www_data or _progress: the log, the bytes, the close. */
static int www_after(cli_link *l, int rc) {
  server_conn *sc = l->user;
  cli_www *w = &sc->www;
  const char *line;
  size_t len;
  if (rc != TERN_OK) {
    cli_report(l->prog, "write", l->c, rc);
    return -1;
  }
  if (w->state == CLI_WWW_READING) return 0;
  len = cli_www_request_line(w, &line);
  if (!sc->o->quiet && !sc->logged_request) {
    printf("  request: %.*s\n", (int)len, line);
    if (w->state == CLI_WWW_AUTHENTICATING)
      printf("  asked for a client certificate after the handshake\n");
    sc->logged_request = 1;
  }
  if (w->state != CLI_WWW_ANSWERED || sc->counted) return 0;
  sc->counted = 1;
  l->bytes_out += w->bytes_out;
  if (!sc->o->quiet) {
    if (tern_tls_client_auths_completed(l->c) > 0) {
      cli_summary s;
      cli_summarize(l->c, &s);
      printf("  post-handshake client certificate: %s\n", s.peer_subject);
    }
    printf("  answered %d%s%s\n", w->status, w->note[0] ? ": " : "", w->note);
  }
  fflush(stdout);
  cli_link_finish(l); /* close_notify is queued: end once it is sent */
  return 0;
}

static int www_data(cli_link *l, const uint8_t *p, size_t n) {
  server_conn *sc = l->user;
  return www_after(l, cli_www_data(&sc->www, l->c, &sc->o->www_settings, p, n));
}

static int www_progress(cli_link *l) {
  server_conn *sc = l->user;
  return www_after(l, cli_www_progress(&sc->www, l->c));
}

static const cli_app www_app = {www_data, NULL, www_progress};

/* ---- connections --------------------------------------------------- */

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
  if (!o->quiet) printf("connection %u from %s\n", number, peer);
  fflush(stdout);
  if (sc == NULL || l == NULL || c == NULL) {
    fprintf(stderr, "%s: out of memory\n", prog);
    close(fd);
    goto out;
  }
  sc->o = o;
  cli_link_init(l, prog, fd, c);
  l->app = o->www ? &www_app : &echo_app;
  l->user = sc;
  l->idle_ms = IDLE_TIMEOUT_MS;
  if (cli_link_handshake(l, HANDSHAKE_TIMEOUT_MS) == 0) {
    if (!o->quiet) {
      cli_summary s;
      cli_summarize(c, &s);
      printf("  handshake done\n");
      cli_print_summary(stdout, "  ", &s, "client certificate");
    }
    result = cli_link_run(l);
    if (!o->quiet) {
      unsigned ku_in = tern_tls_key_updates(c, TERN_READ), ku_out = tern_tls_key_updates(c, TERN_WRITE);
      if (result == 0 && l->truncated)
        printf("  note: the client closed the TCP connection without close_notify\n");
      if (ku_in || ku_out) printf("  KeyUpdate: %u received, %u sent\n", ku_in, ku_out);
      printf("connection %u %s: %llu bytes received, %llu sent\n", number,
             result == 0 ? "closed" : "failed", (unsigned long long)l->bytes_in,
             (unsigned long long)l->bytes_out);
    }
  } else if (!o->quiet) {
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

/* ---- the command line and the configuration ------------------------ */

/*
 * Reads and checks the command line into o. Returns 0, 1 when --help was
 * printed, or -1 after printing on one line what is wrong with it.
 */
static int server_options(int argc, char **argv, server_opts *o) {
  const char *extra[1];
  size_t n_pos;
  const char *pha_path = NULL;
  int p;
  memset(o, 0, sizeof *o);
  const cli_opt opts[] = {
      {"cert", 0, &o->cert, NULL},
      {"key", 0, &o->key, NULL},
      {"port", 0, &o->port_text, NULL},
      {"alpn", 0, &o->alpn, NULL},
      {"groups", 0, &o->groups, NULL},
      {"ciphersuites", 0, &o->suites, NULL},
      {"sigalgs", 0, &o->sigalgs, NULL},
      {"verify-client", 0, NULL, &o->verify_client},
      {"request-client-cert", 0, NULL, &o->request_client_cert},
      {"client-ca", 0, &o->client_ca, NULL},
      {"pha-path", 0, &pha_path, NULL},
      {"num-tickets", 0, &o->num_tickets_text, NULL},
      {"max-early-data", 0, &o->max_early_text, NULL},
      {"keylog", 0, &o->keylog, NULL},
      {"psk-identity", 0, &o->psk_identity, NULL},
      {"psk", 0, &o->psk, NULL},
      {"psk-hash", 0, &o->psk_hash, NULL},
      {"no-cert", 0, NULL, &o->no_cert},
      {"www", 0, NULL, &o->www},
      {"once", 0, NULL, &o->once},
      {"quiet", 'q', NULL, &o->quiet},
      {NULL, 0, NULL, NULL},
  };
  p = cli_parse(PROG, argc, argv, opts, extra, 0, &n_pos);
  if (p == 1) {
    fputs(usage, stdout);
    cli_print_algorithm_names(stdout);
    return 1;
  }
  if (p < 0) return -1;
  o->www_settings.pha_path = pha_path;
  o->port = 4433;
  o->num_tickets = 2;
  if (o->no_cert ? o->cert || o->key || !o->psk : !o->cert || !o->key) {
    fprintf(stderr, o->no_cert ? PROG ": --no-cert takes no --cert or --key, and needs --psk\n"
                               : PROG ": --cert and --key are required (see --help)\n");
    return -1;
  }
  if ((o->port_text && cli_number(PROG, "port", o->port_text, 0, 65535, &o->port) < 0) ||
      (o->num_tickets_text &&
       cli_number(PROG, "num-tickets", o->num_tickets_text, 0, MAX_TICKETS, &o->num_tickets) < 0) ||
      (o->max_early_text &&
       cli_number(PROG, "max-early-data", o->max_early_text, 0, UINT32_MAX, &o->max_early) < 0))
    return -1;
  if (cli_algorithms_parse(PROG, o->groups, o->suites, o->sigalgs, &o->algs) < 0) return -1;
  if (cli_psk_parse(PROG, o->psk_identity, o->psk, o->psk_hash, &o->psk_key) < 0) return -1;
  if (o->verify_client && o->request_client_cert) {
    fprintf(stderr, PROG ": --verify-client and --request-client-cert exclude each other\n");
    return -1;
  }
  if (pha_path && !o->www) {
    fprintf(stderr, PROG ": --pha-path needs --www\n");
    return -1;
  }
  if (pha_path && pha_path[0] != '/') {
    fprintf(stderr, PROG ": --pha-path \"%s\": a path prefix starts with /\n", pha_path);
    return -1;
  }
  if ((o->verify_client || o->request_client_cert || pha_path) && !o->client_ca) {
    fprintf(stderr, PROG ": --%s needs --client-ca FILE (the trust anchors for client "
                         "certificates)\n",
            o->verify_client ? "verify-client" : o->request_client_cert ? "request-client-cert"
                                                                        : "pha-path");
    return -1;
  }
  if (o->client_ca && !(o->verify_client || o->request_client_cert || pha_path)) {
    fprintf(stderr, PROG ": --client-ca is for --verify-client, --request-client-cert or "
                         "--pha-path\n");
    return -1;
  }
  return 0;
}

/* Client authentication: the anchors, the mode, the CA names. */
static int client_auth_config(tern_config *cfg, const server_opts *o) {
  tern_client_auth mode = o->verify_client         ? TERN_CLIENT_AUTH_REQUIRED
                          : o->request_client_cert ? TERN_CLIENT_AUTH_OPTIONAL
                                                   : TERN_CLIENT_AUTH_NONE;
  int rc;
  if (!o->client_ca) return 0;
  if ((rc = tern_config_load_trust(cfg, o->client_ca, NULL)) != TERN_OK) {
    fprintf(stderr, PROG ": cannot load trust anchors from %s: %s\n", o->client_ca,
            tern_strerror(rc));
    return -1;
  }
  /* certificate_authorities in every CertificateRequest, post-handshake
     ones included; with mode NONE (--pha-path alone) the chain a client
     sends after the handshake is verified all the same */
  if ((rc = tern_config_set_client_auth(cfg, mode, 1)) != TERN_OK ||
      (rc = tern_config_set_verify_peer(cfg, 1)) != TERN_OK) {
    fprintf(stderr, PROG ": client authentication with the anchors of %s: %s\n", o->client_ca,
            tern_strerror(rc));
    return -1;
  }
  return 0;
}

/* The server configuration the options ask for, or NULL after printing
   why; *keylog receives the key log file to close after it. */
static tern_config *server_config(server_opts *o, FILE **keylog) {
  tern_config *cfg = tern_config_new(TERN_SERVER);
  int rc;
  *keylog = NULL;
  if (cfg == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    return NULL;
  }
  if (!o->no_cert && (rc = tern_config_load_cert_files(cfg, o->cert, o->key)) != TERN_OK) {
    fprintf(stderr, PROG ": cannot load %s / %s: %s\n", o->cert, o->key, tern_strerror(rc));
    goto fail;
  }
  if (cli_psk_apply(PROG, cfg, &o->psk_key) < 0) goto fail;
  if (o->alpn ? cli_set_alpn(PROG, cfg, o->alpn) < 0
              : o->www && cli_set_alpn(PROG, cfg, "http/1.1") < 0)
    goto fail;
  if (cli_algorithms_apply(PROG, cfg, &o->algs, TERN_SERVER) < 0) goto fail;
  if (client_auth_config(cfg, o) < 0) goto fail;
  /* with a clock, the server issues tickets after each handshake */
  tern_config_set_clock(cfg, cli_clock_ms, NULL);
  if ((rc = tern_config_set_tickets(cfg, (unsigned)o->num_tickets, 7200)) != TERN_OK ||
      (rc = tern_config_set_early_data(cfg, (uint32_t)o->max_early, EARLY_DATA_WINDOW_MS)) !=
          TERN_OK) {
    fprintf(stderr, PROG ": tickets: %s\n", tern_strerror(rc));
    goto fail;
  }
  if (cli_keylog(PROG, cfg, o->keylog, keylog) < 0) goto fail;
  return cfg;
fail:
  tern_config_free(cfg);
  return NULL;
}

int cli_server_main(int argc, char **argv) {
  server_opts o;
  int fds[2] = {-1, -1}, result = 1;
  unsigned number = 0;
  FILE *keylog = NULL;
  tern_config *cfg;
  int p = server_options(argc, argv, &o);
  if (p != 0) return p > 0 ? 0 : CLI_EXIT_USAGE;
  if ((cfg = server_config(&o, &keylog)) == NULL) return 1;
  if (open_listeners((unsigned)o.port, fds) < 0) goto out;
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
  if (keylog) fclose(keylog);
  return result;
}
