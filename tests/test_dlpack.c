/* DLPack export of TENSOR columns: shape, strides, dtype and device, zero
 * copy, slices, and a deleter that drops the buffer reference once. */
#include <criterion/criterion.h>
#include <dlpack/dlpack.h>
#include <stdio.h>
#include <string.h>
#include <weir.h>

#include "core/block_internal.h"

static weir_block *tensor_block(int dtype, int ndim, const int64_t *shape, size_t rows) {
  weir_builder *bld = NULL;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "id", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t", dtype, ndim, shape), WEIR_OK);
  size_t row_bytes = weir_dtype_size(dtype);
  for (int d = 0; d < ndim; d++) row_bytes *= (size_t)shape[d];
  uint8_t row[4096];
  cr_assert_leq(row_bytes, sizeof row);
  for (size_t i = 0; i < rows; i++) {
    for (size_t k = 0; k < row_bytes; k++) row[k] = (uint8_t)(i * 17 + k);
    cr_assert_eq(weir_builder_append_int64(bld, 0, (int64_t)i), WEIR_OK);
    cr_assert_eq(weir_builder_append_tensor(bld, 1, row), WEIR_OK);
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  return b;
}

Test(dlpack, shape_strides_dtype_and_zero_copy) {
  int64_t shape[3] = {2, 3, 4};
  weir_block *b = tensor_block(WEIR_DTYPE_FLOAT32, 3, shape, 5);
  DLManagedTensor *t = NULL;
  cr_assert_eq(weir_block_column_to_dlpack(b, 1, &t), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_eq(t->dl_tensor.ndim, 4);
  int64_t want_shape[4] = {5, 2, 3, 4}, want_strides[4] = {24, 12, 4, 1};
  for (int d = 0; d < 4; d++) {
    cr_assert_eq(t->dl_tensor.shape[d], want_shape[d]);
    cr_assert_eq(t->dl_tensor.strides[d], want_strides[d]);
  }
  cr_assert_eq(t->dl_tensor.dtype.code, kDLFloat);
  cr_assert_eq(t->dl_tensor.dtype.bits, 32);
  cr_assert_eq(t->dl_tensor.dtype.lanes, 1);
  cr_assert_eq(t->dl_tensor.device.device_type, kDLCPU);
  cr_assert_eq(t->dl_tensor.device.device_id, 0);
  cr_assert_eq(t->dl_tensor.byte_offset, 0);
  weir_column c;
  weir_block_column(b, 1, &c);
  cr_assert_eq(t->dl_tensor.data, c.data, "the tensor must point at the column");
  t->deleter(t);
  weir_block_unref(&b);
}

Test(dlpack, every_dtype_maps) {
  static const struct { int dtype; uint8_t code, bits; } map[] = {
    {WEIR_DTYPE_UINT8, kDLUInt, 8},     {WEIR_DTYPE_INT8, kDLInt, 8},
    {WEIR_DTYPE_INT16, kDLInt, 16},     {WEIR_DTYPE_INT32, kDLInt, 32},
    {WEIR_DTYPE_INT64, kDLInt, 64},     {WEIR_DTYPE_FLOAT16, kDLFloat, 16},
    {WEIR_DTYPE_BFLOAT16, kDLBfloat, 16}, {WEIR_DTYPE_FLOAT32, kDLFloat, 32},
    {WEIR_DTYPE_FLOAT64, kDLFloat, 64}};
  int64_t shape[1] = {3};
  for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
    weir_block *b = tensor_block(map[k].dtype, 1, shape, 4);
    DLManagedTensor *t = NULL;
    cr_assert_eq(weir_block_column_to_dlpack(b, 1, &t), WEIR_OK);
    cr_assert_eq(t->dl_tensor.dtype.code, map[k].code, "%s", weir_dtype_name(map[k].dtype));
    cr_assert_eq(t->dl_tensor.dtype.bits, map[k].bits, "%s", weir_dtype_name(map[k].dtype));
    /* Every byte is the builder's: row i byte k is i * 17 + k. */
    const uint8_t *p = t->dl_tensor.data;
    size_t row_bytes = 3u * map[k].bits / 8;
    for (size_t i = 0; i < 4; i++)
      for (size_t j = 0; j < row_bytes; j++) cr_assert_eq(p[i * row_bytes + j], (uint8_t)(i * 17 + j));
    t->deleter(t);
    weir_block_unref(&b);
  }
}

/* The tensor keeps the buffer: it outlives the block, and the deleter is
 * the one that frees it (counted through the buffer's reference count). */
Test(dlpack, deleter_drops_the_buffer_reference_once) {
  int64_t shape[2] = {4, 4};
  weir_block *b = tensor_block(WEIR_DTYPE_INT32, 2, shape, 10);
  weir__buffer *buf = b->cols[1].data_buf;
  long before = atomic_load(&buf->refs);
  DLManagedTensor *t1 = NULL, *t2 = NULL;
  cr_assert_eq(weir_block_column_to_dlpack(b, 1, &t1), WEIR_OK);
  cr_assert_eq(weir_block_column_to_dlpack(b, 1, &t2), WEIR_OK);
  cr_assert_eq(atomic_load(&buf->refs), before + 2);
  t1->deleter(t1);
  cr_assert_eq(atomic_load(&buf->refs), before + 1);
  weir_block_unref(&b);
  cr_assert_eq(atomic_load(&buf->refs), 1, "only the tensor holds the buffer now");
  /* Still readable (ASan would catch a freed buffer). */
  const int32_t *v = t2->dl_tensor.data;
  uint8_t first[4];
  memcpy(first, &v[16 * 9], 4);
  cr_assert_eq(first[0], (uint8_t)(9 * 17));
  t2->deleter(t2);
}

Test(dlpack, slices_point_into_the_shared_buffer) {
  int64_t shape[1] = {8};
  weir_block *b = tensor_block(WEIR_DTYPE_UINT8, 1, shape, 20);
  weir_block *sl = NULL;
  cr_assert_eq(weir_block_slice(b, 7, 5, &sl), WEIR_OK);
  DLManagedTensor *t = NULL;
  cr_assert_eq(weir_block_column_to_dlpack(sl, 1, &t), WEIR_OK);
  cr_assert_eq(t->dl_tensor.shape[0], 5);
  weir_column c;
  weir_block_column(b, 1, &c);
  cr_assert_eq(t->dl_tensor.data, (const uint8_t *)c.data + 7 * 8);
  cr_assert_eq(((const uint8_t *)t->dl_tensor.data)[0], (uint8_t)(7 * 17));
  weir_block_unref(&sl);
  weir_block_unref(&b);
  t->deleter(t);
}

Test(dlpack, refuses_what_dlpack_cannot_hold) {
  int64_t shape[1] = {2};
  weir_block *b = tensor_block(WEIR_DTYPE_FLOAT64, 1, shape, 3);
  DLManagedTensor *t = NULL;
  cr_assert_eq(weir_block_column_to_dlpack(b, 0, &t), WEIR_EINVAL, "an int64 column");
  cr_assert(strstr(weir_last_errmsg(), "id") != NULL, "%s", weir_last_errmsg());
  cr_assert_eq(weir_block_column_to_dlpack(b, 2, &t), WEIR_EINVAL, "no such column");
  cr_assert_eq(weir_block_column_to_dlpack(NULL, 0, &t), WEIR_EINVAL);
  cr_assert_eq(weir_block_column_to_dlpack(b, 1, NULL), WEIR_EINVAL);
  cr_assert_null(t);
  weir_block_unref(&b);

  /* A column with a null row. */
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_INT8, 1, shape);
  int8_t row[2] = {1, 2};
  weir_builder_append_tensor(bld, 0, row);
  weir_builder_append_null(bld, 0);
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  cr_assert_eq(weir_block_column_to_dlpack(b, 0, &t), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "null") != NULL, "%s", weir_last_errmsg());
  weir_block_unref(&b);
}

/* A column on a CUDA device is described as kDLCUDA with its device id.
 * The block here is assembled by hand (a host buffer flagged as device
 * memory, never dereferenced), so the mapping is checked without a GPU. */
Test(dlpack, cuda_columns_name_their_device) {
  weir_block *b = weir__block_alloc(1, 4);
  weir__column *col = &b->cols[0];
  col->name = strdup("gpu");
  col->type = WEIR_TYPE_TENSOR;
  col->dtype = WEIR_DTYPE_FLOAT16;
  col->ndim = 1;
  col->shape[0] = 8;
  col->length = 4;
  col->data_buf = weir__buffer_alloc(4 * 8 * 2);
  col->data_buf->device = WEIR_DEVICE_CUDA;
  col->data_buf->device_id = 3;
  col->data = col->data_buf->data;
  col->device = WEIR_DEVICE_CUDA;
  col->device_id = 3;
  weir__block_seal(b);
  DLManagedTensor *t = NULL;
  cr_assert_eq(weir_block_column_to_dlpack(b, 0, &t), WEIR_OK);
  cr_assert_eq(t->dl_tensor.device.device_type, kDLCUDA);
  cr_assert_eq(t->dl_tensor.device.device_id, 3);
  cr_assert_eq(t->dl_tensor.data, col->data);
  weir_block_unref(&b);
  t->deleter(t);
}

/* The stream-taking export answers like the plain one for host columns in
 * every build (no device work to order), and refuses a NULL stream. */
Test(dlpack, consumer_stream_export_of_host_columns) {
  int64_t shape[1] = {4};
  weir_block *b = tensor_block(WEIR_DTYPE_FLOAT32, 1, shape, 3);
  DLManagedTensor *t = NULL;
  int fake_stream;
  cr_assert_eq(weir_cuda_column_to_dlpack(b, 1, &fake_stream, &t), WEIR_OK, "%s",
               weir_last_errmsg());
  cr_assert_eq(t->dl_tensor.device.device_type, kDLCPU);
  t->deleter(t);
  cr_assert_eq(weir_cuda_column_to_dlpack(b, 1, NULL, &t), WEIR_EINVAL);
  cr_assert_eq(weir_cuda_column_to_dlpack(b, 99, &fake_stream, &t), WEIR_EINVAL);
  weir_block_unref(&b);
}
