/* Shared plumbing of file readers: options, listing into read tasks, the
 * source op that owns the reader, and the chunking of a task. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weir/error.h"
#include "core/block_internal.h"
#include "core/redact.h"
#include "io/codec.h"
#include "io/reader.h"
#include "exec/exec_internal.h"

void weir__reader_free(void *arg) {
  weir__reader *r = arg;
  if (!r) return;
  if (r->free_extra) r->free_extra(r->extra);
  weir__vfs_list_free(r->objs, r->nobjs);
  free(r->malformed);
  weir__bufpool_release(r->pool);
  free(r->tasks);
  weir__schema_free(&r->schema);
  free((char *)r->o.columns);
  weir__io_config_free_s3(&r->cfg); /* r->o's S3 strings point at these */
  pthread_mutex_destroy(&r->mu);
  free(r);
}

/* Cuts the listed objects into read tasks: one per object, or, with
 * `range_bytes`, byte ranges of that size for uncompressed objects of a
 * known size larger than it. */
static int cut_tasks(weir__reader *r, uint64_t range_bytes) {
  size_t cap = r->nobjs ? r->nobjs : 1;
  r->tasks = malloc(cap * sizeof *r->tasks);
  if (!r->tasks) return WEIR_ENOMEM;
  for (size_t i = 0; i < r->nobjs; i++) {
    uint64_t size = r->objs[i].size;
    int split = range_bytes &&
                weir__codec_from_name(r->objs[i].uri) == WEIR__CODEC_NONE &&
                size != UINT64_MAX && size > range_bytes;
    uint64_t step = split ? range_bytes : (size ? size : 1);
    uint64_t pieces = split ? (size + step - 1) / step : 1;
    if (r->ntasks + pieces > cap) {
      while (r->ntasks + pieces > cap) cap *= 2;
      weir__read_task *t = realloc(r->tasks, cap * sizeof *t);
      if (!t) return WEIR_ENOMEM;
      r->tasks = t;
    }
    for (uint64_t k = 0; k < pieces; k++) {
      weir__read_task *t = &r->tasks[r->ntasks++];
      t->obj = i;
      t->offset = split ? k * step : 0;
      t->length = split ? (k + 1 == pieces ? size - t->offset : step)
                        : UINT64_MAX;
    }
  }
  return WEIR_OK;
}

/* The names a reader takes from a folder or prefix: the format's
 * suffixes, each alone or with a compression suffix. NULL = every file:
 * any file is lines of text (.txt, .md, .log, source code...) or bytes. */
static const char *const *format_suffixes(const char *kind) {
  static const char *const jsonl[] = {".jsonl", ".ndjson", ".json", NULL};
  static const char *const csv[] = {".csv", ".tsv", NULL};
  static const char *const blocks[] = {".weir", NULL};
  static const char *const parquet[] = {".parquet", NULL};
  if (!strcmp(kind, "parquet")) return parquet;
  if (!strcmp(kind, "jsonl")) return jsonl;
  if (!strcmp(kind, "csv")) return csv;
  if (!strcmp(kind, "blocks")) return blocks;
  return NULL;
}

static int fits_format(const char *name, const char *const *sfx) {
  static const char *const codecs[] = {"", ".zst", ".zstd", ".gz"};
  size_t n = strlen(name);
  for (; *sfx; sfx++)
    for (size_t c = 0; c < sizeof codecs / sizeof *codecs; c++) {
      size_t a = strlen(*sfx), b = strlen(codecs[c]);
      if (n > a + b && strncasecmp(name + n - a - b, *sfx, a) == 0 &&
          strcasecmp(name + n - b, codecs[c]) == 0)
        return 1;
    }
  return 0;
}

/* A folder or prefix keeps the files whose suffix fits the format (as the
 * media readers do): a folder of .jsonl.zst is not CSV. A file named on
 * its own, or a glob, is taken as given. Returns the files dropped. */
static size_t keep_format(weir__reader *r, const char *uri) {
  const char *const *sfx = format_suffixes(r->kind);
  /* A list of inputs names each one: taken as given, like a file. */
  if (!sfx || strpbrk(uri, "*?[") || weir__vfs_is_url_list(uri)) return 0;
  const char *plain = strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri;
  if (r->nobjs == 1 && (!strcmp(r->objs[0].uri, uri) || !strcmp(r->objs[0].uri, plain)))
    return 0;
  size_t k = 0;
  for (size_t i = 0; i < r->nobjs; i++) {
    if (fits_format(r->objs[i].uri, sfx))
      r->objs[k++] = r->objs[i];
    else
      free(r->objs[i].uri);
  }
  size_t dropped = r->nobjs - k;
  r->nobjs = k;
  return dropped;
}

static void suffix_list(char *buf, size_t len, const char *kind) {
  const char *const *sfx = format_suffixes(kind);
  buf[0] = 0;
  for (size_t i = 0; sfx && sfx[i]; i++) {
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s%s", i ? ", " : "", sfx[i]);
  }
}

int weir__reader_create(weir__reader **out, const char *kind, const char *uri,
                        const weir_read_options *o, int ranges, char *err,
                        size_t errlen) {
  *out = NULL;
  weir_read_options def = {.version = WEIR_READ_OPTIONS_VERSION};
  if (!o) o = &def;
  /* Like every other options struct: a version this library does not
   * know is refused, not read as if it were this one. */
  if (o->version != WEIR_READ_OPTIONS_VERSION) {
    snprintf(err, errlen, "read options: unknown version %u", o->version);
    return WEIR_EINVAL;
  }
  if (!uri || !*uri) {
    snprintf(err, errlen, "empty uri");
    return WEIR_EINVAL;
  }
  weir__reader *r = calloc(1, sizeof *r);
  if (!r) return WEIR_ENOMEM;
  pthread_mutex_init(&r->mu, NULL);
  r->kind = kind;
  /* A few idle chunk buffers: enough for the chunks in flight between the
   * reading and the parsing workers to come back warm. */
  r->pool = weir__bufpool_create(2);
  if (!r->pool) {
    weir__reader_free(r);
    return WEIR_ENOMEM;
  }
  r->o = *o;
  r->o.columns = NULL;
  int rc = weir__io_config_copy_s3(&r->cfg, o->s3_endpoint, o->s3_region,
                                   o->s3_access_key, o->s3_secret_key);
  if (rc == WEIR_OK && o->columns && !(r->o.columns = strdup(o->columns)))
    rc = WEIR_ENOMEM;
  r->o.s3_endpoint = r->cfg.s3_endpoint;
  r->o.s3_region = r->cfg.s3_region;
  r->o.s3_access_key = r->cfg.s3_access_key;
  r->o.s3_secret_key = r->cfg.s3_secret_key;
  if (rc != WEIR_OK) {
    weir__reader_free(r);
    return rc;
  }
  if (o->max_retries < WEIR_RETRIES_NONE) {
    snprintf(err, errlen, "max_retries %d: use a count, 0 for the default (5) or "
             "WEIR_RETRIES_NONE (-1)", o->max_retries);
    weir__reader_free(r);
    return WEIR_EINVAL;
  }
  r->cfg.max_requests = o->max_requests;
  r->cfg.max_retries = o->max_retries;
  if (weir__io_config_timeouts(&r->cfg, o->connect_timeout, o->first_byte_timeout,
                               o->low_speed_seconds, o->low_speed_bytes, err,
                               errlen) != WEIR_OK) {
    weir__reader_free(r);
    return WEIR_EINVAL;
  }
  r->rows_per_block = o->rows_per_block ? o->rows_per_block : 8192;
  r->chunk_bytes = WEIR__CHUNK_MAX_BYTES;
  if (o->target_block_bytes && o->target_block_bytes < r->chunk_bytes)
    r->chunk_bytes = o->target_block_bytes;
  r->infer_rows = o->infer_rows ? o->infer_rows : 1000;
  if (o->on_error != WEIR_ON_ERROR_FAIL && o->on_error != WEIR_ON_ERROR_SKIP) {
    snprintf(err, errlen, "unknown on_error %d (WEIR_ON_ERROR_FAIL or WEIR_ON_ERROR_SKIP)",
             o->on_error);
    weir__reader_free(r);
    return WEIR_EINVAL;
  }
  if (r->o.columns) {
    /* A bad spec fails when the reader is made, not in the middle of a
     * run. */
    weir__schema check;
    rc = weir__schema_parse(r->o.columns, &check, err, errlen);
    if (rc != WEIR_OK) {
      weir__reader_free(r);
      return rc;
    }
    weir__schema_free(&check);
  }
  rc = weir__vfs_list(uri, &r->cfg, &r->objs, &r->nobjs, err, errlen);
  size_t dropped = rc == WEIR_OK ? keep_format(r, uri) : 0;
  if (rc == WEIR_OK && r->nobjs == 0 && dropped) {
    char sl[128];
    suffix_list(sl, sizeof sl, kind);
    snprintf(err, errlen, "%s: no input matches: %zu files, none ending in %s (with .zst or "
             ".gz or not); name a file or a glob to read others", uri, dropped, sl);
    rc = WEIR_ENOTFOUND;
  } else if (rc == WEIR_OK && r->nobjs == 0) {
    /* A pattern or folder that names nothing is almost always a mistake;
     * an empty result would look like success with no data. */
    snprintf(err, errlen, "%s: no input matches", uri);
    rc = WEIR_ENOTFOUND;
  }
  if (rc != WEIR_OK) {
    weir__reader_free(r);
    return rc;
  }
  if (r->nobjs && !(r->malformed = calloc(r->nobjs, sizeof *r->malformed))) {
    weir__reader_free(r);
    return WEIR_ENOMEM;
  }
  rc = cut_tasks(r, ranges ? o->range_bytes : 0);
  if (rc != WEIR_OK) {
    weir__reader_free(r);
    return rc;
  }
  *out = r;
  return WEIR_OK;
}

/* A read task for a writer's manifest: its input (a URL's query string,
 * which presigned URLs change, left out), the input's size, and its byte
 * range. */
static int describe_task(void *arg, size_t task, char *buf, size_t n) {
  const weir__reader *r = arg;
  if (task >= r->ntasks)
    return WEIR_EINVAL;
  const weir__read_task *t = &r->tasks[task];
  const weir__object *o = &r->objs[t->obj];
  int k = snprintf(buf, n, "%s", o->uri);
  if (k < 0 || (size_t)k >= n)
    return WEIR_ENOMEM;
  if (weir__vfs_is_remote(buf))
    weir__redact_urls(buf, n);
  size_t len = strlen(buf);
  char range[48];
  if (t->length == UINT64_MAX)
    snprintf(range, sizeof range, "all");
  else
    snprintf(range, sizeof range, "%llu+%llu", (unsigned long long)t->offset,
             (unsigned long long)t->length);
  k = snprintf(buf + len, n - len, " size %llu range %s", (unsigned long long)o->size, range);
  return k < 0 || (size_t)k >= n - len ? WEIR_ENOMEM : WEIR_OK;
}

weir_op *weir__reader_source(weir_pipeline *p, weir__reader *r,
                             const char *name, weir_read_fn fn) {
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  so.max_workers = r->max_tasks;
  weir_op *op = weir_source(p, name, r->ntasks, fn, r, &so);
  if (!op) {
    weir__reader_free(r);
    return NULL;
  }
  weir__op_set_cleanup(op, weir__reader_free, r);
  weir__op_set_describe(op, describe_task, r);
  weir__reader_watch(r, op);
  return op;
}

int weir__reader_workers(const weir_pipeline *p, const weir__reader *r, size_t chunks) {
  /* A chunk is at least the pipeline's block size when rows are long. */
  size_t chunk = r->chunk_bytes > p->block_bytes ? r->chunk_bytes : p->block_bytes;
  size_t n = p->budget / (chunks * chunk);
  if (n < 1) n = 1;
  return n >= 64 ? 0 : (int)n;
}

weir_op *weir__reader_op(weir_pipeline *p, const char *kind, const char *name,
                         const char *uri, const weir_read_options *o,
                         int ranges, weir_read_fn fn, weir__reader **r_out) {
  char err[512] = "";
  weir__reader *r;
  if (r_out) *r_out = NULL;
  if (!p) return weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", name);
  int rc = weir__reader_create(&r, kind, uri, o, ranges, err, sizeof err);
  if (rc != WEIR_OK) return weir__op_fail(p, rc, "%s: %s", name, err);
  /* Without an option of its own the reader follows the pipeline's block
   * size, so a small budget gets small blocks of long lines. */
  if (!(o && o->target_block_bytes) && weir_pipeline_block_bytes(p) < r->chunk_bytes)
    r->chunk_bytes = weir_pipeline_block_bytes(p);
  r->max_tasks = weir__reader_workers(p, r, 8);
  /* Chunk buffers come back warm for reuse, but not the ones a long record
   * grew: those would sit idle outside the budget. */
  weir__bufpool_set_max_cap(r->pool, 2 * r->chunk_bytes + 4096);
  /* Idle buffers are memory the budget does not count: at most a block's
   * worth (two chunks under a large budget, fewer under a small one). */
  size_t idle = weir_pipeline_block_bytes(p), one = 2 * r->chunk_bytes + 4096;
  weir__bufpool_set_max_idle(r->pool, idle > one ? idle : one);
  weir_op *src = weir__reader_source(p, r, name, fn);
  if (src && r_out) *r_out = r;
  return src;
}

int weir__reader_schema_once(weir__reader *r, int (*fix)(weir__reader *r)) {
  pthread_mutex_lock(&r->mu);
  if (!r->schema_done) {
    r->schema_rc = fix(r);
    r->schema_done = 1;
  }
  int rc = r->schema_rc;
  pthread_mutex_unlock(&r->mu);
  return rc;
}

int weir__reader_open_task(weir__reader *r, size_t task, int csv,
                           weir_ctx *ctx, weir__chunker **out) {
  const weir__read_task *t = &r->tasks[task];
  const char *uri = r->objs[t->obj].uri;
  char err[512] = "";
  *out = NULL;
  /* A small uncompressed file needs a buffer of its size, not a chunk's:
   * many small files then reuse small buffers instead of mapping and
   * unmapping a megabyte each. */
  int codec = weir__codec_from_name(uri);
  uint64_t size = r->objs[t->obj].size;
  size_t max_bytes = r->chunk_bytes;
  if (codec == WEIR__CODEC_NONE && size != UINT64_MAX && size + 64 < max_bytes)
    max_bytes = (size_t)size + 64;
  int rc = weir__chunker_open(uri, &r->cfg, codec,
                              t->offset, t->length, r->rows_per_block,
                              max_bytes, csv, r->pool, out, err,
                              sizeof err);
  if (rc == WEIR_OK) return WEIR_OK;
  *out = NULL;
  if (r->o.on_error == WEIR_ON_ERROR_SKIP && rc != WEIR_ENOMEM) {
    weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping unreadable input: %s", err);
    weir_ctx_count_skipped_input(ctx);
    return WEIR_OK;
  }
  weir_ctx_set_errmsg(ctx, "%s", err);
  return rc;
}

int weir__reader_skips_rest(const weir__reader *r, int rc) {
  return r->o.on_error == WEIR_ON_ERROR_SKIP &&
         (rc == WEIR_EFORMAT || rc == WEIR_EIO);
}

int weir__reader_next_chunk(weir__chunker *ch, weir_ctx *ctx, weir__chunk *c) {
  if (weir_ctx_cancelled(ctx)) return WEIR_ECANCELED;
  int rc = weir__chunker_next(ch, c);
  if (rc < 0) weir_ctx_set_errmsg(ctx, "%s", weir__chunker_errmsg(ch));
  return rc;
}

static int read_chunks(weir__reader *r, size_t task, weir_emit *out, int csv) {
  weir_ctx *ctx = weir_emit_ctx(out);
  /* The columns are inferred from the first chunks before any task reads
   * its own: otherwise the sources fill the budget with chunks while the
   * first parser reads the same files again to infer, and both are
   * resident at once (64 MiB past the budget with 16 MiB rows at a
   * 256 MiB budget). Its result is the parser's to report. */
  if (r->schema_fix)
    (void)weir__reader_schema_once(r, r->schema_fix);
  weir__chunker *ch;
  int rc = weir__reader_open_task(r, task, csv, ctx, &ch);
  if (!ch) return rc;
  size_t obj = r->tasks[task].obj;
  weir__chunk c;
  /* The buffer being filled is counted before it is read into (working
   * bytes, exec_internal.h), waiting for room as the emit would: left
   * uncounted, every reading worker's buffer came on top of a full
   * budget. The chunk's block takes the count over. */
  for (;;) {
    size_t want = weir__chunker_buffer_bytes(ch);
    if (want < r->chunk_bytes) want = r->chunk_bytes;
    rc = weir__emit_hold_to(out, want, 1);
    if (rc == WEIR_OK) rc = weir__reader_next_chunk(ch, ctx, &c);
    if (rc <= 0) break;
    weir_block *b;
    /* The chunk and the buffer the chunker goes on with (grown for a long
     * record, or a fresh one) are both counted while the chunk's block
     * may wait for room. */
    size_t both = c.len + weir__chunker_buffer_bytes(ch);
    if (both > out->held) weir__emit_hold_to(out, both, 0);
    rc = weir__chunk_block(&c, obj, &b);
    if (rc == WEIR_OK) rc = weir_emit_block(out, b);
    /* The next buffer (the start of the next record is in it) stays
     * counted without a gap. */
    if (rc == WEIR_OK) rc = weir__emit_hold_to(out, weir__chunker_buffer_bytes(ch), 0);
    if (rc != WEIR_OK) break;
  }
  if (weir__reader_skips_rest(r, rc)) {
    /* A corrupt or truncated input: the rows before the damage went out;
     * what follows cannot be read, so the input is counted as given up. */
    weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping the rest of %s: %s", r->objs[obj].uri,
                 weir__chunker_errmsg(ch));
    weir_ctx_count_skipped_input(ctx);
    rc = WEIR_OK;
  }
  weir__chunker_close(ch);
  return rc;
}

int weir__read_chunks_lines(void *user, size_t task, weir_emit *out) {
  return read_chunks(user, task, out, 0);
}

int weir__read_chunks_csv(void *user, size_t task, weir_emit *out) {
  return read_chunks(user, task, out, 1);
}

void weir__where(char *buf, size_t len, const char *uri, uint64_t line,
                 uint64_t offset) {
  if (line)
    snprintf(buf, len, "%s:%llu", uri, (unsigned long long)line);
  else
    snprintf(buf, len, "%s (line at byte offset %llu)", uri,
             (unsigned long long)offset);
}

int weir__reader_malformed(weir__reader *r, weir_ctx *ctx, size_t obj,
                           uint64_t line, uint64_t offset, const char *why,
                           uint64_t *skipped) {
  char where[600];
  weir__where(where, sizeof where, r->objs[obj].uri, line, offset);
  if (r->o.on_error != WEIR_ON_ERROR_SKIP) {
    weir_ctx_set_errmsg(ctx, "%s: %s", where, why);
    return WEIR_EFORMAT;
  }
  pthread_mutex_lock(&r->mu);
  uint64_t n = r->malformed ? ++r->malformed[obj] : 1;
  pthread_mutex_unlock(&r->mu);
  /* Every one up to a limit per file, so a few bad lines are all seen and
   * a broken file cannot flood the log; the rest come as one count. */
  if (n <= WEIR__MALFORMED_LOGGED)
    weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping %s: %s", where, why);
  (*skipped)++;
  return WEIR_OK;
}

static void report_more(void *arg, weir_op *op) {
  weir__reader *r = arg;
  pthread_mutex_lock(&r->mu);
  for (size_t i = 0; r->malformed && i < r->nobjs; i++) {
    if (r->malformed[i] > WEIR__MALFORMED_LOGGED)
      weir__log(op->p, WEIR_LOG_WARN, "%s: %s: %llu more malformed rows skipped (%llu in all)",
                op->name, r->objs[i].uri,
                (unsigned long long)(r->malformed[i] - WEIR__MALFORMED_LOGGED),
                (unsigned long long)r->malformed[i]);
    r->malformed[i] = 0; /* a run again counts afresh */
  }
  pthread_mutex_unlock(&r->mu);
}

void weir__reader_watch(weir__reader *r, weir_op *op) {
  if (r && op) weir__op_set_run_end(op, report_more, r);
}

int weir__path_column(weir__colacc *acc, const char *uri, weir_block *b,
                      weir_block **out) {
  size_t rows = weir_block_num_rows(b), len = strlen(uri);
  for (size_t i = 0; i < rows; i++) {
    if (weir__colacc_grow(acc) || weir__colacc_push_string(acc, uri, len)) {
      weir_block_unref(&b);
      return WEIR_ENOMEM;
    }
  }
  weir_block *pb, *nb;
  int rc = weir__colacc_finish(acc, 1, &pb);
  if (rc == WEIR_OK) {
    rc = weir_block_add_columns(b, pb, &nb);
    weir_block_unref(&pb);
  }
  weir_block_unref(&b);
  *out = rc == WEIR_OK ? nb : NULL;
  return rc;
}
