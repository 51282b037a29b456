/*
 * redis_child.h - a throwaway redis-server for tests and benchmarks: a
 * private directory under /tmp, a free loopback TCP port and a Unix
 * socket, no persistence, an optional password. Used by
 * tests/test_redis.c and bench/bench_redis.c.
 */
#ifndef TERN_TOOLS_REDIS_CHILD_H
#define TERN_TOOLS_REDIS_CHILD_H

#include <sys/types.h>

typedef struct redis_child {
  pid_t pid;             /* 0 when not running */
  int port;              /* TCP, on 127.0.0.1 */
  char dir[64];          /* its working directory (log) */
  char sock[96];         /* its Unix socket (fits sun_path) */
  const char *password;  /* NULL: none */
} redis_child;

/* 1 when redis-server is on the PATH. */
int redis_child_installed(void);

/* A TCP port on 127.0.0.1 nobody listens on now, or -1. */
int redis_child_free_port(void);

/* Makes r's directory (prefix names it: "/tmp/PREFIX-XXXXXX"), picks a
   free port and starts redis-server; waits up to 20 s until its socket
   accepts. 0, or -1 (r is cleaned up then). password must outlive r. */
int redis_child_start(redis_child *r, const char *prefix, const char *password);

/* Starts it again on the same port and socket after redis_child_kill. */
int redis_child_restart(redis_child *r);

/* SIGKILL (after SIGCONT, in case it was stopped) and reap. */
void redis_child_kill(redis_child *r);

/* Kills it and removes its socket, log and directory. */
void redis_child_cleanup(redis_child *r);

#endif
