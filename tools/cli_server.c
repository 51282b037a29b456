/*
 * cli_server.c - `tern server`: the command line and the configuration.
 * It listens on 127.0.0.1 and ::1, serves many TLS 1.3 connections at
 * once on --workers event loops (cli_serve.c), prints what each
 * negotiated, and echoes what it receives, or with --www answers HTTP
 * GETs with a page of the negotiated parameters (cli_www.c). The
 * configuration has a clock, so every handshake is followed by session
 * tickets; it is made once and shared by every worker.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "tern server"

static const char usage[] =
    "usage: tern server --cert FILE --key FILE [options]\n"
    "       tern server --no-cert --psk-identity ID --psk HEX [options]\n"
    "  --cert FILE             certificate chain, PEM, leaf first\n"
    "  --key FILE              its private key, PEM\n"
    "  --port P                port on 127.0.0.1 and ::1 (default 4433; 0: any free\n"
    "                          port, printed)\n"
    "  --www                   answer HTTP GETs with a page of what was negotiated, in\n"
    "                          the request's version: HTTP/1.1 keeps the connection\n"
    "                          open (until Connection: close), HTTP/1.0 closes it\n"
    "                          (unless Connection: keep-alive) with close_notify\n"
    "                          (default: echo what the client sends)\n"
    "  --alpn a,b              application protocols accepted, in preference order\n"
    "                          (with --www the default is http/1.1)\n"
    "  --groups LIST           key exchange groups, in preference order (default:\n"
    "                          the post-quantum hybrids X25519MLKEM768,\n"
    "                          SecP256r1MLKEM768, SecP384r1MLKEM1024 first, a\n"
    "                          client's classical share taken without a retry)\n"
    "  --require-pq            post-quantum groups only: a HelloRetryRequest for\n"
    "                          a hybrid the client lists without a share, else\n"
    "                          handshake_failure\n"
    "  --ciphersuites LIST     TLS 1.3 cipher suites, in preference order\n"
    "  --sigalgs LIST          signature schemes to sign with and accept\n"
    "  --cert-compression LIST send the certificate compressed (RFC 8879) with the\n"
    "                          first of zlib, brotli, zstd the client offers\n"
    "                          (also offered for client certificates)\n"
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
    "  --ech-key FILE[,FILE]   Encrypted ClientHello (RFC 9849) with these keys (from\n"
    "                          tern ech-keygen): the first is current (its config is\n"
    "                          sent in retry_configs), the others previous ones\n"
    "                          still accepted\n"
    "  --workers N             event loops (threads) sharing the port, the configuration\n"
    "                          and the ticket keys (default: the number of CPUs)\n"
    "  --handshake-timeout T   time from accept to the end of the handshake (10s)\n"
    "  --idle-timeout T        an open connection with nothing answered, echoed or sent\n"
    "                          for T is closed (60s)\n"
    "  --max-conns N           open connections, all workers together; more are closed\n"
    "                          at once (10000)\n"
    "  --max-buffer BYTES      bytes waiting for a client that does not read, beyond\n"
    "                          which the server stops reading from it (262144)\n"
    "  --grace T               after SIGTERM/SIGINT: how long handshakes and requests\n"
    "                          under way may go on before the rest is closed (5s)\n"
    "                          T: seconds, or with a unit: 500ms, 2s\n"
    "  --redis HOST:PORT|unix:/PATH\n"
    "                          share with a fleet through this Redis: single use of\n"
    "                          tickets and 0-RTT anti-replay (SET NX), and with\n"
    "                          --redis-rotate, the ticket keys; the password, if any,\n"
    "                          from $TERN_REDIS_PASSWORD. Redis unreachable or late:\n"
    "                          0-RTT refused, handshakes and resumption go on\n"
    "  --redis-rotate SECONDS  ticket key period shared by the fleet (default 0: each\n"
    "                          server keeps its own keys)\n"
    "  --redis-timeout MS      the longest one Redis call may take (default 50)\n"
    "  --redis-prefix P        prefix of the Redis keys (default tern:)\n"
    "  --once                  serve one connection and exit with its result (1 worker)\n"
    "  -q, --quiet             print only the listening line, errors and the summary\n"
    "SIGTERM or SIGINT: stop accepting, finish what is under way (up to --grace),\n"
    "send close_notify, print a summary line, exit 0.\n"
    "Exit codes: 0 done, 1 failed, 2 bad command line.\n";

/* The defaults of the limits. */
#define HANDSHAKE_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS 60000
#define GRACE_MS 5000
#define MAX_CONNS 10000
#define MAX_BUFFER (256 * 1024)
#define MAX_WORKERS 256
#define EARLY_DATA_WINDOW_MS 10000
#define MAX_TICKETS 10

/* The command line, read and checked. */
typedef struct server_opts {
  const char *cert, *key, *port_text, *alpn, *client_ca, *keylog;
  const char *psk_identity, *psk, *psk_hash, *ech_key;
  cli_psk psk_key;
  int no_cert;
  const char *groups, *suites, *sigalgs, *num_tickets_text, *max_early_text, *cert_comp;
  const char *workers_text, *hs_timeout_text, *idle_text, *max_conns_text, *max_buffer_text,
      *grace_text;
  int www, once, quiet, verify_client, request_client_cert, require_pq;
  unsigned long port, num_tickets, max_early, workers, max_conns, max_buffer;
  unsigned hs_timeout_ms, idle_ms, grace_ms;
  cli_algorithms algs;
  cli_www_settings www_settings;
  const char *redis, *redis_rotate_text, *redis_timeout_text, *redis_prefix;
  unsigned long redis_rotate, redis_timeout;
} server_opts;

/* ---- the command line and the configuration ------------------------ */

/*
 * Reads a duration of option --opt: seconds ("10"), or with a unit
 * ("500ms", "2s"), from 1 ms to a day. Returns 0, or -1 after printing
 * what is wrong.
 */
static int duration_ms(const char *opt, const char *text, unsigned *out) {
  unsigned long v = 0, scale = 1000;
  const char *p = text;
  for (; *p >= '0' && *p <= '9' && v <= 86400000ul; p++) v = v * 10 + (unsigned long)(*p - '0');
  if (strcmp(p, "ms") == 0) scale = 1;
  else if (strcmp(p, "s") != 0 && *p != '\0') p = text; /* not a duration */
  if (p == text || v * scale == 0 || v * scale > 86400000ul) {
    fprintf(stderr, PROG ": --%s: \"%s\" is not a duration from 1ms to 86400s\n", opt, text);
    return -1;
  }
  *out = (unsigned)(v * scale);
  return 0;
}

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
      {"require-pq", 0, NULL, &o->require_pq},
      {"ciphersuites", 0, &o->suites, NULL},
      {"sigalgs", 0, &o->sigalgs, NULL},
      {"cert-compression", 0, &o->cert_comp, NULL},
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
      {"ech-key", 0, &o->ech_key, NULL},
      {"no-cert", 0, NULL, &o->no_cert},
      {"www", 0, NULL, &o->www},
      {"once", 0, NULL, &o->once},
      {"workers", 0, &o->workers_text, NULL},
      {"handshake-timeout", 0, &o->hs_timeout_text, NULL},
      {"idle-timeout", 0, &o->idle_text, NULL},
      {"max-conns", 0, &o->max_conns_text, NULL},
      {"max-buffer", 0, &o->max_buffer_text, NULL},
      {"grace", 0, &o->grace_text, NULL},
      {"redis", 0, &o->redis, NULL},
      {"redis-rotate", 0, &o->redis_rotate_text, NULL},
      {"redis-timeout", 0, &o->redis_timeout_text, NULL},
      {"redis-prefix", 0, &o->redis_prefix, NULL},
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
  o->hs_timeout_ms = HANDSHAKE_TIMEOUT_MS;
  o->idle_ms = IDLE_TIMEOUT_MS;
  o->grace_ms = GRACE_MS;
  o->max_conns = MAX_CONNS;
  o->max_buffer = MAX_BUFFER;
  {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->workers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (unsigned long)cpus;
  }
  if (o->no_cert ? o->cert || o->key || !o->psk : !o->cert || !o->key) {
    fprintf(stderr, o->no_cert ? PROG ": --no-cert takes no --cert or --key, and needs --psk\n"
                               : PROG ": --cert and --key are required (see --help)\n");
    return -1;
  }
  if ((o->port_text && cli_number(PROG, "port", o->port_text, 0, 65535, &o->port) < 0) ||
      (o->num_tickets_text &&
       cli_number(PROG, "num-tickets", o->num_tickets_text, 0, MAX_TICKETS, &o->num_tickets) < 0) ||
      (o->max_early_text &&
       cli_number(PROG, "max-early-data", o->max_early_text, 0, UINT32_MAX, &o->max_early) < 0) ||
      (o->workers_text &&
       cli_number(PROG, "workers", o->workers_text, 1, MAX_WORKERS, &o->workers) < 0) ||
      (o->max_conns_text &&
       cli_number(PROG, "max-conns", o->max_conns_text, 1, 1000000, &o->max_conns) < 0) ||
      (o->max_buffer_text &&
       cli_number(PROG, "max-buffer", o->max_buffer_text, 16384, 1ul << 30, &o->max_buffer) < 0) ||
      (o->hs_timeout_text && duration_ms("handshake-timeout", o->hs_timeout_text,
                                         &o->hs_timeout_ms) < 0) ||
      (o->idle_text && duration_ms("idle-timeout", o->idle_text, &o->idle_ms) < 0) ||
      (o->grace_text && duration_ms("grace", o->grace_text, &o->grace_ms) < 0))
    return -1;
  o->redis_timeout = 50;
  if ((o->redis_rotate_text &&
       cli_number(PROG, "redis-rotate", o->redis_rotate_text, 1, 7 * 86400, &o->redis_rotate) <
           0) ||
      (o->redis_timeout_text &&
       cli_number(PROG, "redis-timeout", o->redis_timeout_text, 1, 60000, &o->redis_timeout) <
           0))
    return -1;
  if (!o->redis && (o->redis_rotate_text || o->redis_timeout_text || o->redis_prefix)) {
    fprintf(stderr, PROG ": --redis-rotate, --redis-timeout and --redis-prefix need --redis\n");
    return -1;
  }
  if (o->once && o->workers_text && o->workers > 1) {
    fprintf(stderr, PROG ": --once serves one connection: it takes no --workers\n");
    return -1;
  }
  if (o->once) o->workers = 1;
  if (cli_algorithms_parse(PROG, o->groups, o->suites, o->sigalgs, &o->algs) < 0 ||
      cli_cert_compression(PROG, NULL, o->cert_comp) < 0)
    return -1;
  o->algs.require_pq = o->require_pq;
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
  if (cli_cert_compression(PROG, cfg, o->cert_comp) < 0) goto fail;
  if (client_auth_config(cfg, o) < 0) goto fail;
  if (o->ech_key && cli_ech_load_keys(PROG, cfg, o->ech_key) < 0) goto fail;
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
  cli_serve_opts so;
  FILE *keylog = NULL;
  tern_config *cfg;
  int result;
  int p = server_options(argc, argv, &o);
  if (p != 0) return p > 0 ? 0 : CLI_EXIT_USAGE;
  if ((cfg = server_config(&o, &keylog)) == NULL) return 1;
  cli_redis *redis = NULL;
  if (o.redis) {
    cli_redis_opts ro = {o.redis, o.redis_prefix, (unsigned)o.redis_rotate,
                         (unsigned)o.redis_timeout, EARLY_DATA_WINDOW_MS, (unsigned)o.workers};
    if (cli_redis_start(PROG, &ro, cfg, &redis) < 0) {
      tern_config_free(cfg);
      if (keylog) fclose(keylog);
      return 1;
    }
  }
  memset(&so, 0, sizeof so);
  so.cfg = cfg;
  so.www = o.www;
  so.quiet = o.quiet;
  so.once = o.once;
  so.www_settings = &o.www_settings;
  so.workers = (unsigned)o.workers;
  so.port = (unsigned)o.port;
  so.limits.handshake_ms = o.hs_timeout_ms;
  so.limits.idle_ms = o.idle_ms;
  so.limits.grace_ms = o.grace_ms;
  so.limits.max_conns = (unsigned)o.max_conns;
  so.limits.max_buffer = o.max_buffer;
  result = cli_serve(&so);
  cli_redis_stop(redis);
  tern_config_free(cfg);
  if (keylog) fclose(keylog);
  return result;
}
