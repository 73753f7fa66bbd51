/* Parsing, lookup and inference of the column lists of text readers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/block.h"
#include "weir/error.h"
#include "io/schema.h"

int weir__schema_add(weir__schema *s, const char *name, size_t len, int type) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    char **nm = realloc(s->names, cap * sizeof *nm);
    if (!nm) return WEIR_ENOMEM;
    s->names = nm;
    int *ty = realloc(s->types, cap * sizeof *ty);
    if (!ty) return WEIR_ENOMEM;
    s->types = ty;
    s->cap = cap;
  }
  char *n = strndup(name, len);
  if (!n) return WEIR_ENOMEM;
  s->names[s->n] = n;
  s->types[s->n] = type;
  s->n++;
  return WEIR_OK;
}

int weir__schema_find(const weir__schema *s, const char *name, size_t len) {
  for (size_t i = 0; i < s->n; i++)
    if (strlen(s->names[i]) == len && memcmp(s->names[i], name, len) == 0)
      return (int)i;
  return -1;
}

void weir__schema_free(weir__schema *s) {
  for (size_t i = 0; i < s->n; i++) free(s->names[i]);
  free(s->names);
  free(s->types);
  memset(s, 0, sizeof *s);
}

static int type_by_name(const char *t, size_t len) {
  if (len > 6 && memcmp(t, "list<", 5) == 0 && t[len - 1] == '>') {
    for (int d = WEIR_DTYPE_UINT8; d <= WEIR_DTYPE_UINT64; d++) {
      const char *dn = weir_dtype_name(d);
      if (d == WEIR_DTYPE_FLOAT16 || d == WEIR_DTYPE_BFLOAT16) continue;
      if (strlen(dn) == len - 6 && memcmp(dn, t + 5, len - 6) == 0)
        return weir__schema_list(d);
    }
    return 0;
  }
  static const struct { const char *name; int type; } names[] = {
      {"bool", WEIR_TYPE_BOOL},      {"boolean", WEIR_TYPE_BOOL},
      {"int64", WEIR_TYPE_INT64},    {"int", WEIR_TYPE_INT64},
      {"float64", WEIR_TYPE_FLOAT64}, {"float", WEIR_TYPE_FLOAT64},
      {"double", WEIR_TYPE_FLOAT64}, {"string", WEIR_TYPE_STRING},
      {"str", WEIR_TYPE_STRING},     {"utf8", WEIR_TYPE_STRING}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strlen(names[i].name) == len && memcmp(names[i].name, t, len) == 0)
      return names[i].type;
  return 0;
}

static const char *trim(const char *s, const char *e, size_t *len) {
  while (s < e && (*s == ' ' || *s == '\t')) s++;
  while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
  *len = (size_t)(e - s);
  return s;
}

int weir__schema_parse(const char *spec, weir__schema *s, char *err,
                       size_t errlen) {
  memset(s, 0, sizeof *s);
  const char *p = spec;
  while (*p) {
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    const char *colon = memchr(p, ':', (size_t)(end - p));
    size_t nlen, tlen = 0;
    const char *name = trim(p, colon ? colon : end, &nlen);
    const char *type = colon ? trim(colon + 1, end, &tlen) : NULL;
    int ty = type ? type_by_name(type, tlen) : WEIR_TYPE_STRING;
    if (nlen == 0 || !ty) {
      snprintf(err, errlen,
               "bad columns spec \"%s\" at \"%.*s\": want name:type with "
               "types bool, int64, float64, string, list<int64>...",
               spec, (int)(end - p), p);
      weir__schema_free(s);
      return WEIR_EINVAL;
    }
    if (weir__schema_find(s, name, nlen) >= 0) {
      snprintf(err, errlen, "columns spec \"%s\" names \"%.*s\" twice", spec,
               (int)nlen, name);
      weir__schema_free(s);
      return WEIR_EINVAL;
    }
    int rc = weir__schema_add(s, name, nlen, ty);
    if (rc) {
      weir__schema_free(s);
      return rc;
    }
    p = *end ? end + 1 : end;
  }
  if (s->n == 0) {
    snprintf(err, errlen, "columns spec \"%s\" names no column", spec);
    return WEIR_EINVAL;
  }
  return WEIR_OK;
}

int weir__schema_type_of(unsigned seen) {
  const unsigned lists = WEIR__SEEN_LIST_INT | WEIR__SEEN_LIST_FLOAT | WEIR__SEEN_LIST_EMPTY;
  if (seen & lists) {
    if (seen & ~lists) return WEIR_TYPE_STRING;
    return weir__schema_list(seen & WEIR__SEEN_LIST_FLOAT ? WEIR_DTYPE_FLOAT64
                                                          : WEIR_DTYPE_INT64);
  }
  if (seen == 0 || (seen & WEIR__SEEN_STRING)) return WEIR_TYPE_STRING;
  if (seen & WEIR__SEEN_BOOL)
    return seen == WEIR__SEEN_BOOL ? WEIR_TYPE_BOOL : WEIR_TYPE_STRING;
  if (seen & WEIR__SEEN_FLOAT) return WEIR_TYPE_FLOAT64;
  return WEIR_TYPE_INT64;
}
