/* The Arrow C Stream Interface: a list of blocks exported as an
 * ArrowArrayStream, and blocks read one at a time from any producer's
 * stream. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/arrow_internal.h"

typedef struct stream_private {
  weir_block **blocks;
  size_t n;
  size_t next;
  char errmsg[512];
} stream_private;

static int stream_fail(stream_private *p, int weir_err) {
  snprintf(p->errmsg, sizeof p->errmsg, "%s", weir_last_errmsg());
  return weir__arrow_errno_of(weir_err);
}

static int stream_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  if (!st || !st->release || !out) return EINVAL;
  stream_private *p = st->private_data;
  /* An empty stream has no block to take the schema from; it describes
   * itself as a struct of no columns. */
  const weir_block *b = p->n ? p->blocks[0] : weir_block_empty();
  int rc = weir__block_export_schema(b, out);
  return rc ? stream_fail(p, rc) : 0;
}

static int stream_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  if (!st || !st->release || !out) return EINVAL;
  stream_private *p = st->private_data;
  if (p->next >= p->n) {
    memset(out, 0, sizeof *out); /* release == NULL marks the end */
    return 0;
  }
  int rc = weir__block_export_array(p->blocks[p->next], out);
  if (rc) return stream_fail(p, rc);
  /* The exported array holds the buffers; the stream need not keep the
   * block, so memory is freed as the consumer goes. Block 0 stays for
   * get_schema. */
  if (p->next > 0) weir_block_unref(&p->blocks[p->next]);
  p->next++;
  return 0;
}

static const char *stream_get_last_error(struct ArrowArrayStream *st) {
  if (!st || !st->private_data) return NULL;
  stream_private *p = st->private_data;
  return p->errmsg[0] ? p->errmsg : NULL;
}

static void stream_release(struct ArrowArrayStream *st) {
  if (!st || !st->release) return;
  stream_private *p = st->private_data;
  for (size_t i = 0; i < p->n; i++) weir_block_unref(&p->blocks[i]);
  free(p->blocks);
  free(p);
  st->release = NULL;
  st->private_data = NULL;
}

static int same_schema(const weir_block *a, const weir_block *b) {
  if (a->num_columns != b->num_columns) return 0;
  for (size_t i = 0; i < a->num_columns; i++)
    if (!weir__column_same_schema(&a->cols[i], &b->cols[i])) return 0;
  return 1;
}

int weir_blocks_to_arrow_stream(weir_block *const *blocks, size_t n,
                                struct ArrowArrayStream *out) {
  if (!out || (n && !blocks))
    return weir__set_last_error(WEIR_EINVAL,
        "weir_blocks_to_arrow_stream: NULL blocks or output stream");
  for (size_t i = 0; i < n; i++) {
    if (!blocks[i])
      return weir__set_last_error(WEIR_EINVAL,
          "weir_blocks_to_arrow_stream: block %zu is NULL", i);
    int rc = weir__block_check_exportable(blocks[i]);
    if (rc) return rc;
    if (!same_schema(blocks[0], blocks[i]))
      return weir__set_last_error(WEIR_EINVAL,
          "weir_blocks_to_arrow_stream: block %zu has other columns than block 0", i);
  }
  stream_private *p = calloc(1, sizeof *p);
  if (p && n) p->blocks = malloc(n * sizeof *p->blocks);
  if (!p || (n && !p->blocks)) {
    free(p);
    return weir__set_last_error(WEIR_ENOMEM, "arrow stream: out of memory");
  }
  for (size_t i = 0; i < n; i++) p->blocks[i] = weir_block_ref(blocks[i]);
  p->n = n;
  out->get_schema = stream_get_schema;
  out->get_next = stream_get_next;
  out->get_last_error = stream_get_last_error;
  out->release = stream_release;
  out->private_data = p;
  return WEIR_OK;
}

/* The producer's own message for a failed callback, or its errno text. */
static int producer_error(struct ArrowArrayStream *st, const char *what, int err) {
  const char *msg = st->get_last_error ? st->get_last_error(st) : NULL;
  return weir__set_last_error(err == ENOMEM ? WEIR_ENOMEM : WEIR_EIO,
                              "arrow stream: %s failed (%s): %s", what, strerror(err),
                              msg ? msg : "no message from the producer");
}

/* ---- Deep copies of a schema: an import takes the schema it is given --- */

static size_t metadata_len(const char *m) {
  if (!m)
    return 0;
  int32_t n;
  memcpy(&n, m, 4);
  size_t len = 4;
  for (int32_t i = 0; i < n; i++)
    for (int kv = 0; kv < 2; kv++) {
      int32_t l;
      memcpy(&l, m + len, 4);
      len += 4 + (size_t)l;
    }
  return len;
}

static void copy_release(struct ArrowSchema *s) {
  for (int64_t i = 0; i < s->n_children; i++)
    if (s->children[i]->release)
      s->children[i]->release(s->children[i]);
  for (int64_t i = 0; i < s->n_children; i++)
    free(s->children[i]);
  free(s->children);
  if (s->dictionary) {
    if (s->dictionary->release)
      s->dictionary->release(s->dictionary);
    free(s->dictionary);
  }
  free((char *)s->format);
  free((char *)s->name);
  free((char *)s->metadata);
  s->release = NULL;
}

static int schema_copy(const struct ArrowSchema *src, struct ArrowSchema *dst) {
  memset(dst, 0, sizeof *dst);
  dst->release = copy_release;
  dst->flags = src->flags;
  size_t ml = metadata_len(src->metadata);
  if (!(dst->format = strdup(src->format ? src->format : "")) ||
      (src->name && !(dst->name = strdup(src->name))) ||
      (ml && !(dst->metadata = malloc(ml))))
    goto fail;
  if (ml)
    memcpy((char *)dst->metadata, src->metadata, ml);
  if (src->n_children > 0) {
    dst->children = calloc((size_t)src->n_children, sizeof *dst->children);
    if (!dst->children)
      goto fail;
    for (int64_t i = 0; i < src->n_children; i++) {
      dst->children[i] = malloc(sizeof *dst->children[i]);
      if (!dst->children[i])
        goto fail;
      dst->n_children = i + 1;
      if (schema_copy(src->children[i], dst->children[i]) != WEIR_OK)
        goto fail;
    }
  }
  if (src->dictionary) {
    dst->dictionary = malloc(sizeof *dst->dictionary);
    if (!dst->dictionary || schema_copy(src->dictionary, dst->dictionary) != WEIR_OK)
      goto fail;
  }
  return WEIR_OK;
fail:
  copy_release(dst);
  return WEIR_ENOMEM;
}

int weir__arrow_stream_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out) {
  memset(out, 0, sizeof *out);
  int err = stream->get_schema(stream, out);
  return err ? producer_error(stream, "get_schema", err) : WEIR_OK;
}

int weir__arrow_stream_next_with(struct ArrowArrayStream *stream,
                                 const struct ArrowSchema *schema, weir_block **out) {
  *out = NULL;
  struct ArrowArray array;
  memset(&array, 0, sizeof array);
  int err = stream->get_next(stream, &array);
  if (err) return producer_error(stream, "get_next", err);
  if (!array.release) return WEIR_EOF;
  struct ArrowSchema copy;
  if (schema_copy(schema, &copy) != WEIR_OK) {
    array.release(&array);
    return weir__set_last_error(WEIR_ENOMEM, "arrow stream: out of memory copying the schema");
  }
  return weir_block_from_arrow(&array, &copy, out);
}

int weir_arrow_stream_next(struct ArrowArrayStream *stream, weir_block **out) {
  if (out) *out = NULL;
  if (!stream || !out || !stream->release || !stream->get_next || !stream->get_schema)
    return weir__set_last_error(WEIR_EINVAL,
        "weir_arrow_stream_next: NULL or released stream, or NULL output");
  struct ArrowArray array;
  memset(&array, 0, sizeof array);
  int err = stream->get_next(stream, &array);
  if (err) return producer_error(stream, "get_next", err);
  if (!array.release) return WEIR_EOF;
  /* Each batch is imported with its own copy of the schema, because the
   * import takes (and releases) the schema it is given. */
  struct ArrowSchema schema;
  memset(&schema, 0, sizeof schema);
  err = stream->get_schema(stream, &schema);
  if (err) {
    array.release(&array);
    return producer_error(stream, "get_schema", err);
  }
  return weir_block_from_arrow(&array, &schema, out);
}
