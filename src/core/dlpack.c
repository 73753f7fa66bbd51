/* Zero-copy DLPack export of TENSOR columns. */
#include <dlpack/dlpack.h>
#include <stdlib.h>
#include <string.h>

#include "weir/dlpack.h"
#include "weir/error.h"
#include "core/block_internal.h"

/* The managed tensor and the arrays it points to, in one allocation that
 * the deleter frees, plus the buffer reference that keeps the data alive. */
typedef struct dl_export {
  DLManagedTensor managed;
  weir__buffer *buf;
  int64_t shape[WEIR_TENSOR_MAX_DIMS + 1];
  int64_t strides[WEIR_TENSOR_MAX_DIMS + 1];
} dl_export;

static void dl_deleter(DLManagedTensor *self) {
  if (!self) return;
  dl_export *e = self->manager_ctx;
  weir__buffer_unref(e->buf);
  free(e);
}

static int dl_dtype(int dtype, DLDataType *out) {
  out->lanes = 1;
  out->bits = (uint8_t)(weir_dtype_size(dtype) * 8);
  switch (dtype) {
  case WEIR_DTYPE_UINT8:
  case WEIR_DTYPE_UINT16:
  case WEIR_DTYPE_UINT32:
  case WEIR_DTYPE_UINT64:   out->code = kDLUInt; return 0;
  case WEIR_DTYPE_INT8:
  case WEIR_DTYPE_INT16:
  case WEIR_DTYPE_INT32:
  case WEIR_DTYPE_INT64:    out->code = kDLInt; return 0;
  case WEIR_DTYPE_FLOAT16:
  case WEIR_DTYPE_FLOAT32:
  case WEIR_DTYPE_FLOAT64:  out->code = kDLFloat; return 0;
  case WEIR_DTYPE_BFLOAT16: out->code = kDLBfloat; return 0;
  default:                  return -1;
  }
}

int weir_block_column_to_dlpack(const weir_block *b, size_t col,
                                DLManagedTensor **out) {
  if (!b || !out)
    return weir__set_last_error(WEIR_EINVAL,
        "weir_block_column_to_dlpack: NULL block or output");
  if (col >= b->num_columns)
    return weir__set_last_error(WEIR_EINVAL,
        "dlpack export: column %zu of a block of %zu columns", col, b->num_columns);
  const weir__column *c = &b->cols[col];
  if (c->type != WEIR_TYPE_TENSOR)
    return weir__set_last_error(WEIR_EINVAL,
        "dlpack export: column '%s' is %s, not a tensor", c->name,
        weir_type_name(c->type));
  if (c->null_count)
    return weir__set_last_error(WEIR_EINVAL,
        "dlpack export: column '%s' has %zu null rows; DLPack has no nulls",
        c->name, c->null_count);
  DLDataType dt;
  if (dl_dtype(c->dtype, &dt))
    return weir__set_last_error(WEIR_EINVAL,
        "dlpack export: column '%s' has unknown dtype %d", c->name, c->dtype);

  dl_export *e = calloc(1, sizeof *e);
  if (!e) return weir__set_last_error(WEIR_ENOMEM, "dlpack export: out of memory");
  int ndim = c->ndim + 1;
  e->shape[0] = (int64_t)c->length;
  for (int d = 0; d < c->ndim; d++) e->shape[d + 1] = c->shape[d];
  /* Explicit row-major strides in elements: DLPack 0.6 allows NULL for
   * compact tensors, but some consumers read them unconditionally. */
  int64_t stride = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    e->strides[d] = stride;
    stride *= e->shape[d] ? e->shape[d] : 1;
  }
  e->buf = weir__buffer_ref(c->data_buf);

  DLTensor *t = &e->managed.dl_tensor;
  /* A slice points into the middle of its buffer; like PyTorch, hand out
   * the element pointer itself with byte_offset 0. */
  t->data = (void *)c->data;
  /* Pinned host memory says so, so that a consumer can copy it to a
   * device asynchronously. */
  t->device.device_type = c->device == WEIR_DEVICE_CUDA ? kDLCUDA
                          : c->data_buf && c->data_buf->pinned ? kDLCUDAHost
                                                               : kDLCPU;
  t->device.device_id = c->device == WEIR_DEVICE_CUDA ? c->device_id : 0;
  t->ndim = ndim;
  t->dtype = dt;
  t->shape = e->shape;
  t->strides = e->strides;
  t->byte_offset = 0;
  e->managed.manager_ctx = e;
  e->managed.deleter = dl_deleter;
  *out = &e->managed;
  return WEIR_OK;
}
