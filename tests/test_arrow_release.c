/* The release discipline of the Arrow C Data Interface, counted: exported
 * arrays and schemas are released exactly once (children too, moved or
 * not), an export outlives its block, and an imported array is released
 * exactly once, when the last block that uses it dies. */
#include <pthread.h>

#include "test_arrow_util.h"

#include "core/block_internal.h"

static atomic_int node_releases;
static void (*weir_array_release)(struct ArrowArray *);
static void (*weir_schema_release)(struct ArrowSchema *);

static void counting_array_release(struct ArrowArray *a) {
  atomic_fetch_add(&node_releases, 1);
  weir_array_release(a);
}
static void counting_schema_release(struct ArrowSchema *s) {
  atomic_fetch_add(&node_releases, 1);
  weir_schema_release(s);
}

/* Puts a counting wrapper on every node of the tree; returns the count. */
static int wrap_array(struct ArrowArray *a) {
  weir_array_release = a->release;
  a->release = counting_array_release;
  int n = 1;
  for (int64_t i = 0; i < a->n_children; i++) n += wrap_array(a->children[i]);
  return n;
}
static int wrap_schema(struct ArrowSchema *s) {
  weir_schema_release = s->release;
  s->release = counting_schema_release;
  int n = 1;
  for (int64_t i = 0; i < s->n_children; i++) n += wrap_schema(s->children[i]);
  return n;
}

Test(arrow_release, every_exported_node_released_once) {
  weir_block *b = make_all_types(10);
  struct ArrowArray a;
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_OK);
  int nodes = wrap_array(&a);
  cr_assert_eq(nodes, 1 + 7 + 2 * 9, "struct, 7 scalar columns, 9 tensors of 2 nodes");
  a.release(&a);
  cr_assert_eq(atomic_load(&node_releases), nodes);
  cr_assert_null(a.release);
  atomic_store(&node_releases, 0);
  nodes = wrap_schema(&s);
  s.release(&s);
  cr_assert_eq(atomic_load(&node_releases), nodes);
  cr_assert_null(s.release);
  weir_block_unref(&b);
}

/* The spec lets a consumer move a child out and keep it after releasing the
 * parent; the child must still hold its data. */
Test(arrow_release, moved_children_outlive_parent_and_block) {
  weir_block *b = make_all_types(25);
  weir_block *fresh = make_all_types(25);
  weir_column want_s, want_t;
  weir_block_column(fresh, 5, &want_s);
  weir_block_column(fresh, 7, &want_t);

  struct ArrowArray a;
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_OK);
  struct ArrowArray str = *a.children[5];
  a.children[5]->release = NULL;
  struct ArrowArray tensor = *a.children[7];
  a.children[7]->release = NULL;
  struct ArrowSchema tschema = *s.children[7];
  s.children[7]->release = NULL;
  a.release(&a);
  s.release(&s);
  weir_block_unref(&b);

  /* Read the moved string column straight from its Arrow buffers. */
  const int64_t *offs = str.buffers[1];
  const char *bytes = str.buffers[2];
  for (size_t i = 0; i < 25; i++) {
    int valid = !str.buffers[0] || ((((const uint8_t *)str.buffers[0])[i / 8] >> (i % 8)) & 1);
    cr_assert_eq(valid, !is_null_at(5, i));
    if (!valid) continue;
    int64_t len = offs[i + 1] - offs[i];
    cr_assert_eq(len, want_s.offsets[i + 1] - want_s.offsets[i]);
    cr_assert(memcmp(bytes + offs[i], (const char *)want_s.data + want_s.offsets[i],
                     (size_t)len) == 0);
  }
  /* The tensor and its element child, then its schema with metadata. */
  cr_assert_eq(tensor.children[0]->length, 25 * 6);
  cr_assert(memcmp(tensor.children[0]->buffers[1], want_t.data, 25 * 6) == 0);
  cr_assert_str_eq(tschema.format, "+w:6");
  cr_assert_not_null(tschema.metadata);
  struct ArrowArray elems = *tensor.children[0];
  tensor.children[0]->release = NULL;
  tensor.release(&tensor);
  cr_assert(memcmp(elems.buffers[1], want_t.data, 25 * 6) == 0);
  elems.release(&elems);
  str.release(&str);
  tschema.release(&tschema);
  weir_block_unref(&fresh);
}

Test(arrow_release, export_stays_valid_after_block_unref) {
  weir_block *b = make_all_types(40);
  struct ArrowArray a;
  struct ArrowSchema s;
  cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_OK);
  weir_block_unref(&b);
  /* Under ASan any read of freed memory here fails the test. */
  const int64_t *i64 = a.children[2]->buffers[1];
  for (int64_t i = 0; i < 40; i++)
    if (!is_null_at(2, (size_t)i)) cr_assert_eq(i64[i], (i * 31 + 2 * 7) * 1000000007LL);
  weir_block *back = NULL;
  cr_assert_eq(weir_block_from_arrow(&a, &s, &back), WEIR_OK);
  weir_block *want = make_all_types(40);
  assert_blocks_equal(want, back);
  weir_block_unref(&want);
  weir_block_unref(&back);
}

/* A foreign two-column array whose top-level release is counted. */
static void make_foreign(struct ArrowArray *a, struct ArrowSchema *s) {
  static const int64_t xs[6] = {10, 20, 30, 40, 50, 60};
  static const double ys[6] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5};
  fnode *n = fa_new(a, 6, 1, 2, 1);
  fsnode *sn = fs_new(s, "+s", "", 2, 1);
  fa_buf(fa_new(&n->kids[0], 6, 2, 0, 0), 1, xs, sizeof xs);
  fa_buf(fa_new(&n->kids[1], 6, 2, 0, 0), 1, ys, sizeof ys);
  fs_new(&sn->kids[0], "l", "x", 0, 0);
  fs_new(&sn->kids[1], "g", "y", 0, 0);
}

Test(arrow_release, import_released_once_by_last_block) {
  struct ArrowArray a;
  struct ArrowSchema s;
  make_foreign(&a, &s);
  weir_block *b = NULL;
  cr_assert_eq(weir_block_from_arrow(&a, &s, &b), WEIR_OK, "%s", weir_last_errmsg());
  cr_assert_null(a.release);
  cr_assert_eq(atomic_load(&fs_releases), 1, "the schema is released by the import");
  cr_assert_eq(atomic_load(&fa_releases), 0, "the array lives while blocks use it");

  weir_block *sl = NULL;
  cr_assert_eq(weir_block_slice(b, 2, 3, &sl), WEIR_OK);
  size_t idx = 1;
  weir_block *sel = NULL;
  cr_assert_eq(weir_block_select(b, &idx, 1, &sel), WEIR_OK);
  weir_block_unref(&b);
  cr_assert_eq(atomic_load(&fa_releases), 0);
  weir_column x;
  weir_block_column(sl, 0, &x);
  cr_assert_eq(((const int64_t *)x.data)[0], 30);
  weir_block_unref(&sl);
  cr_assert_eq(atomic_load(&fa_releases), 0);
  weir_column y;
  weir_block_column(sel, 0, &y);
  cr_assert_float_eq(((const double *)y.data)[5], 5.5, 0);
  weir_block_unref(&sel);
  cr_assert_eq(atomic_load(&fa_releases), 1, "released when the last block died");
  cr_assert_eq(atomic_load(&fs_releases), 1);
}

/* foreign -> weir -> Arrow again: the re-export keeps the foreign array
 * alive through the weir buffers. */
Test(arrow_release, reexported_import_keeps_foreign_array) {
  struct ArrowArray a, a2;
  struct ArrowSchema s, s2;
  make_foreign(&a, &s);
  weir_block *b = NULL;
  cr_assert_eq(weir_block_from_arrow(&a, &s, &b), WEIR_OK);
  cr_assert_eq(weir_block_to_arrow(b, &a2, &s2), WEIR_OK);
  weir_block_unref(&b);
  cr_assert_eq(atomic_load(&fa_releases), 0);
  cr_assert_eq(((const int64_t *)a2.children[0]->buffers[1])[3], 40);
  s2.release(&s2);
  a2.release(&a2);
  cr_assert_eq(atomic_load(&fa_releases), 1);
}

static void *unref_on_thread(void *arg) {
  weir_block *b = arg;
  weir_block_unref(&b);
  return NULL;
}

Test(arrow_release, import_released_from_another_thread) {
  struct ArrowArray a;
  struct ArrowSchema s;
  make_foreign(&a, &s);
  weir_block *b = NULL;
  cr_assert_eq(weir_block_from_arrow(&a, &s, &b), WEIR_OK);
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, unref_on_thread, b), 0);
  pthread_join(t, NULL);
  cr_assert_eq(atomic_load(&fa_releases), 1);
}

Test(arrow_release, failed_export_leaves_outputs_untouched) {
  /* A column that claims to live on a CUDA device (the bytes are host
   * bytes; the export must refuse before touching them). */
  weir_block *b = weir__block_alloc(1, 4);
  b->cols[0].name = strdup("gpu");
  b->cols[0].type = WEIR_TYPE_INT64;
  b->cols[0].length = 4;
  b->cols[0].data_buf = weir__buffer_alloc(32);
  b->cols[0].data = b->cols[0].data_buf->data;
  b->cols[0].device = WEIR_DEVICE_CUDA;
  weir__block_seal(b);
  struct ArrowArray a;
  struct ArrowSchema s;
  memset(&a, 0xAB, sizeof a);
  memset(&s, 0xCD, sizeof s);
  cr_assert_eq(weir_block_to_arrow(b, &a, &s), WEIR_EINVAL);
  cr_assert(strstr(weir_last_errmsg(), "gpu") != NULL, "message names the column: %s",
            weir_last_errmsg());
  for (size_t i = 0; i < sizeof a; i++) cr_assert_eq(((unsigned char *)&a)[i], 0xAB);
  for (size_t i = 0; i < sizeof s; i++) cr_assert_eq(((unsigned char *)&s)[i], 0xCD);
  weir_block_unref(&b);
  cr_assert_eq(weir_block_to_arrow(NULL, &a, &s), WEIR_EINVAL);
}
