/* Column lists of the JSONL and CSV readers: parsed from the `columns`
 * option ("name:type,...") or inferred from the first rows. */
#ifndef WEIR_IO_SCHEMA_H
#define WEIR_IO_SCHEMA_H

#include <stddef.h>

#include "weir/block.h"

typedef struct weir__schema {
  size_t n, cap;
  char **names;
  int *types;       /* WEIR_TYPE_BOOL, INT64, FLOAT64, STRING, or a list
                       code from weir__schema_list() */
} weir__schema;

/* A list column's type in a schema: WEIR_TYPE_LIST with the element dtype
 * in the bits above the type. */
static inline int weir__schema_list(int dtype) { return dtype << 8 | WEIR_TYPE_LIST; }
static inline int weir__schema_base(int t) { return t & 0xff; }
static inline int weir__schema_dtype(int t) { return t >> 8; }

/* Parses "name:type,name:type"; types bool, int64, float64, string (also
 * int, float, str) and list<DTYPE> (list<int64>, list<float32>, ... any
 * element dtype but float16 and bfloat16). A name without ":type" is a
 * string. */
int  weir__schema_parse(const char *spec, weir__schema *s, char *err,
                        size_t errlen);
int  weir__schema_add(weir__schema *s, const char *name, size_t len, int type);
/* Index of `name`, or -1. */
int  weir__schema_find(const weir__schema *s, const char *name, size_t len);
void weir__schema_free(weir__schema *s);

/* Type inference: kinds seen per column, folded into one type. */
enum {
  WEIR__SEEN_BOOL = 1,
  WEIR__SEEN_INT = 2,
  WEIR__SEEN_FLOAT = 4,
  WEIR__SEEN_STRING = 8,  /* strings and nested values */
  WEIR__SEEN_LIST_INT = 16,   /* an array of integers */
  WEIR__SEEN_LIST_FLOAT = 32, /* an array of numbers, one not an integer */
  WEIR__SEEN_LIST_EMPTY = 64  /* [] */
};
/* The type for a set of WEIR__SEEN_* bits: int64 widens to float64;
 * anything mixed with strings, or booleans with numbers, is a string; a
 * column that only held nulls is a string. Arrays of numbers (and empty
 * ones) alone make list<int64>, or list<float64> when one held a
 * non-integer; arrays mixed with scalars are strings (their JSON text). */
int weir__schema_type_of(unsigned seen);

#endif /* WEIR_IO_SCHEMA_H */
