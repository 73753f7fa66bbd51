/* CUDA device discovery, the error mapping, and the per-device memory
 * pools (device memory and pinned host staging memory). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "weir/cuda.h"
#include "weir/error.h"
#include "cuda/cuda_rt.h"

int weir_cuda_built(void) { return 1; }

/* Devices whose context hit a sticky error: every later call on them fails
 * the same way until the process exits. */
static atomic_int lost_devices[WEIR__CUDA_MAX_DEVICES];

static int sticky(cudaError_t err) {
  switch (err) {
  case cudaErrorIllegalAddress:
  case cudaErrorLaunchFailure:
  case cudaErrorLaunchTimeout:
  case cudaErrorHardwareStackError:
  case cudaErrorIllegalInstruction:
  case cudaErrorMisalignedAddress:
  case cudaErrorInvalidAddressSpace:
  case cudaErrorInvalidPc:
  case cudaErrorAssert:
  case cudaErrorECCUncorrectable:
  case cudaErrorNvlinkUncorrectable:
  case cudaErrorContextIsDestroyed:
    return 1;
  default:
    return 0;
  }
}

int weir__cuda_device_lost(int device) {
  return device >= 0 && device < WEIR__CUDA_MAX_DEVICES &&
         atomic_load(&lost_devices[device]);
}

int weir__cuda_fail(cudaError_t err, const char *what) {
  if (sticky(err)) {
    /* The thread's current device is the one whose work failed: workers
     * and copies select it before queuing. */
    int dev = -1;
    cudaGetDevice(&dev);
    if (dev >= 0 && dev < WEIR__CUDA_MAX_DEVICES) atomic_store(&lost_devices[dev], 1);
    return weir__set_last_error(WEIR_ENODEV,
        "%s: CUDA error %d (%s): %s; CUDA device %d is lost (a sticky error: "
        "its context stays unusable until the process exits)", what, (int)err,
        cudaGetErrorName(err), cudaGetErrorString(err), dev);
  }
  int code;
  switch (err) {
  case cudaErrorMemoryAllocation:
    code = WEIR_ENOMEM;
    break;
  case cudaErrorNoDevice:
  case cudaErrorInsufficientDriver:
  case cudaErrorInvalidDevice:
  case cudaErrorDevicesUnavailable:
  case cudaErrorSystemDriverMismatch:
  case cudaErrorCompatNotSupportedOnDevice:
  case cudaErrorNoKernelImageForDevice:
  case cudaErrorStartupFailure:
    code = WEIR_ENODEV;
    break;
  default:
    code = WEIR_EOPERATOR;
  }
  /* Clears a non-sticky error so the next call does not report it again. */
  cudaGetLastError();
  return weir__set_last_error(code, "%s: CUDA error %d (%s): %s", what,
                              (int)err, cudaGetErrorName(err),
                              cudaGetErrorString(err));
}

/* ---- Discovery ----------------------------------------------------------
 * cudaGetDeviceCount loads the driver but creates no context; the answer
 * is cached, also when it is an error (no driver, no device), which the
 * runtime reports without crashing. */
static pthread_once_t count_once = PTHREAD_ONCE_INIT;
static int count_value;
static cudaError_t count_error = cudaSuccess;

static void count_devices(void) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    count_error = e;
    n = 0;
    cudaGetLastError();
  }
  if (n > WEIR__CUDA_MAX_DEVICES) n = WEIR__CUDA_MAX_DEVICES;
  count_value = n;
}

int weir_cuda_device_count(void) {
  pthread_once(&count_once, count_devices);
  return count_value;
}

int weir__cuda_check(double num_gpus, char *msg, size_t msg_len) {
  char dummy[1];
  if (!msg || !msg_len) {
    msg = dummy;
    msg_len = sizeof dummy;
  }
  if (!(num_gpus > 0) || !isfinite(num_gpus)) {
    snprintf(msg, msg_len, "num_gpus must be a positive number, not %g",
             num_gpus);
    return WEIR_EINVAL;
  }
  int n = weir_cuda_device_count();
  if (n == 0) {
    if (count_error != cudaSuccess)
      snprintf(msg, msg_len,
               "no CUDA device is visible (cudaGetDeviceCount: %s: %s)",
               cudaGetErrorName(count_error), cudaGetErrorString(count_error));
    else
      snprintf(msg, msg_len, "no CUDA device is visible");
    return WEIR_ENODEV;
  }
  /* A worker runs on one device; asking for more than the machine has
   * can never be satisfied. */
  if (num_gpus > (double)n) {
    snprintf(msg, msg_len,
             "operator asks for %g GPUs per worker but only %d CUDA device%s "
             "visible", num_gpus, n, n == 1 ? " is" : "s are");
    return WEIR_ENODEV;
  }
  if (msg_len) msg[0] = '\0';
  return WEIR_OK;
}

/* ---- Pools --------------------------------------------------------------
 * The pool callbacks switch to the pool's device and back, because they
 * run on whichever thread allocates or frees. */
typedef struct device_slot {
  int ready;
  weir__pool pool;
} device_slot;

static pthread_mutex_t pools_mu = PTHREAD_MUTEX_INITIALIZER;
static device_slot devices[WEIR__CUDA_MAX_DEVICES];
static int pinned_ready;
static weir__pool pinned;

static void *dev_alloc(void *user, size_t size) {
  int device = (int)(intptr_t)user, old = -1;
  void *p = NULL;
  cudaGetDevice(&old);
  if (old != device && cudaSetDevice(device) != cudaSuccess) {
    cudaGetLastError();
    return NULL;
  }
  if (cudaMalloc(&p, size) != cudaSuccess) {
    cudaGetLastError();
    p = NULL;
  }
  if (old >= 0 && old != device) cudaSetDevice(old);
  return p;
}

static void dev_free(void *user, void *ptr, size_t size) {
  (void)size;
  int device = (int)(intptr_t)user, old = -1;
  cudaGetDevice(&old);
  if (old != device) cudaSetDevice(device);
  /* cudaFree waits for the device, so no queued work still uses ptr. */
  cudaFree(ptr);
  if (old >= 0 && old != device) cudaSetDevice(old);
}

static void dev_forget(void *user, weir__pool_block *blk) {
  (void)user;
  if (blk->event) cudaEventDestroy((cudaEvent_t)blk->event);
  blk->event = NULL;
}

/* Stream-ordered reuse: a block released after work on another stream is
 * handed out only after that work, by a wait queued on the new stream (the
 * host does not wait). */
static int dev_reuse(void *user, weir__pool_block *blk, void *stream) {
  (void)user;
  int fenced = blk->fenced;
  void *fence_stream = blk->fence_stream;
  blk->fenced = 0;
  blk->fence_stream = NULL;
  if (fenced && fence_stream != stream) {
    cudaError_t e = cudaStreamWaitEvent((cudaStream_t)stream,
                                        (cudaEvent_t)blk->event, 0);
    if (e != cudaSuccess) return weir__cuda_fail(e, "device pool: ordering a reused buffer");
  }
  return 0;
}

static void *pinned_alloc(void *user, size_t size) {
  (void)user;
  void *p = NULL;
  /* Portable: any device's stream may copy from it. */
  if (cudaHostAlloc(&p, size, cudaHostAllocPortable) != cudaSuccess) {
    cudaGetLastError();
    return NULL;
  }
  return p;
}

static void pinned_free(void *user, void *ptr, size_t size) {
  (void)user;
  (void)size;
  cudaFreeHost(ptr);
}

weir__pool *weir__cuda_device_pool(int device) {
  if (device < 0 || device >= weir_cuda_device_count()) return NULL;
  pthread_mutex_lock(&pools_mu);
  device_slot *d = &devices[device];
  if (!d->ready) {
    weir__pool_ops ops = {dev_alloc, dev_free, dev_forget, dev_reuse,
                          (void *)(intptr_t)device};
    if (weir__pool_init(&d->pool, &ops, 0) == WEIR_OK) d->ready = 1;
  }
  pthread_mutex_unlock(&pools_mu);
  return d->ready ? &d->pool : NULL;
}

weir__pool *weir__cuda_pinned_pool(void) {
  pthread_mutex_lock(&pools_mu);
  if (!pinned_ready) {
    weir__pool_ops ops = {pinned_alloc, pinned_free, NULL, NULL, NULL};
    if (weir__pool_init(&pinned, &ops, 0) == WEIR_OK) pinned_ready = 1;
  }
  pthread_mutex_unlock(&pools_mu);
  return pinned_ready ? &pinned : NULL;
}

size_t weir_cuda_empty_cache(void) {
  size_t bytes = 0;
  int n = weir_cuda_device_count();
  for (int i = 0; i < n; i++) {
    pthread_mutex_lock(&pools_mu);
    int ready = devices[i].ready;
    pthread_mutex_unlock(&pools_mu);
    if (ready) bytes += weir__pool_trim(&devices[i].pool);
  }
  pthread_mutex_lock(&pools_mu);
  int pr = pinned_ready;
  pthread_mutex_unlock(&pools_mu);
  if (pr) bytes += weir__pool_trim(&pinned);
  return bytes;
}

int weir_cuda_memory_stats(int device, size_t *reserved, size_t *in_use) {
  if (reserved) *reserved = 0;
  if (in_use) *in_use = 0;
  if (device < 0 || device >= weir_cuda_device_count())
    return weir__set_last_error(WEIR_ENODEV,
                                "weir_cuda_memory_stats: no CUDA device %d",
                                device);
  pthread_mutex_lock(&pools_mu);
  int ready = devices[device].ready;
  pthread_mutex_unlock(&pools_mu);
  if (!ready) return WEIR_OK;
  weir__pool_stats st;
  weir__pool_get_stats(&devices[device].pool, &st);
  if (reserved) *reserved = st.reserved_bytes;
  if (in_use) *in_use = st.in_use_bytes;
  return WEIR_OK;
}
