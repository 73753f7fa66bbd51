/* What a checked build does when an invariant fails (core/check.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/check.h"

void weir__invariant_failed(const char *file, int line, const char *cond, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "weir: invariant broken at %s:%d (%s): ", file, line, cond);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fflush(stderr);
  abort();
}
