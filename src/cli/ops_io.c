/* Operator kinds of weir/io.h: the JSONL, CSV, text, binary and block-file
 * readers and writers. */
#include <string.h>

#include "cli/ops.h"

#define READ_COMMON_ROWS                                                        \
  OPT_REQ("uri", WEIR_OPT_STRING, "file, folder, glob (** recursive), http(s):// or s3:// prefix"), \
  OPT("rows_per_block", WEIR_OPT_INT, "8192", "rows per emitted block"),        \
  OPT_ENUM("on_error", "fail|skip", "fail", "a malformed row or unreadable file: end the run, or skip and count it"), \
  OPT("range_bytes", WEIR_OPT_SIZE, "0", "split big uncompressed inputs into read tasks of about this size; 0 = one per file"), \
  OPT("max_requests", WEIR_OPT_INT, "16", "concurrent network requests"),      \
  OPT("max_retries", WEIR_OPT_INT, "5", "network retries; -1 = none"),          \
  OPT("s3_endpoint", WEIR_OPT_STRING, NULL, "S3 endpoint; unset = $AWS_ENDPOINT_URL or AWS"), \
  OPT("s3_region", WEIR_OPT_STRING, NULL, "S3 region; unset = $AWS_REGION or us-east-1"), \
  OPT("s3_access_key", WEIR_OPT_STRING, NULL, "unset = $AWS_ACCESS_KEY_ID"),   \
  OPT("s3_secret_key", WEIR_OPT_STRING, NULL, "unset = $AWS_SECRET_ACCESS_KEY"), \
  OPT("target_block_bytes", WEIR_OPT_SIZE, "0", "cut blocks at about this many bytes of input; 0 = the pipeline's"), \
  OPT("connect_timeout", WEIR_OPT_FLOAT, "0", "seconds to connect; 0 = 10"), \
  OPT("first_byte_timeout", WEIR_OPT_FLOAT, "0", "seconds from the request to the first byte; 0 = 30"), \
  OPT("low_speed_seconds", WEIR_OPT_FLOAT, "0", "a transfer under low_speed_bytes/s this long is retried; 0 = 30"), \
  OPT("low_speed_bytes", WEIR_OPT_SIZE, "0", "bytes per second; 0 = 100")

#define READ_ROWS_ROWS                                                          \
  OPT("columns", WEIR_OPT_STRING, NULL, "schema \"name:type,...\" (bool, int64, float64, string); unset = infer"), \
  OPT("infer_rows", WEIR_OPT_INT, "1000", "rows read to infer the schema"),    \
  OPT("include_path", WEIR_OPT_BOOL, "false", "add a `path` column")

static const weir_opt_def jsonl_opts[] = {READ_COMMON_ROWS, READ_ROWS_ROWS};
static const weir_opt_def csv_opts[] = {
  READ_COMMON_ROWS, READ_ROWS_ROWS,
  OPT("delimiter", WEIR_OPT_STRING, ",", "field separator (one character; \\t for a tab)"),
  OPT("no_header", WEIR_OPT_BOOL, "false", "the first line is data; columns are c0, c1..."),
};
static const weir_opt_def text_opts[] = {
  READ_COMMON_ROWS,
  OPT("include_path", WEIR_OPT_BOOL, "false", "add a `path` column"),
};
static const weir_opt_def plain_read_opts[] = {READ_COMMON_ROWS};

static int read_options(const weir_op_args *a, weir_read_options *o) {
  weir_read_options d = WEIR_READ_OPTIONS_INIT;
  *o = d;
  o->rows_per_block = (size_t)arg_i(a, "rows_per_block");
  o->on_error = arg_i(a, "on_error") ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
  o->columns = arg_s(a, "columns");
  o->infer_rows = (size_t)arg_i(a, "infer_rows");
  o->range_bytes = (size_t)arg_i(a, "range_bytes");
  o->max_requests = (int)arg_i(a, "max_requests");
  o->max_retries = (int)arg_i(a, "max_retries");
  o->s3_endpoint = arg_s(a, "s3_endpoint");
  o->s3_region = arg_s(a, "s3_region");
  o->s3_access_key = arg_s(a, "s3_access_key");
  o->s3_secret_key = arg_s(a, "s3_secret_key");
  o->include_path = (int)arg_i(a, "include_path");
  o->target_block_bytes = (size_t)arg_i(a, "target_block_bytes");
  o->connect_timeout = arg_f(a, "connect_timeout");
  o->first_byte_timeout = arg_f(a, "first_byte_timeout");
  o->low_speed_seconds = arg_f(a, "low_speed_seconds");
  o->low_speed_bytes = (uint64_t)arg_i(a, "low_speed_bytes");
  const char *delim = arg_s(a, "delimiter");
  if (delim) {
    if (strcmp(delim, "\\t") == 0 || strcmp(delim, "tab") == 0)
      o->csv_delimiter = '\t';
    else if (strlen(delim) == 1)
      o->csv_delimiter = (unsigned char)delim[0];
    else {
      weir_set_last_errmsg("%s: delimiter '%s' is not one character", a->name, delim);
      return WEIR_EINVAL;
    }
  }
  o->csv_no_header = (int)arg_i(a, "no_header");
  return WEIR_OK;
}

#define READER(fn)                                                              \
  static weir_op *build_##fn(weir_pipeline *p, const weir_op_args *a, void *u) { \
    (void)u;                                                                    \
    weir_read_options o;                                                        \
    if (read_options(a, &o) != WEIR_OK) return NULL;                            \
    return weir_##fn(p, arg_s(a, "uri"), &o);                                   \
  }
READER(read_jsonl)
READER(read_csv)
READER(read_text)
READER(read_binary)
READER(read_blocks)

static const weir_opt_def write_opts[] = {
  OPT_REQ("uri", WEIR_OPT_STRING, "output folder (shards part-00000...), file name, or s3:// / http(s) prefix"),
  OPT("shard_rows", WEIR_OPT_INT, "0", "start a new shard after this many rows; 0 = no limit"),
  OPT("shard_bytes", WEIR_OPT_SIZE, "0", "... or this many bytes; 0 = no limit"),
  OPT("resume", WEIR_OPT_BOOL, "false", "keep complete shards of an earlier run (also `weir run --resume`)"),
  OPT_ENUM("compression", "none|zstd|gzip", "none", "codec of a folder output's shards (a file name's suffix names its own)"),
  OPT("compression_level", WEIR_OPT_INT, "3", "zstd level"),
  OPT("max_retries", WEIR_OPT_INT, "5", "network retries; -1 = none"),
  OPT("s3_endpoint", WEIR_OPT_STRING, NULL, "S3 endpoint; unset = $AWS_ENDPOINT_URL or AWS"),
  OPT("s3_region", WEIR_OPT_STRING, NULL, "S3 region; unset = $AWS_REGION or us-east-1"),
  OPT("s3_access_key", WEIR_OPT_STRING, NULL, "unset = $AWS_ACCESS_KEY_ID"),
  OPT("s3_secret_key", WEIR_OPT_STRING, NULL, "unset = $AWS_SECRET_ACCESS_KEY"),
  OPT("connect_timeout", WEIR_OPT_FLOAT, "0", "seconds to connect; 0 = 10"),
  OPT("first_byte_timeout", WEIR_OPT_FLOAT, "0", "seconds from the request to the first byte; 0 = 30"),
  OPT("low_speed_seconds", WEIR_OPT_FLOAT, "0", "a transfer under low_speed_bytes/s this long is retried; 0 = 30"),
  OPT("low_speed_bytes", WEIR_OPT_SIZE, "0", "bytes per second; 0 = 100"),
};

static void write_options(const weir_op_args *a, weir_write_options *o) {
  weir_write_options d = WEIR_WRITE_OPTIONS_INIT;
  *o = d;
  o->shard_rows = (uint64_t)arg_i(a, "shard_rows");
  o->shard_bytes = (uint64_t)arg_i(a, "shard_bytes");
  o->resume = (int)arg_i(a, "resume");
  static const int codecs[] = {WEIR_COMPRESS_NONE, WEIR_COMPRESS_ZSTD, WEIR_COMPRESS_GZIP};
  o->compression = codecs[arg_i(a, "compression")];
  o->compression_level = (int)arg_i(a, "compression_level");
  o->max_retries = (int)arg_i(a, "max_retries");
  o->s3_endpoint = arg_s(a, "s3_endpoint");
  o->s3_region = arg_s(a, "s3_region");
  o->s3_access_key = arg_s(a, "s3_access_key");
  o->s3_secret_key = arg_s(a, "s3_secret_key");
  o->connect_timeout = arg_f(a, "connect_timeout");
  o->first_byte_timeout = arg_f(a, "first_byte_timeout");
  o->low_speed_seconds = arg_f(a, "low_speed_seconds");
  o->low_speed_bytes = (uint64_t)arg_i(a, "low_speed_bytes");
}

#define WRITER(fn)                                                              \
  static weir_op *build_##fn(weir_pipeline *p, const weir_op_args *a, void *u) { \
    (void)u;                                                                    \
    weir_write_options o;                                                       \
    write_options(a, &o);                                                       \
    return weir_##fn(p, arg_in(a), arg_s(a, "uri"), &o);                        \
  }
WRITER(write_jsonl)
WRITER(write_csv)
WRITER(write_blocks)

static const weir_op_kind kinds[] = {
  KIND("read_jsonl", "read JSON Lines (.zst/.gz too): columns from the keys", WEIR_KIND_SOURCE, 0, 0,
       jsonl_opts, build_read_jsonl),
  KIND("read_csv", "read CSV (RFC 4180; .zst/.gz too): columns from the header", WEIR_KIND_SOURCE, 0,
       0, csv_opts, build_read_csv),
  KIND("read_text", "read text lines into a `text` column (.zst/.gz too)", WEIR_KIND_SOURCE, 0, 0,
       text_opts, build_read_text),
  KIND("read_binary", "read whole files: `path` and `bytes`, one row per file", WEIR_KIND_SOURCE, 0,
       0, plain_read_opts, build_read_binary),
  KIND("read_blocks", "read weir block files (.weir) with all their types", WEIR_KIND_SOURCE, 0, 0,
       plain_read_opts, build_read_blocks),
  KIND("write_jsonl", "write JSON Lines shards, in input order", WEIR_KIND_SINK, 1, 1, write_opts,
       build_write_jsonl),
  KIND("write_csv", "write CSV shards, in input order", WEIR_KIND_SINK, 1, 1, write_opts,
       build_write_csv),
  KIND("write_blocks", "write weir block files (zstd frames; every type kept)", WEIR_KIND_SINK, 1, 1,
       write_opts, build_write_blocks),
};

const cli_op_table cli_ops_io = {kinds, sizeof kinds / sizeof kinds[0]};
