/* weir_pack_sequences: documents' token lists, each followed by an EOS,
 * cut into rows of exactly seq_len tokens. One worker holds the partial
 * row between blocks (and, with WEIR_PACK_LAST_CARRY, between runs), so
 * every token lands in exactly one row. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "text/text_internal.h"
#include "weir/error.h"

typedef struct i32buf {
  int32_t *v;
  size_t n, cap;
} i32buf;

static int i32_reserve(i32buf *b, size_t more) {
  if (b->n + more <= b->cap)
    return WEIR_OK;
  size_t nc = b->cap ? b->cap : 64;
  while (nc < b->n + more)
    nc *= 2;
  int32_t *nv = realloc(b->v, nc * sizeof *nv);
  if (!nv)
    return WEIR_ENOMEM;
  b->v = nv;
  b->cap = nc;
  return WEIR_OK;
}

static int i32_push(i32buf *b, int32_t x) {
  int rc = i32_reserve(b, 1);
  if (!rc)
    b->v[b->n++] = x;
  return rc;
}

typedef struct pack_cfg {
  weir_pack_options o;
  char *column, *name;
  size_t L;                /* seq_len */
  /* The run's state (one worker). */
  i32buf row;              /* the partial row: < L tokens */
  i32buf starts;           /* its segment starts */
  /* Full rows of the block in progress. */
  i32buf rows;             /* k * L tokens */
  i32buf rstarts;          /* their starts, one after the other */
  i32buf rnstarts;         /* how many starts each row has */
  /* What WEIR_PACK_LAST_CARRY kept from the last run that finished. */
  i32buf carry, carry_starts;
  int have_carry;
} pack_cfg;

static void cfg_free(void *arg) {
  pack_cfg *c = arg;
  if (!c)
    return;
  free(c->row.v);
  free(c->starts.v);
  free(c->rows.v);
  free(c->rstarts.v);
  free(c->rnstarts.v);
  free(c->carry.v);
  free(c->carry_starts.v);
  free(c->column);
  free(c->name);
  free(c);
}

static int pk_init(void *user, int worker, void **state) {
  (void)worker;
  pack_cfg *c = user;
  c->row.n = c->starts.n = c->rows.n = c->rstarts.n = c->rnstarts.n = 0;
  if (c->have_carry) {
    /* The previous run's last partial row starts this one. */
    i32buf t = c->row;
    c->row = c->carry;
    c->carry = t;
    t = c->starts;
    c->starts = c->carry_starts;
    c->carry_starts = t;
    c->carry.n = c->carry_starts.n = 0;
    c->have_carry = 0;
  }
  *state = c;
  return WEIR_OK;
}

/* Moves the full partial row to the block's rows. */
static int row_done(pack_cfg *c) {
  int rc = i32_reserve(&c->rows, c->L);
  if (!rc)
    rc = i32_reserve(&c->rstarts, c->starts.n);
  if (!rc)
    rc = i32_push(&c->rnstarts, (int32_t)c->starts.n);
  if (rc)
    return rc;
  memcpy(c->rows.v + c->rows.n, c->row.v, c->L * sizeof(int32_t));
  c->rows.n += c->L;
  memcpy(c->rstarts.v + c->rstarts.n, c->starts.v, c->starts.n * sizeof(int32_t));
  c->rstarts.n += c->starts.n;
  c->row.n = c->starts.n = 0;
  return WEIR_OK;
}

/* Appends one token to the stream; `doc_first` marks a document's first. */
static inline int put(pack_cfg *c, int32_t tok, int doc_first) {
  if (c->row.n == 0 || doc_first) {
    int rc = i32_push(&c->starts, (int32_t)c->row.n);
    if (rc)
      return rc;
  }
  c->row.v[c->row.n++] = tok;
  return c->row.n == c->L ? row_done(c) : WEIR_OK;
}

/* Token k of list element storage `data` of `dtype`, range-checked. */
static int token_at(const void *data, int dtype, int64_t k, int32_t *out) {
  int64_t v;
  switch (dtype) {
  case WEIR_DTYPE_INT32:
    *out = ((const int32_t *)data)[k];
    return 1;
  case WEIR_DTYPE_INT8:
    v = ((const int8_t *)data)[k];
    break;
  case WEIR_DTYPE_UINT8:
    v = ((const uint8_t *)data)[k];
    break;
  case WEIR_DTYPE_INT16:
    v = ((const int16_t *)data)[k];
    break;
  case WEIR_DTYPE_UINT16:
    v = ((const uint16_t *)data)[k];
    break;
  case WEIR_DTYPE_INT64:
    v = ((const int64_t *)data)[k];
    break;
  case WEIR_DTYPE_UINT32:
    v = ((const uint32_t *)data)[k];
    break;
  case WEIR_DTYPE_UINT64: {
    uint64_t u = ((const uint64_t *)data)[k];
    if (u > INT32_MAX)
      return 0;
    v = (int64_t)u;
    break;
  }
  default:
    return 0;
  }
  if (v < INT32_MIN || v > INT32_MAX)
    return 0;
  *out = (int32_t)v;
  return 1;
}

static int is_int_dtype(int d) {
  return d == WEIR_DTYPE_INT8 || d == WEIR_DTYPE_UINT8 || d == WEIR_DTYPE_INT16 ||
         d == WEIR_DTYPE_UINT16 || d == WEIR_DTYPE_INT32 || d == WEIR_DTYPE_UINT32 ||
         d == WEIR_DTYPE_INT64 || d == WEIR_DTYPE_UINT64;
}

/* Builds and sends a block of `nrows` rows: the tokens in rows.v, the
 * starts in rstarts/rnstarts, the non-pad counts in `lens` (NULL = all L). */
static int emit_rows(pack_cfg *c, size_t nrows, const int32_t *lens, weir_emit *emit) {
  weir_builder *bld;
  int rc = weir_builder_create(&bld);
  if (rc)
    return rc;
  int64_t shape[1] = {(int64_t)c->L};
  size_t col = 0, sc = 0, lc = 0;
  rc = weir_builder_add_tensor_column(bld, "tokens", WEIR_DTYPE_INT32, 1, shape);
  col++;
  if (!rc && c->o.doc_starts) {
    rc = weir_builder_add_list_column(bld, "doc_starts", WEIR_DTYPE_INT32);
    sc = col++;
  }
  if (!rc && c->o.num_tokens) {
    rc = weir_builder_add_column(bld, "num_tokens", WEIR_TYPE_INT32);
    lc = col++;
  }
  if (!rc)
    rc = weir_builder_append_values(bld, 0, c->rows.v, nrows);
  size_t so = 0;
  for (size_t r = 0; r < nrows && !rc; r++) {
    if (c->o.doc_starts) {
      size_t k = (size_t)c->rnstarts.v[r];
      rc = weir_builder_append_list(bld, sc, c->rstarts.v + so, k);
      so += k;
    }
    if (!rc && c->o.num_tokens)
      rc = weir_builder_append_int64(bld, lc, lens ? lens[r] : (int64_t)c->L);
  }
  weir_block *b = NULL;
  if (!rc)
    rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  c->rows.n = c->rstarts.n = c->rnstarts.n = 0;
  return rc ? rc : weir_emit_block(emit, b);
}

static int pk_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  pack_cfg *c = state;
  int ci = weir_block_column_index(in, c->column);
  if (ci < 0) {
    weir_ctx_set_errmsg(ctx, "no column '%s' in the input (the token lists weir_tokenize "
                        "makes; set the column in the options)", c->column);
    return WEIR_ENOTFOUND;
  }
  weir_column col;
  weir_block_column(in, (size_t)ci, &col);
  if (col.type != WEIR_TYPE_LIST || !is_int_dtype(col.dtype)) {
    weir_ctx_set_errmsg(ctx, "column '%s' is %s%s%s, not a list of integers", c->column,
                        weir_type_name(col.type), col.type == WEIR_TYPE_LIST ? " of " : "",
                        col.type == WEIR_TYPE_LIST ? weir_dtype_name(col.dtype) : "");
    return WEIR_EINVAL;
  }
  int rc = i32_reserve(&c->row, c->L);
  if (rc)
    return rc;
  size_t n = col.length;
  uint64_t docs = 0, empty = 0, tokens = 0, seps = 0;
  int has_eos = c->o.eos_id >= 0;
  for (size_t i = 0; i < n && !rc; i++) {
    int64_t a = col.offsets[i], b = col.offsets[i + 1];
    if (b <= a || (col.validity && !weir__bit_get(col.validity, i))) {
      empty++;
      continue;
    }
    docs++;
    tokens += (uint64_t)(b - a);
    if (col.dtype == WEIR_DTYPE_INT32) {
      /* Whole runs at a time: the common case. */
      const int32_t *t = (const int32_t *)col.data;
      int64_t k = a;
      rc = put(c, t[k++], 1);
      while (k < b && !rc) {
        size_t room = c->L - c->row.n, m = (size_t)(b - k);
        if (m > room)
          m = room;
        if (c->row.n == 0 && (rc = i32_push(&c->starts, 0)))
          break;
        memcpy(c->row.v + c->row.n, t + k, m * sizeof(int32_t));
        c->row.n += m;
        k += (int64_t)m;
        if (c->row.n == c->L)
          rc = row_done(c);
      }
    } else {
      for (int64_t k = a; k < b && !rc; k++) {
        int32_t tok;
        if (!token_at(col.data, col.dtype, k, &tok)) {
          weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu: token %lld does "
                              "not fit int32", c->column, i, n, (long long)(k - a));
          rc = WEIR_EINVAL;
          break;
        }
        rc = put(c, tok, k == a);
      }
    }
    if (!rc && has_eos) {
      rc = put(c, (int32_t)c->o.eos_id, 0);
      seps++;
    }
  }
  size_t nrows = c->rnstarts.n;
  if (!rc && nrows)
    rc = emit_rows(c, nrows, NULL, emit);
  weir_ctx_count(ctx, "docs", docs);
  weir_ctx_count(ctx, "empty_docs", empty);
  weir_ctx_count(ctx, "tokens", tokens);
  weir_ctx_count(ctx, "separators", seps);
  weir_ctx_count(ctx, "rows", nrows);
  return rc;
}

static int pk_finish(void *state, weir_emit *emit, weir_ctx *ctx) {
  pack_cfg *c = state;
  size_t have = c->row.n;
  if (!have)
    return WEIR_OK;
  switch (c->o.last) {
  case WEIR_PACK_LAST_DROP:
    weir_ctx_count(ctx, "dropped_tokens", have);
    c->row.n = c->starts.n = 0;
    return WEIR_OK;
  case WEIR_PACK_LAST_CARRY: {
    i32buf t = c->carry;
    c->carry = c->row;
    c->row = t;
    t = c->carry_starts;
    c->carry_starts = c->starts;
    c->starts = t;
    c->row.n = c->starts.n = 0;
    c->have_carry = 1;
    weir_ctx_count(ctx, "carried_tokens", have);
    return WEIR_OK;
  }
  default: {
    int32_t len = (int32_t)have;
    for (size_t k = have; k < c->L; k++)
      c->row.v[k] = (int32_t)c->o.pad_id;
    c->row.n = c->L;
    int rc = row_done(c);
    if (!rc)
      rc = emit_rows(c, 1, &len, emit);
    weir_ctx_count(ctx, "pad_tokens", c->L - have);
    weir_ctx_count(ctx, "rows", 1);
    return rc;
  }
  }
}

weir_op *weir_pack_sequences(weir_pipeline *p, weir_op *in, const weir_pack_options *o) {
  if (!p)
    return NULL;
  weir_pack_options d = WEIR_PACK_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_pack_sequences", o->version,
                                 WEIR_PACK_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  if (!in)
    return weir__text_fail(p, WEIR_EINVAL, "weir_pack_sequences: NULL input operator");
  size_t L = d.seq_len ? d.seq_len : 2048;
  if (L > (size_t)INT32_MAX)
    return weir__text_fail(p, WEIR_EINVAL, "weir_pack_sequences: seq_len %zu is too large",
                           d.seq_len);
  if (d.eos_id > INT32_MAX)
    return weir__text_fail(p, WEIR_EINVAL, "weir_pack_sequences: eos_id %lld does not fit "
                           "int32", (long long)d.eos_id);
  if (d.pad_id > INT32_MAX || d.pad_id < INT32_MIN)
    return weir__text_fail(p, WEIR_EINVAL, "weir_pack_sequences: pad_id %lld does not fit "
                           "int32", (long long)d.pad_id);
  if (d.last != WEIR_PACK_LAST_PAD && d.last != WEIR_PACK_LAST_DROP &&
      d.last != WEIR_PACK_LAST_CARRY)
    return weir__text_fail(p, WEIR_EINVAL, "weir_pack_sequences: last %d is not a "
                           "WEIR_PACK_LAST_* value", d.last);
  pack_cfg *c = calloc(1, sizeof *c);
  if (!c)
    return weir__text_fail(p, WEIR_ENOMEM, "weir_pack_sequences: out of memory");
  c->o = d;
  c->L = L;
  c->column = strdup(d.column && *d.column ? d.column : "tokens");
  c->name = strdup(d.name && *d.name ? d.name : "pack_sequences");
  if (!c->column || !c->name) {
    cfg_free(c);
    return weir__text_fail(p, WEIR_ENOMEM, "weir_pack_sequences: out of memory");
  }
  c->o.column = c->column;
  c->o.name = c->name;
  weir_op_def def = {WEIR_OP_DEF_VERSION, c->name, pk_init, pk_process, pk_finish, NULL};
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  /* One worker: the partial row is carried from block to block. A call is
   * never retried: its tokens already moved into the rows. */
  oo.min_workers = oo.max_workers = 1;
  oo.preserve_order = !d.any_order;
  oo.max_retries = WEIR_RETRIES_NONE;
  weir_op *op = weir_add_op(p, in, &def, c, &oo);
  if (!op) {
    cfg_free(c);
    return NULL;
  }
  weir__op_set_cleanup(op, cfg_free, c);
  weir__op_set_per_block(op, -1); /* a partial row crosses blocks */
  return op;
}
