/*
 * proofs/crypto/cert/harness.c - the EVA driver for the byte handling of
 * src/crypto/cert.c, run by proofs/crypto/cert/eva.sh. cert.c is included
 * as it is (nothing copied or changed), so that its static functions can
 * be called as well as its entry points; libcrypto is the model of
 * proofs/crypto/cert/include/openssl/x509.h (contracts on every buffer
 * and object it is given, both outcomes of every answer).
 *
 * What the proof (main) drives, each with inputs of unknown bytes:
 *  - our chain: tern_cert_chain_from_objects with 0..TERN_CERT_MAX_CHAIN
 *    intermediates (one past the limit), certificates whose DER length
 *    and signature are unknown (cache_der, signed_with, chain_adopt),
 *    then tern_cert_chain_signed_within with lists of unknown schemes of
 *    every length 0..LIST_IN (the END of an array), and
 *    tern_cert_chain_free; tern_cert_chain_load_files (read_certs,
 *    read_key) on PEM files of any number of certificates.
 *  - same_chain directly: a remembered list of unknown bytes of every
 *    length 0..STORED_IN (the END of an array) against chains of 0..3
 *    certificates of 1..3 bytes each (each the END of its array): it
 *    never reads outside either, and says yes only when the lengths add
 *    up. (A certificate of 0 bytes is left out: same_chain then hands
 *    memcmp a one-past-the-end pointer with n == 0, which Frama-C's libc
 *    contract for memcmp refuses.)
 *  - verified_add directly with a certificate length past 0xffffff (not
 *    remembered), over a path whose validity times are any struct tm
 *    (asn1_seconds, days_from_civil: no overflow for any year).
 *  - trust set-up and free: tern_trust_new, _load, _free.
 * Run by eva.sh with its own -main and settings each:
 *  - drive_ca_names: tern_trust_ca_names on stores of 0..3 objects (CRLs
 *    or certificates): the first name's DER length any int (in three
 *    intervals: does not encode, fits, too long alone) or an exact
 *    boundary length (1, 255, 256, 65533), the later ones exact lengths
 *    around the 65535-byte limit (-1, 1, 256, 65530, 65531); with an
 *    i2d_X509_NAME that may fail on its second call. The list is never
 *    written past its 65535 bytes, the store is unlocked again, and when
 *    every length is exact the list is whole (each name after its 2-byte
 *    length, to the end).
 *  - drive_leaf_all: the decoder-free leaf parse: leaf_setup (through
 *    pthread_once: the curves' legacy and provider keys, the leaves'
 *    library context and its built-in provider, whose init function the
 *    model calls), parse_leaf_fast and spki_keys twice on a certificate
 *    of unknown bytes of each length of der_lens (EC keys on any curve
 *    NID, RSA, anything else; key bytes of any length 0..8; the
 *    re-encoded SubjectPublicKeyInfo equal or not), and the SHA-1
 *    provider's functions called directly (sha1_final with 19, 20 and
 *    64 bytes of room).
 *  - drive_verify: tern_cert_verify_peer VERIFY_ROUNDS times (1 in
 *    eva.sh) on one trust, through the parse cache and the verified-chain
 *    cache, with chains of 1..3 certificates of unknown bytes, each 2
 *    bytes (cached) or one past the parse cache's limit, a store of any
 *    settings (flags, depth, a name of its own or not, a look-up hook or
 *    not), a name to check of unknown bytes; then the arguments refused,
 *    and tern_trust_free. Partitioned by what the caches stored (the
 *    harness's pthread_mutex_unlock): joined, a slot's DER would be one
 *    of two calls' copies, and freeing it would leave the other's
 *    pointers possibly dangling. Two rounds (the verified-chain cache
 *    hit, the parse cache hit across calls) did not finish within 15
 *    minutes (wall, on a loaded machine); within the one round the
 *    parse cache may be hit (a certificate equal to an earlier one of
 *    the chain), the verified-chain cache is only filled.
 *
 * After each call, what it promises holds (ACSL assertions).
 */
#include "__fc_builtin.h"

#include "crypto/cert.c"

#ifndef OURS_K
#define OURS_K TERN_CERT_MAX_CHAIN
#endif
#ifndef LIST_IN
#define LIST_IN 4
#endif
#ifndef VERIFY_ROUNDS
#define VERIFY_ROUNDS 1
#endif
#ifndef STORED_IN
#define STORED_IN 14
#endif

/* -- the rest of tern and of the libc, as cert.c sees them ---------------- */

/* src/crypto/sig.c: frees the contexts of prep. */
/*@ requires prep == \null || \valid(prep); */
void tern_sig_prepared_free(tern_sig_prepared *prep) { (void)prep; }

/* Frama-C's libc declares inet_pton without a contract: it reads a
   string and writes 4 (IPv4) or 16 (IPv6) bytes on success. */
/*@ requires af == AF_INET || af == AF_INET6;
    requires valid_read_string(src);
    requires \valid((unsigned char *)dst + (0 .. (af == AF_INET ? 3 : 15))); */
int inet_pton(int af, const char *src, void *dst) {
  if (Frama_C_interval(0, 1)) return 0;
  Frama_C_make_unknown((char *)dst, af == AF_INET ? 4 : 16);
  return 1;
}

/* Frama-C's libc declares pthread_once without a contract: the first
   call with a control runs init, every later one returns at once. */
/*@ requires \valid(once) && init != \null; */
int pthread_once(pthread_once_t *once, void (*init)(void)) {
  if (once->_fc == 0) {
    once->_fc = 1;
    init();
  }
  return 0;
}

/* The model of EVP_MD_fetch (include/openssl/core.h), here because it
   reads cert.c's statics: leaf_setup calls it right after making the
   curves' keys, and the split keeps one state per set of curves whose
   keys were made (both keys of a curve, or neither: cert.c drops both
   when one fails) after leaf_setup returns, so that what spki_keys
   reads of one curve's keys stays related. */
EVP_MD *EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties) {
  int made = (leaf_legacy_params[0] != NULL ? 1 : 0) + (leaf_legacy_params[1] != NULL ? 2 : 0) +
             (leaf_legacy_params[2] != NULL ? 4 : 0);
  //@ split made;
  (void)ctx; (void)algorithm; (void)properties;
  return Frama_C_interval(0, 1) ? &proof_md : NULL;
}

/* -- our chain ------------------------------------------------------------ */

static X509 ours[TERN_CERT_MAX_CHAIN + 1];
static uint16_t list_in[LIST_IN];

void drive_ours(void) {
  static EVP_PKEY key;
  static STACK_OF(X509) extra;
  for (int i = 0; i <= TERN_CERT_MAX_CHAIN; i++) proof_x509_unknown(&ours[i]);
  Frama_C_make_unknown((char *)list_in, sizeof list_in);
  /*@ loop unroll OURS_K + 1; */
  for (int k = 0; k <= OURS_K; k++) {
    tern_cert_chain *chain = NULL;
    int rc;
    extra.num = extra.cap = k;
    if (k > 0) extra.data[k - 1] = &ours[k];
    rc = tern_cert_chain_from_objects(&chain, &ours[0], &extra, &key);
    //@ split rc;
    /*@ assert rc == TERN_OK ==> \valid(chain) && 1 <= chain->n <= TERN_CERT_MAX_CHAIN; */
    /*@ assert k + 1 > TERN_CERT_MAX_CHAIN ==> rc != TERN_OK; */
    if (rc == TERN_OK) {
      /*@ loop unroll LIST_IN + 1; */
      for (size_t m = 0; m <= LIST_IN; m++) {
        int in = tern_cert_chain_signed_within(chain, list_in + (LIST_IN - m), m);
        /*@ assert in == 0 || in == 1; */
        (void)in;
      }
      tern_cert_chain_free(chain);
    }
    //@ merge rc;
  }
  {
    tern_cert_chain *chain = NULL;
    int rc = tern_cert_chain_from_objects(&chain, &ours[0], NULL, &key);
    if (rc == TERN_OK) tern_cert_chain_free(chain);
  }
}

void drive_load(void) {
  tern_cert_chain *chain = NULL;
  int rc = tern_cert_chain_load_files(&chain, "chain.pem", "key.pem");
  /*@ assert rc == TERN_OK ==> \valid(chain) && 1 <= chain->n <= TERN_CERT_MAX_CHAIN; */
  if (rc == TERN_OK) tern_cert_chain_free(chain);
}

/* -- certificate_authorities ----------------------------------------------- */

static X509 anchors[3];
static X509_OBJECT objects[3];
static STACK_OF(X509_OBJECT) objs;
static X509_STORE names_store;

/* The first anchor's name: a CRL, or a DER length of any int in one of
   three intervals (does not encode; fits alone; too long alone), or one
   of a few exact lengths (1, 255, 256, 65533: fills the list exactly).
   Its own case each. Returns whether the length is exact. */
static int pick_first(void) {
  int kind = Frama_C_interval(0, 7);
  int len = 0;
  //@ split kind;
  objects[0].x509 = &anchors[0];
  switch (kind) {
  case 0: objects[0].x509 = NULL; break;                  /* a CRL */
  case 1: len = Frama_C_interval(-2147483647 - 1, 0); break;
  case 2: len = Frama_C_interval(1, 65533); break;
  case 3: len = Frama_C_interval(65534, 2147483647); break;
  case 4: len = 1; break;
  case 5: len = 255; break;
  case 6: len = 256; break;
  default: len = 65533; break;
  }
  anchors[0].subject.der_len = len;
  return kind != 2;
}

/* A later anchor's name (i = 1, 2): a CRL, or an exact DER length: one
   that does not encode, 1, 256, and the two around the list's limit
   after a first name of 1 byte (65530 fills it exactly, 65531 is one
   byte too many). After a first name of any length, every sum of
   lengths around 65535 is met. Its own case each. */
static void pick_later(int i) {
  int kind = Frama_C_interval(0, 5);
  int len = 0;
  //@ split kind;
  objects[i].x509 = &anchors[i];
  switch (kind) {
  case 0: objects[i].x509 = NULL; break;                  /* a CRL */
  case 1: len = -1; break;
  case 2: len = 1; break;
  case 3: len = 256; break;
  case 4: len = 65530; break;
  default: len = 65531; break;
  }
  anchors[i].subject.der_len = len;
}

void drive_ca_names(void) {
  tern_trust *t;
  int exact = 1, num = Frama_C_interval(0, 3);
  //@ split num;
  objs.num = num;
  for (int i = 0; i < 3; i++) objs.data[i] = &objects[i];
  if (num > 0) exact = pick_first();
  if (num > 1) pick_later(1);
  if (num > 2) pick_later(2);
  names_store.objs = &objs;
  names_store.locked = 0;
  if (tern_trust_from_store(&t, &names_store) != TERN_OK) return;
  {
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = tern_trust_ca_names(t, &out, &len);
    /*@ assert rc == TERN_OK ==> 3 <= len <= 65535 && \valid(out + (0 .. len - 1)); */
    /*@ assert rc != TERN_OK ==> out == \null && len == 0; */
    /*@ assert names_store.locked == 0; */
    if (rc == TERN_OK && exact) {
      /* the list is whole: each name after its 2-byte length, to the end */
      size_t off = 0;
      /*@ loop unroll 4; */
      while (off < len) {
        size_t l;
        /*@ assert off + 2 <= len; */
        l = (size_t)out[off] << 8 | out[off + 1];
        off += 2 + l;
        /*@ assert off <= len; */
      }
    }
    if (rc == TERN_OK) OPENSSL_free(out);
  }
  tern_trust_free(t);
}

/* -- the peer's chain ---------------------------------------------------------- */

#define CAP 16400   /* past PARSE_CACHE_MAX_DER */
static uint8_t peer_der[3][CAP];
static char host_in[8];

/* The certificates' DER lengths: short ones, and one past the parse
   cache's limit (parsed each time, the chain too long to remember). */
static const size_t der_lens[] = {1, 2, 5, PARSE_CACHE_MAX_DER + 1};

/* drive_verify's: one that is cached, one past the parse cache's limit. */
static const size_t verify_lens[] = {2, PARSE_CACHE_MAX_DER + 1};

static int proof_hook(void) { return 0; }

/* The trust drive_verify works on, and what its caches did so far: two
   bits at each release of its lock, whether the parse cache's and the
   verified-chain cache's next slot moved since the last release (a
   certificate or a chain stored). Only a partitioning key: one state per sequence of
   stores, so that each slot holds the copy of one call in each state
   (joined, two calls' copies would each be "one of two" slots', and a
   free of one would leave the other possibly dangling). */
static trust_impl *proof_trust;
static unsigned long long proof_cache_trace;
static size_t proof_last_next, proof_last_verified;

/* Frama-C's libc has only a contract for pthread_mutex_unlock (0 or
   EPERM); this body returns either, after adding to the key above when
   the mutex is drive_verify's trust's lock. */
int pthread_mutex_unlock(pthread_mutex_t *mutex) {
  if (proof_trust != NULL && mutex == &proof_trust->lock) {
    proof_cache_trace = proof_cache_trace * 4 + (proof_trust->next != proof_last_next ? 1 : 0) +
                        (proof_trust->next_verified != proof_last_verified ? 2 : 0);
    proof_last_next = proof_trust->next;
    proof_last_verified = proof_trust->next_verified;
  }
  //@ split proof_cache_trace;
  return Frama_C_interval(0, 1) ? 0 : EPERM;
}

void drive_verify(void) {
  static X509_STORE store;
  tern_trust *t;
  const uint8_t *der[3];
  size_t der_len[3];
  int n = Frama_C_interval(1, 3);
  int which = Frama_C_interval(0, sizeof verify_lens / sizeof verify_lens[0] - 1);
  size_t len;
  //@ split n;
  //@ split which;
  len = verify_lens[which];
  Frama_C_make_unknown((char *)peer_der, sizeof peer_der);
  Frama_C_make_unknown(host_in, sizeof host_in - 1);
  host_in[sizeof host_in - 1] = 0;
  proof_x509_unknown(&proof_anchor);
  /* the store's settings: anything (flags, callbacks, names) */
  store.param.flags = Frama_C_unsigned_long_interval(0, 0xffffffffUL);
  store.param.inh_flags = Frama_C_unsigned_int_interval(0, 0xffffffffu);
  store.param.depth = Frama_C_interval(-1, 100);
  store.param.auth_level = Frama_C_interval(-1, 5);
  store.param.host = Frama_C_interval(0, 1) ? host_in : NULL;
  store.param.email = NULL;
  store.verify_cb = NULL;
  store.verify = NULL;
  store.check_revocation = NULL;
  store.check_policy = NULL;
  /* a look-up hook (no decoder-free leaf parse then), or none */
  store.get_issuer = Frama_C_interval(0, 1) ? proof_hook : NULL;
  store.check_issued = store.lookup_certs = store.lookup_crls = NULL;
  store.get_crl = store.check_crl = store.cert_crl = NULL;
  store.objs = NULL;
  if (tern_trust_from_store(&t, &store) != TERN_OK) return;
  proof_trust = (trust_impl *)t;
  for (int i = 0; i < 3; i++) {
    der[i] = peer_der[i] + (CAP - len);
    der_len[i] = len;
  }
  /*@ loop unroll VERIFY_ROUNDS; */
  for (int round = 0; round < VERIFY_ROUNDS; round++) {
    EVP_PKEY *key = NULL;
    int err = -1;
    uint8_t alert = 0;
    const char *host = round == 1 ? NULL : host_in;  /* the first round checks a name */
    int rc = tern_cert_verify_peer(t, der, der_len, (size_t)n, host, round != 2,
                                   round == 0 ? 0 : 1700000000 + round, &key, &err, &alert);
    /*@ assert rc == TERN_OK ==> err == X509_V_OK && key != \null; */
    /*@ assert rc == TERN_ERR_CERT ==> alert != 0 && err != X509_V_OK; */
    /*@ assert store.locked == 0; */
    (void)rc;
  }
  {
    /* the arguments refused */
    uint8_t alert = 0;
    int err = 0, rc;
    rc = tern_cert_verify_peer(t, der, der_len, 0, NULL, 1, 0, NULL, &err, &alert);
    /*@ assert rc == TERN_ERR_INVALID_ARG; */
    rc = tern_cert_verify_peer(t, der, der_len, 1, "", 1, 0, NULL, &err, &alert);
    /*@ assert rc == TERN_ERR_INVALID_ARG; */
    (void)rc;
  }
  tern_trust_free(t);
}

/* -- the decoder-free leaf parse on its own --------------------------------- */

/* parse_leaf_fast twice on one certificate of unknown bytes (the first
   call makes the leaves' library context and the curves' keys, through
   pthread_once), of each length of der_lens, each the END of its array. */
void drive_leaf(void) {
  int which = Frama_C_interval(0, sizeof der_lens / sizeof der_lens[0] - 1);
  size_t len;
  //@ split which;
  len = der_lens[which];
  Frama_C_make_unknown((char *)peer_der, sizeof peer_der);
  /*@ loop unroll 2; */
  for (int round = 0; round < 2; round++) {
    EVP_PKEY *key = &proof_pkey;
    X509 *x = parse_leaf_fast(peer_der[0] + (CAP - len), len, &key);
    /*@ assert x == \null ==> key == \null; */
    /*@ assert x != \null ==> \valid(x) && \valid(key); */
    (void)x;
  }
}

/* The SHA-1 provider of the leaves' library context, each function as
   libcrypto would call it (its query, the digest's functions, with an
   output room of 19, 20 and 64 bytes, the END of an array). */
void drive_sha1(void) {
  static unsigned char in[8], out[64];
  const OSSL_DISPATCH *table = NULL;
  void *provctx = &proof_md;
  int no_cache = -1;
  size_t out_len = 0, cap;
  int which = Frama_C_interval(0, 2);
  void *ctx, *dup;
  //@ split which;
  cap = which == 0 ? 19 : which == 1 ? 20 : 64;
  Frama_C_make_unknown((char *)in, sizeof in);
  (void)leaf_provider_init(NULL, NULL, &table, &provctx);
  /*@ assert table == leaf_provider && provctx == \null; */
  {
    const OSSL_ALGORITHM *algs = leaf_query(NULL, OSSL_OP_DIGEST, &no_cache);
    /*@ assert algs == leaf_digests && no_cache == 0; */
    algs = leaf_query(NULL, OSSL_OP_DIGEST + 1, &no_cache);
    /*@ assert algs == \null; */
  }
  (void)sha1_gettable_params(NULL);
  {
    OSSL_PARAM params[5];
    size_t block = 0, size = 0;
    int xof = -1, absent = -1;
    params[0] = (OSSL_PARAM)OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_BLOCK_SIZE, &block);
    params[1] = (OSSL_PARAM)OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_SIZE, &size);
    params[2] = (OSSL_PARAM)OSSL_PARAM_int(OSSL_DIGEST_PARAM_XOF, &xof);
    params[3] = (OSSL_PARAM)OSSL_PARAM_int(OSSL_DIGEST_PARAM_ALGID_ABSENT, &absent);
    params[4] = (OSSL_PARAM)OSSL_PARAM_END;
    (void)sha1_get_params(params);
  }
  ctx = sha1_newctx(NULL);
  if (ctx == NULL) return;
  leaf_sha1 = Frama_C_interval(0, 1) ? &proof_md : NULL;
  if (sha1_init(ctx, NULL) == 1) {
    (void)sha1_update(ctx, in, sizeof in);
    (void)sha1_update(ctx, in, 0);
    dup = sha1_dupctx(ctx);
    if (sha1_final(ctx, out + (sizeof out - cap), &out_len, cap) == 1) {
      /*@ assert cap >= 20 && out_len == 20; */
    }
    sha1_freectx(dup);
  }
  sha1_freectx(ctx);
}

/* The leaf parse's proof (eva.sh's -main for it). */
void drive_leaf_all(void) {
  drive_sha1();
  leaf_sha1 = NULL;
  drive_leaf();
}

/* -- the verified-chain cache on its own ----------------------------------- */

static uint8_t stored_in[STORED_IN];
static uint8_t chain_in[3][4];

void drive_same_chain(void) {
  verified_chain v;
  const uint8_t *der[3];
  size_t der_len[3];
  int n = Frama_C_interval(0, 3);
  size_t vlen = (size_t)Frama_C_interval(0, STORED_IN);
  //@ split n;
  //@ split vlen;
  Frama_C_make_unknown((char *)stored_in, sizeof stored_in);
  Frama_C_make_unknown((char *)chain_in, sizeof chain_in);
  memset(&v, 0, sizeof v);
  v.der = stored_in + (STORED_IN - vlen);
  v.len = vlen;
  der_len[0] = (size_t)Frama_C_interval(1, 3);
  der_len[1] = (size_t)Frama_C_interval(1, 3);
  der_len[2] = (size_t)Frama_C_interval(1, 3);
  //@ split der_len[0];
  //@ split der_len[1];
  //@ split der_len[2];
  for (int i = 0; i < 3; i++) der[i] = chain_in[i] + (4 - der_len[i]);
  {
    int same = same_chain(&v, der, der_len, (size_t)n);
    /*@ assert same == 1 ==> vlen == n * 3 + (n > 0 ? der_len[0] : 0) +
                              (n > 1 ? der_len[1] : 0) + (n > 2 ? der_len[2] : 0); */
    (void)same;
  }
}

void drive_verified_add(void) {
  trust_impl *ti = calloc(1, sizeof *ti);
  static const uint8_t one[1];
  const uint8_t *der[2] = {one, one};
  size_t der_len[2] = {1, 0x1000000};
  store_settings s = {0, 0, 0, 0};
  static STACK_OF(X509) path;
  static EVP_PKEY leaf_key; /* the leaf's key kept with the chain */
  if (ti == NULL) return;
  proof_x509_unknown(&proof_anchor);
  path.num = path.cap = 1;
  path.data[0] = &proof_anchor;
  verified_add(ti, der, der_len, 2, 1, &s, &proof_anchor, &leaf_key, &path);
  /*@ assert ti->verified[0].der == \null; */
  free(ti);
}

/* -- trust set-up ------------------------------------------------------------- */

void drive_trust(void) {
  tern_trust *t = NULL;
  if (tern_trust_new(&t) != TERN_OK) return;
  (void)tern_trust_load(t, "ca.pem", NULL);
  (void)tern_trust_load(t, NULL, "certs");
  (void)tern_trust_load(t, NULL, NULL);
  tern_trust_free(t);
  tern_trust_free(NULL);
}

/* The main run. drive_ca_names, drive_leaf_all and drive_verify are runs
   of their own (eva.sh). */
int main(void) {
  drive_ours();
  drive_load();
  drive_same_chain();
  drive_verified_add();
  drive_trust();
  return 0;
}
