/* URLs that carry secrets (presigned query strings, user:password@) read
 * from nginx through the public readers: the path's suffix picks the
 * decompression, not the query's, and no message, returned or logged,
 * shows the query or the password. Also the redaction function itself on
 * the shapes messages take. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include <weir.h>

#include "core/redact.h"
#include "io/net/net.h"
#include "servers/servers.h"

static srv_proc ngx;
static char *www;

static void nginx_up(void) {
  char why[512];
  www = srv_tmpdir("www");
  if (srv_nginx_start(&ngx, www, why, sizeof why) != 0) srv_missing(why);
}

static void nginx_down(void) {
  srv_proc_stop(&ngx);
  srv_rm_rf(www);
  free(www);
}

static void put_zst(const char *name, const char *text) {
  size_t len = strlen(text), cap = ZSTD_compressBound(len);
  void *z = malloc(cap);
  size_t zlen = ZSTD_compress(z, cap, text, len, 3);
  cr_assert(!ZSTD_isError(zlen));
  char path[2048];
  snprintf(path, sizeof path, "%s/%s", www, name);
  cr_assert_eq(srv_write_file(path, z, zlen), 0);
  free(z);
}

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logged[32768];
static void log_to(void *user, int level, const char *msg) {
  (void)user, (void)level;
  pthread_mutex_lock(&log_mu);
  size_t n = strlen(logged);
  snprintf(logged + n, sizeof logged - n, "%s\n", msg);
  pthread_mutex_unlock(&log_mu);
}

static weir_pipeline *new_pipeline(void) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.log_fn = log_to;
  po.log_level = WEIR_LOG_DEBUG;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  return p;
}

/* Rows out of the reader's last operator (its parser). */
static uint64_t rows_out(weir_pipeline *p, int op) {
  (void)op;
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, weir_pipeline_num_ops(p) - 1, &st), WEIR_OK);
  return st.rows_out;
}

TestSuite(http_secrets, .init = nginx_up, .fini = nginx_down, .timeout = 60);

Test(http_secrets, a_query_string_does_not_hide_the_zst_suffix) {
  char rows[4096] = "";
  for (int i = 0; i < 100; i++)
    snprintf(rows + strlen(rows), sizeof rows - strlen(rows), "{\"id\": %d}\n", i);
  put_zst("part-000.jsonl.zst", rows);
  char url[512];
  snprintf(url, sizeof url,
           "%s/part-000.jsonl.zst?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=SECRETSIG",
           ngx.url);
  weir_pipeline *p = new_pipeline();
  weir_op *r = weir_read_jsonl(p, url, NULL);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(rows_out(p, 0), 100);
  weir_pipeline_destroy(p);
}

Test(http_secrets, messages_never_show_the_query_or_the_password) {
  put_zst("bad.jsonl.zst", "{\"id\": 1}\n{\"id\": 2}\n{\"id\": oops}\n");
  char url[512];
  snprintf(url, sizeof url, "http://weir:hunter2@%s/bad.jsonl.zst?X-Amz-Signature=SECRETSIG",
           ngx.url + strlen("http://"));
  /* Failing: the returned message names the file and line, redacted. */
  weir_pipeline *p = new_pipeline();
  weir_op *r = weir_read_jsonl(p, url, NULL);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_EFORMAT, "%s", weir_pipeline_errmsg(p));
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "/bad.jsonl.zst?...:3"), "the file and line are named: %s", msg);
  cr_assert_null(strstr(msg, "SECRETSIG"), "%s", msg);
  cr_assert_null(strstr(msg, "hunter2"), "%s", msg);
  weir_pipeline_destroy(p);

  /* Skipping: the warning in the log is redacted too. */
  logged[0] = '\0';
  p = new_pipeline();
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.on_error = WEIR_ON_ERROR_SKIP;
  r = weir_read_jsonl(p, url, &ro);
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(rows_out(p, 0), 2);
  cr_assert(strstr(logged, "bad.jsonl.zst?..."), "%s", logged);
  cr_assert_null(strstr(logged, "SECRETSIG"), "%s", logged);
  cr_assert_null(strstr(logged, "hunter2"), "%s", logged);
  weir_pipeline_destroy(p);

  /* A missing object: the message from the HTTP layer, through the
   * reader's constructor. */
  snprintf(url, sizeof url, "http://weir:hunter2@%s/absent.jsonl.zst?X-Amz-Signature=SECRETSIG",
           ngx.url + strlen("http://"));
  p = new_pipeline();
  r = weir_read_jsonl(p, url, NULL);
  if (r)
    cr_assert_neq(weir_pipeline_run(p, r), WEIR_OK);
  msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "absent.jsonl.zst") && strstr(msg, "404"), "%s", msg);
  cr_assert_null(strstr(msg, "SECRETSIG"), "%s", msg);
  cr_assert_null(strstr(msg, "hunter2"), "%s", msg);
  weir_pipeline_destroy(p);
}

Test(redact, urls_in_messages) {
  struct { const char *in, *out; } cases[] = {
    {"read_jsonl: https://h.example/a/p.jsonl.zst?X-Amz-Signature=abc:12: bad value",
     "read_jsonl: https://h.example/a/p.jsonl.zst?...:12: bad value"},
    {"s3://bucket/key.csv?versionId=7: not found", "s3://bucket/key.csv?...: not found"},
    {"http://user:pw@host:8080/x?y=1#frag and more", "http://host:8080/x?...#... and more"},
    {"'https://u:p@h/p' failed", "'https://h/p' failed"},
    {"https://h/p?...:3: already redacted", "https://h/p?...:3: already redacted"},
    {"no url here: a?b", "no url here: a?b"},
    {"two: http://a/x?s=1, http://b/y?t=2; end", "two: http://a/x?..., http://b/y?...; end"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", cases[i].in);
    weir__redact_urls(buf, sizeof buf);
    cr_expect_str_eq(buf, cases[i].out, "case %zu", i);
  }
  char tiny[12] = "http://a?q";
  weir__redact_urls(tiny, sizeof tiny);
  cr_expect_str_eq(tiny, "http://a?..", "cut to its buffer, never past it");
  cr_expect_eq(weir__uri_path_len("https://h/p.zst?x=.gz"), strlen("https://h/p.zst"));
  cr_expect_eq(weir__uri_path_len("/data/odd?name.zst"), strlen("/data/odd?name.zst"));
}
