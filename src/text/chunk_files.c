/* weir_chunk_files: a source that chunks each file of a URI as one
 * document, reading it in pieces through a weir_chunk_stream, so a
 * document longer than memory (or than the pipeline's budget) is never
 * held whole. It lists and opens its inputs through io's URI layer (local
 * files, globs, http(s), s3://, .zst/.gz decompressed as a stream). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "io/codec.h"
#include "io/reader.h"
#include "text/chunk.h"
#include "text/text_internal.h"
#include "weir/error.h"

/* Bytes read from a file at a time: the stream holds about this plus a few
 * chunks. */
#define PIECE_BYTES ((size_t)1 << 20)

typedef struct files_cfg {
  weir_chunk_options o;
  size_t max_bytes;
  int markdown;
} files_cfg;

static int start_block(weir_builder **bld, int markdown) {
  int rc = weir_builder_create(bld);
  if (!rc)
    rc = weir_builder_add_column(*bld, "chunk", WEIR_TYPE_STRING);
  if (!rc)
    rc = weir_builder_add_column(*bld, "chunk_index", WEIR_TYPE_INT64);
  if (!rc)
    rc = weir_builder_add_column(*bld, "doc_id", WEIR_TYPE_STRING);
  if (!rc)
    rc = weir_builder_add_column(*bld, "start", WEIR_TYPE_INT64);
  if (!rc)
    rc = weir_builder_add_column(*bld, "end", WEIR_TYPE_INT64);
  if (!rc && markdown)
    rc = weir_builder_add_column(*bld, "heading_path", WEIR_TYPE_STRING);
  return rc;
}

static int flush_block(weir_builder **bld, weir_emit *out) {
  weir_block *b = NULL;
  int rc = weir_builder_finish(*bld, &b);
  weir_builder_destroy(*bld);
  *bld = NULL;
  return rc ? rc : weir_emit_block(out, b);
}

static int file_task(void *user, size_t task, weir_emit *out) {
  weir__reader *r = user;
  files_cfg *c = r->extra;
  weir_ctx *ctx = weir_emit_ctx(out);
  const char *uri = r->objs[r->tasks[task].obj].uri;
  size_t ulen = strlen(uri);
  char err[512] = "";
  weir__dstream *d = NULL;
  weir_chunk_stream *cs = NULL;
  weir_builder *bld = NULL;
  char *piece = malloc(PIECE_BYTES);
  int rc = piece ? weir__dstream_open(uri, &r->cfg, weir__codec_from_name(uri), 0, UINT64_MAX,
                                      &d, err, sizeof err)
                 : WEIR_ENOMEM;
  if (!rc)
    rc = weir_chunk_stream_create(&c->o, &cs);
  size_t pending = 0;   /* chunk bytes in the block being built */
  uint64_t chunks = 0, total = 0;
  int bad_text = 0;
  while (!rc) {
    long got = weir__dstream_read(d, piece, PIECE_BYTES);
    if (got < 0) {
      rc = (int)got;
      snprintf(err, sizeof err, "%s", weir__dstream_errmsg(d));
      break;
    }
    const weir_chunk_span *v;
    size_t n;
    rc = weir_chunk_stream_feed(cs, piece, (size_t)got, got == 0, &v, &n);
    if (rc) {
      bad_text = rc == WEIR_EFORMAT;
      snprintf(err, sizeof err, "%s: %s", uri, weir_last_errmsg());
      break;
    }
    total += (uint64_t)got;
    const char *paths = weir_chunk_stream_paths(cs);
    for (size_t k = 0; k < n && !rc; k++) {
      if (!bld)
        rc = start_block(&bld, c->markdown);
      size_t cl = v[k].end - v[k].start;
      if (!rc)
        rc = weir_builder_append_string(bld, 0, weir_chunk_stream_text(cs, &v[k]), cl);
      if (!rc)
        rc = weir_builder_append_int64(bld, 1, (int64_t)chunks);
      if (!rc)
        rc = weir_builder_append_string(bld, 2, uri, ulen);
      if (!rc)
        rc = weir_builder_append_int64(bld, 3, (int64_t)v[k].start);
      if (!rc)
        rc = weir_builder_append_int64(bld, 4, (int64_t)v[k].end);
      if (!rc && c->markdown)
        rc = weir_builder_append_string(bld, 5, paths + v[k].path_start, v[k].path_len);
      chunks++;
      pending += cl;
      if (!rc && pending >= c->max_bytes) {
        rc = flush_block(&bld, out);
        pending = 0;
      }
    }
    if (!rc && weir_ctx_cancelled(ctx))
      rc = WEIR_ECANCELED;
    if (got == 0)
      break;
  }
  if (!rc && bld)
    rc = flush_block(&bld, out);
  weir_builder_destroy(bld);
  weir_chunk_stream_destroy(cs);
  if (d)
    weir__dstream_close(d);
  free(piece);
  weir_ctx_count(ctx, "docs", 1);
  weir_ctx_count(ctx, "chunks", chunks);
  if (!rc && chunks == 0)
    weir_ctx_count_dropped(ctx, "empty_document", 1);
  if (rc && rc != WEIR_ECANCELED && rc != WEIR_ENOMEM &&
      c->o.common.on_error == WEIR_ON_ERROR_SKIP) {
    /* The chunks sent before stay; the rest of this file is skipped. */
    weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping the rest of %s: %s", uri, err);
    weir_ctx_count_skipped_input(ctx);
    return WEIR_OK;
  }
  if (rc && err[0])
    weir_ctx_set_errmsg(ctx, "%s%s", err, bad_text ? " (set on_error to skip the rest of "
                                                     "such files)" : "");
  (void)total;
  return rc;
}

static void cfg_free(void *arg) { free(arg); }

weir_op *weir_chunk_files(weir_pipeline *p, const char *uri, const weir_read_options *ro,
                          const weir_chunk_options *o) {
  if (!p)
    return NULL;
  weir_chunk_options d = WEIR_CHUNK_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_chunk_files", o->version, WEIR_CHUNK_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  if (!uri)
    return weir__text_fail(p, WEIR_EINVAL, "weir_chunk_files: NULL uri");
  char why[256];
  weir__chunk_params cp;
  if (weir__chunk_params_from(&d, &cp, why, sizeof why))
    return weir__text_fail(p, WEIR_EINVAL, "weir_chunk_files: %s", why);
  if (d.common.on_error != WEIR_ON_ERROR_FAIL && d.common.on_error != WEIR_ON_ERROR_SKIP)
    return weir__text_fail(p, WEIR_EINVAL, "weir_chunk_files: on_error %d is not a "
                           "WEIR_ON_ERROR_* value", d.common.on_error);
  files_cfg *c = calloc(1, sizeof *c);
  if (!c)
    return weir__text_fail(p, WEIR_ENOMEM, "weir_chunk_files: out of memory");
  c->o = d;
  c->o.common.name = NULL;
  c->o.common.column = NULL;
  c->o.doc_id_column = NULL;
  c->max_bytes = d.max_block_bytes ? d.max_block_bytes : (size_t)4 << 20;
  if (c->max_bytes > weir_pipeline_block_bytes(p))
    c->max_bytes = weir_pipeline_block_bytes(p);
  c->markdown = cp.method == WEIR_CHUNK_MARKDOWN;
  weir__reader *r = NULL;
  const char *name = d.common.name && *d.common.name ? d.common.name : "chunk_files";
  /* A task per file, never byte ranges: a document is chunked from its
   * start. */
  weir_op *src = weir__reader_op(p, "chunk", name, uri, ro, 0, file_task, &r);
  if (!src) {
    free(c);
    return NULL;
  }
  r->extra = c;
  r->free_extra = cfg_free;
  return src;
}
