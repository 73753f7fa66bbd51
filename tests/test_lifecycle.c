/* The life of a run seen from the caller: a limit that stops sources is a
 * success whatever the timing, and an iterator and its pipeline may be
 * destroyed in either order. */
#include <criterion/criterion.h>
#include <string.h>

#include <weir.h>

#include "test_exec_util.h"

static weir_pipeline *limited(eu_src *s, uint64_t rows, weir_op **out) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "src", s->tasks, eu_read, s, NULL);
  *out = weir_limit(p, src, rows);
  cr_assert_not_null(*out, "%s", weir_pipeline_errmsg(p));
  return p;
}

/* 50 tasks of 1000 rows, limit 100, iterated to the end: before the fix
 * the destroy that followed cancelled the sources still stopping, and
 * about one run in six reported WEIR_ECANCELED. */
Test(lifecycle, a_limit_reached_is_success_whatever_the_timing) {
  for (int run = 0; run < 40; run++) {
    eu_src s = {.tasks = 50, .blocks_per_task = 1, .rows = 1000};
    weir_op *lim;
    weir_pipeline *p = limited(&s, 100, &lim);
    weir_iter *it = NULL;
    cr_assert_eq(weir_pipeline_iter(p, lim, NULL, &it), WEIR_OK);
    size_t rows = 0;
    weir_block *b;
    int rc;
    while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
      rows += weir_block_num_rows(b);
      weir_block_unref(&b);
    }
    cr_assert_eq(rc, WEIR_EOF, "run %d: %s", run, weir_pipeline_errmsg(p));
    cr_assert_eq(rows, 100);
    weir_iter_destroy(it);
    cr_assert_eq(weir_pipeline_errcode(p), WEIR_OK, "run %d: %s", run, weir_pipeline_errmsg(p));
    cr_assert_str_empty(weir_pipeline_errmsg(p), "run %d", run);
    char *json = NULL;
    cr_assert_eq(weir_pipeline_stats_json(p, &json), WEIR_OK);
    cr_assert(strstr(json, "\"status\": \"WEIR_OK\""), "run %d: %s", run, json);
    free(json);
    weir_pipeline_destroy(p);
  }
}

Test(lifecycle, a_limit_reached_with_pipeline_run_is_success) {
  for (int run = 0; run < 20; run++) {
    eu_src s = {.tasks = 50, .blocks_per_task = 1, .rows = 1000};
    weir_op *lim;
    weir_pipeline *p = limited(&s, 100, &lim);
    cr_assert_eq(weir_pipeline_run(p, lim), WEIR_OK, "%s", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
  }
}

/* An iterator stopped early is still a cancel. */
Test(lifecycle, an_iterator_destroyed_early_cancels) {
  eu_src s = {.tasks = 200, .blocks_per_task = 4, .rows = 1000, .delay_us = 2000};
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  weir_block *b;
  cr_assert_eq(weir_iter_next(it, &b), WEIR_OK);
  weir_block_unref(&b);
  weir_iter_destroy(it);
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_ECANCELED);
  weir_pipeline_destroy(p);
}

/* The order of the report: pipeline destroyed while this thread still
 * holds its iterator. Run under ASan in CI: no invalid read, no leak. */
Test(lifecycle, pipeline_destroyed_before_its_iterator) {
  eu_src s = {.tasks = 20, .blocks_per_task = 4, .rows = 100};
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  weir_block *b = NULL;
  cr_assert_eq(weir_iter_next(it, &b), WEIR_OK);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
  cr_assert_eq(weir_iter_next(it, &b), WEIR_ECANCELED);
  cr_assert_null(b);
  cr_assert_eq(weir_iter_next(it, &b), WEIR_ECANCELED);
  weir_iter_destroy(it);
}

Test(lifecycle, pipeline_destroyed_before_a_finished_iterator) {
  eu_src s = {.tasks = 3, .blocks_per_task = 1, .rows = 10};
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  weir_block *b = NULL;
  while (weir_iter_next(it, &b) == WEIR_OK)
    weir_block_unref(&b);
  weir_pipeline_destroy(p);
  cr_assert_eq(weir_iter_next(it, &b), WEIR_ECANCELED);
  weir_iter_destroy(it);
}
