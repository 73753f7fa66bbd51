/* Skipped data is easy to see: each malformed line is logged up to a
 * limit per file, then one "N more" line; the summary shows skipped rows
 * and ends "success, N rows skipped"; the stats JSON carries the error
 * message; a reader's rows_out counts rows, not chunks. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <weir.h>

#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("skipped-visibility"); }
TestSuite(skipped, .init = make_tmp, .fini = tmpdir_remove, .timeout = 60);

typedef struct logbuf {
  pthread_mutex_t mu;
  char text[1 << 16];
} logbuf;

static void log_to(void *user, int level, const char *msg) {
  logbuf *l = user;
  (void)level;
  pthread_mutex_lock(&l->mu);
  size_t n = strlen(l->text);
  snprintf(l->text + n, sizeof l->text - n, "%s\n", msg);
  pthread_mutex_unlock(&l->mu);
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *q = hay; (q = strstr(q, needle)); q++)
    n++;
  return n;
}

/* `good` rows with `bad` malformed lines spread among them. */
static void write_jsonl(const char *name, int good, int bad) {
  FILE *f = fopen(path_of(name), "w");
  cr_assert_not_null(f);
  int total = good + bad;
  for (int i = 0; i < total; i++) {
    if (i % 4 == 1 && bad > 0) {
      fprintf(f, "{\"a\": oops %d\n", i);
      bad--;
    } else if (good-- > 0) {
      fprintf(f, "{\"a\": %d}\n", i);
    }
  }
  while (bad-- > 0)
    fputs("not json\n", f);
  fclose(f);
}

Test(skipped, malformed_lines_are_logged_up_to_a_limit_then_counted) {
  write_jsonl("many.jsonl", 100, 25);
  write_jsonl("few.jsonl", 50, 3);
  static logbuf lb = {PTHREAD_MUTEX_INITIALIZER, ""};
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.log_fn = log_to;
  po.log_user = &lb;
  po.summary = 1;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.on_error = WEIR_ON_ERROR_SKIP;
  weir_op *r = weir_read_jsonl(p, path_of("*.jsonl"), &ro);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_OK, "%s", weir_pipeline_errmsg(p));

  /* Per file: every malformed line up to 10, then one count. */
  char many[700], few[700];
  snprintf(many, sizeof many, "skipping %s", path_of("many.jsonl"));
  snprintf(few, sizeof few, "skipping %s", path_of("few.jsonl"));
  cr_assert_eq(count(lb.text, many), 10, "%s", lb.text);
  cr_assert_eq(count(lb.text, few), 3, "%s", lb.text);
  cr_assert(strstr(lb.text, "15 more malformed rows skipped (25 in all)"), "%s", lb.text);
  cr_assert_eq(count(lb.text, "more malformed rows skipped"), 1, "%s", lb.text);

  /* The summary shows them and does not say plain "success". */
  cr_assert(strstr(lb.text, "skipped") && strstr(lb.text, "success, 28 rows skipped"), "%s",
            lb.text);

  /* The chunk source counts rows, not chunks. */
  weir_op_stats src;
  cr_assert_eq(weir_pipeline_op_stats(p, 0, &src), WEIR_OK);
  cr_assert_str_eq(src.name, "read_jsonl");
  cr_assert_eq(src.rows_out, 150);
  weir_op_stats parse;
  cr_assert_eq(weir_pipeline_op_stats(p, weir_op_index(r), &parse), WEIR_OK);
  cr_assert_eq(parse.rows_out, 150);
  cr_assert_eq(parse.skipped_rows, 28);
  weir_pipeline_destroy(p);
}

Test(skipped, the_stats_json_says_why_a_run_failed) {
  write_jsonl("bad.jsonl", 5, 1);
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *r = weir_read_jsonl(p, path_of("bad.jsonl"), NULL);
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_EFORMAT);
  char *json = NULL;
  cr_assert_eq(weir_pipeline_stats_json(p, &json), WEIR_OK);
  cr_assert(strstr(json, "\"status\": \"WEIR_EFORMAT\"") && strstr(json, "\"message\": \"") &&
                strstr(json, "bad.jsonl:2"), "%s", json);
  free(json);
  weir_pipeline_destroy(p);
}
