/*
 * vectors.h - read `label: hex` vector files copied into tests/vectors/
 * from the RFCs (see tests/vectors/README.md). TERN_VECTOR_DIR is set by
 * meson to the directory of those files.
 */
#ifndef TERN_TESTS_VECTORS_H
#define TERN_TESTS_VECTORS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * vec_get finds the line "label: hex" in tests/vectors/<file> and decodes
 * the hex into a freshly malloc'ed buffer (*len bytes). Aborts when the
 * label is missing, so a renamed vector can never pass silently.
 */
static inline uint8_t *vec_get(const char *file, const char *label, size_t *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", TERN_VECTOR_DIR, file);
  FILE *f = fopen(path, "r");
  if (!f) { fprintf(stderr, "cannot open %s\n", path); abort(); }
  size_t ll = strlen(label);
  char *line = NULL;
  size_t cap = 0;
  uint8_t *out = NULL;
  while (getline(&line, &cap, f) > 0) {
    if (strncmp(line, label, ll) != 0 || line[ll] != ':') continue;
    const char *h = line + ll + 1;
    while (*h == ' ') h++;
    size_t n = strcspn(h, "\r\n");
    out = malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
      unsigned v;
      if (sscanf(h + 2 * i, "%2x", &v) != 1) abort();
      out[i] = (uint8_t)v;
    }
    *len = n / 2;
    break;
  }
  free(line);
  fclose(f);
  if (!out) { fprintf(stderr, "vector '%s' not found in %s\n", label, file); abort(); }
  return out;
}

/* vec_int reads a decimal value ("case 1 L: 42"); aborts when missing. */
static inline long vec_int(const char *file, const char *label) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", TERN_VECTOR_DIR, file);
  FILE *f = fopen(path, "r");
  if (!f) { fprintf(stderr, "cannot open %s\n", path); abort(); }
  size_t ll = strlen(label);
  char *line = NULL;
  size_t cap = 0;
  long v = -1;
  int found = 0;
  while (!found && getline(&line, &cap, f) > 0) {
    if (strncmp(line, label, ll) != 0 || line[ll] != ':') continue;
    v = strtol(line + ll + 1, NULL, 10);
    found = 1;
  }
  free(line);
  fclose(f);
  if (!found) { fprintf(stderr, "vector '%s' not found in %s\n", label, file); abort(); }
  return v;
}

#endif
