/* Parquet's value and level encodings: the RLE / bit-packed hybrid,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
 * BYTE_STREAM_SPLIT and PLAIN, decoding from untrusted bytes (every read
 * bounds-checked) and encoding for the writer. */
#ifndef WEIR_PARQUET_ENCODINGS_H
#define WEIR_PARQUET_ENCODINGS_H

#include <stddef.h>
#include <stdint.h>

/* Decoded values of one page: fixed-width values in `fixed` (width bytes
 * each; BOOLEAN one byte a value), or byte arrays as `offs` (n + 1) into
 * `data`. Buffers grow and are reused across pages. */
typedef struct pq_vals {
  size_t n;
  int width;            /* 0 for byte arrays */
  uint8_t *fixed;
  size_t fixed_cap;
  int64_t *offs;
  size_t offs_cap;
  uint8_t *data;
  size_t data_cap, data_len;
} pq_vals;

void weir__pq_vals_free(pq_vals *v);
/* Makes room for `n` values (fixed or offsets) and `data` bytes. */
int  weir__pq_vals_reserve(pq_vals *v, size_t n, size_t data);

/* Decodes `count` values of the RLE / bit-packed hybrid with `bw` bits
 * (0..32) from p[0..len) into out. Returns 0, or -1 when the data ends
 * early or is malformed. */
int weir__pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t count);

/* PLAIN values of physical `type` (`flba` bytes for FIXED) into `v`;
 * returns the bytes used or -1. */
long weir__pq_plain_decode(int type, int flba, const uint8_t *p, size_t len, size_t count,
                           pq_vals *v);
/* DELTA_BINARY_PACKED of INT32 (`width` 4) or INT64 into v->fixed;
 * returns bytes used or -1. `out64` (when not NULL) receives the values as
 * int64 instead (for lengths). */
long weir__pq_delta_decode(const uint8_t *p, size_t len, size_t count, int width,
                           pq_vals *v, int64_t *out64);
long weir__pq_delta_length_decode(const uint8_t *p, size_t len, size_t count, pq_vals *v);
long weir__pq_delta_byte_array_decode(const uint8_t *p, size_t len, size_t count, pq_vals *v);
/* BYTE_STREAM_SPLIT of `count` values of `width` bytes. */
long weir__pq_bss_decode(const uint8_t *p, size_t len, size_t count, int width, pq_vals *v);

/* ---- Encoding (the writer) ---- */
typedef struct pq_buf {
  uint8_t *p;
  size_t len, cap;
  int oom;
} pq_buf;
void weir__pq_buf_put(pq_buf *b, const void *p, size_t n);
void weir__pq_buf_free(pq_buf *b);
/* Appends the RLE / bit-packed hybrid of vals[0..n) with `bw` bits
 * (runs of 8+ equal values as RLE, the rest bit-packed). */
void weir__pq_rle_encode(pq_buf *b, const uint32_t *vals, size_t n, int bw);
/* Bits needed for values up to `max`. */
int weir__pq_bit_width(uint64_t max);

#endif /* WEIR_PARQUET_ENCODINGS_H */
