/* The sharded, crash-safe writer behind weir_write_jsonl, weir_write_csv
 * and weir_write_blocks: a single-worker, order-preserving sink that cuts
 * its input into shards deterministically, writes each under a temporary
 * name, renames it when complete, and on resume skips the rows of shards
 * that already exist. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/error.h"
#include "weir/io.h"
#include "core/block_internal.h"
#include "io/codec.h"
#include "io/reader.h"
#include "io/vfs.h"
#include "io/writefmt.h"
#include "exec/exec_internal.h"

typedef struct sink_cfg {
  const weir__fmt *fmt;
  weir_write_options o;
  weir__io_config cfg;
  char *base;          /* folder, or file name without its suffix */
  char *suffix;        /* ".jsonl.zst"... */
  int single;          /* one file, no shards */
  int prefix;          /* shards are <base>-00000<suffix> */
  int codec;
  char *opname;
} sink_cfg;

typedef struct sink {
  sink_cfg *c;
  weir__cstream *cur;  /* the open shard, or NULL */
  char *cur_uri;
  void *fst;           /* format state of the open shard */
  size_t shard;        /* index of the next (or open) shard */
  uint64_t row;        /* rows of the input seen so far */
  uint64_t in_shard;   /* rows in the open shard */
  int begun;           /* resume state computed */
  /* Resume with shard_bytes: rows [0, done_rows) are in shards
   * [0, done_shards) from an earlier run. */
  uint64_t done_rows;
  size_t done_shards;
  /* Resume with shard_rows: whether shard `known_shard` exists. */
  size_t known_shard;
  int known_exists;
  weir__bytes buf;
  size_t written;      /* shards written (or kept) by this run, + 1 */
  char err[768];
} sink;

static void sink_cfg_free(void *p) {
  sink_cfg *c = p;
  if (!c) return;
  free(c->base);
  free(c->suffix);
  free(c->opname);
  free((char *)c->o.s3_endpoint);
  free((char *)c->o.s3_region);
  free((char *)c->o.s3_access_key);
  free((char *)c->o.s3_secret_key);
  free(c);
}

static char *shard_uri(const sink_cfg *c, size_t k) {
  if (c->single) {
    size_t n = strlen(c->base) + strlen(c->suffix) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s", c->base, c->suffix);
    return s;
  }
  char name[64];
  if (c->prefix) {
    size_t n = strlen(c->base) + strlen(c->suffix) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s-%05zu%s", c->base, k, c->suffix);
    return s;
  }
  snprintf(name, sizeof name, "part-%05zu%s", k, c->suffix);
  return weir__vfs_join(c->base, name);
}

static int exists(sink *s, size_t k, int *yes) {
  char *u = shard_uri(s->c, k);
  if (!u) return WEIR_ENOMEM;
  int e = weir__vfs_exists(u, &s->c->cfg);
  free(u);
  if (e < 0) {
    snprintf(s->err, sizeof s->err, "cannot check for shard %zu", k);
    return e;
  }
  *yes = e;
  return WEIR_OK;
}

/* Removes hidden temporary shards a killed run left in a local folder. */
static void clean_temporaries(const sink_cfg *c) {
  if (weir__vfs_is_remote(c->base) || c->single || c->prefix) return;
  const char *dir = strncmp(c->base, "file://", 7) == 0 ? c->base + 7 : c->base;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, ".part-", 6) == 0 && strstr(e->d_name, ".tmp.")) {
      char *p = weir__vfs_join(dir, e->d_name);
      if (p) unlink(p);
      free(p);
    }
  }
  closedir(d);
}

static int begin_run(sink *s) {
  s->begun = 1;
  clean_temporaries(s->c);
  s->known_shard = SIZE_MAX;
  if (!s->c->o.resume) return WEIR_OK;
  if (s->c->single) {
    int yes;
    int rc = exists(s, 0, &yes);
    if (rc) return rc;
    if (yes) s->done_rows = UINT64_MAX, s->done_shards = 1;
    return WEIR_OK;
  }
  if (s->c->o.shard_rows) return WEIR_OK; /* checked shard by shard */
  /* Shards cut by bytes: count the rows of those already complete. */
  for (;;) {
    int yes;
    int rc = exists(s, s->done_shards, &yes);
    if (rc) return rc;
    if (!yes) break;
    char *u = shard_uri(s->c, s->done_shards);
    uint64_t rows = 0;
    char err[512] = "";
    rc = u ? s->c->fmt->count_rows(u, &s->c->cfg, &rows, err, sizeof err)
           : WEIR_ENOMEM;
    free(u);
    if (rc) {
      snprintf(s->err, sizeof s->err,
               "resume: cannot count the rows of shard %zu: %s",
               s->done_shards, err);
      return rc;
    }
    s->done_rows += rows;
    s->done_shards++;
  }
  return WEIR_OK;
}

static int flush_buf(sink *s) {
  if (!s->buf.len) return WEIR_OK;
  int rc = weir__cstream_write(s->cur, s->buf.p, s->buf.len);
  if (rc) snprintf(s->err, sizeof s->err, "%s", weir__cstream_errmsg(s->cur));
  s->buf.len = 0;
  return rc;
}

static int open_shard(sink *s, const weir_block *first) {
  s->cur_uri = shard_uri(s->c, s->shard);
  if (!s->cur_uri) return WEIR_ENOMEM;
  weir__wstream *ws;
  char err[512] = "";
  int rc = weir__wstream_open(s->cur_uri, &s->c->cfg, &ws, err, sizeof err);
  if (rc == WEIR_OK)
    rc = weir__cstream_open(ws, s->c->codec, s->c->o.compression_level, &s->cur);
  else
    snprintf(s->err, sizeof s->err, "%s", err);
  if (rc) {
    free(s->cur_uri);
    s->cur_uri = NULL;
    return rc;
  }
  s->fst = s->c->fmt->open(s->c->o.compression_level);
  if (!s->fst) return WEIR_ENOMEM;
  s->in_shard = 0;
  s->buf.len = 0;
  rc = s->c->fmt->begin(s->fst, first, &s->buf);
  if (rc == WEIR_OK) rc = flush_buf(s);
  return rc;
}

static uint64_t shard_pos(const sink *s) {
  return weir__cstream_bytes_in(s->cur) + s->buf.len;
}

static int close_shard(sink *s) {
  int rc = s->c->fmt->end(s->fst, shard_pos(s), &s->buf);
  if (rc == WEIR_OK) rc = flush_buf(s);
  s->c->fmt->close(s->fst);
  s->fst = NULL;
  if (rc == WEIR_OK) {
    char err[512] = "";
    rc = weir__cstream_commit(s->cur, err, sizeof err);
    if (rc) snprintf(s->err, sizeof s->err, "%s", err);
  } else {
    weir__cstream_abort(s->cur);
  }
  s->cur = NULL;
  free(s->cur_uri);
  s->cur_uri = NULL;
  s->shard++;
  return rc;
}

static void abort_shard(sink *s) {
  if (s->fst) s->c->fmt->close(s->fst);
  s->fst = NULL;
  weir__cstream_abort(s->cur);
  s->cur = NULL;
  free(s->cur_uri);
  s->cur_uri = NULL;
}

static int sink_init(void *user, int worker, void **state) {
  (void)worker;
  sink *s = calloc(1, sizeof *s);
  if (!s) return WEIR_ENOMEM;
  s->c = user;
  *state = s;
  return WEIR_OK;
}

static void sink_destroy(void *state) {
  sink *s = state;
  if (!s) return;
  /* Reached without finish: an error or a cancel. The open shard is not
   * complete, so it must not appear. */
  if (s->cur) abort_shard(s);
  weir__bytes_free(&s->buf);
  free(s);
}

/* Rows [r, n) of `b`: how many go into the open shard now. */
static size_t rows_now(const sink *s, size_t r, size_t n) {
  uint64_t lim = s->c->o.shard_rows;
  size_t m = n - r;
  if (lim && s->in_shard + m > lim) m = (size_t)(lim - s->in_shard);
  return m;
}

static int fail(sink *s, weir_ctx *ctx, int rc) {
  if (s->err[0])
    weir_ctx_set_errmsg(ctx, "%s", s->err);
  if (s->cur) abort_shard(s);
  return rc;
}

static int sink_process(void *state, weir_block *b, weir_emit *out,
                        weir_ctx *ctx) {
  (void)out;
  sink *s = state;
  const sink_cfg *c = s->c;
  int rc = WEIR_OK;
  s->err[0] = 0;
  if (!s->begun && (rc = begin_run(s)) != WEIR_OK) return fail(s, ctx, rc);
  size_t n = weir_block_num_rows(b), r = 0;
  while (r < n) {
    uint64_t g = s->row + r;
    /* Rows an earlier run already wrote into a complete shard. */
    if (c->o.resume && !s->cur) {
      if (c->single || !c->o.shard_rows) {
        if (g < s->done_rows) {
          uint64_t skip = s->done_rows - g;
          r += skip < n - r ? (size_t)skip : n - r;
          continue;
        }
        if (s->shard < s->done_shards) s->shard = s->done_shards;
      } else {
        size_t k = (size_t)(g / c->o.shard_rows);
        if (k != s->known_shard) {
          rc = exists(s, k, &s->known_exists);
          if (rc) return fail(s, ctx, rc);
          s->known_shard = k;
        }
        s->shard = k;
        if (s->known_exists) {
          uint64_t end = (uint64_t)(k + 1) * c->o.shard_rows;
          uint64_t skip = end - g;
          r += skip < n - r ? (size_t)skip : n - r;
          if (s->row + r == end) s->shard = k + 1;
          continue;
        }
      }
    }
    if (!s->cur && (rc = open_shard(s, b)) != WEIR_OK) return fail(s, ctx, rc);
    size_t m = rows_now(s, r, n);
    if (c->o.shard_bytes && c->fmt->text) {
      /* Cut by bytes at a row boundary: one row at a time. */
      size_t k = 0;
      while (k < m && shard_pos(s) < c->o.shard_bytes) {
        rc = c->fmt->rows(s->fst, b, r + k, 1, shard_pos(s), &s->buf, s->err,
                          sizeof s->err);
        if (rc) return fail(s, ctx, rc);
        k++;
        if (s->buf.len >= (1u << 20) && (rc = flush_buf(s)) != WEIR_OK)
          return fail(s, ctx, rc);
      }
      m = k;
    } else {
      rc = c->fmt->rows(s->fst, b, r, m, shard_pos(s), &s->buf, s->err,
                        sizeof s->err);
      if (rc) return fail(s, ctx, rc);
    }
    if ((rc = flush_buf(s)) != WEIR_OK) return fail(s, ctx, rc);
    r += m;
    s->in_shard += m;
    int full = !c->single &&
               ((c->o.shard_rows && s->in_shard >= c->o.shard_rows) ||
                (c->o.shard_bytes && shard_pos(s) >= c->o.shard_bytes));
    if (full && (rc = close_shard(s)) != WEIR_OK) return fail(s, ctx, rc);
  }
  s->row += n;
  return WEIR_OK;
}

static int sink_finish(void *state, weir_emit *out, weir_ctx *ctx) {
  (void)out;
  sink *s = state;
  const sink_cfg *c = s->c;
  int rc = WEIR_OK;
  s->err[0] = 0;
  if (!s->begun && (rc = begin_run(s)) != WEIR_OK) return fail(s, ctx, rc);
  if (!s->cur && c->single && !(c->o.resume && s->done_shards)) {
    /* A single-file output exists even without rows. */
    weir_block *empty = weir_block_empty();
    if ((rc = open_shard(s, empty)) != WEIR_OK) return fail(s, ctx, rc);
  }
  if (s->cur && (rc = close_shard(s)) != WEIR_OK) return fail(s, ctx, rc);
  if (!c->o.resume && !c->single && !weir__vfs_is_remote(c->base)) {
    /* Shards of an earlier, longer run are not part of this output. */
    for (size_t k = s->shard;; k++) {
      char *u = shard_uri(c, k);
      if (!u) break;
      const char *path = strncmp(u, "file://", 7) == 0 ? u + 7 : u;
      int gone = unlink(path) != 0;
      free(u);
      if (gone) break;
    }
  }
  return WEIR_OK;
}

static const weir_op_def sink_def_jsonl = {WEIR_OP_DEF_VERSION, "write_jsonl",
                                           sink_init, sink_process,
                                           sink_finish, sink_destroy};
static const weir_op_def sink_def_csv = {WEIR_OP_DEF_VERSION, "write_csv",
                                         sink_init, sink_process, sink_finish,
                                         sink_destroy};
static const weir_op_def sink_def_blocks = {WEIR_OP_DEF_VERSION,
                                            "write_blocks", sink_init,
                                            sink_process, sink_finish,
                                            sink_destroy};

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcmp(s + a - b, suf) == 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static weir_op *make_writer(weir_pipeline *p, weir_op *in, const char *uri,
                            const weir_write_options *o, const weir__fmt *fmt,
                            const weir_op_def *def) {
  if (!p) return NULL;
  if (!in) return weir__reader_fail(p, WEIR_EINVAL, "%s: no input operator", def->name);
  if (!uri || !*uri)
    return weir__reader_fail(p, WEIR_EINVAL, "%s: empty uri", def->name);
  weir_write_options d = {.version = WEIR_WRITE_OPTIONS_VERSION};
  if (!o) o = &d;
  if (o->version < 1)
    return weir__reader_fail(p, WEIR_EINVAL, "%s: unknown options version %u",
                             def->name, o->version);
  if (o->compression < WEIR_COMPRESS_NONE || o->compression > WEIR_COMPRESS_GZIP)
    return weir__reader_fail(p, WEIR_EINVAL, "%s: unknown compression %d",
                             def->name, o->compression);
  sink_cfg *c = calloc(1, sizeof *c);
  if (!c) return weir__reader_fail(p, WEIR_ENOMEM, "%s: out of memory", def->name);
  c->fmt = fmt;
  c->o = *o;
  c->o.s3_endpoint = dup_or_null(o->s3_endpoint);
  c->o.s3_region = dup_or_null(o->s3_region);
  c->o.s3_access_key = dup_or_null(o->s3_access_key);
  c->o.s3_secret_key = dup_or_null(o->s3_secret_key);
  c->cfg.s3_endpoint = c->o.s3_endpoint;
  c->cfg.s3_region = c->o.s3_region;
  c->cfg.s3_access_key = c->o.s3_access_key;
  c->cfg.s3_secret_key = c->o.s3_secret_key;
  c->cfg.max_retries = o->max_retries;
  /* A uri ending in the format's suffix (with .zst or .gz for text) names
   * a file; anything else is a folder or prefix. */
  int codec = weir__codec_from_name(uri);
  size_t ul = strlen(uri), cl = strlen(weir__codec_suffix(codec));
  char *stem = strndup(uri, ul - cl);
  int is_file = stem && ends_with(stem, fmt->ext) && (fmt->text || codec == WEIR__CODEC_NONE);
  if (is_file) {
    c->codec = codec;
    stem[strlen(stem) - strlen(fmt->ext)] = 0;
    c->base = stem;
    c->single = !o->shard_rows && !o->shard_bytes;
    c->prefix = !c->single;
    size_t sl = strlen(fmt->ext) + cl + 1;
    c->suffix = malloc(sl);
    if (c->suffix) snprintf(c->suffix, sl, "%s%s", fmt->ext, weir__codec_suffix(codec));
  } else {
    free(stem);
    c->codec = !fmt->text ? WEIR__CODEC_NONE
               : o->compression == WEIR_COMPRESS_ZSTD ? WEIR__CODEC_ZSTD
               : o->compression == WEIR_COMPRESS_GZIP ? WEIR__CODEC_GZIP
                                                      : WEIR__CODEC_NONE;
    c->base = strdup(uri);
    size_t sl = strlen(fmt->ext) + 8;
    c->suffix = malloc(sl);
    if (c->suffix) snprintf(c->suffix, sl, "%s%s", fmt->ext, weir__codec_suffix(c->codec));
  }
  if (!c->base || !c->suffix) {
    sink_cfg_free(c);
    return weir__reader_fail(p, WEIR_ENOMEM, "%s: out of memory", def->name);
  }
  /* One worker, in input order: shard k must always hold the same rows. */
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .min_workers = 1,
                        .max_workers = 1, .num_cpus = 1.0,
                        .preserve_order = 1};
  weir_op *op = weir_add_op(p, in, def, c, &so);
  if (!op) {
    sink_cfg_free(c);
    return NULL;
  }
  weir__op_set_cleanup(op, sink_cfg_free, c);
  return op;
}

weir_op *weir_write_jsonl(weir_pipeline *p, weir_op *in, const char *uri,
                          const weir_write_options *o) {
  return make_writer(p, in, uri, o, &weir__fmt_jsonl, &sink_def_jsonl);
}

weir_op *weir_write_csv(weir_pipeline *p, weir_op *in, const char *uri,
                        const weir_write_options *o) {
  return make_writer(p, in, uri, o, &weir__fmt_csv, &sink_def_csv);
}

weir_op *weir_write_blocks(weir_pipeline *p, weir_op *in, const char *uri,
                           const weir_write_options *o) {
  return make_writer(p, in, uri, o, &weir__fmt_blocks, &sink_def_blocks);
}
