/* Pipelines whose sources and sinks are on the network: JSONL (plain and
 * zstd) and binary files read over HTTP from nginx and from a server that
 * injects faults, and JSONL written to and read back from S3 (s3rver), all
 * through the public reader and writer operators; and the engine a run's
 * transfers go to, the one on its scheduler loop. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include <weir.h>

#include "io/net/net.h"
#include "servers/fault_server.h"
#include "servers/need_curl.h"
#include "servers/servers.h"

static weir_pipeline *new_pipeline(void) {
  weir_pipeline *p;
  weir_pipeline_options o = WEIR_PIPELINE_OPTIONS_INIT;
  o.num_cpus = 2;
  cr_assert_eq(weir_pipeline_create(&p, &o), WEIR_OK);
  return p;
}

/* Runs `op` to the end; returns the run's code, with every block in
 * *all (concatenated), or NULL when there were none. */
static int collect(weir_pipeline *p, weir_op *op, weir_block **all) {
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  int rc = weir_pipeline_iter(p, op, NULL, &it);
  cr_assert_eq(rc, WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_block **bs = NULL, *b;
  size_t n = 0;
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

static int64_t sum_int(const weir_block *b, const char *name) {
  int c = weir_block_column_index(b, name);
  cr_assert_geq(c, 0, "no column %s", name);
  weir_column v;
  cr_assert_eq(weir_block_column(b, (size_t)c, &v), WEIR_OK);
  cr_assert_eq(v.type, WEIR_TYPE_INT64);
  int64_t s = 0;
  for (size_t i = 0; i < v.length; i++) s += ((const int64_t *)v.data)[i];
  return s;
}

/* "{"id": i, "text": "row i"}\n" for i in [from, to). */
static char *jsonl_rows(int from, int to, size_t *len) {
  size_t cap = (size_t)(to - from) * 48 + 1, n = 0;
  char *s = malloc(cap);
  for (int i = from; i < to; i++)
    n += (size_t)snprintf(s + n, cap - n,
                          "{\"id\": %d, \"text\": \"row \\u00e9 %d\"}\n", i, i);
  *len = n;
  return s;
}

static srv_proc ngx;
static char *www;

static void nginx_up(void) {
  char why[512];
  srv_need_curl();
  www = srv_tmpdir("www");
  if (srv_nginx_start(&ngx, www, why, sizeof why) != 0) srv_missing(why);
}

static void nginx_down(void) {
  srv_proc_stop(&ngx);
  srv_rm_rf(www);
  free(www);
}

TestSuite(pipe_http, .init = nginx_up, .fini = nginx_down, .timeout = 60);

Test(pipe_http, jsonl_and_zstd_over_http) {
  size_t len;
  char *rows = jsonl_rows(0, 5000, &len);
  char path[2048];
  snprintf(path, sizeof path, "%s/rows.jsonl", www);
  cr_assert_eq(srv_write_file(path, rows, len), 0);
  size_t zcap = ZSTD_compressBound(len);
  void *z = malloc(zcap);
  size_t zlen = ZSTD_compress(z, zcap, rows, len, 3);
  cr_assert(!ZSTD_isError(zlen));
  snprintf(path, sizeof path, "%s/rows.jsonl.zst", www);
  cr_assert_eq(srv_write_file(path, z, zlen), 0);
  free(z);
  free(rows);

  const char *names[] = { "rows.jsonl", "rows.jsonl.zst" };
  for (int k = 0; k < 2; k++) {
    char url[256];
    snprintf(url, sizeof url, "%s/%s", ngx.url, names[k]);
    weir_pipeline *p = new_pipeline();
    weir_block *b;
    cr_assert_eq(collect(p, weir_read_jsonl(p, url, NULL), &b), WEIR_OK,
                 "%s: %s", url, weir_pipeline_errmsg(p));
    cr_assert_eq(weir_block_num_rows(b), 5000, "%s", url);
    cr_assert_eq(sum_int(b, "id"), 5000LL * 4999 / 2);
    weir_block_unref(&b);
    weir_pipeline_destroy(p);
  }
}

Test(pipe_http, binary_over_http_is_byte_exact) {
  size_t size = 2 * 1024 * 1024 + 99;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 8);
  char path[2048], url[256];
  snprintf(path, sizeof path, "%s/blob.bin", www);
  cr_assert_eq(srv_write_file(path, data, size), 0);
  snprintf(url, sizeof url, "%s/blob.bin", ngx.url);
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_binary(p, url, NULL), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 1);
  int c = weir_block_column_index(b, "bytes");
  cr_assert_geq(c, 0);
  weir_column v;
  cr_assert_eq(weir_block_column(b, (size_t)c, &v), WEIR_OK);
  cr_assert_eq((size_t)(v.offsets[1] - v.offsets[0]), size);
  cr_assert(memcmp((const char *)v.data + v.offsets[0], data, size) == 0);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  free(data);
}

Test(pipe_http, a_missing_url_names_itself_and_the_status) {
  char url[256];
  snprintf(url, sizeof url, "%s/absent.jsonl", ngx.url);
  weir_pipeline *p = new_pipeline();
  weir_op *op = weir_read_jsonl(p, url, NULL);
  const char *msg;
  if (op) {
    weir_block *b;
    cr_assert_neq(collect(p, op, &b), WEIR_OK);
    msg = weir_pipeline_errmsg(p);
  } else {
    msg = weir_pipeline_errmsg(p);
  }
  cr_assert(strstr(msg, "/absent.jsonl") && strstr(msg, "404"), "%s", msg);
  weir_pipeline_destroy(p);
}

Test(pipe_faults, binary_through_resets_and_5xx, .init = srv_need_curl,
     .timeout = 60) {
  size_t size = 1500000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 21);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_RANDOM, 11), 0);
  char url[256];
  snprintf(url, sizeof url, "%s/flaky.bin", fs.url);
  weir_read_options o = { 0 };
  o.version = WEIR_READ_OPTIONS_VERSION;
  o.max_retries = 40;
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_binary(p, url, &o), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  int c = weir_block_column_index(b, "bytes");
  weir_column v;
  cr_assert_eq(weir_block_column(b, (size_t)c, &v), WEIR_OK);
  cr_assert_eq((size_t)(v.offsets[1] - v.offsets[0]), size);
  cr_assert(memcmp((const char *)v.data + v.offsets[0], data, size) == 0);
  cr_assert_gt(atomic_load(&fs.resets) + atomic_load(&fs.s500) +
               atomic_load(&fs.s429), 0);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  fault_stop(&fs);
  free(data);
}

/* ---- The engine on the scheduler's loop -------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs `p` (the loop on this thread, or on the iterator's background
 * thread) and checks that its requests went to the engine on its loop:
 * at least one there, none to the process-wide engine. */
static void run_on_own_engine(weir_pipeline *p, weir_op *op, int iterate) {
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir__net_counters c0, c1;
  weir__net_get_counters(&c0);
  if (iterate) {
    weir_block *b;
    cr_assert_eq(collect(p, op, &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
    cr_assert_eq(weir_block_num_rows(b), 2000);
    weir_block_unref(&b);
  } else {
    cr_assert_eq(weir_pipeline_run(p, op), WEIR_OK, "%s",
                 weir_pipeline_errmsg(p));
  }
  weir__net_get_counters(&c1);
  cr_assert_geq(c1.loop_requests - c0.loop_requests, 1,
                "the run's reads went to the engine on its loop");
  cr_assert_eq(c1.thread_requests, c0.thread_requests,
               "no request of the run went to the process-wide engine");
}

Test(pipe_http, a_runs_requests_go_to_the_engine_on_its_loop) {
  size_t len;
  char *rows = jsonl_rows(0, 2000, &len);
  char path[2048], url[256];
  snprintf(path, sizeof path, "%s/loop.jsonl", www);
  cr_assert_eq(srv_write_file(path, rows, len), 0);
  free(rows);
  snprintf(url, sizeof url, "%s/loop.jsonl", ngx.url);

  /* An iterator: the loop runs on a background thread. Building the
   * reader sizes the object outside the run, on the process-wide engine. */
  weir_pipeline *p = new_pipeline();
  run_on_own_engine(p, weir_read_jsonl(p, url, NULL), 1);
  weir_pipeline_destroy(p);

  /* weir_pipeline_run: the loop runs on this thread. */
  char *out = srv_tmpdir("loop-out");
  cr_assert_not_null(out);
  snprintf(path, sizeof path, "%s/rows", out);
  p = new_pipeline();
  run_on_own_engine(p, weir_write_jsonl(p, weir_read_jsonl(p, url, NULL),
                                        path, NULL), 0);
  weir_pipeline_destroy(p);
  srv_rm_rf(out);
  free(out);

  /* Outside a run, the process-wide engine answers. */
  weir__net_counters c0, c1;
  weir__net_get_counters(&c0);
  uint64_t size;
  char err[512];
  cr_assert_eq(weir__net_stat(url, NULL, &size, err, sizeof err), WEIR_OK,
               "%s", err);
  cr_assert_eq(size, len);
  weir__net_get_counters(&c1);
  cr_assert_eq(c1.thread_requests - c0.thread_requests, 1);
  cr_assert_eq(c1.loop_requests, c0.loop_requests);
}

typedef struct kept_reader {
  char url[256];
  weir__net_reader *r;
} kept_reader;

/* A read task that opens a reader, reads one byte, and leaves the reader
 * open for the test to use after the run. */
static int open_and_keep(void *user, size_t task, weir_emit *out) {
  (void)task;
  (void)out;
  kept_reader *k = user;
  weir__net_options o = { 0 };
  char err[512];
  unsigned char byte;
  int rc = weir__net_reader_open(k->url, &o, 0, UINT64_MAX, &k->r, err,
                                 sizeof err);
  if (rc != WEIR_OK) return rc;
  return weir__net_reader_read(k->r, &byte, 1) == 1 ? WEIR_OK : WEIR_EIO;
}

/* The transfer of a reader opened by a worker ends with its run: what was
 * buffered can still be read, then WEIR_ECANCELED, and closing it after
 * the pipeline is gone touches nothing freed. */
Test(pipe_http, a_reader_outliving_its_run_is_cancelled_with_it) {
  size_t size = 32u << 20;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 4);
  char path[2048];
  snprintf(path, sizeof path, "%s/big.bin", www);
  cr_assert_eq(srv_write_file(path, data, size), 0);
  free(data);
  kept_reader k = { .r = NULL };
  snprintf(k.url, sizeof k.url, "%s/big.bin", ngx.url);
  weir_pipeline *p = new_pipeline();
  weir_op *src = weir_source(p, "keep", 1, open_and_keep, &k, NULL);
  cr_assert_not_null(src, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, NULL), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  cr_assert_not_null(k.r);
  size_t got = 1, cap = 1 << 20;
  char *buf = malloc(cap);
  long n;
  while ((n = weir__net_reader_read(k.r, buf, cap)) > 0) got += (size_t)n;
  free(buf);
  cr_assert_eq(n, WEIR_ECANCELED, "read after the run: %ld (%s)", n,
               weir__net_reader_errmsg(k.r));
  cr_assert_lt(got, size, "the transfer stopped with the run");
  weir__net_reader_close(k.r);
}

typedef struct canceller {
  fault_server *fs;
  weir_pipeline *p;
  double at;                  /* when it cancelled */
} canceller;

/* Cancels the run once the server has held both transfers stalled for a
 * while, so the readers are blocked waiting for bytes. */
static void *cancel_when_stalled(void *arg) {
  canceller *c = arg;
  for (int i = 0; i < 1000 && atomic_load(&c->fs->inflight) < 2; i++) {
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    nanosleep(&ts, NULL);
  }
  struct timespec ts = { 0, 300 * 1000 * 1000 };
  nanosleep(&ts, NULL);
  c->at = now_s();
  weir_pipeline_cancel(c->p);
  return NULL;
}

/* Servers that send part of a body and then nothing would hold the workers
 * until the stall timeout (30 s) and then retry; a cancel ends those
 * transfers at once, and the run with them. */
Test(pipe_faults, a_cancel_ends_stalled_transfers_at_once, .init = srv_need_curl,
     .timeout = 60) {
  size_t size = 4u << 20;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 31);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_STALL_ALWAYS, 5), 0);
  weir_pipeline *p = new_pipeline();
  char url[256];
  for (int i = 0; i < 2; i++) {
    snprintf(url, sizeof url, "%s/stall%d.bin", fs.url, i);
    cr_assert_not_null(weir_read_binary(p, url, NULL), "%s",
                       weir_pipeline_errmsg(p));
  }
  weir__net_counters c0, c1;
  weir__net_get_counters(&c0);
  canceller c = { &fs, p, 0 };
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, cancel_when_stalled, &c), 0);
  int rc = weir_pipeline_run(p, NULL);
  double ended = now_s();
  pthread_join(t, NULL);
  weir__net_get_counters(&c1);
  cr_assert_eq(rc, WEIR_ECANCELED, "%s", weir_pipeline_errmsg(p));
  cr_assert_lt(ended - c.at, 2.0, "the run ended %.2f s after the cancel",
               ended - c.at);
  cr_assert_geq(c1.loop_requests - c0.loop_requests, 2);
  cr_assert_eq(c1.thread_requests, c0.thread_requests);
  weir_pipeline_destroy(p);
  fault_stop(&fs);
  free(data);
}

/* ---- S3 ----------------------------------------------------------------- */

static srv_proc s3;

static void s3_up(void) {
  char why[512];
  srv_need_curl();
  if (srv_moto_start(&s3, why, sizeof why) != 0) srv_missing(why);
}

static void s3_down(void) { srv_proc_stop(&s3); }

TestSuite(pipe_s3, .init = s3_up, .fini = s3_down, .timeout = 60);

Test(pipe_s3, write_jsonl_shards_to_s3_and_read_them_back) {
  /* Source: a JSONL file on nginx would do, but S3 itself is enough. */
  weir__net_options no = { 0 };
  no.s3_endpoint = s3.url;
  no.s3_access_key = s3.access_key;
  no.s3_secret_key = s3.secret_key;
  for (int f = 0; f < 3; f++) {
    size_t len;
    char *rows = jsonl_rows(f * 1000, f * 1000 + 1000, &len), uri[128],
         err[512];
    snprintf(uri, sizeof uri, "s3://test/in/f%d.jsonl", f);
    weir__net_writer *w;
    cr_assert_eq(weir__net_writer_open(uri, &no, &w, err, sizeof err),
                 WEIR_OK);
    cr_assert_eq(weir__net_writer_write(w, rows, len, err, sizeof err),
                 WEIR_OK);
    cr_assert_eq(weir__net_writer_commit(w, err, sizeof err), WEIR_OK, "%s",
                 err);
    free(rows);
  }
  weir_read_options ro = { 0 };
  ro.version = WEIR_READ_OPTIONS_VERSION;
  ro.s3_endpoint = s3.url;
  ro.s3_access_key = s3.access_key;
  ro.s3_secret_key = s3.secret_key;
  weir_write_options wo = { 0 };
  wo.version = WEIR_WRITE_OPTIONS_VERSION;
  wo.s3_endpoint = s3.url;
  wo.s3_access_key = s3.access_key;
  wo.s3_secret_key = s3.secret_key;
  wo.shard_rows = 700;

  weir_pipeline *p = new_pipeline();
  weir_op *src = weir_read_jsonl(p, "s3://test/in/", &ro);
  cr_assert_not_null(src, "%s", weir_pipeline_errmsg(p));
  weir_op *sink = weir_write_jsonl(p, src, "s3://test/out/", &wo);
  cr_assert_not_null(sink, "%s", weir_pipeline_errmsg(p));
  /* Reads and uploads of the run go to the engine on its loop. */
  weir__net_counters c0, c1;
  weir__net_get_counters(&c0);
  cr_assert_eq(weir_pipeline_run(p, sink), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  weir__net_get_counters(&c1);
  cr_assert_geq(c1.loop_requests - c0.loop_requests, 3 + 5);
  cr_assert_eq(c1.thread_requests, c0.thread_requests);
  weir_pipeline_destroy(p);

  weir__object *objs;
  size_t n;
  char err[512];
  cr_assert_eq(weir__net_list_opts("s3://test/out/", &no, &objs, &n, err,
                                   sizeof err), WEIR_OK, "%s", err);
  cr_assert_geq(n, 5, "3000 rows in shards of 700 rows: %zu objects", n);
  for (size_t i = 0; i < n; i++) free(objs[i].uri);
  free(objs);

  p = new_pipeline();
  weir_block *b;
  cr_assert_eq(collect(p, weir_read_jsonl(p, "s3://test/out/", &ro), &b),
               WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), 3000);
  cr_assert_eq(sum_int(b, "id"), 3000LL * 2999 / 2);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  weir__net_shutdown();
}

/* Network retries show: three 500s before a whole answer are three retries
 * in the reader's statistics, three INFO lines naming the URL (redacted)
 * and the status, and a total in the summary. */
static pthread_mutex_t retry_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char retry_log[16384];
static void retry_log_fn(void *user, int level, const char *msg) {
  (void)user, (void)level;
  pthread_mutex_lock(&retry_log_mu);
  size_t n = strlen(retry_log);
  snprintf(retry_log + n, sizeof retry_log - n, "%s\n", msg);
  pthread_mutex_unlock(&retry_log_mu);
}

Test(pipe_faults, network_retries_are_counted_and_logged, .init = srv_need_curl, .timeout = 60) {
  size_t size = 300000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 31);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_GET_500_FIRST, 31), 0);
  fs.get_500 = 3;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.log_fn = retry_log_fn;
  po.log_level = WEIR_LOG_INFO;
  po.summary = 1;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  char url[256];
  snprintf(url, sizeof url, "%s/blob.bin?X-Amz-Signature=SECRETSIG", fs.url);
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  weir_op *r = weir_read_binary(p, url, &ro);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, 0, &st), WEIR_OK);
  cr_assert_eq(st.rows_out, 1);
  cr_assert_eq(st.retries, 3, "retries %llu:\n%s", (unsigned long long)st.retries, retry_log);
  cr_assert_eq(atomic_load(&fs.s500), 3);
  int lines = 0;
  for (const char *q = retry_log; (q = strstr(q, "network retry: GET ")); q++)
    lines++;
  cr_assert_eq(lines, 3, "%s", retry_log);
  cr_assert(strstr(retry_log, "/blob.bin?...: attempt 1 of 6: HTTP 500"), "%s", retry_log);
  cr_assert_null(strstr(retry_log, "SECRETSIG"), "%s", retry_log);
  cr_assert(strstr(retry_log, "retries: 3 in all"), "the summary's total:\n%s", retry_log);
  weir_pipeline_destroy(p);
  fault_stop(&fs);
  free(data);
}

/* Timeouts from the read options: a server that accepts and never answers
 * fails on first_byte_timeout (each attempt), one that trickles on the
 * low-speed limit; the messages say which. */
Test(pipe_faults, a_server_that_never_answers_times_out_on_first_byte, .init = srv_need_curl,
     .timeout = 60) {
  unsigned char data[100] = {0};
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, sizeof data, FAULT_NO_ANSWER, 41), 0);
  weir_pipeline *p = new_pipeline();
  char url[256];
  snprintf(url, sizeof url, "%s/silent.bin", fs.url);
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.first_byte_timeout = 0.5;
  ro.max_retries = 1;
  weir_op *r = weir_read_binary(p, url, &ro);
  int rc = r ? weir_pipeline_run(p, r) : weir_pipeline_errcode(p);
  cr_assert_eq(rc, WEIR_EIO, "%s", weir_pipeline_errmsg(p));
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "first_byte_timeout") && strstr(msg, "2 attempts"), "%s", msg);
  cr_assert_eq(atomic_load(&fs.requests), 2);
  weir_pipeline_destroy(p);
  fault_stop(&fs);
}

Test(pipe_faults, a_trickling_server_times_out_on_low_speed, .init = srv_need_curl,
     .timeout = 60) {
  size_t size = 100000;
  unsigned char *data = malloc(size);
  srv_fill(data, size, 42);
  fault_server fs;
  cr_assert_eq(fault_start(&fs, data, size, FAULT_TRICKLE, 42), 0);
  weir_pipeline *p = new_pipeline();
  char url[256];
  snprintf(url, sizeof url, "%s/slow.bin", fs.url);
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.low_speed_seconds = 1;
  ro.low_speed_bytes = 1000;
  ro.max_retries = WEIR_RETRIES_NONE;
  weir_op *r = weir_read_binary(p, url, &ro);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_EIO, "%s", weir_pipeline_errmsg(p));
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "slow.bin") && strstr(msg, "too slow"), "%s", msg);
  weir_pipeline_destroy(p);
  fault_stop(&fs);
  free(data);

  /* Negative timeouts are refused, naming the field. */
  p = new_pipeline();
  ro.low_speed_seconds = -1;
  cr_assert_null(weir_read_binary(p, url, &ro));
  cr_assert(strstr(weir_pipeline_errmsg(p), "low_speed_seconds -1"), "%s",
            weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}
