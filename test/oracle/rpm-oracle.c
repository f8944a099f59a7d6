/*
 * Ground-truth oracle: librpm itself. Reads lines "A<TAB>B" on stdin and prints one line each:
 *   evr mode (default): rpmverCmp(rpmverParse(A), rpmverParse(B)) as -1/0/1, or "E" when
 *                       librpm cannot parse one side (rpmverParse returns NULL);
 *   vercmp mode:        rpmvercmp(A, B) as -1/0/1.
 * Built by test/oracle.ts with the machine's cc against Debian's librpm-dev; never committed
 * as a binary. A bench mode times rpmvercmp over the pairs (C's own speed, for comparison).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rpm/rpmver.h>

static int sign(int x) { return x < 0 ? -1 : x > 0 ? 1 : 0; }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "evr";
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  if (strcmp(mode, "bench") == 0) {
    /* Load all pairs, then time rpmvercmp over them `rounds` times. */
    size_t cnt = 0, capp = 1024;
    char **as = malloc(capp * sizeof *as), **bs = malloc(capp * sizeof *bs);
    while ((n = getline(&line, &cap, stdin)) > 0) {
      if (line[n - 1] == '\n') line[--n] = 0;
      char *tab = strchr(line, '\t');
      if (!tab) continue;
      *tab = 0;
      if (cnt == capp) { capp *= 2; as = realloc(as, capp * sizeof *as); bs = realloc(bs, capp * sizeof *bs); }
      as[cnt] = strdup(line); bs[cnt] = strdup(tab + 1); cnt++;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    struct timespec t0, t1;
    long acc = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < rounds; r++)
      for (size_t i = 0; i < cnt; i++) acc += rpmvercmp(as[i], bs[i]);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%zu %d %.6f %ld\n", cnt, rounds, s, acc);
    return 0;
  }
  int evr = strcmp(mode, "vercmp") != 0;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    if (line[n - 1] == '\n') line[--n] = 0;
    char *tab = strchr(line, '\t');
    if (!tab) { puts("E"); continue; }
    *tab = 0;
    const char *a = line, *b = tab + 1;
    if (evr) {
      rpmver va = rpmverParse(a), vb = rpmverParse(b);
      if (!va || !vb) puts("E");
      else printf("%d\n", sign(rpmverCmp(va, vb)));
      rpmverFree(va);
      rpmverFree(vb);
    } else {
      printf("%d\n", sign(rpmvercmp(a, b)));
    }
  }
  free(line);
  return 0;
}
