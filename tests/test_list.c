/* LIST columns: the builder, views, slices, concat and take, byte counts,
 * Arrow list/large_list both ways, JSONL arrays read and written, and
 * block files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weir.h>

#include "core/block_internal.h"
#include "test_tmpdir.h"

static void make_tmp(void) { tmpdir_make("list"); }

TestSuite(list, .init = make_tmp, .fini = tmpdir_remove, .timeout = 60);

/* Rows: [1,2,3], [], null, [4], [5,6] in column "ids" (int32), and an id. */
static weir_block *sample(void) {
  weir_builder *bld;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  cr_assert_eq(weir_builder_add_list_column(bld, "ids", WEIR_DTYPE_INT32), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "id", WEIR_TYPE_INT64), WEIR_OK);
  int32_t a[] = {1, 2, 3}, d[] = {4}, e[] = {5, 6};
  cr_assert_eq(weir_builder_append_list(bld, 0, a, 3), WEIR_OK);
  cr_assert_eq(weir_builder_append_list(bld, 0, NULL, 0), WEIR_OK);
  cr_assert_eq(weir_builder_append_null(bld, 0), WEIR_OK);
  cr_assert_eq(weir_builder_append_list(bld, 0, d, 1), WEIR_OK);
  cr_assert_eq(weir_builder_append_list(bld, 0, e, 2), WEIR_OK);
  for (int i = 0; i < 5; i++) weir_builder_append_int64(bld, 1, i);
  weir_block *b;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK, "%s", weir_builder_errmsg(bld));
  weir_builder_destroy(bld);
  return b;
}

/* Checks that column `col` of `b` holds the sample's lists from row `from`. */
static void check_sample(const weir_block *b, size_t col, size_t from) {
  static const int32_t vals[5][3] = {{1, 2, 3}, {0}, {0}, {4}, {5, 6}};
  static const size_t lens[5] = {3, 0, 0, 1, 2};
  weir_column c;
  cr_assert_eq(weir_block_column(b, col, &c), WEIR_OK);
  cr_assert_eq(c.type, WEIR_TYPE_LIST);
  cr_assert_eq(c.dtype, WEIR_DTYPE_INT32);
  for (size_t r = 0; r < c.length; r++) {
    size_t s = from + r;
    size_t n = (size_t)(c.offsets[r + 1] - c.offsets[r]);
    cr_assert_eq(n, lens[s], "row %zu: %zu elements", s, n);
    cr_assert_eq(weir_block_is_valid(b, col, r), s != 2, "row %zu validity", s);
    const int32_t *v = (const int32_t *)c.data + c.offsets[r];
    for (size_t k = 0; k < n; k++) cr_assert_eq(v[k], vals[s][k]);
  }
}

Test(list, builder_view_and_bytes) {
  weir_block *b = sample();
  check_sample(b, 0, 0);
  weir_column c;
  weir_block_column(b, 0, &c);
  cr_assert_eq(c.null_count, 1);
  cr_assert_str_eq(weir_type_name(WEIR_TYPE_LIST), "list");
  /* validity 1 byte + 6 offsets + 6 int32 elements + the int64 column. */
  cr_assert_eq(weir_block_nbytes(b), 1 + 6 * 8 + 6 * 4 + 5 * 8);
  weir_block *s = NULL;
  cr_assert_eq(weir_block_slice(b, 3, 2, &s), WEIR_OK);
  cr_assert_not_null(s);
  check_sample(s, 0, 3);
  /* A slice counts only its own elements: 3 offsets + 3 elements. */
  cr_assert_eq(weir_block_nbytes(s), 3 * 8 + 3 * 4 + 2 * 8);
  weir_block_unref(&s);
  weir_block_unref(&b);
}

Test(list, builder_refuses_wrong_calls) {
  weir_builder *bld;
  weir_builder_create(&bld);
  cr_assert_eq(weir_builder_add_column(bld, "x", WEIR_TYPE_LIST), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_list_column(bld, "x", 99), WEIR_EINVAL);
  cr_assert_eq(weir_builder_add_list_column(bld, "x", WEIR_DTYPE_FLOAT64), WEIR_OK);
  cr_assert_eq(weir_builder_append_int64(bld, 0, 1), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_list(bld, 0, NULL, 2), WEIR_EINVAL);
  cr_assert_eq(weir_builder_append_values(bld, 0, "x", 1), WEIR_EINVAL);
  cr_assert_eq(weir_builder_num_rows(bld, 0), 0);
  weir_builder_destroy(bld);
}

Test(list, concat_and_take_copy_elements) {
  weir_block *b = sample();
  weir_block *s1 = NULL, *s2 = NULL;
  cr_assert_eq(weir_block_slice(b, 0, 2, &s1), WEIR_OK);
  cr_assert_eq(weir_block_slice(b, 2, 3, &s2), WEIR_OK);
  weir_block *parts[2] = {s1, s2}, *cat;
  cr_assert_eq(weir_block_concat(parts, 2, &cat), WEIR_OK);
  check_sample(cat, 0, 0);
  uint32_t rows[] = {4, 0, 2};
  weir_block *t;
  cr_assert_eq(weir_block_take(b, rows, 3, &t), WEIR_OK);
  weir_column c;
  weir_block_column(t, 0, &c);
  const int32_t *v = c.data;
  cr_assert_eq(c.offsets[0], 0);
  cr_assert_eq(c.offsets[1], 2);
  cr_assert_eq(c.offsets[2], 5);
  cr_assert_eq(c.offsets[3], 5);
  cr_assert_eq(v[0], 5);
  cr_assert_eq(v[1], 6);
  cr_assert_eq(v[4], 3);
  cr_assert(!weir_block_is_valid(t, 0, 2));
  weir_block_unref(&t);
  weir_block_unref(&cat);
  weir_block_unref(&s1);
  weir_block_unref(&s2);
  weir_block_unref(&b);
}

Test(list, arrow_round_trip_as_large_list) {
  weir_block *b = sample();
  weir_block *s = NULL;
  cr_assert_eq(weir_block_slice(b, 1, 4, &s), WEIR_OK);
  struct ArrowArray a;
  struct ArrowSchema sc;
  cr_assert_eq(weir_block_to_arrow(s, &a, &sc), WEIR_OK);
  cr_assert_str_eq(sc.children[0]->format, "+L");
  cr_assert_str_eq(sc.children[0]->children[0]->format, "i");
  weir_block *back;
  cr_assert_eq(weir_block_from_arrow(&a, &sc, &back), WEIR_OK);
  check_sample(back, 0, 1);
  weir_block_unref(&back);
  weir_block_unref(&s);
  weir_block_unref(&b);
}

/* A hand-made Arrow "+l" (int32 offsets) of float64: [[0.5], [], [1.5, 2.5]]. */
static void noop_array(struct ArrowArray *a) { a->release = NULL; }
static void noop_schema(struct ArrowSchema *s) { s->release = NULL; }

Test(list, arrow_import_of_int32_offsets) {
  static double vals[] = {0.5, 1.5, 2.5};
  static int32_t offs[] = {0, 1, 1, 3};
  const void *cbufs[2] = {NULL, vals}, *lbufs[2] = {NULL, offs}, *sbufs[1] = {NULL};
  struct ArrowArray child = {.length = 3, .n_buffers = 2, .buffers = cbufs,
                             .release = noop_array};
  struct ArrowArray *ckids[1] = {&child};
  struct ArrowArray list = {.length = 3, .n_buffers = 2, .buffers = lbufs,
                            .n_children = 1, .children = ckids, .release = noop_array};
  struct ArrowArray *lkids[1] = {&list};
  struct ArrowArray top = {.length = 3, .n_buffers = 1, .buffers = sbufs,
                           .n_children = 1, .children = lkids, .release = noop_array};
  struct ArrowSchema cs = {.format = "g", .name = "item", .release = noop_schema};
  struct ArrowSchema *cks[1] = {&cs};
  struct ArrowSchema ls = {.format = "+l", .name = "emb", .n_children = 1,
                           .children = cks, .release = noop_schema};
  struct ArrowSchema *lks[1] = {&ls};
  struct ArrowSchema ts = {.format = "+s", .name = "", .n_children = 1, .children = lks,
                           .release = noop_schema};
  weir_block *b;
  cr_assert_eq(weir_block_from_arrow(&top, &ts, &b), WEIR_OK, "%s", weir_last_errmsg());
  weir_column c;
  weir_block_column(b, 0, &c);
  cr_assert_eq(c.type, WEIR_TYPE_LIST);
  cr_assert_eq(c.dtype, WEIR_DTYPE_FLOAT64);
  cr_assert_eq(c.offsets[3], 3);
  cr_assert_eq(c.offsets[1], 1);
  cr_assert_eq(((const double *)c.data)[2], 2.5);
  weir_block_unref(&b);

  /* Offsets that decrease are refused. */
  static int32_t bad[] = {0, 2, 1, 3};
  lbufs[1] = bad;
  top.release = noop_array;
  ts.release = noop_schema;
  cr_assert_eq(weir_block_from_arrow(&top, &ts, &b), WEIR_EFORMAT);
  /* Elements of a type weir's lists do not hold (strings). */
  lbufs[1] = offs;
  cs.format = "u";
  top.release = noop_array;
  ts.release = noop_schema;
  cr_assert_eq(weir_block_from_arrow(&top, &ts, &b), WEIR_ENOTSUP);
}

static weir_pipeline *new_pipeline(void) {
  weir_pipeline *p;
  weir_pipeline_options o = {.version = WEIR_PIPELINE_OPTIONS_VERSION, .num_cpus = 2};
  cr_assert_eq(weir_pipeline_create(&p, &o), WEIR_OK);
  return p;
}

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

/* A source of one task that emits the block `user` points to. */
static int emit_one(void *user, size_t task, weir_emit *out) {
  (void)task;
  return weir_emit_block(out, weir_block_ref(user));
}

static weir_op *source_of(weir_pipeline *p, weir_block *b) {
  weir_op_options so = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0};
  weir_op *src = weir_source(p, "blocks", 1, emit_one, b, &so);
  cr_assert_not_null(src, "%s", weir_pipeline_errmsg(p));
  return src;
}

static int read_all(weir_pipeline *p, weir_op *op, weir_block **all) {
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_op_options oo = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0,
                        .preserve_order = 1};
  op = weir_map_batches(p, op, "in_order", pass, NULL, &oo);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK);
  weir_block *bs[64], *b;
  size_t n = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    cr_assert_lt(n, 64);
    bs[n++] = b;
  }
  weir_iter_destroy(it);
  *all = NULL;
  if (rc == WEIR_EOF && n) cr_assert_eq(weir_block_concat(bs, n, all), WEIR_OK);
  for (size_t i = 0; i < n; i++) weir_block_unref(&bs[i]);
  return rc == WEIR_EOF ? WEIR_OK : rc;
}

Test(list, jsonl_arrays_inferred_and_written_back) {
  write_str(path_of("in.jsonl"),
            "{\"tok\": [1, 2, 3], \"emb\": [0.5, 1], \"raw\": [1, \"a\"]}\n"
            "{\"tok\": [], \"emb\": null, \"raw\": 3}\n"
            "{\"tok\": [40000000000], \"emb\": [2], \"raw\": [2]}\n");
  weir_pipeline *p = new_pipeline();
  weir_block *b;
  cr_assert_eq(read_all(p, weir_read_jsonl(p, path_of("in.jsonl"), NULL), &b), WEIR_OK,
               "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  weir_column c;
  weir_block_column(b, (size_t)weir_block_column_index(b, "tok"), &c);
  cr_assert_eq(c.type, WEIR_TYPE_LIST);
  cr_assert_eq(c.dtype, WEIR_DTYPE_INT64);
  cr_assert_eq(c.offsets[1] - c.offsets[0], 3);
  cr_assert_eq(c.offsets[2] - c.offsets[1], 0);
  cr_assert_eq(((const int64_t *)c.data)[c.offsets[2]], 40000000000LL);
  weir_block_column(b, (size_t)weir_block_column_index(b, "emb"), &c);
  cr_assert_eq(c.type, WEIR_TYPE_LIST);
  cr_assert_eq(c.dtype, WEIR_DTYPE_FLOAT64);
  cr_assert_eq(c.null_count, 1);
  cr_assert_eq(((const double *)c.data)[1], 1.0);
  /* Mixed arrays and scalars stay JSON text. */
  weir_block_column(b, (size_t)weir_block_column_index(b, "raw"), &c);
  cr_assert_eq(c.type, WEIR_TYPE_STRING);

  /* Written back as arrays, and read again with an explicit element type. */
  p = new_pipeline();
  weir_op *src = source_of(p, b);
  weir_op *w = weir_write_jsonl(p, src, path_of("out.jsonl"), NULL);
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  weir_block_unref(&b);
  FILE *f = fopen(path_of("out.jsonl"), "r");
  char line[256];
  cr_assert_not_null(fgets(line, sizeof line, f));
  cr_assert(strstr(line, "\"tok\":[1,2,3]"), "%s", line);
  cr_assert(strstr(line, "\"emb\":[0.5,1"), "%s", line);
  cr_assert_not_null(fgets(line, sizeof line, f));
  cr_assert(strstr(line, "\"tok\":[]"), "%s", line);
  fclose(f);

  p = new_pipeline();
  weir_read_options ro = {.version = WEIR_READ_OPTIONS_VERSION,
                          .columns = "tok:list<int32>,emb:list<float32>"};
  int rc = read_all(p, weir_read_jsonl(p, path_of("out.jsonl"), &ro), &b);
  /* 40000000000 does not fit int32: the row's error names the column. */
  cr_assert_eq(rc, WEIR_EFORMAT);
  cr_assert(strstr(weir_pipeline_errmsg(p), "list<int32>"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  p = new_pipeline();
  ro.columns = "tok:list<int64>,emb:list<float32>";
  cr_assert_eq(read_all(p, weir_read_jsonl(p, path_of("out.jsonl"), &ro), &b), WEIR_OK,
               "%s", weir_pipeline_errmsg(p));
  weir_block_column(b, 1, &c);
  cr_assert_eq(c.dtype, WEIR_DTYPE_FLOAT32);
  cr_assert_eq(((const float *)c.data)[0], 0.5f);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}

Test(list, block_files_keep_lists) {
  weir_block *b = sample();
  weir_block *s = NULL; /* offsets not starting at 0 */
  cr_assert_eq(weir_block_slice(b, 1, 4, &s), WEIR_OK);
  weir_pipeline *p = new_pipeline();
  weir_op *src = source_of(p, s);
  weir_op *w = weir_write_blocks(p, src, path_of("l.weir"), NULL);
  cr_assert_eq(weir_pipeline_run(p, w), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  p = new_pipeline();
  weir_block *back;
  cr_assert_eq(read_all(p, weir_read_blocks(p, path_of("l.weir"), NULL), &back), WEIR_OK,
               "%s", weir_pipeline_errmsg(p));
  check_sample(back, 0, 1);
  weir_block_unref(&back);
  weir_pipeline_destroy(p);
  weir_block_unref(&s);
  weir_block_unref(&b);
}
