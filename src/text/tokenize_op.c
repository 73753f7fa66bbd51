/* weir_tokenize: the text column encoded by a weir_tokenizer into a
 * `tokens` list column and a `token_count` column, block by block on a
 * pool of workers, each with its own tokenizer cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "text/text_internal.h"
#include "weir/error.h"

typedef struct tok_cfg {
  weir_tokenize_options o;
  const weir_tokenizer *t;
  char *column, *name, *tokens, *count;
  int32_t bos, eos;          /* resolved; -1 when not added */
} tok_cfg;

typedef struct tok_worker {
  tok_cfg *c;
  weir_tokenizer_cache *cache;
} tok_worker;

static void cfg_free(void *arg) {
  tok_cfg *c = arg;
  if (!c)
    return;
  free(c->column);
  free(c->name);
  free(c->tokens);
  free(c->count);
  free(c);
}

static int tk_init(void *user, int worker, void **state) {
  (void)worker;
  tok_cfg *c = user;
  tok_worker *w = calloc(1, sizeof *w);
  if (!w)
    return WEIR_ENOMEM;
  w->c = c;
  int rc = weir_tokenizer_cache_create(c->t, &w->cache);
  if (rc) {
    free(w);
    weir_set_last_errmsg("cannot make a tokenizer cache: %s", weir_strerror(rc));
    return rc;
  }
  *state = w;
  return WEIR_OK;
}

static void tk_destroy(void *state) {
  tok_worker *w = state;
  if (!w)
    return;
  weir_tokenizer_cache_destroy(w->cache);
  free(w);
}

static int tk_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  tok_worker *w = state;
  tok_cfg *c = w->c;
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
  if (weir_block_column_index(in, c->tokens) >= 0 ||
      (*c->count && weir_block_column_index(in, c->count) >= 0)) {
    weir_ctx_set_errmsg(ctx, "the input already has a column '%s' (name the output columns "
                        "in the operator's options)",
                        weir_block_column_index(in, c->tokens) >= 0 ? c->tokens : c->count);
    return WEIR_EINVAL;
  }
  size_t n = text.length;
  uint8_t *keep = NULL;
  size_t skipped = 0;
  weir_builder *bld;
  int rc = weir_builder_create(&bld);
  if (rc)
    return rc;
  rc = weir_builder_add_list_column(bld, c->tokens, WEIR_DTYPE_INT32);
  if (!rc && *c->count)
    rc = weir_builder_add_column(bld, c->count, WEIR_TYPE_INT64);
  if (!rc)
    rc = weir_builder_reserve(bld, n);
  unsigned flags = c->o.flags;
  uint64_t tokens = 0;
  int32_t *buf = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const char *s = (const char *)text.data + text.offsets[i];
    size_t len = (size_t)(text.offsets[i + 1] - text.offsets[i]);
    const char *why = NULL;
    const int32_t *ids = NULL;
    size_t nid = 0;
    if (text.validity && !weir__bit_get(text.validity, i)) {
      why = "the text is null";
    } else {
      rc = weir_tokenizer_encode_cached(c->t, w->cache, s, len, flags, &ids, NULL, &nid);
      if (rc == WEIR_EFORMAT) {
        why = weir_last_errmsg();
        rc = WEIR_OK;
      } else if (rc) {
        weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu: %s", c->column, i, n,
                            weir_last_errmsg());
        break;
      }
    }
    if (why) {
      if (c->o.common.on_error != WEIR_ON_ERROR_SKIP) {
        weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu: %s", c->column, i, n,
                            why);
        rc = WEIR_EFORMAT;
        break;
      }
      if (!keep) {
        keep = malloc(n ? n : 1);
        if (!keep) {
          rc = WEIR_ENOMEM;
          break;
        }
        memset(keep, 1, n);
      }
      keep[i] = 0;
      skipped++;
      continue;
    }
    size_t total = nid + (c->bos >= 0) + (c->eos >= 0);
    const int32_t *row = ids;
    if (total != nid) {
      /* BOS / EOS around the ids: one copy into a scratch row. */
      if (total > cap) {
        size_t nc = cap ? cap : 256;
        while (nc < total)
          nc *= 2;
        int32_t *nb = realloc(buf, nc * sizeof *nb);
        if (!nb) {
          rc = WEIR_ENOMEM;
          break;
        }
        buf = nb;
        cap = nc;
      }
      size_t k = 0;
      if (c->bos >= 0)
        buf[k++] = c->bos;
      if (nid)
        memcpy(buf + k, ids, nid * sizeof *buf);
      k += nid;
      if (c->eos >= 0)
        buf[k++] = c->eos;
      row = buf;
    }
    rc = weir_builder_append_list(bld, 0, row, total);
    if (!rc && *c->count)
      rc = weir_builder_append_int64(bld, 1, (int64_t)total);
    tokens += total;
    if (!rc && (i & 255) == 255 && weir_ctx_cancelled(ctx))
      rc = WEIR_ECANCELED;
  }
  free(buf);
  weir_block *extra = NULL, *base = NULL, *out = NULL;
  if (!rc)
    rc = weir_builder_finish(bld, &extra);
  weir_builder_destroy(bld);
  if (!rc && skipped) {
    rc = weir__block_keep(in, keep, n - skipped, &base);
    weir_ctx_count_skipped(ctx, skipped);
    weir_ctx_log(ctx, WEIR_LOG_DEBUG, "skipped %zu malformed rows (null or invalid UTF-8)",
                 skipped);
  } else if (!rc) {
    base = weir_block_ref(in);
  }
  free(keep);
  if (!rc && !c->o.keep_text) {
    weir_block *sel = NULL;
    size_t nc = weir_block_num_columns(base), k = 0;
    size_t *idx = malloc((nc ? nc : 1) * sizeof *idx);
    if (!idx)
      rc = WEIR_ENOMEM;
    for (size_t j = 0; j < nc && !rc; j++)
      if (j != (size_t)ci)
        idx[k++] = j;
    if (!rc)
      rc = weir_block_select(base, idx, k, &sel);
    free(idx);
    weir_block_unref(&base);
    base = sel;
  }
  if (!rc)
    rc = weir_block_add_columns(base, extra, &out);
  weir_block_unref(&base);
  weir_block_unref(&extra);
  weir_ctx_count(ctx, "tokens", tokens);
  if (rc)
    return rc;
  if (weir_block_num_rows(out) == 0 && n > 0) {
    weir_block_unref(&out);
    return WEIR_OK;
  }
  return weir_emit_block(emit, out);
}

weir_op *weir_tokenize(weir_pipeline *p, weir_op *in, const weir_tokenizer *t,
                       const weir_tokenize_options *o) {
  if (!p)
    return NULL;
  weir_tokenize_options d = WEIR_TOKENIZE_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_tokenize", o->version, WEIR_TOKENIZE_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  if (!in)
    return weir__text_fail(p, WEIR_EINVAL, "weir_tokenize: NULL input operator");
  if (!t)
    return weir__text_fail(p, WEIR_EINVAL, "weir_tokenize: NULL tokenizer");
  if (d.common.on_error != WEIR_ON_ERROR_FAIL && d.common.on_error != WEIR_ON_ERROR_SKIP)
    return weir__text_fail(p, WEIR_EINVAL, "weir_tokenize: on_error %d is not a "
                           "WEIR_ON_ERROR_* value", d.common.on_error);
  const unsigned known = WEIR_TOKENIZE_ADD_SPECIAL | WEIR_TOKENIZE_SPLIT_SPECIAL |
                         WEIR_TOKENIZE_REPLACE_INVALID;
  if (d.flags & ~known)
    return weir__text_fail(p, WEIR_EINVAL, "weir_tokenize: unknown flags 0x%x",
                           d.flags & ~known);
  int32_t vocab = (int32_t)weir_tokenizer_vocab_size(t);
  int32_t bos = -1, eos = -1;
  if (d.add_bos) {
    bos = d.bos_id >= 0 ? (int32_t)d.bos_id : weir_tokenizer_bos_id(t);
    if (bos < 0)
      return weir__text_fail(p, WEIR_EINVAL, "weir_tokenize: add_bos, but the tokenizer has no "
                             "BOS token (set bos_id)");
  }
  if (d.add_eos) {
    eos = d.eos_id >= 0 ? (int32_t)d.eos_id : weir_tokenizer_eos_id(t);
    if (eos < 0)
      return weir__text_fail(p, WEIR_EINVAL, "weir_tokenize: add_eos, but the tokenizer has no "
                             "EOS token (set eos_id)");
  }
  if ((d.add_bos && (d.bos_id >= vocab || bos >= vocab)) ||
      (d.add_eos && (d.eos_id >= vocab || eos >= vocab)))
    return weir__text_fail(p, WEIR_EINVAL, "weir_tokenize: %s id %lld is outside the "
                           "vocabulary (%d ids)", d.add_bos && bos >= vocab ? "BOS" : "EOS",
                           (long long)(d.add_bos && bos >= vocab ? bos : eos), (int)vocab);
  tok_cfg *c = calloc(1, sizeof *c);
  if (!c)
    return weir__text_fail(p, WEIR_ENOMEM, "weir_tokenize: out of memory");
  c->o = d;
  c->t = t;
  c->bos = bos;
  c->eos = eos;
  c->column = strdup(d.common.column && *d.common.column ? d.common.column : "text");
  c->name = strdup(d.common.name && *d.common.name ? d.common.name : "tokenize");
  c->tokens = strdup(d.tokens_column && *d.tokens_column ? d.tokens_column : "tokens");
  c->count = strdup(d.count_column ? d.count_column : "token_count");
  if (!c->column || !c->name || !c->tokens || !c->count) {
    cfg_free(c);
    return weir__text_fail(p, WEIR_ENOMEM, "weir_tokenize: out of memory");
  }
  c->o.common.column = c->column;
  c->o.common.name = c->name;
  weir_op_def def = {WEIR_OP_DEF_VERSION, c->name, tk_init, tk_process, NULL, tk_destroy};
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.max_workers = d.common.max_workers;
  weir_op *op = weir_add_op(p, in, &def, c, &oo);
  if (!op) {
    cfg_free(c);
    return NULL;
  }
  weir__op_set_cleanup(op, cfg_free, c);
  return op;
}
