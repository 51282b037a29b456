/*
 * sessions.h - for tests that resume: a clock the test moves by hand
 * (tern_config_set_clock(cfg, test_clock, NULL)) and the sessions a
 * client receives (tern_config_set_new_session_callback(cfg, on_session,
 * NULL)), kept in arrival order with the max_early_data each allows.
 */
#ifndef TERN_TESTS_SESSIONS_H
#define TERN_TESTS_SESSIONS_H

#include <stdint.h>
#include <string.h>

#include <tern.h>

#ifndef SESSIONS_MAX
#define SESSIONS_MAX 32
#endif
#ifndef TEST_CLOCK_START
#define TEST_CLOCK_START 1800000000000ull
#endif

static uint64_t clock_now = TEST_CLOCK_START; /* ms */

static inline uint64_t test_clock(void *user) {
  (void)user;
  return clock_now;
}

typedef struct saved_session {
  uint8_t blob[TERN_SESSION_MAX_BYTES];
  size_t len;
  uint32_t max_early;
} saved_session;

static saved_session sessions[SESSIONS_MAX];
static int n_sessions;
static int sessions_seen_bad; /* empty or oversized blobs handed over */

/* Keeps a session (past SESSIONS_MAX, or too long: dropped). */
static inline void on_session(tern_conn *c, const uint8_t *blob, size_t len, uint32_t max_early,
                              void *user) {
  (void)c, (void)user;
  sessions_seen_bad += len == 0 || len > TERN_SESSION_MAX_BYTES;
  if (n_sessions < SESSIONS_MAX && len <= TERN_SESSION_MAX_BYTES) {
    memcpy(sessions[n_sessions].blob, blob, len);
    sessions[n_sessions].len = len;
    sessions[n_sessions].max_early = max_early;
    n_sessions++;
  }
}

/* The newest session received, NULL when none. */
static inline const saved_session *last_session(void) {
  return n_sessions ? &sessions[n_sessions - 1] : NULL;
}

#endif
