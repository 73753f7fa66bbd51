/* The Arrow stream source: reads the batches of an ArrowArrayStream one at
 * a time, as the blocks of a single read task. */
#include <stdlib.h>

#include "exec/exec_internal.h"
#include "weir/error.h"

static int arrow_read(void *user, size_t task, weir_emit *out) {
  (void)task;
  weir_op *op = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  for (;;) {
    if (weir_ctx_cancelled(ctx))
      return WEIR_ECANCELED;
    weir_block *b = NULL;
    int rc = weir_arrow_stream_next(op->arrow, &b);
    if (rc == WEIR_EOF)
      return WEIR_OK;
    if (rc != WEIR_OK) {
      const char *why = NULL;
      if (op->arrow->get_last_error)
        why = op->arrow->get_last_error(op->arrow);
      weir_ctx_set_errmsg(ctx, "reading the Arrow stream: %s",
                          why ? why : weir_last_errmsg());
      return rc;
    }
    rc = weir_emit_block(out, b);
    if (rc != WEIR_OK)
      return rc;
  }
}

weir_op *weir_source_arrow_stream(weir_pipeline *p, const char *name,
                                  struct ArrowArrayStream *stream) {
  if (!stream)
    return p ? weir__op_fail(p, WEIR_EINVAL, "arrow source: NULL stream") : NULL;
  struct ArrowArrayStream *s = malloc(sizeof *s);
  if (!s) {
    if (stream->release)
      stream->release(stream);
    return p ? weir__op_fail(p, WEIR_ENOMEM, "out of memory") : NULL;
  }
  *s = *stream;
  stream->release = NULL; /* moved in */
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.max_workers = 1;
  o.preserve_order = 1;
  weir_op *op = p ? weir_source(p, name ? name : "arrow_stream", 1, arrow_read, NULL, &o) : NULL;
  if (!op) {
    if (s->release)
      s->release(s);
    free(s);
    return NULL;
  }
  op->user = op;
  op->arrow = s;
  return op;
}
