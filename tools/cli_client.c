/*
 * cli_client.c - `tern client HOST:PORT`: connects over TCP, runs a tern
 * TLS 1.3 handshake verified against --ca (or the system store), prints
 * what was negotiated, then sends --send TEXT or stdin and prints what
 * comes back until the server closes. --resume FILE offers the session
 * stored in FILE and keeps the newest ticket there; with
 * --max-early-data N the first N bytes of --send go as 0-RTT data.
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
    "  --groups LIST       key exchange groups, in preference order (the key share\n"
    "                      goes for the first; default X25519MLKEM768 and X25519\n"
    "                      shares, the post-quantum hybrids listed first)\n"
    "  --require-pq        offer and accept only post-quantum groups\n"
    "                      (X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024,\n"
    "                      MLKEM768, MLKEM1024)\n"
    "  --ciphersuites LIST TLS 1.3 cipher suites, in preference order\n"
    "  --sigalgs LIST      signature schemes accepted from the server (and used\n"
    "                      with --cert)\n"
    "  --cert-compression LIST\n"
    "                      offer certificate compression (RFC 8879): zlib,\n"
    "                      brotli, zstd, in preference order (also used for\n"
    "                      --cert when the server offers it)\n"
    "  --cert FILE --key FILE\n"
    "                      a client certificate (chain, PEM) for servers that ask,\n"
    "                      in the handshake or after it (post_handshake_auth is\n"
    "                      offered)\n"
    "  --psk-identity ID --psk HEX\n"
    "                      offer an external PSK (16 to 64 bytes; the server needs\n"
    "                      no certificate then); --psk-hash sha256 (default) or\n"
    "                      sha384\n"
    "  --resume FILE       offer the session stored in FILE, if any, and store\n"
    "                      the newest ticket received there\n"
    "  --max-early-data N  with --resume and --send: send up to N bytes of TEXT as\n"
    "                      0-RTT early data when the session allows it (the rest,\n"
    "                      or all of it if the server refuses, after the handshake)\n"
    "  --keylog FILE       append NSS key log lines to FILE (or $SSLKEYLOGFILE)\n"
    "  --ech-config FILE|BASE64\n"
    "                      Encrypted ClientHello (RFC 9849): the ECHConfigList\n"
    "                      (binary file, a tern ech-keygen key file, or base64);\n"
    "                      the server name goes encrypted, the config's public\n"
    "                      name in the clear. Rejected: the server's\n"
    "                      retry_configs are printed and the client fails\n"
    "                      (ech_required)\n"
    "  --ech-retry         when ECH is rejected, connect once more with the\n"
    "                      server's retry_configs\n"
    "  --send TEXT         send TEXT (escapes \\r \\n \\t \\\\) instead of stdin\n"
    "  --key-update        send a KeyUpdate (asking the server to update too)\n"
    "  --ign-eof           when the input (or --send) ends, send no close_notify:\n"
    "                      wait for the server to close (for HTTP servers, and\n"
    "                      for post-handshake authentication, which a client that\n"
    "                      has closed cannot answer); --timeout bounds the wait\n"
    "  --timeout SECONDS   how long to wait for the server (default 10)\n"
    "  -q, --quiet         print only errors (and the data received)\n"
    "Negotiated parameters and notes go to stderr, received data to stdout.\n"
    "When the input ends the client sends close_notify and waits for the server's\n"
    "(at most --timeout).\n"
    "Exit codes: 0 done, 1 failed, 2 bad command line.\n";

typedef struct client {
  const char *resume_path;  /* where tickets go, or NULL */
  int tickets;              /* session tickets received */
  int ticket_save_failed;
  int quiet;
  int ign_eof;              /* the end of our input does not close */
  int key_update;           /* we asked the server to update its key */
  int data_seen;            /* application data has come */
  uint8_t ech_retry[4096];  /* the server's retry_configs, when ECH was rejected */
  size_t ech_retry_len;
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
  if (cl->resume_path == NULL) return;
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
static void offer_session(tern_conn *c, const char *path, int quiet) {
  uint8_t blob[TERN_SESSION_MAX_BYTES + 1];
  size_t len;
  int rc;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    if (errno != ENOENT)
      fprintf(stderr, PROG ": cannot read %s: %s; full handshake\n", path, strerror(errno));
    else if (!quiet)
      fprintf(stderr, PROG ": no session in %s yet; full handshake\n", path);
    return;
  }
  len = fread(blob, 1, sizeof blob, f);
  fclose(f);
  rc = len > TERN_SESSION_MAX_BYTES ? TERN_ERR_MALFORMED
                                    : tern_conn_set_session(c, blob, len, cli_clock_ms(NULL));
  if (rc == TERN_OK) {
    if (!quiet) fprintf(stderr, PROG ": offering the session stored in %s\n", path);
  } else
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
  client *cl = tern_conn_user(l->c);
  if (cl->key_update && !cl->data_seen && !cl->quiet) {
    /* RFC 8446 §4.6.3: the server updates before its next data */
    if (tern_tls_key_updates(l->c, TERN_READ) > 0)
      fprintf(stderr, PROG ": the server answered our KeyUpdate before its data\n");
    else
      fprintf(stderr, PROG ": note: data came before the server's KeyUpdate (it may have "
                      "been sent before ours arrived)\n");
  }
  cl->data_seen = 1;
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
  if (!((client *)tern_conn_user(l->c))->ign_eof) cli_link_close(l);
  return 0;
}

static const cli_app client_app = {on_data, on_input, NULL};

/* The command line, read and checked. */
typedef struct client_opts {
  const char *ca, *alpn, *servername, *cert, *key, *resume, *keylog, *send, *timeout_text;
  const char *groups, *suites, *sigalgs, *max_early_text, *cert_comp;
  const char *psk_identity, *psk, *psk_hash, *ech_config;
  cli_psk psk_key;
  int key_update, quiet, ign_eof, require_pq, ech_retry;
  uint8_t ech_list[4096];
  size_t ech_list_len;
  unsigned long timeout_s, max_early;
  cli_algorithms algs;
  char host[256];
  const char *port;
} client_opts;

/*
 * Reads and checks the command line into o. Returns 0, 1 when --help was
 * printed, or -1 after printing on one line what is wrong with it.
 */
static int client_options(int argc, char **argv, client_opts *o) {
  const char *target[1];
  size_t n_pos;
  int p;
  memset(o, 0, sizeof *o);
  const cli_opt opts[] = {
      {"ca", 0, &o->ca, NULL},
      {"alpn", 0, &o->alpn, NULL},
      {"servername", 0, &o->servername, NULL},
      {"groups", 0, &o->groups, NULL},
      {"require-pq", 0, NULL, &o->require_pq},
      {"ciphersuites", 0, &o->suites, NULL},
      {"sigalgs", 0, &o->sigalgs, NULL},
      {"cert-compression", 0, &o->cert_comp, NULL},
      {"cert", 0, &o->cert, NULL},
      {"key", 0, &o->key, NULL},
      {"resume", 0, &o->resume, NULL},
      {"max-early-data", 0, &o->max_early_text, NULL},
      {"keylog", 0, &o->keylog, NULL},
      {"psk-identity", 0, &o->psk_identity, NULL},
      {"psk", 0, &o->psk, NULL},
      {"psk-hash", 0, &o->psk_hash, NULL},
      {"ech-config", 0, &o->ech_config, NULL},
      {"ech-retry", 0, NULL, &o->ech_retry},
      {"send", 0, &o->send, NULL},
      {"timeout", 0, &o->timeout_text, NULL},
      {"key-update", 0, NULL, &o->key_update},
      {"ign-eof", 0, NULL, &o->ign_eof},
      {"quiet", 'q', NULL, &o->quiet},
      {NULL, 0, NULL, NULL},
  };
  p = cli_parse(PROG, argc, argv, opts, target, 1, &n_pos);
  if (p == 1) {
    fputs(usage, stdout);
    cli_print_algorithm_names(stdout);
    return 1;
  }
  if (p < 0) return -1;
  if (n_pos != 1) {
    fprintf(stderr, PROG ": which server? (tern client HOST[:PORT], see --help)\n");
    return -1;
  }
  if (split_target(target[0], o->host, sizeof o->host, &o->port) < 0) {
    fprintf(stderr, PROG ": \"%s\" is not HOST[:PORT]\n", target[0]);
    return -1;
  }
  o->timeout_s = 10;
  if ((o->timeout_text && cli_number(PROG, "timeout", o->timeout_text, 1, 3600, &o->timeout_s) < 0) ||
      (o->max_early_text &&
       cli_number(PROG, "max-early-data", o->max_early_text, 0, UINT32_MAX, &o->max_early) < 0))
    return -1;
  if (cli_algorithms_parse(PROG, o->groups, o->suites, o->sigalgs, &o->algs) < 0 ||
      cli_cert_compression(PROG, NULL, o->cert_comp) < 0)
    return -1;
  o->algs.require_pq = o->require_pq;
  if (cli_psk_parse(PROG, o->psk_identity, o->psk, o->psk_hash, &o->psk_key) < 0) return -1;
  if (!o->cert != !o->key) {
    fprintf(stderr, PROG ": --cert and --key go together\n");
    return -1;
  }
  if (o->ech_config &&
      cli_ech_config_list(PROG, o->ech_config, o->ech_list, sizeof o->ech_list,
                          &o->ech_list_len) < 0)
    return -1;
  if (o->ech_retry && !o->ech_config) {
    fprintf(stderr, PROG ": --ech-retry needs --ech-config\n");
    return -1;
  }
  if (o->max_early_text && (!o->resume || !o->send)) {
    fprintf(stderr, PROG ": --max-early-data needs --resume FILE and --send TEXT\n");
    return -1;
  }
  return 0;
}

/* The client configuration the options ask for, or NULL after printing
   why; *keylog receives the key log file to close after it. */
static tern_config *client_config(client_opts *o, FILE **keylog) {
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  const char *ca = o->ca ? o->ca : DEFAULT_CA_FILE;
  int rc;
  *keylog = NULL;
  if (cfg == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    return NULL;
  }
  if ((rc = tern_config_load_trust(cfg, ca, NULL)) != TERN_OK) {
    fprintf(stderr, PROG ": cannot load trust anchors from %s: %s\n", ca, tern_strerror(rc));
    goto fail;
  }
  if (o->cert) {
    if ((rc = tern_config_load_cert_files(cfg, o->cert, o->key)) != TERN_OK) {
      fprintf(stderr, PROG ": cannot load %s / %s: %s\n", o->cert, o->key, tern_strerror(rc));
      goto fail;
    }
    /* RFC 8446 §4.2.6: servers may then ask after the handshake too */
    tern_config_set_post_handshake_auth(cfg, 1);
  }
  if (o->alpn && cli_set_alpn(PROG, cfg, o->alpn) < 0) goto fail;
  if (cli_psk_apply(PROG, cfg, &o->psk_key) < 0) goto fail;
  if (cli_algorithms_apply(PROG, cfg, &o->algs, TERN_CLIENT) < 0) goto fail;
  if (cli_cert_compression(PROG, cfg, o->cert_comp) < 0) goto fail;
  tern_config_set_clock(cfg, cli_clock_ms, NULL);
  /* tickets are counted always, stored with --resume */
  tern_config_set_new_session_callback(cfg, on_session, NULL);
  if (o->max_early) tern_config_set_early_data(cfg, (uint32_t)o->max_early, 0);
  if (cli_keylog(PROG, cfg, o->keylog, keylog) < 0) goto fail;
  return cfg;
fail:
  tern_config_free(cfg);
  return NULL;
}

/* What --send says, unescaped, and how much of it went as early data. */
typedef struct client_text {
  char *data;
  size_t len, early;
} client_text;

/* Writes text[from ..) as application data. Returns 0 or -1. */
static int send_text(cli_link *l, const client_text *t, size_t from) {
  int rc = from < t->len ? tern_tls_write(l->c, (const uint8_t *)t->data + from, t->len - from)
                         : TERN_OK;
  if (rc != TERN_OK) {
    cli_report(PROG, "write", l->c, rc);
    return -1;
  }
  l->bytes_out += t->len - from;
  return 0;
}

/*
 * Before the handshake's end, with a session that allows 0-RTT: the first
 * --max-early-data bytes of --send (as far as the ticket allows) go under
 * the early keys. Returns 0 or -1.
 */
static int send_early(cli_link *l, const client_opts *o, client_text *t) {
  uint32_t allowed = tern_conn_early_data_max(l->c);
  size_t n = t->len;
  int rc;
  if (o->max_early == 0 || tern_conn_early_data_status(l->c) != TERN_EARLY_DATA_OFFERED) return 0;
  if (n > o->max_early) n = o->max_early;
  if (n > allowed) n = allowed;
  if (n == 0) return 0;
  if ((rc = tern_tls_write(l->c, (const uint8_t *)t->data, n)) != TERN_OK) {
    cli_report(PROG, "early data", l->c, rc);
    return -1;
  }
  t->early = n;
  if (!o->quiet)
    fprintf(stderr, PROG ": sending %zu bytes as early data (the ticket allows %u)\n", n, allowed);
  return 0;
}

/* After the handshake: the summary, --key-update, --send or stdin, then
   the conversation until it ends. Returns 0 or -1. */
static int converse(cli_link *l, const client_opts *o, const client_text *t, const char *peer) {
  client *cl = tern_conn_user(l->c);
  int rc;
  if (!o->quiet) {
    cli_summary s;
    cli_summarize(l->c, &s);
    fprintf(stderr, PROG ": connected to %s\n", peer);
    cli_print_summary(stderr, "  ", &s, "server certificate");
  }
  if (o->key_update) {
    if ((rc = tern_tls_key_update(l->c, 1)) != TERN_OK) {
      cli_report(PROG, "KeyUpdate", l->c, rc);
      return -1;
    }
    cl->key_update = 1;
    if (!o->quiet) fprintf(stderr, PROG ": sent KeyUpdate (update_requested)\n");
  }
  if (t->data) {
    size_t from = 0;
    if (t->early && tern_conn_early_data_status(l->c) == TERN_EARLY_DATA_ACCEPTED) {
      from = t->early;
      l->bytes_out += t->early;
      if (!o->quiet) fprintf(stderr, PROG ": the server accepted %zu bytes of early data\n", from);
    } else if (t->early && !o->quiet) {
      fprintf(stderr, PROG ": the server refused the early data; sending it again\n");
    }
    if (send_text(l, t, from) < 0) return -1;
    if (!o->ign_eof) cli_link_close(l);
  } else {
    l->input_fd = 0;
  }
  /* waiting for the server to close: as long as it is not idle too long */
  if (o->ign_eof) l->idle_ms = (int)o->timeout_s * 1000;
  return cli_link_run(l);
}

/* Connects and runs the whole connection on cfg. Returns 0 or -1. */
static int run_client(tern_config *cfg, const client_opts *o, client *cl) {
  client_text text = {NULL, 0, 0};
  char peer[128] = "?";
  const char *name = o->servername ? o->servername : o->host;
  int timeout_ms = (int)o->timeout_s * 1000, fd, rc, result = -1;
  tern_conn *c = NULL;
  cli_link *l = NULL;
  if (o->send) {
    if ((text.data = malloc(strlen(o->send) + 1)) == NULL) {
      fprintf(stderr, PROG ": out of memory\n");
      return -1;
    }
    text.len = unescape(o->send, text.data);
  }
  if ((fd = connect_to(o->host, o->port, timeout_ms, peer, sizeof peer)) < 0) goto out;
  c = tern_conn_new_tls(cfg, cl);
  l = malloc(sizeof *l);
  if (c == NULL || l == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    goto out_fd;
  }
  if (tern_conn_set_server_name(c, name) != TERN_OK) {
    fprintf(stderr, PROG ": bad server name \"%s\"\n", name);
    goto out_fd;
  }
  if (o->ech_list_len && (rc = tern_conn_set_ech_config_list(c, o->ech_list, o->ech_list_len)) !=
                             TERN_OK) {
    fprintf(stderr, PROG ": --ech-config: %s\n", tern_strerror(rc));
    goto out_fd;
  }
  if (o->resume) offer_session(c, o->resume, o->quiet);
  cli_link_init(l, PROG, fd, c);
  l->app = &client_app;
  l->close_wait_ms = timeout_ms;
  if ((rc = tern_handshake(c)) < 0) {
    cli_report(PROG, "handshake", c, rc);
    goto out_fd;
  }
  if (send_early(l, o, &text) < 0) goto out_fd;
  if (cli_link_handshake(l, timeout_ms) == 0 && converse(l, o, &text, peer) == 0) {
    result = 0;
    if (!o->quiet) {
      unsigned ku_in = tern_tls_key_updates(c, TERN_READ), ku_out = tern_tls_key_updates(c, TERN_WRITE);
      if (l->truncated)
        fprintf(stderr, PROG ": note: the server closed the TCP connection without close_notify\n");
      if (ku_in || ku_out)
        fprintf(stderr, PROG ": KeyUpdate: %u sent, %u received\n", ku_out, ku_in);
      fprintf(stderr, PROG ": connection closed (%llu bytes sent, %llu received)\n",
              (unsigned long long)l->bytes_out, (unsigned long long)l->bytes_in);
    }
  }
out_fd:
  close(fd);
  if (c != NULL && result != 0 && tern_conn_ech_status(c) == TERN_ECH_REJECTED) {
    const uint8_t *list;
    size_t len;
    if (tern_conn_ech_retry_configs(c, &list, &len) == TERN_OK && len <= sizeof cl->ech_retry) {
      memcpy(cl->ech_retry, list, len);
      cl->ech_retry_len = len;
      cli_ech_print_list(stderr, PROG, list, len);
    } else {
      fprintf(stderr, PROG ": ECH rejected and no retry_configs sent\n");
    }
  }
out:
  free(l);
  tern_conn_free(c);
  free(text.data);
  return result;
}

int cli_client_main(int argc, char **argv) {
  client_opts o;
  client cl;
  FILE *keylog = NULL;
  tern_config *cfg;
  int result;
  int p = client_options(argc, argv, &o);
  if (p != 0) return p > 0 ? 0 : CLI_EXIT_USAGE;
  memset(&cl, 0, sizeof cl);
  cl.resume_path = o.resume;
  cl.quiet = o.quiet;
  cl.ign_eof = o.ign_eof;
  if ((cfg = client_config(&o, &keylog)) == NULL) return 1;
  result = run_client(cfg, &o, &cl) == 0 ? 0 : 1;
  if (result != 0 && o.ech_retry && cl.ech_retry_len) {
    /* RFC 9849 §6.1.6: one more connection with the server's configs */
    if (!o.quiet) fprintf(stderr, PROG ": retrying with the server's retry_configs\n");
    memcpy(o.ech_list, cl.ech_retry, cl.ech_retry_len);
    o.ech_list_len = cl.ech_retry_len;
    cl.ech_retry_len = 0;
    result = run_client(cfg, &o, &cl) == 0 ? 0 : 1;
  }
  if (!o.quiet && cl.tickets) {
    if (o.resume)
      fprintf(stderr, PROG ": %d session ticket%s received; the newest %s %s\n", cl.tickets,
              cl.tickets == 1 ? "" : "s",
              cl.ticket_save_failed ? "could not be saved to" : "saved to", o.resume);
    else
      fprintf(stderr, PROG ": %d session ticket%s received\n", cl.tickets,
              cl.tickets == 1 ? "" : "s");
  }
  tern_config_free(cfg);
  if (keylog) fclose(keylog);
  return result;
}
