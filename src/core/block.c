/* Blocks: reference counting, column views and the type tables. */
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "weir/error.h"
#include "core/block_internal.h"

weir_block *weir__block_alloc(size_t num_columns, size_t num_rows) {
  /* The count may come from an untrusted producer (an Arrow struct's
   * n_children): a product that wrapped would give a tiny block whose
   * columns are then written past its end. */
  if (num_columns > (SIZE_MAX - sizeof(weir_block)) / sizeof(weir__column)) return NULL;
  weir_block *b = calloc(1, sizeof *b + num_columns * sizeof(weir__column));
  if (!b) return NULL;
  atomic_init(&b->refs, 1);
  b->num_rows = num_rows;
  b->num_columns = num_columns;
  return b;
}

static size_t bitmap_bytes(size_t bits) { return (bits + 7) / 8; }

size_t weir__column_row_bytes(const weir__column *col) {
  switch (col->type) {
  case WEIR_TYPE_INT32:   return 4;
  case WEIR_TYPE_INT64:   return 8;
  case WEIR_TYPE_FLOAT32: return 4;
  case WEIR_TYPE_FLOAT64: return 8;
  case WEIR_TYPE_TENSOR: {
    size_t n = weir_dtype_size(col->dtype);
    for (int d = 0; d < col->ndim; d++) n *= (size_t)col->shape[d];
    return n;
  }
  default:                return 0;
  }
}

size_t weir__column_value_unit(const weir__column *col) {
  return col->type == WEIR_TYPE_LIST ? weir_dtype_size(col->dtype) : 1;
}

static size_t column_nbytes(const weir__column *col) {
  size_t n = col->validity ? bitmap_bytes(col->length) : 0;
  switch (col->type) {
  case WEIR_TYPE_BOOL:
    return n + bitmap_bytes(col->length);
  case WEIR_TYPE_STRING:
  case WEIR_TYPE_BINARY:
  case WEIR_TYPE_LIST:
    return n + (col->length + 1) * sizeof(int64_t) +
           (size_t)(col->offsets[col->length] - col->offsets[0]) *
               weir__column_value_unit(col);
  default:
    return n + col->length * weir__column_row_bytes(col);
  }
}

void weir__block_seal(weir_block *b) {
  size_t total = 0;
  for (size_t i = 0; i < b->num_columns; i++) total += column_nbytes(&b->cols[i]);
  b->nbytes = total;
}

void weir__column_clear(weir__column *col) {
  free(col->name);
  weir__buffer_unref(col->validity_buf);
  weir__buffer_unref(col->data_buf);
  weir__buffer_unref(col->offsets_buf);
  memset(col, 0, sizeof *col);
}

int weir__column_copy_meta(weir__column *dst, const weir__column *src) {
  memset(dst, 0, sizeof *dst);
  dst->name = strdup(src->name ? src->name : "");
  if (!dst->name) return WEIR_ENOMEM;
  dst->type = src->type;
  dst->dtype = src->dtype;
  dst->ndim = src->ndim;
  memcpy(dst->shape, src->shape, sizeof dst->shape);
  dst->device = src->device;
  dst->device_id = src->device_id;
  return WEIR_OK;
}

int weir__column_share(weir__column *dst, const weir__column *src) {
  int rc = weir__column_copy_meta(dst, src);
  if (rc) return rc;
  dst->length = src->length;
  dst->null_count = src->null_count;
  dst->validity_buf = weir__buffer_ref(src->validity_buf);
  dst->validity = src->validity;
  dst->data_buf = weir__buffer_ref(src->data_buf);
  dst->data = src->data;
  dst->offsets_buf = weir__buffer_ref(src->offsets_buf);
  dst->offsets = src->offsets;
  dst->ready_event = src->ready_event;
  return WEIR_OK;
}

void weir__column_describe(const weir__column *c, char *buf, size_t n) {
  int k = snprintf(buf, n, "'%s' %s", c->name ? c->name : "", weir_type_name(c->type));
  if (k < 0 || (size_t)k >= n) return;
  if (c->type == WEIR_TYPE_LIST)
    snprintf(buf + k, n - (size_t)k, " of %s", weir_dtype_name(c->dtype));
  if (c->type != WEIR_TYPE_TENSOR) return;
  k += snprintf(buf + k, n - (size_t)k, " %s [", weir_dtype_name(c->dtype));
  for (int d = 0; d < c->ndim && (size_t)k < n; d++)
    k += snprintf(buf + k, n - (size_t)k, "%s%lld", d ? ", " : "", (long long)c->shape[d]);
  if ((size_t)k < n) snprintf(buf + k, n - (size_t)k, "]");
}

size_t weir__blocks_first_mismatch(const weir_block *const *blocks, size_t n, size_t *col) {
  for (size_t i = 1; i < n; i++) {
    if (blocks[i]->num_columns != blocks[0]->num_columns) {
      *col = 0;
      return i;
    }
    for (size_t c = 0; c < blocks[i]->num_columns; c++)
      if (!weir__column_same_schema(&blocks[i]->cols[c], &blocks[0]->cols[c])) {
        *col = c;
        return i;
      }
  }
  return 0;
}

int weir__column_same_schema(const weir__column *a, const weir__column *b) {
  if (strcmp(a->name, b->name) != 0 || a->type != b->type) return 0;
  if (a->type == WEIR_TYPE_LIST) return a->dtype == b->dtype;
  if (a->type != WEIR_TYPE_TENSOR) return 1;
  if (a->dtype != b->dtype || a->ndim != b->ndim) return 0;
  return memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]) == 0;
}

int weir__block_on_device(const weir_block *b) {
  for (size_t i = 0; i < b->num_columns; i++)
    if (b->cols[i].device != WEIR_DEVICE_CPU) return 1;
  return 0;
}

weir_block *weir_block_ref(weir_block *b) {
  if (b) atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
  return b;
}

static weir_block empty_block; /* no columns, no rows, never freed */

void weir_block_unref(weir_block **bp) {
  if (!bp || !*bp) return;
  weir_block *b = *bp;
  *bp = NULL;
  if (b == &empty_block) return;
  if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) return;
  for (size_t i = 0; i < b->num_columns; i++) weir__column_clear(&b->cols[i]);
  free(b);
}

weir_block *weir_block_empty(void) { return &empty_block; }

size_t weir_block_num_rows(const weir_block *b) { return b ? b->num_rows : 0; }
size_t weir_block_num_columns(const weir_block *b) { return b ? b->num_columns : 0; }
size_t weir_block_nbytes(const weir_block *b) { return b ? b->nbytes : 0; }

int weir_block_column_index(const weir_block *b, const char *name) {
  if (!b || !name) return WEIR_ENOTFOUND;
  for (size_t i = 0; i < b->num_columns; i++)
    if (strcmp(b->cols[i].name, name) == 0) return (int)i;
  return WEIR_ENOTFOUND;
}

/* The first layout of weir_column, which the plain weir_block_column symbol
 * fills: fields appended later lie past it. */
#define COLUMN_SIZE_FIRST (offsetof(weir_column, ready_event) + sizeof(void *))

int weir_block_column_sized(const weir_block *b, size_t index, weir_column *out,
                            size_t out_size) {
  if (!b) return weir__set_last_error(WEIR_EINVAL, "weir_block_column: NULL block");
  if (!out) return weir__set_last_error(WEIR_EINVAL, "weir_block_column: NULL out");
  if (out_size < COLUMN_SIZE_FIRST)
    return weir__set_last_error(WEIR_EINVAL,
                                "weir_block_column: a weir_column of %zu bytes is smaller "
                                "than any layout weir has had (%zu)", out_size,
                                (size_t)COLUMN_SIZE_FIRST);
  if (index >= b->num_columns)
    return weir__set_last_error(WEIR_EINVAL,
                                "weir_block_column: column index %zu out of range (the block "
                                "has %zu columns)", index, b->num_columns);
  const weir__column *c = &b->cols[index];
  weir_column v;
  memset(&v, 0, sizeof v);
  v.name = c->name;
  v.type = c->type;
  v.length = c->length;
  v.validity = c->null_count ? c->validity : NULL;
  v.data = c->data;
  v.offsets = c->offsets;
  v.dtype = c->dtype;
  v.ndim = c->ndim;
  memcpy(v.shape, c->shape, sizeof v.shape);
  v.device = c->device;
  v.device_id = c->device_id;
  v.null_count = c->null_count;
  v.ready_event = c->ready_event;
  /* A caller's struct from a newer header: what this library lacks is 0. */
  if (out_size > sizeof v) memset((char *)out + sizeof v, 0, out_size - sizeof v);
  memcpy(out, &v, out_size < sizeof v ? out_size : sizeof v);
  return WEIR_OK;
}

/* The symbol of the first layout, for callers that do not use the header's
 * macro (bindings). The parentheses keep the macro from expanding. */
int(weir_block_column)(const weir_block *b, size_t index, weir_column *out) {
  return weir_block_column_sized(b, index, out, COLUMN_SIZE_FIRST);
}

int weir_block_is_valid(const weir_block *b, size_t index, size_t row) {
  if (!b || index >= b->num_columns || row >= b->num_rows) return 0;
  const weir__column *c = &b->cols[index];
  return !c->validity || weir__bit_get(c->validity, row);
}

size_t weir_dtype_size(int dtype) {
  switch (dtype) {
  case WEIR_DTYPE_UINT8: case WEIR_DTYPE_INT8: return 1;
  case WEIR_DTYPE_INT16: case WEIR_DTYPE_FLOAT16: case WEIR_DTYPE_BFLOAT16:
  case WEIR_DTYPE_UINT16: return 2;
  case WEIR_DTYPE_INT32: case WEIR_DTYPE_FLOAT32: case WEIR_DTYPE_UINT32: return 4;
  case WEIR_DTYPE_INT64: case WEIR_DTYPE_FLOAT64: case WEIR_DTYPE_UINT64: return 8;
  default: return 0;
  }
}

const char *weir_type_name(int type) {
  static const char *const names[] = {
    [WEIR_TYPE_BOOL] = "bool",       [WEIR_TYPE_INT32] = "int32",
    [WEIR_TYPE_INT64] = "int64",     [WEIR_TYPE_FLOAT32] = "float32",
    [WEIR_TYPE_FLOAT64] = "float64", [WEIR_TYPE_STRING] = "string",
    [WEIR_TYPE_BINARY] = "binary",   [WEIR_TYPE_TENSOR] = "tensor",
    [WEIR_TYPE_LIST] = "list"};
  if (type < WEIR_TYPE_BOOL || type > WEIR_TYPE_LIST) return "unknown";
  return names[type];
}

const char *weir_dtype_name(int dtype) {
  static const char *const names[] = {
    [WEIR_DTYPE_UINT8] = "uint8",     [WEIR_DTYPE_INT8] = "int8",
    [WEIR_DTYPE_INT16] = "int16",     [WEIR_DTYPE_INT32] = "int32",
    [WEIR_DTYPE_INT64] = "int64",     [WEIR_DTYPE_FLOAT16] = "float16",
    [WEIR_DTYPE_BFLOAT16] = "bfloat16", [WEIR_DTYPE_FLOAT32] = "float32",
    [WEIR_DTYPE_FLOAT64] = "float64", [WEIR_DTYPE_UINT16] = "uint16",
    [WEIR_DTYPE_UINT32] = "uint32",   [WEIR_DTYPE_UINT64] = "uint64"};
  if (dtype < WEIR_DTYPE_UINT8 || dtype > WEIR_DTYPE_UINT64) return "unknown";
  return names[dtype];
}
