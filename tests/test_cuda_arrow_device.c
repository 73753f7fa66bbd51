/* Arrow C Device Data Interface export: host blocks as CPU device arrays
 * everywhere, device blocks (on a machine with a GPU) as CUDA device arrays
 * that point at the device memory without a copy. */
#include <criterion/criterion.h>
#include <string.h>

#include <weir.h>

#include "exec/gpu_backend.h"
#include "gpu_test.h"

static weir_block *tensor_block(size_t rows) {
  weir_builder *bld;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  int64_t shape[2] = {2, 3};
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_FLOAT32, 2, shape), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "name", WEIR_TYPE_STRING), WEIR_OK);
  for (size_t r = 0; r < rows; r++) {
    float v[6];
    for (int i = 0; i < 6; i++) v[i] = (float)(r * 10 + (size_t)i);
    cr_assert_eq(weir_builder_append_tensor(bld, 0, v), WEIR_OK);
    cr_assert_eq(weir_builder_append_string(bld, 1, "row", 3), WEIR_OK);
  }
  weir_block *b;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  return b;
}

Test(cuda_arrow_device, host_block_is_a_cpu_device_array) {
  weir_block *b = tensor_block(4);
  struct ArrowDeviceArray da;
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow_device(b, &da, &s), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_eq(da.device_type, ARROW_DEVICE_CPU);
  cr_assert_null(da.sync_event);
  cr_assert_eq(da.array.length, 4);
  cr_assert_eq(da.array.n_children, 2);
  cr_assert_str_eq(s.format, "+s");
  /* The tensor's values child points into the block's own memory. */
  weir_column c;
  weir_block_column(b, 0, &c);
  cr_assert_eq(da.array.children[0]->children[0]->buffers[1], c.data);
  weir_block_unref(&b); /* the export keeps the buffers alive */
  const float *v = da.array.children[0]->children[0]->buffers[1];
  cr_assert_float_eq(v[3 * 6 + 5], 35.0f, 0);
  da.array.release(&da.array);
  cr_assert_null(da.array.release);
  s.release(&s);
}

Test(cuda_arrow_device, bad_arguments) {
  struct ArrowDeviceArray da;
  cr_assert_eq(weir_block_to_arrow_device(NULL, &da, NULL), WEIR_EINVAL);
  weir_block *b = tensor_block(1);
  cr_assert_eq(weir_block_to_arrow_device(b, NULL, NULL), WEIR_EINVAL);
  weir_block_unref(&b);
}

Test(cuda_arrow_device, device_block_is_a_cuda_device_array) {
  GPU_TEST_NEED_DEVICE(); /* fails instead of skipping with WEIR_TEST_GPU=1 */
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *w;
  cr_assert_eq(g->worker_init(0, &w), WEIR_OK, "%s", weir_last_errmsg());
  weir_block *host = tensor_block(5), *dev;
  cr_assert_eq(g->to_device(w, host, &dev), WEIR_OK, "%s", weir_last_errmsg());
  struct ArrowDeviceArray da;
  /* The string column stayed on the host: a mixed block is refused. */
  cr_assert_eq(weir_block_to_arrow_device(dev, &da, NULL), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "'name'"), "%s", weir_last_errmsg());
  size_t idx = 0;
  weir_block *only;
  cr_assert_eq(weir_block_select(dev, &idx, 1, &only), WEIR_OK);
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow_device(only, &da, &s), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_eq(da.device_type, ARROW_DEVICE_CUDA);
  cr_assert_eq(da.device_id, 0);
  cr_assert_not_null(da.sync_event);
  weir_column c;
  weir_block_column(only, 0, &c);
  cr_assert_eq(da.array.children[0]->children[0]->buffers[1], c.data, "zero-copy");
  cr_assert_str_eq(s.children[0]->format, "+w:6");
  weir_block_unref(&only);
  weir_block_unref(&dev);
  da.array.release(&da.array);
  s.release(&s);
  cr_assert_eq(g->sync(w), WEIR_OK);
  g->worker_destroy(w);
  weir_block_unref(&host);
}
