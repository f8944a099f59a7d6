/*
 * Ground-truth oracle: librpm itself. Reads lines "A<TAB>B" on stdin and prints one line each:
 *   evr mode (default): rpmverCmp(rpmverParse(A), rpmverParse(B)) as -1/0/1, or "E" when
 *                       librpm cannot parse one side (rpmverParse returns NULL);
 *   vercmp mode:        rpmvercmp(A, B) as -1/0/1.
 * Built by test/oracle.ts with the machine's cc against Debian's librpm-dev; never committed
 * as a binary. A cpu mode times rpmvercmp, or rpmverParse + rpmverCmp, over the pairs in CPU time
 * (C's own speed, for bench/vercmp.bench.ts).
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
  if (strcmp(mode, "cpu") == 0) {
    /* cpu vercmp|evr ROUNDS: load all pairs, run one untimed round, then time `rounds` rounds
     * in CPU time (CLOCK_PROCESS_CPUTIME_ID, as the bench reads process.cpuUsage() for JS).
     * evr is what librpm does for an EVR comparison: rpmverParse both sides, rpmverCmp, free.
     * Prints: pairs rounds best_ns median_ns checksum (sum of sign * (i % 7 + 1), one round). */
    int isEvr = argc > 2 && strcmp(argv[2], "evr") == 0;
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    if (rounds < 1 || rounds > 99) rounds = 5;
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
    long check = 0;
    double ns[100];
    for (int r = -1; r < rounds; r++) {
      struct timespec t0, t1;
      long acc = 0;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
      if (isEvr) {
        for (size_t i = 0; i < cnt; i++) {
          rpmver va = rpmverParse(as[i]), vb = rpmverParse(bs[i]);
          acc += sign(rpmverCmp(va, vb)) * (long)(i % 7 + 1);
          rpmverFree(va);
          rpmverFree(vb);
        }
      } else {
        for (size_t i = 0; i < cnt; i++) acc += sign(rpmvercmp(as[i], bs[i])) * (long)(i % 7 + 1);
      }
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
      if (r < 0) { check = acc; continue; }
      if (acc != check) { fprintf(stderr, "rounds disagree\n"); return 1; }
      ns[r] = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    }
    for (int i = 1; i < rounds; i++) /* insertion sort: best and median */
      for (int j = i; j > 0 && ns[j] < ns[j - 1]; j--) { double t = ns[j]; ns[j] = ns[j - 1]; ns[j - 1] = t; }
    printf("%zu %d %.0f %.0f %ld\n", cnt, rounds, ns[0], ns[rounds / 2], check);
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
