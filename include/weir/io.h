/* Readers and writers: files, folders, globs, HTTP(S) and S3; JSONL, CSV,
 * text lines, whole binary files and weir's own block files. */
#ifndef WEIR_IO_H
#define WEIR_IO_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"
#include "weir/pipeline.h"

WEIR_BEGIN_DECLS

/* What a reader does with a malformed row or an unreadable file. */
enum {
  WEIR_ON_ERROR_FAIL = 0,    /* end the run with an error naming file/line */
  WEIR_ON_ERROR_SKIP = 1     /* skip it, log it, count it as skipped      */
};

#define WEIR_READ_OPTIONS_VERSION 1

typedef struct weir_read_options {
  unsigned    version;          /* WEIR_READ_OPTIONS_VERSION */
  size_t      rows_per_block;   /* rows per emitted block; 0 = 8192 */
  int         on_error;         /* WEIR_ON_ERROR_* */
  const char *columns;          /* JSONL/CSV schema "name:type,...", types
                                   bool,int64,float64,string; NULL = infer */
  size_t      infer_rows;       /* rows read to infer the schema; 0 = 1000 */
  int         csv_delimiter;    /* 0 = ',' */
  int         csv_no_header;    /* 1 = first line is data; columns c0.. */
  size_t      range_bytes;      /* split big plain inputs into read tasks of
                                   about this many bytes; 0 = one per file */
  int         max_requests;     /* concurrent network requests; 0 = 16 */
  int         max_retries;      /* network retries; 0 = 5, < 0 = none */
  const char *s3_endpoint;      /* NULL = $AWS_ENDPOINT_URL or AWS */
  const char *s3_region;        /* NULL = $AWS_REGION or us-east-1 */
  const char *s3_access_key;    /* NULL = $AWS_ACCESS_KEY_ID */
  const char *s3_secret_key;    /* NULL = $AWS_SECRET_ACCESS_KEY */
  int         include_path;     /* 1 = add a `path` column */
} weir_read_options;
/* Every field listed, so the macro is warning-free in C and C++. */
#define WEIR_READ_OPTIONS_INIT                                              \
  { WEIR_READ_OPTIONS_VERSION, 0, 0, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL,  \
    NULL, NULL, 0 }

#define WEIR_WRITE_OPTIONS_VERSION 1

typedef struct weir_write_options {
  unsigned    version;          /* WEIR_WRITE_OPTIONS_VERSION */
  uint64_t    shard_rows;       /* start a new shard after this many rows;
                                   0 = no limit */
  uint64_t    shard_bytes;      /* ... or this many bytes; 0 = no limit */
  int         resume;           /* 1 = keep complete shards of an earlier
                                   run and skip writing them again */
  int         compression_level; /* zstd level; 0 = 3 */
  const char *s3_endpoint;
  const char *s3_region;
  const char *s3_access_key;
  const char *s3_secret_key;
  /* weir's additions */
  int         compression;      /* WEIR_COMPRESS_*: codec of the shards of a
                                   folder output. A file uri ending in .zst
                                   or .gz names its own. Block files are
                                   always zstd inside. */
  int         max_retries;      /* network retries; 0 = 5, < 0 = none */
} weir_write_options;

/* Codecs of text outputs. */
enum {
  WEIR_COMPRESS_NONE = 0,
  WEIR_COMPRESS_ZSTD = 1,
  WEIR_COMPRESS_GZIP = 2
};
#define WEIR_WRITE_OPTIONS_INIT                                             \
  { WEIR_WRITE_OPTIONS_VERSION, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }

WEIR_EXTERN weir_op *weir_read_jsonl (weir_pipeline *p, const char *uri, const weir_read_options *o);
WEIR_EXTERN weir_op *weir_read_csv   (weir_pipeline *p, const char *uri, const weir_read_options *o);
WEIR_EXTERN weir_op *weir_read_text  (weir_pipeline *p, const char *uri, const weir_read_options *o);
WEIR_EXTERN weir_op *weir_read_binary(weir_pipeline *p, const char *uri, const weir_read_options *o);
WEIR_EXTERN weir_op *weir_read_blocks(weir_pipeline *p, const char *uri, const weir_read_options *o);

/* Writers are sinks: run the pipeline on the op they return; it emits
 * nothing. `uri` is a folder (or an s3:// / http(s) prefix) that receives
 * shards part-00000.jsonl, part-00001.jsonl... (".csv", ".weir", plus
 * ".zst"/".gz" per `compression`), or a file name ending in the format's
 * suffix: then that one file is written when no shard limit is set, and
 * shards <name>-00000<suffix>... otherwise. Rows are written in input
 * order (the sink asks for order upstream), so shard k always holds the
 * same rows: [k * shard_rows, (k + 1) * shard_rows) with shard_rows, or
 * the rows that fill shard_bytes of uncompressed output with shard_bytes.
 * Each shard is written under a hidden temporary name and renamed when
 * complete. With `resume`, shards that already exist are kept and their
 * rows skipped; without it, a local output's shards left over from an
 * earlier, longer run are removed at the end, so the folder holds exactly
 * this run's output. Types: JSONL writes BINARY as base64 strings and
 * TENSOR rows as nested arrays; CSV writes nulls as empty fields; block
 * files keep everything. Device (CUDA) columns are copied to the host. */
WEIR_EXTERN weir_op *weir_write_jsonl (weir_pipeline *p, weir_op *in, const char *uri, const weir_write_options *o);
WEIR_EXTERN weir_op *weir_write_csv   (weir_pipeline *p, weir_op *in, const char *uri, const weir_write_options *o);
WEIR_EXTERN weir_op *weir_write_blocks(weir_pipeline *p, weir_op *in, const char *uri, const weir_write_options *o);

WEIR_END_DECLS

#endif /* WEIR_IO_H */
