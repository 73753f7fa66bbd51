/* Many HTTP inputs as one reader's input: a list file (".urls", one URL a
 * line, comments and blank lines allowed) read from nginx in the list's
 * order; and a glob or a folder over HTTP, which HTTP cannot list, refused
 * with a message saying so instead of a 404 or an index page parsed as
 * data. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir.h>

#include "servers/servers.h"
#include "test_tmpdir.h"

static srv_proc ngx;
static char *www;

static void nginx_up(void) {
  char why[512];
  tmpdir_make("http-lists");
  www = srv_tmpdir("www");
  if (srv_nginx_start(&ngx, www, why, sizeof why) != 0)
    srv_missing(why);
}

static void nginx_down(void) {
  srv_proc_stop(&ngx);
  srv_rm_rf(www);
  free(www);
  tmpdir_remove();
}

TestSuite(http_lists, .init = nginx_up, .fini = nginx_down, .timeout = 60);

static void put_rows(const char *name, int from, int to) {
  char path[2048], text[8192] = "";
  for (int i = from; i < to; i++)
    snprintf(text + strlen(text), sizeof text - strlen(text), "{\"id\": %d}\n", i);
  snprintf(path, sizeof path, "%s/%s", www, name);
  cr_assert_eq(srv_write_file(path, text, strlen(text)), 0);
}

Test(http_lists, a_list_of_urls_is_one_readers_input_in_its_order) {
  put_rows("c.jsonl", 0, 10);
  put_rows("a.jsonl", 10, 30);
  put_rows("b.jsonl", 30, 60);
  char list[1024];
  snprintf(list, sizeof list, "%s/inputs.urls", path_of("lists"));
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path_of("lists"));
  cr_assert_eq(system(cmd), 0);
  FILE *f = fopen(list, "w");
  cr_assert_not_null(f);
  fprintf(f, "# shards of the crawl\n%s/c.jsonl\n\n  %s/a.jsonl?X-Amz-Signature=SECRET  \n"
             "%s/b.jsonl   # the last one\n", ngx.url, ngx.url, ngx.url);
  fclose(f);
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.include_path = 1;
  weir_op *r = weir_read_jsonl(p, list, &ro);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, r, NULL, &it), WEIR_OK);
  int64_t want = 0;
  size_t rows = 0;
  weir_block *b;
  int rc;
  int64_t sum = 0;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column c;
    cr_assert_eq(weir_block_column(b, (size_t)weir_block_column_index(b, "id"), &c), WEIR_OK);
    for (size_t i = 0; i < c.length; i++)
      sum += ((const int64_t *)c.data)[i];
    rows += c.length;
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  for (int i = 0; i < 60; i++)
    want += i;
  cr_assert_eq(rows, 60, "rows %zu sum %lld", rows, (long long)sum);
  cr_assert_eq(sum, want);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);

  /* A missing URL names the list's line. */
  f = fopen(list, "w");
  fprintf(f, "%s/a.jsonl\n%s/absent.jsonl\n", ngx.url, ngx.url);
  fclose(f);
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  cr_assert_null(weir_read_jsonl(p, list, NULL));
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "inputs.urls:2") && strstr(msg, "absent.jsonl") && strstr(msg, "404"),
            "%s", msg);
  weir_pipeline_destroy(p);
}

Test(http_lists, globs_and_folders_over_http_say_http_cannot_be_listed) {
  put_rows("a.jsonl", 0, 5);
  const char *bad[] = {"/*.jsonl", "/", "/sub/", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char url[512];
    snprintf(url, sizeof url, "%s%s", ngx.url, bad[i]);
    weir_pipeline *p;
    cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
    cr_assert_null(weir_read_jsonl(p, url, NULL), "%s", url);
    const char *msg = weir_pipeline_errmsg(p);
    cr_assert(strstr(msg, "cannot be listed") && strstr(msg, ".urls"), "%s: %s", url, msg);
    weir_pipeline_destroy(p);
  }
}
