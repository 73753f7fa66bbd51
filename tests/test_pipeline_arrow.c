/* Tests of the Arrow stream source: batches of a real ArrowArrayStream
 * (exported by weir_blocks_to_arrow_stream) flow through a pipeline in
 * order, and a stream that fails ends the run with its own message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "test_exec_util.h"

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

Test(pipeline_arrow, stream_batches_flow_in_order) {
  weir_block *blocks[6];
  for (int i = 0; i < 6; i++)
    blocks[i] = eu_ids(i * 50, 50, 3);
  struct ArrowArrayStream stream;
  cr_assert_eq(weir_blocks_to_arrow_stream(blocks, 6, &stream), WEIR_OK);
  for (int i = 0; i < 6; i++)
    weir_block_unref(&blocks[i]);
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source_arrow_stream(p, "arrow", &stream);
  cr_assert_not_null(src, "%s", weir_pipeline_errmsg(p));
  cr_assert_null(stream.release, "the stream was moved in");
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 3;
  o.preserve_order = 1;
  weir_op *m = weir_map_batches(p, src, "pass", pass, NULL, &o);
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 40;
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, m, &io, &it), WEIR_OK);
  weir_block *b;
  int64_t expect = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    const int64_t *ids = eu_id_col(b);
    cr_assert_not_null(ids);
    for (size_t i = 0; i < weir_block_num_rows(b); i++)
      cr_assert_eq(ids[i], expect++);
    cr_assert_eq(weir_block_column_index(b, "pad"), 1, "every column came through");
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(expect, 300);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

static int bad_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  (void)s, (void)out;
  return EIO;
}
static int bad_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  (void)s, (void)out;
  return EIO;
}
static const char *bad_error(struct ArrowArrayStream *s) {
  (void)s;
  return "the disk is on fire";
}
static int released;
static void bad_release(struct ArrowArrayStream *s) {
  released++;
  s->release = NULL;
}

Test(pipeline_arrow, failing_stream_ends_the_run) {
  struct ArrowArrayStream stream = {bad_get_schema, bad_get_next, bad_error, bad_release, NULL};
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source_arrow_stream(p, "broken_arrow", &stream);
  cr_assert_not_null(src);
  int rc = weir_pipeline_run(p, src);
  cr_assert_lt(rc, 0);
  cr_assert(strstr(weir_pipeline_errmsg(p), "broken_arrow"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  cr_assert_eq(released, 1, "the stream is released once, by the pipeline");
}

Test(pipeline_arrow, bad_arguments_release_the_stream) {
  released = 0;
  struct ArrowArrayStream stream = {bad_get_schema, bad_get_next, bad_error, bad_release, NULL};
  cr_assert_null(weir_source_arrow_stream(NULL, "x", &stream));
  cr_assert_eq(released, 1, "moved in, also on failure");
  weir_pipeline *p = NULL;
  weir_pipeline_create(&p, NULL);
  cr_assert_null(weir_source_arrow_stream(p, "x", NULL));
  weir_pipeline_destroy(p);
}
