/*
 * cli_common.c - what `tern client` and `tern server` share: options,
 * algorithm names, the key log, the clock, the summary of a handshake,
 * failure reports, and the socket loop around tern's I/O-free TLS
 * connection.
 *
 * The loop keeps one rule: after every tern call, everything
 * tern_tls_output holds goes to the socket (as far as the socket takes
 * it; the rest waits for POLLOUT), received bytes go to tern_tls_feed
 * (what it did not take stays in the link's buffer until application
 * data has been read out of tern), and tern_tls_read is drained.
 * tern_tls_output is one queue in the order tern wrote to it, and
 * tern_tls_feed queues the answer to a peer's KeyUpdate (and to a
 * post-handshake CertificateRequest) while it takes the record, so our
 * own application data, written after the feed, always follows that
 * answer (RFC 8446 §4.6.3).
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static const cli_opt *find_opt(const cli_opt *opts, const char *name, size_t len) {
  for (; opts->name; opts++)
    if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0) return opts;
  return NULL;
}

static const cli_opt *find_letter(const cli_opt *opts, char letter) {
  for (; opts->name; opts++)
    if (opts->letter != 0 && opts->letter == letter) return opts;
  return NULL;
}

int cli_parse(const char *prog, int argc, char **argv, const cli_opt *opts,
              const char **positional, size_t max_pos, size_t *n_pos) {
  *n_pos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *eq;
    const cli_opt *o;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return 1;
    if (a[0] != '-' || a[1] == '\0') {
      if (*n_pos == max_pos) {
        fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", prog, a);
        return -1;
      }
      positional[(*n_pos)++] = a;
      continue;
    }
    if (a[1] != '-') { /* -q: a one-letter switch */
      o = a[2] == '\0' ? find_letter(opts, a[1]) : NULL;
      if (o == NULL || o->flag == NULL) {
        fprintf(stderr, "%s: unknown option %s (see --help)\n", prog, a);
        return -1;
      }
      *o->flag = 1;
      continue;
    }
    a += 2;
    eq = strchr(a, '=');
    o = find_opt(opts, a, eq ? (size_t)(eq - a) : strlen(a));
    if (o == NULL) {
      fprintf(stderr, "%s: unknown option --%.*s (see --help)\n", prog,
              eq ? (int)(eq - a) : (int)strlen(a), a);
      return -1;
    }
    if (o->flag) {
      if (eq) {
        fprintf(stderr, "%s: --%s takes no value\n", prog, o->name);
        return -1;
      }
      *o->flag = 1;
    } else if (eq) {
      *o->value = eq + 1;
    } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
      *o->value = argv[++i];
    } else {
      /* "--alpn --www": a forgotten value, not the value "--www"
         (write --name=--value for one that starts with --) */
      fprintf(stderr, "%s: --%s needs a value\n", prog, o->name);
      return -1;
    }
  }
  return 0;
}

int cli_number(const char *prog, const char *opt, const char *text, unsigned long min,
               unsigned long max, unsigned long *out) {
  unsigned long v = 0;
  const char *p = text;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (max - d) / 10) break; /* v * 10 + d > max */
    v = v * 10 + d;
  }
  if (p == text || *p != '\0' || v < min) {
    fprintf(stderr, "%s: --%s: \"%s\" is not a number from %lu to %lu\n", prog, opt, text, min,
            max);
    return -1;
  }
  *out = v;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Algorithms, by name                                                 */
/* ------------------------------------------------------------------ */

/* One kind of algorithm, as the options name it and tern lists it. */
typedef struct alg_kind {
  const char *option, *what;
  uint16_t (*from_name)(const char *);
  const char *(*name)(uint16_t);
  size_t (*supported)(uint16_t *, size_t);
} alg_kind;

static const alg_kind kind_groups = {"groups", "group", tern_group_from_name, tern_group_name,
                                     tern_supported_groups};
static const alg_kind kind_suites = {"ciphersuites", "cipher suite", tern_suite_from_name,
                                     tern_suite_name, tern_supported_suites};
static const alg_kind kind_sigalgs = {"sigalgs", "signature scheme",
                                      tern_signature_scheme_from_name,
                                      tern_signature_scheme_name,
                                      tern_supported_signature_schemes};

/* Writes the names tern knows of a kind, separated by sep. */
static void known_names(const alg_kind *k, const char *sep, char *out, size_t cap) {
  uint16_t codes[64];
  size_t n = k->supported(codes, 64), len = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && i < 64 && len < cap; i++)
    len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? sep : "", k->name(codes[i]));
}

/* Reads one list ("a:b,c") of names of kind k into codes. */
static int parse_list(const char *prog, const alg_kind *k, const char *text, uint16_t *codes,
                      size_t *n) {
  char name[64], known[512];
  const char *p = text;
  *n = 0;
  for (;;) {
    size_t len = strcspn(p, ":,");
    uint16_t code;
    if (len == 0) {
      fprintf(stderr, "%s: --%s \"%s\": an empty name\n", prog, k->option, text);
      return -1;
    }
    snprintf(name, sizeof name, "%.*s", (int)len, p);
    code = len < sizeof name ? k->from_name(name) : 0;
    if (code == 0) {
      known_names(k, ", ", known, sizeof known);
      fprintf(stderr, "%s: --%s: unknown %s \"%.*s\" (tern knows %s)\n", prog, k->option,
              k->what, (int)len, p, known);
      return -1;
    }
    for (size_t i = 0; i < *n; i++)
      if (codes[i] == code) {
        fprintf(stderr, "%s: --%s: %s is listed twice\n", prog, k->option, name);
        return -1;
      }
    if (*n == CLI_MAX_ALGS) {
      fprintf(stderr, "%s: --%s: more than %d names\n", prog, k->option, CLI_MAX_ALGS);
      return -1;
    }
    codes[(*n)++] = code;
    if (p[len] == '\0') return 0;
    p += len + 1;
  }
}

int cli_algorithms_parse(const char *prog, const char *groups, const char *suites,
                         const char *sigalgs, cli_algorithms *out) {
  memset(out, 0, sizeof *out);
  if (groups && parse_list(prog, &kind_groups, groups, out->groups, &out->n_groups) < 0)
    return -1;
  if (suites && parse_list(prog, &kind_suites, suites, out->suites, &out->n_suites) < 0)
    return -1;
  if (sigalgs && parse_list(prog, &kind_sigalgs, sigalgs, out->sigalgs, &out->n_sigalgs) < 0)
    return -1;
  return 0;
}

int cli_algorithms_apply(const char *prog, tern_config *cfg, const cli_algorithms *a,
                         tern_role role) {
  int rc = TERN_OK;
  const char *what = "";
  if (a->n_groups) {
    what = "--groups";
    rc = tern_config_set_groups(cfg, a->groups, a->n_groups);
    /* like OpenSSL's client: a key share for the first group only */
    if (rc == TERN_OK && role == TERN_CLIENT)
      rc = tern_config_set_key_share_groups(cfg, a->groups, 1);
  }
  if (rc == TERN_OK && a->require_pq) {
    what = "--require-pq";
    rc = tern_config_set_pq_required(cfg, 1);
  }
  if (rc == TERN_OK && a->n_suites) {
    what = "--ciphersuites";
    rc = tern_config_set_cipher_suites(cfg, a->suites, a->n_suites);
  }
  if (rc == TERN_OK && a->n_sigalgs) {
    what = "--sigalgs";
    rc = tern_config_set_signature_schemes(cfg, a->sigalgs, a->n_sigalgs);
  }
  if (rc != TERN_OK) {
    fprintf(stderr, "%s: %s: %s\n", prog, what, tern_strerror(rc));
    return -1;
  }
  return 0;
}

int cli_cert_compression(const char *prog, tern_config *cfg, const char *text) {
  static const struct {
    const char *name;
    uint16_t code;
  } names[] = {{"zlib", TERN_CERT_COMPRESSION_ZLIB},
               {"brotli", TERN_CERT_COMPRESSION_BROTLI},
               {"zstd", TERN_CERT_COMPRESSION_ZSTD}};
  uint16_t codes[3];
  size_t n = 0;
  const char *p = text;
  int rc;
  if (text == NULL) return 0;
  while (strcmp(text, "none") != 0) {
    size_t len = strcspn(p, ":,"), i;
    for (i = 0; i < 3; i++)
      if (strlen(names[i].name) == len && strncasecmp(p, names[i].name, len) == 0) break;
    if (i == 3) {
      fprintf(stderr, "%s: --cert-compression: unknown algorithm \"%.*s\" (zlib, brotli, zstd or none)\n",
              prog, (int)len, p);
      return -1;
    }
    if (!tern_cert_compression_available(names[i].code)) {
      fprintf(stderr, "%s: --cert-compression: this build of tern has no %s\n", prog, names[i].name);
      return -1;
    }
    for (size_t j = 0; j < n; j++)
      if (codes[j] == names[i].code) {
        fprintf(stderr, "%s: --cert-compression: %s is listed twice\n", prog, names[i].name);
        return -1;
      }
    codes[n++] = names[i].code;
    if (p[len] == '\0') break;
    p += len + 1;
  }
  if (cfg == NULL) return 0;
  rc = tern_config_set_cert_compression(cfg, codes, n);
  if (rc != TERN_OK) {
    fprintf(stderr, "%s: --cert-compression: %s\n", prog, tern_strerror(rc));
    return -1;
  }
  return 0;
}

/* Prints "  label  name name ...", wrapped before column 80. */
static void print_names(FILE *f, const char *label, const alg_kind *k) {
  uint16_t codes[64];
  size_t n = k->supported(codes, 64), col = 16;
  fprintf(f, "  %-14s", label);
  for (size_t i = 0; i < n && i < 64; i++) {
    const char *name = k->name(codes[i]);
    if (i > 0 && col + 1 + strlen(name) >= 80) {
      fprintf(f, "\n%16s", "");
      col = 16;
    } else if (i > 0) {
      fputc(' ', f);
      col++;
    }
    fputs(name, f);
    col += strlen(name);
  }
  fputc('\n', f);
}

void cli_print_algorithm_names(FILE *f) {
  fprintf(f, "Names for --groups, --ciphersuites, --sigalgs (any case; lists take : or ,):\n");
  print_names(f, "groups", &kind_groups);
  fprintf(f, "%16s(and OpenSSL's X25519, X448, P-256/prime256v1, P-384, P-521)\n", "");
  print_names(f, "ciphersuites", &kind_suites);
  print_names(f, "sigalgs", &kind_sigalgs);
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

uint64_t cli_clock_ms(void *user) {
  struct timespec ts;
  (void)user;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int cli_set_alpn(const char *prog, tern_config *cfg, const char *list) {
  char *copy = strdup(list), *save = NULL;
  const char *names[32];
  size_t n = 0;
  int rc;
  if (copy == NULL) return -1;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (n == sizeof names / sizeof names[0]) break;
    names[n++] = t;
  }
  rc = n ? tern_config_set_alpn(cfg, names, n) : TERN_ERR_INVALID_ARG;
  free(copy);
  if (rc != TERN_OK) {
    fprintf(stderr, "%s: bad --alpn \"%s\": %s\n", prog, list, tern_strerror(rc));
    return -1;
  }
  return 0;
}

/* One key log line; user is the FILE of cli_keylog. */
static void keylog_line(const tern_conn *c, const char *line, void *user) {
  FILE *f = user;
  (void)c;
  fprintf(f, "%s\n", line);
  fflush(f);
}

int cli_keylog(const char *prog, tern_config *cfg, const char *path, FILE **file) {
  int fd;
  *file = NULL;
  if (path == NULL) path = getenv("SSLKEYLOGFILE");
  if (path == NULL || path[0] == '\0') return 0;
  /* the lines are secrets: readable by the owner only */
  fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0 || (*file = fdopen(fd, "a")) == NULL) {
    fprintf(stderr, "%s: cannot open key log file %s: %s\n", prog, path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  tern_config_set_keylog(cfg, keylog_line, *file);
  return 0;
}

/* ------------------------------------------------------------------ */
/* What was negotiated                                                 */
/* ------------------------------------------------------------------ */

static const char *or_dash(const char *s) { return s && s[0] ? s : "-"; }

/* An X509 name as one RFC 2253 line, UTF-8 kept as it is. */
static void name_string(X509_NAME *name, char *out, size_t cap) {
  BIO *b = BIO_new(BIO_s_mem());
  int n = 0;
  snprintf(out, cap, "-");
  if (b == NULL) return;
  if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
    n = BIO_read(b, out, (int)cap - 1);
  if (n > 0) out[n] = '\0';
  BIO_free(b);
}

const char *cli_cert_compression_name(uint16_t alg) {
  switch (alg) {
    case TERN_CERT_COMPRESSION_ZLIB: return "zlib";
    case TERN_CERT_COMPRESSION_BROTLI: return "brotli";
    case TERN_CERT_COMPRESSION_ZSTD: return "zstd";
    default: return "-";
  }
}

void cli_summarize(const tern_conn *c, cli_summary *s) {
  const uint8_t *der;
  size_t len;
  s->cert_comp_sent = cli_cert_compression_name(tern_conn_cert_compression(c, TERN_WRITE));
  s->cert_comp_recv = cli_cert_compression_name(tern_conn_cert_compression(c, TERN_READ));
  s->suite = or_dash(tern_suite_name(tern_conn_cipher_suite(c)));
  s->group = or_dash(tern_group_name(tern_conn_group(c)));
  /* a resumed handshake has no CertificateVerify, whatever tern says */
  s->sigalg = tern_conn_resumed(c)
                  ? "-"
                  : or_dash(tern_signature_scheme_name(tern_conn_signature_scheme(c)));
  s->alpn = or_dash(tern_conn_alpn(c));
  s->server_name = or_dash(tern_conn_server_name(c));
  s->resumed = tern_conn_resumed(c);
  s->hrr = tern_conn_used_hrr(c);
  s->ech = tern_conn_ech_status(c) == TERN_ECH_ACCEPTED   ? "accepted"
           : tern_conn_ech_status(c) == TERN_ECH_REJECTED ? "rejected"
                                                           : "-";
  s->ech_outer = tern_conn_ech_outer_name(c) && tern_conn_ech_outer_name(c)[0]
                     ? tern_conn_ech_outer_name(c)
                     : "-";
  {
    const uint8_t *id;
    size_t n;
    snprintf(s->psk_identity, sizeof s->psk_identity, "-");
    if (tern_conn_psk_identity(c, &id, &n) == TERN_OK && n < sizeof s->psk_identity) {
      for (size_t i = 0; i < n; i++)
        s->psk_identity[i] = isprint(id[i]) ? (char)id[i] : '?';
      s->psk_identity[n] = '\0';
      s->sigalg = "-";
    }
  }
  switch (tern_conn_early_data_status(c)) {
    case TERN_EARLY_DATA_ACCEPTED: s->early_data = "accepted"; break;
    case TERN_EARLY_DATA_REJECTED: s->early_data = "rejected"; break;
    default: s->early_data = "-"; break;
  }
  snprintf(s->peer_subject, sizeof s->peer_subject, "-");
  snprintf(s->peer_issuer, sizeof s->peer_issuer, "-");
  if (tern_conn_peer_certificate(c, &der, &len) == TERN_OK) {
    X509 *x = d2i_X509(NULL, &der, (long)len);
    if (x) {
      name_string(X509_get_subject_name(x), s->peer_subject, sizeof s->peer_subject);
      name_string(X509_get_issuer_name(x), s->peer_issuer, sizeof s->peer_issuer);
      X509_free(x);
    }
  }
}

int cli_psk_parse(const char *prog, const char *identity, const char *hex, const char *hash,
                  cli_psk *out) {
  size_t len = hex ? strlen(hex) : 0;
  memset(out, 0, sizeof *out);
  if (!identity && !hex && !hash) return 0;
  if (!identity || !hex) {
    fprintf(stderr, "%s: --psk-identity and --psk go together\n", prog);
    return -1;
  }
  if (strlen(identity) == 0 || strlen(identity) > TERN_PSK_MAX_IDENTITY) {
    fprintf(stderr, "%s: --psk-identity: 1 to %d bytes\n", prog, TERN_PSK_MAX_IDENTITY);
    return -1;
  }
  out->hash = TERN_PSK_SHA256;
  if (hash && strcmp(hash, "sha384") == 0) {
    out->hash = TERN_PSK_SHA384;
  } else if (hash && strcmp(hash, "sha256") != 0) {
    fprintf(stderr, "%s: --psk-hash \"%s\": sha256 or sha384\n", prog, hash);
    return -1;
  }
  if (len % 2 || len / 2 < TERN_PSK_MIN_KEY || len / 2 > TERN_PSK_MAX_KEY) {
    fprintf(stderr, "%s: --psk: %d to %d bytes, in hex\n", prog, TERN_PSK_MIN_KEY,
            TERN_PSK_MAX_KEY);
    return -1;
  }
  for (size_t i = 0; i < len / 2; i++) {
    unsigned v;
    if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
        sscanf(hex + 2 * i, "%2x", &v) != 1) {
      fprintf(stderr, "%s: --psk is not hex\n", prog);
      OPENSSL_cleanse(out, sizeof *out);
      return -1;
    }
    out->key[i] = (uint8_t)v;
  }
  out->key_len = len / 2;
  out->identity = identity;
  out->set = 1;
  return 0;
}

int cli_psk_apply(const char *prog, tern_config *cfg, cli_psk *p) {
  int rc;
  if (!p->set) return 0;
  rc = tern_config_add_psk(cfg, (const uint8_t *)p->identity, strlen(p->identity), p->key,
                           p->key_len, p->hash);
  OPENSSL_cleanse(p->key, sizeof p->key);
  if (rc != TERN_OK) {
    fprintf(stderr, "%s: --psk-identity \"%s\": %s\n", prog, p->identity, tern_strerror(rc));
    return -1;
  }
  return 0;
}

void cli_print_summary(FILE *f, const char *indent, const cli_summary *s,
                       const char *peer_label) {
  fprintf(f, "%sprotocol            TLSv1.3\n", indent);
  fprintf(f, "%scipher suite        %s\n", indent, s->suite);
  fprintf(f, "%sgroup               %s%s\n", indent, s->group,
          s->hrr ? " (after HelloRetryRequest)" : "");
  fprintf(f, "%ssignature scheme    %s\n", indent, s->sigalg);
  fprintf(f, "%sALPN                %s\n", indent, s->alpn);
  fprintf(f, "%sserver name         %s\n", indent, s->server_name);
  if (strcmp(s->ech, "-") != 0)
    fprintf(f, "%sECH                 %s (outer name %s)\n", indent, s->ech, s->ech_outer);
  fprintf(f, "%sresumed             %s\n", indent, s->resumed ? "yes" : "no");
  fprintf(f, "%sexternal PSK        %s\n", indent, s->psk_identity);
  fprintf(f, "%searly data          %s\n", indent, s->early_data);
  fprintf(f, "%scert compression    sent %s, received %s\n", indent, s->cert_comp_sent,
          s->cert_comp_recv);
  fprintf(f, "%s%-20s%s\n", indent, peer_label, s->peer_subject);
  if (strcmp(s->peer_subject, "-") != 0)
    fprintf(f, "%s  issued by         %s\n", indent, s->peer_issuer);
  fflush(f);
}

/* ------------------------------------------------------------------ */
/* Failures                                                            */
/* ------------------------------------------------------------------ */

void cli_report(const char *prog, const char *what, const tern_conn *c, int rc) {
  uint8_t alert = c ? tern_conn_alert(c) : 0;
  const char *detail = c ? tern_conn_error_detail(c) : "";
  if (alert)
    fprintf(stderr, "%s: %s failed: alert %s (%u)", prog, what, tern_alert_name(alert), alert);
  else
    fprintf(stderr, "%s: %s failed: %s", prog, what, tern_strerror(rc));
  if (detail && detail[0]) fprintf(stderr, ": %s", detail);
  fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------ */
/* The socket loop                                                     */
/* ------------------------------------------------------------------ */

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cli_addr_string(const void *sa, char *out, size_t cap) {
  const struct sockaddr *a = sa;
  char host[INET6_ADDRSTRLEN] = "?";
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = sa;
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    snprintf(out, cap, "%s:%u", host, ntohs(v4->sin_port));
  } else if (a->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = sa;
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    snprintf(out, cap, "[%s]:%u", host, ntohs(v6->sin6_port));
  } else {
    snprintf(out, cap, "?");
  }
}

void cli_link_init(cli_link *l, const char *prog, int fd, tern_conn *c) {
  memset(l, 0, sizeof *l);
  l->prog = prog;
  l->fd = fd;
  l->c = c;
  l->input_fd = -1;
  l->close_wait_ms = 5000;
  l->idle_ms = -1;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static size_t out_pending(const cli_link *l) {
  size_t n;
  tern_tls_output(l->c, &n);
  return n;
}

/* Sends what the socket takes of tern's output. Returns 0, or -1 (errno). */
static int send_some(cli_link *l) {
  const uint8_t *p;
  size_t n;
  while ((p = tern_tls_output(l->c, &n)) != NULL) {
    ssize_t k = send(l->fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (k < 0) return -1;
    tern_tls_output_done(l->c, (size_t)k);
  }
  return 0;
}

/* Reads what the socket has into the link's buffer (sock_eof at the end).
   Returns 0, or -1 (errno). */
static int recv_some(cli_link *l) {
  ssize_t k;
  if (l->in_len == CLI_IN_CAP || l->sock_eof) return 0;
  do k = recv(l->fd, l->in + l->in_len, CLI_IN_CAP - l->in_len, 0);
  while (k < 0 && errno == EINTR);
  if (k < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  if (k == 0) l->sock_eof = 1;
  l->in_len += (size_t)k;
  return 0;
}

/* Gives tern what it takes of the buffered input; returns tern's word. */
static int feed(cli_link *l, size_t *taken) {
  size_t used = 0;
  int rc = TERN_OK;
  if (l->in_len > 0) rc = tern_tls_feed(l->c, l->in, l->in_len, &used);
  if (used > l->in_len) used = l->in_len;
  memmove(l->in, l->in + used, l->in_len - used);
  l->in_len -= used;
  if (taken) *taken = used;
  return rc;
}

/* Waits for the socket (input when want_in, output when tern has some)
   and the extra input. Returns poll's count, 0 on timeout, -1 on error;
   *input_ready tells whether input_fd is readable. */
static int wait_io(cli_link *l, int want_in, int want_input, int timeout_ms, int *input_ready) {
  struct pollfd p[2];
  int n, np = 1;
  p[0].fd = l->fd;
  p[0].events = (short)((want_in ? POLLIN : 0) | (out_pending(l) ? POLLOUT : 0));
  p[0].revents = 0;
  if (want_input && l->input_fd >= 0) {
    p[1].fd = l->input_fd;
    p[1].events = POLLIN;
    p[1].revents = 0;
    np = 2;
  }
  *input_ready = 0;
  do n = poll(p, (nfds_t)np, timeout_ms);
  while (n < 0 && errno == EINTR);
  if (n > 0 && np == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) *input_ready = 1;
  return n;
}

int cli_link_flush(cli_link *l, int timeout_ms) {
  uint64_t end = mono_ms() + (uint64_t)timeout_ms;
  int ready;
  while (out_pending(l) > 0) {
    uint64_t now = mono_ms();
    if (send_some(l) < 0) return -1;
    if (out_pending(l) == 0) break;
    if (now >= end || wait_io(l, 0, 0, (int)(end - now), &ready) <= 0) return -1;
  }
  return 0;
}

/* Reports a socket error (errno) of the link. */
static int socket_failed(cli_link *l, const char *doing) {
  fprintf(stderr, "%s: %s: %s\n", l->prog, doing, strerror(errno));
  return -1;
}

/* A failure tern reported: its alert goes to the peer, then the report. */
static int tern_failed(cli_link *l, const char *what, int rc) {
  cli_link_flush(l, 1000);
  cli_report(l->prog, what, l->c, rc);
  return -1;
}

int cli_link_handshake(cli_link *l, int timeout_ms) {
  int rc = TERN_OK, ready;
  for (;;) {
    if (rc < 0) return tern_failed(l, "handshake", rc);
    if (send_some(l) < 0) return socket_failed(l, "handshake: sending");
    if (tern_conn_handshake_done(l->c)) return 0;
    if (l->sock_eof) {
      fprintf(stderr, "%s: handshake failed: the peer closed the connection\n", l->prog);
      return -1;
    }
    int n = wait_io(l, 1, 0, timeout_ms, &ready);
    if (n < 0) return socket_failed(l, "handshake: poll");
    if (n == 0) {
      fprintf(stderr, "%s: handshake failed: no answer from the peer in %d s\n", l->prog,
              timeout_ms / 1000);
      return -1;
    }
    if (recv_some(l) < 0) return socket_failed(l, "handshake: receiving");
    rc = feed(l, NULL);
  }
}

void cli_link_finish(cli_link *l) {
  tern_tls_close(l->c);
  l->finishing = 1;
}

void cli_link_close(cli_link *l) {
  tern_tls_close(l->c);
  if (l->closed_at == 0) l->closed_at = mono_ms();
}

/* Reads application data out of tern while the output is not backed up.
   Returns 1 when the peer's close_notify was reached, 0, or -1. */
static int drain(cli_link *l, int *progress) {
  uint8_t buf[16384];
  for (;;) {
    size_t n = 0;
    int rc;
    if (out_pending(l) >= CLI_OUT_HIGH) return 0;
    rc = tern_tls_read(l->c, buf, sizeof buf, &n);
    if (rc == TERN_WANT_READ) return 0;
    if (rc == TERN_ERR_CLOSED) return 1;
    if (rc != TERN_OK) return tern_failed(l, "connection", rc);
    *progress = 1;
    l->bytes_in += n;
    if (l->app->on_data(l, buf, n) < 0) return -1;
  }
}

int cli_link_run(cli_link *l) {
  uint64_t active = mono_ms();
  for (;;) {
    int progress = 0, ready, timeout = -1, n, rc;
    size_t taken;
    rc = feed(l, &taken);
    if (rc < 0) return tern_failed(l, "connection", rc);
    if (taken) progress = 1;
    rc = drain(l, &progress);
    if (rc < 0) return -1;
    if (l->app->on_progress && l->app->on_progress(l) < 0) return -1;
    if (rc == 1) {
      /* the peer's close_notify: answer with ours (RFC 8446 §6.1) */
      tern_tls_close(l->c);
      cli_link_flush(l, 1000);
      return 0;
    }
    if (send_some(l) < 0) return socket_failed(l, "sending");
    if (l->finishing && out_pending(l) == 0) return 0;
    if (l->in_len > 0 && progress) continue;
    /* the TCP stream ended without close_notify; what we had is sent */
    if (l->sock_eof && l->in_len == 0 && out_pending(l) == 0) {
      l->truncated = 1;
      return 0;
    }
    if (l->closed_at) {
      uint64_t now = mono_ms();
      if (now - l->closed_at >= (uint64_t)l->close_wait_ms) {
        fprintf(stderr, "%s: no close_notify from the peer within %d s; closing\n", l->prog,
                l->close_wait_ms / 1000);
        return 0;
      }
      timeout = (int)((uint64_t)l->close_wait_ms - (now - l->closed_at));
    } else if (l->idle_ms >= 0) {
      uint64_t now = mono_ms();
      if (now - active >= (uint64_t)l->idle_ms) {
        fprintf(stderr, "%s: connection idle for %d s; closing\n", l->prog, l->idle_ms / 1000);
        tern_tls_close(l->c);
        cli_link_flush(l, 1000);
        return -1;
      }
      timeout = (int)((uint64_t)l->idle_ms - (now - active));
    }
    n = wait_io(l, l->in_len < CLI_IN_CAP && !l->sock_eof,
                !l->closed_at && !l->finishing && out_pending(l) < CLI_OUT_HIGH, timeout, &ready);
    if (n < 0) return socket_failed(l, "poll");
    if (n == 0) continue;
    active = mono_ms();
    if (ready && l->app->on_input && l->app->on_input(l) < 0) return -1;
    if (recv_some(l) < 0) return socket_failed(l, "receiving");
  }
}
