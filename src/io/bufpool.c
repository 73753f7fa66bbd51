/* Reusable chunk buffers shared between a reader and the blocks it lends
 * them to. They come from weir__mem (mapped when large), not malloc: once
 * glibc has freed one large mapping it serves buffers of that size from
 * its heaps and keeps them resident after free, past the budget. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/mem.h"
#include "io/bufpool.h"

typedef struct idle {
  void *mem;
  size_t cap;
} idle;

struct weir__bufpool {
  atomic_long refs;
  pthread_mutex_t mu;
  idle *free;
  size_t nfree, max_free;
  size_t max_cap;      /* idle buffers above this are freed; 0 = any */
  size_t idle_bytes;   /* capacity of the idle buffers */
  size_t max_idle;     /* idle_bytes stays at most this; 0 = any */
};

/* The capacity of a buffer is remembered next to it, in a header, so the
 * release callback (which only sees the data pointer) can file it. */
typedef struct lent {
  weir__bufpool *pool;
  size_t cap;
} lent;

weir__bufpool *weir__bufpool_create(size_t max_free) {
  weir__bufpool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->free = calloc(max_free ? max_free : 1, sizeof *p->free);
  if (!p->free) {
    free(p);
    return NULL;
  }
  atomic_init(&p->refs, 1);
  pthread_mutex_init(&p->mu, NULL);
  p->max_free = max_free;
  return p;
}

void weir__bufpool_set_max_cap(weir__bufpool *p, size_t bytes) {
  if (p) p->max_cap = bytes;
}

void weir__bufpool_set_max_idle(weir__bufpool *p, size_t bytes) {
  if (p) p->max_idle = bytes;
}

void weir__bufpool_release(weir__bufpool *p) {
  if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
  for (size_t i = 0; i < p->nfree; i++) weir__mem_free(p->free[i].mem);
  free(p->free);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

void *weir__bufpool_get(weir__bufpool *p, size_t size, size_t *cap) {
  if (p) {
    pthread_mutex_lock(&p->mu);
    /* Take an idle buffer that fits without wasting more than half. */
    for (size_t i = 0; i < p->nfree; i++) {
      if (p->free[i].cap >= size && p->free[i].cap / 2 <= size) {
        idle it = p->free[i];
        p->free[i] = p->free[--p->nfree];
        p->idle_bytes -= it.cap;
        pthread_mutex_unlock(&p->mu);
        *cap = it.cap;
        return it.mem;
      }
    }
    pthread_mutex_unlock(&p->mu);
  }
  void *m = weir__mem_alloc(size ? size : 1, 0);
  *cap = size;
  return m;
}

void weir__bufpool_put(weir__bufpool *p, void *mem, size_t cap) {
  if (!mem) return;
  if (p) {
    pthread_mutex_lock(&p->mu);
    if (p->nfree < p->max_free && (!p->max_cap || cap <= p->max_cap) &&
        (!p->max_idle || p->idle_bytes + cap <= p->max_idle)) {
      p->free[p->nfree].mem = mem;
      p->free[p->nfree].cap = cap;
      p->nfree++;
      p->idle_bytes += cap;
      mem = NULL;
    }
    pthread_mutex_unlock(&p->mu);
  }
  weir__mem_free(mem);
}

static void give_back(void *opaque, void *data, size_t size) {
  (void)size;
  lent *l = opaque;
  weir__bufpool_put(l->pool, data, l->cap);
  weir__bufpool_release(l->pool);
  free(l);
}

weir__buffer *weir__bufpool_wrap(weir__bufpool *p, void *mem, size_t cap,
                                 size_t len) {
  lent *l = malloc(sizeof *l);
  if (!l) {
    weir__bufpool_put(p, mem, cap);
    return NULL;
  }
  l->pool = p;
  l->cap = cap;
  if (p) atomic_fetch_add(&p->refs, 1);
  weir__buffer *b = weir__buffer_wrap(mem, len, give_back, l);
  if (!b) give_back(l, mem, len);
  return b;
}
