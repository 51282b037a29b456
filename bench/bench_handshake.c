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
 * Rates are taken in interleaved rounds (tern, OpenSSL, GnuTLS, the
 * floor, tern with a cold certificate cache, the three resuming, tern,
 * ...) on one CPU (the process pins itself) and the median round of each
 * is reported with the smallest and largest, and the ratios of medians.
 * Time is the process's CPU time (one thread), so handshakes per second
 * are per second of CPU. The floor (peer_floor.c) is what the handshake's
 * libcrypto operations alone cost on prepared contexts: the limit no
 * implementation on libcrypto can pass.
 * Beside the cold run, what libcrypto 3.0's own parse of a new leaf
 * costs (d2i_X509, and of that the public-key decoder: see
 * leaf_parse_costs), which OpenSSL's client pays and tern's cold path
 * skips.
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
 * connections themselves issue: every server is set to issue exactly one
 * ticket per connection, and the report shows the count each client read.
 * The client reads that ticket inside the timed
 * handshake, and every timed connection must have resumed on both sides
 * or the benchmark stops.
 *   - tern:    tern_conn_set_session with a blob from the new-session
 *              callback (single-use tickets);
 *   - OpenSSL: SSL_set_session with the SSL_SESSION of SSL_get1_session,
 *              taken after SSL_read has processed the tickets;
 *   - GnuTLS:  gnutls_session_set_data with gnutls_session_get_data2,
 *              taken after gnutls_record_recv has processed the ticket.
 *
 * Usage: bench_handshake [--quick] [--seconds S] [--rounds N] [--pairs N] [--no-pin] [--pki DIR]
 *          [--only tern|openssl|gnutls|floor|tern-cold|tern-resume|openssl-resume|gnutls-resume]
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
 * bench.h), the floor in peer_floor.c, the allocation counting and heap
 * measurement in alloc_count.c.
 */
#define _GNU_SOURCE /* sched_getcpu, CPU_SET */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "bench.h"
#include "pki.h"

/* The three libraries' full handshakes come first (in the order of
   peers[]), then the floor and tern's cold run, then the resumed ones from
   LIB_TERN_RESUME on. */
enum {
  LIB_TERN, LIB_OSSL, LIB_GT, LIB_FLOOR, LIB_TERN_COLD,
  LIB_TERN_RESUME, LIB_OSSL_RESUME, LIB_GT_RESUME, NLIB
};
static const char *const lib_name[NLIB] = {
    "tern", "OpenSSL libssl", "GnuTLS", "floor", "tern (cold certificate cache)",
    "tern", "OpenSSL libssl", "GnuTLS"};

#define MAX_ROUNDS 64

/* What was measured of one library. */
typedef struct lib_stats {
  double rate[MAX_ROUNDS]; /* handshakes per CPU second, one per round */
  int rounds;
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
    case LIB_FLOOR: floor_handshake(check); break;
    case LIB_TERN_COLD: peer_tern.full_cold(check); break;
    case LIB_TERN_RESUME: peer_tern.resumed(check); break;
    case LIB_OSSL_RESUME: peer_openssl.resumed(check); break;
    default: peer_gnutls.resumed(check); break;
  }
}

/* One timed round: at least min_count handshakes and min_seconds. */
static void round_of(int lib, unsigned long min_count, double min_seconds) {
  allocs a0 = allocs_now(), a1;
  double t0 = process_cpu_seconds(), t;
  unsigned long n = 0;
  do {
    one_handshake(lib, 0);
    n++;
    t = process_cpu_seconds() - t0;
  } while (n < min_count || t < min_seconds);
  a1 = allocs_now();
  stats[lib].handshakes += n;
  stats[lib].used.all += a1.all - a0.all;
  stats[lib].used.crypto += a1.crypto - a0.crypto;
  if (stats[lib].rounds < MAX_ROUNDS) stats[lib].rate[stats[lib].rounds++] = n / t;
}

/* The median of lib's rounds; *lo and *hi their smallest and largest. */
static double median(int lib, double *lo, double *hi) {
  double r[MAX_ROUNDS];
  int n = stats[lib].rounds;
  double m;
  if (n == 0) {
    *lo = *hi = 0;
    return 0;
  }
  memcpy(r, stats[lib].rate, (size_t)n * sizeof r[0]);
  m = median_of(r, n); /* leaves r sorted */
  *lo = r[0];
  *hi = r[n - 1];
  return m;
}

/* The median rate of lib. */
static double rate_of(int lib) {
  double lo, hi;
  return median(lib, &lo, &hi);
}

/* "median/s (lo..hi)" of lib into buf. */
static const char *spread(int lib, char *buf, size_t n) {
  double lo, hi, m = median(lib, &lo, &hi);
  snprintf(buf, n, "%.0f/s (%.0f..%.0f)", m, lo, hi);
  return buf;
}

/* Pins this process to the CPU it runs on, so every library's rounds run
   on the same core. That CPU's number, or -1 (the run goes on unpinned). */
static int pin_to_one_cpu(void) {
  cpu_set_t set;
  int cpu = sched_getcpu();
  if (cpu < 0) return -1;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? cpu : -1;
}

/* ---- scaling: full handshakes on 2 threads against 1 ---- */

/* One thread's share of a scaling round. */
typedef struct scale_job {
  int cpu;            /* the CPU it runs on, or -1 */
  unsigned long n;    /* handshakes to do */
  double cpu_s;       /* its CPU time */
} scale_job;

/* Wall time. */
static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A scaling thread: pinned to its CPU, n full tern handshakes on the
   shared configurations. */
static void *scale_thread(void *arg) {
  scale_job *j = arg;
  double t0;
  if (j->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(j->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  t0 = thread_cpu_seconds();
  for (unsigned long i = 0; i < j->n; i++) peer_tern.full(0);
  j->cpu_s = thread_cpu_seconds() - t0;
  return NULL;
}

/*
 * One scaling round: `threads` threads (on cpus[0..threads)) doing n
 * handshakes each at once. *wall_rate: handshakes per second of wall
 * time; *cpu_rate: the sum over threads of each one's handshakes per
 * second of its own CPU time (which a lock or a shared cache line held
 * across threads lowers, and other programs on the machine do not).
 */
static void scale_round(int threads, const int *cpus, unsigned long n, double *wall_rate,
                        double *cpu_rate) {
  pthread_t tid[2];
  scale_job job[2];
  double w0 = wall_seconds(), w;
  *cpu_rate = 0;
  count_pause(1);
  for (int i = 0; i < threads; i++) {
    job[i] = (scale_job){cpus[i], n, 0};
    if (pthread_create(&tid[i], NULL, scale_thread, &job[i]) != 0) die("pthread_create");
  }
  for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
  w = wall_seconds() - w0;
  count_pause(0);
  *wall_rate = (double)n * threads / w;
  for (int i = 0; i < threads; i++) *cpu_rate += (double)n / job[i].cpu_s;
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
          "usage: bench_handshake [--quick] [--seconds S] [--rounds N] [--pairs N] [--no-pin]\n"
          "         [--pki DIR] [--only tern|openssl|gnutls|floor|tern-cold|tern-resume|"
          "openssl-resume|gnutls-resume]\n");
  exit(2);
}

/* Microseconds of CPU per d2i_X509 of der[0..len) into certificates of
   library context lc (NULL: the default one), over n parses. */
static double d2i_us(OSSL_LIB_CTX *lc, const uint8_t *der, int len, int n) {
  double t0 = process_cpu_seconds();
  for (int i = 0; i < n; i++) {
    const unsigned char *q = der;
    X509 *x = X509_new_ex(lc, NULL);
    if (x == NULL || d2i_X509(&x, &q, len) == NULL) die("d2i_X509 of the leaf");
    X509_free(x);
  }
  return (process_cpu_seconds() - t0) * 1e6 / n;
}

/*
 * What libcrypto 3.0's own parse of a new leaf costs: d2i_X509 decodes
 * the certificate's public key through a decoder chain it builds on
 * every call. *with: one d2i_X509 of the leaf; *without: the same parse
 * in a library context with no provider, where that decoding finds
 * nothing and is skipped (the difference is the decoder's cost, which
 * tern's cold path avoids: crypto/cert.c). Medians of 5 interleaved
 * rounds.
 */
static void leaf_parse_costs(const pki *p, double *with, double *without) {
  enum { R = 5 };
  double w[R], wo[R];
  uint8_t *der = NULL;
  int len = i2d_X509(p->leaf, &der);
  OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();
  OSSL_PROVIDER *none = lc != NULL ? OSSL_PROVIDER_load(lc, "null") : NULL;
  if (len <= 0 || none == NULL) die("the leaf-parse measurement");
  for (int r = 0; r < R; r++) {
    w[r] = d2i_us(NULL, der, len, 200);
    wo[r] = d2i_us(lc, der, len, 200);
  }
  qsort(w, R, sizeof *w, cmp_double);
  qsort(wo, R, sizeof *wo, cmp_double);
  *with = w[R / 2];
  *without = wo[R / 2];
  OPENSSL_free(der);
  OSSL_PROVIDER_unload(none);
  OSSL_LIB_CTX_free(lc);
}

/* "met" or "MISSED". */
static const char *verdict(int ok) { return ok ? "met" : "MISSED"; }

/* Parses the options, sets every library and the floor up and checks
   them, times the interleaved rounds, measures the heap and prints the
   report. */
int main(int argc, char **argv) {
  int quick = 0, rounds = 7, only = -1, pin = 1, cpu = -1;
  cpu_set_t all_cpus;
  double seconds = 2.0;
  size_t pairs = 1000, flights[4];
  unsigned long min_count;
  pki p;
  char tmp_dir[] = "/tmp/tern-bench-XXXXXX";
  const char *dir = tmp_dir, *kept = NULL;
  char path[4096], b1[64], b2[64], b3[64], b4[64];

  /* Before anything touches libcrypto. */
  crypto_counting = count_crypto_allocs();

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) quick = 1;
    else if (strcmp(argv[i], "--no-pin") == 0) pin = 0;
    else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) pairs = (size_t)atol(argv[++i]);
    else if (strcmp(argv[i], "--pki") == 0 && i + 1 < argc) kept = argv[++i];
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      const char *o = argv[++i];
      only = strcmp(o, "tern") == 0             ? LIB_TERN
             : strcmp(o, "openssl") == 0        ? LIB_OSSL
             : strcmp(o, "gnutls") == 0         ? LIB_GT
             : strcmp(o, "floor") == 0          ? LIB_FLOOR
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
    rounds = 1;
  }
  if (seconds < 0 || pairs == 0 || rounds < 1 || rounds > MAX_ROUNDS) usage();
  min_count = quick ? 200 : 20;
  if (sched_getaffinity(0, sizeof all_cpus, &all_cpus) != 0) CPU_ZERO(&all_cpus);
  if (pin) cpu = pin_to_one_cpu();

  if (kept != NULL) {
    dir = kept;
    if (pki_kept(&p, dir) != 0) die("reading or writing the PKI of --pki");
  } else {
    if (pki_make(&p, PKI_KEY_P256, HOST, 0, PKI_VALID_NOW) != 0) die("pki_make");
    if (mkdtemp(tmp_dir) == NULL || pki_write_files(&p, dir) != 0) die("writing the PKI files");
  }
  for (int i = 0; i < NPEERS; i++) peers[i]->setup(&p, dir);
  tern_flights(flights);
  floor_setup(&p, flights);
  /* The session pools, from full handshakes, before anything is timed. */
  for (int i = 0; i < NPEERS; i++) peers[i]->resume_fill();

  /* Sanity: each library negotiates what we think, and really checks the
     host name; also warms every cache up. */
  for (int lib = 0; lib < NLIB; lib++) one_handshake(lib, 1);
  for (int i = 0; i < NPEERS; i++) peers[i]->wrong_host();
  for (int lib = 0; lib < NLIB; lib++)
    for (int i = 0; i < 10; i++) one_handshake(lib, 0);

  printf("handshake: TLS 1.3, X25519, TLS_AES_128_GCM_SHA256, ECDSA P-256 leaf <- P-256 CA, "
         "ALPN h3, client verifies chain and host name; one thread, in memory; %s\n",
         cpu >= 0 ? (snprintf(b1, sizeof b1, "pinned to CPU %d", cpu), b1) : "not pinned");
  printf("floor: the libcrypto operations of one full handshake, both sides, on prepared "
         "contexts (2 X25519 keygen + 2 derive, ECDSA P-256 sign + verify, the leaf's "
         "signature verified with the CA's key, 46 HMAC-SHA-256 of the key schedule and "
         "Finished, SHA-256 transcripts of the flights tern sends: %zu+%zu+%zu+%zu bytes)\n",
         flights[0], flights[1], flights[2], flights[3]);
  if (only >= 0) {
    /* One library alone, for a profiler. */
    round_of(only, min_count, seconds);
    printf("handshake %s: %s %.0f/s (%.1f us each)\n",
           only >= LIB_TERN_RESUME ? "resumed" : "full", lib_name[only], rate_of(only),
           1e6 / rate_of(only));
    if (only >= LIB_FLOOR) goto out;
    heap_of(only, pairs);
#ifdef BENCH_HEAP
    printf("heap per pair mid-handshake: %s %.0f B (+ %.0f B transport buffers)\n",
           lib_name[only], stats[only].heap[1], stats[only].transport[1]);
#endif
    goto out;
  }
  for (int r = 0; r < rounds; r++)
    for (int lib = 0; lib < NLIB; lib++) round_of(lib, min_count, seconds / rounds);

  printf("rates: median of %d interleaved rounds of CPU time (smallest..largest round)\n",
         rounds);
  {
    double t = rate_of(LIB_TERN), o = rate_of(LIB_OSSL), g = rate_of(LIB_GT),
           f = rate_of(LIB_FLOOR), tc = rate_of(LIB_TERN_COLD);
    printf("handshake full: floor %s, tern %s, OpenSSL libssl %s, GnuTLS %s\n",
           spread(LIB_FLOOR, b1, sizeof b1), spread(LIB_TERN, b2, sizeof b2),
           spread(LIB_OSSL, b3, sizeof b3), spread(LIB_GT, b4, sizeof b4));
    printf("  ratio to the floor: tern %.2fx, OpenSSL %.2fx, GnuTLS %.2fx; "
           "ratio to OpenSSL: tern %.2fx, GnuTLS %.2fx\n",
           t / f, o / f, g / f, t / o, g / o);
    printf("target tern >= %.1fx the floor: %s (%.2fx)\n", TARGET_FLOOR,
           verdict(t / f >= TARGET_FLOOR), t / f);
    printf("handshake full, every server certificate new to the client (tern's parse cache "
           "cold): tern %s (ratio to OpenSSL %.2fx, to GnuTLS %.2fx, to the floor %.2fx)\n",
           spread(LIB_TERN_COLD, b1, sizeof b1), tc / o, tc / g, tc / f);
    printf("target tern cold >= %.1fx OpenSSL: %s (%.2fx)\n", TARGET_COLD,
           verdict(tc / o >= TARGET_COLD), tc / o);
    {
      double pw, pwo;
      leaf_parse_costs(&p, &pw, &pwo);
      printf("  tern's cold handshake takes %.1f us; libcrypto's own d2i_X509 of the new leaf "
             "takes %.1f us, %.1f us of it libcrypto 3.0's public-key decoder (the same parse "
             "with no provider: %.1f us): OpenSSL's client pays it, tern's does not (an EC or "
             "RSA leaf is parsed with no decoder and its key built from its "
             "SubjectPublicKeyInfo)\n",
             1e6 / tc, pw, pw - pwo, pwo);
    }
    printf("time per handshake (client+server): floor %.1f us, tern %.1f us (cold cache %.1f "
           "us), OpenSSL %.1f us, GnuTLS %.1f us\n",
           1e6 / f, 1e6 / t, 1e6 / tc, 1e6 / o, 1e6 / g);
  }
#ifdef BENCH_COUNT_MALLOC
  printf("allocations per handshake (client+server):");
  for (int lib = 0; lib < LIB_TERN_RESUME; lib++) print_allocs(lib);
  printf("\n");
  {
    double n_t = (double)stats[LIB_TERN].used.all / (double)stats[LIB_TERN].handshakes,
           n_f = (double)stats[LIB_FLOOR].used.all / (double)stats[LIB_FLOOR].handshakes;
    printf("  (the floor's: %.0f inside X25519 and ECDSA, %.0f digest contexts, one per "
           "digest init or copy in libcrypto 3.0)\n", floor_pk_allocs(),
           n_f - floor_pk_allocs());
    printf("target tern allocations <= the floor's + %.0f (%.0f): %s (%.0f)\n",
           TARGET_ALLOCS_OVER, n_f + TARGET_ALLOCS_OVER,
           verdict(n_t <= n_f + TARGET_ALLOCS_OVER), n_t);
  }
#endif
  {
    double t = rate_of(LIB_TERN_RESUME), o = rate_of(LIB_OSSL_RESUME),
           g = rate_of(LIB_GT_RESUME);
    printf("handshake resumed (psk_dhe_ke X25519, a fresh ticket each, exactly one new ticket "
           "issued and read per connection: tern %lu, OpenSSL %lu, GnuTLS %lu): tern %s, "
           "OpenSSL libssl %s, GnuTLS %s\n",
           *peer_tern.tickets_per_conn, *peer_openssl.tickets_per_conn,
           *peer_gnutls.tickets_per_conn, spread(LIB_TERN_RESUME, b1, sizeof b1),
           spread(LIB_OSSL_RESUME, b2, sizeof b2), spread(LIB_GT_RESUME, b3, sizeof b3));
    printf("  ratio to OpenSSL: tern %.2fx, GnuTLS %.2fx\n", t / o, g / o);
    printf("target tern resumed >= %.1fx OpenSSL: %s (%.2fx)\n", TARGET_RESUMED,
           verdict(t / o >= TARGET_RESUMED), t / o);
    printf("time per resumed handshake (client+server): tern %.1f us, OpenSSL %.1f us, "
           "GnuTLS %.1f us\n", 1e6 / t, 1e6 / o, 1e6 / g);
  }
#ifdef BENCH_COUNT_MALLOC
  printf("allocations per resumed handshake (client+server):");
  for (int lib = LIB_TERN_RESUME; lib < NLIB; lib++) print_allocs(lib);
  printf("\n");
#endif

  for (int lib = 0; lib < NPEERS; lib++) heap_of(lib, pairs);
#ifdef BENCH_HEAP
  printf("heap per pair mid-handshake: tern %.0f B, OpenSSL %.0f B, GnuTLS %.0f B\n",
         stats[LIB_TERN].heap[1], stats[LIB_OSSL].heap[1], stats[LIB_GT].heap[1]);
  printf("  (%zu pairs; server waits for the client's Finished; harness transport buffers "
         "not counted: tern %.0f B, OpenSSL %.0f B, GnuTLS %.0f B per pair)\n",
         pairs, stats[LIB_TERN].transport[1], stats[LIB_OSSL].transport[1],
         stats[LIB_GT].transport[1]);
  printf("heap per pair after the server flight, before the client reads it: tern %.0f B, "
         "OpenSSL %.0f B, GnuTLS %.0f B\n",
         stats[LIB_TERN].heap[0], stats[LIB_OSSL].heap[0], stats[LIB_GT].heap[0]);
  printf("target tern <= %.0f B per pair: %s\n", TARGET_HEAP,
         verdict(stats[LIB_TERN].heap[1] <= TARGET_HEAP));
#else
  printf("heap per pair mid-handshake: not measured (needs glibc >= 2.33, no sanitizer)\n");
#endif
#ifdef BENCH_HEAP
  {
    double kept, tbuf;
    tern_established(pairs, &kept, &tbuf);
    printf("heap per established tern connection (handshake complete, %zu pairs held): %.0f B "
           "(harness transport buffers not counted: %.0f B per connection)\n", pairs, kept, tbuf);
    printf("target tern <= %.0f B per established connection: %s\n", TARGET_ESTABLISHED,
           verdict(kept <= TARGET_ESTABLISHED));
  }
#endif
  {
    /* 1 thread on the CPU of the timed rounds against 2 on two CPUs,
       interleaved rounds, medians */
    int cpus[2] = {cpu, -1};
    double w1[MAX_ROUNDS], w2[MAX_ROUNDS], c1[MAX_ROUNDS], c2[MAX_ROUNDS];
    int n_rounds = quick ? 1 : 5;
    unsigned long n = quick ? 100 : (unsigned long)(rate_of(LIB_TERN) * 0.5) + 50;
    for (int i = 0; i < CPU_SETSIZE && cpus[1] < 0; i++)
      if (CPU_ISSET(i, &all_cpus) && i != cpu) cpus[1] = i;
    if (cpus[1] < 0 || cpu < 0) {
      printf("scaling: not measured (needs two CPUs and pinning)\n");
    } else {
      for (int r = 0; r < n_rounds; r++) {
        scale_round(1, cpus, n, &w1[r], &c1[r]);
        scale_round(2, cpus, n, &w2[r], &c2[r]);
      }
      qsort(w1, (size_t)n_rounds, sizeof w1[0], cmp_double);
      qsort(w2, (size_t)n_rounds, sizeof w2[0], cmp_double);
      qsort(c1, (size_t)n_rounds, sizeof c1[0], cmp_double);
      qsort(c2, (size_t)n_rounds, sizeof c2[0], cmp_double);
      printf("scaling, full tern handshakes on the same configurations, CPUs %d and %d, median "
             "of %d interleaved rounds of %lu handshakes a thread: 1 thread %.0f/s, 2 threads "
             "%.0f/s of wall time (%.2fx); per CPU-second of each thread, summed: %.0f/s and "
             "%.0f/s (%.2fx)\n", cpus[0], cpus[1], n_rounds, n, w1[n_rounds / 2],
             w2[n_rounds / 2], w2[n_rounds / 2] / w1[n_rounds / 2], c1[n_rounds / 2],
             c2[n_rounds / 2], c2[n_rounds / 2] / c1[n_rounds / 2]);
      printf("target 2 threads >= %.1fx 1 thread: wall time %s (%.2fx; other programs on the "
             "machine take from it), CPU time %s (%.2fx)\n", TARGET_SCALING,
             verdict(w2[n_rounds / 2] / w1[n_rounds / 2] >= TARGET_SCALING),
             w2[n_rounds / 2] / w1[n_rounds / 2],
             verdict(c2[n_rounds / 2] / c1[n_rounds / 2] >= TARGET_SCALING),
             c2[n_rounds / 2] / c1[n_rounds / 2]);
    }
  }

out:
  floor_teardown();
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
