/* The iterator handle, shared by the plain iterator (iter.c) and the
 * consumers of weir_streaming_split() (iter_split.c). */
#ifndef WEIR_EXEC_ITER_SPLIT_H
#define WEIR_EXEC_ITER_SPLIT_H

#include "weir/block.h"
#include "weir/pipeline.h"

typedef struct weir__split weir__split;

struct weir_iter {
  weir_pipeline *p;
  int ended;
  /* A consumer of a streaming split: its share of the run that `split`
   * holds (p is then NULL). */
  weir__split *split;
  int index;
};

/* weir_iter_next and weir_iter_destroy of a split consumer. */
int weir__split_next(weir_iter *it, weir_block **out);
void weir__split_destroy(weir_iter *it);

#endif
