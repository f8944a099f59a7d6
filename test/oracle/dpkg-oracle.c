/*
 * Ground-truth oracle: libdpkg itself (Debian's libdpkg-dev, the code dpkg is built from).
 * Reads lines "A<TAB>B" on stdin and prints, per line, what `dpkg --compare-versions` decides:
 *   -1/0/1                   the comparison (after a mere warning, as dpkg compares anyway);
 *   "E"                      dpkg refuses one side (parseversion() error);
 * An empty side or "<unknown>" is the blank version, handled as dpkg's cmpversions() does.
 * In "parse" mode each line is one version and the output is "ok", "warn" or "error".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define LIBDPKG_VOLATILE_API 1
#include <dpkg/dpkg.h>
#include <dpkg/dpkg-db.h>
#include <dpkg/version.h>

static int sign(int x) { return x < 0 ? -1 : x > 0 ? 1 : 0; }

/* 1 = ok, 0 = warning (still compared), -1 = error */
static int parse(struct dpkg_version *v, const char *s) {
  struct dpkg_error err = DPKG_ERROR_INIT;
  if (!*s || strcmp(s, "<unknown>") == 0) { dpkg_version_blank(v); return 1; }
  int rc = parseversion(v, s, &err);
  int res = 1;
  if (rc < 0) res = err.type == DPKG_MSG_WARN ? 0 : -1;
  dpkg_error_destroy(&err);
  return res;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "cmp";
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    if (line[n - 1] == '\n') line[--n] = 0;
    if (strcmp(mode, "parse") == 0) {
      struct dpkg_version v;
      int r = parse(&v, line);
      puts(r == 1 ? "ok" : r == 0 ? "warn" : "error");
      continue;
    }
    char *tab = strchr(line, '\t');
    if (!tab) { puts("E"); continue; }
    *tab = 0;
    struct dpkg_version va, vb;
    if (parse(&va, line) < 0 || parse(&vb, tab + 1) < 0) { puts("E"); continue; }
    /* cmpversions(): when a side is not informative (blank), the relation table decides:
       a blank version is earlier than an informative one; two blanks are equal. */
    int ia = dpkg_version_is_informative(&va), ib = dpkg_version_is_informative(&vb);
    if (!ia || !ib) { printf("%d\n", ia == ib ? 0 : ia ? 1 : -1); continue; }
    printf("%d\n", sign(dpkg_version_compare(&va, &vb)));
  }
  free(line);
  return 0;
}
