/* CUDA: device discovery, device blocks for custom GPU operators, and the
 * built-in GPU operators. */
#ifndef WEIR_CUDA_H
#define WEIR_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/block.h"
#include "weir/pipeline.h"

WEIR_BEGIN_DECLS

/* 1 when this build of weir includes CUDA support, 0 otherwise. */
WEIR_EXTERN int weir_cuda_built(void);

/* Number of usable CUDA devices: 0 when none is present or the build has
 * no CUDA. Does not create a CUDA context, but it does load the driver:
 * a process that forks children which use CUDA should ask after forking.
 * Any thread. */
WEIR_EXTERN int weir_cuda_device_count(void);

/* ---- Device blocks in custom GPU operators ------------------------------
 *
 * A GPU operator (num_gpus > 0) receives its input with every TENSOR column
 * on its device and queues kernels on weir_ctx_cuda_stream(ctx). To emit
 * device results, it allocates them here: the memory comes from a pool per
 * device that grows and is reused, and goes back to it when the last block
 * using it is released, ordered after the work queued on the stream that
 * used it last. The kernels that fill the tensor must be queued on the
 * context's stream; readers downstream wait for them through the column's
 * `ready_event`, never the host. */

/* A new block of `rows` rows with one TENSOR column `name` ([rows, shape])
 * on the context's device; `*data` receives the device pointer to fill.
 * Only inside a callback of a GPU operator, on its worker thread.
 * WEIR_EINVAL outside a GPU operator or for a bad dtype or shape,
 * WEIR_ENOMEM when the device is full, WEIR_ENOTSUP without CUDA. Combine
 * it with host columns of the input through weir_block_add_columns(). */
WEIR_EXTERN int weir_cuda_tensor_block(weir_ctx *ctx, const char *name,
                                       int dtype, int ndim,
                                       const int64_t *shape, size_t rows,
                                       weir_block **out, void **data);

/* A block equal to `b` with every device column copied to host memory
 * (host columns are shared); waits for the copies. A block already on the
 * host is returned as a new reference. Borrows `b`. WEIR_ENOTSUP for a
 * device block in a build without CUDA. Any thread. */
WEIR_EXTERN int weir_cuda_block_to_host(const weir_block *b, weir_block **out);

/* Gives the device memory and pinned host memory that the pools hold
 * cached (not in use) back to CUDA; returns the bytes freed. Any thread. */
WEIR_EXTERN size_t weir_cuda_empty_cache(void);

/* Bytes of device memory weir's pool holds on `device` (in use and cached),
 * and of those the bytes in use; 0 for a device it never used. */
WEIR_EXTERN int weir_cuda_memory_stats(int device, size_t *reserved,
                                       size_t *in_use);

/* ---- Built-in GPU operators ---------------------------------------------
 *
 * Both take images as a TENSOR column of uint8 [H, W, C] (HWC, as
 * weir_read_images() and weir_read_video() give them) and replace that
 * column, keeping the others. With `opts->num_gpus > 0` they run on CUDA
 * stream workers and their output stays on the device; with num_gpus 0 (or
 * `opts` NULL) they run the CPU version, which gives the same results (the
 * tolerance is stated with each). Creating the GPU version fails (NULL,
 * reason in weir_pipeline_errmsg()) with WEIR_ENOTSUP in a build without
 * CUDA and WEIR_ENODEV when no device is visible. A block whose column is
 * missing or has another type or shape ends the run with WEIR_EINVAL and a
 * message naming the column. */

/* uint8 HWC with C = 3 -> float32 CHW [3, H, W]:
 *   out[c][y][x] = (in[y][x][c] / 255 - mean[c]) / std[c]
 * (torchvision's ToTensor then Normalize: mean and std in units of the
 * 0..1 range, e.g. 0.485 0.456 0.406 / 0.229 0.224 0.225). The CPU and GPU
 * versions are bit-identical; both differ from the formula above evaluated
 * in double precision by at most 1e-5 relative. WEIR_EINVAL (NULL) for a
 * std that is not positive and finite. */
WEIR_EXTERN weir_op *weir_gpu_normalize(weir_pipeline *p, weir_op *in,
                                        const char *column,
                                        const float mean[3],
                                        const float std[3],
                                        const weir_op_options *opts);

/* uint8 HWC [H, W, C] (any C >= 1) -> uint8 [height, width, C]
 * by bilinear interpolation with half-pixel centres (OpenCV INTER_LINEAR,
 * PyTorch align_corners=False, no antialiasing), rounded to nearest. CPU
 * and GPU results are equal to within 1 (one uint8 step); in practice they
 * are identical. */
WEIR_EXTERN weir_op *weir_gpu_resize(weir_pipeline *p, weir_op *in,
                                     const char *column, int height,
                                     int width, const weir_op_options *opts);

WEIR_END_DECLS

#endif /* WEIR_CUDA_H */
