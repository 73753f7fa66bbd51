/* A first weir program: a source of read tasks, a transform with several
 * workers, a pull iterator with exact batches, and the statistics. */
#include <stdio.h>
#include <stdlib.h>

#include <weir.h>

/* Read task `task` makes one block of 1000 rows: id and value = id % 7. */
static int make_rows(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *bld;
  weir_builder_create(&bld);
  weir_builder_add_column(bld, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "value", WEIR_TYPE_INT64);
  for (int64_t i = 0; i < 1000; i++) {
    int64_t id = (int64_t)task * 1000 + i;
    weir_builder_append_int64(bld, 0, id);
    weir_builder_append_int64(bld, 1, id % 7);
  }
  weir_block *b;
  int rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  /* weir_emit_block takes the block and may wait while the next queue is
   * full: that is how a slow consumer slows the source down. */
  return rc ? rc : weir_emit_block(out, b);
}

/* Adds a column "square" = value * value. `in` is only borrowed. */
static int add_square(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  weir_column v;
  weir_block_column(in, (size_t)weir_block_column_index(in, "value"), &v);
  weir_builder *bld;
  weir_builder_create(&bld);
  weir_builder_add_column(bld, "square", WEIR_TYPE_INT64);
  const int64_t *x = v.data;
  for (size_t i = 0; i < v.length; i++)
    weir_builder_append_int64(bld, 0, x[i] * x[i]);
  weir_block *sq, *both;
  int rc = weir_builder_finish(bld, &sq);
  weir_builder_destroy(bld);
  if (rc)
    return rc;
  /* The new block shares the input's columns instead of copying them. */
  rc = weir_block_add_columns(in, sq, &both);
  weir_block_unref(&sq);
  return rc ? rc : weir_emit_block(out, both);
}

int main(void) {
  weir_pipeline *p;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = 64 << 20; /* bytes of blocks in flight */
  if (weir_pipeline_create(&p, &po) != WEIR_OK)
    return 1;

  weir_op_options two = WEIR_OP_OPTIONS_INIT;
  two.min_workers = 2;
  weir_op *src = weir_source(p, "make_rows", 50, make_rows, NULL, NULL);
  weir_op *sq = weir_map_batches(p, src, "add_square", add_square, NULL, &two);

  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 4096; /* exact batches across block boundaries */
  weir_iter *it;
  /* Constructors return NULL on failure, so one check covers the chain. */
  if (!sq || weir_pipeline_iter(p, sq, &io, &it) != WEIR_OK) {
    fprintf(stderr, "error: %s\n", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return 1;
  }

  weir_block *batch;
  int rc;
  int64_t sum = 0;
  size_t batches = 0;
  while ((rc = weir_iter_next(it, &batch)) == WEIR_OK) {
    weir_column c;
    weir_block_column(batch, (size_t)weir_block_column_index(batch, "square"), &c);
    for (size_t i = 0; i < c.length; i++)
      sum += ((const int64_t *)c.data)[i];
    batches++;
    weir_block_unref(&batch);
  }
  weir_iter_destroy(it);
  if (rc != WEIR_EOF) {
    fprintf(stderr, "error: %s\n", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    return 1;
  }
  printf("%zu batches, sum of squares %lld\n", batches, (long long)sum);

  char *table;
  if (weir_pipeline_stats_table(p, &table) == WEIR_OK) {
    fputs(table, stdout);
    free(table);
  }
  weir_pipeline_destroy(p);
  return 0;
}
