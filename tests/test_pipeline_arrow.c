/* Tests of the Arrow stream source: batches of a real ArrowArrayStream
 * (exported by weir_blocks_to_arrow_stream) flow through a pipeline in
 * order, the stream's schema is asked once, and a stream that fails ends
 * the run with its own message; and of the other direction, a pipeline's
 * iterator handed out as an ArrowArrayStream. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "test_exec_util.h"

static int pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

Test(pipeline_arrow, stream_batches_flow_in_order) {
  weir_block *blocks[6];
  for (int i = 0; i < 6; i++)
    blocks[i] = eu_ids(i * 50, 50, 3);
  struct ArrowArrayStream stream;
  cr_assert_eq(weir_blocks_to_arrow_stream(blocks, 6, &stream), WEIR_OK);
  for (int i = 0; i < 6; i++)
    weir_block_unref(&blocks[i]);
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source_arrow_stream(p, "arrow", &stream);
  cr_assert_not_null(src, "%s", weir_pipeline_errmsg(p));
  cr_assert_null(stream.release, "the stream was moved in");
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.min_workers = 3;
  o.preserve_order = 1;
  weir_op *m = weir_map_batches(p, src, "pass", pass, NULL, &o);
  weir_iter_options io = WEIR_ITER_OPTIONS_INIT;
  io.batch_rows = 40;
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, m, &io, &it), WEIR_OK);
  weir_block *b;
  int64_t expect = 0;
  int rc;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    const int64_t *ids = eu_id_col(b);
    cr_assert_not_null(ids);
    for (size_t i = 0; i < weir_block_num_rows(b); i++)
      cr_assert_eq(ids[i], expect++);
    cr_assert_eq(weir_block_column_index(b, "pad"), 1, "every column came through");
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p));
  cr_assert_eq(expect, 300);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
}

static int bad_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  (void)s, (void)out;
  return EIO;
}
static int bad_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  (void)s, (void)out;
  return EIO;
}
static const char *bad_error(struct ArrowArrayStream *s) {
  (void)s;
  return "the disk is on fire";
}
static int released;
static void bad_release(struct ArrowArrayStream *s) {
  released++;
  s->release = NULL;
}

Test(pipeline_arrow, failing_stream_ends_the_run) {
  struct ArrowArrayStream stream = {bad_get_schema, bad_get_next, bad_error, bad_release, NULL};
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source_arrow_stream(p, "broken_arrow", &stream);
  cr_assert_not_null(src);
  int rc = weir_pipeline_run(p, src);
  cr_assert_lt(rc, 0);
  cr_assert(strstr(weir_pipeline_errmsg(p), "broken_arrow"), "%s", weir_pipeline_errmsg(p));
  weir_pipeline_destroy(p);
  cr_assert_eq(released, 1, "the stream is released once, by the pipeline");
}

Test(pipeline_arrow, bad_arguments_release_the_stream) {
  released = 0;
  struct ArrowArrayStream stream = {bad_get_schema, bad_get_next, bad_error, bad_release, NULL};
  cr_assert_null(weir_source_arrow_stream(NULL, "x", &stream));
  cr_assert_eq(released, 1, "moved in, also on failure");
  weir_pipeline *p = NULL;
  weir_pipeline_create(&p, NULL);
  cr_assert_null(weir_source_arrow_stream(p, "x", NULL));
  weir_pipeline_destroy(p);
}

/* ---- Misbehaving producers ----------------------------------------------
 * A producer that hands out weir-exported batches and can fail get_next or
 * get_schema at a given batch, change its schema mid-stream, describe a
 * batch with a schema that does not fit it, or keep a stale error text.
 * Array releases are counted through a wrapper, so every batch is seen
 * released exactly once, whatever the run does. */

typedef struct producer {
  weir_block *blocks[2];       /* [0] the schema it starts with, [1] another */
  int n_batches;
  int next;                    /* batches handed out */
  int fail_next_at, fail_schema_at, change_at, misfit_at, enomem;
  const char *last_error;
  int released;
  int schema_calls;
} producer;

/* The producer runs on a source worker and batches are released on
 * whichever thread drops them last: atomics, not plain globals. */
static void (*_Atomic weir_array_release)(struct ArrowArray *);
static atomic_int arrays_out, arrays_released;

static void counted_release(struct ArrowArray *a) {
  arrays_released++;
  atomic_load(&weir_array_release)(a);
}

static int pr_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  producer *pr = st->private_data;
  if (pr->next == pr->fail_next_at)
    return pr->enomem ? ENOMEM : EIO;
  if (pr->next >= pr->n_batches) {
    memset(out, 0, sizeof *out);
    return 0;
  }
  int which = pr->next >= pr->change_at;
  if (pr->next == pr->misfit_at)
    which = !which; /* an array the stream's schema does not describe */
  const weir_block *b = pr->blocks[which];
  pr->next++;
  cr_assert_eq(weir_block_to_arrow(b, out, NULL), WEIR_OK);
  atomic_store(&weir_array_release, out->release);
  out->release = counted_release;
  arrays_out++;
  return 0;
}

static int pr_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  producer *pr = st->private_data;
  pr->schema_calls++;
  /* weir asks once, before the first get_next: a stream has one schema. */
  if (pr->fail_schema_at >= 0 && pr->fail_schema_at < 1000)
    return EINVAL;
  struct ArrowArray unused;
  cr_assert_eq(weir_block_to_arrow(pr->blocks[0], &unused, out), WEIR_OK);
  unused.release(&unused);
  return 0;
}

static const char *pr_last_error(struct ArrowArrayStream *st) {
  producer *pr = st->private_data;
  return pr->last_error;
}

static void pr_release(struct ArrowArrayStream *st) {
  producer *pr = st->private_data;
  pr->released++;
  st->release = NULL;
}

static weir_block *two_columns(int64_t first, int64_t n, int wide) {
  weir_builder *bld = NULL;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "id", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "v", wide ? WEIR_TYPE_STRING : WEIR_TYPE_INT32),
               WEIR_OK);
  for (int64_t i = 0; i < n; i++) {
    cr_assert_eq(weir_builder_append_int64(bld, 0, first + i), WEIR_OK);
    if (wide)
      cr_assert_eq(weir_builder_append_string(bld, 1, "x", 1), WEIR_OK);
    else
      cr_assert_eq(weir_builder_append_int64(bld, 1, i), WEIR_OK);
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  return b;
}

static void producer_init(producer *pr, struct ArrowArrayStream *st) {
  memset(pr, 0, sizeof *pr);
  pr->blocks[0] = two_columns(0, 20, 0);
  pr->blocks[1] = two_columns(0, 20, 1);
  pr->n_batches = 6;
  pr->fail_next_at = pr->fail_schema_at = pr->change_at = pr->misfit_at = 1000;
  atomic_store(&arrays_out, 0);
  atomic_store(&arrays_released, 0);
  st->get_schema = pr_get_schema;
  st->get_next = pr_get_next;
  st->get_last_error = pr_last_error;
  st->release = pr_release;
  st->private_data = pr;
}

/* Runs the stream through a pass-through operator that re-blocks its
 * input (so blocks of two schemas would meet in one concat) into an
 * iterator; returns the run's code and copies the pipeline's message. */
static int run_stream(producer *pr, struct ArrowArrayStream *st, char *msg, size_t cap,
                      int64_t *rows) {
  weir_pipeline *p = NULL;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source_arrow_stream(p, "the_arrow_source", st);
  cr_assert_not_null(src);
  weir_op_options o = WEIR_OP_OPTIONS_INIT;
  o.batch_rows = 50;
  weir_op *m = weir_map_batches(p, src, "pass", pass, NULL, &o);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, m, NULL, &it), WEIR_OK);
  weir_block *b;
  int rc;
  *rows = 0;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    *rows += (int64_t)weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  snprintf(msg, cap, "%s", weir_pipeline_errmsg(p));
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  cr_assert_eq(pr->released, 1, "the stream is released once");
  int released = atomic_load(&arrays_released), out = atomic_load(&arrays_out);
  cr_assert_eq(released, out, "%d of %d batches released", released, out);
  weir_block_unref(&pr->blocks[0]);
  weir_block_unref(&pr->blocks[1]);
  return rc;
}

Test(pipeline_arrow, a_well_behaved_producer_runs_to_the_end) {
  producer pr;
  struct ArrowArrayStream st;
  producer_init(&pr, &st);
  char msg[1024];
  int64_t rows;
  cr_assert_eq(run_stream(&pr, &st, msg, sizeof msg, &rows), WEIR_EOF, "%s", msg);
  cr_assert_eq(rows, 120);
  cr_assert_eq(pr.schema_calls, 1, "get_schema asked %d times for 6 batches", pr.schema_calls);
}

Test(pipeline_arrow, get_next_failing_mid_stream) {
  for (int enomem = 0; enomem < 2; enomem++) {
    producer pr;
    struct ArrowArrayStream st;
    producer_init(&pr, &st);
    pr.fail_next_at = 3;
    pr.enomem = enomem;
    pr.last_error = "the producer lost its file";
    char msg[1024];
    int64_t rows;
    int rc = run_stream(&pr, &st, msg, sizeof msg, &rows);
    cr_assert(rc != WEIR_OK && rc != WEIR_EOF, "rc %d", rc);
    cr_assert(strstr(msg, "the_arrow_source"), "%s", msg);
    cr_assert(strstr(msg, "get_next"), "%s", msg);
    cr_assert(strstr(msg, "the producer lost its file"), "%s", msg);
  }
}

Test(pipeline_arrow, get_schema_failing) {
  for (int at = 0; at < 1; at++) {
    producer pr;
    struct ArrowArrayStream st;
    producer_init(&pr, &st);
    pr.fail_schema_at = at;
    char msg[1024];
    int64_t rows;
    int rc = run_stream(&pr, &st, msg, sizeof msg, &rows);
    cr_assert(rc != WEIR_OK && rc != WEIR_EOF, "rc %d", rc);
    cr_assert(strstr(msg, "the_arrow_source"), "%s", msg);
    cr_assert(strstr(msg, "get_schema"), "%s", msg);
    cr_assert(strstr(msg, "no message from the producer"), "%s", msg);
  }
}

/* A batch the stream's schema does not describe: the import's own
 * message, naming the column, not the producer's stale get_last_error()
 * text. */
Test(pipeline_arrow, schema_that_does_not_fit_its_batch) {
  producer pr;
  struct ArrowArrayStream st;
  producer_init(&pr, &st);
  pr.misfit_at = 2;
  pr.last_error = "a stale message from an earlier call";
  char msg[1024];
  int64_t rows;
  int rc = run_stream(&pr, &st, msg, sizeof msg, &rows);
  cr_assert(rc != WEIR_OK && rc != WEIR_EOF, "rc %d", rc);
  cr_assert(strstr(msg, "the_arrow_source"), "%s", msg);
  cr_assert(strstr(msg, "arrow import") && strstr(msg, "'v'"), "%s", msg);
}

/* The C Stream Interface gives a stream one schema; a producer that
 * changes it after some batches is an error of the source, not a confused
 * concat or operator further down. */
Test(pipeline_arrow, schema_changing_mid_stream) {
  producer pr;
  struct ArrowArrayStream st;
  producer_init(&pr, &st);
  pr.change_at = 4;
  char msg[1024];
  int64_t rows;
  int rc = run_stream(&pr, &st, msg, sizeof msg, &rows);
  cr_assert(rc != WEIR_OK && rc != WEIR_EOF, "rc %d", rc);
  cr_assert(strstr(msg, "the_arrow_source"), "%s", msg);
  cr_assert(strstr(msg, "batch 4") && strstr(msg, "'v'"), "%s", msg);
}

/* ---- A pipeline's output as an ArrowArrayStream ------------------------ */

static weir_iter *ids_iter(weir_pipeline **p, eu_src *s, int fail) {
  cr_assert_eq(weir_pipeline_create(p, NULL), WEIR_OK);
  weir_op *src = weir_source(*p, "ids", s->tasks, eu_read, s, NULL);
  weir_op *out = src;
  (void)fail;
  cr_assert_not_null(out, "%s", weir_pipeline_errmsg(*p));
  weir_iter *it = NULL;
  cr_assert_eq(weir_pipeline_iter(*p, out, NULL, &it), WEIR_OK);
  return it;
}

/* One pipeline's output is another's Arrow source: every row arrives. */
Test(pipeline_arrow, an_iterator_feeds_another_pipeline_as_an_arrow_stream) {
  static eu_src s;
  memset(&s, 0, sizeof s);
  s.tasks = 5;
  s.blocks_per_task = 2;
  s.rows = 10;
  weir_pipeline *p1;
  weir_iter *it = ids_iter(&p1, &s, 0);
  struct ArrowArrayStream st;
  cr_assert_eq(weir_iter_to_arrow_stream(it, &st), WEIR_OK);
  weir_pipeline *p2;
  cr_assert_eq(weir_pipeline_create(&p2, NULL), WEIR_OK);
  weir_op *src = weir_source_arrow_stream(p2, "from_p1", &st);
  cr_assert_not_null(src);
  weir_iter *it2;
  cr_assert_eq(weir_pipeline_iter(p2, src, NULL, &it2), WEIR_OK);
  int seen[100] = {0};
  size_t rows = 0;
  weir_block *b;
  int rc;
  while ((rc = weir_iter_next(it2, &b)) == WEIR_OK) {
    const int64_t *id = eu_id_col(b);
    cr_assert_not_null(id);
    for (size_t i = 0; i < weir_block_num_rows(b); i++) {
      cr_assert(id[i] >= 0 && id[i] < 100);
      seen[id[i]]++;
    }
    rows += weir_block_num_rows(b);
    weir_block_unref(&b);
  }
  cr_assert_eq(rc, WEIR_EOF, "%s", weir_pipeline_errmsg(p2));
  cr_assert_eq(rows, 100);
  for (int i = 0; i < 100; i++)
    cr_assert_eq(seen[i], 1, "id %d seen %d times", i, seen[i]);
  weir_iter_destroy(it2);
  weir_pipeline_destroy(p2);
  weir_pipeline_destroy(p1);
}

Test(pipeline_arrow, an_empty_output_is_a_stream_of_no_columns) {
  static eu_src s;
  memset(&s, 0, sizeof s);
  weir_pipeline *p;
  weir_iter *it = ids_iter(&p, &s, 0);
  struct ArrowArrayStream st;
  cr_assert_eq(weir_iter_to_arrow_stream(it, &st), WEIR_OK);
  struct ArrowSchema schema;
  cr_assert_eq(st.get_schema(&st, &schema), 0);
  cr_assert_str_eq(schema.format, "+s");
  cr_assert_eq(schema.n_children, 0);
  schema.release(&schema);
  struct ArrowArray a;
  cr_assert_eq(st.get_next(&st, &a), 0);
  cr_assert_null(a.release, "the end at once");
  st.release(&st);
  cr_assert_null(st.release);
  weir_pipeline_destroy(p);
}

static int breaks(void *user, weir_block *in, weir_emit *out) {
  (void)user, (void)in;
  weir_ctx_set_errmsg(weir_emit_ctx(out), "the model server went away");
  return WEIR_EIO;
}

Test(pipeline_arrow, a_failed_run_fails_the_stream_with_its_message) {
  static eu_src s;
  memset(&s, 0, sizeof s);
  s.tasks = 3;
  s.blocks_per_task = 1;
  s.rows = 4;
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "ids", s.tasks, eu_read, &s, NULL);
  weir_op *m = weir_map_batches(p, src, "embed", breaks, NULL, NULL);
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, m, NULL, &it), WEIR_OK);
  struct ArrowArrayStream st;
  cr_assert_eq(weir_iter_to_arrow_stream(it, &st), WEIR_OK);
  struct ArrowArray a;
  int err = st.get_next(&st, &a);
  cr_assert_eq(err, EIO);
  const char *msg = st.get_last_error(&st);
  cr_assert(msg && strstr(msg, "embed") && strstr(msg, "the model server went away"), "%s",
            msg ? msg : "(null)");
  st.release(&st);
  weir_pipeline_destroy(p);
}
