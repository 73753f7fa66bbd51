/* The seam between the executor and the CUDA component: the executor runs
 * GPU operators through this table without including any CUDA header. The
 * CUDA component implements weir__gpu_backend_get() (src/cuda/), and a
 * build without CUDA links the answer in src/cuda/absent/. */
#ifndef WEIR_EXEC_GPU_BACKEND_H
#define WEIR_EXEC_GPU_BACKEND_H

#include <stddef.h>

#include "weir/block.h"

typedef struct weir__gpu_backend {
  /* WEIR_OK when an operator asking for `num_gpus` GPUs can run here;
   * WEIR_ENOTSUP when the build has no CUDA, WEIR_ENODEV when no device is
   * visible; `msg` then says why. Never initialises CUDA in a way that
   * breaks a later fork (no context is created). */
  int (*check)(double num_gpus, char *msg, size_t msg_len);
  /* Number of usable devices (0 without CUDA). */
  int (*device_count)(void);
  /* Per-worker state on `device`: a stream, pinned staging buffers and a
   * device memory pool. Called on the worker's own thread. */
  int (*worker_init)(int device, void **gpu_worker);
  void (*worker_destroy)(void *gpu_worker);
  /* The worker's cudaStream_t. */
  void *(*worker_stream)(void *gpu_worker);
  /* A block whose host TENSOR columns are copied to the device on the
   * worker's stream (device columns are shared as they are). Borrows `in`. */
  int (*to_device)(void *gpu_worker, weir_block *in, weir_block **out);
  /* A block whose device columns are copied back to the host, for CPU
   * operators and the iterator. Borrows `in`. */
  int (*to_host)(weir_block *in, weir_block **out);
  /* Waits, without spinning, until the work queued on the worker's stream
   * is complete. */
  int (*sync)(void *gpu_worker);
} weir__gpu_backend;

const weir__gpu_backend *weir__gpu_backend_get(void);

/* 1 when any column of `b` lives on a CUDA device. */
int weir__block_on_device(const weir_block *b);

#endif /* WEIR_EXEC_GPU_BACKEND_H */
