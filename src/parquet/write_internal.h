/* The Parquet writer's halves: encoding a block into a row group (on the
 * parallel encoding workers) and the footer (written by the sink when a
 * shard closes). */
#ifndef WEIR_PARQUET_WRITE_INTERNAL_H
#define WEIR_PARQUET_WRITE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"
#include "weir/parquet.h"
#include "parquet/encodings.h"

/* The bytes of one row group of `b` (offsets relative to its start) in
 * `frame`, and its description for the footer in `meta`. */
int weir__pq_encode_row_group(const weir_block *b, const weir_parquet_write_options *opt,
                              pq_buf *frame, pq_buf *meta, char *err, size_t errlen);
/* The footer (FileMetaData, its length, "PAR1") of a file whose row groups
 * start at off[i] with descriptions metas[i]. */
int weir__pq_footer(const uint64_t *off, const uint8_t *const *metas, const size_t *meta_lens,
                    size_t n, pq_buf *out, char *err, size_t errlen);

#endif /* WEIR_PARQUET_WRITE_INTERNAL_H */
