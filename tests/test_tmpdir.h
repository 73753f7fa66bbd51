/* A fresh temporary folder for each test of a suite, removed after it,
 * paths inside it, and files written there. A test file defines its suite's init as a function that
 * calls tmpdir_make with its own tag, and uses tmpdir_remove as the fini:
 *   static void make_tmp(void) { tmpdir_make("io-read"); }
 *   TestSuite(io_read, .init = make_tmp, .fini = tmpdir_remove);
 * $WEIR_TEST_TMP chooses where the folders go (default /tmp). */
#ifndef WEIR_TEST_TMPDIR_H
#define WEIR_TEST_TMPDIR_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmpdir[512];

static void tmpdir_make(const char *tag) {
  const char *base = getenv("WEIR_TEST_TMP");
  if (!base)
    base = "/tmp";
  mkdir(base, 0777);
  snprintf(tmpdir, sizeof tmpdir, "%s/%s-XXXXXX", base, tag);
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void tmpdir_remove(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_assert_eq(system(cmd), 0);
}

/* `name` inside the test's folder. The answer stays valid for the next
 * seven calls, so a test can hold a few paths at once. */
static char *path_of(const char *name) {
  static char buf[8][700];
  static int k;
  char *p = buf[k++ & 7];
  snprintf(p, 700, "%s/%s", tmpdir, name);
  return p;
}

/* Writes `len` bytes to `path`, making its folder first (one level). */
static inline void write_file(const char *path, const void *data, size_t len) {
  char dir[700];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = 0;
    mkdir(dir, 0777);
  }
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "%s", path);
  if (len)
    cr_assert_eq(fwrite(data, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

static inline void write_str(const char *path, const char *s) {
  write_file(path, s, strlen(s));
}

#endif /* WEIR_TEST_TMPDIR_H */
