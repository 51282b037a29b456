/*
 * check.h - the tiny assertion kit shared by tern's unit tests.
 * A failed CHECK prints file:line and the expression, counts the failure
 * and lets the test go on; a test's main ends with `return check_report();`.
 */
#ifndef TERN_TESTS_CHECK_H
#define TERN_TESTS_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(expr)                                                        \
  do {                                                                     \
    check_count++;                                                         \
    if (!(expr)) {                                                         \
      check_failures++;                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,     \
              #expr);                                                      \
    }                                                                      \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                 \
  do {                                                                     \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
    check_count++;                                                         \
    if (check_a_ != check_b_) {                                            \
      check_failures++;                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n",   \
              __FILE__, __LINE__, #a, #b, check_a_, check_b_);             \
    }                                                                      \
  } while (0)

static inline void check_hexdump(const char *what, const uint8_t *p, size_t n) {
  fprintf(stderr, "  %s (%zu): ", what, n);
  for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x", p[i]);
  fprintf(stderr, "\n");
}

#define CHECK_MEM(got, want, n)                                            \
  do {                                                                     \
    check_count++;                                                         \
    if (memcmp((got), (want), (n)) != 0) {                                 \
      check_failures++;                                                    \
      fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s\n", __FILE__,    \
              __LINE__, #got, #want);                                      \
      check_hexdump("got ", (const uint8_t *)(got), (n));                  \
      check_hexdump("want", (const uint8_t *)(want), (n));                 \
    }                                                                      \
  } while (0)

static inline int check_report(void) {
  if (check_failures)
    fprintf(stderr, "%d of %d checks failed\n", check_failures, check_count);
  else
    printf("all %d checks passed\n", check_count);
  return check_failures ? 1 : 0;
}

/* Hex string (no separators) into bytes; returns length, aborts on junk. */
static inline size_t unhex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = strlen(hex);
  if (n % 2 || n / 2 > cap) {
    fprintf(stderr, "unhex: bad input length %zu\n", n);
    abort();
  }
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) abort();
    out[i] = (uint8_t)v;
  }
  return n / 2;
}

#endif
