/*
 * test_ct_mlkem.c - run under valgrind memcheck by tests/ct_mlkem.sh:
 * ML-KEM KeyGen, Encaps and Decaps (valid and tampered ciphertexts) of
 * all three parameter sets with every secret input marked undefined
 * (memcheck's client requests), so that memcheck reports any branch or
 * memory index that depends on a secret. Secrets: KeyGen's seed d || z,
 * Encaps' message m, Decaps' dk_PKE and z (the parts of dk that are not
 * the public ek and H(ek)). Outputs are marked defined again before the
 * test compares them (the shared secret is compared only then). The
 * kept-key path (tern_mlkem_keygen_kept / tern_mlkem_decaps_kept, which
 * the hybrid groups' client uses) is run the same way.
 *
 * Built twice: with src/crypto/mlkem.c compiled with TERN_CT_TESTING
 * (must give 0 errors) and with TERN_CT_LEAK as well (a branch on the
 * re-encryption comparison: memcheck must report it).
 */
#include <string.h>

#include <openssl/rand.h>
#include <valgrind/memcheck.h>

#include "check.h"
#include "crypto/mlkem.h"
#include <tern.h>

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

static void run(const tern_mlkem_params *p, int iter) {
  static uint8_t ek[TERN_MLKEM_MAX_EK], dk[TERN_MLKEM_MAX_DK], ct[TERN_MLKEM_MAX_CT];
  uint8_t seed[TERN_MLKEM_SEED_LEN], m[TERN_MLKEM_MSG_LEN], ss_e[32], ss_d[32], ss_t[32];
  size_t pke = 384 * p->k;
  CHECK(RAND_bytes(seed, sizeof seed) == 1 && RAND_bytes(m, sizeof m) == 1);

  SECRET(seed, sizeof seed);
  CHECK_EQ_INT(tern_mlkem_keygen_derand(p, seed, ek, dk), TERN_OK);
  PUBLIC(ek, p->ek_len);                 /* the public key goes out */
  PUBLIC(dk, p->dk_len);

  SECRET(m, sizeof m);
  CHECK_EQ_INT(tern_mlkem_encaps_derand(p, ek, p->ek_len, m, ct, ss_e), TERN_OK);
  PUBLIC(ct, p->ct_len);                 /* the ciphertext goes out */

  /* the secret parts of dk: dk_PKE and z (ek and H(ek) are public) */
  SECRET(dk, pke);
  SECRET(dk + p->dk_len - 32, 32);
  CHECK_EQ_INT(tern_mlkem_decaps(p, dk, p->dk_len, ct, p->ct_len, ss_d), TERN_OK);

  /* a tampered ciphertext: implicit rejection, the same code path */
  ct[(iter * 131) % p->ct_len] ^= 0x20;
  CHECK_EQ_INT(tern_mlkem_decaps(p, dk, p->dk_len, ct, p->ct_len, ss_t), TERN_OK);

  PUBLIC(ss_e, 32);
  PUBLIC(ss_d, 32);
  PUBLIC(ss_t, 32);
  PUBLIC(dk, p->dk_len);
  CHECK_MEM(ss_e, ss_d, 32);
  CHECK(memcmp(ss_e, ss_t, 32) != 0);

  /* the kept key (a TLS client's): KeyGen keeps A-hat, Decaps reuses it */
  {
    static _Alignas(16) uint8_t kept[TERN_MLKEM_MAX_DK + 16 * 512];
    size_t kept_len = tern_mlkem_kept_len(p);
    CHECK(kept_len <= sizeof kept);
    CHECK(RAND_bytes(seed, sizeof seed) == 1 && RAND_bytes(m, sizeof m) == 1);
    SECRET(seed, sizeof seed);
    CHECK_EQ_INT(tern_mlkem_keygen_kept(p, seed, ek, kept), TERN_OK);
    PUBLIC(ek, p->ek_len);
    SECRET(m, sizeof m);
    CHECK_EQ_INT(tern_mlkem_encaps_derand(p, ek, p->ek_len, m, ct, ss_e), TERN_OK);
    PUBLIC(ct, p->ct_len);
    SECRET(kept, pke);
    SECRET(kept + p->dk_len - 32, 32);
    CHECK_EQ_INT(tern_mlkem_decaps_kept(p, kept, kept_len, ct, p->ct_len, ss_d), TERN_OK);
    ct[(iter * 71) % p->ct_len] ^= 0x04;
    CHECK_EQ_INT(tern_mlkem_decaps_kept(p, kept, kept_len, ct, p->ct_len, ss_t), TERN_OK);
    PUBLIC(ss_e, 32);
    PUBLIC(ss_d, 32);
    PUBLIC(ss_t, 32);
    PUBLIC(kept, kept_len);
    CHECK_MEM(ss_e, ss_d, 32);
    CHECK(memcmp(ss_e, ss_t, 32) != 0);
  }
}

int main(void) {
  static const unsigned levels[] = {512, 768, 1024};
  for (int iter = 0; iter < 3; iter++)
    for (size_t i = 0; i < 3; i++) run(tern_mlkem_params_get(levels[i]), iter);
  printf("ML-KEM-512/768/1024: 3 x (KeyGen, Encaps, Decaps valid and tampered; the same "
         "with a kept key) with secrets "
         "undefined; running under valgrind: %s\n", RUNNING_ON_VALGRIND ? "yes" : "no");
  return check_report();
}
