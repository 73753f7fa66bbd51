/* Arrow C Data Interface round trips: every column type with nulls,
 * slices on both sides, tensors with the fixed_shape_tensor extension,
 * 32-bit offsets, struct-level nulls, empty and zero-column blocks. */
#include "test_arrow_util.h"

#include "core/arrow_internal.h"

static weir_block *round_trip(const weir_block *b) {
  struct ArrowArray a;
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_OK, "%s", weir_last_errmsg());
  weir_block *back = NULL;
  cr_assert_eq(weir_block_from_arrow(&a, &s, &back), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_null(a.release, "import must move the array in");
  cr_assert_null(s.release, "import must release the schema");
  return back;
}

/* The extension metadata value of a schema node, as a C string. */
static char *ext_meta(const struct ArrowSchema *s, const char *key) {
  const char *v;
  int32_t len;
  if (weir__arrow_metadata_find(s->metadata, key, &v, &len) != 1) return NULL;
  return strndup(v, (size_t)len);
}

Test(arrow, schema_formats_and_tensor_extension) {
  weir_block *b = make_all_types(20);
  struct ArrowArray a;
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_OK);
  cr_assert_str_eq(s.format, "+s");
  cr_assert_eq(s.n_children, NCOLS_ALL);
  cr_assert_eq(a.n_children, NCOLS_ALL);
  cr_assert_eq(a.length, 20);
  static const char *const scalar[7] = {"b", "i", "l", "f", "g", "U", "Z"};
  for (int c = 0; c < 7; c++) {
    cr_assert_str_eq(s.children[c]->format, scalar[c]);
    cr_assert_eq(a.children[c]->n_buffers, c >= 5 ? 3 : 2);
    cr_assert_eq(a.children[c]->length, 20);
    cr_assert_gt(a.children[c]->null_count, 0);
    cr_assert_not_null(a.children[c]->buffers[0], "validity of %s", s.children[c]->name);
  }
  /* Tensors: "+w:N" of the element format, shape in the extension. */
  static const char *const elem[9] = {"C", "c", "s", "i", "l", "e", "S", "f", "g"};
  static const char *const list[3] = {"+w:6", "+w:4", "+w:4"};
  static const char *const shape[3] = {"[2,3]", "[4]", "[2,2,1]"};
  for (int t = 0; t < 9; t++) {
    const struct ArrowSchema *ts = s.children[7 + t];
    cr_assert_str_eq(ts->format, list[t % 3], "column %s", ts->name);
    cr_assert_eq(ts->n_children, 1);
    cr_assert_str_eq(ts->children[0]->format, elem[t]);
    char *name = ext_meta(ts, "ARROW:extension:name");
    char *meta = ext_meta(ts, "ARROW:extension:metadata");
    cr_assert_str_eq(name, "arrow.fixed_shape_tensor");
    char want[80];
    snprintf(want, sizeof want, "{\"shape\":%s%s}", shape[t % 3],
             tensor_dtypes[t] == WEIR_DTYPE_BFLOAT16 ? ",\"weir_dtype\":\"bfloat16\"" : "");
    cr_assert_str_eq(meta, want);
    free(name);
    free(meta);
    const struct ArrowArray *ta = a.children[7 + t];
    cr_assert_eq(ta->n_buffers, 1);
    cr_assert_eq(ta->children[0]->length, 20 * (t % 3 == 0 ? 6 : 4));
  }
  a.release(&a);
  s.release(&s);
  cr_assert_null(a.release);
  cr_assert_null(s.release);
  weir_block_unref(&b);
}

Test(arrow, round_trip_every_type_zero_copy) {
  weir_block *b = make_all_types(100);
  weir_block *back = round_trip(b);
  assert_blocks_equal(b, back);
  /* Zero-copy both ways: the imported columns point at the original bytes. */
  for (size_t c = 0; c < NCOLS_ALL; c++) {
    weir_column w, g;
    weir_block_column(b, c, &w);
    weir_block_column(back, c, &g);
    cr_assert_eq(g.data, w.data, "data of %s was copied", w.name);
    if (w.offsets) cr_assert_eq(g.offsets, w.offsets, "offsets of %s were copied", w.name);
    if (w.validity) cr_assert_eq(g.validity, w.validity);
  }
  cr_assert_eq(weir_block_nbytes(back), weir_block_nbytes(b));
  weir_block_unref(&b);
  /* The import outlives the original block. */
  weir_block *again = make_all_types(100);
  assert_blocks_equal(again, back);
  weir_block_unref(&again);
  weir_block_unref(&back);
}

Test(arrow, round_trip_weir_slices) {
  weir_block *b = make_all_types(64);
  static const size_t cuts[][2] = {{1, 10}, {3, 40}, {8, 8}, {13, 51}, {63, 1}, {64, 0}};
  for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
    weir_block *sl = NULL;
    cr_assert_eq(weir_block_slice(b, cuts[k][0], cuts[k][1], &sl), WEIR_OK);
    cr_assert_not_null(sl);
    weir_block *back = round_trip(sl);
    assert_blocks_equal(sl, back);
    weir_block_unref(&back);
    weir_block_unref(&sl);
  }
  weir_block_unref(&b);
}

/* Arrow-side slices: a struct offset and child offsets, as a producer that
 * slices lazily sends them. */
Test(arrow, import_arrow_offsets) {
  weir_block *b = make_all_types(70);
  static const int64_t cases[][3] = {/* struct offset, child offset, length */
    {0, 0, 70}, {3, 0, 50}, {0, 5, 60}, {2, 9, 40}, {8, 8, 20}, {17, 1, 33}, {0, 70, 0}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    int64_t so = cases[k][0], co = cases[k][1], len = cases[k][2];
    struct ArrowArray a;
    struct ArrowSchema s;
    cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_OK);
    a.offset = so;
    a.length = len;
    for (int64_t c = 0; c < a.n_children; c++) {
      struct ArrowArray *ch = a.children[c];
      ch->offset = co;
      ch->length = 70 - co;
      ch->null_count = -1; /* no longer known for the shifted window */
    }
    weir_block *back = NULL;
    cr_assert_eq(weir_block_from_arrow(&a, &s, &back), WEIR_OK, "case %zu: %s", k,
                 weir_last_errmsg());
    weir_block *want = NULL;
    cr_assert_eq(weir_block_slice(b, (size_t)(so + co), (size_t)len, &want), WEIR_OK);
    cr_assert_not_null(want);
    assert_blocks_equal(want, back);
    weir_block_unref(&want);
    weir_block_unref(&back);
  }
  weir_block_unref(&b);
}

Test(arrow, empty_and_zero_column_blocks) {
  weir_block *b = make_all_types(0);
  weir_block *back = round_trip(b);
  cr_assert_eq(weir_block_num_rows(back), 0);
  assert_blocks_equal(b, back);
  weir_block_unref(&back);

  weir_block *none = weir_block_empty();
  back = round_trip(none);
  cr_assert_eq(weir_block_num_columns(back), 0);
  cr_assert_eq(weir_block_num_rows(back), 0);
  weir_block_unref(&back);

  /* Rows but no columns: a selection of nothing. */
  weir_block *full = make_all_types(9), *sel = NULL;
  cr_assert_eq(weir_block_select(full, NULL, 0, &sel), WEIR_OK);
  back = round_trip(sel);
  cr_assert_eq(weir_block_num_rows(back), 9);
  cr_assert_eq(weir_block_num_columns(back), 0);
  weir_block_unref(&back);
  weir_block_unref(&sel);
  weir_block_unref(&full);
  weir_block_unref(&b);
}

/* "u"/"z" with int32 offsets from a foreign producer, sliced: offsets are
 * widened (a copy of the offsets only), the bytes are shared. */
Test(arrow, import_32bit_offsets) {
  static const char bytes[] = "alphabetagammadeltaepsilon";
  static const int32_t offs[] = {0, 5, 9, 14, 14, 19, 26};
  static const char *const want[] = {"alpha", "beta", "gamma", "", "delta", "epsilon"};
  uint8_t validity = 0x37; /* row 3 is null */
  for (int kind = 0; kind < 2; kind++) {
    for (int64_t off = 0; off < 6; off++) {
      struct ArrowArray a;
      struct ArrowSchema s;
      fnode *n = fa_new(&a, 6 - off, 1, 1, 0);
      fsnode *sn = fs_new(&s, "+s", "", 1, 0);
      fnode *cn = fa_new(&n->kids[0], 6, 3, 0, 0);
      fs_new(&sn->kids[0], kind ? "z" : "u", "text", 0, 0);
      n->kids[0].offset = off;
      n->kids[0].length = 6 - off;
      n->kids[0].null_count = -1;
      fa_buf(cn, 0, &validity, 1);
      fa_buf(cn, 1, offs, sizeof offs);
      fa_buf(cn, 2, bytes, sizeof bytes - 1);
      const void *shared = cn->buffers[2];
      weir_block *b = NULL;
      cr_assert_eq(weir_block_from_arrow(&a, &s, &b), WEIR_OK, "%s", weir_last_errmsg());
      weir_column c;
      cr_assert_eq(weir_block_column(b, 0, &c), WEIR_OK);
      cr_assert_eq(c.type, kind ? WEIR_TYPE_BINARY : WEIR_TYPE_STRING);
      cr_assert_eq(c.length, (size_t)(6 - off));
      cr_assert_eq(c.data, shared, "value bytes must not be copied");
      cr_assert_eq(c.null_count, off <= 3 ? 1u : 0u);
      for (int64_t i = 0; i < 6 - off; i++) {
        int valid = weir_block_is_valid(b, 0, (size_t)i);
        cr_assert_eq(valid, i + off != 3);
        if (!valid) continue;
        size_t len = (size_t)(c.offsets[i + 1] - c.offsets[i]);
        cr_assert_eq(len, strlen(want[i + off]));
        cr_assert(memcmp((const char *)c.data + c.offsets[i], want[i + off], len) == 0);
      }
      weir_block_unref(&b);
    }
  }
}

/* A struct array with nulls of its own: every column gets them. */
Test(arrow, struct_nulls_fold_into_columns) {
  static const int64_t vals[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  uint8_t struct_valid[2] = {0xEF, 0x03};  /* row 4 null */
  uint8_t child_valid[2] = {0xFE, 0x03};   /* row 0 null */
  for (int64_t off = 0; off < 3; off++) {
    struct ArrowArray a;
    struct ArrowSchema s;
    fnode *n = fa_new(&a, 10 - off, 1, 2, 0);
    fsnode *sn = fs_new(&s, "+s", "", 2, 0);
    a.offset = off;
    a.null_count = -1;
    fa_buf(n, 0, struct_valid, 2);
    fnode *c0 = fa_new(&n->kids[0], 10, 2, 0, 0);
    fa_buf(c0, 1, vals, sizeof vals);
    fnode *c1 = fa_new(&n->kids[1], 10, 2, 0, 0);
    n->kids[1].null_count = 1;
    fa_buf(c1, 0, child_valid, 2);
    fa_buf(c1, 1, vals, sizeof vals);
    fs_new(&sn->kids[0], "l", "x", 0, 0);
    fs_new(&sn->kids[1], "l", "y", 0, 0);
    weir_block *b = NULL;
    cr_assert_eq(weir_block_from_arrow(&a, &s, &b), WEIR_OK, "%s", weir_last_errmsg());
    cr_assert_eq(weir_block_num_rows(b), (size_t)(10 - off));
    for (size_t i = 0; i < (size_t)(10 - off); i++) {
      size_t r = i + (size_t)off;
      cr_assert_eq(weir_block_is_valid(b, 0, i), r != 4, "x row %zu", r);
      cr_assert_eq(weir_block_is_valid(b, 1, i), r != 4 && r != 0, "y row %zu", r);
    }
    weir_column x;
    weir_block_column(b, 0, &x);
    cr_assert_eq(x.null_count, 1u);
    cr_assert_eq(((const int64_t *)x.data)[0], off);
    weir_block_unref(&b);
  }
}

/* A plain (non-struct) array is a one-column block named after its field;
 * a FixedSizeList without the extension is a 1-d tensor. */
Test(arrow, plain_array_and_plain_fixed_size_list) {
  static const float elems[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  struct ArrowArray a;
  struct ArrowSchema s;
  fnode *n = fa_new(&a, 4, 1, 1, 0);
  fsnode *sn = fs_new(&s, "+w:3", "emb", 1, 0);
  a.offset = 1;
  a.length = 3;
  /* Rows 1..3 of a list whose elements start 3 into their buffer. */
  fnode *cn = fa_new(&n->kids[0], 12, 2, 0, 0);
  n->kids[0].offset = 3;
  fa_buf(cn, 1, elems, sizeof elems);
  fs_new(&sn->kids[0], "f", "item", 0, 0);
  weir_block *b = NULL;
  cr_assert_eq(weir_block_from_arrow(&a, &s, &b), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_eq(weir_block_num_columns(b), 1);
  cr_assert_eq(weir_block_num_rows(b), 3);
  weir_column c;
  weir_block_column(b, 0, &c);
  cr_assert_str_eq(c.name, "emb");
  cr_assert_eq(c.type, WEIR_TYPE_TENSOR);
  cr_assert_eq(c.dtype, WEIR_DTYPE_FLOAT32);
  cr_assert_eq(c.ndim, 1);
  cr_assert_eq(c.shape[0], 3);
  for (int i = 0; i < 9; i++) cr_assert_float_eq(((const float *)c.data)[i], elems[6 + i], 0);
  weir_block_unref(&b);
}

/* A fixed_shape_tensor from another producer, with dim_names and an
 * identity permutation, and tensor-element nulls only inside null rows. */
Test(arrow, foreign_fixed_shape_tensor) {
  int16_t elems[3 * 4];
  for (int i = 0; i < 12; i++) elems[i] = (int16_t)(i * 100 - 300);
  uint8_t row_valid = 0x5;      /* row 1 null */
  uint8_t elem_valid[2] = {0x0F, 0x0F}; /* elements 4..7 (row 1) null */
  struct ArrowArray a;
  struct ArrowSchema s;
  fnode *n = fa_new(&a, 3, 1, 1, 0);
  fsnode *sn = fs_new(&s, "+s", "", 1, 0);
  fnode *tn = fa_new(&n->kids[0], 3, 1, 1, 0);
  n->kids[0].null_count = 1;
  fa_buf(tn, 0, &row_valid, 1);
  fnode *en = fa_new(&tn->kids[0], 12, 2, 0, 0);
  tn->kids[0].null_count = 4;
  fa_buf(en, 0, elem_valid, 2);
  fa_buf(en, 1, elems, sizeof elems);
  fsnode *ts = fs_new(&sn->kids[0], "+w:4", "img", 1, 0);
  fs_metadata(ts, &sn->kids[0], 2, "ARROW:extension:name", "arrow.fixed_shape_tensor",
              "ARROW:extension:metadata",
              " { \"shape\" : [2, 2], \"dim_names\": [\"H\", \"W\"], \"permutation\": [0,1] } ");
  fs_new(&ts->kids[0], "s", "item", 0, 0);
  weir_block *b = NULL;
  cr_assert_eq(weir_block_from_arrow(&a, &s, &b), WEIR_OK, "%s", weir_last_errmsg());
  weir_column c;
  weir_block_column(b, 0, &c);
  cr_assert_eq(c.dtype, WEIR_DTYPE_INT16);
  cr_assert_eq(c.ndim, 2);
  cr_assert_eq(c.shape[0], 2);
  cr_assert_eq(c.shape[1], 2);
  cr_assert_eq(c.null_count, 1u);
  cr_assert_eq(((const int16_t *)c.data)[9], 600);
  weir_block_unref(&b);
}

/* Export, re-import and export again: the second export of imported
 * buffers is as zero-copy as the first. */
Test(arrow, export_of_an_import) {
  weir_block *b = make_all_types(33);
  weir_block *once = round_trip(b);
  weir_block *twice = round_trip(once);
  assert_blocks_equal(b, twice);
  weir_block_unref(&once);
  weir_block_unref(&b);
  weir_block_unref(&twice);
}

/* Zero-length arrays may come with NULL buffers (the spec allows it); the
 * import still gives columns with valid (empty) buffers. */
Test(arrow, zero_length_arrays_with_null_buffers) {
  static const char *const formats[] = {"b", "i", "l", "f", "g", "u", "U", "z", "Z", "+w:2"};
  enum { N = sizeof formats / sizeof formats[0] };
  for (size_t k = 0; k < N; k++) {
    struct ArrowArray a;
    struct ArrowSchema s;
    fnode *n = fa_new(&a, 0, 1, 1, 0);
    fsnode *sn = fs_new(&s, "+s", "", 1, 0);
    int list = formats[k][0] == '+';
    int varlen = strchr("uUzZ", formats[k][0]) != NULL;
    fnode *c = fa_new(&n->kids[0], 0, list ? 1 : varlen ? 3 : 2, list, 0);
    fsnode *cs = fs_new(&sn->kids[0], formats[k], "c", list, 0);
    if (list) {
      fa_new(&c->kids[0], 0, 2, 0, 0);
      fs_new(&cs->kids[0], "g", "item", 0, 0);
    }
    weir_block *b = NULL;
    cr_assert_eq(weir_block_from_arrow(&a, &s, &b), WEIR_OK, "format %s: %s", formats[k],
                 weir_last_errmsg());
    weir_column col;
    cr_assert_eq(weir_block_column(b, 0, &col), WEIR_OK);
    cr_assert_eq(col.length, 0u);
    cr_assert_not_null(col.data, "format %s", formats[k]);
    if (varlen) cr_assert_eq(col.offsets[0], 0, "format %s", formats[k]);
    /* And it exports again. */
    weir_block *again = round_trip(b);
    cr_assert_eq(weir_block_num_rows(again), 0u);
    weir_block_unref(&again);
    weir_block_unref(&b);
  }
}
