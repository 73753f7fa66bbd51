/* Tests of pipeline runs: delivery through the built-in operators, fan-out
 * and union, limit, errors, retries, skips, per-worker state and order. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_exec_util.h"

static weir_pipeline *mk(weir_pipeline_options *o) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, o), WEIR_OK);
  return p;
}

/* Drains `out` through an iterator, recording ids; returns the run code. */
static int drain(weir_pipeline *p, weir_op *out, eu_seen *seen, size_t *batches) {
  weir_iter *it = NULL;
  int rc = weir_pipeline_iter(p, out, NULL, &it);
  if (rc != WEIR_OK)
    return rc;
  weir_block *b;
  size_t n = 0;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    if (seen)
      eu_seen_add(seen, b);
    n++;
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  if (batches)
    *batches = n;
  return rc == WEIR_EOF ? WEIR_OK : rc;
}

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

/* Splits each block in two halves: the executor must keep every row. */
static int split(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  size_t n = weir_block_num_rows(in), h = n / 2;
  weir_block *head = NULL, *tail = NULL;
  int rc = weir_block_slice(in, 0, h, &head);
  if (rc == WEIR_OK) rc = weir_emit_block(out, head);
  if (rc == WEIR_OK) rc = weir_block_slice(in, h, n - h, &tail);
  if (rc == WEIR_OK) rc = weir_emit_block(out, tail);
  return rc;
}

Test(pipeline, chain_delivers_every_row_once) {
  eu_src s = {.tasks = 40, .blocks_per_task = 3, .rows = 17};
  weir_pipeline *p = mk(NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 3;
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, &o);
  weir_op *m = weir_map_batches(p, src, "split", split, NULL, &o);
  weir_op *r = weir_repartition(p, m, 50);
  weir_op *m2 = weir_map_batches(p, r, "pass", pass, NULL, NULL);
  cr_assert_not_null(m2, "%s", weir_pipeline_errmsg(p));
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  cr_assert_eq(drain(p, m2, &seen, NULL), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  cr_assert_eq(atomic_load(&s.tasks_run), (long)s.tasks);
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, weir_op_index(r), &st), WEIR_OK);
  cr_assert_eq(st.rows_out, eu_total_rows(&s));
  cr_assert_eq(st.blocks_out, (eu_total_rows(&s) + 49) / 50);
  cr_assert_eq(weir_pipeline_op_stats(p, 0, &st), WEIR_OK);
  cr_assert_str_eq(st.name, "src");
  cr_assert_eq(st.tasks, s.tasks);
  cr_assert_eq(weir_pipeline_op_stats(p, 99, &st), WEIR_EINVAL);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

/* Checks exact block sizes out of a repartition: all full but the last. */
static int check_size(void *user, weir_block *in, weir_emit *out) {
  size_t *bad = user;
  (void)out;
  if (weir_block_num_rows(in) != 50)
    (*bad)++;
  return weir_emit_block(out, weir_block_ref(in));
}

Test(pipeline, repartition_exact_sizes) {
  eu_src s = {.tasks = 10, .blocks_per_task = 7, .rows = 13}; /* 910 rows */
  weir_pipeline *p = mk(NULL);
  size_t bad = 0;
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op *r = weir_repartition(p, src, 50);
  weir_op_options one = WEIR_OP_OPTIONS_INIT;
  one.min_workers = one.max_workers = 1;
  weir_op *c = weir_map_batches(p, r, "check", check_size, &bad, &one);
  cr_assert_eq(weir_pipeline_run(p, c), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(bad, 1, "only the last block may be short (910 = 18*50 + 10)");
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(c), &st);
  cr_assert_eq(st.rows_in, 910);
  weir_pipeline_destroy(p);
}

Test(pipeline, fan_out_and_union) {
  eu_src s = {.tasks = 20, .blocks_per_task = 2, .rows = 10};
  weir_pipeline *p = mk(NULL);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op *a = weir_map_batches(p, src, "a", pass, NULL, NULL);
  weir_op *b = weir_map_batches(p, src, "b", split, NULL, NULL);
  weir_op *ins[2] = {a, b};
  weir_op *u = weir_union(p, ins, 2);
  cr_assert_not_null(u, "%s", weir_pipeline_errmsg(p));
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  cr_assert_eq(drain(p, u, &seen, NULL), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(eu_seen_bad(&seen, 2), 0, "each branch of the fan-out gets every row");
  cr_assert_eq(atomic_load(&s.tasks_run), (long)s.tasks, "the source ran once");
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(pipeline, run_with_null_out_runs_every_sink) {
  eu_src s = {.tasks = 8, .blocks_per_task = 2, .rows = 5};
  weir_pipeline *p = mk(NULL);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op *a = weir_map_batches(p, src, "a", pass, NULL, NULL);
  weir_op *b = weir_map_batches(p, src, "b", pass, NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, NULL), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_op_stats sa, sb;
  weir_pipeline_op_stats(p, weir_op_index(a), &sa);
  weir_pipeline_op_stats(p, weir_op_index(b), &sb);
  cr_assert_eq(sa.rows_out, 80);
  cr_assert_eq(sb.rows_out, 80);
  cr_assert_eq(weir_pipeline_run(p, NULL), WEIR_EINVAL, "a pipeline runs once");
  weir_pipeline_destroy(p);
}

Test(pipeline, only_upstream_of_out_runs) {
  eu_src s = {.tasks = 4, .blocks_per_task = 1, .rows = 5};
  weir_pipeline *p = mk(NULL);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op *a = weir_map_batches(p, src, "a", pass, NULL, NULL);
  weir_op *b = weir_map_batches(p, src, "b", pass, NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, a), WEIR_OK);
  weir_op_stats sb;
  weir_pipeline_op_stats(p, weir_op_index(b), &sb);
  cr_assert_eq(sb.rows_in, 0, "an op not upstream of out does not run");
  weir_pipeline_destroy(p);
}

Test(pipeline, limit_stops_sources_early) {
  eu_src s = {.tasks = 2000, .blocks_per_task = 1, .rows = 10, .delay_us = 200};
  weir_pipeline *p = mk(NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 2;
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, &o);
  weir_op *m = weir_map_batches(p, src, "pass", pass, NULL, NULL);
  weir_op *l = weir_limit(p, m, 55);
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  cr_assert_eq(drain(p, l, &seen, NULL), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  size_t got = 0;
  for (size_t i = 0; i < seen.n; i++)
    got += seen.count[i];
  cr_assert_eq(got, 55);
  cr_assert_eq(seen.out_of_range, 0);
  long ran = atomic_load(&s.tasks_run);
  /* Queues hold up to 64 blocks each; far fewer than all tasks may run. */
  cr_assert_lt(ran, 300, "read tasks that ran: %ld of %zu", ran, s.tasks);
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(l), &st);
  cr_assert_eq(st.rows_out, 55);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(pipeline, limit_zero_and_more_than_input) {
  eu_src s = {.tasks = 10, .blocks_per_task = 1, .rows = 10};
  weir_pipeline *p = mk(NULL);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op *l = weir_limit(p, src, 0);
  eu_seen seen;
  eu_seen_init(&seen, 100);
  cr_assert_eq(drain(p, l, &seen, NULL), WEIR_OK);
  cr_assert_eq(eu_seen_bad(&seen, 0), 0);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);

  eu_src s2 = {.tasks = 10, .blocks_per_task = 1, .rows = 10};
  p = mk(NULL);
  src = weir_source(p, "src", s2.tasks, eu_read, &s2, NULL);
  l = weir_limit(p, src, 1000);
  eu_seen_init(&seen, 100);
  cr_assert_eq(drain(p, l, &seen, NULL), WEIR_OK);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

static int fail_on_3(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  const int64_t *id = eu_id_col(in);
  if (id[0] == 30) {
    weir_ctx_set_errmsg(weir_emit_ctx(out), "row id %lld is poisoned", (long long)id[0]);
    return WEIR_EIO;
  }
  return weir_emit_block(out, weir_block_ref(in));
}

Test(pipeline, error_names_operator_and_cause) {
  eu_src s = {.tasks = 50, .blocks_per_task = 1, .rows = 10};
  weir_pipeline *p = mk(NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 2;
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, &o);
  weir_op *m = weir_map_batches(p, src, "poison", fail_on_3, NULL, &o);
  weir_op *m2 = weir_map_batches(p, m, "after", pass, NULL, NULL);
  int rc = weir_pipeline_run(p, m2);
  cr_assert_eq(rc, WEIR_EIO);
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EIO);
  const char *msg = weir_pipeline_errmsg(p);
  cr_assert(strstr(msg, "poison") && strstr(msg, "row id 30 is poisoned"), "errmsg: %s", msg);
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(m), &st);
  cr_assert_eq(st.errors, 1);
  weir_pipeline_destroy(p);
}

static int src_fail(void *user, size_t task, weir_emit *out) {
  (void)user;
  if (task == 5)
    return WEIR_EFORMAT;
  return weir_emit_block(out, eu_ids((int64_t)task * 10, 10, 0));
}

Test(pipeline, source_error_names_task) {
  weir_pipeline *p = mk(NULL);
  weir_op *src = weir_source(p, "files", 10, src_fail, NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, src), WEIR_EFORMAT);
  cr_assert(strstr(weir_pipeline_errmsg(p), "files") && strstr(weir_pipeline_errmsg(p), "task 5"),
            "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

/* Fails the first `fails` attempts on every block. */
typedef struct flaky {
  int fails;
  atomic_int attempts[1000];
} flaky;

static int flaky_fn(void *user, weir_block *in, weir_emit *out) {
  flaky *f = user;
  int64_t id = eu_id_col(in)[0] / 10;
  /* Emit first, then fail: a retried call's output must not leak through. */
  int rc = weir_emit_block(out, weir_block_ref(in));
  if (rc != WEIR_OK)
    return rc;
  if (atomic_fetch_add(&f->attempts[id], 1) < f->fails)
    return WEIR_EIO;
  return WEIR_OK;
}

Test(pipeline, retries_rerun_failed_calls_without_duplicates) {
  static flaky f;
  memset(&f, 0, sizeof f);
  f.fails = 2;
  eu_src s = {.tasks = 30, .blocks_per_task = 1, .rows = 10};
  weir_pipeline *p = mk(NULL);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.max_retries = 2;
  o.min_workers = 2;
  weir_op *m = weir_map_batches(p, src, "flaky", flaky_fn, &f, &o);
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  cr_assert_eq(drain(p, m, &seen, NULL), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(m), &st);
  cr_assert_eq(st.retries, 60);
  cr_assert_eq(st.errors, 0);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);

  memset(&f, 0, sizeof f);
  f.fails = 2;
  eu_src s2 = {.tasks = 30, .blocks_per_task = 1, .rows = 10};
  p = mk(NULL);
  src = weir_source(p, "src", s2.tasks, eu_read, &s2, NULL);
  o.max_retries = 1;
  m = weir_map_batches(p, src, "flaky", flaky_fn, &f, &o);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_EIO, "one retry is not enough");
  weir_pipeline_destroy(p);
}

static int fail_some(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  int64_t id = eu_id_col(in)[0];
  int rc = weir_emit_block(out, weir_block_ref(in));
  if (rc == WEIR_OK && (id / 10) % 7 == 3)
    return WEIR_EFORMAT;
  return rc;
}

Test(pipeline, max_errored_blocks_skips_and_counts) {
  eu_src s = {.tasks = 70, .blocks_per_task = 1, .rows = 10};
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.max_errored_blocks = 10;
  weir_pipeline *p = mk(&po);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op *m = weir_map_batches(p, src, "some", fail_some, NULL, NULL);
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  cr_assert_eq(drain(p, m, &seen, NULL), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  size_t missing = 0, wrong = 0;
  for (size_t i = 0; i < seen.n; i++) {
    int skipped = ((i / 10) % 7) == 3;
    if (skipped && seen.count[i] != 0)
      wrong++;
    if (!skipped && seen.count[i] != 1)
      missing++;
  }
  cr_assert_eq(wrong, 0, "a skipped block's partial output is discarded");
  cr_assert_eq(missing, 0);
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(m), &st);
  cr_assert_eq(st.skipped_blocks, 10);
  cr_assert_eq(st.skipped_rows, 100);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);

  /* One more failure than allowed ends the run. */
  eu_src s2 = {.tasks = 70, .blocks_per_task = 1, .rows = 10};
  po.max_errored_blocks = 9;
  p = mk(&po);
  src = weir_source(p, "src", s2.tasks, eu_read, &s2, NULL);
  m = weir_map_batches(p, src, "some", fail_some, NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_EFORMAT);
  weir_pipeline_destroy(p);
}

/* Per-worker state: init on the worker's thread, destroy for each init,
 * finish once per worker. */
typedef struct pairing {
  atomic_int inits, destroys, finishes, fail_init_at, index_bits;
  atomic_long rows;
} pairing;

typedef struct wstate {
  pairing *pr;
  pthread_t thread;
  size_t kept_rows;
  weir_block *kept;
} wstate;

static int st_init(void *user, int worker, void **state) {
  pairing *pr = user;
  int n = atomic_fetch_add(&pr->inits, 1);
  if (pr->fail_init_at && n + 1 == pr->fail_init_at)
    return WEIR_ENOMEM;
  if (worker >= 0 && worker < 8)
    atomic_fetch_or(&pr->index_bits, 1 << worker);
  wstate *w = calloc(1, sizeof *w);
  w->pr = pr;
  w->thread = pthread_self();
  *state = w;
  return WEIR_OK;
}
static int st_process(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  wstate *w = state;
  (void)ctx;
  if (!pthread_equal(w->thread, pthread_self()))
    return WEIR_EINVAL;
  /* Keep the first block back for finish. */
  if (!w->kept) {
    w->kept = weir_block_ref(in);
    return WEIR_OK;
  }
  return weir_emit_block(out, weir_block_ref(in));
}
static int st_finish(void *state, weir_emit *out, weir_ctx *ctx) {
  wstate *w = state;
  (void)ctx;
  atomic_fetch_add(&w->pr->finishes, 1);
  if (w->kept) {
    weir_block *k = w->kept;
    w->kept = NULL;
    return weir_emit_block(out, k);
  }
  return WEIR_OK;
}
static void st_destroy(void *state) {
  wstate *w = state;
  atomic_fetch_add(&w->pr->destroys, 1);
  weir_block_unref(&w->kept);
  free(w);
}

Test(pipeline, worker_state_pairs_init_destroy_finish) {
  static pairing pr;
  memset(&pr, 0, sizeof pr);
  eu_src s = {.tasks = 40, .blocks_per_task = 2, .rows = 5};
  weir_pipeline *p = mk(NULL);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op_def def = {WEIR_OP_DEF_VERSION, "stateful", st_init, st_process, st_finish, st_destroy};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = 3;
  weir_op *op = weir_add_op(p, src, &def, &pr, &o);
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  cr_assert_eq(drain(p, op, &seen, NULL), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(eu_seen_bad(&seen, 1), 0, "blocks kept back are emitted by finish");
  cr_assert_eq(atomic_load(&pr.inits), 3);
  cr_assert_eq(atomic_load(&pr.destroys), 3);
  cr_assert_eq(atomic_load(&pr.finishes), 3);
  cr_assert_eq(atomic_load(&pr.index_bits), 7, "workers 0, 1 and 2");
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(pipeline, failed_init_ends_run_and_destroys_the_others) {
  static pairing pr;
  memset(&pr, 0, sizeof pr);
  pr.fail_init_at = 2;
  eu_src s = {.tasks = 40, .blocks_per_task = 2, .rows = 5, .delay_us = 100};
  weir_pipeline *p = mk(NULL);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op_def def = {WEIR_OP_DEF_VERSION, "stateful", st_init, st_process, st_finish, st_destroy};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 3;
  weir_op *op = weir_add_op(p, src, &def, &pr, &o);
  cr_assert_eq(weir_pipeline_run(p, op), WEIR_ENOMEM);
  cr_assert(strstr(weir_pipeline_errmsg(p), "stateful") && strstr(weir_pipeline_errmsg(p), "init"),
            "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(atomic_load(&pr.destroys), atomic_load(&pr.inits) - 1,
               "every successful init is destroyed");
  cr_assert_eq(atomic_load(&pr.finishes), 0, "no finish after an error");
  weir_pipeline_destroy(p);
}

static int jitter(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  const int64_t *id = eu_id_col(in);
  eu_sleep_us((long)((id[0] * 7919) % 1500));
  return split(NULL, in, out);
}

static int jitter_src(void *user, size_t task, weir_emit *out) {
  eu_sleep_us((long)((task * 104729) % 2000));
  return eu_read(user, task, out);
}

Test(pipeline, preserve_order_with_many_workers) {
  eu_src s = {.tasks = 120, .blocks_per_task = 2, .rows = 8};
  weir_pipeline *p = mk(NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 4;
  o.preserve_order = 1;
  weir_op *src = weir_source(p, "src", s.tasks, jitter_src, &s, &o);
  weir_op *m = weir_map_batches(p, src, "jitter", jitter, NULL, &o);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, m, NULL, &it), WEIR_OK);
  weir_block *b;
  int64_t expect = 0;
  size_t wrong = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    const int64_t *ids = eu_id_col(b);
    for (size_t i = 0; i < weir_block_num_rows(b); i++)
      if (ids[i] != expect++)
        wrong++;
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF);
  cr_assert_eq(wrong, 0);
  cr_assert_eq((size_t)expect, eu_total_rows(&s));
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

Test(pipeline, bad_arguments) {
  weir_pipeline *p = mk(NULL);
  cr_assert_null(weir_map_batches(p, NULL, "x", pass, NULL, NULL));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  cr_assert_null(weir_source(p, "s", 1, NULL, NULL, NULL));
  cr_assert_null(weir_repartition(p, NULL, 10));
  weir_op *src = weir_source(p, "s", 1, src_fail, NULL, NULL);
  cr_assert_null(weir_repartition(p, src, 0));
  cr_assert_null(weir_union(p, NULL, 0));
  weir_op *two[2] = {src, src};
  cr_assert_null(weir_union(p, two, 2));
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 4;
  o.max_workers = 2;
  cr_assert_null(weir_map_batches(p, src, "x", pass, NULL, &o));
  cr_assert(strstr(weir_pipeline_errmsg(p), "min_workers"), "%s", weir_pipeline_errmsg(p));
  weir_op_def def = {WEIR_OP_DEF_VERSION, "nop", NULL, NULL, NULL, NULL};
  cr_assert_null(weir_add_op(p, src, &def, NULL, NULL));
  weir_pipeline *q = mk(NULL);
  weir_op *qs = weir_source(q, "s", 1, src_fail, NULL, NULL);
  cr_assert_null(weir_map_batches(p, qs, "x", pass, NULL, NULL), "inputs from another pipeline");
  cr_assert_eq(weir_pipeline_run(p, NULL) == WEIR_OK || 1, 1);
  weir_pipeline_destroy(q);
  weir_pipeline_destroy(p);
  weir_pipeline_destroy(NULL);
  cr_assert_eq(weir_pipeline_create(NULL, NULL), WEIR_EINVAL);
}

Test(pipeline, empty_sources_and_empty_blocks) {
  weir_pipeline *p = mk(NULL);
  eu_src s = {.tasks = 0, .blocks_per_task = 1, .rows = 1};
  weir_op *src = weir_source(p, "none", 0, eu_read, &s, NULL);
  weir_op *r = weir_repartition(p, src, 10);
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_OK);
  weir_pipeline_destroy(p);

  eu_src z = {.tasks = 5, .blocks_per_task = 2, .rows = 0};
  p = mk(NULL);
  src = weir_source(p, "zero", z.tasks, eu_read, &z, NULL);
  r = weir_repartition(p, src, 10);
  size_t batches = 99;
  cr_assert_eq(drain(p, r, NULL, &batches), WEIR_OK);
  cr_assert_eq(batches, 0, "empty blocks make no batches after re-blocking");
  weir_pipeline_destroy(p);
}

/* Emits each input block four times as four new copies (a decoder that
 * expands its input), so memory grows past the budget inside the pipeline,
 * not at the source. */
static int expand4(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  const int64_t *id = eu_id_col(in);
  size_t n = weir_block_num_rows(in);
  for (int k = 0; k < 4; k++) {
    weir_block *b = eu_ids(id[0] * 4 + (int64_t)k * (int64_t)n, n, 2048);
    int rc = weir_emit_block(out, b);
    if (rc != WEIR_OK)
      return rc;
  }
  return WEIR_OK;
}

static int slowish(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  eu_sleep_us(300);
  return weir_emit_block(out, weir_block_ref(in));
}

Test(pipeline, expanding_stage_under_a_tight_budget_completes) {
  /* 200 blocks of 8 rows become 800 blocks of ~16 KiB; the budget holds a
   * few dozen. Dispatch must favour the stages nearer the output, and
   * nothing may hang or be lost. */
  eu_src s = {.tasks = 200, .blocks_per_task = 1, .rows = 8};
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = 512 * 1024;
  weir_pipeline *p = mk(&po);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 2;
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, &o);
  weir_op *x = weir_map_batches(p, src, "expand", expand4, NULL, &o);
  weir_op *y = weir_map_batches(p, x, "slowish", slowish, NULL, &o);
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s) * 4);
  cr_assert_eq(drain(p, y, &seen, NULL), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  /* Each expand call may emit its four blocks (64 KiB) past the budget
   * before it ends; two workers. */
  cr_assert_leq(ps.bytes_in_flight_peak, po.memory_budget + 2 * 4 * 17 * 1024 + 64 * 1024,
                "peak %zu", ps.bytes_in_flight_peak);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

/* Emits a fresh copy of its input (new memory, as a filter or a
 * transform does), a little slowly. */
static int copy_slowly(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  eu_sleep_us(200);
  const int64_t *id = eu_id_col(in);
  return weir_emit_block(out, eu_ids(id[0], weir_block_num_rows(in), 8192));
}

Test(pipeline, copying_stages_keep_blocks_in_flight_within_the_budget) {
  /* While a call runs, its input and its new output are both in flight.
   * Sources leave room for that, so three copying stages never take the
   * run past its budget, even at the peak. */
  eu_src s = {.tasks = 200, .blocks_per_task = 1, .rows = 16, .pad = 8192};
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = 1 << 20; /* about 8 blocks of 129 KiB */
  weir_pipeline *p = mk(&po);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = 2;
  weir_op *op = weir_source(p, "src", s.tasks, eu_read, &s, &o);
  op = weir_map_batches(p, op, "copy1", copy_slowly, NULL, &o);
  op = weir_map_batches(p, op, "copy2", copy_slowly, NULL, &o);
  op = weir_map_batches(p, op, "copy3", copy_slowly, NULL, &o);
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&s));
  cr_assert_eq(drain(p, op, &seen, NULL), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  cr_assert_leq(ps.bytes_in_flight_peak, po.memory_budget, "peak %zu, budget %zu",
                ps.bytes_in_flight_peak, po.memory_budget);
  cr_assert_gt(ps.bytes_in_flight_peak, po.memory_budget / 2, "the budget was used (peak %zu)",
               ps.bytes_in_flight_peak);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(pipeline, limit_tells_running_tasks_to_stop) {
  /* Long read tasks: once the limit is reached, the ones running see
   * weir_ctx_cancelled() and return early; the run still ends OK. */
  eu_src s = {.tasks = 4, .blocks_per_task = 400, .rows = 5, .delay_us = 1000};
  weir_pipeline *p = mk(NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = o.max_workers = 2;
  weir_op *src = weir_source(p, "long", s.tasks, eu_read, &s, &o);
  weir_op *l = weir_limit(p, src, 30);
  double t0 = eu_now();
  cr_assert_eq(weir_pipeline_run(p, l), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_lt(eu_now() - t0, 0.3, "did not wait for 400 ms tasks");
  cr_assert_leq(atomic_load(&s.tasks_run), 2, "no task started after the limit");
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(src), &st);
  /* Told to stop either way: weir_ctx_cancelled() or an emit that returns
   * WEIR_ECANCELED; each running task stopped within a block or two. */
  cr_assert_lt(st.rows_out, 200, "the source went on: %llu rows", (unsigned long long)st.rows_out);
  weir_pipeline_op_stats(p, weir_op_index(l), &st);
  cr_assert_eq(st.rows_out, 30);
  weir_pipeline_destroy(p);
}

typedef struct sizes {
  atomic_int exact, other;
} sizes;

static int count_sizes(void *user, weir_block *in, weir_emit *out) {
  sizes *z = user;
  if (weir_block_num_rows(in) == 7)
    atomic_fetch_add(&z->exact, 1);
  else
    atomic_fetch_add(&z->other, 1);
  return weir_emit_block(out, weir_block_ref(in));
}

Test(pipeline, batch_rows_reblocks_operator_input) {
  static sizes z;
  memset(&z, 0, sizeof z);
  eu_src s = {.tasks = 10, .blocks_per_task = 3, .rows = 5}; /* 150 rows */
  weir_pipeline *p = mk(NULL);
  weir_op *src = weir_source(p, "src", s.tasks, eu_read, &s, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.batch_rows = 7;
  o.min_workers = 3;
  weir_op *m = weir_map_batches(p, src, "sevens", count_sizes, &z, &o);
  eu_seen seen;
  eu_seen_init(&seen, 150);
  cr_assert_eq(drain(p, m, &seen, NULL), WEIR_OK);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  cr_assert_eq(atomic_load(&z.exact), 21);
  cr_assert_eq(atomic_load(&z.other), 1, "one last batch of 150 - 21*7 = 3 rows");
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}
