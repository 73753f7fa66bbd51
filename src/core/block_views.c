/* Zero-copy views of blocks (slices, selections, renames) and the copying
 * operations that gather rows (concat, take). */
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/block_internal.h"

/* Copies `count` bits starting at bit `from` of `src` to bit `to` of
 * `dst`. Bitmaps are small next to the data, so a simple loop will do. */
static void copy_bits(uint8_t *dst, size_t to, const uint8_t *src, size_t from,
                      size_t count) {
  if ((to & 7) == 0 && (from & 7) == 0) {
    memcpy(dst + to / 8, src + from / 8, count / 8);
    for (size_t i = count & ~(size_t)7; i < count; i++)
      weir__bit_set(dst, to + i, weir__bit_get(src, from + i));
    return;
  }
  for (size_t i = 0; i < count; i++)
    weir__bit_set(dst, to + i, weir__bit_get(src, from + i));
}

static size_t count_zero_bits(const uint8_t *bits, size_t from, size_t count) {
  size_t zeros = 0;
  for (size_t i = 0; i < count; i++) zeros += !weir__bit_get(bits, from + i);
  return zeros;
}

/* A view of `count` bits of a bitmap starting at bit `from`: shared when it
 * starts on a byte, re-packed into a new buffer when it does not. */
static int slice_bitmap(weir__buffer *buf, const uint8_t *bits, size_t from,
                        size_t count, weir__buffer **out_buf,
                        const uint8_t **out_bits) {
  if ((from & 7) == 0) {
    *out_buf = weir__buffer_ref(buf);
    *out_bits = bits + from / 8;
    return WEIR_OK;
  }
  weir__buffer *nb = weir__buffer_alloc((count + 7) / 8);
  if (!nb) return WEIR_ENOMEM;
  copy_bits(nb->data, 0, bits, from, count);
  *out_buf = nb;
  *out_bits = nb->data;
  return WEIR_OK;
}

static int slice_column(weir__column *dst, const weir__column *src,
                        size_t offset, size_t length) {
  int rc = weir__column_copy_meta(dst, src);
  if (rc) return rc;
  dst->length = length;
  dst->ready_event = src->ready_event;
  if (src->null_count && length && src->device != WEIR_DEVICE_CPU) {
    /* Counting and re-packing the slice's validity bits would read device
     * memory from the host. */
    return weir__set_last_error(WEIR_EINVAL, "slice: column '%s' is on a device and has nulls; "
                                "copy it to the host first", src->name);
  }
  if (src->null_count && length) {
    dst->null_count = count_zero_bits(src->validity, offset, length);
    if (dst->null_count) {
      rc = slice_bitmap(src->validity_buf, src->validity, offset, length,
                        &dst->validity_buf, &dst->validity);
      if (rc) return rc;
    }
  }
  switch (src->type) {
  case WEIR_TYPE_BOOL:
    return slice_bitmap(src->data_buf, src->data, offset, length,
                        &dst->data_buf, &dst->data);
  case WEIR_TYPE_STRING:
  case WEIR_TYPE_BINARY:
  case WEIR_TYPE_LIST:
    /* Offsets keep pointing into the shared value bytes; offsets[0] of a
     * slice is simply not 0. */
    dst->offsets_buf = weir__buffer_ref(src->offsets_buf);
    dst->offsets = src->offsets + offset;
    dst->data_buf = weir__buffer_ref(src->data_buf);
    dst->data = src->data;
    return WEIR_OK;
  default:
    dst->data_buf = weir__buffer_ref(src->data_buf);
    dst->data = src->data + offset * weir__column_row_bytes(src);
    return WEIR_OK;
  }
}

weir_block *weir__block_slice(const weir_block *b, size_t offset, size_t length) {
  if (!b || offset > b->num_rows || length > b->num_rows - offset) {
    weir__set_last_error(WEIR_EINVAL, "slice [%zu, +%zu) is outside a block of %zu rows",
                         offset, length, b ? b->num_rows : 0);
    return NULL;
  }
  if (offset == 0 && length == b->num_rows) return weir_block_ref((weir_block *)b);
  weir_block *out = weir__block_alloc(b->num_columns, length);
  if (!out) return NULL;
  for (size_t i = 0; i < b->num_columns; i++) {
    int rc = slice_column(&out->cols[i], &b->cols[i], offset, length);
    if (rc != WEIR_OK) {
      weir_block_unref(&out);
      if (rc == WEIR_ENOMEM) weir__set_last_error(rc, "out of memory slicing a block");
      return NULL;
    }
  }
  weir__block_seal(out);
  return out;
}

int weir_block_slice(const weir_block *b, size_t offset, size_t length, weir_block **out) {
  if (!out) return weir__set_last_error(WEIR_EINVAL, "weir_block_slice: NULL out");
  *out = NULL;
  if (!b) return weir__set_last_error(WEIR_EINVAL, "weir_block_slice: NULL block");
  if (offset > b->num_rows || length > b->num_rows - offset)
    return weir__set_last_error(WEIR_EINVAL,
                                "weir_block_slice: rows [%zu, +%zu) are outside a block of "
                                "%zu rows", offset, length, b->num_rows);
  *out = weir__block_slice(b, offset, length);
  return *out ? WEIR_OK : WEIR_ENOMEM;
}

int weir_block_select(const weir_block *b, const size_t *indices, size_t n,
                      weir_block **out) {
  if (!b || !out || (n && !indices)) return WEIR_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (indices[i] >= b->num_columns)
      return weir__set_last_error(WEIR_EINVAL, "column index %zu out of range (%zu columns)",
                                  indices[i], b->num_columns);
  weir_block *nb = weir__block_alloc(n, b->num_rows);
  if (!nb) return WEIR_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (weir__column_share(&nb->cols[i], &b->cols[indices[i]]) != WEIR_OK) {
      weir_block_unref(&nb);
      return WEIR_ENOMEM;
    }
  }
  weir__block_seal(nb);
  *out = nb;
  return WEIR_OK;
}

int weir_block_rename(const weir_block *b, size_t index, const char *name,
                      weir_block **out) {
  if (!b || !out || !name) return WEIR_EINVAL;
  if (index >= b->num_columns)
    return weir__set_last_error(WEIR_EINVAL, "column index %zu out of range (%zu columns)",
                                index, b->num_columns);
  size_t *all = malloc((b->num_columns + 1) * sizeof *all);
  if (!all) return WEIR_ENOMEM;
  for (size_t i = 0; i < b->num_columns; i++) all[i] = i;
  weir_block *nb = NULL;
  int rc = weir_block_select(b, all, b->num_columns, &nb);
  free(all);
  if (rc) return rc;
  char *copy = strdup(name);
  if (!copy) {
    weir_block_unref(&nb);
    return WEIR_ENOMEM;
  }
  free(nb->cols[index].name);
  nb->cols[index].name = copy;
  *out = nb;
  return WEIR_OK;
}

int weir_block_add_columns(const weir_block *b, const weir_block *extra,
                           weir_block **out) {
  if (!b || !extra || !out) return WEIR_EINVAL;
  if (b->num_rows != extra->num_rows && b->num_columns && extra->num_columns)
    return weir__set_last_error(WEIR_EINVAL, "cannot add columns of %zu rows to a block of %zu rows",
                                extra->num_rows, b->num_rows);
  size_t rows = b->num_columns ? b->num_rows : extra->num_rows;
  weir_block *nb = weir__block_alloc(b->num_columns + extra->num_columns, rows);
  if (!nb) return WEIR_ENOMEM;
  for (size_t i = 0; i < nb->num_columns; i++) {
    const weir__column *src = i < b->num_columns ? &b->cols[i]
                                                 : &extra->cols[i - b->num_columns];
    if (weir__column_share(&nb->cols[i], src) != WEIR_OK) {
      weir_block_unref(&nb);
      return WEIR_ENOMEM;
    }
  }
  weir__block_seal(nb);
  *out = nb;
  return WEIR_OK;
}

/* ---- Gathering rows into new buffers ----------------------------------- */

/* One run of rows to copy: `count` rows from row `row` of `src`. */
typedef struct row_run {
  const weir__column *src;
  size_t row, count;
} row_run;

static size_t run_value_bytes(const row_run *r) {
  if (weir__type_has_offsets(r->src->type))
    return (size_t)(r->src->offsets[r->row + r->count] - r->src->offsets[r->row]) *
           weir__column_value_unit(r->src);
  return r->count * weir__column_row_bytes(r->src);
}

/* Builds column `dst` (its metadata already set) from the runs, copying. */
static int gather_column(weir__column *dst, const row_run *runs, size_t nruns,
                         size_t rows) {
  size_t nulls = 0, value_bytes = 0;
  for (size_t i = 0; i < nruns; i++) {
    if (runs[i].src->null_count)
      nulls += count_zero_bits(runs[i].src->validity, runs[i].row, runs[i].count);
    if (runs[i].src->type != WEIR_TYPE_BOOL) value_bytes += run_value_bytes(&runs[i]);
  }
  dst->length = rows;
  dst->null_count = nulls;
  if (nulls) {
    dst->validity_buf = weir__buffer_alloc((rows + 7) / 8);
    if (!dst->validity_buf) return WEIR_ENOMEM;
    dst->validity = dst->validity_buf->data;
    memset(dst->validity_buf->data, 0xff, (rows + 7) / 8);
  }
  int is_var = weir__type_has_offsets(dst->type);
  size_t unit = is_var ? weir__column_value_unit(dst) : 1;
  size_t data_bytes = dst->type == WEIR_TYPE_BOOL ? (rows + 7) / 8 : value_bytes;
  dst->data_buf = weir__buffer_alloc(data_bytes);
  if (!dst->data_buf) return WEIR_ENOMEM;
  dst->data = dst->data_buf->data;
  int64_t *offsets = NULL;
  if (is_var) {
    dst->offsets_buf = weir__buffer_alloc((rows + 1) * sizeof(int64_t));
    if (!dst->offsets_buf) return WEIR_ENOMEM;
    offsets = dst->offsets_buf->data;
    dst->offsets = offsets;
  }
  uint8_t *data = dst->data_buf->data;
  size_t at_row = 0, at_byte = 0;
  for (size_t i = 0; i < nruns; i++) {
    const row_run *r = &runs[i];
    if (nulls && r->src->null_count)
      copy_bits((uint8_t *)dst->validity, at_row, r->src->validity, r->row, r->count);
    if (dst->type == WEIR_TYPE_BOOL) {
      copy_bits(data, at_row, r->src->data, r->row, r->count);
    } else if (is_var) {
      /* LIST offsets count elements: `unit` bytes each. */
      int64_t base = r->src->offsets[r->row];
      for (size_t k = 0; k < r->count; k++)
        offsets[at_row + k] =
            (int64_t)(at_byte / unit) + (r->src->offsets[r->row + k] - base);
      size_t n = run_value_bytes(r);
      if (n) memcpy(data + at_byte, r->src->data + (size_t)base * unit, n);
      at_byte += n;
    } else {
      size_t rb = weir__column_row_bytes(r->src);
      if (r->count) memcpy(data + at_byte, r->src->data + r->row * rb, r->count * rb);
      at_byte += r->count * rb;
    }
    at_row += r->count;
  }
  if (is_var) offsets[rows] = (int64_t)(at_byte / unit);
  return WEIR_OK;
}

/* Builds a block with the schema of `schema`, gathering each column from
 * the `nruns` runs that `fill` lists for it. */
typedef void (*fill_runs_fn)(const void *arg, size_t col, row_run *runs);

static int gather_block(const weir_block *schema, size_t nruns, size_t rows,
                        fill_runs_fn fill, const void *arg, weir_block **out) {
  row_run *runs = malloc((nruns ? nruns : 1) * sizeof *runs);
  weir_block *nb = weir__block_alloc(schema->num_columns, rows);
  int rc = runs && nb ? WEIR_OK : WEIR_ENOMEM;
  for (size_t c = 0; rc == WEIR_OK && c < schema->num_columns; c++) {
    fill(arg, c, runs);
    rc = weir__column_copy_meta(&nb->cols[c], &schema->cols[c]);
    if (rc == WEIR_OK) rc = gather_column(&nb->cols[c], runs, nruns, rows);
  }
  free(runs);
  if (rc) {
    weir_block_unref(&nb);
    return rc;
  }
  weir__block_seal(nb);
  *out = nb;
  return WEIR_OK;
}

typedef struct concat_args {
  weir_block *const *blocks;
  size_t n;
} concat_args;

static void fill_concat(const void *arg, size_t col, row_run *runs) {
  const concat_args *a = arg;
  for (size_t i = 0; i < a->n; i++)
    runs[i] = (row_run){&a->blocks[i]->cols[col], 0, a->blocks[i]->num_rows};
}

typedef struct take_args {
  const weir_block *b;
  const uint32_t *rows;
  size_t n;
} take_args;

static void fill_take(const void *arg, size_t col, row_run *runs) {
  const take_args *a = arg;
  for (size_t i = 0; i < a->n; i++) runs[i] = (row_run){&a->b->cols[col], a->rows[i], 1};
}

static int check_host(const weir_block *b, const char *what) {
  for (size_t c = 0; c < b->num_columns; c++)
    if (b->cols[c].device != WEIR_DEVICE_CPU)
      return weir__set_last_error(WEIR_EINVAL, "%s: column '%s' is on a device; copy it to the host first",
                                  what, b->cols[c].name);
  return WEIR_OK;
}

int weir_block_concat(weir_block *const *blocks, size_t n, weir_block **out) {
  if (!out || !blocks || n == 0)
    return weir__set_last_error(WEIR_EINVAL, "concat needs at least one block");
  if (n == 1) {
    /* Checked here too: the loop below that rejects NULL blocks is skipped
     * for one block, which returned WEIR_OK with *out == NULL. */
    if (!blocks[0]) return weir__set_last_error(WEIR_EINVAL, "concat: block 0 is NULL");
    *out = weir_block_ref(blocks[0]);
    return WEIR_OK;
  }
  const weir_block *first = blocks[0];
  size_t rows = 0;
  for (size_t i = 0; i < n; i++) {
    const weir_block *b = blocks[i];
    if (!b) return weir__set_last_error(WEIR_EINVAL, "concat: block %zu is NULL", i);
    if (b->num_columns != first->num_columns)
      return weir__set_last_error(WEIR_EINVAL, "concat: block %zu has %zu columns, block 0 has %zu",
                                  i, b->num_columns, first->num_columns);
    for (size_t c = 0; c < b->num_columns; c++)
      if (!weir__column_same_schema(&b->cols[c], &first->cols[c])) {
        char a[160], d[160];
        weir__column_describe(&first->cols[c], a, sizeof a);
        weir__column_describe(&b->cols[c], d, sizeof d);
        return weir__set_last_error(WEIR_EINVAL, "concat: column %zu is %s in block 0 but %s "
                                    "in block %zu", c, a, d, i);
      }
    int rc = check_host(b, "concat");
    if (rc) return rc;
    rows += b->num_rows;
  }
  concat_args args = {blocks, n};
  return gather_block(first, n, rows, fill_concat, &args, out);
}

int weir_block_take(const weir_block *b, const uint32_t *rows, size_t n,
                    weir_block **out) {
  if (!b || !out || (n && !rows)) return WEIR_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (rows[i] >= b->num_rows)
      return weir__set_last_error(WEIR_EINVAL, "take: row %u out of range (%zu rows)",
                                  rows[i], b->num_rows);
  int rc = check_host(b, "take");
  if (rc) return rc;
  take_args args = {b, rows, n};
  return gather_block(b, n, n, fill_take, &args, out);
}
