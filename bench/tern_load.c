/*
 * tern_load.c - a load client for HTTPS servers over TLS 1.3, on
 * include/tern.h and epoll: many connections at once from one or more
 * threads, each a small state machine. What h2load cannot drive is here:
 * resumption from a file of tickets, idle connections held open, and
 * hostile peers (a ClientHello trickled a byte at a time, silence,
 * garbage, a reset in the middle of the handshake, a half-close after
 * the request). Every response is checked whole (status line, head,
 * Content-Length bytes of body); a response cut short is counted as torn.
 *
 *   tern_load --port P --ca CA.pem [--host 127.0.0.1] [--servername localhost]
 *             [--connections N] [--concurrency C] [--requests R] [--threads T]
 *             [--kind normal|idle|trickle|silent|garbage|reset|halfclose]
 *             [--hold SECONDS] [--tickets-out FILE] [--tickets-in FILE]
 *             [--groups x25519] [--timeout SECONDS]
 *
 * It prints one line of counts ("load: ...") and exits 0; 2 on a bad
 * command line. The counts say what happened; the caller judges them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <tern.h>

#include "measure.h"

enum kind { K_NORMAL, K_IDLE, K_TRICKLE, K_SILENT, K_GARBAGE, K_RESET, K_HALFCLOSE };
static const char *const kind_names[] = {"normal", "idle", "trickle", "silent",
                                         "garbage", "reset", "halfclose"};

/* ---- options ----------------------------------------------------------- */

static struct {
  const char *host, *servername, *ca, *tickets_out, *tickets_in;
  unsigned port, connections, concurrency, requests, threads;
  enum kind kind;
  double hold_s, timeout_s;
  uint16_t group;
} opt = {"127.0.0.1", "localhost", NULL, NULL, NULL, 0, 1, 1, 1, 1, K_NORMAL, 0, 30, 0};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ms(void *u) {
  struct timespec ts;
  (void)u;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- tickets ----------------------------------------------------------- */

/* Tickets received (to save) and to offer (loaded), one use each. */
typedef struct ticket {
  uint8_t blob[TERN_SESSION_MAX_BYTES];
  size_t len;
} ticket;

static pthread_mutex_t tickets_lock = PTHREAD_MUTEX_INITIALIZER;
static ticket *got, *offer;
static size_t n_got, cap_got, n_offer, next_offer;

static void on_ticket(tern_conn *c, const uint8_t *blob, size_t len, uint32_t max_early,
                      void *u) {
  (void)c, (void)max_early, (void)u;
  if (opt.tickets_out == NULL || len > TERN_SESSION_MAX_BYTES) return;
  pthread_mutex_lock(&tickets_lock);
  if (n_got == cap_got) {
    size_t ncap = cap_got ? cap_got * 2 : 1024;
    ticket *n = realloc(got, ncap * sizeof *n);
    if (n) {
      got = n;
      cap_got = ncap;
    }
  }
  if (n_got < cap_got) {
    memcpy(got[n_got].blob, blob, len);
    got[n_got++].len = len;
  }
  pthread_mutex_unlock(&tickets_lock);
}

/* The next unused ticket, or NULL. */
static const ticket *take_ticket(void) {
  const ticket *t = NULL;
  pthread_mutex_lock(&tickets_lock);
  if (next_offer < n_offer) t = &offer[next_offer++];
  pthread_mutex_unlock(&tickets_lock);
  return t;
}

/* File format: for each ticket, its length (4 bytes, big-endian) then it. */
static int load_tickets(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t h[4];
  if (f == NULL) return -1;
  while (fread(h, 1, 4, f) == 4) {
    size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    ticket *n;
    if (len > TERN_SESSION_MAX_BYTES || (n = realloc(offer, (n_offer + 1) * sizeof *n)) == NULL)
      break;
    offer = n;
    if (fread(offer[n_offer].blob, 1, len, f) != len) break;
    offer[n_offer++].len = len;
  }
  fclose(f);
  return 0;
}

static int save_tickets(const char *path) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) return -1;
  for (size_t i = 0; i < n_got; i++) {
    uint8_t h[4] = {(uint8_t)(got[i].len >> 24), (uint8_t)(got[i].len >> 16),
                    (uint8_t)(got[i].len >> 8), (uint8_t)got[i].len};
    fwrite(h, 1, 4, f);
    fwrite(got[i].blob, 1, got[i].len, f);
  }
  return fclose(f);
}

/* ---- connections ------------------------------------------------------- */

enum { C_CONNECTING, C_HANDSHAKE, C_REQUEST, C_HOLDING, C_DONE };

typedef struct lconn {
  int fd, state;
  tern_conn *c;
  uint64_t started, next_trickle;
  int requests_sent, responses;
  int first_byte_seen;
  /* the response being read */
  char head[4096];
  size_t head_len;
  long body_left;          /* -1 while the head is incomplete */
  int resp_started;
  int offered_ticket;
  uint8_t trickle[2048];   /* the ClientHello, for --kind trickle */
  size_t trickle_len, trickle_off;
} lconn;

typedef struct stats {
  uint64_t started, handshakes, resumed, failed_connect, failed_tls, closed_early, requests_ok,
      bad_status, torn, unanswered, closed_by_server, closed_after_ms_min, closed_after_ms_max,
      established_peak;
  double *ttfb_ms;
  size_t n_ttfb, cap_ttfb;
} stats;

typedef struct loop {
  int ep;
  tern_config *cfg;
  unsigned to_start, active, established;
  stats st;
  pthread_t th;
  uint8_t buf[65536];
} loop;

static struct sockaddr_storage server_addr;
static socklen_t server_addr_len;

static void note_ttfb(stats *st, uint64_t ns) {
  if (st->n_ttfb == st->cap_ttfb) {
    size_t ncap = st->cap_ttfb ? st->cap_ttfb * 2 : 1024;
    double *n = realloc(st->ttfb_ms, ncap * sizeof *n);
    if (n == NULL) return;
    st->ttfb_ms = n;
    st->cap_ttfb = ncap;
  }
  st->ttfb_ms[st->n_ttfb++] = (double)ns / 1e6;
}

static void conn_close(loop *l, lconn *k, int rst) {
  if (rst) {
    struct linger lg = {1, 0};
    setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(k->fd);
  tern_conn_free(k->c);
  if (k->state >= C_REQUEST && k->state != C_DONE) l->established--;
  free(k);
  l->active--;
}

/* A connection that ended by the server's doing (EOF, error): counted by
   where it was. */
static void conn_ended(loop *l, lconn *k) {
  uint64_t ms = (now_ns() - k->started) / 1000000u;
  if (k->state == C_HANDSHAKE || k->state == C_CONNECTING) {
    l->st.closed_early++;
    if (l->st.closed_after_ms_min == 0 || ms < l->st.closed_after_ms_min)
      l->st.closed_after_ms_min = ms ? ms : 1;
    if (ms > l->st.closed_after_ms_max) l->st.closed_after_ms_max = ms;
  } else if (k->resp_started && (k->body_left != 0)) {
    l->st.torn++;
  } else if (k->requests_sent > k->responses) {
    l->st.unanswered += (uint64_t)(k->requests_sent - k->responses);
    l->st.closed_by_server++;
  } else if (k->requests_sent < (int)opt.requests) {
    l->st.closed_by_server++;
  }
  conn_close(l, k, 0);
}

static int flush_out(lconn *k) {
  const uint8_t *p;
  size_t n;
  while ((p = tern_tls_output(k->c, &n)) != NULL) {
    ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (w < 0) return -1;
    tern_tls_output_done(k->c, (size_t)w);
  }
  return 0;
}

static void watch(loop *l, lconn *k) {
  size_t n;
  uint32_t ev = EPOLLIN;
  tern_tls_output(k->c, &n);
  if (n || k->state == C_CONNECTING) ev |= EPOLLOUT;
  epoll_ctl(l->ep, EPOLL_CTL_MOD, k->fd, &(struct epoll_event){ev, {.ptr = k}});
}

static int send_request(lconn *k) {
  static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  k->requests_sent++;
  k->head_len = 0;
  k->body_left = -1;
  k->resp_started = 0;
  return tern_tls_write(k->c, (const uint8_t *)req, sizeof req - 1);
}

/* Takes response bytes; returns the number of responses completed. */
static int take_response(loop *l, lconn *k, const uint8_t *p, size_t n) {
  int done = 0;
  while (n > 0) {
    if (k->body_left < 0) {
      char *end, *cl;
      size_t room = sizeof k->head - 1 - k->head_len, take = n < room ? n : room;
      memcpy(k->head + k->head_len, p, take);
      k->head_len += take;
      k->head[k->head_len] = '\0';
      k->resp_started = 1;
      end = strstr(k->head, "\r\n\r\n");
      if (end == NULL) {
        if (k->head_len == sizeof k->head - 1) return -1;
        return done;
      }
      {
        size_t used_head = (size_t)(end + 4 - k->head) - (k->head_len - take);
        p += used_head;
        n -= used_head;
      }
      if (strncmp(k->head, "HTTP/1.1 200", 12) != 0 && strncmp(k->head, "HTTP/1.0 200", 12) != 0)
        l->st.bad_status++;
      cl = strcasestr(k->head, "\r\ncontent-length:");
      k->body_left = cl ? strtol(cl + 17, NULL, 10) : 0;
    }
    {
      size_t take = (size_t)k->body_left < n ? (size_t)k->body_left : n;
      k->body_left -= (long)take;
      p += take;
      n -= take;
    }
    if (k->body_left == 0) {
      k->responses++;
      l->st.requests_ok++;
      done++;
      k->body_left = -1;
      k->head_len = 0;
      k->resp_started = 0;
      if (n > 0 && k->requests_sent <= k->responses) return -1; /* more than asked */
    }
  }
  return done;
}

static lconn *conn_start(loop *l) {
  lconn *k = calloc(1, sizeof *k);
  int fd;
  if (k == NULL) return NULL;
  fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  k->fd = fd;
  k->started = now_ns();
  k->body_left = -1;
  l->st.started++;
  l->active++;
  if (fd < 0 || (connect(fd, (struct sockaddr *)&server_addr, server_addr_len) != 0 &&
                 errno != EINPROGRESS)) {
    l->st.failed_connect++;
    if (fd >= 0) close(fd);
    free(k);
    l->active--;
    return NULL;
  }
  {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  k->c = tern_conn_new_tls(l->cfg, k);
  tern_conn_set_server_name(k->c, opt.servername);
  if (opt.tickets_in && opt.kind == K_NORMAL) {
    const ticket *t = take_ticket();
    if (t && tern_conn_set_session(k->c, t->blob, t->len, wall_ms(NULL)) == TERN_OK)
      k->offered_ticket = 1;
  }
  epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){EPOLLOUT | EPOLLIN, {.ptr = k}});
  return k;
}

/* The socket connected: the first flight, per kind. */
static int conn_connected(loop *l, lconn *k) {
  int err = 0;
  socklen_t len = sizeof err;
  const uint8_t *p;
  size_t n;
  (void)l;
  if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return -1;
  k->state = C_HANDSHAKE;
  switch (opt.kind) {
    case K_SILENT:
      return 0;
    case K_GARBAGE: {
      uint8_t junk[512];
      for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 151 + 7);
      junk[0] = 0x16; /* a handshake record header, then nonsense */
      return send(k->fd, junk, sizeof junk, MSG_NOSIGNAL) < 0 ? -1 : 0;
    }
    default:
      break;
  }
  if (tern_handshake(k->c) < 0) return -1;
  p = tern_tls_output(k->c, &n);
  if (opt.kind == K_TRICKLE || opt.kind == K_RESET) {
    if (p == NULL || n > sizeof k->trickle) return -1;
    memcpy(k->trickle, p, n);
    k->trickle_len = n;
    tern_tls_output_done(k->c, n);
    if (opt.kind == K_RESET) { /* half the ClientHello, then RST */
      if (send(k->fd, k->trickle, n / 2, MSG_NOSIGNAL) < 0) return -1;
      return 1;
    }
    k->next_trickle = now_ns();
    return 0;
  }
  return flush_out(k);
}

/* Moves k along. Returns 0, or 1 when k was freed. */
static int conn_event(loop *l, lconn *k, uint32_t ev) {
  if (k->state == C_CONNECTING) {
    int rc;
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return 0;
    rc = conn_connected(l, k);
    if (rc < 0) {
      l->st.failed_connect++;
      conn_close(l, k, 0);
      return 1;
    }
    if (rc == 1) {
      conn_close(l, k, 1);
      return 1;
    }
  }
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    for (;;) {
      ssize_t r = recv(k->fd, l->buf, sizeof l->buf, 0);
      size_t used;
      int rc;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (r <= 0) {
        conn_ended(l, k);
        return 1;
      }
      if (opt.kind == K_TRICKLE || opt.kind == K_SILENT || opt.kind == K_GARBAGE) continue;
      rc = tern_tls_feed(k->c, l->buf, (size_t)r, &used);
      if (rc < 0) {
        if (k->state == C_HANDSHAKE) l->st.failed_tls++;
        else if (k->resp_started) l->st.torn++;
        flush_out(k);
        conn_close(l, k, 0);
        return 1;
      }
      if (k->state == C_HANDSHAKE && tern_conn_handshake_done(k->c)) {
        l->st.handshakes++;
        if (tern_conn_resumed(k->c)) l->st.resumed++;
        l->established++;
        if (l->established > l->st.established_peak) l->st.established_peak = l->established;
        if (opt.kind == K_IDLE) {
          k->state = C_HOLDING;
        } else {
          k->state = C_REQUEST;
          if (send_request(k) != TERN_OK) {
            conn_close(l, k, 0);
            return 1;
          }
          if (opt.kind == K_HALFCLOSE) {
            flush_out(k);
            shutdown(k->fd, SHUT_WR);
          }
        }
      }
      if (k->state == C_REQUEST) {
        for (;;) {
          size_t got_n = 0;
          int done;
          rc = tern_tls_read(k->c, l->buf, sizeof l->buf, &got_n);
          if (rc == TERN_ERR_CLOSED || (rc != TERN_OK && rc != TERN_WANT_READ)) {
            conn_ended(l, k);
            return 1;
          }
          if (rc != TERN_OK) break;
          if (!k->first_byte_seen) {
            k->first_byte_seen = 1;
            note_ttfb(&l->st, now_ns() - k->started);
          }
          done = take_response(l, k, l->buf, got_n);
          if (done < 0) {
            l->st.torn++;
            conn_close(l, k, 0);
            return 1;
          }
          if (done > 0 && k->responses >= (int)opt.requests) {
            tern_tls_close(k->c);
            flush_out(k);
            l->established--;
            k->state = C_DONE;
            conn_close(l, k, 0);
            return 1;
          }
          if (done > 0 && k->requests_sent == k->responses && opt.kind != K_HALFCLOSE &&
              send_request(k) != TERN_OK) {
            conn_close(l, k, 0);
            return 1;
          }
        }
      } else {
        size_t got_n;
        while (tern_tls_read(k->c, l->buf, sizeof l->buf, &got_n) == TERN_OK) {
        }
      }
    }
  }
  if (flush_out(k) < 0) {
    conn_ended(l, k);
    return 1;
  }
  watch(l, k);
  return 0;
}

/* Trickle: one more byte of the ClientHello per second. */
static void trickle_all(loop *l, lconn **all, size_t n_all) {
  uint64_t t = now_ns();
  (void)l;
  for (size_t i = 0; i < n_all; i++) {
    lconn *k = all[i];
    if (k == NULL || k->state != C_HANDSHAKE || k->trickle_off >= k->trickle_len ||
        t < k->next_trickle)
      continue;
    if (send(k->fd, k->trickle + k->trickle_off, 1, MSG_NOSIGNAL) == 1) k->trickle_off++;
    k->next_trickle = t + 1000000000u;
  }
}

static void *loop_run(void *arg) {
  loop *l = arg;
  struct epoll_event ev[256];
  uint64_t deadline = now_ns() + (uint64_t)(opt.timeout_s * 1e9), hold_until = 0;
  lconn **all = NULL; /* trickle mode only: every connection, to drip into */
  size_t n_all = 0;
  if (opt.kind == K_TRICKLE) all = calloc(l->to_start, sizeof *all);
  while ((l->to_start > 0 || l->active > 0) && now_ns() < deadline) {
    int n;
    /* idle connections, once established, no longer count against the
       concurrency: it bounds the handshakes under way */
    while (l->to_start > 0 &&
           (opt.kind == K_IDLE ? l->active - l->established : l->active) < opt.concurrency) {
      lconn *k;
      l->to_start--;
      k = conn_start(l);
      if (all && k) all[n_all++] = k;
    }
    if (opt.kind == K_IDLE && l->to_start == 0 && l->established == l->active) {
      if (hold_until == 0) {
        hold_until = now_ns() + (uint64_t)(opt.hold_s * 1e9);
      } else if (now_ns() >= hold_until) {
        break;
      }
    }
    n = epoll_wait(l->ep, ev, 256, all || hold_until ? 100 : 1000);
    for (int i = 0; i < n; i++) {
      lconn *k = ev[i].data.ptr;
      if (conn_event(l, k, ev[i].events) && all)
        for (size_t j = 0; j < n_all; j++)
          if (all[j] == k) all[j] = NULL;
    }
    if (all) trickle_all(l, all, n_all);
  }
  free(all);
  return NULL;
}

/* ---- main ------------------------------------------------------------------ */

static int usage(void) {
  fprintf(stderr,
          "usage: tern_load --port P --ca CA.pem [--host A] [--servername N] [--connections N]\n"
          "       [--concurrency C] [--requests R] [--threads T] [--kind K] [--hold S]\n"
          "       [--tickets-out FILE] [--tickets-in FILE] [--groups NAME] [--timeout S]\n"
          "kinds: normal idle trickle silent garbage reset halfclose\n");
  return 2;
}

int main(int argc, char **argv) {
  loop *loops;
  stats total;
  uint64_t t0, t1;
  struct rusage ru;
  memset(&total, 0, sizeof total);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) return usage();
    i++;
    if (!strcmp(a, "--host")) opt.host = v;
    else if (!strcmp(a, "--servername")) opt.servername = v;
    else if (!strcmp(a, "--ca")) opt.ca = v;
    else if (!strcmp(a, "--port")) opt.port = (unsigned)atoi(v);
    else if (!strcmp(a, "--connections")) opt.connections = (unsigned)atoi(v);
    else if (!strcmp(a, "--concurrency")) opt.concurrency = (unsigned)atoi(v);
    else if (!strcmp(a, "--requests")) opt.requests = (unsigned)atoi(v);
    else if (!strcmp(a, "--threads")) opt.threads = (unsigned)atoi(v);
    else if (!strcmp(a, "--hold")) opt.hold_s = atof(v);
    else if (!strcmp(a, "--timeout")) opt.timeout_s = atof(v);
    else if (!strcmp(a, "--tickets-out")) opt.tickets_out = v;
    else if (!strcmp(a, "--tickets-in")) opt.tickets_in = v;
    else if (!strcmp(a, "--groups")) opt.group = tern_group_from_name(v);
    else if (!strcmp(a, "--kind")) {
      size_t k;
      for (k = 0; k < sizeof kind_names / sizeof *kind_names; k++)
        if (!strcmp(v, kind_names[k])) break;
      if (k == sizeof kind_names / sizeof *kind_names) return usage();
      opt.kind = (enum kind)k;
    } else {
      return usage();
    }
  }
  if (opt.port == 0 || opt.ca == NULL || opt.threads == 0 || opt.concurrency == 0 ||
      opt.requests == 0)
    return usage();
  {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
      r.rlim_cur = r.rlim_max;
      setrlimit(RLIMIT_NOFILE, &r);
    }
  }
  signal(SIGPIPE, SIG_IGN);
  memset(&server_addr, 0, sizeof server_addr);
  if (strchr(opt.host, ':')) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&server_addr;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET6, opt.host, &a6->sin6_addr) != 1) return usage();
    server_addr_len = sizeof *a6;
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)&server_addr;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &a4->sin_addr) != 1) return usage();
    server_addr_len = sizeof *a4;
  }
  if (opt.tickets_in && load_tickets(opt.tickets_in) < 0) {
    fprintf(stderr, "tern_load: cannot read %s\n", opt.tickets_in);
    return 1;
  }
  loops = calloc(opt.threads, sizeof *loops);
  for (unsigned t = 0; t < opt.threads; t++) {
    loop *l = &loops[t];
    const char *alpn[] = {"http/1.1"};
    l->cfg = tern_config_new(TERN_CLIENT);
    if (l->cfg == NULL || tern_config_load_trust(l->cfg, opt.ca, NULL) != TERN_OK) {
      fprintf(stderr, "tern_load: cannot load %s\n", opt.ca);
      return 1;
    }
    tern_config_set_alpn(l->cfg, alpn, 1);
    tern_config_set_clock(l->cfg, wall_ms, NULL);
    tern_config_set_new_session_callback(l->cfg, on_ticket, NULL);
    if (opt.group) {
      tern_config_set_groups(l->cfg, &opt.group, 1);
      tern_config_set_key_share_groups(l->cfg, &opt.group, 1);
    }
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->to_start = opt.connections / opt.threads + (t < opt.connections % opt.threads);
  }
  t0 = now_ns();
  for (unsigned t = 0; t < opt.threads; t++) pthread_create(&loops[t].th, NULL, loop_run, &loops[t]);
  for (unsigned t = 0; t < opt.threads; t++) pthread_join(loops[t].th, NULL);
  t1 = now_ns();
  for (unsigned t = 0; t < opt.threads; t++) {
    stats *s = &loops[t].st;
    uint64_t *a = (uint64_t *)&total, *b = (uint64_t *)s;
    for (size_t i = 0; i < offsetof(stats, ttfb_ms) / sizeof(uint64_t); i++) {
      if (&a[i] == &total.closed_after_ms_min) {
        if (b[i] && (a[i] == 0 || b[i] < a[i])) a[i] = b[i];
      } else if (&a[i] == &total.closed_after_ms_max) {
        if (b[i] > a[i]) a[i] = b[i];
      } else {
        a[i] += b[i];
      }
    }
    for (size_t i = 0; i < s->n_ttfb; i++) note_ttfb(&total, (uint64_t)(s->ttfb_ms[i] * 1e6));
  }
  getrusage(RUSAGE_SELF, &ru);
  {
    double wall = (double)(t1 - t0) / 1e9,
           cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
           p50 = 0, p99 = 0;
    if (total.n_ttfb) {
      qsort(total.ttfb_ms, total.n_ttfb, sizeof(double), cmp_double);
      p50 = total.ttfb_ms[total.n_ttfb / 2];
      p99 = total.ttfb_ms[(total.n_ttfb * 99) / 100 < total.n_ttfb ? (total.n_ttfb * 99) / 100
                                                                 : total.n_ttfb - 1];
    }
    printf("load: kind %s started %llu handshakes %llu resumed %llu established_peak %llu "
           "requests_ok %llu bad_status %llu torn %llu unanswered %llu closed_by_server %llu "
           "failed_connect %llu failed_tls %llu closed_early %llu closed_after_ms %llu..%llu "
           "wall_s %.3f client_cpu_s %.3f ttfb_p50_ms %.2f ttfb_p99_ms %.2f rate %.1f\n",
           kind_names[opt.kind], (unsigned long long)total.started,
           (unsigned long long)total.handshakes, (unsigned long long)total.resumed,
           (unsigned long long)total.established_peak, (unsigned long long)total.requests_ok,
           (unsigned long long)total.bad_status, (unsigned long long)total.torn,
           (unsigned long long)total.unanswered, (unsigned long long)total.closed_by_server,
           (unsigned long long)total.failed_connect, (unsigned long long)total.failed_tls,
           (unsigned long long)total.closed_early,
           (unsigned long long)total.closed_after_ms_min,
           (unsigned long long)total.closed_after_ms_max, wall, cpu, p50, p99,
           wall > 0 ? (double)total.handshakes / wall : 0.0);
  }
  if (opt.tickets_out && save_tickets(opt.tickets_out) != 0) {
    fprintf(stderr, "tern_load: cannot write %s\n", opt.tickets_out);
    return 1;
  }
  return 0;
}
