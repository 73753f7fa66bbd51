/* DLPack and Arrow device exports for a consumer's stream: the stream waits
 * for the data, and the memory's release waits for the stream. */
#include <dlpack/dlpack.h>

#include "weir/cuda.h"
#include "weir/dlpack.h"
#include "weir/error.h"
#include "cuda/cuda_rt.h"

int weir_cuda_column_to_dlpack(const weir_block *b, size_t col, void *stream,
                               struct DLManagedTensor **out) {
  if (!b || !stream || !out)
    return weir__set_last_error(WEIR_EINVAL, "weir_cuda_column_to_dlpack: NULL argument");
  /* The plain export checks the column first, so a refused export
   * declares nothing. */
  int rc = weir_block_column_to_dlpack(b, col, out);
  if (rc) return rc;
  rc = weir__cuda_column_consumer(&b->cols[col], (cudaStream_t)stream);
  if (rc) {
    (*out)->deleter(*out);
    *out = NULL;
  }
  return rc;
}

int weir_cuda_block_to_arrow_device(const weir_block *b, void *stream,
                                    struct ArrowDeviceArray *array,
                                    struct ArrowSchema *schema) {
  if (!b || !stream || !array)
    return weir__set_last_error(WEIR_EINVAL,
        "weir_cuda_block_to_arrow_device: NULL argument");
  for (size_t i = 0; i < b->num_columns; i++) {
    int rc = weir__cuda_column_consumer(&b->cols[i], (cudaStream_t)stream);
    if (rc) return rc;
  }
  return weir_block_to_arrow_device(b, array, schema);
}
