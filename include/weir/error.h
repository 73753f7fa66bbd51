/* Error codes and their descriptions. */
#ifndef WEIR_ERROR_H
#define WEIR_ERROR_H

#include "weir/export.h"

/* The one list of error codes: the enum and weir_strerror() are both made
 * from it, so they cannot drift apart. Codes are never renumbered; new codes
 * are only ever added at the end. */
#define WEIR_ERRNO_MAP(X)                                                     \
  X(OK,         0, "success")                                               \
  X(EOF,       -1, "end of iteration")                                      \
  X(EINVAL,    -2, "invalid argument or pipeline shape")                    \
  X(ENOMEM,    -3, "out of memory")                                         \
  X(EIO,       -4, "input/output error")                                    \
  X(EFORMAT,   -5, "malformed input data")                                  \
  X(ECANCELED, -6, "pipeline cancelled")                                    \
  X(EOPERATOR, -7, "an operator returned an error")                         \
  X(ENOTSUP,   -8, "not supported by this build")                           \
  X(ENODEV,    -9, "no such device")                                        \
  X(ENOTFOUND, -10, "not found")                                            \
  X(ESTALL,    -11, "pipeline stalled")

WEIR_BEGIN_DECLS

enum {
#define WEIR__ERRNO_ENUM(name, value, text) WEIR_##name = (value),
  WEIR_ERRNO_MAP(WEIR__ERRNO_ENUM)
#undef WEIR__ERRNO_ENUM
};

/* A short static description of `err`; never NULL, also for unknown codes. */
WEIR_EXTERN const char *weir_strerror(int err);

/* The symbolic name of `err` ("WEIR_EINVAL"), or "WEIR_EUNKNOWN". */
WEIR_EXTERN const char *weir_err_name(int err);

/* The detailed message of the last failed call made on this thread by a
 * function that has no object to keep it on (weir_block_from_arrow, a
 * function returning a NULL op...); "" when there is none. Thread-local. */
WEIR_EXTERN const char *weir_last_errmsg(void);

/* Sets this thread's weir_last_errmsg() (NULL clears it). An operator's
 * `init`, which has no weir_ctx, calls it before returning an error, and
 * the pipeline's message then says why: "operator 'x': init: <message>".
 * A `process` or `finish` callback may use it too (weir_ctx_set_errmsg()
 * wins when both are set); a weir call that fails inside a callback
 * leaves its own message there, which the run reports the same way.
 * printf-style. */
WEIR_EXTERN void weir_set_last_errmsg(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

WEIR_END_DECLS

#endif /* WEIR_ERROR_H */
