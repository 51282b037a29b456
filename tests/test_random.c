/*
 * test_random.c - the random bytes of a connection without a configured
 * source (tern_conn_draw): drawn ahead into a per-thread pool, never the
 * same bytes twice, not in two threads, and not in a child of fork()
 * and its parent (the pool's page is wiped in the child: without that,
 * both would hand out the same next bytes, the same randoms and X25519
 * private keys).
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tern.h>

#include "check.h"
#include "core/conn.h"

static tern_conn *conn;

static int all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

/* The child's next 32 bytes against the parent's next 32. */
static void fork_differs(void) {
  uint8_t mine[32], child[32];
  int fd[2], status = 0;
  pid_t pid;
  ssize_t got = 0;
  CHECK(pipe(fd) == 0);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    uint8_t b[32];
    int ok = tern_conn_draw(conn, b, sizeof b) == 0;
    if (ok && write(fd[1], b, sizeof b) == (ssize_t)sizeof b) _exit(0);
    _exit(1);
  }
  CHECK_EQ_INT(tern_conn_draw(conn, mine, sizeof mine), 0);
  close(fd[1]);
  while (got < (ssize_t)sizeof child) {
    ssize_t n = read(fd[0], child + got, sizeof child - (size_t)got);
    if (n <= 0) break;
    got += n;
  }
  close(fd[0]);
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ_INT(got, (ssize_t)sizeof child);
  CHECK(!all_zero(child, sizeof child));
  CHECK(memcmp(mine, child, sizeof mine) != 0);
}

static void *thread_draw(void *out) {
  return tern_conn_draw(conn, out, 32) == 0 ? out : NULL;
}

int main(void) {
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  uint8_t a[32], b[32], big[2000], t[32], u[32];
  pthread_t th;
  void *r = NULL;
  CHECK(cfg != NULL);
  conn = tern_conn_new_tls(cfg, NULL);
  CHECK(conn != NULL);
  if (conn == NULL) return check_report();

  /* two draws: different, not zero */
  CHECK_EQ_INT(tern_conn_draw(conn, a, sizeof a), 0);
  CHECK_EQ_INT(tern_conn_draw(conn, b, sizeof b), 0);
  CHECK(!all_zero(a, sizeof a) && !all_zero(b, sizeof b));
  CHECK(memcmp(a, b, sizeof a) != 0);

  /* a child of fork() and its parent: the pool holds bytes when forking,
     again after a refill, and with the pool almost empty */
  fork_differs();
  CHECK_EQ_INT(tern_conn_draw(conn, big, 1000), 0);
  fork_differs();
  CHECK_EQ_INT(tern_conn_draw(conn, big, 900), 0);
  fork_differs();

  /* longer than the pool, straight from RAND_bytes */
  CHECK_EQ_INT(tern_conn_draw(conn, big, sizeof big), 0);
  CHECK(!all_zero(big, 32) && !all_zero(big + sizeof big - 32, 32));
  CHECK(memcmp(big, big + sizeof big - 32, 32) != 0);

  /* another thread has a pool of its own */
  CHECK(pthread_create(&th, NULL, thread_draw, t) == 0);
  CHECK(pthread_join(th, &r) == 0 && r == t);
  CHECK_EQ_INT(tern_conn_draw(conn, u, sizeof u), 0);
  CHECK(!all_zero(t, sizeof t));
  CHECK(memcmp(t, u, sizeof t) != 0);

  tern_conn_free(conn);
  tern_config_free(cfg);
  return check_report();
}
