/* The Thrift compact protocol reader and writer of Parquet metadata. */
#include <stdlib.h>
#include <string.h>

#include "parquet/thrift.h"

void weir__tr_init(weir__tr *t, const void *p, size_t n) {
  t->p = p;
  t->end = t->p + n;
  t->bad = 0;
  t->why = NULL;
  t->depth = 0;
}

void weir__tr_fail(weir__tr *t, const char *why) {
  if (!t->bad) t->why = why;
  t->bad = 1;
  t->p = t->end;
}

uint64_t weir__tr_varint(weir__tr *t) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (t->p >= t->end) {
      weir__tr_fail(t, "metadata ends inside a number");
      return 0;
    }
    uint8_t b = *t->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  weir__tr_fail(t, "a number of more than 10 bytes");
  return 0;
}

int64_t weir__tr_i64(weir__tr *t) {
  uint64_t u = weir__tr_varint(t);
  return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int32_t weir__tr_i32(weir__tr *t) {
  int64_t v = weir__tr_i64(t);
  if (v < INT32_MIN || v > INT32_MAX) {
    weir__tr_fail(t, "a 32-bit field out of range");
    return 0;
  }
  return (int32_t)v;
}

double weir__tr_double(weir__tr *t) {
  double d = 0;
  if (t->end - t->p < 8) {
    weir__tr_fail(t, "metadata ends inside a double");
    return 0;
  }
  memcpy(&d, t->p, 8);
  t->p += 8;
  return d;
}

const uint8_t *weir__tr_binary(weir__tr *t, size_t *n) {
  uint64_t len = weir__tr_varint(t);
  if (t->bad || len > (uint64_t)(t->end - t->p)) {
    weir__tr_fail(t, "a string longer than the metadata");
    *n = 0;
    return NULL;
  }
  const uint8_t *s = t->p;
  t->p += len;
  *n = (size_t)len;
  return s;
}

int weir__tr_field(weir__tr *t, int16_t *last_id, int *type, int16_t *id) {
  if (t->p >= t->end) {
    weir__tr_fail(t, "metadata ends inside a struct");
    return 0;
  }
  uint8_t b = *t->p++;
  if (b == 0) return 0;
  *type = b & 0x0f;
  int delta = b >> 4;
  if (delta) *id = (int16_t)(*last_id + delta);
  else *id = (int16_t)weir__tr_i32(t);
  *last_id = *id;
  if (*type > WEIR__T_STRUCT || *type == 0) {
    weir__tr_fail(t, "an unknown field type");
    return 0;
  }
  return !t->bad;
}

size_t weir__tr_list(weir__tr *t, int *elem_type) {
  if (t->p >= t->end) {
    weir__tr_fail(t, "metadata ends inside a list");
    return 0;
  }
  uint8_t b = *t->p++;
  uint64_t n = b >> 4;
  *elem_type = b & 0x0f;
  if (n == 15) n = weir__tr_varint(t);
  /* Every element takes at least one byte (a bool list packs one a byte
   * too), so a count above the bytes left is a lie. */
  if (t->bad || n > (uint64_t)(t->end - t->p)) {
    weir__tr_fail(t, "a list longer than the metadata");
    return 0;
  }
  return (size_t)n;
}

void weir__tr_enter(weir__tr *t) {
  if (++t->depth > 64) weir__tr_fail(t, "structs nested too deep");
}
void weir__tr_leave(weir__tr *t) { t->depth--; }

void weir__tr_skip(weir__tr *t, int type) {
  size_t n;
  int et;
  switch (type) {
  case WEIR__T_TRUE:
  case WEIR__T_FALSE:
    return;
  case WEIR__T_BYTE:
    if (t->p >= t->end) weir__tr_fail(t, "metadata ends inside a byte");
    else t->p++;
    return;
  case WEIR__T_I16:
  case WEIR__T_I32:
  case WEIR__T_I64:
    weir__tr_varint(t);
    return;
  case WEIR__T_DOUBLE:
    weir__tr_double(t);
    return;
  case WEIR__T_BINARY:
    weir__tr_binary(t, &n);
    return;
  case WEIR__T_LIST:
  case WEIR__T_SET:
    n = weir__tr_list(t, &et);
    weir__tr_enter(t);
    for (size_t i = 0; i < n && !t->bad; i++)
      weir__tr_skip(t, et == WEIR__T_TRUE || et == WEIR__T_FALSE ? WEIR__T_BYTE : et);
    weir__tr_leave(t);
    return;
  case WEIR__T_MAP: {
    uint64_t m = weir__tr_varint(t);
    if (m == 0) return;
    if (t->p >= t->end || m > (uint64_t)(t->end - t->p)) {
      weir__tr_fail(t, "a map longer than the metadata");
      return;
    }
    uint8_t kv = *t->p++;
    weir__tr_enter(t);
    for (uint64_t i = 0; i < m && !t->bad; i++) {
      weir__tr_skip(t, kv >> 4);
      weir__tr_skip(t, kv & 0x0f);
    }
    weir__tr_leave(t);
    return;
  }
  case WEIR__T_STRUCT: {
    int16_t last = 0, id;
    int ft;
    weir__tr_enter(t);
    while (!t->bad && weir__tr_field(t, &last, &ft, &id)) weir__tr_skip(t, ft);
    weir__tr_leave(t);
    return;
  }
  default:
    weir__tr_fail(t, "an unknown field type");
  }
}

/* ---- Writing ---- */

void weir__tw_init(weir__tw *w) { memset(w, 0, sizeof *w); }
void weir__tw_free(weir__tw *w) {
  free(w->p);
  memset(w, 0, sizeof *w);
}

void weir__tw_bytes(weir__tw *w, const void *p, size_t n) {
  if (w->oom) return;
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 256;
    while (cap < w->len + n) cap *= 2;
    uint8_t *q = realloc(w->p, cap);
    if (!q) {
      w->oom = 1;
      return;
    }
    w->p = q;
    w->cap = cap;
  }
  if (n) memcpy(w->p + w->len, p, n);
  w->len += n;
}

void weir__tw_varint(weir__tw *w, uint64_t v) {
  uint8_t b[10];
  int n = 0;
  while (v >= 0x80) {
    b[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  b[n++] = (uint8_t)v;
  weir__tw_bytes(w, b, (size_t)n);
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

void weir__tw_field(weir__tw *w, int type, int16_t id) {
  int16_t last = w->last[w->depth];
  if (id > last && id - last <= 15) {
    uint8_t b = (uint8_t)((id - last) << 4 | type);
    weir__tw_bytes(w, &b, 1);
  } else {
    uint8_t b = (uint8_t)type;
    weir__tw_bytes(w, &b, 1);
    weir__tw_varint(w, zigzag(id));
  }
  w->last[w->depth] = id;
}

void weir__tw_i32(weir__tw *w, int16_t id, int32_t v) {
  weir__tw_field(w, WEIR__T_I32, id);
  weir__tw_varint(w, zigzag(v));
}
void weir__tw_i64(weir__tw *w, int16_t id, int64_t v) {
  weir__tw_field(w, WEIR__T_I64, id);
  weir__tw_varint(w, zigzag(v));
}
void weir__tw_bool(weir__tw *w, int16_t id, int v) {
  weir__tw_field(w, v ? WEIR__T_TRUE : WEIR__T_FALSE, id);
}
void weir__tw_binary(weir__tw *w, int16_t id, const void *p, size_t n) {
  weir__tw_field(w, WEIR__T_BINARY, id);
  weir__tw_varint(w, n);
  weir__tw_bytes(w, p, n);
}
void weir__tw_string(weir__tw *w, int16_t id, const char *s) {
  weir__tw_binary(w, id, s, strlen(s));
}
void weir__tw_list(weir__tw *w, int16_t id, int elem_type, size_t n) {
  weir__tw_field(w, WEIR__T_LIST, id);
  if (n < 15) {
    uint8_t b = (uint8_t)(n << 4 | (size_t)elem_type);
    weir__tw_bytes(w, &b, 1);
  } else {
    uint8_t b = (uint8_t)(0xf0 | elem_type);
    weir__tw_bytes(w, &b, 1);
    weir__tw_varint(w, n);
  }
}
void weir__tw_struct_begin(weir__tw *w, int16_t id) {
  if (id) weir__tw_field(w, WEIR__T_STRUCT, id);
  if (w->depth + 1 < 32) w->depth++;
  w->last[w->depth] = 0;
}
void weir__tw_struct_end(weir__tw *w) {
  uint8_t z = 0;
  weir__tw_bytes(w, &z, 1);
  if (w->depth > 0) w->depth--;
}
void weir__tw_elem_i32(weir__tw *w, int32_t v) { weir__tw_varint(w, zigzag(v)); }
void weir__tw_elem_binary(weir__tw *w, const void *p, size_t n) {
  weir__tw_varint(w, n);
  weir__tw_bytes(w, p, n);
}
