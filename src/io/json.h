/* A JSON lexer for one JSONL line at a time, working in place: values are
 * located and checked without copying, strings are decoded only when they
 * hold escapes. The input is a line that ends with '\n' (or '\0') followed
 * by at least 16 readable bytes, so scans need no bounds checks; a raw
 * newline is never valid inside a JSON value, which makes it the end. */
#ifndef WEIR_IO_JSON_H
#define WEIR_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

enum {
  WEIR__J_NULL = 0,
  WEIR__J_BOOL,
  WEIR__J_INT,
  WEIR__J_FLOAT,
  WEIR__J_STRING,
  WEIR__J_NESTED   /* an object or an array, kept as its JSON text */
};

typedef struct weir__jval {
  int kind;
  const char *start, *end;   /* the raw token; a string includes quotes */
  int escaped;               /* STRING: holds backslash escapes */
  int64_t i;                 /* INT, and BOOL as 0/1 */
  double f;                  /* FLOAT */
} weir__jval;

/* Skips spaces, tabs and carriage returns. */
static inline const char *weir__json_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\r') p++;
  return p;
}

/* Lexes the value at `p` (no leading whitespace). Returns the first byte
 * after it, or NULL with `*why` set to a static description. */
const char *weir__json_value(const char *p, weir__jval *v, const char **why);

/* Lexes a string at `p` (which must be '"'): returns the byte after the
 * closing quote, or NULL. `*escaped` says whether it holds escapes. */
const char *weir__json_string(const char *p, int *escaped, const char **why);

/* Decodes the body of a lexed string (between the quotes, `s` to `e`) into
 * `out`, which has room for e - s bytes (decoding never grows). Returns the
 * bytes written. \uXXXX escapes, surrogate pairs included, become UTF-8; a
 * lone surrogate becomes U+FFFD. */
size_t weir__json_unescape(const char *s, const char *e, char *out);

/* Appends `s[0..len)` as a JSON string literal (with quotes) to `out`,
 * which must have room for 6 * len + 2 bytes. Returns bytes written. */
size_t weir__json_escape(const char *s, size_t len, char *out);

/* Shortest text of `v` that reads back as the same double; `out` needs 32
 * bytes. Returns its length. Non-finite values give "null". */
size_t weir__json_double(double v, char *out);

#endif /* WEIR_IO_JSON_H */
