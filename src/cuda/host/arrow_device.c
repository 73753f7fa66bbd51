/* weir_block_to_arrow_device(): the Arrow C Device Data Interface export,
 * the host layout of weir_block_to_arrow() plus the device and an event to
 * wait on. */
#include <stdlib.h>
#include <string.h>

#include "weir/arrow_device.h"
#include "weir/error.h"
#include "core/block_internal.h"
#include "cuda/cuda_internal.h"
#include "exec/gpu_backend.h"

/* The exported root array keeps the producer's release and private data
 * here and frees the event after them. */
typedef struct device_private {
  void (*release)(struct ArrowArray *);
  void *private_data;
  void *event_holder;
} device_private;

static void release_device_array(struct ArrowArray *a) {
  if (!a || !a->release) return;
  device_private *d = a->private_data;
  a->release = d->release;
  a->private_data = d->private_data;
  a->release(a);
  weir__cuda_sync_event_free(d->event_holder);
  free(d);
  a->release = NULL;
}

int weir_block_to_arrow_device(const weir_block *b,
                               struct ArrowDeviceArray *array,
                               struct ArrowSchema *schema) {
  if (!b || !array)
    return weir__set_last_error(WEIR_EINVAL,
        "weir_block_to_arrow_device: the block and the array must not be NULL");
  if (!weir__block_on_device(b)) {
    struct ArrowArray a;
    int rc = weir_block_to_arrow(b, &a, schema);
    if (rc) return rc;
    memset(array, 0, sizeof *array);
    array->array = a;
    array->device_type = ARROW_DEVICE_CPU;
    array->device_id = -1;
    return WEIR_OK;
  }
  int device = b->cols[0].device_id;
  for (size_t i = 0; i < b->num_columns; i++) {
    const weir__column *c = &b->cols[i];
    if (c->device != WEIR_DEVICE_CUDA || c->device_id != device)
      return weir__set_last_error(WEIR_EINVAL,
          "arrow device export: column '%s' is on %s %d, column '%s' on CUDA "
          "device %d; an Arrow device array lives on one device (select the "
          "device columns first)", c->name,
          c->device == WEIR_DEVICE_CUDA ? "CUDA device" : "the host, not device",
          c->device == WEIR_DEVICE_CUDA ? c->device_id : device, b->cols[0].name,
          device);
  }
  void *holder;
  int rc = weir__cuda_sync_event_new(b, &holder);
  if (rc) return rc;
  /* The host exporter only takes references and pointers; it never reads
   * the bytes, so a view that calls the columns host columns is safe. */
  weir_block *view = weir__block_alloc(b->num_columns, b->num_rows);
  device_private *d = malloc(sizeof *d);
  if (!view || !d) {
    weir_block_unref(&view);
    free(d);
    weir__cuda_sync_event_free(holder);
    return weir__set_last_error(WEIR_ENOMEM, "arrow device export: out of memory");
  }
  for (size_t i = 0; i < b->num_columns && rc == WEIR_OK; i++) {
    rc = weir__column_share(&view->cols[i], &b->cols[i]);
    view->cols[i].device = WEIR_DEVICE_CPU;
  }
  weir__block_seal(view);
  struct ArrowArray a;
  if (rc == WEIR_OK) rc = weir_block_to_arrow(view, &a, schema);
  weir_block_unref(&view);
  if (rc) {
    free(d);
    weir__cuda_sync_event_free(holder);
    return rc;
  }
  d->release = a.release;
  d->private_data = a.private_data;
  d->event_holder = holder;
  a.release = release_device_array;
  a.private_data = d;
  memset(array, 0, sizeof *array);
  array->array = a;
  array->device_type = ARROW_DEVICE_CUDA;
  array->device_id = device;
  array->sync_event = holder;
  return WEIR_OK;
}
