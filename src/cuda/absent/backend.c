/* The CUDA component in a build without the CUDA toolkit: every GPU entry
 * answers WEIR_ENOTSUP with a message, and device counts are 0. */
#include <stdio.h>

#include "weir/cuda.h"
#include "weir/dlpack.h"
#include "weir/error.h"
#include "core/block_internal.h"
#include "cuda/cuda_internal.h"
#include "exec/gpu_backend.h"

#define NOT_BUILT "this weir was built without CUDA (configure with the CUDA toolkit installed, or -DWEIR_WITH_CUDA=ON)"

int weir_cuda_built(void) { return 0; }

int weir_cuda_device_count(void) { return 0; }

static int check(double num_gpus, char *msg, size_t msg_len) {
  if (msg && msg_len)
    snprintf(msg, msg_len, "operator asks for %g GPU(s), but %s", num_gpus,
             NOT_BUILT);
  return WEIR_ENOTSUP;
}

static int device_count(void) { return 0; }

/* The executor only calls the entries below after check() said yes, which
 * never happens here; they still answer cleanly. */
static int worker_init(int device, void **gpu_worker) {
  (void)device;
  if (gpu_worker) *gpu_worker = NULL;
  return weir__set_last_error(WEIR_ENOTSUP, "GPU worker: %s", NOT_BUILT);
}

static void worker_destroy(void *gpu_worker) { (void)gpu_worker; }

static void *worker_stream(void *gpu_worker) {
  (void)gpu_worker;
  return NULL;
}

static int to_device(void *gpu_worker, weir_block *in, weir_block **out) {
  (void)gpu_worker;
  (void)in;
  if (out) *out = NULL;
  return weir__set_last_error(WEIR_ENOTSUP, "copy to device: %s", NOT_BUILT);
}

static int to_host(weir_block *in, weir_block **out) {
  return weir_cuda_block_to_host(in, out);
}

static int sync_worker(void *gpu_worker) {
  (void)gpu_worker;
  return WEIR_OK;
}

static int mark_worker(void *gpu_worker, int max_pending) {
  (void)gpu_worker;
  (void)max_pending;
  return WEIR_OK;
}

static int lost(void *gpu_worker) {
  (void)gpu_worker;
  return 0;
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

int weir_cuda_tensor_block(weir_ctx *ctx, const char *name, int dtype,
                           int ndim, const int64_t *shape, size_t rows,
                           weir_block **out, void **data) {
  (void)ctx;
  (void)name;
  (void)dtype;
  (void)ndim;
  (void)shape;
  (void)rows;
  if (out) *out = NULL;
  if (data) *data = NULL;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_cuda_tensor_block: %s",
                              NOT_BUILT);
}

/* Without CUDA no block can hold device columns, unless an importer made
 * one; a host block passes as a new reference. */
int weir_cuda_block_to_host(const weir_block *b, weir_block **out) {
  if (!b || !out)
    return weir__set_last_error(WEIR_EINVAL,
                                "weir_cuda_block_to_host: NULL argument");
  if (weir__block_on_device(b)) {
    *out = NULL;
    return weir__set_last_error(WEIR_ENOTSUP,
                                "block has device columns, but %s", NOT_BUILT);
  }
  *out = weir_block_ref((weir_block *)b);
  return WEIR_OK;
}

size_t weir_cuda_empty_cache(void) { return 0; }

int weir_cuda_memory_stats(int device, size_t *reserved, size_t *in_use) {
  (void)device;
  if (reserved) *reserved = 0;
  if (in_use) *in_use = 0;
  return WEIR_ENOTSUP;
}

int weir__normalize_cuda(const uint8_t *in, float *out, size_t n, int h, int w,
                         const weir__normalize_params *p, void *stream) {
  (void)in; (void)out; (void)n; (void)h; (void)w; (void)p; (void)stream;
  return weir__set_last_error(WEIR_ENOTSUP, "normalize kernel: %s", NOT_BUILT);
}

int weir__resize_cuda(const uint8_t *in, uint8_t *out, size_t n, int h, int w,
                      int c, int oh, int ow, void *stream) {
  (void)in; (void)out; (void)n; (void)h; (void)w; (void)c; (void)oh; (void)ow;
  (void)stream;
  return weir__set_last_error(WEIR_ENOTSUP, "resize kernel: %s", NOT_BUILT);
}

int weir__cuda_sync_event_new(const struct weir_block *b, void **holder) {
  (void)b;
  *holder = NULL;
  return weir__set_last_error(WEIR_ENOTSUP,
                              "block has device columns, but %s", NOT_BUILT);
}

void weir__cuda_sync_event_free(void *holder) { (void)holder; }

int weir_cuda_block_record_stream(const weir_block *b, void *stream) {
  if (!b || !stream)
    return weir__set_last_error(WEIR_EINVAL,
                                "weir_cuda_block_record_stream: NULL argument");
  if (weir__block_on_device(b))
    return weir__set_last_error(WEIR_ENOTSUP,
                                "block has device columns, but %s", NOT_BUILT);
  return WEIR_OK; /* host memory needs no ordering */
}

int weir_cuda_loader_create(weir_pipeline *p, weir_iter *it, int device,
                            size_t prefetch, weir_cuda_loader **out) {
  (void)p;
  (void)it;
  (void)device;
  (void)prefetch;
  if (out) *out = NULL;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_cuda_loader_create: %s",
                              NOT_BUILT);
}

int weir_cuda_loader_next(weir_cuda_loader *l, weir_block **out) {
  (void)l;
  if (out) *out = NULL;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_cuda_loader_next: %s",
                              NOT_BUILT);
}

void weir_cuda_loader_destroy(weir_cuda_loader *l) { (void)l; }

int weir_cuda_host_tensor_block(const char *name, int dtype, int ndim,
                                const int64_t *shape, size_t rows,
                                weir_block **out, void **data) {
  (void)name;
  (void)dtype;
  (void)ndim;
  (void)shape;
  (void)rows;
  if (out) *out = NULL;
  if (data) *data = NULL;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_cuda_host_tensor_block: %s",
                              NOT_BUILT);
}

int weir_cuda_device_utilization(int device, double *busy_fraction) {
  (void)device;
  if (busy_fraction) *busy_fraction = 0;
  return weir__set_last_error(WEIR_ENOTSUP, "weir_cuda_device_utilization: %s",
                              NOT_BUILT);
}

/* Without CUDA a block has no device columns to order: the plain exports
 * (which refuse device columns). */
int weir_cuda_column_to_dlpack(const weir_block *b, size_t col, void *stream,
                               struct DLManagedTensor **out) {
  if (!b || !stream || !out)
    return weir__set_last_error(WEIR_EINVAL, "weir_cuda_column_to_dlpack: NULL argument");
  return weir_block_column_to_dlpack(b, col, out);
}

int weir_cuda_block_to_arrow_device(const weir_block *b, void *stream,
                                    struct ArrowDeviceArray *array,
                                    struct ArrowSchema *schema) {
  if (!b || !stream || !array)
    return weir__set_last_error(WEIR_EINVAL,
        "weir_cuda_block_to_arrow_device: NULL argument");
  return weir_block_to_arrow_device(b, array, schema);
}
