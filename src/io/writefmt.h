/* Output formats of the sharded writer: how rows become bytes (JSONL, CSV,
 * block files), and how many rows a complete shard holds (for resume). */
#ifndef WEIR_IO_WRITEFMT_H
#define WEIR_IO_WRITEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"
#include "io/blockfile.h"
#include "io/vfs.h"

typedef struct weir__fmt {
  const char *name;      /* "jsonl", "csv", "blocks" */
  const char *ext;       /* ".jsonl", ".csv", ".weir" */
  int text;              /* 1: may be compressed as a whole, cut per row */
  int level;             /* zstd level (block files) */
  /* Per-shard state. */
  void *(*open)(int level);
  void (*close)(void *st);
  /* Bytes that start a shard, given its first block. */
  int (*begin)(void *st, const weir_block *first, weir__bytes *out);
  /* Rows [r0, r0 + n) of `b`; `pos` is the shard's byte count so far. */
  int (*rows)(void *st, const weir_block *b, size_t r0, size_t n,
              uint64_t pos, weir__bytes *out, char *err, size_t errlen);
  /* Bytes that end a shard. */
  int (*end)(void *st, uint64_t pos, weir__bytes *out);
  /* Rows of a complete shard written earlier. */
  int (*count_rows)(const char *uri, const weir__io_config *cfg,
                    uint64_t *rows, char *err, size_t errlen);
} weir__fmt;

extern const weir__fmt weir__fmt_jsonl;
extern const weir__fmt weir__fmt_csv;
extern const weir__fmt weir__fmt_blocks;

/* Base64 of n bytes into out (room for 4 * ceil(n / 3)); returns length. */
size_t weir__base64(const unsigned char *p, size_t n, char *out);

#endif /* WEIR_IO_WRITEFMT_H */
