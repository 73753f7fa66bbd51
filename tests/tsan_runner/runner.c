/* The runner behind tsan_runner/criterion/criterion.h: registers tests from
 * constructors, forks one child per test, and reports like Criterion. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criterion/criterion.h"

#define MAX_TESTS 1024
#define EXIT_SKIPPED 77

typedef struct test_entry {
  const char *suite, *name;
  void (*fn)(void);
  const struct weir_tr_extra *extra;
} test_entry;

static test_entry tests[MAX_TESTS];
static int ntests;
static test_entry suites[MAX_TESTS];
static int nsuites;
static int expect_failed;

void weir_tr_register(const char *suite, const char *name, void (*fn)(void),
                      const struct weir_tr_extra *extra) {
  if (ntests < MAX_TESTS) tests[ntests++] = (test_entry){suite, name, fn, extra};
}

void weir_tr_register_suite(const char *suite, const struct weir_tr_extra *extra) {
  if (nsuites < MAX_TESTS) suites[nsuites++] = (test_entry){suite, NULL, NULL, extra};
}

static const struct weir_tr_extra *suite_extra(const char *suite) {
  for (int i = 0; i < nsuites; i++)
    if (strcmp(suites[i].suite, suite) == 0) return suites[i].extra;
  return NULL;
}

void weir_tr_check(int ok, int fatal, const char *file, int line, const char *expr,
                   const char *fmt, ...) {
  if (ok) return;
  fprintf(stderr, "[----] %s:%d: Assertion Failed: %s\n", file, line, expr);
  if (fmt && *fmt) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[----]   ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
  }
  if (fatal) exit(1);
  expect_failed = 1;
}

void weir_tr_skip(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[SKIP] ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(EXIT_SKIPPED);
}

void weir_tr_log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[----] ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
}

static int run_one(const test_entry *t) {
  const struct weir_tr_extra *s = suite_extra(t->suite);
  void (*init)(void) = t->extra->init ? t->extra->init : s ? s->init : NULL;
  void (*fini)(void) = t->extra->fini ? t->extra->fini : s ? s->fini : NULL;
  double timeout = t->extra->timeout ? t->extra->timeout : s ? s->timeout : 0;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    if (timeout > 0) alarm((unsigned)timeout + 1);
    if (init) init();
    t->fn();
    if (fini) fini();
    exit(expect_failed ? 1 : 0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  int want_signal = t->extra->signal, want_exit = t->extra->exit_code;
  if (WIFSIGNALED(status)) return WTERMSIG(status) == want_signal ? 0 : -WTERMSIG(status);
  int code = WEXITSTATUS(status);
  if (code == EXIT_SKIPPED) return EXIT_SKIPPED;
  return code == want_exit ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *filter = NULL;
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], "--filter=", 9) == 0) filter = argv[i] + 9;
  int failed = 0, passed = 0, skipped = 0;
  for (int i = 0; i < ntests; i++) {
    const test_entry *t = &tests[i];
    char full[512];
    snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
    if ((filter && !strstr(full, filter)) || t->extra->disabled) continue;
    int rc = run_one(t);
    if (rc == 0) {
      passed++;
    } else if (rc == EXIT_SKIPPED) {
      skipped++;
    } else {
      failed++;
      if (rc < 0)
        fprintf(stderr, "[FAIL] %s::%s: crashed with signal %d\n", t->suite, t->name, -rc);
      else
        fprintf(stderr, "[FAIL] %s::%s\n", t->suite, t->name);
    }
  }
  fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Skipped: %d\n",
          passed + failed, passed, failed, skipped);
  return failed ? 1 : 0;
}
