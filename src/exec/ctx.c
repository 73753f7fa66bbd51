/* The context handed to operator callbacks, and the pipeline's logger. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "exec/exec_internal.h"
#include "exec/gpu_backend.h"
#include "weir/error.h"

weir_ctx *weir_emit_ctx(weir_emit *out) { return out ? out->ctx : NULL; }

/* WEIR_EINVAL, not -1 (which reads as WEIR_EOF), for a NULL context or
 * one that belongs to no worker: API.md's rule for functions that fail. */
int weir_ctx_worker(const weir_ctx *ctx) { return ctx && ctx->w ? ctx->w->index : WEIR_EINVAL; }

int weir_ctx_cancelled(const weir_ctx *ctx) {
  if (!ctx || !ctx->op)
    return 0;
  /* Read without the lock: a stale 0 only delays the caller by one poll. */
  return atomic_load(&ctx->op->p->ending) || atomic_load(&ctx->op->stop_flag);
}

const char *weir_ctx_op_name(const weir_ctx *ctx) { return ctx && ctx->op ? ctx->op->name : ""; }

void weir_ctx_set_errmsg(weir_ctx *ctx, const char *fmt, ...) {
  if (!ctx || !fmt)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
  va_end(ap);
  weir__redact_urls(ctx->errmsg, sizeof ctx->errmsg);
  ctx->has_errmsg = 1;
}

void weir_ctx_count_skipped(weir_ctx *ctx, uint64_t rows) {
  if (!ctx || !ctx->op)
    return;
  pthread_mutex_lock(&ctx->op->p->mu);
  ctx->op->st.skipped_rows += rows;
  pthread_mutex_unlock(&ctx->op->p->mu);
}

void weir_ctx_count_skipped_input(weir_ctx *ctx) {
  if (!ctx || !ctx->op)
    return;
  pthread_mutex_lock(&ctx->op->p->mu);
  ctx->op->st.skipped_inputs++;
  pthread_mutex_unlock(&ctx->op->p->mu);
}

/* Under p->mu. A counter that cannot be made (out of memory) is not
 * counted: counting must never fail the operator's call. */
static void counter_add(weir_op *op, const char *name, uint64_t n) {
  for (size_t i = 0; i < op->ncounters; i++)
    if (strcmp(op->counters[i].name, name) == 0) {
      op->counters[i].value += n;
      return;
    }
  if (op->ncounters == op->counters_cap) {
    size_t cap = op->counters_cap ? op->counters_cap * 2 : 8;
    void *c = realloc(op->counters, cap * sizeof *op->counters);
    if (!c)
      return;
    op->counters = c;
    op->counters_cap = cap;
  }
  char *copy = strdup(name);
  if (!copy)
    return;
  op->counters[op->ncounters].name = copy;
  op->counters[op->ncounters].value = n;
  op->ncounters++;
}

void weir__op_count(weir_op *op, const char *name, uint64_t n) {
  pthread_mutex_lock(&op->p->mu);
  counter_add(op, name, n);
  pthread_mutex_unlock(&op->p->mu);
}

void weir_ctx_count(weir_ctx *ctx, const char *name, uint64_t n) {
  if (!ctx || !ctx->op || !name)
    return;
  pthread_mutex_lock(&ctx->op->p->mu);
  counter_add(ctx->op, name, n);
  pthread_mutex_unlock(&ctx->op->p->mu);
}

void weir_ctx_count_dropped(weir_ctx *ctx, const char *reason, uint64_t rows) {
  if (!ctx || !ctx->op)
    return;
  char name[256];
  snprintf(name, sizeof name, "dropped:%s", reason && *reason ? reason : "unspecified");
  pthread_mutex_lock(&ctx->op->p->mu);
  ctx->op->st.dropped_rows += rows;
  counter_add(ctx->op, name, rows);
  pthread_mutex_unlock(&ctx->op->p->mu);
}

void weir_ctx_log(weir_ctx *ctx, int level, const char *fmt, ...) {
  if (!ctx || !ctx->op || !fmt)
    return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  weir__log(ctx->op->p, level, "%s[%d]: %s", ctx->op->name, weir_ctx_worker(ctx), buf);
}

void *weir_ctx_cuda_stream(const weir_ctx *ctx) {
  if (!ctx || !ctx->w || !ctx->w->gpu)
    return NULL;
  return weir__gpu()->worker_stream(ctx->w->gpu);
}

int weir_ctx_device(const weir_ctx *ctx) {
  if (!ctx || !ctx->w || !ctx->w->gpu)
    return -1;
  return ctx->w->device;
}

static const char *level_name(int level) {
  switch (level) {
  case WEIR_LOG_ERROR: return "error";
  case WEIR_LOG_WARN: return "warn";
  case WEIR_LOG_INFO: return "info";
  default: return "debug";
  }
}

void weir__vlog(weir_pipeline *p, int level, const char *fmt, va_list ap) {
  int max = p->opts.log_level < WEIR_LOG_WARN ? WEIR_LOG_WARN : p->opts.log_level;
  if (level > max)
    return;
  char buf[1536];
  vsnprintf(buf, sizeof buf, fmt, ap);
  weir__redact_urls(buf, sizeof buf);
  if (p->opts.log_fn)
    p->opts.log_fn(p->opts.log_user, level, buf);
  else {
    char line[1600];
    snprintf(line, sizeof line, "weir %s: %s", level_name(level), buf);
    weir__term_write_line(p, line);
  }
}

void weir__log_text(weir_pipeline *p, int level, const char *text) {
  /* Asked for by an option (the summary): not filtered by log_level. */
  for (const char *s = text; *s;) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t)(nl - s) : strlen(s);
    if (p->opts.log_fn) {
      char line[1024];
      snprintf(line, sizeof line, "%.*s", (int)n, s);
      p->opts.log_fn(p->opts.log_user, level, line);
    } else {
      char line[1024];
      snprintf(line, sizeof line, "%.*s", (int)n, s);
      weir__term_write_line(p, line);
    }
    s += n + (nl ? 1 : 0);
  }
}

void weir__log(weir_pipeline *p, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  weir__vlog(p, level, fmt, ap);
  va_end(ap);
}
