/* Which GPU backend table the executor uses: the build's, or one a test
 * installed (a host-memory stand-in, so CI runs the device paths). */
#include <stdatomic.h>

#include "exec/gpu_backend.h"

static _Atomic(const weir__gpu_backend *) installed;

const weir__gpu_backend *weir__gpu(void) {
  const weir__gpu_backend *b = atomic_load_explicit(&installed, memory_order_acquire);
  return b ? b : weir__gpu_backend_get();
}

void weir__gpu_backend_install(const weir__gpu_backend *b) {
  atomic_store_explicit(&installed, b, memory_order_release);
}
