/* A pool of reusable byte buffers for chunks: memory that was just freed by
 * a parser comes back to the reader already mapped, instead of a fresh
 * allocation whose page faults cost as much as decompressing into it. */
#ifndef WEIR_IO_BUFPOOL_H
#define WEIR_IO_BUFPOOL_H

#include <stddef.h>

#include "core/block_internal.h"

typedef struct weir__bufpool weir__bufpool;

/* A pool keeping at most `max_free` idle buffers. One reference. */
weir__bufpool *weir__bufpool_create(size_t max_free);
/* Drops a reference; the pool goes when the last buffer it lent is back. */
void weir__bufpool_release(weir__bufpool *p);

/* Idle buffers larger than `bytes` are freed rather than kept: one long
 * record must not leave the pool holding memory the budget does not see.
 * 0 = no limit (the default). */
void weir__bufpool_set_max_cap(weir__bufpool *p, size_t bytes);
/* Idle buffers are kept only while their sizes add up to at most `bytes`
 * (0 = no limit): idle memory is outside the budget, so a reader keeps at
 * most a block's worth of it. */
void weir__bufpool_set_max_idle(weir__bufpool *p, size_t bytes);
/* A buffer of at least `size` bytes (weir__mem, from the pool when one
 * fits); `*cap` gets its real size. `p` may be NULL: no pool. */
void *weir__bufpool_get(weir__bufpool *p, size_t size, size_t *cap);
/* Gives a buffer from weir__bufpool_get back without using it. */
void weir__bufpool_put(weir__bufpool *p, void *mem, size_t cap);
/* Wraps `mem` (from weir__bufpool_get, `cap` bytes, `len` of them used) as
 * a weir__buffer that returns it to the pool when the last reference
 * goes. NULL when out of memory (then `mem` was given back). */
weir__buffer *weir__bufpool_wrap(weir__bufpool *p, void *mem, size_t cap,
                                 size_t len);

#endif /* WEIR_IO_BUFPOOL_H */
