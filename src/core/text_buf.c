/* weir__text: see text_buf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/text_buf.h"

void weir__text_put(weir__text *t, const char *fmt, ...) {
  if (t->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->oom = 1;
      return;
    }
    if (t->p && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = t->cap ? t->cap : 1024;
    while (cap <= t->len + (size_t)n) cap *= 2;
    char *np = realloc(t->p, cap);
    if (!np) {
      t->oom = 1;
      return;
    }
    t->p = np;
    t->cap = cap;
  }
}
