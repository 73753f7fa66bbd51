/* Writing an output again leaves exactly the new run's files: shards of
 * another compression or of the other layout go, files that are not
 * weir's stay; and writer names or options that cannot mean what the
 * caller wants are refused instead of silently reinterpreted. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <weir.h>

#include "test_exec_util.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("io-rewrite"); }
TestSuite(io_rewrite, .init = make_tmp, .fini = tmpdir_remove, .timeout = 120);

/* Writes `tasks` x 100 ids to `uri` as JSONL. */
static void write_ids(const char *uri, size_t tasks, int compression, uint64_t shard_rows) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  static eu_src s;
  memset(&s, 0, sizeof s);
  s.tasks = tasks;
  s.blocks_per_task = 1;
  s.rows = 100;
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_write_options wo = WEIR_WRITE_OPTIONS_INIT;
  wo.compression = compression;
  wo.shard_rows = shard_rows;
  weir_op *w = weir_write_jsonl(p, src, uri, &wo);
  cr_assert_not_null(w, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

static size_t rows_read(const char *uri) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *r = weir_read_jsonl(p, uri, NULL);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, r, NULL, &it), WEIR_OK);
  size_t rows = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    rows += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  return rows;
}

static size_t files_in(const char *dir) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

Test(io_rewrite, a_folder_rewritten_with_zstd_holds_only_the_new_shards) {
  char d[700];
  snprintf(d, sizeof d, "%s", path_of("d"));
  write_ids(d, 4, WEIR_COMPRESS_NONE, 150);
  cr_assert_eq(files_in(d), 3);
  /* Not weir's names: they must survive. */
  FILE *f = fopen(path_of("d/notes.txt"), "w");
  fputs("mine\n", f);
  fclose(f);
  f = fopen(path_of("d/part-old.jsonl"), "w");
  fclose(f);
  write_ids(d, 2, WEIR_COMPRESS_ZSTD, 0);
  cr_assert(exists(path_of("d/part-00000.jsonl.zst")));
  cr_assert_not(exists(path_of("d/part-00000.jsonl")));
  cr_assert_not(exists(path_of("d/part-00001.jsonl")));
  cr_assert(exists(path_of("d/notes.txt")));
  cr_assert(exists(path_of("d/part-old.jsonl")));
  cr_assert_eq(files_in(d), 3);
  remove(path_of("d/notes.txt"));
  remove(path_of("d/part-old.jsonl"));
  cr_assert_eq(rows_read(d), 200);
}

Test(io_rewrite, a_file_output_switching_layouts_leaves_one_layout) {
  char out[700];
  snprintf(out, sizeof out, "%s", path_of("o/f.jsonl"));
  mkdir(path_of("o"), 0755);
  write_ids(out, 5, 0, 100);
  cr_assert(exists(path_of("o/f-00004.jsonl")));
  write_ids(out, 3, 0, 0);
  cr_assert(exists(path_of("o/f.jsonl")));
  cr_assert_eq(files_in(path_of("o")), 1);
  cr_assert_eq(rows_read(path_of("o")), 300);
  write_ids(out, 2, 0, 100);
  cr_assert_not(exists(path_of("o/f.jsonl")));
  cr_assert_eq(files_in(path_of("o")), 2);
  cr_assert_eq(rows_read(path_of("o")), 200);
  /* The same name compressed is another file the caller named: the
   * plain shards stay. */
  write_ids(path_of("o/f.jsonl.zst"), 1, 0, 0);
  cr_assert_eq(files_in(path_of("o")), 3);
}

Test(io_rewrite, writer_refuses_names_and_options_it_would_ignore) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  static eu_src s = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  weir_op *src = weir_source(p, "src", 1, eu_read, &s, NULL);
  cr_assert_null(weir_write_jsonl(p, src, path_of("x.csv"), NULL));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "x.csv") && strstr(weir_pipeline_errmsg(p), ".jsonl"),
            "%s", weir_pipeline_errmsg(p));
  cr_assert_null(weir_write_csv(p, src, path_of("y.jsonl.zst"), NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "write_csv"), "%s", weir_pipeline_errmsg(p));

  weir_write_options wo = WEIR_WRITE_OPTIONS_INIT;
  wo.compression = WEIR_COMPRESS_ZSTD;
  cr_assert_null(weir_write_jsonl(p, src, path_of("plain.jsonl"), &wo));
  cr_assert(strstr(weir_pipeline_errmsg(p), "plain.jsonl.zst"), "%s", weir_pipeline_errmsg(p));
  wo.compression = WEIR_COMPRESS_GZIP;
  cr_assert_null(weir_write_jsonl(p, src, path_of("z.jsonl.zst"), &wo));
  /* What stays accepted: a suffix that agrees, a folder, compression 0. */
  wo.compression = WEIR_COMPRESS_ZSTD;
  cr_assert_not_null(weir_write_jsonl(p, src, path_of("ok.jsonl.zst"), &wo),
                     "%s", weir_pipeline_errmsg(p));
  cr_assert_not_null(weir_write_jsonl(p, src, path_of("folder"), &wo), "%s",
                     weir_pipeline_errmsg(p));
  cr_assert_not_null(weir_write_jsonl(p, src, path_of("plain2.jsonl"), NULL), "%s",
                     weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  cr_assert_not(exists(path_of("x.csv")));
}
