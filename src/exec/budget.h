/* The memory budget's model: every share of the budget the executor acts
 * on, named here once.
 *
 * The budget (weir_pipeline_options.memory_budget; by default a quarter of
 * physical memory, at most 4 GiB) counts the bytes of blocks in flight:
 * queued between operators, in a worker's hands, gathered for a batch,
 * held back for order, or in the iterator's shuffle buffer (flow.c). Bytes
 * that wait for more input before they can move on are also "parked";
 * they count in flight, but cannot hold a source back on their own.
 *
 * Reading down from the budget:
 *
 *   budget ─┬─ sources stop emitting when in flight + the reserve +
 *           │  the block would pass it (weir__over_budget, flow.c)
 *   9/10 ───┼─ above it, an operator nearer the output with input and a
 *           │  free worker goes first, so memory drains (DRAIN_MARK,
 *           │  worker.c); a source starts a new read task only while a
 *           │  tenth stays free after the reserve (TASK_HEADROOM, worker.c)
 *   0.85 ───┼─ sources' pools do not grow (POLICY_MEMORY_HIGH, the
 *           │  adaptive policy)
 *   3/4 ────┼─ parked bytes past it go to disk (PARK_LIMIT, spill.c): the
 *           │  last quarter stays for the blocks that move
 *   1/2 ────┼─ the reserve for what running calls will emit is at most
 *           │  this (RESERVE_CAP, flow.c), so blocks large against the
 *           │  budget slow sources down rather than make the pipeline run
 *           │  one block at a time
 *   1/4 ────┼─ the iterator's shuffle buffer, at most (SHUFFLE_CAP, iter.c)
 *   1/16 ───┴─ the default target block size, between 1 and 128 MiB
 *              (pipeline.c)
 *
 * Each share is a function of the budget in bytes, computed the way the
 * code always did (integer division first), so figures do not move. */
#ifndef WEIR_EXEC_BUDGET_H
#define WEIR_EXEC_BUDGET_H

#include <stddef.h>

/* The default budget: this share of physical memory, at most the cap. */
#define WEIR__BUDGET_DEFAULT_DEN 4
#define WEIR__BUDGET_DEFAULT_CAP ((size_t)4 << 30)

/* The reserve for the output of running calls, at most. */
static inline size_t weir__budget_reserve_cap(size_t budget) { return budget / 2; }

/* Bytes that must stay free (after the reserve) for a source to start a
 * new read task, so the tasks already running can still emit. */
static inline size_t weir__budget_task_headroom(size_t budget) { return budget / 10; }

/* In flight at or above this, operators nearer the output go first. */
static inline size_t weir__budget_drain_mark(size_t budget) { return budget - budget / 10; }

/* Parked bytes above this are spilled. */
static inline size_t weir__budget_park_limit(size_t budget) { return budget - budget / 4; }

/* The iterator's shuffle buffer, at most. */
static inline size_t weir__budget_shuffle_cap(size_t budget) { return budget / 4; }

/* The default target block size: a sixteenth, within [1 MiB, 128 MiB]. */
static inline size_t weir__budget_block_bytes(size_t budget) {
  size_t b = budget / 16, lo = (size_t)1 << 20, hi = (size_t)128 << 20;
  return b < lo ? lo : b > hi ? hi : b;
}

/* Fill of the budget (in flight / budget) above which the adaptive policy
 * does not grow sources' pools. */
#define WEIR__POLICY_MEMORY_HIGH 0.85

#endif /* WEIR_EXEC_BUDGET_H */
