/* Error descriptions and the thread-local detail message of the last error. */
#include <stdarg.h>
#include <stdio.h>

#include "core/redact.h"
#include "weir/error.h"
#include "core/block_internal.h"

const char *weir_strerror(int err) {
  switch (err) {
#define WEIR__ERRNO_TEXT(name, value, text) case WEIR_##name: return text;
    WEIR_ERRNO_MAP(WEIR__ERRNO_TEXT)
#undef WEIR__ERRNO_TEXT
  }
  return "unknown error";
}

const char *weir_err_name(int err) {
  switch (err) {
#define WEIR__ERRNO_NAME(name, value, text) case WEIR_##name: return "WEIR_" #name;
    WEIR_ERRNO_MAP(WEIR__ERRNO_NAME)
#undef WEIR__ERRNO_NAME
  }
  return "WEIR_EUNKNOWN";
}

int weir__err_is_failure(int err) {
  switch (err) {
#define WEIR__ERRNO_CASE(name, value, text) case WEIR_##name:
    WEIR_ERRNO_MAP(WEIR__ERRNO_CASE)
#undef WEIR__ERRNO_CASE
    return err != WEIR_OK && err != WEIR_EOF;
  }
  return 0;
}

/* Functions without an object to carry a message (imports, NULL-returning
 * constructors) leave it here, per thread, like errno. */
static _Thread_local char last_errmsg[512];

const char *weir_last_errmsg(void) { return last_errmsg; }

int weir__set_last_error(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_errmsg, sizeof last_errmsg, fmt, ap);
  va_end(ap);
  weir__redact_urls(last_errmsg, sizeof last_errmsg);
  return err;
}

void weir_set_last_errmsg(const char *fmt, ...) {
  if (!fmt) {
    last_errmsg[0] = '\0';
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_errmsg, sizeof last_errmsg, fmt, ap);
  va_end(ap);
  weir__redact_urls(last_errmsg, sizeof last_errmsg);
}
