/* A training loop's view: a seeded shuffle gives the same order on every
 * run whatever the thread timing, and a pipeline runs again for each
 * epoch through a new iterator. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>

#include <weir.h>

#include "test_exec_util.h"

#define TASKS 16
#define BLOCKS 2
#define ROWS 50
#define TOTAL (TASKS * BLOCKS * ROWS)

/* Task t emits ids [t * BLOCKS * ROWS, ...) after a delay that depends on
 * the run's `pattern`, so that tasks finish in a different order each
 * run. */
typedef struct timed_src {
  int pattern;
} timed_src;

static int timed_read(void *user, size_t task, weir_emit *out) {
  timed_src *s = user;
  for (size_t k = 0; k < BLOCKS; k++) {
    eu_sleep_us((long)(((task * 7 + (size_t)s->pattern * 5 + k) % 4) * 3000));
    weir_block *b = eu_ids((int64_t)((task * BLOCKS + k) * ROWS), ROWS, 0);
    int rc = weir_emit_block(out, b);
    if (rc != WEIR_OK)
      return rc;
  }
  return WEIR_OK;
}

/* Pulls every batch of `it` into ids[]; returns the row count. */
static size_t drain(weir_iter *it, int64_t *ids, size_t cap) {
  size_t n = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    const int64_t *v = eu_id_col(b);
    for (size_t i = 0; i < weir_block_num_rows(b); i++)
      if (n < cap)
        ids[n++] = v[i];
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF);
  return n;
}

static weir_op *timed_pipeline(weir_pipeline **pp, timed_src *s) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = 4;
  cr_assert_eq(weir_pipeline_create(pp, &po), WEIR_OK);
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.min_workers = so.max_workers = 4;
  return weir_source(*pp, "src", TASKS, timed_read, s, &so);
}

static void shuffled_run(int pattern, uint64_t seed, int any_order, int64_t *ids) {
  timed_src s = {pattern};
  weir_pipeline *p;
  weir_op *src = timed_pipeline(&p, &s);
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 64;
  io.shuffle_buffer_rows = 300;
  io.seed = seed;
  io.shuffle_any_order = any_order;
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, src, &io, &it), WEIR_OK);
  cr_assert_eq(drain(it, ids, TOTAL), TOTAL);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

static void assert_permutation(const int64_t *ids) {
  eu_seen seen;
  eu_seen_init(&seen, TOTAL);
  for (size_t i = 0; i < TOTAL; i++)
    seen.count[ids[i]]++;
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  eu_seen_free(&seen);
}

Test(epochs, a_seeded_shuffle_is_the_same_whatever_the_timing) {
  static int64_t first[TOTAL], other[TOTAL];
  shuffled_run(0, 42, 0, first);
  assert_permutation(first);
  for (int pattern = 1; pattern < 4; pattern++) {
    shuffled_run(pattern, 42, 0, other);
    cr_assert_arr_eq(first, other, sizeof first, "seed 42, timing pattern %d: another order",
                     pattern);
  }
  shuffled_run(1, 43, 0, other);
  assert_permutation(other);
  cr_assert(memcmp(first, other, sizeof first) != 0, "another seed, another order");
}

/* A user operator that counts its inits, so each epoch's fresh workers
 * show. */
static atomic_int inits;
static int count_init(void *user, int worker, void **state) {
  (void)user, (void)worker;
  atomic_fetch_add(&inits, 1);
  *state = NULL;
  return WEIR_OK;
}
static int pass(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  (void)state, (void)ctx;
  return weir_emit_block(out, weir_block_ref(in));
}

Test(epochs, a_new_iterator_runs_the_pipeline_again) {
  timed_src s = {0};
  weir_pipeline *p;
  weir_op *src = timed_pipeline(&p, &s);
  weir_op_def def = {WEIR_OP_DEF_VERSION, "model", count_init, pass, NULL, NULL};
  weir_op_options mo = WEIR_OP_OPTIONS_INIT;
  mo.min_workers = mo.max_workers = 2;
  weir_op *m = weir_add_op(p, src, &def, NULL, &mo);
  cr_assert_not_null(m);
  static int64_t orders[4][TOTAL];
  atomic_store(&inits, 0);
  for (int epoch = 0; epoch < 4; epoch++) {
    weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
    io.shuffle_buffer_rows = 400;
    io.batch_rows = 100;
    io.seed = epoch == 3 ? 1000 : 1000 + (uint64_t)epoch; /* epoch 3 repeats epoch 0 */
    weir_iter *it = NULL;
    cr_assert_eq(weir_pipeline_iter(p, m, &io, &it), WEIR_OK, "epoch %d: %s", epoch,
                 weir_pipeline_errmsg(p));
    cr_assert_eq(drain(it, orders[epoch], TOTAL), TOTAL, "epoch %d", epoch);
    if (epoch == 1) {
      /* The previous iterator must go first. */
      weir_iter *again = NULL;
      cr_assert_eq(weir_pipeline_iter(p, m, &io, &again), WEIR_EINVAL);
      cr_assert(strstr(weir_pipeline_errmsg(p), "weir_iter_destroy"), "%s",
                weir_pipeline_errmsg(p));
    }
    weir_iter_destroy(it);
    if (epoch != 1) /* there the refused call is the last error */
      cr_assert_eq(weir_pipeline_errcode(p), WEIR_OK, "epoch %d: %s", epoch,
                   weir_pipeline_errmsg(p));
    assert_permutation(orders[epoch]);
    /* Statistics describe the latest run. */
    weir_op_stats st;
    cr_assert_eq(weir_pipeline_op_stats(p, weir_op_index(m), &st), WEIR_OK);
    cr_assert_eq(st.rows_out, TOTAL, "epoch %d", epoch);
    cr_assert_eq(st.rows_in, TOTAL, "epoch %d", epoch);
    cr_assert_eq(atomic_load(&inits), 2 * (epoch + 1), "fresh workers each epoch");
  }
  cr_assert(memcmp(orders[0], orders[1], sizeof orders[0]) != 0, "per-epoch seeds differ");
  cr_assert_arr_eq(orders[0], orders[3], sizeof orders[0], "the same seed, the same epoch");
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_EINVAL, "weir_pipeline_run runs once");
  weir_pipeline_destroy(p);
}

Test(epochs, a_limit_is_reached_again_each_epoch) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  eu_src s = {.tasks = 30, .blocks_per_task = 1, .rows = 100};
  weir_op *lim = weir_limit(p, weir_source(p, "src", s.tasks, eu_read, &s, NULL), 250);
  for (int epoch = 0; epoch < 3; epoch++) {
    weir_iter *it = NULL;
    cr_assert_eq(weir_pipeline_iter(p, lim, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
    static int64_t ids[4000];
    cr_assert_eq(drain(it, ids, 4000), 250, "epoch %d", epoch);
    weir_iter_destroy(it);
    cr_assert_eq(weir_pipeline_errcode(p), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  }
  weir_pipeline_destroy(p);
}
