/* An operator's input queue: its struct, its invariants, and the check of
 * them, in one place. flow.c owns the queue (weir__enqueue, weir__dequeue,
 * queue_full) and calls weir__queue_check() each time it changes one. */
#ifndef WEIR_EXEC_QUEUE_H
#define WEIR_EXEC_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/check.h"
#include "weir/block.h"

typedef struct weir__qnode {
  struct weir__qnode *next;
  weir_block *b;
  void *spill;               /* held and spilled (b NULL): its store */
  uint64_t origin;           /* the read task it came from (exec_internal.h,
                                WEIR__ORIGIN_MIXED) */
} weir__qnode;

/* Blocks waiting for a worker, bounded in bytes and in blocks; under the
 * pipeline's mutex.
 *
 * Invariants:
 * 1. head == NULL exactly when blocks == 0; then bytes == 0 and
 *    tail == NULL; otherwise tail is the last node.
 * 2. bytes is the sum of weir_block_nbytes() of the queued blocks, and
 *    every one of them is counted in the pipeline's in_flight (a dequeue
 *    leaves the bytes in flight for the taker to subtract).
 * 3. max_blocks > 0. The bounds hold except for one block: an empty queue
 *    takes a block of any size, so a block larger than max_bytes cannot
 *    hang a run; a producer otherwise waits on cv_space (space_waiters
 *    counts it), and nothing is ever dropped to make room.
 * 4. The bounds are set when a run starts (run.c) and stay for the run. */
typedef struct weir__queue {
  weir__qnode *head, *tail;
  size_t blocks, bytes;
  size_t max_bytes, max_blocks;
  pthread_cond_t cv_space;   /* producers wait for room */
  int space_waiters;
} weir__queue;

/* Checks invariant 1 (flow.c checks 2 where bytes are subtracted, with
 * WEIR_SUB, and 3 where a producer asks for room). `name` names the
 * operator in the message. Compiled out of release builds
 * (core/check.h). */
static inline void weir__queue_check(const weir__queue *q, const char *name) {
  WEIR_INVARIANT((q->head == NULL) == (q->blocks == 0) && (q->tail == NULL) == (q->head == NULL) &&
                     (!q->tail || !q->tail->next) && (q->head || q->bytes == 0),
                 "operator '%s': queue of %zu blocks and %zu bytes, head %p, tail %p", name,
                 q->blocks, q->bytes, (void *)q->head, (void *)q->tail);
  (void)q;
  (void)name;
}

#endif /* WEIR_EXEC_QUEUE_H */
