/* JSONL rows into typed columns: one pass over each line, values copied
 * straight into column buffers, keys found by predicting the next column
 * and falling back to a hash table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/block.h"
#include "weir/error.h"
#include "core/block_internal.h"
#include "io/json.h"
#include "io/jsonl_parse.h"

/* ---- Inference ------------------------------------------------------------ */

void weir__jsonl_infer_init(weir__jsonl_infer *in) {
  memset(in, 0, sizeof *in);
}

void weir__jsonl_infer_free(weir__jsonl_infer *in) {
  weir__schema_free(&in->s);
  free(in->seen);
  memset(in, 0, sizeof *in);
}

/* What an already lexed array holds: WEIR__SEEN_LIST_INT when all its
 * elements are integers, _FLOAT when all are numbers and one is not an
 * integer, _EMPTY for [], 0 for anything else (it stays JSON text). */
static unsigned array_kind(const weir__jval *v) {
  const char *p = weir__json_ws(v->start + 1), *why;
  if (v->start[0] != '[') return 0;
  if (*p == ']') return WEIR__SEEN_LIST_EMPTY;
  unsigned kind = WEIR__SEEN_LIST_INT;
  for (;;) {
    weir__jval e;
    p = weir__json_value(p, &e, &why);
    if (!p) return 0;
    if (e.kind == WEIR__J_FLOAT) kind = WEIR__SEEN_LIST_FLOAT;
    else if (e.kind != WEIR__J_INT) return 0;
    p = weir__json_ws(p);
    if (*p == ']') return kind;
    if (*p != ',') return 0;
    p = weir__json_ws(p + 1);
  }
}

static unsigned seen_of(const weir__jval *v) {
  if (v->kind == WEIR__J_NESTED) {
    unsigned k = array_kind(v);
    return k ? k : WEIR__SEEN_STRING;
  }
  switch (v->kind) {
  case WEIR__J_BOOL: return WEIR__SEEN_BOOL;
  case WEIR__J_INT: return WEIR__SEEN_INT;
  case WEIR__J_FLOAT: return WEIR__SEEN_FLOAT;
  case WEIR__J_NULL: return 0;
  default: return WEIR__SEEN_STRING;
  }
}

/* A key's text: the raw bytes when it has no escapes, else decoded into
 * `scratch`. */
static const char *key_text(const char *start, const char *end, int escaped,
                            char **scratch, size_t *cap, size_t *len) {
  const char *s = start + 1, *e = end - 1;
  if (!escaped) {
    *len = (size_t)(e - s);
    return s;
  }
  size_t need = (size_t)(e - s) + 1;
  if (need > *cap) {
    char *n = realloc(*scratch, need);
    if (!n) return NULL;
    *scratch = n;
    *cap = need;
  }
  *len = weir__json_unescape(s, e, *scratch);
  return *scratch;
}

/* A UTF-8 byte order mark some tools put at the start of a file. */
static const char *skip_bom(const char *p) {
  return memcmp(p, "\xef\xbb\xbf", 3) == 0 ? p + 3 : p;
}

int weir__jsonl_infer_line(weir__jsonl_infer *in, const char *line) {
  const char *why;
  const char *p = weir__json_ws(skip_bom(line));
  if (*p == '\n') return WEIR_OK;
  if (*p != '{') return WEIR_OK;
  /* Validate the whole line first, so that a malformed one teaches
   * nothing. */
  weir__jval whole;
  const char *after = weir__json_value(p, &whole, &why);
  if (!after) return WEIR_OK;
  after = weir__json_ws(after);
  if (*after != '\n') return WEIR_OK;
  char *scratch = NULL;
  size_t cap = 0;
  p = weir__json_ws(p + 1);
  int rc = WEIR_OK;
  while (*p == '"') {
    weir__jval key, v;
    key.start = p;
    p = weir__json_string(p, &key.escaped, &why);
    key.end = p;
    p = weir__json_ws(p);
    p = weir__json_ws(p + 1); /* ':' */
    p = weir__json_value(p, &v, &why);
    size_t klen;
    const char *k = key_text(key.start, key.end, key.escaped, &scratch, &cap,
                             &klen);
    if (!k) {
      rc = WEIR_ENOMEM;
      break;
    }
    if (memchr(k, 0, klen)) {
      /* A key with a NUL in it cannot name a column (names are C
       * strings: it would be cut short into a duplicate of another); the
       * parser drops it like any key that is not a column. */
      p = weir__json_ws(p);
      if (*p == ',') p = weir__json_ws(p + 1);
      continue;
    }
    int idx = weir__schema_find(&in->s, k, klen);
    if (idx < 0) {
      rc = weir__schema_add(&in->s, k, klen, 0);
      if (rc) break;
      idx = (int)in->s.n - 1;
      if (in->s.n > in->seen_cap) {
        size_t nc = in->seen_cap ? in->seen_cap * 2 : 16;
        unsigned *ns = realloc(in->seen, nc * sizeof *ns);
        if (!ns) {
          rc = WEIR_ENOMEM;
          break;
        }
        memset(ns + in->seen_cap, 0, (nc - in->seen_cap) * sizeof *ns);
        in->seen = ns;
        in->seen_cap = nc;
      }
    }
    in->seen[idx] |= seen_of(&v);
    p = weir__json_ws(p);
    if (*p == ',') p = weir__json_ws(p + 1);
  }
  free(scratch);
  in->rows++;
  return rc;
}

int weir__jsonl_infer_finish(weir__jsonl_infer *in, weir__schema *out) {
  for (size_t i = 0; i < in->s.n; i++)
    in->s.types[i] = weir__schema_type_of(in->seen[i]);
  *out = in->s;
  memset(&in->s, 0, sizeof in->s);
  return WEIR_OK;
}

/* ---- Parsing -------------------------------------------------------------- */

static uint32_t hash_key(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

int weir__jsonl_parser_init(weir__jsonl_parser *ps, const weir__schema *s,
                            size_t nparse, int inferred, size_t infer_rows) {
  memset(ps, 0, sizeof *ps);
  ps->schema = s;
  ps->ncols = nparse;
  ps->inferred = inferred;
  ps->infer_rows = infer_rows;
  ps->cols = calloc(nparse ? nparse : 1, sizeof *ps->cols);
  ps->stamp = calloc(nparse ? nparse : 1, sizeof *ps->stamp);
  ps->name_lens = calloc(nparse ? nparse : 1, sizeof *ps->name_lens);
  uint32_t size = 16;
  while (size < 2 * nparse) size *= 2;
  ps->slots = calloc(size, sizeof *ps->slots);
  ps->mask = size - 1;
  if (!ps->cols || !ps->stamp || !ps->name_lens || !ps->slots) goto nomem;
  for (size_t i = 0; i < nparse; i++) {
    if (weir__colacc_init(&ps->cols[i], s->names[i], s->types[i])) goto nomem;
    const char *nm = s->names[i];
    ps->name_lens[i] = strlen(nm);
    uint32_t h = hash_key(nm, ps->name_lens[i]) & ps->mask;
    while (ps->slots[h]) h = (h + 1) & ps->mask;
    ps->slots[h] = (uint32_t)i + 1;
  }
  return WEIR_OK;
nomem:
  weir__jsonl_parser_free(ps);
  return WEIR_ENOMEM;
}

void weir__jsonl_parser_free(weir__jsonl_parser *ps) {
  if (ps->cols)
    for (size_t i = 0; i < ps->ncols; i++) weir__colacc_free(&ps->cols[i]);
  free(ps->cols);
  free(ps->stamp);
  free(ps->name_lens);
  free(ps->slots);
  free(ps->scratch);
  memset(ps, 0, sizeof *ps);
}

/* A column name is a C string; a key is `len` bytes that may hold a NUL
 * (from "\u0000"). Compared by length first: strncmp() stops at the
 * key's NUL and then reading name[len] ran past a shorter name. */
static int name_is(const weir__jsonl_parser *ps, size_t i, const char *k,
                   size_t len) {
  return ps->name_lens[i] == len && memcmp(ps->schema->names[i], k, len) == 0;
}

static int find_col(const weir__jsonl_parser *ps, const char *k, size_t len,
                    size_t guess) {
  if (guess < ps->ncols && name_is(ps, guess, k, len)) return (int)guess;
  uint32_t h = hash_key(k, len) & ps->mask;
  while (ps->slots[h]) {
    size_t i = ps->slots[h] - 1;
    if (name_is(ps, i, k, len)) return (int)i;
    h = (h + 1) & ps->mask;
  }
  return -1;
}

static const char *kind_name(int kind) {
  switch (kind) {
  case WEIR__J_NULL: return "null";
  case WEIR__J_BOOL: return "a boolean";
  case WEIR__J_INT: return "an integer";
  case WEIR__J_FLOAT: return "a float";
  case WEIR__J_STRING: return "a string";
  default: return "an object or array";
  }
}

static int type_error(weir__jsonl_parser *ps, size_t col, const weir__jval *v) {
  int len = (int)(v->end - v->start);
  snprintf(ps->why, sizeof ps->why,
           "column \"%s\" is %s%s but the value is %s (%.*s%s)%s",
           ps->schema->names[col], weir_type_name(weir__schema_base(ps->schema->types[col])),
           ps->inferred ? " (inferred from the first rows)" : "",
           kind_name(v->kind), len > 40 ? 40 : len, v->start,
           len > 40 ? "..." : "",
           ps->inferred ? "; give the columns option or raise infer_rows" : "");
  return WEIR_EFORMAT;
}

/* Stores one number as a list element of `dtype` at `out`; 0 when it does
 * not fit that type without loss. */
static int put_elem(int dtype, const weir__jval *e, unsigned char *out) {
  int isint = e->kind == WEIR__J_INT;
  double f = isint ? (double)e->i : e->f;
  int64_t i = e->i;
  if (!isint) {
    if (dtype != WEIR_DTYPE_FLOAT32 && dtype != WEIR_DTYPE_FLOAT64) {
      if (f != floor(f) || fabs(f) >= 9.2e18) return 0;
      i = (int64_t)f;
    }
  }
#define PUT(T, lo, hi)                  \
  do {                                  \
    if (i < (lo) || i > (hi)) return 0; \
    T t = (T)i;                         \
    memcpy(out, &t, sizeof t);          \
    return 1;                           \
  } while (0)
  switch (dtype) {
  case WEIR_DTYPE_INT8: PUT(int8_t, INT8_MIN, INT8_MAX);
  case WEIR_DTYPE_INT16: PUT(int16_t, INT16_MIN, INT16_MAX);
  case WEIR_DTYPE_INT32: PUT(int32_t, INT32_MIN, INT32_MAX);
  case WEIR_DTYPE_INT64: PUT(int64_t, INT64_MIN, INT64_MAX);
  case WEIR_DTYPE_UINT8: PUT(uint8_t, 0, UINT8_MAX);
  case WEIR_DTYPE_UINT16: PUT(uint16_t, 0, UINT16_MAX);
  case WEIR_DTYPE_UINT32: PUT(uint32_t, 0, (int64_t)UINT32_MAX);
  case WEIR_DTYPE_UINT64: PUT(uint64_t, 0, INT64_MAX);
  case WEIR_DTYPE_FLOAT32: { float t = (float)f; memcpy(out, &t, 4); return 1; }
  case WEIR_DTYPE_FLOAT64: memcpy(out, &f, 8); return 1;
  default: return 0;
  }
#undef PUT
}

/* A JSON array of numbers into a LIST column. */
static int store_list(weir__jsonl_parser *ps, size_t col, const weir__jval *v) {
  weir__colacc *c = &ps->cols[col];
  if (v->kind != WEIR__J_NESTED || v->start[0] != '[') return type_error(ps, col, v);
  const char *p = weir__json_ws(v->start + 1), *why;
  size_t start = c->dlen;
  if (*p != ']') {
    for (;;) {
      weir__jval e;
      p = weir__json_value(p, &e, &why);
      if (weir__colacc_reserve_data(c, c->esize)) {
        c->dlen = start;
        return WEIR_ENOMEM;
      }
      int num = p && (e.kind == WEIR__J_INT || e.kind == WEIR__J_FLOAT);
      if (!num || !put_elem(c->dtype, &e, (unsigned char *)c->data + c->dlen)) {
        c->dlen = start;
        snprintf(ps->why, sizeof ps->why,
                 "column \"%s\" is list<%s> but an element of the array is %s",
                 ps->schema->names[col], weir_dtype_name(c->dtype),
                 num ? "out of its range" : "not a number");
        return WEIR_EFORMAT;
      }
      c->dlen += c->esize;
      p = weir__json_ws(p);
      if (*p == ']') break;
      p = weir__json_ws(p + 1); /* ',' (the array was lexed already) */
    }
  }
  weir__colacc_end_list(c);
  return WEIR_OK;
}

/* Appends `v` to column `col`; the row has room (colacc_grow was called). */
static int store(weir__jsonl_parser *ps, size_t col, const weir__jval *v) {
  weir__colacc *c = &ps->cols[col];
  if (v->kind == WEIR__J_NULL) return weir__colacc_null(c);
  switch (c->type) {
  case WEIR_TYPE_INT64:
    if (v->kind == WEIR__J_INT) {
      weir__colacc_push_i64(c, v->i);
      return WEIR_OK;
    }
    if (v->kind == WEIR__J_FLOAT && v->f == floor(v->f) &&
        fabs(v->f) < 9.2e18) {
      /* 3.0 or 1e3 in an integer column loses nothing. */
      weir__colacc_push_i64(c, (int64_t)v->f);
      return WEIR_OK;
    }
    return type_error(ps, col, v);
  case WEIR_TYPE_FLOAT64:
    if (v->kind == WEIR__J_FLOAT) {
      weir__colacc_push_f64(c, v->f);
      return WEIR_OK;
    }
    if (v->kind == WEIR__J_INT) {
      weir__colacc_push_f64(c, (double)v->i);
      return WEIR_OK;
    }
    return type_error(ps, col, v);
  case WEIR_TYPE_LIST:
    return store_list(ps, col, v);
  case WEIR_TYPE_BOOL:
    if (v->kind != WEIR__J_BOOL) return type_error(ps, col, v);
    weir__colacc_push_bool(c, (int)v->i);
    return WEIR_OK;
  default: {
    /* A string column keeps any other value as its JSON text. */
    const char *s = v->start;
    size_t len = (size_t)(v->end - v->start);
    if (v->kind == WEIR__J_STRING) {
      s++;
      len -= 2;
      if (v->escaped) {
        if (weir__colacc_reserve_data(c, len)) return WEIR_ENOMEM;
        c->dlen += weir__json_unescape(s, s + len, c->data + c->dlen);
        weir__colacc_end_string(c);
        return WEIR_OK;
      }
    }
    return weir__colacc_push_string(c, s, len) ? WEIR_ENOMEM : WEIR_OK;
  }
  }
}

static int fail(weir__jsonl_parser *ps, size_t row, const char *line,
                const char *at, const char *why) {
  for (size_t i = 0; i < ps->ncols; i++) {
    weir__colacc_truncate(&ps->cols[i], row);
    if (ps->stamp[i] == row + 1) ps->stamp[i] = 0;
  }
  if (why) {
    long col = (long)(at - line) + 1;
    snprintf(ps->why, sizeof ps->why, "bad JSON at column %ld: %s", col, why);
  }
  return WEIR_EFORMAT;
}

int weir__jsonl_parse_line(weir__jsonl_parser *ps, const char *line) {
  const char *why = NULL;
  const char *p = weir__json_ws(skip_bom(line));
  if (*p == '\n') return 0; /* a blank line */
  size_t row = weir__jsonl_parser_rows(ps);
  if (*p != '{') return fail(ps, row, line, p, "a line must hold one JSON object");
  for (size_t i = 0; i < ps->ncols; i++)
    if (weir__colacc_grow(&ps->cols[i])) return WEIR_ENOMEM;
  p = weir__json_ws(p + 1);
  size_t guess = 0;
  if (*p != '}') {
    for (;;) {
      if (*p != '"') return fail(ps, row, line, p, "expected a key string");
      weir__jval v;
      int esc;
      const char *ks = p;
      p = weir__json_string(p, &esc, &why);
      if (!p) return fail(ps, row, line, ks, why);
      const char *ke = p;
      p = weir__json_ws(p);
      if (*p != ':') return fail(ps, row, line, p, "expected ':' after a key");
      p = weir__json_ws(p + 1);
      const char *vs = p;
      p = weir__json_value(p, &v, &why);
      if (!p) return fail(ps, row, line, vs, why);
      size_t klen;
      const char *k = key_text(ks, ke, esc, &ps->scratch, &ps->scratch_cap,
                               &klen);
      if (!k) return WEIR_ENOMEM;
      int col = find_col(ps, k, klen, guess);
      if (col >= 0) {
        guess = (size_t)col + 1;
        if (ps->stamp[col] == row + 1) {
          /* A repeated key: the last value wins, as in most parsers. */
          weir__colacc_truncate(&ps->cols[col], row);
        }
        int rc = store(ps, (size_t)col, &v);
        if (rc) {
          if (rc == WEIR_EFORMAT) {
            fail(ps, row, line, vs, NULL);
          }
          return rc;
        }
        ps->stamp[col] = row + 1;
      }
      /* Keys outside the columns are dropped: the columns were fixed by
       * the `columns` option or by inference. The first is remembered so
       * the reader can say so once. */
      if (col < 0 && !ps->dropped[0])
        snprintf(ps->dropped, sizeof ps->dropped, "%.*s",
                 (int)(klen < 100 ? klen : 100), k);
      p = weir__json_ws(p);
      if (*p == ',') {
        p = weir__json_ws(p + 1);
        continue;
      }
      if (*p == '}') break;
      return fail(ps, row, line, p, "expected ',' or '}'");
    }
  }
  p = weir__json_ws(p + 1);
  if (*p != '\n')
    return fail(ps, row, line, p, "text after the JSON object");
  for (size_t i = 0; i < ps->ncols; i++) {
    if (ps->stamp[i] != row + 1) {
      if (weir__colacc_null(&ps->cols[i])) return WEIR_ENOMEM;
      ps->stamp[i] = row + 1;
    }
  }
  /* Without columns (inferred from rows that held no keys, like "{}")
   * the row still counts: it used to vanish without a trace. */
  if (ps->ncols == 0) ps->rows0++;
  return 1;
}

int weir__jsonl_parser_block(weir__jsonl_parser *ps, weir_block **out) {
  if (ps->ncols == 0) {
    /* Rows of no columns: a block that only has a row count. */
    *out = weir__block_alloc(0, ps->rows0);
    if (!*out) return WEIR_ENOMEM;
    weir__block_seal(*out);
    ps->rows0 = 0;
    return WEIR_OK;
  }
  int rc = weir__colacc_finish(ps->cols, ps->ncols, out);
  /* Row numbers restart at 0 in the next block: reset the stamps. */
  memset(ps->stamp, 0, ps->ncols * sizeof *ps->stamp);
  return rc;
}
