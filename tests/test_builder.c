/* The block builder: every type round-trips, wrong uses fail with a
 * message and change nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <weir.h>

static weir_builder *bld;

static void setup(void) { cr_assert_eq(weir_builder_create(&bld), WEIR_OK); }
static void teardown(void) { weir_builder_destroy(bld); }

TestSuite(builder, .init = setup, .fini = teardown);

Test(builder, every_scalar_type_round_trips_with_nulls) {
  cr_assert_eq(weir_builder_add_column(bld, "b", WEIR_TYPE_BOOL), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "i32", WEIR_TYPE_INT32), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "i64", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "f32", WEIR_TYPE_FLOAT32), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "f64", WEIR_TYPE_FLOAT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "s", WEIR_TYPE_STRING), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "bin", WEIR_TYPE_BINARY), WEIR_OK);
  const size_t n = 100;
  for (size_t i = 0; i < n; i++) {
    int null = i % 7 == 3;
    char s[32];
    int len = snprintf(s, sizeof s, "row-%zu-é", i);
    for (size_t c = 0; c < 7; c++) {
      if (null) {
        cr_assert_eq(weir_builder_append_null(bld, c), WEIR_OK);
        continue;
      }
      int rc = c == 0   ? weir_builder_append_bool(bld, c, i % 3 == 0)
               : c <= 2 ? weir_builder_append_int64(bld, c, (int64_t)i * 1000 - 7)
               : c <= 4 ? weir_builder_append_float64(bld, c, (double)i / 4.0)
                        : weir_builder_append_string(bld, c, s, (size_t)len);
      cr_assert_eq(rc, WEIR_OK, "column %zu row %zu: %s", c, i, weir_builder_errmsg(bld));
    }
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  cr_assert_eq(weir_block_num_rows(b), n);
  cr_assert_eq(weir_block_num_columns(b), 7);
  cr_assert_eq(weir_block_column_index(b, "f64"), 4);
  cr_assert_eq(weir_block_column_index(b, "nope"), WEIR_ENOTFOUND);
  weir_column col[7];
  for (size_t c = 0; c < 7; c++) cr_assert_eq(weir_block_column(b, c, &col[c]), WEIR_OK);
  cr_assert_str_eq(col[5].name, "s");
  for (size_t i = 0; i < n; i++) {
    int null = i % 7 == 3;
    for (size_t c = 0; c < 7; c++) {
      cr_assert_not_null(col[c].validity);
      cr_assert_eq(!((col[c].validity[i / 8] >> (i % 8)) & 1), null, "validity c%zu r%zu", c, i);
      cr_assert_eq(weir_block_is_valid(b, c, i), !null);
    }
    if (null) continue;
    cr_assert_eq((((const uint8_t *)col[0].data)[i / 8] >> (i % 8)) & 1, i % 3 == 0);
    cr_assert_eq(((const int32_t *)col[1].data)[i], (int32_t)i * 1000 - 7);
    cr_assert_eq(((const int64_t *)col[2].data)[i], (int64_t)i * 1000 - 7);
    cr_assert_eq(((const float *)col[3].data)[i], (float)i / 4.0f);
    cr_assert_eq(((const double *)col[4].data)[i], (double)i / 4.0);
    char s[32];
    int len = snprintf(s, sizeof s, "row-%zu-é", i);
    for (size_t c = 5; c < 7; c++) {
      const char *p = (const char *)col[c].data + col[c].offsets[i];
      cr_assert_eq(col[c].offsets[i + 1] - col[c].offsets[i], len);
      cr_assert(memcmp(p, s, (size_t)len) == 0);
    }
  }
  cr_assert_eq(col[0].null_count, 14); /* rows 3, 10, ..., 94 */
  cr_assert_gt(weir_block_nbytes(b), n * (4 + 8 + 4 + 8));
  weir_block_unref(&b);
  cr_assert_null(b);
}

Test(builder, tensors_by_copy_slot_and_columnar_fill) {
  int64_t shape[3] = {2, 3, 4};
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_FLOAT32, 3, shape), WEIR_OK);
  float row[24];
  for (int i = 0; i < 24; i++) row[i] = (float)i;
  cr_assert_eq(weir_builder_append_tensor(bld, 0, row), WEIR_OK);
  void *slot = NULL;
  cr_assert_eq(weir_builder_append_tensor_slot(bld, 0, &slot), WEIR_OK);
  for (int i = 0; i < 24; i++) ((float *)slot)[i] = (float)(100 + i);
  float two[48];
  for (int i = 0; i < 48; i++) two[i] = (float)(200 + i);
  cr_assert_eq(weir_builder_append_values(bld, 0, two, 2), WEIR_OK);
  cr_assert_eq(weir_builder_append_null(bld, 0), WEIR_OK);
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_column c;
  cr_assert_eq(weir_block_column(b, 0, &c), WEIR_OK);
  cr_assert_eq(c.type, WEIR_TYPE_TENSOR);
  cr_assert_eq(c.dtype, WEIR_DTYPE_FLOAT32);
  cr_assert_eq(c.ndim, 3);
  cr_assert_eq(c.shape[2], 4);
  cr_assert_eq(c.length, 5);
  cr_assert_eq(c.device, WEIR_DEVICE_CPU);
  const float *d = c.data;
  cr_assert_eq(d[5], 5.0f);
  cr_assert_eq(d[24 + 5], 105.0f);
  cr_assert_eq(d[48 + 30], 230.0f);
  cr_assert_eq(d[4 * 24 + 1], 0.0f);
  cr_assert_eq(c.null_count, 1);
  cr_assert_eq(weir_block_is_valid(b, 0, 4), 0);
  cr_assert_eq(weir_block_is_valid(b, 0, 3), 1);
  cr_assert_eq(weir_block_nbytes(b), 5 * 24 * sizeof(float) + 1);
  weir_block_unref(&b);
}

Test(builder, wrong_type_index_and_size_are_einval_with_message) {
  cr_assert_eq(weir_builder_add_column(bld, "i", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "s", WEIR_TYPE_STRING), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "i32", WEIR_TYPE_INT32), WEIR_OK);
  cr_assert_eq(weir_builder_append_float64(bld, 0, 1.5), WEIR_EINVAL);
  cr_assert(strstr(weir_builder_errmsg(bld), "'i'") != NULL, "%s", weir_builder_errmsg(bld));
  cr_assert_eq(weir_builder_append_string(bld, 0, "x", 1), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_int64(bld, 1, 3), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_int64(bld, 9, 3), WEIR_EINVAL);
  cr_assert(strstr(weir_builder_errmsg(bld), "out of range") != NULL);
  cr_assert_eq(weir_builder_append_int64(bld, 2, INT64_C(1) << 40), WEIR_EINVAL);
  cr_assert(strstr(weir_builder_errmsg(bld), "INT32") != NULL);
  cr_assert_eq(weir_builder_append_tensor(bld, 0, "x"), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_string(bld, 1, "\xff\xfe", 2), WEIR_EINVAL);
  cr_assert(strstr(weir_builder_errmsg(bld), "UTF-8") != NULL);
  cr_assert_eq(weir_builder_add_column(bld, "bad", 99), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_column(bld, "t", WEIR_TYPE_TENSOR), WEIR_EINVAL);
  int64_t shape[1] = {-1};
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_UINT8, 1, shape), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t", 77, 1, shape), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_tensor_column(bld, "t", WEIR_DTYPE_UINT8, 9, shape), WEIR_EINVAL);
  /* Failed calls appended nothing. */
  cr_assert_eq(weir_builder_num_columns(bld), 3);
  for (size_t c = 0; c < 3; c++) cr_assert_eq(weir_builder_num_rows(bld, c), 0);
  /* Unequal columns cannot finish, and the builder keeps its rows. */
  cr_assert_eq(weir_builder_append_int64(bld, 0, 1), WEIR_OK);
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_EINVAL);
  cr_assert_null(b);
  cr_assert(strstr(weir_builder_errmsg(bld), "rows") != NULL);
  cr_assert_eq(weir_builder_num_rows(bld, 0), 1);
}

Test(builder, finish_resets_for_the_next_block) {
  cr_assert_eq(weir_builder_add_column(bld, "x", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_append_int64(bld, 0, 42), WEIR_OK);
  weir_block *a = NULL, *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &a), WEIR_OK);
  cr_assert_eq(weir_builder_num_columns(bld), 0);
  cr_assert_eq(weir_builder_add_column(bld, "y", WEIR_TYPE_STRING), WEIR_OK);
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  cr_assert_eq(weir_block_num_rows(b), 0);
  cr_assert_eq(weir_block_column_index(b, "y"), 0);
  weir_column c;
  cr_assert_eq(weir_block_column(b, 0, &c), WEIR_OK);
  cr_assert_not_null(c.offsets);
  cr_assert_eq(c.offsets[0], 0);
  weir_column ca;
  cr_assert_eq(weir_block_column(a, 0, &ca), WEIR_OK);
  cr_assert_eq(((const int64_t *)ca.data)[0], 42);
  weir_block_unref(&a);
  weir_block_unref(&b);
  weir_block_unref(NULL);
}

Test(errors, strerror_covers_every_code_and_unknown) {
  int codes[] = {WEIR_OK, WEIR_EOF, WEIR_EINVAL, WEIR_ENOMEM, WEIR_EIO, WEIR_EFORMAT,
                 WEIR_ECANCELED, WEIR_EOPERATOR, WEIR_ENOTSUP, WEIR_ENODEV, WEIR_ENOTFOUND};
  for (int i = 0; i < (int)(sizeof codes / sizeof codes[0]); i++) {
    cr_assert_eq(codes[i], -i);
    cr_assert_str_neq(weir_strerror(codes[i]), "unknown error");
  }
  cr_assert_str_eq(weir_strerror(-12345), "unknown error");
  cr_assert_str_eq(weir_err_name(WEIR_EFORMAT), "WEIR_EFORMAT");
  cr_assert_str_eq(weir_version_string(), "0.1.0");
  cr_assert_eq(WEIR_VERSION_MAJOR, 0);
}
