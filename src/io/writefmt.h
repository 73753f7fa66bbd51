/* Output formats of the sharded writer: how rows become bytes (JSONL, CSV,
 * block files), and how many rows a complete shard holds (for resume). */
#ifndef WEIR_IO_WRITEFMT_H
#define WEIR_IO_WRITEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"
#include "io/blockfile.h"
#include "io/vfs.h"

/* A format turns blocks into "encoded blocks" on parallel workers, and the
 * single sink worker only cuts them into shards and writes their bytes:
 *
 *  - text formats (JSONL, CSV): one BINARY column, one row per input row
 *    holding that row's bytes (so its offsets are the row boundaries and a
 *    shard can be cut after any row); the column's name is the text that
 *    starts a shard (the CSV header line; "" for JSONL);
 *  - block files: one row, a BINARY "frame" (a block file frame of the
 *    whole block) and an INT64 "rows".
 */
typedef struct weir__fmt {
  const char *name;      /* "jsonl", "csv", "blocks" */
  const char *ext;       /* ".jsonl", ".csv", ".weir" */
  int text;              /* 1: may be compressed as a whole, cut per row */
  /* Per encoding worker. */
  void *(*open)(int level);
  void (*close)(void *st);
  /* Encodes `b` (borrowed). */
  int (*encode)(void *st, const weir_block *b, weir_block **out, char *err,
                size_t errlen);
  /* Rows of a complete shard written earlier. */
  int (*count_rows)(const char *uri, const weir__io_config *cfg,
                    uint64_t *rows, char *err, size_t errlen);
  /* Framed formats other than block files (Parquet) set these: an encoder
   * made from the writer's own options (`arg` of weir__writer_make), the
   * bytes that start a shard, and its footer, made from each frame's
   * offset in the shard and its description (the encoded block's third
   * column, "meta"). Their frames are never split: the caller cuts the
   * input at shard_rows boundaries before encoding. */
  void *(*open_arg)(const void *arg);
  int (*shard_head)(weir__bytes *out);
  int (*shard_foot)(const uint64_t *off, const unsigned char *const *metas,
                    const size_t *lens, size_t n, weir__bytes *out, char *err,
                    size_t errlen);
} weir__fmt;

/* The sharded writer of weir_write_jsonl & co. for a format defined
 * outside io: `arg` (freed with `free_arg` when the pipeline goes) is
 * passed to fmt->open_arg; the ops are called `enc_name` and `sink_name`. */
struct weir_pipeline;
struct weir_op;
struct weir_write_options;
struct weir_op *weir__writer_make(struct weir_pipeline *p, struct weir_op *in,
                                  const char *uri, const struct weir_write_options *o,
                                  const weir__fmt *fmt, void *arg,
                                  void (*free_arg)(void *), const char *enc_name,
                                  const char *sink_name);

extern const weir__fmt weir__fmt_jsonl;
extern const weir__fmt weir__fmt_csv;
extern const weir__fmt weir__fmt_blocks;

/* The encoded form of `b` for block files (see above), compressed with
 * `cctx` (a ZSTD_CCtx *) at `level`. */
int weir__fmt_frame_block(void *cctx, int level, const weir_block *b,
                          weir_block **out, char *err, size_t errlen);

/* Base64 of n bytes into out (room for 4 * ceil(n / 3)); returns length. */
size_t weir__base64(const unsigned char *p, size_t n, char *out);

#endif /* WEIR_IO_WRITEFMT_H */
