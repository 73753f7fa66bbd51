/* Helpers for the Arrow tests: a hand-rolled "foreign" Arrow producer whose
 * release callbacks count their calls, a block with every column type, and
 * a value-by-value block comparison. */
#ifndef WEIR_TEST_ARROW_UTIL_H
#define WEIR_TEST_ARROW_UTIL_H

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weir.h>

/* ---- A foreign producer ------------------------------------------------
 * Each node owns copies of its buffers and its children's structs; release
 * frees them, releases unreleased children (per the spec) and bumps the
 * counter it was given. */

static atomic_int fa_releases;   /* calls of release on arrays with a counter */
static atomic_int fs_releases;   /* same for schemas */

typedef struct fnode {
  const void *buffers[3];
  void *owned[3];
  struct ArrowArray *kid_ptrs[4];
  struct ArrowArray kids[4];
  int64_t n_kids;
  int counted;
  int orphans;   /* kids marked released by a test still own their node */
} fnode;

static inline void fa_release(struct ArrowArray *a) {
  cr_assert(a->release != NULL, "release called on a released array");
  fnode *n = a->private_data;
  for (int64_t i = 0; i < n->n_kids; i++) {
    struct ArrowArray *k = &n->kids[i]; /* kid_ptrs may be mangled by a test */
    if (!k->release && n->orphans && k->private_data) k->release = fa_release;
    if (k->release) k->release(k);
  }
  for (int i = 0; i < 3; i++) free(n->owned[i]);
  if (n->counted) atomic_fetch_add(&fa_releases, 1);
  free(n);
  a->release = NULL;
}

/* Starts a node of `length` rows; children (if any) are n->kids[i]. */
static inline fnode *fa_new(struct ArrowArray *a, int64_t length, int64_t n_buffers,
                     int64_t n_children, int counted) {
  fnode *n = calloc(1, sizeof *n);
  cr_assert(n);
  for (int i = 0; i < 4; i++) n->kid_ptrs[i] = &n->kids[i];
  n->n_kids = n_children;
  n->counted = counted;
  memset(a, 0, sizeof *a);
  a->length = length;
  a->null_count = 0;
  a->n_buffers = n_buffers;
  a->n_children = n_children;
  a->buffers = n->buffers;
  a->children = n_children ? n->kid_ptrs : NULL;
  a->release = fa_release;
  a->private_data = n;
  return n;
}

/* Buffer i of the node: a copy of `bytes` bytes of `src` (NULL stays NULL). */
static inline void fa_buf(fnode *n, int i, const void *src, size_t bytes) {
  if (!src) {
    n->buffers[i] = NULL;
    return;
  }
  n->owned[i] = malloc(bytes ? bytes : 1);
  memcpy(n->owned[i], src, bytes);
  n->buffers[i] = n->owned[i];
}

typedef struct fsnode {
  char *format, *name, *metadata;
  struct ArrowSchema *kid_ptrs[4];
  struct ArrowSchema kids[4];
  int64_t n_kids;
  int counted;
} fsnode;

static inline void fs_release(struct ArrowSchema *s) {
  cr_assert(s->release != NULL, "release called on a released schema");
  fsnode *n = s->private_data;
  for (int64_t i = 0; i < n->n_kids; i++)
    if (n->kids[i].release) n->kids[i].release(&n->kids[i]);
  free(n->format);
  free(n->name);
  free(n->metadata);
  if (n->counted) atomic_fetch_add(&fs_releases, 1);
  free(n);
  s->release = NULL;
}

static inline fsnode *fs_new(struct ArrowSchema *s, const char *format, const char *name,
                      int64_t n_children, int counted) {
  fsnode *n = calloc(1, sizeof *n);
  cr_assert(n);
  for (int i = 0; i < 4; i++) n->kid_ptrs[i] = &n->kids[i];
  n->n_kids = n_children;
  n->counted = counted;
  n->format = format ? strdup(format) : NULL;
  n->name = name ? strdup(name) : NULL;
  memset(s, 0, sizeof *s);
  s->format = n->format;
  s->name = n->name;
  s->flags = ARROW_FLAG_NULLABLE;
  s->n_children = n_children;
  s->children = n_children ? n->kid_ptrs : NULL;
  s->release = fs_release;
  s->private_data = n;
  return n;
}

/* Binary metadata of the C Data Interface for up to two pairs. */
static inline void fs_metadata(fsnode *n, struct ArrowSchema *s, int pairs,
                        const char *k1, const char *v1, const char *k2,
                        const char *v2) {
  const char *kv[4] = {k1, v1, k2, v2};
  size_t size = 4;
  for (int i = 0; i < 2 * pairs; i++) size += 4 + strlen(kv[i]);
  char *m = malloc(size), *p = m;
  int32_t v = pairs;
  memcpy(p, &v, 4);
  p += 4;
  for (int i = 0; i < 2 * pairs; i++) {
    v = (int32_t)strlen(kv[i]);
    memcpy(p, &v, 4);
    memcpy(p + 4, kv[i], (size_t)v);
    p += 4 + v;
  }
  n->metadata = m;
  s->metadata = m;
}

/* ---- A block with every type -------------------------------------------- */

enum { NCOLS_ALL = 16 };

/* Row i of column c is null when this holds (never for row 0 of every
 * column, so a column can also be sliced to have no nulls). */
static inline int is_null_at(size_t c, size_t i) { return i % 5 == (c % 4) + 1; }

static const int tensor_dtypes[9] __attribute__((unused)) = {
  WEIR_DTYPE_UINT8, WEIR_DTYPE_INT8, WEIR_DTYPE_INT16, WEIR_DTYPE_INT32,
  WEIR_DTYPE_INT64, WEIR_DTYPE_FLOAT16, WEIR_DTYPE_BFLOAT16,
  WEIR_DTYPE_FLOAT32, WEIR_DTYPE_FLOAT64};

/* Columns: b, i32, i64, f32, f64, s, bin, then 9 tensors (one per dtype,
 * shapes [2,3], [4], [2,2,1]... cycling), all with nulls. */
static inline weir_block *make_all_types(size_t n) {
  weir_builder *bld = NULL;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "b", WEIR_TYPE_BOOL), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "i32", WEIR_TYPE_INT32), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "i64", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "f32", WEIR_TYPE_FLOAT32), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "f64", WEIR_TYPE_FLOAT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "s", WEIR_TYPE_STRING), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "bin", WEIR_TYPE_BINARY), WEIR_OK);
  static const int64_t shapes[3][3] = {{2, 3}, {4}, {2, 2, 1}};
  static const int ndims[3] = {2, 1, 3};
  for (int t = 0; t < 9; t++) {
    char name[16];
    snprintf(name, sizeof name, "t_%s", weir_dtype_name(tensor_dtypes[t]));
    cr_assert_eq(weir_builder_add_tensor_column(bld, name, tensor_dtypes[t],
                                                ndims[t % 3], shapes[t % 3]),
                 WEIR_OK);
  }
  for (size_t i = 0; i < n; i++) {
    for (size_t c = 0; c < NCOLS_ALL; c++) {
      if (is_null_at(c, i)) {
        cr_assert_eq(weir_builder_append_null(bld, c), WEIR_OK);
        continue;
      }
      int64_t v = (int64_t)(i * 31 + c * 7);
      switch (c) {
      case 0: cr_assert_eq(weir_builder_append_bool(bld, c, (int)(v % 3 == 0)), WEIR_OK); break;
      case 1: cr_assert_eq(weir_builder_append_int64(bld, c, -v), WEIR_OK); break;
      case 2: cr_assert_eq(weir_builder_append_int64(bld, c, v * 1000000007LL), WEIR_OK); break;
      case 3: cr_assert_eq(weir_builder_append_float64(bld, c, (double)v / 4), WEIR_OK); break;
      case 4: cr_assert_eq(weir_builder_append_float64(bld, c, (double)v / 3), WEIR_OK); break;
      case 5:
      case 6: {
        char s[48];
        int len = snprintf(s, sizeof s, "%s-%lld-", c == 5 ? "str" : "bin", (long long)v);
        for (size_t k = 0; k < i % 4; k++) len += snprintf(s + len, sizeof s - (size_t)len, "\xc3\xa9");
        cr_assert_eq(weir_builder_append_string(bld, c, s, (size_t)len), WEIR_OK);
        break;
      }
      default: {
        uint8_t row[8 * 8];
        for (size_t k = 0; k < sizeof row; k++) row[k] = (uint8_t)(v + (int64_t)k * 13);
        cr_assert_eq(weir_builder_append_tensor(bld, c, row), WEIR_OK);
      }
      }
    }
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK, "%s", weir_builder_errmsg(bld));
  weir_builder_destroy(bld);
  return b;
}

static inline int col_valid(const weir_column *c, size_t i) {
  return !c->validity || ((c->validity[i / 8] >> (i % 8)) & 1);
}

/* Asserts that `got` has the same columns, types, shapes, validity and
 * every valid value as `want`. */
static inline void assert_blocks_equal(const weir_block *want, const weir_block *got) {
  cr_assert_eq(weir_block_num_rows(got), weir_block_num_rows(want));
  cr_assert_eq(weir_block_num_columns(got), weir_block_num_columns(want));
  size_t rows = weir_block_num_rows(want);
  for (size_t c = 0; c < weir_block_num_columns(want); c++) {
    weir_column w, g;
    cr_assert_eq(weir_block_column(want, c, &w), WEIR_OK);
    cr_assert_eq(weir_block_column(got, c, &g), WEIR_OK);
    cr_assert_str_eq(g.name, w.name);
    cr_assert_eq(g.type, w.type, "column %s", w.name);
    cr_assert_eq(g.length, rows);
    cr_assert_eq(g.null_count, w.null_count, "null count of %s", w.name);
    if (w.type == WEIR_TYPE_TENSOR) {
      cr_assert_eq(g.dtype, w.dtype, "dtype of %s", w.name);
      cr_assert_eq(g.ndim, w.ndim, "ndim of %s", w.name);
      for (int d = 0; d < w.ndim; d++) cr_assert_eq(g.shape[d], w.shape[d]);
    }
    for (size_t i = 0; i < rows; i++) {
      int valid = col_valid(&w, i);
      cr_assert_eq(col_valid(&g, i), valid, "validity of %s row %zu", w.name, i);
      if (!valid) continue;
      switch (w.type) {
      case WEIR_TYPE_BOOL:
        cr_assert_eq((((const uint8_t *)g.data)[i / 8] >> (i % 8)) & 1,
                     (((const uint8_t *)w.data)[i / 8] >> (i % 8)) & 1,
                     "%s row %zu", w.name, i);
        break;
      case WEIR_TYPE_STRING:
      case WEIR_TYPE_BINARY: {
        int64_t wl = w.offsets[i + 1] - w.offsets[i], gl = g.offsets[i + 1] - g.offsets[i];
        cr_assert_eq(gl, wl, "%s row %zu length", w.name, i);
        cr_assert(memcmp((const char *)g.data + g.offsets[i],
                         (const char *)w.data + w.offsets[i], (size_t)wl) == 0,
                  "%s row %zu bytes", w.name, i);
        break;
      }
      default: {
        size_t width;
        switch (w.type) {
        case WEIR_TYPE_INT32: case WEIR_TYPE_FLOAT32: width = 4; break;
        case WEIR_TYPE_INT64: case WEIR_TYPE_FLOAT64: width = 8; break;
        default:
          width = weir_dtype_size(w.dtype);
          for (int d = 0; d < w.ndim; d++) width *= (size_t)w.shape[d];
        }
        cr_assert(memcmp((const char *)g.data + i * width,
                         (const char *)w.data + i * width, width) == 0,
                  "%s row %zu value", w.name, i);
      }
      }
    }
  }
}

#endif /* WEIR_TEST_ARROW_UTIL_H */
