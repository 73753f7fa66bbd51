/* A stand-in for the CUDA component, for tests: an implementation of
 * exec/gpu_backend.h that pretends to be one or two devices made of host
 * memory, so that CI runs the executor's GPU paths without a GPU.
 *
 * - A worker's stream is an ordered queue of host functions run by a thread
 *   of its own; an operator queues its "kernels" there (fg_launch).
 * - Events are completion flags set by the stream when it reaches them; a
 *   stream waiting on another's event blocks its thread until the flag is
 *   set (cudaStreamWaitEvent), the host sleeps on it (cudaEventSynchronize).
 * - Device buffers are malloc'd, counted per device; copies are memcpy on
 *   the stream, after an optional delay, so that a reader that forgot to
 *   wait reads stale bytes and a buffer freed too early is caught by
 *   ASan (use after free) rather than by luck.
 * - A kernel can fail (fg_fail): the stream's next sync reports it; a
 *   "sticky" failure also marks the device lost, as an illegal address does.
 *
 * fg_install(n, delay_us) makes the executor use it (weir__gpu_backend_
 * install); fg_uninstall() checks nothing is left and restores the build's.
 * Header-only: each test file that includes it gets its own copy. */
#ifndef WEIR_TESTS_FAKE_GPU_H
#define WEIR_TESTS_FAKE_GPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <weir.h>

#include "core/block_internal.h"
#include "exec/gpu_backend.h"

#define FG_MAX_DEVICES 2
#define FG_MAX_MARKS 8

typedef struct fg_event {
  atomic_int done;
} fg_event;

typedef struct fg_op {
  void (*fn)(void *arg);
  void *arg;
  struct fg_op *next;
} fg_op;

typedef struct fg_stream {
  int device;
  pthread_t thread;
  fg_op *head, *tail;
  unsigned long queued, done;      /* ops queued / run, under fg.mu */
  int stop;
  int error;                       /* first failure of a kernel, until synced */
  char errmsg[160];
  unsigned long marks[FG_MAX_MARKS]; /* queue positions of calls in flight */
  int mark_head, mark_count;
  int max_marks_seen;              /* calls in flight at once, at most */
} fg_stream;

typedef struct fg_state {
  pthread_mutex_t mu;
  pthread_cond_t cv;               /* any op ran, any event fired */
  int ndev;
  unsigned delay_us;
  atomic_long dev_bytes[FG_MAX_DEVICES];
  atomic_int lost[FG_MAX_DEVICES];
  atomic_int h2d, d2h, peer, device_count_calls, workers_live;
  atomic_int max_in_flight;        /* the most calls any worker had in flight */
} fg_state;

static fg_state fg = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void fg_sleep(void) {
  if (fg.delay_us) {
    struct timespec ts = {0, (long)fg.delay_us * 1000};
    nanosleep(&ts, NULL);
  }
}

/* ---- Streams and events ---------------------------------------------- */

static void *fg_stream_main(void *arg) {
  fg_stream *s = arg;
  pthread_mutex_lock(&fg.mu);
  for (;;) {
    while (!s->head && !s->stop) pthread_cond_wait(&fg.cv, &fg.mu);
    if (!s->head) break;
    fg_op *op = s->head;
    s->head = op->next;
    if (!s->head) s->tail = NULL;
    pthread_mutex_unlock(&fg.mu);
    op->fn(op->arg);
    free(op);
    pthread_mutex_lock(&fg.mu);
    s->done++;
    pthread_cond_broadcast(&fg.cv);
  }
  pthread_mutex_unlock(&fg.mu);
  return NULL;
}

/* Queues fn(arg) on stream `s` (a worker's stream: weir_ctx_cuda_stream). */
static void fg_launch(void *stream, void (*fn)(void *), void *arg) {
  fg_stream *s = stream;
  fg_op *op = calloc(1, sizeof *op);
  op->fn = fn;
  op->arg = arg;
  pthread_mutex_lock(&fg.mu);
  if (s->tail) s->tail->next = op;
  else s->head = op;
  s->tail = op;
  s->queued++;
  pthread_cond_broadcast(&fg.cv);
  pthread_mutex_unlock(&fg.mu);
}

static void fg_fire(void *arg) {
  fg_event *ev = arg;
  pthread_mutex_lock(&fg.mu);
  atomic_store(&ev->done, 1);
  pthread_cond_broadcast(&fg.cv);
  pthread_mutex_unlock(&fg.mu);
}

static void fg_event_wait(fg_event *ev) {
  pthread_mutex_lock(&fg.mu);
  while (!atomic_load(&ev->done)) pthread_cond_wait(&fg.cv, &fg.mu);
  pthread_mutex_unlock(&fg.mu);
}

/* Waits until stream `s` has run everything queued before position `pos`. */
static void fg_wait_pos(fg_stream *s, unsigned long pos) {
  pthread_mutex_lock(&fg.mu);
  while (s->done < pos) pthread_cond_wait(&fg.cv, &fg.mu);
  pthread_mutex_unlock(&fg.mu);
}

typedef struct fg_failure {
  fg_stream *s;
  int sticky;
  char msg[120];
} fg_failure;

static void fg_fail_run(void *arg) {
  fg_failure *f = arg;
  pthread_mutex_lock(&fg.mu);
  if (!f->s->error) {
    f->s->error = f->sticky ? WEIR_ENODEV : WEIR_EOPERATOR;
    snprintf(f->s->errmsg, sizeof f->s->errmsg, "%s", f->msg);
  }
  if (f->sticky) atomic_store(&fg.lost[f->s->device], 1);
  pthread_mutex_unlock(&fg.mu);
  free(f);
}

/* Queues a kernel that fails with `msg`; `sticky` as an illegal address:
 * the device is lost from then on. */
static void fg_fail(void *stream, int sticky, const char *msg) {
  fg_failure *f = calloc(1, sizeof *f);
  f->s = stream;
  f->sticky = sticky;
  snprintf(f->msg, sizeof f->msg, "%s", msg);
  fg_launch(stream, fg_fail_run, f);
}

/* ---- Device buffers ---------------------------------------------------- */

typedef struct fg_mem {
  fg_event ready;                  /* the column's ready_event */
  int device;
  size_t size;
} fg_mem;

static void fg_mem_release(void *opaque, void *data, size_t size) {
  fg_mem *m = opaque;
  (void)size;
  atomic_fetch_sub(&fg.dev_bytes[m->device], (long)m->size);
  free(data);
  free(m);
}

/* A device buffer of `bytes` on `device`, its ready event not fired. */
static weir__buffer *fg_mem_new(int device, size_t bytes) {
  fg_mem *m = calloc(1, sizeof *m);
  m->device = device;
  m->size = bytes;
  void *data = malloc(bytes ? bytes : 1);
  weir__buffer *buf = weir__buffer_wrap(data, bytes, fg_mem_release, m);
  buf->device = WEIR_DEVICE_CUDA;
  buf->device_id = device;
  atomic_fetch_add(&fg.dev_bytes[device], (long)bytes);
  return buf;
}

static fg_event *fg_ready_of(const weir__column *c) { return c->ready_event; }

typedef struct fg_copy {
  weir__buffer *src, *dst;         /* references, held until the copy ran */
  const void *from;
  void *to;
  size_t bytes;
  fg_event *wait;                  /* the source's ready event, or NULL */
  fg_event *fire;                  /* the destination's, or NULL */
} fg_copy;

static void fg_copy_run(void *arg) {
  fg_copy *c = arg;
  if (c->wait) fg_event_wait(c->wait);
  fg_sleep();
  memcpy(c->to, c->from, c->bytes);
  if (c->fire) fg_fire(c->fire);
  weir__buffer_unref(c->src);
  weir__buffer_unref(c->dst);
  free(c);
}

/* Queues a copy of `bytes` from `src` (data at `from`) into a new buffer on
 * the stream's device; the buffer's ready event fires after it. */
static weir__buffer *fg_copy_to(fg_stream *s, weir__buffer *src, const void *from,
                                size_t bytes, fg_event *wait) {
  weir__buffer *dst = fg_mem_new(s->device, bytes);
  fg_copy *c = calloc(1, sizeof *c);
  c->src = weir__buffer_ref(src);
  c->dst = weir__buffer_ref(dst);
  c->from = from;
  c->to = dst->data;
  c->bytes = bytes;
  c->wait = wait;
  c->fire = &((fg_mem *)dst->opaque)->ready;
  fg_launch(s, fg_copy_run, c);
  return dst;
}

typedef struct fg_waiter {
  weir__buffer *hold;
  fg_event *ev;
} fg_waiter;

static void fg_waiter_run(void *arg) {
  fg_waiter *w = arg;
  fg_event_wait(w->ev);
  weir__buffer_unref(w->hold);
  free(w);
}

/* ---- The backend table ------------------------------------------------- */

static int fg_check(double num_gpus, char *msg, size_t len) {
  if (num_gpus > fg.ndev) {
    snprintf(msg, len, "operator asks for %g GPUs per worker but only %d fake devices",
             num_gpus, fg.ndev);
    return WEIR_ENODEV;
  }
  return WEIR_OK;
}

static int fg_device_count(void) {
  atomic_fetch_add(&fg.device_count_calls, 1);
  return fg.ndev;
}

static int fg_worker_init(int device, void **out) {
  *out = NULL;
  if (device < 0 || device >= fg.ndev)
    return weir__set_last_error(WEIR_ENODEV, "fake GPU worker: no device %d", device);
  fg_stream *s = calloc(1, sizeof *s);
  s->device = device;
  pthread_create(&s->thread, NULL, fg_stream_main, s);
  atomic_fetch_add(&fg.workers_live, 1);
  *out = s;
  return WEIR_OK;
}

static void fg_worker_destroy(void *gw) {
  fg_stream *s = gw;
  if (!s) return;
  pthread_mutex_lock(&fg.mu);
  s->stop = 1; /* the thread runs what is queued, then leaves */
  pthread_cond_broadcast(&fg.cv);
  pthread_mutex_unlock(&fg.mu);
  pthread_join(s->thread, NULL);
  int in_flight = s->max_marks_seen;
  int seen = atomic_load(&fg.max_in_flight);
  while (in_flight > seen && !atomic_compare_exchange_weak(&fg.max_in_flight, &seen, in_flight)) {
  }
  free(s);
  atomic_fetch_sub(&fg.workers_live, 1);
}

static void *fg_worker_stream(void *gw) { return gw; }

static int fg_column_to_device(fg_stream *s, const weir__column *src, weir__column *dst) {
  if (src->type != WEIR_TYPE_TENSOR)
    return weir__column_share(dst, src);
  if (src->device == WEIR_DEVICE_CUDA && src->device_id == s->device) {
    /* Here already: shared, and the stream waits for its producer. */
    int rc = weir__column_share(dst, src);
    if (rc) return rc;
    fg_waiter *w = calloc(1, sizeof *w);
    w->hold = weir__buffer_ref(src->data_buf);
    w->ev = fg_ready_of(src);
    fg_launch(s, fg_waiter_run, w);
    return WEIR_OK;
  }
  int rc = weir__column_copy_meta(dst, src);
  if (rc) return rc;
  dst->length = src->length;
  dst->null_count = src->null_count;
  size_t bytes = src->length * weir__column_row_bytes(src);
  if (src->device == WEIR_DEVICE_CUDA) {
    /* Another device: a peer copy after the source is written; the copy
     * holds the source until it has run. */
    atomic_fetch_add(&fg.peer, 1);
    dst->data_buf = fg_copy_to(s, src->data_buf, src->data, bytes, fg_ready_of(src));
  } else {
    atomic_fetch_add(&fg.h2d, 1);
    dst->data_buf = fg_copy_to(s, src->data_buf, src->data, bytes, NULL);
  }
  dst->data = dst->data_buf->data;
  if (src->validity && src->null_count) {
    /* Host bitmaps stay shared: the fake reads them from the host. */
    dst->validity_buf = weir__buffer_ref(src->validity_buf);
    dst->validity = src->validity;
  }
  dst->device = WEIR_DEVICE_CUDA;
  dst->device_id = s->device;
  dst->ready_event = &((fg_mem *)dst->data_buf->opaque)->ready;
  return WEIR_OK;
}

static int fg_to_device(void *gw, weir_block *in, weir_block **out) {
  fg_stream *s = gw;
  weir_block *b = weir__block_alloc(in->num_columns, in->num_rows);
  for (size_t i = 0; i < in->num_columns; i++) {
    int rc = fg_column_to_device(s, &in->cols[i], &b->cols[i]);
    if (rc) {
      weir_block_unref(&b);
      return rc;
    }
  }
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}

static int fg_to_host(weir_block *in, weir_block **out) {
  weir_block *b = weir__block_alloc(in->num_columns, in->num_rows);
  for (size_t i = 0; i < in->num_columns; i++) {
    const weir__column *src = &in->cols[i];
    weir__column *dst = &b->cols[i];
    if (src->device != WEIR_DEVICE_CUDA) {
      weir__column_share(dst, src);
      continue;
    }
    weir__column_copy_meta(dst, src);
    dst->device = WEIR_DEVICE_CPU;
    dst->device_id = 0;
    dst->length = src->length;
    dst->null_count = src->null_count;
    size_t bytes = src->length * weir__column_row_bytes(src);
    /* The host waits for the column's producer, then copies. */
    if (fg_ready_of(src)) fg_event_wait(fg_ready_of(src));
    fg_sleep();
    dst->data_buf = weir__buffer_alloc(bytes);
    memcpy(dst->data_buf->data, src->data, bytes);
    dst->data = dst->data_buf->data;
    if (src->validity_buf) {
      dst->validity_buf = weir__buffer_ref(src->validity_buf);
      dst->validity = src->validity;
    }
    atomic_fetch_add(&fg.d2h, 1);
  }
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}

/* The stream's first failure since the last report, as the CUDA runtime
 * reports an asynchronous error once; a lost device fails every time. */
static int fg_take_error(fg_stream *s) {
  pthread_mutex_lock(&fg.mu);
  int rc = s->error;
  char msg[sizeof s->errmsg];
  snprintf(msg, sizeof msg, "%s", s->errmsg);
  if (!atomic_load(&fg.lost[s->device])) s->error = 0;
  pthread_mutex_unlock(&fg.mu);
  return rc ? weir__set_last_error(rc, "fake device %d: %s", s->device, msg) : WEIR_OK;
}

static int fg_sync(void *gw) {
  fg_stream *s = gw;
  pthread_mutex_lock(&fg.mu);
  unsigned long pos = s->queued;
  s->mark_head = s->mark_count = 0;
  pthread_mutex_unlock(&fg.mu);
  fg_wait_pos(s, pos);
  return fg_take_error(s);
}

static int fg_mark(void *gw, int max_pending) {
  fg_stream *s = gw;
  if (max_pending <= 0) return fg_sync(s);
  if (max_pending >= FG_MAX_MARKS) max_pending = FG_MAX_MARKS - 1;
  pthread_mutex_lock(&fg.mu);
  s->marks[(s->mark_head + s->mark_count) % FG_MAX_MARKS] = s->queued;
  s->mark_count++;
  /* Calls whose work is still queued, this one included. */
  int pending = 0;
  for (int k = 0; k < s->mark_count; k++)
    pending += s->marks[(s->mark_head + k) % FG_MAX_MARKS] > s->done;
  if (pending > s->max_marks_seen) s->max_marks_seen = pending;
  while (s->mark_count > max_pending) {
    unsigned long pos = s->marks[s->mark_head];
    s->mark_head = (s->mark_head + 1) % FG_MAX_MARKS;
    s->mark_count--;
    while (s->done < pos) pthread_cond_wait(&fg.cv, &fg.mu);
  }
  pthread_mutex_unlock(&fg.mu);
  return fg_take_error(s);
}

static int fg_lost(void *gw) {
  fg_stream *s = gw;
  return s && atomic_load(&fg.lost[s->device]);
}

static const weir__gpu_backend fg_backend = {
    .check = fg_check,
    .device_count = fg_device_count,
    .worker_init = fg_worker_init,
    .worker_destroy = fg_worker_destroy,
    .worker_stream = fg_worker_stream,
    .to_device = fg_to_device,
    .to_host = fg_to_host,
    .sync = fg_sync,
    .mark = fg_mark,
    .lost = fg_lost,
};

static void fg_install(int ndev, unsigned delay_us) {
  fg.ndev = ndev;
  fg.delay_us = delay_us;
  for (int i = 0; i < FG_MAX_DEVICES; i++) {
    atomic_store(&fg.dev_bytes[i], 0);
    atomic_store(&fg.lost[i], 0);
  }
  atomic_store(&fg.h2d, 0);
  atomic_store(&fg.d2h, 0);
  atomic_store(&fg.peer, 0);
  atomic_store(&fg.device_count_calls, 0);
  atomic_store(&fg.workers_live, 0);
  atomic_store(&fg.max_in_flight, 0);
  weir__gpu_backend_install(&fg_backend);
}

/* Device bytes still held on any fake device. */
static long fg_bytes_in_use(void) {
  long n = 0;
  for (int i = 0; i < FG_MAX_DEVICES; i++) n += atomic_load(&fg.dev_bytes[i]);
  return n;
}

static void fg_uninstall(void) { weir__gpu_backend_install(NULL); }

/* ---- Helpers for test operators --------------------------------------- */

typedef struct fg_kernel_scale {
  const float *in;
  float *out;
  size_t n;
  float factor;
  fg_event *fire;
  weir__buffer *hold_in, *hold_out;
} fg_kernel_scale;

static void fg_scale_run(void *arg) {
  fg_kernel_scale *k = arg;
  fg_sleep();
  for (size_t i = 0; i < k->n; i++) k->out[i] = k->in[i] * k->factor;
  fg_fire(k->fire);
  weir__buffer_unref(k->hold_in);
  weir__buffer_unref(k->hold_out);
  free(k);
}

/* A block like `in` whose float32 tensor column `col` is multiplied by
 * `factor` by a kernel queued on `stream` (the input is on the stream's
 * device, which the executor ordered after its producer); the output's
 * ready event fires when the kernel ran. Other columns are shared. */
static weir_block *fg_scale_block(void *stream, weir_block *in, size_t col, float factor) {
  fg_stream *s = stream;
  weir_block *b = weir__block_alloc(in->num_columns, in->num_rows);
  for (size_t i = 0; i < in->num_columns; i++) {
    const weir__column *src = &in->cols[i];
    weir__column *dst = &b->cols[i];
    if (i != col) {
      weir__column_share(dst, src);
      continue;
    }
    weir__column_copy_meta(dst, src);
    dst->length = src->length;
    size_t bytes = src->length * weir__column_row_bytes(src);
    dst->data_buf = fg_mem_new(s->device, bytes);
    dst->data = dst->data_buf->data;
    dst->device = WEIR_DEVICE_CUDA;
    dst->device_id = s->device;
    fg_event *fire = &((fg_mem *)dst->data_buf->opaque)->ready;
    dst->ready_event = fire;
    fg_kernel_scale *k = calloc(1, sizeof *k);
    k->in = (const float *)src->data;
    k->out = dst->data_buf->data;
    k->n = bytes / sizeof(float);
    k->factor = factor;
    k->fire = fire;
    k->hold_in = weir__buffer_ref(src->data_buf);
    k->hold_out = weir__buffer_ref(dst->data_buf);
    fg_launch(s, fg_scale_run, k);
  }
  weir__block_seal(b);
  return b;
}

#endif /* WEIR_TESTS_FAKE_GPU_H */
