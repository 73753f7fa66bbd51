/* Pool control on the scheduler's tick: keeps each pool's threads at its
 * target size (starting workers, joining those that left). */
#include "exec/exec_internal.h"
#include "weir/error.h"

int weir__initial_workers(weir_pipeline *p, weir_op *op) {
  (void)p;
  return op->workers_min;
}

static void keep_pool(weir_pipeline *p, weir_op *op) {
  pthread_mutex_lock(&p->mu);
  int grow = !atomic_load(&p->ending) && !op->closed && !op->eof && !op->finished &&
             op->kind != WEIR__OP_ITERSINK;
  while (grow && op->live - op->retiring < op->target) {
    if (weir__pool_spawn(op) != WEIR_OK)
      break;
  }
  pthread_mutex_unlock(&p->mu);
  weir__pool_join(op, 0);
}

void weir__control_tick(weir_pipeline *p) {
  for (size_t i = 0; i < p->nops; i++)
    if (p->ops[i]->active)
      keep_pool(p, p->ops[i]);
}
