/* The control tick's reading of the workers' clocks (see tick_clocks.h). */
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "exec/tick_clocks.h"
#include "weir/error.h"

int weir__tick_clocks_copy(weir_pipeline *p, weir__tick_clocks *c) {
  WEIR_LOCK_HELD(&p->mu);
  memset(c, 0, sizeof *c);
  size_t nworkers = 0;
  for (size_t i = 0; i < p->nops; i++)
    for (const weir__worker *w = p->ops[i]->workers; w; w = w->next)
      nworkers += !w->exited;
  c->cpu = calloc(p->nops ? p->nops : 1, sizeof *c->cpu);
  c->runq = calloc(p->nops ? p->nops : 1, sizeof *c->runq);
  c->workers = calloc(nworkers ? nworkers : 1, sizeof *c->workers);
  if (!c->cpu || !c->runq || !c->workers) {
    weir__tick_clocks_free(c);
    return WEIR_ENOMEM;
  }
  c->nops = p->nops;
  for (size_t i = 0; i < p->nops; i++) {
    const weir_op *op = p->ops[i];
    c->cpu[i] = op->cpu_exited;
    c->runq[i] = op->runq_exited;
    for (const weir__worker *w = op->workers; w; w = w->next) {
      if (w->exited)
        continue;
      weir__worker_clock *k = &c->workers[c->nworkers++];
      k->op = i;
      k->clock = w->clock;
      k->has_clock = w->has_clock;
      k->tid = atomic_load(&w->tid);
    }
  }
  return WEIR_OK;
}

void weir__tick_clocks_read(weir__tick_clocks *c) {
  for (size_t j = 0; j < c->nworkers; j++) {
    const weir__worker_clock *k = &c->workers[j];
    struct timespec ts;
    if (k->has_clock && clock_gettime(k->clock, &ts) == 0)
      c->cpu[k->op] += (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    if (k->tid > 0)
      c->runq[k->op] += weir__thread_runq(k->tid);
  }
}

void weir__tick_clocks_free(weir__tick_clocks *c) {
  free(c->cpu);
  free(c->runq);
  free(c->workers);
  memset(c, 0, sizeof *c);
}
