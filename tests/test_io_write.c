/* The writers: JSONL, CSV and block files read back equal to what went
 * in; shards cut by rows and by bytes; a writer killed mid-run and re-run
 * with resume leaves exactly the output of a clean run. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <weir.h>
#include "servers/servers.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("io-write"); }

TestSuite(io_write, .init = make_tmp, .fini = tmpdir_remove, .timeout = 120);

static weir_pipeline *new_pipeline(void) {
  weir_pipeline *p;
  weir_pipeline_options o = {.version = WEIR_PIPELINE_OPTIONS_VERSION, .num_cpus = 2};
  cr_assert_eq(weir_pipeline_create(&p, &o), WEIR_OK);
  return p;
}

/* Source task k makes rows [k * ROWS, (k + 1) * ROWS) with every type. */
#define ROWS 250
static int slow_ms;

static int gen_task(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *bld;
  weir_builder_create(&bld);
  weir_builder_add_column(bld, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "x", WEIR_TYPE_FLOAT64);
  weir_builder_add_column(bld, "ok", WEIR_TYPE_BOOL);
  weir_builder_add_column(bld, "s", WEIR_TYPE_STRING);
  weir_builder_add_column(bld, "bin", WEIR_TYPE_BINARY);
  int64_t shape[2] = {2, 2};
  weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_FLOAT32, 2, shape);
  weir_builder_add_column(bld, "i32", WEIR_TYPE_INT32);
  for (size_t r = 0; r < ROWS; r++) {
    int64_t id = (int64_t)(task * ROWS + r);
    weir_builder_append_int64(bld, 0, id);
    if (id % 11 == 3) weir_builder_append_null(bld, 1);
    else weir_builder_append_float64(bld, 1, (double)id / 7);
    weir_builder_append_bool(bld, 2, id % 3 == 0);
    char s[96];
    int n = snprintf(s, sizeof s, "row %lld, \"quoted\"\n é %s", (long long)id,
                     id % 5 ? "" : "five");
    if (id % 13 == 4) weir_builder_append_null(bld, 3);
    else weir_builder_append_string(bld, 3, s, (size_t)n);
    weir_builder_append_string(bld, 4, s, (size_t)(id % 9));
    float t[4] = {(float)id, 0.5f, -1.0f, (float)id / 4};
    weir_builder_append_tensor(bld, 5, t);
    weir_builder_append_int64(bld, 6, (int64_t)(id % 1000) - 500);
  }
  weir_block *b;
  int rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  if (rc) return rc;
  if (slow_ms) {
    struct timespec ts = {0, slow_ms * 1000000L};
    nanosleep(&ts, NULL);
  }
  return weir_emit_block(out, b);
}

static int run_write(const char *kind, const char *uri, size_t tasks,
                     const weir_write_options *o, char *err, size_t errlen) {
  weir_pipeline *p = new_pipeline();
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  weir_op *src = weir_source(p, "gen", tasks, gen_task, NULL, &so);
  weir_op *w = strcmp(kind, "jsonl") == 0 ? weir_write_jsonl(p, src, uri, o)
               : strcmp(kind, "csv") == 0 ? weir_write_csv(p, src, uri, o)
                                          : weir_write_blocks(p, src, uri, o);
  int rc = w ? weir_pipeline_run(p, w) : WEIR_EINVAL;
  if (err) snprintf(err, errlen, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  return rc;
}

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

static weir_block *read_back(const char *kind, const char *uri, const char *columns) {
  weir_pipeline *p = new_pipeline();
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .columns = columns};
  weir_op *r = strcmp(kind, "jsonl") == 0 ? weir_read_jsonl(p, uri, &o)
               : strcmp(kind, "csv") == 0 ? weir_read_csv(p, uri, &o)
                                          : weir_read_blocks(p, uri, &o);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  weir_op_options oo = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0, .preserve_order = 1};
  r = weir_map_batches(p, r, "in_order", pass, NULL, &oo);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, r, NULL, &it), WEIR_OK);
  weir_block **bs = NULL, *b;
  size_t n = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    bs = realloc(bs, (n + 1) * sizeof *bs);
    bs[n++] = b;
  }
  cr_assert_eq(rc, WEIR_EOF, "%s: %s", uri, weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  weir_block *all = NULL;
  if (n) cr_assert_eq(weir_block_concat(bs, n, &all), WEIR_OK);
  for (size_t i = 0; i < n; i++) weir_block_unref(&bs[i]);
  free(bs);
  weir_pipeline_destroy(p);
  return all;
}

static const weir_column *col(const weir_block *b, const char *name, weir_column *c) {
  int i = weir_block_column_index(b, name);
  cr_assert_geq(i, 0, "no column %s", name);
  weir_block_column(b, (size_t)i, c);
  return c;
}

/* The rows read back match gen_task's, as far as the format keeps them. */
static void check_rows(const weir_block *b, size_t rows, int exact_types) {
  cr_assert_not_null(b);
  cr_assert_eq(weir_block_num_rows(b), rows);
  weir_column id, x, ok, s;
  col(b, "id", &id);
  col(b, "x", &x);
  col(b, "ok", &ok);
  col(b, "s", &s);
  cr_assert_eq(x.type, WEIR_TYPE_FLOAT64);
  cr_assert_eq(ok.type, WEIR_TYPE_BOOL);
  for (size_t r = 0; r < rows; r++) {
    int64_t v = ((const int64_t *)id.data)[r];
    cr_assert_eq(v, (int64_t)r, "row order");
    int xi = weir_block_column_index(b, "x");
    cr_assert_eq(weir_block_is_valid(b, (size_t)xi, r), v % 11 != 3);
    if (v % 11 != 3) cr_assert_eq(((const double *)x.data)[r], (double)v / 7, "x row %zu", r);
    cr_assert_eq((((const uint8_t *)ok.data)[r / 8] >> (r % 8)) & 1, v % 3 == 0);
    int si = weir_block_column_index(b, "s");
    cr_assert_eq(weir_block_is_valid(b, (size_t)si, r), v % 13 != 4);
    if (v % 13 != 4) {
      char want[96];
      int n = snprintf(want, sizeof want, "row %lld, \"quoted\"\n é %s", (long long)v,
                       v % 5 ? "" : "five");
      cr_assert_eq(s.offsets[r + 1] - s.offsets[r], n, "s row %zu", r);
      cr_assert(memcmp((const char *)s.data + s.offsets[r], want, (size_t)n) == 0);
    }
  }
  if (exact_types) {
    weir_column t, bin, i32;
    col(b, "t", &t);
    col(b, "bin", &bin);
    col(b, "i32", &i32);
    cr_assert_eq(t.type, WEIR_TYPE_TENSOR);
    cr_assert_eq(t.dtype, WEIR_DTYPE_FLOAT32);
    cr_assert_eq(t.ndim, 2);
    cr_assert_eq(i32.type, WEIR_TYPE_INT32);
    cr_assert_eq(bin.type, WEIR_TYPE_BINARY);
    for (size_t r = 0; r < rows; r++) {
      const float *tv = (const float *)t.data + 4 * r;
      cr_assert_eq(tv[0], (float)r);
      cr_assert_eq(tv[3], (float)r / 4);
      cr_assert_eq(((const int32_t *)i32.data)[r], (int32_t)(r % 1000) - 500);
      cr_assert_eq(bin.offsets[r + 1] - bin.offsets[r], (int64_t)(r % 9));
    }
  }
}

static size_t count_files(const char *dir, const char *suffix) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name), sl = strlen(suffix);
    if (e->d_name[0] != '.' && l > sl && strcmp(e->d_name + l - sl, suffix) == 0) n++;
  }
  closedir(d);
  return n;
}

Test(io_write, jsonl_round_trip_single_file_and_zst) {
  char err[1024];
  cr_assert_eq(run_write("jsonl", path_of("one.jsonl"), 4, NULL, err, sizeof err), WEIR_OK, "%s", err);
  struct stat st;
  cr_assert_eq(stat(path_of("one.jsonl"), &st), 0, "a .jsonl uri is one file");
  weir_block *b = read_back("jsonl", path_of("one.jsonl"), NULL);
  check_rows(b, 4 * ROWS, 0);
  weir_block_unref(&b);
  cr_assert_eq(run_write("jsonl", path_of("one.jsonl.zst"), 4, NULL, err, sizeof err), WEIR_OK, "%s", err);
  b = read_back("jsonl", path_of("one.jsonl.zst"), NULL);
  check_rows(b, 4 * ROWS, 0);
  weir_block_unref(&b);
  if (system("command -v zstd >/dev/null 2>&1") != 0) srv_missing("the zstd CLI is not installed");
  char cmd[1600];
  snprintf(cmd, sizeof cmd, "zstd -q -d -c '%s' | cmp - '%s'", path_of("one.jsonl.zst"), path_of("one.jsonl"));
  cr_assert_eq(system(cmd), 0, "the zstd CLI reads our output");
}

Test(io_write, csv_and_blocks_round_trip) {
  char err[1024];
  cr_assert_eq(run_write("csv", path_of("csv"), 3, NULL, err, sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(count_files(path_of("csv"), ".csv"), 1);
  weir_block *b = read_back("csv", path_of("csv"), "id:int64,x:float64,ok:bool,s:string");
  check_rows(b, 3 * ROWS, 0);
  weir_block_unref(&b);
  cr_assert_eq(run_write("blocks", path_of("blk"), 5, NULL, err, sizeof err), WEIR_OK, "%s", err);
  b = read_back("blocks", path_of("blk"), NULL);
  check_rows(b, 5 * ROWS, 1);
  weir_block_unref(&b);
  /* A truncated block file is an error naming it. */
  char f[800];
  snprintf(f, sizeof f, "%s/part-00000.weir", path_of("blk"));
  struct stat st;
  cr_assert_eq(stat(f, &st), 0);
  cr_assert_eq(truncate(f, st.st_size - 30), 0);
  weir_pipeline *p = new_pipeline();
  weir_op *r = weir_read_blocks(p, path_of("blk"), NULL);
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_EFORMAT);
  cr_assert(strstr(weir_pipeline_errmsg(p), "part-00000.weir"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

/* A block file cut just before its footer (at a frame boundary) is told
 * apart from one cut inside a frame. */
Test(io_write, blocks_without_footer) {
  char err[1024];
  cr_assert_eq(run_write("blocks", path_of("nofooter"), 2, NULL, err, sizeof err), WEIR_OK, "%s", err);
  char f[800];
  snprintf(f, sizeof f, "%s/part-00000.weir", path_of("nofooter"));
  FILE *fp = fopen(f, "rb");
  cr_assert(fp);
  unsigned char tail[24];
  cr_assert_eq(fseek(fp, -24, SEEK_END), 0);
  cr_assert_eq(fread(tail, 1, sizeof tail, fp), sizeof tail);
  fclose(fp);
  cr_assert_eq(memcmp(tail + 16, "WEIREND", 8), 0);
  uint64_t footer_offset;
  memcpy(&footer_offset, tail, 8); /* little-endian, as on this host */
  struct stat st;
  cr_assert_eq(stat(f, &st), 0);
  cr_assert(footer_offset > 16 && footer_offset < (uint64_t)st.st_size);
  cr_assert_eq(truncate(f, (off_t)footer_offset), 0);
  weir_pipeline *p = new_pipeline();
  weir_op *r = weir_read_blocks(p, path_of("nofooter"), NULL);
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_EFORMAT);
  cr_assert(strstr(weir_pipeline_errmsg(p), "part-00000.weir: truncated block file (no footer)"),
            "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(io_write, shards_by_rows_and_bytes) {
  char err[1024];
  weir_write_options o = {.version = WEIR_WRITE_OPTIONS_VERSION, .shard_rows = 400,
                          .compression = WEIR_COMPRESS_ZSTD};
  cr_assert_eq(run_write("jsonl", path_of("rows"), 10, &o, err, sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(count_files(path_of("rows"), ".jsonl.zst"), 7, "2500 rows / 400");
  for (int k = 0; k < 7; k++) {
    char f[800];
    snprintf(f, sizeof f, "%s/part-%05d.jsonl.zst", path_of("rows"), k);
    weir_block *b = read_back("jsonl", f, NULL);
    cr_assert_eq(weir_block_num_rows(b), k < 6 ? 400 : 100, "shard %d", k);
    weir_column id;
    col(b, "id", &id);
    cr_assert_eq(((const int64_t *)id.data)[0], 400 * k, "shard k starts at row k * 400");
    weir_block_unref(&b);
  }
  weir_block *all = read_back("jsonl", path_of("rows"), NULL);
  check_rows(all, 2500, 0);
  weir_block_unref(&all);

  o.shard_rows = 0;
  o.shard_bytes = 50000;
  o.compression = WEIR_COMPRESS_NONE;
  cr_assert_eq(run_write("jsonl", path_of("bytes"), 10, &o, err, sizeof err), WEIR_OK, "%s", err);
  size_t n = count_files(path_of("bytes"), ".jsonl");
  cr_assert_gt(n, 2);
  for (size_t k = 0; k < n; k++) {
    char f[800];
    snprintf(f, sizeof f, "%s/part-%05zu.jsonl", path_of("bytes"), k);
    struct stat st;
    cr_assert_eq(stat(f, &st), 0);
    if (k + 1 < n) cr_assert_geq(st.st_size, 50000);
    cr_assert_lt(st.st_size, 50000 + 400, "cut at the first row past the limit");
  }
  all = read_back("jsonl", path_of("bytes"), NULL);
  check_rows(all, 2500, 0);
  weir_block_unref(&all);

  /* A shorter run without resume leaves only its own shards. */
  o.shard_bytes = 0;
  o.shard_rows = 1000;
  cr_assert_eq(run_write("jsonl", path_of("bytes"), 2, &o, err, sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(count_files(path_of("bytes"), ".jsonl"), 1);
}

/* Byte-compares every shard of two folders. */
static void same_folders(const char *a, const char *b, const char *suffix, size_t expect) {
  cr_assert_eq(count_files(a, suffix), expect);
  cr_assert_eq(count_files(b, suffix), expect);
  char cmd[1600];
  snprintf(cmd, sizeof cmd, "diff -r -x '.*' '%s' '%s' >/dev/null", a, b);
  cr_assert_eq(system(cmd), 0, "%s and %s differ", a, b);
}

static void crash_and_resume(const char *kind, const char *suffix, uint64_t shard_rows,
                             uint64_t shard_bytes) {
  char err[1024];
  weir_write_options o = {.version = WEIR_WRITE_OPTIONS_VERSION, .shard_rows = shard_rows,
                          .shard_bytes = shard_bytes, .resume = 1,
                          .compression = WEIR_COMPRESS_ZSTD};
  const size_t tasks = 40;
  cr_assert_eq(run_write(kind, path_of("clean"), tasks, &o, err, sizeof err), WEIR_OK, "%s", err);
  size_t shards = count_files(path_of("clean"), suffix);
  cr_assert_gt(shards, 4);

  /* A child writes slowly; kill it once a few shards are complete. */
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    slow_ms = 40;
    int rc = run_write(kind, path_of("crash"), tasks, &o, NULL, 0);
    _exit(rc == WEIR_OK ? 0 : 1);
  }
  size_t have = 0;
  for (int i = 0; i < 2000 && have < 3; i++) {
    usleep(5000);
    have = count_files(path_of("crash"), suffix);
  }
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFSIGNALED(status), "the writer was killed mid-run");
  have = count_files(path_of("crash"), suffix);
  cr_assert_geq(have, 3);
  cr_assert_lt(have, shards, "killed before the end");

  /* Resume: complete shards are kept (not rewritten), the rest appear. */
  char first[800];
  snprintf(first, sizeof first, "%s/part-00000%s", path_of("crash"), suffix);
  struct stat before, after;
  cr_assert_eq(stat(first, &before), 0);
  cr_assert_eq(run_write(kind, path_of("crash"), tasks, &o, err, sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(stat(first, &after), 0);
  cr_assert_eq(before.st_ino, after.st_ino, "a complete shard is not rewritten");
  same_folders(path_of("clean"), path_of("crash"), suffix, shards);
  /* No temporary left behind. */
  char cmd[1600];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -v '^\\.weir-write-manifest$' | grep -q '^\\.'",
           path_of("crash"));
  cr_assert_neq(system(cmd), 0, "hidden temporaries remain");
}

Test(io_write, crash_and_resume_jsonl_by_rows) { crash_and_resume("jsonl", ".jsonl.zst", 700, 0); }
Test(io_write, crash_and_resume_jsonl_by_bytes) { crash_and_resume("jsonl", ".jsonl.zst", 0, 60000); }
Test(io_write, crash_and_resume_blocks) { crash_and_resume("blocks", ".weir", 600, 0); }

Test(io_write, bad_options_fail_clearly) {
  weir_pipeline *p = new_pipeline();
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  weir_op *src = weir_source(p, "gen", 1, gen_task, NULL, &so);
  weir_write_options o = {.version = WEIR_WRITE_OPTIONS_VERSION, .compression = 9};
  cr_assert_null(weir_write_jsonl(p, src, path_of("x"), &o));
  cr_assert(strstr(weir_pipeline_errmsg(p), "compression"), "%s", weir_pipeline_errmsg(p));
  cr_assert_null(weir_write_csv(p, NULL, path_of("x"), NULL));
  weir_pipeline_destroy(p);
  /* An unwritable folder: the run fails naming it. */
  char err[1024];
  int rc = run_write("jsonl", "/proc/forbidden/out", 1, NULL, err, sizeof err);
  cr_assert_lt(rc, 0);
  cr_assert(strstr(err, "/proc/forbidden/out"), "%s", err);
}

/* Rows without columns (a JSONL file of "{}" lines) are rows all the
 * same: through a block file and back, every one of them arrives. */
Test(io_write, rows_without_columns_survive_a_block_file) {
  const size_t n = 5000;
  FILE *f = fopen(path_of("empty.jsonl"), "w");
  cr_assert_not_null(f);
  for (size_t i = 0; i < n; i++) fputs("{}\n", f);
  fclose(f);
  weir_pipeline *p = new_pipeline();
  weir_op *r = weir_read_jsonl(p, path_of("empty.jsonl"), NULL);
  weir_op *w = weir_write_blocks(p, r, path_of("blk0"), NULL);
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  p = new_pipeline();
  r = weir_read_blocks(p, path_of("blk0"), NULL);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, r, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  size_t rows = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    cr_assert_eq(weir_block_num_columns(b), 0);
    rows += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(rows, n);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

/* Names in `dir` that start with `prefix` and contain ".tmp.<digit>". */
static size_t count_temps(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tmp.") &&
        strchr("0123456789", strstr(e->d_name, ".tmp.")[5]))
      n++;
  closedir(d);
  return n;
}

/* A file-name output (one file, or named shards "<stem>-NNNNN") killed
 * while a temporary is open and resumed: the killed run's temporary is
 * gone, the output equals a clean run's, and a hidden file that is not
 * one of the output's temporaries stays. */
static void crash_and_resume_file(const char *name, uint64_t shard_rows, const char *tmp_prefix,
                                  size_t min_shards) {
  char err[1024];
  weir_write_options o = {.version = WEIR_WRITE_OPTIONS_VERSION, .shard_rows = shard_rows,
                          .resume = 1, .compression = WEIR_COMPRESS_ZSTD};
  const size_t tasks = 24;
  char clean[1000], crash[1000], cdir[800], xdir[800];
  snprintf(cdir, sizeof cdir, "%s", path_of("fclean"));
  snprintf(xdir, sizeof xdir, "%s", path_of("fcrash"));
  mkdir(cdir, 0777);
  mkdir(xdir, 0777);
  snprintf(clean, sizeof clean, "%s/%s", cdir, name);
  snprintf(crash, sizeof crash, "%s/%s", xdir, name);
  cr_assert_eq(run_write("jsonl", clean, tasks, &o, err, sizeof err), WEIR_OK, "%s", err);
  /* Someone else's hidden files beside the output. */
  char keep[1700];
  snprintf(keep, sizeof keep, "%s/.other.jsonl.zst.tmp.1.2", xdir);
  FILE *f = fopen(keep, "w");
  cr_assert_not_null(f);
  fclose(f);
  char keep2[1700];
  snprintf(keep2, sizeof keep2, "%s/.%s.tmp.notanumber", xdir, name);
  f = fopen(keep2, "w");
  cr_assert_not_null(f);
  fclose(f);

  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    slow_ms = 40;
    int rc = run_write("jsonl", crash, tasks, &o, NULL, 0);
    _exit(rc == WEIR_OK ? 0 : 1);
  }
  for (int i = 0; i < 2000 && (count_temps(xdir, tmp_prefix) < 1 ||
                               count_files(xdir, ".jsonl.zst") < min_shards); i++)
    usleep(5000);
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFSIGNALED(status), "the writer was killed mid-run");
  cr_assert_eq(count_temps(xdir, tmp_prefix), 1, "a temporary was open when it was killed");

  cr_assert_eq(run_write("jsonl", crash, tasks, &o, err, sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(count_temps(xdir, tmp_prefix), 0, "the killed run's temporary remains");
  cr_assert_eq(access(keep, F_OK), 0, "another output's temporary was removed");
  cr_assert_eq(access(keep2, F_OK), 0, "a name outside weir's pattern was removed");
  unlink(keep);
  unlink(keep2);
  char cmd[1800];
  snprintf(cmd, sizeof cmd, "diff -r '%s' '%s' >/dev/null", cdir, xdir);
  cr_assert_eq(system(cmd), 0, "%s and %s differ", cdir, xdir);
}

Test(io_write, crash_and_resume_single_file_leaves_no_temporary) {
  crash_and_resume_file("single.jsonl.zst", 0, ".single.jsonl.zst.tmp.", 0);
}

Test(io_write, crash_and_resume_named_shards_leaves_no_temporary) {
  crash_and_resume_file("named.jsonl.zst", 1000, ".named-", 2);
}

/* A resume asked with options that would cut the rows another way is
 * refused, naming each difference; with the same options it adds nothing
 * (issue 21: shard_rows 5000 over a 10000-row output added 100,000
 * duplicate rows). */
Test(io_write, resume_with_other_shaping_options_is_refused) {
  char err[1024];
  weir_write_options o = {.version = WEIR_WRITE_OPTIONS_VERSION, .shard_rows = 1000,
                          .compression = WEIR_COMPRESS_ZSTD};
  const char *out = path_of("shaped");
  cr_assert_eq(run_write("jsonl", out, 10, &o, err, sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(count_files(out, ".jsonl.zst"), 3);

  o.resume = 1;
  o.shard_rows = 500;
  weir_pipeline *p = new_pipeline();
  weir_op *src = weir_source(p, "gen", 10, gen_task, NULL, NULL);
  cr_assert_null(weir_write_jsonl(p, src, out, &o));
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "resume") && strstr(msg, "shard_rows 1000 (this run asks for 500)"),
            "%s", msg);
  weir_pipeline_destroy(p);

  o.shard_rows = 1000;
  o.compression = WEIR_COMPRESS_NONE;
  p = new_pipeline();
  src = weir_source(p, "gen", 10, gen_task, NULL, NULL);
  cr_assert_null(weir_write_jsonl(p, src, out, &o));
  msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "files .jsonl.zst (this run asks for .jsonl)"), "%s", msg);
  weir_pipeline_destroy(p);

  /* The same options: nothing is added. */
  o.compression = WEIR_COMPRESS_ZSTD;
  cr_assert_eq(run_write("jsonl", out, 10, &o, err, sizeof err), WEIR_OK, "%s", err);
  cr_assert_eq(count_files(out, ".jsonl.zst"), 3);
  weir_block *all = read_back("jsonl", out, NULL);
  check_rows(all, 2500, 0);
  weir_block_unref(&all);

  /* A file output keeps its manifest beside it. */
  char file[900];
  snprintf(file, sizeof file, "%s/one.jsonl.zst", out);
  o.shard_rows = 0;
  o.shard_bytes = 0;
  cr_assert_eq(run_write("jsonl", file, 4, &o, err, sizeof err), WEIR_OK, "%s", err);
  o.shard_rows = 300;
  p = new_pipeline();
  src = weir_source(p, "gen", 4, gen_task, NULL, NULL);
  cr_assert_null(weir_write_jsonl(p, src, file, &o));
  msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "layout file (this run asks for named shards)") &&
                strstr(msg, "shard_rows 0 (this run asks for 300)"),
            "%s", msg);
  weir_pipeline_destroy(p);
}
