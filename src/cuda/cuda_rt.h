/* Shared state of the CUDA component's runtime side (compiled only with the
 * toolkit): per-device memory pools, device buffers, GPU workers. */
#ifndef WEIR_CUDA_CUDA_RT_H
#define WEIR_CUDA_CUDA_RT_H

#include <cuda_runtime_api.h>
#include <stdatomic.h>

#include "core/block_internal.h"
#include "cuda/cuda_internal.h"

#define WEIR__CUDA_MAX_DEVICES 64
#define WEIR__CUDA_MAX_MARKS 4

/* Records `err` with a message naming the CUDA error and returns the weir
 * code: WEIR_ENOMEM for allocation failures, WEIR_ENODEV for a missing or
 * unusable device or driver or a sticky error (the device is lost),
 * WEIR_EOPERATOR (a kernel or copy failed) otherwise. */
int weir__cuda_fail(cudaError_t err, const char *what);
/* 1 when `device` hit a sticky error (illegal address, launch failure...),
 * which weir__cuda_fail records: its context is unusable from then on, and
 * weir__cuda_fail answers WEIR_ENODEV for such errors. */
int weir__cuda_device_lost(int device);

/* The backend's check(): WEIR_OK when a worker asking for `num_gpus` GPUs
 * can run, WEIR_ENODEV (no device, or fewer than asked) or WEIR_EINVAL,
 * with the reason in `msg`. Creates no context. */
int weir__cuda_check(double num_gpus, char *msg, size_t msg_len);

/* The memory pool of `device` (created on first use), or NULL for a bad
 * device index or when the pool cannot be set up. */
weir__pool *weir__cuda_device_pool(int device);
/* The process's pool of pinned host memory, for staging copies. */
weir__pool *weir__cuda_pinned_pool(void);

/* A reference-counted stream, so device buffers shared with a worker can
 * order their release on its stream even after the worker is gone. */
typedef struct weir__stream_ref {
  atomic_long refs;
  cudaStream_t stream;
  int device;
} weir__stream_ref;

typedef struct weir__gpu_worker {
  int device;
  weir__stream_ref *sref;
  cudaStream_t stream;       /* sref->stream */
  cudaEvent_t done;          /* blocking-sync: sync() sleeps on it */
  /* Pinned staging ring: host bytes are copied into slot k while slot k-1
   * is on its way to the device; a slot is reused once its event fired. */
  int nstage;
  size_t stage_bytes;
  weir__pool_block *stage[4];
  cudaEvent_t stage_ev[4];
  int stage_busy[4];
  int stage_next;
  /* Ends of the calls still in flight (mark()), oldest at mark_head. */
  cudaEvent_t marks[WEIR__CUDA_MAX_MARKS];
  int mark_head, mark_count;
} weir__gpu_worker;

/* The GPU worker running on this thread, or NULL. */
weir__gpu_worker *weir__cuda_current_worker(void);

/* A device buffer of `bytes` from `device`'s pool, usable on `stream` (the
 * pool orders it after its last use). With `producer` non-NULL the buffer's
 * ready event is recorded on the producer stream lazily: by the first
 * reader, the producer's next sync, or its release. */
int weir__cuda_buffer_new(int device, size_t bytes, cudaStream_t stream,
                          cudaStream_t producer, weir__buffer **out);
/* The ready event of a device buffer made by weir__cuda_buffer_new (or a
 * share of one), recorded by now if it was pending; NULL for others. */
cudaEvent_t weir__cuda_buffer_ready(weir__buffer *buf);
/* The ready event of such a buffer as it is, without recording it. */
cudaEvent_t weir__cuda_buffer_event(weir__buffer *buf);
/* Records the pending ready events of buffers produced on `stream`. */
void weir__cuda_resolve_pending(cudaStream_t stream);
/* A buffer sharing the bytes of device buffer `inner` for a reader on
 * `sref`'s stream: when released, it gives `inner` back only after the work
 * queued on that stream so far is done. */
weir__buffer *weir__cuda_buffer_share(weir__buffer *inner,
                                      weir__stream_ref *sref);

/* A consumer reads column `c` on `stream`: the stream waits for the data,
 * and the column's device memory is given back only after the work queued
 * on the stream at release (its buffers' declared use). */
int weir__cuda_column_consumer(const weir__column *c, cudaStream_t stream);

/* A host buffer of `bytes` in pinned memory from the process's pinned
 * pool; going back to the pool makes no CUDA call, so it may be released
 * anywhere, CUDA callbacks included. */
int weir__cuda_pinned_buffer_new(size_t bytes, weir__buffer **out);
/* 1 when `buf` was made by weir__cuda_pinned_buffer_new. */
int weir__cuda_buffer_is_pinned(const weir__buffer *buf);
/* Drops one reference to `buf` once the work queued on `stream` so far is
 * done (at once, after waiting, if the callback cannot be queued). Takes
 * the reference. */
void weir__cuda_unref_after(cudaStream_t stream, weir__buffer *buf);

weir__stream_ref *weir__stream_ref_new(int device);
void weir__stream_ref_unref(weir__stream_ref *s);

#endif /* WEIR_CUDA_CUDA_RT_H */
