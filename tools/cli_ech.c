/*
 * cli_ech.c - Encrypted ClientHello (RFC 9849) on the command line:
 * `tern ech-keygen`, the key files of `tern server --ech-key` and the
 * configurations of `tern client --ech-config`.
 *
 * A key file (PREFIX.key) is two PEM blocks, the layout OpenSSL's ECH
 * work and draft-farrell-tls-pemesni use: the HPKE private key as PKCS#8
 * ("PRIVATE KEY"), then the ECHConfigList holding its one ECHConfig
 * ("ECHCONFIG"). PREFIX.echconfig is that ECHConfigList in binary, the
 * value of a DNS HTTPS record's "ech" parameter.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#define PROG "tern ech-keygen"
#define MAX_FILE 65536

static const char keygen_usage[] =
    "usage: tern ech-keygen --public-name NAME --out PREFIX [options]\n"
    "  --public-name NAME      the client-facing server's DNS name, sent in the clear\n"
    "                          (ECHConfig.public_name); its certificate must cover it\n"
    "  --out PREFIX            writes PREFIX.key (PEM: PRIVATE KEY and ECHCONFIG, for\n"
    "                          tern server --ech-key) and PREFIX.echconfig (the\n"
    "                          ECHConfigList, binary, for DNS)\n"
    "  --config-id N           ECHConfig.config_id, 0-255 (default: random)\n"
    "  --kem x25519|p256       the HPKE KEM (default x25519)\n"
    "  --max-name-length N     ECHConfig.maximum_name_length, 0-255 (default 0)\n"
    "Prints the ECHConfigList in base64 (for tern client --ech-config) and the RDATA\n"
    "of a DNS HTTPS record (SvcPriority 1, TargetName \".\", alpn http/1.1, ech) in hex.\n"
    "Exit codes: 0 done, 1 failed, 2 bad command line.\n";

static char *b64(const uint8_t *p, size_t n) {
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  if (out != NULL) EVP_EncodeBlock((unsigned char *)out, p, (int)n);
  return out;
}

/* Decodes base64 text (no whitespace) into out; -1 when it is not base64. */
static int unb64(const char *text, uint8_t *out, size_t cap, size_t *len) {
  size_t tl = strlen(text), pad = 0;
  int n;
  if (tl == 0 || tl % 4 || tl / 4 * 3 > cap) return -1;
  if (text[tl - 1] == '=') pad++;
  if (text[tl - 2] == '=') pad++;
  n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)tl);
  if (n < 0 || (size_t)n < pad) return -1;
  *len = (size_t)n - pad;
  return 0;
}

/* The HPKE private key sk of kem as an EVP_PKEY (the public key, for
   P-256, taken from the ECHConfig). */
static EVP_PKEY *pkey_of(uint16_t kem, const uint8_t *sk, const uint8_t *pub, size_t pub_len) {
  EVP_PKEY *k = NULL;
  if (kem == TERN_ECH_KEM_X25519)
    return EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, sk, 32);
  {
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *d = BN_bin2bn(sk, 32, NULL);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (bld && d && pc &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(pc) > 0 &&
        EVP_PKEY_fromdata(pc, &k, EVP_PKEY_KEYPAIR, params) <= 0)
      k = NULL;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    EVP_PKEY_CTX_free(pc);
  }
  return k;
}

/* The 32-byte HPKE private key of an EVP_PKEY (X25519 or P-256). */
static int sk_of(EVP_PKEY *k, uint8_t sk[32]) {
  size_t len = 32;
  BIGNUM *d = NULL;
  int ok;
  if (EVP_PKEY_is_a(k, "X25519"))
    return EVP_PKEY_get_raw_private_key(k, sk, &len) == 1 && len == 32 ? 0 : -1;
  if (!EVP_PKEY_is_a(k, "EC")) return -1;
  ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 && BN_bn2binpad(d, sk, 32) == 32;
  BN_clear_free(d);
  return ok ? 0 : -1;
}

/* Writes n bytes to path; 0 or -1 after printing why. */
static int write_file(const char *prog, const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "%s: cannot write %s\n", prog, path);
    return -1;
  }
  return 0;
}

int cli_ech_keygen_main(int argc, char **argv) {
  const char *name = NULL, *out = NULL, *id_text = NULL, *kem_text = NULL, *max_text = NULL;
  const char *extra[1];
  size_t n_pos, config_len = 0, list_len;
  unsigned long id = 0, max_len = 0;
  uint8_t config[TERN_ECH_CONFIG_MAX], list[TERN_ECH_CONFIG_MAX + 2], sk[32];
  uint16_t kem = TERN_ECH_KEM_X25519;
  char path[4096], *text = NULL;
  int rc, p, result = 1;
  EVP_PKEY *k = NULL;
  BIO *bio = NULL;
  const cli_opt opts[] = {
      {"public-name", 0, &name, NULL}, {"out", 0, &out, NULL},
      {"config-id", 0, &id_text, NULL}, {"kem", 0, &kem_text, NULL},
      {"max-name-length", 0, &max_text, NULL}, {NULL, 0, NULL, NULL},
  };
  p = cli_parse(PROG, argc, argv, opts, extra, 0, &n_pos);
  if (p == 1) {
    fputs(keygen_usage, stdout);
    return 0;
  }
  if (p < 0) return CLI_EXIT_USAGE;
  if (name == NULL || out == NULL) {
    fprintf(stderr, PROG ": --public-name and --out are required (see --help)\n");
    return CLI_EXIT_USAGE;
  }
  if (kem_text != NULL) {
    if (strcmp(kem_text, "x25519") == 0) kem = TERN_ECH_KEM_X25519;
    else if (strcmp(kem_text, "p256") == 0) kem = TERN_ECH_KEM_P256;
    else {
      fprintf(stderr, PROG ": --kem \"%s\": x25519 or p256\n", kem_text);
      return CLI_EXIT_USAGE;
    }
  }
  if ((id_text && cli_number(PROG, "config-id", id_text, 0, 255, &id) < 0) ||
      (max_text && cli_number(PROG, "max-name-length", max_text, 0, 255, &max_len) < 0))
    return CLI_EXIT_USAGE;
  if (id_text == NULL) {
    uint8_t r;
    FILE *u = fopen("/dev/urandom", "rb");
    if (u == NULL || fread(&r, 1, 1, u) != 1) r = 0;
    if (u) fclose(u);
    id = r;
  }
  rc = tern_ech_config_generate(kem, (uint8_t)id, name, (uint8_t)max_len, config, sizeof config,
                                &config_len, sk);
  if (rc != TERN_OK) {
    fprintf(stderr, PROG ": cannot make an ECHConfig for \"%s\": %s\n", name, tern_strerror(rc));
    return rc == TERN_ERR_INVALID_ARG ? CLI_EXIT_USAGE : 1;
  }
  list[0] = (uint8_t)(config_len >> 8);
  list[1] = (uint8_t)config_len;
  memcpy(list + 2, config, config_len);
  list_len = config_len + 2;
  /* the public key sits after version, length, config_id, kem, its length */
  k = pkey_of(kem, sk, config + 9, config_len > 9 ? (size_t)(config[7] << 8 | config[8]) : 0);
  text = b64(list, list_len);
  bio = BIO_new(BIO_s_mem());
  if (k == NULL || text == NULL || bio == NULL ||
      PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1 ||
      PEM_write_bio(bio, "ECHCONFIG", "", list, (long)list_len) <= 0) {
    fprintf(stderr, PROG ": cannot encode the key\n");
    goto out;
  }
  {
    char *pem;
    long pem_len = BIO_get_mem_data(bio, &pem);
    snprintf(path, sizeof path, "%s.key", out);
    if (write_file(PROG, path, pem, (size_t)pem_len) < 0) goto out;
  }
  snprintf(path, sizeof path, "%s.echconfig", out);
  if (write_file(PROG, path, list, list_len) < 0) goto out;
  printf("config_id %lu, %s, public_name %s\n", id,
         kem == TERN_ECH_KEM_X25519 ? "DHKEM(X25519, HKDF-SHA256)" : "DHKEM(P-256, HKDF-SHA256)",
         name);
  printf("ECHConfigList (base64): %s\n", text);
  /* HTTPS RDATA: priority 1, target ".", alpn=http/1.1 (key 1), ech (key 5) */
  printf("HTTPS RDATA (hex): 000100" "0001" "0009" "08687474702f312e31" "0005%04zx", list_len);
  for (size_t i = 0; i < list_len; i++) printf("%02x", list[i]);
  printf("\nwrote %s.key and %s.echconfig\n", out, out);
  result = 0;
out:
  OPENSSL_cleanse(sk, sizeof sk);
  EVP_PKEY_free(k);
  BIO_free(bio);
  free(text);
  return result;
}

/* Reads a whole file (at most MAX_FILE bytes); NULL when it cannot. */
static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf;
  if (f == NULL) return NULL;
  buf = malloc(MAX_FILE + 1);
  if (buf != NULL) {
    *len = fread(buf, 1, MAX_FILE + 1, f);
    if (*len > MAX_FILE) {
      free(buf);
      buf = NULL;
    } else {
      buf[*len] = 0;
    }
  }
  fclose(f);
  return buf;
}

int cli_ech_load_keys(const char *prog, tern_config *cfg, const char *files) {
  const char *p = files;
  int first = 1;
  while (*p) {
    char path[4096], *pem_name = NULL, *pem_header = NULL;
    unsigned char *data = NULL;
    long data_len = 0;
    size_t l = strcspn(p, ",");
    uint8_t sk[32];
    EVP_PKEY *k = NULL;
    BIO *bio;
    int rc = -1, trc;
    snprintf(path, sizeof path, "%.*s", (int)l, p);
    p += l + (p[l] == ',');
    bio = BIO_new_file(path, "r");
    if (bio == NULL) {
      fprintf(stderr, "%s: --ech-key: cannot open %s\n", prog, path);
      return -1;
    }
    k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (k != NULL && sk_of(k, sk) == 0 &&
        PEM_read_bio(bio, &pem_name, &pem_header, &data, &data_len) == 1 &&
        strcmp(pem_name, "ECHCONFIG") == 0 && data_len >= 2 &&
        (size_t)(data[0] << 8 | data[1]) == (size_t)data_len - 2) {
      /* the list holds one ECHConfig: the key's */
      trc = tern_config_add_ech_key(cfg, data + 2, (size_t)data_len - 2, sk, 32, first);
      if (trc != TERN_OK)
        fprintf(stderr, "%s: --ech-key %s: %s\n", prog, path, tern_strerror(trc));
      else
        rc = 0;
    } else {
      fprintf(stderr, "%s: --ech-key %s: not a PRIVATE KEY then an ECHCONFIG PEM block\n", prog,
              path);
    }
    OPENSSL_cleanse(sk, sizeof sk);
    OPENSSL_free(pem_name);
    OPENSSL_free(pem_header);
    OPENSSL_free(data);
    EVP_PKEY_free(k);
    BIO_free(bio);
    if (rc < 0) return -1;
    first = 0; /* only the first key goes in retry_configs */
  }
  return 0;
}

int cli_ech_config_list(const char *prog, const char *arg, uint8_t *out, size_t cap,
                        size_t *len) {
  size_t n = 0;
  uint8_t *buf = read_file(arg, &n);
  if (buf != NULL) {
    int ok = 0;
    if (n > 11 && memcmp(buf, "-----BEGIN ", 11) == 0) {
      /* a key file: its ECHCONFIG block */
      BIO *bio = BIO_new_mem_buf(buf, (int)n);
      char *name = NULL, *header = NULL;
      unsigned char *data = NULL;
      long dl = 0;
      while (bio && PEM_read_bio(bio, &name, &header, &data, &dl) == 1) {
        if (strcmp(name, "ECHCONFIG") == 0 && (size_t)dl <= cap) {
          memcpy(out, data, (size_t)dl);
          *len = (size_t)dl;
          ok = 1;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        name = header = NULL;
        data = NULL;
      }
      BIO_free(bio);
    } else if (n <= cap) {
      memcpy(out, buf, n);
      *len = n;
      ok = 1;
    }
    free(buf);
    if (!ok) fprintf(stderr, "%s: --ech-config %s: no ECHConfigList in it\n", prog, arg);
    return ok ? 0 : -1;
  }
  if (unb64(arg, out, cap, len) < 0) {
    fprintf(stderr, "%s: --ech-config \"%s\": neither a file nor base64\n", prog, arg);
    return -1;
  }
  return 0;
}

void cli_ech_print_list(FILE *f, const char *prog, const uint8_t *list, size_t len) {
  char *t = b64(list, len);
  if (t != NULL) fprintf(f, "%s: retry_configs (base64): %s\n", prog, t);
  free(t);
}
