/*
 * crypto/record_prot.c - crypto layer: TLS 1.3 record protection (RFC 8446
 * §5.2, §5.3); see record_prot.h.
 *
 * A tern_record_prot keys its EVP_CIPHER_CTX once per traffic secret;
 * per record only the nonce is loaded into it, so sealing and opening
 * allocate and fetch nothing. Inner plaintext is built and encrypted in
 * place in the output buffer, and opened in place in the reader's buffer.
 */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <tern.h>

#include "crypto/aead.h"
#include "crypto/keysched.h"
#include "crypto/record_prot.h"

/* Alert levels (RFC 8446 §6). */
#define ALERT_LEVEL_WARNING 1
#define ALERT_LEVEL_FATAL 2

/* ------------------------------------------------------------------ */
/* Protection state                                                    */
/* ------------------------------------------------------------------ */

/* tern_record_prot_init: no keys, no context, sequence number 0. */
void tern_record_prot_init(tern_record_prot *p) {
  if (p == NULL) return;
  memset(p, 0, sizeof *p);
}

/* tern_record_prot_active: keyed by a successful tern_record_prot_set. */
int tern_record_prot_active(const tern_record_prot *p) {
  return p != NULL && p->suite != NULL && p->ctx != NULL;
}

/*
 * tern_record_prot_clear: EVP_CIPHER_CTX_free wipes the key schedule;
 * the IV and the rest of the state are cleansed here.
 */
void tern_record_prot_clear(tern_record_prot *p) {
  if (p == NULL) return;
  EVP_CIPHER_CTX_free(p->ctx);
  OPENSSL_cleanse(p, sizeof *p);
  tern_record_prot_init(p);
}

/*
 * tern_record_prot_set: key = HKDF-Expand-Label(secret, "key", "",
 * key_length), iv = HKDF-Expand-Label(secret, "iv", "", 12) (§7.3); the
 * key lives only in a local array, wiped before returning.
 */
int tern_record_prot_set(tern_record_prot *p, tern_direction dir,
                         const tern_suite *suite, const uint8_t *secret,
                         size_t secret_len) {
  uint8_t key[32];
  int rc = TERN_OK;

  if (p == NULL) return TERN_ERR_INVALID_ARG;
  if (suite == NULL || secret == NULL ||
      (dir != TERN_READ && dir != TERN_WRITE))
    rc = TERN_ERR_INVALID_ARG;
  else if (tern_suite_get(suite->id) != suite || suite->key_len > sizeof key ||
           suite->iv_len != sizeof p->iv ||
           suite->tag_len > TERN_RECORD_TAG_LEN)
    rc = TERN_ERR_UNSUPPORTED;
  else if (secret_len != suite->hash->len)
    rc = TERN_ERR_INVALID_ARG;
  else if (tern_crypto_init() != TERN_OK)
    rc = TERN_ERR_CRYPTO;
  else if (p->ctx == NULL && (p->ctx = EVP_CIPHER_CTX_new()) == NULL)
    rc = TERN_ERR_NOMEM;
  if (rc != TERN_OK) {
    tern_record_prot_clear(p);
    return rc;
  }

  /* The old IV and sequence number go; tern_aead_key drops the old key. */
  p->suite = NULL;
  p->seq = 0;
  p->exhausted = 0;
  p->dir = (uint8_t)dir;
  rc = tern_keysched_traffic_key(suite, secret, key, p->iv);
  /* tern_aead_key resets the context first, dropping the old key. */
  if (rc == TERN_OK)
    rc = tern_aead_key(p->ctx, suite, key, dir == TERN_WRITE);
  OPENSSL_cleanse(key, sizeof key);
  if (rc != TERN_OK) {
    tern_record_prot_clear(p);
    return TERN_ERR_CRYPTO;
  }
  p->suite = suite;
  return TERN_OK;
}

/*
 * record_nonce: the per-record nonce of §5.3, the 64-bit sequence number
 * in network byte order, left-padded to 12 bytes, XORed with the IV.
 */
static void record_nonce(const tern_record_prot *p, uint8_t nonce[12]) {
  memcpy(nonce, p->iv, 12);
  for (int i = 0; i < 8; i++) nonce[11 - i] ^= (uint8_t)(p->seq >> (8 * i));
}

/*
 * record_advance moves to the next sequence number. The last one,
 * 2^64 - 1, is usable; after it the key is exhausted instead of wrapping
 * (§5.3: "If a TLS implementation would need to wrap a sequence number,
 * it MUST either rekey or terminate the connection").
 */
static void record_advance(tern_record_prot *p) {
  if (p->seq == UINT64_MAX)
    p->exhausted = 1;
  else
    p->seq++;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/*
 * record_seal_in_place encrypts inner[0..inner_len) in place and writes
 * the suite's tag after it, with header[0..5) as additional data and the
 * nonce of p's current sequence number. The prepared context only gets
 * its nonce.
 */
static int record_seal_in_place(tern_record_prot *p, const uint8_t *header,
                                uint8_t *inner, size_t inner_len) {
  uint8_t nonce[12];
  record_nonce(p, nonce);
  return tern_aead_seal(p->ctx, p->suite, nonce, header, TERN_RECORD_HEADER_LEN,
                        inner, inner_len, inner);
}

/*
 * tern_record_seal: TLSInnerPlaintext is laid out in the output after the
 * header, then encrypted in place; the tag follows it.
 */
int tern_record_seal(tern_record_prot *p, tern_writer *w, uint8_t type,
                     const uint8_t *data, size_t len, size_t padding) {
  size_t inner_len, total;
  uint8_t *out;

  if (p == NULL || !tern_record_writer_usable(w) || (data == NULL && len != 0))
    return TERN_ERR_INVALID_ARG;
  if (!tern_record_prot_active(p) || p->dir != TERN_WRITE)
    return TERN_ERR_STATE;
  /* change_cipher_spec is never protected (§5, Appendix D.4). */
  if (type != TERN_CONTENT_ALERT && type != TERN_CONTENT_HANDSHAKE &&
      type != TERN_CONTENT_APPLICATION_DATA)
    return TERN_ERR_INVALID_ARG;
  /* §5.4: no zero-length handshake or alert content, padding or not. */
  if (len == 0 && type != TERN_CONTENT_APPLICATION_DATA)
    return TERN_ERR_INVALID_ARG;
  /* §5.4: the full TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets. */
  if (len > TERN_RECORD_MAX_PLAINTEXT ||
      padding > TERN_RECORD_MAX_PLAINTEXT - len)
    return TERN_ERR_LIMIT;
  if (p->exhausted) return TERN_ERR_LIMIT;

  inner_len = len + 1 + padding;
  total = TERN_RECORD_HEADER_LEN + inner_len + p->suite->tag_len;
  if (w->cap - w->len < total) return TERN_ERR_BUFFER_TOO_SMALL;

  /* TLSInnerPlaintext = content || type || zeros, built in place. */
  out = w->buf + w->len;
  if (len != 0) memmove(out + TERN_RECORD_HEADER_LEN, data, len);
  out[TERN_RECORD_HEADER_LEN + len] = type;
  memset(out + TERN_RECORD_HEADER_LEN + len + 1, 0, padding);
  /* §5.2: opaque_type 23, legacy_record_version 0x0303. */
  tern_record_put_header(out, TERN_CONTENT_APPLICATION_DATA,
                    TERN_RECORD_VERSION_TLS12,
                    inner_len + p->suite->tag_len);

  if (record_seal_in_place(p, out, out + TERN_RECORD_HEADER_LEN, inner_len) !=
      TERN_OK) {
    OPENSSL_cleanse(out, total);
    return TERN_ERR_CRYPTO;
  }
  record_advance(p);
  w->len += total;
  return TERN_OK;
}

/*
 * tern_record_write: change_cipher_spec and everything before the first
 * key go out in the clear, the rest protected.
 */
int tern_record_write(tern_record_prot *p, tern_writer *w, uint8_t type,
                      const uint8_t *data, size_t len, size_t padding) {
  if (type == TERN_CONTENT_CHANGE_CIPHER_SPEC || !tern_record_prot_active(p)) {
    if (padding != 0) return TERN_ERR_INVALID_ARG;
    return tern_record_write_plain(w, type, TERN_RECORD_VERSION_TLS12, data,
                                   len);
  }
  return tern_record_seal(p, w, type, data, len, padding);
}

/*
 * tern_record_write_alert: struct { AlertLevel level; AlertDescription
 * description; } Alert (§6). The level is implicit in TLS 1.3; the
 * closure and cancel alerts go out as warnings, as RFC 8448 shows.
 */
int tern_record_write_alert(tern_record_prot *p, tern_writer *w,
                            uint8_t description) {
  uint8_t alert[2];
  alert[0] = (description == TERN_ALERT_CLOSE_NOTIFY ||
              description == TERN_ALERT_USER_CANCELED)
                 ? ALERT_LEVEL_WARNING
                 : ALERT_LEVEL_FATAL;
  alert[1] = description;
  return tern_record_write(p, w, TERN_CONTENT_ALERT, alert, sizeof alert, 0);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/*
 * record_open_in_place authenticates and decrypts data[0..len) (ciphertext
 * then the suite's tag, len >= tag length) in place under the nonce of
 * p's sequence number. The tag is handed to the AEAD, never compared by
 * hand.
 */
static int record_open_in_place(tern_record_prot *p, const uint8_t *header,
                                uint8_t *data, size_t len) {
  uint8_t nonce[12];
  record_nonce(p, nonce);
  return tern_aead_open(p->ctx, p->suite, nonce, header, TERN_RECORD_HEADER_LEN,
                        data, len, data);
}

/*
 * tern_record_open: the checks that need no key first, then AEAD-Decrypt
 * (§5.2), then the inner plaintext (§5.4). The sequence number advances
 * only when the record is accepted.
 */
int tern_record_open(tern_record_prot *p, tern_record *rec, uint8_t *alert) {
  uint8_t header[TERN_RECORD_HEADER_LEN];
  uint8_t a = TERN_ALERT_INTERNAL_ERROR, type = 0;
  size_t content_len = 0;
  int rc;

  if (p == NULL || rec == NULL || (rec->data == NULL && rec->len != 0)) {
    if (alert != NULL) *alert = TERN_ALERT_INTERNAL_ERROR;
    return TERN_ERR_INVALID_ARG;
  }
  if (!tern_record_prot_active(p) || p->dir != TERN_READ) {
    rc = TERN_ERR_STATE;
  } else if (rec->type != TERN_CONTENT_APPLICATION_DATA) {
    /* §5.2: the outer opaque_type of a protected record is always 23. */
    rc = TERN_ERR_MALFORMED;
    a = TERN_ALERT_UNEXPECTED_MESSAGE;
  } else if (rec->len > TERN_RECORD_MAX_CIPHERTEXT) {
    /* §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256. */
    rc = TERN_ERR_LIMIT;
    a = TERN_ALERT_RECORD_OVERFLOW;
  } else if (p->exhausted) {
    /* The peer needed a sequence number past 2^64 - 1 (§5.3). */
    rc = TERN_ERR_LIMIT;
    a = TERN_ALERT_UNEXPECTED_MESSAGE;
  } else if (rec->len < p->suite->tag_len) {
    /* §5.2: too short to authenticate, so decryption fails. */
    rc = TERN_ERR_DECRYPT;
    a = TERN_ALERT_BAD_RECORD_MAC;
  } else {
    /* additional_data = opaque_type || legacy_record_version || length */
    tern_record_put_header(header, rec->type, rec->version, rec->len);
    rc = record_open_in_place(p, header, rec->data, rec->len);
    /* §5.2: decryption failure MUST be answered by bad_record_mac. */
    if (rc == TERN_ERR_DECRYPT) a = TERN_ALERT_BAD_RECORD_MAC;
    if (rc == TERN_OK)
      rc = tern_record_inner_type(rec->data, rec->len - p->suite->tag_len, &type,
                             &content_len, &a);
  }

  if (rc != TERN_OK) {
    if (rec->len != 0) OPENSSL_cleanse(rec->data, rec->len);
    if (alert != NULL) *alert = a;
    return rc;
  }
  record_advance(p);
  rec->type = type;
  rec->len = content_len;
  return TERN_OK;
}
