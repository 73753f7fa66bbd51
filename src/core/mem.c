/* Block data memory: small allocations from malloc, large ones mapped, both
 * behind a header that records which, so one free call handles either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/mem.h"

/* The header fills one 64-byte line, so the data after it keeps the
 * 64-byte alignment of the allocation. */
typedef struct mem_header {
  size_t capacity;   /* bytes usable after the header */
  int mapped;        /* 1: mmap'ed (capacity + header is the mapping) */
  char pad[64 - sizeof(size_t) - sizeof(int)];
} mem_header;

_Static_assert(sizeof(mem_header) == 64, "the header keeps data 64-byte aligned");

static mem_header *header_of(void *p) { return (mem_header *)p - 1; }

static size_t page_round(size_t n) {
  size_t page = 4096;
  return (n + page - 1) & ~(page - 1);
}

static void *alloc_raw(size_t size, int zero) {
  if (size > SIZE_MAX - 2 * sizeof(mem_header) - 4096) return NULL;
  mem_header *h;
  if (size >= WEIR__MEM_MAP_MIN) {
    size_t total = page_round(size + sizeof *h);
    void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    h = m; /* fresh mappings are zero-filled */
    h->capacity = total - sizeof *h;
    h->mapped = 1;
  } else {
    size_t total = (size + sizeof *h + 63) & ~(size_t)63;
    h = aligned_alloc(64, total);
    if (!h) return NULL;
    if (zero) memset(h + 1, 0, total - sizeof *h);
    h->capacity = total - sizeof *h;
    h->mapped = 0;
  }
  return h + 1;
}

void *weir__mem_alloc(size_t size, int zero) { return alloc_raw(size, zero); }

void *weir__mem_realloc(void *p, size_t size) {
  if (!p) return alloc_raw(size, 0);
  mem_header *h = header_of(p);
  if (h->mapped && size <= h->capacity) {
    /* Shrinking a mapping is cheap and in place: a buffer that grew by
     * doubling gives back the pages it will not use, so the block that
     * takes it holds what it counts. */
    size_t total = page_round(size + sizeof *h);
    size_t have = h->capacity + sizeof *h;
    if (have - total >= ((size_t)64 << 10) &&
        mremap(h, have, total, 0) != MAP_FAILED) {
      h->capacity = total - sizeof *h;
    }
    return p;
  }
  if (size <= h->capacity && size < WEIR__MEM_MAP_MIN) return p;
  if (h->mapped && size >= WEIR__MEM_MAP_MIN) {
    size_t total = page_round(size + sizeof *h);
    void *m = mremap(h, h->capacity + sizeof *h, total, MREMAP_MAYMOVE);
    if (m == MAP_FAILED) return NULL;
    h = m;
    h->capacity = total - sizeof *h;
    return h + 1;
  }
  void *q = alloc_raw(size, 0);
  if (!q) return NULL;
  memcpy(q, p, h->capacity < size ? h->capacity : size);
  weir__mem_free(p);
  return q;
}

void weir__mem_free(void *p) {
  if (!p) return;
  mem_header *h = header_of(p);
  if (h->mapped)
    munmap(h, h->capacity + sizeof *h);
  else
    free(h);
}

void weir__buffer_release_mem(void *opaque, void *data, size_t size) {
  (void)opaque;
  (void)size;
  weir__mem_free(data);
}
