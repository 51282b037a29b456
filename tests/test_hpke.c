/* test_hpke.c - HPKE base mode (RFC 9180) against every mode_base vector
   of Appendix A for the suites tern implements (tests/vectors/
   rfc9180_hpke_base.txt): DeriveKeyPair of both keys, encap/decap, the key
   schedule values, every encryption in both roles and every exported value.
   Then the §7.1.4 refusals: an X25519 public key giving an all-zero result,
   a P-256 point off the curve, and a tampered ciphertext. */
#include <tern.h>

#include "check.h"
#include "crypto/hpke.h"

#define MAXV 512

typedef struct {
  char key[32];
  uint8_t val[MAXV];
  size_t len;
  int num;
} field;

static field fields[256];
static size_t nfields;

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Reads the next record (up to "end"); 0 at the end of the file. */
static int read_record(FILE *f) {
  char line[2048];
  nfields = 0;
  while (fgets(line, sizeof line, f)) {
    char *colon, *v;
    if (line[0] == '#' || line[0] == '\n') continue;
    if (strncmp(line, "end", 3) == 0) return 1;
    colon = strchr(line, ':');
    if (colon == NULL || nfields == 256) continue;
    field *fd = &fields[nfields++];
    *colon = 0;
    snprintf(fd->key, sizeof fd->key, "%.31s", line);
    v = colon + 1;
    while (*v == ' ') v++;
    fd->len = 0;
    fd->num = atoi(v);
    if (strcmp(fd->key, "suite") == 0) continue;
    while (hexval(v[0]) >= 0 && hexval(v[1]) >= 0 && fd->len < MAXV) {
      fd->val[fd->len++] = (uint8_t)(hexval(v[0]) * 16 + hexval(v[1]));
      v += 2;
    }
  }
  return 0;
}

static const field *get(const char *k) {
  for (size_t i = 0; i < nfields; i++)
    if (strcmp(fields[i].key, k) == 0) return &fields[i];
  fprintf(stderr, "missing field %s\n", k);
  exit(1);
}

static int vectors_suites, vectors_enc, vectors_exp;

static void run_record(void) {
  tern_hpke_suite s = {(uint16_t)get("kem_id")->num, (uint16_t)get("kdf_id")->num,
                       (uint16_t)get("aead_id")->num};
  uint8_t skE[32], pkE[65], skR[32], pkR[65], enc[65], ss[32], ss2[32], ksc[129];
  const field *info = get("info");
  tern_hpke_ctx sctx, rctx;
  size_t npk = tern_hpke_kem_enc_len(s.kem);

  CHECK(tern_hpke_suite_supported(&s));
  CHECK_EQ_INT(get("mode")->num, 0);
  CHECK_EQ_INT(tern_hpke_derive_keypair(s.kem, get("ikmE")->val, get("ikmE")->len, skE, pkE),
               TERN_OK);
  CHECK_MEM(skE, get("skEm")->val, 32);
  CHECK_MEM(pkE, get("pkEm")->val, npk);
  CHECK_EQ_INT(tern_hpke_derive_keypair(s.kem, get("ikmR")->val, get("ikmR")->len, skR, pkR),
               TERN_OK);
  CHECK_MEM(skR, get("skRm")->val, 32);
  CHECK_MEM(pkR, get("pkRm")->val, npk);

  CHECK_EQ_INT(tern_hpke_encap(s.kem, pkR, npk, get("ikmE")->val, get("ikmE")->len, ss, enc),
               TERN_OK);
  CHECK_MEM(enc, get("enc")->val, npk);
  CHECK_MEM(ss, get("shared_secret")->val, 32);
  CHECK_EQ_INT(tern_hpke_decap(s.kem, enc, npk, skR, ss2), TERN_OK);
  CHECK_MEM(ss2, get("shared_secret")->val, 32);

  CHECK_EQ_INT(tern_hpke_key_schedule(&sctx, &s, 1, ss, info->val, info->len, ksc), TERN_OK);
  CHECK_EQ_INT(get("key_schedule_context")->len, 1 + 2 * sctx.nh);
  CHECK_MEM(ksc, get("key_schedule_context")->val, 1 + 2 * sctx.nh);
  if (s.aead != TERN_HPKE_AEAD_EXPORT_ONLY) {
    CHECK_EQ_INT(get("key")->len, sctx.nk);
    CHECK_MEM(sctx.key, get("key")->val, sctx.nk);
    CHECK_MEM(sctx.base_nonce, get("base_nonce")->val, 12);
  }
  CHECK_MEM(sctx.exporter_secret, get("exporter_secret")->val, sctx.nh);
  tern_hpke_ctx_clear(&sctx);

  /* The full setups, as a protocol uses them */
  CHECK_EQ_INT(tern_hpke_setup_base_s(&sctx, &s, pkR, npk, info->val, info->len,
                                      get("ikmE")->val, get("ikmE")->len, enc),
               TERN_OK);
  CHECK_EQ_INT(tern_hpke_setup_base_r(&rctx, &s, enc, npk, skR, info->val, info->len),
               TERN_OK);
  { /* the recipient's key prepared once gives the same context */
    EVP_PKEY *k = NULL;
    uint8_t pk2[65];
    tern_hpke_ctx r2;
    CHECK_EQ_INT(tern_hpke_private_key(s.kem, skR, &k, pk2), TERN_OK);
    CHECK_MEM(pk2, get("pkRm")->val, npk);
    CHECK_EQ_INT(tern_hpke_setup_base_r_prepared(&r2, &s, enc, npk, k, pk2, info->val, info->len),
                 TERN_OK);
    CHECK_MEM(r2.exporter_secret, get("exporter_secret")->val, r2.nh);
    CHECK_MEM(r2.key, rctx.key, r2.nk);
    tern_hpke_ctx_clear(&r2);
    EVP_PKEY_free(k);
  }

  /* Encryptions: seal and open in sequence; compare at the listed numbers */
  for (size_t i = 0; i < nfields; i++) {
    if (strcmp(fields[i].key, "seq") != 0) continue;
    uint64_t want = (uint64_t)fields[i].num;
    const field *pt = &fields[i + 1], *aad = &fields[i + 2], *ct = &fields[i + 4];
    uint8_t out[MAXV], back[MAXV];
    CHECK(strcmp(pt->key, "pt") == 0 && strcmp(aad->key, "aad") == 0 &&
          strcmp(ct->key, "ct") == 0);
    while (sctx.seq < want) { /* the sequence numbers the file skips */
      CHECK_EQ_INT(tern_hpke_seal(&sctx, aad->val, aad->len, pt->val, pt->len, out), TERN_OK);
      CHECK_EQ_INT(tern_hpke_open(&rctx, aad->val, aad->len, out, pt->len + 16, back),
                   TERN_OK);
    }
    CHECK_EQ_INT(tern_hpke_seal(&sctx, aad->val, aad->len, pt->val, pt->len, out), TERN_OK);
    CHECK_EQ_INT(ct->len, pt->len + 16);
    CHECK_MEM(out, ct->val, ct->len);
    /* a flipped bit fails and leaves the sequence where it was */
    out[3] ^= 1;
    CHECK_EQ_INT(tern_hpke_open(&rctx, aad->val, aad->len, out, ct->len, back),
                 TERN_ERR_DECRYPT);
    out[3] ^= 1;
    CHECK_EQ_INT(tern_hpke_open(&rctx, aad->val, aad->len, out, ct->len, back), TERN_OK);
    CHECK_MEM(back, pt->val, pt->len);
    vectors_enc++;
  }
  if (s.aead == TERN_HPKE_AEAD_EXPORT_ONLY) {
    uint8_t out[64];
    CHECK_EQ_INT(tern_hpke_seal(&sctx, NULL, 0, NULL, 0, out), TERN_ERR_STATE);
  }

  /* Exported values, from both contexts */
  for (size_t i = 0; i < nfields; i++) {
    if (strcmp(fields[i].key, "exporter_context") != 0) continue;
    const field *ec = &fields[i], *L = &fields[i + 1], *ev = &fields[i + 2];
    uint8_t out[MAXV];
    CHECK_EQ_INT(ev->len, L->num);
    CHECK_EQ_INT(tern_hpke_export(&sctx, ec->val, ec->len, out, (size_t)L->num), TERN_OK);
    CHECK_MEM(out, ev->val, ev->len);
    CHECK_EQ_INT(tern_hpke_export(&rctx, ec->val, ec->len, out, (size_t)L->num), TERN_OK);
    CHECK_MEM(out, ev->val, ev->len);
    vectors_exp++;
  }
  tern_hpke_ctx_clear(&sctx);
  tern_hpke_ctx_clear(&rctx);
  vectors_suites++;
}

/* §7.1.4: public keys whose DH result is all zero, or not on the curve. */
static void validation(void) {
  uint8_t sk[32], pk[65], ss[32], enc[65], ikm[32];
  tern_hpke_ctx ctx;
  tern_hpke_suite x = {TERN_HPKE_KEM_X25519, 1, 1}, p = {TERN_HPKE_KEM_P256, 1, 1};
  /* X25519 low-order points: 0 and 1 give an all-zero shared secret */
  uint8_t zero[32] = {0}, one[32] = {1};
  memset(ikm, 7, sizeof ikm);
  CHECK_EQ_INT(tern_hpke_derive_keypair(TERN_HPKE_KEM_X25519, ikm, 32, sk, pk), TERN_OK);
  CHECK_EQ_INT(tern_hpke_encap(TERN_HPKE_KEM_X25519, zero, 32, NULL, 0, ss, enc),
               TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_hpke_encap(TERN_HPKE_KEM_X25519, one, 32, NULL, 0, ss, enc),
               TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_hpke_decap(TERN_HPKE_KEM_X25519, zero, 32, sk, ss), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_hpke_setup_base_r(&ctx, &x, one, 32, sk, NULL, 0), TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_hpke_decap(TERN_HPKE_KEM_X25519, zero, 31, sk, ss), TERN_ERR_MALFORMED);

  /* P-256: a valid point with y changed is off the curve */
  CHECK_EQ_INT(tern_hpke_derive_keypair(TERN_HPKE_KEM_P256, ikm, 32, sk, pk), TERN_OK);
  CHECK_EQ_INT(tern_hpke_encap(TERN_HPKE_KEM_P256, pk, 65, NULL, 0, ss, enc), TERN_OK);
  CHECK_EQ_INT(tern_hpke_decap(TERN_HPKE_KEM_P256, enc, 65, sk, enc), TERN_OK);
  CHECK_MEM(enc, ss, 32);
  pk[64] ^= 1;
  CHECK_EQ_INT(tern_hpke_encap(TERN_HPKE_KEM_P256, pk, 65, NULL, 0, ss, enc),
               TERN_ERR_MALFORMED);
  CHECK_EQ_INT(tern_hpke_setup_base_s(&ctx, &p, pk, 65, NULL, 0, NULL, 0, enc),
               TERN_ERR_MALFORMED);
  pk[64] ^= 1;
  pk[0] = 0x02; /* compressed form: not Npk bytes of SerializePublicKey */
  CHECK_EQ_INT(tern_hpke_encap(TERN_HPKE_KEM_P256, pk, 65, NULL, 0, ss, enc),
               TERN_ERR_MALFORMED);
  memset(pk, 0, sizeof pk);
  pk[0] = 4; /* (0, 0) */
  CHECK_EQ_INT(tern_hpke_decap(TERN_HPKE_KEM_P256, pk, 65, sk, ss), TERN_ERR_MALFORMED);
  /* DeriveKeyPair needs Nsk bytes of input keying material */
  CHECK_EQ_INT(tern_hpke_derive_keypair(TERN_HPKE_KEM_P256, ikm, 31, sk, pk),
               TERN_ERR_INVALID_ARG);
  /* a private scalar out of range is refused */
  memset(sk, 0xff, sizeof sk);
  CHECK_EQ_INT(tern_hpke_public_key(TERN_HPKE_KEM_P256, sk, pk), TERN_ERR_MALFORMED);
  /* unknown algorithms */
  tern_hpke_suite bad = {0x0011, 1, 1};
  CHECK(!tern_hpke_suite_supported(&bad));
  CHECK_EQ_INT(tern_hpke_setup_base_s(&ctx, &bad, pk, 65, NULL, 0, NULL, 0, enc),
               TERN_ERR_UNSUPPORTED);
}

int main(void) {
  FILE *f = fopen(TERN_VECTOR_DIR "/rfc9180_hpke_base.txt", "r");
  if (f == NULL) {
    perror("rfc9180_hpke_base.txt");
    return 1;
  }
  while (read_record(f)) run_record();
  fclose(f);
  printf("RFC 9180 mode_base vectors: %d suites, %d encryptions, %d exported values\n",
         vectors_suites, vectors_enc, vectors_exp);
  CHECK_EQ_INT(vectors_suites, 6);
  CHECK_EQ_INT(vectors_enc, 30);
  CHECK_EQ_INT(vectors_exp, 18);
  validation();
  return check_report();
}
