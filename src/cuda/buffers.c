/* Device buffers from the per-device pools: their ready events, the lazy
 * recording of events for buffers a worker produced, shares that give
 * memory back in stream order, and reference-counted streams. */
#include <stdlib.h>

#include "weir/error.h"
#include "cuda/cuda_rt.h"

/* What a device buffer's `opaque` points to. */
typedef struct dev_alloc {
  weir__pool_block *blk;
  int device;
  /* Pending: the stream whose queued kernels fill the buffer and on which
   * its ready event still has to be recorded; NULL once recorded. Under
   * pending_mu, like the list links. */
  cudaStream_t producer;
  struct dev_alloc *prev, *next;
  /* A stream the owner declared uses the buffer
   * (weir_cuda_block_record_stream); under pending_mu. */
  cudaStream_t use_stream;
} dev_alloc;

typedef struct dev_share {
  weir__buffer *inner;
  weir__stream_ref *sref;
} dev_share;

static pthread_mutex_t pending_mu = PTHREAD_MUTEX_INITIALIZER;
static dev_alloc *pending_head;

/* Set while a host function runs on a CUDA callback thread, where calling
 * CUDA is not allowed. */
static _Thread_local int in_cuda_callback;

static void unlink_pending(dev_alloc *a) {
  if (a->prev) a->prev->next = a->next;
  else pending_head = a->next;
  if (a->next) a->next->prev = a->prev;
  a->prev = a->next = NULL;
  a->producer = NULL;
}

static void dev_release(void *opaque, void *data, size_t size);
static void share_release(void *opaque, void *data, size_t size);

weir__stream_ref *weir__stream_ref_new(int device) {
  weir__stream_ref *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  /* Non-blocking: no implicit synchronisation with the legacy default
   * stream, so other libraries' work does not serialise ours. */
  cudaError_t e = cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    weir__cuda_fail(e, "creating a CUDA stream");
    free(s);
    return NULL;
  }
  atomic_init(&s->refs, 1);
  s->device = device;
  return s;
}

void weir__stream_ref_unref(weir__stream_ref *s) {
  if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
    return;
  /* Returns at once; work still queued completes first. */
  cudaStreamDestroy(s->stream);
  free(s);
}

int weir__cuda_buffer_new(int device, size_t bytes, cudaStream_t stream,
                          cudaStream_t producer, weir__buffer **out) {
  *out = NULL;
  weir__pool *pool = weir__cuda_device_pool(device);
  if (!pool)
    return weir__set_last_error(WEIR_ENODEV, "no CUDA device %d", device);
  dev_alloc *a = calloc(1, sizeof *a);
  if (!a) return weir__set_last_error(WEIR_ENOMEM, "out of host memory");
  int rc = weir__pool_acquire(pool, bytes, stream, &a->blk);
  if (rc) {
    free(a);
    return weir__set_last_error(rc,
        "CUDA device %d: out of memory allocating %zu bytes", device, bytes);
  }
  if (!a->blk->event) {
    /* Blocking sync: a host that waits on it sleeps instead of spinning. */
    /* Events belong to the current device; user code in an operator may
     * have switched it. */
    int old = -1;
    cudaGetDevice(&old);
    if (old != device) cudaSetDevice(device);
    cudaEvent_t ev;
    cudaError_t e = cudaEventCreateWithFlags(
        &ev, cudaEventDisableTiming | cudaEventBlockingSync);
    if (old >= 0 && old != device) cudaSetDevice(old);
    if (e != cudaSuccess) {
      weir__pool_release(pool, a->blk);
      free(a);
      return weir__cuda_fail(e, "creating a CUDA event");
    }
    a->blk->event = ev;
  }
  a->device = device;
  weir__buffer *buf = weir__buffer_wrap(a->blk->ptr, bytes, dev_release, a);
  if (!buf) {
    weir__pool_release(pool, a->blk);
    free(a);
    return weir__set_last_error(WEIR_ENOMEM, "out of host memory");
  }
  buf->device = WEIR_DEVICE_CUDA;
  buf->device_id = device;
  if (producer) {
    pthread_mutex_lock(&pending_mu);
    a->producer = producer;
    a->next = pending_head;
    if (pending_head) pending_head->prev = a;
    pending_head = a;
    pthread_mutex_unlock(&pending_mu);
  }
  *out = buf;
  return WEIR_OK;
}

/* Records the ready event of `a` on its producer stream; under pending_mu.
 * If the record fails the event stays as it was (a wait on it would not
 * wait), so the host waits for the producer instead: readers then find the
 * data complete, and the failure does not surface later as another
 * call's error. */
static void record_ready(dev_alloc *a) {
  cudaStream_t producer = a->producer;
  if (cudaEventRecord((cudaEvent_t)a->blk->event, producer) != cudaSuccess) {
    cudaGetLastError();
    cudaStreamSynchronize(producer);
    cudaGetLastError();
  }
  unlink_pending(a);
}

static dev_alloc *alloc_of(weir__buffer *buf) {
  while (buf && buf->release == share_release)
    buf = ((dev_share *)buf->opaque)->inner;
  return buf && buf->release == dev_release ? buf->opaque : NULL;
}

cudaEvent_t weir__cuda_buffer_ready(weir__buffer *buf) {
  dev_alloc *a = alloc_of(buf);
  if (!a) return NULL;
  pthread_mutex_lock(&pending_mu);
  if (a->producer) {
    /* Everything queued on the producer stream so far includes the kernels
     * that fill this buffer: it was emitted after they were queued. */
    record_ready(a);
  }
  pthread_mutex_unlock(&pending_mu);
  return (cudaEvent_t)a->blk->event;
}

cudaEvent_t weir__cuda_buffer_event(weir__buffer *buf) {
  dev_alloc *a = alloc_of(buf);
  return a ? (cudaEvent_t)a->blk->event : NULL;
}

void weir__cuda_resolve_pending(cudaStream_t stream) {
  pthread_mutex_lock(&pending_mu);
  dev_alloc *a = pending_head;
  while (a) {
    dev_alloc *next = a->next;
    if (a->producer == stream) record_ready(a);
    a = next;
  }
  pthread_mutex_unlock(&pending_mu);
}

/* The last reference is gone: back to the pool, fenced by an event on the
 * stream that may still use the memory (the producer's, when nobody read
 * it; else the releasing worker's), so the next owner's stream waits for
 * it. */
static void dev_release(void *opaque, void *data, size_t size) {
  (void)data;
  (void)size;
  dev_alloc *a = opaque;
  weir__pool_block *blk = a->blk;
  pthread_mutex_lock(&pending_mu);
  cudaStream_t producer = a->producer, use = a->use_stream;
  if (producer) unlink_pending(a);
  pthread_mutex_unlock(&pending_mu);
  blk->fenced = 0;
  blk->fence_stream = NULL;
  if (!in_cuda_callback) {
    /* A declared reader waited for the producer, so its stream covers
     * both. */
    cudaStream_t s = use ? use : producer;
    weir__gpu_worker *w = weir__cuda_current_worker();
    if (!s && w && w->device == a->device) s = w->stream;
    if (s) {
      if (cudaEventRecord((cudaEvent_t)blk->event, s) == cudaSuccess) {
        blk->fenced = 1;
        blk->fence_stream = s;
      } else {
        /* No fence to hand the next owner: wait here instead, so that the
         * memory is idle when it goes back, and clear the error so that it
         * is not reported later as an unrelated call's. */
        cudaGetLastError();
        cudaStreamSynchronize(s);
        cudaGetLastError();
      }
    }
  }
  weir__pool *pool = weir__cuda_device_pool(a->device);
  if (pool) weir__pool_release(pool, blk);
  free(a);
}

static void CUDART_CB unref_in_callback(void *arg) {
  in_cuda_callback = 1;
  weir__buffer_unref(arg);
  in_cuda_callback = 0;
}

/* Orders `stream` after the work queued so far on the stream the owner
 * declared with weir_cuda_block_record_stream (none: nothing to do), so
 * that a release queued on `stream` also waits for the user's kernels. A
 * callback releasing the buffer cannot call CUDA, hence before. */
static void wait_declared_use(dev_alloc *a, cudaStream_t stream) {
  pthread_mutex_lock(&pending_mu);
  cudaStream_t use = a ? a->use_stream : NULL;
  pthread_mutex_unlock(&pending_mu);
  if (!use || use == stream) return;
  cudaEvent_t ev;
  cudaError_t e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
  if (e == cudaSuccess) {
    e = cudaEventRecord(ev, use);
    if (e == cudaSuccess) e = cudaStreamWaitEvent(stream, ev, 0);
    /* Destroying an event a wait still refers to is allowed: its
     * resources go once the wait is done. */
    cudaEventDestroy(ev);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    cudaStreamSynchronize(use);
    cudaGetLastError();
  }
}

static void share_release(void *opaque, void *data, size_t size) {
  (void)data;
  (void)size;
  dev_share *s = opaque;
  if (!in_cuda_callback) wait_declared_use(alloc_of(s->inner), s->sref->stream);
  /* The reader's kernels may still be queued: give the memory back once
   * its stream has passed them. Inside a CUDA callback (or if queuing
   * fails) the stream cannot be used; the caller then has no pending work
   * on it, because callbacks only release inner buffers. */
  if (in_cuda_callback ||
      cudaLaunchHostFunc(s->sref->stream, unref_in_callback, s->inner) !=
          cudaSuccess) {
    cudaGetLastError();
    if (!in_cuda_callback) cudaStreamSynchronize(s->sref->stream);
    weir__buffer_unref(s->inner);
  }
  if (!in_cuda_callback) weir__stream_ref_unref(s->sref);
  else atomic_fetch_sub(&s->sref->refs, 1); /* never the last: see above */
  free(s);
}

weir__buffer *weir__cuda_buffer_share(weir__buffer *inner,
                                      weir__stream_ref *sref) {
  /* Share the allocation itself, never a share of it, so a callback that
   * releases `inner` never has to queue anything. */
  while (inner->release == share_release)
    inner = ((dev_share *)inner->opaque)->inner;
  dev_share *s = malloc(sizeof *s);
  if (!s) return NULL;
  weir__buffer *buf = weir__buffer_wrap(inner->data, inner->size,
                                        share_release, s);
  if (!buf) {
    free(s);
    return NULL;
  }
  s->inner = weir__buffer_ref(inner);
  s->sref = sref;
  atomic_fetch_add(&sref->refs, 1);
  buf->device = inner->device;
  buf->device_id = inner->device_id;
  return buf;
}

/* The event an Arrow device export hands out: one wait on the calling
 * thread's stream for every column's ready event, then a record. */
int weir__cuda_sync_event_new(const weir_block *b, void **holder) {
  *holder = NULL;
  cudaEvent_t *ev = malloc(sizeof *ev);
  if (!ev) return weir__set_last_error(WEIR_ENOMEM, "out of memory");
  int old = -1, device = -1, switched = -1;
  cudaGetDevice(&old);
  cudaError_t e = cudaSuccess;
  for (size_t i = 0; i < b->num_columns && e == cudaSuccess; i++) {
    const weir__column *c = &b->cols[i];
    if (c->device != WEIR_DEVICE_CUDA) continue;
    if (device < 0) {
      device = c->device_id;
      if ((e = cudaSetDevice(device)) != cudaSuccess) break;
      switched = device;
      if ((e = cudaEventCreateWithFlags(ev, cudaEventDisableTiming |
                                                cudaEventBlockingSync)) !=
          cudaSuccess) {
        device = -2; /* no event to destroy */
        break;
      }
    }
    cudaEvent_t ready = weir__cuda_buffer_ready(c->data_buf);
    if (!ready) ready = (cudaEvent_t)c->ready_event;
    if (ready) e = cudaStreamWaitEvent(cudaStreamPerThread, ready, 0);
  }
  if (e == cudaSuccess && device >= 0) e = cudaEventRecord(*ev, cudaStreamPerThread);
  /* Back to the caller's device on every path, the failed ones included
   * (device is -2 when the event could not be made). */
  if (old >= 0 && switched >= 0 && old != switched) cudaSetDevice(old);
  if (e != cudaSuccess || device < 0) {
    if (device >= 0) cudaEventDestroy(*ev);
    free(ev);
    return e != cudaSuccess ? weir__cuda_fail(e, "arrow device export")
                            : weir__set_last_error(WEIR_EINVAL, "no device column");
  }
  *holder = ev;
  return WEIR_OK;
}

void weir__cuda_sync_event_free(void *holder) {
  if (!holder) return;
  cudaEventDestroy(*(cudaEvent_t *)holder);
  free(holder);
}

int weir_cuda_block_record_stream(const weir_block *b, void *stream) {
  if (!b || !stream)
    return weir__set_last_error(WEIR_EINVAL,
        "weir_cuda_block_record_stream: NULL argument");
  for (size_t i = 0; i < b->num_columns; i++) {
    weir__buffer *bufs[2] = {b->cols[i].data_buf, b->cols[i].validity_buf};
    for (int k = 0; k < 2; k++) {
      dev_alloc *a = alloc_of(bufs[k]);
      if (!a) continue;
      pthread_mutex_lock(&pending_mu);
      a->use_stream = (cudaStream_t)stream;
      pthread_mutex_unlock(&pending_mu);
    }
  }
  return WEIR_OK;
}

int weir__cuda_column_consumer(const weir__column *c, cudaStream_t stream) {
  if (c->device != WEIR_DEVICE_CUDA) return WEIR_OK;
  cudaEvent_t ready = weir__cuda_buffer_ready(c->data_buf);
  if (!ready) ready = (cudaEvent_t)c->ready_event;
  if (ready) {
    cudaError_t e = cudaStreamWaitEvent(stream, ready, 0);
    if (e != cudaSuccess) return weir__cuda_fail(e, "ordering a consumer's stream");
  }
  weir__buffer *bufs[2] = {c->data_buf, c->validity_buf};
  for (int k = 0; k < 2; k++) {
    dev_alloc *a = alloc_of(bufs[k]);
    if (!a) continue;
    pthread_mutex_lock(&pending_mu);
    a->use_stream = stream;
    pthread_mutex_unlock(&pending_mu);
  }
  return WEIR_OK;
}

/* ---- Pinned host buffers --------------------------------------------- */

static void pinned_release(void *opaque, void *data, size_t size) {
  (void)data;
  (void)size;
  weir__pool *pool = weir__cuda_pinned_pool();
  if (pool) weir__pool_release(pool, opaque);
}

int weir__cuda_pinned_buffer_new(size_t bytes, weir__buffer **out) {
  *out = NULL;
  weir__pool *pool = weir__cuda_pinned_pool();
  if (!pool) return weir__set_last_error(WEIR_ENOMEM, "no pinned memory pool");
  weir__pool_block *blk;
  int rc = weir__pool_acquire(pool, bytes, NULL, &blk);
  if (rc)
    return weir__set_last_error(rc, "cannot pin %zu bytes of host memory", bytes);
  weir__buffer *buf = weir__buffer_wrap(blk->ptr, bytes, pinned_release, blk);
  if (!buf) {
    weir__pool_release(pool, blk);
    return weir__set_last_error(WEIR_ENOMEM, "out of memory");
  }
  buf->pinned = 1;
  *out = buf;
  return WEIR_OK;
}

int weir__cuda_buffer_is_pinned(const weir__buffer *buf) {
  return buf && buf->release == pinned_release;
}

void weir__cuda_unref_after(cudaStream_t stream, weir__buffer *buf) {
  if (cudaLaunchHostFunc(stream, unref_in_callback, buf) != cudaSuccess) {
    cudaGetLastError();
    cudaStreamSynchronize(stream);
    weir__buffer_unref(buf);
  }
}
