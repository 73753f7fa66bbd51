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
 * until its deleter is called (once, by the consumer). Borrows `b`.
 * WEIR_EINVAL if the column is not a TENSOR column or has nulls. */
WEIR_EXTERN int weir_block_column_to_dlpack(const struct weir_block *b,
                                            size_t col,
                                            struct DLManagedTensor **out);

WEIR_END_DECLS

#endif /* WEIR_DLPACK_H */
