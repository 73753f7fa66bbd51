/* A growing, NUL-terminated text built by printf-style appends, for the
 * reports weir composes (Parquet descriptions, the summary of MPI ranks).
 * A failed append (out of memory) sticks: the caller checks `oom` once at
 * the end, then owns `p` (free it either way). */
#ifndef WEIR_CORE_TEXT_BUF_H
#define WEIR_CORE_TEXT_BUF_H

#include <stddef.h>

typedef struct weir__text {
  char *p;
  size_t len, cap;
  int oom;
} weir__text;

void weir__text_put(weir__text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
