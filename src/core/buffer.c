/* Reference-counted byte buffers that blocks share instead of copying. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "core/mem.h"

void weir__buffer_release_free(void *opaque, void *data, size_t size) {
  (void)opaque;
  (void)size;
  free(data);
}

weir__buffer *weir__buffer_alloc(size_t size) {
  void *data = weir__mem_alloc(size, 1);
  if (!data) return NULL;
  weir__buffer *buf = weir__buffer_wrap(data, size, weir__buffer_release_mem, NULL);
  if (!buf) weir__mem_free(data);
  return buf;
}

weir__buffer *weir__buffer_wrap(void *data, size_t size,
                                weir__buffer_release_fn release, void *opaque) {
  weir__buffer *buf = malloc(sizeof *buf);
  if (!buf) return NULL;
  atomic_init(&buf->refs, 1);
  buf->data = data;
  buf->size = size;
  buf->release = release;
  buf->opaque = opaque;
  buf->device = WEIR_DEVICE_CPU;
  buf->device_id = 0;
  buf->pinned = 0;
  atomic_init(&buf->attach, NULL);
  buf->attach_free = NULL;
  return buf;
}

weir__buffer *weir__buffer_ref(weir__buffer *buf) {
  if (buf) atomic_fetch_add_explicit(&buf->refs, 1, memory_order_relaxed);
  return buf;
}

void weir__buffer_unref(weir__buffer *buf) {
  if (!buf) return;
  /* acq_rel makes every write by other owners visible to the thread that
   * frees (a fence would do too, but ThreadSanitizer does not model it). */
  if (atomic_fetch_sub_explicit(&buf->refs, 1, memory_order_acq_rel) != 1) return;
  if (buf->release) buf->release(buf->opaque, buf->data, buf->size);
  void *a = atomic_load_explicit(&buf->attach, memory_order_acquire);
  if (a && buf->attach_free) buf->attach_free(a);
  free(buf);
}

void *weir__buffer_attach(weir__buffer *buf, void *data, void (*free_fn)(void *)) {
  if (!buf || !data) return NULL;
  void *expected = NULL;
  /* attach_free is written before the pointer is published, and only by
   * the thread that wins; the loser reads the winner's attachment. */
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&mu);
  if (atomic_load_explicit(&buf->attach, memory_order_acquire) == NULL) {
    buf->attach_free = free_fn;
    atomic_compare_exchange_strong_explicit(&buf->attach, &expected, data, memory_order_acq_rel,
                                            memory_order_acquire);
  }
  void *now = atomic_load_explicit(&buf->attach, memory_order_acquire);
  pthread_mutex_unlock(&mu);
  return now;
}
