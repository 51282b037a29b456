/*
 * measure.c - CPU time, medians and failing with a message, for the
 * benchmark programs (measure.h).
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/err.h>

#include "measure.h"

/* A clock's reading in seconds; the monotonic clock if it has none. */
static double clock_seconds(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0) clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double process_cpu_seconds(void) {
  return clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
}

double thread_cpu_seconds(void) {
  return clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}

int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double median_of(double *v, int n) {
  if (n <= 0) return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

_Noreturn void die(const char *what) {
  fprintf(stderr, "%s: %s failed\n", program_invocation_short_name, what);
  ERR_print_errors_fp(stderr);
  exit(1);
}
