/*
 * crypto/names.c - crypto layer: the IANA names of the suites, groups and
 * signature schemes tern implements (tern_suite_name, tern_group_name,
 * tern_signature_scheme_name), read from their descriptor tables.
 */
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
