/* What the Parquet reader's files share: the columns a file offers weir
 * (leaves mapped to weir types), and the decoding of one column chunk into
 * a block column. */
#ifndef WEIR_PARQUET_INTERNAL_H
#define WEIR_PARQUET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/block_internal.h"
#include "parquet/meta.h"

/* How a physical value becomes a weir value. */
enum {
  PQC_COPY = 0,      /* same bytes (int32, int64, float, double, list elements) */
  PQC_BOOL,
  PQC_BYTES,         /* STRING (checked UTF-8) or BINARY */
  PQC_U32_I64,       /* UINT_32 into int64 */
  PQC_INT96_NS,      /* INT96 timestamps into int64 nanoseconds */
  PQC_F16_F32,       /* FLOAT16 into float32 */
  PQC_DEC_I32,       /* DECIMAL into float64 */
  PQC_DEC_I64,
  PQC_DEC_BYTES,     /* big-endian two's complement bytes */
  PQC_LIST_JSON      /* a list of strings or booleans as the JSON text of an array */
};

/* One leaf column of a file as weir reads it. */
typedef struct pq_leaf {
  const char *name;       /* the top-level field's name */
  size_t schema_idx;      /* the leaf's schema element */
  size_t chunk_idx;       /* its column chunk in each row group */
  int phys, flba;         /* physical type, FIXED length */
  int max_def, max_rep;
  int is_list;
  int def_list;           /* def level at which the list itself is present */
  int def_rep;            /* def level at which the list has an element */
  int type, dtype;        /* the weir column */
  int conv;               /* PQC_* */
  int scale;              /* DECIMAL */
} pq_leaf;

/* The columns of `m`: one leaf per top-level field. A struct or map field,
 * or a list of something that is not a number, is WEIR_ENOTSUP naming
 * it, unless `keep` (a NULL-terminated list of names) leaves it out. */
int weir__pq_leaves(const pq_file_meta *m, const char *const *keep, size_t nkeep,
                    pq_leaf **out, size_t *n, char *err, size_t errlen);

/* Decodes column chunk `leaf` of row group `rg` from the chunk's bytes
 * `buf[0..len)` (which start at the chunk's first page) into `col`, which
 * gets `rows` rows. Errors name the page (the caller adds file, row group
 * and column). */
int weir__pq_read_chunk(const pq_leaf *leaf, const pq_chunk *ch, const uint8_t *buf,
                        size_t len, int64_t rows, weir__column *col, char *err,
                        size_t errlen);

/* A column chunk read a block of rows at a time, one page at a time (see
 * read_chunk.c). Its bytes are `mem[0..chunk's total_compressed)` when
 * `mem` is not NULL, else they come through `fetch`, which reads exactly
 * `n` bytes at chunk offset `offset` into `buf`. */
typedef struct pq_col pq_col;
typedef int (*pq_fetch_fn)(void *arg, uint64_t offset, size_t n, uint8_t *buf, char *err,
                           size_t errlen);
int  weir__pq_col_open(const pq_leaf *leaf, const pq_chunk *ch, int64_t rows,
                       const uint8_t *mem, pq_fetch_fn fetch, void *farg, pq_col **out);
/* The next `rows` rows of the chunk into `col`. After the row group's
 * last rows, checks that the chunk holds no more. Errors name the page
 * (the caller adds file, row group and column). */
int  weir__pq_col_take(pq_col *c, int64_t rows, weir__column *col, char *err, size_t errlen);
void weir__pq_col_close(pq_col *c);

/* Reads and parses the footer of `uri` (`size` bytes) through the URI
 * layer: the magic at both ends, the length, then the metadata. */
struct weir__io_config;
int weir__pq_read_footer(const struct weir__io_config *cfg, const char *uri, uint64_t size,
                         pq_file_meta *m, char *err, size_t errlen);

#endif /* WEIR_PARQUET_INTERNAL_H */
