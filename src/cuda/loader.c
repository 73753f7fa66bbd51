/* weir_cuda_loader: batches of an iterator copied to a device on a thread
 * and stream of their own, a few batches ahead of the training loop. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/cuda.h"
#include "weir/error.h"
#include "cuda/cuda_rt.h"
#include "exec/gpu_backend.h"

struct weir_cuda_loader {
  weir_pipeline *p;
  weir_iter *it;
  int device;
  size_t prefetch;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;         /* ring changed, or the loader stopped */
  weir_block **ring;
  size_t head, count;
  int done;                  /* the thread finished: status says why */
  int status;
  int stop;
  char errmsg[512];
};

static void finish(weir_cuda_loader *l, int status, const char *msg) {
  pthread_mutex_lock(&l->mu);
  l->status = status;
  if (msg) snprintf(l->errmsg, sizeof l->errmsg, "%s", msg);
  l->done = 1;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
}

static void *loader_main(void *arg) {
  weir_cuda_loader *l = arg;
  const weir__gpu_backend *g = weir__gpu_backend_get();
  void *w;
  int rc = g->worker_init(l->device, &w);
  if (rc) {
    finish(l, rc, weir_last_errmsg());
    return NULL;
  }
  for (;;) {
    pthread_mutex_lock(&l->mu);
    while (l->count == l->prefetch && !l->stop) pthread_cond_wait(&l->cv, &l->mu);
    int stop = l->stop;
    pthread_mutex_unlock(&l->mu);
    if (stop) {
      finish(l, WEIR_ECANCELED, "the loader was destroyed");
      break;
    }
    weir_block *b, *d;
    rc = weir_iter_next(l->it, &b);
    if (rc) {
      finish(l, rc, rc == WEIR_EOF ? "" : weir_pipeline_errmsg(l->p));
      break;
    }
    /* Uploads on this worker's stream; the batch's ready events fire when
     * they are done, and the caller's stream waits on those, not us. */
    rc = g->to_device(w, b, &d);
    weir_block_unref(&b);
    if (rc) {
      finish(l, rc, weir_last_errmsg());
      break;
    }
    pthread_mutex_lock(&l->mu);
    l->ring[(l->head + l->count) % l->prefetch] = d;
    l->count++;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
  }
  g->worker_destroy(w);
  return NULL;
}

int weir_cuda_loader_create(weir_pipeline *p, weir_iter *it, int device,
                            size_t prefetch, weir_cuda_loader **out) {
  if (!out || !it || !p)
    return weir__set_last_error(WEIR_EINVAL, "weir_cuda_loader_create: NULL argument");
  *out = NULL;
  if (device < 0 || device >= weir_cuda_device_count())
    return weir__set_last_error(WEIR_ENODEV,
        "weir_cuda_loader_create: no CUDA device %d (%d visible)", device,
        weir_cuda_device_count());
  weir_cuda_loader *l = calloc(1, sizeof *l);
  if (!l) return weir__set_last_error(WEIR_ENOMEM, "out of memory");
  l->p = p;
  l->it = it;
  l->device = device;
  l->prefetch = prefetch ? prefetch : 2;
  if (!(l->ring = calloc(l->prefetch, sizeof *l->ring))) {
    free(l);
    return weir__set_last_error(WEIR_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  if (pthread_create(&l->thread, NULL, loader_main, l) != 0) {
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l->ring);
    free(l);
    return weir__set_last_error(WEIR_ENOMEM, "weir_cuda_loader_create: no thread");
  }
  *out = l;
  return WEIR_OK;
}

int weir_cuda_loader_next(weir_cuda_loader *l, weir_block **out) {
  if (!l || !out)
    return weir__set_last_error(WEIR_EINVAL, "weir_cuda_loader_next: NULL argument");
  *out = NULL;
  pthread_mutex_lock(&l->mu);
  while (l->count == 0 && !l->done) pthread_cond_wait(&l->cv, &l->mu);
  int rc;
  if (l->count) {
    *out = l->ring[l->head];
    l->ring[l->head] = NULL;
    l->head = (l->head + 1) % l->prefetch;
    l->count--;
    pthread_cond_broadcast(&l->cv);
    rc = WEIR_OK;
  } else {
    rc = l->status;
    if (rc != WEIR_EOF) weir__set_last_error(rc, "%s", l->errmsg);
  }
  pthread_mutex_unlock(&l->mu);
  return rc;
}

void weir_cuda_loader_destroy(weir_cuda_loader *l) {
  if (!l) return;
  pthread_mutex_lock(&l->mu);
  l->stop = 1;
  int done = l->done;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
  /* A thread waiting in weir_iter_next() for a pipeline that is still
   * running is released by ending the run, as weir_iter_destroy() does. */
  if (!done) weir_pipeline_cancel(l->p);
  pthread_join(l->thread, NULL);
  for (size_t i = 0; i < l->prefetch; i++) weir_block_unref(&l->ring[i]);
  pthread_cond_destroy(&l->cv);
  pthread_mutex_destroy(&l->mu);
  free(l->ring);
  free(l);
}
