/* Tests of the pull iterator: exact batches across block boundaries,
 * drop_last, the seeded local shuffle, backpressure from a slow consumer,
 * and destroying an unfinished iterator. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_exec_util.h"

static weir_iter *start(weir_pipeline **pp, eu_src *s, int workers, int ordered,
                        const weir_iter_options *io) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = workers;
  o.preserve_order = ordered;
  weir_op *src = weir_source(p, "src", s->tasks, eu_read, s, &o);
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, src, io, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  *pp = p;
  return it;
}

Test(iter, exact_batches_across_blocks) {
  eu_src s = {.tasks = 9, .blocks_per_task = 3, .rows = 11}; /* 297 rows */
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 32;
  weir_pipeline *p;
  weir_iter *it = start(&p, &s, 3, 0, &io);
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  weir_block *b;
  size_t full = 0, shortb = 0, last_rows = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    size_t n = weir_block_num_rows(b);
    if (n == 32)
      full++;
    else {
      shortb++;
      last_rows = n;
    }
    eu_seen_add(&seen, b);
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF);
  cr_assert_eq(weir_iter_next(it, &b), WEIR_EOF, "EOF again after the end");
  cr_assert_eq(full, 9);
  cr_assert_eq(shortb, 1);
  cr_assert_eq(last_rows, 297 - 9 * 32);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  weir_pipeline_stats ps;
  cr_assert_eq(weir_pipeline_get_stats(p, &ps), WEIR_OK);
  cr_assert_eq(ps.iter_batches, 10);
  cr_assert_geq(ps.iter_blocked_seconds, 0.0);
  cr_assert_eq(ps.bytes_in_flight, 0, "nothing is left in flight at the end");
  eu_seen_free(&seen);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

Test(iter, drop_last) {
  eu_src s = {.tasks = 9, .blocks_per_task = 3, .rows = 11};
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 32;
  io.drop_last = 1;
  weir_pipeline *p;
  weir_iter *it = start(&p, &s, 2, 0, &io);
  weir_block *b;
  size_t batches = 0, rows = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    cr_assert_eq(weir_block_num_rows(b), 32);
    rows += weir_block_num_rows(b);
    batches++;
    weir_block_unref(&b);
  }
  cr_assert_eq(batches, 9);
  cr_assert_eq(rows, 288);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

/* Runs a shuffled iteration and returns the ids in output order. */
static int64_t *shuffled(uint64_t seed, size_t *n, int drop_last) {
  eu_src s = {.tasks = 20, .blocks_per_task = 2, .rows = 25}; /* 1000 rows */
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 64;
  io.shuffle_buffer_rows = 300;
  io.seed = seed;
  io.drop_last = drop_last;
  weir_pipeline *p;
  /* One ordered source worker: the same input order every run. */
  weir_iter *it = start(&p, &s, 1, 1, &io);
  int64_t *ids = calloc(eu_total_rows(&s), sizeof *ids);
  size_t k = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    size_t rows = weir_block_num_rows(b);
    if (!drop_last || 1)
      cr_assert(rows == 64 || (!drop_last && rows == 1000 % 64), "batch of %zu rows", rows);
    const int64_t *c = eu_id_col(b);
    for (size_t i = 0; i < rows; i++)
      ids[k++] = c[i];
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF);
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  cr_assert_eq(ps.bytes_in_flight, 0, "the shuffle buffer is accounted and emptied");
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  *n = k;
  return ids;
}

Test(iter, shuffle_is_seeded_and_complete) {
  size_t n1, n2, n3;
  int64_t *a = shuffled(7, &n1, 0), *b = shuffled(7, &n2, 0), *c = shuffled(8, &n3, 0);
  cr_assert_eq(n1, 1000);
  cr_assert_eq(n2, 1000);
  cr_assert_eq(memcmp(a, b, n1 * sizeof *a), 0, "same seed, same input: same order");
  cr_assert_neq(memcmp(a, c, n1 * sizeof *a), 0, "another seed: another order");
  eu_seen seen;
  eu_seen_init(&seen, 1000);
  size_t in_place = 0;
  for (size_t i = 0; i < n1; i++) {
    if (a[i] >= 0 && a[i] < 1000)
      seen.count[a[i]]++;
    if (a[i] == (int64_t)i)
      in_place++;
  }
  cr_assert_eq(eu_seen_bad(&seen, 1), 0, "every row once");
  cr_assert_lt(in_place, 100, "rows are actually moved (%zu stayed in place)", in_place);
  eu_seen_free(&seen);
  free(a);
  free(b);
  free(c);
  size_t n4;
  int64_t *d = shuffled(7, &n4, 1);
  cr_assert_eq(n4, 960);
  free(d);
}

Test(iter, slow_consumer_keeps_memory_within_budget) {
  /* 4 MiB of data, a 256 KiB budget, 16 KiB blocks, a consumer slower than
   * the source: nothing is dropped and the bytes in flight stay bounded. */
  const size_t block_bytes = 16 * 1024, rows = 16;
  eu_src s = {.tasks = 256, .blocks_per_task = 1, .rows = rows, .pad = block_bytes / rows};
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = 256 * 1024;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 2;
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, &o);
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  weir_block *b;
  size_t k = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    if (k++ % 8 == 0)
      eu_sleep_us(2000);
    eu_seen_add(&seen, b);
    weir_block_unref(&b);
  }
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  size_t blk = block_bytes + rows * 8 + (rows + 1) * 8;
  /* The budget, plus one block that may always enter an empty pipeline,
   * plus one per hop where a pass-through holds the same block twice. */
  cr_assert_leq(ps.bytes_in_flight_peak, po.memory_budget + 3 * blk, "peak %zu, budget %zu",
                ps.bytes_in_flight_peak, po.memory_budget);
  cr_assert_gt(ps.bytes_in_flight_peak, po.memory_budget / 2,
               "the slow consumer let the pipeline fill up (peak %zu)", ps.bytes_in_flight_peak);
  weir_op_stats st;
  weir_pipeline_op_stats(p, 0, &st);
  cr_assert_gt(st.blocked_seconds, 0.0, "the source waited on the budget");
  cr_assert_gt(ps.iter_blocked_seconds, 0.0);
  eu_seen_free(&seen);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

Test(iter, destroy_unfinished_cancels) {
  eu_src s = {.tasks = 100000, .blocks_per_task = 1, .rows = 10, .delay_us = 100};
  weir_pipeline *p;
  weir_iter *it = start(&p, &s, 2, 0, NULL);
  weir_block *b;
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(weir_iter_next(it, &b), WEIR_OK);
    weir_block_unref(&b);
  }
  double t0 = eu_now();
  weir_iter_destroy(it);
  double dt = eu_now() - t0;
  cr_assert_lt(dt, 1.0, "destroy took %.3f s", dt);
  cr_assert_lt(atomic_load(&s.tasks_run), 100000);
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_ECANCELED);
  weir_pipeline_destroy(p);
}

Test(iter, bad_arguments) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_iter *it = (weir_iter *)1;
  cr_assert_eq(weir_pipeline_iter(p, NULL, NULL, &it), WEIR_EINVAL);
  cr_assert_null(it);
  weir_block *b;
  cr_assert_eq(weir_iter_next(NULL, &b), WEIR_EINVAL);
  weir_iter_destroy(NULL);
  weir_pipeline_destroy(p);
}
