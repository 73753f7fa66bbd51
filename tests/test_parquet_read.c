/* weir_read_parquet against pyarrow: files pyarrow wrote with every codec,
 * page version, dictionary or not, the delta and byte-stream-split
 * encodings, INT96, nulls, lists, 1-row and 1 M-row row groups, read by
 * weir and compared value for value with pyarrow's reading (weir writes
 * what it read as JSONL; tests/parquet/pq_tool.py compares). Also
 * projection, the filter, datasets and refusals. */
#include "parquet_util.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("pq-read"); }

TestSuite(parquet_read, .init = make_tmp, .fini = tmpdir_remove, .timeout = 300);

/* Reads `file` with weir, writes the rows as JSONL, and has pyarrow
 * compare them with its own reading. */
static void same_as_pyarrow_rows(const char *file, const char *columns, size_t rows_per_block) {
  weir_pipeline *p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.columns = columns;
  o.rows_per_block = rows_per_block;
  weir_op *r = weir_read_parquet(p, file, &o);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  char *out = path_of("rows.jsonl");
  weir_op *w = weir_write_jsonl(p, r, out, NULL);
  cr_assert_not_null(w, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s: %s", file, weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  char args[2000];
  snprintf(args, sizeof args, "compare '%s' '%s' %s", out, file, columns ? columns : "");
  cr_assert_eq(pq_tool(args), 0, "%s differs from pyarrow", file);
}

static void same_as_pyarrow(const char *file, const char *columns) {
  same_as_pyarrow_rows(file, columns, 0);
}

Test(parquet_read, every_codec_page_version_and_dictionary) {
  const char *codecs[] = {"none", "snappy", "gzip", "zstd", "lz4", "brotli"};
  for (int c = 0; c < 6; c++)
    for (int v = 1; v <= 2; v++)
      for (int d = 0; d < 2; d++) {
        char name[128];
        snprintf(name, sizeof name, "c_%s_v%d_%s.parquet", codecs[c], v, d ? "dict" : "plain");
        same_as_pyarrow(pq_fixture(name), NULL);
      }
}

Test(parquet_read, delta_and_byte_stream_split_encodings) {
  same_as_pyarrow(pq_fixture("enc_v1.parquet"), NULL);
  same_as_pyarrow(pq_fixture("enc_v2.parquet"), NULL);
}

/* Row groups are read a block at a time, page by page: blocks of 37 rows
 * end inside pages, and lists go on across pages and blocks. */
Test(parquet_read, row_groups_in_many_blocks) {
  const char *files[] = {"c_zstd_v1_dict.parquet", "c_none_v2_plain.parquet", "enc_v1.parquet",
                         "enc_v2.parquet", "c_snappy_v1_plain.parquet"};
  for (int i = 0; i < 5; i++) same_as_pyarrow_rows(pq_fixture(files[i]), NULL, 37);
  same_as_pyarrow_rows(pq_fixture("big.parquet"), NULL, 99991);
  /* Every block but a row group's last is full. */
  weir_pipeline *p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.rows_per_block = 37;
  weir_op *r = weir_read_parquet(p, pq_fixture("c_zstd_v1_dict.parquet"), &o);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, r, NULL, &it), WEIR_OK);
  weir_block *b;
  size_t blocks = 0, rows = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    size_t n = weir_block_num_rows(b);
    cr_assert(n == 37 || n == 300 % 37 || n == 100 % 37, "a block of %zu rows", n);
    rows += n;
    blocks++;
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  cr_assert_eq(rows, 1000);
  cr_assert_eq(blocks, 3 * 9 + 3); /* 300-row groups: 9 blocks; the 100-row one: 3 */
  weir_pipeline_destroy(p);
}

Test(parquet_read, int96_and_row_group_sizes) {
  same_as_pyarrow(pq_fixture("int96.parquet"), NULL);
  same_as_pyarrow(pq_fixture("rg1.parquet"), NULL);
  same_as_pyarrow(pq_fixture("big.parquet"), NULL);
}

Test(parquet_read, projection_reads_only_the_chosen_columns) {
  same_as_pyarrow(pq_fixture("c_zstd_v2_dict.parquet"), "s,tok,i64");
  weir_pipeline *p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.columns = "tok,s";
  weir_block *b;
  cr_assert_eq(pq_collect(p, weir_read_parquet(p, pq_fixture("c_zstd_v1_dict.parquet"), &o), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_columns(b), 2);
  cr_assert_eq(weir_block_num_rows(b), 1000);
  weir_column c;
  weir_block_column(b, 1, &c);
  cr_assert_str_eq(c.name, "tok"); /* the file's order (s, tok), not the option's */
  cr_assert_eq(c.type, WEIR_TYPE_LIST);
  cr_assert_eq(c.dtype, WEIR_DTYPE_INT32);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  /* A column that is not there. */
  p = pq_pipeline();
  o.columns = "tok,nope";
  cr_assert_null(weir_read_parquet(p, pq_fixture("c_zstd_v1_dict.parquet"), &o));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_ENOTFOUND);
  cr_assert(strstr(weir_pipeline_errmsg(p), "nope"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

static uint64_t task_count(weir_pipeline *p) {
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 0, &st), WEIR_OK);
  return st.tasks;
}

Test(parquet_read, filter_skips_row_groups_and_filters_rows) {
  weir_pipeline *p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.filter = "score >= 0.45 and lang = 'fr' and score < 0.8";
  o.columns = "id";
  weir_block *b;
  cr_assert_eq(pq_collect(p, weir_read_parquet(p, pq_fixture("filter.parquet"), &o), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  /* Rows 450..799 of the fr groups (100-199, 300-399, 500-599, 700-799):
   * 500..599 and 700..799. */
  cr_assert_eq(weir_block_num_columns(b), 1);
  cr_assert_eq(weir_block_num_rows(b), 200);
  weir_column c;
  weir_block_column(b, 0, &c);
  cr_assert_eq(((const int64_t *)c.data)[0], 500);
  cr_assert_eq(((const int64_t *)c.data)[199], 799);
  /* Of the 10 row groups, statistics leave 5, 6 and 7 (score) of which
   * lang leaves 5 and 7. */
  cr_assert_eq(task_count(p), 2);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  p = pq_pipeline();
  o.filter = "score >";
  cr_assert_null(weir_read_parquet(p, pq_fixture("filter.parquet"), &o));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  weir_pipeline_destroy(p);
}

/* Files with a page index (pyarrow's write_page_index=True) read as
 * pyarrow reads them, and filter as the same rows without one do. */
Test(parquet_read, files_with_a_page_index) {
  same_as_pyarrow(pq_fixture("pageidx.parquet"), NULL);
  same_as_pyarrow_rows(pq_fixture("pageidx.parquet"), NULL, 41);
  weir_pipeline *p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.filter = "score >= 0.45 and lang = 'fr' and score < 0.8";
  o.columns = "id";
  weir_block *b;
  cr_assert_eq(pq_collect(p, weir_read_parquet(p, pq_fixture("filter_pageidx.parquet"), &o), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 200);
  cr_assert_eq(task_count(p), 2);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(parquet_read, datasets_in_folders_and_conflicts) {
  weir_pipeline *p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.include_path = 1;
  o.columns = "req,s";
  weir_block *b;
  cr_assert_eq(pq_collect(p, weir_read_parquet(p, pq_fixture("ds"), &o), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 200);
  int pc = weir_block_column_index(b, "path");
  cr_assert_geq(pc, 0);
  weir_column c;
  weir_block_column(b, (size_t)pc, &c);
  cr_assert(strstr((const char *)c.data + c.offsets[199], "b.parquet"));
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  p = pq_pipeline();
  cr_assert_null(weir_read_parquet(p, pq_fixture("mixed"), NULL));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EFORMAT);
  const char *m = weir_pipeline_errmsg(p);
  cr_assert(strstr(m, "a.parquet") && strstr(m, "b.parquet"), "%s", m);
  weir_pipeline_destroy(p);
}

/* Timestamps of every unit with and without UTC adjustment (as int64 in
 * the file's unit), dates, times, decimals stored as INT32, INT64 and
 * FIXED_LEN_BYTE_ARRAY, and lists of strings and booleans (as the JSON
 * text of the list) against pyarrow, v1 and v2 pages, dictionary or not. */
Test(parquet_read, timestamps_times_decimals_and_lists_of_strings_and_bools) {
  const char *files[] = {"types_v1_dict.parquet", "types_v1_plain.parquet",
                         "types_v2_dict.parquet", "types_v2_plain.parquet"};
  for (int i = 0; i < 4; i++) {
    same_as_pyarrow(pq_fixture(files[i]), NULL);
    same_as_pyarrow_rows(pq_fixture(files[i]), NULL, 13);
  }
  weir_pipeline *p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.columns = "ts_ns_utc,ls,lb";
  weir_block *b;
  cr_assert_eq(pq_collect(p, weir_read_parquet(p, pq_fixture("types_v2_dict.parquet"), &o), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_column c;
  weir_block_column(b, 0, &c);
  cr_assert_eq(c.type, WEIR_TYPE_INT64);
  cr_assert_eq(((const int64_t *)c.data)[1], 1700000000000000000LL + 1234567891LL);
  weir_block_column(b, 1, &c);
  cr_assert_eq(c.type, WEIR_TYPE_STRING);
  /* Row 2: [null, 'w"2\ é' + newline] */
  const char *want = "[null,\"w\\\"2\\\\ \xc3\xa9\\n\"]";
  cr_assert_eq(c.offsets[3] - c.offsets[2], (int64_t)strlen(want));
  cr_assert(!memcmp((const char *)c.data + c.offsets[2], want, strlen(want)), "%.*s",
            (int)(c.offsets[3] - c.offsets[2]), (const char *)c.data + c.offsets[2]);
  cr_assert(!weir_block_is_valid(b, 1, 3)); /* a null list */
  cr_assert_eq(c.offsets[1] - c.offsets[0], 2); /* row 0: [] */
  weir_block_column(b, 2, &c);
  cr_assert_eq(c.type, WEIR_TYPE_STRING);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(parquet_read, structs_are_refused_by_name_and_lists_of_strings_read) {
  weir_pipeline *p = pq_pipeline();
  cr_assert_null(weir_read_parquet(p, pq_fixture("nested.parquet"), NULL));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_ENOTSUP);
  cr_assert(strstr(weir_pipeline_errmsg(p), "'st'"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  p = pq_pipeline();
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.columns = "ls,id";
  weir_block *b;
  cr_assert_eq(pq_collect(p, weir_read_parquet(p, pq_fixture("nested.parquet"), &o), &b), WEIR_OK,
               "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 2);
  weir_column c;
  weir_block_column(b, (size_t)weir_block_column_index(b, "ls"), &c);
  cr_assert_eq(c.offsets[2] - c.offsets[1], 9);
  cr_assert(!memcmp((const char *)c.data + c.offsets[1], "[\"y\",\"z\"]", 9));
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}
