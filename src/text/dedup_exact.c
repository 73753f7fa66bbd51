/* weir_dedup_exact: drops (or marks with `dup_of`) the rows whose key was
 * seen earlier in input order. One worker, ordered input: the decision for
 * a row depends only on the rows before it, so the output is the same
 * whatever ran upstream and how fast. The seen keys live in a
 * weir__seen (dedup_seen.c), which spills sorted runs past its limit.
 * In priority mode a later row may win over an earlier one, so the rows
 * are held (held.c) and the best row per key tracked (dedup_prio.c) until
 * the input ends; finish emits the rows kept in input order. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "core/utf8.h"
#include "exec/exec_internal.h"
#include "text/dedup.h"
#include "text/held.h"
#include "text/table_mem.h"
#include "text/text_internal.h"
#include "weir/error.h"

typedef struct dx_cfg {
  weir_dedup_exact_options o;
  char *column, *name, *dup_of;
  char **keys;            /* key column names (the text column by default) */
  size_t nkeys;
  int text_default;       /* no key_columns: the text column alone */
  size_t limit;
  const char *spill_dir;  /* the pipeline's, borrowed */
  weir__seen *seen;       /* lives across the worker; reset per run */
  uint64_t ord;           /* rows received so far */
  char *norm;             /* normalisation buffer */
  size_t norm_cap;
  unsigned char *kbuf;    /* multi-column key bytes */
  size_t kcap;
  /* Priority mode. */
  char *prio_col;         /* NULL = keep the first */
  weir__prio *prio;
  weir__held held;
  int prio_type;          /* the priority column's type in this run; 0 = none yet */
  uint64_t bad;           /* malformed rows skipped */
  weir__tabmem tm;        /* the key tables' bytes in the pipeline's budget */
} dx_cfg;

static void cfg_free(void *arg) {
  dx_cfg *c = arg;
  if (!c)
    return;
  c->tm.closed = 1; /* the pipeline is going: count nothing */
  weir__seen_destroy(c->seen);
  weir__prio_destroy(c->prio);
  weir__held_clear(&c->held);
  free(c->prio_col);
  for (size_t i = 0; i < c->nkeys; i++)
    free(c->keys[i]);
  free(c->keys);
  free(c->column);
  free(c->name);
  free(c->dup_of);
  free(c->norm);
  free(c->kbuf);
  free(c);
}

/* The operator finished in a run (under the pipeline's lock), whatever
 * ended it: the key tables count no more in its bytes in flight. */
static void dx_finished(void *arg, weir_op *op) {
  (void)op;
  weir__tabmem_close_locked(&((dx_cfg *)arg)->tm);
}

/* A run starts with an empty set of seen keys. */
static int dx_init(void *user, int worker, void **state) {
  (void)worker;
  dx_cfg *c = user;
  /* The last run's tables were counted in its own bytes in flight, which
   * this run starts at zero. */
  pthread_mutex_lock(&c->tm.p->mu);
  c->tm.closed = 1;
  pthread_mutex_unlock(&c->tm.p->mu);
  weir__seen_destroy(c->seen);
  weir__prio_destroy(c->prio);
  weir__held_clear(&c->held);
  c->seen = NULL;
  c->prio = NULL;
  c->ord = c->bad = 0;
  c->prio_type = 0;
  pthread_mutex_lock(&c->tm.p->mu);
  weir__tabmem_open(&c->tm);
  pthread_mutex_unlock(&c->tm.p->mu);
  int rc = c->prio_col ? weir__prio_create(c->limit, c->spill_dir, &c->tm, &c->prio)
                       : weir__seen_create(c->limit, c->spill_dir, &c->tm, &c->seen);
  if (rc) {
    weir_set_last_errmsg("out of memory for the table of %s keys", c->prio_col ? "priority" : "seen");
    return rc;
  }
  *state = c;
  return WEIR_OK;
}

static int kput(dx_cfg *c, size_t *n, const void *p, size_t len) {
  if (*n + len > c->kcap) {
    size_t nc = c->kcap ? c->kcap : 256;
    while (nc < *n + len)
      nc *= 2;
    unsigned char *nb = realloc(c->kbuf, nc);
    if (!nb)
      return WEIR_ENOMEM;
    c->kbuf = nb;
    c->kcap = nc;
  }
  if (len)
    memcpy(c->kbuf + *n, p, len);
  *n += len;
  return WEIR_OK;
}

/* weir__utf8_invalid_at, with the ASCII prefix skipped eight bytes at a
 * time (most text is mostly ASCII). */
static size_t utf8_invalid_at(const char *s, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if (w & 0x8080808080808080ull)
      break;
  }
  return i + weir__utf8_invalid_at(s + i, len - i);
}

static int valid_at(const weir_column *k, size_t i) {
  return !k->validity || weir__bit_get(k->validity, i);
}

/* Why row i cannot be keyed (NULL = it can): with the text column, a
 * null; with normalisation, invalid UTF-8 in a STRING key. */
static const char *malformed(dx_cfg *c, const weir_column *cols, size_t i, size_t *at,
                             size_t *which) {
  for (size_t j = 0; j < c->nkeys; j++) {
    const weir_column *k = &cols[j];
    *which = j;
    if (!valid_at(k, i)) {
      if (c->text_default)
        return "the text is null";
      continue;
    }
    if (k->type == WEIR_TYPE_STRING && c->o.normalize == WEIR_DEDUP_NORM_DPK) {
      const char *s = (const char *)k->data + k->offsets[i];
      size_t len = (size_t)(k->offsets[i + 1] - k->offsets[i]);
      *at = utf8_invalid_at(s, len);
      if (*at < len)
        return "the text is not valid UTF-8";
    }
  }
  return NULL;
}

static size_t fixed_width(int type) {
  switch (type) {
  case WEIR_TYPE_INT32:
  case WEIR_TYPE_FLOAT32:
    return 4;
  case WEIR_TYPE_INT64:
  case WEIR_TYPE_FLOAT64:
    return 8;
  default:
    return 0;
  }
}

/* The bytes of one STRING/BINARY value, normalised when asked. */
static int value_bytes(dx_cfg *c, const weir_column *k, size_t i, const char **p, size_t *len) {
  const char *s = (const char *)k->data + k->offsets[i];
  size_t n = (size_t)(k->offsets[i + 1] - k->offsets[i]);
  if (k->type == WEIR_TYPE_STRING && c->o.normalize == WEIR_DEDUP_NORM_DPK) {
    int rc = weir__dedup_norm_dpk(s, n, &c->norm, &c->norm_cap, &n);
    if (rc)
      return rc;
    s = c->norm;
  }
  *p = s;
  *len = n;
  return WEIR_OK;
}

static int row_key(dx_cfg *c, const weir_column *cols, size_t i, uint64_t h[2]) {
  if (c->text_default) {
    const char *p;
    size_t len;
    int rc = value_bytes(c, &cols[0], i, &p, &len);
    if (!rc)
      weir__xxh128(p, len, h);
    return rc;
  }
  size_t n = 0;
  int rc = WEIR_OK;
  for (size_t j = 0; j < c->nkeys && !rc; j++) {
    const weir_column *k = &cols[j];
    unsigned char tag = valid_at(k, i) ? 1 : 0;
    rc = kput(c, &n, &tag, 1);
    if (rc || !tag)
      continue;
    size_t w = fixed_width(k->type);
    if (w) {
      rc = kput(c, &n, (const unsigned char *)k->data + i * w, w);
      continue;
    }
    const char *p;
    size_t len;
    rc = value_bytes(c, k, i, &p, &len);
    unsigned char le[8];
    for (int b = 0; b < 8 && !rc; b++)
      le[b] = (unsigned char)((uint64_t)len >> (8 * b));
    if (!rc)
      rc = kput(c, &n, le, 8);
    if (!rc)
      rc = kput(c, &n, p, len);
  }
  if (!rc)
    weir__xxh128(c->kbuf, n, h);
  return rc;
}

/* Finds the key columns of `in` (into cols) and, in priority mode, the
 * priority column (into *pc), checking their types. */
static int bind_cols(dx_cfg *c, weir_block *in, weir_ctx *ctx, weir_column *cols,
                     weir_column *pc) {
  for (size_t j = 0; j < c->nkeys; j++) {
    int ci = weir_block_column_index(in, c->keys[j]);
    if (ci < 0) {
      weir_ctx_set_errmsg(ctx, "no column '%s' in the input%s", c->keys[j],
                          c->text_default ? " (set the text column in the options)" : "");
      return WEIR_ENOTFOUND;
    }
    weir_block_column(in, (size_t)ci, &cols[j]);
    int t = cols[j].type;
    if (t != WEIR_TYPE_STRING && (c->text_default || (t != WEIR_TYPE_BINARY && !fixed_width(t)))) {
      weir_ctx_set_errmsg(ctx, "key column '%s' is %s, not %s", c->keys[j], weir_type_name(t),
                          c->text_default ? "string" : "string, binary, int or float");
      return WEIR_EINVAL;
    }
  }
  if (!c->prio_col)
    return WEIR_OK;
  int ci = weir_block_column_index(in, c->prio_col);
  if (ci < 0) {
    weir_ctx_set_errmsg(ctx, "no priority column '%s' in the input", c->prio_col);
    return WEIR_ENOTFOUND;
  }
  weir_block_column(in, (size_t)ci, pc);
  int str = pc->type == WEIR_TYPE_STRING || pc->type == WEIR_TYPE_BINARY;
  if (!fixed_width(pc->type) && !str) {
    weir_ctx_set_errmsg(ctx, "priority column '%s' is %s, not int32, int64, float32, float64, "
                        "string or binary", c->prio_col, weir_type_name(pc->type));
    return WEIR_EINVAL;
  }
  if (c->prio_type && c->prio_type != pc->type) {
    /* Values of two types cannot be ranked against each other. */
    weir_ctx_set_errmsg(ctx, "priority column '%s' is %s in this block but was %s before",
                        c->prio_col, weir_type_name(pc->type), weir_type_name(c->prio_type));
    return WEIR_EINVAL;
  }
  if (!c->prio_type && c->prio) {
    c->prio_type = pc->type;
    if (str)
      weir__prio_strings(c->prio, c->o.priority_lowest);
  }
  return WEIR_OK;
}

static int is_str(const weir_column *pc) {
  return pc->type == WEIR_TYPE_STRING || pc->type == WEIR_TYPE_BINARY;
}

/* A string priority's bytes (NULL for a null): compared bytewise, whole. */
static const char *prio_str_at(const weir_column *pc, size_t i, size_t *len) {
  if (pc->validity && !weir__bit_get(pc->validity, i))
    return NULL;
  *len = (size_t)(pc->offsets[i + 1] - pc->offsets[i]);
  /* A column of empty strings may have no data buffer: "" is no null. */
  return pc->data ? (const char *)pc->data + pc->offsets[i] : "";
}

/* The priority of row i, encoded so that a larger unsigned value wins
 * (inverted for priority_lowest): 1 with *enc, 0 for a null, -1 for NaN
 * or a string of 4 GiB or more. */
static int prio_at(const dx_cfg *c, const weir_column *pc, size_t i, uint64_t *enc) {
  if (!valid_at(pc, i))
    return 0;
  if (is_str(pc)) {
    size_t len;
    prio_str_at(pc, i, &len);
    return len > UINT32_MAX ? -1 : 1;
  }
  uint64_t u;
  if (pc->type == WEIR_TYPE_INT32 || pc->type == WEIR_TYPE_INT64) {
    int64_t v = pc->type == WEIR_TYPE_INT32 ? ((const int32_t *)pc->data)[i]
                                            : ((const int64_t *)pc->data)[i];
    u = (uint64_t)v ^ (1ull << 63);
  } else {
    double d = pc->type == WEIR_TYPE_FLOAT32 ? ((const float *)pc->data)[i]
                                             : ((const double *)pc->data)[i];
    if (isnan(d))
      return -1;
    if (d == 0)
      d = 0; /* -0.0 ties with 0.0, as in SQL */
    memcpy(&u, &d, 8);
    /* IEEE order as unsigned: negatives flipped whole, positives above. */
    u = (u >> 63) ? ~u : u | (1ull << 63);
  }
  *enc = c->o.priority_lowest ? ~u : u;
  return 1;
}

/* Emits the rows of `in` that `keep` marks (annotate: with `dup_of` from
 * dup[], -1 for null), and sends the dropped duplicates to `rejected`. */
static int emit_decided(dx_cfg *c, weir_block *in, const uint8_t *keep, const int64_t *dup,
                        size_t n, size_t kept, size_t dups, weir_emit *emit, weir_ctx *ctx) {
  weir_block *cur = NULL;
  int rc = WEIR_OK;
  if (c->o.common.mode == WEIR_TEXT_ANNOTATE) {
    weir_builder *bld;
    rc = weir_builder_create(&bld);
    if (rc)
      return rc;
    rc = weir_builder_add_column(bld, c->dup_of, WEIR_TYPE_INT64);
    if (!rc)
      rc = weir_builder_reserve(bld, n);
    for (size_t i = 0; i < n && !rc; i++)
      if (keep[i])
        rc = dup[i] < 0 ? weir_builder_append_null(bld, 0)
                        : weir_builder_append_int64(bld, 0, dup[i]);
    weir_block *extra = NULL, *rows = NULL;
    if (!rc)
      rc = weir_builder_finish(bld, &extra);
    weir_builder_destroy(bld);
    if (!rc)
      rc = weir__block_keep(in, keep, kept, &rows);
    if (!rc)
      rc = weir_block_add_columns(rows, extra, &cur);
    weir_block_unref(&rows);
    weir_block_unref(&extra);
    if (rc)
      return rc;
  } else {
    if (dups) {
      weir_ctx_count_dropped(ctx, "duplicate", dups);
      if (c->o.common.rejected) {
        /* Only the duplicates: malformed rows skipped are not rejects. */
        uint8_t *k2 = malloc(n ? n : 1);
        if (!k2)
          return WEIR_ENOMEM;
        for (size_t i = 0; i < n; i++)
          k2[i] = keep[i] || dup[i] < 0;
        rc = weir__text_send_rejected(&c->o.common, in, k2, "duplicate", NULL);
        free(k2);
        if (rc)
          return rc;
      }
    }
    rc = weir__block_keep(in, keep, kept, &cur);
    if (rc)
      return rc;
  }
  if (weir_block_num_rows(cur) == 0 && n > 0) {
    weir_block_unref(&cur);
    return WEIR_OK;
  }
  return weir_emit_block(emit, cur);
}

/* Reports malformed row i (on_error fail) naming the column and row. */
static int report_malformed(dx_cfg *c, weir_ctx *ctx, const char *col, size_t i, size_t n,
                            uint64_t ord, const char *why, size_t at) {
  if (at)
    weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu (input row %llu): %s "
                        "(byte %zu)", col, i, n, (unsigned long long)ord, why, at);
  else
    weir_ctx_set_errmsg(ctx, "column '%s', row %zu of a block of %zu (input row %llu): %s", col,
                        i, n, (unsigned long long)ord, why);
  (void)c;
  return WEIR_EFORMAT;
}

/* Priority mode, while input arrives: offers each row's key and priority
 * to the table and holds the block for finish. */
static int prio_process(dx_cfg *c, weir_block *in, const weir_column *cols,
                        const weir_column *pc, weir_ctx *ctx) {
  size_t n = weir_block_num_rows(in), bad = 0;
  uint64_t spilled0 = weir__prio_spilled_bytes(c->prio), runs0 = weir__prio_runs(c->prio);
  int rc = WEIR_OK;
  for (size_t i = 0; i < n; i++) {
    uint64_t ord = c->ord++, enc = 0;
    size_t at = 0, which = 0;
    const char *why = malformed(c, cols, i, &at, &which);
    const char *col = c->keys[which];
    int has = 0;
    if (!why) {
      has = prio_at(c, pc, i, &enc);
      if (has < 0) {
        why = is_str(pc) ? "the priority is 4 GiB or longer" : "the priority is NaN";
        col = c->prio_col;
      }
    }
    if (why) {
      if (c->o.common.on_error != WEIR_ON_ERROR_SKIP) {
        rc = report_malformed(c, ctx, col, i, n, ord, why, at);
        break;
      }
      bad++;
      continue;
    }
    uint64_t h[2];
    rc = row_key(c, cols, i, h);
    if (!rc && is_str(pc)) {
      size_t len = 0;
      const char *sv = prio_str_at(pc, i, &len);
      rc = weir__prio_offer_str(c->prio, h, sv, len, ord);
    } else if (!rc) {
      rc = weir__prio_offer(c->prio, h, has, enc, ord);
    }
    if (rc < 0)
      weir_ctx_set_errmsg(ctx, "%s", weir__prio_errmsg(c->prio));
    if (rc)
      break;
    if ((i & 4095) == 4095 && weir_ctx_cancelled(ctx)) {
      rc = WEIR_ECANCELED;
      break;
    }
  }
  uint64_t spilled = weir__prio_spilled_bytes(c->prio) - spilled0;
  if (spilled) {
    weir_op *op = ctx->op;
    pthread_mutex_lock(&op->p->mu);
    op->st.spilled_bytes += spilled;
    op->st.spilled_blocks += weir__prio_runs(c->prio) - runs0;
    pthread_mutex_unlock(&op->p->mu);
    weir_ctx_count(ctx, "spilled_runs", weir__prio_runs(c->prio) - runs0);
  }
  if (rc)
    return rc;
  if (bad) {
    c->bad += bad;
    weir_ctx_count_skipped(ctx, bad);
    weir_ctx_log(ctx, WEIR_LOG_DEBUG, "skipped %zu malformed rows (null or invalid UTF-8 key, "
                 "NaN priority)", bad);
  }
  uint64_t spilled_rows = c->held.rows_spilled;
  rc = weir__held_push(&c->held, in, ctx);
  if (!rc && c->held.rows_spilled > spilled_rows)
    weir_ctx_count(ctx, "held_rows_spilled", c->held.rows_spilled - spilled_rows);
  return rc;
}

/* Priority mode, once the input ended: decides, then emits the held rows
 * in input order. Malformed rows (skipped) are found again the same way. */
static int dx_finish(void *state, weir_emit *emit, weir_ctx *ctx) {
  dx_cfg *c = state;
  if (!c->prio_col) {
    /* Keep-first decided every row as it came: the seen keys can go, and
     * their memory back to the pipeline's budget. */
    weir__seen_destroy(c->seen);
    c->seen = NULL;
    return WEIR_OK;
  }
  int annotate = c->o.common.mode == WEIR_TEXT_ANNOTATE;
  int rc = weir__prio_finish(c->prio, c->ord, annotate);
  if (rc) {
    weir_ctx_set_errmsg(ctx, "deciding the rows kept: %s", weir__prio_errmsg(c->prio));
    return rc;
  }
  uint64_t base = 0, dups_all = 0;
  uint8_t *keep = NULL;
  int64_t *dup = NULL;
  size_t cap = 0;
  for (;;) {
    weir_block *b = NULL;
    rc = weir__held_pop(&c->held, ctx, &b);
    if (rc == WEIR_EOF) {
      rc = WEIR_OK;
      break;
    }
    if (rc)
      break;
    size_t n = weir_block_num_rows(b), kept = 0, dups = 0;
    weir_column cols[16], pc;
    rc = bind_cols(c, b, ctx, cols, &pc);
    if (!rc && n > cap) {
      free(keep);
      free(dup);
      keep = malloc(n);
      dup = malloc(n * sizeof *dup);
      cap = keep && dup ? n : 0;
      if (!cap)
        rc = WEIR_ENOMEM;
    }
    for (size_t i = 0; i < n && !rc; i++) {
      uint64_t ord = base + i, enc, h[2], win = 0;
      size_t at = 0, which = 0;
      if (malformed(c, cols, i, &at, &which) || prio_at(c, &pc, i, &enc) < 0) {
        keep[i] = 0;
        dup[i] = -1;
        continue;
      }
      int won = weir__prio_kept(c->prio, ord);
      dups += !won;
      dup[i] = won ? -1 : 0;
      if (annotate && !won) {
        rc = row_key(c, cols, i, h);
        if (!rc && (rc = weir__prio_winner(c->prio, h, &win)) < 0)
          weir_ctx_set_errmsg(ctx, "input row %llu: %s", (unsigned long long)ord,
                              weir__prio_errmsg(c->prio));
        dup[i] = (int64_t)win;
      }
      keep[i] = (uint8_t)(annotate || won);
      kept += keep[i];
    }
    if (!rc)
      rc = emit_decided(c, b, keep, dup, n, kept, dups, emit, ctx);
    weir_block_unref(&b);
    base += n;
    dups_all += dups;
    if (rc)
      break;
  }
  free(keep);
  free(dup);
  if (rc)
    return rc;
  weir__prio_destroy(c->prio);
  c->prio = NULL;
  weir_ctx_count(ctx, "duplicates", dups_all);
  weir_ctx_count(ctx, "unique", c->ord - c->bad - dups_all);
  return WEIR_OK;
}

static int dx_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  dx_cfg *c = state;
  size_t n = weir_block_num_rows(in);
  weir_column cols[16], pc;
  int rc = bind_cols(c, in, ctx, cols, &pc);
  if (rc)
    return rc;
  if (c->prio_col)
    return prio_process(c, in, cols, &pc, ctx);
  uint8_t *keep = malloc(n ? n : 1);
  int64_t *dup = malloc((n ? n : 1) * sizeof *dup);
  if (!keep || !dup) {
    free(keep);
    free(dup);
    return WEIR_ENOMEM;
  }
  size_t kept = 0, dups = 0, bad = 0;
  uint64_t spilled0 = weir__seen_spilled_bytes(c->seen), runs0 = weir__seen_runs(c->seen);
  for (size_t i = 0; i < n; i++) {
    uint64_t ord = c->ord++;
    size_t at = 0, which = 0;
    const char *why = malformed(c, cols, i, &at, &which);
    if (why) {
      if (c->o.common.on_error != WEIR_ON_ERROR_SKIP) {
        rc = report_malformed(c, ctx, c->keys[which], i, n, ord, why, at);
        break;
      }
      keep[i] = 0;
      dup[i] = -1;
      bad++;
      continue;
    }
    uint64_t h[2], first = 0;
    rc = row_key(c, cols, i, h);
    if (rc)
      break;
    int seen = weir__seen_check(c->seen, h, ord, &first);
    if (seen < 0) {
      weir_ctx_set_errmsg(ctx, "%s", weir__seen_errmsg(c->seen));
      rc = seen;
      break;
    }
    dup[i] = seen ? (int64_t)first : -1;
    dups += (size_t)seen;
    keep[i] = c->o.common.mode == WEIR_TEXT_ANNOTATE || !seen;
    kept += keep[i];
    if ((i & 4095) == 4095 && weir_ctx_cancelled(ctx)) {
      rc = WEIR_ECANCELED;
      break;
    }
  }
  /* Spill accounting first, so a failed call still shows what it wrote. */
  uint64_t spilled = weir__seen_spilled_bytes(c->seen) - spilled0;
  if (spilled) {
    weir_op *op = ctx->op;
    pthread_mutex_lock(&op->p->mu);
    op->st.spilled_bytes += spilled;
    op->st.spilled_blocks += weir__seen_runs(c->seen) - runs0;
    pthread_mutex_unlock(&op->p->mu);
    weir_ctx_count(ctx, "spilled_runs", weir__seen_runs(c->seen) - runs0);
  }
  if (!rc) {
    if (bad) {
      weir_ctx_count_skipped(ctx, bad);
      weir_ctx_log(ctx, WEIR_LOG_DEBUG, "skipped %zu malformed rows (null or invalid UTF-8)", bad);
    }
    weir_ctx_count(ctx, "unique", n - bad - dups);
    weir_ctx_count(ctx, "duplicates", dups);
    rc = emit_decided(c, in, keep, dup, n, kept, dups, emit, ctx);
  }
  free(keep);
  free(dup);
  return rc;
}

weir_op *weir_dedup_exact(weir_pipeline *p, weir_op *in, const weir_dedup_exact_options *o) {
  if (!p)
    return NULL;
  weir_dedup_exact_options d = WEIR_DEDUP_EXACT_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_dedup_exact", o->version,
                                 WEIR_DEDUP_EXACT_OPTIONS_VERSION))
      return NULL;
    /* A version 1 struct ends before the priority fields. */
    memcpy(&d, o, o->version >= 2 ? sizeof d : offsetof(weir_dedup_exact_options, priority_column));
  }
  if (!in)
    return weir__text_fail(p, WEIR_EINVAL, "weir_dedup_exact: NULL input operator");
#ifndef WEIR_HAVE_XXHASH
  return weir__text_fail(p, WEIR_ENOTSUP, "weir_dedup_exact: its XXH3-128 key hash needs "
                         "libxxhash, which this build does not have (install libxxhash-dev)");
#endif
  if (d.common.mode != WEIR_TEXT_FILTER && d.common.mode != WEIR_TEXT_ANNOTATE)
    return weir__text_fail(p, WEIR_EINVAL, "weir_dedup_exact: mode %d is neither "
                           "WEIR_TEXT_FILTER nor WEIR_TEXT_ANNOTATE", d.common.mode);
  if (d.common.on_error != WEIR_ON_ERROR_FAIL && d.common.on_error != WEIR_ON_ERROR_SKIP)
    return weir__text_fail(p, WEIR_EINVAL, "weir_dedup_exact: on_error %d is not a "
                           "WEIR_ON_ERROR_* value", d.common.on_error);
  if (d.normalize != WEIR_DEDUP_NORM_DPK && d.normalize != WEIR_DEDUP_NORM_NONE)
    return weir__text_fail(p, WEIR_EINVAL, "weir_dedup_exact: normalize %d is not a "
                           "WEIR_DEDUP_NORM_* value", d.normalize);
  if (d.key_columns && (d.num_key_columns == 0 || d.num_key_columns > 16))
    return weir__text_fail(p, WEIR_EINVAL, "weir_dedup_exact: num_key_columns %zu (1 to 16 "
                           "with key_columns)", d.num_key_columns);
  for (size_t j = 0; d.key_columns && j < d.num_key_columns; j++)
    if (!d.key_columns[j] || !*d.key_columns[j])
      return weir__text_fail(p, WEIR_EINVAL, "weir_dedup_exact: key_columns[%zu] is empty", j);
  if (d.priority_column && !*d.priority_column)
    return weir__text_fail(p, WEIR_EINVAL, "weir_dedup_exact: priority_column is empty");
  if (d.priority_lowest != 0 && d.priority_lowest != 1)
    return weir__text_fail(p, WEIR_EINVAL, "weir_dedup_exact: priority_lowest %d is not 0 or 1",
                           d.priority_lowest);
  dx_cfg *c = calloc(1, sizeof *c);
  if (!c)
    return weir__text_fail(p, WEIR_ENOMEM, "weir_dedup_exact: out of memory");
  c->o = d;
  c->text_default = d.key_columns == NULL;
  c->nkeys = c->text_default ? 1 : d.num_key_columns;
  c->column = strdup(d.common.column && *d.common.column ? d.common.column : "text");
  c->name = strdup(d.common.name && *d.common.name ? d.common.name : "dedup_exact");
  c->dup_of = strdup(d.dup_of_column && *d.dup_of_column ? d.dup_of_column : "dup_of");
  c->keys = calloc(c->nkeys, sizeof *c->keys);
  c->prio_col = d.priority_column ? strdup(d.priority_column) : NULL;
  int ok = c->column && c->name && c->dup_of && c->keys && (c->prio_col || !d.priority_column);
  for (size_t j = 0; ok && j < c->nkeys; j++) {
    c->keys[j] = strdup(c->text_default ? c->column : d.key_columns[j]);
    ok = c->keys[j] != NULL;
  }
  if (!ok) {
    cfg_free(c);
    return weir__text_fail(p, WEIR_ENOMEM, "weir_dedup_exact: out of memory");
  }
  c->o.key_columns = NULL; /* copied into keys */
  c->o.common.column = c->column;
  c->o.common.name = c->name;
  c->o.dup_of_column = c->dup_of;
  c->o.priority_column = c->prio_col;
  c->limit = d.memory_limit ? d.memory_limit : p->budget / 4;
  c->spill_dir = p->opts.spill_dir;
  c->held.spill_dir = c->spill_dir;
  c->tm.p = p;
  c->tm.closed = 1;
  weir_op_def def = {WEIR_OP_DEF_VERSION, c->name, dx_init, dx_process, dx_finish, NULL};
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  /* One worker on ordered input: keep-first is input order, and a call is
   * never retried (its keys are already in the set). */
  oo.min_workers = oo.max_workers = 1;
  oo.preserve_order = 1;
  oo.max_retries = WEIR_RETRIES_NONE;
  weir_op *op = weir_add_op(p, in, &def, c, &oo);
  if (!op) {
    cfg_free(c);
    return NULL;
  }
  weir__op_set_cleanup(op, cfg_free, c);
  weir__op_set_per_block(op, -1); /* its seen-set spans read tasks */
  weir__op_set_finished(op, dx_finished, c);
  return op;
}
