/* weir_read_csv: RFC 4180 CSV (quoted fields with "" escapes and
 * newlines, a header row) through the same chunking source as JSONL, with
 * typed columns given or inferred from the first rows. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/io.h"
#include "core/block_internal.h"
#include "core/utf8.h"
#include "io/c_locale.h"
#include "io/chunker.h"
#include "io/codec.h"
#include "io/colacc.h"
#include "io/reader.h"
#include "exec/exec_internal.h"

/* One parsed field: its bytes (unescaped into scratch when quoted with
 * escapes), and whether it was quoted. */
typedef struct field {
  const char *p;
  size_t len;
  int quoted;
} field;

typedef struct record {
  field *f;
  size_t n, cap;
  char *scratch;       /* unescaped quoted fields */
  size_t slen, scap;
} record;

static void record_free(record *r) {
  free(r->f);
  free(r->scratch);
  memset(r, 0, sizeof *r);
}

/* Parses the record at `p` (ending before `end`, which is just past a
 * newline); returns the start of the next record, or NULL with `why` and
 * `*fail_at` (may be NULL) where the damage was found. */
static const char *parse_record_at(const char *p, const char *end, int delim,
                                   record *rec, const char **why,
                                   const char **fail_at) {
  rec->n = 0;
  rec->slen = 0;
  if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) p += 3; /* a BOM */
  /* Scratch big enough for every quoted field of the record. */
  if ((size_t)(end - p) > rec->scap) {
    size_t cap = (size_t)(end - p);
    char *s = realloc(rec->scratch, cap);
    if (!s) {
      *why = "out of memory";
      return NULL;
    }
    rec->scratch = s;
    rec->scap = cap;
  }
  for (;;) {
    if (rec->n == rec->cap) {
      size_t cap = rec->cap ? rec->cap * 2 : 32;
      field *f = realloc(rec->f, cap * sizeof *f);
      if (!f) {
        *why = "out of memory";
        return NULL;
      }
      rec->f = f;
      rec->cap = cap;
    }
    field *f = &rec->f[rec->n++];
    if (*p == '"') {
      p++;
      char *o = rec->scratch + rec->slen;
      f->p = o;
      f->quoted = 1;
      for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q) {
          *why = "unterminated quoted field";
          if (fail_at) *fail_at = p;
          return NULL;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        if (q + 1 < end && q[1] == '"') {
          *o++ = '"';
          p = q + 2;
          continue;
        }
        p = q + 1;
        break;
      }
      f->len = (size_t)(o - f->p);
      rec->slen += f->len;
      if (*p == '\r' && p + 1 < end && p[1] == '\n') p++;
      if (*p == delim) {
        p++;
        continue;
      }
      if (*p == '\n') return p + 1;
      *why = "text after a closing quote";
      if (fail_at) *fail_at = p;
      return NULL;
    }
    const char *s = p;
    while (*p != delim && *p != '\n') p++;
    f->p = s;
    f->len = (size_t)(p - s);
    f->quoted = 0;
    if (*p == '\n') {
      if (f->len && s[f->len - 1] == '\r') f->len--;
      return p + 1;
    }
    p++;
  }
}

static const char *parse_record(const char *p, const char *end, int delim,
                                record *rec, const char **why) {
  return parse_record_at(p, end, delim, rec, why, NULL);
}

/* ---- Types of text fields ------------------------------------------------ */

static int parse_int(const char *s, size_t len, int64_t *v) {
  char buf[32];
  if (len == 0 || len >= sizeof buf) return 0;
  memcpy(buf, s, len);
  buf[len] = 0;
  char *e;
  errno = 0;
  long long x = strtoll(buf, &e, 10);
  if (*e || errno || isspace((unsigned char)buf[0])) return 0;
  *v = x;
  return 1;
}

static int parse_float(const char *s, size_t len, double *v) {
  char buf[64];
  if (len == 0 || len >= sizeof buf) return 0;
  memcpy(buf, s, len);
  buf[len] = 0;
  char *e;
  double x = strtod_l(buf, &e, weir__c_locale());
  if (*e || isspace((unsigned char)buf[0])) return 0;
  *v = x;
  return 1;
}

static int parse_bool(const char *s, size_t len, int *v) {
  if (len == 4 && strncasecmp(s, "true", 4) == 0) return *v = 1, 1;
  if (len == 5 && strncasecmp(s, "false", 5) == 0) return *v = 0, 1;
  return 0;
}

static unsigned seen_of(const field *f) {
  if (!f->quoted && f->len == 0) return 0;
  int64_t i;
  double d;
  int b;
  if (!f->quoted) {
    if (parse_int(f->p, f->len, &i)) return WEIR__SEEN_INT;
    if (parse_float(f->p, f->len, &d)) return WEIR__SEEN_FLOAT;
    if (parse_bool(f->p, f->len, &b)) return WEIR__SEEN_BOOL;
  }
  return WEIR__SEEN_STRING;
}

/* ---- Columns -------------------------------------------------------------- */

typedef struct csv_extra {
  int **maps;          /* per file: schema column -> field index or -1 */
  size_t *nfields;     /* per file: fields in its header */
  unsigned char *bad;  /* per file: its header does not parse */
  size_t nfiles;
} csv_extra;

static void csv_extra_free(void *p) {
  csv_extra *x = p;
  if (!x) return;
  for (size_t i = 0; i < x->nfiles; i++) free(x->maps[i]);
  free(x->maps);
  free(x->nfields);
  free(x->bad);
  free(x);
}

static int delim_of(const weir__reader *r) {
  return r->o.csv_delimiter ? r->o.csv_delimiter : ',';
}

/* The first chunk of file `i`, holding up to `records` records. */
static int first_chunk(weir__reader *r, size_t i, size_t records,
                       weir__chunk *c) {
  weir__chunker *ch;
  const char *uri = r->objs[i].uri;
  int rc = weir__chunker_open(uri, &r->cfg, weir__codec_from_name(uri), 0,
                              UINT64_MAX, records, WEIR__CHUNK_MAX_BYTES, 1, NULL, &ch,
                              r->schema_err, sizeof r->schema_err);
  if (rc) return rc;
  rc = weir__chunker_next(ch, c);
  if (rc < 0)
    snprintf(r->schema_err, sizeof r->schema_err, "%s", weir__chunker_errmsg(ch));
  weir__chunker_close(ch);
  return rc < 0 ? rc : WEIR_OK;
}

/* Adds a column named by each field of `rec`, the header, or c0, c1...
 * for as many fields when the files have none. */
static int name_columns(weir__reader *r, const record *rec) {
  int rc = WEIR_OK;
  for (size_t k = 0; k < rec->n && rc == WEIR_OK; k++) {
    if (r->o.csv_no_header) {
      char nm[32];
      snprintf(nm, sizeof nm, "c%zu", k);
      rc = weir__schema_add(&r->schema, nm, strlen(nm), 0);
    } else {
      rc = weir__schema_add(&r->schema, rec->f[k].p, rec->f[k].len, 0);
    }
  }
  return rc;
}

/* Names the columns from the first record in [p, end) and types them from
 * the fields of the records. A record that does not parse ends the pass
 * early: the read pass reports it. */
static int infer_columns(weir__reader *r, const char *p, const char *end) {
  int delim = delim_of(r);
  record rec = {0};
  unsigned *seen = NULL; /* WEIR__SEEN_* of each column's fields */
  const char *why = NULL;
  int rc = WEIR_OK, first = 1;
  while (p < end) {
    const char *next = parse_record(p, end, delim, &rec, &why);
    if (!next) break;
    if (first) {
      first = 0;
      rc = name_columns(r, &rec);
      if (rc == WEIR_OK && !(seen = calloc(r->schema.n + 1, sizeof *seen)))
        rc = WEIR_ENOMEM;
      if (rc != WEIR_OK) break;
      if (!r->o.csv_no_header) { /* a header holds no values */
        p = next;
        continue;
      }
    }
    for (size_t k = 0; k < rec.n && k < r->schema.n; k++)
      seen[k] |= seen_of(&rec.f[k]);
    p = next;
  }
  for (size_t k = 0; seen && k < r->schema.n; k++)
    r->schema.types[k] = weir__schema_type_of(seen[k]);
  r->inferred = 1;
  free(seen);
  record_free(&rec);
  return rc;
}

/* Fixes the columns: names from the first file's header (or c0, c1...),
 * types from the `columns` option or the first rows. Runs once, through
 * weir__reader_schema_once. */
static int csv_schema(weir__reader *r) {
  int rc = WEIR_OK;
  csv_extra *x = calloc(1, sizeof *x);
  if (x) {
    r->extra = x; /* the reader frees it, whatever happens below */
    r->free_extra = csv_extra_free;
    x->nfiles = r->nobjs;
    x->maps = calloc(r->nobjs ? r->nobjs : 1, sizeof *x->maps);
    x->nfields = calloc(r->nobjs ? r->nobjs : 1, sizeof *x->nfields);
    x->bad = calloc(r->nobjs ? r->nobjs : 1, 1);
    if (!x->maps || !x->nfields || !x->bad) rc = WEIR_ENOMEM;
  } else {
    rc = WEIR_ENOMEM;
  }
  if (rc == WEIR_OK && r->o.columns)
    rc = weir__schema_parse(r->o.columns, &r->schema, r->schema_err,
                            sizeof r->schema_err);
  for (size_t k = 0; rc == WEIR_OK && r->o.columns && k < r->schema.n; k++)
    if (weir__schema_base(r->schema.types[k]) == WEIR_TYPE_LIST) {
      /* A CSV field has no array syntax to read a list from. */
      snprintf(r->schema_err, sizeof r->schema_err,
               "columns spec: column \"%s\" is a list; CSV columns cannot be lists",
               r->schema.names[k]);
      rc = WEIR_EINVAL;
    }
  /* The first input that can be read names and types the columns; under
   * on_error = skip, unreadable or corrupt ones before it are passed over
   * (the read pass skips and counts them). */
  for (size_t i = 0; rc == WEIR_OK && !r->o.columns && i < r->nobjs; i++) {
    weir__chunk c = {0};
    rc = first_chunk(r, i, r->infer_rows + 1, &c);
    if (rc == WEIR_OK && c.buf)
      rc = infer_columns(r, c.buf->data, (const char *)c.buf->data + c.len);
    weir__buffer_unref(c.buf);
    if (rc == WEIR_OK && r->schema.n > 0) break;
    if (weir__reader_skips_rest(r, rc)) rc = WEIR_OK;
  }
  return rc;
}

/* How the fields of file `i` map to the columns: by header name, or by
 * position without a header. Computed once per file. A header that does
 * not parse is WEIR_EFORMAT every time; `*first` says whether this call
 * found it, so the file is counted as given up once. On failure `err`
 * gets the reason, copied under the lock (another worker may be writing
 * r->schema_err for another file). */
static int csv_file_map(weir__reader *r, size_t i, const int **map,
                        size_t *nfields, int *first, char *err, size_t errlen) {
  csv_extra *x = r->extra;
  pthread_mutex_lock(&r->mu);
  int rc = WEIR_OK;
  *first = 0;
  if (x->bad[i]) {
    snprintf(err, errlen, "%s:1: bad header", r->objs[i].uri);
    pthread_mutex_unlock(&r->mu);
    return WEIR_EFORMAT;
  }
  if (!x->maps[i]) {
    int *m = malloc((r->schema.n + 1) * sizeof *m);
    if (!m) rc = WEIR_ENOMEM;
    size_t nf = r->schema.n;
    if (rc == WEIR_OK && r->o.csv_no_header) {
      for (size_t k = 0; k < r->schema.n; k++) m[k] = (int)k;
    } else if (rc == WEIR_OK) {
      weir__chunk c = {0};
      rc = first_chunk(r, i, 1, &c);
      record rec = {0};
      const char *why = "empty file";
      if (rc == WEIR_OK && c.buf) {
        const char *p = c.buf->data;
        if (!parse_record(p, p + c.len, delim_of(r), &rec, &why)) {
          snprintf(r->schema_err, sizeof r->schema_err, "%s:1: bad header: %s",
                   r->objs[i].uri, why);
          rc = WEIR_EFORMAT;
        }
      }
      nf = rec.n;
      for (size_t k = 0; rc == WEIR_OK && k < r->schema.n; k++) {
        m[k] = -1;
        for (size_t f = 0; f < rec.n; f++)
          if (rec.f[f].len == strlen(r->schema.names[k]) &&
              memcmp(rec.f[f].p, r->schema.names[k], rec.f[f].len) == 0) {
            m[k] = (int)f;
            break;
          }
      }
      record_free(&rec);
      weir__buffer_unref(c.buf);
    }
    if (rc == WEIR_OK) {
      x->maps[i] = m;
      x->nfields[i] = nf;
    } else {
      free(m);
      if (rc == WEIR_EFORMAT) x->bad[i] = *first = 1;
      snprintf(err, errlen, "%s", rc == WEIR_EFORMAT ? r->schema_err : weir_strerror(rc));
    }
  }
  *map = x->maps[i];
  *nfields = x->nfields[i];
  pthread_mutex_unlock(&r->mu);
  return rc;
}

typedef struct csv_worker {
  weir__reader *r;
  weir__colacc *cols;
  size_t ncols;
  weir__colacc path;
  record rec;
  int ready;
  char why[512];
} csv_worker;

static int csv_init(void *user, int worker, void **state) {
  (void)worker;
  csv_worker *w = calloc(1, sizeof *w);
  if (!w) return WEIR_ENOMEM;
  w->r = user;
  *state = w;
  return WEIR_OK;
}

static void csv_destroy(void *state) {
  csv_worker *w = state;
  if (!w) return;
  for (size_t i = 0; w->cols && i < w->ncols; i++) weir__colacc_free(&w->cols[i]);
  free(w->cols);
  weir__colacc_free(&w->path);
  record_free(&w->rec);
  free(w);
}

/* Appends one field to column k; 0 or WEIR_EFORMAT with w->why. */
static int put_field(csv_worker *w, size_t k, const field *f) {
  weir__colacc *c = &w->cols[k];
  if (!f || (!f->quoted && f->len == 0)) return weir__colacc_null(c);
  int64_t i;
  double d;
  int b;
  switch (c->type) {
  case WEIR_TYPE_INT64:
    if (parse_int(f->p, f->len, &i)) {
      weir__colacc_push_i64(c, i);
      return WEIR_OK;
    }
    break;
  case WEIR_TYPE_FLOAT64:
    if (parse_float(f->p, f->len, &d)) {
      weir__colacc_push_f64(c, d);
      return WEIR_OK;
    }
    break;
  case WEIR_TYPE_BOOL:
    if (parse_bool(f->p, f->len, &b)) {
      weir__colacc_push_bool(c, b);
      return WEIR_OK;
    }
    break;
  default:
    if (weir__utf8_invalid_at(f->p, f->len) != f->len) {
      snprintf(w->why, sizeof w->why, "column \"%s\": invalid UTF-8", c->name);
      return WEIR_EFORMAT;
    }
    return weir__colacc_push_string(c, f->p, f->len) ? WEIR_ENOMEM : WEIR_OK;
  }
  snprintf(w->why, sizeof w->why, "column \"%s\" is %s%s but the field is \"%.*s\"",
           c->name, weir_type_name(c->type),
           w->r->inferred ? " (inferred from the first rows)" : "",
           (int)(f->len > 40 ? 40 : f->len), f->p);
  return WEIR_EFORMAT;
}

static int emit_rows(csv_worker *w, const char *uri, weir_emit *out) {
  if (!w->ncols || w->cols[0].n == 0) return WEIR_OK;
  weir_block *b;
  int rc = weir__colacc_finish(w->cols, w->ncols, &b);
  if (rc == WEIR_OK && w->r->o.include_path &&
      weir__schema_find(&w->r->schema, "path", 4) < 0)
    rc = weir__path_column(&w->path, uri, b, &b);
  if (rc != WEIR_OK) return rc;
  return weir_emit_block(out, b);
}

static int csv_process(void *state, weir_block *in, weir_emit *out,
                       weir_ctx *ctx) {
  csv_worker *w = state;
  weir__reader *r = w->r;
  if (!w->ready) {
    int rc = weir__reader_schema_once(r, csv_schema);
    if (rc != WEIR_OK) {
      weir_ctx_set_errmsg(ctx, "cannot read the columns: %s", r->schema_err);
      return rc;
    }
    w->ncols = r->schema.n;
    w->cols = calloc(w->ncols ? w->ncols : 1, sizeof *w->cols);
    if (!w->cols) return WEIR_ENOMEM;
    for (size_t k = 0; k < w->ncols; k++)
      if (weir__colacc_init(&w->cols[k], r->schema.names[k], r->schema.types[k]))
        return WEIR_ENOMEM;
    if (weir__colacc_init(&w->path, "path", WEIR_TYPE_STRING)) return WEIR_ENOMEM;
    w->ready = 1;
  }
  weir__chunk_view v;
  if (weir__chunk_view_of(in, &v) != WEIR_OK) {
    weir_ctx_set_errmsg(ctx, "input is not a chunk of CSV records");
    return WEIR_EINVAL;
  }
  /* The columns being built are about the chunk's size: counted as
   * working bytes (never waiting, exec_internal.h) until the blocks made
   * of them take the count over. */
  weir__emit_hold(out, v.len, 0);
  const char *uri = r->objs[v.file].uri;
  const int *map;
  size_t nfields;
  int first;
  char err[sizeof r->schema_err];
  int rc = csv_file_map(r, v.file, &map, &nfields, &first, err, sizeof err);
  if (rc == WEIR_EFORMAT && r->o.on_error == WEIR_ON_ERROR_SKIP) {
    /* Without its header the file's records mean nothing: give the file
     * up and count it once (this used to end the run under skip too). */
    if (first) {
      weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping %s: its header does not parse",
                   r->objs[v.file].uri);
      weir_ctx_count_skipped_input(ctx);
    }
    return WEIR_OK;
  }
  if (rc != WEIR_OK) {
    weir_ctx_set_errmsg(ctx, "%s", err);
    return rc;
  }
  const char *p = v.data, *end = v.data + v.len;
  uint64_t line = v.line;
  uint64_t skipped = 0;
  int header = v.offset == 0 && !r->o.csv_no_header;
  int delim = delim_of(r);
  while (p < end && rc == WEIR_OK) {
    const char *why = NULL, *fail_at = p;
    const char *next = parse_record_at(p, end, delim, &w->rec, &why, &fail_at);
    uint64_t rec_line = line;
    int bad = !next;
    if (bad) {
      /* The damaged record ends at the first newline after the damage; the
       * next record starts there. (It used to be the end of the chunk,
       * which dropped up to rows_per_block good records after it while
       * counting one.) */
      snprintf(w->why, sizeof w->why, "%s", why);
      const char *nl = memchr(fail_at, '\n', (size_t)(end - fail_at));
      next = nl ? nl + 1 : end;
      rc = WEIR_EFORMAT;
    }
    if (line)
      for (const char *q = p; q < next; q++) line += *q == '\n';
    if (bad) {
      /* rc is WEIR_EFORMAT: reported below, with the record's first line */
    } else if (header) {
      header = 0;
      p = next;
      continue;
    } else if (w->rec.n == 1 && w->rec.f[0].len == 0 && !w->rec.f[0].quoted) {
      p = next; /* a blank line */
      continue;
    } else if (w->rec.n != nfields) {
      snprintf(w->why, sizeof w->why, "expected %zu fields, found %zu", nfields,
               w->rec.n);
      rc = WEIR_EFORMAT;
    } else {
      size_t row = w->cols[0].n;
      for (size_t k = 0; k < w->ncols && rc == WEIR_OK; k++) {
        rc = weir__colacc_grow(&w->cols[k]);
        if (rc == WEIR_OK)
          rc = put_field(w, k, map[k] >= 0 ? &w->rec.f[map[k]] : NULL);
      }
      if (rc != WEIR_OK)
        for (size_t k = 0; k < w->ncols; k++) weir__colacc_truncate(&w->cols[k], row);
    }
    if (rc == WEIR_EFORMAT)
      rc = weir__reader_malformed(r, ctx, v.file, rec_line,
                                  v.offset + (uint64_t)(p - v.data), w->why,
                                  &skipped);
    p = next;
    if (rc == WEIR_OK && w->ncols && w->cols[0].n >= r->rows_per_block)
      rc = emit_rows(w, uri, out);
  }
  if (skipped) weir_ctx_count_skipped(ctx, skipped);
  if (rc == WEIR_OK) rc = emit_rows(w, uri, out);
  if (rc != WEIR_OK)
    for (size_t k = 0; k < w->ncols; k++) weir__colacc_truncate(&w->cols[k], 0);
  return rc;
}

static const weir_op_def csv_parse_def = {WEIR_OP_DEF_VERSION, "parse_csv",
                                          csv_init, csv_process, NULL,
                                          csv_destroy};

weir_op *weir_read_csv(weir_pipeline *p, const char *uri,
                       const weir_read_options *o) {
  weir__reader *r;
  /* Quoted fields may hold newlines: a byte range cannot find its first
   * record, so each file is one task. */
  weir_op *src = weir__reader_op(p, "csv", "read_csv", uri, o, 0,
                                 weir__read_chunks_csv, &r);
  if (!src) return NULL;
  r->schema_fix = csv_schema;
  weir_op_options po = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  po.max_workers = weir__reader_workers(p, r, 6);
  weir_op *parse = weir_add_op(p, src, &csv_parse_def, r, &po);
  weir__op_rows_of(src, parse);
  weir__op_set_per_block(parse, 1); /* a chunk's rows, whatever its pool */
  return parse;
}
