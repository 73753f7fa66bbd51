/* weir_filter: rows kept by a C predicate; weir_filter_where: rows kept by
 * comparisons of columns with constants, for dropping on an annotation
 * column without writing code. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec_internal.h"
#include "io/c_locale.h"
#include "text/text_internal.h"
#include "weir/error.h"

typedef struct filter_cfg {
  weir_filter_fn fn;
  void *user;
  char *name;
  char *reason;
  /* weir_filter_where: terms in OR-of-ANDs order. */
  struct term {
    char *column;
    int op;               /* 0 == , 1 != , 2 < , 3 <= , 4 > , 5 >= */
    int is_str;
    double num;
    char *str;
    int or_before;        /* this term starts a new AND group */
  } *terms;
  size_t nterms;
} filter_cfg;

static void filter_cfg_free(void *arg) {
  filter_cfg *c = arg;
  for (size_t i = 0; i < c->nterms; i++) {
    free(c->terms[i].column);
    free(c->terms[i].str);
  }
  free(c->terms);
  free(c->name);
  free(c->reason);
  free(c);
}

static int filter_process(void *state, weir_block *in, weir_emit *emit, weir_ctx *ctx) {
  filter_cfg *c = state;
  size_t n = weir_block_num_rows(in);
  uint8_t *keep = malloc(n ? n : 1);
  if (!keep)
    return WEIR_ENOMEM;
  memset(keep, 1, n);
  int rc = c->fn(c->user, in, keep);
  if (rc) {
    free(keep);
    return rc < 0 ? rc : WEIR_EOPERATOR;
  }
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    keep[i] = keep[i] != 0;
    kept += keep[i];
  }
  if (kept < n)
    weir_ctx_count_dropped(ctx, c->reason, n - kept);
  weir_block *out = NULL;
  rc = kept ? weir__block_keep(in, keep, kept, &out) : WEIR_OK;
  free(keep);
  if (rc)
    return rc;
  return out ? weir_emit_block(emit, out) : WEIR_OK;
}

static int filter_init(void *user, int worker, void **state) {
  (void)worker;
  *state = user;
  return WEIR_OK;
}

static weir_op *make_filter(weir_pipeline *p, weir_op *in, filter_cfg *c) {
  weir_op_def def = {WEIR_OP_DEF_VERSION, c->name, filter_init, filter_process, NULL, NULL};
  weir_op *op = weir_add_op(p, in, &def, c, NULL);
  if (!op) {
    filter_cfg_free(c);
    return NULL;
  }
  weir__op_set_cleanup(op, filter_cfg_free, c);
  return op;
}

weir_op *weir_filter(weir_pipeline *p, weir_op *in, const char *name, weir_filter_fn fn,
                     void *user) {
  if (!p)
    return NULL;
  if (!in)
    return weir__text_fail(p, WEIR_EINVAL, "weir_filter: NULL input operator");
  if (!fn)
    return weir__text_fail(p, WEIR_EINVAL, "weir_filter: NULL predicate");
  filter_cfg *c = calloc(1, sizeof *c);
  if (!c || !(c->name = strdup(name && *name ? name : "filter")) || !(c->reason = strdup("filter"))) {
    if (c)
      filter_cfg_free(c);
    return weir__text_fail(p, WEIR_ENOMEM, "weir_filter: out of memory");
  }
  c->fn = fn;
  c->user = user;
  return make_filter(p, in, c);
}

/* ---- weir_filter_where ---------------------------------------------------- */

static int cmp_num(int op, double a, double b) {
  switch (op) {
  case 0: return a == b;
  case 1: return a != b;
  case 2: return a < b;
  case 3: return a <= b;
  case 4: return a > b;
  default: return a >= b;
  }
}

static int where_fn(void *user, const weir_block *b, uint8_t *keep) {
  filter_cfg *c = user;
  size_t n = weir_block_num_rows(b);
  uint8_t *grp = malloc(n ? n : 1);
  if (!grp)
    return WEIR_ENOMEM;
  memset(keep, 0, n);
  memset(grp, 1, n);
  for (size_t t = 0; t <= c->nterms; t++) {
    if (t == c->nterms || (t > 0 && c->terms[t].or_before)) {
      for (size_t i = 0; i < n; i++)
        keep[i] |= grp[i];
      memset(grp, 1, n);
      if (t == c->nterms)
        break;
    }
    struct term *tm = &c->terms[t];
    int ci = weir_block_column_index(b, tm->column);
    if (ci < 0) {
      free(grp);
      weir_set_last_errmsg("weir_filter_where: no column '%s' in the input", tm->column);
      return WEIR_ENOTFOUND;
    }
    weir_column col;
    weir_block_column(b, (size_t)ci, &col);
    if (tm->is_str != (col.type == WEIR_TYPE_STRING) || col.type == WEIR_TYPE_BINARY ||
        col.type == WEIR_TYPE_TENSOR) {
      free(grp);
      weir_set_last_errmsg("weir_filter_where: column '%s' is %s, which cannot be compared "
                           "with a %s", tm->column, weir_type_name(col.type),
                           tm->is_str ? "string" : "number");
      return WEIR_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
      if (!grp[i])
        continue;
      if (col.validity && !((col.validity[i >> 3] >> (i & 7)) & 1)) {
        grp[i] = 0;
        continue;
      }
      int ok;
      if (tm->is_str) {
        size_t len = (size_t)(col.offsets[i + 1] - col.offsets[i]);
        const char *s = (const char *)col.data + col.offsets[i];
        int eq = len == strlen(tm->str) && memcmp(s, tm->str, len) == 0;
        ok = tm->op == 0 ? eq : !eq;
      } else {
        double v;
        switch (col.type) {
        case WEIR_TYPE_BOOL: v = (((const uint8_t *)col.data)[i >> 3] >> (i & 7)) & 1; break;
        case WEIR_TYPE_INT32: v = ((const int32_t *)col.data)[i]; break;
        case WEIR_TYPE_INT64: v = (double)((const int64_t *)col.data)[i]; break;
        case WEIR_TYPE_FLOAT32: v = ((const float *)col.data)[i]; break;
        default: v = ((const double *)col.data)[i]; break;
        }
        ok = cmp_num(tm->op, v, tm->num);
      }
      grp[i] = (uint8_t)ok;
    }
  }
  free(grp);
  return WEIR_OK;
}

static const char *skip_ws(const char *s) {
  while (*s && isspace((unsigned char)*s))
    s++;
  return s;
}

static int word_is(const char *s, const char *w) {
  size_t n = strlen(w);
  return strncasecmp(s, w, n) == 0 && (s[n] == 0 || isspace((unsigned char)s[n]));
}

/* Parses one term at *sp into t; an error message into err. */
static int parse_term(const char **sp, struct term *t, char *err, size_t errlen) {
  const char *s = skip_ws(*sp);
  const char *b = s;
  while (*s && (isalnum((unsigned char)*s) || *s == '_' || *s == '.' || *s == ':' || *s == '-'))
    s++;
  if (s == b) {
    snprintf(err, errlen, "a column name expected at '%s'", b);
    return WEIR_EINVAL;
  }
  t->column = strndup(b, (size_t)(s - b));
  if (!t->column)
    return WEIR_ENOMEM;
  s = skip_ws(s);
  static const char *ops[] = {"==", "!=", "<=", ">=", "<", ">", "="};
  static const int codes[] = {0, 1, 3, 5, 2, 4, 0};
  int op = -1;
  for (int i = 0; i < 7; i++)
    if (strncmp(s, ops[i], strlen(ops[i])) == 0) {
      op = codes[i];
      s += strlen(ops[i]);
      break;
    }
  if (op < 0) {
    snprintf(err, errlen, "a comparison (== != < <= > >=) expected after '%s'", t->column);
    return WEIR_EINVAL;
  }
  t->op = op;
  s = skip_ws(s);
  if (*s == '\'' || *s == '"') {
    char q = *s++;
    const char *e = strchr(s, q);
    if (!e) {
      snprintf(err, errlen, "unterminated string after '%s'", t->column);
      return WEIR_EINVAL;
    }
    if (op > 1) {
      snprintf(err, errlen, "strings compare with == and != only ('%s')", t->column);
      return WEIR_EINVAL;
    }
    t->is_str = 1;
    t->str = strndup(s, (size_t)(e - s));
    if (!t->str)
      return WEIR_ENOMEM;
    s = e + 1;
  } else if (strncasecmp(s, "true", 4) == 0 && !isalnum((unsigned char)s[4])) {
    t->num = 1;
    s += 4;
  } else if (strncasecmp(s, "false", 5) == 0 && !isalnum((unsigned char)s[5])) {
    t->num = 0;
    s += 5;
  } else {
    char *e;
    t->num = strtod_l(s, &e, weir__c_locale());
    if (e == s || isnan(t->num)) {
      snprintf(err, errlen, "a number, true/false or a quoted string expected after '%s'",
               t->column);
      return WEIR_EINVAL;
    }
    s = e;
  }
  *sp = s;
  return WEIR_OK;
}

weir_op *weir_filter_where(weir_pipeline *p, weir_op *in, const char *expr) {
  if (!p)
    return NULL;
  if (!in)
    return weir__text_fail(p, WEIR_EINVAL, "weir_filter_where: NULL input operator");
  if (!expr)
    return weir__text_fail(p, WEIR_EINVAL, "weir_filter_where: NULL expression");
  filter_cfg *c = calloc(1, sizeof *c);
  if (!c)
    return weir__text_fail(p, WEIR_ENOMEM, "weir_filter_where: out of memory");
  const char *s = expr;
  char err[256] = "";
  int rc = WEIR_OK, or_next = 0;
  for (;;) {
    void *nt = realloc(c->terms, (c->nterms + 1) * sizeof *c->terms);
    if (!nt) {
      rc = WEIR_ENOMEM;
      break;
    }
    c->terms = nt;
    struct term *t = &c->terms[c->nterms++];
    memset(t, 0, sizeof *t);
    t->or_before = or_next;
    if ((rc = parse_term(&s, t, err, sizeof err)))
      break;
    s = skip_ws(s);
    if (!*s)
      break;
    if (word_is(s, "and")) {
      or_next = 0;
      s += 3;
    } else if (word_is(s, "or")) {
      or_next = 1;
      s += 2;
    } else {
      snprintf(err, sizeof err, "'and' or 'or' expected at '%s'", s);
      rc = WEIR_EINVAL;
      break;
    }
  }
  if (!rc && (!(c->name = strdup("filter_where")) || !(c->reason = strdup(expr))))
    rc = WEIR_ENOMEM;
  if (rc) {
    filter_cfg_free(c);
    return weir__text_fail(p, rc, "weir_filter_where: %s in \"%s\"",
                           rc == WEIR_ENOMEM ? "out of memory" : err, expr);
  }
  c->fn = where_fn;
  c->user = c;
  return make_filter(p, in, c);
}
