/* Byte accounting of blocks that share buffers: how much of an output
 * block is memory its input already holds, so the budget counts it once. */
#include "core/block_internal.h"
#include "exec/exec_internal.h"

static size_t bitmap_bytes(size_t n) { return (n + 7) / 8; }

/* The bytes weir_block_nbytes() gives column `c`, as core/block.c counts. */
static size_t column_bytes(const weir__column *c) {
  size_t n = c->validity ? bitmap_bytes(c->length) : 0;
  switch (c->type) {
  case WEIR_TYPE_BOOL:
    return n + bitmap_bytes(c->length);
  case WEIR_TYPE_STRING:
  case WEIR_TYPE_BINARY:
  case WEIR_TYPE_LIST:
    return n + (c->length + 1) * sizeof(int64_t) +
           (c->offsets ? (size_t)(c->offsets[c->length] - c->offsets[0]) *
                             weir__column_value_unit(c)
                       : 0);
  default:
    return n + c->length * weir__column_row_bytes(c);
  }
}

size_t weir__shared_bytes(const weir_block *out, const weir_block *in) {
  if (!out || !in)
    return 0;
  if (out == in)
    return out->nbytes;
  size_t shared = 0;
  for (size_t i = 0; i < out->num_columns; i++) {
    const weir__column *c = &out->cols[i];
    if (!c->data_buf)
      continue;
    for (size_t j = 0; j < in->num_columns; j++)
      if (in->cols[j].data_buf == c->data_buf) {
        shared += column_bytes(c);
        break;
      }
  }
  return shared;
}

size_t weir__largest_row(const weir_block *b, size_t *row) {
  size_t best = 0, fixed = 0;
  *row = 0;
  for (size_t i = 0; i < b->num_columns; i++) {
    const weir__column *c = &b->cols[i];
    if (c->type != WEIR_TYPE_STRING && c->type != WEIR_TYPE_BINARY)
      fixed += c->type == WEIR_TYPE_BOOL ? 1 : weir__column_row_bytes(c);
  }
  for (size_t r = 0; r < b->num_rows; r++) {
    size_t n = fixed;
    for (size_t i = 0; i < b->num_columns; i++) {
      const weir__column *c = &b->cols[i];
      if ((c->type == WEIR_TYPE_STRING || c->type == WEIR_TYPE_BINARY) && c->offsets)
        n += sizeof(int64_t) + (size_t)(c->offsets[r + 1] - c->offsets[r]);
    }
    if (n > best) {
      best = n;
      *row = r;
    }
  }
  return best;
}
