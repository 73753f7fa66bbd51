/* weir_repartition_by_key's parts shared by its one-process meaning
 * (repartition_key.c) and the exchange between MPI ranks (exchange.c). */
#ifndef WEIR_EXEC_REPARTITION_H
#define WEIR_EXEC_REPARTITION_H

#include "weir/pipeline.h"

typedef struct weir__by_key {
  char *column;
  int partitions;  /* >= 1 */
} weir__by_key;

/* Cuts `in` (borrowed) into one block per partition present, each with its
 * rows in input order, and hands each to `piece_fn(arg, piece, partition)`,
 * which takes it; an empty block or a single partition pass `in` whole
 * (a new reference) as partition 0. The errors (a missing key column, a
 * column without keys) carry a message on `out`'s context. */
int weir__split_by_key(const weir__by_key *k, weir_block *in, weir_emit *out,
                       int (*piece_fn)(void *, weir_block *, int), void *arg);

/* weir_repartition_by_key on several MPI ranks (exchange.c): takes `k`,
 * freed with `k_free`. */
weir_op *weir__exchange_by_key(weir_pipeline *p, weir_op *in, weir__by_key *k,
                               void (*k_free)(void *));

#endif
