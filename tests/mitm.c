/*
 * tests/mitm.c - see mitm.h. Record protection here is RFC 8446 §5.2-5.4
 * and §7.3 written again on EVP, independent of tern's.
 */
#include "mitm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* HKDF-Expand-Label(secret, label, "", len) for SHA-256, len <= 32: one
   block of HKDF-Expand (RFC 5869), info = HkdfLabel (RFC 8446 §7.1). */
static void expand_label(const uint8_t secret[32], const char *label, uint8_t *out, size_t len) {
  uint8_t info[2 + 1 + 255 + 1 + 1], t[32];
  size_t n = 0, l = strlen(label);
  unsigned tl = 0;
  info[n++] = (uint8_t)(len >> 8);
  info[n++] = (uint8_t)len;
  info[n++] = (uint8_t)(6 + l);
  memcpy(info + n, "tls13 ", 6);
  memcpy(info + n + 6, label, l);
  n += 6 + l;
  info[n++] = 0;     /* empty context */
  info[n++] = 1;     /* block counter */
  HMAC(EVP_sha256(), secret, 32, info, n, t, &tl);
  memcpy(out, t, len);
}

/* Sets a key from its traffic secret: write_key and write_iv (§7.3). */
static void key_from_secret(mitm_key *k, const uint8_t secret[32]) {
  memcpy(k->secret, secret, 32);
  expand_label(secret, "key", k->key, sizeof k->key);
  expand_label(secret, "iv", k->iv, sizeof k->iv);
  k->known = 1;
  k->open_seq = k->seal_seq = 0;
}

/* The key of epoch in d, derived from the one before for a later
   application generation (§7.2: "traffic upd"); NULL when unknown. */
static mitm_key *key_of(mitm_dir *d, int epoch) {
  mitm_key *k = &d->keys[epoch];
  if (k->known) return k;
  if (epoch > MITM_AP && key_of(d, epoch - 1) != NULL) {
    uint8_t next[32];
    expand_label(d->keys[epoch - 1].secret, "traffic upd", next, sizeof next);
    key_from_secret(k, next);
    return k;
  }
  return NULL;
}

int mitm_secret_known(const mitm_dir *d, int epoch) { return d->keys[epoch].known; }

static void nonce_of(const mitm_key *k, uint64_t seq, uint8_t nonce[12]) {
  memcpy(nonce, k->iv, 12);
  for (int i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
}

/* AES-128-GCM: out = ciphertext || tag; 0 or -1. */
static int gcm_seal(const mitm_key *k, uint64_t seq, const uint8_t *aad, const uint8_t *in,
                    size_t len, uint8_t *out) {
  uint8_t nonce[12];
  int l = 0, ok;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  nonce_of(k, seq, nonce);
  ok = ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k->key, nonce) &&
       EVP_EncryptUpdate(ctx, NULL, &l, aad, 5) &&
       (len == 0 || EVP_EncryptUpdate(ctx, out, &l, in, (int)len)) &&
       EVP_EncryptFinal_ex(ctx, out + len, &l) &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + len);
  EVP_CIPHER_CTX_free(ctx);
  return ok ? 0 : -1;
}

/* AES-128-GCM open of in[0..len) (ciphertext || tag) into out; 0 or -1. */
static int gcm_open(const mitm_key *k, uint64_t seq, const uint8_t *aad, const uint8_t *in,
                    size_t len, uint8_t *out) {
  uint8_t nonce[12], tag[16];
  int l = 0, ok;
  EVP_CIPHER_CTX *ctx;
  if (len < 16) return -1;
  memcpy(tag, in + len - 16, 16);
  ctx = EVP_CIPHER_CTX_new();
  nonce_of(k, seq, nonce);
  ok = ctx != NULL && EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k->key, nonce) &&
       EVP_DecryptUpdate(ctx, NULL, &l, aad, 5) &&
       (len == 16 || EVP_DecryptUpdate(ctx, out, &l, in, (int)(len - 16))) &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) &&
       EVP_DecryptFinal_ex(ctx, out + len - 16, &l) > 0;
  EVP_CIPHER_CTX_free(ctx);
  return ok ? 0 : -1;
}

/* Which direction and epoch a keylog label names, or 0. */
static int label_slot(mitm *m, const char *label, mitm_dir **d, int *epoch) {
  static const struct {
    const char *label;
    int client, epoch;
  } slots[] = {{"CLIENT_EARLY_TRAFFIC_SECRET", 1, MITM_EARLY},
               {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", 1, MITM_HS},
               {"SERVER_HANDSHAKE_TRAFFIC_SECRET", 0, MITM_HS},
               {"CLIENT_TRAFFIC_SECRET_0", 1, MITM_AP},
               {"SERVER_TRAFFIC_SECRET_0", 0, MITM_AP}};
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
    if (strcmp(label, slots[i].label) == 0) {
      *d = slots[i].client ? &m->c2s : &m->s2c;
      *epoch = slots[i].epoch;
      return 1;
    }
  return 0;
}

void mitm_keylog(const tern_conn *c, const char *line, void *user) {
  mitm *m = tern_conn_user(c);
  char label[64], random[65], hex[129];
  uint8_t secret[32];
  mitm_dir *d;
  int epoch;
  (void)user;
  if (m == NULL || sscanf(line, "%63s %64s %128s", label, random, hex) != 3 || strlen(hex) != 64 ||
      !label_slot(m, label, &d, &epoch))
    return;
  for (size_t i = 0; i < 32; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return;
    secret[i] = (uint8_t)v;
  }
  /* a second connection on this middle (resumption) starts afresh */
  if (!d->keys[epoch].known || memcmp(d->keys[epoch].secret, secret, 32) != 0) {
    key_from_secret(&d->keys[epoch], secret);
    if (epoch == MITM_AP)
      for (int e = MITM_AP + 1; e < MITM_EPOCHS; e++) d->keys[e].known = 0;
  }
}

int mitm_init(mitm *m, tern_config *client, tern_config *server, const char *server_name) {
  memset(m, 0, sizeof *m);
  m->c2s.from = m->s2c.to = tern_conn_new_tls(client, m);
  m->s2c.from = m->c2s.to = tern_conn_new_tls(server, m);
  if (m->c2s.from == NULL || m->s2c.from == NULL) return -1;
  if (server_name && tern_conn_set_server_name(m->c2s.from, server_name) != TERN_OK) return -1;
  return 0;
}

void mitm_free(mitm *m) {
  tern_conn_free(m->c2s.from);
  tern_conn_free(m->s2c.from);
  free(m->c2s.out);
  free(m->s2c.out);
  memset(m, 0, sizeof *m);
}

/* Takes what `from` has written into d->in, as far as it fits. */
static void take_output(mitm_dir *d) {
  size_t n;
  const uint8_t *p = tern_tls_output(d->from, &n);
  if (p == NULL) return;
  if (n > sizeof d->in - d->in_len) n = sizeof d->in - d->in_len;
  memcpy(d->in + d->in_len, p, n);
  d->in_len += n;
  tern_tls_output_done(d->from, n);
}

int mitm_next(mitm_dir *d, mitm_record *r) {
  size_t len, inner;
  take_output(d);
  if (d->in_len < 5) return 0;
  len = (size_t)d->in[3] << 8 | d->in[4];
  if (len > MITM_MAX_RECORD - 5) return -1;
  if (d->in_len < 5 + len) return 0;
  r->type = d->in[0];
  r->version = (uint16_t)(d->in[1] << 8 | d->in[2]);
  r->epoch = MITM_PLAIN;
  r->len = len;
  if (r->type != MITM_APPDATA) {
    memcpy(r->data, d->in + 5, len);
  } else {
    int e;
    for (e = d->epoch > MITM_PLAIN ? d->epoch : MITM_EARLY; e < MITM_EPOCHS; e++) {
      mitm_key *k = key_of(d, e);
      if (k != NULL && gcm_open(k, k->open_seq, d->in, d->in + 5, len, r->data) == 0) {
        k->open_seq++;
        break;
      }
    }
    if (e == MITM_EPOCHS) return -1;
    d->epoch = r->epoch = e;
    inner = len - 16;
    while (inner > 0 && r->data[inner - 1] == 0) inner--;
    if (inner == 0) return -1;
    r->type = r->data[inner - 1];
    r->len = inner - 1;
  }
  memmove(d->in, d->in + 5 + len, d->in_len - 5 - len);
  d->in_len -= 5 + len;
  return 1;
}

/* Room for n more bytes in d->out. */
static uint8_t *out_room(mitm_dir *d, size_t n) {
  if (d->out_len + n > d->out_cap) {
    size_t cap = d->out_cap ? d->out_cap : 4096;
    while (cap < d->out_len + n) cap *= 2;
    d->out = realloc(d->out, cap);
    if (d->out == NULL) abort();
    d->out_cap = cap;
  }
  return d->out + d->out_len;
}

void mitm_put_raw(mitm_dir *d, const uint8_t *bytes, size_t len) {
  memcpy(out_room(d, len), bytes, len);
  d->out_len += len;
}

int mitm_put(mitm_dir *d, uint8_t type, int epoch, const uint8_t *data, size_t len,
             size_t padding, uint16_t version) {
  uint8_t *rec;
  if (epoch == MITM_PLAIN) {
    rec = out_room(d, 5 + len);
    rec[0] = type;
    rec[1] = (uint8_t)(version >> 8);
    rec[2] = (uint8_t)version;
    rec[3] = (uint8_t)(len >> 8);
    rec[4] = (uint8_t)len;
    memcpy(rec + 5, data, len);
    d->out_len += 5 + len;
    return 0;
  } else {
    mitm_key *k = key_of(d, epoch);
    size_t inner_len = len + 1 + padding, total = inner_len + 16;
    uint8_t *inner;
    if (k == NULL) return -1;
    inner = malloc(inner_len);
    if (inner == NULL) abort();
    if (len) memcpy(inner, data, len);
    inner[len] = type;
    memset(inner + len + 1, 0, padding);
    rec = out_room(d, 5 + total);
    rec[0] = MITM_APPDATA;
    rec[1] = (uint8_t)(version >> 8);
    rec[2] = (uint8_t)version;
    rec[3] = (uint8_t)(total >> 8);
    rec[4] = (uint8_t)total;
    if (gcm_seal(k, k->seal_seq++, rec, inner, inner_len, rec + 5) != 0) abort();
    free(inner);
    d->out_len += 5 + total;
    return 0;
  }
}

int mitm_deliver(mitm_dir *d, size_t frag) {
  size_t off = 0;
  int rc = TERN_OK;
  while (off < d->out_len && rc == TERN_OK) {
    size_t n = frag && frag < d->out_len - off ? frag : d->out_len - off, used = 0;
    rc = tern_tls_feed(d->to, d->out + off, n, &used);
    off += used;
    if (rc == TERN_OK && used == 0) break; /* the reader holds its fill of data */
  }
  memmove(d->out, d->out + off, d->out_len - off);
  d->out_len -= off;
  return rc;
}

int mitm_forward(mitm_dir *d) {
  mitm_record *r = malloc(sizeof *r);
  int got, rc = TERN_OK;
  if (r == NULL) abort();
  while ((got = mitm_next(d, r)) == 1)
    if (mitm_put(d, r->type, r->epoch, r->data, r->len, 0, r->version) != 0) got = -1;
  free(r);
  if (got < 0) return TERN_ERR_STATE;
  rc = mitm_deliver(d, 0);
  return rc;
}

int mitm_pending_alert(mitm_dir *d) {
  mitm_record *r = malloc(sizeof *r);
  int got, alert = -1;
  if (r == NULL) abort();
  while (alert < 0 && (got = mitm_next(d, r)) == 1)
    if (r->type == MITM_ALERT && r->len == 2) alert = r->data[1];
  free(r);
  return alert;
}
