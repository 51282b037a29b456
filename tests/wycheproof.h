/*
 * wycheproof.h - walks the test cases of a Wycheproof JSON file
 * (tests/vectors/wycheproof/, copied from C2SP/wycheproof testvectors_v1,
 * Apache-2.0, LICENSE beside them) without a JSON library.
 *
 * Every test case of those files is an object whose first member is
 * "tcId", inside a "tests" array; its members are strings (hex or prose),
 * the number tcId and the "flags" array of strings. wp_next finds the
 * next such object and gives its string members by name.
 */
#ifndef TERN_TESTS_WYCHEPROOF_H
#define TERN_TESTS_WYCHEPROOF_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WP_MAX_FIELDS 16

typedef struct wp_case {
  int tc_id;
  size_t n;
  const char *name[WP_MAX_FIELDS];  /* member names, NUL-terminated copies */
  char *value[WP_MAX_FIELDS];       /* string values, NUL-terminated */
  char flags[256];                  /* the flags, joined by ',' */
} wp_case;

/* Reads tests/vectors/wycheproof/<name> whole; aborts when missing, so a
   renamed file never passes silently. */
static inline char *wp_load(const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/wycheproof/%s", TERN_VECTOR_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "cannot open %s\n", path); abort(); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *t = malloc((size_t)n + 1);
  if (!t || fread(t, 1, (size_t)n, f) != (size_t)n) abort();
  fclose(f);
  t[n] = 0;
  *len = (size_t)n;
  return t;
}

/* Reads the JSON string at *p (just past its opening quote) in place:
   unescapes simple escapes, NUL-terminates, returns its start and moves
   *p past the closing quote. */
static inline char *wp_string(char **p) {
  char *start = *p, *w = *p, *r = *p;
  while (*r && *r != '"') {
    if (*r == '\\' && r[1]) r++;
    *w++ = *r++;
  }
  if (*r == '"') r++;
  *w = 0;
  *p = r;
  return start;
}

static inline void wp_skip_ws(char **p) {
  while (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t' || **p == ',') (*p)++;
}

/* Finds the next test case after *cursor; 1 with *c filled, 0 at the end.
   The text is modified in place (strings NUL-terminated). */
static inline int wp_next(char **cursor, wp_case *c) {
  char *p = strstr(*cursor, "\"tcId\"");
  if (p == NULL) return 0;
  memset(c, 0, sizeof *c);
  for (;;) {
    wp_skip_ws(&p);
    if (*p == '}') { p++; break; }
    if (*p != '"') { fprintf(stderr, "wycheproof: unexpected %.20s\n", p); abort(); }
    p++;
    char *key = wp_string(&p);
    wp_skip_ws(&p);
    if (*p != ':') abort();
    p++;
    wp_skip_ws(&p);
    if (*p == '"') {
      p++;
      char *v = wp_string(&p);
      if (c->n < WP_MAX_FIELDS) {
        c->name[c->n] = key;
        c->value[c->n++] = v;
      }
    } else if (*p == '[') {
      p++;
      for (;;) {
        wp_skip_ws(&p);
        if (*p == ']') { p++; break; }
        if (*p != '"') abort();
        p++;
        char *v = wp_string(&p);
        if (strcmp(key, "flags") == 0) {
          if (c->flags[0]) strncat(c->flags, ",", sizeof c->flags - strlen(c->flags) - 1);
          strncat(c->flags, v, sizeof c->flags - strlen(c->flags) - 1);
        }
      }
    } else {
      long v = strtol(p, &p, 10);
      if (strcmp(key, "tcId") == 0) c->tc_id = (int)v;
    }
  }
  *cursor = p;
  return 1;
}

/* The string member called name, or NULL. */
static inline const char *wp_get(const wp_case *c, const char *name) {
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->name[i], name) == 0) return c->value[i];
  return NULL;
}

/* Decodes member name's hex into out (cap bytes); returns its length, or
   (size_t)-1 when the member is missing, too long or not hex. */
static inline size_t wp_hex(const wp_case *c, const char *name, uint8_t *out,
                            size_t cap) {
  const char *h = wp_get(c, name);
  size_t n;
  if (h == NULL) return (size_t)-1;
  n = strlen(h);
  if (n % 2 || n / 2 > cap) return (size_t)-1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(h + 2 * i, "%2x", &v) != 1) return (size_t)-1;
    out[i] = (uint8_t)v;
  }
  return n / 2;
}

/* 1 when the case's result is "valid". */
static inline int wp_valid(const wp_case *c) {
  const char *r = wp_get(c, "result");
  return r != NULL && strcmp(r, "valid") == 0;
}

#endif
