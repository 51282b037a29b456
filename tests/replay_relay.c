/*
 * replay_relay.c - an attacker on the path of one 0-RTT connection: it
 * relays a client to server A and replays the client's first flight
 * (ClientHello and early data, as sent) at server B as well.
 *
 *   replay_relay tcp|udp A_PORT B_PORT
 *
 * It listens on 127.0.0.1 (a free port, printed as "relay on PORT"),
 * takes one client (TCP: one connection; UDP: the datagrams of one
 * source), holds what the client sends until it pauses for 300 ms (the
 * client then waits for the server's first flight: that is its first
 * flight), sends those bytes (or datagrams) unchanged to A and to B,
 * then relays the client and A both ways until the client is done
 * (TCP: either side closes; UDP: 3 s without a datagram), reading and
 * dropping what B answers (waiting up to 5 s more for B's first answer). It prints how many bytes the first flight
 * had and how many B answered. Each server says in its own counters
 * whether it accepted the early data. Exit 0, or 1 on a socket error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLIGHT_PAUSE_MS 300
#define UDP_IDLE_MS 3000
#define MAX_DGRAMS 64

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int die(const char *what) {
  fprintf(stderr, "replay_relay: %s: %s\n", what, strerror(errno));
  return 1;
}

/* A socket of type bound to a free loopback port, printed. */
static int listen_any(int type) {
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, type, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      (type == SOCK_STREAM && listen(fd, 1) != 0) ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    return -1;
  printf("relay on %d\n", ntohs(a.sin_port));
  fflush(stdout);
  return fd;
}

/* A socket of type connected to the loopback port. */
static int connect_to(int type, int port) {
  struct sockaddr_in a = loopback(port);
  int fd = socket(AF_INET, type, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int tcp_relay(int a_port, int b_port) {
  static uint8_t flight[1 << 16], buf[1 << 16];
  size_t flight_len = 0, from_b = 0;
  int lfd = listen_any(SOCK_STREAM), cfd, afd, bfd;
  struct pollfd p[3];
  if (lfd < 0) return die("listen");
  if ((cfd = accept(lfd, NULL, NULL)) < 0) return die("accept");
  /* the first flight: everything until the client pauses */
  for (;;) {
    struct pollfd one = {cfd, POLLIN, 0};
    ssize_t n;
    int k = poll(&one, 1, flight_len ? FLIGHT_PAUSE_MS : 10000);
    if (k == 0) break;
    if (k < 0 && errno == EINTR) continue;
    n = recv(cfd, flight + flight_len, sizeof flight - flight_len, 0);
    if (n <= 0) break;
    flight_len += (size_t)n;
    if (flight_len == sizeof flight) break;
  }
  if ((afd = connect_to(SOCK_STREAM, a_port)) < 0) return die("connect to A");
  if ((bfd = connect_to(SOCK_STREAM, b_port)) < 0) return die("connect to B");
  if (send_all(afd, flight, flight_len) < 0 || send_all(bfd, flight, flight_len) < 0)
    return die("sending the first flight");
  printf("first flight: %zu bytes, sent to A and to B\n", flight_len);
  fflush(stdout);
  p[0] = (struct pollfd){cfd, POLLIN, 0};
  p[1] = (struct pollfd){afd, POLLIN, 0};
  p[2] = (struct pollfd){bfd, POLLIN, 0};
  for (;;) {
    int k = poll(p, 3, 10000);
    if (k == 0) break;
    if (k < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[2].revents) { /* B's answer: read and dropped */
      ssize_t n = recv(bfd, buf, sizeof buf, 0);
      if (n <= 0) p[2].fd = -1;
      else from_b += (size_t)n;
    }
    if (p[0].revents) {
      ssize_t n = recv(cfd, buf, sizeof buf, 0);
      if (n <= 0 || send_all(afd, buf, (size_t)n) < 0) break;
    }
    if (p[1].revents) {
      ssize_t n = recv(afd, buf, sizeof buf, 0);
      if (n <= 0 || send_all(cfd, buf, (size_t)n) < 0) break;
    }
  }
  /* B may answer after the client is done: wait for it (5 s at most),
     then until it pauses */
  while (p[2].fd >= 0) {
    struct pollfd one = {bfd, POLLIN, 0};
    ssize_t n;
    int k = poll(&one, 1, from_b ? FLIGHT_PAUSE_MS : 5000);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0 || (n = recv(bfd, buf, sizeof buf, 0)) <= 0) break;
    from_b += (size_t)n;
  }
  printf("B answered %zu bytes\n", from_b);
  close(cfd);
  close(afd);
  close(bfd);
  close(lfd);
  return 0;
}

static int udp_relay(int a_port, int b_port) {
  static uint8_t dgram[MAX_DGRAMS][1500], buf[65536];
  size_t len[MAX_DGRAMS], n_dgrams = 0, bytes = 0, from_b = 0;
  struct sockaddr_in client;
  socklen_t client_len = sizeof client;
  int lfd = listen_any(SOCK_DGRAM), afd, bfd;
  struct pollfd p[3];
  if (lfd < 0) return die("bind");
  for (;;) {
    struct pollfd one = {lfd, POLLIN, 0};
    struct sockaddr_in from;
    socklen_t from_len = sizeof from;
    ssize_t n;
    int k = poll(&one, 1, n_dgrams ? FLIGHT_PAUSE_MS : 10000);
    if (k == 0) break;
    if (k < 0 && errno == EINTR) continue;
    n = recvfrom(lfd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
    if (n <= 0 || (size_t)n > sizeof dgram[0]) continue;
    if (n_dgrams == 0) client = from, client_len = from_len;
    else if (from.sin_port != client.sin_port) continue;
    memcpy(dgram[n_dgrams], buf, (size_t)n);
    len[n_dgrams++] = (size_t)n;
    bytes += (size_t)n;
    if (n_dgrams == MAX_DGRAMS) break;
  }
  if ((afd = connect_to(SOCK_DGRAM, a_port)) < 0 || (bfd = connect_to(SOCK_DGRAM, b_port)) < 0)
    return die("UDP sockets");
  for (size_t i = 0; i < n_dgrams; i++)
    if (send(afd, dgram[i], len[i], 0) < 0 || send(bfd, dgram[i], len[i], 0) < 0)
      return die("sending the first flight");
  printf("first flight: %zu datagrams, %zu bytes, sent to A and to B\n", n_dgrams, bytes);
  fflush(stdout);
  p[0] = (struct pollfd){lfd, POLLIN, 0};
  p[1] = (struct pollfd){afd, POLLIN, 0};
  p[2] = (struct pollfd){bfd, POLLIN, 0};
  for (;;) {
    int k = poll(p, 3, UDP_IDLE_MS);
    ssize_t n;
    if (k == 0) break;
    if (k < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[2].revents && (n = recv(bfd, buf, sizeof buf, 0)) > 0) from_b += (size_t)n;
    if (p[0].revents) {
      struct sockaddr_in from;
      socklen_t from_len = sizeof from;
      n = recvfrom(lfd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
      if (n > 0 && from.sin_port == client.sin_port) (void)!send(afd, buf, (size_t)n, 0);
    }
    if (p[1].revents && (n = recv(afd, buf, sizeof buf, 0)) > 0)
      (void)!sendto(lfd, buf, (size_t)n, 0, (struct sockaddr *)&client, client_len);
  }
  while (from_b == 0) { /* B may answer late (5 s at most) */
    struct pollfd one = {bfd, POLLIN, 0};
    ssize_t n;
    int k = poll(&one, 1, 5000);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0 || (n = recv(bfd, buf, sizeof buf, 0)) <= 0) break;
    from_b += (size_t)n;
  }
  printf("B answered %zu bytes\n", from_b);
  close(afd);
  close(bfd);
  close(lfd);
  return 0;
}

int main(int argc, char **argv) {
  int a, b;
  if (argc != 4 || (strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "udp") != 0) ||
      (a = atoi(argv[2])) <= 0 || (b = atoi(argv[3])) <= 0) {
    fprintf(stderr, "usage: replay_relay tcp|udp A_PORT B_PORT\n");
    return 2;
  }
  return strcmp(argv[1], "tcp") == 0 ? tcp_relay(a, b) : udp_relay(a, b);
}
