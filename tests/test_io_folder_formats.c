/* A reader given a folder takes the files of its format (plain or
 * compressed); a file named on its own or a glob is taken as given. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <weir.h>

#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("io-folder-formats"); }
TestSuite(io_folder_formats, .init = make_tmp, .fini = tmpdir_remove, .timeout = 60);

static void put(const char *name, const char *text) {
  FILE *f = fopen(path_of(name), "w");
  cr_assert_not_null(f, "%s", name);
  fputs(text, f);
  fclose(f);
}

/* Rows read from `uri` by `reader`, or -code when the reader or run
 * fails (its message in msg). */
static long rows_of(weir_op *(*reader)(weir_pipeline *, const char *, const weir_read_options *),
                    const char *uri, char *msg, size_t len) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *r = reader(p, uri, NULL);
  long rows;
  if (!r) {
    rows = weir_pipeline_errcode(p);
  } else {
    cr_assert_eq(weir_pipeline_run(p, r), WEIR_OK, "%s: %s", uri, weir_pipeline_errmsg(p));
    weir_op_stats st;
    cr_assert_eq(weir_pipeline_op_stats(p, weir_op_index(r), &st), WEIR_OK);
    rows = (long)st.rows_out;
  }
  snprintf(msg, len, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  return rows;
}

/* Two JSONL rows, compressed, through weir's own writer. */
static void write_jsonl_zst(const char *dir) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_read_jsonl(p, path_of("seed.jsonl"), NULL);
  weir_write_options wo = WEIR_WRITE_OPTIONS_INIT;
  wo.compression = WEIR_COMPRESS_ZSTD;
  weir_op *w = weir_write_jsonl(p, src, dir, &wo);
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(io_folder_formats, a_folder_gives_each_reader_its_own_files) {
  put("seed.jsonl", "{\"a\": 1}\n{\"a\": 2}\n");
  mkdir(path_of("d"), 0755);
  write_jsonl_zst(path_of("d"));
  put("d/table.csv", "x,y\n1,2\n3,4\n5,6\n");
  put("d/notes.txt", "not json, not csv\n");
  char msg[1024];
  cr_assert_eq(rows_of(weir_read_jsonl, path_of("d"), msg, sizeof msg), 2, "%s", msg);
  cr_assert_eq(rows_of(weir_read_csv, path_of("d"), msg, sizeof msg), 3, "%s", msg);
  /* Text takes every file: lines are lines. */
  cr_assert_gt(rows_of(weir_read_text, path_of("d"), msg, sizeof msg), 4, "%s", msg);
}

Test(io_folder_formats, a_named_file_or_a_glob_is_taken_as_given) {
  char msg[1024];
  mkdir(path_of("e"), 0755);
  put("e/rows.log", "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n");
  cr_assert_eq(rows_of(weir_read_jsonl, path_of("e/rows.log"), msg, sizeof msg), 3, "%s", msg);
  cr_assert_eq(rows_of(weir_read_jsonl, path_of("e/*.log"), msg, sizeof msg), 3, "%s", msg);
}

Test(io_folder_formats, a_folder_without_the_format_says_so) {
  mkdir(path_of("f"), 0755);
  put("f/a.csv", "x\n1\n");
  put("f/b.csv", "x\n2\n");
  char msg[1024];
  cr_assert_eq(rows_of(weir_read_jsonl, path_of("f"), msg, sizeof msg), WEIR_ENOTFOUND);
  cr_assert(strstr(msg, "2 files") && strstr(msg, ".jsonl"), "%s", msg);
}
