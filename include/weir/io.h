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
  WEIR_ON_ERROR_SKIP = 1     /* skip it, log it, count it as skipped: each
                                malformed row is logged (file:line, why) up
                                to 10 per file, then one line per file says
                                how many more were skipped when the run
                                ends; counted in the op's skipped_rows, and
                                the summary table ends "success, N rows
                                skipped"                                  */
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
  int         max_retries;      /* network retries; 0 = the default (5),
                                   WEIR_RETRIES_NONE (-1) = none: see
                                   weir/pipeline.h. They cap the attempts
                                   of one request at max_retries + 1 in
                                   all, the Range resumes after a cut
                                   connection included. Retried: resets,
                                   timeouts, 5xx, 408, 429; not other 4xx,
                                   501 or 505 */
  const char *s3_endpoint;      /* NULL = $AWS_ENDPOINT_URL or AWS */
  const char *s3_region;        /* NULL = $AWS_REGION or us-east-1 */
  const char *s3_access_key;    /* NULL = $AWS_ACCESS_KEY_ID */
  const char *s3_secret_key;    /* NULL = $AWS_SECRET_ACCESS_KEY */
  int         include_path;     /* 1 = add a `path` column */
  /* Network timeouts, in seconds. An attempt that
   * passes one ends as a timeout and is retried (see max_retries). */
  double      connect_timeout;  /* to connect; 0 = 10 s */
  double      first_byte_timeout; /* from the request sent to the first byte
                                   of the answer (a server that accepts and
                                   never answers); 0 = 30 s */
  double      low_speed_seconds; /* a transfer slower than low_speed_bytes
                                   per second for this long; 0 = 30 s */
  uint64_t    low_speed_bytes;  /* bytes per second; 0 = 100. A transfer
                                   paused because its reader is behind is
                                   never too slow */
  size_t      target_block_bytes; /* cut blocks at about this many bytes of
                                   input as well as at rows_per_block;
                                   0 = the pipeline's (see
                                   weir_pipeline_block_bytes()). JSONL, CSV
                                   and text read chunks of at most this
                                   size (and at most 8 MiB) and parse each
                                   into a block: a block passes it only by
                                   what parsing adds, or when one line or
                                   record is longer */
} weir_read_options;
/* Every field listed, so the macro is warning-free in C and C++. */
#define WEIR_READ_OPTIONS_INIT                                              \
  { WEIR_READ_OPTIONS_VERSION, 0, 0, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL,  \
    NULL, NULL, 0, 0, 0, 0, 0, 0 }

#define WEIR_WRITE_OPTIONS_VERSION 1

typedef struct weir_write_options {
  unsigned    version;          /* WEIR_WRITE_OPTIONS_VERSION */
  uint64_t    shard_rows;       /* start a new shard after this many rows;
                                   0 = no limit */
  uint64_t    shard_bytes;      /* ... or this many bytes; 0 = no limit */
  int         resume;           /* 1 = keep complete shards of an earlier
                                   run and skip writing them again, and
                                   skip reading the read tasks whose rows
                                   are all in them (see weir_write_jsonl) */
  int         compression_level; /* zstd level; 0 = 3 */
  const char *s3_endpoint;
  const char *s3_region;
  const char *s3_access_key;
  const char *s3_secret_key;
  int         compression;      /* WEIR_COMPRESS_*: codec of the shards of a
                                   folder output. A file uri ending in .zst
                                   or .gz names its own. Block files are
                                   always zstd inside. */
  int         max_retries;      /* network retries; 0 = the default (5),
                                   WEIR_RETRIES_NONE (-1) = none: see
                                   weir/pipeline.h. They cap the attempts
                                   of one request at max_retries + 1 in
                                   all, the Range resumes after a cut
                                   connection included. Retried: resets,
                                   timeouts, 5xx, 408, 429; not other 4xx,
                                   501 or 505 */
  /* Network timeouts, in seconds. An attempt that
   * passes one ends as a timeout and is retried (see max_retries). */
  double      connect_timeout;  /* to connect; 0 = 10 s */
  double      first_byte_timeout; /* from the request sent to the first byte
                                   of the answer (a server that accepts and
                                   never answers); 0 = 30 s */
  double      low_speed_seconds; /* a transfer slower than low_speed_bytes
                                   per second for this long; 0 = 30 s */
  uint64_t    low_speed_bytes;  /* bytes per second; 0 = 100. A transfer
                                   paused because its reader is behind is
                                   never too slow */
} weir_write_options;

/* Codecs of text outputs. */
enum {
  WEIR_COMPRESS_NONE = 0,
  WEIR_COMPRESS_ZSTD = 1,
  WEIR_COMPRESS_GZIP = 2
};
#define WEIR_WRITE_OPTIONS_INIT                                             \
  { WEIR_WRITE_OPTIONS_VERSION, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0, \
    0, 0 }

/* Readers are sources: each returns the op that yields the rows; NULL on a
 * bad option or an input that cannot be listed (weir_pipeline_errmsg()
 * says why). `uri` is a file, a folder (read recursively; names starting
 * with '.' are skipped), a glob (`*`, `?`, `[..]` within a name, `**` for
 * any depth of folders), an http(s):// URL or an s3:// prefix, or a list
 * of inputs: a file (local or remote) whose name ends in ".urls", one
 * input a line (URL, s3:// key or prefix, path), blank lines and '#'
 * comments skipped, read in the list's order and taken as given (no
 * filter by suffix), its entries resolved (a HEAD each) concurrently.
 * Hidden names (a part starting with '.': writers' manifests and
 * temporaries) are skipped under a folder or an s3:// prefix. HTTP cannot be listed: a glob or a folder URL
 * over http(s) is refused with a message saying so. From a
 * folder or prefix, a reader takes the files whose suffix fits its format,
 * plain or with .zst/.zstd/.gz: JSONL .jsonl, .ndjson, .json; CSV .csv,
 * .tsv; blocks .weir (text and binary take every file); with none,
 * WEIR_ENOTFOUND says how many files were passed over. A file named on
 * its own, or a glob, is taken as given. Inputs are
 * read in sorted order; with preserve_order on a downstream op, rows come
 * out file by file in input order. A `.zst` or `.gz` suffix means that
 * compression; it is decompressed as a stream, and a truncated or corrupt
 * file ends the run with WEIR_EFORMAT naming it (never a short read).
 *
 * JSONL: one JSON object a line; blank lines are skipped. Columns are the
 * keys of the first `infer_rows` rows (first seen first) with types folded
 * from their values: bool, int64 (widened to float64 when floats appear),
 * float64, and string for strings, for nested objects and arrays (kept as
 * their JSON text) and for anything mixed; a key that only held null is a
 * string. `columns` fixes names and types instead. Keys outside the
 * columns are dropped; missing keys and JSON null are nulls. Escapes,
 * \uXXXX and surrogate pairs become UTF-8. A value of the wrong type after
 * inference, or bad JSON, is a malformed line: the run ends with an error
 * naming file:line, or, with WEIR_ON_ERROR_SKIP, the line is skipped and
 * counted in the op's `skipped_rows`. Reading runs as two ops: `read_jsonl`
 * (a read task per file, or per `range_bytes` of an uncompressed file,
 * cutting chunks of whole lines) and `parse_jsonl` (workers that parse
 * chunks in parallel; the op returned). read_jsonl's rows_out counts the
 * rows parsed from its chunks (its blocks_out counts chunks); read_csv
 * and parse_csv are the same. Blocks hold at most
 * `rows_per_block` rows.
 *
 * CSV: RFC 4180 (quoted fields with "" and newlines), a header row unless
 * `csv_no_header` (then columns c0, c1...), `csv_delimiter`. Types are
 * inferred like JSONL's from the text of the fields (int64, float64,
 * true/false, else string) or given by `columns`, matched to the header by
 * name. An empty field is null; a quoted empty field is "". A wrong field
 * count is a malformed row. One task per file (quotes make byte ranges
 * ambiguous).
 *
 * Text: a `text` column, one row a line, without "\n" or "\r\n"; a line
 * that is not UTF-8 is malformed. Binary: one row per file, `path` and
 * `bytes`. Blocks: the blocks as written by weir_write_blocks, with all
 * their types; a file without its footer is truncated (WEIR_EFORMAT).
 * `include_path` adds a `path` column to JSONL, CSV and text rows (unless
 * the data has one). Option strings are copied. */
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
 * rows skipped (the run must see the same input with the same options:
 * shard contents are a function of both); without it, at the end of a
 * successful run, a local output's leftovers of an earlier run are
 * removed, so it holds exactly this run's output: in a folder, every
 * part-NNNNN<suffix> of the format this run did not write, whatever its
 * compression; for a file name f<suffix>, the one file or the shards
 * f-NNNNN<suffix> of the other layout and shards beyond this run's count.
 * Only names of these patterns are removed; other files stay.
 *
 * The manifest. Every output (local, s3:// or http(s)) has a hidden one
 * beside its shards: "<folder>/.weir-write-manifest", or
 * ".<name>.weir-write-manifest" beside a file name; written before the
 * first shard and again as shards complete, each time as a whole (a
 * temporary renamed, or one upload). It holds the options that shape the
 * shards (format, compression suffix, layout, shard_rows, shard_bytes),
 * the input listing (each source upstream, its number of read tasks and,
 * for weir's readers, each task's input with its size and byte range; a
 * URL's query string, which presigned URLs change, is left out), and the
 * read tasks whose rows are all in complete shards, with the rows they
 * gave. A resume whose options or listing differ is refused with
 * WEIR_EINVAL by the writer's constructor, naming each differing option
 * with both values, or the first listing line that differs.
 *
 * Resume skips work. When every operator between the writer and its one
 * source keeps each block's rows with the read task they came from, a
 * resumed run does not run the read tasks the manifest records whose
 * shards all still exist: their rows are neither read nor computed again,
 * and the rows of the other tasks land in the shards they would have in a
 * clean run, so the output is byte for byte a clean run's. The source's
 * named counter "resume_skipped_tasks" (weir_pipeline_op_counter) says
 * how many, and an INFO line "resume: K of N read tasks of '<source>'
 * have all their rows in complete shards and are not read again". A task
 * is recorded only once all its rows are in complete shards, so a crash
 * at any point leaves a manifest that is exact, at worst behind; a task
 * is skipped only while every shard that holds its rows exists (with
 * shard_bytes, while they are in the complete shards at the head of the
 * output). A task that now gives other rows than recorded ends the run
 * with WEIR_EINVAL (resume needs a deterministic pipeline).
 *
 * Where rows of one read task could end in the output of another, a
 * resume reads every task again (today's rows still skip the complete
 * shards) and logs at INFO "resume: every read task is read again,
 * because <why>". That is the case with: weir_repartition, a batch_rows
 * re-blocking, weir_limit, weir_union or any operator with several
 * inputs; an operator with a finish (a barrier: MinHash dedup, packing);
 * an operator pinned to one worker (max_workers = 1), which is what an
 * operator that keeps state across blocks needs to be deterministic
 * (exact dedup's seen-set, doc ids, running counts; weir's readers and
 * encoders are known to be per block whatever their pool); an Arrow
 * stream source; and MPI ranks (where resume is refused). An operator of
 * your own that keeps state across blocks must therefore run on one
 * worker, or resume may skip tasks whose rows its state needed.
 *
 * A file name
 * with another format's suffix (write_jsonl to "x.csv"), or a
 * `compression` that contradicts the file name's suffix, is refused
 * (WEIR_EINVAL) rather than read as a folder or ignored. A writer runs as two ops: `encode_<format>` turns
 * blocks into bytes on parallel workers (block files: compressed frames)
 * and `write_<format>` (the op returned, one worker) cuts shards, writes
 * and renames them. Types: JSONL writes BINARY as base64 strings and
 * TENSOR rows as nested arrays; CSV writes nulls as empty fields; block
 * files keep everything. Device (CUDA) columns are copied to the host. */
WEIR_EXTERN weir_op *weir_write_jsonl (weir_pipeline *p, weir_op *in, const char *uri, const weir_write_options *o);
WEIR_EXTERN weir_op *weir_write_csv   (weir_pipeline *p, weir_op *in, const char *uri, const weir_write_options *o);
WEIR_EXTERN weir_op *weir_write_blocks(weir_pipeline *p, weir_op *in, const char *uri, const weir_write_options *o);

WEIR_END_DECLS

#endif /* WEIR_IO_H */
