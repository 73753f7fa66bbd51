/* The Arrow C Device Data Interface
 * (https://arrow.apache.org/docs/format/CDeviceDataInterface.html), as the
 * Arrow project defines it, and the export of blocks whose columns live on
 * a CUDA device. */
#ifndef WEIR_ARROW_DEVICE_H
#define WEIR_ARROW_DEVICE_H

#include <stdint.h>

#include "weir/export.h"
#include "weir/arrow_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DEVICE_DATA_INTERFACE
#define ARROW_C_DEVICE_DATA_INTERFACE

/* Device type for the allocated memory */
typedef int32_t ArrowDeviceType;

/* CPU device, same as using ArrowArray directly instead of ArrowDeviceArray */
#define ARROW_DEVICE_CPU 1
/* CUDA GPU Device */
#define ARROW_DEVICE_CUDA 2
/* Pinned CUDA CPU memory by cudaMallocHost */
#define ARROW_DEVICE_CUDA_HOST 3
/* OpenCL Device */
#define ARROW_DEVICE_OPENCL 4
/* Vulkan buffer for next-gen graphics */
#define ARROW_DEVICE_VULKAN 7
/* Metal for Apple GPU */
#define ARROW_DEVICE_METAL 8
/* Verilog simulator buffer */
#define ARROW_DEVICE_VPI 9
/* ROCm GPUs for AMD GPUs */
#define ARROW_DEVICE_ROCM 10
/* Pinned ROCm CPU memory allocated by hipMallocHost */
#define ARROW_DEVICE_ROCM_HOST 11
/* Reserved for extension */
#define ARROW_DEVICE_EXT_DEV 12
/* CUDA managed/unified memory allocated by cudaMallocManaged */
#define ARROW_DEVICE_CUDA_MANAGED 13
/* unified shared memory allocated on a oneAPI non-partitioned device. */
#define ARROW_DEVICE_ONEAPI 14
/* GPU support for next-gen WebGPU standard. */
#define ARROW_DEVICE_WEBGPU 15
/* Qualcomm Hexagon DSP */
#define ARROW_DEVICE_HEXAGON 16

struct ArrowDeviceArray {
  /* the Allocated Array */
  struct ArrowArray array;
  /* The device id to identify a specific device */
  int64_t device_id;
  /* The type of device which can access this memory. */
  ArrowDeviceType device_type;
  /* An event-like object to synchronize on if needed. */
  void *sync_event;
  /* Reserved bytes for future expansion. */
  int64_t reserved[3];
};

#endif /* ARROW_C_DEVICE_DATA_INTERFACE */

#ifdef __cplusplus
}
#endif

WEIR_BEGIN_DECLS

struct weir_block;

/* Exports `b` as an Arrow device array without copying, like
 * weir_block_to_arrow() (same layout, same schema, TENSOR columns as
 * `arrow.fixed_shape_tensor`). A block whose columns are all on the host
 * gives device_type ARROW_DEVICE_CPU and sync_event NULL. A block with
 * device columns must have every column on the same CUDA device (select
 * the tensor columns first: strings and numbers stay on the host): it
 * gives ARROW_DEVICE_CUDA, the device's index, and a sync_event pointing to
 * a cudaEvent_t that fires once every column's data is written; the
 * consumer waits on it (cudaStreamWaitEvent) before reading. The event
 * lives until the array is released. Releasing the array gives device
 * memory back to weir's pool at once: release it only once the work reading
 * it is done, or export with weir_cuda_block_to_arrow_device() (weir/cuda.h),
 * whose release waits for the consumer's stream. WEIR_EINVAL for a mixed block,
 * WEIR_ENOTSUP for device columns in a build without CUDA. On error
 * neither output is touched. Borrows `b`. */
WEIR_EXTERN int weir_block_to_arrow_device(const struct weir_block *b,
                                           struct ArrowDeviceArray *array,
                                           struct ArrowSchema *schema);

WEIR_END_DECLS

#endif /* WEIR_ARROW_DEVICE_H */
