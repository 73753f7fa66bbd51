/* The version of the library actually linked. */
#include "weir/version.h"

#define WEIR__STR2(x) #x
#define WEIR__STR(x) WEIR__STR2(x)

const char *weir_version_string(void) {
  return WEIR__STR(WEIR_VERSION_MAJOR) "." WEIR__STR(WEIR_VERSION_MINOR) "."
      WEIR__STR(WEIR_VERSION_PATCH);
}

unsigned weir_version_number(void) { return WEIR_VERSION_NUMBER; }
