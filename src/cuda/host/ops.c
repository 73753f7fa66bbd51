/* The built-in image operators weir_gpu_normalize() and weir_gpu_resize():
 * a GPU version on CUDA stream workers and a CPU version with the same
 * results, behind one constructor each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/cuda.h"
#include "weir/error.h"
#include "core/block_internal.h"
#include "cuda/cuda_internal.h"
#include "exec/exec_internal.h"

enum { OP_NORMALIZE = 1, OP_RESIZE };

typedef struct image_op {
  int kind;
  int gpu;
  char name[96];
  char *column;
  weir__normalize_params norm;
  int out_h, out_w;
} image_op;

static void image_op_free(void *arg) {
  image_op *op = arg;
  free(op->column);
  free(op);
}

static image_op *image_op_new(int kind, const char *column, int gpu) {
  image_op *op = calloc(1, sizeof *op);
  if (!op) return NULL;
  if (!(op->column = strdup(column))) {
    free(op);
    return NULL;
  }
  op->kind = kind;
  op->gpu = gpu;
  snprintf(op->name, sizeof op->name, "%s%s(%s)", gpu ? "gpu_" : "",
           kind == OP_NORMALIZE ? "normalize" : "resize", column);
  return op;
}

static int op_init(void *user, int worker, void **state) {
  (void)worker;
  *state = user;
  return WEIR_OK;
}

/* A host block with one TENSOR column of `rows` rows, uninitialised. */
static int host_tensor_block(const char *name, int dtype, int ndim,
                             const int64_t *shape, size_t rows,
                             weir_block **out, void **data) {
  weir_block *b = weir__block_alloc(1, rows);
  if (!b) return WEIR_ENOMEM;
  weir__column *c = &b->cols[0];
  c->type = WEIR_TYPE_TENSOR;
  c->dtype = dtype;
  c->ndim = ndim;
  memcpy(c->shape, shape, (size_t)ndim * sizeof *shape);
  c->length = rows;
  c->name = strdup(name);
  size_t bytes = rows * weir__column_row_bytes(c);
  if (!c->name || !(c->data_buf = weir__buffer_alloc(bytes))) {
    weir_block_unref(&b);
    return WEIR_ENOMEM;
  }
  c->data = c->data_buf->data;
  weir__block_seal(b);
  *out = b;
  *data = c->data_buf->data;
  return WEIR_OK;
}

/* `in` with column `idx` replaced by the only column of `col`, sharing
 * every buffer. */
static int replace_column(const weir_block *in, size_t idx,
                          const weir_block *col, weir_block **out) {
  weir_block *b = weir__block_alloc(in->num_columns, in->num_rows);
  if (!b) return WEIR_ENOMEM;
  for (size_t i = 0; i < in->num_columns; i++) {
    int rc = weir__column_share(&b->cols[i], i == idx ? &col->cols[0] : &in->cols[i]);
    if (rc) {
      weir_block_unref(&b);
      return rc;
    }
  }
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}

/* Checks that `src` holds images this op takes: a uint8 [H, W, C] tensor
 * without nulls (and, to normalize, with the right channel count). */
static int check_images(const image_op *op, const weir__column *src,
                        weir_ctx *ctx) {
  if (src->type != WEIR_TYPE_TENSOR || src->dtype != WEIR_DTYPE_UINT8 ||
      src->ndim != 3 || src->shape[0] < 1 || src->shape[1] < 1 ||
      src->shape[2] < 1 || src->shape[0] > INT32_MAX ||
      src->shape[1] > INT32_MAX || src->shape[2] > INT32_MAX) {
    /* The kernels take int sizes; their index math is 64-bit, so only
     * each size, not a product of them, has to fit. */
    weir_ctx_set_errmsg(ctx,
        "column '%s' must be a uint8 tensor [H, W, C] of images, not %s%s%s "
        "with %d dimensions", op->column, weir_type_name(src->type),
        src->type == WEIR_TYPE_TENSOR ? " of " : "",
        src->type == WEIR_TYPE_TENSOR ? weir_dtype_name(src->dtype) : "",
        src->ndim);
    return WEIR_EINVAL;
  }
  if (op->kind == OP_NORMALIZE &&
      (op->norm.channels ? (int)src->shape[2] != op->norm.channels
                         : src->shape[2] > WEIR__NORMALIZE_MAX_CHANNELS)) {
    weir_ctx_set_errmsg(ctx, "column '%s' has %d channels; normalize takes %d",
                        op->column, (int)src->shape[2], op->norm.channels);
    return WEIR_EINVAL;
  }
  if (src->null_count) {
    weir_ctx_set_errmsg(ctx, "column '%s' has %zu null images", op->column,
                        src->null_count);
    return WEIR_EINVAL;
  }
  return WEIR_OK;
}

/* Runs the op over the `n` images of `src` into a new one-column block
 * `*col` of `dtype` and per-row `shape`: on the worker's CUDA stream, or
 * on the CPU. */
static int transform(const image_op *op, const weir__column *src, size_t n,
                     int dtype, const int64_t shape[3], weir_ctx *ctx,
                     weir_block **col) {
  const int h = (int)src->shape[0], w = (int)src->shape[1];
  const int c = (int)src->shape[2];
  void *dst = NULL;
  int rc;
  /* Parameters for any channel count take this block's. */
  weir__normalize_params np = op->norm;
  if (!np.channels) np.channels = c;
  if (!op->gpu) {
    rc = host_tensor_block(op->column, dtype, 3, shape, n, col, &dst);
    if (rc) {
      weir_ctx_set_errmsg(ctx, "out of memory for %zu output images", n);
      return rc;
    }
    if (op->kind == OP_NORMALIZE)
      weir__normalize_cpu(src->data, dst, n, h, w, &np);
    else
      weir__resize_cpu(src->data, dst, n, h, w, c, op->out_h, op->out_w);
    return WEIR_OK;
  }
  if (src->device != WEIR_DEVICE_CUDA) {
    weir_ctx_set_errmsg(ctx, "column '%s' is not on the device", op->column);
    return WEIR_EINVAL;
  }
  rc = weir_cuda_tensor_block(ctx, op->column, dtype, 3, shape, n, col, &dst);
  if (rc) {
    weir_ctx_set_errmsg(ctx, "%s", weir_last_errmsg());
    return rc;
  }
  void *stream = weir_ctx_cuda_stream(ctx);
  if (op->kind == OP_NORMALIZE)
    rc = weir__normalize_cuda(src->data, dst, n, h, w, &np, stream);
  else
    rc = weir__resize_cuda(src->data, dst, n, h, w, c, op->out_h, op->out_w,
                           stream);
  if (rc) {
    weir_ctx_set_errmsg(ctx, "%s", weir_last_errmsg());
    weir_block_unref(col);
  }
  return rc;
}

static int op_process(void *state, weir_block *in, weir_emit *emit,
                      weir_ctx *ctx) {
  image_op *op = state;
  int idx = weir_block_column_index(in, op->column);
  if (idx < 0) {
    weir_ctx_set_errmsg(ctx, "no column '%s' in the input", op->column);
    return WEIR_ENOTFOUND;
  }
  const weir__column *src = &in->cols[idx];
  int rc = check_images(op, src, ctx);
  if (rc) return rc;
  /* normalize: float32 [C, H, W]; resize: uint8 [out_h, out_w, C]. */
  int64_t shape[3];
  int dtype;
  if (op->kind == OP_NORMALIZE) {
    shape[0] = src->shape[2], shape[1] = src->shape[0], shape[2] = src->shape[1];
    dtype = WEIR_DTYPE_FLOAT32;
  } else {
    shape[0] = op->out_h, shape[1] = op->out_w, shape[2] = src->shape[2];
    dtype = WEIR_DTYPE_UINT8;
  }
  weir_block *col = NULL;
  rc = transform(op, src, in->num_rows, dtype, shape, ctx, &col);
  if (rc) return rc;
  weir_block *out;
  rc = replace_column(in, (size_t)idx, col, &out);
  weir_block_unref(&col);
  if (rc) {
    weir_ctx_set_errmsg(ctx, "out of memory");
    return rc;
  }
  return weir_emit_block(emit, out);
}

static weir_op *add_image_op(weir_pipeline *p, weir_op *in, image_op *op,
                             const weir_op_options *opts) {
  weir_op_def def = {WEIR_OP_DEF_VERSION, op->name, op_init, op_process, NULL,
                     NULL};
  weir_op *o = weir_add_op(p, in, &def, op, opts);
  /* The settings (and the name the def points to) live as long as the op. */
  if (o) weir__op_set_cleanup(o, image_op_free, op);
  else image_op_free(op);
  return o;
}

static int wants_gpu(const weir_op_options *opts) {
  return opts && opts->num_gpus > 0;
}

weir_op *weir_gpu_normalize(weir_pipeline *p, weir_op *in, const char *column,
                            const weir_normalize_options *n,
                            const weir_op_options *opts) {
  if (!p) return NULL;
  if (!in) return weir_add_op(p, in, NULL, NULL, opts); /* reports the cause */
  if (!column)
    return weir__op_fail(p, WEIR_EINVAL, "weir_gpu_normalize: column is required");
  weir_normalize_options def = WEIR_NORMALIZE_OPTIONS_INIT;
  def.chw = 1; /* NULL options: the one layout this operator writes */
  if (!n) n = &def;
  if (n->version != WEIR_NORMALIZE_OPTIONS_VERSION)
    return weir__op_fail(p, WEIR_EINVAL,
                         "weir_gpu_normalize: unknown options version %u", n->version);
  if (!n->chw)
    return weir__op_fail(p, WEIR_ENOTSUP,
                         "weir_gpu_normalize: writes [C, H, W] only; set chw = 1 (or use "
                         "weir_image_normalize for [H, W, C])");
  weir__normalize_params np;
  if (weir__normalize_params_init(&np, n->channels, n->mean, n->std, n->scale) != WEIR_OK)
    return weir__op_fail(p, WEIR_EINVAL,
        "weir_gpu_normalize: %d channels (0..%d), each std must be finite and not "
        "negative, each mean and the scale (%g) finite", n->channels,
        WEIR__NORMALIZE_MAX_CHANNELS, n->scale);
  image_op *op = image_op_new(OP_NORMALIZE, column, wants_gpu(opts));
  if (!op) return weir__op_fail(p, WEIR_ENOMEM, "weir_gpu_normalize: out of memory");
  op->norm = np;
  return add_image_op(p, in, op, opts);
}

weir_op *weir_gpu_resize(weir_pipeline *p, weir_op *in, const char *column,
                         int width, int height, const weir_op_options *opts) {
  if (!p) return NULL;
  if (!in) return weir_add_op(p, in, NULL, NULL, opts);
  if (!column)
    return weir__op_fail(p, WEIR_EINVAL, "weir_gpu_resize: column is required");
  /* The same bound as weir_image_resize: at most 2^28 pixels an image. */
  if (height < 1 || width < 1 || height > 65535 || width > 65535 ||
      (int64_t)height * width > ((int64_t)1 << 28))
    return weir__op_fail(p, WEIR_EINVAL,
        "weir_gpu_resize: output size %dx%d (width x height) must be 1..65535 on "
        "each side and at most 2^28 pixels", width, height);
  image_op *op = image_op_new(OP_RESIZE, column, wants_gpu(opts));
  if (!op) return weir__op_fail(p, WEIR_ENOMEM, "weir_gpu_resize: out of memory");
  op->out_h = height;
  op->out_w = width;
  return add_image_op(p, in, op, opts);
}
