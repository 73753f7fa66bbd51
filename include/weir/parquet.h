/* Parquet: read and write Apache Parquet files natively (no Arrow C++),
 * on top of weir's URI layer, so files, folders, globs, http(s):// and
 * s3:// all work. */
#ifndef WEIR_PARQUET_H
#define WEIR_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/io.h"
#include "weir/pipeline.h"

WEIR_BEGIN_DECLS

#define WEIR_PARQUET_READ_OPTIONS_VERSION 1

typedef struct weir_parquet_read_options {
  unsigned    version;          /* WEIR_PARQUET_READ_OPTIONS_VERSION */
  size_t      rows_per_block;   /* rows per emitted block; 0 = 65536 */
  int         on_error;         /* WEIR_ON_ERROR_*: a damaged file (bad
                                   footer, page or value) ends the run with
                                   WEIR_EFORMAT naming file, row group,
                                   column and page, or is skipped from the
                                   damaged row group on and counted */
  const char *columns;          /* "text,id": read only these columns (their
                                   column chunks only); NULL = all */
  const char *filter;           /* "score > 0.5 and lang = 'en'": see below;
                                   NULL = every row */
  int         include_path;     /* 1 = add a `path` column */
  int         max_requests;     /* as weir_read_options */
  int         max_retries;
  const char *s3_endpoint;
  const char *s3_region;
  const char *s3_access_key;
  const char *s3_secret_key;
  int         no_hive_partitions; /* 1 = `key=value` folders are not read as
                                   columns (see below) */
} weir_parquet_read_options;
#define WEIR_PARQUET_READ_OPTIONS_INIT                                      \
  { WEIR_PARQUET_READ_OPTIONS_VERSION, 0, 0, NULL, NULL, 0, 0, 0, NULL,     \
    NULL, NULL, NULL, 0 }

/* Reads Parquet files. `uri` as for the other readers (a file, a folder
 * or glob: only names ending in `.parquet` are read from a listing, an
 * http(s):// URL or an s3:// prefix). Each file's footer is read when the
 * op is made (the last bytes of the file, by ranged reads on remote
 * storage); then each row group is a read task, run in parallel, reading
 * only the column chunks of the chosen columns (a chunk of up to 4 MiB in
 * one ranged read, a larger one through a 1 MiB window of ranged reads).
 * A row group is decoded a block at a time, one page of each column at a
 * time, in blocks of about the pipeline's block size
 * (weir_pipeline_block_bytes(), the rows a block measured so far) and at
 * most rows_per_block rows, so a row group far larger than the memory
 * budget streams through within it. Rows of a file come in file order; a
 * block never spans row groups. A file with a page index (column and
 * offset indexes) is read like any other; the index is not used to skip
 * pages yet.
 *
 * Columns keep their Parquet names, one per top-level field:
 *   BOOLEAN -> BOOL; INT32 -> INT32 (also INT(8/16, signed or not), DATE
 *   as days, TIME(MILLIS)); INT(32, unsigned) -> INT64; INT64 -> INT64
 *   (also INT(64, unsigned) as the same 64 bits, TIME and TIMESTAMP in the
 *   file's unit); INT96 -> INT64 nanoseconds since the Unix epoch; FLOAT ->
 *   FLOAT32; DOUBLE -> FLOAT64; BYTE_ARRAY -> STRING when STRING, ENUM or
 *   JSON (checked UTF-8), else BINARY; FIXED_LEN_BYTE_ARRAY -> BINARY (UUID
 *   too: its 16 bytes), FLOAT16 -> FLOAT32; DECIMAL (any physical type) ->
 *   FLOAT64, value / 10^scale correctly rounded (as Python's float(Decimal));
 *   LIST of a number (2- and 3-level layouts) -> LIST with the element's
 *   dtype (INT(8/16/32/64) signed or unsigned, FLOAT, DOUBLE, FLOAT16); a
 *   null list is a null row, an empty list an empty row;
 *   LIST of STRING/ENUM/JSON or of BOOLEAN -> STRING holding the JSON text
 *   of the list (`["a",null,"b"]`, `[true,false]`; weir's lists hold
 *   numbers only), as the JSONL reader keeps arrays; a null list is a
 *   null row, a null element `null`.
 * Time units: TIMESTAMP and TIME values stay in the file's unit (MILLIS,
 * MICROS or NANOS; pyarrow writes seconds as MILLIS), with or without
 * isAdjustedToUTC (both are counts since the Unix epoch; a time zone
 * changes only how they are shown); `weir_parquet_describe` shows the unit.
 * A struct or map column, a list of bytes or structs, a list of lists, or
 * a list of numbers holding a null element is refused with WEIR_ENOTSUP
 * naming the column (leave it out with `columns`).
 * Encodings: PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY, RLE (levels and
 * booleans), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT; data pages v1 and v2; codecs
 * UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW, BROTLI (SNAPPY, LZ4_RAW and
 * BROTLI when weir was built with libsnappy, liblz4 and libbrotli;
 * otherwise WEIR_ENOTSUP naming the codec).
 *
 * Hive partitions: the folders between `uri` (a folder, prefix, or a
 * glob's part before its first wildcard) and each file that are named
 * `key=value` add a column `key` to that file's rows, after the file's
 * columns, in the order the keys are first met: INT64 when every value of
 * the key in the dataset parses as a decimal integer, else STRING; values
 * are %-decoded, `__HIVE_DEFAULT_PARTITION__` is null and so is a key a
 * file's path lacks (as pyarrow.dataset and DuckDB read them, except that
 * pyarrow makes integers int32). `columns` and `filter` may name them; a
 * filter on a key skips whole files without reading them. A key that is
 * also a column of the file is refused (WEIR_EINVAL naming both).
 * `no_hive_partitions = 1` reads no such columns.
 *
 * Several files must have the same columns (names and types, after
 * `columns`); otherwise the op is not made and the error names both files.
 *
 * `filter`: comparisons `column OP literal` joined by `and`, OP one of
 * = != < <= > >=, the literal a number or a 'quoted string'. Row groups
 * whose statistics (min, max, null count) prove that no row can match are
 * never read; the rows of the others are filtered exactly (a null never
 * matches). The filter's columns need not be among `columns`.
 *
 * Damage (a bad magic, a truncated file, corrupt Thrift, sizes beyond the
 * file or impossible, dictionary indices out of range, a decompressed
 * size unlike the header's) is WEIR_EFORMAT naming the file and, where
 * known, the row group, column and page; never a crash or a hang. */
WEIR_EXTERN weir_op *weir_read_parquet(weir_pipeline *p, const char *uri,
                                       const weir_parquet_read_options *o);

/* Describes one Parquet file for people (what `weir inspect` prints):
 * only its footer is read (a few ranged reads on remote storage). `uri`
 * names one file (a path, http(s):// URL or s3:// object; a glob or folder
 * must match exactly one); `o` may be NULL, and only its network fields
 * (max_requests, max_retries, s3_*) are used. On WEIR_OK `*text` is a
 * NUL-terminated, multi-line description, freed with weir_free():
 *
 *   created_by: parquet-cpp-arrow version 17.0.0
 *   rows: 1000  row groups: 2  leaf columns: 2
 *   row group 0: rows: 600  compressed: 3639 B  uncompressed: 11263 B
 *     id: INT64  codec: ZSTD  values: 600  compressed: 2232 B  uncompressed: 5641 B
 *       encodings: PLAIN RLE RLE_DICTIONARY
 *       statistics: nulls: 0  min: -300  max: 699
 *     s: BYTE_ARRAY STRING  codec: ZSTD  values: 600  compressed: 1407 B  ...
 *       encodings: PLAIN RLE RLE_DICTIONARY
 *       statistics: nulls: 67  min: "w0000"  max: "w0999"
 *   row group 1: ...
 *
 * Each column chunk shows its dotted path, physical type and logical type
 * (STRING, INT(8, unsigned), TIMESTAMP(MICROS), DECIMAL(p, s)...), codec,
 * value count, sizes, encodings and statistics (null count, min and max:
 * numbers as numbers, strings quoted with their first 32 bytes and "..."
 * when longer, other bytes as hex; "statistics: none" when the file has
 * none). Errors, with weir_last_errmsg() naming the file: WEIR_EFORMAT
 * for a file that is not Parquet or whose footer is damaged, WEIR_ENOTFOUND
 * for a missing file, WEIR_EINVAL for a uri naming several files or none,
 * WEIR_EIO for a network failure. */
WEIR_EXTERN int weir_parquet_describe(const char *uri, const weir_parquet_read_options *o,
                                      char **text);

/* Codecs of the writer. */
enum {
  WEIR_PARQUET_ZSTD = 0,        /* the default */
  WEIR_PARQUET_SNAPPY = 1,
  WEIR_PARQUET_GZIP = 2,
  WEIR_PARQUET_LZ4_RAW = 3,
  WEIR_PARQUET_UNCOMPRESSED = 4
};

#define WEIR_PARQUET_WRITE_OPTIONS_VERSION 1

typedef struct weir_parquet_write_options {
  unsigned    version;          /* WEIR_PARQUET_WRITE_OPTIONS_VERSION */
  uint64_t    shard_rows;       /* as weir_write_options */
  uint64_t    shard_bytes;
  int         resume;
  int         codec;            /* WEIR_PARQUET_*; 0 = ZSTD */
  int         compression_level; /* 0 = the codec's default (ZSTD 1) */
  uint64_t    row_group_rows;   /* rows per row group; 0 = 1 Mi rows */
  uint64_t    row_group_bytes;  /* or this many bytes of input; 0 = 128 MiB */
  size_t      page_bytes;       /* target data page size; 0 = 1 MiB */
  size_t      dictionary_bytes; /* dictionary pages above this fall back to
                                   PLAIN; 0 = 1 MiB; SIZE_MAX = never use
                                   dictionaries */
  int         no_statistics;    /* 1 = write no min/max/null count */
  const char *s3_endpoint;
  const char *s3_region;
  const char *s3_access_key;
  const char *s3_secret_key;
  int         max_retries;
} weir_parquet_write_options;
#define WEIR_PARQUET_WRITE_OPTIONS_INIT                                     \
  { WEIR_PARQUET_WRITE_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, \
    NULL, NULL, NULL, 0 }

/* Writes Parquet files: shards, temporary names, rename and resume exactly
 * like weir_write_jsonl (see weir/io.h), with the suffix ".parquet". Each
 * input block (cut at row_group_rows / row_group_bytes) becomes row groups
 * of one column chunk per column; pages are data pages v1 of about
 * page_bytes; STRING and BINARY columns start dictionary-encoded and fall
 * back to PLAIN when the dictionary grows past dictionary_bytes; numbers
 * are PLAIN. Statistics (min, max, null count) are written for every
 * column but lists and tensors. Types: BOOL -> BOOLEAN, INT32 -> INT32,
 * INT64 -> INT64, FLOAT32 -> FLOAT, FLOAT64 -> DOUBLE, STRING ->
 * BYTE_ARRAY (STRING), BINARY -> BYTE_ARRAY, LIST -> a 3-level LIST of the
 * element's type (INT(8/16/32/64, signed or not), FLOAT, DOUBLE; FLOAT16
 * and BFLOAT16 elements as FIXED_LEN_BYTE_ARRAY(2)), TENSOR -> a
 * FIXED_LEN_BYTE_ARRAY of one row's bytes, with the dtype and shape in the
 * key-value metadata `weir.tensor.<column>` = "<dtype>:<d0>x<d1>...".
 * Device columns are copied to the host. */
WEIR_EXTERN weir_op *weir_write_parquet(weir_pipeline *p, weir_op *in,
                                        const char *uri,
                                        const weir_parquet_write_options *o);

WEIR_END_DECLS

#endif /* WEIR_PARQUET_H */
