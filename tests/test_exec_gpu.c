/* The executor's GPU path, run for real when a CUDA device is present:
 * an operator with num_gpus > 0 gets its input on the device, a stream and
 * a device index in its context, and the iterator hands back host blocks.
 * Skips with a message on machines without CUDA (fails instead with
 * WEIR_TEST_GPU=1: see gpu_test.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "test_exec_util.h"
#include "gpu_test.h"

/* A block with "id" and a float32 TENSOR column "x" of shape [4]. */
static int tensor_read(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *b;
  weir_builder_create(&b);
  weir_builder_add_column(b, "id", WEIR_TYPE_INT64);
  int64_t shape[1] = {4};
  weir_builder_add_tensor_column(b, "x", WEIR_DTYPE_FLOAT32, 1, shape);
  for (int i = 0; i < 16; i++) {
    float v[4] = {(float)task, (float)i, 1, 2};
    weir_builder_append_int64(b, 0, (int64_t)task * 16 + i);
    weir_builder_append_tensor(b, 1, v);
  }
  weir_block *blk;
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

typedef struct seen_gpu {
  atomic_int on_device, with_stream, calls;
} seen_gpu;

static int on_gpu(void *user, weir_block *in, weir_emit *out) {
  seen_gpu *s = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  weir_column c;
  weir_block_column(in, (size_t)weir_block_column_index(in, "x"), &c);
  atomic_fetch_add(&s->calls, 1);
  if (c.device == WEIR_DEVICE_CUDA)
    atomic_fetch_add(&s->on_device, 1);
  if (weir_ctx_cuda_stream(ctx) && weir_ctx_device(ctx) >= 0)
    atomic_fetch_add(&s->with_stream, 1);
  return weir_emit_block(out, weir_block_ref(in));
}

Test(exec_gpu, operator_runs_on_cuda_stream_workers) {
  GPU_TEST_NEED_DEVICE(); /* fails instead of skipping with WEIR_TEST_GPU=1 */
  static seen_gpu s;
  memset(&s, 0, sizeof s);
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 20, tensor_read, NULL, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = 0.5;
  o.min_workers = 2;
  weir_op *g = weir_map_batches(p, src, "gpu", on_gpu, &s, &o);
  cr_assert_not_null(g, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, g, NULL, &it), WEIR_OK);
  eu_seen seen;
  eu_seen_init(&seen, 320);
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    weir_column c;
    weir_block_column(b, 1, &c);
    cr_assert_eq(c.device, WEIR_DEVICE_CPU, "the iterator hands back host blocks");
    cr_assert_eq(((const float *)c.data)[2], 1.0f);
    eu_seen_add(&seen, b);
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  cr_assert_eq(atomic_load(&s.calls), 20);
  cr_assert_eq(atomic_load(&s.on_device), 20, "inputs were copied to the device");
  cr_assert_eq(atomic_load(&s.with_stream), 20, "each worker has a stream and a device");
  eu_seen_free(&seen);
  weir_pipeline_destroy(p);
}

Test(exec_gpu, too_many_gpus_fails_cleanly) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "tensors", 1, tensor_read, NULL, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = 1000;
  weir_op *g = weir_map_batches(p, src, "greedy", on_gpu, NULL, &o);
  cr_assert_null(g, "1000 GPUs cannot be had");
  int code = weir_pipeline_errcode(p);
  cr_assert(code == WEIR_ENOTSUP || code == WEIR_ENODEV || code == WEIR_EINVAL, "code %d", code);
  cr_assert(strstr(weir_pipeline_errmsg(p), "greedy"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}
