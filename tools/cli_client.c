/*
 * cli_client.c - `tern client HOST:PORT`: connects over TCP, runs a tern
 * TLS 1.3 handshake verified against --ca (or the system store), prints
 * what was negotiated, then sends --send TEXT or stdin and prints what
 * comes back until the server closes. --resume FILE offers the session
 * stored in FILE and keeps the newest ticket there.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netdb.h>
#include <sys/socket.h>

#define DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define PROG "tern client"

static const char usage[] =
    "usage: tern client HOST[:PORT] [options]        (PORT defaults to 443)\n"
    "  --ca FILE           trust anchors, PEM (default " DEFAULT_CA_FILE ")\n"
    "  --alpn a,b          offer these application protocols\n"
    "  --servername NAME   the name sent in SNI and checked in the certificate\n"
    "                      (default HOST)\n"
    "  --cert FILE --key FILE\n"
    "                      a client certificate (chain, PEM) for servers that ask\n"
    "  --resume FILE       offer the session stored in FILE, if any, and store\n"
    "                      the newest ticket received there\n"
    "  --keylog FILE       append NSS key log lines to FILE (or $SSLKEYLOGFILE)\n"
    "  --send TEXT         send TEXT (escapes \\r \\n \\t \\\\) instead of stdin\n"
    "  --key-update        send a KeyUpdate (asking the server to update too)\n"
    "  --timeout SECONDS   how long to wait for the server (default 10)\n"
    "Negotiated parameters and notes go to stderr, received data to stdout.\n"
    "When the input ends the client sends close_notify and waits for the server's.\n";

typedef struct client {
  const char *resume_path;
  int tickets;           /* session tickets received */
  int ticket_save_failed;
} client;

/* Writes the newest session blob to the --resume file (atomically). */
static void on_session(tern_conn *c, const uint8_t *blob, size_t len, uint32_t max_early,
                       void *user) {
  client *cl = tern_conn_user(c);
  char tmp[4096];
  FILE *f;
  int fd, ok;
  (void)max_early, (void)user;
  cl->tickets++;
  snprintf(tmp, sizeof tmp, "%s.tmp", cl->resume_path);
  /* the blob holds the resumption secret: readable by the owner only */
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  f = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (f == NULL && fd >= 0) close(fd);
  ok = f != NULL && fwrite(blob, 1, len, f) == len;
  if (f != NULL && fclose(f) != 0) ok = 0;
  if (!ok || rename(tmp, cl->resume_path) != 0) {
    fprintf(stderr, PROG ": cannot store the session in %s: %s\n", cl->resume_path,
            strerror(errno));
    cl->ticket_save_failed = 1;
  }
}

/* Splits "host:port", "[v6]:port", "host" into host and port. */
static int split_target(const char *t, char *host, size_t host_cap, const char **port) {
  const char *colon;
  size_t n;
  *port = "443";
  if (t[0] == '[') {
    const char *end = strchr(t, ']');
    if (end == NULL || (end[1] != '\0' && end[1] != ':')) return -1;
    n = (size_t)(end - t - 1);
    if (end[1] == ':') *port = end + 2;
    t++;
  } else if ((colon = strrchr(t, ':')) != NULL && strchr(t, ':') == colon) {
    n = (size_t)(colon - t);
    *port = colon + 1;
  } else {
    n = strlen(t); /* no port, or a bare IPv6 address */
  }
  if (n == 0 || n >= host_cap || **port == '\0') return -1;
  memcpy(host, t, n);
  host[n] = '\0';
  return 0;
}

/* Connects to the first address of host that answers within timeout_ms.
   Returns the socket, or -1 after printing why. */
static int connect_to(const char *host, const char *port, int timeout_ms, char *peer,
                      size_t peer_cap) {
  struct addrinfo hints, *res, *ai;
  int fd = -1, err = 0, gai;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
    fprintf(stderr, PROG ": cannot resolve %s port %s: %s\n", host, port, gai_strerror(gai));
    return -1;
  }
  for (ai = res; ai; ai = ai->ai_next) {
    struct pollfd p;
    socklen_t len = sizeof err;
    cli_addr_string(ai->ai_addr, peer, peer_cap);
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    err = errno;
    if (err == EINPROGRESS) {
      p.fd = fd;
      p.events = POLLOUT;
      err = poll(&p, 1, timeout_ms) == 1 ? 0 : ETIMEDOUT;
      if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) break;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    fprintf(stderr, PROG ": cannot connect to %s port %s (%s): %s\n", host, port, peer,
            strerror(err));
  return fd;
}

/* Offers the session stored in path, if there is one. */
static void offer_session(tern_conn *c, const char *path) {
  uint8_t blob[TERN_SESSION_MAX_BYTES + 1];
  size_t len;
  int rc;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    if (errno != ENOENT)
      fprintf(stderr, PROG ": cannot read %s: %s; full handshake\n", path, strerror(errno));
    else
      fprintf(stderr, PROG ": no session in %s yet; full handshake\n", path);
    return;
  }
  len = fread(blob, 1, sizeof blob, f);
  fclose(f);
  rc = len > TERN_SESSION_MAX_BYTES ? TERN_ERR_MALFORMED
                                    : tern_conn_set_session(c, blob, len, cli_clock_ms(NULL));
  if (rc == TERN_OK)
    fprintf(stderr, PROG ": offering the session stored in %s\n", path);
  else
    fprintf(stderr, PROG ": the session in %s cannot be offered (%s); full handshake\n", path,
            tern_strerror(rc));
}

/* Turns the escapes \r \n \t \\ of --send into bytes. */
static size_t unescape(const char *s, char *out) {
  size_t n = 0;
  for (; *s; s++) {
    if (*s != '\\' || s[1] == '\0') {
      out[n++] = *s;
      continue;
    }
    s++;
    out[n++] = *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
  }
  return n;
}

/* Received application data goes to stdout as it comes. */
static int on_data(cli_link *l, const uint8_t *p, size_t n) {
  if (fwrite(p, 1, n, stdout) != n || fflush(stdout) != 0) {
    fprintf(stderr, "%s: cannot write to stdout: %s\n", l->prog, strerror(errno));
    return -1;
  }
  return 0;
}

/* stdin, as it comes; its end closes our side with close_notify. */
static int on_input(cli_link *l) {
  uint8_t buf[16384];
  ssize_t n;
  do n = read(l->input_fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    int rc = tern_tls_write(l->c, buf, (size_t)n);
    if (rc != TERN_OK) {
      cli_report(l->prog, "write", l->c, rc);
      return -1;
    }
    l->bytes_out += (uint64_t)n;
    return 0;
  }
  if (n < 0) fprintf(stderr, "%s: reading stdin: %s\n", l->prog, strerror(errno));
  l->input_fd = -1;
  cli_link_close(l);
  return 0;
}

static const cli_app client_app = {on_data, on_input};

typedef struct client_opts {
  const char *ca, *alpn, *servername, *cert, *key, *resume, *keylog, *send, *timeout;
  int key_update;
} client_opts;

/* The client configuration the options ask for, or NULL after printing why. */
static tern_config *client_config(const client_opts *o) {
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  const char *ca = o->ca ? o->ca : DEFAULT_CA_FILE;
  int rc;
  if (cfg == NULL) return NULL;
  if ((rc = tern_config_load_trust(cfg, ca, NULL)) != TERN_OK) {
    fprintf(stderr, PROG ": cannot load trust anchors from %s: %s\n", ca, tern_strerror(rc));
    goto fail;
  }
  if (o->cert || o->key) {
    if (!o->cert || !o->key) {
      fprintf(stderr, PROG ": --cert and --key go together\n");
      goto fail;
    }
    if ((rc = tern_config_load_cert_files(cfg, o->cert, o->key)) != TERN_OK) {
      fprintf(stderr, PROG ": cannot load %s / %s: %s\n", o->cert, o->key, tern_strerror(rc));
      goto fail;
    }
  }
  if (o->alpn && cli_set_alpn(PROG, cfg, o->alpn) < 0) goto fail;
  if (cli_keylog(PROG, cfg, o->keylog) < 0) goto fail;
  tern_config_set_clock(cfg, cli_clock_ms, NULL);
  if (o->resume) tern_config_set_new_session_callback(cfg, on_session, NULL);
  return cfg;
fail:
  tern_config_free(cfg);
  return NULL;
}

/* After the handshake: the summary, --key-update, --send or stdin, then
   the conversation until it ends. Returns 0 or -1. */
static int converse(cli_link *l, const client_opts *o, const char *peer) {
  cli_summary s;
  int rc;
  cli_summarize(l->c, &s);
  fprintf(stderr, PROG ": connected to %s\n", peer);
  cli_print_summary(stderr, "  ", &s, "server certificate");
  if (o->key_update) {
    if ((rc = tern_tls_key_update(l->c, 1)) != TERN_OK) {
      cli_report(PROG, "KeyUpdate", l->c, rc);
      return -1;
    }
    fprintf(stderr, PROG ": sent KeyUpdate (update_requested)\n");
  }
  if (o->send) {
    char *text = malloc(strlen(o->send) + 1);
    size_t n;
    if (text == NULL) return -1;
    n = unescape(o->send, text);
    rc = tern_tls_write(l->c, (const uint8_t *)text, n);
    free(text);
    if (rc != TERN_OK) {
      cli_report(PROG, "write", l->c, rc);
      return -1;
    }
    l->bytes_out += n;
    cli_link_close(l);
  } else {
    l->input_fd = 0;
  }
  return cli_link_run(l);
}

int cli_client_main(int argc, char **argv) {
  client_opts o;
  client cl;
  const char *target[1], *port;
  size_t n_pos;
  char host[256], peer[128] = "?";
  int timeout_ms, fd, result = 1;
  tern_config *cfg;
  tern_conn *c = NULL;
  cli_link *l = NULL;
  memset(&o, 0, sizeof o);
  memset(&cl, 0, sizeof cl);
  const cli_opt opts[] = {
      {"ca", &o.ca, NULL},           {"alpn", &o.alpn, NULL},
      {"servername", &o.servername, NULL}, {"cert", &o.cert, NULL},
      {"key", &o.key, NULL},         {"resume", &o.resume, NULL},
      {"keylog", &o.keylog, NULL},   {"send", &o.send, NULL},
      {"timeout", &o.timeout, NULL}, {"key-update", NULL, &o.key_update},
      {NULL, NULL, NULL},
  };
  int p = cli_parse(PROG, argc, argv, opts, target, 1, &n_pos);
  if (p == 1) {
    fputs(usage, stdout);
    return 0;
  }
  if (p < 0 || n_pos != 1) {
    fputs(usage, stderr);
    return 1;
  }
  if (split_target(target[0], host, sizeof host, &port) < 0) {
    fprintf(stderr, PROG ": \"%s\" is not HOST:PORT\n", target[0]);
    return 1;
  }
  timeout_ms = o.timeout ? atoi(o.timeout) * 1000 : 10000;
  if (timeout_ms <= 0) {
    fprintf(stderr, PROG ": bad --timeout %s\n", o.timeout);
    return 1;
  }
  cl.resume_path = o.resume;
  if ((cfg = client_config(&o)) == NULL) return 1;
  if ((fd = connect_to(host, port, timeout_ms, peer, sizeof peer)) < 0) goto out;
  c = tern_conn_new_tls(cfg, &cl);
  l = malloc(sizeof *l);
  if (c == NULL || l == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    close(fd);
    goto out;
  }
  if (tern_conn_set_server_name(c, o.servername ? o.servername : host) != TERN_OK) {
    fprintf(stderr, PROG ": bad server name \"%s\"\n", o.servername ? o.servername : host);
    close(fd);
    goto out;
  }
  if (o.resume) offer_session(c, o.resume);
  cli_link_init(l, PROG, fd, c);
  l->app = &client_app;
  l->close_wait_ms = timeout_ms;
  int rc = tern_handshake(c);
  if (rc < 0) {
    cli_report(PROG, "handshake", c, rc);
  } else if (cli_link_handshake(l, timeout_ms) == 0 && converse(l, &o, peer) == 0) {
    result = 0;
    if (l->truncated)
      fprintf(stderr, PROG ": note: the server closed the TCP connection without close_notify\n");
    fprintf(stderr, PROG ": connection closed (%llu bytes sent, %llu received)\n",
            (unsigned long long)l->bytes_out, (unsigned long long)l->bytes_in);
  }
  if (o.resume && cl.tickets)
    fprintf(stderr, PROG ": %d session ticket%s received; the newest %s %s\n", cl.tickets,
            cl.tickets == 1 ? "" : "s", cl.ticket_save_failed ? "could not be saved to" : "saved to",
            o.resume);
  close(fd);
out:
  free(l);
  tern_conn_free(c);
  tern_config_free(cfg);
  return result;
}
