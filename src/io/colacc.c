/* Growable typed column arrays that turn into block columns without a
 * copy. */
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/block_internal.h"
#include "core/mem.h"
#include "io/colacc.h"
#include "io/schema.h"

int weir__colacc_init(weir__colacc *c, const char *name, int type) {
  memset(c, 0, sizeof *c);
  c->name = strdup(name);
  c->type = weir__schema_base(type);
  c->dtype = weir__schema_dtype(type);
  c->esize = c->type == WEIR_TYPE_LIST ? weir_dtype_size(c->dtype) : 1;
  if (!c->esize) c->esize = 1;
  return c->name ? WEIR_OK : WEIR_ENOMEM;
}

void weir__colacc_free(weir__colacc *c) {
  free(c->name);
  weir__mem_free(c->valid);
  weir__mem_free(c->vals);
  weir__mem_free(c->offs);
  weir__mem_free(c->data);
  memset(c, 0, sizeof *c);
}

static int is_var(int type) {
  return type == WEIR_TYPE_STRING || type == WEIR_TYPE_BINARY || type == WEIR_TYPE_LIST;
}

static size_t val_bytes(int type, size_t rows) {
  switch (type) {
  case WEIR_TYPE_BOOL: return (rows + 7) / 8;
  case WEIR_TYPE_INT64:
  case WEIR_TYPE_FLOAT64: return rows * 8;
  default: return 0;
  }
}

int weir__colacc_grow(weir__colacc *c) {
  if (c->n < c->cap) return WEIR_OK;
  size_t cap = c->cap ? c->cap * 2 : c->hint_rows > 1024 ? c->hint_rows : 1024;
  if (c->valid) {
    uint8_t *v = weir__mem_realloc(c->valid, (cap + 7) / 8);
    if (!v) return WEIR_ENOMEM;
    memset(v + (c->cap + 7) / 8, 0, (cap + 7) / 8 - (c->cap + 7) / 8);
    c->valid = v;
  }
  if (is_var(c->type)) {
    int64_t *o = weir__mem_realloc(c->offs, (cap + 1) * sizeof *o);
    if (!o) return WEIR_ENOMEM;
    if (!c->offs) o[0] = 0;
    c->offs = o;
  } else {
    void *v = weir__mem_realloc(c->vals, val_bytes(c->type, cap));
    if (!v) return WEIR_ENOMEM;
    c->vals = v;
  }
  c->cap = cap;
  return WEIR_OK;
}

int weir__colacc_reserve_data(weir__colacc *c, size_t len) {
  if (c->dlen + len <= c->dcap) return WEIR_OK;
  size_t cap = c->dcap ? c->dcap * 2 : c->hint_data > 65536 ? c->hint_data : 65536;
  while (cap < c->dlen + len) cap *= 2;
  char *d = weir__mem_realloc(c->data, cap);
  if (!d) return WEIR_ENOMEM;
  c->data = d;
  c->dcap = cap;
  return WEIR_OK;
}

void weir__colacc_truncate(weir__colacc *c, size_t n) {
  if (n >= c->n) return;
  c->n = n;
  if (is_var(c->type)) c->dlen = (size_t)c->offs[n] * c->esize;
}

void weir__colacc_mark_valid(weir__colacc *c, size_t row) {
  if (c->valid) c->valid[row >> 3] |= (uint8_t)(1u << (row & 7));
}

int weir__colacc_null(weir__colacc *c) {
  if (!c->valid) {
    /* The bitmap appears with the first null; rows before it were valid. */
    size_t bytes = (c->cap + 7) / 8;
    c->valid = weir__mem_alloc(bytes ? bytes : 1, 0);
    if (!c->valid) return WEIR_ENOMEM;
    memset(c->valid, 0xff, bytes);
  }
  c->valid[c->n >> 3] &= (uint8_t)~(1u << (c->n & 7));
  switch (c->type) {
  case WEIR_TYPE_BOOL: ((uint8_t *)c->vals)[c->n >> 3] &= (uint8_t)~(1u << (c->n & 7)); break;
  case WEIR_TYPE_INT64: ((int64_t *)c->vals)[c->n] = 0; break;
  case WEIR_TYPE_FLOAT64: ((double *)c->vals)[c->n] = 0; break;
  default: c->offs[c->n + 1] = (int64_t)(c->dlen / c->esize); break;
  }
  c->n++;
  return WEIR_OK;
}

/* Wraps weir__mem memory as a buffer; on failure frees it. */
static weir__buffer *wrap(void *p, size_t size) {
  if (!p) {
    p = weir__mem_alloc(1, 0);
    if (!p) return NULL;
  }
  /* Accumulators grow by doubling: give back what the block will not use,
   * so the memory it holds is the memory it counts. */
  p = weir__mem_realloc(p, size ? size : 1);
  weir__buffer *b = weir__buffer_wrap(p, size, weir__buffer_release_mem, NULL);
  if (!b) weir__mem_free(p);
  return b;
}

static size_t popcount_bits(const uint8_t *bits, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n / 8; i++) c += (size_t)__builtin_popcount(bits[i]);
  for (size_t i = n / 8 * 8; i < n; i++) c += (bits[i >> 3] >> (i & 7)) & 1;
  return c;
}

int weir__colacc_finish(weir__colacc *cols, size_t ncols, weir_block **out) {
  *out = NULL;
  size_t rows = ncols ? cols[0].n : 0;
  weir_block *b = weir__block_alloc(ncols, rows);
  if (!b) return WEIR_ENOMEM;
  int rc = WEIR_OK;
  for (size_t i = 0; i < ncols; i++) {
    weir__colacc *c = &cols[i];
    weir__column *col = &b->cols[i];
    col->name = strdup(c->name);
    if (!col->name) { rc = WEIR_ENOMEM; break; }
    col->type = c->type;
    col->dtype = c->type == WEIR_TYPE_LIST ? c->dtype : 0;
    col->length = c->n;
    col->device = WEIR_DEVICE_CPU;
    size_t nulls = c->valid ? c->n - popcount_bits(c->valid, c->n) : 0;
    col->null_count = nulls;
    if (nulls) {
      col->validity_buf = wrap(c->valid, (c->n + 7) / 8);
      c->valid = NULL;
      if (!col->validity_buf) { rc = WEIR_ENOMEM; break; }
      col->validity = col->validity_buf->data;
    } else {
      weir__mem_free(c->valid);
      c->valid = NULL;
    }
    if (is_var(c->type)) {
      if (!c->offs) {
        c->offs = weir__mem_alloc(sizeof *c->offs, 0);
        if (!c->offs) { rc = WEIR_ENOMEM; break; }
        c->offs[0] = 0;
      }
      col->offsets_buf = wrap(c->offs, (c->n + 1) * sizeof(int64_t));
      c->offs = NULL;
      if (!col->offsets_buf) { rc = WEIR_ENOMEM; break; }
      col->offsets = col->offsets_buf->data;
      col->data_buf = wrap(c->data, c->dlen);
      c->data = NULL;
      if (!col->data_buf) { rc = WEIR_ENOMEM; break; }
      col->data = col->data_buf->data;
    } else {
      col->data_buf = wrap(c->vals, val_bytes(c->type, c->n));
      c->vals = NULL;
      if (!col->data_buf) { rc = WEIR_ENOMEM; break; }
      col->data = col->data_buf->data;
    }
  }
  for (size_t i = 0; i < ncols; i++) {
    /* The buffers moved into the block; start the next one empty. */
    weir__colacc *c = &cols[i];
    c->hint_rows = c->n;
    c->hint_data = c->dlen + c->dlen / 8;
    weir__mem_free(c->valid);
    weir__mem_free(c->vals);
    weir__mem_free(c->offs);
    weir__mem_free(c->data);
    c->valid = NULL;
    c->vals = NULL;
    c->offs = NULL;
    c->data = NULL;
    c->n = c->cap = c->dlen = c->dcap = 0;
  }
  if (rc != WEIR_OK) {
    weir_block_unref(&b);
    return rc;
  }
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}
