/*
 * redis_child.c - see redis_child.h.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "redis_child.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int redis_child_installed(void) {
  return system("command -v redis-server >/dev/null 2>&1") == 0;
}

int redis_child_free_port(void) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

/* Whether something accepts on r's Unix socket. */
static int listening(const redis_child *r) {
  struct sockaddr_un a;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0), ok;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", r->sock);
  ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

int redis_child_restart(redis_child *r) {
  char port[16];
  snprintf(port, sizeof port, "%d", r->port);
  unlink(r->sock);
  r->pid = fork();
  if (r->pid < 0) {
    r->pid = 0;
    return -1;
  }
  if (r->pid == 0) {
    if (r->password != NULL)
      execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--unixsocket", r->sock, "--unixsocketperm", "700",
             "--requirepass", r->password, "--dir", r->dir, "--logfile", "redis.log",
             (char *)NULL);
    else
      execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--unixsocket", r->sock, "--unixsocketperm", "700", "--dir",
             r->dir, "--logfile", "redis.log", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 1000; i++) { /* 20 s */
    struct timespec ts = {0, 20000000L};
    if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
      r->pid = 0;
      return -1;
    }
    if (listening(r)) return 0;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  return -1;
}

int redis_child_start(redis_child *r, const char *prefix, const char *password) {
  memset(r, 0, sizeof *r);
  r->password = password;
  snprintf(r->dir, sizeof r->dir, "/tmp/%.40s-XXXXXX", prefix);
  if (mkdtemp(r->dir) == NULL) {
    r->dir[0] = 0;
    return -1;
  }
  snprintf(r->sock, sizeof r->sock, "%s/redis.sock", r->dir);
  if ((r->port = redis_child_free_port()) < 0 || redis_child_restart(r) != 0) {
    redis_child_cleanup(r);
    return -1;
  }
  return 0;
}

void redis_child_kill(redis_child *r) {
  if (r->pid > 0) {
    kill(r->pid, SIGCONT);
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
  }
  r->pid = 0;
}

void redis_child_cleanup(redis_child *r) {
  char path[160];
  redis_child_kill(r);
  if (r->dir[0] == 0) return;
  unlink(r->sock);
  snprintf(path, sizeof path, "%s/redis.log", r->dir);
  unlink(path);
  rmdir(r->dir);
  r->dir[0] = 0;
}
