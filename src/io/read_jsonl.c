/* weir_read_jsonl: a source that cuts each file (or byte range) into
 * chunks of whole lines, and a parsing operator whose workers turn chunks
 * into typed columns in parallel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/io.h"
#include "core/block_internal.h"
#include "io/chunker.h"
#include "io/codec.h"
#include "io/jsonl_parse.h"
#include "io/reader.h"
#include "exec/exec_internal.h"

/* Feeds the lines of the first chunk of object `i` (at most `rows`
 * lines) to `in`. An unreadable or corrupt object under on_error = skip
 * adds nothing: the read pass skips, logs and counts it. */
static int infer_from(weir__reader *r, size_t i, size_t rows,
                      weir__jsonl_infer *in) {
  weir__chunker *ch;
  const char *uri = r->objs[i].uri;
  int rc = weir__chunker_open(uri, &r->cfg, weir__codec_from_name(uri), 0,
                              UINT64_MAX, rows, WEIR__CHUNK_MAX_BYTES, 0, NULL,
                              &ch, r->schema_err, sizeof r->schema_err);
  if (rc != WEIR_OK)
    return r->o.on_error == WEIR_ON_ERROR_SKIP && rc != WEIR_ENOMEM ? WEIR_OK
                                                                     : rc;
  weir__chunk c;
  int got = weir__chunker_next(ch, &c);
  if (got < 0) {
    snprintf(r->schema_err, sizeof r->schema_err, "%s",
             weir__chunker_errmsg(ch));
    rc = got;
  } else if (got > 0) {
    const char *p = c.buf->data, *end = p + c.len;
    while (rc == WEIR_OK && p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      rc = weir__jsonl_infer_line(in, p);
      p = nl + 1;
    }
    weir__buffer_unref(c.buf);
  }
  weir__chunker_close(ch);
  /* A corrupt input teaches nothing; the read pass skips and counts it. */
  return weir__reader_skips_rest(r, rc) ? WEIR_OK : rc;
}

/* The columns: given, or inferred from the first rows of the first
 * inputs. Runs once, through weir__reader_schema_once. */
static int jsonl_schema(weir__reader *r) {
  if (r->o.columns)
    return weir__schema_parse(r->o.columns, &r->schema, r->schema_err,
                              sizeof r->schema_err);
  weir__jsonl_infer in;
  weir__jsonl_infer_init(&in);
  int rc = WEIR_OK;
  for (size_t i = 0; rc == WEIR_OK && i < r->nobjs && in.rows < r->infer_rows;
       i++)
    rc = infer_from(r, i, r->infer_rows - in.rows, &in);
  if (rc == WEIR_OK) {
    rc = weir__jsonl_infer_finish(&in, &r->schema);
    r->inferred = 1;
  }
  weir__jsonl_infer_free(&in);
  return rc;
}

typedef struct jsonl_worker {
  weir__reader *r;
  weir__jsonl_parser ps;
  int ready;
  int add_path;        /* the reader adds a `path` column */
  int warned_dropped;  /* said once that a key is not a column */
  weir__colacc path;
} jsonl_worker;

static int jsonl_init(void *user, int worker, void **state) {
  (void)worker;
  jsonl_worker *w = calloc(1, sizeof *w);
  if (!w) return WEIR_ENOMEM;
  w->r = user;
  *state = w;
  return WEIR_OK;
}

static void jsonl_destroy(void *state) {
  jsonl_worker *w = state;
  if (!w) return;
  if (w->ready) {
    weir__jsonl_parser_free(&w->ps);
    weir__colacc_free(&w->path);
  }
  free(w);
}

/* Emits the rows parsed so far, with a `path` column when asked for. */
static int flush_rows(jsonl_worker *w, const char *uri, weir_emit *out) {
  weir__jsonl_parser *ps = &w->ps;
  size_t rows = weir__jsonl_parser_rows(ps);
  if (rows == 0) return WEIR_OK;
  weir_block *b;
  int rc = weir__jsonl_parser_block(ps, &b);
  if (rc != WEIR_OK) return rc;
  if (w->add_path) {
    rc = weir__path_column(&w->path, uri, b, &b);
    if (rc != WEIR_OK) return rc;
  }
  return weir_emit_block(out, b);
}

static int jsonl_process(void *state, weir_block *in, weir_emit *out,
                         weir_ctx *ctx) {
  jsonl_worker *w = state;
  weir__reader *r = w->r;
  if (!w->ready) {
    int rc = weir__reader_schema_once(r, jsonl_schema);
    if (rc != WEIR_OK) {
      weir_ctx_set_errmsg(ctx, "cannot infer the columns: %s", r->schema_err);
      return rc;
    }
    w->add_path = r->o.include_path &&
                  weir__schema_find(&r->schema, "path", 4) < 0;
    rc = weir__jsonl_parser_init(&w->ps, &r->schema, r->schema.n,
                                 r->inferred, r->infer_rows);
    if (rc == WEIR_OK && w->add_path)
      rc = weir__colacc_init(&w->path, "path", WEIR_TYPE_STRING);
    if (rc != WEIR_OK) {
      weir__jsonl_parser_free(&w->ps);
      return rc;
    }
    w->ready = 1;
  }
  weir__chunk_view v;
  if (weir__chunk_view_of(in, &v) != WEIR_OK) {
    weir_ctx_set_errmsg(ctx, "input is not a chunk of JSONL lines");
    return WEIR_EINVAL;
  }
  const char *uri = r->objs[v.file].uri;
  /* The columns being built are about the chunk's size: counted as
   * working bytes (never waiting, exec_internal.h) until the blocks made
   * of them take the count over. */
  weir__emit_hold(out, v.len, 0);
  const char *p = v.data, *end = v.data + v.len;
  uint64_t line = v.line;
  uint64_t skipped = 0;
  int rc = WEIR_OK;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    int got = weir__jsonl_parse_line(&w->ps, p);
    if (got == WEIR_EFORMAT) {
      rc = weir__reader_malformed(r, ctx, v.file, line,
                                  v.offset + (uint64_t)(p - v.data), w->ps.why,
                                  &skipped);
      if (rc != WEIR_OK) break;
    } else if (got < 0) {
      rc = got;
      break;
    }
    if (line) line++;
    p = nl + 1;
    if (weir__jsonl_parser_rows(&w->ps) >= r->rows_per_block) {
      rc = flush_rows(w, uri, out);
      if (rc != WEIR_OK) break;
    }
  }
  if (skipped) weir_ctx_count_skipped(ctx, skipped);
  if (w->ps.dropped[0] && r->inferred && !w->warned_dropped) {
    /* Given columns drop other keys on purpose; inferred ones may have
     * missed a key that starts late in the data. */
    w->warned_dropped = 1;
    weir_ctx_log(ctx, WEIR_LOG_WARN,
                 "%s: key \"%s\" is not one of the columns inferred from the "
                 "first %zu rows; its values are dropped (raise infer_rows or "
                 "give the columns option)", uri, w->ps.dropped, r->infer_rows);
  }
  if (rc == WEIR_OK) rc = flush_rows(w, uri, out);
  if (rc != WEIR_OK) {
    /* Rows of a failed chunk are not kept for the next one. */
    for (size_t i = 0; i < w->ps.ncols; i++) weir__colacc_truncate(&w->ps.cols[i], 0);
    w->ps.rows0 = 0;
  }
  return rc;
}

static const weir_op_def jsonl_parse_def = {
    WEIR_OP_DEF_VERSION, "parse_jsonl", jsonl_init, jsonl_process, NULL,
    jsonl_destroy};

weir_op *weir_read_jsonl(weir_pipeline *p, const char *uri,
                         const weir_read_options *o) {
  weir__reader *r;
  weir_op *src = weir__reader_op(p, "jsonl", "read_jsonl", uri, o, 1,
                                 weir__read_chunks_lines, &r);
  if (!src) return NULL;
  r->schema_fix = jsonl_schema;
  weir_op_options po = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  po.max_workers = weir__reader_workers(p, r, 6);
  weir_op *parse = weir_add_op(p, src, &jsonl_parse_def, r, &po);
  weir__op_rows_of(src, parse);
  weir__op_set_per_block(parse, 1); /* a chunk's rows, whatever its pool */
  return parse;
}
