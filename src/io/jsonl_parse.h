/* Parsing JSONL lines into column accumulators, and inferring their
 * columns from the first rows. */
#ifndef WEIR_IO_JSONL_PARSE_H
#define WEIR_IO_JSONL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "io/colacc.h"
#include "io/schema.h"

/* Infers columns from lines: keys in order of first appearance, types
 * folded with weir__schema_type_of(). Malformed lines are ignored here
 * (the reading pass reports them with their line numbers). */
typedef struct weir__jsonl_infer {
  weir__schema s;
  unsigned *seen;      /* WEIR__SEEN_* bits per column */
  size_t seen_cap;
  size_t rows;
} weir__jsonl_infer;

void weir__jsonl_infer_init(weir__jsonl_infer *in);
/* `line` ends with '\n' followed by WEIR__CHUNK_PAD readable bytes. */
int  weir__jsonl_infer_line(weir__jsonl_infer *in, const char *line);
/* Moves the result into `out` (types filled in). */
int  weir__jsonl_infer_finish(weir__jsonl_infer *in, weir__schema *out);
void weir__jsonl_infer_free(weir__jsonl_infer *in);

typedef struct weir__jsonl_parser {
  const weir__schema *schema;
  weir__colacc *cols;
  size_t ncols;
  size_t *stamp;       /* per column: row + 1 of the last value set */
  size_t *name_lens;   /* per column: strlen of its name */
  uint32_t *slots;     /* open-addressing table of column indexes + 1 */
  uint32_t mask;
  char *scratch;       /* unescaped keys */
  size_t scratch_cap;
  size_t infer_rows;   /* for messages: how the schema was inferred */
  int inferred;
  char why[256];       /* detail of the last failure */
  char dropped[128];   /* the first key seen that is not a column, "" */
  size_t rows0;        /* rows parsed when there are no columns */
} weir__jsonl_parser;

/* Parses the first `nparse` columns of `s` (the reader may add more). */
int  weir__jsonl_parser_init(weir__jsonl_parser *ps, const weir__schema *s,
                             size_t nparse, int inferred, size_t infer_rows);
void weir__jsonl_parser_free(weir__jsonl_parser *ps);
/* Rows parsed and not yet taken by weir__jsonl_parser_block(). */
static inline size_t weir__jsonl_parser_rows(const weir__jsonl_parser *ps) {
  return ps->ncols ? ps->cols[0].n : ps->rows0;
}
/* Parses one line (ending with '\n' followed by readable padding) into a
 * row. Returns 1 for a row, 0 for a blank line, WEIR_EFORMAT with the
 * detail in ps->why for a malformed line (nothing is appended), or
 * WEIR_ENOMEM. */
int weir__jsonl_parse_line(weir__jsonl_parser *ps, const char *line);
/* The rows parsed so far as a block. */
int weir__jsonl_parser_block(weir__jsonl_parser *ps, weir_block **out);

#endif /* WEIR_IO_JSONL_PARSE_H */
