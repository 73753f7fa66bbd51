/* Stress test of the executor: a few hundred small pipelines of random
 * shape (sources, unions, fan-outs, maps with re-blocking, order, state,
 * repartition, limit, iterator batching and shuffling) with random delays;
 * every row id must arrive the expected number of times. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_exec_util.h"

static uint64_t rng_state;
static unsigned rnd(unsigned n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return n ? (unsigned)(rng_state % n) : 0;
}

typedef struct delays {
  long us;
} delays;

static int pass_delay(void *user, weir_block *in, weir_emit *out) {
  delays *d = user;
  if (d->us)
    eu_sleep_us(d->us);
  return weir_emit_block(out, weir_block_ref(in));
}

static int split_delay(void *user, weir_block *in, weir_emit *out) {
  delays *d = user;
  if (d->us)
    eu_sleep_us(d->us);
  size_t n = weir_block_num_rows(in), h = n / 3;
  weir_block *head = NULL, *tail = NULL;
  int rc = weir_block_slice(in, 0, h, &head);
  if (rc == WEIR_OK) rc = weir_emit_block(out, head);
  if (rc == WEIR_OK) rc = weir_block_slice(in, h, n - h, &tail);
  if (rc == WEIR_OK) rc = weir_emit_block(out, tail);
  return rc;
}

static int keep_init(void *user, int worker, void **state) {
  (void)user, (void)worker;
  *state = calloc(1, sizeof(weir_block *));
  return *state ? WEIR_OK : WEIR_ENOMEM;
}
static int keep_process(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  weir_block **kept = state;
  (void)ctx;
  weir_block *prev = *kept;
  *kept = weir_block_ref(in);
  return prev ? weir_emit_block(out, prev) : WEIR_OK;
}
static int keep_finish(void *state, weir_emit *out, weir_ctx *ctx) {
  weir_block **kept = state;
  (void)ctx;
  weir_block *k = *kept;
  *kept = NULL;
  return k ? weir_emit_block(out, k) : WEIR_OK;
}
static void keep_destroy(void *state) {
  weir_block **kept = state;
  weir_block_unref(kept);
  free(kept);
}

static delays dl[4] = {{0}, {20}, {100}, {300}};

static weir_op *random_op(weir_pipeline *p, weir_op *in) {
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 1 + (int)rnd(3);
  o.preserve_order = rnd(4) == 0;
  o.batch_rows = rnd(3) == 0 ? 1 + rnd(30) : 0;
  o.queue_max_blocks = rnd(3) == 0 ? 1 + rnd(4) : 0;
  switch (rnd(5)) {
  case 0:
    return weir_repartition(p, in, 1 + rnd(40));
  case 1: {
    weir_op_def def = {WEIR_OP_DEF_VERSION, "keep", keep_init, keep_process, keep_finish,
                       keep_destroy};
    return weir_add_op(p, in, &def, NULL, &o);
  }
  case 2:
    return weir_map_batches(p, in, "split", split_delay, &dl[rnd(4)], &o);
  default:
    return weir_map_batches(p, in, "pass", pass_delay, &dl[rnd(4)], &o);
  }
}

static weir_op *random_chain(weir_pipeline *p, weir_op *in, int depth, unsigned *mult) {
  unsigned len = rnd(4);
  for (unsigned i = 0; i < len && in; i++)
    in = random_op(p, in);
  if (in && depth < 2 && rnd(5) == 0) {
    /* A fan-out into two branches joined by a union: every row twice. */
    unsigned m1 = 1, m2 = 1;
    weir_op *a = random_chain(p, in, depth + 1, &m1);
    weir_op *b = random_chain(p, in, depth + 1, &m2);
    if (a == b)
      b = weir_map_batches(p, in, "pass", pass_delay, &dl[0], NULL);
    weir_op *two[2] = {a, b};
    *mult *= (m1 + m2);
    /* Both branches see every row m1 or m2 times; the sum is exact when
     * they are equal, which holds at this depth for m1 = m2 = 1 only. */
    if (m1 != 1 || m2 != 1)
      *mult = 0;
    in = weir_union(p, two, 2);
  }
  return in;
}

static void one_pipeline(int round) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = rnd(2) ? 0 : (size_t)(4096 + rnd(65536));
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  unsigned nsrc = 1 + rnd(3);
  eu_src src[3];
  weir_op *ins[3];
  int64_t total = 0;
  for (unsigned i = 0; i < nsrc; i++) {
    memset(&src[i], 0, sizeof src[i]);
    src[i].tasks = rnd(8);
    src[i].blocks_per_task = 1 + rnd(3);
    src[i].rows = rnd(25);
    src[i].delay_us = rnd(3) == 0 ? (long)rnd(200) : 0;
    src[i].base = total;
    total += (int64_t)eu_total_rows(&src[i]);
    weir_op_options o = WEIR_OP_OPTIONS_INIT;
    o.min_workers = 1 + (int)rnd(3);
    o.preserve_order = rnd(3) == 0;
    ins[i] = weir_source(p, "src", src[i].tasks, eu_read, &src[i], &o);
  }
  weir_op *out = nsrc == 1 ? ins[0] : weir_union(p, ins, nsrc);
  unsigned mult = 1;
  out = random_chain(p, out, 0, &mult);
  uint64_t limit = (uint64_t)-1;
  if (rnd(6) == 0) {
    limit = rnd((unsigned)total + 10);
    out = weir_limit(p, out, limit);
  }
  cr_assert_not_null(out, "round %d: %s", round, weir_pipeline_errmsg(p));
  eu_seen seen;
  eu_seen_init(&seen, (size_t)total);
  int rc;
  if (rnd(4) == 0) {
    rc = weir_pipeline_run(p, out);
    cr_assert_eq(rc, WEIR_OK, "round %d: %s", round, weir_pipeline_errmsg(p));
  } else {
    weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
    io.batch_rows = rnd(2) ? 1 + rnd(50) : 0;
    io.shuffle_buffer_rows = rnd(3) == 0 ? rnd(100) : 0;
    io.seed = round;
    io.prefetch_batches = 1 + rnd(3);
    weir_iter *it = NULL;
    cr_assert_eq(weir_pipeline_iter(p, out, &io, &it), WEIR_OK, "round %d", round);
    weir_block *b;
    while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
      if (io.batch_rows)
        cr_assert_leq(weir_block_num_rows(b), io.batch_rows);
      eu_seen_add(&seen, b);
      weir_block_unref(&b);
      if (rnd(50) == 0)
        eu_sleep_us(rnd(500));
    }
    cr_assert_eq(rc, WEIR_EOF, "round %d: %s", round, weir_pipeline_errmsg(p));
    weir_iter_destroy(it);
    cr_assert_eq(seen.out_of_range, 0, "round %d", round);
    if (limit != (uint64_t)-1) {
      size_t got = 0, dup = 0;
      for (size_t i = 0; i < seen.n; i++) {
        got += seen.count[i];
        dup += seen.count[i] > mult;
      }
      uint64_t want = (uint64_t)total * (mult ? mult : 1);
      if (mult)
        cr_assert_eq(got, limit < want ? limit : want, "round %d: limit %llu", round,
                     (unsigned long long)limit);
    } else if (mult) {
      cr_assert_eq(eu_seen_bad(&seen, mult), 0, "round %d: rows not seen %u times", round, mult);
    }
  }
  weir_pipeline_stats ps;
  weir_pipeline_get_stats(p, &ps);
  cr_assert_eq(ps.bytes_in_flight, 0, "round %d: %zu bytes left in flight", round,
               ps.bytes_in_flight);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(exec_stress, random_pipelines, .timeout = 120) {
  rng_state = 0x9e3779b97f4a7c15ull;
  double t0 = eu_now();
  int rounds = 0;
  for (int r = 0; r < 300; r++) {
    one_pipeline(r);
    rounds++;
    if (eu_now() - t0 > 20)
      break; /* a very loaded machine: stop early rather than time out */
  }
  cr_assert_geq(rounds, 100);
}
