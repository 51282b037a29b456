/* proofs/crypto/cert/include/openssl/core.h: declarations of the provider
 * and parameter API that cert.c's decoder-free leaf parse uses
 * (parse_leaf_fast, leaf_setup and their SHA-1 provider). That path is
 * not driven by this proof's harness: these are declarations only, no
 * contracts, so a call reached by a driver would stop EVA. */
#ifndef TERN_PROOF_OPENSSL_CORE_H
#define TERN_PROOF_OPENSSL_CORE_H
#include <openssl/x509.h>

typedef struct ossl_lib_ctx_st OSSL_LIB_CTX;
typedef struct ossl_provider_st OSSL_PROVIDER;
typedef struct ossl_core_handle_st OSSL_CORE_HANDLE;
typedef struct evp_md_ctx_st EVP_MD_CTX;
typedef struct asn1_object_st ASN1_OBJECT;
typedef struct X509_algor_st X509_ALGOR;
typedef struct X509_pubkey_st X509_PUBKEY;

typedef struct ossl_dispatch_st {
  int function_id;
  void (*function)(void);
} OSSL_DISPATCH;
typedef struct ossl_algorithm_st {
  const char *algorithm_names, *property_definition;
  const OSSL_DISPATCH *implementation;
  const char *algorithm_description;
} OSSL_ALGORITHM;
typedef struct ossl_param_st {
  const char *key;
  unsigned int data_type;
  void *data;
  size_t data_size, return_size;
} OSSL_PARAM;
typedef int(OSSL_provider_init_fn)(const OSSL_CORE_HANDLE *, const OSSL_DISPATCH *,
                                   const OSSL_DISPATCH **, void **);

#define OSSL_OP_DIGEST 1
#define OSSL_FUNC_DIGEST_NEWCTX 1
#define OSSL_FUNC_DIGEST_INIT 2
#define OSSL_FUNC_DIGEST_UPDATE 3
#define OSSL_FUNC_DIGEST_FINAL 4
#define OSSL_FUNC_DIGEST_FREECTX 6
#define OSSL_FUNC_DIGEST_DUPCTX 7
#define OSSL_FUNC_DIGEST_GET_PARAMS 8
#define OSSL_FUNC_DIGEST_GETTABLE_PARAMS 11
#define OSSL_FUNC_PROVIDER_QUERY_OPERATION 1027
#define OSSL_DIGEST_PARAM_BLOCK_SIZE "blocksize"
#define OSSL_DIGEST_PARAM_SIZE "size"
#define OSSL_DIGEST_PARAM_XOF "xof"
#define OSSL_DIGEST_PARAM_ALGID_ABSENT "algid-absent"
#define OSSL_PKEY_PARAM_GROUP_NAME "group"
#define OSSL_PARAM_INTEGER 1
#define OSSL_PARAM_UNSIGNED_INTEGER 2
#define OSSL_PARAM_UTF8_STRING 4
#define OSSL_PARAM_int(key, addr) {(key), OSSL_PARAM_INTEGER, (addr), sizeof(int), 0}
#define OSSL_PARAM_size_t(key, addr) {(key), OSSL_PARAM_UNSIGNED_INTEGER, (addr), sizeof(size_t), 0}
#define OSSL_PARAM_utf8_string(key, addr, sz) {(key), OSSL_PARAM_UTF8_STRING, (addr), (sz), 0}
#define OSSL_PARAM_END {0, 0, 0, 0, 0}
#define EVP_PKEY_KEY_PARAMETERS 0x84
#define EVP_PKEY_EC 408
#define EVP_PKEY_RSA 6
#define NID_undef 0
#define NID_X9_62_prime256v1 415
#define NID_secp384r1 715
#define NID_secp521r1 716
#define V_ASN1_OBJECT 6
#define V_ASN1_NULL 5

OSSL_PARAM *OSSL_PARAM_locate(OSSL_PARAM *p, const char *key);
int OSSL_PARAM_set_size_t(OSSL_PARAM *p, size_t val);
int OSSL_PARAM_set_int(OSSL_PARAM *p, int val);
OSSL_LIB_CTX *OSSL_LIB_CTX_new(void);
void OSSL_LIB_CTX_free(OSSL_LIB_CTX *);
int OSSL_PROVIDER_add_builtin(OSSL_LIB_CTX *, const char *name, OSSL_provider_init_fn *init_fn);
OSSL_PROVIDER *OSSL_PROVIDER_load(OSSL_LIB_CTX *, const char *name);
EVP_MD_CTX *EVP_MD_CTX_new(void);
void EVP_MD_CTX_free(EVP_MD_CTX *ctx);
int EVP_MD_CTX_copy_ex(EVP_MD_CTX *out, const EVP_MD_CTX *in);
int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt);
int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);
EVP_MD *EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties);
void EVP_MD_free(EVP_MD *md);
EVP_PKEY_CTX *EVP_PKEY_CTX_new_from_name(OSSL_LIB_CTX *, const char *name, const char *propq);
int EVP_PKEY_fromdata_init(EVP_PKEY_CTX *ctx);
int EVP_PKEY_fromdata(EVP_PKEY_CTX *ctx, EVP_PKEY **ppkey, int selection, OSSL_PARAM params[]);
EVP_PKEY *EVP_PKEY_new(void);
EVP_PKEY *EVP_PKEY_dup(EVP_PKEY *key);
int EVP_PKEY_copy_parameters(EVP_PKEY *to, const EVP_PKEY *from);
int EVP_PKEY_set1_encoded_public_key(EVP_PKEY *pkey, const unsigned char *pub, size_t publen);
EVP_PKEY *d2i_KeyParams(int type, EVP_PKEY **a, const unsigned char **pp, long length);
EVP_PKEY *d2i_PublicKey(int type, EVP_PKEY **a, const unsigned char **pp, long length);
ASN1_OBJECT *OBJ_nid2obj(int n);
int i2d_ASN1_OBJECT(const ASN1_OBJECT *a, unsigned char **pp);
int OBJ_obj2nid(const ASN1_OBJECT *o);
int X509_PUBKEY_get0_param(ASN1_OBJECT **ppkalg, const unsigned char **pk, int *ppklen,
                           X509_ALGOR **pa, const X509_PUBKEY *pub);
void X509_ALGOR_get0(const ASN1_OBJECT **paobj, int *pptype, const void **ppval,
                     const X509_ALGOR *algor);
X509 *X509_new_ex(OSSL_LIB_CTX *libctx, const char *propq);
EVP_PKEY *X509_get0_pubkey(const X509 *x);
void EVP_PKEY_CTX_free(EVP_PKEY_CTX *ctx);
X509_PUBKEY *X509_get_X509_PUBKEY(const X509 *x);
int i2d_X509_PUBKEY(const X509_PUBKEY *a, unsigned char **out);
int X509_set_pubkey(X509 *x, EVP_PKEY *pkey);
int X509_check_purpose(X509 *x, int id, int ca);
/* fast_leaf_ok's questions to the store (the hooks' types do not matter
   here: only whether one is set) */
typedef int (*proof_store_hook)(void);
proof_store_hook X509_STORE_get_get_issuer(const X509_STORE *);
proof_store_hook X509_STORE_get_check_issued(const X509_STORE *);
proof_store_hook X509_STORE_get_lookup_certs(const X509_STORE *);
proof_store_hook X509_STORE_get_lookup_crls(const X509_STORE *);
proof_store_hook X509_STORE_get_get_crl(const X509_STORE *);
proof_store_hook X509_STORE_get_check_crl(const X509_STORE *);
proof_store_hook X509_STORE_get_cert_crl(const X509_STORE *);
/* the fast parses' counter: one thread, plain accesses */
#define __atomic_add_fetch(p, v, o) (*(p) += (v))
#define __atomic_load_n(p, o) (*(p))
#endif
