/* CUDA stream workers: per-worker streams and pinned staging rings, the
 * copies between host and device blocks, completion without spinning, and
 * the GPU backend table the executor calls. */
#include <stdlib.h>
#include <string.h>

#include "weir/cuda.h"
#include "weir/error.h"
#include "core/block_internal.h"
#include "cuda/cuda_rt.h"
#include "exec/gpu_backend.h"

/* 4 slots of 8 MiB: large enough that per-copy overhead (and the split
 * between copy threads) is small against PCIe time, and deep enough that
 * the host copy of one chunk overlaps the DMA of the others. */
#define STAGE_SLOTS 4
#define STAGE_BYTES ((size_t)8 << 20)

static _Thread_local weir__gpu_worker *current_worker;

weir__gpu_worker *weir__cuda_current_worker(void) { return current_worker; }

static int check(double num_gpus, char *msg, size_t msg_len) {
  return weir__cuda_check(num_gpus, msg, msg_len);
}

static int device_count(void) { return weir_cuda_device_count(); }

static void worker_destroy(void *gw) {
  weir__gpu_worker *w = gw;
  if (!w) return;
  if (w->stream) {
    /* Outputs nobody read yet must not name a stream about to go. */
    weir__cuda_resolve_pending(w->stream);
    if (w->done && cudaEventRecord(w->done, w->stream) == cudaSuccess)
      cudaEventSynchronize(w->done);
  }
  for (int i = 0; i < WEIR__CUDA_MAX_MARKS; i++)
    if (w->marks[i]) cudaEventDestroy(w->marks[i]);
  weir__pool *pinned = weir__cuda_pinned_pool();
  for (int i = 0; i < w->nstage; i++) {
    if (w->stage_ev[i]) cudaEventDestroy(w->stage_ev[i]);
    if (w->stage[i] && pinned) weir__pool_release(pinned, w->stage[i]);
  }
  if (w->done) cudaEventDestroy(w->done);
  weir__stream_ref_unref(w->sref);
  if (current_worker == w) current_worker = NULL;
  cudaGetLastError();
  free(w);
}

static int worker_init(int device, void **out) {
  *out = NULL;
  if (device < 0 || device >= weir_cuda_device_count())
    return weir__set_last_error(WEIR_ENODEV, "GPU worker: no CUDA device %d",
                                device);
  cudaError_t e = cudaSetDevice(device);
  if (e != cudaSuccess) return weir__cuda_fail(e, "GPU worker: selecting the device");
  weir__gpu_worker *w = calloc(1, sizeof *w);
  if (!w) return weir__set_last_error(WEIR_ENOMEM, "GPU worker: out of memory");
  w->device = device;
  int rc = WEIR_OK;
  if (!(w->sref = weir__stream_ref_new(device))) {
    rc = WEIR_ENODEV;
    goto fail;
  }
  w->stream = w->sref->stream;
  e = cudaEventCreateWithFlags(&w->done,
                               cudaEventDisableTiming | cudaEventBlockingSync);
  if (e != cudaSuccess) {
    w->done = NULL;
    rc = weir__cuda_fail(e, "GPU worker: creating an event");
    goto fail;
  }
  for (int i = 0; i < WEIR__CUDA_MAX_MARKS; i++) {
    e = cudaEventCreateWithFlags(&w->marks[i],
                                 cudaEventDisableTiming | cudaEventBlockingSync);
    if (e != cudaSuccess) {
      w->marks[i] = NULL;
      rc = weir__cuda_fail(e, "GPU worker: creating an event");
      goto fail;
    }
  }
  weir__pool *pinned = weir__cuda_pinned_pool();
  if (!pinned) {
    rc = weir__set_last_error(WEIR_ENOMEM, "GPU worker: no pinned memory pool");
    goto fail;
  }
  w->stage_bytes = STAGE_BYTES;
  for (int i = 0; i < STAGE_SLOTS; i++) {
    rc = weir__pool_acquire(pinned, STAGE_BYTES, NULL, &w->stage[i]);
    if (rc) {
      weir__set_last_error(rc, "GPU worker: cannot pin %zu bytes of staging memory",
                           STAGE_BYTES);
      goto fail;
    }
    w->nstage = i + 1;
    e = cudaEventCreateWithFlags(&w->stage_ev[i],
                                 cudaEventDisableTiming | cudaEventBlockingSync);
    if (e != cudaSuccess) {
      w->stage_ev[i] = NULL;
      rc = weir__cuda_fail(e, "GPU worker: creating an event");
      goto fail;
    }
  }
  current_worker = w;
  *out = w;
  return WEIR_OK;
fail:
  worker_destroy(w);
  return rc;
}

static void *worker_stream(void *gw) {
  return gw ? (void *)((weir__gpu_worker *)gw)->stream : NULL;
}

/* Copies host bytes to the device through the staging ring: chunk k is
 * copied into its pinned slot by the host while the DMA of chunk k-1 runs.
 * The host only waits (asleep) when it laps the ring. */
static int stage_h2d(weir__gpu_worker *w, void *dst, const void *src,
                     size_t bytes) {
  const uint8_t *s = src;
  uint8_t *d = dst;
  while (bytes) {
    size_t n = bytes < w->stage_bytes ? bytes : w->stage_bytes;
    int k = w->stage_next;
    w->stage_next = (k + 1) % w->nstage;
    cudaError_t e;
    if (w->stage_busy[k] &&
        (e = cudaEventSynchronize(w->stage_ev[k])) != cudaSuccess)
      return weir__cuda_fail(e, "copy to device: waiting for a staging slot");
    weir__cuda_parallel_copy(w->stage[k]->ptr, s, n);
    e = cudaMemcpyAsync(d, w->stage[k]->ptr, n, cudaMemcpyHostToDevice,
                        w->stream);
    if (e != cudaSuccess) return weir__cuda_fail(e, "copy to device");
    e = cudaEventRecord(w->stage_ev[k], w->stream);
    if (e != cudaSuccess) return weir__cuda_fail(e, "copy to device");
    w->stage_busy[k] = 1;
    s += n;
    d += n;
    bytes -= n;
  }
  return WEIR_OK;
}

/* A device buffer holding `bytes` host bytes, with its ready event
 * recorded after the copy. */
static int upload(weir__gpu_worker *w, const void *src, size_t bytes,
                  weir__buffer **out) {
  int rc = weir__cuda_buffer_new(w->device, bytes, w->stream, NULL, out);
  if (rc) return rc;
  rc = stage_h2d(w, (*out)->data, src, bytes);
  cudaEvent_t ev = weir__cuda_buffer_ready(*out);
  if (!rc) {
    cudaError_t e = cudaEventRecord(ev, w->stream);
    if (e != cudaSuccess) rc = weir__cuda_fail(e, "copy to device");
  }
  if (rc) weir__buffer_unref(*out), *out = NULL;
  return rc;
}

/* A host buffer in pinned memory goes straight to the device by DMA, at
 * full bandwidth and with no host copy; it stays alive until the copy is
 * done. */
static int upload_pinned(weir__gpu_worker *w, weir__buffer *host,
                         const void *src, size_t bytes, weir__buffer **out) {
  int rc = weir__cuda_buffer_new(w->device, bytes, w->stream, NULL, out);
  if (rc) return rc;
  cudaError_t e = cudaMemcpyAsync((*out)->data, src, bytes,
                                  cudaMemcpyHostToDevice, w->stream);
  if (e == cudaSuccess)
    e = cudaEventRecord(weir__cuda_buffer_ready(*out), w->stream);
  if (e != cudaSuccess) {
    /* The copy may have been queued: the memory must outlive it. */
    cudaStreamSynchronize(w->stream);
    weir__buffer_unref(*out);
    *out = NULL;
    return weir__cuda_fail(e, "copy to device");
  }
  weir__cuda_unref_after(w->stream, weir__buffer_ref(host));
  return WEIR_OK;
}

/* Device column on another device: a peer copy on this worker's stream
 * after the source's ready event. */
static int peer_copy(weir__gpu_worker *w, const weir__column *src,
                     size_t bytes, weir__buffer **out) {
  int rc = weir__cuda_buffer_new(w->device, bytes, w->stream, NULL, out);
  if (rc) return rc;
  cudaEvent_t ready = weir__cuda_buffer_ready(src->data_buf);
  if (!ready) ready = (cudaEvent_t)src->ready_event;
  cudaError_t e = cudaSuccess;
  if (ready) e = cudaStreamWaitEvent(w->stream, ready, 0);
  if (e == cudaSuccess)
    e = cudaMemcpyPeerAsync((*out)->data, w->device, src->data,
                            src->device_id, bytes, w->stream);
  if (e == cudaSuccess)
    e = cudaEventRecord(weir__cuda_buffer_ready(*out), w->stream);
  if (e != cudaSuccess) {
    /* The copy may have been queued: both buffers must outlive it. */
    cudaStreamSynchronize(w->stream);
    weir__buffer_unref(*out);
    *out = NULL;
    return weir__cuda_fail(e, "copy between devices");
  }
  /* The source device knows nothing of this stream: were the source given
   * back now, its pool could hand the memory out while the copy still
   * reads it. It goes back once this stream has passed the copy. */
  weir__cuda_unref_after(w->stream, weir__buffer_ref(src->data_buf));
  return WEIR_OK;
}

static int column_to_device(weir__gpu_worker *w, const weir__column *src,
                            weir__column *dst) {
  int rc;
  if (src->device == WEIR_DEVICE_CUDA && src->device_id == w->device) {
    /* Already here: share it, ordered after its producer, and give it back
     * in order after this worker's reads. */
    if ((rc = weir__column_copy_meta(dst, src))) return rc;
    dst->length = src->length;
    dst->null_count = src->null_count;
    cudaEvent_t ready = weir__cuda_buffer_ready(src->data_buf);
    if (!ready) ready = (cudaEvent_t)src->ready_event;
    if (ready) {
      cudaError_t e = cudaStreamWaitEvent(w->stream, ready, 0);
      if (e != cudaSuccess) return weir__cuda_fail(e, "ordering after a device column");
    }
    dst->ready_event = ready;
    weir__buffer *bufs[2] = {src->data_buf, src->validity_buf};
    weir__buffer **outs[2] = {&dst->data_buf, &dst->validity_buf};
    for (int i = 0; i < 2; i++) {
      if (!bufs[i]) continue;
      if (bufs[i]->device == WEIR_DEVICE_CUDA)
        *outs[i] = weir__cuda_buffer_share(bufs[i], w->sref);
      else
        *outs[i] = weir__buffer_ref(bufs[i]);
      if (!*outs[i]) return WEIR_ENOMEM;
    }
    dst->data = src->data;
    dst->validity = src->validity;
    return WEIR_OK;
  }
  if (src->type != WEIR_TYPE_TENSOR || src->device != WEIR_DEVICE_CPU) {
    if (src->device == WEIR_DEVICE_CUDA && src->type == WEIR_TYPE_TENSOR) {
      if (src->null_count)
        return weir__set_last_error(WEIR_ENOTSUP,
            "column '%s': moving a tensor column with nulls between devices",
            src->name);
      if ((rc = weir__column_copy_meta(dst, src))) return rc;
      dst->length = src->length;
      size_t bytes = src->length * weir__column_row_bytes(src);
      if ((rc = peer_copy(w, src, bytes, &dst->data_buf))) return rc;
      dst->data = dst->data_buf->data;
      dst->device_id = w->device;
      dst->ready_event = weir__cuda_buffer_ready(dst->data_buf);
      return WEIR_OK;
    }
    /* Strings, numbers, paths: they stay on the host. */
    return weir__column_share(dst, src);
  }
  if ((rc = weir__column_copy_meta(dst, src))) return rc;
  dst->length = src->length;
  dst->null_count = src->null_count;
  size_t bytes = src->length * weir__column_row_bytes(src);
  if (weir__cuda_buffer_is_pinned(src->data_buf))
    rc = upload_pinned(w, src->data_buf, src->data, bytes, &dst->data_buf);
  else
    rc = upload(w, src->data, bytes, &dst->data_buf);
  if (rc) return rc;
  dst->data = dst->data_buf->data;
  if (src->null_count && src->validity) {
    /* Every buffer of a device column is on the device, as Arrow's device
     * interface requires; bitmaps start at bit 0 (weir's invariant). */
    if ((rc = upload(w, src->validity, (src->length + 7) / 8, &dst->validity_buf)))
      return rc;
    dst->validity = dst->validity_buf->data;
  }
  dst->device = WEIR_DEVICE_CUDA;
  dst->device_id = w->device;
  /* Both uploads are done when the later event (the data's was recorded
   * first) fires; record the data event again to cover the bitmap. */
  dst->ready_event = weir__cuda_buffer_ready(dst->data_buf);
  if (dst->validity_buf) {
    cudaError_t e = cudaEventRecord(dst->ready_event, w->stream);
    if (e != cudaSuccess) return weir__cuda_fail(e, "copy to device");
  }
  return WEIR_OK;
}

static int to_device(void *gw, weir_block *in, weir_block **out) {
  weir__gpu_worker *w = gw;
  *out = NULL;
  if (!w || !in) return weir__set_last_error(WEIR_EINVAL, "copy to device: NULL argument");
  weir_block *b = weir__block_alloc(in->num_columns, in->num_rows);
  if (!b) return weir__set_last_error(WEIR_ENOMEM, "copy to device: out of memory");
  for (size_t i = 0; i < in->num_columns; i++) {
    int rc = column_to_device(w, &in->cols[i], &b->cols[i]);
    if (rc) {
      if (rc == WEIR_ENOMEM && !weir_last_errmsg()[0])
        weir__set_last_error(rc, "copy to device: out of memory");
      weir_block_unref(&b);
      return rc;
    }
  }
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}

/* Device columns come back through the calling thread's per-thread
 * stream, after their ready events; the host sleeps on a blocking-sync
 * event until the copies are done. */
int weir_cuda_block_to_host(const weir_block *in, weir_block **out) {
  if (!in || !out)
    return weir__set_last_error(WEIR_EINVAL, "weir_cuda_block_to_host: NULL argument");
  *out = NULL;
  if (!weir__block_on_device(in)) {
    *out = weir_block_ref((weir_block *)in);
    return WEIR_OK;
  }
  weir_block *b = weir__block_alloc(in->num_columns, in->num_rows);
  if (!b) return weir__set_last_error(WEIR_ENOMEM, "copy to host: out of memory");
  int old = -1, cur = -1, rc = WEIR_OK;
  cudaEvent_t done = NULL;
  cudaGetDevice(&old);
  for (size_t i = 0; i < in->num_columns && !rc; i++) {
    const weir__column *src = &in->cols[i];
    weir__column *dst = &b->cols[i];
    if (src->device != WEIR_DEVICE_CUDA) {
      rc = weir__column_share(dst, src);
      continue;
    }
    cudaError_t e = cudaSuccess;
    if (src->device_id != cur) {
      /* One event per device: record and wait before switching. */
      if (done) {
        if ((e = cudaEventRecord(done, cudaStreamPerThread)) == cudaSuccess)
          e = cudaEventSynchronize(done);
        cudaEventDestroy(done);
        done = NULL;
        if (e != cudaSuccess) {
          rc = weir__cuda_fail(e, "copy to host");
          break;
        }
      }
      if ((e = cudaSetDevice(src->device_id)) != cudaSuccess ||
          (e = cudaEventCreateWithFlags(&done, cudaEventDisableTiming |
                                                   cudaEventBlockingSync)) !=
              cudaSuccess) {
        done = NULL;
        rc = weir__cuda_fail(e, "copy to host");
        break;
      }
      cur = src->device_id;
    }
    if ((rc = weir__column_copy_meta(dst, src))) break;
    dst->device = WEIR_DEVICE_CPU;
    dst->device_id = 0;
    dst->length = src->length;
    dst->null_count = src->null_count;
    size_t bytes = src->length * weir__column_row_bytes(src);
    if (src->type != WEIR_TYPE_TENSOR) bytes = 0;
    cudaEvent_t ready = weir__cuda_buffer_ready(src->data_buf);
    if (!ready) ready = (cudaEvent_t)src->ready_event;
    if (ready && (e = cudaStreamWaitEvent(cudaStreamPerThread, ready, 0)) != cudaSuccess) {
      rc = weir__cuda_fail(e, "copy to host");
      break;
    }
    /* Into pinned memory: the copy runs at full bandwidth and does not
     * stage through the driver's bounce buffer; the host block keeps it
     * (and a later upload of it needs no staging either). Pageable memory
     * when nothing more can be pinned. */
    if (bytes && weir__cuda_pinned_buffer_new(bytes, &dst->data_buf) != WEIR_OK)
      dst->data_buf = NULL;
    if (!dst->data_buf && !(dst->data_buf = weir__buffer_alloc(bytes))) {
      rc = weir__set_last_error(WEIR_ENOMEM, "copy to host: out of memory");
      break;
    }
    dst->data = dst->data_buf->data;
    if (bytes && (e = cudaMemcpyAsync(dst->data_buf->data, src->data, bytes,
                                      cudaMemcpyDeviceToHost,
                                      cudaStreamPerThread)) != cudaSuccess) {
      rc = weir__cuda_fail(e, "copy to host");
      break;
    }
    if (src->null_count && src->validity) {
      size_t vb = (src->length + 7) / 8;
      if (!(dst->validity_buf = weir__buffer_alloc(vb))) {
        rc = weir__set_last_error(WEIR_ENOMEM, "copy to host: out of memory");
        break;
      }
      dst->validity = dst->validity_buf->data;
      if (src->validity_buf && src->validity_buf->device == WEIR_DEVICE_CPU)
        memcpy(dst->validity_buf->data, src->validity, vb);
      else if ((e = cudaMemcpyAsync(dst->validity_buf->data, src->validity, vb,
                                    cudaMemcpyDeviceToHost,
                                    cudaStreamPerThread)) != cudaSuccess) {
        rc = weir__cuda_fail(e, "copy to host");
        break;
      }
    }
  }
  if (done) {
    cudaError_t e = cudaEventRecord(done, cudaStreamPerThread);
    if (e == cudaSuccess) e = cudaEventSynchronize(done);
    if (e != cudaSuccess && !rc) rc = weir__cuda_fail(e, "copy to host");
    cudaEventDestroy(done);
  }
  if (old >= 0 && cur >= 0 && old != cur) cudaSetDevice(old);
  if (rc) {
    weir_block_unref(&b);
    return rc;
  }
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}

static int to_host(weir_block *in, weir_block **out) {
  return weir_cuda_block_to_host(in, out);
}

/* A kernel launch that failed without touching the stream's events. */
static int launch_error(void) {
  cudaError_t e = cudaPeekAtLastError();
  return e != cudaSuccess ? weir__cuda_fail(e, "GPU operator") : WEIR_OK;
}

static int sync_worker(void *gw) {
  weir__gpu_worker *w = gw;
  if (!w) return WEIR_OK;
  weir__cuda_resolve_pending(w->stream);
  cudaError_t e = cudaEventRecord(w->done, w->stream);
  if (e == cudaSuccess) e = cudaEventSynchronize(w->done);
  if (e != cudaSuccess) return weir__cuda_fail(e, "GPU operator");
  /* Everything marked is done too. */
  w->mark_head = w->mark_count = 0;
  return launch_error();
}

/* Notes the end of a call's work with an event from the worker's ring and
 * sleeps on the oldest ones until at most `max_pending` are left. */
static int mark_worker(void *gw, int max_pending) {
  weir__gpu_worker *w = gw;
  if (!w) return WEIR_OK;
  if (max_pending <= 0) return sync_worker(w);
  if (max_pending >= WEIR__CUDA_MAX_MARKS) max_pending = WEIR__CUDA_MAX_MARKS - 1;
  int rc = launch_error();
  if (rc) return rc;
  /* The call's outputs name this stream as producer: their events are
   * recorded now, before later calls queue more work behind them. */
  weir__cuda_resolve_pending(w->stream);
  int k = (w->mark_head + w->mark_count) % WEIR__CUDA_MAX_MARKS;
  cudaError_t e = cudaEventRecord(w->marks[k], w->stream);
  if (e != cudaSuccess) return weir__cuda_fail(e, "GPU operator");
  w->mark_count++;
  while (w->mark_count > max_pending) {
    e = cudaEventSynchronize(w->marks[w->mark_head]);
    w->mark_head = (w->mark_head + 1) % WEIR__CUDA_MAX_MARKS;
    w->mark_count--;
    if (e != cudaSuccess) return weir__cuda_fail(e, "GPU operator (a call in flight)");
  }
  return WEIR_OK;
}

static int lost(void *gw) {
  weir__gpu_worker *w = gw;
  return w && weir__cuda_device_lost(w->device);
}

static const weir__gpu_backend backend = {
    .check = check,
    .device_count = device_count,
    .worker_init = worker_init,
    .worker_destroy = worker_destroy,
    .worker_stream = worker_stream,
    .to_device = to_device,
    .to_host = to_host,
    .sync = sync_worker,
    .mark = mark_worker,
    .lost = lost,
};

const weir__gpu_backend *weir__gpu_backend_get(void) { return &backend; }

/* Checks the dtype and shape of a tensor column for `fn` (the public
 * function, named in messages) and makes its one-column block of `rows`
 * rows, without data; `*bytes` gets the size the data needs. */
static int tensor_block_new(const char *fn, const char *name, int dtype,
                            int ndim, const int64_t *shape, size_t rows,
                            size_t *bytes, weir_block **out) {
  size_t esize = weir_dtype_size(dtype);
  if (!esize || ndim < 1 || ndim > WEIR_TENSOR_MAX_DIMS)
    return weir__set_last_error(WEIR_EINVAL,
        "%s: column '%s': bad dtype %d or ndim %d", fn, name, dtype, ndim);
  size_t n = esize;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0 || (shape[d] && n > SIZE_MAX / (size_t)shape[d]))
      return weir__set_last_error(WEIR_EINVAL, "%s: column '%s': bad shape",
                                  fn, name);
    n *= (size_t)shape[d];
  }
  if (rows && n > SIZE_MAX / rows)
    return weir__set_last_error(WEIR_EINVAL, "%s: column '%s': too large", fn,
                                name);
  weir_block *b = weir__block_alloc(1, rows);
  if (!b) return weir__set_last_error(WEIR_ENOMEM, "out of memory");
  weir__column *c = &b->cols[0];
  if (!(c->name = strdup(name))) {
    weir_block_unref(&b);
    return weir__set_last_error(WEIR_ENOMEM, "out of memory");
  }
  c->type = WEIR_TYPE_TENSOR;
  c->dtype = dtype;
  c->ndim = ndim;
  memcpy(c->shape, shape, (size_t)ndim * sizeof shape[0]);
  c->length = rows;
  *bytes = n * rows;
  *out = b;
  return WEIR_OK;
}

int weir_cuda_tensor_block(weir_ctx *ctx, const char *name, int dtype,
                           int ndim, const int64_t *shape, size_t rows,
                           weir_block **out, void **data) {
  (void)ctx; /* the worker is the thread's own: callbacks run on it */
  if (out) *out = NULL;
  if (data) *data = NULL;
  weir__gpu_worker *w = current_worker;
  if (!out || !name || (ndim > 0 && !shape))
    return weir__set_last_error(WEIR_EINVAL, "weir_cuda_tensor_block: NULL argument");
  if (!w)
    return weir__set_last_error(WEIR_EINVAL,
        "weir_cuda_tensor_block: only a GPU operator (num_gpus > 0) can "
        "allocate device tensors, from its worker thread");
  size_t bytes;
  weir_block *b;
  int rc = tensor_block_new("weir_cuda_tensor_block", name, dtype, ndim,
                            shape, rows, &bytes, &b);
  if (rc) return rc;
  weir__column *c = &b->cols[0];
  rc = weir__cuda_buffer_new(w->device, bytes, w->stream, w->stream,
                             &c->data_buf);
  if (rc) {
    weir_block_unref(&b);
    return rc;
  }
  c->data = c->data_buf->data;
  c->device = WEIR_DEVICE_CUDA;
  c->device_id = w->device;
  /* The event exists already but is recorded lazily (see
   * weir__cuda_buffer_new), after the kernels the caller is about to queue;
   * readers reach it through the buffer, which records it first. */
  c->ready_event = weir__cuda_buffer_event(c->data_buf);
  weir__block_seal(b);
  *out = b;
  if (data) *data = (void *)c->data;
  return WEIR_OK;
}

int weir_cuda_host_tensor_block(const char *name, int dtype, int ndim,
                                const int64_t *shape, size_t rows,
                                weir_block **out, void **data) {
  if (out) *out = NULL;
  if (data) *data = NULL;
  if (!out || !name || (ndim > 0 && !shape))
    return weir__set_last_error(WEIR_EINVAL,
        "weir_cuda_host_tensor_block: NULL argument");
  if (weir_cuda_device_count() == 0)
    return weir__set_last_error(WEIR_ENODEV,
        "weir_cuda_host_tensor_block: no CUDA device is visible");
  size_t bytes;
  weir_block *b;
  int rc = tensor_block_new("weir_cuda_host_tensor_block", name, dtype, ndim,
                            shape, rows, &bytes, &b);
  if (rc) return rc;
  weir__column *c = &b->cols[0];
  rc = weir__cuda_pinned_buffer_new(bytes, &c->data_buf);
  if (rc) {
    weir_block_unref(&b);
    return rc;
  }
  c->data = c->data_buf->data;
  weir__block_seal(b);
  *out = b;
  if (data) *data = c->data_buf->data;
  return WEIR_OK;
}
