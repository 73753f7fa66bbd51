/* Serialisation of rows into JSONL, CSV and block file bytes, and row
 * counts of complete shards for resuming. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "weir/error.h"
#include "core/block_internal.h"
#include "exec/gpu_backend.h"
#include "io/codec.h"
#include "io/json.h"
#include "io/writefmt.h"

size_t weir__base64(const unsigned char *p, size_t n, char *out) {
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *o = out;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *o++ = tab[v >> 18];
    *o++ = tab[(v >> 12) & 63];
    *o++ = tab[(v >> 6) & 63];
    *o++ = tab[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    *o++ = tab[v >> 18];
    *o++ = tab[(v >> 12) & 63];
    *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  return (size_t)(o - out);
}

/* ---- Values as text (shared by JSONL and CSV) ---------------------------- */

static double half_to_double(uint16_t h) {
  uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, f;
  if (e == 0) {
    if (m == 0) f = s;
    else {
      e = 127 - 15 + 1;
      while (!(m & 1024)) { m <<= 1; e--; }
      m &= 1023;
      f = s | e << 23 | m << 13;
    }
  } else if (e == 31) f = s | 0x7f800000u | m << 13;
  else f = s | (e - 15 + 127) << 23 | m << 13;
  float x;
  memcpy(&x, &f, 4);
  return x;
}

static size_t tensor_elem(const weir__column *c, const unsigned char *p,
                          char *o) {
  switch (c->dtype) {
  case WEIR_DTYPE_UINT8: return (size_t)sprintf(o, "%u", *p);
  case WEIR_DTYPE_INT8: return (size_t)sprintf(o, "%d", *(const int8_t *)p);
  case WEIR_DTYPE_INT16: { int16_t v; memcpy(&v, p, 2); return (size_t)sprintf(o, "%d", v); }
  case WEIR_DTYPE_INT32: { int32_t v; memcpy(&v, p, 4); return (size_t)sprintf(o, "%" PRId32, v); }
  case WEIR_DTYPE_INT64: { int64_t v; memcpy(&v, p, 8); return (size_t)sprintf(o, "%" PRId64, v); }
  case WEIR_DTYPE_FLOAT16: { uint16_t v; memcpy(&v, p, 2); return weir__json_double(half_to_double(v), o); }
  case WEIR_DTYPE_BFLOAT16: {
    uint16_t v; memcpy(&v, p, 2);
    uint32_t f = (uint32_t)v << 16; float x; memcpy(&x, &f, 4);
    return weir__json_double(x, o);
  }
  case WEIR_DTYPE_FLOAT32: { float v; memcpy(&v, p, 4); return weir__json_double(v, o); }
  case WEIR_DTYPE_UINT16: { uint16_t v; memcpy(&v, p, 2); return (size_t)sprintf(o, "%u", v); }
  case WEIR_DTYPE_UINT32: { uint32_t v; memcpy(&v, p, 4); return (size_t)sprintf(o, "%" PRIu32, v); }
  case WEIR_DTYPE_UINT64: { uint64_t v; memcpy(&v, p, 8); return (size_t)sprintf(o, "%" PRIu64, v); }
  default: { double v; memcpy(&v, p, 8); return weir__json_double(v, o); }
  }
}

/* A tensor row as nested JSON arrays. */
static int tensor_text(const weir__column *c, size_t row, weir__bytes *out) {
  size_t es = weir_dtype_size(c->dtype), elems = 1;
  for (int k = 0; k < c->ndim; k++) elems *= (size_t)c->shape[k];
  if (weir__bytes_reserve(out, elems * 34 + 2 * (size_t)c->ndim * elems + 16))
    return WEIR_ENOMEM;
  const unsigned char *p = c->data + row * elems * es;
  char *o = (char *)out->p + out->len;
  size_t idx[WEIR_TENSOR_MAX_DIMS] = {0};
  for (int k = 0; k < c->ndim; k++) *o++ = '[';
  for (size_t e = 0; e < elems; e++) {
    o += tensor_elem(c, p + e * es, o);
    /* Close the dimensions this element ends, open the next ones. */
    int k = c->ndim - 1;
    while (k >= 0 && ++idx[k] == (size_t)c->shape[k]) {
      idx[k] = 0;
      *o++ = ']';
      k--;
    }
    if (k >= 0) {
      *o++ = ',';
      for (int j = k + 1; j < c->ndim; j++) *o++ = '[';
    }
  }
  if (elems == 0)
    for (int k = 0; k < c->ndim; k++) *o++ = ']';
  out->len = (size_t)(o - (char *)out->p);
  return WEIR_OK;
}

static size_t put_i64(char *o, int64_t v) {
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  size_t k = 0;
  if (v < 0) o[k++] = '-';
  while (n) o[k++] = tmp[--n];
  return k;
}

/* A list row as a JSON array of its elements. */
static int list_text(const weir__column *c, size_t row, weir__bytes *out) {
  size_t es = weir_dtype_size(c->dtype);
  size_t n = (size_t)(c->offsets[row + 1] - c->offsets[row]);
  if (weir__bytes_reserve(out, n * 34 + 2)) return WEIR_ENOMEM;
  const unsigned char *p = c->data + (size_t)c->offsets[row] * es;
  char *o = (char *)out->p + out->len;
  *o++ = '[';
  for (size_t e = 0; e < n; e++) {
    if (e) *o++ = ',';
    o += tensor_elem(c, p + e * es, o);
  }
  *o++ = ']';
  out->len = (size_t)(o - (char *)out->p);
  return WEIR_OK;
}

/* Appends the JSON text of one value (not null). */
static int json_value(const weir__column *c, size_t r, weir__bytes *out) {
  switch (c->type) {
  case WEIR_TYPE_BOOL: {
    int v = (c->data[r >> 3] >> (r & 7)) & 1;
    return weir__bytes_put(out, v ? "true" : "false", v ? 4 : 5);
  }
  case WEIR_TYPE_INT32:
  case WEIR_TYPE_INT64: {
    if (weir__bytes_reserve(out, 24)) return WEIR_ENOMEM;
    int64_t v = c->type == WEIR_TYPE_INT32 ? ((const int32_t *)c->data)[r]
                                           : ((const int64_t *)c->data)[r];
    out->len += put_i64((char *)out->p + out->len, v);
    return WEIR_OK;
  }
  case WEIR_TYPE_FLOAT32:
  case WEIR_TYPE_FLOAT64: {
    if (weir__bytes_reserve(out, 32)) return WEIR_ENOMEM;
    const void *vals = c->data; /* floats or doubles, 64-byte aligned */
    double v = c->type == WEIR_TYPE_FLOAT32 ? ((const float *)vals)[r]
                                            : ((const double *)vals)[r];
    out->len += weir__json_double(v, (char *)out->p + out->len);
    return WEIR_OK;
  }
  case WEIR_TYPE_STRING: {
    size_t len = (size_t)(c->offsets[r + 1] - c->offsets[r]);
    if (weir__bytes_reserve(out, 6 * len + 2)) return WEIR_ENOMEM;
    out->len += weir__json_escape((const char *)c->data + c->offsets[r], len,
                                  (char *)out->p + out->len);
    return WEIR_OK;
  }
  case WEIR_TYPE_BINARY: {
    size_t len = (size_t)(c->offsets[r + 1] - c->offsets[r]);
    if (weir__bytes_reserve(out, 4 * (len / 3 + 1) + 2)) return WEIR_ENOMEM;
    char *o = (char *)out->p + out->len;
    *o++ = '"';
    o += weir__base64(c->data + c->offsets[r], len, o);
    *o++ = '"';
    out->len = (size_t)(o - (char *)out->p);
    return WEIR_OK;
  }
  case WEIR_TYPE_LIST:
    return list_text(c, r, out);
  default:
    return tensor_text(c, r, out);
  }
}

static int is_null(const weir__column *c, size_t r) {
  return c->validity && !((c->validity[r >> 3] >> (r & 7)) & 1);
}

/* Device columns are copied to the host once per block. */
static int host_block(const weir_block *b, weir_block **host) {
  *host = NULL;
  if (!weir__block_on_device(b)) return WEIR_OK;
  return weir__gpu_backend_get()->to_host((weir_block *)b, host);
}

/* ---- Encoded blocks ----------------------------------------------------- */

/* A block of one BINARY column `name` over `data` with `n + 1` offsets;
 * takes both buffers (freed on failure). */
static int binary_block(const char *name, weir__bytes *data, int64_t *offs,
                        size_t n, weir_block **out) {
  *out = NULL;
  weir_block *b = weir__block_alloc(1, n);
  weir__column *c = b ? &b->cols[0] : NULL;
  if (c) {
    c->name = strdup(name);
    c->type = WEIR_TYPE_BINARY;
    c->length = n;
    c->data_buf = weir__buffer_wrap(data->p ? data->p : malloc(1), data->len,
                                    weir__buffer_release_free, NULL);
    if (c->data_buf) data->p = NULL;
    c->offsets_buf = weir__buffer_wrap(offs, (n + 1) * sizeof *offs,
                                       weir__buffer_release_free, NULL);
    if (c->offsets_buf) offs = NULL;
  }
  if (!b || !c->name || !c->data_buf || !c->offsets_buf) {
    weir_block_unref(&b);
    weir__bytes_free(data);
    free(offs);
    return WEIR_ENOMEM;
  }
  c->data = c->data_buf->data;
  c->offsets = c->offsets_buf->data;
  weir__bytes_free(data);
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}

/* ---- JSONL -------------------------------------------------------------- */

typedef struct text_state {
  char **keys;         /* escaped names with quotes and ':' */
  size_t *key_len;
  size_t nkeys;
} text_state;

static void *text_open(int level) {
  (void)level;
  return calloc(1, sizeof(text_state));
}

static void text_keys_free(text_state *st) {
  for (size_t i = 0; i < st->nkeys; i++) free(st->keys[i]);
  free(st->keys);
  free(st->key_len);
  st->keys = NULL;
  st->key_len = NULL;
  st->nkeys = 0;
}

static void text_close(void *p) {
  text_state *st = p;
  if (!st) return;
  text_keys_free(st);
  free(st);
}

static int jsonl_keys(text_state *st, const weir_block *b) {
  if (st->nkeys == b->num_columns && st->keys) {
    size_t i = 0;
    for (; i < st->nkeys; i++) {
      /* Same names as the last block: keep the escaped keys. */
      size_t nl = strlen(b->cols[i].name);
      if (st->key_len[i] != nl + 3 ||
          memcmp(st->keys[i] + 1, b->cols[i].name, nl) != 0)
        break;
    }
    if (i == st->nkeys) return WEIR_OK;
  }
  text_keys_free(st);
  st->keys = calloc(b->num_columns + 1, sizeof *st->keys);
  st->key_len = calloc(b->num_columns + 1, sizeof *st->key_len);
  if (!st->keys || !st->key_len) return WEIR_ENOMEM;
  st->nkeys = b->num_columns;
  for (size_t i = 0; i < b->num_columns; i++) {
    const char *nm = b->cols[i].name;
    size_t nl = strlen(nm);
    st->keys[i] = malloc(6 * nl + 4);
    if (!st->keys[i]) return WEIR_ENOMEM;
    size_t k = weir__json_escape(nm, nl, st->keys[i]);
    st->keys[i][k++] = ':';
    st->key_len[i] = k;
  }
  return WEIR_OK;
}

static int jsonl_encode(void *p, const weir_block *in, weir_block **out,
                        char *err, size_t errlen) {
  (void)err;
  (void)errlen;
  text_state *st = p;
  weir_block *host;
  int rc = host_block(in, &host);
  if (rc) return rc;
  const weir_block *b = host ? host : in;
  size_t n = b->num_rows;
  int64_t *ends = malloc((n + 1) * sizeof *ends);
  weir__bytes o = {0};
  if (!ends) rc = WEIR_ENOMEM;
  if (rc == WEIR_OK) rc = jsonl_keys(st, b);
  if (rc == WEIR_OK) {
    ends[0] = 0;
    rc = weir__bytes_reserve(&o, n * 64 + 64);
  }
  for (size_t r = 0; rc == WEIR_OK && r < n; r++) {
    rc = weir__bytes_put(&o, "{", 1);
    for (size_t i = 0; rc == WEIR_OK && i < b->num_columns; i++) {
      const weir__column *c = &b->cols[i];
      if (i) rc = weir__bytes_put(&o, ",", 1);
      if (rc == WEIR_OK) rc = weir__bytes_put(&o, st->keys[i], st->key_len[i]);
      if (rc == WEIR_OK)
        rc = is_null(c, r) ? weir__bytes_put(&o, "null", 4) : json_value(c, r, &o);
    }
    if (rc == WEIR_OK) rc = weir__bytes_put(&o, "}\n", 2);
    ends[r + 1] = (int64_t)o.len;
  }
  weir_block_unref(&host);
  if (rc != WEIR_OK) {
    free(ends);
    weir__bytes_free(&o);
    return rc;
  }
  return binary_block("", &o, ends, n, out);
}

/* Counts newlines (outside double quotes for CSV) of a whole object. */
static int count_lines(const char *uri, const weir__io_config *cfg, int csv,
                       uint64_t *lines, char *err, size_t errlen) {
  weir__dstream *d;
  int rc = weir__dstream_open(uri, cfg, weir__codec_from_name(uri), 0,
                              UINT64_MAX, &d, err, errlen);
  if (rc) return rc;
  unsigned char *buf = malloc(1 << 20);
  if (!buf) {
    weir__dstream_close(d);
    return WEIR_ENOMEM;
  }
  uint64_t n = 0;
  int inq = 0;
  for (;;) {
    long r = weir__dstream_read(d, buf, 1 << 20);
    if (r < 0) {
      snprintf(err, errlen, "%s", weir__dstream_errmsg(d));
      rc = (int)r;
      break;
    }
    if (r == 0) break;
    for (long i = 0; i < r; i++) {
      if (csv && buf[i] == '"') inq = !inq;
      else if (buf[i] == '\n' && !inq) n++;
    }
  }
  free(buf);
  weir__dstream_close(d);
  *lines = n;
  return rc;
}

static int jsonl_count(const char *uri, const weir__io_config *cfg,
                       uint64_t *rows, char *err, size_t errlen) {
  return count_lines(uri, cfg, 0, rows, err, errlen);
}

const weir__fmt weir__fmt_jsonl = {"jsonl", ".jsonl", 1, text_open, text_close,
                                   jsonl_encode, jsonl_count, NULL, NULL, NULL};

/* ---- CSV ---------------------------------------------------------------- */

static int csv_field(const char *s, size_t len, weir__bytes *out) {
  /* An empty string is quoted: an empty field reads back as null. */
  int quote = len == 0 || s[0] == ' ' || s[len - 1] == ' ';
  for (size_t i = 0; i < len && !quote; i++)
    if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') quote = 1;
  if (!quote) return weir__bytes_put(out, s, len);
  if (weir__bytes_reserve(out, 2 * len + 2)) return WEIR_ENOMEM;
  char *o = (char *)out->p + out->len;
  *o++ = '"';
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') *o++ = '"';
    *o++ = s[i];
  }
  *o++ = '"';
  out->len = (size_t)(o - (char *)out->p);
  return WEIR_OK;
}

static int csv_encode(void *p, const weir_block *in, weir_block **out,
                      char *err, size_t errlen) {
  (void)p;
  (void)err;
  (void)errlen;
  weir_block *host;
  int rc = host_block(in, &host);
  if (rc) return rc;
  const weir_block *b = host ? host : in;
  size_t n = b->num_rows;
  /* The header line rides along as the column's name, so that the sink
   * can start each shard with it. */
  weir__bytes head = {0}, o = {0}, tmp = {0};
  for (size_t i = 0; rc == WEIR_OK && i < b->num_columns; i++) {
    if (i) rc = weir__bytes_put(&head, ",", 1);
    if (rc == WEIR_OK) rc = csv_field(b->cols[i].name, strlen(b->cols[i].name), &head);
  }
  if (rc == WEIR_OK && b->num_columns) rc = weir__bytes_put(&head, "\n", 1);
  if (rc == WEIR_OK) rc = weir__bytes_put(&head, "", 1); /* NUL */
  int64_t *ends = malloc((n + 1) * sizeof *ends);
  if (!ends) rc = WEIR_ENOMEM;
  else ends[0] = 0;
  for (size_t r = 0; rc == WEIR_OK && r < n; r++) {
    for (size_t i = 0; rc == WEIR_OK && i < b->num_columns; i++) {
      const weir__column *c = &b->cols[i];
      if (i) rc = weir__bytes_put(&o, ",", 1);
      if (rc || is_null(c, r)) continue;
      if (c->type == WEIR_TYPE_STRING) {
        rc = csv_field((const char *)c->data + c->offsets[r],
                       (size_t)(c->offsets[r + 1] - c->offsets[r]), &o);
      } else if (c->type == WEIR_TYPE_BINARY) {
        size_t len = (size_t)(c->offsets[r + 1] - c->offsets[r]);
        if (weir__bytes_reserve(&o, 4 * (len / 3 + 1))) rc = WEIR_ENOMEM;
        else o.len += weir__base64(c->data + c->offsets[r], len, (char *)o.p + o.len);
      } else {
        tmp.len = 0;
        rc = json_value(c, r, &tmp);
        if (rc == WEIR_OK) rc = csv_field((const char *)tmp.p, tmp.len, &o);
      }
    }
    if (rc == WEIR_OK) rc = weir__bytes_put(&o, "\n", 1);
    if (rc == WEIR_OK) ends[r + 1] = (int64_t)o.len;
  }
  weir__bytes_free(&tmp);
  weir_block_unref(&host);
  if (rc == WEIR_OK) rc = binary_block((const char *)head.p, &o, ends, n, out);
  else {
    free(ends);
    weir__bytes_free(&o);
  }
  weir__bytes_free(&head);
  return rc;
}

static int csv_count(const char *uri, const weir__io_config *cfg,
                     uint64_t *rows, char *err, size_t errlen) {
  uint64_t lines = 0; /* count_lines leaves it unset when it fails */
  int rc = count_lines(uri, cfg, 1, &lines, err, errlen);
  *rows = lines ? lines - 1 : 0; /* the header */
  return rc;
}

const weir__fmt weir__fmt_csv = {"csv", ".csv", 1, NULL, NULL, csv_encode,
                                 csv_count, NULL, NULL, NULL};

/* ---- Block files -------------------------------------------------------- */

typedef struct blocks_state {
  ZSTD_CCtx *cctx;
  int level;
} blocks_state;

static void *blocks_open(int level) {
  blocks_state *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->cctx = ZSTD_createCCtx();
  st->level = level ? level : 3;
  if (!st->cctx) {
    free(st);
    return NULL;
  }
  return st;
}

static void blocks_close(void *p) {
  blocks_state *st = p;
  if (!st) return;
  ZSTD_freeCCtx(st->cctx);
  free(st);
}

int weir__fmt_frame_block(void *cctx, int level, const weir_block *b,
                          weir_block **out, char *err, size_t errlen) {
  weir__bytes o = {0};
  int rc = weir__bf_frame(b, cctx, level, &o, NULL);
  if (rc != WEIR_OK) {
    snprintf(err, errlen, "cannot encode a block: %s", weir_strerror(rc));
    weir__bytes_free(&o);
    return rc;
  }
  int64_t *offs = malloc(2 * sizeof *offs);
  if (!offs) {
    weir__bytes_free(&o);
    return WEIR_ENOMEM;
  }
  offs[0] = 0;
  offs[1] = (int64_t)o.len;
  weir_block *fb;
  rc = binary_block("frame", &o, offs, 1, &fb);
  if (rc) return rc;
  /* The row count beside it. */
  weir_builder *bld;
  if ((rc = weir_builder_create(&bld)) != WEIR_OK) {
    weir_block_unref(&fb);
    return rc;
  }
  weir_block *rb = NULL;
  rc = weir_builder_add_column(bld, "rows", WEIR_TYPE_INT64);
  if (rc == WEIR_OK) rc = weir_builder_append_int64(bld, 0, (int64_t)b->num_rows);
  if (rc == WEIR_OK) rc = weir_builder_finish(bld, &rb);
  weir_builder_destroy(bld);
  if (rc == WEIR_OK) rc = weir_block_add_columns(fb, rb, out);
  weir_block_unref(&rb);
  weir_block_unref(&fb);
  return rc;
}

static int blocks_encode(void *p, const weir_block *b, weir_block **out,
                         char *err, size_t errlen) {
  blocks_state *st = p;
  return weir__fmt_frame_block(st->cctx, st->level, b, out, err, errlen);
}

/* The row count from the footer of a complete block file. */
static int blocks_count(const char *uri, const weir__io_config *cfg,
                        uint64_t *rows, char *err, size_t errlen) {
  weir__object *o;
  size_t n;
  int rc = weir__vfs_list(uri, cfg, &o, &n, err, errlen);
  if (rc) return rc;
  uint64_t size = n == 1 ? o[0].size : 0;
  weir__vfs_list_free(o, n);
  if (size < WEIR__BF_HEADER_SIZE + 24) {
    snprintf(err, errlen, "%s: too short for a block file", uri);
    return WEIR_EFORMAT;
  }
  weir__rstream *s;
  rc = weir__rstream_open(uri, cfg, size - 24, 24, &s, err, errlen);
  if (rc) return rc;
  unsigned char t[24];
  size_t got = 0;
  while (got < 24) {
    long r = weir__rstream_read(s, t + got, 24 - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  weir__rstream_close(s);
  if (got != 24 || memcmp(t + 16, WEIR__BF_END, 8) != 0) {
    snprintf(err, errlen, "%s: no block file footer", uri);
    return WEIR_EFORMAT;
  }
  memcpy(rows, t + 8, 8);
  return WEIR_OK;
}

const weir__fmt weir__fmt_blocks = {"blocks", ".weir", 0, blocks_open,
                                    blocks_close, blocks_encode, blocks_count,
                                    NULL, NULL, NULL};
