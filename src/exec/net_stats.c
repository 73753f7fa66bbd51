/* Network retries in an operator's statistics: a request remembers the
 * operator whose worker made it, and the engine reports each retry here
 * from its loop (exec/net_backend.h). */
#include "exec/exec_internal.h"
#include "exec/net_backend.h"

static _Thread_local weir_op *t_op;

void weir__exec_set_thread_op(weir_op *op) { t_op = op; }

void *weir__net_current_op(void) { return t_op; }

void weir__net_count_retry(void *opv, const char *what) {
  weir_op *op = opv;
  if (!op)
    return;
  weir_pipeline *p = op->p;
  pthread_mutex_lock(&p->mu);
  op->st.retries++;
  weir__log(p, WEIR_LOG_INFO, "operator '%s': network retry: %s", op->name, what);
  pthread_mutex_unlock(&p->mu);
}
