/* The built-in image operators in real pipelines: the CPU versions against
 * the reference kernels, the errors of the GPU versions without a device,
 * and (on a machine with a GPU) the GPU versions against the CPU ones, with
 * blocks staying on the device between GPU operators. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weir.h>

#include "cuda/cuda_internal.h"
#include "gpu_test.h"

#define H 48
#define W 64
#define ROWS 6
#define TASKS 3

static void fill_random(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (uint8_t)(seed >> 24);
  }
}

/* Task t emits ROWS images [H, W, 3] with ids t*ROWS.., seeded by id. */
static int read_images(void *user, size_t task, weir_emit *out) {
  (void)user;
  weir_builder *bld;
  int rc = weir_builder_create(&bld);
  if (rc) return rc;
  int64_t shape[3] = {H, W, 3};
  weir_builder_add_tensor_column(bld, "image", WEIR_DTYPE_UINT8, 3, shape);
  weir_builder_add_column(bld, "id", WEIR_TYPE_INT64);
  uint8_t img[H * W * 3];
  for (int r = 0; r < ROWS; r++) {
    int64_t id = (int64_t)task * ROWS + r;
    fill_random(img, sizeof img, (unsigned)id + 1);
    weir_builder_append_tensor(bld, 0, img);
    weir_builder_append_int64(bld, 1, id);
  }
  weir_block *b;
  rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  return rc ? rc : weir_emit_block(out, b);
}

static const float MEAN[3] = {0.485f, 0.456f, 0.406f};
static const float STD[3] = {0.229f, 0.224f, 0.225f};
/* The same as weir_gpu_normalize's options: ImageNet's, [C, H, W] out. */
static const weir_normalize_options NORM = {WEIR_NORMALIZE_OPTIONS_VERSION, 3,
                                            {0.485f, 0.456f, 0.406f, 0.0f},
                                            {0.229f, 0.224f, 0.225f, 1.0f}, 1, 0.0f};

/* Runs source -> resize(oh, ow) -> normalize on `gpus` GPUs per worker and
 * checks every row against the CPU kernels; returns the rows seen. */
static size_t run_and_check(double gpus, int oh, int ow) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = gpus;
  o.max_workers = 2;
  weir_op *src = weir_source(p, "images", TASKS, read_images, NULL, NULL);
  weir_op *rs = weir_gpu_resize(p, src, "image", ow, oh, &o);
  weir_op *nm = weir_gpu_normalize(p, rs, "image", &NORM, &o);
  cr_assert_not_null(nm, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, nm, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir__normalize_params np;
  cr_assert_eq(weir__normalize_params_init(&np, 3, MEAN, STD, 0.0f), WEIR_OK);
  uint8_t img[H * W * 3];
  uint8_t *small = malloc((size_t)oh * ow * 3);
  float *want = malloc(sizeof(float) * 3 * oh * ow);
  size_t rows = 0;
  int seen[TASKS * ROWS] = {0};
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    int ic = weir_block_column_index(b, "image"), idc = weir_block_column_index(b, "id");
    cr_assert_geq(ic, 0);
    cr_assert_geq(idc, 0, "other columns are kept");
    weir_column col, ids;
    weir_block_column(b, (size_t)ic, &col);
    weir_block_column(b, (size_t)idc, &ids);
    cr_assert_eq(col.device, WEIR_DEVICE_CPU, "the iterator hands host blocks");
    cr_assert_eq(col.dtype, WEIR_DTYPE_FLOAT32);
    cr_assert_eq(col.ndim, 3);
    cr_assert_eq(col.shape[0], 3);
    cr_assert_eq(col.shape[1], oh);
    cr_assert_eq(col.shape[2], ow);
    for (size_t r = 0; r < col.length; r++) {
      int64_t id = ((const int64_t *)ids.data)[r];
      cr_assert(id >= 0 && id < TASKS * ROWS && !seen[id], "id %lld once", (long long)id);
      seen[id] = 1;
      fill_random(img, sizeof img, (unsigned)id + 1);
      weir__resize_cpu(img, small, 1, H, W, 3, oh, ow);
      weir__normalize_cpu(small, want, 1, oh, ow, &np);
      const float *got = (const float *)col.data + r * 3 * (size_t)oh * ow;
      for (size_t k = 0; k < 3 * (size_t)oh * ow; k++)
        cr_assert_float_eq(got[k], want[k], 1e-6, "row %lld element %zu: %g vs %g",
                           (long long)id, k, got[k], want[k]);
      rows++;
    }
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  free(small);
  free(want);
  return rows;
}

Test(cuda_ops, cpu_versions_in_a_pipeline) {
  cr_assert_eq(run_and_check(0, 24, 32), (size_t)TASKS * ROWS);
  cr_assert_eq(run_and_check(0, 50, 70), (size_t)TASKS * ROWS);
}

Test(cuda_ops, gpu_versions_without_a_device_fail_with_a_reason) {
  if (weir_cuda_built() && weir_cuda_device_count() > 0)
    cr_skip_test("a CUDA device is present; the GPU tests cover this build");
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "images", 1, read_images, NULL, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = 1;
  weir_op *nm = weir_gpu_normalize(p, src, "image", &NORM, &o);
  cr_assert_null(nm);
  const char *msg = weir_pipeline_errmsg(p);
  if (weir_cuda_built())
    cr_assert(strstr(msg, "no CUDA device"), "message: %s", msg);
  else
    cr_assert(strstr(msg, "without CUDA"), "message: %s", msg);
  cr_assert_null(weir_gpu_resize(p, src, "image", 10, 10, &o));
  cr_assert_null(weir_gpu_resize(p, NULL, "image", 10, 10, NULL), "NULL input fails too");
  weir_pipeline_destroy(p);
}

Test(cuda_ops, bad_arguments_are_refused_at_creation) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "images", 1, read_images, NULL, NULL);
  weir_normalize_options bad = NORM;
  bad.std[1] = -0.2f;
  cr_assert_null(weir_gpu_normalize(p, src, "image", &bad, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "std"), "%s", weir_pipeline_errmsg(p));
  /* The CPU operator's [H, W, C] layout is not this operator's. */
  weir_normalize_options hwc = NORM;
  hwc.chw = 0;
  cr_assert_null(weir_gpu_normalize(p, src, "image", &hwc, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "chw = 1"), "%s", weir_pipeline_errmsg(p));
  cr_assert_null(weir_gpu_resize(p, src, "image", 0, 10, NULL));
  cr_assert(strstr(weir_pipeline_errmsg(p), "0x10"), "%s", weir_pipeline_errmsg(p));
  cr_assert_null(weir_gpu_normalize(p, src, NULL, &NORM, NULL));
  weir_pipeline_destroy(p);
}

Test(cuda_ops, a_missing_column_ends_the_run_naming_it) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "images", 1, read_images, NULL, NULL);
  weir_op *nm = weir_gpu_normalize(p, src, "pixels", &NORM, NULL);
  cr_assert_not_null(nm);
  cr_assert_eq(weir_pipeline_run(p, nm), WEIR_ENOTFOUND);
  cr_assert(strstr(weir_pipeline_errmsg(p), "'pixels'"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(cuda_ops, a_wrong_column_type_ends_the_run_naming_it) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "images", 1, read_images, NULL, NULL);
  weir_op *rs = weir_gpu_resize(p, src, "id", 4, 4, NULL);
  cr_assert_not_null(rs);
  cr_assert_eq(weir_pipeline_run(p, rs), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "'id'"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

/* ---- On a GPU ---------------------------------------------------------- */

/* Every device byte weir handed out came back once the pipeline is gone
 * (allowing host functions on their way a moment). */
static void no_device_memory_in_use(void) {
  size_t in_use = 1;
  for (int i = 0; i < 100 && in_use; i++) {
    cr_assert_eq(weir_cuda_memory_stats(0, NULL, &in_use), WEIR_OK);
    if (in_use) usleep(10000);
  }
  cr_assert_eq(in_use, 0u, "%zu device bytes still in use", in_use);
  weir_cuda_empty_cache();
}

/* Skips without a device, fails instead under WEIR_TEST_GPU=1. */
static void need_gpu(void) { GPU_TEST_NEED_DEVICE(); }

Test(cuda_ops, gpu_versions_match_the_cpu) {
  need_gpu();
  /* Two GPU operators run at the same time: on one device each holds a
   * share (a whole GPU each is refused at start, see weir/pipeline.h). */
  cr_assert_eq(run_and_check(0.5, 24, 32), (size_t)TASKS * ROWS);
  cr_assert_eq(run_and_check(0.25, 224, 224), (size_t)TASKS * ROWS);
  no_device_memory_in_use();
}

/* A GPU operator that checks its input arrives on the device without a
 * host copy: the image column is a device column. */
static int expect_device(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  (void)state;
  weir_column c;
  int ic = weir_block_column_index(in, "image");
  weir_block_column(in, (size_t)ic, &c);
  if (c.device != WEIR_DEVICE_CUDA || c.dtype != WEIR_DTYPE_FLOAT32) {
    weir_ctx_set_errmsg(ctx, "image column on device %d dtype %d", c.device, c.dtype);
    return WEIR_EINVAL;
  }
  if (!weir_ctx_cuda_stream(ctx)) return WEIR_EINVAL;
  return weir_emit_block(out, weir_block_ref(in));
}

Test(cuda_ops, blocks_stay_on_the_device_between_gpu_operators) {
  need_gpu();
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = 0.5; /* two GPU operators share one device */
  weir_op *src = weir_source(p, "images", TASKS, read_images, NULL, NULL);
  weir_op *nm = weir_gpu_normalize(p, src, "image", &NORM, &o);
  weir_op_def def = {WEIR_OP_DEF_VERSION, "expect_device", NULL, expect_device, NULL, NULL};
  weir_op *chk = weir_add_op(p, nm, &def, NULL, &o);
  cr_assert_not_null(chk, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, chk), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  no_device_memory_in_use();
}

/* ---- Device loader ------------------------------------------------------ */

Test(cuda_ops, loader_without_a_device_says_why) {
  if (weir_cuda_built() && weir_cuda_device_count() > 0)
    cr_skip_test("a CUDA device is present; the GPU tests cover this build");
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "images", 1, read_images, NULL, NULL);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  weir_cuda_loader *l = (void *)1;
  int rc = weir_cuda_loader_create(p, it, 0, 2, &l);
  cr_assert_eq(rc, weir_cuda_built() ? WEIR_ENODEV : WEIR_ENOTSUP);
  cr_assert_null(l);
  cr_assert_neq(weir_last_errmsg()[0], '\0', "a message says why");
  weir_cuda_loader_destroy(NULL);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

Test(cuda_ops, loader_delivers_every_batch_on_the_device) {
  need_gpu();
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "images", TASKS, read_images, NULL, NULL);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  weir_cuda_loader *l;
  cr_assert_eq(weir_cuda_loader_create(p, it, 0, 2, &l), WEIR_OK, "%s", weir_last_errmsg());
  weir_block *d;
  int rc, seen[TASKS * ROWS] = {0};
  size_t rows = 0;
  uint8_t img[H * W * 3];
  while ((rc = weir_cuda_loader_next(l, &d)) == WEIR_OK) {
    weir_column c;
    weir_block_column(d, (size_t)weir_block_column_index(d, "image"), &c);
    cr_assert_eq(c.device, WEIR_DEVICE_CUDA);
    cr_assert_not_null(c.ready_event);
    weir_block *h;
    cr_assert_eq(weir_cuda_block_to_host(d, &h), WEIR_OK, "%s", weir_last_errmsg());
    weir_column hc, ids;
    weir_block_column(h, (size_t)weir_block_column_index(h, "image"), &hc);
    weir_block_column(h, (size_t)weir_block_column_index(h, "id"), &ids);
    for (size_t r = 0; r < hc.length; r++, rows++) {
      int64_t id = ((const int64_t *)ids.data)[r];
      cr_assert(!seen[id]);
      seen[id] = 1;
      fill_random(img, sizeof img, (unsigned)id + 1);
      cr_assert_eq(memcmp((const uint8_t *)hc.data + r * sizeof img, img, sizeof img), 0);
    }
    weir_block_unref(&h);
    weir_block_unref(&d);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_last_errmsg());
  cr_assert_eq(rows, (size_t)TASKS * ROWS);
  weir_cuda_loader_destroy(l);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  no_device_memory_in_use();
}

Test(cuda_ops, loader_destroyed_early_does_not_hang) {
  need_gpu();
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "images", 50, read_images, NULL, NULL);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, src, NULL, &it), WEIR_OK);
  weir_cuda_loader *l;
  cr_assert_eq(weir_cuda_loader_create(p, it, 0, 1, &l), WEIR_OK);
  weir_block *d;
  cr_assert_eq(weir_cuda_loader_next(l, &d), WEIR_OK);
  weir_block_unref(&d);
  weir_cuda_loader_destroy(l);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  no_device_memory_in_use();
}
