/*
 * cli_serve.c - the event loop of `tern server`: N workers (threads),
 * each a non-blocking epoll loop with listening sockets of its own on
 * the same port (SO_REUSEPORT: the kernel spreads new connections over
 * them), all sharing one tern_config, hence its ticket keys and strike
 * register (a ticket issued by one worker resumes on any other).
 *
 * Every connection is one small object (sconn) moved along by readiness
 * and by deadlines; nothing on the path blocks: accept, the handshake,
 * application data, close_notify, the linger before close. Deadlines are
 * kept in one list per kind of timeout (handshake, idle, linger); each
 * list's timeout is fixed, so appending keeps it in deadline order and
 * (re)arming, disarming and expiring are O(1).
 *
 * Limits: a handshake has handshake_ms from accept to its end, whatever
 * the peer trickles; an open connection is closed after idle_ms without
 * an answered request, echoed data or a byte sent (a partial request
 * head does not count, so a slow sender cannot keep it); max_conns open
 * connections over all workers, beyond which a new one is closed at
 * once; at most max_buffer bytes wait for a peer that does not read
 * before the server stops reading it. Each of these is counted, and the
 * counts make the summary line printed on exit.
 *
 * Memory: an idle connection keeps only its tern_conn (with the record
 * keys) and its sconn: tern_tls_release_buffers gives back the record
 * buffers, and the HTTP request buffer is freed between requests.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#define PROG "tern server"
/* After our close_notify and our FIN: how long the peer's end is awaited
   (reading and dropping), so that unread input does not make the kernel
   reset what we sent. */
#define LINGER_MS 2000
/* While accepting fails for want of descriptors or memory. */
#define ACCEPT_PAUSE_MS 100
#define MAX_EVENTS 256

/* ---- counters ------------------------------------------------------ */

typedef struct serve_stats {
  uint64_t accepted, refused, handshakes, resumed, requests;
  uint64_t early;                 /* connections whose 0-RTT was accepted */
  uint64_t hs_timeouts, idle_timeouts, peer_closed_hs, resets, backpressure, cut_at_stop;
  uint64_t failed;                /* by a tern failure (alert or error) */
  uint64_t by_alert[256];         /* failed, by the alert sent or received */
} serve_stats;

static void stats_add(serve_stats *to, const serve_stats *from) {
  const uint64_t *f = (const uint64_t *)from;
  uint64_t *t = (uint64_t *)to;
  for (size_t i = 0; i < sizeof *from / sizeof(uint64_t); i++) t[i] += f[i];
}

/* ---- connections and workers --------------------------------------- */

enum { ST_HANDSHAKE, ST_OPEN, ST_CLOSING };
enum { L_HANDSHAKE, L_IDLE, L_LINGER, L_COUNT, L_NONE = L_COUNT };

struct worker;

typedef struct sconn {
  struct sconn *prev, *next; /* in the worker's list of kind `list` */
  uint64_t deadline;
  int list;
  int fd;
  int state;
  uint32_t events;           /* what epoll watches for now */
  tern_conn *c;
  cli_www *www;              /* --www: while a request is under way */
  uint8_t *held;             /* received bytes tern did not take yet */
  size_t held_len;
  uint64_t number;
  int early_counted;         /* its accepted 0-RTT is in the counters */
  uint64_t bytes_in, bytes_out;
  unsigned answered;         /* --www: requests answered */
  unsigned sock_eof : 1;     /* the peer shut its side of TCP */
  unsigned shut_wr : 1;      /* our FIN is out */
  unsigned truncated : 1;    /* TCP ended without close_notify */
  unsigned failed : 1;       /* the result, for --once */
  unsigned backpressured : 1;
  unsigned logged_request : 1;
  unsigned counted : 1;
  unsigned peer_notified : 1; /* the peer's close_notify was read */
} sconn;

typedef struct server server;

typedef struct worker {
  server *sv;
  int id;
  pthread_t thread;
  int ep;                    /* epoll */
  int lfd[2];                /* listening: 127.0.0.1, ::1 (or -1) */
  int stopfd;                /* eventfd: the main thread asks to stop */
  struct {
    sconn *head, *tail;
    unsigned ms;
  } lists[L_COUNT];
  size_t n_conns;
  int stopping;
  uint64_t stop_deadline;
  uint64_t accept_resume;    /* 0, or when to accept again */
  int nodelay;               /* accepted sockets: 0 unknown, 1 inherit TCP_NODELAY from
                                the listening one (Linux), -1 need it set each */
  uint64_t now;              /* ms, CLOCK_MONOTONIC, read once per round */
  serve_stats st;
  uint8_t buf[65536];
} worker;

struct server {
  const cli_serve_opts *o;
  unsigned port;
  unsigned n_workers;
  worker *workers;
  unsigned open;             /* connections open, all workers (atomic) */
  uint64_t numbers;          /* connections numbered so far (atomic) */
  int donefd;                /* eventfd: --once, the connection ended */
  int once_set;              /* the first connection's result is in (atomic) */
  int once_result;
};

/* Tags of the descriptors that are not connections, in epoll's data. */
#define TAG_LISTEN4 1
#define TAG_LISTEN6 2
#define TAG_STOP 3

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- deadline lists -------------------------------------------------- */

static void timer_stop(worker *w, sconn *s) {
  if (s->list == L_NONE) return;
  if (s->prev) s->prev->next = s->next;
  else w->lists[s->list].head = s->next;
  if (s->next) s->next->prev = s->prev;
  else w->lists[s->list].tail = s->prev;
  s->prev = s->next = NULL;
  s->list = L_NONE;
}

/* (Re)arms s on list: its deadline is now + that list's timeout. */
static void timer_arm(worker *w, sconn *s, int list) {
  timer_stop(w, s);
  s->list = list;
  s->deadline = w->now + w->lists[list].ms;
  s->prev = w->lists[list].tail;
  s->next = NULL;
  if (s->prev) s->prev->next = s;
  else w->lists[list].head = s;
  w->lists[list].tail = s;
}

/* ---- output and teardown -------------------------------------------- */

static size_t out_pending(const sconn *s) {
  size_t n;
  tern_tls_output(s->c, &n);
  return n;
}

/* Sends what the socket takes. Returns 1 when something went, 0 when
   nothing did, -1 on a socket error (errno). */
static int send_some(sconn *s) {
  const uint8_t *p;
  size_t n;
  int sent = 0;
  while ((p = tern_tls_output(s->c, &n)) != NULL) {
    ssize_t k = send(s->fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return sent;
    if (k < 0) return -1;
    tern_tls_output_done(s->c, (size_t)k);
    sent = 1;
  }
  return sent;
}

/* --once: the first connection that ends gives the exit code. */
static void once_done(worker *w, int result) {
  uint64_t one = 1;
  if (__atomic_exchange_n(&w->sv->once_set, 1, __ATOMIC_ACQ_REL)) return;
  w->sv->once_result = result;
  (void)!write(w->sv->donefd, &one, sizeof one);
}

/* Closes and frees s. */
static void conn_free(worker *w, sconn *s) {
  timer_stop(w, s);
  close(s->fd); /* epoll forgets it */
  if (w->sv->o->once) once_done(w, s->failed || s->state == ST_HANDSHAKE ? 1 : 0);
  tern_conn_free(s->c);
  free(s->www);
  free(s->held);
  free(s);
  w->n_conns--;
  __atomic_sub_fetch(&w->sv->open, 1, __ATOMIC_RELAXED);
}

/* The end of a connection that got through its handshake: the log line. */
static void log_closed(worker *w, sconn *s) {
  const cli_serve_opts *o = w->sv->o;
  unsigned ku_in, ku_out;
  if (o->quiet || s->state == ST_HANDSHAKE) return;
  ku_in = tern_tls_key_updates(s->c, TERN_READ);
  ku_out = tern_tls_key_updates(s->c, TERN_WRITE);
  flockfile(stdout);
  if (!s->failed && s->truncated)
    printf("  note: the client closed the TCP connection without close_notify\n");
  if (ku_in || ku_out) printf("  KeyUpdate: %u received, %u sent\n", ku_in, ku_out);
  printf("connection %llu %s: %llu bytes received, %llu sent\n", (unsigned long long)s->number,
         s->failed ? "failed" : "closed", (unsigned long long)s->bytes_in,
         (unsigned long long)s->bytes_out);
  fflush(stdout);
  funlockfile(stdout);
}

static void conn_end(worker *w, sconn *s) {
  log_closed(w, s);
  conn_free(w, s);
}

/* A failure tern reported: counted by alert, reported, the alert sent as
   far as the socket takes it, the connection closed. */
static void conn_tern_failed(worker *w, sconn *s, const char *what, int rc) {
  char prog[64];
  uint8_t alert = tern_conn_alert(s->c);
  w->st.failed++;
  w->st.by_alert[alert]++;
  s->failed = 1;
  (void)send_some(s);
  snprintf(prog, sizeof prog, PROG ": connection %llu", (unsigned long long)s->number);
  cli_report(prog, what, s->c, rc);
  if (s->state == ST_HANDSHAKE && !w->sv->o->quiet) {
    printf("connection %llu failed in the handshake\n", (unsigned long long)s->number);
    fflush(stdout);
  }
  conn_end(w, s);
}

/* A socket error or the peer's early end: counted, said, closed. */
static void conn_socket_failed(worker *w, sconn *s, const char *what) {
  int e = errno;
  if (s->state == ST_CLOSING) {
    /* a client that sent close_notify (or got ours) and closed at once
       resets what we still send: the connection is over, not failed */
    conn_end(w, s);
    return;
  }
  if (s->state == ST_HANDSHAKE) {
    if (e == 0) w->st.peer_closed_hs++;
    else w->st.resets++;
    if (!w->sv->o->quiet) {
      fprintf(stderr, PROG ": connection %llu: handshake failed: %s\n",
              (unsigned long long)s->number,
              e == 0 ? "the peer closed the connection" : strerror(e));
      printf("connection %llu failed in the handshake\n", (unsigned long long)s->number);
      fflush(stdout);
    }
  } else {
    w->st.resets++;
    if (!w->sv->o->quiet)
      fprintf(stderr, PROG ": connection %llu: %s: %s\n", (unsigned long long)s->number, what,
              strerror(e));
  }
  s->failed = 1;
  conn_end(w, s);
}

/* Our close_notify is queued: send it, then FIN, then linger for the
   peer's end (unless the peer's close_notify came first: then close as
   soon as ours is sent). */
static void conn_closing(worker *w, sconn *s) {
  if (s->state != ST_CLOSING) {
    s->state = ST_CLOSING;
    timer_arm(w, s, L_LINGER);
  }
  free(s->held);
  s->held = NULL;
  s->held_len = 0;
}

/* ---- the application: echo or --www ---------------------------------- */

/* After a cli_www call: the log, the counts, what comes next. Returns 0,
   or -1 when the connection failed (reported). */
static int www_after(worker *w, sconn *s, int rc) {
  const cli_serve_opts *o = w->sv->o;
  cli_www *www = s->www;
  const char *line;
  size_t len;
  if (rc != TERN_OK) {
    conn_tern_failed(w, s, "write", rc);
    return -1;
  }
  if (www->state == CLI_WWW_READING) return 0;
  if (!o->quiet && !s->logged_request) {
    len = cli_www_request_line(www, &line);
    flockfile(stdout);
    printf("  request: %.*s\n", (int)len, line);
    if (www->state == CLI_WWW_AUTHENTICATING)
      printf("  asked for a client certificate after the handshake\n");
    funlockfile(stdout);
    s->logged_request = 1;
  }
  if (www->state != CLI_WWW_ANSWERED || s->counted) return 0;
  s->counted = 1;
  s->answered++;
  w->st.requests++;
  timer_arm(w, s, L_IDLE); /* an answered request is progress */
  if (!o->quiet) {
    flockfile(stdout);
    if (tern_tls_client_auths_completed(s->c) > 0) {
      cli_summary sum;
      cli_summarize(s->c, &sum);
      printf("  post-handshake client certificate: %s\n", sum.peer_subject);
    }
    printf("  answered %d%s%s\n", www->status, www->note[0] ? ": " : "", www->note);
    fflush(stdout);
    funlockfile(stdout);
  }
  return 0;
}

/* The next request of a kept-alive connection (pipelined bytes may
   already hold it). Returns 0 or -1 (failed). */
static int www_next(worker *w, sconn *s) {
  s->logged_request = s->counted = 0;
  s->bytes_out += s->www->bytes_out;
  s->www->bytes_out = 0;
  if (w->stopping) s->www->last = 1;
  return www_after(w, s, cli_www_next(s->www, s->c, w->sv->o->www_settings));
}

/* Runs the HTTP side while the output is not backed up. Returns 1 when
   the peer's close_notify was read, 0, or -1 (failed, freed). */
static int run_www(worker *w, sconn *s, int *progress) {
  const cli_serve_opts *o = w->sv->o;
  (void)progress;
  for (;;) {
    cli_www *www = s->www;
    size_t n = 0, room;
    int rc;
    if (out_pending(s) >= o->limits.max_buffer) return 0;
    if (www == NULL) {
      if (tern_tls_pending(s->c) == 0 && !tern_tls_peer_closed(s->c)) return 0;
      if ((www = s->www = calloc(1, sizeof *www)) == NULL) {
        errno = ENOMEM;
        conn_socket_failed(w, s, "out of memory");
        return -1;
      }
      www->last = w->stopping;
    }
    if (www->state == CLI_WWW_AUTHENTICATING) {
      /* the client's certificate messages come as handshake records,
         taken inside tern_tls_feed; its close_notify gets a 403 */
      if (www_after(w, s, cli_www_progress(www, s->c)) < 0) return -1;
      if (www->state == CLI_WWW_AUTHENTICATING) return 0;
    }
    if (www->state == CLI_WWW_ANSWERED) {
      if (!www->keep_alive) return 0; /* close_notify is queued */
      if (www_next(w, s) < 0) return -1;
      if (www->state == CLI_WWW_ANSWERED) continue; /* a pipelined one */
    }
    room = cli_www_room(www);
    if (room == 0) return 0;
    rc = tern_tls_read(s->c, w->buf, room < sizeof w->buf ? room : sizeof w->buf, &n);
    if (rc == TERN_WANT_READ) return 0;
    if (rc == TERN_ERR_CLOSED) return 1;
    if (rc != TERN_OK) {
      conn_tern_failed(w, s, "connection", rc);
      return -1;
    }
    s->bytes_in += n; /* not progress for the idle timeout: an answer is */
    if (www_after(w, s, cli_www_data(www, s->c, o->www_settings, w->buf, n)) < 0) return -1;
  }
}

/* Echo: what arrives goes back, while the output is not backed up. */
static int run_echo(worker *w, sconn *s, int *progress) {
  for (;;) {
    size_t n = 0;
    int rc;
    if (out_pending(s) >= w->sv->o->limits.max_buffer) return 0;
    rc = tern_tls_read(s->c, w->buf, sizeof w->buf, &n);
    if (rc == TERN_WANT_READ) return 0;
    if (rc == TERN_ERR_CLOSED) return 1;
    if (rc == TERN_OK) rc = tern_tls_write(s->c, w->buf, n);
    if (rc != TERN_OK) {
      conn_tern_failed(w, s, rc == TERN_OK ? "write" : "connection", rc);
      return -1;
    }
    s->bytes_in += n;
    s->bytes_out += n;
    *progress = 1;
  }
}

/* The handshake just ended: counted, logged, the idle timeout armed. */
static void handshake_done(worker *w, sconn *s) {
  s->state = ST_OPEN;
  w->st.handshakes++;
  if (tern_conn_resumed(s->c)) w->st.resumed++;
  timer_arm(w, s, L_IDLE);
  if (!w->sv->o->quiet) {
    cli_summary sum;
    cli_summarize(s->c, &sum);
    flockfile(stdout);
    printf("  handshake done\n");
    cli_print_summary(stdout, "  ", &sum, "client certificate");
    funlockfile(stdout);
  }
}

/* Gives tern the bytes it has not taken yet. Returns 0 or -1 (freed). */
static int feed_held(worker *w, sconn *s) {
  size_t used = 0;
  int rc;
  if (s->held_len == 0) return 0;
  rc = tern_tls_feed(s->c, s->held, s->held_len, &used);
  if (rc < 0) {
    conn_tern_failed(w, s, s->state == ST_HANDSHAKE ? "handshake" : "connection", rc);
    return -1;
  }
  memmove(s->held, s->held + used, s->held_len - used);
  s->held_len -= used;
  if (s->held_len == 0) {
    free(s->held);
    s->held = NULL;
  }
  return 0;
}

/* Reads what the socket has (a few reads at most, for fairness) and
   gives it to tern. Returns 0, or -1 when the connection ended (freed). */
static int conn_read(worker *w, sconn *s) {
  for (int round = 0; round < 4 && !s->sock_eof && s->held_len == 0; round++) {
    size_t used = 0;
    ssize_t k = recv(s->fd, w->buf, sizeof w->buf, 0);
    int rc;
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (k < 0) {
      conn_socket_failed(w, s, "receiving");
      return -1;
    }
    if (k == 0) {
      s->sock_eof = 1;
      return 0;
    }
    if (s->state == ST_CLOSING) continue; /* after our close_notify: dropped */
    rc = tern_tls_feed(s->c, w->buf, (size_t)k, &used);
    if (rc < 0) {
      conn_tern_failed(w, s, s->state == ST_HANDSHAKE ? "handshake" : "connection", rc);
      return -1;
    }
    if (used < (size_t)k) { /* tern holds 64 KiB unread: keep the rest */
      if ((s->held = malloc((size_t)k - used)) == NULL) {
        errno = ENOMEM;
        conn_socket_failed(w, s, "out of memory");
        return -1;
      }
      memcpy(s->held, w->buf + used, (size_t)k - used);
      s->held_len = (size_t)k - used;
    }
    if ((size_t)k < sizeof w->buf) return 0; /* drained */
  }
  return 0;
}

/* Whether an open connection has nothing under way: no request begun,
   nothing to send, nothing unread. */
static int conn_idle(const sconn *s) {
  return s->state == ST_OPEN && out_pending(s) == 0 && s->held_len == 0 &&
         tern_tls_pending(s->c) == 0 && (s->www == NULL || cli_www_idle(s->www));
}

/* Sets what epoll watches for s. Returns 0 or -1 (freed). */
static int conn_watch(worker *w, sconn *s) {
  uint32_t want = 0;
  if (!s->sock_eof && s->held_len == 0) want |= EPOLLIN;
  if (out_pending(s) > 0) want |= EPOLLOUT;
  if (want == s->events) return 0;
  if (epoll_ctl(w->ep, EPOLL_CTL_MOD, s->fd, &(struct epoll_event){want, {.ptr = s}}) != 0) {
    conn_socket_failed(w, s, "epoll");
    return -1;
  }
  s->events = want;
  return 0;
}

/* Moves s along after readiness (events) or a deadline (events 0). */
static void conn_step(worker *w, sconn *s, uint32_t events) {
  int progress = 0, rc = 0;
  const cli_serve_opts *o = w->sv->o;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && conn_read(w, s) < 0) return;
  if (feed_held(w, s) < 0) return;
  if (s->state == ST_HANDSHAKE) {
    /* 0-RTT is decided at the ClientHello: counted then, even when the
       handshake never ends (a replayed first flight) */
    if (!s->early_counted && tern_conn_early_data_status(s->c) == TERN_EARLY_DATA_ACCEPTED) {
      s->early_counted = 1;
      w->st.early++;
    }
    if (!tern_conn_handshake_done(s->c)) {
      if (send_some(s) < 0) {
        conn_socket_failed(w, s, "sending");
        return;
      }
      if (s->sock_eof) {
        errno = 0;
        conn_socket_failed(w, s, "handshake");
        return;
      }
      conn_watch(w, s);
      return;
    }
    handshake_done(w, s);
  }
  if (s->state == ST_OPEN) {
    rc = o->www ? run_www(w, s, &progress) : run_echo(w, s, &progress);
    if (rc < 0) return;
    if (out_pending(s) < o->limits.max_buffer) {
      s->backpressured = 0;
    } else if (!s->backpressured && (tern_tls_pending(s->c) > 0 || s->held_len > 0)) {
      s->backpressured = 1; /* input waits for a peer that does not read */
      w->st.backpressure++;
    }
    if (rc == 1) {
      /* the peer's close_notify: answer with ours (RFC 8446 §6.1) */
      s->peer_notified = 1;
      tern_tls_close(s->c);
      conn_closing(w, s);
    } else if (s->www && s->www->state == CLI_WWW_ANSWERED && !s->www->keep_alive) {
      conn_closing(w, s); /* close_notify followed the answer */
    } else if (w->stopping && conn_idle(s) && (!o->www || s->answered > 0)) {
      /* between requests (a new connection's first request is awaited,
         within the grace period) */
      tern_tls_close(s->c);
      conn_closing(w, s);
    } else if (s->sock_eof && (s->www == NULL || s->www->state == CLI_WWW_READING) &&
               tern_tls_pending(s->c) == 0 && s->held_len == 0) {
      /* the TCP stream ended without close_notify (a half-close after
         a request: its answer, then ours) */
      s->truncated = 1;
      tern_tls_close(s->c);
      conn_closing(w, s);
    }
  }
  switch (send_some(s)) {
    case -1:
      conn_socket_failed(w, s, "sending");
      return;
    case 1:
      progress = 1;
      break;
  }
  if (s->state == ST_CLOSING) {
    if (out_pending(s) > 0) {
      conn_watch(w, s);
      return;
    }
    if (s->peer_notified) {
      /* the peer said it sends nothing more: no input can be left unread
         to make the kernel reset what we sent, so no FIN-and-linger (as
         nginx closes a kept-alive connection on the client's
         close_notify): close now, saving a shutdown, a wake-up and a
         read per connection */
      conn_end(w, s);
      return;
    }
    if (!s->shut_wr) {
      shutdown(s->fd, SHUT_WR);
      s->shut_wr = 1;
    }
    if (s->sock_eof) {
      conn_end(w, s);
      return;
    }
    conn_watch(w, s);
    return;
  }
  /* echoed data and bytes sent are progress (a partial request head is
     not: a slow sender gets no more than the idle timeout) */
  if (progress && s->state == ST_OPEN) timer_arm(w, s, L_IDLE);
  if (conn_idle(s)) {
    /* waiting for the peer with nothing under way: keep only the keys */
    tern_tls_release_buffers(s->c);
    if (s->www) {
      s->bytes_out += s->www->bytes_out;
      free(s->www);
      s->www = NULL;
    }
  }
  conn_watch(w, s);
}

/* ---- accepting -------------------------------------------------------- */

static void conn_accept(worker *w, int lfd) {
  const cli_serve_opts *o = w->sv->o;
  for (int i = 0; i < 64; i++) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int one = 1, fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    sconn *s;
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        /* no descriptor to take it with: try again shortly (LT epoll
           would report the same backlog at once) */
        w->accept_resume = w->now + ACCEPT_PAUSE_MS;
        for (int k = 0; k < 2; k++)
          if (w->lfd[k] >= 0) epoll_ctl(w->ep, EPOLL_CTL_DEL, w->lfd[k], NULL);
        w->st.refused++;
      }
      return;
    }
    w->st.accepted++;
    if (__atomic_add_fetch(&w->sv->open, 1, __ATOMIC_RELAXED) > o->limits.max_conns) {
      __atomic_sub_fetch(&w->sv->open, 1, __ATOMIC_RELAXED);
      w->st.refused++;
      close(fd);
      continue;
    }
    if (w->nodelay == 0) { /* once: is the listener's TCP_NODELAY inherited? */
      int v = 0;
      socklen_t vl = sizeof v;
      w->nodelay = getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v ? 1 : -1;
    }
    if (w->nodelay < 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s = calloc(1, sizeof *s);
    if (s != NULL && (s->c = tern_conn_new_tls(o->cfg, s)) == NULL) {
      free(s);
      s = NULL;
    }
    if (s == NULL) {
      __atomic_sub_fetch(&w->sv->open, 1, __ATOMIC_RELAXED);
      w->st.refused++;
      close(fd);
      continue;
    }
    s->fd = fd;
    s->list = L_NONE;
    s->events = EPOLLIN;
    s->number = __atomic_add_fetch(&w->sv->numbers, 1, __ATOMIC_RELAXED);
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){EPOLLIN, {.ptr = s}}) != 0) {
      tern_conn_free(s->c);
      free(s);
      close(fd);
      __atomic_sub_fetch(&w->sv->open, 1, __ATOMIC_RELAXED);
      w->st.refused++;
      continue;
    }
    w->n_conns++;
    timer_arm(w, s, L_HANDSHAKE);
    if (!o->quiet) {
      char name[64];
      cli_addr_string(&peer, name, sizeof name);
      if (w->sv->n_workers > 1)
        printf("connection %llu from %s (worker %d)\n", (unsigned long long)s->number, name,
               w->id);
      else
        printf("connection %llu from %s\n", (unsigned long long)s->number, name);
      fflush(stdout);
    }
  }
}

/* ---- deadlines and stopping ---------------------------------------- */

static void expire(worker *w) {
  sconn *s;
  while ((s = w->lists[L_HANDSHAKE].head) != NULL && s->deadline <= w->now) {
    w->st.hs_timeouts++;
    s->failed = 1;
    if (!w->sv->o->quiet) {
      fprintf(stderr, PROG ": connection %llu: handshake failed: not done in %u ms\n",
              (unsigned long long)s->number, w->lists[L_HANDSHAKE].ms);
      printf("connection %llu failed in the handshake\n", (unsigned long long)s->number);
      fflush(stdout);
    }
    conn_end(w, s);
  }
  while ((s = w->lists[L_IDLE].head) != NULL && s->deadline <= w->now) {
    w->st.idle_timeouts++;
    s->failed = 1;
    if (!w->sv->o->quiet)
      fprintf(stderr, PROG ": connection %llu: idle for %u ms; closing\n",
              (unsigned long long)s->number, w->lists[L_IDLE].ms);
    tern_tls_close(s->c);
    (void)send_some(s);
    conn_end(w, s);
  }
  while ((s = w->lists[L_LINGER].head) != NULL && s->deadline <= w->now) conn_end(w, s);
  if (w->accept_resume && w->accept_resume <= w->now && !w->stopping) {
    w->accept_resume = 0;
    for (int k = 0; k < 2; k++)
      if (w->lfd[k] >= 0)
        epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd[k],
                  &(struct epoll_event){EPOLLIN, {.u64 = k ? TAG_LISTEN6 : TAG_LISTEN4}});
  }
}

/* Calls fn on every connection of w (fn may free the one it is given). */
static void each_conn(worker *w, void (*fn)(worker *, sconn *)) {
  for (int l = 0; l < L_COUNT; l++)
    for (sconn *s = w->lists[l].head, *next; s; s = next) {
      next = s->next;
      fn(w, s);
    }
}

/* At the stop: idle connections get close_notify now; the others when
   their request is answered (conn_step checks w->stopping). */
static void stop_one(worker *w, sconn *s) {
  if (s->www) s->www->last = 1;
  conn_step(w, s, 0);
}

/* At the end of the grace period: whatever is left is closed. */
static void cut_one(worker *w, sconn *s) {
  w->st.cut_at_stop++;
  if (s->state == ST_OPEN) {
    tern_tls_close(s->c);
    (void)send_some(s);
  }
  conn_end(w, s);
}

static void worker_stop(worker *w) {
  uint64_t v;
  (void)!read(w->stopfd, &v, sizeof v);
  if (w->stopping) return;
  w->stopping = 1;
  w->stop_deadline = w->now + w->sv->o->limits.grace_ms;
  for (int k = 0; k < 2; k++)
    if (w->lfd[k] >= 0) {
      close(w->lfd[k]);
      w->lfd[k] = -1;
    }
  each_conn(w, stop_one);
}

/* The earliest deadline, as an epoll_wait timeout. */
static int next_timeout(const worker *w) {
  uint64_t t = UINT64_MAX;
  for (int l = 0; l < L_COUNT; l++)
    if (w->lists[l].head && w->lists[l].head->deadline < t) t = w->lists[l].head->deadline;
  if (w->accept_resume && w->accept_resume < t) t = w->accept_resume;
  if (w->stopping && w->stop_deadline < t) t = w->stop_deadline;
  if (t == UINT64_MAX) return -1;
  return t <= w->now ? 0 : (int)(t - w->now > 60000 ? 60000 : t - w->now);
}

static void *worker_run(void *arg) {
  worker *w = arg;
  struct epoll_event ev[MAX_EVENTS];
  w->now = mono_ms();
  while (!(w->stopping && w->n_conns == 0)) {
    int n = epoll_wait(w->ep, ev, MAX_EVENTS, next_timeout(w));
    if (n < 0 && errno != EINTR) {
      fprintf(stderr, PROG ": epoll_wait: %s\n", strerror(errno));
      break;
    }
    w->now = mono_ms();
    for (int i = 0; i < n; i++) {
      uint64_t tag = ev[i].data.u64;
      if (tag == TAG_LISTEN4 || tag == TAG_LISTEN6) {
        if (!w->stopping && w->lfd[tag - TAG_LISTEN4] >= 0)
          conn_accept(w, w->lfd[tag - TAG_LISTEN4]);
      } else if (tag == TAG_STOP) {
        worker_stop(w);
      } else {
        conn_step(w, ev[i].data.ptr, ev[i].events);
      }
    }
    expire(w);
    if (w->stopping && w->now >= w->stop_deadline) each_conn(w, cut_one);
  }
  /* a worker that failed early leaves its connections */
  each_conn(w, conn_free);
  return NULL;
}

/* ---- listening ------------------------------------------------------ */

static int listen_on(struct sockaddr *addr, socklen_t len) {
  int one = 1, fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  /* accepted sockets inherit it on Linux: one setsockopt less per connection */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind(fd, addr, len) != 0 || listen(fd, 4096) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Worker w's listening sockets on sv->port (the first one fixes the port
   when 0 was asked). Returns 0, or -1 after saying why. */
static int worker_listen(server *sv, worker *w, int *v6_errno) {
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
  socklen_t len = sizeof v4;
  memset(&v4, 0, sizeof v4);
  v4.sin_family = AF_INET;
  v4.sin_port = htons((uint16_t)sv->port);
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((w->lfd[0] = listen_on((struct sockaddr *)&v4, sizeof v4)) < 0) {
    fprintf(stderr, PROG ": cannot listen on 127.0.0.1:%u: %s\n", sv->port, strerror(errno));
    return -1;
  }
  getsockname(w->lfd[0], (struct sockaddr *)&v4, &len);
  sv->port = ntohs(v4.sin_port);
  memset(&v6, 0, sizeof v6);
  v6.sin6_family = AF_INET6;
  v6.sin6_port = v4.sin_port;
  v6.sin6_addr = in6addr_loopback;
  w->lfd[1] = listen_on((struct sockaddr *)&v6, sizeof v6);
  *v6_errno = w->lfd[1] < 0 ? errno : 0;
  return 0;
}

static int worker_init(server *sv, worker *w, int id, int *v6_errno) {
  const cli_serve_limits *lim = &sv->o->limits;
  w->sv = sv;
  w->id = id;
  w->lfd[0] = w->lfd[1] = -1;
  w->stopfd = -1;
  w->lists[L_HANDSHAKE].ms = lim->handshake_ms;
  w->lists[L_IDLE].ms = lim->idle_ms;
  w->lists[L_LINGER].ms = lim->idle_ms < LINGER_MS ? lim->idle_ms : LINGER_MS;
  if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
      (w->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
    fprintf(stderr, PROG ": epoll: %s\n", strerror(errno));
    return -1;
  }
  if (worker_listen(sv, w, v6_errno) < 0) return -1;
  epoll_ctl(w->ep, EPOLL_CTL_ADD, w->stopfd, &(struct epoll_event){EPOLLIN, {.u64 = TAG_STOP}});
  for (int k = 0; k < 2; k++)
    if (w->lfd[k] >= 0)
      epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd[k],
                &(struct epoll_event){EPOLLIN, {.u64 = k ? TAG_LISTEN6 : TAG_LISTEN4}});
  return 0;
}

static void worker_close(worker *w) {
  for (int k = 0; k < 2; k++)
    if (w->lfd[k] >= 0) close(w->lfd[k]);
  if (w->stopfd >= 0) close(w->stopfd);
  if (w->ep >= 0) close(w->ep);
}

/* ---- the summary ---------------------------------------------------- */

static void print_summary(const serve_stats *st, unsigned workers) {
  char alerts[1024];
  size_t n = 0;
  alerts[0] = '\0';
  for (int a = 0; a < 256; a++) {
    const char *name;
    if (st->by_alert[a] == 0) continue;
    name = a == 0 ? "no alert" : tern_alert_name((uint8_t)a);
    n += (size_t)snprintf(alerts + n, sizeof alerts - n, "%s%s %llu", n ? ", " : "",
                          name ? name : "?", (unsigned long long)st->by_alert[a]);
    if (n >= sizeof alerts) break;
  }
  printf(PROG ": stopped (%u worker%s): %llu connections, %llu handshakes (%llu resumed), "
              "%llu requests; failed %llu%s%s%s; handshake timeouts %llu, idle timeouts %llu, "
              "closed by the peer in the handshake %llu, resets %llu, refused over --max-conns "
              "%llu, back-pressure %llu, cut at the stop %llu, 0-RTT accepted %llu\n",
         workers, workers == 1 ? "" : "s", (unsigned long long)st->accepted,
         (unsigned long long)st->handshakes, (unsigned long long)st->resumed,
         (unsigned long long)st->requests, (unsigned long long)st->failed,
         n ? " (" : "", alerts, n ? ")" : "", (unsigned long long)st->hs_timeouts,
         (unsigned long long)st->idle_timeouts, (unsigned long long)st->peer_closed_hs,
         (unsigned long long)st->resets, (unsigned long long)st->refused,
         (unsigned long long)st->backpressure, (unsigned long long)st->cut_at_stop,
         (unsigned long long)st->early);
  fflush(stdout);
}

/* ---- the server ------------------------------------------------------ */

/* Enough descriptors for max_conns (and the listeners, epoll, files). */
static void raise_fd_limit(const cli_serve_opts *o) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
  if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < (rlim_t)o->limits.max_conns + 64u)
    fprintf(stderr, PROG ": note: --max-conns %u is above what the descriptor limit (%llu) "
                         "allows; accepting pauses when it is reached\n",
            o->limits.max_conns, (unsigned long long)r.rlim_cur);
}

int cli_serve(const cli_serve_opts *o) {
  server sv;
  sigset_t sigs;
  int sigfd = -1, result = 1, v6_errno = 0;
  unsigned started = 0;
  memset(&sv, 0, sizeof sv);
  sv.o = o;
  sv.port = o->port;
  sv.n_workers = o->workers ? o->workers : 1;
  sv.donefd = -1;
  raise_fd_limit(o);
  /* the signals go to a signalfd of this thread; workers never see them */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  signal(SIGPIPE, SIG_IGN);
  if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0 ||
      (sigfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0 ||
      (sv.donefd = eventfd(0, EFD_CLOEXEC)) < 0 ||
      (sv.workers = calloc(sv.n_workers, sizeof *sv.workers)) == NULL) {
    fprintf(stderr, PROG ": cannot set up: %s\n", strerror(errno));
    goto out;
  }
  for (unsigned i = 0; i < sv.n_workers; i++) {
    sv.workers[i].ep = -1;
    if (worker_init(&sv, &sv.workers[i], (int)i, &v6_errno) < 0) goto out;
  }
  {
    char a[64], b[64], extra[32] = "";
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sv.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)sv.port),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    cli_addr_string(&v4, a, sizeof a);
    cli_addr_string(&v6, b, sizeof b);
    if (sv.n_workers > 1) snprintf(extra, sizeof extra, " (%u workers)", sv.n_workers);
    if (v6_errno == 0)
      printf(PROG ": listening on %s and %s%s\n", a, b, extra);
    else
      printf(PROG ": listening on %s (not %s: %s)%s\n", a, b, strerror(v6_errno), extra);
    fflush(stdout);
  }
  for (; started < sv.n_workers; started++)
    if (pthread_create(&sv.workers[started].thread, NULL, worker_run, &sv.workers[started]) != 0) {
      fprintf(stderr, PROG ": cannot start worker %u\n", started);
      break;
    }
  if (started == sv.n_workers) {
    /* wait for a signal, or for --once's connection */
    struct epoll_event ev;
    int ep = epoll_create1(EPOLL_CLOEXEC), signalled = 0;
    epoll_ctl(ep, EPOLL_CTL_ADD, sigfd, &(struct epoll_event){EPOLLIN, {.u64 = 1}});
    epoll_ctl(ep, EPOLL_CTL_ADD, sv.donefd, &(struct epoll_event){EPOLLIN, {.u64 = 2}});
    while (epoll_wait(ep, &ev, 1, -1) < 0 && errno == EINTR) {
    }
    signalled = ev.data.u64 == 1;
    close(ep);
    result = signalled || !o->once ? 0 : sv.once_result;
  }
  for (unsigned i = 0; i < started; i++) {
    uint64_t one = 1;
    (void)!write(sv.workers[i].stopfd, &one, sizeof one);
  }
  for (unsigned i = 0; i < started; i++) pthread_join(sv.workers[i].thread, NULL);
  if (!o->once) {
    serve_stats total;
    memset(&total, 0, sizeof total);
    for (unsigned i = 0; i < started; i++) stats_add(&total, &sv.workers[i].st);
    print_summary(&total, sv.n_workers);
  }
out:
  if (sv.workers)
    for (unsigned i = 0; i < sv.n_workers; i++) worker_close(&sv.workers[i]);
  free(sv.workers);
  if (sigfd >= 0) close(sigfd);
  if (sv.donefd >= 0) close(sv.donefd);
  return result;
}
