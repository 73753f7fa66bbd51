/* Memory for block data: large allocations are mapped from the kernel and
 * returned to it when freed, so resident memory follows the blocks that
 * are alive. */
#ifndef WEIR_CORE_MEM_H
#define WEIR_CORE_MEM_H

#include <stddef.h>

/* Allocations of at least this many bytes are mmap'ed. glibc's malloc
 * would serve them from arenas once its dynamic mmap threshold has risen
 * (it does after the first large frees), and keep them resident after
 * free: a pipeline inside a 64 MiB budget could hold hundreds of MiB. */
#define WEIR__MEM_MAP_MIN ((size_t)1 << 20)

/* 64-byte aligned memory of at least `size` bytes, zero-filled when
 * `zero`; NULL when out of memory. Free with weir__mem_free(). */
void *weir__mem_alloc(size_t size, int zero);
/* Grows or shrinks `p` (NULL: allocates) keeping its contents; on failure
 * returns NULL and leaves `p` as it was. A mapped allocation shrunk by
 * 64 KiB or more gives those pages back in place (same pointer). */
void *weir__mem_realloc(void *p, size_t size);
void weir__mem_free(void *p);
/* A weir__buffer release function for weir__mem memory. */
void weir__buffer_release_mem(void *opaque, void *data, size_t size);

#endif /* WEIR_CORE_MEM_H */
