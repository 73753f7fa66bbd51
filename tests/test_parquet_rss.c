/* Resident memory of the Parquet reader held to the budget, measured in a
 * child process (see rss_util.h): a pyarrow-written file of ONE row group
 * holding about 10x the budget of decoded rows (4 KiB strings, lists of
 * int32; small on disk, as ZSTD makes repeated text) is read at budgets of
 * 16 and 64 MiB, so the row group must stream through page by page. Not
 * run under AddressSanitizer (.ci/run leaves out `_rss$`). */
#include "parquet_util.h"
#include "rss_util.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("parquet-rss"); }
TestSuite(parquet_rss, .init = make_tmp, .fini = tmpdir_remove, .timeout = 900);

/* Has pyarrow write the file; its row count. */
static unsigned long long write_huge(const char *path, size_t mib) {
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/parquet/pq_tool.py' huge '%s' %zu", pq_python(),
           WEIR_TEST_SOURCE_DIR, path, mib);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f);
  unsigned long long rows = 0;
  int got = fscanf(f, "%llu", &rows);
  cr_assert_eq(pclose(f), 0, "pyarrow could not write %s", path);
  cr_assert_eq(got, 1);
  return rows;
}

Test(parquet_rss, one_row_group_ten_times_the_budget) {
  for (size_t i = 0; i < sizeof rss_budgets_mib / sizeof *rss_budgets_mib; i++) {
    size_t b = rss_budgets_mib[i];
    if (b > 64) break; /* 2.5 GB of rows made by pyarrow in memory is too much here */
    char name[64];
    snprintf(name, sizeof name, "huge-%zu.parquet", b);
    unsigned long long rows = write_huge(path_of(name), 10 * b);
    rss_check("parquet", path_of(name), b, 0, rows);
    unlink(path_of(name));
  }
}
