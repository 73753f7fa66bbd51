/* DLPack export of TENSOR columns, for handing tensors to frameworks
 * (PyTorch, JAX, CuPy...) without a copy. Only pointers to DLPack's types
 * appear here, so this header does not need <dlpack/dlpack.h>; include that
 * yourself to read the tensor. */
#ifndef WEIR_DLPACK_H
#define WEIR_DLPACK_H

#include <stddef.h>

#include "weir/export.h"

WEIR_BEGIN_DECLS

struct weir_block;
struct DLManagedTensor;

/* Exports TENSOR column `col` of `b` as a DLPack tensor of shape
 * [num_rows, shape...], zero-copy, on the host or on the CUDA device where
 * the column lives. The tensor holds a reference to the column's buffer
 * until its deleter is called (once, by the consumer, on any thread).
 * Borrows `b`. WEIR_EINVAL if the column is not a TENSOR column or has
 * nulls. `data` points at row 0 (byte_offset 0, also for slices), strides
 * are given explicitly (row-major, in elements), BFLOAT16 is kDLBfloat.
 * For a CUDA column, wait on the column's `ready_event` (weir_column)
 * before reading on another stream: DLPack 0.6 carries no stream. The
 * deleter gives device memory back to weir's pool at once, where the next
 * request may reuse it: call it only once the work reading the tensor is
 * done, or export with weir_cuda_column_to_dlpack() (weir/cuda.h), whose
 * release waits for the consumer's stream. Pinned host memory (from
 * weir_cuda_host_tensor_block, or a copy back from a device) is exported
 * as kDLCUDAHost. */
WEIR_EXTERN int weir_block_column_to_dlpack(const struct weir_block *b,
                                            size_t col,
                                            struct DLManagedTensor **out);

WEIR_END_DECLS

#endif /* WEIR_DLPACK_H */
