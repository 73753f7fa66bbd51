/* Parsing of operator option values from their spec text (weir/plugin.h):
 * one set of rules for defaults, spec values and --set overrides. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weir/error.h"
#include "weir/plugin.h"

static int fail(const char *text, const char *what) {
  weir_set_last_errmsg("'%s' is not %s", text, what);
  return WEIR_EINVAL;
}

static int parse_bool(const char *t, int64_t *out) {
  static const char *yes[] = {"true", "yes", "on", "1"};
  static const char *no[] = {"false", "no", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(t, yes[i]) == 0) { *out = 1; return WEIR_OK; }
    if (strcasecmp(t, no[i]) == 0) { *out = 0; return WEIR_OK; }
  }
  return fail(t, "a boolean (true or false)");
}

static int parse_int(const char *t, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(t, &end, 10);
  if (end == t || *end != '\0' || errno == ERANGE)
    return fail(t, "an integer");
  *out = v;
  return WEIR_OK;
}

static int parse_float(const char *t, double *out) {
  char *end;
  errno = 0;
  double v = strtod(t, &end);
  if (end == t || *end != '\0' || errno == ERANGE || !isfinite(v))
    return fail(t, "a finite number");
  *out = v;
  return WEIR_OK;
}

/* Sizes: a non-negative number with an optional unit; binary units (KiB)
 * are powers of 1024, decimal ones (KB) powers of 1000, B or none bytes. */
static int parse_size(const char *t, int64_t *out) {
  static const struct { const char *unit; double mult; } units[] = {
    {"", 1}, {"b", 1}, {"k", 1024.0}, {"kib", 1024.0}, {"kb", 1e3},
    {"m", 1048576.0}, {"mib", 1048576.0}, {"mb", 1e6},
    {"g", 1073741824.0}, {"gib", 1073741824.0}, {"gb", 1e9},
    {"t", 1099511627776.0}, {"tib", 1099511627776.0}, {"tb", 1e12}};
  char *end;
  errno = 0;
  double v = strtod(t, &end);
  if (end == t || errno == ERANGE || !isfinite(v) || v < 0 || t[0] == '-')
    return fail(t, "a size (bytes, or a number with KiB, MiB, GiB...)");
  while (*end == ' ') end++;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcasecmp(end, units[i].unit) == 0) {
      double bytes = v * units[i].mult;
      if (bytes > 9.2e18)
        return fail(t, "a size below 8 EiB");
      if (bytes != floor(bytes))
        return fail(t, "a whole number of bytes");
      *out = (int64_t)bytes;
      return WEIR_OK;
    }
  }
  return fail(t, "a size (bytes, or a number with KiB, MiB, GiB...)");
}

static int parse_enum(const weir_opt_def *def, const char *t, int64_t *index,
                      const char **choice) {
  const char *c = def->choices ? def->choices : "";
  size_t len = strlen(t);
  for (int64_t i = 0; *c; i++) {
    const char *bar = strchr(c, '|');
    size_t n = bar ? (size_t)(bar - c) : strlen(c);
    if (n == len && strncmp(c, t, n) == 0) {
      *index = i;
      *choice = c;
      return WEIR_OK;
    }
    c += n + (bar ? 1 : 0);
  }
  weir_set_last_errmsg("'%s' is not one of %s", t, def->choices ? def->choices : "(none)");
  return WEIR_EINVAL;
}

/* A list is written "[1, 2, 3]" or "1,2,3" (what a spec's sequence of
 * numbers turns into, and what fits on a --set command line). */
static int parse_list(const char *t, weir_opt_value *out, void **storage) {
  size_t len = strlen(t);
  size_t cap = 1;
  for (size_t i = 0; i < len; i++) cap += t[i] == ',';
  char *copy = malloc(len + 1);
  double *vals = malloc(cap * sizeof *vals);
  if (!copy || !vals) {
    free(copy);
    free(vals);
    return WEIR_ENOMEM;
  }
  memcpy(copy, t, len + 1);
  char *s = copy;
  while (*s == ' ') s++;
  if (*s == '[') {
    s++;
    char *close = strrchr(s, ']');
    if (!close || close[strspn(close + 1, " ") + 1] != '\0') {
      free(copy);
      free(vals);
      return fail(t, "a list of numbers ([1, 2, 3])");
    }
    *close = '\0';
  }
  size_t n = 0;
  if (s[strspn(s, " ")] != '\0') {
    for (char *item = s;; ) {
      char *comma = strchr(item, ',');
      if (comma) *comma = '\0';
      while (*item == ' ') item++;
      size_t il = strlen(item);
      while (il && item[il - 1] == ' ') item[--il] = '\0';
      if (parse_float(item, &vals[n]) != WEIR_OK) {
        free(copy);
        free(vals);
        return fail(t, "a list of numbers ([1, 2, 3])");
      }
      n++;
      if (!comma) break;
      item = comma + 1;
    }
  }
  free(copy);
  out->list = vals;
  out->list_len = n;
  *storage = vals;
  return WEIR_OK;
}

int weir_opt_parse(const weir_opt_def *def, const char *text,
                   weir_opt_value *out, void **storage) {
  if (!def || !text || !out || !storage) {
    weir_set_last_errmsg("weir_opt_parse: NULL argument");
    return WEIR_EINVAL;
  }
  memset(out, 0, sizeof *out);
  *storage = NULL;
  out->name = def->name;
  out->type = def->type;
  int rc;
  switch (def->type) {
  case WEIR_OPT_BOOL:
    rc = parse_bool(text, &out->i);
    out->f = (double)out->i;
    break;
  case WEIR_OPT_INT:
    rc = parse_int(text, &out->i);
    out->f = (double)out->i;
    break;
  case WEIR_OPT_FLOAT:
    rc = parse_float(text, &out->f);
    break;
  case WEIR_OPT_SIZE:
    rc = parse_size(text, &out->i);
    out->f = (double)out->i;
    break;
  case WEIR_OPT_STRING: {
    char *copy = strdup(text);
    if (!copy) return WEIR_ENOMEM;
    out->s = copy;
    *storage = copy;
    rc = WEIR_OK;
    break;
  }
  case WEIR_OPT_ENUM: {
    const char *choice = NULL;
    rc = parse_enum(def, text, &out->i, &choice);
    if (rc == WEIR_OK) {
      char *copy = strdup(text);
      if (!copy) return WEIR_ENOMEM;
      out->s = copy;
      *storage = copy;
    }
    break;
  }
  case WEIR_OPT_FLOAT_LIST:
    rc = parse_list(text, out, storage);
    break;
  default:
    weir_set_last_errmsg("option '%s' has an unknown type %d", def->name, def->type);
    return WEIR_EINVAL;
  }
  if (rc == WEIR_OK) out->set = 1;
  return rc;
}

const weir_opt_value *weir_op_args_get(const weir_op_args *a, const char *name) {
  if (!a || !name) return NULL;
  for (size_t i = 0; i < a->num_values; i++)
    if (a->values[i].name && strcmp(a->values[i].name, name) == 0)
      return &a->values[i];
  return NULL;
}
