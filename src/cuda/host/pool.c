/* The caching memory pool behind device buffers and pinned staging buffers:
 * size classes, free lists and statistics, independent of CUDA. Like every
 * file of cuda/host/, compiled in builds with and without CUDA (CMake's
 * weir_component_sources lists them). */
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "cuda/cuda_internal.h"

/* Classes below 512 bytes are not worth telling apart: every block is at
 * least that big, and device allocations are 256-byte aligned anyway. */
#define MIN_CLASS_LOG2 9

int weir__pool_class(size_t size, size_t *class_size) {
  if (size <= ((size_t)1 << MIN_CLASS_LOG2)) {
    if (class_size) *class_size = (size_t)1 << MIN_CLASS_LOG2;
    return 0;
  }
  int k = 63 - __builtin_clzll((unsigned long long)(size - 1)); /* 2^k < size */
  if (k >= 62) return -1;
  size_t base = (size_t)1 << k, step = base >> 2;
  size_t j = (size - base + step - 1) / step; /* 1..4 */
  int cls = (k - MIN_CLASS_LOG2) * 4 + (int)j;
  if (cls >= WEIR__POOL_CLASSES) return -1;
  if (class_size) *class_size = base + j * step;
  return cls;
}

int weir__pool_init(weir__pool *pool, const weir__pool_ops *ops, size_t limit) {
  if (!pool || !ops || !ops->alloc || !ops->free) return WEIR_EINVAL;
  memset(pool, 0, sizeof *pool);
  if (pthread_mutex_init(&pool->mu, NULL) != 0) return WEIR_ENOMEM;
  pool->ops = *ops;
  pool->limit = limit;
  return WEIR_OK;
}

/* Detaches every cached block under the lock; the caller frees them
 * outside it, because a CUDA free can wait for the device. */
static weir__pool_block *take_all_free(weir__pool *pool) {
  weir__pool_block *all = NULL;
  for (int c = 0; c < WEIR__POOL_CLASSES; c++) {
    while (pool->free_lists[c]) {
      weir__pool_block *b = pool->free_lists[c];
      pool->free_lists[c] = b->next;
      b->next = all;
      all = b;
      pool->stats.reserved_bytes -= b->size;
      pool->stats.trims++;
    }
  }
  return all;
}

static size_t free_blocks(weir__pool *pool, weir__pool_block *list) {
  size_t bytes = 0;
  while (list) {
    weir__pool_block *next = list->next;
    if (pool->ops.forget) pool->ops.forget(pool->ops.user, list);
    pool->ops.free(pool->ops.user, list->ptr, list->size);
    bytes += list->size;
    free(list);
    list = next;
  }
  return bytes;
}

size_t weir__pool_trim(weir__pool *pool) {
  pthread_mutex_lock(&pool->mu);
  weir__pool_block *all = take_all_free(pool);
  pthread_mutex_unlock(&pool->mu);
  return free_blocks(pool, all);
}

void weir__pool_destroy(weir__pool *pool) {
  if (!pool || !pool->ops.alloc) return;
  weir__pool_trim(pool);
  pthread_mutex_destroy(&pool->mu);
  memset(pool, 0, sizeof *pool);
}

/* Reserves `bytes` against the limit; 0 when it would pass it. */
static int reserve(weir__pool *pool, size_t bytes) {
  if (pool->limit && pool->stats.reserved_bytes + bytes > pool->limit) return 0;
  pool->stats.reserved_bytes += bytes;
  if (pool->stats.reserved_bytes > pool->stats.peak_reserved_bytes)
    pool->stats.peak_reserved_bytes = pool->stats.reserved_bytes;
  return 1;
}

int weir__pool_acquire(weir__pool *pool, size_t size, void *stream,
                       weir__pool_block **out) {
  size_t csize;
  int cls = weir__pool_class(size, &csize);
  if (cls < 0) return WEIR_ENOMEM;
  *out = NULL;

  pthread_mutex_lock(&pool->mu);
  weir__pool_block *blk = pool->free_lists[cls];
  if (blk) {
    pool->free_lists[cls] = blk->next;
    blk->next = NULL;
    pool->stats.reuses++;
    pool->stats.in_use_bytes += blk->size;
    pthread_mutex_unlock(&pool->mu);
    if (pool->ops.reuse) {
      int rc = pool->ops.reuse(pool->ops.user, blk, stream);
      if (rc < 0) {
        weir__pool_release(pool, blk);
        return rc;
      }
    }
    *out = blk;
    return WEIR_OK;
  }
  /* A miss: allocate, and when the allocator or the limit says no, give
   * the cached blocks of other classes back and try once more. */
  int reserved = reserve(pool, csize);
  pthread_mutex_unlock(&pool->mu);

  blk = calloc(1, sizeof *blk);
  if (!blk) goto fail;
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!reserved) {
      weir__pool_trim(pool);
      pthread_mutex_lock(&pool->mu);
      reserved = reserve(pool, csize);
      pthread_mutex_unlock(&pool->mu);
      if (!reserved) break;
    }
    blk->ptr = pool->ops.alloc(pool->ops.user, csize);
    if (blk->ptr) break;
    pthread_mutex_lock(&pool->mu);
    pool->stats.reserved_bytes -= csize;
    pthread_mutex_unlock(&pool->mu);
    reserved = 0;
  }
  if (!blk->ptr) goto fail;
  blk->size = csize;
  blk->cls = cls;
  pthread_mutex_lock(&pool->mu);
  pool->stats.system_allocs++;
  pool->stats.in_use_bytes += csize;
  pthread_mutex_unlock(&pool->mu);
  *out = blk;
  return WEIR_OK;

fail:
  if (blk && !blk->ptr && reserved) {
    pthread_mutex_lock(&pool->mu);
    pool->stats.reserved_bytes -= csize;
    pthread_mutex_unlock(&pool->mu);
  }
  free(blk);
  return WEIR_ENOMEM;
}

void weir__pool_release(weir__pool *pool, weir__pool_block *blk) {
  if (!blk) return;
  pthread_mutex_lock(&pool->mu);
  pool->stats.in_use_bytes -= blk->size;
  blk->next = pool->free_lists[blk->cls];
  pool->free_lists[blk->cls] = blk;
  pthread_mutex_unlock(&pool->mu);
}

void weir__pool_get_stats(weir__pool *pool, weir__pool_stats *out) {
  pthread_mutex_lock(&pool->mu);
  *out = pool->stats;
  pthread_mutex_unlock(&pool->mu);
}
