/* Arrow schema metadata: the binary key/value encoding of the C Data
 * Interface and the JSON parameters of the fixed_shape_tensor extension. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/arrow_internal.h"

char *weir__arrow_metadata_encode(const char *const *keys,
                                  const char *const *values, int n) {
  size_t size = sizeof(int32_t);
  for (int i = 0; i < n; i++)
    size += 2 * sizeof(int32_t) + strlen(keys[i]) + strlen(values[i]);
  char *buf = malloc(size);
  if (!buf) return NULL;
  char *p = buf;
  int32_t v = n;
  memcpy(p, &v, sizeof v);
  p += sizeof v;
  for (int i = 0; i < n; i++) {
    const char *parts[2] = {keys[i], values[i]};
    for (int k = 0; k < 2; k++) {
      v = (int32_t)strlen(parts[k]);
      memcpy(p, &v, sizeof v);
      p += sizeof v;
      memcpy(p, parts[k], (size_t)v);
      p += v;
    }
  }
  return buf;
}

int weir__arrow_metadata_find(const char *metadata, const char *key,
                              const char **value, int32_t *len) {
  if (!metadata) return 0;
  /* memcpy, not a cast: the producer owes us no alignment. */
  int32_t n, klen, vlen;
  const char *p = metadata;
  memcpy(&n, p, sizeof n);
  p += sizeof n;
  if (n < 0) return WEIR_EFORMAT;
  size_t want = strlen(key);
  for (int32_t i = 0; i < n; i++) {
    memcpy(&klen, p, sizeof klen);
    p += sizeof klen;
    if (klen < 0) return WEIR_EFORMAT;
    const char *k = p;
    p += klen;
    memcpy(&vlen, p, sizeof vlen);
    p += sizeof vlen;
    if (vlen < 0) return WEIR_EFORMAT;
    if ((size_t)klen == want && memcmp(k, key, want) == 0) {
      *value = p;
      *len = vlen;
      return 1;
    }
    p += vlen;
  }
  return 0;
}

int weir__tensor_meta_json(const int64_t *shape, int ndim, int dtype,
                           char *out, size_t cap) {
  size_t used = 0;
  int n = snprintf(out, cap, "{\"shape\":[");
  if (n < 0 || (size_t)n >= cap) return -1;
  used = (size_t)n;
  for (int d = 0; d < ndim; d++) {
    n = snprintf(out + used, cap - used, "%s%lld", d ? "," : "",
                 (long long)shape[d]);
    if (n < 0 || (size_t)n >= cap - used) return -1;
    used += (size_t)n;
  }
  n = snprintf(out + used, cap - used, "]%s}",
               dtype == WEIR_DTYPE_BFLOAT16 ? ",\"weir_dtype\":\"bfloat16\"" : "");
  if (n < 0 || (size_t)n >= cap - used) return -1;
  return (int)(used + (size_t)n);
}

/* ---- A small JSON reader, enough for the extension's parameters ------- */

typedef struct cursor {
  const char *s;
  size_t len, pos;
} cursor;

static void skip_ws(cursor *c) {
  while (c->pos < c->len && strchr(" \t\r\n", c->s[c->pos]) && c->s[c->pos])
    c->pos++;
}

static int peek(cursor *c) {
  skip_ws(c);
  return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

/* Reads a string; `*start`/`*n` get its raw bytes between the quotes
 * (escapes left as they are: the keys and values compared carry none). */
static int read_string(cursor *c, const char **start, size_t *n) {
  if (peek(c) != '"') return -1;
  c->pos++;
  size_t from = c->pos;
  while (c->pos < c->len && c->s[c->pos] != '"') {
    if (c->s[c->pos] == '\\') c->pos++;
    c->pos++;
  }
  if (c->pos >= c->len) return -1;
  *start = c->s + from;
  *n = c->pos - from;
  c->pos++;
  return 0;
}

static int read_int(cursor *c, int64_t *out) {
  skip_ws(c);
  int neg = 0;
  if (c->pos < c->len && c->s[c->pos] == '-') {
    neg = 1;
    c->pos++;
  }
  if (c->pos >= c->len || c->s[c->pos] < '0' || c->s[c->pos] > '9') return -1;
  int64_t v = 0;
  while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
    int digit = c->s[c->pos++] - '0';
    if (v > (INT64_MAX - digit) / 10) return -1;
    v = v * 10 + digit;
  }
  if (c->pos < c->len && strchr(".eE", c->s[c->pos]) && c->s[c->pos])
    return -1; /* dimensions are integers */
  *out = neg ? -v : v;
  return 0;
}

/* Reads an array of integers into out[0..max); `*count` may exceed `max`,
 * which the caller reports. */
static int read_int_array(cursor *c, int64_t *out, int max, int *count) {
  *count = 0;
  if (peek(c) != '[') return -1;
  c->pos++;
  if (peek(c) == ']') {
    c->pos++;
    return 0;
  }
  for (;;) {
    int64_t v;
    if (read_int(c, &v)) return -1;
    if (*count < max) out[*count] = v;
    (*count)++;
    int ch = peek(c);
    c->pos++;
    if (ch == ']') return 0;
    if (ch != ',') return -1;
  }
}

static int skip_value(cursor *c, int depth) {
  if (depth > 32) return -1;
  int ch = peek(c);
  if (ch == '"') {
    const char *s;
    size_t n;
    return read_string(c, &s, &n);
  }
  if (ch == '[' || ch == '{') {
    int close = ch == '[' ? ']' : '}';
    c->pos++;
    if (peek(c) == close) {
      c->pos++;
      return 0;
    }
    for (;;) {
      if (close == '}') {
        const char *s;
        size_t n;
        if (read_string(c, &s, &n) || peek(c) != ':') return -1;
        c->pos++;
      }
      if (skip_value(c, depth + 1)) return -1;
      int next = peek(c);
      c->pos++;
      if (next == close) return 0;
      if (next != ',') return -1;
    }
  }
  /* A number, true, false or null: the run of characters up to a
   * delimiter. */
  size_t from = c->pos;
  while (c->pos < c->len && !strchr(",]} \t\r\n", c->s[c->pos]) && c->s[c->pos])
    c->pos++;
  return c->pos > from ? 0 : -1;
}

static int key_is(const char *k, size_t n, const char *want) {
  return n == strlen(want) && memcmp(k, want, n) == 0;
}

int weir__tensor_meta_parse(const char *json, size_t len, const char *column,
                            weir__tensor_meta *out) {
  cursor c = {json, len, 0};
  int have_shape = 0;
  memset(out, 0, sizeof *out);
  if (peek(&c) != '{') goto bad;
  c.pos++;
  if (peek(&c) == '}') {
    c.pos++;
  } else {
    for (;;) {
      const char *key;
      size_t klen;
      if (read_string(&c, &key, &klen) || peek(&c) != ':') goto bad;
      c.pos++;
      if (key_is(key, klen, "shape")) {
        int n;
        if (read_int_array(&c, out->shape, WEIR_TENSOR_MAX_DIMS, &n)) goto bad;
        if (n > WEIR_TENSOR_MAX_DIMS)
          return weir__set_last_error(WEIR_ENOTSUP,
              "arrow import: column '%s': tensor of %d dimensions (weir holds up to %d)",
              column, n, WEIR_TENSOR_MAX_DIMS);
        for (int d = 0; d < n; d++)
          if (out->shape[d] < 0)
            return weir__set_last_error(WEIR_EFORMAT,
                "arrow import: column '%s': negative tensor dimension %lld",
                column, (long long)out->shape[d]);
        out->ndim = n;
        have_shape = 1;
      } else if (key_is(key, klen, "permutation")) {
        int64_t perm[WEIR_TENSOR_MAX_DIMS];
        int n;
        if (read_int_array(&c, perm, WEIR_TENSOR_MAX_DIMS, &n)) goto bad;
        for (int d = 0; d < n && d < WEIR_TENSOR_MAX_DIMS; d++)
          if (perm[d] != d) out->permuted = 1;
      } else if (key_is(key, klen, "weir_dtype")) {
        const char *v;
        size_t vlen;
        if (read_string(&c, &v, &vlen)) goto bad;
        if (!key_is(v, vlen, "bfloat16"))
          return weir__set_last_error(WEIR_ENOTSUP,
              "arrow import: column '%s': unknown weir_dtype \"%.*s\"", column,
              (int)(vlen > 32 ? 32 : vlen), v);
        out->bfloat16 = 1;
      } else if (skip_value(&c, 0)) {
        goto bad;
      }
      int next = peek(&c);
      c.pos++;
      if (next == '}') break;
      if (next != ',') goto bad;
    }
  }
  if (peek(&c) != -1) goto bad; /* trailing garbage */
  if (!have_shape)
    return weir__set_last_error(WEIR_EFORMAT,
        "arrow import: column '%s': fixed_shape_tensor metadata has no \"shape\"",
        column);
  return WEIR_OK;
bad:
  return weir__set_last_error(WEIR_EFORMAT,
      "arrow import: column '%s': malformed fixed_shape_tensor metadata '%.*s'",
      column, (int)(len > 80 ? 80 : len), json);
}
