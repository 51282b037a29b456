/*
 * measure.h - what every benchmark program in bench/ shares: CPU time
 * (so that a shared, busy machine does not skew ratios measured within
 * one run), medians of rounds, and failing with a message.
 */
#ifndef TERN_BENCH_MEASURE_H
#define TERN_BENCH_MEASURE_H

/* The process's CPU time (user + system, every thread), in seconds. */
double process_cpu_seconds(void);

/* The calling thread's CPU time, in seconds. */
double thread_cpu_seconds(void);

/* Orders two doubles, for qsort. */
int cmp_double(const void *a, const void *b);

/* The median of v[0..n) (v is left sorted); 0 when n is 0. */
double median_of(double *v, int n);

/* `what` failed: says so with the program's name, prints libcrypto's
   queued errors, and exits 1. */
_Noreturn void die(const char *what);

#endif
