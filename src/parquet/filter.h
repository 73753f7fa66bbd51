/* The reader's `filter`: conjunctions of `column OP literal`, tested on
 * row-group statistics (to skip row groups) and on decoded rows. */
#ifndef WEIR_PARQUET_FILTER_H
#define WEIR_PARQUET_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"
#include "parquet/parquet_internal.h"

enum { PQF_EQ, PQF_NE, PQF_LT, PQF_LE, PQF_GT, PQF_GE };

typedef struct pq_cond {
  char *column;
  int op;
  int is_string;
  double num;
  char *str;
  size_t str_len;
} pq_cond;

typedef struct pq_filter {
  pq_cond *conds;
  size_t n;
} pq_filter;

int  weir__pq_filter_parse(const char *text, pq_filter *f, char *err, size_t errlen);
void weir__pq_filter_free(pq_filter *f);
/* 0 when the statistics of row group `rg` prove no row matches. */
int  weir__pq_filter_may_match(const pq_filter *f, const pq_file_meta *m, const pq_leaf *leaves,
                               size_t nleaves, size_t rg);
/* 0 when a column holding only the value `s` (NULL: null; an integer
 * `iv` when is_int) in every row can match no row: a partition key's. */
int  weir__pq_filter_const_may_match(const pq_filter *f, const char *column, const char *s,
                                     int is_int, int64_t iv);
/* Fills keep[0..rows) (1 keep); columns by name in `b`. WEIR_EINVAL when
 * a column's type cannot be compared with its literal. */
int  weir__pq_filter_rows(const pq_filter *f, const weir_block *b, uint8_t *keep,
                          char *err, size_t errlen);

#endif /* WEIR_PARQUET_FILTER_H */
