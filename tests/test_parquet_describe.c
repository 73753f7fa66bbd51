/* weir_parquet_describe: a pyarrow-written file of two ZSTD row groups
 * described with its rows, codec, encodings and statistics (the expected
 * values computed by tests/parquet/pq_tool.py from the data it wrote), and
 * files that are not Parquet, truncated or missing refused with the file
 * named. */
#include "parquet_util.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("pq-describe"); }

TestSuite(parquet_describe, .init = make_tmp, .fini = tmpdir_remove, .timeout = 300);

typedef struct group {
  long long rows, lo, hi, nulls;
  char smin[64], smax[64];
} group;

/* Writes `path` with pq_tool.py and reads what it says of each group. */
static void make_groups(const char *path, group g[2]) {
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/parquet/pq_tool.py' groups '%s'", pq_python(),
           WEIR_TEST_SOURCE_DIR, path);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  for (int k = 0; k < 2; k++)
    cr_assert_eq(fscanf(p, "%lld %lld %lld %lld %63s %63s", &g[k].rows, &g[k].lo, &g[k].hi,
                        &g[k].nulls, g[k].smin, g[k].smax), 6);
  cr_assert_eq(pclose(p), 0, "pq_tool.py groups failed");
}

#define assert_has(hay, needle) \
  cr_assert(strstr((hay), (needle)) != NULL, "expected '%s' in:\n%s", (needle), (hay))

Test(parquet_describe, row_groups_codecs_and_statistics) {
  group g[2];
  const char *file = path_of("g.parquet");
  make_groups(file, g);
  char *text = NULL;
  cr_assert_eq(weir_parquet_describe(file, NULL, &text), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_not_null(text);
  char want[512];
  snprintf(want, sizeof want, "rows: %lld  row groups: 2  leaf columns: 2\n", g[0].rows + g[1].rows);
  assert_has(text, want);
  assert_has(text, "created_by: parquet-cpp-arrow");
  for (int k = 0; k < 2; k++) {
    snprintf(want, sizeof want, "row group %d: rows: %lld ", k, g[k].rows);
    assert_has(text, want);
    char *at = strstr(text, want);
    char *next = strstr(at + 1, "row group ");
    char part[4096];
    snprintf(part, sizeof part, "%.*s", next ? (int)(next - at) : (int)strlen(at), at);
    assert_has(part, "id: INT64  codec: ZSTD");
    assert_has(part, "s: BYTE_ARRAY STRING  codec: ZSTD");
    snprintf(want, sizeof want, "values: %lld ", g[k].rows);
    assert_has(part, want);
    /* pyarrow dictionary-encodes by default. */
    assert_has(part, "RLE_DICTIONARY");
    snprintf(want, sizeof want, "statistics: nulls: 0  min: %lld  max: %lld\n", g[k].lo, g[k].hi);
    assert_has(part, want);
    snprintf(want, sizeof want, "statistics: nulls: %lld  min: \"%s\"  max: \"%s\"\n", g[k].nulls,
             g[k].smin, g[k].smax);
    assert_has(part, want);
  }
  weir_free(text);

  /* The same file through weir's own writer without statistics. */
  weir_pipeline *p = pq_pipeline();
  weir_op *r = weir_read_parquet(p, file, NULL);
  weir_parquet_write_options wo = WEIR_PARQUET_WRITE_OPTIONS_INIT;
  wo.no_statistics = 1;
  wo.codec = WEIR_PARQUET_GZIP;
  weir_op *w = weir_write_parquet(p, r, path_of("out/"), &wo);
  cr_assert_not_null(w, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  cr_assert_eq(weir_parquet_describe(path_of("out/*.parquet"), NULL, &text), WEIR_OK, "%s",
               weir_last_errmsg());
  assert_has(text, "codec: GZIP");
  cr_assert(strstr(text, "min:") == NULL, "%s", text);
  weir_free(text);
}

Test(parquet_describe, damaged_missing_and_several_files_are_refused) {
  char *text = (char *)"untouched";
  const char *bad = path_of("bad.parquet");
  write_str(bad, "PAR1 this is not a parquet file, only its first magic PAR0");
  cr_assert_eq(weir_parquet_describe(bad, NULL, &text), WEIR_EFORMAT);
  cr_assert_null(text);
  assert_has(weir_last_errmsg(), bad);

  /* A good file cut short: its footer length points before the start. */
  group g[2];
  const char *good = path_of("g.parquet");
  make_groups(good, g);
  FILE *f = fopen(good, "rb");
  cr_assert_not_null(f);
  char head[100], tail[8];
  cr_assert_eq(fread(head, 1, sizeof head, f), sizeof head);
  cr_assert_eq(fseek(f, -8, SEEK_END), 0);
  cr_assert_eq(fread(tail, 1, sizeof tail, f), sizeof tail);
  fclose(f);
  const char *cut = path_of("cut.parquet");
  f = fopen(cut, "wb");
  cr_assert_not_null(f);
  fwrite(head, 1, sizeof head, f);
  fwrite(tail, 1, sizeof tail, f); /* a real footer length and magic, no footer */
  fclose(f);
  cr_assert_eq(weir_parquet_describe(cut, NULL, &text), WEIR_EFORMAT);
  assert_has(weir_last_errmsg(), cut);

  cr_assert_eq(weir_parquet_describe(path_of("missing.parquet"), NULL, &text), WEIR_ENOTFOUND);
  assert_has(weir_last_errmsg(), "missing.parquet");
  cr_assert_eq(weir_parquet_describe(path_of("*.parquet"), NULL, &text), WEIR_EINVAL);
  cr_assert_eq(weir_parquet_describe(good, NULL, NULL), WEIR_EINVAL);
}
