/* weir_read_text and weir_read_binary: lines of text files as a `text`
 * column, and whole files as `path` and `bytes`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/io.h"
#include "core/block_internal.h"
#include "core/utf8.h"
#include "core/mem.h"
#include "exec/exec_internal.h"
#include "io/chunker.h"
#include "io/codec.h"
#include "io/colacc.h"
#include "io/reader.h"

static int text_task(void *user, size_t task, weir_emit *out) {
  weir__reader *r = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  const char *uri = r->objs[r->tasks[task].obj].uri;
  weir__chunker *ch;
  int rc = weir__reader_open_task(r, task, 0, ctx, &ch);
  if (!ch) return rc;
  weir__colacc text, path;
  weir__colacc_init(&text, "text", WEIR_TYPE_STRING);
  weir__colacc_init(&path, "path", WEIR_TYPE_STRING);
  uint64_t skipped = 0;
  weir__chunk c;
  for (;;) {
    /* The buffer being read into, then the chunk, the lines copied out of
     * it and the buffer the chunker goes on with, are counted as working
     * bytes (exec_internal.h) until the blocks take the count over; the
     * task waits for room before it reads. */
    size_t want = weir__chunker_buffer_bytes(ch);
    if (want < r->chunk_bytes) want = r->chunk_bytes;
    rc = weir__emit_hold_to(out, want, 1);
    if (rc == WEIR_OK) rc = weir__reader_next_chunk(ch, ctx, &c);
    if (rc <= 0) break;
    weir__emit_hold_to(out, 2 * c.len + weir__chunker_buffer_bytes(ch), 0);
    const char *p = c.buf->data, *end = p + c.len;
    /* Most chunks are valid UTF-8 throughout: check once, and line by line
     * only when not. */
    int all_valid = weir__utf8_invalid_at(p, c.len) == c.len;
    uint64_t line = c.first_line;
    rc = WEIR_OK;
    while (p < end && rc == WEIR_OK) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      size_t len = (size_t)(nl - p);
      if (len && p[len - 1] == '\r') len--;
      if (!all_valid && weir__utf8_invalid_at(p, len) != len) {
        rc = weir__reader_malformed(
            r, ctx, r->tasks[task].obj, line,
            c.offset + (uint64_t)(p - (const char *)c.buf->data),
            "invalid UTF-8", &skipped);
      } else if (weir__colacc_grow(&text) || weir__colacc_push_string(&text, p, len)) {
        rc = WEIR_ENOMEM;
      }
      if (line) line++;
      p = nl + 1;
    }
    weir__buffer_unref(c.buf);
    if (rc == WEIR_OK && text.n) {
      weir_block *b;
      rc = weir__colacc_finish(&text, 1, &b);
      if (rc == WEIR_OK && r->o.include_path) rc = weir__path_column(&path, uri, b, &b);
      if (rc == WEIR_OK) rc = weir_emit_block(out, b);
    }
    if (rc != WEIR_OK) break;
  }
  if (weir__reader_skips_rest(r, rc)) {
    weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping the rest of %s: %s", uri,
                 weir__chunker_errmsg(ch));
    weir_ctx_count_skipped_input(ctx);
    rc = WEIR_OK;
  }
  if (skipped) weir_ctx_count_skipped(ctx, skipped);
  weir__colacc_free(&text);
  weir__colacc_free(&path);
  weir__chunker_close(ch);
  return rc;
}

weir_op *weir_read_text(weir_pipeline *p, const char *uri,
                        const weir_read_options *o) {
  return weir__reader_op(p, "text", "read_text", uri, o, 1, text_task, NULL);
}

static int binary_task(void *user, size_t task, weir_emit *out) {
  weir__reader *r = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  const weir__object *obj = &r->objs[r->tasks[task].obj];
  char err[512] = "";
  weir__rstream *s;
  int rc = weir__rstream_open(obj->uri, &r->cfg, 0, UINT64_MAX, &s, err,
                              sizeof err);
  size_t cap = obj->size != UINT64_MAX && obj->size < ((uint64_t)1 << 40)
                   ? (size_t)obj->size + 1 : 1 << 20;
  unsigned char *data = NULL;
  size_t len = 0;
  if (rc == WEIR_OK) {
    data = weir__mem_alloc(cap, 0);
    if (!data) rc = WEIR_ENOMEM;
  }
  while (rc == WEIR_OK) {
    if (len == cap) {
      unsigned char *nd = weir__mem_realloc(data, cap * 2);
      if (!nd) {
        rc = WEIR_ENOMEM;
        break;
      }
      data = nd;
      cap *= 2;
    }
    long got = weir__rstream_read(s, data + len, cap - len);
    if (got < 0) {
      snprintf(err, sizeof err, "%s", weir__rstream_errmsg(s));
      rc = (int)got;
    } else if (got == 0) {
      break;
    } else {
      len += (size_t)got;
    }
    if (weir_ctx_cancelled(ctx)) rc = WEIR_ECANCELED;
  }
  weir__rstream_close(s);
  if (rc != WEIR_OK) {
    weir__mem_free(data);
    if (r->o.on_error == WEIR_ON_ERROR_SKIP && rc != WEIR_ENOMEM &&
        rc != WEIR_ECANCELED) {
      weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping unreadable file: %s", err);
      weir_ctx_count_skipped(ctx, 1);
      return WEIR_OK;
    }
    if (err[0]) weir_ctx_set_errmsg(ctx, "%s", err);
    return rc;
  }
  /* One row: the bytes become the column's buffer without a copy. */
  weir_block *b = weir__block_alloc(2, 1);
  /* weir__mem, not malloc: glibc keeps freed large heap chunks resident,
   * and whole files as rows are large. The unused tail goes back. */
  data = weir__mem_realloc(data, len ? len : 1);
  weir__buffer *bytes = weir__buffer_wrap(data, len, weir__buffer_release_mem, NULL);
  if (!b || !bytes) {
    if (!bytes) weir__mem_free(data);
    weir__buffer_unref(bytes);
    weir_block_unref(&b);
    return WEIR_ENOMEM;
  }
  size_t pl = strlen(obj->uri);
  weir__column *pc = &b->cols[0], *bc = &b->cols[1];
  pc->name = strdup("path");
  pc->type = WEIR_TYPE_STRING;
  pc->length = 1;
  pc->data_buf = weir__buffer_alloc(pl);
  pc->offsets_buf = weir__buffer_alloc(2 * sizeof(int64_t));
  bc->name = strdup("bytes");
  bc->type = WEIR_TYPE_BINARY;
  bc->length = 1;
  bc->data_buf = bytes;
  bc->data = bytes->data;
  bc->offsets_buf = weir__buffer_alloc(2 * sizeof(int64_t));
  if (!pc->name || !pc->data_buf || !pc->offsets_buf || !bc->name ||
      !bc->offsets_buf) {
    weir_block_unref(&b);
    return WEIR_ENOMEM;
  }
  memcpy(pc->data_buf->data, obj->uri, pl);
  pc->data = pc->data_buf->data;
  int64_t *po = pc->offsets_buf->data, *bo = bc->offsets_buf->data;
  po[0] = 0;
  po[1] = (int64_t)pl;
  bo[0] = 0;
  bo[1] = (int64_t)len;
  pc->offsets = po;
  bc->offsets = bo;
  weir__block_seal(b);
  return weir_emit_block(out, b);
}

weir_op *weir_read_binary(weir_pipeline *p, const char *uri,
                          const weir_read_options *o) {
  return weir__reader_op(p, "binary", "read_binary", uri, o, 0, binary_task,
                         NULL);
}
