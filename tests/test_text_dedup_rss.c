/* Exact deduplication's key tables held to the pipeline's memory budget,
 * measured: weir_dedup_exact with its own memory_limit at 1 GiB runs in a
 * child process (weir_rss_probe) over 2 M rows of 1.5 M distinct keys,
 * whose seen-key table alone would grow to 96 MiB, under a 16 MiB budget.
 * The tables count in the budget, so they spill sorted runs instead of
 * growing: spilled bytes > 0, peak RSS within 1.25 x budget + 64 MiB (as
 * rss_util.h), and the rows kept are the reference's (their count and the
 * sum of their ids), keep-first and by priority. Before the tables
 * counted, nothing spilled and the peak passed 150 MiB. Not run under
 * AddressSanitizer (.ci/run): its shadow memory is resident memory weir
 * does not hold. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir.h>

#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("text-dedup-rss"); }
TestSuite(text_dedup_rss, .init = make_tmp, .fini = tmpdir_remove, .timeout = 900);

#define MIB ((size_t)1 << 20)
#define NKEYS 1500000ull
#define NROWS 2000000ull

/* Row i: key "doc <(i * 7919) % NKEYS>" (the first NKEYS rows have every
 * key once), priority (i * 31) % 7. */
static void write_rows(const char *path) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "cannot write %s", path);
  for (unsigned long long i = 0; i < NROWS; i++)
    fprintf(f, "{\"i\": %llu, \"text\": \"doc %llu\", \"p\": %llu}\n", i, (i * 7919) % NKEYS,
            (i * 31) % 7);
  cr_assert_eq(fclose(f), 0);
}

static void check(const char *kind, const char *uri, size_t budget_mib,
                  unsigned long long want_rows, unsigned long long want_isum) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "'%s/tests/weir_rss_probe' %s '%s' %zu 1024", WEIR_TEST_BINARY_DIR,
           kind, uri, budget_mib);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f, "cannot run %s", cmd);
  char line[512] = "";
  char *got = fgets(line, sizeof line, f);
  int status = pclose(f);
  cr_assert(got && status == 0, "%s failed (status %d): %s", cmd, status, line);
  unsigned long long rows = 0, blocks = 0, max_block = 0, spilled = 0, isum = 0;
  size_t in_flight = 0;
  long peak = 0;
  cr_assert_eq(sscanf(line, "rows=%llu blocks=%llu max_block=%llu in_flight_peak=%zu "
                      "peak_kib=%ld spilled=%llu isum=%llu",
                      &rows, &blocks, &max_block, &in_flight, &peak, &spilled, &isum), 7,
               "probe said: %s", line);
  cr_assert_eq(rows, want_rows, "%s: kept %llu rows, the reference %llu", kind, rows, want_rows);
  cr_assert_eq(isum, want_isum, "%s: the kept rows differ from the reference's", kind);
  cr_assert_gt(spilled, 0, "%s at %zu MiB: nothing spilled: the key table grew past the "
               "budget", kind, budget_mib);
  double limit = 1.25 * (double)(budget_mib * MIB) + 64.0 * (double)MIB;
  cr_assert_leq((double)peak * 1024.0, limit,
                "%s at a %zu MiB budget: peak RSS %.1f MiB > 1.25 x budget + 64 MiB (%.1f MiB); "
                "in flight peak %.1f MiB, %llu bytes spilled",
                kind, budget_mib, (double)peak / 1024.0, limit / (double)MIB,
                (double)in_flight / (double)MIB, spilled);
  cr_log_info("%s at %zu MiB: peak RSS %.1f MiB, in flight peak %.1f MiB, %.1f MiB spilled",
              kind, budget_mib, (double)peak / 1024.0, (double)in_flight / (double)MIB,
              (double)spilled / (double)MIB);
}

Test(text_dedup_rss, key_tables_within_the_budget) {
  const char *in = path_of("rows.jsonl");
  write_rows(in);
  /* Keep-first: rows 0 .. NKEYS-1. */
  check("dedup", in, 16, NKEYS, NKEYS * (NKEYS - 1) / 2);
  /* Priority: the highest p per key, ties to the first row. */
  long long *best = malloc(NKEYS * sizeof *best);
  cr_assert_not_null(best);
  for (unsigned long long k = 0; k < NKEYS; k++)
    best[k] = -1;
  for (unsigned long long i = 0; i < NROWS; i++) {
    unsigned long long k = (i * 7919) % NKEYS;
    if (best[k] < 0 || (i * 31) % 7 > ((unsigned long long)best[k] * 31) % 7)
      best[k] = (long long)i;
  }
  unsigned long long isum = 0;
  for (unsigned long long k = 0; k < NKEYS; k++)
    isum += (unsigned long long)best[k];
  free(best);
  check("dedup_priority", in, 16, NKEYS, isum);
}
