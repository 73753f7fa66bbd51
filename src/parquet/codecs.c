/* Page compression and decompression for every codec weir's Parquet
 * reader and writer handle. */
#include <stdio.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>
#ifdef WEIR_HAVE_SNAPPY
#include <snappy-c.h>
#endif
#ifdef WEIR_HAVE_LZ4
#include <lz4.h>
#endif
#ifdef WEIR_HAVE_BROTLI
#include <brotli/decode.h>
#include <brotli/encode.h>
#endif

#include "weir/error.h"
#include "parquet/codecs.h"
#include "parquet/meta.h"

const char *weir__pq_codec_name(int codec) {
  switch (codec) {
  case PQ_UNCOMPRESSED: return "UNCOMPRESSED";
  case PQ_SNAPPY: return "SNAPPY";
  case PQ_GZIP: return "GZIP";
  case PQ_LZO: return "LZO";
  case PQ_BROTLI: return "BROTLI";
  case PQ_LZ4: return "LZ4 (Hadoop framing)";
  case PQ_ZSTD: return "ZSTD";
  case PQ_LZ4_RAW: return "LZ4_RAW";
  default: return "unknown";
  }
}

int weir__pq_codec_available(int codec) {
  switch (codec) {
  case PQ_UNCOMPRESSED: case PQ_GZIP: case PQ_ZSTD: return 1;
#ifdef WEIR_HAVE_SNAPPY
  case PQ_SNAPPY: return 1;
#endif
#ifdef WEIR_HAVE_LZ4
  case PQ_LZ4_RAW: return 1;
#endif
#ifdef WEIR_HAVE_BROTLI
  case PQ_BROTLI: return 1;
#endif
  default: return 0;
  }
}

static int unsupported(int codec, char *err, size_t errlen) {
  snprintf(err, errlen, "codec %s is not supported by this build of weir",
           weir__pq_codec_name(codec));
  return WEIR_ENOTSUP;
}

static int gunzip(const uint8_t *src, size_t n, uint8_t *out, size_t out_len,
                  size_t *got) {
  z_stream z;
  memset(&z, 0, sizeof z);
  /* 15 + 32: a gzip or zlib header, detected. */
  if (inflateInit2(&z, 15 + 32) != Z_OK) return -1;
  z.next_in = (Bytef *)src;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)out_len;
  int rc = inflate(&z, Z_FINISH);
  *got = out_len - z.avail_out;
  inflateEnd(&z);
  return rc == Z_STREAM_END ? 0 : -1;
}

int weir__pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *out,
                        size_t out_len, char *err, size_t errlen) {
  size_t got = 0;
  int bad = 0;
  switch (codec) {
  case PQ_UNCOMPRESSED:
    if (n != out_len) bad = 1;
    else if (n) memcpy(out, src, n);
    got = n;
    break;
  case PQ_ZSTD: {
    size_t r = ZSTD_decompress(out, out_len, src, n);
    if (ZSTD_isError(r)) bad = 1;
    got = r;
    break;
  }
  case PQ_GZIP:
    if (n > UINT32_MAX || out_len > UINT32_MAX || gunzip(src, n, out, out_len, &got)) bad = 1;
    break;
#ifdef WEIR_HAVE_SNAPPY
  case PQ_SNAPPY: {
    size_t len;
    if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK || len != out_len ||
        snappy_uncompress((const char *)src, n, (char *)out, &len) != SNAPPY_OK)
      bad = 1;
    got = len;
    break;
  }
#endif
#ifdef WEIR_HAVE_LZ4
  case PQ_LZ4_RAW: {
    if (n > INT32_MAX || out_len > INT32_MAX) { bad = 1; break; }
    int r = LZ4_decompress_safe((const char *)src, (char *)out, (int)n, (int)out_len);
    if (r < 0) bad = 1;
    got = r < 0 ? 0 : (size_t)r;
    break;
  }
#endif
#ifdef WEIR_HAVE_BROTLI
  case PQ_BROTLI: {
    size_t len = out_len;
    if (BrotliDecoderDecompress(n, src, &len, out) != BROTLI_DECODER_RESULT_SUCCESS) bad = 1;
    got = len;
    break;
  }
#endif
  default:
    return unsupported(codec, err, errlen);
  }
  if (bad || got != out_len) {
    snprintf(err, errlen, "%s data does not decompress to the %zu bytes its header says",
             weir__pq_codec_name(codec), out_len);
    return WEIR_EFORMAT;
  }
  return WEIR_OK;
}

size_t weir__pq_compress_bound(int codec, size_t n) {
  switch (codec) {
  case PQ_ZSTD: return ZSTD_compressBound(n);
  case PQ_GZIP: return compressBound((uLong)n) + 32;
#ifdef WEIR_HAVE_SNAPPY
  case PQ_SNAPPY: return snappy_max_compressed_length(n);
#endif
#ifdef WEIR_HAVE_LZ4
  case PQ_LZ4_RAW: return (size_t)LZ4_compressBound((int)n);
#endif
#ifdef WEIR_HAVE_BROTLI
  case PQ_BROTLI: return BrotliEncoderMaxCompressedSize(n) + 64;
#endif
  default: return n;
  }
}

int weir__pq_compress(int codec, int level, const uint8_t *src, size_t n,
                      uint8_t *out, size_t *out_len, char *err, size_t errlen) {
  size_t cap = weir__pq_compress_bound(codec, n);
  switch (codec) {
  case PQ_UNCOMPRESSED:
    if (n) memcpy(out, src, n);
    *out_len = n;
    return WEIR_OK;
  case PQ_ZSTD: {
    size_t r = ZSTD_compress(out, cap, src, n, level ? level : 1);
    if (ZSTD_isError(r)) break;
    *out_len = r;
    return WEIR_OK;
  }
  case PQ_GZIP: {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level ? level : 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      break;
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) break;
    return WEIR_OK;
  }
#ifdef WEIR_HAVE_SNAPPY
  case PQ_SNAPPY: {
    size_t len = cap;
    if (snappy_compress((const char *)src, n, (char *)out, &len) != SNAPPY_OK) break;
    *out_len = len;
    return WEIR_OK;
  }
#endif
#ifdef WEIR_HAVE_LZ4
  case PQ_LZ4_RAW: {
    int r = LZ4_compress_default((const char *)src, (char *)out, (int)n, (int)cap);
    if (r <= 0 && n) break;
    *out_len = (size_t)r;
    return WEIR_OK;
  }
#endif
#ifdef WEIR_HAVE_BROTLI
  case PQ_BROTLI: {
    size_t len = cap;
    if (!BrotliEncoderCompress(level ? level : 5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC,
                               n, src, &len, out))
      break;
    *out_len = len;
    return WEIR_OK;
  }
#endif
  default:
    return unsupported(codec, err, errlen);
  }
  snprintf(err, errlen, "%s compression failed", weir__pq_codec_name(codec));
  return WEIR_EIO;
}
