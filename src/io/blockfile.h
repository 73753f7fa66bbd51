/* weir's block file format: zstd-compressed blocks that keep every column
 * type, nulls and tensors, for caching preprocessed data and for spilling.
 *
 *   file    := header frame* footer
 *   header  := "WEIRBLK\0" u32 version(1) u32 0x01020304 (byte order)
 *   frame   := u32 'WBLK' u32 0 u64 compressed u64 raw u64 rows
 *              compressed bytes (one zstd frame with a checksum)
 *   footer  := u32 'WIDX' u32 0 u64 nframes u64 0 u64 0
 *              nframes * (u64 offset u64 rows)
 *              u64 footer_offset u64 total_rows "WEIREND\0"
 *
 * A frame's raw payload is: u64 ncols, u64 rows, then per column a fixed
 * descriptor and its name, then the buffers (validity, values, offsets
 * rebased to 0), each at a 64-byte aligned offset, so a reader can
 * decompress a frame into one aligned buffer and point the columns into it
 * without another copy. */
#ifndef WEIR_IO_BLOCKFILE_H
#define WEIR_IO_BLOCKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"

#define WEIR__BF_MAGIC "WEIRBLK\0"
#define WEIR__BF_END "WEIREND\0"
#define WEIR__BF_VERSION 1
#define WEIR__BF_HEADER_SIZE 16
#define WEIR__BF_FRAME_HEADER 32
#define WEIR__BF_TAG_FRAME 0x4b4c4257u  /* "WBLK" */
#define WEIR__BF_TAG_INDEX 0x58444957u  /* "WIDX" */

/* A growable byte buffer. */
typedef struct weir__bytes {
  unsigned char *p;
  size_t len, cap;
} weir__bytes;
int  weir__bytes_reserve(weir__bytes *b, size_t more);
int  weir__bytes_put(weir__bytes *b, const void *p, size_t n);
void weir__bytes_free(weir__bytes *b);

/* Writes the file header into `out`. */
int weir__bf_header(weir__bytes *out);
/* Appends one frame holding `b` (borrowed; device columns are copied to
 * the host first) to `out`, compressed at `level` with `cctx` (a
 * ZSTD_CCtx *, reused across calls). `*raw` gets the uncompressed size. */
int weir__bf_frame(const weir_block *b, void *cctx, int level,
                   weir__bytes *out, uint64_t *raw);
/* Appends the footer for frames at offsets[0..n) with rows[0..n). */
int weir__bf_footer(const uint64_t *offsets, const uint64_t *rows, size_t n,
                    uint64_t footer_offset, weir__bytes *out);

/* Checks a file header; WEIR_EFORMAT with `err` if it is not one. */
int weir__bf_check_header(const unsigned char *h, char *err, size_t errlen);
/* Parses a frame header: its tag, compressed and raw sizes and rows. */
void weir__bf_frame_header(const unsigned char *h, uint32_t *tag,
                           uint64_t *comp, uint64_t *raw, uint64_t *rows);
/* Decodes a frame body (`comp` compressed bytes, `raw` uncompressed) into
 * a block, with `dctx` (a ZSTD_DCtx *). WEIR_EFORMAT with `err` on
 * corruption. */
int weir__bf_decode(const void *comp, size_t comp_len, uint64_t raw,
                    uint64_t rows, void *dctx, weir_block **out, char *err,
                    size_t errlen);

#endif /* WEIR_IO_BLOCKFILE_H */
