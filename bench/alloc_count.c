/*
 * alloc_count.c - allocation counting and heap measurement for
 * bench_handshake: a counting replacement of glibc's malloc (all
 * libraries), counters on libcrypto's allocator (libcrypto, libssl and
 * the part of tern that uses OPENSSL_malloc), and the heap in use from
 * glibc's mallinfo2().
 */
#define _GNU_SOURCE /* malloc_usable_size, mallinfo2 */
#include <stddef.h>
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <openssl/crypto.h>

#include "bench.h"

/* Set while several threads allocate (the scaling rounds): the counters
   are left alone, so that no thread writes a line the others read. */
static int paused;

/* count_pause: see bench.h. */
void count_pause(int on) { paused = on; }

#ifdef BENCH_COUNT_MALLOC
/* glibc lets the program replace malloc; the replacements hand every call
   on to glibc's own allocator and count it. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static unsigned long long n_malloc; /* malloc, calloc and realloc calls */

/* malloc, counted. */
void *malloc(size_t n) {
  if (!paused) n_malloc++;
  return __libc_malloc(n);
}

/* calloc, counted. */
void *calloc(size_t n, size_t size) {
  if (!paused) n_malloc++;
  return __libc_calloc(n, size);
}

/* realloc, counted. */
void *realloc(void *p, size_t n) {
  if (!paused) n_malloc++;
  return __libc_realloc(p, n);
}

/* free, to glibc's allocator with the others. */
void free(void *p) { __libc_free(p); }
#endif

#ifdef BENCH_HEAP
/* heap_in_use: bytes in malloc'd chunks, mmapped ones included. */
size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/* chunk_bytes: what the malloc'd block p takes out of uordblks. */
size_t chunk_bytes(const void *p, size_t cap) {
  (void)cap;
  return p ? malloc_usable_size((void *)p) + sizeof(size_t) : 0;
}
#else
/* heap_in_use: not measured here. */
size_t heap_in_use(void) { return 0; }

/* chunk_bytes: the capacity asked for, lacking better. */
size_t chunk_bytes(const void *p, size_t cap) { return p ? cap : 0; }
#endif

static unsigned long long n_crypto_malloc; /* through OPENSSL_malloc */

/* OPENSSL_malloc's allocator: counted, then malloc. */
static void *count_crypto_malloc(size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  if (!paused) n_crypto_malloc++;
  return malloc(n);
}

/* OPENSSL_realloc's allocator: counted, then realloc. */
static void *count_crypto_realloc(void *p, size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  if (!paused) n_crypto_malloc++;
  return realloc(p, n);
}

/* OPENSSL_free's: free. */
static void count_crypto_free(void *p, const char *file, int line) {
  (void)file;
  (void)line;
  free(p);
}

/* count_crypto_allocs: libcrypto's allocator through the counters above. */
int count_crypto_allocs(void) {
  return CRYPTO_set_mem_functions(count_crypto_malloc, count_crypto_realloc, count_crypto_free);
}

/* allocs_now: a snapshot of the counters. */
allocs allocs_now(void) {
  allocs a = {0, n_crypto_malloc};
#ifdef BENCH_COUNT_MALLOC
  a.all = n_malloc;
#endif
  return a;
}
