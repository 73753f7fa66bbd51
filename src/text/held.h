/* Rows a barrier operator holds until its input ends (MinHash, exact dedup
 * by priority), in input order: in memory while the executor's memory
 * budget allows, counted there as bytes in flight (parked: they wait for
 * more input), then in a spill file. */
#ifndef WEIR_TEXT_HELD_H
#define WEIR_TEXT_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "io/spill.h"
#include "weir/block.h"
#include "weir/pipeline.h"

typedef struct weir__held {
  weir_block **mem;          /* held in memory: mem[head..n) */
  size_t n, head, cap;
  size_t bytes;              /* of mem[head..n), counted in flight */
  size_t limit;              /* the operator's own cap on `bytes`; 0 = none */
  weir__spill *spill;        /* once a block spilled, every later one does
                                (input order is memory, then the file) */
  const char *spill_dir;     /* borrowed */
  uint64_t rows_spilled;
} weir__held;

/* Holds `b` (borrowed: a reference is taken, or it is written to disk).
 * Called on the operator's worker; takes the pipeline's lock briefly. */
int  weir__held_push(weir__held *h, weir_block *b, weir_ctx *ctx);
/* The oldest held block (the caller owns it), WEIR_EOF when none is
 * left, or an error with the context's message set. */
int  weir__held_pop(weir__held *h, weir_ctx *ctx, weir_block **out);
/* Drops what is held, for a new run or the operator's end. The bytes are
 * not taken out of the flight count: a new run starts it at zero, and a
 * run that failed is over. */
void weir__held_clear(weir__held *h);

#endif /* WEIR_TEXT_HELD_H */
