/* weir_parquet_describe: a Parquet file's footer as text for people (what
 * `weir inspect` prints): the writer, rows, and each row group's column
 * chunks with types, codec, sizes, encodings and statistics. Only the
 * footer is read, through the URI layer, so remote files cost a few
 * ranged reads. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/parquet.h"
#include "io/vfs.h"
#include "core/text_buf.h"
#include "parquet/parquet_internal.h"

/* Longest string or bytes statistic shown, in bytes; the rest is "...". */
#define SHOWN_BYTES 32

static const char *physical_name(int type) {
  static const char *names[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT",
                                "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
  return type >= 0 && type <= 7 ? names[type] : "?";
}

static const char *codec_name(int codec) {
  static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
  return codec >= 0 && codec <= 7 ? names[codec] : "UNKNOWN";
}

static const char *encoding_name(int e) {
  switch (e) {
  case PQ_PLAIN: return "PLAIN";
  case PQ_PLAIN_DICTIONARY: return "PLAIN_DICTIONARY";
  case PQ_RLE: return "RLE";
  case PQ_BIT_PACKED: return "BIT_PACKED";
  case PQ_DELTA_BINARY_PACKED: return "DELTA_BINARY_PACKED";
  case PQ_DELTA_LENGTH_BYTE_ARRAY: return "DELTA_LENGTH_BYTE_ARRAY";
  case PQ_DELTA_BYTE_ARRAY: return "DELTA_BYTE_ARRAY";
  case PQ_RLE_DICTIONARY: return "RLE_DICTIONARY";
  case PQ_BYTE_STREAM_SPLIT: return "BYTE_STREAM_SPLIT";
  default: return NULL;
  }
}

static void put_logical(weir__text *t, const pq_schema_el *e) {
  static const char *units[] = {"MILLIS", "MICROS", "NANOS"};
  const char *unit = e->unit >= 0 && e->unit <= 2 ? units[e->unit] : "?";
  switch (e->logical) {
  case PQL_STRING: weir__text_put(t, " STRING"); break;
  case PQL_ENUM: weir__text_put(t, " ENUM"); break;
  case PQL_JSON: weir__text_put(t, " JSON"); break;
  case PQL_BSON: weir__text_put(t, " BSON"); break;
  case PQL_UUID: weir__text_put(t, " UUID"); break;
  case PQL_FLOAT16: weir__text_put(t, " FLOAT16"); break;
  case PQL_DATE: weir__text_put(t, " DATE"); break;
  case PQL_TIME: weir__text_put(t, " TIME(%s)", unit); break;
  case PQL_TIMESTAMP: weir__text_put(t, " TIMESTAMP(%s)", unit); break;
  case PQL_DECIMAL: weir__text_put(t, " DECIMAL(%d, %d)", e->precision, e->scale); break;
  case PQL_INT:
    weir__text_put(t, " INT(%d, %s)", e->int_bits, e->int_signed ? "signed" : "unsigned");
    break;
  default: break;
  }
}

static int is_text(const pq_schema_el *e) {
  return e && (e->logical == PQL_STRING || e->logical == PQL_ENUM || e->logical == PQL_JSON);
}

static int is_unsigned(const pq_schema_el *e) {
  return e && e->logical == PQL_INT && !e->int_signed;
}

/* One min or max value in the column's own terms; bytes of a length the
 * type does not allow are shown as hex. */
static void put_value(weir__text *t, int phys, const pq_schema_el *e, const uint8_t *v,
                      size_t n) {
  if (phys == PQ_BOOLEAN && n == 1) {
    weir__text_put(t, "%s", v[0] ? "true" : "false");
  } else if (phys == PQ_INT32 && n == 4) {
    int32_t x;
    memcpy(&x, v, 4);
    if (is_unsigned(e)) weir__text_put(t, "%" PRIu32, (uint32_t)x);
    else weir__text_put(t, "%" PRId32, x);
  } else if (phys == PQ_INT64 && n == 8) {
    int64_t x;
    memcpy(&x, v, 8);
    if (is_unsigned(e)) weir__text_put(t, "%" PRIu64, (uint64_t)x);
    else weir__text_put(t, "%" PRId64, x);
  } else if (phys == PQ_FLOAT && n == 4) {
    float x;
    memcpy(&x, v, 4);
    weir__text_put(t, "%.9g", (double)x);
  } else if (phys == PQ_DOUBLE && n == 8) {
    double x;
    memcpy(&x, v, 8);
    weir__text_put(t, "%.17g", x);
  } else if (phys == PQ_BYTE_ARRAY && is_text(e)) {
    size_t shown = n < SHOWN_BYTES ? n : SHOWN_BYTES;
    /* Do not cut a UTF-8 sequence in half. */
    while (shown < n && shown > 0 && (v[shown] & 0xC0) == 0x80) shown--;
    weir__text_put(t, "\"");
    for (size_t i = 0; i < shown; i++) {
      if (v[i] == '"' || v[i] == '\\') weir__text_put(t, "\\%c", v[i]);
      else if (v[i] < 0x20 || v[i] == 0x7f) weir__text_put(t, "\\x%02x", v[i]);
      else weir__text_put(t, "%c", v[i]);
    }
    weir__text_put(t, "\"%s", shown < n ? "..." : "");
  } else {
    size_t shown = n < SHOWN_BYTES ? n : SHOWN_BYTES;
    weir__text_put(t, "0x");
    for (size_t i = 0; i < shown; i++) weir__text_put(t, "%02x", v[i]);
    if (shown < n) weir__text_put(t, "... (%zu bytes)", n);
  }
}

static void put_chunk(weir__text *t, const pq_chunk *ch, const pq_schema_el *leaf) {
  weir__text_put(t, "  ");
  for (size_t k = 0; k < ch->path_len; k++) weir__text_put(t, "%s%s", k ? "." : "", ch->path[k]);
  if (!ch->path_len) weir__text_put(t, "?");
  weir__text_put(t, ": %s", physical_name(ch->type));
  if (leaf) put_logical(t, leaf);
  weir__text_put(t,
                 "  codec: %s  values: %" PRId64 "  compressed: %" PRId64
                 " B  uncompressed: %" PRId64 " B\n",
                 codec_name(ch->codec), ch->num_values, ch->total_compressed,
                 ch->total_uncompressed);
  weir__text_put(t, "    encodings:");
  int any = 0;
  for (int e = 0; e < 32; e++) {
    if (!(ch->encodings >> e & 1u)) continue;
    const char *name = encoding_name(e);
    if (name) weir__text_put(t, " %s", name);
    else weir__text_put(t, " %d", e);
    any = 1;
  }
  weir__text_put(t, "%s\n", any ? "" : " (not listed)");
  const pq_stats *s = &ch->stats;
  if (!s->min && !s->max && s->null_count < 0) {
    weir__text_put(t, "    statistics: none\n");
    return;
  }
  weir__text_put(t, "    statistics:");
  if (s->null_count >= 0) weir__text_put(t, " nulls: %" PRId64, s->null_count);
  if (s->min) {
    weir__text_put(t, "  min: ");
    put_value(t, ch->type, leaf, s->min, s->min_len);
  }
  if (s->max) {
    weir__text_put(t, "  max: ");
    put_value(t, ch->type, leaf, s->max, s->max_len);
  }
  weir__text_put(t, "\n");
}

static void describe(weir__text *t, const pq_file_meta *m) {
  /* Column chunks follow the schema's leaves in order. */
  size_t nleaves = 0;
  for (size_t i = 0; i < m->nschema; i++) nleaves += m->schema[i].has_type != 0;
  const pq_schema_el **leaves = calloc(nleaves ? nleaves : 1, sizeof *leaves);
  if (!leaves) {
    t->oom = 1;
    return;
  }
  for (size_t i = 0, k = 0; i < m->nschema; i++)
    if (m->schema[i].has_type) leaves[k++] = &m->schema[i];
  weir__text_put(t, "created_by: %s\n", m->created_by ? m->created_by : "(not recorded)");
  weir__text_put(t, "rows: %" PRId64 "  row groups: %zu  leaf columns: %zu\n", m->num_rows,
                 m->nrgs, nleaves);
  for (size_t r = 0; r < m->nrgs; r++) {
    const pq_row_group *g = &m->rgs[r];
    int64_t compressed = 0, uncompressed = 0;
    for (size_t c = 0; c < g->nchunks; c++) {
      compressed += g->chunks[c].total_compressed;
      uncompressed += g->chunks[c].total_uncompressed;
    }
    weir__text_put(t,
                   "row group %zu: rows: %" PRId64 "  compressed: %" PRId64
                   " B  uncompressed: %" PRId64 " B\n",
                   r, g->num_rows, compressed, uncompressed);
    for (size_t c = 0; c < g->nchunks; c++)
      put_chunk(t, &g->chunks[c], c < nleaves ? leaves[c] : NULL);
  }
  free(leaves);
}

int weir_parquet_describe(const char *uri, const weir_parquet_read_options *o, char **out) {
  if (!out) {
    weir_set_last_errmsg("weir_parquet_describe: NULL text");
    return WEIR_EINVAL;
  }
  *out = NULL;
  if (!uri) {
    weir_set_last_errmsg("weir_parquet_describe: NULL uri");
    return WEIR_EINVAL;
  }
  weir_parquet_read_options def = {.version = WEIR_PARQUET_READ_OPTIONS_VERSION};
  if (!o) o = &def;
  if (o->version != WEIR_PARQUET_READ_OPTIONS_VERSION) {
    weir_set_last_errmsg("weir_parquet_describe: unknown options version %u", o->version);
    return WEIR_EINVAL;
  }
  weir__io_config cfg = {.s3_endpoint = o->s3_endpoint, .s3_region = o->s3_region,
                         .s3_access_key = o->s3_access_key, .s3_secret_key = o->s3_secret_key,
                         .max_requests = o->max_requests, .max_retries = o->max_retries};
  char err[1400] = "";
  weir__object *objs = NULL;
  size_t n = 0;
  int rc = weir__vfs_list(uri, &cfg, &objs, &n, err, sizeof err);
  if (rc) {
    weir_set_last_errmsg("%s", err);
    return rc;
  }
  if (n != 1) {
    weir__vfs_list_free(objs, n);
    weir_set_last_errmsg("%s: names %zu files; weir_parquet_describe takes one", uri, n);
    return WEIR_EINVAL;
  }
  pq_file_meta m;
  rc = weir__pq_read_footer(&cfg, objs[0].uri, objs[0].size, &m, err, sizeof err);
  if (rc) {
    weir_set_last_errmsg("%s: %s", objs[0].uri, err);
    weir__vfs_list_free(objs, n);
    return rc;
  }
  weir__vfs_list_free(objs, n);
  weir__text t = {0};
  describe(&t, &m);
  weir__pq_meta_free(&m);
  if (t.oom) {
    free(t.p);
    weir_set_last_errmsg("%s: out of memory", uri);
    return WEIR_ENOMEM;
  }
  *out = t.p;
  return WEIR_OK;
}
