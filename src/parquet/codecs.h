/* Parquet's page codecs: UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW and
 * BROTLI, through Debian's libraries. Snappy, LZ4 and Brotli are optional
 * at build time; without them their codec answers WEIR_ENOTSUP. */
#ifndef WEIR_PARQUET_CODECS_H
#define WEIR_PARQUET_CODECS_H

#include <stddef.h>
#include <stdint.h>

/* Decompresses `src[0..n)` into exactly `out_len` bytes at `out`; a
 * different size is WEIR_EFORMAT. */
int weir__pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *out,
                        size_t out_len, char *err, size_t errlen);
/* The most bytes weir__pq_compress() may write for `n` input bytes. */
size_t weir__pq_compress_bound(int codec, size_t n);
/* Compresses into `out` (room for the bound); `*out_len` the size. */
int weir__pq_compress(int codec, int level, const uint8_t *src, size_t n,
                      uint8_t *out, size_t *out_len, char *err, size_t errlen);
/* 1 when this build has `codec`. */
int weir__pq_codec_available(int codec);
const char *weir__pq_codec_name(int codec);

#endif /* WEIR_PARQUET_CODECS_H */
