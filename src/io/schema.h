/* Column lists of the JSONL and CSV readers: parsed from the `columns`
 * option ("name:type,...") or inferred from the first rows. */
#ifndef WEIR_IO_SCHEMA_H
#define WEIR_IO_SCHEMA_H

#include <stddef.h>

typedef struct weir__schema {
  size_t n, cap;
  char **names;
  int *types;       /* WEIR_TYPE_BOOL, INT64, FLOAT64 or STRING */
} weir__schema;

/* Parses "name:type,name:type"; types bool, int64, float64, string (also
 * int, float, str). A name without ":type" is a string. */
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
  WEIR__SEEN_STRING = 8   /* strings and nested values */
};
/* The type for a set of WEIR__SEEN_* bits: int64 widens to float64;
 * anything mixed with strings, or booleans with numbers, is a string; a
 * column that only held nulls is a string. */
int weir__schema_type_of(unsigned seen);

#endif /* WEIR_IO_SCHEMA_H */
