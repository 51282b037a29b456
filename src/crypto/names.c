/*
 * crypto/names.c - crypto layer: the names of the suites, groups and
 * signature schemes tern implements, both ways (tern_suite_name,
 * tern_suite_from_name, ...), and the lists of them
 * (tern_supported_suites, ...). Everything is read from the descriptor
 * tables of crypto.c, group.c and sig.c, so an algorithm added there is
 * named, found and listed here without a change.
 */
#include <strings.h>

#include <openssl/ec.h>
#include <openssl/objects.h>
#include <tern.h>

#include "crypto/crypto.h"
#include "crypto/group.h"
#include "crypto/sig.h"

/* tern_suite_name: see tern.h. */
const char *tern_suite_name(uint16_t suite) {
  const tern_suite *s = tern_suite_get(suite);
  return s ? s->name : NULL;
}

/* tern_group_name: see tern.h. */
const char *tern_group_name(uint16_t group) {
  const tern_group *g = tern_group_get(group);
  return g ? g->name : NULL;
}

/* tern_signature_scheme_name: see tern.h. */
const char *tern_signature_scheme_name(uint16_t scheme) {
  const tern_sig *s = tern_sig_get(scheme);
  return s ? s->name : NULL;
}

/* True when a is not NULL and equals name, ignoring case. */
static int same(const char *a, const char *name) { return a != NULL && strcasecmp(a, name) == 0; }

/* tern_suite_from_name: see tern.h. */
uint16_t tern_suite_from_name(const char *name) {
  const tern_suite *s;
  if (name == NULL) return 0;
  for (size_t i = 0; (s = tern_suite_at(i)) != NULL; i++)
    if (same(s->name, name)) return s->id;
  return 0;
}

/*
 * tern_group_from_name: see tern.h. Besides RFC 8446's name, a group
 * answers to libcrypto's names of its curve or group: the short name of
 * its NID ("X25519", "prime256v1", "secp384r1", "ffdhe2048") and, for a
 * NIST curve, the NIST name ("P-256"), as OpenSSL's -groups accepts them.
 */
uint16_t tern_group_from_name(const char *name) {
  const tern_group *g;
  if (name == NULL) return 0;
  for (size_t i = 0; (g = tern_group_at(i)) != NULL; i++) {
    if (same(g->name, name)) return g->id;
    if (g->nid != NID_undef && (same(OBJ_nid2sn(g->nid), name) ||
                                same(EC_curve_nid2nist(g->nid), name)))
      return g->id;
  }
  return 0;
}

/* tern_signature_scheme_from_name: see tern.h. */
uint16_t tern_signature_scheme_from_name(const char *name) {
  const tern_sig *s;
  if (name == NULL) return 0;
  for (size_t i = 0; (s = tern_sig_at(i)) != NULL; i++)
    if (same(s->name, name)) return s->id;
  return 0;
}

/* tern_supported_suites: see tern.h. */
size_t tern_supported_suites(uint16_t *out, size_t cap) {
  const tern_suite *s;
  size_t i;
  for (i = 0; (s = tern_suite_at(i)) != NULL; i++)
    if (out != NULL && i < cap) out[i] = s->id;
  return i;
}

/* tern_supported_groups: see tern.h. */
size_t tern_supported_groups(uint16_t *out, size_t cap) {
  const tern_group *g;
  size_t i;
  for (i = 0; (g = tern_group_at(i)) != NULL; i++)
    if (out != NULL && i < cap) out[i] = g->id;
  return i;
}

/* tern_supported_signature_schemes: see tern.h. */
size_t tern_supported_signature_schemes(uint16_t *out, size_t cap) {
  const tern_sig *s;
  size_t i;
  for (i = 0; (s = tern_sig_at(i)) != NULL; i++)
    if (out != NULL && i < cap) out[i] = s->id;
  return i;
}
