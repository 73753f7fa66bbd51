/* weir/dist.h in one process: rank 0 of 1, WEIR_DIST=mpi refused in a
 * process mpirun did not start, weir_repartition_by_key as a hash repartition, and
 * weir_streaming_split as n consumers of one run. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weir.h>

#include "exec/dist_internal.h"
#include "test_exec_util.h"

TestSuite(dist, .timeout = 120);

Test(dist, one_process_is_rank_0_of_1) {
  cr_assert_eq(weir_dist_rank(), 0);
  cr_assert_eq(weir_dist_size(), 1);
}

Test(dist, mpi_asked_outside_mpirun_is_refused) {
  weir_pipeline *p = NULL;
  setenv("WEIR_DIST", "mpi", 1);
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_ENOTSUP);
  cr_assert_null(p);
  cr_assert(strstr(weir_last_errmsg(), "WEIR_DIST=mpi"), "%s", weir_last_errmsg());
  setenv("WEIR_DIST", "carrier-pigeon", 1);
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "carrier-pigeon"), "%s", weir_last_errmsg());
  unsetenv("WEIR_DIST");
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_pipeline_destroy(p);
}

/* ---- repartition_by_key ------------------------------------------------ */

#define KEYS 1000
#define TASKS 8
#define ROWS_PER_TASK 2500

/* Task t: ids t*ROWS.., a string key "k<id % KEYS>" and an int64 copy of
 * the same key number. */
static int keyed_rows(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *b = NULL;
  weir_builder_create(&b);
  weir_builder_add_column(b, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(b, "key", WEIR_TYPE_STRING);
  weir_builder_add_column(b, "knum", WEIR_TYPE_INT64);
  for (size_t i = 0; i < ROWS_PER_TASK; i++) {
    int64_t id = (int64_t)(task * ROWS_PER_TASK + i);
    char key[32];
    int n = snprintf(key, sizeof key, "k%lld", (long long)(id % KEYS));
    weir_builder_append_int64(b, 0, id);
    weir_builder_append_string(b, 1, key, (size_t)n);
    weir_builder_append_int64(b, 2, id % KEYS);
  }
  weir_block *blk = NULL;
  int rc = weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return rc ? rc : weir_emit_block(out, blk);
}

static void check_repartition(const char *column, int partitions) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "keyed", TASKS, keyed_rows, NULL, NULL);
  weir_op *rp = weir_repartition_by_key(p, src, column, partitions);
  cr_assert_not_null(rp, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, rp, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  eu_seen seen;
  eu_seen_init(&seen, TASKS * ROWS_PER_TASK);
  int part_of_key[KEYS];
  for (int k = 0; k < KEYS; k++) part_of_key[k] = -1;
  size_t keys_in_part[64] = {0};
  weir_block *b;
  int rc, blocks = 0;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    blocks++;
    eu_seen_add(&seen, b);
    size_t rows = weir_block_num_rows(b);
    int kc = weir_block_column_index(b, column), nc = weir_block_column_index(b, "knum");
    weir_column ids, knum;
    weir_block_column(b, 0, &ids);
    weir_block_column(b, (size_t)nc, &knum);
    int first = weir_partition_of(b, (size_t)kc, 0, partitions ? partitions : 1);
    for (size_t r = 0; r < rows; r++) {
      int part = weir_partition_of(b, (size_t)kc, r, partitions ? partitions : 1);
      cr_assert_eq(part, first, "one partition a block");
      if (r) /* a partition's rows keep their input order */
        cr_assert_lt(((const int64_t *)ids.data)[r - 1], ((const int64_t *)ids.data)[r]);
      int64_t k = ((const int64_t *)knum.data)[r];
      if (part_of_key[k] < 0) {
        part_of_key[k] = part;
        keys_in_part[part]++;
      }
      cr_assert_eq(part_of_key[k], part, "key %lld in partitions %d and %d", (long long)k,
                   part_of_key[k], part);
    }
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(eu_seen_bad(&seen, 1), 0, "every row exactly once");
  if (partitions <= 1) {
    cr_assert_eq(blocks, TASKS, "one partition: blocks pass unchanged");
  } else {
    /* The hash spreads 1000 keys about evenly (a fair split puts each
     * partition within 30% of the mean with overwhelming probability). */
    for (int q = 0; q < partitions; q++)
      cr_assert(fabs((double)keys_in_part[q] - (double)KEYS / partitions) <
                    0.3 * KEYS / partitions, "partition %d has %zu of %d keys", q,
                keys_in_part[q], KEYS);
  }
  weir_iter_destroy(it);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(dist, repartition_by_key_groups_equal_keys) {
  check_repartition("key", 4);
  check_repartition("knum", 7);
  check_repartition("key", 0); /* one per rank: one here */
}

Test(dist, partition_of_treats_equal_values_alike) {
  weir_builder *b = NULL;
  weir_builder_create(&b);
  weir_builder_add_column(b, "x", WEIR_TYPE_FLOAT64);
  double v[] = {0.0, -0.0, NAN, -NAN, 2.5, 2.5};
  for (int i = 0; i < 6; i++) weir_builder_append_float64(b, 0, v[i]);
  weir_builder_append_null(b, 0);
  weir_block *blk = NULL;
  cr_assert_eq(weir_builder_finish(b, &blk), WEIR_OK);
  weir_builder_destroy(b);
  cr_assert_eq(weir_partition_of(blk, 0, 0, 1000), weir_partition_of(blk, 0, 1, 1000));
  cr_assert_eq(weir_partition_of(blk, 0, 2, 1000), weir_partition_of(blk, 0, 3, 1000));
  cr_assert_eq(weir_partition_of(blk, 0, 4, 1000), weir_partition_of(blk, 0, 5, 1000));
  cr_assert_geq(weir_partition_of(blk, 0, 6, 1000), 0, "a null is a key");
  cr_assert_eq(weir_partition_of(blk, 0, 7, 1000), -1, "no such row");
  cr_assert_eq(weir_partition_of(blk, 0, 0, 0), -1, "no partitions");
  weir_block_unref(&blk);
}

Test(dist, repartition_by_key_names_a_missing_or_unusable_column) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "keyed", 2, keyed_rows, NULL, NULL);
  cr_assert_null(weir_repartition_by_key(p, src, NULL, 2));
  cr_assert_null(weir_repartition_by_key(p, src, "key", -1));
  cr_assert(strstr(weir_pipeline_errmsg(p), "negative"), "%s", weir_pipeline_errmsg(p));
  weir_op *rp = weir_repartition_by_key(p, src, "user_id", 2);
  cr_assert_not_null(rp);
  cr_assert_eq(weir_pipeline_run(p, rp), WEIR_ENOTFOUND);
  cr_assert(strstr(weir_pipeline_errmsg(p), "'user_id'"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

/* ---- streaming_split -------------------------------------------------- */

typedef struct consumer {
  weir_iter *it;
  eu_seen *seen;
  pthread_mutex_t *mu;
  size_t rows;
  int rc;
} consumer;

static void *consume(void *arg) {
  consumer *c = arg;
  weir_block *b;
  while ((c->rc = weir_iter_next(c->it, &b)) == WEIR_OK) {
    c->rows += weir_block_num_rows(b);
    pthread_mutex_lock(c->mu);
    eu_seen_add(c->seen, b);
    pthread_mutex_unlock(c->mu);
    weir_block_unref(&b);
  }
  return NULL;
}

static weir_pipeline *ids_pipeline(eu_src *cfg, weir_op **src) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  *src = weir_source(p, "ids", cfg->tasks, eu_read, cfg, NULL);
  cr_assert_not_null(*src);
  return p;
}

Test(dist, split_by_demand_gives_every_row_once_to_concurrent_consumers) {
  eu_src cfg = {.tasks = 12, .blocks_per_task = 5, .rows = 97};
  weir_op *src;
  weir_pipeline *p = ids_pipeline(&cfg, &src);
  weir_iter *its[3];
  cr_assert_eq(weir_streaming_split(p, src, 3, NULL, its), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&cfg));
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  consumer c[3];
  pthread_t t[3];
  for (int i = 0; i < 3; i++) {
    c[i] = (consumer){.it = its[i], .seen = &seen, .mu = &mu};
    pthread_create(&t[i], NULL, consume, &c[i]);
  }
  size_t total = 0;
  for (int i = 0; i < 3; i++) {
    pthread_join(t[i], NULL);
    cr_assert_eq(c[i].rc, WEIR_EOF, "consumer %d: %s", i, weir_last_errmsg());
    total += c[i].rows;
  }
  cr_assert_eq(total, eu_total_rows(&cfg));
  cr_assert_eq(eu_seen_bad(&seen, 1), 0, "every row to exactly one consumer");
  cr_assert_eq(weir_split_dropped_rows(its[0]), 0);
  /* Destroyed in another order than made. */
  weir_iter_destroy(its[2]);
  weir_iter_destroy(its[0]);
  weir_iter_destroy(its[1]);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(dist, split_equal_gives_each_consumer_the_same_rows) {
  /* 1000 rows, 3 consumers: 333 each, 1 dropped and counted. Consumers
   * read one after the other on this thread: shares wait for them. */
  eu_src cfg = {.tasks = 10, .blocks_per_task = 4, .rows = 25};
  weir_op *src;
  weir_pipeline *p = ids_pipeline(&cfg, &src);
  weir_split_options o = WEIR_SPLIT_OPTIONS_INIT;
  o.equal = 1;
  weir_iter *its[3];
  cr_assert_eq(weir_streaming_split(p, src, 3, &o, its), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&cfg));
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  for (int i = 0; i < 3; i++) {
    consumer c = {.it = its[i], .seen = &seen, .mu = &mu};
    consume(&c);
    cr_assert_eq(c.rc, WEIR_EOF);
    cr_assert_eq(c.rows, 333, "consumer %d got %zu rows", i, c.rows);
  }
  cr_assert_eq(weir_split_dropped_rows(its[1]), 1);
  cr_assert_eq(eu_seen_bad(&seen, 1), 1, "999 rows once, the dropped one never");
  for (int i = 0; i < 3; i++) weir_iter_destroy(its[i]);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(dist, split_consumers_left_early_do_not_stop_the_others) {
  eu_src cfg = {.tasks = 6, .blocks_per_task = 3, .rows = 50};
  weir_op *src;
  weir_pipeline *p = ids_pipeline(&cfg, &src);
  weir_iter *its[2];
  cr_assert_eq(weir_streaming_split(p, src, 2, NULL, its), WEIR_OK);
  weir_iter_destroy(its[0]); /* never read */
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&cfg));
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  consumer c = {.it = its[1], .seen = &seen, .mu = &mu};
  consume(&c);
  cr_assert_eq(c.rc, WEIR_EOF);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0, "the remaining consumer gets everything");
  weir_iter_destroy(its[1]);
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(dist, split_refuses_bad_arguments) {
  eu_src cfg = {.tasks = 1, .blocks_per_task = 1, .rows = 5};
  weir_op *src;
  weir_pipeline *p = ids_pipeline(&cfg, &src);
  weir_iter *its[2] = {NULL, NULL};
  cr_assert_eq(weir_streaming_split(p, src, 0, NULL, its), WEIR_EINVAL);
  cr_assert_eq(weir_streaming_split(p, src, 2, NULL, NULL), WEIR_EINVAL);
  weir_split_options o = WEIR_SPLIT_OPTIONS_INIT;
  o.version = 99;
  cr_assert_eq(weir_streaming_split(p, src, 2, &o, its), WEIR_EINVAL);
  cr_assert_null(its[0]);
  cr_assert_eq(weir_streaming_split(NULL, src, 2, NULL, its), WEIR_EINVAL);
  weir_pipeline_destroy(p);
}

/* Rank 0's table of all ranks, from payloads as ranks send them (one
 * record line per operator, then the rank's own table): past 8 ranks it
 * shows the least and the most rows out with their ranks, and a rank
 * that sent nothing is named and left out of the totals. */
Test(dist, summary_of_many_ranks_shows_least_and_most) {
  enum { N = 10 };
  char *payloads[N] = {0};
  for (int r = 0; r < N; r++) {
    if (r == 7) continue; /* nothing came from rank 7 */
    char buf[512];
    snprintf(buf, sizeof buf,
             "wall %.6f\nop 0 %d 0 0 0.5 read\nop %d %d 0 %d 0.25 my map\n\x1e\ntable of %d\n",
             1.0 + r, 100 * r, 100 * r, 90 * r, 10 * r, r);
    payloads[r] = strdup(buf);
  }
  char *text = NULL;
  cr_assert_eq(weir__dist_summary_render(payloads, N, &text), WEIR_OK);
  cr_assert(strstr(text, "weir summary of rank 7 of 10 (gathered on rank 0):\n(nothing received)"),
            "%s", text);
  cr_assert(strstr(text, "weir summary of rank 9 of 10 (gathered on rank 0):\ntable of 9\n"), "%s",
            text);
  const char *all = strstr(text, "weir summary of all 10 ranks:\n");
  cr_assert(all, "%s", text);
  cr_assert(strstr(all, "least out (rank)") && !strstr(all, "out r0"), "%s", all);
  const char *line = strstr(all, "\nmy map ");
  cr_assert(line, "%s", all);
  unsigned long long in = 0, out = 0, dropped = 0, skipped = 0, lo = 0, hi = 0;
  int lo_rank = -1, hi_rank = -1;
  double cpu = 0;
  cr_assert_eq(sscanf(line + 1, "my map %llu %llu %llu %llu %lf %llu (%d) %llu (%d)", &in, &out,
                      &dropped, &skipped, &cpu, &lo, &lo_rank, &hi, &hi_rank),
               9, "%s", all);
  /* Ranks 0..9 but 7: sum of 100 r is 3800, of 90 r 3420, of 10 r 380. */
  cr_assert_eq(in, 3800);
  cr_assert_eq(out, 3420);
  cr_assert_eq(dropped, 380);
  cr_assert_float_eq(cpu, 9 * 0.25, 1e-9);
  cr_assert_eq(lo, 0);
  cr_assert_eq(lo_rank, 0);
  cr_assert_eq(hi, 810);
  cr_assert_eq(hi_rank, 9);
  cr_assert(strstr(all, "9 of 10 ranks reported; wall 10.000 s on the slowest (rank 9)"), "%s",
            all);
  free(text);
  for (int r = 0; r < N; r++) free(payloads[r]);
}
