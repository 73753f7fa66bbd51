/* Blocks: zero-copy slices, selections and renames; concat and take;
 * reference counting from many threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <weir.h>

/* A block of n rows: id (int64), flag (bool), name (string, null every
 * fifth row), vec (uint8 tensor [3]). */
static weir_block *make_block(size_t n, int64_t first_id) {
  weir_builder *bld = NULL;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  int64_t shape[1] = {3};
  weir_builder_add_column(bld, "id", WEIR_TYPE_INT64);
  weir_builder_add_column(bld, "flag", WEIR_TYPE_BOOL);
  weir_builder_add_column(bld, "name", WEIR_TYPE_STRING);
  weir_builder_add_tensor_column(bld, "vec", WEIR_DTYPE_UINT8, 1, shape);
  for (size_t i = 0; i < n; i++) {
    int64_t id = first_id + (int64_t)i;
    char s[32];
    int len = snprintf(s, sizeof s, "n%lld", (long long)id);
    uint8_t v[3] = {(uint8_t)id, (uint8_t)(id >> 8), 7};
    cr_assert_eq(weir_builder_append_int64(bld, 0, id), WEIR_OK);
    cr_assert_eq(weir_builder_append_bool(bld, 1, id % 2), WEIR_OK);
    if (id % 5 == 0)
      cr_assert_eq(weir_builder_append_null(bld, 2), WEIR_OK);
    else
      cr_assert_eq(weir_builder_append_string(bld, 2, s, (size_t)len), WEIR_OK);
    cr_assert_eq(weir_builder_append_tensor(bld, 3, v), WEIR_OK);
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  return b;
}

/* Checks that every row of `b` is the row with id first_id + i. */
static void check_rows(const weir_block *b, int64_t first_id) {
  weir_column id, flag, name, vec;
  cr_assert_eq(weir_block_column(b, (size_t)weir_block_column_index(b, "id"), &id), WEIR_OK);
  cr_assert_eq(weir_block_column(b, (size_t)weir_block_column_index(b, "flag"), &flag), WEIR_OK);
  cr_assert_eq(weir_block_column(b, (size_t)weir_block_column_index(b, "name"), &name), WEIR_OK);
  cr_assert_eq(weir_block_column(b, (size_t)weir_block_column_index(b, "vec"), &vec), WEIR_OK);
  size_t nulls = 0;
  for (size_t i = 0; i < weir_block_num_rows(b); i++) {
    int64_t want = first_id + (int64_t)i;
    cr_assert_eq(((const int64_t *)id.data)[i], want);
    cr_assert_eq((((const uint8_t *)flag.data)[i / 8] >> (i % 8)) & 1, want % 2, "flag row %zu", i);
    int valid = !name.validity || ((name.validity[i / 8] >> (i % 8)) & 1);
    cr_assert_eq(valid, want % 5 != 0, "validity of row %zu (id %lld)", i, (long long)want);
    nulls += !valid;
    if (valid) {
      char s[32];
      int len = snprintf(s, sizeof s, "n%lld", (long long)want);
      cr_assert_eq(name.offsets[i + 1] - name.offsets[i], len);
      cr_assert(memcmp((const char *)name.data + name.offsets[i], s, (size_t)len) == 0);
    }
    const uint8_t *v = (const uint8_t *)vec.data + 3 * i;
    cr_assert_eq(v[0], (uint8_t)want);
    cr_assert_eq(v[2], 7);
  }
  cr_assert_eq(name.null_count, nulls);
}

Test(block, slices_share_buffers_and_keep_values) {
  weir_block *b = make_block(1000, 0);
  weir_column full, part;
  weir_block_column(b, 0, &full);
  size_t offsets[] = {0, 1, 8, 13, 500, 963};
  for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
    size_t off = offsets[k], len = 1000 - off > 37 ? 37 : 1000 - off;
    weir_block *s = NULL;
    cr_assert_eq(weir_block_slice(b, off, len, &s), WEIR_OK);
    cr_assert_not_null(s);
    cr_assert_eq(weir_block_num_rows(s), len);
    weir_block_column(s, 0, &part);
    cr_assert_eq(part.data, (const int64_t *)full.data + off, "int64 values are not copied");
    check_rows(s, (int64_t)off);
    /* A slice of a slice. */
    weir_block *ss = NULL;
    cr_assert_eq(weir_block_slice(s, 3, len - 3, &ss), WEIR_OK);
    check_rows(ss, (int64_t)off + 3);
    cr_assert_lt(weir_block_nbytes(ss), weir_block_nbytes(b));
    weir_block_unref(&ss);
    weir_block_unref(&s);
  }
  weir_block *bad = b;
  cr_assert_eq(weir_block_slice(b, 990, 11, &bad), WEIR_EINVAL);
  cr_assert_null(bad);
  cr_assert_eq(weir_block_slice(b, 1001, 0, &bad), WEIR_EINVAL);
  cr_assert_null(bad);
  cr_assert(strstr(weir_last_errmsg(), "outside a block of 1000 rows") != NULL, "%s",
            weir_last_errmsg());
  weir_block *empty = NULL;
  cr_assert_eq(weir_block_slice(b, 1000, 0, &empty), WEIR_OK);
  cr_assert_eq(weir_block_num_rows(empty), 0);
  weir_block_unref(&empty);
  /* The slice outlives its parent. */
  weir_block *tail = NULL;
  cr_assert_eq(weir_block_slice(b, 900, 100, &tail), WEIR_OK);
  weir_block_unref(&b);
  check_rows(tail, 900);
  weir_block_unref(&tail);
}

Test(block, select_and_rename_share_buffers) {
  weir_block *b = make_block(50, 10);
  size_t idx[2] = {3, 0};
  weir_block *sel = NULL;
  cr_assert_eq(weir_block_select(b, idx, 2, &sel), WEIR_OK);
  cr_assert_eq(weir_block_num_columns(sel), 2);
  weir_column a, c;
  weir_block_column(sel, 1, &a);
  weir_block_column(b, 0, &c);
  cr_assert_str_eq(a.name, "id");
  cr_assert_eq(a.data, c.data);
  size_t bad[1] = {4};
  weir_block *none = NULL;
  cr_assert_eq(weir_block_select(b, bad, 1, &none), WEIR_EINVAL);
  cr_assert_null(none);
  weir_block *ren = NULL;
  cr_assert_eq(weir_block_rename(b, 2, "label", &ren), WEIR_OK);
  cr_assert_eq(weir_block_column_index(ren, "label"), 2);
  cr_assert_eq(weir_block_column_index(ren, "name"), WEIR_ENOTFOUND);
  cr_assert_eq(weir_block_column_index(b, "name"), 2, "the original keeps its name");
  cr_assert_eq(weir_block_rename(b, 9, "x", &none), WEIR_EINVAL);
  weir_block_unref(&b);
  weir_column l;
  weir_block_column(ren, 2, &l);
  cr_assert_eq(l.offsets[2] - l.offsets[1], 3); /* "n11" */
  weir_block_unref(&sel);
  weir_block_unref(&ren);
}

Test(block, concat_joins_rows_and_checks_schema) {
  weir_block *a = make_block(13, 0), *b = make_block(100, 13);
  weir_block *s = NULL; /* ids 18..67 */
  cr_assert_eq(weir_block_slice(b, 5, 50, &s), WEIR_OK);
  weir_block *c = make_block(3, 1000);
  weir_block *parts[2] = {a, NULL};
  cr_assert_eq(weir_block_slice(b, 0, 100, &parts[1]), WEIR_OK);
  weir_block *joined = NULL;
  cr_assert_eq(weir_block_concat(parts, 2, &joined), WEIR_OK);
  cr_assert_eq(weir_block_num_rows(joined), 113);
  check_rows(joined, 0);
  weir_block *one = NULL;
  cr_assert_eq(weir_block_concat(&s, 1, &one), WEIR_OK);
  cr_assert_eq(one, s, "one block is shared, not copied");
  weir_block_unref(&one);
  weir_block *bad_rows[2] = {a, NULL};
  weir_block *x = NULL;
  cr_assert_eq(weir_block_concat(bad_rows, 2, &x), WEIR_EINVAL);
  size_t idx[1] = {0};
  weir_block *narrow = NULL;
  weir_block_select(c, idx, 1, &narrow);
  weir_block *mismatch[2] = {a, narrow};
  cr_assert_eq(weir_block_concat(mismatch, 2, &x), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "columns") != NULL, "%s", weir_last_errmsg());
  weir_block *renamed = NULL;
  weir_block_rename(c, 1, "other", &renamed);
  weir_block *mismatch2[2] = {a, renamed};
  cr_assert_eq(weir_block_concat(mismatch2, 2, &x), WEIR_EINVAL);
  cr_assert_null(x);
  weir_block *seq[3] = {a, s, c};
  (void)seq;
  weir_block_unref(&parts[1]);
  weir_block_unref(&joined);
  weir_block_unref(&narrow);
  weir_block_unref(&renamed);
  weir_block_unref(&a);
  weir_block_unref(&b);
  weir_block_unref(&s);
  weir_block_unref(&c);
}

Test(block, take_and_add_columns) {
  weir_block *b = make_block(40, 0);
  uint32_t rows[4] = {39, 0, 5, 5};
  weir_block *t = NULL;
  cr_assert_eq(weir_block_take(b, rows, 4, &t), WEIR_OK);
  weir_column id, name;
  weir_block_column(t, 0, &id);
  weir_block_column(t, 2, &name);
  cr_assert_eq(((const int64_t *)id.data)[0], 39);
  cr_assert_eq(((const int64_t *)id.data)[3], 5);
  cr_assert_eq(name.null_count, 3, "rows 0, 5 and 5 are null");
  uint32_t bad[1] = {40};
  weir_block *x = NULL;
  cr_assert_eq(weir_block_take(b, bad, 1, &x), WEIR_EINVAL);
  size_t idx[1] = {0};
  weir_block *ids = NULL, *both = NULL;
  weir_block_select(b, idx, 1, &ids);
  weir_block *renamed = NULL;
  weir_block_rename(ids, 0, "id2", &renamed);
  cr_assert_eq(weir_block_add_columns(b, renamed, &both), WEIR_OK);
  cr_assert_eq(weir_block_num_columns(both), 5);
  cr_assert_eq(weir_block_column_index(both, "id2"), 4);
  cr_assert_eq(weir_block_add_columns(b, t, &x), WEIR_EINVAL);
  weir_block_unref(&t);
  weir_block_unref(&ids);
  weir_block_unref(&renamed);
  weir_block_unref(&both);
  weir_block_unref(&b);
}

/* Many threads take and drop references to the same blocks and slice
 * them; run under ThreadSanitizer this proves the counts are atomic and
 * the last owner frees safely. */
static weir_block *shared_blocks[4];

static void *hammer(void *arg) {
  size_t seed = (size_t)arg;
  for (int i = 0; i < 2000; i++) {
    weir_block *b = weir_block_ref(shared_blocks[(seed + (size_t)i) % 4]);
    weir_block *s = NULL;
    cr_assert_eq(weir_block_slice(b, (size_t)i % 50, 10, &s), WEIR_OK);
    weir_column c;
    weir_block_column(s, 0, &c);
    if (((const int64_t *)c.data)[0] != (int64_t)(i % 50)) return (void *)1;
    weir_block_unref(&b);
    weir_block_unref(&s);
  }
  return NULL;
}

Test(block, reference_counting_from_many_threads) {
  for (int i = 0; i < 4; i++) shared_blocks[i] = make_block(100, 0);
  pthread_t th[8];
  for (size_t i = 0; i < 8; i++) pthread_create(&th[i], NULL, hammer, (void *)i);
  for (int i = 0; i < 8; i++) {
    void *rv;
    pthread_join(th[i], &rv);
    cr_assert_null(rv, "thread %d saw a wrong value", i);
  }
  for (int i = 0; i < 4; i++) weir_block_unref(&shared_blocks[i]);
}
