/*
 * mutator_check.c - test of mutator.c's framing (suite fuzz): for every
 * input of the directories given, every vector the mutator finds is
 * resized (grown by 1 and by 2049 bytes, shrunk to 0) and the result
 * parsed again: it must hold as many chunks as before, the edited vector
 * must have its new length, and every vector parsed before it (its
 * enclosing ones and those ahead of it) must be found again at the same
 * place with its length kept or, when it encloses the edit, moved by the
 * same difference. Built with mutator.c included (its statics
 * are what is checked), LLVMFuzzerMutate stubbed (the resize never calls
 * it). The framing is mutator.c's FZ_MUT_TLS, as compiled.
 */
#include <dirent.h>
#include <stdio.h>

#include "mutator.c"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) {
  (void)data, (void)max_size;
  return size;
}

static shape before, after;
static long checked, failed;

static int count_kind(const shape *s, int kind) {
  int n = 0;
  for (int i = 0; i < s->nv; i++) n += s->v[i].kind == kind;
  return n;
}

static void check_input(const char *name, const uint8_t *in, size_t size) {
  static uint8_t buf[1 << 17];
  parse(&before, in, size);
  for (int i = 0; i < before.nv; i++) {
    static const long deltas[] = {1, 2049, -1000000};
    for (size_t d = 0; d < 3; d++) {
      const vec_t *v = &before.v[i];
      size_t n = v->end - v->start, m, out;
      long delta;
      int ok = 1;
      if (deltas[d] < 0 && n == 0) continue;
      m = deltas[d] < 0 ? 0 : n + (size_t)deltas[d];
      delta = (long)m - (long)n;
      memcpy(buf, in, size);
      rng_state = 12345 + (uint64_t)i;
      out = resize(&before, buf, sizeof buf, i, m);
      if (out == 0) continue;  /* refused: an enclosing length would overflow */
      checked++;
      parse(&after, buf, out);
      if (out != (size_t)((long)size + delta) ||
          count_kind(&before, V_CHUNK) != count_kind(&after, V_CHUNK))
        ok = 0;
      /* the vectors up to and including the edited one are in the same
         order in both parses (children of the edited one come after it) */
      for (int j = 0; j <= i && ok; j++) {
        const vec_t *b = &before.v[j], *a = &after.v[j];
        size_t want = b->end - b->start;
        if (j == i) want = m;
        else if (b->start <= v->len_off && v->end <= b->end) want = (size_t)((long)want + delta);
        if (a->kind != b->kind || a->len_off != b->len_off || a->end - a->start != want) ok = 0;
      }
      if (!ok) {
        failed++;
        if (failed < 10)
          fprintf(stderr, "%s: vector %d (kind %d, %zu bytes) resized to %zu: framing broken\n",
                  name, i, v->kind, n, m);
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR...\n", argv[0]);
    return 2;
  }
  for (int a = 1; a < argc; a++) {
    DIR *d = opendir(argv[a]);
    struct dirent *e;
    if (d == NULL) {
      perror(argv[a]);
      return 2;
    }
    while ((e = readdir(d)) != NULL) {
      char path[4096];
      static uint8_t in[1 << 16];
      FILE *f;
      size_t n;
      if (e->d_name[0] == '.') continue;
      snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
      if ((f = fopen(path, "rb")) == NULL) continue;
      n = fread(in, 1, sizeof in, f);
      fclose(f);
      check_input(path, in, n);
    }
    closedir(d);
  }
  printf("%ld resizes checked, %ld broke the framing\n", checked, failed);
  return failed == 0 && checked > 0 ? 0 : 1;
}
