/* The executor's spill backend (exec/spill_backend.h) on top of the spill
 * store of io/spill.h. */
#include "exec/spill_backend.h"
#include "io/spill.h"

static int sb_create(void **store, const char *dir, char *err, size_t errlen) {
  weir__spill *s = NULL;
  int rc = weir__spill_create(&s, dir, err, errlen);
  *store = s;
  return rc;
}

static int sb_push(void *store, const weir_block *b) { return weir__spill_push(store, b); }
static int sb_pop(void *store, weir_block **out) { return weir__spill_pop(store, out); }
static size_t sb_count(const void *store) { return weir__spill_count(store); }
static uint64_t sb_bytes(const void *store) { return weir__spill_mem_bytes(store); }
static const char *sb_errmsg(const void *store) { return weir__spill_errmsg(store); }
static void sb_destroy(void *store) { weir__spill_destroy(store); }

static const weir__spill_backend backend = {sb_create, sb_push,   sb_pop,    sb_count,
                                            sb_bytes,  sb_errmsg, sb_destroy};

const weir__spill_backend *weir__spill_backend_get(void) { return &backend; }
