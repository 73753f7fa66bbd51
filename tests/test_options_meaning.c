/* Options that mean one thing everywhere: max_retries (0 = the struct's
 * default, WEIR_RETRIES_NONE = none, other negatives refused) in operator,
 * read and write options. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>

#include <weir.h>

#include "test_exec_util.h"

typedef struct flaky {
  atomic_int calls;
  int fail_first;            /* calls that fail before one succeeds */
} flaky;

static int flaky_fn(void *user, weir_block *in, weir_emit *out) {
  flaky *f = user;
  if (atomic_fetch_add(&f->calls, 1) < f->fail_first)
    return WEIR_EIO;
  return weir_emit_block(out, weir_block_ref(in));
}

/* Runs one block through a map with `retries` and a function that fails
 * `fail_first` times; returns the run's code and the retries counted. */
static int run_flaky(int retries, int fail_first, uint64_t *retried, int *calls) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  static eu_src s;
  memset(&s, 0, sizeof s);
  s.tasks = 1;
  s.blocks_per_task = 1;
  s.rows = 4;
  flaky f = {.fail_first = fail_first};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.max_retries = retries;
  weir_op *src = weir_source(p, "src", 1, eu_read, &s, NULL);
  weir_op *m = weir_map_batches(p, src, "flaky", flaky_fn, &f, &o);
  cr_assert_not_null(m, "max_retries %d: %s", retries, weir_pipeline_errmsg(p));
  int rc = weir_pipeline_run(p, m);
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, weir_op_index(m), &st), WEIR_OK);
  *retried = st.retries;
  *calls = atomic_load(&f.calls);
  weir_pipeline_destroy(p);
  return rc;
}

Test(options_meaning, op_max_retries_zero_is_the_default_none) {
  uint64_t r;
  int calls;
  cr_assert_eq(run_flaky(0, 1, &r, &calls), WEIR_EIO);
  cr_assert_eq(r, 0);
  cr_assert_eq(calls, 1);
}

Test(options_meaning, op_max_retries_none_is_accepted_and_means_none) {
  uint64_t r;
  int calls;
  cr_assert_eq(run_flaky(WEIR_RETRIES_NONE, 1, &r, &calls), WEIR_EIO);
  cr_assert_eq(r, 0);
  cr_assert_eq(calls, 1);
}

Test(options_meaning, op_max_retries_counts_retries_after_the_first_attempt) {
  uint64_t r;
  int calls;
  cr_assert_eq(run_flaky(2, 2, &r, &calls), WEIR_OK);
  cr_assert_eq(r, 2);
  cr_assert_eq(calls, 3);
  cr_assert_eq(run_flaky(2, 3, &r, &calls), WEIR_EIO);
  cr_assert_eq(calls, 3);
}

Test(options_meaning, other_negative_max_retries_are_refused_everywhere) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  static eu_src s = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  weir_op *src = weir_source(p, "src", 1, eu_read, &s, NULL);
  cr_assert_not_null(src);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.max_retries = -2;
  cr_assert_null(weir_map_batches(p, src, "m", flaky_fn, NULL, &o));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "max_retries -2"), "%s", weir_pipeline_errmsg(p));

  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.max_retries = -7;
  cr_assert_null(weir_read_text(p, WEIR_TEST_SOURCE_DIR "/README.md", &ro));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "max_retries -7"), "%s", weir_pipeline_errmsg(p));
  ro.max_retries = WEIR_RETRIES_NONE;
  cr_assert_not_null(weir_read_text(p, WEIR_TEST_SOURCE_DIR "/README.md", &ro),
                     "%s", weir_pipeline_errmsg(p));

  weir_write_options wo = WEIR_WRITE_OPTIONS_INIT;
  wo.max_retries = -3;
  cr_assert_null(weir_write_jsonl(p, src, "/tmp/weir-never-written", &wo));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "max_retries -3"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}
