/* CUDA: device discovery, device blocks for custom GPU operators, and the
 * built-in GPU operators. */
#ifndef WEIR_CUDA_H
#define WEIR_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/block.h"
#include "weir/pipeline.h"
#include "weir/arrow_device.h"
#include "weir/media.h" /* weir_normalize_options */

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
 * The bytes are uninitialised: queue the kernels that write them on
 * weir_ctx_cuda_stream(ctx) before emitting the block, never after (a
 * block is immutable once emitted). The caller owns the reference in
 * `*out`. Only inside a callback of a GPU operator, on its worker thread.
 * WEIR_EINVAL outside a GPU operator or for a bad dtype or shape,
 * WEIR_ENOMEM when the device is full, WEIR_ENOTSUP without CUDA. Combine
 * it with host columns of the input through weir_block_add_columns(). */
WEIR_EXTERN int weir_cuda_tensor_block(weir_ctx *ctx, const char *name,
                                       int dtype, int ndim,
                                       const int64_t *shape, size_t rows,
                                       weir_block **out, void **data);

/* A new host block of `rows` rows with one TENSOR column `name`
 * ([rows, shape]) in pinned (page-locked) memory from weir's pool, for
 * sources that feed GPU operators: its copy to the device goes straight by
 * DMA at the full bandwidth of the bus, where ordinary host memory goes
 * through weir's staging buffers (a host copy, then DMA). `*data` receives
 * the host pointer to fill; fill it before emitting the block. The caller
 * owns `*out`; the memory returns to the pool when the block and its
 * copies are done. WEIR_ENODEV without a device, WEIR_ENOTSUP without
 * CUDA. Any thread. */
WEIR_EXTERN int weir_cuda_host_tensor_block(const char *name, int dtype,
                                            int ndim, const int64_t *shape,
                                            size_t rows, weir_block **out,
                                            void **data);

/* A block equal to `b` with every device column copied to host memory
 * (host columns are shared); waits for the copies. A block already on the
 * host is returned as a new reference. Borrows `b`. WEIR_ENOTSUP for a
 * device block in a build without CUDA. Any thread. */
WEIR_EXTERN int weir_cuda_block_to_host(const weir_block *b, weir_block **out);

/* Declares that work queued on `stream` (a cudaStream_t) reads or writes
 * the device columns of `b`, so that when their memory is freed it is
 * reused only after that work: call it after queuing kernels on a stream
 * of your own over a block you then release (as PyTorch's record_stream).
 * The stream must outlive the block's device buffers. Not needed on the
 * context's stream inside a GPU operator. Any thread. */
WEIR_EXTERN int weir_cuda_block_record_stream(const weir_block *b,
                                              void *stream);

/* Exports for a consumer that reads on `stream` (a cudaStream_t), as
 * DLPack's __dlpack__(stream=...) does. Like weir_block_column_to_dlpack()
 * and weir_block_to_arrow_device(), and besides: `stream` is made to wait
 * for the data to be written (no wait on the ready event is needed), and
 * the device memory goes back to weir's pool only after the work queued on
 * `stream` when the tensor is deleted (the array released), so a consumer
 * may delete it right after queuing its kernels. The plain exports give the
 * memory back at once: their consumer must delete only after its work on
 * the data is done. `stream` must outlive the exported memory; the block's
 * buffers remember the last stream declared (as with
 * weir_cuda_block_record_stream()). Host columns export as the plain
 * functions do. Borrows `b`. Any thread. */
struct DLManagedTensor;
WEIR_EXTERN int weir_cuda_column_to_dlpack(const weir_block *b, size_t col,
                                           void *stream,
                                           struct DLManagedTensor **out);
WEIR_EXTERN int weir_cuda_block_to_arrow_device(const weir_block *b,
                                                void *stream,
                                                struct ArrowDeviceArray *array,
                                                struct ArrowSchema *schema);

/* ---- Batches on the device for a training loop --------------------------
 *
 * A loader pulls batches from an iterator on a thread of its own, copies
 * their TENSOR columns to `device` through pinned staging buffers on a
 * stream of its own, and keeps `prefetch` of them ready ahead of the
 * caller, so that the copy of the next batch overlaps the step on the
 * current one. Each batch's device columns carry a `ready_event` the
 * caller's stream waits on (cudaStreamWaitEvent) before reading; a caller
 * that then releases the batch while its kernels still run declares its
 * stream with weir_cuda_block_record_stream(). Host columns stay on the
 * host. */
typedef struct weir_cuda_loader weir_cuda_loader;

/* Starts loading from `it`, an iterator of `p`, which the loader borrows:
 * the caller destroys the iterator after the loader. `prefetch` 0 means 2.
 * WEIR_ENODEV for a device that is not there, WEIR_ENOTSUP without CUDA.
 * Destroying the loader before the end cancels the run of `p`. */
WEIR_EXTERN int weir_cuda_loader_create(weir_pipeline *p, weir_iter *it,
                                        int device,
                                        size_t prefetch,
                                        weir_cuda_loader **out);
/* The next batch, on the device (the caller owns it): WEIR_OK, WEIR_EOF at
 * the end, or the error of the run or of the copy. One thread at a time. */
WEIR_EXTERN int weir_cuda_loader_next(weir_cuda_loader *l, weir_block **out);
/* Stops the loader and frees it with the batches it holds. Accepts NULL. */
WEIR_EXTERN void weir_cuda_loader_destroy(weir_cuda_loader *l);

/* The share of recent time (NVML's last sample period, 1/6 s to 1 s) in
 * which a kernel ran on `device`, 0..1, as nvidia-smi shows it: poll it to
 * see whether a pipeline keeps its GPU busy. WEIR_ENOTSUP when NVML (part
 * of the NVIDIA driver) cannot be loaded or without CUDA, WEIR_ENODEV for
 * a device that is not there. Any thread. */
WEIR_EXTERN int weir_cuda_device_utilization(int device, double *busy_fraction);

/* Gives the device memory and pinned host memory that the pools hold
 * cached (not in use) back to CUDA; returns the bytes freed. Any thread. */
WEIR_EXTERN size_t weir_cuda_empty_cache(void);

/* Bytes of device memory weir's pool holds on `device` (in use and cached),
 * and of those the bytes in use; 0 for a device it never used. WEIR_ENODEV
 * for a device that does not exist, WEIR_ENOTSUP without CUDA. */
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
 * CUDA and WEIR_ENODEV when no device is visible. A block without the
 * column ends the run with WEIR_ENOTFOUND, one whose column has another
 * type or shape (or null images) with WEIR_EINVAL, and
 * weir_pipeline_errmsg() names the operator and the column.
 * weir_read_images() gives images of different sizes in different blocks:
 * resize them first, so that the operators downstream see one shape. */

/* uint8 HWC [H, W, C] -> float32 CHW [C, H, W], with the options of
 * weir_image_normalize() (weir/media.h) and its meaning:
 *   out[c][y][x] = (in[y][x][c] * scale - mean[c]) / std[c]
 * (scale 0 = 1/255: torchvision's ToTensor then Normalize, with mean and
 * std in units of the 0..1 range, e.g. 0.485 0.456 0.406 / 0.229 0.224
 * 0.225; `channels` 1..4 must equal the images' C, or 0 for no mean and
 * std). `chw` must be 1: this operator writes [C, H, W] only
 * (WEIR_ENOTSUP otherwise). NULL `n` is WEIR_NORMALIZE_OPTIONS_INIT with
 * chw = 1. The CPU and GPU versions are bit-identical; both differ from the
 * formula above evaluated in double precision by at most 1e-5 relative.
 * WEIR_EINVAL (NULL) for a negative or non-finite std, or a non-finite
 * mean or scale. */
WEIR_EXTERN weir_op *weir_gpu_normalize(weir_pipeline *p, weir_op *in,
                                        const char *column,
                                        const weir_normalize_options *n,
                                        const weir_op_options *opts);

/* uint8 HWC [H, W, C] (any C >= 1) -> uint8 [height, width, C], the size
 * given as width then height like every size in weir's API
 * (weir_image_resize()), by bilinear interpolation with half-pixel centres (OpenCV INTER_LINEAR,
 * PyTorch align_corners=False, no antialiasing), rounded to nearest. CPU
 * and GPU results are equal to within 1 (one uint8 step); in practice they
 * are identical. */
WEIR_EXTERN weir_op *weir_gpu_resize(weir_pipeline *p, weir_op *in,
                                     const char *column, int width,
                                     int height, const weir_op_options *opts);

WEIR_END_DECLS

#endif /* WEIR_CUDA_H */
