/* The Arrow C Stream Interface: blocks exported as a stream and read back,
 * empty streams, schema checks, and a foreign producer that fails. */
#include <errno.h>

#include "test_arrow_util.h"

Test(arrow_stream, blocks_round_trip_through_a_stream) {
  weir_block *all = make_all_types(90);
  static const size_t cuts[4][2] = {{0, 30}, {30, 0}, {30, 45}, {75, 15}};
  weir_block *parts[4];
  for (int i = 0; i < 4; i++)
    cr_assert_eq(weir_block_slice(all, cuts[i][0], cuts[i][1], &parts[i]), WEIR_OK);
  struct ArrowArrayStream st;
  cr_assert_eq(weir_blocks_to_arrow_stream(parts, 4, &st), WEIR_OK);
  /* The stream holds its own references. */
  for (int i = 0; i < 4; i++) weir_block_unref(&parts[i]);

  struct ArrowSchema s;
  cr_assert_eq(st.get_schema(&st, &s), 0);
  cr_assert_str_eq(s.format, "+s");
  cr_assert_eq(s.n_children, NCOLS_ALL);
  s.release(&s);

  static const size_t want_rows[4] = {30, 0, 45, 15};
  size_t first = 0;
  for (int i = 0; i < 4; i++) {
    weir_block *got = NULL;
    cr_assert_eq(weir_arrow_stream_next(&st, &got), WEIR_OK, "%s", weir_last_errmsg());
    cr_assert_eq(weir_block_num_rows(got), want_rows[i]);
    weir_block *want = NULL;
    cr_assert_eq(weir_block_slice(all, first, want_rows[i], &want), WEIR_OK);
    assert_blocks_equal(want, got);
    first += want_rows[i];
    weir_block_unref(&want);
    weir_block_unref(&got);
  }
  weir_block *end = (weir_block *)1;
  cr_assert_eq(weir_arrow_stream_next(&st, &end), WEIR_EOF);
  cr_assert_null(end);
  cr_assert_eq(weir_arrow_stream_next(&st, &end), WEIR_EOF, "the end stays the end");
  cr_assert_null(st.get_last_error(&st));
  st.release(&st);
  cr_assert_null(st.release);
  weir_block_unref(&all);
}

Test(arrow_stream, batches_outlive_the_stream) {
  weir_block *b = make_all_types(12);
  struct ArrowArrayStream st;
  cr_assert_eq(weir_blocks_to_arrow_stream(&b, 1, &st), WEIR_OK);
  struct ArrowArray a;
  cr_assert_eq(st.get_next(&st, &a), 0);
  st.release(&st);
  weir_block_unref(&b);
  /* The batch keeps the buffers alive on its own. */
  const int32_t *i32 = a.children[1]->buffers[1];
  cr_assert_eq(i32[11], -(11 * 31 + 7));
  a.release(&a);
}

Test(arrow_stream, empty_stream_has_an_empty_schema) {
  struct ArrowArrayStream st;
  cr_assert_eq(weir_blocks_to_arrow_stream(NULL, 0, &st), WEIR_OK);
  struct ArrowSchema s;
  cr_assert_eq(st.get_schema(&st, &s), 0);
  cr_assert_str_eq(s.format, "+s");
  cr_assert_eq(s.n_children, 0);
  s.release(&s);
  weir_block *out = NULL;
  cr_assert_eq(weir_arrow_stream_next(&st, &out), WEIR_EOF);
  st.release(&st);
}

Test(arrow_stream, blocks_must_share_a_schema) {
  weir_block *b = make_all_types(3);
  size_t idx[2] = {1, 0};
  weir_block *other = NULL;
  cr_assert_eq(weir_block_select(b, idx, 2, &other), WEIR_OK);
  weir_block *both[2] = {b, other};
  struct ArrowArrayStream st;
  memset(&st, 0, sizeof st);
  cr_assert_eq(weir_blocks_to_arrow_stream(both, 2, &st), WEIR_EINVAL);
  cr_assert_null(st.release, "no stream on error");
  cr_assert(strstr(weir_last_errmsg(), "block 1") != NULL, "%s", weir_last_errmsg());
  weir_block *with_null[2] = {b, NULL};
  cr_assert_eq(weir_blocks_to_arrow_stream(with_null, 2, &st), WEIR_EINVAL);
  cr_assert_eq(weir_blocks_to_arrow_stream(NULL, 2, &st), WEIR_EINVAL);
  weir_block_unref(&other);
  weir_block_unref(&b);
}

/* ---- A foreign producer: two good batches, then an error --------------- */

typedef struct producer {
  int next;
  int fail_at;
  int schema_calls;
  int released;
} producer;

static int p_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  producer *p = st->private_data;
  p->schema_calls++;
  fsnode *n = fs_new(out, "+s", "", 1, 0);
  fs_new(&n->kids[0], "i", "v", 0, 0);
  return 0;
}

static int p_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  producer *p = st->private_data;
  if (p->next == p->fail_at) return EIO;
  if (p->next == 3) {
    out->release = NULL;
    return 0;
  }
  int32_t vals[5];
  for (int i = 0; i < 5; i++) vals[i] = p->next * 100 + i;
  fnode *n = fa_new(out, 5, 1, 1, 1);
  fa_buf(fa_new(&n->kids[0], 5, 2, 0, 0), 1, vals, sizeof vals);
  p->next++;
  return 0;
}

static const char *p_get_last_error(struct ArrowArrayStream *st) {
  (void)st;
  return "disk on fire in batch 2";
}

static void p_release(struct ArrowArrayStream *st) {
  producer *p = st->private_data;
  p->released++;
  st->release = NULL;
}

static void make_producer(struct ArrowArrayStream *st, producer *p, int fail_at) {
  memset(p, 0, sizeof *p);
  p->fail_at = fail_at;
  st->get_schema = p_get_schema;
  st->get_next = p_get_next;
  st->get_last_error = p_get_last_error;
  st->release = p_release;
  st->private_data = p;
}

Test(arrow_stream, reads_a_foreign_stream_to_the_end) {
  struct ArrowArrayStream st;
  producer p;
  make_producer(&st, &p, -1);
  for (int k = 0; k < 3; k++) {
    weir_block *b = NULL;
    cr_assert_eq(weir_arrow_stream_next(&st, &b), WEIR_OK, "%s", weir_last_errmsg());
    weir_column c;
    weir_block_column(b, 0, &c);
    cr_assert_str_eq(c.name, "v");
    cr_assert_eq(((const int32_t *)c.data)[4], k * 100 + 4);
    weir_block_unref(&b);
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_arrow_stream_next(&st, &b), WEIR_EOF);
  cr_assert_eq(atomic_load(&fa_releases), 3, "every batch released once");
  cr_assert_eq(p.released, 0, "the stream stays the caller's");
  st.release(&st);
  cr_assert_eq(p.released, 1);
}

Test(arrow_stream, producer_errors_carry_its_message) {
  struct ArrowArrayStream st;
  producer p;
  make_producer(&st, &p, 2);
  weir_block *b = NULL;
  for (int k = 0; k < 2; k++) {
    cr_assert_eq(weir_arrow_stream_next(&st, &b), WEIR_OK);
    weir_block_unref(&b);
  }
  cr_assert_eq(weir_arrow_stream_next(&st, &b), WEIR_EIO);
  cr_assert_null(b);
  cr_assert(strstr(weir_last_errmsg(), "disk on fire") != NULL, "%s", weir_last_errmsg());
  st.release(&st);
  weir_block *x = NULL;
  cr_assert_eq(weir_arrow_stream_next(&st, &x), WEIR_EINVAL, "released stream");
}

Test(arrow_stream, stream_callbacks_reject_null_arguments) {
  weir_block *b = make_all_types(2);
  struct ArrowArrayStream st;
  cr_assert_eq(weir_blocks_to_arrow_stream(&b, 1, &st), WEIR_OK);
  /* A consumer passing NULL gets EINVAL rather than a crash. */
  cr_assert_eq(st.get_next(&st, NULL), EINVAL);
  cr_assert_eq(st.get_schema(&st, NULL), EINVAL);
  st.release(&st);
  weir_block_unref(&b);
}
