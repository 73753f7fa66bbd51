/* Integration tests of the adaptive scheduler: pools change size while
 * running and every row still arrives once; pinned and fixed pools stay;
 * named resources cap pools; per-worker state stays paired across
 * resizes. The decision function itself is unit-tested in
 * test_autoscale_policy.c. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_exec_util.h"

static void burn_us(double us) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  double end = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3 + us;
  volatile unsigned x = 1;
  for (;;) {
    for (int i = 0; i < 100; i++)
      x = x * 1664525u + 1013904223u;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    if ((double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3 >= end)
      break;
  }
}

static int wait_2ms(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  eu_sleep_us(2000);
  return weir_emit_block(out, weir_block_ref(in));
}

static int cpu_300us(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  burn_us(300);
  return weir_emit_block(out, weir_block_ref(in));
}

static weir_pipeline *mk(int fixed, weir_log_fn log, void *user) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.fixed_pools = fixed;
  po.log_level = WEIR_LOG_DEBUG;
  po.log_fn = log;
  po.log_user = user;
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  return p;
}

typedef struct logs {
  pthread_mutex_t mu;
  int resize_lines;
  char first[256];
} logs;

static void count_resizes(void *user, int level, const char *msg) {
  logs *l = user;
  pthread_mutex_lock(&l->mu);
  if (level == WEIR_LOG_DEBUG && strstr(msg, "workers") && strstr(msg, "->")) {
    if (!l->resize_lines++)
      snprintf(l->first, sizeof l->first, "%s", msg);
  }
  pthread_mutex_unlock(&l->mu);
}

Test(sched, waiting_bottleneck_grows_and_rows_arrive_once) {
  static logs lg = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
  eu_src s = {.tasks = 600, .blocks_per_task = 1, .rows = 4};
  weir_pipeline *p = mk(0, count_resizes, &lg);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_cpus = 0; /* it waits: holds no CPU slot */
  o.max_workers = 8;
  weir_op *w = weir_map_batches(p, src, "waits", wait_2ms, NULL, &o);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, w, NULL, &it), WEIR_OK);
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    eu_seen_add(&seen, b);
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(w), &st);
  cr_assert_geq(st.workers_peak, 3, "the waiting stage grew (peak %d)", st.workers_peak);
  cr_assert_leq(st.workers_peak, 8);
  cr_assert_gt(st.resizes, 0);
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  /* The pipeline counts every operator's resizes (the source's too), and
   * each resize logged one line with its reason. */
  weir_op_stats sst;
  weir_pipeline_op_stats(p, weir_op_index(src), &sst);
  cr_assert_eq(ps.resizes, (uint64_t)st.resizes + (uint64_t)sst.resizes,
               "pipeline %llu, operators %llu + %llu", (unsigned long long)ps.resizes,
               (unsigned long long)st.resizes, (unsigned long long)sst.resizes);
  pthread_mutex_lock(&lg.mu);
  cr_assert_eq((uint64_t)lg.resize_lines, ps.resizes, "%d lines logged for %llu resizes",
               lg.resize_lines, (unsigned long long)ps.resizes);
  pthread_mutex_unlock(&lg.mu);
  cr_assert(strstr(lg.first, "waits") && strstr(lg.first, "util"), "logged with reason: %s",
            lg.first);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(sched, fixed_and_pinned_pools_do_not_move) {
  for (int mode = 0; mode < 2; mode++) {
    eu_src s = {.tasks = 300, .blocks_per_task = 1, .rows = 4};
    weir_pipeline *p = mk(mode == 0, NULL, NULL);
    weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
    weir_op_options o = WEIR_OP_OPTIONS_INIT;
    o.num_cpus = 0;
    o.min_workers = 2;
    o.max_workers = mode == 0 ? 8 : 2; /* mode 1: pinned by min == max */
    weir_op *w = weir_map_batches(p, src, "waits", wait_2ms, NULL, &o);
    cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK);
    weir_op_stats st;
    weir_pipeline_op_stats(p, weir_op_index(w), &st);
    cr_assert_eq(st.resizes, 0, "mode %d", mode);
    cr_assert_eq(st.workers_peak, 2, "mode %d", mode);
    cr_assert_eq(st.rows_out, 1200);
    weir_pipeline_destroy(p);
  }
}

Test(sched, named_resources_cap_the_pool) {
  eu_src s = {.tasks = 500, .blocks_per_task = 1, .rows = 4};
  weir_pipeline *p = mk(0, NULL, NULL);
  cr_assert_eq(weir_pipeline_set_resource(p, "accel", 2), WEIR_OK);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_cpus = 0;
  weir_op *w = weir_map_batches(p, src, "accel_op", wait_2ms, NULL, &o);
  cr_assert_eq(weir_op_set_resource(w, "accel", 1), WEIR_OK);
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(w), &st);
  cr_assert_eq(st.workers_peak, 2, "two accel slots, one per worker (peak %d)", st.workers_peak);
  cr_assert_eq(st.rows_out, 2000);
  weir_pipeline_destroy(p);
}

Test(sched, resource_errors) {
  weir_pipeline *p = mk(0, NULL, NULL);
  eu_src s = {.tasks = 5, .blocks_per_task = 1, .rows = 4};
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op *w = weir_map_batches(p, src, "needs_tpu", wait_2ms, NULL, NULL);
  cr_assert_eq(weir_pipeline_set_resource(p, "accel", -1), WEIR_EINVAL);
  cr_assert_eq(weir_op_set_resource(w, "tpu", 1), WEIR_OK);
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "tpu") && strstr(weir_pipeline_errmsg(p), "needs_tpu"),
            "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  p = mk(0, NULL, NULL);
  weir_pipeline_set_resource(p, "accel", 1);
  src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 3;
  w = weir_map_batches(p, src, "three", wait_2ms, NULL, &o);
  weir_op_set_resource(w, "accel", 1);
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_EINVAL, "3 workers cannot hold 1 accel");
  cr_assert(strstr(weir_pipeline_errmsg(p), "accel"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

/* Per-worker state across grows and shrinks: every init destroyed, every
 * worker that leaves (shrink or end) finishes, and its kept block arrives. */
typedef struct counters {
  atomic_int inits, destroys, finishes, bad_index;
} counters;

static int k_init(void *user, int worker, void **state) {
  counters *c = user;
  if (worker < 0 || worker >= 6)
    atomic_fetch_add(&c->bad_index, 1);
  atomic_fetch_add(&c->inits, 1);
  *state = calloc(1, sizeof(void *) * 2);
  ((void **)*state)[1] = c;
  return WEIR_OK;
}
static int k_process(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  weir_block **kept = state;
  (void)ctx;
  /* Waits like a device call, so the pool grows; then the input thins
   * out and it shrinks. */
  eu_sleep_us(1500);
  weir_block *prev = kept[0];
  kept[0] = weir_block_ref(in);
  return prev ? weir_emit_block(out, prev) : WEIR_OK;
}
static int k_finish(void *state, weir_emit *out, weir_ctx *ctx) {
  weir_block **kept = state;
  counters *c = ((void **)state)[1];
  (void)ctx;
  atomic_fetch_add(&c->finishes, 1);
  weir_block *k = kept[0];
  kept[0] = NULL;
  return k ? weir_emit_block(out, k) : WEIR_OK;
}
static void k_destroy(void *state) {
  weir_block **kept = state;
  counters *c = ((void **)state)[1];
  atomic_fetch_add(&c->destroys, 1);
  weir_block_unref(&kept[0]);
  free(state);
}

typedef struct phased {
  eu_src s;
} phased;

static int phased_read(void *user, size_t task, weir_emit *out) {
  /* A fast first half, then a slow trickle: the consumer pool should grow,
   * then shrink. */
  if (task >= 300)
    eu_sleep_us(8000);
  return eu_read(user, task, out);
}

Test(sched, state_pairs_across_resizes) {
  static counters c;
  memset(&c, 0, sizeof c);
  eu_src s = {.tasks = 400, .blocks_per_task = 1, .rows = 3};
  weir_pipeline *p = mk(0, NULL, NULL);
  weir_op *src = weir_source(p, "src", s.tasks, phased_read, &s, NULL);
  weir_op_def def = {WEIR_OP_DEF_VERSION, "keeper", k_init, k_process, k_finish, k_destroy};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_cpus = 0;
  o.max_workers = 6;
  weir_op *k = weir_add_op(p, src, &def, &c, &o);
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, k, NULL, &it), WEIR_OK);
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    eu_seen_add(&seen, b);
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0, "blocks kept by leaving workers arrive");
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(k), &st);
  cr_assert_gt(st.workers_peak, 1, "grew");
  cr_assert_eq(atomic_load(&c.inits), atomic_load(&c.destroys));
  cr_assert_eq(atomic_load(&c.inits), atomic_load(&c.finishes));
  cr_assert_geq(atomic_load(&c.inits), st.workers_peak);
  cr_assert_eq(atomic_load(&c.bad_index), 0, "worker indices stay below max_workers");
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(sched, cpu_pipeline_adapts_and_stays_within_pool_bounds) {
  eu_src s = {.tasks = 1500, .blocks_per_task = 1, .rows = 2};
  weir_pipeline *p = mk(0, NULL, NULL);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.max_workers = 3;
  weir_op *a = weir_map_batches(p, src, "cpu", cpu_300us, NULL, &o);
  weir_op *w = weir_map_batches(p, a, "waits", wait_2ms, NULL, NULL);
  (void)w;
  weir_op_options ow = WEIR_OP_OPTIONS_INIT;
  (void)ow;
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK);
  weir_op_stats sa, sw;
  weir_pipeline_op_stats(p, weir_op_index(a), &sa);
  weir_pipeline_op_stats(p, weir_op_index(w), &sw);
  cr_assert_leq(sa.workers_peak, 3);
  cr_assert_eq(sw.rows_out, 3000);
  cr_assert_gt(sw.workers_peak, 1, "the 2 ms waiting stage is the bottleneck and grows");
  weir_pipeline_destroy(p);
}
