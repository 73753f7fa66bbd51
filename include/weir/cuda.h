/* CUDA: device discovery and the built-in GPU operators. */
#ifndef WEIR_CUDA_H
#define WEIR_CUDA_H

#include "weir/export.h"

WEIR_BEGIN_DECLS

/* 1 when this build of weir includes CUDA support, 0 otherwise. */
WEIR_EXTERN int weir_cuda_built(void);

/* Number of usable CUDA devices: 0 when none is present or the build has
 * no CUDA. Does not create a CUDA context. */
WEIR_EXTERN int weir_cuda_device_count(void);

WEIR_END_DECLS

#endif /* WEIR_CUDA_H */
