/*
 * proofs/crypto/cert/include/openssl/x509.h - what Frama-C sees of
 * libcrypto when it analyses src/crypto/cert.c (Frama-C parses with its
 * own libc and does not analyse libcrypto). Every <openssl/...> header
 * cert.c, cert.h and sig.h include leads here.
 *
 * Each call cert.c makes is a small function whose contract (requires) is
 * what libcrypto's documentation asks of its arguments: every buffer it
 * reads is there and initialised for the length it is given, every buffer
 * it writes is there for what it writes, objects are valid (or NULL where
 * the documentation allows it), stack indexes are in range, the store's
 * objects are read under its lock. EVA checks each precondition at each
 * call. The bodies model what libcrypto does to tern's memory and what it
 * returns: i2d_* return the encoding's length (the same each time for one
 * object) or a negative number, write exactly that many bytes and advance
 * the pointer by it; d2i_X509 reads at most len bytes and consumes 1..len
 * of them or fails with NULL; every allocation may fail (NULL); every
 * yes/no answer of libcrypto (a verification, an up-ref, a name check)
 * is unknown, so both outcomes are analysed; ASN1_TIME_to_tm fills a
 * struct tm within the ranges of <time.h> (any year).
 *
 * Objects are small structs of the model: what a certificate carries for
 * cert.c (its DER length, its signature's NIDs, its subject's DER length,
 * its validity) is set by the harness or, for a parsed one, unknown.
 * Reference counts are libcrypto's business and are not modelled: a free
 * of an object only requires it to be valid or NULL (leaks and double
 * frees are the ASan and leak tests' business, tests/).
 */
#ifndef TERN_PROOF_OPENSSL_X509_H
#define TERN_PROOF_OPENSSL_X509_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "__fc_builtin.h"

/* -- crypto.h, err.h ------------------------------------------------------- */
#define OPENSSL_malloc(n) malloc(n)
#define OPENSSL_zalloc(n) calloc(1, (n))
#define OPENSSL_free(p) free(p)

/*@ requires n == 0 || \valid_read((const char *)p + (0 .. n - 1));
    requires n == 0 || \initialized((const char *)p + (0 .. n - 1)); */
static inline void *OPENSSL_memdup(const void *p, size_t n) {
  void *q = malloc(n == 0 ? 1 : n);
  if (q != NULL && n != 0) memcpy(q, p, n);
  return q;
}

static inline void ERR_clear_error(void) {}
static inline unsigned long ERR_peek_last_error(void) {
  return (unsigned long)Frama_C_unsigned_int_interval(0, 0xffffffffu);
}
#define ERR_LIB_PEM 9
#define PEM_R_NO_START_LINE 108
static inline int ERR_GET_LIB(unsigned long e) { return (int)((e >> 23) & 0xff); }
static inline int ERR_GET_REASON(unsigned long e) { return (int)(e & 0x7fffff); }

/* -- the objects ----------------------------------------------------------- */
#define STACK_OF(type) struct stack_st_##type
#define PROOF_SK_MAX 16

typedef struct evp_pkey_st { int id; } EVP_PKEY;
typedef struct evp_pkey_ctx_st { int id; } EVP_PKEY_CTX;
typedef struct evp_md_st { int id; } EVP_MD;
typedef struct engine_st ENGINE;

typedef struct x509_name_st {
  int der_len;            /* its DER length; <= 0: does not encode */
} X509_NAME;

typedef struct asn1_string_st {
  int converts;           /* ASN1_TIME_to_tm succeeds */
} ASN1_TIME;

/* An OID: its NID and its DER length (<= 0: does not encode). */
typedef struct asn1_object_st { int nid, der_len; } ASN1_OBJECT;
/* An AlgorithmIdentifier: its parameters' type and, for an OID, the OID. */
typedef struct X509_algor_st { int ptype; ASN1_OBJECT param; } X509_ALGOR;

/* The length of every SubjectPublicKeyInfo's DER in the model (a P-256
   one's): cert.c only compares two encodings of the same key, of equal
   lengths; the key's own bytes have any length 0..PROOF_PUB_MAX. */
#define PROOF_SPKI_LEN 91
#define PROOF_PUB_MAX 8
typedef struct X509_pubkey_st {
  int der_len;            /* PROOF_SPKI_LEN or PROOF_SPKI_LEN + 1; <= 0: does not encode */
  ASN1_OBJECT alg;        /* the key's algorithm */
  X509_ALGOR algor;       /* its parameters */
  int pub_len;            /* the key's bytes: pub[0 .. pub_len) */
  unsigned char pub[PROOF_PUB_MAX];
} X509_PUBKEY;

typedef struct x509_st {
  int der_len;            /* its DER length; <= 0: does not encode */
  int sig_info_ok, md_nid, pk_nid;
  X509_NAME subject;
  ASN1_TIME not_before, not_after;
  int has_key;
  X509_PUBKEY pubkey;     /* its SubjectPublicKeyInfo */
} X509;

STACK_OF(X509) { int num, cap; X509 *data[PROOF_SK_MAX]; };

typedef struct x509_object_st { X509 *x509; /* NULL: a CRL */ } X509_OBJECT;
STACK_OF(X509_OBJECT) { int num; X509_OBJECT *data[PROOF_SK_MAX]; };

typedef struct X509_VERIFY_PARAM_st {
  unsigned long flags;
  uint32_t inh_flags;
  int depth, auth_level;
  char *host, *email;
  unsigned int hostflags;
  time_t time;
} X509_VERIFY_PARAM;

typedef struct x509_store_ctx_st X509_STORE_CTX;
/* fast_leaf_ok's questions to the store (the hooks' types do not matter
   here: only whether one is set) */
typedef int (*proof_store_hook)(void);
typedef int (*X509_STORE_CTX_verify_cb)(int, X509_STORE_CTX *);
typedef int (*X509_STORE_CTX_verify_fn)(X509_STORE_CTX *);
typedef int (*X509_STORE_CTX_check_revocation_fn)(X509_STORE_CTX *);
typedef int (*X509_STORE_CTX_check_policy_fn)(X509_STORE_CTX *);

typedef struct x509_store_st {
  STACK_OF(X509_OBJECT) *objs;
  X509_VERIFY_PARAM param;
  X509_STORE_CTX_verify_cb verify_cb;
  X509_STORE_CTX_verify_fn verify;
  X509_STORE_CTX_check_revocation_fn check_revocation;
  X509_STORE_CTX_check_policy_fn check_policy;
  proof_store_hook get_issuer, check_issued, lookup_certs, lookup_crls, get_crl, check_crl,
      cert_crl;
  int locked;
} X509_STORE;

struct x509_store_ctx_st {
  X509_STORE *store;
  X509 *cert;
  STACK_OF(X509) *untrusted;
  X509_VERIFY_PARAM param;
  int error;
  STACK_OF(X509) *chain;  /* the path built, after a verification that passed */
};

typedef struct bio_st { int fd; } BIO;
typedef int pem_password_cb(char *buf, int size, int rwflag, void *u);

/* The anchor every verified path ends at (its validity unknown). */
static X509 proof_anchor;
/* What d2i_X509 and PEM_read_bio_X509 return: one object, its fields
   made unknown at each parse (frees are not modelled, see above). */
static X509 proof_parsed;
/* How many certificates PEM_read_bio_X509 has returned: not read by the
   model, only a partitioning key for EVA (eva.sh's -eva-partition-value),
   so that a chain read from a file keeps its count of certificates. */
int proof_pem_read;
/* The public key of every certificate that has one. */
static EVP_PKEY proof_pkey;

/* A certificate as libcrypto parses it: every field cert.c reads unknown. */
/*@ requires \valid(x); */
static inline void proof_x509_unknown(X509 *x) {
  x->der_len = Frama_C_interval(-1, 64);
  x->sig_info_ok = Frama_C_interval(0, 1);
  x->md_nid = Frama_C_interval(0, 1200);
  x->pk_nid = Frama_C_interval(0, 1200);
  x->subject.der_len = Frama_C_interval(-1, 64);
  x->not_before.converts = Frama_C_interval(0, 1);
  x->not_after.converts = Frama_C_interval(0, 1);
  x->has_key = Frama_C_interval(0, 1);
  x->pubkey.der_len = Frama_C_interval(0, 1) ? PROOF_SPKI_LEN : -1;
  x->pubkey.alg.nid = Frama_C_interval(0, 1200);
  x->pubkey.alg.der_len = 9;
  x->pubkey.algor.ptype = Frama_C_interval(-1, 31);
  x->pubkey.algor.param.nid = Frama_C_interval(0, 1200);
  x->pubkey.algor.param.der_len = 10;
  x->pubkey.pub_len = Frama_C_interval(-1, PROOF_PUB_MAX);
  Frama_C_make_unknown((char *)x->pubkey.pub, PROOF_PUB_MAX);
}

/* -- NIDs, codes, flags (libcrypto's values) -------------------------------- */
#define NID_rsaEncryption 6
#define NID_X9_62_id_ecPublicKey 408
#define NID_sha256 672
#define NID_sha384 673
#define NID_sha512 674
#define NID_rsassaPss 912
#define NID_ED25519 1087
#define NID_ED448 1088

#define X509_V_OK 0
#define X509_V_ERR_UNSPECIFIED 1
#define X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT 2
#define X509_V_ERR_CERT_NOT_YET_VALID 9
#define X509_V_ERR_CERT_HAS_EXPIRED 10
#define X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT 18
#define X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN 19
#define X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY 20
#define X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE 21
#define X509_V_ERR_INVALID_PURPOSE 26
#define X509_V_ERR_HOSTNAME_MISMATCH 62
#define X509_V_ERR_IP_ADDRESS_MISMATCH 64
#define X509_V_ERR_EE_KEY_TOO_SMALL 66

#define X509_V_FLAG_USE_CHECK_TIME 0x2
#define X509_V_FLAG_CRL_CHECK 0x4
#define X509_V_FLAG_CRL_CHECK_ALL 0x8
#define X509_V_FLAG_USE_DELTAS 0x2000
#define X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS 0x4

/* -- stacks ------------------------------------------------------------------ */
/*@ requires sk == \null || \valid_read(sk); */
static inline int sk_X509_num(const STACK_OF(X509) *sk) { return sk == NULL ? -1 : sk->num; }
/*@ requires \valid_read(sk) && 0 <= i < sk->num; */
static inline X509 *sk_X509_value(const STACK_OF(X509) *sk, int i) { return sk->data[i]; }

static inline STACK_OF(X509) *sk_X509_new_null(void) {
  STACK_OF(X509) *sk = calloc(1, sizeof *sk);
  return sk;
}
/* Room for n elements; the pushes within it cannot fail. */
/*@ requires n >= 0; */
static inline STACK_OF(X509) *sk_X509_new_reserve(void *cmp, int n) {
  STACK_OF(X509) *sk;
  (void)cmp;
  if (n > PROOF_SK_MAX) return NULL; /* the model's limit: as an allocation failure */
  sk = calloc(1, sizeof *sk);
  if (sk != NULL) sk->cap = n;
  return sk;
}
/* Returns the new count, or 0 when the stack could not grow. */
/*@ requires \valid(sk) && 0 <= sk->num <= PROOF_SK_MAX;
    requires x == \null || \valid(x); */
static inline int sk_X509_push(STACK_OF(X509) *sk, X509 *x) {
  if (sk->num >= sk->cap) {
    if (sk->num >= PROOF_SK_MAX || Frama_C_interval(0, 1)) return 0;
    sk->cap = sk->num + 1;
  }
  sk->data[sk->num++] = x;
  return sk->num;
}
/*@ requires x == \null || \valid(x); */
static inline void X509_free(X509 *x) { (void)x; }
/*@ requires sk == \null || (\freeable(sk) && 0 <= sk->num <= PROOF_SK_MAX); */
static inline void sk_X509_pop_free(STACK_OF(X509) *sk, void (*f)(X509 *)) {
  if (sk == NULL) return;
  for (int i = 0; i < sk->num; i++) f(sk->data[i]);
  free(sk);
}

/*@ requires sk == \null || \valid_read(sk); */
static inline int sk_X509_OBJECT_num(const STACK_OF(X509_OBJECT) *sk) {
  return sk == NULL ? -1 : sk->num;
}
/*@ requires \valid_read(sk) && 0 <= i < sk->num; */
static inline X509_OBJECT *sk_X509_OBJECT_value(const STACK_OF(X509_OBJECT) *sk, int i) {
  return sk->data[i];
}
/*@ requires o == \null || \valid_read(o); */
static inline X509 *X509_OBJECT_get0_X509(const X509_OBJECT *o) {
  return o == NULL ? NULL : o->x509;
}

/* -- certificates --------------------------------------------------------- */
/*@ requires \valid(x); */
static inline int X509_up_ref(X509 *x) { (void)x; return Frama_C_interval(0, 1); }

/*@ requires sk == \null || (\valid_read(sk) && 0 <= sk->num <= PROOF_SK_MAX); */
static inline STACK_OF(X509) *X509_chain_up_ref(STACK_OF(X509) *sk) {
  STACK_OF(X509) *c;
  if (sk == NULL) return NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  *c = *sk;
  return c;
}

/*@ requires \valid(x);
    requires md == \null || \valid(md);
    requires pk == \null || \valid(pk);
    requires bits == \null || \valid(bits);
    requires flags == \null || \valid(flags); */
static inline int X509_get_signature_info(X509 *x, int *md, int *pk, int *bits,
                                          uint32_t *flags) {
  if (md != NULL) *md = x->md_nid;
  if (pk != NULL) *pk = x->pk_nid;
  if (bits != NULL) *bits = 128;
  if (flags != NULL) *flags = 0;
  return x->sig_info_ok;
}

/* DER of x: the length; with *pp NULL into a new buffer (*pp set to it),
   else at *pp, which moves past it. */
/*@ requires \valid_read(x);
    requires pp == \null || \valid(pp);
    requires pp == \null || *pp == \null || x->der_len <= 0 ||
             \valid(*pp + (0 .. x->der_len - 1)); */
static inline int i2d_X509(const X509 *x, unsigned char **pp) {
  int n = x->der_len;
  unsigned char *p;
  if (n <= 0) return -1;
  if (pp == NULL) return n;
  if (*pp == NULL) {
    /* a new buffer of n bytes (its bytes are left uninitialised here:
       cert.c does not read them, and would be flagged if it did) */
    p = malloc((size_t)n);
    if (p == NULL) return -1;
    *pp = p;
    return n;
  }
  Frama_C_make_unknown((char *)*pp, (size_t)n);
  *pp += n;
  return n;
}

/* Parses at most len bytes at *in; on success *in moves past what was
   consumed (1..len bytes). */
/* With px, *px (when not NULL) is the object parsed into, freed (and
   *px set to NULL) on failure. */
/*@ requires px == \null || (\valid(px) && (*px == \null || \valid(*px)));
    requires \valid(in) && len >= 1;
    requires \valid_read(*in + (0 .. len - 1));
    requires \initialized(*in + (0 .. len - 1)); */
static inline X509 *d2i_X509(X509 **px, const unsigned char **in, long len) {
  X509 *x;
  if (Frama_C_interval(0, 1)) {              /* not a certificate, or no memory */
    if (px != NULL) *px = NULL;
    return NULL;
  }
  x = px != NULL && *px != NULL ? *px : &proof_parsed;
  proof_x509_unknown(x);
  if (px != NULL) *px = x;
  *in += Frama_C_interval(1, (int)(len > 0x7fffffff ? 0x7fffffff : len));
  return x;
}

/*@ requires \valid_read(x); */
static inline X509_NAME *X509_get_subject_name(const X509 *x) {
  return (X509_NAME *)&x->subject;
}

/* DER of a name, as i2d_X509. */
/*@ requires \valid_read(a);
    requires pp == \null || \valid(pp);
    requires pp == \null || *pp == \null || a->der_len <= 0 ||
             \valid(*pp + (0 .. a->der_len - 1)); */
static inline int i2d_X509_NAME(const X509_NAME *a, unsigned char **pp) {
  int n = a->der_len;
  unsigned char *p;
  if (n <= 0) return -1;
  if (pp == NULL) return n;
  if (*pp == NULL) {
    p = malloc((size_t)n);
    if (p == NULL) return -1;
    Frama_C_make_unknown((char *)p, (size_t)n);
    *pp = p;
    return n;
  }
  if (Frama_C_interval(0, 1)) return -1;   /* an encoder failure */
  Frama_C_make_unknown((char *)*pp, (size_t)n);
  *pp += n;
  return n;
}

/*@ requires \valid(x); */
static inline uint32_t X509_get_extension_flags(X509 *x) {
  (void)x;
  return Frama_C_unsigned_int_interval(0, 0xffffffffu);
}
/*@ requires \valid_read(x); */
static inline const ASN1_TIME *X509_get0_notBefore(const X509 *x) { return &x->not_before; }
/*@ requires \valid_read(x); */
static inline const ASN1_TIME *X509_get0_notAfter(const X509 *x) { return &x->not_after; }

/* Any time within the ranges of struct tm, any year. */
/*@ requires \valid_read(s) && \valid(tm); */
static inline int ASN1_TIME_to_tm(const ASN1_TIME *s, struct tm *tm) {
  if (!s->converts) return 0;
  tm->tm_year = Frama_C_interval(-2147483647 - 1, 2147483647);
  tm->tm_mon = Frama_C_interval(0, 11);
  tm->tm_mday = Frama_C_interval(1, 31);
  tm->tm_hour = Frama_C_interval(0, 23);
  tm->tm_min = Frama_C_interval(0, 59);
  tm->tm_sec = Frama_C_interval(0, 60);
  tm->tm_wday = Frama_C_interval(0, 6);
  tm->tm_yday = Frama_C_interval(0, 365);
  tm->tm_isdst = 0;
  return 1;
}

/*@ requires \valid(x); */
static inline EVP_PKEY *X509_get_pubkey(X509 *x) {
  return x->has_key && Frama_C_interval(0, 1) ? &proof_pkey : NULL;
}
/*@ requires \valid_read(x) && \valid_read(k); */
static inline int X509_check_private_key(const X509 *x, const EVP_PKEY *k) {
  (void)x; (void)k;
  return Frama_C_interval(0, 1);
}
/*@ requires \valid(x) && valid_read_string(ip); */
static inline int X509_check_ip_asc(X509 *x, const char *ip, unsigned int flags) {
  (void)x; (void)ip; (void)flags;
  return Frama_C_interval(-1, 1);
}
/*@ requires \valid(x) && len >= 1 && \valid_read(name + (0 .. len - 1));
    requires \initialized(name + (0 .. len - 1));
    requires peername == \null; */
static inline int X509_check_host(X509 *x, const char *name, size_t len,
                                  unsigned int flags, char **peername) {
  (void)x; (void)name; (void)len; (void)flags; (void)peername;
  return Frama_C_interval(-1, 1);
}

/* -- keys --------------------------------------------------------------------- */
/*@ requires k == \null || \valid(k); */
static inline void EVP_PKEY_free(EVP_PKEY *k) { (void)k; }
/*@ requires \valid(k); */
static inline int EVP_PKEY_up_ref(EVP_PKEY *k) { (void)k; return Frama_C_interval(0, 1); }

/* -- files (PEM) ---------------------------------------------------------- */
/*@ requires valid_read_string(path) && valid_read_string(mode); */
static inline BIO *BIO_new_file(const char *path, const char *mode) {
  (void)path; (void)mode;
  return Frama_C_interval(0, 1) ? malloc(sizeof(BIO)) : NULL;
}
/*@ requires b == \null || \freeable(b); */
static inline int BIO_free(BIO *b) { free(b); return 1; }
/*@ requires \valid(b) && x == \null && cb == \null; */
static inline X509 *PEM_read_bio_X509(BIO *b, X509 **x, pem_password_cb *cb, void *u) {
  X509 *c;
  (void)b; (void)x; (void)cb; (void)u;
  if (Frama_C_interval(0, 1)) return NULL;
  c = &proof_parsed;
  proof_x509_unknown(c);
  proof_pem_read++;
  return c;
}
/*@ requires \valid(b) && x == \null && cb == \null; */
static inline EVP_PKEY *PEM_read_bio_PrivateKey(BIO *b, EVP_PKEY **x, pem_password_cb *cb,
                                                void *u) {
  (void)b; (void)x; (void)cb; (void)u;
  return Frama_C_interval(0, 1) ? &proof_pkey : NULL;
}

/* -- stores ------------------------------------------------------------------- */
static inline X509_STORE *X509_STORE_new(void) {
  X509_STORE *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->objs = calloc(1, sizeof *s->objs);
  if (s->objs == NULL) {
    free(s);
    return NULL;
  }
  return s;
}
/* Stores are libcrypto's and reference counted: a free only requires a
   store that is not locked. */
/*@ requires s == \null || (\valid(s) && s->locked == 0); */
static inline void X509_STORE_free(X509_STORE *s) { (void)s; }
/*@ requires \valid(s); */
static inline int X509_STORE_up_ref(X509_STORE *s) { (void)s; return Frama_C_interval(0, 1); }
/*@ requires \valid(s) && valid_read_string(file); */
static inline int X509_STORE_load_file(X509_STORE *s, const char *file) {
  (void)s; (void)file;
  return Frama_C_interval(0, 1);
}
/*@ requires \valid(s) && valid_read_string(dir); */
static inline int X509_STORE_load_path(X509_STORE *s, const char *dir) {
  (void)s; (void)dir;
  return Frama_C_interval(0, 1);
}
/*@ requires \valid(s) && s->locked == 0; */
static inline int X509_STORE_lock(X509_STORE *s) {
  if (Frama_C_interval(0, 1)) return 0;
  s->locked = 1;
  return 1;
}
/*@ requires \valid(s) && s->locked == 1; */
static inline int X509_STORE_unlock(X509_STORE *s) {
  s->locked = 0;
  return 1;
}
/* The objects are read under the store's lock. */
/*@ requires \valid(s) && s->locked == 1; */
static inline STACK_OF(X509_OBJECT) *X509_STORE_get0_objects(X509_STORE *s) {
  return s->objs;
}
/*@ requires \valid_read(s); */
static inline X509_VERIFY_PARAM *X509_STORE_get0_param(const X509_STORE *s) {
  return (X509_VERIFY_PARAM *)&s->param;
}
/*@ requires \valid_read(s); */
static inline X509_STORE_CTX_verify_cb X509_STORE_get_verify_cb(const X509_STORE *s) {
  return s->verify_cb;
}
/*@ requires \valid_read(s); */
static inline X509_STORE_CTX_verify_fn X509_STORE_get_verify(const X509_STORE *s) {
  return s->verify;
}
/*@ requires \valid_read(s); */
static inline X509_STORE_CTX_check_revocation_fn
X509_STORE_get_check_revocation(const X509_STORE *s) {
  return s->check_revocation;
}
/*@ requires \valid_read(s); */
static inline X509_STORE_CTX_check_policy_fn X509_STORE_get_check_policy(const X509_STORE *s) {
  return s->check_policy;
}

/*@ requires \valid_read(s); */
static inline proof_store_hook X509_STORE_get_get_issuer(const X509_STORE *s) {
  return s->get_issuer;
}
/*@ requires \valid_read(s); */
static inline proof_store_hook X509_STORE_get_check_issued(const X509_STORE *s) {
  return s->check_issued;
}
/*@ requires \valid_read(s); */
static inline proof_store_hook X509_STORE_get_lookup_certs(const X509_STORE *s) {
  return s->lookup_certs;
}
/*@ requires \valid_read(s); */
static inline proof_store_hook X509_STORE_get_lookup_crls(const X509_STORE *s) {
  return s->lookup_crls;
}
/*@ requires \valid_read(s); */
static inline proof_store_hook X509_STORE_get_get_crl(const X509_STORE *s) {
  return s->get_crl;
}
/*@ requires \valid_read(s); */
static inline proof_store_hook X509_STORE_get_check_crl(const X509_STORE *s) {
  return s->check_crl;
}
/*@ requires \valid_read(s); */
static inline proof_store_hook X509_STORE_get_cert_crl(const X509_STORE *s) {
  return s->cert_crl;
}

/* -- verification parameters --------------------------------------------------- */
/*@ requires \valid_read(p); */
static inline unsigned long X509_VERIFY_PARAM_get_flags(const X509_VERIFY_PARAM *p) {
  return p->flags;
}
/*@ requires \valid_read(p); */
static inline uint32_t X509_VERIFY_PARAM_get_inh_flags(const X509_VERIFY_PARAM *p) {
  return p->inh_flags;
}
/*@ requires \valid_read(p); */
static inline int X509_VERIFY_PARAM_get_depth(const X509_VERIFY_PARAM *p) { return p->depth; }
/*@ requires \valid_read(p); */
static inline int X509_VERIFY_PARAM_get_auth_level(const X509_VERIFY_PARAM *p) {
  return p->auth_level;
}
/*@ requires \valid_read(p) && idx == 0; */
static inline char *X509_VERIFY_PARAM_get0_host(X509_VERIFY_PARAM *p, int idx) {
  (void)idx;
  return p->host;
}
/*@ requires \valid_read(p); */
static inline char *X509_VERIFY_PARAM_get0_email(X509_VERIFY_PARAM *p) { return p->email; }
/*@ requires \valid(p); */
static inline void X509_VERIFY_PARAM_set_time(X509_VERIFY_PARAM *p, time_t t) { p->time = t; }
/*@ requires \valid(p); */
static inline void X509_VERIFY_PARAM_set_hostflags(X509_VERIFY_PARAM *p, unsigned int f) {
  p->hostflags = f;
}
/* The name is copied (namelen bytes; 0: up to its NUL). */
/*@ requires \valid(p);
    requires namelen == 0 ==> valid_read_string(name);
    requires namelen != 0 ==> \valid_read(name + (0 .. namelen - 1)) &&
                              \initialized(name + (0 .. namelen - 1)); */
static inline int X509_VERIFY_PARAM_set1_host(X509_VERIFY_PARAM *p, const char *name,
                                              size_t namelen) {
  (void)p; (void)name; (void)namelen;
  return Frama_C_interval(0, 1);
}
/*@ requires \valid(p) && valid_read_string(ip); */
static inline int X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM *p, const char *ip) {
  (void)p; (void)ip;
  return Frama_C_interval(0, 1);
}

/* -- verification ----------------------------------------------------------------- */
static inline X509_STORE_CTX *X509_STORE_CTX_new(void) {
  return calloc(1, sizeof(X509_STORE_CTX));
}
/*@ requires ctx == \null || (\freeable(ctx) &&
             (ctx->chain == \null || \freeable(ctx->chain))); */
static inline void X509_STORE_CTX_free(X509_STORE_CTX *ctx) {
  if (ctx == NULL) return;
  free(ctx->chain);
  free(ctx);
}
/*@ requires \valid(ctx) && \valid(store) && \valid(x);
    requires untrusted == \null ||
             (\valid(untrusted) && 0 <= untrusted->num <= PROOF_SK_MAX); */
static inline int X509_STORE_CTX_init(X509_STORE_CTX *ctx, X509_STORE *store, X509 *x,
                                      STACK_OF(X509) *untrusted) {
  ctx->store = store;
  ctx->cert = x;
  ctx->untrusted = untrusted;
  ctx->param = store->param;
  return Frama_C_interval(0, 1);
}
/*@ requires \valid(ctx); */
static inline X509_VERIFY_PARAM *X509_STORE_CTX_get0_param(X509_STORE_CTX *ctx) {
  return &ctx->param;
}
/*@ requires \valid(ctx) && valid_read_string(name); */
static inline int X509_STORE_CTX_set_default(X509_STORE_CTX *ctx, const char *name) {
  (void)ctx; (void)name;
  return Frama_C_interval(0, 1);
}
/* Builds and checks a path: on success, the path is the leaf, some of the
   untrusted certificates, and the anchor. */
/*@ requires \valid(ctx) && \valid(ctx->store) && \valid(ctx->cert) && ctx->chain == \null;
    requires ctx->untrusted == \null ||
             (\valid(ctx->untrusted) && 0 <= ctx->untrusted->num <= PROOF_SK_MAX - 2); */
static inline int X509_verify_cert(X509_STORE_CTX *ctx) {
  STACK_OF(X509) *path;
  int used;
  if (Frama_C_interval(0, 1)) {
    ctx->error = Frama_C_interval(0, 100);
    return Frama_C_interval(-1, 0);
  }
  path = calloc(1, sizeof *path);
  if (path == NULL) {
    ctx->error = X509_V_ERR_UNSPECIFIED;
    return -1;
  }
  path->data[0] = ctx->cert;
  path->num = 1;
  used = ctx->untrusted == NULL ? 0 : Frama_C_interval(0, ctx->untrusted->num);
  /* for EVA: one state per path length */
  //@ split used;
  for (int i = 0; i < used; i++) path->data[path->num++] = ctx->untrusted->data[i];
  path->data[path->num++] = &proof_anchor;
  path->cap = path->num;
  ctx->chain = path;
  ctx->error = X509_V_OK;
  return 1;
}
/*@ requires \valid_read(ctx); */
static inline int X509_STORE_CTX_get_error(const X509_STORE_CTX *ctx) { return ctx->error; }
/*@ requires \valid_read(ctx); */
static inline STACK_OF(X509) *X509_STORE_CTX_get0_chain(const X509_STORE_CTX *ctx) {
  return ctx->chain;
}
#endif
