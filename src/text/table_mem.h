/* The memory of a deduplication operator's key tables (the seen keys, the
 * best row per key, their runs' filters and indexes), counted in the
 * pipeline's memory budget as parked bytes in flight: they wait for the
 * input to end and cannot drain on their own, so they slow sources down
 * without being able to hold them back alone (exec/budget.h). A table
 * grows only while the budget has room for it, under the rule that sends
 * held rows to disk (weir__spill_due); past that it spills a sorted run
 * instead, so the tables stay inside the budget whatever their own
 * memory_limit says. */
#ifndef WEIR_TEXT_TABLE_MEM_H
#define WEIR_TEXT_TABLE_MEM_H

#include <stddef.h>

#include "weir/pipeline.h"

typedef struct weir__tabmem {
  weir_pipeline *p;  /* NULL: nothing is counted (tools, unit use) */
  size_t bytes;      /* counted in p's flight and parked bytes now */
  int closed;        /* the run ended: nothing is counted any more */
} weir__tabmem;

/* A run starts: nothing counted yet (a new run starts the pipeline's
 * flight count at zero). */
void weir__tabmem_open(weir__tabmem *m);
/* The run ended (under the pipeline's lock, from the operator's finished
 * hook): gives back what is counted and counts nothing more. */
void weir__tabmem_close_locked(weir__tabmem *m);
/* Counts `n` more bytes when the budget has room for them, or always with
 * `force` (memory the table cannot do without). 1 when counted (or when
 * nothing is counted), 0 when the budget is short: nothing was counted
 * and the caller should spill instead of growing. m may be NULL. */
int  weir__tabmem_take(weir__tabmem *m, size_t n, int force);
/* Gives `n` counted bytes back. m may be NULL. */
void weir__tabmem_give(weir__tabmem *m, size_t n);
/* 1 when the budget is over (in flight past it, or parked bytes past
 * their share): a table that just spilled should shrink. */
int  weir__tabmem_over(weir__tabmem *m);

#endif /* WEIR_TEXT_TABLE_MEM_H */
