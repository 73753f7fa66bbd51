/* weir_write_parquet: files weir writes are read by pyarrow and DuckDB
 * with the values weir wrote (and valid statistics), for every codec and
 * type; read back by weir itself; sharded, resumed, cut into row groups;
 * dictionaries that grow too large fall back to PLAIN. */
#include "parquet_util.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("pq-write"); }

TestSuite(parquet_write, .init = make_tmp, .fini = tmpdir_remove, .timeout = 300);

#define ROWS 1000

/* Every weir type but TENSOR, with nulls: a row `i` of `base + i`. */
static weir_block *sample(size_t base, size_t rows) {
  weir_builder *bld;
  weir_builder_create(&bld);
  weir_builder_add_column(bld, "b", WEIR_TYPE_BOOL);
  weir_builder_add_column(bld, "i32", WEIR_TYPE_INT32);
  weir_builder_add_column(bld, "i64", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "f32", WEIR_TYPE_FLOAT32);
  weir_builder_add_column(bld, "f64", WEIR_TYPE_FLOAT64);
  weir_builder_add_column(bld, "text", WEIR_TYPE_STRING);
  weir_builder_add_column(bld, "lang", WEIR_TYPE_STRING);
  weir_builder_add_column(bld, "bin", WEIR_TYPE_BINARY);
  weir_builder_add_list_column(bld, "tok", WEIR_DTYPE_INT32);
  weir_builder_add_list_column(bld, "emb", WEIR_DTYPE_FLOAT32);
  weir_builder_add_list_column(bld, "small", WEIR_DTYPE_INT8);
  weir_builder_add_list_column(bld, "u64", WEIR_DTYPE_UINT64);
  for (size_t k = 0; k < rows; k++) {
    size_t i = base + k;
    int null = i % 9 == 4;
    if (null) {
      for (size_t c = 0; c < 12; c++) weir_builder_append_null(bld, c);
      continue;
    }
    weir_builder_append_bool(bld, 0, i % 3 == 0);
    weir_builder_append_int64(bld, 1, (int64_t)i * 7919 - 100000);
    weir_builder_append_int64(bld, 2, ((int64_t)i - 500) * 1000000007LL);
    weir_builder_append_float64(bld, 3, (double)i / 16 - 2);
    weir_builder_append_float64(bld, 4, (double)i * 1.5e-3 - 0.7);
    char s[64];
    int n = snprintf(s, sizeof s, "document %zu %s", i, i % 2 ? "über" : "plain");
    weir_builder_append_string(bld, 5, s, (size_t)n);
    static const char *langs[] = {"en", "fr", "de", "ja"};
    weir_builder_append_string(bld, 6, langs[i % 4], 2);
    unsigned char bb[3] = {(unsigned char)i, 0, (unsigned char)(i >> 8)};
    weir_builder_append_string(bld, 7, (const char *)bb, i % 4);
    int32_t tok[8];
    for (int t = 0; t < 8; t++) tok[t] = (int32_t)(i * 31 + (size_t)t);
    weir_builder_append_list(bld, 8, tok, i % 8);
    float emb[4] = {(float)i, -0.5f, 0.25f, (float)i / 3};
    if (i % 5 == 0) weir_builder_append_null(bld, 9);
    else weir_builder_append_list(bld, 9, emb, 4);
    int8_t sm[2] = {(int8_t)(i % 256 - 128), -1};
    weir_builder_append_list(bld, 10, sm, 2);
    uint64_t u[1] = {(uint64_t)i * 3000000000ULL};
    weir_builder_append_list(bld, 11, u, i % 2);
  }
  weir_block *b;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK, "%s", weir_builder_errmsg(bld));
  weir_builder_destroy(bld);
  return b;
}

static int gen(void *user, size_t task, weir_emit *out) {
  (void)user;
  /* Four blocks of 250 rows: row groups gather them. */
  return weir_emit_block(out, sample(task * (ROWS / 4), ROWS / 4));
}

static weir_op *source(weir_pipeline *p) {
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  return weir_source(p, "gen", 4, gen, NULL, &so);
}

static int write_pq(const char *uri, const weir_parquet_write_options *o, char *err) {
  weir_pipeline *p = pq_pipeline();
  weir_op *w = weir_write_parquet(p, source(p), uri, o);
  int rc = w ? weir_pipeline_run(p, w) : weir_pipeline_errcode(p);
  snprintf(err, 600, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  return rc;
}

static void expected_jsonl(const char *path) {
  weir_pipeline *p = pq_pipeline();
  weir_op *w = weir_write_jsonl(p, source(p), path, NULL);
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

static void check_with_pyarrow_and_duckdb(const char *file) {
  char args[2000];
  snprintf(args, sizeof args, "check '%s' '%s'", file, path_of("expected.jsonl"));
  cr_assert_eq(pq_tool(args), 0, "%s: pyarrow/duckdb disagree", file);
}

Test(parquet_write, every_codec_is_read_by_pyarrow_and_duckdb) {
  expected_jsonl(path_of("expected.jsonl"));
  const int codecs[] = {WEIR_PARQUET_ZSTD, WEIR_PARQUET_SNAPPY, WEIR_PARQUET_GZIP,
                        WEIR_PARQUET_LZ4_RAW, WEIR_PARQUET_UNCOMPRESSED};
  for (int k = 0; k < 5; k++) {
    weir_parquet_write_options o = WEIR_PARQUET_WRITE_OPTIONS_INIT;
    o.codec = codecs[k];
    o.row_group_rows = 300; /* 4 row groups, cut across the input blocks */
    o.page_bytes = 2000;    /* several pages a chunk */
    char name[64], err[600];
    snprintf(name, sizeof name, "out%d.parquet", k);
    cr_assert_eq(write_pq(path_of(name), &o, err), WEIR_OK, "%s", err);
    check_with_pyarrow_and_duckdb(path_of(name));
  }
}

Test(parquet_write, dictionary_falls_back_to_plain) {
  expected_jsonl(path_of("expected.jsonl"));
  weir_parquet_write_options o = WEIR_PARQUET_WRITE_OPTIONS_INIT;
  o.dictionary_bytes = 100; /* "text" outgrows it, "lang" does not */
  char err[600];
  cr_assert_eq(write_pq(path_of("d.parquet"), &o, err), WEIR_OK, "%s", err);
  check_with_pyarrow_and_duckdb(path_of("d.parquet"));
  o.dictionary_bytes = SIZE_MAX;
  cr_assert_eq(write_pq(path_of("p.parquet"), &o, err), WEIR_OK, "%s", err);
  check_with_pyarrow_and_duckdb(path_of("p.parquet"));
}

/* weir reads back what it wrote: the same rows as the source. */
Test(parquet_write, weir_reads_back_its_own_files) {
  weir_parquet_write_options o = WEIR_PARQUET_WRITE_OPTIONS_INIT;
  o.row_group_rows = 128;
  char err[600];
  cr_assert_eq(write_pq(path_of("rt.parquet"), &o, err), WEIR_OK, "%s", err);
  weir_pipeline *p = pq_pipeline();
  weir_block *b;
  cr_assert_eq(pq_collect(p, weir_read_parquet(p, path_of("rt.parquet"), NULL), &b), WEIR_OK,
               "%s", weir_pipeline_errmsg(p));
  /* 1000 rows in row groups of 128: 8 tasks. */
  weir_op_stats st;
  weir_pipeline_op_stats(p, 0, &st);
  cr_assert_eq(st.tasks, 8);
  weir_pipeline_destroy(p);
  weir_block *want = sample(0, ROWS);
  cr_assert_eq(weir_block_num_rows(b), ROWS);
  cr_assert_eq(weir_block_num_columns(b), weir_block_num_columns(want));
  for (size_t c = 0; c < weir_block_num_columns(b); c++) {
    weir_column x, y;
    weir_block_column(b, c, &x);
    weir_block_column(want, c, &y);
    cr_assert_str_eq(x.name, y.name);
    cr_assert_eq(x.type, y.type, "column %s", x.name);
    cr_assert_eq(x.dtype, y.dtype, "column %s", x.name);
    cr_assert_eq(x.null_count, y.null_count, "column %s", x.name);
    for (size_t r = 0; r < ROWS; r++) {
      int v = weir_block_is_valid(want, c, r);
      cr_assert_eq(weir_block_is_valid(b, c, r), v, "column %s row %zu", x.name, r);
      if (!v) continue;
      if (x.offsets) {
        size_t unit = x.type == WEIR_TYPE_LIST ? weir_dtype_size(x.dtype) : 1;
        size_t n = (size_t)(x.offsets[r + 1] - x.offsets[r]) * unit;
        cr_assert_eq(n, (size_t)(y.offsets[r + 1] - y.offsets[r]) * unit, "%s %zu", x.name, r);
        cr_assert(!memcmp((const char *)x.data + x.offsets[r] * unit,
                          (const char *)y.data + y.offsets[r] * unit, n), "%s %zu", x.name, r);
      } else if (x.type == WEIR_TYPE_BOOL) {
        cr_assert_eq((((const uint8_t *)x.data)[r / 8] >> (r % 8)) & 1,
                     (((const uint8_t *)y.data)[r / 8] >> (r % 8)) & 1);
      } else {
        size_t w = x.type == WEIR_TYPE_INT32 || x.type == WEIR_TYPE_FLOAT32 ? 4 : 8;
        cr_assert(!memcmp((const char *)x.data + r * w, (const char *)y.data + r * w, w),
                  "%s %zu", x.name, r);
      }
    }
  }
  weir_block_unref(&want);
  weir_block_unref(&b);
}

Test(parquet_write, shards_and_resume) {
  weir_parquet_write_options o = WEIR_PARQUET_WRITE_OPTIONS_INIT;
  o.shard_rows = 300;
  char err[600];
  cr_assert_eq(write_pq(path_of("shards"), &o, err), WEIR_OK, "%s", err);
  for (int k = 0; k < 4; k++) {
    char name[64];
    snprintf(name, sizeof name, "shards/part-%05d.parquet", k);
    cr_assert_eq(access(path_of(name), R_OK), 0, "%s", name);
  }
  cr_assert_neq(access(path_of("shards/part-00004.parquet"), R_OK), 0);
  /* Resume: a removed shard is written again, the others kept as they are. */
  struct stat st0, st1;
  cr_assert_eq(stat(path_of("shards/part-00000.parquet"), &st0), 0);
  cr_assert_eq(unlink(path_of("shards/part-00002.parquet")), 0);
  o.resume = 1;
  cr_assert_eq(write_pq(path_of("shards"), &o, err), WEIR_OK, "%s", err);
  cr_assert_eq(access(path_of("shards/part-00002.parquet"), R_OK), 0);
  cr_assert_eq(stat(path_of("shards/part-00000.parquet"), &st1), 0);
  cr_assert_eq(st0.st_ino, st1.st_ino);
  weir_pipeline *p = pq_pipeline();
  weir_block *b;
  cr_assert_eq(pq_collect(p, weir_read_parquet(p, path_of("shards"), NULL), &b), WEIR_OK, "%s",
               weir_pipeline_errmsg(p));
  cr_assert_eq(weir_block_num_rows(b), ROWS);
  weir_column c;
  weir_block_column(b, 1, &c);
  for (size_t r = 0; r < ROWS; r++)
    if (weir_block_is_valid(b, 1, r))
      cr_assert_eq(((const int32_t *)c.data)[r], (int32_t)r * 7919 - 100000, "row %zu", r);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

static int emit_user(void *user, size_t task, weir_emit *out) {
  (void)task;
  return weir_emit_block(out, weir_block_ref(user));
}

Test(parquet_write, tensors_as_fixed_len_byte_arrays) {
  weir_builder *bld;
  weir_builder_create(&bld);
  int64_t shape[2] = {2, 3};
  weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_FLOAT32, 2, shape);
  for (int i = 0; i < 10; i++) {
    float v[6] = {(float)i, 1, 2, 3, 4, (float)-i};
    if (i == 7) weir_builder_append_null(bld, 0);
    else weir_builder_append_tensor(bld, 0, v);
  }
  weir_block *b;
  weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  weir_pipeline *p = pq_pipeline();
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  weir_op *w = weir_write_parquet(p, weir_source(p, "one", 1, emit_user, b, &so),
                                  path_of("t.parquet"), NULL);
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  /* pyarrow sees 24-byte fixed-size binaries and weir's shape metadata. */
  char args[1500];
  snprintf(args, sizeof args,
           "-c \"import pyarrow.parquet as pq, sys; f = pq.ParquetFile(sys.argv[1]); "
           "t = f.read(); assert str(t.schema.field('t').type) == 'fixed_size_binary[24]', t.schema; "
           "assert f.metadata.metadata[b'weir.tensor.t'] == b'float32:2x3'; "
           "assert t.column('t').null_count == 1; "
           "assert t.column('t')[9].as_py()[20:] == bytes.fromhex('000010c1')\" '%s'",
           path_of("t.parquet"));
  char cmd[2000];
  snprintf(cmd, sizeof cmd, "'%s' %s", pq_python(), args);
  cr_assert_eq(system(cmd), 0);
  weir_block_unref(&b);
}
