/* The Thrift compact protocol, as much as Parquet's footer and page headers
 * need: a bounds-checked reader that never trusts a size it reads, and a
 * writer into a growable buffer. */
#ifndef WEIR_PARQUET_THRIFT_H
#define WEIR_PARQUET_THRIFT_H

#include <stddef.h>
#include <stdint.h>

/* Compact protocol field types. */
enum {
  WEIR__T_STOP = 0,
  WEIR__T_TRUE = 1,
  WEIR__T_FALSE = 2,
  WEIR__T_BYTE = 3,
  WEIR__T_I16 = 4,
  WEIR__T_I32 = 5,
  WEIR__T_I64 = 6,
  WEIR__T_DOUBLE = 7,
  WEIR__T_BINARY = 8,
  WEIR__T_LIST = 9,
  WEIR__T_SET = 10,
  WEIR__T_MAP = 11,
  WEIR__T_STRUCT = 12
};

/* A reader over [p, end). Any read past the end, a negative size or a
 * nesting deeper than 64 sets `bad` (with `why`) and returns zeros from
 * then on, so parsers check once at the end. */
typedef struct weir__tr {
  const uint8_t *p, *end;
  int bad;
  const char *why;
  int depth;
} weir__tr;

void     weir__tr_init(weir__tr *t, const void *p, size_t n);
void     weir__tr_fail(weir__tr *t, const char *why);
uint64_t weir__tr_varint(weir__tr *t);
int64_t  weir__tr_i64(weir__tr *t);   /* zigzag varint */
int32_t  weir__tr_i32(weir__tr *t);
double   weir__tr_double(weir__tr *t);
/* A binary/string: points into the input; `*n` its length. */
const uint8_t *weir__tr_binary(weir__tr *t, size_t *n);
/* Reads a field header. Returns 0 at the struct's STOP, 1 with `*type`
 * and `*id` otherwise (a BOOL field's value is its type: TRUE/FALSE). */
int      weir__tr_field(weir__tr *t, int16_t *last_id, int *type, int16_t *id);
/* A list/set header: element type and count (bounded by the bytes left). */
size_t   weir__tr_list(weir__tr *t, int *elem_type);
/* Skips a value of `type`. */
void     weir__tr_skip(weir__tr *t, int type);
/* Enter/leave a nested struct (depth bound). */
void     weir__tr_enter(weir__tr *t);
void     weir__tr_leave(weir__tr *t);

/* ---- Writing ---- */
typedef struct weir__tw {
  uint8_t *p;
  size_t len, cap;
  int oom;
  int16_t last[32];   /* last field id per open struct */
  int depth;
} weir__tw;

void weir__tw_init(weir__tw *w);
void weir__tw_free(weir__tw *w);
void weir__tw_bytes(weir__tw *w, const void *p, size_t n);
void weir__tw_varint(weir__tw *w, uint64_t v);
/* A field header of `type` and `id` in the current struct. */
void weir__tw_field(weir__tw *w, int type, int16_t id);
void weir__tw_i32(weir__tw *w, int16_t id, int32_t v);
void weir__tw_i64(weir__tw *w, int16_t id, int64_t v);
void weir__tw_bool(weir__tw *w, int16_t id, int v);
void weir__tw_binary(weir__tw *w, int16_t id, const void *p, size_t n);
void weir__tw_string(weir__tw *w, int16_t id, const char *s);
/* A list field header of `n` elements of `elem_type`. */
void weir__tw_list(weir__tw *w, int16_t id, int elem_type, size_t n);
/* A struct field (id > 0) or a struct element of a list (id 0). */
void weir__tw_struct_begin(weir__tw *w, int16_t id);
void weir__tw_struct_end(weir__tw *w);  /* writes STOP */
/* Element writers inside lists. */
void weir__tw_elem_i32(weir__tw *w, int32_t v);
void weir__tw_elem_binary(weir__tw *w, const void *p, size_t n);

#endif /* WEIR_PARQUET_THRIFT_H */
