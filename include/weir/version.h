/* Library version: compile-time macros and the run-time string. */
#ifndef WEIR_VERSION_H
#define WEIR_VERSION_H

#include "weir/export.h"

#define WEIR_VERSION_MAJOR 0
#define WEIR_VERSION_MINOR 1
#define WEIR_VERSION_PATCH 0

/* One number that grows with every release, for #if comparisons. */
#define WEIR_VERSION_NUMBER \
  (WEIR_VERSION_MAJOR * 10000 + WEIR_VERSION_MINOR * 100 + WEIR_VERSION_PATCH)

WEIR_BEGIN_DECLS

/* "MAJOR.MINOR.PATCH" of the library actually linked, which may differ from
 * the header's macros when a newer shared library is loaded. Static text. */
WEIR_EXTERN const char *weir_version_string(void);

/* WEIR_VERSION_NUMBER of the library actually linked. */
WEIR_EXTERN unsigned weir_version_number(void);

WEIR_END_DECLS

#endif /* WEIR_VERSION_H */
