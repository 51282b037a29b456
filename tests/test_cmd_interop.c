/*
 * test_cmd_interop.c - tern over real TCP on 127.0.0.1 against the
 * `openssl` (s_server, s_client) and GnuTLS (gnutls-serv, gnutls-cli)
 * commands, in the RFC 7919 groups and the AES-128-CCM suites. The
 * `tern` program has no options for groups and suites, so this test
 * drives the library over its own sockets:
 *
 *   A. tern client -> openssl s_server -rev (one group, one suite)
 *   B. openssl s_client -> tern server (echo)
 *   C. tern client -> gnutls-serv --echo
 *   D. gnutls-cli -> tern server (echo)
 *
 * Each runs ffdhe2048 .. ffdhe8192, each with one of
 * TLS_AES_128_CCM_SHA256, TLS_AES_128_CCM_8_SHA256 and
 * TLS_AES_128_GCM_SHA256, once with the key share for the group in the
 * first ClientHello and once through a HelloRetryRequest (a tern client
 * with its default X25519 share; a peer client whose first groups tern
 * does not take). Both sides must report the group and the suite, the
 * data must come back, and the peer's own output must name them.
 * Commands that are not installed are skipped (exit 77 when none is).
 * The tools' outputs stay in /tmp/tern-cmd-* after a failure, or always
 * with TERN_KEEP_OUTPUTS set.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <tern.h>

#include "check.h"
#include "pki.h"

#define DEADLINE_MS 20000

static char dir[64], ca_pem[128], leaf_pem[128], key_pem[128];
static pki server_pki;

/* One case: a group and a suite, with their names for each tool. */
typedef struct icase {
  uint16_t group;
  int bits;               /* of the FFDHE prime */
  uint16_t suite;
  const char *gnutls_cipher;
} icase;

static const icase cases[] = {
    {TERN_GROUP_FFDHE2048, 2048, TERN_TLS_AES_128_CCM_SHA256, "AES-128-CCM"},
    {TERN_GROUP_FFDHE3072, 3072, TERN_TLS_AES_128_CCM_8_SHA256, "AES-128-CCM-8"},
    {TERN_GROUP_FFDHE4096, 4096, TERN_TLS_AES_128_GCM_SHA256, "AES-128-GCM"},
    {TERN_GROUP_FFDHE6144, 6144, TERN_TLS_AES_128_CCM_SHA256, "AES-128-CCM"},
    {TERN_GROUP_FFDHE8192, 8192, TERN_TLS_AES_128_CCM_8_SHA256, "AES-128-CCM-8"},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static int n_runs[4], n_hrr;

/* ---- processes and files ----------------------------------------------- */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* 1 when prog is an executable file in $PATH. */
static int have(const char *prog) {
  const char *path = getenv("PATH");
  char buf[512];
  while (path != NULL && *path) {
    const char *end = strchr(path, ':');
    size_t n = end ? (size_t)(end - path) : strlen(path);
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
    if (access(buf, X_OK) == 0) return 1;
    path = end ? end + 1 : NULL;
  }
  return 0;
}

/* Starts argv with stdin from in_path (or /dev/null) and stdout and
   stderr into out_path. Returns the pid, or -1. */
static pid_t spawn(char *const argv[], const char *in_path, const char *out_path) {
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  return pid;
}

/* Waits up to ms for pid; kills it after that. Returns its exit status,
   or -1 when it had to be killed. */
static int reap(pid_t pid, int ms) {
  uint64_t end = now_ms() + (uint64_t)ms;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0 || now_ms() > end) break;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

/* The whole file at path, NUL-terminated (static, overwritten). */
static const char *slurp(const char *path) {
  static char buf[1 << 16];
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  /* the tools print NULs nowhere we look; make the text one string */
  for (size_t i = 0; i < n; i++)
    if (buf[i] == 0) buf[i] = ' ';
  buf[n] = 0;
  return buf;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL) abort();
  fputs(text, f);
  fclose(f);
}

/* Checks that the output file holds want; prints it when not. */
static void expect_in(const char *path, const char *want, const char *what) {
  const char *text = slurp(path);
  CHECK(strstr(text, want) != NULL);
  if (strstr(text, want) == NULL)
    fprintf(stderr, "  %s: no \"%s\" in %s:\n%s\n", what, want, path, text);
}

/* ---- tern over a socket --------------------------------------------------- */

/* Sends everything tern has to send. Returns 0, or -1 when the socket
   failed. */
static int flush(tern_conn *c, int fd) {
  size_t len;
  const uint8_t *p;
  while ((p = tern_tls_output(c, &len)) != NULL) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) return -1;
    tern_tls_output_done(c, (size_t)n);
  }
  return 0;
}

/*
 * Runs c over fd until the handshake is done and, for a client, line
 * was sent and a whole line came back (got); for a server, until a whole
 * line arrived, which is echoed before close_notify. Returns TERN_OK or
 * the first failure (TERN_ERR_STATE on a deadline or a closed socket).
 */
static int drive(tern_conn *c, int fd, int client, const char *line, char *got, size_t cap) {
  uint64_t end = now_ms() + DEADLINE_MS;
  size_t have = 0;
  int sent = 0, rc = TERN_OK;
  got[0] = 0;
  if (client && (rc = tern_handshake(c)) < 0) return rc;
  for (;;) {
    uint8_t buf[16384];
    struct pollfd pfd = {fd, POLLIN, 0};
    size_t k, used;
    ssize_t n;
    if (flush(c, fd) != 0) return TERN_ERR_STATE;
    if (client && tern_conn_handshake_done(c) && !sent) {
      if ((rc = tern_tls_write(c, (const uint8_t *)line, strlen(line))) != TERN_OK) return rc;
      sent = 1;
      continue;
    }
    if (memchr(got, '\n', have) != NULL) break;
    if (now_ms() >= end || poll(&pfd, 1, (int)(end - now_ms())) <= 0) return TERN_ERR_STATE;
    n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return TERN_ERR_STATE;
    rc = tern_tls_feed(c, buf, (size_t)n, &used);
    if (rc < 0) {
      flush(c, fd); /* the alert */
      return rc;
    }
    while (have + 1 < cap && tern_tls_read(c, (uint8_t *)got + have, cap - 1 - have, &k) == TERN_OK) {
      if (!client && (rc = tern_tls_write(c, (uint8_t *)got + have, k)) != TERN_OK) return rc;
      have += k;
    }
    got[have] = 0;
  }
  tern_tls_close(c);
  flush(c, fd);
  return TERN_OK;
}

static int connect_to(int port) {
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

/* A listening socket on 127.0.0.1 and a free port. */
static int listen_any(int *port) {
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &al) != 0)
    abort();
  *port = ntohs(a.sin_port);
  return fd;
}

/* Accepts one connection within the deadline, or -1. */
static int accept_one(int lfd) {
  struct pollfd pfd = {lfd, POLLIN, 0};
  if (poll(&pfd, 1, DEADLINE_MS) <= 0) return -1;
  return accept(lfd, NULL, NULL);
}

static tern_config *client_config(const icase *k, int share) {
  static const uint16_t suites[] = {TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_128_CCM_SHA256,
                                    TERN_TLS_AES_128_CCM_8_SHA256};
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  CHECK_EQ_INT(tern_config_load_trust(cfg, ca_pem, NULL), TERN_OK);
  CHECK_EQ_INT(tern_config_set_cipher_suites(cfg, suites, 3), TERN_OK);
  /* the default groups; without `share`, the default X25519 share only */
  if (share) CHECK_EQ_INT(tern_config_set_key_share_groups(cfg, &k->group, 1), TERN_OK);
  return cfg;
}

static tern_config *server_config(const icase *k, int only_group) {
  tern_config *cfg = tern_config_new(TERN_SERVER);
  CHECK_EQ_INT(tern_config_load_cert_files(cfg, leaf_pem, key_pem), TERN_OK);
  CHECK_EQ_INT(tern_config_set_cipher_suites(cfg, &k->suite, 1), TERN_OK);
  if (only_group) CHECK_EQ_INT(tern_config_set_groups(cfg, &k->group, 1), TERN_OK);
  return cfg;
}

/* What tern negotiated must be the case's, with or without HRR. */
static void check_tern(const char *what, int rc, tern_conn *c, const icase *k, int hrr) {
  CHECK_EQ_INT(rc, TERN_OK);
  if (rc != TERN_OK)
    fprintf(stderr, "  %s: %s (alert %s)\n", what, tern_conn_error_detail(c),
            tern_alert_name(tern_conn_alert(c)));
  CHECK_EQ_INT(tern_conn_group(c), k->group);
  CHECK_EQ_INT(tern_conn_cipher_suite(c), k->suite);
  CHECK_EQ_INT(tern_conn_used_hrr(c), hrr);
  n_hrr += hrr && rc == TERN_OK;
}

/* ---- A. tern client -> openssl s_server --------------------------------- */

static void tern_to_s_server(const icase *k, int share) {
  char out[160], what[96], got[256], port_line[64];
  char *argv[] = {"openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
                  "-tls1_3", "-cert", leaf_pem, "-key", key_pem, "-groups",
                  (char *)tern_group_name(k->group), "-ciphersuites",
                  (char *)tern_suite_name(k->suite), "-rev", NULL};
  const char *text, *acc;
  int port = 0, fd = -1, rc;
  pid_t pid;
  tern_config *cfg = client_config(k, share);
  tern_conn *c = tern_conn_new_tls(cfg, NULL);
  uint64_t end = now_ms() + 5000;
  snprintf(what, sizeof what, "tern client -> s_server, %s, %s%s", tern_group_name(k->group),
           tern_suite_name(k->suite), share ? "" : ", HRR");
  snprintf(out, sizeof out, "%s/s_server-%04x-%d.out", dir, k->group, share);
  pid = spawn(argv, NULL, out);
  /* "ACCEPT 127.0.0.1:PORT" once it listens */
  while (port == 0 && now_ms() < end) {
    usleep(20000);
    text = slurp(out);
    if ((acc = strstr(text, "ACCEPT ")) != NULL && strchr(acc, '\n') != NULL) {
      const char *colon = NULL;
      for (const char *q = acc; *q && *q != '\n'; q++)
        if (*q == ':') colon = q;
      if (colon) port = atoi(colon + 1);
    }
  }
  CHECK(port > 0);
  if (port > 0) fd = connect_to(port);
  CHECK(fd >= 0);
  tern_conn_set_server_name(c, "localhost");
  rc = fd >= 0 ? drive(c, fd, 1, "ffdhe and ccm\n", got, sizeof got) : TERN_ERR_STATE;
  check_tern(what, rc, c, k, !share);
  /* s_server -rev answers each line reversed */
  CHECK(strcmp(got, "mcc dna ehdff\n") == 0);
  if (fd >= 0) close(fd);
  reap(pid, 5000);
  snprintf(port_line, sizeof port_line, "Ciphersuite: %s", tern_suite_name(k->suite));
  expect_in(out, port_line, what);
  n_runs[0]++;
  tern_conn_free(c);
  tern_config_free(cfg);
}

/* ---- B. openssl s_client -> tern server ---------------------------------- */

static void s_client_to_tern(const icase *k, int share) {
  char out[160], in[160], what[96], got[256], connect[32], groups[64], want[96];
  int port, lfd = listen_any(&port), fd, rc, status;
  pid_t pid;
  tern_config *cfg = server_config(k, 1);
  tern_conn *c = tern_conn_new_tls(cfg, NULL);
  /* with share 0 the client's first group (and share) is X448 */
  snprintf(groups, sizeof groups, "%s%s", share ? "" : "X448:", tern_group_name(k->group));
  snprintf(connect, sizeof connect, "127.0.0.1:%d", port);
  char *argv[] = {"openssl", "s_client", "-connect", connect, "-tls1_3", "-groups", groups,
                  "-ciphersuites", (char *)tern_suite_name(k->suite), "-CAfile", ca_pem,
                  "-servername", "localhost", "-verify_return_error", "-ign_eof", NULL};
  snprintf(what, sizeof what, "s_client -> tern server, %s, %s%s", tern_group_name(k->group),
           tern_suite_name(k->suite), share ? "" : ", HRR");
  snprintf(out, sizeof out, "%s/s_client-%04x-%d.out", dir, k->group, share);
  snprintf(in, sizeof in, "%s/s_client.in", dir);
  write_file(in, "from s_client\n");
  pid = spawn(argv, in, out);
  fd = accept_one(lfd);
  CHECK(fd >= 0);
  rc = fd >= 0 ? drive(c, fd, 0, NULL, got, sizeof got) : TERN_ERR_STATE;
  if (fd >= 0) close(fd);
  status = reap(pid, 5000);
  check_tern(what, rc, c, k, !share);
  CHECK(strcmp(got, "from s_client\n") == 0);
  CHECK_EQ_INT(status, 0);
  snprintf(want, sizeof want, "Server Temp Key: DH, %d bits", k->bits);
  expect_in(out, want, what);
  snprintf(want, sizeof want, "New, TLSv1.3, Cipher is %s", tern_suite_name(k->suite));
  expect_in(out, want, what);
  expect_in(out, "Verify return code: 0 (ok)", what);
  expect_in(out, "from s_client", what);
  close(lfd);
  n_runs[1]++;
  tern_conn_free(c);
  tern_config_free(cfg);
}

/* ---- C. tern client -> gnutls-serv --------------------------------------- */

/* A GnuTLS priority string for TLS 1.3 with the case's group and cipher
   (the groups in `first` before it). */
static void gnutls_priority(char *buf, size_t cap, const icase *k, const char *first) {
  snprintf(buf, cap, "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:%s+GROUP-FFDHE%d:-CIPHER-ALL:+%s",
           first, k->bits, k->gnutls_cipher);
}

static void tern_to_gnutls_serv(const icase *k, int share) {
  char out[160], what[96], got[256], prio[192], portstr[16], ready[64], want[128];
  int port = 0, fd = -1, rc;
  pid_t pid = -1;
  tern_config *cfg = client_config(k, share);
  tern_conn *c = tern_conn_new_tls(cfg, NULL);
  gnutls_priority(prio, sizeof prio, k, "");
  snprintf(what, sizeof what, "tern client -> gnutls-serv, %s, %s%s", tern_group_name(k->group),
           k->gnutls_cipher, share ? "" : ", HRR");
  snprintf(out, sizeof out, "%s/gnutls-serv-%04x-%d.out", dir, k->group, share);
  /* gnutls-serv takes no port 0: try random ones until one binds */
  for (int attempt = 0; attempt < 8 && port == 0; attempt++) {
    int p = 20000 + (int)((now_ms() * 7919 + (uint64_t)attempt * 104729) % 30000);
    uint64_t end = now_ms() + 5000;
    char *argv[] = {"gnutls-serv", "--echo", "-p", portstr, "--x509certfile", leaf_pem,
                    "--x509keyfile", key_pem, "--priority", prio, NULL};
    snprintf(portstr, sizeof portstr, "%d", p);
    snprintf(ready, sizeof ready, "IPv4 0.0.0.0 port %d...done", p);
    pid = spawn(argv, NULL, out);
    while (now_ms() < end) {
      const char *text = slurp(out);
      if (strstr(text, ready) != NULL) {
        port = p;
        break;
      }
      if (strstr(text, "failed") != NULL || waitpid(pid, NULL, WNOHANG) == pid) break;
      usleep(20000);
    }
    if (port == 0) {
      kill(pid, SIGTERM);
      reap(pid, 2000);
      pid = -1;
    }
  }
  CHECK(port > 0);
  if (port > 0) fd = connect_to(port);
  CHECK(fd >= 0);
  tern_conn_set_server_name(c, "localhost");
  rc = fd >= 0 ? drive(c, fd, 1, "to gnutls-serv\n", got, sizeof got) : TERN_ERR_STATE;
  check_tern(what, rc, c, k, !share);
  CHECK(strcmp(got, "to gnutls-serv\n") == 0);
  if (fd >= 0) close(fd);
  usleep(100000); /* let gnutls-serv log the session */
  if (pid > 0) {
    kill(pid, SIGTERM);
    reap(pid, 5000);
  }
  snprintf(want, sizeof want, "- Description: (TLS1.3-X.509)-(DHE-FFDHE%d)-(ECDSA-SECP256R1-SHA256)-(%s)",
           k->bits, k->gnutls_cipher);
  expect_in(out, want, what);
  n_runs[2]++;
  tern_conn_free(c);
  tern_config_free(cfg);
}

/* ---- D. gnutls-cli -> tern server ------------------------------------------ */

static void gnutls_cli_to_tern(const icase *k, int share) {
  char out[160], in[160], what[96], got[256], prio[192], portstr[16], want[128];
  int port, lfd = listen_any(&port), fd, rc, status;
  pid_t pid;
  tern_config *cfg = server_config(k, 1);
  tern_conn *c = tern_conn_new_tls(cfg, NULL);
  /* without share, X448 and secp256r1 come first: GnuTLS sends shares for
     those two kinds only, and tern asks for FFDHE */
  gnutls_priority(prio, sizeof prio, k, share ? "" : "+GROUP-X448:+GROUP-SECP256R1:");
  snprintf(portstr, sizeof portstr, "%d", port);
  char *argv[] = {"gnutls-cli", "--x509cafile", ca_pem, "-p", portstr, "--priority", prio,
                  "localhost", NULL};
  snprintf(what, sizeof what, "gnutls-cli -> tern server, %s, %s%s", tern_group_name(k->group),
           k->gnutls_cipher, share ? "" : ", HRR");
  snprintf(out, sizeof out, "%s/gnutls-cli-%04x-%d.out", dir, k->group, share);
  snprintf(in, sizeof in, "%s/gnutls-cli.in", dir);
  write_file(in, "from gnutls-cli\n");
  pid = spawn(argv, in, out);
  fd = accept_one(lfd);
  CHECK(fd >= 0);
  rc = fd >= 0 ? drive(c, fd, 0, NULL, got, sizeof got) : TERN_ERR_STATE;
  if (fd >= 0) close(fd);
  status = reap(pid, 5000);
  check_tern(what, rc, c, k, !share);
  CHECK(strcmp(got, "from gnutls-cli\n") == 0);
  CHECK_EQ_INT(status, 0);
  snprintf(want, sizeof want, "- Description: (TLS1.3-X.509)-(DHE-FFDHE%d)-(ECDSA-SECP256R1-SHA256)-(%s)",
           k->bits, k->gnutls_cipher);
  expect_in(out, want, what);
  expect_in(out, "- Status: The certificate is trusted.", what);
  close(lfd);
  n_runs[3]++;
  tern_conn_free(c);
  tern_config_free(cfg);
}

/* ---- main ----------------------------------------------------------------- */

static void write_pki(void) {
  FILE *f;
  snprintf(ca_pem, sizeof ca_pem, "%s/ca.pem", dir);
  snprintf(leaf_pem, sizeof leaf_pem, "%s/leaf.pem", dir);
  snprintf(key_pem, sizeof key_pem, "%s/key.pem", dir);
  if (pki_make(&server_pki, PKI_KEY_P256, "localhost", 0, PKI_VALID_NOW) != 0) abort();
  if ((f = fopen(ca_pem, "w")) == NULL || !PEM_write_X509(f, server_pki.ca)) abort();
  fclose(f);
  if ((f = fopen(leaf_pem, "w")) == NULL || !PEM_write_X509(f, server_pki.leaf)) abort();
  fclose(f);
  if ((f = fopen(key_pem, "w")) == NULL ||
      !PEM_write_PrivateKey(f, server_pki.leaf_key, NULL, NULL, 0, NULL, NULL))
    abort();
  fclose(f);
}

int main(void) {
  int ossl = have("openssl"), gserv = have("gnutls-serv"), gcli = have("gnutls-cli");
  char cmd[96];
  if (!ossl && !gserv && !gcli) {
    printf("SKIP: neither openssl nor gnutls-serv/gnutls-cli installed\n");
    return 77;
  }
  signal(SIGPIPE, SIG_IGN);
  snprintf(dir, sizeof dir, "/tmp/tern-cmd-XXXXXX");
  if (mkdtemp(dir) == NULL) return 1;
  write_pki();
  for (size_t i = 0; i < N_CASES; i++)
    for (int share = 1; share >= 0; share--) {
      if (ossl) {
        tern_to_s_server(&cases[i], share);
        s_client_to_tern(&cases[i], share);
      }
      if (gserv) tern_to_gnutls_serv(&cases[i], share);
      if (gcli) gnutls_cli_to_tern(&cases[i], share);
    }
  printf("tern client -> openssl s_server %d, openssl s_client -> tern server %d, "
         "tern client -> gnutls-serv %d, gnutls-cli -> tern server %d handshakes "
         "(%d through HelloRetryRequest)%s%s%s\n",
         n_runs[0], n_runs[1], n_runs[2], n_runs[3], n_hrr, ossl ? "" : "; no openssl",
         gserv ? "" : "; no gnutls-serv", gcli ? "" : "; no gnutls-cli");
  pki_free(&server_pki);
  if (check_failures == 0 && getenv("TERN_KEEP_OUTPUTS") == NULL) {
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  } else {
    fprintf(stderr, "outputs kept in %s\n", dir);
  }
  return check_report();
}
