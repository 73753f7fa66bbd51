/* Parsing and evaluating the Parquet reader's simple filters. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "parquet/filter.h"

void weir__pq_filter_free(pq_filter *f) {
  for (size_t i = 0; i < f->n; i++) {
    free(f->conds[i].column);
    free(f->conds[i].str);
  }
  free(f->conds);
  memset(f, 0, sizeof *f);
}

static const char *ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n') p++;
  return p;
}

int weir__pq_filter_parse(const char *text, pq_filter *f, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  const char *p = ws(text);
  while (*p) {
    pq_cond c = {0};
    const char *s = p;
    while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-')) p++;
    if (p == s) goto bad;
    c.column = strndup(s, (size_t)(p - s));
    p = ws(p);
    if (!strncmp(p, "!=", 2)) { c.op = PQF_NE; p += 2; }
    else if (!strncmp(p, "<=", 2)) { c.op = PQF_LE; p += 2; }
    else if (!strncmp(p, ">=", 2)) { c.op = PQF_GE; p += 2; }
    else if (!strncmp(p, "==", 2)) { c.op = PQF_EQ; p += 2; }
    else if (*p == '=') { c.op = PQF_EQ; p++; }
    else if (*p == '<') { c.op = PQF_LT; p++; }
    else if (*p == '>') { c.op = PQF_GT; p++; }
    else { free(c.column); goto bad; }
    p = ws(p);
    if (*p == '\'') {
      const char *e = strchr(p + 1, '\'');
      if (!e) { free(c.column); goto bad; }
      c.is_string = 1;
      c.str = strndup(p + 1, (size_t)(e - p - 1));
      c.str_len = (size_t)(e - p - 1);
      p = e + 1;
    } else {
      char *e;
      c.num = strtod(p, &e);
      if (e == p) { free(c.column); goto bad; }
      p = e;
    }
    pq_cond *nc = realloc(f->conds, (f->n + 1) * sizeof *nc);
    if (!nc) { free(c.column); free(c.str); weir__pq_filter_free(f); return WEIR_ENOMEM; }
    f->conds = nc;
    f->conds[f->n++] = c;
    p = ws(p);
    if (!*p) break;
    if (strncasecmp(p, "and", 3) != 0 || !isspace((unsigned char)p[3])) goto bad;
    p = ws(p + 3);
  }
  if (f->n == 0) goto bad;
  return WEIR_OK;
bad:
  snprintf(err, errlen, "filter \"%s\": cannot parse at \"%.20s\" (want `column OP literal` "
           "joined by `and`, OP one of = != < <= > >=, literals numbers or 'strings')",
           text, p);
  weir__pq_filter_free(f);
  return WEIR_EINVAL;
}

static int cmp_num(double a, int op, double b) {
  switch (op) {
  case PQF_EQ: return a == b;
  case PQF_NE: return a != b;
  case PQF_LT: return a < b;
  case PQF_LE: return a <= b;
  case PQF_GT: return a > b;
  default: return a >= b;
  }
}

static int cmp_bytes(const void *a, size_t an, const void *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c;
  return an < bn ? -1 : an > bn;
}

static int cmp_str(const void *a, size_t an, int op, const char *b, size_t bn) {
  int c = cmp_bytes(a, an, b, bn);
  return cmp_num(c, op, 0);
}

/* A statistics value of physical `type` as a double; 0 when not a number. */
static int stat_num(int type, const uint8_t *p, size_t n, double *out) {
  if (!p) return 0;
  if (type == PQ_INT32 && n == 4) { int32_t v; memcpy(&v, p, 4); *out = v; return 1; }
  if (type == PQ_INT64 && n == 8) { int64_t v; memcpy(&v, p, 8); *out = (double)v; return 1; }
  if (type == PQ_FLOAT && n == 4) { float v; memcpy(&v, p, 4); *out = v; return !isnan(v); }
  if (type == PQ_DOUBLE && n == 8) { double v; memcpy(&v, p, 8); *out = v; return !isnan(v); }
  return 0;
}

int weir__pq_filter_may_match(const pq_filter *f, const pq_file_meta *m, const pq_leaf *leaves,
                              size_t nleaves, size_t rg) {
  const pq_row_group *g = &m->rgs[rg];
  for (size_t i = 0; i < f->n; i++) {
    const pq_cond *c = &f->conds[i];
    const pq_leaf *l = NULL;
    for (size_t k = 0; k < nleaves; k++)
      if (!strcmp(leaves[k].name, c->column)) l = &leaves[k];
    if (!l || l->is_list) continue;
    const pq_chunk *ch = &g->chunks[l->chunk_idx];
    const pq_stats *s = &ch->stats;
    /* All null: nothing compares true. */
    if (s->null_count >= 0 && s->null_count == g->num_rows && g->num_rows > 0) return 0;
    if (!s->min || !s->max) continue;
    int conv_ok = l->conv == PQC_COPY || (l->conv == PQC_BYTES && l->type == WEIR_TYPE_STRING);
    if (!conv_ok) continue;
    if (c->is_string) {
      if (l->type != WEIR_TYPE_STRING) continue;
      int lo = cmp_bytes(s->min, s->min_len, c->str, c->str_len);
      int hi = cmp_bytes(s->max, s->max_len, c->str, c->str_len);
      if (c->op == PQF_EQ && (lo > 0 || hi < 0)) return 0;
      if ((c->op == PQF_LT && lo >= 0) || (c->op == PQF_LE && lo > 0)) return 0;
      if ((c->op == PQF_GT && hi <= 0) || (c->op == PQF_GE && hi < 0)) return 0;
    } else {
      double lo, hi;
      if (!stat_num(l->phys, s->min, s->min_len, &lo) || !stat_num(l->phys, s->max, s->max_len, &hi))
        continue;
      double v = c->num;
      if (c->op == PQF_EQ && (v < lo || v > hi)) return 0;
      if ((c->op == PQF_LT && lo >= v) || (c->op == PQF_LE && lo > v)) return 0;
      if ((c->op == PQF_GT && hi <= v) || (c->op == PQF_GE && hi < v)) return 0;
      if (c->op == PQF_NE && lo == hi && lo == v) return 0;
    }
  }
  return 1;
}

int weir__pq_filter_rows(const pq_filter *f, const weir_block *b, uint8_t *keep,
                         char *err, size_t errlen) {
  size_t rows = weir_block_num_rows(b);
  memset(keep, 1, rows);
  for (size_t i = 0; i < f->n; i++) {
    const pq_cond *c = &f->conds[i];
    int idx = weir_block_column_index(b, c->column);
    if (idx < 0) {
      snprintf(err, errlen, "filter: no column '%s'", c->column);
      return WEIR_ENOTFOUND;
    }
    weir_column col;
    weir_block_column(b, (size_t)idx, &col);
    int str = col.type == WEIR_TYPE_STRING || col.type == WEIR_TYPE_BINARY;
    if (str != c->is_string || col.type == WEIR_TYPE_LIST || col.type == WEIR_TYPE_TENSOR) {
      snprintf(err, errlen, "filter: column '%s' is %s and cannot be compared with a %s",
               c->column, weir_type_name(col.type), c->is_string ? "string" : "number");
      return WEIR_EINVAL;
    }
    for (size_t r = 0; r < rows; r++) {
      if (!keep[r]) continue;
      if (col.validity && !((col.validity[r >> 3] >> (r & 7)) & 1)) {
        keep[r] = 0;
        continue;
      }
      int ok;
      switch (col.type) {
      case WEIR_TYPE_INT32: ok = cmp_num(((const int32_t *)col.data)[r], c->op, c->num); break;
      case WEIR_TYPE_INT64: ok = cmp_num((double)((const int64_t *)col.data)[r], c->op, c->num); break;
      case WEIR_TYPE_FLOAT32: ok = cmp_num(((const float *)col.data)[r], c->op, c->num); break;
      case WEIR_TYPE_FLOAT64: ok = cmp_num(((const double *)col.data)[r], c->op, c->num); break;
      case WEIR_TYPE_BOOL:
        ok = cmp_num((((const uint8_t *)col.data)[r >> 3] >> (r & 7)) & 1, c->op, c->num);
        break;
      default:
        ok = cmp_str((const char *)col.data + col.offsets[r],
                     (size_t)(col.offsets[r + 1] - col.offsets[r]), c->op, c->str, c->str_len);
      }
      keep[r] = (uint8_t)ok;
    }
  }
  return WEIR_OK;
}

int weir__pq_filter_const_may_match(const pq_filter *f, const char *column, const char *s,
                                    int is_int, int64_t iv) {
  for (size_t i = 0; i < f->n; i++) {
    const pq_cond *c = &f->conds[i];
    if (strcmp(c->column, column)) continue;
    if (!s) return 0; /* a null never matches */
    /* A string compared with a number is the row filter's error to give. */
    if (c->is_string == is_int) continue;
    int ok = is_int ? cmp_num((double)iv, c->op, c->num)
                    : cmp_str(s, strlen(s), c->op, c->str, c->str_len);
    if (!ok) return 0;
  }
  return 1;
}
