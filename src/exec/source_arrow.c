/* The Arrow stream source: reads the batches of an ArrowArrayStream one at
 * a time, as the blocks of a single read task. */
#include <stdlib.h>

#include "core/arrow_internal.h"
#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "weir/error.h"

/* The columns of the stream's first batch, without buffers: what every
 * later batch must match. */
typedef struct first_schema {
  weir__column *cols;
  size_t n;
} first_schema;

static void first_schema_clear(first_schema *f) {
  for (size_t i = 0; i < f->n; i++)
    weir__column_clear(&f->cols[i]);
  free(f->cols);
  f->cols = NULL;
  f->n = 0;
}

static int first_schema_take(first_schema *f, const weir_block *b) {
  f->cols = calloc(b->num_columns ? b->num_columns : 1, sizeof *f->cols);
  if (!f->cols)
    return WEIR_ENOMEM;
  for (; f->n < b->num_columns; f->n++)
    if (weir__column_copy_meta(&f->cols[f->n], &b->cols[f->n]))
      return WEIR_ENOMEM;
  return WEIR_OK;
}

/* The C Stream Interface gives a stream one schema, but weir asks
 * get_schema again for every batch (each import consumes its schema), so
 * a producer that changes it mid-stream would otherwise send blocks of
 * another shape downstream, where a concat or a user operator fails with
 * a message that does not point here. Returns the first column that
 * differs, or -1. */
static long schema_differs(const first_schema *f, const weir_block *b, size_t *ncols) {
  *ncols = b->num_columns;
  if (b->num_columns != f->n)
    return (long)(b->num_columns < f->n ? b->num_columns : f->n);
  for (size_t i = 0; i < f->n; i++)
    if (!weir__column_same_schema(&f->cols[i], &b->cols[i]))
      return (long)i;
  return -1;
}

static int read_batches(weir_op *op, weir_emit *out, first_schema *first,
                        const struct ArrowSchema *schema) {
  weir_ctx *ctx = weir_emit_ctx(out);
  for (uint64_t batch = 0;; batch++) {
    if (weir_ctx_cancelled(ctx))
      return WEIR_ECANCELED;
    weir_block *b = NULL;
    int rc = weir__arrow_stream_next_with(op->arrow, schema, &b);
    if (rc == WEIR_EOF)
      return WEIR_OK;
    if (rc != WEIR_OK) {
      /* weir_last_errmsg() already holds the producer's get_last_error()
       * text when a callback failed; for a malformed batch it holds the
       * import's message naming the column, which the producer's (likely
       * stale or empty) text must not replace. */
      weir_ctx_set_errmsg(ctx, "reading the Arrow stream, batch %llu: %s",
                          (unsigned long long)batch, weir_last_errmsg());
      return rc;
    }
    if (batch == 0) {
      rc = first_schema_take(first, b);
      if (rc != WEIR_OK) {
        weir_block_unref(&b);
        weir_ctx_set_errmsg(ctx, "reading the Arrow stream: out of memory");
        return rc;
      }
    } else {
      size_t ncols;
      long c = schema_differs(first, b, &ncols);
      if (c >= 0) {
        weir_ctx_set_errmsg(ctx,
            "reading the Arrow stream: batch %llu changes the stream's schema "
            "(%zu columns, was %zu; column %ld '%s' differs)",
            (unsigned long long)batch, ncols, first->n, c,
            (size_t)c < ncols ? b->cols[c].name : first->cols[c].name);
        weir_block_unref(&b);
        return WEIR_EFORMAT;
      }
    }
    rc = weir_emit_block(out, b);
    if (rc != WEIR_OK)
      return rc;
  }
}

static int arrow_read(void *user, size_t task, weir_emit *out) {
  (void)task;
  weir_op *op = user;
  /* A stream has one schema: asked once, copied for each batch's import
   * (which takes the schema it is given). */
  struct ArrowSchema schema;
  if (!op->arrow->release || !op->arrow->get_schema || !op->arrow->get_next) {
    weir_ctx_set_errmsg(weir_emit_ctx(out), "reading the Arrow stream: a released stream");
    return WEIR_EINVAL;
  }
  int rc = weir__arrow_stream_schema(op->arrow, &schema);
  if (rc != WEIR_OK) {
    weir_ctx_set_errmsg(weir_emit_ctx(out), "reading the Arrow stream: %s", weir_last_errmsg());
    return rc;
  }
  first_schema first = {NULL, 0};
  rc = read_batches(op, out, &first, &schema);
  first_schema_clear(&first);
  if (schema.release)
    schema.release(&schema);
  return rc;
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
