/* GPU paths of the CUDA component, driven through the executor's backend
 * table: uploads, kernels against the CPU reference, downloads, blocks
 * staying on the device, pool reuse. Every test skips without a device
 * (fails instead with WEIR_TEST_GPU=1: see gpu_test.h);
 * CUDA is only touched inside test bodies (Criterion forks per test). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dlpack/dlpack.h>
#include <weir.h>

#include "core/block_internal.h"
#include "cuda/cuda_internal.h"
#include "exec/gpu_backend.h"
#include "gpu_test.h"

/* Skips without a device, fails instead under WEIR_TEST_GPU=1. */
static void need_gpu(void) { GPU_TEST_NEED_DEVICE(); }

/* Every device byte weir handed out has come back (host functions that
 * return shared buffers may still be on their way, hence the short wait),
 * then the cache goes back to CUDA so that compute-sanitizer's leak check
 * sees nothing of weir's. */
static void no_device_memory_in_use(void) {
  size_t in_use = 1;
  for (int i = 0; i < 100 && in_use; i++) {
    cr_assert_eq(weir_cuda_memory_stats(0, NULL, &in_use), WEIR_OK);
    if (in_use) usleep(10000);
  }
  cr_assert_eq(in_use, 0u, "%zu device bytes still in use", in_use);
  weir_cuda_empty_cache();
}

static void fill_random(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (uint8_t)(seed >> 24);
  }
}

/* A block of `n` random uint8 images [h, w, c] in column "image", plus an
 * int64 column "id". */
static weir_block *images(size_t n, int h, int w, int c, unsigned seed) {
  weir_builder *bld;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  int64_t shape[3] = {h, w, c};
  cr_assert_eq(weir_builder_add_tensor_column(bld, "image", WEIR_DTYPE_UINT8, 3, shape), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "id", WEIR_TYPE_INT64), WEIR_OK);
  size_t bytes = (size_t)h * w * c;
  uint8_t *img = malloc(bytes);
  for (size_t i = 0; i < n; i++) {
    fill_random(img, bytes, seed + (unsigned)i);
    cr_assert_eq(weir_builder_append_tensor(bld, 0, img), WEIR_OK);
    cr_assert_eq(weir_builder_append_int64(bld, 1, (int64_t)i), WEIR_OK);
  }
  free(img);
  weir_block *b;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  return b;
}

Test(cuda_gpu, round_trip_through_the_device) {
  need_gpu();
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *w;
  cr_assert_eq(g->worker_init(0, &w), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_not_null(g->worker_stream(w));
  /* Bigger than the staging ring, so the ring wraps. */
  weir_block *host = images(40, 480, 640, 3, 1), *dev, *back;
  cr_assert_eq(g->to_device(w, host, &dev), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert(weir__block_on_device(dev));
  weir_column col;
  cr_assert_eq(weir_block_column(dev, 0, &col), WEIR_OK);
  cr_assert_eq(col.device, WEIR_DEVICE_CUDA);
  cr_assert_eq(col.device_id, 0);
  cr_assert_not_null(col.ready_event);
  cr_assert_eq(weir_block_column(dev, 1, &col), WEIR_OK);
  cr_assert_eq(col.device, WEIR_DEVICE_CPU, "non-tensor columns stay on the host");
  cr_assert_eq(g->sync(w), WEIR_OK);
  cr_assert_eq(g->to_host(dev, &back), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_not(weir__block_on_device(back));
  weir_column a, b;
  weir_block_column(host, 0, &a);
  weir_block_column(back, 0, &b);
  cr_assert_eq(memcmp(a.data, b.data, 40u * 480 * 640 * 3), 0, "bytes survive the trip");
  weir_block_unref(&back);
  weir_block_unref(&dev);
  weir_block_unref(&host);
  g->worker_destroy(w);
  no_device_memory_in_use();
}

Test(cuda_gpu, device_blocks_are_shared_not_copied) {
  need_gpu();
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *w1, *w2;
  cr_assert_eq(g->worker_init(0, &w1), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_eq(g->worker_init(0, &w2), WEIR_OK, "%s", weir_last_errmsg());
  weir_block *host = images(4, 32, 32, 3, 5), *d1, *d2;
  cr_assert_eq(g->to_device(w1, host, &d1), WEIR_OK);
  size_t in_use_before;
  cr_assert_eq(weir_cuda_memory_stats(0, NULL, &in_use_before), WEIR_OK);
  /* The next GPU operator (another stream) gets the same device memory. */
  cr_assert_eq(g->to_device(w2, d1, &d2), WEIR_OK);
  weir_column c1, c2;
  weir_block_column(d1, 0, &c1);
  weir_block_column(d2, 0, &c2);
  cr_assert_eq(c1.data, c2.data, "no copy between GPU operators on one device");
  size_t in_use_after;
  weir_cuda_memory_stats(0, NULL, &in_use_after);
  cr_assert_eq(in_use_after, in_use_before, "no new device memory");
  weir_block_unref(&d1);
  weir_block_unref(&d2);
  cr_assert_eq(g->sync(w2), WEIR_OK);
  g->worker_destroy(w2);
  g->worker_destroy(w1);
  weir_block_unref(&host);
  no_device_memory_in_use();
}

Test(cuda_gpu, pool_reuses_device_memory_for_same_shapes) {
  need_gpu();
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *w;
  cr_assert_eq(g->worker_init(0, &w), WEIR_OK);
  weir_block *host = images(8, 64, 64, 3, 9);
  size_t reserved_first = 0;
  for (int i = 0; i < 20; i++) {
    weir_block *d;
    cr_assert_eq(g->to_device(w, host, &d), WEIR_OK);
    weir_block_unref(&d);
    size_t reserved, in_use;
    cr_assert_eq(weir_cuda_memory_stats(0, &reserved, &in_use), WEIR_OK);
    if (i == 0) reserved_first = reserved;
    cr_assert_eq(reserved, reserved_first, "round %d: the pool did not grow", i);
  }
  cr_assert_eq(g->sync(w), WEIR_OK);
  g->worker_destroy(w);
  weir_block_unref(&host);
  cr_assert_gt(weir_cuda_empty_cache(), 0u, "cached memory goes back");
}

static void compare_normalize_c(size_t n, int h, int w, int ch) {
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *wk;
  cr_assert_eq(g->worker_init(0, &wk), WEIR_OK);
  weir_block *host = images(n, h, w, ch, 77), *dev, *out, *back;
  cr_assert_eq(g->to_device(wk, host, &dev), WEIR_OK);
  const float mean[4] = {0.485f, 0.456f, 0.406f, 0.5f}, std[4] = {0.229f, 0.224f, 0.225f, 0.25f};
  weir__normalize_params p;
  cr_assert_eq(weir__normalize_params_init(&p, ch, mean, std, 0.0f), WEIR_OK);
  void *dst;
  int64_t shape[3] = {ch, h, w};
  cr_assert_eq(weir_cuda_tensor_block(NULL, "x", WEIR_DTYPE_FLOAT32, 3, shape, n, &out, &dst), WEIR_OK,
               "%s", weir_last_errmsg());
  weir_column src;
  weir_block_column(dev, 0, &src);
  cr_assert_eq(weir__normalize_cuda(src.data, dst, n, h, w, &p, g->worker_stream(wk)), WEIR_OK,
               "%s", weir_last_errmsg());
  /* No sync: the download waits on the output's ready event. */
  cr_assert_eq(g->to_host(out, &back), WEIR_OK, "%s", weir_last_errmsg());
  float *ref = malloc(sizeof(float) * n * ch * h * w);
  weir_column hsrc, got;
  weir_block_column(host, 0, &hsrc);
  weir__normalize_cpu(hsrc.data, ref, n, h, w, &p);
  weir_block_column(back, 0, &got);
  cr_assert_eq(memcmp(got.data, ref, sizeof(float) * n * ch * h * w), 0,
               "GPU and CPU normalisation are bit-identical");
  free(ref);
  weir_block_unref(&back);
  weir_block_unref(&out);
  weir_block_unref(&dev);
  weir_block_unref(&host);
  cr_assert_eq(g->sync(wk), WEIR_OK);
  g->worker_destroy(wk);
  no_device_memory_in_use();
}

static void compare_normalize(size_t n, int h, int w) { compare_normalize_c(n, h, w, 3); }

Test(cuda_gpu, normalize_matches_cpu) {
  need_gpu();
  compare_normalize(5, 224, 224);
  compare_normalize(3, 17, 31);
}

/* Both kernel paths for every channel count: four pixels a thread (planes
 * of a multiple of 4 pixels, aligned buffers) and one a thread (odd
 * planes); a quad that straddled two images would show here. */
Test(cuda_gpu, normalize_matches_cpu_for_every_channel_count) {
  need_gpu();
  for (int ch = 1; ch <= 4; ch++) {
    compare_normalize_c(3, 8, 12, ch);
    compare_normalize_c(3, 5, 7, ch);
  }
}

/* The stream-fenced DLPack export, with another worker's stream as the
 * consumer's: the tensor is the device data, deleting it right after the
 * export is safe, and the memory comes back once the consumer's stream is
 * done (compute-sanitizer checks the ordering on the first GPU run). */
Test(cuda_gpu, dlpack_export_for_a_consumer_stream) {
  need_gpu();
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *wk, *consumer;
  cr_assert_eq(g->worker_init(0, &wk), WEIR_OK);
  cr_assert_eq(g->worker_init(0, &consumer), WEIR_OK);
  weir_block *host = images(4, 64, 64, 3, 5), *dev, *back;
  cr_assert_eq(g->to_device(wk, host, &dev), WEIR_OK);
  DLManagedTensor *t;
  cr_assert_eq(weir_cuda_column_to_dlpack(dev, 0, g->worker_stream(consumer), &t), WEIR_OK,
               "%s", weir_last_errmsg());
  cr_assert_eq(t->dl_tensor.device.device_type, kDLCUDA);
  weir_column dc;
  weir_block_column(dev, 0, &dc);
  cr_assert_eq(t->dl_tensor.data, dc.data, "zero-copy");
  cr_assert_eq(g->to_host(dev, &back), WEIR_OK);
  weir_column hc, bc;
  weir_block_column(host, 0, &hc);
  weir_block_column(back, 0, &bc);
  cr_assert_eq(memcmp(bc.data, hc.data, 4u * 64 * 64 * 3), 0);
  weir_block_unref(&dev);
  t->deleter(t); /* the last reference: the release is fenced on `consumer` */
  cr_assert_eq(weir_cuda_column_to_dlpack(back, 0, NULL, &t), WEIR_EINVAL, "NULL stream");
  weir_block_unref(&back);
  weir_block_unref(&host);
  cr_assert_eq(g->sync(consumer), WEIR_OK);
  cr_assert_eq(g->sync(wk), WEIR_OK);
  g->worker_destroy(consumer);
  g->worker_destroy(wk);
  no_device_memory_in_use();
}

/* Blocks copied back from a device are in pinned memory, and say so to
 * DLPack. */
Test(cuda_gpu, blocks_copied_back_are_pinned_for_dlpack) {
  need_gpu();
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *wk;
  cr_assert_eq(g->worker_init(0, &wk), WEIR_OK);
  weir_block *host = images(2, 16, 16, 3, 9), *dev, *back;
  cr_assert_eq(g->to_device(wk, host, &dev), WEIR_OK);
  cr_assert_eq(g->to_host(dev, &back), WEIR_OK);
  DLManagedTensor *t;
  cr_assert_eq(weir_block_column_to_dlpack(back, 0, &t), WEIR_OK);
  cr_assert_eq(t->dl_tensor.device.device_type, kDLCUDAHost);
  t->deleter(t);
  cr_assert_eq(weir_block_column_to_dlpack(host, 0, &t), WEIR_OK);
  cr_assert_eq(t->dl_tensor.device.device_type, kDLCPU);
  t->deleter(t);
  weir_block_unref(&back);
  weir_block_unref(&dev);
  weir_block_unref(&host);
  cr_assert_eq(g->sync(wk), WEIR_OK);
  g->worker_destroy(wk);
  no_device_memory_in_use();
}

static void compare_resize(int h, int w, int c, int oh, int ow) {
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *wk;
  cr_assert_eq(g->worker_init(0, &wk), WEIR_OK);
  const size_t n = 3;
  weir_block *host = images(n, h, w, c, 3), *dev, *out, *back;
  cr_assert_eq(g->to_device(wk, host, &dev), WEIR_OK);
  void *dst;
  int64_t shape[3] = {oh, ow, c};
  cr_assert_eq(weir_cuda_tensor_block(NULL, "x", WEIR_DTYPE_UINT8, 3, shape, n, &out, &dst), WEIR_OK);
  weir_column src;
  weir_block_column(dev, 0, &src);
  cr_assert_eq(weir__resize_cuda(src.data, dst, n, h, w, c, oh, ow, g->worker_stream(wk)), WEIR_OK);
  cr_assert_eq(g->to_host(out, &back), WEIR_OK);
  size_t bytes = n * (size_t)oh * ow * c;
  uint8_t *ref = malloc(bytes);
  weir_column hsrc, got;
  weir_block_column(host, 0, &hsrc);
  weir__resize_cpu(hsrc.data, ref, n, h, w, c, oh, ow);
  weir_block_column(back, 0, &got);
  const uint8_t *gp = got.data;
  size_t differ = 0;
  for (size_t i = 0; i < bytes; i++) {
    int d = abs((int)gp[i] - (int)ref[i]);
    cr_assert_leq(d, 1, "byte %zu: GPU %d CPU %d", i, gp[i], ref[i]);
    differ += d != 0;
  }
  cr_assert_eq(differ, 0u, "%zu of %zu bytes differ by 1 (expected identical)", differ, bytes);
  free(ref);
  weir_block_unref(&back);
  weir_block_unref(&out);
  weir_block_unref(&dev);
  weir_block_unref(&host);
  cr_assert_eq(g->sync(wk), WEIR_OK);
  g->worker_destroy(wk);
  no_device_memory_in_use();
}

Test(cuda_gpu, resize_matches_cpu) {
  need_gpu();
  compare_resize(480, 640, 3, 224, 224);
  compare_resize(37, 53, 1, 100, 77);
  compare_resize(16, 16, 4, 16, 16);
}

Test(cuda_gpu, tensor_block_outside_a_gpu_worker_is_refused) {
  need_gpu();
  weir_block *b = (void *)1;
  void *d = (void *)1;
  int64_t shape[1] = {4};
  cr_assert_eq(weir_cuda_tensor_block(NULL, "x", WEIR_DTYPE_FLOAT32, 1, shape, 2, &b, &d), WEIR_EINVAL);
  cr_assert_null(b);
  cr_assert(strstr(weir_last_errmsg(), "GPU operator"), "%s", weir_last_errmsg());
}

Test(cuda_gpu, bad_device_index_is_enodev) {
  need_gpu();
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *w = (void *)1;
  cr_assert_eq(g->worker_init(weir_cuda_device_count(), &w), WEIR_ENODEV);
  cr_assert_null(w);
}

Test(cuda_gpu, pinned_host_blocks_go_straight_to_the_device) {
  need_gpu();
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *w;
  cr_assert_eq(g->worker_init(0, &w), WEIR_OK);
  const size_t rows = 16;
  int64_t shape[3] = {256, 256, 3};
  const size_t row_bytes = 256u * 256u * 3u;
  weir_block *host, *dev, *back;
  void *data;
  cr_assert_eq(weir_cuda_host_tensor_block("image", WEIR_DTYPE_UINT8, 3, shape, rows, &host, &data),
               WEIR_OK, "%s", weir_last_errmsg());
  fill_random(data, rows * row_bytes, 11);
  uint8_t *copy = malloc(rows * row_bytes);
  memcpy(copy, data, rows * row_bytes);
  cr_assert_eq(g->to_device(w, host, &dev), WEIR_OK, "%s", weir_last_errmsg());
  /* Dropped while the DMA may still run: the copy keeps the memory. */
  weir_block_unref(&host);
  /* The pinned pool hands the memory out again only after the copy. */
  weir_block *other;
  void *odata;
  cr_assert_eq(weir_cuda_host_tensor_block("image", WEIR_DTYPE_UINT8, 3, shape, rows, &other, &odata),
               WEIR_OK);
  memset(odata, 0, rows * row_bytes);
  cr_assert_eq(g->to_host(dev, &back), WEIR_OK, "%s", weir_last_errmsg());
  weir_column c;
  weir_block_column(back, 0, &c);
  cr_assert_eq(memcmp(c.data, copy, rows * row_bytes), 0);
  free(copy);
  weir_block_unref(&other);
  weir_block_unref(&back);
  weir_block_unref(&dev);
  cr_assert_eq(g->sync(w), WEIR_OK);
  g->worker_destroy(w);
  no_device_memory_in_use();
}

Test(cuda_gpu, utilization_is_a_fraction) {
  need_gpu();
  double u = -1;
  int rc = weir_cuda_device_utilization(0, &u);
  if (rc == WEIR_ENOTSUP) cr_skip_test("NVML is not available: %s", weir_last_errmsg());
  cr_assert_eq(rc, WEIR_OK, "%s", weir_last_errmsg());
  cr_assert(u >= 0 && u <= 1, "utilisation %g", u);
  cr_assert_eq(weir_cuda_device_utilization(weir_cuda_device_count(), &u), WEIR_ENODEV);
}
