/*
 * engine/exporter.c - engine layer: the TLS 1.3 exporters (RFC 8446 §7.5):
 *   TLS-Exporter(label, context, L) =
 *     HKDF-Expand-Label(Derive-Secret(secret, label, ""),
 *                       "exporter", Hash(context), L)
 * over exporter_master_secret, or early_exporter_master_secret for the
 * early exporter.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "core/conn.h"

/* TLS-Exporter over one exporter secret under hash h. */
static int export_from(const tern_hash *h, const uint8_t *secret, const char *label,
                       const uint8_t *context, size_t context_len, uint8_t *out,
                       size_t out_len) {
  uint8_t derived[TERN_MAX_HASH_LEN], ctx_hash[TERN_MAX_HASH_LEN];
  int rc;
  if (label == NULL || out == NULL || (context == NULL && context_len) || out_len == 0 ||
      strlen(label) > 255 - 6 || out_len > 255 * h->len)
    return TERN_ERR_INVALID_ARG;
  rc = tern_derive_secret(h, secret, label, h->empty_hash, derived);
  if (rc == TERN_OK) rc = tern_hash_data(h, context, context_len, ctx_hash);
  if (rc == TERN_OK)
    rc = tern_hkdf_expand_label(h, derived, h->len, "exporter", ctx_hash, h->len, out, out_len);
  OPENSSL_cleanse(derived, sizeof derived);
  return rc;
}

int tern_export_keying_material(const tern_conn *c, const char *label, const uint8_t *context,
                                size_t context_len, uint8_t *out, size_t out_len) {
  if (c == NULL) return TERN_ERR_INVALID_ARG;
  if (!c->done || c->error) return TERN_ERR_STATE;
  return export_from(c->suite->hash, tern_conn_exporter_secret(c), label, context, context_len, out, out_len);
}

int tern_export_early_keying_material(const tern_conn *c, const char *label,
                                      const uint8_t *context, size_t context_len, uint8_t *out,
                                      size_t out_len) {
  if (c == NULL) return TERN_ERR_INVALID_ARG;
  if (!c->early_exporter_ready || c->error) return TERN_ERR_STATE;
  return export_from(c->early_suite->hash, tern_conn_early_exporter_secret(c), label, context, context_len,
                     out, out_len);
}
