/* The pipeline's error: one code and one message, written only here, always
 * together and under the pipeline's mutex; during a run the first failure
 * wins and every later one leaves both as they are. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/block_internal.h"
#include "core/redact.h"
#include "core/check.h"
#include "exec/dist_internal.h"
#include "exec/exec_internal.h"
#include "weir/error.h"

/* The one writer of errcode and errmsg. `msg` is already formatted and
 * redacted. */
static void error_store(weir_pipeline *p, int err, const char *msg) {
  WEIR_LOCK_HELD(&p->mu);
  snprintf(p->errmsg, sizeof p->errmsg, "%s", msg);
  p->errcode = err;
}

/* The one reader for everything else in weir: the message is read where
 * the code is (a failure is final within a run, and a new run clears both
 * before it starts), so its text never changes under a reader. */
const char *weir_pipeline_errmsg(const weir_pipeline *p) {
  return p ? p->errmsg : "no pipeline";
}

void weir__error_clear(weir_pipeline *p) {
  pthread_mutex_lock(&p->mu);
  error_store(p, WEIR_OK, "");
  pthread_mutex_unlock(&p->mu);
}

/* Formats into `msg` (never into p->errmsg itself: callers pass the
 * pipeline's message as an argument to keep the reason of an earlier
 * failure in a chain, and vsnprintf into a buffer it also reads from is
 * undefined behaviour) and removes the secrets of URLs. */
static void format(char *msg, size_t cap, const char *fmt, va_list ap) {
  vsnprintf(msg, cap, fmt, ap);
  weir__redact_urls(msg, cap);
}

weir_op *weir__op_fail(weir_pipeline *p, int err, const char *fmt, ...) {
  char msg[WEIR__ERRMSG_CAP];
  va_list ap;
  va_start(ap, fmt);
  format(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* Also the thread's last error, so that a call without a pipeline to
   * keep the message on (p == NULL) still says why it returned NULL. */
  weir__set_last_error(err, "%s", msg);
  if (!p)
    return NULL;
  pthread_mutex_lock(&p->mu);
  error_store(p, err, msg);
  p->build_failed = 1;
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

int weir__call_fail(const weir_pipeline *cp, int err, const char *fmt, ...) {
  char msg[WEIR__ERRMSG_CAP];
  va_list ap;
  va_start(ap, fmt);
  format(msg, sizeof msg, fmt, ap);
  va_end(ap);
  weir__set_last_error(err, "%s", msg);
  if (!cp)
    return err;
  /* The message and code are not part of the pipeline's value, so a const
   * query records them too; the error that ended a run is kept. */
  weir_pipeline *p = (weir_pipeline *)cp;
  pthread_mutex_lock(&p->mu);
  if (!p->destroyed && p->status == WEIR_OK)
    error_store(p, err, msg);
  pthread_mutex_unlock(&p->mu);
  return err;
}

int weir__run_fail(weir_pipeline *p, int err, const char *fmt, ...) {
  WEIR_LOCK_HELD(&p->mu);
  WEIR_INVARIANT(err < 0 && err != WEIR_EOF, "a run ends in failure with a failure code, not %d",
                 err);
  int won = p->status == WEIR_OK && !atomic_load(&p->ending);
  if (won) {
    char msg[WEIR__ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    format(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->status = err;
    error_store(p, err, msg);
    /* Returned to the caller with weir_pipeline_errmsg(): not printed too. */
    weir__log(p, WEIR_LOG_DEBUG, "%s", msg);
    /* The other ranks may wait on this one (exchanges, the end): they end
     * too, naming it. */
    if (p->dist && err != WEIR_ECANCELED)
      weir__dist_tell_failure(msg);
  }
  atomic_store(&p->ending, 1);
  weir__wake_all(p);
  weir__wake_scheduler(p);
  return won;
}
