/* The block builder: row-wise and columnar appends into growable buffers,
 * handed over to a block without copying. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/block_internal.h"
#include "core/mem.h"
#include "core/utf8.h"

/* A growable byte array; handed to a block as a buffer on finish. */
typedef struct bytes {
  uint8_t *data;
  size_t len, cap;
} bytes;

typedef struct bcol {
  char *name;
  int type, dtype, ndim;
  int64_t shape[WEIR_TENSOR_MAX_DIMS];
  size_t row_bytes;  /* fixed-width and TENSOR columns */
  size_t rows;
  size_t nulls;
  bytes values;      /* values; BOOL bits; STRING/BINARY bytes */
  bytes validity;    /* only once the first null arrives */
  bytes offsets;     /* STRING/BINARY/LIST: int64, rows + 1 of them */
  size_t elem_bytes; /* LIST: bytes of one element */
} bcol;

struct weir_builder {
  bcol *cols;
  size_t ncols, cap;
  char errmsg[256];
};

static int fail(weir_builder *bld, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int fail(weir_builder *bld, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(bld->errmsg, sizeof bld->errmsg, fmt, ap);
  va_end(ap);
  weir__set_last_error(WEIR_EINVAL, "%s", bld->errmsg);
  return WEIR_EINVAL;
}

static int bytes_reserve(bytes *b, size_t extra) {
  if (extra <= b->cap - b->len) return WEIR_OK;
  size_t need = b->len + extra;
  if (need < b->len) return WEIR_ENOMEM;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) { cap = need; break; }
    cap *= 2;
  }
  uint8_t *p = weir__mem_realloc(b->data, cap);
  if (!p) return WEIR_ENOMEM;
  b->data = p;
  b->cap = cap;
  return WEIR_OK;
}

static int bytes_append(bytes *b, const void *src, size_t n) {
  if (bytes_reserve(b, n)) return WEIR_ENOMEM;
  if (n) memcpy(b->data + b->len, src, n);
  b->len += n;
  return WEIR_OK;
}

/* Grows a bitmap to hold `bits` bits; new bits get `fill`. */
static int bits_grow(bytes *b, size_t bits, int fill) {
  size_t need = (bits + 7) / 8;
  if (need <= b->len) return WEIR_OK;
  if (bytes_reserve(b, need - b->len)) return WEIR_ENOMEM;
  memset(b->data + b->len, fill ? 0xff : 0, need - b->len);
  b->len = need;
  return WEIR_OK;
}

static void bcol_free(bcol *c) {
  free(c->name);
  weir__mem_free(c->values.data);
  weir__mem_free(c->validity.data);
  weir__mem_free(c->offsets.data);
  memset(c, 0, sizeof *c);
}

static void builder_reset(weir_builder *bld) {
  for (size_t i = 0; i < bld->ncols; i++) bcol_free(&bld->cols[i]);
  bld->ncols = 0;
}

int weir_builder_create(weir_builder **out) {
  if (!out) return WEIR_EINVAL;
  weir_builder *bld = calloc(1, sizeof *bld);
  if (!bld) return WEIR_ENOMEM;
  *out = bld;
  return WEIR_OK;
}

void weir_builder_destroy(weir_builder *bld) {
  if (!bld) return;
  builder_reset(bld);
  free(bld->cols);
  free(bld);
}

const char *weir_builder_errmsg(const weir_builder *bld) {
  return bld ? bld->errmsg : "";
}

size_t weir_builder_num_columns(const weir_builder *bld) {
  return bld ? bld->ncols : 0;
}

size_t weir_builder_num_rows(const weir_builder *bld, size_t col) {
  return bld && col < bld->ncols ? bld->cols[col].rows : 0;
}

static bcol *new_column(weir_builder *bld, const char *name) {
  if (bld->ncols == bld->cap) {
    size_t cap = bld->cap ? bld->cap * 2 : 8;
    bcol *cols = realloc(bld->cols, cap * sizeof *cols);
    if (!cols) return NULL;
    bld->cols = cols;
    bld->cap = cap;
  }
  bcol *c = &bld->cols[bld->ncols];
  memset(c, 0, sizeof *c);
  c->name = strdup(name);
  if (!c->name) return NULL;
  return c;
}

/* Every STRING/BINARY column starts with the offset 0 of its first row. */
static int start_offsets(bcol *c) {
  int64_t zero = 0;
  return bytes_append(&c->offsets, &zero, sizeof zero);
}

int weir_builder_add_column(weir_builder *bld, const char *name, int type) {
  if (!bld) return WEIR_EINVAL;
  bld->errmsg[0] = '\0';
  if (!name) return fail(bld, "column name is NULL");
  if (type == WEIR_TYPE_TENSOR)
    return fail(bld, "column '%s': use weir_builder_add_tensor_column for TENSOR columns", name);
  if (type == WEIR_TYPE_LIST)
    return fail(bld, "column '%s': use weir_builder_add_list_column for LIST columns", name);
  if (type < WEIR_TYPE_BOOL || type > WEIR_TYPE_BINARY)
    return fail(bld, "column '%s': unknown column type %d", name, type);
  bcol *c = new_column(bld, name);
  if (!c) return WEIR_ENOMEM;
  c->type = type;
  c->row_bytes = type == WEIR_TYPE_INT32 || type == WEIR_TYPE_FLOAT32 ? 4
               : type == WEIR_TYPE_INT64 || type == WEIR_TYPE_FLOAT64 ? 8 : 0;
  if ((type == WEIR_TYPE_STRING || type == WEIR_TYPE_BINARY) && start_offsets(c)) {
    bcol_free(c);
    return WEIR_ENOMEM;
  }
  bld->ncols++;
  return WEIR_OK;
}

int weir_builder_add_list_column(weir_builder *bld, const char *name, int dtype) {
  if (!bld) return WEIR_EINVAL;
  bld->errmsg[0] = '\0';
  if (!name) return fail(bld, "column name is NULL");
  if (weir_dtype_size(dtype) == 0)
    return fail(bld, "list column '%s': unknown element dtype %d", name, dtype);
  bcol *c = new_column(bld, name);
  if (!c) return WEIR_ENOMEM;
  c->type = WEIR_TYPE_LIST;
  c->dtype = dtype;
  c->elem_bytes = weir_dtype_size(dtype);
  if (start_offsets(c)) {
    bcol_free(c);
    return WEIR_ENOMEM;
  }
  bld->ncols++;
  return WEIR_OK;
}

int weir_builder_add_tensor_column(weir_builder *bld, const char *name,
                                   int dtype, int ndim, const int64_t *shape) {
  if (!bld) return WEIR_EINVAL;
  bld->errmsg[0] = '\0';
  if (!name) return fail(bld, "column name is NULL");
  if (weir_dtype_size(dtype) == 0)
    return fail(bld, "tensor column '%s': unknown dtype %d", name, dtype);
  if (ndim < 1 || ndim > WEIR_TENSOR_MAX_DIMS || !shape)
    return fail(bld, "tensor column '%s': %d dimensions (must be 1..%d)", name, ndim,
                WEIR_TENSOR_MAX_DIMS);
  size_t row_bytes = weir_dtype_size(dtype);
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0)
      return fail(bld, "tensor column '%s': dimension %d is negative (%lld)", name, d,
                  (long long)shape[d]);
    if (shape[d] && row_bytes > SIZE_MAX / (size_t)shape[d])
      return fail(bld, "tensor column '%s': shape too large", name);
    row_bytes *= (size_t)shape[d];
  }
  bcol *c = new_column(bld, name);
  if (!c) return WEIR_ENOMEM;
  c->type = WEIR_TYPE_TENSOR;
  c->dtype = dtype;
  c->ndim = ndim;
  memcpy(c->shape, shape, (size_t)ndim * sizeof *shape);
  c->row_bytes = row_bytes;
  bld->ncols++;
  return WEIR_OK;
}

/* Looks up column `col` and checks its type against the call. */
static bcol *column_for(weir_builder *bld, size_t col, const char *call,
                        int t1, int t2, int t3) {
  bld->errmsg[0] = '\0';
  if (col >= bld->ncols) {
    fail(bld, "%s: column index %zu out of range (%zu columns)", call, col, bld->ncols);
    return NULL;
  }
  bcol *c = &bld->cols[col];
  if (c->type != t1 && c->type != t2 && c->type != t3) {
    fail(bld, "%s: column %zu ('%s') is %s", call, col, c->name, weir_type_name(c->type));
    return NULL;
  }
  return c;
}

/* Marks row c->rows as valid in a column that already has a bitmap. */
static int mark_valid(bcol *c) {
  if (!c->validity.data) return WEIR_OK;
  if (bits_grow(&c->validity, c->rows + 1, 1)) return WEIR_ENOMEM;
  weir__bit_set(c->validity.data, c->rows, 1);
  return WEIR_OK;
}

static int append_fixed(bcol *c, const void *v) {
  if (bytes_reserve(&c->values, c->row_bytes) || mark_valid(c)) return WEIR_ENOMEM;
  memcpy(c->values.data + c->values.len, v, c->row_bytes);
  c->values.len += c->row_bytes;
  c->rows++;
  return WEIR_OK;
}

static int append_bit(bcol *c, int v) {
  if (bits_grow(&c->values, c->rows + 1, 0) || mark_valid(c)) return WEIR_ENOMEM;
  weir__bit_set(c->values.data, c->rows, v != 0);
  c->rows++;
  return WEIR_OK;
}

int weir_builder_append_int64(weir_builder *bld, size_t col, int64_t v) {
  if (!bld) return WEIR_EINVAL;
  bcol *c = column_for(bld, col, "append_int64", WEIR_TYPE_INT64, WEIR_TYPE_INT32,
                       WEIR_TYPE_BOOL);
  if (!c) return WEIR_EINVAL;
  if (c->type == WEIR_TYPE_BOOL) return append_bit(c, v != 0);
  if (c->type == WEIR_TYPE_INT32) {
    if (v < INT32_MIN || v > INT32_MAX)
      return fail(bld, "append_int64: %lld does not fit INT32 column %zu ('%s')",
                  (long long)v, col, c->name);
    int32_t v32 = (int32_t)v;
    return append_fixed(c, &v32);
  }
  return append_fixed(c, &v);
}

int weir_builder_append_float64(weir_builder *bld, size_t col, double v) {
  if (!bld) return WEIR_EINVAL;
  bcol *c = column_for(bld, col, "append_float64", WEIR_TYPE_FLOAT64, WEIR_TYPE_FLOAT32,
                       WEIR_TYPE_FLOAT64);
  if (!c) return WEIR_EINVAL;
  if (c->type == WEIR_TYPE_FLOAT32) {
    float f = (float)v;
    return append_fixed(c, &f);
  }
  return append_fixed(c, &v);
}

int weir_builder_append_bool(weir_builder *bld, size_t col, int v) {
  if (!bld) return WEIR_EINVAL;
  bcol *c = column_for(bld, col, "append_bool", WEIR_TYPE_BOOL, WEIR_TYPE_BOOL,
                       WEIR_TYPE_BOOL);
  return c ? append_bit(c, v) : WEIR_EINVAL;
}

int weir_builder_append_string(weir_builder *bld, size_t col, const char *s,
                               size_t len) {
  if (!bld) return WEIR_EINVAL;
  bcol *c = column_for(bld, col, "append_string", WEIR_TYPE_STRING, WEIR_TYPE_BINARY,
                       WEIR_TYPE_STRING);
  if (!c) return WEIR_EINVAL;
  if (!s && len) return fail(bld, "append_string: NULL data with length %zu", len);
  if (c->type == WEIR_TYPE_STRING) {
    size_t bad = weir__utf8_invalid_at(s, len);
    if (bad != len)
      return fail(bld, "append_string: invalid UTF-8 at byte %zu of row %zu in column '%s'",
                  bad, c->rows, c->name);
  }
  if (bytes_reserve(&c->offsets, sizeof(int64_t)) || bytes_append(&c->values, s, len) ||
      mark_valid(c))
    return WEIR_ENOMEM;
  int64_t end = (int64_t)c->values.len;
  bytes_append(&c->offsets, &end, sizeof end);
  c->rows++;
  return WEIR_OK;
}

int weir_builder_append_list(weir_builder *bld, size_t col, const void *values,
                             size_t n) {
  if (!bld) return WEIR_EINVAL;
  bcol *c = column_for(bld, col, "append_list", WEIR_TYPE_LIST, WEIR_TYPE_LIST,
                       WEIR_TYPE_LIST);
  if (!c) return WEIR_EINVAL;
  if (!values && n) return fail(bld, "append_list: NULL values with %zu elements", n);
  if (n > SIZE_MAX / c->elem_bytes) return WEIR_ENOMEM;
  if (bytes_reserve(&c->offsets, sizeof(int64_t)) ||
      bytes_append(&c->values, values, n * c->elem_bytes) || mark_valid(c))
    return WEIR_ENOMEM;
  int64_t end = (int64_t)(c->values.len / c->elem_bytes);
  bytes_append(&c->offsets, &end, sizeof end);
  c->rows++;
  return WEIR_OK;
}

int weir_builder_append_tensor_slot(weir_builder *bld, size_t col, void **data) {
  if (!bld) return WEIR_EINVAL;
  bcol *c = column_for(bld, col, "append_tensor", WEIR_TYPE_TENSOR, WEIR_TYPE_TENSOR,
                       WEIR_TYPE_TENSOR);
  if (!c) return WEIR_EINVAL;
  if (!data) return fail(bld, "append_tensor_slot: NULL output pointer");
  if (bytes_reserve(&c->values, c->row_bytes) || mark_valid(c)) return WEIR_ENOMEM;
  *data = c->values.data + c->values.len;
  c->values.len += c->row_bytes;
  c->rows++;
  return WEIR_OK;
}

int weir_builder_append_tensor(weir_builder *bld, size_t col, const void *data) {
  if (!bld) return WEIR_EINVAL;
  if (!data) {
    bld->errmsg[0] = '\0';
    return fail(bld, "append_tensor: NULL data for column %zu", col);
  }
  void *slot = NULL;
  int rc = weir_builder_append_tensor_slot(bld, col, &slot);
  /* A row of no elements (a [0, W, C] image) has no slot to copy into:
   * the column's storage may still be NULL, and memcpy wants a pointer. */
  if (rc == WEIR_OK && bld->cols[col].row_bytes)
    memcpy(slot, data, bld->cols[col].row_bytes);
  return rc;
}

int weir_builder_append_null(weir_builder *bld, size_t col) {
  if (!bld) return WEIR_EINVAL;
  bld->errmsg[0] = '\0';
  if (col >= bld->ncols)
    return fail(bld, "append_null: column index %zu out of range (%zu columns)", col,
                bld->ncols);
  bcol *c = &bld->cols[col];
  /* The bitmap appears with the first null: every earlier row was valid. */
  if (bits_grow(&c->validity, c->rows + 1, 1)) return WEIR_ENOMEM;
  size_t row = c->rows;
  int rc;
  switch (c->type) {
  case WEIR_TYPE_BOOL:
    rc = append_bit(c, 0);
    break;
  case WEIR_TYPE_STRING:
  case WEIR_TYPE_BINARY:
  case WEIR_TYPE_LIST: {
    int64_t end = (int64_t)(c->values.len / (c->elem_bytes ? c->elem_bytes : 1));
    rc = bytes_append(&c->offsets, &end, sizeof end);
    if (rc == WEIR_OK) c->rows++;
    break;
  }
  default:
    rc = bytes_reserve(&c->values, c->row_bytes);
    if (rc == WEIR_OK) {
      memset(c->values.data + c->values.len, 0, c->row_bytes);
      c->values.len += c->row_bytes;
      c->rows++;
    }
  }
  if (rc) return WEIR_ENOMEM;
  weir__bit_set(c->validity.data, row, 0);
  c->nulls++;
  return WEIR_OK;
}

int weir_builder_append_values(weir_builder *bld, size_t col, const void *values,
                               size_t n) {
  if (!bld) return WEIR_EINVAL;
  bld->errmsg[0] = '\0';
  if (col >= bld->ncols)
    return fail(bld, "append_values: column index %zu out of range (%zu columns)", col,
                bld->ncols);
  bcol *c = &bld->cols[col];
  if (c->row_bytes == 0 || c->type == WEIR_TYPE_BOOL)
    return fail(bld, "append_values: column %zu ('%s') is %s; use the row-wise appends",
                col, c->name, weir_type_name(c->type));
  if (n && !values) return fail(bld, "append_values: NULL values for %zu rows", n);
  if (n > SIZE_MAX / c->row_bytes) return WEIR_ENOMEM;
  if (c->validity.data && bits_grow(&c->validity, c->rows + n, 1)) return WEIR_ENOMEM;
  if (c->validity.data)
    for (size_t i = 0; i < n; i++) weir__bit_set(c->validity.data, c->rows + i, 1);
  if (bytes_append(&c->values, values, n * c->row_bytes)) return WEIR_ENOMEM;
  c->rows += n;
  return WEIR_OK;
}

int weir_builder_reserve(weir_builder *bld, size_t rows) {
  if (!bld) return WEIR_EINVAL;
  for (size_t i = 0; i < bld->ncols; i++) {
    bcol *c = &bld->cols[i];
    size_t bytes = c->type == WEIR_TYPE_BOOL ? rows / 8 + 1 : rows * c->row_bytes;
    if (bytes_reserve(&c->values, bytes)) return WEIR_ENOMEM;
    if (weir__type_has_offsets(c->type) &&
        bytes_reserve(&c->offsets, rows * sizeof(int64_t)))
      return WEIR_ENOMEM;
  }
  return WEIR_OK;
}

/* Moves a growable array into a buffer; an empty one still gets a valid
 * pointer so consumers never see NULL data for a present column. */
static int take_bytes(bytes *b, weir__buffer **out) {
  if (!b->data && bytes_reserve(b, 8)) return WEIR_ENOMEM;
  *out = weir__buffer_wrap(b->data, b->len, weir__buffer_release_mem, NULL);
  if (!*out) return WEIR_ENOMEM;
  memset(b, 0, sizeof *b);
  return WEIR_OK;
}

int weir_builder_finish(weir_builder *bld, weir_block **out) {
  if (!bld) return weir__set_last_error(WEIR_EINVAL, "weir_builder_finish: NULL builder");
  if (!out) return fail(bld, "weir_builder_finish: NULL out (where the block goes)");
  bld->errmsg[0] = '\0';
  size_t rows = bld->ncols ? bld->cols[0].rows : 0;
  for (size_t i = 1; i < bld->ncols; i++)
    if (bld->cols[i].rows != rows)
      return fail(bld, "finish: column %zu ('%s') has %zu rows, column 0 ('%s') has %zu",
                  i, bld->cols[i].name, bld->cols[i].rows, bld->cols[0].name, rows);
  weir_block *b = weir__block_alloc(bld->ncols, rows);
  if (!b) return WEIR_ENOMEM;
  for (size_t i = 0; i < bld->ncols; i++) {
    bcol *c = &bld->cols[i];
    weir__column *dc = &b->cols[i];
    dc->type = c->type;
    dc->dtype = c->dtype;
    dc->ndim = c->ndim;
    memcpy(dc->shape, c->shape, sizeof dc->shape);
    dc->length = rows;
    dc->null_count = c->nulls;
    dc->device = WEIR_DEVICE_CPU;
    if (c->type == WEIR_TYPE_BOOL && bits_grow(&c->values, rows, 0)) goto nomem;
    if (take_bytes(&c->values, &dc->data_buf)) goto nomem;
    dc->data = dc->data_buf->data;
    if (c->nulls) {
      if (take_bytes(&c->validity, &dc->validity_buf)) goto nomem;
      dc->validity = dc->validity_buf->data;
    }
    if (weir__type_has_offsets(c->type)) {
      if (take_bytes(&c->offsets, &dc->offsets_buf)) goto nomem;
      dc->offsets = dc->offsets_buf->data;
    }
    dc->name = c->name;
    c->name = NULL;
  }
  weir__block_seal(b);
  builder_reset(bld);
  *out = b;
  return WEIR_OK;
nomem:
  /* Columns already moved are lost with the block; the builder is reset
   * so it does not hold half-moved columns. */
  weir_block_unref(&b);
  builder_reset(bld);
  return WEIR_ENOMEM;
}
