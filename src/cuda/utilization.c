/* GPU busy fraction from NVML, loaded at run time so that weir neither
 * links nor requires it: the share of the last sample period (1/6 s to 1 s
 * depending on the device) in which a kernel was running. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "weir/cuda.h"
#include "weir/error.h"
#include "cuda/cuda_rt.h"

/* nvml.h's NVML_ERROR_NOT_SUPPORTED; weir does not include nvml.h. */
#define NVML_ERROR_NOT_SUPPORTED 3

typedef struct nvml_utilization {
  unsigned int gpu, memory;
} nvml_utilization;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int nvml_ok;
static int (*nvml_by_bus_id)(const char *, void **);
static int (*nvml_utilization_rates)(void *, nvml_utilization *);

static void open_nvml(void) {
  void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return;
  int (*init)(void);
  *(void **)&init = dlsym(lib, "nvmlInit_v2");
  *(void **)&nvml_by_bus_id = dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2");
  *(void **)&nvml_utilization_rates = dlsym(lib, "nvmlDeviceGetUtilizationRates");
  if (!init || !nvml_by_bus_id || !nvml_utilization_rates || init() != 0) return;
  nvml_ok = 1; /* the library stays loaded for the process */
}

int weir_cuda_device_utilization(int device, double *busy_fraction) {
  if (!busy_fraction)
    return weir__set_last_error(WEIR_EINVAL, "weir_cuda_device_utilization: NULL argument");
  *busy_fraction = 0;
  if (device < 0 || device >= weir_cuda_device_count())
    return weir__set_last_error(WEIR_ENODEV, "no CUDA device %d", device);
  pthread_once(&once, open_nvml);
  if (!nvml_ok)
    return weir__set_last_error(WEIR_ENOTSUP,
        "GPU utilisation needs NVML (libnvidia-ml.so.1, part of the driver)");
  /* CUDA and NVML number devices differently (CUDA_VISIBLE_DEVICES, the
   * order); the PCI bus id names the same device in both. */
  char bus[32];
  cudaError_t e = cudaDeviceGetPCIBusId(bus, (int)sizeof bus, device);
  if (e != cudaSuccess) return weir__cuda_fail(e, "reading the device's PCI bus id");
  void *handle;
  nvml_utilization u;
  int r = nvml_by_bus_id(bus, &handle);
  if (r == 0) r = nvml_utilization_rates(handle, &u);
  /* A MIG instance (and some virtual GPUs) has no utilisation counter:
   * NVML says "not supported", which is what this is, not an I/O fault. */
  if (r == NVML_ERROR_NOT_SUPPORTED)
    return weir__set_last_error(WEIR_ENOTSUP,
        "NVML does not report the utilisation of %s (a MIG instance, or a "
        "virtual GPU, has no such counter)", bus);
  if (r != 0)
    return weir__set_last_error(WEIR_EIO,
        "NVML could not read the utilisation of %s (NVML error %d)", bus, r);
  *busy_fraction = u.gpu / 100.0;
  return WEIR_OK;
}
