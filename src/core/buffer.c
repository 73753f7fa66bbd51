/* Reference-counted byte buffers that blocks share instead of copying. */
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
  free(buf);
}
