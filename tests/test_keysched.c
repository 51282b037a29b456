/*
 * test_keysched.c - the key schedule against RFC 8448: every secret, key
 * and IV of §3 (simple 1-RTT), §4 (resumed 0-RTT, binder key and binder)
 * and §5 (HelloRetryRequest, synthetic message_hash transcript), computed
 * from the trace's own messages and from the (EC)DHE shared secret that
 * libcrypto derives from the trace's private keys. Then the machine's
 * refusal of every out-of-order step.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <tern.h>

#include "check.h"
#include "crypto/keysched.h"
#include "vectors.h"

/* Checks a 32-byte value against the vector `label` of file f. */
static void check_vec(const char *f, const char *label, const uint8_t *got) {
  size_t n;
  uint8_t *want = vec_get(f, label, &n);
  CHECK_MEM(got, want, n);
  if (memcmp(got, want, n) != 0) fprintf(stderr, "  (vector: %s)\n", label);
  free(want);
}

/* Appends the handshake message `label` of file f to the transcript. */
static void add_msg(tern_transcript *t, const char *f, const char *label) {
  size_t n;
  uint8_t *m = vec_get(f, label, &n);
  CHECK_EQ_INT(tern_transcript_update(t, m, n), TERN_OK);
  free(m);
}

/* X25519 or P-256 shared secret from a raw private key and peer public key. */
static size_t ecdhe(const char *f, const char *priv_label, const char *pub_label,
                    int x25519, uint8_t *out) {
  size_t priv_len, pub_len, out_len = 64;
  uint8_t *priv = vec_get(f, priv_label, &priv_len);
  uint8_t *pub = vec_get(f, pub_label, &pub_len);
  EVP_PKEY *mine = NULL, *peer = NULL;
  if (x25519) {
    mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, priv_len);
    peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, pub_len);
  } else {
    /* P-256: build both keys from params (private scalar / public point). */
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    BIGNUM *d = BN_bin2bn(priv, (int)priv_len, NULL);
    unsigned char dbuf[32];
    BN_bn2nativepad(d, dbuf, sizeof dbuf);
    OSSL_PARAM p1[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0),
        OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, dbuf, sizeof dbuf),
        OSSL_PARAM_construct_end()};
    OSSL_PARAM p2[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len),
        OSSL_PARAM_construct_end()};
    EVP_PKEY_fromdata_init(pc);
    EVP_PKEY_fromdata(pc, &mine, EVP_PKEY_KEYPAIR, p1);
    EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, p2);
    EVP_PKEY_CTX_free(pc);
    BN_free(d);
  }
  CHECK(mine != NULL && peer != NULL);
  EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(mine, NULL);
  CHECK(EVP_PKEY_derive_init(dc) == 1);
  CHECK(EVP_PKEY_derive_set_peer(dc, peer) == 1);
  CHECK(EVP_PKEY_derive(dc, out, &out_len) == 1);
  EVP_PKEY_CTX_free(dc);
  EVP_PKEY_free(mine);
  EVP_PKEY_free(peer);
  free(priv);
  free(pub);
  return out_len;
}

/* Key and IV of `secret` against the trace's "... write key/iv" aliases. */
static void check_key_iv(const char *f, const uint8_t *secret, const char *what) {
  const tern_suite *s = tern_suite_get(TERN_TLS_AES_128_GCM_SHA256);
  uint8_t key[32], iv[12];
  char label[128];
  CHECK_EQ_INT(tern_keysched_traffic_key(s, secret, key, iv), TERN_OK);
  snprintf(label, sizeof label, "%s key", what);
  check_vec(f, label, key);
  snprintf(label, sizeof label, "%s iv", what);
  check_vec(f, label, iv);
}

/* Checks the verify_data of the Finished message `fin_label` (whose body
   follows its 4-byte header) computed from base_key over the transcript. */
static void check_finished(const char *f, tern_transcript *t, const uint8_t *base_key,
                           const char *vd_label, const char *fin_label) {
  uint8_t th[32], vd[32];
  size_t n;
  CHECK_EQ_INT(tern_transcript_current(t, th), TERN_OK);
  CHECK_EQ_INT(tern_finished_verify_data(t->hash, base_key, th, vd), TERN_OK);
  check_vec(f, vd_label, vd);
  uint8_t *fin = vec_get(f, fin_label, &n);
  CHECK(n == 36 && memcmp(fin + 4, vd, 32) == 0);
  free(fin);
}

/* RFC 8448 §3: full handshake, no PSK, X25519. */
static void simple_1rtt(void) {
  const char *f = "rfc8448_simple_1rtt.txt";
  const tern_hash *h = tern_hash_get(TERN_HASH_SHA256);
  tern_keysched ks;
  tern_transcript t;
  uint8_t dhe[64], dhe2[64], th[32], psk[32];

  size_t n = ecdhe(f, "client ephemeral x25519 private key",
                   "server ephemeral x25519 public key", 1, dhe);
  CHECK_EQ_INT(n, 32);
  check_vec(f, "(EC)DHE shared secret", dhe);
  ecdhe(f, "server ephemeral x25519 private key", "client ephemeral x25519 public key", 1, dhe2);
  CHECK_MEM(dhe, dhe2, 32);

  CHECK_EQ_INT(tern_keysched_init(&ks, h), TERN_OK);
  CHECK_EQ_INT(tern_transcript_init(&t, h), TERN_OK);
  CHECK_EQ_INT(tern_keysched_early(&ks, NULL, 0), TERN_OK);
  check_vec(f, "early secret", ks.stage);
  add_msg(&t, f, "client ClientHello message (step 02)");
  add_msg(&t, f, "server ServerHello message (step 06)");
  CHECK_EQ_INT(tern_keysched_handshake(&ks, dhe, 32), TERN_OK);
  check_vec(f, "handshake secret", ks.stage);
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  check_vec(f, "09 server derive secret \"tls13 c hs traffic\" | hash", th);
  CHECK_EQ_INT(tern_keysched_hs_traffic(&ks, th), TERN_OK);
  check_vec(f, "client handshake traffic secret", ks.client_hs);
  check_vec(f, "server handshake traffic secret", ks.server_hs);
  check_key_iv(f, ks.server_hs, "server handshake data write");
  check_key_iv(f, ks.client_hs, "server handshake data read");
  CHECK_EQ_INT(tern_keysched_master(&ks), TERN_OK);
  check_vec(f, "master secret", ks.stage);

  add_msg(&t, f, "server EncryptedExtensions message (step 15)");
  add_msg(&t, f, "server Certificate message (step 16)");
  add_msg(&t, f, "server CertificateVerify message (step 17)");
  check_finished(f, &t, ks.server_hs, "server Finished verify_data",
                 "server Finished message (step 19)");
  add_msg(&t, f, "server Finished message (step 19)");
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  CHECK_EQ_INT(tern_keysched_ap_traffic(&ks, th), TERN_OK);
  check_vec(f, "client application traffic secret 0", ks.client_ap);
  check_vec(f, "server application traffic secret 0", ks.server_ap);
  check_vec(f, "exporter master secret", ks.exporter);
  check_key_iv(f, ks.server_ap, "server application data write");
  check_key_iv(f, ks.client_ap, "client application data write");

  check_finished(f, &t, ks.client_hs, "client Finished verify_data",
                 "client Finished message (step 41)");
  add_msg(&t, f, "client Finished message (step 41)");
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  CHECK_EQ_INT(tern_keysched_resumption(&ks, th), TERN_OK);
  check_vec(f, "resumption master secret", ks.resumption);
  static const uint8_t nonce[2] = {0, 0};
  CHECK_EQ_INT(tern_keysched_ticket_psk(h, ks.resumption, nonce, 2, psk), TERN_OK);
  check_vec(f, "resumption PSK (ticket_nonce 00 00)", psk);
  /* §4 resumes with exactly this PSK. */
  check_vec("rfc8448_resumed_0rtt.txt", "early secret IKM (PSK)", psk);

  /* The resumption step wiped what is no longer needed. */
  static const uint8_t zeros[48];
  CHECK(memcmp(ks.stage, zeros, 48) == 0);
  CHECK(memcmp(ks.client_hs, zeros, 48) == 0);

  /* Key update: generation 1 = HKDF-Expand-Label(gen 0, "traffic upd"). */
  uint8_t gen0[32], gen1[32];
  memcpy(gen0, ks.client_ap, 32);
  CHECK_EQ_INT(tern_hkdf_expand_label(h, gen0, 32, "traffic upd", NULL, 0, gen1, 32), TERN_OK);
  CHECK_EQ_INT(tern_keysched_update(&ks, 0), TERN_OK);
  CHECK_MEM(ks.client_ap, gen1, 32);
  CHECK_EQ_INT(ks.client_generation, 1);
  CHECK_EQ_INT(ks.server_generation, 0);
  CHECK_EQ_INT(tern_keysched_update(&ks, 1), TERN_OK);
  CHECK_EQ_INT(ks.server_generation, 1);
  tern_keysched_wipe(&ks);
  tern_transcript_free(&t);
}

/* RFC 8448 §4: resumption with the §3 ticket and 0-RTT. */
static void resumed_0rtt(void) {
  const char *f = "rfc8448_resumed_0rtt.txt";
  const tern_hash *h = tern_hash_get(TERN_HASH_SHA256);
  tern_keysched ks;
  tern_transcript t;
  uint8_t dhe[64], th[32], binder[32];
  size_t psk_len, ch_len, prefix_len;
  uint8_t *psk = vec_get(f, "early secret IKM (PSK)", &psk_len);

  CHECK_EQ_INT(tern_keysched_init(&ks, h), TERN_OK);
  CHECK_EQ_INT(tern_keysched_early(&ks, psk, psk_len), TERN_OK);
  check_vec(f, "early secret", ks.stage);
  CHECK_EQ_INT(tern_keysched_binder_key(&ks, 0), TERN_OK);
  check_vec(f, "binder key (res binder)", ks.binder_key);

  /* The binder covers the ClientHello up to the binders list (§4.2.11.2).
     The trace's step 03 shows that prefix; the record of step 05 carries
     the whole ClientHello, binders included. */
  uint8_t *ch = vec_get(f, "05 client send handshake record | payload", &ch_len);
  uint8_t *prefix = vec_get(f, "04 client calculate PSK binder | ClientHello prefix", &prefix_len);
  CHECK(prefix_len + 2 + 1 + 32 == ch_len && memcmp(ch, prefix, prefix_len) == 0);
  CHECK_EQ_INT(tern_hash_data(h, ch, prefix_len, th), TERN_OK);
  check_vec(f, "PSK binder transcript hash (truncated ClientHello)", th);
  CHECK_EQ_INT(tern_keysched_binder(&ks, th, binder), TERN_OK);
  check_vec(f, "PSK binder value", binder);
  CHECK_MEM(ch + ch_len - 32, binder, 32);

  CHECK_EQ_INT(tern_transcript_init(&t, h), TERN_OK);
  CHECK_EQ_INT(tern_transcript_update(&t, ch, ch_len), TERN_OK);
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  CHECK_EQ_INT(tern_keysched_early_traffic(&ks, th), TERN_OK);
  check_vec(f, "client early traffic secret", ks.client_early);
  check_vec(f, "early exporter master secret", ks.early_exporter);
  check_key_iv(f, ks.client_early, "client early application data write");

  CHECK_EQ_INT(ecdhe(f, "server ephemeral x25519 private key",
                     "client ephemeral x25519 public key", 1, dhe), 32);
  check_vec(f, "(EC)DHE shared secret", dhe);
  add_msg(&t, f, "server ServerHello message (step 15)");
  CHECK_EQ_INT(tern_keysched_handshake(&ks, dhe, 32), TERN_OK);
  check_vec(f, "handshake secret", ks.stage);
  static const uint8_t zeros[48];
  CHECK(memcmp(ks.binder_key, zeros, 48) == 0); /* wiped after last use */
  CHECK_EQ_INT(tern_keysched_binder(&ks, th, binder), TERN_ERR_STATE);
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  CHECK_EQ_INT(tern_keysched_hs_traffic(&ks, th), TERN_OK);
  check_vec(f, "client handshake traffic secret", ks.client_hs);
  check_vec(f, "server handshake traffic secret", ks.server_hs);
  check_key_iv(f, ks.server_hs, "server handshake data write");
  check_key_iv(f, ks.client_hs, "client handshake data write");
  CHECK_EQ_INT(tern_keysched_master(&ks), TERN_OK);
  check_vec(f, "master secret", ks.stage);

  add_msg(&t, f, "server EncryptedExtensions message (step 24)");
  check_finished(f, &t, ks.server_hs, "server Finished verify_data",
                 "server Finished message (step 26)");
  add_msg(&t, f, "server Finished message (step 26)");
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  CHECK_EQ_INT(tern_keysched_ap_traffic(&ks, th), TERN_OK);
  check_vec(f, "client application traffic secret 0", ks.client_ap);
  check_vec(f, "server application traffic secret 0", ks.server_ap);
  check_vec(f, "exporter master secret", ks.exporter);
  check_key_iv(f, ks.server_ap, "server application data write");
  check_key_iv(f, ks.client_ap, "client application data write");

  add_msg(&t, f, "client EndOfEarlyData message (step 44)");
  check_finished(f, &t, ks.client_hs, "client Finished verify_data",
                 "client Finished message (step 49)");
  add_msg(&t, f, "client Finished message (step 49)");
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  CHECK_EQ_INT(tern_keysched_resumption(&ks, th), TERN_OK);
  check_vec(f, "resumption master secret", ks.resumption);
  tern_keysched_wipe(&ks);
  tern_transcript_free(&t);
  free(psk); free(ch); free(prefix);
}

/* RFC 8448 §5: HelloRetryRequest; ClientHello1 becomes message_hash. */
static void hello_retry(void) {
  const char *f = "rfc8448_hrr.txt";
  const tern_hash *h = tern_hash_get(TERN_HASH_SHA256);
  tern_keysched ks;
  tern_transcript t;
  uint8_t dhe[64], th[32];

  CHECK_EQ_INT(ecdhe(f, "client ephemeral P-256 private key",
                     "server ephemeral P-256 public key", 0, dhe), 32);
  check_vec(f, "(EC)DHE shared secret", dhe);

  CHECK_EQ_INT(tern_keysched_init(&ks, h), TERN_OK);
  CHECK_EQ_INT(tern_keysched_early(&ks, NULL, 0), TERN_OK);
  check_vec(f, "early secret", ks.stage);
  CHECK_EQ_INT(tern_transcript_init(&t, h), TERN_OK);
  add_msg(&t, f, "client ClientHello message (step 02)");
  CHECK_EQ_INT(tern_transcript_hrr_rewrite(&t), TERN_OK);
  add_msg(&t, f, "server ServerHello message (step 04)"); /* the HRR */
  add_msg(&t, f, "client ClientHello message (step 07)");
  add_msg(&t, f, "server ServerHello message (step 11)");
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  check_vec(f, "14 server derive secret \"tls13 c hs traffic\" | hash", th);
  CHECK_EQ_INT(tern_keysched_handshake(&ks, dhe, 32), TERN_OK);
  check_vec(f, "handshake secret", ks.stage);
  CHECK_EQ_INT(tern_keysched_hs_traffic(&ks, th), TERN_OK);
  check_vec(f, "client handshake traffic secret", ks.client_hs);
  check_vec(f, "server handshake traffic secret", ks.server_hs);
  check_key_iv(f, ks.server_hs, "server handshake data write");
  check_key_iv(f, ks.client_hs, "server handshake data read");
  CHECK_EQ_INT(tern_keysched_master(&ks), TERN_OK);
  check_vec(f, "master secret", ks.stage);
  add_msg(&t, f, "server EncryptedExtensions message (step 20)");
  add_msg(&t, f, "server Certificate message (step 21)");
  add_msg(&t, f, "server CertificateVerify message (step 22)");
  check_finished(f, &t, ks.server_hs, "server Finished verify_data",
                 "server Finished message (step 24)");
  add_msg(&t, f, "server Finished message (step 24)");
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  check_vec(f, "26 server derive secret \"tls13 c ap traffic\" | hash", th);
  CHECK_EQ_INT(tern_keysched_ap_traffic(&ks, th), TERN_OK);
  check_vec(f, "client application traffic secret 0", ks.client_ap);
  check_vec(f, "server application traffic secret 0", ks.server_ap);
  check_vec(f, "exporter master secret", ks.exporter);
  check_key_iv(f, ks.server_ap, "server application data write");
  check_key_iv(f, ks.client_ap, "client application data write");
  check_finished(f, &t, ks.client_hs, "client Finished verify_data",
                 "client Finished message (step 46)");
  add_msg(&t, f, "client Finished message (step 46)");
  CHECK_EQ_INT(tern_transcript_current(&t, th), TERN_OK);
  check_vec(f, "49 client derive secret \"tls13 res master\" | hash", th);
  CHECK_EQ_INT(tern_keysched_resumption(&ks, th), TERN_OK);
  check_vec(f, "resumption master secret", ks.resumption);
  tern_keysched_wipe(&ks);
  tern_transcript_free(&t);
}

/* Runs the step `ev` (1..10) of the machine's alphabet. */
static int step(tern_keysched *ks, int ev) {
  static const uint8_t th[48], dhe[32];
  switch (ev) {
  case TERN_KS_EV_EARLY: return tern_keysched_early(ks, NULL, 0);
  case TERN_KS_EV_BINDER: return tern_keysched_binder_key(ks, 1);
  case TERN_KS_EV_EARLY_TRAFFIC: return tern_keysched_early_traffic(ks, th);
  case TERN_KS_EV_HANDSHAKE: return tern_keysched_handshake(ks, dhe, 32);
  case TERN_KS_EV_HS_TRAFFIC: return tern_keysched_hs_traffic(ks, th);
  case TERN_KS_EV_MASTER: return tern_keysched_master(ks);
  case TERN_KS_EV_AP_TRAFFIC: return tern_keysched_ap_traffic(ks, th);
  case TERN_KS_EV_RESUMPTION: return tern_keysched_resumption(ks, th);
  case TERN_KS_EV_UPDATE_CLIENT: return tern_keysched_update(ks, 0);
  default: return tern_keysched_update(ks, 1);
  }
}

/*
 * Out of order: from every prefix of the longest legal path, every step
 * that is not legal next fails with TERN_ERR_STATE, wipes the schedule,
 * and every step after it fails too (errors are sticky).
 */
static void out_of_order(void) {
  static const int path[] = {1, 2, 3, 4, 5, 6, 7, 9, 10, 8, 9, 10};
  /* legal[i][ev]: is ev legal after path[0..i)? (RFC 8446 §7.1 order) */
  const tern_hash *h = tern_hash_get(TERN_HASH_SHA384);
  static const uint8_t zeros[48];
  int refused = 0;
  for (size_t i = 0; i <= sizeof path / sizeof path[0]; i++) {
    for (int ev = 1; ev <= TERN_KS_EV_MAX; ev++) {
      tern_keysched ks;
      tern_keysched_init(&ks, h);
      for (size_t j = 0; j < i; j++) CHECK_EQ_INT(step(&ks, path[j]), TERN_OK);
      int last = i ? path[i - 1] : 0;
      int legal;
      switch (ev) {
      case 1: legal = (last == 0); break;
      case 2: legal = (last == 1); break;
      case 3: legal = (last == 1 || last == 2); break;
      case 4: legal = (last >= 1 && last <= 3); break;
      case 5: legal = (last == 4); break;
      case 6: legal = (last == 5); break;
      case 7: legal = (last == 6); break;
      case 8: {
        int resumed = 0;
        for (size_t j = 0; j < i; j++) resumed |= path[j] == 8;
        legal = !resumed && (last == 7 || last == 9 || last == 10);
        break;
      }
      default: legal = (last >= 7); break;
      }
      int rc = step(&ks, ev);
      if (legal) {
        CHECK_EQ_INT(rc, TERN_OK);
      } else {
        refused++;
        CHECK_EQ_INT(rc, TERN_ERR_STATE);
        CHECK(memcmp(ks.stage, zeros, 48) == 0 && memcmp(ks.client_ap, zeros, 48) == 0);
        for (int again = 1; again <= TERN_KS_EV_MAX; again++)
          CHECK_EQ_INT(step(&ks, again), TERN_ERR_STATE);
      }
      tern_keysched_wipe(&ks);
    }
  }
  CHECK(refused > 80);
  /* An event outside the alphabet is refused too. */
  tern_keysched ks;
  tern_keysched_init(&ks, h);
  CHECK_EQ_INT(tern_ks_machine_feed(&ks.cs, 0, &ks), TERN_ERR_STATE);
  CHECK_EQ_INT(tern_ks_machine_feed(&ks.cs, 1, &ks), TERN_ERR_STATE);
}

int main(void) {
  simple_1rtt();
  resumed_0rtt();
  hello_retry();
  out_of_order();
  return check_report();
}
