/* weir_chunk_text: one output row per chunk of each document, with the
 * chunk's text, index, document id and byte range (and heading path), the
 * document's other columns repeated. A one-worker ordered step before it
 * numbers the rows, so ordinals are input order whatever the chunker's
 * parallelism. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "core/utf8.h"
#include "exec/exec_internal.h"
#include "text/chunk.h"
#include "text/text_internal.h"
#include "weir/error.h"

/* The ordinal column the numbering step adds (and the chunker removes). */
#define ORD_COLUMN "__weir_chunk_ordinal"

typedef struct chunk_cfg {
  weir_chunk_options o;
  weir__chunk_params cp;
  char *column, *name, *ids_name, *doc_id;
  size_t max_bytes;
  atomic_uint_fast64_t next_ord; /* the numbering step's (one worker) */
} chunk_cfg;

typedef struct chunk_worker {
  chunk_cfg *c;
  weir__chunk_out out;
  weir_tokenizer_cache *cache;  /* TOKENS */
} chunk_worker;

static void cfg_free(void *arg) {
  chunk_cfg *c = arg;
  if (!c)
    return;
  free(c->column);
  free(c->name);
  free(c->ids_name);
  free(c->doc_id);
  free(c);
}

/* ---- The numbering step ------------------------------------------------------ */

static int ids_init(void *user, int worker, void **state) {
  (void)worker;
  chunk_cfg *c = user;
  atomic_store(&c->next_ord, 0); /* each run numbers from 0 */
  *state = c;
  return WEIR_OK;
}

static int ids_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  (void)ctx;
  chunk_cfg *c = state;
  size_t n = weir_block_num_rows(in);
  uint64_t first = atomic_fetch_add(&c->next_ord, n);
  weir_builder *bld;
  int rc = weir_builder_create(&bld);
  if (rc)
    return rc;
  rc = weir_builder_add_column(bld, ORD_COLUMN, WEIR_TYPE_INT64);
  if (!rc)
    rc = weir_builder_reserve(bld, n);
  for (size_t i = 0; i < n && !rc; i++)
    rc = weir_builder_append_int64(bld, 0, (int64_t)(first + i));
  weir_block *extra = NULL, *out = NULL;
  if (!rc)
    rc = weir_builder_finish(bld, &extra);
  weir_builder_destroy(bld);
  if (!rc)
    rc = weir_block_add_columns(in, extra, &out);
  weir_block_unref(&extra);
  return rc ? rc : weir_emit_block(emit, out);
}

/* ---- The chunker ----------------------------------------------------------- */

static int ck_init(void *user, int worker, void **state) {
  (void)worker;
  chunk_worker *w = calloc(1, sizeof *w);
  if (!w)
    return WEIR_ENOMEM;
  w->c = user;
  if (w->c->cp.method == WEIR_CHUNK_TOKENS) {
    int rc = weir_tokenizer_cache_create(w->c->cp.tok, &w->cache);
    if (rc) {
      free(w);
      weir_set_last_errmsg("cannot make a tokenizer cache: %s", weir_strerror(rc));
      return rc;
    }
  }
  *state = w;
  return WEIR_OK;
}

static void ck_destroy(void *state) {
  chunk_worker *w = state;
  if (!w)
    return;
  weir__chunk_out_free(&w->out);
  weir_tokenizer_cache_destroy(w->cache);
  free(w);
}

static const char *const out_names[] = {"chunk", "chunk_index", "doc_id", "start", "end",
                                        "heading_path"};

/* One output block under construction. */
typedef struct pending {
  weir_builder *bld;
  uint32_t *rows;          /* the input row of each chunk */
  size_t n, cap;
  size_t bytes;            /* chunk text so far */
  int id_type;             /* WEIR_TYPE_INT64 or STRING */
  int markdown;
} pending;

/* Adds the output columns to the builder (made on first use; a finished
 * builder is reset to no columns and is reused). */
static int pending_start(pending *pd) {
  int rc = pd->bld ? WEIR_OK : weir_builder_create(&pd->bld);
  if (rc)
    return rc;
  /* Built as BINARY, retyped when finished: a chunk is a cut of text
   * already checked, on character boundaries, so checking its UTF-8 again
   * would only cost time. */
  rc = weir_builder_add_column(pd->bld, "chunk", WEIR_TYPE_BINARY);
  if (!rc)
    rc = weir_builder_add_column(pd->bld, "chunk_index", WEIR_TYPE_INT64);
  if (!rc)
    rc = weir_builder_add_column(pd->bld, "doc_id", pd->id_type);
  if (!rc)
    rc = weir_builder_add_column(pd->bld, "start", WEIR_TYPE_INT64);
  if (!rc)
    rc = weir_builder_add_column(pd->bld, "end", WEIR_TYPE_INT64);
  if (!rc && pd->markdown)
    rc = weir_builder_add_column(pd->bld, "heading_path", WEIR_TYPE_STRING);
  pd->n = 0;
  pd->bytes = 0;
  return rc;
}

/* Makes the block of the pending chunks (with the kept columns `keep` of
 * `in`, when any) and sends it on. */
static int pending_flush(pending *pd, const weir_block *kept, weir_emit *emit) {
  weir_block *extra = NULL, *base = NULL, *out = NULL;
  int rc = weir_builder_finish(pd->bld, &extra);
  if (!rc)
    extra->cols[0].type = WEIR_TYPE_STRING; /* fresh and unshared: see pending_start */
  if (!rc && kept) {
    rc = weir_block_take(kept, pd->rows, pd->n, &base);
    if (!rc)
      rc = weir_block_add_columns(base, extra, &out);
  } else if (!rc) {
    out = weir_block_ref(extra);
  }
  weir_block_unref(&base);
  weir_block_unref(&extra);
  if (rc)
    return rc;
  rc = weir_emit_block(emit, out);
  if (!rc)
    rc = pending_start(pd);
  return rc;
}

static int pending_row(pending *pd, uint32_t row) {
  if (pd->n == pd->cap) {
    size_t nc = pd->cap ? pd->cap * 2 : 256;
    uint32_t *nr = realloc(pd->rows, nc * sizeof *nr);
    if (!nr)
      return WEIR_ENOMEM;
    pd->rows = nr;
    pd->cap = nc;
  }
  pd->rows[pd->n++] = row;
  return WEIR_OK;
}

/* The input's columns that follow the chunks: all but the text, the doc id
 * and the ordinal. A name an output column has is an error. */
static int kept_columns(chunk_worker *w, const weir_block *in, size_t text_col, int id_col,
                        int ord_col, int markdown, weir_ctx *ctx, weir_block **kept) {
  size_t nc = weir_block_num_columns(in), k = 0;
  size_t *idx = malloc((nc ? nc : 1) * sizeof *idx);
  if (!idx)
    return WEIR_ENOMEM;
  for (size_t j = 0; j < nc; j++) {
    if (j == text_col || (int)j == id_col || (int)j == ord_col)
      continue;
    weir_column col;
    weir_block_column(in, j, &col);
    for (size_t q = 0; q < sizeof out_names / sizeof out_names[0]; q++) {
      if (q == 5 && !markdown)
        continue;
      if (strcmp(col.name, out_names[q]) == 0) {
        free(idx);
        weir_ctx_set_errmsg(ctx, "input column '%s' has the name of an output column (rename "
                            "it, or set keep_columns = 0)", col.name);
        return WEIR_EINVAL;
      }
    }
    idx[k++] = j;
  }
  int rc = WEIR_OK;
  *kept = NULL;
  if (k)
    rc = weir_block_select(in, idx, k, kept);
  (void)w;
  free(idx);
  return rc;
}

static int ck_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  chunk_worker *w = state;
  chunk_cfg *c = w->c;
  int ci = weir_block_column_index(in, c->column);
  if (ci < 0) {
    weir_ctx_set_errmsg(ctx, "no column '%s' in the input (set the text column in the "
                        "operator's options)", c->column);
    return WEIR_ENOTFOUND;
  }
  weir_column text;
  weir_block_column(in, (size_t)ci, &text);
  if (text.type != WEIR_TYPE_STRING) {
    weir_ctx_set_errmsg(ctx, "column '%s' is %s, not string", c->column,
                        weir_type_name(text.type));
    return WEIR_EINVAL;
  }
  int oi = weir_block_column_index(in, ORD_COLUMN);
  if (oi < 0) {
    weir_ctx_set_errmsg(ctx, "the input lacks the ordinals of its numbering step");
    return WEIR_EINVAL;
  }
  weir_column ord, idc = {0};
  weir_block_column(in, (size_t)oi, &ord);
  int ii = weir_block_column_index(in, c->doc_id);
  pending pd = {0};
  pd.markdown = c->cp.method == WEIR_CHUNK_MARKDOWN;
  pd.id_type = WEIR_TYPE_INT64;
  if (ii >= 0) {
    weir_block_column(in, (size_t)ii, &idc);
    if (idc.type == WEIR_TYPE_STRING) {
      pd.id_type = WEIR_TYPE_STRING;
    } else if (idc.type != WEIR_TYPE_INT64 && idc.type != WEIR_TYPE_INT32) {
      weir_ctx_set_errmsg(ctx, "doc id column '%s' is %s, not int32, int64 or string",
                          c->doc_id, weir_type_name(idc.type));
      return WEIR_EINVAL;
    }
  }
  weir_block *kept = NULL;
  int rc = WEIR_OK;
  if (c->o.keep_columns &&
      (rc = kept_columns(w, in, (size_t)ci, ii, oi, pd.markdown, ctx, &kept)))
    return rc;
  rc = pending_start(&pd);
  size_t n = text.length;
  uint64_t docs = 0, chunks = 0, empty = 0, skipped = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const char *s = (const char *)text.data + text.offsets[i];
    size_t len = (size_t)(text.offsets[i + 1] - text.offsets[i]);
    const char *why = NULL;
    size_t at = 0;
    if (text.validity && !weir__bit_get(text.validity, i)) {
      why = "the text is null";
    } else {
      at = weir__utf8_invalid_at(s, len);
      if (at < len)
        why = "the text is not valid UTF-8";
    }
    int64_t ordinal = ((const int64_t *)ord.data)[i];
    if (why) {
      if (c->o.common.on_error == WEIR_ON_ERROR_SKIP) {
        skipped++;
        continue;
      }
      if (at)
        weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu (input row %lld): %s "
                            "(byte %zu)", c->column, i, n, (long long)ordinal, why, at);
      else
        weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu (input row %lld): %s",
                            c->column, i, n, (long long)ordinal, why);
      rc = WEIR_EFORMAT;
      break;
    }
    docs++;
    rc = weir__chunk_split(&c->cp, w->cache, s, len, &w->out);
    if (rc) {
      weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu (input row %lld): %s",
                          c->column, i, n, (long long)ordinal, weir_last_errmsg());
      break;
    }
    if (w->out.n == 0) {
      empty++;
      continue;
    }
    for (size_t k = 0; k < w->out.n && !rc; k++) {
      weir_chunk_span sp = w->out.v[k];
      rc = weir_builder_append_string(pd.bld, 0, s + sp.start, sp.end - sp.start);
      if (!rc)
        rc = weir_builder_append_int64(pd.bld, 1, (int64_t)k);
      if (!rc) {
        if (ii < 0)
          rc = weir_builder_append_int64(pd.bld, 2, ordinal);
        else if (idc.validity && !weir__bit_get(idc.validity, i))
          rc = weir_builder_append_null(pd.bld, 2);
        else if (idc.type == WEIR_TYPE_STRING)
          rc = weir_builder_append_string(pd.bld, 2, (const char *)idc.data + idc.offsets[i],
                                          (size_t)(idc.offsets[i + 1] - idc.offsets[i]));
        else if (idc.type == WEIR_TYPE_INT32)
          rc = weir_builder_append_int64(pd.bld, 2, ((const int32_t *)idc.data)[i]);
        else
          rc = weir_builder_append_int64(pd.bld, 2, ((const int64_t *)idc.data)[i]);
      }
      if (!rc)
        rc = weir_builder_append_int64(pd.bld, 3, (int64_t)sp.start);
      if (!rc)
        rc = weir_builder_append_int64(pd.bld, 4, (int64_t)sp.end);
      if (!rc && pd.markdown)
        rc = weir_builder_append_string(pd.bld, 5, w->out.paths + sp.path_start, sp.path_len);
      if (!rc)
        rc = pending_row(&pd, (uint32_t)i);
      pd.bytes += sp.end - sp.start;
      chunks++;
      if (!rc && pd.bytes >= c->max_bytes)
        rc = pending_flush(&pd, kept, emit);
    }
    if (!rc && (i & 255) == 255 && weir_ctx_cancelled(ctx))
      rc = WEIR_ECANCELED;
  }
  if (!rc && pd.n)
    rc = pending_flush(&pd, kept, emit);
  weir_builder_destroy(pd.bld);
  free(pd.rows);
  weir_block_unref(&kept);
  if (skipped) {
    weir_ctx_count_skipped(ctx, skipped);
    weir_ctx_log(ctx, WEIR_LOG_DEBUG, "skipped %llu malformed rows (null or invalid UTF-8)",
                 (unsigned long long)skipped);
  }
  weir_ctx_count(ctx, "docs", docs);
  weir_ctx_count(ctx, "chunks", chunks);
  if (empty)
    weir_ctx_count_dropped(ctx, "empty_document", empty);
  return rc;
}

weir_op *weir_chunk_text(weir_pipeline *p, weir_op *in, const weir_chunk_options *o) {
  if (!p)
    return NULL;
  weir_chunk_options d = WEIR_CHUNK_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_chunk_text", o->version, WEIR_CHUNK_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  if (!in)
    return weir__text_fail(p, WEIR_EINVAL, "weir_chunk_text: NULL input operator");
  char why[256];
  weir__chunk_params cp;
  if (weir__chunk_params_from(&d, &cp, why, sizeof why))
    return weir__text_fail(p, WEIR_EINVAL, "weir_chunk_text: %s", why);
  if (d.common.on_error != WEIR_ON_ERROR_FAIL && d.common.on_error != WEIR_ON_ERROR_SKIP)
    return weir__text_fail(p, WEIR_EINVAL, "weir_chunk_text: on_error %d is not a "
                           "WEIR_ON_ERROR_* value", d.common.on_error);
  if (d.keep_columns != 0 && d.keep_columns != 1)
    return weir__text_fail(p, WEIR_EINVAL, "weir_chunk_text: keep_columns %d is neither 0 "
                           "nor 1", d.keep_columns);
  chunk_cfg *c = calloc(1, sizeof *c);
  if (!c)
    return weir__text_fail(p, WEIR_ENOMEM, "weir_chunk_text: out of memory");
  c->o = d;
  c->cp = cp;
  c->column = strdup(d.common.column && *d.common.column ? d.common.column : "text");
  c->name = strdup(d.common.name && *d.common.name ? d.common.name : "chunk_text");
  c->doc_id = strdup(d.doc_id_column && *d.doc_id_column ? d.doc_id_column : "doc_id");
  size_t nl = c->name ? strlen(c->name) + 5 : 0;
  c->ids_name = nl ? malloc(nl) : NULL;
  if (!c->column || !c->name || !c->doc_id || !c->ids_name) {
    cfg_free(c);
    return weir__text_fail(p, WEIR_ENOMEM, "weir_chunk_text: out of memory");
  }
  snprintf(c->ids_name, nl, "%s_ids", c->name);
  c->o.common.column = c->column;
  c->o.common.name = c->name;
  c->o.doc_id_column = c->doc_id;
  c->max_bytes = d.max_block_bytes ? d.max_block_bytes : (size_t)4 << 20;
  atomic_init(&c->next_ord, 0);

  /* Numbering: one worker on ordered input. */
  weir_op_def ids = {WEIR_OP_DEF_VERSION, c->ids_name, ids_init, ids_process, NULL, NULL};
  weir_op_options io = WEIR_OP_OPTIONS_INIT;
  io.min_workers = io.max_workers = 1;
  io.preserve_order = 1;
  weir_op *num = weir_add_op(p, in, &ids, c, &io);
  if (!num) {
    cfg_free(c);
    return NULL;
  }
  weir__op_set_cleanup(num, cfg_free, c);
  weir__op_set_per_block(num, -1); /* numbers count on across read tasks */
  weir_op_def def = {WEIR_OP_DEF_VERSION, c->name, ck_init, ck_process, NULL, ck_destroy};
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.max_workers = d.common.max_workers;
  oo.preserve_order = 1;
  return weir_add_op(p, num, &def, c, &oo);
}

int weir_chunk_spans(const weir_chunk_options *o, const char *text, size_t len,
                     weir_chunk_span **spans, size_t *n, char **path_buf) {
  if ((!text && len) || !spans || !n)
    return weir__set_last_error(WEIR_EINVAL, "weir_chunk_spans: NULL %s",
                                !spans ? "spans" : !n ? "n" : "text");
  *spans = NULL;
  *n = 0;
  if (path_buf)
    *path_buf = NULL;
  char why[256];
  weir__chunk_params cp;
  if (weir__chunk_params_from(o, &cp, why, sizeof why))
    return weir__set_last_error(WEIR_EINVAL, "weir_chunk_spans: %s", why);
  size_t at = weir__utf8_invalid_at(text ? text : "", len);
  if (at < len)
    return weir__set_last_error(WEIR_EFORMAT, "weir_chunk_spans: the text is not valid UTF-8 "
                                "(byte %zu)", at);
  weir__chunk_out out = {0};
  weir_tokenizer_cache *cache = NULL;
  int rc = cp.method == WEIR_CHUNK_TOKENS ? weir_tokenizer_cache_create(cp.tok, &cache) : WEIR_OK;
  if (!rc)
    rc = weir__chunk_split(&cp, cache, text ? text : "", len, &out);
  weir_tokenizer_cache_destroy(cache);
  if (rc) {
    weir__chunk_out_free(&out);
    return rc;
  }
  *spans = out.v;
  *n = out.n;
  if (path_buf) {
    *path_buf = out.paths;
    out.paths = NULL;
  }
  free(out.paths);
  return WEIR_OK;
}
