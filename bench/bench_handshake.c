/*
 * bench_handshake.c - full TLS 1.3 handshakes per second and heap per
 * connection pair, tern next to OpenSSL's libssl and GnuTLS in one run.
 *
 * Every library does the same handshake, client and server in memory in
 * one thread: X25519, TLS_AES_128_GCM_SHA256, an ECDSA P-256 leaf for
 * "localhost" signed by a P-256 root CA (one PKI for all three), ALPN
 * "h3", SNI "localhost", the client verifying the chain against the CA
 * and the host name; no session tickets, no session cache, no
 * middlebox-compatibility ChangeCipherSpec.
 *   - tern:    QUIC mode, the in-memory pair of tools/qpair.c;
 *   - OpenSSL: SSL objects over two shared memory BIOs;
 *   - GnuTLS:  sessions over push/pull functions on in-memory buffers.
 * (OpenSSL and GnuTLS also run their TLS record layer, which tern in QUIC
 * mode leaves to the QUIC stack: about four AES-GCM records a handshake.)
 *
 * Rates are taken in interleaved rounds (tern, OpenSSL, GnuTLS, tern with
 * a cold certificate cache, the three resuming, tern, ...) and the best
 * round of each is reported, with the ratios. Time is the process's CPU
 * time (one thread), so handshakes per second are per second of CPU.
 * Heap per pair: N pairs are all advanced to the same point mid-handshake
 * (the server has sent its flight, the client has processed it and sent
 * its Finished, the server has not read it) and glibc's mallinfo2() is
 * read before and after;
 * the bytes of the harness's own transport buffers are reported apart.
 * Allocations per handshake are counted by replacing malloc (all
 * libraries) and libcrypto's allocator (libcrypto, libssl and the part of
 * tern that uses OPENSSL_malloc).
 *
 * Resumed handshakes (psk_dhe_ke, the default of all three) are timed the
 * same way, with the same algorithms, each connection offering a ticket
 * no connection used before: the pool of sessions is filled once by full
 * handshakes, untimed, and then fed only by the tickets the resumed
 * connections themselves issue (each server's default count: after a
 * resumption tern and GnuTLS send two, OpenSSL one; the report shows the
 * count each client read). The client reads those tickets inside the timed
 * handshake, and every timed connection must have resumed on both sides
 * or the benchmark stops.
 *   - tern:    tern_conn_set_session with a blob from the new-session
 *              callback (single-use tickets; the pool keeps both);
 *   - OpenSSL: SSL_set_session with the SSL_SESSION of SSL_get1_session,
 *              taken after SSL_read has processed the tickets;
 *   - GnuTLS:  gnutls_session_set_data with gnutls_session_get_data2,
 *              taken after gnutls_record_recv has processed the ticket.
 *
 * Usage: bench_handshake [--quick] [--seconds S] [--pairs N] [--pki DIR]
 *          [--only tern|openssl|gnutls|tern-cold|tern-resume|openssl-resume|gnutls-resume]
 * (--only times one library and skips the rest, e.g. under perf record.)
 * --pki DIR keeps the PKI in DIR (ca.pem, ca.key, chain.pem, key.pem): a
 * run finding them there uses them, one finding none writes them, so
 * several runs, and bench/bench_python.py beside them, handshake with the
 * same certificates and keys.
 * Exits 0 when every handshake succeeded (targets missed or not: this is
 * a report), 1 when any handshake or the setup failed, 2 on bad usage.
 *
 * This file is the driver: options, the interleaved timed rounds, the
 * pairs held for the heap measurement, and the report. Each library's
 * side is in peer_tern.c, peer_openssl.c and peer_gnutls.c (struct peer,
 * bench.h), the allocation counting and heap measurement in alloc_count.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "bench.h"
#include "pki.h"

/* Full handshakes come first, resumed ones from LIB_TERN_RESUME on. */
enum {
  LIB_TERN, LIB_OSSL, LIB_GT, LIB_TERN_COLD,
  LIB_TERN_RESUME, LIB_OSSL_RESUME, LIB_GT_RESUME, NLIB
};
static const char *const lib_name[NLIB] = {
    "tern", "OpenSSL libssl", "GnuTLS", "tern (cold certificate cache)",
    "tern", "OpenSSL libssl", "GnuTLS"};

/* What was measured of one library. */
typedef struct lib_stats {
  double best_rate;
  unsigned long long handshakes;
  allocs used; /* allocations over all timed handshakes */
  double heap[2], transport[2]; /* per pair, at stage 1 and 2 */
} lib_stats;

static lib_stats stats[NLIB];
static int crypto_counting; /* libcrypto's allocations are counted apart */

/* The three libraries, in the order of LIB_TERN, LIB_OSSL, LIB_GT. */
static const peer *const peers[] = {&peer_tern, &peer_openssl, &peer_gnutls};
#define NPEERS ((int)(sizeof peers / sizeof peers[0]))

/* One handshake of `lib`; `check` also checks what was negotiated. */
static void one_handshake(int lib, int check) {
  switch (lib) {
    case LIB_TERN: peer_tern.full(check); break;
    case LIB_OSSL: peer_openssl.full(check); break;
    case LIB_GT: peer_gnutls.full(check); break;
    case LIB_TERN_COLD: peer_tern.full_cold(check); break;
    case LIB_TERN_RESUME: peer_tern.resumed(check); break;
    case LIB_OSSL_RESUME: peer_openssl.resumed(check); break;
    default: peer_gnutls.resumed(check); break;
  }
}

/* cpu_seconds: the process's CPU time, so that a shared, busy machine
   (time when this process is not running) does not skew the ratios;
   everything runs in this one thread. */
static double cpu_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One timed round: at least min_count handshakes and min_seconds. */
static void round_of(int lib, unsigned long min_count, double min_seconds) {
  allocs a0 = allocs_now(), a1;
  double t0 = cpu_seconds(), t;
  unsigned long n = 0;
  do {
    one_handshake(lib, 0);
    n++;
    t = cpu_seconds() - t0;
  } while (n < min_count || t < min_seconds);
  a1 = allocs_now();
  stats[lib].handshakes += n;
  stats[lib].used.all += a1.all - a0.all;
  stats[lib].used.crypto += a1.crypto - a0.crypto;
  if (n / t > stats[lib].best_rate) stats[lib].best_rate = n / t;
}

/* Heap per pair of `pairs` pairs held mid-handshake (not for the cold
   run, the same as tern's). Without mallinfo2 (sanitizers) the pairs are
   still made and advanced, which tests that path, but nothing is measured. */
static void heap_of(int lib, size_t pairs) {
  const peer *pr = peers[lib];
  size_t elem = pr->pair_size;
  unsigned char *arr = calloc(pairs, elem);
  size_t base, transport;
  if (arr == NULL) die("calloc");
  base = heap_in_use();
  for (int stage = 1; stage <= 2; stage++) {
    transport = 0;
    for (size_t i = 0; i < pairs; i++) {
      void *p = arr + i * elem;
      pr->advance(p, stage);
      transport += pr->transport(p);
    }
    stats[lib].heap[stage - 1] =
        ((double)heap_in_use() - (double)base - (double)transport) / (double)pairs;
    stats[lib].transport[stage - 1] = (double)transport / (double)pairs;
  }
  for (size_t i = 0; i < pairs; i++) pr->end(arr + i * elem);
  free(arr);
}

#ifdef BENCH_COUNT_MALLOC
/* One library's part of an "allocations per handshake" line. */
static void print_allocs(int lib) {
  double n = (double)stats[lib].handshakes;
  printf("%s %s %.0f", lib == LIB_TERN || lib == LIB_TERN_RESUME ? "" : ",", lib_name[lib],
         (double)stats[lib].used.all / n);
  if (crypto_counting && lib != LIB_GT && lib != LIB_GT_RESUME)
    printf(" (%.0f via OPENSSL_malloc)", (double)stats[lib].used.crypto / n);
}
#endif

/* Reads dir/name (PEM): a certificate when key is NULL, else the private
   key into *key. Returns 0 or -1. */
static int read_pem(const char *dir, const char *name, X509 **cert, EVP_PKEY **key) {
  char path[4096];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if ((f = fopen(path, "r")) == NULL) return -1;
  if (key != NULL) *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  else *cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  return (key != NULL ? *key != NULL : *cert != NULL) ? 0 : -1;
}

/* The PKI kept in dir (--pki): read when ca.key is there, else made and
   written there. Returns 0 or -1. */
static int pki_kept(pki *p, const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/ca.key", dir);
  if (access(path, R_OK) == 0) {
    memset(p, 0, sizeof *p);
    if (read_pem(dir, "ca.pem", &p->ca, NULL) != 0 || read_pem(dir, "ca.key", NULL, &p->ca_key) != 0 ||
        read_pem(dir, "chain.pem", &p->leaf, NULL) != 0 ||
        read_pem(dir, "key.pem", NULL, &p->leaf_key) != 0 ||
        EVP_PKEY_get_base_id(p->leaf_key) != EVP_PKEY_EC)
      return -1;
    return 0;
  }
  if (pki_make(p, PKI_KEY_P256, HOST, 0, PKI_VALID_NOW) != 0 || pki_write_files(p, dir) != 0)
    return -1;
  return pki_write_pem(path, NULL, 0, p->ca_key);
}

/* Says how to call the program, and exits 2. */
static void usage(void) {
  fprintf(stderr,
          "usage: bench_handshake [--quick] [--seconds S] [--pairs N] [--pki DIR] "
          "[--only tern|openssl|gnutls|tern-cold|tern-resume|openssl-resume|gnutls-resume]\n");
  exit(2);
}

/* Parses the options, sets every library up and checks it, times the
   rounds, measures the heap and prints the report. */
int main(int argc, char **argv) {
  int quick = 0, rounds, only = -1;
  double seconds = 1.5;
  size_t pairs = 1000;
  unsigned long min_count;
  pki p;
  char tmp_dir[] = "/tmp/tern-bench-XXXXXX";
  const char *dir = tmp_dir, *kept = NULL;
  char path[4096];

  /* Before anything touches libcrypto. */
  crypto_counting = count_crypto_allocs();

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) quick = 1;
    else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) pairs = (size_t)atol(argv[++i]);
    else if (strcmp(argv[i], "--pki") == 0 && i + 1 < argc) kept = argv[++i];
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      const char *o = argv[++i];
      only = strcmp(o, "tern") == 0             ? LIB_TERN
             : strcmp(o, "openssl") == 0        ? LIB_OSSL
             : strcmp(o, "gnutls") == 0         ? LIB_GT
             : strcmp(o, "tern-cold") == 0      ? LIB_TERN_COLD
             : strcmp(o, "tern-resume") == 0    ? LIB_TERN_RESUME
             : strcmp(o, "openssl-resume") == 0 ? LIB_OSSL_RESUME
             : strcmp(o, "gnutls-resume") == 0  ? LIB_GT_RESUME
                                                : -2;
      if (only == -2) usage();
    }
    else usage();
  }
  if (quick) {
    seconds = 0;
    pairs = 200;
  }
  if (seconds < 0 || pairs == 0) usage();
  /* Interleaved rounds: tern, OpenSSL, GnuTLS, tern, ... */
  rounds = quick ? 1 : 5;
  min_count = quick ? 200 : 20;

  if (kept != NULL) {
    dir = kept;
    if (pki_kept(&p, dir) != 0) die("reading or writing the PKI of --pki");
  } else {
    if (pki_make(&p, PKI_KEY_P256, HOST, 0, PKI_VALID_NOW) != 0) die("pki_make");
    if (mkdtemp(tmp_dir) == NULL || pki_write_files(&p, dir) != 0) die("writing the PKI files");
  }
  for (int i = 0; i < NPEERS; i++) peers[i]->setup(&p, dir);
  /* The session pools, from full handshakes, before anything is timed. */
  for (int i = 0; i < NPEERS; i++) peers[i]->resume_fill();

  /* Sanity: each library negotiates what we think, and really checks the
     host name; also warms every cache up. */
  for (int lib = 0; lib < NLIB; lib++) one_handshake(lib, 1);
  for (int i = 0; i < NPEERS; i++) peers[i]->wrong_host();
  for (int lib = 0; lib < NLIB; lib++)
    for (int i = 0; i < 10; i++) one_handshake(lib, 0);

  printf("handshake: TLS 1.3, X25519, TLS_AES_128_GCM_SHA256, ECDSA P-256 leaf <- P-256 CA, "
         "ALPN h3, client verifies chain and host name; one thread, in memory\n");
  if (only >= 0) {
    /* One library alone, for a profiler. */
    round_of(only, min_count, seconds);
    printf("handshake %s: %s %.0f/s (%.1f us each)\n",
           only >= LIB_TERN_RESUME ? "resumed" : "full", lib_name[only], stats[only].best_rate,
           1e6 / stats[only].best_rate);
    if (only >= LIB_TERN_COLD) goto out;
    heap_of(only, pairs);
#ifdef BENCH_HEAP
    printf("heap per pair mid-handshake: %s %.0f B (+ %.0f B transport buffers)\n",
           lib_name[only], stats[only].heap[1], stats[only].transport[1]);
#endif
    goto out;
  }
  for (int r = 0; r < rounds; r++)
    for (int lib = 0; lib < NLIB; lib++) round_of(lib, min_count, seconds / rounds);

  {
    double t = stats[LIB_TERN].best_rate, o = stats[LIB_OSSL].best_rate,
           g = stats[LIB_GT].best_rate, tc = stats[LIB_TERN_COLD].best_rate;
    printf("handshake full: tern %.0f/s, OpenSSL libssl %.0f/s (ratio tern/OpenSSL %.2fx), "
           "GnuTLS %.0f/s (ratio %.2fx)\n", t, o, t / o, g, t / g);
    printf("target tern >= %.1fx OpenSSL: %s (%.2fx)\n", TARGET_RATIO,
           t / o >= TARGET_RATIO ? "met" : "MISSED", t / o);
    printf("handshake full, every server certificate new to the client (tern's parse cache "
           "cold): tern %.0f/s (ratio tern/OpenSSL %.2fx, tern/GnuTLS %.2fx)\n",
           tc, tc / o, tc / g);
    printf("time per handshake (client+server): tern %.1f us (cold cache %.1f us), "
           "OpenSSL %.1f us, GnuTLS %.1f us\n", 1e6 / t, 1e6 / tc, 1e6 / o, 1e6 / g);
  }
#ifdef BENCH_COUNT_MALLOC
  printf("allocations per handshake (client+server):");
  for (int lib = 0; lib < LIB_TERN_RESUME; lib++) print_allocs(lib);
  printf("\n");
#endif
  {
    double t = stats[LIB_TERN_RESUME].best_rate, o = stats[LIB_OSSL_RESUME].best_rate,
           g = stats[LIB_GT_RESUME].best_rate;
    printf("handshake resumed (psk_dhe_ke X25519, a fresh ticket each, the client reading the "
           "new tickets: tern %lu, OpenSSL %lu, GnuTLS %lu): tern %.0f/s, OpenSSL libssl %.0f/s "
           "(ratio tern/OpenSSL %.2fx), GnuTLS %.0f/s (ratio %.2fx)\n",
           *peer_tern.tickets_per_conn, *peer_openssl.tickets_per_conn,
           *peer_gnutls.tickets_per_conn, t, o, t / o, g, t / g);
    printf("target tern resumed >= %.1fx OpenSSL: %s (%.2fx)\n", TARGET_RATIO,
           t / o >= TARGET_RATIO ? "met" : "MISSED", t / o);
    printf("time per resumed handshake (client+server): tern %.1f us, OpenSSL %.1f us, "
           "GnuTLS %.1f us\n", 1e6 / t, 1e6 / o, 1e6 / g);
  }
#ifdef BENCH_COUNT_MALLOC
  printf("allocations per resumed handshake (client+server):");
  for (int lib = LIB_TERN_RESUME; lib < NLIB; lib++) print_allocs(lib);
  printf("\n");
#endif

  for (int lib = 0; lib < LIB_TERN_COLD; lib++) heap_of(lib, pairs);
#ifdef BENCH_HEAP
  printf("heap per pair mid-handshake: tern %.0f B, OpenSSL %.0f B, GnuTLS %.0f B "
         "(target <= %.0f B for tern)\n",
         stats[LIB_TERN].heap[1], stats[LIB_OSSL].heap[1], stats[LIB_GT].heap[1], TARGET_HEAP);
  printf("  (%zu pairs; server waits for the client's Finished; harness transport buffers "
         "not counted: tern %.0f B, OpenSSL %.0f B, GnuTLS %.0f B per pair)\n",
         pairs, stats[LIB_TERN].transport[1], stats[LIB_OSSL].transport[1],
         stats[LIB_GT].transport[1]);
  printf("heap per pair after the server flight, before the client reads it: tern %.0f B, "
         "OpenSSL %.0f B, GnuTLS %.0f B\n",
         stats[LIB_TERN].heap[0], stats[LIB_OSSL].heap[0], stats[LIB_GT].heap[0]);
  printf("target tern <= %.0f B per pair: %s\n", TARGET_HEAP,
         stats[LIB_TERN].heap[1] <= TARGET_HEAP ? "met" : "MISSED");
#else
  printf("heap per pair mid-handshake: not measured (needs glibc >= 2.33, no sanitizer)\n");
#endif

out:
  peer_gnutls.teardown();
  peer_openssl.teardown();
  peer_tern.teardown();
  if (kept == NULL) {
    const char *const files[] = {"chain.pem", "key.pem", "ca.pem"};
    for (size_t i = 0; i < 3; i++) {
      snprintf(path, sizeof path, "%s/%s", dir, files[i]);
      unlink(path);
    }
    rmdir(dir);
  }
  pki_free(&p);
  return 0;
}
