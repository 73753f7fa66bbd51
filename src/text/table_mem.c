/* Key tables counted in the pipeline's memory budget (text/table_mem.h):
 * the bytes go in flight and in the parked share under the pipeline's
 * lock, like the rows a barrier holds (text/held.c). */
#include "text/table_mem.h"

#include "exec/exec_internal.h"

void weir__tabmem_open(weir__tabmem *m) {
  m->bytes = 0;
  m->closed = 0;
}

void weir__tabmem_close_locked(weir__tabmem *m) {
  if (!m->p || m->closed)
    return;
  weir__park(m->p, 0, m->bytes);
  weir__flight_sub(m->p, m->bytes);
  m->bytes = 0;
  m->closed = 1;
}

int weir__tabmem_take(weir__tabmem *m, size_t n, int force) {
  if (!m || !m->p)
    return 1;
  weir_pipeline *p = m->p;
  pthread_mutex_lock(&p->mu);
  int ok = force || m->closed || !weir__spill_due(p, n, 0);
  if (ok && !m->closed && n) {
    weir__flight_add(p, n);
    weir__park(p, n, 0);
    m->bytes += n;
  }
  pthread_mutex_unlock(&p->mu);
  return ok;
}

void weir__tabmem_give(weir__tabmem *m, size_t n) {
  if (!m || !m->p || !n)
    return;
  weir_pipeline *p = m->p;
  pthread_mutex_lock(&p->mu);
  if (!m->closed) {
    WEIR_SUB(m->bytes, n, "counted bytes of a key table");
    weir__park(p, 0, n);
    weir__flight_sub(p, n);
  }
  pthread_mutex_unlock(&p->mu);
}

int weir__tabmem_over(weir__tabmem *m) {
  if (!m || !m->p)
    return 0;
  weir_pipeline *p = m->p;
  pthread_mutex_lock(&p->mu);
  int over = !m->closed && weir__spill_due(p, 0, 1);
  pthread_mutex_unlock(&p->mu);
  return over;
}
