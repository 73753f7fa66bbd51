/* The CPU and run-queue seconds of every operator's workers, for the
 * control tick. Reading another thread's CPU clock and its schedstat file
 * are system calls, two per worker per tick: they are made without the
 * pipeline lock, which every worker takes for every block, from a copy of
 * the workers' clock ids and thread ids taken under it. */
#ifndef WEIR_EXEC_TICK_CLOCKS_H
#define WEIR_EXEC_TICK_CLOCKS_H

#include <stddef.h>
#include <time.h>

#include "exec/exec_internal.h"

typedef struct weir__worker_clock {
  size_t op;                 /* index in p->ops */
  clockid_t clock;
  int has_clock;
  int tid;
} weir__worker_clock;

typedef struct weir__tick_clocks {
  size_t nops;
  double *cpu, *runq;        /* per op (index in p->ops): seconds of every
                                worker it has had, the exited ones
                                included */
  weir__worker_clock *workers;
  size_t nworkers;
} weir__tick_clocks;

/* Under p->mu: starts each op's totals at what its exited workers used and
 * copies the clocks of its live ones. WEIR_ENOMEM leaves `c` empty. */
int weir__tick_clocks_copy(weir_pipeline *p, weir__tick_clocks *c);

/* Without p->mu: adds each copied worker's clocks to its op's totals. A
 * worker that exits meanwhile reads as nothing; its time is in its op's
 * exited total from the next tick on. */
void weir__tick_clocks_read(weir__tick_clocks *c);

void weir__tick_clocks_free(weir__tick_clocks *c);

#endif
