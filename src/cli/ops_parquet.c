/* Operator kinds of weir/parquet.h: the Parquet reader and writer. */
#include "cli/ops.h"

static const weir_opt_def read_opts[] = {
  OPT_REQ("uri", WEIR_OPT_STRING, "file, folder or glob of .parquet files, http(s):// or s3:// prefix"),
  OPT("rows_per_block", WEIR_OPT_INT, "65536", "rows per emitted block"),
  OPT_ENUM("on_error", "fail|skip", "fail", "a damaged file: end the run, or skip it from the damaged row group on and count it"),
  OPT("columns", WEIR_OPT_STRING, NULL, "\"text,id\": read only these columns; unset = all"),
  OPT("filter", WEIR_OPT_STRING, NULL, "\"score > 0.5 and lang = 'en'\": rows kept (row groups skipped by their statistics)"),
  OPT("include_path", WEIR_OPT_BOOL, "false", "add a `path` column"),
  OPT("hive_partitions", WEIR_OPT_BOOL, "true", "read `key=value` folders as columns"),
  OPT("max_requests", WEIR_OPT_INT, "16", "concurrent network requests"),
  OPT("max_retries", WEIR_OPT_INT, "5", "network retries; -1 = none"),
  OPT("s3_endpoint", WEIR_OPT_STRING, NULL, "S3 endpoint; unset = $AWS_ENDPOINT_URL or AWS"),
  OPT("s3_region", WEIR_OPT_STRING, NULL, "S3 region; unset = $AWS_REGION or us-east-1"),
  OPT("s3_access_key", WEIR_OPT_STRING, NULL, "unset = $AWS_ACCESS_KEY_ID"),
  OPT("s3_secret_key", WEIR_OPT_STRING, NULL, "unset = $AWS_SECRET_ACCESS_KEY"),
};
static weir_op *build_read(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_parquet_read_options o = WEIR_PARQUET_READ_OPTIONS_INIT;
  o.rows_per_block = (size_t)arg_i(a, "rows_per_block");
  o.on_error = arg_i(a, "on_error") ? WEIR_ON_ERROR_SKIP : WEIR_ON_ERROR_FAIL;
  o.columns = arg_s(a, "columns");
  o.filter = arg_s(a, "filter");
  o.include_path = (int)arg_i(a, "include_path");
  o.no_hive_partitions = !arg_i(a, "hive_partitions");
  o.max_requests = (int)arg_i(a, "max_requests");
  o.max_retries = (int)arg_i(a, "max_retries");
  o.s3_endpoint = arg_s(a, "s3_endpoint");
  o.s3_region = arg_s(a, "s3_region");
  o.s3_access_key = arg_s(a, "s3_access_key");
  o.s3_secret_key = arg_s(a, "s3_secret_key");
  return weir_read_parquet(p, arg_s(a, "uri"), &o);
}

static const weir_opt_def write_opts[] = {
  OPT_REQ("uri", WEIR_OPT_STRING, "output folder (shards part-00000.parquet...), file name, or s3:// prefix"),
  OPT("shard_rows", WEIR_OPT_INT, "0", "start a new shard after this many rows; 0 = no limit"),
  OPT("shard_bytes", WEIR_OPT_SIZE, "0", "... or this many bytes; 0 = no limit"),
  OPT("resume", WEIR_OPT_BOOL, "false", "keep complete shards of an earlier run"),
  OPT_ENUM("codec", "zstd|snappy|gzip|lz4_raw|uncompressed", "zstd", "page compression"),
  OPT("compression_level", WEIR_OPT_INT, "0", "0 = the codec's default (ZSTD 1)"),
  OPT("row_group_rows", WEIR_OPT_INT, "0", "rows per row group; 0 = 1 Mi rows"),
  OPT("row_group_bytes", WEIR_OPT_SIZE, "0", "or this many bytes of input; 0 = 128 MiB"),
  OPT("page_bytes", WEIR_OPT_SIZE, "0", "target data page size; 0 = 1 MiB"),
  OPT("dictionary_bytes", WEIR_OPT_SIZE, "0", "a dictionary past this falls back to PLAIN; 0 = 1 MiB"),
  OPT("no_statistics", WEIR_OPT_BOOL, "false", "write no min/max/null count"),
  OPT("max_retries", WEIR_OPT_INT, "5", "network retries; -1 = none"),
  OPT("s3_endpoint", WEIR_OPT_STRING, NULL, "S3 endpoint; unset = $AWS_ENDPOINT_URL or AWS"),
  OPT("s3_region", WEIR_OPT_STRING, NULL, "S3 region; unset = $AWS_REGION or us-east-1"),
  OPT("s3_access_key", WEIR_OPT_STRING, NULL, "unset = $AWS_ACCESS_KEY_ID"),
  OPT("s3_secret_key", WEIR_OPT_STRING, NULL, "unset = $AWS_SECRET_ACCESS_KEY"),
};
static weir_op *build_write(weir_pipeline *p, const weir_op_args *a, void *u) {
  (void)u;
  weir_parquet_write_options o = WEIR_PARQUET_WRITE_OPTIONS_INIT;
  static const int codecs[] = {WEIR_PARQUET_ZSTD, WEIR_PARQUET_SNAPPY, WEIR_PARQUET_GZIP,
                               WEIR_PARQUET_LZ4_RAW, WEIR_PARQUET_UNCOMPRESSED};
  o.shard_rows = (uint64_t)arg_i(a, "shard_rows");
  o.shard_bytes = (uint64_t)arg_i(a, "shard_bytes");
  o.resume = (int)arg_i(a, "resume");
  o.codec = codecs[arg_i(a, "codec")];
  o.compression_level = (int)arg_i(a, "compression_level");
  o.row_group_rows = (uint64_t)arg_i(a, "row_group_rows");
  o.row_group_bytes = (uint64_t)arg_i(a, "row_group_bytes");
  o.page_bytes = (size_t)arg_i(a, "page_bytes");
  o.dictionary_bytes = (size_t)arg_i(a, "dictionary_bytes");
  o.no_statistics = (int)arg_i(a, "no_statistics");
  o.max_retries = (int)arg_i(a, "max_retries");
  o.s3_endpoint = arg_s(a, "s3_endpoint");
  o.s3_region = arg_s(a, "s3_region");
  o.s3_access_key = arg_s(a, "s3_access_key");
  o.s3_secret_key = arg_s(a, "s3_secret_key");
  return weir_write_parquet(p, arg_in(a), arg_s(a, "uri"), &o);
}

static const weir_op_kind kinds[] = {
  KIND("read_parquet", "read Parquet files: columns keep their Parquet names, rows their order",
       WEIR_KIND_SOURCE, 0, 0, read_opts, build_read),
  KIND("write_parquet", "write Parquet shards (dictionary pages, statistics), in input order",
       WEIR_KIND_SINK, 1, 1, write_opts, build_write),
};

const cli_op_table cli_ops_parquet = {kinds, sizeof kinds / sizeof kinds[0]};
