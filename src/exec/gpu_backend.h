/* The seam between the executor and the CUDA component: the executor runs
 * GPU operators through this table without including any CUDA header. The
 * CUDA component implements weir__gpu_backend_get() (src/cuda/), and a
 * build without CUDA links the answer in src/cuda/absent/. Tests may
 * install a table of their own (weir__gpu_backend_install): the executor
 * reaches the backend only through weir__gpu().
 *
 * When CUDA is touched: a run asks the backend anything (device_count
 * included, which initialises the CUDA driver) only when one of its
 * operators has num_gpus > 0, or when a block on a device reaches a CPU
 * operator. A process that has initialised the driver cannot use CUDA in a
 * child it forks, so CPU-only runs must stay away from it. */
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
   * worker's stream (device columns are shared as they are, or copied
   * from another device). Borrows `in`. */
  int (*to_device)(void *gpu_worker, weir_block *in, weir_block **out);
  /* A block whose device columns are copied back to the host, for CPU
   * operators and the iterator. Borrows `in`. */
  int (*to_host)(weir_block *in, weir_block **out);
  /* Waits, without spinning, until the work queued on the worker's stream
   * is complete; returns the first error that work reported, with a
   * message in weir_last_errmsg(). */
  int (*sync)(void *gpu_worker);
  /* Ends one call's work on the worker's stream (notes where it ends) and
   * waits, asleep, only until at most `max_pending` such calls are still
   * queued, so several calls of one worker can be in flight; mark(w, 0)
   * waits for everything, like sync. Returns the first error the work
   * waited for reported (it may belong to an earlier call). */
  int (*mark)(void *gpu_worker, int max_pending);
  /* 1 when the worker's device hit a sticky error (illegal address, launch
   * failure...): its context is unusable for the rest of the process, so
   * retrying or skipping the call is pointless. */
  int (*lost)(void *gpu_worker);
} weir__gpu_backend;

/* The table of the CUDA component (or its absent/ answer). */
const weir__gpu_backend *weir__gpu_backend_get(void);

/* The table the executor uses: the installed one, else the build's. */
const weir__gpu_backend *weir__gpu(void);
/* Tests only: makes the executor use `b` (NULL: the build's table again).
 * Install before creating pipelines; not while one runs. */
void weir__gpu_backend_install(const weir__gpu_backend *b);

#endif /* WEIR_EXEC_GPU_BACKEND_H */
