/* The seam through which the executor turns a block into bytes and back,
 * for blocks that cross between MPI ranks (weir_repartition_by_key): the
 * I/O component implements it (src/io/blockfile.c, the block file's frame
 * payload without compression), so the executor includes no io header. */
#ifndef WEIR_EXEC_BLOCK_CODEC_H
#define WEIR_EXEC_BLOCK_CODEC_H

#include <stddef.h>

#include "core/block_internal.h"

typedef struct weir__block_codec {
  /* The bytes write() needs for `b` (host columns; borrowed). */
  int (*size)(const weir_block *b, size_t *raw);
  /* Writes `b` into `dst`, exactly `raw` bytes (from size()). */
  int (*write)(const weir_block *b, void *dst, size_t raw);
  /* A block whose columns point into `mem` (`raw` bytes, 8-byte aligned),
   * which it takes: `release(opaque, mem, raw)` runs when the last column
   * goes, or at once on failure. WEIR_EFORMAT with `err` for bytes that
   * are not a block. */
  int (*read)(void *mem, size_t raw, weir__buffer_release_fn release, void *opaque,
              weir_block **out, char *err, size_t errlen);
} weir__block_codec;

const weir__block_codec *weir__block_codec_get(void);

#endif
