/* Malformed Arrow imports: each malformation gives WEIR_EFORMAT (or
 * WEIR_ENOTSUP for a valid Arrow type weir does not hold) with a message,
 * never a crash, and the moved-in array and schema are released exactly
 * once on every path. Run under ASan to see that nothing leaks. */
#include "test_arrow_util.h"
#include "core/arrow_internal.h"

/* A valid foreign struct of three columns, four rows each:
 *   x "l" with row 1 null, s "U" ("a","bb","ccc","dddd"),
 *   t "+w:4" fixed_shape_tensor [2,2] of "f". */
typedef struct base {
  struct ArrowArray a;
  struct ArrowSchema s;
  fnode *top, *x, *str, *t, *te;
  fsnode *stop, *sx, *sstr, *st, *ste;
} base;

static void set_format(fsnode *n, struct ArrowSchema *s, const char *f) {
  free(n->format);
  n->format = f ? strdup(f) : NULL;
  s->format = n->format;
}

static void make_base(base *b) {
  static const int64_t xs[4] = {1, 2, 3, 4};
  static const int64_t offs[5] = {0, 1, 3, 6, 10};
  static const char bytes[] = "abbcccdddd";
  float elems[16];
  for (int i = 0; i < 16; i++) elems[i] = (float)i;
  uint8_t xvalid = 0x0D;
  memset(b, 0, sizeof *b);
  b->top = fa_new(&b->a, 4, 1, 3, 1);
  b->stop = fs_new(&b->s, "+s", "", 3, 1);
  b->x = fa_new(&b->top->kids[0], 4, 2, 0, 0);
  b->top->kids[0].null_count = 1;
  fa_buf(b->x, 0, &xvalid, 1);
  fa_buf(b->x, 1, xs, sizeof xs);
  b->sx = fs_new(&b->stop->kids[0], "l", "x", 0, 0);
  b->str = fa_new(&b->top->kids[1], 4, 3, 0, 0);
  fa_buf(b->str, 1, offs, sizeof offs);
  fa_buf(b->str, 2, bytes, 10);
  b->sstr = fs_new(&b->stop->kids[1], "U", "s", 0, 0);
  b->t = fa_new(&b->top->kids[2], 4, 1, 1, 0);
  b->te = fa_new(&b->t->kids[0], 16, 2, 0, 0);
  fa_buf(b->te, 1, elems, sizeof elems);
  b->st = fs_new(&b->stop->kids[2], "+w:4", "t", 1, 0);
  fs_metadata(b->st, &b->stop->kids[2], 2, "ARROW:extension:name",
              "arrow.fixed_shape_tensor", "ARROW:extension:metadata", "{\"shape\":[2,2]}");
  b->ste = fs_new(&b->st->kids[0], "f", "item", 0, 0);
}

static void tensor_meta(base *b, const char *json) {
  free(b->st->metadata);
  fs_metadata(b->st, &b->stop->kids[2], 2, "ARROW:extension:name",
              "arrow.fixed_shape_tensor", "ARROW:extension:metadata", json);
}

static struct ArrowArray some_dictionary;

typedef struct mcase {
  const char *name;
  int want;
  void (*mutate)(base *b);
} mcase;

#define X(b) (&(b)->top->kids[0])
#define S(b) (&(b)->top->kids[1])
#define T(b) (&(b)->top->kids[2])

static void m_none(base *b) { (void)b; }
static void m_bad_format(base *b) { set_format(b->sx, &b->stop->kids[0], "q"); }
static void m_empty_format(base *b) { set_format(b->sx, &b->stop->kids[0], ""); }
static void m_null_format(base *b) { set_format(b->sx, &b->stop->kids[0], NULL); }
static void m_long_garbage(base *b) { set_format(b->sx, &b->stop->kids[0], "lllllllllllllllllllllllllll"); }
static void m_top_bad_format(base *b) { set_format(b->stop, &b->s, "+x"); }
static void m_top_not_struct(base *b) { set_format(b->stop, &b->s, "l"); }
static void m_n_buffers(base *b) { X(b)->n_buffers = 3; }
static void m_n_buffers_str(base *b) { S(b)->n_buffers = 2; }
static void m_n_children(base *b) { b->a.n_children = 2; }
static void m_n_children_neg(base *b) { b->a.n_children = -1; b->s.n_children = -1; }
static void m_schema_children(base *b) { b->s.n_children = 2; }
static void m_tensor_children(base *b) { T(b)->n_children = 0; }
static void m_neg_length(base *b) { X(b)->length = -1; }
static void m_neg_top_length(base *b) { b->a.length = -5; }
static void m_neg_offset(base *b) { S(b)->offset = -1; }
static void m_neg_top_offset(base *b) { b->a.offset = -2; }
static void m_null_count(base *b) { X(b)->null_count = -2; }
static void m_null_count_big(base *b) { X(b)->null_count = 9; }
static void m_short_child(base *b) { X(b)->length = 3; }
static void m_top_offset_past_child(base *b) { b->a.offset = 1; }
static void m_offset_overflow(base *b) { X(b)->offset = INT64_MAX; }
static void m_top_overflow(base *b) { b->a.offset = INT64_MAX - 1; }
/* Found by test_arrow_mutate: lengths and offsets that no buffer could
 * cover sent the bitmap scan off the end of memory. */
static void m_top_huge_length(base *b) {
  uint8_t v = 0x0F;
  fa_buf(b->top, 0, &v, 1);
  b->a.length = INT64_MAX;
  b->a.null_count = -1;
}
static void m_huge_offset(base *b) { X(b)->offset = INT64_MAX - 8; }
static void m_offsets_decrease(base *b) { ((int64_t *)b->str->owned[1])[2] = 0; }
static void m_offsets_negative(base *b) { ((int64_t *)b->str->owned[1])[0] = -4; }
static void m_null_values(base *b) { b->x->buffers[1] = NULL; }
static void m_null_offsets(base *b) { b->str->buffers[1] = NULL; }
static void m_null_bytes(base *b) { b->str->buffers[2] = NULL; }
static void m_null_buffers_array(base *b) { X(b)->buffers = NULL; }
static void m_nulls_no_bitmap(base *b) { b->x->buffers[0] = NULL; }
static void m_null_count_mismatch(base *b) { X(b)->null_count = 3; }
static void m_null_child(base *b) { b->top->kid_ptrs[1] = NULL; }
static void m_null_children(base *b) { b->a.children = NULL; }
static void m_released_child(base *b) {
  S(b)->release = NULL;
  b->top->orphans = 1;
}
static void m_list_size(base *b) { set_format(b->st, &b->stop->kids[2], "+w:5"); }
static void m_list_size_garbage(base *b) { set_format(b->st, &b->stop->kids[2], "+w:4x"); }
static void m_list_size_huge(base *b) { set_format(b->st, &b->stop->kids[2], "+w:99999999999"); }
static void m_tensor_short(base *b) { T(b)->children[0]->length = 15; }
static void m_tensor_elems_null(base *b) { b->te->buffers[1] = NULL; }
static void m_json_bad(base *b) { tensor_meta(b, "{shape:[2,2]}"); }
static void m_json_trailing(base *b) { tensor_meta(b, "{\"shape\":[2,2]} x"); }
static void m_json_unclosed(base *b) { tensor_meta(b, "{\"shape\":[2,2"); }
static void m_json_float(base *b) { tensor_meta(b, "{\"shape\":[2.5,2]}"); }
static void m_json_no_shape(base *b) { tensor_meta(b, "{\"dim_names\":[\"a\",\"b\"]}"); }
static void m_json_negative(base *b) { tensor_meta(b, "{\"shape\":[-2,-2]}"); }
static void m_json_product(base *b) { tensor_meta(b, "{\"shape\":[3,2]}"); }
static void m_json_huge(base *b) { tensor_meta(b, "{\"shape\":[99999999999999999999]}"); }
static void m_no_ext_metadata(base *b) {
  free(b->st->metadata);
  fs_metadata(b->st, &b->stop->kids[2], 1, "ARROW:extension:name",
              "arrow.fixed_shape_tensor", NULL, NULL);
}
static void m_bad_metadata_count(base *b) {
  int32_t neg = -3;
  memcpy(b->st->metadata, &neg, 4);
}
static void m_bf16_storage(base *b) { tensor_meta(b, "{\"shape\":[2,2],\"weir_dtype\":\"bfloat16\"}"); }
static void m_tensor_elem_format(base *b) { set_format(b->ste, &b->st->kids[0], "?"); }
/* Valid Arrow that weir does not hold. */
static void m_dictionary(base *b) { X(b)->dictionary = &some_dictionary; }
/* Lists import now; a map still has no weir column type. */
static void m_map(base *b) { set_format(b->sx, &b->stop->kids[0], "+m"); }
static void m_date(base *b) { set_format(b->sx, &b->stop->kids[0], "tdD"); }
static void m_decimal(base *b) { set_format(b->sx, &b->stop->kids[0], "d:10,2"); }
/* uint16 storage is a uint16 tensor (or bfloat16 by its metadata); bool
 * elements have no tensor dtype. */
static void m_bool_tensor(base *b) { set_format(b->ste, &b->st->kids[0], "b"); }
static void m_nested_list(base *b) { set_format(b->ste, &b->st->kids[0], "+w:2"); }
static void m_permutation(base *b) { tensor_meta(b, "{\"shape\":[2,2],\"permutation\":[1,0]}"); }
static void m_weir_dtype(base *b) { tensor_meta(b, "{\"shape\":[2,2],\"weir_dtype\":\"fp8\"}"); }
static void m_nine_dims(base *b) { tensor_meta(b, "{\"shape\":[1,1,1,1,1,1,1,2,2]}"); }
static void m_elem_nulls(base *b) {
  uint8_t v[2] = {0xFF, 0xFD}; /* element 9 (row 2) null */
  fa_buf(b->te, 0, v, 2);
  T(b)->children[0]->null_count = -1;
}

static const mcase cases[] = {
  {"valid base", WEIR_OK, m_none},
  {"bad format", WEIR_EFORMAT, m_bad_format},
  {"empty format", WEIR_EFORMAT, m_empty_format},
  {"NULL format", WEIR_EFORMAT, m_null_format},
  {"garbage format", WEIR_EFORMAT, m_long_garbage},
  {"bad top format", WEIR_EFORMAT, m_top_bad_format},
  {"top not struct, struct layout", WEIR_EFORMAT, m_top_not_struct},
  {"int with 3 buffers", WEIR_EFORMAT, m_n_buffers},
  {"string with 2 buffers", WEIR_EFORMAT, m_n_buffers_str},
  {"array children != schema children", WEIR_EFORMAT, m_n_children},
  {"negative children", WEIR_EFORMAT, m_n_children_neg},
  {"schema children != array children", WEIR_EFORMAT, m_schema_children},
  {"tensor without child", WEIR_EFORMAT, m_tensor_children},
  {"negative length", WEIR_EFORMAT, m_neg_length},
  {"negative top length", WEIR_EFORMAT, m_neg_top_length},
  {"negative offset", WEIR_EFORMAT, m_neg_offset},
  {"negative top offset", WEIR_EFORMAT, m_neg_top_offset},
  {"null count -2", WEIR_EFORMAT, m_null_count},
  {"null count > length", WEIR_EFORMAT, m_null_count_big},
  {"child shorter than parent", WEIR_EFORMAT, m_short_child},
  {"struct offset past child end", WEIR_EFORMAT, m_top_offset_past_child},
  {"offset overflow", WEIR_EFORMAT, m_offset_overflow},
  {"top offset overflow", WEIR_EFORMAT, m_top_overflow},
  {"struct length INT64_MAX with a bitmap", WEIR_EFORMAT, m_top_huge_length},
  {"offset near INT64_MAX with a bitmap", WEIR_EFORMAT, m_huge_offset},
  {"offsets decrease", WEIR_EFORMAT, m_offsets_decrease},
  {"negative first offset", WEIR_EFORMAT, m_offsets_negative},
  {"NULL values", WEIR_EFORMAT, m_null_values},
  {"NULL offsets", WEIR_EFORMAT, m_null_offsets},
  {"NULL string bytes", WEIR_EFORMAT, m_null_bytes},
  {"NULL buffers array", WEIR_EFORMAT, m_null_buffers_array},
  {"nulls without bitmap", WEIR_EFORMAT, m_nulls_no_bitmap},
  {"null count disagrees with bitmap", WEIR_EFORMAT, m_null_count_mismatch},
  {"NULL child pointer", WEIR_EFORMAT, m_null_child},
  {"NULL children array", WEIR_EFORMAT, m_null_children},
  {"released child", WEIR_EFORMAT, m_released_child},
  {"list size vs shape", WEIR_EFORMAT, m_list_size},
  {"list size garbage", WEIR_EFORMAT, m_list_size_garbage},
  {"list size huge", WEIR_EFORMAT, m_list_size_huge},
  {"tensor elements too short", WEIR_EFORMAT, m_tensor_short},
  {"NULL tensor elements", WEIR_EFORMAT, m_tensor_elems_null},
  {"tensor json unquoted key", WEIR_EFORMAT, m_json_bad},
  {"tensor json trailing", WEIR_EFORMAT, m_json_trailing},
  {"tensor json unclosed", WEIR_EFORMAT, m_json_unclosed},
  {"tensor json float dim", WEIR_EFORMAT, m_json_float},
  {"tensor json no shape", WEIR_EFORMAT, m_json_no_shape},
  {"tensor json negative dims", WEIR_EFORMAT, m_json_negative},
  {"tensor shape product", WEIR_EFORMAT, m_json_product},
  {"tensor json huge dim", WEIR_EFORMAT, m_json_huge},
  {"extension without metadata", WEIR_EFORMAT, m_no_ext_metadata},
  {"negative metadata count", WEIR_EFORMAT, m_bad_metadata_count},
  {"bfloat16 not stored as uint16", WEIR_EFORMAT, m_bf16_storage},
  {"tensor element garbage format", WEIR_EFORMAT, m_tensor_elem_format},
  {"dictionary", WEIR_ENOTSUP, m_dictionary},
  {"map type", WEIR_ENOTSUP, m_map},
  {"date type", WEIR_ENOTSUP, m_date},
  {"decimal type", WEIR_ENOTSUP, m_decimal},
  {"bool tensor", WEIR_ENOTSUP, m_bool_tensor},
  {"nested fixed-size list", WEIR_ENOTSUP, m_nested_list},
  {"permuted tensor", WEIR_ENOTSUP, m_permutation},
  {"unknown weir_dtype", WEIR_ENOTSUP, m_weir_dtype},
  {"nine dimensions", WEIR_ENOTSUP, m_nine_dims},
  {"null element in a valid row", WEIR_ENOTSUP, m_elem_nulls},
};

Test(arrow_malformed, every_malformation_is_an_error_and_releases_inputs) {
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const mcase *c = &cases[k];
    base b;
    make_base(&b);
    c->mutate(&b);
    atomic_store(&fa_releases, 0);
    atomic_store(&fs_releases, 0);
    weir_block *out = (weir_block *)&b; /* must be reset */
    int rc = weir_block_from_arrow(&b.a, &b.s, &out);
    cr_assert_eq(rc, c->want, "case '%s': got %s (%s), want %s", c->name, weir_err_name(rc),
                 weir_last_errmsg(), weir_err_name(c->want));
    cr_assert_null(b.a.release, "case '%s': array not moved in", c->name);
    cr_assert_null(b.s.release, "case '%s': schema not released", c->name);
    cr_assert_eq(atomic_load(&fs_releases), 1, "case '%s': schema released %d times",
                 c->name, atomic_load(&fs_releases));
    if (rc == WEIR_OK) {
      cr_assert_not_null(out);
      cr_assert_eq(atomic_load(&fa_releases), 0);
      weir_block_unref(&out);
    } else {
      cr_assert_null(out, "case '%s': output set on error", c->name);
      cr_assert_gt(strlen(weir_last_errmsg()), 10, "case '%s': no message", c->name);
      cr_assert(strstr(weir_last_errmsg(), "arrow import") != NULL, "case '%s': %s",
                c->name, weir_last_errmsg());
    }
    cr_assert_eq(atomic_load(&fa_releases), 1, "case '%s': array released %d times",
                 c->name, atomic_load(&fa_releases));
  }
}

/* Both sides agreeing on a child count whose column array would not fit
 * in size_t: the block's size computation wrapped to a tiny allocation
 * and the import wrote its columns past it. */
Test(arrow_malformed, child_count_that_overflows_the_block) {
  base b;
  make_base(&b);
  int64_t n = (int64_t)(SIZE_MAX / sizeof(weir__column) + 1);
  b.a.n_children = n;
  b.s.n_children = n;
  atomic_store(&fa_releases, 0);
  atomic_store(&fs_releases, 0);
  weir_block *out = NULL;
  int rc = weir_block_from_arrow(&b.a, &b.s, &out);
  cr_assert_eq(rc, WEIR_ENOMEM, "%s: %s", weir_err_name(rc), weir_last_errmsg());
  cr_assert(strstr(weir_last_errmsg(), "columns"), "%s", weir_last_errmsg());
  cr_assert_null(out);
  cr_assert_eq(atomic_load(&fa_releases), 1);
  cr_assert_eq(atomic_load(&fs_releases), 1);
}

Test(arrow_malformed, messages_name_the_column) {
  base b;
  make_base(&b);
  m_offsets_decrease(&b);
  weir_block *out = NULL;
  cr_assert_eq(weir_block_from_arrow(&b.a, &b.s, &out), WEIR_EFORMAT);
  cr_assert(strstr(weir_last_errmsg(), "'s'") != NULL, "%s", weir_last_errmsg());
  cr_assert(strstr(weir_last_errmsg(), "row 1") != NULL, "%s", weir_last_errmsg());
}

Test(arrow_malformed, null_and_released_arguments) {
  base b;
  make_base(&b);
  weir_block *out = NULL;
  /* NULL schema: the array is still released. */
  cr_assert_eq(weir_block_from_arrow(&b.a, NULL, &out), WEIR_EINVAL);
  cr_assert_eq(atomic_load(&fa_releases), 1);
  cr_assert_null(b.a.release);
  cr_assert_eq(weir_block_from_arrow(NULL, &b.s, &out), WEIR_EINVAL);
  cr_assert_eq(atomic_load(&fs_releases), 1);
  cr_assert_null(b.s.release);
  /* An already released array: nothing to release twice. */
  cr_assert_eq(weir_block_from_arrow(&b.a, &b.s, &out), WEIR_EINVAL);
  cr_assert_eq(atomic_load(&fa_releases), 1);
  cr_assert_eq(atomic_load(&fs_releases), 1);
  /* NULL out: both released. */
  base c;
  make_base(&c);
  cr_assert_eq(weir_block_from_arrow(&c.a, &c.s, NULL), WEIR_EINVAL);
  cr_assert_eq(atomic_load(&fa_releases), 2);
  cr_assert_eq(atomic_load(&fs_releases), 2);
}

/* The extension-metadata JSON reader on truncated and mutated inputs:
 * always a clean answer, never a read past the given length (ASan checks
 * the latter: each input is an exact-size heap copy, not NUL-terminated). */
Test(arrow_malformed, tensor_json_reader_survives_mutations) {
  static const char *const seeds[] = {
    "{\"shape\":[2,3]}",
    "{\"shape\":[2,2],\"weir_dtype\":\"bfloat16\"}",
    " { \"shape\" : [ 1 , 2 , 3 ] , \"dim_names\" : [\"C\",\"H\",\"W\"], "
    "\"permutation\": [0,1,2], \"x\": {\"y\": [true, null, -1.5e3, \"s\\\"q\"]} } "};
  unsigned seed = 12345;
  int ok = 0, bad = 0;
  for (size_t k = 0; k < 3; k++) {
    size_t len = strlen(seeds[k]);
    for (int round = 0; round < 4000; round++) {
      char *buf = malloc(len);
      memcpy(buf, seeds[k], len);
      size_t n = len;
      seed = seed * 1103515245u + 12345u;
      if (round % 3 == 0) {
        n = (seed >> 8) % (len + 1);          /* truncate */
      } else {
        for (int f = 0; f < 1 + round % 4; f++) { /* flip bytes */
          seed = seed * 1103515245u + 12345u;
          buf[(seed >> 8) % len] = "{}[]\",:0-9 ae\\\x00\xff"[(seed >> 20) % 17];
        }
      }
      char *exact = malloc(n ? n : 1);
      memcpy(exact, buf, n);
      free(buf);
      weir__tensor_meta meta;
      int rc = weir__tensor_meta_parse(exact, n, "fuzz", &meta);
      cr_assert(rc == WEIR_OK || rc == WEIR_EFORMAT || rc == WEIR_ENOTSUP, "rc %d", rc);
      if (rc == WEIR_OK) {
        ok++;
        cr_assert(meta.ndim >= 0 && meta.ndim <= WEIR_TENSOR_MAX_DIMS);
        for (int d = 0; d < meta.ndim; d++) cr_assert_geq(meta.shape[d], 0);
      } else {
        bad++;
      }
      free(exact);
    }
  }
  cr_assert_gt(ok, 0, "some mutations stay valid (whitespace, digits)");
  cr_assert_gt(bad, 1000, "most mutations are rejected");
}
