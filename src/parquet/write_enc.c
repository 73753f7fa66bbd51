/* A block into one Parquet row group: per column a chunk of pages (a
 * dictionary page and RLE_DICTIONARY data pages for strings and bytes
 * unless the dictionary grows too large, PLAIN otherwise), compressed,
 * with statistics; and the row group's description for the footer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/parquet.h"
#include "core/block_internal.h"
#include "parquet/codecs.h"
#include "parquet/encodings.h"
#include "parquet/meta.h"
#include "parquet/thrift.h"
#include "parquet/write_internal.h"

/* ---- The schema ---- */

static int elem_phys(int dtype, int *conv, int *flba) {
  *flba = 0;
  *conv = -1;
  switch (dtype) {
  case WEIR_DTYPE_INT8: *conv = 15; return PQ_INT32;
  case WEIR_DTYPE_INT16: *conv = 16; return PQ_INT32;
  case WEIR_DTYPE_UINT8: *conv = 11; return PQ_INT32;
  case WEIR_DTYPE_UINT16: *conv = 12; return PQ_INT32;
  case WEIR_DTYPE_UINT32: *conv = 13; return PQ_INT32;
  case WEIR_DTYPE_INT32: return PQ_INT32;
  case WEIR_DTYPE_UINT64: *conv = 14; return PQ_INT64;
  case WEIR_DTYPE_INT64: return PQ_INT64;
  case WEIR_DTYPE_FLOAT32: return PQ_FLOAT;
  case WEIR_DTYPE_FLOAT64: return PQ_DOUBLE;
  case WEIR_DTYPE_FLOAT16: *conv = 100; *flba = 2; return PQ_FIXED;
  case WEIR_DTYPE_BFLOAT16: *flba = 2; return PQ_FIXED;
  default: return -1;
  }
}

static void schema_el(weir__tw *w, int type, int flba, int rep, const char *name,
                      int children, int converted, int logical, int int_bits, int int_signed) {
  weir__tw_struct_begin(w, 0);
  if (type >= 0) weir__tw_i32(w, 1, type);
  if (flba) weir__tw_i32(w, 2, flba);
  if (rep >= 0) weir__tw_i32(w, 3, rep);
  weir__tw_string(w, 4, name);
  if (children) weir__tw_i32(w, 5, children);
  if (converted >= 0) weir__tw_i32(w, 6, converted);
  if (logical) {
    weir__tw_struct_begin(w, 10);
    weir__tw_struct_begin(w, (int16_t)logical);
    if (logical == 10) {
      weir__tw_field(w, WEIR__T_BYTE, 1);
      uint8_t b = (uint8_t)int_bits;
      weir__tw_bytes(w, &b, 1);
      weir__tw_bool(w, 2, int_signed);
    }
    weir__tw_struct_end(w);
    weir__tw_struct_end(w);
  }
  weir__tw_struct_end(w);
}

/* The physical layout of column `c`: its leaf type, levels and path. */
typedef struct wcol {
  const weir__column *c;
  int phys, flba, is_list;
  size_t esize;        /* bytes of a value (a row for flat fixed, an element for lists) */
} wcol;

static int plan_column(const weir__column *c, wcol *w, char *err, size_t errlen) {
  memset(w, 0, sizeof *w);
  w->c = c;
  int conv;
  switch (c->type) {
  case WEIR_TYPE_BOOL: w->phys = PQ_BOOLEAN; w->esize = 1; return 0;
  case WEIR_TYPE_INT32: w->phys = PQ_INT32; w->esize = 4; return 0;
  case WEIR_TYPE_INT64: w->phys = PQ_INT64; w->esize = 8; return 0;
  case WEIR_TYPE_FLOAT32: w->phys = PQ_FLOAT; w->esize = 4; return 0;
  case WEIR_TYPE_FLOAT64: w->phys = PQ_DOUBLE; w->esize = 8; return 0;
  case WEIR_TYPE_STRING:
  case WEIR_TYPE_BINARY: w->phys = PQ_BYTE_ARRAY; return 0;
  case WEIR_TYPE_TENSOR:
    w->phys = PQ_FIXED;
    w->esize = weir__column_row_bytes(c);
    w->flba = (int)w->esize;
    if (w->esize == 0 || w->esize > INT32_MAX) {
      snprintf(err, errlen, "column '%s': tensor rows of %zu bytes cannot be a "
               "FIXED_LEN_BYTE_ARRAY", c->name, w->esize);
      return WEIR_EINVAL;
    }
    return 0;
  case WEIR_TYPE_LIST:
    w->is_list = 1;
    w->phys = elem_phys(c->dtype, &conv, &w->flba);
    w->esize = weir_dtype_size(c->dtype);
    if (w->phys < 0) {
      snprintf(err, errlen, "column '%s': list of %s", c->name, weir_dtype_name(c->dtype));
      return WEIR_EINVAL;
    }
    return 0;
  default:
    snprintf(err, errlen, "column '%s' has type %d", c->name, c->type);
    return WEIR_EINVAL;
  }
}

/* The schema elements and key-value metadata of block `b`'s columns. */
static void write_schema(const weir_block *b, const wcol *cols, weir__tw *sch, size_t *nsch,
                         weir__tw *kv, size_t *nkv) {
  schema_el(sch, -1, 0, -1, "schema", (int)b->num_columns, -1, 0, 0, 0);
  *nsch = 1;
  *nkv = 0;
  for (size_t i = 0; i < b->num_columns; i++) {
    const wcol *w = &cols[i];
    const weir__column *c = w->c;
    if (!w->is_list) {
      int str = c->type == WEIR_TYPE_STRING;
      schema_el(sch, w->phys, w->flba, PQ_OPTIONAL, c->name, 0, str ? 0 : -1, str ? 1 : 0, 0, 0);
      (*nsch)++;
      if (c->type == WEIR_TYPE_TENSOR) {
        char key[600], val[300];
        int n = snprintf(val, sizeof val, "%s:", weir_dtype_name(c->dtype));
        for (int d = 0; d < c->ndim; d++)
          n += snprintf(val + n, sizeof val - (size_t)n, "%s%lld", d ? "x" : "",
                        (long long)c->shape[d]);
        snprintf(key, sizeof key, "weir.tensor.%s", c->name);
        weir__tw_struct_begin(kv, 0);
        weir__tw_string(kv, 1, key);
        weir__tw_string(kv, 2, val);
        weir__tw_struct_end(kv);
        (*nkv)++;
      }
      continue;
    }
    int conv, flba;
    elem_phys(c->dtype, &conv, &flba);
    schema_el(sch, -1, 0, PQ_OPTIONAL, c->name, 1, 3, 3, 0, 0);
    schema_el(sch, -1, 0, PQ_REPEATED, "list", 1, -1, 0, 0, 0);
    int bits = (int)weir_dtype_size(c->dtype) * 8;
    if (conv >= 11 && conv <= 16)
      schema_el(sch, w->phys, 0, PQ_REQUIRED, "element", 0, conv, 10, bits, conv >= 15);
    else if (conv == 100)
      schema_el(sch, w->phys, flba, PQ_REQUIRED, "element", 0, -1, 15, 0, 0);
    else
      schema_el(sch, w->phys, flba, PQ_REQUIRED, "element", 0, -1, 0, 0, 0);
    *nsch += 3;
  }
}

/* ---- Values ---- */

static int valid(const weir__column *c, size_t r) {
  return !c->validity || !c->null_count || ((c->validity[r >> 3] >> (r & 7)) & 1);
}

/* A byte-array value of row r. */
static const uint8_t *ba(const weir__column *c, size_t r, size_t *n) {
  *n = (size_t)(c->offsets[r + 1] - c->offsets[r]);
  return c->data + c->offsets[r];
}

/* A dictionary of byte arrays: open addressing over the distinct values. */
typedef struct dict {
  uint32_t *slots;     /* index + 1, 0 empty */
  size_t mask;
  size_t n;
  const uint8_t **vp;
  size_t *vn;
  size_t cap;
  size_t bytes;        /* PLAIN size of the dictionary page */
} dict;

static uint64_t hash(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t k;
    memcpy(&k, p + i, 8);
    h = (h ^ k) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h ^ (h >> 32);
}

static void dict_free(dict *d) {
  free(d->slots);
  free(d->vp);
  free(d->vn);
  memset(d, 0, sizeof *d);
}

/* Index of the value, added when new; -1 out of memory. */
static long dict_add(dict *d, const uint8_t *p, size_t n) {
  if ((d->n + 1) * 2 > d->mask + 1) {
    size_t size = d->mask ? (d->mask + 1) * 2 : 1024;
    uint32_t *s = calloc(size, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < d->n; i++) {
      size_t h = hash(d->vp[i], d->vn[i]) & (size - 1);
      while (s[h]) h = (h + 1) & (size - 1);
      s[h] = (uint32_t)i + 1;
    }
    free(d->slots);
    d->slots = s;
    d->mask = size - 1;
  }
  size_t h = hash(p, n) & d->mask;
  while (d->slots[h]) {
    size_t i = d->slots[h] - 1;
    if (d->vn[i] == n && (n == 0 || !memcmp(d->vp[i], p, n))) return (long)i;
    h = (h + 1) & d->mask;
  }
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 1024;
    const uint8_t **vp = realloc(d->vp, cap * sizeof *vp);
    if (!vp) return -1;
    d->vp = vp;
    size_t *vn = realloc(d->vn, cap * sizeof *vn);
    if (!vn) return -1;
    d->vn = vn;
    d->cap = cap;
  }
  d->vp[d->n] = p;
  d->vn[d->n] = n;
  d->slots[h] = (uint32_t)d->n + 1;
  d->bytes += 4 + n;
  return (long)d->n++;
}

/* ---- Pages ---- */

typedef struct chunk_out {
  pq_buf *frame;        /* the row group's bytes */
  pq_buf page;          /* the page being built, uncompressed */
  pq_buf comp;
  int codec, level;
  int64_t tu, tc;       /* total uncompressed / compressed sizes */
  char *err;
  size_t errlen;
} chunk_out;

static void put_i32le(pq_buf *b, uint32_t v) { weir__pq_buf_put(b, &v, 4); }

/* Compresses o->page and appends header + body to the frame. */
static int flush_page(chunk_out *o, int type, int32_t nvals, int enc) {
  size_t bound = weir__pq_compress_bound(o->codec, o->page.len);
  if (o->comp.cap < bound) {
    uint8_t *p = realloc(o->comp.p, bound + 16);
    if (!p) return WEIR_ENOMEM;
    o->comp.p = p;
    o->comp.cap = bound + 16;
  }
  size_t clen;
  int rc = weir__pq_compress(o->codec, o->level, o->page.p, o->page.len, o->comp.p, &clen,
                             o->err, o->errlen);
  if (rc) return rc;
  if (o->page.len > INT32_MAX || clen > INT32_MAX) {
    snprintf(o->err, o->errlen, "a page larger than 2 GiB");
    return WEIR_EINVAL;
  }
  weir__tw h;
  weir__tw_init(&h);
  weir__tw_struct_begin(&h, 0);
  weir__tw_i32(&h, 1, type);
  weir__tw_i32(&h, 2, (int32_t)o->page.len);
  weir__tw_i32(&h, 3, (int32_t)clen);
  weir__tw_struct_begin(&h, type == PQ_DICTIONARY_PAGE ? 7 : 5);
  weir__tw_i32(&h, 1, nvals);
  weir__tw_i32(&h, 2, enc);
  if (type != PQ_DICTIONARY_PAGE) {
    weir__tw_i32(&h, 3, PQ_RLE);
    weir__tw_i32(&h, 4, PQ_RLE);
  }
  weir__tw_struct_end(&h);
  weir__tw_struct_end(&h);
  if (h.oom) {
    weir__tw_free(&h);
    return WEIR_ENOMEM;
  }
  weir__pq_buf_put(o->frame, h.p, h.len);
  weir__pq_buf_put(o->frame, o->comp.p, clen);
  o->tu += (int64_t)(h.len + o->page.len);
  o->tc += (int64_t)(h.len + clen);
  weir__tw_free(&h);
  o->page.len = 0;
  return o->frame->oom ? WEIR_ENOMEM : WEIR_OK;
}

/* Levels with a 4-byte length prefix (data page v1). */
static void put_levels(pq_buf *b, const uint32_t *lv, size_t n, int bw) {
  size_t at = b->len;
  put_i32le(b, 0);
  weir__pq_rle_encode(b, lv, n, bw);
  if (!b->oom) {
    uint32_t len = (uint32_t)(b->len - at - 4);
    memcpy(b->p + at, &len, 4);
  }
}

/* Statistics of a chunk. */
typedef struct stats {
  int64_t nulls;
  int have;
  uint8_t min[64], max[64];
  size_t min_len, max_len;
  const uint8_t *bmin, *bmax;   /* byte arrays: into the column */
  size_t bmin_len, bmax_len;
} stats;

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = n ? memcmp(a, b, n) : 0;
  return c ? c : (an > bn) - (an < bn);
}

static void stat_fixed(stats *s, int phys, const uint8_t *v) {
  int less, more;
  switch (phys) {
  case PQ_BOOLEAN: {
    uint8_t b = *v;
    if (!s->have) { s->min[0] = s->max[0] = b; s->min_len = s->max_len = 1; s->have = 1; return; }
    if (b < s->min[0]) s->min[0] = b;
    if (b > s->max[0]) s->max[0] = b;
    return;
  }
  case PQ_INT32: {
    int32_t x, lo, hi;
    memcpy(&x, v, 4);
    memcpy(&lo, s->min, 4);
    memcpy(&hi, s->max, 4);
    less = !s->have || x < lo;
    more = !s->have || x > hi;
    break;
  }
  case PQ_INT64: {
    int64_t x, lo, hi;
    memcpy(&x, v, 8);
    memcpy(&lo, s->min, 8);
    memcpy(&hi, s->max, 8);
    less = !s->have || x < lo;
    more = !s->have || x > hi;
    break;
  }
  case PQ_FLOAT: {
    float x, lo, hi;
    memcpy(&x, v, 4);
    if (isnan(x)) return;
    memcpy(&lo, s->min, 4);
    memcpy(&hi, s->max, 4);
    less = !s->have || x < lo;
    more = !s->have || x > hi;
    break;
  }
  case PQ_DOUBLE: {
    double x, lo, hi;
    memcpy(&x, v, 8);
    if (isnan(x)) return;
    memcpy(&lo, s->min, 8);
    memcpy(&hi, s->max, 8);
    less = !s->have || x < lo;
    more = !s->have || x > hi;
    break;
  }
  default:
    return;
  }
  size_t w = phys == PQ_INT32 || phys == PQ_FLOAT ? 4 : 8;
  if (less) memcpy(s->min, v, w);
  if (more) memcpy(s->max, v, w);
  s->min_len = s->max_len = w;
  s->have = 1;
}

static void stat_bytes(stats *s, const uint8_t *p, size_t n) {
  if (!s->have) {
    s->bmin = s->bmax = p;
    s->bmin_len = s->bmax_len = n;
    s->have = 1;
    return;
  }
  if (cmp_bytes(p, n, s->bmin, s->bmin_len) < 0) { s->bmin = p; s->bmin_len = n; }
  if (cmp_bytes(p, n, s->bmax, s->bmax_len) > 0) { s->bmax = p; s->bmax_len = n; }
}

/* Writes the pages of one column into o->frame; fills the chunk meta
 * (num_values, encodings, dictionary offset) in `cm`. */
typedef struct col_meta {
  int64_t num_values, data_off, dict_off;
  int enc;             /* PLAIN or RLE_DICTIONARY */
  stats st;
} col_meta;

static int encode_column(const wcol *w, const weir_parquet_write_options *opt, chunk_out *o,
                         col_meta *cm) {
  const weir__column *c = w->c;
  size_t rows = c->length;
  size_t page_bytes = opt->page_bytes ? opt->page_bytes : (1u << 20);
  size_t dict_limit = opt->dictionary_bytes ? opt->dictionary_bytes : (1u << 20);
  memset(cm, 0, sizeof *cm);
  cm->dict_off = -1;
  cm->enc = PQ_PLAIN;
  int rc = WEIR_OK;
  uint32_t *idx = NULL, *lv = NULL, *rp = NULL;
  dict d = {0};
  size_t base = o->frame->len;

  /* Strings and bytes: a dictionary while it stays small. */
  if (w->phys == PQ_BYTE_ARRAY && dict_limit != SIZE_MAX) {
    idx = malloc((rows ? rows : 1) * sizeof *idx);
    if (!idx) return WEIR_ENOMEM;
    int use = 1;
    for (size_t r = 0; r < rows && use; r++) {
      if (!valid(c, r)) continue;
      size_t n;
      const uint8_t *p = ba(c, r, &n);
      long k = dict_add(&d, p, n);
      if (k < 0) {
        rc = WEIR_ENOMEM;
        use = 0;
        break;
      }
      idx[r] = (uint32_t)k;
      if (d.bytes > dict_limit) use = 0;
    }
    if (rc) goto done;
    if (use && d.n > 0) {
      cm->enc = PQ_RLE_DICTIONARY;
      cm->dict_off = (int64_t)(o->frame->len - base);
      for (size_t i = 0; i < d.n; i++) {
        put_i32le(&o->page, (uint32_t)d.vn[i]);
        weir__pq_buf_put(&o->page, d.vp[i], d.vn[i]);
      }
      if (o->page.oom) { rc = WEIR_ENOMEM; goto done; }
      rc = flush_page(o, PQ_DICTIONARY_PAGE, (int32_t)d.n, PQ_PLAIN);
      if (rc) goto done;
    }
  }
  cm->data_off = (int64_t)(o->frame->len - base);

  /* Levels and values, page by page. */
  size_t r = 0;
  int dict_bw = weir__pq_bit_width(d.n ? d.n - 1 : 0);
  while (r < rows) {
    /* The rows of this page: about page_bytes of values. */
    size_t end = r, bytes = 0, nlv = 0;
    while (end < rows && (bytes < page_bytes || end == r)) {
      if (w->is_list) {
        size_t ne = (size_t)(c->offsets[end + 1] - c->offsets[end]);
        bytes += ne * w->esize + 1;
        nlv += ne ? ne : 1;
      } else if (w->phys == PQ_BYTE_ARRAY) {
        size_t n = (size_t)(c->offsets[end + 1] - c->offsets[end]);
        bytes += cm->enc == PQ_RLE_DICTIONARY ? 2 : n + 4;
        nlv++;
      } else {
        bytes += w->esize ? w->esize : 1;
        nlv++;
      }
      end++;
    }
    lv = realloc(lv, (nlv ? nlv : 1) * sizeof *lv);
    rp = w->is_list ? realloc(rp, (nlv ? nlv : 1) * sizeof *rp) : rp;
    if (!lv || (w->is_list && !rp)) { rc = WEIR_ENOMEM; goto done; }
    size_t k = 0;
    for (size_t i = r; i < end; i++) {
      int ok = valid(c, i);
      if (!ok) cm->st.nulls++;
      if (!w->is_list) {
        lv[k++] = (uint32_t)ok;
        continue;
      }
      size_t ne = ok ? (size_t)(c->offsets[i + 1] - c->offsets[i]) : 0;
      if (!ok || ne == 0) {
        rp[k] = 0;
        lv[k++] = ok ? 1 : 0;
        continue;
      }
      for (size_t e = 0; e < ne; e++) {
        rp[k] = e ? 1 : 0;
        lv[k++] = 2;
      }
    }
    if (w->is_list) put_levels(&o->page, rp, k, 1);
    put_levels(&o->page, lv, k, w->is_list ? 2 : 1);
    /* Values of the valid rows. */
    if (w->is_list) {
      for (size_t i = r; i < end; i++) {
        if (!valid(c, i)) continue;
        size_t ne = (size_t)(c->offsets[i + 1] - c->offsets[i]);
        const uint8_t *p = c->data + (size_t)c->offsets[i] * w->esize;
        if (w->phys == PQ_INT32 && w->esize < 4) {
          /* 8- and 16-bit elements widen to INT32. */
          for (size_t e = 0; e < ne; e++) {
            int32_t x;
            switch (c->dtype) {
            case WEIR_DTYPE_INT8: x = ((const int8_t *)p)[e]; break;
            case WEIR_DTYPE_UINT8: x = p[e]; break;
            case WEIR_DTYPE_INT16: { int16_t t; memcpy(&t, p + 2 * e, 2); x = t; break; }
            default: { uint16_t t; memcpy(&t, p + 2 * e, 2); x = t; break; }
            }
            weir__pq_buf_put(&o->page, &x, 4);
          }
        } else {
          weir__pq_buf_put(&o->page, p, ne * w->esize);
        }
      }
    } else if (w->phys == PQ_BOOLEAN) {
      uint8_t acc = 0;
      int nb = 0;
      for (size_t i = r; i < end; i++) {
        if (!valid(c, i)) continue;
        uint8_t v = (c->data[i >> 3] >> (i & 7)) & 1;
        if (!opt->no_statistics) stat_fixed(&cm->st, PQ_BOOLEAN, &v);
        acc |= (uint8_t)(v << nb);
        if (++nb == 8) {
          weir__pq_buf_put(&o->page, &acc, 1);
          acc = 0;
          nb = 0;
        }
      }
      if (nb) weir__pq_buf_put(&o->page, &acc, 1);
    } else if (w->phys == PQ_BYTE_ARRAY) {
      if (cm->enc == PQ_RLE_DICTIONARY) {
        uint32_t *ix = malloc((end - r + 1) * sizeof *ix);
        if (!ix) { rc = WEIR_ENOMEM; goto done; }
        size_t m = 0;
        for (size_t i = r; i < end; i++)
          if (valid(c, i)) ix[m++] = idx[i];
        uint8_t bw = (uint8_t)dict_bw;
        weir__pq_buf_put(&o->page, &bw, 1);
        weir__pq_rle_encode(&o->page, ix, m, bw);
        free(ix);
      }
      for (size_t i = r; i < end; i++) {
        if (!valid(c, i)) continue;
        size_t n;
        const uint8_t *p = ba(c, i, &n);
        if (!opt->no_statistics) stat_bytes(&cm->st, p, n);
        if (cm->enc == PQ_PLAIN) {
          put_i32le(&o->page, (uint32_t)n);
          weir__pq_buf_put(&o->page, p, n);
        }
      }
    } else {
      /* Fixed width: copy runs of valid rows. */
      size_t run = r;
      for (size_t i = r; i <= end; i++) {
        if (i < end && valid(c, i)) {
          if (!opt->no_statistics && w->phys != PQ_FIXED)
            stat_fixed(&cm->st, w->phys, c->data + i * w->esize);
          continue;
        }
        if (i > run) weir__pq_buf_put(&o->page, c->data + run * w->esize, (i - run) * w->esize);
        run = i + 1;
      }
    }
    if (o->page.oom) { rc = WEIR_ENOMEM; goto done; }
    cm->num_values += (int64_t)k;
    rc = flush_page(o, PQ_DATA_PAGE, (int32_t)k, cm->enc);
    if (rc) goto done;
    r = end;
  }
  if (rows == 0) {
    /* A chunk of no rows still has one (empty) page. */
    put_levels(&o->page, NULL, 0, 1);
    rc = flush_page(o, PQ_DATA_PAGE, 0, PQ_PLAIN);
  }
done:
  free(idx);
  free(lv);
  free(rp);
  dict_free(&d);
  return rc;
}

/* ---- The frame and its description ---- */

static void put_u32(pq_buf *b, uint32_t v) { weir__pq_buf_put(b, &v, 4); }
static void put_i64(pq_buf *b, int64_t v) { weir__pq_buf_put(b, &v, 8); }
static void put_blob(pq_buf *b, const void *p, size_t n) {
  put_u32(b, (uint32_t)n);
  weir__pq_buf_put(b, p, n);
}

int weir__pq_encode_row_group(const weir_block *b, const weir_parquet_write_options *opt,
                              pq_buf *frame, pq_buf *meta, char *err, size_t errlen) {
  size_t nc = b->num_columns;
  wcol *cols = calloc(nc ? nc : 1, sizeof *cols);
  if (!cols) return WEIR_ENOMEM;
  int rc = WEIR_OK;
  for (size_t i = 0; i < nc && !rc; i++) rc = plan_column(&b->cols[i], &cols[i], err, errlen);
  if (rc) {
    free(cols);
    return rc;
  }
  weir__tw sch, kv;
  weir__tw_init(&sch);
  weir__tw_init(&kv);
  size_t nsch, nkv;
  write_schema(b, cols, &sch, &nsch, &kv, &nkv);
  put_blob(meta, sch.p, sch.len);
  put_u32(meta, (uint32_t)nsch);
  put_blob(meta, kv.p, kv.len);
  put_u32(meta, (uint32_t)nkv);
  put_i64(meta, (int64_t)b->num_rows);
  put_i64(meta, (int64_t)weir_block_nbytes(b));
  put_u32(meta, (uint32_t)nc);
  if (sch.oom || kv.oom) rc = WEIR_ENOMEM;
  weir__tw_free(&sch);
  weir__tw_free(&kv);
  static const int codecs[] = {PQ_ZSTD, PQ_SNAPPY, PQ_GZIP, PQ_LZ4_RAW, PQ_UNCOMPRESSED};
  chunk_out o = {.frame = frame, .codec = codecs[opt->codec], .level = opt->compression_level,
                 .err = err, .errlen = errlen};
  for (size_t i = 0; i < nc && !rc; i++) {
    const wcol *w = &cols[i];
    col_meta cm;
    size_t start = frame->len;
    o.tu = o.tc = 0;
    rc = encode_column(w, opt, &o, &cm);
    if (rc) {
      if (!err[0]) snprintf(err, errlen, "column '%s': out of memory", w->c->name);
      break;
    }
    /* The path in the schema. */
    put_u32(meta, w->is_list ? 3 : 1);
    put_blob(meta, w->c->name, strlen(w->c->name));
    if (w->is_list) {
      put_blob(meta, "list", 4);
      put_blob(meta, "element", 7);
    }
    put_u32(meta, (uint32_t)w->phys);
    put_u32(meta, (uint32_t)o.codec);
    put_i64(meta, cm.num_values);
    put_i64(meta, o.tu);
    put_i64(meta, o.tc);
    put_i64(meta, (int64_t)start + cm.data_off);
    put_i64(meta, cm.dict_off >= 0 ? (int64_t)start + cm.dict_off : -1);
    put_u32(meta, (uint32_t)cm.enc);
    int stats = !opt->no_statistics;
    weir__pq_buf_put(meta, &(uint8_t){(uint8_t)stats}, 1);
    put_i64(meta, cm.st.nulls);
    const uint8_t *mn = cm.st.bmin ? cm.st.bmin : cm.st.min;
    const uint8_t *mx = cm.st.bmin ? cm.st.bmax : cm.st.max;
    size_t mnl = cm.st.bmin ? cm.st.bmin_len : cm.st.min_len;
    size_t mxl = cm.st.bmin ? cm.st.bmax_len : cm.st.max_len;
    /* Long string bounds cost more than they save: left out. */
    int mm = stats && cm.st.have && mnl <= 64 && mxl <= 64;
    weir__pq_buf_put(meta, &(uint8_t){(uint8_t)mm}, 1);
    if (mm) {
      put_blob(meta, mn, mnl);
      put_blob(meta, mx, mxl);
    }
  }
  weir__pq_buf_free(&o.page);
  weir__pq_buf_free(&o.comp);
  free(cols);
  if (!rc && (frame->oom || meta->oom)) rc = WEIR_ENOMEM;
  return rc;
}

/* ---- The footer ---- */

typedef struct rd {
  const uint8_t *p, *end;
  int bad;
} rd;

static const uint8_t *rd_take(rd *r, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  return p;
}
static uint32_t rd_u32(rd *r) {
  const uint8_t *p = rd_take(r, 4);
  uint32_t v = 0;
  if (p) memcpy(&v, p, 4);
  return v;
}
static int64_t rd_i64(rd *r) {
  const uint8_t *p = rd_take(r, 8);
  int64_t v = 0;
  if (p) memcpy(&v, p, 8);
  return v;
}
static const uint8_t *rd_blob(rd *r, size_t *n) {
  *n = rd_u32(r);
  return rd_take(r, *n);
}

int weir__pq_footer(const uint64_t *off, const uint8_t *const *metas, const size_t *meta_lens,
                    size_t n, pq_buf *out, char *err, size_t errlen) {
  weir__tw w;
  weir__tw_init(&w);
  int rc = WEIR_OK;
  const uint8_t *sch = NULL, *kvs = NULL;
  size_t schn = 0, kvn = 0;
  uint32_t nsch = 0, nkv = 0;
  int64_t total_rows = 0;
  /* The schema of the first row group; every other must be the same. */
  for (size_t i = 0; i < n; i++) {
    rd r = {metas[i], metas[i] + meta_lens[i], 0};
    size_t sn, kn;
    const uint8_t *s = rd_blob(&r, &sn);
    uint32_t ns = rd_u32(&r);
    const uint8_t *k = rd_blob(&r, &kn);
    uint32_t nk = rd_u32(&r);
    total_rows += rd_i64(&r);
    if (r.bad) return WEIR_EINVAL;
    if (i == 0) {
      sch = s; schn = sn; nsch = ns; kvs = k; kvn = kn; nkv = nk;
    } else if (sn != schn || memcmp(s, sch, sn)) {
      snprintf(err, errlen, "blocks with different columns cannot go into one Parquet "
               "file (row group %zu differs from the first)", i);
      return WEIR_EINVAL;
    }
  }
  weir__tw_struct_begin(&w, 0);
  weir__tw_i32(&w, 1, 1);
  weir__tw_list(&w, 2, WEIR__T_STRUCT, nsch);
  weir__tw_bytes(&w, sch, schn);
  weir__tw_i64(&w, 3, total_rows);
  weir__tw_list(&w, 4, WEIR__T_STRUCT, n);
  for (size_t i = 0; i < n && !rc; i++) {
    rd r = {metas[i], metas[i] + meta_lens[i], 0};
    size_t t;
    rd_blob(&r, &t);
    rd_u32(&r);
    rd_blob(&r, &t);
    rd_u32(&r);
    int64_t rows = rd_i64(&r), bytes = rd_i64(&r);
    uint32_t nc = rd_u32(&r);
    if (r.bad) { rc = WEIR_EINVAL; break; }
    int64_t rg_tc = 0;
    weir__tw_struct_begin(&w, 0);
    weir__tw_list(&w, 1, WEIR__T_STRUCT, nc);
    for (uint32_t c = 0; c < nc && !r.bad; c++) {
      uint32_t np = rd_u32(&r);
      if (np > 3) { r.bad = 1; break; }
      const uint8_t *path[3];
      size_t pl[3];
      for (uint32_t k = 0; k < np; k++) path[k] = rd_blob(&r, &pl[k]);
      uint32_t phys = rd_u32(&r), codec = rd_u32(&r);
      int64_t nv = rd_i64(&r), tu = rd_i64(&r), tc = rd_i64(&r);
      int64_t data_off = rd_i64(&r), dict_off = rd_i64(&r);
      uint32_t enc = rd_u32(&r);
      const uint8_t *fl = rd_take(&r, 1);
      int64_t nulls = rd_i64(&r);
      const uint8_t *mmf = rd_take(&r, 1);
      const uint8_t *mn = NULL, *mx = NULL;
      size_t mnl = 0, mxl = 0;
      if (mmf && *mmf) {
        mn = rd_blob(&r, &mnl);
        mx = rd_blob(&r, &mxl);
      }
      if (r.bad) break;
      int64_t base = (int64_t)off[i];
      rg_tc += tc;
      weir__tw_struct_begin(&w, 0);
      weir__tw_i64(&w, 2, base + (dict_off >= 0 ? dict_off : data_off));
      weir__tw_struct_begin(&w, 3);
      weir__tw_i32(&w, 1, (int32_t)phys);
      weir__tw_list(&w, 2, WEIR__T_I32, enc == PQ_PLAIN ? 2 : 3);
      weir__tw_elem_i32(&w, PQ_RLE);
      weir__tw_elem_i32(&w, PQ_PLAIN);
      if (enc != PQ_PLAIN) weir__tw_elem_i32(&w, (int32_t)enc);
      weir__tw_list(&w, 3, WEIR__T_BINARY, np);
      for (uint32_t k = 0; k < np; k++) weir__tw_elem_binary(&w, path[k], pl[k]);
      weir__tw_i32(&w, 4, (int32_t)codec);
      weir__tw_i64(&w, 5, nv);
      weir__tw_i64(&w, 6, tu);
      weir__tw_i64(&w, 7, tc);
      weir__tw_i64(&w, 9, base + data_off);
      if (dict_off >= 0) weir__tw_i64(&w, 11, base + dict_off);
      if (fl && *fl) {
        weir__tw_struct_begin(&w, 12);
        weir__tw_i64(&w, 3, nulls);
        if (mn) {
          weir__tw_binary(&w, 5, mx, mxl);
          weir__tw_binary(&w, 6, mn, mnl);
        }
        weir__tw_struct_end(&w);
      }
      weir__tw_struct_end(&w);
      weir__tw_struct_end(&w);
    }
    if (r.bad) { rc = WEIR_EINVAL; break; }
    weir__tw_i64(&w, 2, bytes);
    weir__tw_i64(&w, 3, rows);
    weir__tw_i64(&w, 5, (int64_t)off[i]);
    weir__tw_i64(&w, 6, rg_tc);
    weir__tw_field(&w, WEIR__T_I16, 7);
    weir__tw_varint(&w, ((uint64_t)i << 1));
    weir__tw_struct_end(&w);
  }
  if (nkv) {
    weir__tw_list(&w, 5, WEIR__T_STRUCT, nkv);
    weir__tw_bytes(&w, kvs, kvn);
  }
  weir__tw_string(&w, 6, "weir version " "0.1 (native Parquet writer)");
  weir__tw_struct_end(&w);
  if (!rc && w.oom) rc = WEIR_ENOMEM;
  if (rc == WEIR_EINVAL && !err[0]) snprintf(err, errlen, "a damaged row group description");
  if (!rc) {
    uint32_t len = (uint32_t)w.len;
    weir__pq_buf_put(out, w.p, w.len);
    weir__pq_buf_put(out, &len, 4);
    weir__pq_buf_put(out, "PAR1", 4);
    if (out->oom) rc = WEIR_ENOMEM;
  }
  weir__tw_free(&w);
  return rc;
}
