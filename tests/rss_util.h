/* The resident-memory check shared by test_memory_rss.c and
 * test_media_rss.c: run weir_rss_probe (tests/rss_probe.c) in a child
 * process on an input and assert that it saw every row and that its peak
 * RSS stayed within 1.25 x budget + 64 MiB (the 64 MiB is the process
 * itself: code, libraries, thread stacks; about 27 MiB here). Inputs are
 * made 10x the budget by hard links to one file of about the budget's
 * size, so the test writes little and reads from the page cache. */
#ifndef WEIR_TESTS_RSS_UTIL_H
#define WEIR_TESTS_RSS_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

/* The budgets every reader and operator is checked at. */
static const size_t rss_budgets_mib[] = {16, 64, 256};

/* Makes folder `dir` holding `copies` hard links to `base`, named
 * part-NN<suffix>. */
static inline void rss_link_copies(const char *base, const char *dir, int copies,
                            const char *suffix) {
  mkdir(dir, 0777);
  for (int i = 0; i < copies; i++) {
    char name[1024];
    snprintf(name, sizeof name, "%s/part-%02d%s", dir, i, suffix);
    unlink(name);
    cr_assert_eq(link(base, name), 0, "cannot link %s", name);
  }
}

/* Runs the probe and checks rows and peak RSS; returns the peak in KiB. */
static inline long rss_check(const char *kind, const char *uri, size_t budget_mib,
                      size_t arg, unsigned long long want_rows) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "'%s/tests/weir_rss_probe' %s '%s' %zu %zu",
           WEIR_TEST_BINARY_DIR, kind, uri, budget_mib, arg);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f, "cannot run %s", cmd);
  char line[512] = "";
  char *got = fgets(line, sizeof line, f);
  int status = pclose(f);
  cr_assert(got && status == 0, "%s failed (status %d): %s", cmd, status, line);
  unsigned long long rows = 0, blocks = 0, max_block = 0;
  size_t in_flight = 0;
  long peak = 0;
  cr_assert_eq(sscanf(line, "rows=%llu blocks=%llu max_block=%llu in_flight_peak=%zu peak_kib=%ld",
                      &rows, &blocks, &max_block, &in_flight, &peak), 5,
               "probe said: %s", line);
  cr_assert_eq(rows, want_rows, "%s at %zu MiB: %llu rows, want %llu", kind,
               budget_mib, rows, want_rows);
  double limit = 1.25 * (double)(budget_mib * MIB) + 64.0 * (double)MIB;
  cr_assert_leq((double)peak * 1024.0, limit,
                "%s at a %zu MiB budget: peak RSS %.1f MiB > 1.25 x budget + 64 MiB "
                "(%.1f MiB); %llu blocks, largest %.1f MiB, in flight peak %.1f MiB",
                kind, budget_mib, (double)peak / 1024.0, limit / (double)MIB, blocks,
                (double)max_block / (double)MIB, (double)in_flight / (double)MIB);
  cr_log_info("%s at %zu MiB: peak RSS %.1f MiB, %llu blocks, largest %.1f MiB", kind,
              budget_mib, (double)peak / 1024.0, blocks, (double)max_block / (double)MIB);
  return peak;
}

#endif /* WEIR_TESTS_RSS_UTIL_H */
