/* One column chunk into one block column: pages parsed and decompressed,
 * levels and values decoded, and the values scattered into weir's layout
 * (validity bitmap, values or offsets) with their conversion. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "io/json.h"
#include "parquet/codecs.h"
#include "parquet/encodings.h"
#include "parquet/parquet_internal.h"

/* The column being filled: one block's rows of the chunk. Rows are known
 * in advance, so fixed-width values, offsets and the bitmap are allocated
 * once. */
typedef struct out {
  const pq_leaf *leaf;
  int64_t rows;
  int64_t row;             /* rows done (flat), or the open row (lists) */
  size_t width;            /* bytes of a value (flat fixed) or element */
  uint8_t *vals;           /* fixed values, element bytes or string bytes */
  size_t vlen, vcap;
  int64_t *offs;           /* rows + 1: STRING/BINARY/LIST */
  uint8_t *valid;          /* rows bits, all set at first */
  size_t nulls;
  int64_t elems;           /* LIST: elements so far */
  int64_t first;           /* the chunk's row of row 0, for messages */
  int row_null;            /* LIST: the open row is a null list */
  int64_t row_elems;       /* LIST: elements of the open row */
} out;

static int vals_grow(out *o, size_t extra) {
  if (o->vlen + extra <= o->vcap) return 0;
  size_t c = o->vcap ? o->vcap : 4096;
  while (c < o->vlen + extra) {
    if (c > SIZE_MAX / 2) return -1;
    c *= 2;
  }
  uint8_t *p = weir__mem_realloc(o->vals, c);
  if (!p) return -1;
  o->vals = p;
  o->vcap = c;
  return 0;
}

static void set_null(out *o, int64_t row) {
  o->valid[row >> 3] &= (uint8_t)~(1u << (row & 7));
  o->nulls++;
}

static double pow10i(int s) {
  double p = 1;
  for (int i = 0; i < s && i < 400; i++) p *= 10;
  return p;
}

static float half_to_float(uint16_t h) {
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

/* A big-endian two's complement integer of n bytes, as a double. */
static double be_signed(const uint8_t *p, size_t n) {
  if (!n) return 0;
  double v = (double)(int8_t)p[0];
  for (size_t i = 1; i < n; i++) v = v * 256 + p[i];
  return v;
}

/* A DECIMAL's unscaled value (big-endian two's complement, n bytes) over
 * 10^scale, correctly rounded as pyarrow's float(Decimal) is: its decimal
 * digits and exponent through strtod (which needs no locale for them). */
static double dec_bytes(const uint8_t *p, size_t n, int scale) {
  if (!n) return 0;
  if (n > 64 || scale < 0 || scale > 400) return be_signed(p, n) / pow10i(scale);
  uint8_t m[64];
  int neg = p[0] & 0x80;
  memcpy(m, p, n);
  if (neg) { /* the magnitude: invert and add one */
    unsigned carry = 1;
    for (size_t i = n; i-- > 0;) {
      unsigned v = (uint8_t)~m[i] + carry;
      m[i] = (uint8_t)v;
      carry = v >> 8;
    }
  }
  char digits[160], text[200];
  size_t nd = 0, at = 0;
  while (at < n && !m[at]) at++;
  while (at < n) { /* divide by ten, the remainder is the next digit */
    unsigned rem = 0;
    for (size_t i = at; i < n; i++) {
      unsigned cur = rem * 256 + m[i];
      m[i] = (uint8_t)(cur / 10);
      rem = cur % 10;
    }
    digits[nd++] = (char)('0' + rem);
    while (at < n && !m[at]) at++;
  }
  if (!nd) return 0;
  size_t k = 0;
  if (neg) text[k++] = '-';
  while (nd) text[k++] = digits[--nd];
  snprintf(text + k, sizeof text - k, "e-%d", scale);
  return strtod(text, NULL);
}

/* An integer DECIMAL: one rounding when both operands are exact doubles. */
static double dec_int(int64_t x, int scale) {
  if (scale >= 0 && scale <= 22 && x <= ((int64_t)1 << 53) && x >= -((int64_t)1 << 53))
    return (double)x / pow10i(scale);
  uint8_t be[8];
  for (int i = 0; i < 8; i++) be[i] = (uint8_t)((uint64_t)x >> (56 - 8 * i));
  return dec_bytes(be, 8, scale);
}

/* Appends value `i` of `src` as flat row o->row (fixed-width outputs were
 * allocated for all rows). Returns 0, or -1 for an invalid string. */
static int put_flat(out *o, const pq_vals *src, size_t i) {
  const pq_leaf *l = o->leaf;
  int64_t r = o->row;
  const uint8_t *v = src->width ? src->fixed + i * (size_t)src->width : NULL;
  switch (l->conv) {
  case PQC_COPY:
    memcpy(o->vals + (size_t)r * o->width, v, o->width);
    return 0;
  case PQC_BOOL:
    if (v[0]) o->vals[r >> 3] |= (uint8_t)(1u << (r & 7));
    return 0;
  case PQC_BYTES: {
    const uint8_t *s = v;
    size_t n = (size_t)src->width;
    if (!src->width) {
      s = src->data + src->offs[i];
      n = (size_t)(src->offs[i + 1] - src->offs[i]);
    }
    if (l->type == WEIR_TYPE_STRING && weir__utf8_invalid_at((const char *)s, n) != n) return -1;
    if (vals_grow(o, n)) return -2;
    if (n) memcpy(o->vals + o->vlen, s, n); /* vals may still be NULL */
    o->vlen += n;
    o->offs[r + 1] = (int64_t)o->vlen;
    return 0;
  }
  case PQC_U32_I64: {
    uint32_t u;
    memcpy(&u, v, 4);
    int64_t x = u;
    memcpy(o->vals + (size_t)r * 8, &x, 8);
    return 0;
  }
  case PQC_INT96_NS: {
    int64_t nanos;
    int32_t jd;
    memcpy(&nanos, v, 8);
    memcpy(&jd, v + 8, 4);
    int64_t x = ((int64_t)jd - 2440588) * 86400LL * 1000000000LL + nanos;
    memcpy(o->vals + (size_t)r * 8, &x, 8);
    return 0;
  }
  case PQC_F16_F32: {
    uint16_t h;
    memcpy(&h, v, 2);
    float f = half_to_float(h);
    memcpy(o->vals + (size_t)r * 4, &f, 4);
    return 0;
  }
  case PQC_DEC_I32:
  case PQC_DEC_I64:
  case PQC_DEC_BYTES: {
    double d;
    if (l->conv == PQC_DEC_I32) { int32_t x; memcpy(&x, v, 4); d = dec_int(x, l->scale); }
    else if (l->conv == PQC_DEC_I64) { int64_t x; memcpy(&x, v, 8); d = dec_int(x, l->scale); }
    else if (src->width) d = dec_bytes(v, (size_t)src->width, l->scale);
    else d = dec_bytes(src->data + src->offs[i], (size_t)(src->offs[i + 1] - src->offs[i]),
                       l->scale);
    memcpy(o->vals + (size_t)r * 8, &d, 8);
    return 0;
  }
  default:
    return -1;
  }
}

/* The page decoding state of one chunk, and the data page being taken
 * (its levels and values decoded, consumed from entry `k` on). */
typedef struct chunk_state {
  const pq_leaf *leaf;
  pq_vals dict;
  int have_dict;
  pq_vals pv;
  uint32_t *def, *rep, *idx;
  size_t lvl_cap, idx_cap;
  uint8_t *page;
  size_t page_cap;
  int64_t values_left;
  size_t nv, k, vi;        /* entries of the page, the next one, next value */
  int use_dict;
  /* PLAIN strings of a flat column are copied straight from the page
   * (raw[raw_at..raw_len)), not decoded into pv first. */
  const uint8_t *raw;
  size_t raw_at, raw_len;
  int raw_mode;
  size_t dict_bad;         /* STRING dictionaries: the first entry that is not
                              UTF-8 (checked once), or SIZE_MAX */
} chunk_state;

#define FAIL(code, ...) (snprintf(err, errlen, __VA_ARGS__), (code))

static int ensure_u32(uint32_t **p, size_t *cap, size_t n) {
  if (n <= *cap) return 0;
  uint32_t *q = realloc(*p, (n ? n : 1) * sizeof *q);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

/* Decodes `nn` values with `enc` from v[0..vlen) into cs->pv, or indices
 * into cs->idx for dictionary encodings (then *use_dict = 1). */
static int decode_values(chunk_state *cs, const pq_leaf *l, int enc, const uint8_t *v,
                         size_t vlen, size_t nn, int *use_dict, char *err, size_t errlen) {
  long used = 0;
  *use_dict = 0;
  cs->raw_mode = 0;
  switch (enc) {
  case PQ_PLAIN:
    if (l->phys == PQ_BYTE_ARRAY && !l->is_list && l->conv == PQC_BYTES) {
      cs->raw = v;
      cs->raw_at = 0;
      cs->raw_len = vlen;
      cs->raw_mode = 1;
      return WEIR_OK;
    }
    used = weir__pq_plain_decode(l->phys, l->flba, v, vlen, nn, &cs->pv);
    break;
  case PQ_PLAIN_DICTIONARY:
  case PQ_RLE_DICTIONARY: {
    if (!cs->have_dict) return FAIL(WEIR_EFORMAT, "dictionary-encoded data without a dictionary page");
    if (nn == 0) { *use_dict = 1; return WEIR_OK; }
    if (vlen < 1 || v[0] > 32) return FAIL(WEIR_EFORMAT, "bad dictionary index bit width");
    if (ensure_u32(&cs->idx, &cs->idx_cap, nn)) return WEIR_ENOMEM;
    if (weir__pq_rle_decode(v + 1, vlen - 1, v[0], cs->idx, nn))
      return FAIL(WEIR_EFORMAT, "dictionary indices end early or are malformed");
    for (size_t i = 0; i < nn; i++)
      if (cs->idx[i] >= cs->dict.n)
        return FAIL(WEIR_EFORMAT, "dictionary index %u out of range (%zu entries)",
                    cs->idx[i], cs->dict.n);
    *use_dict = 1;
    return WEIR_OK;
  }
  case PQ_RLE: {
    if (l->phys != PQ_BOOLEAN) return FAIL(WEIR_EFORMAT, "RLE values of a non-boolean column");
    if (vlen < 4) return FAIL(WEIR_EFORMAT, "RLE booleans without their length");
    uint32_t n;
    memcpy(&n, v, 4);
    if (n > vlen - 4) return FAIL(WEIR_EFORMAT, "RLE booleans longer than the page");
    if (ensure_u32(&cs->idx, &cs->idx_cap, nn)) return WEIR_ENOMEM;
    if (weir__pq_rle_decode(v + 4, n, 1, cs->idx, nn))
      return FAIL(WEIR_EFORMAT, "RLE booleans end early");
    cs->pv.width = 1;
    cs->pv.n = nn;
    if (weir__pq_vals_reserve(&cs->pv, nn, 0)) return WEIR_ENOMEM;
    for (size_t i = 0; i < nn; i++) cs->pv.fixed[i] = (uint8_t)cs->idx[i];
    return WEIR_OK;
  }
  case PQ_DELTA_BINARY_PACKED:
    if (l->phys != PQ_INT32 && l->phys != PQ_INT64)
      return FAIL(WEIR_EFORMAT, "DELTA_BINARY_PACKED values of a non-integer column");
    used = nn ? weir__pq_delta_decode(v, vlen, nn, l->phys == PQ_INT32 ? 4 : 8, &cs->pv, NULL) : 0;
    if (!nn) cs->pv.n = 0;
    break;
  case PQ_DELTA_LENGTH_BYTE_ARRAY:
    if (l->phys != PQ_BYTE_ARRAY) return FAIL(WEIR_EFORMAT, "DELTA_LENGTH_BYTE_ARRAY of a non-byte-array column");
    used = weir__pq_delta_length_decode(v, vlen, nn, &cs->pv);
    break;
  case PQ_DELTA_BYTE_ARRAY:
    if (l->phys != PQ_BYTE_ARRAY)
      return FAIL(WEIR_ENOTSUP, "DELTA_BYTE_ARRAY of FIXED_LEN_BYTE_ARRAY is not supported");
    used = weir__pq_delta_byte_array_decode(v, vlen, nn, &cs->pv);
    break;
  case PQ_BYTE_STREAM_SPLIT: {
    int w = l->phys == PQ_INT32 || l->phys == PQ_FLOAT ? 4
          : l->phys == PQ_INT64 || l->phys == PQ_DOUBLE ? 8
          : l->phys == PQ_FIXED ? l->flba : 0;
    if (!w) return FAIL(WEIR_EFORMAT, "BYTE_STREAM_SPLIT of a column without fixed width");
    used = weir__pq_bss_decode(v, vlen, nn, w, &cs->pv);
    break;
  }
  default:
    return FAIL(WEIR_ENOTSUP, "encoding %d is not supported", enc);
  }
  if (used < 0) return FAIL(WEIR_EFORMAT, "values end early or are malformed (encoding %d)", enc);
  return WEIR_OK;
}

/* Appends `n` bytes of text to a list row written as JSON. */
static int json_text(out *o, const char *t, size_t n) {
  if (vals_grow(o, n)) return -2;
  memcpy(o->vals + o->vlen, t, n);
  o->vlen += n;
  return 0;
}

/* Element `i` of `src` (or a null one when i is SIZE_MAX) of a list of
 * strings or booleans, written as JSON. -1: not UTF-8; -2: no memory. */
static int json_elem(out *o, const pq_vals *src, size_t i) {
  if (o->row_elems++ && json_text(o, ",", 1)) return -2;
  if (i == SIZE_MAX) return json_text(o, "null", 4);
  if (o->leaf->phys == PQ_BOOLEAN)
    return src->fixed[i] ? json_text(o, "true", 4) : json_text(o, "false", 5);
  const char *v = (const char *)src->data + src->offs[i];
  size_t n = (size_t)(src->offs[i + 1] - src->offs[i]);
  if (weir__utf8_invalid_at(v, n) != n) return -1;
  if (n > (SIZE_MAX - 2) / 6 || vals_grow(o, 6 * n + 2)) return -2;
  o->vlen += weir__json_escape(v, n, (char *)o->vals + o->vlen);
  return 0;
}

/* Ends the open list row (its offset; "]" for JSON text). */
static int list_close(out *o) {
  if (o->row < 0) return 0;
  if (o->leaf->conv == PQC_LIST_JSON) {
    if (!o->row_null && json_text(o, "]", 1)) return -2;
    o->offs[o->row + 1] = (int64_t)o->vlen;
  } else {
    o->offs[o->row + 1] = o->elems;
  }
  return 0;
}

static int dict_entry_ok(const pq_vals *d, size_t j) {
  const char *e = (const char *)d->data + d->offs[j];
  size_t n = (size_t)(d->offs[j + 1] - d->offs[j]);
  return weir__utf8_invalid_at(e, n) == n;
}

/* Rows [first, last) of `o` are valid UTF-8. Their bytes are checked in
 * one pass: the concatenation must be UTF-8 and no row may start inside a
 * character (a continuation byte); only on failure is each row checked,
 * to name the first bad one (*bad). */
static int rows_utf8(const out *o, int64_t first, int64_t last, int64_t *bad) {
  size_t a = (size_t)o->offs[first], b = (size_t)o->offs[last];
  if (a == b) return 1;
  int ok = weir__utf8_invalid_at((const char *)o->vals + a, b - a) == b - a;
  for (int64_t r = first; ok && r < last; r++)
    if (o->offs[r + 1] > o->offs[r] && (o->vals[o->offs[r]] & 0xc0) == 0x80) ok = 0;
  if (ok) return 1;
  for (int64_t r = first; r < last; r++) {
    size_t n = (size_t)(o->offs[r + 1] - o->offs[r]);
    if (weir__utf8_invalid_at((const char *)o->vals + o->offs[r], n) != n) {
      *bad = r;
      return 0;
    }
  }
  return 1;
}

/* PLAIN strings or bytes of a flat column, `n` entries from `k`: each
 * value is copied once, from the page into the block. */
static int scatter_raw(chunk_state *cs, out *o, size_t k, size_t n, char *err, size_t errlen) {
  const pq_leaf *l = o->leaf;
  const uint8_t *p = cs->raw;
  size_t at = cs->raw_at, len = cs->raw_len;
  uint32_t md = (uint32_t)l->max_def;
  int64_t row0 = o->row;
  /* The page's bytes bound what its values add. */
  if (vals_grow(o, len - at)) return WEIR_ENOMEM;
  for (size_t e = k + n; k < e; k++, o->row++) {
    if (md && cs->def[k] != md) {
      set_null(o, o->row);
      o->offs[o->row + 1] = (int64_t)o->vlen;
      continue;
    }
    uint32_t sl;
    if (len - at < 4) return FAIL(WEIR_EFORMAT, "values end early or are malformed (encoding 0)");
    memcpy(&sl, p + at, 4);
    at += 4;
    if (sl > len - at) return FAIL(WEIR_EFORMAT, "values end early or are malformed (encoding 0)");
    if (sl) memcpy(o->vals + o->vlen, p + at, sl);
    o->vlen += sl;
    at += sl;
    o->offs[o->row + 1] = (int64_t)o->vlen;
  }
  cs->raw_at = at;
  cs->k = k;
  int64_t bad;
  if (l->type == WEIR_TYPE_STRING && !rows_utf8(o, row0, o->row, &bad))
    return FAIL(WEIR_EFORMAT, "row %lld is not valid UTF-8", (long long)(o->first + bad));
  return o->row == o->rows;
}

/* Scatters entries of the current page from cs->k on into `o` until the
 * page ends (0) or `o` holds its rows (1: for a list, the entry that
 * starts the row after them is left for the next block). */
static int scatter(chunk_state *cs, out *o, char *err, size_t errlen) {
  const pq_leaf *l = o->leaf;
  const pq_vals *src = cs->use_dict ? &cs->dict : &cs->pv;
  const uint32_t *ix = cs->use_dict ? cs->idx : NULL;
  size_t k = cs->k, vi = cs->vi, nv = cs->nv;
  if (!l->is_list) {
    size_t room = (size_t)(o->rows - o->row), n = nv - k < room ? nv - k : room;
    /* The common case: no nulls, plain copies. */
    if (l->max_def == 0 && !ix && l->conv == PQC_COPY && (size_t)src->width == o->width) {
      if (n) memcpy(o->vals + (size_t)o->row * o->width, src->fixed + vi * o->width, n * o->width);
      o->row += (int64_t)n;
      cs->k = k + n;
      cs->vi = vi + n;
      return o->row == o->rows;
    }
    if (cs->raw_mode) return scatter_raw(cs, o, k, n, err, errlen);
    uint32_t md = (uint32_t)l->max_def;
    const uint32_t *def = cs->def;
    if (l->conv == PQC_COPY && (size_t)src->width == o->width) {
      /* Fixed-width values with nulls, or through a dictionary. */
      size_t w = o->width;
      for (size_t e = k + n; k < e; k++, o->row++) {
        if (md && def[k] != md) {
          set_null(o, o->row);
          continue;
        }
        size_t j = ix ? ix[vi] : vi;
        vi++;
        if (w == 8) memcpy(o->vals + (size_t)o->row * 8, src->fixed + j * 8, 8);
        else if (w == 4) memcpy(o->vals + (size_t)o->row * 4, src->fixed + j * 4, 4);
        else memcpy(o->vals + (size_t)o->row * w, src->fixed + j * w, w);
      }
      cs->k = k;
      cs->vi = vi;
      return o->row == o->rows;
    }
    if (l->conv == PQC_BYTES && ix && !src->width) {
      /* Dictionary strings: entries were checked when the dictionary came. */
      for (size_t e = k + n; k < e; k++, o->row++) {
        if (md && def[k] != md) {
          set_null(o, o->row);
          o->offs[o->row + 1] = (int64_t)o->vlen;
          continue;
        }
        uint32_t j = ix[vi++];
        if (j == cs->dict_bad || (l->type == WEIR_TYPE_STRING && cs->dict_bad != SIZE_MAX &&
                                  j > cs->dict_bad && !dict_entry_ok(src, j)))
          return FAIL(WEIR_EFORMAT, "row %lld is not valid UTF-8", (long long)(o->first + o->row));
        size_t len = (size_t)(src->offs[j + 1] - src->offs[j]);
        if (vals_grow(o, len)) return WEIR_ENOMEM;
        if (len) memcpy(o->vals + o->vlen, src->data + src->offs[j], len);
        o->vlen += len;
        o->offs[o->row + 1] = (int64_t)o->vlen;
      }
      cs->k = k;
      cs->vi = vi;
      return o->row == o->rows;
    }
    for (size_t e = k + n; k < e; k++) {
      if (l->max_def && cs->def[k] != (uint32_t)l->max_def) {
        set_null(o, o->row);
        if (o->offs) o->offs[o->row + 1] = (int64_t)o->vlen;
      } else {
        int rc = put_flat(o, src, ix ? ix[vi] : vi);
        vi++;
        if (rc == -2) return WEIR_ENOMEM;
        if (rc) return FAIL(WEIR_EFORMAT, "row %lld is not valid UTF-8", (long long)(o->first + o->row));
      }
      o->row++;
    }
    cs->k = k;
    cs->vi = vi;
    return o->row == o->rows;
  }
  int full = 0, json = l->conv == PQC_LIST_JSON;
  size_t vi0 = vi;
  for (; k < nv; k++) {
    uint32_t d = cs->def[k];
    if (cs->rep[k] == 0) {
      if (o->row + 1 >= o->rows) {
        full = 1;
        break;
      }
      if (list_close(o)) return WEIR_ENOMEM;
      ++o->row;
      o->row_null = d < (uint32_t)l->def_list;
      o->row_elems = 0;
      if (o->row_null) set_null(o, o->row);
      else if (json && json_text(o, "[", 1)) return WEIR_ENOMEM;
    } else if (o->row < 0) {
      return FAIL(WEIR_EFORMAT, "the first value continues a list (repetition level %u)",
                  cs->rep[k]);
    }
    if (d >= (uint32_t)l->def_rep) {
      int rc;
      if (d < (uint32_t)l->max_def) {
        if (!json)
          return FAIL(WEIR_ENOTSUP, "row %lld: a list holds a null element; weir's lists "
                      "have no null elements", (long long)(o->first + o->row));
        rc = json_elem(o, src, SIZE_MAX);
      } else {
        rc = json ? json_elem(o, src, ix ? ix[vi] : vi) : 0;
        if (!json) o->elems++; /* copied after the loop, all at once */
        vi++;
      }
      if (rc == -1)
        return FAIL(WEIR_EFORMAT, "row %lld: a list element is not valid UTF-8",
                    (long long)(o->first + o->row));
      if (rc) return WEIR_ENOMEM;
    }
  }
  if (!json && vi > vi0) {
    /* The elements of these rows, in order: one copy (or a gather through
     * the dictionary, or INT32 narrowed to 8 or 16 bits: the low bytes). */
    size_t cnt = vi - vi0, w = o->width, sw = (size_t)src->width;
    if (vals_grow(o, cnt * w)) return WEIR_ENOMEM;
    uint8_t *d = o->vals + o->vlen;
    if (!ix && sw == w) memcpy(d, src->fixed + vi0 * w, cnt * w);
    else
      for (size_t t = 0; t < cnt; t++)
        memcpy(d + t * w, src->fixed + (ix ? ix[vi0 + t] : vi0 + t) * sw, w);
    o->vlen += cnt * w;
  }
  cs->k = k;
  cs->vi = vi;
  return full;
}

static int read_levels(const uint8_t *p, size_t len, int max, uint32_t *out, size_t n) {
  if (max == 0) {
    memset(out, 0, n * sizeof *out);
    return 0;
  }
  return weir__pq_rle_decode(p, len, weir__pq_bit_width((uint64_t)max), out, n);
}
static int do_page(chunk_state *cs, const pq_chunk *ch, const pq_page_header *h,
                   const uint8_t *body, char *err, size_t errlen) {
  const pq_leaf *l = cs->leaf;
  size_t usize = (size_t)h->uncompressed_size, csize = (size_t)h->compressed_size;
  /* A size that cannot be real: no codec here expands data by more than a
   * few thousand times, so a claim beyond that is damage, not data. */
  if (usize > ((size_t)256 << 20) && usize / 4096 > csize)
    return FAIL(WEIR_EFORMAT, "declared uncompressed size %zu is impossible for %zu bytes",
                usize, csize);
  if (h->type == PQ_INDEX_PAGE) return WEIR_OK;
  size_t pre = 0; /* v2: level bytes, never compressed */
  if (h->type == PQ_DATA_PAGE_V2) {
    pre = (size_t)h->def_len + (size_t)h->rep_len;
    if (pre > csize || pre > usize)
      return FAIL(WEIR_EFORMAT, "level sizes beyond the page");
  }
  if (usize > cs->page_cap) {
    uint8_t *np = realloc(cs->page, usize + 16);
    if (!np) return WEIR_ENOMEM;
    cs->page = np;
    cs->page_cap = usize;
  }
  if (pre) memcpy(cs->page, body, pre); /* page is NULL while all pages were empty */
  int codec = h->type == PQ_DATA_PAGE_V2 && !h->is_compressed ? PQ_UNCOMPRESSED : ch->codec;
  char why[200];
  int rc = weir__pq_decompress(codec, body + pre, csize - pre, cs->page + pre, usize - pre,
                               why, sizeof why);
  if (rc) return FAIL(rc, "%s", why);
  const uint8_t *p = cs->page;
  size_t len = usize;

  if (h->type == PQ_DICTIONARY_PAGE) {
    if (cs->have_dict) return FAIL(WEIR_EFORMAT, "a second dictionary page");
    if (h->encoding != PQ_PLAIN && h->encoding != PQ_PLAIN_DICTIONARY)
      return FAIL(WEIR_ENOTSUP, "dictionary encoding %d", h->encoding);
    if (weir__pq_plain_decode(l->phys, l->flba, p, len, (size_t)h->num_values, &cs->dict) < 0)
      return FAIL(WEIR_EFORMAT, "the dictionary holds fewer values than its header says");
    cs->have_dict = 1;
    cs->dict_bad = SIZE_MAX;
    /* A STRING dictionary's entries are checked once, not at each use. */
    if (l->type == WEIR_TYPE_STRING && l->conv == PQC_BYTES)
      for (size_t i = 0; i < cs->dict.n && cs->dict_bad == SIZE_MAX; i++) {
        const char *e = (const char *)cs->dict.data + cs->dict.offs[i];
        size_t en = (size_t)(cs->dict.offs[i + 1] - cs->dict.offs[i]);
        if (weir__utf8_invalid_at(e, en) != en) cs->dict_bad = i;
      }
    return WEIR_OK;
  }
  size_t nv = (size_t)h->num_values;
  if ((int64_t)nv > cs->values_left)
    return FAIL(WEIR_EFORMAT, "more values than the column chunk's %lld",
                (long long)cs->values_left);
  cs->values_left -= (int64_t)nv;
  if (nv > cs->lvl_cap) {
    uint32_t *d = realloc(cs->def, nv * sizeof *d), *r2 = d ? realloc(cs->rep, nv * sizeof *r2) : NULL;
    if (d) cs->def = d;
    if (!d || !r2) return WEIR_ENOMEM;
    cs->rep = r2;
    cs->lvl_cap = nv;
  }
  const uint8_t *vals;
  size_t vlen;
  int enc = h->encoding;
  if (h->type == PQ_DATA_PAGE) {
    size_t at = 0;
    for (int pass = 0; pass < 2; pass++) {
      int max = pass == 0 ? l->max_rep : l->max_def;
      uint32_t *dst = pass == 0 ? cs->rep : cs->def;
      if (max == 0) {
        memset(dst, 0, nv * sizeof *dst);
        continue;
      }
      uint32_t n;
      if (len - at < 4) return FAIL(WEIR_EFORMAT, "levels end early");
      memcpy(&n, p + at, 4);
      at += 4;
      if (n > len - at) return FAIL(WEIR_EFORMAT, "levels longer than the page");
      if (read_levels(p + at, n, max, dst, nv))
        return FAIL(WEIR_EFORMAT, "%s levels are malformed", pass ? "definition" : "repetition");
      at += n;
    }
    vals = p + at;
    vlen = len - at;
  } else {
    if (read_levels(p, (size_t)h->rep_len, l->max_rep, cs->rep, nv) ||
        read_levels(p + h->rep_len, (size_t)h->def_len, l->max_def, cs->def, nv))
      return FAIL(WEIR_EFORMAT, "levels are malformed");
    vals = p + pre;
    vlen = len - pre;
  }
  size_t nn = 0;
  if (l->max_def == 0) nn = nv;
  else
    for (size_t k = 0; k < nv; k++) {
      if (cs->def[k] > (uint32_t)l->max_def)
        return FAIL(WEIR_EFORMAT, "definition level %u above the column's %d", cs->def[k], l->max_def);
      nn += cs->def[k] == (uint32_t)l->max_def;
    }
  rc = decode_values(cs, l, enc, vals, vlen, nn, &cs->use_dict, err, errlen);
  if (rc) return rc;
  cs->nv = nv;
  cs->k = cs->vi = 0;
  return WEIR_OK;
}
/* A column chunk read a block of rows at a time: its bytes come through a
 * window of about PQ_WINDOW bytes (the whole chunk when small), and one
 * page at a time is decompressed and decoded, so a row group far larger
 * than memory is read within a few pages' worth of it. */
#define PQ_WINDOW ((size_t)1 << 20)
#define PQ_WHOLE ((size_t)4 << 20)
/* Page headers are parsed from this many bytes first, then 4x more up to
 * PQ_HEADER_MAX (statistics make a few large). */
#define PQ_HEADER_TRY ((size_t)4096)
#define PQ_HEADER_MAX ((size_t)16 << 20)

struct pq_col {
  chunk_state cs;
  const pq_chunk *ch;
  pq_fetch_fn fetch;
  void *farg;
  const uint8_t *mem;      /* all of the chunk in memory, or NULL */
  uint64_t len;            /* the chunk's bytes */
  uint64_t pos;            /* the chunk offset of the next page header */
  uint8_t *win;            /* bytes [wstart, wstart + wlen) of the chunk */
  size_t wcap, wlen;
  uint64_t wstart;
  int page;                /* pages read */
  int64_t rows_left;       /* of the row group, not yet taken */
  int64_t taken;           /* rows taken so far */
};

/* Points `*p` at bytes [pos, pos + n) of the chunk (n <= len - pos). */
static int chunk_bytes(pq_col *c, uint64_t pos, size_t n, const uint8_t **p, char *err,
                       size_t errlen) {
  if (c->mem) {
    *p = c->mem + pos;
    return WEIR_OK;
  }
  if (pos >= c->wstart && pos + n <= c->wstart + c->wlen) {
    *p = c->win + (pos - c->wstart);
    return WEIR_OK;
  }
  /* Keep what the window still holds from pos on, read the rest. */
  size_t keep = 0;
  if (pos >= c->wstart && pos < c->wstart + c->wlen) {
    keep = (size_t)(c->wstart + c->wlen - pos);
    memmove(c->win, c->win + (pos - c->wstart), keep);
  }
  uint64_t left = c->len - pos;
  size_t want = c->len <= PQ_WHOLE ? (size_t)left : n > PQ_WINDOW ? n : PQ_WINDOW;
  if (want > left) want = (size_t)left;
  if (want > c->wcap) {
    uint8_t *w = weir__mem_realloc(c->win, want);
    if (!w) return WEIR_ENOMEM;
    c->win = w;
    c->wcap = want;
  }
  c->wstart = pos;
  c->wlen = keep;
  int rc = c->fetch(c->farg, pos + keep, want - keep, c->win + keep, err, errlen);
  if (rc) return rc;
  c->wlen = want;
  *p = c->win;
  return WEIR_OK;
}

/* Reads and decodes the next page (a dictionary page, or a data page that
 * becomes the current one). */
static int next_page(pq_col *c, char *err, size_t errlen) {
  char why[400] = "";
  int page = c->page;
  if (c->pos >= c->len)
    return FAIL(WEIR_EFORMAT, "page %d: the chunk ends with %lld values missing", page,
                (long long)c->cs.values_left);
  uint64_t left = c->len - c->pos;
  pq_page_header h;
  size_t hl = 0;
  int rc;
  for (size_t n = PQ_HEADER_TRY;; n *= 4) {
    if (c->mem || n > left) n = (size_t)left;
    if (n > PQ_HEADER_MAX) n = PQ_HEADER_MAX;
    const uint8_t *p;
    rc = chunk_bytes(c, c->pos, n, &p, why, sizeof why);
    if (rc) return FAIL(rc, "page %d: %s", page, why);
    rc = weir__pq_page_header(p, n, &h, &hl, why, sizeof why);
    if (rc == WEIR_OK || n == left || n == PQ_HEADER_MAX) break;
  }
  if (rc) return FAIL(rc, "page %d: %s", page, why);
  c->pos += hl;
  if ((uint64_t)h.compressed_size > c->len - c->pos)
    return FAIL(WEIR_EFORMAT, "page %d: its size (%d bytes) goes beyond the column chunk",
                page, h.compressed_size);
  const uint8_t *body;
  rc = chunk_bytes(c, c->pos, (size_t)h.compressed_size, &body, why, sizeof why);
  if (!rc) rc = do_page(&c->cs, c->ch, &h, body, why, sizeof why);
  if (rc) return FAIL(rc, "page %d: %s", page, why);
  c->pos += (size_t)h.compressed_size;
  c->page++;
  return WEIR_OK;
}

int weir__pq_col_open(const pq_leaf *leaf, const pq_chunk *ch, int64_t rows,
                      const uint8_t *mem, pq_fetch_fn fetch, void *farg, pq_col **out) {
  pq_col *c = calloc(1, sizeof *c);
  if (!c) return WEIR_ENOMEM;
  c->cs.leaf = leaf;
  c->cs.values_left = ch->num_values;
  c->ch = ch;
  c->mem = mem;
  c->fetch = fetch;
  c->farg = farg;
  c->len = ch->total_compressed > 0 ? (uint64_t)ch->total_compressed : 0;
  c->rows_left = rows;
  *out = c;
  return WEIR_OK;
}

void weir__pq_col_close(pq_col *c) {
  if (!c) return;
  weir__pq_vals_free(&c->cs.dict);
  weir__pq_vals_free(&c->cs.pv);
  free(c->cs.def);
  free(c->cs.rep);
  free(c->cs.idx);
  free(c->cs.page);
  weir__mem_free(c->win);
  free(c);
}

/* Gives back the memory of pages and the window once the chunk is read. */
static void col_trim(pq_col *c) {
  weir__mem_free(c->win);
  c->win = NULL;
  c->wcap = c->wlen = 0;
  free(c->cs.page);
  c->cs.page = NULL;
  c->cs.page_cap = 0;
}

int weir__pq_col_take(pq_col *c, int64_t rows, weir__column *col, char *err, size_t errlen) {
  const pq_leaf *leaf = c->cs.leaf;
  chunk_state *cs = &c->cs;
  out ob, *o = &ob;
  memset(o, 0, sizeof *o);
  o->leaf = leaf;
  o->rows = rows;
  o->first = c->taken;
  o->row = leaf->is_list ? -1 : 0;
  o->width = leaf->is_list ? weir_dtype_size(leaf->dtype)
           : leaf->type == WEIR_TYPE_BOOL ? 0
           : leaf->conv == PQC_BYTES ? 1
           : weir__column_row_bytes(&(weir__column){.type = leaf->type});
  if (rows > c->rows_left)
    return FAIL(WEIR_EINVAL, "%lld rows asked of %lld left", (long long)rows,
                (long long)c->rows_left);
  int last = rows == c->rows_left;
  int rc = WEIR_OK;
  size_t bitmap = ((size_t)rows + 7) / 8;
  o->valid = weir__mem_alloc(bitmap ? bitmap : 1, 0);
  if (o->valid) memset(o->valid, 0xff, bitmap);
  int varlen = leaf->is_list || leaf->conv == PQC_BYTES;
  if (varlen) {
    o->offs = weir__mem_alloc(((size_t)rows + 1) * sizeof(int64_t), 0);
    if (o->offs) o->offs[0] = 0;
  } else {
    size_t vb = leaf->type == WEIR_TYPE_BOOL ? bitmap : (size_t)rows * o->width;
    if (!vals_grow(o, vb ? vb : 1)) o->vlen = vb;
    if (o->vals && leaf->type == WEIR_TYPE_BOOL) memset(o->vals, 0, vb);
  }
  if (!o->valid || (varlen ? !o->offs : !o->vals)) rc = WEIR_ENOMEM;

  while (rc == WEIR_OK) {
    if (cs->k == cs->nv) {
      /* A flat block is done with its rows; a list's last row may go on
       * in the next page, so lists look on until a row starts. */
      if (!leaf->is_list && o->row == rows && !last) break;
      if (cs->values_left == 0) break;
      rc = next_page(c, err, errlen);
      continue;
    }
    char why[400] = "";
    int full = scatter(cs, o, why, sizeof why);
    if (full < 0) {
      rc = FAIL(full, "page %d: %s", c->page - 1, why);
      break;
    }
    if (!full) continue;
    if (leaf->is_list && last)
      rc = FAIL(WEIR_EFORMAT, "page %d: more lists than the row group's %lld rows",
                c->page - 1, (long long)(c->taken + rows));
    else if (!leaf->is_list && last && (cs->k < cs->nv || cs->values_left > 0))
      rc = FAIL(WEIR_EFORMAT, "page %d: more values than the row group's %lld rows",
                c->page - 1, (long long)(c->taken + rows));
    break;
  }
  if (rc == WEIR_OK) {
    if (leaf->is_list) {
      if (list_close(o)) rc = WEIR_ENOMEM;
      o->row++;
    }
    if (o->row != rows)
      rc = FAIL(WEIR_EFORMAT, "the column chunk holds %lld rows, the row group %lld",
                (long long)(c->rows_left - rows + o->row), (long long)c->rows_left);
  }
  if (rc == WEIR_OK) {
    c->rows_left -= rows;
    c->taken += rows;
    if (!c->rows_left) col_trim(c);
    col->type = leaf->type;
    col->dtype = leaf->is_list ? leaf->dtype : 0;
    col->length = (size_t)rows;
    col->device = WEIR_DEVICE_CPU;
    col->null_count = o->nulls;
    col->data_buf = weir__buffer_wrap(o->vals ? o->vals : weir__mem_alloc(1, 0), o->vlen,
                                      weir__buffer_release_mem, NULL);
    if (col->data_buf) o->vals = NULL;
    if (o->nulls) {
      col->validity_buf = weir__buffer_wrap(o->valid, bitmap, weir__buffer_release_mem, NULL);
      if (col->validity_buf) o->valid = NULL;
    }
    if (o->offs) {
      col->offsets_buf = weir__buffer_wrap(o->offs, ((size_t)rows + 1) * sizeof(int64_t),
                                           weir__buffer_release_mem, NULL);
      if (col->offsets_buf) o->offs = NULL;
    }
    if (!col->data_buf || (o->nulls && !col->validity_buf) || (varlen && !col->offsets_buf)) {
      rc = WEIR_ENOMEM;
    } else {
      col->data = col->data_buf->data;
      col->validity = col->validity_buf ? col->validity_buf->data : NULL;
      col->offsets = col->offsets_buf ? col->offsets_buf->data : NULL;
    }
  }
  weir__mem_free(o->vals);
  weir__mem_free(o->valid);
  weir__mem_free(o->offs);
  return rc;
}

int weir__pq_read_chunk(const pq_leaf *leaf, const pq_chunk *ch, const uint8_t *buf,
                        size_t len, int64_t rows, weir__column *col, char *err,
                        size_t errlen) {
  pq_col *c;
  int rc = weir__pq_col_open(leaf, ch, rows, buf, NULL, NULL, &c);
  if (rc) return rc;
  c->len = len;
  rc = weir__pq_col_take(c, rows, col, err, errlen);
  weir__pq_col_close(c);
  return rc;
}
