/* Tests of spilling in the executor: held outputs of a preserve_order
 * pipeline behind one slow call, and a repartition gathering more than the
 * memory budget, go to local disk and come back in order. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_exec_util.h"

#define ROWS 512
#define PAD 120

/* A source whose task t emits one block of ids [t*rows, (t+1)*rows); task
 * `slow` sleeps first, so the later tasks' outputs wait for it. */
typedef struct slow_src {
  size_t rows, pad, slow;
  long slow_us;
} slow_src;

static int slow_read(void *user, size_t task, weir_emit *out) {
  slow_src *s = user;
  if (task == s->slow)
    eu_sleep_us(s->slow_us);
  weir_block *b = eu_ids((int64_t)(task * s->rows), s->rows, s->pad);
  return b ? weir_emit_block(out, b) : WEIR_ENOMEM;
}

/* The sink: checks the ids arrive as 0, 1, 2, ... with nothing lost,
 * repeated or reordered, and counts blocks of each size. */
typedef struct order_sink {
  int64_t next;
  size_t bad, blocks, exact_blocks, exact_rows;
} order_sink;

static int order_check(void *user, weir_block *in, weir_emit *out) {
  (void)out;
  order_sink *s = user;
  const int64_t *ids = eu_id_col(in);
  size_t n = weir_block_num_rows(in);
  for (size_t i = 0; i < n; i++)
    if (!ids || ids[i] != s->next + (int64_t)i)
      s->bad++;
  s->next += (int64_t)n;
  s->blocks++;
  if (s->exact_rows && n == s->exact_rows)
    s->exact_blocks++;
  return WEIR_OK;
}

typedef struct run_result {
  int rc;
  char errmsg[1024];
  weir_op_stats src, sink, mid;
  weir_pipeline_stats ps;
  double seconds;
  char *json, *table;
} run_result;

/* source (ordered, 8 I/O workers) -> [repartition] -> ordered sink. */
static void run_ordered(size_t tasks, size_t rows, size_t pad, long slow_us, size_t budget,
                        size_t repart_rows, const char *spill_dir, int no_spill, order_sink *sink,
                        run_result *r) {
  memset(r, 0, sizeof *r);
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = budget;
  po.fixed_pools = 1;
  po.spill_dir = spill_dir;
  po.no_spill = no_spill;
  po.stall_seconds = -1;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  slow_src src = {rows, pad, 1, slow_us};
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.min_workers = so.max_workers = 8;
  so.num_cpus = 0;
  weir_op *s = weir_source(p, "slow_source", tasks, slow_read, &src, &so);
  cr_assert_not_null(s, "%s", weir_pipeline_errmsg(p));
  weir_op *mid = s;
  if (repart_rows) {
    mid = weir_repartition(p, s, repart_rows);
    cr_assert_not_null(mid, "%s", weir_pipeline_errmsg(p));
  }
  weir_op_options ko = WEIR_OP_OPTIONS_INIT;
  ko.min_workers = ko.max_workers = 1;
  ko.preserve_order = 1;
  weir_op *k = weir_map_batches(p, mid, "order_check", order_check, sink, &ko);
  cr_assert_not_null(k, "%s", weir_pipeline_errmsg(p));
  double t0 = eu_now();
  r->rc = weir_pipeline_run(p, k);
  r->seconds = eu_now() - t0;
  snprintf(r->errmsg, sizeof r->errmsg, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_op_stats(p, weir_op_index(s), &r->src);
  weir_pipeline_op_stats(p, weir_op_index(k), &r->sink);
  weir_pipeline_op_stats(p, weir_op_index(mid), &r->mid);
  weir_pipeline_get_stats(p, &r->ps);
  weir_pipeline_stats_json(p, &r->json);
  weir_pipeline_stats_table(p, &r->table);
  weir_pipeline_destroy(p);
}

static size_t block_bytes(size_t rows, size_t pad) {
  weir_block *b = eu_ids(0, rows, pad);
  size_t n = weir_block_nbytes(b);
  weir_block_unref(&b);
  return n;
}

Test(exec_spill, ordered_slow_block_spills_and_keeps_order) {
  const size_t tasks = 96, budget = 512 * 1024;
  size_t bb = block_bytes(ROWS, PAD);
  order_sink sink = {0};
  run_result r;
  run_ordered(tasks, ROWS, PAD, 300000, budget, 0, NULL, 0, &sink, &r);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.errmsg);
  cr_expect_eq(sink.bad, 0, "%zu rows out of order, lost or repeated", sink.bad);
  cr_expect_eq((size_t)sink.next, tasks * ROWS);
  cr_expect_eq(r.sink.rows_in, tasks * ROWS);
  cr_expect_gt(r.src.spilled_bytes, 0, "nothing spilled");
  cr_expect_gt(r.src.spilled_blocks, 0);
  cr_expect_leq(r.ps.bytes_in_flight_peak, budget + bb, "peak %zu over a budget of %zu + %zu",
                r.ps.bytes_in_flight_peak, budget, bb);
  cr_expect_eq(r.ps.bytes_in_flight, 0);
  cr_assert_not_null(r.json);
  char want[96];
  snprintf(want, sizeof want, "\"spilled_blocks\": %llu", (unsigned long long)r.src.spilled_blocks);
  cr_expect_not_null(strstr(r.json, want), "%s", r.json);
  cr_assert_not_null(r.table);
  snprintf(want, sizeof want, "slow_source: spilled %llu blocks",
           (unsigned long long)r.src.spilled_blocks);
  cr_expect_not_null(strstr(r.table, want), "%s", r.table);
  free(r.json);
  free(r.table);
}

Test(exec_spill, no_spill_holds_in_memory_past_the_budget) {
  /* The same run with spilling off: the held outputs pass the budget,
   * which is what spilling avoids; order is kept either way. */
  const size_t tasks = 96, budget = 512 * 1024;
  size_t bb = block_bytes(ROWS, PAD);
  order_sink sink = {0};
  run_result r;
  run_ordered(tasks, ROWS, PAD, 300000, budget, 0, NULL, 1, &sink, &r);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.errmsg);
  cr_expect_eq(sink.bad, 0);
  cr_expect_eq((size_t)sink.next, tasks * ROWS);
  cr_expect_eq(r.src.spilled_bytes, 0);
  cr_expect_gt(r.ps.bytes_in_flight_peak, budget + bb, "peak %zu", r.ps.bytes_in_flight_peak);
  free(r.json);
  free(r.table);
}

Test(exec_spill, repartition_larger_than_budget) {
  /* 4096-row output blocks of ~550 KiB each, under a 256 KiB budget. */
  const size_t tasks = 40, rows = 256, pad = 120, per = 4096, budget = 256 * 1024;
  cr_assert_gt(block_bytes(per, pad), budget);
  order_sink sink = {0};
  sink.exact_rows = per;
  run_result r;
  run_ordered(tasks, rows, pad, 0, budget, per, NULL, 0, &sink, &r);
  cr_assert_eq(r.rc, WEIR_OK, "%s", r.errmsg);
  size_t total = tasks * rows;
  cr_expect_eq(sink.bad, 0);
  cr_expect_eq((size_t)sink.next, total);
  cr_expect_eq(sink.exact_blocks, total / per, "%zu exact blocks of %zu", sink.exact_blocks,
               sink.blocks);
  cr_expect_eq(sink.blocks, total / per + (total % per != 0));
  cr_expect_gt(r.mid.spilled_bytes, 0, "the repartition spilled nothing");
  cr_expect_eq(r.ps.bytes_in_flight, 0);
  free(r.json);
  free(r.table);
}

Test(exec_spill, unwritable_spill_dir_is_a_clear_error) {
  /* A folder below a regular file can never be created, also for root. */
  char file[] = "/tmp/weir-spill-test-XXXXXX";
  int fd = mkstemp(file);
  cr_assert_geq(fd, 0);
  close(fd);
  char dir[128];
  snprintf(dir, sizeof dir, "%s/spill", file);
  order_sink sink = {0};
  run_result r;
  run_ordered(96, ROWS, PAD, 300000, 512 * 1024, 0, dir, 0, &sink, &r);
  unlink(file);
  cr_expect_neq(r.rc, WEIR_OK);
  cr_expect_not_null(strstr(r.errmsg, "slow_source"), "%s", r.errmsg);
  cr_expect_not_null(strstr(r.errmsg, dir), "%s", r.errmsg);
  cr_expect_lt(r.seconds, 10.0);
  free(r.json);
  free(r.table);
}

/* Three blocks per task; task 5's first attempt fails after two of them,
 * so the retry must replace what it had spilled, not add to it. */
typedef struct flaky_src {
  slow_src base;
  atomic_int failed;
} flaky_src;

static int flaky_read(void *user, size_t task, weir_emit *out) {
  flaky_src *f = user;
  size_t rows = f->base.rows;
  if (task == f->base.slow)
    eu_sleep_us(f->base.slow_us);
  for (size_t k = 0; k < 3; k++) {
    if (task == 5 && k == 2 && atomic_exchange(&f->failed, 1) == 0)
      return WEIR_EIO;
    weir_block *b = eu_ids((int64_t)((task * 3 + k) * rows), rows, f->base.pad);
    int rc = b ? weir_emit_block(out, b) : WEIR_ENOMEM;
    if (rc != WEIR_OK)
      return rc;
  }
  return WEIR_OK;
}

Test(exec_spill, retried_call_spills_and_replaces_its_output) {
  const size_t tasks = 48, budget = 512 * 1024;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = budget;
  po.fixed_pools = 1;
  po.stall_seconds = -1;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  flaky_src src = {{ROWS, PAD, 1, 200000}, 0};
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.min_workers = so.max_workers = 8;
  so.num_cpus = 0;
  so.max_retries = 1;
  weir_op *s = weir_source(p, "flaky_source", tasks, flaky_read, &src, &so);
  cr_assert_not_null(s, "%s", weir_pipeline_errmsg(p));
  order_sink sink = {0};
  weir_op_options ko = WEIR_OP_OPTIONS_INIT;
  ko.min_workers = ko.max_workers = 1;
  ko.preserve_order = 1;
  weir_op *k = weir_map_batches(p, s, "order_check", order_check, &sink, &ko);
  cr_assert_not_null(k, "%s", weir_pipeline_errmsg(p));
  int rc = weir_pipeline_run(p, k);
  cr_assert_eq(rc, WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(s), &st);
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  cr_expect_eq(atomic_load(&src.failed), 1);
  cr_expect_eq(st.retries, 1);
  cr_expect_gt(st.spilled_blocks, 0);
  cr_expect_eq(sink.bad, 0, "%zu rows out of order, lost or repeated", sink.bad);
  cr_expect_eq((size_t)sink.next, tasks * 3 * ROWS);
  cr_expect_eq(ps.bytes_in_flight, 0);
  weir_pipeline_destroy(p);
}
