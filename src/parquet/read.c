/* weir_read_parquet: footers read when the op is made, a read task per row
 * group, only the chosen column chunks fetched (one ranged read each),
 * row groups skipped by their statistics, rows filtered, and damage
 * reported with file, row group, column and page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/parquet.h"
#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "io/reader.h"
#include "parquet/filter.h"
#include "parquet/hive.h"
#include "parquet/parquet_internal.h"

typedef struct pq_file {
  pq_file_meta meta;
  pq_leaf *leaves;     /* the columns decoded: chosen + filter's */
  size_t nleaves;
  int bad;             /* the footer could not be read: its error */
  char err[600];
} pq_file;

typedef struct pq_task { size_t file; long rg; } pq_task;

typedef struct pq_state {
  pq_file *files;
  size_t nfiles;
  pq_task *tasks;
  char **want;         /* the chosen columns, or NULL for all */
  size_t nwant;
  pq_filter filter;
  int have_filter;
  size_t rows_per_block;
  size_t block_bytes;  /* the pipeline's target block size */
  pq_hive hive;        /* partition keys from key=value folders */
} pq_state;

static void state_free(void *arg) {
  pq_state *s = arg;
  if (!s) return;
  for (size_t i = 0; i < s->nfiles; i++) {
    weir__pq_meta_free(&s->files[i].meta);
    free(s->files[i].leaves);
  }
  free(s->files);
  free(s->tasks);
  for (size_t i = 0; i < s->nwant; i++) free(s->want[i]);
  free(s->want);
  weir__pq_filter_free(&s->filter);
  weir__pq_hive_free(&s->hive);
  free(s);
}

/* Reads exactly n bytes at `offset` of `uri`. */
static int read_range_cfg(const weir__io_config *cfg, const char *uri, uint64_t offset,
                          size_t n, uint8_t *buf, char *err, size_t errlen) {
  weir__rstream *s;
  int rc = weir__rstream_open(uri, cfg, offset, n, &s, err, errlen);
  if (rc) return rc;
  size_t got = 0;
  while (got < n) {
    long k = weir__rstream_read(s, buf + got, n - got);
    if (k < 0) {
      snprintf(err, errlen, "%s", weir__rstream_errmsg(s));
      weir__rstream_close(s);
      return (int)k;
    }
    if (k == 0) break;
    got += (size_t)k;
  }
  weir__rstream_close(s);
  if (got != n) {
    snprintf(err, errlen, "truncated file: %zu of %zu bytes at offset %llu", got, n,
             (unsigned long long)offset);
    return WEIR_EFORMAT;
  }
  return WEIR_OK;
}

static int read_range(const weir__reader *r, const char *uri, uint64_t offset, size_t n,
                      uint8_t *buf, char *err, size_t errlen) {
  return read_range_cfg(&r->cfg, uri, offset, n, buf, err, errlen);
}

int weir__pq_read_footer(const weir__io_config *cfg, const char *uri, uint64_t size,
                         pq_file_meta *m, char *err, size_t errlen) {
  if (size == UINT64_MAX) {
    snprintf(err, errlen, "the size of the file is unknown (the server gave none)");
    return WEIR_EIO;
  }
  if (size < 12) {
    snprintf(err, errlen, "not a Parquet file: %llu bytes are too few", (unsigned long long)size);
    return WEIR_EFORMAT;
  }
  uint8_t tail[8], head[4];
  int rc = read_range_cfg(cfg, uri, size - 8, 8, tail, err, errlen);
  if (!rc) rc = read_range_cfg(cfg, uri, 0, 4, head, err, errlen);
  if (rc) return rc;
  if (memcmp(tail + 4, "PAR1", 4) || memcmp(head, "PAR1", 4)) {
    snprintf(err, errlen, "not a Parquet file (bad magic%s)",
             memcmp(tail + 4, "PARE", 4) ? "" : ": encrypted footers are not supported");
    return WEIR_EFORMAT;
  }
  uint32_t flen;
  memcpy(&flen, tail, 4);
  if ((uint64_t)flen > size - 12) {
    snprintf(err, errlen, "corrupt footer: its length %u is beyond the file", flen);
    return WEIR_EFORMAT;
  }
  uint8_t *buf = malloc(flen ? flen : 1);
  if (!buf) return WEIR_ENOMEM;
  rc = read_range_cfg(cfg, uri, size - 8 - flen, flen, buf, err, errlen);
  if (rc) {
    free(buf);
    return rc;
  }
  return weir__pq_meta_parse(buf, flen, size - 8 - flen, m, err, errlen);
}

static int same_columns(const pq_file *a, const pq_file *b) {
  if (a->nleaves != b->nleaves) return 0;
  for (size_t i = 0; i < a->nleaves; i++)
    if (strcmp(a->leaves[i].name, b->leaves[i].name) || a->leaves[i].type != b->leaves[i].type ||
        a->leaves[i].dtype != b->leaves[i].dtype)
      return 0;
  return 1;
}

static int split_columns(pq_state *s, const char *cols, const pq_filter *f) {
  const char *p = cols;
  while (p && *p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    while (n && (*p == ' ')) { p++; n--; }
    while (n && p[n - 1] == ' ') n--;
    if (n) {
      char **w = realloc(s->want, (s->nwant + 1) * sizeof *w);
      if (!w) return WEIR_ENOMEM;
      s->want = w;
      if (!(s->want[s->nwant++] = strndup(p, n))) return WEIR_ENOMEM;
    }
    p = e ? e + 1 : NULL;
  }
  /* The filter's columns are decoded too (and dropped after filtering). */
  for (size_t i = 0; f && i < f->n; i++) {
    int have = 0;
    for (size_t k = 0; k < s->nwant; k++) have |= !strcmp(s->want[k], f->conds[i].column);
    if (have) continue;
    char **w = realloc(s->want, (s->nwant + 1) * sizeof *w);
    if (!w) return WEIR_ENOMEM;
    s->want = w;
    if (!(s->want[s->nwant++] = strdup(f->conds[i].column))) return WEIR_ENOMEM;
  }
  return WEIR_OK;
}

static int chosen(const char *name, const char *cols) {
  if (!cols) return 1;
  size_t n = strlen(name);
  const char *p = cols;
  while (*p) {
    while (*p == ' ') p++;
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    while (len && p[len - 1] == ' ') len--;
    if (len == n && !memcmp(p, name, n)) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

/* Keeps the filter's matching rows and drops the columns that only the
 * filter needed. */
static int apply_filter(pq_state *s, const weir_parquet_read_options *o, weir_block **bp,
                        char *err, size_t errlen) {
  weir_block *b = *bp;
  size_t rows = weir_block_num_rows(b);
  uint8_t *keep = malloc(rows ? rows : 1);
  uint32_t *idx = malloc((rows ? rows : 1) * sizeof *idx);
  int rc = keep && idx ? WEIR_OK : WEIR_ENOMEM;
  if (!rc) rc = weir__pq_filter_rows(&s->filter, b, keep, err, errlen);
  size_t n = 0;
  for (size_t i = 0; !rc && i < rows; i++)
    if (keep[i]) idx[n++] = (uint32_t)i;
  weir_block *nb = NULL;
  if (!rc && n != rows) {
    rc = weir_block_take(b, idx, n, &nb);
    if (!rc) {
      weir_block_unref(&b);
      b = nb;
    }
  }
  if (!rc && o->columns) {
    size_t *sel = malloc((b->num_columns ? b->num_columns : 1) * sizeof *sel), ns = 0;
    if (!sel) rc = WEIR_ENOMEM;
    for (size_t c = 0; !rc && c < b->num_columns; c++)
      if (chosen(b->cols[c].name, o->columns)) sel[ns++] = c;
    if (!rc && ns != b->num_columns) {
      rc = weir_block_select(b, sel, ns, &nb);
      if (!rc) {
        weir_block_unref(&b);
        b = nb;
      }
    }
    free(sel);
  }
  free(keep);
  free(idx);
  *bp = b;
  return rc;
}

typedef struct pq_op {
  weir__reader *r;
  pq_state *s;
  weir_parquet_read_options o;
  char *columns, *filter;
} pq_op;

/* A partition key's column is added when chosen or filtered on (the
 * filter drops the columns only it needed). */
static int want_key(const char *name, void *arg) {
  const pq_op *po = arg;
  if (!po->o.columns || chosen(name, po->o.columns)) return 1;
  for (size_t i = 0; po->s->have_filter && i < po->s->filter.n; i++)
    if (!strcmp(po->s->filter.conds[i].column, name)) return 1;
  return 0;
}

/* 0 when a filter on file `fi`'s partition values rules all its rows out. */
static int file_may_match(const pq_state *s, size_t fi) {
  if (!s->have_filter) return 1;
  const pq_hive *h = &s->hive;
  for (size_t k = 0; k < h->nkeys; k++)
    if (!weir__pq_filter_const_may_match(&s->filter, h->keys[k].name,
                                         h->vals[fi * h->nkeys + k], h->keys[k].is_int,
                                         h->ivals[fi * h->nkeys + k]))
      return 0;
  return 1;
}

typedef struct fetch_arg {
  const weir__reader *r;
  const char *uri;
  uint64_t start;      /* the chunk's first byte in the file */
} fetch_arg;

static int fetch_range(void *arg, uint64_t off, size_t n, uint8_t *buf, char *err,
                       size_t errlen) {
  const fetch_arg *a = arg;
  return read_range(a->r, a->uri, a->start + off, n, buf, err, errlen);
}

/* One block of rows out: partition columns, the filter, the path. */
static int finish_block(pq_op *po, size_t fi, weir_block **bp, char *err, size_t errlen) {
  pq_state *s = po->s;
  const char *uri = po->r->objs[fi].uri;
  int rc = WEIR_OK;
  if (s->hive.nkeys) {
    rc = weir__pq_hive_add(&s->hive, fi, want_key, po, bp);
    if (rc) snprintf(err, errlen, "%s: out of memory adding partition columns", uri);
  }
  if (!rc && s->have_filter) {
    char why[600] = "";
    rc = apply_filter(s, &po->o, bp, why, sizeof why);
    if (rc) snprintf(err, errlen, "%s: %s", uri, why);
  }
  if (!rc && po->o.include_path && weir_block_column_index(*bp, "path") < 0) {
    weir__colacc acc;
    if (weir__colacc_init(&acc, "path", WEIR_TYPE_STRING)) return WEIR_ENOMEM;
    rc = weir__path_column(&acc, uri, *bp, bp);
    weir__colacc_free(&acc);
  }
  return rc;
}

/* Reads row group `rg` of file `fi` a block at a time: each column chunk
 * is read page by page (pq_col), so a row group far larger than the
 * memory budget streams through in blocks of about the pipeline's block
 * size. A failure to emit (the run ending) is `*emit_rc`. */
static int read_row_group(pq_op *po, size_t fi, size_t rg, weir_emit *out, int *emit_rc,
                          char *err, size_t errlen) {
  weir__reader *r = po->r;
  pq_state *s = po->s;
  pq_file *f = &s->files[fi];
  const char *uri = r->objs[fi].uri;
  const pq_row_group *g = &f->meta.rgs[rg];
  int64_t rows = g->num_rows;
  pq_col **cols = calloc(f->nleaves ? f->nleaves : 1, sizeof *cols);
  fetch_arg *fa = calloc(f->nleaves ? f->nleaves : 1, sizeof *fa);
  int rc = cols && fa ? WEIR_OK : WEIR_ENOMEM;
  uint64_t ubytes = 0;
  for (size_t k = 0; k < f->nleaves && !rc; k++) {
    const pq_chunk *ch = &g->chunks[f->leaves[k].chunk_idx];
    int64_t start = ch->dict_page_offset >= 0 && ch->dict_page_offset < ch->data_page_offset
                        ? ch->dict_page_offset : ch->data_page_offset;
    fa[k] = (fetch_arg){r, uri, (uint64_t)start};
    ubytes += (uint64_t)(ch->total_uncompressed > 0 ? ch->total_uncompressed : 0);
    rc = weir__pq_col_open(&f->leaves[k], ch, rows, NULL, fetch_range, &fa[k], &cols[k]);
  }
  /* Rows a block: the budget's block size over the bytes a row takes,
   * guessed from the uncompressed sizes, then measured. */
  int64_t step = (int64_t)s->rows_per_block;
  if (ubytes && rows) {
    uint64_t per_row = ubytes / (uint64_t)rows + 1, fit = s->block_bytes / per_row;
    if ((uint64_t)step > fit) step = fit ? (int64_t)fit : 1;
  }
  int64_t at = 0;
  do {
    if (rc) break;
    int64_t n = rows - at < step ? rows - at : step;
    weir_block *b = weir__block_alloc(f->nleaves, (size_t)n);
    if (!b) {
      rc = WEIR_ENOMEM;
      break;
    }
    for (size_t k = 0; k < f->nleaves && !rc; k++) {
      const pq_leaf *l = &f->leaves[k];
      char why[600] = "";
      b->cols[k].name = strdup(l->name);
      rc = b->cols[k].name ? weir__pq_col_take(cols[k], n, &b->cols[k], why, sizeof why)
                           : WEIR_ENOMEM;
      if (rc) snprintf(err, errlen, "%s: row group %zu, column '%s': %s", uri, rg, l->name, why);
    }
    if (rc) {
      weir_block_unref(&b);
      break;
    }
    weir__block_seal(b);
    size_t nb = weir_block_nbytes(b);
    rc = finish_block(po, fi, &b, err, errlen);
    if (!rc) {
      rc = weir_emit_block(out, b);
      *emit_rc = rc;
    } else {
      weir_block_unref(&b);
    }
    at += n;
    if (n && nb) {
      uint64_t per_row = nb / (uint64_t)n + 1, fit = s->block_bytes / per_row;
      step = (int64_t)s->rows_per_block;
      if ((uint64_t)step > fit) step = fit ? (int64_t)fit : 1;
    }
  } while (at < rows && !rc);
  for (size_t k = 0; cols && k < f->nleaves; k++) weir__pq_col_close(cols[k]);
  free(cols);
  free(fa);
  return rc;
}

static int pq_task_fn(void *user, size_t task, weir_emit *out) {
  pq_op *po = user;
  weir__reader *r = po->r;
  pq_state *s = po->s;
  weir_ctx *ctx = weir_emit_ctx(out);
  const pq_task *t = &s->tasks[task];
  pq_file *f = &s->files[t->file];
  const char *uri = r->objs[t->file].uri;
  char err[1200] = "";
  int rc, emit_rc = WEIR_OK;
  if (weir_ctx_cancelled(ctx)) return WEIR_ECANCELED;
  if (f->bad) {
    rc = f->bad;
    snprintf(err, sizeof err, "%s: %s", uri, f->err);
  } else {
    rc = read_row_group(po, t->file, (size_t)t->rg, out, &emit_rc, err, sizeof err);
    if (emit_rc) return emit_rc;
  }
  if (rc) {
    if (weir__reader_skips_rest(r, rc) || (r->o.on_error == WEIR_ON_ERROR_SKIP && f->bad &&
                                            rc != WEIR_ENOMEM)) {
      weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping %s", err);
      weir_ctx_count_skipped_input(ctx);
      return WEIR_OK;
    }
    weir_ctx_set_errmsg(ctx, "%s", err);
    return rc;
  }
  return WEIR_OK;
}

static void pq_op_free(void *arg) {
  pq_op *po = arg;
  if (!po) return;
  weir__reader_free(po->r);
  state_free(po->s);
  free(po->columns);
  free(po->filter);
  free(po);
}

weir_op *weir_read_parquet(weir_pipeline *p, const char *uri,
                           const weir_parquet_read_options *o) {
  static const char *name = "read_parquet";
  if (!p) return weir__op_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", name);
  weir_parquet_read_options def = {.version = WEIR_PARQUET_READ_OPTIONS_VERSION};
  if (!o) o = &def;
  if (o->version != WEIR_PARQUET_READ_OPTIONS_VERSION)
    return weir__op_fail(p, WEIR_EINVAL, "%s: unknown options version %u", name, o->version);
  weir_read_options ro = {.version = WEIR_READ_OPTIONS_VERSION,
                          .on_error = o->on_error,
                          .max_requests = o->max_requests,
                          .max_retries = o->max_retries,
                          .s3_endpoint = o->s3_endpoint,
                          .s3_region = o->s3_region,
                          .s3_access_key = o->s3_access_key,
                          .s3_secret_key = o->s3_secret_key,
                          .include_path = o->include_path};
  char err[1400] = "";
  pq_op *po = calloc(1, sizeof *po);
  pq_state *s = calloc(1, sizeof *s);
  if (!po || !s) {
    free(po);
    free(s);
    return weir__op_fail(p, WEIR_ENOMEM, "%s: out of memory", name);
  }
  po->s = s;
  po->o = *o;
  int rc = weir__reader_create(&po->r, "parquet", uri, &ro, 0, err, sizeof err);
  weir__reader *r = po->r;
  if (!rc && o->columns && !(po->columns = strdup(o->columns))) rc = WEIR_ENOMEM;
  if (!rc && o->filter && !(po->filter = strdup(o->filter))) rc = WEIR_ENOMEM;
  po->o.columns = po->columns;
  po->o.filter = po->filter;
  po->o.s3_endpoint = po->o.s3_region = po->o.s3_access_key = po->o.s3_secret_key = NULL;
  if (!rc && o->filter) {
    rc = weir__pq_filter_parse(o->filter, &s->filter, err, sizeof err);
    s->have_filter = rc == WEIR_OK;
  }
  if (!rc && o->columns) rc = split_columns(s, o->columns, s->have_filter ? &s->filter : NULL);
  if (!rc && !o->columns && s->have_filter) s->nwant = 0; /* all columns hold the filter's */
  s->rows_per_block = o->rows_per_block ? o->rows_per_block : 65536;
  s->block_bytes = weir_pipeline_block_bytes(p);
  if (!s->block_bytes) s->block_bytes = (size_t)64 << 20;
  /* The listing keeps only .parquet names from a folder or prefix (no
   * _SUCCESS, .crc...): io's reader does that for the kind "parquet". */
  if (!rc) {
    s->files = calloc(r->nobjs ? r->nobjs : 1, sizeof *s->files);
    if (!s->files) rc = WEIR_ENOMEM;
    else s->nfiles = r->nobjs;
  }
  if (!rc && !o->no_hive_partitions && r->nobjs) {
    const char **uris = malloc(r->nobjs * sizeof *uris);
    if (!uris) rc = WEIR_ENOMEM;
    for (size_t i = 0; !rc && i < r->nobjs; i++) uris[i] = r->objs[i].uri;
    if (!rc) rc = weir__pq_hive_discover(uri, uris, r->nobjs, &s->hive, err, sizeof err);
    free(uris);
  }
  size_t ntasks = 0, first_good = SIZE_MAX;
  for (size_t i = 0; !rc && i < s->nfiles; i++) {
    pq_file *f = &s->files[i];
    char why[sizeof f->err] = ""; /* a file's message is kept in f->err */
    int frc = weir__pq_read_footer(&r->cfg, r->objs[i].uri, r->objs[i].size, &f->meta, why, sizeof why);
    if (!frc)
      frc = weir__pq_leaves(&f->meta, (const char *const *)s->want, s->nwant, &f->leaves,
                            &f->nleaves, why, sizeof why);
    if (frc == WEIR_ENOMEM) rc = frc;
    if (frc == WEIR_ENOTSUP) {
      /* A column weir cannot hold: refused when the op is made. */
      snprintf(err, sizeof err, "%s: %s", r->objs[i].uri, why);
      rc = frc;
    } else if (frc) {
      f->bad = frc;
      snprintf(f->err, sizeof f->err, "%s", why);
      ntasks++;
      continue;
    }
    if (rc) break;
    /* The chosen columns must all exist. */
    for (size_t k = 0; k < s->nwant && !rc; k++) {
      int found = 0;
      for (size_t j = 0; j < f->nleaves; j++) found |= !strcmp(f->leaves[j].name, s->want[k]);
      if (!found && weir__pq_hive_index(&s->hive, s->want[k]) >= 0) found = 1;
      if (!found) {
        snprintf(err, sizeof err, "%s: no column '%s'", r->objs[i].uri, s->want[k]);
        rc = WEIR_ENOTFOUND;
      }
    }
    for (size_t j = 0; j < f->nleaves && !rc; j++)
      if (weir__pq_hive_index(&s->hive, f->leaves[j].name) >= 0) {
        snprintf(err, sizeof err,
                 "%s: column '%s' is also a partition key of its folders (set "
                 "no_hive_partitions to read the file's column)",
                 r->objs[i].uri, f->leaves[j].name);
        rc = WEIR_EINVAL;
      }
    if (rc) break;
    if (first_good == SIZE_MAX) {
      first_good = i;
    } else if (!same_columns(&s->files[first_good], f)) {
      snprintf(err, sizeof err, "%s and %s have different columns (names or types)",
               r->objs[first_good].uri, r->objs[i].uri);
      rc = WEIR_EFORMAT;
      break;
    }
    ntasks += f->meta.nrgs;
  }
  if (!rc) {
    s->tasks = malloc((ntasks ? ntasks : 1) * sizeof *s->tasks);
    if (!s->tasks) rc = WEIR_ENOMEM;
  }
  size_t nt = 0;
  for (size_t i = 0; !rc && i < s->nfiles; i++) {
    pq_file *f = &s->files[i];
    if (s->hive.nkeys && !file_may_match(s, i)) continue;
    if (f->bad) {
      s->tasks[nt++] = (pq_task){i, -1};
      continue;
    }
    for (size_t g = 0; g < f->meta.nrgs; g++) {
      if (s->have_filter &&
          !weir__pq_filter_may_match(&s->filter, &f->meta, f->leaves, f->nleaves, g))
        continue;
      s->tasks[nt++] = (pq_task){i, (long)g};
    }
  }
  if (rc) {
    pq_op_free(po);
    return weir__op_fail(p, rc, "%s: %s", name, err);
  }
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  weir_op *op = weir_source(p, name, nt, pq_task_fn, po, &so);
  if (!op) {
    pq_op_free(po);
    return NULL;
  }
  weir__op_set_cleanup(op, pq_op_free, po);
  return op;
}
