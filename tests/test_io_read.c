/* The file readers through real pipelines: JSONL edge cases (escapes,
 * unicode, blank and very long lines, bad JSON with file:line, the skip
 * policy's counts), compressed inputs made by the zstd and gzip CLIs,
 * truncated ones, byte-range tasks, CSV quoting, text lines and whole
 * binary files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <weir.h>
#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("io-read"); }

TestSuite(io_read, .init = make_tmp, .fini = tmpdir_remove, .timeout = 60);

static int have_cli(const char *name) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

static weir_pipeline *new_pipeline(void) {
  weir_pipeline *p;
  weir_pipeline_options o = {.version = WEIR_PIPELINE_OPTIONS_VERSION, .num_cpus = 2};
  cr_assert_eq(weir_pipeline_create(&p, &o), WEIR_OK);
  return p;
}

/* Runs `op` and concatenates every block it yields, in order (the
 * collecting operator asks for order). */
static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

static int collect(weir_pipeline *p, weir_op *op, weir_block **all) {
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_op_options oo = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0,
                        .preserve_order = 1};
  op = weir_map_batches(p, op, "in_order", pass, NULL, &oo);
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  int rc = weir_pipeline_iter(p, op, NULL, &it);
  cr_assert_eq(rc, WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_block **bs = NULL;
  size_t n = 0;
  weir_block *b;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    bs = realloc(bs, (n + 1) * sizeof *bs);
    bs[n++] = b;
  }
  weir_iter_destroy(it);
  *all = NULL;
  if (rc == WEIR_EOF) {
    rc = WEIR_OK;
    if (n) cr_assert_eq(weir_block_concat(bs, n, all), WEIR_OK);
  }
  for (size_t i = 0; i < n; i++) weir_block_unref(&bs[i]);
  free(bs);
  return rc;
}

static const char *str_at(const weir_block *b, const char *col, size_t row, size_t *len) {
  int c = weir_block_column_index(b, col);
  cr_assert_geq(c, 0, "no column %s", col);
  weir_column v;
  weir_block_column(b, (size_t)c, &v);
  cr_assert(v.type == WEIR_TYPE_STRING || v.type == WEIR_TYPE_BINARY);
  *len = (size_t)(v.offsets[row + 1] - v.offsets[row]);
  return (const char *)v.data + v.offsets[row];
}

static int64_t i64_at(const weir_block *b, const char *col, size_t row) {
  int c = weir_block_column_index(b, col);
  cr_assert_geq(c, 0, "no column %s", col);
  weir_column v;
  weir_block_column(b, (size_t)c, &v);
  cr_assert_eq(v.type, WEIR_TYPE_INT64, "%s is %s", col, weir_type_name(v.type));
  return ((const int64_t *)v.data)[row];
}

static int type_of(const weir_block *b, const char *col) {
  int c = weir_block_column_index(b, col);
  cr_assert_geq(c, 0, "no column %s", col);
  weir_column v;
  weir_block_column(b, (size_t)c, &v);
  return v.type;
}

Test(io_read, jsonl_edge_cases) {
  /* Escapes, unicode, blank lines, CRLF, a line over 1 MB. */
  size_t big = (1u << 20) + 12345;
  char *longtext = malloc(big + 1);
  for (size_t i = 0; i < big; i++) longtext[i] = (char)('a' + i % 26);
  longtext[big] = 0;
  size_t cap = big + 4096, n = 0;
  char *s = malloc(cap);
  n += (size_t)snprintf(s + n, cap - n, "\xef\xbb\xbf{\"id\": 1, \"text\": \"tab\\there \\\"q\\\" \\u00e9 \\ud83d\\ude00\", \"score\": 1}\n");
  n += (size_t)snprintf(s + n, cap - n, "\n   \n");
  n += (size_t)snprintf(s + n, cap - n, "{\"id\": 2, \"text\": \"日本語\", \"score\": 2.5, \"meta\": {\"a\": [1, {\"b\": null}]}}\r\n");
  n += (size_t)snprintf(s + n, cap - n, "{\"id\": 3, \"text\": \"%s\", \"score\": null}\n", longtext);
  n += (size_t)snprintf(s + n, cap - n, "{\"text\": \"no id\", \"id\": null}");
  write_file(path_of("e.jsonl"), s, n);
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_jsonl(p, path_of("e.jsonl"), NULL), &b), WEIR_OK,
               "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 4);
  cr_assert_eq(type_of(b, "id"), WEIR_TYPE_INT64);
  cr_assert_eq(type_of(b, "score"), WEIR_TYPE_FLOAT64, "int64 widened by 2.5");
  cr_assert_eq(type_of(b, "meta"), WEIR_TYPE_STRING);
  size_t len;
  const char *t = str_at(b, "text", 0, &len);
  const char *want = "tab\there \"q\" é \xf0\x9f\x98\x80";
  cr_assert_eq(len, strlen(want));
  cr_assert(memcmp(t, want, len) == 0);
  t = str_at(b, "text", 1, &len);
  cr_assert_eq(len, strlen("日本語"));
  t = str_at(b, "meta", 1, &len);
  cr_assert_eq(len, strlen("{\"a\": [1, {\"b\": null}]}"));
  cr_assert(memcmp(t, "{\"a\": [1, {\"b\": null}]}", len) == 0);
  t = str_at(b, "text", 2, &len);
  cr_assert_eq(len, big);
  cr_assert(memcmp(t, longtext, big) == 0);
  cr_assert_eq(i64_at(b, "id", 2), 3);
  cr_assert(!weir_block_is_valid(b, (size_t)weir_block_column_index(b, "id"), 3));
  cr_assert(!weir_block_is_valid(b, (size_t)weir_block_column_index(b, "score"), 2));
  cr_assert(!weir_block_is_valid(b, (size_t)weir_block_column_index(b, "meta"), 0));
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  free(s);
  free(longtext);
}

static void write_rows(const char *path, size_t rows, size_t bad_every) {
  size_t cap = rows * 96 + 64, n = 0;
  char *s = malloc(cap);
  for (size_t i = 0; i < rows; i++) {
    if (bad_every && i % bad_every == bad_every - 1)
      n += (size_t)snprintf(s + n, cap - n, "{\"id\": %zu, \"text\": \"broken}\n", i);
    else
      n += (size_t)snprintf(s + n, cap - n, "{\"id\": %zu, \"text\": \"row %zu\", \"f\": %zu.5}\n", i, i, i);
  }
  write_file(path, s, n);
  free(s);
}

Test(io_read, bad_json_names_file_and_line) {
  write_rows(path_of("bad.jsonl"), 100, 0);
  /* Line 57 breaks. */
  FILE *f = fopen(path_of("bad.jsonl"), "a");
  fprintf(f, "{\"id\": 100, \"text\": \"fine\", \"f\": 1.5}\n");
  fclose(f);
  char cmd[800];
  snprintf(cmd, sizeof cmd, "sed -i '57s/.*/{\"id\": 56, \"text\": oops}/' '%s'", path_of("bad.jsonl"));
  cr_assert_eq(system(cmd), 0);
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  int rc = collect(p, weir_read_jsonl(p, path_of("bad.jsonl"), NULL), &b);
  cr_assert_eq(rc, WEIR_EFORMAT, "rc %d", rc);
  char where[800];
  snprintf(where, sizeof where, "%s:57", path_of("bad.jsonl"));
  cr_assert(strstr(weir_pipeline_errmsg(p), where), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(io_read, skip_policy_counts_bad_lines) {
  write_rows(path_of("s.jsonl"), 1000, 10);
  weir_pipeline *p = new_pipeline();
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .on_error = WEIR_ON_ERROR_SKIP,
                         .rows_per_block = 64};
  weir_op *op = weir_read_jsonl(p, path_of("s.jsonl"), &o);
  weir_block *b;
  cr_assert_eq(collect(p, op, &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 900);
  uint64_t skipped = 0;
  for (int i = 0; i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats st;
    cr_assert_eq(weir_pipeline_op_stats(p, i, &st), WEIR_OK);
    skipped += st.skipped_rows;
  }
  cr_assert_eq(skipped, 100);
  for (size_t r = 0; r < 900; r++) {
    int64_t id = i64_at(b, "id", r);
    cr_assert_neq(id % 10, 9, "bad line %lld got through", (long long)id);
  }
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

static int64_t sum_ids(const weir_block *b) {
  int64_t s = 0;
  for (size_t r = 0; r < weir_block_num_rows(b); r++) s += i64_at(b, "id", r);
  return s;
}

Test(io_read, compressed_inputs_and_truncation) {
  if (!have_cli("zstd") || !have_cli("gzip")) srv_missing("the zstd or gzip CLI is not installed (apt-get install zstd gzip)");
  write_rows(path_of("c.jsonl"), 20000, 0);
  char cmd[2000];
  snprintf(cmd, sizeof cmd, "zstd -q -k '%s' -o '%s' && gzip -k -c '%s' > '%s'",
           path_of("c.jsonl"), path_of("c.jsonl.zst"), path_of("c.jsonl"), path_of("c.jsonl.gz"));
  cr_assert_eq(system(cmd), 0);
  const char *names[] = {"c.jsonl", "c.jsonl.zst", "c.jsonl.gz"};
  for (int k = 0; k < 3; k++) {
    weir_pipeline *p = new_pipeline();
    weir_block *b;
    cr_assert_eq(collect(p, weir_read_jsonl(p, path_of(names[k]), NULL), &b), WEIR_OK,
                 "%s: %s", names[k], weir_pipeline_errmsg(p));
    cr_assert_eq(weir_block_num_rows(b), 20000, "%s", names[k]);
    cr_assert_eq(sum_ids(b), 20000LL * 19999 / 2);
    weir_block_unref(&b);
    weir_pipeline_destroy(p);
  }
  for (int k = 1; k < 3; k++) {
    struct stat st;
    stat(path_of(names[k]), &st);
    cr_assert_eq(truncate(path_of(names[k]), st.st_size * 2 / 3), 0);
    weir_pipeline *p = new_pipeline();
    weir_block *b;
    int rc = collect(p, weir_read_jsonl(p, path_of(names[k]), NULL), &b);
    cr_assert_eq(rc, WEIR_EFORMAT, "truncated %s gave %d", names[k], rc);
    cr_assert(strstr(weir_pipeline_errmsg(p), names[k]) &&
              strstr(weir_pipeline_errmsg(p), "truncated"), "%s", weir_pipeline_errmsg(p));
    weir_block_unref(&b);
    weir_pipeline_destroy(p);
  }
}

Test(io_read, byte_ranges_and_globs_read_every_row_once) {
  for (int f = 0; f < 3; f++) {
    char name[64];
    snprintf(name, sizeof name, "g/part-%d.jsonl", f);
    write_rows(path_of(name), 3000, 0);
  }
  write_str(path_of("g/notes.txt"), "not jsonl\n");
  weir_pipeline *p = new_pipeline();
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .range_bytes = 10000,
                         .include_path = 1, .rows_per_block = 100};
  weir_block *b;
  char glob[700];
  snprintf(glob, sizeof glob, "%s/g/*.jsonl", tmpdir);
  cr_assert_eq(collect(p, weir_read_jsonl(p, glob, &o), &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 9000);
  cr_assert_eq(sum_ids(b), 3 * (3000LL * 2999 / 2));
  /* In order: file by file, row by row. */
  for (size_t r = 0; r < 9000; r++) cr_assert_eq(i64_at(b, "id", r), (int64_t)(r % 3000));
  size_t len;
  const char *pth = str_at(b, "path", 8999, &len);
  cr_assert(memmem(pth, len, "part-2.jsonl", 12), "%.*s", (int)len, pth);
  weir_op_stats st;
  weir_pipeline_op_stats(p, 0, &st);
  cr_assert_gt(st.tasks, 3, "big files split into byte ranges");
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(io_read, empty_inputs) {
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  char glob[700];
  snprintf(glob, sizeof glob, "%s/*.jsonl", tmpdir);
  cr_assert_null(weir_read_jsonl(p, glob, NULL), "a glob matching nothing is an error");
  cr_assert(strstr(weir_pipeline_errmsg(p), "no input matches") != NULL, "%s",
            weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  write_str(path_of("empty.jsonl"), "");
  write_str(path_of("blank.jsonl"), "\n\n  \n");
  p = new_pipeline();
  cr_assert_eq(collect(p, weir_read_jsonl(p, glob, NULL), &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert(b == NULL || weir_block_num_rows(b) == 0);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(io_read, given_columns_fix_types) {
  write_str(path_of("t.jsonl"), "{\"a\": 1, \"b\": \"x\", \"c\": true}\n{\"a\": 2, \"b\": \"y\", \"extra\": 5}\n");
  weir_pipeline *p = new_pipeline();
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .columns = "a:float64, c:bool, b:string"};
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_jsonl(p, path_of("t.jsonl"), &o), &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_columns(b), 3);
  cr_assert_eq(type_of(b, "a"), WEIR_TYPE_FLOAT64);
  cr_assert_eq(type_of(b, "c"), WEIR_TYPE_BOOL);
  cr_assert_eq(weir_block_column_index(b, "extra"), WEIR_ENOTFOUND);
  cr_assert(!weir_block_is_valid(b, 1, 1));
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  p = new_pipeline();
  o.columns = "a:int128";
  cr_assert_null(weir_read_jsonl(p, path_of("t.jsonl"), &o));
  cr_assert(strstr(weir_pipeline_errmsg(p), "int128"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  p = new_pipeline();
  cr_assert_null(weir_read_jsonl(p, path_of("missing.jsonl"), NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "missing.jsonl"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(io_read, csv_quoting_and_types) {
  write_str(path_of("q.csv"),
            "\xef\xbb\xbfid,name,score,ok,note\r\n"
            "1,plain,1.5,true,\r\n"
            "2,\"with, comma\",2,false,\"multi\nline\"\n"
            "3,\"quote \"\"inside\"\"\",,TRUE,\"\"\n"
            "\n"
            "4,é,4.25,false,x\n");
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_csv(p, path_of("q.csv"), NULL), &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 4);
  cr_assert_eq(type_of(b, "id"), WEIR_TYPE_INT64);
  cr_assert_eq(type_of(b, "score"), WEIR_TYPE_FLOAT64);
  cr_assert_eq(type_of(b, "ok"), WEIR_TYPE_BOOL);
  cr_assert_eq(type_of(b, "name"), WEIR_TYPE_STRING);
  size_t len;
  const char *s = str_at(b, "name", 1, &len);
  cr_assert_eq(len, 11);
  cr_assert(memcmp(s, "with, comma", 11) == 0);
  s = str_at(b, "name", 2, &len);
  cr_assert_eq(len, strlen("quote \"inside\""));
  s = str_at(b, "note", 1, &len);
  cr_assert_eq(len, 10);
  cr_assert(memcmp(s, "multi\nline", 10) == 0);
  int note = weir_block_column_index(b, "note");
  cr_assert(!weir_block_is_valid(b, (size_t)note, 0), "empty field: null");
  cr_assert(weir_block_is_valid(b, (size_t)note, 2), "quoted empty field: empty string");
  cr_assert(!weir_block_is_valid(b, (size_t)weir_block_column_index(b, "score"), 2));
  cr_assert_eq(i64_at(b, "id", 3), 4);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  /* A wrong field count names the line; the multi-line record counts. */
  write_str(path_of("w.csv"), "a,b\n1,\"x\ny\"\n2,3,4\n");
  p = new_pipeline();
  cr_assert_eq(collect(p, weir_read_csv(p, path_of("w.csv"), NULL), &b), WEIR_EFORMAT);
  char where[800];
  snprintf(where, sizeof where, "%s:4", path_of("w.csv"));
  cr_assert(strstr(weir_pipeline_errmsg(p), where), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  /* No header, another delimiter, the path of each row. */
  write_str(path_of("n.tsv"), "1\tx\n2\ty\n");
  p = new_pipeline();
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .csv_no_header = 1, .csv_delimiter = '\t',
                         .include_path = 1};
  cr_assert_eq(collect(p, weir_read_csv(p, path_of("n.tsv"), &o), &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 2);
  cr_assert_eq(i64_at(b, "c0", 1), 2);
  s = str_at(b, "c1", 0, &len);
  cr_assert_eq(len, 1);
  s = str_at(b, "path", 1, &len);
  cr_assert(len == strlen(path_of("n.tsv")) && memcmp(s, path_of("n.tsv"), len) == 0);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(io_read, text_lines_and_binary_files) {
  write_str(path_of("l.txt"), "first\r\nsecond\n\nfourth é");
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  weir_read_options to = {.version = WEIR_READ_OPTIONS_VERSION, .include_path = 1};
  cr_assert_eq(collect(p, weir_read_text(p, path_of("l.txt"), &to), &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 4);
  size_t len;
  const char *pth = str_at(b, "path", 3, &len);
  cr_assert(len == strlen(path_of("l.txt")) && memcmp(pth, path_of("l.txt"), len) == 0);
  const char *s = str_at(b, "text", 0, &len);
  cr_assert_eq(len, 5, "CR stripped");
  s = str_at(b, "text", 2, &len);
  cr_assert_eq(len, 0);
  s = str_at(b, "text", 3, &len);
  cr_assert(len == strlen("fourth é") && memcmp(s, "fourth é", len) == 0);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  /* Invalid UTF-8 in a text line: file:line, or skipped and counted. */
  write_str(path_of("u.txt"), "ok\nbad \xff\xfe here\nok\n");
  p = new_pipeline();
  cr_assert_eq(collect(p, weir_read_text(p, path_of("u.txt"), NULL), &b), WEIR_EFORMAT);
  char where[800];
  snprintf(where, sizeof where, "%s:2", path_of("u.txt"));
  cr_assert(strstr(weir_pipeline_errmsg(p), where), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  unsigned char bin[3000];
  for (size_t i = 0; i < sizeof bin; i++) bin[i] = (unsigned char)(i * 31 + 7);
  write_file(path_of("bin/a.dat"), bin, sizeof bin);
  write_file(path_of("bin/b.dat"), bin, 10);
  write_file(path_of("bin/c.dat"), bin, 0);
  p = new_pipeline();
  cr_assert_eq(collect(p, weir_read_binary(p, path_of("bin"), NULL), &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 3);
  size_t sizes[] = {3000, 10, 0};
  for (size_t r = 0; r < 3; r++) {
    s = str_at(b, "bytes", r, &len);
    cr_assert_eq(len, sizes[r]);
    cr_assert(memcmp(s, bin, len) == 0);
    s = str_at(b, "path", r, &len);
    cr_assert_eq(s[len - 5], "abc"[r]);
  }
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

/* Sum of a counter over every operator of `p`. */
static uint64_t total_skipped_inputs(const weir_pipeline *p) {
  uint64_t n = 0;
  for (int i = 0; i < weir_pipeline_num_ops(p); i++) {
    weir_op_stats st;
    cr_assert_eq(weir_pipeline_op_stats(p, i, &st), WEIR_OK);
    n += st.skipped_inputs;
  }
  return n;
}

Test(io_read, skip_policy_gives_up_corrupt_inputs_and_counts_them) {
  if (!have_cli("gzip")) srv_missing("the gzip CLI is not installed");
  /* A truncated input sorts first, so it is also the one the columns would
   * be inferred from; a good input follows. */
  write_rows(path_of("b.jsonl"), 300, 0);
  write_rows(path_of("a.jsonl"), 20000, 0);
  write_str(path_of("b.csv"), "id,text\n1,x\n2,y\n3,z\n");
  write_str(path_of("a.csv"), "id,text\n");
  FILE *f = fopen(path_of("a.csv"), "a");
  for (int i = 0; i < 20000; i++) fprintf(f, "%d,row %d\n", i, i);
  fclose(f);
  char cmd[2000];
  snprintf(cmd, sizeof cmd, "gzip '%s' '%s' && truncate -s 2000 '%s.gz' '%s.gz'",
           path_of("a.jsonl"), path_of("a.csv"), path_of("a.jsonl"), path_of("a.csv"));
  cr_assert_eq(system(cmd), 0);
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .on_error = WEIR_ON_ERROR_SKIP};
  const char *patterns[] = {"*.jsonl*", "*.csv*"};
  for (int k = 0; k < 2; k++) {
    char glob[800];
    snprintf(glob, sizeof glob, "%s/%s", tmpdir, patterns[k]);
    weir_pipeline *p = new_pipeline();
    weir_op *op = k == 0 ? weir_read_jsonl(p, glob, &o) : weir_read_csv(p, glob, &o);
    weir_block *b;
    cr_assert_eq(collect(p, op, &b), WEIR_OK, "%s: %s", patterns[k], weir_pipeline_errmsg(p));
    /* Every row of the good input, and whatever came before the damage in
     * the truncated one. */
    size_t good = k == 0 ? 300 : 3;
    cr_assert_geq(weir_block_num_rows(b), good, "%s", patterns[k]);
    cr_assert_lt(weir_block_num_rows(b), good + 20000);
    cr_assert_eq(total_skipped_inputs(p), 1, "%s: the truncated input is counted", patterns[k]);
    weir_block_unref(&b);
    weir_pipeline_destroy(p);
    /* Without the policy the same inputs fail, naming the file. */
    p = new_pipeline();
    op = k == 0 ? weir_read_jsonl(p, glob, NULL) : weir_read_csv(p, glob, NULL);
    cr_assert_eq(collect(p, op, &b), WEIR_EFORMAT);
    cr_assert(strstr(weir_pipeline_errmsg(p), k == 0 ? "a.jsonl.gz" : "a.csv.gz"), "%s",
              weir_pipeline_errmsg(p));
    weir_block_unref(&b);
    weir_pipeline_destroy(p);
  }
}
