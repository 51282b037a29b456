/*
 * bench.h - what the parts of bench_handshake share: the handshake's
 * constants and targets, the allocation counters and heap measurement
 * (alloc_count.c), the helpers (common.c, measure.c), and each library's entry
 * points (peer_tern.c, peer_openssl.c, peer_gnutls.c) for the driver
 * (bench_handshake.c).
 */
#ifndef TERN_BENCH_H
#define TERN_BENCH_H

#include <stddef.h>
#include <stdlib.h> /* a libc header first: it defines __GLIBC__ */

#include "measure.h" /* die, CPU time, medians */
#include "pki.h"

#define HOST "localhost" /* the server's name, checked by every client */
/* The targets (issue "speed to the libcrypto floor"), all ratios of one run. */
#define TARGET_FLOOR 0.9        /* tern's full handshakes/s over the floor's */
#define TARGET_RESUMED 2.3      /* tern's resumed handshakes/s over OpenSSL's */
#define TARGET_COLD 1.8         /* tern's full handshakes/s, cold cache, over OpenSSL's */
#define TARGET_ALLOCS_OVER 30.0 /* tern's allocations per full handshake over the floor's */
#define TARGET_HEAP 4096.0      /* tern's bytes per pair held mid-handshake */
#define TARGET_ESTABLISHED 1024.0 /* tern's bytes kept per established connection */
#define TARGET_SCALING 1.9      /* full handshakes/s on 2 threads over 1 */

/* ------------------------------------------------------------------ */
/* Allocation counting and heap measurement (alloc_count.c)            */
/* ------------------------------------------------------------------ */

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define BENCH_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BENCH_SANITIZED 1
#endif

/* BENCH_COUNT_MALLOC: malloc is replaced and every call counted. */
#if defined(__GLIBC__) && !defined(BENCH_SANITIZED)
#define BENCH_COUNT_MALLOC 1
#endif

/* BENCH_HEAP: heap_in_use measures (glibc's mallinfo2). */
#if defined(__GLIBC__) && !defined(BENCH_SANITIZED) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define BENCH_HEAP 1
#endif

/* A snapshot of the allocation counters. */
typedef struct allocs {
  unsigned long long all;    /* malloc, calloc and realloc calls (0 without
                                BENCH_COUNT_MALLOC) */
  unsigned long long crypto; /* of which through OPENSSL_malloc */
} allocs;

/* count_crypto_allocs routes libcrypto's allocator through the counters;
   called before anything touches libcrypto. 1 if libcrypto took them. */
int count_crypto_allocs(void);

/* count_pause: 1 stops counting (several threads allocating), 0 resumes. */
void count_pause(int on);

/* allocs_now: the counters at this point. */
allocs allocs_now(void);

/* heap_in_use: bytes in malloc'd chunks, mmapped ones included (0
   without BENCH_HEAP). */
size_t heap_in_use(void);

/* chunk_bytes: what the malloc'd block p of capacity cap takes out of the
   heap (0 for NULL). */
size_t chunk_bytes(const void *p, size_t cap);

/* ------------------------------------------------------------------ */
/* Helpers (common.c)                                                  */
/* ------------------------------------------------------------------ */

/* not_resumed reports that a timed resumed handshake of library `lib`
   did not resume, and exits 1. */
_Noreturn void not_resumed(const char *lib);

/* The indexes of a first-in first-out pool of POOL stored sessions (one
   pool per library, each holding its library's kind of session). */
#define POOL 64
typedef struct ring {
  unsigned head, n;
} ring;

/* ring_push: the slot to fill, or -1 when the pool is full. */
int ring_push(ring *r);

/* ring_pop: the oldest slot, now empty, or -1 when there is none. */
int ring_pop(ring *r);

/* ------------------------------------------------------------------ */
/* The libraries (peer_*.c)                                            */
/* ------------------------------------------------------------------ */

/*
 * One library's side of the benchmark: a client and a server of that
 * library, in memory in this thread, doing the handshake of
 * bench_handshake.c. Every entry exits with a message on failure.
 */
typedef struct peer {
  /* Makes the library's configurations for the PKI p, whose PEM files
     (chain.pem, key.pem, ca.pem) are in `dir`. */
  void (*setup)(const pki *p, const char *dir);
  /* Frees what setup and the session pool hold. */
  void (*teardown)(void);
  /* One full handshake; `check` also checks what was negotiated. */
  void (*full)(int check);
  /* tern only (NULL for the others): a full handshake with a server
     certificate the client's parse cache has not seen lately. */
  void (*full_cold)(int check);
  /* A handshake to the wrong host name, which must fail. */
  void (*wrong_host)(void);
  /* Fills the session pool with full handshakes (untimed). */
  void (*resume_fill)(void);
  /* One resumed handshake on the oldest stored session, the client
     reading and storing the tickets; `check` also checks what was
     negotiated and counts the tickets into *tickets_per_conn. */
  void (*resumed)(int check);
  const unsigned long *tickets_per_conn;
  /* The heap measurement: a pair takes pair_size bytes of the caller's;
     advance stage 1 starts it and runs it until the server has sent its
     flight, stage 2 until the client has processed it and sent its
     Finished (the server has not read it); transport is the bytes of the
     harness's own transport buffers in the pair; end frees the pair. */
  size_t pair_size;
  void (*advance)(void *pair, int stage);
  size_t (*transport)(const void *pair);
  void (*end)(void *pair);
} peer;

/* tern_flights (peer_tern.c): the byte counts of the four flights of one
   full tern handshake of this benchmark: ClientHello, ServerHello,
   EncryptedExtensions..server Finished, client Finished. */
void tern_flights(size_t len[4]);

/* tern_established (peer_tern.c): heap per connection of `pairs` pairs
   whose handshakes completed, all held at once (*per_conn, without the
   harness's transport buffers, given apart in *transport_per_conn; both 0
   without BENCH_HEAP). */
void tern_established(size_t pairs, double *per_conn, double *transport_per_conn);

/* The floor (peer_floor.c): the libcrypto operations one full handshake
   cannot avoid, on contexts prepared once. floor_setup takes the PKI and
   the flights' byte counts (tern_flights); floor_handshake does one
   handshake's worth (`check`: also checks the sides agree). */
void floor_setup(const pki *p, const size_t len[4]);
void floor_handshake(int check);
void floor_teardown(void);
/* floor_pk_allocs: allocations per floor handshake inside its X25519 and
   ECDSA operations (the rest are digest contexts'). */
double floor_pk_allocs(void);

extern const peer peer_tern;    /* peer_tern.c */
extern const peer peer_openssl; /* peer_openssl.c */
extern const peer peer_gnutls;  /* peer_gnutls.c */

#endif
