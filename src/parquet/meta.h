/* Parquet's file metadata (the footer) and page headers as weir reads and
 * writes them: parsed from Thrift into plain structs, with every count and
 * offset checked against the file before anything trusts it. */
#ifndef WEIR_PARQUET_META_H
#define WEIR_PARQUET_META_H

#include <stddef.h>
#include <stdint.h>

/* Physical types. */
enum {
  PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_INT96 = 3, PQ_FLOAT = 4,
  PQ_DOUBLE = 5, PQ_BYTE_ARRAY = 6, PQ_FIXED = 7
};
/* Repetition. */
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
/* Encodings. */
enum {
  PQ_PLAIN = 0, PQ_PLAIN_DICTIONARY = 2, PQ_RLE = 3, PQ_BIT_PACKED = 4,
  PQ_DELTA_BINARY_PACKED = 5, PQ_DELTA_LENGTH_BYTE_ARRAY = 6,
  PQ_DELTA_BYTE_ARRAY = 7, PQ_RLE_DICTIONARY = 8, PQ_BYTE_STREAM_SPLIT = 9
};
/* Codecs. */
enum {
  PQ_UNCOMPRESSED = 0, PQ_SNAPPY = 1, PQ_GZIP = 2, PQ_LZO = 3, PQ_BROTLI = 4,
  PQ_LZ4 = 5, PQ_ZSTD = 6, PQ_LZ4_RAW = 7
};
/* Page types. */
enum { PQ_DATA_PAGE = 0, PQ_INDEX_PAGE = 1, PQ_DICTIONARY_PAGE = 2, PQ_DATA_PAGE_V2 = 3 };
/* What a column's logical or converted type says (weir's own summary). */
enum {
  PQL_NONE = 0, PQL_STRING, PQL_ENUM, PQL_JSON, PQL_BSON, PQL_UUID, PQL_FLOAT16,
  PQL_DATE, PQL_TIME, PQL_TIMESTAMP, PQL_DECIMAL, PQL_INT, PQL_LIST, PQL_MAP,
  PQL_MAP_KEY_VALUE
};

typedef struct pq_schema_el {
  char *name;
  int has_type;          /* a leaf */
  int type, type_length, repetition, num_children;
  int logical;           /* PQL_* */
  int int_bits, int_signed;   /* PQL_INT */
  int scale, precision;       /* PQL_DECIMAL */
  int unit;              /* TIME/TIMESTAMP: 0 millis, 1 micros, 2 nanos */
} pq_schema_el;

typedef struct pq_stats {
  const uint8_t *min, *max;  /* into the footer; NULL when absent */
  size_t min_len, max_len;
  int64_t null_count;        /* -1 when absent */
} pq_stats;

typedef struct pq_chunk {
  int type, codec;
  char **path;
  size_t path_len;
  int64_t num_values, total_compressed, total_uncompressed;
  int64_t data_page_offset, dict_page_offset; /* dict: -1 when none */
  uint32_t encodings;    /* bit e set: the chunk uses encoding e (PQ_*, e < 32) */
  pq_stats stats;
} pq_chunk;

typedef struct pq_row_group {
  pq_chunk *chunks;
  size_t nchunks;
  int64_t num_rows;
} pq_row_group;

typedef struct pq_kv { char *key, *value; } pq_kv;

typedef struct pq_file_meta {
  pq_schema_el *schema;
  size_t nschema;
  int64_t num_rows;
  pq_row_group *rgs;
  size_t nrgs;
  pq_kv *kv;
  size_t nkv;
  char *created_by;      /* the writer, as the file says; NULL when absent */
  uint8_t *raw;          /* the footer bytes the stats point into */
} pq_file_meta;

/* Parses the footer `buf[0..n)` (taken: freed with the metadata). Checks
 * that column chunks lie inside a file of `file_size` bytes. On failure
 * writes why into `err`. */
int  weir__pq_meta_parse(uint8_t *buf, size_t n, uint64_t file_size,
                         pq_file_meta *m, char *err, size_t errlen);
void weir__pq_meta_free(pq_file_meta *m);

typedef struct pq_page_header {
  int type;
  int32_t uncompressed_size, compressed_size;
  int32_t num_values;     /* data and dictionary pages */
  int encoding;
  int32_t num_nulls, num_rows;         /* v2 */
  int32_t def_len, rep_len;            /* v2 */
  int is_compressed;                   /* v2; 1 by default */
} pq_page_header;

/* Parses a page header at `p[0..n)`; `*used` is its size. */
int weir__pq_page_header(const uint8_t *p, size_t n, pq_page_header *h,
                         size_t *used, char *err, size_t errlen);

#endif /* WEIR_PARQUET_META_H */
