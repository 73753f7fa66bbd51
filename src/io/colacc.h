/* Column accumulators: growable, typed arrays that the readers append
 * parsed values to without a call per byte or a malloc per value, and that
 * become a block's columns without copying. */
#ifndef WEIR_IO_COLACC_H
#define WEIR_IO_COLACC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "weir/block.h"

/* One column being built. Types: WEIR_TYPE_BOOL, INT64, FLOAT64, STRING,
 * BINARY, and LIST (elements of `dtype` in `data`, offsets in elements).
 * Values and validity are kept for rows [0, n). */
typedef struct weir__colacc {
  char *name;
  int type;
  int dtype;              /* LIST */
  size_t esize;           /* LIST: bytes of an element; 1 otherwise */
  size_t n, cap;          /* rows, and room for rows */
  uint8_t *valid;         /* one bit a row; NULL until the first null */
  void *vals;             /* int64_t, double, or bit-packed bools */
  int64_t *offs;          /* STRING/BINARY: n + 1 offsets */
  char *data;             /* STRING/BINARY bytes */
  size_t dlen, dcap;
  size_t hint_rows, hint_data; /* sizes of the last block: the next one
                                  starts that big instead of regrowing */
} weir__colacc;

/* `type` may be a schema's list code (weir__schema_list()). */
int  weir__colacc_init(weir__colacc *c, const char *name, int type);
void weir__colacc_free(weir__colacc *c);
/* Makes room for one more row; call before the appends below. */
int  weir__colacc_grow(weir__colacc *c);
/* Makes room for `len` more bytes of string data. */
int  weir__colacc_reserve_data(weir__colacc *c, size_t len);
/* Drops the rows from `n` on (a row that failed to parse). */
void weir__colacc_truncate(weir__colacc *c, size_t n);
int  weir__colacc_null(weir__colacc *c);

void weir__colacc_mark_valid(weir__colacc *c, size_t row);

static inline void weir__colacc_push_i64(weir__colacc *c, int64_t v) {
  ((int64_t *)c->vals)[c->n] = v;
  weir__colacc_mark_valid(c, c->n);
  c->n++;
}
static inline void weir__colacc_push_f64(weir__colacc *c, double v) {
  ((double *)c->vals)[c->n] = v;
  weir__colacc_mark_valid(c, c->n);
  c->n++;
}
static inline void weir__colacc_push_bool(weir__colacc *c, int v) {
  uint8_t *bits = c->vals;
  if (v) bits[c->n >> 3] |= (uint8_t)(1u << (c->n & 7));
  else bits[c->n >> 3] &= (uint8_t)~(1u << (c->n & 7));
  weir__colacc_mark_valid(c, c->n);
  c->n++;
}
/* Ends a string row whose bytes were written at data[dlen...] and counted
 * into dlen by the caller. */
static inline void weir__colacc_end_string(weir__colacc *c) {
  c->offs[c->n + 1] = (int64_t)c->dlen;
  weir__colacc_mark_valid(c, c->n);
  c->n++;
}
static inline int weir__colacc_push_string(weir__colacc *c, const char *s,
                                           size_t len) {
  if (c->dlen + len > c->dcap && weir__colacc_reserve_data(c, len))
    return -1;
  if (len) memcpy(c->data + c->dlen, s, len);
  c->dlen += len;
  weir__colacc_end_string(c);
  return 0;
}

/* LIST: ends a row whose elements were written at data[dlen...] and
 * counted into dlen (bytes) by the caller. */
static inline void weir__colacc_end_list(weir__colacc *c) {
  c->offs[c->n + 1] = (int64_t)(c->dlen / c->esize);
  weir__colacc_mark_valid(c, c->n);
  c->n++;
}

/* A block of the accumulated columns cols[0..ncols), each with the same
 * number of rows; the columns are emptied (their buffers move into the
 * block) and stay ready for more rows. */
int weir__colacc_finish(weir__colacc *cols, size_t ncols, weir_block **out);

#endif /* WEIR_IO_COLACC_H */
