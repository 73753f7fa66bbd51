/* A semantic audit of shared/API.md: one small test per behavioural
 * statement of the contract (return codes, NULL handling, ownership,
 * defaults, ordering, statistics, iterator semantics, error messages).
 * test_api_contract.c checks the names and signatures; this file checks
 * what they do. Only the public header is used. */
#include <criterion/criterion.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <weir.h>

#include "test_exec_util.h"
#include "test_tmpdir.h"

TestSuite(sem, .timeout = 30);

/* ---- helpers ------------------------------------------------------------ */

static weir_pipeline *new_pipeline(void) {
  weir_pipeline *p = NULL;
  weir_pipeline_options o = WEIR_PIPELINE_OPTIONS_INIT;
  o.num_cpus = 4;
  cr_assert_eq(weir_pipeline_create(&p, &o), WEIR_OK);
  return p;
}

/* Pulls every block of `out` through an iterator; returns the status that
 * ended the iteration (WEIR_EOF on success) and counts rows / blocks. */
static int drain(weir_pipeline *p, weir_op *out, const weir_iter_options *io,
                 eu_seen *seen, size_t *rows, size_t *blocks) {
  weir_iter *it = NULL;
  int rc = weir_pipeline_iter(p, out, io, &it);
  if (rc != WEIR_OK)
    return rc;
  weir_block *b = NULL;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    if (seen)
      eu_seen_add(seen, b);
    if (rows)
      *rows += weir_block_num_rows(b);
    if (blocks)
      (*blocks)++;
    weir_block_unref(&b);
  }
  weir_iter_destroy(it);
  return rc;
}

static int contains(const char *hay, const char *needle) {
  return hay && needle && strstr(hay, needle) != NULL;
}

/* ---- 1. Version and errors ---------------------------------------------- */

Test(sem, version_string_matches_the_macros) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", WEIR_VERSION_MAJOR, WEIR_VERSION_MINOR,
           WEIR_VERSION_PATCH);
  cr_assert_str_eq(weir_version_string(), want);
  cr_assert_eq(WEIR_VERSION_MAJOR, 0);
}

Test(sem, strerror_is_static_text_never_null) {
  int codes[] = {0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    const char *s = weir_strerror(codes[i]);
    cr_assert_not_null(s);
    cr_assert_gt(strlen(s), 0, "code %d", codes[i]);
    cr_assert_eq(s, weir_strerror(codes[i]), "static text for %d", codes[i]);
    for (size_t j = 0; j < i; j++)
      cr_assert_str_neq(s, weir_strerror(codes[j]), "codes %d and %d", codes[i], codes[j]);
  }
  int unknown[] = {1, 42, -11000, INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    cr_assert_not_null(weir_strerror(unknown[i]));
    cr_assert_gt(strlen(weir_strerror(unknown[i])), 0);
  }
}

/* ---- 2. Blocks ------------------------------------------------------------ */

Test(sem, block_ref_returns_b_and_unref_sets_null) {
  weir_block *b = eu_ids(0, 10, 0);
  weir_block *r = weir_block_ref(b);
  cr_assert_eq(r, b);
  weir_block_unref(&r);
  cr_assert_null(r);
  /* b still holds a reference: the block is alive. */
  cr_assert_eq(weir_block_num_rows(b), 10);
  cr_assert_eq(eu_id_col(b)[9], 9);
  weir_block_unref(&b);
  cr_assert_null(b);
  /* Every unref accepts NULL. */
  weir_block_unref(&b);
  weir_block_unref(NULL);
  cr_assert_null(weir_block_ref(NULL));
}

static void *ref_unref_many(void *arg) {
  weir_block *b = arg;
  for (int i = 0; i < 10000; i++) {
    weir_block *r = weir_block_ref(b);
    weir_block_unref(&r);
  }
  return NULL;
}

Test(sem, block_refcount_is_atomic) {
  weir_block *b = eu_ids(0, 4, 0);
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, ref_unref_many, b);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  cr_assert_eq(weir_block_num_rows(b), 4);
  weir_block_unref(&b);
}

Test(sem, block_sizes_and_nbytes_count_every_buffer) {
  weir_builder *bld = NULL;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  int64_t shape[2] = {2, 3};
  cr_assert_eq(weir_builder_add_column(bld, "i", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "f", WEIR_TYPE_FLOAT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "s", WEIR_TYPE_STRING), WEIR_OK);
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_FLOAT32, 2, shape), WEIR_OK);
  float tv[6] = {0};
  for (int r = 0; r < 4; r++) {
    cr_assert_eq(weir_builder_append_int64(bld, 0, r), WEIR_OK);
    cr_assert_eq(weir_builder_append_float64(bld, 1, r * 0.5), WEIR_OK);
    cr_assert_eq(weir_builder_append_string(bld, 2, "abc", 3), WEIR_OK);
    cr_assert_eq(weir_builder_append_tensor(bld, 3, tv), WEIR_OK);
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  cr_assert_eq(weir_block_num_rows(b), 4);
  cr_assert_eq(weir_block_num_columns(b), 4);
  /* values 4*8 + 4*8, offsets 5*8 + 12 bytes of text, tensors 4*2*3*4. */
  size_t want = 32 + 32 + 40 + 12 + 96;
  cr_assert_eq(weir_block_nbytes(b), want, "nbytes %zu, want %zu", weir_block_nbytes(b), want);
  weir_block_unref(&b);

  /* A validity bitmap is a buffer too. */
  cr_assert_eq(weir_builder_add_column(bld, "i", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_append_int64(bld, 0, 1), WEIR_OK);
  cr_assert_eq(weir_builder_append_null(bld, 0), WEIR_OK);
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  cr_assert_eq(weir_block_nbytes(b), 16 + 1);
  weir_block_unref(&b);
  weir_builder_destroy(bld);

  cr_assert_eq(weir_block_num_rows(NULL), 0);
  cr_assert_eq(weir_block_num_columns(NULL), 0);
  cr_assert_eq(weir_block_nbytes(NULL), 0);
}

Test(sem, column_index_finds_first_or_enotfound) {
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  weir_builder_add_column(bld, "a", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "b", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "a", WEIR_TYPE_FLOAT64);
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  cr_assert_eq(weir_block_column_index(b, "a"), 0);
  cr_assert_eq(weir_block_column_index(b, "b"), 1);
  cr_assert_eq(weir_block_column_index(b, "zz"), WEIR_ENOTFOUND);
  cr_assert_eq(weir_block_column_index(b, ""), WEIR_ENOTFOUND);
  cr_assert_eq(weir_block_column_index(b, NULL), WEIR_ENOTFOUND);
  cr_assert_eq(weir_block_column_index(NULL, "a"), WEIR_ENOTFOUND);
  weir_block_unref(&b);
}

Test(sem, column_view_fields) {
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  int64_t shape[3] = {2, 1, 3};
  weir_builder_add_column(bld, "n", WEIR_TYPE_INT32);
  weir_builder_add_column(bld, "s", WEIR_TYPE_STRING);
  weir_builder_add_column(bld, "bin", WEIR_TYPE_BINARY);
  weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_INT16, 3, shape);
  weir_builder_add_column(bld, "flag", WEIR_TYPE_BOOL);
  for (int r = 0; r < 3; r++) {
    cr_assert_eq(weir_builder_append_int64(bld, 0, r * 10), WEIR_OK);
    if (r == 1)
      cr_assert_eq(weir_builder_append_null(bld, 1), WEIR_OK);
    else
      cr_assert_eq(weir_builder_append_string(bld, 1, "xy", 2), WEIR_OK);
    /* BINARY takes any bytes, not only UTF-8. */
    cr_assert_eq(weir_builder_append_string(bld, 2, "\xff\x00\xfe", 3), WEIR_OK);
    int16_t v[6];
    for (int k = 0; k < 6; k++)
      v[k] = (int16_t)(r * 100 + k);
    cr_assert_eq(weir_builder_append_tensor(bld, 3, v), WEIR_OK);
    cr_assert_eq(weir_builder_append_int64(bld, 4, r != 1), WEIR_OK);
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);

  weir_column c;
  cr_assert_eq(weir_block_column(b, 0, &c), WEIR_OK);
  cr_assert_str_eq(c.name, "n");
  cr_assert_eq(c.type, WEIR_TYPE_INT32);
  cr_assert_eq(c.length, 3);
  cr_assert_null(c.validity, "no nulls: validity is NULL");
  cr_assert_eq(((const int32_t *)c.data)[2], 20);
  cr_assert_eq(c.device, WEIR_DEVICE_CPU);

  cr_assert_eq(weir_block_column(b, 1, &c), WEIR_OK);
  cr_assert_eq(c.type, WEIR_TYPE_STRING);
  cr_assert_not_null(c.validity);
  cr_assert_eq(c.validity[0] & 7, 5, "rows 0 and 2 valid, row 1 null");
  cr_assert_not_null(c.offsets);
  cr_assert_eq(c.offsets[3] - c.offsets[0], 4, "length+1 offsets");
  cr_assert_eq(c.offsets[2], c.offsets[1], "a null string is empty");
  cr_assert(memcmp((const char *)c.data + c.offsets[2], "xy", 2) == 0);

  cr_assert_eq(weir_block_column(b, 2, &c), WEIR_OK);
  cr_assert_eq(c.type, WEIR_TYPE_BINARY);
  cr_assert_eq(c.offsets[1] - c.offsets[0], 3);
  cr_assert_eq(((const uint8_t *)c.data)[c.offsets[0] + 1], 0);

  cr_assert_eq(weir_block_column(b, 3, &c), WEIR_OK);
  cr_assert_eq(c.type, WEIR_TYPE_TENSOR);
  cr_assert_eq(c.dtype, WEIR_DTYPE_INT16);
  cr_assert_eq(c.ndim, 3);
  cr_assert_eq(c.shape[0], 2);
  cr_assert_eq(c.shape[1], 1);
  cr_assert_eq(c.shape[2], 3);
  /* Contiguous as [num_rows, shape...]. */
  const int16_t *t = c.data;
  for (int r = 0; r < 3; r++)
    for (int k = 0; k < 6; k++)
      cr_assert_eq(t[r * 6 + k], r * 100 + k);
  cr_assert_eq(c.device, WEIR_DEVICE_CPU);

  cr_assert_eq(weir_block_column(b, 4, &c), WEIR_OK);
  cr_assert_eq(c.type, WEIR_TYPE_BOOL);
  cr_assert_eq(((const uint8_t *)c.data)[0] & 7, 5);

  cr_assert_eq(weir_block_column(b, 5, &c), WEIR_EINVAL);
  cr_assert_eq(weir_block_column(b, (size_t)-1, &c), WEIR_EINVAL);
  cr_assert_eq(weir_block_column(b, 0, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_block_column(NULL, 0, &c), WEIR_EINVAL);
  weir_block_unref(&b);
}

Test(sem, tensor_columns_take_one_to_eight_dimensions) {
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  int64_t shape[9] = {1, 2, 1, 1, 1, 1, 1, 2, 1};
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t8", WEIR_DTYPE_UINT8, 8, shape), WEIR_OK);
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t9", WEIR_DTYPE_UINT8, 9, shape), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t0", WEIR_DTYPE_UINT8, 0, shape), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_tensor_column(bld, "tn", WEIR_DTYPE_UINT8, 1, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_tensor_column(bld, "tx", 999, 1, shape), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_tensor_column(bld, NULL, WEIR_DTYPE_UINT8, 1, shape), WEIR_EINVAL);
  cr_assert_eq(weir_builder_num_columns(bld), 1, "failed calls add nothing");
  int dtypes[] = {WEIR_DTYPE_UINT8, WEIR_DTYPE_INT8, WEIR_DTYPE_INT16, WEIR_DTYPE_INT32,
                  WEIR_DTYPE_INT64, WEIR_DTYPE_FLOAT16, WEIR_DTYPE_BFLOAT16,
                  WEIR_DTYPE_FLOAT32, WEIR_DTYPE_FLOAT64};
  for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
    cr_assert_eq(weir_builder_add_tensor_column(bld, "d", dtypes[i], 1, shape), WEIR_OK);
  uint8_t v[4] = {1, 2, 3, 4};
  cr_assert_eq(weir_builder_append_tensor(bld, 0, v), WEIR_OK);
  cr_assert_eq(weir_builder_num_rows(bld, 0), 1);
  weir_builder_destroy(bld);
}

Test(sem, builder_null_arguments_are_einval) {
  cr_assert_eq(weir_builder_create(NULL), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_column(NULL, "a", WEIR_TYPE_INT64), WEIR_EINVAL);
  int64_t shape[1] = {1};
  cr_assert_eq(weir_builder_add_tensor_column(NULL, "a", WEIR_DTYPE_UINT8, 1, shape), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_int64(NULL, 0, 1), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_float64(NULL, 0, 1), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_string(NULL, 0, "a", 1), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_tensor(NULL, 0, shape), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_null(NULL, 0), WEIR_EINVAL);
  weir_block *b = (weir_block *)1;
  cr_assert_eq(weir_builder_finish(NULL, &b), WEIR_EINVAL);
  weir_builder_destroy(NULL);

  weir_builder *bld = NULL;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  cr_assert_not_null(bld);
  cr_assert_eq(weir_builder_add_column(bld, NULL, WEIR_TYPE_INT64), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_column(bld, "a", 0), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_column(bld, "a", 99), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_column(bld, "s", WEIR_TYPE_STRING), WEIR_OK);
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_UINT8, 1, shape), WEIR_OK);
  cr_assert_eq(weir_builder_append_string(bld, 0, NULL, 3), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_tensor(bld, 1, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_builder_finish(bld, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_builder_num_columns(bld), 2);
  cr_assert_eq(weir_builder_num_rows(bld, 0), 0);
  weir_builder_destroy(bld);
}

Test(sem, builder_wrong_type_or_index_is_einval_and_changes_nothing) {
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  weir_builder_add_column(bld, "i", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "s", WEIR_TYPE_STRING);
  weir_builder_add_column(bld, "f", WEIR_TYPE_FLOAT64);
  weir_builder_add_column(bld, "n", WEIR_TYPE_INT32);
  cr_assert_eq(weir_builder_append_string(bld, 0, "x", 1), WEIR_EINVAL);
  cr_assert(contains(weir_builder_errmsg(bld), "'i'"), "%s", weir_builder_errmsg(bld));
  cr_assert_eq(weir_builder_append_int64(bld, 1, 5), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_float64(bld, 0, 1.5), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_int64(bld, 2, 1), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_int64(bld, 7, 1), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_null(bld, 7), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_tensor(bld, 0, "abcd"), WEIR_EINVAL);
  /* STRING must be UTF-8. */
  cr_assert_eq(weir_builder_append_string(bld, 1, "\xff\xfe", 2), WEIR_EINVAL);
  cr_assert(contains(weir_builder_errmsg(bld), "'s'"), "%s", weir_builder_errmsg(bld));
  /* INT32 is range-checked. */
  cr_assert_eq(weir_builder_append_int64(bld, 3, (int64_t)INT32_MAX + 1), WEIR_EINVAL);
  for (size_t c = 0; c < 4; c++)
    cr_assert_eq(weir_builder_num_rows(bld, c), 0, "column %zu", c);
  cr_assert_eq(weir_builder_append_int64(bld, 0, 1), WEIR_OK);
  cr_assert_str_eq(weir_builder_errmsg(bld), "", "errmsg is cleared by a success");
  weir_builder_destroy(bld);
}

Test(sem, builder_finish_resets_and_checks_row_counts) {
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  weir_builder_add_column(bld, "a", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "b", WEIR_TYPE_INT64);
  weir_builder_append_int64(bld, 0, 1);
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_EINVAL);
  cr_assert_null(b);
  cr_assert_gt(strlen(weir_builder_errmsg(bld)), 0);
  cr_assert_eq(weir_builder_num_columns(bld), 2, "left as it was");
  cr_assert_eq(weir_builder_num_rows(bld, 0), 1);
  weir_builder_append_int64(bld, 1, 2);
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  cr_assert_eq(weir_block_num_rows(b), 1);
  cr_assert_eq(weir_builder_num_columns(bld), 0, "finish resets the builder");
  weir_block_unref(&b);
  /* ... ready to build another block. */
  weir_builder_add_column(bld, "c", WEIR_TYPE_STRING);
  weir_builder_append_string(bld, 0, "hi", 2);
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  cr_assert_eq(weir_block_num_columns(b), 1);
  cr_assert_eq(weir_block_column_index(b, "c"), 0);
  weir_block_unref(&b);
  weir_builder_destroy(bld);
}

Test(sem, builder_append_null_marks_rows_invalid) {
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  int64_t shape[1] = {2};
  weir_builder_add_column(bld, "i", WEIR_TYPE_INT64);
  weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_FLOAT64, 1, shape);
  double v[2] = {1, 2};
  weir_builder_append_int64(bld, 0, 7);
  weir_builder_append_null(bld, 0);
  weir_builder_append_tensor(bld, 1, v);
  weir_builder_append_null(bld, 1);
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  cr_assert_eq(weir_block_num_rows(b), 2);
  weir_column c;
  weir_block_column(b, 0, &c);
  cr_assert_not_null(c.validity);
  cr_assert_eq(c.validity[0] & 3, 1);
  weir_block_column(b, 1, &c);
  cr_assert_not_null(c.validity);
  cr_assert_eq(c.validity[0] & 3, 1);
  cr_assert_eq(((const double *)c.data)[2], 0.0, "a null tensor is zeros");
  weir_block_unref(&b);
}

/* Arrow: a struct array; zero-copy export; import moves both in. */
Test(sem, arrow_export_import_round_trip_moves_in) {
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  int64_t shape[2] = {2, 2};
  weir_builder_add_column(bld, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "s", WEIR_TYPE_STRING);
  weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_FLOAT32, 2, shape);
  for (int r = 0; r < 5; r++) {
    float tv[4] = {(float)r, 1, 2, 3};
    weir_builder_append_int64(bld, 0, r);
    weir_builder_append_string(bld, 1, "ab", 2);
    weir_builder_append_tensor(bld, 2, tv);
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);

  struct ArrowArray a;
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_OK);
  cr_assert_str_eq(s.format, "+s");
  cr_assert_eq(s.n_children, 3);
  cr_assert_str_eq(s.children[0]->name, "id");
  cr_assert_str_eq(s.children[2]->name, "t");
  cr_assert_str_eq(s.children[2]->format, "+w:4", "tensor is a FixedSizeList");
  const char *md = s.children[2]->metadata;
  cr_assert_not_null(md);
  /* The metadata is a binary key/value map; look for the extension name. */
  int32_t nkeys;
  memcpy(&nkeys, md, 4);
  int found = 0;
  const char *q = md + 4;
  for (int32_t k = 0; k < nkeys; k++) {
    int32_t kl, vl;
    memcpy(&kl, q, 4);
    const char *key = q + 4;
    memcpy(&vl, key + kl, 4);
    const char *val = key + kl + 4;
    if (kl == 20 && memcmp(key, "ARROW:extension:name", 20) == 0 && vl == 24 &&
        memcmp(val, "arrow.fixed_shape_tensor", 24) == 0)
      found = 1;
    q = val + vl;
  }
  cr_assert(found, "arrow.fixed_shape_tensor extension");
  cr_assert_eq(a.length, 5);
  /* Zero-copy: the id values are the block's own buffer. */
  weir_column c;
  weir_block_column(b, 0, &c);
  cr_assert_eq(a.children[0]->buffers[1], c.data);

  weir_block *back = NULL;
  cr_assert_eq(weir_block_from_arrow(&a, &s, &back), WEIR_OK);
  cr_assert_null(a.release, "the array was moved in");
  cr_assert_null(s.release, "the schema was moved in");
  cr_assert_eq(weir_block_num_rows(back), 5);
  cr_assert_eq(weir_block_num_columns(back), 3);
  weir_block_column(back, 2, &c);
  cr_assert_eq(c.type, WEIR_TYPE_TENSOR);
  cr_assert_eq(c.ndim, 2);
  cr_assert_eq(((const float *)c.data)[4 * 3], 3.0f);
  weir_block_unref(&back);
  weir_block_unref(&b);
}

Test(sem, arrow_null_arguments_are_einval) {
  weir_block *b = eu_ids(0, 3, 0);
  struct ArrowArray a;
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow(NULL, &a, &s), WEIR_EINVAL);
  cr_assert_eq(weir_block_to_arrow(b, NULL, &s), WEIR_EINVAL);
  weir_block *out = (weir_block *)1;
  cr_assert_eq(weir_block_from_arrow(NULL, NULL, &out), WEIR_EINVAL);
  cr_assert_null(out);
  /* A failed import still consumes what it was given. */
  cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_OK);
  cr_assert_eq(weir_block_from_arrow(&a, &s, NULL), WEIR_EINVAL);
  cr_assert_null(a.release);
  cr_assert_null(s.release);
  weir_block_unref(&b);
}

/* Every public function of blocks and their interchange answers NULL
 * arguments with WEIR_EINVAL (or NULL / 0) instead of crashing. */
Test(sem, block_functions_reject_null_arguments) {
  weir_block *b = eu_ids(0, 4, 0), *out = NULL;
  size_t idx[1] = {0};
  uint32_t rows[1] = {0};
  weir_block *sl = b; /* must come back NULL */
  cr_assert_eq(weir_block_slice(NULL, 0, 0, &sl), WEIR_EINVAL);
  cr_assert_null(sl);
  cr_assert_eq(weir_block_slice(b, 0, 1, NULL), WEIR_EINVAL);
  sl = b;
  cr_assert_eq(weir_block_slice(b, 3, 2, &sl), WEIR_EINVAL, "out of bounds");
  cr_assert_null(sl);
  cr_assert_eq(weir_block_select(NULL, idx, 1, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_select(b, NULL, 1, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_select(b, idx, 1, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_block_rename(NULL, 0, "x", &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_rename(b, 0, NULL, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_rename(b, 0, "x", NULL), WEIR_EINVAL);
  cr_assert_eq(weir_block_concat(NULL, 1, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_concat(&b, 0, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_concat(&b, 1, NULL), WEIR_EINVAL);
  weir_block *nulls[2] = {NULL, NULL};
  cr_assert_eq(weir_block_concat(nulls, 1, &out), WEIR_EINVAL);
  cr_assert_null(out);
  cr_assert_eq(weir_block_concat(nulls, 2, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_add_columns(NULL, b, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_add_columns(b, NULL, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_take(NULL, rows, 1, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_take(b, NULL, 1, &out), WEIR_EINVAL);
  cr_assert_eq(weir_block_take(b, rows, 1, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_block_is_valid(NULL, 0, 0), 0);
  struct DLManagedTensor *t = NULL;
  cr_assert_eq(weir_block_column_to_dlpack(NULL, 0, &t), WEIR_EINVAL);
  cr_assert_eq(weir_block_column_to_dlpack(b, 0, NULL), WEIR_EINVAL);
  struct ArrowArrayStream st;
  cr_assert_eq(weir_blocks_to_arrow_stream(NULL, 1, &st), WEIR_EINVAL);
  cr_assert_eq(weir_blocks_to_arrow_stream(&b, 1, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_arrow_stream_next(NULL, &out), WEIR_EINVAL);
  cr_assert_eq(weir_blocks_to_arrow_stream(&b, 1, &st), WEIR_OK);
  cr_assert_eq(weir_arrow_stream_next(&st, NULL), WEIR_EINVAL);
  st.release(&st);
  cr_assert_not_null(weir_type_name(0));
  cr_assert_not_null(weir_dtype_name(0));
  cr_assert_eq(weir_dtype_size(0), 0);
  cr_assert_not_null(weir_builder_errmsg(NULL));
  cr_assert_eq(weir_builder_num_rows(NULL, 0), 0);
  cr_assert_eq(weir_builder_num_columns(NULL), 0);
  cr_assert_eq(weir_builder_reserve(NULL, 4), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_values(NULL, 0, rows, 1), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_bool(NULL, 0, 1), WEIR_EINVAL);
  void *slot = NULL;
  cr_assert_eq(weir_builder_append_tensor_slot(NULL, 0, &slot), WEIR_EINVAL);
  weir_block_unref(&b);
}

Test(sem, pipeline_functions_reject_null_arguments) {
  weir_pipeline_stats ps;
  char *text = NULL;
  cr_assert_eq(weir_pipeline_get_stats(NULL, &ps), WEIR_EINVAL);
  cr_assert_eq(weir_pipeline_stats_table(NULL, &text), WEIR_EINVAL);
  cr_assert_eq(weir_pipeline_set_resource(NULL, "x", 1), WEIR_EINVAL);
  cr_assert_eq(weir_op_set_resource(NULL, "x", 1), WEIR_EINVAL);
  cr_assert_neq(weir_pipeline_errcode(NULL), WEIR_OK);
  weir_pipeline *p = new_pipeline();
  cr_assert_eq(weir_pipeline_get_stats(p, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_pipeline_stats_table(p, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_pipeline_set_resource(p, NULL, 1), WEIR_EINVAL);
  /* Each failing call leaves its code and a message naming it. */
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  cr_assert(strstr(weir_pipeline_errmsg(p), "weir_pipeline_set_resource"), "%s",
            weir_pipeline_errmsg(p));
  /* weir_ctx_* accept NULL and do nothing. */
  weir_ctx_set_errmsg(NULL, "x");
  weir_ctx_count_skipped(NULL, 1);
  weir_ctx_count_skipped_input(NULL);
  weir_ctx_log(NULL, WEIR_LOG_WARN, "x");
  cr_assert_not_null(weir_ctx_op_name(NULL));
  weir_cuda_loader_destroy(NULL);
  weir_pipeline_destroy(p);
}

/* ---- 3. Pipelines ---------------------------------------------------------- */

Test(sem, pipeline_create_arguments) {
  cr_assert_eq(weir_pipeline_create(NULL, NULL), WEIR_EINVAL);
  weir_pipeline *p = (weir_pipeline *)1;
  weir_pipeline_options bad = WEIR_PIPELINE_OPTIONS_INIT;
  bad.version = 9999;
  cr_assert_eq(weir_pipeline_create(&p, &bad), WEIR_EINVAL);
  cr_assert_null(p);
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK, "NULL options are the defaults");
  cr_assert_not_null(p);
  cr_assert_not_null(weir_pipeline_errmsg(p));
  cr_assert_str_eq(weir_pipeline_errmsg(p), "");
  weir_pipeline_destroy(p);
  weir_pipeline_destroy(NULL);
  weir_iter_destroy(NULL);
  cr_assert_not_null(weir_pipeline_errmsg(NULL));
}

Test(sem, options_init_macros_hold_the_documented_defaults) {
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  cr_assert_eq(po.version, WEIR_PIPELINE_OPTIONS_VERSION);
  cr_assert_eq(po.num_cpus, 0);
  cr_assert_eq(po.num_gpus, 0);
  cr_assert_eq(po.memory_budget, 0);
  cr_assert_eq(po.progress, 0);
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  cr_assert_eq(oo.version, WEIR_OP_OPTIONS_VERSION);
  cr_assert_eq(oo.min_workers, 0);
  cr_assert_eq(oo.max_workers, 0);
  cr_assert_eq(oo.num_cpus, 1.0);
  cr_assert_eq(oo.num_gpus, 0.0);
  cr_assert_eq(oo.batch_rows, 0);
  cr_assert_eq(oo.max_retries, 0);
  cr_assert_eq(oo.preserve_order, 0);
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  cr_assert_eq(io.version, WEIR_ITER_OPTIONS_VERSION);
  cr_assert_eq(io.batch_rows, 0);
  cr_assert_eq(io.drop_last, 0);
  cr_assert_eq(io.prefetch_batches, 2);
  cr_assert_eq(io.shuffle_buffer_rows, 0);
  cr_assert_eq(io.seed, 0);
}

/* An operator with per-worker state that checks its own lifecycle. */
typedef struct life {
  atomic_int inits, destroys, finishes, calls, bad_worker, kept_rows;
  int max_workers;
} life;
typedef struct life_state {
  life *l;
  int worker;
  weir_block *kept;   /* a reference taken to a borrowed input */
} life_state;

static int life_init(void *user, int worker, void **state) {
  life *l = user;
  life_state *s = calloc(1, sizeof *s);
  s->l = l;
  s->worker = worker;
  if (worker < 0 || worker >= l->max_workers)
    atomic_fetch_add(&l->bad_worker, 1);
  atomic_fetch_add(&l->inits, 1);
  *state = s;
  return WEIR_OK;
}
static int life_process(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  life_state *s = state;
  atomic_fetch_add(&s->l->calls, 1);
  if (weir_emit_ctx(out) != ctx || weir_ctx_worker(ctx) != s->worker ||
      weir_ctx_cancelled(ctx) != 0 || strcmp(weir_ctx_op_name(ctx), "life") != 0)
    atomic_fetch_add(&s->l->bad_worker, 1);
  /* `in` is borrowed: keep one by taking a reference, emit it later. */
  if (!s->kept)
    s->kept = weir_block_ref(in);
  else
    return weir_emit_block(out, weir_block_ref(in));
  return WEIR_OK;
}
static int life_finish(void *state, weir_emit *out, weir_ctx *ctx) {
  life_state *s = state;
  (void)ctx;
  atomic_fetch_add(&s->l->finishes, 1);
  if (s->kept) {
    weir_block *k = s->kept;
    s->kept = NULL;
    return weir_emit_block(out, k); /* takes it */
  }
  return WEIR_OK;
}
static void life_destroy(void *state) {
  life_state *s = state;
  atomic_fetch_add(&s->l->destroys, 1);
  weir_block_unref(&s->kept);
  free(s);
}

Test(sem, op_def_lifecycle_and_borrowed_input) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 8, .blocks_per_task = 4, .rows = 10};
  weir_op *s = weir_source(p, "src", src.tasks, eu_read, &src, NULL);
  life l = {.max_workers = 3};
  weir_op_def def = {WEIR_OP_DEF_VERSION, "life", life_init, life_process, life_finish,
                     life_destroy};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.max_workers = 3;
  weir_op *op = weir_add_op(p, s, &def, &l, &o);
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  eu_seen seen;
  eu_seen_init(&seen, eu_total_rows(&src));
  cr_assert_eq(drain(p, op, NULL, &seen, NULL, NULL), WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(eu_seen_bad(&seen, 1), 0, "every row exactly once");
  eu_seen_free(&seen);
  cr_assert_eq(l.calls, 32);
  cr_assert_geq(l.inits, 1);
  cr_assert_eq(l.destroys, l.inits, "destroy once per successful init");
  cr_assert_eq(l.finishes, l.inits, "finish once per worker");
  cr_assert_eq(l.bad_worker, 0);
  weir_pipeline_destroy(p);
}

static int only_process(void *state, weir_block *in, weir_emit *out, weir_ctx *ctx) {
  (void)ctx;
  cr_assert_null(state, "no init: state is NULL");
  return weir_emit_block(out, weir_block_ref(in));
}

Test(sem, op_def_init_finish_destroy_may_be_null) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 2, .blocks_per_task = 2, .rows = 5};
  weir_op_def def = {WEIR_OP_DEF_VERSION, "plain", NULL, only_process, NULL, NULL};
  weir_op *op = weir_add_op(p, weir_source(p, "src", 2, eu_read, &src, NULL), &def, NULL, NULL);
  cr_assert_not_null(op);
  size_t rows = 0;
  cr_assert_eq(drain(p, op, NULL, NULL, &rows, NULL), WEIR_EOF);
  cr_assert_eq(rows, 20);
  weir_pipeline_destroy(p);
}

static int emit_n(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  /* 0 blocks for even ids, 2 for odd ones. */
  if (eu_id_col(in)[0] % 2 == 0)
    return WEIR_OK;
  int rc = weir_emit_block(out, weir_block_ref(in));
  return rc ? rc : weir_emit_block(out, weir_block_ref(in));
}

Test(sem, map_batches_may_emit_zero_to_n_blocks) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 10, .blocks_per_task = 1, .rows = 1};
  weir_op *m = weir_map_batches(p, weir_source(p, "src", 10, eu_read, &src, NULL), "n", emit_n,
                                NULL, NULL);
  size_t rows = 0, blocks = 0;
  cr_assert_eq(drain(p, m, NULL, NULL, &rows, &blocks), WEIR_EOF);
  cr_assert_eq(blocks, 10);
  cr_assert_eq(rows, 10);
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, weir_op_index(m), &st), WEIR_OK);
  cr_assert_eq(st.blocks_in, 10);
  cr_assert_eq(st.blocks_out, 10);
  weir_pipeline_destroy(p);
}

typedef struct sizes {
  pthread_mutex_t mu;
  size_t n, v[64];
} sizes;
static int record_size(void *user, weir_block *in, weir_emit *out) {
  sizes *s = user;
  pthread_mutex_lock(&s->mu);
  if (s->n < 64)
    s->v[s->n++] = weir_block_num_rows(in);
  pthread_mutex_unlock(&s->mu);
  return weir_emit_block(out, weir_block_ref(in));
}

Test(sem, batch_rows_reblocks_input_exactly) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 1, .blocks_per_task = 10, .rows = 7};
  sizes sz = {.mu = PTHREAD_MUTEX_INITIALIZER};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.batch_rows = 16;
  weir_op *m = weir_map_batches(p, weir_source(p, "src", 1, eu_read, &src, NULL), "rec",
                                record_size, &sz, &o);
  eu_seen seen;
  eu_seen_init(&seen, 70);
  cr_assert_eq(drain(p, m, NULL, &seen, NULL, NULL), WEIR_EOF);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  eu_seen_free(&seen);
  size_t full = 0, last = 0;
  for (size_t i = 0; i < sz.n; i++) {
    if (sz.v[i] == 16)
      full++;
    else
      last = sz.v[i];
  }
  cr_assert_eq(full, 4, "%zu blocks of 16", full);
  cr_assert_eq(last, 6);
  cr_assert_eq(sz.n, 5);
  weir_pipeline_destroy(p);
}

static int fail_twice(void *user, weir_block *in, weir_emit *out) {
  atomic_int *n = user;
  /* Emits first, then fails: a failed attempt must not leak its output. */
  int rc = weir_emit_block(out, weir_block_ref(in));
  if (rc)
    return rc;
  if (atomic_fetch_add(n, 1) < 2)
    return WEIR_EIO;
  return WEIR_OK;
}

Test(sem, max_retries_reruns_a_failed_call) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 1, .blocks_per_task = 5, .rows = 3};
  atomic_int n = 0;
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.max_retries = 2;
  o.max_workers = 1;
  weir_op *m = weir_map_batches(p, weir_source(p, "src", 1, eu_read, &src, NULL), "flaky",
                                fail_twice, &n, &o);
  eu_seen seen;
  eu_seen_init(&seen, 15);
  cr_assert_eq(drain(p, m, NULL, &seen, NULL, NULL), WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(eu_seen_bad(&seen, 1), 0, "retried output arrives exactly once");
  eu_seen_free(&seen);
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(m), &st);
  cr_assert_eq(st.retries, 2);
  cr_assert_eq(st.errors, 0);
  weir_pipeline_destroy(p);

  /* Without retries the first failure ends the run with its code. */
  p = new_pipeline();
  n = 0;
  m = weir_map_batches(p, weir_source(p, "src", 1, eu_read, &src, NULL), "flaky", fail_twice,
                       &n, NULL);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_EIO);
  cr_assert(contains(weir_pipeline_errmsg(p), "flaky"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_op_stats(p, weir_op_index(m), &st);
  cr_assert_geq(st.errors, 1);
  weir_pipeline_destroy(p);
}

static int fail_with_detail(void *user, weir_block *in, weir_emit *out) {
  (void)in;
  int code = *(int *)user;
  if (code == WEIR_EFORMAT)
    weir_ctx_set_errmsg(weir_emit_ctx(out), "row %d is bad", 42);
  return code;
}

Test(sem, a_failure_ends_the_run_and_errmsg_names_operator_and_cause) {
  /* A code of the error list is reported as itself, the last one too
   * (codes are appended: the range comes from the list); anything else a
   * callback returns is an operator's failure. */
  int codes[] = {WEIR_EFORMAT, WEIR_EIO, 7, 42, WEIR_ESTALL, -1000};
  int want[] = {WEIR_EFORMAT, WEIR_EIO, WEIR_EOPERATOR, WEIR_EOPERATOR, WEIR_ESTALL,
                WEIR_EOPERATOR};
  for (int k = 0; k < (int)(sizeof codes / sizeof codes[0]); k++) {
    weir_pipeline *p = new_pipeline();
    eu_src src = {.tasks = 4, .blocks_per_task = 2, .rows = 3};
    weir_op *m = weir_map_batches(p, weir_source(p, "src", 4, eu_read, &src, NULL),
                                  "the_culprit", fail_with_detail, &codes[k], NULL);
    cr_assert_eq(weir_pipeline_run(p, m), want[k], "code %d", codes[k]);
    const char *msg = weir_pipeline_errmsg(p);
    cr_assert(contains(msg, "the_culprit"), "%s", msg);
    if (codes[k] == WEIR_EFORMAT)
      cr_assert(contains(msg, "row 42 is bad"), "%s", msg);
    else if (codes[k] == WEIR_EIO)
      cr_assert(contains(msg, weir_strerror(WEIR_EIO)) || contains(msg, "EIO"), "%s", msg);
    weir_pipeline_destroy(p);

    /* The iterator returns the same error. */
    p = new_pipeline();
    m = weir_map_batches(p, weir_source(p, "src", 4, eu_read, &src, NULL), "the_culprit",
                         fail_with_detail, &codes[k], NULL);
    cr_assert_eq(drain(p, m, NULL, NULL, NULL, NULL), want[k]);
    cr_assert(contains(weir_pipeline_errmsg(p), "the_culprit"), "%s", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
  }
}

static int slow_by_id(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  /* Early blocks are the slowest, so without ordering they would finish last. */
  int64_t id = eu_id_col(in)[0];
  eu_sleep_us(id < 20 ? 3000 : 0);
  return weir_emit_block(out, weir_block_ref(in));
}

Test(sem, preserve_order_gives_output_in_input_order) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 8, .blocks_per_task = 2, .rows = 5};
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.preserve_order = 1;
  o.min_workers = o.max_workers = 4;
  weir_op *m = weir_map_batches(p, weir_source(p, "src", 8, eu_read, &src, NULL), "slow",
                                slow_by_id, NULL, &o);
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, m, NULL, &it), WEIR_OK);
  weir_block *b = NULL;
  int64_t next = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    const int64_t *ids = eu_id_col(b);
    for (size_t i = 0; i < weir_block_num_rows(b); i++)
      cr_assert_eq(ids[i], next++, "row out of order");
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF);
  cr_assert_eq(next, 80);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

typedef struct taskcount {
  atomic_int per[16];
} taskcount;
static int count_task(void *user, size_t task, weir_emit *out) {
  taskcount *tc = user;
  atomic_fetch_add(&tc->per[task], 1);
  return weir_emit_block(out, eu_ids((int64_t)task, 1, 0));
}

Test(sem, source_calls_each_task_once) {
  weir_pipeline *p = new_pipeline();
  taskcount tc;
  memset(&tc, 0, sizeof tc);
  weir_op *s = weir_source(p, "tasks", 16, count_task, &tc, NULL);
  eu_seen seen;
  eu_seen_init(&seen, 16);
  cr_assert_eq(drain(p, s, NULL, &seen, NULL, NULL), WEIR_EOF);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  eu_seen_free(&seen);
  for (int i = 0; i < 16; i++)
    cr_assert_eq(tc.per[i], 1, "task %d", i);
  weir_op_stats st;
  cr_assert_eq(weir_pipeline_op_stats(p, weir_op_index(s), &st), WEIR_OK);
  cr_assert_eq(st.tasks, 16);
  cr_assert_eq(st.rows_out, 16);
  cr_assert_eq(st.blocks_out, 16);
  cr_assert_str_eq(st.name, "tasks");
  weir_pipeline_destroy(p);
}

Test(sem, source_with_zero_tasks_yields_nothing) {
  weir_pipeline *p = new_pipeline();
  taskcount tc;
  memset(&tc, 0, sizeof tc);
  weir_op *s = weir_source(p, "none", 0, count_task, &tc, NULL);
  cr_assert_not_null(s);
  size_t rows = 0;
  cr_assert_eq(drain(p, s, NULL, NULL, &rows, NULL), WEIR_EOF);
  cr_assert_eq(rows, 0);
  weir_pipeline_destroy(p);
}

Test(sem, source_arrow_stream_moves_the_stream_in) {
  weir_block *bs[3] = {eu_ids(0, 4, 0), eu_ids(4, 4, 0), eu_ids(8, 2, 0)};
  struct ArrowArrayStream st;
  cr_assert_eq(weir_blocks_to_arrow_stream(bs, 3, &st), WEIR_OK);
  for (int i = 0; i < 3; i++)
    weir_block_unref(&bs[i]);
  weir_pipeline *p = new_pipeline();
  weir_op *s = weir_source_arrow_stream(p, "arrow", &st);
  cr_assert_not_null(s, "%s", weir_pipeline_errmsg(p));
  cr_assert_null(st.release, "moved in");
  cr_assert_str_eq(weir_op_name(s), "arrow");
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, s, NULL, &it), WEIR_OK);
  weir_block *b = NULL;
  int64_t next = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    for (size_t i = 0; i < weir_block_num_rows(b); i++)
      cr_assert_eq(eu_id_col(b)[i], next++);
    weir_block_unref(&b);
  }
  cr_assert_eq(next, 10);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);

  /* Moved in (and released) also when the call fails. */
  bs[0] = eu_ids(0, 1, 0);
  cr_assert_eq(weir_blocks_to_arrow_stream(bs, 1, &st), WEIR_OK);
  weir_block_unref(&bs[0]);
  cr_assert_null(weir_source_arrow_stream(NULL, "x", &st));
  cr_assert_null(st.release);
  p = new_pipeline();
  cr_assert_null(weir_source_arrow_stream(p, "x", NULL));
  cr_assert_gt(strlen(weir_pipeline_errmsg(p)), 0);
  weir_pipeline_destroy(p);
}

Test(sem, repartition_gives_exact_blocks_in_order) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 3, .blocks_per_task = 3, .rows = 7};
  weir_op_options so = WEIR_OP_OPTIONS_INIT;
  so.preserve_order = 1;
  weir_op *s = weir_source(p, "src", 3, eu_read, &src, &so);
  weir_op *r = weir_repartition(p, s, 10);
  cr_assert_not_null(r);
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, r, NULL, &it), WEIR_OK);
  weir_block *b = NULL;
  size_t nblocks = 0, rows = 0;
  int64_t next = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    size_t n = weir_block_num_rows(b);
    rows += n;
    nblocks++;
    if (rows < 63)
      cr_assert_eq(n, 10);
    for (size_t i = 0; i < n; i++)
      cr_assert_eq(eu_id_col(b)[i], next++);
    weir_block_unref(&b);
  }
  cr_assert_eq(rows, 63);
  cr_assert_eq(nblocks, 7, "six of 10 and a last of 3");
  weir_iter_destroy(it);
  cr_assert_null(weir_repartition(p, s, 0));
  weir_pipeline_destroy(p);

  p = new_pipeline();
  cr_assert_null(weir_repartition(p, weir_source(p, "src", 1, eu_read, &src, NULL), 0));
  cr_assert_gt(strlen(weir_pipeline_errmsg(p)), 0);
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  weir_pipeline_destroy(p);
}

Test(sem, limit_passes_exactly_the_first_rows) {
  uint64_t limits[] = {0, 1, 25, 100, 1000};
  for (int k = 0; k < 5; k++) {
    weir_pipeline *p = new_pipeline();
    eu_src src = {.tasks = 4, .blocks_per_task = 5, .rows = 5};
    weir_op_options so = WEIR_OP_OPTIONS_INIT;
    so.preserve_order = 1;
    weir_op *l = weir_limit(p, weir_source(p, "src", 4, eu_read, &src, &so), limits[k]);
    cr_assert_not_null(l);
    weir_iter *it = NULL;
    cr_assert_eq(weir_pipeline_iter(p, l, NULL, &it), WEIR_OK);
    weir_block *b = NULL;
    int64_t next = 0;
    int rc;
    while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
      for (size_t i = 0; i < weir_block_num_rows(b); i++)
        cr_assert_eq(eu_id_col(b)[i], next++, "the first rows, in order");
      weir_block_unref(&b);
    }
    cr_assert_eq(rc, WEIR_EOF, "a satisfied limit is not an error (%d)", rc);
    uint64_t want = limits[k] < 100 ? limits[k] : 100;
    cr_assert_eq((uint64_t)next, want, "limit %llu", (unsigned long long)limits[k]);
    weir_iter_destroy(it);
    weir_pipeline_destroy(p);
  }
}

typedef struct endless {
  atomic_int saw_cancel, emitted;
} endless;
static int endless_read(void *user, size_t task, weir_emit *out) {
  endless *e = user;
  for (int k = 0; k < 100000; k++) {
    if (weir_ctx_cancelled(weir_emit_ctx(out))) {
      atomic_fetch_add(&e->saw_cancel, 1);
      return WEIR_OK;
    }
    atomic_fetch_add(&e->emitted, 1);
    int rc = weir_emit_block(out, eu_ids((int64_t)task * 100000 + k, 1, 0));
    if (rc != WEIR_OK) {
      cr_assert_eq(rc, WEIR_ECANCELED);
      atomic_fetch_add(&e->saw_cancel, 1);
      return rc;
    }
  }
  return WEIR_OK;
}

Test(sem, a_satisfied_limit_ends_the_sources) {
  weir_pipeline *p = new_pipeline();
  endless e = {0};
  weir_op *l = weir_limit(p, weir_source(p, "endless", 2, endless_read, &e, NULL), 10);
  cr_assert_eq(weir_pipeline_run(p, l), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  cr_assert_geq(e.saw_cancel, 1, "running tasks see weir_ctx_cancelled or ECANCELED");
  cr_assert_lt(e.emitted, 200000);
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(l), &st);
  cr_assert_eq(st.rows_out, 10);
  weir_pipeline_destroy(p);
}

Test(sem, union_merges_every_row_exactly_once) {
  weir_pipeline *p = new_pipeline();
  eu_src a = {.tasks = 3, .blocks_per_task = 2, .rows = 5};
  eu_src b = {.tasks = 2, .blocks_per_task = 2, .rows = 5, .base = 30};
  weir_op *ins[2] = {weir_source(p, "a", 3, eu_read, &a, NULL),
                     weir_source(p, "b", 2, eu_read, &b, NULL)};
  weir_op *u = weir_union(p, ins, 2);
  cr_assert_not_null(u);
  eu_seen seen;
  eu_seen_init(&seen, 50);
  cr_assert_eq(drain(p, u, NULL, &seen, NULL, NULL), WEIR_EOF);
  cr_assert_eq(eu_seen_bad(&seen, 1), 0);
  eu_seen_free(&seen);
  cr_assert_null(weir_union(p, ins, 0));
  cr_assert_null(weir_union(p, NULL, 2));
  weir_pipeline_destroy(p);

  p = new_pipeline();
  weir_op *bad[2] = {weir_source(p, "a", 3, eu_read, &a, NULL), NULL};
  cr_assert_null(weir_union(p, bad, 2));
  cr_assert_gt(strlen(weir_pipeline_errmsg(p)), 0);
  weir_pipeline_destroy(p);
}

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

Test(sem, a_null_in_fails_so_a_chain_is_checked_once) {
  weir_pipeline *p = new_pipeline();
  /* The first call fails (no read function); every later one fails too,
   * and the first reason survives to the end. */
  weir_op *s = weir_source(p, "first", 1, NULL, NULL, NULL);
  cr_assert_null(s);
  cr_assert_neq(weir_pipeline_errcode(p), WEIR_OK);
  weir_op *m = weir_map_batches(p, s, "m", pass, NULL, NULL);
  weir_op_def def = {WEIR_OP_DEF_VERSION, "d", NULL, only_process, NULL, NULL};
  weir_op *d = weir_add_op(p, m, &def, NULL, NULL);
  weir_op *r = weir_repartition(p, d, 5);
  weir_op *l = weir_limit(p, r, 5);
  weir_op *u = weir_union(p, &l, 1);
  weir_op *w = weir_write_jsonl(p, u, "/tmp/never-written.jsonl", NULL);
  cr_assert_null(m);
  cr_assert_null(d);
  cr_assert_null(r);
  cr_assert_null(l);
  cr_assert_null(u);
  cr_assert_null(w);
  cr_assert(contains(weir_pipeline_errmsg(p), "first"), "%s", weir_pipeline_errmsg(p));
  cr_assert_neq(weir_pipeline_errcode(p), WEIR_OK);
  /* Running the NULL end of the chain fails rather than running half a graph. */
  cr_assert_lt(weir_pipeline_run(p, w), 0);
  weir_pipeline_destroy(p);

  /* The same when the chain breaks after a good start. */
  p = new_pipeline();
  eu_src src = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  s = weir_source(p, "src", 1, eu_read, &src, NULL);
  cr_assert_not_null(s);
  m = weir_map_batches(p, s, "nofn", NULL, NULL, NULL);
  cr_assert_null(m);
  l = weir_limit(p, m, 3);
  cr_assert_null(l);
  cr_assert(contains(weir_pipeline_errmsg(p), "nofn"), "%s", weir_pipeline_errmsg(p));
  cr_assert_lt(weir_pipeline_run(p, l), 0, "run of a NULL op after a failed chain");
  weir_iter *it = (weir_iter *)1;
  weir_pipeline_destroy(p);

  p = new_pipeline();
  s = weir_source(p, "src", 1, eu_read, &src, NULL);
  cr_assert_null(weir_map_batches(p, s, "nofn", NULL, NULL, NULL));
  cr_assert_lt(weir_pipeline_iter(p, NULL, NULL, &it), 0);
  cr_assert_null(it);
  weir_pipeline_destroy(p);
}

Test(sem, constructors_with_null_pipeline_return_null) {
  eu_src src = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  cr_assert_null(weir_source(NULL, "s", 1, eu_read, &src, NULL));
  weir_pipeline *p = new_pipeline();
  weir_op *s = weir_source(p, "s", 1, eu_read, &src, NULL);
  cr_assert_null(weir_map_batches(NULL, s, "m", pass, NULL, NULL));
  weir_op_def def = {WEIR_OP_DEF_VERSION, "d", NULL, only_process, NULL, NULL};
  cr_assert_null(weir_add_op(NULL, s, &def, NULL, NULL));
  cr_assert_null(weir_add_op(p, s, NULL, NULL, NULL));
  cr_assert_neq(weir_pipeline_errcode(p), WEIR_OK);
  cr_assert_null(weir_repartition(NULL, s, 3));
  cr_assert_null(weir_limit(NULL, s, 3));
  cr_assert_null(weir_union(NULL, &s, 1));
  cr_assert_null(weir_read_text(NULL, "/tmp", NULL));
  cr_assert_null(weir_write_jsonl(NULL, s, "/tmp/x.jsonl", NULL));
  weir_op_options bad = WEIR_OP_OPTIONS_INIT;
  bad.version = 12345;
  cr_assert_null(weir_map_batches(p, s, "badopts", pass, NULL, &bad));
  cr_assert(contains(weir_pipeline_errmsg(p), "badopts"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(sem, run_and_iter_null_arguments) {
  cr_assert_eq(weir_pipeline_run(NULL, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_pipeline_cancel(NULL), WEIR_EINVAL);
  weir_iter *it = (weir_iter *)1;
  cr_assert_eq(weir_pipeline_iter(NULL, NULL, NULL, &it), WEIR_EINVAL);
  cr_assert_null(it);
  weir_block *b = (weir_block *)1;
  cr_assert_eq(weir_iter_next(NULL, &b), WEIR_EINVAL);
  cr_assert_null(b);
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  weir_op *s = weir_source(p, "s", 1, eu_read, &src, NULL);
  cr_assert_eq(weir_pipeline_iter(p, s, NULL, NULL), WEIR_EINVAL);
  /* Cancel is harmless when nothing runs. */
  cr_assert_eq(weir_pipeline_cancel(p), WEIR_OK);
  cr_assert_eq(weir_pipeline_iter(p, s, NULL, &it), WEIR_OK);
  cr_assert_eq(weir_iter_next(it, NULL), WEIR_EINVAL);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

Test(sem, run_to_completion_drops_the_output_and_runs_once) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 4, .blocks_per_task = 3, .rows = 10};
  weir_op *m = weir_map_batches(p, weir_source(p, "src", 4, eu_read, &src, NULL), "m", pass,
                                NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_OK);
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(m), &st);
  cr_assert_eq(st.rows_in, 120);
  cr_assert_eq(st.rows_out, 120);
  cr_assert_eq(src.tasks_run, 4);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_EINVAL, "a pipeline runs once");
  weir_pipeline_destroy(p);
}

typedef struct blocker {
  atomic_int started;
} blocker;
static int block_until_cancel(void *user, size_t task, weir_emit *out) {
  blocker *b = user;
  (void)task;
  atomic_store(&b->started, 1);
  while (!weir_ctx_cancelled(weir_emit_ctx(out)))
    eu_sleep_us(1000);
  return WEIR_ECANCELED;
}
static void *cancel_when_started(void *arg) {
  void **a = arg;
  blocker *b = a[1];
  while (!atomic_load(&b->started))
    eu_sleep_us(500);
  weir_pipeline_cancel(a[0]);
  return NULL;
}

Test(sem, cancel_from_another_thread_ends_the_run) {
  weir_pipeline *p = new_pipeline();
  blocker bl = {0};
  weir_op *s = weir_source(p, "waits", 1, block_until_cancel, &bl, NULL);
  pthread_t t;
  void *args[2] = {p, &bl};
  pthread_create(&t, NULL, cancel_when_started, args);
  cr_assert_eq(weir_pipeline_run(p, s), WEIR_ECANCELED);
  pthread_join(t, NULL);
  cr_assert_gt(strlen(weir_pipeline_errmsg(p)), 0);
  weir_pipeline_destroy(p);
}

Test(sem, iterator_returns_ok_then_eof_repeatedly) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 2, .blocks_per_task = 2, .rows = 4};
  weir_op *s = weir_source(p, "src", 2, eu_read, &src, NULL);
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, s, NULL, &it), WEIR_OK);
  cr_assert_not_null(it);
  weir_block *b = NULL;
  int n = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    cr_assert_not_null(b, "the caller owns the batch");
    n++;
    weir_block_unref(&b);
  }
  cr_assert_eq(n, 4);
  cr_assert_eq(weir_iter_next(it, &b), WEIR_EOF);
  cr_assert_null(b);
  cr_assert_eq(weir_iter_next(it, &b), WEIR_EOF, "EOF stays EOF");
  /* EOF is a status, not a failure. */
  cr_assert_str_eq(weir_pipeline_errmsg(p), "");
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_OK);
  weir_iter_destroy(it);
  /* A second iterator, after the first was destroyed, runs the pipeline
   * again (an epoch): the same rows once more. */
  it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, s, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  n = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    n++;
    weir_block_unref(&b);
  }
  cr_assert_eq(n, 4);
  /* While it lives, a third is refused. */
  weir_iter *third = (weir_iter *)1;
  cr_assert_eq(weir_pipeline_iter(p, s, NULL, &third), WEIR_EINVAL);
  cr_assert_null(third);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

Test(sem, iterator_batch_rows_and_drop_last) {
  for (int drop = 0; drop < 2; drop++) {
    weir_pipeline *p = new_pipeline();
    eu_src src = {.tasks = 5, .blocks_per_task = 4, .rows = 5};
    weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
    io.batch_rows = 30;
    io.drop_last = drop;
    weir_iter *it = NULL;
    cr_assert_eq(weir_pipeline_iter(p, weir_source(p, "src", 5, eu_read, &src, NULL), &io, &it),
                 WEIR_OK);
    weir_block *b = NULL;
    size_t sizes_seen[8], n = 0, rows = 0;
    while (weir_iter_next(it, &b) == WEIR_OK) {
      if (n < 8)
        sizes_seen[n] = weir_block_num_rows(b);
      n++;
      rows += weir_block_num_rows(b);
      weir_block_unref(&b);
    }
    weir_iter_destroy(it);
    cr_assert_eq(n, drop ? 3 : 4);
    cr_assert_eq(rows, drop ? 90 : 100);
    for (size_t i = 0; i < 3; i++)
      cr_assert_eq(sizes_seen[i], 30);
    if (!drop)
      cr_assert_eq(sizes_seen[3], 10);
    weir_pipeline_destroy(p);
  }
}

static void shuffled_ids(uint64_t seed, int64_t *ids) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 1, .blocks_per_task = 10, .rows = 10};
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.shuffle_buffer_rows = 40;
  io.seed = seed;
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, weir_source(p, "src", 1, eu_read, &src, NULL), &io, &it),
               WEIR_OK);
  weir_block *b = NULL;
  size_t n = 0;
  while (weir_iter_next(it, &b) == WEIR_OK) {
    for (size_t i = 0; i < weir_block_num_rows(b); i++) {
      cr_assert_lt(n, 100);
      ids[n++] = eu_id_col(b)[i];
    }
    weir_block_unref(&b);
  }
  cr_assert_eq(n, 100);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

Test(sem, shuffle_same_seed_same_order) {
  int64_t a[100], b[100], c[100];
  shuffled_ids(42, a);
  shuffled_ids(42, b);
  shuffled_ids(7, c);
  cr_assert(memcmp(a, b, sizeof a) == 0, "same seed, same order");
  cr_assert(memcmp(a, c, sizeof a) != 0, "another seed, another order");
  int moved = 0;
  unsigned char seen[100] = {0};
  for (int i = 0; i < 100; i++) {
    moved += a[i] != i;
    cr_assert(a[i] >= 0 && a[i] < 100);
    seen[a[i]]++;
  }
  cr_assert_gt(moved, 0, "rows were shuffled");
  for (int i = 0; i < 100; i++)
    cr_assert_eq(seen[i], 1);
}

Test(sem, iter_destroy_cancels_an_unfinished_run) {
  weir_pipeline *p = new_pipeline();
  endless e = {0};
  weir_op *s = weir_source(p, "endless", 2, endless_read, &e, NULL);
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, s, NULL, &it), WEIR_OK);
  weir_block *b = NULL;
  cr_assert_eq(weir_iter_next(it, &b), WEIR_OK);
  weir_block_unref(&b);
  weir_iter_destroy(it); /* must not wait for 200000 blocks */
  cr_assert_geq(e.saw_cancel, 1);
  cr_assert_lt(e.emitted, 200000);
  weir_pipeline_destroy(p);
}

Test(sem, emit_and_ctx_null_arguments) {
  /* weir_emit_block takes the block also when it fails. */
  weir_block *b = eu_ids(0, 3, 0);
  cr_assert_eq(weir_emit_block(NULL, b), WEIR_EINVAL); /* LeakSanitizer checks it was freed */
  cr_assert_eq(weir_emit_block(NULL, NULL), WEIR_EINVAL);
  cr_assert_null(weir_emit_ctx(NULL));
  cr_assert_eq(weir_ctx_worker(NULL), WEIR_EINVAL);
  cr_assert_eq(weir_ctx_cancelled(NULL), 0);
  cr_assert_null(weir_ctx_cuda_stream(NULL));
  cr_assert_eq(weir_op_index(NULL), WEIR_EINVAL);
  cr_assert_not_null(weir_op_name(NULL));
}

static int check_cpu_ctx(void *user, weir_block *in, weir_emit *out) {
  atomic_int *bad = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  /* A CPU operator has no CUDA stream and no device. */
  if (!ctx || weir_ctx_cuda_stream(ctx) != NULL || weir_ctx_device(ctx) != -1 ||
      weir_ctx_worker(ctx) < 0)
    atomic_fetch_add(bad, 1);
  return weir_emit_block(out, weir_block_ref(in));
}

Test(sem, cpu_operator_context) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 3, .blocks_per_task = 2, .rows = 2};
  atomic_int bad = 0;
  weir_op *m = weir_map_batches(p, weir_source(p, "src", 3, eu_read, &src, NULL), "cpu",
                                check_cpu_ctx, &bad, NULL);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_OK);
  cr_assert_eq(bad, 0);
  weir_op_stats st;
  weir_pipeline_op_stats(p, weir_op_index(m), &st);
  cr_assert_eq(st.workers_min, 1, "min_workers 0 = 1");
  cr_assert_geq(st.workers_peak, 1);
  weir_pipeline_destroy(p);
}

Test(sem, memory_budget_zero_is_a_default) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_pipeline_stats ps;
  cr_assert_eq(weir_pipeline_get_stats(p, &ps), WEIR_OK);
  cr_assert_gt(ps.memory_budget, 0);
  weir_pipeline_destroy(p);
  weir_pipeline_options o = WEIR_PIPELINE_OPTIONS_INIT;
  o.memory_budget = 12345678;
  cr_assert_eq(weir_pipeline_create(&p, &o), WEIR_OK);
  cr_assert_eq(weir_pipeline_get_stats(p, &ps), WEIR_OK);
  cr_assert_eq(ps.memory_budget, 12345678);
  weir_pipeline_destroy(p);
}

Test(sem, null_pipeline_constructors_leave_a_thread_error) {
  eu_src src = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  cr_assert_null(weir_source(NULL, "s", 1, eu_read, &src, NULL));
  cr_assert_gt(strlen(weir_last_errmsg()), 0);
  cr_assert_null(weir_read_jsonl(NULL, "/tmp/x.jsonl", NULL));
  cr_assert_gt(strlen(weir_last_errmsg()), 0);
  cr_assert_null(weir_read_video(NULL, "/tmp/x.mp4", NULL));
  cr_assert_null(weir_read_audio(NULL, "/tmp/x.wav", NULL));
  cr_assert_null(weir_read_images(NULL, "/tmp/x.png", NULL));
  weir_pipeline *p = new_pipeline();
  cr_assert_null(weir_read_video(p, NULL, NULL));
  cr_assert_null(weir_read_audio(p, NULL, NULL));
  cr_assert_null(weir_read_images(p, NULL, NULL));
  cr_assert_gt(strlen(weir_pipeline_errmsg(p)), 0);
  cr_assert_neq(weir_pipeline_errcode(p), WEIR_OK);
  weir_pipeline_destroy(p);
}

/* ---- 4. Statistics ------------------------------------------------------- */

static int fail_on_id_7(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  if (eu_id_col(in)[0] == 7)
    return WEIR_EFORMAT;
  return weir_emit_block(out, weir_block_ref(in));
}

Test(sem, op_stats_fields) {
  weir_pipeline *p = NULL;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.num_cpus = 4;
  po.max_errored_blocks = 1;
  cr_assert_eq(weir_pipeline_create(&p, &po), WEIR_OK);
  cr_assert_eq(weir_pipeline_num_ops(p), 0);
  eu_src src = {.tasks = 10, .blocks_per_task = 1, .rows = 1};
  weir_op *s = weir_source(p, "src", 10, eu_read, &src, NULL);
  weir_op *m = weir_map_batches(p, s, "skipper", fail_on_id_7, NULL, NULL);
  cr_assert_eq(weir_pipeline_num_ops(p), 2);
  cr_assert_eq(weir_op_index(s), 0);
  cr_assert_eq(weir_op_index(m), 1);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_op_stats ss, ms;
  cr_assert_eq(weir_pipeline_op_stats(p, 0, &ss), WEIR_OK);
  cr_assert_eq(weir_pipeline_op_stats(p, 1, &ms), WEIR_OK);
  cr_assert_str_eq(ss.name, "src");
  cr_assert_str_eq(ms.name, "skipper");
  cr_assert_eq(ss.tasks, 10);
  cr_assert_eq(ss.rows_out, 10);
  cr_assert_eq(ss.blocks_out, 10);
  cr_assert_eq(ss.bytes_out, 80);
  cr_assert_eq(ms.rows_in, 10);
  cr_assert_eq(ms.blocks_in, 10);
  cr_assert_eq(ms.bytes_in, 80);
  cr_assert_eq(ms.rows_out, 9);
  cr_assert_eq(ms.blocks_out, 9);
  cr_assert_eq(ms.bytes_out, 72);
  cr_assert_eq(ms.errors, 1);
  cr_assert_eq(ms.skipped_blocks, 1);
  cr_assert_eq(ms.retries, 0);
  cr_assert_eq(ms.tasks, 10);
  cr_assert_geq(ms.busy_seconds, 0.0);
  cr_assert_geq(ms.workers_peak, 1);
  cr_assert_geq(ms.workers_peak, ms.workers);
  cr_assert_geq(ms.queue_bytes_peak, 8, "every block passed through the input queue");
  cr_assert_eq(ss.queue_bytes_peak, 0, "a source has no input queue");
  cr_assert_eq(weir_pipeline_op_stats(p, 2, &ms), WEIR_EINVAL);
  cr_assert_eq(weir_pipeline_op_stats(p, -1, &ms), WEIR_EINVAL);
  cr_assert_eq(weir_pipeline_op_stats(p, 0, NULL), WEIR_EINVAL);
  cr_assert_eq(weir_pipeline_op_stats(NULL, 0, &ms), WEIR_EINVAL);
  cr_assert_lt(weir_pipeline_num_ops(NULL), 0);
  weir_pipeline_destroy(p);
}

Test(sem, stats_json_names_every_operator) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 2, .blocks_per_task = 1, .rows = 3};
  weir_op *m = weir_map_batches(p, weir_source(p, "json_src", 2, eu_read, &src, NULL),
                                "json_map", pass, NULL, NULL);
  cr_assert_eq(weir_pipeline_run(p, m), WEIR_OK);
  char *json = NULL;
  cr_assert_eq(weir_pipeline_stats_json(p, &json), WEIR_OK);
  cr_assert_not_null(json);
  cr_assert_eq(json[0], '{');
  cr_assert(contains(json, "\"json_src\""), "%s", json);
  cr_assert(contains(json, "\"json_map\""), "%s", json);
  cr_assert(contains(json, "\"rows_out\""), "%s", json);
  free(json);
  cr_assert_eq(weir_pipeline_stats_json(p, NULL), WEIR_EINVAL);
  json = (char *)1;
  cr_assert_eq(weir_pipeline_stats_json(NULL, &json), WEIR_EINVAL);
  weir_pipeline_destroy(p);
}

/* ---- 5. CUDA operators without CUDA -------------------------------------- */

Test(sem, gpu_operator_without_cuda_fails_cleanly) {
  if (weir_cuda_built() && weir_cuda_device_count() > 0)
    cr_skip_test("a CUDA device is present");
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  weir_op *s = weir_source(p, "src", 1, eu_read, &src, NULL);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.num_gpus = 1;
  cr_assert_null(weir_map_batches(p, s, "gpu_map", pass, NULL, &o));
  int rc = weir_pipeline_errcode(p);
  cr_assert(rc == WEIR_ENOTSUP || rc == WEIR_ENODEV, "%d", rc);
  cr_assert(contains(weir_pipeline_errmsg(p), "gpu_map"), "%s", weir_pipeline_errmsg(p));
  weir_op_def def = {WEIR_OP_DEF_VERSION, "gpu_def", NULL, only_process, NULL, NULL};
  cr_assert_null(weir_add_op(p, s, &def, NULL, &o));
  rc = weir_pipeline_errcode(p);
  cr_assert(rc == WEIR_ENOTSUP || rc == WEIR_ENODEV, "%d", rc);
  cr_assert_null(weir_source(p, "gpu_src", 1, eu_read, &src, &o));
  weir_pipeline_destroy(p);
}

/* ---- 6. Readers and writers ---------------------------------------------- */

static void make_tmp(void) { tmpdir_make("api-sem"); }

TestSuite(sem_io, .init = make_tmp, .fini = tmpdir_remove, .timeout = 30);

/* Reads every row of `op` into one block (concatenated in arrival order). */
static weir_block *read_all(weir_pipeline *p, weir_op *op) {
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_block *bs[64], *b = NULL;
  size_t n = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    cr_assert_lt(n, 64);
    bs[n++] = b;
    b = NULL;
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  weir_block *all = NULL;
  if (n == 0)
    return weir_block_empty();
  cr_assert_eq(weir_block_concat(bs, n, &all), WEIR_OK);
  for (size_t i = 0; i < n; i++)
    weir_block_unref(&bs[i]);
  return all;
}

static int col_of(const weir_block *b, const char *name, weir_column *c) {
  int i = weir_block_column_index(b, name);
  cr_assert_geq(i, 0, "column '%s'", name);
  cr_assert_eq(weir_block_column(b, (size_t)i, c), WEIR_OK);
  return i;
}

static int str_is(const weir_column *c, size_t row, const char *s) {
  size_t len = (size_t)(c->offsets[row + 1] - c->offsets[row]);
  return len == strlen(s) && memcmp((const char *)c->data + c->offsets[row], s, len) == 0;
}

Test(sem_io, text_reader_gives_a_text_column_of_lines) {
  write_str(path_of("t.txt"), "one\r\ntwo\n\nfour");
  weir_pipeline *p = new_pipeline();
  weir_block *b = read_all(p, weir_read_text(p, path_of("t.txt"), NULL));
  cr_assert_eq(weir_block_num_columns(b), 1);
  weir_column c;
  col_of(b, "text", &c);
  cr_assert_eq(c.type, WEIR_TYPE_STRING);
  cr_assert_eq(weir_block_num_rows(b), 4);
  cr_assert(str_is(&c, 0, "one"), "no \\r\\n");
  cr_assert(str_is(&c, 1, "two"));
  cr_assert(str_is(&c, 2, ""));
  cr_assert(str_is(&c, 3, "four"));
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(sem_io, binary_reader_gives_path_and_bytes) {
  write_str(path_of("bin/a.dat"), "AAAA");
  write_str(path_of("bin/b.dat"), "BB");
  weir_pipeline *p = new_pipeline();
  weir_block *b = read_all(p, weir_read_binary(p, path_of("bin"), NULL));
  cr_assert_eq(weir_block_num_rows(b), 2, "one row per file");
  weir_column path, bytes;
  col_of(b, "path", &path);
  col_of(b, "bytes", &bytes);
  cr_assert_eq(bytes.type, WEIR_TYPE_BINARY);
  size_t total = 0;
  for (size_t r = 0; r < 2; r++) {
    size_t len = (size_t)(bytes.offsets[r + 1] - bytes.offsets[r]);
    total += len;
    const char *pth = (const char *)path.data + path.offsets[r];
    size_t plen = (size_t)(path.offsets[r + 1] - path.offsets[r]);
    cr_assert(plen > 5 && memcmp(pth + plen - 5, len == 4 ? "a.dat" : "b.dat", 5) == 0);
  }
  cr_assert_eq(total, 6);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(sem_io, jsonl_and_csv_columns_are_named_after_keys_and_headers) {
  write_str(path_of("d.jsonl"), "{\"alpha\": 1, \"beta\": \"x\"}\n{\"alpha\": 2, \"beta\": \"y\"}\n");
  write_str(path_of("d.csv"), "gamma,delta\n1,hello\n2,world\n");
  weir_pipeline *p = new_pipeline();
  weir_block *b = read_all(p, weir_read_jsonl(p, path_of("d.jsonl"), NULL));
  weir_column c;
  col_of(b, "alpha", &c);
  cr_assert_eq(c.type, WEIR_TYPE_INT64);
  col_of(b, "beta", &c);
  cr_assert_eq(c.type, WEIR_TYPE_STRING);
  cr_assert_eq(weir_block_num_rows(b), 2);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  p = new_pipeline();
  b = read_all(p, weir_read_csv(p, path_of("d.csv"), NULL));
  col_of(b, "gamma", &c);
  cr_assert_eq(c.type, WEIR_TYPE_INT64);
  col_of(b, "delta", &c);
  cr_assert(str_is(&c, 1, "world"));
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

static int file_starts_with(const char *path, const unsigned char *magic, size_t n) {
  unsigned char buf[8] = {0};
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  size_t got = fread(buf, 1, n, f);
  fclose(f);
  return got == n && memcmp(buf, magic, n) == 0;
}

Test(sem_io, zst_and_gz_suffixes_mean_compression_both_ways) {
  const char *names[] = {"o.jsonl.zst", "o.jsonl.gz", "o.csv.zst", "o.csv.gz"};
  static const unsigned char zst[4] = {0x28, 0xb5, 0x2f, 0xfd}, gz[2] = {0x1f, 0x8b};
  for (int k = 0; k < 4; k++) {
    int csv = k >= 2;
    weir_pipeline *p = new_pipeline();
    eu_src src = {.tasks = 2, .blocks_per_task = 2, .rows = 5};
    weir_op *s = weir_source(p, "src", 2, eu_read, &src, NULL);
    weir_op *w = csv ? weir_write_csv(p, s, path_of(names[k]), NULL)
                     : weir_write_jsonl(p, s, path_of(names[k]), NULL);
    cr_assert_not_null(w, "%s", weir_pipeline_errmsg(p));
    cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
    weir_pipeline_destroy(p);
    int is_zst = strstr(names[k], ".zst") != NULL;
    cr_assert(file_starts_with(path_of(names[k]), is_zst ? zst : gz, is_zst ? 4 : 2),
              "%s is compressed", names[k]);
    p = new_pipeline();
    weir_op *r = csv ? weir_read_csv(p, path_of(names[k]), NULL)
                     : weir_read_jsonl(p, path_of(names[k]), NULL);
    eu_seen seen;
    eu_seen_init(&seen, 20);
    cr_assert_eq(drain(p, r, NULL, &seen, NULL, NULL), WEIR_EOF, "%s", weir_pipeline_errmsg(p));
    cr_assert_eq(eu_seen_bad(&seen, 1), 0, "%s", names[k]);
    eu_seen_free(&seen);
    weir_pipeline_destroy(p);
  }
  /* Text inputs too. */
  write_str(path_of("plain.txt"), "x\ny\n");
  char cmd[1600];
  snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s'", path_of("plain.txt"), path_of("t.txt.gz"));
  if (system(cmd) == 0) {
    weir_pipeline *p = new_pipeline();
    weir_block *b = read_all(p, weir_read_text(p, path_of("t.txt.gz"), NULL));
    weir_column c;
    col_of(b, "text", &c);
    cr_assert_eq(weir_block_num_rows(b), 2);
    cr_assert(str_is(&c, 1, "y"));
    weir_block_unref(&b);
    weir_pipeline_destroy(p);
  }
}

Test(sem_io, block_files_keep_every_type) {
  weir_builder *bld = NULL;
  weir_builder_create(&bld);
  int64_t shape[2] = {2, 3};
  weir_builder_add_column(bld, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "b", WEIR_TYPE_BINARY);
  weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_UINT8, 2, shape);
  uint8_t tv[6] = {1, 2, 3, 4, 5, 6};
  for (int r = 0; r < 3; r++) {
    weir_builder_append_int64(bld, 0, r);
    weir_builder_append_string(bld, 1, "\x01\x02", 2);
    weir_builder_append_tensor(bld, 2, tv);
  }
  weir_block *blk = NULL;
  cr_assert_eq(weir_builder_finish(bld, &blk), WEIR_OK);
  weir_builder_destroy(bld);
  struct ArrowArrayStream st;
  cr_assert_eq(weir_blocks_to_arrow_stream(&blk, 1, &st), WEIR_OK);
  weir_block_unref(&blk);
  weir_pipeline *p = new_pipeline();
  weir_op *w = weir_write_blocks(p, weir_source_arrow_stream(p, "arrow", &st),
                                 path_of("x.weir"), NULL);
  cr_assert_not_null(w, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  p = new_pipeline();
  weir_block *b = read_all(p, weir_read_blocks(p, path_of("x.weir"), NULL));
  cr_assert_eq(weir_block_num_rows(b), 3);
  weir_column c;
  col_of(b, "t", &c);
  cr_assert_eq(c.type, WEIR_TYPE_TENSOR);
  cr_assert_eq(c.dtype, WEIR_DTYPE_UINT8);
  cr_assert_eq(c.ndim, 2);
  cr_assert_eq(c.shape[1], 3);
  cr_assert_eq(((const uint8_t *)c.data)[6 + 5], 6);
  col_of(b, "b", &c);
  cr_assert_eq(c.type, WEIR_TYPE_BINARY);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(sem_io, globs_and_folders) {
  write_str(path_of("g/a.txt"), "a\n");
  write_str(path_of("g/b.log"), "b\n");
  write_str(path_of("g/sub/c.txt"), "c\n");
  struct {
    const char *uri;
    size_t rows;
  } cases[] = {{"g/*.txt", 1}, {"g/**/*.txt", 2}, {"g", 3}};
  for (int k = 0; k < 3; k++) {
    weir_pipeline *p = new_pipeline();
    weir_block *b = read_all(p, weir_read_text(p, path_of(cases[k].uri), NULL));
    cr_assert_eq(weir_block_num_rows(b), cases[k].rows, "%s", cases[k].uri);
    weir_block_unref(&b);
    weir_pipeline_destroy(p);
  }
}

Test(sem_io, reader_errors_name_the_input) {
  weir_pipeline *p = new_pipeline();
  const char *missing = path_of("no-such-file.jsonl");
  weir_op *r = weir_read_jsonl(p, missing, NULL);
  int rc = r ? weir_pipeline_run(p, r) : weir_pipeline_errcode(p);
  cr_assert_lt(rc, 0);
  cr_assert(contains(weir_pipeline_errmsg(p), "no-such-file.jsonl"), "%s",
            weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);

  p = new_pipeline();
  cr_assert_null(weir_read_csv(p, NULL, NULL));
  cr_assert_gt(strlen(weir_pipeline_errmsg(p)), 0);
  weir_read_options bad = WEIR_READ_OPTIONS_INIT;
  bad.version = 777;
  cr_assert_null(weir_read_text(p, tmpdir, &bad));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  weir_pipeline_destroy(p);

  /* A malformed line names file:line. */
  write_str(path_of("bad.jsonl"), "{\"a\": 1}\n{\"a\": 2}\n{oops\n");
  p = new_pipeline();
  r = weir_read_jsonl(p, path_of("bad.jsonl"), NULL);
  cr_assert_not_null(r, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(weir_pipeline_run(p, r), WEIR_EFORMAT, "%s", weir_pipeline_errmsg(p));
  cr_assert(contains(weir_pipeline_errmsg(p), "bad.jsonl:3"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
}

Test(sem_io, writers_reject_null_arguments) {
  weir_pipeline *p = new_pipeline();
  eu_src src = {.tasks = 1, .blocks_per_task = 1, .rows = 1};
  weir_op *s = weir_source(p, "src", 1, eu_read, &src, NULL);
  cr_assert_null(weir_write_jsonl(p, NULL, path_of("a.jsonl"), NULL));
  cr_assert_null(weir_write_csv(p, s, NULL, NULL));
  cr_assert_gt(strlen(weir_pipeline_errmsg(p)), 0);
  weir_write_options bad = WEIR_WRITE_OPTIONS_INIT;
  bad.version = 99;
  cr_assert_null(weir_write_blocks(p, s, path_of("a.weir"), &bad));
  cr_assert_eq(weir_pipeline_errcode(p), WEIR_EINVAL);
  weir_pipeline_destroy(p);
}
