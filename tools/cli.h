/*
 * cli.h - `tern client` and `tern server`: TLS 1.3 over TCP with tern,
 * the sockets owned here (tern itself does no I/O).
 *
 * cli_client.c and cli_server.c hold the two commands; cli_common.c the
 * parts they share: option parsing, algorithm names, the key log, the
 * clock, the summary of what was negotiated, failure reports, and the
 * socket loop that moves bytes between a socket and tern_tls_feed /
 * tern_tls_output; cli_www.c the HTTP side of `tern server --www`, on a
 * tern_conn alone (no socket), so an event loop serving many connections
 * can use it as it is. Nothing here keeps per-connection state in globals.
 */
#ifndef TERN_TOOLS_CLI_H
#define TERN_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <tern.h>

/* The two commands; argv[0] is the command name. Return the exit code:
   0 done, 1 failed, CLI_EXIT_USAGE for a bad command line. */
int cli_client_main(int argc, char **argv);
int cli_server_main(int argc, char **argv);
/* `tern ech-keygen` (cli_ech.c), the same way. */
int cli_ech_keygen_main(int argc, char **argv);

/* ---- Encrypted ClientHello (cli_ech.c) ------------------------------ */

/* Loads the comma-separated key files of --ech-key into cfg (the first
   one's config in retry_configs, the others accepted only). Returns 0, or
   -1 after printing why. */
int cli_ech_load_keys(const char *prog, tern_config *cfg, const char *files);
/* The ECHConfigList of --ech-config: a file (binary, or a key file's
   ECHCONFIG block) or base64 text. Returns 0, or -1 after printing why. */
int cli_ech_config_list(const char *prog, const char *arg, uint8_t *out, size_t cap,
                        size_t *len);
/* Prints retry_configs in base64. */
void cli_ech_print_list(FILE *f, const char *prog, const uint8_t *list, size_t len);

#define CLI_EXIT_USAGE 2

/* ---- options ------------------------------------------------------- */

/* One option: --name (and -letter when letter is not 0), with a value
   (value != NULL) or a switch (flag). */
typedef struct cli_opt {
  const char *name;      /* without the leading "--" */
  char letter;           /* the one-letter form ("-q"), or 0 */
  const char **value;    /* receives the value of "--name V" or "--name=V" */
  int *flag;             /* set to 1 by "--name" */
} cli_opt;

/*
 * cli_parse reads argv[1..argc) against opts (ended by a NULL name); the
 * other words go to positional (at most max_pos). Returns 0, 1 for -h or
 * --help, or -1 after printing on one line what was wrong (an unknown
 * option, a missing value, a value given to a switch, an extra word).
 */
int cli_parse(const char *prog, int argc, char **argv, const cli_opt *opts,
              const char **positional, size_t max_pos, size_t *n_pos);

/*
 * cli_number reads a decimal count text (digits only) of option --opt
 * into *out, which must be from min to max. Returns 0, or -1 after
 * printing on one line what was wrong.
 */
int cli_number(const char *prog, const char *opt, const char *text, unsigned long min,
               unsigned long max, unsigned long *out);

/* ---- algorithms, by name ------------------------------------------- */

#define CLI_MAX_ALGS 32

/* The --groups, --ciphersuites and --sigalgs lists, as IANA codes
   (n 0: the option was not given, tern's defaults stay). */
typedef struct cli_algorithms {
  uint16_t groups[CLI_MAX_ALGS], suites[CLI_MAX_ALGS], sigalgs[CLI_MAX_ALGS];
  size_t n_groups, n_suites, n_sigalgs;
  int require_pq;   /* --require-pq: post-quantum groups only */
} cli_algorithms;

/*
 * cli_algorithms_parse reads the three lists (each NULL when not given):
 * names as tern_*_from_name knows them (OpenSSL's spellings), separated
 * by ':' or ','. Returns 0, or -1 after printing on one line the name tern
 * does not know (with the names it knows), an empty item or a repeat.
 */
int cli_algorithms_parse(const char *prog, const char *groups, const char *suites,
                         const char *sigalgs, cli_algorithms *out);

/*
 * cli_algorithms_apply sets the lists given on cfg. A client sends its
 * key share for the first group of its list. Returns 0, or -1 after
 * printing why.
 */
int cli_algorithms_apply(const char *prog, tern_config *cfg, const cli_algorithms *a,
                         tern_role role);

/* Prints the names tern knows for --groups, --ciphersuites, --sigalgs,
   as the end of a --help text. */
void cli_print_algorithm_names(FILE *f);

/*
 * cli_cert_compression applies --cert-compression TEXT to cfg: a list of
 * zlib, brotli, zstd (':' or ','), in preference order, or "none". NULL
 * text leaves cfg alone; a NULL cfg only checks the text (for the
 * command-line stage). Returns 0, or -1 after printing why (an unknown
 * or repeated name, an algorithm this build of tern lacks).
 */
int cli_cert_compression(const char *prog, tern_config *cfg, const char *text);

/* ---- configuration ------------------------------------------------- */

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): the tern_clock_fn of
   both commands, the same across runs so that stored sessions age. */
uint64_t cli_clock_ms(void *user);

/* Sets the ALPN list from "a,b,c". Returns 0, or -1 after printing why. */
int cli_set_alpn(const char *prog, tern_config *cfg, const char *list);

/*
 * Appends NSS key log lines to path, or to $SSLKEYLOGFILE when path is
 * NULL (nothing when neither is set). The file is created mode 0600 and
 * *file receives it (NULL when none), for the caller to fclose once cfg
 * is freed. Returns 0, or -1 after printing why.
 */
int cli_keylog(const char *prog, tern_config *cfg, const char *path, FILE **file);

/* ---- what was negotiated ------------------------------------------- */

/* The parameters of a finished handshake, as text ("-" for none). */
typedef struct cli_summary {
  const char *suite, *group, *sigalg, *alpn, *server_name;
  char psk_identity[130];  /* the external PSK the handshake used, or "-" */
  const char *early_data;  /* "accepted", "rejected" or "-" */
  const char *cert_comp_sent, *cert_comp_recv; /* RFC 8879 algorithm, or "-" */
  int resumed, hrr;
  const char *ech;         /* "accepted", "rejected" or "-" */
  const char *ech_outer;   /* server: the outer hello's name, or "-" */
  char peer_subject[512];  /* the peer certificate's subject, or "-" */
  char peer_issuer[512];
} cli_summary;

void cli_summarize(const tern_conn *c, cli_summary *s);

/* The name of a certificate compression algorithm ("zlib", "brotli",
   "zstd"), or "-" for 0 and unknown codes. */
const char *cli_cert_compression_name(uint16_t alg);

/* An external PSK from the command line. */
typedef struct cli_psk {
  int set;
  const char *identity;
  uint8_t key[TERN_PSK_MAX_KEY];
  size_t key_len;
  tern_psk_hash hash;
} cli_psk;

/*
 * Reads --psk-identity ID --psk HEX [--psk-hash sha256|sha384] into *out
 * (out->set 0 when none was given). Both or neither of identity and hex;
 * a key of 16 to 64 bytes. Returns 0, or -1 after printing on one line
 * what is wrong.
 */
int cli_psk_parse(const char *prog, const char *identity, const char *hex, const char *hash,
                  cli_psk *out);

/* Adds *p (when set) to cfg and wipes its key. Returns 0, or -1 after
   printing why. */
int cli_psk_apply(const char *prog, tern_config *cfg, cli_psk *p);

/* Prints the summary, one "  name  value" line each, every line led by
   indent. peer_label names the certificate ("server certificate", ...). */
void cli_print_summary(FILE *f, const char *indent, const cli_summary *s,
                       const char *peer_label);

/* ---- failures ------------------------------------------------------ */

/*
 * Prints "PROG: WHAT failed: alert NAME (N): REASON" (or the error's
 * sentence when there was no alert) on one line.
 */
void cli_report(const char *prog, const char *what, const tern_conn *c, int rc);

/* ---- the socket loop ----------------------------------------------- */

/* Received bytes tern has not taken yet (it stops taking input while
   64 KiB of application data wait unread). */
#define CLI_IN_CAP 32768
/* Bytes waiting for the socket beyond which no more application data is
   read out of tern (or from stdin): back-pressure. */
#define CLI_OUT_HIGH (256 * 1024)

struct cli_link;

/* What the application does with a connection, once it is established. */
typedef struct cli_app {
  /* Application data received. May call tern_tls_write / tern_tls_close
     and cli_link_finish. Returns 0, or -1 to fail (after printing why). */
  int (*on_data)(struct cli_link *l, const uint8_t *p, size_t n);
  /* input_fd became readable (or hung up). Same return convention. */
  int (*on_input)(struct cli_link *l);
  /* Called after received bytes went to tern (handshake messages after
     the handshake, e.g. a post-handshake Certificate, change no data);
     may be NULL. Same return convention. */
  int (*on_progress)(struct cli_link *l);
} cli_app;

typedef struct cli_link {
  const char *prog;      /* for messages: "tern client", ... */
  int fd;                /* the connected socket, non-blocking */
  tern_conn *c;
  uint8_t in[CLI_IN_CAP];
  size_t in_len;         /* in[0 .. in_len) received, not yet taken by tern */
  int sock_eof;          /* the peer shut its side of the TCP connection */
  int input_fd;          /* an extra input to poll (stdin), or -1 */
  int finishing;         /* end once the output is sent (no close_notify awaited) */
  uint64_t closed_at;    /* when cli_link_close queued our close_notify, or 0 */
  int close_wait_ms;     /* after our close_notify: how long to await the peer's */
  int idle_ms;           /* -1, or how long the connection may sit idle */
  int truncated;         /* the TCP connection ended without close_notify */
  uint64_t bytes_in, bytes_out; /* application data */
  const cli_app *app;
  void *user;
} cli_link;

/* Sets up a link around a connected socket (made non-blocking here). */
void cli_link_init(cli_link *l, const char *prog, int fd, tern_conn *c);

/*
 * Runs the handshake: a client's first flight, then bytes both ways until
 * tern says it is done. timeout_ms bounds each wait for the peer.
 * Returns 0, or -1 after sending any alert and printing why.
 */
int cli_link_handshake(cli_link *l, int timeout_ms);

/*
 * Runs an established connection until it ends: the peer's close_notify
 * (answered with ours), our close_notify answered by the peer's (or
 * close_wait_ms spent), `finishing` with everything sent, or the TCP
 * connection's end. Returns 0, or -1 after printing why.
 */
int cli_link_run(cli_link *l);

/* Queues close_notify; the link ends once it is sent, without waiting for
   the peer's (a server that answered an HTTP request). */
void cli_link_finish(cli_link *l);

/* Queues close_notify (TLS 1.3 closes one direction, RFC 8446 §6.1): the
   link goes on reading until the peer's close_notify, or close_wait_ms. */
void cli_link_close(cli_link *l);

/* Sends what tern has for the peer, waiting at most timeout_ms. Returns 0
   when all went out. */
int cli_link_flush(cli_link *l, int timeout_ms);

/* Formats a socket address as "1.2.3.4:5" or "[::1]:5". */
void cli_addr_string(const void *sockaddr, char *out, size_t cap);

/* ---- tern server --www: HTTP/1.1 and HTTP/1.0 ------------------------ */

/* A request head larger than this is answered with 431. */
#define CLI_WWW_MAX_REQUEST 8192

/* What --www answers, for every connection of a server. */
typedef struct cli_www_settings {
  const char *pha_path;  /* paths under this prefix need a client certificate,
                            asked for after the handshake; or NULL */
} cli_www_settings;

typedef enum cli_www_state {
  CLI_WWW_READING = 0,   /* the request head is not complete */
  CLI_WWW_AUTHENTICATING,/* a post-handshake CertificateRequest is out */
  CLI_WWW_ANSWERED       /* the response is queued (and close_notify,
                            unless keep_alive) */
} cli_www_state;

/* One connection's requests and answers. Zero it to start. */
typedef struct cli_www {
  cli_www_state state;
  char request[CLI_WWW_MAX_REQUEST + 1];
  size_t request_len;    /* bytes received: the head, then what follows it */
  size_t head_len;       /* the head being answered: request[0 .. head_len) */
  int minor;             /* the request's HTTP/1.x version: 0 or 1 */
  int keep_alive;        /* the answer leaves the connection open */
  int last;              /* set by the server: answer with `Connection:
                            close` whatever the client asked (stopping) */
  unsigned answered;     /* requests answered on this connection */
  unsigned auths_before; /* tern_tls_client_auths_completed when we asked */
  int status;            /* the status sent (200, 403, ...), once answered */
  char note[128];        /* why, in a few words, for the server's log */
  size_t bytes_out;      /* what the answers wrote (heads and bodies) */
} cli_www;

/*
 * cli_www_data takes request bytes received on c (after its handshake):
 * at most cli_www_room(w) of them are kept. Once a head is complete it
 * answers, in the request's version: a GET or HEAD with a page of what c
 * negotiated (200), in one record, then close_notify unless the
 * connection stays open (HTTP/1.1 without `Connection: close`, HTTP/1.0
 * with `Connection: keep-alive`); 400, 405 and 431 always close. A path
 * under pha_path without a client certificate first asks for one
 * (tern_tls_request_client_auth) and answers once the client did
 * (cli_www_progress), 403 without one. Returns 0, or a tern error code
 * of a write (the connection has failed).
 */
int cli_www_data(cli_www *w, tern_conn *c, const cli_www_settings *s, const uint8_t *p,
                 size_t n);

/* How many more request bytes cli_www_data keeps now (0 while an answer
   is pending: call cli_www_next first). */
size_t cli_www_room(const cli_www *w);

/* After an answer that keeps the connection open: starts the next
   request with the bytes that followed the last head (pipelining), and
   answers it at once when it is complete. Returns 0 or a tern error code. */
int cli_www_next(cli_www *w, tern_conn *c, const cli_www_settings *s);

/* cli_www_progress answers a request waiting for the client's certificate
   once tern says the exchange is over (or the client closed its side
   without answering: 403). Returns 0 or a tern error code. */
int cli_www_progress(cli_www *w, tern_conn *c);

/* The request line, for the log ("GET / HTTP/1.1"), up to its end. */
size_t cli_www_request_line(const cli_www *w, const char **line);

/* 1 between requests: nothing of a next request has arrived. */
int cli_www_idle(const cli_www *w);

/* ---- tern server's event loop (cli_serve.c) ------------------------- */

/* The limits of a server, each an option of `tern server`. */
typedef struct cli_serve_limits {
  unsigned handshake_ms;   /* from accept to the end of the handshake */
  unsigned idle_ms;        /* an open connection with no request answered,
                              no data echoed and no byte sent */
  unsigned grace_ms;       /* after SIGTERM/SIGINT: how long work under way
                              may go on */
  unsigned max_conns;      /* open connections, all workers together;
                              beyond it new ones are closed at once */
  size_t max_buffer;       /* bytes waiting for a peer that does not read,
                              beyond which the server stops reading it */
} cli_serve_limits;

/* What cli_serve runs. */
typedef struct cli_serve_opts {
  tern_config *cfg;        /* shared by every worker */
  int www, quiet, once;
  const cli_www_settings *www_settings;
  unsigned workers;        /* event loops (threads), each with listening
                              sockets of its own on the same port
                              (SO_REUSEPORT) */
  unsigned port;           /* 0: any free port */
  cli_serve_limits limits;
} cli_serve_opts;

/*
 * cli_serve listens on 127.0.0.1 and ::1 and serves until SIGTERM or
 * SIGINT (or, with once, the end of the first connection): every worker
 * runs a non-blocking epoll loop in which each connection is a small
 * state object moved along by readiness and deadlines. On a signal it
 * stops accepting, lets handshakes and requests under way finish within
 * grace_ms, sends close_notify, and prints one summary line. Returns the
 * exit code: 0, or with once the connection's result (0 or 1).
 */
int cli_serve(const cli_serve_opts *o);

/* ---- a fleet through Redis (cli_redis.c; libtern_redis) ---- */

/* What --redis, --redis-prefix, --redis-rotate, --redis-timeout say. */
typedef struct cli_redis_opts {
  const char *address;  /* HOST:PORT or unix:/PATH */
  const char *prefix;   /* NULL: the adapter's default */
  unsigned rotate_s;    /* 0: no shared ticket keys */
  unsigned timeout_ms;  /* per call */
  unsigned window_ms;   /* the configuration's 0-RTT freshness window */
  unsigned threads;     /* threads that handshake on the configuration */
} cli_redis_opts;

typedef struct cli_redis cli_redis;

/*
 * cli_redis_start makes the Redis adapter for the server configuration
 * cfg (password from $TERN_REDIS_PASSWORD), attaches it, with rotate_s
 * fetches the shared ticket keys, and starts a thread that keeps them
 * current and prints each new key period and each new error (never key
 * material). Returns 0, or -1 after printing why (also when this
 * tern was built without hiredis).
 */
int cli_redis_start(const char *prog, const cli_redis_opts *o, tern_config *cfg,
                    cli_redis **out);

/* cli_redis_stop stops the thread, prints the counters on one line and
   frees the adapter (NULL: nothing). Call it after the last handshake. */
void cli_redis_stop(cli_redis *r);

#endif
