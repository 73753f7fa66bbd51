/* CLD2 in a build without libcld2: not available. */
#include "text/cld2/cld2.h"
#include "weir/error.h"

int weir__cld2_available(void) { return 0; }

int weir__cld2_detect(const char *s, size_t len, const char *codes[3], int percent[3]) {
  (void)s, (void)len;
  for (int i = 0; i < 3; i++) {
    codes[i] = "un";
    percent[i] = 0;
  }
  return WEIR_ENOTSUP;
}
