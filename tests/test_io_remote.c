/* Readers and writers over the network, end to end: JSONL and CSV read
 * from a real nginx, and sharded JSONL and block files written to and read
 * back from moto's S3 server, resume included. The network engine itself is tested
 * in test_io_http.c and test_io_s3.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <weir.h>

#include "io/net/net.h"
#include "io/vfs.h"
#include "servers/need_curl.h"
#include "servers/servers.h"

static srv_proc srv;
static char *www;

static void nginx_up(void) {
  char why[512];
  srv_need_curl();
  www = srv_tmpdir("www");
  cr_assert(www);
  /* WebDAV uploads too, for the HTTP output's test. */
  if (srv_nginx_start_conf(&srv, www, NULL, NULL,
                           "dav_methods PUT DELETE; create_full_put_path on;", why,
                           sizeof why) != 0)
    srv_missing(why);
}

static void s3_up(void) {
  char why[512];
  srv_need_curl();
  if (srv_moto_start(&srv, why, sizeof why) != 0) srv_missing(why);
}

static void down(void) {
  srv_proc_stop(&srv);
  if (www) srv_rm_rf(www);
  free(www);
  www = NULL;
  weir__net_shutdown();
}

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

/* All rows of `op`, in order, as one block (NULL when none). */
static weir_block *collect(weir_pipeline *p, weir_op *op) {
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_op_options oo = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0, .preserve_order = 1};
  op = weir_map_batches(p, op, "in_order", pass, NULL, &oo);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK);
  weir_block **bs = NULL, *b, *all = NULL;
  size_t n = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    bs = realloc(bs, (n + 1) * sizeof *bs);
    bs[n++] = b;
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  if (n) cr_assert_eq(weir_block_concat(bs, n, &all), WEIR_OK);
  for (size_t i = 0; i < n; i++) weir_block_unref(&bs[i]);
  free(bs);
  return all;
}

static int64_t id_at(const weir_block *b, size_t r) {
  weir_column c;
  weir_block_column(b, (size_t)weir_block_column_index(b, "id"), &c);
  return ((const int64_t *)c.data)[r];
}

TestSuite(io_remote_http, .init = nginx_up, .fini = down, .timeout = 60);

Test(io_remote_http, jsonl_zst_and_csv_from_nginx) {
  char path[2048], cmd[8192];
  snprintf(path, sizeof path, "%s/d.jsonl", www);
  FILE *f = fopen(path, "w");
  for (int i = 0; i < 30000; i++) fprintf(f, "{\"id\": %d, \"t\": \"row %d é\"}\n", i, i);
  fclose(f);
  snprintf(cmd, sizeof cmd, "zstd -q -f '%s' -o '%s.zst'", path, path);
  if (system(cmd) != 0) srv_missing("the zstd CLI could not compress the fixture (apt-get install zstd)");
  snprintf(path, sizeof path, "%s/d.csv", www);
  f = fopen(path, "w");
  fprintf(f, "id,t\n");
  for (int i = 0; i < 1000; i++) fprintf(f, "%d,\"row, %d\"\n", i, i);
  fclose(f);
  const char *names[] = {"d.jsonl", "d.jsonl.zst", "d.csv"};
  size_t rows[] = {30000, 30000, 1000};
  for (int k = 0; k < 3; k++) {
    char url[600];
    snprintf(url, sizeof url, "%s/%s", srv.url, names[k]);
    weir_pipeline *p;
    weir_pipeline_create(&p, NULL);
    weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .range_bytes = k == 0 ? 100000 : 0};
    weir_op *r = k < 2 ? weir_read_jsonl(p, url, &o) : weir_read_csv(p, url, &o);
    weir_block *b = collect(p, r);
    cr_assert_not_null(b, "%s", url);
    cr_assert_eq(weir_block_num_rows(b), rows[k], "%s", url);
    for (size_t i = 0; i < rows[k]; i++) cr_assert_eq(id_at(b, i), (int64_t)i, "%s row %zu", url, i);
    if (k == 0) {
      weir_op_stats st;
      weir_pipeline_op_stats(p, 0, &st);
      cr_assert_gt(st.tasks, 1, "ranged requests over http");
    }
    weir_block_unref(&b);
    weir_pipeline_destroy(p);
  }
  /* A missing URL fails when the reader is made, naming it and the status. */
  char url[600];
  snprintf(url, sizeof url, "%s/none.jsonl", srv.url);
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  cr_assert_null(weir_read_jsonl(p, url, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "none.jsonl"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

TestSuite(io_remote_s3, .init = s3_up, .fini = down, .timeout = 90);

static int gen(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *bld;
  weir_builder_create(&bld);
  weir_builder_add_column(bld, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "s", WEIR_TYPE_STRING);
  int64_t shape[1] = {3};
  weir_builder_add_tensor_column(bld, "v", WEIR_DTYPE_INT16, 1, shape);
  for (int r = 0; r < 100; r++) {
    int64_t id = (int64_t)task * 100 + r;
    char s[32];
    int n = snprintf(s, sizeof s, "s%lld", (long long)id);
    weir_builder_append_int64(bld, 0, id);
    weir_builder_append_string(bld, 1, s, (size_t)n);
    int16_t v[3] = {(int16_t)id, 1, -1};
    weir_builder_append_tensor(bld, 2, v);
  }
  weir_block *b;
  int rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  return rc ? rc : weir_emit_block(out, b);
}

static int write_s3(const char *kind, const char *uri, int resume, size_t tasks) {
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  weir_op *src = weir_source(p, "gen", tasks, gen, NULL, &so);
  weir_write_options o = {.version = WEIR_WRITE_OPTIONS_VERSION, .shard_rows = 250,
                          .resume = resume, .compression = WEIR_COMPRESS_ZSTD,
                          .s3_endpoint = srv.url, .s3_region = "us-east-1",
                          .s3_access_key = srv.access_key, .s3_secret_key = srv.secret_key};
  weir_op *w = strcmp(kind, "jsonl") == 0 ? weir_write_jsonl(p, src, uri, &o)
                                          : weir_write_blocks(p, src, uri, &o);
  int rc = w ? weir_pipeline_run(p, w) : WEIR_EINVAL;
  cr_assert_eq(rc, WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  return rc;
}

static weir_block *read_s3(const char *kind, const char *uri) {
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_read_options o = {.version = WEIR_READ_OPTIONS_VERSION, .s3_endpoint = srv.url,
                         .s3_region = "us-east-1", .s3_access_key = srv.access_key,
                         .s3_secret_key = srv.secret_key};
  weir_op *r = strcmp(kind, "jsonl") == 0 ? weir_read_jsonl(p, uri, &o) : weir_read_blocks(p, uri, &o);
  weir_block *b = collect(p, r);
  weir_pipeline_destroy(p);
  return b;
}

Test(io_remote_s3, sharded_writes_read_back_and_resume) {
  const char *kinds[] = {"jsonl", "blocks"};
  const char *uris[] = {"s3://test/out/jsonl", "s3://test/out/blocks"};
  for (int k = 0; k < 2; k++) {
    write_s3(kinds[k], uris[k], 0, 10);
    weir__io_config cfg = {srv.url, "us-east-1", srv.access_key, srv.secret_key, 0, 0, 0, 0, 0, 0};
    weir__object *objs;
    size_t n;
    char err[512];
    cr_assert_eq(weir__vfs_list(uris[k], &cfg, &objs, &n, err, sizeof err), WEIR_OK, "%s", err);
    cr_assert_eq(n, 4, "1000 rows in shards of 250 (%s)", kinds[k]);
    cr_assert(strstr(objs[0].uri, k == 0 ? "part-00000.jsonl.zst" : "part-00000.weir"), "%s", objs[0].uri);
    weir__vfs_list_free(objs, n);
    /* Resume: every shard exists, nothing is rewritten, same contents. */
    write_s3(kinds[k], uris[k], 1, 10);
    weir_block *b = read_s3(kinds[k], uris[k]);
    cr_assert_not_null(b);
    cr_assert_eq(weir_block_num_rows(b), 1000);
    for (size_t i = 0; i < 1000; i++) cr_assert_eq(id_at(b, i), (int64_t)i);
    if (k == 1) {
      weir_column v;
      weir_block_column(b, 2, &v);
      cr_assert_eq(v.type, WEIR_TYPE_TENSOR);
      cr_assert_eq(((const int16_t *)v.data)[3 * 999], (int16_t)999);
    }
    weir_block_unref(&b);
  }
}

/* Counts what the "gen" source of a run did. */
typedef struct s3_run {
  int rc;
  char err[1024];
  uint64_t tasks, skipped;
} s3_run;

static void write_s3_counted(const char *uri, size_t tasks, s3_run *r) {
  memset(r, 0, sizeof *r);
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  weir_op *src = weir_source(p, "gen", tasks, gen, NULL, &so);
  weir_write_options o = {.version = WEIR_WRITE_OPTIONS_VERSION, .shard_rows = 100,
                          .resume = 1, .compression = WEIR_COMPRESS_ZSTD,
                          .s3_endpoint = srv.url, .s3_region = "us-east-1",
                          .s3_access_key = srv.access_key, .s3_secret_key = srv.secret_key};
  weir_op *w = weir_write_jsonl(p, src, uri, &o);
  r->rc = w ? weir_pipeline_run(p, w) : weir_pipeline_errcode(p);
  snprintf(r->err, sizeof r->err, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  if (w && weir_pipeline_op_stats(p, 0, &st) == WEIR_OK) r->tasks = st.tasks;
  if (w) weir_pipeline_op_counter(p, 0, "resume_skipped_tasks", &r->skipped);
  weir_pipeline_destroy(p);
}

/* Resume skips work on S3 as it does locally (issue 21): the manifest is
 * an object beside the shards, one missing shard makes the resume run its
 * read task alone, and another task count is refused. */
/* Runs `call` on a boto3 S3 client `c` of moto's server (boto3 comes with
 * moto's environment). */
static void boto3(const char *call) {
  char why[512];
  char *py = srv_venv_bin("python", why, sizeof why);
  if (!py) srv_missing(why);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "'%s' -c \"import boto3, json; c = boto3.client('s3', endpoint_url='%s', "
           "aws_access_key_id='%s', aws_secret_access_key='%s', region_name='us-east-1'); "
           "%s\"",
           py, srv.url, srv.access_key, srv.secret_key, call);
  free(py);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void s3_delete(const char *key) {
  char call[512];
  snprintf(call, sizeof call, "c.delete_object(Bucket='test', Key='%s')", key);
  boto3(call);
}

Test(io_remote_s3, resume_skips_complete_read_tasks) {
  const char *uri = "s3://test/out/skip";
  s3_run r;
  write_s3_counted(uri, 10, &r);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.err);
  cr_assert_eq(r.tasks, 10);
  weir__io_config cfg = {srv.url, "us-east-1", srv.access_key, srv.secret_key, 0, 0, 0, 0, 0, 0};
  cr_assert_eq(weir__vfs_exists("s3://test/out/skip/.weir-write-manifest", &cfg), 1,
               "the manifest is written beside the shards");

  write_s3_counted(uri, 10, &r);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.err);
  cr_assert_eq(r.tasks, 0, "every shard is there: nothing to read (%llu)",
               (unsigned long long)r.tasks);

  s3_delete("out/skip/part-00004.jsonl.zst");
  cr_assert_eq(weir__vfs_exists("s3://test/out/skip/part-00004.jsonl.zst", &cfg), 0);

  write_s3_counted(uri, 10, &r);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.err);
  cr_assert_eq(r.tasks, 1, "read %llu tasks", (unsigned long long)r.tasks);
  cr_assert_eq(r.skipped, 9);
  weir_block *b = read_s3("jsonl", uri);
  cr_assert_not_null(b);
  cr_assert_eq(weir_block_num_rows(b), 1000);
  for (size_t i = 0; i < 1000; i++) cr_assert_eq(id_at(b, i), (int64_t)i);
  weir_block_unref(&b);

  write_s3_counted(uri, 11, &r);
  cr_assert_eq(r.rc, WEIR_EINVAL, "%s", r.err);
  cr_assert(strstr(r.err, "input listing") && strstr(r.err, "source gen tasks 10"), "%s",
            r.err);
}


/* An HTTP output resumes like the others (issue 21): its manifest is a
 * resource beside the shards, a missing shard makes the resume run its
 * read task alone, and the output equals a clean one. */
Test(io_remote_http, http_output_resume_skips_complete_read_tasks) {
  char uri[512];
  snprintf(uri, sizeof uri, "%s/out", srv.url);
  s3_run r;
  write_s3_counted(uri, 6, &r);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.err);
  cr_assert_eq(r.tasks, 6);
  char path[1024];
  snprintf(path, sizeof path, "%s/out/.weir-write-manifest", www);
  cr_assert_eq(access(path, F_OK), 0, "the manifest was uploaded beside the shards");
  snprintf(path, sizeof path, "%s/out/part-00002.jsonl.zst", www);
  cr_assert_eq(unlink(path), 0);

  write_s3_counted(uri, 6, &r);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.err);
  cr_assert_eq(r.tasks, 1, "read %llu tasks", (unsigned long long)r.tasks);
  cr_assert_eq(r.skipped, 5);
  cr_assert_eq(access(path, F_OK), 0, "the missing shard is back");
  weir_pipeline *p;
  weir_pipeline_create(&p, NULL);
  char glob[600];
  snprintf(glob, sizeof glob, "%s/out/*.jsonl.zst", www);
  weir_block *b = collect(p, weir_read_jsonl(p, glob, NULL));
  weir_pipeline_destroy(p);
  cr_assert_not_null(b);
  cr_assert_eq(weir_block_num_rows(b), 600);
  for (size_t i = 0; i < 600; i++) cr_assert_eq(id_at(b, i), (int64_t)i);
  weir_block_unref(&b);

  write_s3_counted(uri, 7, &r);
  cr_assert_eq(r.rc, WEIR_EINVAL, "%s", r.err);
  cr_assert(strstr(r.err, "input listing"), "%s", r.err);
}
