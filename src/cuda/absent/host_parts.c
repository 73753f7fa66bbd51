/* Compiles the CUDA component's host-only parts (memory pool bookkeeping,
 * CPU image kernels, the built-in operators) in builds without CUDA, so the
 * CPU fallbacks work everywhere. */
#include "cuda/host/pool.c"
#include "cuda/host/image_cpu.c"
#include "cuda/host/ops.c"
#include "cuda/host/arrow_device.c"
#include "cuda/host/copier.c"
