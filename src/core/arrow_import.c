/* Zero-copy import of Arrow C Data Interface arrays as blocks, validating
 * everything an untrusted producer could get wrong. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/arrow_internal.h"

/* ---- Keeping the imported array alive ------------------------------------
 * The moved-in array lives in a holder with its own count: one reference
 * per weir buffer that points into it, plus one held while importing. The
 * array is released exactly once, when the last of them goes, whichever
 * thread drops it. */

typedef struct holder {
  atomic_long refs;
  struct ArrowArray array;
} holder;

static void holder_unref(holder *h) {
  if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1) return;
  if (h->array.release) h->array.release(&h->array);
  free(h);
}

static void holder_buffer_release(void *opaque, void *data, size_t size) {
  (void)data;
  (void)size;
  holder_unref(opaque);
}

/* A weir buffer over `size` bytes at `ptr` inside the imported array. */
static weir__buffer *wrap(holder *h, const void *ptr, size_t size) {
  weir__buffer *b = weir__buffer_wrap((void *)ptr, size, holder_buffer_release, h);
  if (b) atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
  return b;
}

/* ---- Bitmaps --------------------------------------------------------- */

static size_t count_valid(const uint8_t *bits, int64_t from, int64_t count) {
  size_t valid = 0;
  int64_t i = 0;
  while (i < count && ((from + i) & 7)) valid += weir__bit_get(bits, (size_t)(from + i++));
  for (; i + 8 <= count; i += 8)
    valid += (size_t)__builtin_popcount(bits[(from + i) >> 3]);
  for (; i < count; i++) valid += weir__bit_get(bits, (size_t)(from + i));
  return valid;
}

/* ---- Import context -------------------------------------------------- */

typedef struct importer {
  holder *h;
  const char *column;     /* for messages */
} importer;

/* See check_node(). */
#define WEIR__ARROW_MAX_ELEMS ((int64_t)1 << 56)

#define FAIL(code, ...) \
  weir__set_last_error(code, "arrow import: " __VA_ARGS__)

/* The row window of one column: child elements [first, first + len) of
 * array `a`, i.e. buffer positions a->offset + first ... */
typedef struct window {
  int64_t first;
  int64_t len;
  const uint8_t *pvalid;  /* parent validity (a struct with nulls), or NULL */
  int64_t pvalid_off;     /* bit of pvalid that is row 0 */
} window;

/* Checks the fields every array node has, whatever its type. */
static int check_node(importer *im, const struct ArrowArray *a,
                      const struct ArrowSchema *s, int64_t n_buffers,
                      int64_t n_children) {
  const char *c = im->column;
  if (!a || !s) return FAIL(WEIR_EFORMAT, "column '%s': missing child array or schema", c);
  if (!a->release)
    return FAIL(WEIR_EFORMAT, "column '%s': child array was already released", c);
  if (a->length < 0 || a->offset < 0 || a->null_count < -1)
    return FAIL(WEIR_EFORMAT,
                "column '%s': negative length %lld, offset %lld or null count %lld", c,
                (long long)a->length, (long long)a->offset, (long long)a->null_count);
  /* Buffers carry no sizes, so a length or offset past the buffers cannot
   * be caught in general; but 2^56 or more elements would need at least
   * 2^53 bytes even as a bitmap, more than any address space holds, so
   * such a claim is garbage, not data. Rejecting it here keeps every later
   * position computation (bit, byte and element offsets) far from
   * overflowing, and stops a validity scan from running to the end of
   * memory on a length of INT64_MAX. */
  if (a->offset > INT64_MAX - a->length || a->offset + a->length > WEIR__ARROW_MAX_ELEMS)
    return FAIL(WEIR_EFORMAT, "column '%s': offset %lld + length %lld is beyond any buffer",
                c, (long long)a->offset, (long long)a->length);
  if (a->null_count > a->length)
    return FAIL(WEIR_EFORMAT, "column '%s': null count %lld exceeds length %lld", c,
                (long long)a->null_count, (long long)a->length);
  if (a->dictionary || s->dictionary)
    return FAIL(WEIR_ENOTSUP, "column '%s': dictionary-encoded arrays (Arrow type "
                "dictionary) are not supported", c);
  if (a->n_buffers != n_buffers)
    return FAIL(WEIR_EFORMAT, "column '%s' (format '%s'): %lld buffers, expected %lld", c,
                s->format, (long long)a->n_buffers, (long long)n_buffers);
  if (n_buffers && !a->buffers)
    return FAIL(WEIR_EFORMAT, "column '%s': buffers array is NULL", c);
  if (n_children < 0)
    return FAIL(WEIR_EFORMAT, "column '%s': negative number of children", c);
  if (a->n_children != n_children || s->n_children != n_children)
    return FAIL(WEIR_EFORMAT,
                "column '%s' (format '%s'): %lld array / %lld schema children, expected %lld",
                c, s->format, (long long)a->n_children, (long long)s->n_children,
                (long long)n_children);
  if (n_children && (!a->children || !s->children))
    return FAIL(WEIR_EFORMAT, "column '%s': children array is NULL", c);
  if (a->null_count > 0 && n_buffers > 0 && !a->buffers[0])
    return FAIL(WEIR_EFORMAT, "column '%s': %lld nulls but no validity bitmap", c,
                (long long)a->null_count);
  return WEIR_OK;
}

/* Checks that elements [first, first + len) exist in `a`. */
static int check_window(importer *im, const struct ArrowArray *a, int64_t first,
                        int64_t len) {
  if (first < 0 || len < 0 || first > INT64_MAX - len || first + len > a->length)
    return FAIL(WEIR_EFORMAT,
                "column '%s': %lld rows from %lld needed but the array has length %lld",
                im->column, (long long)len, (long long)first, (long long)a->length);
  return WEIR_OK;
}

/* Fills the validity of `col` for the window: shared when the bitmap
 * starts on a byte and no struct nulls need folding in, a new bitmap
 * otherwise (bitmaps only; values are never copied). */
static int import_validity(importer *im, const struct ArrowArray *a,
                           const window *w, weir__column *col) {
  const uint8_t *bits = a->buffers[0];
  int64_t from = a->offset + w->first;
  if (a->null_count == 0) bits = NULL; /* the producer says no nulls */
  size_t valid = bits ? count_valid(bits, from, w->len) : (size_t)w->len;
  if (bits && a->null_count > 0 && w->first == 0 && w->len == a->length &&
      (int64_t)(w->len - (int64_t)valid) != a->null_count)
    return FAIL(WEIR_EFORMAT, "column '%s': null count %lld but the bitmap has %lld nulls",
                im->column, (long long)a->null_count, (long long)(w->len - (int64_t)valid));
  if (!w->pvalid) {
    col->null_count = (size_t)w->len - valid;
    if (!col->null_count) return WEIR_OK;
    if ((from & 7) == 0) {
      col->validity_buf = wrap(im->h, bits + from / 8, (size_t)(w->len + 7) / 8);
      if (!col->validity_buf) return FAIL(WEIR_ENOMEM, "out of memory");
      col->validity = bits + from / 8;
      return WEIR_OK;
    }
  }
  /* Re-pack: an unaligned start, or a struct's nulls folded into the
   * column (a null struct row is a null in every column). */
  weir__buffer *nb = weir__buffer_alloc((size_t)(w->len + 7) / 8);
  if (!nb) return FAIL(WEIR_ENOMEM, "out of memory");
  uint8_t *out = nb->data;
  size_t nulls = 0;
  for (int64_t i = 0; i < w->len; i++) {
    int v = (!bits || weir__bit_get(bits, (size_t)(from + i))) &&
            (!w->pvalid || weir__bit_get(w->pvalid, (size_t)(w->pvalid_off + i)));
    if (v) weir__bit_set(out, (size_t)i, 1);
    else nulls++;
  }
  if (!nulls) {
    weir__buffer_unref(nb);
    return WEIR_OK;
  }
  col->null_count = nulls;
  col->validity_buf = nb;
  col->validity = out;
  return WEIR_OK;
}

static int import_bool(importer *im, const struct ArrowArray *a, const window *w,
                       weir__column *col) {
  const uint8_t *bits = a->buffers[1];
  int64_t from = a->offset + w->first;
  size_t bytes = (size_t)(w->len + 7) / 8;
  if (!bits && w->len) return FAIL(WEIR_EFORMAT, "column '%s': values buffer is NULL", im->column);
  if (!bits || (from & 7)) {
    weir__buffer *nb = weir__buffer_alloc(bytes);
    if (!nb) return FAIL(WEIR_ENOMEM, "out of memory");
    for (int64_t i = 0; i < w->len; i++)
      weir__bit_set(nb->data, (size_t)i, weir__bit_get(bits, (size_t)(from + i)));
    col->data_buf = nb;
    col->data = nb->data;
    return WEIR_OK;
  }
  col->data_buf = wrap(im->h, bits + from / 8, bytes);
  if (!col->data_buf) return FAIL(WEIR_ENOMEM, "out of memory");
  col->data = bits + from / 8;
  return WEIR_OK;
}

/* Values of `width` bytes each: a pointer into the producer's buffer. */
static int import_fixed(importer *im, const void *buf, int64_t from, int64_t count,
                        size_t width, weir__column *col) {
  if (from > (int64_t)(SIZE_MAX / 2) / (int64_t)width - count)
    return FAIL(WEIR_EFORMAT, "column '%s': value range overflows", im->column);
  if (!buf) {
    if (count) return FAIL(WEIR_EFORMAT, "column '%s': values buffer is NULL", im->column);
    col->data_buf = weir__buffer_alloc(0);
    if (!col->data_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    col->data = col->data_buf->data;
    return WEIR_OK;
  }
  const uint8_t *p = (const uint8_t *)buf + (size_t)from * width;
  col->data_buf = wrap(im->h, p, (size_t)count * width);
  if (!col->data_buf) return FAIL(WEIR_ENOMEM, "out of memory");
  col->data = p;
  return WEIR_OK;
}

/* STRING/BINARY: 64-bit offsets are shared; 32-bit ones are widened into
 * a new offsets buffer (a copy of the offsets only, never of the bytes). */
static int import_varlen(importer *im, const struct ArrowArray *a, const window *w,
                         int wide, weir__column *col) {
  const char *c = im->column;
  int64_t from = a->offset + w->first;
  const void *obuf = a->buffers[1];
  const uint8_t *data = a->buffers[2];
  if (!obuf) {
    if (w->len) return FAIL(WEIR_EFORMAT, "column '%s': offsets buffer is NULL", c);
    /* An empty array may come without offsets; weir always has one. */
    col->offsets_buf = weir__buffer_alloc(sizeof(int64_t));
    col->data_buf = weir__buffer_alloc(0);
    if (!col->offsets_buf || !col->data_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    col->offsets = col->offsets_buf->data;
    col->data = col->data_buf->data;
    return WEIR_OK;
  }
  if (from > INT64_MAX / 8 - w->len - 1)
    return FAIL(WEIR_EFORMAT, "column '%s': offset range overflows", c);

  const int64_t *o64 = wide ? (const int64_t *)obuf + from : NULL;
  const int32_t *o32 = wide ? NULL : (const int32_t *)obuf + from;
  int64_t prev = wide ? o64[0] : o32[0];
  if (prev < 0) return FAIL(WEIR_EFORMAT, "column '%s': negative first offset %lld", c, (long long)prev);
  for (int64_t i = 1; i <= w->len; i++) {
    int64_t cur = wide ? o64[i] : o32[i];
    if (cur < prev)
      return FAIL(WEIR_EFORMAT,
                  "column '%s': offsets decrease at row %lld (%lld after %lld)", c,
                  (long long)(i - 1), (long long)cur, (long long)prev);
    prev = cur;
  }
  int64_t first = wide ? o64[0] : o32[0];
  int64_t end = prev; /* the values buffer must hold bytes [0, end) */
  if (!data && end > first)
    return FAIL(WEIR_EFORMAT, "column '%s': %lld value bytes but the data buffer is NULL",
                c, (long long)(end - first));

  if (wide && data) {
    col->offsets_buf = wrap(im->h, o64, (size_t)(w->len + 1) * sizeof(int64_t));
    if (!col->offsets_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    col->offsets = o64;
  } else {
    /* Widened 32-bit offsets, or (no data at all) offsets rebased to 0 so
     * no pointer arithmetic runs off an empty buffer. */
    col->offsets_buf = weir__buffer_alloc((size_t)(w->len + 1) * sizeof(int64_t));
    if (!col->offsets_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    int64_t *o = col->offsets_buf->data;
    if (data)
      for (int64_t i = 0; i <= w->len; i++) o[i] = wide ? o64[i] : o32[i];
    col->offsets = o;
  }
  if (data) {
    col->data_buf = wrap(im->h, data, (size_t)end);
    if (!col->data_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    col->data = data;
  } else {
    col->data_buf = weir__buffer_alloc(0);
    if (!col->data_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    col->data = col->data_buf->data;
  }
  return WEIR_OK;
}

/* The WEIR_DTYPE_* of a list's or a tensor's element format; "S" is uint16
 * (a tensor's caller turns it into bfloat16 when its metadata says so).
 * 0 when weir has no such dtype. */
static int elem_dtype(const char *format) {
  if (format && !strcmp(format, "S")) return WEIR_DTYPE_UINT16;
  return weir__arrow_dtype_of_format(format);
}

/* Parses the N of "+w:N". */
static int list_size(const char *format, int64_t *n) {
  const char *p = format + 3;
  int64_t v = 0;
  if (*p < '0' || *p > '9') return -1;
  for (; *p >= '0' && *p <= '9'; p++) {
    v = v * 10 + (*p - '0');
    if (v > INT32_MAX) return -1;
  }
  if (*p) return -1;
  *n = v;
  return 0;
}

static int import_tensor(importer *im, const struct ArrowArray *a,
                         const struct ArrowSchema *s, const window *w,
                         weir__column *col) {
  const char *c = im->column;
  int64_t per_row;
  if (list_size(s->format, &per_row))
    return FAIL(WEIR_EFORMAT, "column '%s': bad list size in format '%s'", c, s->format);
  const struct ArrowArray *ca = a->children[0];
  const struct ArrowSchema *cs = s->children[0];
  if (!cs || !cs->format)
    return FAIL(WEIR_EFORMAT, "column '%s': tensor values have no schema format", c);

  /* The shape: from the extension metadata when it is a fixed_shape_tensor,
   * else the list is a 1-d tensor of its size. */
  weir__tensor_meta meta = {.ndim = 1, .shape = {per_row}};
  const char *v;
  int32_t vlen;
  int found = weir__arrow_metadata_find(s->metadata, WEIR__EXT_NAME_KEY, &v, &vlen);
  if (found < 0) return FAIL(WEIR_EFORMAT, "column '%s': malformed schema metadata", c);
  if (found && (size_t)vlen == strlen(WEIR__TENSOR_EXT_NAME) &&
      memcmp(v, WEIR__TENSOR_EXT_NAME, (size_t)vlen) == 0) {
    found = weir__arrow_metadata_find(s->metadata, WEIR__EXT_META_KEY, &v, &vlen);
    if (found < 0) return FAIL(WEIR_EFORMAT, "column '%s': malformed schema metadata", c);
    if (!found)
      return FAIL(WEIR_EFORMAT, "column '%s': fixed_shape_tensor without its metadata", c);
    int rc = weir__tensor_meta_parse(v, (size_t)vlen, c, &meta);
    if (rc) return rc;
    if (meta.permuted)
      return FAIL(WEIR_ENOTSUP, "column '%s': permuted fixed_shape_tensor is not supported", c);
    if (meta.ndim == 0)
      return FAIL(WEIR_ENOTSUP, "column '%s': 0-dimensional tensors are not supported", c);
    int64_t prod = 1;
    for (int d = 0; d < meta.ndim; d++) {
      if (meta.shape[d] && prod > INT32_MAX / meta.shape[d]) { prod = -1; break; }
      prod *= meta.shape[d];
    }
    if (prod != per_row)
      return FAIL(WEIR_EFORMAT,
                  "column '%s': tensor shape has %lld elements but the list size is %lld",
                  c, (long long)prod, (long long)per_row);
  }

  found = weir__arrow_metadata_find(s->metadata, WEIR__DTYPE_KEY, &v, &vlen);
  if (found < 0) return FAIL(WEIR_EFORMAT, "column '%s': malformed schema metadata", c);
  if (found) {
    if ((size_t)vlen != strlen("bfloat16") || memcmp(v, "bfloat16", 8) != 0)
      return FAIL(WEIR_EFORMAT, "column '%s': unknown %s \"%.*s\"", c,
                  WEIR__DTYPE_KEY, (int)vlen, v);
    meta.bfloat16 = 1;
  }

  /* uint16 storage is bfloat16 when the metadata says so, else uint16. */
  int dtype = elem_dtype(cs->format);
  if (!strcmp(cs->format, "S") && meta.bfloat16) dtype = WEIR_DTYPE_BFLOAT16;
  if (meta.bfloat16 && dtype != WEIR_DTYPE_BFLOAT16)
    return FAIL(WEIR_EFORMAT, "column '%s': bfloat16 tensor stored as '%s', not uint16 'S'",
                c, cs->format);
  if (!dtype) {
    char name[64];
    return FAIL(weir__arrow_format_is_known(cs->format) ? WEIR_ENOTSUP : WEIR_EFORMAT,
                "column '%s': tensor elements of Arrow type %s (format '%s') are not "
                "supported", c, weir__arrow_format_describe(cs->format, name, sizeof name),
                cs->format);
  }
  int rc = check_node(im, ca, cs, 2, 0);
  if (rc) return rc;

  /* Elements of the window's rows, in the child's own indexing. */
  int64_t row0 = a->offset + w->first;
  if (per_row && (row0 > INT64_MAX / per_row || w->len > INT64_MAX / per_row - row0))
    return FAIL(WEIR_EFORMAT, "column '%s': tensor element range overflows", c);
  int64_t first = row0 * per_row, count = w->len * per_row;
  rc = check_window(im, ca, first, count);
  if (rc) return rc;

  /* weir tensors have no per-element nulls: accept null elements only
   * inside rows that are null themselves. */
  const uint8_t *ebits = ca->buffers[0];
  if (ebits && ca->null_count != 0 && count) {
    const uint8_t *rbits = a->null_count != 0 ? a->buffers[0] : NULL;
    for (int64_t r = 0; r < w->len; r++) {
      if (rbits && !weir__bit_get(rbits, (size_t)(row0 + r))) continue;
      if (w->pvalid && !weir__bit_get(w->pvalid, (size_t)(w->pvalid_off + r))) continue;
      int64_t e0 = ca->offset + first + r * per_row;
      if (count_valid(ebits, e0, per_row) != (size_t)per_row)
        return FAIL(WEIR_ENOTSUP, "column '%s': row %lld holds null tensor elements", c,
                    (long long)r);
    }
  }
  col->type = WEIR_TYPE_TENSOR;
  col->dtype = dtype;
  col->ndim = meta.ndim;
  memcpy(col->shape, meta.shape, sizeof col->shape);
  return import_fixed(im, ca->buffers[1], ca->offset + first, count,
                      weir_dtype_size(dtype), col);
}

/* LIST from "+l" (int32 offsets, widened into a new buffer) or "+L"
 * (int64 offsets, shared). The elements are shared and must not be null
 * inside the rows. */
static int import_list(importer *im, const struct ArrowArray *a,
                       const struct ArrowSchema *s, const window *w, int wide,
                       weir__column *col) {
  const char *c = im->column;
  const struct ArrowArray *ca = a->children[0];
  const struct ArrowSchema *cs = s->children[0];
  if (!cs || !cs->format)
    return FAIL(WEIR_EFORMAT, "column '%s': list elements have no schema format", c);
  int dtype = elem_dtype(cs->format);
  const char *v;
  int32_t vlen;
  int found = weir__arrow_metadata_find(s->metadata, WEIR__DTYPE_KEY, &v, &vlen);
  if (found < 0) return FAIL(WEIR_EFORMAT, "column '%s': malformed schema metadata", c);
  if (found) {
    if ((size_t)vlen != strlen("bfloat16") || memcmp(v, "bfloat16", 8) != 0 ||
        dtype != WEIR_DTYPE_UINT16)
      return FAIL(WEIR_EFORMAT, "column '%s': %s \"%.*s\" on list elements of format "
                  "'%s' (bfloat16 travels as uint16 'S')", c, WEIR__DTYPE_KEY,
                  (int)vlen, v, cs->format);
    dtype = WEIR_DTYPE_BFLOAT16;
  }
  if (!dtype) {
    char name[64];
    return FAIL(weir__arrow_format_is_known(cs->format) ? WEIR_ENOTSUP : WEIR_EFORMAT,
                "column '%s': list elements of Arrow type %s (format '%s') are not "
                "supported (lists hold numbers)", c,
                weir__arrow_format_describe(cs->format, name, sizeof name), cs->format);
  }
  int rc = check_node(im, ca, cs, 2, 0);
  if (rc) return rc;
  size_t esize = weir_dtype_size(dtype);
  int64_t from = a->offset + w->first;
  const void *obuf = a->buffers[1];
  col->type = WEIR_TYPE_LIST;
  col->dtype = dtype;
  if (!obuf && w->len)
    return FAIL(WEIR_EFORMAT, "column '%s': offsets buffer is NULL", c);
  const int64_t *o64 = obuf && wide ? (const int64_t *)obuf + from : NULL;
  const int32_t *o32 = obuf && !wide ? (const int32_t *)obuf + from : NULL;
  int64_t first = obuf ? (wide ? o64[0] : o32[0]) : 0, prev = first;
  if (first < 0)
    return FAIL(WEIR_EFORMAT, "column '%s': negative first offset %lld", c, (long long)first);
  for (int64_t i = 1; obuf && i <= w->len; i++) {
    int64_t cur = wide ? o64[i] : o32[i];
    if (cur < prev)
      return FAIL(WEIR_EFORMAT, "column '%s': list offsets decrease at row %lld", c,
                  (long long)(i - 1));
    prev = cur;
  }
  int64_t end = prev;
  rc = check_window(im, ca, 0, end);
  if (rc) return rc;
  if (ca->null_count != 0 && ca->buffers[0] && end > first &&
      count_valid(ca->buffers[0], ca->offset + first, end - first) != (size_t)(end - first))
    return FAIL(WEIR_ENOTSUP, "column '%s': a list holds null elements", c);
  const uint8_t *values = ca->buffers[1];
  if (!values && end > first)
    return FAIL(WEIR_EFORMAT, "column '%s': list values buffer is NULL", c);
  if (wide && obuf) {
    col->offsets_buf = wrap(im->h, o64, (size_t)(w->len + 1) * sizeof(int64_t));
    if (!col->offsets_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    col->offsets = o64;
  } else {
    col->offsets_buf = weir__buffer_alloc((size_t)(w->len + 1) * sizeof(int64_t));
    if (!col->offsets_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    int64_t *o = col->offsets_buf->data;
    for (int64_t i = 0; obuf && i <= w->len; i++) o[i] = wide ? o64[i] : o32[i];
    col->offsets = o;
  }
  if (values) {
    const uint8_t *p = values + (size_t)ca->offset * esize;
    col->data_buf = wrap(im->h, p, (size_t)end * esize);
    if (!col->data_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    col->data = p;
  } else {
    col->data_buf = weir__buffer_alloc(0);
    if (!col->data_buf) return FAIL(WEIR_ENOMEM, "out of memory");
    col->data = col->data_buf->data;
  }
  return WEIR_OK;
}

/* Imports rows `w` of array `a` (schema `s`) into `col`. */
static int import_column(importer *im, const struct ArrowArray *a,
                         const struct ArrowSchema *s, const window *w,
                         weir__column *col) {
  const char *f = s ? s->format : NULL;
  if (!f || !weir__arrow_format_is_known(f))
    return FAIL(WEIR_EFORMAT, "column '%s': bad format string '%.16s'", im->column,
                f ? f : "(null)");
  int type = 0;
  int64_t n_buffers = 2, n_children = 0;
  if (!strcmp(f, "b")) type = WEIR_TYPE_BOOL;
  else if (!strcmp(f, "i")) type = WEIR_TYPE_INT32;
  else if (!strcmp(f, "l")) type = WEIR_TYPE_INT64;
  else if (!strcmp(f, "f")) type = WEIR_TYPE_FLOAT32;
  else if (!strcmp(f, "g")) type = WEIR_TYPE_FLOAT64;
  else if (!strcmp(f, "u") || !strcmp(f, "U")) type = WEIR_TYPE_STRING, n_buffers = 3;
  else if (!strcmp(f, "z") || !strcmp(f, "Z")) type = WEIR_TYPE_BINARY, n_buffers = 3;
  else if (!strncmp(f, "+w:", 3)) type = WEIR_TYPE_TENSOR, n_buffers = 1, n_children = 1;
  else if (!strcmp(f, "+l") || !strcmp(f, "+L")) type = WEIR_TYPE_LIST, n_children = 1;
  else {
    char name[64];
    return FAIL(WEIR_ENOTSUP, "column '%s': Arrow type %s ('%s') has no weir column type",
                im->column, weir__arrow_format_describe(f, name, sizeof name), f);
  }

  int rc = check_node(im, a, s, n_buffers, n_children);
  if (!rc) rc = check_window(im, a, w->first, w->len);
  if (!rc) rc = import_validity(im, a, w, col);
  if (rc) return rc;
  col->type = type;
  col->length = (size_t)w->len;
  col->device = WEIR_DEVICE_CPU;
  switch (type) {
  case WEIR_TYPE_BOOL:
    return import_bool(im, a, w, col);
  case WEIR_TYPE_STRING:
  case WEIR_TYPE_BINARY:
    return import_varlen(im, a, w, f[0] == 'U' || f[0] == 'Z', col);
  case WEIR_TYPE_TENSOR:
    return import_tensor(im, a, s, w, col);
  case WEIR_TYPE_LIST:
    return import_list(im, a, s, w, f[1] == 'L', col);
  default:
    return import_fixed(im, a->buffers[1], a->offset + w->first, w->len,
                        weir__column_row_bytes(col), col);
  }
}

static int set_name(weir__column *col, const char *name) {
  col->name = strdup(name ? name : "");
  return col->name ? WEIR_OK : FAIL(WEIR_ENOMEM, "out of memory");
}

/* Builds the block once the array is safely in its holder. */
static int import_block(holder *h, const struct ArrowSchema *schema,
                        weir_block **out) {
  const struct ArrowArray *top = &h->array;
  importer im = {h, "(top level)"};
  const char *f = schema->format;
  if (!f || !weir__arrow_format_is_known(f))
    return FAIL(WEIR_EFORMAT, "bad top-level format string '%.16s'", f ? f : "(null)");

  weir_block *b = NULL;
  int rc;
  if (strcmp(f, "+s") != 0) {
    /* A plain array is a block of one column named after the field. */
    im.column = schema->name ? schema->name : "";
    window w = {0, top->length >= 0 ? top->length : 0, NULL, 0};
    if (!(b = weir__block_alloc(1, (size_t)w.len))) return FAIL(WEIR_ENOMEM, "out of memory");
    rc = set_name(&b->cols[0], schema->name);
    if (!rc) rc = import_column(&im, top, schema, &w, &b->cols[0]);
  } else {
    rc = check_node(&im, top, schema, 1, top->n_children);
    if (rc) return rc;
    /* A struct's own nulls (a RecordBatch has none) are folded into every
     * column, since a block has no row-level validity of its own. */
    window w = {0, top->length, NULL, 0};
    if (top->null_count != 0 && top->buffers[0]) {
      if (count_valid(top->buffers[0], top->offset, top->length) != (size_t)top->length) {
        w.pvalid = top->buffers[0];
        w.pvalid_off = top->offset;
      }
    }
    if (!(b = weir__block_alloc((size_t)top->n_children, (size_t)top->length)))
      return FAIL(WEIR_ENOMEM, "out of memory for a struct of %lld columns",
                  (long long)top->n_children);
    for (int64_t i = 0; i < top->n_children && !rc; i++) {
      const struct ArrowSchema *cs = schema->children[i];
      const struct ArrowArray *ca = top->children[i];
      if (!cs || !ca) {
        rc = FAIL(WEIR_EFORMAT, "child %lld of the struct is NULL", (long long)i);
        break;
      }
      im.column = cs->name ? cs->name : "";
      w.first = top->offset;
      rc = set_name(&b->cols[i], cs->name);
      if (!rc) rc = import_column(&im, ca, cs, &w, &b->cols[i]);
    }
  }
  if (rc) {
    weir_block_unref(&b);
    return rc;
  }
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}

int weir_block_from_arrow(struct ArrowArray *array, struct ArrowSchema *schema,
                          weir_block **out) {
  int rc = WEIR_OK;
  holder *h = NULL;
  if (out) *out = NULL;
  if (!array || !schema || !out || !array->release || !schema->release) {
    rc = weir__set_last_error(WEIR_EINVAL,
        "weir_block_from_arrow: NULL or already released array/schema/out");
    goto done;
  }
  if (!(h = malloc(sizeof *h))) {
    rc = FAIL(WEIR_ENOMEM, "out of memory");
    goto done;
  }
  /* Move the array in: from here the holder owns it. */
  atomic_init(&h->refs, 1);
  h->array = *array;
  array->release = NULL;
  rc = import_block(h, schema, out);
done:
  if (h) holder_unref(h);
  if (array && array->release) array->release(array);
  if (schema && schema->release) schema->release(schema);
  return rc;
}
