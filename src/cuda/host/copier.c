/* Parallel host copies into pinned staging buffers: one thread's memcpy
 * moves far less than a PCIe 5 link, so large chunks are split between
 * the caller and a few helper threads shared by all stream workers. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda/cuda_internal.h"

/* Parts below this are copied by the caller alone: waking a helper costs
 * more than it saves. */
#define MIN_PART ((size_t)512 << 10)
#define MAX_HELPERS 8

typedef struct copy_part {
  struct copy_part *next;
  void *dst;
  const void *src;
  size_t n;
  struct copy_group *group;
} copy_part;

typedef struct copy_group {
  int pending;               /* parts not yet copied, under mu */
  pthread_cond_t done;
} copy_group;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static copy_part *queue_head, *queue_tail;
static int helpers;

static void *helper_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (!queue_head) pthread_cond_wait(&work, &mu);
    copy_part *p = queue_head;
    queue_head = p->next;
    if (!queue_head) queue_tail = NULL;
    pthread_mutex_unlock(&mu);
    memcpy(p->dst, p->src, p->n);
    pthread_mutex_lock(&mu);
    if (--p->group->pending == 0) pthread_cond_signal(&p->group->done);
  }
  return NULL;
}

/* A child of fork() has none of the helpers: it copies alone. */
static void after_fork_child(void) {
  pthread_mutex_init(&mu, NULL);
  pthread_cond_init(&work, NULL);
  queue_head = queue_tail = NULL;
  helpers = 0;
}

/* WEIR_CUDA_COPY_THREADS sets the number of helpers (0: copy alone);
 * the default is a quarter of the cores, at most 3. Helpers are detached
 * and idle on a condition variable when there is nothing to copy. */
static void start_helpers(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int n = cores >= 8 ? (int)(cores / 4) : 0;
  if (n > 3) n = 3;
  const char *env = getenv("WEIR_CUDA_COPY_THREADS");
  if (env && *env) n = atoi(env);
  if (n < 0) n = 0;
  if (n > MAX_HELPERS) n = MAX_HELPERS;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < n; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, helper_main, NULL) != 0) break;
    helpers++;
  }
  pthread_attr_destroy(&attr);
  pthread_atfork(NULL, NULL, after_fork_child);
}

/* Helpers started, for tests. */
int weir__copy_helpers(void) {
  pthread_once(&once, start_helpers);
  return helpers;
}

void weir__cuda_parallel_copy(void *dst, const void *src, size_t n) {
  pthread_once(&once, start_helpers);
  int parts = helpers + 1;
  if ((size_t)parts > n / MIN_PART) parts = (int)(n / MIN_PART);
  if (parts <= 1) {
    memcpy(dst, src, n);
    return;
  }
  /* Parts of equal size, 4 KiB aligned, the caller's part last. */
  size_t part = (n / (size_t)parts + 4095) & ~(size_t)4095;
  copy_part ps[MAX_HELPERS];
  copy_group g = {0};
  pthread_cond_init(&g.done, NULL);
  size_t off = 0;
  int queued = 0;
  pthread_mutex_lock(&mu);
  for (int i = 0; i < parts - 1 && off + part < n; i++, off += part) {
    ps[i] = (copy_part){NULL, (char *)dst + off, (const char *)src + off, part, &g};
    if (queue_tail) queue_tail->next = &ps[i];
    else queue_head = &ps[i];
    queue_tail = &ps[i];
    queued++;
  }
  g.pending = queued;
  if (queued) pthread_cond_broadcast(&work);
  pthread_mutex_unlock(&mu);
  memcpy((char *)dst + off, (const char *)src + off, n - off);
  pthread_mutex_lock(&mu);
  while (g.pending) pthread_cond_wait(&g.done, &mu);
  pthread_mutex_unlock(&mu);
  pthread_cond_destroy(&g.done);
}
