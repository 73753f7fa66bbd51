/* The machinery every text operator runs on: finds and checks the text
 * column, handles malformed rows, calls the operator's judge per row, and
 * makes the output (rows dropped and counted per reason, or annotation
 * columns added, texts rewritten). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "core/utf8.h"
#include "exec/exec_internal.h"
#include "text/text_internal.h"
#include "weir/error.h"

typedef struct text_cfg {
  const weir__text_kind *kind;
  void *opts;                /* copy of the kind's options */
  weir_text_common common;   /* with defaults; strings copied */
  char *column, *prefix;
  int annots;                /* add the measurement columns */
} text_cfg;

typedef struct text_worker {
  text_cfg *cfg;
  weir__tokenizer *tok;
  void *wstate;
} text_worker;

weir_op *weir__text_fail(weir_pipeline *p, int err, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return weir__op_fail(p, err, "%s", msg);
}

int weir__text_check_version(weir_pipeline *p, const char *fn, unsigned got, unsigned want) {
  if (got == 0 || got > want) {
    weir__op_fail(p, WEIR_EINVAL, "%s: options version %u is not one this library knows (%u)",
                  fn, got, want);
    return WEIR_EINVAL;
  }
  return WEIR_OK;
}

static void cfg_free(void *arg) {
  text_cfg *c = arg;
  if (!c)
    return;
  if (c->kind->opts_free)
    c->kind->opts_free(c->opts);
  free(c->opts);
  free(c->column);
  free(c->prefix);
  free((char *)c->common.name);
  free(c);
}

static int worker_init(void *user, int worker, void **state) {
  (void)worker;
  text_cfg *cfg = user;
  text_worker *w = calloc(1, sizeof *w);
  if (!w)
    return WEIR_ENOMEM;
  w->cfg = cfg;
  int rc = weir__tokenizer_create(&w->tok);
  if (!rc && cfg->kind->worker_init)
    rc = cfg->kind->worker_init(cfg->opts, &w->wstate);
  if (rc) {
    weir__tokenizer_destroy(w->tok);
    free(w);
    return rc;
  }
  *state = w;
  return WEIR_OK;
}

static void worker_destroy(void *state) {
  text_worker *w = state;
  if (!w)
    return;
  if (w->cfg->kind->worker_free)
    w->cfg->kind->worker_free(w->wstate);
  weir__tokenizer_destroy(w->tok);
  free(w);
}

int weir__block_keep(const weir_block *b, const uint8_t *keep, size_t kept, weir_block **out) {
  size_t n = weir_block_num_rows(b);
  if (kept == n) {
    *out = weir_block_ref((weir_block *)b);
    return WEIR_OK;
  }
  uint32_t *rows = malloc((kept ? kept : 1) * sizeof *rows);
  if (!rows)
    return WEIR_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (keep[i])
      rows[k++] = (uint32_t)i;
  int rc = weir_block_take(b, rows, k, out);
  free(rows);
  return rc;
}

int weir__block_replace_strings(const weir_block *b, size_t col, char *const *texts,
                                const size_t *lens, weir_block **out) {
  size_t n = b->num_rows;
  const weir__column *c = &b->cols[col];
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += texts[i] ? lens[i] : (size_t)(c->offsets[i + 1] - c->offsets[i]);
  weir__buffer *data = weir__buffer_alloc(total);
  weir__buffer *offs = weir__buffer_alloc((n + 1) * sizeof(int64_t));
  weir_block *nb = weir__block_alloc(b->num_columns, n);
  if (!data || !offs || !nb) {
    weir__buffer_unref(data);
    weir__buffer_unref(offs);
    free(nb);
    return WEIR_ENOMEM;
  }
  int64_t *o = offs->data;
  uint8_t *d = data->data;
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    o[i] = (int64_t)pos;
    const char *s = texts[i] ? texts[i] : (const char *)c->data + c->offsets[i];
    size_t l = texts[i] ? lens[i] : (size_t)(c->offsets[i + 1] - c->offsets[i]);
    if (l)
      memcpy(d + pos, s, l);
    pos += l;
  }
  o[n] = (int64_t)pos;
  int rc = WEIR_OK;
  for (size_t j = 0; j < b->num_columns && !rc; j++) {
    if (j != col) {
      rc = weir__column_share(&nb->cols[j], &b->cols[j]);
      continue;
    }
    weir__column *dc = &nb->cols[j];
    rc = weir__column_copy_meta(dc, c);
    if (rc)
      break;
    dc->length = n;
    dc->null_count = c->null_count;
    if (c->validity_buf) {
      dc->validity_buf = weir__buffer_ref(c->validity_buf);
      dc->validity = c->validity;
    }
    dc->data_buf = data;
    dc->data = data->data;
    dc->offsets_buf = offs;
    dc->offsets = offs->data;
    data = offs = NULL;
  }
  weir__buffer_unref(data);
  weir__buffer_unref(offs);
  if (rc) {
    weir_block_unref(&nb);
    return rc;
  }
  weir__block_seal(nb);
  *out = nb;
  return WEIR_OK;
}

/* Drops malformed rows (null text, invalid UTF-8) under on_error skip, or
 * fails naming the first. `*clean` is `in` or a copy without them. */
static int check_rows(text_worker *w, weir_block *in, size_t col, weir_ctx *ctx,
                      weir_block **clean) {
  weir_column c;
  weir_block_column(in, col, &c);
  size_t n = c.length, bad = 0;
  uint8_t *keep = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *why = NULL;
    size_t at = 0;
    if (c.validity && !weir__bit_get(c.validity, i)) {
      why = "the text is null";
    } else {
      const char *s = (const char *)c.data + c.offsets[i];
      size_t len = (size_t)(c.offsets[i + 1] - c.offsets[i]);
      at = weir__utf8_invalid_at(s, len);
      if (at < len)
        why = "the text is not valid UTF-8";
    }
    if (!why)
      continue;
    if (w->cfg->common.on_error != WEIR_ON_ERROR_SKIP) {
      free(keep);
      if (at)
        weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu: %s (byte %zu)",
                            w->cfg->column, i, n, why, at);
      else
        weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu: %s", w->cfg->column, i,
                            n, why);
      return WEIR_EFORMAT;
    }
    if (!keep) {
      keep = malloc(n ? n : 1);
      if (!keep)
        return WEIR_ENOMEM;
      memset(keep, 1, n);
    }
    keep[i] = 0;
    bad++;
  }
  if (!bad) {
    *clean = weir_block_ref(in);
    return WEIR_OK;
  }
  weir_ctx_count_skipped(ctx, bad);
  weir_ctx_log(ctx, WEIR_LOG_DEBUG, "skipped %zu malformed rows (null or invalid UTF-8)", bad);
  int rc = weir__block_keep(in, keep, n - bad, clean);
  free(keep);
  return rc;
}

/* Reasons seen in one block, counted before they are reported. */
typedef struct reason_count {
  const char *reason;
  uint64_t n;
} reason_count;

static void tally(reason_count *rc, size_t *nrc, size_t cap, const char *reason) {
  for (size_t i = 0; i < *nrc; i++)
    if (rc[i].reason == reason || strcmp(rc[i].reason, reason) == 0) {
      rc[i].n++;
      return;
    }
  if (*nrc < cap) {
    rc[*nrc].reason = reason;
    rc[*nrc].n = 1;
    (*nrc)++;
  }
}

static int add_annotations(text_worker *w, weir__text_call *call, const weir_block *base,
                           const weir__row_result *res, weir_block **out) {
  const weir__text_kind *k = w->cfg->kind;
  size_t n = weir_block_num_rows(base);
  weir_builder *bld;
  int rc = weir_builder_create(&bld);
  if (rc)
    return rc;
  char name[256];
  size_t ncols = 0;
  int verdict = !k->no_verdict && w->cfg->common.mode == WEIR_TEXT_ANNOTATE;
  if (verdict) {
    snprintf(name, sizeof name, "%spass", w->cfg->prefix);
    rc = weir_builder_add_column(bld, name, WEIR_TYPE_BOOL);
    snprintf(name, sizeof name, "%sreason", w->cfg->prefix);
    if (!rc)
      rc = weir_builder_add_column(bld, name, WEIR_TYPE_STRING);
    ncols = 2;
  }
  for (size_t j = 0; j < k->nannot && !rc; j++) {
    snprintf(name, sizeof name, "%s%s", k->annots_unprefixed ? "" : w->cfg->prefix,
             k->annots[j].name);
    rc = weir_builder_add_column(bld, name, k->annots[j].type);
  }
  if (!rc)
    rc = weir_builder_reserve(bld, n);
  for (size_t i = 0; i < n && !rc; i++) {
    if (verdict) {
      rc = weir_builder_append_bool(bld, 0, res[i].reason == NULL);
      const char *r = res[i].reason ? res[i].reason : "";
      if (!rc)
        rc = weir_builder_append_string(bld, 1, r, strlen(r));
    }
    for (size_t j = 0; j < k->nannot && !rc; j++) {
      double v = call->measures[i * k->nannot + j];
      size_t cj = ncols + j;
      switch (k->annots[j].type) {
      case WEIR_TYPE_STRING: {
        const char *s = call->strs ? call->strs[i * k->nannot + j] : NULL;
        rc = s ? weir_builder_append_string(bld, cj, s, strlen(s))
               : weir_builder_append_null(bld, cj);
        break;
      }
      case WEIR_TYPE_INT32: {
        int32_t x = (int32_t)v;
        rc = weir_builder_append_values(bld, cj, &x, 1);
        break;
      }
      case WEIR_TYPE_INT64:
        rc = weir_builder_append_int64(bld, cj, (int64_t)v);
        break;
      default:
        rc = weir_builder_append_float64(bld, cj, v);
      }
    }
  }
  weir_block *extra = NULL;
  if (!rc)
    rc = weir_builder_finish(bld, &extra);
  weir_builder_destroy(bld);
  if (!rc)
    rc = weir_block_add_columns(base, extra, out);
  weir_block_unref(&extra);
  return rc;
}

int weir__text_send_rejected(const weir_text_common *common, const weir_block *b,
                             const uint8_t *keep, const char *reason,
                             const char *const *reasons) {
  size_t n = weir_block_num_rows(b), k = 0;
  uint8_t *drop = malloc(n ? n : 1);
  if (!drop)
    return WEIR_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    drop[i] = !keep[i];
    k += drop[i];
  }
  weir_block *rows = NULL, *extra = NULL, *out = NULL;
  weir_builder *bld = NULL;
  int rc = weir__block_keep(b, drop, k, &rows);
  if (!rc)
    rc = weir_builder_create(&bld);
  if (!rc)
    rc = weir_builder_add_column(bld, "reason", WEIR_TYPE_STRING);
  for (size_t i = 0; i < n && !rc; i++)
    if (drop[i]) {
      const char *why = reasons ? reasons[i] : reason;
      rc = weir_builder_append_string(bld, 0, why, strlen(why));
    }
  if (!rc)
    rc = weir_builder_finish(bld, &extra);
  if (!rc)
    rc = weir_block_add_columns(rows, extra, &out);
  weir_builder_destroy(bld);
  weir_block_unref(&rows);
  weir_block_unref(&extra);
  free(drop);
  if (!rc)
    common->rejected(common->rejected_user, out);
  return rc;
}

/* The filters' rejected rows, each with the reason its rule gave. */
static int send_rejected(text_worker *w, const weir_block *b, const uint8_t *keep,
                         const weir__row_result *res) {
  size_t n = weir_block_num_rows(b);
  const char **reasons = malloc((n ? n : 1) * sizeof *reasons);
  if (!reasons)
    return WEIR_ENOMEM;
  for (size_t i = 0; i < n; i++)
    reasons[i] = keep[i] ? NULL : res[i].reason;
  int rc = weir__text_send_rejected(&w->cfg->common, b, keep, NULL, reasons);
  free(reasons);
  return rc;
}

static int text_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  text_worker *w = state;
  text_cfg *cfg = w->cfg;
  const weir__text_kind *k = cfg->kind;
  int ci = weir_block_column_index(in, cfg->column);
  if (ci < 0) {
    weir_ctx_set_errmsg(ctx, "no column '%s' in the input (set the text column in the "
                        "operator's options)", cfg->column);
    return WEIR_ENOTFOUND;
  }
  weir_column tc;
  weir_block_column(in, (size_t)ci, &tc);
  if (tc.type != WEIR_TYPE_STRING) {
    weir_ctx_set_errmsg(ctx, "column '%s' is %s, not string", cfg->column,
                        weir_type_name(tc.type));
    return WEIR_EINVAL;
  }
  weir_block *b = NULL;
  int rc = check_rows(w, in, (size_t)ci, ctx, &b);
  if (rc)
    return rc;
  size_t n = weir_block_num_rows(b);
  weir__text_call call = {0};
  call.kind = k;
  call.opts = cfg->opts;
  call.wstate = w->wstate;
  call.tok = w->tok;
  call.ctx = ctx;
  call.in = b;
  call.text_col = (size_t)ci;
  weir_block_column(b, (size_t)ci, &call.text);
  weir__row_result *res = calloc(n ? n : 1, sizeof *res);
  uint8_t *keep = malloc(n ? n : 1);
  if (k->nannot) {
    call.measures = calloc((n ? n : 1) * k->nannot, sizeof *call.measures);
    call.strs = calloc((n ? n : 1) * k->nannot, sizeof *call.strs);
  }
  if (!res || !keep || (k->nannot && (!call.measures || !call.strs))) {
    rc = WEIR_ENOMEM;
    goto done;
  }
  if (k->needs_words && n) {
    rc = weir__block_words(b, (size_t)ci, w->tok, &call.words);
    if (rc)
      goto done;
  }
  if (k->block_begin && (rc = k->block_begin(&call)))
    goto done;
  for (size_t i = 0; i < n; i++) {
    const char *s = (const char *)call.text.data + call.text.offsets[i];
    size_t len = (size_t)(call.text.offsets[i + 1] - call.text.offsets[i]);
    rc = k->row(&call, i, s, len, &res[i]);
    if (rc) {
      if (rc != WEIR_ECANCELED)
        weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu: %s", cfg->column, i,
                            n, weir_strerror(rc));
      goto done;
    }
    if ((i & 1023) == 1023 && weir_ctx_cancelled(ctx)) {
      rc = WEIR_ECANCELED;
      goto done;
    }
  }
  if (k->block_end && (rc = k->block_end(&call)))
    goto done;

  /* Verdicts: counted per reason; dropped in filter mode. */
  reason_count rcount[64];
  size_t nrc = 0, kept = 0;
  int filter = cfg->common.mode == WEIR_TEXT_FILTER && !k->no_verdict;
  for (size_t i = 0; i < n; i++) {
    keep[i] = !filter || res[i].reason == NULL;
    kept += keep[i];
    if (res[i].reason)
      tally(rcount, &nrc, 64, res[i].reason);
  }
  for (size_t r = 0; r < nrc; r++) {
    if (filter) {
      weir_ctx_count_dropped(ctx, rcount[r].reason, rcount[r].n);
    } else {
      char name[256];
      snprintf(name, sizeof name, "flagged:%s", rcount[r].reason);
      weir_ctx_count(ctx, name, rcount[r].n);
    }
  }
  if (filter && kept < n && cfg->common.rejected && (rc = send_rejected(w, b, keep, res)))
    goto done;

  /* The output: rewritten texts, annotation columns, kept rows. */
  weir_block *cur = weir_block_ref(b), *next = NULL;
  if (k->rewrites) {
    char **texts = calloc(n ? n : 1, sizeof *texts);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    size_t changed = 0;
    if (!texts || !lens) {
      free(texts);
      free(lens);
      weir_block_unref(&cur);
      rc = WEIR_ENOMEM;
      goto done;
    }
    for (size_t i = 0; i < n; i++)
      if (res[i].new_text && keep[i]) {
        texts[i] = res[i].new_text;
        lens[i] = res[i].new_len;
        changed++;
      }
    if (changed) {
      rc = weir__block_replace_strings(cur, (size_t)ci, texts, lens, &next);
      weir_block_unref(&cur);
      cur = next;
    }
    free(texts);
    free(lens);
    if (rc)
      goto done;
  }
  if (cfg->annots) {
    rc = add_annotations(w, &call, cur, res, &next);
    weir_block_unref(&cur);
    if (rc)
      goto done;
    cur = next;
  }
  if (kept < n) {
    rc = weir__block_keep(cur, keep, kept, &next);
    if (!rc && k->needs_words && !k->rewrites)
      weir__words_carry(cur, next, (size_t)ci, keep);
    weir_block_unref(&cur);
    if (rc)
      goto done;
    cur = next;
  }
  /* A block whose rows were all dropped is not sent on. */
  if (weir_block_num_rows(cur) == 0 && n > 0)
    weir_block_unref(&cur);
  else
    rc = weir_emit_block(emit, cur);

done:
  if (res)
    for (size_t i = 0; i < n; i++)
      free(res[i].new_text);
  free(res);
  free(keep);
  free(call.strs);
  free(call.measures);
  weir_block_unref(&b);
  return rc;
}

void weir__text_common_defaults(weir_text_common *c, const weir__text_kind *kind) {
  if (!c->column || !*c->column)
    c->column = "text";
  if (!c->prefix)
    c->prefix = kind->prefix;
  if (!c->name || !*c->name)
    c->name = kind->kind;
}

weir_op *weir__text_op(weir_pipeline *p, weir_op *in, const weir__text_kind *kind,
                       const void *opts, const weir_text_common *common,
                       const weir_op_options *op_opts) {
  /* The strings the options own (kind->opts_free) are taken: freed here
   * on failure, with the operator otherwise. */
  if (!p || !in) {
    if (kind->opts_free)
      kind->opts_free((void *)opts);
    return p ? weir__text_fail(p, WEIR_EINVAL, "%s: NULL input operator", kind->kind) : NULL;
  }
  weir_text_common cm = *common;
  weir__text_common_defaults(&cm, kind);
  int bad_mode = cm.mode != WEIR_TEXT_FILTER && cm.mode != WEIR_TEXT_ANNOTATE;
  int bad_policy = cm.on_error != WEIR_ON_ERROR_FAIL && cm.on_error != WEIR_ON_ERROR_SKIP;
  text_cfg *cfg = bad_mode || bad_policy ? NULL : calloc(1, sizeof *cfg);
  if (!cfg) {
    if (kind->opts_free)
      kind->opts_free((void *)opts);
    if (bad_mode)
      return weir__text_fail(p, WEIR_EINVAL, "%s: mode %d is neither WEIR_TEXT_FILTER nor "
                             "WEIR_TEXT_ANNOTATE", kind->kind, cm.mode);
    if (bad_policy)
      return weir__text_fail(p, WEIR_EINVAL, "%s: on_error %d is not a WEIR_ON_ERROR_* value",
                             kind->kind, cm.on_error);
    return weir__text_fail(p, WEIR_ENOMEM, "%s: out of memory", kind->kind);
  }
  cfg->kind = kind;
  cfg->opts = malloc(kind->opts_size);
  cfg->column = strdup(cm.column);
  cfg->prefix = strdup(cm.prefix);
  char *name = strdup(cm.name);
  if (!cfg->opts || !cfg->column || !cfg->prefix || !name) {
    free(name);
    free(cfg->opts);
    cfg->opts = NULL;
    free(cfg->column);
    free(cfg->prefix);
    free(cfg);
    if (kind->opts_free)
      kind->opts_free((void *)opts);
    return weir__text_fail(p, WEIR_ENOMEM, "%s: out of memory", kind->kind);
  }
  memcpy(cfg->opts, opts, kind->opts_size);
  cm.column = cfg->column;
  cm.prefix = cfg->prefix;
  cm.name = name;
  cfg->common = cm;
  cfg->annots = kind->want_annots ? kind->want_annots(opts, cm.mode) : cm.mode == WEIR_TEXT_ANNOTATE;
  weir_op_def def = {WEIR_OP_DEF_VERSION, cfg->common.name, worker_init, text_process, NULL,
                     worker_destroy};
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  if (op_opts)
    oo = *op_opts;
  else
    oo.max_workers = cm.max_workers;
  weir_op *op = weir_add_op(p, in, &def, cfg, &oo);
  if (!op) {
    cfg_free(cfg);
    return NULL;
  }
  weir__op_set_cleanup(op, cfg_free, cfg);
  return op;
}
