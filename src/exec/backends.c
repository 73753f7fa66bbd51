/* Which backend tables the executor uses: the build's, or one a test
 * installed (for the GPU, a host-memory stand-in, so CI runs the device
 * paths). The GPU and spill tables are registered the same way. */
#include <stdatomic.h>

#include "exec/gpu_backend.h"
#include "exec/spill_backend.h"

static _Atomic(const weir__gpu_backend *) installed;

const weir__gpu_backend *weir__gpu(void) {
  const weir__gpu_backend *b = atomic_load_explicit(&installed, memory_order_acquire);
  return b ? b : weir__gpu_backend_get();
}

void weir__gpu_backend_install(const weir__gpu_backend *b) {
  atomic_store_explicit(&installed, b, memory_order_release);
}

static _Atomic(const weir__spill_backend *) spill_installed;

const weir__spill_backend *weir__spill_ops(void) {
  const weir__spill_backend *b = atomic_load_explicit(&spill_installed, memory_order_acquire);
  return b ? b : weir__spill_backend_get();
}

void weir__spill_backend_install(const weir__spill_backend *b) {
  atomic_store_explicit(&spill_installed, b, memory_order_release);
}
