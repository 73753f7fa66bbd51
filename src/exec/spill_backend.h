/* The seam between the executor and the spill store of the I/O component:
 * operators that must hold more blocks than the memory budget allows move
 * them to local disk through this table, without the executor including an
 * io header. Like the GPU backend (exec/gpu_backend.h): the I/O component
 * implements weir__spill_backend_get() (src/io/spill_backend.c), a test
 * may install a table of its own, and the executor reaches the store only
 * through weir__spill_ops(). */
#ifndef WEIR_EXEC_SPILL_BACKEND_H
#define WEIR_EXEC_SPILL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"

typedef struct weir__spill_backend {
  /* A new, empty first-in first-out store in `dir` (NULL = $WEIR_SPILL_DIR,
   * else $TMPDIR, else /tmp). On failure `err` says why and names the
   * folder. */
  int (*create)(void **store, const char *dir, char *err, size_t errlen);
  /* Writes `b` (borrowed) at the end of the queue. On failure
   * errmsg(store) says why and names the file. */
  int (*push)(void *store, const weir_block *b);
  /* The oldest block back: WEIR_OK, WEIR_EOF when empty, or an error. */
  int (*pop)(void *store, weir_block **out);
  size_t (*count)(const void *store);      /* blocks queued */
  uint64_t (*bytes)(const void *store);    /* block bytes queued */
  const char *(*errmsg)(const void *store);
  void (*destroy)(void *store);            /* accepts NULL */
} weir__spill_backend;

/* The table of the I/O component. */
const weir__spill_backend *weir__spill_backend_get(void);

/* The table the executor uses: the installed one, else the build's. */
const weir__spill_backend *weir__spill_ops(void);
/* Tests only: makes the executor use `b` (NULL: the build's table again).
 * Install before creating pipelines; not while one runs. */
void weir__spill_backend_install(const weir__spill_backend *b);

#endif /* WEIR_EXEC_SPILL_BACKEND_H */
