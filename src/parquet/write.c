/* weir_write_parquet: the sharded writer of weir/io.h with Parquet as its
 * format. A single-worker op first gathers the input into row groups (by
 * rows and bytes, never across a shard boundary); encoding workers turn
 * each into a row group's bytes in parallel; the sink writes them and the
 * footer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/parquet.h"
#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "exec/gpu_backend.h"
#include "parquet/codecs.h"
#include "io/vfs.h"
#include "io/writefmt.h"
#include "parquet/parquet_internal.h"
#include "parquet/write_internal.h"

/* ---- Gathering row groups ---- */

typedef struct gather_cfg {
  uint64_t rg_rows, rg_bytes, shard_rows;
} gather_cfg;

typedef struct gather {
  const gather_cfg *c;
  weir_block **pend;
  size_t npend, cap;
  uint64_t rows, bytes;  /* pending */
  uint64_t seen;         /* rows emitted or pending, from the start */
} gather;

static int g_init(void *user, int worker, void **state) {
  (void)worker;
  gather *g = calloc(1, sizeof *g);
  if (!g) return WEIR_ENOMEM;
  g->c = user;
  *state = g;
  return WEIR_OK;
}

static void g_destroy(void *state) {
  gather *g = state;
  if (!g) return;
  for (size_t i = 0; i < g->npend; i++) weir_block_unref(&g->pend[i]);
  free(g->pend);
  free(g);
}

static int g_flush(gather *g, weir_emit *out) {
  if (!g->npend) return WEIR_OK;
  weir_block *b;
  int rc = weir_block_concat(g->pend, g->npend, &b);
  for (size_t i = 0; i < g->npend; i++) weir_block_unref(&g->pend[i]);
  g->npend = 0;
  g->rows = g->bytes = 0;
  return rc ? rc : weir_emit_block(out, b);
}

static int g_process(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  (void)ctx;
  gather *g = state;
  size_t n = weir_block_num_rows(in), at = 0;
  while (at < n) {
    uint64_t room = g->c->rg_rows - g->rows;
    if (g->c->shard_rows) {
      uint64_t to_edge = g->c->shard_rows - g->seen % g->c->shard_rows;
      if (to_edge < room) room = to_edge;
    }
    size_t take = n - at < room ? n - at : (size_t)room;
    weir_block *part = at == 0 && take == n ? weir_block_ref(in) : weir__block_slice(in, at, take);
    if (!part) return WEIR_ENOMEM;
    if (g->npend == g->cap) {
      size_t cap = g->cap ? g->cap * 2 : 16;
      weir_block **p = realloc(g->pend, cap * sizeof *p);
      if (!p) {
        weir_block_unref(&part);
        return WEIR_ENOMEM;
      }
      g->pend = p;
      g->cap = cap;
    }
    g->pend[g->npend++] = part;
    g->rows += take;
    g->bytes += weir_block_nbytes(part);
    g->seen += take;
    at += take;
    int edge = g->c->shard_rows && g->seen % g->c->shard_rows == 0;
    if (g->rows >= g->c->rg_rows || g->bytes >= g->c->rg_bytes || edge) {
      int rc = g_flush(g, out);
      if (rc) return rc;
    }
  }
  return WEIR_OK;
}

static int g_finish(void *state, weir_emit *out, weir_ctx *ctx) {
  (void)ctx;
  return g_flush(state, out);
}

static const weir_op_def gather_def = {WEIR_OP_DEF_VERSION, "rowgroups_parquet", g_init,
                                       g_process, g_finish, g_destroy};

/* ---- The format ---- */

static void *enc_open(const void *arg) {
  weir_parquet_write_options *o = malloc(sizeof *o);
  if (o) *o = *(const weir_parquet_write_options *)arg;
  return o;
}

static void enc_close(void *st) { free(st); }

static int enc_encode(void *st, const weir_block *b, weir_block **out, char *err,
                      size_t errlen) {
  const weir_parquet_write_options *o = st;
  pq_buf frame = {0}, meta = {0};
  weir_block *host = NULL;
  if (weir__block_on_device(b)) {
    int rc = weir__gpu_backend_get()->to_host((weir_block *)b, &host);
    if (rc) {
      snprintf(err, errlen, "cannot copy a device block to the host");
      return rc;
    }
    b = host;
  }
  int rc = weir__pq_encode_row_group(b, o, &frame, &meta, err, errlen);
  weir_block_unref(&host);
  weir_builder *bld = NULL;
  if (!rc) rc = weir_builder_create(&bld);
  if (!rc) rc = weir_builder_add_column(bld, "frame", WEIR_TYPE_BINARY);
  if (!rc) rc = weir_builder_add_column(bld, "rows", WEIR_TYPE_INT64);
  if (!rc) rc = weir_builder_add_column(bld, "meta", WEIR_TYPE_BINARY);
  if (!rc) rc = weir_builder_append_string(bld, 0, (const char *)frame.p, frame.len);
  if (!rc) rc = weir_builder_append_int64(bld, 1, (int64_t)weir_block_num_rows(b));
  if (!rc) rc = weir_builder_append_string(bld, 2, (const char *)meta.p, meta.len);
  if (!rc) rc = weir_builder_finish(bld, out);
  weir_builder_destroy(bld);
  weir__pq_buf_free(&frame);
  weir__pq_buf_free(&meta);
  return rc;
}

static int count_rows(const char *uri, const weir__io_config *cfg, uint64_t *rows, char *err,
                      size_t errlen) {
  weir__object *objs = NULL;
  size_t n = 0;
  int rc = weir__vfs_list(uri, cfg, &objs, &n, err, errlen);
  if (rc) return rc;
  if (n != 1) {
    weir__vfs_list_free(objs, n);
    snprintf(err, errlen, "%s is not one file", uri);
    return WEIR_EFORMAT;
  }
  pq_file_meta m;
  rc = weir__pq_read_footer(cfg, uri, objs[0].size, &m, err, errlen);
  weir__vfs_list_free(objs, n);
  if (rc) return rc;
  *rows = (uint64_t)m.num_rows;
  weir__pq_meta_free(&m);
  return WEIR_OK;
}

static int shard_head(weir__bytes *out) { return weir__bytes_put(out, "PAR1", 4); }

static int shard_foot(const uint64_t *off, const unsigned char *const *metas, const size_t *lens,
                      size_t n, weir__bytes *out, char *err, size_t errlen) {
  pq_buf b = {0};
  int rc = weir__pq_footer(off, metas, lens, n, &b, err, errlen);
  if (!rc) rc = weir__bytes_put(out, b.p, b.len);
  weir__pq_buf_free(&b);
  return rc;
}

static const weir__fmt fmt_parquet = {
    .name = "parquet",
    .ext = ".parquet",
    .text = 0,
    .close = enc_close,
    .encode = enc_encode,
    .count_rows = count_rows,
    .open_arg = enc_open,
    .shard_head = shard_head,
    .shard_foot = shard_foot,
};

typedef struct writer_arg {
  weir_parquet_write_options o;
  gather_cfg g;
} writer_arg;

weir_op *weir_write_parquet(weir_pipeline *p, weir_op *in, const char *uri,
                            const weir_parquet_write_options *o) {
  static const char *name = "write_parquet";
  if (!p) return weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", name);
  weir_parquet_write_options def = WEIR_PARQUET_WRITE_OPTIONS_INIT;
  if (!o) o = &def;
  if (o->version != WEIR_PARQUET_WRITE_OPTIONS_VERSION)
    return weir__op_fail(p, WEIR_EINVAL, "%s: unknown options version %u", name, o->version);
  if (o->codec < WEIR_PARQUET_ZSTD || o->codec > WEIR_PARQUET_UNCOMPRESSED)
    return weir__op_fail(p, WEIR_EINVAL, "%s: unknown codec %d", name, o->codec);
  static const int codecs[] = {PQ_ZSTD, PQ_SNAPPY, PQ_GZIP, PQ_LZ4_RAW, PQ_UNCOMPRESSED};
  if (!weir__pq_codec_available(codecs[o->codec]))
    return weir__op_fail(p, WEIR_ENOTSUP, "%s: this build of weir has no %s codec", name,
                         o->codec == WEIR_PARQUET_SNAPPY ? "SNAPPY" : "LZ4_RAW");
  if (!in)
    return weir__op_fail(p, weir_pipeline_errcode(p) ? weir_pipeline_errcode(p) : WEIR_EINVAL,
                         "%s: no input operator", name);
  writer_arg *a = calloc(1, sizeof *a);
  if (!a) return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", name);
  a->o = *o;
  a->o.s3_endpoint = a->o.s3_region = a->o.s3_access_key = a->o.s3_secret_key = NULL;
  a->g.rg_rows = o->row_group_rows ? o->row_group_rows : (1u << 20);
  a->g.rg_bytes = o->row_group_bytes ? o->row_group_bytes : ((uint64_t)128 << 20);
  a->g.shard_rows = o->shard_rows;
  /* Parallel encoding and the ordered sink need each row group whole:
   * gather them on one worker, in order. */
  weir_op_options go = {.version = WEIR_OP_OPTIONS_VERSION, .min_workers = 1,
                        .max_workers = 1, .num_cpus = 1.0, .preserve_order = 1};
  weir_op *g = weir_add_op(p, in, &gather_def, &a->g, &go);
  if (!g) {
    free(a);
    return NULL;
  }
  weir_write_options wo = {.version = WEIR_WRITE_OPTIONS_VERSION,
                           .shard_rows = o->shard_rows,
                           .shard_bytes = o->shard_bytes,
                           .resume = o->resume,
                           .compression_level = o->compression_level,
                           .s3_endpoint = o->s3_endpoint,
                           .s3_region = o->s3_region,
                           .s3_access_key = o->s3_access_key,
                           .s3_secret_key = o->s3_secret_key,
                           .max_retries = o->max_retries};
  /* `a` lives as long as the writer (its gather op reads a->g). */
  return weir__writer_make(p, g, uri, &wo, &fmt_parquet, a, free, "encode_parquet", name);
}
